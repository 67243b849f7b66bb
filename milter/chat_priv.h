/*
 * chat_priv.h: what the chat format files share, and nobody else uses.
 *
 * Each format starts from the same view of an escalation: every field
 * cleaned and cut to a bound (jm_chat_excerpt()), but not yet escaped,
 * because what needs escaping differs from one service to the next.
 */
#ifndef JOURNEY_CHAT_PRIV_H
#define JOURNEY_CHAT_PRIV_H

#include <jansson.h>
#include <stddef.h>

#include "journey/chat.h"

/* Bounds, in characters, of the fields other than the excerpt. */
#define CHAT_SHORT_MAX	200	/* customer, subject, message id */
#define CHAT_RULES_MAX	300
#define CHAT_NAME_MAX	64	/* category, language, support */
#define CHAT_LINK_MAX	2000	/* bytes; longer links are left out */

/*
 * An escalation ready to display.  Every string is owned by the view,
 * valid UTF-8 and never NULL ("" when absent).
 */
struct chat_view {
	char		*title;		/* "Complaint escalated (score 7)" */
	char		*category;	/* "complaint" */
	char		*customer;	/* "Name <address>" */
	char		*subject;	/* "(no subject)" when empty */
	char		*excerpt;
	char		*journey;	/* "activate → activate, at risk" */
	char		*rules;		/* "a, b" or "none" */
	char		*language;
	char		*ticket;
	char		*link;		/* "" when there is none */
	char		*message_id;
	char		*support_name;
	char		*when;		/* "2025-03-14T09:26:53Z" */
	long long	 when_epoch;
	int		 score;
	unsigned	 color;		/* 0xRRGGBB for the category */
	const char	*severity;	/* attention, warning, accent */
};

/* Fills V from E, excerpt cut at EXCERPT_MAX characters; 0 or -1. */
int	chat_view_init(struct chat_view *v, const struct jm_escalation *e,
	    size_t excerpt_max);
void	chat_view_free(struct chat_view *v);

/*
 * "&", "<" and ">" as "&amp;", "&lt;" and "&gt;", nothing else: Slack's
 * rule for mrkdwn, and enough for the HTML subset of Google Chat cards.
 * New string, caller frees with free(); NULL when memory runs out.
 */
char	*chat_escape_entities(const char *s);

/*
 * A backslash before every character of SPECIALS in S (all must be ASCII
 * punctuation, which CommonMark and Discord both let a backslash escape),
 * and before the "." or ")" of a leading "1." or "1)" that would start a
 * list.  With DEFUSE_MENTIONS, a WORD JOINER (U+2060) goes between an "@"
 * that is not inside a word and the name after it, so "@channel" cannot
 * notify anybody.  New string, caller frees with free(); NULL when memory
 * runs out.
 */
char	*chat_escape_markdown(const char *s, const char *specials,
	    int defuse_mentions);

/* How a format escapes the text that came from outside. */
struct chat_escaper {
	int		 entities;	/* chat_escape_entities() */
	const char	*specials;	/* else backslash these */
	int		 defuse_mentions;
};

/*
 * Escapes, in place, the fields of V that came from the message or the
 * operator: customer, subject, excerpt, rules, language, message_id and
 * support_name.  The title, journey, ticket, time and link are left as
 * they are (they are ours, and a link is escaped where it is used, if at
 * all).  0, or -1 when memory runs out (V is then still whole).
 */
int	chat_view_escape(struct chat_view *v,
	    const struct chat_escaper *how);

/* A new string from a printf format; caller frees with free(); or NULL. */
char	*chat_printf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * Serialises and releases ROOT (which may be NULL); caller frees with
 * free().  NULL when ROOT is NULL or memory runs out.
 */
char	*chat_dump(json_t *root);

#endif
