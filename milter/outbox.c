/*
 * outbox.c: the thread that delivers the durable outbox.
 *
 * It exists so that the milter never waits on the network: a message's
 * events are rows in the store before Postfix hears back, and this one
 * thread sends them, many at once through one libcurl multi handle (so
 * connections to the same receiver are reused), retrying with backoff
 * until each row is delivered or dead-lettered.  Rows are claimed with a
 * lease in the store rather than marked in memory, so that a crash in the
 * middle of an attempt delays that row by the lease and loses nothing.
 * Delivery is at least once: a receiver deduplicates by webhook-id.
 *
 * A receiver is untrusted: redirects are not followed, a response is read
 * up to 64 KiB and no further, every attempt has a deadline, and whatever
 * comes back (garbage, a reset, silence) is an outcome, never a crash.
 * The thread sleeps in curl_multi_poll(), which jm_outbox_wake() interrupts
 * with curl_multi_wakeup(), so there is one wait and no extra pipe.
 *
 * Deliberately not here: what the payloads say (webhook.c, chat.c, ack.c)
 * and what is queued (the decision); this file only moves bytes.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "journey/chat.h"
#include "journey/log.h"
#include "journey/outbox.h"
#include "journey/webhook.h"
#include "journey/util.h"

#define LEASE_SLACK	30	/* seconds past webhook_timeout a claim lasts */
#define IDLE_POLL_MS	1000	/* look for due retries this often */
#define PRUNE_EVERY	3600
#define SECRET_MAX	4096
#define USER_AGENT	"journey-milter/" PACKAGE_VERSION

/* What the thread keeps of the configuration: it may be reloaded. */
struct settings {
	long		 timeout;
	long		 retry_min;
	long		 max_age;
	int		 tls_verify;
	long		 chat_rate;	/* chat_rate_limit */
	struct jm_chat_target *chat;	/* for their own rate= */
	size_t		 n_chat;
	long		 keep_done;	/* delivered rows are kept this long */
	long		 escalation_window;
	char		*smtp_url;
	char		*smtp_user;
	char		*smtp_password;
	char		*envelope_sender;
	unsigned char	*secret;
	size_t		 secret_len;
};

struct xfer {
	struct jm_outbox_row *row;	/* one row, ours */
	CURL		*easy;
	struct curl_slist *headers;
	struct curl_slist *rcpt;
	char		 errbuf[CURL_ERROR_SIZE];
	char		 what[320];	/* "webhook https://host/path" */
	size_t		 body_bytes;
	int		 body_capped;
	long		 retry_after;	/* seconds, or -1 */
	size_t		 upload_off;
};

enum verdict {
	V_DONE,
	V_RETRY,
	V_DEAD
};

static struct {
	pthread_mutex_t	 lock;		/* guards multi against stop and wake */
	int		 running;
	int		 stopping;
	int		 woken;
	pthread_t	 thread;
	CURLM		*multi;
	struct jm_store	*store;
	struct settings	 set;
	struct xfer	*inflight[JM_OUTBOX_PARALLEL];
	size_t		 n_inflight;
	int		 store_failing;
	long long	 done[JM_OUTBOX_PARALLEL]; /* delivered, to be marked */
	size_t		 n_done;
} ob = { .lock = PTHREAD_MUTEX_INITIALIZER };

long
jm_outbox_backoff(long min_interval, long attempt, double u)
{
	double	d = (double)min_interval, cap = JM_OUTBOX_BACKOFF_MAX;
	long	i, r;

	if (cap < d)
		cap = d;
	for (i = 1; i < attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	if (u < 0 || u >= 1)
		u = 0.5;
	r = lround(d * (0.8 + 0.4 * u));
	return r < 1 ? 1 : r;
}

int
jm_outbox_retry_after(const char *value, time_t now, long *seconds)
{
	const char	*p = value;
	char		*end;
	long		 v;
	time_t		 t;

	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char)*p)) {
		errno = 0;
		v = strtol(p, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' ||
		    *end == '\n')
			end++;
		if (errno != 0 || *end != '\0' || v < 0)
			return -1;
		*seconds = v;
		return 0;
	}
	t = curl_getdate(p, NULL);
	if (t == -1)
		return -1;
	*seconds = t > now ? (long)(t - now) : 0;
	return 0;
}

