#!/bin/sh
# privileges.sh: whom the daemon runs as, the modes of what it creates,
# and what it never writes to its log.
#
# As root with no user to become, it refuses to start (unless allow_root
# = yes).  With "user = nobody" it opens its unix socket as root and then
# runs as nobody (real, effective and saved ids), with the socket 0660,
# the state directory 0750 and the store 0600.  Mail then flows through
# Postfix over that socket with a signed CRM webhook, a chat escalation
# whose URL holds a token, and an acknowledgement sent with SMTP AUTH
# over STARTTLS: the webhook secret, the SMTP password and the chat token
# are used, and none of them appears in the log, even at log_level debug.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init privs
need_root
id nobody >/dev/null 2>&1 || bail "no user nobody"

# Refusals, before anything is created.
cat >"$RUN/root.conf" <<EOC
socket = unix:$RUN/refused.sock
user =
pid_file =
state_dir = $RUN/refused-state
rules_dir = $top_srcdir/rules
EOC
"$top_builddir/journey-milter" -f -c "$RUN/root.conf" >"$RUN/root.out" 2>&1
check "as root with user empty: exit status 1" test $? -eq 1
check "with a message that says why and what to do" \
    grep -q "refusing to run as root: set user = .*allow_root = yes" \
    "$RUN/root.out"
check "nothing created" \
    sh -c "[ ! -e '$RUN/refused.sock' ] && [ ! -e '$RUN/refused-state' ]"
sed 's/^user =$/user = root/' "$RUN/root.conf" >"$RUN/root2.conf"
"$top_builddir/journey-milter" -f -c "$RUN/root2.conf" >"$RUN/root2.out" 2>&1
check "user = root is refused too" test $? -eq 1
"$top_builddir/journey-milter" -n -c "$RUN/root.conf" >"$RUN/check.out" 2>&1
check "journey-milter -n still checks such a file" test $? -eq 0

# The receivers: HTTP for the webhook and chat, SMTP with STARTTLS and AUTH
# for acknowledgements.  They record what they got and stop by themselves.
HPORT=$(free_port)
APORT=$(free_port)
SPORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -keyout "$RUN/key.pem" -out "$RUN/cert.pem" >/dev/null 2>&1 ||
    bail "cannot make a certificate"
