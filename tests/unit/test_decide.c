/*
 * test_decide.c: the decision, case by case.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "journey/conf.h"
#include "journey/decide.h"

static struct jm_conf *conf;

static const struct jm_category complaint = {
	"complaint", 4, 20, { JM_EFFECT_AT_RISK, JM_STAGE_ASSESS }, "complaint",
	1, "00.rules", 1
};
static const struct jm_category praise = {
	"praise", 4, 10, { JM_EFFECT_ADVANCE, JM_STAGE_ASSESS }, "praise", 0,
	"00.rules", 2
};
/* As shipped: not marked escalate; a target has to ask for it. */
static const struct jm_category cancellation = {
	"cancellation", 4, 30, { JM_EFFECT_EXIT, JM_STAGE_ASSESS },
	"cancellation", 0, "00.rules", 4
};
static const struct jm_category silent = {
	"spam", 4, 5, { JM_EFFECT_NONE, JM_STAGE_ASSESS }, NULL, 0, "00.rules", 3
};

static const struct case_ {
	const char		*label;
	const struct jm_category *cat;
	enum jm_stage		 stage;
	int			 at_risk;
	const char		*policy;
	int			 have_template;
	size_t			 targets;
	long			 same, day, minute;
	int			 thread;
	int			 own;
	/* want */
	enum jm_stage		 next_stage;
	int			 next_risk;
	int			 ack;
	const char		*ack_reason;
	int			 esc;
	const char		*esc_reason;
} cases[] = {
	{ "complaint, all on", &complaint, JM_STAGE_ACTIVATE, 0, NULL, 1, 1,
	    0, 0, 0, 0, 0, JM_STAGE_ACTIVATE, 1, 1, "queued", 1, "queued" },
	{ "no category", NULL, JM_STAGE_ACTIVATE, 1, NULL, 1, 1, 0, 0, 0, 0, 0,
	    JM_STAGE_ACTIVATE, 1, 0, "no-category", 0, "no-category" },
	{ "reply off", &silent, JM_STAGE_ADMIT, 0, NULL, 1, 0, 0, 0, 0, 0, 0,
	    JM_STAGE_ADMIT, 0, 0, "reply-off", 0, "not-escalated" },
	{ "list message: tagged, no journey move", &complaint,
	    JM_STAGE_ACTIVATE, 0, "list", 1, 1, 0, 0, 0, 0, 0,
	    JM_STAGE_ACTIVATE, 0, 0, "list", 0, "automated" },
	{ "bounce", &complaint, JM_STAGE_ADOPT, 0, "null-sender", 1, 1, 0, 0,
	    0, 0, 0, JM_STAGE_ADOPT, 0, 0, "null-sender", 0, "automated" },
	{ "forged sender", &praise, JM_STAGE_ADOPT, 0, "auth-failed", 1, 1, 0,
	    0, 0, 0, 0, JM_STAGE_ADOPT, 0, 0, "auth-failed", 0, "automated" },
	{ "not to support: a person, journey moves", &praise, JM_STAGE_ADOPT,
	    1, "not-to-support", 1, 0, 0, 0, 0, 0, 0, JM_STAGE_ADVOCATE, 0, 0,
	    "not-to-support", 0, "not-escalated" },
	{ "no template", &complaint, JM_STAGE_ASSESS, 0, NULL, 0, 1, 0, 0, 0,
	    0, 0, JM_STAGE_ASSESS, 1, 0, "no-template", 1, "queued" },
	{ "already answered", &complaint, JM_STAGE_ASSESS, 1, NULL, 1, 1, 1, 1,
	    1, 0, 0, JM_STAGE_ASSESS, 1, 0, "already-answered", 1, "queued" },
	{ "daily limit", &complaint, JM_STAGE_ASSESS, 0, NULL, 1, 1, 0, 3, 3,
	    0, 0, JM_STAGE_ASSESS, 1, 0, "daily-limit", 1, "queued" },
	{ "global limit", &complaint, JM_STAGE_ASSESS, 0, NULL, 1, 1, 0, 0, 60,
	    0, 0, JM_STAGE_ASSESS, 1, 0, "global-limit", 1, "queued" },
	{ "thread escalated before", &complaint, JM_STAGE_ASSESS, 1, NULL, 1,
	    2, 1, 1, 1, 1, 0, JM_STAGE_ASSESS, 1, 0, "already-answered", 0,
	    "thread-already-escalated" },
	{ "no chat target", &complaint, JM_STAGE_ASSESS, 0, NULL, 1, 0, 0, 0,
	    0, 0, 0, JM_STAGE_ASSESS, 1, 1, "queued", 0, "no-chat-target" },
	{ "praise after complaint", &praise, JM_STAGE_ACTIVATE, 1, NULL, 1, 0,
	    0, 0, 0, 0, 0, JM_STAGE_ACCLIMATE, 0, 1, "queued", 0,
	    "not-escalated" },
	/* A target that lists a category takes it, escalate or not. */
	{ "cancellation to the target that lists it", &cancellation,
	    JM_STAGE_ADOPT, 0, NULL, 1, 1, 0, 0, 0, 0, 0, JM_STAGE_EXITED, 0, 1,
	    "queued", 1, "queued" },
	{ "cancellation, no target lists it", &cancellation, JM_STAGE_ADOPT, 0,
	    NULL, 1, 0, 0, 0, 0, 0, 0, JM_STAGE_EXITED, 0, 1, "queued", 0,
	    "not-escalated" },
	{ "praise to a target that lists it", &praise, JM_STAGE_ADOPT, 0, NULL,
	    1, 2, 0, 0, 0, 0, 0, JM_STAGE_ADVOCATE, 0, 1, "queued", 1,
	    "queued" },
	{ "listed, but a list message", &cancellation, JM_STAGE_ADOPT, 0,
	    "list", 1, 1, 0, 0, 0, 0, 0, JM_STAGE_ADOPT, 0, 0, "list", 0,
	    "automated" },
	{ "listed, thread escalated before", &cancellation, JM_STAGE_ADOPT, 0,
	    NULL, 1, 1, 0, 0, 0, 1, 0, JM_STAGE_EXITED, 0, 1, "queued", 0,
	    "thread-already-escalated" },
	{ "own acknowledgement", &complaint, JM_STAGE_ACTIVATE, 0, NULL, 1, 1,
	    0, 0, 0, 0, 1, JM_STAGE_ACTIVATE, 0, 0, "own-acknowledgement", 0,
	    "own-acknowledgement" },
};

