#!/bin/sh
# protocol.sh: the daemon driven over its socket by a milter protocol client.
#
# No Postfix here: the client speaks the milter protocol as Postfix does,
# so this test also runs against the sanitizer build (leaks show at exit).
# It measures the end-of-message round trip over inet: with Nagle's
# algorithm on the listening socket it would be about 40 ms.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init protocol

MPORT=$(free_port)
milter_conf "$RUN/jm.conf" \
    "socket = inet:$MPORT@127.0.0.1" \
    "watch_recipients = support@example.com"
milter_start "$RUN/jm.conf" "$MPORT" || bail "journey-milter did not start"

client() {
	"$PYTHON3" "$top_srcdir/tests/e2e/milterclient.py" 127.0.0.1 "$MPORT" "$@"
}

cat >"$RUN/session.json" <<'EOS'
[
 {"do": "message", "qid": "AAA1", "from": "a@customer.example",
  "rcpt": ["support@example.com"],
  "headers": [["From", "a@customer.example"], ["Subject", "One"],
              ["Message-ID", "<one@customer.example>"],
              ["X-Journey-Category", "forged"]],
  "body": "first message\r\n"},
 {"do": "message", "qid": "AAA2", "from": "b@customer.example",
  "rcpt": ["sales@example.com"],
  "headers": [["From", "b@customer.example"], ["Subject", "Two"]],
  "body": "not watched\r\n"},
 {"do": "abort_after_headers", "from": "c@customer.example",
  "rcpt": ["support@example.com"],
  "headers": [["From", "c@customer.example"], ["Subject", "Three"]]},
 {"do": "message", "qid": "AAA4", "from": "d@customer.example",
  "rcpt": ["support@example.com"],
  "headers": [["From", "d@customer.example"], ["Subject", "Four"],
              ["Message-ID", "<four@customer.example>"]],
  "body": ""},
 {"do": "close"},
 {"do": "message", "qid": "AAA5", "from": "e@customer.example",
  "rcpt": ["support@example.com"],
  "headers": [["From", "e@customer.example"], ["Subject", "Five"]],
  "body": "no message-id\r\n"}
]
EOS
if client session "$RUN/session.json" >"$RUN/session.out" 2>"$RUN/session.err"; then
	ok "session of five messages, an abort and a reconnect"
else
	not_ok "session of five messages, an abort and a reconnect"
	sed 's/^/#   /' "$RUN/session.err"
fi
line() { sed -n "${1}p" "$RUN/session.out"; }
check "watched message accepted with changes" \
    sh -c "echo '$(line 1)' | grep -q '\"final\": \"a\"'"
check "forged header removed (change to an empty value)" \
    sh -c "echo '$(line 1)' | grep -q 'change X-Journey-Category\[1\]: \"'"
check "ticket added" sh -c "echo '$(line 1)' | grep -q 'X-Journey-Ticket.*JM-'"
check "unwatched message accepted at DATA without changes" \
    sh -c "echo '$(line 2)' | grep -q '\"final\": \"a\", \"mods\": \\[\\]'"
check "abort handled" sh -c "echo '$(line 3)' | grep -q aborted"
check "message after an abort tagged" \
    sh -c "echo '$(line 4)' | grep -q 'X-Journey-Ticket'"
check "message on a new connection tagged" \
    sh -c "echo '$(line 5)' | grep -q 'X-Journey-Ticket'"

# Bodies past 32 KiB wait in a file: the words at the end of a 60 KB body
# are still read, and the next message on the connection starts clean.
"$PYTHON3" - "$RUN/spool.json" <<'EOP'
import json, sys
filler = "".join("Line %04d of the order history, nothing to say here.\r\n" % i
                 for i in range(1100))
words = "This is unacceptable, I am very disappointed, still no refund " \
        "after 3 weeks.\r\n"
def msg(qid, who, body):
    return {"do": "message", "qid": qid, "from": who,
            "rcpt": ["support@example.com"],
            "headers": [["From", who], ["Subject", "My order"],
                        ["Message-ID", "<%s@customer.example>" % qid]],
            "body": body}
