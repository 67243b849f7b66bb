/*
 * ctl_store.c: journeyctl's window on the store: the outbox queue, retrying
 * dead letters, a customer's journey, counts over the last hour, day and
 * week, for people or for Prometheus.
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
struct jm_store *
jm_ctl_open_store(const struct jm_conf *c)
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

void
jm_ctl_show_target(const struct jm_outbox_row *r, char *out, size_t outlen)
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
	s = jm_ctl_open_store(c);
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
		jm_ctl_show_target(r, target, sizeof(target));
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
	s = jm_ctl_open_store(c);
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
	s = jm_ctl_open_store(c);
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

/* The windows of "stats": label for Prometheus, title for people. */
static const struct {
	const char	*label;
	const char	*title;
	long		 seconds;
} windows[] = {
	{ "1h", "last hour", 3600 },
	{ "24h", "last day", 86400 },
	{ "7d", "last week", 7 * 86400 },
};

#define NWINDOWS	(sizeof(windows) / sizeof(windows[0]))
#define LONGEST		(NWINDOWS - 1)

struct stats {
	struct jm_store_stats	 total;
	struct jm_store_window	 w[NWINDOWS];
};

static void
stats_clear(struct stats *st)
{
	size_t	i;

	for (i = 0; i < NWINDOWS; i++)
		jm_store_window_clear(&st->w[i]);
}

/*
 * Shortest window first: whatever arrives between two reads is then in the
 * longer window too, so the longest one names every category and reason.
 */
static int
stats_read(struct jm_store *s, time_t now, struct stats *st)
{
	size_t	i;

	memset(st, 0, sizeof(*st));
	if (jm_store_stats(s, &st->total) == -1)
		return -1;
	for (i = 0; i < NWINDOWS; i++) {
		if (jm_store_window(s, now - windows[i].seconds,
		    &st->w[i]) == -1) {
			stats_clear(st);
			return -1;
		}
	}
	return 0;
}

static long
count_of(const struct jm_store_count *v, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return v[i].n;
	return 0;
}

/* Which list of a window: categories, ack reasons, escalation reasons. */
enum list {
	L_CATEGORIES,
	L_ACK,
	L_ESCALATE
};

static void
list_of(const struct jm_store_window *w, enum list which,
    const struct jm_store_count **v, size_t *n)
{
	switch (which) {
	case L_CATEGORIES:
		*v = w->categories;
		*n = w->n_categories;
		break;
	case L_ACK:
		*v = w->ack_reasons;
		*n = w->n_ack_reasons;
		break;
	default:
		*v = w->escalate_reasons;
		*n = w->n_escalate_reasons;
		break;
	}
}

static long
list_count(const struct jm_store_window *w, enum list which, const char *name)
{
	const struct jm_store_count *v;
	size_t	n;

	list_of(w, which, &v, &n);
	return count_of(v, n, name);
}

/* One row of the table: a label and a number per window. */
static void
text_row(const char *label, const long *n)
{
	size_t	i;

	printf("%-36s", label);
	for (i = 0; i < NWINDOWS; i++)
		printf(" %10ld", n[i]);
	printf("\n");
}

/* A row per name in the longest window's list, "PREFIX NAME"; SKIP left out. */
static void
text_list(const struct stats *st, enum list which, const char *prefix,
    const char *skip)
{
	const struct jm_store_count *v;
	size_t	 n, i, k;
	long	 c[NWINDOWS];
	char	 label[128];

	list_of(&st->w[LONGEST], which, &v, &n);
	for (i = 0; i < n; i++) {
		if (skip != NULL && strcmp(v[i].name, skip) == 0)
			continue;
		for (k = 0; k < NWINDOWS; k++)
			c[k] = list_count(&st->w[k], which, v[i].name);
		snprintf(label, sizeof(label), "  %s%s", prefix, v[i].name);
		text_row(label, c);
	}
}

