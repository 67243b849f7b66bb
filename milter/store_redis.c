/*
 * store_redis.c: the journey store of a fleet of MX hosts.
 *
 * Each MX host runs its own journey-milter.  Alone, each would keep its
 * own idea of a customer's stage, and a customer whose mails land on two
 * hosts would get two acknowledgements.  So the state that decides (the
 * customer's stage, the acknowledgement limits, the escalated threads)
 * lives in one Redis, and the outbox stays in each host's own SQLite
 * database (store_sqlite.c, reached through its ops, not copied), so that
 * Redis going away never loses an event.
 *
 * Keys, all under redis_key_prefix (default "jm:"):
 *   c:ADDRESS            hash: stage, at_risk, updated.  No TTL.
 *   hist:ADDRESS         list: the newest 50 events as JSON, for journeyctl
 *                        customer on any host; the whole history (subject,
 *                        language, score) stays in the SQLite database of
 *                        the host that saw the message.
 *   ack:CATEGORY:ADDRESS sorted set of acknowledgement times, TTL
 *                        ack_interval: "already answered".
 *   ackday:ADDRESS       the same over 24 hours: the daily limit.
 *   ackmin               the same over 60 s for everyone: the global limit.
 *   thread:MESSAGE-ID    the time the thread was escalated, TTL
 *                        escalation_window.
 *   rate:HASH:MINUTE     counter of jm_store_rate_take() (the chat rate
 *                        limit) for one name in one minute (now / 60), TTL
 *                        two minutes; HASH is the name's SHA-256, in hex,
 *                        since a chat URL holds a token.
 *   stats                hash: customers, at_risk, stage:NAME, events,
 *                        outages, unshared; kept by the same transactions.
 * Category names are lower-case words, so "ack:CATEGORY:ADDRESS" cannot be
 * read two ways.  Sorted sets rather than counters, so that the windows
 * slide exactly as the SQLite store's do; a member names the outbox row
 * of the acknowledgement (TIME.mID@HOST), so that journeyctl migrate,
 * which copies this host's acknowledgements, never counts one twice.
 *
 * Atomicity is optimistic.  begin() WATCHes the customer's hash, ack and
 * ackday sets and the message's thread keys, and reads them; commit()
 * writes everything in one MULTI/EXEC.  If another host wrote any of
 * those keys in between, EXEC does nothing and commit() answers
 * JM_STORE_RETRY: process.c begins again, sees the other host's
 * acknowledgement or stage, and decides anew.  Two hosts racing on one
 * customer therefore never both acknowledge, and no stage change is lost.
 * The global per-minute set is written but not watched: every message
 * would conflict with every other, and that limit only protects the relay,
 * so it may be overshot by one per host racing.
 *
 * One commit, in order: the SQLite transaction (opened by begin) receives
 * the event and the outbox rows; EXEC runs in Redis; SQLite commits.
 * The failure windows:
 *  - EXEC conflicts or fails: SQLite rolls back, nothing is written
 *    anywhere, the message is tried again (and, with Redis gone, decided
 *    without it: see below).
 *  - EXEC's reply is lost (a timeout after Redis received it): Redis may
 *    have applied it while SQLite rolled back.  The stage has moved and an
 *    acknowledgement is counted that will never be sent: the customer
 *    gets none rather than two.
 *  - SQLite's COMMIT fails, or the daemon dies between EXEC and COMMIT:
 *    the same, Redis ahead of this host; the message fails open (tagged
 *    or not, it is delivered) and the error is logged.
 *
 * Redis down, or busy with another host's writes to one customer for
 * JM_STORE_ATTEMPTS - 1 tries: the message is decided without it, from
 * this host's last known copy (the SQLite customers row, written only
 * with a successful EXEC, and this host's own outbox and threads) and
 * facts.unshared says so: decide.c moves no stage and, unless redis_down
 * = send, withholds the acknowledgement; the CRM event is still queued
 * with the state as known.  Nothing is written to Redis for it later.
 * The outage is logged once when it starts and once when it ends, and
 * counted in the shared stats when Redis is back.  Reconnection waits 1 s,
 * then twice as long each time, up to 30 s, so a dead Redis costs one
 * attempt per interval, not one per message.  The Redis work of one
 * attempt at one message (connect, begin, commit) shares one deadline of
 * redis_timeout; the host name is resolved once, at open, so that no
 * DNS lookup hides in a milter callback.
 *
 * One connection guarded by one mutex, held from begin to commit, like
 * the SQLite store: a host's messages are serialised anyway by SQLite's
 * single writer, and WATCH belongs to a connection.
 *
 * This file logs the start and end of an outage itself (jm_log), since
 * those are the backend's own events, not any caller's error.
 *
 * TLS (rediss://) is done here with OpenSSL, since Debian 12's hiredis
 * (0.14) has none: hiredis still formats the commands and parses the
 * replies, and only the bytes between the two go through an SSL session
 * on hiredis's socket (see "TLS" below).  The server's certificate and
 * name are verified unless redis_tls_verify = no.
 *
 * Deliberately not here: Redis Cluster (WATCH across slots), Sentinel,
 * and the outbox (the SQLite store's).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "journey/log.h"
#include "journey/store.h"
#include "journey/store_redis.h"
#include "journey/util.h"

#define KEY_MAX		998	/* longest thread key, as in SQLite */
#define KEYS_MAX	64	/* thread keys looked at per message */
#define HIST_MAX	50	/* events kept per customer */
#define BACKOFF_MAX	30	/* seconds between connection attempts */
#define ADMIN_MS	5000	/* journeyctl may wait longer than mail */
#define TTL_SLACK	60	/* seconds a window's key outlives it */
#define PASSWORD_MAX	1024

/* What begin() learnt, for commit(). */
struct txn {
	int		 unshared;
	int		 known;
	struct jm_state	 prev;
	time_t		 prev_updated;	/* the shared state's time, 0 if none */
	long		 ack_interval;
	long		 escalation_window;
	struct timespec	 deadline;
};

struct redis_store {
	pthread_mutex_t	 lock;		/* rc, t and the health */
	const struct jm_store_ops *local_ops;
	void		*local;
	redisContext	*rc;		/* NULL while not connected */
	SSL_CTX		*tls_ctx;	/* NULL: redis://, no TLS */
	SSL		*tls;		/* rc's TLS session, with tls_ctx */
	char		 tls_name[256];	/* the name the certificate carries */
	char		 tls_sni[256];	/* the same, "" when an address */
	int		 tls_verify;
	int		 tls_client_cert; /* one is configured */
	int		 tls_fresh;	/* no reply yet on this session */
	char		 tls_err[256];	/* the last TLS failure, for reply() */
	char		 host[256];	/* this host's name, in ack members */
	char		 addr[INET6_ADDRSTRLEN];
	int		 port;
	int		 db;
	char		 where[300];	/* "host:port/db", " (TLS)" */
	char		*user;
	char		*password;
	char		*prefix;
	long		 timeout_ms;
	int		 send_when_down;
	long		 ack_interval;	/* for migrate: the windows' lengths */
	long		 escalation_window;

	int		 down;		/* an outage is going on (logged) */
	time_t		 down_since;
	long		 down_messages;	/* without Redis, this outage */
	struct timespec	 next_try;	/* no connection before */
	long		 backoff;	/* seconds */
	long		 pend_outages;	/* not yet in the stats hash */
	long		 pend_unshared;
	int		 rate_alone;	/* said that rates are counted here */

	struct txn	 t;
};

/* Time. */

static void
deadline_in(struct timespec *d, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (ms % 1000) * 1000000L;
	if (d->tv_nsec >= 1000000000L) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000L;
	}
}

static long
remaining_ms(const struct timespec *d)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(d->tv_sec - now.tv_sec) * 1000 +
	    (d->tv_nsec - now.tv_nsec) / 1000000L;
}

static struct timeval
tv_ms(long ms)
{
	struct timeval	tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

/* The URL. */

int
jm_redis_url_parse(const char *url, struct jm_redis_url *out, char *why,
    size_t whylen)
{
	const char	*p, *at, *slash, *hostend, *colon;
	size_t		 n;
	char		*end;
	long		 v;

	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (strncmp(url, "rediss://", 9) == 0) {
		out->tls = 1;
		p = url + 9;
	} else if (strncmp(url, "redis://", 8) == 0)
		p = url + 8;
	else {
		snprintf(why, whylen, "\"%s\" is not a redis:// URL", url);
		return -1;
	}
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	/* The password may hold '@': the host starts after the last one. */
	at = NULL;
	for (end = (char *)p; end < slash; end++)
		if (*end == '@')
			at = end;
	if (at != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon == NULL) {
			snprintf(why, whylen, "redis URL: write the password "
			    "as :password@ (or user:password@)");
			return -1;
		}
		n = (size_t)(colon - p);
		if (n >= sizeof(out->user) ||
		    (size_t)(at - colon - 1) >= sizeof(out->password)) {
			snprintf(why, whylen, "redis URL: user or password "
			    "too long");
			return -1;
		}
		memcpy(out->user, p, n);
		out->user[n] = '\0';
		n = (size_t)(at - colon - 1);
		memcpy(out->password, colon + 1, n);
		out->password[n] = '\0';
		p = at + 1;
	}
	if (*p == '[') {
		hostend = memchr(p, ']', (size_t)(slash - p));
		if (hostend == NULL) {
			snprintf(why, whylen, "redis URL: unclosed [ in the "
			    "host");
			return -1;
		}
		n = (size_t)(hostend - p - 1);
		p++;
		colon = hostend[1] == ':' ? hostend + 1 : NULL;
		if (colon == NULL && hostend + 1 != slash) {
			snprintf(why, whylen, "redis URL: junk after ]");
			return -1;
		}
	} else {
		colon = memchr(p, ':', (size_t)(slash - p));
		n = (size_t)((colon != NULL ? colon : slash) - p);
	}
	if (n == 0 || n >= sizeof(out->host)) {
		snprintf(why, whylen, "redis URL: no host");
		return -1;
	}
	memcpy(out->host, p, n);
	out->host[n] = '\0';
	if (colon != NULL) {
		errno = 0;
		v = strtol(colon + 1, &end, 10);
		if (errno != 0 || end != slash || end == colon + 1 || v < 1 ||
		    v > 65535) {
			snprintf(why, whylen, "redis URL: bad port");
			return -1;
		}
		out->port = (int)v;
	}
	if (*slash == '/' && slash[1] != '\0') {
		errno = 0;
		v = strtol(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || v < 0 || v > 65535) {
			snprintf(why, whylen, "redis URL: \"%s\" is not a "
			    "database number", slash + 1);
			return -1;
		}
		out->db = (int)v;
	}
	return 0;
}

