/*
 * conf.c: the configuration table and the parser of journey-milter.conf.
 *
 * One row per key: name, type, default, bounds, field and one line of
 * documentation.  The defaults are applied by parsing the "def" column with
 * the same code that parses the file, so a default can never be a value
 * the parser would refuse.  The file is "key = value" lines and "#"
 * comments; an unknown key, a bad value or a scalar key given twice is an
 * error reported as "file:line: message", and every error in the file is
 * reported, not just the first.
 *
 * Deliberately not here: rules and templates (rules.c, template.c), and
 * anything that touches the system (opening sockets, files named by keys).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "journey/chat.h"
#include "journey/conf.h"
#include "journey/journey.h"
#include "journey/log.h"
#include "journey/store_redis.h"

#ifndef JM_SYSCONFDIR
#define JM_SYSCONFDIR	"/etc"
#endif
#ifndef JM_LOCALSTATEDIR
#define JM_LOCALSTATEDIR "/var"
#endif
#ifndef JM_RUNSTATEDIR
#define JM_RUNSTATEDIR	"/run"
#endif

#define CONF_LINE_MAX	8192

static int	check_socket(const char *, char *, size_t);
static int	check_log_level(const char *, char *, size_t);
static int	check_on_error(const char *, char *, size_t);
static int	check_state(const char *, char *, size_t);
static int	check_redis_down(const char *, char *, size_t);
static int	check_stage(const char *, char *, size_t);
static int	check_url(const char *, char *, size_t);
static int	check_urls(const char *, char *, size_t);
static int	check_smtp_url(const char *, char *, size_t);
static int	check_chat_target(const char *, char *, size_t);
static int	check_language(const char *, char *, size_t);

#define F(field)	offsetof(struct jm_conf, field)
#define KB		1024L
#define MB		(1024L * 1024L)
#define DAY		86400L

static const struct jm_conf_key keys[] = {
	/* The daemon. */
	{ "socket", JM_CONF_STRING,
	    "unix:" JM_RUNSTATEDIR "/journey-milter/journey-milter.sock",
	    0, 0, F(socket), check_socket,
	    "where Postfix connects: unix:/path, inet:PORT@HOST or inet:HOST:PORT" },
	{ "user", JM_CONF_STRING, "journey", 0, 0, F(user), NULL,
	    "user to run as after start (empty: stay as started)" },
	{ "group", JM_CONF_STRING, "", 0, 0, F(group), NULL,
	    "group to run as (empty: the user's primary group)" },
	{ "allow_root", JM_CONF_BOOL, "no", 0, 0, F(allow_root), NULL,
	    "start even if that leaves the daemon running as root (not advised)" },
	{ "pid_file", JM_CONF_PATH,
	    JM_RUNSTATEDIR "/journey-milter/journey-milter.pid", 0, 0,
	    F(pid_file), NULL, "file holding the daemon's process id (empty: none)" },
	{ "state_dir", JM_CONF_PATH, JM_LOCALSTATEDIR "/lib/journey-milter",
	    0, 0, F(state_dir), NULL,
	    "directory of the journey store and the outbox" },
	{ "rules_dir", JM_CONF_PATH, JM_SYSCONFDIR "/journey-milter/rules",
	    0, 0, F(rules_dir), NULL,
	    "directory of the *.rules files and the replies/ templates" },
	{ "log_level", JM_CONF_STRING, "info", 0, 0, F(log_level),
	    check_log_level, "least important syslog level logged: err, warning, notice, info or debug" },
	{ "on_error", JM_CONF_STRING, "accept", 0, 0, F(on_error),
	    check_on_error, "what an internal error does to the message: accept (fail open) or tempfail" },

	/* Where the journey state lives. */
	{ "state", JM_CONF_STRING, "sqlite", 0, 0, F(state), check_state,
	    "sqlite (this host alone, in state_dir) or redis://[:password@]host[:port][/db], rediss:// for TLS (shared by several MX hosts)" },
	{ "redis_password_file", JM_CONF_PATH, "", 0, 0,
	    F(redis_password_file), NULL,
	    "file holding the Redis password (empty: the one in state, if any)" },
	{ "redis_timeout", JM_CONF_INT, "200", 10, 10000, F(redis_timeout),
	    NULL, "milliseconds a message may wait on Redis before it is handled without it" },
	{ "redis_key_prefix", JM_CONF_STRING, "jm:", 0, 0, F(redis_key_prefix),
	    NULL, "prefix of every Redis key, so that fleets can share a server" },
	{ "redis_down", JM_CONF_STRING, "withhold", 0, 0, F(redis_down),
	    check_redis_down,
	    "acknowledgements while Redis is unreachable: withhold (never two) or send (each host decides alone)" },
	{ "redis_tls_ca_file", JM_CONF_PATH, "", 0, 0,
	    F(redis_tls_ca_file), NULL,
	    "CA certificates (PEM) that the Redis server's certificate must chain to, with rediss:// (empty: the system's)" },
	{ "redis_tls_cert_file", JM_CONF_PATH, "", 0, 0,
	    F(redis_tls_cert_file), NULL,
	    "client certificate (PEM, with its chain) shown to Redis over rediss:// (empty: none)" },
	{ "redis_tls_key_file", JM_CONF_PATH, "", 0, 0,
	    F(redis_tls_key_file), NULL,
	    "unencrypted private key of redis_tls_cert_file (empty: in that file)" },
	{ "redis_tls_server_name", JM_CONF_STRING, "", 0, 0,
	    F(redis_tls_server_name), NULL,
	    "name or IP address the Redis certificate must carry, also sent as SNI (empty: the host of state)" },
	{ "redis_tls_verify", JM_CONF_BOOL, "yes", 0, 0, F(redis_tls_verify),
	    NULL, "verify the Redis server's certificate and name (no: tests only)" },

	/* Which mail is watched. */
	{ "watch_recipients", JM_CONF_LIST, "", 0, 0, F(watch_recipients), NULL,
	    "support addresses or domains whose inbound mail is classified (empty: none)" },
	{ "skip_authenticated", JM_CONF_BOOL, "yes", 0, 0,
	    F(skip_authenticated), NULL,
	    "pass mail from SASL-authenticated clients untouched (it is outbound)" },
	{ "max_scan_bytes", JM_CONF_SIZE, "64k", 1 * KB, 16 * MB,
	    F(max_scan_bytes), NULL, "most bytes of decoded text that the rules read" },
	{ "max_body_bytes", JM_CONF_SIZE, "1m", 4 * KB, 64 * MB,
	    F(max_body_bytes), NULL, "most bytes of the raw body kept for parsing; the rest passes unread" },
	{ "max_headers", JM_CONF_INT, "1000", 10, 100000, F(max_headers), NULL,
	    "most header fields kept per message; the rest pass unread" },
	{ "default_language", JM_CONF_STRING, "en", 0, 0, F(default_language),
	    check_language, "language of a message that nothing else identifies" },

	/* The journey and the CRM webhook. */
	{ "initial_stage", JM_CONF_STRING, "assess", 0, 0, F(initial_stage),
	    check_stage, "journey stage of a customer seen for the first time" },
	{ "journey_webhook_url", JM_CONF_LIST, "", 0, 0, F(journey_webhook_url),
	    check_urls, "CRM endpoints that receive every journey event (empty: none)" },
	{ "journey_webhook_secret_file", JM_CONF_PATH, "", 0, 0,
	    F(journey_webhook_secret_file), NULL,
	    "file holding the webhook signing secret (whsec_... or raw); empty: unsigned" },
	{ "webhook_timeout", JM_CONF_TIME, "10s", 1, 300, F(webhook_timeout),
	    NULL, "longest one delivery attempt may take" },
	{ "retry_min_interval", JM_CONF_TIME, "10s", 1, DAY,
	    F(retry_min_interval), NULL, "first retry delay; it doubles, with jitter, per attempt" },
	{ "max_retry_age", JM_CONF_TIME, "24h", 1, 30 * DAY, F(max_retry_age),
	    NULL, "age after which an undelivered event is dead-lettered" },
	{ "tls_verify", JM_CONF_BOOL, "yes", 0, 0, F(tls_verify), NULL,
	    "verify HTTPS and SMTP TLS certificates and host names" },

	/* Acknowledgements. */
	{ "ack_smtp_url", JM_CONF_STRING, "smtp://127.0.0.1:25", 0, 0,
	    F(ack_smtp_url), check_smtp_url,
	    "where acknowledgements are submitted: smtp://, smtps:// or submission with AUTH" },
	{ "ack_smtp_user", JM_CONF_STRING, "", 0, 0, F(ack_smtp_user), NULL,
	    "SMTP AUTH user for ack_smtp_url (empty: no AUTH)" },
	{ "ack_smtp_password_file", JM_CONF_PATH, "", 0, 0,
	    F(ack_smtp_password_file), NULL, "file holding the SMTP AUTH password" },
	{ "ack_from", JM_CONF_STRING, "", 0, 0, F(ack_from), NULL,
	    "From of acknowledgements, e.g. Support <support@example.com> (empty: no acknowledgements)" },
	{ "ack_envelope_sender", JM_CONF_STRING, "", 0, 0,
	    F(ack_envelope_sender), NULL,
	    "envelope sender of acknowledgements (empty: the null sender <>)" },
	{ "support_name", JM_CONF_STRING, "Customer Support", 0, 0,
	    F(support_name), NULL, "the team's name, {{support_name}} in templates" },
	{ "cancellation_offer", JM_CONF_STRING, "", 0, 0,
	    F(cancellation_offer), NULL, "retention offer, {{cancellation_offer}} in templates" },
	{ "reply_off", JM_CONF_LIST, "", 0, 0, F(reply_off), NULL,
	    "categories never acknowledged, whatever their rules say" },
	{ "ack_interval", JM_CONF_TIME, "24h", 0, 30 * DAY, F(ack_interval),
	    NULL, "one acknowledgement per customer and category within this time" },
	{ "ack_max_per_day", JM_CONF_INT, "3", 0, 1000, F(ack_max_per_day), NULL,
	    "most acknowledgements to one customer per 24 hours" },
	{ "ack_max_per_minute", JM_CONF_INT, "60", 0, 100000,
	    F(ack_max_per_minute), NULL, "most acknowledgements to anyone per minute" },
	{ "ack_role_senders", JM_CONF_LIST,
	    "mailer-daemon postmaster listserv majordomo noreply no-reply "
	    "donotreply do-not-reply bounce bounces *-request owner-*",
	    0, 0, F(ack_role_senders), NULL,
	    "local parts never answered (* matches any run of characters)" },
	{ "support_addresses", JM_CONF_LIST, "", 0, 0, F(support_addresses), NULL,
	    "our own addresses, never answered (empty: the addresses in watch_recipients)" },
	{ "authserv_id", JM_CONF_STRING, "", 0, 0, F(authserv_id), NULL,
	    "authserv-id whose Authentication-Results are trusted (empty: none)" },

	/* Escalation to chat. */
	{ "chat_target", JM_CONF_LINES, "", 0, 0, F(chat_target),
	    check_chat_target,
	    "NAME FORMAT URL [CATEGORY,...] [OPTION=VALUE ...]: a chat webhook (slack, mattermost, teams, discord, googlechat, json) for the categories listed (*: all; none: those the rules mark escalate); repeatable" },
	{ "chat_link_template", JM_CONF_STRING, "", 0, 0,
	    F(chat_link_template), NULL,
	    "link in escalations; {{message_id}} and {{ticket}} are replaced, URL-encoded" },
	{ "escalation_window", JM_CONF_TIME, "72h", 0, 30 * DAY,
	    F(escalation_window), NULL, "one escalation per thread within this time" },
	{ "chat_rate_limit", JM_CONF_INT, "30", 0, JM_CHAT_RATE_MAX,
	    F(chat_rate_limit), NULL,
	    "most escalations per chat target per minute (a target's rate= overrides it)" },
};

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

