/*
 * test_ack.c: the acknowledgement policy (one case per reason, and the
 * mail that must still be answered), the rate limits, and composed
 * acknowledgements in English, Turkish and Persian, parsed back with GMime.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "journey/ack.h"
#include "journey/conf.h"
#include "journey/diag.h"
#include "journey/message.h"
#include "journey/template.h"

#define MAX_HDRS	8
#define NO_ENVELOPE	((const char *)-1)

struct hdr {
	const char	*name;
	const char	*value;
};

/*
 * A message as message.c would hand it over.  ENV_FROM NO_ENVELOPE: no
 * envelope (journeyctl); TO NULL: "Support <support@example.com>".
 */
struct spec {
	const char	*env_from;
	const char	*from_addr;
	const char	*from_name;
	const char	*to;
	const char	*subject;
	const char	*message_id;
	const char	*references;
	struct hdr	 h[MAX_HDRS];
};

static char *
xstrdup(const char *s)
{
	char	*p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	ck_assert_ptr_nonnull(p);
	return p;
}

static void
add_header(struct jm_message *m, const char *name, const char *value)
{
	m->headers = realloc(m->headers,
	    (m->n_headers + 1) * sizeof(*m->headers));
	ck_assert_ptr_nonnull(m->headers);
	m->headers[m->n_headers].name = xstrdup(name);
	m->headers[m->n_headers].value = xstrdup(value);
	m->n_headers++;
}

static struct jm_message *
build(const struct spec *s)
{
	struct jm_message *m = calloc(1, sizeof(*m));
	const char	*env = s->env_from != NULL ? s->env_from :
	    "ada@customer.example";
	char		 from[512];
	size_t		 i;

	ck_assert_ptr_nonnull(m);
	if (env != NO_ENVELOPE) {
		m->env_from = xstrdup(env);
		m->env_rcpt = calloc(1, sizeof(*m->env_rcpt));
		ck_assert_ptr_nonnull(m->env_rcpt);
		m->env_rcpt[0] = xstrdup("support@example.com");
		m->n_env_rcpt = 1;
	}
	m->from_addr = xstrdup(s->from_addr != NULL ? s->from_addr :
	    "ada@customer.example");
	m->from_name = xstrdup(s->from_name != NULL ? s->from_name :
	    "Ada Lovelace");
	m->subject = xstrdup(s->subject != NULL ? s->subject : "Late order");
	m->message_id = xstrdup(s->message_id != NULL ? s->message_id :
	    "<orig.1@customer.example>");
	m->references = xstrdup(s->references);
	snprintf(from, sizeof(from), "%s <%s>", m->from_name, m->from_addr);
	add_header(m, "From", from);
	add_header(m, "To", s->to != NULL ? s->to :
	    "Support <support@example.com>");
	add_header(m, "Subject", m->subject);
	add_header(m, "Message-ID", m->message_id);
	for (i = 0; i < MAX_HDRS && s->h[i].name != NULL; i++)
		add_header(m, s->h[i].name, s->h[i].value);
	return m;
}

static void
destroy(struct jm_message *m)
{
	size_t	i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_env_rcpt; i++)
		free(m->env_rcpt[i]);
	free(m->env_rcpt);
	for (i = 0; i < m->n_headers; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	free(m->env_from);
	free(m->subject);
	free(m->from_addr);
	free(m->from_name);
	free(m->message_id);
	free(m->in_reply_to);
	free(m->references);
	free(m->content_language);
	free(m->text);
	free(m->norm_text);
	free(m->norm_subject);
	free(m);
}

static struct jm_conf *
make_conf(const char *const *kv)
{
	struct jm_diag	 d;
	struct jm_conf	*c;
	char		 why[256];

	jm_diag_init(&d);
	ck_assert_int_eq(jm_conf_load(NULL, &d, &c), 0);
	jm_diag_free(&d);
	for (; kv[0] != NULL; kv += 2)
		ck_assert_msg(jm_conf_set(c, kv[0], kv[1], why,
		    sizeof(why)) == 0, "%s: %s", kv[0], why);
	return c;
}

static const char *const base_conf[] = {
	"ack_from", "Example Destek <support@example.com>",
	"watch_recipients", "support@example.com destek@example.com.tr "
	    "@help.example.org",
	"authserv_id", "mx.example.com",
	"support_name", "Example Support",
	NULL
};

