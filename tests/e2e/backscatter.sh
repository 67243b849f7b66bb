#!/bin/sh
# backscatter.sh: acknowledgements must not become a spam cannon.
#
# A forged sender gets no acknowledgement: an Authentication-Results
# header of our own authserv-id that reports spf, dkim or dmarc failing
# stops it, and a pass in another such header (which the sender may have
# forged) does not cancel that failure, while the same header from any
# other host is ignored (anyone can write one).  And a burst of 1,000
# complaints from one address gets at most ack_max_per_day
# acknowledgements, counted in the mailbox they were sent to.  Everything goes through a private Postfix, the
# acknowledgements too.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init bscat
need_root

MPORT=$(free_port)
SPORT=$(free_port)
PER_DAY=3
BURST=1000
milter_conf "$RUN/jm.conf" \
    "socket = inet:127.0.0.1:$MPORT" \
    "watch_recipients = support@example.com" \
    "authserv_id = mx.test.example" \
    "ack_from = Support <support@example.com>" \
    "ack_smtp_url = smtp://127.0.0.1:$SPORT" \
    "ack_interval = 0" \
    "ack_max_per_day = $PER_DAY" \
    "ack_max_per_minute = 100000"
milter_start "$RUN/jm.conf" "$MPORT" || bail "journey-milter did not start"
pf_start "$SPORT" "inet:127.0.0.1:$MPORT" || bail "postfix did not start"

# complaint USER AUTH-RESULTS...: a complaint from USER@customer.example.
complaint() {
	u=$1
	shift
	{
		echo "From: $u <$u@customer.example>"
		echo "To: support@example.com"
		echo "Subject: still no refund"
		echo "Message-ID: <$u-{i}@customer.example>"
		for ar in "$@"; do
			echo "Authentication-Results: $ar"
		done
		echo
		echo "I am very disappointed: three weeks and still no refund."
		echo "This is not acceptable, please refund me now."
	} >"$RUN/$u.eml"
}

# acks_to USER: acknowledgements delivered to USER@customer.example.
acks_to() {
	grep -l "^Delivered-To: $1@customer.example" \
	    "$(mailbox customer.example)"/* 2>/dev/null | wc -l
}

acks_ge() {
	[ "$(acks_to "$1")" -ge "$2" ]
}

reason() {
	sed -n "s/.*from=<$1@customer.example> .* ack=\([a-z-]*\) .*/\1/p" \
	    "$RUN/milter.log" | head -n 1
}

# Each case: user, whether it is answered, Authentication-Results.
complaint spffail "mx.test.example; spf=fail smtp.mailfrom=customer.example"
complaint dkimfail "mx.test.example; dkim=fail header.d=customer.example"
complaint dmarcfail "mx.test.example; dmarc=fail header.from=customer.example"
complaint mixed "mx.test.example; spf=pass smtp.mailfrom=customer.example" \
    "mx.test.example; dkim=pass header.d=customer.example; dmarc=fail"
# Our verifier's failure, inserted at the top, above a pass the sender
# forged under our own id: each header counts alone, so the failure stands.
complaint forgedpass "mx.test.example; dkim=fail header.d=customer.example" \
    "mx.test.example; dkim=pass header.d=customer.example; dmarc=pass"
complaint otherhost "evil.example; spf=fail; dkim=fail; dmarc=fail" \
    "mx.test.example.evil.example; spf=fail"
complaint pass "mx.test.example; spf=pass; dkim=pass; dmarc=pass"
complaint softfail "mx.test.example; spf=softfail smtp.mailfrom=customer.example"
complaint none
complaint forged "mx.test.example; spf=pass smtp.mailfrom=customer.example"

for u in spffail dkimfail dmarcfail mixed forgedpass otherhost pass softfail \
    none; do
	sed "s/{i}/1/" "$RUN/$u.eml" >"$RUN/$u-1.eml"
	check "$u: accepted" send "$u@customer.example" support@example.com \
	    "$RUN/$u-1.eml"
done
check "all delivered" wait_mail example.com 9 30
for u in otherhost pass softfail none; do
	check "$u: acknowledged" wait_for 20 acks_ge "$u" 1
done
# The answered ones have arrived: the others would have by now.
sleep 1
for u in spffail dkimfail dmarcfail mixed forgedpass; do
	check "$u: not acknowledged ($(reason "$u"))" \
	    sh -c "[ $(acks_to "$u") -eq 0 ] && [ '$(reason "$u")' = auth-failed ]"
done

# The burst from one (forged) address.
before=$(mail_count example.com)
t0=$(date +%s)
n=$("$PYTHON3" "$top_srcdir/tests/e2e/smtpsend.py" "$SPORT" burst "$BURST" 4 \
    forged@customer.example support@example.com "$RUN/forged.eml" \
    2>"$RUN/burst.err")
check "burst: all $BURST accepted ($n)" test "${n:-0}" -eq "$BURST"
check "burst: all delivered" wait_mail example.com $((before + BURST)) 120
diag "burst: $BURST messages accepted and delivered in $(($(date +%s) - t0)) s"
check "burst: $PER_DAY acknowledgements arrive" \
    wait_for 30 acks_ge forged "$PER_DAY"
check "burst: the outbox has nothing left to send" \
    wait_for 30 sh -c "[ \"\$(sqlite3 '$MILTER_STATE/journey.db' \
        \"select count(*) from outbox where state != 'done'\" 2>/dev/null)\" = 0 ]"
pf_queue_empty_soon() { wait_for 20 pf_queue_empty; }
check "burst: Postfix's queue is empty" pf_queue_empty_soon
got=$(acks_to forged)
check "burst: exactly ack_max_per_day = $PER_DAY acknowledgements ($got)" \
    test "$got" -eq "$PER_DAY"
limited=$(grep -c "from=<forged@customer.example> .* ack=daily-limit" \
    "$RUN/milter.log")
check "burst: the rest logged as daily-limit ($limited)" \
    test "$limited" -eq $((BURST - PER_DAY))
check "burst: every message classified and logged" \
    test "$(grep -c "from=<forged@customer.example> .*category=complaint" \
    "$RUN/milter.log")" -eq "$BURST"

check "daemon stops on SIGTERM" milter_stop
check "clean exit" test "${MILTER_STATUS:-1}" -eq 0
e2e_done
