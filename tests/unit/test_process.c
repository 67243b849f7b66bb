/*
 * test_process.c: the core path, jm_process(), with a real SQLite store.
 *
 * jm_process() reads a customer's facts and builds the rows on them before
 * it takes the store's lock, then reads the facts again under the lock and
 * builds the rows anew when they decide otherwise.  These tests send many
 * messages of one customer from several threads at once, so that other
 * messages often come in between, and hold the outcome to what one thread
 * sending them in turn would leave: a history that is one chain, the
 * acknowledgement limit exactly, and a row for every verdict.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/conf.h"
#include "journey/diag.h"
#include "journey/message.h"
#include "journey/policy.h"
#include "journey/process.h"
#include "journey/store.h"

#define THREADS		4
#define EACH		12	/* messages per thread */
#define ACKS_A_DAY	3
#define T0		1800000000

static char		 tmpdir[] = "/tmp/jm-process-XXXXXX";
static struct jm_policy	*policy;
static struct jm_store	*store;

static const char complaint_body[] =
    "This is unacceptable, I am very disappointed, still no refund after "
    "3 weeks.\r\n";
static const char praise_body[] =
    "Thank you so much, your team was amazing and very helpful. I love "
    "it!\r\n";

static void
setup(void)
{
	struct jm_diag	 d;
	char		 path[4096], err[512];
	const char	*top = getenv("top_srcdir");
	FILE		*fp;

	ck_assert_msg(top != NULL, "top_srcdir is not set (run make check)");
	jm_message_init();
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/jm.conf", tmpdir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "state_dir = %s\n"
	    "rules_dir = %s/rules\n"
	    "watch_recipients = support@example.com\n"
	    "ack_from = Support <support@example.com>\n"
	    "ack_interval = 0\n"
	    "ack_max_per_day = %d\n"
	    "journey_webhook_url = http://127.0.0.1:9/crm\n"
	    "chat_target = ops json http://127.0.0.1:9/chat complaint\n",
	    tmpdir, top, ACKS_A_DAY);
	ck_assert_int_eq(fclose(fp), 0);
	jm_diag_init(&d);
	ck_assert_msg(jm_policy_load(path, &d, &policy) == 0, "%s",
	    d.n > 0 ? jm_diag_line(&d, 0) : "");
	jm_diag_free(&d);
	ck_assert_msg(jm_store_open(policy->conf, &store, err,
	    sizeof(err)) == 0, "%s", err);
}

static void
teardown(void)
{
	char	cmd[256];

	jm_store_close(store);
	jm_policy_unref(policy);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

struct sender {
	int	id;
	int	messages, acks, webhooks, escalations;
	int	errors;
	int	tokens;		/* commits left to jm_store_sync() */
};

/*
 * The messages of sender S: complaints and praise in turn.  All at the
 * same second, so that the history lists them in the order they were
 * committed.  Every other sender leaves the fsync to jm_store_sync(), as
 * the milter does; the others have the event on disk on return.
 */
static void *
send_all(void *arg)
{
	struct sender	 *s = arg;
	struct jm_outcome out;
	char		 raw[1024];
	char		*rcpt[] = { "<support@example.com>" };
	int		 k, n, praise;
	int		 flags = s->id % 2 ? JM_PROCESS_DEFER_SYNC : 0;

	for (k = 0; k < EACH; k++) {
		praise = (k + s->id) % 2;
		n = snprintf(raw, sizeof(raw),
		    "From: Race <race@customer.example>\r\n"
		    "To: support@example.com\r\n"
		    "Subject: %s\r\n"
		    "Message-ID: <race-%d-%d@customer.example>\r\n"
		    "\r\n%s", praise ? "Thank you" : "Still no refund",
		    s->id, k, praise ? praise_body : complaint_body);
		if (jm_process(policy, store, raw, (size_t)n,
		    "<race@customer.example>", rcpt, 1, T0, flags, &out) != 0 ||
		    jm_store_sync(store, out.sync_token) != 0) {
			s->errors++;
			continue;
		}
		if (out.sync_token != 0 && flags == 0)
			s->errors++;
		s->tokens += out.sync_token != 0;
		s->messages++;
		s->acks += out.decision.ack;
		s->webhooks += (int)out.webhooks;
		s->escalations += (int)out.escalations;
	}
	return NULL;
}

START_TEST(test_one_customer_many_threads)
{
	struct sender		 s[THREADS];
	pthread_t		 t[THREADS];
	struct jm_customer	*c;
	struct jm_outbox_row	*rows;
	size_t			 n, i, smtp = 0, hooks = 0, chats = 0;
	int			 acks = 0, webhooks = 0, escalations = 0;

	memset(s, 0, sizeof(s));
	for (i = 0; i < THREADS; i++) {
		s[i].id = (int)i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, send_all, &s[i]),
		    0);
	}
	for (i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(s[i].errors, 0);
		ck_assert_int_eq(s[i].messages, EACH);
		/* Each deferred commit gave a token; the others none. */
		ck_assert_int_eq(s[i].tokens, i % 2 ? EACH : 0);
		acks += s[i].acks;
		webhooks += s[i].webhooks;
		escalations += s[i].escalations;
	}

	/* The limit holds exactly, however the messages interleaved. */
	ck_assert_int_eq(acks, ACKS_A_DAY);
	/* Every message is an event, every complaint an escalation. */
	ck_assert_int_eq(webhooks, THREADS * EACH);
	ck_assert_int_eq(escalations, THREADS * EACH / 2);

	/* The rows queued are those the verdicts said. */
	ck_assert_int_eq(jm_store_list(store, JM_STORE_LIST_PENDING, &rows,
	    &n), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(rows[i].kind, "smtp") == 0)
			smtp++;
		else if (strcmp(rows[i].kind, "webhook") == 0)
			hooks++;
		else if (strcmp(rows[i].kind, "chat") == 0)
			chats++;
	}
	jm_outbox_rows_free(rows, n);
	ck_assert_uint_eq(smtp, ACKS_A_DAY);
	ck_assert_uint_eq(hooks, (size_t)webhooks);
	ck_assert_uint_eq(chats, (size_t)escalations);

	/* One chain: each event starts where the one before it ended. */
	ck_assert_int_eq(jm_store_customer(store, "race@customer.example",
	    THREADS * EACH + 1, &c), 0);
	ck_assert_uint_eq(c->n_events, THREADS * EACH);
	for (i = 0; i + 1 < c->n_events; i++)
		ck_assert_msg(c->events[i].prev.stage ==
		    c->events[i + 1].next.stage &&
		    c->events[i].prev.at_risk == c->events[i + 1].next.at_risk,
		    "event %zu starts at %s, the one before ended at %s", i,
		    jm_stage_name(c->events[i].prev.stage),
		    jm_stage_name(c->events[i + 1].next.stage));
	ck_assert_int_eq(c->events[c->n_events - 1].prev.stage,
	    JM_STAGE_ASSESS);
	ck_assert_int_eq(c->state.stage, c->events[0].next.stage);
	ck_assert_int_eq(c->state.at_risk, c->events[0].next.at_risk);
	jm_customer_free(c);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("process");
	TCase	*tc = tcase_create("process");
	SRunner	*sr;
	int	 failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_one_customer_many_threads);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