static const struct policy_case {
	const char	*label;
	struct spec	 s;
	const char	*want;		/* NULL: may be answered */
} policy_cases[] = {
	/* Mail that must be answered. */
	{ "a normal customer", { 0 }, NULL },
	{ "Auto-Submitted: no",
	    { .h = { { "Auto-Submitted", " No (a person wrote this)" } } },
	    NULL },
	{ "Precedence of another kind",
	    { .h = { { "Precedence", "first-class" } } }, NULL },
	{ "X-Autoreply: no", { .h = { { "X-Autoreply", "no" } } }, NULL },
	{ "X-POST-MessageClass of a person",
	    { .h = { { "X-POST-MessageClass", "1; Normal" } } }, NULL },
	{ "X-Auto-Response-Suppress without All, OOF or AutoReply",
	    { .h = { { "X-Auto-Response-Suppress", "DR, RN, NRN" } } },
	    NULL },
	{ "X-Loop of someone else",
	    { .h = { { "X-Loop", "helpdesk@vendor.example" } } }, NULL },
	{ "X-Loop naming a longer address",
	    { .h = { { "X-Loop", "nosupport@example.com" } } }, NULL },
	{ "Authentication-Results from another authserv-id saying fail",
	    { .h = { { "Authentication-Results", "mx.forged.example; "
	    "spf=fail smtp.mailfrom=ada@customer.example; dkim=fail; "
	    "dmarc=fail" } } }, NULL },
	{ "dkim=fail beside dkim=pass",
	    { .h = { { "Authentication-Results", "mx.example.com; "
	    "dkim=fail (bad signature) header.d=list.example; "
	    "dkim=pass header.d=customer.example; spf=pass" } } }, NULL },
	{ "dkim=fail beside dkim=pass, dmarc=pass from OpenDMARC",
	    { .h = { { "Authentication-Results", "mx.example.com; "
	    "dmarc=pass (p=none dis=none) header.from=customer.example" },
	    { "Authentication-Results", "mx.example.com; "
	    "dkim=fail (bad signature) header.d=list.example; "
	    "dkim=pass header.d=customer.example" } } }, NULL },
	{ "dkim=fail beside dmarc=pass in the same header",
	    { .h = { { "Authentication-Results", "mx.example.com; "
	    "dkim=fail header.d=customer.example; spf=pass "
	    "smtp.mailfrom=customer.example; dmarc=pass "
	    "header.from=customer.example" } } }, NULL },
	{ "spf=softfail",
	    { .h = { { "Authentication-Results", "mx.example.com; "
	    "spf=softfail smtp.mailfrom=customer.example" } } }, NULL },
	{ "fail only inside a comment",
	    { .h = { { "Authentication-Results", "mx.example.com; "
	    "spf=pass (not spf=fail; dmarc=fail)" } } }, NULL },
	{ "support in Cc", { .to = "friend@elsewhere.example",
	    .h = { { "Cc", "\"Destek\" <Destek@Example.com.tr>" } } }, NULL },
	{ "support in a group",
	    { .to = "Team: other@x.example, support@example.com;" }, NULL },
	{ "watched domain", { .to = "anyone@help.example.org" }, NULL },
	{ "no envelope and a real Return-Path",
	    { .env_from = NO_ENVELOPE,
	    .h = { { "Return-Path", "<ada@customer.example>" } } }, NULL },
	{ "a role name inside a longer local part",
	    { .from_addr = "ann.noreplyer@customer.example",
	    .env_from = "ann.noreplyer@customer.example" }, NULL },

	/* One case per reason. */
	{ "null sender", { .env_from = "" }, "null-sender" },
	{ "null sender in Return-Path without an envelope",
	    { .env_from = NO_ENVELOPE, .h = { { "Return-Path", "<>" } } },
	    "null-sender" },
	{ "delivery status notification",
	    { .h = { { "Content-Type", "multipart/report; "
	    "report-type=delivery-status; boundary=\"b\"" } } },
	    "delivery-report" },
	{ "read receipt",
	    { .h = { { "Content-Type",
	    " Message/Disposition-Notification" } } }, "delivery-report" },
	{ "delivery status part type",
	    { .h = { { "Content-Type", "message/delivery-status" } } },
	    "delivery-report" },
	{ "report-type parameter",
	    { .h = { { "Content-Type", "multipart/mixed; "
	    "Report-Type=feedback-report" } } }, "delivery-report" },
	{ "Auto-Submitted: auto-replied",
	    { .h = { { "Auto-Submitted", "auto-replied" } } },
	    "auto-submitted" },
	{ "Auto-Submitted: auto-generated with parameters",
	    { .h = { { "Auto-Submitted", "Auto-Generated; owner-email="
	    "\"x@y\"" } } }, "auto-submitted" },
	{ "Auto-Submitted in capitals",
	    { .h = { { "AUTO-SUBMITTED", "AUTO-NOTIFIED" } } },
	    "auto-submitted" },
	{ "X-Autoreply", { .h = { { "X-Autoreply", "yes" } } },
	    "auto-reply-header" },
	{ "X-Autorespond", { .h = { { "X-Autorespond", "Vacation" } } },
	    "auto-reply-header" },
	{ "X-AutoReply-From",
	    { .h = { { "x-autoreply-from", "ada@customer.example" } } },
	    "auto-reply-header" },
	{ "X-Mail-Autoreply", { .h = { { "X-Mail-Autoreply", "" } } },
	    "auto-reply-header" },
	{ "X-FC-MachineGenerated",
	    { .h = { { "X-FC-MachineGenerated", "true" } } },
	    "auto-reply-header" },
	{ "X-POST-MessageClass: 9",
	    { .h = { { "X-POST-MessageClass", "9; Autoresponder" } } },
	    "auto-reply-header" },
	{ "Precedence: auto_reply",
	    { .h = { { "Precedence", "auto_reply" } } },
	    "auto-reply-header" },
	{ "X-Auto-Response-Suppress: All",
	    { .h = { { "X-Auto-Response-Suppress", "All" } } },
	    "suppress-header" },
	{ "X-Auto-Response-Suppress: OOF in a list",
	    { .h = { { "X-Auto-Response-Suppress", "DR, OOF" } } },
	    "suppress-header" },
	{ "X-Auto-Response-Suppress: AutoReply",
	    { .h = { { "X-Auto-Response-Suppress", "RN,autoreply" } } },
	    "suppress-header" },
	{ "List-Id", { .h = { { "List-Id", "<users.lists.example>" } } },
	    "list" },
	{ "List-Unsubscribe",
	    { .h = { { "list-unsubscribe", "<mailto:u@lists.example>" } } },
	    "list" },
	{ "List-Post", { .h = { { "List-Post", "NO" } } }, "list" },
	{ "Mailing-List", { .h = { { "Mailing-List", "contact x" } } },
	    "list" },
	{ "Precedence: bulk", { .h = { { "Precedence", "bulk" } } },
	    "precedence" },
	{ "Precedence: list", { .h = { { "Precedence", " List" } } },
	    "precedence" },
	{ "Precedence: junk", { .h = { { "Precedence", "JUNK" } } },
	    "precedence" },
	{ "X-Loop naming ack_from",
	    { .h = { { "X-Loop", "Support@Example.com" } } }, "loop" },
	{ "X-Loop naming a support address",
	    { .h = { { "X-Loop", "<destek@example.com.tr>" } } }, "loop" },
	{ "From is ack_from",
	    { .from_addr = "support@example.com" }, "own-address" },
	{ "envelope sender is a support address",
	    { .env_from = "destek@example.com.tr" }, "own-address" },
	{ "MAILER-DAEMON",
	    { .env_from = "mailer-daemon@mx.customer.example" },
	    "role-sender" },
	{ "postmaster in From", { .from_addr = "Postmaster@customer.example" },
	    "role-sender" },
	{ "*-request", { .env_from = "users-request@lists.example" },
	    "role-sender" },
	{ "owner-*", { .env_from = "owner-users@lists.example" },
	    "role-sender" },
	{ "noreply in From", { .from_addr = "NoReply@shop.example" },
	    "role-sender" },
	{ "no-reply with a subaddress",
	    { .from_addr = "no-reply+abc123@shop.example" }, "role-sender" },
	{ "VERP bounces",
	    { .env_from = "bounces+ada=customer.example@news.example" },
	    "role-sender" },
	{ "LISTSERV", { .env_from = "listserv@lists.example" },
	    "role-sender" },
	{ "Majordomo", { .env_from = "Majordomo@lists.example" },
	    "role-sender" },
	{ "donotreply in From", { .from_addr = "donotreply@shop.example" },
	    "role-sender" },
	{ "do-not-reply with a subaddress",
	    { .from_addr = "Do-Not-Reply+order-42@shop.example" },
	    "role-sender" },
	{ "bounce", { .env_from = "bounce@news.example" }, "role-sender" },
	{ "not to support", { .to = "sales@example.com" }, "not-to-support" },
	{ "support only in the display name",
	    { .to = "\"support@example.com\" <evil@attacker.example>" },
	    "not-to-support" },
	{ "watched subdomain is not the domain",
	    { .to = "x@sub.help.example.org" }, "not-to-support" },
	{ "spf=fail from our own authserv-id",
	    { .h = { { "Authentication-Results", "mx.example.com; "
	    "spf=fail smtp.mailfrom=director@example.com" } } }, "auth-failed" },
	{ "dmarc=fail, authserv-id in capitals with a version",
	    { .h = { { "Authentication-Results", "MX.Example.COM 1; "
	    "dkim=none; dmarc=fail (p=reject) header.from=bank.example" } } },
	    "auth-failed" },
	{ "dkim=fail alone",
	    { .h = { { "Authentication-Results", "mx.example.com;\r\n\t"
	    "dkim/1=fail header.d=customer.example" } } }, "auth-failed" },
	{ "a forged copy does not hide ours",
	    { .h = { { "Authentication-Results", "mx.forged.example; "
	    "dkim=pass" },
	    { "Authentication-Results", "mx.example.com; dkim=fail" } } },
	    "auth-failed" },
	/*
	 * A sender may forge our own authserv-id: a pass in one header never
	 * cancels a failure in another, wherever each stands.
	 */
	{ "a forged dkim=pass of ours above our dkim=fail",
	    { .h = { { "Authentication-Results", "mx.example.com; "
	    "dkim=pass header.d=customer.example" },
	    { "Authentication-Results", "mx.example.com; "
	    "dkim=fail header.d=customer.example" } } }, "auth-failed" },
	{ "a forged dkim=pass of ours below our dkim=fail",
	    { .h = { { "Authentication-Results", "mx.example.com; "
	    "dkim=fail header.d=customer.example" },
	    { "Authentication-Results", "mx.example.com; "
	    "dkim=pass header.d=customer.example" } } }, "auth-failed" },
	{ "a forged dmarc=pass does not cancel our dmarc=fail",
	    { .h = { { "Authentication-Results", "mx.example.com; "
	    "spf=pass; dkim=pass; dmarc=pass header.from=bank.example" },
	    { "Authentication-Results", "mx.example.com; "
	    "dmarc=fail (p=reject) header.from=bank.example" } } },
	    "auth-failed" },
	{ "a dmarc=pass in another header does not excuse dkim=fail",
	    { .h = { { "Authentication-Results", "mx.example.com; "
	    "dmarc=pass header.from=customer.example" },
	    { "Authentication-Results", "mx.example.com; "
	    "dkim=fail header.d=customer.example" } } }, "auth-failed" },
	{ "a failure in any header of ours counts, beside passes",
	    { .h = { { "Authentication-Results", "mx.example.com; "
	    "dkim=pass; spf=pass; dmarc=pass" },
	    { "Authentication-Results", "mx.example.com; spf=fail" } } },
	    "auth-failed" },
	{ "dkim=fail beside dkim=pass, dmarc=fail from OpenDMARC",
	    { .h = { { "Authentication-Results", "mx.example.com; "
	    "dmarc=fail (p=reject) header.from=bank.example" },
	    { "Authentication-Results", "mx.example.com; "
	    "dkim=fail header.d=bank.example; "
	    "dkim=pass header.d=attacker.example" } } }, "auth-failed" },
	{ "dkim=fail beside dkim=pass and dmarc=fail in one header",
	    { .h = { { "Authentication-Results", "mx.example.com; "
	    "dkim=fail header.d=bank.example; "
	    "dkim=pass header.d=attacker.example; "
	    "dmarc=fail header.from=bank.example" } } }, "auth-failed" },

	/* The order: the most decisive reason wins. */
	{ "a bounce from a list", { .env_from = "",
	    .h = { { "List-Id", "<x>" }, { "Auto-Submitted",
	    "auto-replied" } } }, "null-sender" },
	{ "an auto-reply from a role address",
	    { .env_from = "noreply@shop.example",
	    .h = { { "Auto-Submitted", "auto-replied" } } },
	    "auto-submitted" },
};

