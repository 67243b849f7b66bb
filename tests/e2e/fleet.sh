#!/bin/sh
# fleet.sh: two MX hosts share their customers through one Redis.
#
# Two sites, A and B, each a private Postfix with its own journey-milter,
# both receiving mail for support@example.com and both keeping the
# journey in the same redis-server (started here, on a free port, with
# --save '').  Acknowledgements from both go out through A's Postfix, so
# that every one a customer gets lands in A's customer.example maildir;
# escalations go to a small JSON receiver.
#  1. One customer writes to both hosts at once, two mails of one thread:
#     one acknowledgement, one escalation, one stage on both hosts.
#  2. 200 mails from 20 customers, all sent at once, 100 to each host;
#     the same 200 to a third site, C, one host on SQLite: every customer
#     ends at the stage C gives them and gets as many acknowledgements
#     from the fleet as from C, and one escalation.
#  3. Redis stops answering: mail keeps flowing within redis_timeout, no
#     acknowledgement is sent twice (none at all, as withheld), the outage
#     is logged once per host; when Redis answers again the hosts share
#     again and a new mail moves the shared stage.
#  4. Redis is killed (connections refused) and started again from its
#     last snapshot: the same, and the hosts share again.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init fleet
need_root
: "${REDIS_SERVER:=redis-server}"
command -v "$REDIS_SERVER" >/dev/null ||
    bail "redis-server not found (install it: see contrib/deps.sh)"

BASE=$RUN
A=$BASE/a
B=$BASE/b
C=$BASE/c
mkdir -p "$A" "$B" "$C" "$BASE/redis"
chmod 755 "$A" "$B" "$C"

PORTS=
while [ "$(echo $PORTS | wc -w)" -lt 8 ]; do
	p=$(free_port)
	case " $PORTS " in *" $p "*) ;; *) PORTS="$PORTS $p" ;; esac
done
set -- $PORTS
MPORT_A=$1 SPORT_A=$2 MPORT_B=$3 SPORT_B=$4 RPORT=$5 HPORT=$6
MPORT_C=$7 SPORT_C=$8

REDIS_PID=
# A stopped Redis would not see the TERM of the cleanup.
trap 'kill -CONT $REDIS_PID 2>/dev/null; e2e_cleanup' EXIT

# redis_start: the fleet's Redis, from the snapshot in its directory if
# there is one (--save '': no snapshot unless asked for).
redis_start() {
	"$REDIS_SERVER" --port "$RPORT" --bind 127.0.0.1 --save '' \
	    --appendonly no --dir "$BASE/redis" \
	    --logfile "$BASE/redis/redis.log" --daemonize no &
	REDIS_PID=$!
	BG_PIDS="$BG_PIDS $REDIS_PID"
	wait_for 10 port_open "$RPORT"
}
redis_start || bail "redis-server did not start"

redis_gone() {
	! port_open "$RPORT"
}

# The chat receiver: one line per escalation.
"$PYTHON3" - "$HPORT" "$BASE/chat.log" <<'EOF' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
BG_PIDS="$BG_PIDS $!"
wait_for 10 port_open "$HPORT" || bail "the chat receiver did not start"
: >"$BASE/chat.log"

# instance DIR SMTP_PORT: the instance the next commands talk about.
instance() {
	RUN=$1
	PF_PORT=$2
}

# site DIR MPORT SPORT
site() {
	instance "$1" "$3"
	milter_conf "$1/jm.conf" \
	    "socket = inet:127.0.0.1:$2" \
	    "state = redis://127.0.0.1:$RPORT/0" \
	    "redis_key_prefix = fleet:" \
	    "watch_recipients = support@example.com" \
	    "ack_smtp_url = smtp://127.0.0.1:$SPORT_A" \
	    "ack_from = Example Support <support@example.com>" \
	    "chat_target = leads json http://127.0.0.1:$HPORT/chat complaint" \
	    "retry_min_interval = 1s"
	milter_start "$1/jm.conf" "$2" || bail "journey-milter in $1 did not start"
	# 100 at once per host, and the acknowledgements beside them.
	pf_start -d "example.com customer.example" "$3" "inet:127.0.0.1:$2" \
	    "default_process_limit = 200" ||
	    bail "postfix in $1 did not start"
}

