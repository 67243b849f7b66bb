#!/bin/sh
# ack.sh: acknowledgements, end to end, through a real Postfix.
#
# A customer's complaint in Turkish (ISO-8859-9), Persian or English is
# answered within two seconds, in the customer's language, threaded to
# the original and marked as an automatic reply (RFC 3834); the answer
# comes back through the same Postfix and its milter, which leaves it
# alone.  A list message, a bounce and an out-of-office reply, all with
# complaint words, are never answered, nor is a customer twice within
# ack_interval, nor our own acknowledgement forwarded back to support.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init ack
need_root

MPORT=$(free_port)
SPORT=$(free_port)
milter_conf "$RUN/jm.conf" \
    "socket = inet:127.0.0.1:$MPORT" \
    "watch_recipients = destek@example.com.tr, poshtibani@example.ir, support@example.com" \
    "ack_smtp_url = smtp://127.0.0.1:$SPORT" \
    "ack_from = Destek <destek@example.com.tr>" \
    "support_name = Müşteri Hizmetleri" \
    "ack_interval = 1h" \
    "retry_min_interval = 1s"
milter_start "$RUN/jm.conf" "$MPORT" || bail "journey-milter did not start"
pf_start "$SPORT" "inet:127.0.0.1:$MPORT" || bail "postfix did not start"

# The messages, written by Python so that each charset is what it says.
"$PYTHON3" - "$RUN" <<'EOF' || bail "cannot write the test messages"
import sys
from email.header import Header

run = sys.argv[1]

def write(name, headers, body, charset):
    with open(f"{run}/{name}.eml", "wb") as f:
        for k, v in headers:
            f.write(f"{k}: {v}\r\n".encode("ascii"))
        f.write(b"\r\n")
        f.write(body.replace("\n", "\r\n").encode(charset))

def enc(text, charset):
    return Header(text, charset).encode()

write("tr", [
    ("From", enc("Ayşe Demir", "iso-8859-9") + " <ayse@customer.example>"),
    ("To", "Destek <destek@example.com.tr>"),
    ("Subject", enc("Siparişim hâlâ gelmedi", "iso-8859-9")),
    ("Date", "Mon, 23 Nov 2026 10:00:00 +0300"),
    ("Message-ID", "<tr-1.4410287@customer.example>"),
    ("MIME-Version", "1.0"),
    ("Content-Type", 'text/plain; charset="iso-8859-9"'),
    ("Content-Transfer-Encoding", "8bit"),
], """Merhaba,

12 gün önce verdiğim 4410287 numaralı siparişim hâlâ elime ulaşmadı.
Kargo takip sayfasında 6 gündür "transfer merkezinde" yazıyor, aradığımda
kimse dönüş yapmıyor.

Bu durum kabul edilemez, gerçekten çok mağdur oldum. Bu hafta içinde
teslim edilmezse paramın iadesini talep ediyorum.

Ayşe Demir
""", "iso-8859-9")

write("fa", [
    ("From", enc("مریم احمدی", "utf-8") + " <maryam@customer.example>"),
    ("To", enc("پشتیبانی", "utf-8") + " <poshtibani@example.ir>"),
    ("Subject", enc("سفارشم بعد از دو هفته هنوز نرسیده", "utf-8")),
    ("Date", "Mon, 23 Nov 2026 10:30:00 +0330"),
    ("Message-ID", "<fa-1.4039@customer.example>"),
    ("MIME-Version", "1.0"),
    ("Content-Type", 'text/plain; charset="utf-8"'),
    ("Content-Transfer-Encoding", "8bit"),
], """سلام،

سفارش شماره ۴۴۱۰۲۸۷ را دو هفته پیش ثبت و پرداخت کردم. در سایت نوشته بود
ارسال ۳ روزه، ولی هنوز هیچ خبری نیست.

دو بار به پشتیبانی زنگ زدم و هر بار گفتند فردا پیگیری می‌کنیم، اما
هیچ‌کس تماس نگرفت. واقعاً از این وضعیت ناراضی هستم.

مریم احمدی
""", "utf-8")

write("en", [
    ("From", "John Carter <john@customer.example>"),
    ("To", "support@example.com"),
    ("Subject", "Refund still not received after three weeks"),
    ("Date", "Mon, 23 Nov 2026 11:00:00 +0000"),
    ("Message-ID", "<en-1.77@customer.example>"),
    ("References", "<older-thread@customer.example>"),
    ("MIME-Version", "1.0"),
    ("Content-Type", "text/plain; charset=us-ascii"),
], """Hello,

I returned the broken kettle three weeks ago and I still have not
received my refund. This is unacceptable. I have called twice and
nobody got back to me. I am very disappointed with your service.

John Carter
""", "ascii")
EOF