START_TEST(test_policy)
{
	const struct policy_case *pc = &policy_cases[_i];
	struct jm_conf	*c = make_conf(base_conf);
	struct jm_message *m = build(&pc->s);
	const char	*got;

	got = jm_ack_policy(c, m);
	if (pc->want == NULL)
		ck_assert_msg(got == NULL, "%s: suppressed as %s", pc->label,
		    got);
	else
		ck_assert_msg(got != NULL && strcmp(got, pc->want) == 0,
		    "%s: got %s, want %s", pc->label, got ? got : "NULL",
		    pc->want);
	destroy(m);
	jm_conf_unref(c);
}
END_TEST

static void
set(struct jm_conf *c, const char *key, const char *value)
{
	char	why[256];

	ck_assert_msg(jm_conf_set(c, key, value, why, sizeof(why)) == 0,
	    "%s: %s", key, why);
}

/* Reasons that depend on the configuration. */
START_TEST(test_policy_conf)
{
	static const struct spec fail = { .h = { { "Authentication-Results",
	    "mx.example.com; spf=fail" } } };
	struct jm_strlist *l;
	struct jm_conf	*c;
	struct jm_message *m;
	size_t		 i;

	m = build(&(struct spec){ 0 });
	c = make_conf(base_conf);
	ck_assert_ptr_null(jm_ack_policy(c, m));
	set(c, "ack_from", "");
	ck_assert_str_eq(jm_ack_policy(c, m), "no-from-config");
	destroy(m);
	/* With acknowledgements off, a robot is still a robot. */
	m = build(&(struct spec){ .env_from = "<>" });
	ck_assert_str_eq(jm_ack_policy(c, m), "null-sender");
	destroy(m);
	m = build(&(struct spec){ .h = { { "List-Id",
	    "<news.example.com>" } } });
	ck_assert_str_eq(jm_ack_policy(c, m), "list");
	jm_conf_unref(c);
	destroy(m);

	/* An empty authserv_id turns the check off. */
	m = build(&fail);
	c = make_conf(base_conf);
	ck_assert_str_eq(jm_ack_policy(c, m), "auth-failed");
	set(c, "authserv_id", "");
	ck_assert_ptr_null(jm_ack_policy(c, m));
	jm_conf_unref(c);
	destroy(m);

	/* The operator's own role patterns replace the defaults. */
	c = make_conf(base_conf);
	l = &c->ack_role_senders;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
	set(c, "ack_role_senders", "ops-*");
	m = build(&(struct spec){ .env_from = "OPS-Alerts@customer.example" });
	ck_assert_str_eq(jm_ack_policy(c, m), "role-sender");
	destroy(m);
	m = build(&(struct spec){ .env_from = "mailer-daemon@x.example" });
	ck_assert_ptr_null(jm_ack_policy(c, m));
	destroy(m);
	jm_conf_unref(c);

	/* support_addresses replaces the addresses of watch_recipients. */
	c = make_conf(base_conf);
	set(c, "support_addresses", "help@example.com");
	m = build(&(struct spec){ .from_addr = "help@example.com" });
	ck_assert_str_eq(jm_ack_policy(c, m), "own-address");
	destroy(m);
	m = build(&(struct spec){ .env_from = "destek@example.com.tr" });
	ck_assert_ptr_null(jm_ack_policy(c, m));
	destroy(m);
	jm_conf_unref(c);
}
END_TEST

