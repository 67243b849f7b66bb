#!/bin/sh
# soak.sh: many messages at full speed while the receivers come and go.
#
# SOAK_MESSAGES (default 20,000) complaints from SOAK_CUSTOMERS customers
# go through a private Postfix and the built daemon as fast as Postfix
# takes them.  Each is a CRM event and a chat escalation for one HTTP
# receiver, which is stopped and started again all along (up
# SOAK_UP_SECONDS, down SOAK_DOWN_SECONDS).  Then the receiver stays up
# until the outbox is empty.  Passes when: every message was accepted,
# delivered and classified; every event and escalation reached the
# receiver (each id at least once, none dead-lettered); no error was
# logged; the daemon's resident memory was flat after warm-up; and it
# stopped cleanly (in a sanitizer build: no leak, no error report).
#
# Run it with "make soak" in a build tree, best the sanitizer one (see
# README.md); it takes several minutes and is not part of make check.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init soak
need_root

N=${SOAK_MESSAGES:-20000}
CUSTOMERS=${SOAK_CUSTOMERS:-500}
UP=${SOAK_UP_SECONDS:-10}
DOWN=${SOAK_DOWN_SECONDS:-5}
GROWTH_MAX_KB=${SOAK_GROWTH_MAX_KB:-32768}
# A small quarantine, so that freed memory the sanitizer holds back does
# not look like growth.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16:malloc_context_size=10}
export ASAN_OPTIONS
if ldd "$top_builddir/journey-milter" 2>/dev/null | grep -q libasan; then
	diag "daemon built with AddressSanitizer: leaks are checked at exit"
else
	diag "daemon built without sanitizers: run make soak in the sanitizer build to check leaks"
fi

MPORT=$(free_port)
SPORT=$(free_port)
HPORT=$(free_port)

