/*
 * prefilter.c: required literals of PCRE2 patterns, found in one pass.
 *
 * Running a few hundred patterns over every message costs far more than
 * reading the message once: this file lets rules.c skip the patterns that
 * cannot match.  For each pattern it reads a small, conservative subset of
 * PCRE2 syntax and keeps a set of literals of which every match must
 * contain at least one; all the literals go into one Aho-Corasick
 * automaton run over the text.
 *
 * Soundness comes first.  Anything not understood for certain (inline
 * options, back references, \Q...\E, \x escapes, verbs, conditionals,
 * an odd brace) makes the pattern "always run".  Literals are folded the
 * way caseless matching may see them: ASCII letters are lower-cased in
 * both pattern and text, and the two non-ASCII characters that PCRE2
 * (UTF, UCP, caseless) matches to ASCII letters, KELVIN SIGN and LONG S,
 * become "k" and "s" in the text; the Turkish capitals Â Ç Î Ö Û Ü Ğ Ş
 * are lower-cased on both sides.  Other non-ASCII letters may have case
 * partners, so they end a literal, except the Arabic script and
 * punctuation, which have no case.  Folding too much only lets more
 * patterns run.  A class of a few such characters, "[cç]", is read as
 * the alternatives it allows ("cok" or "çok" for "[cç]ok"), since Turkish
 * rules write every letter a customer may type without its diacritic
 * that way; an extended (x) pattern is read without its white space and
 * comments.  Texts are taken to be spaced (one space for any white
 * space, see spaced()), which makes "\s+" a literal space; a text that
 * is not is scanned soundly, only less sharply.
 *
 * Deliberately not here: matching itself, and any guess about which
 * literal is rarest in real mail (the longest one is taken).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journey/prefilter.h"

#define LIT_MAX		32	/* bytes of a literal kept */
#define LIT_MIN		3	/* shorter literals filter too little */
#define ALT_MAX		64	/* literals in one any-of set */
#define CLASS_MAX	4	/* members of a class read as alternatives */
#define DEPTH_MAX	16	/* nested groups read */
#define WIDTH_ANY	SIZE_MAX	/* no bound */
#define WIDTH_RUN	((size_t)1 << 16)	/* a stretch without space */
#define RUNS_MAX	((size_t)1 << 12)	/* such stretches in a width */
#define OUT_FLAG	0x80000000u	/* a transition into outputs */
#define OUT_FLAG16	0x8000u		/* the same in a table of 16 bits */
#define CHAR_BYTES	4	/* the most bytes of one character */
#define CELLS_MAX	(4u << 20)	/* automaton cells (16 MiB) */
#define DENSE_CELLS	(512u << 10)	/* cells kept as rows (1 MiB) */

/*
 * A width is a number of characters plus a number of stretches of text
 * without white space, WIDTH_RUN each: "\w+" can match a long word, but
 * never more than the longest such stretch of the text at hand.
 */
struct litset {
	int		any;		/* nothing in particular is required */
	size_t		back;		/* the width a match may hold before
					   the literal, or WIDTH_ANY */
	size_t		width;		/* the most the part read matches, or
					   WIDTH_ANY */
	size_t		n;
	unsigned char	len[ALT_MAX];
	unsigned char	last[ALT_MAX];	/* bytes of the last character */
	char		s[ALT_MAX][LIT_MAX];
};

struct lit {
	char	*s;
	size_t	 len;
	size_t	 set;
};

struct jm_prefilter {
	struct lit	*lits;
	size_t		 n_lits;
	size_t		 cap_lits;
	size_t		 n_sets;

	/* The automaton: a full transition table over byte classes. */
	int		 all_pass;	/* no automaton: every set passes */
	unsigned char	 cls[256];
	size_t		 n_cls;
	uint32_t	*delta;		/* n_states * n_cls, while compiling */
	uint16_t	*delta16;	/* the table scanned: 16 bits a cell */
	uint32_t	*delta32;	/* when the states do not fit them */
	/*
	 * Only the first n_dense states (the nearest the root, where a scan
	 * spends its time) have a row in the table; a deeper state keeps the
	 * transitions where it differs from its failure state, and defers to
	 * that state for the others.
	 */
	size_t		 n_dense;
	uint32_t	*sp_first;	/* per deep state: its first edge, and
					   one more entry for the end */
	uint32_t	*sp_fail;	/* per deep state: its failure state */
	uint32_t	*edge_to;	/* with the out flag */
	unsigned char	*edge_cls;
	uint32_t	 out_flag;	/* OUT_FLAG16 or OUT_FLAG */
	uint32_t	*out_start;	/* n_states + 1 */
	uint32_t	*out;		/* set ids, by state */
	uint32_t	*out_len;	/* and the length of each literal */
	size_t		*back;		/* per set: bytes a match may hold
					   before one of its literals, */
	size_t		*back_runs;	/* plus as many stretches without
					   white space (see spaced()) */
	unsigned char	*spaced;	/* per set: read for spaced texts */
	size_t		*anchor;	/* per set: the set that must also
					   pass and places the match (itself
					   for most; SIZE_MAX for an anchor) */
	size_t		 cap_sets;
	size_t		*paired;	/* the sets with an anchor */
	size_t		 n_paired;
	size_t		 n_states;
};

/* Reading a pattern. */

struct reader {
	const unsigned char *p;
	const unsigned char *end;
	int		 fail;		/* something not understood */
	int		 depth;
	int		 spaced;	/* \s was read as one space */
};

static size_t
set_score(const struct litset *s)
{
	size_t	i, min = SIZE_MAX;

	for (i = 0; i < s->n; i++)
		if (s->len[i] < min)
			min = s->len[i];
	return s->n > 0 ? min : 0;
}

/* CHARS characters and RUNS stretches, or WIDTH_ANY past the bounds. */
static size_t
width_make(size_t chars, size_t runs)
{
	if (chars >= WIDTH_RUN || runs >= RUNS_MAX)
		return WIDTH_ANY;
	return runs * WIDTH_RUN + chars;
}

static size_t
width_add(size_t a, size_t b)
{
	if (a == WIDTH_ANY || b == WIDTH_ANY)
		return WIDTH_ANY;
	return width_make(a % WIDTH_RUN + b % WIDTH_RUN,
	    a / WIDTH_RUN + b / WIDTH_RUN);
}

static size_t
width_mul(size_t a, size_t k)
{
	if (a == 0 || k == 0)
		return 0;
	if (a == WIDTH_ANY || k >= WIDTH_RUN)
		return WIDTH_ANY;
	/* Both parts are below 2^16 and K too: no product overflows. */
	return width_make(a % WIDTH_RUN * k, a / WIDTH_RUN * k);
}

/* The larger of A and B, part by part: either may be the one matched. */
static size_t
width_max(size_t a, size_t b)
{
	if (a == WIDTH_ANY || b == WIDTH_ANY)
		return WIDTH_ANY;
	return width_make(a % WIDTH_RUN > b % WIDTH_RUN ? a % WIDTH_RUN :
	    b % WIDTH_RUN, a / WIDTH_RUN > b / WIDTH_RUN ? a / WIDTH_RUN :
	    b / WIDTH_RUN);
}

/*
 * Keeps CAND in BEST when it filters better: longer shortest literal,
 * then fewer literals, then a nearer start.
 */
static void
consider(struct litset *best, const struct litset *cand)
{
	size_t	cs, bs;

	if (cand->any || cand->n == 0)
		return;
	cs = set_score(cand);
	bs = set_score(best);
	if (best->any || cs > bs || (cs == bs && (cand->n < best->n ||
	    (cand->n == best->n && cand->back < best->back))))
		*best = *cand;
}