static const struct limit_case {
	const char	*label;
	long		 interval, per_day, per_minute;
	long		 same, day, minute;
	const char	*want;
} limit_cases[] = {
	{ "first message", 86400, 3, 60, 0, 0, 0, NULL },
	{ "below every limit", 86400, 3, 60, 0, 2, 59, NULL },
	{ "same category answered", 86400, 3, 60, 1, 1, 1,
	    "already-answered" },
	{ "no interval", 0, 3, 60, 5, 1, 1, NULL },
	{ "daily limit reached", 86400, 3, 60, 0, 3, 0, "daily-limit" },
	{ "daily limit 0", 86400, 0, 60, 0, 0, 0, "daily-limit" },
	{ "global limit reached", 86400, 3, 60, 0, 0, 60, "global-limit" },
	{ "interval before the daily limit", 86400, 3, 60, 2, 9, 99,
	    "already-answered" },
};

START_TEST(test_limits)
{
	const struct limit_case *lc = &limit_cases[_i];
	struct jm_conf	*c = make_conf(base_conf);
	const char	*got;

	c->ack_interval = lc->interval;
	c->ack_max_per_day = lc->per_day;
	c->ack_max_per_minute = lc->per_minute;
	got = jm_ack_limits(c, lc->same, lc->day, lc->minute);
	if (lc->want == NULL)
		ck_assert_msg(got == NULL, "%s: got %s", lc->label, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, lc->want) == 0,
		    "%s: got %s", lc->label, got ? got : "NULL");
	jm_conf_unref(c);
}
END_TEST

static const struct strip_case {
	const char	*in;
	const char	*want;
} strip_cases[] = {
	{ "Late order", "Late order" },
	{ "Re: Late order", "Late order" },
	{ "RE: Fwd: re:  Late order", "Late order" },
	{ "Re[3]: Late", "Late" },
	{ "Re : Late", "Late" },
	{ "YNT: Sipariş", "Sipariş" },
	{ "Ynt: İLT: Sipariş", "Sipariş" },
	{ "\xd9\xbe\xd8\xa7\xd8\xb3\xd8\xae: سفارش", "سفارش" },
	{ "AW: SV: Fw: x", "x" },
	{ "Review: x", "Review: x" },
	{ "Refund", "Refund" },
	{ "Re:", "" },
	{ "", "" },
};

START_TEST(test_strip_subject)
{
	const struct strip_case *sc = &strip_cases[_i];

	ck_assert_str_eq(jm_ack_strip_subject(sc->in), sc->want);
}
END_TEST