site "$A" "$MPORT_A" "$SPORT_A"
MILTER_A=$MILTER_PID
site "$B" "$MPORT_B" "$SPORT_B"
MILTER_B=$MILTER_PID

# C: one host alone, on SQLite, the reference for step 2.  Its
# acknowledgements go through its own Postfix, into its own maildir; it
# escalates nowhere.
instance "$C" "$SPORT_C"
milter_conf "$C/jm.conf" \
    "socket = inet:127.0.0.1:$MPORT_C" \
    "watch_recipients = support@example.com" \
    "ack_smtp_url = smtp://127.0.0.1:$SPORT_C" \
    "ack_from = Example Support <support@example.com>" \
    "retry_min_interval = 1s"
milter_start "$C/jm.conf" "$MPORT_C" || bail "journey-milter in $C did not start"
MILTER_C=$MILTER_PID
pf_start -d "example.com customer.example" "$SPORT_C" \
    "inet:127.0.0.1:$MPORT_C" || bail "postfix in $C did not start"

# The sender: job lines "PORT FROM MESSAGE-ID KIND [IN-REPLY-TO]" on
# stdin, sent by WORKERS threads at once; every job is tried, and it
# exits 1 if any was refused.
cat >"$BASE/send.py" <<'EOF'
import concurrent.futures, smtplib, sys
TEXT = {
    "praise": ("Thank you!",
        "Thank you so much, the replacement arrived today and it works\n"
        "perfectly. Great service, I will recommend you to my friends.\n"),
    "neutral": ("Order 4410",
        "Hello, could you tell me which courier will bring order 4410?\n"
        "Regards\n"),
    "complaint": ("Third wrong invoice this month",
        "Hello,\n\nthis is the third wrong invoice this month and nobody\n"
        "has answered our emails.  This is unacceptable and we are very\n"
        "disappointed.\n"),
}
def send(job):
    port, sender, mid, kind = job[:4]
    subject, body = TEXT[kind]
    head = [f"From: <{sender}>", "To: support@example.com",
            f"Subject: {subject}", f"Message-ID: <{mid}>",
            "MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8"]
    if len(job) > 4:
        head += [f"In-Reply-To: <{job[4]}>", f"References: <{job[4]}>"]
    msg = "\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n")
    try:
        with smtplib.SMTP("127.0.0.1", int(port), timeout=30) as s:
            s.sendmail(sender, ["support@example.com"], msg.encode())
    except Exception as e:
        print("#   refused:", " ".join(job), e)
        return False
    return True
jobs = [l.split() for l in sys.stdin if l.strip()]
with concurrent.futures.ThreadPoolExecutor(int(sys.argv[1])) as ex:
    ok = list(ex.map(send, jobs))
sys.exit(0 if all(ok) else 1)
EOF

send_jobs() {
	"$PYTHON3" "$BASE/send.py" "$1"
}

# delivered DIR: mails delivered to support@ by the Postfix of DIR.
delivered() {
	find "$1/postfix/mail/example.com/new" -type f 2>/dev/null | wc -l
}

delivered_at_least() {
	[ "$(delivered "$1")" -ge "$2" ]
}

both_delivered_at_least() {
	[ $(($(delivered "$A") + $(delivered "$B"))) -ge "$1" ]
}

