/*
 * store_sqlite.c: the journey store in one SQLite database.
 *
 * One connection guarded by one mutex, rather than a connection per
 * libmilter thread.  SQLite admits one writer at a time whatever we do, and
 * every message writes; with a connection per thread the writers would
 * queue inside SQLite's busy handler (sleeping and polling, in no order),
 * while a mutex queues them at once and in order and never sees
 * SQLITE_BUSY from inside the process.  The window held is short: a handful
 * of indexed reads and writes, no network.  SQLITE_BUSY can still come from
 * another process (journeyctl), so a busy timeout is set too.
 *
 * The journal is the write-ahead log, so journeyctl reads while the daemon
 * writes.  The milter tells Postfix a message is done only after its event
 * is on disk, but an fsync per commit, taken under the one mutex, would
 * make every message wait for every other message's fsync.  So SQLite runs
 * with synchronous=NORMAL (no fsync at commit) and a commit is made
 * durable after the mutex is let go, by an fsync of the WAL file that
 * covers every commit made before it began: concurrent messages share one
 * fsync (group commit), and the mutex is held for memory work only.  A
 * caller may take that fsync apart from the commit (sync_token,
 * jm_store_sync()), as the milter does to let go of its worker's place
 * and send its headers while the disk works.
 * Checkpoints stay safe: with WAL and NORMAL, SQLite syncs the WAL before
 * it copies it into the database.
 *
 * Checkpoints are not made by the commit that crosses SQLite's threshold,
 * as they are by default: that commit would copy a thousand pages and
 * sync the database under the mutex, and every message behind it would
 * wait.  A thread of the store makes them instead, on a connection of its
 * own, without the mutex (a passive checkpoint copies what it can beside
 * a writer).  The log starts again from its beginning only when a commit
 * begins after a checkpoint copied all of it; under a steady stream of
 * commits the checkpoints copy all but the last few, and the log would grow
 * without end.  So when the log is long, the checkpoint after the passive
 * one is made under the mutex: it has little left to copy, and the next
 * commit starts the log again.  A short log is copied too, once commits
 * pause for a second: the next burst then starts on an empty log, and no
 * message of it waits behind a long copy.
 *
 * Stages are stored by name, not by enum value, so reordering the enum
 * never rewrites history.
 *
 * The per-minute budgets of jm_store_rate_take() (the chat rate limit) are
 * counted in memory, not in the database: one process sends, a restart
 * costs at most one minute's budget twice, and a write per attempt would
 * buy nothing.  The Redis store falls back to them when Redis is away.
 *
 * Deliberately not here: the decision (what to write), delivery, and any
 * SQLite type outside this file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "journey/store.h"
#include "journey/util.h"

#define BUSY_TIMEOUT_MS	5000
/*
 * The page cache: every read is a lookup by index near the newest rows, and
 * what falls out of SQLite's cache is still in the kernel's, so a quarter
 * of SQLite's default 2 MiB does.
 */
#define CACHE_KIB	"512"
#define CKPT_PAGES	1000	/* log pages that call for a checkpoint */
#define CKPT_FORCE	(4 * CKPT_PAGES) /* a log this long: once more,
					    under the mutex */
#define CKPT_IDLE_MS	1000	/* no commit for this long: copy the log */
#define KEY_MAX		998	/* longest thread key kept, the RFC 5322 line */
#define RATES_MAX	256	/* names counted per minute; more pass uncounted */
#define KEYS_MAX	256	/* most thread keys looked at per message */

/* Each migration takes the schema from version i to i + 1. */
static const char *const migrations[] = {
	/* 1: the first schema. */
	"CREATE TABLE customers ("
	"  address TEXT PRIMARY KEY,"
	"  stage TEXT NOT NULL,"
	"  at_risk INTEGER NOT NULL DEFAULT 0,"
	"  updated INTEGER NOT NULL);"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  customer TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  category TEXT, message_id TEXT, subject TEXT, ticket TEXT,"
	"  language TEXT, score INTEGER NOT NULL DEFAULT 0,"
	"  prev_stage TEXT NOT NULL, prev_at_risk INTEGER NOT NULL,"
	"  next_stage TEXT NOT NULL, next_at_risk INTEGER NOT NULL);"
	"CREATE INDEX events_customer ON events (customer, at);"
	"CREATE TABLE threads ("
	"  key TEXT PRIMARY KEY,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  payload BLOB,"
	"  event_id TEXT, customer TEXT, category TEXT,"
	"  is_ack INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL DEFAULT 'pending',"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  retry_from INTEGER NOT NULL,"
	"  next_attempt INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  delivered INTEGER);"
	"CREATE INDEX outbox_due ON outbox (state, next_attempt);"
	"CREATE INDEX outbox_ack_customer ON outbox (customer, created)"
	"  WHERE is_ack;"
	"CREATE INDEX outbox_ack_created ON outbox (created) WHERE is_ack;",
	/*
	 * 2: why each message was or was not acknowledged and escalated, and
	 * indexes for counting by time (journeyctl stats and report).
	 */
	"ALTER TABLE events ADD COLUMN ack_reason TEXT;"
	"ALTER TABLE events ADD COLUMN escalate_reason TEXT;"
	"CREATE INDEX events_at ON events (at);"
	"CREATE INDEX outbox_created ON outbox (created);",
	/*
	 * 3: the acknowledgement limits are read for every message; indexes
	 * that hold every column those counts look at answer them without
	 * reading a single outbox row (SQLite wants is_ack among the columns to
	 * see that).
	 */
	"DROP INDEX outbox_ack_customer;"
	"DROP INDEX outbox_ack_created;"
	"CREATE INDEX outbox_ack_customer ON outbox"
	"  (customer, created, state, category, is_ack) WHERE is_ack;"
	"CREATE INDEX outbox_ack_created ON outbox (created, state, is_ack)"
	"  WHERE is_ack;",
	/*
	 * 4: acknowledgements to anyone in the last minute, counted per
	 * second of creation as the rows come, go dead, come back from the
	 * dead and are deleted, so that the limit reads 60 numbers, not every
	 * acknowledgement of the minute: thousands on a busy site.
	 */
	"CREATE TABLE ack_seconds ("
	"  sec INTEGER PRIMARY KEY,"
	"  n INTEGER NOT NULL);"
	"INSERT INTO ack_seconds (sec, n) SELECT created, count(*) FROM outbox"
	"  WHERE is_ack AND state != 'dead' GROUP BY created;"
	"CREATE TRIGGER ack_seconds_insert AFTER INSERT ON outbox"
	"  WHEN new.is_ack AND new.state != 'dead' BEGIN"
	"  INSERT INTO ack_seconds (sec, n) VALUES (new.created, 1)"
	"    ON CONFLICT (sec) DO UPDATE SET n = n + 1;"
	"  END;"
	"CREATE TRIGGER ack_seconds_update AFTER UPDATE OF state, created, is_ack"
	"  ON outbox WHEN (old.is_ack AND old.state != 'dead') !="
	"  (new.is_ack AND new.state != 'dead') OR (old.is_ack AND"
	"  old.state != 'dead' AND old.created != new.created) BEGIN"
	"  UPDATE ack_seconds SET n = n - 1 WHERE sec = old.created"
	"    AND old.is_ack AND old.state != 'dead';"
	"  INSERT INTO ack_seconds (sec, n) SELECT new.created, 1"
	"    WHERE new.is_ack AND new.state != 'dead'"
	"    ON CONFLICT (sec) DO UPDATE SET n = n + 1;"
	"  END;"
	"CREATE TRIGGER ack_seconds_delete AFTER DELETE ON outbox"
	"  WHEN old.is_ack AND old.state != 'dead' BEGIN"
	"  UPDATE ack_seconds SET n = n - 1 WHERE sec = old.created;"
	"  END;"
	"DROP INDEX outbox_ack_created;",
};

#define NMIGRATIONS	(sizeof(migrations) / sizeof(migrations[0]))

