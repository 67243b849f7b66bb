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

#define JM_MSG_TRUNCATED	0x01	/* text or headers cut at a limit */
#define JM_MSG_MALFORMED	0x02	/* MIME damage; text recovered as possible */
#define JM_MSG_HTML		0x04	/* text came from HTML */

struct jm_message {
	/* Envelope, from the MTA (may be NULL in journeyctl classify). */
	char		*env_from;	/* lower-cased addr-spec, "" for <> */
	char		**env_rcpt;	/* lower-cased addr-specs */
	size_t		  n_env_rcpt;

	/* Every header in order, at most 10000 and 256 KiB of text. */
	struct jm_header *headers;
	size_t		  n_headers;

	/* Decoded (RFC 2047) and converted to UTF-8. */
	char		*subject;	/* "" when absent */
	char		*from_addr;	/* lower-cased addr-spec of From, "" when absent */
	char		*from_name;	/* display name, "" when absent */
	char		*message_id;	/* with angle brackets, NULL when absent */
	/* These three: the raw value, trimmed; NULL when absent. */
	char		*in_reply_to;
	char		*references;
	char		*content_language;

	char		*text;		/* what the customer wrote now, UTF-8, not normalised */
	size_t		  text_len;
	/* Normalised for matching, with JM_NORM_SPACE (text.h). */
	char		*norm_text;
	size_t		  norm_text_len;
	char		*norm_subject;

	unsigned	  flags;	/* JM_MSG_* */
};

/*
 * Parses RAW (LEN bytes: header block, empty line, body) and fills a new
 * message.
 *
 * The text is that of the text/plain and text/html parts (JM_MSG_HTML),
 * in order and joined by a blank line; of a multipart/alternative only
 * the plain version is read, or the first other one that gives text when
 * the plain one is missing or empty.  Attachments (and named text
 * parts), non-text parts and attached messages are not read, nor is MIME
 * nested deeper than 32 levels.  Each
 * part is converted to UTF-8 from its charset; an unknown charset is read
 * as UTF-8 when the bytes are valid UTF-8 and as windows-1252 otherwise.
 * Quoted history and signatures are removed (jm_text_strip_quotes()).
 * Only the first MAX_SCAN bytes of decoded text are read, and m->text is
 * at most MAX_SCAN bytes, cut at a character boundary (JM_MSG_TRUNCATED).
 * Every string in the message is valid UTF-8 but the raw header values,
 * and none holds a NUL.
 *
 * Never fails on a malformed message: it sets JM_MSG_MALFORMED and keeps
 * what it could.  Returns -1 only when memory runs out, with *OUT NULL.
 * Caller frees *OUT with jm_message_free().  Calls jm_message_init() if
 * no one has.  Safe to call from several threads at once.
 */
int	jm_message_parse(const char *raw, size_t len, size_t max_scan,
	    struct jm_message **out);

/*
 * The value of the first header named NAME (ASCII case-insensitive), raw
 * and unfolded, or NULL.  Borrowed; valid until jm_message_free(M).
 */
const char *jm_message_header(const struct jm_message *m, const char *name);

/*
 * Sets the envelope, replacing any earlier one: FROM (NULL for none, "<>"
 * for the null sender) and N_RCPT recipients, each reduced to its
 * lower-cased addr-spec.  The strings are copied.  0, or -1 when memory
 * runs out (the message is then unchanged).
 */
int	jm_message_set_envelope(struct jm_message *m, const char *from,
	    char *const *rcpt, size_t n_rcpt);

/* Frees M and everything in it; NULL is accepted. */
void	jm_message_free(struct jm_message *m);

/*
 * Process-wide setup and teardown of the MIME and HTML libraries
 * (g_mime_init(), xmlInitParser()).  jm_message_init() may be called more
 * than once; call it from the main thread before starting threads.
 * jm_message_shutdown() frees the libraries' global state: no message may
 * be parsed while or after it runs.
 */
void	jm_message_init(void);
void	jm_message_shutdown(void);

#endif
