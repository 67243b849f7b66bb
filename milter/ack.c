/*
 * ack.c: the acknowledgement policy (RFC 3834) and the composer.
 *
 * An automatic answer is only worth sending to a person: answering a
 * bounce, a list, another auto-responder or a forged sender makes
 * backscatter, mail loops and angry list owners.  So the policy is a list
 * of cheap header tests, each with a stable name that the logs and
 * statistics show, and the composer marks every acknowledgement the way
 * RFC 3834 asks (Auto-Submitted: auto-replied, threading headers, the
 * null envelope sender chosen by the sender) so that other robots leave it
 * alone and our own copy, coming back, is recognised.
 *
 * GMime does the MIME work here (address parsing, the text part and its
 * transfer encoding, the date); the header block is written by hand, each
 * field in its final form (RFC 2047 Q words, see put_q_words(), and
 * folding), since GMime's own encoding of those fields is not what mail
 * readers decode best.  None of GMime's types leave this file.
 *
 * Deliberately not here: sending (the outbox does, by SMTP), counting
 * past acknowledgements (the store does; jm_ack_limits() only compares),
 * choosing the category or the language (the classifier), and the
 * template language (template.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "journey/ack.h"
#include "journey/conf.h"
#include "journey/message.h"
#include "journey/template.h"
#include "journey/util.h"

/* Display names longer than this are cut; nobody is called that. */
#define NAME_MAX_BYTES	200
/* RFC 5321 section 4.5.3.1.3: the longest path is 256 octets. */
#define ADDR_MAX_BYTES	254

struct span {
	const char	*p;
	size_t		 n;
};

/*
 * Headers.  message.c keeps them raw and unfolded; every value here may be
 * missing, empty or hostile.
 */

/*
 * The next header named NAME at or after *I: 1 with its value in *V, or 0
 * past the last one.
 */
