#!/bin/sh
# demo.sh: the demo, twice in a row on the same machine.
#
# README promises that contrib/demo/run stops everything it started and
# can be run again at once.  It runs here twice from this build tree
# (DEMO_BUILD: nothing installed, nothing rebuilt); each run must exit 0,
# print a verdict for each of the dozen emails, and end with the path of
# the journey report it wrote.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
diag() { printf '# %s\n' "$@"; }

if [ "$(id -u)" -ne 0 ]; then
	echo "Bail out! the demo starts Postfix and must run as root"
	exit 1
fi

mails=$(cd "$top_srcdir/contrib/demo/mail" && ls -- *.eml)
n_mails=$(echo "$mails" | wc -l)
out_dir=$top_builddir/tests/demo-out
mkdir -p "$out_dir"

for run in 1 2; do
	out=$out_dir/run$run.out
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

echo "1..$n"
[ "$failed" -eq 0 ]
