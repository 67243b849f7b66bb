/*
 * diag.c: diagnostics collected as "file:line: message" lines.
 *
 * The parsers report through this list instead of printing, so that
 * "journey-milter -n" prints every error at once, a reload logs them, and a
 * test can compare them.  An allocation failure here loses the line but
 * still counts it, so the caller never mistakes a broken file for a clean
 * one.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/diag.h"

static const char oom_line[] = "out of memory while reporting an error";

void
jm_diag_init(struct jm_diag *d)
{
	d->lines = NULL;
	d->n = 0;
	d->cap = 0;
}

void
jm_diag_add(struct jm_diag *d, const char *file, unsigned line,
    const char *fmt, ...)
{
	char	 msg[1024], *s = NULL, **v;
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (file != NULL && line > 0)
		n = asprintf(&s, "%s:%u: %s", file, line, msg);
	else if (file != NULL)
		n = asprintf(&s, "%s: %s", file, msg);
	else
		n = asprintf(&s, "%s", msg);
	if (n < 0)
		s = NULL;

	if (d->n >= d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8, i;

		while (cap <= d->n)
			cap *= 2;
		v = realloc(d->lines, cap * sizeof(*v));
		if (v == NULL) {
			/* Past cap a line reads as oom_line, but counts. */
			free(s);
			d->n++;
			return;
		}
		for (i = d->cap; i < cap; i++)
			v[i] = NULL;
		d->lines = v;
		d->cap = cap;
	}
	d->lines[d->n++] = s;
}

const char *
jm_diag_line(const struct jm_diag *d, size_t i)
{
	if (i >= d->n)
		return NULL;
	return i < d->cap && d->lines[i] != NULL ? d->lines[i] : oom_line;
}

void
jm_diag_free(struct jm_diag *d)
{
	size_t	i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n && i < d->cap; i++)
		free(d->lines[i]);
	free(d->lines);
	jm_diag_init(d);
}
