#!/bin/sh
# manlint.sh: every man page renders without a warning.
. "${top_srcdir:-$(dirname "$0")/..}/tests/e2e/lib.sh"
e2e_init manlint
# Generated pages are in the build tree, journey-rules(5) in the sources.
for page in $( (ls "$top_builddir"/milter/*.[58]; \
    ls "$top_srcdir"/milter/journey-rules.5) 2>/dev/null | \
    xargs -n1 realpath | sort -u); do
	# -k: the pages are UTF-8 (Turkish and Persian examples), as man(1) reads them.
	# -Wbreak: a default path under a long --prefix (make distcheck's)
	# may not fit a line; that says nothing about the page.
	out=$(LC_ALL=C.UTF-8 groff -k -man -Tutf8 -ww -Wbreak -z "$page" 2>&1)
	check "$(basename "$page") renders without warnings" test -z "$out"
	[ -z "$out" ] || diag "$out"
done
e2e_done