/* Keys. */

/* PREFIX KIND A [":" B]; caller frees with free(). */
static char *
mkkey(const struct redis_store *rs, const char *kind, const char *a,
    size_t alen, const char *b)
{
	size_t	 pl = strlen(rs->prefix), kl = strlen(kind);
	size_t	 bl = b != NULL ? strlen(b) + 1 : 0, n;
	char	*k;

	n = pl + kl + alen + bl;
	k = malloc(n + 1);
	if (k == NULL)
		return NULL;
	memcpy(k, rs->prefix, pl);
	memcpy(k + pl, kind, kl);
	memcpy(k + pl + kl, a, alen);
	if (b != NULL) {
		k[pl + kl + alen] = ':';
		memcpy(k + pl + kl + alen + 1, b, bl - 1);
	}
	k[n] = '\0';
	return k;
}

static char *
customer_key(const struct redis_store *rs, const char *kind,
    const char *customer)
{
	return mkkey(rs, kind, customer, strlen(customer), NULL);
}

/* "ack:CATEGORY:ADDRESS". */
static char *
ack_key(const struct redis_store *rs, const char *category,
    const char *customer)
{
	return mkkey(rs, "ack:", category, strlen(category), customer);
}

/* The message's usable thread keys, as Redis keys; *N of them. */
static char **
thread_keys(const struct redis_store *rs, const char *const *keys,
    size_t nkeys, size_t *n)
{
	char	**v;
	size_t	  i;

	*n = 0;
	if (nkeys > KEYS_MAX)
		nkeys = KEYS_MAX;
	v = calloc(nkeys + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (i = 0; i < nkeys; i++) {
		if (keys[i] == NULL || keys[i][0] == '\0')
			continue;
		v[*n] = mkkey(rs, "thread:", keys[i], strnlen(keys[i], KEY_MAX),
		    NULL);
		if (v[*n] == NULL) {
			while (*n > 0)
				free(v[--*n]);
			free(v);
			return NULL;
		}
		(*n)++;
	}
	return v;
}

static void
keys_free(char **v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * TLS.  hiredis 0.14 has none, but its two halves are public: commands are
 * formatted into the context's output buffer (redisAppendCommand*) and
 * replies are parsed by its reader (redisReaderFeed, redisReaderGetReply).
 * On a rediss:// connection this file moves the bytes between the two over
 * OpenSSL, on the socket hiredis connected, made non-blocking so that every
 * wait is a poll() that ends at the deadline; a redis:// connection keeps
 * redisGetReply().
 */

/* OpenSSL's reason for this thread's last error, or FALLBACK. */
static const char *
tls_reason(const char *fallback)
{
	unsigned long	 e = ERR_peek_last_error();
	const char	*r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : fallback;
}

/* An encrypted key would have its passphrase asked on a terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return 0;
}

/* KEY's file PATH can be read; else -1 with ERR (OpenSSL would say less). */
static int
readable(const char *key, const char *path, char *err, size_t errlen)
{
	FILE	*fp = fopen(path, "r");

	if (fp == NULL) {
		snprintf(err, errlen, "%s %s: %s", key, path, strerror(errno));
		return -1;
	}
	fclose(fp);
	return 0;
}

static const char *
nonnull(const char *s)
{
	return s != NULL ? s : "";
}

/*
 * The TLS settings of CONF for a URL U: with rediss://, a context with the
 * client certificate loaded and, unless redis_tls_verify = no, the
 * server's chain and name checked (*CTX set); with redis://, none of the
 * redis_tls_* files or names may be set (*CTX NULL), so that a client
 * certificate never hides a connection in the clear.  0, or -1 with ERR.
 */
static int
tls_context(const struct jm_conf *conf, const struct jm_redis_url *u,
    SSL_CTX **out, char *err, size_t errlen)
{
	const char	*ca = nonnull(conf->redis_tls_ca_file);
	const char	*cert = nonnull(conf->redis_tls_cert_file);
	const char	*key = nonnull(conf->redis_tls_key_file);
	const char	*name = nonnull(conf->redis_tls_server_name);
	const char	*keyfile, *keykey;
	X509_VERIFY_PARAM *param;
	unsigned char	 a[sizeof(struct in6_addr)];
	SSL_CTX		*ctx;
	int		 ip;

	*out = NULL;
	if (!u->tls) {
		if (*ca != '\0' || *cert != '\0' || *key != '\0' ||
		    *name != '\0') {
			snprintf(err, errlen, "redis_tls_* keys are set but "
			    "state is redis://, without TLS: write rediss://");
			return -1;
		}
		return 0;
	}
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "redis TLS: %s",
		    tls_reason("cannot set up"));
		return -1;
	}
	(void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	(void)SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	if (*cert != '\0') {
		if (readable("redis_tls_cert_file", cert, err, errlen) == -1)
			goto fail;
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
			snprintf(err, errlen, "redis_tls_cert_file %s: %s",
			    cert, tls_reason("not a PEM certificate"));
			goto fail;
		}
		keyfile = *key != '\0' ? key : cert;
		keykey = *key != '\0' ? "redis_tls_key_file" :
		    "redis_tls_cert_file";
		if (readable(keykey, keyfile, err, errlen) == -1)
			goto fail;
		if (SSL_CTX_use_PrivateKey_file(ctx, keyfile,
		    SSL_FILETYPE_PEM) != 1 &&
		    ERR_GET_REASON(ERR_peek_last_error()) !=
		    X509_R_KEY_VALUES_MISMATCH) {
			snprintf(err, errlen, "%s %s: %s (an unencrypted PEM "
			    "private key is needed)", keykey, keyfile,
			    tls_reason("no private key"));
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			snprintf(err, errlen, "%s %s: the key does not match "
			    "redis_tls_cert_file %s", keykey, keyfile, cert);
			goto fail;
		}
	} else if (*key != '\0') {
		snprintf(err, errlen, "redis_tls_key_file is set but "
		    "redis_tls_cert_file is not");
		goto fail;
	}
	if (!conf->redis_tls_verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		*out = ctx;
		return 0;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (*ca != '\0') {
		if (readable("redis_tls_ca_file", ca, err, errlen) == -1)
			goto fail;
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			snprintf(err, errlen, "redis_tls_ca_file %s: %s", ca,
			    tls_reason("no PEM certificate in it"));
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "redis TLS: the system's CA "
		    "certificates: %s (set redis_tls_ca_file)",
		    tls_reason("cannot be loaded"));
		goto fail;
	}
	if (*name == '\0')
		name = u->host;
	ip = inet_pton(AF_INET, name, a) == 1 ||
	    inet_pton(AF_INET6, name, a) == 1;
	param = SSL_CTX_get0_param(ctx);
	if (!ip)
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if ((ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name) :
	    X509_VERIFY_PARAM_set1_host(param, name, 0)) != 1) {
		snprintf(err, errlen, "redis TLS: \"%s\" cannot be checked "
		    "against a certificate", name);
		goto fail;
	}
	*out = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return -1;
}

/* Why the TLS call that failed with error E did, in rs->tls_err. */
static void
tls_failure(struct redis_store *rs, int e)
{
	unsigned long	 last = ERR_peek_last_error();
	long		 v;
	int		 saved = errno;

	switch (e) {
	case SSL_ERROR_ZERO_RETURN:
		snprintf(rs->tls_err, sizeof(rs->tls_err), "TLS: the server "
		    "closed the connection");
		return;
	case SSL_ERROR_SYSCALL:
		if (last != 0)
			break;
		/*
		 * With TLS 1.3 the server judges the client's certificate
		 * after the client's handshake is over; its alert is often
		 * lost in the reset that our first command provokes.
		 */
		if (rs->tls_fresh && !rs->tls_client_cert)
			snprintf(rs->tls_err, sizeof(rs->tls_err), "%s after "
			    "the TLS handshake (the server may want a client "
			    "certificate: see redis_tls_cert_file)",
			    saved != 0 ? strerror(saved) : "connection lost");
		else
			snprintf(rs->tls_err, sizeof(rs->tls_err), "%s",
			    saved != 0 ? strerror(saved) : "connection lost");
		return;
	default:
		break;
	}
	v = rs->tls_verify ? SSL_get_verify_result(rs->tls) : X509_V_OK;
	if (v == X509_V_ERR_HOSTNAME_MISMATCH ||
	    v == X509_V_ERR_IP_ADDRESS_MISMATCH)
		snprintf(rs->tls_err, sizeof(rs->tls_err), "TLS: the server's "
		    "certificate is not for %.100s (%s; see "
		    "redis_tls_server_name)", rs->tls_name,
		    X509_verify_cert_error_string(v));
	else if (v != X509_V_OK)
		snprintf(rs->tls_err, sizeof(rs->tls_err), "TLS: the server's "
		    "certificate is not trusted (%s; see redis_tls_ca_file)",
		    X509_verify_cert_error_string(v));
	else if (!rs->tls_client_cert && last != 0 &&
	    (ERR_GET_REASON(last) == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
	    ERR_GET_REASON(last) == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE))
		snprintf(rs->tls_err, sizeof(rs->tls_err), "TLS: %s (the "
		    "server wants a client certificate: see "
		    "redis_tls_cert_file)", tls_reason("refused"));
	else
		snprintf(rs->tls_err, sizeof(rs->tls_err), "TLS: %s",
		    tls_reason("failed"));
}

