/*
 * test_conf.c: the configuration parser, every error path included.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "journey/conf.h"
#include "journey/diag.h"

static char *
write_temp(const char *text)
{
	char	*path = strdup("/tmp/jm-conf-XXXXXX");
	int	 fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* A file with an error: the first diagnostic must be WANT at LINE. */
static const struct bad_case {
	const char	*label;
	const char	*text;
	unsigned	 line;
	const char	*want;
} bad_cases[] = {
	{ "unknown key", "socket = unix:/tmp/s\nsockett = x\n", 2,
	    "unknown key \"sockett\"" },
	{ "no equals sign", "# c\n\nsocket unix:/tmp/s\n", 3,
	    "expected \"key = value\"" },
	{ "relative unix socket", "socket = unix:tmp/s\n", 1,
	    "the path must be absolute" },
	{ "unix socket path too long", "socket = unix:/var/spool/postfix/"
	    "private/journey-milter/a-directory-name-long-enough-to-pass-the-"
	    "limit/journey-milter.sock\n", 1,
	    "bytes, a unix socket's at most 107" },
	{ "bad socket kind", "socket = tcp:1234\n", 1,
	    "is not unix:/path, inet:PORT@HOST or inet:HOST:PORT" },
	{ "bad port", "socket = inet:99999@127.0.0.1\n", 1, "bad port" },
	{ "no port", "socket = inet:@127.0.0.1\n", 1, "no port" },
	{ "bad bool", "skip_authenticated = maybe\n", 1,
	    "\"maybe\" is not yes or no" },
	{ "bad size", "max_scan_bytes = 12q\n", 1, "is not a size" },
	{ "size too small", "max_scan_bytes = 10\n", 1,
	    "max_scan_bytes must be between" },
	{ "size overflow", "max_scan_bytes = 99999999999999999999\n", 1,
	    "is not a size" },
	{ "size overflow by its unit", "max_scan_bytes = 9999999999999999g\n",
	    1, "is not a size" },
	{ "time overflow by its unit", "max_retry_age = 99999999999999999w\n",
	    1, "is not a time" },
	{ "bad int", "max_headers = ten\n", 1, "is not a whole number" },
	{ "int too big", "max_headers = 100001\n", 1,
	    "max_headers must be between 10 and 100000" },
	{ "bad time", "max_retry_age = 3y\n", 1, "is not a time" },
	{ "bad log level", "log_level = loud\n", 1,
	    "\"loud\" is not err, warning, notice, info or debug" },
	{ "bad on_error", "on_error = reject\n", 1,
	    "is not accept or tempfail" },
	{ "bad state", "state = mysql://db\n", 1,
	    "is not sqlite or a redis:// URL" },
	{ "redis over TLS, bad port", "state = rediss://r.example:x\n", 1,
	    "bad port" },
	{ "bad redis_tls_verify", "redis_tls_verify = maybe\n", 1,
	    "\"maybe\" is not yes or no" },
	{ "bad redis port", "state = redis://r.example:0/1\n", 1,
	    "bad port" },
	{ "bad redis_down", "redis_down = queue\n", 1,
	    "\"queue\" is not withhold or send" },
	{ "redis_timeout too small", "redis_timeout = 5\n", 1,
	    "redis_timeout must be between 10 and 10000" },
	{ "duplicate key", "socket = unix:/a\n\nsocket = unix:/b\n", 3,
	    "socket is already set at line 1" },
	{ "bad stage", "initial_stage = adore\n", 1, "is not a journey stage" },
	{ "bad webhook url", "journey_webhook_url = ftp://x\n", 1,
	    "is not an http:// or https:// URL" },
	{ "bad smtp url", "ack_smtp_url = http://x\n", 1,
	    "is not an smtp:// or smtps:// URL" },
	{ "chat target too short", "chat_target = ops slack\n", 1,
	    "expected NAME FORMAT URL" },
	{ "chat target bad format", "chat_target = ops irc http://x\n", 1,
	    "unknown chat format \"irc\"" },
	{ "chat target unknown option", "# chat\n\nchat_target = ops "
	    "mattermost http://x/1 complaint colour=red\n", 3,
	    "chat_target: unknown option \"colour\" (username, icon_url, "
	    "icon_emoji, channel or rate)" },
	{ "chat target icon_url", "chat_target = ops mattermost http://x/1 "
	    "icon_url=file:///etc/passwd\n", 1,
	    "chat_target: icon_url=\"file:///etc/passwd\" is not an http:// "
	    "or https:// URL" },
	{ "chat target option for another format", "chat_target = ops teams "
	    "http://x/1 username=bot\n", 1,
	    "chat_target: username= is for the mattermost format only" },
	{ "chat target rate", "chat_target = ops slack http://x/1 rate=fast\n",
	    1, "chat_target: rate=\"fast\" is not a whole number" },
	{ "chat target bad url", "chat_target = ops slack hooks.example/x\n",
	    1, "chat_target: \"hooks.example/x\" is not an http:// or "
	    "https:// URL" },
	{ "chat target ftp url", "chat_target = ops slack ftp://x complaint\n",
	    1, "is not an http:// or https:// URL" },
	{ "bad language", "default_language = English!\n", 1,
	    "is not a language code" },
};