# acks_in DIR ADDRESS: acknowledgements delivered to ADDRESS by the
# Postfix of DIR; acks ADDRESS: the fleet's (all go through A).
acks_in() {
	grep -l -i -E "^To: .*$2" "$1"/postfix/mail/customer.example/new/* \
	    2>/dev/null | wc -l
}

acks() {
	acks_in "$A" "$1"
}

acks_at_least() {
	[ "$(acks "$1")" -ge "$2" ]
}

acks_in_at_least() {
	[ "$(acks_in "$1" "$2")" -ge "$3" ]
}

# bare STAGE: the stage without " (at risk)".
bare() {
	echo "${1% (at risk)}"
}

# stage CONF ADDRESS: the stage line of journeyctl customer.
stage() {
	"$top_builddir/journeyctl" -c "$1" customer "$2" 2>&1 |
	    sed -n 's/^stage *//p'
}

queues_empty() {
	(PF_DIR=$A/postfix; pf_queue_empty) && (PF_DIR=$B/postfix; pf_queue_empty)
}

# log_lines PATTERN: summary lines of both daemons matching PATTERN.
log_lines() {
	cat "$A/milter.log" "$B/milter.log" | grep -E -- "$1"
}

# chats_are N: the chat receiver has had exactly N requests (read anew at
# each call, for wait_for).
chats_are() {
	[ "$(wc -l <"$BASE/chat.log")" -eq "$1" ]
}

log_has() {
	log_lines "$1" >/dev/null
}

# 1. One customer, both hosts, one moment.
{
	echo "$SPORT_A zoe@customer.example z1@customer.example complaint"
	echo "$SPORT_B zoe@customer.example z2@customer.example complaint z1@customer.example"
} | send_jobs 2
check "both hosts accepted zoe's two complaints" test $? -eq 0
check "both delivered" wait_for 20 both_delivered_at_least 2
check "one acknowledgement reaches zoe" wait_for 15 acks_at_least zoe 1
check "one escalation reaches the chat receiver" \
    wait_for 10 test -s "$BASE/chat.log"
sleep 3
check "both queues empty" queues_empty
check "exactly one acknowledgement (3 s later)" test "$(acks zoe)" -eq 1
check "exactly one escalation" test "$(wc -l <"$BASE/chat.log")" -eq 1
check "one host queued the acknowledgement" \
    test "$(log_lines 'customer=<zoe@customer.example> .*ack=queued ' | wc -l)" -eq 1
check "the other found it already answered" \
    test "$(log_lines 'customer=<zoe@customer.example> .*ack=already-answered ' | wc -l)" -eq 1
check "the other found the thread escalated" \
    test "$(log_lines 'customer=<zoe@customer.example> .*escalate=no\(thread-already-escalated\)' | wc -l)" -eq 1
check "A says zoe is at risk" test "$(stage "$A/jm.conf" zoe@customer.example)" = "assess (at risk)"
check "B says the same" test "$(stage "$B/jm.conf" zoe@customer.example)" = "assess (at risk)"

# 2. 200 mails, 20 customers, both hosts, all at once; then the same 200
# through C alone.  Customer cNN sends NN % 8 praises (advance), 1 + NN % 3
# complaints (at risk, the stage unchanged) and questions (no category)
# up to ten, in a random order.  The stage they end at does not depend on
# the order (assess plus one per praise, at most advocate) while the
# at-risk flag does, so stages are compared; and they range from assess
# to advocate, so that a lost advance shows and the comparison is not of
# twenty equal answers.  Each customer's mails are one thread (they refer
# to a root never sent): one escalation per customer, whatever the order.
"$PYTHON3" - "$SPORT_A" "$SPORT_B" "$SPORT_C" "$BASE" <<'EOF'
import random, sys
random.seed(7)
fleet, single = [], []
for c in range(1, 21):
    praise, complaint = c % 8, 1 + c % 3
    kinds = (["praise"] * praise + ["complaint"] * complaint +
             ["neutral"] * (10 - praise - complaint))
    random.shuffle(kinds)
    for k, kind in enumerate(kinds):
        job = (f"c{c:02d}@customer.example m{c:02d}.{k}@customer.example "
               f"{kind} c{c:02d}.root@customer.example")
        fleet.append(f"{sys.argv[1 + (c + k) % 2]} {job}")
        single.append(f"{sys.argv[3]} {job}")
