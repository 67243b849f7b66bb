/*
 * test_webhook.c: the CRM event as JSON, read back field by field; the
 * Standard Webhooks signature against the specification's test vector;
 * the secret file in each of its forms.
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journey/webhook.h"

static const char *const two_rules[] = { "en.complaint.refund", "en.angry" };

static struct jm_event
sample(void)
{
	struct jm_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.id = "evt_01HX0000000000000000000000";
	ev.occurred = 1714564800;	/* 2024-05-01T12:00:00Z */
	ev.customer = "jane@example.com";
	ev.message_id = "<abc@mail.example.com>";
	ev.subject = "Where is my \"refund\"?";
	ev.ticket = "JM-ABCDEFGH";
	ev.category = "complaint";
	ev.score = 7;
	ev.language = "en";
	ev.rules = two_rules;
	ev.n_rules = 2;
	ev.prev.stage = JM_STAGE_ADOPT;
	ev.prev.at_risk = 0;
	ev.next.stage = JM_STAGE_ADOPT;
	ev.next.at_risk = 1;
	return ev;
}

static json_t *
parse(const char *text)
{
	json_error_t	 e;
	json_t		*j = json_loads(text, 0, &e);

	ck_assert_msg(j != NULL, "not JSON: %s: %s", e.text, text);
	return j;
}

static const char *
str_at(json_t *root, const char *a, const char *b)
{
	json_t	*v = json_object_get(root, a);

	if (b != NULL)
		v = json_object_get(v, b);
	ck_assert_msg(json_is_string(v), "%s.%s is not a string", a,
	    b != NULL ? b : "");
	return json_string_value(v);
}

START_TEST(test_event_fields)
{
	struct jm_event	 ev = sample();
	json_t		*j, *cls, *rules, *prev, *cur;
	char		*text;

	text = jm_webhook_event_json(&ev);
	ck_assert_ptr_nonnull(text);
	j = parse(text);
	ck_assert_uint_eq(json_object_size(j), 7);
	ck_assert_str_eq(str_at(j, "type", NULL), "journey.updated");
	ck_assert_str_eq(str_at(j, "id", NULL), ev.id);
	ck_assert_str_eq(str_at(j, "occurred_at", NULL), "2024-05-01T12:00:00Z");
	ck_assert_str_eq(str_at(j, "customer", "email"), "jane@example.com");
	ck_assert_str_eq(str_at(j, "message", "message_id"),
	    "<abc@mail.example.com>");
	ck_assert_str_eq(str_at(j, "message", "subject"),
	    "Where is my \"refund\"?");
	ck_assert_str_eq(str_at(j, "message", "ticket"), "JM-ABCDEFGH");
	cls = json_object_get(j, "classification");
	ck_assert_str_eq(str_at(j, "classification", "category"), "complaint");
	ck_assert(json_is_integer(json_object_get(cls, "score")));
	ck_assert_int_eq(json_integer_value(json_object_get(cls, "score")), 7);
	ck_assert_str_eq(str_at(j, "classification", "language"), "en");
	rules = json_object_get(cls, "rules");
	ck_assert(json_is_array(rules));
	ck_assert_uint_eq(json_array_size(rules), 2);
	ck_assert_str_eq(json_string_value(json_array_get(rules, 0)),
	    "en.complaint.refund");
	ck_assert_str_eq(json_string_value(json_array_get(rules, 1)),
	    "en.angry");
	prev = json_object_get(json_object_get(j, "journey"), "previous");
	cur = json_object_get(json_object_get(j, "journey"), "current");
	ck_assert_str_eq(json_string_value(json_object_get(prev, "stage")),
	    "adopt");
	ck_assert(json_is_false(json_object_get(prev, "at_risk")));
	ck_assert_str_eq(json_string_value(json_object_get(cur, "stage")),
	    "adopt");
	ck_assert(json_is_true(json_object_get(cur, "at_risk")));
	json_decref(j);
	free(text);
}
END_TEST

