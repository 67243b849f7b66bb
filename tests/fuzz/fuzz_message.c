/*
 * fuzz_message.c: MIME to text, then the shipped rules, on any bytes.
 *
 * Properties beyond "no crash, no leak": every string jm_message_parse()
 * documents as UTF-8 is valid UTF-8 of its stated length with no NUL, the
 * text respects max_scan, and the verdict's scores and language are sane.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "journey/diag.h"
#include "journey/message.h"
#include "journey/rules.h"
#include "journey/text.h"

#include "fuzz.h"

#define MAX_SCAN	(16 * 1024)

static struct jm_ruleset *rules;

static void
load_rules(void)
{
	struct jm_diag	d;

	jm_message_init();
	jm_diag_init(&d);
	if (jm_rules_load(fuzz_rules_dir(), &d, &rules) == -1)
		fuzz_fail("cannot load the rules (set JM_FUZZ_RULES_DIR)");
	jm_diag_free(&d);
}

static void
check_utf8(const char *s, size_t len, const char *what)
{
	if (s == NULL)
		fuzz_fail(what);
	if (strlen(s) != len || !jm_text_valid_utf8(s, len))
		fuzz_fail(what);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		*rcpt[] = { "support@example.com" };
	struct jm_message	*m;
	struct jm_verdict	 v;
	size_t			 i;

	if (rules == NULL)
		load_rules();
	if (jm_message_parse((const char *)data, size, MAX_SCAN, &m) == -1)
		return 0;
	if (jm_message_set_envelope(m, "<customer@example.net>", rcpt, 1) == -1)
		fuzz_fail("set_envelope failed");
	check_utf8(m->text, m->text_len, "text is not UTF-8 of text_len");
	check_utf8(m->norm_text, m->norm_text_len, "norm_text is not UTF-8");
	check_utf8(m->subject, strlen(m->subject), "subject");
	check_utf8(m->norm_subject, strlen(m->norm_subject), "norm_subject");
	check_utf8(m->from_addr, strlen(m->from_addr), "from_addr");
	check_utf8(m->from_name, strlen(m->from_name), "from_name");
	if (m->text_len > MAX_SCAN)
		fuzz_fail("text longer than max_scan");
	if (m->n_headers > 10000)
		fuzz_fail("more than 10000 headers");

	memset(&v, 0, sizeof(v));
	if (jm_rules_classify(rules, m, "en", &v) == 0) {
		if (v.category != NULL && v.score < v.category->threshold)
			fuzz_fail("winner below its threshold");
		if (v.n_scores != jm_rules_ncategories(rules))
			fuzz_fail("one score per category");
		if (memchr(v.language, '\0', sizeof(v.language)) == NULL ||
		    v.language[0] == '\0')
			fuzz_fail("no language");
		for (i = 0; i < v.n_fired; i++)
			if (v.fired[i] == NULL)
				fuzz_fail("fired rule without a name");
	}
	jm_verdict_clear(&v);
	jm_message_free(m);
	return 0;
}
