/*
 * test_rules.c: the rule language (every error with its file and line)
 * and the classifier (scores, thresholds, precedence, places, language,
 * match limits, threads).
 *
 * Messages are built by hand: the rules read only the fields filled here.
 * Only test_rules_fold depends on the real normaliser of text.c.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journey/buf.h"
#include "journey/diag.h"
#include "journey/message.h"
#include "journey/rules.h"
#include "journey/text.h"

/* A file with an error: the first diagnostic must be WANT at LINE. */
static const struct bad_case {
	const char	*label;
	const char	*text;
	unsigned	 line;
	const char	*want;
} bad_cases[] = {
	{ "unknown category",
	    "category complaint\nrule A complain subject /x/ 1\n", 2,
	    "unknown category \"complain\"" },
	{ "duplicate rule",
	    "category c\nrule A c subject /x/ 1\n\nrule A c body /y/ 1\n", 4,
	    "rule A is already defined at t.rules:2" },
	{ "duplicate category",
	    "category c\n# again\ncategory c threshold 2\n", 3,
	    "category c is already declared at t.rules:1" },
	{ "bad pattern",
	    "category c\nrule A c subject /ab(c/ 1\n", 2,
	    "rule A: pattern error at offset 4: missing closing parenthesis" },
	{ "bad pattern after an escaped slash",
	    "category c\nrule A c subject /a\\/b[/ 1\n", 2,
	    "rule A: pattern error at offset 4: missing terminating ]" },
	{ "bad flag", "category c\nrule A c subject /x/iq 1\n", 2,
	    "rule A: unknown pattern flag \"q\" (expected i, m, s or x)" },
	{ "bad weight", "category c\nrule A c subject /x/ abc\n", 2,
	    "rule A: weight \"abc\" is not a whole number" },
	{ "weight too big", "category c\nrule A c subject /x/ 101\n", 2,
	    "rule A: weight 101 is out of range (expected -100 to 100)" },
	{ "weight too small", "category c\nrule A c subject /x/ -101\n", 2,
	    "rule A: weight -101 is out of range" },
	{ "bad where", "category c\nrule A c subjct /x/ 1\n", 2,
	    "rule A: unknown place \"subjct\" (expected subject, body, text, "
	    "from or header:NAME)" },
	{ "empty header name", "category c\nrule A c header: /x/ 1\n", 2,
	    "unknown place \"header:\"" },
	{ "unterminated pattern", "category c\nrule A c body /abc 1\n", 2,
	    "rule A: unterminated pattern" },
	{ "escaped slash does not close",
	    "category c\nrule A c body /abc\\/ 1\n", 2,
	    "rule A: unterminated pattern" },
	{ "no pattern", "category c\nrule A c body abc 1\n", 2,
	    "rule A: expected /PATTERN/ after \"body\"" },
	{ "missing weight", "category c\nrule A c body /x/\n", 2,
	    "rule A: expected a weight (-100 to 100) after the pattern" },
	{ "missing where", "category c\nrule A c\n", 2,
	    "rule A: expected subject, body, text, from or header:NAME" },
	{ "missing category", "category c\n\n\nrule A\n", 4,
	    "rule A: expected a category after the name" },
	{ "missing rule name", "rule\n", 1,
	    "rule: expected NAME CATEGORY WHERE /PATTERN/FLAGS WEIGHT" },
	{ "bad rule name", "category c\nrule a1 c body /x/ 1\n", 2,
	    "rule name \"a1\" must be capital letters" },
	{ "trailing words", "category c\nrule A c body /x/ 1 # no\n", 2,
	    "rule A: unexpected \"#\" after the weight" },
	{ "unknown statement", "# rules\n  rules A c body /x/ 1\n", 2,
	    "unknown statement \"rules\" (expected category, language or "
	    "rule)" },
	{ "missing category name", "category\n", 1,
	    "category: expected a name" },
	{ "bad category name", "category Complaint\n", 1,
	    "category name \"Complaint\" must be lower-case" },
	{ "bad effect", "category c journey forward\n", 1,
	    "category c: unknown journey effect \"forward\" (expected advance, "
	    "at-risk, exit, none or set STAGE)" },
	{ "bad stage", "category c journey set adore\n", 1,
	    "category c: unknown stage \"adore\" (expected assess" },
	{ "stay alone", "category c journey stay\n", 1,
	    "category c: expected \"at-risk\" after \"journey stay\"" },
	{ "stay put", "category c journey stay put reply no\n", 1,
	    "category c: expected \"at-risk\" after \"journey stay\"" },
	{ "missing stage", "category c journey set\n", 1,
	    "category c: expected a stage after \"journey set\"" },
	{ "missing value", "category c threshold\n", 1,
	    "category c: expected a value after \"threshold\"" },
	{ "bad threshold", "category c threshold 0\n", 1,
	    "category c: threshold \"0\" is not a whole number from 1 to" },
	{ "bad precedence", "category c precedence high\n", 1,
	    "category c: precedence \"high\" is not a whole number" },
	{ "unknown keyword", "category c weight 3\n", 1,
	    "category c: unknown keyword \"weight\" (expected threshold, "
	    "precedence, journey, reply or escalate)" },
	{ "keyword twice", "category c threshold 2 threshold 3\n", 1,
	    "category c: threshold given twice" },
	{ "escalate twice", "category c escalate escalate no\n", 1,
	    "category c: escalate given twice" },
	{ "bad reply", "category c reply ../etc/passwd\n", 1,
	    "category c: reply \"../etc/passwd\" is not a template name" },
	{ "bad language", "language EN\n", 1,
	    "language \"EN\" is not a language code" },
	{ "language too short", "language e\n", 1,
	    "language \"e\" is not a language code" },
	{ "missing language", "language\n", 1,
	    "language: expected a language code" },
	{ "language with more", "language en tr\n", 1,
	    "language: expected only a language code" },
	/* Errors name the line where the statement started. */
	{ "continued statement",
	    "category c\nrule A c \\\n  subject \\\n  /x(/ 1\n", 2,
	    "rule A: pattern error at offset 2: missing closing parenthesis" },
	{ "line after a continuation",
	    "category c\nrule A c \\\n  subject /x/ \\\n  1\n"
	    "rule B d body /y/ 1\n",
	    5, "unknown category \"d\"" },
	{ "line numbers with CRLF",
	    "category c\r\n\r\nrule A c body /x/ 1 z\r\n", 3,
	    "rule A: unexpected \"z\"" },
};

START_TEST(test_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	struct jm_diag	 d;
	struct jm_ruleset *rs = (void *)1;
	char		 want[64];

	jm_diag_init(&d);
	ck_assert_msg(jm_rules_load_string("t.rules", c->text, &d, &rs) == -1,
	    "%s: accepted", c->label);
	ck_assert_ptr_null(rs);
	ck_assert_msg(d.n >= 1, "%s: no diagnostic", c->label);
	snprintf(want, sizeof(want), "t.rules:%u: ", c->line);
	ck_assert_msg(strncmp(jm_diag_line(&d, 0), want, strlen(want)) == 0,
	    "%s: got \"%s\", want prefix \"%s\"", c->label,
	    jm_diag_line(&d, 0), want);
	ck_assert_msg(strstr(jm_diag_line(&d, 0), c->want) != NULL,
	    "%s: got \"%s\", want \"%s\"", c->label, jm_diag_line(&d, 0),
	    c->want);
	jm_diag_free(&d);
}
END_TEST

