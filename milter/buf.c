/*
 * buf.c: growable buffers that stop at a hard maximum.
 *
 * Every byte the MTA or a message hands us lands in one of these, so the
 * maximum is set by the caller when the buffer is made and never exceeded.
 * Past it the buffer records "truncated" and drops the rest: a long message
 * is read in part, never refused.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/buf.h"

void
jm_buf_init(struct jm_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->truncated = 0;
}

static int
reserve(struct jm_buf *b, size_t want)
{
	size_t	 cap;
	char	*p;

	if (want + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < want + 1)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

/* Room for WANT bytes and the NUL, exactly; 0 or -1. */
static int
reserve_exact(struct jm_buf *b, size_t want)
{
	char	*p;

	p = realloc(b->data, want + 1);
	if (p == NULL)
		return -1;
	if (b->data == NULL)
		p[0] = '\0';
	b->data = p;
	b->cap = want + 1;
	return 0;
}

int
jm_buf_append(struct jm_buf *b, const void *p, size_t n)
{
	if (n > b->max - b->len) {
		n = b->max - b->len;
		b->truncated = 1;
	}
	if (reserve(b, b->len + n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
jm_buf_puts(struct jm_buf *b, const char *s)
{
	return jm_buf_append(b, s, strlen(s));
}

int
jm_buf_printf(struct jm_buf *b, const char *fmt, ...)
{
	char	 small[512], *big;
	va_list	 ap;
	int	 n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return jm_buf_append(b, small, (size_t)n);
	big = malloc((size_t)n + 1);
	if (big == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = jm_buf_append(b, big, (size_t)n);
	free(big);
	return rc;
}

int
jm_buf_reserve(struct jm_buf *b, size_t n)
{
	size_t	want;

	want = n > b->max - b->len ? b->max : b->len + n;
	if (want + 1 <= b->cap)
		return 0;
	return reserve_exact(b, want);
}

void
jm_buf_reset(struct jm_buf *b)
{
	b->len = 0;
	b->truncated = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

const char *
jm_buf_cstr(const struct jm_buf *b)
{
	return b->data != NULL ? b->data : "";
}

char *
jm_buf_steal(struct jm_buf *b)
{
	char	*p;

	p = b->data;
	if (p == NULL)
		p = calloc(1, 1);
	jm_buf_init(b, b->max);
	return p;
}

void
jm_buf_free(struct jm_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	jm_buf_init(b, b->max);
}
