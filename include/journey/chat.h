/*
 * chat.h: escalation payloads for the support team's chat.
 *
 * When a category that escalates (a complaint, by default) arrives, the
 * outbox POSTs one JSON document per configured chat target.  This module
 * builds that document, in the shape each service documents for its
 * incoming webhooks (Slack, Mattermost, Microsoft Teams Workflows, Discord,
 * Google Chat) or as plain JSON, and parses the chat_target lines of the
 * configuration.  Delivery, retries and rate limits are the outbox's.
 *
 * Every payload is built from one struct jm_escalation.  Text that came
 * from the customer is cleaned (invalid UTF-8 replaced, control
 * characters and runs of white space made one space), cut at a character
 * boundary with an ellipsis, and escaped the way the target service
 * requires; the caller passes it raw.
 */
#ifndef JOURNEY_CHAT_H
#define JOURNEY_CHAT_H

#include <stddef.h>
#include <time.h>

#include "journey/conf.h"
#include "journey/journey.h"

struct jm_chat_target;

/*
 * Everything a support lead needs at a glance.  All strings are borrowed
 * from the caller for the duration of one payload() call; any may be NULL
 * (shown as empty, or left out where the service allows).  Strings that
 * came from the message (customer_name, subject, excerpt, message_id) may
 * be any bytes of any length.
 */
struct jm_escalation {
	const char	*category;	/* "complaint" */
	int		 score;		/* the category's score */
	const char	*customer;	/* address, normalised */
	const char	*customer_name;	/* display name from From: */
	const char	*subject;
	const char	*excerpt;	/* what they wrote now (UTF-8) */
	const char	*language;	/* "en", "tr", "fa" */
	enum jm_stage	 stage_prev;
	int		 at_risk_prev;
	enum jm_stage	 stage_next;
	int		 at_risk_next;
	const char	*ticket;	/* "JM-" reference, see jm_ticket() */
	const char	**rules;	/* names of the rules that fired */
	size_t		 n_rules;
	const char	*link;		/* from jm_chat_link() */
	const char	*message_id;
	time_t		 occurred_at;	/* when the mail was accepted */
	const char	*support_name;	/* from the configuration */
	const char	*event_json;	/* the CRM event: all of "json" */
	const struct jm_chat_target *target;	/* its options; may be NULL */
};

/*
 * A payload format: one per service, each in its own milter/chat_*.c.
 * payload() returns the JSON document as a new NUL-terminated UTF-8
 * string; caller frees with free().  NULL when memory runs out, or (json
 * format only) when event_json is NULL or not a JSON object: the json
 * format's document is event_json itself, byte for byte.
 */
struct jm_chat_format_ops {
	const char	*name;		/* as written in chat_target */
	char		*(*payload)(const struct jm_escalation *e);
};

extern const struct jm_chat_format_ops jm_chat_slack;
extern const struct jm_chat_format_ops jm_chat_mattermost;
extern const struct jm_chat_format_ops jm_chat_teams;
extern const struct jm_chat_format_ops jm_chat_discord;
extern const struct jm_chat_format_ops jm_chat_googlechat;
extern const struct jm_chat_format_ops jm_chat_json;

/* The format called NAME, or NULL; static. */
const struct jm_chat_format_ops *jm_chat_format_find(const char *name);

/* All formats; static, *N set to their number. */
const struct jm_chat_format_ops *const *jm_chat_formats(size_t *n);

/*
 * One parsed chat_target line:
 * "NAME FORMAT URL [CATEGORY,...] [OPTION=VALUE ...]".
 */
struct jm_chat_target {
	char		*name;
	const struct jm_chat_format_ops *ops;	/* static */
	char		*url;
	/*
	 * The categories the line names, "*" standing for every one; none
	 * (n_categories 0, categories NULL): the categories the rules mark
	 * "escalate".
	 */
	char		**categories;
	size_t		 n_categories;
	/* Mattermost's post options; NULL when not given. */
	char		*username;	/* instead of support_name */
	char		*icon_url;
	char		*icon_emoji;
	char		*channel;
	/* rate=: escalations a minute (0: no limit); -1: chat_rate_limit. */
	long		 rate;
};

