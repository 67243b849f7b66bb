#!/bin/sh
# faults.sh: the outbox when the CRM misbehaves, end to end through Postfix.
#
# (a) a receiver that answers 503 a few times gets every event, each
#     delivered once, retried under the same webhook-id and body;
# (b) a daemon killed with SIGKILL while events wait for a 503ing receiver
#     loses none of them: after a restart they all arrive;
# (c) 500 messages sent while the receiver refuses connections are all
#     delivered by Postfix at once, and all 500 events arrive once the
#     receiver is back;
# (d) a receiver answering 400 dead-letters the event at once, and
#     journeyctl queue shows it with its reason;
# (e) journeyctl retry --dead sends it again, and it arrives.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init faults
need_root

MPORT=$(free_port)
SPORT=$(free_port)
"$PYTHON3" -c 'import base64, os
print("whsec_" + base64.b64encode(os.urandom(32)).decode())' \
    >"$RUN/webhook.secret"

jctl() {
	"$top_builddir/journeyctl" -c "$RUN/jm.conf" "$@"
}

# daemon URL [RETRY_MIN]: (re)starts the daemon with its webhook at URL
# and retry_min_interval RETRY_MIN (1s).
daemon() {
	milter_stop >/dev/null
	milter_conf "$RUN/jm.conf" \
	    "socket = inet:127.0.0.1:$MPORT" \
	    "watch_recipients = support@example.com" \
	    "journey_webhook_url = $1" \
	    "journey_webhook_secret_file = $RUN/webhook.secret" \
	    "webhook_timeout = 5s" \
	    "retry_min_interval = ${2:-1s}"
	milter_start "$RUN/jm.conf" "$MPORT"
}

# complaint FILE NAME ID: a message the shipped rules call a complaint.
complaint() {
	cat >"$1" <<EOM
From: $2 <$2@customer.example>
To: support@example.com
Subject: Parcel arrived damaged
Message-ID: <$3@customer.example>

Hello,

My order arrived damaged and the lid is broken. This is unacceptable and
I am very disappointed.
EOM
}

# send_complaints N PREFIX: N complaints from PREFIX1.. PREFIXN, one each.
send_complaints() {
	sc_i=1
	sc_ok=0
	while [ $sc_i -le "$1" ]; do
		complaint "$RUN/$2$sc_i.eml" "$2$sc_i" "$2-$sc_i"
		send "$2$sc_i@customer.example" support@example.com \
		    "$RUN/$2$sc_i.eml" 2>/dev/null && sc_ok=$((sc_ok + 1))
		sc_i=$((sc_i + 1))
	done
	[ $sc_ok -eq "$1" ]
}

# queue_has PATTERN: journeyctl queue's output matches PATTERN (ERE).
queue_has() {
	jctl queue >"$RUN/queue.txt" 2>&1 && grep -Eq -- "$1" "$RUN/queue.txt"
}

# all_tried N: journeyctl queue lists N pending rows, each tried at least
# once and failed with a connection error.
all_tried() {
	jctl queue >"$RUN/queue.txt" 2>&1 || return 1
	[ "$(awk '$3 == "pending" && $4 >= 1' "$RUN/queue.txt" | wc -l)" -eq "$1" ] &&
	    [ "$(grep -Eci "^ +.*(connect|refused)" "$RUN/queue.txt")" -eq "$1" ]
}

# Every webhook-id that got a 200 got it once, every id was tried with
# the same body each time, and ids that failed are among those delivered.
# ids_ok NAME COUNT
ids_ok() {
	recv_q "$1" attempts >"$RUN/attempts-$1.txt" || return 1
	awk -v want="$2" '
		{ n++ }
		$5 != "same" { bad = bad " " $1 ":bodies-differ" }
		{ k = split($3, st, ","); ok = 0
		  for (i = 1; i <= k; i++) if (st[i] == 200) ok++
		  if (ok != 1) bad = bad " " $1 ":" ok "-deliveries"
		  if (st[k] != 200) bad = bad " " $1 ":last-not-200" }
		END { if (n != want) bad = bad " " n "-ids-not-" want
		      if (bad != "") { print "#" bad; exit 1 } }
	' "$RUN/attempts-$1.txt"
}

# --- (a) 503 three times, then 200 -----------------------------------------
APORT=$(free_port)
recv_start a "$APORT" || bail "receiver a did not start"
recv_set a status=503 times=3 || bail "receiver a takes no control"
daemon "$(recv_url a /hooks/a)" || bail "journey-milter did not start"
pf_start "$SPORT" "inet:127.0.0.1:$MPORT" || bail "postfix did not start"

check "(a) 2 complaints accepted by Postfix" send_complaints 2 alice
check "(a) both delivered to the mailbox" wait_mail example.com 2 20
check "(a) both events delivered (200) despite 3 answers of 503" \
    wait_recv a 2 20 --status 200
check "(a) the receiver answered 503 exactly 3 times" \
    test "$(recv_count a --status 503)" -eq 3
check "(a) each event delivered once, retried with its webhook-id and body" \
    ids_ok a 2
sed 's/^/#   /' "$RUN/attempts-a.txt"
gap=$(awk '$4 != "-" { print $4 }' "$RUN/attempts-a.txt" | sort -n | head -n 1)
check "(a) retries waited for retry_min_interval less jitter (>= 0.75 s: $gap)" \
    awk -v g="${gap:-0}" 'BEGIN { exit !(g >= 0.75) }'
bad=$(recv_q a verify "$RUN/webhook.secret")
check "(a) every attempt is signed, retries with their own timestamp" \
    test $? -eq 0
