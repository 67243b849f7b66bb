/*
 * message.h: one email turned into what the rules read.
 *
 * The raw message (headers and as much of the body as was kept) goes in;
 * out comes the decoded Subject and From, the envelope, the headers, and
 * the UTF-8 text the customer wrote now (quoted history and signature
 * removed), normalised for matching.  GMime stays inside message.c: no
 * GMime type crosses this header.
 */
#ifndef JOURNEY_MESSAGE_H
#define JOURNEY_MESSAGE_H

#include <stddef.h>

struct jm_header {
	char	*name;			/* as it arrived */
	char	*value;			/* raw, unfolded; not decoded */
};

#define JM_MSG_TRUNCATED	0x01	/* body or text cut at a limit */
#define JM_MSG_MALFORMED	0x02	/* MIME damage; text recovered as possible */
#define JM_MSG_HTML		0x04	/* text came from HTML */

struct jm_message {
	/* Envelope, from the MTA (may be NULL in journeyctl classify). */
	char		*env_from;	/* lower-cased addr-spec, "" for <> */
	char		**env_rcpt;	/* lower-cased addr-specs */
	size_t		  n_env_rcpt;

	struct jm_header *headers;
	size_t		  n_headers;

	/* Decoded (RFC 2047) and converted to UTF-8. */
	char		*subject;	/* "" when absent */
	char		*from_addr;	/* lower-cased addr-spec of From, "" when absent */
	char		*from_name;	/* display name, "" when absent */
	char		*message_id;	/* with angle brackets, NULL when absent */
	char		*in_reply_to;
	char		*references;
	char		*content_language;

	char		*text;		/* what the customer wrote now, UTF-8, not normalised */
	size_t		  text_len;
	char		*norm_text;	/* text normalised for matching */
	size_t		  norm_text_len;
	char		*norm_subject;	/* subject normalised for matching */

	unsigned	  flags;	/* JM_MSG_* */
};

/*
 * Parses RAW (LEN bytes: header block, empty line, body) and fills a new
 * message.  Only the first MAX_SCAN bytes of text are kept.  Never fails on
 * a malformed message (it sets JM_MSG_MALFORMED and keeps what it could);
 * returns -1 only when memory runs out.  Caller frees *OUT with
 * jm_message_free().
 */
int	jm_message_parse(const char *raw, size_t len, size_t max_scan,
	    struct jm_message **out);

/* The first header named NAME (case-insensitive); borrowed, or NULL. */
const char *jm_message_header(const struct jm_message *m, const char *name);

/* Sets the envelope; copies the strings.  0 or -1. */
int	jm_message_set_envelope(struct jm_message *m, const char *from,
	    char *const *rcpt, size_t n_rcpt);

void	jm_message_free(struct jm_message *m);

/* Process-wide setup and teardown of the MIME library. */
void	jm_message_init(void);
void	jm_message_shutdown(void);

#endif
