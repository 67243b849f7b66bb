/*
 * replay.c: runs a fuzz target over files, without libFuzzer.
 *
 * Linked with one fuzz target in the ordinary build, it is the unit test
 * that replays the target's seeds and every input that once crashed it
 * (tests/fuzz/regressions/TARGET), so that make check, and its sanitizer
 * build, keep each fixed bug fixed.  With arguments it replays the files
 * and directories named; without, the directories compiled in as
 * REPLAY_DIRS (colon-separated, relative to $top_srcdir).  Output is TAP:
 * one line per regression input, one per seed directory.  A broken
 * property aborts, and the test harness reports the crash.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef REPLAY_DIRS
#define REPLAY_DIRS	""
#endif
#ifndef JM_FUZZ_TOP_SRCDIR
#define JM_FUZZ_TOP_SRCDIR	"."
#endif

#define INPUT_MAX	(64 * 1024 * 1024)

static unsigned	tests, failed;

static void	tap(int, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
tap(int ok, const char *fmt, ...)
{
	va_list	ap;

	tests++;
	if (!ok)
		failed++;
	printf("%sok %u - ", ok ? "" : "not ", tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Runs the target on the file PATH; 0, or -1 if it cannot be read. */
static int
run_file(const char *path)
{
	FILE		*fp;
	struct stat	 st;
	unsigned char	*buf;
	size_t		 n;

	fp = fopen(path, "rb");
	if (fp == NULL)
		return -1;
	if (fstat(fileno(fp), &st) == -1 || st.st_size > INPUT_MAX) {
		fclose(fp);
		return -1;
	}
	/* An exact-size heap copy, so that ASan sees any read past the end. */
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		fclose(fp);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, fp);
	fclose(fp);
	if (n != (size_t)st.st_size) {
		free(buf);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

static int
visible(const struct dirent *e)
{
	return e->d_name[0] != '.' && strncmp(e->d_name, "README", 6) != 0;
}

/*
 * Every regular file in DIR, in name order.  EACH: one TAP line per file,
 * else one for the directory.
 */
static void
run_dir(const char *dir, int each)
{
	struct dirent	**ents;
	struct stat	  st;
	char		  path[4096];
	size_t		  done = 0;
	int		  n, i, bad = 0;

	n = scandir(dir, &ents, visible, alphasort);
	if (n == -1) {
		/* An empty regression directory may not exist in a tarball. */
		if (errno == ENOENT && each)
			return;
		tap(0, "%s: cannot read the directory", dir);
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		free(ents[i]);
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (run_file(path) == -1) {
			bad = 1;
			if (each)
				tap(0, "%s: cannot read", path);
			continue;
		}
		done++;
		if (each)
			tap(1, "%s", path);
	}
	free(ents);
	if (!each)
		tap(!bad && done > 0, "%s: %zu inputs", dir, done);
}

int
main(int argc, char *argv[])
{
	const char	*top = getenv("top_srcdir");
	char		*dirs, *d, *save = NULL, path[4096];
	struct stat	 st;
	int		 i;

	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
				run_dir(argv[i], 1);
			else
				tap(run_file(argv[i]) == 0, "%s", argv[i]);
		}
	} else {
		if (top == NULL || *top == '\0')
			top = JM_FUZZ_TOP_SRCDIR;
		dirs = strdup(REPLAY_DIRS);
		if (dirs == NULL)
			return 1;
		for (d = strtok_r(dirs, ":", &save); d != NULL;
		    d = strtok_r(NULL, ":", &save)) {
			snprintf(path, sizeof(path), "%s/%s", top, d);
			run_dir(path, strstr(d, "regressions") != NULL);
		}
		free(dirs);
	}
	printf("1..%u\n", tests);
	return failed > 0 ? 1 : 0;
}
