#!/bin/sh
# ackloop.sh: two auto-responders that write to each other do not loop.
#
# Two sites, each a private Postfix with its own journey-milter: A (the
# support desk of example.com, watching support@example.com) and B (the
# help desk of customer.example, watching help@customer.example).  Each
# routes the other's domain to the other's Postfix over 127.0.0.1, and
# each acknowledges every message it sees (a catch-all category on top of
# the shipped rules), from a real, non-null envelope sender, so that only
# the RFC 3834 marks can stop a loop.  An auto-reply from B is not
# answered by A; a complaint from B is answered once by A, and B does not
# answer that answer: at most one message each way.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init ackloop
need_root

BASE=$RUN
A=$BASE/a
B=$BASE/b
mkdir -p "$A" "$B"
chmod 755 "$A" "$B"

# Four distinct ports.
PORTS=
while [ "$(echo $PORTS | wc -w)" -lt 4 ]; do
	p=$(free_port)
	case " $PORTS " in *" $p "*) ;; *) PORTS="$PORTS $p" ;; esac
done
set -- $PORTS
MPORT_A=$1 SPORT_A=$2 MPORT_B=$3 SPORT_B=$4

# instance DIR SMTP_PORT: the instance the next commands talk about.
instance() {
	RUN=$1
	PF_PORT=$2
}

# site DIR MPORT SPORT DOMAIN SUPPORT "NAME" OTHER_DOMAIN OTHER_SPORT
site() {
	instance "$1" "$3"
	cp -R "$top_srcdir/rules" "$1/rules"
	chmod -R u+w "$1/rules"
	# An acknowledgement for every message: a help desk that opens a
	# ticket for anything it receives, the worst case for loops.
	cat >"$1/rules/90-local.rules" <<'EOR'
category ticket threshold 1 precedence -100 journey none reply complaint
language en
rule LOCAL_ANY ticket text /\S/ 1
EOR
	milter_conf "$1/jm.conf" \
	    "socket = inet:127.0.0.1:$2" \
	    "rules_dir = $1/rules" \
	    "watch_recipients = $5" \
	    "ack_smtp_url = smtp://127.0.0.1:$3" \
	    "ack_from = $6 <$5>" \
	    "ack_envelope_sender = $5" \
	    "retry_min_interval = 1s"
	echo "$7 smtp:[127.0.0.1]:$8" >"$1/transport"
	milter_start "$1/jm.conf" "$2" || bail "journey-milter of $4 did not start"
	pf_start -d "$4" "$3" "inet:127.0.0.1:$2" \
	    "myhostname = mx.$4" \
	    "transport_maps = texthash:$1/transport" ||
	    bail "postfix of $4 did not start"
}

site "$A" "$MPORT_A" "$SPORT_A" example.com support@example.com \
    "Example Support" customer.example "$SPORT_B"
MILTER_A=$MILTER_PID
site "$B" "$MPORT_B" "$SPORT_B" customer.example help@customer.example \
    "Customer Help Desk" example.com "$SPORT_A"

# count DIR DOMAIN: messages delivered to DOMAIN by the instance in DIR.
count() {
	find "$1/postfix/mail/$2/new" -type f 2>/dev/null | wc -l
}

# at_least DIR DOMAIN N: whether DOMAIN in DIR has N messages or more.
at_least() {
	[ "$(count "$1" "$2")" -ge "$3" ]
}

queues_empty() {
	(instance "$A" "$SPORT_A"; PF_DIR=$A/postfix; pf_queue_empty) &&
	    (instance "$B" "$SPORT_B"; PF_DIR=$B/postfix; pf_queue_empty)
}

cat >"$BASE/autoreply.eml" <<'EOM'
From: Customer Help Desk <help@customer.example>
To: support@example.com
Subject: Automatic reply: Invoice 2026-118 is wrong
Message-ID: <auto-1@customer.example>
Date: Mon, 23 Nov 2026 09:00:00 +0000
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8

