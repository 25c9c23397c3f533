#!/usr/bin/env python3
"""Seeds for fuzz_workbook: each workbook given (under 64 kB) as it is, and
as the part list fuzz_workbook.c zips itself ("@@name\\n" + bytes per
member, first byte's low bit set: deflated), so that mutations reach every
part's XML.     seeds.py OUTDIR FILE.xlsx..."""
import os, sys, zipfile

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for path in sys.argv[2:]:
    if os.path.getsize(path) > 65536:
        continue
    base = os.path.basename(path)
    data = open(path, 'rb').read()
    open(os.path.join(out, base), 'wb').write(data)
    try:
        with zipfile.ZipFile(path) as z:
            parts = b''.join(b'@@' + i.filename.encode() + b'\n' + z.read(i.filename) for i in z.infolist())
    except Exception:
        continue                # not a zip (a hostile case): the raw seed only
    if len(parts) < 65536:
        open(os.path.join(out, base + '.parts'), 'wb').write(b'\x01' + parts)
