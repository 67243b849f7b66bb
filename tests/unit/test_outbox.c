/*
 * test_outbox.c: the delivery thread against real receivers on 127.0.0.1:
 * a small HTTP server that answers each path from a script (success,
 * 503 with Retry-After, 408, 400, a redirect, a huge body, garbage,
 * silence), a small SMTP server, and an HTTPS receiver with a
 * self-signed certificate (python3's http.server and ssl, the certificate
 * made by the openssl command) for tls_verify.  Rows go in through the
 * store, the outbox runs for real, and the test waits, boundedly, for
 * each row's fate.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journey/conf.h"
#include "journey/diag.h"
#include "journey/log.h"
#include "journey/outbox.h"
#include "journey/store.h"
#include "journey/webhook.h"

#define WAIT_MAX_MS	15000
#define MAX_REQS	64
#define MAX_CONNS	64
#define SECRET		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

/* What each path answers, request by request; the last step repeats. */
static const struct script {
	const char	*path;
	const char	*steps[3];
} scripts[] = {
	{ "/ok", { "200" } },
	{ "/flaky", { "503-retry-after", "200" } },
	{ "/timeout", { "408", "200" } },
	{ "/bad", { "400" } },
	{ "/redirect", { "302" } },
	{ "/huge", { "huge" } },
	{ "/garbage", { "garbage", "200" } },
	{ "/slow", { "slow", "200" } },
	{ "/old", { "503" } },
	{ "/chat", { "200" } },
	{ "/chat-one", { "200" } },
};

struct req {
	char		 path[64];
	char		 id[128];
	char		 ts[32];
	char		 sig[128];
	char		 ua[128];
	char		 ctype[64];
	char		*body;
	size_t		 len;
	long long	 at_ms;
};

static struct httpd {
	int		 fd;
	int		 port;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	struct req	 reqs[MAX_REQS];
	size_t		 n;
	pthread_t	 conns[MAX_CONNS];
	size_t		 n_conns;
} hd = { .lock = PTHREAD_MUTEX_INITIALIZER };

static char		 dir[64];
static struct jm_conf	*conf;
static struct jm_store	*store;

static long long
now_ms(void)
{
	struct timeval	tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int
listen_local(int *port)
{
	struct sockaddr_in sin;
	socklen_t	 len = sizeof(sin);
	int		 fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 64), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
send_all(int fd, const char *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void
header_value(const char *head, const char *name, char *out, size_t outlen)
{
	const char	*p = head, *eol, *v;
	size_t		 nl = strlen(name), n;

	out[0] = '\0';
	for (;;) {
		p = strstr(p, "\r\n");
		if (p == NULL)
			return;
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			v = p + nl + 1;
			while (*v == ' ')
				v++;
			eol = strstr(v, "\r\n");
			n = eol != NULL ? (size_t)(eol - v) : strlen(v);
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return;
		}
	}
}

/* The Nth request to PATH (0-based) gets this step. */
static const char *
step_for(const char *path, size_t nth)
{
	size_t	i, k;

	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		if (strcmp(scripts[i].path, path) != 0)
			continue;
		for (k = 0; k < 3 && scripts[i].steps[k] != NULL; k++)
			if (k == nth)
				return scripts[i].steps[k];
		return scripts[i].steps[k - 1];
	}
	return "404";
}

