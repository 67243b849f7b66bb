/*
 * test_prefilter.c: the literal prefilter never hides a match.
 *
 * Every claim is checked against PCRE2 itself: for each pattern and text,
 * a match by PCRE2 (UTF, UCP, with and without caseless) must pass the
 * prefilter.  Fixed tables cover the syntax; a seeded random grammar
 * covers the combinations; and the case-folding facts the prefilter rests
 * on are checked against the linked PCRE2 library.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "journey/prefilter.h"

/* Whether each pattern gets literals (1) or must always run (0). */
static const struct extract_case {
	const char	*pattern;
	int		 filtered;
	int		 extended;	/* compiled with the x flag */
} extract_cases[] = {
	{ "refund", 1, 0 },
	{ "\\brefund\\b", 1, 0 },
	{ "\\b(?:refund|money back)\\b", 1, 0 },
	{ "(refund|ab)", 0, 0 },			/* "ab" is too short */
	{ "(refund|)", 0, 0 },			/* an empty branch */
	{ "(refund)?", 0, 0 },
	{ "(refund)*x", 0, 0 },
	{ "(refund){0,2}", 0, 0 },
	{ "(refund){1,2}", 1, 0 },
	{ "(refund)+", 1, 0 },
	{ "colou?r", 1, 0 },			/* "colo", then "r" */
	{ "colou?rful", 1, 0 },			/* "rful" */
	{ "\\d+ days late", 1, 0 },
	{ "[a-z]+ly", 0, 0 },
	{ "(?i)refund", 0, 0 },			/* inline options */
	{ "(?i:refund)", 0, 0 },
	{ "\\Qrefund\\E", 0, 0 },
	{ "\\x41bcd", 0, 0 },
	{ "(re)fund\\1", 0, 0 },
	{ "(*UCP)refund", 0, 0 },
	{ "(?=refund)", 0, 0 },
	{ "(?!refund)abc", 1, 0 },
	{ "(?<=refund)abc", 1, 0 },
	{ "ab{,3}cdef", 0, 0 },			/* a brace PCRE2 versions read apart */
	{ "ab{2}cdef", 1, 0 },
	{ "(?<word>refund)", 1, 0 },
	{ "(?#comment)refund", 1, 0 },
	{ "şikayet", 1, 0 },			/* "şikayet" */
	{ "ŞİKAYET", 1, 0 },			/* "kayet" */
	{ "değişim", 1, 0 },
	{ "ıı", 0, 0 },
	{ "لغو اشتراک", 1, 0 },
	{ "\\bkötü\\b", 1, 0 },
	{ "a.b.c.d", 0, 0 },
	{ "", 0, 0 },
	/* A class of a few characters is read as their alternatives. */
	{ "[cç]ok", 1, 0 },			/* "cok" or "çok" */
	{ "\\b[sş]ik[aâ]yet", 1, 0 },
	{ "don['’]t", 1, 0 },
	{ "[Kk]iss", 1, 0 },
	{ "[]x]yz", 1, 0 },
	{ "[a-]bc", 1, 0 },
	{ "x[.!?]y", 1, 0 },
	{ "[^a]bcd", 1, 0 },			/* "bcd" */
	{ "[abcde]xy", 0, 0 },			/* five: too many */
	{ "[a-c]xy", 0, 0 },			/* a range */
	{ "[\\d]xy", 0, 0 },
	{ "[[:alpha:]]xy", 0, 0 },
	{ "[cç]o?k", 0, 0 },			/* "co" or "ço", then "k" */
	{ "[cç]?oka", 1, 0 },			/* "oka" */
	{ "[ab][cd][ef]", 1, 0 },			/* eight of three letters */
	{ "[ab][cd][ef][gh][ij][kl][mn]", 1, 0 },	/* past the cap: a flush */
	/* Extended patterns read as they would without the flag. */
	{ "refund", 1, 1 },
	{ "re fund", 1, 1 },
	{ "money\\ back | refund", 1, 1 },
	{ "a b", 0, 1 },
	{ "[ ]x", 0, 1 },
	{ "refund # the word", 1, 1 },
	{ "ab{1, 3}cdef", 0, 1 },		/* PCRE2 versions differ */
	{ "ab{1,3} cdef", 1, 1 },
	/* A spaced text's white space is one space: \s is " ". */
	{ "a\\sb\\sc", 1, 0 },			/* "a b c" */
	{ "ab\\s+c", 1, 0 },			/* "ab c" */
	{ "ab\\s*c", 1, 0 },			/* "abc" or "ab c" */
	{ "abc\\s*d", 1, 0 },
	{ "ab\\s?c\\s?d", 1, 0 },
	{ "\\.\\s+(kez|ay)\\b", 0, 0 },		/* a group is read apart */
	{ "(kez|ay)\\s", 0, 0 },
	{ "(kez|ayy)\\s", 1, 0 },
	{ "\\s{0}ab", 0, 0 },
	{ "ab\\s{2,}", 1, 0 },			/* "ab ", never matched */
	{ "a \\s b", 1, 1 },
	/* A run of \w, \S or \d stays inside a word. */
	{ "\\b\\w+ly refund", 1, 0 },
	{ "(\\w+\\s+){0,3}refund", 1, 0 },
	{ "(\\S+\\s+)*refund", 1, 0 },
};