static int
header_next(const struct jm_message *m, const char *name, size_t *i,
    const char **v)
{
	for (; *i < m->n_headers; (*i)++) {
		if (m->headers[*i].name != NULL &&
		    jm_strcaseeq(m->headers[*i].name, name)) {
			*v = m->headers[*i].value != NULL ?
			    m->headers[*i].value : "";
			(*i)++;
			return 1;
		}
	}
	*v = NULL;
	return 0;
}

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Past white space and RFC 5322 comments, which nest and escape. */
static const char *
skip_cfws(const char *p)
{
	int	depth;

	for (;;) {
		while (is_ws(*p))
			p++;
		if (*p != '(')
			return p;
		depth = 0;
		for (; *p != '\0'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

/* The token at the start of V (after CFWS): up to ";", ",", "(" or space. */
static struct span
first_token(const char *v)
{
	struct span	t;

	t.p = skip_cfws(v);
	t.n = strcspn(t.p, " \t\r\n;,(");
	return t;
}

static int
span_is(struct span t, const char *word)
{
	return t.n == strlen(word) && g_ascii_strncasecmp(t.p, word, t.n) == 0;
}

/*
 * Addresses.
 */

/* The addr-spec inside S: "<a@b>", "Name <a@b>" or "a@b". */
static struct span
addr_span(const char *s)
{
	struct span	 a;
	const char	*lt, *gt;

	if (s == NULL) {
		a.p = "";
		a.n = 0;
		return a;
	}
	lt = strrchr(s, '<');
	if (lt != NULL) {
		a.p = lt + 1;
		gt = strchr(a.p, '>');
		a.n = gt != NULL ? (size_t)(gt - a.p) : strlen(a.p);
	} else {
		a.p = s;
		a.n = strlen(s);
	}
	while (a.n > 0 && is_ws(*a.p)) {
		a.p++;
		a.n--;
	}
	while (a.n > 0 && is_ws(a.p[a.n - 1]))
		a.n--;
	return a;
}

static int
addr_eq(const char *x, const char *y)
{
	struct span	a = addr_span(x), b = addr_span(y);

	return a.n > 0 && a.n == b.n && g_ascii_strncasecmp(a.p, b.p, a.n) == 0;
}

/*
 * The support addresses: support_addresses, else the address entries of
 * watch_recipients (a bare domain there is a mail domain, not a mailbox).
 * 1 with the next one at or after *I in *S, or 0 past the end.
 */
static int
support_address(const struct jm_conf *c, size_t *i, const char **s)
{
	const struct jm_strlist *l;

	if (c->support_addresses.n > 0) {
		l = &c->support_addresses;
		if (*i >= l->n)
			return 0;
		*s = l->v[(*i)++];
		return 1;
	}
	l = &c->watch_recipients;
	while (*i < l->n) {
		*s = l->v[(*i)++];
		if (strchr(*s, '@') != NULL && (*s)[0] != '@')
			return 1;
	}
	return 0;
}

/* Whether ADDR is one of ours: ack_from, its envelope sender, support. */
static int
is_our_address(const struct jm_conf *c, const char *addr)
{
	const char	*s;
	size_t		 i = 0;

	if (addr == NULL || addr_span(addr).n == 0)
		return 0;
	if (addr_eq(addr, c->ack_from) || addr_eq(addr, c->ack_envelope_sender))
		return 1;
	while (support_address(c, &i, &s))
		if (addr_eq(addr, s))
			return 1;
	return 0;
}

static int
is_addr_char(int c)
{
	return g_ascii_isalnum(c) || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~.@", c) != NULL);
}

/* Whether VALUE names the address of WHO as a whole word. */
static int
names_address(const char *value, const char *who)
{
	struct span	 a = addr_span(who);
	const char	*p;

	if (a.n == 0)
		return 0;
	for (p = value; *p != '\0'; p++) {
		if (g_ascii_strncasecmp(p, a.p, a.n) != 0)
			continue;
		if ((p == value || !is_addr_char((unsigned char)p[-1])) &&
		    !is_addr_char((unsigned char)p[a.n]))
			return 1;
	}
	return 0;
}

static int
names_our_address(const struct jm_conf *c, const char *value)
{
	const char	*s;
	size_t		 i = 0;

	if (names_address(value, c->ack_from) ||
	    names_address(value, c->ack_envelope_sender))
		return 1;
	while (support_address(c, &i, &s))
		if (names_address(value, s))
			return 1;
	return 0;
}

/* "*" matches any run of characters; ASCII case is ignored.  O(n * m). */
static int
glob_match(const char *pat, const char *s, size_t n)
{
	const char	*star = NULL;
	size_t		 i = 0, back = 0;

	while (i < n) {
		if (*pat == '*') {
			star = pat++;
			back = i;
		} else if (*pat != '\0' &&
		    g_ascii_tolower(*pat) == g_ascii_tolower(s[i])) {
			pat++;
			i++;
		} else if (star != NULL) {
			pat = star + 1;
			i = ++back;
		} else
			return 0;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

static int
is_role(const struct jm_conf *c, const char *addr)
{
	struct span	 a = addr_span(addr);
	const char	*at, *plus;
	size_t		 n, i;

	if (a.n == 0)
		return 0;
	at = NULL;
	for (i = a.n; i > 0; i--)
		if (a.p[i - 1] == '@') {
			at = a.p + i - 1;
			break;
		}
	n = at != NULL ? (size_t)(at - a.p) : a.n;
	if (n >= 2 && a.p[0] == '"' && a.p[n - 1] == '"') {
		a.p++;
		n -= 2;
	}
	/* VERP and subaddresses: "bounces+x=y" is still "bounces". */
	plus = memchr(a.p, '+', n);
	for (i = 0; i < c->ack_role_senders.n; i++) {
		if (glob_match(c->ack_role_senders.v[i], a.p, n))
			return 1;
		if (plus != NULL && glob_match(c->ack_role_senders.v[i], a.p,
		    (size_t)(plus - a.p)))
			return 1;
	}
	return 0;
}

/*
 * The tests of the policy, one per reason.
 */

static int
null_sender(const struct jm_message *m)
{
	const char	*v;
	size_t		 i = 0;

	if (m->env_from != NULL)
		return addr_span(m->env_from).n == 0;
	/* No envelope (journeyctl classify): the MTA's record of it. */
	return header_next(m, "Return-Path", &i, &v) &&
	    addr_span(v).n == 0;
}

static int
delivery_report(const struct jm_message *m)
{
	static const char *const types[] = {
		"multipart/report", "message/delivery-status",
		"message/global-delivery-status",
		"message/disposition-notification",
		"message/global-disposition-notification"
	};
	const char	*v, *p;
	struct span	 t;
	size_t		 i = 0, k;

	while (header_next(m, "Content-Type", &i, &v)) {
		t = first_token(v);
		for (k = 0; k < sizeof(types) / sizeof(types[0]); k++)
			if (span_is(t, types[k]))
				return 1;
		for (p = v; *p != '\0'; p++)
			if (g_ascii_strncasecmp(p, "report-type", 11) == 0)
				return 1;
	}
	return 0;
}

static int
auto_submitted(const struct jm_message *m)
{
	const char	*v;
	size_t		 i = 0;

	while (header_next(m, "Auto-Submitted", &i, &v))
		if (!span_is(first_token(v), "no"))
			return 1;
	return 0;
}

static int
auto_reply_header(const struct jm_message *m)
{
	/* VALUE NULL: any value but a denial; else the first token. */
	static const struct {
		const char	*name;
		const char	*value;
	} marks[] = {
		{ "X-Autoreply", NULL },
		{ "X-Autorespond", NULL },
		{ "X-AutoReply-From", NULL },
		{ "X-Mail-Autoreply", NULL },
		{ "X-FC-MachineGenerated", NULL },
		{ "X-POST-MessageClass", "9" },
		{ "Precedence", "auto_reply" },
	};
	const char	*v;
	struct span	 t;
	size_t		 i, k;

	for (k = 0; k < sizeof(marks) / sizeof(marks[0]); k++) {
		i = 0;
		while (header_next(m, marks[k].name, &i, &v)) {
			t = first_token(v);
			if (marks[k].value != NULL) {
				if (span_is(t, marks[k].value))
					return 1;
			} else if (!span_is(t, "no") && !span_is(t, "false") &&
			    !span_is(t, "0"))
				return 1;
		}
	}
	return 0;
}

static int
suppress_header(const struct jm_message *m)
{
	const char	*v, *p;
	struct span	 t;
	size_t		 i = 0;

	while (header_next(m, "X-Auto-Response-Suppress", &i, &v)) {
		for (p = v; *p != '\0'; ) {
			t = first_token(p);
			if (span_is(t, "all") || span_is(t, "oof") ||
			    span_is(t, "autoreply"))
				return 1;
			p = t.p + t.n;
			if (*p != '\0')
				p++;
		}
	}
	return 0;
}

static int
list_header(const struct jm_message *m)
{
	const char	*name;
	size_t		 i;

	for (i = 0; i < m->n_headers; i++) {
		name = m->headers[i].name;
		if (name == NULL)
			continue;
		if (jm_strcaseprefix(name, "List-") ||
		    jm_strcaseeq(name, "Mailing-List") ||
		    jm_strcaseeq(name, "X-Mailing-List"))
			return 1;
	}
	return 0;
}

static int
precedence(const struct jm_message *m)
{
	const char	*v;
	struct span	 t;
	size_t		 i = 0;

	while (header_next(m, "Precedence", &i, &v)) {
		t = first_token(v);
		if (span_is(t, "bulk") || span_is(t, "list") ||
		    span_is(t, "junk"))
			return 1;
	}
	return 0;
}

static int
loop(const struct jm_conf *c, const struct jm_message *m)
{
	const char	*v;
	size_t		 i = 0;

	while (header_next(m, "X-Loop", &i, &v))
		if (names_our_address(c, v))
			return 1;
	return 0;
}

/* Mailboxes of LIST, groups opened: whether any is watched. */
static int
list_watched(const struct jm_conf *c, InternetAddressList *list, int depth)
{
	InternetAddress	*ia;
	const char	*addr;
	int		 i, n;

	n = internet_address_list_length(list);
	for (i = 0; i < n; i++) {
		ia = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			addr = internet_address_mailbox_get_addr(
			    INTERNET_ADDRESS_MAILBOX(ia));
			if (addr != NULL && jm_conf_watched(c, addr))
				return 1;
		} else if (INTERNET_ADDRESS_IS_GROUP(ia) && depth == 0) {
			if (list_watched(c, internet_address_group_get_members(
			    INTERNET_ADDRESS_GROUP(ia)), depth + 1))
				return 1;
		}
	}
	return 0;
}

static int
to_support(const struct jm_conf *c, const struct jm_message *m)
{
	static const char *const fields[] = { "To", "Cc" };
	InternetAddressList *list;
	const char	*v;
	size_t		 i, k;
	int		 found = 0;

	for (k = 0; k < 2 && !found; k++) {
		i = 0;
		while (!found && header_next(m, fields[k], &i, &v)) {
			list = internet_address_list_parse(NULL, v);
			if (list == NULL)
				continue;
			found = list_watched(c, list, 0);
			g_object_unref(list);
		}
	}
	return found;
}

/* The next ";" outside comments and quoted strings, or NULL. */
static const char *
next_resinfo(const char *p)
{
	int	depth = 0, quoted = 0;

	for (; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (quoted) {
			if (*p == '"')
				quoted = 0;
		} else if (*p == '"' && depth == 0)
			quoted = 1;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (*p == ';' && depth == 0)
			return p;
	}
	return NULL;
}

/* What one Authentication-Results header of ours says. */
struct auth {
	int	spf_fail;
	int	dmarc_fail;
	int	dmarc_pass;
	int	dkim_fail;
	int	dkim_pass;
};

/*
 * RFC 8601: authserv-id [version] *( ";" method[/version] "=" result ...).
 * Fills *A from V; 0, or -1 when V is not under authserv-id ID.
 */
static int
auth_results(const char *id, const char *v, struct auth *a)
{
	struct span	 t, method, result;
	const char	*p;

	memset(a, 0, sizeof(*a));
	t = first_token(v);
	if (t.n != strlen(id) || g_ascii_strncasecmp(t.p, id, t.n) != 0)
		return -1;
	p = t.p + t.n;
	for (;;) {
		p = next_resinfo(p);
		if (p == NULL)
			break;
		p = skip_cfws(p + 1);
		method.p = p;
		method.n = strspn(p, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
		p += method.n;
		if (*p == '/')
			p += 1 + strspn(p + 1, "0123456789");
		p = skip_cfws(p);
		if (*p != '=')
			continue;
		result.p = skip_cfws(p + 1);
		result.n = strspn(result.p, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
		p = result.p + result.n;
		if (span_is(method, "spf") && span_is(result, "fail"))
			a->spf_fail = 1;
		else if (span_is(method, "dmarc") && span_is(result, "fail"))
			a->dmarc_fail = 1;
		else if (span_is(method, "dmarc") && span_is(result, "pass"))
			a->dmarc_pass = 1;
		else if (span_is(method, "dkim") && span_is(result, "fail"))
			a->dkim_fail = 1;
		else if (span_is(method, "dkim") && span_is(result, "pass"))
			a->dkim_pass = 1;
	}
	return 0;
}

/*
 * Whether any Authentication-Results header under our authserv-id says
 * the sender failed.  Each header is judged on its own, and one failing
 * header is enough; a pass never makes up for a failure in another header.
 *
 * Why: the sender can write any header, our authserv-id included (RFC
 * 8601 section 5 asks the MTA to delete those, but not every site does).
 * Were results pooled over all headers, a forged "mx.example.com;
 * dkim=pass" would cancel the "dkim=fail" of our own verifier and a forged
 * sender would be answered: backscatter.  Trusting only the topmost header
 * is no better: OpenDKIM and OpenDMARC insert theirs at the top, but where
 * a header lands depends on the milter order, on a content filter in
 * between and on the MTA, and with no verifier running the topmost one is
 * the forger's.  Judged header by header, a forgery can add a failure
 * (and silence only the forger's own acknowledgement), never remove one.
 *
 * Inside one header, written at once by one verifier, results may be
 * weighed against each other.  A message often has several DKIM
 * signatures and a mailing list or a forwarder breaks some: OpenDKIM lists
 * them all in its one header, so a dkim=fail beside a dkim=pass is not a
 * failure, nor beside a dmarc=pass in the same header; DMARC is the
 * arbiter of whether a signature that counts passed, and a dmarc=fail
 * (OpenDMARC writes a header of its own) fails whatever DKIM said.  A
 * dmarc=pass in another header cannot excuse a dkim=fail: it could be
 * forged.  spf=fail always counts; softfail and the rest do not.
 */
static int
auth_failed(const struct jm_conf *c, const struct jm_message *m)
{
	struct auth	 a;
	const char	*v;
	size_t		 i = 0;

	if (c->authserv_id == NULL || *c->authserv_id == '\0')
		return 0;
	while (header_next(m, "Authentication-Results", &i, &v)) {
		if (auth_results(c->authserv_id, v, &a) == -1)
			continue;
		if (a.spf_fail || a.dmarc_fail ||
		    (a.dkim_fail && !a.dkim_pass && !a.dmarc_pass))
			return 1;
	}
	return 0;
}

/*
 * The order is the one documented in ack.h: the envelope, then single
 * headers, then what needs parsing (addresses, Authentication-Results),
 * then the configuration.  The first reason found is the one logged, so
 * the most decisive (a bounce is a bounce before it is a list message)
 * comes first.
 */
const char *
jm_ack_policy(const struct jm_conf *c, const struct jm_message *m)
{
	if (null_sender(m))
		return "null-sender";
	if (delivery_report(m))
		return "delivery-report";
	if (auto_submitted(m))
		return "auto-submitted";
	if (auto_reply_header(m))
		return "auto-reply-header";
	if (suppress_header(m))
		return "suppress-header";
	if (list_header(m))
		return "list";
	if (precedence(m))
		return "precedence";
	if (loop(c, m))
		return "loop";
	if (is_our_address(c, m->env_from) || is_our_address(c, m->from_addr))
		return "own-address";
	if ((m->env_from != NULL && is_role(c, m->env_from)) ||
	    (m->from_addr != NULL && is_role(c, m->from_addr)))
		return "role-sender";
	if (!to_support(c, m))
		return "not-to-support";
	if (auth_failed(c, m))
		return "auth-failed";
	/*
	 * Last, not first: with acknowledgements off, a robot is still a
	 * robot, and its mail moves no journey (decide.c).
	 */
	if (c->ack_from == NULL || addr_span(c->ack_from).n == 0)
		return "no-from-config";
	return NULL;
}

const char *
jm_ack_limits(const struct jm_conf *c, long same_category_recent,
    long customer_day, long global_minute)
{
	if (c->ack_interval > 0 && same_category_recent > 0)
		return "already-answered";
	if (customer_day >= c->ack_max_per_day)
		return "daily-limit";
	if (global_minute >= c->ack_max_per_minute)
		return "global-limit";
	return NULL;
}

/* The domain of the ack_from address in *D; 0, or -1 when it has none. */
static int
ack_domain(const struct jm_conf *c, struct span *d)
{
	struct span	a = addr_span(c->ack_from);
	size_t		i;

	/* The last "@": a quoted local part may hold another. */
	for (i = a.n; i > 0; i--)
		if (a.p[i - 1] == '@')
			break;
	if (i == 0 || i == a.n)
		return -1;
	d->p = a.p + i;
	d->n = a.n - i;
	return 0;
}

int
jm_ack_is_own(const struct jm_conf *c, const struct jm_message *m)
{
	const char	*v, *id;
	struct span	 d, t;
	size_t		 i = 0, n;
	int		 replied = 0;

	while (header_next(m, "Auto-Submitted", &i, &v))
		if (span_is(first_token(v), "auto-replied"))
			replied = 1;
	if (!replied || c->ack_from == NULL)
		return 0;
	i = 0;
	while (header_next(m, "X-Loop", &i, &v))
		if (names_address(v, c->ack_from))
			return 1;
	id = m->message_id;
	if (id == NULL) {
		i = 0;
		header_next(m, "Message-ID", &i, &id);
	}
	if (id == NULL || ack_domain(c, &d) == -1)
		return 0;
	t = first_token(id);
	t.n = strcspn(t.p, " \t\r\n");
	if (t.n < 4 + 1 + d.n + 1 || strncmp(t.p, "<jm.", 4) != 0 ||
	    t.p[t.n - 1] != '>')
		return 0;
	n = t.n - 1 - d.n;
	return t.p[n - 1] == '@' && g_ascii_strncasecmp(t.p + n, d.p, d.n) == 0;
}

const char *
jm_ack_strip_subject(const char *subject)
{
	/* Reply and forward markers of the mail clients our customers use. */
	static const char *const prefixes[] = {
		"re", "fwd", "fw", "aw", "wg", "sv", "vs", "antw", "ynt",
		"ilt", "\xc4\xb0lt", "\xc4\xb0LT",	/* İlt, İLT */
		"\xd9\xbe\xd8\xa7\xd8\xb3\xd8\xae",	/* پاسخ */
	};
	const char	*p = subject, *q;
	size_t		 k, n;
	int		 again = 1;

	if (p == NULL)
		return "";
	while (again) {
		again = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		for (k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
			n = strlen(prefixes[k]);
			if (g_ascii_strncasecmp(p, prefixes[k], n) != 0)
				continue;
			q = p + n;
			/* "Re[2]:" and "Re(2):" as some clients count. */
			if (*q == '[' || *q == '(') {
				q += 1 + strspn(q + 1, "0123456789");
				if (*q != ']' && *q != ')')
					continue;
				q++;
			}
			while (*q == ' ')
				q++;
			if (*q == ':') {
				p = q + 1;
				again = 1;
				break;
			}
		}
	}
	return p;
}

/*
 * Copies a display name for the To field and {{customer_name}}: UTF-8
 * repaired, control characters made spaces (they would end the header),
 * quotes that some clients add dropped, cut on a character boundary.  A
 * "name" that is an address is no name: nobody is greeted "Dear
 * jo@example.com".
 */
static void
clean_name(const char *name, char *out, size_t outlen)
{
	const char	*p = name, *end;
	gunichar	 ch;
	size_t		 n, len = 0;

	out[0] = '\0';
	if (name == NULL || strchr(name, '@') != NULL)
		return;
	end = name + strlen(name);
	while (p < end) {
		ch = g_utf8_get_char_validated(p, (gssize)(end - p));
		if (ch == (gunichar)-1 || ch == (gunichar)-2) {
			p++;
			continue;
		}
		n = (size_t)(g_utf8_next_char(p) - p);
		if (len + n + 1 > outlen)
			break;
		if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && ch < 0xa0) ||
		    ch == 0x2028 || ch == 0x2029)
			out[len++] = ' ';
		else if (ch != '"') {
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
	}
	out[len] = '\0';
	g_strstrip(out);
}

/*
 * RFC 2047 by hand, for the three headers a customer reads: Subject, From
 * and To.  GMime's encoder picks "B" for most non-Latin text and splits
 * long text into several B words, the first padded with "="; GMime
 * 3.2.13's own decoder (jstedfast/gmime#133), and every reader built on
 * it, then drops all but the first word.  "Q" words holding whole
 * characters decode the same everywhere.  Lines stay within 78 columns.
 */
#define LINE_SOFT	78
#define WORD_MAX	75		/* RFC 2047 section 2 */
#define WORD_FRAME	12		/* "=?UTF-8?Q?" and "?=" */

/* RFC 2047 section 5 (3): what a Q word may carry as itself, anywhere. */
static int
q_plain(unsigned char c)
{
	return g_ascii_isalnum(c) || c == '!' || c == '*' || c == '+' ||
	    c == '-' || c == '/';
}

/*
 * Appends TEXT as Q encoded-words to OUT, whose current line is COL
 * columns long; every word after the first starts a folded line.
 */
static void
put_q_words(GString *out, const char *text, size_t col)
{
	static const char hex[] = "0123456789ABCDEF";
	const char	*p = text, *end = text + strlen(text);
	size_t		 budget, used = 0, n, cost, i;
	gunichar	 ch;
	int		 open = 0;

	budget = col + WORD_FRAME + 4 <= LINE_SOFT ?
	    LINE_SOFT - col - WORD_FRAME : 0;
	if (budget > WORD_MAX - WORD_FRAME)
		budget = WORD_MAX - WORD_FRAME;
	while (p < end) {
		ch = g_utf8_get_char_validated(p, (gssize)(end - p));
		n = ch == (gunichar)-1 || ch == (gunichar)-2 ? 1 :
		    (size_t)(g_utf8_next_char(p) - p);
		for (cost = 0, i = 0; i < n; i++)
			cost += q_plain((unsigned char)p[i]) || p[i] == ' ' ?
			    1 : 3;
		if (!open || used + cost > budget) {
			if (open)
				g_string_append(out, "?=");
			if (open || budget == 0) {
				g_string_append(out, "\n ");
				budget = WORD_MAX - WORD_FRAME;
			}
			g_string_append(out, "=?UTF-8?Q?");
			open = 1;
			used = 0;
		}
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)p[i];

			if (c == ' ')
				g_string_append_c(out, '_');
			else if (q_plain(c))
				g_string_append_c(out, (char)c);
			else {
				g_string_append_c(out, '=');
				g_string_append_c(out, hex[c >> 4]);
				g_string_append_c(out, hex[c & 15]);
			}
		}
		used += cost;
		p += n;
	}
	if (open)
		g_string_append(out, "?=");
}

/* Whether TEXT can stand as itself: printable ASCII, no "=?". */
static int
plain_ascii(const char *text)
{
	const unsigned char *p;

	for (p = (const unsigned char *)text; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e || (*p == '=' && p[1] == '?'))
			return 0;
	return 1;
}

/* The raw value of Subject: TEXT folded at spaces, or Q words. */
static char *
raw_subject(const char *text)
{
	GString		*out = g_string_new(" ");
	const char	*p, *sp;
	size_t		 col = strlen("Subject: "), n;

	if (!plain_ascii(text) || strlen(text) > 900) {
		put_q_words(out, text, col);
		g_string_append_c(out, '\n');
		return g_string_free(out, FALSE);
	}
	for (p = text; *p != '\0'; p += n) {
		sp = strchr(p + 1, ' ');
		n = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (p != text && *p == ' ' && col + n > LINE_SOFT) {
			g_string_append_c(out, '\n');
			col = 0;
		}
		g_string_append_len(out, p, (gssize)n);
		col += n;
	}
	g_string_append_c(out, '\n');
	return g_string_free(out, FALSE);
}

/* RFC 5322 atext and space: a display name that needs no quotes. */
static int
atext_phrase(const char *s)
{
	for (; *s != '\0'; s++)
		if (!g_ascii_isalnum(*s) &&
		    strchr(" !#$%&'*+-/=?^_`{|}~", *s) == NULL)
			return 0;
	return 1;
}

/* The raw value of From or To: NAME <ADDR>, NAME as it must be written. */
static char *
raw_mailbox(const char *field, const char *name, const char *addr)
{
	GString		*out = g_string_new(" ");
	const char	*p;
	size_t		 col = strlen(field) + 2, line;

	if (name != NULL && *name != '\0') {
		if (plain_ascii(name) && atext_phrase(name))
			g_string_append(out, name);
		else if (plain_ascii(name)) {
			g_string_append_c(out, '"');
			for (p = name; *p != '\0'; p++) {
				if (*p == '"' || *p == '\\')
					g_string_append_c(out, '\\');
				g_string_append_c(out, *p);
			}
			g_string_append_c(out, '"');
		} else
			put_q_words(out, name, col);
		p = strrchr(out->str, '\n');
		line = p != NULL ? out->len - (size_t)(p + 1 - out->str) :
		    col + out->len - 1;
		g_string_append(out, line + strlen(addr) + 3 > LINE_SOFT ?
		    "\n " : " ");
	}
	g_string_append_printf(out, "<%s>\n", addr);
	return g_string_free(out, FALSE);
}

/* FIELD with RAW, a value as raw_subject() and raw_mailbox() write it. */
static void
put_field(GString *hdr, const char *field, char *raw)
{
	g_string_append_printf(hdr, "%s:%s", field, raw);
	g_free(raw);
}

/* FIELD with the msg-ids of IDS (space-separated), folded between them. */
static void
put_msgids(GString *hdr, const char *field, const char *ids)
{
	const char	*p, *sp;
	size_t		 col, n;

	g_string_append_printf(hdr, "%s:", field);
	col = strlen(field) + 1;
	for (p = ids; *p != '\0'; p = sp) {
		p += strspn(p, " ");
		if (*p == '\0')
			break;
		sp = strchr(p, ' ');
		if (sp == NULL)
			sp = p + strlen(p);
		n = (size_t)(sp - p);
		if (col > strlen(field) + 1 && col + 1 + n > LINE_SOFT) {
			g_string_append(hdr, "\n");
			col = 0;
		}
		g_string_append_c(hdr, ' ');
		g_string_append_len(hdr, p, (gssize)n);
		col += 1 + n;
	}
	g_string_append_c(hdr, '\n');
}

/* Printable ASCII that cannot end or open an address or a msg-id. */
static int
safe_char(char ch)
{
	unsigned char	u = (unsigned char)ch;

	return u > 0x20 && u < 0x7f && u != '<' && u != '>';
}

/* An address we may write into To: ASCII, no space, local part and domain. */
static int
usable_address(const char *s)
{
	const char	*at;
	size_t		 n = strlen(s), i;

	if (n == 0 || n > ADDR_MAX_BYTES)
		return 0;
	for (i = 0; i < n; i++)
		if (!safe_char(s[i]) || s[i] == ',')
			return 0;
	at = strrchr(s, '@');
	return at != NULL && at != s && at[1] != '\0';
}

/* A Message-ID we may repeat in our headers, or a zero span. */
static struct span
clean_msgid(const char *p, size_t n)
{
	struct span	 t = { "", 0 };
	size_t		 i;

	if (n < 3 || n > JM_ACK_MSGID_MAX || p[0] != '<' || p[n - 1] != '>')
		return t;
	for (i = 1; i < n - 1; i++)
		if (!safe_char(p[i]))
			return t;
	t.p = p;
	t.n = n;
	return t;
}

/*
 * References: the original's, then its Message-ID.  Hostile and
 * unbounded in the original, so only the first (the root of the thread)
 * and the latest ones are kept, as RFC 5322 section 3.6.4 allows.
 */
static char *
build_references(const char *refs, struct span parent)
{
	struct span	 first = { "", 0 }, ring[JM_ACK_REFS_MAX], id;
	const char	*p, *gt;
	GString		*s;
	size_t		 seen = 0, kept, i, start;

	for (p = refs; p != NULL; p = gt + 1) {
		p = strchr(p, '<');
		gt = p != NULL ? strchr(p, '>') : NULL;
		if (gt == NULL)
			break;
		id = clean_msgid(p, (size_t)(gt - p) + 1);
		if (id.n == 0)
			continue;
		if (id.n == parent.n && memcmp(id.p, parent.p, id.n) == 0)
			continue;
		if (seen == 0)
			first = id;
		else
			ring[(seen - 1) % (JM_ACK_REFS_MAX - 2)] = id;
		seen++;
	}
	s = g_string_new(NULL);
	if (seen > 0)
		g_string_append_len(s, first.p, (gssize)first.n);
	kept = seen > 1 ? seen - 1 : 0;
	if (kept > JM_ACK_REFS_MAX - 2)
		kept = JM_ACK_REFS_MAX - 2;
	start = seen > 1 ? (seen - 1 - kept) : 0;
	for (i = 0; i < kept; i++) {
		id = ring[(start + i) % (JM_ACK_REFS_MAX - 2)];
		g_string_append_c(s, ' ');
		g_string_append_len(s, id.p, (gssize)id.n);
	}
	if (s->len > 0)
		g_string_append_c(s, ' ');
	g_string_append_len(s, parent.p, (gssize)parent.n);
	return g_string_free(s, FALSE);
}

static const char *
first_header(const struct jm_message *m, const char *field, const char *name)
{
	const char	*v;
	size_t		 i = 0;

	if (field != NULL)
		return field;
	header_next(m, name, &i, &v);
	return v;
}

int
jm_ack_compose(const struct jm_conf *c, const struct jm_templates *ts,
    const struct jm_message *m, const char *reply_template,
    const char *language, const char *ticket, time_t now,
    char **out, size_t *outlen, char *why, size_t whylen)
{
	const struct jm_template *t;
	struct jm_template_vars vars;
	InternetAddressList *froms = NULL;
	InternetAddress	*ack = NULL;
	GMimeTextPart	*part = NULL;
	GMimeFormatOptions *fo = NULL;
	GMimeContentEncoding enc;
	GDateTime	*date;
	GString		*hdr = NULL;
	struct span	 dom, parent, tk;
	const char	*cust, *id;
	char		 name[NAME_MAX_BYTES + 1], *subject = NULL;
	char		*body = NULL, *refs, *text = NULL, *lang, *v;
	unsigned char	 rnd[8];
	size_t		 i, n, tlen;
	int		 rc = -1;

	*out = NULL;
	*outlen = 0;
	if (whylen > 0)
		why[0] = '\0';

	t = jm_templates_find(ts, reply_template, language,
	    c->default_language);
	if (t == NULL) {
		snprintf(why, whylen, "no reply template \"%s\" in %s or %s",
		    reply_template != NULL ? reply_template : "",
		    language != NULL ? language : "(none)",
		    c->default_language != NULL ?
		    c->default_language : "(none)");
		return -1;
	}

	froms = internet_address_list_parse(NULL, c->ack_from != NULL ?
	    c->ack_from : "");
	if (froms != NULL && internet_address_list_length(froms) > 0)
		ack = internet_address_list_get_address(froms, 0);
	if (ack == NULL || !INTERNET_ADDRESS_IS_MAILBOX(ack) ||
	    !usable_address(internet_address_mailbox_get_addr(
	    INTERNET_ADDRESS_MAILBOX(ack))) ||
	    ack_domain(c, &dom) == -1 ||
	    strspn(dom.p, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:") < dom.n ||
	    dom.n > 200) {
		snprintf(why, whylen, "ack_from \"%s\" is not an ASCII address",
		    c->ack_from != NULL ? c->ack_from : "");
		goto done;
	}

	cust = m->from_addr != NULL && *m->from_addr != '\0' ? m->from_addr :
	    m->env_from;
	if (cust == NULL || !usable_address(cust)) {
		snprintf(why, whylen, "no usable customer address");
		goto done;
	}
	clean_name(m->from_name, name, sizeof(name));

	vars.customer_name = name;
	vars.subject = jm_ack_strip_subject(m->subject);
	vars.ticket = ticket;
	vars.category = reply_template;
	vars.support_name = c->support_name;
	vars.cancellation_offer = c->cancellation_offer;
	if (jm_template_render(t, &vars, &subject, &body) == -1) {
		snprintf(why, whylen, "out of memory");
		goto done;
	}

	/*
	 * The header block is written here, each field already in its
	 * final form (the names and the subject as RFC 2047 Q words, see
	 * put_q_words()), and only the text part is GMime's: its encoding
	 * and its Content-* fields.  A GMimeMessage around it would encode
	 * the same fields again, only to be overwritten.
	 */
	hdr = g_string_sized_new(1024);
	date = g_date_time_new_from_unix_utc((gint64)now);
	if (date == NULL) {
		snprintf(why, whylen, "bad time");
		goto done;
	}
	v = g_mime_utils_header_format_date(date);
	g_date_time_unref(date);
	g_string_append_printf(hdr, "Date: %s\n", v);
	g_free(v);
	put_field(hdr, "From", raw_mailbox("From", internet_address_get_name(ack),
	    internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ack))));
	put_field(hdr, "Subject", raw_subject(subject));
	put_field(hdr, "To", raw_mailbox("To", name, cust));

	/* Only what is safe in a msg-id: the ticket is ours, but checked. */
	tk.p = ticket != NULL ? ticket : "";
	tk.n = strspn(tk.p, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
	if (tk.n > 32)
		tk.n = 32;
	if (jm_random(rnd, sizeof(rnd)) == -1) {
		snprintf(why, whylen, "no random bytes for the Message-ID");
		goto done;
	}
	g_string_append_printf(hdr, "Message-ID: <jm.%.*s.%02x%02x%02x%02x"
	    "%02x%02x%02x%02x@%.*s>\n", (int)tk.n, tk.p, rnd[0], rnd[1],
	    rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], (int)dom.n, dom.p);

	id = first_header(m, m->message_id, "Message-ID");
	if (id != NULL) {
		id = skip_cfws(id);
		parent = clean_msgid(id, strcspn(id, " \t\r\n"));
		if (parent.n > 0) {
			g_string_append_printf(hdr, "In-Reply-To: %.*s\n",
			    (int)parent.n, parent.p);
			refs = build_references(first_header(m, m->references,
			    "References"), parent);
			put_msgids(hdr, "References", refs);
			g_free(refs);
		}
	}
	/* RFC 3834 section 5: what marks this as an automatic answer. */
	g_string_append(hdr, "Auto-Submitted: auto-replied\n");
	/* Exchange and Outlook: no out-of-office answer to this. */
	g_string_append(hdr, "X-Auto-Response-Suppress: All\n");
	g_string_append_printf(hdr, "X-Loop: %s\n",
	    internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ack)));
	/*
	 * No Precedence: RFC 3834 standardises Auto-Submitted for this, and
	 * "bulk" or "junk" lowers the priority of the answer at some relays
	 * and hides it in the customer's spam folder at some providers.
	 */
	g_string_append(hdr, "MIME-Version: 1.0\n");

	part = g_mime_text_part_new_with_subtype("plain");
	i = strlen(body);
	if (i == 0 || body[i - 1] != '\n') {
		char *b2 = g_strconcat(body, "\n", NULL);

		g_mime_text_part_set_text(part, b2);
		g_free(b2);
	} else
		g_mime_text_part_set_text(part, body);
	g_mime_text_part_set_charset(part, "utf-8");
	/* 8bit is not safe through every relay; GMime picks QP or base64. */
	enc = g_mime_part_get_best_content_encoding(GMIME_PART(part),
	    GMIME_ENCODING_CONSTRAINT_7BIT);
	if (enc != GMIME_CONTENT_ENCODING_BASE64)
		enc = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
	g_mime_part_set_content_encoding(GMIME_PART(part), enc);
	lang = g_ascii_strdown(jm_template_language(t), -1);
	g_mime_object_set_header(GMIME_OBJECT(part), "Content-Language", lang,
	    NULL);
	g_free(lang);

	/* RFC 5322 lines end in CRLF; SMTP DATA wants nothing else. */
	fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	text = g_mime_object_to_string(GMIME_OBJECT(part), fo);
	if (text == NULL) {
		snprintf(why, whylen, "cannot write the message");
		goto done;
	}
	for (i = 0, n = 0; i < hdr->len; i++)
		n += hdr->str[i] == '\n';
	tlen = strlen(text);
	*outlen = hdr->len + n + tlen;
	*out = malloc(*outlen + 1);
	if (*out == NULL) {
		*outlen = 0;
		snprintf(why, whylen, "out of memory");
		goto done;
	}
	for (i = 0, n = 0; i < hdr->len; i++) {
		if (hdr->str[i] == '\n')
			(*out)[n++] = '\r';
		(*out)[n++] = hdr->str[i];
	}
	memcpy(*out + n, text, tlen + 1);
	rc = 0;

done:
	if (hdr != NULL)
		g_string_free(hdr, TRUE);
	g_free(text);
	if (fo != NULL)
		g_mime_format_options_free(fo);
	if (part != NULL)
		g_object_unref(part);
	if (froms != NULL)
		g_object_unref(froms);
	free(subject);
	free(body);
	return rc;
}