START_TEST(test_every_error_reported)
{
	struct jm_diag	 d;
	struct jm_ruleset *rs;

	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("t.rules",
	    "category c\n"
	    "rule A c body /x/ 1\n"
	    "rule B nope body /x/ 1\n"
	    "rule C c body /(/ 1\n"
	    "bogus\n"
	    "rule D c body /y/ 2\n", &d, &rs), -1);
	ck_assert_ptr_null(rs);
	ck_assert_uint_eq(d.n, 3);
	ck_assert_str_eq(jm_diag_line(&d, 0),
	    "t.rules:3: unknown category \"nope\"");
	ck_assert(strncmp(jm_diag_line(&d, 1), "t.rules:4: rule C: pattern "
	    "error at offset 1: ", 38) == 0);
	ck_assert(strncmp(jm_diag_line(&d, 2), "t.rules:5: unknown statement",
	    28) == 0);
	jm_diag_free(&d);
}
END_TEST

/* A long statement is refused, not cut. */
START_TEST(test_statement_too_long)
{
	struct jm_diag	 d;
	struct jm_ruleset *rs;
	struct jm_buf	 b;

	jm_buf_init(&b, 1 << 20);
	jm_buf_puts(&b, "category c\nrule A c body /");
	while (b.len < 70000)
		jm_buf_puts(&b, "abcdefgh");
	jm_buf_puts(&b, "/ 1\n");
	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("t.rules", jm_buf_cstr(&b), &d,
	    &rs), -1);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(jm_diag_line(&d, 0),
	    "t.rules:2: statement longer than 65536 bytes");
	jm_diag_free(&d);
	jm_buf_free(&b);
}
END_TEST

static char *
make_dir(void)
{
	char	*dir = strdup("/tmp/jm-rules-XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static void
put_file(const char *dir, const char *name, const char *text, size_t len)
{
	char	 path[512];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
	fclose(fp);
}

static void
remove_tree(const char *dir)
{
	char	cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Errors in two files are both reported, in file order. */
START_TEST(test_errors_in_two_files)
{
	struct jm_diag	 d;
	struct jm_ruleset *rs = (void *)1;
	char		*dir = make_dir(), want[600];

	put_file(dir, "00-categories.rules", "category c\n", 11);
	put_file(dir, "20-tr.rules", "language tr\nrule B c body /(/ 1\n", 32);
	put_file(dir, "10-en.rules", "language en\n\nrule A c body /x/ 500\n",
	    35);
	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load(dir, &d, &rs), -1);
	ck_assert_ptr_null(rs);
	ck_assert_uint_eq(d.n, 2);
	snprintf(want, sizeof(want), "%s/10-en.rules:3: rule A: weight 500 "
	    "is out of range (expected -100 to 100)", dir);
	ck_assert_str_eq(jm_diag_line(&d, 0), want);
	snprintf(want, sizeof(want), "%s/20-tr.rules:2: rule B: pattern "
	    "error at offset 1: missing closing parenthesis", dir);
	ck_assert_str_eq(jm_diag_line(&d, 1), want);
	jm_diag_free(&d);
	remove_tree(dir);
	free(dir);
}
END_TEST

START_TEST(test_nul_byte)
{
	struct jm_diag	 d;
	struct jm_ruleset *rs;
	char		*dir = make_dir(), want[600];

	put_file(dir, "a.rules", "category c\nrule A c body /x\0y/ 1\n", 33);
	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load(dir, &d, &rs), -1);
	ck_assert_uint_eq(d.n, 1);
	snprintf(want, sizeof(want), "%s/a.rules:2: NUL byte in the line",
	    dir);
	ck_assert_str_eq(jm_diag_line(&d, 0), want);
	jm_diag_free(&d);
	remove_tree(dir);
	free(dir);
}
END_TEST

START_TEST(test_missing_dir)
{
	struct jm_diag	 d;
	struct jm_ruleset *rs = (void *)1;

	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load("/nonexistent/rules", &d, &rs), -1);
	ck_assert_ptr_null(rs);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(jm_diag_line(&d, 0),
	    "/nonexistent/rules: cannot open: No such file or directory");
	jm_diag_free(&d);
}
END_TEST

static void
msg_init(struct jm_message *m, const char *subject, const char *body)
{
	memset(m, 0, sizeof(*m));
	m->subject = m->norm_subject = (char *)subject;
	m->text = m->norm_text = (char *)body;
	m->text_len = m->norm_text_len = strlen(body);
	m->from_addr = (char *)"";
	m->from_name = (char *)"";
}

static char *
fired_list(const struct jm_verdict *v)
{
	static char	out[1024];
	size_t		i;

	out[0] = '\0';
	for (i = 0; i < v->n_fired; i++) {
		if (i > 0)
			strcat(out, ",");
		strcat(out, v->fired[i]);
	}
	return out;
}

/*
 * The directory loader: byte order of names, only regular "*.rules"
 * files, language reset at each file, categories usable from later files.
 */
START_TEST(test_dir_good)
{
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 m;
	struct jm_verdict	 v;
	char			*dir = make_dir(), sub[600];
	const struct jm_category *c;

	put_file(dir, "00-categories.rules",
	    "category complaint threshold 2 journey at-risk\n", 47);
	put_file(dir, "10-en.rules",
	    "language en\nrule EN_BAD complaint text /\\bbad\\b/i 2\n", 52);
	put_file(dir, "20-any.rules",
	    "rule ANY_WORSE complaint text /worse/ 3\n", 40);
	/* "Z" sorts before "a" in byte order: complaint must be known. */
	put_file(dir, "a-late.rules", "rule LATE complaint body /late/ 1\n",
	    34);
	put_file(dir, "README", "not rules\n", 10);
	put_file(dir, ".hidden.rules", "garbage\n", 8);
	put_file(dir, "x.rules~", "garbage\n", 8);
	snprintf(sub, sizeof(sub), "%s/replies", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/dir.rules", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);

	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load(dir, &d, &rs), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(jm_rules_count(rs), 3);
	ck_assert_uint_eq(jm_rules_ncategories(rs), 1);
	c = jm_rules_category(rs, 0);
	ck_assert_uint_eq(c->line, 1);
	ck_assert_ptr_null(jm_rules_category(rs, 1));

	/* The rule from 20-any.rules has no language: the default wins. */
	msg_init(&m, "", "it got worse and late");
	ck_assert_int_eq(jm_rules_classify(rs, &m, "de", &v), 0);
	ck_assert_str_eq(fired_list(&v), "ANY_WORSE,LATE");
	ck_assert_str_eq(v.language, "de");
	ck_assert_int_eq(v.score, 4);
	jm_verdict_clear(&v);
	msg_init(&m, "Bad service", "worse");
	ck_assert_int_eq(jm_rules_classify(rs, &m, "de", &v), 0);
	ck_assert_str_eq(fired_list(&v), "EN_BAD,ANY_WORSE");
	ck_assert_str_eq(v.language, "en");
	jm_verdict_clear(&v);
	jm_rules_free(rs);
	jm_diag_free(&d);

	/* A rules file sorting before the categories cannot use them. */
	put_file(dir, "0-early.rules", "rule EARLY complaint body /x/ 1\n", 32);
	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load(dir, &d, &rs), -1);
	ck_assert_uint_eq(d.n, 1);
	ck_assert(strstr(jm_diag_line(&d, 0),
	    "/0-early.rules:1: unknown category \"complaint\"") != NULL);
	jm_diag_free(&d);
	remove_tree(dir);
	free(dir);
}
END_TEST