START_TEST(test_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	struct jm_diag	 d;
	struct jm_conf	*conf = (void *)1;
	char		*path = write_temp(c->text), want[512];

	jm_diag_init(&d);
	ck_assert_msg(jm_conf_load(path, &d, &conf) == -1, "%s: accepted",
	    c->label);
	ck_assert_ptr_null(conf);
	ck_assert_msg(d.n >= 1, "%s: no diagnostic", c->label);
	snprintf(want, sizeof(want), "%s:%u: ", path, c->line);
	ck_assert_msg(strncmp(jm_diag_line(&d, 0), want, strlen(want)) == 0,
	    "%s: got \"%s\", want prefix \"%s\"", c->label,
	    jm_diag_line(&d, 0), want);
	ck_assert_msg(strstr(jm_diag_line(&d, 0), c->want) != NULL,
	    "%s: got \"%s\", want \"%s\"", c->label, jm_diag_line(&d, 0),
	    c->want);
	jm_diag_free(&d);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_every_error_reported)
{
	struct jm_diag	 d;
	struct jm_conf	*conf;
	char		*path = write_temp("a = 1\nb = 2\nmax_headers = x\n");

	jm_diag_init(&d);
	ck_assert_int_eq(jm_conf_load(path, &d, &conf), -1);
	ck_assert_uint_eq(d.n, 3);
	jm_diag_free(&d);
	unlink(path);
	free(path);
}
END_TEST

/*
 * A long line between two others: past 8190 bytes it is an error of its
 * own, the rest of it is skipped, and the next line keeps its number.
 */
static const struct long_case {
	const char	*label;
	size_t		 len;		/* of the long line, newline aside */
	int		 newline;	/* or the file ends with it */
	int		 too_long;
} long_cases[] = {
	{ "8190 bytes, the longest", 8190, 1, 0 },
	{ "8191 bytes", 8191, 1, 1 },
	{ "20000 bytes", 20000, 1, 1 },
	{ "8190 bytes at the end, no newline", 8190, 0, 0 },
	{ "8191 bytes at the end, no newline", 8191, 0, 1 },
};

START_TEST(test_long_line)
{
	const struct long_case *c = &long_cases[_i];
	struct jm_diag	 d;
	struct jm_conf	*conf;
	char		*text, *path, want[512];
	size_t		 n = 0;

	text = malloc(c->len + 64);
	ck_assert_ptr_nonnull(text);
	n += (size_t)sprintf(text, "sockett = x\n#");
	memset(text + n, 'x', c->len - 1);
	n += c->len - 1;
	if (c->newline)
		n += (size_t)sprintf(text + n, "\nsockettt = y\n");
	text[n] = '\0';
	path = write_temp(text);

	jm_diag_init(&d);
	ck_assert_int_eq(jm_conf_load(path, &d, &conf), -1);
	ck_assert_uint_eq(d.n, 1 + (c->too_long ? 1 : 0) +
	    (c->newline ? 1 : 0));
	snprintf(want, sizeof(want), "%s:1: unknown key \"sockett\"", path);
	ck_assert_str_eq(jm_diag_line(&d, 0), want);
	if (c->too_long) {
		snprintf(want, sizeof(want),
		    "%s:2: line longer than 8190 bytes", path);
		ck_assert_msg(strcmp(jm_diag_line(&d, 1), want) == 0,
		    "%s: got \"%s\"", c->label, jm_diag_line(&d, 1));
	}
	if (c->newline) {
		snprintf(want, sizeof(want), "%s:3: unknown key \"sockettt\"",
		    path);
		ck_assert_msg(strcmp(jm_diag_line(&d, d.n - 1), want) == 0,
		    "%s: got \"%s\"", c->label, jm_diag_line(&d, d.n - 1));
	}
	jm_diag_free(&d);
	unlink(path);
	free(path);
	free(text);
}
END_TEST