static double
jitter(void)
{
	uint32_t	r;

	if (jm_random(&r, sizeof(r)) == -1)
		return 0.5;
	return (double)r / 4294967296.0;
}

/*
 * Names a row for the log without its secrets: webhook URLs lose their
 * user, password and query; chat URLs (Slack, Discord and Teams put the
 * token in the path) keep only scheme, host and port.
 */
static void
describe(const struct jm_outbox_row *r, const char *smtp_url, char *out,
    size_t outlen)
{
	CURLU	*u;
	char	*scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	int	 smtp = strcmp(r->kind, "smtp") == 0;

	u = curl_url();
	if (u == NULL || curl_url_set(u, CURLUPART_URL,
	    smtp ? smtp_url : r->target, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(out, outlen, "%s (bad URL)", r->kind);
		goto out;
	}
	(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
	(void)curl_url_get(u, CURLUPART_PATH, &path, 0);
	if (smtp)
		snprintf(out, outlen, "ack to <%.200s> via %s://%s%s%s",
		    r->target, scheme, host, port != NULL ? ":" : "",
		    port != NULL ? port : "");
	else
		snprintf(out, outlen, "%s %s://%s%s%s%s", r->kind, scheme, host,
		    port != NULL ? ":" : "", port != NULL ? port : "",
		    strcmp(r->kind, "webhook") != 0 ? "/..." :
		    path != NULL ? path : "");
out:
	/* The target came from a message: no line breaks into the log. */
	for (; *out != '\0'; out++)
		if ((unsigned char)*out < ' ' || *out == 0x7f)
			*out = '?';
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb;

	(void)ptr;
	x->body_bytes += n;
	if (x->body_bytes > JM_OUTBOX_BODY_MAX) {
		x->body_capped = 1;
		return 0;	/* libcurl aborts with CURLE_WRITE_ERROR */
	}
	return n;
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb;
	char		 value[128];
	long		 secs;

	/* A new status line: an earlier 1xx said nothing about retrying. */
	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0)
		x->retry_after = -1;
	if (n > 12 && n < 12 + sizeof(value) &&
	    jm_strcaseprefix(ptr, "retry-after:")) {
		memcpy(value, ptr + 12, n - 12);
		value[n - 12] = '\0';
		if (jm_outbox_retry_after(value, time(NULL), &secs) == 0)
			x->retry_after = secs;
	}
	return n;
}

static size_t
on_upload(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb, left;

	left = x->row->payload_len - x->upload_off;
	if (n > left)
		n = left;
	memcpy(buf, x->row->payload + x->upload_off, n);
	x->upload_off += n;
	return n;
}

/* An address libcurl may put between angle brackets in an SMTP command. */
static int
smtp_address_ok(const char *a)
{
	const unsigned char *p;

	if (*a == '\0' || strlen(a) > 254 || strchr(a, '@') == NULL)
		return 0;
	for (p = (const unsigned char *)a; *p != '\0'; p++)
		if (*p <= ' ' || *p == '<' || *p == '>' || *p == 0x7f)
			return 0;
	return 1;
}

/* Adds "NAME: VALUE", or with VALUE NULL "NAME:", which drops the header. */
static int
add_header(struct xfer *x, const char *name, const char *value)
{
	struct curl_slist *l;
	char	line[512];

	if (value != NULL)
		snprintf(line, sizeof(line), "%s: %s", name, value);
	else
		snprintf(line, sizeof(line), "%s:", name);
	l = curl_slist_append(x->headers, line);
	if (l == NULL)
		return -1;
	x->headers = l;
	return 0;
}

static int
setup_http(struct xfer *x, int sign)
{
	const struct settings *st = &ob.set;
	char	 id[64], ts[32], sig[JM_WEBHOOK_SIG_LEN];
	time_t	 now = time(NULL);
	CURL	*e = x->easy;

	if (x->row->event_id[0] != '\0')
		snprintf(id, sizeof(id), "%s", x->row->event_id);
	else
		snprintf(id, sizeof(id), "row_%lld", x->row->id);
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	/* No "Expect: 100-continue": it costs a round trip or a second. */
	if (add_header(x, "Content-Type", "application/json") == -1 ||
	    add_header(x, "Expect", NULL) == -1)
		return -1;
	if (sign) {
		if (add_header(x, "webhook-id", id) == -1 ||
		    add_header(x, "webhook-timestamp", ts) == -1)
			return -1;
		if (st->secret != NULL) {
			if (jm_webhook_sign(st->secret, st->secret_len, id,
			    (long)now, (const char *)x->row->payload,
			    x->row->payload_len, sig, sizeof(sig)) == -1 ||
			    add_header(x, "webhook-signature", sig) == -1)
				return -1;
		}
	}
	if (curl_easy_setopt(e, CURLOPT_URL, x->row->target) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->row->payload) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)x->row->payload_len) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERDATA, x) != CURLE_OK)
		return -1;
	return 0;
}

