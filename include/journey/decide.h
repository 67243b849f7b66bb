/*
 * decide.h: what to do about one classified message.
 *
 * Pure: the configuration, the category, the facts the store read inside
 * its transaction and what the acknowledgement policy said about the
 * message go in; the journey transition and whether to acknowledge and to
 * escalate, each with its reason, come out.  No I/O, no clock, no
 * allocation: the milter, journeyctl classify and the tests get the same
 * answer for the same input.
 */
#ifndef JOURNEY_DECIDE_H
#define JOURNEY_DECIDE_H

#include <stddef.h>

#include "journey/conf.h"
#include "journey/journey.h"
#include "journey/rules.h"
#include "journey/store.h"

struct jm_decide_input {
	const struct jm_category *category;	/* NULL: no category */
	const struct jm_facts	 *facts;	/* the customer's, from the store */
	const char		 *ack_policy;	/* jm_ack_policy(): NULL or why not */
	int			  have_template; /* a reply template exists for it */
	size_t			  chat_targets;	/* targets that take it (chat.h) */
	int			  own_ack;	/* the message is our own acknowledgement */
};

struct jm_decision {
	struct jm_state	 prev;
	struct jm_state	 next;
	int		 changed;	/* next differs from prev */
	int		 automated;	/* sent by a robot: the journey stays */
	int		 ack;		/* queue an acknowledgement */
	const char	*ack_reason;	/* "queued", or why not; static */
	int		 escalate;	/* queue an escalation per target */
	const char	*escalate_reason; /* "queued", or why not; static */
};

/*
 * Fills D.  Reasons for no acknowledgement, in the order they are tried:
 * "own-acknowledgement", "no-category", "reply-off" (the category says
 * reply no, or reply_off names it), the policy's reason (see ack.h), "no-template", then the
 * limits of jm_ack_limits() ("already-answered", "daily-limit",
 * "global-limit").  For no escalation: "own-acknowledgement",
 * "no-category", "automated", then, when no chat target takes the
 * category, "not-escalated" (the rules do not mark it escalate) or
 * "no-chat-target" (they do, but there is no target, or each lists other
 * categories), and "thread-already-escalated".  A target that lists the
 * category takes it whether the rules mark it escalate or not.
 *
 * Facts read without the shared state (facts->unshared, e.g.
 * "redis-down"): the journey does not move, and the acknowledgement is
 * withheld with that reason after "no-template" unless redis_down = send,
 * in which case this host's own limits apply; escalation is decided as
 * usual, on this host's own thread keys.
 *
 * A message the acknowledgement policy shows to come from a robot or a
 * forger (a bounce, a list, an auto-reply, a role address, failed
 * authentication) is still classified and tagged, but moves no journey
 * and escalates nothing: a customer's state is what the customer did.
 */
void	jm_decide(const struct jm_conf *c, const struct jm_decide_input *in,
	    struct jm_decision *d);

#endif