enum stmt {
	ST_CUSTOMER_GET,
	ST_ACKS_CATEGORY,
	ST_ACKS_DAY,
	ST_ACKS_MINUTE,
	ST_THREAD_GET,
	ST_CUSTOMER_PUT,
	ST_EVENT_PUT,
	ST_THREAD_PUT,
	ST_OUTBOX_PUT,
	ST_DUE,
	ST_LEASE,
	ST_DELIVERED,
	ST_RETRY,
	ST_DEFER,
	ST_DEAD,
	ST_EVENTS_GET,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_CUSTOMER_GET] =
	    "SELECT stage, at_risk, updated FROM customers WHERE address = ?1",
	[ST_ACKS_CATEGORY] =
	    "SELECT count(*) FROM outbox WHERE is_ack AND customer = ?1"
	    " AND category IS ?2 AND created > ?3 AND state != 'dead'",
	/* Counted up to the limit it is compared with, no further. */
	[ST_ACKS_DAY] =
	    "SELECT count(*) FROM (SELECT 1 FROM outbox WHERE is_ack"
	    " AND customer = ?1 AND created > ?2 AND state != 'dead'"
	    " LIMIT ?3)",
	/* Kept per second by the triggers of migration 4. */
	[ST_ACKS_MINUTE] =
	    "SELECT coalesce(sum(n), 0) FROM ack_seconds WHERE sec > ?1",
	[ST_THREAD_GET] =
	    "SELECT 1 FROM threads WHERE key = ?1 AND created > ?2",
	[ST_CUSTOMER_PUT] =
	    "INSERT INTO customers (address, stage, at_risk, updated)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (address) DO UPDATE SET"
	    " stage = excluded.stage, at_risk = excluded.at_risk,"
	    " updated = excluded.updated",
	[ST_EVENT_PUT] =
	    "INSERT INTO events (customer, at, category, message_id, subject,"
	    " ticket, language, score, prev_stage, prev_at_risk, next_stage,"
	    " next_at_risk, ack_reason, escalate_reason) VALUES (?1, ?2, ?3,"
	    " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	[ST_THREAD_PUT] =
	    "INSERT INTO threads (key, created) VALUES (?1, ?2)"
	    " ON CONFLICT (key) DO UPDATE SET created = excluded.created",
	[ST_OUTBOX_PUT] =
	    "INSERT INTO outbox (kind, target, payload, event_id, customer,"
	    " category, is_ack, created, retry_from, next_attempt)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8)",
	[ST_DUE] =
	    "SELECT id, kind, target, event_id, customer, category, state,"
	    " attempts, created, retry_from, next_attempt, delivered,"
	    " last_error, payload FROM outbox"
	    " WHERE state = 'pending' AND next_attempt <= ?1"
	    " ORDER BY next_attempt, id LIMIT ?2",
	[ST_LEASE] =
	    "UPDATE outbox SET next_attempt = ?2 WHERE id = ?1",
	[ST_DELIVERED] =
	    "UPDATE outbox SET state = 'done', delivered = ?2,"
	    " attempts = attempts + 1 WHERE id = ?1 AND state = 'pending'",
	[ST_RETRY] =
	    "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?2,"
	    " last_error = ?3 WHERE id = ?1 AND state = 'pending'",
	[ST_DEFER] =
	    "UPDATE outbox SET next_attempt = ?2"
	    " WHERE id = ?1 AND state = 'pending'",
	[ST_DEAD] =
	    "UPDATE outbox SET state = 'dead', attempts = attempts + 1,"
	    " last_error = ?2 WHERE id = ?1 AND state = 'pending'",
	[ST_EVENTS_GET] =
	    "SELECT at, category, message_id, ticket, prev_stage, prev_at_risk,"
	    " next_stage, next_at_risk FROM events WHERE customer = ?1"
	    " ORDER BY at DESC, id DESC LIMIT ?2",
};

/* One name's count for one minute. */
struct rate {
	char		*name;
	time_t		 minute;
	long		 count;
};

struct sqlite_store {
	sqlite3		*db;
	sqlite3_stmt	*st[ST_COUNT];
	pthread_mutex_t	 lock;
	char		 name[64];	/* the file's base name, for errors */

	/* Group commit: see the comment at the top. */
	char		*wal_path;
	int		 wal_fd;	/* -1 until the first sync */
	pthread_mutex_t	 sync_lock;
	pthread_cond_t	 sync_cond;
	unsigned long long committed;	/* commits made; under lock */
	unsigned long long synced;	/* commits known on disk; under sync_lock */
	int		 syncing;	/* an fsync is under way */

	/* Checkpoints: see the comment at the top. */
	char		*path;
	pthread_mutex_t	 ckpt_lock;
	pthread_cond_t	 ckpt_cond;
	pthread_t	 ckpt_thread;
	int		 ckpt_started;	/* the thread runs; under ckpt_lock */
	int		 ckpt_wanted;	/* the log is long; under ckpt_lock */
	int		 ckpt_after_sync; /* wanted once a message's fsync is
					     done; under ckpt_lock */
	int		 message_commit; /* a message's COMMIT runs; under
					    the store's mutex */
	int		 ckpt_stop;	/* under ckpt_lock */
	unsigned long	 log_commits;	/* commits the hook saw; under
					   ckpt_lock */
	struct timespec	 last_commit;	/* CLOCK_MONOTONIC; under ckpt_lock */
	int		 ckpt_copied;	/* log pages the last checkpoint had
					   copied, 0 once the log starts
					   again; under ckpt_lock */
	int		 ckpt_asleep;	/* waits without a deadline; under
					   ckpt_lock */

	pthread_mutex_t	 rate_lock;	/* rates, n_rates */
	struct rate	 rates[RATES_MAX];
	size_t		 n_rates;
};

static void
set_db_error(struct sqlite_store *ss, const char *what)
{
	jm_store_set_error("%s: %s: %s", ss->name, what,
	    sqlite3_errmsg(ss->db));
}