static int
setup_smtp(struct xfer *x)
{
	const struct settings *st = &ob.set;
	char	 rcpt[300], from[300];
	CURL	*e = x->easy;

	snprintf(rcpt, sizeof(rcpt), "<%s>", x->row->target);
	x->rcpt = curl_slist_append(NULL, rcpt);
	if (x->rcpt == NULL)
		return -1;
	/* The null sender: an acknowledgement must never be answered. */
	snprintf(from, sizeof(from), "<%s>", st->envelope_sender);
	if (curl_easy_setopt(e, CURLOPT_URL, st->smtp_url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAIL_FROM, from) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, x->rcpt) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_upload) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_READDATA, x) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)x->row->payload_len) != CURLE_OK ||
	    /*
	     * An acknowledgement is a few kB.  libcurl's default upload
	     * buffer (64 kB, and twice that to escape dots for SMTP) is
	     * mapped and unmapped for every message, and each unmapping
	     * interrupts the other CPUs; its smallest is plenty.
	     */
	    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 16384L) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USE_SSL, st->smtp_user[0] != '\0' ?
	    (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY) != CURLE_OK)
		return -1;
	if (st->smtp_user[0] != '\0' &&
	    (curl_easy_setopt(e, CURLOPT_USERNAME, st->smtp_user) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PASSWORD, st->smtp_password != NULL ?
	    st->smtp_password : "") != CURLE_OK))
		return -1;
	return 0;
}

static void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	curl_slist_free_all(x->rcpt);
	jm_outbox_rows_free(x->row, 1);
	free(x);
}

static void
store_trouble(const char *what)
{
	if (!ob.store_failing)
		jm_log(LOG_ERR, "outbox: %s: %s; deliveries wait until the "
		    "store works again", what, jm_store_last_error());
	ob.store_failing = 1;
}

static void
store_ok(void)
{
	if (ob.store_failing)
		jm_log(LOG_NOTICE, "outbox: the store works again");
	ob.store_failing = 0;
}

static void
finish_dead(struct xfer *x, const char *reason, int aged)
{
	char	age[32];

	if (jm_store_dead(ob.store, x->row->id, reason) == -1)
		store_trouble("cannot dead-letter a row");
	if (aged) {
		jm_duration((long)(time(NULL) - x->row->retry_from), age,
		    sizeof(age));
		jm_log(LOG_ERR, "outbox %lld: %s: dead-lettered after %s and "
		    "%ld attempt%s: %s; \"journeyctl retry %lld\" requeues it",
		    x->row->id, x->what, age, x->row->attempts + 1,
		    x->row->attempts == 0 ? "" : "s", reason, x->row->id);
	} else
		jm_log(LOG_ERR, "outbox %lld: %s: %s, dead-lettered (retrying "
		    "cannot help; fix the receiver or the configuration, then "
		    "\"journeyctl retry %lld\")", x->row->id, x->what, reason,
		    x->row->id);
}

static void
finish_retry(struct xfer *x, const char *reason)
{
	const struct settings *st = &ob.set;
	time_t	 now = time(NULL), next, deadline;
	long	 attempt = x->row->attempts + 1, delay;
	char	 when[32];

	if (now - x->row->retry_from >= st->max_age) {
		finish_dead(x, reason, 1);
		return;
	}
	delay = jm_outbox_backoff(st->retry_min, attempt, jitter());
	if (x->retry_after >= 0 && x->retry_after > delay)
		delay = x->retry_after;	/* Retry-After is a floor */
	/*
	 * The due time is kept in whole seconds of a truncated clock: without
	 * the extra second, a look for due rows just after the next second
	 * begins could retry up to a second sooner than the backoff, or the
	 * receiver's Retry-After, asked.
	 */
	next = now + delay + 1;
	/* One last attempt at the deadline rather than none after it. */
	deadline = x->row->retry_from + st->max_age;
	if (next > deadline)
		next = deadline > now ? deadline : now + 1;
	if (jm_store_retry(ob.store, x->row->id, next, reason) == -1)
		store_trouble("cannot schedule a retry");
	jm_duration((long)(next - now), when, sizeof(when));
	jm_log(LOG_WARNING, "outbox %lld: %s: %s, retry %ld in %s",
	    x->row->id, x->what, reason, attempt, when);
}