START_TEST(test_extract)
{
	const struct extract_case *c = &extract_cases[_i];
	struct jm_prefilter	*pf = jm_prefilter_new();
	size_t			 id = 99;
	int			 rc;

	rc = jm_prefilter_add(pf, c->pattern, strlen(c->pattern), c->extended,
	    &id);
	ck_assert_msg(rc == c->filtered, "/%s/%s: got %d, want %d",
	    c->pattern, c->extended ? "x" : "", rc, c->filtered);
	if (rc == 1)
		ck_assert_uint_eq(id, 0);
	jm_prefilter_free(pf);
}
END_TEST

/*
 * Whether PAT matches TEXT: 1, 0, or -1 when it does not compile.  With
 * STARTS, also every offset where a match can start, marked in STARTS
 * (strlen(TEXT) + 1 bytes).
 */
static int
pcre_matches_at(const char *pat, const char *text, uint32_t opts,
    unsigned char *starts)
{
	pcre2_code		*re;
	pcre2_match_data	*md;
	int			 err, rc, any = 0;
	PCRE2_SIZE		 off, i, n = strlen(text);

	re = pcre2_compile((PCRE2_SPTR)pat, strlen(pat),
	    PCRE2_UTF | PCRE2_UCP | opts, &err, &off, NULL);
	if (re == NULL)
		return -1;
	md = pcre2_match_data_create(1, NULL);
	if (starts == NULL) {
		rc = pcre2_match(re, (PCRE2_SPTR)text, n, 0, 0, md, NULL);
		any = rc >= 0;
	} else
		for (i = 0; i <= n; i++) {
			starts[i] = 0;
			if (i < n && ((unsigned char)text[i] & 0xc0) == 0x80)
				continue;
			rc = pcre2_match(re, (PCRE2_SPTR)text, n, i,
			    PCRE2_ANCHORED, md, NULL);
			if (rc >= 0)
				starts[i] = any = 1;
		}
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return any;
}

static int
pcre_matches(const char *pat, const char *text, uint32_t opts)
{
	return pcre_matches_at(pat, text, opts, NULL);
}

/*
 * Checks every pattern against every text: a PCRE2 match must pass.
 * Returns how many pairs the prefilter rejected, so that callers can
 * tell a filter that works from one that lets everything through.
 */