cat >"$RUN/list.eml" <<'EOM'
From: Weekly Deals <deals@lists.customer.example>
To: support@example.com
Subject: Complaints about late parcels? Not with us
Message-ID: <list-1@lists.customer.example>
Date: Mon, 23 Nov 2026 11:05:00 +0000
List-Id: Weekly Deals <deals.lists.customer.example>
List-Unsubscribe: <mailto:unsubscribe@lists.customer.example>
Precedence: bulk
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8

Tired of parcels that never arrive? This is unacceptable, and we hear
you: our customers are very disappointed with other shops.  I want to
complain about their service, says one reader.  Not here.
EOM
cat >"$RUN/bounce.eml" <<'EOM'
From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>
To: support@example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.customer.example>
Date: Mon, 23 Nov 2026 11:06:00 +0000
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.customer.example.

Your message could not be delivered to one or more recipients.  The
message said: "This is unacceptable, I am very disappointed and I want
to complain about your service.  I still have not received my refund."

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.customer.example

Final-Recipient: rfc822; gone@customer.example
Action: failed
Status: 5.1.1

--b1
Content-Type: text/rfc822-headers

From: support@example.com
To: gone@customer.example
Subject: Your refund

--b1--
EOM
cat >"$RUN/ooo.eml" <<'EOM'
From: Noah White <noah@customer.example>
To: support@example.com
Subject: Automatic reply: Refund still not received
Message-ID: <ooo-1@customer.example>
Date: Mon, 23 Nov 2026 11:07:00 +0000
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8

I am out of the office until Monday 30 November.

> This is unacceptable. I still have not received my refund and I am
> very disappointed with your service. I want to complain.
EOM
cat >"$RUN/tr2.eml" <<'EOM'
From: Ayse Demir <ayse@customer.example>
To: destek@example.com.tr
Subject: Yine ben: kargo sorunu
Message-ID: <tr-2.4410287@customer.example>
Date: Mon, 23 Nov 2026 12:00:00 +0300
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Merhaba, ikinci kez yazıyorum. Siparişim hâlâ gelmedi, kimse dönüş
yapmıyor. Bu kabul edilemez, çok mağdurum.
EOM

has() {
	case $1 in *"$2"*) return 0 ;; esac
	return 1
}

matches() {
	printf '%s\n' "$1" | grep -Eq -- "$2"
}

now_ms() {
	date +%s%3N
}

# ack_for MSGID: the delivered acknowledgement threaded to MSGID, if any.
ack_for() {
	mail_with customer.example "^In-Reply-To: <$1>"
}

# timed_ack NAME MSGID: sends $RUN/NAME.eml and sets ACK to the answer and
# ACK_MS to the milliseconds from Postfix accepting the original to the
# answer's file appearing (0.02 s polls, at most 10 s).
timed_ack() {
	ACK=
	ACK_MS=
	t_from=$(header "$RUN/$1.eml" From | sed 's/.*<//; s/>.*//')
	t_to=$(header "$RUN/$1.eml" To | sed 's/.*<//; s/>.*//')
	if ! send "$t_from" "$t_to" "$RUN/$1.eml"; then
		not_ok "$1: Postfix accepts the complaint"
		return 1
	fi
	t0=$(now_ms)
	i=0
	while [ $i -lt 500 ]; do
		ACK=$(ack_for "$2")
		[ -n "$ACK" ] && break
		sleep 0.02
		i=$((i + 1))
	done
	ACK_MS=$(($(now_ms) - t0))
	ok "$1: Postfix accepts the complaint"
}