const struct jm_conf_key *
jm_conf_keys(size_t *n)
{
	*n = NKEYS;
	return keys;
}

static const struct jm_conf_key *
find_key(const char *name)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

int
jm_conf_parse_bool(const char *s, int *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t	i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* A whole number with an optional one-letter unit from UNITS. */
static int
parse_scaled(const char *s, const char *units, const long *scale, long *out)
{
	char		*end;
	const char	*u;
	long		 v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		if (end[1] != '\0')
			return -1;
		u = strchr(units, tolower((unsigned char)*end));
		if (u == NULL)
			return -1;
		if (v > LONG_MAX / scale[u - units])
			return -1;
		v *= scale[u - units];
	}
	*out = v;
	return 0;
}

int
jm_conf_parse_size(const char *s, long *out)
{
	static const long scale[] = { 1024L, 1024L * 1024, 1024L * 1024 * 1024 };

	return parse_scaled(s, "kmg", scale, out);
}

int
jm_conf_parse_time(const char *s, long *out)
{
	static const long scale[] = { 1, 60, 3600, 86400, 7 * 86400 };

	return parse_scaled(s, "smhdw", scale, out);
}

static int
list_add(struct jm_strlist *l, const char *s, size_t n)
{
	char	**v, *p;

	p = strndup(s, n);
	if (p == NULL)
		return -1;
	v = realloc(l->v, (l->n + 2) * sizeof(*v));
	if (v == NULL) {
		free(p);
		return -1;
	}
	l->v = v;
	l->v[l->n++] = p;
	l->v[l->n] = NULL;
	return 0;
}

