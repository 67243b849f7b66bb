/*
 * fuzz_template.c: the reply template language on any text, and every
 * template that loads rendered with hostile values.
 *
 * Properties: a rendered subject is one line within its bound, valid
 * UTF-8, with no CR or LF; a body stays within its bound and is valid
 * UTF-8.  A control character in either (tab and, in the body, LF aside)
 * must have been written by the template itself: none comes from a value.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "journey/diag.h"
#include "journey/template.h"
#include "journey/text.h"

#include "fuzz.h"

static void
check_controls(const char *out, const char *tmpl, size_t tlen,
    const char *allowed, const char *what)
{
	const unsigned char *p;

	for (p = (const unsigned char *)out; *p != '\0'; p++)
		if ((*p < 0x20 || *p == 0x7f) && strchr(allowed, *p) == NULL &&
		    memchr(tmpl, *p, tlen) == NULL)
			fuzz_fail(what);
}

static void
check_output(const char *subject, const char *body, const char *tmpl,
    size_t tlen)
{
	if (strlen(subject) > JM_TEMPLATE_SUBJECT_MAX ||
	    !jm_text_valid_utf8(subject, strlen(subject)))
		fuzz_fail("subject too long or not UTF-8");
	if (strpbrk(subject, "\r\n") != NULL)
		fuzz_fail("CR or LF in the subject");
	check_controls(subject, tmpl, tlen, "\t",
	    "a value's control character in the subject");
	if (strlen(body) > JM_TEMPLATE_BODY_MAX ||
	    !jm_text_valid_utf8(body, strlen(body)))
		fuzz_fail("body too long or not UTF-8");
	check_controls(body, tmpl, tlen, "\t\n",
	    "a value's control character in the body");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct jm_template_vars hostile = {
		"Eve\r\nBcc: victim@example.org\r\n\r\nInjected \xff\xfe",
		"Re: \x01\x1b[31m subject\r\nX-Evil: 1 \xc3\x28",
		"JM-ABCDEFGH",
		"complaint",
		"Support {{ticket}} {{#subject}}",
		"",
	};
	static const struct jm_template_vars empty;
	struct jm_diag		 d;
	struct jm_templates	*ts = NULL;
	const struct jm_template *t;
	char			*subject, *body;
	int			 rc;

	jm_diag_init(&d);
	rc = jm_templates_load_string("complaint.en", (const char *)data,
	    size, &d, &ts);
	if (rc == -1 && (d.n == 0 || ts != NULL))
		fuzz_fail("refused without a diagnostic, or half-loaded");
	if (rc == 0) {
		t = jm_templates_find(ts, "complaint", "en-gb", "tr");
		if (t == NULL || jm_templates_count(ts) != 1)
			fuzz_fail("the loaded template cannot be found");
		if (jm_template_render(t, &hostile, &subject, &body) == 0) {
			check_output(subject, body, (const char *)data, size);
			free(subject);
			free(body);
		}
		if (jm_template_render(t, &empty, &subject, &body) == 0) {
			check_output(subject, body, (const char *)data, size);
			free(subject);
			free(body);
		}
	}
	jm_templates_free(ts);
	jm_diag_free(&d);
	return 0;
}
