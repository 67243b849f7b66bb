#!/bin/sh
# syslog.sh: what journey-milter says goes to syslog, facility mail.
#
# The daemon runs in a mount namespace of its own (unshare -m) whose /dev
# is a directory of this test's: there /dev/log is a datagram socket the
# test reads, as a syslog daemon would, and null, zero, random and urandom
# are the host's.  The host's own syslog, if it has one, sees nothing.
# Checked: the facility of every line, one line per watched message with
# its queue id, sender and verdict, nothing for unwatched mail, and never
# the webhook secret.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init syslog
need_root
command -v unshare >/dev/null 2>&1 || bail "unshare (util-linux) is needed"

DEV=$RUN/dev
mkdir -p "$DEV"
"$PYTHON3" - "$DEV/log" "$RUN/syslog.txt" <<'EOP' >"$RUN/syslogd.out" 2>&1 &
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
s.settimeout(300)           # bounded: the test is over long before
with open(out, "ab", buffering=0) as f:
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        f.write(d.replace(b"\n", b"\\n") + b"\n")
EOP
BG_PIDS="$BG_PIDS $!"
wait_for 10 test -S "$DEV/log" || bail "the syslog socket did not appear"

HPORT=$(free_port)
MPORT=$(free_port)
SPORT=$(free_port)
recv_start hooks "$HPORT" || bail "receiver did not start"
secret="whsec_$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
echo "$secret" >"$RUN/webhook.secret"
milter_conf "$RUN/jm.conf" \
    "socket = inet:$MPORT@127.0.0.1" \
    "watch_recipients = support@example.com" \
    "journey_webhook_url = $(recv_url hooks /crm)" \
    "journey_webhook_secret_file = $RUN/webhook.secret" \
    "log_level = debug"

# The daemon in its namespace: unshare and sh exec, so $! is its pid.
unshare -m sh -c '
	dev=$1; shift
	for d in null zero random urandom; do
		: >"$dev/$d" && mount --bind "/dev/$d" "$dev/$d" || exit 1
	done
	mount --bind "$dev" /dev || exit 1
	exec "$@"' sh "$DEV" "$top_builddir/journey-milter" -f -c "$RUN/jm.conf" \
    >>"$RUN/milter.log" 2>&1 &
MILTER_PID=$!
MILTER_ALL="$MILTER_ALL $MILTER_PID"
wait_for 10 port_open "$MPORT" || { sed 's/^/#   /' "$RUN/milter.log"; bail "journey-milter did not start"; }
pf_start "$SPORT" "inet:127.0.0.1:$MPORT" || bail "postfix did not start"

cat >"$RUN/watched.eml" <<'EOM'
From: Ann Lee <ann@customer.example>
To: support@example.com
Subject: Still no refund
Message-ID: <syslog-1@customer.example>

I returned the shoes a month ago and I still have no refund. This is
unacceptable and I am very disappointed.
EOM
cat >"$RUN/unwatched.eml" <<'EOM'
From: Bob <bob@customer.example>
To: sales@example.com
Subject: Quote request
Message-ID: <syslog-2@customer.example>

Please send me a quote.
EOM
check "watched message accepted" send ann@customer.example support@example.com "$RUN/watched.eml"
check "unwatched message accepted" send bob@customer.example sales@example.com "$RUN/unwatched.eml"
check "both delivered" wait_mail example.com 2 20
check "the CRM event sent" wait_recv hooks 1 20

qid=$(sed -n "s/^journey-milter\[[0-9]*\]: \([0-9A-F]\{6,\}\): from=<ann@customer.example>.*$/\1/p" \
    "$RUN/milter.log" | head -n 1)
check "the daemon's own log names the message ($qid)" test -n "$qid"
check "daemon stops on SIGTERM" milter_stop
check "syslog received lines" test -s "$RUN/syslog.txt"

"$PYTHON3" - "$RUN/syslog.txt" "$qid" "$MILTER_ALL" "$secret" >"$RUN/syslog.check" 2>&1 <<'EOP'
import re, sys
path, qid, pids, secret = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4]
lines = open(path, "rb").read().decode("utf-8", "replace").splitlines()
n = 0
def check(desc, cond):
    global n
    n += 1
    print(("ok " if cond else "not ok ") + desc)
head = re.compile(r"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d journey-milter\[(\d+)\]: (.*)$")
parsed = [head.match(l) for l in lines]
check("every line is a syslog line of journey-milter[PID] (%d lines)" % len(lines),
      len(lines) > 0 and all(parsed))
parsed = [m for m in parsed if m]
check("every line has the facility mail",
      all(int(m.group(1)) >> 3 == 2 for m in parsed))
check("the pid is the daemon's", all(m.group(2) in pids for m in parsed))
verdict = [m for m in parsed if m.group(3).startswith(qid + ": from=<ann@customer.example>")]
check("one line for the watched message, at info (%d)" % len(verdict),
      len(verdict) == 1 and int(verdict[0].group(1)) & 7 == 6)
check("it says the verdict and the actions",
      len(verdict) == 1 and "category=complaint" in verdict[0].group(3)
      and "webhook=1" in verdict[0].group(3))
check("nothing about the unwatched message",
      not any("bob@customer.example" in m.group(3) for m in parsed))
check("the webhook secret is never logged",
      not any(secret in l or secret[6:] in l for l in lines))
EOP
while read -r line; do
	case $line in
	"ok "*) ok "syslog: ${line#ok }" ;;
	*) not_ok "syslog: ${line#not ok }" ;;
	esac
done <"$RUN/syslog.check"
check "the syslog checks ran" test "$(grep -c '^ok \|^not ok ' "$RUN/syslog.check")" -eq 7
e2e_done
