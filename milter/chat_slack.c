/*
 * chat_slack.c: the escalation as a Slack incoming-webhook message.
 *
 * Slack documents the body as "text" plus "blocks": with blocks present,
 * "text" is the fallback shown in notifications.  The blocks are a
 * header (plain_text, at most 150 characters), a section of mrkdwn
 * fields (at most 10, 2000 characters each), a section quoting the
 * excerpt (3000 characters at most), and a context line.  The helpdesk
 * link is a mrkdwn link rather than a button: a button would make Slack
 * send an interaction payload that an incoming webhook has no endpoint
 * to answer.
 *
 * Escaping is Slack's own rule and nothing else: "&", "<" and ">" become
 * "&amp;", "&lt;" and "&gt;" in mrkdwn text, which is also what keeps a
 * customer's "<!everyone>" from notifying the channel.  A literal
 * "@everyone" never notifies anyone in Slack.
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>

#include "journey/chat.h"
#include "chat_priv.h"

static json_t *
mrkdwn(const char *label, const char *value)
{
	char	*s;
	json_t	*o;

	s = chat_printf("*%s*\n%s", label, value);
	if (s == NULL)
		return NULL;
	o = json_pack("{s:s, s:s}", "type", "mrkdwn", "text", s);
	free(s);
	return o;
}

static const struct chat_escaper slack_escaper = { 1, NULL, 0 };

static json_t *
build(const struct chat_view *v)
{
	json_t	*blocks, *fields, *context, *root = NULL;
	char	*fallback, *quote, *link, *ticket, *date, *open = NULL;

	fallback = chat_printf("%s: %s \xE2\x80\x94 %s (%s)", v->title,
	    v->customer, v->subject, v->ticket);
	quote = chat_printf(">%s", *v->excerpt != '\0' ? v->excerpt :
	    "(no text)");
	/* Slack decodes the same three entities inside a link. */
	link = chat_escape_entities(v->link);
	if (link != NULL && *link != '\0') {
		ticket = chat_printf("<%s|%s>", link, v->ticket);
		open = chat_printf("<%s|Open %s in the helpdesk>", link,
		    v->ticket);
	} else
		ticket = chat_printf("%s", v->ticket);
	/* Slack shows <!date^...> in the reader's time zone. */
	date = chat_printf("<!date^%lld^{date_short_pretty} {time}|%s>",
	    v->when_epoch, v->when);
	if (fallback == NULL || quote == NULL || link == NULL ||
	    ticket == NULL || date == NULL || (*link != '\0' && open == NULL))
		goto out;

	fields = json_pack("[o, o, o, o, o, o]",
	    mrkdwn("Customer", v->customer),
	    mrkdwn("Ticket", ticket),
	    mrkdwn("Journey", v->journey),
	    mrkdwn("Language", v->language),
	    mrkdwn("Subject", v->subject),
	    mrkdwn("Rules", v->rules));
	context = json_pack("[{s:s, s:s+++++}]", "type", "mrkdwn",
	    "text", "Message-ID: ", v->message_id, " \xC2\xB7 ", date,
	    *v->support_name != '\0' ? " \xC2\xB7 " : "", v->support_name);
	blocks = json_pack("[{s:s, s:{s:s, s:s, s:b}}, {s:s, s:o},"
	    " {s:s, s:{s:s, s:s}}, {s:s, s:o}]",
	    "type", "header", "text", "type", "plain_text", "text", v->title,
	    "emoji", 1,
	    "type", "section", "fields", fields,
	    "type", "section", "text", "type", "mrkdwn", "text", quote,
	    "type", "context", "elements", context);
	/* The link on a line of its own too: in a field it is easy to miss. */
	if (blocks != NULL && open != NULL && json_array_append_new(blocks,
	    json_pack("{s:s, s:{s:s, s:s}}", "type", "section", "text",
	    "type", "mrkdwn", "text", open)) == -1) {
		json_decref(blocks);
		blocks = NULL;
	}
	root = json_pack("{s:s, s:o}", "text", fallback, "blocks", blocks);
out:
	free(fallback);
	free(quote);
	free(link);
	free(ticket);
	free(open);
	free(date);
	return root;
}

static char *
payload(const struct jm_escalation *e)
{
	struct chat_view v;
	json_t		*root = NULL;

	if (chat_view_init(&v, e, JM_CHAT_EXCERPT_MAX) == -1)
		return NULL;
	if (chat_view_escape(&v, &slack_escaper) == 0)
		root = build(&v);
	chat_view_free(&v);
	return chat_dump(root);
}

const struct jm_chat_format_ops jm_chat_slack = { "slack", payload };
