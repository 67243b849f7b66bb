# lib.sh: the harness of the end-to-end tests.
#
# Each test script sources this file, gets a private run directory under
# the build tree, and may start a private Postfix on 127.0.0.1 (its own
# configuration, queue and maildirs, on free ports) with the built
# journey-milter in front of it.  Results are TAP lines; everything
# started is stopped on exit, whatever happens.  All loops are bounded.

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${POSTFIX:=/usr/sbin/postfix}"
: "${SWAKS:=swaks}"
: "${PYTHON3:=python3}"
: "${PORT_CLAIMS:=${TMPDIR:-/tmp}/journey-milter-test-ports}"

T_NUM=0
T_FAILED=0
PF_DIR=
MILTER_PID=
BG_PIDS=
# Every Postfix and daemon started, for e2e_cleanup: a test may run several
# instances, each in a run directory of its own (see pf_start, milter_start).
PF_ALL=
MILTER_ALL=

# e2e_init NAME: the run directory $RUN.  A unix socket path has at most
# 107 bytes: the milter sockets a test puts under $RUN need a short NAME
# (Postfix's own sockets live elsewhere, see pf_start).
e2e_init() {
	RUN="$top_builddir/tests/e2e/run/$1"
	rm -rf "$RUN"
	mkdir -p "$RUN"
	chmod 755 "$RUN"
	trap e2e_cleanup EXIT
	trap 'exit 1' INT TERM
}

ok() {
	T_NUM=$((T_NUM + 1))
	echo "ok $T_NUM - $*"
}