cat >"$RUN/receiver.py" <<'EOP'
import http.server, os, sys, threading
log = open(sys.argv[2], "a", buffering=1)
with open(sys.argv[3], "w") as f:
    f.write("%d\n" % os.getpid())
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        # Noted before the answer: an answered request is always counted.
        log.write("%s %s\n" % (self.path, self.headers.get("webhook-id", "-")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
srv.daemon_threads = True
threading.Timer(3600, srv.shutdown).start()
srv.serve_forever()
EOP
# The receiver writes its pid to $RUN/receiver.pid; it is stopped by that.
receiver_up() {
	"$PYTHON3" "$RUN/receiver.py" "$HPORT" "$RUN/received.log" \
	    "$RUN/receiver.pid" 2>>"$RUN/receiver.err" &
	wait_for 10 port_open "$HPORT"
}
receiver_down() {
	[ -s "$RUN/receiver.pid" ] && kill "$(cat "$RUN/receiver.pid")" 2>/dev/null
	rm -f "$RUN/receiver.pid"
	wait_for 10 port_closed "$HPORT"
}
port_closed() {
	! port_open "$1"
}
soak_cleanup() {
	touch "$RUN/stop-flapping" "$RUN/stop-sampling"
	receiver_down
	e2e_cleanup
}
trap soak_cleanup EXIT

milter_conf "$RUN/jm.conf" \
    "socket = inet:127.0.0.1:$MPORT" \
    "watch_recipients = support@example.com" \
    "journey_webhook_url = http://127.0.0.1:$HPORT/crm" \
    "chat_target = ops json http://127.0.0.1:$HPORT/chat complaint" \
    "chat_rate_limit = 100000" \
    "retry_min_interval = 1s" \
    "webhook_timeout = 5s" \
    "log_level = info"
milter_start "$RUN/jm.conf" "$MPORT" || bail "journey-milter did not start"
pf_start "$SPORT" "inet:127.0.0.1:$MPORT" \
    "default_process_limit = 200" || bail "postfix did not start"
receiver_up || bail "receiver did not start"

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$MILTER_PID/status" 2>/dev/null; }

# The receiver comes and goes; memory is sampled; both stop by themselves.
(
	end=$(($(date +%s) + 3600))
	while [ ! -e "$RUN/stop-flapping" ] && [ "$(date +%s)" -lt "$end" ]; do
		sleep "$UP"
		[ -e "$RUN/stop-flapping" ] && break
		receiver_down
		echo "$(date +%s) down" >>"$RUN/flaps.log"
		sleep "$DOWN"
		receiver_up
		echo "$(date +%s) up" >>"$RUN/flaps.log"
	done
) &
FLAP_PID=$!
BG_PIDS="$BG_PIDS $FLAP_PID"
(
	i=0
	while [ ! -e "$RUN/stop-sampling" ] && [ $i -lt 7200 ]; do
		echo "$(date +%s) $(mail_count example.com) $(rss)" >>"$RUN/memory.log"
		sleep 5
		i=$((i + 5))
	done
) &
BG_PIDS="$BG_PIDS $!"

cat >"$RUN/template.eml" <<'EOM'
From: Customer <soak-{c}@customer.example>
To: support@example.com
Subject: still no refund, message {i}
Message-ID: <soak-{i}@customer.example>

I am very disappointed: three weeks and still no refund. This is not
acceptable, please refund me now. Order {i}.
EOM
t0=$(date +%s)
sent=$(SMTPSEND_CUSTOMERS=$CUSTOMERS \
    "$PYTHON3" "$top_srcdir/tests/e2e/smtpsend.py" "$SPORT" burst "$N" 8 \
    customer@customer.example support@example.com "$RUN/template.eml" \
    2>"$RUN/send.err")
t1=$(date +%s)
diag "sent $sent messages in $((t1 - t0)) s"
check "all $N accepted ($sent)" test "${sent:-0}" -eq "$N"
check "all delivered" wait_mail example.com "$N" 600
t2=$(date +%s)
diag "delivered $N messages in $((t2 - t0)) s ($((N / (t2 - t0 + 1))) per second)"

touch "$RUN/stop-flapping"
wait "$FLAP_PID" 2>/dev/null
port_open "$HPORT" || receiver_up
check "the outbox empties once the receiver stays up" \
    wait_for 900 sh -c "[ \"\$(sqlite3 '$MILTER_STATE/journey.db' \
        \"select count(*) from outbox where state != 'done'\" 2>/dev/null)\" = 0 ]"
t3=$(date +%s)
diag "outbox empty $((t3 - t2)) s after the last delivery; flaps: $(grep -c down "$RUN/flaps.log" 2>/dev/null) outages"
touch "$RUN/stop-sampling"

q() { sqlite3 "$MILTER_STATE/journey.db" "$1"; }
crm=$(q "select count(*) from outbox where kind = 'webhook'")
chat=$(q "select count(*) from outbox where kind = 'chat'")
dead=$(q "select count(*) from outbox where state = 'dead'")
retried=$(q "select count(*) from outbox where attempts > 1")
diag "outbox: $crm CRM events, $chat escalations, $retried retried, $dead dead"
check "one CRM event per message ($crm)" test "$crm" -eq "$N"
check "one escalation per message ($chat)" test "$chat" -eq "$N"
check "nothing dead-lettered ($dead)" test "$dead" -eq 0
check "the outages made deliveries retry ($retried)" test "$retried" -gt 0
got_crm=$(awk '$1 == "/crm" { print $2 }' "$RUN/received.log" | sort -u | wc -l)
got_chat=$(grep -c '^/chat ' "$RUN/received.log")
check "every CRM event received ($got_crm distinct ids)" test "$got_crm" -eq "$N"
check "every escalation received ($got_chat)" test "$got_chat" -ge "$N"
classified=$(grep -c "from=<customer@customer.example> .*category=complaint" "$RUN/milter.log")
check "every message classified ($classified)" test "$classified" -eq "$N"

# Memory: the samples after the first tenth of the mail, first and last.
awk -v warm=$((N / 10)) '$2 >= warm && $3 != "" { print $3 }' \
    "$RUN/memory.log" >"$RUN/rss.samples"
first=$(head -n 1 "$RUN/rss.samples")
last=$(tail -n 1 "$RUN/rss.samples")
peak=$(sort -n "$RUN/rss.samples" | tail -n 1)
diag "resident memory after warm-up: first ${first} kB, last ${last} kB, peak ${peak} kB ($(wc -l <"$RUN/rss.samples") samples)"
check "memory flat: growth $((${last:-0} - ${first:-0})) kB < $GROWTH_MAX_KB kB" \
    test $((${last:-0} - ${first:-0})) -lt "$GROWTH_MAX_KB"

check "no internal error logged" \
    sh -c "! grep -Eq 'internal error|out of memory' '$RUN/milter.log'"
check "daemon stops on SIGTERM" milter_stop
check "clean exit" test "${MILTER_STATUS:-1}" -eq 0
check "no sanitizer report" \
    sh -c "! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$RUN/milter.log'"
e2e_done
