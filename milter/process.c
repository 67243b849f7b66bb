/*
 * process.c: the core strung together: message, rules, store facts,
 * decision, outbox rows, headers.
 *
 * It owns no state and does no I/O but through the store it is given, so
 * the milter and "journeyctl classify" share it.  Every network action is
 * only a row queued here; the outbox thread sends it later.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/ack.h"
#include "journey/buf.h"
#include "journey/chat.h"
#include "journey/decide.h"
#include "journey/message.h"
#include "journey/process.h"
#include "journey/rules.h"
#include "journey/template.h"
#include "journey/text.h"
#include "journey/webhook.h"

#define THREAD_KEYS_MAX	12
#define OUT_ITEMS_MAX	64

/* Everything that must be freed at the end of one message. */
struct work {
	struct jm_message	*m;
	struct jm_verdict	 v;
	char			*keys_buf;
	const char		*keys[THREAD_KEYS_MAX];
	size_t			 n_keys;
	char			*event_json;
	char			*ack;
	size_t			 ack_len;
	char			*link;
	char			*excerpt;
	char			*chat[OUT_ITEMS_MAX];
	struct jm_outbox_new	 items[OUT_ITEMS_MAX];
	size_t			 n_items;
};

/* Forgets the rows of one attempt, so that a retry builds them anew. */
static void
rows_free(struct work *w)
{
	size_t	i;

	free(w->event_json);
	free(w->ack);
	free(w->link);
	free(w->excerpt);
	w->event_json = w->ack = w->link = w->excerpt = NULL;
	w->ack_len = 0;
	for (i = 0; i < OUT_ITEMS_MAX; i++) {
		free(w->chat[i]);
		w->chat[i] = NULL;
	}
	w->n_items = 0;
}

static void
work_free(struct work *w)
{
	jm_message_free(w->m);
	jm_verdict_clear(&w->v);
	free(w->keys_buf);
	rows_free(w);
}

/*
 * Message-ID, In-Reply-To and References: the ids that name the thread,
 * copied NUL-separated into one buffer, at most THREAD_KEYS_MAX of them.
 */
static int
thread_keys(struct work *w)
{
	struct jm_buf	 b;
	const char	*srcs[3], *s, *lt, *gt;
	size_t		 off[THREAD_KEYS_MAX], i;

	srcs[0] = w->m->message_id;
	srcs[1] = w->m->in_reply_to;
	srcs[2] = w->m->references;
	jm_buf_init(&b, 8192);
	for (i = 0; i < 3; i++) {
		for (s = srcs[i]; s != NULL && w->n_keys < THREAD_KEYS_MAX;) {
			lt = strchr(s, '<');
			gt = lt != NULL ? strchr(lt, '>') : NULL;
			if (gt == NULL)
				break;
			off[w->n_keys++] = b.len;
			if (jm_buf_append(&b, lt, (size_t)(gt - lt) + 1) == -1 ||
			    jm_buf_append(&b, "", 1) == -1) {
				jm_buf_free(&b);
				return -1;
			}
			s = gt + 1;
		}
	}
	if (b.truncated)
		w->n_keys = 0;	/* absurd ids: no thread rather than a wrong one */
	w->keys_buf = jm_buf_steal(&b);
	if (w->keys_buf == NULL)
		return -1;
	for (i = 0; i < w->n_keys; i++)
		w->keys[i] = w->keys_buf + off[i];
	return 0;
}

static void
add_header(struct jm_outcome *out, const char *name, const char *value)
{
	struct jm_out_header	*h;

	if (out->n_headers >= JM_OUT_HEADERS)
		return;
	h = &out->headers[out->n_headers++];
	h->name = name;
	snprintf(h->value, sizeof(h->value), "%s", value);
}

