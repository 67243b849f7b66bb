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
# receiver (each id at least once, none dead-lettered); nothing was
# logged as a warning or an error but the retries the outages cause, and
# nothing else reached stderr; the daemon's resident memory, sampled
# against the messages delivered after the first SOAK_WARMUP_PERCENT
# (20) per cent, fits a line no steeper than SOAK_SLOPE_MAX_KB kB per
# 1,000 messages; and it stopped cleanly, with no sanitizer report.  The
# last line says it all: "# soak: PASS|FAIL ..." with the figures.
#
# Only a sanitizer build is soaked (configure as contrib/run-tests does
# for build-asan; see README.md): without one a leak or a memory error
# goes unseen and the run proves little.  SOAK_ANY_BUILD=yes soaks any
# build, and the result line says that nothing was sanitized.
#
# The memory bound depends on the build.  AddressSanitizer's allocator
# keeps touching more of the memory it mapped long after the daemon's own
# use is flat: 20,000 messages measured 230 to 350 kB per 1,000 in the
# sanitizer build, falling to nothing past 30,000, against 6 kB in a
# plain one.  So the default bound is 512 kB in a sanitizer build, where
# LeakSanitizer catches at exit what is lost, and 32 kB in a plain one,
# which sees a leak of a few dozen bytes a message that is still
# reachable.  It takes minutes and is not part of make check; run it with
# "make soak".
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
SANITIZERS=$(ldd "$top_builddir/journey-milter" 2>/dev/null |
    sed -n 's/^[[:space:]]*lib\(asan\|ubsan\|tsan\)\.so.*/\1/p' |
    sort -u | tr '\n' '+' | sed 's/+$//')
if [ -z "$SANITIZERS" ]; then
	if [ "${SOAK_ANY_BUILD:-no}" != yes ]; then
		cat >&2 <<EOM
soak: $top_builddir/journey-milter is not a sanitizer build; a soak
without AddressSanitizer cannot see leaks or memory errors.  Build one as
contrib/run-tests does and run "make soak" there:
  mkdir build-asan && cd build-asan
  ../configure CFLAGS="-g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \\
      LDFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
  make soak
or set SOAK_ANY_BUILD=yes to soak this build anyway.
EOM
		exit 2
	fi
	BUILD="plain build, nothing sanitized"
else
	BUILD="$SANITIZERS build"
fi
. "$top_srcdir/tests/e2e/lib.sh"
e2e_init soak
need_root

N=${SOAK_MESSAGES:-20000}
CUSTOMERS=${SOAK_CUSTOMERS:-500}
UP=${SOAK_UP_SECONDS:-10}
DOWN=${SOAK_DOWN_SECONDS:-5}
WARMUP=${SOAK_WARMUP_PERCENT:-20}
if [ -n "$SANITIZERS" ]; then
	SLOPE_MAX_KB=${SOAK_SLOPE_MAX_KB:-512}
else
	SLOPE_MAX_KB=${SOAK_SLOPE_MAX_KB:-32}
fi
SAMPLE=${SOAK_SAMPLE_SECONDS:-2}
# A small quarantine, so that freed memory the sanitizer holds back does
# not look like growth.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16:malloc_context_size=10}
export ASAN_OPTIONS
diag "daemon: $BUILD"
T_START=$(date +%s)

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
		sleep "$SAMPLE"
		i=$((i + SAMPLE))
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
outages=$(grep -c down "$RUN/flaps.log" 2>/dev/null)
diag "outbox empty $((t3 - t2)) s after the last delivery; flaps: ${outages:=0} outages"
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

# Memory: resident size against the messages delivered, from the end of
# the warm-up until the last message (the drain after it adds none), fitted
# to a line by least squares.  A leak or an unbounded cache grows with the
# mail; a bounded one (SQLite's page cache, the sanitizer's quarantine,
# connections) has filled by then and adds nothing more.
"$PYTHON3" - "$RUN/memory.log" "$N" "$WARMUP" >"$RUN/rss.fit" <<'EOP'
import sys
path, n, warm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pts = []
for line in open(path):
    f = line.split()
    if len(f) == 3 and n * warm // 100 <= int(f[1]) < n:
        pts.append((int(f[1]), int(f[2])))
if len(pts) < 5 or pts[-1][0] - pts[0][0] < n // 10:
    print("- %d - - - - - -" % len(pts))
    sys.exit(0)