START_TEST(test_case)
{
	const struct case_	*c = &cases[_i];
	struct jm_facts		 f;
	struct jm_decide_input	 in;
	struct jm_decision	 d;

	memset(&f, 0, sizeof(f));
	f.known = 1;
	f.state.stage = c->stage;
	f.state.at_risk = c->at_risk;
	f.acks_same_category = c->same;
	f.acks_day = c->day;
	f.acks_minute = c->minute;
	f.thread_escalated = c->thread;
	memset(&in, 0, sizeof(in));
	in.category = c->cat;
	in.facts = &f;
	in.ack_policy = c->policy;
	in.have_template = c->have_template;
	in.chat_targets = c->targets;
	in.own_ack = c->own;
	jm_decide(conf, &in, &d);
	ck_assert_msg(d.next.stage == c->next_stage, "%s: stage %s", c->label,
	    jm_stage_name(d.next.stage));
	ck_assert_msg(d.next.at_risk == c->next_risk, "%s: at_risk", c->label);
	ck_assert_msg(d.prev.stage == c->stage, "%s: prev", c->label);
	ck_assert_msg(d.ack == c->ack, "%s: ack %d", c->label, d.ack);
	ck_assert_msg(strcmp(d.ack_reason, c->ack_reason) == 0,
	    "%s: ack reason %s", c->label, d.ack_reason);
	ck_assert_msg(d.escalate == c->esc, "%s: escalate", c->label);
	ck_assert_msg(strcmp(d.escalate_reason, c->esc_reason) == 0,
	    "%s: escalate reason %s", c->label, d.escalate_reason);
	ck_assert_msg(d.changed == (d.prev.stage != d.next.stage ||
	    d.prev.at_risk != d.next.at_risk), "%s: changed", c->label);
}
END_TEST

/*
 * Facts read without the shared state (Redis down): no stage moves, the
 * acknowledgement is withheld unless redis_down = send, and then this
 * host's own limits apply; escalation goes on, on this host's threads.
 */
static const struct unshared_case {
	const char		*label;
	const struct jm_category *cat;
	const char		*unshared;
	const char		*policy;
	int			 have_template;
	int			 send;		/* redis_down = send */
	long			 same;
	int			 thread;
	/* want */
	enum jm_stage		 next_stage;
	int			 next_risk;
	int			 ack;
	const char		*ack_reason;
	int			 esc;
	const char		*esc_reason;
} unshared_cases[] = {
	{ "complaint, withheld", &complaint, "redis-down", NULL, 1, 0, 0, 0,
	    JM_STAGE_ACTIVATE, 0, 0, "redis-down", 1, "queued" },
	{ "praise, no advance", &praise, "redis-down", NULL, 1, 0, 0, 0,
	    JM_STAGE_ACTIVATE, 0, 0, "redis-down", 0, "not-escalated" },
	{ "contended", &complaint, "redis-contended", NULL, 1, 0, 0, 1,
	    JM_STAGE_ACTIVATE, 0, 0, "redis-contended", 0,
	    "thread-already-escalated" },
	{ "send: answered on local counts", &complaint, "redis-down", NULL, 1,
	    1, 0, 0, JM_STAGE_ACTIVATE, 0, 1, "queued", 1, "queued" },
	{ "send: local limit", &complaint, "redis-down", NULL, 1, 1, 1, 0,
	    JM_STAGE_ACTIVATE, 0, 0, "already-answered", 1, "queued" },
	{ "robot: its own reason first", &complaint, "redis-down", "list", 1,
	    0, 0, 0, JM_STAGE_ACTIVATE, 0, 0, "list", 0, "automated" },
	{ "no template first", &complaint, "redis-down", NULL, 0, 0, 0, 0,
	    JM_STAGE_ACTIVATE, 0, 0, "no-template", 1, "queued" },
	{ "shared: as always", &praise, NULL, NULL, 1, 0, 0, 0,
	    JM_STAGE_ACCLIMATE, 0, 1, "queued", 0, "not-escalated" },
};

