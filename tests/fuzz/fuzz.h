/*
 * fuzz.h: what the fuzz targets share.
 *
 * Each target is one file defining LLVMFuzzerTestOneInput().  libFuzzer
 * drives it in the fuzz build (make fuzz); replay.c drives it in the
 * ordinary build over the seeds and the regression inputs, so every input
 * that once crashed is run by make check, under the sanitizers too.
 *
 * A target that finds a property broken calls fuzz_fail(), which aborts:
 * to libFuzzer that is a crash like any other.
 */
#ifndef JOURNEY_FUZZ_H
#define JOURNEY_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints WHY to stderr and aborts. */
void	fuzz_fail(const char *why) __attribute__((noreturn));

/*
 * The directory of the shipped rules: $JM_FUZZ_RULES_DIR, else the one
 * this program was built against.  Borrowed, static.
 */
const char *fuzz_rules_dir(void);

/* A NUL-terminated copy of DATA; caller frees with free(). */
char	*fuzz_cstr(const uint8_t *data, size_t size);

#endif
