/*
 * log.c: syslog, and stderr in the foreground.
 *
 * The single place lines leave the program.  It adds nothing to what it is
 * given but, on stderr, which carries no priority, the mark Postfix gives
 * its own lines ("warning: ", "error: "), so that a foreground log can be
 * searched for trouble as a syslog can; callers start message-scope lines
 * with the queue id and never pass secrets or bodies.  Safe from any
 * thread: syslog(3) is, and each stderr line goes out in one write.
 */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "journey/log.h"

static int	log_stderr;
static int	log_level = LOG_INFO;
static char	log_ident[64] = "journey-milter";

/*
 * With nothing at /dev/log (a container, a machine without a syslog
 * daemon), syslog(3) tries to connect again for every line: three system
 * calls each time, several times a message.  Whether the socket is there
 * is looked at once a second instead.
 */
static atomic_llong	syslog_checked = -1;	/* the second last looked */
static atomic_int	syslog_there = 1;

static const struct {
	const char	*name;
	int		 level;
} levels[] = {
	{ "err", LOG_ERR },
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

void
jm_log_init(const char *ident, int to_stderr)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_stderr = to_stderr;
	openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
jm_log_set_level(int level)
{
	log_level = level;
}

int
jm_log_level_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(name, levels[i].name) == 0)
			return levels[i].level;
	return -1;
}

static int
syslog_present(void)
{
	long long	now = (long long)time(NULL);

	if (atomic_exchange(&syslog_checked, now) != now)
		atomic_store(&syslog_there, access(_PATH_LOG, F_OK) == 0);
	return atomic_load(&syslog_there);
}

void
jm_log(int level, const char *fmt, ...)
{
	char	 line[2048];
	va_list	 ap;
	int	 n;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (syslog_present())
		syslog(level, "%s", line);
	if (log_stderr) {
		char	out[2200];

		n = snprintf(out, sizeof(out), "%s[%ld]: %s%s\n", log_ident,
		    (long)getpid(), level <= LOG_ERR ? "error: " :
		    level == LOG_WARNING ? "warning: " : "", line);
		if (n > 0) {
			if ((size_t)n >= sizeof(out))
				n = sizeof(out) - 1;
			(void)!write(STDERR_FILENO, out, (size_t)n);
		}
	}
}

void
jm_log_close(void)
{
	closelog();
}
