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
 * and new state, ticket and Message-ID.
 */
int	jm_ctl_customer(const struct jm_conf *c, int argc, char **argv);

/* "stats": customers per stage, at risk, events, outbox rows per state. */
int	jm_ctl_stats(const struct jm_conf *c, int argc, char **argv);

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
