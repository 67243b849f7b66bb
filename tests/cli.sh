#!/bin/sh
# cli.sh: journey-milter -n and -V, and journeyctl classify, as an
# operator meets them.
#
# A broken configuration, rule or template is reported as file:line:
# message with exit status 1; a clean one exits 0 and prints nothing.
# journeyctl classify says, in its JSON, whether an acknowledgement would
# be sent and why not (a list, a bounce, an auto-reply, a category whose
# replies are off), read back with python3's json module.
. "${top_srcdir:-$(dirname "$0")/..}/tests/e2e/lib.sh"
e2e_init cli
JM="$top_builddir/journey-milter"

mkdir -p "$RUN/rules/replies"
cp "$top_srcdir"/rules/*.rules "$RUN/rules/"
cp "$top_srcdir"/rules/replies/* "$RUN/rules/replies/"
cat >"$RUN/good.conf" <<EOC
socket = inet:8894@127.0.0.1
rules_dir = $RUN/rules
watch_recipients = support@example.com
EOC

"$JM" -n -c "$RUN/good.conf" >"$RUN/out" 2>&1
check "a clean configuration: exit 0" test $? -eq 0
check "a clean configuration: nothing printed" test ! -s "$RUN/out"

cat >"$RUN/bad.conf" <<EOC
# line 1
socket = tcp:8894
rules_dir = $RUN/rules
max_scan_bytes = lots
watch_recipient = support@example.com
EOC
"$JM" -n -c "$RUN/bad.conf" >"$RUN/out" 2>&1
check "a broken configuration: exit 1" test $? -eq 1
check "bad socket reported at line 2" grep -q "^$RUN/bad.conf:2: socket: " "$RUN/out"
check "bad size reported at line 4" grep -q "^$RUN/bad.conf:4: max_scan_bytes: \"lots\" is not a size" "$RUN/out"
check "unknown key reported at line 5" grep -q "^$RUN/bad.conf:5: unknown key \"watch_recipient\"" "$RUN/out"

# A rules file with a broken pattern and an unknown category.
cat >"$RUN/rules/50-local.rules" <<'EOR'
language en
# a comment
rule LOCAL_BROKEN complaint body /(unclosed/i 5
rule LOCAL_UNKNOWN complain body /refund/i 5
EOR
"$JM" -n -c "$RUN/good.conf" >"$RUN/out" 2>&1
check "a broken rule: exit 1" test $? -eq 1
check "broken pattern named by file and line, with PCRE2's message" \
    grep -Eq "^$RUN/rules/50-local.rules:3: .*LOCAL_BROKEN.*offset [0-9]+: missing closing parenthesis" "$RUN/out"
check "unknown category named by file and line" \
    grep -q "^$RUN/rules/50-local.rules:4: .*unknown category \"complain\"" "$RUN/out"
rm "$RUN/rules/50-local.rules"

# A template with an unknown placeholder.
cp "$RUN/rules/replies/praise.en" "$RUN/praise.en.orig"
printf 'Subject: Re: {{subject}} [{{ticket}}]\n\nHello {{custmer_name}}\n' \
    >"$RUN/rules/replies/praise.en"
"$JM" -n -c "$RUN/good.conf" >"$RUN/out" 2>&1
check "a broken template: exit 1" test $? -eq 1
check "unknown placeholder named by file and line" \
    grep -q "^$RUN/rules/replies/praise.en:3: .*custmer_name" "$RUN/out"
cp "$RUN/praise.en.orig" "$RUN/rules/replies/praise.en"

# A category that replies with a template that does not exist.
sed 's/reply praise/reply thanks/' "$top_srcdir/rules/00-categories.rules" \
    >"$RUN/rules/00-categories.rules"
"$JM" -n -c "$RUN/good.conf" >"$RUN/out" 2>&1
check "a missing reply template: exit 1" test $? -eq 1
check "missing template named with the category's file and line" \
    grep -Eq "^$RUN/rules/00-categories.rules:[0-9]+: category praise: no reply template" "$RUN/out"
cp "$top_srcdir/rules/00-categories.rules" "$RUN/rules/"

# journeyctl classify: the acknowledgement and escalation decisions.
cat >"$RUN/classify.conf" <<EOC
rules_dir = $RUN/rules
watch_recipients = support@example.com
ack_from = Support <support@example.com>
EOC
# eml NAME SUBJECT BODY [HEADER...]: a message from a customer to support.
eml() {
	n=$1 subj=$2 body=$3
	shift 3
	{
		echo "From: Ada Lovelace <ada@customer.example>"
		echo "To: Support <support@example.com>"
		echo "Subject: $subj"
		echo "Message-ID: <$n@customer.example>"
		for h in "$@"; do
			echo "$h"
		done
		echo
		echo "$body"
	} >"$RUN/$n.eml"
}
COMPLAINT="I am very disappointed: three weeks and still no refund. This is
not acceptable, please refund me now."
eml complaint "still no refund" "$COMPLAINT"
eml praise "thank you" "Thank you so much, the support was excellent and the
parcel arrived early. Great service, I love it!"
eml cancellation "cancel" "Please cancel my subscription and close my account."
eml list "still no refund" "$COMPLAINT" "List-Id: <deals.lists.customer.example>" \
    "List-Unsubscribe: <mailto:leave@lists.customer.example>"
eml bounce "Undelivered Mail Returned to Sender" "$COMPLAINT" \
    "Return-Path: <>" "Auto-Submitted: auto-replied"
eml autoreply "Out of office: still no refund" "$COMPLAINT" \
    "Auto-Submitted: auto-replied"

# decisions OUT NAME:CATEGORY:SEND:ACK-REASON:ESCALATION-REASON...: checks
# each file's JSON object in OUT; prints one line per mismatch.
cat >"$RUN/decisions.py" <<'EOP'
import json, os, sys
text = open(sys.argv[1]).read()
dec, i, got = json.JSONDecoder(), 0, {}
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i == len(text):
        break
    o, i = dec.raw_decode(text, i)
    got[os.path.basename(o["file"])[:-4]] = o
bad = 0
for want in sys.argv[2:]:
    name, cat, send, reason, esc = want.split(":")
    o = got.get(name)
    if o is None:
        print("%s: not classified" % name); bad += 1; continue
    a, e = o["acknowledgement"], o["escalation"]
    have = (o["category"], a["send"], a["reason"], e["reason"])
    if have != (cat, send == "yes", reason, esc) or \
        type(a["send"]) is not bool or not o["ticket"]:
        print("%s: category %s, acknowledgement send %r reason %s, "
            "escalation %s; want %s" % ((name,) + have + (want,)))
        bad += 1
sys.exit(1 if bad else 0)
EOP
decisions() {
	"$PYTHON3" "$RUN/decisions.py" "$@" >"$RUN/decisions.out" 2>&1
	st=$?
	sed 's/^/# /' "$RUN/decisions.out"
	return $st
}
JC="$top_builddir/journeyctl"
"$JC" -c "$RUN/classify.conf" classify "$RUN/complaint.eml" "$RUN/list.eml" \
    "$RUN/bounce.eml" "$RUN/autoreply.eml" >"$RUN/classify.json" \
    2>"$RUN/classify.err"
check "classify: exit 0, nothing on stderr" \
    sh -c "[ $? -eq 0 ] && [ ! -s '$RUN/classify.err' ]"
check "classify: a complaint answered; a list, a bounce, an auto-reply not" \
    decisions "$RUN/classify.json" \
    complaint:complaint:yes:queued:no-chat-target \
    list:complaint:no:list:automated \
    bounce:complaint:no:null-sender:automated \
    autoreply:complaint:no:auto-submitted:automated

# "reply no" on each shipped category in turn: that category's mail says
# reply-off, the other categories are answered as before.
"$JC" -c "$RUN/classify.conf" classify "$RUN/complaint.eml" \
    "$RUN/praise.eml" "$RUN/cancellation.eml" >"$RUN/classify.json" 2>&1
check "classify: every shipped category is acknowledged" \
    decisions "$RUN/classify.json" \
    complaint:complaint:yes:queued:no-chat-target \
    praise:praise:yes:queued:not-escalated \
    cancellation:cancellation:yes:queued:not-escalated
for c in complaint praise cancellation; do
	sed -E "/^category $c /s/ reply $c( |\$)/ reply no\1/" \
	    "$top_srcdir/rules/00-categories.rules" \
	    >"$RUN/rules/00-categories.rules"
	check "reply no for $c: the shipped category line was changed" \
	    grep -Eq "^category $c .* reply no( |\$)" "$RUN/rules/00-categories.rules"
	"$JM" -n -c "$RUN/classify.conf" >"$RUN/out" 2>&1
	check "reply no for $c: journey-milter -n accepts it" test $? -eq 0
	"$JC" -c "$RUN/classify.conf" classify "$RUN/complaint.eml" \
	    "$RUN/praise.eml" "$RUN/cancellation.eml" >"$RUN/classify.json" 2>&1
	want=
	for k in complaint praise cancellation; do
		esc=not-escalated
		[ "$k" = complaint ] && esc=no-chat-target
		if [ "$k" = "$c" ]; then
			want="$want $k:$k:no:reply-off:$esc"
		else
			want="$want $k:$k:yes:queued:$esc"
		fi
	done
	# shellcheck disable=SC2086
	check "reply no for $c: reply-off for it alone" \
	    decisions "$RUN/classify.json" $want
done
cp "$top_srcdir/rules/00-categories.rules" "$RUN/rules/"

# reply_off in the configuration does the same without touching the rules.
{ cat "$RUN/classify.conf"; echo "reply_off = praise"; } >"$RUN/off.conf"
"$JM" -n -c "$RUN/off.conf" >"$RUN/out" 2>&1
check "reply_off = praise: journey-milter -n accepts it" test $? -eq 0
"$JC" -c "$RUN/off.conf" classify "$RUN/complaint.eml" \
    "$RUN/praise.eml" "$RUN/cancellation.eml" >"$RUN/classify.json" 2>&1
check "reply_off = praise: reply-off for praise alone" \
    decisions "$RUN/classify.json" \
    complaint:complaint:yes:queued:no-chat-target \
    praise:praise:no:reply-off:not-escalated \
    cancellation:cancellation:yes:queued:not-escalated
{ cat "$RUN/classify.conf"; echo "reply_off = praise, complain"; } \
    >"$RUN/off.conf"
"$JM" -n -c "$RUN/off.conf" >"$RUN/out" 2>&1
check "reply_off naming no category: exit 1, the name said" \
    sh -c "[ $? -eq 1 ] && grep -q 'reply_off: unknown category \"complain\"' '$RUN/out'"

# reply_off in the configuration does the same without touching the rules.
{ cat "$RUN/classify.conf"; echo "reply_off = praise"; } >"$RUN/off.conf"
"$JM" -n -c "$RUN/off.conf" >"$RUN/out" 2>&1
check "reply_off = praise: journey-milter -n accepts it" test $? -eq 0
"$JC" -c "$RUN/off.conf" classify "$RUN/complaint.eml" \
    "$RUN/praise.eml" "$RUN/cancellation.eml" >"$RUN/classify.json" 2>&1
check "reply_off = praise: reply-off for praise alone" \
    decisions "$RUN/classify.json" \
    complaint:complaint:yes:queued:no-chat-target \
    praise:praise:no:reply-off:not-escalated \
    cancellation:cancellation:yes:queued:not-escalated
{ cat "$RUN/classify.conf"; echo "reply_off = praise, complain"; } \
    >"$RUN/off.conf"
"$JM" -n -c "$RUN/off.conf" >"$RUN/out" 2>&1
check "reply_off naming no category: exit 1, the name said" \
    sh -c "[ $? -eq 1 ] && grep -q 'reply_off: unknown category \"complain\"' '$RUN/out'"

# Fleet mode over TLS: the files named are loaded, without connecting.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$RUN/redis.key" -out "$RUN/redis.crt" -days 2 -subj /CN=jm-cli \
    >"$RUN/openssl.log" 2>&1
check "openssl made a certificate" test $? -eq 0
echo secret >"$RUN/redis.password"
{
	cat "$RUN/good.conf"
	echo "state = rediss://127.0.0.1:6380/0"
	echo "redis_password_file = $RUN/redis.password"
	echo "redis_tls_ca_file = $RUN/redis.crt"
	echo "redis_tls_cert_file = $RUN/redis.crt"
	echo "redis_tls_key_file = $RUN/redis.key"
} >"$RUN/tls.conf"
"$JM" -n -c "$RUN/tls.conf" >"$RUN/out" 2>&1
check "rediss:// with readable files: exit 0, nothing printed" \
    sh -c "[ $? -eq 0 ] && test ! -s '$RUN/out'"
sed "s|^redis_tls_ca_file = .*|redis_tls_ca_file = $RUN/none.crt|" \
    "$RUN/tls.conf" >"$RUN/tls-ca.conf"
"$JM" -n -c "$RUN/tls-ca.conf" >"$RUN/out" 2>&1
check "a missing CA file: exit 1, named" sh -c "[ $? -eq 1 ] && grep -q \
    '^$RUN/tls-ca.conf: redis_tls_ca_file $RUN/none.crt: No such file' '$RUN/out'"
sed "s|^redis_tls_key_file = .*|redis_tls_key_file = $RUN/redis.password|" \
    "$RUN/tls.conf" >"$RUN/tls-key.conf"
"$JM" -n -c "$RUN/tls-key.conf" >"$RUN/out" 2>&1
check "a key file without a key: exit 1, named" sh -c "[ $? -eq 1 ] && grep -q \
    '^$RUN/tls-key.conf: redis_tls_key_file $RUN/redis.password: ' '$RUN/out'"
check "and the password is not printed" sh -c "! grep -q secret '$RUN/out'"
sed "s|^redis_password_file = .*|redis_password_file = $RUN/none.password|" \
    "$RUN/tls.conf" >"$RUN/tls-pw.conf"
"$JM" -n -c "$RUN/tls-pw.conf" >"$RUN/out" 2>&1
check "a missing password file: exit 1, named" sh -c "[ $? -eq 1 ] && grep -q \
    '^$RUN/tls-pw.conf: redis_password_file $RUN/none.password: No such file' '$RUN/out'"
sed 's|^state = rediss:|state = redis:|' "$RUN/tls.conf" >"$RUN/tls-plain.conf"
"$JM" -n -c "$RUN/tls-plain.conf" >"$RUN/out" 2>&1
check "TLS files with redis://: exit 1, says rediss://" sh -c "[ $? -eq 1 ] && \
    grep -q 'write rediss://' '$RUN/out'"

"$JM" -n -c "$RUN/missing.conf" >"$RUN/out" 2>&1
check "a missing file: exit 1 and says so" \
    sh -c "[ $? -eq 1 ] && grep -q 'missing.conf: cannot open' '$RUN/out'"

"$JM" -V >"$RUN/out" 2>&1
check "-V prints the version" grep -q '^journey-milter [0-9]' "$RUN/out"
"$JM" -x >"$RUN/out" 2>&1
check "an unknown option: usage, exit 2" \
    sh -c "[ $? -eq 2 ] && grep -q '^usage: journey-milter' '$RUN/out'"
e2e_done
