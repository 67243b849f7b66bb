/*
 * store.c: the front of the journey store.
 *
 * Callers hold a struct jm_store and never learn which backend is behind
 * it; this file picks the backend when the store is opened and forwards
 * every call through the ops table.  It also owns the freeing of the
 * structures the backends return, so that every backend allocates them the
 * same way (malloc, one string per field).
 *
 * Deliberately not here: SQL, locking, or any policy about what is written;
 * those belong to the backend and to the caller.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/store.h"
#include "journey/store_redis.h"

/* Per thread, so that one message's failure never shows in another's log. */
static __thread char last_error[256];

const char *
jm_store_last_error(void)
{
	return last_error[0] != '\0' ? last_error : "unknown error";
}

void
jm_store_clear_error(void)
{
	last_error[0] = '\0';
}

int
jm_store_failed(void)
{
	return last_error[0] != '\0';
}

void
jm_store_set_error(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

int
jm_store_open(const struct jm_conf *conf, struct jm_store **out, char *err,
    size_t errlen)
{
	struct jm_store	*s;
	char		*path;
	size_t		 n;

	*out = NULL;
	if (conf->state_dir == NULL || conf->state_dir[0] == '\0') {
		snprintf(err, errlen, "state_dir is empty");
		return -1;
	}
	n = strlen(conf->state_dir) + sizeof("/journey.db");
	path = malloc(n);
	s = calloc(1, sizeof(*s));
	if (path == NULL || s == NULL) {
		free(path);
		free(s);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(path, n, "%s/journey.db", conf->state_dir);
	s->ops = &jm_store_sqlite_ops;
	if (jm_store_sqlite_open(path, &s->impl, err, errlen) == -1) {
		free(path);
		free(s);
		return -1;
	}
	free(path);
	if (conf->state != NULL && strcmp(conf->state, "sqlite") != 0) {
		void	*shared;

		/* Redis for the customers, this database for the outbox. */
		if (jm_store_redis_open(conf, s->ops, s->impl, &shared, err,
		    errlen) == -1) {
			s->ops->close(s->impl);
			free(s);
			return -1;
		}
		s->ops = &jm_store_redis_ops;
		s->impl = shared;
	}
	*out = s;
	return 0;
}

int
jm_store_check(const struct jm_conf *conf, char *err, size_t errlen)
{
	if (conf->state == NULL || strcmp(conf->state, "sqlite") == 0)
		return 0;
	return jm_store_redis_check(conf, err, errlen);
}

const char *
jm_store_backend(const struct jm_store *s)
{
	return s->ops->name;
}

int
jm_store_migrate(struct jm_store *s, time_t now,
    struct jm_store_migration *m)
{
	memset(m, 0, sizeof(*m));
	if (s->ops->migrate == NULL) {
		jm_store_set_error("state = %s: the customers are not shared, "
		    "there is nowhere to copy them to", s->ops->name);
		return -1;
	}
	return s->ops->migrate(s->impl, now, m);
}

int
jm_store_rate_take(struct jm_store *s, const char *name, time_t now,
    long limit)
{
	if (limit <= 0 || s->ops->rate == NULL)
		return 1;
	return s->ops->rate(s->impl, name, now, limit);
}

int
jm_store_begin(struct jm_store *s, const struct jm_store_query *q,
    struct jm_facts *facts)
{
	return s->ops->begin(s->impl, q, facts);
}

int
jm_store_peek(struct jm_store *s, const struct jm_store_query *q,
    struct jm_facts *facts)
{
	if (s->ops->peek == NULL)
		return -1;
	return s->ops->peek(s->impl, q, facts);
}

int
jm_store_commit(struct jm_store *s, const struct jm_store_record *r)
{
	if (r->sync_token != NULL)
		*r->sync_token = 0;
	return s->ops->commit(s->impl, r);
}

int
jm_store_sync(struct jm_store *s, unsigned long long token)
{
	if (token == 0 || s->ops->sync == NULL)
		return 0;
	return s->ops->sync(s->impl, token);
}

int
jm_store_try_begin(struct jm_store *s, const struct jm_store_query *q,
    struct jm_facts *facts)
{
	if (s->ops->try_begin == NULL)
		return 0;
	return s->ops->try_begin(s->impl, q, facts);
}

void
jm_store_rollback(struct jm_store *s)
{
	s->ops->rollback(s->impl);
}

int
jm_store_claim(struct jm_store *s, time_t now, time_t lease_until,
    size_t max, struct jm_outbox_row **rows, size_t *n)
{
	return s->ops->claim(s->impl, now, lease_until, max, rows, n);
}

int
jm_store_delivered(struct jm_store *s, long long id, time_t now)
{
	return s->ops->delivered(s->impl, &id, 1, now);
}

int
jm_store_delivered_many(struct jm_store *s, const long long *ids, size_t n,
    time_t now)
{
	if (n == 0)
		return 0;
	return s->ops->delivered(s->impl, ids, n, now);
}

int
jm_store_retry(struct jm_store *s, long long id, time_t next, const char *err)
{
	return s->ops->retry(s->impl, id, next, err);
}

int
jm_store_defer(struct jm_store *s, long long id, time_t next)
{
	return s->ops->defer(s->impl, id, next);
}

int
jm_store_dead(struct jm_store *s, long long id, const char *err)
{
	return s->ops->dead(s->impl, id, err);
}

int
jm_store_list(struct jm_store *s, int which, struct jm_outbox_row **rows,
    size_t *n)
{
	return s->ops->list(s->impl, which, rows, n);
}

int
jm_store_requeue(struct jm_store *s, long long id, time_t now, long *count)
{
	return s->ops->requeue(s->impl, id, now, count);
}

int
jm_store_customer(struct jm_store *s, const char *address, size_t max_events,
    struct jm_customer **out)
{
	return s->ops->customer(s->impl, address, max_events, out);
}

int
jm_store_stats(struct jm_store *s, struct jm_store_stats *st)
{
	return s->ops->stats(s->impl, st);
}

int
jm_store_window(struct jm_store *s, time_t since, struct jm_store_window *w)
{
	return s->ops->window(s->impl, since, w);
}

int
jm_store_daily(struct jm_store *s, time_t since, struct jm_store_day **days,
    size_t *n)
{
	return s->ops->daily(s->impl, since, days, n);
}

int
jm_store_slowest(struct jm_store *s, time_t since, size_t max,
    struct jm_outbox_row **rows, size_t *n)
{
	return s->ops->slowest(s->impl, since, max, rows, n);
}

int
jm_store_prune(struct jm_store *s, time_t threads_before, time_t done_before)
{
	return s->ops->prune(s->impl, threads_before, done_before);
}

void
jm_store_close(struct jm_store *s)
{
	if (s == NULL)
		return;
	s->ops->close(s->impl);
	free(s);
}

void
jm_outbox_rows_free(struct jm_outbox_row *rows, size_t n)
{
	size_t	i;

	if (rows == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(rows[i].kind);
		free(rows[i].target);
		free(rows[i].payload);
		free(rows[i].event_id);
		free(rows[i].customer);
		free(rows[i].category);
		free(rows[i].last_error);
	}
	free(rows);
}

void
jm_customer_free(struct jm_customer *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_events; i++) {
		free(c->events[i].category);
		free(c->events[i].message_id);
		free(c->events[i].ticket);
	}
	free(c->events);
	free(c->address);
	free(c);
}

const char *
jm_outbox_state_name(enum jm_outbox_state st)
{
	switch (st) {
	case JM_OUTBOX_PENDING:
		return "pending";
	case JM_OUTBOX_DONE:
		return "done";
	case JM_OUTBOX_DEAD:
		return "dead";
	}
	return "unknown";
}

static void
counts_free(struct jm_store_count *c, size_t n)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < n; i++)
		free(c[i].name);
	free(c);
}

