/*
 * ctl.h: the journeyctl subcommands that read and repair the store.
 *
 * Each takes the loaded configuration and its own arguments (ARGV[0] is the
 * subcommand's name), prints its answer to stdout and its errors to
 * stderr, and returns the process's exit code: 0 on success, 1 on a usage
 * error, an unknown row or customer, or a store that cannot be opened.
 * They never create the store: a missing journey.db is an error, so that
 * journeyctl run as root cannot leave a root-owned database behind.  Run as
 * root, they take the database owner's uid and gid before opening it.
 */
#ifndef JOURNEY_CTL_H
#define JOURNEY_CTL_H

#include "journey/conf.h"
#include "journey/policy.h"
#include "journey/store.h"

/*
 * "queue [--dead]": the pending and dead outbox rows, oldest first: id,
 * kind, state, attempts, age, next attempt, target and last error.  Chat
 * URLs are shown without their path (it holds the token), webhook URLs
 * without their query.
 */
int	jm_ctl_queue(const struct jm_conf *c, int argc, char **argv);

/*
 * "retry ID" or "retry --dead": makes that row (pending or dead), or every
 * dead row, due now with a fresh max_retry_age; the running daemon picks
 * it up within a second.
 */
int	jm_ctl_retry(const struct jm_conf *c, int argc, char **argv);

/*
 * "customer ADDRESS [-n COUNT]": the customer's stage, at_risk flag, last
 * update and newest COUNT (default 20) events: time, category, previous
 * and new state, ticket and Message-ID.  With state = redis://..., all
 * from Redis: the fleet's view, the newest 50 events at most.
 */
int	jm_ctl_customer(const struct jm_conf *c, int argc, char **argv);

/*
 * "stats [--prometheus]": customers per stage, at risk, events, outbox rows
 * per state; then over the last hour, day and week: messages watched and
 * per category, acknowledgements queued and not sent per reason,
 * escalations and not escalated per reason, and acknowledgement, chat and
 * webhook deliveries delivered, pending, retrying and dead.  With
 * --prometheus the same as gauges in the Prometheus text exposition
 * format, a window="1h", "24h" or "7d" label on each windowed sample.
 * With state = redis://..., the customers and events are the fleet's (from
 * Redis), the outbox this host's, and the Redis outages are counted.
 */
int	jm_ctl_stats(const struct jm_conf *c, int argc, char **argv);

/*
 * "report --html FILE": one self-contained HTML page (inline CSS and SVG,
 * no script, no external asset): the journey funnel, messages per
 * category per day over the last 14 days, acknowledgement, escalation and
 * delivery counts over the last day and week, and the ten slowest
 * deliveries.  FILE is written through a temporary file and renamed, or
 * "-" for stdout.
 */
int	jm_ctl_report(const struct jm_conf *c, int argc, char **argv);

/*
 * For the subcommands: opens the store of C that the daemon created (as
 * root, first taking the database owner's uid and gid).  Returns it, to be
 * closed with jm_store_close(), or NULL after printing why to stderr.
 */
struct jm_store *jm_ctl_open_store(const struct jm_conf *c);

/*
 * Writes row R's target to OUT as an operator may paste it into a
 * ticket: chat URLs without their path (it holds the token), webhook URLs
 * without their query, control characters replaced by "?".
 */
void	jm_ctl_show_target(const struct jm_outbox_row *r, char *out,
	    size_t outlen);

/*
 * "migrate": copies this host's customers (stage, at_risk, last change)
 * from its SQLite database into Redis, keeping any customer Redis has seen
 * more recently.  Run on each host when moving to state = redis://...;
 * running it again is harmless.  1 when state is sqlite or Redis does not
 * answer.
 */
int	jm_ctl_migrate(const struct jm_conf *c, int argc, char **argv);

/*
 * "classify FILE...": each file through the same core as the milter, with
 * no store and no side effects; the verdict and the decision as JSON on
 * stdout.  0, or 1 if a file could not be read or processed.
 */
int	jm_ctl_classify(const struct jm_policy *p, int argc, char **argv);

/*
 * "eval [-q] [--min-precision P] [--min-recall R] DIR...": each DIR holds
 * .eml files and an EXPECTED file of "FILE CATEGORY" lines; its name is
 * the language.  Prints precision and recall per language and category
 * (and each miss, unless -q); 1 if any is below its threshold (defaults
 * 0.95 and 0.85).
 */
int	jm_ctl_eval(const struct jm_policy *p, int argc, char **argv);

/*
 * "bench [--no-jit] [--no-prefilter] [--profile] [--top N] [-s SECONDS]
 * FILE|DIR...": classification speed over the messages given, per core:
 * messages/s and MB/s.  --profile (or --top N) adds where the time went and the N (20)
 * rules that cost the most.
 */
int	jm_ctl_bench(const char *conf_path, int argc, char **argv);

#endif