/* Templates for the compose tests, written where the test can see them. */
static const struct {
	const char	*name;
	const char	*text;
} reply_files[] = {
	{ "complaint.en",
	    "# English\nSubject: Re: {{subject}} [{{ticket}}]\n\n"
	    "{{#customer_name}}Dear {{customer_name}},\n\n{{/customer_name}}"
	    "We are sorry. Your ticket number is {{ticket}}.\n\n"
	    "{{support_name}}\n" },
	{ "complaint.tr",
	    "Subject: Re: {{subject}} [{{ticket}}]\n\n"
	    "Merhaba {{customer_name}},\n\nŞikâyetiniz bize ulaştı. "
	    "Talep numaranız: {{ticket}}\n\n{{support_name}}\n" },
	{ "complaint.fa",
	    "Subject: Re: {{subject}} [{{ticket}}]\n\n"
	    "{{customer_name}} عزیز،\n\nپیام شما دریافت شد. "
	    "شماره پیگیری: {{ticket}}\n\n{{support_name}}\n" },
};

static char *tdir;
static struct jm_templates *templates;

static void
setup_templates(void)
{
	struct jm_diag	 d;
	char		 path[512];
	FILE		*fp;
	size_t		 i;

	tdir = strdup("/tmp/jm-ack-XXXXXX");
	ck_assert_ptr_nonnull(tdir);
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	for (i = 0; i < sizeof(reply_files) / sizeof(reply_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tdir, reply_files[i].name);
		fp = fopen(path, "w");
		ck_assert_ptr_nonnull(fp);
		fputs(reply_files[i].text, fp);
		ck_assert_int_eq(fclose(fp), 0);
	}
	jm_diag_init(&d);
	ck_assert_msg(jm_templates_load(tdir, &d, &templates) == 0, "%s",
	    d.n > 0 ? jm_diag_line(&d, 0) : "?");
	ck_assert_uint_eq(jm_templates_count(templates), 3);
	jm_diag_free(&d);
}

static void
teardown_templates(void)
{
	char	path[512];
	size_t	i;

	jm_templates_free(templates);
	templates = NULL;
	for (i = 0; i < sizeof(reply_files) / sizeof(reply_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tdir, reply_files[i].name);
		unlink(path);
	}
	rmdir(tdir);
	free(tdir);
}

/* Every header line ASCII, CRLF-terminated, at most 998 bytes. */
static void
check_header_lines(const char *out, size_t len)
{
	const char	*p = out, *end = out + len, *eol;
	size_t		 i;

	for (;;) {
		eol = memchr(p, '\n', (size_t)(end - p));
		ck_assert_ptr_nonnull(eol);
		ck_assert_msg(eol > p && eol[-1] == '\r', "bare LF in header");
		ck_assert_uint_le((size_t)(eol - 1 - p), 998);
		for (i = 0; p + i < eol; i++)
			ck_assert_msg((unsigned char)p[i] < 0x80,
			    "non-ASCII header byte in \"%.*s\"",
			    (int)(eol - p), p);
		if (eol - 1 == p)
			break;		/* the empty line */
		p = eol + 1;
	}
	/* And no bare LF in the body either. */
	for (p = eol + 1; p < end; p++)
		if (*p == '\n')
			ck_assert(p[-1] == '\r');
}

static GMimeMessage *
parse_back(const char *out, size_t len)
{
	GMimeStream	*st;
	GMimeParser	*parser;
	GMimeMessage	*msg;

	st = g_mime_stream_mem_new_with_buffer(out, len);
	parser = g_mime_parser_new_with_stream(st);
	msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(st);
	ck_assert_ptr_nonnull(msg);
	return msg;
}

static const char *
header(GMimeMessage *msg, const char *name)
{
	return g_mime_object_get_header(GMIME_OBJECT(msg), name);
}

static InternetAddressMailbox *
only_mailbox(InternetAddressList *l)
{
	InternetAddress	*ia;

	ck_assert_int_eq(internet_address_list_length(l), 1);
	ia = internet_address_list_get_address(l, 0);
	ck_assert(INTERNET_ADDRESS_IS_MAILBOX(ia));
	return INTERNET_ADDRESS_MAILBOX(ia);
}

static char *
body_text(GMimeMessage *msg)
{
	GMimeObject	*part = g_mime_message_get_mime_part(msg);

	ck_assert(GMIME_IS_TEXT_PART(part));
	return g_mime_text_part_get_text(GMIME_TEXT_PART(part));
}

static const struct compose_case {
	const char	*label;
	const char	*language;	/* asked for */
	const char	*used;		/* Content-Language */
	const char	*from_name;
	const char	*subject;
	const char	*want_subject;
	const char	*want_name;
	const char	*words[3];	/* in the decoded body */
} compose_cases[] = {
	{ "English", "en", "en", "Ada Lovelace", "Re: Late order",
	    "Re: Late order [JM-ABCD2345]", "Ada Lovelace",
	    { "Dear Ada Lovelace,", "We are sorry.", "Example Support" } },
	{ "Turkish", "tr", "tr", "Çağrı Öztürk", "YNT: Siparişim gecikti",
	    "Re: Siparişim gecikti [JM-ABCD2345]", "Çağrı Öztürk",
	    { "Merhaba Çağrı Öztürk,", "Şikâyetiniz bize ulaştı.",
	    "Talep numaranız: JM-ABCD2345" } },
	{ "Persian", "fa", "fa", "مریم احمدی",
	    "پاسخ: شکایت درباره سفارش شماره ۱۲۳",
	    "Re: شکایت درباره سفارش شماره ۱۲۳ [JM-ABCD2345]", "مریم احمدی",
	    { "مریم احمدی عزیز،", "پیام شما دریافت شد.",
	    "شماره پیگیری: JM-ABCD2345" } },
	{ "a long Persian name folds", "fa", "fa",
	    "سید محمدحسین موسوی تبریزی نژاد فرزند عبدالحمید اصفهانی",
	    "سفارش", "Re: سفارش [JM-ABCD2345]",
	    "سید محمدحسین موسوی تبریزی نژاد فرزند عبدالحمید اصفهانی",
	    { "پیام شما دریافت شد.", NULL, NULL } },
	{ "fallback to default_language", "de", "en", "", "Bestellung",
	    "Re: Bestellung [JM-ABCD2345]", NULL,
	    { "We are sorry.", "JM-ABCD2345", NULL } },
	{ "language region", "tr-tr", "tr", "Ali", "Sipariş",
	    "Re: Sipariş [JM-ABCD2345]", "Ali", { "Merhaba Ali,", NULL, NULL } },
	{ "an address as display name is no name", "en", "en",
	    "ada@customer.example", "Help",
	    "Re: Help [JM-ABCD2345]", NULL,
	    { "We are sorry.", NULL, NULL } },
	{ "a long subject folds", "tr", "tr", "Ali",
	    "Siparişim gecikti ve kargo firması hiçbir açıklama yapmadı, "
	    "üç haftadır bekliyorum ve hâlâ hiçbir bilgi alamadım, lütfen "
	    "yardımcı olun çünkü bu ürün bir hediye içindi",
	    "Re: Siparişim gecikti ve kargo firması hiçbir açıklama yapmadı, "
	    "üç haftadır bekliyorum ve hâlâ hiçbir bilgi alamadım, lütfen "
	    "yardımcı olun çünkü bu ürün bir hediye içindi [JM-ABCD2345]",
	    "Ali", { "Merhaba Ali,", NULL, NULL } },
};

