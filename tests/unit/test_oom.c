/*
 * test_oom.c: every allocation of our own code fails in turn, and nothing
 * crashes, leaks or lies.
 *
 * The test binary is linked with -Wl,--wrap for malloc, calloc, realloc,
 * strdup and strndup.  The linker redirects those calls only in the
 * objects linked statically, that is in libjourney.a and this file: the
 * allocations our code makes.  While armed, the Nth of them returns NULL;
 * the run is repeated for N = 1, 2, ... until one completes without
 * reaching N, so every allocation site on the path has failed once.  Run
 * in the sanitizer build, LeakSanitizer reports whatever a failure path
 * forgot to free.
 *
 * What this does not reach: allocations inside the libraries (GMime and
 * GLib, PCRE2, SQLite, jansson, libxml2).  GLib's g_malloc() aborts on
 * failure by design and GMime relies on it, so failing those would only
 * test GLib's abort(); the others are exercised by their own projects.
 *
 * Paths:
 *   process    a complaint (multipart, encoded words, HTML, an attachment)
 *              through jm_process() with a store in a temporary directory:
 *              parse, classify, decide, CRM event, acknowledgement, chat
 *              escalation, one transaction.  Each run returns 0 or -1 and,
 *              when it returns 0, its outcome is the one without failures
 *              or says which part it could not do.
 *   milter     the same message as Postfix hands it over, through the
 *              libmilter callbacks of milter.c (negotiation, envelope,
 *              headers with a forged X-Journey one, a body long enough
 *              to be spooled, end-of-message, close).  The libmilter
 *              calls milter.c makes are wrapped too (--wrap=smfi_*): a
 *              stand-in MTA that records the header changes.  Every run
 *              must end with the message accepted, and with all of our
 *              headers or none.
 *   conf, rules, templates   the loaders of the policy, from small texts.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "journey/ack.h"
#include "journey/conf.h"
#include "journey/diag.h"
#include "journey/message.h"
#include "journey/milter.h"
#include "journey/policy.h"
#include "journey/process.h"
#include "journey/rules.h"
#include "journey/store.h"
#include "journey/template.h"

#define RUNS_MAX	200000	/* more on one path would be a bug */

/* The wrapped allocator. */
void	*__real_malloc(size_t);
void	*__real_calloc(size_t, size_t);
void	*__real_realloc(void *, size_t);
char	*__real_strdup(const char *);
char	*__real_strndup(const char *, size_t);
void	*__wrap_malloc(size_t);
void	*__wrap_calloc(size_t, size_t);
void	*__wrap_realloc(void *, size_t);
char	*__wrap_strdup(const char *);
char	*__wrap_strndup(const char *, size_t);

static int		armed;
static unsigned long	count, fail_at, failed;

static int
should_fail(void)
{
	if (!armed)
		return 0;
	if (++count != fail_at)
		return 0;
	failed++;
	return 1;
}

void *
__wrap_malloc(size_t n)
{
	return should_fail() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	return should_fail() ? NULL : __real_strdup(s);
}

char *
__wrap_strndup(const char *s, size_t n)
{
	return should_fail() ? NULL : __real_strndup(s, n);
}

/* Arms the failure of the Nth allocation from now. */
static void
arm(unsigned long n)
{
	count = 0;
	failed = 0;
	fail_at = n;
	armed = 1;
}

/* Disarms; whether the run reached the failing allocation. */
static int
disarm(void)
{
	armed = 0;
	return failed > 0;
}

static char	tmpdir[] = "/tmp/jm-oom-XXXXXX";