order = list(range(len(fleet)))
random.shuffle(order)
for name, jobs in (("jobs", fleet), ("jobs.c", single)):
    with open(f"{sys.argv[4]}/{name}", "w") as f:
        f.write("\n".join(jobs[i] for i in order) + "\n")
EOF
t0=$(date +%s)
send_jobs 200 <"$BASE/jobs"
check "200 mails sent at once accepted by the two hosts" test $? -eq 0
check "all 202 delivered" wait_for 60 both_delivered_at_least 202
diag "200 mails in $(($(date +%s) - t0)) s; retries: $(log_lines ' tries=' | wc -l)"
check "none was handled without Redis" \
    test "$(log_lines 'customer=<c[0-9]+@customer.example> .*shared=' | wc -l)" -eq 0
check "both hosts took part" test "$(delivered "$A")" -ge 90 -a "$(delivered "$B")" -ge 90
t0=$(date +%s)
send_jobs 20 <"$BASE/jobs.c"
check "C alone accepted the same 200" test $? -eq 0
check "C delivered them" wait_for 60 delivered_at_least "$C" 200
diag "C: 200 mails in $(($(date +%s) - t0)) s"
bad=
stages=
for c in $(seq -w 1 20); do
	want=$(bare "$(stage "$C/jm.conf" "c$c@customer.example")")
	got=$(bare "$(stage "$A/jm.conf" "c$c@customer.example")")
	[ -n "$want" ] && [ "$got" = "$want" ] || bad="$bad c$c=$got/$want"
	stages="$stages $want"
done
diag "C's stages:$stages"
check "every customer is at the stage C alone gives them${bad:+ (fleet/C:$bad)}" \
    test -z "$bad"
check "C's stages differ between customers (assess to advocate)" \
    test "$(echo $stages | tr ' ' '\n' | sort -u | wc -l)" -eq 8
check "B reads the same stage" \
    test "$(bare "$(stage "$B/jm.conf" c07@customer.example)")" = \
    "$(bare "$(stage "$C/jm.conf" c07@customer.example)")"
# A praise acknowledgement for the 18 customers who praised, a complaint
# one for all 20: 38, from the fleet as from C.
check "the fleet's acknowledgements reach them" \
    wait_for 20 acks_at_least 'c[0-9]+@customer.example' 38
check "C's reach them" \
    wait_for 20 acks_in_at_least "$C" 'c[0-9]+@customer.example' 38
sleep 2
bad=
for c in $(seq -w 1 20); do
	n=$(acks "c$c@customer.example")
	want=$(acks_in "$C" "c$c@customer.example")
	[ "$n" -eq "$want" ] && [ "$want" -ge 1 ] || bad="$bad c$c=$n/$want"
done
check "as many each from the fleet as from C${bad:+ (fleet/C:$bad)}" test -z "$bad"
check "one escalation per customer (and zoe's)" wait_for 20 chats_are 21
sleep 1
check "exactly one each" chats_are 21
# A's own copies are never newer than what the fleet wrote since, and
# what it acknowledged and escalated is in Redis already.
out=$("$top_builddir/journeyctl" -c "$A/jm.conf" migrate 2>&1)
check "journeyctl migrate keeps the fleet's newer states and adds nothing ($out)" \
    test -n "$(expr "$out" : '\(copied 0 customers to redis; kept [1-9][0-9]* that redis knew more recently; added 0 acknowledgements and 0 escalated threads\)')"
check "the stages are as they were" \
    test "$(bare "$(stage "$B/jm.conf" c13@customer.example)")" = \
    "$(bare "$(stage "$C/jm.conf" c13@customer.example)")"