json.dump([msg("SPOOL1", "s1@customer.example", filler + words),
           msg("SPOOL2", "s2@customer.example", "Thank you so much, your "
               "team was amazing and very helpful!\r\n")],
          open(sys.argv[1], "w"))
EOP
if client session "$RUN/spool.json" >"$RUN/spool.out" 2>"$RUN/spool.err"; then
	ok "a 60 KB body and a short one on one connection"
else
	not_ok "a 60 KB body and a short one on one connection"
	sed 's/^/#   /' "$RUN/spool.err"
fi
check "the end of the 60 KB body was read: complaint" \
    sh -c "sed -n 1p '$RUN/spool.out' | grep -q 'X-Journey-Category: complaint'"
check "the next message is its own: praise" \
    sh -c "sed -n 2p '$RUN/spool.out' | grep -q 'X-Journey-Category: praise'"
check "no spool file left in state_dir" \
    test -z "$(find "$RUN/state" -name 'spool.*' 2>/dev/null)"

# Forged X-Journey headers, whatever the length of the name, are each
# removed by their place among the headers of that name, counted without
# case as the MTA counts them, the last of a name first.
LONG=X-Journey-$("$PYTHON3" -c 'print("Routing" * 30)')
cat >"$RUN/forged.json" <<EOS
[{"do": "message", "qid": "FORGED1", "from": "f@customer.example",
  "rcpt": ["support@example.com"],
  "headers": [["From", "f@customer.example"], ["Subject", "Forged"],
              ["$LONG", "vip"], ["X-Journey-Category", "praise"],
              ["Message-ID", "<forged@customer.example>"],
              ["$(echo "$LONG" | tr A-Z a-z)", "vip-again"],
              ["X-JOURNEY-CATEGORY", "praise-again"],
              ["X-Journey-Stage", "advocate"]],
  "body": "Where is my parcel?\r\n"}]
EOS
client session "$RUN/forged.json" >"$RUN/forged.out" 2>"$RUN/forged.err" ||
    sed 's/^/#   /' "$RUN/forged.err"
"$PYTHON3" - "$RUN/forged.out" "$LONG" >"$RUN/forged.changes" <<'EOP'
import json, sys
r = json.loads(open(sys.argv[1]).readline())
for m in r["mods"]:
    if m.startswith("change "):
        name, _, rest = m[len("change "):].partition("[")
        print("%s[%s" % ("LONG" if name.lower() == sys.argv[2].lower()
                         else name.lower(), rest.split(":")[0]))
EOP
diag "removals: $(tr '\n' ' ' <"$RUN/forged.changes")"
check "a ${#LONG}-character X-Journey name is removed, both of its headers, the second first" \
    test "$(grep '^LONG' "$RUN/forged.changes" | tr '\n' ' ')" = "LONG[2] LONG[1] "
check "X-Journey-Category twice, in two cases: [2] then [1]" \
    test "$(grep '^x-journey-category' "$RUN/forged.changes" | tr '\n' ' ')" = \
    "x-journey-category[2] x-journey-category[1] "
check "X-Journey-Stage once: [1]" \
    test "$(grep '^x-journey-stage' "$RUN/forged.changes")" = "x-journey-stage[1]"
check "five removals in all" test "$(wc -l <"$RUN/forged.changes")" -eq 5
check "and the message is tagged" grep -q 'add X-Journey-Ticket: JM-' "$RUN/forged.out"

# A SASL-authenticated client ({auth_authen} at MAIL FROM) sends outbound
# mail: with the default skip_authenticated = yes its watched message is
# accepted at MAIL FROM, untouched; a daemon with skip_authenticated = no
# processes it like any other.  The same message without the macro is the
# control.
cat >"$RUN/auth.json" <<'EOS'
[{"do": "message", "qid": "AUTH1", "from": "agent@example.com",
  "rcpt": ["support@example.com"],
  "macros": {"{auth_type}": "PLAIN", "{auth_authen}": "agent"},
  "headers": [["From", "agent@example.com"], ["Subject", "Re: your order"],
              ["Message-ID", "<auth1@example.com>"],
              ["X-Journey-Category", "forged"]],
  "body": "Your refund is on its way.\r\n"},
 {"do": "message", "qid": "AUTH2", "from": "agent@example.com",
  "rcpt": ["support@example.com"],
  "macros": {"{auth_authen}": ""},
  "headers": [["From", "agent@example.com"], ["Subject", "Re: your order"],
              ["Message-ID", "<auth2@example.com>"]],
  "body": "Your refund is on its way.\r\n"}]