static size_t
check_sound(const char *const *pats, size_t n_pats,
    const char *const *texts, size_t n_texts, int extended)
{
	struct jm_prefilter	*pf = jm_prefilter_new();
	size_t			*ids, i, j, rejected = 0, p, x;
	struct jm_prefilter_where *where, *wh;
	int			 inside;
	int			*filtered, m, k;
	unsigned char		*pass, *passed, starts[256];
	static const uint32_t	 modes[] = { 0, PCRE2_CASELESS };

	ids = calloc(n_pats, sizeof(*ids));
	filtered = calloc(n_pats, sizeof(*filtered));
	passed = calloc(n_pats, sizeof(*passed));
	for (i = 0; i < n_pats; i++) {
		filtered[i] = jm_prefilter_add(pf, pats[i], strlen(pats[i]),
		    extended, &ids[i]);
		ck_assert_int_ge(filtered[i], 0);
	}
	ck_assert_int_eq(jm_prefilter_compile(pf), 0);
	pass = malloc(jm_prefilter_nsets(pf) + 1);
	where = calloc(jm_prefilter_nsets(pf) + 1, sizeof(*where));
	for (j = 0; j < n_texts; j++) {
		ck_assert_uint_lt(strlen(texts[j]), sizeof(starts));
		jm_prefilter_scan(pf, texts[j], strlen(texts[j]), pass);
		for (i = 0; i < n_pats; i++)
			if (filtered[i] == 1)
				passed[i] = pass[ids[i]];
		jm_prefilter_scan_where(pf, texts[j], strlen(texts[j]), pass,
		    where);
		for (i = 0; i < n_pats; i++) {
			if (filtered[i] != 1)
				continue;
			if (!pass[ids[i]])
				rejected++;
			ck_assert_int_eq(passed[i], pass[ids[i]]);
			for (k = 0; k < 2; k++) {
				m = pcre_matches_at(pats[i], texts[j],
				    modes[k] | (extended ? PCRE2_EXTENDED : 0),
				    starts);
				ck_assert_msg(m != 1 || pass[ids[i]],
				    "/%s/%s%s matches \"%s\" but was filtered "
				    "out", pats[i], k ? "i" : "",
				    extended ? "x" : "", texts[j]);
				/* Every match starts where the scan says. */
				wh = &where[ids[i]];
				ck_assert(m != 1 || (wh->n >= 1 &&
				    wh->n <= JM_PREFILTER_WINDOWS));
				for (p = 0; m == 1 && p <= strlen(texts[j]);
				    p++) {
					if (!starts[p])
						continue;
					inside = 0;
					for (x = 0; x < wh->n; x++)
						if (wh->from[x] <= p &&
						    p <= wh->to[x])
							inside = 1;
					ck_assert_msg(inside,
					    "/%s/%s%s matches \"%s\" at %zu, "
					    "outside its %zu windows from %zu",
					    pats[i], k ? "i" : "",
					    extended ? "x" : "", texts[j], p,
					    wh->n, wh->from[0]);
				}
			}
		}
	}
	free(pass);
	free(where);
	free(passed);
	free(ids);
	free(filtered);
	jm_prefilter_free(pf);
	return rejected;
}

