/*
 * log.h: one small logging door for the whole program.
 *
 * Lines go to syslog (facility LOG_MAIL) and, when the daemon runs in the
 * foreground or a tool asks for it, to stderr as well.  Message-scope lines
 * start with the Postfix queue id.  Nothing here may be given a secret or a
 * message body.
 */
#ifndef JOURNEY_LOG_H
#define JOURNEY_LOG_H

#include <syslog.h>

/* Opens syslog as IDENT; with to_stderr, lines are copied to stderr. */
void	jm_log_init(const char *ident, int to_stderr);

/* Lines above LEVEL (a syslog priority) are dropped. */
void	jm_log_set_level(int level);

/* Parses "err", "warning", "notice", "info" or "debug"; -1 when unknown. */
int	jm_log_level_parse(const char *name);

void	jm_log(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

void	jm_log_close(void);

#endif
