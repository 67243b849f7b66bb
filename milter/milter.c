/*
 * milter.c: the libmilter callbacks.
 *
 * Three lifetimes meet here.  The process owns the policy; a connection
 * owns a struct jm_conn (smfi_setpriv); a message owns what is collected
 * between MAIL FROM and end-of-message, and is reset at abort, at
 * end-of-message and at a new MAIL FROM.  Postfix may send several messages
 * on one connection and may abort any of them.
 *
 * Mail flow comes first: whatever goes wrong in here, the message is
 * accepted as it came (or tempfailed, if the operator asked for that), and
 * the failure is logged once with the queue id.  Only a failure after the
 * first header change (the MTA going away, an fsync) can leave a message
 * changed, and its log line then says how.  No callback waits on the
 * network.
 *
 * A message is kept as it will be parsed, headers then body, in one
 * buffer, so end-of-message hands it over without a copy.  Past
 * SPOOL_AFTER bytes the body waits in an unlinked file in state_dir, as
 * an MTA's queue file would hold it, and is read back at end-of-message:
 * a hundred sessions in DATA at once then hold a little each, not whole
 * messages (a file that cannot be made or written leaves the message in
 * memory, as before).
 *
 * Connections are many and mostly waiting on the network, but the work of
 * end-of-message is all CPU, so only a few run it at once (twice the CPUs):
 * more would only share the same cores, each with a parsed message and its
 * text in memory, and a hundred sessions at once would cost a hundred of
 * those.  The rest wait their turn, which is shorter than the time they
 * would lose sharing.
 *
 * Not here: classifying, deciding, storing (process.c and below).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "journey/buf.h"
#include "journey/conf.h"
#include "journey/log.h"
#include "journey/milter.h"
#include "journey/outbox.h"
#include "journey/policy.h"
#include "journey/process.h"
#include "journey/store.h"
#include "journey/util.h"

static struct jm_store	*milter_store;	/* process lifetime; NULL: dry */
static sem_t		 workers;	/* end-of-message work in progress */
static int		 workers_ok;

#define HEADER_BLOCK_MAX	(256 * 1024)	/* bytes of header kept */
#define SPOOL_AFTER		(32 * 1024)	/* bytes kept in memory */
#define SPOOL_READ		(16 * 1024)
#define RCPT_MAX		1000
#define XJ_PREFIX		"X-Journey-"

/*
 * One X-Journey-* header that arrived from outside, to be removed.  Its
 * place among the headers of its name, which smfi_chgheader() asks for,
 * is worked out at end-of-message (forged_sort()): counting it as each
 * header arrives would compare every one with all before it.
 */
struct xj_header {
	char	*name;			/* as it arrived, any length */
	size_t	 seq;			/* arrival order */
	int	 index;			/* among headers of that name, from 1 */
};

struct jm_msgctx {
	struct jm_policy *policy;	/* referenced for the whole message */
	char		 *env_from;
	char		**rcpt;
	size_t		  n_rcpt;
	int		  watched;
	char		  qid[32];
	struct jm_buf	  raw;		/* "Name: value\n" lines, "\n", body */
	size_t		  header_bytes;	/* of raw, at most HEADER_BLOCK_MAX */
	size_t		  body_bytes;	/* of raw, at most max_body_bytes */
	int		  in_body;	/* the blank line is in raw */
	int		  body_full;	/* max_body_bytes read */
	int		  spooling;	/* spool_fd holds the rest of raw */
	int		  spool_fd;
	size_t		  spooled;	/* bytes in it */
	size_t		  n_headers;
	struct xj_header *xj;
	size_t		  n_xj;
	size_t		  cap_xj;
	int		  failed;	/* an internal error; fail open at the end */
};

struct jm_conn {
	struct jm_msgctx msg;
	unsigned long	 f_protocol;	/* what was negotiated */
};

static void
msg_reset(struct jm_msgctx *m)
{
	size_t	i;

	jm_policy_unref(m->policy);
	free(m->env_from);
	for (i = 0; i < m->n_rcpt; i++)
		free(m->rcpt[i]);
	free(m->rcpt);
	jm_buf_free(&m->raw);
	if (m->spooling)
		(void)close(m->spool_fd);
	for (i = 0; i < m->n_xj; i++)
		free(m->xj[i].name);
	free(m->xj);
	memset(m, 0, sizeof(*m));
}

static const char *
qid(const struct jm_msgctx *m)
{
	return m->qid[0] != '\0' ? m->qid : "NOQUEUE";
}