START_TEST(test_sound_table)
{
	static const char *const pats[] = {
		"refund", "\\brefund\\b", "money back|refund", "kiss",
		"KISS", "stop", "(refund|kelvin)s?", "colou?rful",
		"\\bçok kötü\\b", "ŞİKAYET", "şikayet", "değişim", "ücret",
		"لغو اشتراک", "(?:never){1,} again", "ab+cde", "x\\.com",
		"a\\/b c", "(?<n>broken) (?:phone|screen)", "[]x]yz abc",
		"[[:alpha:]]+ report", "(?=.*urgent)asap",
		"not (really|very) happy", "\\p{L}+ delayed",
		"\\b[cç]ok k[oö]t[uü]\\b", "[sş]ik[aâ]yet", "don['’]t",
		"[.!?] [Kk]iss", "[ab][cd][ef]g",
		/* Literals after a bounded start: the window reaches back. */
		"(?:very |really )?happy day", "[ab]{2,3}x?\\d refund",
		"a?b?c?d?kiss", "\\w{1,4}şikayet", "(?:ab|cde){2}\\sfun",
		"\\w{1,10}kas",
		/* Read for spaced texts, and bounded by the longest word. */
		"ab\\s+cd", "ab\\s*cd", "ab\\s?c\\s?d", "a\\s{2}b",
		"\\.\\s+(kez|ay)\\b", "\\w+ly refund", "\\w+\\s+refund",
		"(\\w+\\s+){0,2}refund", "(\\S+\\s+){1,2}?kiss",
		"\\d+\\s*days late", "(?:very\\s+|\\w+ly\\s)+happy",
		"[a-z]+\\s\\w+ kiss", "\\w*\\s\\w{2,30}\\s(kiss|refund)",
	};
	static const char *const texts[] = {
		"I want a REFUND now", "Money Back!", "\xe2\x84\xaaISS me",
		"\xc5\xbftop it", "STOP", "Colorful", "colourful", "ÇOK KÖTÜ",
		"çok kötü", "şikayet", "ŞİKAYET", "Şikayet", "DEĞİŞİM", "ÜCRET",
		"لغو اشتراک", "never never again", "abbbcde", "x.com",
		"a/b c", "BROKEN Screen", "]yz abc", "Accident report",
		"asap, urgent", "not REALLY happy", "Parcel delayed",
		"COK KOTU", "Çok kötü", "ŞİKÂYET", "şikayet", "DON’T", "don't",
		"ok! \xe2\x84\xaaiss", "bdeg", "ACFG",
		"a really happy day", "very happy day", "xx bbb1 refund",
		"zz abcdKISS", "ab\xe2\x84\xaaiss", "abcd\xe2\x84\xaa\xc5\xbfs",
		"çok şikayet", "ÇÇÇÇŞİKAYET", "cdeab fun", "abab\tfun",
		"zzzzzzzzzz abcdefghijkas",
		"refund .................... refund ............ REFUND .. "
		"kiss ............. kiss ........ kiss ... kiss ...... kiss "
		"........ happy day ..................... really happy day",
		"nothing relevant here", "",
		"ab cd", "abcd", "ab  cd", "ab\tcd", "ab\ncd",
		"ab\xc2\xa0" "cd", "ab \xe2\x80\x83" "cd", "a c d", "abc d",
		"a  b", "1. kez", "ikinci. ay", "2.  ay", "3.\tkez",
		"4.\xe3\x80\x80" "ay", "probablyly refund",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxly refund",
		"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy zzzzzzzzzzzzzzzzzzzzzz refund",
		"a b c refund", "ppppppppppppppppppppp qqqqqqqqqqqqqqqqqq KISS",
		"\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85\xd8\xb3\xd9\x84\xd8\xa7"
		"\xd9\x85 \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85 kiss",
		"12345678901234567890 days late", "123  days late",
		"very happy", "truly\tvery happy",
		"reallyreallyreally very reallyreally happy",
		"abc\ndefghijklmnop kiss", "x\ty refund",
		"wwwwwwwwwwwwwwwwwwwww z", "word wordy wordier wordiest kiss",
		"wordy\xc2\x85" "wordiest kiss",
	};
	static const char *const xpats[] = {
		"re fund", "money\\ back | refund", "[ ]x y z",
		"\\b [cç] ok \\s k[oö]t[uü] \\b", "ab{1,3} cde",
		"never # a comment", "(?: really | very ) \\s happy",
	};
	static const char *const xtexts[] = {
		"REFUND", "money back", "re fund", " xyz", "x y z", "çok kötü",
		"ÇOK KÖTÜ", "abbbcde", "ab cde", "never", "really happy",
		"veryhappy", "very happy", "nothing", "",
	};
	size_t	rejected;

	rejected = check_sound(pats, sizeof(pats) / sizeof(pats[0]), texts,
	    sizeof(texts) / sizeof(texts[0]), 0);
	ck_assert_uint_gt(rejected, 700);
	rejected = check_sound(xpats, sizeof(xpats) / sizeof(xpats[0]), xtexts,
	    sizeof(xtexts) / sizeof(xtexts[0]), 1);
	ck_assert_uint_gt(rejected, 50);
}
END_TEST

/* A small random grammar over an alphabet rich in case traps. */
static unsigned long rng_state = 12345;

static unsigned
rnd(unsigned n)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)((rng_state >> 33) % n);
}

