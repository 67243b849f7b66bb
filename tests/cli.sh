#!/bin/sh
# cli.sh: journey-milter -n and -V, as an operator meets them.
#
# A broken configuration, rule or template is reported as file:line:
# message with exit status 1; a clean one exits 0 and prints nothing.
. "${top_srcdir:-$(dirname "$0")/..}/tests/e2e/lib.sh"
e2e_init cli
JM="$top_builddir/journey-milter"

mkdir -p "$RUN/rules/replies"
cp "$top_srcdir"/rules/*.rules "$RUN/rules/"
cp "$top_srcdir"/rules/replies/* "$RUN/rules/replies/"
cat >"$RUN/good.conf" <<EOC
socket = inet:8894@127.0.0.1
rules_dir = $RUN/rules
watch_recipients = support@example.com
EOC

"$JM" -n -c "$RUN/good.conf" >"$RUN/out" 2>&1
check "a clean configuration: exit 0" test $? -eq 0
check "a clean configuration: nothing printed" test ! -s "$RUN/out"

cat >"$RUN/bad.conf" <<EOC
# line 1
socket = tcp:8894
rules_dir = $RUN/rules
max_scan_bytes = lots
watch_recipient = support@example.com
EOC
"$JM" -n -c "$RUN/bad.conf" >"$RUN/out" 2>&1
check "a broken configuration: exit 1" test $? -eq 1
check "bad socket reported at line 2" grep -q "^$RUN/bad.conf:2: socket: " "$RUN/out"
check "bad size reported at line 4" grep -q "^$RUN/bad.conf:4: max_scan_bytes: \"lots\" is not a size" "$RUN/out"
check "unknown key reported at line 5" grep -q "^$RUN/bad.conf:5: unknown key \"watch_recipient\"" "$RUN/out"

# A rules file with a broken pattern and an unknown category.
cat >"$RUN/rules/50-local.rules" <<'EOR'
language en
# a comment
rule LOCAL_BROKEN complaint body /(unclosed/i 5
rule LOCAL_UNKNOWN complain body /refund/i 5
EOR
"$JM" -n -c "$RUN/good.conf" >"$RUN/out" 2>&1
check "a broken rule: exit 1" test $? -eq 1
check "broken pattern named by file and line, with PCRE2's message" \
    grep -Eq "^$RUN/rules/50-local.rules:3: .*LOCAL_BROKEN.*offset [0-9]+: missing closing parenthesis" "$RUN/out"
check "unknown category named by file and line" \
    grep -q "^$RUN/rules/50-local.rules:4: .*unknown category \"complain\"" "$RUN/out"
rm "$RUN/rules/50-local.rules"

# A template with an unknown placeholder.
cp "$RUN/rules/replies/praise.en" "$RUN/praise.en.orig"
printf 'Subject: Re: {{subject}} [{{ticket}}]\n\nHello {{custmer_name}}\n' \
    >"$RUN/rules/replies/praise.en"
"$JM" -n -c "$RUN/good.conf" >"$RUN/out" 2>&1
check "a broken template: exit 1" test $? -eq 1
check "unknown placeholder named by file and line" \
    grep -q "^$RUN/rules/replies/praise.en:3: .*custmer_name" "$RUN/out"
cp "$RUN/praise.en.orig" "$RUN/rules/replies/praise.en"

# A category that replies with a template that does not exist.
sed 's/reply praise/reply thanks/' "$top_srcdir/rules/00-categories.rules" \
    >"$RUN/rules/00-categories.rules"
"$JM" -n -c "$RUN/good.conf" >"$RUN/out" 2>&1
check "a missing reply template: exit 1" test $? -eq 1
check "missing template named with the category's file and line" \
    grep -Eq "^$RUN/rules/00-categories.rules:[0-9]+: category praise: no reply template" "$RUN/out"
cp "$top_srcdir/rules/00-categories.rules" "$RUN/rules/"

# Fleet mode over TLS: the files named are loaded, without connecting.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$RUN/redis.key" -out "$RUN/redis.crt" -days 2 -subj /CN=jm-cli \
    >"$RUN/openssl.log" 2>&1
check "openssl made a certificate" test $? -eq 0
echo secret >"$RUN/redis.password"
{
	cat "$RUN/good.conf"
	echo "state = rediss://127.0.0.1:6380/0"
	echo "redis_password_file = $RUN/redis.password"
	echo "redis_tls_ca_file = $RUN/redis.crt"
	echo "redis_tls_cert_file = $RUN/redis.crt"
	echo "redis_tls_key_file = $RUN/redis.key"
} >"$RUN/tls.conf"
"$JM" -n -c "$RUN/tls.conf" >"$RUN/out" 2>&1
check "rediss:// with readable files: exit 0, nothing printed" \
    sh -c "[ $? -eq 0 ] && test ! -s '$RUN/out'"
sed "s|^redis_tls_ca_file = .*|redis_tls_ca_file = $RUN/none.crt|" \
    "$RUN/tls.conf" >"$RUN/tls-ca.conf"
"$JM" -n -c "$RUN/tls-ca.conf" >"$RUN/out" 2>&1
check "a missing CA file: exit 1, named" sh -c "[ $? -eq 1 ] && grep -q \
    '^$RUN/tls-ca.conf: redis_tls_ca_file $RUN/none.crt: No such file' '$RUN/out'"
sed "s|^redis_tls_key_file = .*|redis_tls_key_file = $RUN/redis.password|" \
    "$RUN/tls.conf" >"$RUN/tls-key.conf"
"$JM" -n -c "$RUN/tls-key.conf" >"$RUN/out" 2>&1
check "a key file without a key: exit 1, named" sh -c "[ $? -eq 1 ] && grep -q \
    '^$RUN/tls-key.conf: redis_tls_key_file $RUN/redis.password: ' '$RUN/out'"
check "and the password is not printed" sh -c "! grep -q secret '$RUN/out'"
sed "s|^redis_password_file = .*|redis_password_file = $RUN/none.password|" \
    "$RUN/tls.conf" >"$RUN/tls-pw.conf"
"$JM" -n -c "$RUN/tls-pw.conf" >"$RUN/out" 2>&1
check "a missing password file: exit 1, named" sh -c "[ $? -eq 1 ] && grep -q \
    '^$RUN/tls-pw.conf: redis_password_file $RUN/none.password: No such file' '$RUN/out'"
sed 's|^state = rediss:|state = redis:|' "$RUN/tls.conf" >"$RUN/tls-plain.conf"
"$JM" -n -c "$RUN/tls-plain.conf" >"$RUN/out" 2>&1
check "TLS files with redis://: exit 1, says rediss://" sh -c "[ $? -eq 1 ] && \
    grep -q 'write rediss://' '$RUN/out'"

"$JM" -n -c "$RUN/missing.conf" >"$RUN/out" 2>&1
check "a missing file: exit 1 and says so" \
    sh -c "[ $? -eq 1 ] && grep -q 'missing.conf: cannot open' '$RUN/out'"

"$JM" -V >"$RUN/out" 2>&1
check "-V prints the version" grep -q '^journey-milter [0-9]' "$RUN/out"
"$JM" -x >"$RUN/out" 2>&1
check "an unknown option: usage, exit 2" \
    sh -c "[ $? -eq 2 ] && grep -q '^usage: journey-milter' '$RUN/out'"
e2e_done
