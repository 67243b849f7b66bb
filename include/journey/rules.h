/*
 * rules.h: the rule language and the classifier.
 *
 * A ruleset is the compiled policy read from rules_dir: the categories
 * (threshold, precedence, journey effect, reply template, escalation) and
 * the scored PCRE2 rules of every language.  It is immutable once built and
 * shared read-only by every thread; match data is per thread.  The grammar
 * is documented in journey-rules(5).
 */
#ifndef JOURNEY_RULES_H
#define JOURNEY_RULES_H

#include <stddef.h>

#include "journey/diag.h"
#include "journey/journey.h"
#include "journey/message.h"

struct jm_ruleset;

struct jm_category {
	const char	*name;
	int		 threshold;
	int		 precedence;
	struct jm_effect effect;
	const char	*reply;		/* template name, NULL for "reply no" */
	int		 escalate;
	const char	*file;		/* where it was declared */
	unsigned	 line;
};

#define JM_LANG_MAX	16

struct jm_verdict {
	const struct jm_category *category;	/* the winner; NULL for none */
	int		 score;		/* the winner's score, 0 for none */
	int		*scores;	/* one per category, in declaration order */
	size_t		 n_scores;
	const char	**fired;	/* names of the rules that fired; borrowed from the ruleset */
	size_t		 n_fired;
	char		 language[JM_LANG_MAX];
	int		 limited;	/* a match hit the PCRE2 match or depth limit */
};

/*
 * Loads every "*.rules" file in DIR in byte order of name and compiles the
 * patterns (UTF, UCP, JIT).  On any error adds "file:line: message" lines
 * to D and returns -1 with nothing half-loaded; else 0 and *OUT.  Caller
 * frees with jm_rules_free().
 */
int	jm_rules_load(const char *dir, struct jm_diag *d, struct jm_ruleset **out);

/* The same, from one string (for tests and fuzzing); NAME is the file name used in diagnostics. */
int	jm_rules_load_string(const char *name, const char *text, struct jm_diag *d,
	    struct jm_ruleset **out);

void	jm_rules_free(struct jm_ruleset *rs);

size_t	jm_rules_count(const struct jm_ruleset *rs);
/*
 * How many rules run only on texts holding one of their literals (see
 * prefilter.h); the others run on every message.  For "-n" and tests.
 */
size_t	jm_rules_prefiltered(const struct jm_ruleset *rs);
size_t	jm_rules_ncategories(const struct jm_ruleset *rs);
/* Borrowed; valid while RS lives. */
const struct jm_category *jm_rules_category(const struct jm_ruleset *rs, size_t i);
const struct jm_category *jm_rules_find_category(const struct jm_ruleset *rs,
	    const char *name);

/* Turns PCRE2 JIT on or off for later loads (benchmarks); on by default. */
void	jm_rules_set_jit(int on);

/*
 * Turns the sparing of rules on or off for later loads: off, every rule
 * runs on every text (benchmarks, and tests that the prefilter never
 * changes a verdict); on by default.
 */
void	jm_rules_set_prefilter(int on);

/*
 * Classifies M.  Deterministic: the same message and ruleset always give
 * the same verdict.  Language: the language whose fired rules weigh most,
 * else the script of the text, else Content-Language, else
 * DEFAULT_LANGUAGE.  Returns 0, or -1 when memory runs out.  Release OUT's
 * contents with jm_verdict_clear().
 */
int	jm_rules_classify(const struct jm_ruleset *rs, const struct jm_message *m,
	    const char *default_language, struct jm_verdict *out);

void	jm_verdict_clear(struct jm_verdict *v);

/*
 * Where the time of classification goes, rule by rule, for "journeyctl
 * bench --profile": an operator's answer to "which of my rules is slow".
 */
struct jm_rule_profile {
	const char	*name;		/* borrowed from the ruleset */
	const char	*file;		/* borrowed from the ruleset */
	unsigned	 line;
	double		 seconds;	/* inside PCRE2's match, wall clock */
	unsigned long	 runs;		/* texts the pattern was run on */
	unsigned long	 skipped;	/* texts it was spared: none of its
					   words, or not its language's script */
	unsigned long	 fired;		/* messages it fired on */
};

struct jm_rules_profile {
	struct jm_rule_profile *rules;	/* one per rule, in load order */
	size_t		 n;
	unsigned long	 messages;
};

/*
 * Prepares P for the rules of RS, every count zero.  0, or -1 when memory
 * runs out.  Release with jm_rules_profile_clear(); P is valid while RS
 * lives.
 */
int	jm_rules_profile_init(struct jm_rules_profile *p,
	    const struct jm_ruleset *rs);

void	jm_rules_profile_clear(struct jm_rules_profile *p);

/*
 * jm_rules_classify() that also adds to PROF, which was prepared for RS:
 * the same verdict, a little slower (two clock readings per pattern
 * run).  PROF belongs to the calling thread.  -1 also when PROF was
 * not prepared for RS.
 */
int	jm_rules_classify_profile(const struct jm_ruleset *rs,
	    const struct jm_message *m, const char *default_language,
	    struct jm_verdict *out, struct jm_rules_profile *prof);

#endif
