/*
 * process.h: one message through the whole core.
 *
 * Raw message and envelope in; verdict, decision and the X-Journey-*
 * headers out.  The milter and "journeyctl classify" call this same
 * function, so what the operator tries offline is what the daemon does.
 * With a store, the journey transition and the outbox rows (CRM event,
 * acknowledgement, escalations) are committed in one transaction before
 * this returns; without one (a dry run) nothing is written anywhere and an
 * unknown customer is assumed.  A shared store (several hosts) may ask
 * for the message to be decided again on what another host wrote in the
 * meantime; this is done here, at most JM_STORE_ATTEMPTS times.
 */
#ifndef JOURNEY_PROCESS_H
#define JOURNEY_PROCESS_H

#include <stddef.h>
#include <time.h>

#include "journey/decide.h"
#include "journey/policy.h"
#include "journey/store.h"
#include "journey/util.h"

#define JM_OUT_HEADERS	6
#define JM_OUT_SCORES	32	/* categories whose scores are reported */

struct jm_out_header {
	const char	*name;		/* static */
	char		 value[512];
};

struct jm_outcome {
	int		 own_ack;	/* our own acknowledgement: left alone */
	struct jm_out_header headers[JM_OUT_HEADERS];
	size_t		 n_headers;

	char		 customer[256];
	char		 category[64];	/* "none" when nothing matched */
	int		 score;
	int		 scores[JM_OUT_SCORES];	/* per category, in declaration order */
	size_t		 n_scores;
	char		 language[16];
	char		 rules[512];	/* fired rules, comma-separated, cut to fit */
	char		 ticket[JM_TICKET_LEN + 1];
	char		 subject[256];	/* decoded, cut at a character boundary */
	int		 limited;	/* a rule hit the PCRE2 match limit */
	unsigned	 msg_flags;	/* JM_MSG_* */
	struct jm_decision decision;
	size_t		 webhooks;	/* CRM deliveries queued */
	size_t		 escalations;	/* chat deliveries queued */
	const char	*unshared;	/* NULL, or why the shared state was not
					   used (see store.h); static */
	int		 tries;		/* store attempts (a shared store
					   retries when another host came
					   first) */
	char		 summary[1024];	/* the log line after the queue id */
	int		 queued;	/* outbox rows were committed: the
					   caller wakes the outbox
					   (jm_outbox_wake()) once they are
					   on disk */
	unsigned long long sync_token;	/* JM_PROCESS_DEFER_SYNC: for
					   jm_store_sync() before the
					   answer; 0 when on disk */
};

/*
 * jm_process() FLAGS.  JM_PROCESS_DEFER_SYNC: return once the event is
 * committed, perhaps before it is on disk; the caller lets go of what it
 * holds and calls jm_store_sync(STORE, OUT->sync_token) before it tells
 * the MTA anything final.  Without it, the event is on disk on return.
 */
#define JM_PROCESS_DEFER_SYNC	0x1

/*
 * Processes RAW (LEN bytes: header block, empty line, body) received at
 * NOW.  STORE may be NULL (dry run).  Returns 0 and fills OUT, or -1 on an
 * internal error (the caller fails open; nothing was committed, or, with
 * JM_PROCESS_DEFER_SYNC, nothing is left to wait for).
 */
int	jm_process(const struct jm_policy *p, struct jm_store *store,
	    const char *raw, size_t len, const char *env_from,
	    char *const *rcpt, size_t n_rcpt, time_t now, int flags,
	    struct jm_outcome *out);

#endif
