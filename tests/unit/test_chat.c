/*
 * test_chat.c: chat payloads against golden files written from each
 * service's documentation, their escaping and limits, excerpts, links and
 * chat_target parsing.
 *
 * The golden files are tests/unit/data/chat/<format>.json, found through
 * $top_srcdir.  JM_UPDATE_GOLDEN=1 rewrites them from the code; a
 * rewritten file must be read against the service's documentation again
 * before it is committed.
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/chat.h"
#include "journey/conf.h"
#include "journey/journey.h"
#include "journey/webhook.h"

#define ELLIPSIS	"\xE2\x80\xA6"
#define WORD_JOINER	"\xE2\x81\xA0"

/* Turkish, then Persian, with everything a chat service might act on. */
#define TR_TEXT	"Merhaba,\n\n3 haftad\xC4\xB1r <sipari\xC5\x9Fim> " \
	"gelmedi & " \
	"*\xC3\xA7ok* k\xC4\xB1zg\xC4\xB1n\xC4\xB1m, _hemen_ iade " \
	"istiyorum!   @everyone bunu g\xC3\xB6rs\xC3\xBCn.\r\n"
#define FA_TEXT	"\xD8\xB3\xD9\x81\xD8\xA7\xD8\xB1\xD8\xB4 " \
	"\xD9\x85\xD9\x86 " \
	"\xD9\x87\xD9\x86\xD9\x88\xD8\xB2 \xD9\x86\xD8\xB1\xD8\xB3\xDB\x8C" \
	"\xD8\xAF\xD9\x87 \xD8\xA7\xD8\xB3\xD8\xAA \xD9\x88 \xD9\x85\xD9\x86 " \
	"\xD8\xA8\xD8\xB3\xDB\x8C\xD8\xA7\xD8\xB1 \xD9\x86\xD8\xA7\xD8\xB1" \
	"\xD8\xA7\xD8\xAD\xD8\xAA \xD9\x87\xD8\xB3\xD8\xAA\xD9\x85. "

static const char excerpt_text[] = TR_TEXT
	FA_TEXT FA_TEXT FA_TEXT FA_TEXT FA_TEXT FA_TEXT FA_TEXT FA_TEXT
	FA_TEXT FA_TEXT FA_TEXT FA_TEXT FA_TEXT FA_TEXT FA_TEXT FA_TEXT;

static const char *fixture_rules[] = {
	"tr.complaint.late_delivery", "tr.complaint.refund_demand"
};

#define FIXTURE_MID	"<20250314092653.4521@mail.example.com.tr>"
#define FIXTURE_LINK	"https://helpdesk.example.com/search?q=" \
	"20250314092653.4521%40mail.example.com.tr&t=JM-K7Q2M4XA"
#define FIXTURE_EVENT_ID	"evt_01JPAZ3T1D7Q2M4XAK7Q2M4XAB"

/*
 * The CRM event of E, built by webhook.c as process.c has it built for
 * the same message: all that the json format sends.  Caller frees with
 * free().
 */
static char *
event_of(const struct jm_escalation *e, const char *id)
{
	struct jm_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.id = id;
	ev.occurred = e->occurred_at;
	ev.customer = e->customer;
	ev.message_id = e->message_id;
	ev.subject = e->subject;
	ev.ticket = e->ticket;
	ev.category = e->category;
	ev.score = e->score;
	ev.language = e->language;
	ev.rules = e->rules;
	ev.n_rules = e->n_rules;
	ev.prev.stage = e->stage_prev;
	ev.prev.at_risk = e->at_risk_prev;
	ev.next.stage = e->stage_next;
	ev.next.at_risk = e->at_risk_next;
	return jm_webhook_event_json(&ev);
}

/* The fixture's event, built once; reachable until the end. */
static char	*fixture_event;

static void
fixture(struct jm_escalation *e)
{
	memset(e, 0, sizeof(*e));
	e->category = "complaint";
	e->score = 7;
	e->customer = "ayse.yilmaz@example.com.tr";
	e->customer_name = "Ay\xC5\x9F" "e Y\xC4\xB1lmaz";
	e->subject = "Sipari\xC5\x9F #4521 <acil> & *iade* _hemen_";
	e->excerpt = excerpt_text;
	e->language = "tr";
	e->stage_prev = JM_STAGE_ACTIVATE;
	e->at_risk_prev = 0;
	e->stage_next = JM_STAGE_ACTIVATE;
	e->at_risk_next = 1;
	e->ticket = "JM-K7Q2M4XA";
	e->rules = fixture_rules;
	e->n_rules = 2;
	e->link = FIXTURE_LINK;
	e->message_id = FIXTURE_MID;
	e->occurred_at = 1741944413;	/* 2025-03-14T09:26:53Z */
	e->support_name = "Destek Ekibi";
	if (fixture_event == NULL)
		fixture_event = event_of(e, FIXTURE_EVENT_ID);
	ck_assert_ptr_nonnull(fixture_event);
	e->event_json = fixture_event;
}

/* Strict UTF-8 (RFC 3629), written apart from chat.c's decoder. */
static int
utf8_valid(const char *str, size_t *nchars)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t		 n = 0, len, i;
	uint32_t	 c;

	while (*s != '\0') {
		if (s[0] < 0x80)
			len = 1, c = s[0];
		else if ((s[0] & 0xE0) == 0xC0)
			len = 2, c = s[0] & 0x1F;
		else if ((s[0] & 0xF0) == 0xE0)
			len = 3, c = s[0] & 0x0F;
		else if ((s[0] & 0xF8) == 0xF0)
			len = 4, c = s[0] & 0x07;
		else
			return 0;
		for (i = 1; i < len; i++) {
			if ((s[i] & 0xC0) != 0x80)
				return 0;
			c = (c << 6) | (s[i] & 0x3F);
		}
		if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
		    (len == 4 && c < 0x10000) || c > 0x10FFFF ||
		    (c >= 0xD800 && c <= 0xDFFF))
			return 0;
		s += len;
		n++;
	}
	if (nchars != NULL)
		*nchars = n;
	return 1;
}

static size_t
nchars(const char *s)
{
	size_t	n = 0;

	ck_assert_msg(utf8_valid(s, &n), "invalid UTF-8: %s", s);
	return n;
}

/* The value at PATH ("blocks/2/text/text"); NULL if there is none. */
static json_t *
jget(json_t *root, const char *path)
{
	char	 buf[256], *p, *seg, *end;
	json_t	*j = root;
	long	 i;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf; j != NULL && p != NULL; ) {
		seg = strsep(&p, "/");
		if (json_is_array(j)) {
			i = strtol(seg, &end, 10);
			j = *end == '\0' ? json_array_get(j, (size_t)i) : NULL;
		} else
			j = json_object_get(j, seg);
	}
	return j;
}

