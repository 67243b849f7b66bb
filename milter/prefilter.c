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
 * extended mode, an odd brace) makes the pattern "always run".  Literals
 * are folded the way caseless matching may see them: ASCII letters are
 * lower-cased in both pattern and text, and the two non-ASCII characters
 * that PCRE2 (UTF, UCP, caseless) matches to ASCII letters, KELVIN SIGN
 * and LONG S, become "k" and "s" in the text; the Turkish capitals Ç Ö Ü
 * Ğ Ş are lower-cased on both sides.  Other non-ASCII letters may have
 * case partners, so they end a literal, except the Arabic script, which
 * has no case.  Folding too much only lets more patterns run.
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
#define ALT_MAX		32	/* literals in one any-of set */
#define DEPTH_MAX	16	/* nested groups read */
#define CELLS_MAX	(4u << 20)	/* automaton cells (16 MiB) */

struct litset {
	int		any;		/* nothing in particular is required */
	size_t		n;
	unsigned char	len[ALT_MAX];
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
	uint32_t	*delta;		/* n_states * n_cls */
	uint32_t	*out_start;	/* n_states + 1 */
	uint32_t	*out;		/* set ids, by state */
	size_t		 n_states;
};

/* Reading a pattern. */

struct reader {
	const unsigned char *p;
	const unsigned char *end;
	int		 fail;		/* something not understood */
	int		 depth;
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

/* Keeps CAND in BEST when it filters better: longer shortest literal. */
static void
consider(struct litset *best, const struct litset *cand)
{
	size_t	cs, bs;

	if (cand->any || cand->n == 0)
		return;
	cs = set_score(cand);
	bs = set_score(best);
	if (best->any || cs > bs || (cs == bs && cand->n < best->n))
		*best = *cand;
}

static void
consider_run(struct litset *best, const char *run, size_t len)
{
	struct litset	one;

	if (len == 0)
		return;
	one.any = 0;
	one.n = 1;
	one.len[0] = (unsigned char)len;
	memcpy(one.s[0], run, len);
	consider(best, &one);
}

/*
 * The form of a non-ASCII character inside a literal, or 0 when it must
 * end the literal.  The Arabic script has no case.  The Turkish letters
 * with a cedilla, diaeresis or breve have exactly one case partner each
 * in PCRE2, and the text scan lower-cases those partners too (the unit
 * tests check both claims against the linked PCRE2).  Dotless and dotted
 * i are left out: the normaliser folds them to "i" anyway.
 */
static uint32_t
literal_form(uint32_t cp)
{
	switch (cp) {
	case 0xc7:	/* Ç */
	case 0xd6:	/* Ö */
	case 0xdc:	/* Ü */
		return cp + 0x20;
	case 0x11e:	/* Ğ */
	case 0x15e:	/* Ş */
		return cp + 1;
	case 0xe7:
	case 0xf6:
	case 0xfc:
	case 0x11f:
	case 0x15f:
		return cp;
	}
	if ((cp >= 0x600 && cp <= 0x6ff) || (cp >= 0x750 && cp <= 0x77f) ||
	    (cp >= 0x8a0 && cp <= 0x8ff) || (cp >= 0xfb50 && cp <= 0xfdff) ||
	    (cp >= 0xfe70 && cp <= 0xfeff))
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
 * A quantifier after an atom: -1 none, else its minimum (0 or more).
 * A brace that is not a plain {n}, {n,} or {n,m} fails the reading:
 * PCRE2 versions differ on what such a brace means.
 */
static long
quantifier(struct reader *rd)
{
	long	min = -1;

	if (rd->p >= rd->end)
		return -1;
	switch (*rd->p) {
	case '*':
	case '?':
		min = 0;
		rd->p++;
		break;
	case '+':
		min = 1;
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
		if (rd->p < rd->end && *rd->p == ',')
			rd->p++;
		while (rd->p < rd->end && *rd->p >= '0' && *rd->p <= '9')
			rd->p++;
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

/* A group, the opening parenthesis already read. */
static void
read_group(struct reader *rd, struct litset *out)
{
	const unsigned char *p = rd->p;
	int		 zero_width = 0;
	char		 close = 0;

	out->any = 1;
	out->n = 0;
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
		out->any = 1;
}

/* One branch: a sequence of atoms up to "|", ")" or the end. */
static void
read_seq(struct reader *rd, struct litset *best)
{
	char		 run[LIT_MAX];
	size_t		 rlen = 0, last = 0, n;
	struct litset	*g;
	uint32_t	 cp, form;
	unsigned char	 c;
	long		 min;

	best->any = 1;
	best->n = 0;
	g = malloc(sizeof(*g));
	if (g == NULL) {
		rd->fail = 1;
		return;
	}
	while (!rd->fail && rd->p < rd->end && *rd->p != '|' &&
	    *rd->p != ')') {
		c = *rd->p;
		last = 0;		/* bytes of the last char in the run */
		if (c == '\\') {
			if (rd->p + 1 >= rd->end) {
				rd->fail = 1;
				break;
			}
			c = rd->p[1];
			if (c < 0x80 && !((c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
				/* An escaped punctuation mark is itself. */
				rd->p += 2;
				goto literal_ascii;
			}
			if (c >= 0x80) {
				rd->p++;
				goto literal_utf8;
			}
			consider_run(best, run, rlen);
			rlen = 0;
			rd->p += 2;
			switch (c) {
			case 'b': case 'B': case 'A': case 'z': case 'Z':
			case 'G': case 'd': case 'D': case 's': case 'S':
			case 'w': case 'W': case 'h': case 'H': case 'v':
			case 'V': case 'R': case 'X':
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
			quantifier(rd);
			continue;
		}
		if (c == '.' || c == '^' || c == '$' || c == '[' || c == '(') {
			consider_run(best, run, rlen);
			rlen = 0;
			rd->p++;
			if (c == '[')
				skip_class(rd);
			if (c == '(') {
				read_group(rd, g);
				if (rd->fail)
					break;
				min = quantifier(rd);
				if (min != 0)
					consider(best, g);
				continue;
			}
			quantifier(rd);
			continue;
		}
		if (c == '*' || c == '+' || c == '?' || c == '{') {
			rd->fail = 1;		/* a quantifier with no atom */
			break;
		}
		if (c >= 0x80)
			goto literal_utf8;
		rd->p++;
literal_ascii:
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (rlen + 1 > LIT_MAX) {
			consider_run(best, run, rlen);
			rlen = 0;
		}
		run[rlen++] = (char)c;
		last = 1;
		goto quantified;
literal_utf8:
		n = utf8_char(rd->p, rd->end, &cp);
		if (n == 0) {
			rd->fail = 1;
			break;
		}
		rd->p += n;
		form = literal_form(cp);
		if (form == 0 || form > 0xffff) {
			consider_run(best, run, rlen);
			rlen = 0;
			quantifier(rd);
			continue;
		}
		if (rlen + 3 > LIT_MAX) {
			consider_run(best, run, rlen);
			rlen = 0;
		}
		last = utf8_put(form, run + rlen);
		rlen += last;
quantified:
		min = quantifier(rd);
		if (min == 0) {
			/* The character may be absent: the run ends before it. */
			rlen -= last;
			consider_run(best, run, rlen);
			rlen = 0;
		} else if (min > 0) {
			/* Present, but what follows is not next to it. */
			consider_run(best, run, rlen);
			rlen = 0;
		}
	}
	consider_run(best, run, rlen);
	free(g);
}

/* Alternatives: any one of them matches, so their sets are joined. */
static void
read_alt(struct reader *rd, struct litset *out)
{
	struct litset	*s;
	size_t		 i, j;
	int		 any = 0;

	out->any = 0;
	out->n = 0;
	s = malloc(sizeof(*s));
	if (s == NULL) {
		rd->fail = 1;
		return;
	}
	for (;;) {
		read_seq(rd, s);
		if (rd->fail)
			break;
		if (s->any)
			any = 1;
		for (i = 0; !any && i < s->n; i++) {
			for (j = 0; j < out->n; j++)
				if (out->len[j] == s->len[i] &&
				    memcmp(out->s[j], s->s[i], s->len[i]) == 0)
					break;
			if (j < out->n)
				continue;
			if (out->n == ALT_MAX) {
				any = 1;
				break;
			}
			out->len[out->n] = s->len[i];
			memcpy(out->s[out->n], s->s[i], s->len[i]);
			out->n++;
		}
		if (rd->p < rd->end && *rd->p == '|') {
			rd->p++;
			continue;
		}
		break;
	}
	free(s);
	if (any)
		out->any = 1;
}

struct jm_prefilter *
jm_prefilter_new(void)
{
	return calloc(1, sizeof(struct jm_prefilter));
}

int
jm_prefilter_add(struct jm_prefilter *pf, const char *pattern, size_t len,
    int extended, size_t *id)
{
	struct reader	 rd;
	struct litset	*set;
	struct lit	*v;
	size_t		 i, cap;
	int		 rc = 0;

	if (extended)
		return 0;
	set = malloc(sizeof(*set));
	if (set == NULL)
		return -1;
	rd.p = (const unsigned char *)pattern;
	rd.end = rd.p + len;
	rd.fail = 0;
	rd.depth = 0;
	read_alt(&rd, set);
	if (rd.fail || rd.p != rd.end || set->any || set->n == 0 ||
	    set_score(set) < LIT_MIN)
		goto done;
	if (pf->n_lits + set->n > pf->cap_lits) {
		cap = pf->cap_lits != 0 ? pf->cap_lits : 64;
		while (cap < pf->n_lits + set->n)
			cap *= 2;
		v = realloc(pf->lits, cap * sizeof(*v));
		if (v == NULL) {
			rc = -1;
			goto done;
		}
		pf->lits = v;
		pf->cap_lits = cap;
	}
	for (i = 0; i < set->n; i++) {
		v = &pf->lits[pf->n_lits];
		v->s = malloc(set->len[i]);
		if (v->s == NULL) {
			while (i-- > 0)
				free(pf->lits[--pf->n_lits].s);
			rc = -1;
			goto done;
		}
		memcpy(v->s, set->s[i], set->len[i]);
		v->len = set->len[i];
		v->set = pf->n_sets;
		pf->n_lits++;
	}
	*id = pf->n_sets++;
	rc = 1;
done:
	free(set);
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
	free(pf->out_start);
	free(pf->out);
	pf->delta = NULL;
	pf->out_start = NULL;
	pf->out = NULL;
	pf->n_states = 0;
}

int
jm_prefilter_compile(struct jm_prefilter *pf)
{
	size_t		 i, j, k, c, total = 1, s, t, n_out, head, tail;
	uint32_t	*fail = NULL, *queue = NULL, *count = NULL;
	uint32_t	*term_start = NULL, *term = NULL;
	unsigned char	 used[256];
	int		 rc = -1;

	drop_automaton(pf);
	pf->all_pass = 0;
	if (pf->n_lits == 0)
		return 0;

	memset(used, 0, sizeof(used));
	for (i = 0; i < pf->n_lits; i++) {
		total += pf->lits[i].len;
		for (j = 0; j < pf->lits[i].len; j++)
			used[(unsigned char)pf->lits[i].s[j]] = 1;
	}
	/* Class 0 is every byte no literal contains. */
	memset(pf->cls, 0, sizeof(pf->cls));
	pf->n_cls = 1;
	for (c = 0; c < 256; c++)
		if (used[c])
			pf->cls[c] = (unsigned char)pf->n_cls++;
	/* The text is matched lower-cased, so "A" reads as "a". */
	for (c = 'A'; c <= 'Z'; c++)
		pf->cls[c] = pf->cls[c - 'A' + 'a'];
	if (total * pf->n_cls > CELLS_MAX) {
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
		term[term_start[s] + count[s]++] = (uint32_t)pf->lits[i].set;
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
	if (pf->out == NULL)
		goto done;
	for (i = 0; i < tail; i++) {
		s = queue[i];
		k = pf->out_start[s];
		for (j = term_start[s]; j < term_start[s + 1]; j++)
			pf->out[k++] = term[j];
		/* The failure state comes earlier in breadth-first order. */
		for (j = pf->out_start[fail[s]]; j < pf->out_start[fail[s]] +
		    count[fail[s]]; j++)
			pf->out[k++] = pf->out[j];
	}
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

static inline uint32_t
step(const struct jm_prefilter *pf, uint32_t s, unsigned char b,
    unsigned char *pass)
{
	uint32_t	j;

	s = pf->delta[s * pf->n_cls + pf->cls[b]];
	for (j = pf->out_start[s]; j < pf->out_start[s + 1]; j++)
		pass[pf->out[j]] = 1;
	return s;
}

/* The second byte of the lower-case partner of a Turkish capital. */
static unsigned char
turkish_lower(unsigned char lead, unsigned char next)
{
	if (lead == 0xc3 && (next == 0x87 || next == 0x96 || next == 0x9c))
		return (unsigned char)(next + 0x20);	/* Ç Ö Ü */
	if ((lead == 0xc4 || lead == 0xc5) && next == 0x9e)
		return 0x9f;				/* Ğ Ş */
	return next;
}

void
jm_prefilter_scan(const struct jm_prefilter *pf, const char *text,
    size_t len, unsigned char *pass)
{
	const unsigned char	*p = (const unsigned char *)text;
	const unsigned char	*end = p + len;
	uint32_t		 s = 0;
	unsigned char		 b;

	if (pf->all_pass || pf->delta == NULL) {
		memset(pass, pf->all_pass, pf->n_sets);
		return;
	}
	memset(pass, 0, pf->n_sets);
	while (p < end) {
		b = *p++;
		if (b < 0xc3) {
			s = step(pf, s, b, pass);
			continue;
		}
		/* KELVIN SIGN and LONG S match "k" and "s" caselessly. */
		if (b == 0xe2 && end - p >= 2 && p[0] == 0x84 && p[1] == 0xaa) {
			s = step(pf, s, 'k', pass);
			p += 2;
		} else if (b == 0xc5 && p < end && p[0] == 0xbf) {
			s = step(pf, s, 's', pass);
			p++;
		} else if (b <= 0xc5 && p < end) {
			s = step(pf, s, b, pass);
			s = step(pf, s, turkish_lower(b, *p), pass);
			p++;
		} else
			s = step(pf, s, b, pass);
	}
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
	drop_automaton(pf);
	free(pf);
}
