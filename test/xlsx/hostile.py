#!/usr/bin/env python3
"""Hostile workbooks for issue 14: each one crashed, hung or exhausted memory
in an earlier reader, or was read wrongly. Written by make_workbooks.py into
test/xlsx/workbooks/ (xlsxdump cases, fuzz seeds) and by the TAP test
test/t/014_xlsx_hostile.pl into its own directory.

    hostile.py OUTDIR [NAME...]     # all, or the named ones

Each is small on disk; what it would cost a careless reader is in its
comment. Python standard library only (zipfile, zlib)."""
import os, sys, zipfile

RT = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
NSR = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
PKG = 'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"'
CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
      '<Default Extension="xml" ContentType="application/xml"/></Types>')
ROOT_RELS = ('<Relationships %s><Relationship Id="rId1" Type="%sofficeDocument" '
             'Target="xl/workbook.xml"/></Relationships>' % (PKG, RT))


def workbook(sheets=('S',)):
    return ('<workbook %s %s><sheets>%s</sheets></workbook>'
            % (NS, NSR, ''.join('<sheet name="%s" sheetId="%d" r:id="rId%d"/>' % (n, i + 1, i + 1)
                                for i, n in enumerate(sheets))))


def wb_rels(nsheets=1, extra=''):
    return ('<Relationships %s>%s%s</Relationships>'
            % (PKG, ''.join('<Relationship Id="rId%d" Type="%sworksheet" Target="worksheets/sheet%d.xml"/>'
                            % (i + 1, RT, i + 1) for i in range(nsheets)), extra))


def sheet(rows):
    return '<worksheet %s><sheetData>%s</sheetData></worksheet>' % (NS, rows)


def write(path, parts, level=6):
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in parts:
            z.writestr(name, data)


def base(extra_rels='', sheet_xml=None):
    return [('[Content_Types].xml', CT), ('_rels/.rels', ROOT_RELS),
            ('xl/workbook.xml', workbook()), ('xl/_rels/workbook.xml.rels', wb_rels(1, extra_rels)),
            ('xl/worksheets/sheet1.xml', sheet_xml or sheet('<row r="1"><c r="A1"><v>1</v></c></row>'))]


SST_REL = '<Relationship Id="rId90" Type="%ssharedStrings" Target="sharedStrings.xml"/>' % RT
STY_REL = '<Relationship Id="rId91" Type="%sstyles" Target="styles.xml"/>' % RT


def sst_bomb(path):
    # 40 million empty strings (200 MB of XML, 200 kB on disk): 360 MB of
    # table at 9 bytes a string, past the 256 MB default; with 2^31 of them
    # (an 11 MB file) the old uint32 offsets capacity wrapped to 0.
    n = 40 << 20
    body = '<si/>' * (1 << 20)
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in base(SST_REL):
            z.writestr(name, data)
        with z.open('xl/sharedStrings.xml', 'w') as f:
            f.write(('<sst %s>' % NS).encode())
            for _ in range(n >> 20):
                f.write(body.encode())
            f.write(b'</sst>')


def deep_names(path):
    # 64 elements nested, each named with 64 kB: 4 MB of open names (and
    # up to 100000 x 16 MB before there was a bound)
    name = 'n' * 65536
    xml = ('<worksheet %s><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData>' % NS
           + ('<%s>' % name) * 64 + ('</%s>' % name) * 64 + '</worksheet>')
    write(path, base(sheet_xml=xml), level=9)


def styles_bomb(path):
    # 300,000 custom formats x 300,000 cellXfs: 9e10 comparisons for a
    # reader that looks each format up in a list
    n = 300000
    numfmts = ''.join('<numFmt numFmtId="%d" formatCode="0.0"/>' % (164 + i) for i in range(n))
    xfs = ''.join('<xf numFmtId="%d"/>' % (164 + (i * 7919) % n) for i in range(n))
    styles = ('<styleSheet %s><numFmts count="%d">%s</numFmts><cellXfs count="%d">%s</cellXfs></styleSheet>'
              % (NS, n, numfmts, n, xfs))
    write(path, base(STY_REL) + [('xl/styles.xml', styles)])


def rels_bomb(path):
    # 150,000 sheets x 150,000 relationships: 2e10 string comparisons for
    # a reader that looks each sheet's relationship up in a list (and
    # XlsxOpen runs at planning, in xlsx_sheets, in IMPORT FOREIGN SCHEMA)
    n = 150000
    wb = ('<workbook %s %s><sheets>%s</sheets></workbook>'
          % (NS, NSR, ''.join('<sheet name="s%d" sheetId="%d" r:id="rId%d"/>' % (i + 1, i + 1, n - i)
                              for i in range(n))))
    rels = ('<Relationships %s>%s</Relationships>'
            % (PKG, ''.join('<Relationship Id="rId%d" Type="%sworksheet" Target="worksheets/sheet1.xml"/>'
                            % (i + 1, RT) for i in range(n))))
    write(path, [('[Content_Types].xml', CT), ('_rels/.rels', ROOT_RELS), ('xl/workbook.xml', wb),
                 ('xl/_rels/workbook.xml.rels', rels),
                 ('xl/worksheets/sheet1.xml', sheet('<row r="1"><c r="A1"><v>7</v></c></row>'))])


def dup_entry(path):
    # the same sheet part twice: readers disagree on which one is "the" part
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        for name, data in base():
            z.writestr(name, data)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            z.writestr('xl/worksheets/sheet1.xml', sheet('<row r="1"><c r="A1"><v>2</v></c></row>'))


def dup_case(path):
    # two part names equal but for case (OPC: the same part)
    write(path, base() + [('xl/worksheets/Sheet1.xml', sheet('<row r="1"><c r="A1"><v>2</v></c></row>'))])


def wide_headers(path):
    # 16384 header cells, all "a": quadratic and cubic for an IMPORT that
    # compares every name with every other
    cells = ''.join('<c t="inlineStr"><is><t>a</t></is></c>' for _ in range(16384))
    write(path, base(sheet_xml=sheet('<row r="1">%s</row><row r="2"><c><v>1</v></c></row>' % cells)))


def many_headers(path):
    # 1500 header cells, all "Importe": one table, columns importe,
    # importe_2 ... importe_1500 (within PostgreSQL's 1600 columns)
    cells = ''.join('<c t="inlineStr"><is><t>Importe</t></is></c>' for _ in range(1500))
    write(path, base(sheet_xml=sheet('<row r="1">%s</row><row r="2"><c><v>1</v></c></row>' % cells)))


def bad_after_header(path):
    # a header, a row, then broken XML: IMPORT FOREIGN SCHEMA's sampling
    # fails in the middle of the sheet
    xml = ('<worksheet %s><sheetData><row r="1"><c t="inlineStr"><is><t>h</t></is></c></row>'
           '<row r="2"><c><v>1</v></c></row><row r="3"><c><v>2</c></row></sheetData></worksheet>' % NS)
    write(path, base(sheet_xml=xml))


CASES = {
    'sst_bomb.xlsx': sst_bomb,
    'deep_names.xlsx': deep_names,
    'styles_bomb.xlsx': styles_bomb,
    'rels_bomb.xlsx': rels_bomb,
    'dup_entry.xlsx': dup_entry,
    'dup_case.xlsx': dup_case,
    'wide_headers.xlsx': wide_headers,
    'many_headers.xlsx': many_headers,
    'bad_after_header.xlsx': bad_after_header,
}


def main(argv):
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    for name in argv[2:] or sorted(CASES):
        CASES[name](os.path.join(out, name))


if __name__ == '__main__':
    main(sys.argv)