static void
gen_pattern(char *out, size_t outlen, int depth)
{
	static const char *const atoms[] = {
		"a", "b", "k", "K", "s", "S", "ç", "Ç", "ş", "\\.", ".",
		"[ab]", "\\b", "\\s", "\\w", " ", "ab", "ka", "sak", "bas",
		"[kK]", "[sş]", "[cç]", "[aâ]", "[a.]", "[ka ]",
	};
	static const char *const quants[] = { "", "", "", "?", "*", "+",
	    "{2}", "{0,1}", "{1,3}", "+?" };
	size_t	n = 0, i, parts = 1 + rnd(5);
	char	sub[256];

	out[0] = '\0';
	for (i = 0; i < parts; i++) {
		if (depth < 2 && rnd(5) == 0) {
			gen_pattern(sub, sizeof(sub), depth + 1);
			n += (size_t)snprintf(out + n, outlen - n, "(%s%s%s)",
			    rnd(3) == 0 ? "?:" : "", sub,
			    rnd(2) ? "" : "|sab");
		} else
			n += (size_t)snprintf(out + n, outlen - n, "%s",
			    atoms[rnd(sizeof(atoms) / sizeof(atoms[0]))]);
		if (n >= outlen)
			break;
		n += (size_t)snprintf(out + n, outlen - n, "%s",
		    quants[rnd(sizeof(quants) / sizeof(quants[0]))]);
		if (n >= outlen)
			break;
	}
	if (n < outlen && depth == 0 && rnd(4) == 0)
		snprintf(out + n, outlen - n, "|%s", "kas");
}

static void
gen_text(char *out, size_t outlen)
{
	static const char *const bits[] = {
		"a", "b", "k", "K", "s", "S", " ", ".", "ç", "Ç", "ş", "Ş",
		"\xe2\x84\xaa", "\xc5\xbf", "x", "â", "Â",
	};
	size_t	n = 0, i, len = rnd(14);

	out[0] = '\0';
	for (i = 0; i < len && n < outlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s",
		    bits[rnd(sizeof(bits) / sizeof(bits[0]))]);
}

START_TEST(test_sound_random)
{
	enum { N_PATS = 400, N_TEXTS = 150 };
	char		**pats, **texts;
	size_t		  i, n_ok = 0, rejected;

	pats = calloc(N_PATS, sizeof(*pats));
	texts = calloc(N_TEXTS, sizeof(*texts));
	for (i = 0; i < N_PATS; i++) {
		pats[i] = malloc(256);
		do
			gen_pattern(pats[i], 256, 0);
		while (pcre_matches(pats[i], "", 0) == -1);
	}
	for (i = 0; i < N_TEXTS; i++) {
		texts[i] = malloc(128);
		gen_text(texts[i], 128);
	}
	rejected = check_sound((const char *const *)pats, N_PATS,
	    (const char *const *)texts, N_TEXTS, 0);
	ck_assert_uint_gt(rejected, 1000);
	for (i = 0; i < N_PATS; i++) {
		struct jm_prefilter *pf = jm_prefilter_new();
		size_t id;

		if (jm_prefilter_add(pf, pats[i], strlen(pats[i]), 0, &id))
			n_ok++;
		jm_prefilter_free(pf);
		free(pats[i]);
	}
	for (i = 0; i < N_TEXTS; i++)
		free(texts[i]);
	free(pats);
	free(texts);
	ck_assert_uint_gt(n_ok, N_PATS / 10);
}
END_TEST

/*
 * Thousands of literals make an automaton whose deep states keep only
 * their own transitions: every set passes exactly when its literal is in
 * the text, as strstr() says, on texts made to hold many of them.
 */
START_TEST(test_large_automaton)
{
	enum { N_LITS = 8000, N_TEXTS = 60, TEXT_LEN = 600 };
	static char	 lits[N_LITS][20];
	char		 text[TEXT_LEN + 1];
	unsigned char	*pass;
	struct jm_prefilter *pf = jm_prefilter_new();
	unsigned int	 seed = 7;
	size_t		 i, j, k, id, len, hits = 0;

	ck_assert_ptr_nonnull(pf);
	for (i = 0; i < N_LITS; i++) {
		len = 8 + (size_t)(rand_r(&seed) % 9);
		/* Enough letters for more states than have rows. */
		for (j = 0; j < len; j++)
			lits[i][j] = (char)('a' + rand_r(&seed) % 20);
		lits[i][len] = '\0';
		ck_assert_int_eq(jm_prefilter_add(pf, lits[i], len, 0, &id), 1);
		ck_assert_uint_eq(id, i);
	}
	ck_assert_int_eq(jm_prefilter_compile(pf), 0);
	pass = malloc(jm_prefilter_nsets(pf) + 1);
	ck_assert_ptr_nonnull(pass);
	for (k = 0; k < N_TEXTS; k++) {
		for (j = 0; j < TEXT_LEN; j++)
			text[j] = (char)(rand_r(&seed) % 8 == 0 ? ' ' :
			    'a' + rand_r(&seed) % 20);
		/* Some literals whole, so that deep states are reached. */
		for (j = 0; j < 20; j++) {
			i = (size_t)rand_r(&seed) % N_LITS;
			len = strlen(lits[i]);
			memcpy(text + (size_t)rand_r(&seed) % (TEXT_LEN - len),
			    lits[i], len);
		}
		text[TEXT_LEN] = '\0';
		jm_prefilter_scan(pf, text, TEXT_LEN, pass);
		for (i = 0; i < N_LITS; i++) {
			int	in = strstr(text, lits[i]) != NULL;

			ck_assert_msg(pass[i] == in, "text %zu, \"%s\": %d, "
			    "strstr %d", k, lits[i], pass[i], in);
			hits += (size_t)in;
		}
	}
	ck_assert_uint_gt(hits, N_TEXTS * 10);
	free(pass);
	jm_prefilter_free(pf);
}
END_TEST

