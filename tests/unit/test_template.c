/*
 * test_template.c: the reply template language: every load error with its
 * file and line, rendering, sections, injection through values, output
 * bounds, loading a directory, and the wording of every shipped template.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "journey/diag.h"
#include "journey/template.h"

/* A template that loads; the cases below break one thing each. */
#define GOOD	"# comment\nSubject: Re: {{subject}} [{{ticket}}]\n\n" \
		"Hello {{customer_name}},\nticket {{ticket}}\n"

#define NUL_TEXT	"Subject: {{ticket}}\n\nbefore\0after\n"

static const struct bad_case {
	const char	*label;
	const char	*name;
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
	unsigned	 line;		/* 0: no line number */
	const char	*want;
} bad_cases[] = {
	{ "unknown placeholder", "complaint.en",
	    "# c\n# c\nSubject: Re: {{subject}}\n\nHi {{custmer_name}}\n"
	    "{{ticket}}\n", 0, 5, "unknown placeholder \"custmer_name\"" },
	{ "unknown placeholder in subject", "complaint.en",
	    "Subject: {{ticket}} {{subj}}\n\nx\n", 0, 1,
	    "unknown placeholder \"subj\"" },
	{ "unknown section name", "complaint.en",
	    "Subject: {{ticket}}\n\n{{#name}}x{{/name}}\n", 0, 3,
	    "unknown placeholder \"name\"" },
	{ "empty placeholder", "complaint.en",
	    "Subject: {{ticket}}\n\nx {{}} y\n", 0, 3,
	    "unknown placeholder \"\"" },
	{ "unclosed braces", "complaint.en",
	    "Subject: {{ticket}}\n\nline\nHi {{customer_name\nmore }}\n", 0, 4,
	    "unclosed \"{{\"" },
	{ "unclosed braces in subject", "complaint.en",
	    "Subject: {{ticket\n\n{{ticket}}\n", 0, 1, "unclosed \"{{\"" },
	{ "section never closed", "complaint.en",
	    "Subject: {{ticket}}\n\nHi\n{{#customer_name}}Dear\n\nbye\n", 0, 4,
	    "\"{{#customer_name}}\" is never closed" },
	{ "close without open", "complaint.en",
	    "Subject: {{ticket}}\n\nHi\n\nx {{/customer_name}}\n", 0, 5,
	    "\"{{/customer_name}}\" closes no section" },
	{ "mismatched sections", "complaint.en",
	    "Subject: {{ticket}}\n\n{{#customer_name}}\n{{#support_name}}\n"
	    "{{/customer_name}}\n{{/support_name}}\n", 0, 5,
	    "\"{{/customer_name}}\" does not match \"{{#support_name}}\" "
	    "opened at line 4" },
	{ "nested too deep", "complaint.en",
	    "Subject: {{ticket}}\n\n{{#subject}}{{#subject}}{{#subject}}"
	    "{{#subject}}\n{{#subject}}x{{/subject}}{{/subject}}{{/subject}}"
	    "{{/subject}}\n", 0, 4, "sections nested more than 4 deep" },
	{ "missing Subject", "complaint.en",
	    "# comment\nHello {{ticket}}\n", 0, 2, "missing Subject line" },
	{ "empty file", "complaint.en", "", 0, 1, "missing Subject line" },
	{ "no empty line after Subject", "complaint.en",
	    "Subject: {{ticket}}\nHello\n", 0, 2,
	    "no empty line after Subject" },
	{ "Subject only", "complaint.en", "Subject: {{ticket}}", 0, 2,
	    "no empty line after Subject" },
	{ "empty Subject", "complaint.en",
	    "Subject:   \n\n{{ticket}}\n", 0, 1, "empty Subject" },
	{ "empty body", "complaint.en",
	    "Subject: {{ticket}}\n\n\n  \n", 0, 3, "empty body" },
	{ "no ticket", "complaint.en",
	    "# c\nSubject: Re: {{subject}}\n\nHello\n", 0, 2,
	    "no {{ticket}} in the Subject or the body" },
	{ "ticket only in an optional section", "complaint.en",
	    "Subject: Re: {{subject}}\n\n{{#customer_name}}{{ticket}}"
	    "{{/customer_name}}\n", 0, 1,
	    "{{ticket}} appears only inside optional sections" },
	{ "invalid UTF-8", "complaint.en",
	    "Subject: {{ticket}}\n\nok\nbad \xff\xfe here\n", 0, 4,
	    "invalid UTF-8" },
	{ "overlong UTF-8", "complaint.en",
	    "Subject: {{ticket}} \xc0\xaf\n\nx\n", 0, 1, "invalid UTF-8" },
	{ "NUL byte", "complaint.en", NUL_TEXT, sizeof(NUL_TEXT) - 1, 3,
	    "NUL byte" },
	{ "control character", "complaint.en",
	    "Subject: {{ticket}}\n\nbell \a\n", 0, 3, "control character" },
	{ "lone carriage return", "complaint.en",
	    "Subject: {{ticket}}\r\n\r\nx\ry\r\n", 0, 3, "control character" },
	{ "CRLF line numbers", "complaint.en",
	    "# c\r\nSubject: {{ticket}}\r\n\r\nok\r\n{{bogus}}\r\n", 0, 5,
	    "unknown placeholder \"bogus\"" },
	{ "file name without language", "complaint", GOOD, 0, 0,
	    "the file name is not CATEGORY.LANGUAGE" },
	{ "file name in capitals", "Complaint.en", GOOD, 0, 0,
	    "the file name is not CATEGORY.LANGUAGE" },
	{ "file name with a bad language", "complaint.e", GOOD, 0, 0,
	    "the file name is not CATEGORY.LANGUAGE" },
};

