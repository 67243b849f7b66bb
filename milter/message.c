/*
 * message.c: one email, as the rules and the decision read it.
 *
 * GMime does the MIME: the tree of parts, transfer encodings, RFC 2047
 * words and addresses.  This module chooses which parts the customer
 * wrote (text/plain, or text/html when there is no plain alternative),
 * converts every charset to UTF-8, hands the text to text.c to lose its
 * quoted history and signature, and keeps the header block as it came so
 * that the RFC 3834 checks can read Auto-Submitted, Precedence and List-*.
 *
 * A message is hostile input.  Nothing here fails on a malformed message:
 * a broken part, a missing boundary or an unknown charset costs that part
 * at most, and the message is marked JM_MSG_MALFORMED.  Only running out
 * of memory is an error.
 *
 * Deliberately not here: attachments and attached messages (a forwarded
 * message is history, not what the customer wrote now), and any decision
 * about the message.  No GMime type leaves this file.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>
#include <libxml/parser.h>

#include "journey/buf.h"
#include "journey/message.h"
#include "journey/text.h"
#include "journey/util.h"

#define HEADERS_MAX	10000		/* headers kept */
#define HEADER_TEXT_MAX	(256 * 1024)	/* bytes of names and values kept */
#define WALK_DEPTH_MAX	32		/* MIME nesting we look into */
#define WORK_MAX	((size_t)1 << 30)	/* scratch buffers */

/* The charset that 8-bit text of no (or a wrong) label is read in. */
#define FALLBACK_CHARSET "windows-1252"

static pthread_mutex_t	 init_lock = PTHREAD_MUTEX_INITIALIZER;
static int		 initialized;

struct walk {
	struct jm_message *m;
	struct jm_buf	 text;		/* the customer's text, joined */
	size_t		 budget;	/* bytes of decoded text still read */
	int		 err;		/* memory ran out */
};

void
jm_message_init(void)
{
	pthread_mutex_lock(&init_lock);
	if (!initialized) {
		g_mime_init();
		xmlInitParser();
		initialized = 1;
	}
	pthread_mutex_unlock(&init_lock);
}

void
jm_message_shutdown(void)
{
	pthread_mutex_lock(&init_lock);
	if (initialized) {
		g_mime_shutdown();
		xmlCleanupParser();
		initialized = 0;
	}
	pthread_mutex_unlock(&init_lock);
}

/*
 * Headers.
 */

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* A field name: printable ASCII but the colon (RFC 5322, 3.6.8). */
static int
valid_name(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127 ||
		    s[i] == ':')
			return 0;
	return 1;
}

static int
add_header(struct jm_message *m, size_t *cap, const char *name, size_t nlen)
{
	struct jm_header *h;
	size_t		  ncap;

	if (m->n_headers == *cap) {
		ncap = *cap ? *cap * 2 : 32;
		h = reallocarray(m->headers, ncap, sizeof(*h));
		if (h == NULL)
			return -1;
		m->headers = h;
		*cap = ncap;
	}
	h = &m->headers[m->n_headers];
	h->name = strndup(name, nlen);
	h->value = NULL;
	if (h->name == NULL)
		return -1;
	m->n_headers++;
	return 0;
}

/* Sets the value of the last header from V, trimmed, NULs dropped. */
static int
finish_header(struct jm_message *m, struct jm_buf *v)
{
	char	*s;
	size_t	 a = 0, b = v->len, i, k = 0;

	if (m->n_headers == 0 || m->headers[m->n_headers - 1].value != NULL)
		return 0;
	s = malloc(b + 1);
	if (s == NULL)
		return -1;
	while (a < b && is_wsp(v->data[a]))
		a++;
	while (b > a && (is_wsp(v->data[b - 1]) || v->data[b - 1] == '\r'))
		b--;
	for (i = a; i < b; i++) {
		if (v->data[i] == '\0') {
			m->flags |= JM_MSG_MALFORMED;
			continue;
		}
		s[k++] = v->data[i];
	}
	s[k] = '\0';
	m->headers[m->n_headers - 1].value = s;
	jm_buf_reset(v);
	return 0;
}

/*
 * Reads the header block into m->headers, name and unfolded value each,
 * in order.  Returns the offset of the body in *BODY, and sets *STRAY
 * when a line that is not a header ended the block; 0 or -1 (memory).
 * A line that is neither a field nor a continuation ends the block: what
 * follows is body, as a mail client would show it.
 */