/* The exact bytes, key order included: receivers and docs rely on them. */
START_TEST(test_event_exact)
{
	struct jm_event	 ev = sample();
	char		*text;

	ev.prev.stage = JM_STAGE_ASSESS;
	ev.next.stage = JM_STAGE_ADMIT;
	ev.next.at_risk = 0;
	ev.category = "praise";
	ev.n_rules = 1;
	text = jm_webhook_event_json(&ev);
	ck_assert_str_eq(text,
	    "{\"type\":\"journey.updated\","
	    "\"id\":\"evt_01HX0000000000000000000000\","
	    "\"occurred_at\":\"2024-05-01T12:00:00Z\","
	    "\"customer\":{\"email\":\"jane@example.com\"},"
	    "\"message\":{\"message_id\":\"<abc@mail.example.com>\","
	    "\"subject\":\"Where is my \\\"refund\\\"?\","
	    "\"ticket\":\"JM-ABCDEFGH\"},"
	    "\"classification\":{\"category\":\"praise\",\"score\":7,"
	    "\"language\":\"en\",\"rules\":[\"en.complaint.refund\"]},"
	    "\"journey\":{\"previous\":{\"stage\":\"assess\",\"at_risk\":false},"
	    "\"current\":{\"stage\":\"admit\",\"at_risk\":false}}}");
	free(text);
}
END_TEST

START_TEST(test_event_nulls)
{
	struct jm_event	 ev = sample();
	json_t		*j, *cls;
	char		*text;

	ev.category = NULL;
	ev.message_id = NULL;
	ev.subject = NULL;
	ev.language = NULL;
	ev.rules = NULL;
	ev.n_rules = 0;
	text = jm_webhook_event_json(&ev);
	ck_assert_ptr_nonnull(text);
	j = parse(text);
	cls = json_object_get(j, "classification");
	ck_assert(json_is_null(json_object_get(cls, "category")));
	ck_assert(json_is_null(json_object_get(cls, "language")));
	ck_assert_uint_eq(json_array_size(json_object_get(cls, "rules")), 0);
	ck_assert(json_is_null(json_object_get(json_object_get(j, "message"),
	    "message_id")));
	ck_assert(json_is_null(json_object_get(json_object_get(j, "message"),
	    "subject")));
	json_decref(j);
	free(text);
}
END_TEST

/* A hostile Subject: bad bytes, overlong forms, surrogates, no end. */
START_TEST(test_event_bad_utf8)
{
	struct jm_event	 ev = sample();
	json_t		*j;
	char		*text, *big;
	const char	*subj;

	ev.subject = "caf\xc3\xa9 \xff bad \xc0\xaf overlong \xed\xa0\x80 "
	    "surrogate \xe2\x82";
	text = jm_webhook_event_json(&ev);
	ck_assert_ptr_nonnull(text);
	j = parse(text);
	subj = str_at(j, "message", "subject");
	ck_assert_str_eq(subj, "caf\xc3\xa9 \xef\xbf\xbd bad "
	    "\xef\xbf\xbd\xef\xbf\xbd overlong "
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd surrogate "
	    "\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(j);
	free(text);

	/* 5000 two-byte characters: cut at 998 bytes, between characters. */
	big = malloc(10001);
	ck_assert_ptr_nonnull(big);
	for (int i = 0; i < 5000; i++)
		memcpy(big + 2 * i, "\xc3\xa9", 2);
	big[10000] = '\0';
	ev.subject = big;
	text = jm_webhook_event_json(&ev);
	j = parse(text);
	ck_assert_uint_eq(strlen(str_at(j, "message", "subject")), 998);
	json_decref(j);
	free(text);
	free(big);
}
END_TEST

START_TEST(test_event_id)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	char	a[JM_EVENT_ID_LEN + 1], b[JM_EVENT_ID_LEN + 1];
	size_t	i;

	ck_assert_int_eq(jm_webhook_event_id(a), 0);
	usleep(3000);
	ck_assert_int_eq(jm_webhook_event_id(b), 0);
	ck_assert_uint_eq(strlen(a), JM_EVENT_ID_LEN);
	ck_assert(strncmp(a, "evt_", 4) == 0);
	for (i = 4; i < JM_EVENT_ID_LEN; i++)
		ck_assert_msg(strchr(alphabet, a[i]) != NULL, "bad char %c",
		    a[i]);
	ck_assert_str_ne(a, b);
	/* Later ids sort after earlier ones: the time comes first. */
	ck_assert_int_lt(strncmp(a, b, 14), 0);
}
END_TEST

