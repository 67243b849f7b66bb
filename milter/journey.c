/*
 * journey.c: the eight stages of the customer journey and the effect of an
 * email on them.
 *
 * Pure and small on purpose: the store keeps the state, the rules say which
 * effect a category has, and this file only knows the order of the stages
 * and what each effect does.  The meaning of each effect is written in
 * journey.h, where its callers read it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "journey/journey.h"

static const char *const stage_names[JM_STAGE_COUNT] = {
	"assess", "admit", "affirm", "activate", "acclimate", "accomplish",
	"adopt", "advocate", "exited"
};

const char *
jm_stage_name(enum jm_stage s)
{
	if ((unsigned)s >= JM_STAGE_COUNT)
		return "unknown";
	return stage_names[s];
}

int
jm_stage_parse(const char *name, enum jm_stage *out)
{
	unsigned	i;

	for (i = 0; i < JM_STAGE_COUNT; i++) {
		if (strcmp(name, stage_names[i]) == 0) {
			*out = (enum jm_stage)i;
			return 0;
		}
	}
	return -1;
}

void
jm_effect_format(const struct jm_effect *e, char *out, size_t outlen)
{
	switch (e->kind) {
	case JM_EFFECT_ADVANCE:
		snprintf(out, outlen, "advance");
		break;
	case JM_EFFECT_SET:
		snprintf(out, outlen, "set %s", jm_stage_name(e->stage));
		break;
	case JM_EFFECT_AT_RISK:
		snprintf(out, outlen, "at-risk");
		break;
	case JM_EFFECT_EXIT:
		snprintf(out, outlen, "exit");
		break;
	case JM_EFFECT_NONE:
	default:
		snprintf(out, outlen, "none");
		break;
	}
}

void
jm_journey_apply(const struct jm_state *prev, const struct jm_effect *e,
    struct jm_state *next)
{
	*next = *prev;
	switch (e->kind) {
	case JM_EFFECT_ADVANCE:
		if (prev->stage == JM_STAGE_EXITED)
			break;
		next->at_risk = 0;
		if (prev->stage < JM_STAGE_ADVOCATE)
			next->stage = prev->stage + 1;
		break;
	case JM_EFFECT_SET:
		next->stage = e->stage;
		next->at_risk = 0;
		break;
	case JM_EFFECT_AT_RISK:
		next->at_risk = 1;
		break;
	case JM_EFFECT_EXIT:
		next->stage = JM_STAGE_EXITED;
		next->at_risk = 0;
		break;
	case JM_EFFECT_NONE:
		break;
	}
}