START_TEST(test_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	struct jm_templates *ts = (void *)1;
	struct jm_diag	 d;
	char		 want[256];
	size_t		 len = c->len ? c->len : strlen(c->text);

	jm_diag_init(&d);
	ck_assert_msg(jm_templates_load_string(c->name, c->text, len, &d,
	    &ts) == -1, "%s: accepted", c->label);
	ck_assert_ptr_null(ts);
	ck_assert_msg(d.n >= 1, "%s: no diagnostic", c->label);
	if (c->line > 0)
		snprintf(want, sizeof(want), "%s:%u: ", c->name, c->line);
	else
		snprintf(want, sizeof(want), "%s: ", c->name);
	ck_assert_msg(strncmp(jm_diag_line(&d, 0), want, strlen(want)) == 0,
	    "%s: got \"%s\", want prefix \"%s\"", c->label,
	    jm_diag_line(&d, 0), want);
	ck_assert_msg(strstr(jm_diag_line(&d, 0), c->want) != NULL,
	    "%s: got \"%s\", want \"%s\"", c->label, jm_diag_line(&d, 0),
	    c->want);
	jm_diag_free(&d);
}
END_TEST

/* Every error of a file is reported, not only the first. */
START_TEST(test_every_error)
{
	static const char text[] =
	    "Subject: {{nope}}\n\n{{#customer_name}}\n{{also_nope}}\n";
	struct jm_templates *ts;
	struct jm_diag	 d;

	jm_diag_init(&d);
	ck_assert_int_eq(jm_templates_load_string("praise.tr", text,
	    strlen(text), &d, &ts), -1);
	/* Two unknown names, an unclosed section, no ticket. */
	ck_assert_uint_eq(d.n, 4);
	ck_assert_str_eq(jm_diag_line(&d, 0), "praise.tr:1: unknown "
	    "placeholder \"nope\" (known: customer_name, subject, ticket, "
	    "category, support_name, cancellation_offer)");
	ck_assert_ptr_nonnull(strstr(jm_diag_line(&d, 1), "praise.tr:4: "));
	ck_assert_ptr_nonnull(strstr(jm_diag_line(&d, 2), "praise.tr:3: "));
	ck_assert_ptr_nonnull(strstr(jm_diag_line(&d, 3), "praise.tr:1: "));
	jm_diag_free(&d);
}
END_TEST

