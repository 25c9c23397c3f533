#!/usr/bin/python3
"""Independent oracle for the megamarket data generators.

    check_manifest.py WORKBOOK.xlsx MANIFEST.json
        Re-reads the workbook with openpyxl, applies the cleaning rules of
        tools/README.md ("Cleaning rules") on its own, and checks that the
        manifest written by mkworkbook agrees: every planted defect (and no
        other) with its outcome, the row counts of every warehouse table, the
        sums per store, month and loss reason, and the realised figures of
        the planted truth (rules, campaigns, customer groups).

    check_manifest.py --sales SALES.xlsx SALES.csv
        Checks that mksales wrote the same values to both files, and that
        every amount cell's XML text is a short decimal with at most two
        decimals.

Nothing here is shared with the C code: it only knows the spec.  Exits 1
with a list of differences when something disagrees.
"""

import csv
import datetime
import json
import re
import sys
import zipfile
from collections import defaultdict
from decimal import Decimal

import openpyxl

# ---------------------------------------------------------------------------
# Cell parsing: the cleaning rules
# ---------------------------------------------------------------------------

BAD = object()          # a value that cannot be cleaned
CENT = Decimal("0.01")
EMAIL_RE = re.compile(r"^[a-z0-9._%+'-]+@[a-z0-9.-]+\.[a-z]{2,}$")
WALLET_RE = re.compile(r"^0x[0-9a-f]{40}$")
DMY_RE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
NUM_RE = re.compile(r"^-?\d+(\.\d+)?$")


def is_empty(v):
    """A cell with no value, or only white space."""
    return v is None or (isinstance(v, str) and v.strip() == "")


def number_of(v):
    """Decimal of a numeric cell: openpyxl gives int or float; repr() of the
    float is the shortest text that reads back the same double, i.e. the
    cell's own text when that was a short decimal."""
    if isinstance(v, bool):
        return BAD
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(repr(v))
    return BAD


def parse_number(v, events, col):
    """Number cell, or text that is a number (decimal comma allowed)."""
    if isinstance(v, str):
        s = v.strip()
        had_comma = "," in s
        if had_comma:
            if s.count(",") != 1 or "." in s:
                return BAD
            s = s.replace(",", ".")
        if not NUM_RE.match(s):
            return BAD
        d = Decimal(s)
        events.append((col, "decimal_comma" if had_comma else "number_as_text", v, d))
        return d
    if isinstance(v, (datetime.datetime, datetime.date)):
        return BAD
    return number_of(v)


def parse_date(v, events, col):
    """Date cell, or text dd/mm/yyyy naming a real day."""
    if isinstance(v, datetime.datetime):
        return v.date()
    if isinstance(v, datetime.date):
        return v
    if isinstance(v, str):
        m = DMY_RE.match(v.strip())
        if not m:
            return BAD
        try:
            d = datetime.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:
            return BAD
        events.append((col, "text_date", v, d))
        return d
    return BAD


def parse_text(v, events, col):
    """Trimmed text; numbers become their text; stray spaces are an event."""
    if v is None:
        return None
    if not isinstance(v, str):
        v2 = str(v)
        return v2
    s = v.strip()
    if s == "":
        return None
    if s != v:
        events.append((col, "whitespace", v, s))
    return s


def fmt_value(x):
    """A cleaned value as the manifest writes it."""
    if x is None:
        return None
    if isinstance(x, datetime.date):
        return x.isoformat()
    if isinstance(x, Decimal):
        if x == x.to_integral_value() and x.as_tuple().exponent >= 0:
            return str(int(x))
        return str(x.quantize(CENT))
    return str(x)


class Reject(Exception):
    """A row a correct import refuses, with the reason code and column."""

    def __init__(self, reason, col=None):
        super().__init__(reason)
        self.reason = reason
        self.col = col


# ---------------------------------------------------------------------------
# Reading sheets
# ---------------------------------------------------------------------------

class Sheet:
    """Rows of one sheet as values, with column positions by header text."""

    def __init__(self, wb, name, columns):
        if name not in wb.sheetnames:
            raise SystemExit(f"sheet {name!r} not in workbook (has {wb.sheetnames})")
        ws = wb[name]
        self.name = name
        self.rows = []      # (excel row number, tuple of values)
        header = None
        for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if n == 1:
                header = [h.strip() if isinstance(h, str) else h for h in row]
                continue
            self.rows.append((n, row))
        self.max_row = len(self.rows) + 1
        self.pos = {}
        for c in columns:
            if c not in header:
                raise SystemExit(f"sheet {name!r}: no column {c!r} in header {header}")
            self.pos[c] = header.index(c)

    def get(self, row, col):
        i = self.pos[col]
        return row[i] if i < len(row) else None


