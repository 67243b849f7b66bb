#!/bin/sh
# report.sh: "journeyctl stats" and "journeyctl report --html" over a store
# the daemon filled through a real, private Postfix, and the report opened
# in a real browser.
#
# The demo's dozen emails go through Postfix and the milter; the
# acknowledgements go back out through the same Postfix, the CRM and chat
# webhooks to a local receiver (the chat one fails once, so that one
# delivery is slow).  Thirteen days of earlier history and some older
# customers are added to the store with sqlite3, as the daemon writes
# them, so that the chart has days to show.  Then:
#  - journeyctl stats and stats --prometheus agree with the database (the
#    exposition is read back with the Prometheus client's own parser);
#  - the report, rendered by headless Chromium (--dump-dom), shows the
#    funnel and the per-day counts that are in the database, without a
#    console error;
#  - a screenshot is kept: tests/e2e/run/report/report.png.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init report
need_root
: "${CHROMIUM:=chromium}"
command -v "$CHROMIUM" >/dev/null 2>&1 ||
    bail "chromium is needed (Debian: apt-get install chromium)"
command -v sqlite3 >/dev/null 2>&1 || bail "sqlite3 is needed"

MPORT=$(free_port)
SPORT=$(free_port)
HPORT=$(free_port)

# The webhook receiver: 200 for everything, but 503 for the first chat post.
cat >"$RUN/receiver.py" <<'EOP'
import http.server, sys
seen = {"chat": 0}
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        code = 200
        if self.path.startswith("/chat"):
            seen["chat"] += 1
            code = 503 if seen["chat"] == 1 else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with open(sys.argv[2], "a") as f:
            f.write("%s %d\n" % (self.path, code))
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOP
"$PYTHON3" "$RUN/receiver.py" "$HPORT" "$RUN/received.log" 2>"$RUN/receiver.err" &
BG_PIDS="$BG_PIDS $!"
wait_for 10 port_open "$HPORT" || bail "webhook receiver did not start"

milter_conf "$RUN/jm.conf" \
    "socket = inet:$MPORT@127.0.0.1" \
    "watch_recipients = support@example.com, destek@example.com.tr, poshtibani@example.ir" \
    "ack_from = Example Support <support@example.com>" \
    "ack_smtp_url = smtp://127.0.0.1:$SPORT" \
    "journey_webhook_url = http://127.0.0.1:$HPORT/crm" \
    "chat_target = team json http://127.0.0.1:$HPORT/chat complaint,cancellation" \
    "retry_min_interval = 2s"
milter_start "$RUN/jm.conf" "$MPORT" || bail "journey-milter did not start"
pf_start "$SPORT" "inet:127.0.0.1:$MPORT" || bail "postfix did not start"

ctl() {
	"$top_builddir/journeyctl" -c "$RUN/jm.conf" "$@"
}
db() {
	sqlite3 -batch -noheader "$RUN/state/journey.db" "$@"
}

n=0
for f in "$top_srcdir"/contrib/demo/mail/*.eml; do
	to=$(sed -n 's/^To: *//p' "$f" | head -n 1)
	from=$(sed -n 's/^From:.*<\(.*\)>.*/\1/p' "$f" | head -n 1)
	send "$from" "$to" "$f" >/dev/null 2>&1 || diag "could not send $(basename "$f")"
	n=$((n + 1))
done
check "the demo's $n emails delivered" \
    wait_for 30 sh -c "[ \$(find '$PF_DIR/mail' -path '*/new/*' -type f | \
    xargs grep -l '^X-Journey-Ticket' 2>/dev/null | wc -l) -ge $n ]"
check "each recorded in the store" \
    wait_for 10 sh -c "[ \$(sqlite3 '$RUN/state/journey.db' 'SELECT count(*) FROM events') -ge 10 ]"

outbox_settled() {
	[ "$(db "SELECT count(*) FROM outbox WHERE state = 'pending'")" -eq 0 ]
}
check "every acknowledgement and webhook delivered" wait_for 40 outbox_settled
check "the chat webhook failed once and was retried" \
    grep -q '^/chat 503' "$RUN/received.log"
check "acknowledgements arrived at the customers" \
    wait_mail customer.example 1 20

