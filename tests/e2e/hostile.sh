#!/bin/sh
# hostile.sh: mail written to hurt the milter, through a private Postfix.
#
# A 50 MB message, 10,000 headers, a 100 KB header line, multiparts nested
# 1,000 deep, a body built to make a rule backtrack catastrophically, NUL
# bytes and invalid UTF-8 everywhere, and a customer name and subject that
# carry CR LF and a header of their own into the acknowledgement.  Each is
# accepted and delivered whole, the daemon stays up with its memory
# bounded, and the acknowledgement gains no header.  Meanwhile the CRM
# webhook answers with a redirect to itself, an endless body and silence:
# mail keeps flowing, and journeyctl queue shows each row dead-lettered
# (the redirect), delivered (the endless body, cut off after its 200) or
# waiting for a retry after a timeout.  (The outbox's handling of each
# such answer is checked in detail by test_outbox.)
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init hostile
need_root

MPORT=$(free_port)
SPORT=$(free_port)
HPORT=$(free_port)

# The shipped rules, and one written to backtrack: (a+)+$ against a run of
# a's that ends in b tries every way of splitting the run.
mkdir -p "$RUN/rules"
cp -R "$top_srcdir/rules/." "$RUN/rules/"
cat >"$RUN/rules/zz-hostile.rules" <<'EOR'
language en
rule HOSTILE_BACKTRACK complaint body /(a+)+$/ 1
EOR

# A webhook receiver that misbehaves in three ways; it stops by itself.
cat >"$RUN/receiver.py" <<'EOP'
import http.server, sys, threading, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))
        sys.stderr.flush()
    def do_POST(self):
        self.log_message("")
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        try:
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/redirect")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/huge":
                self.send_response(200)
                self.send_header("Content-Length", str(1 << 30))
                self.end_headers()
                chunk = b"x" * 65536
                for _ in range(1 << 14):
                    self.wfile.write(chunk)
            else:
                time.sleep(30)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
        except OSError:
            pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
srv.daemon_threads = True
threading.Timer(600, srv.shutdown).start()
srv.serve_forever()
EOP
"$PYTHON3" "$RUN/receiver.py" "$HPORT" 2>"$RUN/receiver.log" &
BG_PIDS="$BG_PIDS $!"
wait_for 10 port_open "$HPORT" || bail "webhook receiver did not start"

hook=http://127.0.0.1:$HPORT
milter_conf "$RUN/jm.conf" \
    "socket = inet:127.0.0.1:$MPORT" \
    "rules_dir = $RUN/rules" \
    "watch_recipients = support@example.com" \
    "journey_webhook_url = $hook/redirect $hook/huge $hook/slow" \
    "webhook_timeout = 2s" \
    "ack_from = Support <support@example.com>" \
    "ack_smtp_url = smtp://127.0.0.1:$SPORT" \
    "ack_interval = 0" \
    "ack_max_per_day = 1000"
milter_start "$RUN/jm.conf" "$MPORT" || bail "journey-milter did not start"
pf_start "$SPORT" "inet:127.0.0.1:$MPORT" \
    "message_size_limit = 60000000" \
    "virtual_mailbox_limit = 0" \
    "mailbox_size_limit = 0" \
    "mime_nesting_limit = 2000" \
    "header_size_limit = 1048576" || bail "postfix did not start"

# The inputs, written by Python so that every byte is what we say.
"$PYTHON3" - "$RUN" <<'EOP'
import base64, sys
run = sys.argv[1]
def write(name, data):
    with open("%s/%s.eml" % (run, name), "wb") as f:
        f.write(data)
def head(tag, extra=b""):
    return (b"From: Hostile <hostile-" + tag + b"@customer.example>\r\n"
            b"To: support@example.com\r\n"
            b"Subject: hostile " + tag + b"\r\n"
            b"Message-ID: <" + tag + b"@customer.example>\r\n" + extra)
complaint = (b"I am very disappointed, this is not acceptable and I want "
             b"my refund now.\r\n")