START_TEST(test_compose)
{
	const struct compose_case *cc = &compose_cases[_i];
	struct jm_conf	*c = make_conf(base_conf);
	struct jm_message *m;
	InternetAddressMailbox *mb;
	GMimeMessage	*msg;
	GMimeObject	*part;
	GMimeReferences	*refs;
	GDateTime	*date;
	const char	*v;
	char		*out, why[256], *text;
	size_t		 len, i;

	m = build(&(struct spec){ .from_name = cc->from_name,
	    .subject = cc->subject,
	    .references = "<root@customer.example> <mid@customer.example>" });
	ck_assert_msg(jm_ack_compose(c, templates, m, "complaint",
	    cc->language, "JM-ABCD2345", 1700000000, &out, &len, why,
	    sizeof(why)) == 0, "%s: %s", cc->label, why);
	ck_assert_uint_eq(len, strlen(out));
	check_header_lines(out, len);
	msg = parse_back(out, len);

	ck_assert_str_eq(g_mime_message_get_subject(msg), cc->want_subject);

	mb = only_mailbox(g_mime_message_get_from(msg));
	ck_assert_str_eq(internet_address_mailbox_get_addr(mb),
	    "support@example.com");
	ck_assert_str_eq(internet_address_get_name(INTERNET_ADDRESS(mb)),
	    "Example Destek");
	mb = only_mailbox(g_mime_message_get_to(msg));
	ck_assert_str_eq(internet_address_mailbox_get_addr(mb),
	    "ada@customer.example");
	v = internet_address_get_name(INTERNET_ADDRESS(mb));
	if (cc->want_name == NULL)
		ck_assert_msg(v == NULL || *v == '\0', "%s: name %s",
		    cc->label, v);
	else
		ck_assert_str_eq(v, cc->want_name);
	ck_assert_int_eq(internet_address_list_length(
	    g_mime_message_get_cc(msg)), 0);
	ck_assert_int_eq(internet_address_list_length(
	    g_mime_message_get_bcc(msg)), 0);

	v = g_mime_message_get_message_id(msg);
	ck_assert_ptr_nonnull(v);
	ck_assert_msg(strncmp(v, "jm.JM-ABCD2345.", 15) == 0, "%s", v);
	ck_assert_msg(strlen(v) == 15 + 16 + 12 &&
	    strcmp(v + 31, "@example.com") == 0, "%s", v);
	date = g_mime_message_get_date(msg);
	ck_assert_ptr_nonnull(date);
	ck_assert_int_eq(g_date_time_to_unix(date), 1700000000);

	v = header(msg, "In-Reply-To");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v + strspn(v, " "), "<orig.1@customer.example>");
	refs = g_mime_references_parse(NULL, header(msg, "References"));
	ck_assert_int_eq(g_mime_references_length(refs), 3);
	ck_assert_str_eq(g_mime_references_get_message_id(refs, 0),
	    "root@customer.example");
	ck_assert_str_eq(g_mime_references_get_message_id(refs, 1),
	    "mid@customer.example");
	ck_assert_str_eq(g_mime_references_get_message_id(refs, 2),
	    "orig.1@customer.example");
	g_mime_references_free(refs);

	ck_assert_str_eq(header(msg, "Auto-Submitted"), "auto-replied");
	ck_assert_str_eq(header(msg, "X-Auto-Response-Suppress"), "All");
	ck_assert_str_eq(header(msg, "X-Loop"), "support@example.com");
	ck_assert_ptr_null(header(msg, "Precedence"));
	ck_assert_str_eq(header(msg, "MIME-Version"), "1.0");
	part = g_mime_message_get_mime_part(msg);
	v = g_mime_object_get_header(part, "Content-Transfer-Encoding");
	ck_assert_ptr_nonnull(v);
	ck_assert_msg(g_ascii_strcasecmp(v, "quoted-printable") == 0 ||
	    g_ascii_strcasecmp(v, "base64") == 0, "%s", v);
	ck_assert_str_eq(g_mime_object_get_content_type_parameter(part,
	    "charset"), "utf-8");
	ck_assert_str_eq(g_mime_object_get_header(part, "Content-Language"),
	    cc->used);
	/* Q words only: B words defeat some decoders (see ack.c). */
	ck_assert_msg(strstr(out, "?B?") == NULL && strstr(out, "?b?") == NULL,
	    "%s", out);

	text = body_text(msg);
	ck_assert_ptr_nonnull(strstr(text, "JM-ABCD2345"));
	for (i = 0; i < 3 && cc->words[i] != NULL; i++)
		ck_assert_msg(strstr(text, cc->words[i]) != NULL,
		    "%s: \"%s\" not in \"%s\"", cc->label, cc->words[i], text);
	g_free(text);

	g_object_unref(msg);
	free(out);
	destroy(m);
	jm_conf_unref(c);
}
END_TEST

