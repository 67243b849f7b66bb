/*
 * store.h: the journey store: customer state, history, thread keys and the
 * durable outbox.
 *
 * One message is one transaction: jm_store_begin() takes the store's lock
 * and reads the facts the decision needs, jm_store_commit() writes the new
 * state and the outbox rows and lets go.  Whatever the milter answers, the
 * event is on disk first; the outbox thread (outbox.h) delivers it later.
 *
 * The store is a front over a backend (struct jm_store_ops): SQLite in
 * store_sqlite.c for one host, or Redis for the customers' state with
 * SQLite beside it for the outbox when several hosts share customers
 * (store_redis.c).  Nothing here names a backend's types.  Every function
 * is safe to call from any thread; a begin..commit window belongs to the
 * thread that opened it.
 *
 * A shared backend is optimistic: another host may change the customer
 * between begin and commit, and then commit writes nothing and answers
 * JM_STORE_RETRY, and the caller begins again and decides anew, so that
 * two hosts never both acknowledge one customer.
 */
#ifndef JOURNEY_STORE_H
#define JOURNEY_STORE_H

#include <stddef.h>
#include <time.h>

#include "journey/conf.h"
#include "journey/journey.h"

/* What the decision needs to know, read inside the transaction. */
struct jm_facts {
	int		known;		/* customer seen before */
	struct jm_state	state;		/* theirs, or the initial one */
	/*
	 * The last two only decide against a limit, so a store may stop
	 * counting there: each is the true count or, when that is larger,
	 * at least the query's ack_max_day or ack_max_minute.
	 */
	long		acks_same_category; /* acks to this customer for this
					   category created within ack_interval,
					   queued or sent, not dead */
	long		acks_day;	/* to this customer in 24h, not dead */
	long		acks_minute;	/* to anyone within 60s, not dead */
	int		thread_escalated; /* a thread key escalated within
					     escalation_window */
	const char	*unshared;	/* NULL; or why the state shared with
					   other hosts could not be used
					   ("redis-down", "redis-contended"):
					   the facts are this host's own and
					   the customer's state is not written;
					   static */
};

/* jm_store_commit(): another host came first; nothing was written. */
#define JM_STORE_RETRY		1

/*
 * Most attempts at one message.  With attempt JM_STORE_ATTEMPTS - 1 a
 * shared backend no longer tries to share (facts.unshared is set), so the
 * last attempt never answers JM_STORE_RETRY.
 */
#define JM_STORE_ATTEMPTS	6

struct jm_store_query {
	const char	*customer;	/* lower-cased address */
	const char	*category;	/* NULL for none */
	const char *const *thread_keys;	/* Message-ID, In-Reply-To, References
					   ids */
	size_t		 n_thread_keys;
	time_t		 now;
	long		 ack_interval;
	long		 ack_max_day;	/* counting acks_day may stop here;
					   0 or less: count them all */
	long		 ack_max_minute; /* the same for acks_minute */
	long		 escalation_window;
	struct jm_state	 initial;	/* state of an unknown customer */
	int		 attempt;	/* 0; one more after each
					   JM_STORE_RETRY */
};

/* One outbox row to queue. */
struct jm_outbox_new {
	const char	*kind;		/* "webhook", "chat" or "smtp" */
	const char	*target;	/* URL, or for smtp the rcpt address */
	const char	*payload;	/* body, or a whole RFC 5322 message */
	size_t		 payload_len;
	const char	*event_id;	/* webhook-id, the same every attempt */
	const char	*category;	/* for counting acks; may be NULL */
};

struct jm_store_record {
	const char	*customer;
	struct jm_state	 prev, next;
	int		 write_state;	/* write the customer row */
	const char	*category;	/* may be NULL */
	const char	*message_id;	/* may be NULL */
	const char	*subject;	/* may be NULL */
	const char	*ticket;	/* may be NULL */
	const char	*language;	/* may be NULL */
	int		 score;
	time_t		 now;
	int		 is_ack;	/* the "smtp" items are acks */
	const char	*ack_reason;	/* "queued", or why not; may be NULL */
	const char	*escalate_reason; /* the same for escalating */
	const char *const *thread_keys;
	size_t		 n_thread_keys;
	int		 escalated;	/* remember the thread keys */
	const struct jm_outbox_new *items;
	size_t		 n_items;
	/*
	 * NULL: jm_store_commit() returns once the record is on disk.  Else
	 * a store may return as soon as the record is committed, before it
	 * is on disk, and set *SYNC_TOKEN to what jm_store_sync() takes to
	 * wait for that (0: on disk already).
	 */
	unsigned long long *sync_token;
};