# 50 MB: the complaint, then lines of filler.
line = b"filler " * 10 + b"\r\n"
write("big", head(b"big") + b"\r\n" + complaint +
      line * (50 * 1024 * 1024 // len(line)) + b"the end of big\r\n")
# 10,000 headers.
write("headers", head(b"headers", b"".join(
    b"X-Filler-%d: value %d\r\n" % (i, i) for i in range(10000))) +
    b"\r\n" + complaint)
# A header line of 100 KB, and a folded Subject of 100 KB.
write("longline", head(b"longline",
    b"X-Long: " + b"y" * 100000 + b"\r\n" +
    b"Thread-Topic: " + b"\r\n ".join([b"word"] * 20000) + b"\r\n") +
    b"\r\n" + complaint)
# Multiparts nested 1,000 deep, the complaint at the bottom.
depth = 1000
body = b"MIME-Version: 1.0\r\n"
for i in range(depth):
    body += (b"Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n"
             b"--b%d\r\n" % (i, i))
body += b"Content-Type: text/plain\r\n\r\n" + complaint
for i in reversed(range(depth)):
    body += b"\r\n--b%d--\r\n" % i
write("nested", head(b"nested") + body)
# Catastrophic backtracking for (a+)+$.
write("backtrack", head(b"backtrack") + b"\r\n" + b"a" * 30000 + b"b\r\n")
# NUL bytes and invalid UTF-8 in the headers, the names and the body.
bad = b"\xff\xfe\xc3\x28\xe2\x82\x00\xf0\x9f"
write("binary",
      b"From: Bad \xff\xfe Name <hostile-binary@customer.example>\r\n"
      b"To: support@example.com\r\n"
      b"Subject: broken \xc3\x28 " + bad + b" =?utf-8?B?/w==?=\r\n"
      b"Message-ID: <binary@customer.example>\r\n"
      b"X-Binary: " + bad + b"\x00zero\r\n"
      b"MIME-Version: 1.0\r\n"
      b"Content-Type: multipart/alternative; boundary=\"q\"\r\n\r\n"
      b"--q\r\nContent-Type: text/plain; charset=utf-8\r\n"
      b"Content-Transfer-Encoding: base64\r\n\r\n" +
      base64.b64encode(b"disappointed \x00\x00 " + bad * 50) + b"\r\n"
      b"--q\r\nContent-Type: text/html; charset=x-no-such-charset\r\n\r\n"
      b"<p>\x00" + bad + b"<b>not acceptable\r\n"
      b"--q\r\nContent-Type: text/plain; charset=utf-8\r\n"
      b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n")
# A name and a subject that carry CR LF and a header into the reply.
name = base64.b64encode(b"Eve\r\nBcc: victim@example.org\r\nX-Injected: name")
subj = base64.b64encode(b"Refund\r\nX-Injected: subject\r\n\r\nbody")
write("inject",
      b"From: =?UTF-8?B?" + name + b"?= <eve@customer.example>\r\n"
      b"To: support@example.com\r\n"
      b"Subject: =?UTF-8?B?" + subj + b"?=\r\n"
      b"Message-ID: <inject@customer.example>\r\n\r\n" + complaint)
# The message sent last, to see that mail still flows.
write("after", head(b"after") + b"\r\n" + complaint)
EOP

send_raw() {
	"$PYTHON3" "$top_srcdir/tests/e2e/smtpsend.py" "$SPORT" one \
	    "hostile-$1@customer.example" support@example.com "$RUN/$1.eml" \
	    2>"$RUN/send-$1.err"
}

# logged TAG: the milter logged its summary line for message TAG.
logged() {
	grep -q "from=<hostile-$1@customer.example> .*category=" "$RUN/milter.log"
}

delivered() {
	mail_with example.com "^Message-ID: <$1@customer.example>"
}

n=0
for m in big headers longline nested backtrack binary; do
	check "$m: accepted by Postfix" send_raw "$m"
	n=$((n + 1))
done
check "inject: accepted" "$PYTHON3" "$top_srcdir/tests/e2e/smtpsend.py" \
    "$SPORT" one eve@customer.example support@example.com "$RUN/inject.eml"
n=$((n + 1))
check "all $n delivered" wait_mail example.com "$n" 120
for m in big headers longline nested backtrack binary; do
	check "$m: classified and logged" wait_for 10 logged "$m"
done
for m in big headers longline nested backtrack; do
	f=$(delivered "$m")
	check "$m: delivered with X-Journey headers" \
	    sh -c "[ -n '$f' ] && grep -q '^X-Journey-Ticket: JM-' '$f'"
done

f=$(delivered big)
size=$(wc -c <"$f" 2>/dev/null || echo 0)
check "big: delivered whole ($size bytes)" test "$size" -gt 50000000
check "big: its last line arrived" grep -q "the end of big" "$f"
check "big: classified on the part read (complaint)" \
    grep -q "from=<hostile-big@customer.example> .*category=complaint" \
    "$RUN/milter.log"
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$MILTER_PID/status")
diag "daemon peak resident memory: ${hwm} kB"
check "the body is capped: peak memory ${hwm} kB < 100 MB" \
    test "${hwm:-999999}" -lt 102400

f=$(delivered headers)
check "headers: all 10,000 delivered" \
    test "$(grep -c '^X-Filler-' "$f")" -eq 10000
f=$(delivered longline)
check "longline: the 100 KB header delivered" \
    test "$(grep -c 'yyyyyyyyyy' "$f")" -ge 1
f=$(delivered nested)
check "nested: delivered whole" test "$(grep -c '^--b' "$f")" -eq 2000

check "backtrack: the match limit stopped the rule (match-limit=yes)" \
    grep -q "from=<hostile-backtrack@customer.example> .*match-limit=yes" \
    "$RUN/milter.log"
ms=$(sed -n 's/.*from=<hostile-backtrack@customer.example> .* eom=\([0-9]*\)\..*/\1/p' \
    "$RUN/milter.log")
diag "backtrack: end-of-message took ${ms} ms"
check "backtrack: answered within 2 s (${ms} ms)" test "${ms:-99999}" -lt 2000

f=$(delivered binary)
check "binary: delivered" test -n "$f"

# The acknowledgement of the injection attempt, in the customer's mailbox.
ack_of_inject() {
	mail_with customer.example '^In-Reply-To: <inject@customer.example>'
}
check "inject: acknowledgement delivered" \
    wait_for 30 sh -c "[ -n \"\$(grep -l '^In-Reply-To: <inject@customer.example>' '$(mailbox customer.example)'/* 2>/dev/null)\" ]"
ack=$(ack_of_inject)
awk '/^\r?$/ { exit } { print }' "$ack" >"$RUN/ack-headers" 2>/dev/null
check "inject: acknowledgement found" test -s "$RUN/ack-headers"
check "inject: no Bcc header in the acknowledgement" \
    sh -c "! grep -qi '^Bcc:' '$RUN/ack-headers'"
check "inject: no injected header in the acknowledgement" \
    sh -c "! grep -qi '^X-Injected' '$RUN/ack-headers'"
check "inject: one To, to the customer only" \
    sh -c "[ \$(grep -ci '^To:' '$RUN/ack-headers') -eq 1 ] &&
        grep -A2 -i '^To:' '$RUN/ack-headers' | grep -q 'eve@customer.example' &&
        ! grep -q 'victim@example.org' '$RUN/ack-headers'"
check "inject: Postfix sent it to the customer only" \
    sh -c "! grep -q 'to=<victim@example.org>' '$PF_DIR/maillog'"

# The webhooks misbehaved all along; the daemon noticed and moved on.
check "webhook redirect not followed" \
    wait_for 20 grep -q "redirect not followed" "$RUN/milter.log"
check "webhook receivers were called" \
    sh -c "grep -q '/huge' '$RUN/receiver.log' && grep -q '/slow' '$RUN/receiver.log'"
before=$(mail_count example.com)
t0=$(date +%s)
check "after: accepted" send_raw after
check "after: delivered within 10 s" wait_mail example.com $((before + 1)) 10
diag "after: delivered in $(($(date +%s) - t0)) s"

# What became of each webhook row, as the operator sees it: every event is
# one row per URL; the redirect is dead-lettered at once, the endless body
# is cut off after its 200 and counts as delivered, the silence is a
# timeout retried later.  The acknowledgements all went out.
q() { sqlite3 "$MILTER_STATE/journey.db" "$1"; }
check "every webhook row tried, every acknowledgement sent" \
    wait_for 30 sh -c "[ \"\$(sqlite3 '$MILTER_STATE/journey.db' \
        \"select count(*) from outbox where (kind = 'webhook' and \
        attempts = 0) or (kind = 'smtp' and state != 'done')\")\" = 0 ]"
# rows PATH [STATE]: outbox rows to the receiver's PATH (in STATE).
rows() {
	q "select count(*) from outbox where target like '%/$1'${2:+ and state = '$2'}"
}
events=$(rows huge)
diag "webhook rows: $events per URL"
check "one row per event for each URL ($events)" sh -c "[ $events -gt 0 ] &&
    [ $(rows redirect) -eq $events ] && [ $(rows slow) -eq $events ]"
check "huge: every row delivered, the body cut off" \
    test "$(rows huge done)" -eq "$events"
"$top_builddir/journeyctl" -c "$RUN/jm.conf" queue >"$RUN/queue.out" 2>&1
check "journeyctl queue: exit 0" test $? -eq 0
"$top_builddir/journeyctl" -c "$RUN/jm.conf" queue --dead \
    >"$RUN/queue-dead.out" 2>&1
check "journeyctl queue --dead: exit 0" test $? -eq 0
sed 's/^/# /' "$RUN/queue.out"
cat >"$RUN/queue.py" <<'EOP'
import re, sys
# "ID KIND STATE ATTEMPTS AGE NEXT TARGET", NEXT "-", "now" or "in 5s";
# the last error, if any, on the next line, indented.
ROW = re.compile(r"^(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\S+)\s+"
                 r"(-|now|in \S+)\s+(\S+)$")
def rows(path):
    out, last = [], None
    for line in open(path):
        line = line.rstrip("\n")
        m = ROW.match(line)
        if m:
            last = {"id": m.group(1), "kind": m.group(2), "state": m.group(3),
                    "attempts": int(m.group(4)), "target": m.group(7),
                    "error": ""}
            out.append(last)
        elif line.startswith(" " * 40) and last is not None:
            last["error"] = line.strip()
    return out
everything, dead = rows(sys.argv[1]), rows(sys.argv[2])
events, what = int(sys.argv[3]), sys.argv[4]
def path(r):
    return re.sub(r"^http://[^/]*", "", r["target"])
bad = []
if what == "redirect":
    got = [r for r in everything if path(r) == "/redirect"]
    bad = [r for r in got if r["state"] != "dead" or r["attempts"] != 1 or
           r["error"] != "HTTP 302, redirect not followed"]
elif what == "slow":
    got = [r for r in everything if path(r) == "/slow"]
    bad = [r for r in got if r["state"] != "pending" or r["attempts"] < 1 or
           not re.search(r"timed out after \d+ milli", r["error"])]
elif what == "dead":
    got = dead
    bad = [r for r in dead if path(r) != "/redirect"]
else:
    got = [r for r in everything if path(r) == "/huge" or r["kind"] == "smtp"]
    bad = got
    events = 0
for r in bad:
    print("unexpected: %r" % r)
if len(got) != events:
    print("%d rows, want %d" % (len(got), events))
sys.exit(1 if bad or len(got) != events else 0)
EOP
queue_rows() {
	"$PYTHON3" "$RUN/queue.py" "$RUN/queue.out" "$RUN/queue-dead.out" \
	    "$events" "$1" >"$RUN/rows-$1.out" 2>&1
	st=$?
	sed 's/^/# /' "$RUN/rows-$1.out"
	return $st
}
check "redirect: each row dead after one attempt, HTTP 302 not followed" \
    queue_rows redirect
check "slow: each row pending a retry, last error a timeout" queue_rows slow
check "queue --dead: the redirect rows and no others" queue_rows dead
check "queue: no huge row and no acknowledgement left" queue_rows gone
check "redirect: dead-lettering logged" \
    grep -q "redirect: HTTP 302, redirect not followed, dead-lettered" \
    "$RUN/milter.log"
check "slow: the retry logged" \
    grep -Eq "slow: .*timed out.*, retry 1 in" "$RUN/milter.log"

check "no internal error logged" \
    sh -c "! grep -q 'internal error' '$RUN/milter.log'"
check "daemon still running" kill -0 "$MILTER_PID"
check "daemon stops on SIGTERM" milter_stop
check "clean exit" test "${MILTER_STATUS:-1}" -eq 0
e2e_done