START_TEST(test_empty)
{
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 m;
	struct jm_verdict	 v;
	char			*dir = make_dir();

	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load(dir, &d, &rs), 0);
	ck_assert_uint_eq(jm_rules_count(rs), 0);
	msg_init(&m, "Refund", "I want my money back");
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_ptr_null(v.category);
	ck_assert_uint_eq(v.n_scores, 0);
	ck_assert_uint_eq(v.n_fired, 0);
	jm_verdict_clear(&v);
	jm_rules_free(rs);
	/* A category without rules is fine, and never wins. */
	ck_assert_int_eq(jm_rules_load_string("t.rules",
	    "# nothing but a category\n\ncategory lonely\n", &d, &rs), 0);
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_ptr_null(v.category);
	ck_assert_uint_eq(v.n_scores, 1);
	ck_assert_int_eq(v.scores[0], 0);
	jm_verdict_clear(&v);
	jm_rules_free(rs);
	ck_assert_uint_eq(d.n, 0);
	jm_diag_free(&d);
	remove_tree(dir);
	free(dir);
}
END_TEST

/* BOM, CRLF, comments, continuation lines and the category keywords. */
START_TEST(test_syntax)
{
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 m;
	struct jm_verdict	 v;
	const struct jm_category *c;

	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("t.rules",
	    "\xef\xbb\xbf# journey-milter rules \\\r\n"
	    "category plain\r\n"
	    "category complaint reply complaint escalate journey at-risk \\\n"
	    "\t  precedence 10 threshold 3\n"
	    "   # indented comment\n"
	    "category vip journey set adopt escalate no reply no\n"
	    "category cancel escalate yes threshold 2 journey exit "
	    "precedence -5\n"
	    "category praise journey advance reply praise.v2\n"
	    "category stuck journey stay at-risk threshold 4 reply no\n"
	    "rule SLASH plain subject /a\\/b/ 1\r\n"
	    "rule SPLIT plain body /foo\\\n"
	    "      bar/ 1\n"
	    "rule LAST plain body /end/ 1 \\", &d, &rs), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(jm_rules_ncategories(rs), 6);
	ck_assert_uint_eq(jm_rules_count(rs), 3);

	c = jm_rules_find_category(rs, "plain");
	ck_assert_int_eq(c->threshold, 1);
	ck_assert_int_eq(c->precedence, 0);
	ck_assert_int_eq(c->effect.kind, JM_EFFECT_NONE);
	ck_assert_ptr_null(c->reply);
	ck_assert_int_eq(c->escalate, 0);
	ck_assert_str_eq(c->file, "t.rules");
	ck_assert_uint_eq(c->line, 2);
	c = jm_rules_find_category(rs, "complaint");
	ck_assert_int_eq(c->threshold, 3);
	ck_assert_int_eq(c->precedence, 10);
	ck_assert_int_eq(c->effect.kind, JM_EFFECT_AT_RISK);
	ck_assert_str_eq(c->reply, "complaint");
	ck_assert_int_eq(c->escalate, 1);
	ck_assert_uint_eq(c->line, 3);
	c = jm_rules_find_category(rs, "vip");
	ck_assert_int_eq(c->effect.kind, JM_EFFECT_SET);
	ck_assert_int_eq(c->effect.stage, JM_STAGE_ADOPT);
	ck_assert_ptr_null(c->reply);
	ck_assert_int_eq(c->escalate, 0);
	ck_assert_uint_eq(c->line, 6);
	c = jm_rules_find_category(rs, "cancel");
	ck_assert_int_eq(c->escalate, 1);
	ck_assert_int_eq(c->threshold, 2);
	ck_assert_int_eq(c->precedence, -5);
	ck_assert_int_eq(c->effect.kind, JM_EFFECT_EXIT);
	c = jm_rules_find_category(rs, "praise");
	ck_assert_int_eq(c->effect.kind, JM_EFFECT_ADVANCE);
	ck_assert_str_eq(c->reply, "praise.v2");
	ck_assert_ptr_eq(jm_rules_category(rs, 4), c);
	/* "stay at-risk", as DESIGN.md writes it, is "at-risk". */
	c = jm_rules_find_category(rs, "stuck");
	ck_assert_int_eq(c->effect.kind, JM_EFFECT_AT_RISK);
	ck_assert_int_eq(c->threshold, 4);
	ck_assert_ptr_null(c->reply);
	ck_assert_uint_eq(c->line, 9);
	ck_assert_ptr_null(jm_rules_find_category(rs, "nope"));

	/* "\/" is a slash; a continuation joins with one space. */
	msg_init(&m, "a/b", "foo bar, the end");
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_str_eq(fired_list(&v), "SLASH,SPLIT,LAST");
	ck_assert_str_eq(v.category->name, "plain");
	ck_assert_int_eq(v.score, 3);
	jm_verdict_clear(&v);
	jm_rules_free(rs);
	jm_diag_free(&d);
}
END_TEST

/* Each flag does what it says; without "i" case matters. */
START_TEST(test_flags)
{
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 m;
	struct jm_verdict	 v;

	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("t.rules",
	    "category c\n"
	    "rule CASE c body /REFUND/ 1\n"
	    "rule NOCASE c body /REFUND/i 1\n"
	    "rule DOT c body /one.two/ 1\n"
	    "rule DOTALL c body /one.two/s 1\n"
	    "rule LINE c body /^two/ 1\n"
	    "rule MULTILINE c body /^two/m 1\n"
	    "rule EXTENDED c body /r e f u n d # spaced/xi 1\n"
	    "rule UNICODE c body /\\bçok\\b/i 1\n"
	    "rule KELVIN c body /kiss/i 1\n", &d, &rs), 0);
	/* Caseless UCP: KELVIN SIGN is a "k", LONG S an "s". */
	msg_init(&m, "", "refund one\ntwo ÇOK \xe2\x84\xaaI\xc5\xbfS");
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_str_eq(fired_list(&v), "NOCASE,DOTALL,MULTILINE,EXTENDED,"
	    "UNICODE,KELVIN");
	jm_verdict_clear(&v);
	jm_rules_free(rs);
	jm_diag_free(&d);
}
END_TEST

