/*
 * test_journey.c: every effect on the journey from several stages, the
 * stage names and the effect names.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "journey/journey.h"

#define S(st, r)	{ JM_STAGE_##st, r }

static const struct apply_case {
	const char	*label;
	struct jm_state	 prev;
	struct jm_effect effect;
	struct jm_state	 want;
} apply_cases[] = {
	{ "advance from assess", S(ASSESS, 0), { JM_EFFECT_ADVANCE, 0 },
	    S(ADMIT, 0) },
	{ "advance from activate", S(ACTIVATE, 0), { JM_EFFECT_ADVANCE, 0 },
	    S(ACCLIMATE, 0) },
	{ "advance from adopt", S(ADOPT, 0), { JM_EFFECT_ADVANCE, 0 },
	    S(ADVOCATE, 0) },
	{ "advance at advocate stays", S(ADVOCATE, 0),
	    { JM_EFFECT_ADVANCE, 0 }, S(ADVOCATE, 0) },
	{ "advance from exited stays exited", S(EXITED, 0),
	    { JM_EFFECT_ADVANCE, 0 }, S(EXITED, 0) },
	{ "praise after complaint clears at_risk", S(AFFIRM, 1),
	    { JM_EFFECT_ADVANCE, 0 }, S(ACTIVATE, 0) },
	{ "praise at advocate clears at_risk", S(ADVOCATE, 1),
	    { JM_EFFECT_ADVANCE, 0 }, S(ADVOCATE, 0) },
	{ "set from assess", S(ASSESS, 0), { JM_EFFECT_SET, JM_STAGE_ADOPT },
	    S(ADOPT, 0) },
	{ "set backwards clears at_risk", S(ACCOMPLISH, 1),
	    { JM_EFFECT_SET, JM_STAGE_ADMIT }, S(ADMIT, 0) },
	{ "set from exited re-enters", S(EXITED, 0),
	    { JM_EFFECT_SET, JM_STAGE_ASSESS }, S(ASSESS, 0) },
	{ "set exited", S(ADOPT, 0), { JM_EFFECT_SET, JM_STAGE_EXITED },
	    S(EXITED, 0) },
	{ "at-risk at assess", S(ASSESS, 0), { JM_EFFECT_AT_RISK, 0 },
	    S(ASSESS, 1) },
	{ "at-risk at adopt", S(ADOPT, 0), { JM_EFFECT_AT_RISK, 0 },
	    S(ADOPT, 1) },
	{ "at-risk twice", S(ACCLIMATE, 1), { JM_EFFECT_AT_RISK, 0 },
	    S(ACCLIMATE, 1) },
	{ "exit from assess", S(ASSESS, 0), { JM_EFFECT_EXIT, 0 },
	    S(EXITED, 0) },
	{ "exit at risk clears it", S(ACCOMPLISH, 1), { JM_EFFECT_EXIT, 0 },
	    S(EXITED, 0) },
	{ "exit from advocate", S(ADVOCATE, 0), { JM_EFFECT_EXIT, 0 },
	    S(EXITED, 0) },
	{ "none at affirm", S(AFFIRM, 0), { JM_EFFECT_NONE, 0 },
	    S(AFFIRM, 0) },
	{ "none keeps at_risk", S(ADOPT, 1), { JM_EFFECT_NONE, 0 },
	    S(ADOPT, 1) },
	{ "none at exited", S(EXITED, 0), { JM_EFFECT_NONE, 0 },
	    S(EXITED, 0) },
};

START_TEST(test_apply)
{
	const struct apply_case *c = &apply_cases[_i];
	struct jm_state	next;

	memset(&next, 0x5a, sizeof(next));
	jm_journey_apply(&c->prev, &c->effect, &next);
	ck_assert_msg(next.stage == c->want.stage, "%s: stage %s, want %s",
	    c->label, jm_stage_name(next.stage), jm_stage_name(c->want.stage));
	ck_assert_msg(next.at_risk == c->want.at_risk,
	    "%s: at_risk %d, want %d", c->label, next.at_risk,
	    c->want.at_risk);
}
END_TEST

/* The eight in order, and the way out. */
START_TEST(test_stage_names)
{
	static const char *const want[JM_STAGE_COUNT] = {
		"assess", "admit", "affirm", "activate", "acclimate",
		"accomplish", "adopt", "advocate", "exited"
	};
	enum jm_stage	 s, parsed;
	int		 i;

	for (i = 0; i < JM_STAGE_COUNT; i++) {
		s = (enum jm_stage)i;
		ck_assert_str_eq(jm_stage_name(s), want[i]);
		ck_assert_int_eq(jm_stage_parse(jm_stage_name(s), &parsed), 0);
		ck_assert_int_eq(parsed, s);
	}
	ck_assert_str_eq(jm_stage_name((enum jm_stage)JM_STAGE_COUNT),
	    "unknown");
	parsed = JM_STAGE_ADOPT;
	ck_assert_int_eq(jm_stage_parse("Assess", &parsed), -1);
	ck_assert_int_eq(jm_stage_parse("", &parsed), -1);
	ck_assert_int_eq(jm_stage_parse("advocates", &parsed), -1);
	ck_assert_int_eq(jm_stage_parse("unknown", &parsed), -1);
	ck_assert_int_eq(parsed, JM_STAGE_ADOPT);
}
END_TEST

static const struct format_case {
	struct jm_effect effect;
	const char	*want;
} format_cases[] = {
	{ { JM_EFFECT_NONE, 0 }, "none" },
	{ { JM_EFFECT_ADVANCE, 0 }, "advance" },
	{ { JM_EFFECT_SET, JM_STAGE_ADOPT }, "set adopt" },
	{ { JM_EFFECT_SET, JM_STAGE_ASSESS }, "set assess" },
	{ { JM_EFFECT_AT_RISK, 0 }, "at-risk" },
	{ { JM_EFFECT_EXIT, 0 }, "exit" },
};

START_TEST(test_effect_format)
{
	const struct format_case *c = &format_cases[_i];
	char	out[64], small[4];

	jm_effect_format(&c->effect, out, sizeof(out));
	ck_assert_str_eq(out, c->want);
	/* A short buffer gets a cut, terminated string. */
	jm_effect_format(&c->effect, small, sizeof(small));
	ck_assert_uint_le(strlen(small), sizeof(small) - 1);
	ck_assert(strncmp(small, c->want, strlen(small)) == 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("journey");
	TCase	*tc = tcase_create("journey");
	SRunner	*sr;
	int	 failed;

	tcase_add_loop_test(tc, test_apply, 0,
	    sizeof(apply_cases) / sizeof(apply_cases[0]));
	tcase_add_test(tc, test_stage_names);
	tcase_add_loop_test(tc, test_effect_format, 0,
	    sizeof(format_cases) / sizeof(format_cases[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
