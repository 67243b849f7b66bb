/*
 * fuzz_conf.c: the configuration parser on any file.
 *
 * The input is written to an anonymous memory file and read through its
 * /proc/self/fd name, so the parser is driven exactly as the daemon drives
 * it, with no second entry point.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "journey/conf.h"
#include "journey/diag.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jm_diag	 d;
	struct jm_conf	*c = NULL;
	char		 path[64];
	size_t		 off = 0, i;
	ssize_t		 n;
	int		 fd, rc;

	fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
	if (fd == -1)
		fuzz_fail("memfd_create");
	while (off < size) {
		n = write(fd, data + off, size - off);
		if (n <= 0)
			fuzz_fail("write to the memory file");
		off += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	jm_diag_init(&d);
	rc = jm_conf_load(path, &d, &c);
	if (rc == 0 && (c == NULL || d.n != 0))
		fuzz_fail("loaded with no configuration or with diagnostics");
	if (rc == -1 && (c != NULL || d.n == 0))
		fuzz_fail("refused without a diagnostic, or half-loaded");
	for (i = 0; i < d.n; i++)
		if (strncmp(jm_diag_line(&d, i), path, strlen(path)) != 0)
			fuzz_fail("a diagnostic that does not name the file");
	if (rc == 0) {
		(void)jm_conf_watched(c, "<Support@Example.COM>");
		(void)jm_conf_watched(c, "");
		(void)jm_conf_watched(c, "@");
		if (c->max_scan_bytes < 1024 || c->max_headers < 10)
			fuzz_fail("a value outside its bounds");
	}
	jm_conf_unref(c);
	jm_diag_free(&d);
	close(fd);
	return 0;
}
