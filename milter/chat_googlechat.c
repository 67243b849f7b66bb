/*
 * chat_googlechat.c: the escalation as a Google Chat incoming-webhook
 * message.
 *
 * A Chat message may carry "text" and "cardsV2" together; Chat shows the
 * text above the card, and the text alone in notifications.  The text is
 * one line of our own words in Chat's text syntax ("*bold*"), with
 * nothing from the message in it: that syntax has no escape, and
 * "<users/all>" in it would notify the whole space.  The card
 * (cardsV2[0].card) has a header (title, subtitle), a section of
 * decoratedText widgets (topLabel, text), a section with the excerpt in a
 * textParagraph, and a buttonList whose button opens the helpdesk link
 * (onClick.openLink.url).
 *
 * Card text is Chat's small HTML subset (<b>, <i>, <a href>, <br>, ...),
 * so what came from the message has "&", "<" and ">" written as entities
 * and is shown as it was typed.
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>

#include "journey/chat.h"
#include "chat_priv.h"

static const struct chat_escaper googlechat_escaper = { 1, NULL, 0 };

static json_t *
decorated(const char *label, const char *text)
{
	return json_pack("{s:{s:s, s:s, s:b}}", "decoratedText",
	    "topLabel", label, "text", text, "wrapText", 1);
}

static json_t *
build(const struct chat_view *v)
{
	json_t	*sections, *root = NULL;
	char	*text, *subtitle, *card_id;

	text = chat_printf("*%s*: ticket %s", v->title, v->ticket);
	subtitle = chat_printf("Ticket %s", v->ticket);
	card_id = chat_printf("escalation-%s", v->ticket);
	if (text == NULL || subtitle == NULL || card_id == NULL)
		goto out;
	sections = json_pack("[{s:[o, o, o, o, o, o, o]},"
	    " {s:s, s:[{s:{s:s}}]}]",
	    "widgets",
	    decorated("Customer", v->customer),
	    decorated("Subject", v->subject),
	    decorated("Journey", v->journey),
	    decorated("Rules", v->rules),
	    decorated("Language", v->language),
	    decorated("Received", v->when),
	    decorated("Message-ID", v->message_id),
	    "header", "What the customer wrote",
	    "widgets", "textParagraph", "text",
	    *v->excerpt != '\0' ? v->excerpt : "(no text)");
	if (sections != NULL && *v->link != '\0' &&
	    json_array_append_new(sections, json_pack("{s:[{s:{s:[{s:s,"
	    " s:{s:{s:s}}}]}}]}", "widgets", "buttonList", "buttons",
	    "text", "Open in the helpdesk", "onClick", "openLink", "url",
	    v->link)) == -1) {
		json_decref(sections);
		sections = NULL;
	}
	root = json_pack("{s:s, s:[{s:s, s:{s:{s:s, s:s}, s:o}}]}",
	    "text", text,
	    "cardsV2",
	    "cardId", card_id,
	    "card",
	    "header", "title", v->title, "subtitle", subtitle,
	    "sections", sections);
out:
	free(text);
	free(subtitle);
	free(card_id);
	return root;
}

static char *
payload(const struct jm_escalation *e)
{
	struct chat_view v;
	json_t		*root = NULL;

	if (chat_view_init(&v, e, JM_CHAT_EXCERPT_MAX) == -1)
		return NULL;
	if (chat_view_escape(&v, &googlechat_escaper) == 0)
		root = build(&v);
	chat_view_free(&v);
	return chat_dump(root);
}

const struct jm_chat_format_ops jm_chat_googlechat = {
	"googlechat", payload
};
