/*
 * chat_discord.c: the escalation as a Discord "Execute Webhook" body.
 *
 * "content" is one line of our own text; the rest is one embed: "title"
 * (ours), "url" (the helpdesk link), "description" (the excerpt, quoted),
 * "color", "timestamp" (ISO 8601) and "fields" (name, value, inline), and
 * the support team's name in "footer".  Discord refuses the whole message
 * past its limits: content 2000 characters; embed title 256, description
 * 4096, 25 fields of name 256 and value 1024, footer 2048, and 6000 in all
 * the embeds together.  Every field here is cut well inside them before
 * escaping, and escaping at most doubles a field (see JM_CHAT_EXCERPT_MAX
 * and the CHAT_*_MAX bounds); the unit test checks each limit.  An empty
 * field value is refused too, so none is ever empty.
 *
 * Discord's Markdown honours a backslash before any punctuation, which is
 * how the customer's text is escaped.  "allowed_mentions": {"parse": []}
 * makes sure that nothing in the message can ping @everyone, @here, a
 * role or a user.
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "journey/chat.h"
#include "chat_priv.h"

static const struct chat_escaper discord_escaper =
    { 0, "\\`*_~|<>#-[]()", 0 };

static json_t *
field(const char *name, const char *value, int is_inline)
{
	return json_pack("{s:s, s:s, s:b}", "name", name,
	    "value", *value != '\0' ? value : "\xE2\x80\x94",
	    "inline", is_inline);
}

static json_t *
build(const struct chat_view *v, const char *footer)
{
	json_t	*embed, *fields;
	char	*content, *description;
	json_t	*root = NULL;

	content = chat_printf("**%s**: ticket %s", v->title, v->ticket);
	description = chat_printf("> %s", *v->excerpt != '\0' ? v->excerpt :
	    "\\(no text\\)");
	if (content == NULL || description == NULL)
		goto out;
	fields = json_pack("[o, o, o, o, o, o, o]",
	    field("Customer", v->customer, 1),
	    field("Journey", v->journey, 1),
	    field("Ticket", v->ticket, 1),
	    field("Language", v->language, 1),
	    field("Subject", v->subject, 0),
	    field("Rules", v->rules, 0),
	    field("Message-ID", v->message_id, 0));
	embed = json_pack("{s:s, s:s, s:i, s:s, s:o}",
	    "title", v->title,
	    "description", description,
	    "color", (int)(v->color & 0xFFFFFF),
	    "timestamp", v->when,
	    "fields", fields);
	if (embed != NULL && *v->link != '\0' &&
	    json_object_set_new(embed, "url", json_string(v->link)) == -1) {
		json_decref(embed);
		embed = NULL;
	}
	if (embed != NULL && *footer != '\0' && json_object_set_new(embed,
	    "footer", json_pack("{s:s}", "text", footer)) == -1) {
		json_decref(embed);
		embed = NULL;
	}
	root = json_pack("{s:s, s:[o], s:{s:[]}}",
	    "content", content,
	    "embeds", embed,
	    "allowed_mentions", "parse");
out:
	free(content);
	free(description);
	return root;
}

static char *
payload(const struct jm_escalation *e)
{
	struct chat_view v;
	json_t		*root = NULL;
	char		*footer;

	if (chat_view_init(&v, e, JM_CHAT_EXCERPT_MAX) == -1)
		return NULL;
	/* The footer is plain text: taken before the Markdown escaping. */
	footer = strdup(v.support_name);
	if (footer != NULL && chat_view_escape(&v, &discord_escaper) == 0)
		root = build(&v, footer);
	free(footer);
	chat_view_free(&v);
	return chat_dump(root);
}

const struct jm_chat_format_ops jm_chat_discord = { "discord", payload };