START_TEST(test_too_large)
{
	struct jm_templates *ts;
	struct jm_diag	 d;
	size_t		 n = JM_TEMPLATE_FILE_MAX + 1;
	char		*text = malloc(n);

	ck_assert_ptr_nonnull(text);
	memset(text, 'a', n);
	memcpy(text, "Subject: {{ticket}}\n\n", 21);
	jm_diag_init(&d);
	ck_assert_int_eq(jm_templates_load_string("big.en", text, n, &d, &ts),
	    -1);
	ck_assert_str_eq(jm_diag_line(&d, 0), "big.en: larger than 64 KiB");
	jm_diag_free(&d);
	/* Exactly at the limit is fine. */
	jm_diag_init(&d);
	ck_assert_int_eq(jm_templates_load_string("big.en", text, n - 1, &d,
	    &ts), 0);
	ck_assert_uint_eq(d.n, 0);
	jm_templates_free(ts);
	jm_diag_free(&d);
	free(text);
}
END_TEST

static const struct render_case {
	const char	*label;
	const char	*text;
	struct jm_template_vars vars;
	const char	*subject;
	const char	*body;
} render_cases[] = {
	{ "placeholders",
	    "Subject: Re: {{subject}} [{{ticket}}]\n\n"
	    "Dear {{customer_name}}, your {{category}} is {{ticket}}.\n"
	    "-- {{support_name}}\n",
	    { "Ada", "Late order", "JM-ABCDEFGH", "complaint", "Help Desk",
	    NULL },
	    "Re: Late order [JM-ABCDEFGH]",
	    "Dear Ada, your complaint is JM-ABCDEFGH.\n-- Help Desk\n" },
	{ "section shown",
	    "Subject: {{ticket}}\n\n{{#customer_name}}Dear {{customer_name}},"
	    "\n{{/customer_name}}Thanks.\n",
	    { "Ada", NULL, "T1", NULL, NULL, NULL },
	    "T1", "Dear Ada,\nThanks.\n" },
	{ "section hidden when NULL",
	    "Subject: {{ticket}}\n\n{{#customer_name}}Dear {{customer_name}},"
	    "\n{{/customer_name}}Thanks.\n",
	    { NULL, NULL, "T1", NULL, NULL, NULL },
	    "T1", "Thanks.\n" },
	{ "section hidden when only white space",
	    "Subject: {{ticket}}\n\n{{#customer_name}}Dear {{customer_name}},"
	    "\n{{/customer_name}}Thanks.\n",
	    { " \t ", NULL, "T1", NULL, NULL, NULL },
	    "T1", "Thanks.\n" },
	{ "nested sections",
	    "Subject: {{ticket}}\n\n"
	    "{{#customer_name}}A{{#cancellation_offer}}B {{cancellation_offer}}"
	    "{{/cancellation_offer}}C{{/customer_name}}D\n",
	    { "x", NULL, "T", NULL, NULL, "20% off" },
	    "T", "AB 20% offCD\n" },
	{ "inner section hidden",
	    "Subject: {{ticket}}\n\n"
	    "{{#customer_name}}A{{#cancellation_offer}}B {{cancellation_offer}}"
	    "{{/cancellation_offer}}C{{/customer_name}}D\n",
	    { "x", NULL, "T", NULL, NULL, "" },
	    "T", "ACD\n" },
	{ "section in the subject, empty value trimmed",
	    "Subject: {{#customer_name}}{{customer_name}}: {{/customer_name}}"
	    "[{{ticket}}] {{subject}}\n\nx\n",
	    { NULL, "", "T", NULL, NULL, NULL },
	    "[T]", "x\n" },
	{ "spaces inside braces",
	    "Subject: {{ ticket }}\n\n{{ # customer_name }}{{ customer_name }}"
	    "{{ / customer_name }}\n",
	    { "Ada", NULL, "T", NULL, NULL, NULL },
	    "T", "Ada\n" },
	{ "ticket inside its own section counts",
	    "Subject: hi\n\n{{#ticket}}Ref {{ticket}}{{/ticket}}\n",
	    { NULL, NULL, "T9", NULL, NULL, NULL },
	    "hi", "Ref T9\n" },
	{ "CRLF file",
	    "# c\r\nSubject: {{ticket}}\r\n\r\nline 1\r\nline 2\r\n",
	    { NULL, NULL, "T", NULL, NULL, NULL },
	    "T", "line 1\nline 2\n" },
	{ "literal braces",
	    "Subject: {{ticket}} }} {\n\n{ x } }}\n",
	    { NULL, NULL, "T", NULL, NULL, NULL },
	    "T }} {", "{ x } }}\n" },
	{ "Turkish and Persian text",
	    "Subject: Şikâyetiniz alındı [{{ticket}}]\n\n"
	    "سلام {{customer_name}}، شماره: {{ticket}}\n",
	    { "مریم", NULL, "JM-X", NULL, NULL, NULL },
	    "Şikâyetiniz alındı [JM-X]", "سلام مریم، شماره: JM-X\n" },
	{ "injection through the name and the subject",
	    "Subject: Re: {{subject}} {{customer_name}} [{{ticket}}]\n\n"
	    "Dear {{customer_name}}\n",
	    { "Eve\r\nBcc: x@evil", "Hi\r\nX-Evil: 1\n", "T", NULL, NULL,
	    NULL },
	    "Re: Hi  X-Evil: 1  Eve  Bcc: x@evil [T]",
	    "Dear Eve\nBcc: x@evil\n" },
	{ "control characters in values",
	    "Subject: {{subject}} [{{ticket}}]\n\n{{subject}}|{{customer_name}}\n",
	    { "a\tb\x01" "c\x7f" "d\xc2\x85" "e\xe2\x80\xa8" "f", "x\x1by",
	    "T", NULL, NULL, NULL },
	    "x y [T]", "xy|a\tbcdef\n" },
	{ "invalid UTF-8 in a value",
	    "Subject: {{subject}} {{ticket}}\n\n{{customer_name}}\n",
	    { "a\xff" "b\xc3", "\xe2\x82", "T", NULL, NULL, NULL },
	    "\xef\xbf\xbd\xef\xbf\xbd T",
	    "a\xef\xbf\xbd" "b\xef\xbf\xbd\n" },
};

