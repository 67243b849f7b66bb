/*
 * chat_teams.c: the escalation as an Adaptive Card for a Microsoft Teams
 * Workflows webhook ("Post to a channel when a webhook request is
 * received").
 *
 * The Workflows trigger takes a message whose attachments carry Adaptive
 * Cards: {"type":"message","attachments":[{"contentType":
 * "application/vnd.microsoft.card.adaptive","contentUrl":null,"content":
 * CARD}]}.  The Office 365 connector MessageCard is retired and is not
 * produced.  The card is version 1.4: a TextBlock title, a FactSet of the
 * values we produce ourselves (journey, ticket, language, rules, time),
 * RichTextBlocks for what came from the message, and an Action.OpenUrl
 * to the helpdesk.
 *
 * Teams renders Markdown in TextBlock text and in fact titles and values,
 * and offers no documented escape for it.  A RichTextBlock's TextRun is
 * never Markdown, so the customer's own words (name, subject, excerpt,
 * Message-ID) go there, as they are, and nothing needs escaping.
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "journey/chat.h"
#include "chat_priv.h"

/* A RichTextBlock of a bold LABEL (if any) and VALUE as it is. */
static json_t *
rich(const char *label, const char *value, int italic)
{
	json_t	*inlines, *run;

	run = json_pack("{s:s, s:s}", "type", "TextRun", "text", value);
	if (run != NULL && italic &&
	    json_object_set_new(run, "italic", json_true()) == -1) {
		json_decref(run);
		run = NULL;
	}
	if (label != NULL)
		inlines = json_pack("[{s:s, s:s, s:s}, o]", "type", "TextRun",
		    "text", label, "weight", "Bolder", run);
	else
		inlines = json_pack("[o]", run);
	return json_pack("{s:s, s:o}", "type", "RichTextBlock", "inlines",
	    inlines);
}

static json_t *
fact(const char *title, const char *value)
{
	return json_pack("{s:s, s:s}", "title", title, "value", value);
}

static const char *
text_color(const char *severity)
{
	if (strcmp(severity, "attention") == 0)
		return "Attention";
	if (strcmp(severity, "warning") == 0)
		return "Warning";
	return "Accent";
}

static json_t *
build(const struct chat_view *v)
{
	json_t	*body, *card, *actions;
	char	*open;

	body = json_pack("[{s:s, s:s, s:s, s:s, s:s, s:b},"
	    " {s:s, s:[o, o, o, o, o]}, o, o, o, o]",
	    "type", "TextBlock", "text", v->title, "size", "Large",
	    "weight", "Bolder", "color", text_color(v->severity), "wrap", 1,
	    "type", "FactSet", "facts",
	    fact("Journey", v->journey),
	    fact("Ticket", v->ticket),
	    fact("Language", v->language),
	    fact("Rules", v->rules),
	    fact("Received", v->when),
	    rich("Customer: ", v->customer, 0),
	    rich("Subject: ", v->subject, 0),
	    rich(NULL, *v->excerpt != '\0' ? v->excerpt : "(no text)", 1),
	    rich("Message-ID: ", v->message_id, 0));
	actions = json_array();
	if (*v->link != '\0') {
		open = chat_printf("Open %s in the helpdesk", v->ticket);
		if (open == NULL || json_array_append_new(actions,
		    json_pack("{s:s, s:s, s:s}", "type", "Action.OpenUrl",
		    "title", open, "url", v->link)) == -1) {
			json_decref(actions);
			actions = NULL;
		}
		free(open);
	}
	card = json_pack("{s:s, s:s, s:s, s:{s:s}, s:o, s:o}",
	    "$schema", "http://adaptivecards.io/schemas/adaptive-card.json",
	    "type", "AdaptiveCard",
	    "version", "1.4",
	    "msteams", "width", "Full",
	    "body", body,
	    "actions", actions);
	return json_pack("{s:s, s:[{s:s, s:n, s:o}]}",
	    "type", "message",
	    "attachments",
	    "contentType", "application/vnd.microsoft.card.adaptive",
	    "contentUrl",
	    "content", card);
}

static char *
payload(const struct jm_escalation *e)
{
	struct chat_view v;
	json_t		*root;

	if (chat_view_init(&v, e, JM_CHAT_EXCERPT_MAX) == -1)
		return NULL;
	root = build(&v);
	chat_view_free(&v);
	return chat_dump(root);
}

const struct jm_chat_format_ops jm_chat_teams = { "teams", payload };
