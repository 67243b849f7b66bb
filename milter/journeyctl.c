/*
 * journeyctl.c: the operator's command.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

static void
usage(void)
{
	fprintf(stderr, "usage: journeyctl [-c file] command [args]\n");
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "-V") == 0) {
		printf("journeyctl %s\n", PACKAGE_VERSION);
		return 0;
	}
	usage();
	return 2;
}