# check_ack NAME MSGID DOMAIN LANG PHRASE: the acknowledgement of
# $RUN/NAME.eml, delivered to DOMAIN, is right in every header and in LANG.
check_ack() {
	name=$1
	msgid=$2
	orig=$(mail_with "$3" "^Message-ID: <$msgid>")
	check "$name: original delivered" test -n "$orig"
	ticket=$(header "$orig" X-Journey-Ticket)
	check "$name: original tagged complaint" \
	    test "$(header "$orig" X-Journey-Category)" = complaint
	check "$name: original's language is $4" \
	    test "$(header "$orig" X-Journey-Language)" = "$4"
	if [ -z "$ACK" ]; then
		not_ok "$name: acknowledgement delivered within 10 s"
		return
	fi
	check "$name: acknowledgement within 2 s of acceptance (${ACK_MS} ms)" \
	    test "$ACK_MS" -lt 2000
	diag "$name: acknowledged in $ACK_MS ms, ticket $ticket"
	subj=$(dheader "$RUN/$name.eml" Subject)
	got=$(dheader "$ACK" Subject)
	check "$name: Subject \"$got\" is Re: original [ticket]" \
	    test "$got" = "Re: $subj [$ticket]"
	check "$name: ticket looks like JM-XXXXXXXX" \
	    matches "$ticket" '^JM-[A-Z2-7]{8}$'
	check "$name: In-Reply-To is the original's Message-ID" \
	    test "$(header "$ACK" In-Reply-To)" = "<$msgid>"
	check "$name: References contains it" \
	    has "$(header "$ACK" References)" "<$msgid>"
	check "$name: Auto-Submitted: auto-replied" \
	    test "$(header "$ACK" Auto-Submitted)" = auto-replied
	check "$name: X-Auto-Response-Suppress: All" \
	    test "$(header "$ACK" X-Auto-Response-Suppress)" = All
	check "$name: Message-ID <jm.$ticket.*@example.com.tr>" \
	    matches "$(header "$ACK" Message-ID)" \
	    "^<jm\\.$ticket\\.[0-9a-f]+@example\\.com\\.tr>\$"
	check "$name: Date is a valid date within the last minute" \
	    "$PYTHON3" -c 'import sys, time, email.utils
d = email.utils.parsedate_to_datetime(sys.argv[1])
sys.exit(0 if abs(time.time() - d.timestamp()) < 60 else 1)' \
	    "$(header "$ACK" Date)"
	check "$name: From is ack_from" \
	    test "$(dheader "$ACK" From)" = "Destek <destek@example.com.tr>"
	check "$name: To is the customer" \
	    test "$(dheader "$ACK" To | sed 's/.*<//; s/>.*//')" = "$t_from"
	check "$name: envelope sender <> (Return-Path)" \
	    test "$(header "$ACK" Return-Path)" = "<>"
	check "$name: delivered to the customer" \
	    test "$(header "$ACK" Delivered-To)" = "$t_from"
	check "$name: Content-Language $4" \
	    test "$(header "$ACK" Content-Language)" = "$4"
	dbody "$ACK" >"$ACK.txt"
	phrase=$(printf '%s' "$5" | sed "s/TICKET/$ticket/")
	check "$name: body holds the ticket" grep -qF "$ticket" "$ACK.txt"
	check "$name: body is in $4 ($phrase)" grep -qF "$phrase" "$ACK.txt"
	check "$name: body signed with support_name" \
	    grep -qF "Müşteri Hizmetleri" "$ACK.txt"
	check "$name: the acknowledgement passed the milter untouched" \
	    sh -c "! grep -qi '^X-Journey-' '$ACK'"
	check "$name: log line says ack=queued" \
	    grep -Eq "from=<$t_from> .*ack=queued.*ticket=$ticket" \
	    "$RUN/milter.log"
}

timed_ack tr "tr-1.4410287@customer.example"
check_ack tr "tr-1.4410287@customer.example" example.com.tr tr \
    "Mesajınız TICKET numarasıyla ekibimize ulaştı"
TR_ACK=$ACK
TR_TICKET=$ticket
check "tr: customer's name in the greeting" \
    grep -qF "Merhaba Sayın Ayşe Demir," "$TR_ACK.txt"

timed_ack fa "fa-1.4039@customer.example"
check_ack fa "fa-1.4039@customer.example" example.ir fa \
    "پیام شما با شماره پیگیری TICKET ثبت شد"

timed_ack en "en-1.77@customer.example"
check_ack en "en-1.77@customer.example" example.com en \
    "Your message has reached our team as TICKET."
check "en: References keeps the thread's root first" \
    test "$(header "$ACK" References)" = \
    "<older-thread@customer.example> <en-1.77@customer.example>"

# Robots with complaint words: classified, never answered.
acks_before=$(mail_count customer.example)
check "list message accepted" \
    send deals-bounces@lists.customer.example support@example.com "$RUN/list.eml"
check "bounce accepted" send '<>' support@example.com "$RUN/bounce.eml"
check "out-of-office reply accepted" \
    send noah@customer.example support@example.com "$RUN/ooo.eml"
check "second complaint of the same customer accepted" \
    send ayse@customer.example destek@example.com.tr "$RUN/tr2.eml"
