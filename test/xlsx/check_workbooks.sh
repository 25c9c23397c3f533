#!/bin/sh
# Run xlsxdump on each case of workbooks/cases and compare with the
# hand-checked workbooks/*.expected. With -accept, (re)write the expected
# files instead (then review every diff by hand before keeping it).
cd "$(dirname "$0")" || exit 2
accept=0; [ "$1" = "-accept" ] && accept=1
fail=0; n=0
grep -v '^#' workbooks/cases | while read -r file sheet; do
	[ -n "$file" ] || continue
	exp="workbooks/${file%.xlsx}${sheet:+.$sheet}.expected"
	out=$(./xlsxdump "workbooks/$file" ${sheet:+"$sheet"} 2>&1; echo "exit $?")
	if [ $accept = 1 ]; then printf '%s\n' "$out" > "$exp"; continue; fi
	if ! printf '%s\n' "$out" | diff -u "$exp" - ; then
		echo "FAIL: xlsxdump $file $sheet"; exit 1
	fi
done || fail=1
[ $fail = 0 ] && echo "check_workbooks: all cases match"
exit $fail