static const char scoring_rules[] =
    "category complaint threshold 3 precedence 10 journey at-risk\n"
    "category cancellation threshold 3 precedence 20 journey exit\n"
    "category praise threshold 2 journey advance\n"
    "category question threshold 1\n"
    "category thanks threshold 1\n"
    "language en\n"
    "rule REFUND complaint text /\\brefund\\b/i 2\n"
    "rule BROKEN complaint body /\\bbroken\\b/i 2\n"
    "rule NOT_BROKEN complaint body /\\bnot broken\\b/i -3\n"
    "rule CANCEL cancellation text /\\bcancel\\b/i 3\n"
    "rule LOVE praise body /\\blove\\b/i 2\n"
    "rule QUESTION question subject /\\?/ 1\n"
    "rule THANKS thanks body /\\bthanks\\b/i 1\n"
    "rule ZERO question body /zero/ 0\n";

static const struct score_case {
	const char	*label;
	const char	*subject;
	const char	*body;
	const char	*category;	/* NULL: no winner */
	int		 score;
	const char	*fired;
	int		 scores[5];
} score_cases[] = {
	{ "nothing", "Hello", "Just saying hi.", NULL, 0, "",
	    { 0, 0, 0, 0, 0 } },
	{ "below threshold", "", "I want a refund.", NULL, 0, "REFUND",
	    { 2, 0, 0, 0, 0 } },
	{ "at threshold", "refund", "It is broken.", "complaint", 4,
	    "REFUND,BROKEN", { 4, 0, 0, 0, 0 } },
	{ "once per rule", "refund refund", "refund broken broken REFUND",
	    "complaint", 4, "REFUND,BROKEN", { 4, 0, 0, 0, 0 } },
	{ "negative weight", "refund", "It is not broken, I was wrong.",
	    NULL, 0, "REFUND,BROKEN,NOT_BROKEN", { 1, 0, 0, 0, 0 } },
	{ "precedence beats score", "refund", "broken; cancel it",
	    "cancellation", 3, "REFUND,BROKEN,CANCEL", { 4, 3, 0, 0, 0 } },
	{ "score breaks a precedence tie", "Why?", "Thanks, I love it",
	    "praise", 2, "LOVE,QUESTION,THANKS", { 0, 0, 2, 1, 1 } },
	{ "declaration order breaks the rest", "Why?", "thanks",
	    "question", 1, "QUESTION,THANKS", { 0, 0, 0, 1, 1 } },
	{ "zero weight fires but adds nothing", "", "zero", NULL, 0, "ZERO",
	    { 0, 0, 0, 0, 0 } },
};

START_TEST(test_scoring)
{
	const struct score_case *c = &score_cases[_i];
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 m;
	struct jm_verdict	 v;
	size_t			 i;

	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("s.rules", scoring_rules, &d,
	    &rs), 0);
	msg_init(&m, c->subject, c->body);
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	if (c->category == NULL)
		ck_assert_msg(v.category == NULL, "%s: got %s", c->label,
		    v.category != NULL ? v.category->name : "");
	else {
		ck_assert_msg(v.category != NULL, "%s: no winner", c->label);
		ck_assert_str_eq(v.category->name, c->category);
	}
	ck_assert_msg(v.score == c->score, "%s: score %d", c->label, v.score);
	ck_assert_msg(strcmp(fired_list(&v), c->fired) == 0,
	    "%s: fired %s", c->label, fired_list(&v));
	ck_assert_uint_eq(v.n_scores, 5);
	for (i = 0; i < 5; i++)
		ck_assert_msg(v.scores[i] == c->scores[i],
		    "%s: scores[%zu] = %d", c->label, i, v.scores[i]);
	ck_assert_int_eq(v.limited, 0);
	jm_verdict_clear(&v);
	jm_rules_free(rs);
	jm_diag_free(&d);
}
END_TEST

/* Every place a rule can look, and only there. */
START_TEST(test_where)
{
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 m;
	struct jm_verdict	 v;
	struct jm_header	 h[3];

	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("t.rules",
	    "category c\n"
	    "rule SUBJ c subject /alpha/ 1\n"
	    "rule BODY c body /alpha/ 1\n"
	    "rule TEXT c text /alpha/ 1\n"
	    "rule FROM c from /^Ali Veli <ali@example\\.com>$/ 1\n"
	    "rule FROM_ADDR c from /@example\\.com>/ 1\n"
	    "rule MAILER c header:X-Mailer /^BulkMailer/i 1\n"
	    "rule PRIO c header:x-priority /^1/ 1\n"
	    "rule NOHDR c header:X-Absent /./ 1\n", &d, &rs), 0);
	/* Subject, body and text rules with a word skip texts without it. */
	ck_assert_uint_eq(jm_rules_prefiltered(rs), 3);

	msg_init(&m, "alpha", "beta");
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_str_eq(fired_list(&v), "SUBJ,TEXT");
	jm_verdict_clear(&v);

	msg_init(&m, "beta", "alpha");
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_str_eq(fired_list(&v), "BODY,TEXT");
	ck_assert_int_eq(v.score, 2);
	jm_verdict_clear(&v);

	/* From is "Name <addr>", or "<addr>" without a name. */
	msg_init(&m, "", "");
	m.from_name = (char *)"Ali Veli";
	m.from_addr = (char *)"ali@example.com";
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_str_eq(fired_list(&v), "FROM,FROM_ADDR");
	jm_verdict_clear(&v);
	m.from_name = (char *)"";
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_str_eq(fired_list(&v), "FROM_ADDR");
	jm_verdict_clear(&v);

	/* Header names compare without case; every such header is read. */
	h[0].name = (char *)"x-mailer";
	h[0].value = (char *)"Thunderbird";
	h[1].name = (char *)"X-MAILER";
	h[1].value = (char *)"bulkmailer 2.0";
	h[2].name = (char *)"X-Priority";
	h[2].value = (char *)"3";
	msg_init(&m, "alpha", "");
	m.headers = h;
	m.n_headers = 3;
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_str_eq(fired_list(&v), "SUBJ,TEXT,MAILER");
	jm_verdict_clear(&v);

	/* NULL fields read as empty. */
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(jm_rules_classify(rs, &m, NULL, &v), 0);
	ck_assert_uint_eq(v.n_fired, 0);
	ck_assert_str_eq(v.language, "");
	jm_verdict_clear(&v);
	jm_rules_free(rs);
	jm_diag_free(&d);
}
END_TEST

/*
 * Only the rules the scan lets through are visited, from a bitmap of 64
 * rules a word: the rules that always run (a header rule, a pattern
 * without words) are visited wherever they stand, and what fires keeps
 * the declared order across the words.
 */
