#!/bin/sh
# manlint.sh: every man page renders without a warning.
. "${top_srcdir:-$(dirname "$0")/..}/tests/e2e/lib.sh"
e2e_init manlint
for page in "$top_builddir"/milter/*.[58] "$top_srcdir"/milter/journey-rules.5; do
	[ -f "$page" ] || continue
	out=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1)
	check "$(basename "$page") renders without warnings" test -z "$out"
	[ -z "$out" ] || diag "$out"
done
e2e_done