static int
read_headers(struct jm_message *m, const char *raw, size_t len, size_t *body,
    int *stray)
{
	struct jm_buf	 v;
	const char	*line, *nl, *colon;
	size_t		 pos = 0, n, cap = 0, total = 0, nlen;
	int		 keeping = 0;

	jm_buf_init(&v, HEADER_TEXT_MAX);
	*body = len;
	while (pos < len) {
		line = raw + pos;
		nl = memchr(line, '\n', len - pos);
		n = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += nl != NULL ? n + 1 : n;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0) {
			*body = pos;
			break;
		}
		if (is_wsp(line[0])) {
			if (!keeping)
				continue;
			if (n > HEADER_TEXT_MAX - total) {
				m->flags |= JM_MSG_TRUNCATED;
				n = HEADER_TEXT_MAX - total;
			}
			total += n;
			if (jm_buf_append(&v, line, n) == -1)
				goto fail;
			continue;
		}
		/* An mbox "From " line before the headers is not a header. */
		if (line == raw && n >= 5 && memcmp(line, "From ", 5) == 0)
			continue;
		colon = memchr(line, ':', n);
		nlen = colon != NULL ? (size_t)(colon - line) : 0;
		while (nlen > 0 && is_wsp(line[nlen - 1]))
			nlen--;		/* "Subject :" (RFC 5322, 4.5.3) */
		if (colon == NULL || !valid_name(line, nlen)) {
			m->flags |= JM_MSG_MALFORMED;
			*stray = 1;
			*body = (size_t)(line - raw);
			break;
		}
		if (finish_header(m, &v) == -1)
			goto fail;
		keeping = 0;
		if (m->n_headers >= HEADERS_MAX ||
		    nlen > HEADER_TEXT_MAX - total) {
			m->flags |= JM_MSG_TRUNCATED;
			continue;
		}
		total += nlen;
		if (add_header(m, &cap, line, nlen) == -1)
			goto fail;
		keeping = 1;
		n -= (size_t)(colon + 1 - line);
		if (n > HEADER_TEXT_MAX - total) {
			m->flags |= JM_MSG_TRUNCATED;
			n = HEADER_TEXT_MAX - total;
		}
		total += n;
		if (jm_buf_append(&v, colon + 1, n) == -1)
			goto fail;
	}
	if (finish_header(m, &v) == -1)
		goto fail;
	jm_buf_free(&v);
	return 0;
fail:
	jm_buf_free(&v);
	return -1;
}

const char *
jm_message_header(const struct jm_message *m, const char *name)
{
	size_t	 i;

	if (m == NULL || name == NULL)
		return NULL;
	for (i = 0; i < m->n_headers; i++)
		if (jm_strcaseeq(m->headers[i].name, name))
			return m->headers[i].value;
	return NULL;
}

/*
 * Charsets.
 */

/*
 * Converts IN from CHARSET to UTF-8 with iconv, through GMime's table of
 * charset names.  A byte the charset does not define becomes U+FFFD.
 * Returns 1 when the charset is unknown (nothing appended), 0, or -1.
 */
static int
iconv_to_utf8(const char *in, size_t len, const char *charset,
    struct jm_buf *out)
{
	char	 obuf[4096], *ip = (char *)(uintptr_t)in, *op;
	size_t	 ileft = len, oleft, r;
	iconv_t	 cd;
	int	 rc = 0;

	cd = g_mime_iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return 1;
	while (ileft > 0 && rc == 0) {
		op = obuf;
		oleft = sizeof(obuf);
		r = iconv(cd, &ip, &ileft, &op, &oleft);
		if (jm_buf_append(out, obuf, sizeof(obuf) - oleft) == -1) {
			rc = -1;
			break;
		}
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		/* EILSEQ: skip the byte; EINVAL: it ends mid-character. */
		if (jm_buf_append(out, "\xef\xbf\xbd", 3) == -1)
			rc = -1;
		if (errno != EILSEQ)
			break;
		ip++;
		ileft--;
	}
	/* Stateful charsets (ISO-2022-JP) may owe a final shift sequence. */
	op = obuf;
	oleft = sizeof(obuf);
	if (rc == 0 && iconv(cd, NULL, NULL, &op, &oleft) != (size_t)-1 &&
	    jm_buf_append(out, obuf, sizeof(obuf) - oleft) == -1)
		rc = -1;
	g_mime_iconv_close(cd);
	return rc;
}

/*
 * Appends IN, labelled CHARSET (or NULL), to OUT as UTF-8 without NULs,
 * line ends made LF.  Sets *UNKNOWN for a charset nobody knows.
 */
static int
to_utf8(const char *in, size_t len, const char *charset, struct jm_buf *out,
    int *unknown)
{
	struct jm_buf	 conv;
	const char	*canon;
	int		 rc;

	canon = charset != NULL ? g_mime_charset_canon_name(charset) : NULL;
	if (canon != NULL && g_ascii_strcasecmp(canon, "utf-8") == 0)
		return jm_text_sanitize(in, len, out);	/* keeps what is good */
	/*
	 * No label, or "us-ascii" on 8-bit text (a common lie): valid UTF-8
	 * is taken as it is, anything else is most likely Windows' Western
	 * charset.
	 */
	if (canon == NULL || g_ascii_strcasecmp(canon, "us-ascii") == 0) {
		if (jm_text_valid_utf8(in, len))
			return jm_text_sanitize(in, len, out);
		canon = charset = FALLBACK_CHARSET;
	} else if (g_ascii_strcasecmp(canon, "iso-8859-1") == 0)
		charset = "windows-1252";	/* a superset, as in browsers */
	else if (g_ascii_strcasecmp(canon, "iso-8859-9") == 0)
		charset = "windows-1254";

	jm_buf_init(&conv, WORK_MAX);
	/* GMime reads these as the locale's charset: not ours to guess. */
	if (g_ascii_strcasecmp(canon, "x-unknown") == 0 ||
	    g_ascii_strcasecmp(canon, "unknown-8bit") == 0 ||
	    g_ascii_strcasecmp(canon, "unknown") == 0)
		rc = 1;
	else
		rc = iconv_to_utf8(in, len, charset, &conv);
	if (rc == 1) {
		*unknown = 1;
		if (jm_text_valid_utf8(in, len))
			rc = jm_text_sanitize(in, len, out);
		else
			rc = iconv_to_utf8(in, len, FALLBACK_CHARSET, &conv);
	}
	if (rc == 0 && conv.len > 0)
		rc = jm_text_sanitize(conv.data, conv.len, out);
	jm_buf_free(&conv);
	return rc == 1 ? 0 : rc;
}