START_TEST(test_visit_order)
{
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 m;
	struct jm_verdict	 v;
	struct jm_header	 h;
	struct jm_buf		 text;
	char			 line[80];
	int			 i;

	jm_diag_init(&d);
	jm_buf_init(&text, 65536);
	ck_assert_int_eq(jm_buf_append(&text, "category c\n", 11), 0);
	for (i = 0; i < 140; i++) {
		if (i == 3)
			snprintf(line, sizeof(line),
			    "rule HDR c header:X-Tag /yes/ 1\n");
		else if (i == 70)
			snprintf(line, sizeof(line),
			    "rule LY c body /\\w+ly\\b/ 1\n");
		else if (i == 129)
			snprintf(line, sizeof(line),
			    "rule FROM c from /@example\\.com>/ 1\n");
		else
			snprintf(line, sizeof(line),
			    "rule R%03d c body /marker%03d/ 1\n", i, i);
		ck_assert_int_eq(jm_buf_append(&text, line, strlen(line)), 0);
	}
	ck_assert_msg(jm_rules_load_string("v.rules", jm_buf_cstr(&text), &d,
	    &rs) == 0, "%s", jm_diag_line(&d, 0));
	ck_assert_uint_eq(jm_rules_prefiltered(rs), 137);

	msg_init(&m, "", "marker139 marker000 surely marker064 marker063 "
	    "marker065 marker128 marker127");
	m.from_addr = (char *)"ann@example.com";
	h.name = (char *)"x-tag";
	h.value = (char *)"yes";
	m.headers = &h;
	m.n_headers = 1;
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_str_eq(fired_list(&v), "R000,HDR,R063,R064,R065,LY,R127,R128,"
	    "FROM,R139");
	ck_assert_int_eq(v.score, 10);
	jm_verdict_clear(&v);

	/* Nothing spared fires: only the rules that always run are tried. */
	msg_init(&m, "", "nothing here");
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_uint_eq(v.n_fired, 0);
	ck_assert_ptr_nonnull(v.fired);
	ck_assert_ptr_null(v.fired[0]);
	jm_verdict_clear(&v);
	jm_rules_free(rs);
	jm_buf_free(&text);
	jm_diag_free(&d);
}
END_TEST

/* Invalid UTF-8 in the text does not make PCRE2 give up on the rest. */
START_TEST(test_invalid_utf8)
{
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 m;
	struct jm_verdict	 v;

	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("t.rules",
	    "category c\nrule S c subject /ok/ 1\n"
	    "rule B c body /x/ 1\n", &d, &rs), 0);
	msg_init(&m, "ok", "\xff\xfe x");
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_uint_ge(v.n_fired, 1);
	ck_assert_str_eq(v.fired[0], "S");
	jm_verdict_clear(&v);
	jm_rules_free(rs);
	jm_diag_free(&d);
}
END_TEST

static const char language_rules[] =
    "category c threshold 100\n"
    "language en\n"
    "rule EN_A c text /\\bcargo\\b/i 2\n"
    "rule EN_B c text /\\blate\\b/i 2\n"
    "rule EN_NEG c text /\\bnot\\b/i -5\n"
    "language tr\n"
    "rule TR_A c text /\\bkargo\\b/i 3\n"
    "rule TR_B c text /\\bgeç\\b/i 2\n"
    "rule TR_NEG c text /\\bdeğil\\b/i -5\n"
    "language fa\n"
    "rule FA_A c text /سفارش/ 4\n";

static const struct lang_case {
	const char	*label;
	const char	*subject;
	const char	*body;
	const char	*content_language;
	const char	*want;
} lang_cases[] = {
	{ "fired rules", "Cargo", "the cargo is late", NULL, "en" },
	{ "heavier language wins", "cargo late", "kargo geç", "en", "tr" },
	{ "tie goes to load order", "late", "geç", NULL, "en" },
	{ "tie goes to load order reversed", "geç", "late", NULL, "en" },
	{ "negative weights do not count", "not", "", "de", "de" },
	{ "persian script", "", "بسته من هنوز نرسیده است", NULL, "fa" },
	{ "persian rule", "kargo", "سفارش", NULL, "fa" },
	{ "rules beat script", "kargo", "بسته من", NULL, "tr" },
	{ "turkish letters", "", "Siparişim hâlâ gelmedi, çok üzgünüm",
	    "en", "tr" },
	{ "a turkish name in english", "",
	    "Dear team, my order has not arrived yet and I would like to "
	    "know when it will be delivered. Kind regards, Ayşe", NULL,
	    "xx" },
	{ "german umlauts are not turkish", "", "Grüße, schön und öde",
	    NULL, "xx" },
	{ "content-language", "", "hello", "tr-TR", "tr" },
	{ "content-language list", "", "hello", " DE_at, en;q=0.5", "de" },
	{ "bad content-language", "", "hello", "x", "xx" },
	{ "default", "", "hello", NULL, "xx" },
};

START_TEST(test_language)
{
	const struct lang_case *c = &lang_cases[_i];
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 m;
	struct jm_verdict	 v;

	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("l.rules", language_rules, &d,
	    &rs), 0);
	msg_init(&m, c->subject, c->body);
	m.content_language = (char *)c->content_language;
	ck_assert_int_eq(jm_rules_classify(rs, &m, "xx", &v), 0);
	ck_assert_msg(strcmp(v.language, c->want) == 0,
	    "%s: got \"%s\", want \"%s\" (fired %s)", c->label, v.language,
	    c->want, fired_list(&v));
	jm_verdict_clear(&v);
	jm_rules_free(rs);
	jm_diag_free(&d);
}
END_TEST

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A catastrophic pattern hits the match limit quickly, does not fire,
 * marks the verdict, and the other rules still decide.  Run with JIT (_i
 * 0) and with the interpreter (_i 1).
 */
START_TEST(test_match_limit)
{
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 m;
	struct jm_verdict	 v;
	char			 body[5002];
	double			 t0;

	jm_rules_set_jit(_i == 0);
	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("t.rules",
	    "category c threshold 2\n"
	    "rule EVIL c body /(a+)+$/ 5\n"
	    "rule NESTED c body /(?:(?:a|aa)+)+x/ 5\n"
	    "rule FINE c body /b$/ 2\n", &d, &rs), 0);
	jm_rules_set_jit(1);
	memset(body, 'a', sizeof(body) - 2);
	body[sizeof(body) - 2] = 'b';
	body[sizeof(body) - 1] = '\0';
	msg_init(&m, "", body);
	t0 = now();
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_msg(now() - t0 < 2.0, "took %.2fs", now() - t0);
	ck_assert_int_eq(v.limited, 1);
	ck_assert_str_eq(fired_list(&v), "FINE");
	ck_assert_ptr_nonnull(v.category);
	ck_assert_int_eq(v.score, 2);
	jm_verdict_clear(&v);

	/* A short text stays under the limit and matches for real. */
	msg_init(&m, "", "aaaa");
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_int_eq(v.limited, 0);
	ck_assert_str_eq(fired_list(&v), "EVIL");
	jm_verdict_clear(&v);
	jm_rules_free(rs);
	jm_diag_free(&d);
}
END_TEST

