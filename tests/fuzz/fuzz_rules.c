/*
 * fuzz_rules.c: the rule language parser and compiler on any text, and
 * every ruleset that loads run over a fixed message.
 *
 * The input is one rules file.  A ruleset that loads is used at once, so
 * hostile patterns meet the match limits as well as the compiler.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "journey/diag.h"
#include "journey/message.h"
#include "journey/rules.h"

#include "fuzz.h"

static const char sample[] =
    "From: Ayse <ayse@customer.example>\r\n"
    "To: support@example.com\r\n"
    "Subject: =?UTF-8?B?U2lwYXJpxZ8gaXB0YWw=?= - cancel my order\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "I am very disappointed, please cancel my subscription. "
    "Siparişimi iptal edin. \xd9\x84\xd8\xb7\xd9\x81\xd8\xa7\r\n"
    "aaaaaaaaaaaaaaaaaaab\r\n"
    "Thanks!\r\n";

static struct jm_message *msg;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jm_diag		 d;
	struct jm_ruleset	*rs = NULL;
	struct jm_verdict	 v;
	char			*text;
	size_t			 i;
	int			 rc;

	if (msg == NULL) {
		jm_message_init();
		if (jm_message_parse(sample, sizeof(sample) - 1, 65536,
		    &msg) == -1)
			fuzz_fail("cannot parse the sample message");
	}
	text = fuzz_cstr(data, size);
	jm_diag_init(&d);
	rc = jm_rules_load_string("fuzz.rules", text, &d, &rs);
	if (rc == 0 && d.n != 0)
		fuzz_fail("loaded with diagnostics");
	if (rc == -1 && (d.n == 0 || rs != NULL))
		fuzz_fail("refused without a diagnostic, or half-loaded");
	for (i = 0; i < d.n; i++)
		if (strncmp(jm_diag_line(&d, i), "fuzz.rules", 10) != 0)
			fuzz_fail("a diagnostic that does not name the file");
	if (rc == 0) {
		memset(&v, 0, sizeof(v));
		if (jm_rules_classify(rs, msg, "en", &v) == 0 &&
		    v.n_scores != jm_rules_ncategories(rs))
			fuzz_fail("one score per category");
		jm_verdict_clear(&v);
		for (i = 0; i < jm_rules_ncategories(rs); i++)
			if (jm_rules_find_category(rs,
			    jm_rules_category(rs, i)->name) == NULL)
				fuzz_fail("a category that cannot be found");
	}
	jm_rules_free(rs);
	jm_diag_free(&d);
	free(text);
	return 0;
}