static size_t
utf8_put(unsigned cp, unsigned char *b)
{
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 63));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 63));
		b[2] = (unsigned char)(0x80 | (cp & 63));
		return 3;
	}
	b[0] = (unsigned char)(0xf0 | cp >> 18);
	b[1] = (unsigned char)(0x80 | ((cp >> 12) & 63));
	b[2] = (unsigned char)(0x80 | ((cp >> 6) & 63));
	b[3] = (unsigned char)(0x80 | (cp & 63));
	return 4;
}

/* Every code point PCRE2 matches caselessly to CP, in a string. */
static void
partners(unsigned cp, char *out, size_t outlen)
{
	pcre2_code		*re;
	pcre2_match_data	*md;
	unsigned char		 pat[4], b[4];
	unsigned		 c;
	size_t			 n, used = 0;
	int			 err;
	PCRE2_SIZE		 off;

	n = utf8_put(cp, pat);
	re = pcre2_compile(pat, n, PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS,
	    &err, &off, NULL);
	ck_assert_ptr_nonnull(re);
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	md = pcre2_match_data_create(1, NULL);
	out[0] = '\0';
	for (c = 0; c < 0x110000; c++) {
		if (c == cp || (c >= 0xd800 && c < 0xe000))
			continue;
		n = utf8_put(c, b);
		if (pcre2_match(re, b, n, 0, 0, md, NULL) >= 0 &&
		    used < outlen)
			used += (size_t)snprintf(out + used, outlen - used,
			    "%sU+%04X", used > 0 ? " " : "", c);
	}
	pcre2_match_data_free(md);
	pcre2_code_free(re);
}

/*
 * The folding facts prefilter.c rests on, asked of the linked PCRE2: an
 * ASCII letter's only non-ASCII partners are KELVIN SIGN and LONG S, each
 * Turkish letter kept in literals has exactly its other case, and Arabic
 * letters and typographic punctuation have none.
 */
START_TEST(test_fold_facts)
{
	static const struct {
		unsigned	 cp;
		const char	*want;
	} facts[] = {
		{ 'a', "U+0041" }, { 'i', "U+0049" }, { 'k', "U+004B U+212A" },
		{ 's', "U+0053 U+017F" }, { 'z', "U+005A" },
		{ 0xe7, "U+00C7" }, { 0xf6, "U+00D6" }, { 0xfc, "U+00DC" },
		{ 0x11f, "U+011E" }, { 0x15f, "U+015E" },
		{ 0xc7, "U+00E7" }, { 0x15e, "U+015F" },
		{ 0xe2, "U+00C2" }, { 0xee, "U+00CE" }, { 0xfb, "U+00DB" },
		{ 0xc2, "U+00E2" }, { 0xce, "U+00EE" }, { 0xdb, "U+00FB" },
		{ 0x2019, "" }, { 0x2013, "" },
		{ 0x627, "" }, { 0x6a9, "" }, { 0x6cc, "" }, { 0xfefb, "" },
	};
	char	got[256];
	size_t	i;
	unsigned c;

	for (i = 0; i < sizeof(facts) / sizeof(facts[0]); i++) {
		partners(facts[i].cp, got, sizeof(got));
		ck_assert_msg(strcmp(got, facts[i].want) == 0,
		    "U+%04X: PCRE2 says \"%s\", prefilter assumes \"%s\"",
		    facts[i].cp, got, facts[i].want);
	}
	/* Every other ASCII letter: its other case only. */
	for (c = 'a'; c <= 'z'; c++) {
		char want[16];

		if (c == 'k' || c == 's')
			continue;
		partners(c, got, sizeof(got));
		snprintf(want, sizeof(want), "U+%04X", c - 'a' + 'A');
		ck_assert_msg(strcmp(got, want) == 0, "%c: %s", c, got);
	}
}
END_TEST

