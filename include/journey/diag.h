/*
 * diag.h: a list of "file:line: message" diagnostics.
 *
 * Parsers of configuration, rules and templates do not print: they add to a
 * jm_diag, and the caller (journey-milter -n, a reload, a test) decides
 * where the lines go.
 */
#ifndef JOURNEY_DIAG_H
#define JOURNEY_DIAG_H

#include <stddef.h>

struct jm_diag {
	char	**lines;
	size_t	  n;
	size_t	  cap;
};

void	jm_diag_init(struct jm_diag *d);

/* Adds "FILE:LINE: message"; LINE 0 leaves the line number out. */
void	jm_diag_add(struct jm_diag *d, const char *file, unsigned line,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The I-th line; borrowed, valid until jm_diag_free(). */
const char *jm_diag_line(const struct jm_diag *d, size_t i);

void	jm_diag_free(struct jm_diag *d);

#endif
