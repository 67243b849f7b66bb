/*
 * text.c: what the rules read, made from what the customer wrote.
 *
 * A rule about "cancel my subscription" must not fire on the company's own
 * newsletter quoted under a "thank you", and a Persian rule written with
 * Persian yeh must match a customer typing on an Arabic keyboard.  So this
 * module removes quoted history and signatures, turns HTML into lines of
 * text, and folds the spellings that readers of Turkish and Persian treat
 * as one.
 *
 * Deliberately not here: MIME, transfer encodings and charsets (message.c
 * hands us UTF-8), case folding (PCRE2 matches caselessly with UCP), and
 * any guessing inside a line: history is cut only at a line that is an
 * attribution or a separator, never in the middle of a sentence.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "journey/buf.h"
#include "journey/text.h"

#define REPLACEMENT	0xfffdL
#define WORK_MAX	((size_t)1 << 30)	/* scratch buffers */
#define FOLD_MAX	1024		/* longest line looked at as a marker */
#define HEADER_LOOKAHEAD 6		/* lines of an Outlook header block */
#define SIG_TAIL_LINES	3		/* lines a mobile signature may end */
#define HTML_BLANKS_MAX	2		/* newlines in a row from HTML */

/*
 * UTF-8.
 */

/*
 * Decodes the character at S (N > 0 bytes available).  Returns its code
 * point, or -1 for an invalid sequence; *ADV is set to the bytes used,
 * which for an invalid sequence is its maximal subpart (Unicode 15, 3.9),
 * so one bad sequence becomes one U+FFFD.
 */
static long
utf8_next(const unsigned char *s, size_t n, size_t *adv)
{
	unsigned char	 c = s[0], lo = 0x80, hi = 0xbf;
	unsigned long	 cp;
	size_t		 need, i;

	*adv = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;	/* nothing past U+10FFFF */
	} else
		return -1;
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*adv = i;
			return -1;
		}
		cp = (cp << 6) | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*adv = need + 1;
	return (long)cp;
}