static int
exec(struct sqlite_store *ss, const char *sql)
{
	if (sqlite3_exec(ss->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		set_db_error(ss, sql);
		return -1;
	}
	return 0;
}

/* Resets S for its next use and clears its bindings. */
static sqlite3_stmt *
stmt(struct sqlite_store *ss, enum stmt which)
{
	sqlite3_stmt	*s = ss->st[which];

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static int
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Runs a statement that returns no rows; 0 or -1. */
static int
step_done(struct sqlite_store *ss, sqlite3_stmt *s, const char *what)
{
	int	rc = sqlite3_step(s);

	if (rc != SQLITE_DONE) {
		set_db_error(ss, what);
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

/* Runs a count(*) statement; 0 or -1. */
static int
step_count(struct sqlite_store *ss, sqlite3_stmt *s, const char *what,
    long *out)
{
	if (sqlite3_step(s) != SQLITE_ROW) {
		set_db_error(ss, what);
		sqlite3_reset(s);
		return -1;
	}
	*out = (long)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return 0;
}

static char *
col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return strdup(t != NULL ? (const char *)t : "");
}

static int
stage_from(sqlite3_stmt *s, int i, enum jm_stage *out)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	if (t == NULL || jm_stage_parse((const char *)t, out) == -1) {
		jm_store_set_error("unknown stage \"%s\" in the store",
		    t != NULL ? (const char *)t : "");
		return -1;
	}
	return 0;
}

static int
migrate(struct sqlite_store *ss)
{
	sqlite3_stmt	*s;
	long		 version = 0;
	size_t		 i;
	char		 sql[128];

	if (exec(ss, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (exec(ss, "CREATE TABLE IF NOT EXISTS schema_version"
	    " (version INTEGER NOT NULL)") == -1)
		goto fail;
	if (sqlite3_prepare_v2(ss->db, "SELECT coalesce(max(version), 0)"
	    " FROM schema_version", -1, &s, NULL) != SQLITE_OK) {
		set_db_error(ss, "reading the schema version");
		goto fail;
	}
	if (step_count(ss, s, "reading the schema version", &version) == -1) {
		sqlite3_finalize(s);
		goto fail;
	}
	sqlite3_finalize(s);
	if (version > (long)NMIGRATIONS) {
		jm_store_set_error("%s: schema version %ld is newer than this "
		    "program's %zu; run the newer journey-milter", ss->name,
		    version, NMIGRATIONS);
		goto fail;
	}
	for (i = (size_t)version; i < NMIGRATIONS; i++) {
		if (exec(ss, migrations[i]) == -1)
			goto fail;
		snprintf(sql, sizeof(sql),
		    "INSERT INTO schema_version (version) VALUES (%zu)", i + 1);
		if (exec(ss, sql) == -1)
			goto fail;
	}
	return exec(ss, "COMMIT");
fail:
	sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Under ckpt_lock: no commit for CKPT_IDLE_MS. */
static int
lull_over(struct sqlite_store *ss)
{
	struct timespec	now;
	long long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(now.tv_sec - ss->last_commit.tv_sec) * 1000 +
	    (now.tv_nsec - ss->last_commit.tv_nsec) / 1000000;
	return ms >= CKPT_IDLE_MS;
}

/*
 * The checkpoint thread: waits for a long log, or for a second without a
 * commit after some (so that a burst finds the log short), copies it into
 * the database on its own connection, and once more under the store's
 * mutex when the log outgrew the copy (see the top of this file).  Errors
 * are left to the next checkpoint, or to SQLite's own at close: a log that
 * is not copied yet is still the database.
 */
static void *
checkpointer(void *arg)
{
	struct sqlite_store *ss = arg;
	sqlite3		*db = NULL;
	struct timespec	 deadline;
	unsigned long	 seen = 0;	/* log_commits at the last copy */
	int		 log_pages, copied_pages;

	jm_thread_name("jm-checkpoint");
	/* Until it has read the database, a connection knows of no log. */
	if (sqlite3_open_v2(ss->path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL,
	    NULL) != SQLITE_OK) {
		sqlite3_close(db);
		db = NULL;
	}
	pthread_mutex_lock(&ss->ckpt_lock);
	for (;;) {
		while (!ss->ckpt_wanted && !ss->ckpt_stop) {
			/* Commits since the last copy: copy in the next lull. */
			if (ss->log_commits != seen) {
				deadline = ss->last_commit;
				deadline.tv_sec += CKPT_IDLE_MS / 1000;
				deadline.tv_nsec += (CKPT_IDLE_MS % 1000) *
				    1000000L;
				if (deadline.tv_nsec >= 1000000000L) {
					deadline.tv_sec++;
					deadline.tv_nsec -= 1000000000L;
				}
				if (pthread_cond_timedwait(&ss->ckpt_cond,
				    &ss->ckpt_lock, &deadline) == ETIMEDOUT &&
				    lull_over(ss))
					break;
				continue;
			}
			ss->ckpt_asleep = 1;
			pthread_cond_wait(&ss->ckpt_cond, &ss->ckpt_lock);
			ss->ckpt_asleep = 0;
		}
		if (ss->ckpt_stop)
			break;
		ss->ckpt_wanted = 0;
		seen = ss->log_commits;
		pthread_mutex_unlock(&ss->ckpt_lock);
		log_pages = copied_pages = 0;
		if (db != NULL && sqlite3_wal_checkpoint_v2(db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied_pages) ==
		    SQLITE_OK && log_pages >= CKPT_FORCE) {
			pthread_mutex_lock(&ss->lock);
			(void)sqlite3_wal_checkpoint_v2(db, NULL,
			    SQLITE_CHECKPOINT_PASSIVE, &log_pages,
			    &copied_pages);
			pthread_mutex_unlock(&ss->lock);
		}
		pthread_mutex_lock(&ss->ckpt_lock);
		ss->ckpt_copied = copied_pages > 0 ? copied_pages : 0;
	}
	pthread_mutex_unlock(&ss->ckpt_lock);
	sqlite3_close(db);
	return NULL;
}

/*
 * SQLite's hook after each commit, under the store's mutex, with the
 * number of pages in the log: a long log wakes the checkpoint thread,
 * which is started the first time.  When no thread can be started, the
 * commit checkpoints itself, as SQLite would.  After a message's commit
 * the thread is woken only once that commit's fsync is done (durable()):
 * a checkpoint syncs the database too, and a message waiting for its own
 * fsync would wait for the checkpoint's.
 */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sqlite_store *ss = arg;
	int		 inline_ckpt = 0;

	pthread_mutex_lock(&ss->ckpt_lock);
	ss->log_commits++;
	clock_gettime(CLOCK_MONOTONIC, &ss->last_commit);
	if (!ss->ckpt_started) {
		if (pthread_create(&ss->ckpt_thread, NULL, checkpointer, ss) == 0)
			ss->ckpt_started = 1;
		else
			inline_ckpt = 1;
	}
	if (pages < ss->ckpt_copied)
		ss->ckpt_copied = 0;	/* the log started again */
	/*
	 * What a checkpoint would copy, not the log's length: while other
	 * commits keep the log from starting again, it stays long, and a
	 * checkpoint after every message would sync the database each time.
	 */
	if (pages - ss->ckpt_copied < CKPT_PAGES && pages < CKPT_FORCE) {
		/* The thread now has a lull to wait for. */
		if (ss->ckpt_asleep) {
			ss->ckpt_asleep = 0;
			pthread_cond_signal(&ss->ckpt_cond);
		}
		pthread_mutex_unlock(&ss->ckpt_lock);
		return SQLITE_OK;
	}
	if (ss->message_commit && !inline_ckpt)
		ss->ckpt_after_sync = 1;
	else {
		ss->ckpt_wanted = 1;
		pthread_cond_signal(&ss->ckpt_cond);
	}
	pthread_mutex_unlock(&ss->ckpt_lock);
	if (inline_ckpt)
		(void)sqlite3_wal_checkpoint_v2(db, name,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

static void
sqlite_close(void *impl)
{
	struct sqlite_store *ss = impl;
	int	i;

	if (ss == NULL)
		return;
	pthread_mutex_lock(&ss->ckpt_lock);
	ss->ckpt_stop = 1;
	pthread_cond_signal(&ss->ckpt_cond);
	pthread_mutex_unlock(&ss->ckpt_lock);
	if (ss->ckpt_started)
		pthread_join(ss->ckpt_thread, NULL);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(ss->st[i]);
	sqlite3_close(ss->db);
	if (ss->wal_fd != -1)
		close(ss->wal_fd);
	free(ss->wal_path);
	free(ss->path);
	pthread_cond_destroy(&ss->ckpt_cond);
	pthread_mutex_destroy(&ss->ckpt_lock);
	pthread_cond_destroy(&ss->sync_cond);
	pthread_mutex_destroy(&ss->sync_lock);
	pthread_mutex_destroy(&ss->lock);
	for (i = 0; i < (int)ss->n_rates; i++)
		free(ss->rates[i].name);
	pthread_mutex_destroy(&ss->rate_lock);
	free(ss);
}

int
jm_store_sqlite_open(const char *path, void **impl, char *err, size_t errlen)
{
	struct sqlite_store *ss;
	pthread_condattr_t ca;
	const char	*base;
	struct stat	 sb;
	size_t		 n;
	int		 created, i;

	*impl = NULL;
	ss = calloc(1, sizeof(*ss));
	if (ss == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	ss->wal_fd = -1;
	if (pthread_mutex_init(&ss->lock, NULL) != 0) {
		free(ss);
		snprintf(err, errlen, "%s: cannot create a mutex", path);
		return -1;
	}
	pthread_mutex_init(&ss->sync_lock, NULL);
	pthread_mutex_init(&ss->rate_lock, NULL);
	pthread_cond_init(&ss->sync_cond, NULL);
	pthread_mutex_init(&ss->ckpt_lock, NULL);
	/* The checkpoint thread's deadlines do not move with the clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ss->ckpt_cond, &ca);
	pthread_condattr_destroy(&ca);
	ss->path = strdup(path);
	if (ss->path == NULL ||
	    asprintf(&ss->wal_path, "%s-wal", path) == -1) {
		ss->wal_path = NULL;
		snprintf(err, errlen, "%s: out of memory", path);
		sqlite_close(ss);
		return -1;
	}
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	n = strnlen(base, sizeof(ss->name) - 1);
	memcpy(ss->name, base, n);
	ss->name[n] = '\0';
	created = stat(path, &sb) == -1 && errno == ENOENT;

	/* Our own mutex serialises the connection: SQLite's is not needed. */
	if (sqlite3_open_v2(path, &ss->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, ss->db != NULL ?
		    sqlite3_errmsg(ss->db) : "out of memory");
		sqlite_close(ss);
		return -1;
	}
	/* Customers' addresses and mail: nobody else's business. */
	if (created)
		(void)chmod(path, 0600);
	sqlite3_busy_timeout(ss->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(ss->db, 1);
	if (exec(ss, "PRAGMA journal_mode = WAL") == -1 ||
	    exec(ss, "PRAGMA synchronous = NORMAL") == -1 ||
	    exec(ss, "PRAGMA cache_size = -" CACHE_KIB) == -1 ||
	    exec(ss, "PRAGMA foreign_keys = ON") == -1 ||
	    migrate(ss) == -1)
		goto fail;
	sqlite3_wal_hook(ss->db, wal_hook, ss);
	for (i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(ss->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &ss->st[i], NULL) != SQLITE_OK) {
			set_db_error(ss, "preparing statements");
			goto fail;
		}
	}
	*impl = ss;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, jm_store_last_error());
	sqlite_close(ss);
	return -1;
}

/* A LIMIT for a count that may stop at CAP; SQLite reads -1 as none. */
static sqlite3_int64
count_cap(long cap)
{
	return cap > 0 ? (sqlite3_int64)cap : -1;
}

static int
read_facts(struct sqlite_store *ss, const struct jm_store_query *q,
    struct jm_facts *f)
{
	sqlite3_stmt	*s;
	size_t		 i, nkeys;
	int		 rc;

	memset(f, 0, sizeof(*f));
	f->state = q->initial;

	s = stmt(ss, ST_CUSTOMER_GET);
	bind_text(s, 1, q->customer);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		f->known = 1;
		if (stage_from(s, 0, &f->state.stage) == -1) {
			sqlite3_reset(s);
			return -1;
		}
		f->state.at_risk = sqlite3_column_int(s, 1) != 0;
	} else if (rc != SQLITE_DONE) {
		set_db_error(ss, "reading the customer");
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);

	s = stmt(ss, ST_ACKS_CATEGORY);
	bind_text(s, 1, q->customer);
	bind_text(s, 2, q->category);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)(q->now - q->ack_interval));
	if (step_count(ss, s, "counting acknowledgements",
	    &f->acks_same_category) == -1)
		return -1;

	s = stmt(ss, ST_ACKS_DAY);
	bind_text(s, 1, q->customer);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)(q->now - 86400));
	sqlite3_bind_int64(s, 3, count_cap(q->ack_max_day));
	if (step_count(ss, s, "counting acknowledgements", &f->acks_day) == -1)
		return -1;

	s = stmt(ss, ST_ACKS_MINUTE);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)(q->now - 60));
	if (step_count(ss, s, "counting acknowledgements",
	    &f->acks_minute) == -1)
		return -1;

	nkeys = q->n_thread_keys < KEYS_MAX ? q->n_thread_keys : KEYS_MAX;
	for (i = 0; i < nkeys && !f->thread_escalated; i++) {
		const char *k = q->thread_keys[i];

		if (k == NULL || *k == '\0')
			continue;
		s = stmt(ss, ST_THREAD_GET);
		sqlite3_bind_text(s, 1, k, (int)strnlen(k, KEY_MAX),
		    SQLITE_STATIC);
		sqlite3_bind_int64(s, 2,
		    (sqlite3_int64)(q->now - q->escalation_window));
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			f->thread_escalated = 1;
		else if (rc != SQLITE_DONE) {
			set_db_error(ss, "reading thread keys");
			sqlite3_reset(s);
			return -1;
		}
		sqlite3_reset(s);
	}
	return 0;
}

