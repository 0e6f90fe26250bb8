// SPDX-License-Identifier: GPL-2.0
/*
 * TCP workload for the tcp probe's tests and benchmark.
 *   tcp_xfer serve PORT [--comm NAME]               accept forever; read until EOF, discard
 *   tcp_xfer echo PORT                              accept forever; echo what is read
 *   tcp_xfer echo1 PORT                             accept forever; echo one read, then close
 *   tcp_xfer send HOST PORT CONNS BYTES [--comm NAME] [--send-comm NAME]
 *       CONNS connections one after the other, BYTES each, then close. --comm names the thread
 *       that connects, --send-comm a second thread that does the sending (like QEMU's
 *       io-task-worker connecting and live_migration sending).
 *   tcp_xfer bulk HOST PORT SECONDS                 one connection, write for SECONDS: MB/s
 *   tcp_xfer rr HOST PORT SECONDS [SIZE]            one connection, SIZE-byte ping-pong: ops/s
 *   tcp_xfer crr HOST PORT SECONDS                  connect, 64-byte ping-pong, close: conns/s
 *       (against echo1: the server closes first, so TIME_WAIT does not eat the client's ports)
 * Prints what it did on stdout (bytes, or the rate).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 16];

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int listen_on(int port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	int fd = socket(AF_INET6, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 512))
		die("bind/listen");
	return fd;
}

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int fd, one = 1;

	if (getaddrinfo(host, port, &hints, &ai))
		die("getaddrinfo");
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen))
		die("connect");
	freeaddrinfo(ai);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

static void *serve_one(void *arg)
{
	int fd = (int)(long)arg;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return NULL;
}

static void *echo_one(void *arg)
{
	char b[65536];
	int fd = (int)(long)arg;
	ssize_t r;

	while ((r = read(fd, b, sizeof(b))) > 0)
		write_all(fd, b, (size_t)r);
	close(fd);
	return NULL;
}

static void *echo1_one(void *arg)
{
	char b[4096];
	int fd = (int)(long)arg;
	ssize_t r = read(fd, b, sizeof(b));

	if (r > 0)
		write_all(fd, b, (size_t)r);
	close(fd);
	return NULL;
}

static __attribute__((noreturn)) void serve(int port, void *(*fn)(void *))
{
	int lfd = listen_on(port);

	for (;;) {
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (pthread_create(&t, NULL, fn, (void *)(long)fd))
			die("pthread_create");
		pthread_detach(t);
	}
}

struct sender {
	int fd;
	long long bytes;
	const char *comm;
};

static void *send_thread(void *arg)
{
	struct sender *s = arg;
	long long left = s->bytes;

	if (s->comm)
		prctl(PR_SET_NAME, s->comm);
	while (left > 0) {
		size_t n = left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf);

		write_all(s->fd, buf, n);
		left -= (long long)n;
	}
	return NULL;
}

static int send_conns(const char *host, const char *port, int conns, long long bytes,
		      const char *send_comm)
{
	for (int i = 0; i < conns; i++) {
		struct sender s = { dial(host, port), bytes, send_comm };

		if (send_comm) {
			pthread_t t;

			if (pthread_create(&t, NULL, send_thread, &s) || pthread_join(t, NULL))
				die("sender thread");
		} else {
			send_thread(&s);
		}
		shutdown(s.fd, SHUT_WR);
		while (read(s.fd, buf, sizeof(buf)) > 0) /* wait for the peer's close */
			;
		close(s.fd);
	}
	printf("%lld\n", (long long)conns * bytes);
	return 0;
}

static int bulk(const char *host, const char *port, double secs)
{
	int fd = dial(host, port);
	double t0 = now(), t;
	long long total = 0;

	do {
		write_all(fd, buf, sizeof(buf));
		total += (long long)sizeof(buf);
	} while ((t = now()) - t0 < secs);
	close(fd);
	printf("%.1f\n", (double)total / (t - t0) / 1e6);
	return 0;
}

static void ping(int fd, size_t size)
{
	size_t got = 0;

	write_all(fd, buf, size);
	while (got < size) {
		ssize_t r = read(fd, buf, size - got);

		if (r <= 0)
			die("read");
		got += (size_t)r;
	}
}

static int rr(const char *host, const char *port, double secs, size_t size)
{
	int fd = dial(host, port);
	double t0 = now(), t = t0;
	long long ops = 0;

	do {
		ping(fd, size);
		ops++;
	} while ((ops & 63) || (t = now()) - t0 < secs);
	close(fd);
	printf("%.0f\n", (double)ops / (t - t0));
	return 0;
}

static int crr(const char *host, const char *port, double secs)
{
	double t0 = now(), t = t0;
	long long n = 0;

	do {
		int fd = dial(host, port);

		ping(fd, 64);
		while (read(fd, buf, sizeof(buf)) > 0) /* the server closes first */
			;
		close(fd);
		n++;
	} while ((n & 15) || (t = now()) - t0 < secs);
	printf("%.0f\n", (double)n / (t - t0));
	return 0;
}

static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

int main(int argc, char **argv)
{
	const char *comm = opt(argc, argv, "--comm");

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (comm)
		prctl(PR_SET_NAME, comm);
	if (argc >= 3 && !strcmp(argv[1], "serve"))
		serve(atoi(argv[2]), serve_one);
	if (argc >= 3 && !strcmp(argv[1], "echo"))
		serve(atoi(argv[2]), echo_one);
	if (argc >= 3 && !strcmp(argv[1], "echo1"))
		serve(atoi(argv[2]), echo1_one);
	if (argc >= 6 && !strcmp(argv[1], "send"))
		return send_conns(argv[2], argv[3], atoi(argv[4]), atoll(argv[5]),
				  opt(argc, argv, "--send-comm"));
	if (argc >= 5 && !strcmp(argv[1], "bulk"))
		return bulk(argv[2], argv[3], atof(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "crr"))
		return crr(argv[2], argv[3], atof(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "rr"))
		return rr(argv[2], argv[3], atof(argv[4]),
			  argc >= 6 ? (size_t)atoi(argv[5]) : 64);
	fprintf(stderr, "usage: see the comment at the top of tests/progs/tcp_xfer.c\n");
	return 2;
}