check "the four delivered" wait_for 20 sh -c \
    "[ -n \"\$(grep -l 'ooo-1@' '$(mailbox example.com)'/*)\" ] && \
    [ -n \"\$(grep -l 'bounce-1@' '$(mailbox example.com)'/*)\" ] && \
    [ -n \"\$(grep -l 'list-1@' '$(mailbox example.com)'/*)\" ] && \
    [ -n \"\$(grep -l 'tr-2.4410287@' '$(mailbox example.com.tr)'/*)\" ]"
sleep 3
check "Postfix has nothing left to send" pf_queue_empty
check "no acknowledgement to any of them (3 s after the last delivery)" \
    test "$(mail_count customer.example)" -eq "$acks_before"
for id in list-1 bounce-1 ooo-1; do
	f=$(mail_with example.com "^Message-ID: <$id@")
	check "$id: classified as complaint" \
	    test "$(header "$f" X-Journey-Category)" = complaint
done
f=$(mail_with example.com.tr "^Message-ID: <tr-2.4410287@")
check "tr-2: classified as complaint" \
    test "$(header "$f" X-Journey-Category)" = complaint
check "list: logged ack=list" \
    grep -Eq "from=<deals-bounces@lists.customer.example> .*category=complaint .*ack=list " \
    "$RUN/milter.log"
check "bounce: logged ack=null-sender" \
    grep -Eq "from=<> customer=<mailer-daemon@mx.customer.example> .*category=complaint .*ack=null-sender " \
    "$RUN/milter.log"
check "out-of-office: logged ack=auto-submitted" \
    grep -Eq "from=<noah@customer.example> .*category=complaint .*ack=auto-submitted " \
    "$RUN/milter.log"
check "second complaint: logged ack=already-answered" \
    grep -Eq "from=<ayse@customer.example> .*category=complaint .*ack=already-answered " \
    "$RUN/milter.log"
check "the customer has exactly one acknowledgement" \
    test "$(grep -l '^Delivered-To: ayse@customer.example' \
    "$(mailbox customer.example)"/* | wc -l)" -eq 1

# The customer's mailbox forwards the acknowledgement to support: it is
# recognised as our own, neither classified nor answered.
fwd_before=$(mail_count example.com.tr)
check "forwarded acknowledgement accepted" \
    send ayse@customer.example destek@example.com.tr "$TR_ACK"
check "and delivered" wait_mail example.com.tr $((fwd_before + 1)) 20
f=$(grep -il "^Message-ID: $(header "$TR_ACK" Message-ID)" \
    "$(mailbox example.com.tr)"/* 2>/dev/null | head -n 1)
check "forwarded acknowledgement delivered to support" test -n "$f"
check "it has no X-Journey header" sh -c "! grep -qi '^X-Journey-' '$f'"
check "logged as our own acknowledgement of ticket $TR_TICKET" \
    grep -q "from=<ayse@customer.example> own acknowledgement $TR_TICKET, left alone" \
    "$RUN/milter.log"

# What makes a message "our own acknowledgement" is headers anyone can
# write: one that looks like it may not smuggle X-Journey headers in.
{
	printf 'X-Journey-Category: praise\r\nX-Journey-Stage: advocate\r\n'
	sed '/^Message-I[dD]:/s/@/.forged@/' "$TR_ACK"
} >"$RUN/forged-ack.eml"
fwd_before=$(mail_count example.com.tr)
check "forged acknowledgement accepted" \
    send mallory@customer.example destek@example.com.tr "$RUN/forged-ack.eml"
check "and delivered" wait_mail example.com.tr $((fwd_before + 1)) 20
f=$(grep -il '^Message-ID: <jm\..*\.forged@' "$(mailbox example.com.tr)"/* \
    2>/dev/null | head -n 1)
check "forged acknowledgement delivered to support" test -n "$f"
check "its X-Journey headers were removed" \
    sh -c "! grep -qi '^X-Journey-' '$f'"
check "logged as our own acknowledgement, forged headers removed" \
    grep -q "from=<mallory@customer.example> own acknowledgement $TR_TICKET, left alone removed-forged-headers=yes" \
    "$RUN/milter.log"

sleep 2
check "no acknowledgement of the acknowledgement" \
    test "$(mail_count customer.example)" -eq "$acks_before"

check "daemon stops on SIGTERM" milter_stop
check "daemon exit status 0" test "${MILTER_STATUS:-1}" -eq 0
check "no error logged" sh -c "! grep -Eqi 'error|cannot|dead' '$RUN/milter.log'"

e2e_done