static void
text_deliveries(const struct stats *st, enum jm_delivery_kind kind,
    const char *title)
{
	long	 c[NWINDOWS];
	size_t	 k;
	int	 d;
	char	 label[64];

	for (k = 0; k < NWINDOWS; k++) {
		c[k] = 0;
		for (d = 0; d < JM_DELIVERY_COUNT; d++)
			c[k] += st->w[k].deliveries[kind][d];
	}
	text_row(title, c);
	for (d = 0; d < JM_DELIVERY_COUNT; d++) {
		for (k = 0; k < NWINDOWS; k++)
			c[k] = st->w[k].deliveries[kind][d];
		snprintf(label, sizeof(label), "  %s",
		    jm_delivery_name((enum jm_delivery)d));
		text_row(label, c);
	}
}

static void
stats_text(const struct stats *st)
{
	long	 c[NWINDOWS];
	size_t	 k;
	int	 i;

	printf("customers %ld (at risk %ld)\n", st->total.customers,
	    st->total.at_risk);
	for (i = 0; i < JM_STAGE_COUNT; i++)
		printf("  %-11s %ld\n", jm_stage_name((enum jm_stage)i),
		    st->total.stage[i]);
	printf("events    %ld\n", st->total.events);
	printf("outbox    %ld pending, %ld delivered, %ld dead\n",
	    st->total.pending, st->total.done, st->total.dead);
	if (st->total.shared)
		printf("outages   %ld, %ld message%s handled without the "
		    "shared state\n", st->total.outages, st->total.unshared,
		    st->total.unshared == 1 ? "" : "s");

	printf("\n%-36s", "");
	for (k = 0; k < NWINDOWS; k++)
		printf(" %10s", windows[k].title);
	printf("\n");
	for (k = 0; k < NWINDOWS; k++)
		c[k] = st->w[k].messages;
	text_row("messages watched", c);
	text_list(st, L_CATEGORIES, "", NULL);
	for (k = 0; k < NWINDOWS; k++)
		c[k] = list_count(&st->w[k], L_ACK, "queued");
	text_row("acknowledgements queued", c);
	text_list(st, L_ACK, "not sent: ", "queued");
	text_deliveries(st, JM_KIND_ACK, "acknowledgement deliveries");
	for (k = 0; k < NWINDOWS; k++)
		c[k] = list_count(&st->w[k], L_ESCALATE, "queued");
	text_row("escalations", c);
	text_list(st, L_ESCALATE, "not escalated: ", "queued");
	text_deliveries(st, JM_KIND_CHAT, "chat deliveries");
	text_deliveries(st, JM_KIND_WEBHOOK, "webhook deliveries");
}

/* A label value in the text exposition format: \, " and newline escaped. */
static void
prom_value(const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			printf("\\%c", *v);
		else if (*v == '\n')
			printf("\\n");
		else
			putchar(*v);
	}
}

