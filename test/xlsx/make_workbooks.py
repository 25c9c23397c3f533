#!/usr/bin/env python3
"""Write the small workbooks of test/xlsx/workbooks/ (zip container and
workbook-level cases: prefixes, relationship targets, sheet states, 1904,
rich shared strings, custom formats, and every way a file can be refused).
Run by `make check`; outputs are compared with workbooks/*.expected, which
were written by hand."""
import os, zipfile, zlib

D = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'workbooks')
os.makedirs(D, exist_ok=True)
X = 'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
R = 'xmlns:rel="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
RT = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/'

def zwrite(name, parts):
    with zipfile.ZipFile(os.path.join(D, name), 'w', zipfile.ZIP_DEFLATED) as z:
        for n, data in parts:
            z.writestr(n, data)

rels_root = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
             '<Relationship Id="rId1" Type="%sofficeDocument" Target="xl/workbook.xml"/></Relationships>' % RT)
workbook = ('<?xml version="1.0" encoding="UTF-8"?><x:workbook %s %s><x:workbookPr date1904="true"/>'
            '<x:sheets><x:sheet name="Ventas" sheetId="1" rel:id="rId1"/>'
            '<x:sheet name="Oculta" sheetId="2" state="hidden" rel:id="rId2"/>'
            '<x:sheet name="Muy oculta" sheetId="3" state="veryHidden" rel:id="rId3"/></x:sheets></x:workbook>' % (X, R))
wb_rels = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
           '<Relationship Id="rId1" Type="%sworksheet" Target="/xl/worksheets/sheet1.xml"/>'
           '<Relationship Id="rId2" Type="%sworksheet" Target="worksheets/../worksheets/sheet%%202.xml"/>'
           '<Relationship Id="rId3" Type="%sworksheet" Target="./worksheets/sheet3.xml"/>'
           '<Relationship Id="rId4" Type="%ssharedStrings" Target="sharedStrings.xml"/>'
           '<Relationship Id="rId5" Type="%sstyles" Target="styles.xml"/></Relationships>' % ((RT,) * 5))
sst = ('<x:sst %s count="4" uniqueCount="4"><x:si><x:t>plain</x:t></x:si>'
       '<x:si><x:r><x:rPr><x:b/></x:rPr><x:t>rich</x:t></x:r><x:r><x:t xml:space="preserve"> text </x:t></x:r>'
       '<x:rPh sb="0" eb="1"><x:t>PHONETIC</x:t></x:rPh></x:si>'
       '<x:si><x:t>tab\tand\nnewline &amp; &lt;</x:t></x:si><x:si><x:t/></x:si></x:sst>' % X)
styles = ('<x:styleSheet %s><x:numFmts count="2"><x:numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
          '<x:numFmt numFmtId="165" formatCode="[h]:mm:ss"/></x:numFmts>'
          '<x:cellStyleXfs count="1"><x:xf numFmtId="14"/></x:cellStyleXfs>'
          '<x:cellXfs count="6"><x:xf numFmtId="0"/><x:xf numFmtId="164"/><x:xf numFmtId="22"/>'
          '<x:xf numFmtId="165"/><x:xf numFmtId="49"/><x:xf numFmtId="4"/></x:cellXfs></x:styleSheet>' % X)
sheet1 = ('<x:worksheet %s><x:dimension ref="A1:F2"/><x:sheetData><x:row r="1">'
          '<x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c><x:c r="C1" t="s"><x:v>2</x:v></x:c>'
          '<x:c r="D1" t="s"><x:v>3</x:v></x:c></x:row><x:row r="2"><x:c r="A2" s="1"><x:v>44196</x:v></x:c>'
          '<x:c r="B2" s="2"><x:v>44196.5</x:v></x:c><x:c r="C2" s="3"><x:v>1.25</x:v></x:c>'
          '<x:c r="D2" s="4" t="str"><x:v>007</x:v></x:c><x:c r="E2" s="5"><x:v>1234.5</x:v></x:c>'
          '<x:c r="F2" s="77"><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>' % X)
sheet2 = '<worksheet><sheetData><row><c t="inlineStr"><is><t>hidden</t></is></c></row></sheetData></worksheet>'
sheet3 = '<worksheet><sheetData/></worksheet>'
zwrite('prefixed.xlsx', [('[Content_Types].xml', '<Types/>'), ('_rels/.rels', rels_root),
       ('xl/workbook.xml', workbook), ('xl/_rels/workbook.xml.rels', wb_rels),
       ('xl/sharedStrings.xml', sst), ('xl/styles.xml', styles),
       ('xl/worksheets/sheet1.xml', sheet1), ('xl/worksheets/sheet 2.xml', sheet2),
       ('xl/worksheets/sheet3.xml', sheet3)])