/* A header value decoded by GMime, made sure to be valid UTF-8. */
static char *
utf8_dup(const char *s)
{
	struct jm_buf	 b;
	int		 unknown = 0;

	jm_buf_init(&b, WORK_MAX);
	if (s != NULL && to_utf8(s, strlen(s), NULL, &b, &unknown) == -1) {
		jm_buf_free(&b);
		return NULL;
	}
	return jm_buf_steal(&b);
}

/*
 * An encoded word "=?CHARSET?B?PAYLOAD?=" at S: sets the charset's span
 * and the payload's, returns the word's length, or 0 when S is not one.
 */
static size_t
b_word(const char *s, const char **cs, size_t *cslen, const char **pl,
    size_t *pllen)
{
	size_t	 i = 2, j;

	if (s[0] != '=' || s[1] != '?')
		return 0;
	while (s[i] != '\0' && s[i] != '?' && !g_ascii_isspace(s[i]))
		i++;
	if (s[i] != '?' || i == 2 || (s[i + 1] != 'B' && s[i + 1] != 'b') ||
	    s[i + 2] != '?')
		return 0;
	*cs = s + 2;
	*cslen = i - 2;
	j = i + 3;
	while (g_ascii_isalnum(s[j]) || s[j] == '+' || s[j] == '/' ||
	    s[j] == '=')
		j++;
	if (s[j] != '?' || s[j + 1] != '=')
		return 0;
	*pl = s + i + 3;
	*pllen = j - (i + 3);
	return j + 2;
}

/*
 * Joins each run of adjacent base64 encoded words of one charset into a
 * single word.  GMime 3.2.13 drops every word after one that ends in "="
 * padding (GMime issue 133), and a writer may split a character across
 * two words; one word carrying the bytes of the run avoids both.  Caller
 * frees the result with g_free().
 */
static char *
join_b_words(const char *v)
{
	GString		*out, *bytes;
	const char	*cs, *cs2, *pl, *p;
	size_t		 n, n2, cslen, cslen2, pllen, words;
	char		*tmp, *b64;
	guchar		*raw;
	gsize		 rawlen;

	out = g_string_new(NULL);
	bytes = g_string_new(NULL);
	while (*v != '\0') {
		n = b_word(v, &cs, &cslen, &pl, &pllen);
		if (n == 0) {
			g_string_append_c(out, *v++);
			continue;
		}
		g_string_truncate(bytes, 0);
		words = 0;
		p = v;
		for (;;) {
			tmp = g_strndup(pl, pllen);
			raw = g_base64_decode(tmp, &rawlen);
			g_string_append_len(bytes, (const char *)raw,
			    (gssize)rawlen);
			g_free(raw);
			g_free(tmp);
			words++;
			p += n;
			/* The white space between two words is not text. */
			n2 = 0;
			while (g_ascii_isspace(p[n2]))
				n2++;
			n = b_word(p + n2, &cs2, &cslen2, &pl, &pllen);
			if (n == 0 || cslen2 != cslen ||
			    g_ascii_strncasecmp(cs, cs2, cslen) != 0)
				break;
			p += n2;
		}
		if (words == 1)
			g_string_append_len(out, v, p - v);
		else {
			b64 = g_base64_encode((const guchar *)bytes->str,
			    bytes->len);
			g_string_append(out, "=?");
			g_string_append_len(out, cs, (gssize)cslen);
			g_string_append(out, "?B?");
			g_string_append(out, b64);
			g_string_append(out, "?=");
			g_free(b64);
		}
		v = p;
	}
	g_string_free(bytes, TRUE);
	return g_string_free(out, FALSE);
}

/*
 * Parts.
 */

/*
 * The encoded bytes of a part, as they sit in the array of the memory
 * stream the parser cut them from (a substream shares its parent's
 * array): read in place, they need no stream, filter or copy per part.
 * Returns 0, or -1 when the content is not in such a stream.
 */
static int
content_span(GMimeDataWrapper *dw, const char **p, size_t *n)
{
	GMimeStream	*s;
	GByteArray	*ba;
	gint64		 start, end;

	s = g_mime_data_wrapper_get_stream(dw);
	if (s == NULL || !GMIME_IS_STREAM_MEM(s))
		return -1;
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));
	if (ba == NULL)
		return -1;
	/* As GMime's own read of the stream bounds it. */
	start = s->bound_start;
	end = s->bound_end;
	if (end < 0 || end > (gint64)ba->len)
		end = (gint64)ba->len;
	if (start < 0 || start > end)
		return -1;
	*p = (const char *)ba->data + start;
	*n = (size_t)(end - start);
	return 0;
}

static int
is_b64(char c)
{
	return g_ascii_isalnum(c) || c == '+' || c == '/';
}

/* Whether a base64 body holds anything but the alphabet and white space. */
static int
bad_base64(const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!is_b64(p[i]) && p[i] != '=' && !g_ascii_isspace(p[i]))
			return 1;
	return 0;
}

/*
 * Decodes damaged base64 as far as it goes: what is not in the alphabet
 * is skipped and a last partial quantum still gives its whole bytes,
 * where GMime's decoder would drop them.  0 or -1.
 */
static int
lenient_base64(const char *p, size_t n, struct jm_buf *out)
{
	GString		*clean;
	guchar		*raw;
	gsize		 rawlen;
	size_t		 i;
	int		 rc;

	clean = g_string_sized_new(n + 4);
	for (i = 0; i < n; i++)
		if (is_b64(p[i]))
			g_string_append_c(clean, p[i]);
	if (clean->len % 4 == 1)
		g_string_truncate(clean, clean->len - 1);
	while (clean->len % 4 != 0)
		g_string_append_c(clean, '=');
	raw = g_base64_decode(clean->str, &rawlen);
	rc = jm_buf_append(out, raw, rawlen);
	g_free(raw);
	g_string_free(clean, TRUE);
	return rc;
}