static enum verdict
http_verdict(long code, char *why, size_t whylen)
{
	if (code >= 200 && code < 300)
		return V_DONE;
	if (code >= 300 && code < 400) {
		snprintf(why, whylen, "HTTP %ld, redirect not followed", code);
		return V_DEAD;
	}
	snprintf(why, whylen, "HTTP %ld", code);
	if (code == 408 || code == 429 || code >= 500 || code < 200)
		return V_RETRY;
	return V_DEAD;
}

static enum verdict
classify(struct xfer *x, CURLcode rc, char *why, size_t whylen)
{
	long	 code = 0;
	int	 smtp = strcmp(x->row->kind, "smtp") == 0;
	const char *msg = x->errbuf[0] != '\0' ? x->errbuf :
	    curl_easy_strerror(rc);

	(void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (smtp) {
		if (rc == CURLE_OK)
			return V_DONE;
		if (code >= 500 && code < 600) {
			snprintf(why, whylen, "SMTP %ld: %s", code, msg);
			return V_DEAD;
		}
		if (code != 0)
			snprintf(why, whylen, "SMTP %ld: %s", code, msg);
		else
			snprintf(why, whylen, "%s", msg);
		return V_RETRY;
	}
	if (rc == CURLE_OK)
		return http_verdict(code, why, whylen);
	if (rc == CURLE_WRITE_ERROR && x->body_capped) {
		/* The status came before the body: it is the answer. */
		if (code >= 200 && code < 300)
			return V_DONE;
		if (code != 0) {
			enum verdict v = http_verdict(code, why, whylen);

			snprintf(why + strlen(why), whylen - strlen(why),
			    " (response over %d KiB cut off)",
			    JM_OUTBOX_BODY_MAX / 1024);
			return v;
		}
		snprintf(why, whylen, "response over %d KiB",
		    JM_OUTBOX_BODY_MAX / 1024);
		return V_RETRY;
	}
	snprintf(why, whylen, "%s", msg);
	if (rc == CURLE_URL_MALFORMAT)
		return V_DEAD;
	return V_RETRY;
}

/* Marks the rows of ob.done delivered, in one transaction. */
static void
mark_delivered(void)
{
	if (jm_store_delivered_many(ob.store, ob.done, ob.n_done,
	    time(NULL)) == -1)
		store_trouble("cannot mark rows delivered (they will be sent "
		    "again)");
	ob.n_done = 0;
}

static void
finish(struct xfer *x, CURLcode rc)
{
	char	why[CURL_ERROR_SIZE + 128];
	long	code = 0;

	why[0] = '\0';
	switch (classify(x, rc, why, sizeof(why))) {
	case V_DONE:
		/* Marked with the others that ended with it, by reap(). */
		if (ob.n_done == JM_OUTBOX_PARALLEL)
			mark_delivered();
		ob.done[ob.n_done++] = x->row->id;
		(void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
		jm_log(LOG_INFO, "outbox %lld: %s: delivered (%s %ld, attempt "
		    "%ld)", x->row->id, x->what,
		    strcmp(x->row->kind, "smtp") == 0 ? "SMTP" : "HTTP", code,
		    x->row->attempts + 1);
		break;
	case V_RETRY:
		finish_retry(x, why);
		break;
	case V_DEAD:
		finish_dead(x, why, 0);
		break;
	}
}

/* The most chat rows a minute to TARGET: its rate=, else chat_rate_limit. */
static long
target_rate(const char *target)
{
	return jm_chat_targets_rate(ob.set.chat, ob.set.n_chat, target,
	    ob.set.chat_rate);
}

/*
 * Whether a chat row to TARGET may start now; counts it when it may.  The
 * store keeps the count, so that a fleet sharing Redis shares the limit;
 * a store that cannot count lets the attempt go, as the mail does.
 */
static int
rate_allow(const char *target, time_t now)
{
	return jm_store_rate_take(ob.store, target, now,
	    target_rate(target)) != 0;
}

/* Starts the attempt on ROW (taken); 0, or -1 when it could not start. */
static int
start(struct jm_outbox_row *row)
{
	const struct settings *st = &ob.set;
	struct xfer	*x;
	int		 rc;
	CURL		*e;

	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		jm_outbox_rows_free(row, 1);
		return -1;
	}
	x->row = row;
	x->retry_after = -1;
	describe(row, st->smtp_url, x->what, sizeof(x->what));
	/* libcurl would pass a CR or LF in an address on to the server. */
	if (strcmp(row->kind, "smtp") == 0 &&
	    (!smtp_address_ok(row->target) ||
	    (st->envelope_sender[0] != '\0' &&
	    !smtp_address_ok(st->envelope_sender)))) {
		finish_dead(x, "not a plain mail address", 0);
		xfer_free(x);
		return 0;
	}
	x->easy = e = curl_easy_init();
	if (e == NULL) {
		xfer_free(x);
		return -1;
	}
	rc = curl_easy_setopt(e, CURLOPT_PRIVATE, x) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT, st->timeout) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER,
	    (long)(st->tls_verify != 0)) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST,
	    st->tls_verify ? 2L : 0L) != CURLE_OK;
	if (rc == 0) {
		if (strcmp(row->kind, "smtp") == 0)
			rc = setup_smtp(x);
		else if (strcmp(row->kind, "webhook") == 0)
			rc = setup_http(x, 1);
		else if (strcmp(row->kind, "chat") == 0)
			rc = setup_http(x, 0);
		else {
			finish_dead(x, "unknown kind of row", 0);
			xfer_free(x);
			return 0;
		}
	}
	if (rc != 0 || curl_multi_add_handle(ob.multi, e) != CURLM_OK) {
		xfer_free(x);
		return -1;
	}
	ob.inflight[ob.n_inflight++] = x;
	return 0;
}