void
jm_store_window_clear(struct jm_store_window *w)
{
	counts_free(w->categories, w->n_categories);
	counts_free(w->ack_reasons, w->n_ack_reasons);
	counts_free(w->escalate_reasons, w->n_escalate_reasons);
	memset(w, 0, sizeof(*w));
}

void
jm_store_days_free(struct jm_store_day *days, size_t n)
{
	size_t	i;

	if (days == NULL)
		return;
	for (i = 0; i < n; i++)
		free(days[i].category);
	free(days);
}

const char *
jm_delivery_kind_name(enum jm_delivery_kind k)
{
	static const char *const names[JM_KIND_COUNT] = {
		[JM_KIND_ACK] = "ack",
		[JM_KIND_WEBHOOK] = "webhook",
		[JM_KIND_CHAT] = "chat",
	};

	return (unsigned)k < JM_KIND_COUNT ? names[k] : "?";
}

const char *
jm_delivery_name(enum jm_delivery d)
{
	static const char *const names[JM_DELIVERY_COUNT] = {
		[JM_DELIVERY_DELIVERED] = "delivered",
		[JM_DELIVERY_PENDING] = "pending",
		[JM_DELIVERY_RETRYING] = "retrying",
		[JM_DELIVERY_DEAD] = "dead",
	};

	return (unsigned)d < JM_DELIVERY_COUNT ? names[d] : "?";
}