static void
list_free(struct jm_strlist *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
list_split(struct jm_strlist *l, const char *value)
{
	const char	*p = value, *start;

	for (;;) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			return 0;
		start = p;
		while (*p != '\0' && *p != ',' && !isspace((unsigned char)*p))
			p++;
		if (list_add(l, start, (size_t)(p - start)) == -1)
			return -1;
	}
}

/*
 * Sets one key.  Fields of type STRING that name an enum (log_level,
 * on_error, redis_down) are stored as ints: their check function has
 * accepted the value already.
 */
static int
set_key(struct jm_conf *c, const struct jm_conf_key *k, const char *value,
    char *why, size_t whylen)
{
	char	*field = (char *)c + k->offset;
	long	 v;
	int	 b;

	if (k->check != NULL && k->check(value, why, whylen) == -1)
		return -1;

	if (k->offset == offsetof(struct jm_conf, log_level)) {
		*(int *)field = jm_log_level_parse(value);
		return 0;
	}
	if (k->offset == offsetof(struct jm_conf, on_error)) {
		*(int *)field = strcasecmp(value, "tempfail") == 0 ?
		    JM_ON_ERROR_TEMPFAIL : JM_ON_ERROR_ACCEPT;
		return 0;
	}
	if (k->offset == offsetof(struct jm_conf, redis_down)) {
		*(int *)field = strcasecmp(value, "send") == 0 ?
		    JM_REDIS_DOWN_SEND : JM_REDIS_DOWN_WITHHOLD;
		return 0;
	}

	switch (k->type) {
	case JM_CONF_STRING:
	case JM_CONF_PATH: {
		char	*p;

		/*
		 * A relative path is the configuration file's neighbour, not
		 * the current directory's: the daemon changes to / when it
		 * goes into the background, and a reload must find the same
		 * files as the start did.
		 */
		if (k->type == JM_CONF_PATH && value[0] != '\0' &&
		    value[0] != '/' && c->path != NULL &&
		    strrchr(c->path, '/') != NULL) {
			if (asprintf(&p, "%.*s/%s",
			    (int)(strrchr(c->path, '/') - c->path), c->path,
			    value) == -1)
				p = NULL;
		} else
			p = strdup(value);
		if (p == NULL)
			goto oom;
		free(*(char **)field);
		*(char **)field = p;
		return 0;
	}
	case JM_CONF_BOOL:
		if (jm_conf_parse_bool(value, &b) == -1) {
			snprintf(why, whylen, "\"%s\" is not yes or no", value);
			return -1;
		}
		*(int *)field = b;
		return 0;
	case JM_CONF_INT:
	case JM_CONF_SIZE:
	case JM_CONF_TIME: {
		int	rc;

		if (k->type == JM_CONF_SIZE)
			rc = jm_conf_parse_size(value, &v);
		else if (k->type == JM_CONF_TIME)
			rc = jm_conf_parse_time(value, &v);
		else
			rc = parse_scaled(value, "", NULL, &v);
		if (rc == -1) {
			snprintf(why, whylen, "\"%s\" is not %s", value,
			    k->type == JM_CONF_SIZE ? "a size (like 64k or 1m)" :
			    k->type == JM_CONF_TIME ? "a time (like 30s, 10m or 24h)" :
			    "a whole number");
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(why, whylen, "%s must be between %ld and %ld",
			    k->name, k->min, k->max);
			return -1;
		}
		*(long *)field = v;
		return 0;
	}
	case JM_CONF_LIST:
		if (list_split((struct jm_strlist *)field, value) == -1)
			goto oom;
		return 0;
	case JM_CONF_LINES:
		if (*value != '\0' &&
		    list_add((struct jm_strlist *)field, value, strlen(value)) == -1)
			goto oom;
		return 0;
	}
oom:
	snprintf(why, whylen, "out of memory");
	return -1;
}