/*
 * Decodes N bytes at P in ENC (base64 or quoted-printable) into OUT, as
 * GMime's decoding filter does: one step over all of it, then the flush
 * the filter does at the end of its stream.  0 or -1.
 */
static int
decode_span(const char *p, size_t n, GMimeContentEncoding enc,
    struct jm_buf *out)
{
	GMimeEncoding	 st;
	char		*dec;
	size_t		 k, cap;
	int		 rc;

	g_mime_encoding_init_decode(&st, enc);
	cap = g_mime_encoding_outlen(&st, n);
	if (cap < n || cap > SIZE_MAX - 16)
		return -1;
	dec = malloc(cap + 16);
	if (dec == NULL)
		return -1;
	k = g_mime_encoding_step(&st, p, n, dec);
	k += g_mime_encoding_flush(&st, "", 0, dec + k);
	rc = jm_buf_append(out, dec, k);
	free(dec);
	return rc;
}

/*
 * Sets *P and *N to the decoded form of the LEN bytes at RAW in ENC
 * (not uuencode): in place when they need no decoding, else in DEC.
 * 0, or -1 (memory).
 */
static int
span_content(struct walk *w, const char *raw, size_t len,
    GMimeContentEncoding enc, struct jm_buf *dec, const char **p, size_t *n)
{
	int	 rc;

	if (enc == GMIME_CONTENT_ENCODING_BASE64 && bad_base64(raw, len)) {
		w->m->flags |= JM_MSG_MALFORMED;
		rc = lenient_base64(raw, len, dec);
	} else if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
		rc = decode_span(raw, len, enc, dec);
	else {
		*p = raw;
		*n = len;
		return 0;
	}
	*p = jm_buf_cstr(dec);
	*n = dec->len;
	return rc;
}

/*
 * Sets *P and *N to the decoded content of a part: in place when it
 * needs no decoding, else in DEC.  0, or -1 (memory).
 */
static int
part_content(struct walk *w, GMimeDataWrapper *dw, struct jm_buf *dec,
    const char **p, size_t *n)
{
	GMimeContentEncoding enc;
	GMimeStream	*mem;
	GByteArray	*ba;
	const char	*raw;
	size_t		 len;
	int		 rc;

	enc = g_mime_data_wrapper_get_encoding(dw);
	if (enc != GMIME_CONTENT_ENCODING_UUENCODE &&
	    content_span(dw, &raw, &len) == 0)
		return span_content(w, raw, len, enc, dec, p, n);
	/* Not where content_span() finds it: GMime decodes. */
	mem = g_mime_stream_mem_new();
	if (g_mime_data_wrapper_write_to_stream(dw, mem) == -1)
		w->m->flags |= JM_MSG_MALFORMED;
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	rc = jm_buf_append(dec, ba->data, ba->len);
	g_object_unref(mem);
	*p = jm_buf_cstr(dec);
	*n = dec->len;
	return rc;
}

/*
 * Adds the LEN decoded bytes at S of a text part in CHARSET (or NULL),
 * HTML or plain, to the walk.  DEC is where S may live; it is freed.
 */
static void
take_text(struct walk *w, const char *s, size_t len, const char *charset,
    int html, struct jm_buf *dec)
{
	struct jm_buf	 utf8, plain, stripped;
	size_t		 n;
	int		 unknown = 0, rc = -1;

	jm_buf_init(&utf8, WORK_MAX);
	jm_buf_init(&plain, WORK_MAX);
	jm_buf_init(&stripped, WORK_MAX);
	if (to_utf8(s, len, charset, &utf8, &unknown) == -1)
		goto out;
	if (unknown)
		w->m->flags |= JM_MSG_MALFORMED;
	s = jm_buf_cstr(&utf8);
	len = utf8.len;
	if (html) {
		if (jm_text_from_html(s, len, &plain) == -1)
			goto out;
		w->m->flags |= JM_MSG_HTML;
		s = jm_buf_cstr(&plain);
		len = plain.len;
	}
	/* Only the first max_scan bytes of decoded text are read. */
	n = jm_text_cut(s, len, w->budget);
	if (n < len)
		w->m->flags |= JM_MSG_TRUNCATED;
	w->budget -= n;
	if (jm_text_strip_quotes(s, n, &stripped) == -1)
		goto out;
	rc = 0;
	if (stripped.len == 0)
		goto out;
	if (w->text.len > 0 && jm_buf_append(&w->text, "\n\n", 2) == -1)
		rc = -1;
	else if (jm_buf_append(&w->text, stripped.data, stripped.len) == -1)
		rc = -1;
out:
	if (rc == -1)
		w->err = -1;
	jm_buf_free(dec);
	jm_buf_free(&utf8);
	jm_buf_free(&plain);
	jm_buf_free(&stripped);
}

/* Adds the text of one leaf part to the walk. */
static void
take_part(struct walk *w, GMimePart *part, int html)
{
	GMimeDataWrapper *dw;
	struct jm_buf	  dec;
	const char	 *s;
	size_t		  len;

	dw = g_mime_part_get_content(part);
	if (dw == NULL)
		return;
	jm_buf_init(&dec, WORK_MAX);
	if (part_content(w, dw, &dec, &s, &len) == -1) {
		w->err = -1;
		jm_buf_free(&dec);
		return;
	}
	take_text(w, s, len, g_mime_object_get_content_type_parameter(
	    GMIME_OBJECT(part), "charset"), html, &dec);
}