/* CR and LF in a display name or a subject make no header of their own. */
START_TEST(test_compose_injection)
{
	struct jm_conf	*c = make_conf(base_conf);
	struct jm_message *m;
	GMimeMessage	*msg;
	const char	*p, *v;
	char		*out, why[256], *hdrs;
	size_t		 len;

	m = build(&(struct spec){ .from_name = "Eve\r\nBcc: x@evil.example",
	    .subject = "Hi\r\nBcc: y@evil.example\r\nX-Evil: 1" });
	ck_assert_int_eq(jm_ack_compose(c, templates, m, "complaint", "en",
	    "JM-ABCD2345", 1700000000, &out, &len, why, sizeof(why)), 0);
	check_header_lines(out, len);
	p = strstr(out, "\r\n\r\n");
	ck_assert_ptr_nonnull(p);
	hdrs = g_strndup(out, (gsize)(p - out) + 2);
	ck_assert_msg(strstr(hdrs, "\nBcc:") == NULL, "%s", hdrs);
	ck_assert_msg(strstr(hdrs, "\nX-Evil:") == NULL, "%s", hdrs);
	g_free(hdrs);

	msg = parse_back(out, len);
	ck_assert_ptr_null(header(msg, "Bcc"));
	ck_assert_ptr_null(header(msg, "X-Evil"));
	ck_assert_int_eq(internet_address_list_length(
	    g_mime_message_get_bcc(msg)), 0);
	only_mailbox(g_mime_message_get_to(msg));
	v = g_mime_message_get_subject(msg);
	ck_assert_ptr_null(strchr(v, '\n'));
	ck_assert_ptr_null(strchr(v, '\r'));
	ck_assert_ptr_nonnull(strstr(v, "Bcc: y@evil.example"));
	g_object_unref(msg);
	free(out);
	destroy(m);
	jm_conf_unref(c);
}
END_TEST

/* Hostile References: bounded, the thread root and the latest kept. */
START_TEST(test_compose_references)
{
	struct jm_conf	*c = make_conf(base_conf);
	struct jm_message *m;
	GMimeMessage	*msg;
	GMimeReferences	*refs;
	GString		*r = g_string_new(NULL);
	char		*out, why[256], want[64];
	size_t		 len;
	int		 i, n;

	for (i = 0; i < 500; i++)
		g_string_append_printf(r, "<id%d@customer.example> ", i);
	/* Not msg-ids: dropped. */
	g_string_append(r, "<has space@x> <\x01@x> garbage <");
	m = build(&(struct spec){ .references = r->str });
	ck_assert_int_eq(jm_ack_compose(c, templates, m, "complaint", "en",
	    "JM-ABCD2345", 1700000000, &out, &len, why, sizeof(why)), 0);
	check_header_lines(out, len);
	msg = parse_back(out, len);
	refs = g_mime_references_parse(NULL, header(msg, "References"));
	n = g_mime_references_length(refs);
	ck_assert_int_eq(n, JM_ACK_REFS_MAX);
	ck_assert_str_eq(g_mime_references_get_message_id(refs, 0),
	    "id0@customer.example");
	for (i = 1; i < n - 1; i++) {
		snprintf(want, sizeof(want), "id%d@customer.example",
		    500 - (n - 1) + i);
		ck_assert_str_eq(g_mime_references_get_message_id(refs, i),
		    want);
	}
	ck_assert_str_eq(g_mime_references_get_message_id(refs, n - 1),
	    "orig.1@customer.example");
	g_mime_references_free(refs);
	g_object_unref(msg);
	free(out);
	destroy(m);

	/* A Message-ID too long or malformed to repeat: no threading. */
	m = build(&(struct spec){ .message_id = "<a b@c>" });
	ck_assert_int_eq(jm_ack_compose(c, templates, m, "complaint", "en",
	    "JM-ABCD2345", 1700000000, &out, &len, why, sizeof(why)), 0);
	msg = parse_back(out, len);
	ck_assert_ptr_null(header(msg, "In-Reply-To"));
	ck_assert_ptr_null(header(msg, "References"));
	g_object_unref(msg);
	free(out);
	destroy(m);
	g_string_free(r, TRUE);
	jm_conf_unref(c);
}
END_TEST