static size_t
utf8_encode(long cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Appends one whole character or nothing: a buffer at its maximum must not
 * end in half a character.
 */
static int
put_cp(struct jm_buf *out, long cp)
{
	char	 u[4];
	size_t	 n;

	n = utf8_encode(cp, u);
	if (out->max - out->len < n) {
		out->truncated = 1;
		return 0;
	}
	return jm_buf_append(out, u, n);
}

/*
 * Appends N bytes at S, which are whole valid characters.  Past OUT's
 * maximum it appends what put_cp() would one character at a time: each
 * that still fits, so a smaller one may follow a larger one left out.
 */
static int
put_run(struct jm_buf *out, const unsigned char *s, size_t n)
{
	size_t	 i, adv;

	if (n <= out->max - out->len)
		return jm_buf_append(out, s, n);
	for (i = 0; i < n; i += adv) {
		utf8_next(s + i, n - i, &adv);
		if (out->max - out->len < adv) {
			out->truncated = 1;
			continue;
		}
		if (jm_buf_append(out, s + i, adv) == -1)
			return -1;
	}
	return 0;
}

/*
 * Whether the eight bytes at P are all ASCII, and, with NUL_CR, none of
 * them NUL or CR: most of a text is, and one test of a word then does for
 * eight of a byte.  (x - 0x01..) & ~x & 0x80.. is non-zero exactly when
 * some byte of x is zero.
 */
#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

static int
ascii8(const unsigned char *p, int nul_cr)
{
	uint64_t	v, cr;

	memcpy(&v, p, sizeof(v));
	if ((v & HIGHS) != 0)
		return 0;
	if (!nul_cr)
		return 1;
	cr = v ^ (ONES * '\r');
	return (((v - ONES) & ~v) | ((cr - ONES) & ~cr)) & HIGHS ? 0 : 1;
}

/* A valid character of two bytes at P (Latin letters, Arabic script). */
static inline int
two_bytes(const unsigned char *p, size_t n)
{
	return n >= 2 && p[0] >= 0xc2 && p[0] <= 0xdf && (p[1] & 0xc0) == 0x80;
}

int
jm_text_valid_utf8(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, adv;

	for (i = 0; i < len; i += adv) {
		if (len - i >= 8 && ascii8(p + i, 0)) {
			adv = 8;
			continue;
		}
		if (two_bytes(p + i, len - i)) {
			adv = 2;
			continue;
		}
		if (utf8_next(p + i, len - i, &adv) < 0)
			return 0;
	}
	return 1;
}

int
jm_text_sanitize(const char *in, size_t len, struct jm_buf *out)
{
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 i, j, adv;
	long			 cp;

	for (i = 0; i < len; i += adv) {
		/*
		 * Runs of what stays as it is (ASCII but NUL and CR, and
		 * valid sequences) go in one piece.
		 */
		for (j = i; j < len; j += adv) {
			if (len - j >= 8 && ascii8(p + j, 1)) {
				adv = 8;
				continue;
			}
			if (p[j] < 0x80) {
				if (p[j] == '\0' || p[j] == '\r')
					break;
				adv = 1;
			} else if (two_bytes(p + j, len - j))
				adv = 2;
			else if (utf8_next(p + j, len - j, &adv) < 0)
				break;
		}
		if (j > i) {
			if (put_run(out, p + i, j - i) == -1)
				return -1;
			adv = j - i;
			continue;
		}
		cp = utf8_next(p + i, len - i, &adv);
		if (cp == '\r') {
			/* CR LF and a lone CR end a line as LF does. */
			if (i + 1 < len && p[i + 1] == '\n')
				continue;
			cp = '\n';
		} else if (cp <= 0)
			cp = REPLACEMENT;
		if (put_cp(out, cp) == -1)
			return -1;
	}
	return 0;
}

size_t
jm_text_cut(const char *s, size_t len, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 lead, adv;

	if (len <= max)
		return len;
	/* s[max] starts the first character left out, unless inside one. */
	lead = max;
	while (lead > 0 && max - lead < 3 && (p[lead] & 0xc0) == 0x80)
		lead--;
	if (lead == max || (p[lead] & 0xc0) == 0x80)
		return max;
	utf8_next(p + lead, len - lead, &adv);
	/* A sequence that ends before s[max] leaves s[max] a stray byte. */
	return lead + adv <= max ? max : lead;
}

/*
 * Normalisation.
 */

static int
is_space(long cp)
{
	if (cp == ' ' || (cp >= '\t' && cp <= '\r'))
		return 1;
	return cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
	    (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* The character CP stands for when matching, or -1 when it is dropped. */
static long
norm_map(long cp)
{
	if (cp < 0x80)
		return cp == 0 ? REPLACEMENT : cp;
	switch (cp) {
	case 0x0130:		/* LATIN CAPITAL LETTER I WITH DOT ABOVE */
	case 0x0131:		/* LATIN SMALL LETTER DOTLESS I */
		return 'i';
	case 0x0649:		/* ARABIC LETTER ALEF MAKSURA */
	case 0x064a:		/* ARABIC LETTER YEH */
		return 0x06cc;	/* ARABIC LETTER FARSI YEH */
	case 0x0643:		/* ARABIC LETTER KAF */
		return 0x06a9;	/* ARABIC LETTER KEHEH */
	case 0x00ad:		/* SOFT HYPHEN */
	case 0x0307:		/* COMBINING DOT ABOVE */
	case 0x0640:		/* ARABIC TATWEEL */
	case 0x0670:		/* ARABIC LETTER SUPERSCRIPT ALEF */
	case 0x200c:		/* ZERO WIDTH NON-JOINER */
	case 0x200d:		/* ZERO WIDTH JOINER */
	case 0x200e:		/* LEFT-TO-RIGHT MARK */
	case 0x200f:		/* RIGHT-TO-LEFT MARK */
	case 0xfeff:		/* BYTE ORDER MARK */
		return -1;
	}
	if (cp >= 0x064b && cp <= 0x065f)	/* harakat, shadda, sukun... */
		return -1;
	if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return -1;			/* bidi embeddings, isolates */
	if (cp >= 0x0660 && cp <= 0x0669)
		return '0' + (cp - 0x0660);
	if (cp >= 0x06f0 && cp <= 0x06f9)
		return '0' + (cp - 0x06f0);
	return cp;
}

/*
 * Whether the character at S (N > 0 bytes) stands for itself under
 * FLAGS, so that it can be copied as it is; *ADV is set to its length.
 */
static int
verbatim(const unsigned char *s, size_t n, unsigned flags, size_t *adv)
{
	long	 cp;

	if (s[0] < 0x80) {
		*adv = 1;
		cp = s[0];
	} else {
		cp = utf8_next(s, n, adv);
		if (cp < 0 || norm_map(cp) != cp)
			return 0;
	}
	if (cp == 0)
		return 0;
	return !(flags & JM_NORM_SPACE) || !is_space(cp);
}

int
jm_text_normalize(const char *in, size_t len, unsigned flags,
    struct jm_buf *out)
{
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 i, j, adv, next;
	long			 cp;
	int			 started = 0, pending = 0;

	for (i = 0; i < len; i += adv) {
		/*
		 * Characters that stand for themselves, and single spaces
		 * between them, go out in one piece: most of a message is
		 * such runs.
		 */
		for (j = i; j < len; j += adv) {
			if (p[j] > 0x20 && p[j] < 0x7f) {
				adv = 1;
				continue;
			}
			if (verbatim(p + j, len - j, flags, &adv))
				continue;
			if (p[j] != ' ' || j == i || j + 1 == len ||
			    !verbatim(p + j + 1, len - j - 1, flags, &next))
				break;
			adv = 1;
		}
		if (j > i) {
			if (pending) {
				if (put_cp(out, ' ') == -1)
					return -1;
				pending = 0;
			}
			if (put_run(out, p + i, j - i) == -1)
				return -1;
			started = 1;
			adv = j - i;
			continue;
		}
		cp = utf8_next(p + i, len - i, &adv);
		if (cp < 0)
			cp = REPLACEMENT;
		cp = norm_map(cp);
		if (cp < 0)
			continue;
		if ((flags & JM_NORM_SPACE) && is_space(cp)) {
			pending = started;
			continue;
		}
		if (pending) {
			if (put_cp(out, ' ') == -1)
				return -1;
			pending = 0;
		}
		if (put_cp(out, cp) == -1)
			return -1;
		started = 1;
	}
	return 0;
}

/*
 * Quoted history and signatures.
 *
 * Each line is looked at in a folded form (normalised, white space
 * collapsed, ASCII and Turkish capitals lowered, typographic apostrophes
 * made plain), so one spelling of a marker covers "-----ORIGINAL
 * MESSAGE-----", "Özgün İleti", and Persian typed with Arabic letters.
 */

struct line {
	const char	*s;
	size_t		 n;		/* without the line ending */
};

/*
 * The tables are in folded form: lower case, "ı" and "İ" written "i",
 * Persian yeh and keheh, no zero-width non-joiner.
 */

/* Lines that open a history block on their own. */
static const char *const separators[] = {
	"original message", "özgün ileti", "orijinal mesaj", "orjinal mesaj",
	"orijinal ileti", "پیام اصلی", "forwarded message", "iletilen ileti",
	"iletilmiş ileti", "yönlendirilen ileti", "yönlendirilmiş ileti",
	"پیام هدایتشده", "پیام هدایت شده", "پیام بازارسال شده",
	"پیام ارسال شده", "پیام فوروارد شده", NULL
};

static const char *const forward_lines[] = {
	"begin forwarded message:", "forwarded message:",
	"iletilen ileti başlangici:", "yönlendirilen ileti başlangici:",
	"شروع پیام هدایتشده:", "آغاز پیام هدایتشده:", NULL
};

/* Labels of an Outlook-style header block, in the three languages. */
static const char *const from_labels[] = {
	"from:", "kimden:", "gönderen:", "از:", "فرستنده:", NULL
};
static const char *const date_labels[] = {
	"sent:", "date:", "gönderildi:", "gönderilme tarihi:", "tarih:",
	"ارسال شده:", "ارسال:", "تاریخ:", "زمان ارسال:", NULL
};
static const char *const to_labels[] = {
	"to:", "subject:", "cc:", "kime:", "konu:", "bilgi:", "alici:", "به:",
	"گیرنده:", "موضوع:", "رونوشت:", NULL
};

/* Mobile signatures: the whole line, or a prefix when marked with '*'. */
static const char *const mobile_sigs[] = {
	"sent from my *", "sent from yahoo mail*", "sent from outlook*",
	"sent from mail for windows*", "sent from aol mobile mail*",
	"get outlook for ios*", "get outlook for android*",
	"iphone'umdan gönderildi*", "ipad'imden gönderildi*",
	"samsung cihazimdan gönderildi*", "android cihazimdan gönderildi*",
	"android için outlook'u edinin*", "ios için outlook'u edinin*",
	"yahoo mail ile gönderildi*",
	"ارسال شده از iphone من*", "ارسال شده از ipad من*",
	"ارسال شده از تلفن همراه*", "ارسال شده از گوشی*",
	"ارسال شده از samsung*", "ارسال شده از دستگاه*", NULL
};

/* A mobile signature longer than this is a sentence, not a signature. */
#define MOBILE_SIG_MAX	80

/*
 * Folds LINE into F: what the marker tables above are written in.
 * Returns 0, 1 when the line is too long to be a marker, -1 (memory).
 */
static int
fold(const struct line *l, struct jm_buf *f)
{
	unsigned char	*p;
	size_t		 i;

	jm_buf_reset(f);
	if (l->n > FOLD_MAX)
		return 1;
	if (jm_text_normalize(l->s, l->n, JM_NORM_SPACE, f) == -1)
		return -1;
	if (f->len == 0)
		return 0;
	p = (unsigned char *)f->data;
	for (i = 0; i < f->len; i++) {
		if (p[i] >= 'A' && p[i] <= 'Z')
			p[i] = (unsigned char)(p[i] - 'A' + 'a');
		else if (p[i] == 0xc3 && i + 1 < f->len &&
		    (p[i + 1] == 0x96 || p[i + 1] == 0x9c || p[i + 1] == 0x87))
			p[i + 1] += 0x20;	/* Ö Ü Ç */
		else if ((p[i] == 0xc5 && i + 1 < f->len && p[i + 1] == 0x9e) ||
		    (p[i] == 0xc4 && i + 1 < f->len && p[i + 1] == 0x9e))
			p[i + 1] += 1;		/* Ş Ğ */
		else if (p[i] == 0xe2 && i + 2 < f->len && p[i + 1] == 0x80 &&
		    (p[i + 2] == 0x98 || p[i + 2] == 0x99)) {
			/* ‘ ’ to ': the string shrinks by two bytes. */
			p[i] = '\'';
			memmove(p + i + 1, p + i + 3, f->len - i - 3);
			f->len -= 2;
			p[f->len] = '\0';
		}
	}
	return 0;
}

static int
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t	 k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static int
in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* A label line: "from: ..." or "*from:* ..." as HTML bold comes out. */
static int
has_label(const char *s, const char *const *labels)
{
	if (*s == '*')
		s++;
	for (; *labels != NULL; labels++)
		if (has_prefix(s, *labels))
			return 1;
	return 0;
}

/* "-----Original Message-----" and its kin: dashes, a name, dashes. */
static int
is_separator(const char *f, size_t n)
{
	char	 inner[256];
	size_t	 a = 0, b = n;

	if (in_list(f, forward_lines))
		return 1;
	if (n < 4 || f[0] != '-' || f[1] != '-' || f[n - 1] != '-' ||
	    f[n - 2] != '-')
		return 0;
	while (a < b && (f[a] == '-' || f[a] == ' '))
		a++;
	while (b > a && (f[b - 1] == '-' || f[b - 1] == ' '))
		b--;
	if (b - a == 0 || b - a >= sizeof(inner))
		return 0;
	memcpy(inner, f + a, b - a);
	inner[b - a] = '\0';
	return in_list(inner, separators);
}

static int
is_underscores(const char *f, size_t n)
{
	size_t	 i;

	if (n < 10)
		return 0;
	for (i = 0; i < n; i++)
		if (f[i] != '_')
			return 0;
	return 1;
}

/* "10:00", the time every mail client puts in its attribution. */
static int
has_time(const char *f)
{
	for (; *f != '\0'; f++)
		if (f[0] >= '0' && f[0] <= '9' && f[1] == ':' &&
		    f[2] >= '0' && f[2] <= '9')
			return 1;
	return 0;
}

/*
 * An attribution ("On Mon, 3 Mar 2025, Ann <a@b> wrote:") in folded form.
 * STRONG: it carries a time or an address, so it cannot be a customer
 * telling us what somebody once wrote to them.
 */
static int
is_attribution(const char *f, size_t n, int *strong)
{
	int	 when = has_time(f) || strchr(f, '@') != NULL;

	*strong = 0;
	if (has_suffix(f, n, "wrote:")) {
		*strong = has_prefix(f, "on ") && when;
		return 1;
	}
	if (has_suffix(f, n, "yazdi:")) {
		*strong = when || strstr(f, "tarihinde") != NULL;
		return 1;
	}
	if (has_suffix(f, n, "نوشت:")) {
		*strong = when || has_prefix(f, "در تاریخ");
		return 1;
	}
	return 0;
}

static int
is_quoted(const struct line *l)
{
	size_t	 i = 0;

	while (i < l->n && (l->s[i] == ' ' || l->s[i] == '\t'))
		i++;
	return i < l->n && l->s[i] == '>';
}

static int
is_blank(const struct line *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (l->s[i] != ' ' && l->s[i] != '\t')
			return 0;
	return 1;
}

static int
is_sig_dashes(const struct line *l)
{
	return (l->n == 2 || l->n == 3) && memcmp(l->s, "--", 2) == 0 &&
	    (l->n == 2 || l->s[2] == ' ');
}

static int
is_mobile_sig(const char *f, size_t n)
{
	const char *const *p;
	size_t		 k;

	if (n > MOBILE_SIG_MAX)
		return 0;
	for (p = mobile_sigs; *p != NULL; p++) {
		k = strlen(*p) - 1;	/* without the '*' */
		if (n >= k && memcmp(f, *p, k) == 0)
			return 1;
	}
	return 0;
}

static size_t
next_nonblank(const struct line *lines, size_t nlines, size_t i)
{
	while (i < nlines && is_blank(&lines[i]))
		i++;
	return i;
}

/*
 * Whether lines from I on are an Outlook header block: a From label, then
 * within a few lines a date label and a To or Subject label.
 */
static int
header_block(const struct line *lines, size_t nlines, size_t i,
    struct jm_buf *f)
{
	size_t	 j, end;
	int	 date = 0, to = 0, rc;

	end = i + 1 + HEADER_LOOKAHEAD;
	for (j = i + 1; j < nlines && j < end; j++) {
		rc = fold(&lines[j], f);
		if (rc == -1)
			return -1;
		if (rc == 1 || f->len == 0)
			continue;
		if (has_label(f->data, date_labels))
			date = 1;
		else if (has_label(f->data, to_labels))
			to = 1;
	}
	return date && to;
}

/*
 * An attribution line followed by quoted lines and then text of the
 * writer's own is a bottom-posted or inline reply: only the attribution
 * goes, and the quoted lines go as any quoted line does.
 */
static int
inline_reply(const struct line *lines, size_t nlines, size_t i)
{
	size_t	 j;
	int	 quoted = 0;

	for (j = i + 1; j < nlines; j++) {
		if (is_blank(&lines[j]))
			continue;
		if (is_quoted(&lines[j])) {
			quoted = 1;
			continue;
		}
		return quoted;
	}
	return 0;
}

enum mark {
	MARK_NONE,
	MARK_CUT,		/* history starts at this line */
	MARK_DROP,		/* drop this line only */
	MARK_DROP2		/* drop this line and the next */
};

/*
 * What line I is, and F left holding it folded (empty when too long):
 * mark_lines() reads it there.  -1 on memory.
 */
static int
classify_line(const struct line *lines, size_t nlines, size_t i,
    struct jm_buf *f, struct jm_buf *f2)
{
	struct line	 two;
	size_t		 j;
	int		 rc, strong;

	rc = fold(&lines[i], f);
	if (rc != 0)
		return rc == 1 ? MARK_NONE : -1;
	if (f->len == 0)
		return MARK_NONE;
	if (is_separator(f->data, f->len))
		return MARK_CUT;
	if (is_underscores(f->data, f->len)) {
		j = next_nonblank(lines, nlines, i + 1);
		if (j < nlines && j <= i + 3) {
			if (fold(&lines[j], f2) == -1)
				return -1;
			if (f2->len > 0 && has_label(f2->data, from_labels))
				return MARK_CUT;
		}
		return MARK_NONE;
	}
	if (has_label(f->data, from_labels)) {
		rc = header_block(lines, nlines, i, f2);
		if (rc != 0)
			return rc == 1 ? MARK_CUT : -1;
		return MARK_NONE;
	}
	if (is_attribution(f->data, f->len, &strong)) {
		if (inline_reply(lines, nlines, i))
			return MARK_DROP;
		j = next_nonblank(lines, nlines, i + 1);
		if (strong || (j < nlines && is_quoted(&lines[j])))
			return MARK_CUT;
		return MARK_NONE;
	}
	/* "On Mon, 3 Mar 2025 at 10:00, Ann <ann@" / "example.com> wrote:" */
	if (i + 1 < nlines && !is_blank(&lines[i + 1]) &&
	    (has_prefix(f->data, "on ") || strstr(f->data, "tarihinde") ||
	    has_prefix(f->data, "در تاریخ"))) {
		two.s = lines[i].s;
		two.n = (size_t)(lines[i + 1].s + lines[i + 1].n - lines[i].s);
		rc = fold(&two, f2);
		if (rc == -1)
			return -1;
		if (rc == 0 && f2->len > 0 &&
		    is_attribution(f2->data, f2->len, &strong) && strong)
			return inline_reply(lines, nlines, i + 1) ? MARK_DROP2 :
			    MARK_CUT;
	}
	return MARK_NONE;
}

static int
split_lines(const char *in, size_t len, struct line **out, size_t *nout)
{
	struct line	*lines;
	size_t		 n = 1, i, k = 0;
	const char	*s, *nl;

	for (i = 0; i < len; i++)
		if (in[i] == '\n')
			n++;
	lines = calloc(n, sizeof(*lines));
	if (lines == NULL)
		return -1;
	s = in;
	while (k < n) {
		nl = memchr(s, '\n', len - (size_t)(s - in));
		lines[k].s = s;
		lines[k].n = nl != NULL ? (size_t)(nl - s) :
		    len - (size_t)(s - in);
		if (lines[k].n > 0 && s[lines[k].n - 1] == '\r')
			lines[k].n--;
		k++;
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	*out = lines;
	*nout = k;
	return 0;
}

/* What pass 1 of mark_lines() learnt about a line for pass 2. */
#define SIG_UNKNOWN	0		/* not folded */
#define SIG_NO		1
#define SIG_YES		2		/* a mobile signature line */

/* Marks the lines to keep in KEEP; -1 on memory. */
static int
mark_lines(const struct line *lines, size_t nlines, char *keep)
{
	struct jm_buf	 f, f2;
	size_t		 i, end = nlines, rest;
	char		*sig;
	int		 mark, rc = -1, yes;

	/*
	 * Folding is most of the work: each line folded for the history
	 * pass is tested as a mobile signature then, not folded again.
	 */
	sig = calloc(nlines, 1);
	if (sig == NULL)
		return -1;
	jm_buf_init(&f, FOLD_MAX * 4);
	jm_buf_init(&f2, FOLD_MAX * 8);
	for (i = 0; i < nlines; i++)
		keep[i] = 1;

	/* History: everything from the first attribution or separator. */
	for (i = 0; i < end; i++) {
		if (is_quoted(&lines[i])) {
			keep[i] = 0;
			continue;
		}
		/* F is left holding line I folded, or empty. */
		mark = classify_line(lines, nlines, i, &f, &f2);
		if (mark == -1)
			goto out;
		sig[i] = f.len > 0 && is_mobile_sig(f.data, f.len) ? SIG_YES :
		    SIG_NO;
		if (mark == MARK_CUT)
			end = i;
		else if (mark == MARK_DROP)
			keep[i] = 0;
		else if (mark == MARK_DROP2) {
			keep[i] = 0;
			if (i + 1 < end)
				keep[++i] = 0;
		}
	}

	/* The signature: a "-- " line and all after it. */
	for (i = 0; i < end; i++)
		if (keep[i] && is_sig_dashes(&lines[i])) {
			end = i;
			break;
		}

	/* Mobile signatures: the line, and what little follows at the end. */
	rest = 0;
	for (i = 0; i < end; i++)
		if (keep[i] && !is_blank(&lines[i]))
			rest++;
	for (i = 0; i < end; i++) {
		if (!keep[i] || is_blank(&lines[i]))
			continue;
		rest--;		/* now the lines with text after this one */
		if (sig[i] != SIG_UNKNOWN)
			yes = sig[i] == SIG_YES;
		else {
			if (fold(&lines[i], &f) == -1)
				goto out;
			yes = f.len > 0 && is_mobile_sig(f.data, f.len);
		}
		if (!yes)
			continue;
		if (rest <= SIG_TAIL_LINES) {
			end = i;
			break;
		}
		keep[i] = 0;
	}
	for (i = end; i < nlines; i++)
		keep[i] = 0;
	rc = 0;
out:
	free(sig);
	jm_buf_free(&f);
	jm_buf_free(&f2);
	return rc;
}

int
jm_text_strip_quotes(const char *in, size_t len, struct jm_buf *out)
{
	struct line	*lines;
	char		*keep;
	size_t		 nlines, i, first, last, mark;
	int		 any = 0;

	if (split_lines(in, len, &lines, &nlines) == -1)
		return -1;
	keep = malloc(nlines);
	if (keep == NULL || mark_lines(lines, nlines, keep) == -1) {
		free(keep);
		free(lines);
		return -1;
	}
	/* Leading and trailing blank lines, and runs of them, go. */
	first = nlines;
	last = 0;
	for (i = 0; i < nlines; i++)
		if (keep[i] && !is_blank(&lines[i])) {
			if (first == nlines)
				first = i;
			last = i;
		}
	mark = out->len;
	if (first < nlines) {
		for (i = first; i <= last; i++) {
			if (!keep[i])
				continue;
			if (is_blank(&lines[i]) && i > first &&
			    (!keep[i - 1] || is_blank(&lines[i - 1])))
				continue;
			if (any && jm_buf_append(out, "\n", 1) == -1)
				goto fail;
			if (jm_buf_append(out, lines[i].s, lines[i].n) == -1)
				goto fail;
			any = 1;
		}
	}
	if (!any) {
		/* All of it was history: better the history than nothing. */
		out->len = mark;
		if (out->data != NULL)
			out->data[mark] = '\0';
		if (jm_buf_append(out, in, len) == -1)
			goto fail;
	}
	free(keep);
	free(lines);
	return 0;
fail:
	free(keep);
	free(lines);
	return -1;
}

/*
 * HTML.
 */

struct html_out {
	struct jm_buf	*out;
	int		 bol;		/* at the beginning of a line */
	int		 space;		/* white space pending */
	int		 newlines;	/* newlines written in a row */
	int		 quote;		/* blockquote depth */
	int		 pre;		/* inside <pre> */
	int		 err;
};

static const char *const skipped_elements[] = {
	"script", "style", "head", "title", "template", "noscript", "svg",
	"object", NULL
};

static const char *const block_elements[] = {
	"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
	"blockquote", "ul", "ol", "table", "hr", "pre", "dd", "dt", "dl",
	"address", "article", "aside", "section", "header", "footer", "nav",
	"center", "form", "fieldset", "figure", "main", NULL
};

static int
name_in(const xmlChar *name, const char *const *list)
{
	for (; *list != NULL; list++)
		if (xmlStrcasecmp(name, (const xmlChar *)*list) == 0)
			return 1;
	return 0;
}

static void
html_put(struct html_out *h, const char *s, size_t n)
{
	if (h->err == 0 && jm_buf_append(h->out, s, n) == -1)
		h->err = -1;
}

static void
html_newline(struct html_out *h, int force)
{
	if (h->bol && !force)
		return;
	if (h->newlines >= HTML_BLANKS_MAX)
		return;
	html_put(h, "\n", 1);
	h->newlines++;
	h->bol = 1;
	h->space = 0;
}

static void
html_line_start(struct html_out *h)
{
	int	 i;

	if (!h->bol)
		return;
	for (i = 0; i < h->quote; i++)
		html_put(h, ">", 1);
	if (h->quote > 0)
		html_put(h, " ", 1);
	h->bol = 0;
}

static void
html_text(struct html_out *h, const char *s)
{
	size_t	 i, run;

	for (i = 0; s[i] != '\0'; i += run) {
		if (s[i] == '\n' && h->pre) {
			html_newline(h, 1);
			run = 1;
			continue;
		}
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r' || s[i] == '\f') {
			if (h->pre) {
				html_line_start(h);
				html_put(h, s + i, 1);
			} else
				h->space = 1;
			run = 1;
			continue;
		}
		run = strcspn(s + i, " \t\n\r\f");
		if (h->space && !h->bol)
			html_put(h, " ", 1);
		h->space = 0;
		html_line_start(h);
		html_put(h, s + i, run);
		h->newlines = 0;
	}
}

static void
html_enter(struct html_out *h, xmlNode *n)
{
	if (xmlStrcasecmp(n->name, (const xmlChar *)"br") == 0) {
		html_newline(h, 1);
		return;
	}
	if (name_in(n->name, block_elements))
		html_newline(h, 0);
	if (xmlStrcasecmp(n->name, (const xmlChar *)"blockquote") == 0)
		h->quote++;
	else if (xmlStrcasecmp(n->name, (const xmlChar *)"pre") == 0)
		h->pre++;
	else if (xmlStrcasecmp(n->name, (const xmlChar *)"td") == 0 ||
	    xmlStrcasecmp(n->name, (const xmlChar *)"th") == 0)
		h->space = 1;
}

static void
html_leave(struct html_out *h, xmlNode *n)
{
	if (name_in(n->name, block_elements))
		html_newline(h, 0);
	if (xmlStrcasecmp(n->name, (const xmlChar *)"blockquote") == 0 &&
	    h->quote > 0)
		h->quote--;
	else if (xmlStrcasecmp(n->name, (const xmlChar *)"pre") == 0 &&
	    h->pre > 0)
		h->pre--;
}

/* Walks the tree without recursion: the depth is the sender's to choose. */
static void
html_walk(struct html_out *h, xmlNode *root)
{
	xmlNode	*n = root;
	int	 descend;

	while (n != NULL && h->err == 0) {
		descend = 0;
		if (n->type == XML_ELEMENT_NODE) {
			if (!name_in(n->name, skipped_elements)) {
				html_enter(h, n);
				descend = n->children != NULL;
				if (!descend)
					html_leave(h, n);
			}
		} else if ((n->type == XML_TEXT_NODE ||
		    n->type == XML_CDATA_SECTION_NODE) && n->content != NULL)
			html_text(h, (const char *)n->content);
		if (descend) {
			n = n->children;
			continue;
		}
		while (n != NULL && n != root && n->next == NULL) {
			n = n->parent;
			if (n != NULL && n->type == XML_ELEMENT_NODE)
				html_leave(h, n);
		}
		if (n == NULL || n == root)
			break;
		n = n->next;
	}
}

int
jm_text_from_html(const char *html, size_t len, struct jm_buf *out)
{
	struct html_out	 h;
	struct jm_buf	 clean;
	htmlDocPtr	 doc;
	xmlNode		*root;
	size_t		 start;

	/*
	 * libxml2 switches to Latin-1 at the first invalid UTF-8 byte, so
	 * what it reads is made valid first; NULs would end its input early.
	 */
	jm_buf_init(&clean, WORK_MAX);
	if (jm_text_sanitize(html, len, &clean) == -1) {
		jm_buf_free(&clean);
		return -1;
	}
	if (clean.len == 0 || clean.len > INT_MAX) {
		jm_buf_free(&clean);
		return 0;
	}
	doc = htmlReadMemory(clean.data, (int)clean.len, NULL, "UTF-8",
	    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
	    HTML_PARSE_NONET);
	jm_buf_free(&clean);
	if (doc == NULL)
		return 0;
	memset(&h, 0, sizeof(h));
	h.out = out;
	h.bol = 1;
	h.newlines = HTML_BLANKS_MAX;	/* no blank lines at the start */
	start = out->len;
	root = xmlDocGetRootElement(doc);
	if (root != NULL)
		html_walk(&h, root);
	xmlFreeDoc(doc);
	if (h.err != 0)
		return -1;
	/* No trailing newlines. */
	while (out->len > start && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
	return 0;
}