/*
 * The white space a spaced text may not hold, asked of the linked PCRE2:
 * wherever \s matches a character other than U+0020, a pattern read for
 * spaced texts must pass the text, which is not spaced.
 */
START_TEST(test_space_facts)
{
	struct jm_prefilter	*pf = jm_prefilter_new();
	pcre2_code		*re;
	pcre2_match_data	*md;
	unsigned char		 text[16], ch[4], pass[2];
	size_t			 id, n, spaces = 0;
	unsigned		 cp;
	int			 err;
	PCRE2_SIZE		 off;

	ck_assert_int_eq(jm_prefilter_add(pf, "ab\\s+cd", 7, 0, &id), 1);
	ck_assert_int_eq(jm_prefilter_compile(pf), 0);
	re = pcre2_compile((PCRE2_SPTR)"^\\s$", 4, PCRE2_UTF | PCRE2_UCP,
	    &err, &off, NULL);
	ck_assert_ptr_nonnull(re);
	md = pcre2_match_data_create(1, NULL);
	for (cp = 1; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = utf8_put(cp, ch);
		if (pcre2_match(re, ch, n, 0, 0, md, NULL) < 0)
			continue;
		spaces++;
		memcpy(text, "ab", 2);
		memcpy(text + 2, ch, n);
		memcpy(text + 2 + n, "cd", 2);
		jm_prefilter_scan(pf, (const char *)text, n + 4, pass);
		ck_assert_msg(pass[id], "U+%04X is \\s to PCRE2 but was "
		    "filtered out", cp);
		/* And next to a space. */
		memcpy(text + 2, " ", 1);
		memcpy(text + 3, ch, n);
		memcpy(text + 3 + n, "cd", 2);
		jm_prefilter_scan(pf, (const char *)text, n + 5, pass);
		ck_assert_msg(pass[id], "\" U+%04X\" was filtered out", cp);
	}
	/* Tab to CR, space, NBSP and the Unicode separators at least. */
	ck_assert_uint_ge(spaces, 20);
	jm_prefilter_scan(pf, "ab cd", 5, pass);
	ck_assert_int_eq(pass[id], 1);
	jm_prefilter_scan(pf, "ab-cd", 5, pass);
	ck_assert_int_eq(pass[id], 0);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	jm_prefilter_free(pf);
}
END_TEST

/* Past its size cap the automaton is dropped and everything passes. */
START_TEST(test_cap)
{
	struct jm_prefilter	*pf = jm_prefilter_new();
	char			 pat[40];
	unsigned char		 pass[4000];
	size_t			 i, j, id;

	for (i = 0; i < 4000; i++) {
		for (j = 0; j < 30; j++)
			pat[j] = (char)('!' + rnd(90));
		for (j = 0; j < 30; j++)
			if (strchr("\\^$.[]|()?*+{}/#", pat[j]) != NULL ||
			    (pat[j] >= 'A' && pat[j] <= 'Z'))
				pat[j] = 'q';
		pat[30] = '\0';
		ck_assert_int_eq(jm_prefilter_add(pf, pat, 30, 0, &id), 1);
	}
	ck_assert_int_eq(jm_prefilter_compile(pf), 0);
	ck_assert_uint_eq(jm_prefilter_nsets(pf), 4000);
	jm_prefilter_scan(pf, "nothing", 7, pass);
	for (i = 0; i < 4000; i++)
		ck_assert_int_eq(pass[i], 1);
	jm_prefilter_free(pf);
}
END_TEST