int
jm_conf_set(struct jm_conf *c, const char *key, const char *value,
    char *why, size_t whylen)
{
	const struct jm_conf_key *k;

	k = find_key(key);
	if (k == NULL) {
		snprintf(why, whylen, "unknown key \"%s\"", key);
		return -1;
	}
	return set_key(c, k, value, why, whylen);
}

static struct jm_conf *
conf_defaults(void)
{
	struct jm_conf	*c;
	char		 why[256];
	size_t		 i;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->refs = 1;
	for (i = 0; i < NKEYS; i++) {
		if (set_key(c, &keys[i], keys[i].def, why, sizeof(why)) == -1) {
			/* A default the parser refuses is a bug in the table. */
			jm_conf_unref(c);
			return NULL;
		}
	}
	return c;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

/* Keys that hold lists start empty in the file: defaults are replaced, not extended. */
static void
reset_list_once(struct jm_conf *c, const struct jm_conf_key *k,
    unsigned char *seen)
{
	if (k->type != JM_CONF_LIST && k->type != JM_CONF_LINES)
		return;
	if (seen[k - keys] == 0)
		list_free((struct jm_strlist *)((char *)c + k->offset));
}

int
jm_conf_load(const char *path, struct jm_diag *d, struct jm_conf **out)
{
	struct jm_conf	*c;
	FILE		*fp;
	char		 line[CONF_LINE_MAX], why[512], *key, *value, *eq;
	unsigned	 lineno = 0, first[NKEYS];
	unsigned char	 seen[NKEYS];
	size_t		 errors = d->n;
	const struct jm_conf_key *k;

	*out = NULL;
	c = conf_defaults();
	if (c == NULL) {
		jm_diag_add(d, path, 0, "out of memory");
		return -1;
	}
	if (path == NULL) {
		*out = c;
		return 0;
	}
	c->path = strdup(path);
	fp = fopen(path, "r");
	if (fp == NULL) {
		jm_diag_add(d, path, 0, "cannot open: %s", strerror(errno));
		jm_conf_unref(c);
		return -1;
	}
	memset(seen, 0, sizeof(seen));
	memset(first, 0, sizeof(first));
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t	len = strlen(line);

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			int	ch;

			jm_diag_add(d, path, lineno, "line longer than %d bytes",
			    CONF_LINE_MAX - 2);
			while ((ch = fgetc(fp)) != EOF && ch != '\n')
				;
			continue;
		}
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (eq == NULL) {
			jm_diag_add(d, path, lineno,
			    "expected \"key = value\", got \"%.40s\"", key);
			continue;
		}
		*eq = '\0';
		value = trim(eq + 1);
		key = trim(key);
		k = find_key(key);
		if (k == NULL) {
			jm_diag_add(d, path, lineno, "unknown key \"%s\"", key);
			continue;
		}
		if (seen[k - keys] && k->type != JM_CONF_LIST &&
		    k->type != JM_CONF_LINES) {
			jm_diag_add(d, path, lineno,
			    "%s is already set at line %u", key, first[k - keys]);
			continue;
		}
		reset_list_once(c, k, seen);
		if (set_key(c, k, value, why, sizeof(why)) == -1) {
			jm_diag_add(d, path, lineno, "%s: %s", key, why);
			continue;
		}
		if (!seen[k - keys])
			first[k - keys] = lineno;
		seen[k - keys] = 1;
	}
	if (ferror(fp))
		jm_diag_add(d, path, 0, "read error: %s", strerror(errno));
	fclose(fp);
	if (d->n > errors) {
		jm_conf_unref(c);
		return -1;
	}
	*out = c;
	return 0;
}

