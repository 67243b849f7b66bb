#!/bin/sh
# skeleton.sh: journey-milter in front of a real, private Postfix.
#
# Watched mail gets X-Journey-* headers, other mail passes untouched, a
# forged X-Journey header from outside is removed, several messages on one
# SMTP connection are all handled, and the daemon stops cleanly.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init skeleton
need_root

MPORT=$(free_port)
SPORT=$(free_port)
milter_conf "$RUN/jm.conf" \
    "socket = inet:127.0.0.1:$MPORT" \
    "watch_recipients = support@example.com, destek@example.com.tr"
milter_start "$RUN/jm.conf" "$MPORT" || bail "journey-milter did not start"
pf_start "$SPORT" "inet:127.0.0.1:$MPORT" || bail "postfix did not start"

cat >"$RUN/watched.eml" <<'EOM'
From: Ayşe Yılmaz <ayse@customer.example>
To: support@example.com
Subject: Where is my order?
Message-ID: <order-1@customer.example>
Date: Mon, 23 Nov 2026 10:00:00 +0000

Hello, my order 1234 has not arrived yet. Can you check?
EOM
cat >"$RUN/unwatched.eml" <<'EOM'
From: Bob <bob@customer.example>
To: sales@example.com
Subject: Quote request
Message-ID: <quote-1@customer.example>

Please send me a quote.
EOM
cat >"$RUN/forged.eml" <<'EOM'
From: Mallory <mallory@customer.example>
To: support@example.com
Subject: Hello
Message-ID: <forged-1@customer.example>
X-Journey-Category: praise
x-journey-stage: advocate
X-Journey-Category: praise-again

Just a note.
EOM
# A forged header whose name is longer than any of ours, before the body.
LONG=X-Journey-$("$PYTHON3" -c 'print("Routing" * 30)')
sed -i "s/^Message-ID: <forged-1@customer.example>$/&\\
$LONG: vip/" "$RUN/forged.eml"

check "watched message accepted" send ayse@customer.example support@example.com "$RUN/watched.eml"
check "unwatched message accepted" send bob@customer.example sales@example.com "$RUN/unwatched.eml"
check "message with forged headers accepted" send mallory@customer.example support@example.com "$RUN/forged.eml"
check "all three delivered" wait_mail example.com 3 20

f=$(mail_with example.com 'order-1@customer.example')
check "watched message has X-Journey-Category" test -n "$(header "$f" X-Journey-Category)"
ticket=$(header "$f" X-Journey-Ticket)
check "watched message has a ticket JM-XXXXXXXX ($ticket)" \
    sh -c "echo '$ticket' | grep -Eq '^JM-[A-Z2-7]{8}$'"

f=$(mail_with example.com 'quote-1@customer.example')
check "unwatched message has no X-Journey header" \
    sh -c "! grep -qi '^X-Journey-' '$f'"

f=$(mail_with example.com 'forged-1@customer.example')
check "forged X-Journey-Stage removed" \
    sh -c "! grep -qi '^x-journey-stage: advocate' '$f'"
check "forged X-Journey-Category values removed" \
    sh -c "! grep -qi '^X-Journey-Category: praise' '$f'"
check "exactly one X-Journey-Category on the forged message" \
    test "$(header "$f" X-Journey-Category | wc -l)" -eq 1
check "it did carry the ${#LONG}-character forged header" \
    grep -q "^$LONG: vip" "$RUN/forged.eml"
check "which is removed too" test -z "$(header "$f" "$LONG")"

# Several messages on one SMTP connection.
before=$(mail_count example.com)
check "smtp-source sends 5 messages over one connection" \
    smtp-source -c -d -m 5 -s 1 -f customer@customer.example \
    -t support@example.com -S "Several on one connection" "127.0.0.1:$SPORT"