/* The facts, read in a read transaction of their own. */
static int
sqlite_peek(void *impl, const struct jm_store_query *q, struct jm_facts *f)
{
	struct sqlite_store *ss = impl;
	int		 rc;

	pthread_mutex_lock(&ss->lock);
	if (exec(ss, "BEGIN") == -1) {
		pthread_mutex_unlock(&ss->lock);
		return -1;
	}
	rc = read_facts(ss, q, f);
	sqlite3_exec(ss->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL,
	    NULL);
	pthread_mutex_unlock(&ss->lock);
	return rc;
}

/* sqlite_begin() with the lock taken. */
static int
begin_locked(struct sqlite_store *ss, const struct jm_store_query *q,
    struct jm_facts *f)
{
	if (exec(ss, "BEGIN IMMEDIATE") == -1) {
		pthread_mutex_unlock(&ss->lock);
		return -1;
	}
	if (read_facts(ss, q, f) == -1) {
		sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
		pthread_mutex_unlock(&ss->lock);
		return -1;
	}
	return 0;
}

static int
sqlite_begin(void *impl, const struct jm_store_query *q, struct jm_facts *f)
{
	struct sqlite_store *ss = impl;

	pthread_mutex_lock(&ss->lock);
	return begin_locked(ss, q, f);
}

static int
sqlite_try_begin(void *impl, const struct jm_store_query *q,
    struct jm_facts *f)
{
	struct sqlite_store *ss = impl;

	if (pthread_mutex_trylock(&ss->lock) != 0)
		return 0;
	return begin_locked(ss, q, f) == 0 ? 1 : -1;
}

static int
write_record(struct sqlite_store *ss, const struct jm_store_record *r,
    long long *ids)
{
	sqlite3_stmt	*s;
	size_t		 i, nkeys;

	if (r->write_state) {
		s = stmt(ss, ST_CUSTOMER_PUT);
		bind_text(s, 1, r->customer);
		bind_text(s, 2, jm_stage_name(r->next.stage));
		sqlite3_bind_int(s, 3, r->next.at_risk != 0);
		sqlite3_bind_int64(s, 4, (sqlite3_int64)r->now);
		if (step_done(ss, s, "writing the customer") == -1)
			return -1;
	}

	s = stmt(ss, ST_EVENT_PUT);
	bind_text(s, 1, r->customer);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)r->now);
	bind_text(s, 3, r->category);
	bind_text(s, 4, r->message_id);
	bind_text(s, 5, r->subject);
	bind_text(s, 6, r->ticket);
	bind_text(s, 7, r->language);
	sqlite3_bind_int(s, 8, r->score);
	bind_text(s, 9, jm_stage_name(r->prev.stage));
	sqlite3_bind_int(s, 10, r->prev.at_risk != 0);
	bind_text(s, 11, jm_stage_name(r->next.stage));
	sqlite3_bind_int(s, 12, r->next.at_risk != 0);
	bind_text(s, 13, r->ack_reason);
	bind_text(s, 14, r->escalate_reason);
	if (step_done(ss, s, "writing the event") == -1)
		return -1;

	nkeys = r->n_thread_keys < KEYS_MAX ? r->n_thread_keys : KEYS_MAX;
	for (i = 0; r->escalated && i < nkeys; i++) {
		const char *k = r->thread_keys[i];

		if (k == NULL || *k == '\0')
			continue;
		s = stmt(ss, ST_THREAD_PUT);
		sqlite3_bind_text(s, 1, k, (int)strnlen(k, KEY_MAX),
		    SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)r->now);
		if (step_done(ss, s, "writing thread keys") == -1)
			return -1;
	}

	for (i = 0; i < r->n_items; i++) {
		const struct jm_outbox_new *it = &r->items[i];

		s = stmt(ss, ST_OUTBOX_PUT);
		bind_text(s, 1, it->kind);
		bind_text(s, 2, it->target);
		sqlite3_bind_blob64(s, 3,
		    it->payload != NULL ? it->payload : "",
		    (sqlite3_uint64)it->payload_len, SQLITE_STATIC);
		bind_text(s, 4, it->event_id);
		bind_text(s, 5, r->customer);
		bind_text(s, 6, it->category != NULL ? it->category :
		    r->category);
		sqlite3_bind_int(s, 7, r->is_ack && it->kind != NULL &&
		    strcmp(it->kind, "smtp") == 0);
		sqlite3_bind_int64(s, 8, (sqlite3_int64)r->now);
		if (step_done(ss, s, "queueing an outbox row") == -1)
			return -1;
		if (ids != NULL)
			ids[i] = (long long)sqlite3_last_insert_rowid(ss->db);
	}
	return 0;
}