static const char *
jstr(json_t *root, const char *path)
{
	json_t	*j = jget(root, path);

	ck_assert_msg(json_is_string(j), "%s: not a string", path);
	return json_string_value(j);
}

static json_t *
make(const char *format, const struct jm_escalation *e)
{
	const struct jm_chat_format_ops *ops = jm_chat_format_find(format);
	json_error_t	 err;
	json_t		*root;
	char		*s;

	ck_assert_ptr_nonnull(ops);
	s = ops->payload(e);
	ck_assert_msg(s != NULL, "%s: no payload", format);
	ck_assert_msg(utf8_valid(s, NULL), "%s: payload not UTF-8", format);
	root = json_loads(s, 0, &err);
	ck_assert_msg(root != NULL, "%s: %s", format, err.text);
	free(s);
	return root;
}

/* Every string in J must be valid UTF-8 without control characters. */
static void
walk_strings(json_t *j, const char *format)
{
	const char	*key, *s;
	json_t		*v;
	size_t		 i;

	if (json_is_string(j)) {
		s = json_string_value(j);
		ck_assert_msg(utf8_valid(s, NULL), "%s: bad UTF-8", format);
		for (; *s != '\0'; s++)
			ck_assert_msg((unsigned char)*s >= 0x20 || *s == '\n',
			    "%s: control character in \"%s\"", format,
			    json_string_value(j));
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			walk_strings(v, format);
	} else if (json_is_object(j)) {
		json_object_foreach(j, key, v)
			walk_strings(v, format);
	}
}

/* Per-format checks of the fields a support lead reads. */

static void
check_slack(json_t *r)
{
	const char	*quote;
	json_t		*fields;
	size_t		 i;

	ck_assert_ptr_nonnull(strstr(jstr(r, "text"), "JM-K7Q2M4XA"));
	ck_assert_ptr_nonnull(strstr(jstr(r, "text"),
	    "Sipari\xC5\x9F #4521 &lt;acil&gt; &amp; *iade* _hemen_"));
	ck_assert_str_eq(jstr(r, "blocks/0/type"), "header");
	ck_assert_str_eq(jstr(r, "blocks/0/text/type"), "plain_text");
	ck_assert_str_eq(jstr(r, "blocks/0/text/text"),
	    "Complaint escalated (score 7)");
	fields = jget(r, "blocks/1/fields");
	ck_assert(json_is_array(fields));
	ck_assert_uint_le(json_array_size(fields), 10);
	for (i = 0; i < json_array_size(fields); i++) {
		ck_assert_str_eq(jstr(json_array_get(fields, i), "type"),
		    "mrkdwn");
		ck_assert_uint_le(nchars(jstr(json_array_get(fields, i),
		    "text")), 2000);
	}
	ck_assert_str_eq(jstr(r, "blocks/1/fields/0/text"),
	    "*Customer*\nAy\xC5\x9F" "e Y\xC4\xB1lmaz "
	    "&lt;ayse.yilmaz@example.com.tr&gt;");
	/* Slack decodes &amp; in a link; the raw & must not be there. */
	ck_assert_str_eq(jstr(r, "blocks/1/fields/1/text"), "*Ticket*\n"
	    "<https://helpdesk.example.com/search?q=20250314092653.4521"
	    "%40mail.example.com.tr&amp;t=JM-K7Q2M4XA|JM-K7Q2M4XA>");
	ck_assert_str_eq(jstr(r, "blocks/1/fields/2/text"),
	    "*Journey*\nactivate \xE2\x86\x92 activate, at risk");
	quote = jstr(r, "blocks/2/text/text");
	ck_assert_uint_le(nchars(quote), 3000);
	ck_assert_ptr_nonnull(strstr(quote, "&lt;sipari\xC5\x9Fim&gt; "
	    "gelmedi &amp; *\xC3\xA7ok*"));
	ck_assert_ptr_nonnull(strstr(quote, "_hemen_"));
	ck_assert_ptr_nonnull(strstr(quote, " @everyone "));
	/* The only markup is the quote marker: no raw < or > from the text. */
	ck_assert(quote[0] == '>');
	ck_assert_ptr_null(strpbrk(quote + 1, "<>"));
	ck_assert_ptr_null(strstr(quote, "\\"));
	ck_assert_str_eq(jstr(r, "blocks/3/type"), "context");
}

static void
check_mattermost(json_t *r)
{
	const char	*text;

	ck_assert_str_eq(jstr(r, "username"), "Destek Ekibi");
	ck_assert_ptr_nonnull(strstr(jstr(r, "text"),
	    "[JM-K7Q2M4XA](" FIXTURE_LINK ")"));
	ck_assert_ptr_null(jget(r, "blocks"));
	ck_assert_str_eq(jstr(r, "attachments/0/color"), "#D93025");
	ck_assert_str_eq(jstr(r, "attachments/0/title"), "JM-K7Q2M4XA");
	ck_assert_str_eq(jstr(r, "attachments/0/title_link"), FIXTURE_LINK);
	text = jstr(r, "attachments/0/text");
	ck_assert(strncmp(text, "> ", 2) == 0);
	ck_assert_ptr_nonnull(strstr(text, "\\<sipari\xC5\x9Fim\\> gelmedi "
	    "\\& \\*\xC3\xA7ok\\* k\xC4\xB1zg\xC4\xB1n\xC4\xB1m, \\_hemen\\_ "
	    "iade istiyorum\\! @" WORD_JOINER "everyone"));
	ck_assert_ptr_null(strstr(text, "@everyone"));
	/* The fallback is plain text: no backslashes, still no mention. */
	ck_assert_str_eq(jstr(r, "attachments/0/fallback"),
	    "Complaint escalated (score 7): Ay\xC5\x9F" "e Y\xC4\xB1lmaz "
	    "<ayse.yilmaz@example.com.tr> \xE2\x80\x94 Sipari\xC5\x9F #4521 "
	    "<acil> & *iade* _hemen_ (JM-K7Q2M4XA)");
	ck_assert_str_eq(jstr(r, "attachments/0/fields/4/title"), "Subject");
	ck_assert_str_eq(jstr(r, "attachments/0/fields/4/value"),
	    "Sipari\xC5\x9F \\#4521 \\<acil\\> \\& \\*iade\\* \\_hemen\\_");
	ck_assert(json_is_false(jget(r, "attachments/0/fields/4/short")));
}

