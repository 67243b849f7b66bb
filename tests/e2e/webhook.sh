#!/bin/sh
# webhook.sh: the CRM webhook, end to end through Postfix.
#
# One customer writes a complaint, then praise, then asks to cancel.  Each
# message is tagged by the milter, and each reaches a local HTTP receiver
# as a journey.updated event signed per Standard Webhooks, with the stage
# before and after: assess -> assess (at risk) -> admit -> exited.  The
# receiver only records; the signatures and fields are checked here.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init webhook
need_root

MPORT=$(free_port)
SPORT=$(free_port)
HPORT=$(free_port)
recv_start crm "$HPORT" || bail "the HTTP receiver did not start"
"$PYTHON3" -c 'import base64, os
print("whsec_" + base64.b64encode(os.urandom(32)).decode())' \
    >"$RUN/webhook.secret"
milter_conf "$RUN/jm.conf" \
    "socket = inet:127.0.0.1:$MPORT" \
    "watch_recipients = support@example.com" \
    "journey_webhook_url = $(recv_url crm /hooks/journey)" \
    "journey_webhook_secret_file = $RUN/webhook.secret" \
    "retry_min_interval = 1s"
milter_start "$RUN/jm.conf" "$MPORT" || bail "journey-milter did not start"
pf_start "$SPORT" "inet:127.0.0.1:$MPORT" || bail "postfix did not start"

jctl() {
	"$top_builddir/journeyctl" -c "$RUN/jm.conf" "$@"
}

cat >"$RUN/complaint.eml" <<'EOM'
From: Dana Whitfield <Dana@Customer.Example>
To: support@example.com
Subject: My order arrived damaged
Message-ID: <complaint-1@customer.example>
Date: Tue, 24 Nov 2026 09:00:00 +0000

Hello,

My order 5521 arrived damaged and the screen is broken. This is
unacceptable and I am very disappointed.

Dana
EOM
cat >"$RUN/praise.eml" <<'EOM'
From: Dana Whitfield <dana@customer.example>
To: support@example.com
Subject: Thank you so much
Message-ID: <praise-1@customer.example>
Date: Wed, 25 Nov 2026 09:00:00 +0000

Hi,

The replacement came today and it works perfectly. Thank you so much for
the quick replacement, your support team was amazing. I will definitely
recommend you to my friends!

Dana
EOM
cat >"$RUN/cancellation.eml" <<'EOM'
From: Dana Whitfield <dana@customer.example>
To: support@example.com
Subject: Cancel my subscription
Message-ID: <cancel-1@customer.example>
Date: Thu, 26 Nov 2026 09:00:00 +0000

Hello,

Please cancel my subscription and close my account.

Dana
EOM

# step N NAME CATEGORY: sends NAME.eml, checks its tag, waits for event N.
step() {
	check "$2: accepted by Postfix" \
	    send dana@customer.example support@example.com "$RUN/$2.eml"
	check "$2: delivered" wait_mail example.com "$1" 20
	f=$(mail_with example.com "^Subject: $(sed -n 's/^Subject: //p' \
	    "$RUN/$2.eml")")
	cat_hdr=$(header "$f" X-Journey-Category)
	check "$2: X-Journey-Category is $3 (got '$cat_hdr')" \
	    test "$cat_hdr" = "$3"
	[ "$cat_hdr" = "$3" ] || diag "rules: $(header "$f" X-Journey-Rules)"
	check "$2: event $1 reaches the receiver" \
	    wait_recv crm "$1" 15 --status 200
}

# field N NAME WANT: a field of the Nth delivered event.
field() {
	got=$(dumped crm "$1" "$2")
	check "event $1: $2 = $3 (got '$got')" test "$got" = "$3"
}

step 1 complaint complaint
step 2 praise praise
step 3 cancellation cancellation

recv_dump crm
check "exactly 3 requests, all answered 200" \
    test "$(grep -c ' @request ' "$RUN/recv-crm.dump")" -eq 3 -a \
    "$(recv_count crm --status 200)" -eq 3
bad=$(recv_q crm verify "$RUN/webhook.secret")
check "every signature verifies, webhook-id = JSON id, fresh timestamp" \
    test $? -eq 0
[ -z "$bad" ] || diag "$bad"
echo "whsec_$(echo wrong-secret-wrong | base64)" >"$RUN/wrong.secret"
check "a wrong secret does not verify (the check can fail)" \
    test -n "$(recv_q crm verify "$RUN/wrong.secret")"
ids=$(awk '$2 == "@h:webhook-id" { print $3 }' "$RUN/recv-crm.dump")
check "three distinct webhook-ids evt_<ULID>" \
    test "$(echo "$ids" | sort -u | grep -c '^evt_[0-9A-HJKMNP-TV-Z]\{26\}$')" -eq 3

recv_dump crm --status 200
for n in 1 2 3; do
	field $n @request "POST /hooks/journey"
	field $n @h:content-type application/json
	field $n type journey.updated
	field $n customer.email dana@customer.example
	field $n classification.language en
	at=$(dumped crm $n occurred_at)
	check "event $n: occurred_at is UTC ISO 8601 ($at)" sh -c \
	    "echo '$at' | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'"
done

field 1 message.message_id "<complaint-1@customer.example>"
field 1 classification.category complaint
field 1 journey.previous.stage assess
field 1 journey.previous.at_risk false
field 1 journey.current.stage assess
field 1 journey.current.at_risk true

field 2 message.message_id "<praise-1@customer.example>"
field 2 classification.category praise
field 2 journey.previous.stage assess
field 2 journey.previous.at_risk true
field 2 journey.current.stage admit
field 2 journey.current.at_risk false

field 3 message.message_id "<cancel-1@customer.example>"
field 3 classification.category cancellation
field 3 journey.previous.stage admit
field 3 journey.previous.at_risk false
field 3 journey.current.stage exited
field 3 journey.current.at_risk false

t1=$(dumped crm 1 message.ticket)
f=$(mail_with example.com 'complaint-1@customer.example')
check "event 1: message.ticket is the X-Journey-Ticket ($t1)" \
    test "$t1" = "$(header "$f" X-Journey-Ticket)"

jctl customer Dana@Customer.Example >"$RUN/customer.txt" 2>&1
check "journeyctl customer succeeds" test $? -eq 0
sed 's/^/#   /' "$RUN/customer.txt"
check "journeyctl customer: stage exited" \
    grep -Eq '^stage +exited$' "$RUN/customer.txt"
check "journeyctl customer: 3 events" \
    grep -Eq '^history +3 events' "$RUN/customer.txt"
# The history, newest first, without times and tickets.
sed -n 's/^  [0-9-]* [0-9:]*  *//p' "$RUN/customer.txt" |
    sed 's/  *JM-[A-Z2-7]\{8\} / /; s/  */ /g' >"$RUN/history.txt"
cat >"$RUN/history.want" <<'EOH'
cancellation admit -> exited <cancel-1@customer.example>
praise assess (at risk) -> admit <praise-1@customer.example>
complaint assess -> assess (at risk) <complaint-1@customer.example>
EOH
check "journeyctl customer: the three transitions, newest first" \
    cmp -s "$RUN/history.txt" "$RUN/history.want"
cmp -s "$RUN/history.txt" "$RUN/history.want" ||
    diff "$RUN/history.want" "$RUN/history.txt" | sed 's/^/# /'

e2e_done
