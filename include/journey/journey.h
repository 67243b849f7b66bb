/*
 * journey.h: Joey Coleman's eight stages and what an email does to them.
 *
 * Pure: a state and an effect in, the next state out.  Where the state is
 * kept is the store's business, not this module's.
 */
#ifndef JOURNEY_JOURNEY_H
#define JOURNEY_JOURNEY_H

#include <stddef.h>

enum jm_stage {
	JM_STAGE_ASSESS = 0,
	JM_STAGE_ADMIT,
	JM_STAGE_AFFIRM,
	JM_STAGE_ACTIVATE,
	JM_STAGE_ACCLIMATE,
	JM_STAGE_ACCOMPLISH,
	JM_STAGE_ADOPT,
	JM_STAGE_ADVOCATE,
	JM_STAGE_EXITED			/* left the journey; not one of the eight */
};

#define JM_STAGE_COUNT	(JM_STAGE_EXITED + 1)

struct jm_state {
	enum jm_stage	stage;
	int		at_risk;	/* stuck: raised by a complaint */
};

enum jm_effect_kind {
	JM_EFFECT_NONE = 0,		/* no change */
	JM_EFFECT_ADVANCE,		/* one stage on, never past advocate */
	JM_EFFECT_SET,			/* jump to a named stage */
	JM_EFFECT_AT_RISK,		/* stage kept, at_risk raised */
	JM_EFFECT_EXIT			/* the customer asked to leave */
};

struct jm_effect {
	enum jm_effect_kind kind;
	enum jm_stage	stage;		/* for JM_EFFECT_SET */
};

/* "assess" ... "advocate", "exited"; static. */
const char *jm_stage_name(enum jm_stage s);

/* Parses a stage name (any of the nine); 0 or -1. */
int	jm_stage_parse(const char *name, enum jm_stage *out);

/* "advance", "set adopt", "at-risk", "exit", "none"; written to OUT. */
void	jm_effect_format(const struct jm_effect *e, char *out, size_t outlen);

/*
 * The state after E is applied to PREV:
 *  advance: at_risk cleared (a praise after a complaint unsticks the
 *           customer) and one stage on, never past advocate; an exited
 *           customer stays exited;
 *  set:     the named stage, at_risk cleared (an operator's re-entry);
 *  at-risk: stage kept, at_risk raised;
 *  exit:    exited, at_risk cleared;
 *  none:    unchanged.
 */
void	jm_journey_apply(const struct jm_state *prev, const struct jm_effect *e,
	    struct jm_state *next);

#endif