struct jm_conf *
jm_conf_ref(struct jm_conf *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_SEQ_CST);
	return c;
}

void
jm_conf_unref(struct jm_conf *c)
{
	size_t	i;

	if (c == NULL)
		return;
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_SEQ_CST) > 0)
		return;
	for (i = 0; i < NKEYS; i++) {
		char	*field = (char *)c + keys[i].offset;

		if (keys[i].offset == offsetof(struct jm_conf, log_level) ||
		    keys[i].offset == offsetof(struct jm_conf, on_error) ||
		    keys[i].offset == offsetof(struct jm_conf, redis_down))
			continue;
		if (keys[i].type == JM_CONF_STRING ||
		    keys[i].type == JM_CONF_PATH)
			free(*(char **)field);
		else if (keys[i].type == JM_CONF_LIST ||
		    keys[i].type == JM_CONF_LINES)
			list_free((struct jm_strlist *)field);
	}
	free(c->path);
	free(c);
}

int
jm_conf_watched(const struct jm_conf *c, const char *rcpt)
{
	const char	*at, *w, *s, *e;
	size_t		 i, n;

	s = rcpt;
	while (*s == '<' || isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == '>' || isspace((unsigned char)e[-1])))
		e--;
	n = (size_t)(e - s);
	at = memchr(s, '@', n);

	for (i = 0; i < c->watch_recipients.n; i++) {
		w = c->watch_recipients.v[i];
		if (strchr(w, '@') != NULL && *w != '@') {
			if (strlen(w) == n && strncasecmp(w, s, n) == 0)
				return 1;
			continue;
		}
		if (*w == '@')
			w++;
		if (at != NULL && strlen(w) == (size_t)(e - at - 1) &&
		    strncasecmp(w, at + 1, (size_t)(e - at - 1)) == 0)
			return 1;
	}
	return 0;
}