static void *
serve_conn(void *arg)
{
	int		 fd = (int)(long)arg;
	char		*buf, clen[32], path[64];
	size_t		 n = 0, cap = 65536, hlen, blen, nth = 0, i;
	const char	*end, *step;
	struct req	*r;
	ssize_t		 got;

	buf = malloc(cap + 1);
	for (;;) {
		got = recv(fd, buf + n, cap - n, 0);
		if (got <= 0)
			goto out;
		n += (size_t)got;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL)
			break;
	}
	hlen = (size_t)(end - buf) + 4;
	header_value(buf, "Content-Length", clen, sizeof(clen));
	blen = (size_t)atol(clen);
	while (n < hlen + blen && n < cap) {
		got = recv(fd, buf + n, cap - n, 0);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	if (sscanf(buf, "POST %63s HTTP/1.1", path) != 1)
		goto out;

	pthread_mutex_lock(&hd.lock);
	for (i = 0; i < hd.n; i++)
		if (strcmp(hd.reqs[i].path, path) == 0)
			nth++;
	r = hd.n < MAX_REQS ? &hd.reqs[hd.n++] : NULL;
	if (r != NULL) {
		snprintf(r->path, sizeof(r->path), "%s", path);
		header_value(buf, "webhook-id", r->id, sizeof(r->id));
		header_value(buf, "webhook-timestamp", r->ts, sizeof(r->ts));
		header_value(buf, "webhook-signature", r->sig, sizeof(r->sig));
		header_value(buf, "User-Agent", r->ua, sizeof(r->ua));
		header_value(buf, "Content-Type", r->ctype, sizeof(r->ctype));
		r->len = n - hlen;
		r->body = malloc(r->len + 1);
		memcpy(r->body, buf + hlen, r->len);
		r->body[r->len] = '\0';
		r->at_ms = now_ms();
	}
	pthread_mutex_unlock(&hd.lock);

	step = step_for(path, nth);
	if (strcmp(step, "200") == 0) {
		const char *m = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
		    "Connection: close\r\n\r\nok";
		send_all(fd, m, strlen(m));
	} else if (strcmp(step, "503-retry-after") == 0) {
		const char *m = "HTTP/1.1 503 Service Unavailable\r\n"
		    "Retry-After: 2\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n";
		send_all(fd, m, strlen(m));
	} else if (strcmp(step, "503") == 0) {
		const char *m = "HTTP/1.1 503 Service Unavailable\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n";
		send_all(fd, m, strlen(m));
	} else if (strcmp(step, "408") == 0) {
		/* The server gave up waiting: retried like a 5xx. */
		const char *m = "HTTP/1.1 408 Request Timeout\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n";
		send_all(fd, m, strlen(m));
	} else if (strcmp(step, "400") == 0) {
		const char *m = "HTTP/1.1 400 Bad Request\r\n"
		    "Content-Length: 11\r\nConnection: close\r\n\r\nbad request";
		send_all(fd, m, strlen(m));
	} else if (strcmp(step, "302") == 0) {
		/* A loop, were it followed. */
		const char *m = "HTTP/1.1 302 Found\r\nLocation: /redirect\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n";
		send_all(fd, m, strlen(m));
	} else if (strcmp(step, "huge") == 0) {
		const char *m = "HTTP/1.1 200 OK\r\nContent-Length: 8388608\r\n"
		    "Connection: close\r\n\r\n";
		char	chunk[65536];

		memset(chunk, 'x', sizeof(chunk));
		send_all(fd, m, strlen(m));
		for (i = 0; i < 128; i++)
			send_all(fd, chunk, sizeof(chunk));
	} else if (strcmp(step, "garbage") == 0) {
		const char *m = "\x01\x02 this is not HTTP at all\r\n\r\n";
		send_all(fd, m, strlen(m));
	} else if (strcmp(step, "slow") == 0) {
		/* Beyond webhook_timeout = 1s: the client gives up first. */
		poll(NULL, 0, 2500);
		const char *m = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
		send_all(fd, m, strlen(m));
	} else {
		const char *m = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n";
		send_all(fd, m, strlen(m));
	}
out:
	shutdown(fd, SHUT_WR);
	close(fd);
	free(buf);
	return NULL;
}

static void *
httpd_run(void *arg)
{
	int	fd;

	(void)arg;
	for (;;) {
		fd = accept(hd.fd, NULL, NULL);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;	/* shut down */
		}
		pthread_mutex_lock(&hd.lock);
		if (hd.n_conns < MAX_CONNS &&
		    pthread_create(&hd.conns[hd.n_conns], NULL, serve_conn,
		    (void *)(long)fd) == 0)
			hd.n_conns++;
		else
			close(fd);
		pthread_mutex_unlock(&hd.lock);
	}
}

static void
httpd_start(void)
{
	hd.n = 0;
	hd.n_conns = 0;
	hd.fd = listen_local(&hd.port);
	ck_assert_int_eq(pthread_create(&hd.thread, NULL, httpd_run, NULL), 0);
}

static void
httpd_stop(void)
{
	size_t	i;

	shutdown(hd.fd, SHUT_RDWR);
	pthread_join(hd.thread, NULL);
	close(hd.fd);
	for (i = 0; i < hd.n_conns; i++)
		pthread_join(hd.conns[i], NULL);
	for (i = 0; i < hd.n; i++)
		free(hd.reqs[i].body);
}

static size_t
count_reqs(const char *path)
{
	size_t	i, n = 0;

	pthread_mutex_lock(&hd.lock);
	for (i = 0; i < hd.n; i++)
		if (strcmp(hd.reqs[i].path, path) == 0)
			n++;
	pthread_mutex_unlock(&hd.lock);
	return n;
}

/* The Kth request to PATH; stable once recorded. */
static const struct req *
nth_req(const char *path, size_t k)
{
	size_t	i;

	pthread_mutex_lock(&hd.lock);
	for (i = 0; i < hd.n; i++) {
		if (strcmp(hd.reqs[i].path, path) == 0 && k-- == 0) {
			pthread_mutex_unlock(&hd.lock);
			return &hd.reqs[i];
		}
	}
	pthread_mutex_unlock(&hd.lock);
	ck_abort_msg("no request %s", path);
	return NULL;
}

static void
set(const char *key, const char *value)
{
	char	why[256];

	ck_assert_msg(jm_conf_set(conf, key, value, why, sizeof(why)) == 0,
	    "%s: %s", key, why);
}

