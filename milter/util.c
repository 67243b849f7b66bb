/*
 * util.c: helpers too small for a module of their own: ticket references,
 * address normalisation, ASCII comparisons, random bytes.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "journey/util.h"

/* "JM-" and 8 base32 characters of the first five bytes of MD. */
static void
ticket_of(const unsigned char *md, char out[JM_TICKET_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint64_t	 bits = 0;
	int		 i;

	for (i = 0; i < 5; i++)
		bits = (bits << 8) | md[i];
	memcpy(out, "JM-", 3);
	for (i = 0; i < 8; i++)
		out[3 + i] = alphabet[(bits >> (35 - 5 * i)) & 31];
	out[JM_TICKET_LEN] = '\0';
}

int
jm_ticket(const char *message_id, char out[JM_TICKET_LEN + 1])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	const char	*s, *e;

	s = message_id != NULL ? message_id : "";
	while (isspace((unsigned char)*s) || *s == '<')
		s++;
	e = s + strlen(s);
	while (e > s && (isspace((unsigned char)e[-1]) || e[-1] == '>'))
		e--;
	if (EVP_Digest(s, (size_t)(e - s), md, &mdlen, EVP_sha256(), NULL) != 1)
		memset(md, 0, sizeof(md));
	ticket_of(md, out);
	return e > s ? 0 : -1;
}

void
jm_ticket_bytes(const char *raw, size_t len, char out[JM_TICKET_LEN + 1])
{
	/* A prefix no Message-ID has keeps the two kinds apart. */
	static const char tag[] = "\n\nno message-id\n";
	EVP_MD_CTX	*ctx;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	memset(md, 0, sizeof(md));
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, tag, sizeof(tag) - 1) != 1 ||
	    (raw != NULL && EVP_DigestUpdate(ctx, raw, len) != 1) ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		memset(md, 0, sizeof(md));
	EVP_MD_CTX_free(ctx);
	ticket_of(md, out);
}

char *
jm_addr_normalize(const char *addr)
{
	const char	*s, *lt, *gt;
	char		*out;
	size_t		 n, i;

	if (addr == NULL)
		return strdup("");
	lt = strrchr(addr, '<');
	if (lt != NULL) {
		s = lt + 1;
		gt = strchr(s, '>');
		n = gt != NULL ? (size_t)(gt - s) : strlen(s);
	} else {
		s = addr;
		while (isspace((unsigned char)*s))
			s++;
		n = strlen(s);
		while (n > 0 && isspace((unsigned char)s[n - 1]))
			n--;
	}
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	return out;
}

int
jm_strcaseeq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
	return *a == *b;
}

int
jm_strcaseprefix(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++)
		if (tolower((unsigned char)*s) != tolower((unsigned char)*prefix))
			return 0;
	return 1;
}

int
jm_random(void *p, size_t size)
{
	unsigned char	*q = p;
	ssize_t		 n;

	while (size > 0) {
		n = getrandom(q, size, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		q += n;
		size -= (size_t)n;
	}
	return 0;
}

void
jm_duration(long s, char *out, size_t outlen)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(out, outlen, "%lds", s);
	else if (s < 2 * 3600)
		snprintf(out, outlen, "%ldm", s / 60);
	else if (s < 2 * 86400)
		snprintf(out, outlen, "%ldh", s / 3600);
	else
		snprintf(out, outlen, "%ldd", s / 86400);
}

int
jm_grow(void *vp, size_t *cap, size_t n, size_t size, size_t first)
{
	void	**v = vp, *p;
	size_t	  ncap;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? first : *cap * 2;
	if (ncap > SIZE_MAX / size)
		return -1;
	p = realloc(*v, ncap * size);
	if (p == NULL)
		return -1;
	*v = p;
	*cap = ncap;
	return 0;
}

void
jm_thread_name(const char *name)
{
#ifdef HAVE_PTHREAD_SETNAME_NP
	char	short_name[16];

	snprintf(short_name, sizeof(short_name), "%s", name);
	(void)pthread_setname_np(pthread_self(), short_name);
#else
	(void)name;
#endif
}