/* The test vector published with the Standard Webhooks libraries. */
START_TEST(test_sign_vector)
{
	static const char body[] = "{\"test\": 2432232314}";
	unsigned char	*key;
	size_t		 keylen;
	char		 sig[JM_WEBHOOK_SIG_LEN], other[JM_WEBHOOK_SIG_LEN];
	char		 err[256], path[] = "/tmp/jm-whsec-XXXXXX";
	int		 fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
	    39), 39);
	close(fd);
	ck_assert_int_eq(jm_webhook_load_secret(path, &key, &keylen, err,
	    sizeof(err)), 0);
	unlink(path);
	ck_assert_uint_eq(keylen, 24);
	ck_assert_int_eq(jm_webhook_sign(key, keylen,
	    "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330L, body,
	    strlen(body), sig, sizeof(sig)), 0);
	ck_assert_str_eq(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");

	/* Each signed part matters. */
	ck_assert_int_eq(jm_webhook_sign(key, keylen,
	    "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331L, body,
	    strlen(body), other, sizeof(other)), 0);
	ck_assert_str_ne(sig, other);
	ck_assert_int_eq(jm_webhook_sign(key, keylen,
	    "msg_p5jXN8AQM9LWM0D4loKWxJeK", 1614265330L, body,
	    strlen(body), other, sizeof(other)), 0);
	ck_assert_str_ne(sig, other);
	ck_assert_int_eq(jm_webhook_sign(key, keylen,
	    "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330L, body,
	    strlen(body) - 1, other, sizeof(other)), 0);
	ck_assert_str_ne(sig, other);
	/* Too little room is refused, not cut. */
	ck_assert_int_eq(jm_webhook_sign(key, keylen, "x", 1L, body,
	    strlen(body), other, JM_WEBHOOK_SIG_LEN - 1), -1);
	jm_webhook_secret_free(key, keylen);
	jm_webhook_secret_free(NULL, 0);
}
END_TEST

static const struct secret_case {
	const char	*label;
	const char	*content;	/* NULL: no such file */
	size_t		 len;
	int		 rc;
	const char	*key;		/* raw bytes expected */
	size_t		 keylen;
	const char	*err;		/* part of the error */
} secret_cases[] = {
	{ "whsec without newline", "whsec_aGVsbG8=", 14, 0, "hello", 5, NULL },
	{ "whsec with CRLF", "whsec_aGVsbG8=\r\n", 16, 0, "hello", 5, NULL },
	{ "whsec unpadded", "whsec_aGVsbG8", 13, 0, "hello", 5, NULL },
	{ "raw with newline", "s3cr3t-value\n", 13, 0, "s3cr3t-value", 12,
	    NULL },
	{ "raw keeps inner spaces", "two words \n\n", 12, 0, "two words", 9,
	    NULL },
	{ "raw binary", "\x01\x00\x02", 3, 0, "\x01\x00\x02", 3, NULL },
	{ "whsec not base64", "whsec_!!!!", 10, -1, NULL, 0, "not base64" },
	{ "whsec empty", "whsec_\n", 7, -1, NULL, 0, "not base64" },
	{ "empty file", "\n", 1, -1, NULL, 0, "empty" },
	{ "missing file", NULL, 0, -1, NULL, 0, "cannot open" },
};

START_TEST(test_secret_file)
{
	const struct secret_case *c = &secret_cases[_i];
	unsigned char	*key = (unsigned char *)1;
	size_t		 keylen = 99;
	char		 err[256] = "", path[] = "/tmp/jm-whsec-XXXXXX";
	int		 fd, rc;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	if (c->content != NULL)
		ck_assert_int_eq(write(fd, c->content, c->len), (ssize_t)c->len);
	close(fd);
	if (c->content == NULL)
		unlink(path);
	rc = jm_webhook_load_secret(path, &key, &keylen, err, sizeof(err));
	unlink(path);
	ck_assert_msg(rc == c->rc, "%s: rc %d (%s)", c->label, rc, err);
	if (rc == 0) {
		ck_assert_uint_eq(keylen, c->keylen);
		ck_assert(memcmp(key, c->key, keylen) == 0);
	} else {
		ck_assert_ptr_null(key);
		ck_assert_uint_eq(keylen, 0);
		ck_assert_msg(strstr(err, c->err) != NULL &&
		    strstr(err, path) != NULL, "%s: error \"%s\"", c->label,
		    err);
	}
	jm_webhook_secret_free(key, keylen);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("webhook");
	TCase	*tc = tcase_create("webhook");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_event_fields);
	tcase_add_test(tc, test_event_exact);
	tcase_add_test(tc, test_event_nulls);
	tcase_add_test(tc, test_event_bad_utf8);
	tcase_add_test(tc, test_event_id);
	tcase_add_test(tc, test_sign_vector);
	tcase_add_loop_test(tc, test_secret_file, 0,
	    sizeof(secret_cases) / sizeof(secret_cases[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
