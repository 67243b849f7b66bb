/*
 * chat.c: chat targets, escalation links, and what the payload formats
 * share (the cleaned view of an escalation, excerpts, escaping).
 *
 * A customer's words end up in a channel the whole support team reads, so
 * everything taken from the message is treated as hostile here: it is
 * made valid UTF-8, flattened to one line, cut to a bound at a character
 * boundary, and each format escapes it the way its service documents.
 * One file per service (chat_slack.c, ...) holds only that service's
 * document shape.
 *
 * Deliberately not here: sending (the outbox POSTs the payload and
 * handles retries, Retry-After and rate limits), deciding whether to
 * escalate (decide.c), and the CRM event itself (webhook.c), which the
 * json format sends as it was given.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journey/buf.h"
#include "journey/chat.h"
#include "journey/journey.h"
#include "chat_priv.h"

/* No single field of a payload comes near this; it only bounds the buffers. */
#define CHAT_BUF_MAX	(4 * JM_CHAT_EXCERPT_LIMIT)

/* Values substituted into a link are cut here before encoding. */
#define LINK_VALUE_MAX	2048

static const struct jm_chat_format_ops *const formats[] = {
	&jm_chat_slack,
	&jm_chat_mattermost,
	&jm_chat_teams,
	&jm_chat_discord,
	&jm_chat_googlechat,
	&jm_chat_json,
};

#define NFORMATS	(sizeof(formats) / sizeof(formats[0]))

const struct jm_chat_format_ops *const *
jm_chat_formats(size_t *n)
{
	*n = NFORMATS;
	return formats;
}

const struct jm_chat_format_ops *
jm_chat_format_find(const char *name)
{
	size_t	i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < NFORMATS; i++)
		if (strcmp(formats[i]->name, name) == 0)
			return formats[i];
	return NULL;
}

/* Targets. */

static int
valid_name(const char *s)
{
	size_t	n = strlen(s);

	return n > 0 && n <= CHAT_NAME_MAX && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n;
}

static int
add_word(char ***v, size_t *n, const char *s, size_t len)
{
	char	**nv, *p;

	p = strndup(s, len);
	if (p == NULL)
		return -1;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (nv == NULL) {
		free(p);
		return -1;
	}
	*v = nv;
	(*v)[(*n)++] = p;
	return 0;
}

/* Splits S at commas and white space: a list of categories. */
static int
split_list(const char *s, char ***v, size_t *n)
{
	const char	*start;

	for (;;) {
		while (isspace((unsigned char)*s) || *s == ',')
			s++;
		if (*s == '\0')
			return 0;
		start = s;
		while (*s != '\0' && !isspace((unsigned char)*s) && *s != ',')
			s++;
		if (add_word(v, n, start, (size_t)(s - start)) == -1)
			return -1;
	}
}

/*
 * Splits a chat_target line at white space.  A double-quoted run belongs
 * to its word, white space and all, and loses its quotes, so that
 * username="Retention desk" is one word.  0; -1 when memory runs out; -2
 * for a quote left open.
 */
static int
split_line(const char *s, char ***v, size_t *n)
{
	struct jm_buf	b;
	int		quoted, rc;

	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			return 0;
		jm_buf_init(&b, strlen(s));
		quoted = rc = 0;
		for (; *s != '\0' && (quoted || !isspace((unsigned char)*s)) &&
		    rc == 0; s++) {
			if (*s == '"')
				quoted = !quoted;
			else
				rc = jm_buf_append(&b, s, 1);
		}
		if (rc == 0 && quoted)
			rc = -2;
		if (rc == 0)
			rc = add_word(v, n, jm_buf_cstr(&b), b.len);
		jm_buf_free(&b);
		if (rc != 0)
			return rc;
	}
}

