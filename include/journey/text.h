/*
 * text.h: text clean-up for matching, without any MIME.
 *
 * Pure functions on UTF-8 strings: HTML to text, removing quoted history
 * and signatures, and the normalisation that makes Turkish and Persian
 * match the way their readers expect.  The same normalisation is applied
 * to rule patterns, so a rule's author writes words as people do.
 *
 * Every function appends to a caller's struct jm_buf and honours its
 * maximum: past it the output stops (at a character boundary) and the
 * buffer records "truncated".  Only a failed allocation is an error.
 */
#ifndef JOURNEY_TEXT_H
#define JOURNEY_TEXT_H

#include <stddef.h>

#include "journey/buf.h"

/*
 * Normalisation:
 *  - Turkish dotless i (U+0131) and dotted capital I (U+0130) become "i",
 *    and a combining dot above (U+0307) is dropped;
 *  - Arabic yeh (U+064A) and alef maksura (U+0649) become Persian yeh
 *    (U+06CC), Arabic kaf (U+0643) becomes keheh (U+06A9);
 *  - zero-width non-joiner and joiner (U+200C, U+200D), tatweel (U+0640),
 *    Arabic diacritics (U+064B-U+065F, U+0670), soft hyphen (U+00AD), the
 *    byte order mark (U+FEFF) and the bidirectional marks and embeddings
 *    (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) are removed;
 *  - Arabic-Indic (U+0660-U+0669) and Persian (U+06F0-U+06F9) digits become
 *    ASCII digits;
 *  - with JM_NORM_SPACE, every run of white space (ASCII, NBSP and the
 *    other Unicode spaces) becomes one space and leading and trailing
 *    white space goes;
 *  - invalid UTF-8 sequences (each maximal invalid subpart) and NULs
 *    become U+FFFD.
 * Case is left alone: patterns match caselessly with PCRE2 (UCP).
 */
#define JM_NORM_SPACE	0x01

/* Appends the normalised form of IN (LEN bytes) to OUT; 0 or -1 (memory). */
int	jm_text_normalize(const char *in, size_t len, unsigned flags,
	    struct jm_buf *out);

/*
 * Appends to OUT the part of IN the writer wrote now: the text above the
 * first attribution line ("On ... wrote:" on one or two lines, "...
 * tarihinde ... yazdı:", "... نوشت:"), forwarded-message and Outlook
 * separators ("-----Original Message-----", "-----Özgün İleti-----",
 * "-----پیام اصلی-----", a line of underscores before "From:") and
 * Outlook's "From: / Sent: / To:" header blocks and their translations,
 * without ">" quoted lines and without the signature (a "-- " line and
 * what follows, "Sent from my ..." and their translations).  Markers are
 * recognised only as whole lines.  An attribution followed by quoted lines
 * and then new text (a bottom-posted or inline reply) loses only the
 * attribution and the quoted lines.  Leading and trailing blank lines and
 * runs of blank lines are dropped.  When nothing would be left, IN is
 * appended unchanged.  0 or -1 (memory).
 */
int	jm_text_strip_quotes(const char *in, size_t len, struct jm_buf *out);

/*
 * Appends the readable text of an HTML document (UTF-8; invalid bytes
 * become U+FFFD) to OUT: tags dropped, entities decoded, script, style
 * and head removed, block elements ending lines, table cells separated by
 * a space.  The content of a <blockquote> comes out as ">" quoted lines,
 * so that jm_text_strip_quotes() drops it as any quoted history.
 * 0 or -1 (memory).
 */
int	jm_text_from_html(const char *html, size_t len, struct jm_buf *out);

/*
 * Appends IN to OUT as valid UTF-8: invalid sequences and NULs become
 * U+FFFD, CR LF and a lone CR become LF.  0 or -1 (memory).
 */
int	jm_text_sanitize(const char *in, size_t len, struct jm_buf *out);

/* Whether LEN bytes at S are valid UTF-8. */
int	jm_text_valid_utf8(const char *s, size_t len);

/*
 * The longest prefix of S, at most MAX bytes, that ends on a character
 * boundary (never inside a UTF-8 sequence).
 */
size_t	jm_text_cut(const char *s, size_t len, size_t max);

#endif
