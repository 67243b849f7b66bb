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
else
	diag "configured --without-systemdsystemunitdir: no unit installed"
	check "no unit installed" sh -c "! find '$dest' -name '*.service' | grep -q ."
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
