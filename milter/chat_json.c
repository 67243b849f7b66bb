/*
 * chat_json.c: the escalation as plain JSON, for a receiver of one's own
 * (a bot, a queue, an automation service).
 *
 * The body is the CRM event itself, byte for byte what journey_webhook_url
 * receives (webhook.c builds it; the caller passes it as event_json), so
 * that one parser and one schema serve both.  It is sent unsigned, like
 * every chat payload; a receiver that needs to trust it takes the CRM
 * webhook instead.  The ticket and the journey change are in the event;
 * the chat link is not, a receiver of its own makes its own.
 *
 * Deliberately nothing else: no wrapper, no view of the message (the
 * excerpt stays in the chat formats a person reads), no escaping beyond
 * the JSON webhook.c wrote.
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "journey/chat.h"

static char *
payload(const struct jm_escalation *e)
{
	json_t	*event;

	if (e->event_json == NULL)
		return NULL;
	/* Ours, but a row that is not JSON would be refused at every try. */
	event = json_loads(e->event_json, 0, NULL);
	if (!json_is_object(event)) {
		json_decref(event);
		return NULL;
	}
	json_decref(event);
	return strdup(e->event_json);
}

const struct jm_chat_format_ops jm_chat_json = { "json", payload };