/*
 * After a TLS call on rs->tls returned RET: when it only has to wait for
 * the socket, waits for it until DEADLINE and returns 0 (call again);
 * else -1 with the reason in rs->tls_err.
 */
static int
tls_wait(struct redis_store *rs, int ret, const struct timespec *deadline)
{
	struct pollfd	 pfd;
	long		 ms;
	int		 e, n;

	e = SSL_get_error(rs->tls, ret);
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		tls_failure(rs, e);
		return -1;
	}
	ms = remaining_ms(deadline);
	if (ms <= 0) {
		snprintf(rs->tls_err, sizeof(rs->tls_err),
		    "no answer within redis_timeout");
		return -1;
	}
	pfd.fd = rs->rc->fd;
	pfd.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
	pfd.revents = 0;
	n = poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms);
	if (n == -1 && errno != EINTR) {
		snprintf(rs->tls_err, sizeof(rs->tls_err), "poll: %s",
		    strerror(errno));
		return -1;
	}
	if (n == 0) {
		snprintf(rs->tls_err, sizeof(rs->tls_err),
		    "no answer within redis_timeout");
		return -1;
	}
	return 0;
}

/* The TLS handshake on rs->rc's socket, by DEADLINE; 0, or -1 with WHY. */
static int
tls_start(struct redis_store *rs, const struct timespec *deadline,
    char *why, size_t whylen)
{
	int	fd = rs->rc->fd, fl, n;

	fl = fcntl(fd, F_GETFL);
	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		snprintf(why, whylen, "fcntl: %s", strerror(errno));
		return -1;
	}
	ERR_clear_error();
	rs->tls = SSL_new(rs->tls_ctx);
	if (rs->tls == NULL || SSL_set_fd(rs->tls, fd) != 1 ||
	    (rs->tls_sni[0] != '\0' &&
	    SSL_set_tlsext_host_name(rs->tls, rs->tls_sni) != 1)) {
		snprintf(why, whylen, "TLS: %s", tls_reason("out of memory"));
		return -1;
	}
	for (;;) {
		ERR_clear_error();
		n = SSL_connect(rs->tls);
		if (n == 1) {
			rs->tls_fresh = 1;
			return 0;
		}
		if (tls_wait(rs, n, deadline) == -1) {
			snprintf(why, whylen, "%s", rs->tls_err);
			return -1;
		}
	}
}

/*
 * redisGetReply() over TLS: sends what hiredis formatted into the output
 * buffer, then feeds hiredis's reader until it has a reply.  0 with *OUT
 * set, or -1 with the reason in rs->tls_err.
 */
static int
tls_reply(struct redis_store *rs, const struct timespec *deadline,
    void **out)
{
	redisContext	*c = rs->rc;
	char		 buf[16384];
	size_t		 len;
	int		 n;

	*out = NULL;
	while ((len = sdslen(c->obuf)) > 0) {
		ERR_clear_error();
		n = SSL_write(rs->tls, c->obuf, len > INT_MAX ? INT_MAX :
		    (int)len);
		if (n > 0)
			sdsrange(c->obuf, n, -1);
		else if (tls_wait(rs, n, deadline) == -1)
			return -1;
	}
	for (;;) {
		if (redisReaderGetReply(c->reader, out) != REDIS_OK) {
			snprintf(rs->tls_err, sizeof(rs->tls_err), "%s",
			    c->reader->errstr);
			return -1;
		}
		if (*out != NULL) {
			rs->tls_fresh = 0;
			return 0;
		}
		ERR_clear_error();
		n = SSL_read(rs->tls, buf, sizeof(buf));
		if (n > 0) {
			if (redisReaderFeed(c->reader, buf, (size_t)n) !=
			    REDIS_OK) {
				snprintf(rs->tls_err, sizeof(rs->tls_err),
				    "%s", c->reader->errstr);
				return -1;
			}
		} else if (tls_wait(rs, n, deadline) == -1)
			return -1;
	}
}

/* The connection and its health. */

/* Closes the connection, if any. */
static void
disconnect(struct redis_store *rs)
{
	if (rs->tls != NULL) {
		SSL_free(rs->tls);
		rs->tls = NULL;
	}
	if (rs->rc != NULL) {
		redisFree(rs->rc);
		rs->rc = NULL;
	}
}

/* Forgets the connection, recording WHY as the calling thread's error. */
static void
drop(struct redis_store *rs, const char *why)
{
	jm_store_set_error("redis %s: %s", rs->where, why);
	disconnect(rs);
}

long
jm_redis_backoff(long previous)
{
	if (previous <= 0)
		return 1;
	return previous >= BACKOFF_MAX / 2 ? BACKOFF_MAX : previous * 2;
}

/*
 * The connection failed inside a message: wait before the next attempt,
 * and say so once per outage.
 */
static void
outage(struct redis_store *rs, const char *why)
{
	drop(rs, why);
	rs->backoff = jm_redis_backoff(rs->backoff);
	deadline_in(&rs->next_try, rs->backoff * 1000);
	if (rs->down)
		return;
	rs->down = 1;
	rs->down_since = time(NULL);
	rs->down_messages = 0;
	rs->pend_outages++;
	jm_log(LOG_ERR, "redis %s: %s; journeys are not shared until it "
	    "answers: stages stay as they are and acknowledgements are %s",
	    rs->where, why, rs->send_when_down ?
	    "decided by each host alone (redis_down = send)" :
	    "withheld (redis_down = withhold)");
}

static void
back(struct redis_store *rs)
{
	rs->backoff = 0;
	if (!rs->down)
		return;
	rs->down = 0;
	rs->rate_alone = 0;
	jm_log(LOG_NOTICE, "redis %s: answering again after %lds; %ld "
	    "message%s handled without it", rs->where,
	    (long)(time(NULL) - rs->down_since), rs->down_messages,
	    rs->down_messages == 1 ? " was" : "s were");
}

/*
 * The next reply, waiting no later than DEADLINE.  0 with *OUT set
 * (caller frees with freeReplyObject()), or -1 with the connection's
 * error in *WHY (static or the context's).
 */
