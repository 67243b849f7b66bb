/*
 * webhook.c: the CRM's journey event and its Standard Webhooks signature.
 *
 * The event is built with jansson, so quoting is never ours to get wrong;
 * strings from the message are made valid UTF-8 first, since jansson
 * refuses anything else and one bad byte in a Subject must not cost the
 * CRM its event.  The signature is computed at each attempt by the outbox,
 * with the attempt's own timestamp, which is why it is a separate function.
 *
 * Deliberately not here: sending (outbox.c) and deciding what the event
 * says (decide.c).  The payload is fixed; a receiver that wants another
 * shape transforms it on its side.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "journey/util.h"
#include "journey/webhook.h"

#define SUBJECT_MAX	998		/* RFC 5322's longest line */
#define STRING_MAX	4096		/* any other string from outside */
#define SECRET_FILE_MAX	4096

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int
jm_webhook_event_id(char out[JM_EVENT_ID_LEN + 1])
{
	unsigned char	 rnd[10];
	struct timeval	 tv;
	uint64_t	 ms;
	int		 i, bit;

	if (jm_random(rnd, sizeof(rnd)) == -1)
		return -1;
	gettimeofday(&tv, NULL);
	ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
	memcpy(out, "evt_", 4);
	/* 10 characters carry 50 bits; the time is 48 of them. */
	for (i = 0; i < 10; i++)
		out[4 + i] = crockford[(ms >> (45 - 5 * i)) & 31];
	/* 16 characters carry the 80 random bits, 5 at a time. */
	for (i = 0; i < 16; i++) {
		unsigned v = 0;
		int	 b;

		for (b = 0; b < 5; b++) {
			bit = i * 5 + b;
			v = (v << 1) | ((rnd[bit / 8] >> (7 - bit % 8)) & 1);
		}
		out[14 + i] = crockford[v];
	}
	out[JM_EVENT_ID_LEN] = '\0';
	return 0;
}

/* Length of the valid UTF-8 sequence at S (N bytes left), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t		 len, i;
	uint32_t	 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * S as a JSON string, at most MAX bytes of it (cut between characters),
 * with each invalid byte replaced by U+FFFD; json null for NULL.
 */
static json_t *
json_text(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char	*out;
	size_t		 n, i = 0, o = 0, len;
	json_t		*j;

	if (s == NULL)
		return json_null();
	n = strlen(s);
	/* Each input byte becomes at most 3 output bytes (U+FFFD). */
	out = malloc(3 * (n < max ? n : max) + 1);
	if (out == NULL)
		return NULL;
	while (i < n) {
		len = utf8_seq(p + i, n - i);
		if (len == 0) {
			if (o + 3 > max)
				break;
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		if (o + len > max)
			break;
		memcpy(out + o, p + i, len);
		o += len;
		i += len;
	}
	out[o] = '\0';
	j = json_stringn((const char *)out, o);
	free(out);
	return j;
}

char *
jm_webhook_event_json(const struct jm_event *ev)
{
	json_t		*v[8], *rules, *root;
	struct tm	 tm;
	char		 when[32], *text;
	size_t		 i, k;
	int		 bad = 0;

	if (gmtime_r(&ev->occurred, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	v[0] = json_text(ev->id, STRING_MAX);
	v[1] = json_text(ev->customer, STRING_MAX);
	v[2] = json_text(ev->message_id, STRING_MAX);
	v[3] = json_text(ev->subject, SUBJECT_MAX);
	v[4] = json_text(ev->ticket, STRING_MAX);
	v[5] = json_text(ev->category, STRING_MAX);
	v[6] = json_text(ev->language, STRING_MAX);
	v[7] = rules = json_array();
	for (k = 0; k < 8; k++)
		if (v[k] == NULL)
			bad = 1;
	for (i = 0; !bad && i < ev->n_rules; i++)
		if (json_array_append_new(rules,
		    json_text(ev->rules[i], STRING_MAX)) == -1)
			bad = 1;
	if (bad) {
		for (k = 0; k < 8; k++)
			json_decref(v[k]);
		return NULL;
	}
	/* "o" steals each reference, on failure too. */
	root = json_pack("{s:s, s:o, s:s, s:{s:o}, s:{s:o, s:o, s:o},"
	    " s:{s:o, s:i, s:o, s:o},"
	    " s:{s:{s:s, s:b}, s:{s:s, s:b}}}",
	    "type", "journey.updated", "id", v[0], "occurred_at", when,
	    "customer", "email", v[1],
	    "message", "message_id", v[2], "subject", v[3], "ticket", v[4],
	    "classification", "category", v[5], "score", ev->score,
	    "language", v[6], "rules", v[7],
	    "journey",
	    "previous", "stage", jm_stage_name(ev->prev.stage),
	    "at_risk", ev->prev.at_risk != 0,
	    "current", "stage", jm_stage_name(ev->next.stage),
	    "at_risk", ev->next.at_risk != 0);
	if (root == NULL)
		return NULL;
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return text;
}

int
jm_webhook_sign(const unsigned char *secret, size_t secret_len,
    const char *id, long timestamp, const char *body, size_t len, char *out,
    size_t outlen)
{
	EVP_MAC		*mac;
	EVP_MAC_CTX	*ctx = NULL;
	OSSL_PARAM	 params[2];
	unsigned char	 md[EVP_MAX_MD_SIZE];
	size_t		 mdlen = 0;
	char		 ts[32], digest[] = "SHA256";
	int		 rc = -1;

	if (outlen < JM_WEBHOOK_SIG_LEN)
		return -1;
	snprintf(ts, sizeof(ts), "%ld", timestamp);
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		return -1;
	ctx = EVP_MAC_CTX_new(mac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx == NULL ||
	    EVP_MAC_init(ctx, secret, secret_len, params) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)body, len) != 1 ||
	    EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) != 1 || mdlen != 32)
		goto out;
	memcpy(out, "v1,", 3);
	/* 32 bytes encode to 44 characters and a NUL. */
	EVP_EncodeBlock((unsigned char *)out + 3, md, (int)mdlen);
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	OPENSSL_cleanse(md, sizeof(md));
	return rc;
}