static int
is_attachment(GMimeObject *obj)
{
	GMimeContentDisposition *cd;

	cd = g_mime_object_get_content_disposition(obj);
	if (cd != NULL && g_mime_content_disposition_is_attachment(cd))
		return 1;
	/* A named text part is a file, even inline (Apple Mail). */
	return GMIME_IS_PART(obj) &&
	    g_mime_part_get_filename(GMIME_PART(obj)) != NULL;
}

/* 0 for text/plain, 1 for text/html, -1 for a part nobody wrote now. */
static int
text_kind(GMimeObject *obj)
{
	GMimeContentType *ct;

	if (!GMIME_IS_PART(obj) || is_attachment(obj))
		return -1;
	ct = g_mime_object_get_content_type(obj);
	if (ct == NULL || g_mime_content_type_is_type(ct, "text", "plain"))
		return 0;
	if (g_mime_content_type_is_type(ct, "text", "html"))
		return 1;
	return -1;
}

static void walk(struct walk *w, GMimeObject *obj, int depth);

/*
 * multipart/alternative: the plain version when there is one with text,
 * else the first other version that gives text (HTML, or a related
 * multipart around it).
 */
static void
walk_alternative(struct walk *w, GMimeMultipart *mp, int depth)
{
	GMimeObject	*child;
	size_t		 before = w->text.len;
	int		 i, n = g_mime_multipart_get_count(mp);

	for (i = 0; i < n && w->text.len == before; i++) {
		child = g_mime_multipart_get_part(mp, i);
		if (text_kind(child) == 0)
			walk(w, child, depth + 1);
	}
	for (i = 0; i < n && w->text.len == before; i++) {
		child = g_mime_multipart_get_part(mp, i);
		if (text_kind(child) != 0)
			walk(w, child, depth + 1);
	}
}

static void
walk(struct walk *w, GMimeObject *obj, int depth)
{
	GMimeMultipart	*mp;
	GMimeContentType *ct;
	int		 i, n, kind;

	if (obj == NULL || w->err != 0 || w->budget == 0)
		return;
	if (depth > WALK_DEPTH_MAX) {
		w->m->flags |= JM_MSG_MALFORMED;
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj))
		return;		/* an attached message is history */
	if (GMIME_IS_MULTIPART(obj)) {
		mp = GMIME_MULTIPART(obj);
		ct = g_mime_object_get_content_type(obj);
		if (ct != NULL && g_mime_content_type_is_type(ct, "multipart",
		    "alternative")) {
			walk_alternative(w, mp, depth);
			return;
		}
		n = g_mime_multipart_get_count(mp);
		for (i = 0; i < n; i++)
			walk(w, g_mime_multipart_get_part(mp, i), depth + 1);
		return;
	}
	kind = text_kind(obj);
	if (kind >= 0)
		take_part(w, GMIME_PART(obj), kind);
}

/* GMime's parser reports damage through this. */
static void
parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
    gpointer data)
{
	struct jm_message *m = data;

	(void)offset;
	(void)item;
	switch (code) {
	case GMIME_WARN_INVALID_CONTENT_TYPE:
	case GMIME_WARN_MALFORMED_MULTIPART:
	case GMIME_WARN_TRUNCATED_MESSAGE:
	case GMIME_WARN_MALFORMED_MESSAGE:
	case GMIME_CRIT_INVALID_HEADER_NAME:
	case GMIME_CRIT_CONFLICTING_HEADER:
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
	case GMIME_CRIT_NESTING_OVERFLOW:
	case GMIME_WARN_PART_WITHOUT_CONTENT:
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
		m->flags |= JM_MSG_MALFORMED;
		break;
	default:
		break;
	}
}

/*
 * The envelope-ish headers.
 */

static char *
trimmed_dup(const char *s)
{
	size_t	 n;

	if (s == NULL)
		return NULL;
	while (g_ascii_isspace(*s))
		s++;
	n = strlen(s);
	while (n > 0 && g_ascii_isspace(s[n - 1]))
		n--;
	return strndup(s, n);
}

/* *OUT: header NAME trimmed, or NULL when absent.  0 or -1. */
static int
copy_header(const struct jm_message *m, const char *name, char **out)
{
	const char	*v;

	v = jm_message_header(m, name);
	if (v == NULL)
		return 0;
	*out = trimmed_dup(v);
	return *out != NULL ? 0 : -1;
}

static void
ascii_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = g_ascii_tolower(*s);
}

static int
read_from(struct jm_message *m, GMimeParserOptions *opts)
{
	InternetAddressList *list;
	InternetAddress	*ia = NULL;
	const char	*raw, *name = NULL, *addr = NULL;
	char		*joined;

	raw = jm_message_header(m, "From");
	if (raw == NULL) {
		m->from_addr = strdup("");
		m->from_name = strdup("");
		return m->from_addr != NULL && m->from_name != NULL ? 0 : -1;
	}
	joined = join_b_words(raw);
	list = internet_address_list_parse(opts, joined);
	g_free(joined);
	if (list != NULL && internet_address_list_length(list) > 0) {
		ia = internet_address_list_get_address(list, 0);
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			InternetAddressList *members;

			members = internet_address_group_get_members(
			    INTERNET_ADDRESS_GROUP(ia));
			ia = members != NULL &&
			    internet_address_list_length(members) > 0 ?
			    internet_address_list_get_address(members, 0) :
			    NULL;
		}
	}
	if (ia != NULL && INTERNET_ADDRESS_IS_MAILBOX(ia)) {
		addr = internet_address_mailbox_get_addr(
		    INTERNET_ADDRESS_MAILBOX(ia));
		name = internet_address_get_name(ia);
	}
	if (addr != NULL)
		m->from_addr = utf8_dup(addr);
	else if (strchr(raw, '@') != NULL) {
		/* GMime gave up on it: the raw bytes, but as valid UTF-8. */
		char	*a = jm_addr_normalize(raw);

		m->from_addr = a != NULL ? utf8_dup(a) : NULL;
		free(a);
	} else
		m->from_addr = strdup("");
	m->from_name = name != NULL ? utf8_dup(name) : strdup("");
	if (list != NULL)
		g_object_unref(list);
	if (m->from_addr == NULL || m->from_name == NULL)
		return -1;
	ascii_lower(m->from_addr);
	return 0;
}

