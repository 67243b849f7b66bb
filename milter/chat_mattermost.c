/*
 * chat_mattermost.c: the escalation as a Mattermost incoming-webhook post.
 *
 * Mattermost takes Slack-compatible "text" (Markdown) and "attachments",
 * but does not render Slack's blocks, so the post is a one-line Markdown
 * "text" and one attachment: "fallback" (plain text, for notifications),
 * "color", "title" and "title_link" (the ticket and the helpdesk link),
 * "text" (the excerpt, quoted) and "fields" (title, value, short).
 * "username" is the target's username= option, else support_name;
 * Mattermost uses it only where the server lets integrations override
 * user names.  The target's icon_url=, icon_emoji= and channel= become
 * the post's "icon_url", "icon_emoji" and "channel" (the icon only where
 * the server lets integrations override profile pictures, the channel
 * only where the webhook is not locked to its own); without them the
 * webhook's own icon and channel stay.
 *
 * Markdown in text and field values is escaped with backslashes, which
 * CommonMark allows before any ASCII punctuation.  Mattermost turns
 * "@channel", "@all", "@here" and "@name" into notifications, in
 * attachment text too, so an "@" that starts a word gets a WORD JOINER
 * after it: the text reads the same and notifies nobody.
 */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/chat.h"
#include "chat_priv.h"

static const struct chat_escaper mattermost_escaper =
    { 0, "\\`*_~[]()<>#|&!+-", 1 };

static json_t *
field(const char *title, const char *value, int is_short)
{
	return json_pack("{s:b, s:s, s:s}", "short", is_short, "title", title,
	    "value", value);
}

/* The plain-text fallback: no Markdown, but no mentions either. */
static char *
fallback_text(const struct chat_view *v)
{
	char	*customer, *subject, *s = NULL;

	customer = chat_escape_markdown(v->customer, "", 1);
	subject = chat_escape_markdown(v->subject, "", 1);
	if (customer != NULL && subject != NULL)
		s = chat_printf("%s: %s \xE2\x80\x94 %s (%s)", v->title,
		    customer, subject, v->ticket);
	free(customer);
	free(subject);
	return s;
}

/* Sets KEY to VALUE in ROOT unless VALUE is NULL or empty; 0 or -1. */
static int
set_option(json_t *root, const char *key, const char *value)
{
	if (value == NULL || *value == '\0')
		return 0;
	return json_object_set_new(root, key, json_string(value));
}

static json_t *
build(const struct chat_view *v, const char *fallback, const char *username,
    const struct jm_chat_target *t)
{
	json_t	*att, *fields;
	char	*text, *quote, *category, color[8];
	json_t	*root = NULL;

	snprintf(color, sizeof(color), "#%06X", v->color & 0xFFFFFF);

	if (*v->link != '\0')
		text = chat_printf("**%s**: %s \xE2\x80\x94 [%s](%s)", v->title,
		    v->customer, v->ticket, v->link);
	else
		text = chat_printf("**%s**: %s \xE2\x80\x94 %s", v->title,
		    v->customer, v->ticket);
	quote = chat_printf("> %s", *v->excerpt != '\0' ? v->excerpt :
	    "\\(no text\\)");
	category = chat_printf("%s (score %d)", v->category, v->score);
	if (text == NULL || quote == NULL || category == NULL)
		goto out;

	fields = json_pack("[o, o, o, o, o, o, o, o]",
	    field("Customer", v->customer, 1),
	    field("Journey", v->journey, 1),
	    field("Category", category, 1),
	    field("Language", v->language, 1),
	    field("Subject", v->subject, 0),
	    field("Rules", v->rules, 0),
	    field("Received", v->when, 1),
	    field("Message-ID", v->message_id, 1));
	att = json_pack("{s:s, s:s, s:s, s:s, s:o}",
	    "fallback", fallback,
	    "color", color,
	    "title", v->ticket,
	    "text", quote,
	    "fields", fields);
	if (att != NULL && *v->link != '\0' && json_object_set_new(att,
	    "title_link", json_string(v->link)) == -1) {
		json_decref(att);
		att = NULL;
	}
	root = json_pack("{s:s, s:[o]}", "text", text, "attachments", att);
	if (root != NULL && (set_option(root, "username", username) == -1 ||
	    (t != NULL && (set_option(root, "icon_url", t->icon_url) == -1 ||
	    set_option(root, "icon_emoji", t->icon_emoji) == -1 ||
	    set_option(root, "channel", t->channel) == -1)))) {
		json_decref(root);
		root = NULL;
	}
out:
	free(text);
	free(quote);
	free(category);
	return root;
}

static char *
payload(const struct jm_escalation *e)
{
	struct chat_view v;
	json_t		*root = NULL;
	char		*fallback, *username;

	if (chat_view_init(&v, e, JM_CHAT_EXCERPT_MAX) == -1)
		return NULL;
	/* Both are plain text: taken before the Markdown escaping. */
	fallback = fallback_text(&v);
	if (e->target != NULL && e->target->username != NULL)
		username = jm_chat_excerpt(e->target->username,
		    strlen(e->target->username), CHAT_NAME_MAX);
	else
		username = strdup(v.support_name);
	if (fallback != NULL && username != NULL &&
	    chat_view_escape(&v, &mattermost_escaper) == 0)
		root = build(&v, fallback, username, e->target);
	free(fallback);
	free(username);
	chat_view_free(&v);
	return chat_dump(root);
}

const struct jm_chat_format_ops jm_chat_mattermost = {
	"mattermost", payload
};