/* A file that opens but cannot be read: a directory. */
START_TEST(test_read_error)
{
	struct jm_diag	 d;
	struct jm_conf	*conf = (void *)1;
	char		 dir[] = "/tmp/jm-conf-dir-XXXXXX", want[512];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	jm_diag_init(&d);
	ck_assert_int_eq(jm_conf_load(dir, &d, &conf), -1);
	ck_assert_ptr_null(conf);
	ck_assert_uint_eq(d.n, 1);
	snprintf(want, sizeof(want), "%s: read error: Is a directory", dir);
	ck_assert_str_eq(jm_diag_line(&d, 0), want);
	jm_diag_free(&d);
	rmdir(dir);
}
END_TEST

START_TEST(test_missing_file)
{
	struct jm_diag	 d;
	struct jm_conf	*conf;

	jm_diag_init(&d);
	ck_assert_int_eq(jm_conf_load("/nonexistent/jm.conf", &d, &conf), -1);
	ck_assert_str_eq(jm_diag_line(&d, 0),
	    "/nonexistent/jm.conf: cannot open: No such file or directory");
	jm_diag_free(&d);
}
END_TEST

/* A relative path is the configuration file's neighbour. */
START_TEST(test_relative_paths)
{
	static const char text[] = "rules_dir = rules\n"
	    "state_dir = ../state\n"
	    "pid_file = /run/jm.pid\n"
	    "journey_webhook_secret_file = secret\n"
	    "ack_from = support\n";
	struct jm_diag	 d;
	struct jm_conf	*c;
	char		 dir[] = "/tmp/jm-conf-dir-XXXXXX", path[256], want[320];
	FILE		*fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/jm.conf", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_ge(fputs(text, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	jm_diag_init(&d);
	ck_assert_int_eq(jm_conf_load(path, &d, &c), 0);
	jm_diag_free(&d);
	snprintf(want, sizeof(want), "%s/rules", dir);
	ck_assert_str_eq(c->rules_dir, want);
	snprintf(want, sizeof(want), "%s/../state", dir);
	ck_assert_str_eq(c->state_dir, want);
	snprintf(want, sizeof(want), "%s/secret", dir);
	ck_assert_str_eq(c->journey_webhook_secret_file, want);
	ck_assert_str_eq(c->pid_file, "/run/jm.pid");
	/* Not a path: as written. */
	ck_assert_str_eq(c->ack_from, "support");
	/* An empty path stays empty: "none". */
	ck_assert_str_eq(c->redis_password_file, "");
	jm_conf_unref(c);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_good)
{
	struct jm_diag	 d;
	struct jm_conf	*conf;
	char		*path = write_temp(
	    "# journey-milter.conf\n"
	    "  socket = inet:127.0.0.1:8894  \n"
	    "watch_recipients = support@example.com, @help.example.org\n"
	    "watch_recipients = destek.example.com.tr\n"
	    "skip_authenticated = no\n"
	    "max_scan_bytes = 128k\n"
	    "max_retry_age = 2h\n"
	    "log_level = debug\n"
	    "on_error = tempfail\n"
	    "state = rediss://10.0.0.7:6380/2\n"
	    "redis_tls_ca_file = /etc/journey-milter/redis-ca.pem\n"
	    "redis_down = send\n"
	    "redis_timeout = 150\n"
	    "user =\n"
	    "chat_target = ops slack https://hooks.example.com/x complaint\n"
	    "chat_target = retention mattermost https://t.example.com/y "
	    "cancellation username=\"Retention desk\" rate=5\n");

	jm_diag_init(&d);
	ck_assert_int_eq(jm_conf_load(path, &d, &conf), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_str_eq(conf->socket, "inet:127.0.0.1:8894");
	ck_assert_uint_eq(conf->watch_recipients.n, 3);
	ck_assert_int_eq(conf->skip_authenticated, 0);
	ck_assert_int_eq(conf->max_scan_bytes, 128 * 1024);
	ck_assert_int_eq(conf->max_retry_age, 7200);
	ck_assert_int_eq(conf->log_level, LOG_DEBUG);
	ck_assert_int_eq(conf->on_error, JM_ON_ERROR_TEMPFAIL);
	ck_assert_str_eq(conf->state, "rediss://10.0.0.7:6380/2");
	ck_assert_str_eq(conf->redis_tls_ca_file,
	    "/etc/journey-milter/redis-ca.pem");
	ck_assert_int_eq(conf->redis_down, JM_REDIS_DOWN_SEND);
	ck_assert_int_eq(conf->redis_timeout, 150);
	ck_assert_str_eq(conf->user, "");
	ck_assert_uint_eq(conf->chat_target.n, 2);
	ck_assert_str_eq(conf->chat_target.v[1],
	    "retention mattermost https://t.example.com/y cancellation "
	    "username=\"Retention desk\" rate=5");
	/* Defaults for what the file does not set. */
	ck_assert_int_eq(conf->max_headers, 1000);
	ck_assert_str_eq(conf->initial_stage, "assess");
	ck_assert_str_eq(conf->redis_key_prefix, "jm:");
	ck_assert_str_eq(conf->redis_password_file, "");
	ck_assert_str_eq(conf->redis_tls_cert_file, "");
	ck_assert_int_eq(conf->redis_tls_verify, 1);
	ck_assert_uint_ge(conf->ack_role_senders.n, 10);

	ck_assert(jm_conf_watched(conf, "support@example.com"));
	ck_assert(jm_conf_watched(conf, "<Support@Example.COM>"));
	ck_assert(jm_conf_watched(conf, "anyone@help.example.org"));
	ck_assert(jm_conf_watched(conf, "x@destek.example.com.tr"));
	ck_assert(!jm_conf_watched(conf, "sales@example.com"));
	ck_assert(!jm_conf_watched(conf, "x@sub.help.example.org"));
	ck_assert(!jm_conf_watched(conf, "help.example.org"));
	jm_conf_unref(conf);
	jm_diag_free(&d);
	unlink(path);
	free(path);
}
END_TEST

/* Every row's default must parse, and every row must be documented. */
START_TEST(test_table)
{
	const struct jm_conf_key *k;
	struct jm_diag	 d;
	struct jm_conf	*conf;
	size_t		 n, i, j;

	k = jm_conf_keys(&n);
	ck_assert_uint_ge(n, 10);
	for (i = 0; i < n; i++) {
		ck_assert_msg(k[i].doc != NULL && strlen(k[i].doc) > 10,
		    "%s: no documentation", k[i].name);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(k[i].name, k[j].name);
	}
	jm_diag_init(&d);
	ck_assert_int_eq(jm_conf_load(NULL, &d, &conf), 0);
	jm_conf_unref(conf);
	jm_diag_free(&d);
}
END_TEST

START_TEST(test_parsers)
{
	long	v;
	int	b;

	ck_assert_int_eq(jm_conf_parse_size("1m", &v), 0);
	ck_assert_int_eq(v, 1048576);
	ck_assert_int_eq(jm_conf_parse_size("7", &v), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(jm_conf_parse_size("1mb", &v), -1);
	ck_assert_int_eq(jm_conf_parse_size("-1", &v), -1);
	ck_assert_int_eq(jm_conf_parse_size("", &v), -1);
	ck_assert_int_eq(jm_conf_parse_time("2w", &v), 0);
	ck_assert_int_eq(v, 14 * 86400);
	ck_assert_int_eq(jm_conf_parse_time("90", &v), 0);
	ck_assert_int_eq(v, 90);
	ck_assert_int_eq(jm_conf_parse_bool("On", &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(jm_conf_parse_bool("off", &b), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(jm_conf_parse_bool("y", &b), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc = tcase_create("conf");
	SRunner	*sr;
	int	 failed;

	tcase_add_loop_test(tc, test_bad, 0,
	    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_loop_test(tc, test_long_line, 0,
	    sizeof(long_cases) / sizeof(long_cases[0]));
	tcase_add_test(tc, test_read_error);
	tcase_add_test(tc, test_every_error_reported);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_relative_paths);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_parsers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