enum jm_outbox_state {
	JM_OUTBOX_PENDING = 0,
	JM_OUTBOX_DONE,
	JM_OUTBOX_DEAD
};

/* One outbox row as stored. */
struct jm_outbox_row {
	long long	 id;
	char		*kind;
	char		*target;
	unsigned char	*payload;	/* NULL in listings */
	size_t		 payload_len;
	char		*event_id;	/* "" when none */
	char		*customer;	/* "" when none */
	char		*category;	/* "" when none */
	enum jm_outbox_state state;
	long		 attempts;
	time_t		 created;
	time_t		 retry_from;	/* max_retry_age counts from here */
	time_t		 next_attempt;
	time_t		 delivered;	/* 0 until done */
	char		*last_error;	/* "" when none */
};

struct jm_customer_event {
	time_t		 at;
	char		*category;	/* "" when none */
	char		*message_id;	/* "" when none */
	char		*ticket;	/* "" when none */
	struct jm_state	 prev, next;
};

struct jm_customer {
	char		*address;
	struct jm_state	 state;
	time_t		 updated;
	struct jm_customer_event *events; /* newest first */
	size_t		 n_events;
};

struct jm_store_stats {
	long		 customers;
	long		 at_risk;
	long		 stage[JM_STAGE_COUNT];	/* customers per stage */
	long		 events;
	long		 pending;	/* outbox rows: this host's */
	long		 done;
	long		 dead;
	int		 shared;	/* the counts above the outbox's are
					   the fleet's (Redis) */
	long		 outages;	/* shared store outages, as reported
					   by the hosts once it was back */
	long		 unshared;	/* messages handled without it */
};

/* A name and how many times: a category, a reason. */
struct jm_store_count {
	char		*name;
	long		 n;
};

/* Where an outbox row stands, for counting. */
enum jm_delivery {
	JM_DELIVERY_DELIVERED = 0,
	JM_DELIVERY_PENDING,		/* not tried yet */
	JM_DELIVERY_RETRYING,		/* pending after a failed attempt */
	JM_DELIVERY_DEAD,
	JM_DELIVERY_COUNT
};

/* What an outbox row carries, for counting. */
enum jm_delivery_kind {
	JM_KIND_ACK = 0,		/* "smtp": acknowledgements */
	JM_KIND_WEBHOOK,		/* the CRM */
	JM_KIND_CHAT,			/* escalations */
	JM_KIND_COUNT
};

/*
 * What happened since a moment, from jm_store_window().  Messages are the
 * events recorded (one per watched message with a customer); deliveries
 * are the outbox rows created since then, by where they stand now.  Each
 * list is sorted by count, largest first, then by name; messages without
 * a category count as "none".  Events written before the store kept
 * reasons are in messages and categories but in no reason list.
 */
struct jm_store_window {
	long		 messages;
	struct jm_store_count *categories;
	size_t		 n_categories;
	struct jm_store_count *ack_reasons;	/* "queued" or why not */
	size_t		 n_ack_reasons;
	struct jm_store_count *escalate_reasons; /* "queued" or why not */
	size_t		 n_escalate_reasons;
	long		 deliveries[JM_KIND_COUNT][JM_DELIVERY_COUNT];
};

/* Messages of one category on one UTC day, from jm_store_daily(). */
struct jm_store_day {
	time_t		 day;		/* 00:00 UTC */
	char		*category;	/* "none" when none */
	long		 n;
};

/* What jm_store_migrate() copied. */
struct jm_store_migration {
	long		 copied;	/* customers written */
	long		 kept;		/* customers the shared store knew more
					   recently, left as they were */
	long		 acks;		/* acknowledgements added to the windows
					   they are still inside */
	long		 threads;	/* escalated threads added or moved to
					   a later escalation */
};

/* What jm_store_list() returns. */
#define JM_STORE_LIST_PENDING	0x1
#define JM_STORE_LIST_DEAD	0x2

/*
 * A backend.  Each function has the contract of the jm_store_* wrapper of
 * the same name below; IMPL is the backend's own handle.
 */
