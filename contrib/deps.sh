# deps.sh: installs what journey-milter needs to build, test and run its
# demo on Debian 12.  Sourced by contrib/run-tests and contrib/demo/run.

JM_DEPS="build-essential autoconf automake pkg-config ca-certificates
	libmilter-dev libcurl4-openssl-dev libpcre2-dev libgmime-3.0-dev
	libjansson-dev libsqlite3-dev libxml2-dev libssl-dev check
	libhiredis-dev postfix swaks python3 sqlite3 groff-base redis-server openssl
	chromium python3-prometheus-client systemd clang libclang-rt-14-dev"

jm_install_deps() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "run as root: the dependencies are installed with apt-get" >&2
		return 1
	fi
	missing=
	for p in $JM_DEPS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q '^install ok installed' || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	echo "installing:$missing"
	# Postfix is used privately by the tests: keep the system's own unconfigured.
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq &&
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