/*
 * A run: the literal strings a stretch of the pattern may match, one per
 * way of reading its classes ("[cç]ok" is "cok" or "çok").  Every match
 * contains one of them.  A run holds at least one string; the empty run
 * holds one empty string.
 */
static void
run_reset(struct litset *run)
{
	run->any = 0;
	run->back = WIDTH_ANY;
	run->width = 0;
	run->n = 1;
	run->len[0] = 0;
	run->last[0] = 0;
}

/*
 * BEST is a pair: [0] the set that filters best, [1] the one that filters
 * best among those with a bounded start (the anchor, see scan()).
 */
static void
consider2(struct litset *best, const struct litset *cand)
{
	consider(&best[0], cand);
	if (cand->back != WIDTH_ANY)
		consider(&best[1], cand);
}

static void
consider_run(struct litset *best, const struct litset *run)
{
	size_t	i;

	for (i = 0; i < run->n; i++)
		if (run->len[i] == 0)
			return;
	consider2(best, run);
}

/* Ends the run: it is a candidate, and what follows starts afresh. */
static void
run_flush(struct litset *best, struct litset *run)
{
	consider_run(best, run);
	run_reset(run);
}

static void
run_dedup(struct litset *run)
{
	size_t	i, j, k = 0;

	for (i = 0; i < run->n; i++) {
		for (j = 0; j < k; j++)
			if (run->len[j] == run->len[i] &&
			    memcmp(run->s[j], run->s[i], run->len[i]) == 0)
				break;
		if (j < k)
			continue;
		if (k != i) {
			run->len[k] = run->len[i];
			run->last[k] = run->last[i];
			memcpy(run->s[k], run->s[i], run->len[i]);
		}
		k++;
	}
	run->n = k;
}

/*
 * Appends one of the N characters in FORMS (UTF-8, LENS bytes each) to
 * every string of the run.  A run that would grow past its bounds is
 * flushed first.
 */
static void
run_append(struct litset *best, struct litset *run, char forms[][4],
    const size_t *lens, size_t n, size_t pre)
{
	struct litset	 old;
	size_t		 i, j, maxlen = 0, k;

	for (i = 0; i < run->n; i++)
		if (run->len[i] > maxlen)
			maxlen = run->len[i];
	for (j = 0; j < n; j++)
		if (maxlen + lens[j] > LIT_MAX || run->n * n > ALT_MAX) {
			run_flush(best, run);
			maxlen = 0;
			break;
		}
	/* PRE characters come before this one: the run starts here. */
	if (maxlen == 0)
		run->back = pre;
	if (n == 1) {
		for (i = 0; i < run->n; i++) {
			memcpy(run->s[i] + run->len[i], forms[0], lens[0]);
			run->len[i] = (unsigned char)(run->len[i] + lens[0]);
			run->last[i] = (unsigned char)lens[0];
		}
		return;
	}
	old = *run;
	k = 0;
	for (i = 0; i < old.n; i++)
		for (j = 0; j < n; j++) {
			memcpy(run->s[k], old.s[i], old.len[i]);
			memcpy(run->s[k] + old.len[i], forms[j], lens[j]);
			run->len[k] = (unsigned char)(old.len[i] + lens[j]);
			run->last[k] = (unsigned char)lens[j];
			k++;
		}
	run->n = k;
	run_dedup(run);
}

/* Takes the last character off every string: it was optional. */
static void
run_drop_last(struct litset *run)
{
	size_t	i;

	for (i = 0; i < run->n; i++) {
		run->len[i] = (unsigned char)(run->len[i] - run->last[i]);
		run->last[i] = 0;
	}
	run_dedup(run);
}

/*
 * The form of a non-ASCII character inside a literal, or 0 when it must
 * end the literal.  The Arabic script and the general punctuation (the
 * typographic apostrophe of "don’t") have no case.  The Turkish letters
 * with a cedilla, diaeresis, breve or circumflex have exactly one case
 * partner each in PCRE2, and the text scan lower-cases those partners
 * too (the unit tests check both claims against the linked PCRE2).
 * Dotless and dotted i are left out: the normaliser folds them to "i"
 * anyway.
 */
static uint32_t
literal_form(uint32_t cp)
{
	switch (cp) {
	case 0xc2:	/* Â */
	case 0xc7:	/* Ç */
	case 0xce:	/* Î */
	case 0xd6:	/* Ö */
	case 0xdb:	/* Û */
	case 0xdc:	/* Ü */
		return cp + 0x20;
	case 0x11e:	/* Ğ */
	case 0x15e:	/* Ş */
		return cp + 1;
	case 0xe2:
	case 0xe7:
	case 0xee:
	case 0xf6:
	case 0xfb:
	case 0xfc:
	case 0x11f:
	case 0x15f:
		return cp;
	}
	if ((cp >= 0x600 && cp <= 0x6ff) || (cp >= 0x750 && cp <= 0x77f) ||
	    (cp >= 0x8a0 && cp <= 0x8ff) || (cp >= 0xfb50 && cp <= 0xfdff) ||
	    (cp >= 0xfe70 && cp <= 0xfeff) || (cp >= 0x2010 && cp <= 0x2027))
		return cp;
	return 0;
}

static size_t
utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | (cp >> 12));
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

/* The length of the UTF-8 character at P and its code point; 0 if bad. */
static size_t
utf8_char(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
	size_t	n, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		n = 2;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	*cp = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (p[i] & 0x3f);
	}
	return n;
}

/*
 * A quantifier after an atom: -1 none, else its minimum (0 or more);
 * *MAX is the most repetitions (1 without a quantifier, WIDTH_ANY for no
 * bound).  A brace that is not a plain {n}, {n,} or {n,m} fails the
 * reading: PCRE2 versions differ on what such a brace means.
 */
static long
quantifier(struct reader *rd, size_t *max)
{
	long	min = -1;
	size_t	hi;

	*max = 1;
	if (rd->p >= rd->end)
		return -1;
	switch (*rd->p) {
	case '*':
	case '?':
		min = 0;
		*max = *rd->p == '?' ? 1 : WIDTH_ANY;
		rd->p++;
		break;
	case '+':
		min = 1;
		*max = WIDTH_ANY;
		rd->p++;
		break;
	case '{':
		rd->p++;
		if (rd->p >= rd->end || *rd->p < '0' || *rd->p > '9') {
			rd->fail = 1;
			return -1;
		}
		min = 0;
		while (rd->p < rd->end && *rd->p >= '0' && *rd->p <= '9') {
			if (min < 100000)
				min = min * 10 + (*rd->p - '0');
			rd->p++;
		}
		*max = (size_t)min;
		if (rd->p < rd->end && *rd->p == ',') {
			rd->p++;
			*max = WIDTH_ANY;
			if (rd->p < rd->end && *rd->p >= '0' && *rd->p <= '9') {
				hi = 0;
				while (rd->p < rd->end && *rd->p >= '0' &&
				    *rd->p <= '9') {
					if (hi < 100000)
						hi = hi * 10 +
						    (size_t)(*rd->p - '0');
					rd->p++;
				}
				*max = hi < 100000 ? hi : WIDTH_ANY;
			}
		}
		if (rd->p >= rd->end || *rd->p != '}') {
			rd->fail = 1;
			return -1;
		}
		rd->p++;
		break;
	default:
		return -1;
	}
	/* Lazy or possessive: the same minimum. */
	if (rd->p < rd->end && (*rd->p == '?' || *rd->p == '+'))
		rd->p++;
	if (rd->p < rd->end && (*rd->p == '*' || *rd->p == '+' ||
	    *rd->p == '?' || *rd->p == '{'))
		rd->fail = 1;
	return min;
}

