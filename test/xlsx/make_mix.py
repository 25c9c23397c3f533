#!/usr/bin/env python3
"""make_mix.py: write corpus/ok_mix.xml, a worksheet of a few hundred rows
mixing the cell shapes the scanner's fast path reads (plain, styled,
shared-string, formula, inline-string cells, in Excel's and other writers'
spelling) with everything that sends it to the general path (references,
UTF-8, line ends, comments, CDATA, prefixes, rich text, odd spacing and
quotes, unknown elements, refs without r). sheet_diff reads it whole, in
many piece sizes and with the fast path off, so that cells are cut at every
point of both paths. Deterministic (fixed seed); rerun to regenerate.
"""
import random

rng = random.Random(20240611)


def col_name(c):
    s = ""
    c += 1
    while c:
        c, m = divmod(c - 1, 26)
        s = chr(65 + m) + s
    return s


def cell(ref, kind):
    """One cell in one of the shapes; ref is the r value (None: no r)."""
    r = ' r="%s"' % ref if ref is not None else ""
    n = rng.randint(0, 99)
    shapes = {
        "num": '<c%s><v>%d</v></c>' % (r, rng.randint(-5, 100000)),
        "numf": '<c%s><v>%s</v></c>' % (r, rng.choice(["0.1", "-1.5E-3", "1e10", "3.14159"])),
        "styled": '<c%s s="%s"><v>%d</v></c>' % (r, rng.choice(["0", "1", "2", "5", "6", "01", "99999999999"]), n),
        "sst": '<c%s t="s"><v>%d</v></c>' % (r, n),
        "sst_st": '<c%s s="%d" t="s"><v>%d</v></c>' % (r, rng.randint(0, 5), n),
        "sst_ts": '<c%s t="s" s="%d"><v>%d</v></c>' % (r, rng.randint(0, 5), n),
        "formula": '<c%s s="2"><f>E2*F2</f><v>2.48</v></c>' % r,
        "formula_str": '<c%s t="str"><f>A1&amp;"x"</f><v>a&amp;b &lt;c&gt; &#233; &#x20AC; &quot;q&apos;</v></c>' % r,
        "shared_f": '<c%s><f t="shared" ref="G2:G9" si="0">E2*F2</f><v>1</v></c>' % r,
        "shared_f2": '<c%s><f t="shared" si="0"/><v>2</v></c>' % r,
        "empty_str": '<c%s t="str"><v></v></c>' % r,
        "empty_v": '<c%s><v></v></c>' % r,
        "selfclose_v": '<c%s t="str"><v/></c>' % r,
        "bool": '<c%s t="b"><v>%d</v></c>' % (r, n % 2),
        "err": '<c%s t="e"><v>#N/A</v></c>' % r,
        "date": '<c%s t="d"><v>2025-01-01T12:00:00</v></c>' % r,
        "tn": '<c%s t="n"><v>42</v></c>' % r,
        "inline": '<c%s t="inlineStr"><is><t>plain %d</t></is></c>' % (r, n),
        "inline_sp": '<c%s t="inlineStr"><is><t xml:space="preserve"> sp %d </t></is></c>' % (r, n),
        "inline_two": '<c%s t="inlineStr"><is><t>a</t><t>b</t></is></c>' % r,
        "inline_rich": '<c%s t="inlineStr"><is><r><rPr><b/></rPr><t>bold</t></r><r><t>x</t></r></is></c>' % r,
        "inline_empty": '<c%s t="inlineStr"><is/></c>' % r,
        "noval": '<c%s/>' % r,
        "noval_s": '<c%s s="1"/>' % r,
        "noval_open": '<c%s s="1"></c>' % r,
        "crlf": '<c%s t="str"><v>line1\r\nline2\rline3</v></c>' % r,
        "utf8": '<c%s t="str"><v>été ünïcödé 日本 😀</v></c>' % r,
        "comment": '<c%s><!-- note --><v>7</v></c>' % r,
        "cdata": '<c%s t="str"><v><![CDATA[cd<>&]]></v></c>' % r,
        "prefixed": '<x:c%s><x:v>9</x:v></x:c>' % r,
        "spacing": "<c%s s='3'  t = \"n\" ><v >12</v ></c >" % (r.replace('"', "'") if r else ""),
        "tabs": '<c%s\ts="1"\n><v>5</v></c>' % r,
        "extra_attrs": '<c%s cm="1" vm="2" s="1"><v>3</v></c>' % r,
        "multi_v": '<c%s><v>1</v><v>2</v></c>' % r,
        "unknown": '<c%s><extLst><ext uri="x"><v>99</v></ext></extLst><v>4</v></c>' % r,
        "bracket": '<c%s t="str"><v>a]b ]] ]x</v></c>' % r,
        "ws_inside": '<c%s>\n  <v>8</v>\n</c>' % r,
        "sst_empty": '<c%s t="s"><v>7</v></c>' % r,
        "sst_tab": '<c%s t="s"><v>8</v></c>' % r,
        "long": '<c%s t="str"><v>%s</v></c>' % (r, "x" * rng.randint(100, 1500)),
        "ref_in_t": '<c%s t="&#115;"><v>3</v></c>' % r,
        "gt_in_attr": '<c%s s="1" foo="a&gt;b"><v>3</v></c>' % r,
        "quote_in_attr": '<c%s s="1" foo="it\'s" bar=\'say "hi"\'><v>3</v></c>' % r,
        "many_attrs": '<c%s a1="1" a2="2" a3="3" a4="4" a5="5" a6="6" a7="7" s="1"><v>3</v></c>' % r,
        "cr_in_f": '<c%s><f>1+\r\n2</f><v>3</v></c>' % r,
    }
    if kind not in shapes:
        raise KeyError(kind)
    return shapes[kind]


