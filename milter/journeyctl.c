/*
 * journeyctl.c: the operator's command.
 *
 * Options and dispatch only; each subcommand lives in the library (ctl.h)
 * so that the tests call it directly.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "journey/conf.h"
#include "journey/ctl.h"
#include "journey/diag.h"
#include "journey/message.h"
#include "journey/policy.h"

#ifndef JM_SYSCONFDIR
#define JM_SYSCONFDIR	"/etc"
#endif
#define DEFAULT_CONF	JM_SYSCONFDIR "/journey-milter/journey-milter.conf"

static const struct {
	const char	*name;
	int		(*run)(const struct jm_conf *, int, char **);
} commands[] = {
	{ "customer", jm_ctl_customer },
	{ "migrate", jm_ctl_migrate },
	{ "queue", jm_ctl_queue },
	{ "report", jm_ctl_report },
	{ "retry", jm_ctl_retry },
	{ "stats", jm_ctl_stats },
};

/* Commands over the whole policy (rules and templates too), not just the file. */
static const struct {
	const char	*name;
	int		(*run)(const struct jm_policy *, int, char **);
} policy_commands[] = {
	{ "classify", jm_ctl_classify },
	{ "eval", jm_ctl_eval },
};

static int
run_policy_command(const char *conf_path, size_t i, int argc, char **argv)
{
	struct jm_diag	 d;
	struct jm_policy *p;
	size_t		 k;
	int		 rc;

	jm_diag_init(&d);
	if (jm_policy_load(conf_path, &d, &p) == -1) {
		for (k = 0; k < d.n; k++)
			fprintf(stderr, "%s\n", jm_diag_line(&d, k));
		jm_diag_free(&d);
		return 1;
	}
	jm_diag_free(&d);
	rc = policy_commands[i].run(p, argc, argv);
	jm_policy_unref(p);
	return rc;
}

static int
usage(void)
{
	fprintf(stderr, "usage: journeyctl [-V] [-c file] command [args]\n"
	    "  queue [--dead]            pending and dead outbox rows\n"
	    "  retry ID | --dead         send a row, or every dead row, again\n"
	    "  customer ADDRESS [-n N]   a customer's stage and history\n"
	    "  stats [--prometheus]      counts: last hour, day, week\n"
	    "  report --html FILE        the same as one HTML page\n"
	    "  migrate                   copy this host's customers to redis\n"
	    "  classify FILE.eml...      verdict and decision as JSON, no side effects\n"
	    "  eval [-q] DIR...          precision and recall over a labelled corpus\n"
	    "  bench [--no-jit] [--profile] FILE|DIR...\n"
	    "                            classification speed, the slowest rules\n");
	return 2;
}

int
main(int argc, char *argv[])
{
	const char	*conf_path = DEFAULT_CONF;
	struct jm_conf	*conf;
	struct jm_diag	 d;
	size_t		 i;
	int		 ch, rc;

	while ((ch = getopt(argc, argv, "+c:V")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'V':
			printf("journeyctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage();
	jm_message_init();
	/* A Redis server that goes away must be an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(policy_commands) / sizeof(policy_commands[0]); i++)
		if (strcmp(argv[0], policy_commands[i].name) == 0)
			return run_policy_command(conf_path, i, argc, argv);
	if (strcmp(argv[0], "bench") == 0)
		return jm_ctl_bench(conf_path, argc, argv);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "journeyctl: unknown command \"%s\"\n",
		    argv[0]);
		return usage();
	}
	jm_diag_init(&d);
	if (jm_conf_load(conf_path, &d, &conf) == -1) {
		size_t	k;

		for (k = 0; k < d.n; k++)
			fprintf(stderr, "%s\n", jm_diag_line(&d, k));
		jm_diag_free(&d);
		return 1;
	}
	jm_diag_free(&d);
	rc = commands[i].run(conf, argc, argv);
	jm_conf_unref(conf);
	return rc;
}
