#!/bin/sh
# install.sh: "make install" puts every file where a Debian admin looks for
# it, with the configured paths filled in, and never overwrites what the
# admin changed: a second install keeps changed files and puts the shipped
# version beside each as FILE.dist; "make uninstall" removes only files
# still as shipped.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${MAKE:=make}"

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
diag() { printf '# %s\n' "$@"; }

for v in prefix bindir sbindir sysconfdir mandir; do
	eval "val=\${$v:-}"
	if [ -z "$val" ]; then
		echo "Bail out! \$$v is not set (run through make check)"
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/jm-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
etc=$dest$sysconfdir/journey-milter

# A make of its own: not a job of the "make check" that runs this test.
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $MAKE -C "$top_builddir" "$@"
}

if mk install DESTDIR="$dest" >"$tmp/install1.log" 2>&1; then
	ok "make install DESTDIR=..."
else
	not_ok "make install DESTDIR=..."
	sed 's/^/#   /' "$tmp/install1.log"
	echo "1..$n"
	exit 1
fi

check "daemon in sbindir ($sbindir)" test -x "$dest$sbindir/journey-milter"
check "journeyctl in bindir ($bindir)" test -x "$dest$bindir/journeyctl"
check "configuration in $sysconfdir/journey-milter" \
    cmp -s "$top_srcdir/contrib/journey-milter.conf" "$etc/journey-milter.conf"
check "installed configuration watches nothing until told" \
    grep -Eq '^watch_recipients[[:space:]]*=[[:space:]]*$' "$etc/journey-milter.conf"

# Every shipped rule and template file, as shipped.
missing=
for f in $(cd "$top_srcdir" && find rules -type f | sort); do
	cmp -s "$top_srcdir/$f" "$etc/$f" || missing="$missing $f"
done
check "every file of rules/ installed under $sysconfdir/journey-milter/rules${missing:+ (missing:$missing)}" \
    test -z "$missing"

for m in man8/journey-milter.8 man8/journeyctl.8 man5/journey-milter.conf.5 \
    man5/journey-rules.5 man5/journey-webhooks.5; do
	check "man page $m" test -s "$dest$mandir/$m"
done
check "man pages name the configured paths (no @...@ left)" \
    sh -c "! grep -l '@[A-Z]*@' '$dest$mandir'/man*/* && grep -q '$sysconfdir/journey-milter' '$dest$mandir/man8/journey-milter.8'"

