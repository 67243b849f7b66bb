/*
 * buf.h: a growable byte buffer with a hard maximum.
 *
 * Input from the MTA and from the message is hostile: a buffer is created
 * with the most it may ever hold, and past that it stops growing and records
 * that it was truncated.  Truncation is not an error; only a failed
 * allocation is.
 */
#ifndef JOURNEY_BUF_H
#define JOURNEY_BUF_H

#include <stddef.h>

struct jm_buf {
	char	*data;		/* always NUL-terminated when non-NULL */
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* len never exceeds max */
	int	 truncated;	/* something was dropped to honour max */
};

/* Prepares B to hold at most MAX bytes; allocates nothing yet. */
void	jm_buf_init(struct jm_buf *b, size_t max);

/* Appends up to N bytes; returns 0, or -1 if memory ran out. */
int	jm_buf_append(struct jm_buf *b, const void *p, size_t n);
int	jm_buf_puts(struct jm_buf *b, const char *s);
int	jm_buf_printf(struct jm_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Makes room for N more bytes (no more than the maximum allows) in one
 * allocation, so that appending them does not grow B step by step.
 * 0, or -1 if memory ran out.
 */
int	jm_buf_reserve(struct jm_buf *b, size_t n);

/* Empties B, keeping its memory and its maximum. */
void	jm_buf_reset(struct jm_buf *b);

/* The contents, "" when empty; borrowed, valid until B next changes. */
const char *jm_buf_cstr(const struct jm_buf *b);

/* Hands the contents over; caller frees with free().  B is left empty. */
char	*jm_buf_steal(struct jm_buf *b);

void	jm_buf_free(struct jm_buf *b);

#endif