static void
check_teams(json_t *r)
{
	json_t		*body, *b;
	const char	*t;
	size_t		 i;
	int		 seen = 0;

	ck_assert_str_eq(jstr(r, "type"), "message");
	ck_assert_uint_eq(json_array_size(jget(r, "attachments")), 1);
	ck_assert_str_eq(jstr(r, "attachments/0/contentType"),
	    "application/vnd.microsoft.card.adaptive");
	ck_assert(json_is_null(jget(r, "attachments/0/contentUrl")));
	ck_assert_str_eq(jstr(r, "attachments/0/content/$schema"),
	    "http://adaptivecards.io/schemas/adaptive-card.json");
	ck_assert_str_eq(jstr(r, "attachments/0/content/type"),
	    "AdaptiveCard");
	ck_assert_str_eq(jstr(r, "attachments/0/content/version"), "1.4");
	ck_assert_str_eq(jstr(r, "attachments/0/content/body/0/type"),
	    "TextBlock");
	ck_assert_str_eq(jstr(r, "attachments/0/content/body/1/type"),
	    "FactSet");
	ck_assert_str_eq(jstr(r, "attachments/0/content/actions/0/type"),
	    "Action.OpenUrl");
	ck_assert_str_eq(jstr(r, "attachments/0/content/actions/0/url"),
	    FIXTURE_LINK);
	/* The customer's words stay as typed, in TextRuns only. */
	body = jget(r, "attachments/0/content/body");
	json_array_foreach(body, i, b) {
		if (strcmp(jstr(b, "type"), "RichTextBlock") != 0)
			continue;
		t = jstr(b, "inlines/0/text");
		if (strstr(t, "<sipari\xC5\x9Fim> gelmedi & *\xC3\xA7ok* "
		    "k\xC4\xB1zg\xC4\xB1n\xC4\xB1m, _hemen_ iade istiyorum! "
		    "@everyone") != NULL)
			seen++;
		ck_assert_str_eq(jstr(b, "inlines/0/type"), "TextRun");
	}
	ck_assert_int_eq(seen, 1);
}

static void
check_discord(json_t *r)
{
	const char	*d;

	ck_assert(json_is_array(jget(r, "allowed_mentions/parse")));
	ck_assert_uint_eq(json_array_size(jget(r, "allowed_mentions/parse")),
	    0);
	ck_assert_str_eq(jstr(r, "embeds/0/title"),
	    "Complaint escalated (score 7)");
	ck_assert_str_eq(jstr(r, "embeds/0/url"), FIXTURE_LINK);
	ck_assert_str_eq(jstr(r, "embeds/0/timestamp"),
	    "2025-03-14T09:26:53Z");
	ck_assert_int_eq(json_integer_value(jget(r, "embeds/0/color")),
	    0xD93025);
	ck_assert_str_eq(jstr(r, "embeds/0/footer/text"), "Destek Ekibi");
	d = jstr(r, "embeds/0/description");
	ck_assert(strncmp(d, "> ", 2) == 0);
	ck_assert_ptr_nonnull(strstr(d, "\\<sipari\xC5\x9Fim\\> gelmedi & "
	    "\\*\xC3\xA7ok\\* k\xC4\xB1zg\xC4\xB1n\xC4\xB1m, \\_hemen\\_ iade "
	    "istiyorum! @everyone"));
	ck_assert_str_eq(jstr(r, "embeds/0/fields/0/name"), "Customer");
	ck_assert(json_is_true(jget(r, "embeds/0/fields/0/inline")));
}

static void
check_googlechat(json_t *r)
{
	const char	*p;

	/* No text from the message in Chat's unescapable text syntax. */
	ck_assert_str_eq(jstr(r, "text"),
	    "*Complaint escalated (score 7)*: ticket JM-K7Q2M4XA");
	ck_assert_str_eq(jstr(r, "cardsV2/0/cardId"),
	    "escalation-JM-K7Q2M4XA");
	ck_assert_str_eq(jstr(r, "cardsV2/0/card/header/title"),
	    "Complaint escalated (score 7)");
	ck_assert_str_eq(jstr(r,
	    "cardsV2/0/card/sections/0/widgets/0/decoratedText/topLabel"),
	    "Customer");
	ck_assert_str_eq(jstr(r,
	    "cardsV2/0/card/sections/0/widgets/1/decoratedText/text"),
	    "Sipari\xC5\x9F #4521 &lt;acil&gt; &amp; *iade* _hemen_");
	p = jstr(r, "cardsV2/0/card/sections/1/widgets/0/textParagraph/text");
	ck_assert_ptr_nonnull(strstr(p, "&lt;sipari\xC5\x9Fim&gt; gelmedi "
	    "&amp; *\xC3\xA7ok*"));
	ck_assert_ptr_null(strpbrk(p, "<>"));
	ck_assert_str_eq(jstr(r, "cardsV2/0/card/sections/2/widgets/0/"
	    "buttonList/buttons/0/onClick/openLink/url"), FIXTURE_LINK);
}

/* The CRM event, as it is: no wrapper, nothing added. */
static void
check_json(json_t *r)
{
	json_t	*event;

	ck_assert_str_eq(jstr(r, "type"), "journey.updated");
	ck_assert_str_eq(jstr(r, "id"), FIXTURE_EVENT_ID);
	ck_assert_str_eq(jstr(r, "occurred_at"), "2025-03-14T09:26:53Z");
	ck_assert_str_eq(jstr(r, "customer/email"),
	    "ayse.yilmaz@example.com.tr");
	ck_assert_str_eq(jstr(r, "message/ticket"), "JM-K7Q2M4XA");
	ck_assert_str_eq(jstr(r, "message/message_id"), FIXTURE_MID);
	ck_assert_str_eq(jstr(r, "classification/category"), "complaint");
	ck_assert_str_eq(jstr(r, "classification/rules/1"),
	    "tr.complaint.refund_demand");
	ck_assert_str_eq(jstr(r, "journey/previous/stage"), "activate");
	ck_assert(json_is_false(jget(r, "journey/previous/at_risk")));
	ck_assert(json_is_true(jget(r, "journey/current/at_risk")));
	ck_assert_ptr_null(jget(r, "event"));
	ck_assert_ptr_null(jget(r, "link"));
	event = json_loads(fixture_event, 0, NULL);
	ck_assert_ptr_nonnull(event);
	ck_assert(json_equal(r, event));
	json_decref(event);
}

static const struct format_case {
	const char	*format;
	void		(*check)(json_t *);
} format_cases[] = {
	{ "slack", check_slack },
	{ "mattermost", check_mattermost },
	{ "teams", check_teams },
	{ "discord", check_discord },
	{ "googlechat", check_googlechat },
	{ "json", check_json },
};

#define NFORMAT_CASES	(sizeof(format_cases) / sizeof(format_cases[0]))

static char *
golden_path(const char *format)
{
	const char	*top = getenv("top_srcdir");
	char		*p;
	int		 n;

	n = asprintf(&p, "%s/tests/unit/data/chat/%s.json",
	    top != NULL && *top != '\0' ? top : ".", format);
	ck_assert_int_gt(n, 0);
	return p;
}

