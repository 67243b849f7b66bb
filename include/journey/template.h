/*
 * template.h: the acknowledgement templates of rules_dir/replies.
 *
 * One file per category and language, named CATEGORY.LANGUAGE (for
 * example complaint.tr): optional "#" comment lines, a "Subject: ..."
 * line, one empty line, then the body in UTF-8.  Placeholders are
 * {{name}}; a section {{#name}}...{{/name}} is kept only when the value is
 * non-empty.  The language is documented in journey-rules(5), REPLY
 * TEMPLATES.
 *
 * A loaded set is immutable and may be shared read-only by every thread.
 */
#ifndef JOURNEY_TEMPLATE_H
#define JOURNEY_TEMPLATE_H

#include <stddef.h>

#include "journey/diag.h"

#define JM_TEMPLATE_FILE_MAX	(64 * 1024)	/* bytes of one template file */
#define JM_TEMPLATE_SUBJECT_MAX	998		/* bytes of a subject */
#define JM_TEMPLATE_BODY_MAX	(16 * 1024)	/* bytes of a rendered body */
#define JM_TEMPLATE_DEPTH_MAX	4		/* sections inside sections */

struct jm_templates;
struct jm_template;

/*
 * The values a template can name.  Each may be NULL, which renders as the
 * empty string.  The values are hostile (customer_name and subject come
 * from the message): they must be UTF-8 and any that is not is repaired
 * with U+FFFD, never refused.
 */
struct jm_template_vars {
	const char	*customer_name;
	const char	*subject;
	const char	*ticket;
	const char	*category;
	const char	*support_name;
	const char	*cancellation_offer;
};

/*
 * Loads every template file in DIR (the replies directory, normally
 * rules_dir/replies), in byte order of name.  Hidden files and editor or
 * package manager leftovers (names ending in "~", or containing ".bak",
 * ".orig", ".swp", ".dpkg-", ".rpm" or ".ucf-") are skipped; any other
 * name must be CATEGORY.LANGUAGE, CATEGORY of [a-z0-9_-] and LANGUAGE a
 * code like en, tr, fa or pt-br.  A missing DIR is not an error: it loads
 * an empty set.  All or nothing: on any error adds "file:line: message"
 * lines to D (every error of every file) and returns -1; else 0 and *OUT.
 * Caller frees *OUT with jm_templates_free().
 */
int	jm_templates_load(const char *dir, struct jm_diag *d,
	    struct jm_templates **out);

/*
 * The same for one template held in memory (tests, fuzzing): NAME is the
 * file name used for the category, the language and the diagnostics; TEXT
 * holds LEN bytes and need not be NUL-terminated.  Returns 0 and *OUT (a
 * set of one), or -1 with diagnostics in D.  Caller frees *OUT with
 * jm_templates_free().
 */
int	jm_templates_load_string(const char *name, const char *text,
	    size_t len, struct jm_diag *d, struct jm_templates **out);

/* Accepts NULL. */
void	jm_templates_free(struct jm_templates *ts);

/* Number of templates in TS (0 for NULL). */
size_t	jm_templates_count(const struct jm_templates *ts);

/*
 * The template for CATEGORY in LANGUAGE, else in the primary subtag of
 * LANGUAGE ("pt" for "pt-br"), else in FALLBACK_LANGUAGE, else NULL.
 * Languages compare without regard to ASCII case; any argument may be
 * NULL.  Borrowed; valid until jm_templates_free(TS).
 */
const struct jm_template *jm_templates_find(const struct jm_templates *ts,
	    const char *category, const char *language,
	    const char *fallback_language);

/* The template's category, language and file; borrowed, as above. */
const char *jm_template_category(const struct jm_template *t);
const char *jm_template_language(const struct jm_template *t);
const char *jm_template_file(const struct jm_template *t);

/*
 * Renders T with VARS.  *SUBJECT gets one line of at most
 * JM_TEMPLATE_SUBJECT_MAX bytes, trimmed, in which every control
 * character of a value (CR and LF included) became a space; *BODY gets at
 * most JM_TEMPLATE_BODY_MAX bytes, lines ending in LF, in which a value
 * keeps its newlines and tabs and loses every other control character.
 * Output past a bound is cut at a UTF-8 character boundary; that is not an
 * error.  Returns 0, or -1 when memory runs out (*SUBJECT and *BODY are
 * then NULL).  Caller frees both with free().
 */
int	jm_template_render(const struct jm_template *t,
	    const struct jm_template_vars *vars, char **subject, char **body);

#endif