static int
reply(struct redis_store *rs, const struct timespec *deadline,
    redisReply **out, const char **why)
{
	void	*r = NULL;
	long	 ms = remaining_ms(deadline);

	*out = NULL;
	if (ms <= 0) {
		*why = "no answer within redis_timeout";
		return -1;
	}
	if (rs->tls != NULL) {
		if (tls_reply(rs, deadline, &r) == -1) {
			*why = rs->tls_err;
			return -1;
		}
		*out = r;
		return 0;
	}
	if (redisSetTimeout(rs->rc, tv_ms(ms)) != REDIS_OK ||
	    redisGetReply(rs->rc, &r) != REDIS_OK || r == NULL) {
		*why = rs->rc->errstr[0] != '\0' ? rs->rc->errstr :
		    "connection lost";
		if (rs->rc->err == REDIS_ERR_IO && (errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			*why = "no answer within redis_timeout";
		return -1;
	}
	*out = r;
	return 0;
}

/* A reply that must be a status or a string (OK, PONG, QUEUED). */
static int
expect_ok(struct redis_store *rs, const struct timespec *deadline,
    char *why, size_t whylen)
{
	redisReply	*r;
	const char	*w;

	if (reply(rs, deadline, &r, &w) == -1) {
		snprintf(why, whylen, "%s", w);
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, whylen, "%.*s", (int)r->len, r->str);
		freeReplyObject(r);
		return -1;
	}
	freeReplyObject(r);
	return 0;
}

/*
 * Connects when not connected (FORCE: whatever the backoff says), within
 * DEADLINE: AUTH, SELECT and PING in one round trip.  0, or -1 with WHY.
 */
static int
connect_redis(struct redis_store *rs, const struct timespec *deadline,
    int force, char *why, size_t whylen)
{
	redisContext	*c;
	long		 ms;
	int		 n = 0, i;

	if (rs->rc != NULL)
		return 0;
	if (!force && remaining_ms(&rs->next_try) > 0) {
		snprintf(why, whylen, "not answering (next try in %lds)",
		    (remaining_ms(&rs->next_try) + 999) / 1000);
		return -1;
	}
	ms = remaining_ms(deadline);
	if (ms <= 0) {
		snprintf(why, whylen, "no answer within redis_timeout");
		return -1;
	}
	c = redisConnectWithTimeout(rs->addr, rs->port, tv_ms(ms));
	if (c == NULL || c->err != 0) {
		snprintf(why, whylen, "%s", c != NULL ? c->errstr :
		    "out of memory");
		redisFree(c);
		return -1;
	}
	rs->rc = c;
	if (rs->tls_ctx != NULL && tls_start(rs, deadline, why, whylen) == -1) {
		disconnect(rs);
		return -1;
	}
	if (rs->password != NULL && rs->user != NULL &&
	    rs->user[0] != '\0') {
		redisAppendCommand(c, "AUTH %s %s", rs->user, rs->password);
		n++;
	} else if (rs->password != NULL) {
		redisAppendCommand(c, "AUTH %s", rs->password);
		n++;
	}
	if (rs->db != 0) {
		redisAppendCommand(c, "SELECT %d", rs->db);
		n++;
	}
	redisAppendCommand(c, "PING");
	n++;
	for (i = 0; i < n; i++) {
		if (expect_ok(rs, deadline, why, whylen) == -1) {
			disconnect(rs);
			return -1;
		}
	}
	return 0;
}

/* Reading and writing the shared state. */

static int
parse_long(const redisReply *r, long *out)
{
	char	*end;

	if (r->type == REDIS_REPLY_INTEGER) {
		*out = (long)r->integer;
		return 0;
	}
	if (r->type != REDIS_REPLY_STRING)
		return -1;
	errno = 0;
	*out = strtol(r->str, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/*
 * WATCHes the customer's keys and the thread keys and reads the facts
 * into F, in one round trip.  0, or -1 with WHY (the connection is then
 * unusable).
 */
static int
read_shared(struct redis_store *rs, const struct jm_store_query *q,
    struct jm_facts *f, char *why, size_t whylen)
{
	char		*ck, *ak = NULL, *dk, *mk, **tk;
	const char	**argv = NULL, *w;
	size_t		 ntk = 0, i, argc = 0;
	redisReply	*r = NULL;
	long		 v;
	int		 rc = -1, nreplies, k;

	memset(f, 0, sizeof(*f));
	f->state = q->initial;
	tk = thread_keys(rs, q->thread_keys, q->n_thread_keys, &ntk);
	ck = customer_key(rs, "c:", q->customer);
	dk = customer_key(rs, "ackday:", q->customer);
	mk = mkkey(rs, "ackmin", "", 0, NULL);
	if (q->category != NULL)
		ak = ack_key(rs, q->category, q->customer);
	argv = calloc(ntk + 5, sizeof(*argv));
	if (tk == NULL || ck == NULL || dk == NULL || mk == NULL ||
	    (q->category != NULL && ak == NULL) || argv == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}

	/* A rolled-back message may have left its WATCH behind. */
	redisAppendCommand(rs->rc, "UNWATCH");
	argv[argc++] = "WATCH";
	argv[argc++] = ck;
	argv[argc++] = dk;
	if (ak != NULL)
		argv[argc++] = ak;
	for (i = 0; i < ntk; i++)
		argv[argc++] = tk[i];
	redisAppendCommandArgv(rs->rc, (int)argc, argv, NULL);
	redisAppendCommand(rs->rc, "HMGET %s stage at_risk updated", ck);
	redisAppendCommand(rs->rc, "ZCOUNT %s (%lld +inf", dk,
	    (long long)(q->now - 86400));
	redisAppendCommand(rs->rc, "ZCOUNT %s (%lld +inf", mk,
	    (long long)(q->now - 60));
	nreplies = 5;
	if (ak != NULL) {
		redisAppendCommand(rs->rc, "ZCOUNT %s (%lld +inf", ak,
		    (long long)(q->now - q->ack_interval));
		nreplies++;
	}
	if (ntk > 0) {
		argv[0] = "MGET";
		for (i = 0; i < ntk; i++)
			argv[i + 1] = tk[i];
		redisAppendCommandArgv(rs->rc, (int)ntk + 1, argv, NULL);
		nreplies++;
	}

	for (k = 0; k < nreplies; k++) {
		if (reply(rs, &rs->t.deadline, &r, &w) == -1) {
			snprintf(why, whylen, "%s", w);
			goto out;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			snprintf(why, whylen, "%.*s", (int)r->len, r->str);
			goto out;
		}
		switch (k) {
		case 0:
		case 1:
			break;
		case 2:
			if (r->type != REDIS_REPLY_ARRAY || r->elements != 3)
				goto unexpected;
			rs->t.prev_updated =
			    r->element[2]->type == REDIS_REPLY_STRING ?
			    (time_t)strtoll(r->element[2]->str, NULL, 10) : 0;
			if (r->element[0]->type == REDIS_REPLY_STRING) {
				if (jm_stage_parse(r->element[0]->str,
				    &f->state.stage) == -1) {
					snprintf(why, whylen, "%s holds an "
					    "unknown stage \"%.40s\"", ck,
					    r->element[0]->str);
					goto out;
				}
				f->known = 1;
				f->state.at_risk =
				    r->element[1]->type == REDIS_REPLY_STRING &&
				    strcmp(r->element[1]->str, "1") == 0;
			}
			break;
		case 3:
			if (parse_long(r, &f->acks_day) == -1)
				goto unexpected;
			break;
		case 4:
			if (parse_long(r, &f->acks_minute) == -1)
				goto unexpected;
			break;
		default:
			if (ak != NULL && k == 5) {
				if (parse_long(r, &f->acks_same_category) == -1)
					goto unexpected;
				break;
			}
			if (r->type != REDIS_REPLY_ARRAY || r->elements != ntk)
				goto unexpected;
			for (i = 0; i < ntk; i++)
				if (parse_long(r->element[i], &v) == 0 &&
				    v > (long)(q->now - q->escalation_window))
					f->thread_escalated = 1;
			break;
		}
		freeReplyObject(r);
		r = NULL;
	}
	rc = 0;
	goto out;
unexpected:
	snprintf(why, whylen, "unexpected reply (are other programs writing "
	    "keys under prefix \"%s\"?)", rs->prefix);
out:
	freeReplyObject(r);
	keys_free(tk, ntk);
	free(argv);
	free(ck);
	free(ak);
	free(dk);
	free(mk);
	return rc;
}

/* S cut to KEY_MAX bytes, anything but printable ASCII made '?', in OUT. */
static const char *
printable(const char *s, char out[KEY_MAX + 1])
{
	size_t	i;

	if (s == NULL)
		s = "";
	for (i = 0; i < KEY_MAX && s[i] != '\0'; i++)
		out[i] = (unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
	return out;
}

/*
 * One event of hist:ADDRESS; caller frees with free().  The fields are
 * made printable ASCII first: JSON wants UTF-8, and a hostile Message-ID
 * must not turn into a failed transaction.
 */
static char *
history_json(const struct jm_store_record *r)
{
	json_t	*o;
	char	*s, mid[KEY_MAX + 1], cat[KEY_MAX + 1], ticket[KEY_MAX + 1];

	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:b}",
	    "at", (json_int_t)r->now,
	    "category", printable(r->category, cat),
	    "message_id", printable(r->message_id, mid),
	    "ticket", printable(r->ticket, ticket),
	    "prev", jm_stage_name(r->prev.stage),
	    "prev_at_risk", r->prev.at_risk != 0,
	    "next", jm_stage_name(r->next.stage),
	    "next_at_risk", r->next.at_risk != 0);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/*
 * A member of an acknowledgement set: unique in the fleet, so that none
 * replaces another, and the same whether the daemon wrote it or
 * journeyctl migrate copied it from the outbox, so that a second copy
 * adds nothing: its time, the outbox row's id and this host's name.
 */
static void
ack_member(const struct redis_store *rs, time_t created, long long id,
    char *out, size_t outlen)
{
	snprintf(out, outlen, "%lld.m%lld@%s", (long long)created, id,
	    rs->host);
}

/*
 * Queues the HINCRBYs that keep the stats hash in step with the customer
 * moving from what begin read to R->next; returns how many.
 */
static int
queue_stats(struct redis_store *rs, const char *sk,
    const struct jm_store_record *r)
{
	const struct jm_state	*p = &rs->t.prev, *n = &r->next;
	int			 cmds = 0;

	if (!rs->t.known) {
		redisAppendCommand(rs->rc, "HINCRBY %s customers 1", sk);
		redisAppendCommand(rs->rc, "HINCRBY %s stage:%s 1", sk,
		    jm_stage_name(n->stage));
		cmds += 2;
		if (n->at_risk) {
			redisAppendCommand(rs->rc, "HINCRBY %s at_risk 1", sk);
			cmds++;
		}
		return cmds;
	}
	if (p->stage != n->stage) {
		redisAppendCommand(rs->rc, "HINCRBY %s stage:%s -1", sk,
		    jm_stage_name(p->stage));
		redisAppendCommand(rs->rc, "HINCRBY %s stage:%s 1", sk,
		    jm_stage_name(n->stage));
		cmds += 2;
	}
	if ((p->at_risk != 0) != (n->at_risk != 0)) {
		redisAppendCommand(rs->rc, "HINCRBY %s at_risk %d", sk,
		    n->at_risk ? 1 : -1);
		cmds++;
	}
	return cmds;
}

/* The acknowledgement sets, for one queued acknowledgement of CATEGORY. */
static int
queue_ack(struct redis_store *rs, const struct jm_store_record *r,
    const char *category, long long id, const char *dk, const char *mk)
{
	char	 m[320], *ak;
	long	 iv = rs->t.ack_interval;
	int	 cmds = 0;

	ack_member(rs, r->now, id, m, sizeof(m));
	if (category != NULL && iv > 0) {
		ak = ack_key(rs, category, r->customer);
		if (ak == NULL)
			return -1;
		redisAppendCommand(rs->rc, "ZADD %s %lld %s", ak,
		    (long long)r->now, m);
		redisAppendCommand(rs->rc, "ZREMRANGEBYSCORE %s -inf %lld", ak,
		    (long long)(r->now - iv));
		redisAppendCommand(rs->rc, "EXPIRE %s %ld", ak, iv + TTL_SLACK);
		free(ak);
		cmds += 3;
	}
	redisAppendCommand(rs->rc, "ZADD %s %lld %s", dk, (long long)r->now, m);
	redisAppendCommand(rs->rc, "ZREMRANGEBYSCORE %s -inf %lld", dk,
	    (long long)(r->now - 86400));
	redisAppendCommand(rs->rc, "EXPIRE %s %ld", dk, 86400L + TTL_SLACK);
	redisAppendCommand(rs->rc, "ZADD %s %lld %s", mk, (long long)r->now, m);
	redisAppendCommand(rs->rc, "ZREMRANGEBYSCORE %s -inf %lld", mk,
	    (long long)(r->now - 60));
	redisAppendCommand(rs->rc, "EXPIRE %s %ld", mk, 60L + TTL_SLACK);
	return cmds + 6;
}

/*
 * Writes R in one MULTI/EXEC.  0; 1 when a watched key changed (nothing
 * written); -1 with WHY (the connection is then unusable).
 */
static int
exec_shared(struct redis_store *rs, const struct jm_store_record *r,
    const long long *ids, char *why, size_t whylen)
{
	char		*ck, *hk, *dk, *mk, *sk, *ev, **tk = NULL;
	size_t		 ntk = 0, i;
	long		 outages = rs->pend_outages;
	long		 unshared = rs->pend_unshared;
	redisReply	*x = NULL;
	const char	*w;
	int		 cmds = 0, k, rc = -1, n;
	time_t		 updated;

	ck = customer_key(rs, "c:", r->customer);
	hk = customer_key(rs, "hist:", r->customer);
	dk = customer_key(rs, "ackday:", r->customer);
	mk = mkkey(rs, "ackmin", "", 0, NULL);
	sk = mkkey(rs, "stats", "", 0, NULL);
	ev = history_json(r);
	if (r->escalated && rs->t.escalation_window > 0)
		tk = thread_keys(rs, r->thread_keys, r->n_thread_keys, &ntk);
	if (ck == NULL || hk == NULL || dk == NULL || mk == NULL ||
	    sk == NULL || ev == NULL || (r->escalated &&
	    rs->t.escalation_window > 0 && tk == NULL)) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}

	/*
	 * The shared state's time never goes backwards: a message that
	 * arrived first can commit last (retries, the lock), and a time that
	 * went backwards would let journeyctl migrate take an older local
	 * state for a newer one.
	 */
	updated = r->now;
	if (updated < rs->t.prev_updated)
		updated = rs->t.prev_updated;
	redisAppendCommand(rs->rc, "MULTI");
	if (r->write_state) {
		redisAppendCommand(rs->rc, "HSET %s stage %s at_risk %d "
		    "updated %lld", ck, jm_stage_name(r->next.stage),
		    r->next.at_risk ? 1 : 0, (long long)updated);
		cmds += 1 + queue_stats(rs, sk, r);
	}
	redisAppendCommand(rs->rc, "LPUSH %s %s", hk, ev);
	redisAppendCommand(rs->rc, "LTRIM %s 0 %d", hk, HIST_MAX - 1);
	redisAppendCommand(rs->rc, "HINCRBY %s events 1", sk);
	cmds += 3;
	for (i = 0; r->is_ack && i < r->n_items; i++) {
		const struct jm_outbox_new *it = &r->items[i];

		if (it->kind == NULL || strcmp(it->kind, "smtp") != 0)
			continue;
		n = queue_ack(rs, r, it->category != NULL ? it->category :
		    r->category, ids[i], dk, mk);
		if (n == -1) {
			snprintf(why, whylen, "out of memory");
			/* Dropping the connection discards the MULTI. */
			goto out;
		}
		cmds += n;
	}
	for (i = 0; i < ntk; i++) {
		redisAppendCommand(rs->rc, "SET %s %lld EX %ld", tk[i],
		    (long long)r->now, rs->t.escalation_window + TTL_SLACK);
		cmds++;
	}
	if (outages > 0) {
		redisAppendCommand(rs->rc, "HINCRBY %s outages %ld", sk,
		    outages);
		cmds++;
	}
	if (unshared > 0) {
		redisAppendCommand(rs->rc, "HINCRBY %s unshared %ld", sk,
		    unshared);
		cmds++;
	}
	redisAppendCommand(rs->rc, "EXEC");

	/* +OK, a +QUEUED per command, then EXEC's answer. */
	for (k = 0; k < cmds + 1; k++) {
		if (expect_ok(rs, &rs->t.deadline, why, whylen) == -1)
			goto out;
	}
	if (reply(rs, &rs->t.deadline, &x, &w) == -1) {
		snprintf(why, whylen, "%s", w);
		goto out;
	}
	if (x->type == REDIS_REPLY_NIL) {
		rc = 1;
		goto out;
	}
	if (x->type != REDIS_REPLY_ARRAY) {
		snprintf(why, whylen, "EXEC: %.*s", x->type ==
		    REDIS_REPLY_ERROR ? (int)x->len : 16, x->type ==
		    REDIS_REPLY_ERROR ? x->str : "unexpected reply");
		goto out;
	}
	for (i = 0; i < x->elements; i++) {
		if (x->element[i]->type == REDIS_REPLY_ERROR) {
			snprintf(why, whylen, "EXEC: %.*s",
			    (int)x->element[i]->len, x->element[i]->str);
			goto out;
		}
	}
	rs->pend_outages -= outages;
	rs->pend_unshared -= unshared;
	rc = 0;
out:
	freeReplyObject(x);
	keys_free(tk, ntk);
	free(ck);
	free(hk);
	free(dk);
	free(mk);
	free(sk);
	free(ev);
	return rc;
}

/* The ops. */

/* A retry waits a little, so that two hosts in step fall out of it. */
static void
pause_before_retry(int attempt)
{
	unsigned	r = 0;

	(void)jm_random(&r, sizeof(r));
	usleep((useconds_t)(attempt * (500 + r % 1500)));
}

static void
go_unshared(struct redis_store *rs, struct jm_facts *f, const char *why)
{
	f->unshared = why;
	rs->t.unshared = 1;
	rs->pend_unshared++;
	if (rs->down)
		rs->down_messages++;
}

static int
redis_begin(void *impl, const struct jm_store_query *q, struct jm_facts *f)
{
	struct redis_store *rs = impl;
	struct jm_facts	 shared;
	char		 why[256];

	if (q->attempt > 0 && q->attempt < JM_STORE_ATTEMPTS - 1)
		pause_before_retry(q->attempt);
	pthread_mutex_lock(&rs->lock);
	if (rs->local_ops->begin(rs->local, q, f) == -1) {
		pthread_mutex_unlock(&rs->lock);
		return -1;
	}
	memset(&rs->t, 0, sizeof(rs->t));
	rs->t.ack_interval = q->ack_interval;
	rs->t.escalation_window = q->escalation_window;
	deadline_in(&rs->t.deadline, rs->timeout_ms);
	if (q->attempt >= JM_STORE_ATTEMPTS - 1) {
		go_unshared(rs, f, "redis-contended");
		return 0;
	}
	if (rs->rc == NULL && remaining_ms(&rs->next_try) > 0) {
		go_unshared(rs, f, "redis-down");
		return 0;
	}
	if (connect_redis(rs, &rs->t.deadline, 0, why, sizeof(why)) == -1 ||
	    read_shared(rs, q, &shared, why, sizeof(why)) == -1) {
		outage(rs, why);
		go_unshared(rs, f, "redis-down");
		return 0;
	}
	back(rs);
	*f = shared;
	rs->t.known = shared.known;
	rs->t.prev = shared.state;
	return 0;
}

/* Only the commits of the local store may be left unsynced. */
static int
redis_sync(void *impl, unsigned long long token)
{
	struct redis_store *rs = impl;

	return rs->local_ops->sync != NULL ?
	    rs->local_ops->sync(rs->local, token) : 0;
}

static int
redis_commit(void *impl, const struct jm_store_record *r)
{
	struct redis_store *rs = impl;
	struct jm_store_record lr;
	long long	*ids;
	char		 why[256];
	int		 rc;

	if (rs->t.unshared) {
		/* The state as known is not this host's to change alone. */
		lr = *r;
		lr.write_state = 0;
		rc = rs->local_ops->commit(rs->local, &lr);
		pthread_mutex_unlock(&rs->lock);
		return rc;
	}
	ids = calloc(r->n_items + 1, sizeof(*ids));
	if (ids == NULL || rs->local_ops->prepare(rs->local, r, ids) == -1) {
		if (ids == NULL)
			jm_store_set_error("out of memory");
		free(ids);
		rs->local_ops->rollback(rs->local);
		pthread_mutex_unlock(&rs->lock);
		return -1;
	}
	rc = exec_shared(rs, r, ids, why, sizeof(why));
	free(ids);
	if (rc == 0)
		rc = rs->local_ops->finish(rs->local);
	else {
		if (rc == -1)
			outage(rs, why);
		rs->local_ops->rollback(rs->local);
		rc = JM_STORE_RETRY;
	}
	pthread_mutex_unlock(&rs->lock);
	return rc;
}

static void
redis_rollback(void *impl)
{
	struct redis_store *rs = impl;

	/* The WATCH left on the connection goes with the next UNWATCH. */
	rs->local_ops->rollback(rs->local);
	pthread_mutex_unlock(&rs->lock);
}

static int
redis_claim(void *impl, time_t now, time_t lease_until, size_t max,
    struct jm_outbox_row **rows, size_t *n)
{
	struct redis_store *rs = impl;

	return rs->local_ops->claim(rs->local, now, lease_until, max, rows, n);
}

static int
redis_delivered(void *impl, const long long *ids, size_t n, time_t now)
{
	struct redis_store *rs = impl;

	return rs->local_ops->delivered(rs->local, ids, n, now);
}

static int
redis_retry(void *impl, long long id, time_t next, const char *err)
{
	struct redis_store *rs = impl;

	return rs->local_ops->retry(rs->local, id, next, err);
}

static int
redis_defer(void *impl, long long id, time_t next)
{
	struct redis_store *rs = impl;

	return rs->local_ops->defer(rs->local, id, next);
}

static int
redis_dead(void *impl, long long id, const char *err)
{
	struct redis_store *rs = impl;

	return rs->local_ops->dead(rs->local, id, err);
}

static int
redis_list(void *impl, int which, struct jm_outbox_row **rows, size_t *n)
{
	struct redis_store *rs = impl;

	return rs->local_ops->list(rs->local, which, rows, n);
}

/*
 * The windowed counts, the days and the slowest deliveries come from this
 * host's own events and outbox: each host reports what it handled.
 */
static int
redis_window(void *impl, time_t since, struct jm_store_window *w)
{
	struct redis_store *rs = impl;

	return rs->local_ops->window(rs->local, since, w);
}

static int
redis_daily(void *impl, time_t since, struct jm_store_day **days, size_t *n)
{
	struct redis_store *rs = impl;

	return rs->local_ops->daily(rs->local, since, days, n);
}

static int
redis_slowest(void *impl, time_t since, size_t max,
    struct jm_outbox_row **rows, size_t *n)
{
	struct redis_store *rs = impl;

	return rs->local_ops->slowest(rs->local, since, max, rows, n);
}

static int
redis_requeue(void *impl, long long id, time_t now, long *count)
{
	struct redis_store *rs = impl;

	return rs->local_ops->requeue(rs->local, id, now, count);
}

/*
 * One unit of NAME's budget for this minute, taken in Redis by INCR (and
 * EXPIRE on the first): the hosts share one counter, and whoever finds it
 * past LIMIT waits for the next minute.  Counts past LIMIT are harmless,
 * since everyone is refused until the minute, and the key, goes.  Not in
 * a MULTI: a WATCH left by a rolled-back message must not cancel it.
 */
static const char rate_lua[] =
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end\n"
    "return n\n";

/* PREFIX "rate:" SHA-256(NAME) ":" MINUTE; caller frees with free(). */
static char *
rate_key(const struct redis_store *rs, const char *name, time_t minute)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;
	char		 tail[2 * EVP_MAX_MD_SIZE + 32];

	if (EVP_Digest(name, strlen(name), md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		return NULL;
	for (i = 0; i < mdlen; i++)
		snprintf(tail + 2 * i, 3, "%02x", md[i]);
	snprintf(tail + 2 * mdlen, sizeof(tail) - 2 * mdlen, ":%lld",
	    (long long)minute);
	return mkkey(rs, "rate:", tail, strlen(tail), NULL);
}

static int
redis_rate(void *impl, const char *name, time_t now, long limit)
{
	struct redis_store *rs = impl;
	struct timespec	 dl;
	redisReply	*r = NULL;
	const char	*w;
	char		*key, why[256];
	long long	 n = 0;

	key = rate_key(rs, name, now / 60);
	if (key == NULL) {
		jm_store_set_error("out of memory");
		return -1;
	}
	pthread_mutex_lock(&rs->lock);
	if (rs->rc == NULL && remaining_ms(&rs->next_try) > 0)
		goto alone;
	deadline_in(&dl, rs->timeout_ms);
	if (connect_redis(rs, &dl, 0, why, sizeof(why)) == -1) {
		outage(rs, why);
		goto alone;
	}
	redisAppendCommand(rs->rc, "EVAL %s 1 %s %d", rate_lua, key, 120);
	if (reply(rs, &dl, &r, &w) == -1) {
		outage(rs, w);
		goto alone;
	}
	if (r->type != REDIS_REPLY_INTEGER) {
		snprintf(why, sizeof(why), "rate limit: %.*s",
		    r->type == REDIS_REPLY_ERROR ? (int)r->len : 16,
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		outage(rs, why);
		goto alone;
	}
	back(rs);
	n = r->integer;
	freeReplyObject(r);
	pthread_mutex_unlock(&rs->lock);
	free(key);
	return n <= limit;
alone:
	if (!rs->rate_alone) {
		rs->rate_alone = 1;
		jm_log(LOG_WARNING, "redis %s: rate limits (chat_rate_limit) "
		    "are counted by this host alone until Redis answers",
		    rs->where);
	}
	pthread_mutex_unlock(&rs->lock);
	free(key);
	return rs->local_ops->rate != NULL ?
	    rs->local_ops->rate(rs->local, name, now, limit) : 1;
}

static int
redis_prune(void *impl, time_t threads_before, time_t done_before)
{
	struct redis_store *rs = impl;

	/* Redis forgets its windows by itself (TTLs). */
	return rs->local_ops->prune(rs->local, threads_before, done_before);
}

/*
 * For journeyctl: connects, waiting up to ADMIN_MS, whatever the
 * backoff says.  Called with the lock held; 0, or -1 with the error set.
 */
static int
admin_connect(struct redis_store *rs, struct timespec *deadline)
{
	char	why[256];

	deadline_in(deadline, rs->timeout_ms > ADMIN_MS ?
	    rs->timeout_ms : ADMIN_MS);
	if (connect_redis(rs, deadline, 1, why, sizeof(why)) == -1) {
		drop(rs, why);
		return -1;
	}
	return 0;
}

static int
event_from_json(const char *s, size_t len, struct jm_customer_event *e)
{
	json_t		*o;
	json_int_t	 at = 0;
	const char	*cat = NULL, *mid = NULL, *ticket = NULL;
	const char	*prev = NULL, *next = NULL;
	int		 prisk = 0, nrisk = 0, rc = -1;

	memset(e, 0, sizeof(*e));
	o = json_loadb(s, len, 0, NULL);
	if (o == NULL)
		return -1;
	if (json_unpack(o, "{s:I, s?s, s?s, s?s, s:s, s:b, s:s, s:b}",
	    "at", &at, "category", &cat, "message_id", &mid,
	    "ticket", &ticket, "prev", &prev, "prev_at_risk", &prisk,
	    "next", &next, "next_at_risk", &nrisk) == -1 ||
	    jm_stage_parse(prev, &e->prev.stage) == -1 ||
	    jm_stage_parse(next, &e->next.stage) == -1)
		goto out;
	e->at = (time_t)at;
	e->prev.at_risk = prisk;
	e->next.at_risk = nrisk;
	e->category = strdup(cat != NULL ? cat : "");
	e->message_id = strdup(mid != NULL ? mid : "");
	e->ticket = strdup(ticket != NULL ? ticket : "");
	if (e->category != NULL && e->message_id != NULL && e->ticket != NULL)
		rc = 0;
out:
	json_decref(o);
	return rc;
}

static int
redis_customer(void *impl, const char *address, size_t max_events,
    struct jm_customer **out)
{
	struct redis_store *rs = impl;
	struct jm_customer *c = NULL;
	struct timespec	 dl;
	redisReply	*h = NULL, *l = NULL;
	char		*ck, *hk, why[256];
	const char	*w;
	size_t		 i;
	long		 v;
	int		 ret = -1;

	*out = NULL;
	ck = customer_key(rs, "c:", address);
	hk = customer_key(rs, "hist:", address);
	c = calloc(1, sizeof(*c));
	if (c != NULL)
		c->address = strdup(address);
	if (ck == NULL || hk == NULL || c == NULL || c->address == NULL) {
		jm_store_set_error("out of memory");
		goto done;
	}
	pthread_mutex_lock(&rs->lock);
	if (admin_connect(rs, &dl) == -1)
		goto unlock;
	redisAppendCommand(rs->rc, "HMGET %s stage at_risk updated", ck);
	redisAppendCommand(rs->rc, "LRANGE %s 0 %ld", hk,
	    max_events > 0 ? (long)max_events - 1 : 0L);
	if (reply(rs, &dl, &h, &w) == -1 || reply(rs, &dl, &l, &w) == -1) {
		drop(rs, w);
		goto unlock;
	}
	if (h->type != REDIS_REPLY_ARRAY || h->elements != 3 ||
	    l->type != REDIS_REPLY_ARRAY) {
		snprintf(why, sizeof(why), "unexpected reply for %s", ck);
		drop(rs, why);
		goto unlock;
	}
	if (h->element[0]->type != REDIS_REPLY_STRING) {
		ret = 1;
		goto unlock;
	}
	if (jm_stage_parse(h->element[0]->str, &c->state.stage) == -1) {
		jm_store_set_error("redis %s: %s holds an unknown stage "
		    "\"%.40s\"", rs->where, ck, h->element[0]->str);
		goto unlock;
	}
	c->state.at_risk = h->element[1]->type == REDIS_REPLY_STRING &&
	    strcmp(h->element[1]->str, "1") == 0;
	if (parse_long(h->element[2], &v) == 0)
		c->updated = (time_t)v;
	if (max_events > 0 && l->elements > 0) {
		c->events = calloc(l->elements, sizeof(*c->events));
		if (c->events == NULL) {
			jm_store_set_error("out of memory");
			goto unlock;
		}
		for (i = 0; i < l->elements; i++) {
			if (l->element[i]->type != REDIS_REPLY_STRING ||
			    event_from_json(l->element[i]->str,
			    l->element[i]->len, &c->events[i]) == -1) {
				/* What was filled in is freed with the rest. */
				c->n_events = i + 1;
				jm_store_set_error("redis %s: %s: event %zu is "
				    "not readable", rs->where, hk, i + 1);
				goto unlock;
			}
			c->n_events = i + 1;
		}
	}
	ret = 0;
unlock:
	pthread_mutex_unlock(&rs->lock);
done:
	freeReplyObject(h);
	freeReplyObject(l);
	free(ck);
	free(hk);
	if (ret == 0)
		*out = c;
	else
		jm_customer_free(c);
	return ret;
}

static int
redis_stats(void *impl, struct jm_store_stats *st)
{
	struct redis_store *rs = impl;
	struct timespec	 dl;
	redisReply	*h = NULL;
	const char	*w, *f;
	char		*sk;
	enum jm_stage	 stage;
	size_t		 i;
	long		 v;
	int		 rc = -1;

	if (rs->local_ops->stats(rs->local, st) == -1)
		return -1;
	st->customers = st->at_risk = st->events = 0;
	memset(st->stage, 0, sizeof(st->stage));
	st->shared = 1;
	sk = mkkey(rs, "stats", "", 0, NULL);
	if (sk == NULL) {
		jm_store_set_error("out of memory");
		return -1;
	}
	pthread_mutex_lock(&rs->lock);
	if (admin_connect(rs, &dl) == -1)
		goto unlock;
	redisAppendCommand(rs->rc, "HGETALL %s", sk);
	if (reply(rs, &dl, &h, &w) == -1) {
		drop(rs, w);
		goto unlock;
	}
	if (h->type != REDIS_REPLY_ARRAY) {
		drop(rs, "unexpected reply to HGETALL");
		goto unlock;
	}
	for (i = 0; i + 1 < h->elements; i += 2) {
		if (h->element[i]->type != REDIS_REPLY_STRING ||
		    parse_long(h->element[i + 1], &v) == -1)
			continue;
		f = h->element[i]->str;
		if (strcmp(f, "customers") == 0)
			st->customers = v;
		else if (strcmp(f, "at_risk") == 0)
			st->at_risk = v;
		else if (strcmp(f, "events") == 0)
			st->events = v;
		else if (strcmp(f, "outages") == 0)
			st->outages = v;
		else if (strcmp(f, "unshared") == 0)
			st->unshared = v;
		else if (strncmp(f, "stage:", 6) == 0 &&
		    jm_stage_parse(f + 6, &stage) == 0)
			st->stage[stage] = v;
	}
	rc = 0;
unlock:
	pthread_mutex_unlock(&rs->lock);
	freeReplyObject(h);
	free(sk);
	return rc;
}

/*
 * Copies one customer unless Redis knows a newer state, and keeps the
 * stats hash in step, atomically: a running daemon may write the same
 * customer meanwhile (its WATCH then sees the change and it retries).
 */
static const char migrate_lua[] =
    "local c = redis.call('HMGET', KEYS[1], 'stage', 'at_risk', 'updated')\n"
    "if c[1] and tonumber(c[3] or '0') >= tonumber(ARGV[3]) then\n"
    "  return 0\n"
    "end\n"
    "if c[1] then\n"
    "  redis.call('HINCRBY', KEYS[2], 'stage:' .. c[1], -1)\n"
    "  if c[2] == '1' then redis.call('HINCRBY', KEYS[2], 'at_risk', -1) end\n"
    "else\n"
    "  redis.call('HINCRBY', KEYS[2], 'customers', 1)\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'stage', ARGV[1], 'at_risk', ARGV[2],\n"
    "  'updated', ARGV[3])\n"
    "redis.call('HINCRBY', KEYS[2], 'stage:' .. ARGV[1], 1)\n"
    "if ARGV[2] == '1' then redis.call('HINCRBY', KEYS[2], 'at_risk', 1) end\n"
    "return 1\n";

/*
 * Adds one acknowledgement of this host's to the windows it is still
 * inside: KEYS are the sets (ack:CATEGORY:ADDRESS when it has a category,
 * ackday:ADDRESS, ackmin), ARGV its time, its member and, per key, the
 * seconds that key must still live for it (0: outside that window).  A
 * key's TTL only ever grows, so that the daemons' own members keep theirs.
 * Returns 1 when the acknowledgement was not there yet.
 */
static const char migrate_ack_lua[] =
    "local added = 0\n"
    "for i, k in ipairs(KEYS) do\n"
    "  local ttl = tonumber(ARGV[2 + i])\n"
    "  if ttl > 0 then\n"
    "    added = added + redis.call('ZADD', k, ARGV[1], ARGV[2])\n"
    "    if redis.call('TTL', k) < ttl then\n"
    "      redis.call('EXPIRE', k, ttl)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return added > 0 and 1 or 0\n";

/*
 * Records that thread KEYS[1] was escalated at ARGV[1], for ARGV[2]
 * seconds, unless it was escalated later already.  1 when written.
 */
static const char migrate_thread_lua[] =
    "local t = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "if t >= tonumber(ARGV[1]) then return 0 end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])\n"
    "return 1\n";

struct migration {
	struct redis_store *rs;
	struct timespec	 deadline;
	const char	*sk;
	time_t		 now;
	struct jm_store_migration *m;
};

/* Sends the command queued and reads its integer reply; -1 with error. */
static int
migrate_call(struct migration *m, const char *what, long long *out)
{
	struct redis_store *rs = m->rs;
	redisReply	*r;
	const char	*w;

	deadline_in(&m->deadline, ADMIN_MS);
	if (reply(rs, &m->deadline, &r, &w) == -1) {
		drop(rs, w);
		return -1;
	}
	if (r->type != REDIS_REPLY_INTEGER) {
		jm_store_set_error("redis %s: migrating %s: %.*s", rs->where,
		    what, r->type == REDIS_REPLY_ERROR ? (int)r->len : 16,
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return -1;
	}
	*out = r->integer;
	freeReplyObject(r);
	return 0;
}

static int
migrate_one(void *arg, const char *address, const struct jm_state *st,
    time_t updated)
{
	struct migration *m = arg;
	struct redis_store *rs = m->rs;
	long long	 n;
	char		*ck;

	if (address == NULL)
		return 0;
	ck = customer_key(rs, "c:", address);
	if (ck == NULL) {
		jm_store_set_error("out of memory");
		return -1;
	}
	redisAppendCommand(rs->rc, "EVAL %s 2 %s %s %s %d %lld", migrate_lua,
	    ck, m->sk, jm_stage_name(st->stage), st->at_risk ? 1 : 0,
	    (long long)updated);
	free(ck);
	if (migrate_call(m, address, &n) == -1)
		return -1;
	if (n == 1)
		m->m->copied++;
	else
		m->m->kept++;
	return 0;
}

/* Seconds a window of LENGTH keeps a member of time AT, seen at NOW. */
static long
window_left(time_t at, long length, time_t now)
{
	long	left = (long)(at + length - now);

	return length > 0 && left > 0 ? left + TTL_SLACK : 0;
}

static int
migrate_ack(void *arg, long long id, const char *customer,
    const char *category, time_t created)
{
	struct migration *m = arg;
	struct redis_store *rs = m->rs;
	const char	*argv[3 + 3 + 2 + 3];
	char		*key[3] = { NULL, NULL, NULL }, member[320];
	char		 nkeys[8], at[24], ttl[3][24];
	long		 left[3];
	long long	 n;
	int		 argc, k = 0, i, rc = -1;

	if (customer == NULL || customer[0] == '\0')
		return 0;
	if (category != NULL && category[0] != '\0') {
		left[k] = window_left(created, rs->ack_interval, m->now);
		key[k++] = ack_key(rs, category, customer);
	}
	left[k] = window_left(created, 86400, m->now);
	key[k++] = customer_key(rs, "ackday:", customer);
	left[k] = window_left(created, 60, m->now);
	key[k++] = mkkey(rs, "ackmin", "", 0, NULL);
	for (i = 0; i < k; i++) {
		if (key[i] == NULL) {
			jm_store_set_error("out of memory");
			goto out;
		}
	}
	ack_member(rs, created, id, member, sizeof(member));
	snprintf(nkeys, sizeof(nkeys), "%d", k);
	snprintf(at, sizeof(at), "%lld", (long long)created);
	argc = 0;
	argv[argc++] = "EVAL";
	argv[argc++] = migrate_ack_lua;
	argv[argc++] = nkeys;
	for (i = 0; i < k; i++)
		argv[argc++] = key[i];
	argv[argc++] = at;
	argv[argc++] = member;
	for (i = 0; i < k; i++) {
		snprintf(ttl[i], sizeof(ttl[i]), "%ld", left[i]);
		argv[argc++] = ttl[i];
	}
	redisAppendCommandArgv(rs->rc, argc, argv, NULL);
	if (migrate_call(m, customer, &n) == -1)
		goto out;
	if (n == 1)
		m->m->acks++;
	rc = 0;
out:
	for (i = 0; i < k; i++)
		free(key[i]);
	return rc;
}

static int
migrate_thread(void *arg, const char *key, time_t created)
{
	struct migration *m = arg;
	struct redis_store *rs = m->rs;
	long long	 n;
	long		 ttl;
	char		*tk;

	ttl = window_left(created, rs->escalation_window, m->now);
	if (key == NULL || key[0] == '\0' || ttl == 0)
		return 0;
	tk = mkkey(rs, "thread:", key, strnlen(key, KEY_MAX), NULL);
	if (tk == NULL) {
		jm_store_set_error("out of memory");
		return -1;
	}
	redisAppendCommand(rs->rc, "EVAL %s 1 %s %lld %ld", migrate_thread_lua,
	    tk, (long long)created, ttl);
	free(tk);
	if (migrate_call(m, "a thread", &n) == -1)
		return -1;
	if (n == 1)
		m->m->threads++;
	return 0;
}

static int
redis_migrate(void *impl, time_t now, struct jm_store_migration *out)
{
	struct redis_store *rs = impl;
	struct migration m;
	long		 widest = rs->ack_interval > 86400 ?
			    rs->ack_interval : 86400;
	char		*sk;
	int		 rc = -1;

	sk = mkkey(rs, "stats", "", 0, NULL);
	if (sk == NULL) {
		jm_store_set_error("out of memory");
		return -1;
	}
	memset(&m, 0, sizeof(m));
	m.rs = rs;
	m.sk = sk;
	m.now = now;
	m.m = out;
	pthread_mutex_lock(&rs->lock);
	if (admin_connect(rs, &m.deadline) == 0 &&
	    rs->local_ops->customers(rs->local, migrate_one, &m) == 0 &&
	    rs->local_ops->acks(rs->local, now - widest, migrate_ack,
	    &m) == 0 &&
	    (rs->escalation_window <= 0 ||
	    rs->local_ops->threads(rs->local, now - rs->escalation_window,
	    migrate_thread, &m) == 0))
		rc = 0;
	pthread_mutex_unlock(&rs->lock);
	free(sk);
	return rc;
}

static void
redis_close(void *impl)
{
	struct redis_store *rs = impl;

	if (rs == NULL)
		return;
	if (rs->local != NULL)
		rs->local_ops->close(rs->local);
	disconnect(rs);
	SSL_CTX_free(rs->tls_ctx);
	free(rs->user);
	if (rs->password != NULL) {
		explicit_bzero(rs->password, strlen(rs->password));
		free(rs->password);
	}
	free(rs->prefix);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

/* Reads the first line of PATH into a new string; NULL with ERR. */
static char *
read_password(const char *path, char *err, size_t errlen)
{
	FILE	*fp;
	char	 buf[PASSWORD_MAX + 2], *p;
	size_t	 n;

	fp = fopen(path, "r");
	if (fp == NULL) {
		snprintf(err, errlen, "redis_password_file %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fgets(buf, sizeof(buf), fp) == NULL)
		buf[0] = '\0';
	fclose(fp);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (n == 0 || n > PASSWORD_MAX) {
		snprintf(err, errlen, "redis_password_file %s: %s", path,
		    n == 0 ? "empty" : "longer than 1024 bytes");
		explicit_bzero(buf, sizeof(buf));
		return NULL;
	}
	p = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (p == NULL)
		snprintf(err, errlen, "out of memory");
	return p;
}

/* HOST to a numeric address, once, so that no lookup hides in a callback. */
static int
resolve(const char *host, char *out, size_t outlen, char *err,
    size_t errlen)
{
	struct addrinfo	 hints, *res;
	const void	*a;
	int		 e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	e = getaddrinfo(host, NULL, &hints, &res);
	if (e != 0) {
		snprintf(err, errlen, "redis host \"%s\": %s", host,
		    gai_strerror(e));
		return -1;
	}
	if (res->ai_family == AF_INET6)
		a = &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
	else
		a = &((struct sockaddr_in *)res->ai_addr)->sin_addr;
	if (inet_ntop(res->ai_family, a, out, (socklen_t)outlen) == NULL) {
		snprintf(err, errlen, "redis host \"%s\": %s", host,
		    strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}

int
jm_store_redis_open(const struct jm_conf *conf,
    const struct jm_store_ops *local_ops, void *local, void **impl,
    char *err, size_t errlen)
{
	struct redis_store *rs;
	struct jm_redis_url u;
	struct timespec	 dl;
	unsigned char	 a[sizeof(struct in6_addr)];
	const char	*name;
	char		 why[256];

	*impl = NULL;
	if (local_ops->prepare == NULL || local_ops->finish == NULL ||
	    local_ops->customers == NULL || local_ops->acks == NULL ||
	    local_ops->threads == NULL) {
		snprintf(err, errlen, "the %s store cannot keep the outbox "
		    "beside Redis", local_ops->name);
		return -1;
	}
	if (jm_redis_url_parse(conf->state, &u, err, errlen) == -1)
		return -1;
	rs = calloc(1, sizeof(*rs));
	if (rs == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pthread_mutex_init(&rs->lock, NULL) != 0) {
		free(rs);
		snprintf(err, errlen, "cannot create a mutex");
		return -1;
	}
	rs->local_ops = local_ops;
	rs->port = u.port;
	rs->db = u.db;
	rs->timeout_ms = conf->redis_timeout;
	rs->ack_interval = conf->ack_interval;
	rs->escalation_window = conf->escalation_window;
	if (gethostname(rs->host, sizeof(rs->host) - 1) == -1 ||
	    rs->host[0] == '\0')
		snprintf(rs->host, sizeof(rs->host), "localhost");
	rs->send_when_down = conf->redis_down == JM_REDIS_DOWN_SEND;
	snprintf(rs->where, sizeof(rs->where), "%s:%d/%d%s", u.host, u.port,
	    u.db, u.tls ? " (TLS)" : "");
	rs->prefix = strdup(conf->redis_key_prefix != NULL ?
	    conf->redis_key_prefix : "");
	if (u.user[0] != '\0')
		rs->user = strdup(u.user);
	if (rs->prefix == NULL || (u.user[0] != '\0' && rs->user == NULL)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (conf->redis_password_file != NULL &&
	    conf->redis_password_file[0] != '\0') {
		rs->password = read_password(conf->redis_password_file, err,
		    errlen);
		if (rs->password == NULL)
			goto fail;
	} else if (u.password[0] != '\0') {
		rs->password = strdup(u.password);
		if (rs->password == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	explicit_bzero(u.password, sizeof(u.password));
	if (tls_context(conf, &u, &rs->tls_ctx, err, errlen) == -1)
		goto fail;
	if (rs->tls_ctx != NULL) {
		name = conf->redis_tls_server_name != NULL &&
		    conf->redis_tls_server_name[0] != '\0' ?
		    conf->redis_tls_server_name : u.host;
		snprintf(rs->tls_name, sizeof(rs->tls_name), "%s", name);
		/* RFC 6066: a server name, never an address. */
		if (inet_pton(AF_INET, name, a) != 1 &&
		    inet_pton(AF_INET6, name, a) != 1)
			snprintf(rs->tls_sni, sizeof(rs->tls_sni), "%s", name);
		rs->tls_verify = conf->redis_tls_verify;
		rs->tls_client_cert = conf->redis_tls_cert_file != NULL &&
		    conf->redis_tls_cert_file[0] != '\0';
	}
	if (resolve(u.host, rs->addr, sizeof(rs->addr), err, errlen) == -1)
		goto fail;

	/* One try now; if Redis is away, the first message tries again. */
	deadline_in(&dl, rs->timeout_ms);
	if (connect_redis(rs, &dl, 1, why, sizeof(why)) == -1)
		jm_store_set_error("redis %s: %s", rs->where, why);
	rs->local = local;
	*impl = rs;
	return 0;
fail:
	explicit_bzero(u.password, sizeof(u.password));
	redis_close(rs);
	return -1;
}

int
jm_store_redis_check(const struct jm_conf *conf, char *err, size_t errlen)
{
	struct jm_redis_url u;
	SSL_CTX		*ctx = NULL;
	char		*pw;
	int		 rc;

	if (jm_redis_url_parse(conf->state, &u, err, errlen) == -1)
		return -1;
	explicit_bzero(u.password, sizeof(u.password));
	if (conf->redis_password_file != NULL &&
	    conf->redis_password_file[0] != '\0') {
		pw = read_password(conf->redis_password_file, err, errlen);
		if (pw == NULL)
			return -1;
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
	rc = tls_context(conf, &u, &ctx, err, errlen);
	SSL_CTX_free(ctx);
	return rc;
}

const struct jm_store_ops jm_store_redis_ops = {
	.name = "redis",
	.begin = redis_begin,
	.sync = redis_sync,
	.commit = redis_commit,
	.rollback = redis_rollback,
	.claim = redis_claim,
	.delivered = redis_delivered,
	.retry = redis_retry,
	.defer = redis_defer,
	.dead = redis_dead,
	.list = redis_list,
	.requeue = redis_requeue,
	.customer = redis_customer,
	.stats = redis_stats,
	.window = redis_window,
	.daily = redis_daily,
	.slowest = redis_slowest,
	.prune = redis_prune,
	.close = redis_close,
	.prepare = NULL,
	.finish = NULL,
	.customers = NULL,
	.acks = NULL,
	.threads = NULL,
	.migrate = redis_migrate,
	.rate = redis_rate,
};