static int
sync_wal(struct sqlite_store *ss)
{
	if (ss->wal_fd == -1) {
		ss->wal_fd = open(ss->wal_path, O_RDONLY | O_CLOEXEC);
		if (ss->wal_fd == -1) {
			jm_store_set_error("%s: %s", ss->wal_path, strerror(errno));
			return -1;
		}
	}
	/*
	 * The log is written over from its beginning once checkpointed, so
	 * its size seldom changes: fdatasync() skips the inode's times, as
	 * SQLite's own syncs do, and still syncs a new size.
	 */
	if (fdatasync(ss->wal_fd) == -1) {
		jm_store_set_error("%s: fdatasync: %s", ss->wal_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Returns once commit SEQ is on disk: either an fsync that began after it
 * was made has finished, or this thread runs one, for itself and every
 * commit made before it.
 */
static int
durable(struct sqlite_store *ss, unsigned long long seq)
{
	unsigned long long	target;
	int			rc = 0;

	pthread_mutex_lock(&ss->sync_lock);
	while (ss->synced < seq && rc == 0) {
		if (ss->syncing) {
			pthread_cond_wait(&ss->sync_cond, &ss->sync_lock);
			continue;
		}
		ss->syncing = 1;
		target = __atomic_load_n(&ss->committed, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&ss->sync_lock);
		rc = sync_wal(ss);
		pthread_mutex_lock(&ss->sync_lock);
		ss->syncing = 0;
		if (rc == 0 && target > ss->synced)
			ss->synced = target;
		pthread_cond_broadcast(&ss->sync_cond);
	}
	pthread_mutex_unlock(&ss->sync_lock);

	pthread_mutex_lock(&ss->ckpt_lock);
	if (ss->ckpt_after_sync) {
		ss->ckpt_after_sync = 0;
		ss->ckpt_wanted = 1;
		pthread_cond_signal(&ss->ckpt_cond);
	}
	pthread_mutex_unlock(&ss->ckpt_lock);
	return rc;
}

/* Two-step commit, for a store that commits elsewhere in between (Redis). */
static int
sqlite_prepare(void *impl, const struct jm_store_record *r, long long *ids)
{
	return write_record(impl, r, ids);
}

/* Commits and lets go of the lock; *SEQ is the commit's number. */
static int
commit_unlock(struct sqlite_store *ss, unsigned long long *seq)
{
	int	rc;

	ss->message_commit = 1;
	rc = exec(ss, "COMMIT");
	ss->message_commit = 0;
	if (rc == -1) {
		sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
		pthread_mutex_unlock(&ss->lock);
		return -1;
	}
	*seq = __atomic_add_fetch(&ss->committed, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&ss->lock);
	return 0;
}

static int
sqlite_finish(void *impl)
{
	struct sqlite_store *ss = impl;
	unsigned long long	seq;

	if (commit_unlock(ss, &seq) == -1)
		return -1;
	return durable(ss, seq);
}

/*
 * With R->sync_token, the fsync is left to jm_store_sync(), so that the
 * caller can let go of what it holds while the disk works.
 */
static int
sqlite_commit(void *impl, const struct jm_store_record *r)
{
	struct sqlite_store *ss = impl;

	if (write_record(ss, r, NULL) == -1) {
		sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
		pthread_mutex_unlock(&ss->lock);
		return -1;
	}
	if (r->sync_token == NULL)
		return sqlite_finish(ss);
	return commit_unlock(ss, r->sync_token);
}

static int
sqlite_sync(void *impl, unsigned long long token)
{
	return durable(impl, token);
}

static void
sqlite_rollback(void *impl)
{
	struct sqlite_store *ss = impl;

	sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&ss->lock);
}

static enum jm_outbox_state
state_parse(const unsigned char *t)
{
	if (t != NULL && strcmp((const char *)t, "done") == 0)
		return JM_OUTBOX_DONE;
	if (t != NULL && strcmp((const char *)t, "dead") == 0)
		return JM_OUTBOX_DEAD;
	return JM_OUTBOX_PENDING;
}

/*
 * Reads the row under S: columns id, kind, target, event_id, customer,
 * category, state, attempts, created, retry_from, next_attempt, delivered,
 * last_error and, when WITH_PAYLOAD, payload.
 */
static int
read_row(sqlite3_stmt *s, int with_payload, struct jm_outbox_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	r->kind = col_dup(s, 1);
	r->target = col_dup(s, 2);
	r->event_id = col_dup(s, 3);
	r->customer = col_dup(s, 4);
	r->category = col_dup(s, 5);
	r->state = state_parse(sqlite3_column_text(s, 6));
	r->attempts = (long)sqlite3_column_int64(s, 7);
	r->created = (time_t)sqlite3_column_int64(s, 8);
	r->retry_from = (time_t)sqlite3_column_int64(s, 9);
	r->next_attempt = (time_t)sqlite3_column_int64(s, 10);
	r->delivered = (time_t)sqlite3_column_int64(s, 11);
	r->last_error = col_dup(s, 12);
	if (with_payload) {
		const void *p = sqlite3_column_blob(s, 13);
		size_t	n = (size_t)sqlite3_column_bytes(s, 13);

		/* One byte more, so that an empty payload is not NULL. */
		r->payload = malloc(n + 1);
		if (r->payload == NULL)
			return -1;
		if (n > 0)
			memcpy(r->payload, p, n);
		r->payload[n] = '\0';
		r->payload_len = n;
	}
	if (r->kind == NULL || r->target == NULL || r->event_id == NULL ||
	    r->customer == NULL || r->category == NULL || r->last_error == NULL)
		return -1;
	return 0;
}

/* Appends the row under S to *ROWS; 0 or -1. */
static int
rows_append(sqlite3_stmt *s, int with_payload, struct jm_outbox_row **rows,
    size_t *n, size_t *cap)
{
	if (jm_grow(rows, cap, *n, sizeof(**rows), 16) == -1)
		return -1;
	(*n)++;
	if (read_row(s, with_payload, &(*rows)[*n - 1]) == -1) {
		jm_store_set_error("out of memory");
		return -1;
	}
	return 0;
}

static int
sqlite_claim(void *impl, time_t now, time_t lease_until, size_t max,
    struct jm_outbox_row **rows, size_t *n)
{
	struct sqlite_store *ss = impl;
	sqlite3_stmt	*s;
	size_t		 cap = 0, i;
	int		 rc;

	*rows = NULL;
	*n = 0;
	pthread_mutex_lock(&ss->lock);
	if (exec(ss, "BEGIN IMMEDIATE") == -1)
		goto unlock;
	s = stmt(ss, ST_DUE);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (rows_append(s, 1, rows, n, &cap) == -1) {
			sqlite3_reset(s);
			goto fail;
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		set_db_error(ss, "reading due outbox rows");
		goto fail;
	}
	for (i = 0; i < *n; i++) {
		s = stmt(ss, ST_LEASE);
		sqlite3_bind_int64(s, 1, (sqlite3_int64)(*rows)[i].id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)lease_until);
		if (step_done(ss, s, "claiming outbox rows") == -1)
			goto fail;
	}
	if (exec(ss, "COMMIT") == -1)
		goto fail;
	pthread_mutex_unlock(&ss->lock);
	return 0;
fail:
	sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
unlock:
	pthread_mutex_unlock(&ss->lock);
	jm_outbox_rows_free(*rows, *n);
	*rows = NULL;
	*n = 0;
	return -1;
}

/* Runs one update on row ID in its own transaction; 0 or -1. */
static int
update_row(struct sqlite_store *ss, enum stmt which, long long id,
    const time_t *t, const char *text, const char *what)
{
	sqlite3_stmt	*s;
	int		 rc;

	pthread_mutex_lock(&ss->lock);
	s = stmt(ss, which);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
	if (t != NULL) {
		sqlite3_bind_int64(s, 2, (sqlite3_int64)*t);
		if (text != NULL)
			bind_text(s, 3, text);
	} else if (text != NULL)
		bind_text(s, 2, text);
	rc = step_done(ss, s, what);
	pthread_mutex_unlock(&ss->lock);
	return rc;
}

/*
 * The outbox finishes deliveries in bursts under load; one transaction for
 * a burst writes each page it touches once, rather than once per row.
 */
static int
sqlite_delivered(void *impl, const long long *ids, size_t n, time_t now)
{
	struct sqlite_store *ss = impl;
	sqlite3_stmt	*s;
	size_t		 i;

	pthread_mutex_lock(&ss->lock);
	if (exec(ss, "BEGIN IMMEDIATE") == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		s = stmt(ss, ST_DELIVERED);
		sqlite3_bind_int64(s, 1, (sqlite3_int64)ids[i]);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
		if (step_done(ss, s, "marking rows delivered") == -1)
			goto fail;
	}
	if (exec(ss, "COMMIT") == -1)
		goto fail;
	pthread_mutex_unlock(&ss->lock);
	return 0;
fail:
	sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&ss->lock);
	return -1;
}