static void
copy_cut(char *dst, size_t dstlen, const char *src)
{
	size_t	n;

	if (src == NULL)
		src = "";
	n = jm_text_cut(src, strlen(src), dstlen - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
join_rules(const struct jm_verdict *v, char *out, size_t outlen)
{
	size_t	i, len = 0, n;

	out[0] = '\0';
	for (i = 0; i < v->n_fired; i++) {
		n = strlen(v->fired[i]);
		if (len + n + 2 >= outlen)
			break;		/* a header line has to end somewhere */
		if (i > 0)
			out[len++] = ',';
		memcpy(out + len, v->fired[i], n + 1);
		len += n;
	}
}

static int
queue(struct work *w, const char *kind, const char *target,
    const char *payload, size_t len, const char *event_id,
    const char *category)
{
	struct jm_outbox_new	*it;

	if (w->n_items >= OUT_ITEMS_MAX)
		return -1;
	it = &w->items[w->n_items++];
	it->kind = kind;
	it->target = target;
	it->payload = payload;
	it->payload_len = len;
	it->event_id = event_id;
	it->category = category;
	return 0;
}

static size_t
chat_targets_for(const struct jm_policy *p, const struct jm_category *cat)
{
	size_t	i, n = 0;

	for (i = 0; i < p->n_chat; i++)
		if (jm_chat_target_wants(&p->chat[i], cat->name, cat->escalate))
			n++;
	return n;
}

static void
summarise(struct jm_outcome *out, const char *env_from)
{
	const struct jm_decision *d = &out->decision;
	char	 esc[64], tries[16] = "";

	if (out->tries > 1)
		snprintf(tries, sizeof(tries), "%d", out->tries);

	if (d->escalate)
		snprintf(esc, sizeof(esc), "%zu", out->escalations);
	else
		snprintf(esc, sizeof(esc), "no(%s)", d->escalate_reason);
	/* A long line is cut: it is a log line, not a record. */
	if (snprintf(out->summary, sizeof(out->summary),
	    "from=<%s> customer=<%s> category=%s score=%d language=%s "
	    "rules=%s stage=%s%s->%s%s ack=%s webhook=%zu escalate=%s "
	    "ticket=%s%s%s%s%s%s%s%s",
	    env_from != NULL ? env_from : "", out->customer, out->category,
	    out->score, out->language, out->rules[0] != '\0' ? out->rules : "-",
	    jm_stage_name(d->prev.stage), d->prev.at_risk ? "(at-risk)" : "",
	    jm_stage_name(d->next.stage), d->next.at_risk ? "(at-risk)" : "",
	    d->ack_reason, out->webhooks, esc, out->ticket,
	    d->automated ? " automated=yes" : "",
	    (out->msg_flags & JM_MSG_MALFORMED) ? " malformed=yes" : "",
	    out->limited ? " match-limit=yes" : "",
	    out->unshared != NULL ? " shared=" : "",
	    out->unshared != NULL ? out->unshared : "",
	    out->tries > 1 ? " tries=" : "", tries) < 0)
		out->summary[0] = '\0';
}

/*
 * The ticket that our acknowledgement M answered, from the Message-ID
 * jm_ack_compose() gave it, <jm.TICKET.RANDOM@domain>, into OUT; OUT is
 * left alone when the id is not of that form.  Logging the ticket of the
 * acknowledgement's own id instead would name a ticket nobody has.
 */
static void
own_ack_ticket(const struct jm_message *m, char out[JM_TICKET_LEN + 1])
{
	const char	*p = m->message_id;
	size_t		 n;

	if (p == NULL)
		return;
	p += strspn(p, " \t");
	if (strncmp(p, "<jm.JM-", 7) != 0)
		return;
	p += 4;
	n = 3 + strspn(p + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
	if (n != JM_TICKET_LEN || p[n] != '.')
		return;
	memcpy(out, p, n);
	out[n] = '\0';
}

/*
 * What the decision needs of the message and the policy: the same for
 * every reading of the facts.
 */
static void
decide_input(const struct jm_policy *p, const struct work *w,
    const struct jm_category *cat, const struct jm_outcome *out,
    struct jm_decide_input *in)
{
	const struct jm_conf	*c = p->conf;

	memset(in, 0, sizeof(*in));
	in->category = cat;
	in->ack_policy = cat != NULL ? jm_ack_policy(c, w->m) : NULL;
	in->have_template = cat != NULL && cat->reply != NULL &&
	    jm_templates_find(p->templates, cat->reply, out->language,
	    c->default_language) != NULL;
	in->chat_targets = cat != NULL ? chat_targets_for(p, cat) : 0;
}

/* The decision of IN on FACTS, into out->decision. */
static void
decide_on(const struct jm_conf *c, struct jm_decide_input *in,
    const struct jm_facts *facts, struct jm_outcome *out)
{
	out->unshared = facts->unshared;
	in->facts = facts;
	jm_decide(c, in, &out->decision);
}

/* Facts for a customer the store has not been asked about yet. */
static void
facts_init(struct jm_facts *f, const struct jm_state *initial)
{
	memset(f, 0, sizeof(*f));
	f->state = *initial;
}

/* Whether two decisions queue the same rows with the same contents. */
static int
same_decision(const struct jm_decision *a, const struct jm_decision *b)
{
	return a->prev.stage == b->prev.stage &&
	    a->prev.at_risk == b->prev.at_risk &&
	    a->next.stage == b->next.stage &&
	    a->next.at_risk == b->next.at_risk &&
	    a->changed == b->changed && a->automated == b->automated &&
	    a->ack == b->ack && a->escalate == b->escalate &&
	    strcmp(a->ack_reason, b->ack_reason) == 0 &&
	    strcmp(a->escalate_reason, b->escalate_reason) == 0;
}

/*
 * The outbox rows of out->decision, into W (the event under EVENT_ID).
 * 0, or -1 on an error (the caller frees W's rows either way).
 */
static int
build_rows(const struct jm_policy *p, struct jm_store *store, struct work *w,
    const struct jm_category *cat, const char *customer, const char *env_from,
    time_t now, char event_id[JM_EVENT_ID_LEN + 1], struct jm_outcome *out)
{
	const struct jm_conf	*c = p->conf;
	struct jm_decision	*d = &out->decision;
	char			 why[256];
	size_t			 i;

	/* The rows to queue: they are only built when they will be stored. */
	if (store != NULL && cat != NULL && !d->automated) {
		struct jm_event	ev;

		if (jm_webhook_event_id(event_id) == -1)
			return -1;
		memset(&ev, 0, sizeof(ev));
		ev.id = event_id;
		ev.occurred = now;
		ev.customer = customer;
		ev.message_id = w->m->message_id;
		ev.subject = w->m->subject;
		ev.ticket = out->ticket;
		ev.category = cat->name;
		ev.score = out->score;
		ev.language = out->language;
		ev.rules = w->v.fired;
		ev.n_rules = w->v.n_fired;
		ev.prev = d->prev;
		ev.next = d->next;
		w->event_json = jm_webhook_event_json(&ev);
		if (w->event_json == NULL)
			return -1;
		for (i = 0; i < c->journey_webhook_url.n; i++) {
			if (queue(w, "webhook", c->journey_webhook_url.v[i],
			    w->event_json, strlen(w->event_json), event_id,
			    cat->name) == -1)
				return -1;
			out->webhooks++;
		}
	}
	if (store != NULL && d->ack) {
		if (jm_ack_compose(c, p->templates, w->m, cat->reply,
		    out->language, out->ticket, now, &w->ack, &w->ack_len, why,
		    sizeof(why)) == -1) {
			d->ack = 0;
			d->ack_reason = "compose-failed";
		} else if (queue(w, "smtp", env_from, w->ack, w->ack_len, NULL,
		    cat->name) == -1)
			return -1;
	}
	if (store != NULL && d->escalate) {
		struct jm_escalation	e;
		size_t			k = 0;

		w->link = jm_chat_link(c->chat_link_template, w->m->message_id,
		    out->ticket);
		w->excerpt = jm_chat_excerpt(w->m->text, w->m->text_len, 500);
		if (w->link == NULL || w->excerpt == NULL)
			return -1;
		memset(&e, 0, sizeof(e));
		e.category = cat->name;
		e.score = out->score;
		e.customer = customer;
		e.customer_name = w->m->from_name;
		e.subject = w->m->subject;
		e.excerpt = w->excerpt;
		e.language = out->language;
		e.stage_prev = d->prev.stage;
		e.at_risk_prev = d->prev.at_risk;
		e.stage_next = d->next.stage;
		e.at_risk_next = d->next.at_risk;
		e.ticket = out->ticket;
		e.rules = w->v.fired;
		e.n_rules = w->v.n_fired;
		e.link = w->link;
		e.message_id = w->m->message_id;
		e.occurred_at = now;
		e.support_name = c->support_name;
		e.event_json = w->event_json;
		for (i = 0; i < p->n_chat; i++) {
			if (!jm_chat_target_wants(&p->chat[i], cat->name,
			    cat->escalate))
				continue;
			e.target = &p->chat[i];
			w->chat[k] = p->chat[i].ops->payload(&e);
			if (w->chat[k] == NULL ||
			    queue(w, "chat", p->chat[i].url, w->chat[k],
			    strlen(w->chat[k]), event_id, cat->name) == -1)
				return -1;
			k++;
			out->escalations++;
		}
	}

	return 0;
}

/*
 * One attempt at the store's part of a message: read the facts, decide,
 * build the rows, commit.  When the store's lock is free, all of it runs
 * in one transaction.  When it is busy, the facts are read first without
 * the lock, and the rows built on them (the event, the acknowledgement,
 * the chat payloads: most of the work); then read again under the lock,
 * and when they decide the same, the rows are written as built, so that
 * the lock is held for the reads and writes only.  When they decide
 * otherwise (another message of this customer came in between), the rows
 * are built again under the lock.  0; -1 on an error (nothing committed);
 * JM_STORE_RETRY when a shared store saw another host come first (nothing
 * committed, the rows of W are to be freed and built again).
 */
static int
attempt_once(const struct jm_policy *p, struct jm_store *store, struct work *w,
    const struct jm_category *cat, const char *customer, const char *env_from,
    time_t now, int attempt, const struct jm_state *initial, int defer_sync,
    struct jm_outcome *out)
{
	const struct jm_conf	*c = p->conf;
	struct jm_facts		 facts;
	struct jm_store_query	 q;
	struct jm_store_record	 r;
	struct jm_decide_input	 in;
	struct jm_decision	*d = &out->decision, early;
	char			 event_id[JM_EVENT_ID_LEN + 1];
	int			 in_txn = 0, peeked = 0, rc;

	facts_init(&facts, initial);
	if (store != NULL && customer[0] != '\0') {
		memset(&q, 0, sizeof(q));
		q.customer = customer;
		q.category = cat != NULL ? cat->name : NULL;
		q.thread_keys = w->keys;
		q.n_thread_keys = w->n_keys;
		q.now = now;
		q.ack_interval = c->ack_interval;
		q.ack_max_day = c->ack_max_per_day;
		q.ack_max_minute = c->ack_max_per_minute;
		q.escalation_window = c->escalation_window;
		q.initial = *initial;
		q.attempt = attempt;
		/*
		 * With the lock free, the rows are built inside the
		 * transaction; with it busy, on facts peeked before, and
		 * the transaction is only as long as the writing.
		 */
		rc = jm_store_try_begin(store, &q, &facts);
		if (rc == 1)
			in_txn = 1;
		else if (rc == 0 && jm_store_peek(store, &q, &facts) == 0)
			peeked = 1;
		else {
			facts_init(&facts, initial);
			if (jm_store_begin(store, &q, &facts) == -1)
				return -1;
			in_txn = 1;
		}
	}
	decide_input(p, w, cat, out, &in);
	decide_on(c, &in, &facts, out);
	if (build_rows(p, store, w, cat, customer, env_from, now, event_id,
	    out) == -1)
		goto fail;
	if (peeked) {
		/* After build_rows(): an acknowledgement that could not be
		   composed is part of what the rows were built on. */
		early = *d;
		facts_init(&facts, initial);
		if (jm_store_begin(store, &q, &facts) == -1)
			return -1;
		in_txn = 1;
		decide_on(c, &in, &facts, out);
		if (!same_decision(&early, d)) {
			rows_free(w);
			out->webhooks = out->escalations = 0;
			if (build_rows(p, store, w, cat, customer, env_from, now,
			    event_id, out) == -1)
				goto fail;
		}
	}

	if (!in_txn)
		return 0;
	memset(&r, 0, sizeof(r));
	r.customer = customer;
	r.prev = d->prev;
	r.next = d->next;
	r.write_state = !d->automated;
	r.category = cat != NULL ? cat->name : NULL;
	r.message_id = w->m->message_id;
	r.subject = w->m->subject;
	r.ticket = out->ticket;
	r.language = out->language;
	r.score = out->score;
	r.now = now;
	r.is_ack = d->ack;
	r.ack_reason = d->ack_reason;
	r.escalate_reason = d->escalate_reason;
	r.thread_keys = w->keys;
	r.n_thread_keys = w->n_keys;
	r.escalated = d->escalate;
	r.items = w->items;
	r.n_items = w->n_items;
	r.sync_token = defer_sync ? &out->sync_token : NULL;
	rc = jm_store_commit(store, &r);
	out->queued = rc == 0 && w->n_items > 0;
	/* The store gives up sharing at the last attempt: it cannot retry. */
	if (rc == JM_STORE_RETRY && attempt + 1 >= JM_STORE_ATTEMPTS)
		return -1;
	return rc;

fail:
	if (in_txn)
		jm_store_rollback(store);
	return -1;
}

int
jm_process(const struct jm_policy *p, struct jm_store *store,
    const char *raw, size_t len, const char *env_from, char *const *rcpt,
    size_t n_rcpt, time_t now, int flags, struct jm_outcome *out)
{
	const struct jm_conf	*c = p->conf;
	const struct jm_category *cat = NULL;
	struct work		 w;
	struct jm_state		 initial;
	struct jm_decision	*d = &out->decision;
	char			 why[256];
	const char		*customer;
	int			 attempt, rc = -1;
	size_t			 i;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	if (jm_message_parse(raw, len, (size_t)c->max_scan_bytes, &w.m) == -1)
		return -1;
	if (jm_message_set_envelope(w.m, env_from, rcpt, n_rcpt) == -1)
		goto fail;
	out->msg_flags = w.m->flags;
	/* Postfix adds a missing Message-ID only after the milters. */
	if (jm_ticket(w.m->message_id, out->ticket) == -1)
		jm_ticket_bytes(raw, len, out->ticket);
	copy_cut(out->subject, sizeof(out->subject), w.m->subject);

	customer = w.m->from_addr[0] != '\0' ? w.m->from_addr :
	    (env_from != NULL ? env_from : "");
	copy_cut(out->customer, sizeof(out->customer), customer);

	if (jm_ack_is_own(c, w.m)) {
		/* Our own acknowledgement coming back: neither classified nor answered. */
		out->own_ack = 1;
		own_ack_ticket(w.m, out->ticket);
		snprintf(out->category, sizeof(out->category), "none");
		snprintf(out->summary, sizeof(out->summary),
		    "from=<%s> own acknowledgement %s, left alone",
		    env_from != NULL ? env_from : "", out->ticket);
		work_free(&w);
		return 0;
	}

	if (p->rules != NULL) {
		if (jm_rules_classify(p->rules, w.m, c->default_language,
		    &w.v) == -1)
			goto fail;
		cat = w.v.category;
		out->score = w.v.score;
		out->limited = w.v.limited;
		snprintf(out->language, sizeof(out->language), "%s",
		    w.v.language);
		join_rules(&w.v, out->rules, sizeof(out->rules));
		for (i = 0; i < w.v.n_scores && i < JM_OUT_SCORES; i++)
			out->scores[i] = w.v.scores[i];
		out->n_scores = i;
	} else
		snprintf(out->language, sizeof(out->language), "%s",
		    c->default_language);
	snprintf(out->category, sizeof(out->category), "%s",
	    cat != NULL ? cat->name : "none");
	if (thread_keys(&w) == -1)
		goto fail;

	/*
	 * The facts, read inside the transaction that will write the outcome.
	 * A shared store may find that another host changed this customer in
	 * the meantime: then nothing was written, and the message is decided
	 * again on what that host wrote.
	 */
	(void)jm_stage_parse(c->initial_stage, &initial.stage);
	initial.at_risk = 0;
	for (attempt = 0; attempt < JM_STORE_ATTEMPTS; attempt++) {
		out->tries = attempt + 1;
		rc = attempt_once(p, store, &w, cat, customer, env_from, now,
		    attempt, &initial, (flags & JM_PROCESS_DEFER_SYNC) != 0,
		    out);
		if (rc != JM_STORE_RETRY)
			break;
		rows_free(&w);
		out->webhooks = out->escalations = 0;
	}
	if (rc != 0)
		goto fail;

	add_header(out, "X-Journey-Category", out->category);
	snprintf(why, sizeof(why), "%d", out->score);
	add_header(out, "X-Journey-Score", why);
	if (out->rules[0] != '\0')
		add_header(out, "X-Journey-Rules", out->rules);
	add_header(out, "X-Journey-Language", out->language);
	snprintf(why, sizeof(why), "%s%s", jm_stage_name(d->next.stage),
	    d->next.at_risk ? "; at-risk" : "");
	add_header(out, "X-Journey-Stage", why);
	add_header(out, "X-Journey-Ticket", out->ticket);
	summarise(out, env_from);
	work_free(&w);
	return 0;

fail:
	work_free(&w);
	return -1;
}