# History: thirteen days before today, and customers further along.
now=$(date +%s)
today=$((now - now % 86400))
# Twelve hours from the time of day now: far from every window's edge.
tod=$(((now % 86400 + 43200) % 86400))
{
	echo "BEGIN;"
	d=1
	while [ $d -le 13 ]; do
		at=$((today - d * 86400 + tod))
		i=0
		while [ $i -lt $(((d * 7) % 5 + 2)) ]; do
			echo "INSERT INTO events (customer, at, category, prev_stage, prev_at_risk, next_stage, next_at_risk, ack_reason, escalate_reason) VALUES ('past$d-$i@customer.example', $((at + i * 60)), 'complaint', 'activate', 0, 'activate', 1, 'queued', 'queued');"
			i=$((i + 1))
		done
		i=0
		while [ $i -lt $(((d * 3) % 4 + 1)) ]; do
			echo "INSERT INTO events (customer, at, category, prev_stage, prev_at_risk, next_stage, next_at_risk, ack_reason, escalate_reason) VALUES ('fan$d-$i@customer.example', $((at + i * 90)), 'praise', 'adopt', 0, 'advocate', 0, 'queued', 'not-escalated');"
			i=$((i + 1))
		done
		[ $((d % 3)) -ne 0 ] || echo "INSERT INTO events (customer, at, category, prev_stage, prev_at_risk, next_stage, next_at_risk, ack_reason, escalate_reason) VALUES ('bye$d@customer.example', $at, 'cancellation', 'acclimate', 0, 'exited', 0, 'queued', 'queued');"
		echo "INSERT INTO events (customer, at, category, prev_stage, prev_at_risk, next_stage, next_at_risk, ack_reason, escalate_reason) VALUES ('ask$d@customer.example', $at, NULL, 'assess', 0, 'assess', 0, 'no-category', 'no-category');"
		d=$((d + 1))
	done
	for spec in assess:9:0 admit:7:1 affirm:6:0 activate:5:2 acclimate:4:0 \
	    accomplish:3:1 adopt:2:0 advocate:2:0 exited:3:0; do
		stage=${spec%%:*}
		rest=${spec#*:}
		count=${rest%%:*}
		risk=${rest#*:}
		i=0
		while [ $i -lt "$count" ]; do
			r=0
			[ $i -lt "$risk" ] && r=1
			echo "INSERT INTO customers (address, stage, at_risk, updated) VALUES ('old-$stage-$i@customer.example', '$stage', $r, $((now - 86400 * (i + 2))));"
			i=$((i + 1))
		done
	done
	echo "COMMIT;"
} >"$RUN/history.sql"
check "history added to the store" db ".read $RUN/history.sql"

# --- journeyctl stats -------------------------------------------------------
week_events=$(db "SELECT count(*) FROM events WHERE at >= $now - 7 * 86400")
check "journeyctl stats runs" sh -c "'$top_builddir/journeyctl' -c '$RUN/jm.conf' stats >'$RUN/stats.txt'"
sed 's/^/#   /' "$RUN/stats.txt"
got=$(awk '/^messages watched/ { print $NF }' "$RUN/stats.txt")
check "stats: messages watched in the last week = $week_events ($got)" \
    test "$got" = "$week_events"
acks=$(db "SELECT count(*) FROM outbox WHERE kind = 'smtp' AND state = 'done'")
got=$(awk '/^acknowledgement deliveries/ { f = 1 } f && /^  delivered/ { print $2; exit }' "$RUN/stats.txt")
check "stats: $acks acknowledgements delivered in the last hour ($got)" \
    test "$got" = "$acks"

check "journeyctl stats --prometheus runs" \
    sh -c "'$top_builddir/journeyctl' -c '$RUN/jm.conf' stats --prometheus >'$RUN/journey.prom'"
py=$PYTHON3
"$py" -c 'import prometheus_client' 2>/dev/null || py=/usr/bin/python3
cat >"$RUN/prom.py" <<'EOP'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
for f in fams.values():
    assert f.type == "gauge", f.name
msgs = sum(s.value for s in fams["journey_messages"].samples
           if s.labels["window"] == "7d")
stages = {s.labels["stage"]: int(s.value) for s in fams["journey_customers"].samples}
print("%d %s" % (msgs, " ".join("%s=%d" % kv for kv in sorted(stages.items()))))
EOP
if prom=$("$py" "$RUN/prom.py" "$RUN/journey.prom" 2>"$RUN/prom.err"); then
	ok "the Prometheus client parses the exposition, every family a gauge"
else
	not_ok "the Prometheus client parses the exposition, every family a gauge"
	sed 's/^/#   /' "$RUN/prom.err"
fi
want_stages=$(db "SELECT stage || '=' || count(*) FROM customers GROUP BY stage ORDER BY stage" | tr '\n' ' ')
check "prometheus: journey_messages over 7d sums to $week_events (${prom%% *})" \
    test "${prom%% *}" = "$week_events"
got_stages=$(echo "${prom#* }" | tr ' ' '\n' | grep -v '=0$' | sort | tr '\n' ' ')
check "prometheus: customers per stage as in the store ($got_stages)" \
    test "$got_stages" = "$want_stages"

# --- journeyctl report --html ----------------------------------------------
check "journeyctl report --html writes the page" ctl report --html "$RUN/report.html"
check "the page refers to nothing outside itself" \
    sh -c "! grep -Eiq '<script|src=|href=|<link|@import|url\\(' '$RUN/report.html'"

browser() {
	timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
	    --disable-background-networking --disable-component-update \
	    --disable-sync --no-first-run --disable-dev-shm-usage \
	    --user-data-dir="$RUN/chromium-profile" \
	    --enable-logging=stderr --v=0 "$@"
}
# console_errors LOG: what the page wrote to the console, as Chromium
# logged it ("INFO:CONSOLE:LINE] "text", source: ...").  The page has no
# script: anything there came from the browser about the page.
console_errors() {
	grep 'CONSOLE' "$1" || :
}

# The console check must be able to see an error at all.
printf '<!DOCTYPE html><title>t</title><script>console.error("boom")</script>\n' \
    >"$RUN/console-probe.html"
browser --dump-dom "file://$RUN/console-probe.html" >/dev/null 2>"$RUN/console-probe.log"
check "Chromium logs a console error where there is one" \
    grep -q 'CONSOLE.*boom' "$RUN/console-probe.log"

if browser --dump-dom "file://$RUN/report.html" >"$RUN/report.dom" \
    2>"$RUN/chromium-dom.log"; then
	ok "Chromium renders the report"
else
	not_ok "Chromium renders the report"
	tail -n 20 "$RUN/chromium-dom.log" | sed 's/^/#   /'
fi
errs=$(console_errors "$RUN/chromium-dom.log")
check "no console errors" test -z "$errs"
[ -z "$errs" ] || echo "$errs" | sed 's/^/#   /'
check "the rendered page has the funnel, the chart and the tables" \
    sh -c "grep -q 'id=\"funnel\"' '$RUN/report.dom' && \
    grep -q 'id=\"categories\"' '$RUN/report.dom' && \
    grep -q 'id=\"acks\"' '$RUN/report.dom' && \
    grep -q 'id=\"slowest\"' '$RUN/report.dom' && grep -q '<svg' '$RUN/report.dom'"

# dom_count ID: the data-count of the element with that id, as rendered.
dom_count() {
	sed -n "s/.*id=\"$1\"[^>]*data-count=\"\([0-9]*\)\".*/\1/p" "$RUN/report.dom" | head -n 1
}
bad=
for stage in assess admit affirm activate acclimate accomplish adopt advocate exited; do
	want=$(db "SELECT count(*) FROM customers WHERE stage = '$stage'")
	got=$(dom_count "funnel-$stage")
	[ "$got" = "$want" ] || bad="$bad $stage=$got(want $want)"
done
check "the funnel shows the customers per stage in the store${bad:+:$bad}" test -z "$bad"
want=$(db "SELECT count(*) FROM customers WHERE at_risk")
check "the funnel shows the $want customers at risk ($(dom_count funnel-at_risk))" \
    test "$(dom_count funnel-at_risk)" = "$want"

bad=
days=0
for day in $(db "SELECT DISTINCT date(at, 'unixepoch') FROM events WHERE at >= $today - 13 * 86400"); do
	want=$(db "SELECT count(*) FROM events WHERE date(at, 'unixepoch') = '$day'")
	got=$(sed -n "s/.*data-day=\"$day\" data-total=\"\([0-9]*\)\".*/\1/p" "$RUN/report.dom")
	[ "$got" = "$want" ] || bad="$bad $day=$got(want $want)"
	days=$((days + 1))
done
check "the chart shows the messages of each of $days days${bad:+:$bad}" \
    sh -c "[ -z '$bad' ] && [ $days -eq 14 ]"
want=$(db "SELECT count(*) FROM events WHERE category = 'complaint' AND at >= $today - 13 * 86400")
got=$(sed -n 's/.*<li data-category="complaint" data-count="\([0-9]*\)".*/\1/p' "$RUN/report.dom")
check "the legend counts $want complaints ($got)" test "$got" = "$want"
want=$(db "SELECT count(*) FROM outbox WHERE state = 'done'")
[ "$want" -gt 10 ] && want=10
got=$(grep -c '<tr data-id=' "$RUN/report.dom")
check "the slowest deliveries: $want rows ($got)" test "$got" = "$want"
slow=$(db "SELECT kind FROM outbox WHERE state = 'done' ORDER BY delivered - created DESC, id LIMIT 1")
check "the slowest is the retried $slow delivery, first" \
    sh -c "grep -o '<tr data-id=[^>]*><td>1</td><td><span class=\"pill\">[a-z]*' '$RUN/report.dom' | grep -q '>$slow\$'"

rm -f "$RUN/report.png"
browser --screenshot="$RUN/report.png" --window-size=1200,1600 \
    --hide-scrollbars "file://$RUN/report.html" >/dev/null 2>"$RUN/chromium-shot.log"
cat >"$RUN/png.py" <<'EOP'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack("!II", data[16:24])
idat, pos = b"", 8
while pos < len(data):
    n, kind = struct.unpack("!I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
print(w, h, len(set(raw[i:i + 3] for i in range(0, len(raw) - 3, 97))))
EOP
shot=$("$PYTHON3" "$RUN/png.py" "$RUN/report.png" 2>&1)
diag "screenshot: $RUN/report.png ($shot)"
check "a 1200x1600 screenshot of the report" \
    sh -c "echo '$shot' | grep -q '^1200 1600 '"
check "with something drawn on it (colours sampled: ${shot##* })" \
    test "${shot##* }" -gt 50 2>/dev/null

check "daemon stops on SIGTERM" milter_stop
e2e_done