COMMON = ["num", "num", "num", "styled", "sst", "sst", "sst_st", "formula", "bool", "inline"]
RARE = ["numf", "sst_ts", "formula_str", "shared_f", "shared_f2", "empty_str", "empty_v",
        "selfclose_v", "err", "date", "tn", "inline_sp", "inline_two", "inline_rich",
        "inline_empty", "noval", "noval_s", "noval_open", "crlf", "utf8", "comment", "cdata",
        "prefixed", "spacing", "tabs", "extra_attrs", "multi_v", "unknown", "bracket",
        "ws_inside", "sst_empty", "sst_tab", "long", "ref_in_t", "gt_in_attr",
        "quote_in_attr", "many_attrs", "cr_in_f"]


def row_cells(rownum):
    out = []
    col = -1
    ncells = rng.randint(1, 14)
    shape = rng.random()
    if shape < 0.03:
        ncells = rng.randint(65, 140)     # past the first cells array
    elif shape < 0.06:
        # long values: past the first row text buffer
        return "".join(cell(col_name(c) + str(rownum), "long") for c in range(8))
    while len(out) < ncells:
        col += rng.choice([1, 1, 1, 2, 5])
        if col >= 16383:
            break
        kind = rng.choice(COMMON) if rng.random() < 0.75 else rng.choice(RARE)
        ref = col_name(col) + str(rownum)
        style = rng.random()
        if style < 0.05:
            ref = None            # column = previous + 1
        elif style < 0.08:
            ref = ref.lower()     # lower-case column letters
        out.append(cell(ref, kind))
        sep = rng.random()
        if sep < 0.05:
            out.append("\n    ")
        elif sep < 0.07:
            out.append("<!-- between -->")
    if rng.random() < 0.05:
        out.append(cell("XFD%d" % rownum, "num"))
    return "".join(out)


def main():
    parts = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
             ' xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
             ' xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'
             '<dimension ref="A1:XFD1048576"/><sheetData>']
    rownum = 0
    nrows = 0
    while nrows < 300:
        nrows += 1
        style = rng.random()
        rownum += 1 if 0.05 <= style < 0.10 else rng.choice([1] * 12 + [2, 7, 90, 9000])
        if style < 0.05:
            parts.append('<row r="%d"/>' % rownum)
            continue
        if style < 0.10:
            head = '<row>'          # row number = previous + 1
        elif style < 0.20:
            head = '<row r="%d" spans="1:30" ht="15" customHeight="1" x14ac:dyDescent="0.25">' % rownum
        elif style < 0.23:
            head = '<x:row r="%d">' % rownum
        else:
            head = '<row r="%d" spans="1:8">' % rownum
        end = '</x:row>' if head.startswith('<x:') else '</row>'
        parts.append(head + row_cells(rownum) + end)
        if rng.random() < 0.1:
            parts.append("\n")
    parts.append('</sheetData><mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells>'
                 '</worksheet>\n')
    with open("corpus/ok_mix.xml", "w", encoding="utf-8", newline="") as f:
        f.write("".join(parts))


main()
