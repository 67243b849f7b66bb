/*
 * prefilter.h: which rules can possibly match, from one pass over a text.
 *
 * Most rules name a word: a pattern like /\b(refund|money back)\b/i can
 * only match a text that contains "refund" or "money back".  The
 * prefilter takes such required literals out of each pattern, and one
 * Aho-Corasick pass over a text tells which patterns are worth running.
 * It is an optimisation of rules.c and never changes a verdict: a pattern
 * it cannot read with certainty is simply always run.
 *
 * Patterns are read for spaced texts, as jm_text_normalize() with
 * JM_NORM_SPACE leaves them: every white space character is one space
 * (U+0020), never two in a row, so "\s+" is read as " " and "money\s+back"
 * gives the literal "money back".  A text that is not spaced is still
 * scanned soundly: the sets read that way pass it whole.
 */
#ifndef JOURNEY_PREFILTER_H
#define JOURNEY_PREFILTER_H

#include <stddef.h>

struct jm_prefilter;

/* Returns a new, empty prefilter, or NULL when memory runs out. */
struct jm_prefilter *jm_prefilter_new(void);

/*
 * Reads PATTERN (LEN bytes of PCRE2 syntax, UTF-8, as it is compiled;
 * EXTENDED when it is compiled with PCRE2_EXTENDED).  Returns 1 and *ID,
 * the pattern's set for jm_prefilter_scan(), when every match must
 * contain one of the literals found; 0 when the pattern must always be
 * run; -1 when memory runs out.
 */
int	jm_prefilter_add(struct jm_prefilter *pf, const char *pattern,
	    size_t len, int extended, size_t *id);

/*
 * Builds the automaton after the last jm_prefilter_add().  0, or -1 when
 * memory runs out.  A set of literals too large for the automaton's cap
 * leaves every set passing, which is slower, never wrong.
 */
int	jm_prefilter_compile(struct jm_prefilter *pf);

/* The number of sets handed out by jm_prefilter_add(). */
size_t	jm_prefilter_nsets(const struct jm_prefilter *pf);

/*
 * Sets PASS[id] to 1 for every set one of whose literals occurs in TEXT
 * (LEN bytes) and to 0 for the others; PASS holds jm_prefilter_nsets()
 * bytes.  When TEXT is not spaced, the sets read for spaced texts pass
 * too.  Read-only on PF: threads may scan at once.
 */
void	jm_prefilter_scan(const struct jm_prefilter *pf, const char *text,
	    size_t len, unsigned char *pass);

#define JM_PREFILTER_WINDOWS	4

/*
 * Where a match of a set's pattern can start: in one of N windows, from
 * FROM[i] to TO[i] (byte offsets into the text; FROM may fall inside a
 * character, so round it down to one before matching from it).
 */
struct jm_prefilter_where {
	size_t		n;
	size_t		from[JM_PREFILTER_WINDOWS];
	size_t		to[JM_PREFILTER_WINDOWS];
};

/*
 * jm_prefilter_scan() that also says, for every set that passes, where a
 * match of its pattern can start: around each place its literals were
 * found, from as many characters before it as the pattern allows before
 * its literal, a run of \w, \S or \d counting as the longest stretch of
 * the text without white space.  A pattern like /\bmoney\s+back\b/ is
 * only tried at each "money back", one like /\w+ly refund/ from the
 * start of the longest word before each "ly refund", one like
 * /.*refund/ from the start of the text.  Nearby places share a
 * window; past JM_PREFILTER_WINDOWS the last window grows.  WHERE holds
 * jm_prefilter_nsets() entries; those of sets that do not pass are left
 * as they were.
 */
void	jm_prefilter_scan_where(const struct jm_prefilter *pf,
	    const char *text, size_t len, unsigned char *pass,
	    struct jm_prefilter_where *where);

/*
 * Splits PATTERN (LEN bytes, as for jm_prefilter_add()) at its top-level
 * "|": branch I is the bytes from STARTS[I] to ENDS[I].  Matching the
 * branches one by one finds a match exactly when the whole pattern does,
 * and each branch has literals of its own.  Returns the number of
 * branches (1 for a pattern without a top-level "|"), or 0 when there
 * are more than MAX or the pattern holds what ties its branches together
 * or cannot be read apart with certainty: a back reference, \Q...\E, an
 * inline option, a conditional, a subroutine call, a verb, an
 * extended-mode comment.
 */
size_t	jm_prefilter_branches(const char *pattern, size_t len, int extended,
	    size_t *starts, size_t *ends, size_t max);

void	jm_prefilter_free(struct jm_prefilter *pf);

#endif
