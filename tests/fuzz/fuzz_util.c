/*
 * fuzz_util.c: helpers shared by the fuzz targets (see fuzz.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#ifndef JM_FUZZ_RULES_DIR
#define JM_FUZZ_RULES_DIR	"rules"
#endif

void
fuzz_fail(const char *why)
{
	fprintf(stderr, "fuzz: property broken: %s\n", why);
	abort();
}

const char *
fuzz_rules_dir(void)
{
	const char	*d = getenv("JM_FUZZ_RULES_DIR");

	return d != NULL && *d != '\0' ? d : JM_FUZZ_RULES_DIR;
}

char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char	*s = malloc(size + 1);

	if (s == NULL)
		fuzz_fail("out of memory");
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
