/*
 * chat_json.c: the escalation as plain JSON, for a receiver of one's own
 * (a bot, a queue, an automation service).
 *
 * The document is {"type": "journey.escalation", "event": EVENT,
 * "ticket": "JM-...", "link": URL or null}.  EVENT is the CRM event the
 * caller built for the journey webhook (event_json), embedded as a JSON
 * value rather than as a string, so a receiver reads both with one
 * parser.  Without one, EVENT is built here from the escalation:
 * {"message_id", "customer": {"address", "name"}, "category", "score",
 * "language", "rules": [...], "journey": {"from": {"stage", "at_risk"},
 * "to": {...}}, "subject", "excerpt", "occurred_at"}.  Nothing is escaped
 * beyond JSON itself; text from the message is cleaned and cut as for
 * every other format.
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "journey/chat.h"
#include "journey/journey.h"
#include "chat_priv.h"

static json_t *
minimal_event(const struct jm_escalation *e, const struct chat_view *v)
{
	json_t	*rules, *event;
	char	*name, *address;
	size_t	 i;

	rules = json_array();
	for (i = 0; rules != NULL && e->rules != NULL && i < e->n_rules; i++) {
		char *r = jm_chat_excerpt(e->rules[i], e->rules[i] != NULL ?
		    strlen(e->rules[i]) : 0, CHAT_NAME_MAX);

		if (r == NULL || json_array_append_new(rules,
		    json_string(r)) == -1) {
			free(r);
			json_decref(rules);
			return NULL;
		}
		free(r);
	}
	name = jm_chat_excerpt(e->customer_name, e->customer_name != NULL ?
	    strlen(e->customer_name) : 0, CHAT_SHORT_MAX);
	address = jm_chat_excerpt(e->customer, e->customer != NULL ?
	    strlen(e->customer) : 0, CHAT_SHORT_MAX);
	if (name == NULL || address == NULL) {
		free(name);
		free(address);
		json_decref(rules);
		return NULL;
	}
	event = json_pack("{s:s, s:{s:s, s:s?}, s:s, s:i, s:s, s:o,"
	    " s:{s:{s:s, s:b}, s:{s:s, s:b}}, s:s, s:s, s:s}",
	    "message_id", v->message_id,
	    "customer", "address", address, "name", *name != '\0' ? name : NULL,
	    "category", v->category,
	    "score", v->score,
	    "language", v->language,
	    "rules", rules,
	    "journey",
	    "from", "stage", jm_stage_name(e->stage_prev),
	    "at_risk", e->at_risk_prev,
	    "to", "stage", jm_stage_name(e->stage_next),
	    "at_risk", e->at_risk_next,
	    "subject", v->subject,
	    "excerpt", v->excerpt,
	    "occurred_at", v->when);
	free(name);
	free(address);
	return event;
}

static char *
payload(const struct jm_escalation *e)
{
	struct chat_view v;
	json_t		*event, *root;

	if (chat_view_init(&v, e, JM_CHAT_EXCERPT_MAX) == -1)
		return NULL;
	if (e->event_json != NULL)
		event = json_loads(e->event_json, 0, NULL);
	else
		event = minimal_event(e, &v);
	root = json_pack("{s:s, s:o, s:s, s:s?}",
	    "type", "journey.escalation",
	    "event", event,
	    "ticket", v.ticket,
	    "link", *v.link != '\0' ? v.link : NULL);
	chat_view_free(&v);
	return chat_dump(root);
}

const struct jm_chat_format_ops jm_chat_json = { "json", payload };
