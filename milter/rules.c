/*
 * rules.c: the rule language and the classifier.
 *
 * The operator's policy lives in plain "*.rules" files so that a support
 * team can read, review and change it without touching C: categories with
 * their thresholds and journey effects, and scored PCRE2 rules per
 * language.  This file parses those files, compiles every pattern once
 * (UTF, UCP, JIT) into an immutable ruleset, and scores a parsed message
 * against it.  A broken file never yields half a policy: every error of
 * every file is reported as "file:line: message" and nothing is kept.
 *
 * Deliberately not here: MIME and decoding (message.c), the folding of
 * Turkish and Persian letters (text.c, which is applied to patterns and
 * text alike), and what a verdict leads to (decide.c).  Reply templates
 * are only named here; template.c reads them.
 *
 * Speed: the prefilter (prefilter.c) spares every rule whose words are
 * not in the text, and tells where the words are; a rule is then run
 * from a little before the first of them and gives up after the last,
 * rather than over the whole text.
 *
 * Threads: the ruleset and its compiled patterns are only read after
 * loading, but for one thing: a pattern is JIT-compiled the first time it
 * runs, into a copy that one thread makes and publishes atomically (the
 * others use the interpreter on the original meanwhile).  Most patterns
 * never run on most sites' mail, since the prefilter spares them, and JIT
 * code is the largest part of a loaded policy.  Match data, match context
 * and the JIT stack belong to one classification at a time (taken from a
 * pool under a lock held for a pointer's move), so libmilter's threads
 * classify at once.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "journey/buf.h"
#include "journey/prefilter.h"
#include "journey/rules.h"
#include "journey/text.h"
#include "journey/util.h"

/*
 * Bounds on untrusted work.  The match limit counts PCRE2's backtracking
 * steps from one starting position: ordinary rules stay far below it, a
 * pattern like /(a+)+$/ reaches it within a millisecond.  The depth limit
 * only binds the interpreter (JIT uses its stack instead); it must exceed
 * the longest text a greedy ".*" walks over, hence a generous value.
 */
#define MATCH_LIMIT		100000
#define DEPTH_LIMIT		100000
#define HEAP_LIMIT_KIB		16384
#define JIT_STACK_START		(32 * 1024)
#define JIT_STACK_MAX		(1024 * 1024)

#define MAX_FILE_BYTES		(16 * 1024 * 1024)
#define MAX_STATEMENT_BYTES	(64 * 1024)
#define WEIGHT_MIN		(-100)
#define WEIGHT_MAX		100
#define THRESHOLD_MIN		1
#define THRESHOLD_MAX		100000
#define PRECEDENCE_MIN		(-1000)
#define PRECEDENCE_MAX		1000
#define MAX_HEADER_NAME		76

enum where {
	WHERE_SUBJECT,
	WHERE_BODY,
	WHERE_TEXT,
	WHERE_FROM,
	WHERE_HEADER
};

/*
 * A compiled pattern.  A rule whose pattern is an alternation "A|B|C" is
 * run as one sub-pattern per branch, each spared and placed by its own
 * words (the branches the prefilter cannot read stay together as one):
 * the rule fires when any of them matches, as the whole would.
 */
struct jit_slot {
	int		 state;		/* JIT_*; atomic */
	pcre2_code	*code;		/* the JIT-compiled copy; atomic */
};

struct sub {
	pcre2_code	*code;		/* never JIT-compiled */
	struct jit_slot	*jit;		/* NULL: never JIT-compiled */
	int		 filtered;	/* runs only where its literals occur */
	size_t		 set;		/* its set in the prefilter */
};

#define BRANCHES_MAX	64		/* branches of a rule run apart */

struct rule {
	char		*name;
	size_t		 category;	/* index into the categories */
	enum where	 where;
	char		*header;	/* WHERE_HEADER: the header's name */
	struct sub	*subs;
	size_t		 n_subs;
	int		 filtered;	/* every sub is spared by its words */
	int		 weight;
	char		 language[JM_LANG_MAX];	/* "" when none was set */
	const char	*file;		/* borrowed from the ruleset's files */
	unsigned	 line;
};

struct jm_ruleset {
	struct jm_category *categories;
	size_t		 n_categories;
	size_t		 cap_categories;
	struct rule	*rules;
	size_t		 n_rules;
	size_t		 cap_rules;
	char		**files;	/* names used in diagnostics */
	size_t		 n_files;
	size_t		 cap_files;
	pcre2_compile_context *ccontext;
	struct jm_prefilter *pf;	/* subject, body and text rules */
	size_t		 n_filtered;
	size_t		*set_rule;	/* per prefilter set: the rule it
					   spares, or SIZE_MAX */
	uint64_t	*always;	/* rules run whatever the scan found,
					   one bit each */
	int		 uses_from;
	int		 uses_headers;
};

#define WORD_BITS	64
#define WORDS(n)	(((n) + WORD_BITS - 1) / WORD_BITS)

/* Sets bit I of the bitmap BITS. */
static inline void
set_bit(uint64_t *bits, size_t i)
{
	bits[i / WORD_BITS] |= (uint64_t)1 << (i % WORD_BITS);
}

/* What one load is doing: the ruleset being built and what went wrong. */
struct loader {
	struct jm_ruleset *rs;
	struct jm_diag	*d;
	size_t		 errors;
	const char	*file;		/* the file being read */
	unsigned	 line;		/* where the statement started */
	char		 language[JM_LANG_MAX];
};

static int jit_enabled = 1;
static int prefilter_enabled = 1;

void
jm_rules_set_jit(int on)
{
	jit_enabled = on != 0;
}

void
jm_rules_set_prefilter(int on)
{
	prefilter_enabled = on != 0;
}

static void report(struct loader *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
report(struct loader *ld, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ld->errors++;
	if (ld->d != NULL)
		jm_diag_add(ld->d, ld->file, ld->line, "%s", msg);
}

static void
oom(struct loader *ld)
{
	report(ld, "out of memory");
}

static void
subs_free(struct sub *v, size_t n)
{
	size_t	i;

	for (i = 0; v != NULL && i < n; i++) {
		pcre2_code_free(v[i].code);
		if (v[i].jit != NULL)
			pcre2_code_free(v[i].jit->code);
		free(v[i].jit);
	}
	free(v);
}

void
jm_rules_free(struct jm_ruleset *rs)
{
	size_t	i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->n_categories; i++) {
		free((char *)rs->categories[i].name);
		free((char *)rs->categories[i].reply);
	}
	free(rs->categories);
	for (i = 0; i < rs->n_rules; i++) {
		free(rs->rules[i].name);
		free(rs->rules[i].header);
		subs_free(rs->rules[i].subs, rs->rules[i].n_subs);
	}
	free(rs->rules);
	free(rs->set_rule);
	free(rs->always);
	for (i = 0; i < rs->n_files; i++)
		free(rs->files[i]);
	free(rs->files);
	pcre2_compile_context_free(rs->ccontext);
	jm_prefilter_free(rs->pf);
	free(rs);
}

/*
 * Match state: the match data, a JIT stack, and a match context of its
 * own, since each run sets where its match may start; and the scratch
 * arrays of one classification, so that a message costs no allocation
 * beyond its verdict.  A classification takes a state from a pool and
 * gives it back, so there are as many as classifications ever ran at once
 * (a few: journey-milter runs end-of-message for twice the CPUs at a
 * time), not one per thread that ever classified: libmilter's threads come
 * and go, and the scratch arrays of a policy are about 100 KB.
 */