static char *
write_file(const char *name, const char *text)
{
	static char	path[4096];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_ge(fputs(text, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	return path;
}

static void
setup(void)
{
	jm_message_init();
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char	cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The message of run I: its own customer and thread, so every run acts. */
static char *
complaint(unsigned long i, size_t *len)
{
	static const char fmt[] =
	    "From: =?UTF-8?B?QXnFn2UgWcSxbG1heg==?=\r\n"
	    " <ayse.%lu@customer.example>\r\n"
	    "To: Support <support@example.com>\r\n"
	    "Subject: =?UTF-8?Q?Return_-_still_no_refund_after_3_weeks?=\r\n"
	    "Message-ID: <oom-%lu@customer.example>\r\n"
	    "References: <root-%lu@customer.example>\r\n"
	    " <mid-%lu@customer.example>\r\n"
	    "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
	    "\r\n"
	    "--outer\r\n"
	    "Content-Type: multipart/alternative; boundary=\"alt\"\r\n"
	    "\r\n"
	    "--alt\r\n"
	    "Content-Type: text/plain; charset=iso-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "I sent back the shoes last month and I still haven't\r\n"
	    "seen a cent of my refund. This is not acceptable, I am very\r\n"
	    "disappointed and frustrated. Nobody answers. Caf=E9 aside.\r\n"
	    "\r\n"
	    "On Mon, 1 Nov 2026, Support wrote:\r\n"
	    "> We will be in touch within 48 hours.\r\n"
	    "\r\n"
	    "-- \r\n"
	    "Ayse\r\n"
	    "--alt\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "\r\n"
	    "<p>I still haven't seen a cent of my <b>refund</b>.</p>\r\n"
	    "--alt--\r\n"
	    "--outer\r\n"
	    "Content-Type: application/pdf; name=receipt.pdf\r\n"
	    "Content-Disposition: attachment; filename=receipt.pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "JVBERi0xLjQKJcOkw7zDtsOfCg==\r\n"
	    "--outer--\r\n";
	char	*s;
	int	 n;

	n = snprintf(NULL, 0, fmt, i, i, i, i);
	ck_assert_int_gt(n, 0);
	s = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	snprintf(s, (size_t)n + 1, fmt, i, i, i, i);
	*len = (size_t)n;
	return s;
}

START_TEST(test_process)
{
	struct jm_diag	 d;
	struct jm_policy *p;
	struct jm_store	*store;
	struct jm_outcome out;
	char		 conf[8192], err[512], *raw, *conf_path;
	char		*rcpt[] = { "<support@example.com>" };
	const char	*top = getenv("top_srcdir");
	unsigned long	 n, ok = 0, refused = 0, partial = 0;
	size_t		 len;
	int		 rc, hit;

	snprintf(conf, sizeof(conf),
	    "state_dir = %s\n"
	    "rules_dir = %s/rules\n"
	    "watch_recipients = support@example.com\n"
	    "ack_from = Support <support@example.com>\n"
	    "ack_max_per_minute = 100000\n"
	    "journey_webhook_url = http://127.0.0.1:9/crm\n"
	    "chat_target = ops slack http://127.0.0.1:9/chat complaint\n"
	    "chat_target = all json http://127.0.0.1:9/json\n",
	    tmpdir, top != NULL ? top : ".");
	conf_path = write_file("jm.conf", conf);
	jm_diag_init(&d);
	ck_assert_msg(jm_policy_load(conf_path, &d, &p) == 0, "%s",
	    d.n > 0 ? jm_diag_line(&d, 0) : "");
	jm_diag_free(&d);
	ck_assert_msg(jm_store_open(p->conf, &store, err, sizeof(err)) == 0,
	    "%s", err);

	/* The run without failures: what every other run is held to. */
	raw = complaint(0, &len);
	ck_assert_int_eq(jm_process(p, store, raw, len,
	    "<ayse.0@customer.example>", rcpt, 1, 1800000000, 0, &out), 0);
	free(raw);
	ck_assert_str_eq(out.category, "complaint");
	ck_assert_int_eq(out.decision.ack, 1);
	ck_assert_uint_eq(out.webhooks, 1);
	ck_assert_uint_eq(out.escalations, 2);

	for (n = 1; n < RUNS_MAX; n++) {
		raw = complaint(n, &len);
		arm(n);
		/* As the milter calls it: the fsync after, on its own. */
		rc = jm_process(p, store, raw, len, "<ayse@customer.example>",
		    rcpt, 1, 1800000000, JM_PROCESS_DEFER_SYNC, &out);
		hit = disarm();
		if (rc == 0)
			ck_assert_int_eq(jm_store_sync(store, out.sync_token), 0);
		free(raw);
		ck_assert_msg(rc == 0 || rc == -1, "run %lu: %d", n, rc);
		if (!hit) {
			/* Past the last allocation: the path is done. */
			ck_assert_int_eq(rc, 0);
			ck_assert_str_eq(out.category, "complaint");
			break;
		}
		if (rc == -1) {
			refused++;
			continue;
		}
		/* A verdict: the right one, or none at all. */
		if (strcmp(out.category, "complaint") == 0 &&
		    out.decision.ack && out.webhooks == 1 &&
		    out.escalations == 2)
			ok++;
		else {
			ck_assert_msg(strcmp(out.category, "complaint") == 0 ||
			    strcmp(out.category, "none") == 0,
			    "run %lu: category %s", n, out.category);
			ck_assert_msg(out.decision.ack ||
			    strcmp(out.decision.ack_reason,
			    "compose-failed") == 0 ||
			    strcmp(out.category, "none") == 0,
			    "run %lu: ack %s", n, out.decision.ack_reason);
			partial++;
		}
	}
	ck_assert_msg(n < RUNS_MAX, "more than %d allocations", RUNS_MAX);
	printf("# process: %lu allocations, each failed once: %lu runs "
	    "returned -1 (message accepted as it came), %lu complete, %lu "
	    "partial\n", n - 1, refused, ok, partial);
	ck_assert_uint_gt(n, 20);
	jm_store_close(store);
	jm_policy_unref(p);
}
END_TEST

/*
 * The stand-in MTA: what milter.c registers, and the changes it asks for.
 */
int	 __wrap_smfi_register(struct smfiDesc);
void	*__wrap_smfi_getpriv(SMFICTX *);
int	 __wrap_smfi_setpriv(SMFICTX *, void *);
char	*__wrap_smfi_getsymval(SMFICTX *, char *);
int	 __wrap_smfi_setsymlist(SMFICTX *, int, char *);
int	 __wrap_smfi_addheader(SMFICTX *, char *, char *);
int	 __wrap_smfi_chgheader(SMFICTX *, char *, int, char *);

static struct smfiDesc	 mta_desc;
static void		*mta_priv;
static unsigned		 mta_added, mta_removed;
/* What went wrong in a run; read after it, since Check allocates. */
static const char	*mta_wrong;

#define MTA_CHECK(cond, what) do {					\
	if (!(cond) && mta_wrong == NULL)				\
		mta_wrong = (what);					\
} while (0)

int
__wrap_smfi_register(struct smfiDesc d)
{
	mta_desc = d;
	return MI_SUCCESS;
}

void *
__wrap_smfi_getpriv(SMFICTX *ctx)
{
	(void)ctx;
	return mta_priv;
}

int
__wrap_smfi_setpriv(SMFICTX *ctx, void *p)
{
	(void)ctx;
	mta_priv = p;
	return MI_SUCCESS;
}

char *
__wrap_smfi_getsymval(SMFICTX *ctx, char *name)
{
	static char qid[] = "4ZK1Q2Xb3c";

	(void)ctx;
	return strcmp(name, "i") == 0 ? qid : NULL;
}

int
__wrap_smfi_setsymlist(SMFICTX *ctx, int stage, char *macros)
{
	(void)ctx;
	(void)stage;
	(void)macros;
	return MI_SUCCESS;
}

int
__wrap_smfi_addheader(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	MTA_CHECK(strncmp(name, "X-Journey-", 10) == 0 && value != NULL,
	    "a header added that is not ours");
	mta_added++;
	return MI_SUCCESS;
}

int
__wrap_smfi_chgheader(SMFICTX *ctx, char *name, int index, char *value)
{
	(void)ctx;
	MTA_CHECK(strcmp(name, "X-Journey-Category") == 0 && index == 1 &&
	    value == NULL, "a header changed that is not the forged one");
	mta_removed++;
	return MI_SUCCESS;
}

/* What a callback may answer while the message is still accepted. */
static int
passes(sfsistat r)
{
	return r == SMFIS_CONTINUE || r == SMFIS_NOREPLY || r == SMFIS_SKIP ||
	    r == SMFIS_ACCEPT;
}

/*
 * One SMTP session of one message, RAW, through the callbacks, as Postfix
 * drives them.  Returns the answer the message ended with: SMFIS_ACCEPT
 * once a callback accepted it, or what end-of-message said;
 * SMFIS_REJECT from negotiation means "do not use this milter", and the
 * MTA then passes the mail unfiltered.
 */
static sfsistat
session(char *raw, size_t len, int *reached_eom)
{
	SMFICTX		*ctx = (SMFICTX *)&mta_desc;	/* never looked into */
	char		*from[] = { "<ayse@customer.example>", NULL };
	char		*rcpt[] = { "<support@example.com>", NULL };
	unsigned long	 p0, p1, p2, p3;
	char		*line, *next, *colon, *body;
	size_t		 off, n;
	sfsistat	 r, last;

	*reached_eom = 0;
	mta_priv = NULL;
	r = mta_desc.xxfi_negotiate(ctx, SMFIF_ADDHDRS | SMFIF_CHGHDRS |
	    SMFIF_CHGBODY, 0x1fffff, 0, 0, &p0, &p1, &p2, &p3);
	if (r != SMFIS_CONTINUE) {
		MTA_CHECK(r == SMFIS_REJECT && mta_priv == NULL,
		    "negotiation failed and kept a connection");
		return SMFIS_REJECT;
	}
	last = mta_desc.xxfi_envfrom(ctx, from);
	if (last == SMFIS_CONTINUE)
		last = mta_desc.xxfi_envrcpt(ctx, rcpt);
	if (last == SMFIS_CONTINUE)
		last = mta_desc.xxfi_data(ctx);
	/* The header block, one field (with its continuations) at a time. */
	body = strstr(raw, "\r\n\r\n");
	*body = '\0';
	for (line = raw; last != SMFIS_ACCEPT && line != NULL; line = next) {
		next = line;
		while ((next = strstr(next, "\r\n")) != NULL &&
		    (next[2] == ' ' || next[2] == '\t'))
			next += 2;
		if (next != NULL) {
			*next = '\0';
			next += 2;
		}
		colon = strchr(line, ':');
		*colon = '\0';
		r = mta_desc.xxfi_header(ctx, line, colon + 1 +
		    (colon[1] == ' '));
		MTA_CHECK(passes(r), "a header callback refused the message");
	}
	body += 4;
	n = len - (size_t)(body - raw);
	for (off = 0; last != SMFIS_ACCEPT && off < n; off += 65535) {
		r = mta_desc.xxfi_body(ctx, (unsigned char *)body + off,
		    n - off < 65535 ? n - off : 65535);
		MTA_CHECK(passes(r), "a body callback refused the message");
		if (r == SMFIS_SKIP)
			break;
	}
	if (last != SMFIS_ACCEPT) {
		*reached_eom = 1;
		last = mta_desc.xxfi_eom(ctx);
	}
	r = mta_desc.xxfi_close(ctx);
	MTA_CHECK(r == SMFIS_CONTINUE && mta_priv == NULL,
	    "close left the connection's context");
	return last;
}

/* The complaint of run I with a forged header and a long body. */
static char *
long_complaint(unsigned long i, size_t *len)
{
	static const char forged[] = "X-Journey-Category: praise\r\n";
	static const char pad[] = "Order 118-4402917: still waiting for "
	    "the refund, as said above.\r\n";
	char	*c, *s, *p;
	size_t	 n, k, body;

	c = complaint(i, &n);
	p = strstr(c, "\r\n\r\n");
	ck_assert_ptr_nonnull(p);
	body = (size_t)(p - c) + 2;
	/* The padding goes after the text/plain part's own lines. */
	p = strstr(c, "-- \r\n");
	ck_assert_ptr_nonnull(p);
	k = 40 * 1024 / (sizeof(pad) - 1) + 1;
	s = malloc(n + sizeof(forged) + k * (sizeof(pad) - 1) + 1);
	ck_assert_ptr_nonnull(s);
	memcpy(s, c, body);
	memcpy(s + body, forged, sizeof(forged) - 1);
	*len = body + sizeof(forged) - 1;
	memcpy(s + *len, c + body, (size_t)(p - c) - body);
	*len += (size_t)(p - c) - body;
	while (k-- > 0) {
		memcpy(s + *len, pad, sizeof(pad) - 1);
		*len += sizeof(pad) - 1;
	}
	memcpy(s + *len, p, n - (size_t)(p - c));
	*len += n - (size_t)(p - c);
	s[*len] = '\0';
	free(c);
	return s;
}

START_TEST(test_milter)
{
	struct jm_diag	 d;
	struct jm_policy *p;
	struct jm_store	*store;
	char		 conf[8192], err[512], *raw, *conf_path;
	const char	*top = getenv("top_srcdir");
	unsigned long	 n, unused = 0, unchanged = 0, tagged = 0;
	unsigned	 all;
	size_t		 len;
	sfsistat	 r;
	int		 hit, eom;

	snprintf(conf, sizeof(conf),
	    "state_dir = %s\n"
	    "rules_dir = %s/rules\n"
	    "watch_recipients = support@example.com\n"
	    "ack_from = Support <support@example.com>\n"
	    "ack_max_per_minute = 100000\n"
	    "journey_webhook_url = http://127.0.0.1:9/crm\n"
	    "chat_target = ops slack http://127.0.0.1:9/chat complaint\n",
	    tmpdir, top != NULL ? top : ".");
	conf_path = write_file("jm.conf", conf);
	jm_diag_init(&d);
	ck_assert_msg(jm_policy_load(conf_path, &d, &p) == 0, "%s",
	    d.n > 0 ? jm_diag_line(&d, 0) : "");
	jm_diag_free(&d);
	ck_assert_msg(jm_store_open(p->conf, &store, err, sizeof(err)) == 0,
	    "%s", err);
	jm_policy_publish(p);
	jm_milter_set_store(store);
	ck_assert_int_eq(jm_milter_register(), 0);

	/* The run without failures: all our headers, the forged one gone. */
	raw = long_complaint(0, &len);
	ck_assert_uint_gt(len, 40 * 1024);
	mta_added = mta_removed = 0;
	mta_wrong = NULL;
	ck_assert_int_eq(session(raw, len, &eom), SMFIS_ACCEPT);
	free(raw);
	ck_assert_msg(mta_wrong == NULL, "%s", mta_wrong);
	ck_assert_int_eq(eom, 1);
	ck_assert_uint_eq(mta_removed, 1);
	ck_assert_uint_ge(mta_added, 6);
	all = mta_added;

	for (n = 1; n < RUNS_MAX; n++) {
		raw = long_complaint(n, &len);
		mta_added = mta_removed = 0;
		mta_wrong = NULL;
		arm(n);
		r = session(raw, len, &eom);
		hit = disarm();
		free(raw);
		ck_assert_msg(mta_wrong == NULL, "run %lu: %s", n, mta_wrong);
		ck_assert_msg(mta_removed == 0 || mta_removed == 1,
		    "run %lu: %u removals", n, mta_removed);
		if (!hit) {
			ck_assert_int_eq(r, SMFIS_ACCEPT);
			ck_assert_uint_eq(mta_added, all);
			break;
		}
		if (r == SMFIS_REJECT) {
			unused++;	/* the MTA goes on without us */
			continue;
		}
		ck_assert_msg(r == SMFIS_ACCEPT, "run %lu: %d", n, r);
		ck_assert_msg(mta_added == 0 || mta_added == all,
		    "run %lu: %u of our %u headers", n, mta_added, all);
		if (mta_added == 0)
			unchanged++;
		else
			tagged++;
	}
	ck_assert_msg(n < RUNS_MAX, "more than %d allocations", RUNS_MAX);
	printf("# milter: %lu allocations, each failed once: %lu runs "
	    "without the milter, %lu accepted unchanged, %lu tagged\n",
	    n - 1, unused, unchanged, tagged);
	ck_assert_uint_gt(n, 40);
	jm_milter_set_store(NULL);
	jm_store_close(store);
	jm_policy_publish(NULL);
}
END_TEST

START_TEST(test_conf)
{
	static const char text[] =
	    "socket = inet:127.0.0.1:8894\n"
	    "user =\n"
	    "watch_recipients = support@example.com, @example.com.tr\n"
	    "journey_webhook_url = https://crm.example.com/hook\n"
	    "ack_role_senders = noreply *-bounces\n"
	    "chat_target = ops slack https://hooks.example.com/x complaint\n"
	    "chat_target = all json http://127.0.0.1:9/json\n"
	    "max_scan_bytes = 128k\n"
	    "bogus = 1\n";
	struct jm_diag	 d;
	struct jm_conf	*c;
	char		*path;
	unsigned long	 n;
	int		 rc, hit;

	path = write_file("oom.conf", text);
	for (n = 1; n < RUNS_MAX; n++) {
		jm_diag_init(&d);
		c = NULL;
		arm(n);
		rc = jm_conf_load(path, &d, &c);
		hit = disarm();
		/* The file has an error: it is refused whatever fails. */
		ck_assert_int_eq(rc, -1);
		ck_assert_ptr_null(c);
		jm_diag_free(&d);
		if (!hit)
			break;
	}
	ck_assert_msg(n > 10 && n < RUNS_MAX, "%lu allocations", n);
}
END_TEST

START_TEST(test_rules)
{
	static const char text[] =
	    "category complaint threshold 3 precedence 20 journey at-risk "
	    "reply complaint escalate\n"
	    "category praise threshold 2 precedence 10 journey advance "
	    "reply praise\n"
	    "language en\n"
	    "rule EN_BAD complaint body /\\b(disappoint\\w*|terrible)\\b/i 3\n"
	    "rule EN_REFUND complaint body /refund|not\\s+acceptable/ 2\n"
	    "rule EN_THANKS praise body /\\bthank(s| you)\\b/ 2\n"
	    "language tr\n"
	    "rule TR_BAD complaint body /rezalet|memnun\\s+de\xc4\x9fil/i 3\n";
	struct jm_diag		 d;
	struct jm_ruleset	*rs;
	struct jm_message	*m;
	struct jm_verdict	 v;
	char			*raw;
	size_t			 len;
	unsigned long		 n;
	int			 rc, hit;

	raw = complaint(1, &len);
	ck_assert_int_eq(jm_message_parse(raw, len, 65536, &m), 0);
	free(raw);
	for (n = 1; n < RUNS_MAX; n++) {
		jm_diag_init(&d);
		rs = NULL;
		memset(&v, 0, sizeof(v));
		arm(n);
		rc = jm_rules_load_string("oom.rules", text, &d, &rs);
		if (rc == 0)
			rc = jm_rules_classify(rs, m, "en", &v);
		hit = disarm();
		if (rc == 0) {
			ck_assert_ptr_nonnull(v.category);
			ck_assert_str_eq(v.category->name, "complaint");
		} else
			ck_assert_msg(hit, "failed, no allocation did");
		jm_verdict_clear(&v);
		jm_rules_free(rs);
		jm_diag_free(&d);
		if (!hit)
			break;
	}
	jm_message_free(m);
	ck_assert_msg(n > 10 && n < RUNS_MAX, "%lu allocations", n);
}
END_TEST

START_TEST(test_templates)
{
	static const char text[] =
	    "# a comment\n"
	    "Subject: Re: {{subject}} [{{ticket}}]\n"
	    "\n"
	    "Hello{{#customer_name}} {{customer_name}}{{/customer_name}},\n"
	    "{{#cancellation_offer}}{{cancellation_offer}}"
	    "{{/cancellation_offer}}\n"
	    "{{support_name}}\n";
	static const struct jm_template_vars vars = {
	    "Ay\xc5\x9f" "e\r\nBcc: x@example.org", "Refund \xff",
	    "JM-ABCDEFGH", "complaint", "Support", "a month free" };
	struct jm_diag		 d;
	struct jm_templates	*ts;
	char			*subject, *body;
	unsigned long		 n;
	int			 rc, hit;

	for (n = 1; n < RUNS_MAX; n++) {
		jm_diag_init(&d);
		ts = NULL;
		subject = body = NULL;
		arm(n);
		rc = jm_templates_load_string("complaint.en", text,
		    sizeof(text) - 1, &d, &ts);
		if (rc == 0)
			rc = jm_template_render(jm_templates_find(ts,
			    "complaint", "en", "en"), &vars, &subject, &body);
		hit = disarm();
		if (rc == 0) {
			ck_assert_ptr_nonnull(strstr(subject, "JM-ABCDEFGH"));
			ck_assert_ptr_null(strchr(subject, '\n'));
			ck_assert_ptr_nonnull(strstr(body, "a month free"));
		} else {
			ck_assert_msg(hit, "failed, no allocation did");
			ck_assert_ptr_null(subject);
			ck_assert_ptr_null(body);
		}
		free(subject);
		free(body);
		jm_templates_free(ts);
		jm_diag_free(&d);
		if (!hit)
			break;
	}
	ck_assert_msg(n > 5 && n < RUNS_MAX, "%lu allocations", n);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("oom");
	TCase	*tc = tcase_create("allocation failures");
	SRunner	*sr;
	int	 failed_tests;

	tcase_add_checked_fixture(tc, setup, teardown);
	/* Thousands of runs under the sanitizers: minutes, not seconds. */
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_process);
	tcase_add_test(tc, test_milter);
	tcase_add_test(tc, test_conf);
	tcase_add_test(tc, test_rules);
	tcase_add_test(tc, test_templates);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed_tests = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed_tests == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