static int
sqlite_retry(void *impl, long long id, time_t next, const char *err)
{
	return update_row(impl, ST_RETRY, id, &next, err,
	    "scheduling a retry");
}

static int
sqlite_defer(void *impl, long long id, time_t next)
{
	return update_row(impl, ST_DEFER, id, &next, NULL,
	    "deferring a row");
}

static int
sqlite_dead(void *impl, long long id, const char *err)
{
	return update_row(impl, ST_DEAD, id, NULL, err,
	    "dead-lettering a row");
}

/*
 * Steps the prepared statement S, appending outbox rows (without payload)
 * to *ROWS, then finalizes it and lets go of the lock the caller took.
 * On an error the rows read so far are freed.
 */
static int
collect_rows(struct sqlite_store *ss, sqlite3_stmt *s, const char *what,
    struct jm_outbox_row **rows, size_t *n)
{
	size_t	cap = 0;
	int	rc;

	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (rows_append(s, 0, rows, n, &cap) == -1)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		set_db_error(ss, what);
	sqlite3_finalize(s);
	pthread_mutex_unlock(&ss->lock);
	if (rc != SQLITE_DONE) {
		jm_outbox_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

static int
sqlite_list(void *impl, int which, struct jm_outbox_row **rows, size_t *n)
{
	struct sqlite_store *ss = impl;
	sqlite3_stmt	*s;
	const char	*where;
	char		 sql[512];

	*rows = NULL;
	*n = 0;
	if ((which & JM_STORE_LIST_PENDING) && (which & JM_STORE_LIST_DEAD))
		where = "state IN ('pending', 'dead')";
	else if (which & JM_STORE_LIST_DEAD)
		where = "state = 'dead'";
	else
		where = "state = 'pending'";
	snprintf(sql, sizeof(sql), "SELECT id, kind, target, event_id,"
	    " customer, category, state, attempts, created, retry_from,"
	    " next_attempt, delivered, last_error FROM outbox WHERE %s"
	    " ORDER BY id", where);
	pthread_mutex_lock(&ss->lock);
	if (sqlite3_prepare_v2(ss->db, sql, -1, &s, NULL) != SQLITE_OK) {
		set_db_error(ss, "listing the outbox");
		pthread_mutex_unlock(&ss->lock);
		return -1;
	}
	return collect_rows(ss, s, "listing the outbox", rows, n);
}

static int
sqlite_requeue(void *impl, long long id, time_t now, long *count)
{
	struct sqlite_store *ss = impl;
	sqlite3_stmt	*s;
	int		 rc;

	*count = 0;
	pthread_mutex_lock(&ss->lock);
	rc = sqlite3_prepare_v2(ss->db, id != 0 ?
	    "UPDATE outbox SET state = 'pending', attempts = 0,"
	    " retry_from = ?1, next_attempt = ?1"
	    " WHERE id = ?2 AND state != 'done'" :
	    "UPDATE outbox SET state = 'pending', attempts = 0,"
	    " retry_from = ?1, next_attempt = ?1 WHERE state = 'dead'",
	    -1, &s, NULL);
	if (rc != SQLITE_OK) {
		set_db_error(ss, "requeueing");
		pthread_mutex_unlock(&ss->lock);
		return -1;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	if (id != 0)
		sqlite3_bind_int64(s, 2, (sqlite3_int64)id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		*count = (long)sqlite3_changes(ss->db);
	else
		set_db_error(ss, "requeueing");
	sqlite3_finalize(s);
	pthread_mutex_unlock(&ss->lock);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
read_events(struct sqlite_store *ss, struct jm_customer *c, size_t max)
{
	sqlite3_stmt	*s;
	size_t		 cap = 0;
	int		 rc;

	s = stmt(ss, ST_EVENTS_GET);
	bind_text(s, 1, c->address);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		struct jm_customer_event *e;

		if (jm_grow(&c->events, &cap, c->n_events, sizeof(*e), 16) == -1)
			goto oom;
		e = &c->events[c->n_events++];
		memset(e, 0, sizeof(*e));
		e->at = (time_t)sqlite3_column_int64(s, 0);
		e->category = col_dup(s, 1);
		e->message_id = col_dup(s, 2);
		e->ticket = col_dup(s, 3);
		if (e->category == NULL || e->message_id == NULL ||
		    e->ticket == NULL)
			goto oom;
		if (stage_from(s, 4, &e->prev.stage) == -1 ||
		    stage_from(s, 6, &e->next.stage) == -1) {
			sqlite3_reset(s);
			return -1;
		}
		e->prev.at_risk = sqlite3_column_int(s, 5) != 0;
		e->next.at_risk = sqlite3_column_int(s, 7) != 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		set_db_error(ss, "reading events");
		return -1;
	}
	return 0;
oom:
	sqlite3_reset(s);
	jm_store_set_error("out of memory");
	return -1;
}

static int
sqlite_customer(void *impl, const char *address, size_t max_events,
    struct jm_customer **out)
{
	struct sqlite_store *ss = impl;
	struct jm_customer *c;
	sqlite3_stmt	*s;
	int		 rc, ret = -1;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c != NULL)
		c->address = strdup(address);
	if (c == NULL || c->address == NULL) {
		free(c);
		jm_store_set_error("out of memory");
		return -1;
	}
	pthread_mutex_lock(&ss->lock);
	/* A read transaction, so that the customer and events agree. */
	if (exec(ss, "BEGIN") == -1)
		goto unlock;
	s = stmt(ss, ST_CUSTOMER_GET);
	bind_text(s, 1, address);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		ret = 1;
		goto end;
	}
	if (rc != SQLITE_ROW) {
		set_db_error(ss, "reading the customer");
		sqlite3_reset(s);
		goto end;
	}
	if (stage_from(s, 0, &c->state.stage) == -1) {
		sqlite3_reset(s);
		goto end;
	}
	c->state.at_risk = sqlite3_column_int(s, 1) != 0;
	c->updated = (time_t)sqlite3_column_int64(s, 2);
	sqlite3_reset(s);
	if (read_events(ss, c, max_events) == -1)
		goto end;
	ret = 0;
end:
	sqlite3_exec(ss->db, "COMMIT", NULL, NULL, NULL);
unlock:
	pthread_mutex_unlock(&ss->lock);
	if (ret == 0)
		*out = c;
	else
		jm_customer_free(c);
	return ret;
}

static int
count_query(struct sqlite_store *ss, const char *sql, long *out)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(ss->db, sql, -1, &s, NULL) != SQLITE_OK) {
		set_db_error(ss, "counting");
		return -1;
	}
	rc = step_count(ss, s, "counting", out);
	sqlite3_finalize(s);
	return rc;
}

