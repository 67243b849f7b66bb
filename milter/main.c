/*
 * main.c: the journey-milter daemon.
 *
 * Two worlds.  Before smfi_main() a bad configuration, rule or template is
 * fatal with a clear message; after it nothing exits, aborts or waits on
 * the network.  This file is the first world: options, the policy, the
 * listening socket, privileges, the pid file, then libmilter's loop.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libmilter/mfapi.h>

#include "journey/conf.h"
#include "journey/diag.h"
#include "journey/log.h"
#include "journey/message.h"
#include "journey/milter.h"
#include "journey/outbox.h"
#include "journey/policy.h"
#include "journey/store.h"
#include "journey/util.h"
#include "journey/webhook.h"

#ifndef JM_SYSCONFDIR
#define JM_SYSCONFDIR	"/etc"
#endif
#define DEFAULT_CONF	JM_SYSCONFDIR "/journey-milter/journey-milter.conf"

static void
usage(void)
{
	fprintf(stderr, "usage: journey-milter [-fnV] [-c file]\n");
	exit(2);
}

/*
 * libmilter writes sockets as "inet:PORT@HOST"; Postfix writes
 * "inet:HOST:PORT".  Accept both, hand libmilter its own.
 */
static void
milter_socket(const char *in, char *out, size_t outlen)
{
	const char	*rest, *colon;
	size_t		 plen;

	if ((strncmp(in, "inet:", 5) != 0 && strncmp(in, "inet6:", 6) != 0) ||
	    strchr(in, '@') != NULL) {
		snprintf(out, outlen, "%s", in);
		return;
	}
	plen = (size_t)(strchr(in, ':') - in);
	rest = in + plen + 1;
	colon = strrchr(rest, ':');
	if (colon == NULL) {
		snprintf(out, outlen, "%s", in);
		return;
	}
	snprintf(out, outlen, "%.*s:%s@%.*s", (int)plen, in, colon + 1,
	    (int)(colon - rest), rest);
}

/*
 * Stock libmilter answers end-of-message with a header change and the
 * final reply as two small writes; with Nagle's algorithm and Postfix's
 * delayed ACK that costs about 40 ms per modified message.  libmilter has
 * no handle on its listening socket, so find it among our descriptors;
 * accepted connections inherit TCP_NODELAY on Linux.
 */
static int
set_nodelay_on_listener(void)
{
	int	 fd, one = 1, found = 0, acc;
	socklen_t len;
	struct sockaddr_storage ss;

	for (fd = 0; fd < 1024; fd++) {
		len = sizeof(acc);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == -1 ||
		    !acc)
			continue;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
			continue;
		if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one)) == -1)
			return -1;
		found++;
	}
	return found > 0 ? 0 : -1;
}

/*
 * The state directory belongs to the daemon's user: created (0750) if it
 * is missing, while we may still do so.
 */
