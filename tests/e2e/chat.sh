#!/bin/sh
# chat.sh: escalation of complaints to chat, end to end through Postfix.
#
# Four chat targets on 127.0.0.1: a Slack and a Teams stand-in take
# complaints (Teams cancellations too), a Mattermost one cancellations
# only, with its own username and icon, and a json one every category
# ("*").  A complaint reaches Slack and Teams with a payload of their
# format that names the ticket; praise goes only to the json target; a
# reply in the same thread does not escalate twice; a cancellation goes
# only to the targets that name cancellations, although the rules do not
# mark it escalate; a Slack that answers 429 with Retry-After: 2 gets the
# message again no sooner than 2 s later.  The json target gets, byte
# for byte, the event the CRM webhook (a fifth receiver) gets; that
# receiver also says when a message's rows have been sent, so that
# "nothing was posted" is checked after the fact.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init chat
need_root

MPORT=$(free_port)
SPORT=$(free_port)
recv_start crm "$(free_port)" || bail "the CRM receiver did not start"
recv_start slack "$(free_port)" || bail "the Slack receiver did not start"
recv_start teams "$(free_port)" || bail "the Teams receiver did not start"
recv_start mm "$(free_port)" || bail "the Mattermost receiver did not start"
recv_start bot "$(free_port)" || bail "the json receiver did not start"
milter_conf "$RUN/jm.conf" \
    "socket = inet:127.0.0.1:$MPORT" \
    "watch_recipients = support@example.com" \
    "journey_webhook_url = $(recv_url crm /hooks/journey)" \
    "retry_min_interval = 1s" \
    "chat_target = leads slack $(recv_url slack /services/T000/B000/XXX) complaint" \
    "chat_target = managers teams $(recv_url teams /workflows/abc) complaint,cancellation" \
    "chat_target = retention mattermost $(recv_url mm /hooks/ret) cancellation username=\"Retention desk\" icon_emoji=rotating_light" \
    "chat_target = bot json $(recv_url bot /bot) *" \
    "chat_link_template = https://helpdesk.example.com/tickets/{{ticket}}" \
    "support_name = Example Support"
milter_start "$RUN/jm.conf" "$MPORT" || bail "journey-milter did not start"
pf_start "$SPORT" "inet:127.0.0.1:$MPORT" || bail "postfix did not start"

cat >"$RUN/complaint.eml" <<'EOM'
From: Erin Brooks <erin@customer.example>
To: support@example.com
Subject: Broken blender
Message-ID: <thread-1@customer.example>

Hello,

My blender arrived broken and the jug is cracked. This is unacceptable
and I am very disappointed.

Erin
EOM
cat >"$RUN/praise.eml" <<'EOM'
From: Erin Brooks <erin@customer.example>
To: support@example.com
Subject: Thank you so much
Message-ID: <praise-1@customer.example>

Hi,

The new blender works perfectly. Thank you so much for the quick
replacement, your support team was amazing. I will definitely recommend
you to my friends!
EOM
cat >"$RUN/reply.eml" <<'EOM'
From: Erin Brooks <erin@customer.example>
To: support@example.com
Subject: Re: Broken blender
Message-ID: <thread-2@customer.example>
In-Reply-To: <thread-1@customer.example>
References: <thread-1@customer.example>

It is still broken and nobody has answered. This is unacceptable and I am
very disappointed.
EOM
cat >"$RUN/late.eml" <<'EOM'
From: Frank Ortiz <frank@customer.example>
To: support@example.com
Subject: Order never arrived
Message-ID: <late-1@customer.example>

My order arrived damaged and the box is broken. This is unacceptable and
I am very disappointed.
EOM

cat >"$RUN/cancel.eml" <<'EOM'
From: Frank Ortiz <frank@customer.example>
To: support@example.com
Subject: Cancel my subscription
Message-ID: <cancel-1@customer.example>

Please cancel my subscription and close my account.
EOM

# step N NAME CATEGORY FROM: sends NAME.eml, checks its tag and waits for
# its CRM event, the Nth: its chat rows were claimed with it or before.
step() {
	check "$2: accepted by Postfix" \
	    send "$4" support@example.com "$RUN/$2.eml" 2>/dev/null
	check "$2: delivered" wait_mail example.com "$1" 20
	f=$(mail_with example.com "^Message-ID: <$(sed -n \
	    's/^Message-ID: <\(.*\)>$/\1/p' "$RUN/$2.eml")>")
	cat_hdr=$(header "$f" X-Journey-Category)
	ticket=$(header "$f" X-Journey-Ticket)
	check "$2: X-Journey-Category is $3 (got '$cat_hdr')" \
	    test "$cat_hdr" = "$3"
	[ "$cat_hdr" = "$3" ] || diag "rules: $(header "$f" X-Journey-Rules)"
	check "$2: its CRM event arrives" wait_recv crm "$1" 15 --status 200
}

