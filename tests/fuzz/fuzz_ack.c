/*
 * fuzz_ack.c: the acknowledgement policy and composer on any message.
 *
 * The input is parsed as a message, asked jm_ack_policy() and
 * jm_ack_is_own(), and answered with the shipped complaint template.  The
 * composed reply must be a clean RFC 5322 message whatever the customer
 * wrote: CRLF line ends only, header lines of printable ASCII within 998
 * bytes, and only the header fields the composer writes, each once; a name
 * or subject with CR, LF or anything else never adds a header.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "journey/ack.h"
#include "journey/conf.h"
#include "journey/diag.h"
#include "journey/message.h"
#include "journey/template.h"

#include "fuzz.h"

static struct jm_conf		*conf;
static struct jm_templates	*templates;

static const char *const fields[] = {
	"From", "To", "Subject", "Date", "Message-Id", "In-Reply-To",
	"References", "Auto-Submitted", "X-Auto-Response-Suppress", "X-Loop",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"Content-Language",
};
#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

static void
setup(void)
{
	static const char *const set[][2] = {
		{ "ack_from", "Support <support@example.com>" },
		{ "watch_recipients", "support@example.com" },
		{ "authserv_id", "mx.example.com" },
	};
	struct jm_diag	d;
	char		why[256], dir[4096];
	size_t		i;

	jm_message_init();
	jm_diag_init(&d);
	if (jm_conf_load(NULL, &d, &conf) == -1)
		fuzz_fail("default configuration");
	for (i = 0; i < sizeof(set) / sizeof(set[0]); i++)
		if (jm_conf_set(conf, set[i][0], set[i][1], why,
		    sizeof(why)) == -1)
			fuzz_fail(why);
	snprintf(dir, sizeof(dir), "%s/replies", fuzz_rules_dir());
	if (jm_templates_load(dir, &d, &templates) == -1 ||
	    jm_templates_count(templates) == 0)
		fuzz_fail("cannot load the shipped templates");
	jm_diag_free(&d);
}

static void
check_reply(const char *s, size_t len)
{
	const char	*p, *end = s + len, *eol, *colon;
	unsigned	 seen[NFIELDS];
	size_t		 i, n;

	if (strlen(s) != len)
		fuzz_fail("NUL in the reply");
	for (p = s; p < end; p++)
		if ((*p == '\n' && (p == s || p[-1] != '\r')) ||
		    (*p == '\r' && (p + 1 == end || p[1] != '\n')))
			fuzz_fail("a bare CR or LF in the reply");
	memset(seen, 0, sizeof(seen));
	for (p = s; p < end; p = eol + 2) {
		eol = strstr(p, "\r\n");
		if (eol == NULL)
			fuzz_fail("header block not ended");
		if (eol == p)
			return;	/* the empty line: headers done */
		n = (size_t)(eol - p);
		if (n > 998)
			fuzz_fail("header line longer than 998 bytes");
		for (i = 0; i < n; i++)
			if ((unsigned char)p[i] > 0x7e ||
			    ((unsigned char)p[i] < 0x20 && p[i] != '\t'))
				fuzz_fail("header line not printable ASCII");
		if (*p == ' ' || *p == '\t')
			continue;	/* folded */
		colon = memchr(p, ':', n);
		if (colon == NULL)
			fuzz_fail("header line without a field name");
		for (i = 0; i < NFIELDS; i++)
			if (strlen(fields[i]) == (size_t)(colon - p) &&
			    strncasecmp(fields[i], p, (size_t)(colon - p)) == 0)
				break;
		if (i == NFIELDS)
			fuzz_fail("a header field the composer does not write");
		if (++seen[i] > 1)
			fuzz_fail("a header field written twice");
	}
	fuzz_fail("no empty line after the headers");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		*rcpt[] = { "support@example.com" };
	struct jm_message	*m;
	char			*out, why[256];
	size_t			 outlen;

	if (conf == NULL)
		setup();
	if (jm_message_parse((const char *)data, size, 65536, &m) == -1)
		return 0;
	(void)jm_ack_policy(conf, m);
	(void)jm_ack_is_own(conf, m);
	(void)jm_ack_strip_subject(m->subject);
	if (jm_message_set_envelope(m, "<customer@example.net>", rcpt,
	    1) == -1)
		fuzz_fail("set_envelope");
	(void)jm_ack_policy(conf, m);
	if (jm_ack_compose(conf, templates, m, "complaint", "en",
	    "JM-ABCDEFGH", 1700000000, &out, &outlen, why,
	    sizeof(why)) == 0) {
		check_reply(out, outlen);
		free(out);
	}
	jm_message_free(m);
	return 0;
}