/* No sets, empty text, a literal at the very end: all well-behaved. */
START_TEST(test_edges)
{
	struct jm_prefilter	*pf = jm_prefilter_new();
	unsigned char		 pass[3];
	size_t			 a, b;

	ck_assert_int_eq(jm_prefilter_compile(pf), 0);
	jm_prefilter_scan(pf, "text", 4, pass);
	ck_assert_int_eq(jm_prefilter_add(pf, "abc", 3, 0, &a), 1);
	ck_assert_int_eq(jm_prefilter_add(pf, "xbcd|abc", 8, 0, &b), 1);
	ck_assert_int_eq(jm_prefilter_compile(pf), 0);
	jm_prefilter_scan(pf, "", 0, pass);
	ck_assert_int_eq(pass[a] + pass[b], 0);
	jm_prefilter_scan(pf, "zzABC", 5, pass);
	ck_assert_int_eq(pass[a], 1);
	ck_assert_int_eq(pass[b], 1);
	jm_prefilter_scan(pf, "XBCD", 4, pass);
	ck_assert_int_eq(pass[a], 0);
	ck_assert_int_eq(pass[b], 1);
	jm_prefilter_scan(pf, "ab\xc3", 3, pass);	/* cut UTF-8 */
	ck_assert_int_eq(pass[a] + pass[b], 0);
	jm_prefilter_free(pf);
	jm_prefilter_free(NULL);
}
END_TEST

/* Top-level branches, and the patterns that must stay whole. */
static const struct branch_case {
	const char	*pattern;
	int		 extended;
	const char	*want;		/* branches joined by ",", "" for none */
} branch_cases[] = {
	{ "refund", 0, "refund" },
	{ "a|b|c", 0, "a,b,c" },
	{ "(a|b)|c", 0, "(a|b),c" },
	{ "[|]x|y", 0, "[|]x,y" },
	{ "\\|x|y", 0, "\\|x,y" },
	{ "a|", 0, "a," },
	{ "(?:a|b)c|(?<n>d|e)|(?=f|g)h|(?#x|y)i", 0,
	    "(?:a|b)c,(?<n>d|e),(?=f|g)h,(?#x|y)i" },
	{ " a | b ", 1, " a , b " },
	{ "(a)\\1|b", 0, "" },			/* a back reference */
	{ "(?<n>a)\\k<n>|b", 0, "" },
	{ "\\Qa|b\\E", 0, "" },
	{ "(?i)a|b", 0, "" },			/* an option for what follows */
	{ "(?i:a)|b", 0, "" },
	{ "(a)|(?(1)b|c)", 0, "" },		/* a conditional */
	{ "(a)|(?1)", 0, "" },			/* a call */
	{ "(*UCP)a|b", 0, "" },
	{ "a # c|d", 1, "" },			/* a comment */
	{ "(a|b", 0, "" },
	{ "a)|b", 0, "" },
};

START_TEST(test_branches)
{
	const struct branch_case *c = &branch_cases[_i];
	size_t	starts[8], ends[8], n, i, used = 0;
	char	got[256];

	n = jm_prefilter_branches(c->pattern, strlen(c->pattern), c->extended,
	    starts, ends, 8);
	got[0] = '\0';
	for (i = 0; i < n; i++)
		used += (size_t)snprintf(got + used, sizeof(got) - used,
		    "%s%.*s", i > 0 ? "," : "", (int)(ends[i] - starts[i]),
		    c->pattern + starts[i]);
	ck_assert_msg(strcmp(got, c->want) == 0, "/%s/: got \"%s\", want "
	    "\"%s\"", c->pattern, got, c->want);
	/* More branches than room: whole. */
	if (n > 1)
		ck_assert_uint_eq(jm_prefilter_branches(c->pattern,
		    strlen(c->pattern), c->extended, starts, ends, n - 1), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("prefilter");
	TCase	*tc = tcase_create("prefilter");
	SRunner	*sr;
	int	 failed;

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_extract, 0,
	    sizeof(extract_cases) / sizeof(extract_cases[0]));
	tcase_add_test(tc, test_sound_table);
	tcase_add_test(tc, test_sound_random);
	tcase_add_test(tc, test_large_automaton);
	tcase_add_test(tc, test_fold_facts);
	tcase_add_test(tc, test_space_facts);
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_edges);
	tcase_add_loop_test(tc, test_branches, 0,
	    sizeof(branch_cases) / sizeof(branch_cases[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
