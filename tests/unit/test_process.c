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
#include <jansson.h>
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
static const char cancel_body[] =
    "Please cancel my subscription and close my account.\r\n";

/* Writes jm.conf with EXTRA lines after the common ones; loads it all. */
static void
load(const char *extra)
{
	struct jm_diag	 d;
	char		 path[4096], err[512];
	const char	*top = getenv("top_srcdir");
	FILE		*fp;

	ck_assert_msg(top != NULL, "top_srcdir is not set (run make check)");
	snprintf(path, sizeof(path), "%s/jm.conf", tmpdir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "state_dir = %s\n"
	    "rules_dir = %s/rules\n"
	    "watch_recipients = support@example.com\n"
	    "ack_from = Support <support@example.com>\n"
	    "ack_interval = 0\n"
	    "ack_max_per_day = %d\n"
	    "journey_webhook_url = http://127.0.0.1:9/crm\n%s",
	    tmpdir, top, ACKS_A_DAY, extra);
	ck_assert_int_eq(fclose(fp), 0);
	jm_diag_init(&d);
	ck_assert_msg(jm_policy_load(path, &d, &policy) == 0, "%s",
	    d.n > 0 ? jm_diag_line(&d, 0) : "");
	jm_diag_free(&d);
	ck_assert_msg(jm_store_open(policy->conf, &store, err,
	    sizeof(err)) == 0, "%s", err);
}