static int
sqlite_stats(void *impl, struct jm_store_stats *st)
{
	struct sqlite_store *ss = impl;
	sqlite3_stmt	*s = NULL;
	enum jm_stage	 stage;
	int		 rc = -1;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&ss->lock);
	if (exec(ss, "BEGIN") == -1)
		goto unlock;
	if (count_query(ss, "SELECT count(*) FROM customers",
	    &st->customers) == -1 ||
	    count_query(ss, "SELECT count(*) FROM customers WHERE at_risk",
	    &st->at_risk) == -1 ||
	    count_query(ss, "SELECT count(*) FROM events", &st->events) == -1 ||
	    count_query(ss, "SELECT count(*) FROM outbox"
	    " WHERE state = 'pending'", &st->pending) == -1 ||
	    count_query(ss, "SELECT count(*) FROM outbox WHERE state = 'done'",
	    &st->done) == -1 ||
	    count_query(ss, "SELECT count(*) FROM outbox WHERE state = 'dead'",
	    &st->dead) == -1)
		goto end;
	if (sqlite3_prepare_v2(ss->db, "SELECT stage, count(*) FROM customers"
	    " GROUP BY stage", -1, &s, NULL) != SQLITE_OK) {
		set_db_error(ss, "counting stages");
		goto end;
	}
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (stage_from(s, 0, &stage) == 0)
			st->stage[stage] = (long)sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_DONE) {
		set_db_error(ss, "counting stages");
		rc = -1;
	} else
		rc = 0;
end:
	sqlite3_finalize(s);
	sqlite3_exec(ss->db, "COMMIT", NULL, NULL, NULL);
unlock:
	pthread_mutex_unlock(&ss->lock);
	return rc;
}

/*
 * Runs SQL, which binds ?1 to SINCE and returns (name, count) rows, into
 * *OUT; 0 or -1.
 */
static int
group_counts(struct sqlite_store *ss, const char *sql, time_t since,
    struct jm_store_count **out, size_t *n)
{
	struct jm_store_count *v;
	sqlite3_stmt	*s;
	size_t		 cap = 0;
	int		 rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(ss->db, sql, -1, &s, NULL) != SQLITE_OK) {
		set_db_error(ss, "counting");
		return -1;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (jm_grow(out, &cap, *n, sizeof(**out), 8) == -1)
			goto oom;
		v = &(*out)[*n];
		v->name = col_dup(s, 0);
		if (v->name == NULL)
			goto oom;
		v->n = (long)sqlite3_column_int64(s, 1);
		(*n)++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		set_db_error(ss, "counting");
		return -1;
	}
	return 0;
oom:
	sqlite3_finalize(s);
	jm_store_set_error("out of memory");
	return -1;
}

/* Outbox rows created from ?1 on, by kind and where they stand. */
static int
count_deliveries(struct sqlite_store *ss, time_t since,
    struct jm_store_window *w)
{
	static const char *const kinds[JM_KIND_COUNT] = {
		[JM_KIND_ACK] = "smtp",
		[JM_KIND_WEBHOOK] = "webhook",
		[JM_KIND_CHAT] = "chat",
	};
	sqlite3_stmt	*s;
	const char	*kind, *state;
	long		 attempts, n;
	int		 rc, k, d;

	if (sqlite3_prepare_v2(ss->db, "SELECT kind, state, attempts > 0,"
	    " count(*) FROM outbox WHERE created >= ?1"
	    " GROUP BY kind, state, attempts > 0", -1, &s, NULL) != SQLITE_OK) {
		set_db_error(ss, "counting deliveries");
		return -1;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		kind = (const char *)sqlite3_column_text(s, 0);
		state = (const char *)sqlite3_column_text(s, 1);
		attempts = (long)sqlite3_column_int64(s, 2);
		n = (long)sqlite3_column_int64(s, 3);
		for (k = 0; k < JM_KIND_COUNT; k++)
			if (kind != NULL && strcmp(kind, kinds[k]) == 0)
				break;
		if (k == JM_KIND_COUNT || state == NULL)
			continue;
		switch (state_parse((const unsigned char *)state)) {
		case JM_OUTBOX_DONE:
			d = JM_DELIVERY_DELIVERED;
			break;
		case JM_OUTBOX_DEAD:
			d = JM_DELIVERY_DEAD;
			break;
		default:
			d = attempts ? JM_DELIVERY_RETRYING :
			    JM_DELIVERY_PENDING;
			break;
		}
		w->deliveries[k][d] += n;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		set_db_error(ss, "counting deliveries");
		return -1;
	}
	return 0;
}

static int
sqlite_window(void *impl, time_t since, struct jm_store_window *w)
{
	struct sqlite_store *ss = impl;
	sqlite3_stmt	*s;
	int		 rc = -1;

	memset(w, 0, sizeof(*w));
	pthread_mutex_lock(&ss->lock);
	/* One read transaction: every count sees the same moment. */
	if (exec(ss, "BEGIN") == -1)
		goto unlock;
	if (sqlite3_prepare_v2(ss->db, "SELECT count(*) FROM events"
	    " WHERE at >= ?1", -1, &s, NULL) != SQLITE_OK) {
		set_db_error(ss, "counting messages");
		goto end;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
	rc = step_count(ss, s, "counting messages", &w->messages);
	sqlite3_finalize(s);
	if (rc == -1 ||
	    group_counts(ss, "SELECT coalesce(category, 'none') AS c,"
	    " count(*) AS n FROM events WHERE at >= ?1"
	    " GROUP BY c ORDER BY n DESC, c", since, &w->categories,
	    &w->n_categories) == -1 ||
	    group_counts(ss, "SELECT ack_reason, count(*) AS n FROM events"
	    " WHERE at >= ?1 AND ack_reason IS NOT NULL"
	    " GROUP BY ack_reason ORDER BY n DESC, ack_reason", since,
	    &w->ack_reasons, &w->n_ack_reasons) == -1 ||
	    group_counts(ss, "SELECT escalate_reason, count(*) AS n"
	    " FROM events WHERE at >= ?1 AND escalate_reason IS NOT NULL"
	    " GROUP BY escalate_reason ORDER BY n DESC, escalate_reason",
	    since, &w->escalate_reasons, &w->n_escalate_reasons) == -1 ||
	    count_deliveries(ss, since, w) == -1)
		rc = -1;
end:
	sqlite3_exec(ss->db, "COMMIT", NULL, NULL, NULL);
unlock:
	pthread_mutex_unlock(&ss->lock);
	if (rc == -1)
		jm_store_window_clear(w);
	return rc;
}

static int
sqlite_daily(void *impl, time_t since, struct jm_store_day **days,
    size_t *n)
{
	struct sqlite_store *ss = impl;
	struct jm_store_day *v;
	sqlite3_stmt	*s;
	size_t		 cap = 0;
	int		 rc;

	*days = NULL;
	*n = 0;
	pthread_mutex_lock(&ss->lock);
	if (sqlite3_prepare_v2(ss->db, "SELECT at - at % 86400 AS day,"
	    " coalesce(category, 'none') AS c, count(*) FROM events"
	    " WHERE at >= ?1 GROUP BY day, c ORDER BY day, c", -1, &s,
	    NULL) != SQLITE_OK) {
		set_db_error(ss, "counting messages per day");
		pthread_mutex_unlock(&ss->lock);
		return -1;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (jm_grow(days, &cap, *n, sizeof(**days), 32) == -1)
			goto oom;
		v = &(*days)[*n];
		v->day = (time_t)sqlite3_column_int64(s, 0);
		v->category = col_dup(s, 1);
		if (v->category == NULL)
			goto oom;
		v->n = (long)sqlite3_column_int64(s, 2);
		(*n)++;
	}
	sqlite3_finalize(s);
	pthread_mutex_unlock(&ss->lock);
	if (rc != SQLITE_DONE) {
		set_db_error(ss, "counting messages per day");
		goto fail;
	}
	return 0;
oom:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&ss->lock);
	jm_store_set_error("out of memory");
fail:
	jm_store_days_free(*days, *n);
	*days = NULL;
	*n = 0;
	return -1;
}

