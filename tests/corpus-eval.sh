#!/bin/sh
# corpus-eval.sh: the shipped rules against the labelled corpus.
#
# One TAP line per language and category: precision must be at least 0.95
# and recall at least 0.85 (journeyctl eval computes them with the same
# core as the milter).  Misclassified files are printed as diagnostics.
# EVAL_CORPUS names the corpus under tests/, tests/corpus unless a wrapper such
# as tests/corpus-short-eval.sh sets it.
EVAL_CORPUS=${EVAL_CORPUS:-corpus}
. "${top_srcdir:-$(dirname "$0")/..}/tests/e2e/lib.sh"
e2e_init "$EVAL_CORPUS-eval"

cat >"$RUN/jm.conf" <<EOC
rules_dir = $top_srcdir/rules
watch_recipients = support@example.com, destek@example.com.tr, poshtibani@example.ir
EOC
"$top_builddir/journeyctl" -c "$RUN/jm.conf" eval \
    "$top_srcdir/tests/$EVAL_CORPUS/en" "$top_srcdir/tests/$EVAL_CORPUS/tr" \
    "$top_srcdir/tests/$EVAL_CORPUS/fa" >"$RUN/eval.out" 2>&1
status=$?
grep '^#' "$RUN/eval.out"
rows=0
while read -r lang cat prec rec tp fp fn rest; do
	case "$lang" in lang|\#*|"") continue ;; esac
	rows=$((rows + 1))
	check "$lang $cat: precision $prec >= 0.95, recall $rec >= 0.85 (tp $tp, fp $fp, fn $fn)" \
	    "$PYTHON3" -c "import sys; sys.exit(0 if $prec >= 0.95 and $rec >= 0.85 else 1)"
done <"$RUN/eval.out"
check "nine language/category rows measured ($rows)" test "$rows" -eq 9
check "journeyctl eval agrees (exit status $status)" test "$status" -eq 0
e2e_done
