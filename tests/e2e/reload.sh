#!/bin/sh
# reload.sh: SIGHUP re-reads the configuration, the rules and the reply
# templates, all or nothing.
#
# A message is held open (envelope, headers and body sent, end-of-message
# not yet) while the rules change under it: it finishes with the policy it
# started with, and the next message gets the new one.  A broken rule
# file, a broken template and a broken journey-milter.conf each leave the
# running policy in place and are logged as "file:line: message"; a good
# change in one file beside a broken other is not applied either.  A
# daemon started without -f, with a relative -c path, reloads too (it has
# changed to "/" by then), stops on SIGINT, and removes the pid file it
# wrote even when a reload named another.  The rules are a private copy
# in the run directory; no Postfix is needed, the milter protocol client
# plays it.
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

# The daemon names its configuration by its absolute path, symbolic
# links resolved.
CONF=$(cd "$RUN" && pwd -P)/jm.conf

reloads() {
	grep -c "reloaded $CONF\$" "$RUN/milter.log"
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

# A broken journey-milter.conf beside a good new rule file: neither is
# taken, and the configuration's line is named.
cat >"$RUN/rules/50-local.rules" <<'EOR'
# 50-local.rules: written by reload.sh
category kudos threshold 4 precedence 15 journey none reply no
language en
rule LOCAL_EN_ZEBRA kudos text /\bzebrafish\b/i 4
EOR
cp "$RUN/jm.conf" "$RUN/jm.good"
echo "max_headers = lots" >>"$RUN/jm.conf"
n=$(wc -l <"$RUN/jm.conf")
check "SIGHUP with a broken journey-milter.conf and a good rule file: handled" hup 5
check "the reload failed" test "$(failed_reloads)" -eq 3
check "the log names the configuration file and line" \
    grep -q "$CONF:$n: max_headers: \"lots\" is not a whole number" "$RUN/milter.log"
out=$(session broken-conf support@example.com)
check "the good rule file is not taken either ($(category "$out"))" \
    test "$(category "$out")" = none
out=$(session broken-conf-help help@example.com)
check "the running configuration is kept: help@example.com still watched" \
    sh -c "echo '$out' | grep -q 'X-Journey-Ticket'"

# A good journey-milter.conf (a newly watched address) beside a broken
# rule: neither is taken.
sed 's/^watch_recipients = .*/&, desk@example.com/' "$RUN/jm.good" >"$RUN/jm.conf"
echo 'rule LOCAL_EN_BROKEN kudos text /(unclosed/i 4' >>"$RUN/rules/50-local.rules"
check "SIGHUP with a good journey-milter.conf and a broken rule: handled" hup 6
check "the reload failed" test "$(failed_reloads)" -eq 4
out=$(session broken-rules-desk desk@example.com)
check "the good configuration is not taken: desk@example.com not watched" \
    sh -c "echo '$out' | grep -q '\"mods\": \\[\\]'"

# Both repaired: both changes are taken at once.
sed -i '/LOCAL_EN_BROKEN/d' "$RUN/rules/50-local.rules"
check "SIGHUP with both repaired: reloaded" hup 7
check "the log says so" test "$(reloads)" -eq 3
out=$(session repaired-desk desk@example.com)
check "desk@example.com is watched and the rule is back ($(category "$out"))" \
    test "$(category "$out")" = kudos

check "the daemon ran throughout" kill -0 "$MILTER_PID"
check "daemon stops on SIGTERM" milter_stop
check "clean exit" test "${MILTER_STATUS:-1}" -eq 0

# Without -f the daemon changes to "/": a relative -c path must still
# reach the same file at each reload.  No log to read here (the daemon
# logs to syslog only), so the reload is seen in what it does.  Then
# SIGINT; a reload that named another pid_file must not make the daemon
# remove that file, only its own.
BPORT=$(free_port)
mkdir -p "$RUN/bg-state"
milter_conf "$RUN/bg.conf" \
    "socket = inet:$BPORT@127.0.0.1" \
    "watch_recipients = support@example.com" \
    "pid_file = $RUN/bg.pid" \
    "state_dir = $RUN/bg-state"
(cd "$RUN" && exec "$top_builddir/journey-milter" -c bg.conf) \
    >"$RUN/bg.out" 2>&1
check "started without -f, with -c bg.conf from its directory" test $? -eq 0
check "it writes its pid file" wait_for 10 test -s "$RUN/bg.pid"
bg=$(cat "$RUN/bg.pid" 2>/dev/null)
[ -n "$bg" ] && MILTER_ALL="$MILTER_ALL $bg"
check "and listens" wait_for 10 port_open "$BPORT"
MPORT=$BPORT
out=$(session bg-before help@example.com)
check "help@example.com is not watched by it yet" \
    sh -c "echo '$out' | grep -q '\"mods\": \\[\\]'"
echo "keep me" >"$RUN/other.pid"
sed -e 's/^watch_recipients = .*/&, help@example.com/' \
    -e "s|^pid_file = .*|pid_file = $RUN/other.pid|" "$RUN/bg.conf" \
    >"$RUN/bg.new" && mv "$RUN/bg.new" "$RUN/bg.conf"
kill -HUP "$bg"
bg_watched() {
	session bg-after help@example.com | grep -q 'X-Journey-Ticket'
}
check "after SIGHUP the changed file is read: help@example.com is watched" \
    wait_for 10 bg_watched
kill -INT "$bg"
check "SIGINT stops it" wait_for 10 sh -c "! kill -0 $bg"
check "its pid file is removed" test ! -e "$RUN/bg.pid"
check "the pid_file a reload named, which it never wrote, is left alone" \
    test "$(cat "$RUN/other.pid")" = "keep me"

e2e_done