struct jm_store_ops {
	const char	*name;
	int	(*begin)(void *impl, const struct jm_store_query *q,
		    struct jm_facts *facts);
	/* NULL for a store that cannot read outside a transaction. */
	int	(*peek)(void *impl, const struct jm_store_query *q,
		    struct jm_facts *facts);
	/* NULL for a store that cannot tell whether its lock is free. */
	int	(*try_begin)(void *impl, const struct jm_store_query *q,
		    struct jm_facts *facts);
	/* NULL for a store whose commits are on disk when they return. */
	int	(*sync)(void *impl, unsigned long long token);
	int	(*commit)(void *impl, const struct jm_store_record *r);
	void	(*rollback)(void *impl);
	int	(*claim)(void *impl, time_t now, time_t lease_until, size_t max,
		    struct jm_outbox_row **rows, size_t *n);
	int	(*delivered)(void *impl, const long long *ids, size_t n,
		    time_t now);
	int	(*retry)(void *impl, long long id, time_t next,
		    const char *err);
	int	(*defer)(void *impl, long long id, time_t next);
	int	(*dead)(void *impl, long long id, const char *err);
	int	(*list)(void *impl, int which, struct jm_outbox_row **rows,
		    size_t *n);
	int	(*requeue)(void *impl, long long id, time_t now, long *count);
	int	(*customer)(void *impl, const char *address, size_t max_events,
		    struct jm_customer **out);
	int	(*stats)(void *impl, struct jm_store_stats *st);
	int	(*window)(void *impl, time_t since, struct jm_store_window *w);
	int	(*daily)(void *impl, time_t since, struct jm_store_day **days,
		    size_t *n);
	int	(*slowest)(void *impl, time_t since, size_t max,
		    struct jm_outbox_row **rows, size_t *n);
	int	(*prune)(void *impl, time_t threads_before, time_t done_before);
	void	(*close)(void *impl);

	/*
	 * Optional (NULL when the backend lacks them).  For a backend
	 * composed over this one, commit in two steps: prepare writes R
	 * inside the transaction begin opened and keeps it open (0; or -1,
	 * and the caller calls rollback), and sets IDS[i] (R->n_items of
	 * them) to the outbox row id of R->items[i]; finish commits and lets
	 * go of the lock (0; or -1 after rolling back).
	 */
	int	(*prepare)(void *impl, const struct jm_store_record *r,
		    long long *ids);
	int	(*finish)(void *impl);
	/*
	 * Calls FN for every customer, in address order, under the store's
	 * lock (FN must not call the store); FN returns 0, or -1 to stop.
	 * 0, or -1 when FN or the store failed.
	 */
	int	(*customers)(void *impl, int (*fn)(void *arg,
		    const char *address, const struct jm_state *st,
		    time_t updated), void *arg);
	/*
	 * The same for every acknowledgement (outbox row of an ack, queued
	 * or sent, not dead) created after SINCE, oldest first; ID is the
	 * row's, CATEGORY NULL when none.
	 */
	int	(*acks)(void *impl, time_t since, int (*fn)(void *arg,
		    long long id, const char *customer, const char *category,
		    time_t created), void *arg);
	/* The same for every thread key escalated after SINCE. */
	int	(*threads)(void *impl, time_t since, int (*fn)(void *arg,
		    const char *key, time_t created), void *arg);
	/* jm_store_migrate(). */
	int	(*migrate)(void *impl, time_t now,
		    struct jm_store_migration *m);
	/* jm_store_rate_take(), LIMIT > 0; NULL: no limit is kept. */
	int	(*rate)(void *impl, const char *name, time_t now, long limit);
};

struct jm_store {
	const struct jm_store_ops *ops;
	void		*impl;
};

/*
 * Opens the store named by CONF: the SQLite database state_dir/journey.db,
 * created when missing (write-ahead log, a schema version table,
 * migrations applied in one transaction); with state = redis://..., that
 * database for the outbox and Redis for the customers (store_redis.h).
 * An unreachable Redis is not an error here: the store works without it
 * until it answers.  Returns 0 and sets *OUT, or -1 with ERR naming the
 * file or server and the cause.  Caller closes *OUT with jm_store_close().
 */
int	jm_store_open(const struct jm_conf *conf, struct jm_store **out,
	    char *err, size_t errlen);

/*
 * Checks, without opening anything, what jm_store_open() would read besides
 * the database (for journey-milter -n): with state = redis://..., the URL,
 * the password file and the TLS files.  0, or -1 with ERR naming the key,
 * the file and the cause.
 */
int	jm_store_check(const struct jm_conf *conf, char *err, size_t errlen);

/*
 * Reads the facts of Q as jm_store_begin() would, but outside any
 * transaction and holding nothing, so that the work that depends on them
 * can be done before the lock is taken; jm_store_begin() reads them again
 * under it, and they decide.  0; -1 on an error or when the store cannot.
 */
int	jm_store_peek(struct jm_store *s, const struct jm_store_query *q,
	    struct jm_facts *facts);

