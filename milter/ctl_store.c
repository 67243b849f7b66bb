/*
 * ctl_store.c: journeyctl's window on the store: the outbox queue, retrying
 * dead letters, a customer's journey, counts, and copying a host's
 * customers into the fleet's Redis.
 *
 * These are the operator's answers to the daemon's log lines ("journeyctl
 * retry 42 requeues it"), so they print what the log names: row ids,
 * targets without their secrets, the last error.  Printing is their job,
 * unlike the rest of the library.  They go through the same store
 * interface as the daemon, so they work on whatever backend it uses, and
 * they open the database that the daemon has already created, never a new
 * one.
 *
 * Deliberately not here: classify (the pure core's harness) and anything
 * that sends mail or webhooks; a requeued row is sent by the daemon.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journey/ctl.h"
#include "journey/store.h"
#include "journey/util.h"

#define HISTORY_DEFAULT	20

/*
 * Opens the daemon's store.  As root, first becomes the database's owner:
 * SQLite creates the -wal and -shm files as whoever opens the database,
 * and root-owned ones would lock the daemon out.
 */
static struct jm_store *
open_store(const struct jm_conf *c)
{
	struct jm_store	*s;
	struct stat	 sb;
	char		 path[4096], err[512];

	snprintf(path, sizeof(path), "%s/journey.db", c->state_dir);
	if (stat(path, &sb) == -1) {
		fprintf(stderr, "journeyctl: %s: %s (has journey-milter run "
		    "with state_dir = %s?)\n", path, strerror(errno),
		    c->state_dir);
		return NULL;
	}
	if (geteuid() == 0 && sb.st_uid != 0 &&
	    (setgid(sb.st_gid) == -1 || setuid(sb.st_uid) == -1)) {
		fprintf(stderr, "journeyctl: cannot become the owner of %s: "
		    "%s\n", path, strerror(errno));
		return NULL;
	}
	if (jm_store_open(c, &s, err, sizeof(err)) == -1) {
		fprintf(stderr, "journeyctl: %s\n", err);
		return NULL;
	}
	return s;
}

static void
utc(time_t t, char *out, size_t outlen)
{
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)t);
}

/* The target as an operator may paste it into a ticket. */
static void
show_target(const struct jm_outbox_row *r, char *out, size_t outlen)
{
	const char	*p = r->target, *slash;
	size_t		 n;

	if (strcmp(r->kind, "smtp") == 0) {
		snprintf(out, outlen, "<%s>", r->target);
	} else if (strcmp(r->kind, "chat") == 0) {
		/* scheme://host[:port] and no more: the path is the token. */
		slash = strstr(p, "://");
		slash = slash != NULL ? strchr(slash + 3, '/') : NULL;
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		snprintf(out, outlen, "%.*s/...", (int)n, p);
	} else {
		n = strcspn(p, "?#");
		snprintf(out, outlen, "%.*s", (int)n, p);
	}
	for (; *out != '\0'; out++)
		if ((unsigned char)*out < ' ' || *out == 0x7f)
			*out = '?';
}

int
jm_ctl_queue(const struct jm_conf *c, int argc, char **argv)
{
	struct jm_store		*s;
	struct jm_outbox_row	*rows;
	size_t			 n, i;
	int			 which = JM_STORE_LIST_PENDING |
				     JM_STORE_LIST_DEAD;
	time_t			 now = time(NULL);
	char			 age[16], next[24], target[512];

	if (argc == 2 && strcmp(argv[1], "--dead") == 0)
		which = JM_STORE_LIST_DEAD;
	else if (argc != 1) {
		fprintf(stderr, "usage: journeyctl queue [--dead]\n");
		return 1;
	}
	s = open_store(c);
	if (s == NULL)
		return 1;
	if (jm_store_list(s, which, &rows, &n) == -1) {
		fprintf(stderr, "journeyctl: %s\n", jm_store_last_error());
		jm_store_close(s);
		return 1;
	}
	printf("%-6s %-7s %-7s %8s %5s %-8s %s\n", "ID", "KIND", "STATE",
	    "ATTEMPTS", "AGE", "NEXT", "TARGET / LAST ERROR");
	for (i = 0; i < n; i++) {
		const struct jm_outbox_row *r = &rows[i];

		jm_duration((long)(now - r->created), age, sizeof(age));
		if (r->state == JM_OUTBOX_DEAD)
			snprintf(next, sizeof(next), "-");
		else if (r->next_attempt <= now)
			snprintf(next, sizeof(next), "now");
		else {
			snprintf(next, sizeof(next), "in ");
			jm_duration((long)(r->next_attempt - now), next + 3,
			    sizeof(next) - 3);
		}
		show_target(r, target, sizeof(target));
		printf("%-6lld %-7s %-7s %8ld %5s %-8s %s\n", r->id, r->kind,
		    jm_outbox_state_name(r->state), r->attempts, age, next,
		    target);
		if (r->last_error[0] != '\0')
			printf("%47s %s\n", "", r->last_error);
	}
	printf("%zu row%s\n", n, n == 1 ? "" : "s");
	jm_outbox_rows_free(rows, n);
	jm_store_close(s);
	return 0;
}

