#!/bin/sh
# Inflating ahead (src/xlsx/zip.c: a thread inflates a large worksheet while
# the scanner reads it). The threaded path must read exactly what the plain
# one reads, and fail exactly as it fails:
#   1. sheet_diff on a 20000-row workbook (its sheet part is about 6 MB, over
#      the 4 MB from which a thread is used), with the thread;
#   2. xlsxdump of every cell, with and without the thread: identical;
#   3. deflate data garbled in the middle of the part, and a wrong CRC: the
#      same error and exit status both ways.
# Needs gen_big (libxlsxwriter-dev); skipped without it.
cd "$(dirname "$0")" || exit 2
if ! make --no-print-directory -s gen_big >/dev/null 2>&1; then
	echo "check_ahead: gen_big does not build here (libxlsxwriter-dev needed): skipped"
	exit 0
fi
set -e
./gen_big ahead.xlsx 20000 shared
XLSX_INFLATE_AHEAD=1 ./sheet_diff ahead.xlsx
./xlsxdump ahead.xlsx 1 > ahead-plain.out
XLSX_INFLATE_AHEAD=1 ./xlsxdump ahead.xlsx 1 > ahead-thread.out
cmp ahead-plain.out ahead-thread.out
echo "check_ahead: $(wc -l < ahead-plain.out) cells read the same with and without the thread"

# damaged copies of ahead.xlsx (python3's zipfile finds the sheet's bytes)
python3 - <<'PY'
import struct, zipfile
data = bytearray(open("ahead.xlsx", "rb").read())
zi = zipfile.ZipFile("ahead.xlsx").getinfo("xl/worksheets/sheet1.xml")
h = zi.header_offset
start = h + 30 + sum(struct.unpack("<HH", data[h + 26:h + 30]))   # name and extra field lengths
# 1. deflate data garbled in the middle
bad = bytearray(data)
for i in range(64):
    bad[start + zi.compress_size // 2 + i] ^= 0x5A
open("ahead-garbled.xlsx", "wb").write(bad)
# 2. a CRC that does not match (local header and central directory)
bad = bytearray(data)
crc = struct.pack("<I", zi.CRC ^ 1)
bad[h + 14:h + 18] = crc
pos = 0
while True:
    pos = data.find(b"PK\x01\x02", pos)
    if pos < 0:
        break
    n = struct.unpack("<H", data[pos + 28:pos + 30])[0]
    if data[pos + 46:pos + 46 + n] == b"xl/worksheets/sheet1.xml":
        bad[pos + 16:pos + 20] = crc
    pos += 4
open("ahead-crc.xlsx", "wb").write(bad)
PY
for f in ahead-garbled.xlsx ahead-crc.xlsx; do
	a=$(./xlsxdump $f 1 2>&1 >/dev/null && echo "exit 0" || echo "exit $?")
	b=$(XLSX_INFLATE_AHEAD=1 ./xlsxdump $f 1 2>&1 >/dev/null && echo "exit 0" || echo "exit $?")
	case $a in *"exit 0") echo "check_ahead: $f read without error"; exit 1 ;; esac
	if [ "$a" != "$b" ]; then
		echo "check_ahead: $f fails differently with the thread:"; echo "$a"; echo "$b"; exit 1
	fi
	echo "check_ahead: $f: $(echo "$a" | head -1)"
done
rm -f ahead.xlsx ahead-*.xlsx ahead-*.out
echo "check_ahead: all cases match"