/* Check functions: 0, or -1 with the reason in WHY. */

static int
check_socket(const char *v, char *why, size_t whylen)
{
	const char	*rest;

	if (strncmp(v, "unix:", 5) == 0 || strncmp(v, "local:", 6) == 0) {
		rest = strchr(v, ':') + 1;
		if (*rest != '/') {
			snprintf(why, whylen, "\"%s\": the path must be absolute", v);
			return -1;
		}
		if (strlen(rest) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(why, whylen, "\"%s\": the path is %zu bytes, "
			    "a unix socket's at most %zu", v, strlen(rest),
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return -1;
		}
		return 0;
	}
	if (strncmp(v, "inet:", 5) == 0 || strncmp(v, "inet6:", 6) == 0) {
		char	 port[16];
		size_t	 n;

		rest = strchr(v, ':') + 1;
		/* inet:PORT@HOST (libmilter) or inet:HOST:PORT (Postfix) */
		n = strcspn(rest, "@");
		if (rest[n] != '@') {
			const char *colon = strrchr(rest, ':');

			if (colon == NULL) {
				n = strlen(rest);
			} else {
				rest = colon + 1;
				n = strlen(rest);
			}
		}
		if (n == 0 || n >= sizeof(port)) {
			snprintf(why, whylen, "\"%s\": no port", v);
			return -1;
		}
		memcpy(port, rest, n);
		port[n] = '\0';
		if (strspn(port, "0123456789") != n || atoi(port) < 1 ||
		    atoi(port) > 65535) {
			snprintf(why, whylen, "\"%s\": bad port \"%s\"", v, port);
			return -1;
		}
		return 0;
	}
	snprintf(why, whylen,
	    "\"%s\" is not unix:/path, inet:PORT@HOST or inet:HOST:PORT", v);
	return -1;
}

static int
check_log_level(const char *v, char *why, size_t whylen)
{
	if (jm_log_level_parse(v) == -1) {
		snprintf(why, whylen,
		    "\"%s\" is not err, warning, notice, info or debug", v);
		return -1;
	}
	return 0;
}

static int
check_on_error(const char *v, char *why, size_t whylen)
{
	if (strcasecmp(v, "accept") != 0 && strcasecmp(v, "tempfail") != 0) {
		snprintf(why, whylen, "\"%s\" is not accept or tempfail", v);
		return -1;
	}
	return 0;
}

static int
check_state(const char *v, char *why, size_t whylen)
{
	struct jm_redis_url	u;

	if (strcmp(v, "sqlite") == 0)
		return 0;
	if (strncmp(v, "redis://", 8) != 0 && strncmp(v, "rediss://", 9) != 0) {
		snprintf(why, whylen, "\"%s\" is not sqlite or a redis:// URL",
		    v);
		return -1;
	}
	return jm_redis_url_parse(v, &u, why, whylen);
}

static int
check_redis_down(const char *v, char *why, size_t whylen)
{
	if (strcasecmp(v, "withhold") != 0 && strcasecmp(v, "send") != 0) {
		snprintf(why, whylen, "\"%s\" is not withhold or send", v);
		return -1;
	}
	return 0;
}

static int
check_stage(const char *v, char *why, size_t whylen)
{
	enum jm_stage	s;

	if (jm_stage_parse(v, &s) == -1 || s == JM_STAGE_EXITED) {
		snprintf(why, whylen, "\"%s\" is not a journey stage (assess, "
		    "admit, affirm, activate, acclimate, accomplish, adopt, "
		    "advocate)", v);
		return -1;
	}
	return 0;
}

static int
check_url(const char *v, char *why, size_t whylen)
{
	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
		snprintf(why, whylen, "\"%s\" is not an http:// or https:// URL", v);
		return -1;
	}
	return 0;
}