class Oracle:
    """The independent import: accepted rows, rejects and cleaning events."""

    def __init__(self, xlsx, manifest):
        self.m = manifest
        self.problems = []
        self.dirt = []          # dicts shaped like the manifest's entries
        self.inexact = []
        wb = openpyxl.load_workbook(xlsx, read_only=True, data_only=True)
        self.sh = {}
        for key, spec in manifest["sheets"].items():
            self.sh[key] = Sheet(wb, spec["name"], spec["columns"])
            self.cols = None
        self.colnames = {k: v["columns"] for k, v in manifest["sheets"].items()}
        self.read_stores()
        self.read_products()
        self.read_customers()
        self.read_campaigns()
        self.read_sales()
        self.read_losses()
        wb.close()

    # -- bookkeeping ---------------------------------------------------------

    def col(self, key, i):
        return self.colnames[key][i]

    def note_events(self, key, rownum, events):
        for col, kind, raw, value in events:
            entry = {"kind": kind, "sheet": self.sh[key].name, "row": rownum,
                     "column": col, "raw": raw, "outcome": "cleaned",
                     "value": fmt_value(value)}
            if kind == "bad_email":
                entry["reason"] = "bad_email"
            self.dirt.append(entry)

    def note_reject(self, key, rownum, rej, raw, dup_of=None):
        entry = {"kind": rej.reason, "sheet": self.sh[key].name, "row": rownum,
                 "column": rej.col, "raw": raw, "outcome": "rejected",
                 "reason": rej.reason}
        if dup_of is not None:
            entry["duplicate_of"] = dup_of
        self.dirt.append(entry)

    def note_blank(self, key, rownum):
        self.dirt.append({"kind": "blank_row", "sheet": self.sh[key].name,
                          "row": rownum, "column": None, "raw": None,
                          "outcome": "cleaned", "value": None})

    def money(self, v, key, rownum, col):
        """Amount of a number cell must have at most two decimals."""
        if isinstance(v, float):
            d = Decimal(repr(v))
            if d != d.quantize(CENT):
                self.inexact.append((key, rownum, col, v))

    def rows(self, key):
        """Non-blank rows; blank rows become events."""
        for rownum, row in self.sh[key].rows:
            if all(is_empty(v) for v in row):
                self.note_blank(key, rownum)
                continue
            yield rownum, row

    def required(self, key, row, col, events, kind):
        """Parse a required cell; missing -> Reject(missing_required)."""
        v = self.sh[key].get(row, col)
        if is_empty(v):
            raise Reject("missing_required", col)
        if kind == "text":
            return parse_text(v, events, col)
        if kind == "date":
            d = parse_date(v, events, col)
            if d is BAD:
                raise Reject("bad_date", col)
            return d
        d = parse_number(v, events, col)
        if d is BAD or (kind == "int" and d != d.to_integral_value()):
            raise Reject("bad_number", col)
        if kind == "money":
            self.money(v, key, None, col)
        return d

    @staticmethod
    def raw_of(row, sheet, col):
        if col is None:
            return None
        v = sheet.get(row, col)
        if isinstance(v, float) and v == int(v):
            v = int(v)
        return v

    # -- reference sheets ----------------------------------------------------

    def read_stores(self):
        key = "stores"
        c = self.colnames[key]
        self.store_names = {}       # lower(name or code) -> name
        self.cities = set()
        self.regions = set()
        n = 0
        for rownum, row in self.rows(key):
            ev = []
            try:
                code = self.required(key, row, c[0], ev, "text")
                name = self.required(key, row, c[1], ev, "text")
            except Reject as r:
                self.note_reject(key, rownum, r, self.raw_of(row, self.sh[key], r.col))
                continue
            city = parse_text(self.sh[key].get(row, c[2]), ev, c[2])
            region = parse_text(self.sh[key].get(row, c[3]), ev, c[3])
            parse_text(self.sh[key].get(row, c[4]), ev, c[4])
            self.note_events(key, rownum, ev)
            self.store_names[name.lower()] = name
            self.store_names[code.lower()] = name
            if region:
                self.regions.add(region)
            if city:
                self.cities.add((city, region))
            n += 1
        self.nstores = n

    def read_products(self):
        key = "products"
        c = self.colnames[key]
        self.skus = set()
        self.categories = set()
        self.departments = set()
        for rownum, row in self.rows(key):
            ev = []
            try:
                sku = self.required(key, row, c[0], ev, "text")
                self.required(key, row, c[1], ev, "text")
                cat = self.required(key, row, c[2], ev, "text")
                dep = self.required(key, row, c[3], ev, "text")
                self.required(key, row, c[4], ev, "money")
            except Reject as r:
                self.note_reject(key, rownum, r, self.raw_of(row, self.sh[key], r.col))
                continue
            self.note_events(key, rownum, ev)
            self.skus.add(sku)
            self.categories.add(cat)
            self.departments.add(dep)

    def read_customers(self):
        key = "customers"
        c = self.colnames[key]
        sheet = self.sh[key]
        self.customers = set()
        self.segments = set()
        self.with_email = 0
        self.with_wallet = 0
        for rownum, row in self.rows(key):
            ev = []
            try:
                code = self.required(key, row, c[0], ev, "text")
                self.required(key, row, c[1], ev, "text")
            except Reject as r:
                self.note_reject(key, rownum, r, self.raw_of(row, sheet, r.col))
                continue
            email = sheet.get(row, c[2])
            if not is_empty(email):
                e = email.strip().lower()
                if not EMAIL_RE.match(e):
                    ev.append((c[2], "bad_email", email, None))
                else:
                    if e != email:
                        ev.append((c[2], "email_case", email, e))
                    self.with_email += 1
            wallet = sheet.get(row, c[4])
            if not is_empty(wallet):
                w = wallet.strip().lower()
                if WALLET_RE.match(w):
                    if w != wallet:
                        ev.append((c[4], "wallet_case", wallet, w))
                    self.with_wallet += 1
                else:
                    self.problems.append(f"customers row {rownum}: unplanned bad wallet {wallet!r}")
            seg = parse_text(sheet.get(row, c[3]), ev, c[3])
            if seg:
                self.segments.add(seg)
            self.note_events(key, rownum, ev)
            self.customers.add(code)

    def read_campaigns(self):
        key = "campaigns"
        c = self.colnames[key]
        sheet = self.sh[key]
        self.campaigns = {}
        self.channels = set()
        for rownum, row in self.rows(key):
            ev = []
            try:
                code = self.required(key, row, c[0], ev, "text")
                self.required(key, row, c[1], ev, "text")
                start = self.required(key, row, c[4], ev, "date")
                end = self.required(key, row, c[5], ev, "date")
                self.required(key, row, c[6], ev, "money")
            except Reject as r:
                self.note_reject(key, rownum, r, self.raw_of(row, sheet, r.col))
                continue
            channel = parse_text(sheet.get(row, c[2]), ev, c[2])
            target = parse_text(sheet.get(row, c[3]), ev, c[3])
            self.note_events(key, rownum, ev)
            if channel:
                self.channels.add(channel)
            if target:
                self.segments.add(target)
            self.campaigns[code] = (start, end)

    # -- facts -----------------------------------------------------------------

    def store_of(self, key, row, col, ev):
        v = self.sh[key].get(row, col)
        if is_empty(v):
            raise Reject("missing_required", col)
        name = self.store_names.get(str(v).strip().lower())
        if name is None:
            raise Reject("unknown_store", col)
        if v != name:
            ev.append((col, "store_name", v, name))
        return name

    def read_sales(self):
        key = "sales"
        c = self.colnames[key]
        sheet = self.sh[key]
        self.sales = []
        seen = {}
        for rownum, row in self.rows(key):
            ev = []
            try:
                ticket = self.required(key, row, c[0], ev, "int")
                line = self.required(key, row, c[1], ev, "int")
                date = self.required(key, row, c[2], ev, "date")
                store = self.store_of(key, row, c[3], ev)
                sku = self.required(key, row, c[5], ev, "text")
                qty = self.required(key, row, c[6], ev, "int")
                amount = self.required(key, row, c[7], ev, "money")
                customer = parse_text(sheet.get(row, c[4]), ev, c[4])
                campaign = parse_text(sheet.get(row, c[8]), ev, c[8])
                if qty <= 0:
                    raise Reject("negative_quantity", c[6])
                if sku not in self.skus:
                    raise Reject("unknown_product", c[5])
                if customer is not None and customer not in self.customers:
                    raise Reject("unknown_customer", c[4])
                if campaign is not None and campaign not in self.campaigns:
                    raise Reject("unknown_campaign", c[8])
                rec = (int(ticket), int(line), date, store, customer, sku, int(qty),
                       amount.quantize(CENT), campaign)
                k = (rec[0], rec[1])
                if k in seen:
                    first_row, first_rec = seen[k]
                    if first_rec != rec:
                        self.problems.append(f"sales row {rownum}: ticket line {k} repeated with other values")
                    self.note_reject(key, rownum, Reject("duplicate_row"), None, dup_of=first_row)
                    continue
            except Reject as r:
                self.note_reject(key, rownum, r, self.raw_of(row, sheet, r.col))
                continue
            seen[k] = (rownum, rec)
            self.note_events(key, rownum, ev)
            self.sales.append(rec)

    def read_losses(self):
        key = "losses"
        c = self.colnames[key]
        sheet = self.sh[key]
        self.losses = []
        refs = set()
        for rownum, row in self.rows(key):
            ev = []
            try:
                ref = self.required(key, row, c[0], ev, "text")
                date = self.required(key, row, c[1], ev, "date")
                store = self.store_of(key, row, c[2], ev)
                sku = self.required(key, row, c[3], ev, "text")
                reason = self.required(key, row, c[4], ev, "text")
                qty = self.required(key, row, c[5], ev, "int")
                amount = self.required(key, row, c[6], ev, "money")
                if qty <= 0:
                    raise Reject("negative_quantity", c[5])
                if sku not in self.skus:
                    raise Reject("unknown_product", c[3])
            except Reject as r:
                self.note_reject(key, rownum, r, self.raw_of(row, sheet, r.col))
                continue
            if ref in refs:
                self.problems.append(f"losses row {rownum}: reference {ref} repeated")
            refs.add(ref)
            self.note_events(key, rownum, ev)
            self.losses.append((ref, date, store, sku, reason, int(qty), amount.quantize(CENT)))


# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------

def totals(rows, qty_i, amt_i, rows_key):
    return {rows_key: len(rows), "quantity": sum(r[qty_i] for r in rows),
            "amount": str(sum((r[amt_i] for r in rows), Decimal("0.00")).quantize(CENT))}


def compare(problems, what, expected, got):
    if expected != got:
        problems.append(f"{what}: manifest says {expected!r}, workbook gives {got!r}")


def dirt_key(d):
    raw = d["raw"]
    if isinstance(raw, float) and raw == int(raw):
        raw = int(raw)
    return (d["sheet"], d["row"], d["column"], d["kind"], d["outcome"],
            d.get("value"), d.get("reason"), json.dumps(raw, ensure_ascii=False),
            d.get("duplicate_of"))


def check_workbook(xlsx, manifest_path):
    with open(manifest_path, encoding="utf-8") as f:
        m = json.load(f)
    o = Oracle(xlsx, m)
    p = o.problems

    if o.inexact:
        p.append(f"{len(o.inexact)} amount cells are not exact 2-decimal values, e.g. {o.inexact[:3]}")

    # rows written per sheet
    for key, spec in m["sheets"].items():
        compare(p, f"sheets.{key}.rows_written", spec["rows_written"], o.sh[key].max_row - 1)

    # dirt: same set of instances
    want = sorted(dirt_key(d) for d in m["dirt"])
    got = sorted(dirt_key(d) for d in o.dirt)
    if want != got:
        ws, gs = set(want), set(got)
        for d in sorted(ws - gs)[:10]:
            p.append(f"dirt in manifest, not found by the oracle: {d}")
        for d in sorted(gs - ws)[:10]:
            p.append(f"dirt found by the oracle, not in manifest: {d}")
        if len(want) != len(got):
            p.append(f"dirt count: manifest {len(want)}, oracle {len(got)}")
    summary = defaultdict(int)
    for d in m["dirt"]:
        summary[d["kind"]] += 1
    for k, v in m["dirt_summary"].items():
        compare(p, f"dirt_summary.{k}", v, summary.get(k, 0))
    if m["clean"] and m["dirt"]:
        p.append("--clean workbook lists dirt")
    if not m["clean"] and m["scale"] == "small":
        for k, v in m["dirt_summary"].items():
            if v < 3:
                p.append(f"dirt kind {k}: only {v} instances at small scale")

    # counts
    sales, losses = o.sales, o.losses
    tickets = {}
    for s in sales:
        tickets.setdefault(s[0], s[4])
    sale_days = {s[2] for s in sales}
    loss_days = {x[1] for x in losses}
    all_days = sale_days | loss_days
    counts = {
        "regions": len(o.regions), "cities": len(o.cities), "stores": o.nstores,
        "departments": len(o.departments), "categories": len(o.categories),
        "products": len(o.skus), "customers": len(o.customers),
        "channels": len(o.channels), "campaigns": len(o.campaigns),
        "segments": len(o.segments), "loss_reasons": len({x[4] for x in losses}),
        "sales": len(sales), "losses": len(losses), "tickets": len(tickets),
        "anonymous_tickets": sum(1 for c in tickets.values() if c is None),
        "customers_with_email": o.with_email, "customers_with_wallet": o.with_wallet,
        "dates": {"distinct": len(all_days), "distinct_sales": len(sale_days),
                  "distinct_losses": len(loss_days), "first": min(all_days).isoformat(),
                  "last": max(all_days).isoformat(),
                  "days_spanned": (max(all_days) - min(all_days)).days + 1},
    }
    for k, v in counts.items():
        compare(p, f"counts.{k}", m["counts"].get(k), v)

    # totals
    t = m["totals"]
    compare(p, "totals.sales.all", t["sales"]["all"], totals(sales, 6, 7, "lines"))
    by_store, by_month = defaultdict(list), defaultdict(list)
    for s in sales:
        by_store[s[3]].append(s)
        by_month[s[2].strftime("%Y-%m")].append(s)
    compare(p, "totals.sales.by_store keys", sorted(t["sales"]["by_store"]), sorted(by_store))
    for k, rows in by_store.items():
        compare(p, f"totals.sales.by_store.{k}", t["sales"]["by_store"].get(k), totals(rows, 6, 7, "lines"))
    for k, v in t["sales"]["by_month"].items():
        compare(p, f"totals.sales.by_month.{k}", v, totals(by_month.get(k, []), 6, 7, "lines"))
    if set(by_month) - set(t["sales"]["by_month"]):
        p.append(f"months missing from the manifest: {sorted(set(by_month) - set(t['sales']['by_month']))}")
    compare(p, "totals.losses.all", t["losses"]["all"], totals(losses, 5, 6, "rows"))
    by_reason = defaultdict(list)
    for x in losses:
        by_reason[x[4]].append(x)
    compare(p, "totals.losses.by_reason keys", sorted(t["losses"]["by_reason"]), sorted(by_reason))
    for k, rows in by_reason.items():
        compare(p, f"totals.losses.by_reason.{k}", t["losses"]["by_reason"].get(k), totals(rows, 5, 6, "rows"))

    check_truth(p, m["truth"], o, sales)
    return p