Thank you for writing to the Customer Help Desk.  We have received your
message and opened request 55120; we will answer within two business
days.
EOM
cat >"$BASE/complaint.eml" <<'EOM'
From: Customer Help Desk <help@customer.example>
To: support@example.com
Subject: Third wrong invoice this month
Message-ID: <complaint-1@customer.example>
Date: Mon, 23 Nov 2026 09:05:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8

Hello,

this is the third wrong invoice this month and nobody has answered our
emails.  This is unacceptable and we are very disappointed.

Customer Help Desk
EOM

# 1. The first message is itself an auto-reply: A does not answer it.
instance "$B" "$SPORT_B"
check "B's Postfix accepts an auto-reply from B for A" \
    send help@customer.example support@example.com "$BASE/autoreply.eml"
check "delivered to A" wait_for 20 at_least "$A" example.com 1
# It thanks: praise, or the catch-all; either would be acknowledged.
check "A classified it" \
    wait_for 5 grep -Eq "from=<help@customer.example> .*category=(praise|ticket) " \
    "$A/milter.log"
check "A logged ack=auto-submitted" \
    grep -Eq "from=<help@customer.example> .*ack=auto-submitted " \
    "$A/milter.log"
sleep 3
check "both queues empty" queues_empty
check "no answer reached B (3 s later)" test "$(count "$B" customer.example)" -eq 0

# 2. A complaint from B: A answers once, B does not answer the answer.
check "B's Postfix accepts a complaint from B for A" \
    send help@customer.example support@example.com "$BASE/complaint.eml"
check "delivered to A" wait_for 20 at_least "$A" example.com 2
check "A's answer reaches B through B's Postfix" \
    wait_for 10 at_least "$B" customer.example 1
check "A logged ack=queued" \
    grep -Eq "from=<help@customer.example> .*category=complaint .*ack=queued " \
    "$A/milter.log"
check "B classified the answer into a category that is acknowledged" \
    wait_for 5 grep -Eq "from=<support@example.com> .*category=(complaint|praise|ticket) " \
    "$B/milter.log"
check "B logged ack=auto-submitted for it" \
    grep -Eq "from=<support@example.com> .*ack=auto-submitted " "$B/milter.log"
f=$(grep -l '^In-Reply-To: <complaint-1@customer.example>' \
    "$B/postfix/mail/customer.example/new"/* 2>/dev/null | head -n 1)
check "the answer is threaded to the complaint" test -n "$f"
check "the answer was relayed by A's Postfix" \
    grep -q "by mx.example.com" "$f"
check "the answer's envelope sender is support@example.com" \
    test "$(header "$f" Return-Path)" = "<support@example.com>"
check "B tagged the answer" test -n "$(header "$f" X-Journey-Category)"

# Anything more would come within a second or two.
sleep 5
check "both queues empty" queues_empty
check "A received exactly two messages (the auto-reply and the complaint)" \
    test "$(count "$A" example.com)" -eq 2
check "B received exactly one message (the answer)" \
    test "$(count "$B" customer.example)" -eq 1
check "A queued one acknowledgement" \
    test "$(grep -c 'ack=queued' "$A/milter.log")" -eq 1
check "B queued none" test "$(grep -c 'ack=queued' "$B/milter.log")" -eq 0
check "A's outbox delivered one" \
    test "$(grep -c 'outbox .*: delivered' "$A/milter.log")" -eq 1
check "B's outbox sent nothing" \
    test "$(grep -c 'outbox ' "$B/milter.log")" -eq 0

check "B's daemon stops on SIGTERM" milter_stop
check "with status 0" test "${MILTER_STATUS:-1}" -eq 0
MILTER_PID=$MILTER_A
check "A's daemon stops on SIGTERM" milter_stop
check "with status 0" test "${MILTER_STATUS:-1}" -eq 0

e2e_done
