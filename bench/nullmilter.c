/*
 * nullmilter.c: the floor of the benchmark.
 *
 * A milter that does nothing, as cheaply as libmilter allows: it negotiates
 * the same protocol steps and replies away as journey-milter does (no
 * connect, HELO, end-of-header or unknown-command steps, no replies to
 * headers, body skipping allowed), reads every header and body chunk Postfix
 * sends, and accepts the message unchanged at end-of-message.  What
 * journey-milter costs beyond this is the cost of its own work: parsing,
 * classifying, storing, adding headers.
 *
 * Deliberately not here: header changes (a null milter changes nothing;
 * journey-milter's header additions are part of what is measured), a
 * configuration file, daemonising, privilege dropping.  It is built for
 * "make bench" only and never installed.
 *
 * Usage: nullmilter SOCKET    (unix:/path or inet:PORT@HOST)
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>

static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long	want;

	(void)ctx;
	(void)f2;
	(void)f3;
	/* The same actions journey-milter asks for, so Postfix sends the same. */
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS);
	want = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOUNKNOWN |
	    SMFIP_NR_HDR | SMFIP_NOEOH | SMFIP_SKIP;
	*pf1 = want & f1;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return SMFIS_NOREPLY;
}

static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_ACCEPT;
}

static struct smfiDesc desc = {
	.xxfi_name = "nullmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
	.xxfi_envfrom = mlfi_envfrom,
	.xxfi_envrcpt = mlfi_envrcpt,
	.xxfi_header = mlfi_header,
	.xxfi_body = mlfi_body,
	.xxfi_eom = mlfi_eom,
	.xxfi_data = mlfi_data,
	.xxfi_negotiate = mlfi_negotiate,
};

int
main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: nullmilter unix:/path|inet:PORT@HOST\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Postfix runs as another user: let it reach a unix socket. */
	umask(0);
	if (smfi_setconn(argv[1]) != MI_SUCCESS ||
	    smfi_register(desc) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "nullmilter: cannot listen on %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