not_ok() {
	T_NUM=$((T_NUM + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_NUM - $*"
}

# check DESCRIPTION COMMAND...: one TAP line from a command's status.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

diag() {
	printf '# %s\n' "$@"
}

bail() {
	echo "Bail out! $*"
	exit 1
}

e2e_done() {
	echo "1..$T_NUM"
	[ "$T_FAILED" -eq 0 ]
}

need_root() {
	[ "$(id -u)" -eq 0 ] || bail "end-to-end tests start Postfix and must run as root"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on, claimed for
# this test.  Ports come from below the kernel's ephemeral range, so that no
# outgoing connection (Postfix's, curl's, a test client's) can take one
# between this choice and the server's bind; a claim file per port under
# $PORT_CLAIMS keeps tests running in parallel from choosing the same one.
# A claim whose test process is gone is taken over.
free_port() {
	"$PYTHON3" - "$PORT_CLAIMS" "$$" <<'EOP'
import errno, os, random, socket, sys
claims, owner = sys.argv[1], sys.argv[2]
os.makedirs(claims, exist_ok=True)
low = 32768
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    pass
def claim(port):
    path = os.path.join(claims, str(port))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                with open(path) as f:
                    os.kill(int(f.read().strip() or "0"), 0)
                return False
            except (OSError, ValueError) as e:
                if isinstance(e, PermissionError):
                    return False
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                continue
        os.write(fd, owner.encode())
        os.close(fd)
        return True
    return False
for _ in range(500):
    port = random.randrange(10000, low) if low > 12000 else 0
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        port = s.getsockname()[1]
    except OSError:
        continue
    finally:
        s.close()
    if claim(port):
        print(port)
        sys.exit(0)
sys.exit("free_port: no free port found")
EOP
}

# free_ports_release: gives back the ports this test claimed.
free_ports_release() {
	[ -d "$PORT_CLAIMS" ] || return 0
	for f in "$PORT_CLAIMS"/*; do
		[ -f "$f" ] && [ "$(cat "$f" 2>/dev/null)" = "$$" ] && rm -f "$f"
	done
	return 0
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds.
wait_for() {
	limit=$(($1 * 10))
	shift
	i=0
	while [ $i -lt $limit ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

port_open() {
	"$PYTHON3" -c 'import socket, sys
s = socket.socket()
s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

# milter_home: makes $MILTER_HOME for a daemon that runs as MILTER_USER
# (see milter_conf); call it first if the configuration names files in it.
milter_home() {
	[ -z "${MILTER_HOME:-}" ] || return 0
	MILTER_HOME=$(mktemp -d /tmp/jm-e2e.XXXXXX)
	chmod 755 "$MILTER_HOME"
	mkdir -p "$MILTER_HOME/run"
	chown "$MILTER_USER" "$MILTER_HOME/run"
	cp -R "$top_srcdir/rules" "$MILTER_HOME/rules"
	chmod -R a+rX "$MILTER_HOME/rules"
}

# conf_default "KEY = VALUE" LINES...: prints the first argument unless
# one of LINES sets KEY.
conf_default() {
	kv=$1
	shift
	for line in "$@"; do
		case $line in "${kv%% *} "*|"${kv%% *}="*) return 0 ;; esac
	done
	echo "$kv"
}

# milter_conf FILE LINES...: a configuration for a test daemon.  A line
# for user, allow_root, pid_file, state_dir or rules_dir replaces the
# default.  The daemon runs as root (allow_root = yes, as a test harness
# may) unless MILTER_USER names an unprivileged user: then it drops to
# that user, and its state, pid file and a copy of the rules go under
# $MILTER_HOME (milter_home), which that user can reach wherever the build
# tree is.  MILTER_STATE and MILTER_PIDFILE say where the defaults put
# the state and the pid file.
milter_conf() {
	f=$1
	shift
	if [ -n "${MILTER_USER:-}" ]; then
		milter_home
		MILTER_STATE=$MILTER_HOME/state
		MILTER_PIDFILE=$MILTER_HOME/run/journey-milter.pid
	else
		MILTER_STATE=$RUN/state
		MILTER_PIDFILE=$RUN/journey-milter.pid
		mkdir -p "$MILTER_STATE"
	fi
	{
		echo "# written by $(basename "$0")"
		if [ -n "${MILTER_USER:-}" ]; then
			conf_default "user = $MILTER_USER" "$@"
			conf_default "rules_dir = $MILTER_HOME/rules" "$@"
		else
			conf_default "user =" "$@"
			conf_default "allow_root = yes" "$@"
			conf_default "rules_dir = $top_srcdir/rules" "$@"
		fi
		conf_default "pid_file = $MILTER_PIDFILE" "$@"
		conf_default "state_dir = $MILTER_STATE" "$@"
		for line in "$@"; do
			echo "$line"
		done
	} >"$f"
}

# milter_start CONF PORT: starts the built daemon in the foreground on
# inet:PORT@127.0.0.1 (the socket key in CONF must say so) and waits for it.
# It logs to $RUN/milter.log; MILTER_PID is the latest daemon started.
milter_start() {
	"$top_builddir/journey-milter" -f -c "$1" >>"$RUN/milter.log" 2>&1 &
	MILTER_PID=$!
	MILTER_ALL="$MILTER_ALL $MILTER_PID"
	if ! wait_for 10 port_open "$2"; then
		diag "journey-milter did not start:"
		sed 's/^/#   /' "$RUN/milter.log"
		return 1
	fi
}

milter_stop() {
	[ -n "$MILTER_PID" ] || return 0
	kill -TERM "$MILTER_PID" 2>/dev/null
	stop_t0=$(date +%s)
	i=0
	while kill -0 "$MILTER_PID" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$MILTER_PID" 2>/dev/null; then
		diag "journey-milter did not stop within 30 s; killed"
		kill -KILL "$MILTER_PID" 2>/dev/null
		wait "$MILTER_PID" 2>/dev/null
		MILTER_PID=
		return 1
	fi
	wait "$MILTER_PID" 2>/dev/null
	MILTER_STATUS=$?
	diag "journey-milter stopped in $(($(date +%s) - stop_t0)) s, status $MILTER_STATUS"
	MILTER_PID=
	return 0
}

# pf_start [-d DOMAINS] SMTP_PORT MILTER_SOCKET [main.cf lines...]: a
# private Postfix in $RUN/postfix.  Mail to example.com, example.com.tr,
# example.ir and customer.example (or to the space-separated DOMAINS) is
# delivered to one maildir per domain under $RUN/postfix/mail/DOMAIN/.
# A main.cf line given here overrides the harness's line for that key.
# PF_DIR and PF_PORT are those of the latest Postfix started: to run a
# second one, set RUN to another directory first.
pf_start() {
	domains="example.com example.com.tr example.ir customer.example"
	if [ "$1" = -d ]; then
		domains=$2
		shift 2
	fi
	PF_DIR="$RUN/postfix"
	PF_PORT=$1
	pf_milter=$2
	shift 2
	# Postfix's commands reach postlogd through an absolute socket path,
	# $queue_directory/public/postlog, and a unix socket path has at most
	# 107 bytes: under a deep build tree (make distcheck's) "postfix
	# start" fails, saying so only on a terminal.  The queue therefore
	# lives in a short directory of its own, seen from the run directory
	# as $PF_DIR/queue, and pf_stop removes it.
	mkdir -p "$PF_DIR"
	rm -rf "$PF_DIR/queue"
	pf_queue=$(mktemp -d /tmp/jm-pf.XXXXXX) || return 1
	chmod 755 "$pf_queue"
	ln -s "$pf_queue" "$PF_DIR/queue"
	mkdir -p "$PF_DIR/etc" "$PF_DIR/data" "$PF_DIR/mail"
	chown postfix "$PF_DIR/data"
	chown postfix:postfix "$PF_DIR/mail"
	chmod 755 "$PF_DIR"
	: >"$PF_DIR/etc/vmailbox"
	for d in $domains; do
		echo "@$d $d/" >>"$PF_DIR/etc/vmailbox"
	done
	cat >"$PF_DIR/etc/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $pf_queue
data_directory = $PF_DIR/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.example
mydomain = test.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
relay_domains =
virtual_mailbox_domains = $domains
virtual_mailbox_base = $PF_DIR/mail
virtual_mailbox_maps = texthash:$PF_DIR/etc/vmailbox
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
virtual_minimum_uid = 1
maillog_file = $PF_DIR/maillog
maillog_file_prefixes = $PF_DIR
smtputf8_enable = no
in_flow_delay = 0
smtpd_error_sleep_time = 0
smtpd_milters = $pf_milter
non_smtpd_milters = $pf_milter
milter_default_action = accept
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 10s
milter_content_timeout = 20s
default_destination_concurrency_limit = 20
EOC
	for line in "$@"; do
		echo "$line" >>"$PF_DIR/etc/main.cf"
	done
	cat >"$PF_DIR/etc/master.cf" <<EOC
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOC
	if ! "$POSTFIX" -c "$PF_DIR/etc" start >"$RUN/postfix-start.log" 2>&1
	then
		# Postfix says why only to its log or, when the log cannot
		# be reached, to a terminal: "postfix check" gets one.
		diag "postfix did not start:"
		sed 's/^/#   /' "$RUN/postfix-start.log" "$PF_DIR/maillog" 2>/dev/null
		if command -v script >/dev/null 2>&1; then
			script -qec "$POSTFIX -c $PF_DIR/etc check" /dev/null 2>&1 |
			    sed 's/^/#   /'
		fi
		pf_stop
		return 1
	fi
	PF_ALL="$PF_ALL $PF_DIR"
	wait_for 10 port_open "$PF_PORT"
}

# pf_stop [DIR]: stops the Postfix of DIR (a PF_DIR), else the latest one.
pf_stop() {
	pf_dir=${1:-$PF_DIR}
	[ -n "$pf_dir" ] || return 0
	pf_queue=$(readlink "$pf_dir/queue")
	pf_master=
	[ -f "$pf_dir/queue/pid/master.pid" ] &&
	    pf_master=$(tr -d ' \n' <"$pf_dir/queue/pid/master.pid")
	"$POSTFIX" -c "$pf_dir/etc" stop >/dev/null 2>&1
	# The master exits a moment after "postfix stop" returns; its queue
	# is removed once it has.
	if [ -n "$pf_master" ]; then
		wait_for 10 sh -c "! kill -0 $pf_master 2>/dev/null" || true
	fi
	case $pf_queue in
	/tmp/jm-pf.*) rm -rf "$pf_queue" "$pf_dir/queue" ;;
	esac
	[ "$pf_dir" = "$PF_DIR" ] && PF_DIR=
	return 0
}

# pf_queue_empty: whether the private Postfix has nothing queued.
pf_queue_empty() {
	[ -z "$(find "$PF_DIR/queue/incoming" "$PF_DIR/queue/active" \
	    "$PF_DIR/queue/deferred" "$PF_DIR/queue/maildrop" -type f 2>/dev/null)" ]
}

# mailbox DOMAIN: the maildir's "new" directory for DOMAIN.
mailbox() {
	echo "$RUN/postfix/mail/$1/new"
}

mail_count() {
	find "$(mailbox "$1")" -type f 2>/dev/null | wc -l
}

# mail_at_least DOMAIN COUNT: whether DOMAIN has COUNT messages or more.
mail_at_least() {
	[ "$(mail_count "$1")" -ge "$2" ]
}

# wait_mail DOMAIN COUNT SECONDS (the count is taken anew at each poll)
wait_mail() {
	wait_for "$3" mail_at_least "$1" "$2"
}

# mail_with DOMAIN PATTERN: the delivered file whose text matches PATTERN.
mail_with() {
	grep -l -E -- "$2" "$(mailbox "$1")"/* 2>/dev/null | head -n 1
}

# header FILE NAME: every value of header NAME in FILE, one per line.
header() {
	awk -v name="$2" '
		BEGIN { n = tolower(name) ":" }
		/^$/ { exit }
		/^[ \t]/ { if (cur) printf "%s", $0; next }
		{ if (cur) print ""; cur = 0 }
		tolower(substr($0, 1, length(n))) == n {
			v = substr($0, length(n) + 1); sub(/^[ \t]+/, "", v)
			printf "%s", v; cur = 1
		}
		END { if (cur) print "" }' "$1"
}

# dheader FILE NAME: the first value of header NAME in FILE, RFC 2047
# decoded and unfolded, as a mail reader shows it; nothing if it is absent.
dheader() {
	"$PYTHON3" -c 'import email, sys
from email import policy
with open(sys.argv[1], "rb") as f:
    m = email.message_from_binary_file(f, policy=policy.default)
v = m.get(sys.argv[2])
if v is not None:
    print(str(v))' "$1" "$2"
}

# dbody FILE: the text of the first text/plain part of FILE, decoded.
dbody() {
	"$PYTHON3" -c 'import email, sys
from email import policy
with open(sys.argv[1], "rb") as f:
    m = email.message_from_binary_file(f, policy=policy.default)
p = m.get_body(preferencelist=("plain",))
if p is not None:
    sys.stdout.write(p.get_content())' "$1"
}

# send FROM TO FILE [swaks options...]: one message through the private Postfix.
send() {
	from=$1
	to=$2
	file=$3
	shift 3
	"$SWAKS" --server "127.0.0.1:$PF_PORT" --from "$from" --to "$to" \
	    --data "@$file" --silent 2 --timeout 20 "$@"
}

e2e_cleanup() {
	milter_stop
	for p in $MILTER_ALL; do
		MILTER_PID=$p
		kill -0 "$p" 2>/dev/null && milter_stop >/dev/null
	done
	MILTER_ALL=
	for d in $PF_ALL; do
		pf_stop "$d"
	done
	PF_ALL=
	for p in $BG_PIDS; do
		kill "$p" 2>/dev/null
	done
	BG_PIDS=
	case "${MILTER_HOME:-}" in
	/tmp/jm-e2e.*) rm -rf "$MILTER_HOME" ;;
	esac
	free_ports_release
}

# ---------------------------------------------------------------------------
# HTTP receiver
#
# receiver.py stands in for the CRM and the chat services on 127.0.0.1: it
# records every request as a JSON line in $RUN/recv-NAME.jsonl and answers
# as recv_set last told it (200 by default).  recvlog.py answers questions
# about that log; the tests decide what is right.  Several receivers may
# run at once under different names; each is stopped at exit.
# ---------------------------------------------------------------------------

# recv_start NAME PORT: starts receiver NAME on 127.0.0.1:PORT, appending
# to its log (so a restarted receiver keeps what it recorded), and waits
# until it listens.
recv_start() {
	rm -f "$RUN/recv-$1.ready"
	echo "$2" >"$RUN/recv-$1.port"
	"$PYTHON3" "$top_srcdir/tests/e2e/receiver.py" --port "$2" \
	    --log "$RUN/recv-$1.jsonl" --ready "$RUN/recv-$1.ready" \
	    >>"$RUN/recv-$1.out" 2>&1 &
	echo $! >"$RUN/recv-$1.pid"
	BG_PIDS="$BG_PIDS $!"
	if ! wait_for 10 test -s "$RUN/recv-$1.ready"; then
		diag "receiver $1 did not start:"
		sed 's/^/#   /' "$RUN/recv-$1.out"
		return 1
	fi
}

# recv_stop NAME: stops receiver NAME; its port refuses connections after.
recv_stop() {
	[ -s "$RUN/recv-$1.pid" ] || return 0
	rs_pid=$(cat "$RUN/recv-$1.pid")
	rm -f "$RUN/recv-$1.pid" "$RUN/recv-$1.ready"
	kill "$rs_pid" 2>/dev/null
	wait "$rs_pid" 2>/dev/null
	rs_left=
	for p in $BG_PIDS; do
		[ "$p" = "$rs_pid" ] || rs_left="$rs_left $p"
	done
	BG_PIDS=$rs_left
}

# recv_url NAME PATH: the URL of PATH on receiver NAME.
recv_url() {
	echo "http://127.0.0.1:$(cat "$RUN/recv-$1.port")$2"
}

# recv_q NAME QUESTION [ARGS] [--path P] [--status S]: recvlog.py on NAME's log.
recv_q() {
	rq_name=$1
	shift
	"$PYTHON3" "$top_srcdir/tests/e2e/recvlog.py" "$RUN/recv-$rq_name.jsonl" "$@"
}

# recv_count NAME [--path P] [--status S]: requests recorded.
recv_count() {
	rc_name=$1
	shift
	recv_q "$rc_name" count "$@"
}

# wait_recv NAME COUNT SECONDS [--path P] [--status S]: until NAME has
# recorded at least COUNT such requests.
wait_recv() {
	wr_name=$1
	wr_count=$2
	wr_secs=$3
	shift 3
	wait_for "$wr_secs" recv_at_least "$wr_name" "$wr_count" "$@"
}

recv_at_least() {
	ra_name=$1
	ra_count=$2
	shift 2
	[ "$(recv_count "$ra_name" "$@")" -ge "$ra_count" ]
}

# recv_set NAME KEY=VALUE...: how NAME answers from now on, e.g.
# "recv_set crm status=503 times=3" (3 answers of 503, then 200),
# "status=429 retry_after=2 times=1", "status=503 seconds=3",
# "status=400" (until told otherwise), "path=/slack" limits the rule.
recv_set() {
	rs_url=$(recv_url "$1" /_control)
	shift
	"$PYTHON3" - "$rs_url" "$@" <<'EOP'
import json, sys, urllib.request
rule = {}
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    try:
        rule[k] = int(v)
    except ValueError:
        try:
            rule[k] = float(v)
        except ValueError:
            rule[k] = v
req = urllib.request.Request(sys.argv[1], data=json.dumps(rule).encode(),
                             method="POST")
with urllib.request.urlopen(req, timeout=5) as r:
    sys.exit(0 if r.status == 200 else 1)
EOP
}

# recv_dump NAME [--path P] [--status S]: what NAME recorded, as "N KEY
# VALUE" lines in $RUN/recv-NAME.dump (see recvlog.py), for dumped.
recv_dump() {
	rd_name=$1
	shift
	recv_q "$rd_name" dump "$@" >"$RUN/recv-$rd_name.dump"
}

# dumped NAME N KEY: KEY of request N in NAME's last recv_dump, e.g.
# "dumped crm 2 journey.current.stage" or "dumped crm 1 @h:webhook-id".
dumped() {
	awk -v n="$2" -v k="$3" '$1 == n && $2 == k {
		sub(/^[^ ]+ [^ ]+ /, ""); print; exit }' "$RUN/recv-$1.dump"
}