/*
 * Starts the transaction of one message and reads its facts.  Returns 0
 * with the store's lock held until the same thread calls exactly one of
 * jm_store_commit() or jm_store_rollback(); -1 on error, lock not held.
 * Keep the window short: every other message waits on it.
 */
int	jm_store_begin(struct jm_store *s, const struct jm_store_query *q,
	    struct jm_facts *facts);

/*
 * jm_store_begin() if the store's lock is free now: 1, begun, as
 * jm_store_begin() returning 0; 0 when another thread holds the lock (or
 * the store cannot tell), nothing begun; -1 on error, nothing held.  A
 * caller with work to do before the transaction does it first (after
 * jm_store_peek()) only when the lock is busy.
 */
int	jm_store_try_begin(struct jm_store *s, const struct jm_store_query *q,
	    struct jm_facts *facts);

/*
 * Writes the customer row (when R->write_state), one history event, the
 * escalated thread keys and the outbox rows, and commits.  Returns 0; -1
 * after rolling back; or, from a shared backend, JM_STORE_RETRY when
 * another host changed what begin read (or the shared store failed in
 * the middle): nothing was written, and the caller begins again with
 * query.attempt one higher.  Either way the lock is released.  R and
 * everything it points to are borrowed for the call.
 */
int	jm_store_commit(struct jm_store *s, const struct jm_store_record *r);

/*
 * Returns once the commit that gave TOKEN (jm_store_record.sync_token) is
 * on disk, with every commit made before it: one fsync serves the
 * commits of many threads.  0; -1 when the disk failed (the commit is
 * made but may not survive a crash of the system).  TOKEN 0: at once.
 */
int	jm_store_sync(struct jm_store *s, unsigned long long token);

/* Abandons the transaction; the lock is released. */
void	jm_store_rollback(struct jm_store *s);

/*
 * Claims up to MAX pending rows due at NOW (next_attempt <= NOW), oldest
 * first, by moving their next_attempt to LEASE_UNTIL, so that a crash
 * in the middle of an attempt only delays it.  Returns 0 and sets *ROWS
 * (payload included) and *N; caller frees with jm_outbox_rows_free().
 */
int	jm_store_claim(struct jm_store *s, time_t now, time_t lease_until,
	    size_t max, struct jm_outbox_row **rows, size_t *n);

/* Marks row ID delivered at NOW; 0 or -1. */
int	jm_store_delivered(struct jm_store *s, long long id, time_t now);

/*
 * Marks the N rows IDS delivered at NOW, all in one transaction; 0, or -1
 * when none was marked.
 */
int	jm_store_delivered_many(struct jm_store *s, const long long *ids,
	    size_t n, time_t now);

/* Counts one failed attempt on row ID, records ERR, due again at NEXT. */
int	jm_store_retry(struct jm_store *s, long long id, time_t next,
	    const char *err);

/* Makes row ID due at NEXT without counting an attempt (rate limit, stop). */
int	jm_store_defer(struct jm_store *s, long long id, time_t next);

/* Dead-letters row ID with ERR, counting the attempt that failed. */
int	jm_store_dead(struct jm_store *s, long long id, const char *err);

/*
 * Lists the rows selected by WHICH (JM_STORE_LIST_PENDING and/or
 * JM_STORE_LIST_DEAD), oldest first, without payloads.  Returns 0 and
 * sets *ROWS and *N; caller frees with jm_outbox_rows_free().
 */
int	jm_store_list(struct jm_store *s, int which,
	    struct jm_outbox_row **rows, size_t *n);

/*
 * Makes row ID (pending or dead), or with ID 0 every dead row, pending and
 * due at NOW, with its attempts reset and its retry_from moved to NOW so
 * that it gets a whole max_retry_age again (created is kept: acks are
 * counted by it).  *COUNT is set to the number of rows requeued.  0 or -1.
 */
int	jm_store_requeue(struct jm_store *s, long long id, time_t now,
	    long *count);

/*
 * Looks ADDRESS (lower-cased) up with its newest MAX_EVENTS events.
 * Returns 0 and sets *OUT (caller frees with jm_customer_free()), 1 when
 * the customer is unknown (*OUT NULL), or -1.
 */
int	jm_store_customer(struct jm_store *s, const char *address,
	    size_t max_events, struct jm_customer **out);

/*
 * Counts customers per stage (exited counted as a stage), at risk, events
 * and outbox rows per state; 0 or -1.
 */
int	jm_store_stats(struct jm_store *s, struct jm_store_stats *st);