static void
note_qid(SMFICTX *ctx, struct jm_msgctx *m)
{
	const char	*q;

	if (m->qid[0] != '\0')
		return;
	q = smfi_getsymval(ctx, "i");
	if (q != NULL)
		snprintf(m->qid, sizeof(m->qid), "%s", q);
}

/*
 * The action for an internal error: one log line, then the configured
 * reply.  At end-of-message the MTA may already have been told to remove
 * forged headers (REMOVED) and to add ADDED of our OURS headers; those
 * changes cannot be taken back, so the line says what the message became.
 * A tempfailed message is discarded by the MTA, changes and all.
 */
static sfsistat
fail_after(struct jm_conn *c, const char *what, size_t removed, size_t added,
    size_t ours)
{
	struct jm_msgctx *m = &c->msg;
	char		  forged[96], tags[96];
	int		  tempfail;

	tempfail = m->policy != NULL &&
	    m->policy->conf->on_error == JM_ON_ERROR_TEMPFAIL;
	forged[0] = tags[0] = '\0';
	if (removed > 0)
		snprintf(forged, sizeof(forged), " %zu forged X-Journey "
		    "header%s removed", removed, removed == 1 ? "" : "s");
	if (added > 0 && added == ours)
		snprintf(tags, sizeof(tags), "%s its X-Journey headers added",
		    removed > 0 ? " and" : "");
	else if (added > 0)
		snprintf(tags, sizeof(tags), "%s %zu of its %zu X-Journey "
		    "headers added", removed > 0 ? " and" : "", added, ours);
	if (tempfail)
		jm_log(LOG_ERR, "%s: %s; message tempfailed", qid(m), what);
	else if (removed == 0 && added == 0)
		jm_log(LOG_ERR, "%s: %s; message accepted unchanged%s", qid(m),
		    what, m->n_xj > 0 ? ", forged X-Journey headers and all" :
		    "");
	else
		jm_log(LOG_ERR, "%s: %s; message accepted with%s%s", qid(m),
		    what, forged, tags);
	msg_reset(m);
	return tempfail ? SMFIS_TEMPFAIL : SMFIS_ACCEPT;
}

/* An internal error before anything of the message was changed. */
static sfsistat
fail(struct jm_conn *c, const char *what)
{
	return fail_after(c, what, 0, 0, 0);
}