/* A greedy ".*" across a long text is not mistaken for a runaway. */
START_TEST(test_long_text_not_limited)
{
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 m;
	struct jm_verdict	 v;
	struct jm_buf		 b;

	jm_rules_set_jit(_i == 0);
	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("t.rules",
	    "category c\nrule SPAN c body /start.*end/s 1\n", &d, &rs), 0);
	jm_rules_set_jit(1);
	jm_buf_init(&b, 1 << 20);
	jm_buf_puts(&b, "start ");
	while (b.len < 60000)
		jm_buf_puts(&b, "the parcel never came.\n");
	jm_buf_puts(&b, "the end");
	msg_init(&m, "", jm_buf_cstr(&b));
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_int_eq(v.limited, 0);
	ck_assert_str_eq(fired_list(&v), "SPAN");
	jm_verdict_clear(&v);
	jm_buf_free(&b);
	jm_rules_free(rs);
	jm_diag_free(&d);
}
END_TEST

/* Four threads classify at once over one ruleset and agree with one. */
#define THREAD_MSGS	6

struct thread_arg {
	const struct jm_ruleset *rs;
	struct jm_message	*msgs;
	char			 want[THREAD_MSGS][256];
	int			 mismatches;
	int			 errors;
};

static void
summarise(const struct jm_verdict *v, char *out, size_t outlen)
{
	char	list[1024];
	size_t	i;

	list[0] = '\0';
	for (i = 0; i < v->n_fired; i++) {
		if (i > 0)
			strcat(list, ",");
		strcat(list, v->fired[i]);
	}
	snprintf(out, outlen, "%s %d %s %s %d",
	    v->category != NULL ? v->category->name : "-", v->score, list,
	    v->language, v->limited);
}

static void *
classify_loop(void *p)
{
	struct thread_arg	*a = p;
	struct jm_verdict	 v;
	char			 got[256];
	int			 round, i;

	for (round = 0; round < 200; round++) {
		for (i = 0; i < THREAD_MSGS; i++) {
			if (jm_rules_classify(a->rs, &a->msgs[i], "en",
			    &v) == -1) {
				a->errors++;
				continue;
			}
			summarise(&v, got, sizeof(got));
			if (strcmp(got, a->want[i]) != 0)
				a->mismatches++;
			jm_verdict_clear(&v);
		}
	}
	return NULL;
}

START_TEST(test_threads)
{
	static const char *const bodies[THREAD_MSGS][2] = {
		{ "refund?", "It is broken and I want a refund" },
		{ "Cancel", "please cancel my account" },
		{ "", "I love it, thanks" },
		{ "kargo", "kargo geç kaldı" },
		{ "", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab" },
		{ "Hello", "nothing to see" },
	};
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 msgs[THREAD_MSGS];
	struct jm_verdict	 v;
	struct thread_arg	 args[4];
	pthread_t		 th[4];
	char			 text[4096];
	int			 i, t;

	snprintf(text, sizeof(text), "%s%s%s", scoring_rules,
	    "language tr\nrule KARGO complaint body /\\bkargo\\b/i 3\n",
	    "rule EVIL question body /(a+)+$/ 1\n");
	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("t.rules", text, &d, &rs), 0);
	memset(args, 0, sizeof(args));
	for (i = 0; i < THREAD_MSGS; i++) {
		msg_init(&msgs[i], bodies[i][0], bodies[i][1]);
		ck_assert_int_eq(jm_rules_classify(rs, &msgs[i], "en", &v), 0);
		summarise(&v, args[0].want[i], sizeof(args[0].want[i]));
		jm_verdict_clear(&v);
	}
	/* The expectations themselves are checked, not only agreement. */
	ck_assert_str_eq(args[0].want[0], "complaint 4 REFUND,BROKEN,QUESTION "
	    "en 0");
	ck_assert_str_eq(args[0].want[3], "complaint 3 KARGO tr 0");
	ck_assert_str_eq(args[0].want[4], "- 0  en 1");
	for (t = 0; t < 4; t++) {
		args[t].rs = rs;
		args[t].msgs = msgs;
		memcpy(args[t].want, args[0].want, sizeof(args[0].want));
		ck_assert_int_eq(pthread_create(&th[t], NULL, classify_loop,
		    &args[t]), 0);
	}
	for (t = 0; t < 4; t++) {
		ck_assert_int_eq(pthread_join(th[t], NULL), 0);
		ck_assert_int_eq(args[t].errors, 0);
		ck_assert_int_eq(args[t].mismatches, 0);
	}
	jm_rules_free(rs);
	jm_diag_free(&d);
}
END_TEST

/*
 * REQUIRES THE REAL NORMALISER (milter/text.c from the text module):
 * patterns are folded like the text, so a rule written with Arabic yeh
 * and kaf or a Turkish dotless i finds the folded text, and header
 * values have their white space collapsed.  Fails with the placeholder.
 */
START_TEST(test_rules_fold)
{
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 m;
	struct jm_verdict	 v;
	struct jm_buf		 norm;
	struct jm_header	 h;
	/* Persian keheh (U+06A9) here, Arabic kaf (U+0643) in the rule. */
	const char		*body = "\xd9\x85\xd8\xb4\xda\xa9\xd9\x84 "
	    "kargo gelmedi";

	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("t.rules",
	    "category c\n"
	    "rule FA c body /\xd9\x85\xd8\xb4\xd9\x83\xd9\x84/ 1\n"
	    "rule TR c body /gelmedı/i 1\n"		/* dotless i */
	    "rule HDR c header:X-Note /^urgent please$/ 1\n", &d, &rs), 0);
	jm_buf_init(&norm, 1 << 16);
	ck_assert_int_eq(jm_text_normalize(body, strlen(body), 0, &norm), 0);
	msg_init(&m, "", jm_buf_cstr(&norm));
	m.norm_text_len = norm.len;
	h.name = (char *)"X-Note";
	h.value = (char *)"  urgent \t\r\n please ";
	m.headers = &h;
	m.n_headers = 1;
	ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &v), 0);
	ck_assert_str_eq(fired_list(&v), "FA,TR,HDR");
	jm_verdict_clear(&v);
	jm_buf_free(&norm);
	jm_rules_free(rs);
	jm_diag_free(&d);
}
END_TEST

/*
 * The examples in journey-rules(5) are rules: they must load, and the
 * worked example must come out as the page says.
 */