# --- a complaint: Slack and Teams ------------------------------------------
step 1 complaint complaint erin@customer.example
t1=$ticket
check "complaint: Slack gets one post" wait_recv slack 1 10
check "complaint: Teams gets one post" wait_recv teams 1 10
recv_dump slack
recv_dump teams
check "Slack: POST to the webhook's path" test \
    "$(dumped slack 1 @request)" = "POST /services/T000/B000/XXX"
check "Slack: Content-Type application/json" \
    test "$(dumped slack 1 @h:content-type)" = "application/json"
check "Slack: the body parses as JSON" \
    test "$(awk '$1 == 1' "$RUN/recv-slack.dump" | grep -vc ' @')" -gt 0
check "Slack: not signed like the CRM (no webhook-signature)" \
    test -z "$(dumped slack 1 @h:webhook-signature)"
text=$(dumped slack 1 text)
check "Slack: text names the customer and the ticket ($text)" sh -c \
    "echo '$text' | grep -q 'erin@customer.example' &&
    echo '$text' | grep -q '$t1'"
check "Slack: blocks start with a header" \
    test "$(dumped slack 1 blocks.0.type)" = "header"
check "Slack: a block mentions the ticket $t1" \
    sh -c "awk '\$1 == 1 && \$2 ~ /^blocks\\./' '$RUN/recv-slack.dump' |
    grep -q '$t1'"
check "Slack: a block links the ticket in the helpdesk" \
    sh -c "awk '\$1 == 1 && \$2 ~ /^blocks\\./' '$RUN/recv-slack.dump' |
    grep -q 'https://helpdesk.example.com/tickets/$t1'"
check "Slack: a block quotes the excerpt" \
    sh -c "awk '\$1 == 1 && \$2 ~ /^blocks\\./' '$RUN/recv-slack.dump' |
    grep -q 'jug is cracked'"
check "Teams: a message with an Adaptive Card" test \
    "$(dumped teams 1 type) $(dumped teams 1 attachments.0.contentType)" = \
    "message application/vnd.microsoft.card.adaptive"
check "Teams: the card mentions the ticket $t1" \
    sh -c "awk '\$1 == 1 && \$2 ~ /^attachments\\.0\\.content\\./' \
    '$RUN/recv-teams.dump' | grep -q '$t1'"
check "complaint: the json target (*) gets one post" wait_recv bot 1 10
check "the log: escalate=3 for the complaint" \
    grep -q "customer=<erin@customer.example> category=complaint .*escalate=3 ticket=$t1" \
    "$RUN/milter.log"

# --- praise: only the target that takes every category ----------------------
step 2 praise praise erin@customer.example
check "praise: the json target (*) gets it" wait_recv bot 2 10
sleep 1
check "praise: nothing more posted to Slack" test "$(recv_count slack)" -eq 1
check "praise: nothing more posted to Teams" test "$(recv_count teams)" -eq 1
check "praise: nothing posted to Mattermost" test "$(recv_count mm)" -eq 0
check "the log: escalate=1 for the praise" \
    grep -q "category=praise .*escalate=1 " "$RUN/milter.log"

# --- a reply in the same thread: no second escalation -----------------------
step 3 reply complaint erin@customer.example
sleep 1
check "reply: nothing more posted to Slack" test "$(recv_count slack)" -eq 1
check "reply: nothing more posted to Teams" test "$(recv_count teams)" -eq 1
check "reply: nothing more posted to the json target" \
    test "$(recv_count bot)" -eq 2
check "the log: escalate=no(thread-already-escalated) for the reply" \
    grep -q "category=complaint .*escalate=no(thread-already-escalated)" \
    "$RUN/milter.log"