static int
read_envelope_headers(struct jm_message *m, GMimeParserOptions *opts)
{
	const char	*v;
	char		*d, *id, *j;

	v = jm_message_header(m, "Subject");
	if (v != NULL) {
		j = join_b_words(v);
		d = g_mime_utils_header_decode_text(opts, j);
		m->subject = utf8_dup(d);
		g_free(d);
		g_free(j);
	} else
		m->subject = strdup("");
	if (m->subject == NULL || read_from(m, opts) == -1)
		return -1;

	v = jm_message_header(m, "Message-ID");
	if (v != NULL) {
		id = g_mime_utils_decode_message_id(v);
		if (id != NULL && *id != '\0') {
			if (asprintf(&m->message_id, "<%s>", id) == -1)
				m->message_id = NULL;
		} else
			m->message_id = trimmed_dup(v);
		g_free(id);
		if (m->message_id == NULL)
			return -1;
	}
	if (copy_header(m, "In-Reply-To", &m->in_reply_to) == -1 ||
	    copy_header(m, "References", &m->references) == -1 ||
	    copy_header(m, "Content-Language", &m->content_language) == -1)
		return -1;
	return 0;
}

/*
 * The body when GMime could not make a message of it: one plain text.
 */
static void
take_raw_body(struct walk *w, const char *body, size_t len)
{
	struct jm_buf	 utf8, stripped;
	size_t		 n;
	int		 unknown = 0;

	jm_buf_init(&utf8, WORK_MAX);
	jm_buf_init(&stripped, WORK_MAX);
	if (to_utf8(body, len, NULL, &utf8, &unknown) == -1)
		goto fail;
	n = jm_text_cut(jm_buf_cstr(&utf8), utf8.len, w->budget);
	if (n < utf8.len)
		w->m->flags |= JM_MSG_TRUNCATED;
	w->budget -= n;
	if (jm_text_strip_quotes(jm_buf_cstr(&utf8), n, &stripped) == -1 ||
	    jm_buf_append(&w->text, jm_buf_cstr(&stripped), stripped.len) == -1)
		goto fail;
	jm_buf_free(&utf8);
	jm_buf_free(&stripped);
	return;
fail:
	w->err = -1;
	jm_buf_free(&utf8);
	jm_buf_free(&stripped);
}

/* The fields RFC 5322 (3.6) allows once: GMime reports one that repeats. */
static const char *const single_fields[] = {
	"bcc", "cc", "date", "from", "in-reply-to", "message-id", "references",
	"reply-to", "sender", "subject", "to", NULL
};

/* Whether a field RFC 5322 allows once appears more than once. */
static int
single_field_repeated(const struct jm_message *m)
{
	const char *const *f;
	size_t		  i;
	int		  seen;

	for (f = single_fields; *f != NULL; f++) {
		seen = 0;
		for (i = 0; i < m->n_headers; i++)
			if (jm_strcaseeq(m->headers[i].name, *f) && seen++ > 0)
				return 1;
	}
	return 0;
}

/*
 * The Content-* lines of a clean header block, then the empty line and
 * the body, in a new array; NULL when the block is not one that
 * read_headers() and GMime read alike line by line (a first line that is
 * a continuation or an mbox "From "; no empty line before the end).
 */
static GByteArray *
content_fields(const char *raw, size_t len)
{
	GByteArray	*ba;
	const char	*line, *nl, *colon;
	size_t		 pos = 0, n, full, nlen;
	int		 keep = 0;

	if (len > G_MAXUINT || len == 0 || is_wsp(raw[0]) ||
	    (len >= 5 && memcmp(raw, "From ", 5) == 0))
		return NULL;
	ba = g_byte_array_sized_new((guint)len);
	while (pos < len) {
		line = raw + pos;
		nl = memchr(line, '\n', len - pos);
		if (nl == NULL)
			break;
		full = (size_t)(nl - line) + 1;
		n = full - 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0) {
			g_byte_array_append(ba, (const guint8 *)line,
			    (guint)(len - pos));
			return ba;
		}
		if (!is_wsp(line[0])) {
			colon = memchr(line, ':', n);
			nlen = colon != NULL ? (size_t)(colon - line) : 0;
			keep = nlen >= 8 &&
			    g_ascii_strncasecmp(line, "Content-", 8) == 0;
		}
		if (keep)
			g_byte_array_append(ba, (const guint8 *)line,
			    (guint)full);
		pos += full;
	}
	g_byte_array_free(ba, TRUE);
	return NULL;
}