static void
free_words(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
target_clear(struct jm_chat_target *t)
{
	free(t->name);
	free(t->url);
	free_words(t->categories, t->n_categories);
	free(t->username);
	free(t->icon_url);
	free(t->icon_emoji);
	free(t->channel);
	memset(t, 0, sizeof(*t));
}

/*
 * Where a target's error is: its position in the list and, once read, its
 * name.  Position 0 is one configuration value checked alone, whose file
 * and line the caller gives.
 */
struct where {
	size_t		 lineno;
	const char	*name;
};

static void fail(char *, size_t, const struct where *, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static void
fail(char *why, size_t whylen, const struct where *at, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at->lineno == 0)
		snprintf(why, whylen, "%s", msg);
	else if (at->name != NULL)
		snprintf(why, whylen, "chat_target \"%s\": %s", at->name, msg);
	else
		snprintf(why, whylen, "chat_target %zu: %s", at->lineno, msg);
}

static int
http_url(const char *s)
{
	return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

/* Text the chat shows as it is: what jm_chat_excerpt() leaves alone. */
static int
plain_text(const char *s, size_t max, int *oom)
{
	char	*clean = jm_chat_excerpt(s, strlen(s), max);
	int	 same;

	if (clean == NULL) {
		*oom = 1;
		return 0;
	}
	same = *s != '\0' && strcmp(clean, s) == 0;
	free(clean);
	return same;
}

/* A URL that can go into a payload whole: printable ASCII, bounded. */
static int
plain_url(const char *s)
{
	const char	*p;

	if (!http_url(s) || strlen(s) > CHAT_LINK_MAX)
		return 0;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F)
			return 0;
	return 1;
}

/* Mattermost's emoji names, with or without the colons around them. */
static int
emoji_name(const char *s)
{
	size_t	n = strlen(s);

	if (n >= 2 && s[0] == ':' && s[n - 1] == ':') {
		s++;
		n -= 2;
	}
	return n > 0 && n <= CHAT_NAME_MAX &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_+-") == n;
}

/*
 * A channel's name (its URL handle, "town-square", not its display
 * name), or "@" and a user name for a direct message.
 */
static int
channel_name(const char *s)
{
	size_t	n;

	if (*s == '@')
		s++;
	n = strlen(s);
	return n > 0 && n <= CHAT_NAME_MAX &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* What an option's value is, for the error that says it is not one. */
static const struct chat_option {
	const char	*name;
	int		 mattermost;	/* Mattermost's only */
	const char	*expected;
} chat_options[] = {
	{ "username", 1, "plain text of 1 to 64 characters" },
	{ "icon_url", 1, "an http:// or https:// URL of printable ASCII, at "
	    "most 2000 bytes" },
	{ "icon_emoji", 1, "an emoji name like rotating_light or "
	    ":rotating_light:" },
	{ "channel", 1, "a channel name like town-square, or @ and a user "
	    "name" },
	{ "rate", 0, "a whole number from 0 (no limit) to 100000" },
};

#define NOPTIONS	(sizeof(chat_options) / sizeof(chat_options[0]))

/* Parses "rate=" into T; 0, or -1 when VALUE is not a number in bounds. */
static int
rate_value(struct jm_chat_target *t, const char *value)
{
	char	*end;
	long	 v;

	if (strspn(value, "0123456789") != strlen(value) || *value == '\0' ||
	    strlen(value) > 6)
		return -1;
	v = strtol(value, &end, 10);
	if (v > JM_CHAT_RATE_MAX)
		return -1;
	t->rate = v;
	return 0;
}

/* One NAME=VALUE word W of target T. */
static int
set_option(struct jm_chat_target *t, const char *w, const struct where *at,
    char *why, size_t whylen)
{
	const struct chat_option *o = NULL;
	const char	*value = strchr(w, '=') + 1;
	size_t		 nlen = (size_t)(value - 1 - w), i;
	char		**field = NULL;
	int		 ok = 0, oom = 0;

	for (i = 0; i < NOPTIONS; i++)
		if (strlen(chat_options[i].name) == nlen &&
		    strncmp(chat_options[i].name, w, nlen) == 0)
			o = &chat_options[i];
	if (o == NULL) {
		fail(why, whylen, at, "unknown option \"%.*s\" (username, "
		    "icon_url, icon_emoji, channel or rate)", (int)nlen > 40 ?
		    40 : (int)nlen, w);
		return -1;
	}
	if (o->mattermost && t->ops != &jm_chat_mattermost) {
		fail(why, whylen, at, "%s= is for the mattermost format only",
		    o->name);
		return -1;
	}
	if (strcmp(o->name, "username") == 0) {
		field = &t->username;
		ok = plain_text(value, CHAT_NAME_MAX, &oom);
	} else if (strcmp(o->name, "icon_url") == 0) {
		field = &t->icon_url;
		ok = plain_url(value);
	} else if (strcmp(o->name, "icon_emoji") == 0) {
		field = &t->icon_emoji;
		ok = emoji_name(value);
	} else if (strcmp(o->name, "channel") == 0) {
		field = &t->channel;
		ok = channel_name(value);
	}
	if ((field != NULL && *field != NULL) ||
	    (field == NULL && t->rate != -1)) {
		fail(why, whylen, at, "%s= given twice", o->name);
		return -1;
	}
	if (field == NULL)
		ok = rate_value(t, value) == 0;
	if (oom) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (!ok) {
		fail(why, whylen, at, "%s=\"%.80s\" is not %s", o->name, value,
		    o->expected);
		return -1;
	}
	if (field != NULL) {
		*field = strdup(value);
		if (*field == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/*
 * Parses one line into T.  The first three words are NAME FORMAT URL;
 * each word after them is an option if it holds "=", else categories,
 * split again at commas.
 */
static int
target_parse(const char *line, size_t lineno, struct jm_chat_target *t,
    char *why, size_t whylen)
{
	struct where	 at = { lineno, NULL };
	char		**w = NULL;
	size_t		  nw = 0, i;
	int		  rc = -1, split;

	memset(t, 0, sizeof(*t));
	t->rate = -1;
	split = split_line(line, &w, &nw);
	if (split == -1) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (split == -2) {
		fail(why, whylen, &at, "a double quote is left open in "
		    "\"%.80s\"", line);
		goto out;
	}
	if (nw < 3) {
		fail(why, whylen, &at, "expected NAME FORMAT URL "
		    "[CATEGORY,...] [OPTION=VALUE ...], got \"%.80s\"", line);
		goto out;
	}
	if (!valid_name(w[0])) {
		fail(why, whylen, &at, "bad name \"%.80s\" (letters, digits, "
		    "\".\", \"_\" and \"-\", at most %d)", w[0], CHAT_NAME_MAX);
		goto out;
	}
	at.name = w[0];
	t->ops = jm_chat_format_find(w[1]);
	if (t->ops == NULL) {
		fail(why, whylen, &at, "unknown chat format \"%.40s\" (slack, "
		    "mattermost, teams, discord, googlechat or json)", w[1]);
		goto out;
	}
	if (!http_url(w[2])) {
		fail(why, whylen, &at, "\"%.80s\" is not an http:// or "
		    "https:// URL", w[2]);
		goto out;
	}
	for (i = 3; i < nw; i++) {
		if (strchr(w[i], '=') != NULL) {
			if (set_option(t, w[i], &at, why, whylen) == -1)
				goto out;
		} else if (split_list(w[i], &t->categories,
		    &t->n_categories) == -1) {
			snprintf(why, whylen, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < t->n_categories; i++)
		if (strcmp(t->categories[i], "*") != 0 &&
		    !valid_name(t->categories[i])) {
			fail(why, whylen, &at, "bad category \"%.80s\"",
			    t->categories[i]);
			goto out;
		}
	t->name = w[0];
	t->url = w[2];
	w[0] = w[2] = NULL;
	rc = 0;
out:
	free_words(w, nw);
	if (rc == -1)
		target_clear(t);
	return rc;
}

int
jm_chat_targets_parse(const struct jm_strlist *lines,
    struct jm_chat_target **out, size_t *n, char *why, size_t whylen)
{
	struct jm_chat_target	*t = NULL;
	size_t			 nt = 0, i, j;

	if (lines != NULL && lines->n > 0) {
		t = calloc(lines->n, sizeof(*t));
		if (t == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
	}
	for (i = 0; lines != NULL && i < lines->n; i++) {
		/* As in the configuration, an empty value sets nothing. */
		if (lines->v[i][strspn(lines->v[i], " \t")] == '\0')
			continue;
		if (target_parse(lines->v[i], i + 1, &t[nt], why, whylen) == -1)
			goto fail;
		for (j = 0; j < nt; j++)
			if (strcmp(t[j].name, t[nt].name) == 0) {
				snprintf(why, whylen, "chat_target \"%s\" is "
				    "defined twice", t[nt].name);
				nt++;
				goto fail;
			}
		nt++;
	}
	*out = t;
	*n = nt;
	return 0;
fail:
	jm_chat_targets_free(t, nt);
	return -1;
}

int
jm_chat_target_check(const char *line, char *why, size_t whylen)
{
	struct jm_chat_target	t;

	if (line[strspn(line, " \t")] == '\0')
		return 0;
	if (target_parse(line, 0, &t, why, whylen) == -1)
		return -1;
	target_clear(&t);
	return 0;
}

void
jm_chat_targets_free(struct jm_chat_target *t, size_t n)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < n; i++)
		target_clear(&t[i]);
	free(t);
}

long
jm_chat_targets_rate(const struct jm_chat_target *t, size_t n,
    const char *url, long fallback)
{
	size_t	i;

	for (i = 0; t != NULL && url != NULL && i < n; i++)
		if (t[i].rate >= 0 && strcmp(t[i].url, url) == 0)
			return t[i].rate;
	return fallback;
}

int
jm_chat_target_wants(const struct jm_chat_target *t, const char *category,
    int escalates)
{
	size_t	i;

	if (t == NULL || category == NULL)
		return 0;
	if (t->n_categories == 0)
		return escalates != 0;
	for (i = 0; i < t->n_categories; i++)
		if (strcmp(t->categories[i], "*") == 0 ||
		    strcmp(t->categories[i], category) == 0)
			return 1;
	return 0;
}

/* Links. */

static int
put_encoded(struct jm_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char	  c;
	char		  enc[3];
	size_t		  i;

	if (n > LINK_VALUE_MAX)
		n = LINK_VALUE_MAX;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			if (jm_buf_append(b, &s[i], 1) == -1)
				return -1;
			continue;
		}
		enc[0] = '%';
		enc[1] = hex[c >> 4];
		enc[2] = hex[c & 15];
		if (jm_buf_append(b, enc, 3) == -1)
			return -1;
	}
	return 0;
}

char *
jm_chat_link(const char *tmpl, const char *message_id, const char *ticket)
{
	struct jm_buf	 b;
	const char	*p, *mid, *end;
	size_t		 nmid;
	int		 rc = 0;

	mid = message_id != NULL ? message_id : "";
	while (isspace((unsigned char)*mid) || *mid == '<')
		mid++;
	end = mid + strlen(mid);
	while (end > mid && (isspace((unsigned char)end[-1]) || end[-1] == '>'))
		end--;
	nmid = (size_t)(end - mid);
	if (ticket == NULL)
		ticket = "";

	jm_buf_init(&b, CHAT_BUF_MAX);
	for (p = tmpl != NULL ? tmpl : ""; *p != '\0' && rc == 0; ) {
		if (strncmp(p, "{{message_id}}", 14) == 0) {
			rc = put_encoded(&b, mid, nmid);
			p += 14;
		} else if (strncmp(p, "{{ticket}}", 10) == 0) {
			rc = put_encoded(&b, ticket, strlen(ticket));
			p += 10;
		} else
			rc = jm_buf_append(&b, p++, 1);
	}
	if (rc == -1) {
		jm_buf_free(&b);
		return NULL;
	}
	return jm_buf_steal(&b);
}

/* Excerpts. */

/*
 * Decodes one UTF-8 sequence of the N > 0 bytes at S (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF).  Returns its
 * length and sets *CP, or 0 for an invalid byte.
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t		len, i;
	uint32_t	c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		c = s[0] & 0x1F;
		min = 0x80;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		c = s[0] & 0x0F;
		min = 0x800;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

static size_t
utf8_encode(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/* White space and controls: each run of them becomes one space. */
static int
is_blank(uint32_t c)
{
	return c <= 0x20 || c == 0x7F || (c >= 0x80 && c <= 0xA0) ||
	    c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
	    c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 ||
	    c == 0xFEFF;
}

/* Bidirectional embeddings, overrides and isolates (not LRM/RLM, ZWNJ). */
static int
is_bidi_control(uint32_t c)
{
	return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

char *
jm_chat_excerpt(const char *text, size_t len, size_t max)
{
	static const char ellipsis[] = "\xE2\x80\xA6";
	const unsigned char *s = (const unsigned char *)text;
	struct jm_buf	 b;
	uint32_t	 c;
	size_t		 i = 0, k, chars = 0, mark = 0;
	char		 enc[4];
	int		 space = 0, rc = 0;

	/*
	 * Each character is at most 4 bytes and the ellipsis replaces one,
	 * so the buffer's cap never cuts inside a sequence.
	 */
	if (max > JM_CHAT_EXCERPT_LIMIT)
		max = JM_CHAT_EXCERPT_LIMIT;
	jm_buf_init(&b, max * 4);
	if (max == 0 || s == NULL)
		len = 0;
	while (i < len && rc == 0) {
		k = utf8_decode(s + i, len - i, &c);
		if (k == 0) {
			c = 0xFFFD;
			k = 1;
		}
		i += k;
		if (is_bidi_control(c))
			continue;
		if (is_blank(c)) {
			space = b.len > 0;
			continue;
		}
		if (chars + space + 1 > max) {
			/* Too long: keep what fits before the ellipsis. */
			b.len = mark;
			while (b.len > 0 && b.data[b.len - 1] == ' ')
				b.len--;
			rc = jm_buf_append(&b, ellipsis, 3);
			break;
		}
		if (space) {
			rc = jm_buf_append(&b, " ", 1);
			if (++chars == max - 1)
				mark = b.len;
			space = 0;
		}
		if (rc == 0)
			rc = jm_buf_append(&b, enc, utf8_encode(c, enc));
		if (++chars == max - 1)
			mark = b.len;
	}
	if (rc == -1) {
		jm_buf_free(&b);
		return NULL;
	}
	return jm_buf_steal(&b);
}

/* Escaping. */

char *
chat_escape_entities(const char *s)
{
	struct jm_buf	b;
	int		rc = 0;

	jm_buf_init(&b, CHAT_BUF_MAX);
	for (; *s != '\0' && rc == 0; s++) {
		if (*s == '&')
			rc = jm_buf_puts(&b, "&amp;");
		else if (*s == '<')
			rc = jm_buf_puts(&b, "&lt;");
		else if (*s == '>')
			rc = jm_buf_puts(&b, "&gt;");
		else
			rc = jm_buf_append(&b, s, 1);
	}
	if (rc == -1) {
		jm_buf_free(&b);
		return NULL;
	}
	return jm_buf_steal(&b);
}

static int
is_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

char *
chat_escape_markdown(const char *s, const char *specials, int defuse_mentions)
{
	static const char wj[] = "\xE2\x81\xA0";	/* U+2060 WORD JOINER */
	struct jm_buf	 b;
	const char	*p;
	size_t		 digits;
	int		 rc = 0;

	jm_buf_init(&b, CHAT_BUF_MAX);
	/* "2024. " or "3) " at the start would make an ordered list. */
	digits = strspn(s, "0123456789");
	if (digits > 0 && (s[digits] == '.' || s[digits] == ')') &&
	    strchr(specials, s[digits]) == NULL) {
		rc = jm_buf_append(&b, s, digits);
		if (rc == 0)
			rc = jm_buf_append(&b, "\\", 1);
		if (rc == 0)
			rc = jm_buf_append(&b, s + digits, 1);
		s += digits + 1;
	}
	for (p = s; *p != '\0' && rc == 0; p++) {
		if (strchr(specials, *p) != NULL)
			rc = jm_buf_append(&b, "\\", 1);
		if (rc == 0)
			rc = jm_buf_append(&b, p, 1);
		if (rc == 0 && defuse_mentions && *p == '@' &&
		    (p == s || !is_word(p[-1])) && isalnum((unsigned char)p[1]))
			rc = jm_buf_append(&b, wj, 3);
	}
	if (rc == -1) {
		jm_buf_free(&b);
		return NULL;
	}
	return jm_buf_steal(&b);
}

char *
chat_printf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = malloc((size_t)n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

char *
chat_dump(json_t *root)
{
	char	*s;

	if (root == NULL)
		return NULL;
	s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return s;
}

static int
escape_field(char **field, const struct chat_escaper *how)
{
	char	*s;

	if (how->entities)
		s = chat_escape_entities(*field);
	else
		s = chat_escape_markdown(*field, how->specials,
		    how->defuse_mentions);
	if (s == NULL)
		return -1;
	free(*field);
	*field = s;
	return 0;
}

int
chat_view_escape(struct chat_view *v, const struct chat_escaper *how)
{
	if (escape_field(&v->customer, how) == -1 ||
	    escape_field(&v->subject, how) == -1 ||
	    escape_field(&v->excerpt, how) == -1 ||
	    escape_field(&v->rules, how) == -1 ||
	    escape_field(&v->language, how) == -1 ||
	    escape_field(&v->message_id, how) == -1 ||
	    escape_field(&v->support_name, how) == -1)
		return -1;
	return 0;
}

/* The view. */

static char *
clean(const char *s, size_t max)
{
	return jm_chat_excerpt(s, s != NULL ? strlen(s) : 0, max);
}

static char *
journey_text(const struct jm_escalation *e)
{
	return chat_printf("%s%s \xE2\x86\x92 %s%s",
	    jm_stage_name(e->stage_prev), e->at_risk_prev ? ", at risk" : "",
	    jm_stage_name(e->stage_next), e->at_risk_next ? ", at risk" : "");
}

static char *
rules_text(const struct jm_escalation *e)
{
	struct jm_buf	 b;
	char		*s;
	size_t		 i;
	int		 rc = 0;

	if (e->rules == NULL || e->n_rules == 0)
		return strdup("none");
	jm_buf_init(&b, CHAT_BUF_MAX);
	for (i = 0; i < e->n_rules && rc == 0; i++) {
		if (i > 0)
			rc = jm_buf_puts(&b, ", ");
		if (rc == 0 && e->rules[i] != NULL)
			rc = jm_buf_puts(&b, e->rules[i]);
	}
	if (rc == -1) {
		jm_buf_free(&b);
		return NULL;
	}
	s = jm_chat_excerpt(b.data, b.len, CHAT_RULES_MAX);
	jm_buf_free(&b);
	return s;
}

static char *
customer_text(const struct jm_escalation *e)
{
	char	*name, *addr, *s;

	name = clean(e->customer_name, CHAT_SHORT_MAX / 2);
	addr = clean(e->customer, CHAT_SHORT_MAX / 2);
	if (name == NULL || addr == NULL)
		s = NULL;
	else if (*name == '\0')
		s = strdup(*addr != '\0' ? addr : "unknown");
	else if (*addr == '\0')
		s = strdup(name);
	else
		s = chat_printf("%s <%s>", name, addr);
	free(name);
	free(addr);
	return s;
}

/*
 * A link is shown whole or not at all: a cut URL would lead somewhere
 * else.  One too long for the services' limits (Slack allows 3000
 * characters in a button URL), or not a plain http(s) URL, is left out.
 */
static char *
link_text(const struct jm_escalation *e)
{
	const char	*p;

	if (e->link == NULL || strlen(e->link) > CHAT_LINK_MAX ||
	    (strncmp(e->link, "https://", 8) != 0 &&
	    strncmp(e->link, "http://", 7) != 0))
		return strdup("");
	for (p = e->link; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F)
			return strdup("");
	return strdup(e->link);
}

static char *
iso_time(time_t t)
{
	struct tm	tm;
	char		s[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return strdup("1970-01-01T00:00:00Z");
	return strdup(s);
}

int
chat_view_init(struct chat_view *v, const struct jm_escalation *e,
    size_t excerpt_max)
{
	char	*label = NULL;

	memset(v, 0, sizeof(*v));
	v->category = clean(e->category != NULL && *e->category != '\0' ?
	    e->category : "escalation", CHAT_NAME_MAX);
	if (v->category != NULL)
		label = strdup(v->category);
	if (label != NULL) {
		label[0] = (char)toupper((unsigned char)label[0]);
		v->title = chat_printf("%s escalated (score %d)", label,
		    e->score);
	}
	free(label);
	v->customer = customer_text(e);
	v->subject = clean(e->subject, CHAT_SHORT_MAX);
	if (v->subject != NULL && *v->subject == '\0') {
		free(v->subject);
		v->subject = strdup("(no subject)");
	}
	v->excerpt = clean(e->excerpt, excerpt_max);
	v->journey = journey_text(e);
	v->rules = rules_text(e);
	v->language = clean(e->language, CHAT_NAME_MAX);
	v->ticket = clean(e->ticket, CHAT_NAME_MAX);
	v->link = link_text(e);
	v->message_id = clean(e->message_id, CHAT_SHORT_MAX);
	v->support_name = clean(e->support_name, CHAT_NAME_MAX);
	v->when = iso_time(e->occurred_at);
	v->when_epoch = (long long)e->occurred_at;
	v->score = e->score;
	if (v->category != NULL && strcmp(v->category, "complaint") == 0) {
		v->color = 0xD93025;
		v->severity = "attention";
	} else if (v->category != NULL &&
	    strcmp(v->category, "cancellation") == 0) {
		v->color = 0xF29900;
		v->severity = "warning";
	} else {
		v->color = 0x1A73E8;
		v->severity = "accent";
	}
	if (v->title == NULL || v->customer == NULL || v->subject == NULL ||
	    v->excerpt == NULL || v->journey == NULL || v->rules == NULL ||
	    v->language == NULL || v->ticket == NULL || v->link == NULL ||
	    v->message_id == NULL || v->support_name == NULL ||
	    v->when == NULL) {
		chat_view_free(v);
		return -1;
	}
	return 0;
}

void
chat_view_free(struct chat_view *v)
{
	if (v == NULL)
		return;
	free(v->title);
	free(v->category);
	free(v->customer);
	free(v->subject);
	free(v->excerpt);
	free(v->journey);
	free(v->rules);
	free(v->language);
	free(v->ticket);
	free(v->link);
	free(v->message_id);
	free(v->support_name);
	free(v->when);
	memset(v, 0, sizeof(*v));
}