def check_truth(p, truth, o, sales):
    """The realised figures of the planted truth, from the accepted rows."""
    baskets = defaultdict(set)
    ticket_day, ticket_campaign = {}, {}
    for s in sales:
        baskets[s[0]].add(s[5])
        ticket_day[s[0]] = s[2]
        if s[8] is not None:
            ticket_campaign[s[0]] = s[8]
    n = len(baskets)
    for r in truth["association_rules"]:
        ante, cons = set(r["antecedent"]), set(r["consequent"])
        a = sum(1 for b in baskets.values() if ante <= b)
        c = sum(1 for b in baskets.values() if cons <= b)
        both = sum(1 for b in baskets.values() if (ante | cons) <= b)
        got = {"tickets": n, "antecedent_tickets": a, "consequent_tickets": c, "rule_tickets": both}
        want = {k: r["realised"][k] for k in got}
        compare(p, f"rule {sorted(ante)}->{sorted(cons)}", want, got)
        if a and abs(r["realised"]["confidence"] - both / a) > 1e-6:
            p.append(f"rule {sorted(ante)}: confidence {r['realised']['confidence']} != {both / a}")

    for c in truth["campaigns"]:
        start = datetime.date.fromisoformat(c["start"])
        end = datetime.date.fromisoformat(c["end"])
        if o.campaigns.get(c["code"]) != (start, end):
            p.append(f"campaign {c['code']}: window {start}..{end} differs from the sheet")
        lines = [s for s in sales if s[8] == c["code"]]
        got = {"tickets_in_window": sum(1 for d in ticket_day.values() if start <= d <= end),
               "attributed_tickets": sum(1 for x in ticket_campaign.values() if x == c["code"]),
               "attributed_lines": len(lines),
               "attributed_quantity": sum(s[6] for s in lines),
               "attributed_amount": str(sum((s[7] for s in lines), Decimal("0.00")))}
        compare(p, f"campaign {c['code']} realised", c["realised"], got)
        if any(not (start <= s[2] <= end) for s in lines):
            p.append(f"campaign {c['code']}: attributed line outside its window")

    group_of = truth["customer_group_of"]
    compare(p, "customer_group_of keys", sorted(o.customers), sorted(group_of))
    per = defaultdict(lambda: {"customers": 0, "tickets": set(), "lines": 0, "amount": Decimal("0.00")})
    for code, g in group_of.items():
        per[g]["customers"] += 1
    for s in sales:
        if s[4] is not None:
            g = per[group_of[s[4]]]
            g["tickets"].add(s[0])
            g["lines"] += 1
            g["amount"] += s[7]
    for g in truth["customer_groups"]:
        got = per[g["group"]]
        want = {k: g["realised"][k] for k in ("customers", "tickets", "lines", "amount")}
        compare(p, f"group {g['group']} realised", want,
                {"customers": got["customers"], "tickets": len(got["tickets"]),
                 "lines": got["lines"], "amount": str(got["amount"])})