static void
claim_and_start(void)
{
	struct jm_outbox_row *rows;
	size_t		 n, i;
	time_t		 now = time(NULL);

	if (ob.n_inflight >= JM_OUTBOX_PARALLEL)
		return;
	if (jm_store_claim(ob.store, now, now + ob.set.timeout + LEASE_SLACK,
	    JM_OUTBOX_PARALLEL - ob.n_inflight, &rows, &n) == -1) {
		store_trouble("cannot read the outbox");
		return;
	}
	store_ok();
	for (i = 0; i < n; i++) {
		struct jm_outbox_row *one;
		long long id = rows[i].id;

		if (strcmp(rows[i].kind, "chat") == 0 &&
		    !rate_allow(rows[i].target, now)) {
			/* Over the limit: due again next minute, no attempt. */
			if (jm_store_defer(ob.store, id, (now / 60 + 1) * 60) ==
			    -1)
				store_trouble("cannot defer a row");
			jm_log(LOG_DEBUG, "outbox %lld: chat rate limit of %ld "
			    "a minute reached; waiting", id,
			    target_rate(rows[i].target));
			continue;
		}
		one = malloc(sizeof(*one));
		if (one == NULL) {
			/* The lease runs out and the row comes back. */
			continue;
		}
		*one = rows[i];
		memset(&rows[i], 0, sizeof(rows[i]));
		if (start(one) == -1)
			jm_log(LOG_ERR, "outbox %lld: cannot start an attempt "
			    "(out of memory?); it is tried again in %lds", id,
			    ob.set.timeout + LEASE_SLACK);
	}
	jm_outbox_rows_free(rows, n);
}