check "all five delivered" wait_mail example.com $((before + 5)) 20
n=$(grep -l 'Several on one connection' "$(mailbox example.com)"/* | \
    xargs grep -l '^X-Journey-Ticket:' | wc -l)
check "all five tagged ($n)" test "$n" -eq 5

check "one log line per watched message with queue id and sender" \
    grep -Eq "[0-9A-F]{6,}: from=<ayse@customer.example> .*category=" "$RUN/milter.log"

# Fail open: another process holds the store's write lock for longer than
# the daemon waits for it (twice the store's busy timeout of 5 s: a failed
# attempt is made once more).  The watched message is delivered as it
# came, its forged header and all, and one log line names the queue id,
# the cause and what became of the message; once the lock is gone the
# next message is tagged again.
cat >"$RUN/locked.eml" <<'EOM'
From: Lou <lou@customer.example>
To: support@example.com
Subject: My refund
Message-ID: <locked-1@customer.example>
X-Journey-Stage: advocate

I am still waiting for my refund.
EOM
# The lock is held until the test has seen the message through (bounded
# at 90 s), not for a fixed time that a busy machine could outlast.
"$PYTHON3" - "$MILTER_STATE/journey.db" "$RUN/lock.ready" "$RUN/lock.release" <<'EOP' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
deadline = time.monotonic() + 90
while not os.path.exists(sys.argv[3]) and time.monotonic() < deadline:
    time.sleep(0.1)
db.execute("ROLLBACK")
EOP
locker=$!
BG_PIDS="$BG_PIDS $locker"
check "another process holds the store's write lock" \
    wait_for 10 test -e "$RUN/lock.ready"
before=$(mail_count example.com)
check "a watched message sent meanwhile is accepted" \
    send lou@customer.example support@example.com "$RUN/locked.eml"
check "and delivered" wait_mail example.com $((before + 1)) 60
f=$(mail_with example.com 'locked-1@customer.example')
check "without our headers" test -z "$(header "$f" X-Journey-Ticket)"
check "as it came, the forged header in it" \
    test "$(header "$f" X-Journey-Stage)" = advocate
lqid=$(sed -n 's/.*: \([0-9A-F]*\): message-id=<locked-1@customer.example>.*/\1/p' \
    "$PF_DIR/maillog" | head -n 1)
check "exactly one log line with its queue id (${lqid:-none})" \
    test -n "$lqid" -a "$(grep -c "$lqid: " "$RUN/milter.log")" -eq 1
check "which says why and what became of the message" \
    grep -q "$lqid: cannot record it in the store: .*database is locked; message accepted unchanged, forged X-Journey headers and all$" \
    "$RUN/milter.log"
grep "$lqid: " "$RUN/milter.log" | sed 's/^/#   /'
: >"$RUN/lock.release"
wait "$locker"
sed 's/locked-1@/locked-2@/' "$RUN/locked.eml" >"$RUN/unlocked.eml"
check "the lock gone, the next message is accepted" \
    send lou@customer.example support@example.com "$RUN/unlocked.eml"
check "and delivered" wait_mail example.com $((before + 2)) 20
f=$(mail_with example.com 'locked-2@customer.example')
check "tagged again" test -n "$(header "$f" X-Journey-Ticket)"
check "its forged header removed" test -z "$(header "$f" X-Journey-Stage | grep advocate)"

check "daemon stops on SIGTERM" milter_stop
check "daemon exit status 0" test "${MILTER_STATUS:-1}" -eq 0
check "pid file removed" test ! -e "$RUN/journey-milter.pid"

# After the milter is gone, Postfix still delivers (milter_default_action).
cat >"$RUN/after.eml" <<'EOM'
From: late@customer.example
To: support@example.com
Subject: still delivered
Message-ID: <after-1@customer.example>

Is anyone there?
EOM
before=$(mail_count example.com)
check "mail flows with the milter down" send late@customer.example support@example.com "$RUN/after.eml"
check "and is delivered" wait_mail example.com $((before + 1)) 20

e2e_done
