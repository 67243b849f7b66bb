#!/bin/sh
# reload.sh: SIGHUP re-reads the configuration, the rules and the reply
# templates, all or nothing.
#
# A message is held open (envelope, headers and body sent, end-of-message
# not yet) while the rules change under it: it finishes with the policy it
# started with, and the next message gets the new one.  A broken rule file
# and a broken template each leave the running policy in place and are
# logged as "file:line: message".  The rules are a private copy in the run
# directory; no Postfix is needed, the milter protocol client plays it.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init reload

MPORT=$(free_port)
cp -R "$top_srcdir/rules" "$RUN/rules"
chmod -R u+w "$RUN/rules"
milter_conf "$RUN/jm.tmp" \
    "socket = inet:$MPORT@127.0.0.1" \
    "watch_recipients = support@example.com"
sed "s|^rules_dir = .*|rules_dir = $RUN/rules|" "$RUN/jm.tmp" >"$RUN/jm.conf"
milter_start "$RUN/jm.conf" "$MPORT" || bail "journey-milter did not start"

client() {
	"$PYTHON3" "$top_srcdir/tests/e2e/milterclient.py" 127.0.0.1 "$MPORT" "$@"
}

# session NAME RCPT: one message about a zebrafish to RCPT; prints its result.
session() {
	cat >"$RUN/$1.json" <<EOS
[{"do": "message", "qid": "$(echo "$1" | tr a-z A-Z)", "from": "ann@customer.example",
  "rcpt": ["$2"],
  "headers": [["From", "Ann <ann@customer.example>"], ["To", "$2"],
              ["Subject", "About the fish"],
              ["Message-ID", "<$1@customer.example>"]],
  "body": "The zebrafish arrived today, all of them healthy.\r\n"}]
EOS
	client session "$RUN/$1.json" 2>"$RUN/$1.err"
}

# category OUTPUT: the X-Journey-Category a session's result line added.
category() {
	echo "$1" | sed -n 's/.*"add X-Journey-Category: \([^"]*\)".*/\1/p'
}

reloads() {
	grep -c "reloaded $RUN/jm.conf" "$RUN/milter.log"
}

failed_reloads() {
	grep -c "reload failed: keeping the running configuration" "$RUN/milter.log"
}

outcomes_ge() {
	[ $(($(reloads) + $(failed_reloads))) -ge "$1" ]
}

# hup N: sends SIGHUP and waits until the log shows N reload outcomes.
hup() {
	kill -HUP "$MILTER_PID"
	wait_for 10 outcomes_ge "$1"
}

out=$(session before support@example.com)
check "before the reload, the zebrafish message is \"none\" ($(category "$out"))" \
    test "$(category "$out")" = none
out=$(session help-before help@example.com)
check "help@example.com is not watched yet" \
    sh -c "echo '$out' | grep -q '\"mods\": \\[\\]'"

# Message A is held open across the reload.
cat >"$RUN/held.json" <<EOS
[{"do": "start", "qid": "HELD1", "from": "bob@customer.example",
  "rcpt": ["support@example.com"],
  "headers": [["From", "Bob <bob@customer.example>"],
              ["To", "support@example.com"], ["Subject", "Fish"],
              ["Message-ID", "<held@customer.example>"]],
  "body": "One zebrafish is missing a stripe.\r\n"},
 {"do": "signal", "path": "$RUN/held.started"},
 {"do": "wait", "path": "$RUN/held.go", "timeout": 30},
 {"do": "finish"}]
EOS
client session "$RUN/held.json" >"$RUN/held.out" 2>"$RUN/held.err" &
held=$!
BG_PIDS="$BG_PIDS $held"
check "a message is in flight (MAIL FROM to body sent)" \
    wait_for 10 test -e "$RUN/held.started"

# A good change: a new category and rule, and a new watched address.
cat >"$RUN/rules/50-local.rules" <<'EOR'
# 50-local.rules: written by reload.sh
category kudos threshold 4 precedence 15 journey none reply no
language en
rule LOCAL_EN_ZEBRA kudos text /\bzebrafish\b/i 4
EOR
sed 's/^watch_recipients = .*/watch_recipients = support@example.com, help@example.com/' \
    "$RUN/jm.conf" >"$RUN/jm.new" && mv "$RUN/jm.new" "$RUN/jm.conf"
check "SIGHUP with good rules: reloaded" hup 1
check "the log says so" test "$(reloads)" -eq 1

touch "$RUN/held.go"
wait "$held"
held_rc=$?
check "the message in flight finishes" test "$held_rc" -eq 0
out=$(cat "$RUN/held.out")
check "and keeps the policy it started with (\"$(category "$out")\", not kudos)" \
    test "$(category "$out")" = none
[ "$held_rc" -eq 0 ] || sed 's/^/#   /' "$RUN/held.err"

out=$(session after support@example.com)
check "a new message gets the new rules ($(category "$out"))" \
    test "$(category "$out")" = kudos
check "and the new rule is named in X-Journey-Rules" \
    sh -c "echo '$out' | grep -q 'X-Journey-Rules: LOCAL_EN_ZEBRA'"
out=$(session help-after help@example.com)
check "the new configuration is in effect: help@example.com is watched ($(category "$out"))" \
    test "$(category "$out")" = kudos

# A broken rule: the reload fails, names file and line, the policy stays.
echo 'rule LOCAL_EN_BROKEN kudos text /(unclosed/i 4' >>"$RUN/rules/50-local.rules"
check "SIGHUP with a broken rule: handled" hup 2
check "the reload failed" test "$(failed_reloads)" -eq 1
check "the log names file and line" \
    grep -q "$RUN/rules/50-local.rules:5: rule LOCAL_EN_BROKEN: pattern error" "$RUN/milter.log"
out=$(session broken-rules support@example.com)
check "the running policy is kept ($(category "$out"))" \
    test "$(category "$out")" = kudos

# A broken template: the same.
sed -i '/LOCAL_EN_BROKEN/d' "$RUN/rules/50-local.rules"
printf 'Subject: Re: {{subject}} [{{ticket}}]\n\n{{#customer_name}}Hello\n' \
    >"$RUN/rules/replies/praise.en"
check "SIGHUP with a broken template: handled" hup 3
check "the reload failed" test "$(failed_reloads)" -eq 2
check "the log names the template and line" \
    grep -q "$RUN/rules/replies/praise.en:3: \"{{#customer_name}}\" is never closed" "$RUN/milter.log"
out=$(session broken-template support@example.com)
check "the running policy is kept ($(category "$out"))" \
    test "$(category "$out")" = kudos

# Repaired, and the category taken out again: back to "none".
cp "$top_srcdir/rules/replies/praise.en" "$RUN/rules/replies/praise.en"
rm "$RUN/rules/50-local.rules"
check "SIGHUP with the files repaired: reloaded" hup 4
check "the log says so" test "$(reloads)" -eq 2
out=$(session repaired support@example.com)
check "the rule is gone again ($(category "$out"))" \
    test "$(category "$out")" = none

check "the daemon ran throughout" kill -0 "$MILTER_PID"
check "daemon stops on SIGTERM" milter_stop
check "clean exit" test "${MILTER_STATUS:-1}" -eq 0

e2e_done