static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct jm_conn	*c;
	unsigned long	 want;

	(void)f2;
	(void)f3;
	if ((f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS)) !=
	    (SMFIF_ADDHDRS | SMFIF_CHGHDRS)) {
		jm_log(LOG_ERR, "the MTA does not allow header changes; "
		    "mail passes unfiltered");
		return SMFIS_REJECT;	/* "do not use this milter" */
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SMFIS_REJECT;
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
		free(c);
		return SMFIS_REJECT;
	}
	*pf0 = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
	/* Skip every step we do not use, and every reply we do not need. */
	want = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOUNKNOWN |
	    SMFIP_NR_HDR | SMFIP_NOEOH | SMFIP_SKIP;
	*pf1 = want & f1;
	c->f_protocol = *pf1;
	*pf2 = 0;
	*pf3 = 0;
	/* Ask only for the macros used, at the step they are used. */
	if (smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen}") != MI_SUCCESS ||
	    smfi_setsymlist(ctx, SMFIM_DATA, "i") != MI_SUCCESS ||
	    smfi_setsymlist(ctx, SMFIM_EOM, "i") != MI_SUCCESS)
		jm_log(LOG_WARNING, "cannot request milter macros; "
		    "queue ids may be missing from the log");
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct jm_conn	 *c = smfi_getpriv(ctx);
	struct jm_msgctx *m;
	const char	 *auth;

	if (c == NULL)
		return SMFIS_ACCEPT;
	m = &c->msg;
	msg_reset(m);
	m->policy = jm_policy_current();
	if (m->policy == NULL)
		return fail(c, "no policy loaded");
	note_qid(ctx, m);
	auth = smfi_getsymval(ctx, "{auth_authen}");
	if (auth != NULL && *auth != '\0' && m->policy->conf->skip_authenticated) {
		/* Authenticated clients send outbound mail: not ours. */
		msg_reset(m);
		return SMFIS_ACCEPT;
	}
	m->env_from = jm_addr_normalize(argv[0] != NULL ? argv[0] : "");
	if (m->env_from == NULL)
		return fail(c, "out of memory");
	jm_buf_init(&m->raw, HEADER_BLOCK_MAX + 1 +
	    (size_t)m->policy->conf->max_body_bytes);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct jm_conn	 *c = smfi_getpriv(ctx);
	struct jm_msgctx *m;
	char		**v, *r;

	if (c == NULL || c->msg.policy == NULL)
		return SMFIS_CONTINUE;
	m = &c->msg;
	if (argv[0] == NULL || m->n_rcpt >= RCPT_MAX)
		return SMFIS_CONTINUE;
	r = jm_addr_normalize(argv[0]);
	if (r == NULL)
		return fail(c, "out of memory");
	v = realloc(m->rcpt, (m->n_rcpt + 1) * sizeof(*v));
	if (v == NULL) {
		free(r);
		return fail(c, "out of memory");
	}
	m->rcpt = v;
	m->rcpt[m->n_rcpt++] = r;
	if (jm_conf_watched(m->policy->conf, r))
		m->watched = 1;
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_data(SMFICTX *ctx)
{
	struct jm_conn	*c = smfi_getpriv(ctx);

	if (c == NULL || c->msg.policy == NULL)
		return SMFIS_ACCEPT;
	note_qid(ctx, &c->msg);
	if (!c->msg.watched) {
		/* Not for a watched address: the rest of it is none of ours. */
		msg_reset(&c->msg);
		return SMFIS_ACCEPT;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
hdr_reply(const struct jm_conn *c)
{
	return (c->f_protocol & SMFIP_NR_HDR) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static int
note_xj_header(struct jm_msgctx *m, const char *name)
{
	struct xj_header *v;
	size_t		  cap;
	char		 *copy;

	if (m->n_xj == m->cap_xj) {
		cap = m->cap_xj == 0 ? 4 : 2 * m->cap_xj;
		v = reallocarray(m->xj, cap, sizeof(*v));
		if (v == NULL)
			return -1;
		m->xj = v;
		m->cap_xj = cap;
	}
	copy = strdup(name);
	if (copy == NULL)
		return -1;
	m->xj[m->n_xj].name = copy;
	m->xj[m->n_xj].seq = m->n_xj;
	m->xj[m->n_xj].index = 0;
	m->n_xj++;
	return 0;
}

/* Header names compare without case, as the MTA counts them. */
static int
xj_cmp(const void *a, const void *b)
{
	const struct xj_header *x = a, *y = b;
	int			 c;

	c = strcasecmp(x->name, y->name);
	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Groups the forged headers by name, in arrival order within a name, and
 * numbers each among the headers of its name from 1.  Only X-Journey-*
 * headers have such a name, so these are all the headers counted.
 */
static void
forged_sort(struct jm_msgctx *m)
{
	size_t	i;

	if (m->n_xj > 1)
		qsort(m->xj, m->n_xj, sizeof(*m->xj), xj_cmp);
	for (i = 0; i < m->n_xj; i++)
		m->xj[i].index = i > 0 &&
		    strcasecmp(m->xj[i].name, m->xj[i - 1].name) == 0 ?
		    m->xj[i - 1].index + 1 : 1;
}

/*
 * Appends N bytes of a header line, as much as HEADER_BLOCK_MAX still
 * allows; a header after the body has begun (only a broken MTA sends one)
 * is dropped.  0, or -1 when memory ran out.
 */
static int
header_append(struct jm_msgctx *m, const char *p, size_t n)
{
	if (m->in_body)
		return 0;
	if (n > HEADER_BLOCK_MAX - m->header_bytes)
		n = HEADER_BLOCK_MAX - m->header_bytes;
	if (n == 0)
		return 0;
	if (jm_buf_append(&m->raw, p, n) == -1)
		return -1;
	m->header_bytes += n;
	return 0;
}

/*
 * A file for the rest of the body, in state_dir, that no name reaches
 * (O_TMPFILE, or a name removed at once); -1 when none can be made.
 */
static int
spool_open(const struct jm_msgctx *m)
{
	const char	*dir = m->policy->conf->state_dir;
	char		 path[4096];
	int		 fd;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd != -1)
		return fd;
#endif
	if (snprintf(path, sizeof(path), "%s/spool.XXXXXX", dir) >=
	    (int)sizeof(path))
		return -1;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd != -1)
		(void)unlink(path);
	return fd;
}

/* Writes N bytes at P to FD; 0, or -1 with *DONE bytes written. */
static int
write_all(int fd, const char *p, size_t n, size_t *done)
{
	ssize_t	w;

	*done = 0;
	while (*done < n) {
		w = write(fd, p + *done, n - *done);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		*done += (size_t)w;
	}
	return 0;
}

/*
 * Brings the spooled rest of the body back into raw, in one allocation,
 * and closes the file.  0, or -1 when it cannot be read or held (the
 * message is then handled as failed: accepted as it came).
 */
static int
unspool(struct jm_msgctx *m)
{
	char	 buf[SPOOL_READ];
	off_t	 off = 0;
	ssize_t	 r;
	int	 rc = 0;

	if (!m->spooling)
		return 0;
	if (jm_buf_reserve(&m->raw, m->spooled) == -1)
		rc = -1;
	while (rc == 0 && (size_t)off < m->spooled) {
		r = pread(m->spool_fd, buf, sizeof(buf), off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0 || jm_buf_append(&m->raw, buf, (size_t)r) == -1)
			rc = -1;
		else
			off += r;
	}
	(void)close(m->spool_fd);
	m->spooling = 0;
	m->spooled = 0;
	return rc;
}

/*
 * Appends N bytes of body: to raw up to SPOOL_AFTER, then to the spool
 * file; to raw again if the file cannot be made or written.  0, or -1
 * when memory ran out or the spool could not be read back.
 */
static int
body_append(struct jm_msgctx *m, const char *p, size_t n)
{
	size_t	done;

	if (!m->spooling && m->raw.len + n > SPOOL_AFTER) {
		m->spool_fd = spool_open(m);
		m->spooling = m->spool_fd != -1;
	}
	if (!m->spooling)
		return jm_buf_append(&m->raw, p, n);
	if (write_all(m->spool_fd, p, n, &done) == 0) {
		m->spooled += n;
		return 0;
	}
	/* A full disk: what the file took comes back, the rest stays here. */
	m->spooled += done;
	if (unspool(m) == -1)
		return -1;
	return jm_buf_append(&m->raw, p + done, n - done);
}

/* Ends the header block in raw once; 0, or -1 when memory ran out. */
static int
body_begin(struct jm_msgctx *m)
{
	if (m->in_body)
		return 0;
	if (jm_buf_append(&m->raw, "\n", 1) == -1)
		return -1;
	m->in_body = 1;
	return 0;
}

static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct jm_conn	 *c = smfi_getpriv(ctx);
	struct jm_msgctx *m;

	if (c == NULL)
		return SMFIS_CONTINUE;
	m = &c->msg;
	if (m->policy == NULL || m->failed)
		return hdr_reply(c);
	/* Every one is removed, whatever its length, past max_headers too. */
	if (jm_strcaseprefix(name, XJ_PREFIX) &&
	    note_xj_header(m, name) == -1) {
		m->failed = 1;
		return hdr_reply(c);
	}
	if (m->n_headers >= (size_t)m->policy->conf->max_headers)
		return hdr_reply(c);
	m->n_headers++;
	if (header_append(m, name, strlen(name)) == -1 ||
	    header_append(m, ": ", 2) == -1 ||
	    header_append(m, value, strlen(value)) == -1 ||
	    header_append(m, "\n", 1) == -1)
		m->failed = 1;
	return hdr_reply(c);
}

static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct jm_conn	 *c = smfi_getpriv(ctx);
	struct jm_msgctx *m;
	size_t		  room;

	if (c == NULL || c->msg.policy == NULL)
		return SMFIS_CONTINUE;
	m = &c->msg;
	if (m->failed)
		return SMFIS_CONTINUE;
	room = (size_t)m->policy->conf->max_body_bytes - m->body_bytes;
	if (len >= room) {
		len = room;
		m->body_full = 1;
	}
	if (body_begin(m) == -1 ||
	    (len > 0 && body_append(m, (const char *)chunk, len) == -1)) {
		m->failed = 1;
		return SMFIS_CONTINUE;
	}
	m->body_bytes += len;
	if (m->body_full && (c->f_protocol & SMFIP_SKIP))
		return SMFIS_SKIP;	/* enough read; the rest passes */
	return SMFIS_CONTINUE;
}