static void
setup(void)
{
	struct jm_diag	 d;
	char		 path[128], err[512];
	FILE		*fp;

	snprintf(dir, sizeof(dir), "/tmp/jm-outbox-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	jm_diag_init(&d);
	ck_assert_int_eq(jm_conf_load(NULL, &d, &conf), 0);
	jm_diag_free(&d);
	set("state_dir", dir);
	set("webhook_timeout", "1s");
	set("retry_min_interval", "1s");
	set("max_retry_age", "10m");
	snprintf(path, sizeof(path), "%s/secret", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "%s\n", SECRET);
	fclose(fp);
	set("journey_webhook_secret_file", path);
	ck_assert_msg(jm_store_open(conf, &store, err, sizeof(err)) == 0, "%s",
	    err);
	httpd_start();
}

static void
teardown(void)
{
	char	cmd[128];

	jm_outbox_stop();
	httpd_stop();
	jm_store_close(store);
	jm_conf_unref(conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Queues one row; returns its id. */
static long long
queue(const char *kind, const char *target, const char *payload,
    const char *event_id, time_t created)
{
	struct jm_outbox_new	 it;
	struct jm_store_query	 q;
	struct jm_store_record	 r;
	struct jm_facts		 f;
	struct jm_outbox_row	*rows;
	size_t			 n;
	long long		 id;

	memset(&q, 0, sizeof(q));
	q.customer = "c@example.com";
	q.now = created;
	ck_assert_int_eq(jm_store_begin(store, &q, &f), 0);
	memset(&it, 0, sizeof(it));
	it.kind = kind;
	it.target = target;
	it.payload = payload;
	it.payload_len = strlen(payload);
	it.event_id = event_id;
	memset(&r, 0, sizeof(r));
	r.customer = "c@example.com";
	r.now = created;
	r.is_ack = strcmp(kind, "smtp") == 0;
	r.items = &it;
	r.n_items = 1;
	ck_assert_int_eq(jm_store_commit(store, &r), 0);
	ck_assert_int_eq(jm_store_list(store, JM_STORE_LIST_PENDING, &rows,
	    &n), 0);
	ck_assert_uint_ge(n, 1);
	id = rows[n - 1].id;
	jm_outbox_rows_free(rows, n);
	return id;
}

static char *
url(const char *path)
{
	static char	buf[8][128];
	static int	next;
	char		*p = buf[next++ % 8];

	snprintf(p, 128, "http://127.0.0.1:%d%s", hd.port, path);
	return p;
}

/*
 * Row ID's state, and a copy of its attempts, next attempt and last error;
 * a row in neither the pending nor the dead list is done.
 */
static enum jm_outbox_state
row_state(long long id, long *attempts, time_t *next, char *err,
    size_t errlen)
{
	struct jm_outbox_row *rows;
	enum jm_outbox_state st = JM_OUTBOX_DONE;
	size_t		 n, i;

	ck_assert_int_eq(jm_store_list(store, JM_STORE_LIST_PENDING |
	    JM_STORE_LIST_DEAD, &rows, &n), 0);
	for (i = 0; i < n; i++) {
		if (rows[i].id != id)
			continue;
		st = rows[i].state;
		if (attempts != NULL)
			*attempts = rows[i].attempts;
		if (next != NULL)
			*next = rows[i].next_attempt;
		if (err != NULL)
			snprintf(err, errlen, "%s", rows[i].last_error);
	}
	jm_outbox_rows_free(rows, n);
	return st;
}

struct want {
	long long	 id;
	enum jm_outbox_state state;
};

/* Waits, at most WAIT_MAX_MS, until every row is in its wanted state. */
static void
wait_for(const struct want *w, size_t n)
{
	long long	 deadline = now_ms() + WAIT_MAX_MS;
	size_t		 i, ok;

	for (;;) {
		for (i = 0, ok = 0; i < n; i++)
			if (row_state(w[i].id, NULL, NULL, NULL, 0) ==
			    w[i].state)
				ok++;
		if (ok == n)
			return;
		if (now_ms() > deadline)
			break;
		poll(NULL, 0, 50);
	}
	for (i = 0; i < n; i++)
		ck_assert_msg(row_state(w[i].id, NULL, NULL, NULL, 0) ==
		    w[i].state, "row %lld: state %s, want %s", w[i].id,
		    jm_outbox_state_name(row_state(w[i].id, NULL, NULL, NULL,
		    0)), jm_outbox_state_name(w[i].state));
}

static void
check_signature(const struct req *r, const char *want_id)
{
	unsigned char	*key;
	size_t		 keylen;
	char		 path[128], err[256], sig[JM_WEBHOOK_SIG_LEN];
	long		 ts = atol(r->ts);

	ck_assert_str_eq(r->id, want_id);
	ck_assert_msg(labs(ts - (long)time(NULL)) < 30, "timestamp %s",
	    r->ts);
	snprintf(path, sizeof(path), "%s/secret", dir);
	ck_assert_int_eq(jm_webhook_load_secret(path, &key, &keylen, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(jm_webhook_sign(key, keylen, r->id, ts, r->body,
	    r->len, sig, sizeof(sig)), 0);
	jm_webhook_secret_free(key, keylen);
	ck_assert_str_eq(r->sig, sig);
}

START_TEST(test_http_outcomes)
{
	static const char body[] = "{\"type\":\"journey.updated\"}";
	long long	 ok, flaky, timeout, bad, redir, huge, garbage, slow;
	long long	 old;
	long		 attempts;
	char		 err[512];
	const struct req *r0, *r1;

	ok = queue("webhook", url("/ok"), body, "evt_OK", time(NULL));
	flaky = queue("webhook", url("/flaky"), body, "evt_FLAKY", time(NULL));
	timeout = queue("webhook", url("/timeout"), body, "evt_408",
	    time(NULL));
	bad = queue("webhook", url("/bad"), body, "evt_BAD", time(NULL));
	redir = queue("webhook", url("/redirect"), body, "evt_R", time(NULL));
	huge = queue("webhook", url("/huge"), body, "evt_HUGE", time(NULL));
	garbage = queue("webhook", url("/garbage"), body, "evt_G", time(NULL));
	slow = queue("webhook", url("/slow"), body, "evt_SLOW", time(NULL));
	/* Older than max_retry_age (10m) already: its first failure ends it. */
	old = queue("webhook", url("/old"), body, "evt_OLD", time(NULL) - 1000);

	ck_assert_int_eq(jm_outbox_start(conf, store), 0);
	jm_outbox_wake();
	{
		const struct want w[] = {
			{ ok, JM_OUTBOX_DONE }, { flaky, JM_OUTBOX_DONE },
			{ timeout, JM_OUTBOX_DONE },
			{ bad, JM_OUTBOX_DEAD }, { redir, JM_OUTBOX_DEAD },
			{ huge, JM_OUTBOX_DONE }, { garbage, JM_OUTBOX_DONE },
			{ slow, JM_OUTBOX_DONE }, { old, JM_OUTBOX_DEAD },
		};

		wait_for(w, sizeof(w) / sizeof(w[0]));
	}
	jm_outbox_stop();

	/* Delivered once, signed, with the documented headers. */
	ck_assert_uint_eq(count_reqs("/ok"), 1);
	r0 = nth_req("/ok", 0);
	check_signature(r0, "evt_OK");
	ck_assert_str_eq(r0->body, body);
	ck_assert_str_eq(r0->ctype, "application/json");
	ck_assert_str_eq(r0->ua, "journey-milter/" PACKAGE_VERSION);

	/* Retried no sooner than Retry-After: 2, the same id, each signed. */
	ck_assert_uint_eq(count_reqs("/flaky"), 2);
	r0 = nth_req("/flaky", 0);
	r1 = nth_req("/flaky", 1);
	check_signature(r0, "evt_FLAKY");
	check_signature(r1, "evt_FLAKY");
	ck_assert_msg(r1->at_ms - r0->at_ms >= 2000, "retried after %lld ms",
	    r1->at_ms - r0->at_ms);

	/* 408 is retried, as 5xx is: the same event, signed again. */
	ck_assert_uint_eq(count_reqs("/timeout"), 2);
	check_signature(nth_req("/timeout", 0), "evt_408");
	check_signature(nth_req("/timeout", 1), "evt_408");
	ck_assert_str_eq(nth_req("/timeout", 1)->body, body);
	ck_assert_int_eq(row_state(timeout, &attempts, NULL, NULL, 0),
	    JM_OUTBOX_DONE);

	ck_assert_uint_eq(count_reqs("/bad"), 1);
	ck_assert_int_eq(row_state(bad, &attempts, NULL, err, sizeof(err)),
	    JM_OUTBOX_DEAD);
	ck_assert_str_eq(err, "HTTP 400");
	ck_assert_int_eq(attempts, 1);

	ck_assert_uint_eq(count_reqs("/redirect"), 1);
	ck_assert_int_eq(row_state(redir, NULL, NULL, err, sizeof(err)),
	    JM_OUTBOX_DEAD);
	ck_assert_str_eq(err, "HTTP 302, redirect not followed");

	/* 200 came first; the body was cut off unread. */
	ck_assert_uint_eq(count_reqs("/huge"), 1);
	ck_assert_uint_eq(count_reqs("/garbage"), 2);
	ck_assert_uint_eq(count_reqs("/slow"), 2);

	ck_assert_uint_eq(count_reqs("/old"), 1);
	ck_assert_int_eq(row_state(old, &attempts, NULL, err, sizeof(err)),
	    JM_OUTBOX_DEAD);
	ck_assert_str_eq(err, "HTTP 503");
	ck_assert_int_eq(attempts, 1);
}
END_TEST

/* Rows written before a restart go out after it. */
START_TEST(test_resume_after_restart)
{
	long long	 id;
	char		 err[512];

	id = queue("webhook", url("/ok"), "{}", "evt_RESUME", time(NULL));
	jm_store_close(store);
	ck_assert_int_eq(jm_store_open(conf, &store, err, sizeof(err)), 0);
	ck_assert_int_eq(jm_outbox_start(conf, store), 0);
	/* A second start is refused while running. */
	ck_assert_int_eq(jm_outbox_start(conf, store), -1);
	{
		const struct want w[] = { { id, JM_OUTBOX_DONE } };

		wait_for(w, 1);
	}
	jm_outbox_stop();
	jm_outbox_stop();
	jm_outbox_wake();
	ck_assert_uint_eq(count_reqs("/ok"), 1);
	check_signature(nth_req("/ok", 0), "evt_RESUME");
}
END_TEST

START_TEST(test_chat_rate_limit)
{
	long long	 a, b, c;
	long		 attempts = -1;
	time_t		 next = 0, t;
	char		 err[512] = "x";
	long long	 deadline;

	/* Keep the three rows inside one minute of the clock. */
	t = time(NULL);
	if (t % 60 >= 50)
		sleep((unsigned)(61 - t % 60));
	set("chat_rate_limit", "2");
	a = queue("chat", url("/chat"), "{\"text\":\"1\"}", "", time(NULL));
	b = queue("chat", url("/chat"), "{\"text\":\"2\"}", "", time(NULL));
	c = queue("chat", url("/chat"), "{\"text\":\"3\"}", "", time(NULL));
	ck_assert_int_eq(jm_outbox_start(conf, store), 0);
	{
		const struct want w[] = {
			{ a, JM_OUTBOX_DONE }, { b, JM_OUTBOX_DONE },
		};

		wait_for(w, 2);
	}
	/* The third waits for the next minute: no attempt, no error. */
	deadline = now_ms() + 2000;
	while (now_ms() < deadline) {
		if (row_state(c, &attempts, &next, err, sizeof(err)) ==
		    JM_OUTBOX_PENDING && next > time(NULL))
			break;
		poll(NULL, 0, 20);
	}
	ck_assert_int_eq(row_state(c, &attempts, &next, err, sizeof(err)),
	    JM_OUTBOX_PENDING);
	ck_assert_int_eq(attempts, 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(next % 60, 0);
	ck_assert_int_gt(next, time(NULL));
	jm_outbox_stop();
	ck_assert_uint_eq(count_reqs("/chat"), 2);
	/* Chat rows are not signed. */
	ck_assert_str_eq(nth_req("/chat", 0)->sig, "");
	ck_assert_str_eq(nth_req("/chat", 0)->ctype, "application/json");
}
END_TEST

/* A target's own rate= overrides chat_rate_limit for its URL alone. */
START_TEST(test_chat_target_rate)
{
	long long	 a, b, c, d;
	long		 attempts = -1;
	time_t		 next = 0, t;
	char		 err[512] = "x", line[256];
	long long	 deadline;

	t = time(NULL);
	if (t % 60 >= 50)
		sleep((unsigned)(61 - t % 60));
	set("chat_rate_limit", "5");
	snprintf(line, sizeof(line), "one slack %s complaint rate=1",
	    url("/chat-one"));
	set("chat_target", line);
	a = queue("chat", url("/chat-one"), "{\"text\":\"1\"}", "", time(NULL));
	b = queue("chat", url("/chat-one"), "{\"text\":\"2\"}", "", time(NULL));
	c = queue("chat", url("/chat"), "{\"text\":\"3\"}", "", time(NULL));
	d = queue("chat", url("/chat"), "{\"text\":\"4\"}", "", time(NULL));
	ck_assert_int_eq(jm_outbox_start(conf, store), 0);
	{
		const struct want w[] = {
			{ a, JM_OUTBOX_DONE }, { c, JM_OUTBOX_DONE },
			{ d, JM_OUTBOX_DONE },
		};

		wait_for(w, 3);
	}
	/* The second row to the rate=1 target waits for the next minute. */
	deadline = now_ms() + 2000;
	while (now_ms() < deadline) {
		if (row_state(b, &attempts, &next, err, sizeof(err)) ==
		    JM_OUTBOX_PENDING && next > time(NULL))
			break;
		poll(NULL, 0, 20);
	}
	ck_assert_int_eq(row_state(b, &attempts, &next, err, sizeof(err)),
	    JM_OUTBOX_PENDING);
	ck_assert_int_eq(attempts, 0);
	ck_assert_int_eq(next % 60, 0);
	ck_assert_int_gt(next, time(NULL));
	jm_outbox_stop();
	ck_assert_uint_eq(count_reqs("/chat-one"), 1);
	ck_assert_uint_eq(count_reqs("/chat"), 2);
}
END_TEST

/*
 * A fake SMTP server: a thread per connection (libcurl keeps idle
 * connections open for reuse), commands answered from
 * the recipient's local part ("reject" gets 550, "later" gets 451 the
 * first time), transactions recorded.
 */
static struct smtpd {
	int		 fd;
	int		 port;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	char		 from[8][128];
	char		 rcpt[8][128];
	char		*data[8];
	size_t		 n;		/* transactions with DATA */
	size_t		 n_later;
	size_t		 n_rcpt;
	pthread_t	 conns[MAX_CONNS];
	size_t		 n_conns;
} sd = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Reads one CRLF line into LINE; 0, or -1 at the end. */
static int
read_line(int fd, char *line, size_t len)
{
	size_t	n = 0;
	char	ch;

	while (n + 1 < len) {
		if (recv(fd, &ch, 1, 0) != 1)
			return -1;
		line[n++] = ch;
		if (ch == '\n')
			break;
	}
	line[n] = '\0';
	return 0;
}

static int
later_first(void)
{
	int	first;

	pthread_mutex_lock(&sd.lock);
	first = sd.n_later++ == 0;
	pthread_mutex_unlock(&sd.lock);
	return first;
}

static void *
smtp_session(void *arg)
{
	int	 fd = (int)(long)arg;
	char	 line[1024], from[128] = "", rcpt[128] = "";
	char	*data = NULL;
	size_t	 dlen = 0;

	send_all(fd, "220 fake ESMTP\r\n", 16);
	while (read_line(fd, line, sizeof(line)) == 0) {
		if (strncasecmp(line, "EHLO", 4) == 0) {
			send_all(fd, "250-fake\r\n250 8BITMIME\r\n", 24);
		} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
			snprintf(from, sizeof(from), "%.*s",
			    (int)strcspn(line + 10, "\r\n"), line + 10);
			send_all(fd, "250 ok\r\n", 8);
		} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
			snprintf(rcpt, sizeof(rcpt), "%.*s",
			    (int)strcspn(line + 8, "\r\n"), line + 8);
			pthread_mutex_lock(&sd.lock);
			sd.n_rcpt++;
			pthread_mutex_unlock(&sd.lock);
			if (strstr(rcpt, "reject") != NULL) {
				send_all(fd, "550 no such user\r\n", 18);
			} else if (strstr(rcpt, "later") != NULL &&
			    later_first()) {
				send_all(fd, "451 try again later\r\n", 21);
			} else
				send_all(fd, "250 ok\r\n", 8);
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			send_all(fd, "354 go ahead\r\n", 14);
			for (;;) {
				if (read_line(fd, line, sizeof(line)) == -1)
					goto out;
				if (strcmp(line, ".\r\n") == 0)
					break;
				data = realloc(data, dlen + strlen(line) + 1);
				memcpy(data + dlen, line, strlen(line) + 1);
				dlen += strlen(line);
			}
			pthread_mutex_lock(&sd.lock);
			if (sd.n < 8) {
				snprintf(sd.from[sd.n], 128, "%s", from);
				snprintf(sd.rcpt[sd.n], 128, "%s", rcpt);
				sd.data[sd.n++] = data != NULL ? data :
				    strdup("");
				data = NULL;
			}
			pthread_mutex_unlock(&sd.lock);
			free(data);
			data = NULL;
			dlen = 0;
			send_all(fd, "250 queued\r\n", 12);
		} else if (strncasecmp(line, "RSET", 4) == 0 ||
		    strncasecmp(line, "NOOP", 4) == 0) {
			send_all(fd, "250 ok\r\n", 8);
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			send_all(fd, "221 bye\r\n", 9);
			break;
		} else
			send_all(fd, "502 unknown\r\n", 13);
	}
out:
	free(data);
	close(fd);
	return NULL;
}

static void *
smtpd_run(void *arg)
{
	int	fd;

	(void)arg;
	for (;;) {
		fd = accept(sd.fd, NULL, NULL);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		pthread_mutex_lock(&sd.lock);
		if (sd.n_conns < MAX_CONNS &&
		    pthread_create(&sd.conns[sd.n_conns], NULL, smtp_session,
		    (void *)(long)fd) == 0)
			sd.n_conns++;
		else
			close(fd);
		pthread_mutex_unlock(&sd.lock);
	}
}

START_TEST(test_smtp)
{
	/* A leading dot must reach the server doubled (RFC 5321 4.5.2). */
	static const char msg[] = "From: Support <support@example.com>\r\n"
	    "To: good@example.com\r\nSubject: We got your message\r\n\r\n"
	    "Thank you.\r\n.hidden dot line\r\n";
	char		 u[64], err[512];
	long long	 good, reject, later, evil;
	size_t		 i;

	sd.fd = listen_local(&sd.port);
	ck_assert_int_eq(pthread_create(&sd.thread, NULL, smtpd_run, NULL), 0);
	snprintf(u, sizeof(u), "smtp://127.0.0.1:%d", sd.port);
	set("ack_smtp_url", u);

	good = queue("smtp", "good@example.com", msg, "", time(NULL));
	reject = queue("smtp", "reject@example.com", msg, "", time(NULL));
	later = queue("smtp", "later@example.com", msg, "", time(NULL));
	evil = queue("smtp", "x@example.com>\r\nRCPT TO:<y@example.com", msg,
	    "", time(NULL));
	ck_assert_int_eq(jm_outbox_start(conf, store), 0);
	{
		const struct want w[] = {
			{ good, JM_OUTBOX_DONE }, { reject, JM_OUTBOX_DEAD },
			{ later, JM_OUTBOX_DONE }, { evil, JM_OUTBOX_DEAD },
		};

		wait_for(w, sizeof(w) / sizeof(w[0]));
	}
	jm_outbox_stop();
	shutdown(sd.fd, SHUT_RDWR);
	pthread_join(sd.thread, NULL);
	close(sd.fd);
	for (i = 0; i < sd.n_conns; i++)
		pthread_join(sd.conns[i], NULL);

	ck_assert_int_eq(row_state(reject, NULL, NULL, err, sizeof(err)),
	    JM_OUTBOX_DEAD);
	ck_assert_msg(strncmp(err, "SMTP 550", 8) == 0, "%s", err);
	ck_assert_int_eq(row_state(evil, NULL, NULL, err, sizeof(err)),
	    JM_OUTBOX_DEAD);
	ck_assert_str_eq(err, "not a plain mail address");
	/* Only good, reject, later and later again reached RCPT. */
	ck_assert_uint_eq(sd.n_rcpt, 4);
	ck_assert_uint_eq(sd.n, 2);
	for (i = 0; i < sd.n; i++) {
		ck_assert_str_eq(sd.from[i], "<>");
		ck_assert_str_eq(sd.data[i],
		    "From: Support <support@example.com>\r\n"
		    "To: good@example.com\r\nSubject: We got your message\r\n"
		    "\r\nThank you.\r\n..hidden dot line\r\n");
		free(sd.data[i]);
	}
	ck_assert(strcmp(sd.rcpt[0], "<good@example.com>") == 0 ||
	    strcmp(sd.rcpt[1], "<good@example.com>") == 0);
	ck_assert(strcmp(sd.rcpt[0], "<later@example.com>") == 0 ||
	    strcmp(sd.rcpt[1], "<later@example.com>") == 0);
}
END_TEST

/*
 * An HTTPS receiver on 127.0.0.1 whose certificate nobody signed: python3
 * answers each POST 200 and appends its path to tls.log.  It listens on a
 * port of its own choosing, written to tls.port, and ends itself after a
 * minute, or with the test.
 */
static const char tls_receiver_py[] =
    "import http.server, os, ssl, sys, threading\n"
    "port_file, cert, key, log = sys.argv[1:5]\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "    def do_POST(self):\n"
    "        self.rfile.read(int(self.headers.get('Content-Length', '0')))\n"
    "        with open(log, 'a') as f:\n"
    "            f.write(self.path + '\\n')\n"
    "        self.send_response(200)\n"
    "        self.send_header('Content-Length', '0')\n"
    "        self.send_header('Connection', 'close')\n"
    "        self.end_headers()\n"
    "srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
    "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
    "ctx.load_cert_chain(cert, key)\n"
    "srv.socket = ctx.wrap_socket(srv.socket, server_side=True)\n"
    "threading.Timer(60, os._exit, [0]).start()\n"
    "with open(port_file + '.tmp', 'w') as f:\n"
    "    f.write('%d\\n' % srv.server_address[1])\n"
    "os.rename(port_file + '.tmp', port_file)\n"
    "srv.serve_forever()\n";

static pid_t
tls_receiver_start(int *port)
{
	const char	*py = getenv("PYTHON3");
	char		 cmd[1024], cert[128], key[128], pfile[128], log[128];
	char		 errf[128];
	FILE		*fp;
	pid_t		 pid;
	int		 i, fd;

	if (py == NULL || *py == '\0')
		py = "python3";
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(pfile, sizeof(pfile), "%s/tls.port", dir);
	snprintf(log, sizeof(log), "%s/tls.log", dir);
	snprintf(errf, sizeof(errf), "%s/tls.err", dir);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 "
	    "-addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' "
	    ">'%s' 2>&1", key, cert, errf);
	ck_assert_msg(system(cmd) == 0, "cannot make a certificate with the "
	    "openssl command (see %s)", errf);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		/* Never outlive the test, whatever becomes of it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd != -1) {
			dup2(fd, 2);
			close(fd);
		}
		execlp(py, py, "-c", tls_receiver_py, pfile, cert, key, log,
		    (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", py, strerror(errno));
		_exit(127);
	}
	*port = 0;
	for (i = 0; i < 200 && *port == 0; i++) {
		fp = fopen(pfile, "r");
		if (fp != NULL) {
			if (fscanf(fp, "%d", port) != 1)
				*port = 0;
			fclose(fp);
		}
		if (*port == 0)
			poll(NULL, 0, 50);
	}
	if (*port == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ck_abort_msg("the TLS receiver did not start (see %s)", errf);
	}
	return pid;
}

/* Requests the TLS receiver has answered. */
static int
tls_requests(void)
{
	char	 path[128], line[256];
	FILE	*fp;
	int	 n = 0;

	snprintf(path, sizeof(path), "%s/tls.log", dir);
	fp = fopen(path, "r");
	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		n += strcmp(line, "/tls\n") == 0;
	fclose(fp);
	return n;
}

/*
 * tls_verify = yes (the default) refuses a receiver whose certificate no
 * CA signed: the row waits with the reason, and nothing was posted; with
 * tls_verify = no the same row goes through.
 */
START_TEST(test_tls_verify)
{
	char		 u[128], err[512] = "";
	long		 attempts = 0;
	long long	 id, deadline;
	pid_t		 pid;
	int		 port;

	pid = tls_receiver_start(&port);
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/tls", port);
	id = queue("webhook", u, "{\"type\":\"journey.updated\"}", "evt_TLS",
	    time(NULL));
	ck_assert_int_eq(conf->tls_verify, 1);
	ck_assert_int_eq(jm_outbox_start(conf, store), 0);
	deadline = now_ms() + WAIT_MAX_MS;
	while (now_ms() < deadline && (row_state(id, &attempts, NULL, err,
	    sizeof(err)) != JM_OUTBOX_PENDING || attempts < 1))
		poll(NULL, 0, 50);
	jm_outbox_stop();
	ck_assert_int_eq(row_state(id, &attempts, NULL, err, sizeof(err)),
	    JM_OUTBOX_PENDING);
	ck_assert_int_ge(attempts, 1);
	ck_assert_msg(strstr(err, "certificate") != NULL, "error: %s", err);
	ck_assert_int_eq(tls_requests(), 0);

	set("tls_verify", "no");
	ck_assert_int_eq(jm_outbox_start(conf, store), 0);
	{
		const struct want w[] = { { id, JM_OUTBOX_DONE } };

		wait_for(w, 1);
	}
	jm_outbox_stop();
	ck_assert_int_eq(tls_requests(), 1);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(test_backoff)
{
	/* Doubling from the minimum, capped, jittered by at most 20%. */
	ck_assert_int_eq(jm_outbox_backoff(10, 1, 0.5), 10);
	ck_assert_int_eq(jm_outbox_backoff(10, 2, 0.5), 20);
	ck_assert_int_eq(jm_outbox_backoff(10, 4, 0.5), 80);
	ck_assert_int_eq(jm_outbox_backoff(10, 30, 0.5), JM_OUTBOX_BACKOFF_MAX);
	ck_assert_int_eq(jm_outbox_backoff(10, 1000000, 0.5),
	    JM_OUTBOX_BACKOFF_MAX);
	ck_assert_int_eq(jm_outbox_backoff(10, 1, 0.0), 8);
	ck_assert_int_eq(jm_outbox_backoff(10, 1, 0.999999), 12);
	ck_assert_int_eq(jm_outbox_backoff(7200, 3, 0.5), 7200);
	ck_assert_int_eq(jm_outbox_backoff(1, 1, 0.0), 1);
}
END_TEST

static const struct retry_after_case {
	const char	*value;
	int		 rc;
	long		 want;
} retry_after_cases[] = {
	{ "120", 0, 120 },
	{ " 5\r\n", 0, 5 },
	{ "0", 0, 0 },
	{ "Sun, 06 Nov 1994 08:49:37 GMT", 0, 0 },	/* in the past */
	{ "Wed, 01 May 2024 12:01:40 GMT", 0, 100 },
	{ "-3", -1, 0 },
	{ "soon", -1, 0 },
	{ "12abc", -1, 0 },
};

START_TEST(test_retry_after)
{
	const struct retry_after_case *c = &retry_after_cases[_i];
	long	secs = -7;

	/* NOW is 2024-05-01T12:00:00Z. */
	ck_assert_int_eq(jm_outbox_retry_after(c->value, 1714564800, &secs),
	    c->rc);
	if (c->rc == 0)
		ck_assert_int_eq(secs, c->want);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("outbox");
	TCase	*net = tcase_create("delivery");
	TCase	*pure = tcase_create("pure");
	SRunner	*sr;
	int	 failed;

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	jm_log_init("test_outbox", 1);
	jm_log_set_level(LOG_DEBUG);

	tcase_add_checked_fixture(net, setup, teardown);
	tcase_set_timeout(net, 40);
	tcase_add_test(net, test_http_outcomes);
	tcase_add_test(net, test_resume_after_restart);
	tcase_add_test(net, test_chat_rate_limit);
	tcase_add_test(net, test_chat_target_rate);
	tcase_add_test(net, test_smtp);
	tcase_add_test(net, test_tls_verify);
	suite_add_tcase(s, net);
	tcase_add_test(pure, test_backoff);
	tcase_add_loop_test(pure, test_retry_after, 0,
	    sizeof(retry_after_cases) / sizeof(retry_after_cases[0]));
	suite_add_tcase(s, pure);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
