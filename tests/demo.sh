#!/bin/sh
# demo.sh: the demo, twice in a row on the same machine.
#
# README promises that contrib/demo/run stops everything it started and
# can be run again at once.  It runs here twice from this build tree
# (DEMO_BUILD: nothing installed, nothing rebuilt); each run must exit 0,
# print a verdict for each of the dozen emails, and end with the path of
# the journey report it wrote.
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/tests/e2e/lib.sh"
e2e_init demo-twice
need_root

mails=$(cd "$top_srcdir/contrib/demo/mail" && ls -- *.eml)
n_mails=$(echo "$mails" | wc -l)

for run in 1 2; do
	out=$RUN/run$run.out
	DEMO_BUILD=$top_builddir sh "$top_srcdir/contrib/demo/run" >"$out" 2>&1
	rc=$?
	check "run $run exits 0" test "$rc" -eq 0
	[ "$rc" -eq 0 ] || tail -n 40 "$out" | sed 's/^/#   /'
	check "run $run does not build" sh -c "! grep -q '^== building' '$out'"
	# Each email's block ("-- NAME: Subject" up to the next) has a
	# verdict with a category in it.
	missing=
	for m in $mails; do
		v=$(awk -v m="-- $m:" '
			index($0, m) == 1 { on = 1; next }
			/^-- / { on = 0 }
			on && /^   verdict  [a-z]+ \(score [0-9]+, language [a-z]+\)/ { c++ }
			END { print c + 0 }' "$out")
		[ "$v" -eq 1 ] || missing="$missing $m"
	done
	check "run $run prints the verdict of each of the $n_mails emails${missing:+ (not:$missing)}" \
	    test -z "$missing"
	report=$(sed -n 's/^== the journey report: //p' "$out")
	check "run $run ends with the path of the journey report (${report:-none})" \
	    test -n "$report" -a "$(grep '^== ' "$out" | tail -n 1)" = "== the journey report: $report"
	check "run $run's report is an HTML page" \
	    grep -q '<html' "${report:-/nonexistent}"
done

e2e_done