[ -z "$bad" ] || diag "$bad"
recv_stop a

# --- (b) SIGKILL while events are pending ----------------------------------
BPORT=$(free_port)
recv_start b "$BPORT" || bail "receiver b did not start"
recv_set b status=503 || bail "receiver b takes no control"
# Retries 5 s apart: the kill falls between attempts, not in one, so that
# the rows are not held by a claim's lease for webhook_timeout + 30 s.
daemon "$(recv_url b /hooks/b)" 5s ||
    bail "journey-milter did not start"
check "(b) 3 complaints accepted by Postfix" send_complaints 3 bob
check "(b) all 3 delivered to the mailbox" wait_mail example.com 5 20
check "(b) each event tried once and answered 503" \
    wait_recv b 3 10 --status 503
check "(b) journeyctl queue: 3 webhook rows pending with HTTP 503" \
    wait_for 5 sh -c "'$top_builddir/journeyctl' -c '$RUN/jm.conf' queue |
    grep -c '^ *HTTP 503' | grep -qx 3"
kill -KILL "$MILTER_PID"
wait "$MILTER_PID" 2>/dev/null
MILTER_PID=
check "(b) journeyctl queue after SIGKILL: still 3 rows" \
    queue_has '^3 rows$'
sed 's/^/#   /' "$RUN/queue.txt"
recv_set b status=200
check "(b) the daemon restarts on the same store" \
    daemon "$(recv_url b /hooks/b)" 5s
check "(b) all 3 events arrive after the restart" \
    wait_recv b 3 20 --status 200
check "(b) each delivered once, with the webhook-id of its first attempt" \
    ids_ok b 3
sed 's/^/#   /' "$RUN/attempts-b.txt"
check "(b) journeyctl queue: nothing left" queue_has '^0 rows$'
recv_stop b

# --- (d) 400: dead at once ---------------------------------------------------
DPORT=$(free_port)
recv_start d "$DPORT" || bail "receiver d did not start"
recv_set d status=400 || bail "receiver d takes no control"
daemon "$(recv_url d /hooks/d)" || bail "journey-milter did not start"
check "(d) a complaint accepted by Postfix" send_complaints 1 dora
check "(d) delivered to the mailbox" wait_mail example.com 6 20
check "(d) the event is tried and answered 400" wait_recv d 1 10 --status 400
check "(d) journeyctl queue shows it dead with its reason" \
    wait_for 5 queue_has '^[0-9]+ +webhook +dead +1 .*/hooks/d$'
sed 's/^/#   /' "$RUN/queue.txt"
check "(d) ... and the reason is HTTP 400" queue_has '^ +HTTP 400$'
check "(d) the log names the row and says how to requeue it" \
    grep -q 'HTTP 400, dead-lettered .*journeyctl retry' "$RUN/milter.log"
sleep 2
check "(d) no second attempt (retrying cannot help)" \
    test "$(recv_count d)" -eq 1

# --- (e) journeyctl retry --dead ---------------------------------------------
recv_set d status=200
check "(e) journeyctl retry --dead requeues 1 row" \
    sh -c "'$top_builddir/journeyctl' -c '$RUN/jm.conf' retry --dead |
    grep -qx 'requeued 1 row'"
check "(e) the event arrives" wait_recv d 1 10 --status 200
check "(e) with the webhook-id and body it was dead-lettered with" ids_ok d 1
check "(e) signed" recv_q d verify "$RUN/webhook.secret"
check "(e) journeyctl queue: nothing left" queue_has '^0 rows$'
recv_stop d

# --- (c) 500 messages while the receiver refuses connections -----------------
N=500
CPORT=$(free_port)
echo "$CPORT" >"$RUN/recv-c.port"
daemon "$(recv_url c /hooks/c)" || bail "journey-milter did not start"
before=$(mail_count example.com)
complaint "$RUN/bulk.eml" bulk bulk
t0=$(date +%s)
check "(c) smtp-source sends $N complaints over 10 sessions" \
    smtp-source -d -s 10 -m $N -F "$RUN/bulk.eml" \
    -f bulk@customer.example -t support@example.com "127.0.0.1:$SPORT"
check "(c) Postfix delivers all $N within 120 s" \
    wait_mail example.com $((before + N)) 120
t1=$(date +%s)
diag "(c) $N messages sent and delivered in $((t1 - t0)) s"
tagged=$(grep -l '^X-Journey-Category: complaint' \
    "$(mailbox example.com)"/* | xargs grep -l '^From: bulk ' | wc -l)
check "(c) all $N tagged complaint by the milter ($tagged)" test "$tagged" -eq $N
check "(c) every one of the $N events has been tried and refused" \
    wait_for 30 all_tried $N
awk '$2 == "webhook" { print $4 }' "$RUN/queue.txt" | sort | uniq -c |
    sed 's/^/#   attempts so far: /'
grep -m 1 '/hooks/c: .*retry' "$RUN/milter.log" | sed 's/^/#   /'
recv_start c "$CPORT" || bail "receiver c did not start"
t2=$(date +%s)
check "(c) all $N events arrive once the receiver is back (within 90 s)" \
    wait_recv c $N 90 --status 200
diag "(c) $(recv_count c --status 200) events delivered $(($(date +%s) - t2)) s after the receiver came back"
check "(c) $N distinct events, each delivered once" ids_ok c $N
check "(c) all signed" recv_q c verify "$RUN/webhook.secret"
check "(c) journeyctl queue: nothing left" queue_has '^0 rows$'
jctl stats | sed 's/^/#   /'

e2e_done
