#!/bin/sh
# corpus-short-eval.sh: the shipped rules against the held-out corpus of
# short and medium messages (tests/corpus-short/README.md), with the same
# thresholds as tests/corpus.
EVAL_CORPUS=corpus-short
. "${top_srcdir:-$(dirname "$0")/..}/tests/corpus-eval.sh"
