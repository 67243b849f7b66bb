/*
 * store_redis.h: the journey store of a fleet: customers in Redis, the
 * outbox in each host's own SQLite database.
 *
 * Several MX hosts, one journey-milter each, one Redis: a customer's
 * stage, the acknowledgement limits and the escalated threads are the
 * same on every host, and two hosts that see the same customer at the
 * same moment never both acknowledge.  The contract is store.h's; this
 * header only names what is particular to Redis.
 */
#ifndef JOURNEY_STORE_REDIS_H
#define JOURNEY_STORE_REDIS_H

#include <stddef.h>

#include "journey/conf.h"
#include "journey/store.h"

struct jm_redis_url {
	char	host[256];	/* a name, an IPv4 or an IPv6 address */
	int	port;		/* 6379 when not given */
	int	db;		/* 0 when not given */
	char	user[128];	/* "" when none: AUTH with the password */
	char	password[256];	/* "" when none */
	int	tls;		/* rediss:// */
};

/*
 * Parses redis://[[user]:password@]host[:port][/db] (an IPv6 host in
 * brackets), or the same with rediss:// for TLS.  0, or -1 with WHY
 * filled in.
 */
int	jm_redis_url_parse(const char *url, struct jm_redis_url *out,
	    char *why, size_t whylen);

/*
 * The composed backend, for jm_store_open(): CONF's state, redis_* keys
 * name the server; LOCAL (of LOCAL_OPS, which must have prepare, finish,
 * customers, acks and threads) keeps the outbox and this host's copy of
 * what it last knew.  The server's host name is resolved here, once.
 * Redis is tried once; if it does not answer, the store still opens and
 * works without it until it does.  0 with *IMPL set (it owns LOCAL from then on), or -1
 * with ERR filled in (LOCAL is still the caller's).
 */
extern const struct jm_store_ops jm_store_redis_ops;
int	jm_store_redis_open(const struct jm_conf *conf,
	    const struct jm_store_ops *local_ops, void *local, void **impl,
	    char *err, size_t errlen);

/*
 * Seconds to wait before connecting again after a failure, when the wait
 * before it was PREVIOUS (0: the connection was fine): 1, then twice as
 * long each time, at most 30.
 */
long	jm_redis_backoff(long previous);

/*
 * What jm_store_redis_open() reads besides the server, read now without
 * connecting: the URL, redis_password_file and, with rediss://, the
 * redis_tls_* files (loaded as the connection would load them: readable,
 * PEM, the key matching the certificate).  0, or -1 with ERR naming the
 * key, the file and the cause (never the password).
 */
int	jm_store_redis_check(const struct jm_conf *conf, char *err,
	    size_t errlen);

#endif
