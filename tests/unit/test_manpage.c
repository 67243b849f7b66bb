/*
 * test_manpage.c: journey-milter.conf(5) agrees with the configuration table.
 *
 * Every key in the table must be documented in the page as ".BR key" with
 * its default, and the page must document no key the table lacks.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/conf.h"

static char *page;

static char *
slurp(const char *path)
{
	FILE	*fp = fopen(path, "r");
	char	*buf;
	long	 n;

	if (fp == NULL) {
		printf("Bail out! cannot open %s\n", path);
		exit(1);
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		printf("Bail out! cannot read %s\n", path);
		exit(1);
	}
	fclose(fp);
	return buf;
}

/* The paragraph of KEY: from ".BR key " to the next ".TP" or ".S". */
static char *
paragraph(const char *key)
{
	char	 want[128], *p, *end, *out;

	snprintf(want, sizeof(want), "\n.BR %s \"", key);
	p = strstr(page, want);
	if (p == NULL)
		return NULL;
	p += strlen(want);
	end = strstr(p, "\n.TP");
	if (end == NULL || (strstr(p, "\n.S") != NULL && strstr(p, "\n.S") < end))
		end = strstr(p, "\n.S");
	if (end == NULL)
		end = p + strlen(p);
	out = strndup(p, (size_t)(end - p));
	ck_assert_ptr_nonnull(out);
	return out;
}

START_TEST(test_every_key_documented)
{
	const struct jm_conf_key *k;
	size_t		 n;
	char		*para, want[1024];

	k = jm_conf_keys(&n);
	k += _i;
	para = paragraph(k->name);
	ck_assert_msg(para != NULL, "%s is not in journey-milter.conf(5)",
	    k->name);
	snprintf(want, sizeof(want), "Default: %s.",
	    k->def[0] != '\0' ? k->def : "empty");
	ck_assert_msg(strstr(para, want) != NULL,
	    "%s: the page does not say \"%s\"", k->name, want);
	free(para);
}
END_TEST

START_TEST(test_no_stale_key)
{
	const struct jm_conf_key *k;
	size_t		 n, i;
	const char	*p = page;
	char		 name[128];
	int		 found;

	k = jm_conf_keys(&n);
	while ((p = strstr(p, "\n.TP\n.BR ")) != NULL) {
		p += strlen("\n.TP\n.BR ");
		if (sscanf(p, "%127s", name) != 1)
			continue;
		found = 0;
		for (i = 0; i < n; i++)
			if (strcmp(k[i].name, name) == 0)
				found = 1;
		ck_assert_msg(found, "the page documents \"%s\", which the table "
		    "does not have", name);
	}
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("manpage");
	TCase		*tc = tcase_create("conf.5");
	SRunner		*sr;
	size_t		 n;
	const char	*top = getenv("top_builddir");
	char		 path[4096];
	int		 failed;

	snprintf(path, sizeof(path), "%s/milter/journey-milter.conf.5",
	    top != NULL ? top : ".");
	page = slurp(path);
	(void)jm_conf_keys(&n);
	tcase_add_loop_test(tc, test_every_key_documented, 0, (int)n);
	tcase_add_test(tc, test_no_stale_key);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free(page);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