/*
 * What GMime parses.  The MIME structure hangs on the Content-* fields
 * alone, but GMime makes an object of every field, and of a message it
 * parses From, To, Cc and Date again, for objects nobody here reads: a
 * third of its time on common mail.  So when the block is clean (CLEAN:
 * read_headers() found nothing odd and no field that RFC 5322 allows once
 * repeats, the one thing GMime reports about the other fields; read_body()
 * decides), it is given only
 * the Content-* lines, the empty line and the body, to parse as a part
 * (*FILTERED set): the same tree with the same warnings, and no message
 * object.  Otherwise it reads RAW itself as a message, borrowed, not
 * copied, and *BORROWED is set to the array to free with
 * g_byte_array_free(*BORROWED, FALSE) once the stream is gone.
 * Caller unrefs the stream.
 */
static GMimeStream *
mime_stream(const char *raw, size_t len, int clean, int *filtered,
    GByteArray **borrowed)
{
	GMimeStream	*s;
	GByteArray	*ba = NULL;

	*borrowed = NULL;
	*filtered = 0;
	if (clean)
		ba = content_fields(raw, len);
	if (ba != NULL) {
		*filtered = 1;
		return g_mime_stream_mem_new_with_byte_array(ba);
	}
	if (len > G_MAXUINT)
		return g_mime_stream_mem_new_with_buffer(raw, len);
	/* GMime only reads its input: the cast does not let it write. */
	ba = g_byte_array_new_take((guint8 *)(uintptr_t)raw, len);
	s = g_mime_stream_mem_new_with_byte_array(ba);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
	*borrowed = ba;
	return s;
}

/*
 * The values of Content-Type, Content-Disposition and
 * Content-Transfer-Encoding in V[0..2] (NULL when absent); -1 when some
 * Content-* field appears twice, which GMime reports and resolves in its
 * own way.
 */
static int
content_values(const struct jm_message *m, const char *v[3])
{
	static const char *const names[] = { "Type", "Disposition",
	    "Transfer-Encoding" };
	size_t	 i, j;

	v[0] = v[1] = v[2] = NULL;
	for (i = 0; i < m->n_headers; i++) {
		if (g_ascii_strncasecmp(m->headers[i].name, "Content-", 8) != 0)
			continue;
		for (j = i + 1; j < m->n_headers; j++)
			if (jm_strcaseeq(m->headers[i].name,
			    m->headers[j].name))
				return -1;
		for (j = 0; j < 3; j++)
			if (jm_strcaseeq(m->headers[i].name + 8, names[j]))
				v[j] = m->headers[i].value;
	}
	return 0;
}

/* Whether a Content-Type value names a type with parts of its own. */
static int
is_composite(const char *v)
{
	while (g_ascii_isspace(*v))
		v++;
	return g_ascii_strncasecmp(v, "multipart", 9) == 0 ||
	    g_ascii_strncasecmp(v, "message", 7) == 0;
}

/*
 * A message of one text part, the commonest shape of customer mail, read
 * without GMime's parser: the tree it would build is a single part whose
 * content is the body as it stands, and building it and its objects, then
 * tearing them down, costs more than all the rest of the reading.  GMime
 * still reads the fields (the Content-Type and Content-Disposition
 * parsers, the transfer encoding's name) and decodes, as for any part.
 * Returns 1 when the message was read so, 0 when it is not such a message
 * (multipart, a message, not text, uuencoded, no body, a Content-* field
 * twice): GMime's parser reads it then.
 */
static int
one_part(struct walk *w, const char *raw, size_t len, size_t body,
    GMimeParserOptions *opts)
{
	GMimeContentType *ct = NULL;
	GMimeContentDisposition *cd = NULL;
	GMimeContentEncoding enc = GMIME_CONTENT_ENCODING_DEFAULT;
	struct jm_buf	 dec;
	const char	*v[3], *charset = NULL, *s;
	size_t		 n;
	int		 html = 0, named, rc = 0;

	if (body >= len || content_values(w->m, v) == -1 ||
	    (v[0] != NULL && is_composite(v[0])))
		return 0;
	if (v[2] != NULL)
		enc = g_mime_content_encoding_from_string(v[2]);
	if (enc == GMIME_CONTENT_ENCODING_UUENCODE)
		return 0;
	if (v[0] != NULL) {
		ct = g_mime_content_type_parse(opts, v[0]);
		if (ct == NULL)
			return 0;
		html = g_mime_content_type_is_type(ct, "text", "html");
		if (!html && !g_mime_content_type_is_type(ct, "text", "plain"))
			goto out;
		charset = g_mime_content_type_get_parameter(ct, "charset");
	}
	rc = 1;
	/* As is_attachment(): a disposition, or a name, makes it a file. */
	named = ct != NULL && g_mime_content_type_get_parameter(ct, "name");
	if (v[1] != NULL) {
		cd = g_mime_content_disposition_parse(opts, v[1]);
		if (cd != NULL &&
		    (g_mime_content_disposition_is_attachment(cd) ||
		    g_mime_content_disposition_get_parameter(cd, "filename")))
			named = 1;
	}
	if (named)
		goto out;
	jm_buf_init(&dec, WORK_MAX);
	if (span_content(w, raw + body, len - body, enc, &dec, &s, &n) == -1) {
		w->err = -1;
		jm_buf_free(&dec);
		goto out;
	}
	take_text(w, s, n, charset, html, &dec);
out:
	if (ct != NULL)
		g_object_unref(ct);
	if (cd != NULL)
		g_object_unref(cd);
	return rc;
}