cat >"$RUN/receivers.py" <<'EOP'
import base64, http.server, socketserver, ssl, sys, threading
run, hport, aport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def note(name, text):
    with open("%s/%s" % (run, name), "a") as f:
        f.write(text + "\n")
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        note("http.log", "%s sig=%s" % (self.path,
             self.headers.get("webhook-signature", "-")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
class S(socketserver.StreamRequestHandler):
    def handle(self):
        f, w = self.rfile, self.wfile
        def say(line):
            w.write(line.encode() + b"\r\n"); w.flush()
        say("220 sink ESMTP")
        tls = False
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.decode("latin-1").strip()
            up = cmd.upper()
            if up.startswith("EHLO"):
                say("250-sink")
                say("250-STARTTLS" if not tls else "250-AUTH PLAIN LOGIN")
                say("250 8BITMIME")
            elif up == "STARTTLS":
                say("220 go ahead")
                ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                ctx.load_cert_chain(run + "/cert.pem", run + "/key.pem")
                self.request = ctx.wrap_socket(self.request, server_side=True)
                f = self.request.makefile("rb")
                w = self.request.makefile("wb")
                tls = True
            elif up.startswith("AUTH PLAIN"):
                parts = cmd.split()
                if len(parts) < 3:
                    say("334 ")
                    parts.append(f.readline().decode().strip())
                creds = base64.b64decode(parts[2]).split(b"\0")
                note("auth.log", "tls=%s user=%s password=%s" % (
                    tls, creds[1].decode(), creds[2].decode()))
                say("235 ok")
            elif up.startswith("AUTH LOGIN"):
                say("334 VXNlcm5hbWU6")
                user = base64.b64decode(f.readline().strip()).decode()
                say("334 UGFzc3dvcmQ6")
                pw = base64.b64decode(f.readline().strip()).decode()
                note("auth.log", "tls=%s user=%s password=%s" % (tls, user, pw))
                say("235 ok")
            elif up == "DATA":
                say("354 go")
                msg = b""
                while True:
                    l = f.readline()
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    msg += l
                note("acks.log", "ack of %d bytes" % len(msg))
                say("250 queued")
            elif up == "QUIT":
                say("221 bye")
                return
            else:
                say("250 ok")
class TS(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True
h = http.server.ThreadingHTTPServer(("127.0.0.1", hport), H)
s = TS(("127.0.0.1", aport), S)
for srv in (h, s):
    threading.Thread(target=srv.serve_forever, daemon=True).start()
threading.Event().wait(300)
EOP
"$PYTHON3" "$RUN/receivers.py" "$RUN" "$HPORT" "$APORT" 2>"$RUN/receivers.err" &
BG_PIDS="$BG_PIDS $!"
wait_for 10 port_open "$HPORT" && wait_for 10 port_open "$APORT" ||
    bail "receivers did not start"

# The daemon, as nobody, on a unix socket Postfix (group postfix) can use.
MILTER_USER=nobody
milter_home
WEBHOOK_SECRET="raw-webhook-secret-$(date +%s)-Qx7"
SMTP_PASSWORD="smtp-pass-$(date +%s)-Zk9"
CHAT_TOKEN="chattoken$(date +%s)Hv3"
milter_conf "$RUN/jm.conf" \
    "socket = unix:$MILTER_HOME/run/jm.sock" \
    "group = postfix" \
    "log_level = debug" \
    "watch_recipients = support@example.com" \
    "journey_webhook_url = http://127.0.0.1:$HPORT/crm" \
    "journey_webhook_secret_file = $MILTER_HOME/run/webhook.secret" \
    "chat_target = ops slack http://127.0.0.1:$HPORT/services/T0/B0/$CHAT_TOKEN" \
    "ack_from = Support <support@example.com>" \
    "ack_smtp_url = smtp://127.0.0.1:$APORT" \
    "ack_smtp_user = support" \
    "ack_smtp_password_file = $MILTER_HOME/run/smtp.password" \
    "tls_verify = no"
printf '%s\n' "$WEBHOOK_SECRET" >"$MILTER_HOME/run/webhook.secret"
printf '%s\n' "$SMTP_PASSWORD" >"$MILTER_HOME/run/smtp.password"
chown nobody "$MILTER_HOME/run/webhook.secret" "$MILTER_HOME/run/smtp.password"
chmod 600 "$MILTER_HOME/run/webhook.secret" "$MILTER_HOME/run/smtp.password"
sock=$MILTER_HOME/run/jm.sock

"$top_builddir/journey-milter" -f -c "$RUN/jm.conf" >>"$RUN/milter.log" 2>&1 &
MILTER_PID=$!
wait_for 10 test -S "$sock" || bail "journey-milter did not start: $(cat "$RUN/milter.log")"
wait_for 10 test -s "$MILTER_HOME/run/journey-milter.pid"

uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$MILTER_PID/status")
nobody=$(id -u nobody)
check "runs as nobody: real, effective, saved and fs uid ($uids)" \
    test "$uids" = "$nobody $nobody $nobody $nobody"
gids=$(awk '/^Gid:/ { print $2, $3 }' "/proc/$MILTER_PID/status")
pgid=$(getent group postfix | cut -d: -f3)
check "in group postfix ($gids)" test "$gids" = "$pgid $pgid"
groups=$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$MILTER_PID/status")
check "with no supplementary group but postfix ($groups)" \
    sh -c "[ -z \"\$(echo $groups | tr ' ' '\n' | grep -vx '$pgid')\" ]"

mode() { stat -c '%a %U' "$1" 2>/dev/null; }
check "socket mode 0660, owner nobody ($(mode "$sock"))" \
    test "$(mode "$sock")" = "660 nobody"
check "socket group postfix" test "$(stat -c %G "$sock")" = postfix
check "state_dir mode 0750, owner nobody ($(mode "$MILTER_STATE"))" \
    test "$(mode "$MILTER_STATE")" = "750 nobody"
check "store mode 0600, owner nobody ($(mode "$MILTER_STATE/journey.db"))" \
    test "$(mode "$MILTER_STATE/journey.db")" = "600 nobody"
check "pid file holds the daemon's pid" \
    test "$(cat "$MILTER_HOME/run/journey-milter.pid")" = "$MILTER_PID"

pf_start "$SPORT" "unix:$sock" || bail "postfix did not start"
cat >"$RUN/complaint.eml" <<'EOM'
From: Dana <dana@customer.example>
To: support@example.com
Subject: still no refund
Message-ID: <priv-1@customer.example>

I am very disappointed: three weeks and still no refund. This is not
acceptable, please refund me now.
EOM
check "a complaint through Postfix and the unix socket" \
    send dana@customer.example support@example.com "$RUN/complaint.eml"
check "delivered" wait_mail example.com 1 20
f=$(mail_with example.com 'priv-1@customer.example')
check "tagged by the milter running as nobody" \
    grep -q '^X-Journey-Category: complaint' "$f"
check "webhook delivered, signed" \
    wait_for 20 grep -q '^/crm sig=v1,' "$RUN/http.log"
check "chat escalation delivered" \
    wait_for 20 grep -q "^/services/T0/B0/$CHAT_TOKEN" "$RUN/http.log"
check "acknowledgement sent with AUTH after STARTTLS" \
    wait_for 20 grep -q "^tls=True user=support password=$SMTP_PASSWORD\$" \
    "$RUN/auth.log"
check "acknowledgement received" wait_for 10 test -s "$RUN/acks.log"
for f in "$MILTER_STATE"/journey.db-wal "$MILTER_STATE"/journey.db-shm; do
	[ -e "$f" ] || continue
	check "$(basename "$f") mode 0600 ($(mode "$f"))" \
	    test "$(mode "$f")" = "600 nobody"
done

check "daemon stops on SIGTERM" milter_stop
check "clean exit" test "${MILTER_STATUS:-1}" -eq 0
check "the log is not empty (debug)" test "$(wc -l <"$RUN/milter.log")" -gt 5
check "the webhook secret is in no log line" \
    sh -c "! grep -rqF -- '$WEBHOOK_SECRET' '$RUN/milter.log' '$PF_DIR/maillog'"
check "the SMTP password is in no log line" \
    sh -c "! grep -rqF -- '$SMTP_PASSWORD' '$RUN/milter.log' '$PF_DIR/maillog'"
check "the chat URL token is in no log line" \
    sh -c "! grep -rqF -- '$CHAT_TOKEN' '$RUN/milter.log' '$PF_DIR/maillog'"
e2e_done
