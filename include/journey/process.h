/*
 * process.h: one message through the whole pure core.
 *
 * Raw message and envelope in; verdict, decision and the X-Journey-*
 * headers out.  The milter and "journeyctl classify" call this same
 * function, so what the operator tries offline is what the daemon does.
 * With a store, the journey transition and the outbox rows are committed in
 * one transaction; without one (a dry run) nothing is written anywhere.
 */
#ifndef JOURNEY_PROCESS_H
#define JOURNEY_PROCESS_H

#include <stddef.h>

#include "journey/policy.h"

#define JM_OUT_HEADERS	6

struct jm_out_header {
	const char	*name;		/* static */
	char		 value[512];
};

struct jm_outcome {
	struct jm_out_header headers[JM_OUT_HEADERS];
	size_t		 n_headers;
	char		 category[64];	/* "none" when nothing matched */
	char		 summary[1024];	/* the log line after the queue id */
};

/*
 * Processes RAW (LEN bytes: header block, empty line, body).  Returns 0 and
 * fills OUT, or -1 on an internal error (the caller fails open).
 */
int	jm_process(const struct jm_policy *p, const char *raw, size_t len,
	    const char *env_from, char *const *rcpt, size_t n_rcpt,
	    struct jm_outcome *out);

#endif