START_TEST(test_render)
{
	const struct render_case *c = &render_cases[_i];
	const struct jm_template *t;
	struct jm_templates *ts;
	struct jm_diag	 d;
	char		*subject, *body;

	jm_diag_init(&d);
	ck_assert_msg(jm_templates_load_string("complaint.en", c->text,
	    strlen(c->text), &d, &ts) == 0, "%s: %s", c->label,
	    d.n > 0 ? jm_diag_line(&d, 0) : "?");
	t = jm_templates_find(ts, "complaint", "en", NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(jm_template_render(t, &c->vars, &subject, &body), 0);
	ck_assert_msg(strcmp(subject, c->subject) == 0,
	    "%s: subject \"%s\", want \"%s\"", c->label, subject, c->subject);
	ck_assert_msg(strcmp(body, c->body) == 0,
	    "%s: body \"%s\", want \"%s\"", c->label, body, c->body);
	ck_assert(strchr(subject, '\r') == NULL);
	ck_assert(strchr(subject, '\n') == NULL);
	free(subject);
	free(body);
	jm_templates_free(ts);
	jm_diag_free(&d);
}
END_TEST

/* Values past the bounds are cut on a character boundary, silently. */
START_TEST(test_bounds)
{
	static const char text[] =
	    "Subject: [{{ticket}}] {{subject}}\n\n{{ticket}}\n{{subject}}\n"
	    "tail\n";
	const struct jm_template *t;
	struct jm_template_vars vars;
	struct jm_templates *ts;
	struct jm_diag	 d;
	char		*subject, *body, *big;
	size_t		 i, n = 30000;

	/* "ş" is two bytes, "€" three: neither divides the bounds evenly. */
	big = malloc(n * 3 + 1);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < n; i++)
		memcpy(big + 3 * i, i % 2 ? "\xc5\x9f" "a" : "\xe2\x82\xac", 3);
	big[3 * n] = '\0';
	memset(&vars, 0, sizeof(vars));
	vars.subject = big;
	vars.ticket = "JM-T";

	jm_diag_init(&d);
	ck_assert_int_eq(jm_templates_load_string("praise.en", text,
	    strlen(text), &d, &ts), 0);
	t = jm_templates_find(ts, "praise", "en", NULL);
	ck_assert_int_eq(jm_template_render(t, &vars, &subject, &body), 0);
	ck_assert_uint_le(strlen(subject), JM_TEMPLATE_SUBJECT_MAX);
	ck_assert_uint_ge(strlen(subject), JM_TEMPLATE_SUBJECT_MAX - 3);
	ck_assert(g_utf8_validate(subject, -1, NULL));
	ck_assert(strncmp(subject, "[JM-T] \xe2\x82\xac", 10) == 0);
	ck_assert_uint_le(strlen(body), JM_TEMPLATE_BODY_MAX);
	ck_assert_uint_ge(strlen(body), JM_TEMPLATE_BODY_MAX - 3);
	ck_assert(g_utf8_validate(body, -1, NULL));
	ck_assert(strncmp(body, "JM-T\n", 5) == 0);
	ck_assert(strstr(body, "tail") == NULL);
	free(subject);
	free(body);
	jm_templates_free(ts);
	jm_diag_free(&d);
	free(big);
}
END_TEST