START_TEST(test_manual_examples)
{
	const char		*top = getenv("top_srcdir");
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	 m;
	struct jm_verdict	 v;
	struct jm_buf		 rules;
	char			 path[1024], line[1024], *p;
	FILE			*fp;
	int			 in_examples = 0, in_ex = 0;

	ck_assert_msg(top != NULL, "top_srcdir is not set (run make check)");
	snprintf(path, sizeof(path), "%s/milter/journey-rules.5", top);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	jm_buf_init(&rules, 1 << 16);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, ".SH ", 4) == 0)
			in_examples = strcmp(line, ".SH EXAMPLES\n") == 0;
		if (!in_examples)
			continue;
		if (strcmp(line, ".EX\n") == 0) {
			in_ex = 1;
			continue;
		}
		if (strcmp(line, ".EE\n") == 0)
			break;		/* the first block holds the rules */
		if (!in_ex)
			continue;
		/* Undo roff's escaping of the backslash. */
		for (p = line; *p != '\0'; p++) {
			if (p[0] == '\\' && p[1] == 'e') {
				jm_buf_append(&rules, "\\", 1);
				p++;
			} else
				jm_buf_append(&rules, p, 1);
		}
	}
	fclose(fp);
	ck_assert_uint_gt(rules.len, 500);
	jm_diag_init(&d);
	ck_assert_msg(jm_rules_load_string("man", jm_buf_cstr(&rules), &d,
	    &rs) == 0, "%s", d.n > 0 ? jm_diag_line(&d, 0) : "");
	ck_assert_uint_eq(jm_rules_ncategories(rs), 4);
	ck_assert_uint_ge(jm_rules_count(rs), 10);
	msg_init(&m, "Refund please", "The charger is broken.");
	ck_assert_int_eq(jm_rules_classify(rs, &m, "de", &v), 0);
	ck_assert_str_eq(fired_list(&v), "EN_REFUND,EN_BROKEN");
	ck_assert_str_eq(v.category->name, "complaint");
	ck_assert_int_eq(v.score, 4);
	ck_assert_str_eq(v.language, "en");
	jm_verdict_clear(&v);
	jm_rules_free(rs);
	jm_diag_free(&d);
	jm_buf_free(&rules);
}
END_TEST

/*
 * The profile counts what classifying did, rule by rule, and changes no
 * verdict: a run per text a pattern was tried on, a skip per text the
 * prefilter spared it, a firing per message.
 */
static const struct profile_case {
	const char	*label;
	const char	*subject;
	const char	*body;
	const char	*fired;
} profile_cases[] = {
	{ "refund in the body", "beta", "I want a refund quickly",
	    "WORD,ALWAYS" },
	{ "alpha in the subject", "alpha", "nothing", "TEXT" },
	{ "alpha in the body only", "gamma", "it is alpha", "TEXT" },
};

START_TEST(test_profile)
{
	struct jm_diag		 d;
	struct jm_ruleset	*rs, *other;
	struct jm_rules_profile	 prof, wrong;
	struct jm_message	 m;
	struct jm_verdict	 v, plain;
	size_t			 i;
	static const struct {
		const char	*name;
		unsigned long	 runs, skipped, fired;
	} want[] = {
		{ "WORD", 1, 2, 1 },		/* run on the body with "refund" */
		{ "ALWAYS", 3, 0, 1 },		/* no word: run on every body */
		{ "TEXT", 2, 3, 2 },		/* a body after a subject hit is not tried */
	};

	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("p.rules",
	    "category c threshold 100\n"
	    "rule WORD c body /refund/ 1\n"
	    "rule ALWAYS c body /\\w+ly\\b/ 1\n"
	    "rule TEXT c text /alpha/ 1\n", &d, &rs), 0);
	ck_assert_int_eq(jm_rules_profile_init(&prof, rs), 0);
	ck_assert_uint_eq(prof.n, 3);
	for (i = 0; i < sizeof(profile_cases) / sizeof(profile_cases[0]);
	    i++) {
		msg_init(&m, profile_cases[i].subject, profile_cases[i].body);
		ck_assert_int_eq(jm_rules_classify_profile(rs, &m, "en", &v,
		    &prof), 0);
		ck_assert_int_eq(jm_rules_classify(rs, &m, "en", &plain), 0);
		ck_assert_msg(strcmp(fired_list(&v),
		    profile_cases[i].fired) == 0, "%s: fired %s",
		    profile_cases[i].label, fired_list(&v));
		ck_assert_str_eq(fired_list(&plain), profile_cases[i].fired);
		ck_assert_int_eq(v.score, plain.score);
		jm_verdict_clear(&v);
		jm_verdict_clear(&plain);
	}
	ck_assert_uint_eq(prof.messages, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(prof.rules[i].name, want[i].name);
		ck_assert_str_eq(prof.rules[i].file, "p.rules");
		ck_assert_uint_eq(prof.rules[i].line, i + 2);
		ck_assert_msg(prof.rules[i].runs == want[i].runs &&
		    prof.rules[i].skipped == want[i].skipped &&
		    prof.rules[i].fired == want[i].fired,
		    "%s: runs %lu skipped %lu fired %lu", want[i].name,
		    prof.rules[i].runs, prof.rules[i].skipped,
		    prof.rules[i].fired);
		ck_assert(prof.rules[i].seconds >= 0);
		ck_assert(want[i].runs > 0 || prof.rules[i].seconds == 0);
	}

	/* A profile made for another ruleset is refused. */
	ck_assert_int_eq(jm_rules_load_string("o.rules",
	    "category c\nrule ONE c body /one/ 1\n", &d, &other), 0);
	ck_assert_int_eq(jm_rules_profile_init(&wrong, other), 0);
	ck_assert_int_eq(jm_rules_classify_profile(rs, &m, "en", &v, &wrong),
	    -1);
	ck_assert_ptr_null(v.fired);
	jm_rules_profile_clear(&wrong);
	jm_rules_profile_clear(&prof);
	ck_assert_ptr_null(prof.rules);
	jm_rules_profile_clear(NULL);
	jm_rules_free(other);
	jm_rules_free(rs);
	jm_diag_free(&d);
}
END_TEST

/*
 * A rule's top-level branches run apart, each where its own words are,
 * and the rule fires as the whole pattern would.
 */
static const struct branch_case {
	const char	*body;
	int		 fires;
	unsigned long	 runs;		/* pattern runs for this text */
} branch_cases[] = {
	{ "a zebra here", 1, 1 },	/* spared branches run first */
	{ "quux", 1, 1 },
	{ "quickly", 1, 1 },		/* the word-less branch, alone */
	{ "nothing to see", 0, 1 },
	{ "zebras and quuxes", 1, 2 },	/* zebra\b fails, quux matches */
};

START_TEST(test_branches_apart)
{
	const struct branch_case *c = &branch_cases[_i];
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_rules_profile	 prof;
	struct jm_message	 m;
	struct jm_verdict	 v;

	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load_string("b.rules",
	    "category c\nrule ALT c body /\\bzebra\\b|\\w+ly\\b|quux/ 1\n", &d,
	    &rs), 0);
	/* One branch has no word: the rule is not spared as a whole. */
	ck_assert_uint_eq(jm_rules_prefiltered(rs), 0);
	ck_assert_int_eq(jm_rules_profile_init(&prof, rs), 0);
	msg_init(&m, "", c->body);
	ck_assert_int_eq(jm_rules_classify_profile(rs, &m, "en", &v, &prof),
	    0);
	ck_assert_msg((int)v.n_fired == c->fires, "%s: fired %zu", c->body,
	    v.n_fired);
	ck_assert_msg(prof.rules[0].runs == c->runs, "%s: %lu runs",
	    c->body, prof.rules[0].runs);
	jm_verdict_clear(&v);
	jm_rules_profile_clear(&prof);
	jm_rules_free(rs);
	jm_diag_free(&d);
}
END_TEST

