/*
 * process.c: the pure core strung together: message, rules, decision.
 *
 * It owns no state of its own and does no I/O but through the store it is
 * given, so the milter and "journeyctl classify" share it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "journey/process.h"
#include "journey/util.h"

static const char *
find_message_id(const char *raw, size_t len, char *out, size_t outlen)
{
	const char	*p = raw, *end = raw + len, *eol;
	size_t		 n;

	out[0] = '\0';
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if (eol == p || (eol == p + 1 && *p == '\r'))
			break;		/* end of the header block */
		if ((size_t)(eol - p) > 11 && jm_strcaseprefix(p, "message-id:")) {
			const char *v = p + 11;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			n = (size_t)(eol - v);
			if (n > 0 && v[n - 1] == '\r')
				n--;
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			break;
		}
		p = eol + 1;
	}
	return out;
}

static void
add_header(struct jm_outcome *out, const char *name, const char *value)
{
	struct jm_out_header	*h;

	if (out->n_headers >= JM_OUT_HEADERS)
		return;
	h = &out->headers[out->n_headers++];
	h->name = name;
	snprintf(h->value, sizeof(h->value), "%s", value);
}

int
jm_process(const struct jm_policy *p, const char *raw, size_t len,
    const char *env_from, char *const *rcpt, size_t n_rcpt,
    struct jm_outcome *out)
{
	char	msgid[512], ticket[JM_TICKET_LEN + 1];

	(void)p;
	(void)rcpt;
	(void)n_rcpt;
	memset(out, 0, sizeof(*out));
	find_message_id(raw, len, msgid, sizeof(msgid));
	jm_ticket(msgid, ticket);

	/* Placeholder classifier until the rule engine is wired in. */
	snprintf(out->category, sizeof(out->category), "none");
	add_header(out, "X-Journey-Category", out->category);
	add_header(out, "X-Journey-Ticket", ticket);
	snprintf(out->summary, sizeof(out->summary),
	    "from=<%s> category=%s ticket=%s", env_from != NULL ? env_from : "",
	    out->category, ticket);
	return 0;
}