def fit(p):
    k = len(p)
    mx = sum(x for x, _ in p) / k
    my = sum(y for _, y in p) / k
    sxx = sum((x - mx) ** 2 for x, _ in p)
    sxy = sum((x - mx) * (y - my) for x, y in p)
    syy = sum((y - my) ** 2 for _, y in p)
    if sxx == 0:
        return 0.0, 0.0
    return sxy / sxx * 1000, sxy / (sxx * syy) ** 0.5 if syy > 0 else 0.0
slope, r = fit(pts)
# The later half alone: a leak keeps its slope, a filling cache loses it.
late, _ = fit(pts[len(pts) // 2:])
print("%.1f %d %d %d %d %d %.2f %.1f" % (slope, len(pts), pts[0][0],
    pts[-1][0], pts[0][1], max(y for _, y in pts), r, late))
EOP
read -r slope samples from to first peak corr late <"$RUN/rss.fit"
last=$(awk '$3 != "" { v = $3 } END { print v }' "$RUN/memory.log")
diag "resident memory: $samples samples from message $from to $to; first ${first} kB, peak ${peak} kB, at the end ${last} kB"
diag "resident memory: slope ${slope} kB per 1,000 messages (r = $corr; later half ${late}), bound $SLOPE_MAX_KB"
check "memory grows by at most $SLOPE_MAX_KB kB per 1,000 messages (${slope})" \
    "$PYTHON3" -c "import sys; sys.exit(0 if '$slope' != '-' and float('$slope') <= $SLOPE_MAX_KB else 1)"

check "daemon stops on SIGTERM" milter_stop
check "clean exit" test "${MILTER_STATUS:-1}" -eq 0
check "no sanitizer report" \
    sh -c "! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$RUN/milter.log'"

# The log, read whole once the daemon has stopped: every warning and error
# must be a retry that a receiver outage explains (refused, reset, cut
# off, or timed out while it went away), and nothing but our own lines may
# have reached stderr (GLib's criticals, a library's complaint).
retry_re="^journey-milter\\[[0-9]+\\]: warning: outbox [0-9]+: (webhook|chat) http://127\\.0\\.0\\.1:$HPORT(/crm|/\\.\\.\\.): (Failed to connect to [^,]*|Couldn't connect to server|Connection refused|Empty reply from server|Recv failure: Connection reset by peer|Send failure: (Broken pipe|Connection reset by peer)|Operation timed out after [0-9]+ milliseconds with [0-9]+ (out of [0-9]+ )?bytes received), retry [0-9]+ in [0-9a-z]+$"
grep -E "^journey-milter\\[[0-9]+\\]: (warning|error): " "$RUN/milter.log" \
    >"$RUN/trouble.log"
retries=$(grep -Ec "$retry_re" "$RUN/trouble.log")
timeouts=$(grep -E "$retry_re" "$RUN/trouble.log" | grep -c 'timed out')
grep -Ev "$retry_re" "$RUN/trouble.log" >"$RUN/unexpected.log"
grep -Ev "^journey-milter\\[[0-9]+\\]: " "$RUN/milter.log" >>"$RUN/unexpected.log"
unexpected=$(wc -l <"$RUN/unexpected.log")
diag "log: $retries retries explained by the outages ($timeouts of them timeouts), $unexpected other warnings, errors or foreign lines"
head -n 20 "$RUN/unexpected.log" | sed 's/^/#   /'
check "nothing logged as a warning or an error but outage retries ($unexpected)" \
    test "$unexpected" -eq 0
check "no internal error logged" \
    sh -c "! grep -Eq 'internal error|out of memory' '$RUN/milter.log'"

T_END=$(date +%s)
if [ "$T_FAILED" -eq 0 ]; then verdict=PASS; else verdict="FAIL ($T_FAILED of $T_NUM checks)"; fi
diag "soak: $verdict: $N messages in $((T_END - T_START)) s ($BUILD); delivered in $((t2 - t0)) s, outbox empty $((t3 - t2)) s later; $outages outages, $retried rows retried, $dead dead; memory slope ${slope} kB per 1,000 messages (later half ${late}, bound $SLOPE_MAX_KB, peak ${peak} kB); $unexpected unexpected log lines"
e2e_done