"$top_builddir/journeyctl" -c "$A/jm.conf" stats >"$BASE/stats" 2>&1
"$top_builddir/journeyctl" -c "$C/jm.conf" stats >"$BASE/stats.c" 2>&1
check "stats: 21 customers" grep -q -E '^customers 21 ' "$BASE/stats"
bad=
for st in assess admit affirm activate acclimate accomplish adopt advocate exited; do
	n=$(sed -n "s/^  $st  *\([0-9]*\)\$/\1/p" "$BASE/stats")
	want=$(sed -n "s/^  $st  *\([0-9]*\)\$/\1/p" "$BASE/stats.c")
	[ "$st" = assess ] && want=$((want + 1))	# and zoe
	[ "$n" = "$want" ] || bad="$bad $st=$n/$want"
done
check "stats: as many per stage as C${bad:+ (fleet/C:$bad)}" test -z "$bad"

# 3. Redis stops answering in the middle of the traffic.
kill -STOP "$REDIS_PID"
{
	for d in 1 2 3 4; do
		echo "$SPORT_A d$d@customer.example d$d.a@customer.example complaint"
		echo "$SPORT_B d$d@customer.example d$d.b@customer.example complaint"
	done
} | send_jobs 8
check "with Redis stopped, both hosts accepted 8 complaints" test $? -eq 0
check "all 8 delivered" wait_for 30 both_delivered_at_least 210
check "each was tagged" test "$(grep -l '^X-Journey-Category: complaint' \
    "$A"/postfix/mail/example.com/new/* "$B"/postfix/mail/example.com/new/* |
    xargs grep -l '^Message-ID: <d[1-4]\.' | wc -l)" -eq 8
check "each withheld its acknowledgement (ack=redis-down)" \
    test "$(log_lines 'customer=<d[1-4]@customer.example> .*ack=redis-down .*shared=redis-down' | wc -l)" -eq 8
check "each complaint still escalated" wait_for 10 chats_are 29
max=$(log_lines 'customer=<d[1-4]@customer.example> ' |
    sed -n 's/.* eom=\([0-9]*\)\..*/\1/p' | sort -n | tail -n 1)
check "no message waited much past redis_timeout (slowest ${max:-?} ms)" \
    test "${max:-9999}" -lt 700
check "A logged the outage once" \
    test "$(grep -c 'journeys are not shared until it answers' "$A/milter.log")" -eq 1
check "B logged the outage once" \
    test "$(grep -c 'journeys are not shared until it answers' "$B/milter.log")" -eq 1
check "A counted the chat rate limit alone, and said so once" \
    test "$(grep -c 'chat_rate_limit) are counted by this host alone' "$A/milter.log")" -eq 1
check "B the same" \
    test "$(grep -c 'chat_rate_limit) are counted by this host alone' "$B/milter.log")" -eq 1
sleep 2
check "no acknowledgement went to them" test "$(acks 'd[1-4]@customer.example')" -eq 0

kill -CONT "$REDIS_PID"
# Both hosts wait out their backoff, then share again: probe with
# questions (no acknowledgement, no stage) until each says so.
i=0
while [ $i -lt 12 ] && { ! grep -q 'answering again' "$A/milter.log" ||
    ! grep -q 'answering again' "$B/milter.log"; }; do
	printf '%s probe@customer.example p%d.a@customer.example neutral\n%s probe@customer.example p%d.b@customer.example neutral\n' \
	    "$SPORT_A" $i "$SPORT_B" $i | send_jobs 2
	sleep 1
	i=$((i + 1))
done
check "A is back on Redis" grep -q 'redis .*answering again after' "$A/milter.log"
check "B is back on Redis" grep -q 'redis .*answering again after' "$B/milter.log"
check "d2's complaint did not move the shared state" \
    test -z "$(stage "$A/jm.conf" d2@customer.example)"
echo "$SPORT_B d1@customer.example d1.c@customer.example praise" | send_jobs 1
check "a new mail from d1 is decided on Redis" \
    wait_for 10 log_has 'customer=<d1@customer.example> category=praise .*ack=queued '
check "it moved the shared stage (A reads it)" \
    test "$(stage "$A/jm.conf" d1@customer.example)" = admit
