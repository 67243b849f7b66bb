/*
 * conf.h: the deployment configuration (journey-milter.conf).
 *
 * Every key lives in one table in conf.c: its name, type, default, bounds
 * and one line of documentation.  No default lives anywhere else; the man
 * page journey-milter.conf(5) is checked against the table by a test.
 *
 * A loaded configuration is immutable and reference-counted: the daemon
 * publishes it once, a reload builds a new one and swaps it in, and a
 * message in flight keeps the one it started with.
 */
#ifndef JOURNEY_CONF_H
#define JOURNEY_CONF_H

#include <stddef.h>
#include <time.h>

#include "journey/diag.h"

struct jm_strlist {
	char	**v;
	size_t	  n;
};

enum jm_on_error {
	JM_ON_ERROR_ACCEPT = 0,		/* fail open: the message passes as it came */
	JM_ON_ERROR_TEMPFAIL
};

/* What happens to acknowledgements while the shared store is unreachable. */
enum jm_redis_down {
	JM_REDIS_DOWN_WITHHOLD = 0,	/* none: never two to one customer */
	JM_REDIS_DOWN_SEND		/* each host decides alone */
};

struct jm_conf {
	int		 refs;
	char		*path;		/* the file it was read from, or NULL */

	/* The daemon. */
	char		*socket;
	char		*user;
	char		*group;
	int		 allow_root;	/* may keep running as root */
	char		*pid_file;
	char		*state_dir;
	char		*rules_dir;
	int		 log_level;	/* syslog priority */
	int		 on_error;	/* enum jm_on_error */

	/* Where the journey state lives: here, or shared by a fleet. */
	char		*state;		/* "sqlite" or a redis:// URL */
	char		*redis_password_file;
	long		 redis_timeout;	/* milliseconds */
	char		*redis_key_prefix;
	int		 redis_down;	/* enum jm_redis_down */
	char		*redis_tls_ca_file;	/* with rediss:// */
	char		*redis_tls_cert_file;
	char		*redis_tls_key_file;
	char		*redis_tls_server_name;
	int		 redis_tls_verify;

	/* Which mail is watched, and how much of it is read. */
	struct jm_strlist watch_recipients;
	int		 skip_authenticated;
	long		 max_scan_bytes;
	long		 max_body_bytes;
	long		 max_headers;
	char		*default_language;

	/* The journey and the CRM webhook. */
	char		*initial_stage;
	struct jm_strlist journey_webhook_url;
	char		*journey_webhook_secret_file;
	long		 webhook_timeout;
	long		 retry_min_interval;
	long		 max_retry_age;
	int		 tls_verify;

	/* Acknowledgements. */
	char		*ack_smtp_url;
	char		*ack_smtp_user;
	char		*ack_smtp_password_file;
	char		*ack_from;
	char		*ack_envelope_sender;
	char		*support_name;
	char		*cancellation_offer;
	long		 ack_interval;
	long		 ack_max_per_day;
	long		 ack_max_per_minute;
	struct jm_strlist ack_role_senders;
	struct jm_strlist support_addresses;
	struct jm_strlist reply_off;	/* categories never acknowledged */
	char		*authserv_id;

	/* Escalation to chat. */
	struct jm_strlist chat_target;	/* "NAME FORMAT URL [CATEGORY,...]" each */
	char		*chat_link_template;
	long		 escalation_window;
	long		 chat_rate_limit;
};

/* One row of the configuration table. */
enum jm_conf_type {
	JM_CONF_STRING,
	JM_CONF_PATH,			/* a string; relative to the file's directory */
	JM_CONF_BOOL,
	JM_CONF_INT,
	JM_CONF_SIZE,			/* bytes, with optional k, m or g */
	JM_CONF_TIME,			/* seconds, with optional s, m, h, d or w */
	JM_CONF_LIST,			/* comma or space separated; repeats append */
	JM_CONF_LINES			/* each occurrence appends its whole value */
};

struct jm_conf_key {
	const char	*name;
	enum jm_conf_type type;
	const char	*def;		/* default, as it would be written */
	long		 min, max;	/* bounds for INT, SIZE and TIME */
	size_t		 offset;	/* of the field in struct jm_conf */
	int		(*check)(const char *value, char *why, size_t whylen);
	const char	*doc;		/* one line of documentation */
};

/* The table; borrowed, static. *N is set to the number of rows. */
const struct jm_conf_key *jm_conf_keys(size_t *n);

/*
 * Reads PATH on top of the defaults (PATH NULL: defaults only).  Returns 0
 * and sets *OUT, or -1 after adding one "file:line: message" per error to
 * D.  Caller releases *OUT with jm_conf_unref().
 */
int	jm_conf_load(const char *path, struct jm_diag *d, struct jm_conf **out);

/* Parses one "key = value" pair into C; 0, or -1 with WHY filled in. */
int	jm_conf_set(struct jm_conf *c, const char *key, const char *value,
	    char *why, size_t whylen);

struct jm_conf *jm_conf_ref(struct jm_conf *c);
void	jm_conf_unref(struct jm_conf *c);

/*
 * Whether mail to RCPT (an address, with or without angle brackets) is
 * watched: it equals a listed address, or its domain equals a listed
 * domain ("example.com" or "@example.com"), case-insensitively.
 */
int	jm_conf_watched(const struct jm_conf *c, const char *rcpt);

/* Parsers shared with the rest of the program; 0 or -1. */
int	jm_conf_parse_bool(const char *s, int *out);
int	jm_conf_parse_size(const char *s, long *out);
int	jm_conf_parse_time(const char *s, long *out);

#endif