/* The highest rate= (and chat_rate_limit) there is. */
#define JM_CHAT_RATE_MAX	100000

/*
 * Parses every line of LINES (the chat_target values); a blank line
 * sets nothing.  Words are separated by white space; a double-quoted run
 * belongs to its word and loses its quotes.  Names are made of letters,
 * digits, ".", "_" and "-" and must be unique; the URL must be http:// or
 * https://.  After the URL, a word that holds "=" is an option, any
 * other word categories, separated by commas.  The options:
 *   username=TEXT, icon_url=URL, icon_emoji=NAME, channel=NAME
 *       Mattermost's own post options (mattermost format only): plain
 *       text of at most 64 characters; an http(s) URL of printable ASCII
 *       of at most 2000 bytes; an emoji name ([a-z0-9_+-], colons
 *       around it or not); a channel's name or "@" and a user name.
 *   rate=N
 *       escalations a minute to this target, 0 to JM_CHAT_RATE_MAX (0:
 *       no limit), in place of chat_rate_limit.
 * An unknown option, one given twice, one that is not for the format or
 * a value of the wrong kind is an error.
 * Returns 0 and sets *OUT (an array of *N targets; NULL when there are
 * none), which the caller frees with jm_chat_targets_free().  On an error
 * returns -1, fills WHY with one sentence naming the target, and sets
 * nothing.
 */
int	jm_chat_targets_parse(const struct jm_strlist *lines,
	    struct jm_chat_target **out, size_t *n, char *why, size_t whylen);

/*
 * Checks LINE, one chat_target value, alone, as the configuration parser
 * reads it (a blank one is fine).  0, or -1 with WHY saying what is wrong
 * in one sentence that names neither the key nor the line: the caller's
 * "file:line: chat_target:" does.
 */
int	jm_chat_target_check(const char *line, char *why, size_t whylen);

/* Frees the N targets T; accepts NULL. */
void	jm_chat_targets_free(struct jm_chat_target *t, size_t n);

/*
 * The most chat rows a minute to URL: the rate= of the first of the N
 * targets T that posts to URL and sets one, else FALLBACK (chat_rate_limit).
 * 0 means no limit.  The outbox counts per URL.
 */
long	jm_chat_targets_rate(const struct jm_chat_target *t, size_t n,
	    const char *url, long fallback);

/*
 * Whether target T takes CATEGORY (1) or not (0).  A target that lists
 * categories takes exactly those ("*": all of them), whatever the rules
 * say; one that lists none takes the categories the rules mark escalate,
 * which ESCALATES says of this one.
 */
int	jm_chat_target_wants(const struct jm_chat_target *t,
	    const char *category, int escalates);

/*
 * Expands chat_link_template TMPL: every "{{message_id}}" becomes
 * MESSAGE_ID without its angle brackets and every "{{ticket}}" becomes
 * TICKET, both percent-encoded (RFC 3986: all but the unreserved
 * characters).  Other text is copied as it is.  A NULL or empty TMPL gives
 * "" (no link).  Returns a new string, caller frees with free(); NULL when
 * memory runs out.
 */
char	*jm_chat_link(const char *tmpl, const char *message_id,
	    const char *ticket);

/*
 * Cleans the LEN bytes at TEXT for display and cuts them to at most MAX
 * characters (code points), the ellipsis included:
 *  - an invalid UTF-8 byte becomes U+FFFD;
 *  - white space, control characters and line breaks become one space,
 *    and the result has none at either end;
 *  - bidirectional embedding, override and isolate controls are dropped
 *    (they would reorder the labels around the text);
 *  - text longer than MAX ends in "…" (U+2026) after the last whole
 *    character that fits, never inside a UTF-8 sequence.
 * A MAX above JM_CHAT_EXCERPT_LIMIT counts as that limit.  TEXT may be
 * NULL when LEN is 0.  Returns a new string, caller frees with free();
 * NULL when memory runs out.
 */
char	*jm_chat_excerpt(const char *text, size_t len, size_t max);

/* The excerpt length used by every format, in characters. */
#define JM_CHAT_EXCERPT_MAX	500

/* The most characters jm_chat_excerpt() ever returns. */
#define JM_CHAT_EXCERPT_LIMIT	(256 * 1024)

#endif
