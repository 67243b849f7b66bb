/*
 * httpsink.c: the CRM and chat endpoint of the benchmark.
 *
 * An HTTP/1.1 server on 127.0.0.1 that answers every request with 204 No
 * Content once its body has arrived, and appends one line per request to a
 * log file, "TIME PATH BYTES", so that the benchmark can count the webhooks
 * and chat escalations the daemon delivered.  A real CRM runs on another
 * host; here the endpoint shares the CPUs with what is measured, so it is
 * kept as cheap as smtp-sink is for mail: one thread, poll(), keep-alive,
 * nothing read of a request but its request line and the headers that say
 * where its body ends.  It stops by itself after MAX_SECONDS.
 *
 * Deliberately not here: chunked request bodies (answered 411, and the
 * connection closed: journey-milter sends Content-Length), TLS, any address
 * but 127.0.0.1.  It is built for "make bench" only and never installed.
 *
 * Usage: httpsink PORT LOGFILE [MAX_SECONDS]
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_CONNS	256
#define HEAD_MAX	16384	/* a request head longer than this: 431 */

struct conn {
	int		 fd;		/* -1: the slot is free */
	size_t		 len;		/* bytes in buf */
	int		 in_body;	/* the head is read; body_left to go */
	unsigned long long body_left;
	unsigned long long body_len;
	int		 close_after;	/* "Connection: close" */
	char		 path[256];
	char		 buf[HEAD_MAX];
};

static struct conn	conns[MAX_CONNS];
static FILE		*reqlog;

static void
conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
}

/* reply: 0, or -1 when the connection has to go (it is closed). */
static int
reply(struct conn *c, const char *status)
{
	char	 out[128];
	int	 n;

	n = snprintf(out, sizeof(out),
	    "HTTP/1.1 %s\r\nContent-Length: 0\r\n\r\n", status);
	/* A few bytes into an empty socket buffer: short only if it is dead. */
	if (send(c->fd, out, (size_t)n, MSG_NOSIGNAL) != n) {
		conn_close(c);
		return -1;
	}
	return 0;
}

static void
consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/*
 * head: parses the request head that ends at END (the blank line
 * excluded).  0, or -1 when the connection was answered and closed.
 */
static int
head(struct conn *c, char *end)
{
	char	*line, *next, *sp, *v;
	size_t	 n;

	*end = '\0';
	c->body_len = 0;
	c->close_after = 0;
	/* "POST /crm HTTP/1.1" */
	next = strstr(c->buf, "\r\n");
	if (next != NULL)
		*next = '\0';
	sp = strchr(c->buf, ' ');
	if (sp == NULL) {
		reply(c, "400 Bad Request");
		conn_close(c);
		return -1;
	}
	n = strcspn(sp + 1, " ");
	if (n >= sizeof(c->path))
		n = sizeof(c->path) - 1;
	memcpy(c->path, sp + 1, n);
	c->path[n] = '\0';
	for (line = next == NULL ? NULL : next + 2; line != NULL; line = next) {
		next = strstr(line, "\r\n");
		if (next != NULL) {
			*next = '\0';
			next += 2;
		}
		v = strchr(line, ':');
		if (v == NULL)
			continue;
		*v++ = '\0';
		v += strspn(v, " \t");
		if (strcasecmp(line, "Content-Length") == 0) {
			c->body_len = strtoull(v, NULL, 10);
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			reply(c, "411 Length Required");
			conn_close(c);
			return -1;
		} else if (strcasecmp(line, "Expect") == 0 &&
		    strcasecmp(v, "100-continue") == 0) {
			if (reply(c, "100 Continue") == -1)
				return -1;
		} else if (strcasecmp(line, "Connection") == 0 &&
		    strcasecmp(v, "close") == 0) {
			c->close_after = 1;
		}
	}
	c->body_left = c->body_len;
	c->in_body = 1;
	return 0;
}

/* serve: answers every request complete in the buffer. */
static void
serve(struct conn *c)
{
	struct timeval	 tv;
	char		*end;
	size_t		 take;

	for (;;) {
		if (!c->in_body) {
			end = memmem(c->buf, c->len, "\r\n\r\n", 4);
			if (end == NULL) {
				if (c->len == sizeof(c->buf)) {
					reply(c, "431 Request Header Fields "
					    "Too Large");
					conn_close(c);
				}
				return;
			}
			take = (size_t)(end - c->buf) + 4;
			if (head(c, end) == -1)
				return;
			consume(c, take);
		}
		take = c->len < c->body_left ? c->len : (size_t)c->body_left;
		consume(c, take);
		c->body_left -= take;
		if (c->body_left > 0)
			return;
		c->in_body = 0;
		gettimeofday(&tv, NULL);
		fprintf(reqlog, "%lld.%06ld %s %llu\n", (long long)tv.tv_sec,
		    (long)tv.tv_usec, c->path, c->body_len);
		if (reply(c, "204 No Content") == -1)
			return;
		if (c->close_after) {
			conn_close(c);
			return;
		}
	}
}

static void
accept_all(int lfd)
{
	int	 fd, i;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) != -1) {
		for (i = 0; i < MAX_CONNS && conns[i].fd != -1; i++)
			continue;
		if (i == MAX_CONNS) {
			close(fd);
			continue;
		}
		conns[i].fd = fd;
		conns[i].len = 0;
		conns[i].in_body = 0;
	}
}

int
main(int argc, char **argv)
{
	static struct pollfd	 pfd[MAX_CONNS + 1];
	static int		 slot[MAX_CONNS + 1];
	struct sockaddr_in	 sin;
	struct conn		*c;
	ssize_t			 r;
	int			 lfd, one = 1, i, n;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: httpsink PORT LOGFILE [MAX_SECONDS]\n");
		return 2;
	}
	if ((reqlog = fopen(argv[2], "a")) == NULL) {
		perror(argv[2]);
		return 1;
	}
	setvbuf(reqlog, NULL, _IOLBF, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lfd == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 128) == -1) {
		perror("httpsink: 127.0.0.1");
		return 1;
	}
	/* The default action of SIGALRM ends the process. */
	alarm(argc == 4 ? (unsigned)atoi(argv[3]) : 1800);
	for (i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	for (;;) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		n = 1;
		for (i = 0; i < MAX_CONNS; i++) {
			if (conns[i].fd == -1)
				continue;
			pfd[n].fd = conns[i].fd;
			pfd[n].events = POLLIN;
			slot[n++] = i;
		}
		if (poll(pfd, (nfds_t)n, -1) == -1) {
			if (errno == EINTR)
				continue;
			perror("httpsink: poll");
			return 1;
		}
		if (pfd[0].revents & POLLIN)
			accept_all(lfd);
		for (i = 1; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			c = &conns[slot[i]];
			r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			if (r == 0 || (r == -1 && errno != EAGAIN &&
			    errno != EINTR)) {
				conn_close(c);
				continue;
			}
			if (r > 0) {
				c->len += (size_t)r;
				serve(c);
			}
		}
	}
}
