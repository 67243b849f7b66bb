/*
 * outbox.h: the delivery thread of the durable outbox.
 *
 * The milter only ever writes rows (store.h); this thread sends them:
 * "webhook" rows to the CRM (signed, Standard Webhooks headers), "chat"
 * rows to chat webhooks (rate-limited per target), "smtp" rows (the
 * acknowledgements) to ack_smtp_url.  Each row is retried with backoff
 * until it is delivered or dead-lettered, and every outcome is logged in
 * one line that names the row, the kind and the target (its secret parts
 * left out) and what to do next.
 *
 * One outbox per process.  curl_global_init() must have been called, and
 * SIGPIPE ignored, before jm_outbox_start().
 */
#ifndef JOURNEY_OUTBOX_H
#define JOURNEY_OUTBOX_H

#include <time.h>

#include "journey/conf.h"
#include "journey/store.h"

/* Most attempts in flight at once. */
#define JM_OUTBOX_PARALLEL	16

/* Most bytes of a response read; the rest is cut off unread. */
#define JM_OUTBOX_BODY_MAX	(64 * 1024)

/* Longest wait between two attempts, Retry-After aside. */
#define JM_OUTBOX_BACKOFF_MAX	3600

/*
 * Reads the webhook secret and the SMTP password named by CONF (so call
 * it after privileges are dropped, with the files readable by the daemon's
 * user), copies what it needs from CONF, and starts the thread.  Rows
 * already pending are sent as scheduled: delivery resumes after a restart.
 * S is borrowed until jm_outbox_stop() returns.  Returns 0, or -1 after
 * logging the cause (an unreadable secret file, no thread).
 */
int	jm_outbox_start(const struct jm_conf *conf, struct jm_store *s);

/*
 * Tells the thread that rows were committed, so that they go out now
 * rather than at its next look.  Never blocks on the network or the
 * store; does nothing when the outbox is not running.  Safe from any
 * thread.
 */
void	jm_outbox_wake(void);

/*
 * Stops the thread: no new attempt starts, those in flight get until
 * webhook_timeout and one second more to finish, the rest are put back
 * as due now.  Returns once the thread has been joined.  Does nothing
 * when the outbox is not running.
 */
void	jm_outbox_stop(void);

/*
 * The wait before retry ATTEMPT (1 for the first retry): MIN_INTERVAL
 * doubled per attempt, capped at JM_OUTBOX_BACKOFF_MAX (or MIN_INTERVAL
 * when that is larger), times a jitter factor from 0.8 to 1.2 chosen by U
 * in [0, 1).  At least one second.
 */
long	jm_outbox_backoff(long min_interval, long attempt, double u);

/*
 * Parses a Retry-After value (RFC 9110: delay-seconds or an HTTP-date)
 * into seconds from NOW; a date in the past gives 0.  0, or -1 when VALUE
 * is neither.
 */
int	jm_outbox_retry_after(const char *value, time_t now, long *seconds);

#endif
