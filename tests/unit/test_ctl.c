/*
 * test_ctl.c: journeyctl queue, retry, customer, stats (text and
 * Prometheus) and report on a real store, their output read back from a
 * file standing in for stdout.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journey/conf.h"
#include "journey/ctl.h"
#include "journey/diag.h"
#include "journey/store.h"

static char		 dir[64];
static struct jm_conf	*conf;
static long long	 hook_id, chat_id, ack_id;

/* One history event without a customer row or outbox rows. */
static void
event(struct jm_store *s, const char *customer, const char *category,
    time_t at, const char *ack_reason, const char *escalate_reason)
{
	struct jm_store_query	 q;
	struct jm_store_record	 r;
	struct jm_facts		 f;

	memset(&q, 0, sizeof(q));
	q.customer = customer;
	q.now = at;
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	memset(&r, 0, sizeof(r));
	r.customer = customer;
	r.category = category;
	r.now = at;
	r.ack_reason = ack_reason;
	r.escalate_reason = escalate_reason;
	ck_assert_int_eq(jm_store_commit(s, &r), 0);
}

static void
setup(void)
{
	struct jm_diag		 d;
	struct jm_store		*s;
	struct jm_store_query	 q;
	struct jm_store_record	 r;
	struct jm_facts		 f;
	struct jm_outbox_row	*rows;
	size_t			 n;
	char			 why[256], err[512];
	time_t			 now = time(NULL);
	struct jm_outbox_new	 items[3] = {
		{ "webhook", "https://crm.example.com/hook?token=SECRET",
		    "{}", 2, "evt_1", NULL },
		{ "chat", "https://hooks.slack.com/services/T0/B0/SECRET",
		    "{}", 2, "", NULL },
		{ "smtp", "jane@example.com", "x", 1, "", "complaint" },
	};

	snprintf(dir, sizeof(dir), "/tmp/jm-ctl-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	jm_diag_init(&d);
	ck_assert_int_eq(jm_conf_load(NULL, &d, &conf), 0);
	jm_diag_free(&d);
	ck_assert_int_eq(jm_conf_set(conf, "state_dir", dir, why,
	    sizeof(why)), 0);
	ck_assert_int_eq(jm_store_open(conf, &s, err, sizeof(err)), 0);
	memset(&q, 0, sizeof(q));
	q.customer = "jane@example.com";
	q.now = now - 120;
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	memset(&r, 0, sizeof(r));
	r.customer = "jane@example.com";
	r.prev.stage = JM_STAGE_ADOPT;
	r.next.stage = JM_STAGE_ADOPT;
	r.next.at_risk = 1;
	r.write_state = 1;
	r.category = "complaint";
	r.message_id = "<m1@example.com>";
	r.ticket = "JM-ABCDEFGH";
	r.now = now - 120;
	r.is_ack = 1;
	r.ack_reason = "queued";
	r.escalate_reason = "no-chat-target";
	r.items = items;
	r.n_items = 3;
	ck_assert_int_eq(jm_store_commit(s, &r), 0);
	/* Two days ago, praise from someone else: in the week only. */
	event(s, "bob@example.com", "praise", now - 2 * 86400, "daily-limit",
	    "not-escalated");
	ck_assert_int_eq(jm_store_list(s, JM_STORE_LIST_PENDING, &rows, &n),
	    0);
	ck_assert_uint_eq(n, 3);
	hook_id = rows[0].id;
	chat_id = rows[1].id;
	ack_id = rows[2].id;
	jm_outbox_rows_free(rows, n);
	ck_assert_int_eq(jm_store_dead(s, hook_id, "HTTP 410"), 0);
	ck_assert_int_eq(jm_store_retry(s, ack_id, now + 600,
	    "SMTP 451: RCPT failed: 451"), 0);
	jm_store_close(s);
}

static void
teardown(void)
{
	char	cmd[128];

	jm_conf_unref(conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Runs FN with ARGV, stdout captured; returns the output (free()). */
static char *
run(int (*fn)(const struct jm_conf *, int, char **), int argc, char **argv,
    int want_rc)
{
	char	 path[128], *out;
	int	 fd, saved, rc;
	FILE	*fp;
	long	 len;

	snprintf(path, sizeof(path), "%s/out", dir);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	rc = fn(conf, argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	ck_assert_int_eq(rc, want_rc);
	fp = fopen(path, "r");
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	out = calloc(1, (size_t)len + 1);
	ck_assert_int_eq(fread(out, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	return out;
}

START_TEST(test_queue)
{
	char	*argv[] = { "queue", NULL }, *dead[] = { "queue", "--dead" };
	char	*bad[] = { "queue", "--bogus" }, *out;

	out = run(jm_ctl_queue, 1, argv, 0);
	ck_assert_msg(strstr(out, "https://crm.example.com/hook") != NULL,
	    "%s", out);
	ck_assert_msg(strstr(out, "HTTP 410") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "https://hooks.slack.com/...") != NULL, "%s",
	    out);
	ck_assert_msg(strstr(out, "<jane@example.com>") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "SMTP 451") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "in 10m") != NULL ||
	    strstr(out, "in 9m") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "SECRET") == NULL, "secret shown: %s", out);
	ck_assert_msg(strstr(out, "3 rows") != NULL, "%s", out);
	free(out);

	out = run(jm_ctl_queue, 2, dead, 0);
	ck_assert_msg(strstr(out, "HTTP 410") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "slack") == NULL, "%s", out);
	ck_assert_msg(strstr(out, "1 row\n") != NULL, "%s", out);
	free(out);

	out = run(jm_ctl_queue, 2, bad, 1);
	free(out);
}
END_TEST

START_TEST(test_retry)
{
	char	 id[32], *argv[] = { "retry", id };
	char	*all[] = { "retry", "--dead" };
	char	*junk[] = { "retry", "12x" }, *out;

	snprintf(id, sizeof(id), "%lld", ack_id);
	out = run(jm_ctl_retry, 2, argv, 0);
	ck_assert_str_eq(out, "requeued 1 row\n");
	free(out);
	out = run(jm_ctl_retry, 2, all, 0);
	ck_assert_str_eq(out, "requeued 1 row\n");
	free(out);
	/* Nothing dead is left; a done or unknown id is an error. */
	out = run(jm_ctl_retry, 2, all, 0);
	ck_assert_str_eq(out, "requeued 0 rows\n");
	free(out);
	snprintf(id, sizeof(id), "%lld", ack_id + 100);
	out = run(jm_ctl_retry, 2, argv, 1);
	free(out);
	out = run(jm_ctl_retry, 2, junk, 1);
	free(out);
	{
		char *q[] = { "queue", "--dead" };

		out = run(jm_ctl_queue, 2, q, 0);
		ck_assert_msg(strstr(out, "0 rows") != NULL, "%s", out);
		free(out);
	}
}
END_TEST

START_TEST(test_customer)
{
	char	*argv[] = { "customer", "Jane <JANE@example.com>" };
	char	*none[] = { "customer", "nobody@example.com" }, *out;

	out = run(jm_ctl_customer, 2, argv, 0);
	ck_assert_msg(strstr(out, "customer  jane@example.com\n") != NULL,
	    "%s", out);
	ck_assert_msg(strstr(out, "stage     adopt (at risk)\n") != NULL, "%s",
	    out);
	ck_assert_msg(strstr(out, "1 event,") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "complaint    adopt -> adopt (at risk)  "
	    "JM-ABCDEFGH <m1@example.com>") != NULL, "%s", out);
	free(out);
	out = run(jm_ctl_customer, 2, none, 1);
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

START_TEST(test_stats)
{
	char	*argv[] = { "stats" }, *out;

	out = run(jm_ctl_stats, 1, argv, 0);
	ck_assert_msg(strstr(out, "customers 1 (at risk 1)") != NULL, "%s",
	    out);
	ck_assert_msg(strstr(out, "  adopt       1\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "events    2\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "outbox    2 pending, 0 delivered, 1 dead")
	    != NULL, "%s", out);
	ck_assert_msg(strstr(out, "last hour   last day  last week\n") != NULL,
	    "%s", out);
	free(out);
}
END_TEST

/* Rows of the windowed table: hour, day, week. */
static const struct window_row {
	const char	*label;
	long		 hour, day, week;
} window_rows[] = {
	{ "messages watched", 1, 1, 2 },
	{ "  complaint", 1, 1, 1 },
	{ "  praise", 0, 0, 1 },
	{ "acknowledgements queued", 1, 1, 1 },
	{ "  not sent: daily-limit", 0, 0, 1 },
	{ "acknowledgement deliveries", 1, 1, 1 },
	{ "  retrying", 1, 1, 1 },
	{ "escalations", 0, 0, 0 },
	{ "  not escalated: no-chat-target", 1, 1, 1 },
	{ "  not escalated: not-escalated", 0, 0, 1 },
	{ "chat deliveries", 1, 1, 1 },
	{ "webhook deliveries", 1, 1, 1 },
};

START_TEST(test_stats_windows)
{
	const struct window_row *c = &window_rows[_i];
	char	*argv[] = { "stats" }, *out, want[160];

	snprintf(want, sizeof(want), "%-36s %10ld %10ld %10ld\n", c->label,
	    c->hour, c->day, c->week);
	out = run(jm_ctl_stats, 1, argv, 0);
	ck_assert_msg(strstr(out, want) != NULL, "want \"%s\" in:\n%s", want,
	    out);
	free(out);
}
END_TEST

/*
 * The text exposition format: every sample is NAME{LABELS} VALUE after its
 * family's HELP and TYPE lines, each family declared once.
 */
static void
check_exposition(const char *out)
{
	regex_t		 sample;
	const char	*line, *end;
	char		 buf[512], name[128], declared[4096] = " ";
	size_t		 len, n;

	ck_assert_int_eq(regcomp(&sample, "^[a-z_]+(\\{[a-z_]+=\"([^\"\\\\]|"
	    "\\\\[\"\\\\n])*\"(,[a-z_]+=\"([^\"\\\\]|\\\\[\"\\\\n])*\")*\\})? "
	    "[0-9]+$", REG_EXTENDED | REG_NOSUB), 0);
	for (line = out; *line != '\0'; line = end + 1) {
		end = strchr(line, '\n');
		ck_assert_ptr_nonnull(end);
		len = (size_t)(end - line);
		ck_assert_uint_lt(len, sizeof(buf));
		memcpy(buf, line, len);
		buf[len] = '\0';
		if (strncmp(buf, "# HELP ", 7) == 0) {
			ck_assert_int_eq(sscanf(buf + 7, "%127s", name), 1);
			snprintf(buf, sizeof(buf), " %s ", name);
			ck_assert_msg(strstr(declared, buf) == NULL,
			    "%s declared twice", name);
			ck_assert(strlen(declared) + strlen(name) + 2 <
			    sizeof(declared));
			strcat(declared, name);
			strcat(declared, " ");
			continue;
		}
		if (strncmp(buf, "# TYPE ", 7) == 0) {
			n = strlen(name);
			ck_assert_msg(strncmp(buf + 7, name, n) == 0 &&
			    strcmp(buf + 7 + n, " gauge") == 0, "%s", buf);
			continue;
		}
		ck_assert_msg(regexec(&sample, buf, 0, NULL, 0) == 0,
		    "not a sample: %s", buf);
		/* A sample of the family declared last. */
		n = strlen(name);
		ck_assert_msg(strncmp(buf, name, n) == 0 &&
		    (buf[n] == '{' || buf[n] == ' '), "%s outside %s", buf,
		    name);
	}
	regfree(&sample);
}

START_TEST(test_stats_prometheus)
{
	char		*argv[] = { "stats", "--prometheus" }, *out;
	char		*bad[] = { "stats", "--json" };
	struct jm_store	*s;
	char		 err[512];
	size_t		 i;
	static const char *const want[] = {
		"# TYPE journey_messages gauge\n",
		"journey_customers{stage=\"adopt\"} 1\n",
		"journey_customers{stage=\"exited\"} 0\n",
		"journey_customers_at_risk 1\n",
		"journey_outbox_rows{state=\"dead\"} 1\n",
		"journey_messages{category=\"complaint\",window=\"1h\"} 1\n",
		"journey_messages{category=\"praise\",window=\"7d\"} 1\n",
		"journey_messages{category=\"we\\\"ird\\\\cat\","
		    "window=\"1h\"} 1\n",
		"journey_acks_queued{window=\"24h\"} 1\n",
		"journey_acks_suppressed{reason=\"daily-limit\","
		    "window=\"7d\"} 1\n",
		"journey_escalations{window=\"1h\"} 0\n",
		"journey_escalations_skipped{reason=\"no-chat-target\","
		    "window=\"1h\"} 1\n",
		"journey_deliveries{kind=\"ack\",state=\"retrying\","
		    "window=\"1h\"} 1\n",
		"journey_deliveries{kind=\"webhook\",state=\"dead\","
		    "window=\"24h\"} 1\n",
		"journey_deliveries{kind=\"chat\",state=\"pending\","
		    "window=\"7d\"} 1\n",
		"journey_deliveries{kind=\"chat\",state=\"delivered\","
		    "window=\"7d\"} 0\n",
	};
	static const char *const absent[] = {
		"journey_messages{category=\"praise\",window=\"1h\"}",
		"journey_acks_suppressed{reason=\"queued\"",
		"window=\"30d\"",
	};

	/* A category name that needs escaping in a label value. */
	ck_assert_int_eq(jm_store_open(conf, &s, err, sizeof(err)), 0);
	event(s, "eve@example.com", "we\"ird\\cat", time(NULL) - 60, NULL,
	    NULL);
	jm_store_close(s);

	out = run(jm_ctl_stats, 2, argv, 0);
	check_exposition(out);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(out, want[i]) != NULL, "want %s in:\n%s",
		    want[i], out);
	for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		ck_assert_msg(strstr(out, absent[i]) == NULL, "unwanted %s",
		    absent[i]);
	free(out);
	out = run(jm_ctl_stats, 2, bad, 1);
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

/* Reads DIR/NAME whole; free(). */
static char *
slurp(const char *name)
{
	char	 path[128], *buf;
	FILE	*fp;
	long	 len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s", path);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)len + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	return buf;
}

START_TEST(test_report)
{
	char		 path[128], tmp[160];
	char		*argv[] = { "report", "--html", path }, *out, *html;
	char		*bad[] = { "report", path };
	struct jm_store	*s;
	char		 err[512];
	size_t		 i;
	static const char *const want[] = {
		"<!DOCTYPE html>\n",
		"id=\"funnel-adopt\" data-stage=\"adopt\" data-count=\"1\"",
		"id=\"funnel-assess\" data-stage=\"assess\" data-count=\"0\"",
		"id=\"funnel-at_risk\" data-stage=\"at_risk\" data-count=\"1\"",
		"id=\"funnel-exited\" data-stage=\"exited\" data-count=\"0\"",
		"id=\"card-messages\" data-count=\"3\"",
		"id=\"ack-queued\" data-count=\"1\"",
		"id=\"ack-retrying\" data-count=\"1\"",
		"id=\"webhook-dead\" data-count=\"1\"",
		"data-category=\"complaint\" data-count=\"1\"",
		"data-category=\"praise\" data-count=\"1\"",
		/* Escaped, as text and in attributes. */
		"&lt;b&gt;bold&amp;co&quot;",
		"@media print",
		"No delivery completed in the last 7 days.",
		"</html>\n",
	};
	static const char *const never[] = {
		"<b>bold", "<script", "src=", "href=", "<link", "@import",
		"url(",
	};

	ck_assert_int_eq(jm_store_open(conf, &s, err, sizeof(err)), 0);
	event(s, "eve@example.com", "<b>bold&co\"", time(NULL) - 60, NULL,
	    NULL);
	jm_store_close(s);

	snprintf(path, sizeof(path), "%s/report.html", dir);
	out = run(jm_ctl_report, 3, argv, 0);
	ck_assert_str_eq(out, "");
	free(out);
	html = slurp("report.html");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(html, want[i]) != NULL, "want %s",
		    want[i]);
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		ck_assert_msg(strstr(html, never[i]) == NULL, "unwanted %s",
		    never[i]);
	free(html);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_ne(access(tmp, F_OK), 0);

	out = run(jm_ctl_report, 2, bad, 1);
	free(out);
	snprintf(path, sizeof(path), "%s/no/such/dir/report.html", dir);
	out = run(jm_ctl_report, 3, argv, 1);
	free(out);
}
END_TEST

START_TEST(test_no_store)
{
	char	 why[256], *argv[] = { "stats" }, *out;

	ck_assert_int_eq(jm_conf_set(conf, "state_dir", "/nonexistent/jm", why,
	    sizeof(why)), 0);
	out = run(jm_ctl_stats, 1, argv, 1);
	free(out);
	/* Never created by journeyctl. */
	ck_assert_int_ne(access("/nonexistent/jm/journey.db", F_OK), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("ctl");
	TCase	*tc = tcase_create("ctl");
	SRunner	*sr;
	int	 failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_queue);
	tcase_add_test(tc, test_retry);
	tcase_add_test(tc, test_customer);
	tcase_add_test(tc, test_stats);
	tcase_add_loop_test(tc, test_stats_windows, 0,
	    sizeof(window_rows) / sizeof(window_rows[0]));
	tcase_add_test(tc, test_stats_prometheus);
	tcase_add_test(tc, test_report);
	tcase_add_test(tc, test_no_store);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