check "and d1 gets its one acknowledgement" wait_for 15 acks_at_least d1@customer.example 1
"$top_builddir/journeyctl" -c "$B/jm.conf" stats >"$BASE/stats" 2>&1
check "stats count the outage on both hosts" \
    grep -q -E '^outages +2, ([89]|[1-9][0-9]+) messages handled without' "$BASE/stats"

# 4. Redis is killed, just after a snapshot, and started again from it:
# meanwhile connections are refused rather than left hanging.
saved=$("$PYTHON3" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.sendall(b"*1\r\n$4\r\nSAVE\r\n")
print(s.recv(64).decode().strip())' "$RPORT")
check "Redis saved a snapshot ($saved)" test "$saved" = +OK
kill -KILL "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null
check "Redis is gone: its port refuses" wait_for 5 redis_gone
{
	for e in 1 2; do
		echo "$SPORT_A e$e@customer.example e$e.a@customer.example complaint"
		echo "$SPORT_B e$e@customer.example e$e.b@customer.example complaint"
	done
} | send_jobs 4
check "with Redis killed, both hosts accepted 4 complaints" test $? -eq 0
check "all 4 delivered" wait_for 30 both_delivered_at_least 214
check "each withheld its acknowledgement" \
    test "$(log_lines 'customer=<e[12]@customer.example> .*ack=redis-down .*shared=redis-down' | wc -l)" -eq 4
check "each complaint still escalated" wait_for 10 chats_are 33
max=$(log_lines 'customer=<e[12]@customer.example> ' |
    sed -n 's/.* eom=\([0-9]*\)\..*/\1/p' | sort -n | tail -n 1)
check "no message waited much past redis_timeout (slowest ${max:-?} ms)" \
    test "${max:-9999}" -lt 700
check "A logged a second outage" \
    test "$(grep -c 'journeys are not shared until it answers' "$A/milter.log")" -eq 2
check "B too" \
    test "$(grep -c 'journeys are not shared until it answers' "$B/milter.log")" -eq 2
check "A said again that it counts the chat rate limit alone" \
    test "$(grep -c 'chat_rate_limit) are counted by this host alone' "$A/milter.log")" -eq 2

redis_start || bail "redis-server did not start again"
i=0
while [ $i -lt 40 ] &&
    { [ "$(grep -c 'answering again' "$A/milter.log")" -lt 2 ] ||
    [ "$(grep -c 'answering again' "$B/milter.log")" -lt 2 ]; }; do
	printf '%s probe@customer.example q%d.a@customer.example neutral\n%s probe@customer.example q%d.b@customer.example neutral\n' \
	    "$SPORT_A" $i "$SPORT_B" $i | send_jobs 2
	sleep 1
	i=$((i + 1))
done
check "A is back on the restarted Redis" \
    test "$(grep -c 'redis .*answering again after' "$A/milter.log")" -eq 2
check "B too" \
    test "$(grep -c 'redis .*answering again after' "$B/milter.log")" -eq 2
echo "$SPORT_A d1@customer.example d1.d@customer.example praise" | send_jobs 1
check "d1's next praise is decided on the snapshot's state" \
    wait_for 10 log_has 'customer=<d1@customer.example> category=praise .*ack=already-answered '
check "and moves the shared stage on from it (B reads it)" \
    test "$(stage "$B/jm.conf" d1@customer.example)" = affirm
"$top_builddir/journeyctl" -c "$A/jm.conf" stats >"$BASE/stats" 2>&1
check "stats count four outages" \
    grep -q -E '^outages +4, ' "$BASE/stats"

MILTER_PID=$MILTER_A
check "A's daemon stops on SIGTERM" milter_stop
MILTER_PID=$MILTER_B
check "B's daemon stops on SIGTERM" milter_stop
MILTER_PID=$MILTER_C
check "C's daemon stops on SIGTERM" milter_stop

e2e_done
