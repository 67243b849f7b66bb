/*
 * test_ctl.c: journeyctl queue, retry, customer and stats on a real store,
 * their output read back from a file standing in for stdout.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
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
	r.items = items;
	r.n_items = 3;
	ck_assert_int_eq(jm_store_commit(s, &r), 0);
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
	ck_assert_msg(strstr(out, "outbox    2 pending, 0 delivered, 1 dead")
	    != NULL, "%s", out);
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
	tcase_add_test(tc, test_no_store);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