static int
prepare_state_dir(const struct jm_conf *conf)
{
	struct passwd	*pw;

	if (mkdir(conf->state_dir, 0750) == -1 && errno != EEXIST) {
		fprintf(stderr, "journey-milter: cannot create %s: %s\n",
		    conf->state_dir, strerror(errno));
		return -1;
	}
	if (conf->user[0] == '\0' || geteuid() != 0)
		return 0;
	pw = getpwnam(conf->user);
	if (pw != NULL && chown(conf->state_dir, pw->pw_uid, pw->pw_gid) == -1) {
		fprintf(stderr, "journey-milter: chown %s: %s\n",
		    conf->state_dir, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The pid file is written once the daemon runs as its user, so its
 * directory must be the user's.  Under systemd it is (RuntimeDirectory=);
 * started as root by hand, a missing directory is created (0750) and
 * given to the user, as state_dir is.  One that exists is left as it is.
 */
static int
prepare_pid_dir(const struct jm_conf *conf)
{
	struct passwd	*pw;
	char		 dir[4096], *slash;

	if (conf->pid_file[0] == '\0' || conf->user[0] == '\0' ||
	    geteuid() != 0)
		return 0;
	if (snprintf(dir, sizeof(dir), "%s", conf->pid_file) >=
	    (int)sizeof(dir))
		return 0;
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	/* One there already is left alone; write_pid_file() says why not. */
	if (mkdir(dir, 0750) == -1)
		return 0;
	pw = getpwnam(conf->user);
	if (pw != NULL && chown(dir, pw->pw_uid, pw->pw_gid) == -1) {
		fprintf(stderr, "journey-milter: chown %s: %s\n", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The daemon parses mail from anyone on the internet: a bug in it, or in
 * a library under it, must not be a bug running as root.  Started as
 * root, it drops to "user"; if that would leave it root (no user, or a
 * user whose id is 0), it refuses to start unless the operator said
 * allow_root = yes.  Checked before the socket is opened, so that a
 * refused start leaves nothing behind.
 */
static int
refuse_root(const struct jm_conf *conf)
{
	struct passwd	*pw;

	if (geteuid() != 0 || conf->allow_root)
		return 0;
	if (conf->user[0] != '\0') {
		pw = getpwnam(conf->user);
		if (pw == NULL || pw->pw_uid != 0)
			return 0;	/* if missing, drop_privileges() says so */
	}
	fprintf(stderr, "journey-milter: refusing to run as root: set user = "
	    "to an unprivileged user (or allow_root = yes in %s)\n",
	    conf->path != NULL ? conf->path : "the configuration");
	return -1;
}

static int
drop_privileges(const struct jm_conf *conf, const char *sockpath)
{
	struct passwd	*pw;
	struct group	*gr;
	gid_t		 gid;

	if (conf->user[0] == '\0')
		return 0;
	if (geteuid() != 0) {
		/* Started as its user (systemd's User=): nothing to drop. */
		pw = getpwuid(geteuid());
		if (pw == NULL || strcmp(pw->pw_name, conf->user) != 0)
			jm_log(LOG_NOTICE, "not started as root: running as "
			    "%s, user = %s not used", pw != NULL ?
			    pw->pw_name : "an unknown user", conf->user);
		return 0;
	}
	pw = getpwnam(conf->user);
	if (pw == NULL) {
		fprintf(stderr, "journey-milter: user \"%s\" does not exist "
		    "(create it, or set user = in the configuration)\n",
		    conf->user);
		return -1;
	}
	gid = pw->pw_gid;
	if (conf->group[0] != '\0') {
		gr = getgrnam(conf->group);
		if (gr == NULL) {
			fprintf(stderr, "journey-milter: group \"%s\" does not "
			    "exist\n", conf->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (sockpath != NULL && chown(sockpath, pw->pw_uid, gid) == -1) {
		fprintf(stderr, "journey-milter: chown %s: %s\n", sockpath,
		    strerror(errno));
		return -1;
	}
	if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		fprintf(stderr, "journey-milter: cannot become %s: %s\n",
		    conf->user, strerror(errno));
		return -1;
	}
	/* A drop that could be undone is no drop. */
	if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
		fprintf(stderr, "journey-milter: still able to regain root "
		    "after becoming %s\n", conf->user);
		return -1;
	}
	return 0;
}

/*
 * The pid file written, kept for the exit: a reload may name another
 * pid_file, which takes effect only on a restart, and the one to remove
 * is the one this process wrote.
 */
static char	*pid_written;

static int
write_pid_file(const char *path)
{
	FILE	*fp;

	if (path[0] == '\0')
		return 0;
	fp = fopen(path, "w");
	if (fp == NULL)
		return -1;
	fprintf(fp, "%ld\n", (long)getpid());
	if (fclose(fp) != 0)
		return -1;
	pid_written = strdup(path);
	return 0;
}

/*
 * Reload: all or nothing.  A policy that fails to load leaves the running
 * one in place; messages in flight keep the policy they took at MAIL FROM.
 */
static void
reload(const char *conf_path)
{
	struct jm_diag	 d;
	struct jm_policy *p, *old;
	size_t		 i;

	jm_diag_init(&d);
	if (jm_policy_load(conf_path, &d, &p) == -1) {
		for (i = 0; i < d.n; i++)
			jm_log(LOG_ERR, "%s", jm_diag_line(&d, i));
		jm_log(LOG_ERR, "reload failed: keeping the running "
		    "configuration and rules");
		jm_diag_free(&d);
		return;
	}
	jm_diag_free(&d);
	old = jm_policy_current();
	if (old != NULL && (strcmp(old->conf->socket, p->conf->socket) != 0 ||
	    strcmp(old->conf->user, p->conf->user) != 0 ||
	    strcmp(old->conf->group, p->conf->group) != 0 ||
	    strcmp(old->conf->pid_file, p->conf->pid_file) != 0 ||
	    strcmp(old->conf->state_dir, p->conf->state_dir) != 0 ||
	    strcmp(old->conf->state, p->conf->state) != 0 ||
	    strcmp(old->conf->redis_key_prefix,
	    p->conf->redis_key_prefix) != 0 ||
	    old->conf->redis_timeout != p->conf->redis_timeout))
		jm_log(LOG_WARNING, "reload: socket, user, group, pid_file, "
		    "state_dir, state and the redis_* keys take effect only "
		    "after a restart");
	jm_policy_unref(old);
	jm_log_set_level(p->conf->log_level);
	jm_policy_publish(p);
	jm_log(LOG_INFO, "reloaded %s", conf_path);
}

struct reloader {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 pending;
	int		 stop;
	const char	*conf_path;
};

/*
 * The signals the main thread waits for.  They are blocked before any
 * thread starts, so that every thread inherits the mask and none of them
 * is killed by a signal meant for the main thread.
 */
static void
stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

static void *
reload_thread(void *arg)
{
	struct reloader	*r = arg;

	jm_thread_name("jm-reload");
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->pending && !r->stop)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->stop)
			break;
		r->pending = 0;
		pthread_mutex_unlock(&r->lock);
		reload(r->conf_path);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/*
 * libmilter's listener notices smfi_stop() only when its poll() times out,
 * seconds later.  A connection of our own wakes it at once: the listening
 * socket lives on while poll() holds it, so the connect succeeds.  Best
 * effort: if it fails, the listener still stops at its next timeout.
 */
static void
wake_listener(const char *sock)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	socklen_t		 len;
	const char		*at;
	int			 fd;

	memset(&ss, 0, sizeof(ss));
	if (strncmp(sock, "inet:", 5) == 0) {
		at = strchr(sock, '@');
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)atoi(sock + 5));
		if (at == NULL || inet_pton(AF_INET, at + 1, &sin->sin_addr) != 1)
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else if (strncmp(sock, "unix:", 5) == 0 ||
	    strncmp(sock, "local:", 6) == 0) {
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s",
		    strchr(sock, ':') + 1);
		len = sizeof(*sun);
	} else
		return;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return;
	(void)connect(fd, (struct sockaddr *)&ss, len);
	close(fd);
}

static void *
stopper_thread(void *arg)
{
	int	*done = arg;

	(void)smfi_stop();
	__atomic_store_n(done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * smfi_stop() waits for the listener's lock, which the listener holds
 * while it polls: so it is called from a thread of its own while this one
 * keeps waking the listener, for at most about five seconds.
 */
static void
stop_milter(const char *sock)
{
	pthread_t	st;
	int		done = 0, i;

	if (pthread_create(&st, NULL, stopper_thread, &done) != 0) {
		(void)smfi_stop();
		return;
	}
	for (i = 0; i < 250 && !__atomic_load_n(&done, __ATOMIC_SEQ_CST); i++) {
		wake_listener(sock);
		usleep(20000);
	}
	pthread_join(st, NULL);
}

static void *
milter_thread(void *arg)
{
	int	*rc = arg;

	/* libmilter's threads, one per connection, inherit the name. */
	jm_thread_name("jm-milter");
	*rc = smfi_main();
	/* However libmilter stopped, wake the main thread so it can clean up. */
	kill(getpid(), SIGTERM);
	return NULL;
}

/*
 * libmilter's own signal thread treats SIGHUP like SIGTERM.  To reload on
 * SIGHUP instead, smfi_main() runs in a thread of its own and the main
 * thread waits for the signals: Linux delivers a signal sent to the process
 * to its main thread first when that thread accepts it, so libmilter's
 * thread never sees them.  The reload runs in yet another thread, so the
 * main thread is back in sigwait() at once.
 */
static int
run(const char *conf_path, const char *sock)
{
	struct reloader	 r;
	pthread_t	 mt, rt;
	sigset_t	 set;
	int		 sig, rc = MI_FAILURE;

	stop_signals(&set);

	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	r.conf_path = conf_path;
	if (pthread_create(&rt, NULL, reload_thread, &r) != 0 ||
	    pthread_create(&mt, NULL, milter_thread, &rc) != 0) {
		jm_log(LOG_ERR, "cannot start threads");
		return MI_FAILURE;
	}
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		pthread_mutex_lock(&r.lock);
		r.pending = 1;
		pthread_cond_signal(&r.cond);
		pthread_mutex_unlock(&r.lock);
	}
	jm_log(LOG_INFO, "journey-milter stopping");
	stop_milter(sock);
	pthread_join(mt, NULL);
	pthread_mutex_lock(&r.lock);
	r.stop = 1;
	pthread_cond_signal(&r.cond);
	pthread_mutex_unlock(&r.lock);
	pthread_join(rt, NULL);
	return rc;
}

/*
 * The allocators, tuned for a daemon of many short-lived threads whose
 * memory is mostly buffers of whole messages.  glibc gives each thread
 * that meets a locked arena a new one, up to eight per CPU, and each keeps
 * what it once held; and after a large buffer is freed it raises the size
 * from which buffers are mapped, so that later ones stay in the arenas for
 * good.  A hundred sessions at once then leave tens of megabytes behind.
 * One arena per CPU and a fixed mmap threshold keep the peak near what is
 * in use; GLib's slice allocator, which keeps a cache in every thread,
 * gives way to malloc.  The environment's own setting wins, so an
 * operator can still tune each (journey-milter(8), ENVIRONMENT).
 */
static void
tune_allocators(void)
{
	long	cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (getenv("MALLOC_ARENA_MAX") == NULL)
		(void)mallopt(M_ARENA_MAX, cpus < 1 ? 2 : (int)cpus);
	if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL)
		(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	(void)setenv("G_SLICE", "always-malloc", 0);
}

static int
check_only(const char *path)
{
	struct jm_diag	 d;
	struct jm_policy *p;
	size_t		 i;
	int		 rc;

	jm_message_init();
	jm_diag_init(&d);
	rc = jm_policy_load(path, &d, &p);
	for (i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", jm_diag_line(&d, i));
	if (rc == 0 && p->conf->journey_webhook_secret_file[0] != '\0') {
		unsigned char	*key;
		size_t		 keylen;
		char		 why[512];

		if (jm_webhook_load_secret(p->conf->journey_webhook_secret_file,
		    &key, &keylen, why, sizeof(why)) == -1) {
			fprintf(stderr, "%s: journey_webhook_secret_file: %s\n",
			    path, why);
			rc = -1;
		} else
			jm_webhook_secret_free(key, keylen);
	}
	if (rc == 0) {
		char	why[512];

		if (jm_store_check(p->conf, why, sizeof(why)) == -1) {
			fprintf(stderr, "%s: %s\n", path, why);
			rc = -1;
		}
	}
	jm_diag_free(&d);
	jm_policy_unref(p);
	return rc == 0 ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	const char	*conf_path = DEFAULT_CONF, *sockpath = NULL;
	char		 sock[1024], conf_abs[PATH_MAX];
	int		 ch, foreground = 0, check = 0, rc;
	struct jm_diag	 d;
	struct jm_policy *p;
	struct jm_store	*store = NULL;
	sigset_t	 sigs;
	size_t		 i;

	while ((ch = getopt(argc, argv, "c:fnV")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("journey-milter %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (check)
		return check_only(conf_path);
	/*
	 * daemon() changes to "/": a relative path would name another file
	 * at every reload.  One that cannot be resolved is left as given,
	 * for the error that loading it gives.
	 */
	if (realpath(conf_path, conf_abs) != NULL)
		conf_path = conf_abs;

	/* Before GLib and the threads start. */
	tune_allocators();
	/* The socket, the state and the pid file: ours and our group's only. */
	umask(027);
	jm_log_init("journey-milter", foreground);
	jm_message_init();
	jm_diag_init(&d);
	if (jm_policy_load(conf_path, &d, &p) == -1) {
		for (i = 0; i < d.n; i++) {
			fprintf(stderr, "%s\n", jm_diag_line(&d, i));
			syslog(LOG_ERR, "%s", jm_diag_line(&d, i));
		}
		fprintf(stderr, "journey-milter: not started: the configuration "
		    "has errors\n");
		return 1;
	}
	jm_diag_free(&d);
	jm_log_set_level(p->conf->log_level);

	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "journey-milter: curl_global_init failed\n");
		return 1;
	}

	if (refuse_root(p->conf) == -1)
		return 1;
	milter_socket(p->conf->socket, sock, sizeof(sock));
	if (strncmp(sock, "unix:", 5) == 0 || strncmp(sock, "local:", 6) == 0)
		sockpath = strchr(sock, ':') + 1;
	if (smfi_setconn(sock) != MI_SUCCESS || jm_milter_register() == -1) {
		fprintf(stderr, "journey-milter: cannot set up libmilter\n");
		return 1;
	}
	if (smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "journey-milter: cannot listen on %s\n", sock);
		return 1;
	}
	if (sockpath == NULL && set_nodelay_on_listener() == -1)
		jm_log(LOG_WARNING, "cannot set TCP_NODELAY on %s; modified "
		    "messages may wait for delayed ACKs", sock);
	if (sockpath != NULL)
		(void)chmod(sockpath, 0660);
	if (prepare_state_dir(p->conf) == -1 ||
	    prepare_pid_dir(p->conf) == -1 ||
	    drop_privileges(p->conf, sockpath) == -1)
		return 1;

	if (!foreground && daemon(0, 0) == -1) {
		fprintf(stderr, "journey-milter: daemon: %s\n", strerror(errno));
		return 1;
	}
	stop_signals(&sigs);
	if (write_pid_file(p->conf->pid_file) == -1)
		jm_log(LOG_WARNING, "cannot write %s: %s", p->conf->pid_file,
		    strerror(errno));

	{
		char	err[512];

		if (jm_store_open(p->conf, &store, err, sizeof(err)) == -1) {
			jm_log(LOG_ERR, "cannot open the store in %s: %s",
			    p->conf->state_dir, err);
			return 1;
		}
		if (strcmp(jm_store_backend(store), "sqlite") != 0)
			jm_log(LOG_INFO, "customers shared through %s (keys "
			    "\"%s*\"), outbox in %s/journey.db",
			    jm_store_backend(store), p->conf->redis_key_prefix,
			    p->conf->state_dir);
	}
	if (jm_outbox_start(p->conf, store) == -1) {
		jm_log(LOG_ERR, "cannot start the outbox");
		return 1;
	}
	jm_milter_set_store(store);
	jm_policy_publish(p);
	jm_log(LOG_INFO, "journey-milter %s listening on %s", PACKAGE_VERSION,
	    sock);
	rc = run(conf_path, sock);
	jm_outbox_stop();
	jm_milter_set_store(NULL);
	jm_store_close(store);

	if (pid_written != NULL)
		(void)unlink(pid_written);
	free(pid_written);
	jm_policy_publish(NULL);
	curl_global_cleanup();
	jm_message_shutdown();
	jm_log_close();
	return rc == MI_SUCCESS ? 0 : 1;
}