static void
prom_family(const char *name, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* NAME{LABEL="NAME",window="W"} N for each name of each window's list. */
static void
prom_list(const struct stats *st, enum list which, const char *name,
    const char *label, const char *skip)
{
	const struct jm_store_count *v;
	size_t	 n, i, k;

	for (k = 0; k < NWINDOWS; k++) {
		list_of(&st->w[k], which, &v, &n);
		for (i = 0; i < n; i++) {
			if (skip != NULL && strcmp(v[i].name, skip) == 0)
				continue;
			printf("%s{%s=\"", name, label);
			prom_value(v[i].name);
			printf("\",window=\"%s\"} %ld\n", windows[k].label,
			    v[i].n);
		}
	}
}

static void
stats_prometheus(const struct stats *st)
{
	size_t	k;
	int	i, d;

	prom_family("journey_customers", "Customers per journey stage, "
	    "exited included.");
	for (i = 0; i < JM_STAGE_COUNT; i++)
		printf("journey_customers{stage=\"%s\"} %ld\n",
		    jm_stage_name((enum jm_stage)i), st->total.stage[i]);
	prom_family("journey_customers_at_risk", "Customers flagged at risk.");
	printf("journey_customers_at_risk %ld\n", st->total.at_risk);
	prom_family("journey_outbox_rows", "Outbox rows kept, by state.");
	printf("journey_outbox_rows{state=\"pending\"} %ld\n",
	    st->total.pending);
	printf("journey_outbox_rows{state=\"delivered\"} %ld\n",
	    st->total.done);
	printf("journey_outbox_rows{state=\"dead\"} %ld\n", st->total.dead);

	prom_family("journey_messages", "Watched messages recorded over the "
	    "window, per category.");
	prom_list(st, L_CATEGORIES, "journey_messages", "category", NULL);
	prom_family("journey_acks_queued", "Messages answered with an "
	    "acknowledgement over the window.");
	for (k = 0; k < NWINDOWS; k++)
		printf("journey_acks_queued{window=\"%s\"} %ld\n",
		    windows[k].label, list_count(&st->w[k], L_ACK, "queued"));
	prom_family("journey_acks_suppressed", "Messages not acknowledged "
	    "over the window, per reason.");
	prom_list(st, L_ACK, "journey_acks_suppressed", "reason", "queued");
	prom_family("journey_escalations", "Messages escalated to chat over "
	    "the window.");
	for (k = 0; k < NWINDOWS; k++)
		printf("journey_escalations{window=\"%s\"} %ld\n",
		    windows[k].label, list_count(&st->w[k], L_ESCALATE,
		    "queued"));
	prom_family("journey_escalations_skipped", "Messages not escalated "
	    "over the window, per reason.");
	prom_list(st, L_ESCALATE, "journey_escalations_skipped", "reason",
	    "queued");
	prom_family("journey_deliveries", "Outbox rows created over the "
	    "window, per kind and where they stand now.");
	for (k = 0; k < NWINDOWS; k++)
		for (i = 0; i < JM_KIND_COUNT; i++)
			for (d = 0; d < JM_DELIVERY_COUNT; d++)
				printf("journey_deliveries{kind=\"%s\","
				    "state=\"%s\",window=\"%s\"} %ld\n",
				    jm_delivery_kind_name(
				    (enum jm_delivery_kind)i),
				    jm_delivery_name((enum jm_delivery)d),
				    windows[k].label,
				    st->w[k].deliveries[i][d]);
}

int
jm_ctl_stats(const struct jm_conf *c, int argc, char **argv)
{
	struct jm_store	*s;
	struct stats	 st;
	int		 prometheus = 0;

	if (argc == 2 && strcmp(argv[1], "--prometheus") == 0)
		prometheus = 1;
	else if (argc != 1) {
		fprintf(stderr, "usage: journeyctl stats [--prometheus]\n");
		return 1;
	}
	s = jm_ctl_open_store(c);
	if (s == NULL)
		return 1;
	if (stats_read(s, time(NULL), &st) == -1) {
		fprintf(stderr, "journeyctl: %s\n", jm_store_last_error());
		jm_store_close(s);
		return 1;
	}
	if (!prometheus)
		printf("state     %s%s\n", jm_store_backend(s),
		    st.total.shared ? " (shared by the fleet; the outbox is "
		    "this host's)" : "");
	jm_store_close(s);
	if (prometheus)
		stats_prometheus(&st);
	else
		stats_text(&st);
	stats_clear(&st);
	return 0;
}

int
jm_ctl_migrate(const struct jm_conf *c, int argc, char **argv)
{
	struct jm_store	*s;
	struct jm_store_migration m;

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
	s = jm_ctl_open_store(c);
	if (s == NULL)
		return 1;
	if (jm_store_migrate(s, time(NULL), &m) == -1) {
		fprintf(stderr, "journeyctl: %s\n", jm_store_last_error());
		jm_store_close(s);
		return 1;
	}
	jm_store_close(s);
	printf("copied %ld customer%s to redis; kept %ld that redis knew "
	    "more recently; added %ld acknowledgement%s and %ld escalated "
	    "thread%s still inside their windows\n", m.copied,
	    m.copied == 1 ? "" : "s", m.kept, m.acks, m.acks == 1 ? "" : "s",
	    m.threads, m.threads == 1 ? "" : "s");
	return 0;
}
