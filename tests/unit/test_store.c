/*
 * test_store.c: the SQLite store: facts read in the transaction, ack
 * counting windows, thread escalation, the outbox row life cycle, many
 * threads on one customer, a reopened store keeping its data, the
 * migration of a version 1 database, the counts over time windows that
 * journeyctl stats and report show, and the per-minute rate budgets.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journey/conf.h"
#include "journey/diag.h"
#include "journey/store.h"

#define T0	1700000000	/* "now" in these tests */

static char		 dir[64];
static struct jm_conf	*conf;

static void
setup(void)
{
	struct jm_diag	d;
	char		why[256];

	snprintf(dir, sizeof(dir), "/tmp/jm-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	jm_diag_init(&d);
	ck_assert_int_eq(jm_conf_load(NULL, &d, &conf), 0);
	jm_diag_free(&d);
	ck_assert_int_eq(jm_conf_set(conf, "state_dir", dir, why,
	    sizeof(why)), 0);
}

static void
teardown(void)
{
	char	cmd[128];

	jm_conf_unref(conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct jm_store *
open_store(void)
{
	struct jm_store	*s;
	char		 err[512];

	ck_assert_msg(jm_store_open(conf, &s, err, sizeof(err)) == 0, "%s",
	    err);
	return s;
}

static struct jm_store_query
query(const char *customer, const char *category, time_t now)
{
	struct jm_store_query q;

	memset(&q, 0, sizeof(q));
	q.customer = customer;
	q.category = category;
	q.now = now;
	q.ack_interval = 3600;
	q.escalation_window = 3600;
	q.initial.stage = JM_STAGE_ASSESS;
	return q;
}

/* One message with its reasons, and what it queued. */
static void
record_why(struct jm_store *s, const char *customer, const char *category,
    time_t now, const char *ack_reason, const char *escalate_reason,
    const struct jm_outbox_new *items, size_t n)
{
	struct jm_store_query	q = query(customer, category, now);
	struct jm_store_record	r;
	struct jm_facts		f;

	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	memset(&r, 0, sizeof(r));
	r.customer = customer;
	r.prev = f.state;
	r.next = f.state;
	r.write_state = 1;
	r.category = category;
	r.now = now;
	r.is_ack = ack_reason != NULL && strcmp(ack_reason, "queued") == 0;
	r.ack_reason = ack_reason;
	r.escalate_reason = escalate_reason;
	r.items = items;
	r.n_items = n;
	ck_assert_int_eq(jm_store_commit(s, &r), 0);
}

/* One committed message for CUSTOMER at NOW with ITEMS. */
static void
record(struct jm_store *s, const char *customer, const char *category,
    time_t now, int is_ack, const struct jm_outbox_new *items, size_t n)
{
	record_why(s, customer, category, now, is_ack ? "queued" : NULL, NULL,
	    items, n);
}

static void
ack(struct jm_store *s, const char *customer, const char *category,
    time_t now)
{
	struct jm_outbox_new it = { "smtp", customer, "From: x\r\n\r\nhi\r\n",
	    15, "", category };

	record(s, customer, category, now, 1, &it, 1);
}

/* The id of the only row created at CREATED. */
static long long
row_created_at(struct jm_store *s, time_t created)
{
	struct jm_outbox_row *rows;
	size_t		 n, i;
	long long	 id = 0;

	ck_assert_int_eq(jm_store_list(s, JM_STORE_LIST_PENDING |
	    JM_STORE_LIST_DEAD, &rows, &n), 0);
	for (i = 0; i < n; i++)
		if (rows[i].created == created)
			id = rows[i].id;
	jm_outbox_rows_free(rows, n);
	ck_assert(id != 0);
	return id;
}

START_TEST(test_unknown_then_known)
{
	struct jm_store		*s = open_store();
	struct jm_store_query	 q = query("ann@example.com", "praise", T0);
	struct jm_store_record	 r;
	struct jm_facts		 f;
	struct jm_customer	*c;

	q.initial.stage = JM_STAGE_AFFIRM;
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	ck_assert_int_eq(f.known, 0);
	ck_assert_int_eq(f.state.stage, JM_STAGE_AFFIRM);
	ck_assert_int_eq(f.state.at_risk, 0);
	ck_assert_int_eq(f.acks_same_category + f.acks_day + f.acks_minute, 0);
	ck_assert_int_eq(f.thread_escalated, 0);
	memset(&r, 0, sizeof(r));
	r.customer = "ann@example.com";
	r.prev = f.state;
	r.next.stage = JM_STAGE_ACTIVATE;
	r.next.at_risk = 1;
	r.write_state = 1;
	r.category = "praise";
	r.message_id = "<m1@example.com>";
	r.ticket = "JM-AAAAAAAA";
	r.now = T0;
	ck_assert_int_eq(jm_store_commit(s, &r), 0);

	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	ck_assert_int_eq(f.known, 1);
	ck_assert_int_eq(f.state.stage, JM_STAGE_ACTIVATE);
	ck_assert_int_eq(f.state.at_risk, 1);
	jm_store_rollback(s);

	ck_assert_int_eq(jm_store_customer(s, "ann@example.com", 10, &c), 0);
	ck_assert_str_eq(c->address, "ann@example.com");
	ck_assert_int_eq(c->state.stage, JM_STAGE_ACTIVATE);
	ck_assert_int_eq(c->state.at_risk, 1);
	ck_assert_int_eq(c->updated, T0);
	ck_assert_uint_eq(c->n_events, 1);
	ck_assert_str_eq(c->events[0].category, "praise");
	ck_assert_str_eq(c->events[0].message_id, "<m1@example.com>");
	ck_assert_str_eq(c->events[0].ticket, "JM-AAAAAAAA");
	ck_assert_int_eq(c->events[0].prev.stage, JM_STAGE_AFFIRM);
	ck_assert_int_eq(c->events[0].next.stage, JM_STAGE_ACTIVATE);
	ck_assert_int_eq(c->events[0].next.at_risk, 1);
	jm_customer_free(c);

	c = (void *)1;
	ck_assert_int_eq(jm_store_customer(s, "nobody@example.com", 10, &c),
	    1);
	ck_assert_ptr_null(c);
	jm_customer_free(NULL);
	jm_store_close(s);
}
END_TEST

START_TEST(test_rollback_writes_nothing)
{
	struct jm_store		*s = open_store();
	struct jm_store_query	 q = query("bob@example.com", NULL, T0);
	struct jm_facts		 f;
	struct jm_store_stats	 st;

	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	/* The lock was released: a second begin does not hang. */
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	ck_assert_int_eq(f.known, 0);
	jm_store_rollback(s);
	ck_assert_int_eq(jm_store_stats(s, &st), 0);
	ck_assert_int_eq(st.customers, 0);
	ck_assert_int_eq(st.events, 0);
	jm_store_close(s);
}
END_TEST

/* Holds the store's lock for test_try_begin_and_sync's main thread. */
struct holder {
	struct jm_store	*s;
	int		 got;	/* jm_store_try_begin() while it is held */
};

static void *
try_while_held(void *arg)
{
	struct holder		*h = arg;
	struct jm_store_query	 q = query("eve@example.com", NULL, T0);
	struct jm_facts		 f;

	h->got = jm_store_try_begin(h->s, &q, &f);
	if (h->got == 1)
		jm_store_rollback(h->s);
	return NULL;
}

/*
 * try_begin begins only on a free lock; a commit with a sync token is
 * visible at once, and jm_store_sync() waits for its fsync.
 */
START_TEST(test_try_begin_and_sync)
{
	struct jm_store		*s = open_store();
	struct jm_store_query	 q = query("eve@example.com", "praise", T0);
	struct jm_store_record	 r;
	struct jm_facts		 f;
	struct jm_customer	*c;
	struct holder		 h = { s, -2 };
	unsigned long long	 token = 99, first;
	pthread_t		 t;

	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, try_while_held, &h), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(h.got, 0);
	jm_store_rollback(s);

	ck_assert_int_eq(jm_store_try_begin(s, &q, &f), 1);
	ck_assert_int_eq(f.known, 0);
	memset(&r, 0, sizeof(r));
	r.customer = "eve@example.com";
	r.prev = f.state;
	r.next.stage = JM_STAGE_ADMIT;
	r.write_state = 1;
	r.category = "praise";
	r.now = T0;
	r.sync_token = &token;
	ck_assert_int_eq(jm_store_commit(s, &r), 0);
	ck_assert(token != 0 && token != 99);
	first = token;
	ck_assert_int_eq(jm_store_customer(s, "eve@example.com", 5, &c), 0);
	ck_assert_int_eq(c->state.stage, JM_STAGE_ADMIT);
	jm_customer_free(c);
	ck_assert_int_eq(jm_store_sync(s, token), 0);
	/* Again, at once: that commit is on disk. */
	ck_assert_int_eq(jm_store_sync(s, token), 0);
	ck_assert_int_eq(jm_store_sync(s, 0), 0);

	/* The next commit has the next token; without one, none is left. */
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	ck_assert_int_eq(f.known, 1);
	r.prev = f.state;
	r.now = T0 + 1;
	ck_assert_int_eq(jm_store_commit(s, &r), 0);
	ck_assert(token > first);
	ck_assert_int_eq(jm_store_sync(s, token), 0);
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	r.prev = f.state;
	r.now = T0 + 2;
	r.sync_token = NULL;
	ck_assert_int_eq(jm_store_commit(s, &r), 0);
	ck_assert_int_eq(jm_store_customer(s, "eve@example.com", 5, &c), 0);
	ck_assert_uint_eq(c->n_events, 3);
	jm_customer_free(c);
	jm_store_close(s);
}
END_TEST

/* Events in the database file itself, the log left aside. */
static int
events_in_file(void)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		 uri[256];
	int		 n = -1;

	snprintf(uri, sizeof(uri), "file:%s/journey.db?immutable=1", dir);
	if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
	    NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st,
	    NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

/*
 * A short log is copied into the database once commits pause, so that
 * the next burst does not begin with a long one to copy.
 */
START_TEST(test_checkpoint_in_lull)
{
	struct jm_store	*s = open_store();
	int		 i, n = 0;

	record(s, "lull@example.com", "praise", T0, 0, NULL, 0);
	record(s, "lull@example.com", "praise", T0 + 1, 0, NULL, 0);
	for (i = 0; i < 100 && (n = events_in_file()) != 2; i++)
		usleep(100 * 1000);
	ck_assert_int_eq(n, 2);
	jm_store_close(s);
}
END_TEST

START_TEST(test_ack_counting)
{
	struct jm_store		*s = open_store();
	struct jm_store_query	 q;
	struct jm_facts		 f;
	struct jm_outbox_row	*rows;
	size_t			 n;
	const char		*me = "cat@example.com";
	struct jm_outbox_new	 hook = { "webhook", "http://127.0.0.1:9/",
	    "{}", 2, "evt_1", "complaint" };
	long			 requeued;

	ack(s, me, "complaint", T0 - 100);	/* interval, day */
	ack(s, me, "complaint", T0 - 30);	/* interval, day, minute */
	ack(s, me, "praise", T0 - 10);		/* day, minute */
	ack(s, me, "complaint", T0 - 50);	/* dead below: nowhere */
	ack(s, me, "complaint", T0 - 7200);	/* day */
	ack(s, me, "complaint", T0 - 90000);	/* nowhere */
	ack(s, me, "complaint", T0 - 3600);	/* the interval's edge: day */
	ack(s, "dog@example.com", "complaint", T0 - 5);	/* minute */
	record(s, me, "complaint", T0 - 5, 0, &hook, 1);	/* not an ack */
	record(s, me, "complaint", T0 - 6, 0, NULL, 0);		/* nothing */

	ck_assert_int_eq(jm_store_dead(s, row_created_at(s, T0 - 50),
	    "SMTP 550: no such user"), 0);
	/* A delivered ack still counts. */
	ck_assert_int_eq(jm_store_claim(s, T0, T0 + 60, 100, &rows, &n), 0);
	ck_assert_uint_eq(n, 8);
	jm_outbox_rows_free(rows, n);
	ck_assert_int_eq(jm_store_delivered(s, row_created_at(s, T0 - 100),
	    T0), 0);

	q = query(me, "complaint", T0);
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_eq(f.acks_same_category, 2);
	ck_assert_int_eq(f.acks_day, 5);
	ck_assert_int_eq(f.acks_minute, 3);

	/* Counting may stop at the limit, never below it or the count. */
	q.ack_max_day = 2;
	q.ack_max_minute = 3;
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_ge(f.acks_day, 2);
	ck_assert_int_le(f.acks_day, 5);
	ck_assert_int_eq(f.acks_minute, 3);
	ck_assert_int_eq(f.acks_same_category, 2);
	q.ack_max_day = 6;
	q.ack_max_minute = 100;
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_eq(f.acks_day, 5);
	ck_assert_int_eq(f.acks_minute, 3);

	q = query(me, "praise", T0);
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_eq(f.acks_same_category, 1);

	/* No category is a category of its own. */
	q = query(me, NULL, T0);
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_eq(f.acks_same_category, 0);
	ack(s, me, NULL, T0 - 1);
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_eq(f.acks_same_category, 1);
	ck_assert_int_eq(f.acks_minute, 4);

	/* A dead ack requeued counts again, and not when dead once more. */
	ck_assert_int_eq(jm_store_requeue(s, row_created_at(s, T0 - 50), T0,
	    &requeued), 0);
	ck_assert_int_eq(requeued, 1);
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_eq(f.acks_minute, 5);
	ck_assert_int_eq(jm_store_dead(s, row_created_at(s, T0 - 50),
	    "SMTP 550: still no such user"), 0);
	/* Pruning old rows and counts leaves the minute's alone. */
	ck_assert_int_eq(jm_store_prune(s, T0 - 3600, T0 - 3600), 0);
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_eq(f.acks_minute, 4);
	jm_store_close(s);
}
END_TEST

START_TEST(test_thread_escalation)
{
	struct jm_store		*s = open_store();
	const char		*keys[] = { "<a@x>", "<b@x>" };
	const char		*probe[] = { "<c@x>", "", "<b@x>" };
	const char		*other[] = { "<z@x>" };
	struct jm_store_query	 q = query("eve@example.com", "complaint",
	    T0 - 1000);
	struct jm_store_record	 r;
	struct jm_facts		 f;

	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	memset(&r, 0, sizeof(r));
	r.customer = "eve@example.com";
	r.now = T0 - 1000;
	r.thread_keys = keys;
	r.n_thread_keys = 2;
	r.escalated = 1;
	ck_assert_int_eq(jm_store_commit(s, &r), 0);

	q = query("eve@example.com", "complaint", T0);
	q.thread_keys = probe;
	q.n_thread_keys = 3;
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_eq(f.thread_escalated, 1);

	q.escalation_window = 500;
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_eq(f.thread_escalated, 0);

	q.escalation_window = 3600;
	q.thread_keys = other;
	q.n_thread_keys = 1;
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_eq(f.thread_escalated, 0);

	/* Keys of a message that was not escalated are not remembered. */
	q.thread_keys = probe;
	q.n_thread_keys = 1;
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	r.now = T0;
	r.thread_keys = probe;
	r.n_thread_keys = 1;
	r.escalated = 0;
	ck_assert_int_eq(jm_store_commit(s, &r), 0);
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_eq(f.thread_escalated, 0);

	/* Pruned keys are gone, whatever the window. */
	ck_assert_int_eq(jm_store_prune(s, T0 - 999, 0), 0);
	q.thread_keys = keys;
	q.n_thread_keys = 2;
	q.escalation_window = 86400;
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_eq(f.thread_escalated, 0);
	jm_store_close(s);
}
END_TEST

START_TEST(test_outbox_life)
{
	struct jm_store		*s = open_store();
	struct jm_outbox_new	 items[3] = {
		{ "webhook", "http://127.0.0.1:9/a", "{\"a\":1}", 7, "evt_A",
		    NULL },
		{ "chat", "http://127.0.0.1:9/b", "{}", 2, "", NULL },
		{ "smtp", "zed@example.com", "X\0Y", 3, "", "complaint" },
	};
	struct jm_outbox_row	*rows;
	struct jm_store_stats	 st;
	size_t			 n;
	long			 count;
	long long		 a, b, c;

	record(s, "zed@example.com", "complaint", T0, 1, items, 3);
	ck_assert_int_eq(jm_store_claim(s, T0 - 1, T0 + 40, 10, &rows, &n), 0);
	ck_assert_uint_eq(n, 0);
	jm_outbox_rows_free(rows, n);

	ck_assert_int_eq(jm_store_claim(s, T0, T0 + 40, 2, &rows, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(rows[0].kind, "webhook");
	ck_assert_str_eq(rows[0].target, "http://127.0.0.1:9/a");
	ck_assert_uint_eq(rows[0].payload_len, 7);
	ck_assert(memcmp(rows[0].payload, "{\"a\":1}", 7) == 0);
	ck_assert_str_eq(rows[0].event_id, "evt_A");
	ck_assert_str_eq(rows[0].customer, "zed@example.com");
	ck_assert_str_eq(rows[0].category, "complaint");
	ck_assert_int_eq(rows[0].state, JM_OUTBOX_PENDING);
	ck_assert_int_eq(rows[0].attempts, 0);
	ck_assert_int_eq(rows[0].created, T0);
	ck_assert_str_eq(rows[1].kind, "chat");
	a = rows[0].id;
	b = rows[1].id;
	jm_outbox_rows_free(rows, n);

	/* Claimed rows are leased: not handed out again until it ends. */
	ck_assert_int_eq(jm_store_claim(s, T0 + 1, T0 + 40, 10, &rows, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rows[0].kind, "smtp");
	ck_assert_uint_eq(rows[0].payload_len, 3);
	ck_assert(memcmp(rows[0].payload, "X\0Y", 3) == 0);
	c = rows[0].id;
	jm_outbox_rows_free(rows, n);

	ck_assert_int_eq(jm_store_delivered(s, a, T0 + 2), 0);
	ck_assert_int_eq(jm_store_retry(s, b, T0 + 100, "HTTP 503"), 0);
	ck_assert_int_eq(jm_store_dead(s, c, "SMTP 550: no"), 0);
	/* A delivered or dead row takes no more updates. */
	ck_assert_int_eq(jm_store_retry(s, a, T0 + 100, "late"), 0);
	ck_assert_int_eq(jm_store_defer(s, c, T0), 0);

	ck_assert_int_eq(jm_store_list(s, JM_STORE_LIST_PENDING |
	    JM_STORE_LIST_DEAD, &rows, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(rows[0].id, b);
	ck_assert_int_eq(rows[0].attempts, 1);
	ck_assert_int_eq(rows[0].next_attempt, T0 + 100);
	ck_assert_str_eq(rows[0].last_error, "HTTP 503");
	ck_assert_ptr_null(rows[0].payload);
	ck_assert_int_eq(rows[1].id, c);
	ck_assert_int_eq(rows[1].state, JM_OUTBOX_DEAD);
	ck_assert_int_eq(rows[1].attempts, 1);
	ck_assert_str_eq(rows[1].last_error, "SMTP 550: no");
	jm_outbox_rows_free(rows, n);

	ck_assert_int_eq(jm_store_list(s, JM_STORE_LIST_DEAD, &rows, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(rows[0].id, c);
	jm_outbox_rows_free(rows, n);

	ck_assert_int_eq(jm_store_stats(s, &st), 0);
	ck_assert_int_eq(st.pending, 1);
	ck_assert_int_eq(st.done, 1);
	ck_assert_int_eq(st.dead, 1);
	ck_assert_int_eq(st.customers, 1);
	ck_assert_int_eq(st.events, 1);
	ck_assert_int_eq(st.stage[JM_STAGE_ASSESS], 1);

	/* Deferring counts no attempt. */
	ck_assert_int_eq(jm_store_defer(s, b, T0 + 5), 0);
	/* Requeue: one id, then every dead row; a done row stays done. */
	ck_assert_int_eq(jm_store_requeue(s, a, T0 + 10, &count), 0);
	ck_assert_int_eq(count, 0);
	ck_assert_int_eq(jm_store_requeue(s, 0, T0 + 10, &count), 0);
	ck_assert_int_eq(count, 1);
	ck_assert_int_eq(jm_store_requeue(s, b, T0 + 10, &count), 0);
	ck_assert_int_eq(count, 1);
	ck_assert_int_eq(jm_store_claim(s, T0 + 10, T0 + 50, 10, &rows, &n),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(rows[0].attempts, 0);
	ck_assert_int_eq(rows[0].retry_from, T0 + 10);
	ck_assert_int_eq(rows[0].created, T0);
	ck_assert_int_eq(rows[1].state, JM_OUTBOX_PENDING);
	jm_outbox_rows_free(rows, n);

	/* Delivered rows are pruned by their delivery time. */
	ck_assert_int_eq(jm_store_prune(s, 0, T0 + 2), 0);
	ck_assert_int_eq(jm_store_stats(s, &st), 0);
	ck_assert_int_eq(st.done, 1);
	ck_assert_int_eq(jm_store_prune(s, 0, T0 + 3), 0);
	ck_assert_int_eq(jm_store_stats(s, &st), 0);
	ck_assert_int_eq(st.done, 0);
	jm_store_close(s);
}
END_TEST

#define NTHREADS	8
#define NROUNDS		25

/* Each round moves the customer one stage on, modulo the eight. */
static void *
hammer(void *arg)
{
	struct jm_store		*s = arg;
	struct jm_store_query	 q = query("busy@example.com", "x", T0);
	struct jm_store_record	 r;
	struct jm_facts		 f;
	int			 i, bad = 0;

	for (i = 0; i < NROUNDS; i++) {
		if (jm_store_begin(s, &q, &f) == -1) {
			bad++;
			continue;
		}
		memset(&r, 0, sizeof(r));
		r.customer = "busy@example.com";
		r.prev = f.state;
		r.next.stage = (enum jm_stage)((f.state.stage + 1) % 8);
		r.write_state = 1;
		r.now = T0;
		if (jm_store_commit(s, &r) == -1)
			bad++;
	}
	return bad == 0 ? NULL : (void *)1;
}

START_TEST(test_concurrency)
{
	struct jm_store		*s = open_store();
	struct jm_customer	*c;
	pthread_t		 t[NTHREADS];
	void			*rv;
	size_t			 i;

	for (i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, s), 0);
	for (i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], &rv), 0);
		ck_assert_ptr_null(rv);
	}
	ck_assert_int_eq(jm_store_customer(s, "busy@example.com", 1000, &c),
	    0);
	ck_assert_uint_eq(c->n_events, NTHREADS * NROUNDS);
	ck_assert_int_eq(c->state.stage, (NTHREADS * NROUNDS) % 8);
	/* Every event starts where the one before it ended: none lost. */
	for (i = 0; i + 1 < c->n_events; i++)
		ck_assert_int_eq(c->events[i].prev.stage,
		    c->events[i + 1].next.stage);
	ck_assert_int_eq(c->events[c->n_events - 1].prev.stage,
	    JM_STAGE_ASSESS);
	jm_customer_free(c);
	jm_store_close(s);
}
END_TEST

/*
 * Commits of 64 KB outbox rows, back to back, write about 140 MB of log:
 * the checkpoints, made beside the writer, keep the log far shorter, and
 * nothing written is lost.
 */
#define WAL_COMMITS	1500
#define WAL_PAYLOAD	(64 * 1024)
#define WAL_BOUND	(48L * 1024 * 1024)

START_TEST(test_log_bounded)
{
	struct jm_store		*s = open_store();
	struct jm_outbox_new	 it = { "webhook", "http://127.0.0.1:9/", NULL,
	    WAL_PAYLOAD, "", "complaint" };
	struct stat		 sb;
	struct jm_store_stats	 st;
	char			 path[128], *payload;
	off_t			 most = 0;
	size_t			 i;

	payload = malloc(WAL_PAYLOAD);
	ck_assert_ptr_nonnull(payload);
	snprintf(path, sizeof(path), "%s/journey.db-wal", dir);
	for (i = 0; i < WAL_COMMITS; i++) {
		/* Unlike bytes, so that SQLite stores them page by page. */
		memset(payload, 'a' + (int)(i % 26), WAL_PAYLOAD);
		it.payload = payload;
		record(s, "log@example.com", "complaint", T0 + (time_t)i, 0,
		    &it, 1);
		ck_assert_int_eq(stat(path, &sb), 0);
		if (sb.st_size > most)
			most = sb.st_size;
	}
	free(payload);
	ck_assert_msg(most < WAL_BOUND, "the log grew to %lld bytes",
	    (long long)most);
	ck_assert_int_eq(jm_store_stats(s, &st), 0);
	ck_assert_int_eq(st.pending, WAL_COMMITS);
	ck_assert_int_eq(st.events, WAL_COMMITS);
	jm_store_close(s);
}
END_TEST

/* Several rows marked delivered at once; a dead one stays dead. */
START_TEST(test_delivered_many)
{
	struct jm_store		*s = open_store();
	struct jm_outbox_new	 it = { "webhook", "http://127.0.0.1:9/", "{}",
	    2, "", "praise" };
	struct jm_outbox_row	*rows;
	struct jm_store_stats	 st;
	long long		 ids[5];
	size_t			 n, i;

	for (i = 0; i < 5; i++)
		record(s, "many@example.com", "praise", T0 + (time_t)i, 0,
		    &it, 1);
	ck_assert_int_eq(jm_store_claim(s, T0 + 10, T0 + 40, 10, &rows, &n),
	    0);
	ck_assert_uint_eq(n, 5);
	for (i = 0; i < n; i++)
		ids[i] = rows[i].id;
	jm_outbox_rows_free(rows, n);
	ck_assert_int_eq(jm_store_dead(s, ids[4], "HTTP 404"), 0);
	ck_assert_int_eq(jm_store_delivered_many(s, ids, 0, T0 + 11), 0);
	ck_assert_int_eq(jm_store_delivered_many(s, ids, 5, T0 + 11), 0);
	ck_assert_int_eq(jm_store_stats(s, &st), 0);
	ck_assert_int_eq(st.done, 4);
	ck_assert_int_eq(st.dead, 1);
	ck_assert_int_eq(st.pending, 0);
	ck_assert_int_eq(jm_store_slowest(s, T0, 10, &rows, &n), 0);
	ck_assert_uint_eq(n, 4);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(rows[i].delivered, T0 + 11);
	jm_outbox_rows_free(rows, n);
	jm_store_close(s);
}
END_TEST

START_TEST(test_reopen)
{
	struct jm_store		*s = open_store();
	struct jm_outbox_new	 it = { "webhook", "http://127.0.0.1:9/",
	    "{}", 2, "evt_R", NULL };
	struct jm_outbox_row	*rows;
	struct jm_customer	*c;
	sqlite3			*db;
	sqlite3_stmt		*st;
	char			 path[128];
	size_t			 n;

	record(s, "rey@example.com", "praise", T0, 0, &it, 1);
	jm_store_close(s);
	jm_store_close(NULL);

	s = open_store();
	ck_assert_int_eq(jm_store_customer(s, "rey@example.com", 5, &c), 0);
	ck_assert_uint_eq(c->n_events, 1);
	jm_customer_free(c);
	ck_assert_int_eq(jm_store_claim(s, T0, T0 + 1, 10, &rows, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rows[0].event_id, "evt_R");
	jm_outbox_rows_free(rows, n);
	jm_store_close(s);

	snprintf(path, sizeof(path), "%s/journey.db", dir);
	ck_assert_int_eq(access(path, R_OK | W_OK), 0);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
	    "SELECT max(version) FROM schema_version", -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	/* One version per migration. */
	ck_assert_int_eq(sqlite3_column_int(st, 0), 4);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1,
	    &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	struct jm_store	*s = open_store();
	sqlite3		*db;
	char		 path[128], err[512];

	jm_store_close(s);
	snprintf(path, sizeof(path), "%s/journey.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO schema_version"
	    " VALUES (99)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	s = (void *)1;
	ck_assert_int_eq(jm_store_open(conf, &s, err, sizeof(err)), -1);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, "schema version 99 is newer") != NULL, "%s",
	    err);
}
END_TEST

/* A version 1 database (no reasons) is migrated on open, its events kept. */
START_TEST(test_migration_v1)
{
	struct jm_store		*s = open_store();
	struct jm_store_window	 w;
	struct jm_store_query	 q;
	struct jm_facts		 f;
	sqlite3			*db;
	sqlite3_stmt		*st;
	char			 path[128];

	jm_store_close(s);
	snprintf(path, sizeof(path), "%s/journey.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "DROP INDEX events_at;"
	    "DROP INDEX outbox_created;"
	    "DROP INDEX outbox_ack_customer;"
	    "DROP TRIGGER ack_seconds_insert;"
	    "DROP TRIGGER ack_seconds_update;"
	    "DROP TRIGGER ack_seconds_delete;"
	    "DROP TABLE ack_seconds;"
	    "INSERT INTO outbox (kind, target, payload, customer, category,"
	    " is_ack, created, retry_from, next_attempt) VALUES ('smtp',"
	    " 'old@example.com', 'x', 'old@example.com', 'praise', 1,"
	    " 1700000000 - 10, 0, 0);"
	    "CREATE INDEX outbox_ack_customer ON outbox (customer, created)"
	    "  WHERE is_ack;"
	    "CREATE INDEX outbox_ack_created ON outbox (created) WHERE is_ack;"
	    "ALTER TABLE events DROP COLUMN ack_reason;"
	    "ALTER TABLE events DROP COLUMN escalate_reason;"
	    "DELETE FROM schema_version WHERE version > 1;"
	    "INSERT INTO events (customer, at, category, prev_stage,"
	    " prev_at_risk, next_stage, next_at_risk)"
	    " VALUES ('old@example.com', 1699999000, 'praise', 'assess', 0, 'admit', 0)", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);

	s = open_store();
	/* The acknowledgement of version 1 is counted by version 4. */
	q = query("old@example.com", "praise", T0);
	ck_assert_int_eq(jm_store_begin(s, &q, &f), 0);
	jm_store_rollback(s);
	ck_assert_int_eq(f.acks_minute, 1);
	ck_assert_int_eq(f.acks_day, 1);
	record_why(s, "new@example.com", "complaint", T0, "queued",
	    "no-chat-target", NULL, 0);
	ck_assert_int_eq(jm_store_window(s, T0 - 3600, &w), 0);
	jm_store_close(s);
	ck_assert_int_eq(w.messages, 2);
	ck_assert_uint_eq(w.n_categories, 2);
	/* The old event has no reasons: counted as a message only. */
	ck_assert_uint_eq(w.n_ack_reasons, 1);
	ck_assert_str_eq(w.ack_reasons[0].name, "queued");
	ck_assert_int_eq(w.ack_reasons[0].n, 1);
	ck_assert_uint_eq(w.n_escalate_reasons, 1);
	ck_assert_str_eq(w.escalate_reasons[0].name, "no-chat-target");
	jm_store_window_clear(&w);
	ck_assert_ptr_null(w.categories);

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT max(version)"
	    " FROM schema_version", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 4);
	sqlite3_finalize(st);
	/*
	 * Version 3: the per-customer counts read only an index; version 4:
	 * the minute's count reads the counts per second.
	 */
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*)"
	    " FROM ack_seconds", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN"
	    " SELECT count(*) FROM outbox WHERE is_ack AND customer = 'a'"
	    " AND category IS 'b' AND created > 0 AND state != 'dead'", -1,
	    &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_ptr_nonnull(strstr((const char *)sqlite3_column_text(st, 3),
	    "COVERING INDEX outbox_ack_customer"));
	sqlite3_finalize(st);
	sqlite3_close(db);
}
END_TEST

/*
 * Messages over a week and a half, and their deliveries: each window
 * counts what happened from its start on.
 */
static struct jm_store *
fill_windows(void)
{
	struct jm_store		*s = open_store();
	struct jm_outbox_row	*rows;
	size_t			 n, i;
	struct jm_outbox_new	 recent[3] = {
		{ "smtp", "a@example.com", "x", 1, "", "complaint" },
		{ "webhook", "https://crm.example/h", "{}", 2, "e1", NULL },
		{ "chat", "https://chat.example/x", "{}", 2, "e1", NULL },
	};
	struct jm_outbox_new	 hook = { "webhook", "https://crm.example/h",
		"{}", 2, "e2", NULL };

	/* 30 minutes ago: a complaint, answered and escalated. */
	record_why(s, "a@example.com", "complaint", T0 - 1800, "queued",
	    "queued", recent, 3);
	/* 5 hours ago: praise, not answered (daily limit). */
	record_why(s, "b@example.com", "praise", T0 - 5 * 3600, "daily-limit",
	    "not-escalated", &hook, 1);
	/* 3 days ago: nothing matched; another complaint. */
	record_why(s, "c@example.com", NULL, T0 - 3 * 86400, "no-category",
	    "no-category", NULL, 0);
	record_why(s, "d@example.com", "complaint", T0 - 3 * 86400 + 60,
	    "already-answered", "thread-already-escalated", NULL, 0);
	/* 10 days ago: outside every window. */
	record_why(s, "e@example.com", "complaint", T0 - 10 * 86400, "queued",
	    "queued", NULL, 0);

	/* Ack delivered after 90 s, chat dead, the first hook retrying. */
	ck_assert_int_eq(jm_store_list(s, JM_STORE_LIST_PENDING, &rows, &n), 0);
	ck_assert_uint_eq(n, 4);
	for (i = 0; i < n; i++) {
		if (strcmp(rows[i].kind, "smtp") == 0)
			ck_assert_int_eq(jm_store_delivered(s, rows[i].id,
			    rows[i].created + 90), 0);
		else if (strcmp(rows[i].kind, "chat") == 0)
			ck_assert_int_eq(jm_store_dead(s, rows[i].id,
			    "HTTP 404"), 0);
		else if (strcmp(rows[i].event_id, "e1") == 0)
			ck_assert_int_eq(jm_store_retry(s, rows[i].id, T0 + 60,
			    "HTTP 503"), 0);
		else
			ck_assert_int_eq(jm_store_delivered(s, rows[i].id,
			    rows[i].created + 5), 0);
	}
	jm_outbox_rows_free(rows, n);
	return s;
}

static const struct window_case {
	const char	*label;
	long		 seconds;
	long		 messages;
	long		 complaint, praise, none;
	long		 acks_queued, daily_limit, no_category, answered;
	long		 escalated;
	long		 ack[JM_DELIVERY_COUNT];
	long		 hook[JM_DELIVERY_COUNT];
	long		 chat[JM_DELIVERY_COUNT];
} window_cases[] = {
	{ "hour", 3600, 1, 1, 0, 0, 1, 0, 0, 0, 1,
	    { 1, 0, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } },
	{ "day", 86400, 2, 1, 1, 0, 1, 1, 0, 0, 1,
	    { 1, 0, 0, 0 }, { 1, 0, 1, 0 }, { 0, 0, 0, 1 } },
	{ "week", 7 * 86400, 4, 2, 1, 1, 1, 1, 1, 1, 1,
	    { 1, 0, 0, 0 }, { 1, 0, 1, 0 }, { 0, 0, 0, 1 } },
	{ "month", 30 * 86400, 5, 3, 1, 1, 2, 1, 1, 1, 2,
	    { 1, 0, 0, 0 }, { 1, 0, 1, 0 }, { 0, 0, 0, 1 } },
};

static long
named(const struct jm_store_count *v, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return v[i].n;
	return 0;
}

START_TEST(test_window)
{
	const struct window_case *c = &window_cases[_i];
	struct jm_store		*s = fill_windows();
	struct jm_store_window	 w;
	int			 d;

	ck_assert_int_eq(jm_store_window(s, T0 - c->seconds, &w), 0);
	jm_store_close(s);
	ck_assert_msg(w.messages == c->messages, "%s: %ld messages", c->label,
	    w.messages);
	ck_assert_int_eq(named(w.categories, w.n_categories, "complaint"),
	    c->complaint);
	ck_assert_int_eq(named(w.categories, w.n_categories, "praise"),
	    c->praise);
	ck_assert_int_eq(named(w.categories, w.n_categories, "none"), c->none);
	ck_assert_int_eq(named(w.ack_reasons, w.n_ack_reasons, "queued"),
	    c->acks_queued);
	ck_assert_int_eq(named(w.ack_reasons, w.n_ack_reasons, "daily-limit"),
	    c->daily_limit);
	ck_assert_int_eq(named(w.ack_reasons, w.n_ack_reasons, "no-category"),
	    c->no_category);
	ck_assert_int_eq(named(w.ack_reasons, w.n_ack_reasons,
	    "already-answered"), c->answered);
	ck_assert_int_eq(named(w.escalate_reasons, w.n_escalate_reasons,
	    "queued"), c->escalated);
	/* Largest first. */
	ck_assert_str_eq(w.categories[0].name, "complaint");
	for (d = 0; d < JM_DELIVERY_COUNT; d++) {
		ck_assert_msg(w.deliveries[JM_KIND_ACK][d] == c->ack[d],
		    "%s: ack %s", c->label, jm_delivery_name(d));
		ck_assert_msg(w.deliveries[JM_KIND_WEBHOOK][d] == c->hook[d],
		    "%s: webhook %s", c->label, jm_delivery_name(d));
		ck_assert_msg(w.deliveries[JM_KIND_CHAT][d] == c->chat[d],
		    "%s: chat %s", c->label, jm_delivery_name(d));
	}
	jm_store_window_clear(&w);
}
END_TEST

START_TEST(test_daily_and_slowest)
{
	struct jm_store		*s = fill_windows();
	struct jm_store_day	*days;
	struct jm_outbox_row	*rows;
	size_t			 n, i;
	long			 total = 0;

	ck_assert_int_eq(jm_store_daily(s, T0 - 14 * 86400, &days, &n), 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(days[i].day % 86400, 0);
		if (i > 0)
			ck_assert(days[i].day >= days[i - 1].day);
		total += days[i].n;
	}
	ck_assert_int_eq(total, 5);
	/* T0 - 3 days holds "none" and a complaint (60 s apart, one day). */
	for (i = 0; i < n; i++)
		if (days[i].day == T0 - 3 * 86400 - T0 % 86400 &&
		    strcmp(days[i].category, "none") == 0)
			break;
	ck_assert_uint_lt(i, n);
	jm_store_days_free(days, n);

	ck_assert_int_eq(jm_store_slowest(s, T0 - 86400, 10, &rows, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(rows[0].kind, "smtp");
	ck_assert_int_eq(rows[0].delivered - rows[0].created, 90);
	ck_assert_str_eq(rows[1].kind, "webhook");
	jm_outbox_rows_free(rows, n);
	ck_assert_int_eq(jm_store_slowest(s, T0 - 86400, 1, &rows, &n), 0);
	ck_assert_uint_eq(n, 1);
	jm_outbox_rows_free(rows, n);
	jm_store_close(s);
}
END_TEST

/* The chat rate limit's budgets, one take at a time, in order. */
static const struct rate_step {
	const char	*name;
	time_t		 now;
	long		 limit;
	int		 want;
} rate_steps[] = {
	{ "https://chat.example/a", T0, 2, 1 },
	{ "https://chat.example/a", T0 + 1, 2, 1 },
	{ "https://chat.example/a", T0 + 2, 2, 0 },	/* spent */
	{ "https://chat.example/b", T0 + 2, 2, 1 },	/* its own */
	{ "https://chat.example/a", T0 + 3, 3, 1 },	/* a higher limit */
	{ "https://chat.example/a", T0 + 4, 3, 0 },
	{ "https://chat.example/a", T0 + 4, 0, 1 },	/* no limit */
	{ "https://chat.example/a", T0 + 4, -1, 1 },
	{ "https://chat.example/a", T0 - T0 % 60 + 60, 2, 1 }, /* new minute */
	{ "https://chat.example/a", T0 - T0 % 60 + 61, 2, 1 },
	{ "https://chat.example/a", T0 - T0 % 60 + 62, 2, 0 },
};

START_TEST(test_rate)
{
	struct jm_store	*s = open_store();
	char		 name[64];
	size_t		 i;
	int		 k;

	/* T0 is 20 s into its minute: the steps up to T0 + 4 share it. */
	ck_assert_int_lt(T0 % 60 + 4, 60);
	for (i = 0; i < sizeof(rate_steps) / sizeof(rate_steps[0]); i++) {
		const struct rate_step *st = &rate_steps[i];

		ck_assert_msg(jm_store_rate_take(s, st->name, st->now,
		    st->limit) == st->want, "step %zu", i);
	}
	/* Names are bounded: past 256 in one minute, an error (let go). */
	for (k = 0; k < 300; k++) {
		snprintf(name, sizeof(name), "n%d", k);
		if (jm_store_rate_take(s, name, T0 + 120, 5) != 1)
			break;
	}
	ck_assert_int_eq(k, 256);
	ck_assert_int_eq(jm_store_rate_take(s, name, T0 + 120, 5), -1);
	/* A minute later, the old names give way. */
	ck_assert_int_eq(jm_store_rate_take(s, name, T0 + 180, 5), 1);
	ck_assert_int_eq(jm_store_rate_take(s, "n0", T0 + 180, 1), 1);
	ck_assert_int_eq(jm_store_rate_take(s, "n0", T0 + 180, 1), 0);
	jm_store_close(s);
}
END_TEST

START_TEST(test_open_error)
{
	struct jm_store	*s;
	char		 why[256], err[512];

	ck_assert_int_eq(jm_conf_set(conf, "state_dir", "/nonexistent/jm",
	    why, sizeof(why)), 0);
	ck_assert_int_eq(jm_store_open(conf, &s, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "/nonexistent/jm/journey.db") != NULL, "%s",
	    err);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc = tcase_create("store");
	SRunner	*sr;
	int	 failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_unknown_then_known);
	tcase_add_test(tc, test_rollback_writes_nothing);
	tcase_add_test(tc, test_try_begin_and_sync);
	tcase_add_test(tc, test_checkpoint_in_lull);
	tcase_add_test(tc, test_ack_counting);
	tcase_add_test(tc, test_thread_escalation);
	tcase_add_test(tc, test_outbox_life);
	tcase_add_test(tc, test_concurrency);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_log_bounded);
	tcase_add_test(tc, test_delivered_many);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_open_error);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_migration_v1);
	tcase_add_loop_test(tc, test_window, 0,
	    sizeof(window_cases) / sizeof(window_cases[0]));
	tcase_add_test(tc, test_daily_and_slowest);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