START_TEST(test_unshared)
{
	const struct unshared_case *c = &unshared_cases[_i];
	struct jm_conf		*cf;
	struct jm_diag		 dg;
	struct jm_facts		 f;
	struct jm_decide_input	 in;
	struct jm_decision	 d;
	char			 why[128];

	jm_diag_init(&dg);
	ck_assert_int_eq(jm_conf_load(NULL, &dg, &cf), 0);
	jm_diag_free(&dg);
	ck_assert_int_eq(jm_conf_set(cf, "redis_down", c->send ? "send" :
	    "withhold", why, sizeof(why)), 0);
	memset(&f, 0, sizeof(f));
	f.known = 1;
	f.state.stage = JM_STAGE_ACTIVATE;
	f.acks_same_category = c->same;
	f.thread_escalated = c->thread;
	f.unshared = c->unshared;
	memset(&in, 0, sizeof(in));
	in.category = c->cat;
	in.facts = &f;
	in.ack_policy = c->policy;
	in.have_template = c->have_template;
	/* One target without a list: it takes what the rules mark escalate. */
	in.chat_targets = c->cat->escalate ? 1 : 0;
	jm_decide(cf, &in, &d);
	jm_conf_unref(cf);
	ck_assert_msg(d.next.stage == c->next_stage, "%s: stage %s", c->label,
	    jm_stage_name(d.next.stage));
	ck_assert_msg(d.next.at_risk == c->next_risk, "%s: at_risk", c->label);
	ck_assert_msg(d.changed == (c->next_stage != JM_STAGE_ACTIVATE ||
	    c->next_risk), "%s: changed", c->label);
	ck_assert_msg(d.ack == c->ack, "%s: ack %d", c->label, d.ack);
	ck_assert_msg(strcmp(d.ack_reason, c->ack_reason) == 0,
	    "%s: ack reason %s", c->label, d.ack_reason);
	ck_assert_msg(d.escalate == c->esc, "%s: escalate", c->label);
	ck_assert_msg(strcmp(d.escalate_reason, c->esc_reason) == 0,
	    "%s: escalate reason %s", c->label, d.escalate_reason);
}
END_TEST

/* reply_off names a category: its mail is answered no more, all else stays. */
START_TEST(test_reply_off)
{
	struct jm_conf		*cf;
	struct jm_diag		 dg;
	struct jm_facts		 f;
	struct jm_decide_input	 in;
	struct jm_decision	 d;
	char			 why[128];

	jm_diag_init(&dg);
	ck_assert_int_eq(jm_conf_load(NULL, &dg, &cf), 0);
	jm_diag_free(&dg);
	ck_assert_int_eq(jm_conf_set(cf, "reply_off", "praise, cancellation",
	    why, sizeof(why)), 0);
	memset(&f, 0, sizeof(f));
	f.known = 1;
	f.state.stage = JM_STAGE_ACTIVATE;
	memset(&in, 0, sizeof(in));
	in.facts = &f;
	in.have_template = 1;
	in.chat_targets = 1;

	in.category = &praise;
	jm_decide(cf, &in, &d);
	ck_assert_int_eq(d.ack, 0);
	ck_assert_str_eq(d.ack_reason, "reply-off");
	ck_assert_int_eq(d.next.stage, JM_STAGE_ACCLIMATE);
	ck_assert_int_eq(d.escalate, 1);

	in.category = &cancellation;
	jm_decide(cf, &in, &d);
	ck_assert_str_eq(d.ack_reason, "reply-off");
	ck_assert_int_eq(d.next.stage, JM_STAGE_EXITED);

	in.category = &complaint;
	jm_decide(cf, &in, &d);
	ck_assert_int_eq(d.ack, 1);
	ck_assert_str_eq(d.ack_reason, "queued");

	/* A robot's mail in such a category is still a robot's. */
	in.category = &praise;
	in.ack_policy = "list";
	jm_decide(cf, &in, &d);
	ck_assert_str_eq(d.ack_reason, "reply-off");
	ck_assert_int_eq(d.automated, 1);
	ck_assert_int_eq(d.next.stage, JM_STAGE_ACTIVATE);
	jm_conf_unref(cf);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("decide");
	TCase		*tc = tcase_create("decide");
	SRunner		*sr;
	struct jm_diag	 d;
	int		 failed;

	jm_diag_init(&d);
	if (jm_conf_load(NULL, &d, &conf) == -1)
		return EXIT_FAILURE;
	tcase_add_loop_test(tc, test_case, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_reply_off);
	tcase_add_loop_test(tc, test_unshared, 0,
	    sizeof(unshared_cases) / sizeof(unshared_cases[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jm_conf_unref(conf);
	jm_diag_free(&d);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