/* Finishes the attempts that are over; returns how many were. */
static int
reap(void)
{
	CURLMsg		*m;
	struct xfer	*x;
	int		 left, n = 0;
	size_t		 i;

	for (;;) {
		m = curl_multi_info_read(ob.multi, &left);
		if (m == NULL)
			break;
		if (m->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		(void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		    (char **)&x);
		if (x == NULL)
			continue;
		/* M belongs to the multi handle until the handle is removed. */
		finish(x, m->data.result);
		curl_multi_remove_handle(ob.multi, x->easy);
		for (i = 0; i < ob.n_inflight; i++) {
			if (ob.inflight[i] == x) {
				ob.inflight[i] = ob.inflight[--ob.n_inflight];
				break;
			}
		}
		xfer_free(x);
		n++;
	}
	mark_delivered();
	return n;
}

/* Puts every attempt still in flight back as due now. */
static void
abandon(void)
{
	struct xfer	*x;
	time_t		 now = time(NULL);

	while (ob.n_inflight > 0) {
		x = ob.inflight[--ob.n_inflight];
		curl_multi_remove_handle(ob.multi, x->easy);
		if (jm_store_defer(ob.store, x->row->id, now) == -1)
			store_trouble("cannot put a row back");
		jm_log(LOG_NOTICE, "outbox %lld: %s: stopped in flight; it is "
		    "sent again at the next start", x->row->id, x->what);
		xfer_free(x);
	}
}

static int
stopping(void)
{
	int	s;

	pthread_mutex_lock(&ob.lock);
	s = ob.stopping;
	pthread_mutex_unlock(&ob.lock);
	return s;
}

/* Whether jm_outbox_wake() was called since the last look. */
static int
take_woken(void)
{
	int	w;

	pthread_mutex_lock(&ob.lock);
	w = ob.woken;
	ob.woken = 0;
	pthread_mutex_unlock(&ob.lock);
	return w;
}

static long long
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The store is asked for due rows when woken, when an attempt ended (there
 * is room again) and once a second for scheduled retries, not at every
 * socket event: each look is a write transaction that the milter's threads
 * would wait behind.
 */
static void *
run(void *arg)
{
	long long	 last_claim = 0, wait;
	time_t		 last_prune = 0, stop_deadline = 0, now;
	int		 still, ended = 1;

	jm_thread_name("jm-outbox");
	(void)arg;
	for (;;) {
		now = time(NULL);
		if (stopping()) {
			if (stop_deadline == 0)
				stop_deadline = now + ob.set.timeout + 1;
			if (ob.n_inflight == 0)
				break;
			if (now >= stop_deadline) {
				abandon();
				break;
			}
		} else {
			if (take_woken() || ended ||
			    mono_ms() - last_claim >= IDLE_POLL_MS) {
				claim_and_start();
				last_claim = mono_ms();
			}
			if (now - last_prune >= PRUNE_EVERY) {
				if (jm_store_prune(ob.store,
				    now - ob.set.escalation_window,
				    now - ob.set.keep_done) == -1)
					store_trouble("cannot prune");
				last_prune = now;
			}
		}
		still = 0;
		curl_multi_perform(ob.multi, &still);
		ended = reap();
		if (ended > 0)
			continue;
		wait = IDLE_POLL_MS - (mono_ms() - last_claim);
		if (wait < 0)
			wait = 0;
		curl_multi_poll(ob.multi, NULL, 0, (int)wait, NULL);
		curl_multi_perform(ob.multi, &still);
		ended = reap();
	}
	return NULL;
}

static char *
read_password(const char *path)
{
	FILE	*fp;
	char	 buf[SECRET_MAX + 1], *p;
	size_t	 n;

	fp = fopen(path, "r");
	if (fp == NULL) {
		jm_log(LOG_ERR, "%s: cannot open: %s (ack_smtp_password_file; "
		    "it must be readable by the daemon's user)", path,
		    strerror(errno));
		return NULL;
	}
	n = fread(buf, 1, SECRET_MAX, fp);
	fclose(fp);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	p = strdup(buf);
	memset(buf, 0, sizeof(buf));
	return p;
}

static void
settings_free(struct settings *st)
{
	free(st->smtp_url);
	free(st->smtp_user);
	if (st->smtp_password != NULL) {
		memset(st->smtp_password, 0, strlen(st->smtp_password));
		free(st->smtp_password);
	}
	free(st->envelope_sender);
	jm_webhook_secret_free(st->secret, st->secret_len);
	jm_chat_targets_free(st->chat, st->n_chat);
	memset(st, 0, sizeof(*st));
}

static int
settings_load(const struct jm_conf *c, struct settings *st)
{
	char	err[512];
	long	keep;

	memset(st, 0, sizeof(*st));
	st->timeout = c->webhook_timeout;
	st->retry_min = c->retry_min_interval;
	st->max_age = c->max_retry_age;
	st->tls_verify = c->tls_verify;
	st->chat_rate = c->chat_rate_limit;
	st->escalation_window = c->escalation_window;
	/*
	 * Delivered acks are counted for ack_interval and a day, and
	 * journeyctl stats and report count deliveries over a week: keep
	 * delivered rows for the longer of the two, and a day more.
	 */
	keep = c->ack_interval > 7 * 86400 ? c->ack_interval : 7 * 86400;
	st->keep_done = keep + 86400;
	st->smtp_url = strdup(c->ack_smtp_url != NULL ? c->ack_smtp_url : "");
	st->smtp_user = strdup(c->ack_smtp_user != NULL ? c->ack_smtp_user :
	    "");
	st->envelope_sender = strdup(c->ack_envelope_sender != NULL ?
	    c->ack_envelope_sender : "");
	if (st->smtp_url == NULL || st->smtp_user == NULL ||
	    st->envelope_sender == NULL) {
		jm_log(LOG_ERR, "outbox: out of memory");
		goto fail;
	}
	/* The policy checked these lines already: only memory can fail. */
	if (jm_chat_targets_parse(&c->chat_target, &st->chat, &st->n_chat,
	    err, sizeof(err)) == -1) {
		jm_log(LOG_ERR, "outbox: chat_target: %s", err);
		goto fail;
	}
	if (c->ack_smtp_password_file != NULL &&
	    c->ack_smtp_password_file[0] != '\0') {
		st->smtp_password = read_password(c->ack_smtp_password_file);
		if (st->smtp_password == NULL)
			goto fail;
	}
	if (c->journey_webhook_secret_file != NULL &&
	    c->journey_webhook_secret_file[0] != '\0' &&
	    jm_webhook_load_secret(c->journey_webhook_secret_file,
	    &st->secret, &st->secret_len, err, sizeof(err)) == -1) {
		jm_log(LOG_ERR, "%s (journey_webhook_secret_file)", err);
		goto fail;
	}
	return 0;
fail:
	settings_free(st);
	return -1;
}

int
jm_outbox_start(const struct jm_conf *conf, struct jm_store *s)
{
	struct settings	 st;

	pthread_mutex_lock(&ob.lock);
	if (ob.running) {
		pthread_mutex_unlock(&ob.lock);
		jm_log(LOG_ERR, "outbox: already running");
		return -1;
	}
	pthread_mutex_unlock(&ob.lock);
	if (settings_load(conf, &st) == -1)
		return -1;
	ob.multi = curl_multi_init();
	if (ob.multi == NULL) {
		settings_free(&st);
		jm_log(LOG_ERR, "outbox: cannot create a libcurl multi handle");
		return -1;
	}
	ob.set = st;
	ob.store = s;
	ob.n_inflight = 0;
	ob.store_failing = 0;
	ob.stopping = 0;
	if (pthread_create(&ob.thread, NULL, run, NULL) != 0) {
		curl_multi_cleanup(ob.multi);
		ob.multi = NULL;
		settings_free(&ob.set);
		jm_log(LOG_ERR, "outbox: cannot start the delivery thread");
		return -1;
	}
	pthread_mutex_lock(&ob.lock);
	ob.running = 1;
	pthread_mutex_unlock(&ob.lock);
	return 0;
}

void
jm_outbox_wake(void)
{
	pthread_mutex_lock(&ob.lock);
	if (ob.running && !ob.stopping) {
		ob.woken = 1;
		curl_multi_wakeup(ob.multi);
	}
	pthread_mutex_unlock(&ob.lock);
}

void
jm_outbox_stop(void)
{
	pthread_mutex_lock(&ob.lock);
	if (!ob.running || ob.stopping) {
		pthread_mutex_unlock(&ob.lock);
		return;
	}
	ob.stopping = 1;
	curl_multi_wakeup(ob.multi);
	pthread_mutex_unlock(&ob.lock);

	pthread_join(ob.thread, NULL);

	pthread_mutex_lock(&ob.lock);
	curl_multi_cleanup(ob.multi);
	ob.multi = NULL;
	ob.running = 0;
	ob.stopping = 0;
	pthread_mutex_unlock(&ob.lock);
	settings_free(&ob.set);
	ob.store = NULL;
}