/* Waits for a turn at end-of-message work (see the top of this file). */
static void
worker_enter(void)
{
	if (!workers_ok)
		return;
	while (sem_wait(&workers) == -1 && errno == EINTR)
		continue;
}

static void
worker_leave(void)
{
	if (workers_ok)
		(void)sem_post(&workers);
}

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct jm_conn	 *c = smfi_getpriv(ctx);
	struct jm_msgctx *m;
	struct jm_outcome out;
	struct timespec	  t0, t1;
	const char	 *bad;
	char		  why[384];
	size_t		  i, removed, added, ours;
	int		  rc;

	if (c == NULL || c->msg.policy == NULL)
		return SMFIS_ACCEPT;
	m = &c->msg;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	note_qid(ctx, m);
	if (m->failed || body_begin(m) == -1)
		return fail(c, "out of memory while reading the message");

	worker_enter();
	if (unspool(m) == -1) {
		worker_leave();
		return fail(c, "cannot read the spooled body back");
	}
	/*
	 * The worker's place is given back before the event's fsync, which
	 * other messages share, and the headers go to the MTA meanwhile:
	 * the answer waits for the disk, the next message does not.
	 */
	jm_store_clear_error();
	rc = jm_process(m->policy, milter_store, jm_buf_cstr(&m->raw),
	    m->raw.len, m->env_from, m->rcpt, m->n_rcpt, time(NULL),
	    JM_PROCESS_DEFER_SYNC, &out);
	worker_leave();
	jm_buf_free(&m->raw);
	if (rc == -1 && jm_store_failed()) {
		snprintf(why, sizeof(why), "cannot record it in the store: %s",
		    jm_store_last_error());
		return fail(c, why);
	}
	if (rc == -1)
		return fail(c, "internal error while classifying");

	/*
	 * Nothing is changed before this point.  The changes go to the MTA
	 * before the wait for the event's fsync, so that the MTA takes them
	 * while the disk works; a failed fsync comes after them, then, and
	 * they cannot be taken back.  The headers are true all the same (the
	 * event is committed), and fail_after() says what the message became.
	 *
	 * Remove the last of a name first so the indexes of the others stay
	 * right.  Our own acknowledgement too: what marks it as ours are
	 * headers anyone can write, so it may carry forged X-Journey headers
	 * as well.
	 */
	bad = NULL;
	removed = added = 0;
	forged_sort(m);
	for (i = m->n_xj; i > 0 && bad == NULL; i--) {
		if (smfi_chgheader(ctx, m->xj[i - 1].name, m->xj[i - 1].index,
		    NULL) != MI_SUCCESS)
			bad = "cannot remove a forged X-Journey header";
		else
			removed++;
	}
	ours = out.own_ack ? 0 : out.n_headers;
	for (i = 0; i < ours && bad == NULL; i++) {
		if (smfi_addheader(ctx, (char *)out.headers[i].name,
		    out.headers[i].value) != MI_SUCCESS)
			bad = "cannot add the X-Journey headers";
		else
			added++;
	}
	if (jm_store_sync(milter_store, out.sync_token) == -1 && bad == NULL) {
		snprintf(why, sizeof(why), "the event is committed but may not "
		    "be on disk: %s", jm_store_last_error());
		bad = why;
	}
	if (out.queued)
		jm_outbox_wake();
	if (bad != NULL)
		return fail_after(c, bad, removed, added, ours);
	if (out.own_ack) {
		jm_log(LOG_INFO, "%s: %s%s", qid(m), out.summary,
		    m->n_xj > 0 ? " removed-forged-headers=yes" : "");
		msg_reset(m);
		return SMFIS_ACCEPT;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	jm_log(LOG_INFO, "%s: %s%s eom=%.3fms", qid(m), out.summary,
	    m->n_xj > 0 ? " removed-forged-headers=yes" : "",
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	msg_reset(m);
	return SMFIS_ACCEPT;
}

static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct jm_conn	*c = smfi_getpriv(ctx);

	if (c != NULL)
		msg_reset(&c->msg);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_close(SMFICTX *ctx)
{
	struct jm_conn	*c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	msg_reset(&c->msg);
	free(c);
	(void)smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
	.xxfi_name = "journey-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
	.xxfi_connect = NULL,
	.xxfi_helo = NULL,
	.xxfi_envfrom = mlfi_envfrom,
	.xxfi_envrcpt = mlfi_envrcpt,
	.xxfi_header = mlfi_header,
	.xxfi_eoh = NULL,
	.xxfi_body = mlfi_body,
	.xxfi_eom = mlfi_eom,
	.xxfi_abort = mlfi_abort,
	.xxfi_close = mlfi_close,
	.xxfi_unknown = NULL,
	.xxfi_data = mlfi_data,
	.xxfi_negotiate = mlfi_negotiate,
};

void
jm_milter_set_store(struct jm_store *s)
{
	milter_store = s;
}

int
jm_milter_register(void)
{
	long	n;

	if (!workers_ok) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		n = n < 1 ? 2 : 2 * (n > 64 ? 64 : n);
		workers_ok = sem_init(&workers, 0, (unsigned int)n) == 0;
	}
	return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
