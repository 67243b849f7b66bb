#!/bin/sh
# corpus-milter.sh: the milter and "journeyctl classify" agree on every
# corpus file.
#
# Every .eml of the corpus goes through a private Postfix with the milter;
# the X-Journey headers on the delivered copy must be those that
# journeyctl classify computes offline for the same file (the stage aside:
# the daemon remembers customers, the dry run does not).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init corpus-milter
need_root

MPORT=$(free_port)
SPORT=$(free_port)
milter_conf "$RUN/jm.conf" \
    "socket = inet:$MPORT@127.0.0.1" \
    "watch_recipients = support@example.com, destek@example.com.tr, poshtibani@example.ir"
milter_start "$RUN/jm.conf" "$MPORT" || bail "journey-milter did not start"
pf_start "$SPORT" "inet:127.0.0.1:$MPORT" || bail "postfix did not start"

ls "$top_srcdir"/tests/corpus/*/*.eml >"$RUN/files"
total=$(wc -l <"$RUN/files")
# Four senders at a time; each file keeps its own headers.
xargs -P 4 -I{} sh -c '
	to=$(sed -n "s/^To:.*[< ]\([^< >]*@[^ >]*\).*/\1/p; s/^To: *\([^ <]*@[^ >]*\) *$/\1/p" "{}" | head -n 1)
	'"$SWAKS"' --server 127.0.0.1:'"$PF_PORT"' --from corpus@customer.example \
	    --to "$to" --data "@{}" --silent 2 --timeout 20 ||
	    echo "could not send {}" >&2' <"$RUN/files" 2>"$RUN/send.err"
check "all $total corpus files accepted by Postfix" test ! -s "$RUN/send.err"
n_delivered() {
	find "$PF_DIR/mail" -path '*/new/*' -type f | wc -l
}
check "all $total delivered" wait_for 60 sh -c "[ \$(find '$PF_DIR/mail' -path '*/new/*' -type f | wc -l) -ge $total ]"

"$top_builddir/journeyctl" -c "$RUN/jm.conf" classify $(cat "$RUN/files") \
    >"$RUN/classify.json" 2>"$RUN/classify.err"
check "journeyctl classify ran on every file" test ! -s "$RUN/classify.err"

"$PYTHON3" - "$RUN/classify.json" "$PF_DIR/mail" >"$RUN/compare.out" <<'PY'
import email, json, os, sys
dec = json.JSONDecoder()
text = open(sys.argv[1], encoding="utf-8").read()
want, i = {}, 0
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    obj, i = dec.raw_decode(text, i)
    raw = open(obj["file"], "rb").read()
    mid = email.message_from_bytes(raw)["Message-ID"]
    want[(mid or "").strip()] = obj
got = {}
for root, _, files in os.walk(sys.argv[2]):
    for f in files:
        if "/new" not in root:
            continue
        m = email.message_from_binary_file(open(os.path.join(root, f), "rb"))
        got[(m["Message-ID"] or "").strip()] = m
bad = 0
for mid, obj in sorted(want.items()):
    m = got.get(mid)
    name = os.path.basename(obj["file"])
    if m is None:
        print("MISSING %s" % name); bad += 1; continue
    for h in ("X-Journey-Category", "X-Journey-Score", "X-Journey-Rules",
              "X-Journey-Language", "X-Journey-Ticket"):
        w = obj["headers"].get(h)
        g = m.get_all(h) or []
        g = g[0] if len(g) == 1 else (None if not g else "several: %r" % g)
        if w != g:
            print("DIFF %s %s: classify %r, milter %r" % (name, h, w, g)); bad += 1
print("compared %d" % len(want))
sys.exit(1 if bad else 0)
PY
status=$?
sed 's/^/# /' "$RUN/compare.out" | tail -n 20
check "milter headers equal journeyctl classify on every corpus file" test "$status" -eq 0
check "compared all $total" grep -q "^compared $total\$" "$RUN/compare.out"
# One Turkish and one Persian message, checked by name through Postfix.
for spec in "tr tr-complaint-01 complaint" "fa fa-cancellation-01 cancellation"; do
	set -- $spec
	src=$(ls "$top_srcdir/tests/corpus/$1/$2"*.eml | head -n 1)
	mid=$(sed -n 's/^Message-I[Dd]: *//p' "$src" | head -n 1)
	f=$(grep -rlF -- "$mid" "$PF_DIR/mail" | head -n 1)
	check "$2 delivered with X-Journey-Category $3" \
	    test "$(header "$f" X-Journey-Category)" = "$3"
	check "$2 delivered with X-Journey-Language $1" \
	    test "$(header "$f" X-Journey-Language)" = "$1"
done
e2e_done
