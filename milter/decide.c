/*
 * decide.c: the decision about one message, as a pure function.
 *
 * Everything that needs the outside world has been read before this runs:
 * the store's facts inside its transaction, the acknowledgement policy
 * from the headers, the templates and chat targets from the policy.  What
 * is left is a handful of rules that a support lead can read in one go,
 * kept here so that the daemon and "journeyctl classify" cannot disagree.
 */
#include "config.h"

#include <string.h>

#include "journey/ack.h"
#include "journey/decide.h"

/* The policy's reasons that say a robot, not the customer, wrote this. */
static int
automated(const char *policy_reason)
{
	static const char *const robots[] = { "null-sender", "delivery-report",
	    "auto-submitted", "auto-reply-header", "suppress-header", "list",
	    "precedence", "role-sender", "auth-failed" };
	size_t	i;

	if (policy_reason == NULL)
		return 0;
	for (i = 0; i < sizeof(robots) / sizeof(robots[0]); i++)
		if (strcmp(policy_reason, robots[i]) == 0)
			return 1;
	return 0;
}

static int
listed(const struct jm_strlist *l, const char *name)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return 1;
	return 0;
}

static void
decide_ack(const struct jm_conf *c, const struct jm_decide_input *in,
    struct jm_decision *d)
{
	const char	*why;

	d->ack = 0;
	if (in->own_ack) {
		d->ack_reason = "own-acknowledgement";
		return;
	}
	if (in->category == NULL) {
		d->ack_reason = "no-category";
		return;
	}
	if (in->category->reply == NULL ||
	    listed(&c->reply_off, in->category->name)) {
		d->ack_reason = "reply-off";
		return;
	}
	if (in->ack_policy != NULL) {
		d->ack_reason = in->ack_policy;
		return;
	}
	if (!in->have_template) {
		d->ack_reason = "no-template";
		return;
	}
	/* Without the shared counts, another host may have answered. */
	if (in->facts->unshared != NULL &&
	    c->redis_down != JM_REDIS_DOWN_SEND) {
		d->ack_reason = in->facts->unshared;
		return;
	}
	why = jm_ack_limits(c, in->facts->acks_same_category,
	    in->facts->acks_day, in->facts->acks_minute);
	if (why != NULL) {
		d->ack_reason = why;
		return;
	}
	d->ack = 1;
	d->ack_reason = "queued";
}

static void
decide_escalation(const struct jm_decide_input *in, struct jm_decision *d)
{
	d->escalate = 0;
	if (in->own_ack)
		d->escalate_reason = "own-acknowledgement";
	else if (in->category == NULL)
		d->escalate_reason = "no-category";
	else if (d->automated)
		d->escalate_reason = "automated";
	else if (in->chat_targets == 0)
		/* Which of the two the operator has to change. */
		d->escalate_reason = in->category->escalate ?
		    "no-chat-target" : "not-escalated";
	else if (in->facts->thread_escalated)
		d->escalate_reason = "thread-already-escalated";
	else {
		d->escalate = 1;
		d->escalate_reason = "queued";
	}
}

void
jm_decide(const struct jm_conf *c, const struct jm_decide_input *in,
    struct jm_decision *d)
{
	static const struct jm_effect none = { JM_EFFECT_NONE, JM_STAGE_ASSESS };
	const struct jm_effect *e;

	d->prev = in->facts->state;
	d->automated = automated(in->ack_policy);
	/*
	 * A stage moves only where every host sees it move: without the
	 * shared state, the customer stays where this host last knew them.
	 */
	e = in->category != NULL && !in->own_ack && !d->automated &&
	    in->facts->unshared == NULL ? &in->category->effect : &none;
	jm_journey_apply(&d->prev, e, &d->next);
	d->changed = d->prev.stage != d->next.stage ||
	    d->prev.at_risk != d->next.at_risk;
	decide_ack(c, in, d);
	decide_escalation(in, d);
}