static int
check_urls(const char *v, char *why, size_t whylen)
{
	struct jm_strlist	l = { NULL, 0 };
	size_t			i;
	int			rc = 0;

	if (list_split(&l, v) == -1) {
		list_free(&l);		/* what was split before memory ran out */
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (i = 0; i < l.n && rc == 0; i++)
		rc = check_url(l.v[i], why, whylen);
	list_free(&l);
	return rc;
}

static int
check_smtp_url(const char *v, char *why, size_t whylen)
{
	if (strncmp(v, "smtp://", 7) != 0 && strncmp(v, "smtps://", 8) != 0) {
		snprintf(why, whylen, "\"%s\" is not an smtp:// or smtps:// URL", v);
		return -1;
	}
	return 0;
}

/* The whole line, as policy.c will read it, so that errors have a line. */
static int
check_chat_target(const char *v, char *why, size_t whylen)
{
	return jm_chat_target_check(v, why, whylen);
}

static int
check_language(const char *v, char *why, size_t whylen)
{
	size_t	n = strlen(v);

	if (n < 2 || n > 8 || strspn(v, "abcdefghijklmnopqrstuvwxyz-") != n) {
		snprintf(why, whylen, "\"%s\" is not a language code like en, tr or fa", v);
		return -1;
	}
	return 0;
}