/* Reads PATH whole into a new string; NULL if it cannot. */
static char *
read_whole(const char *path, size_t *len)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == -1 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1) {
		fclose(fp);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	if (buf != NULL) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

/* The fired rules of M under both rulesets must be the same. */
static void
same_verdict(const struct jm_ruleset *spared, const struct jm_ruleset *all,
    const struct jm_message *m, const char *what)
{
	struct jm_verdict	v, w;
	char			got[1024];

	ck_assert_int_eq(jm_rules_classify(spared, m, "en", &v), 0);
	ck_assert_int_eq(jm_rules_classify(all, m, "en", &w), 0);
	snprintf(got, sizeof(got), "%s", fired_list(&v));
	ck_assert_msg(strcmp(got, fired_list(&w)) == 0,
	    "%s: with the prefilter %s, without %s", what, got,
	    fired_list(&w));
	ck_assert_int_eq(v.score, w.score);
	ck_assert_str_eq(v.language, w.language);
	jm_verdict_clear(&v);
	jm_verdict_clear(&w);
}

/*
 * The shipped rules over both labelled corpora: sparing rules by their
 * words changes no rule's firing, on each message and on each pair of
 * bodies joined (words of two messages side by side).
 */
START_TEST(test_prefilter_changes_nothing)
{
	static const char *const langs[] = { "en", "tr", "fa" };
	static const char *const corpora[] = { "corpus", "corpus-short" };
	const char		*top = getenv("top_srcdir");
	struct jm_diag		 d;
	struct jm_ruleset	*spared, *all;
	struct jm_message	*msgs[400], joined;
	struct jm_buf		 b;
	char			 path[1024], line[1024], file[512], want[64];
	char			*raw;
	size_t			 n = 0, i, len;
	FILE			*fp;

	ck_assert_msg(top != NULL, "top_srcdir is not set (run make check)");
	snprintf(path, sizeof(path), "%s/rules", top);
	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load(path, &d, &spared), 0);
	jm_rules_set_prefilter(0);
	ck_assert_int_eq(jm_rules_load(path, &d, &all), 0);
	jm_rules_set_prefilter(1);
	ck_assert_uint_gt(jm_rules_prefiltered(spared), 350);
	ck_assert_uint_eq(jm_rules_prefiltered(all), 0);
	for (i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "%s/tests/%s/%s/EXPECTED", top,
		    corpora[i / 3], langs[i % 3]);
		fp = fopen(path, "r");
		ck_assert_ptr_nonnull(fp);
		while (fgets(line, sizeof(line), fp) != NULL && n < 400) {
			if (line[0] == '#' || sscanf(line, "%511s %63s", file,
			    want) != 2)
				continue;
			snprintf(path, sizeof(path), "%s/tests/%s/%s/%s",
			    top, corpora[i / 3], langs[i % 3], file);
			raw = read_whole(path, &len);
			ck_assert_msg(raw != NULL, "%s", path);
			ck_assert_int_eq(jm_message_parse(raw, len, 65536,
			    &msgs[n]), 0);
			free(raw);
			same_verdict(spared, all, msgs[n], path);
			n++;
		}
		fclose(fp);
	}
	ck_assert_uint_ge(n, 350);
	for (i = 0; i + 1 < n; i++) {
		jm_buf_init(&b, 1 << 20);
		jm_buf_append(&b, msgs[i]->norm_text, msgs[i]->norm_text_len);
		jm_buf_append(&b, " ", 1);
		jm_buf_append(&b, msgs[i + 1]->norm_text,
		    msgs[i + 1]->norm_text_len);
		memset(&joined, 0, sizeof(joined));
		joined.subject = joined.norm_subject = msgs[n - 1 - i]->subject;
		joined.text = joined.norm_text = (char *)jm_buf_cstr(&b);
		joined.text_len = joined.norm_text_len = b.len;
		joined.from_addr = joined.from_name = (char *)"";
		same_verdict(spared, all, &joined, "two bodies joined");
		jm_buf_free(&b);
	}
	for (i = 0; i < n; i++)
		jm_message_free(msgs[i]);
	jm_rules_free(spared);
	jm_rules_free(all);
	jm_diag_free(&d);
}
END_TEST

/*
 * The same over the 4 KB sample mail, where several bodies make one long
 * text: each rule's words occur many times, far apart, and the windows
 * placed around them must still hold every match.
 */
START_TEST(test_prefilter_changes_nothing_4k)
{
	const char		*top = getenv("top_srcdir");
	struct jm_diag		 d;
	struct jm_ruleset	*spared, *all;
	struct jm_message	*m;
	struct dirent		*e;
	DIR			*dir;
	char			 path[1024], *raw;
	size_t			 n = 0, len;

	ck_assert_msg(top != NULL, "top_srcdir is not set (run make check)");
	snprintf(path, sizeof(path), "%s/rules", top);
	jm_diag_init(&d);
	ck_assert_int_eq(jm_rules_load(path, &d, &spared), 0);
	jm_rules_set_prefilter(0);
	ck_assert_int_eq(jm_rules_load(path, &d, &all), 0);
	jm_rules_set_prefilter(1);
	snprintf(path, sizeof(path), "%s/tests/corpus-4k", top);
	dir = opendir(path);
	ck_assert_ptr_nonnull(dir);
	while ((e = readdir(dir)) != NULL) {
		len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 4, ".eml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/tests/corpus-4k/%s", top,
		    e->d_name);
		raw = read_whole(path, &len);
		ck_assert_msg(raw != NULL, "%s", path);
		ck_assert_int_eq(jm_message_parse(raw, len, 65536, &m), 0);
		free(raw);
		same_verdict(spared, all, m, path);
		jm_message_free(m);
		n++;
	}
	closedir(dir);
	ck_assert_uint_ge(n, 48);
	jm_rules_free(spared);
	jm_rules_free(all);
	jm_diag_free(&d);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("rules");
	TCase	*tc = tcase_create("rules");
	SRunner	*sr;
	int	 failed;

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_bad, 0,
	    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_every_error_reported);
	tcase_add_test(tc, test_statement_too_long);
	tcase_add_test(tc, test_errors_in_two_files);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_missing_dir);
	tcase_add_test(tc, test_dir_good);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_flags);
	tcase_add_loop_test(tc, test_scoring, 0,
	    sizeof(score_cases) / sizeof(score_cases[0]));
	tcase_add_test(tc, test_where);
	tcase_add_test(tc, test_visit_order);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_loop_test(tc, test_language, 0,
	    sizeof(lang_cases) / sizeof(lang_cases[0]));
	tcase_add_loop_test(tc, test_match_limit, 0, 2);
	tcase_add_loop_test(tc, test_long_text_not_limited, 0, 2);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_manual_examples);
	tcase_add_test(tc, test_rules_fold);
	tcase_add_test(tc, test_profile);
	tcase_add_loop_test(tc, test_branches_apart, 0,
	    sizeof(branch_cases) / sizeof(branch_cases[0]));
	tcase_add_test(tc, test_prefilter_changes_nothing);
	tcase_add_test(tc, test_prefilter_changes_nothing_4k);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