static char *
make_dir(void)
{
	char	*dir = strdup("/tmp/jm-replies-XXXXXX");

	ck_assert_ptr_nonnull(dir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static void
put_file(const char *dir, const char *name, const char *text)
{
	char	 path[512];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

static void
remove_dir(char *dir)
{
	char	cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(dir);
}

START_TEST(test_load_dir)
{
	const struct jm_template *t;
	struct jm_templates *ts;
	struct jm_diag	 d;
	char		*dir = make_dir(), sub[600];

	put_file(dir, "complaint.en", "Subject: Re: {{subject}} [{{ticket}}]"
	    "\n\nSorry. {{ticket}}\n");
	put_file(dir, "complaint.tr", "# Türkçe\nSubject: Ynt: {{subject}} "
	    "[{{ticket}}]\n\nÜzgünüz. {{ticket}}\n");
	put_file(dir, "praise.en", "Subject: Thanks [{{ticket}}]\n\nThanks!"
	    " {{ticket}}\n");
	put_file(dir, "cancellation.pt", "Subject: {{ticket}}\n\nObrigado\n");
	/* Leftovers that are not templates, even broken ones. */
	put_file(dir, "complaint.en~", "broken {{");
	put_file(dir, ".complaint.en.swp", "broken {{");
	put_file(dir, "complaint.en.dpkg-old", "broken {{");
	snprintf(sub, sizeof(sub), "%s/old", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);

	jm_diag_init(&d);
	ck_assert_msg(jm_templates_load(dir, &d, &ts) == 0, "%s",
	    d.n > 0 ? jm_diag_line(&d, 0) : "?");
	ck_assert_uint_eq(jm_templates_count(ts), 4);

	t = jm_templates_find(ts, "complaint", "tr", "en");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(jm_template_language(t), "tr");
	ck_assert_str_eq(jm_template_category(t), "complaint");
	ck_assert_ptr_nonnull(strstr(jm_template_file(t), "/complaint.tr"));
	t = jm_templates_find(ts, "complaint", "TR", "en");
	ck_assert_str_eq(jm_template_language(t), "tr");
	t = jm_templates_find(ts, "complaint", "fa", "en");
	ck_assert_str_eq(jm_template_language(t), "en");
	t = jm_templates_find(ts, "complaint", NULL, "en");
	ck_assert_str_eq(jm_template_language(t), "en");
	t = jm_templates_find(ts, "cancellation", "pt-br", "en");
	ck_assert_str_eq(jm_template_language(t), "pt");
	ck_assert_ptr_null(jm_templates_find(ts, "praise", "fa", "tr"));
	ck_assert_ptr_null(jm_templates_find(ts, "praise", "fa", NULL));
	ck_assert_ptr_null(jm_templates_find(ts, "question", "en", "en"));
	ck_assert_ptr_null(jm_templates_find(ts, NULL, "en", "en"));
	ck_assert_ptr_null(jm_templates_find(NULL, "praise", "en", "en"));
	jm_templates_free(ts);
	jm_diag_free(&d);

	/* One broken file and a stray name: nothing is loaded. */
	put_file(dir, "praise.tr", "Subject: Teşekkürler\n\n{{ticket}\n");
	put_file(dir, "README", "templates live here\n");
	jm_diag_init(&d);
	ts = (void *)1;
	ck_assert_int_eq(jm_templates_load(dir, &d, &ts), -1);
	ck_assert_ptr_null(ts);
	ck_assert_uint_eq(d.n, 3);
	snprintf(sub, sizeof(sub), "%s/README: the file name is not", dir);
	ck_assert_msg(strncmp(jm_diag_line(&d, 0), sub, strlen(sub)) == 0,
	    "%s", jm_diag_line(&d, 0));
	snprintf(sub, sizeof(sub), "%s/praise.tr:3: unclosed \"{{\"", dir);
	ck_assert_msg(strncmp(jm_diag_line(&d, 1), sub, strlen(sub)) == 0,
	    "%s", jm_diag_line(&d, 1));
	snprintf(sub, sizeof(sub), "%s/praise.tr:1: no {{ticket}}", dir);
	ck_assert_msg(strncmp(jm_diag_line(&d, 2), sub, strlen(sub)) == 0,
	    "%s", jm_diag_line(&d, 2));
	jm_diag_free(&d);
	remove_dir(dir);
}
END_TEST

START_TEST(test_load_dir_missing)
{
	struct jm_templates *ts;
	struct jm_diag	 d;

	jm_diag_init(&d);
	ck_assert_int_eq(jm_templates_load("/nonexistent/replies", &d, &ts), 0);
	ck_assert_ptr_nonnull(ts);
	ck_assert_uint_eq(jm_templates_count(ts), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_ptr_null(jm_templates_find(ts, "complaint", "en", "en"));
	jm_templates_free(ts);
	jm_templates_free(NULL);
	jm_diag_free(&d);
}
END_TEST

START_TEST(test_load_dir_big_file)
{
	struct jm_templates *ts;
	struct jm_diag	 d;
	char		*dir = make_dir(), *text, want[600];
	size_t		 n = JM_TEMPLATE_FILE_MAX + 100;

	text = malloc(n + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, 'x', n);
	memcpy(text, "Subject: {{ticket}}\n\n", 21);
	text[n] = '\0';
	put_file(dir, "complaint.en", text);
	free(text);
	jm_diag_init(&d);
	ck_assert_int_eq(jm_templates_load(dir, &d, &ts), -1);
	snprintf(want, sizeof(want), "%s/complaint.en: larger than 64 KiB",
	    dir);
	ck_assert_str_eq(jm_diag_line(&d, 0), want);
	jm_diag_free(&d);
	remove_dir(dir);
}
END_TEST

/* The template example in journey-rules(5) must load. */
START_TEST(test_man_example)
{
	const struct jm_template *t;
	struct jm_template_vars vars;
	struct jm_templates *ts;
	struct jm_diag	 d;
	GString		*text = g_string_new(NULL);
	const char	*top = getenv("top_srcdir");
	char		 path[1024], line[1024], name[64] = "", *subject, *body;
	FILE		*fp;
	int		 state = 0;

	snprintf(path, sizeof(path), "%s/milter/journey-rules.5",
	    top != NULL ? top : ".");
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s", path);
	while (fgets(line, sizeof(line), fp) != NULL && state < 3) {
		if (state == 0 && sscanf(line, ".I replies/%63[a-z.]:",
		    name) == 1)
			state = 1;
		else if (state == 1 && strcmp(line, ".nf\n") == 0)
			state = 2;
		else if (state == 2 && strcmp(line, ".fi\n") == 0)
			state = 3;
		else if (state == 2)
			g_string_append(text, line);
	}
	fclose(fp);
	ck_assert_int_eq(state, 3);

	jm_diag_init(&d);
	ck_assert_msg(jm_templates_load_string(name, text->str, text->len,
	    &d, &ts) == 0, "%s", d.n > 0 ? jm_diag_line(&d, 0) : "?");
	t = jm_templates_find(ts, "cancellation", "en", NULL);
	ck_assert_ptr_nonnull(t);
	memset(&vars, 0, sizeof(vars));
	vars.subject = "Please cancel";
	vars.ticket = "JM-7QK2M4XA";
	vars.support_name = "Example Support";
	ck_assert_int_eq(jm_template_render(t, &vars, &subject, &body), 0);
	ck_assert_str_eq(subject, "Re: Please cancel [JM-7QK2M4XA]");
	ck_assert_ptr_nonnull(strstr(body, "Your ticket number is "
	    "JM-7QK2M4XA;"));
	ck_assert_ptr_null(strstr(body, "Dear"));
	ck_assert_ptr_null(strstr(body, "Before you go"));
	free(subject);
	free(body);
	jm_templates_free(ts);
	jm_diag_free(&d);
	g_string_free(text, TRUE);
}
END_TEST

/*
 * The shipped templates, each rendered: every category and language in
 * rules/replies has a row here (a template added without one fails), and
 * each must say what its category promises, in its own language.
 */
#define MAX_WORDS	5

static const struct shipped_case {
	const char	*category;
	const char	*language;
	const char	*words[MAX_WORDS];	/* each must be in the body */
	const char	*offer_lead;	/* text right before the offer */
} shipped_cases[] = {
	/* A complaint: an apology, a person, a time. */
	{ "complaint", "en", { "truly sorry", "With apologies",
	    "A member of our staff, not a robot", "personally",
	    "within one business day" }, NULL },
	{ "complaint", "tr", { "içtenlikle özür dileriz",
	    "Bir ekip arkadaşımız", "bizzat", "en geç bir iş günü içinde" },
	    NULL },
	{ "complaint", "fa", { "صمیمانه پوزش می‌خواهیم",
	    "یکی از همکاران ما", "شخصاً", "حداکثر تا یک روز کاری" }, NULL },
	/* Praise: thanks. */
	{ "praise", "en", { "Thank you so much" }, NULL },
	{ "praise", "tr", { "çok teşekkür ederiz" }, NULL },
	{ "praise", "fa", { "سپاسگزاریم" }, NULL },
	/* A cancellation: the request named, and the operator's offer. */
	{ "cancellation", "en", { "cancellation request" },
	    "we would like to offer you this: " },
	{ "cancellation", "tr", { "İptal talebiniz" },
	    "size şunu önermek isteriz: " },
	{ "cancellation", "fa", { "درخواست لغو" },
	    "مایلیم این پیشنهاد را به شما تقدیم کنیم: " },
};

START_TEST(test_shipped)
{
	const struct shipped_case *c = &shipped_cases[_i];
	const struct jm_template *t;
	struct jm_template_vars vars;
	struct jm_templates *ts;
	struct jm_diag	 d;
	const char	*top = getenv("top_srcdir");
	char		 dir[1024], want[512], *subject, *body;
	size_t		 i;

	snprintf(dir, sizeof(dir), "%s/rules/replies",
	    top != NULL ? top : ".");
	jm_diag_init(&d);
	ck_assert_msg(jm_templates_load(dir, &d, &ts) == 0, "%s",
	    d.n > 0 ? jm_diag_line(&d, 0) : "?");
	ck_assert_uint_eq(jm_templates_count(ts),
	    sizeof(shipped_cases) / sizeof(shipped_cases[0]));
	t = jm_templates_find(ts, c->category, c->language, NULL);
	ck_assert_msg(t != NULL, "%s.%s: not shipped", c->category,
	    c->language);
	ck_assert_str_eq(jm_template_language(t), c->language);

	memset(&vars, 0, sizeof(vars));
	vars.customer_name = "Ada Lovelace";
	vars.subject = "Order 4711";
	vars.ticket = "JM-7QK2M4XA";
	vars.category = c->category;
	vars.support_name = "Example Support";
	vars.cancellation_offer = "three months at half price";
	ck_assert_int_eq(jm_template_render(t, &vars, &subject, &body), 0);
	ck_assert_msg(strstr(subject, "Order 4711") != NULL &&
	    strstr(subject, "JM-7QK2M4XA") != NULL,
	    "%s.%s: subject \"%s\"", c->category, c->language, subject);
	ck_assert_msg(strstr(body, "JM-7QK2M4XA") != NULL,
	    "%s.%s: no ticket in the body", c->category, c->language);
	ck_assert_msg(strstr(body, "Ada Lovelace") != NULL,
	    "%s.%s: no customer name", c->category, c->language);
	ck_assert_msg(strstr(body, "Example Support") != NULL,
	    "%s.%s: no support name", c->category, c->language);
	ck_assert(strstr(subject, "{{") == NULL && strstr(body, "{{") == NULL);
	for (i = 0; i < MAX_WORDS && c->words[i] != NULL; i++)
		ck_assert_msg(strstr(body, c->words[i]) != NULL,
		    "%s.%s: \"%s\" missing from:\n%s", c->category,
		    c->language, c->words[i], body);
	if (c->offer_lead != NULL) {
		snprintf(want, sizeof(want), "%s%s", c->offer_lead,
		    vars.cancellation_offer);
		ck_assert_msg(strstr(body, want) != NULL,
		    "%s.%s: the offer is not in:\n%s", c->category,
		    c->language, body);
	}
	free(subject);
	free(body);

	/* Without a name or an offer, their sections leave no trace. */
	vars.customer_name = NULL;
	vars.cancellation_offer = "";
	ck_assert_int_eq(jm_template_render(t, &vars, &subject, &body), 0);
	ck_assert(strstr(body, "JM-7QK2M4XA") != NULL);
	ck_assert_msg(strstr(body, " ,") == NULL && strstr(body, "  ") ==
	    NULL && strstr(body, "\n\n\n") == NULL,
	    "%s.%s: without a name:\n%s", c->category, c->language, body);
	if (c->offer_lead != NULL)
		ck_assert_msg(strstr(body, c->offer_lead) == NULL,
		    "%s.%s: an empty offer is announced", c->category,
		    c->language);
	free(subject);
	free(body);
	jm_templates_free(ts);
	jm_diag_free(&d);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("template");
	TCase	*tc = tcase_create("template");
	SRunner	*sr;
	int	 failed;

	tcase_add_loop_test(tc, test_bad, 0,
	    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_every_error);
	tcase_add_test(tc, test_too_large);
	tcase_add_loop_test(tc, test_render, 0,
	    sizeof(render_cases) / sizeof(render_cases[0]));
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_load_dir);
	tcase_add_test(tc, test_load_dir_missing);
	tcase_add_test(tc, test_load_dir_big_file);
	tcase_add_test(tc, test_man_example);
	tcase_add_loop_test(tc, test_shipped, 0,
	    sizeof(shipped_cases) / sizeof(shipped_cases[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