static void
setup_dir(void)
{
	jm_message_init();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/jm-process-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
setup(void)
{
	setup_dir();
	load("chat_target = ops json http://127.0.0.1:9/chat complaint\n");
}

static void
teardown(void)
{
	char	cmd[256];

	jm_store_close(store);
	jm_policy_unref(policy);
	store = NULL;
	policy = NULL;
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

/* A message of category KIND (as the shipped rules see it) from FROM. */
static void
send_one(const char *from, const char *kind, int seq, struct jm_outcome *out)
{
	static const struct {
		const char	*kind, *subject, *body;
	} texts[] = {
		{ "complaint", "Still no refund", complaint_body },
		{ "cancellation", "Cancel my subscription", cancel_body },
		{ "praise", "Thank you", praise_body },
	};
	char		 raw[1024], env[256];
	char		*rcpt[] = { "<support@example.com>" };
	size_t		 i;
	int		 n;

	for (i = 0; strcmp(texts[i].kind, kind) != 0; i++)
		ck_assert_uint_lt(i + 1, sizeof(texts) / sizeof(texts[0]));
	n = snprintf(raw, sizeof(raw), "From: <%s>\r\n"
	    "To: support@example.com\r\n"
	    "Subject: %s\r\n"
	    "Message-ID: <%s-%d@customer.example>\r\n"
	    "\r\n%s", from, texts[i].subject, kind, seq, texts[i].body);
	snprintf(env, sizeof(env), "<%s>", from);
	ck_assert_int_eq(jm_process(policy, store, raw, (size_t)n, env, rcpt,
	    1, T0 + seq, 0, out), 0);
	ck_assert_msg(strcmp(out->category, kind) == 0,
	    "message %d: category %s, want %s (rules %s)", seq, out->category,
	    kind, out->rules);
}

/*
 * The rows queued since the last call, payloads included: they are
 * claimed, so that the next call sees only newer ones.
 */
static void
new_rows(struct jm_outbox_row **rows, size_t *n)
{
	ck_assert_int_eq(jm_store_claim(store, T0 + 100000, T0 + 200000, 64,
	    rows, n), 0);
}

/*
 * Which targets a message goes to: exactly those whose own list names
 * its category ("*": all), and, for targets without a list, the
 * categories the rules mark escalate (complaint, as shipped).
 */
#define CHAT(path)	"http://127.0.0.1:9" path
static const struct esc_case {
	const char	*label;
	const char	*targets;	/* chat_target lines */
	const char	*kind;		/* the message's category */
	size_t		 want;		/* escalations */
	const char	*reason;
	const char	*urls[3];	/* the chat rows, in order */
} esc_cases[] = {
	{ "a cancellation-only target takes cancellations",
	    "chat_target = retention slack " CHAT("/ret") " cancellation\n",
	    "cancellation", 1, "queued", { CHAT("/ret") } },
	{ "... and nothing else",
	    "chat_target = retention slack " CHAT("/ret") " cancellation\n",
	    "complaint", 0, "no-chat-target", { NULL } },
	{ "* takes praise, which the rules do not escalate",
	    "chat_target = all json " CHAT("/all") " *\n",
	    "praise", 1, "queued", { CHAT("/all") } },
	{ "* takes cancellations",
	    "chat_target = all json " CHAT("/all") " *\n",
	    "cancellation", 1, "queued", { CHAT("/all") } },
	{ "no list: complaints (escalate in the rules)",
	    "chat_target = leads slack " CHAT("/leads") "\n",
	    "complaint", 1, "queued", { CHAT("/leads") } },
	{ "no list: not cancellations",
	    "chat_target = leads slack " CHAT("/leads") "\n",
	    "cancellation", 0, "not-escalated", { NULL } },
	{ "no list: not praise",
	    "chat_target = leads slack " CHAT("/leads") "\n",
	    "praise", 0, "not-escalated", { NULL } },
	{ "no target at all", "", "complaint", 0, "no-chat-target", { NULL } },
	{ "three targets, a cancellation",
	    "chat_target = leads slack " CHAT("/leads") "\n"
	    "chat_target = retention mattermost " CHAT("/ret") " cancellation\n"
	    "chat_target = all json " CHAT("/all") " *\n",
	    "cancellation", 2, "queued", { CHAT("/ret"), CHAT("/all") } },
	{ "three targets, a complaint",
	    "chat_target = leads slack " CHAT("/leads") "\n"
	    "chat_target = retention mattermost " CHAT("/ret") " cancellation\n"
	    "chat_target = all json " CHAT("/all") " *\n",
	    "complaint", 2, "queued", { CHAT("/leads"), CHAT("/all") } },
};

START_TEST(test_escalation_targets)
{
	const struct esc_case	*c = &esc_cases[_i];
	struct jm_outcome	 out;
	struct jm_outbox_row	*rows;
	size_t			 n, i, k = 0, hooks = 0;
	char			 want[128];

	load(c->targets);
	send_one("tess@customer.example", c->kind, 1, &out);
	ck_assert_msg(out.escalations == c->want, "%s: %zu escalations",
	    c->label, out.escalations);
	ck_assert_int_eq(out.decision.escalate, c->want > 0);
	ck_assert_msg(strcmp(out.decision.escalate_reason, c->reason) == 0,
	    "%s: reason %s, want %s", c->label, out.decision.escalate_reason,
	    c->reason);
	if (c->want > 0)
		snprintf(want, sizeof(want), " escalate=%zu ", c->want);
	else
		snprintf(want, sizeof(want), " escalate=no(%s) ", c->reason);
	ck_assert_msg(strstr(out.summary, want) != NULL, "%s: %s", c->label,
	    out.summary);
	new_rows(&rows, &n);
	for (i = 0; i < n; i++) {
		hooks += strcmp(rows[i].kind, "webhook") == 0;
		if (strcmp(rows[i].kind, "chat") != 0)
			continue;
		ck_assert_msg(k < c->want && strcmp(rows[i].target,
		    c->urls[k]) == 0, "%s: chat row %zu to %s", c->label, k,
		    rows[i].target);
		ck_assert_str_eq(rows[i].category, c->kind);
		k++;
	}
	jm_outbox_rows_free(rows, n);
	ck_assert_uint_eq(k, c->want);
	ck_assert_uint_eq(hooks, 1);
}
END_TEST

/*
 * The json format's body is the CRM event, byte for byte: the same row
 * contents as the webhook's, and the same event id.
 */
START_TEST(test_json_is_the_crm_event)
{
	static const char *const kinds[] = { "complaint", "praise" };
	struct jm_outcome	 out;
	struct jm_outbox_row	*rows, *hook, *chat;
	size_t			 n, i, k;
	char			*body;

	load("chat_target = bot json " CHAT("/bot") " *\n"
	    "chat_target = leads slack " CHAT("/leads") "\n");
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		send_one("json@customer.example", kinds[k], (int)k + 1, &out);
		new_rows(&rows, &n);
		hook = chat = NULL;
		for (i = 0; i < n; i++) {
			if (strcmp(rows[i].kind, "webhook") == 0)
				hook = &rows[i];
			else if (strcmp(rows[i].target, CHAT("/bot")) == 0)
				chat = &rows[i];
		}
		ck_assert_ptr_nonnull(hook);
		ck_assert_ptr_nonnull(chat);
		ck_assert_uint_gt(hook->payload_len, 0);
		ck_assert_uint_eq(chat->payload_len, hook->payload_len);
		ck_assert(memcmp(chat->payload, hook->payload,
		    hook->payload_len) == 0);
		ck_assert_str_eq(chat->event_id, hook->event_id);
		body = strndup((const char *)hook->payload, hook->payload_len);
		ck_assert_ptr_nonnull(body);
		ck_assert(strncmp(body, "{\"type\":\"journey.updated\",",
		    26) == 0);
		free(body);
		jm_outbox_rows_free(rows, n);
	}
}
END_TEST

/*
 * One customer's journey through jm_process(), each step read back from
 * the CRM event queued for it.  An unknown customer starts at
 * initial_stage (activate here, not the default assess); praise after a
 * complaint clears at_risk; a customer who left is still classified and
 * reported, and stays exited.
 */
static const struct journey_step {
	const char	*kind;
	enum jm_stage	 prev;
	int		 prev_risk;
	enum jm_stage	 next;
	int		 next_risk;
	const char	*header;	/* X-Journey-Stage */
} journey_steps[] = {
	{ "praise", JM_STAGE_ACTIVATE, 0, JM_STAGE_ACCLIMATE, 0, "acclimate" },
	{ "complaint", JM_STAGE_ACCLIMATE, 0, JM_STAGE_ACCLIMATE, 1,
	    "acclimate; at-risk" },
	{ "praise", JM_STAGE_ACCLIMATE, 1, JM_STAGE_ACCOMPLISH, 0,
	    "accomplish" },
	{ "cancellation", JM_STAGE_ACCOMPLISH, 0, JM_STAGE_EXITED, 0,
	    "exited" },
	{ "praise", JM_STAGE_EXITED, 0, JM_STAGE_EXITED, 0, "exited" },
	{ "cancellation", JM_STAGE_EXITED, 0, JM_STAGE_EXITED, 0, "exited" },
};

static const char *
header_of(const struct jm_outcome *out, const char *name)
{
	size_t	i;

	for (i = 0; i < out->n_headers; i++)
		if (strcmp(out->headers[i].name, name) == 0)
			return out->headers[i].value;
	return NULL;
}

START_TEST(test_journey_through_process)
{
	const struct journey_step *st;
	struct jm_outcome	 out;
	struct jm_outbox_row	*rows, *hook;
	struct jm_customer	*c;
	json_t			*ev;
	size_t			 n, i, k;
	const char		*who = "newcomer@customer.example";

	load("initial_stage = activate\n");
	for (k = 0; k < sizeof(journey_steps) / sizeof(journey_steps[0]);
	    k++) {
		st = &journey_steps[k];
		send_one(who, st->kind, (int)k + 1, &out);
		ck_assert_msg(out.decision.prev.stage == st->prev &&
		    out.decision.prev.at_risk == st->prev_risk &&
		    out.decision.next.stage == st->next &&
		    out.decision.next.at_risk == st->next_risk,
		    "step %zu (%s): %s%s -> %s%s", k, st->kind,
		    jm_stage_name(out.decision.prev.stage),
		    out.decision.prev.at_risk ? " at-risk" : "",
		    jm_stage_name(out.decision.next.stage),
		    out.decision.next.at_risk ? " at-risk" : "");
		ck_assert_int_eq(out.decision.automated, 0);
		ck_assert_uint_eq(out.webhooks, 1);
		ck_assert_str_eq(header_of(&out, "X-Journey-Category"),
		    st->kind);
		ck_assert_str_eq(header_of(&out, "X-Journey-Stage"),
		    st->header);

		/* The CRM row says the same. */
		new_rows(&rows, &n);
		hook = NULL;
		for (i = 0; i < n; i++)
			if (strcmp(rows[i].kind, "webhook") == 0) {
				ck_assert_ptr_null(hook);
				hook = &rows[i];
			}
		ck_assert_msg(hook != NULL, "step %zu: no CRM row", k);
		ck_assert_str_eq(hook->category, st->kind);
		ev = json_loadb((const char *)hook->payload,
		    hook->payload_len, 0, NULL);
		ck_assert_ptr_nonnull(ev);
		ck_assert_str_eq(json_string_value(json_object_get(
		    json_object_get(ev, "classification"), "category")),
		    st->kind);
		ck_assert_str_eq(json_string_value(json_object_get(
		    json_object_get(ev, "customer"), "email")), who);
		ck_assert_str_eq(json_string_value(json_object_get(
		    json_object_get(json_object_get(ev, "journey"), "previous"),
		    "stage")), jm_stage_name(st->prev));
		ck_assert_int_eq(json_is_true(json_object_get(json_object_get(
		    json_object_get(ev, "journey"), "previous"), "at_risk")),
		    st->prev_risk);
		ck_assert_str_eq(json_string_value(json_object_get(
		    json_object_get(json_object_get(ev, "journey"), "current"),
		    "stage")), jm_stage_name(st->next));
		ck_assert_int_eq(json_is_true(json_object_get(json_object_get(
		    json_object_get(ev, "journey"), "current"), "at_risk")),
		    st->next_risk);
		json_decref(ev);
		jm_outbox_rows_free(rows, n);
	}

	/* The store's history: every step, newest first, the last exited. */
	ck_assert_int_eq(jm_store_customer(store, who, 100, &c), 0);
	ck_assert_uint_eq(c->n_events, k);
	ck_assert_int_eq(c->state.stage, JM_STAGE_EXITED);
	ck_assert_int_eq(c->events[c->n_events - 1].prev.stage,
	    JM_STAGE_ACTIVATE);
	ck_assert_str_eq(c->events[0].category, "cancellation");
	ck_assert_int_eq(c->events[0].prev.stage, JM_STAGE_EXITED);
	jm_customer_free(c);

	/* Another newcomer starts at initial_stage too. */
	send_one("second@customer.example", "complaint", 50, &out);
	ck_assert_int_eq(out.decision.prev.stage, JM_STAGE_ACTIVATE);
	ck_assert_int_eq(out.decision.next.at_risk, 1);
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
	tc = tcase_create("targets");
	tcase_add_checked_fixture(tc, setup_dir, teardown);
	tcase_add_loop_test(tc, test_escalation_targets, 0,
	    sizeof(esc_cases) / sizeof(esc_cases[0]));
	tcase_add_test(tc, test_json_is_the_crm_event);
	tcase_add_test(tc, test_journey_through_process);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