START_TEST(test_golden)
{
	const struct format_case *c = &format_cases[_i];
	struct jm_escalation e;
	json_error_t	 err;
	json_t		*got, *want;
	FILE		*f;
	char		*path = golden_path(c->format), *a, *b;
	const char	*update = getenv("JM_UPDATE_GOLDEN");

	fixture(&e);
	got = make(c->format, &e);
	if (update != NULL && strcmp(update, "1") == 0) {
		ck_assert_int_eq(json_dump_file(got, path, JSON_INDENT(2) |
		    JSON_PRESERVE_ORDER), 0);
		/* json_dump_file ends without a newline. */
		f = fopen(path, "a");
		ck_assert_ptr_nonnull(f);
		fputc('\n', f);
		fclose(f);
	}
	want = json_load_file(path, 0, &err);
	ck_assert_msg(want != NULL, "%s: %s (line %d)", path, err.text,
	    err.line);
	if (!json_equal(got, want)) {
		a = json_dumps(got, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		b = json_dumps(want, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		/* Too long for a Check message: the documents go to stderr. */
		fprintf(stderr, "--- got\n%s\n--- want (%s)\n%s\n", a, path,
		    b);
		free(a);
		free(b);
		ck_abort_msg("%s payload differs from %s", c->format, path);
	}
	json_decref(got);
	json_decref(want);
	free(path);
}
END_TEST

START_TEST(test_fields)
{
	const struct format_case *c = &format_cases[_i];
	struct jm_escalation e;
	json_t		*r;

	fixture(&e);
	r = make(c->format, &e);
	walk_strings(r, c->format);
	c->check(r);
	json_decref(r);
}
END_TEST

/*
 * Hostile input: invalid UTF-8, controls, huge fields, every character
 * a service might act on.  Every format must still give valid JSON, and
 * Slack and Discord must stay inside the limits they enforce.
 */
START_TEST(test_hostile)
{
	const struct format_case *c = &format_cases[_i];
	struct jm_escalation e;
	json_t		*r, *v;
	char		*big, *subject, *event;
	const char	*rules[30];
	size_t		 i, n, total;

	big = malloc(200001);
	subject = malloc(20001);
	ck_assert(big != NULL && subject != NULL);
	for (i = 0; i < 200000; i++)
		big[i] = "&<_*>@`|\xff\x01\xC3"[i % 11];
	big[200000] = '\0';
	for (i = 0; i < 20000; i++)
		subject[i] = "*_<>&"[i % 5];
	subject[20000] = '\0';
	for (i = 0; i < 30; i++)
		rules[i] = "rule_with_a_rather_long_name_for_testing";
	fixture(&e);
	e.excerpt = big;
	e.subject = subject;
	e.customer_name = big;
	e.message_id = subject;
	e.support_name = big;
	e.rules = rules;
	e.n_rules = 30;
	/* The event of the same hostile message (json), or none. */
	event = strcmp(c->format, "json") == 0 ? event_of(&e, "evt_H") : NULL;
	e.event_json = event;
	e.link = "https://example.com/\x01" "bad";
	r = make(c->format, &e);
	walk_strings(r, c->format);
	if (strcmp(c->format, "discord") == 0) {
		ck_assert_uint_le(nchars(jstr(r, "content")), 2000);
		ck_assert_uint_eq(json_array_size(jget(r, "embeds")), 1);
		ck_assert_uint_le(json_array_size(jget(r, "embeds/0/fields")),
		    25);
		total = nchars(jstr(r, "embeds/0/title")) +
		    nchars(jstr(r, "embeds/0/description")) +
		    nchars(jstr(r, "embeds/0/footer/text"));
		ck_assert_uint_le(nchars(jstr(r, "embeds/0/title")), 256);
		ck_assert_uint_le(nchars(jstr(r, "embeds/0/description")),
		    4096);
		ck_assert_uint_le(nchars(jstr(r, "embeds/0/footer/text")),
		    2048);
		json_array_foreach(jget(r, "embeds/0/fields"), i, v) {
			n = nchars(jstr(v, "value"));
			ck_assert_uint_gt(n, 0);
			ck_assert_uint_le(n, 1024);
			ck_assert_uint_le(nchars(jstr(v, "name")), 256);
			total += n + nchars(jstr(v, "name"));
		}
		ck_assert_uint_le(total, 6000);
		ck_assert_ptr_null(jget(r, "embeds/0/url"));
	}
	if (strcmp(c->format, "slack") == 0) {
		ck_assert_uint_le(nchars(jstr(r, "blocks/0/text/text")), 150);
		json_array_foreach(jget(r, "blocks/1/fields"), i, v)
			ck_assert_uint_le(nchars(jstr(v, "text")), 2000);
		ck_assert_uint_le(nchars(jstr(r, "blocks/2/text/text")), 3000);
	}
	json_decref(r);
	free(event);
	free(big);
	free(subject);
}
END_TEST

/* One subject through one format: where it lands, and how it reads. */
static const struct escape_case {
	const char	*format;
	const char	*subject;
	const char	*path;
	const char	*want;
} escape_cases[] = {
	{ "slack", "<!channel> & co", "blocks/1/fields/4/text",
	    "*Subject*\n&lt;!channel&gt; &amp; co" },
	{ "slack", "*b* _i_ ~s~ `c`", "blocks/1/fields/4/text",
	    "*Subject*\n*b* _i_ ~s~ `c`" },
	{ "mattermost", "1. madde", "attachments/0/fields/4/value",
	    "1\\. madde" },
	{ "mattermost", "@here bak, a@b.com", "attachments/0/fields/4/value",
	    "@" WORD_JOINER "here bak, a@b.com" },
	{ "mattermost", "[x](http://evil) ![i](u)",
	    "attachments/0/fields/4/value",
	    "\\[x\\]\\(http://evil\\) \\!\\[i\\]\\(u\\)" },
	{ "discord", "<@123> `code` > q", "embeds/0/fields/4/value",
	    "\\<@123\\> \\`code\\` \\> q" },
	{ "discord", "2024) y\xC4\xB1l\xC4\xB1", "embeds/0/fields/4/value",
	    "2024\\) y\xC4\xB1l\xC4\xB1" },
	{ "teams", "**bold** <i>x</i> [l](u)",
	    "attachments/0/content/body/3/inlines/1/text",
	    "**bold** <i>x</i> [l](u)" },
	{ "googlechat", "<b>x</b> & <users/all>",
	    "cardsV2/0/card/sections/0/widgets/1/decoratedText/text",
	    "&lt;b&gt;x&lt;/b&gt; &amp; &lt;users/all&gt;" },
	{ "json", "*x* <y> & \"z\"", "message/subject", "*x* <y> & \"z\"" },
};

START_TEST(test_escape)
{
	const struct escape_case *c = &escape_cases[_i];
	struct jm_escalation e;
	json_t		*r;
	char		*event;

	fixture(&e);
	e.subject = c->subject;
	event = strcmp(c->format, "json") == 0 ? event_of(&e, "evt_E") : NULL;
	e.event_json = event;
	r = make(c->format, &e);
	ck_assert_msg(strcmp(jstr(r, c->path), c->want) == 0,
	    "%s: got \"%s\", want \"%s\"", c->format, jstr(r, c->path),
	    c->want);
	json_decref(r);
	free(event);
}
END_TEST

/* The json format sends the CRM event byte for byte, or nothing. */
static const char *const not_events[] = {
	NULL, "", "{\"broken\": ", "[1]", "\"journey\"", "{} {}", "{}x",
};

START_TEST(test_json_event)
{
	struct jm_escalation e;
	char		*s;
	size_t		 i;

	fixture(&e);
	s = jm_chat_json.payload(&e);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, fixture_event);
	free(s);
	/* Nothing of the escalation but the event goes in. */
	e.link = "";
	e.excerpt = "other words";
	e.target = NULL;
	s = jm_chat_json.payload(&e);
	ck_assert_str_eq(s, fixture_event);
	free(s);
	for (i = 0; i < sizeof(not_events) / sizeof(not_events[0]); i++) {
		e.event_json = not_events[i];
		ck_assert_msg(jm_chat_json.payload(&e) == NULL, "\"%s\" sent",
		    not_events[i] != NULL ? not_events[i] : "(null)");
	}
}
END_TEST

/* Excerpts. */

static const struct excerpt_case {
	const char	*label;
	const char	*in;
	size_t		 max;
	const char	*want;
} excerpt_cases[] = {
	{ "short", "hello", 10, "hello" },
	{ "exact", "hello", 5, "hello" },
	{ "cut", "hello world", 8, "hello w" ELLIPSIS },
	{ "no space before ellipsis", "hello world", 7, "hello" ELLIPSIS },
	{ "collapse", "  a \t\r\n b\n\n c  ", 20, "a b c" },
	{ "controls", "a\x01\x7f" "b", 10, "a b" },
	{ "nbsp", "a\xC2\xA0\xC2\xA0" "b", 10, "a b" },
	{ "invalid byte", "a\xFF" "b", 10, "a\xEF\xBF\xBD" "b" },
	{ "overlong", "\xC0\xAF", 10, "\xEF\xBF\xBD\xEF\xBF\xBD" },
	{ "surrogate", "\xED\xA0\x80", 10,
	    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
	{ "truncated sequence", "ab\xD8", 10, "ab\xEF\xBF\xBD" },
	{ "bidi override dropped", "a\xE2\x80\xAE" "b", 10, "ab" },
	{ "zwnj kept", "\xD9\x85\xDB\x8C\xE2\x80\x8C\xD8\xAE", 10,
	    "\xD9\x85\xDB\x8C\xE2\x80\x8C\xD8\xAE" },
	{ "turkish cut", "\xC4\xB1\xC4\xB1\xC4\xB1\xC4\xB1", 3,
	    "\xC4\xB1\xC4\xB1" ELLIPSIS },
	{ "persian cut", "\xD8\xB3\xD9\x84\xD8\xA7\xD9\x85", 2,
	    "\xD8\xB3" ELLIPSIS },
	{ "emoji cut", "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 2,
	    "\xF0\x9F\x98\x80" ELLIPSIS },
	{ "max one", "abc", 1, ELLIPSIS },
	{ "max zero", "abc", 0, "" },
	{ "max past the limit", "abc", (size_t)-1, "abc" },
	{ "empty", "", 5, "" },
	{ "blank only", " \n\t ", 5, "" },
};

START_TEST(test_excerpt)
{
	const struct excerpt_case *c = &excerpt_cases[_i];
	char	*s;

	s = jm_chat_excerpt(c->in, strlen(c->in), c->max);
	ck_assert_ptr_nonnull(s);
	ck_assert_msg(strcmp(s, c->want) == 0, "%s: got \"%s\", want \"%s\"",
	    c->label, s, c->want);
	free(s);
}
END_TEST

/*
 * Every cut of the fixture, at every length: valid UTF-8, within MAX, and
 * a prefix of the uncut text followed by the ellipsis.
 */
START_TEST(test_excerpt_sweep)
{
	char	*full, *s;
	size_t	 max, n, len, fulllen;

	full = jm_chat_excerpt(excerpt_text, strlen(excerpt_text), 100000);
	ck_assert_ptr_nonnull(full);
	fulllen = nchars(full);
	ck_assert_uint_gt(fulllen, JM_CHAT_EXCERPT_MAX);
	ck_assert_ptr_null(strpbrk(full, "\r\n\t"));
	ck_assert_ptr_null(strstr(full, "  "));
	for (max = 1; max <= fulllen + 1; max++) {
		s = jm_chat_excerpt(excerpt_text, strlen(excerpt_text), max);
		ck_assert_ptr_nonnull(s);
		n = nchars(s);
		ck_assert_uint_le(n, max);
		len = strlen(s);
		if (max >= fulllen) {
			ck_assert_str_eq(s, full);
		} else {
			ck_assert_uint_ge(len, 3);
			ck_assert(strcmp(s + len - 3, ELLIPSIS) == 0);
			ck_assert(strncmp(s, full, len - 3) == 0);
			ck_assert(len - 3 == 0 || s[len - 4] != ' ');
		}
		free(s);
	}
	/* The excerpt every format shows ends in a cut Persian word. */
	s = jm_chat_excerpt(excerpt_text, strlen(excerpt_text),
	    JM_CHAT_EXCERPT_MAX);
	len = strlen(s);
	ck_assert_uint_eq(nchars(s), JM_CHAT_EXCERPT_MAX);
	ck_assert((unsigned char)s[len - 4] >= 0x80);
	free(s);
	free(full);
}
END_TEST

/* Past the hard limit, the cut still falls between characters. */
START_TEST(test_excerpt_limit)
{
	size_t	 n = JM_CHAT_EXCERPT_LIMIT + 10, i;
	char	*big, *s;

	big = malloc(2 * n + 1);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < n; i++)
		memcpy(big + 2 * i, "\xC4\xB1", 2);
	big[2 * n] = '\0';
	s = jm_chat_excerpt(big, 2 * n, (size_t)-1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(nchars(s), JM_CHAT_EXCERPT_LIMIT);
	ck_assert(strcmp(s + strlen(s) - 3, ELLIPSIS) == 0);
	free(s);
	free(big);
}
END_TEST

/* Links. */

static const struct link_case {
	const char	*label;
	const char	*tmpl, *mid, *ticket;
	const char	*want;
} link_cases[] = {
	{ "message id", "https://h.example/search?q={{message_id}}",
	    "<a.b@example.com>", "JM-X",
	    "https://h.example/search?q=a.b%40example.com" },
	{ "ticket", "https://h.example/t/{{ticket}}", "<x@y>", "JM-AB2C",
	    "https://h.example/t/JM-AB2C" },
	{ "both, twice", "{{ticket}}:{{message_id}}:{{ticket}}", " <m@x> ",
	    "T", "T:m%40x:T" },
	{ "hostile id", "q={{message_id}}", "<a&b=c d/é?#+%>", "T",
	    "q=a%26b%3Dc%20d%2F%C3%A9%3F%23%2B%25" },
	{ "unknown placeholder kept", "x={{customer}}", "<m@x>", "T",
	    "x={{customer}}" },
	{ "unterminated", "x={{message_id", "<m@x>", "T", "x={{message_id" },
	{ "empty template", "", "<m@x>", "T", "" },
	{ "null template", NULL, "<m@x>", "T", "" },
	{ "null values", "{{message_id}}-{{ticket}}", NULL, NULL, "-" },
};

START_TEST(test_link)
{
	const struct link_case *c = &link_cases[_i];
	char	*s;

	s = jm_chat_link(c->tmpl, c->mid, c->ticket);
	ck_assert_ptr_nonnull(s);
	ck_assert_msg(strcmp(s, c->want) == 0, "%s: got \"%s\", want \"%s\"",
	    c->label, s, c->want);
	free(s);
}
END_TEST

/* Targets. */

static const struct target_case {
	const char	*label;
	const char	*lines[4];
	int		 rc;
	const char	*why;		/* for rc -1 */
	size_t		 n;		/* for rc 0 */
	size_t		 n_cats;	/* categories target 0 lists */
	/* Target 0 takes this, and not that, escalate or not. */
	const char	*wants;
	const char	*not_wants;
} target_cases[] = {
	{ "none", { NULL }, 0, NULL, 0, 0, NULL, NULL },
	{ "no list: the rules decide (test_target_default)",
	    { "ops slack https://hooks.slack.com/services/T/B/x", NULL },
	    0, NULL, 1, 0, NULL, NULL },
	{ "cancellations only",
	    { "retention slack https://x/1 cancellation", NULL },
	    0, NULL, 1, 1, "cancellation", "complaint" },
	{ "categories with commas",
	    { "ret teams https://t.example/y complaint,cancellation", NULL },
	    0, NULL, 1, 2, "cancellation", "praise" },
	{ "categories with spaces",
	    { "ret discord https://d.example/y complaint, cancellation praise",
	    NULL }, 0, NULL, 1, 3, "praise", "other" },
	{ "every category",
	    { "all json http://127.0.0.1:8080/hook *", NULL },
	    0, NULL, 1, 1, "anything", NULL },
	{ "several",
	    { "a slack https://x/1 praise", "b mattermost https://x/2",
	    "c googlechat https://x/3", NULL }, 0, NULL, 3, 1, "praise",
	    "complaint" },
	{ "too short", { "ops slack", NULL }, -1,
	    "chat_target 1: expected NAME FORMAT URL [CATEGORY,...]", 0, 0,
	    NULL, NULL },
	{ "empty line ignored", { "a slack https://x/1", " ", NULL }, 0,
	    NULL, 1, 0, NULL, NULL },
	{ "second line short", { "a slack https://x/1", "b json", NULL }, -1,
	    "chat_target 2: expected NAME FORMAT URL", 0, 0, NULL, NULL },
	{ "unknown format", { "ops irc https://x/1", NULL }, -1,
	    "chat_target \"ops\": unknown chat format \"irc\"", 0, 0, NULL,
	    NULL },
	{ "format is case-sensitive", { "ops Slack https://x/1", NULL }, -1,
	    "unknown chat format \"Slack\"", 0, 0, NULL, NULL },
	{ "bad url", { "ops slack ftp://x/1", NULL }, -1,
	    "chat_target \"ops\": \"ftp://x/1\" is not an http:// or "
	    "https:// URL",
	    0, 0, NULL, NULL },
	{ "bad name", { "o/ps slack https://x/1", NULL }, -1,
	    "chat_target 1: bad name \"o/ps\"", 0, 0, NULL, NULL },
	{ "bad category", { "ops slack https://x/1 compl@int", NULL }, -1,
	    "chat_target \"ops\": bad category \"compl@int\"", 0, 0, NULL,
	    NULL },
	{ "duplicate", { "ops slack https://x/1", "ops teams https://x/2",
	    NULL }, -1, "chat_target \"ops\" is defined twice", 0, 0, NULL,
	    NULL },
};

START_TEST(test_targets)
{
	const struct target_case *c = &target_cases[_i];
	struct jm_strlist	 l;
	struct jm_chat_target	*t = (void *)1;
	char			 why[256] = "";
	size_t			 n = 99;
	int			 rc, flag;

	for (l.n = 0; c->lines[l.n] != NULL; l.n++)
		;
	l.v = (char **)c->lines;
	rc = jm_chat_targets_parse(&l, &t, &n, why, sizeof(why));
	ck_assert_msg(rc == c->rc, "%s: rc %d (%s)", c->label, rc, why);
	if (rc == -1) {
		ck_assert_msg(strstr(why, c->why) != NULL,
		    "%s: got \"%s\", want \"%s\"", c->label, why, c->why);
		ck_assert_ptr_eq(t, (void *)1);
		ck_assert_uint_eq(n, 99);
		return;
	}
	ck_assert_uint_eq(n, c->n);
	if (n > 0) {
		ck_assert_ptr_nonnull(t[0].ops);
		ck_assert_ptr_nonnull(t[0].url);
		ck_assert_uint_eq(t[0].n_categories, c->n_cats);
	} else
		ck_assert_ptr_null(t);
	/* A list of its own decides, whatever the rules say. */
	for (flag = 0; flag <= 1; flag++) {
		if (c->wants != NULL)
			ck_assert_msg(jm_chat_target_wants(&t[0], c->wants,
			    flag), "%s: %s, escalate %d", c->label, c->wants,
			    flag);
		if (c->not_wants != NULL)
			ck_assert_msg(!jm_chat_target_wants(&t[0],
			    c->not_wants, flag), "%s: %s, escalate %d",
			    c->label, c->not_wants, flag);
	}
	jm_chat_targets_free(t, n);
}
END_TEST

/* Without a list, a target takes what the rules mark escalate, only that. */
START_TEST(test_target_default)
{
	const char		*lines[] = { "leads slack https://x/1", NULL };
	struct jm_strlist	 l = { (char **)lines, 1 };
	struct jm_chat_target	*t;
	char			 why[256];
	size_t			 n;

	ck_assert_int_eq(jm_chat_targets_parse(&l, &t, &n, why, sizeof(why)),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(t[0].n_categories, 0);
	ck_assert_ptr_null(t[0].categories);
	ck_assert(jm_chat_target_wants(&t[0], "complaint", 1));
	ck_assert(!jm_chat_target_wants(&t[0], "complaint", 0));
	ck_assert(!jm_chat_target_wants(&t[0], "cancellation", 0));
	ck_assert(jm_chat_target_wants(&t[0], "invoice", 1));
	ck_assert(!jm_chat_target_wants(&t[0], NULL, 1));
	jm_chat_targets_free(t, n);
}
END_TEST

START_TEST(test_target_fields)
{
	const char		*lines[] = {
	    "retention  teams\thttps://prod.example/workflows/x  "
	    "complaint,cancellation", NULL };
	struct jm_strlist	 l = { (char **)lines, 1 };
	struct jm_chat_target	*t;
	char			 why[256];
	size_t			 n;

	ck_assert_int_eq(jm_chat_targets_parse(&l, &t, &n, why, sizeof(why)),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(t[0].name, "retention");
	ck_assert_ptr_eq(t[0].ops, &jm_chat_teams);
	ck_assert_str_eq(t[0].url, "https://prod.example/workflows/x");
	ck_assert_uint_eq(t[0].n_categories, 2);
	ck_assert_str_eq(t[0].categories[0], "complaint");
	ck_assert_str_eq(t[0].categories[1], "cancellation");
	ck_assert(!jm_chat_target_wants(&t[0], "Complaint", 1));
	ck_assert(!jm_chat_target_wants(&t[0], NULL, 1));
	ck_assert(!jm_chat_target_wants(NULL, "complaint", 1));
	jm_chat_targets_free(t, n);
	jm_chat_targets_free(NULL, 0);
}
END_TEST

/* Options after the URL: NAME=VALUE words. */
static const struct option_case {
	const char	*label;
	const char	*line;
	const char	*why;		/* NULL: accepted */
	const char	*username, *icon_url, *icon_emoji, *channel;
	long		 rate;
	size_t		 n_cats;
} option_cases[] = {
#define BAD(label, line, why)	\
	{ label, line, why, NULL, NULL, NULL, NULL, -1, 0 }
	{ "mattermost, every option",
	    "ret mattermost https://mm.example/hooks/x cancellation "
	    "username=\"Retention desk\" icon_url=https://cdn.example/r.png "
	    "icon_emoji=:rotating_light: channel=retention rate=5",
	    NULL, "Retention desk", "https://cdn.example/r.png",
	    ":rotating_light:", "retention", 5, 1 },
	{ "options among the categories",
	    "ret mattermost https://x/1 complaint rate=0 cancellation",
	    NULL, NULL, NULL, NULL, NULL, 0, 2 },
	{ "a direct message, an emoji without colons",
	    "dm mattermost https://x/1 channel=@ayse.yilmaz icon_emoji=tada",
	    NULL, NULL, NULL, "tada", "@ayse.yilmaz", -1, 0 },
	{ "quotes inside a word", "q mattermost https://x/1 "
	    "username=Destek\" Ekibi\"", NULL, "Destek Ekibi", NULL, NULL,
	    NULL, -1, 0 },
	{ "rate for any format", "ops slack https://x/1 rate=100000", NULL,
	    NULL, NULL, NULL, NULL, 100000, 0 },
	{ "no options", "ops teams https://x/1", NULL, NULL, NULL, NULL,
	    NULL, -1, 0 },
	BAD("unknown option", "ops mattermost https://x/1 colour=red",
	    "chat_target \"ops\": unknown option \"colour\" (username, "
	    "icon_url, icon_emoji, channel or rate)"),
	BAD("no name", "ops mattermost https://x/1 =red",
	    "chat_target \"ops\": unknown option \"\""),
	BAD("case matters", "ops mattermost https://x/1 Username=x",
	    "unknown option \"Username\""),
	BAD("username on slack", "ops slack https://x/1 username=bot",
	    "chat_target \"ops\": username= is for the mattermost format "
	    "only"),
	BAD("channel on discord", "ops discord https://x/1 channel=x",
	    "channel= is for the mattermost format only"),
	BAD("icon_url not http", "ops mattermost https://x/1 "
	    "icon_url=ftp://x/i.png", "chat_target \"ops\": "
	    "icon_url=\"ftp://x/i.png\" is not an http:// or https:// URL"),
	BAD("icon_url with a space", "ops mattermost https://x/1 "
	    "icon_url=\"https://x/a b.png\"", "icon_url=\"https://x/a b.png\" "
	    "is not"),
	BAD("empty username", "ops mattermost https://x/1 username=\"\"",
	    "username=\"\" is not plain text"),
	BAD("username with a tab", "ops mattermost https://x/1 "
	    "username=\"a\tb\"", "is not plain text"),
	BAD("username too long", "ops mattermost https://x/1 username="
	    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm",
	    "is not plain text of 1 to 64 characters"),
	BAD("username, invalid UTF-8", "ops mattermost https://x/1 "
	    "username=a\xff", "is not plain text"),
	BAD("bad emoji", "ops mattermost https://x/1 icon_emoji=Party!",
	    "icon_emoji=\"Party!\" is not an emoji name"),
	BAD("bad channel", "ops mattermost https://x/1 channel=\"Town Square\"",
	    "channel=\"Town Square\" is not a channel name"),
	BAD("rate too high", "ops slack https://x/1 rate=100001",
	    "rate=\"100001\" is not a whole number from 0 (no limit) to "
	    "100000"),
	BAD("rate negative", "ops slack https://x/1 rate=-1",
	    "rate=\"-1\" is not a whole number"),
	BAD("rate empty", "ops slack https://x/1 rate=",
	    "rate=\"\" is not a whole number"),
	BAD("rate twice", "ops slack https://x/1 rate=1 rate=2",
	    "chat_target \"ops\": rate= given twice"),
	BAD("username twice", "ops mattermost https://x/1 username=a "
	    "username=b", "username= given twice"),
	BAD("quote left open", "ops mattermost https://x/1 username=\"Destek",
	    "chat_target 1: a double quote is left open"),
#undef BAD
};

START_TEST(test_target_options)
{
	const struct option_case *c = &option_cases[_i];
	const char		*lines[] = { c->line, NULL };
	struct jm_strlist	 l = { (char **)lines, 1 };
	struct jm_chat_target	*t = NULL;
	char			 why[512] = "";
	size_t			 n = 0;
	int			 rc;

	rc = jm_chat_targets_parse(&l, &t, &n, why, sizeof(why));
	if (c->why != NULL) {
		ck_assert_msg(rc == -1, "%s: accepted", c->label);
		ck_assert_msg(strstr(why, c->why) != NULL,
		    "%s: got \"%s\", want \"%s\"", c->label, why, c->why);
		/* Checked alone, as the configuration does: no prefix. */
		ck_assert_int_eq(jm_chat_target_check(c->line, why,
		    sizeof(why)), -1);
		ck_assert_msg(strncmp(why, "chat_target", 11) != 0,
		    "%s: \"%s\"", c->label, why);
		return;
	}
	ck_assert_msg(rc == 0, "%s: %s", c->label, why);
	ck_assert_int_eq(jm_chat_target_check(c->line, why, sizeof(why)), 0);
	ck_assert_uint_eq(n, 1);
#define OPT_EQ(f)	do {						\
	if (c->f == NULL)						\
		ck_assert_ptr_null(t[0].f);				\
	else								\
		ck_assert_str_eq(t[0].f, c->f);				\
} while (0)
	OPT_EQ(username);
	OPT_EQ(icon_url);
	OPT_EQ(icon_emoji);
	OPT_EQ(channel);
#undef OPT_EQ
	ck_assert_int_eq(t[0].rate, c->rate);
	ck_assert_uint_eq(t[0].n_categories, c->n_cats);
	jm_chat_targets_free(t, n);
}
END_TEST

/* The rate the outbox applies to a URL. */
START_TEST(test_target_rate)
{
	const char		*lines[] = {
	    "a slack https://x/1",
	    "b slack https://x/2 rate=5",
	    "c mattermost https://x/2 rate=9",
	    "d json https://x/3 rate=0", NULL };
	struct jm_strlist	 l = { (char **)lines, 4 };
	struct jm_chat_target	*t;
	char			 why[256];
	size_t			 n;

	ck_assert_int_eq(jm_chat_targets_parse(&l, &t, &n, why, sizeof(why)),
	    0);
	ck_assert_int_eq(jm_chat_targets_rate(t, n, "https://x/1", 30), 30);
	ck_assert_int_eq(jm_chat_targets_rate(t, n, "https://x/2", 30), 5);
	ck_assert_int_eq(jm_chat_targets_rate(t, n, "https://x/3", 30), 0);
	ck_assert_int_eq(jm_chat_targets_rate(t, n, "https://x/4", 30), 30);
	ck_assert_int_eq(jm_chat_targets_rate(NULL, 0, "https://x/1", 7), 7);
	jm_chat_targets_free(t, n);
}
END_TEST

/* Mattermost's post options, from the target, into the payload. */
START_TEST(test_mattermost_options)
{
	const char		*lines[] = {
	    "ret mattermost https://mm.example/hooks/x complaint "
	    "username=\"Retention desk\" icon_url=https://cdn.example/r.png "
	    "icon_emoji=rotating_light channel=@lead", NULL };
	struct jm_strlist	 l = { (char **)lines, 1 };
	struct jm_chat_target	*t, bare;
	struct jm_escalation	 e;
	char			 why[256];
	size_t			 n;
	json_t			*r;

	ck_assert_int_eq(jm_chat_targets_parse(&l, &t, &n, why, sizeof(why)),
	    0);
	fixture(&e);
	e.target = t;
	r = make("mattermost", &e);
	ck_assert_str_eq(jstr(r, "username"), "Retention desk");
	ck_assert_str_eq(jstr(r, "icon_url"), "https://cdn.example/r.png");
	ck_assert_str_eq(jstr(r, "icon_emoji"), "rotating_light");
	ck_assert_str_eq(jstr(r, "channel"), "@lead");
	/* The rest is the post without options. */
	ck_assert_str_eq(jstr(r, "attachments/0/title"), "JM-K7Q2M4XA");
	json_decref(r);

	/* A target without options: support_name, no icon, no channel. */
	memset(&bare, 0, sizeof(bare));
	bare.rate = -1;
	e.target = &bare;
	r = make("mattermost", &e);
	ck_assert_str_eq(jstr(r, "username"), "Destek Ekibi");
	ck_assert_ptr_null(jget(r, "icon_url"));
	ck_assert_ptr_null(jget(r, "icon_emoji"));
	ck_assert_ptr_null(jget(r, "channel"));
	json_decref(r);

	/* Other formats ignore a target's Mattermost options. */
	e.target = t;
	r = make("slack", &e);
	ck_assert_ptr_null(jget(r, "username"));
	ck_assert_ptr_null(jget(r, "icon_url"));
	json_decref(r);
	jm_chat_targets_free(t, n);
}
END_TEST

START_TEST(test_formats)
{
	const struct jm_chat_format_ops *const *f;
	size_t	n, i;

	f = jm_chat_formats(&n);
	ck_assert_uint_eq(n, NFORMAT_CASES);
	for (i = 0; i < n; i++) {
		ck_assert_ptr_eq(jm_chat_format_find(f[i]->name), f[i]);
		ck_assert_str_eq(f[i]->name, format_cases[i].format);
	}
	ck_assert_ptr_null(jm_chat_format_find("msteams"));
	ck_assert_ptr_null(jm_chat_format_find(NULL));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("chat");
	TCase	*tc = tcase_create("chat");
	SRunner	*sr;
	int	 failed;

	tcase_add_loop_test(tc, test_golden, 0, NFORMAT_CASES);
	tcase_add_loop_test(tc, test_fields, 0, NFORMAT_CASES);
	tcase_add_loop_test(tc, test_hostile, 0, NFORMAT_CASES);
	tcase_add_loop_test(tc, test_escape, 0,
	    sizeof(escape_cases) / sizeof(escape_cases[0]));
	tcase_add_test(tc, test_json_event);
	tcase_add_loop_test(tc, test_excerpt, 0,
	    sizeof(excerpt_cases) / sizeof(excerpt_cases[0]));
	tcase_add_test(tc, test_excerpt_sweep);
	tcase_add_test(tc, test_excerpt_limit);
	tcase_add_loop_test(tc, test_link, 0,
	    sizeof(link_cases) / sizeof(link_cases[0]));
	tcase_add_loop_test(tc, test_targets, 0,
	    sizeof(target_cases) / sizeof(target_cases[0]));
	tcase_add_test(tc, test_target_default);
	tcase_add_test(tc, test_target_fields);
	tcase_add_loop_test(tc, test_target_options, 0,
	    sizeof(option_cases) / sizeof(option_cases[0]));
	tcase_add_test(tc, test_target_rate);
	tcase_add_test(tc, test_mattermost_options);
	tcase_add_test(tc, test_formats);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