int
jm_ctl_retry(const struct jm_conf *c, int argc, char **argv)
{
	struct jm_store	*s;
	long long	 id = 0;
	long		 count;
	char		*end;

	if (argc != 2) {
		fprintf(stderr, "usage: journeyctl retry ID | --dead\n");
		return 1;
	}
	if (strcmp(argv[1], "--dead") != 0) {
		errno = 0;
		id = strtoll(argv[1], &end, 10);
		if (errno != 0 || *end != '\0' || id <= 0) {
			fprintf(stderr, "journeyctl: \"%s\" is not a row id "
			    "(see journeyctl queue)\n", argv[1]);
			return 1;
		}
	}
	s = open_store(c);
	if (s == NULL)
		return 1;
	if (jm_store_requeue(s, id, time(NULL), &count) == -1) {
		fprintf(stderr, "journeyctl: %s\n", jm_store_last_error());
		jm_store_close(s);
		return 1;
	}
	jm_store_close(s);
	if (id != 0 && count == 0) {
		fprintf(stderr, "journeyctl: no pending or dead row %lld (see "
		    "journeyctl queue)\n", id);
		return 1;
	}
	printf("requeued %ld row%s\n", count, count == 1 ? "" : "s");
	return 0;
}

static void
state_text(const struct jm_state *st, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s", jm_stage_name(st->stage),
	    st->at_risk ? " (at risk)" : "");
}

int
jm_ctl_customer(const struct jm_conf *c, int argc, char **argv)
{
	struct jm_store		*s;
	struct jm_customer	*cu;
	char			*addr, *end, when[32], prev[48], next[48];
	long			 max = HISTORY_DEFAULT;
	size_t			 i;
	int			 rc;

	if (argc == 4 && strcmp(argv[2], "-n") == 0) {
		max = strtol(argv[3], &end, 10);
		if (*end != '\0' || max < 0 || max > 100000) {
			fprintf(stderr, "journeyctl: \"%s\" is not a count\n",
			    argv[3]);
			return 1;
		}
	} else if (argc != 2) {
		fprintf(stderr, "usage: journeyctl customer ADDRESS "
		    "[-n COUNT]\n");
		return 1;
	}
	addr = jm_addr_normalize(argv[1]);
	if (addr == NULL) {
		fprintf(stderr, "journeyctl: out of memory\n");
		return 1;
	}
	s = open_store(c);
	if (s == NULL) {
		free(addr);
		return 1;
	}
	rc = jm_store_customer(s, addr, (size_t)max, &cu);
	jm_store_close(s);
	if (rc == -1) {
		fprintf(stderr, "journeyctl: %s\n", jm_store_last_error());
		free(addr);
		return 1;
	}
	if (rc == 1) {
		fprintf(stderr, "journeyctl: no customer %s\n", addr);
		free(addr);
		return 1;
	}
	free(addr);
	state_text(&cu->state, next, sizeof(next));
	utc(cu->updated, when, sizeof(when));
	printf("customer  %s\n", cu->address);
	printf("stage     %s\n", next);
	printf("updated   %s UTC\n", when);
	printf("history   %zu event%s, newest first\n", cu->n_events,
	    cu->n_events == 1 ? "" : "s");
	for (i = 0; i < cu->n_events; i++) {
		const struct jm_customer_event *e = &cu->events[i];

		utc(e->at, when, sizeof(when));
		state_text(&e->prev, prev, sizeof(prev));
		state_text(&e->next, next, sizeof(next));
		printf("  %s  %-12s %s -> %s  %s %s\n", when,
		    e->category[0] != '\0' ? e->category : "-", prev, next,
		    e->ticket[0] != '\0' ? e->ticket : "-",
		    e->message_id[0] != '\0' ? e->message_id : "-");
	}
	jm_customer_free(cu);
	return 0;
}

int
jm_ctl_stats(const struct jm_conf *c, int argc, char **argv)
{
	struct jm_store		*s;
	struct jm_store_stats	 st;
	int			 i;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: journeyctl stats\n");
		return 1;
	}
	s = open_store(c);
	if (s == NULL)
		return 1;
	if (jm_store_stats(s, &st) == -1) {
		fprintf(stderr, "journeyctl: %s\n", jm_store_last_error());
		jm_store_close(s);
		return 1;
	}
	printf("state     %s%s\n", jm_store_backend(s),
	    st.shared ? " (shared by the fleet; the outbox is this host's)" :
	    "");
	jm_store_close(s);
	printf("customers %ld (at risk %ld)\n", st.customers, st.at_risk);
	for (i = 0; i < JM_STAGE_COUNT; i++)
		printf("  %-11s %ld\n", jm_stage_name((enum jm_stage)i),
		    st.stage[i]);
	printf("events    %ld\n", st.events);
	printf("outbox    %ld pending, %ld delivered, %ld dead\n", st.pending,
	    st.done, st.dead);
	if (st.shared)
		printf("outages   %ld, %ld message%s handled without the "
		    "shared state\n", st.outages, st.unshared,
		    st.unshared == 1 ? "" : "s");
	return 0;
}

int
jm_ctl_migrate(const struct jm_conf *c, int argc, char **argv)
{
	struct jm_store	*s;
	long		 copied, kept;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: journeyctl migrate\n");
		return 1;
	}
	if (strcmp(c->state, "sqlite") == 0) {
		fprintf(stderr, "journeyctl: state = sqlite: set state = "
		    "redis://... first; migrate copies this host's customers "
		    "there\n");
		return 1;
	}
	s = open_store(c);
	if (s == NULL)
		return 1;
	if (jm_store_migrate(s, &copied, &kept) == -1) {
		fprintf(stderr, "journeyctl: %s\n", jm_store_last_error());
		jm_store_close(s);
		return 1;
	}
	jm_store_close(s);
	printf("copied %ld customer%s to redis; kept %ld that redis knew "
	    "more recently\n", copied, copied == 1 ? "" : "s", kept);
	return 0;
}