# ---------------------------------------------------------------------------
# mksales: xlsx against csv
# ---------------------------------------------------------------------------

def check_sales(xlsx, csv_path):
    p = []
    with zipfile.ZipFile(xlsx) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    # mksales writes two shapes (--shape warehouse: see mksales.c); the
    # header says which, and where the date, amount and campaign columns are
    first = re.search(r'<c r="A1"[^>]*><is><t>([^<]*)</t>', xml)
    warehouse = first is not None and first.group(1) == "ticket_id"
    date_i, amount_i, campaign_i = (4, 6, 5) if warehouse else (2, 6, 7)
    ints = [i for i in range(8) if i not in (date_i, amount_i, campaign_i)]
    texts = re.findall(r'<c r="G(\d+)"[^>]*><v>([^<]*)</v>', xml)
    bad = [(r, t) for r, t in texts if not re.match(r"^\d+(\.\d{1,2})?$", t)]
    if bad:
        p.append(f"{len(bad)} amount cells with long text, e.g. {bad[:3]}")

    wb = openpyxl.load_workbook(xlsx, read_only=True, data_only=True)
    if wb.sheetnames != ["Ventas"]:
        p.append(f"sheets {wb.sheetnames}, expected ['Ventas']")
    ws = wb["Ventas"]
    with open(csv_path, newline="") as f:
        reader = csv.reader(f)
        xrows = ws.iter_rows(values_only=True)
        header = next(reader)
        xheader = list(next(xrows))
        compare(p, "header", header, xheader)
        n = 0
        for crow, xrow in zip(reader, xrows):
            n += 1
            xrow = list(xrow) + [None] * (8 - len(xrow))
            got = []
            for i, v in enumerate(xrow):
                if v is None:
                    got.append("")
                elif i == date_i:
                    if not isinstance(v, datetime.datetime):
                        p.append(f"row {n + 1}: fecha is {v!r}, not a date cell")
                        got.append(str(v))
                    else:
                        got.append(v.date().isoformat())
                else:
                    got.append(v)
            want = list(crow)
            if ([got[i] for i in ints] != [int(want[i]) for i in ints]
                    or got[date_i] != want[date_i]
                    or number_of(got[amount_i]) != Decimal(want[amount_i])
                    or (want[campaign_i] == "") != (got[campaign_i] == "")
                    or (want[campaign_i] != "" and int(want[campaign_i]) != got[campaign_i])):
                p.append(f"row {n + 1}: csv {want} != xlsx {xrow}")
                if len(p) > 10:
                    break
        rest = sum(1 for _ in reader) + sum(1 for _ in xrows)
        if rest:
            p.append(f"csv and xlsx differ in length ({rest} extra rows)")
    wb.close()
    empty = sum(1 for row in csv.reader(open(csv_path, newline="")) if row[campaign_i] == "") - 1
    print(f"  {n} rows compared, {len(texts)} amount texts checked, "
          f"{empty} without campaign ({100.0 * empty / max(n, 1):.1f}%)")
    return p


def main(argv):
    if len(argv) == 4 and argv[1] == "--sales":
        problems = check_sales(argv[2], argv[3])
    elif len(argv) == 3:
        problems = check_workbook(argv[1], argv[2])
    else:
        print(__doc__)
        return 2
    if problems:
        for line in problems:
            print("  FAIL:", line)
        return 1
    print("  ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