if [ -n "${systemdsystemunitdir:-}" ]; then
	unit=$dest$systemdsystemunitdir/journey-milter.service
	check "systemd unit in $systemdsystemunitdir" test -s "$unit"
	check "unit starts the installed daemon with the installed configuration" \
	    grep -qx "ExecStart=$sbindir/journey-milter -f -c $sysconfdir/journey-milter/journey-milter.conf" "$unit"
	check "unit has no @...@ left" sh -c "! grep -q '@[A-Z]*@' '$unit'"
	# systemd checks the unit offline, against the files as installed here.
	sed "s|$sbindir/|$dest$sbindir/|g" "$unit" >"$tmp/journey-milter.service"
	if systemd-analyze verify --man=no "$tmp/journey-milter.service" \
	    >"$tmp/verify.log" 2>&1; then
		ok "systemd-analyze verify accepts the unit"
	else
		not_ok "systemd-analyze verify accepts the unit"
		sed 's/^/#   /' "$tmp/verify.log"
	fi
	# Hardened: systemd's own measure, offline, and the settings meant.
	if systemd-analyze security --offline=true --threshold=20 \
	    "$tmp/journey-milter.service" >"$tmp/security.log" 2>&1; then
		ok "systemd-analyze security: exposure $(sed -n 's/.*exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$tmp/security.log") <= 2.0"
	else
		not_ok "systemd-analyze security: exposure at most 2.0"
		grep -E 'exposure|^✗' "$tmp/security.log" | sed 's/^/#   /'
	fi
	for setting in User=journey Group=journey CapabilityBoundingSet= \
	    AmbientCapabilities= NoNewPrivileges=yes ProtectSystem=strict \
	    ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
	    RestrictSUIDSGID=yes RestrictAddressFamilies='AF_UNIX AF_INET AF_INET6' \
	    SystemCallFilter=@system-service SystemCallArchitectures=native \
	    RuntimeDirectory=journey-milter StateDirectory=journey-milter; do
		check "unit sets $setting" grep -qxF "$setting" "$unit"
	done

	# The pid file where the unit implies it: systemd makes
	# RuntimeDirectory= (and StateDirectory=) for User=, or for root if
	# there is none, with their modes, and the daemon writes its pid
	# file as the user it runs as.  The daemon installed here runs as the
	# unit would run it, nobody standing in for the unit's user: it must
	# write the pid file there and remove it at exit.
	u_user=$(sed -n 's/^User=//p' "$unit")
	u_rt=$(sed -n 's/^RuntimeDirectory=//p' "$unit")
	u_rtmode=$(sed -n 's/^RuntimeDirectoryMode=//p' "$unit")
	u_stmode=$(sed -n 's/^StateDirectoryMode=//p' "$unit")
	def_pid=$(sed -n 's/^Default: \(.*journey-milter\.pid\)\.$/\1/p' \
	    "$dest$mandir/man5/journey-milter.conf.5")
	case ${def_pid%/*} in
	/run/"$u_rt"|/var/run/"$u_rt")
		ok "the default pid_file $def_pid is in the unit's RuntimeDirectory" ;;
	*)
		diag "built with pid_file $def_pid by default: under the unit, set pid_file = /run/$u_rt/journey-milter.pid" ;;
	esac
	if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
		owner=root
		[ -z "$u_user" ] || owner=nobody
		chmod 755 "$tmp"
		mkdir -p "$tmp/run/$u_rt" "$tmp/state"
		chown "$owner" "$tmp/run/$u_rt" "$tmp/state"
		chmod "${u_rtmode:-0755}" "$tmp/run/$u_rt"
		chmod "${u_stmode:-0755}" "$tmp/state"
		pidf=$tmp/run/$u_rt/journey-milter.pid
		{
			echo "socket = unix:$tmp/run/$u_rt/journey-milter.sock"
			echo "pid_file = $pidf"
			echo "state_dir = $tmp/state"
			echo "rules_dir = $etc/rules"
			# Without User=, the daemon starts as root and drops.
			[ -n "$u_user" ] || echo "user = nobody"
		} >"$tmp/unit.conf"
		chmod 644 "$tmp/unit.conf"
		if [ -n "$u_user" ]; then
			setpriv --reuid=nobody --regid=nogroup --clear-groups \
			    "$dest$sbindir/journey-milter" -f -c "$tmp/unit.conf" \
			    >"$tmp/unit-daemon.log" 2>&1 &
		else
			"$dest$sbindir/journey-milter" -f -c "$tmp/unit.conf" \
			    >"$tmp/unit-daemon.log" 2>&1 &
		fi
		daemon=$!
		i=0
		while [ ! -s "$pidf" ] && [ $i -lt 100 ] &&
		    kill -0 "$daemon" 2>/dev/null; do
			sleep 0.1
			i=$((i + 1))
		done
		check "as the unit runs it (${u_user:+User=$u_user, }as nobody), the daemon writes its pid file in the RuntimeDirectory" \
		    test "$(cat "$pidf" 2>/dev/null)" = "$daemon"
		check "and runs unprivileged" \
		    test "$(awk '/^Uid:/ { print $3 }' /proc/$daemon/status 2>/dev/null)" = "$(id -u nobody)"
		kill -TERM "$daemon" 2>/dev/null
		i=0
		while kill -0 "$daemon" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$daemon" 2>/dev/null
		wait "$daemon"
		check "it stops on SIGTERM with status 0" test $? -eq 0
		check "and removes its pid file" test ! -e "$pidf"
		grep -v 'listening on\|stopping' "$tmp/unit-daemon.log" | sed 's/^/#   /'
	else
		diag "not root, or no user nobody: the unit's pid file is not tried"
	fi
else
	diag "configured --without-systemdsystemunitdir: no unit installed"
	check "no unit installed" sh -c "! find '$dest' -name '*.service' | grep -q ."
fi

# The Postfix snippets are what Postfix takes: no unknown or misspelt
# parameter in main.cf or in master.cf's -o options.
mkdir -p "$tmp/postfix"
cp "$top_srcdir/contrib/postfix/main.cf" "$top_srcdir/contrib/postfix/master.cf" \
    "$tmp/postfix/"
if command -v postconf >/dev/null 2>&1; then
	postconf -c "$tmp/postfix" -n >"$tmp/postconf.out" 2>"$tmp/postconf.err"
	pc_rc=$?
	check "postconf -n reads contrib/postfix/main.cf and master.cf without a warning" \
	    test "$pc_rc" -eq 0 -a ! -s "$tmp/postconf.err"
	sed 's/^/#   /' "$tmp/postconf.err"
	check "and takes its milter settings" \
	    grep -qx 'smtpd_milters = unix:journey-milter/journey-milter.sock' "$tmp/postconf.out"
	check "postconf -M reads its service" \
	    sh -c "postconf -c '$tmp/postfix' -M | grep -q '^127.0.0.1:10027 *inet .* smtpd -o'"
else
	diag "no postconf: contrib/postfix is not checked"
fi

# The installed daemon checks the installed configuration and rules.  The
# rules_dir it defaults to is the installed one without DESTDIR, so the
# check here points it at DESTDIR's copy.
cp "$etc/journey-milter.conf" "$tmp/check.conf"
echo "rules_dir = $etc/rules" >>"$tmp/check.conf"
check "installed journey-milter -n accepts the installed configuration and rules" \
    "$dest$sbindir/journey-milter" -n -c "$tmp/check.conf"
if [ -d "$sysconfdir/journey-milter/rules" ]; then
	check "default rules_dir $sysconfdir/journey-milter/rules is used" \
	    "$dest$sbindir/journey-milter" -n -c "$etc/journey-milter.conf"
else
	"$dest$sbindir/journey-milter" -n -c "$etc/journey-milter.conf" \
	    >"$tmp/default.log" 2>&1
	check "default rules_dir is $sysconfdir/journey-milter/rules" \
	    grep -q "$sysconfdir/journey-milter/rules" "$tmp/default.log"
fi

# The admin changes the configuration and a rule, and loses a template.
echo "watch_recipients = support@example.com" >"$tmp/conf.local"
sed '/^watch_recipients/d' "$etc/journey-milter.conf" >>"$tmp/conf.local"
cp "$tmp/conf.local" "$etc/journey-milter.conf"
printf '\n# local: nothing more\n' >>"$etc/rules/en.rules"
cp "$etc/rules/en.rules" "$tmp/en.rules.local"
rm "$etc/rules/replies/praise.tr"

if mk install DESTDIR="$dest" >"$tmp/install2.log" 2>&1; then
	ok "second make install"
else
	not_ok "second make install"
	sed 's/^/#   /' "$tmp/install2.log"
fi
check "changed configuration kept" cmp -s "$tmp/conf.local" "$etc/journey-milter.conf"
check "shipped configuration beside it as journey-milter.conf.dist" \
    cmp -s "$top_srcdir/contrib/journey-milter.conf" "$etc/journey-milter.conf.dist"
check "changed rule file kept" cmp -s "$tmp/en.rules.local" "$etc/rules/en.rules"
check "shipped rule file beside it as en.rules.dist" \
    cmp -s "$top_srcdir/rules/en.rules" "$etc/rules/en.rules.dist"
check "install says which files it kept" \
    grep -q "en.rules: changed here, kept; the shipped version is .*en.rules.dist" "$tmp/install2.log"
check "a removed template is installed again" \
    cmp -s "$top_srcdir/rules/replies/praise.tr" "$etc/rules/replies/praise.tr"
dists=$(find "$etc" -name '*.dist' | wc -l)
check "no .dist for unchanged files ($dists .dist files)" test "$dists" -eq 2
{ cat "$etc/journey-milter.conf"; echo "rules_dir = $etc/rules"; } \
    >"$tmp/check2.conf"
check "the daemon accepts the admin's configuration and rules" \
    "$dest$sbindir/journey-milter" -n -c "$tmp/check2.conf"

if mk uninstall DESTDIR="$dest" >"$tmp/uninstall.log" 2>&1; then
	ok "make uninstall"
else
	not_ok "make uninstall"
	sed 's/^/#   /' "$tmp/uninstall.log"
fi
left=$(cd "$dest" && find . -type f | sort | tr '\n' ' ')
check "uninstall leaves only the admin's changed files ($left)" \
    test "$left" = ".$sysconfdir/journey-milter/journey-milter.conf .$sysconfdir/journey-milter/rules/en.rules "

echo "1..$n"
[ "$failed" -eq 0 ]
