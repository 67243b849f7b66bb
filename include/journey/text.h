/*
 * text.h: text clean-up for matching, without any MIME.
 *
 * Pure functions on UTF-8 strings: HTML to text, removing quoted history
 * and signatures, and the normalisation that makes Turkish and Persian
 * match the way their readers expect.  The same normalisation is applied
 * to rule patterns, so a rule's author writes words as people do.
 */
#ifndef JOURNEY_TEXT_H
#define JOURNEY_TEXT_H

#include <stddef.h>

#include "journey/buf.h"

/*
 * Normalisation:
 *  - Turkish dotless i (U+0131) and dotted capital I (U+0130) become "i",
 *    and a combining dot above (U+0307) is dropped;
 *  - Arabic yeh and alef maksura become Persian yeh, Arabic kaf becomes
 *    keheh; zero-width non-joiner and joiner, tatweel and Arabic diacritics
 *    are removed; Arabic-Indic and Persian digits become ASCII digits;
 *  - with JM_NORM_SPACE, every run of white space becomes one space and
 *    leading and trailing white space goes;
 *  - invalid UTF-8 sequences and NULs become U+FFFD.
 * Case is left alone: patterns match caselessly with PCRE2 (UCP).
 */
#define JM_NORM_SPACE	0x01

/* Appends the normalised form of IN (LEN bytes) to OUT; 0 or -1 (memory). */
int	jm_text_normalize(const char *in, size_t len, unsigned flags,
	    struct jm_buf *out);

/*
 * Appends to OUT the part of IN the writer wrote now: the text above the
 * first attribution line ("On ... wrote:", its Turkish and Persian forms),
 * Outlook's "-----Original Message-----" and "From: ... Sent: ..." blocks
 * and their translations, without ">" quoted lines and without the
 * signature ("-- " line, "Sent from my ..." and their translations).
 * 0 or -1 (memory).
 */
int	jm_text_strip_quotes(const char *in, size_t len, struct jm_buf *out);

/*
 * Appends the readable text of an HTML document (UTF-8) to OUT: tags
 * dropped, entities decoded, script and style removed, block elements
 * ending lines.  0 or -1 (memory).
 */
int	jm_text_from_html(const char *html, size_t len, struct jm_buf *out);

/* Whether LEN bytes at S are valid UTF-8. */
int	jm_text_valid_utf8(const char *s, size_t len);

/*
 * The longest prefix of S, at most MAX bytes, that ends on a character
 * boundary (never inside a UTF-8 sequence).
 */
size_t	jm_text_cut(const char *s, size_t len, size_t max);

#endif