struct thread_state {
	pcre2_match_data *md;
	pcre2_jit_stack	*jit_stack;
	pcre2_match_context *mc;
	unsigned char	*pass;		/* per prefilter set, subject then body */
	struct jm_prefilter_where *where;
	size_t		 cap_sets;
	size_t		*fired_idx;
	uint64_t	*run;		/* the rules to run, one bit each */
	size_t		 cap_rules;
	struct thread_state *next;	/* in the pool */
};

static pthread_mutex_t	 pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct thread_state *pool;	/* states not in use; process lifetime */

static void
state_destroy(struct thread_state *ts)
{
	if (ts == NULL)
		return;
	pcre2_match_data_free(ts->md);
	pcre2_jit_stack_free(ts->jit_stack);
	pcre2_match_context_free(ts->mc);
	free(ts->pass);
	free(ts->where);
	free(ts->fired_idx);
	free(ts->run);
	free(ts);
}

/* A state from the pool, or a new one; NULL when memory ran out. */
static struct thread_state *
state_take(void)
{
	struct thread_state *ts;

	pthread_mutex_lock(&pool_lock);
	ts = pool;
	if (ts != NULL)
		pool = ts->next;
	pthread_mutex_unlock(&pool_lock);
	if (ts != NULL)
		return ts;
	ts = calloc(1, sizeof(*ts));
	if (ts == NULL)
		return NULL;
	/* One pair is enough: a rule only asks whether it matched. */
	ts->md = pcre2_match_data_create(1, NULL);
	ts->mc = pcre2_match_context_create(NULL);
	/* Without a stack of its own JIT falls back to 32K on the C stack. */
	ts->jit_stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX,
	    NULL);
	if (ts->md == NULL || ts->mc == NULL) {
		state_destroy(ts);
		return NULL;
	}
	pcre2_set_match_limit(ts->mc, MATCH_LIMIT);
	pcre2_set_depth_limit(ts->mc, DEPTH_LIMIT);
	pcre2_set_heap_limit(ts->mc, HEAP_LIMIT_KIB);
	if (ts->jit_stack != NULL)
		pcre2_jit_stack_assign(ts->mc, NULL, ts->jit_stack);
	return ts;
}

/* Puts TS back in the pool; NULL is ignored. */
static void
state_give(struct thread_state *ts)
{
	if (ts == NULL)
		return;
	pthread_mutex_lock(&pool_lock);
	ts->next = pool;
	pool = ts;
	pthread_mutex_unlock(&pool_lock);
}

/* Makes room for NSETS prefilter sets and NRULES rules; 0 or -1. */
static int
thread_scratch(struct thread_state *ts, size_t nsets, size_t nrules)
{
	unsigned char	*p;
	struct jm_prefilter_where *w;
	size_t		*r;
	uint64_t	*b;

	if (2 * nsets + 2 > ts->cap_sets) {
		p = realloc(ts->pass, 2 * nsets + 2);
		if (p != NULL)
			ts->pass = p;
		w = reallocarray(ts->where, 2 * nsets + 2, sizeof(*w));
		if (w != NULL)
			ts->where = w;
		if (p == NULL || w == NULL)
			return -1;
		ts->cap_sets = 2 * nsets + 2;
	}
	if (nrules + 1 > ts->cap_rules) {
		r = reallocarray(ts->fired_idx, nrules + 1, sizeof(*r));
		if (r != NULL)
			ts->fired_idx = r;
		b = reallocarray(ts->run, WORDS(nrules + 1), sizeof(*b));
		if (b != NULL)
			ts->run = b;
		if (r == NULL || b == NULL)
			return -1;
		ts->cap_rules = nrules + 1;
	}
	return 0;
}

static struct jm_ruleset *
ruleset_new(void)
{
	struct jm_ruleset *rs;

	rs = calloc(1, sizeof(*rs));
	if (rs == NULL)
		return NULL;
	rs->ccontext = pcre2_compile_context_create(NULL);
	rs->pf = jm_prefilter_new();
	if (rs->ccontext == NULL || rs->pf == NULL) {
		jm_rules_free(rs);
		return NULL;
	}
	return rs;
}

/* Parsing. */

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/*
 * The next white-space separated word at *P, NUL-terminated in place, or
 * NULL at the end of the statement.
 */
static char *
next_word(char **p)
{
	char	*s = *p, *w;

	while (is_blank(*s))
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	w = s;
	while (*s != '\0' && !is_blank(*s))
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return w;
}

static int
valid_category_name(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return 0;
	for (s++; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static int
valid_rule_name(const char *s)
{
	if (!(*s >= 'A' && *s <= 'Z'))
		return 0;
	for (s++; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    *s == '_'))
			return 0;
	return 1;
}

/* A template name is a file name under replies/: never a path. */
static int
valid_template_name(const char *s)
{
	size_t	n = 0;

	if (*s == '.' || *s == '-' || *s == '\0')
		return 0;
	for (; *s != '\0'; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		    *s == '.'))
			return 0;
	return n <= 64;
}

static int
valid_language(const char *s)
{
	size_t	n = strlen(s), i;

	if (n < 2 || n > 8)
		return 0;
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z'))
			return 0;
	return 1;
}

/* RFC 5322 field name: printable ASCII but the colon. */
static int
valid_header_name(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++, n++)
		if (*s < 33 || *s > 126 || *s == ':')
			return 0;
	return n > 0 && n <= MAX_HEADER_NAME;
}