/*
 * Counts what happened from SINCE on (see struct jm_store_window).
 * Returns 0 and fills *W, which the caller clears with
 * jm_store_window_clear(); or -1 with *W empty.
 */
int	jm_store_window(struct jm_store *s, time_t since,
	    struct jm_store_window *w);

/*
 * Counts messages per UTC day and category from SINCE on, oldest day
 * first, days without messages left out.  Returns 0 and sets *DAYS and *N
 * (caller frees with jm_store_days_free()), or -1.
 */
int	jm_store_daily(struct jm_store *s, time_t since,
	    struct jm_store_day **days, size_t *n);

/*
 * The MAX delivered outbox rows created from SINCE on that took longest
 * from created to delivered, slowest first, without payloads.  Only rows
 * still kept count (delivered rows are pruned after a while, see the
 * outbox).  Returns 0 and sets *ROWS and *N (caller frees with
 * jm_outbox_rows_free()), or -1.
 */
int	jm_store_slowest(struct jm_store *s, time_t since, size_t max,
	    struct jm_outbox_row **rows, size_t *n);

/*
 * Deletes thread keys escalated before THREADS_BEFORE and delivered rows
 * delivered before DONE_BEFORE; 0 or -1.
 */
int	jm_store_prune(struct jm_store *s, time_t threads_before,
	    time_t done_before);

/*
 * Copies the local SQLite database's state into the shared store: every
 * customer, unless the shared store holds a newer state for them (updated
 * later); the acknowledgements still inside one of their windows at NOW
 * (per customer and category within ack_interval, per customer within a
 * day, for everyone within a minute), so that a customer answered just
 * before the move is not answered again; and the threads escalated within
 * escalation_window.  Running it again adds nothing.  Fills *M.  0, or -1
 * (also when the store is not shared).
 */
int	jm_store_migrate(struct jm_store *s, time_t now,
	    struct jm_store_migration *m);

/*
 * Takes one unit of NAME's budget for the minute of NOW (now / 60), at most
 * LIMIT per minute: 1, taken; 0, this minute's are spent (nothing taken);
 * -1 on an error (the caller decides; the outbox lets the attempt go).
 * LIMIT 0 or less: 1, nothing counted.  The SQLite store counts in this
 * process's memory; the Redis store counts for the whole fleet, and while
 * Redis is unreachable falls back to this process's count (and logs that
 * once).  NAME is borrowed; it is not stored in the clear in a shared
 * store (a chat URL holds a token).
 */
int	jm_store_rate_take(struct jm_store *s, const char *name, time_t now,
	    long limit);

/* The backend's name: "sqlite" or "redis"; static. */
const char *jm_store_backend(const struct jm_store *s);

/* Closes the store; accepts NULL.  No transaction may be open. */
void	jm_store_close(struct jm_store *s);

/* Frees N rows from jm_store_claim() or jm_store_list(); accepts NULL. */
void	jm_outbox_rows_free(struct jm_outbox_row *rows, size_t n);

/* Frees a customer from jm_store_customer(); accepts NULL. */
void	jm_customer_free(struct jm_customer *c);

/* Frees what *W holds and empties it; accepts an empty one. */
void	jm_store_window_clear(struct jm_store_window *w);

/* Frees N days from jm_store_daily(); accepts NULL. */
void	jm_store_days_free(struct jm_store_day *days, size_t n);

/* "ack", "webhook", "chat"; static. */
const char *jm_delivery_kind_name(enum jm_delivery_kind k);

/* "delivered", "pending", "retrying", "dead"; static. */
const char *jm_delivery_name(enum jm_delivery d);

/*
 * What the calling thread's last failed store call ran into, e.g.
 * "journey.db: database is locked"; static, overwritten on the next
 * failure in the same thread.
 */
const char *jm_store_last_error(void);

/*
 * Forgets the calling thread's last error, so that jm_store_failed() says
 * whether a store call made after it failed (a caller that only sees -1
 * from a function that also does other work can then tell).
 */
void	jm_store_clear_error(void);
int	jm_store_failed(void);

/* For backends: records the calling thread's last error. */
void	jm_store_set_error(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* "pending", "done", "dead". */
const char *jm_outbox_state_name(enum jm_outbox_state st);

/*
 * The SQLite backend, for jm_store_open() and the tests: opens or creates
 * PATH (a database file).  0 and *IMPL set, or -1 with ERR filled in.
 */
extern const struct jm_store_ops jm_store_sqlite_ops;
int	jm_store_sqlite_open(const char *path, void **impl, char *err,
	    size_t errlen);

#endif