static int
read_body(struct walk *w, const char *raw, size_t len, size_t body, int stray,
    int clean, GMimeParserOptions *opts)
{
	GMimeStream	*stream;
	GMimeParser	*parser;
	GMimeMessage	*msg = NULL;
	GMimeObject	*top;
	GByteArray	*borrowed;
	int		 filtered, ok;

	clean = clean && !single_field_repeated(w->m);
	if (clean && one_part(w, raw, len, body, opts))
		return w->err;
	stream = mime_stream(raw, len, clean, &filtered, &borrowed);
	parser = g_mime_parser_new_with_stream(stream);
	if (filtered)
		top = g_mime_parser_construct_part(parser, opts);
	else {
		g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
		msg = g_mime_parser_construct_message(parser, opts);
		top = msg != NULL ? g_mime_message_get_mime_part(msg) : NULL;
	}
	ok = filtered ? top != NULL : msg != NULL;
	if (!ok)
		w->m->flags |= JM_MSG_MALFORMED;
	walk(w, top, 0);
	if (msg != NULL)
		g_object_unref(msg);
	else if (top != NULL)
		g_object_unref(top);
	/*
	 * A line that is not a header ends the header block for a mail
	 * client, which shows it and what follows as the body; GMime may
	 * drop it instead.
	 */
	if ((!ok || (stray && w->text.len == 0)) && body < len && w->err == 0)
		take_raw_body(w, raw + body, len - body);
	g_object_unref(parser);
	g_object_unref(stream);
	if (borrowed != NULL)
		g_byte_array_free(borrowed, FALSE);
	return w->err;
}

int
jm_message_parse(const char *raw, size_t len, size_t max_scan,
    struct jm_message **out)
{
	static const char *fallback[] = { "UTF-8", FALLBACK_CHARSET, NULL };
	struct jm_message *m;
	GMimeParserOptions *opts;
	struct walk	 w;
	struct jm_buf	 norm;
	size_t		 body, n;
	int		 stray = 0, clean;

	*out = NULL;
	jm_message_init();
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -1;
	if (raw == NULL)
		len = 0;
	if (read_headers(m, raw != NULL ? raw : "", len, &body, &stray) == -1)
		goto fail;
	clean = m->flags == 0 && !stray;

	opts = g_mime_parser_options_new();
	g_mime_parser_options_set_rfc2047_compliance_mode(opts,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(opts,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(opts,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_fallback_charsets(opts, fallback);
	g_mime_parser_options_set_warning_callback(opts, parser_warning, m);

	memset(&w, 0, sizeof(w));
	w.m = m;
	w.budget = max_scan;
	jm_buf_init(&w.text, max_scan);
	if (read_envelope_headers(m, opts) == -1 ||
	    (len > 0 && read_body(&w, raw, len, body, stray, clean,
	    opts) == -1)) {
		g_mime_parser_options_free(opts);
		jm_buf_free(&w.text);
		goto fail;
	}
	g_mime_parser_options_free(opts);

	/* The separators between parts may not split a character either. */
	if (w.text.truncated)
		m->flags |= JM_MSG_TRUNCATED;
	n = jm_text_cut(jm_buf_cstr(&w.text), w.text.len, max_scan);
	w.text.len = n;
	if (w.text.data != NULL)
		w.text.data[n] = '\0';
	m->text_len = w.text.len;
	m->text = jm_buf_steal(&w.text);
	if (m->text == NULL)
		goto fail;

	jm_buf_init(&norm, WORK_MAX);
	if (jm_text_normalize(m->text, m->text_len, JM_NORM_SPACE, &norm) == -1)
		goto fail_norm;
	m->norm_text_len = norm.len;
	m->norm_text = jm_buf_steal(&norm);
	if (m->norm_text == NULL)
		goto fail_norm;
	if (jm_text_normalize(m->subject, strlen(m->subject), JM_NORM_SPACE,
	    &norm) == -1)
		goto fail_norm;
	m->norm_subject = jm_buf_steal(&norm);
	if (m->norm_subject == NULL)
		goto fail_norm;
	*out = m;
	return 0;
fail_norm:
	jm_buf_free(&norm);
fail:
	jm_message_free(m);
	return -1;
}

static void
free_envelope(char *from, char **rcpt, size_t n)
{
	size_t	 i;

	free(from);
	for (i = 0; rcpt != NULL && i < n; i++)
		free(rcpt[i]);
	free(rcpt);
}

int
jm_message_set_envelope(struct jm_message *m, const char *from,
    char *const *rcpt, size_t n_rcpt)
{
	char	*nfrom = NULL, **nrcpt = NULL;
	size_t	 i;

	if (from != NULL) {
		nfrom = jm_addr_normalize(from);
		if (nfrom == NULL)
			return -1;
	}
	if (n_rcpt > 0) {
		nrcpt = calloc(n_rcpt, sizeof(*nrcpt));
		if (nrcpt == NULL) {
			free(nfrom);
			return -1;
		}
		for (i = 0; i < n_rcpt; i++) {
			nrcpt[i] = jm_addr_normalize(rcpt[i]);
			if (nrcpt[i] == NULL) {
				free_envelope(nfrom, nrcpt, n_rcpt);
				return -1;
			}
		}
	}
	free_envelope(m->env_from, m->env_rcpt, m->n_env_rcpt);
	m->env_from = nfrom;
	m->env_rcpt = nrcpt;
	m->n_env_rcpt = n_rcpt;
	return 0;
}

void
jm_message_free(struct jm_message *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	free_envelope(m->env_from, m->env_rcpt, m->n_env_rcpt);
	for (i = 0; i < m->n_headers; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	free(m->subject);
	free(m->from_addr);
	free(m->from_name);
	free(m->message_id);
	free(m->in_reply_to);
	free(m->references);
	free(m->content_language);
	free(m->text);
	free(m->norm_text);
	free(m->norm_subject);
	free(m);
}