START_TEST(test_compose_errors)
{
	struct jm_conf	*c = make_conf(base_conf), *c2;
	struct jm_message *m;
	char		*out = (void *)1, why[256];
	size_t		 len = 1;

	m = build(&(struct spec){ 0 });
	ck_assert_int_eq(jm_ack_compose(c, templates, m, "praise", "en",
	    "JM-ABCD2345", 1700000000, &out, &len, why, sizeof(why)), -1);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(why, "no reply template \"praise\" in en or en");
	ck_assert_int_eq(jm_ack_compose(c, NULL, m, "complaint", "en",
	    "JM-ABCD2345", 1700000000, &out, &len, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "no reply template"));

	c2 = make_conf(base_conf);
	set(c2, "ack_from", "Support");
	ck_assert_int_eq(jm_ack_compose(c2, templates, m, "complaint", "en",
	    "JM-ABCD2345", 1700000000, &out, &len, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "ack_from"));
	jm_conf_unref(c2);
	destroy(m);

	/* No From: the envelope sender is answered. */
	m = build(&(struct spec){ .env_from = "bob@customer.example",
	    .from_addr = "" });
	ck_assert_int_eq(jm_ack_compose(c, templates, m, "complaint", "en",
	    "JM-ABCD2345", 1700000000, &out, &len, why, sizeof(why)), 0);
	{
		GMimeMessage *msg = parse_back(out, len);

		ck_assert_str_eq(internet_address_mailbox_get_addr(
		    only_mailbox(g_mime_message_get_to(msg))),
		    "bob@customer.example");
		g_object_unref(msg);
	}
	free(out);
	destroy(m);

	/* Nobody to answer, or an address that cannot go into To. */
	m = build(&(struct spec){ .env_from = NO_ENVELOPE, .from_addr = "" });
	ck_assert_int_eq(jm_ack_compose(c, templates, m, "complaint", "en",
	    "JM-ABCD2345", 1700000000, &out, &len, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "no usable customer address");
	destroy(m);
	m = build(&(struct spec){ .from_addr = "a@b.example>\r\nBcc: c@d" });
	ck_assert_int_eq(jm_ack_compose(c, templates, m, "complaint", "en",
	    "JM-ABCD2345", 1700000000, &out, &len, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "no usable customer address");
	destroy(m);
	jm_conf_unref(c);
}
END_TEST

/*
 * Our own acknowledgement, coming back through a forwarder: parsed into a
 * jm_message as message.c would, it is never answered and is known as ours.
 */
START_TEST(test_own_roundtrip)
{
	struct jm_conf	*c = make_conf(base_conf);
	struct jm_message *m, *back;
	GMimeMessage	*msg;
	GMimeHeaderList	*hl;
	GMimeHeader	*h;
	char		*out, why[256];
	size_t		 len;
	int		 i;

	m = build(&(struct spec){ 0 });
	ck_assert_int_eq(jm_ack_compose(c, templates, m, "complaint", "en",
	    "JM-ABCD2345", 1700000000, &out, &len, why, sizeof(why)), 0);
	ck_assert_int_eq(jm_ack_is_own(c, m), 0);
	msg = parse_back(out, len);
	back = calloc(1, sizeof(*back));
	ck_assert_ptr_nonnull(back);
	back->env_from = xstrdup("");
	back->from_addr = xstrdup("support@example.com");
	back->from_name = xstrdup("Example Destek");
	back->subject = xstrdup(g_mime_message_get_subject(msg));
	hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	for (i = 0; i < g_mime_header_list_get_count(hl); i++) {
		h = g_mime_header_list_get_header_at(hl, i);
		add_header(back, g_mime_header_get_name(h),
		    g_mime_header_get_value(h));
	}
	ck_assert_int_eq(jm_ack_is_own(c, back), 1);
	ck_assert_ptr_nonnull(jm_ack_policy(c, back));
	/* Even from a forwarder that rewrote the envelope sender. */
	free(back->env_from);
	back->env_from = xstrdup("fwd@customer.example");
	free(back->from_addr);
	back->from_addr = xstrdup("fwd@customer.example");
	ck_assert_str_eq(jm_ack_policy(c, back), "auto-submitted");
	g_object_unref(msg);
	destroy(back);
	free(out);
	destroy(m);
	jm_conf_unref(c);
}
END_TEST

static const struct own_case {
	const char	*label;
	struct hdr	 h[3];
	const char	*message_id;
	int		 want;
} own_cases[] = {
	{ "auto-replied and our X-Loop",
	    { { "Auto-Submitted", "auto-replied" },
	    { "X-Loop", "support@example.com" } }, NULL, 1 },
	{ "auto-replied and our Message-ID",
	    { { "Auto-Submitted", "Auto-Replied" } },
	    "<jm.JM-ABCD2345.0011223344556677@Example.COM>", 1 },
	{ "our X-Loop but not auto-replied",
	    { { "X-Loop", "support@example.com" } }, NULL, 0 },
	{ "auto-generated is not our kind",
	    { { "Auto-Submitted", "auto-generated" },
	    { "X-Loop", "support@example.com" } }, NULL, 0 },
	{ "auto-replied, someone else's X-Loop",
	    { { "Auto-Submitted", "auto-replied" },
	    { "X-Loop", "helpdesk@vendor.example" } }, NULL, 0 },
	{ "auto-replied, jm. Message-ID of another domain",
	    { { "Auto-Submitted", "auto-replied" } },
	    "<jm.JM-X.00@example.com.evil>", 0 },
	{ "auto-replied, Message-ID of our domain not ours",
	    { { "Auto-Submitted", "auto-replied" } },
	    "<abc@example.com>", 0 },
};

START_TEST(test_is_own)
{
	const struct own_case *oc = &own_cases[_i];
	struct jm_conf	*c = make_conf(base_conf);
	struct jm_message *m;
	struct spec	 s;

	memset(&s, 0, sizeof(s));
	memcpy(s.h, oc->h, sizeof(oc->h));
	s.message_id = oc->message_id;
	m = build(&s);
	ck_assert_msg(jm_ack_is_own(c, m) == oc->want, "%s", oc->label);
	destroy(m);
	jm_conf_unref(c);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("ack");
	TCase	*tc = tcase_create("ack");
	TCase	*tcc = tcase_create("compose");
	SRunner	*sr;
	int	 failed;

	g_mime_init();
	tcase_add_loop_test(tc, test_policy, 0,
	    sizeof(policy_cases) / sizeof(policy_cases[0]));
	tcase_add_test(tc, test_policy_conf);
	tcase_add_loop_test(tc, test_limits, 0,
	    sizeof(limit_cases) / sizeof(limit_cases[0]));
	tcase_add_loop_test(tc, test_strip_subject, 0,
	    sizeof(strip_cases) / sizeof(strip_cases[0]));
	tcase_add_loop_test(tc, test_is_own, 0,
	    sizeof(own_cases) / sizeof(own_cases[0]));
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tcc, setup_templates, teardown_templates);
	tcase_add_loop_test(tcc, test_compose, 0,
	    sizeof(compose_cases) / sizeof(compose_cases[0]));
	tcase_add_test(tcc, test_compose_injection);
	tcase_add_test(tcc, test_compose_references);
	tcase_add_test(tcc, test_compose_errors);
	tcase_add_test(tcc, test_own_roundtrip);
	suite_add_tcase(s, tcc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	g_mime_shutdown();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