/*
 * Decodes base64 TEXT (N bytes) into a new buffer; 0 or -1.  Missing "="
 * padding is supplied: some providers print their secrets without it.
 */
static int
base64_decode(const char *text, size_t n, unsigned char **out,
    size_t *outlen)
{
	EVP_ENCODE_CTX	*ctx;
	unsigned char	*buf;
	char		 padded[SECRET_FILE_MAX + 4];
	int		 len = 0, fin = 0, rc = -1;
	size_t		 cap;

	if (n > SECRET_FILE_MAX)
		return -1;
	memcpy(padded, text, n);
	while (n % 4 != 0)
		padded[n++] = '=';
	cap = n / 4 * 3 + 3;
	buf = malloc(cap);
	ctx = EVP_ENCODE_CTX_new();
	if (buf == NULL || ctx == NULL)
		goto out;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, buf, &len, (const unsigned char *)padded,
	    (int)n) == -1 || EVP_DecodeFinal(ctx, buf + len, &fin) != 1)
		goto out;
	*out = buf;
	*outlen = (size_t)len + (size_t)fin;
	buf = NULL;
	rc = 0;
out:
	EVP_ENCODE_CTX_free(ctx);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, cap);
		free(buf);
	}
	OPENSSL_cleanse(padded, sizeof(padded));
	return rc;
}

int
jm_webhook_load_secret(const char *path, unsigned char **key, size_t *keylen,
    char *err, size_t errlen)
{
	FILE		*fp;
	char		 buf[SECRET_FILE_MAX + 1];
	size_t		 n;
	int		 rc = -1;

	*key = NULL;
	*keylen = 0;
	fp = fopen(path, "r");
	if (fp == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), fp);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		goto out;
	}
	if (n > SECRET_FILE_MAX) {
		snprintf(err, errlen, "%s: longer than %d bytes; is it the "
		    "secret?", path, SECRET_FILE_MAX);
		goto out;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	if (n >= 6 && memcmp(buf, "whsec_", 6) == 0) {
		if (base64_decode(buf + 6, n - 6, key, keylen) == -1 ||
		    *keylen == 0) {
			jm_webhook_secret_free(*key, *keylen);
			*key = NULL;
			*keylen = 0;
			snprintf(err, errlen, "%s: the text after whsec_ is "
			    "not base64", path);
			goto out;
		}
	} else {
		if (n == 0) {
			snprintf(err, errlen, "%s: empty; write the secret in "
			    "it, or leave journey_webhook_secret_file empty",
			    path);
			goto out;
		}
		*key = malloc(n);
		if (*key == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto out;
		}
		memcpy(*key, buf, n);
		*keylen = n;
	}
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	fclose(fp);
	return rc;
}

void
jm_webhook_secret_free(unsigned char *key, size_t keylen)
{
	if (key == NULL)
		return;
	OPENSSL_cleanse(key, keylen);
	free(key);
}