# no _rels/.rels at all: the default xl/workbook.xml; a sheet part missing
plain_wb = ('<workbook xmlns:r="%s"><sheets><sheet name="S" sheetId="1" r:id="rId1"/>'
            '<sheet name="Gone" sheetId="2" r:id="rId2"/></sheets></workbook>' % RT)
plain_rels = ('<Relationships><Relationship Id="rId1" Type="%sworksheet" Target="worksheets/sheet1.xml"/>'
              '<Relationship Id="rId2" Type="%sworksheet" Target="worksheets/gone.xml"/></Relationships>' % (RT, RT))
zwrite('norels.xlsx', [('xl/workbook.xml', plain_wb), ('xl/_rels/workbook.xml.rels', plain_rels),
       ('xl/worksheets/sheet1.xml', '<worksheet><sheetData><row r="3"><c r="C3"><v>3</v></c></row></sheetData></worksheet>')])

# refusals
open(os.path.join(D, 'not_zip.xlsx'), 'w').write('id,name\n1,a\n' * 10)
open(os.path.join(D, 'empty.xlsx'), 'w').close()
ole = b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1' + b'\0' * 1000
open(os.path.join(D, 'old.xlsx'), 'wb').write(ole + b'W\0o\0r\0k\0b\0o\0o\0k\0' + b'\0' * 600)
open(os.path.join(D, 'encrypted.xlsx'), 'wb').write(ole + 'EncryptionInfo'.encode('utf-16-le') + b'\0' * 600)
full = open(os.path.join(D, 'prefixed.xlsx'), 'rb').read()
open(os.path.join(D, 'truncated.xlsx'), 'wb').write(full[:len(full) // 2])
zwrite('not_excel.xlsx', [('word/document.xml', '<w/>')])
zwrite('doctype.xlsx', [('xl/workbook.xml', '<!DOCTYPE w [<!ENTITY e "x">]><workbook/>')])
zwrite('bad_workbook_xml.xlsx', [('xl/workbook.xml', '<workbook><sheets></workbook>')])
# a shared-strings bomb: 300 MB of the same byte
bomb = b'<sst><si><t>' + b'a' * (300 << 20) + b'</t></si></sst>'
zwrite('bomb.xlsx', [('xl/workbook.xml', plain_wb.replace('<sheet name="Gone" sheetId="2" r:id="rId2"/>', '')),
       ('xl/_rels/workbook.xml.rels', plain_rels), ('xl/sharedStrings.xml', bomb),
       ('xl/worksheets/sheet1.xml', '<worksheet><sheetData/></worksheet>')])
# a corrupted member: flip bytes in the middle of the deflated sheet
buf = bytearray(full)
i = buf.find(b'xl/worksheets/sheet1.xml') + 200
buf[i:i + 40] = b'\xff' * 40
open(os.path.join(D, 'corrupt.xlsx'), 'wb').write(bytes(buf))

# issue 14's hostile workbooks (hostile.py): budgets, quadratic loops,
# duplicate members
import hostile
for name in ('sst_bomb.xlsx', 'deep_names.xlsx', 'styles_bomb.xlsx', 'rels_bomb.xlsx',
             'dup_entry.xlsx', 'dup_case.xlsx', 'bad_after_header.xlsx'):
    hostile.CASES[name](os.path.join(D, name))

# ST_Xstring escapes (issue 14) in shared strings, inline strings and
# t="str" values; expected output written by hand in escapes.S.expected
esc = ['a_x000D_b_x0009_c', '_x005F_x0041_', 'caf_x00e9_', '_xD83D__xDE00_', 'lone _xD83D_ kept',
       'nul _x0000_ kept', 'short _x004_ kept', 'plain_x_y']
esc_sst = ('<sst %s>%s<si><r><t>_x00</t></r><r><t>41_</t></r></si></sst>'
           % (X.replace('xmlns:x', 'xmlns'), ''.join('<si><t>%s</t></si>' % s for s in esc)))
esc_sheet = ('<worksheet><sheetData><row r="1">%s</row><row r="2">%s'
             '<c r="J2" t="str"><f>x</f><v>x_x0031_</v></c><c r="K2"><v>_x0041_</v></c></row></sheetData></worksheet>'
             % (''.join('<c t="s"><v>%d</v></c>' % i for i in range(len(esc) + 1)),
                ''.join('<c t="inlineStr"><is><t>%s</t></is></c>' % s for s in esc)
                + '<c r="I2" t="inlineStr"><is><r><t>_x00</t></r><r><t>41_</t></r></is></c>'))
zwrite('escapes.xlsx', [('xl/workbook.xml', plain_wb.replace('<sheet name="Gone" sheetId="2" r:id="rId2"/>', '')),
       ('xl/_rels/workbook.xml.rels', plain_rels.replace('</Relationships>',
        '<Relationship Id="rId3" Type="%ssharedStrings" Target="sharedStrings.xml"/></Relationships>' % RT)),
       ('xl/sharedStrings.xml', esc_sst), ('xl/worksheets/sheet1.xml', esc_sheet)])
