/*
 * webhook.h: the CRM webhook: the journey event as JSON, and its signature.
 *
 * Signing follows the Standard Webhooks specification
 * (https://www.standardwebhooks.com): the headers webhook-id,
 * webhook-timestamp and webhook-signature, the last being "v1," and the
 * base64 HMAC-SHA256 of "id.timestamp.body" under the endpoint's secret.
 * A receiver verifies with any of the specification's libraries.
 */
#ifndef JOURNEY_WEBHOOK_H
#define JOURNEY_WEBHOOK_H

#include <stddef.h>
#include <time.h>

#include "journey/journey.h"

/* "evt_" and 26 characters: 10 of time, 16 of randomness (a ULID). */
#define JM_EVENT_ID_LEN		30

/* Room for "v1," and the base64 of a SHA-256 HMAC, NUL included. */
#define JM_WEBHOOK_SIG_LEN	48

/* One journey event.  Every pointer is borrowed; NULL strings become null. */
struct jm_event {
	const char	*id;		/* from jm_webhook_event_id() */
	time_t		 occurred;
	const char	*customer;	/* lower-cased address */
	const char	*message_id;
	const char	*subject;	/* hostile: cut and made valid UTF-8 */
	const char	*ticket;
	const char	*category;	/* NULL: no category matched */
	int		 score;
	const char	*language;
	const char *const *rules;	/* names of the rules that matched */
	size_t		 n_rules;
	struct jm_state	 prev, next;
};

/*
 * Writes a new event id into OUT: "evt_" and a ULID in Crockford base32
 * (48 bits of milliseconds since the epoch, 80 random bits), so that ids
 * sort by time.  0, or -1 when the kernel gives no random bytes.
 */
int	jm_webhook_event_id(char out[JM_EVENT_ID_LEN + 1]);

/*
 * The event as compact JSON:
 * {"type":"journey.updated","id":...,"occurred_at":"2024-05-01T12:00:00Z",
 *  "customer":{"email":...},
 *  "message":{"message_id":...,"subject":...,"ticket":...},
 *  "classification":{"category":...,"score":N,"language":...,"rules":[...]},
 *  "journey":{"previous":{"stage":...,"at_risk":false},
 *             "current":{"stage":...,"at_risk":true}}}
 * Invalid UTF-8 in any string is replaced by U+FFFD; the subject is cut at
 * 998 bytes.  Returns the text (caller frees with free()) or NULL when
 * memory runs out.
 */
char	*jm_webhook_event_json(const struct jm_event *ev);

/*
 * Writes "v1,<base64 HMAC-SHA256 of ID.TIMESTAMP.BODY>" under SECRET into
 * OUT (OUTLEN at least JM_WEBHOOK_SIG_LEN).  0 or -1.
 */
int	jm_webhook_sign(const unsigned char *secret, size_t secret_len,
	    const char *id, long timestamp, const char *body, size_t len,
	    char *out, size_t outlen);

/*
 * Reads the signing secret from PATH: "whsec_" and base64 (the key is the
 * decoded bytes, as the specification says), or anything else, used as
 * raw bytes.  Trailing white space and newlines are not part of it.
 * Returns 0 and sets *KEY and *KEYLEN (caller frees with
 * jm_webhook_secret_free()), or -1 with ERR naming the file and the cause.
 */
int	jm_webhook_load_secret(const char *path, unsigned char **key,
	    size_t *keylen, char *err, size_t errlen);

/* Wipes and frees a key from jm_webhook_load_secret(); accepts NULL. */
void	jm_webhook_secret_free(unsigned char *key, size_t keylen);

#endif
