/*
 * util.h: small helpers shared by every module.
 */
#ifndef JOURNEY_UTIL_H
#define JOURNEY_UTIL_H

#include <stddef.h>

#define JM_TICKET_LEN	11		/* "JM-" and 8 base32 characters */

/*
 * Writes the ticket reference for MESSAGE_ID ("JM-" and 8 characters of
 * RFC 4648 base32 of its SHA-256) into OUT, NUL-terminated.  The same
 * Message-ID always gives the same ticket; angle brackets and surrounding
 * white space are ignored.  Returns 0, or -1 when the id is NULL or empty
 * (OUT is written all the same, and is the same for every such message:
 * use jm_ticket_bytes() then).
 */
int	jm_ticket(const char *message_id, char out[JM_TICKET_LEN + 1]);

/*
 * The ticket of a message without a Message-ID, from its LEN bytes at RAW:
 * the same message always gives the same ticket, two messages do not
 * share one, and neither is any Message-ID's ticket.
 */
void	jm_ticket_bytes(const char *raw, size_t len,
	    char out[JM_TICKET_LEN + 1]);

/*
 * Copies the addr-spec out of ADDR ("<a@b>", "Name <a@b>", "a@b"),
 * lower-cased, into a new string; caller frees with free().  NULL on
 * allocation failure; "" for the null sender "<>".
 */
char	*jm_addr_normalize(const char *addr);

/* strcasecmp() on ASCII, for protocol names and header names. */
int	jm_strcaseeq(const char *a, const char *b);

/* Whether S starts with PREFIX, ignoring ASCII case. */
int	jm_strcaseprefix(const char *s, const char *prefix);

/* A duration for people: "40s", "5m", "3h", "2d"; negative is "0s". */
void	jm_duration(long seconds, char *out, size_t outlen);

/* Writes SIZE random bytes from the kernel; 0 or -1. */
int	jm_random(void *p, size_t size);

/*
 * Names the calling thread NAME (at most 15 bytes are kept), as ps, top
 * and perf show it; nothing where the system cannot.
 */
void	jm_thread_name(const char *name);

/*
 * Makes room for one more element of SIZE bytes in the array whose
 * address is VP (a pointer to the array pointer), which holds N of *CAP;
 * doubles the capacity, from FIRST, when full.  0, or -1 when memory runs
 * out (the array is then untouched).
 */
int	jm_grow(void *vp, size_t *cap, size_t n, size_t size, size_t first);

#endif