EOS
client session "$RUN/auth.json" >"$RUN/auth.out" 2>"$RUN/auth.err" ||
    sed 's/^/#   /' "$RUN/auth.err"
check "skip_authenticated = yes (the default): an authenticated client's mail is accepted at MAIL FROM, untouched" \
    test "$(sed -n 1p "$RUN/auth.out")" = '{"final": "a", "mods": [], "at": "mail"}'
check "an empty {auth_authen} is no authentication: processed" \
    sh -c "sed -n 2p '$RUN/auth.out' | grep -q 'add X-Journey-Ticket: JM-'"
APORT=$(free_port)
milter_conf "$RUN/auth.conf" \
    "socket = inet:$APORT@127.0.0.1" \
    "watch_recipients = support@example.com" \
    "skip_authenticated = no" \
    "pid_file = $RUN/auth.pid" \
    "state_dir = $RUN/auth-state"
mkdir -p "$RUN/auth-state"
first_daemon=$MILTER_PID
if milter_start "$RUN/auth.conf" "$APORT"; then
	"$PYTHON3" "$top_srcdir/tests/e2e/milterclient.py" 127.0.0.1 "$APORT" \
	    session "$RUN/auth.json" >"$RUN/auth-no.out" 2>"$RUN/auth-no.err" ||
	    sed 's/^/#   /' "$RUN/auth-no.err"
fi
check "skip_authenticated = no: the same mail is processed at end-of-message" \
    sh -c "sed -n 1p '$RUN/auth-no.out' | grep -q '\"at\": \"eom\"'"
check "tagged, its forged header removed" \
    sh -c "sed -n 1p '$RUN/auth-no.out' | grep 'add X-Journey-Ticket: JM-' | grep -q 'change X-Journey-Category\[1\]'"
check "the daemon with skip_authenticated = no stops" milter_stop
MILTER_PID=$first_daemon

# Negotiation: header changes only, and every step and reply it does not
# use skipped (connect, HELO, unknown commands, end of headers, header
# replies; the rest of a body past max_body_bytes).
neg=$(client negotiate 2>"$RUN/negotiate.err")
diag "negotiated: $neg"
check "negotiation: milter protocol 6, add and change headers, nothing else" \
    test "${neg%% protocol*}" = "version 6 actions 0x11"
check "negotiation: the steps it does not use are skipped" \
    "$PYTHON3" -c "import sys; p = int(sys.argv[1], 16)
want = 0x1 | 0x2 | 0x100 | 0x40 | 0x80 | 0x400   # NOCONNECT NOHELO NOUNKNOWN NOEOH NR_HDR SKIP
keep = 0x4 | 0x8 | 0x10 | 0x20 | 0x200           # MAIL, RCPT, body, headers, DATA
sys.exit(0 if p & want == want and p & keep == 0 else 1)" "${neg##* }"

# TCP_NODELAY: end-of-message round trip, median of 20, must stay under 20 ms.
if t=$(client eomtime 20 2>"$RUN/eomtime.err"); then
	median=${t% *}
	diag "end-of-message round trip over inet: median ${median} ms, max ${t#* } ms"
	check "end-of-message median ${median} ms < 20 ms" \
	    "$PYTHON3" -c "import sys; sys.exit(0 if float('$median') < 20 else 1)"
else
	not_ok "end-of-message timing run"
	sed 's/^/#   /' "$RUN/eomtime.err"
fi

check "daemon stops on SIGTERM" milter_stop
check "clean exit (no sanitizer report)" test "${MILTER_STATUS:-1}" -eq 0
check "no sanitizer report in the log" \
    sh -c "! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$RUN/milter.log'"
e2e_done