/* Skips a character class, the opening bracket already read. */
static void
skip_class(struct reader *rd)
{
	if (rd->p < rd->end && *rd->p == '^')
		rd->p++;
	if (rd->p < rd->end && *rd->p == ']')
		rd->p++;		/* a leading "]" is a member */
	while (rd->p < rd->end && *rd->p != ']') {
		if (*rd->p == '\\') {
			if (rd->p + 1 < rd->end && (rd->p[1] == 'Q' ||
			    rd->p[1] == 'E')) {
				rd->fail = 1;
				return;
			}
			rd->p += 2;
		} else if (*rd->p == '[' && rd->p + 1 < rd->end &&
		    (rd->p[1] == ':' || rd->p[1] == '.' || rd->p[1] == '=')) {
			const unsigned char *e = rd->p + 2;

			while (e + 1 < rd->end && !(e[0] == rd->p[1] &&
			    e[1] == ']'))
				e++;
			if (e + 1 >= rd->end) {
				rd->fail = 1;
				return;
			}
			rd->p = e + 2;
		} else
			rd->p++;
	}
	if (rd->p >= rd->end) {
		rd->fail = 1;
		return;
	}
	rd->p++;
}

static void read_alt(struct reader *, struct litset *);

static void
empty_pair(struct litset *out)
{
	size_t	i;

	for (i = 0; i < 2; i++) {
		out[i].any = 1;
		out[i].n = 0;
		out[i].back = WIDTH_ANY;
		out[i].width = 0;
	}
}

/* A group, the opening parenthesis already read; OUT is a pair. */
static void
read_group(struct reader *rd, struct litset *out)
{
	const unsigned char *p = rd->p;
	int		 zero_width = 0;
	char		 close = 0;

	empty_pair(out);
	if (p < rd->end && *p == '*') {
		rd->fail = 1;			/* (*VERB) */
		return;
	}
	if (p < rd->end && *p == '?') {
		p++;
		if (p >= rd->end) {
			rd->fail = 1;
			return;
		}
		if (*p == ':' || *p == '>' || *p == '|')
			p++;
		else if (*p == '=' || *p == '!') {
			zero_width = 1;
			p++;
		} else if (*p == '<' && p + 1 < rd->end &&
		    (p[1] == '=' || p[1] == '!')) {
			zero_width = 1;
			p += 2;
		} else if (*p == '#') {
			while (p < rd->end && *p != ')')
				p++;
			if (p >= rd->end) {
				rd->fail = 1;
				return;
			}
			rd->p = p + 1;
			return;
		} else if (*p == '<')
			close = '>';
		else if (*p == 'P' && p + 1 < rd->end && p[1] == '<') {
			close = '>';
			p++;
		} else if (*p == '\'')
			close = '\'';
		else {
			rd->fail = 1;		/* options, recursion, ... */
			return;
		}
		if (close != 0) {
			p++;
			while (p < rd->end && *p != (unsigned char)close)
				p++;
			if (p >= rd->end) {
				rd->fail = 1;
				return;
			}
			p++;
		}
	}
	rd->p = p;
	if (++rd->depth > DEPTH_MAX) {
		rd->fail = 1;
		return;
	}
	read_alt(rd, out);
	rd->depth--;
	if (rd->fail || rd->p >= rd->end || *rd->p != ')') {
		rd->fail = 1;
		return;
	}
	rd->p++;
	if (zero_width)
		empty_pair(out);
}

/*
 * The literal form of the character at P (ASCII lower-cased) into OUT;
 * its length in the pattern in *ADV.  0 when it cannot be part of a
 * literal, -1 for bad UTF-8.
 */
static int
char_form(const unsigned char *p, const unsigned char *end, char *out,
    size_t *outlen, size_t *adv)
{
	uint32_t	cp, form;
	size_t		n;

	if (*p < 0x80) {
		*adv = 1;
		out[0] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		*outlen = 1;
		return 1;
	}
	n = utf8_char(p, end, &cp);
	if (n == 0)
		return -1;
	*adv = n;
	form = literal_form(cp);
	if (form == 0 || form > 0xffff)
		return 0;
	*outlen = utf8_put(form, out);
	return 1;
}

/*
 * A class of a few single characters, "[cç]" or "['’]", the opening
 * bracket already read: its members' literal forms, distinct.  Returns
 * their number and moves past the class, or 0 (nothing moved) for any
 * other class: negated, with a range, an escape that is not a
 * punctuation mark, a POSIX name, or more than CLASS_MAX members.
 */
static size_t
read_small_class(struct reader *rd, char forms[][4], size_t *lens)
{
	const unsigned char *p = rd->p;
	char		 f[4];
	size_t		 n = 0, flen, adv, i;
	int		 first = 1, rc;

	if (p < rd->end && *p == '^')
		return 0;
	while (p < rd->end && (*p != ']' || first)) {
		first = 0;
		if (*p == '\\') {
			if (p + 1 >= rd->end || p[1] >= 0x80 ||
			    (p[1] >= 'a' && p[1] <= 'z') ||
			    (p[1] >= 'A' && p[1] <= 'Z') ||
			    (p[1] >= '0' && p[1] <= '9'))
				return 0;
			p++;
		} else if (*p == '[' && p + 1 < rd->end && (p[1] == ':' ||
		    p[1] == '.' || p[1] == '='))
			return 0;
		rc = char_form(p, rd->end, f, &flen, &adv);
		if (rc != 1)
			return 0;
		p += adv;
		if (p + 1 < rd->end && *p == '-' && p[1] != ']')
			return 0;		/* a range */
		for (i = 0; i < n; i++)
			if (lens[i] == flen && memcmp(forms[i], f, flen) == 0)
				break;
		if (i < n)
			continue;
		if (n == CLASS_MAX)
			return 0;
		memcpy(forms[n], f, flen);
		lens[n++] = flen;
	}
	if (p >= rd->end)
		return 0;
	rd->p = p + 1;
	return n;
}

/*
 * A "\s", already read, with its quantifier.  The pattern is read for a
 * spaced text (see spaced()), where every white space character is one
 * space and never two come in a row: "\s+" is " ", "\s*" is " " or
 * nothing, and "\s{2,}" cannot match (a space and the end of the run
 * say enough).  PRE counts the characters before it.
 */
static void
read_space(struct reader *rd, struct litset *best, struct litset *run,
    size_t *pre)
{
	char		 forms[2][4] = { " ", " " };
	size_t		 lens[2] = { 1, 1 }, max;
	long		 min;

	rd->spaced = 1;
	min = quantifier(rd, &max);
	if (max == 0)
		return;
	if (min == 0) {
		lens[0] = 0;			/* or no space at all */
		run_append(best, run, forms, lens, 2, *pre);
	} else
		run_append(best, run, forms, lens, 1, *pre);
	*pre = width_add(*pre, 1);
	if (min > 1)
		run_flush(best, run);
}

/*
 * One branch: a sequence of atoms up to "|", ")" or the end.  BEST gets
 * the best set of literals every match of the branch contains, with how
 * far into the branch it may start, and the branch's width.
 */