static int
sqlite_slowest(void *impl, time_t since, size_t max,
    struct jm_outbox_row **rows, size_t *n)
{
	struct sqlite_store *ss = impl;
	sqlite3_stmt	*s;

	*rows = NULL;
	*n = 0;
	pthread_mutex_lock(&ss->lock);
	if (sqlite3_prepare_v2(ss->db, "SELECT id, kind, target, event_id,"
	    " customer, category, state, attempts, created, retry_from,"
	    " next_attempt, delivered, last_error FROM outbox"
	    " WHERE state = 'done' AND created >= ?1"
	    " ORDER BY delivered - created DESC, id LIMIT ?2", -1, &s,
	    NULL) != SQLITE_OK) {
		set_db_error(ss, "reading deliveries");
		pthread_mutex_unlock(&ss->lock);
		return -1;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	return collect_rows(ss, s, "reading deliveries", rows, n);
}

static int
sqlite_prune(void *impl, time_t threads_before, time_t done_before)
{
	struct sqlite_store *ss = impl;
	char	sql[256];
	int	rc;

	snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE;"
	    "DELETE FROM threads WHERE created < %lld;"
	    "DELETE FROM outbox WHERE state = 'done' AND delivered < %lld;"
	    "DELETE FROM ack_seconds WHERE sec < %lld;"
	    "COMMIT", (long long)threads_before, (long long)done_before,
	    (long long)(threads_before < done_before ? threads_before :
	    done_before) - 60);
	pthread_mutex_lock(&ss->lock);
	rc = exec(ss, sql);
	if (rc == -1)
		sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&ss->lock);
	return rc;
}

static int
sqlite_customers(void *impl, int (*fn)(void *, const char *,
    const struct jm_state *, time_t), void *arg)
{
	struct sqlite_store *ss = impl;
	sqlite3_stmt	*s;
	struct jm_state	 st;
	int		 rc;

	pthread_mutex_lock(&ss->lock);
	if (sqlite3_prepare_v2(ss->db, "SELECT stage, at_risk, updated,"
	    " address FROM customers ORDER BY address", -1, &s,
	    NULL) != SQLITE_OK) {
		set_db_error(ss, "listing customers");
		pthread_mutex_unlock(&ss->lock);
		return -1;
	}
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (stage_from(s, 0, &st.stage) == -1)
			break;
		st.at_risk = sqlite3_column_int(s, 1) != 0;
		if (fn(arg, (const char *)sqlite3_column_text(s, 3), &st,
		    (time_t)sqlite3_column_int64(s, 2)) == -1)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		set_db_error(ss, "listing customers");
	sqlite3_finalize(s);
	pthread_mutex_unlock(&ss->lock);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sqlite_acks(void *impl, time_t since, int (*fn)(void *, long long,
    const char *, const char *, time_t), void *arg)
{
	struct sqlite_store *ss = impl;
	sqlite3_stmt	*s;
	int		 rc;

	pthread_mutex_lock(&ss->lock);
	if (sqlite3_prepare_v2(ss->db, "SELECT id, customer, category,"
	    " created FROM outbox WHERE is_ack AND state != 'dead'"
	    " AND created > ?1 AND customer IS NOT NULL"
	    " ORDER BY created, id", -1, &s, NULL) != SQLITE_OK) {
		set_db_error(ss, "listing acknowledgements");
		pthread_mutex_unlock(&ss->lock);
		return -1;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (fn(arg, (long long)sqlite3_column_int64(s, 0),
		    (const char *)sqlite3_column_text(s, 1),
		    (const char *)sqlite3_column_text(s, 2),
		    (time_t)sqlite3_column_int64(s, 3)) == -1)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		set_db_error(ss, "listing acknowledgements");
	sqlite3_finalize(s);
	pthread_mutex_unlock(&ss->lock);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sqlite_threads(void *impl, time_t since, int (*fn)(void *, const char *,
    time_t), void *arg)
{
	struct sqlite_store *ss = impl;
	sqlite3_stmt	*s;
	int		 rc;

	pthread_mutex_lock(&ss->lock);
	if (sqlite3_prepare_v2(ss->db, "SELECT key, created FROM threads"
	    " WHERE created > ?1 ORDER BY created, key", -1, &s,
	    NULL) != SQLITE_OK) {
		set_db_error(ss, "listing threads");
		pthread_mutex_unlock(&ss->lock);
		return -1;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (fn(arg, (const char *)sqlite3_column_text(s, 0),
		    (time_t)sqlite3_column_int64(s, 1)) == -1)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		set_db_error(ss, "listing threads");
	sqlite3_finalize(s);
	pthread_mutex_unlock(&ss->lock);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sqlite_rate(void *impl, const char *name, time_t now, long limit)
{
	struct sqlite_store *ss = impl;
	struct rate	*r = NULL;
	time_t		 minute = now / 60;
	size_t		 i;
	int		 ok;

	pthread_mutex_lock(&ss->rate_lock);
	for (i = 0; i < ss->n_rates; i++) {
		if (strcmp(ss->rates[i].name, name) == 0) {
			r = &ss->rates[i];
			break;
		}
		/* A name not counted this minute may give way. */
		if (r == NULL && ss->rates[i].minute < minute)
			r = &ss->rates[i];
	}
	if (r == NULL || strcmp(r->name, name) != 0) {
		char	*copy = strdup(name);

		if (copy == NULL || (r == NULL && ss->n_rates == RATES_MAX)) {
			pthread_mutex_unlock(&ss->rate_lock);
			free(copy);
			jm_store_set_error("%s: no room to count one more "
			    "rate limit", ss->name);
			return -1;
		}
		if (r == NULL)
			r = &ss->rates[ss->n_rates++];
		else
			free(r->name);
		r->name = copy;
		r->minute = minute;
		r->count = 0;
	}
	if (r->minute != minute) {
		r->minute = minute;
		r->count = 0;
	}
	ok = r->count < limit;
	if (ok)
		r->count++;
	pthread_mutex_unlock(&ss->rate_lock);
	return ok;
}

const struct jm_store_ops jm_store_sqlite_ops = {
	.name = "sqlite",
	.begin = sqlite_begin,
	.peek = sqlite_peek,
	.try_begin = sqlite_try_begin,
	.sync = sqlite_sync,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.claim = sqlite_claim,
	.delivered = sqlite_delivered,
	.retry = sqlite_retry,
	.defer = sqlite_defer,
	.dead = sqlite_dead,
	.list = sqlite_list,
	.requeue = sqlite_requeue,
	.customer = sqlite_customer,
	.stats = sqlite_stats,
	.window = sqlite_window,
	.daily = sqlite_daily,
	.slowest = sqlite_slowest,
	.prune = sqlite_prune,
	.close = sqlite_close,
	.prepare = sqlite_prepare,
	.finish = sqlite_finish,
	.customers = sqlite_customers,
	.acks = sqlite_acks,
	.threads = sqlite_threads,
	.migrate = NULL,
	.rate = sqlite_rate,
};