# --- 429 with Retry-After: 2 ------------------------------------------------
# Teams answers the same complaint 1.9 s late: the outbox looks for due
# rows whenever an attempt ends, so the Slack retry is tested against a
# look at 1.9 s as well as against its idle once-a-second looks.
recv_set slack status=429 retry_after=2 times=1 || bail "Slack stand-in takes no control"
recv_set teams status=200 delay=1.9 times=1 || bail "Teams stand-in takes no control"
step 4 late complaint frank@customer.example
t4=$ticket
check "429: Teams gets the new complaint at once" wait_recv teams 2 10
check "429: Slack is answered 429 once" wait_recv slack 1 10 --status 429
check "429: Slack gets the message after it" wait_recv slack 2 15 --status 200
recv_dump slack
check "429: exactly one 429 and two 200s at Slack in all" test \
    "$(recv_count slack --status 429) $(recv_count slack --status 200)" = "1 2"
check "429: three posts in all: the complaint, the 429, the retry" test \
    "$(awk '$2 == "@request"' "$RUN/recv-slack.dump" | wc -l)" -eq 3
gap=$(awk '$2 == "@time" { t[$1] = $3 } END { printf "%.3f", t[3] - t[2] }' \
    "$RUN/recv-slack.dump")
check "429: the retry came at least 2 s after the 429 (${gap} s)" \
    awk -v g="$gap" 'BEGIN { exit !(g >= 2.0) }'
check "429: ... and not long after (< 6 s)" \
    awk -v g="$gap" 'BEGIN { exit !(g < 6.0) }'
check "429: the retried post is the same message, with ticket $t4" sh -c \
    "test \"\$(awk '\$1 == 2 && \$2 == \"text\"' '$RUN/recv-slack.dump' |
    cut -d' ' -f3-)\" = \"\$(awk '\$1 == 3 && \$2 == \"text\"' \
    '$RUN/recv-slack.dump' | cut -d' ' -f3-)\" &&
    awk '\$1 == 3 && \$2 == \"text\"' '$RUN/recv-slack.dump' | grep -q '$t4'"
check "the log: the 429 is retried" \
    grep -q 'chat http://127.0.0.1:[0-9]*/...: HTTP 429, retry 1 in' \
    "$RUN/milter.log"

# --- a cancellation: only the targets that take cancellations --------------
step 5 cancel cancellation frank@customer.example
t5=$ticket
check "cancellation: Teams (complaint,cancellation) gets it" \
    wait_recv teams 3 10
check "cancellation: Mattermost (cancellation only) gets it" \
    wait_recv mm 1 10
check "cancellation: the json target (*) gets it" wait_recv bot 4 10
sleep 1
check "cancellation: Slack (complaint only) does not" \
    test "$(recv_count slack)" -eq 3
check "the log: escalate=3 for the cancellation" \
    grep -q "category=cancellation .*escalate=3 ticket=$t5" "$RUN/milter.log"
recv_dump teams
check "cancellation: the Teams card names ticket $t5" \
    sh -c "awk '\$1 == 3 && \$2 ~ /^attachments\\.0\\.content\\./' \
    '$RUN/recv-teams.dump' | grep -q '$t5'"
recv_dump mm
check "Mattermost: posted as the target's username" \
    test "$(dumped mm 1 username)" = "Retention desk"
check "Mattermost: with the target's icon_emoji" \
    test "$(dumped mm 1 icon_emoji)" = "rotating_light"
check "Mattermost: the attachment names ticket $t5" \
    test "$(dumped mm 1 attachments.0.title)" = "$t5"
check "Mattermost: no channel override" test -z "$(dumped mm 1 channel)"

# --- json: the CRM event, byte for byte -------------------------------------
# Each post to the json target is the body of the CRM event with the same
# id, unsigned.
check "json: each post is the CRM event of the same id, byte for byte" \
    "$PYTHON3" - "$RUN/recv-crm.jsonl" "$RUN/recv-bot.jsonl" <<'EOP'
import base64, json, sys
def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]
crm = {}
for r in load(sys.argv[1]):
    if r["status"] == 200:
        body = base64.b64decode(r["body_b64"])
        crm[json.loads(body)["id"]] = body
bot = load(sys.argv[2])
ok = len(bot) == 4
for r in bot:
    body = base64.b64decode(r["body_b64"])
    doc = json.loads(body)
    if crm.get(doc.get("id")) != body:
        print("# json post %s is not the CRM event" % doc.get("id"))
        ok = False
    if any(k.lower().startswith("webhook-") for k, _ in r["headers"]):
        print("# json post %s is signed" % doc.get("id"))
        ok = False
cats = [json.loads(base64.b64decode(r["body_b64"]))["classification"]
        ["category"] for r in bot]
if cats != ["complaint", "praise", "complaint", "cancellation"]:
    print("# json posts: %s" % cats)
    ok = False
sys.exit(0 if ok else 1)
EOP

e2e_done