static void
read_seq(struct reader *rd, struct litset *best)
{
	struct litset	*run, *g;
	char		 forms[CLASS_MAX][4];
	size_t		 lens[CLASS_MAX], n, adv, max, w;
	size_t		 pre = 0;	/* characters read so far, at most */
	size_t		 before;
	unsigned char	 c;
	long		 min;
	int		 rc;

	empty_pair(best);
	run = malloc(sizeof(*run));
	g = malloc(2 * sizeof(*g));
	if (run == NULL || g == NULL) {
		free(run);
		free(g);
		rd->fail = 1;
		return;
	}
	run_reset(run);
	while (!rd->fail && rd->p < rd->end && *rd->p != '|' &&
	    *rd->p != ')') {
		c = *rd->p;
		if (c == '\\') {
			if (rd->p + 1 >= rd->end) {
				rd->fail = 1;
				break;
			}
			c = rd->p[1];
			if (c < 0x80 && !((c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
				/* An escaped punctuation mark is itself. */
				forms[0][0] = (char)c;
				lens[0] = 1;
				n = 1;
				rd->p += 2;
				goto literal;
			}
			if (c >= 0x80) {
				rd->p++;
				goto literal_utf8;
			}
			if (c == 's') {
				rd->p += 2;
				read_space(rd, best, run, &pre);
				continue;
			}
			run_flush(best, run);
			rd->p += 2;
			w = 1;
			switch (c) {
			case 'b': case 'B': case 'A': case 'z': case 'Z':
			case 'G':
				w = 0;
				break;
			case 'd': case 'D': case 's': case 'S':
			case 'w': case 'W': case 'h': case 'H': case 'v':
			case 'V':
				break;
			case 'R':
				w = 2;			/* CR LF */
				break;
			case 'X':
				w = WIDTH_ANY;		/* a grapheme cluster */
				break;
			case 'p': case 'P':
				if (rd->p < rd->end && *rd->p == '{') {
					while (rd->p < rd->end && *rd->p != '}')
						rd->p++;
					if (rd->p >= rd->end)
						rd->fail = 1;
					else
						rd->p++;
				} else if (rd->p < rd->end)
					rd->p++;
				else
					rd->fail = 1;
				break;
			default:
				rd->fail = 1;	/* \1, \k, \x, \Q, \K, ... */
				break;
			}
			quantifier(rd, &max);
			/*
			 * None of these matches white space: however long
			 * the text, a run of them stays inside a stretch.
			 */
			if (max == WIDTH_ANY && (c == 'w' || c == 'S' ||
			    c == 'd'))
				pre = width_add(pre, WIDTH_RUN);
			else
				pre = width_add(pre, width_mul(w, max));
			continue;
		}
		if (c == '[') {
			rd->p++;
			n = read_small_class(rd, forms, lens);
			if (n > 0)
				goto literal;
			run_flush(best, run);
			skip_class(rd);
			quantifier(rd, &max);
			pre = width_add(pre, max);
			continue;
		}
		if (c == '.' || c == '^' || c == '$' || c == '(') {
			run_flush(best, run);
			rd->p++;
			if (c == '(') {
				read_group(rd, g);
				if (rd->fail)
					break;
				min = quantifier(rd, &max);
				if (min != 0) {
					/* In the last repetition, at the latest. */
					before = width_add(pre, width_mul(
					    g[0].width, max == WIDTH_ANY ?
					    WIDTH_ANY : max - 1));
					g[0].back = width_add(before, g[0].back);
					g[1].back = width_add(before, g[1].back);
					consider2(best, &g[0]);
					consider2(best, &g[1]);
				}
				pre = width_add(pre, width_mul(g[0].width, max));
				continue;
			}
			quantifier(rd, &max);
			if (c == '.')
				pre = width_add(pre, max);
			continue;
		}
		if (c == '*' || c == '+' || c == '?' || c == '{') {
			rd->fail = 1;		/* a quantifier with no atom */
			break;
		}
literal_utf8:
		rc = char_form(rd->p, rd->end, forms[0], &lens[0], &adv);
		if (rc == -1) {
			rd->fail = 1;
			break;
		}
		rd->p += adv;
		if (rc == 0) {
			run_flush(best, run);
			quantifier(rd, &max);
			pre = width_add(pre, max);
			continue;
		}
		n = 1;
literal:
		run_append(best, run, forms, lens, n, pre);
		min = quantifier(rd, &max);
		pre = width_add(pre, max);
		if (min == 0) {
			/* The character may be absent: the run ends before it. */
			run_drop_last(run);
			run_flush(best, run);
		} else if (min > 0) {
			/* Present, but what follows is not next to it. */
			run_flush(best, run);
		}
	}
	consider_run(best, run);
	best[0].width = best[1].width = pre;
	free(run);
	free(g);
}

/* Joins the literals of S into OUT; sets *ANY when OUT cannot hold them. */
static void
join(struct litset *out, const struct litset *s, int *any)
{
	size_t	i, j;

	out->width = width_max(out->width, s->width);
	out->back = width_max(out->back, s->back);
	if (s->any)
		*any = 1;
	for (i = 0; !*any && i < s->n; i++) {
		for (j = 0; j < out->n; j++)
			if (out->len[j] == s->len[i] &&
			    memcmp(out->s[j], s->s[i], s->len[i]) == 0)
				break;
		if (j < out->n)
			continue;
		if (out->n == ALT_MAX) {
			*any = 1;
			break;
		}
		out->len[out->n] = s->len[i];
		memcpy(out->s[out->n], s->s[i], s->len[i]);
		out->n++;
	}
}

/*
 * Alternatives: any one of them matches, so their sets are joined, each
 * of the pair apart.
 */
static void
read_alt(struct reader *rd, struct litset *out)
{
	struct litset	*s;
	size_t		 i;
	int		 any[2] = { 0, 0 };

	for (i = 0; i < 2; i++) {
		out[i].any = 0;
		out[i].n = 0;
		out[i].back = 0;
		out[i].width = 0;
	}
	s = malloc(2 * sizeof(*s));
	if (s == NULL) {
		rd->fail = 1;
		return;
	}
	for (;;) {
		read_seq(rd, s);
		if (rd->fail)
			break;
		join(&out[0], &s[0], &any[0]);
		join(&out[1], &s[1], &any[1]);
		if (rd->p < rd->end && *rd->p == '|') {
			rd->p++;
			continue;
		}
		break;
	}
	free(s);
	for (i = 0; i < 2; i++)
		if (any[i])
			out[i].any = 1;
}

size_t
jm_prefilter_branches(const char *pattern, size_t len, int extended,
    size_t *starts, size_t *ends, size_t max)
{
	const unsigned char *p = (const unsigned char *)pattern;
	const unsigned char *end = p + len, *start = p;
	struct reader	 rd;
	size_t		 n = 0;
	int		 depth = 0;
	unsigned char	 c;

	while (p < end) {
		c = *p;
		if (c == '\\') {
			if (p + 1 >= end)
				return 0;
			c = p[1];
			/* Back references and \Q...\E tie the pattern. */
			if ((c >= '1' && c <= '9') || c == 'g' || c == 'k' ||
			    c == 'Q' || c == 'E')
				return 0;
			p += 2;
			continue;
		}
		if (c == '[') {
			rd.p = p + 1;
			rd.end = end;
			rd.fail = 0;
			rd.depth = 0;
			rd.spaced = 0;
			skip_class(&rd);
			if (rd.fail)
				return 0;
			p = rd.p;
			continue;
		}
		if (c == '#' && extended)
			return 0;
		if (c == '(') {
			/*
			 * Plain, non-capturing, atomic, look-around, named
			 * and comment groups are fine; verbs, options,
			 * conditionals and calls are not.
			 */
			if (p + 1 < end && p[1] == '*')
				return 0;
			if (p + 1 < end && p[1] == '?') {
				if (p + 2 >= end)
					return 0;
				c = p[2];
				if (!(c == ':' || c == '>' || c == '|' ||
				    c == '=' || c == '!' || c == '#' ||
				    c == '\'' || c == '<' || (c == 'P' &&
				    p + 3 < end && p[3] == '<')))
					return 0;
				if (c == '#') {
					while (p < end && *p != ')')
						p++;
					if (p >= end)
						return 0;
					p++;
					continue;
				}
			}
			depth++;
			p++;
			continue;
		}
		if (c == ')') {
			if (--depth < 0)
				return 0;
			p++;
			continue;
		}
		if (c == '|' && depth == 0) {
			if (n == max)
				return 0;
			starts[n] = (size_t)(start - (const unsigned char *)
			    pattern);
			ends[n++] = (size_t)(p - (const unsigned char *)pattern);
			start = ++p;
			continue;
		}
		p++;
	}
	if (depth != 0 || n == max)
		return 0;
	starts[n] = (size_t)(start - (const unsigned char *)pattern);
	ends[n++] = len;
	return n;
}

struct jm_prefilter *
jm_prefilter_new(void)
{
	return calloc(1, sizeof(struct jm_prefilter));
}

/*
 * The pattern of an extended (x) pattern as it reads without the flag:
 * white space outside classes dropped, "#" comments to the end of the
 * line dropped.  Caller frees *OUT.  0, or -1 when it cannot be done
 * with certainty (white space inside braces, where PCRE2 versions
 * differ) or memory runs out.  Non-ASCII pattern white space (U+0085,
 * U+200E, ...) is kept: it merely ends a literal.
 */
static int
strip_extended(const char *pattern, size_t len, char **out, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)pattern;
	const unsigned char *end = p + len;
	char		*o;
	size_t		 n = 0;
	int		 brace = 0;

	o = malloc(len + 1);
	if (o == NULL)
		return -1;
	while (p < end) {
		if (*p == '\\') {
			o[n++] = (char)*p++;
			if (p < end)
				o[n++] = (char)*p++;
			continue;
		}
		if (*p == '[') {
			struct reader	rd;
			const unsigned char *start = p;

			rd.p = p + 1;
			rd.end = end;
			rd.fail = 0;
			rd.depth = 0;
			rd.spaced = 0;
			skip_class(&rd);
			if (rd.fail)
				goto fail;
			memcpy(o + n, start, (size_t)(rd.p - start));
			n += (size_t)(rd.p - start);
			p = rd.p;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
		    *p == '\v' || *p == '\f') {
			if (brace)
				goto fail;
			p++;
			continue;
		}
		if (*p == '#') {
			while (p < end && *p != '\n')
				p++;
			continue;
		}
		if (*p == '{')
			brace = 1;
		else if (*p == '}')
			brace = 0;
		o[n++] = (char)*p++;
	}
	*out = o;
	*outlen = n;
	return 0;
fail:
	free(o);
	return -1;
}

/* Whether SET can gate a pattern: enough literals, long enough. */
static int
usable(const struct litset *set)
{
	return !set->any && set->n > 0 && set_score(set) >= LIT_MIN;
}

/* Adds SET's literals as a new set; 0 and its id, or -1. */
static int
add_set(struct jm_prefilter *pf, const struct litset *set, int spaced,
    size_t *id)
{
	unsigned char	*sp;
	struct lit	*v;
	size_t		 i, cap, ncap, *nb;

	if (pf->n_lits + set->n > pf->cap_lits) {
		cap = pf->cap_lits != 0 ? pf->cap_lits : 64;
		while (cap < pf->n_lits + set->n)
			cap *= 2;
		v = realloc(pf->lits, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		pf->lits = v;
		pf->cap_lits = cap;
	}
	if (pf->n_sets == pf->cap_sets) {
		ncap = pf->cap_sets != 0 ? pf->cap_sets * 2 : 64;
		nb = realloc(pf->back, ncap * sizeof(*nb));
		if (nb == NULL)
			return -1;
		pf->back = nb;
		nb = realloc(pf->anchor, ncap * sizeof(*nb));
		if (nb == NULL)
			return -1;
		pf->anchor = nb;
		nb = realloc(pf->paired, ncap * sizeof(*nb));
		if (nb == NULL)
			return -1;
		pf->paired = nb;
		nb = realloc(pf->back_runs, ncap * sizeof(*nb));
		if (nb == NULL)
			return -1;
		pf->back_runs = nb;
		sp = realloc(pf->spaced, ncap);
		if (sp == NULL)
			return -1;
		pf->spaced = sp;
		pf->cap_sets = ncap;
	}
	for (i = 0; i < set->n; i++) {
		v = &pf->lits[pf->n_lits];
		v->s = malloc(set->len[i]);
		if (v->s == NULL) {
			while (i-- > 0)
				free(pf->lits[--pf->n_lits].s);
			return -1;
		}
		memcpy(v->s, set->s[i], set->len[i]);
		v->len = set->len[i];
		v->set = pf->n_sets;
		pf->n_lits++;
	}
	pf->back[pf->n_sets] = set->back == WIDTH_ANY ? WIDTH_ANY :
	    set->back % WIDTH_RUN * CHAR_BYTES;
	pf->back_runs[pf->n_sets] = set->back == WIDTH_ANY ? 0 :
	    set->back / WIDTH_RUN;
	pf->spaced[pf->n_sets] = (unsigned char)(spaced != 0);
	pf->anchor[pf->n_sets] = pf->n_sets;
	*id = pf->n_sets++;
	return 0;
}

int
jm_prefilter_add(struct jm_prefilter *pf, const char *pattern, size_t len,
    int extended, size_t *id)
{
	struct reader	 rd;
	struct litset	*set;
	char		*plain = NULL;
	size_t		 gate, anchor;
	int		 rc = 0;

	if (extended) {
		if (strip_extended(pattern, len, &plain, &len) == -1)
			return 0;
		pattern = plain;
	}
	set = malloc(2 * sizeof(*set));
	if (set == NULL) {
		free(plain);
		return -1;
	}
	rd.p = (const unsigned char *)pattern;
	rd.end = rd.p + len;
	rd.fail = 0;
	rd.depth = 0;
	rd.spaced = 0;
	read_alt(&rd, set);
	if (rd.fail || rd.p != rd.end || !usable(&set[0]))
		goto done;
	rc = -1;
	if (add_set(pf, &set[0], rd.spaced, &gate) == -1)
		goto done;
	/*
	 * The best set may lie anywhere in a match ("\w+ly refund"): a
	 * second one near the start, when there is one, also has to be in
	 * the text, and tells where to start matching.
	 */
	if (set[0].back == WIDTH_ANY && usable(&set[1])) {
		if (add_set(pf, &set[1], rd.spaced, &anchor) == -1)
			goto done;
		pf->anchor[gate] = anchor;
		pf->anchor[anchor] = SIZE_MAX;	/* not a pattern's set */
		/* n_paired < n_sets <= cap_sets: room was made above. */
		pf->paired[pf->n_paired++] = gate;
	}
	*id = gate;
	rc = 1;
done:
	free(set);
	free(plain);
	return rc;
}

size_t
jm_prefilter_nsets(const struct jm_prefilter *pf)
{
	return pf != NULL ? pf->n_sets : 0;
}

static void
drop_automaton(struct jm_prefilter *pf)
{
	free(pf->delta);
	free(pf->delta16);
	free(pf->delta32);
	free(pf->sp_first);
	free(pf->sp_fail);
	free(pf->edge_to);
	free(pf->edge_cls);
	pf->sp_first = pf->sp_fail = pf->edge_to = NULL;
	pf->edge_cls = NULL;
	pf->n_dense = 0;
	free(pf->out_start);
	free(pf->out);
	free(pf->out_len);
	pf->delta = NULL;
	pf->delta16 = NULL;
	pf->delta32 = NULL;
	pf->out_start = NULL;
	pf->out = NULL;
	pf->out_len = NULL;
	pf->n_states = 0;
}

/*
 * Row OLD of the table built, rewritten for the new numbering ID into
 * ROW: a transition into a state with outputs carries the out flag, so
 * that the scan looks at outputs only there.
 */
static void
renumber_row(const struct jm_prefilter *pf, const uint32_t *id, size_t old,
    uint32_t *row)
{
	size_t		c;
	uint32_t	t;

	for (c = 0; c < pf->n_cls; c++) {
		t = pf->delta[old * pf->n_cls + c];
		row[c] = id[t] | (pf->out_start[t] != pf->out_start[t + 1] ?
		    pf->out_flag : 0);
	}
}

/*
 * Numbers the states breadth first, as QUEUE (N states, the root left
 * out) lists them: the states near the root, where a scan spends most of
 * its time, share the cache.  The rows move to their new places in the
 * table built, cycle by cycle, rather than into a second table, and are
 * then narrowed in place to cells of 16 bits when the states fit them:
 * half the memory, twice the states in each cache line, and no moment
 * with two tables at once (the largest allocation of loading the rules).
 */
/* Cell C of state S in the table scanned. */
static uint32_t
cell(const struct jm_prefilter *pf, size_t s, size_t c)
{
	size_t	i = s * pf->n_cls + c;

	return pf->delta16 != NULL ? pf->delta16[i] : pf->delta32[i];
}

/*
 * Keeps rows for the first DENSE_CELLS / n_cls states only, and for each
 * deeper state the transitions where it differs from its failure state
 * FAIL[s] (its own trie edges): that state, nearer the root, answers the
 * others.  The table of every state is most of a loaded policy's memory
 * (3 MB for the shipped rules), and a scan seldom goes deep.  0 or -1.
 */
static int
make_sparse(struct jm_prefilter *pf, const uint32_t *fail)
{
	size_t	 nd = DENSE_CELLS / pf->n_cls, n = pf->n_states, s, c, k;
	size_t	 ne = 0;
	void	*table;

	if (nd < 1)
		nd = 1;
	if (nd >= n) {
		pf->n_dense = n;
		return 0;
	}
	for (s = nd; s < n; s++)
		for (c = 0; c < pf->n_cls; c++)
			if (cell(pf, s, c) != cell(pf, fail[s], c))
				ne++;
	pf->sp_first = malloc((n - nd + 1) * sizeof(*pf->sp_first));
	pf->sp_fail = malloc((n - nd) * sizeof(*pf->sp_fail));
	pf->edge_to = malloc((ne + 1) * sizeof(*pf->edge_to));
	pf->edge_cls = malloc(ne + 1);
	if (pf->sp_first == NULL || pf->sp_fail == NULL ||
	    pf->edge_to == NULL || pf->edge_cls == NULL)
		return -1;
	for (s = nd, k = 0; s < n; s++) {
		pf->sp_first[s - nd] = (uint32_t)k;
		pf->sp_fail[s - nd] = fail[s];
		for (c = 0; c < pf->n_cls; c++) {
			if (cell(pf, s, c) == cell(pf, fail[s], c))
				continue;
			pf->edge_cls[k] = (unsigned char)c;
			pf->edge_to[k++] = cell(pf, s, c);
		}
	}
	pf->sp_first[n - nd] = (uint32_t)k;
	if (pf->delta16 != NULL) {
		table = realloc(pf->delta16, nd * pf->n_cls *
		    sizeof(*pf->delta16));
		if (table != NULL)
			pf->delta16 = table;
	} else {
		table = realloc(pf->delta32, nd * pf->n_cls *
		    sizeof(*pf->delta32));
		if (table != NULL)
			pf->delta32 = table;
	}
	pf->n_dense = nd;
	return 0;
}

static int
renumber(struct jm_prefilter *pf, const uint32_t *queue, size_t n,
    const uint32_t *fail)
{
	uint32_t	*id, *start, *carry, *next, *swap, t;
	unsigned char	*moved;
	size_t		 i, old, dst, k, cells = pf->n_states * pf->n_cls;
	void		*table;

	pf->out_flag = pf->n_states < OUT_FLAG16 ? OUT_FLAG16 : OUT_FLAG;
	id = malloc(pf->n_states * sizeof(*id));
	start = malloc((pf->n_states + 1) * sizeof(*start));
	carry = malloc(2 * pf->n_cls * sizeof(*carry));
	moved = calloc(pf->n_states, 1);
	if (id == NULL || start == NULL || carry == NULL || moved == NULL) {
		free(id);
		free(start);
		free(carry);
		free(moved);
		return -1;
	}
	next = carry + pf->n_cls;
	id[0] = 0;
	for (i = 0; i < n; i++)
		id[queue[i]] = (uint32_t)(i + 1);
	for (old = 0; old < pf->n_states; old++) {
		if (moved[old])
			continue;
		renumber_row(pf, id, old, carry);
		moved[old] = 1;
		for (dst = id[old]; !moved[dst]; dst = id[dst]) {
			renumber_row(pf, id, dst, next);
			moved[dst] = 1;
			memcpy(pf->delta + dst * pf->n_cls, carry,
			    pf->n_cls * sizeof(*carry));
			swap = carry;
			carry = next;
			next = swap;
		}
		memcpy(pf->delta + dst * pf->n_cls, carry,
		    pf->n_cls * sizeof(*carry));
	}
	free(carry < next ? carry : next);
	free(moved);
	if (pf->out_flag == OUT_FLAG16) {
		/* Cell i is read at byte 4i before byte 2i is written. */
		for (i = 0; i < cells; i++) {
			uint16_t	narrow;

			memcpy(&t, (char *)pf->delta + 4 * i, sizeof(t));
			narrow = (uint16_t)t;
			memcpy((char *)pf->delta + 2 * i, &narrow,
			    sizeof(narrow));
		}
		table = realloc(pf->delta, cells * sizeof(uint16_t));
		pf->delta16 = table != NULL ? table : (uint16_t *)pf->delta;
	} else {
		table = realloc(pf->delta, cells * sizeof(uint32_t));
		pf->delta32 = table != NULL ? table : pf->delta;
	}
	/* The table built is the table scanned now. */
	pf->delta = NULL;
	/* The outputs keep their order; only their index moves. */
	for (old = 0; old < pf->n_states; old++)
		start[id[old]] = pf->out_start[old + 1] - pf->out_start[old];
	for (i = 0, k = 0; i < pf->n_states; i++) {
		t = start[i];
		start[i] = (uint32_t)k;
		k += t;
	}
	start[pf->n_states] = (uint32_t)k;
	{
		uint32_t *out = malloc((k + 1) * sizeof(*out));
		uint32_t *len = malloc((k + 1) * sizeof(*len));

		if (out == NULL || len == NULL) {
			free(out);
			free(len);
			free(id);
			free(start);
			return -1;
		}
		for (old = 0; old < pf->n_states; old++) {
			size_t	to = start[id[old]], j;

			for (j = pf->out_start[old]; j < pf->out_start[old + 1];
			    j++, to++) {
				out[to] = pf->out[j];
				len[to] = pf->out_len[j];
			}
		}
		free(pf->out);
		free(pf->out_len);
		pf->out = out;
		pf->out_len = len;
	}
	free(pf->out_start);
	pf->out_start = start;
	/* The failure links, renumbered. */
	{
		uint32_t *nf = malloc(pf->n_states * sizeof(*nf));
		int	  rc;

		if (nf == NULL) {
			free(id);
			return -1;
		}
		for (old = 0; old < pf->n_states; old++)
			nf[id[old]] = id[fail[old]];
		rc = make_sparse(pf, nf);
		free(nf);
		free(id);
		return rc;
	}
}

static int
cmp_lits(const void *a, const void *b)
{
	const struct lit *x = *(const struct lit *const *)a;
	const struct lit *y = *(const struct lit *const *)b;
	int		 c;

	c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/*
 * The states of the trie of every literal: its root and one per
 * distinct prefix, counted in sorted order.  0 when memory runs out.
 */
static size_t
trie_states(const struct jm_prefilter *pf)
{
	const struct lit **v;
	size_t		 i, j, n = 1;

	v = malloc(pf->n_lits * sizeof(*v));
	if (v == NULL)
		return 0;
	for (i = 0; i < pf->n_lits; i++)
		v[i] = &pf->lits[i];
	qsort(v, pf->n_lits, sizeof(*v), cmp_lits);
	for (i = 0; i < pf->n_lits; i++) {
		j = 0;
		if (i > 0)
			while (j < v[i]->len && j < v[i - 1]->len &&
			    v[i]->s[j] == v[i - 1]->s[j])
				j++;
		n += v[i]->len - j;
	}
	free(v);
	return n;
}

int
jm_prefilter_compile(struct jm_prefilter *pf)
{
	size_t		 i, j, k, c, total, s, t, n_out, head, tail;
	uint32_t	*fail = NULL, *queue = NULL, *count = NULL;
	uint32_t	*term_start = NULL, *term = NULL;
	unsigned char	 used[256];
	int		 rc = -1;

	drop_automaton(pf);
	pf->all_pass = 0;
	if (pf->n_lits == 0)
		return 0;

	memset(used, 0, sizeof(used));
	for (i = 0; i < pf->n_lits; i++)
		for (j = 0; j < pf->lits[i].len; j++)
			used[(unsigned char)pf->lits[i].s[j]] = 1;
	total = trie_states(pf);
	if (total == 0)
		return -1;
	/* Class 0 is every byte no literal contains. */
	memset(pf->cls, 0, sizeof(pf->cls));
	pf->n_cls = 1;
	for (c = 0; c < 256; c++)
		if (used[c])
			pf->cls[c] = (unsigned char)pf->n_cls++;
	/* The text is matched lower-cased, so "A" reads as "a". */
	for (c = 'A'; c <= 'Z'; c++)
		pf->cls[c] = pf->cls[c - 'A' + 'a'];
	if (total * pf->n_cls > CELLS_MAX || total >= OUT_FLAG) {
		pf->all_pass = 1;
		return 0;
	}

	pf->delta = malloc(total * pf->n_cls * sizeof(*pf->delta));
	fail = calloc(total, sizeof(*fail));
	queue = malloc(total * sizeof(*queue));
	count = calloc(total + 1, sizeof(*count));
	if (pf->delta == NULL || fail == NULL || queue == NULL ||
	    count == NULL)
		goto done;
	memset(pf->delta, 0xff, total * pf->n_cls * sizeof(*pf->delta));

	/* The trie; count[s] is how many literals end at state s. */
	pf->n_states = 1;
	for (i = 0; i < pf->n_lits; i++) {
		s = 0;
		for (j = 0; j < pf->lits[i].len; j++) {
			c = pf->cls[(unsigned char)pf->lits[i].s[j]];
			if (pf->delta[s * pf->n_cls + c] == UINT32_MAX)
				pf->delta[s * pf->n_cls + c] =
				    (uint32_t)pf->n_states++;
			s = pf->delta[s * pf->n_cls + c];
		}
		count[s]++;
	}
	/* The literals (their sets) ending at each state, grouped. */
	term_start = calloc(pf->n_states + 1, sizeof(*term_start));
	term = malloc(pf->n_lits * sizeof(*term));
	if (term_start == NULL || term == NULL)
		goto done;
	for (s = 0; s < pf->n_states; s++)
		term_start[s + 1] = term_start[s] + count[s];
	memset(count, 0, (total + 1) * sizeof(*count));
	for (i = 0; i < pf->n_lits; i++) {
		s = 0;
		for (j = 0; j < pf->lits[i].len; j++)
			s = pf->delta[s * pf->n_cls +
			    pf->cls[(unsigned char)pf->lits[i].s[j]]];
		term[term_start[s] + count[s]++] = (uint32_t)i;
	}

	/* Breadth first: failure links, then the full transition table. */
	head = tail = 0;
	for (c = 0; c < pf->n_cls; c++) {
		t = pf->delta[c];
		if (t == UINT32_MAX)
			pf->delta[c] = 0;
		else {
			fail[t] = 0;
			queue[tail++] = (uint32_t)t;
		}
	}
	while (head < tail) {
		s = queue[head++];
		for (c = 0; c < pf->n_cls; c++) {
			t = pf->delta[s * pf->n_cls + c];
			if (t == UINT32_MAX)
				pf->delta[s * pf->n_cls + c] =
				    pf->delta[fail[s] * pf->n_cls + c];
			else {
				fail[t] = pf->delta[fail[s] * pf->n_cls + c];
				queue[tail++] = (uint32_t)t;
			}
		}
	}

	/* Outputs: a state's own sets and those of its failure chain. */
	pf->out_start = calloc(pf->n_states + 1, sizeof(*pf->out_start));
	if (pf->out_start == NULL)
		goto done;
	memset(count, 0, (total + 1) * sizeof(*count));
	for (i = 0; i < tail; i++) {
		s = queue[i];
		count[s] = term_start[s + 1] - term_start[s] + count[fail[s]];
	}
	n_out = 0;
	for (s = 0; s < pf->n_states; s++) {
		pf->out_start[s] = (uint32_t)n_out;
		n_out += count[s];
	}
	pf->out_start[pf->n_states] = (uint32_t)n_out;
	pf->out = malloc((n_out + 1) * sizeof(*pf->out));
	pf->out_len = malloc((n_out + 1) * sizeof(*pf->out_len));
	if (pf->out == NULL || pf->out_len == NULL)
		goto done;
	for (i = 0; i < tail; i++) {
		s = queue[i];
		k = pf->out_start[s];
		for (j = term_start[s]; j < term_start[s + 1]; j++) {
			pf->out[k] = (uint32_t)pf->lits[term[j]].set;
			pf->out_len[k++] = (uint32_t)pf->lits[term[j]].len;
		}
		/* The failure state comes earlier in breadth-first order. */
		for (j = pf->out_start[fail[s]]; j < pf->out_start[fail[s]] +
		    count[fail[s]]; j++)
		{
			pf->out[k] = pf->out[j];
			pf->out_len[k++] = pf->out_len[j];
		}
	}
	if (renumber(pf, queue, tail, fail) == -1)
		goto done;
	rc = 0;
done:
	if (rc == -1)
		drop_automaton(pf);
	free(fail);
	free(queue);
	free(count);
	free(term_start);
	free(term);
	return rc;
}

/* The transition on B; with the out flag when it reaches outputs. */
static inline uint32_t
step(const struct jm_prefilter *pf, uint32_t s, unsigned char b)
{
	unsigned char	c = pf->cls[b];
	size_t		i, k, d;

	s &= ~pf->out_flag;
	while (s >= pf->n_dense) {
		d = s - pf->n_dense;
		for (k = pf->sp_first[d]; k < pf->sp_first[d + 1]; k++)
			if (pf->edge_cls[k] == c)
				return pf->edge_to[k];
		s = pf->sp_fail[d];
	}
	i = (size_t)s * pf->n_cls + c;
	return pf->delta16 != NULL ? pf->delta16[i] : pf->delta32[i];
}

/* Where the scan keeps what it found. */
struct found {
	unsigned char	*pass;
	struct jm_prefilter_where *where;	/* NULL: not wanted */
	size_t		 run;		/* the longest stretch without
					   white space, in bytes */
};

/*
 * The literals ending at state S, END bytes into the text.  A literal
 * of LEN bytes spans LEN to 3 * LEN bytes of text (KELVIN SIGN is three
 * bytes for "k"), and a match holds at most the set's back bytes before
 * it.
 */
static inline void
emit(const struct jm_prefilter *pf, uint32_t s, size_t end,
    const struct found *f)
{
	struct jm_prefilter_where *w;
	uint32_t	j, set;
	size_t		len, lo, hi, k, back, runs;

	for (j = pf->out_start[s]; j < pf->out_start[s + 1]; j++) {
		set = pf->out[j];
		if (f->where == NULL) {
			f->pass[set] = 1;
			continue;
		}
		len = pf->out_len[j];
		lo = end > 3 * len ? end - 3 * len : 0;
		back = pf->back[set];
		runs = pf->back_runs[set];
		if (runs > 0 && back != WIDTH_ANY) {
			/* RUNS_MAX and the length of a text: no overflow. */
			if (f->run > (WIDTH_ANY - back) / runs)
				back = WIDTH_ANY;
			else
				back += runs * f->run;
		}
		lo = back < lo ? lo - back : 0;
		hi = end - len;
		w = &f->where[set];
		if (!f->pass[set]) {
			f->pass[set] = 1;
			w->n = 1;
			w->from[0] = lo;
			w->to[0] = hi;
			continue;
		}
		/* Overlapping the last window, or no room: the last grows. */
		k = w->n - 1;
		if (lo <= w->to[k] + 1 || w->n == JM_PREFILTER_WINDOWS) {
			if (lo < w->from[k])
				w->from[k] = lo;
			if (hi > w->to[k])
				w->to[k] = hi;
			continue;
		}
		w->from[w->n] = lo;
		w->to[w->n++] = hi;
	}
}

/* The second byte of the lower-case partner of a Turkish capital. */
static unsigned char
turkish_lower(unsigned char lead, unsigned char next)
{
	if (lead == 0xc3 && (next == 0x82 || next == 0x87 || next == 0x8e ||
	    next == 0x96 || next == 0x9b || next == 0x9c))
		return (unsigned char)(next + 0x20);	/* Â Ç Î Ö Û Ü */
	if ((lead == 0xc4 || lead == 0xc5) && next == 0x9e)
		return 0x9f;				/* Ğ Ş */
	return next;
}

/*
 * Whether the LEN bytes at T are spaced, as jm_text_normalize() with
 * JM_NORM_SPACE leaves a text: every character that PCRE2's \s may match
 * (ASCII, NEL, NBSP and the Unicode spaces; the unit tests check the list
 * against the linked PCRE2) is U+0020, and no two spaces are next to each
 * other.  *RUN gets the longest stretch of bytes without ASCII white
 * space, which no run of \w, \S or \d crosses, spaced or not.
 */
static int
spaced(const unsigned char *t, size_t len, size_t *run)
{
	size_t		i, start = 0, longest = 0;
	int		ok = 1;
	unsigned char	b;

	for (i = 0; i < len; i++) {
		b = t[i];
		if (b > 0x20 && b < 0xc2)
			continue;
		if (b == ' ' || (b >= '\t' && b <= '\r')) {
			if (i - start > longest)
				longest = i - start;
			start = i + 1;
			if (b != ' ' || (i > 0 && t[i - 1] == ' '))
				ok = 0;
			continue;
		}
		if (len - i < 2)
			continue;
		if ((b == 0xc2 && (t[i + 1] == 0x85 || t[i + 1] == 0xa0)) ||
		    (len - i >= 3 && ((b == 0xe1 && ((t[i + 1] == 0x9a &&
		    t[i + 2] == 0x80) || (t[i + 1] == 0xa0 &&
		    t[i + 2] == 0x8e))) || (b == 0xe2 && t[i + 1] == 0x80 &&
		    (t[i + 2] <= 0x8a || t[i + 2] == 0xa8 || t[i + 2] == 0xa9 ||
		    t[i + 2] == 0xaf)) || (b == 0xe2 && t[i + 1] == 0x81 &&
		    t[i + 2] == 0x9f) || (b == 0xe3 && t[i + 1] == 0x80 &&
		    t[i + 2] == 0x80))))
			ok = 0;
	}
	if (len - start > longest)
		longest = len - start;
	*run = longest;
	return ok;
}

static void
scan(const struct jm_prefilter *pf, const char *text, size_t len,
    struct found *f)
{
	const unsigned char	*t = (const unsigned char *)text;
	const unsigned char	*p = t, *end = p + len;
	uint32_t		 s = 0;
	unsigned char		 b;
	size_t			 i, a, k;
	int			 sp;

	if (pf->all_pass || (pf->delta16 == NULL && pf->delta32 == NULL)) {
		memset(f->pass, pf->all_pass, pf->n_sets);
		for (i = 0; f->where != NULL && i < pf->n_sets; i++) {
			f->where[i].n = 1;
			f->where[i].from[0] = 0;
			f->where[i].to[0] = len;
		}
		return;
	}
	sp = spaced(t, len, &f->run);
	memset(f->pass, 0, pf->n_sets);
	while (p < end) {
		b = *p++;
		if (b < 0xc3)
			s = step(pf, s, b);
		else if (b == 0xe2 && end - p >= 2 && p[0] == 0x84 &&
		    p[1] == 0xaa) {
			/* KELVIN SIGN and LONG S match "k" and "s" caselessly. */
			s = step(pf, s, 'k');
			p += 2;
		} else if (b == 0xc5 && p < end && p[0] == 0xbf) {
			s = step(pf, s, 's');
			p++;
		} else if (b <= 0xc5 && p < end) {
			/* No literal ends inside a character. */
			s = step(pf, s, b);
			s = step(pf, s, turkish_lower(b, *p));
			p++;
		} else
			s = step(pf, s, b);
		if (s & pf->out_flag)
			emit(pf, s & ~pf->out_flag, (size_t)(p - t), f);
	}
	/* A set read for spaced texts says nothing of other texts. */
	for (i = 0; !sp && i < pf->n_sets; i++) {
		if (!pf->spaced[i])
			continue;
		f->pass[i] = 1;
		if (f->where != NULL) {
			f->where[i].n = 1;
			f->where[i].from[0] = 0;
			f->where[i].to[0] = len;
		}
	}
	/* A pattern with an anchor needs it too, and starts near it. */
	for (k = 0; k < pf->n_paired; k++) {
		i = pf->paired[k];
		a = pf->anchor[i];
		if (!f->pass[i])
			continue;
		f->pass[i] = f->pass[a];
		if (f->pass[i] && f->where != NULL)
			f->where[i] = f->where[a];
	}
}

void
jm_prefilter_scan(const struct jm_prefilter *pf, const char *text,
    size_t len, unsigned char *pass)
{
	struct found	f;

	f.pass = pass;
	f.where = NULL;
	scan(pf, text, len, &f);
}

void
jm_prefilter_scan_where(const struct jm_prefilter *pf, const char *text,
    size_t len, unsigned char *pass, struct jm_prefilter_where *where)
{
	struct found	f;

	f.pass = pass;
	f.where = where;
	scan(pf, text, len, &f);
}

void
jm_prefilter_free(struct jm_prefilter *pf)
{
	size_t	i;

	if (pf == NULL)
		return;
	for (i = 0; i < pf->n_lits; i++)
		free(pf->lits[i].s);
	free(pf->lits);
	free(pf->back);
	free(pf->back_runs);
	free(pf->spaced);
	free(pf->anchor);
	free(pf->paired);
	drop_automaton(pf);
	free(pf);
}