static int
parse_int(const char *s, long lo, long hi, int *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || s[0] == ' ' ||
	    v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* Whether S is an integer at all (to tell "abc" from "500"). */
static int
is_integer(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static struct jm_category *
find_category(const struct jm_ruleset *rs, const char *name, size_t *idx)
{
	size_t	i;

	for (i = 0; i < rs->n_categories; i++) {
		if (strcmp(rs->categories[i].name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return &rs->categories[i];
		}
	}
	return NULL;
}

static const struct rule *
find_rule(const struct jm_ruleset *rs, const char *name)
{
	size_t	i;

	for (i = 0; i < rs->n_rules; i++)
		if (strcmp(rs->rules[i].name, name) == 0)
			return &rs->rules[i];
	return NULL;
}

static const char stage_list[] =
    "assess, admit, affirm, activate, acclimate, accomplish, adopt, "
    "advocate or exited";

/*
 * category NAME [threshold N] [precedence N] [journey EFFECT]
 *     [reply TEMPLATE|no] [escalate [yes|no]]
 */
static void
parse_category(struct loader *ld, char *p)
{
	struct jm_ruleset	*rs = ld->rs;
	struct jm_category	 c, *prev;
	char			*name, *w, *v, *reply = NULL;
	int			 seen_t = 0, seen_p = 0, seen_j = 0, seen_r = 0;
	int			 seen_e = 0;

	memset(&c, 0, sizeof(c));
	c.threshold = 1;
	c.effect.kind = JM_EFFECT_NONE;
	name = next_word(&p);
	if (name == NULL) {
		report(ld, "category: expected a name after \"category\"");
		return;
	}
	if (!valid_category_name(name)) {
		report(ld, "category name \"%s\" must be lower-case letters, "
		    "digits, \"_\" and \"-\", starting with a letter", name);
		return;
	}
	prev = find_category(rs, name, NULL);
	if (prev != NULL) {
		report(ld, "category %s is already declared at %s:%u", name,
		    prev->file, prev->line);
		return;
	}
	while ((w = next_word(&p)) != NULL) {
		if (strcmp(w, "escalate") == 0) {
			if (seen_e++) {
				report(ld, "category %s: escalate given twice",
				    name);
				return;
			}
			c.escalate = 1;
			/* The value is optional: "escalate" alone means yes. */
			while (is_blank(*p))
				p++;
			if (strncmp(p, "yes", 3) == 0 &&
			    (p[3] == '\0' || is_blank(p[3]))) {
				next_word(&p);
			} else if (strncmp(p, "no", 2) == 0 &&
			    (p[2] == '\0' || is_blank(p[2]))) {
				next_word(&p);
				c.escalate = 0;
			}
			continue;
		}
		if (strcmp(w, "threshold") != 0 &&
		    strcmp(w, "precedence") != 0 &&
		    strcmp(w, "journey") != 0 && strcmp(w, "reply") != 0) {
			report(ld, "category %s: unknown keyword \"%s\" "
			    "(expected threshold, precedence, journey, reply "
			    "or escalate)", name, w);
			return;
		}
		v = next_word(&p);
		if (v == NULL) {
			report(ld, "category %s: expected a value after \"%s\"",
			    name, w);
			return;
		}
		if (strcmp(w, "threshold") == 0) {
			if (seen_t++) {
				report(ld, "category %s: threshold given twice",
				    name);
				return;
			}
			if (parse_int(v, THRESHOLD_MIN, THRESHOLD_MAX,
			    &c.threshold) == -1) {
				report(ld, "category %s: threshold \"%s\" is "
				    "not a whole number from %d to %d", name, v,
				    THRESHOLD_MIN, THRESHOLD_MAX);
				return;
			}
		} else if (strcmp(w, "precedence") == 0) {
			if (seen_p++) {
				report(ld, "category %s: precedence given "
				    "twice", name);
				return;
			}
			if (parse_int(v, PRECEDENCE_MIN, PRECEDENCE_MAX,
			    &c.precedence) == -1) {
				report(ld, "category %s: precedence \"%s\" is "
				    "not a whole number from %d to %d", name, v,
				    PRECEDENCE_MIN, PRECEDENCE_MAX);
				return;
			}
		} else if (strcmp(w, "journey") == 0) {
			if (seen_j++) {
				report(ld, "category %s: journey given twice",
				    name);
				return;
			}
			if (strcmp(v, "advance") == 0)
				c.effect.kind = JM_EFFECT_ADVANCE;
			else if (strcmp(v, "at-risk") == 0)
				c.effect.kind = JM_EFFECT_AT_RISK;
			else if (strcmp(v, "stay") == 0) {
				/* As DESIGN.md names it: "stay at-risk". */
				v = next_word(&p);
				if (v == NULL || strcmp(v, "at-risk") != 0) {
					report(ld, "category %s: expected "
					    "\"at-risk\" after \"journey stay\"",
					    name);
					return;
				}
				c.effect.kind = JM_EFFECT_AT_RISK;
			}
			else if (strcmp(v, "exit") == 0)
				c.effect.kind = JM_EFFECT_EXIT;
			else if (strcmp(v, "none") == 0)
				c.effect.kind = JM_EFFECT_NONE;
			else if (strcmp(v, "set") == 0) {
				v = next_word(&p);
				if (v == NULL) {
					report(ld, "category %s: expected a "
					    "stage after \"journey set\" (%s)",
					    name, stage_list);
					return;
				}
				if (jm_stage_parse(v, &c.effect.stage) == -1) {
					report(ld, "category %s: unknown stage "
					    "\"%s\" (expected %s)", name, v,
					    stage_list);
					return;
				}
				c.effect.kind = JM_EFFECT_SET;
			} else {
				report(ld, "category %s: unknown journey "
				    "effect \"%s\" (expected advance, at-risk, "
				    "exit, none or set STAGE)", name, v);
				return;
			}
		} else {
			if (seen_r++) {
				report(ld, "category %s: reply given twice",
				    name);
				return;
			}
			if (strcmp(v, "no") == 0) {
				reply = NULL;
			} else if (!valid_template_name(v)) {
				report(ld, "category %s: reply \"%s\" is not a "
				    "template name (letters, digits, \"_\", "
				    "\"-\" and \".\") or \"no\"", name, v);
				return;
			} else
				reply = v;
		}
	}

	if (jm_grow(&rs->categories, &rs->cap_categories,
	    rs->n_categories, sizeof(*rs->categories), 16) == -1) {
		oom(ld);
		return;
	}
	c.name = strdup(name);
	c.reply = reply != NULL ? strdup(reply) : NULL;
	c.file = ld->file;
	c.line = ld->line;
	if (c.name == NULL || (reply != NULL && c.reply == NULL)) {
		free((char *)c.name);
		free((char *)c.reply);
		oom(ld);
		return;
	}
	rs->categories[rs->n_categories++] = c;
}

static void
parse_language(struct loader *ld, char *p)
{
	char	*code;

	code = next_word(&p);
	if (code == NULL) {
		report(ld, "language: expected a language code (2 to 8 "
		    "lower-case letters, e.g. en, tr, fa)");
		return;
	}
	if (!valid_language(code)) {
		report(ld, "language \"%s\" is not a language code (2 to 8 "
		    "lower-case letters, e.g. en, tr, fa)", code);
		return;
	}
	if (next_word(&p) != NULL) {
		report(ld, "language: expected only a language code");
		return;
	}
	snprintf(ld->language, sizeof(ld->language), "%s", code);
}

/*
 * Cuts the pattern literal out of *P, which points at its opening slash:
 * "\\/" becomes "/", every other escape is left for PCRE2.  The pattern
 * and the flag letters after the closing slash are NUL-terminated in
 * place; *P moves past them.  -1 when there is no closing slash.
 */
static int
cut_pattern(char **p, char **pat, size_t *len, char **flags)
{
	char	*s = *p + 1, *o = s;

	*pat = s;
	for (;;) {
		if (*s == '\0')
			return -1;
		if (*s == '/')
			break;
		if (*s == '\\' && s[1] == '/') {
			*o++ = '/';
			s += 2;
		} else if (*s == '\\' && s[1] != '\0') {
			*o++ = *s++;
			*o++ = *s++;
		} else
			*o++ = *s++;
	}
	*len = (size_t)(o - *pat);
	*o = '\0';			/* o never passes the closing slash */
	*flags = ++s;
	while (*s != '\0' && !is_blank(*s))
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return 0;
}

/* JIT compilation of a sub-pattern: at its first run, see the top. */
enum {
	JIT_NOT_YET,
	JIT_COMPILING,
	JIT_DONE
};

/* Makes SB JIT-compiled at its first run; without memory, never. */
static void
jit(struct sub *sb)
{
	if (jit_enabled)
		sb->jit = calloc(1, sizeof(*sb->jit));
}

/*
 * SB's JIT-compiled copy, made by the first thread to ask; NULL while
 * another makes it, or when it cannot be made (PCRE2 without JIT, no
 * memory): the caller uses the interpreter then.
 */
static pcre2_code *
jit_code(const struct sub *sb)
{
	struct jit_slot	*js = sb->jit;
	pcre2_code	*jc;
	int		 expect = JIT_NOT_YET;

	if (js == NULL)
		return NULL;
	jc = __atomic_load_n(&js->code, __ATOMIC_ACQUIRE);
	if (jc != NULL)
		return jc;
	if (!__atomic_compare_exchange_n(&js->state, &expect, JIT_COMPILING,
	    0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return NULL;
	jc = pcre2_code_copy(sb->code);
	if (jc != NULL && pcre2_jit_compile(jc, PCRE2_JIT_COMPLETE) != 0) {
		pcre2_code_free(jc);
		jc = NULL;
	}
	if (jc != NULL)
		__atomic_store_n(&js->code, jc, __ATOMIC_RELEASE);
	__atomic_store_n(&js->state, JIT_DONE, __ATOMIC_RELEASE);
	return jc;
}

/*
 * A sub-pattern of PAT (LEN bytes) that the prefilter spares: its own
 * set, compiled so that it can be told where to give up.  0, 1 when the
 * prefilter cannot read it (or it does not compile on its own), -1 when
 * memory runs out.
 */
static int
filtered_sub(struct jm_ruleset *rs, const char *pat, size_t len,
    uint32_t opts, struct sub *sb)
{
	int		rc, errcode;
	PCRE2_SIZE	erroff;

	memset(sb, 0, sizeof(*sb));
	rc = jm_prefilter_add(rs->pf, pat, len, (opts & PCRE2_EXTENDED) != 0,
	    &sb->set);
	if (rc != 1)
		return rc == 0 ? 1 : -1;
	sb->code = pcre2_compile((PCRE2_SPTR)pat, len,
	    opts | PCRE2_USE_OFFSET_LIMIT, &errcode, &erroff, rs->ccontext);
	if (sb->code == NULL)
		return 1;	/* its set stays, passing or not, unused */
	sb->filtered = 1;
	jit(sb);
	return 0;
}

/*
 * The sub-patterns of rule R, whose whole pattern PAT compiled to CODE
 * (taken over).  Subject, body and text rules are split into their
 * branches (jm_prefilter_branches()); a branch the prefilter cannot read
 * joins the others like it in one sub-pattern that always runs.  0, or
 * -1 when memory runs out.
 */
static int
make_subs(struct jm_ruleset *rs, struct rule *r, pcre2_code *code,
    const char *pat, size_t len, uint32_t opts)
{
	size_t		 starts[BRANCHES_MAX], ends[BRANCHES_MAX], n = 0, i;
	size_t		 n_rest = 0;
	struct jm_buf	 rest;
	int		 rc, errcode;
	PCRE2_SIZE	 erroff;

	if (prefilter_enabled && r->where != WHERE_FROM &&
	    r->where != WHERE_HEADER)
		n = jm_prefilter_branches(pat, len, (opts & PCRE2_EXTENDED) != 0,
		    starts, ends, BRANCHES_MAX);
	/* Its branches and the rest together, or the whole; and one spare. */
	r->subs = calloc((n < 2 ? 1 : n + 1) + 1, sizeof(*r->subs));
	if (r->subs == NULL) {
		pcre2_code_free(code);
		return -1;
	}
	if (n == 1) {
		/* One branch: the whole, spared when it can be. */
		rc = filtered_sub(rs, pat, len, opts, &r->subs[0]);
		if (rc == -1) {
			pcre2_code_free(code);
			return -1;
		}
		if (rc == 0) {
			pcre2_code_free(code);
			r->n_subs = 1;
			r->filtered = 1;
			return 0;
		}
	}
	if (n < 2) {
		r->subs[0].code = code;
		jit(&r->subs[0]);
		r->n_subs = 1;
		return 0;
	}
	pcre2_code_free(code);
	jm_buf_init(&rest, len + 1);
	for (i = 0; i < n; i++) {
		rc = filtered_sub(rs, pat + starts[i], ends[i] - starts[i], opts,
		    &r->subs[r->n_subs]);
		if (rc == 0) {
			r->n_subs++;
			continue;
		}
		if (rc == -1 || (n_rest++ > 0 &&
		    jm_buf_append(&rest, "|", 1) == -1) ||
		    jm_buf_append(&rest, pat + starts[i], ends[i] -
		    starts[i]) == -1)
			goto fail;
	}
	r->filtered = 1;
	if (n_rest > 0) {
		r->filtered = 0;
		r->subs[r->n_subs].code = pcre2_compile(
		    (PCRE2_SPTR)jm_buf_cstr(&rest), rest.len, opts, &errcode,
		    &erroff, rs->ccontext);
		if (r->subs[r->n_subs].code == NULL)
			goto fail;
		jit(&r->subs[r->n_subs]);
		r->n_subs++;
	}
	jm_buf_free(&rest);
	return 0;
fail:
	jm_buf_free(&rest);
	subs_free(r->subs, r->n_subs + 1);
	r->subs = NULL;
	r->n_subs = 0;
	return -1;
}

/* rule NAME CATEGORY WHERE /PATTERN/FLAGS WEIGHT */
static void
parse_rule(struct loader *ld, char *p)
{
	struct jm_ruleset	*rs = ld->rs;
	struct rule		 r;
	const struct rule	*prev;
	struct jm_buf		 folded;
	char			*name, *cat, *where, *pat, *flags, *w;
	const char		*f;
	size_t			 patlen, erroff;
	uint32_t		 opts;
	int			 errcode, rc;
	PCRE2_UCHAR		 msg[256];
	pcre2_code		*code;

	memset(&r, 0, sizeof(r));
	name = next_word(&p);
	if (name == NULL) {
		report(ld, "rule: expected NAME CATEGORY WHERE /PATTERN/FLAGS "
		    "WEIGHT after \"rule\"");
		return;
	}
	if (!valid_rule_name(name)) {
		report(ld, "rule name \"%s\" must be capital letters, digits "
		    "and \"_\", starting with a letter", name);
		return;
	}
	prev = find_rule(rs, name);
	if (prev != NULL) {
		report(ld, "rule %s is already defined at %s:%u", name,
		    prev->file, prev->line);
		return;
	}
	cat = next_word(&p);
	if (cat == NULL) {
		report(ld, "rule %s: expected a category after the name", name);
		return;
	}
	if (find_category(rs, cat, &r.category) == NULL) {
		report(ld, "unknown category \"%s\"", cat);
		return;
	}
	where = next_word(&p);
	if (where == NULL) {
		report(ld, "rule %s: expected subject, body, text, from or "
		    "header:NAME after the category", name);
		return;
	}
	if (strcmp(where, "subject") == 0)
		r.where = WHERE_SUBJECT;
	else if (strcmp(where, "body") == 0)
		r.where = WHERE_BODY;
	else if (strcmp(where, "text") == 0)
		r.where = WHERE_TEXT;
	else if (strcmp(where, "from") == 0)
		r.where = WHERE_FROM;
	else if (strncmp(where, "header:", 7) == 0 &&
	    valid_header_name(where + 7))
		r.where = WHERE_HEADER;
	else {
		report(ld, "rule %s: unknown place \"%s\" (expected subject, "
		    "body, text, from or header:NAME)", name, where);
		return;
	}
	while (is_blank(*p))
		p++;
	if (*p != '/') {
		report(ld, "rule %s: expected /PATTERN/ after \"%s\"", name,
		    where);
		return;
	}
	if (cut_pattern(&p, &pat, &patlen, &flags) == -1) {
		report(ld, "rule %s: unterminated pattern (expected a closing "
		    "\"/\"; write \\/ for a slash inside it)", name);
		return;
	}
	opts = PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C;
	for (f = flags; *f != '\0'; f++) {
		switch (*f) {
		case 'i':
			opts |= PCRE2_CASELESS;
			break;
		case 'm':
			opts |= PCRE2_MULTILINE;
			break;
		case 's':
			opts |= PCRE2_DOTALL;
			break;
		case 'x':
			opts |= PCRE2_EXTENDED;
			break;
		default:
			report(ld, "rule %s: unknown pattern flag \"%c\" "
			    "(expected i, m, s or x)", name, *f);
			return;
		}
	}
	w = next_word(&p);
	if (w == NULL) {
		report(ld, "rule %s: expected a weight (%d to %d) after the "
		    "pattern", name, WEIGHT_MIN, WEIGHT_MAX);
		return;
	}
	if (!is_integer(w)) {
		report(ld, "rule %s: weight \"%s\" is not a whole number "
		    "(expected %d to %d)", name, w, WEIGHT_MIN, WEIGHT_MAX);
		return;
	}
	if (parse_int(w, WEIGHT_MIN, WEIGHT_MAX, &r.weight) == -1) {
		report(ld, "rule %s: weight %s is out of range (expected %d "
		    "to %d)", name, w, WEIGHT_MIN, WEIGHT_MAX);
		return;
	}
	w = next_word(&p);
	if (w != NULL) {
		report(ld, "rule %s: unexpected \"%s\" after the weight "
		    "(a comment must start its own line)", name, w);
		return;
	}

	/* Patterns get the folding the text gets, so "ı" finds "i". */
	jm_buf_init(&folded, MAX_STATEMENT_BYTES * 2);
	if (jm_text_normalize(pat, patlen, 0, &folded) == -1) {
		jm_buf_free(&folded);
		oom(ld);
		return;
	}
	/* The whole pattern first, for its errors. */
	code = pcre2_compile((PCRE2_SPTR)jm_buf_cstr(&folded), folded.len,
	    opts, &errcode, &erroff, rs->ccontext);
	if (code == NULL) {
		jm_buf_free(&folded);
		if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", errcode);
		report(ld, "rule %s: pattern error at offset %zu: %s", name,
		    erroff, (const char *)msg);
		return;
	}
	rc = make_subs(rs, &r, code, jm_buf_cstr(&folded), folded.len, opts);
	jm_buf_free(&folded);
	if (rc == -1)
		goto nomem;

	if (r.where == WHERE_HEADER) {
		r.header = strdup(where + 7);
		if (r.header == NULL)
			goto nomem;
		rs->uses_headers = 1;
	}
	if (r.where == WHERE_FROM)
		rs->uses_from = 1;
	r.name = strdup(name);
	if (r.name == NULL)
		goto nomem;
	if (jm_grow(&rs->rules, &rs->cap_rules, rs->n_rules,
	    sizeof(*rs->rules), 16) == -1)
		goto nomem;
	memcpy(r.language, ld->language, sizeof(r.language));
	r.file = ld->file;
	r.line = ld->line;
	rs->rules[rs->n_rules++] = r;
	if (r.filtered)
		rs->n_filtered++;
	return;
nomem:
	free(r.name);
	free(r.header);
	subs_free(r.subs, r.n_subs);
	oom(ld);
}

static void
parse_statement(struct loader *ld, char *line)
{
	char	*p = line, *kw;

	kw = next_word(&p);
	if (kw == NULL)
		return;
	if (strcmp(kw, "category") == 0)
		parse_category(ld, p);
	else if (strcmp(kw, "language") == 0)
		parse_language(ld, p);
	else if (strcmp(kw, "rule") == 0)
		parse_rule(ld, p);
	else
		report(ld, "unknown statement \"%s\" (expected category, "
		    "language or rule)", kw);
}

/*
 * Splits TEXT into statements: comments, blank lines, CRLF, a leading BOM
 * and continuation lines are handled here, so the statement parsers see
 * one NUL-terminated line each.
 */
static void
parse_text(struct loader *ld, const char *name, const char *text, size_t len)
{
	const char	*p = text, *end = text + len, *eol, *s, *e;
	struct jm_buf	 stmt;
	unsigned	 lineno = 1;
	int		 first, more;
	char		*copy;

	copy = strdup(name);
	if (copy == NULL || jm_grow(&ld->rs->files, &ld->rs->cap_files,
	    ld->rs->n_files, sizeof(char *), 16) == -1) {
		free(copy);
		ld->file = name;
		ld->line = 0;
		oom(ld);
		return;
	}
	ld->rs->files[ld->rs->n_files++] = copy;
	ld->file = copy;
	ld->language[0] = '\0';

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	jm_buf_init(&stmt, MAX_STATEMENT_BYTES);
	while (p < end) {
		jm_buf_reset(&stmt);
		ld->line = lineno;
		first = 1;
		do {
			eol = memchr(p, '\n', (size_t)(end - p));
			if (eol == NULL)
				eol = end;
			s = p;
			e = eol;
			p = eol < end ? eol + 1 : end;
			lineno++;
			if (e > s && e[-1] == '\r')
				e--;
			if (memchr(s, '\0', (size_t)(e - s)) != NULL) {
				unsigned keep = ld->line;

				ld->line = lineno - 1;
				report(ld, "NUL byte in the line");
				ld->line = keep;
				stmt.truncated = 1;	/* drop the statement */
			}
			if (!first) {
				/*
				 * A continuation: its leading white space
				 * and the removed line break become one
				 * space.
				 */
				while (s < e && is_blank(*s))
					s++;
				if (jm_buf_append(&stmt, " ", 1) == -1)
					goto nomem;
			} else {
				const char *t = s;

				while (t < e && is_blank(*t))
					t++;
				if (t < e && *t == '#')
					break;	/* a comment never continues */
			}
			first = 0;
			more = e > s && e[-1] == '\\';
			if (more)
				e--;
			if (jm_buf_append(&stmt, s, (size_t)(e - s)) == -1)
				goto nomem;
		} while (more && p < end);
		if (stmt.truncated) {
			if (stmt.len >= stmt.max)
				report(ld, "statement longer than %d bytes",
				    MAX_STATEMENT_BYTES);
			continue;
		}
		if (stmt.len > 0)
			parse_statement(ld, stmt.data);
	}
	jm_buf_free(&stmt);
	return;
nomem:
	jm_buf_free(&stmt);
	oom(ld);
}

/*
 * Which rule each prefilter set spares, and which rules run whatever the
 * scan finds (a sub-pattern without words, or a rule on From or a header):
 * a classification then visits only the rules the scan let through,
 * instead of looking at every rule's sub-patterns.  0 or -1.
 */
static int
index_sets(struct jm_ruleset *rs)
{
	size_t		 nsets = jm_prefilter_nsets(rs->pf), i, k;
	const struct rule *r;
	int		 gated;

	rs->set_rule = malloc((nsets + 1) * sizeof(*rs->set_rule));
	rs->always = calloc(WORDS(rs->n_rules + 1), sizeof(*rs->always));
	if (rs->set_rule == NULL || rs->always == NULL)
		return -1;
	for (i = 0; i < nsets; i++)
		rs->set_rule[i] = SIZE_MAX;
	for (i = 0; i < rs->n_rules; i++) {
		r = &rs->rules[i];
		gated = r->where == WHERE_SUBJECT || r->where == WHERE_BODY ||
		    r->where == WHERE_TEXT;
		for (k = 0; k < r->n_subs; k++) {
			if (!r->subs[k].filtered || r->subs[k].set >= nsets)
				gated = 0;
			else
				rs->set_rule[r->subs[k].set] = i;
		}
		if (!gated)
			set_bit(rs->always, i);
	}
	return 0;
}

static int
finish(struct loader *ld, struct jm_ruleset **out)
{
	if (ld->errors == 0 && (jm_prefilter_compile(ld->rs->pf) == -1 ||
	    index_sets(ld->rs) == -1)) {
		if (ld->d != NULL)
			jm_diag_add(ld->d, NULL, 0, "out of memory");
		ld->errors++;
	}
	if (ld->errors > 0) {
		jm_rules_free(ld->rs);
		return -1;
	}
	*out = ld->rs;
	return 0;
}

static int
start(struct loader *ld, struct jm_diag *d, struct jm_ruleset **out)
{
	memset(ld, 0, sizeof(*ld));
	ld->d = d;
	*out = NULL;
	ld->rs = ruleset_new();
	if (ld->rs == NULL) {
		if (d != NULL)
			jm_diag_add(d, NULL, 0, "out of memory");
		return -1;
	}
	return 0;
}

int
jm_rules_load_string(const char *name, const char *text, struct jm_diag *d,
    struct jm_ruleset **out)
{
	struct loader	ld;

	if (start(&ld, d, out) == -1)
		return -1;
	parse_text(&ld, name, text, strlen(text));
	return finish(&ld, out);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_rules_name(const char *s)
{
	size_t	n = strlen(s);

	return s[0] != '.' && n > 6 && strcmp(s + n - 6, ".rules") == 0;
}

/* Reads PATH whole; the caller frees *DATA.  0, or -1 with errno set. */
static int
read_file(const char *path, char **data, size_t *len)
{
	FILE		*fp;
	struct stat	 st;
	char		*buf;
	size_t		 n;

	fp = fopen(path, "r");
	if (fp == NULL)
		return -1;
	if (fstat(fileno(fp), &st) == -1) {
		fclose(fp);
		return -1;
	}
	if (st.st_size > MAX_FILE_BYTES) {
		fclose(fp);
		errno = EFBIG;
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fclose(fp);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, fp);
	if (ferror(fp)) {
		free(buf);
		fclose(fp);
		errno = EIO;
		return -1;
	}
	fclose(fp);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

int
jm_rules_load(const char *dir, struct jm_diag *d, struct jm_ruleset **out)
{
	struct loader	 ld;
	DIR		*dp;
	struct dirent	*de;
	struct stat	 st;
	char		**names = NULL, *path, *data;
	size_t		 n = 0, cap = 0, i, len;
	const char	*sep;

	*out = NULL;
	dp = opendir(dir);
	if (dp == NULL) {
		if (d != NULL)
			jm_diag_add(d, dir, 0, "cannot open: %s",
			    strerror(errno));
		return -1;
	}
	if (start(&ld, d, out) == -1) {
		closedir(dp);
		return -1;
	}
	sep = dir[0] != '\0' && dir[strlen(dir) - 1] == '/' ? "" : "/";
	errno = 0;
	while ((de = readdir(dp)) != NULL) {
		if (!is_rules_name(de->d_name))
			continue;
		if (jm_grow(&names, &cap, n, sizeof(*names), 16) == -1 ||
		    (names[n] = strdup(de->d_name)) == NULL) {
			ld.file = dir;
			oom(&ld);
			break;
		}
		n++;
	}
	closedir(dp);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);

	for (i = 0; i < n; i++) {
		if (asprintf(&path, "%s%s%s", dir, sep, names[i]) < 0) {
			ld.file = dir;
			oom(&ld);
			break;
		}
		/* A directory named *.rules is not a rules file. */
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (read_file(path, &data, &len) == -1) {
			if (d != NULL)
				jm_diag_add(d, path, 0, "cannot read: %s",
				    strerror(errno));
			ld.errors++;
			free(path);
			continue;
		}
		parse_text(&ld, path, data, len);
		free(data);
		free(path);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return finish(&ld, out);
}

size_t
jm_rules_count(const struct jm_ruleset *rs)
{
	return rs != NULL ? rs->n_rules : 0;
}

size_t
jm_rules_prefiltered(const struct jm_ruleset *rs)
{
	return rs != NULL ? rs->n_filtered : 0;
}

size_t
jm_rules_ncategories(const struct jm_ruleset *rs)
{
	return rs != NULL ? rs->n_categories : 0;
}

const struct jm_category *
jm_rules_category(const struct jm_ruleset *rs, size_t i)
{
	if (rs == NULL || i >= rs->n_categories)
		return NULL;
	return &rs->categories[i];
}

const struct jm_category *
jm_rules_find_category(const struct jm_ruleset *rs, const char *name)
{
	if (rs == NULL || name == NULL)
		return NULL;
	return find_category(rs, name, NULL);
}

/* Classifying. */

/* A text to match against, known to be valid UTF-8 or flagged otherwise. */
struct field {
	const char	*s;
	size_t		 len;
	uint32_t	 opts;		/* PCRE2_NO_UTF_CHECK once validated */
	int		 ready;
	char		*owned;
};

static int
field_set(struct field *f, const char *s, size_t len, unsigned flags,
    int normalize)
{
	struct jm_buf	b;
	int		valid;

	f->ready = 1;
	f->owned = NULL;
	if (s == NULL) {
		s = "";
		len = 0;
	}
	valid = !normalize && jm_text_valid_utf8(s, len);
	if (!valid) {
		jm_buf_init(&b, len * 3 + 16);
		if (jm_text_normalize(s, len, flags, &b) == -1) {
			jm_buf_free(&b);
			return -1;
		}
		len = b.len;
		f->owned = jm_buf_steal(&b);
		if (f->owned == NULL)
			return -1;
		s = f->owned;
		valid = jm_text_valid_utf8(s, len);
	}
	f->s = s;
	f->len = len;
	/* Validating once here spares PCRE2 checking it for every rule. */
	f->opts = valid ? PCRE2_NO_UTF_CHECK : 0;
	return 0;
}

static void
field_free(struct field *f)
{
	free(f->owned);
	f->owned = NULL;
	f->ready = 0;
}

/* Any match of a rule starts within [from, to] of its text. */
struct window {
	size_t	from;
	size_t	to;		/* SIZE_MAX: anywhere */
};

static const struct window whole = { 0, SIZE_MAX };

/* 1 matched, 0 not, -1 a limit was hit. */
static int
match(const struct sub *r, struct thread_state *ts, const struct field *f,
    const struct window *w)
{
	pcre2_code	*jc;
	size_t		 start = 0;
	int		 rc;

	if (w->to != SIZE_MAX && f->opts == PCRE2_NO_UTF_CHECK) {
		start = w->from < f->len ? w->from : f->len;
		/* PCRE2 starts on a character, not inside one. */
		while (start > 0 && ((unsigned char)f->s[start] & 0xc0) ==
		    0x80)
			start--;
		pcre2_set_offset_limit(ts->mc, w->to);
	} else if (r->filtered)
		pcre2_set_offset_limit(ts->mc, PCRE2_UNSET);
	jc = f->opts == PCRE2_NO_UTF_CHECK ? jit_code(r) : NULL;
	if (jc != NULL)
		rc = pcre2_jit_match(jc, (PCRE2_SPTR)f->s, f->len, start, 0,
		    ts->md, ts->mc);
	else
		rc = pcre2_match(r->code, (PCRE2_SPTR)f->s, f->len, start,
		    f->opts, ts->md, ts->mc);
	if (rc >= 0)
		return 1;
	switch (rc) {
	case PCRE2_ERROR_MATCHLIMIT:
	case PCRE2_ERROR_DEPTHLIMIT:
	case PCRE2_ERROR_HEAPLIMIT:
	case PCRE2_ERROR_JIT_STACKLIMIT:
		return -1;
	default:
		return 0;	/* no match, or text PCRE2 refuses */
	}
}

static int
build_from(const struct jm_message *m, struct field *f)
{
	const char	*name = m->from_name != NULL ? m->from_name : "";
	const char	*addr = m->from_addr != NULL ? m->from_addr : "";
	char		*s;
	int		 n, rc;

	if (*name == '\0' && *addr == '\0')
		n = asprintf(&s, "%s", "");
	else if (*name == '\0')
		n = asprintf(&s, "<%s>", addr);
	else
		n = asprintf(&s, "%s <%s>", name, addr);
	if (n < 0)
		return -1;
	rc = field_set(f, s, (size_t)n, JM_NORM_SPACE, 1);
	free(s);
	return rc;
}

static size_t
utf8_decode(const unsigned char *s, size_t len, unsigned *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0 && len >= 2) {
		*cp = ((unsigned)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
		return 2;
	}
	if ((s[0] & 0xf0) == 0xe0 && len >= 3) {
		*cp = ((unsigned)(s[0] & 0x0f) << 12) |
		    ((unsigned)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
		return 3;
	}
	if ((s[0] & 0xf8) == 0xf0 && len >= 4) {
		*cp = ((unsigned)(s[0] & 0x07) << 18) |
		    ((unsigned)(s[1] & 0x3f) << 12) |
		    ((unsigned)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
		return 4;
	}
	*cp = 0xfffd;
	return 1;
}

struct script_count {
	size_t	latin;		/* Latin letters, Turkish ones included */
	size_t	arabic;		/* Arabic-script letters */
	size_t	turkish;	/* ğ ş ı İ ç ö ü in either case */
	size_t	turkish_only;	/* ğ ş ı İ: no other Latin language has them */
};

static void
count_script(const char *text, size_t len, struct script_count *c)
{
	const unsigned char	*s = (const unsigned char *)text;
	size_t			 i = 0;
	unsigned		 cp;

	if (text == NULL)
		return;
	while (i < len) {
		i += utf8_decode(s + i, len - i, &cp);
		if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
			c->latin++;
		else if ((cp >= 0xc0 && cp <= 0x24f && cp != 0xd7 &&
		    cp != 0xf7)) {
			c->latin++;
			switch (cp) {
			case 0x11e: case 0x11f:		/* Ğ ğ */
			case 0x15e: case 0x15f:		/* Ş ş */
			case 0x130: case 0x131:		/* İ ı */
				c->turkish_only++;
				c->turkish++;
				break;
			case 0xc7: case 0xe7:		/* Ç ç */
			case 0xd6: case 0xf6:		/* Ö ö */
			case 0xdc: case 0xfc:		/* Ü ü */
				c->turkish++;
				break;
			}
		} else if ((cp >= 0x620 && cp <= 0x64a) ||
		    (cp >= 0x66e && cp <= 0x6d3) ||
		    (cp >= 0x6fa && cp <= 0x6ff) ||
		    (cp >= 0x750 && cp <= 0x77f) ||
		    (cp >= 0xfb50 && cp <= 0xfdff) ||
		    (cp >= 0xfe70 && cp <= 0xfefc))
			c->arabic++;
	}
}

/*
 * The language the script gives away, or NULL.  Persian is the only
 * Arabic-script language the shipped rules know; Turkish shows in
 * letters no other Latin alphabet uses, but one "Şahin" in an English
 * mail must not make it Turkish, hence the proportion.
 */
static const char *
script_language(const struct jm_message *m)
{
	struct script_count	c;
	const char		*t;
	size_t			 tlen;

	memset(&c, 0, sizeof(c));
	t = m->text != NULL ? m->text : m->norm_text;
	tlen = m->text != NULL ? m->text_len : m->norm_text_len;
	count_script(m->subject, m->subject != NULL ? strlen(m->subject) : 0,
	    &c);
	count_script(t, t != NULL ? tlen : 0, &c);
	if (c.arabic > 0 && c.arabic >= c.latin)
		return "fa";
	if (c.turkish_only > 0 && c.turkish * 100 >= c.latin * 3)
		return "tr";
	return NULL;
}

/* "tr-TR, en;q=0.5" -> "tr"; 0, or -1 when it is not a language tag. */
static int
content_language(const char *s, char *out, size_t outlen)
{
	size_t	n = 0;

	if (s == NULL)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) {
		if (n + 1 >= outlen || n >= 8)
			return -1;
		out[n++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
		s++;
	}
	out[n] = '\0';
	if (n < 2)
		return -1;
	if (*s != '\0' && *s != '-' && *s != '_' && *s != ',' && *s != ';' &&
	    *s != ' ' && *s != '\t')
		return -1;
	return 0;
}

static void
choose_language(const struct jm_ruleset *rs, const struct jm_message *m,
    const char *default_language, const size_t *fired_idx, size_t n_fired,
    struct jm_verdict *v)
{
	const char	*langs[64];
	int		 sums[64];
	size_t		 n_langs = 0, i, j, best = SIZE_MAX;
	const char	*script;
	char		 tag[JM_LANG_MAX];

	for (i = 0; i < n_fired; i++) {
		const struct rule *r = &rs->rules[fired_idx[i]];

		if (r->language[0] == '\0' || r->weight <= 0)
			continue;
		for (j = 0; j < n_langs; j++)
			if (strcmp(langs[j], r->language) == 0)
				break;
		if (j == n_langs) {
			if (n_langs == sizeof(langs) / sizeof(langs[0]))
				continue;
			langs[n_langs] = r->language;
			sums[n_langs++] = 0;
		}
		sums[j] += r->weight;
	}
	/* Strictly greater: on a tie the language fired first wins. */
	for (j = 0; j < n_langs; j++)
		if (best == SIZE_MAX || sums[j] > sums[best])
			best = j;
	if (best != SIZE_MAX) {
		snprintf(v->language, sizeof(v->language), "%s", langs[best]);
		return;
	}
	script = script_language(m);
	if (script != NULL) {
		snprintf(v->language, sizeof(v->language), "%s", script);
		return;
	}
	if (content_language(m->content_language, tag, sizeof(tag)) == 0) {
		snprintf(v->language, sizeof(v->language), "%s", tag);
		return;
	}
	snprintf(v->language, sizeof(v->language), "%s",
	    default_language != NULL ? default_language : "");
}

void
jm_verdict_clear(struct jm_verdict *v)
{
	if (v == NULL)
		return;
	free(v->scores);
	free(v->fired);
	memset(v, 0, sizeof(*v));
}

/* What the prefilter found in one text. */
struct scanned {
	const unsigned char *pass;
	const struct jm_prefilter_where *where;
};

/* One classification: what every rule needs to run and be counted. */
struct run {
	const struct jm_ruleset *rs;
	const struct jm_message *m;
	struct thread_state *ts;
	struct jm_verdict *out;
	struct jm_rules_profile *prof;	/* NULL: no clock is read */
	struct field	 subject, body, from;
	struct field	*hdr;		/* per header, made when first needed */
	struct scanned	 sc_s, sc_b;	/* subject, body */
};

static double
clock_s(void)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * Runs rule I on F: each of its sub-patterns that SC does not spare, in
 * the window SC gives it, until one matches.  1 fired, else 0.  The
 * profile is only looked at here, so that classifying without one costs
 * a test of a pointer per run.
 */
static int
try_rule(struct run *c, size_t i, const struct field *f,
    const struct scanned *sc)
{
	const struct rule	*r = &c->rs->rules[i];
	const struct sub	*sb;
	struct jm_rule_profile	*rp = NULL;
	const struct jm_prefilter_where *wh;
	struct window		 w;
	double			 t0 = 0;
	size_t			 k, n, x;
	int			 rc, ran = 0;

	if (c->prof != NULL)
		rp = &c->prof->rules[i];
	for (k = 0; k < r->n_subs; k++) {
		sb = &r->subs[k];
		wh = NULL;
		n = 1;
		if (sb->filtered && sc != NULL) {
			if (!sc->pass[sb->set])
				continue;
			wh = &sc->where[sb->set];
			n = wh->n;
		}
		ran = 1;
		for (x = 0; x < n; x++) {
			w = whole;
			if (wh != NULL) {
				w.from = wh->from[x];
				w.to = wh->to[x];
			}
			if (rp != NULL)
				t0 = clock_s();
			rc = match(sb, c->ts, f, &w);
			if (rp != NULL) {
				rp->seconds += clock_s() - t0;
				rp->runs++;
			}
			if (rc == 1)
				return 1;
			if (rc == -1)
				c->out->limited = 1;
		}
	}
	if (rp != NULL && !ran)
		rp->skipped++;
	return 0;
}

/* Runs rule I on the fields it looks at: 1 fired, 0 not, -1 no memory. */
static int
visit(struct run *c, size_t i)
{
	const struct rule	*r = &c->rs->rules[i];
	const struct jm_header	*h;
	size_t			 j;
	int			 hit = 0;

	switch (r->where) {
	case WHERE_SUBJECT:
		return try_rule(c, i, &c->subject, &c->sc_s);
	case WHERE_BODY:
		return try_rule(c, i, &c->body, &c->sc_b);
	case WHERE_TEXT:
		return try_rule(c, i, &c->subject, &c->sc_s) ||
		    try_rule(c, i, &c->body, &c->sc_b);
	case WHERE_FROM:
		return try_rule(c, i, &c->from, NULL);
	case WHERE_HEADER:
		for (j = 0; j < c->m->n_headers && !hit; j++) {
			h = &c->m->headers[j];
			if (h->name == NULL || !jm_strcaseeq(h->name, r->header))
				continue;
			if (!c->hdr[j].ready && field_set(&c->hdr[j], h->value,
			    h->value != NULL ? strlen(h->value) : 0,
			    JM_NORM_SPACE, 1) == -1)
				return -1;
			hit = try_rule(c, i, &c->hdr[j], NULL);
		}
		return hit;
	}
	return 0;
}

/*
 * Marks in RUN the rules to visit: those the scans let through and those
 * that always run; all of them when profiling, which counts the skips.
 */
static void
to_visit(const struct run *c, size_t nsets, uint64_t *run)
{
	const struct jm_ruleset *rs = c->rs;
	size_t		i, r;

	memcpy(run, rs->always, WORDS(rs->n_rules) * sizeof(*run));
	if (c->prof != NULL) {
		for (r = 0; r < rs->n_rules; r++)
			set_bit(run, r);
		return;
	}
	for (i = 0; i < nsets; i++) {
		r = rs->set_rule[i];
		if ((c->sc_s.pass[i] | c->sc_b.pass[i]) && r != SIZE_MAX)
			set_bit(run, r);
	}
}

static int
classify(const struct jm_ruleset *rs, const struct jm_message *m,
    const char *default_language, struct jm_verdict *out,
    struct jm_rules_profile *prof)
{
	struct run		 c;
	size_t			 i, j, w, best, nsets, n_fired = 0;
	uint64_t		*run;
	struct jm_prefilter_where *where_s, *where_b;
	unsigned char		*pass_s, *pass_b;
	int			 hit, rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.rs = rs;
	c.m = m;
	c.out = out;
	c.prof = prof;
	c.ts = state_take();
	nsets = jm_prefilter_nsets(rs->pf);
	if (c.ts == NULL || thread_scratch(c.ts, nsets, rs->n_rules) == -1) {
		state_give(c.ts);
		return -1;
	}
	out->n_scores = rs->n_categories;
	out->scores = calloc(rs->n_categories + 1, sizeof(*out->scores));
	if (out->scores == NULL)
		goto done;
	if (field_set(&c.subject, m->norm_subject, m->norm_subject != NULL ?
	    strlen(m->norm_subject) : 0, 0, 0) == -1 ||
	    field_set(&c.body, m->norm_text, m->norm_text != NULL ?
	    m->norm_text_len : 0, 0, 0) == -1)
		goto done;
	if (rs->uses_from && build_from(m, &c.from) == -1)
		goto done;
	/*
	 * One pass over each text says which patterns are worth running,
	 * and where.
	 */
	pass_s = c.ts->pass;
	pass_b = c.ts->pass + nsets + 1;
	where_s = c.ts->where;
	where_b = c.ts->where + nsets + 1;
	if (nsets > 0) {
		jm_prefilter_scan_where(rs->pf, c.subject.s, c.subject.len,
		    pass_s, where_s);
		jm_prefilter_scan_where(rs->pf, c.body.s, c.body.len, pass_b,
		    where_b);
	}
	c.sc_s.pass = pass_s;
	c.sc_s.where = where_s;
	c.sc_b.pass = pass_b;
	c.sc_b.where = where_b;
	if (rs->uses_headers && m->n_headers > 0) {
		c.hdr = calloc(m->n_headers, sizeof(*c.hdr));
		if (c.hdr == NULL)
			goto done;
	}

	/* In the order declared: the fired list keeps it. */
	run = c.ts->run;
	to_visit(&c, nsets, run);
	for (w = 0; w < WORDS(rs->n_rules); w++) {
		while (run[w] != 0) {
			i = w * WORD_BITS + (size_t)__builtin_ctzll(run[w]);
			run[w] &= run[w] - 1;
			hit = visit(&c, i);
			if (hit == -1)
				goto done;
			if (hit == 0)
				continue;
			if (prof != NULL)
				prof->rules[i].fired++;
			out->scores[rs->rules[i].category] +=
			    rs->rules[i].weight;
			c.ts->fired_idx[n_fired++] = i;
		}
	}
	/* Sized to what fired: a few entries, not one per rule. */
	out->fired = calloc(n_fired + 1, sizeof(*out->fired));
	if (out->fired == NULL)
		goto done;
	for (j = 0; j < n_fired; j++)
		out->fired[j] = rs->rules[c.ts->fired_idx[j]].name;
	out->n_fired = n_fired;

	/* Highest precedence, then the higher score, then declared first. */
	best = SIZE_MAX;
	for (i = 0; i < rs->n_categories; i++) {
		const struct jm_category *cat = &rs->categories[i], *b;

		if (out->scores[i] < cat->threshold)
			continue;
		if (best == SIZE_MAX) {
			best = i;
			continue;
		}
		b = &rs->categories[best];
		if (cat->precedence > b->precedence ||
		    (cat->precedence == b->precedence &&
		    out->scores[i] > out->scores[best]))
			best = i;
	}
	if (best != SIZE_MAX) {
		out->category = &rs->categories[best];
		out->score = out->scores[best];
	}
	choose_language(rs, m, default_language, c.ts->fired_idx, n_fired,
	    out);
	if (prof != NULL)
		prof->messages++;
	rc = 0;
done:
	state_give(c.ts);
	field_free(&c.subject);
	field_free(&c.body);
	field_free(&c.from);
	if (c.hdr != NULL) {
		for (j = 0; j < m->n_headers; j++)
			field_free(&c.hdr[j]);
		free(c.hdr);
	}
	if (rc == -1)
		jm_verdict_clear(out);
	return rc;
}

int
jm_rules_classify(const struct jm_ruleset *rs, const struct jm_message *m,
    const char *default_language, struct jm_verdict *out)
{
	return classify(rs, m, default_language, out, NULL);
}

int
jm_rules_classify_profile(const struct jm_ruleset *rs,
    const struct jm_message *m, const char *default_language,
    struct jm_verdict *out, struct jm_rules_profile *prof)
{
	if (prof == NULL || prof->n != rs->n_rules) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return classify(rs, m, default_language, out, prof);
}

int
jm_rules_profile_init(struct jm_rules_profile *p,
    const struct jm_ruleset *rs)
{
	size_t	i;

	memset(p, 0, sizeof(*p));
	p->rules = calloc(rs->n_rules + 1, sizeof(*p->rules));
	if (p->rules == NULL)
		return -1;
	p->n = rs->n_rules;
	for (i = 0; i < rs->n_rules; i++) {
		p->rules[i].name = rs->rules[i].name;
		p->rules[i].file = rs->rules[i].file;
		p->rules[i].line = rs->rules[i].line;
	}
	return 0;
}

void
jm_rules_profile_clear(struct jm_rules_profile *p)
{
	if (p == NULL)
		return;
	free(p->rules);
	memset(p, 0, sizeof(*p));
}
