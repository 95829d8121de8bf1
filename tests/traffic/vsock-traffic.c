// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vsock-traffic - generate known AF_VSOCK traffic over the loopback
 * transport (CID 1) so that captures on a vsockmon link can be compared
 * with what was sent.
 *
 * Usage: vsock-traffic [--manifest FILE] [--port-base N] [--count N]
 *                      [--bytes N] [--seconds S] SCENARIO...
 *
 * Both ends of every connection live in this process: the server side runs
 * in a thread, the client side in the main thread. Every socket binds a
 * known port, so a capture can be matched with the manifest (JSON lines,
 * one per connection) without guessing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#ifndef VMADDR_CID_LOCAL
#define VMADDR_CID_LOCAL 1
#endif

/* Generous: TCG guests are slow, but nothing here should ever wait this long. */
#define IO_TIMEOUT_SEC 20
#define TTRPC_PORT 1024
#define TTRPC_HEADER_LEN 10
#define TTRPC_TYPE_REQUEST 1
#define TTRPC_TYPE_RESPONSE 2
#define CREDIT_STALL_BUFFER 4096
#define CREDIT_STALL_BYTES (64 * 1024)

struct options {
	const char *manifest_path;
	unsigned int port_base;
	unsigned int count;		/* many-short connections */
	unsigned long long flood_bytes;
	double flood_seconds;		/* > 0: flood by time instead of bytes */
};

static struct options opt = {
	.port_base = 5000,
	.count = 20,
	.flood_bytes = 16ULL << 20,
};

static FILE *manifest;

/* ---------- reporting ---------- */

static void fail(const char *scenario, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vsock-traffic: %s: ", scenario);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A hint for the errors that mean "wrong environment", not "bug". */
static const char *errno_hint(int err)
{
	switch (err) {
	case EAFNOSUPPORT:
		return " (no AF_VSOCK: insmod vsock and vsock_loopback, e.g. run inside tests/vm/run-guest.sh)";
	case ENODEV:
	case ENETUNREACH:
		return " (no transport for CID 1: insmod vsock_loopback)";
	case EADDRINUSE:
		return " (port taken: pick another --port-base)";
	default:
		return "";
	}
}

/* One JSON line per connection or message exchange. */
struct record {
	const char *scenario;
	const char *type;		/* "stream" | "seqpacket" */
	unsigned int client_port;
	unsigned int server_port;
	unsigned long long bytes_c2s;
	unsigned long long bytes_s2c;
	const size_t *msgs_c2s;		/* message or write sizes, in order */
	size_t n_msgs_c2s;
	const size_t *msgs_s2c;
	size_t n_msgs_s2c;
	const char *result;		/* "ok" | "refused" */
	const char *extra;		/* more JSON members, no leading comma */
};

static void json_sizes(FILE *f, const char *name, const size_t *sizes, size_t n)
{
	fprintf(f, ",\"%s\":[", name);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%zu", i ? "," : "", sizes[i]);
	fputc(']', f);
}

static void manifest_write(const struct record *r)
{
	if (!manifest)
		return;
	fprintf(manifest,
		"{\"scenario\":\"%s\",\"type\":\"%s\",\"cid\":%u,"
		"\"client_port\":%u,\"server_port\":%u,"
		"\"bytes_c2s\":%llu,\"bytes_s2c\":%llu",
		r->scenario, r->type, VMADDR_CID_LOCAL, r->client_port,
		r->server_port, r->bytes_c2s, r->bytes_s2c);
	json_sizes(manifest, "messages_c2s", r->msgs_c2s, r->n_msgs_c2s);
	json_sizes(manifest, "messages_s2c", r->msgs_s2c, r->n_msgs_s2c);
	fprintf(manifest, ",\"result\":\"%s\"", r->result);
	if (r->extra && *r->extra)
		fprintf(manifest, ",%s", r->extra);
	fputs("}\n", manifest);
	fflush(manifest);
}

/* ---------- sockets ---------- */

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_io_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_SEC };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv));
}

static int vsock_bound(const char *scenario, int type, unsigned int cid,
		       unsigned int port)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port,
	};
	int fd = socket(AF_VSOCK, type | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fail(scenario, "socket(AF_VSOCK): %s%s", strerror(errno),
		     errno_hint(errno));
		return -1;
	}
	set_io_timeouts(fd);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fail(scenario, "bind port %u: %s%s", port, strerror(errno),
		     errno_hint(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Shrink (or grow) a socket's receive buffer. The kernel clamps
 * SO_VM_SOCKETS_BUFFER_SIZE into [MIN_SIZE, MAX_SIZE], so move the bound on
 * the far side first, then set the size, then read it back.
 */
static int set_vsock_buffer(const char *scenario, int fd, unsigned long long size)
{
	unsigned long long got = 0;
	socklen_t len = sizeof(got);

	if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MIN_SIZE, &size, sizeof(size)) < 0 ||
	    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &size, sizeof(size)) < 0 ||
	    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &size, sizeof(size)) < 0 ||
	    getsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &got, &len) < 0) {
		fail(scenario, "SO_VM_SOCKETS_BUFFER_*: %s", strerror(errno));
		return -1;
	}
	if (got != size) {
		fail(scenario, "buffer size is %llu, wanted %llu", got, size);
		return -1;
	}
	return 0;
}

static int listen_on(const char *scenario, int type, unsigned int port)
{
	int fd = vsock_bound(scenario, type, VMADDR_CID_ANY, port);

	if (fd >= 0 && listen(fd, 64) < 0) {
		fail(scenario, "listen port %u: %s", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int accept_one(const char *scenario, int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int fd;

	if (poll(&p, 1, IO_TIMEOUT_SEC * 1000) != 1) {
		fail(scenario, "no connection arrived within %d s", IO_TIMEOUT_SEC);
		return -1;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		fail(scenario, "accept: %s", strerror(errno));
	else
		set_io_timeouts(fd);
	return fd;
}

/* Connect from a known client port to CID 1; returns fd or -errno. */
static int connect_from(const char *scenario, int type, unsigned int client_port,
			unsigned int server_port)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_LOCAL,
		.svm_port = server_port,
	};
	int fd = vsock_bound(scenario, type, VMADDR_CID_ANY, client_port);
	int err;

	if (fd < 0)
		return -EINVAL;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static int write_all(const char *scenario, int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail(scenario, "send: %s", strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until EOF or len bytes; returns bytes read or -1. */
static ssize_t read_full(const char *scenario, int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, (char *)buf + got, len - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail(scenario, "recv: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Read and drop everything until EOF; returns the byte count or -1. */
static long long drain(const char *scenario, int fd)
{
	static char sink[64 * 1024];
	long long total = 0;

	for (;;) {
		ssize_t n = recv(fd, sink, sizeof(sink), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail(scenario, "recv: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			return total;
		total += n;
	}
}

static void fill_pattern(unsigned char *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed + i * 7);
}

static bool check_pattern(const unsigned char *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != (unsigned char)(seed + i * 7))
			return false;
	return true;
}

/* ---------- server thread plumbing ---------- */

struct server {
	const char *scenario;
	int lfd;
	int (*serve)(struct server *s);
	int status;			/* 0 = behaved as expected */
	unsigned long long received;	/* bytes the server read */
	void *ctx;			/* scenario specific */
	pthread_t thread;
};

static void *server_main(void *arg)
{
	struct server *s = arg;

	s->status = s->serve(s);
	return NULL;
}

static int server_start(struct server *s, const char *scenario, int type,
			unsigned int port, int (*serve)(struct server *), void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->scenario = scenario;
	s->serve = serve;
	s->ctx = ctx;
	s->lfd = listen_on(scenario, type, port);
	if (s->lfd < 0)
		return -1;
	if (pthread_create(&s->thread, NULL, server_main, s)) {
		fail(scenario, "pthread_create failed");
		close(s->lfd);
		return -1;
	}
	return 0;
}

static int server_join(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->lfd);
	return s->status;
}

static unsigned int server_port_of(unsigned int slot)
{
	return opt.port_base + slot;
}

static unsigned int client_port_of(unsigned int slot)
{
	return opt.port_base + 100 + slot;
}

/* Port slots: one per scenario, so captures of several scenarios never mix. */
enum slot {
	SLOT_HTTP, SLOT_SEQPACKET, SLOT_REFUSED, SLOT_CREDIT_STALL,
	SLOT_HALF_CLOSE, SLOT_MANY_SHORT, SLOT_FLOOD, SLOT_TTRPC,
};
#define MANY_SHORT_CLIENT_BASE 1000	/* client ports port_base+1000+i */

/* ---------- http ---------- */

static const char *const http_request_parts[] = {
	"GET /index.html HTTP/1.1\r\n",
	"Host: vsock-cid-1:5000\r\nUser-Agent: vsock-traffic/1\r\n",
	"Accept: */*\r\n\r\n",
};
static const char http_body[] = "<html><body>hello over vsock</body></html>\n";

static int http_serve(struct server *s)
{
	char req[1024], resp[512];
	size_t got = 0;
	int fd = accept_one(s->scenario, s->lfd), len, ret = -1;

	if (fd < 0)
		return -1;
	/* Read until the blank line that ends the request headers. */
	while (got < sizeof(req) - 1) {
		ssize_t n = recv(fd, req + got, sizeof(req) - 1 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	s->received = got;
	if (!strstr(req, "\r\n\r\n") || strncmp(req, "GET /index.html HTTP/1.1\r\n", 26)) {
		fail(s->scenario, "server got an incomplete request (%zu bytes)", got);
		goto out;
	}
	len = snprintf(resp, sizeof(resp),
		       "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
		       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		       strlen(http_body), http_body);
	ret = write_all(s->scenario, fd, resp, (size_t)len);
	*(size_t *)s->ctx = (size_t)len;
out:
	close(fd);
	return ret;
}

static int http_check_response(const char *resp)
{
	const char *cl = strstr(resp, "Content-Length: ");
	const char *body = strstr(resp, "\r\n\r\n");

	if (strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) || !cl || !body)
		return -1;
	return strtoul(cl + 16, NULL, 10) == strlen(body + 4) ? 0 : -1;
}

static int scenario_http(const char *name)
{
	unsigned int sport = server_port_of(SLOT_HTTP), cport = client_port_of(SLOT_HTTP);
	size_t writes[3], resp_len = 0;
	unsigned long long sent = 0;
	struct server srv;
	char resp[1024];
	ssize_t got;
	int fd, ok;

	if (server_start(&srv, name, SOCK_STREAM, sport, http_serve, &resp_len))
		return -1;
	fd = connect_from(name, SOCK_STREAM, cport, sport);
	if (fd < 0) {
		fail(name, "connect to port %u: %s", sport, strerror(-fd));
		server_join(&srv);
		return -1;
	}
	/* Three writes with pauses: three RW packets in the capture. */
	for (int i = 0; i < 3; i++) {
		writes[i] = strlen(http_request_parts[i]);
		write_all(name, fd, http_request_parts[i], writes[i]);
		sent += writes[i];
		sleep_ms(30);
	}
	got = read_full(name, fd, resp, sizeof(resp) - 1);
	close(fd);
	ok = server_join(&srv) == 0 && got > 0;
	if (ok) {
		resp[got] = '\0';
		ok = http_check_response(resp) == 0 && (size_t)got == resp_len;
	}
	if (!ok) {
		fail(name, "no valid HTTP/1.1 200 response (%zd bytes)", got);
		return -1;
	}
	manifest_write(&(struct record){
		.scenario = name, .type = "stream", .client_port = cport,
		.server_port = sport, .bytes_c2s = sent, .bytes_s2c = (unsigned long long)got,
		.msgs_c2s = writes, .n_msgs_c2s = 3, .msgs_s2c = &resp_len, .n_msgs_s2c = 1,
		.result = "ok", .extra = "\"protocol\":\"http\"",
	});
	return 0;
}

/* ---------- seqpacket ---------- */

static const size_t seqpacket_sizes[] = { 1, 100, 4096, 65536, 70000, 150000 };
#define N_SEQPACKET (sizeof(seqpacket_sizes) / sizeof(seqpacket_sizes[0]))
#define SEQPACKET_MAX 150000
static const char seqpacket_ack[] = "ok";

/* Receive each message whole and check its size, boundary and content. */
static int seqpacket_serve(struct server *s)
{
	unsigned char *buf = malloc(SEQPACKET_MAX + 1);
	int fd = accept_one(s->scenario, s->lfd), ret = 0;

	if (fd < 0 || !buf) {
		free(buf);
		return -1;
	}
	for (size_t i = 0; i < N_SEQPACKET && ret == 0; i++) {
		struct iovec iov = { buf, SEQPACKET_MAX + 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(fd, &msg, 0);

		if (n != (ssize_t)seqpacket_sizes[i] || (msg.msg_flags & MSG_TRUNC) ||
		    !check_pattern(buf, (size_t)n, (unsigned int)i)) {
			fail(s->scenario, "message %zu: got %zd bytes (flags 0x%x), want %zu intact",
			     i, n, msg.msg_flags, seqpacket_sizes[i]);
			ret = -1;
		}
		if (n > 0)
			s->received += (size_t)n;
	}
	if (ret == 0 && send(fd, seqpacket_ack, strlen(seqpacket_ack), MSG_NOSIGNAL) < 0) {
		fail(s->scenario, "send ack: %s", strerror(errno));
		ret = -1;
	}
	/* Wait for the client to close so the ack is not lost to an RST. */
	recv(fd, buf, 1, 0);
	close(fd);
	free(buf);
	return ret;
}

static int scenario_seqpacket(const char *name)
{
	unsigned int sport = server_port_of(SLOT_SEQPACKET), cport = client_port_of(SLOT_SEQPACKET);
	unsigned char *buf = malloc(SEQPACKET_MAX);
	size_t ack_len = strlen(seqpacket_ack);
	unsigned long long sent = 0;
	struct server srv;
	char ack[16];
	ssize_t n = -1;
	int fd, ret = 0;

	if (!buf || server_start(&srv, name, SOCK_SEQPACKET, sport, seqpacket_serve, NULL)) {
		free(buf);
		return -1;
	}
	fd = connect_from(name, SOCK_SEQPACKET, cport, sport);
	if (fd < 0) {
		fail(name, "connect to port %u: %s", sport, strerror(-fd));
		ret = -1;
	}
	for (size_t i = 0; fd >= 0 && i < N_SEQPACKET && ret == 0; i++) {
		fill_pattern(buf, seqpacket_sizes[i], (unsigned int)i);
		if (send(fd, buf, seqpacket_sizes[i], MSG_NOSIGNAL) != (ssize_t)seqpacket_sizes[i]) {
			fail(name, "send of a %zu-byte message: %s", seqpacket_sizes[i], strerror(errno));
			ret = -1;
		}
		sent += seqpacket_sizes[i];
	}
	if (fd >= 0 && ret == 0) {
		n = recv(fd, ack, sizeof(ack), 0);
		if (n != (ssize_t)ack_len || memcmp(ack, seqpacket_ack, ack_len)) {
			fail(name, "no ack message from the server (%zd)", n);
			ret = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	if (server_join(&srv))
		ret = -1;
	free(buf);
	if (ret)
		return -1;
	manifest_write(&(struct record){
		.scenario = name, .type = "seqpacket", .client_port = cport,
		.server_port = sport, .bytes_c2s = sent, .bytes_s2c = ack_len,
		.msgs_c2s = seqpacket_sizes, .n_msgs_c2s = N_SEQPACKET,
		.msgs_s2c = &ack_len, .n_msgs_s2c = 1, .result = "ok",
	});
	return 0;
}

/* ---------- refused ---------- */

static int scenario_refused(const char *name)
{
	unsigned int sport = server_port_of(SLOT_REFUSED), cport = client_port_of(SLOT_REFUSED);
	int fd = connect_from(name, SOCK_STREAM, cport, sport);
	char extra[64];

	if (fd >= 0) {
		close(fd);
		fail(name, "connect to port %u succeeded; something listens there, pick another --port-base",
		     sport);
		return -1;
	}
	/* The peer answers REQUEST with RST: vsock reports ECONNRESET. */
	if (fd != -ECONNRESET && fd != -ECONNREFUSED) {
		fail(name, "connect failed with %s, want ECONNRESET or ECONNREFUSED%s",
		     strerror(-fd), errno_hint(-fd));
		return -1;
	}
	snprintf(extra, sizeof(extra), "\"error\":\"%s\"",
		 fd == -ECONNRESET ? "ECONNRESET" : "ECONNREFUSED");
	manifest_write(&(struct record){
		.scenario = name, .type = "stream", .client_port = cport,
		.server_port = sport, .result = "refused", .extra = extra,
	});
	return 0;
}

/* ---------- credit-stall ---------- */

/* Small receive buffer and a slow reader: the sender keeps running out of credit. */
static int credit_stall_serve(struct server *s)
{
	unsigned char buf[512];
	int fd = accept_one(s->scenario, s->lfd), ret = 0;
	unsigned long long total = 0;

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			fail(s->scenario, "recv: %s", strerror(errno));
			ret = -1;
			break;
		}
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (unsigned char)((total + i) * 7))
				ret = -1;
		total += (unsigned long long)n;
		sleep_ms(2);
	}
	s->received = total;
	if (ret)
		fail(s->scenario, "received bytes differ from what was sent");
	close(fd);
	return ret;
}

static int scenario_credit_stall(const char *name)
{
	unsigned int sport = server_port_of(SLOT_CREDIT_STALL);
	unsigned int cport = client_port_of(SLOT_CREDIT_STALL);
	static unsigned char data[CREDIT_STALL_BYTES];
	size_t total = sizeof(data);
	struct server srv;
	char extra[64];
	int fd, ret;

	fill_pattern(data, sizeof(data), 0);
	memset(&srv, 0, sizeof(srv));
	srv.lfd = vsock_bound(name, SOCK_STREAM, VMADDR_CID_ANY, sport);
	if (srv.lfd < 0)
		return -1;
	/* The accepted socket inherits the listener's buffer size. */
	if (set_vsock_buffer(name, srv.lfd, CREDIT_STALL_BUFFER) || listen(srv.lfd, 1) < 0) {
		close(srv.lfd);
		return -1;
	}
	srv.scenario = name;
	srv.serve = credit_stall_serve;
	if (pthread_create(&srv.thread, NULL, server_main, &srv)) {
		close(srv.lfd);
		return -1;
	}
	fd = connect_from(name, SOCK_STREAM, cport, sport);
	if (fd < 0) {
		fail(name, "connect to port %u: %s", sport, strerror(-fd));
		server_join(&srv);
		return -1;
	}
	ret = write_all(name, fd, data, total);
	close(fd);
	if (server_join(&srv) || ret)
		return -1;
	if (srv.received != total) {
		fail(name, "server read %llu bytes, client sent %zu", srv.received, total);
		return -1;
	}
	snprintf(extra, sizeof(extra), "\"receiver_buffer\":%d", CREDIT_STALL_BUFFER);
	manifest_write(&(struct record){
		.scenario = name, .type = "stream", .client_port = cport,
		.server_port = sport, .bytes_c2s = total, .msgs_c2s = &total,
		.n_msgs_c2s = 1, .result = "ok", .extra = extra,
	});
	return 0;
}

/* ---------- half-close ---------- */

static const char half_close_request[] = "PING half-close\n";
static const char half_close_reply[] = "PONG after your SHUT_WR\n";

/* Read to EOF (the client's SHUT_WR), still answer, then close. */
static int half_close_serve(struct server *s)
{
	int fd = accept_one(s->scenario, s->lfd), ret;
	long long got;

	if (fd < 0)
		return -1;
	got = drain(s->scenario, fd);
	s->received = got > 0 ? (unsigned long long)got : 0;
	ret = got == (long long)strlen(half_close_request) ? 0 : -1;
	if (ret)
		fail(s->scenario, "server read %lld bytes before EOF", got);
	else
		ret = write_all(s->scenario, fd, half_close_reply, strlen(half_close_reply));
	close(fd);
	return ret;
}

static int scenario_half_close(const char *name)
{
	unsigned int sport = server_port_of(SLOT_HALF_CLOSE), cport = client_port_of(SLOT_HALF_CLOSE);
	size_t req_len = strlen(half_close_request), reply_len = strlen(half_close_reply);
	struct server srv;
	char reply[128];
	ssize_t got = -1;
	int fd, ret = -1;

	if (server_start(&srv, name, SOCK_STREAM, sport, half_close_serve, NULL))
		return -1;
	fd = connect_from(name, SOCK_STREAM, cport, sport);
	if (fd < 0) {
		fail(name, "connect to port %u: %s", sport, strerror(-fd));
	} else if (write_all(name, fd, half_close_request, req_len) == 0) {
		if (shutdown(fd, SHUT_WR) < 0)
			fail(name, "shutdown(SHUT_WR): %s", strerror(errno));
		else
			got = read_full(name, fd, reply, sizeof(reply));
		ret = got == (ssize_t)reply_len && !memcmp(reply, half_close_reply, reply_len) ? 0 : -1;
		if (ret)
			fail(name, "no reply after SHUT_WR (%zd bytes)", got);
	}
	if (fd >= 0)
		close(fd);
	if (server_join(&srv) || ret)
		return -1;
	manifest_write(&(struct record){
		.scenario = name, .type = "stream", .client_port = cport,
		.server_port = sport, .bytes_c2s = req_len, .bytes_s2c = reply_len,
		.msgs_c2s = &req_len, .n_msgs_c2s = 1, .msgs_s2c = &reply_len,
		.n_msgs_s2c = 1, .result = "ok",
		.extra = "\"shutdown\":\"client SHUT_WR then server close\"",
	});
	return 0;
}

/* ---------- many-short ---------- */

static int many_short_serve(struct server *s)
{
	unsigned int n = *(unsigned int *)s->ctx;

	for (unsigned int i = 0; i < n; i++) {
		char buf[64], reply[64];
		int fd = accept_one(s->scenario, s->lfd), len;
		ssize_t got;

		if (fd < 0)
			return -1;
		got = recv(fd, buf, sizeof(buf) - 1, 0);
		len = snprintf(reply, sizeof(reply), "bye %u\n", i);
		if (got <= 0 || write_all(s->scenario, fd, reply, (size_t)len)) {
			close(fd);
			return -1;
		}
		s->received += (unsigned long long)got;
		/* Let the client close first, like a request/response client would. */
		recv(fd, buf, sizeof(buf), 0);
		close(fd);
	}
	return 0;
}

static int scenario_many_short(const char *name)
{
	unsigned int sport = server_port_of(SLOT_MANY_SHORT), n = opt.count;
	struct server srv;
	int ret = 0;

	if (server_start(&srv, name, SOCK_STREAM, sport, many_short_serve, &n))
		return -1;
	for (unsigned int i = 0; i < n && ret == 0; i++) {
		unsigned int cport = opt.port_base + MANY_SHORT_CLIENT_BASE + i;
		char msg[64], reply[64], expect[64];
		size_t c2s, s2c;
		ssize_t got;
		int fd = connect_from(name, SOCK_STREAM, cport, sport);

		if (fd < 0) {
			fail(name, "connection %u to port %u: %s", i, sport, strerror(-fd));
			ret = -1;
			break;
		}
		c2s = (size_t)snprintf(msg, sizeof(msg), "hello %u\n", i);
		s2c = (size_t)snprintf(expect, sizeof(expect), "bye %u\n", i);
		write_all(name, fd, msg, c2s);
		got = recv(fd, reply, sizeof(reply), 0);
		close(fd);
		if (got != (ssize_t)s2c || memcmp(reply, expect, s2c)) {
			fail(name, "connection %u: reply %zd bytes, want \"bye %u\"", i, got, i);
			ret = -1;
			break;
		}
		manifest_write(&(struct record){
			.scenario = name, .type = "stream", .client_port = cport,
			.server_port = sport, .bytes_c2s = c2s, .bytes_s2c = s2c,
			.msgs_c2s = &c2s, .n_msgs_c2s = 1, .msgs_s2c = &s2c,
			.n_msgs_s2c = 1, .result = "ok",
		});
	}
	if (ret)
		shutdown(srv.lfd, SHUT_RDWR);
	if (server_join(&srv))
		ret = -1;
	return ret;
}

/* ---------- flood ---------- */

static int flood_serve(struct server *s)
{
	int fd = accept_one(s->scenario, s->lfd);
	long long got;

	if (fd < 0)
		return -1;
	got = drain(s->scenario, fd);
	close(fd);
	if (got < 0)
		return -1;
	s->received = (unsigned long long)got;
	return 0;
}

static int scenario_flood(const char *name)
{
	unsigned int sport = server_port_of(SLOT_FLOOD), cport = client_port_of(SLOT_FLOOD);
	static unsigned char chunk[64 * 1024];
	unsigned long long sent = 0;
	double start, elapsed;
	struct server srv;
	char extra[128];
	int fd, ret = 0;

	if (server_start(&srv, name, SOCK_STREAM, sport, flood_serve, NULL))
		return -1;
	fd = connect_from(name, SOCK_STREAM, cport, sport);
	if (fd < 0) {
		fail(name, "connect to port %u: %s", sport, strerror(-fd));
		server_join(&srv);
		return -1;
	}
	fill_pattern(chunk, sizeof(chunk), 0);
	start = now_sec();
	for (;;) {
		size_t len = sizeof(chunk);

		if (opt.flood_seconds > 0) {
			if (now_sec() - start >= opt.flood_seconds)
				break;
		} else {
			if (sent >= opt.flood_bytes)
				break;
			if (opt.flood_bytes - sent < len)
				len = (size_t)(opt.flood_bytes - sent);
		}
		if (write_all(name, fd, chunk, len)) {
			ret = -1;
			break;
		}
		sent += len;
	}
	close(fd);
	if (server_join(&srv))
		ret = -1;
	elapsed = now_sec() - start;
	if (ret == 0 && srv.received != sent) {
		fail(name, "server read %llu bytes, client sent %llu", srv.received, sent);
		ret = -1;
	}
	if (ret)
		return -1;
	fprintf(stderr, "vsock-traffic: flood: %llu bytes in %.3f s = %.1f MiB/s\n",
		sent, elapsed, elapsed > 0 ? sent / elapsed / (1 << 20) : 0.0);
	snprintf(extra, sizeof(extra), "\"seconds\":%.3f", elapsed);
	manifest_write(&(struct record){
		.scenario = name, .type = "stream", .client_port = cport,
		.server_port = sport, .bytes_c2s = sent, .result = "ok", .extra = extra,
	});
	return 0;
}

/* ---------- ttrpc ---------- */

/*
 * Minimal ttrpc (containerd's RPC over vsock): a 10-byte big-endian header
 * length(4) stream_id(4) type(1) flags(1), then a protobuf body.
 * Request  { string service = 1; string method = 2; bytes payload = 3;
 *            int64 timeout_nano = 4; }
 * Response { google.rpc.Status status = 1; bytes payload = 2; }
 * Payloads are containerd.task.v2 ConnectRequest { string id = 1; } and
 * ConnectResponse { uint32 shim_pid = 1; uint32 task_pid = 2; string version = 3; }.
 */
#define TTRPC_STREAM_ID 1
#define TTRPC_SERVICE "containerd.task.v2.Task"
#define TTRPC_METHOD "Connect"
#define TTRPC_TASK_ID "vsockmon-demo"
#define TTRPC_TIMEOUT_NANO 10000000000ULL
#define TTRPC_SHIM_PID 4242
#define TTRPC_TASK_PID 4243
#define TTRPC_VERSION "v2"

struct pb {
	unsigned char buf[512];
	size_t len;
};

static void pb_varint(struct pb *b, uint64_t v)
{
	do {
		b->buf[b->len++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
}

static void pb_tag(struct pb *b, unsigned int field, unsigned int wire_type)
{
	pb_varint(b, (uint64_t)field << 3 | wire_type);
}

static void pb_bytes(struct pb *b, unsigned int field, const void *data, size_t len)
{
	pb_tag(b, field, 2);
	pb_varint(b, len);
	memcpy(b->buf + b->len, data, len);
	b->len += len;
}

static void pb_uint(struct pb *b, unsigned int field, uint64_t v)
{
	pb_tag(b, field, 0);
	pb_varint(b, v);
}

static size_t ttrpc_frame(unsigned char *out, uint32_t stream_id, uint8_t type,
			  const struct pb *body)
{
	uint32_t len = (uint32_t)body->len;

	out[0] = len >> 24; out[1] = len >> 16; out[2] = len >> 8; out[3] = len;
	out[4] = stream_id >> 24; out[5] = stream_id >> 16;
	out[6] = stream_id >> 8; out[7] = stream_id;
	out[8] = type;
	out[9] = 0;	/* flags */
	memcpy(out + TTRPC_HEADER_LEN, body->buf, body->len);
	return TTRPC_HEADER_LEN + body->len;
}

/* Read one frame; returns body length or -1. */
static ssize_t ttrpc_read_frame(const char *scenario, int fd, uint32_t *stream_id,
				uint8_t *type, unsigned char *body, size_t cap)
{
	unsigned char h[TTRPC_HEADER_LEN];
	uint32_t len;

	if (read_full(scenario, fd, h, sizeof(h)) != (ssize_t)sizeof(h))
		return -1;
	len = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
	*stream_id = (uint32_t)h[4] << 24 | h[5] << 16 | h[6] << 8 | h[7];
	*type = h[8];
	if (len > cap || read_full(scenario, fd, body, len) != (ssize_t)len)
		return -1;
	return len;
}

/* True if protobuf message buf has a length-delimited field equal to want. */
static bool pb_has_string(const unsigned char *buf, size_t len, unsigned int field,
			  const char *want)
{
	size_t i = 0;

	while (i < len) {
		uint64_t key = 0, v = 0;
		int shift = 0;

		do { key |= (uint64_t)(buf[i] & 0x7f) << shift; shift += 7; } while (buf[i++] & 0x80 && i < len);
		if ((key & 7) == 0) {
			while (i < len && buf[i++] & 0x80)
				;
			continue;
		}
		if ((key & 7) != 2)
			return false;
		shift = 0;
		do { v |= (uint64_t)(buf[i] & 0x7f) << shift; shift += 7; } while (buf[i++] & 0x80 && i < len);
		if (i + v > len)
			return false;
		if ((key >> 3) == field && v == strlen(want) && !memcmp(buf + i, want, v))
			return true;
		i += v;
	}
	return false;
}

static int ttrpc_serve(struct server *s)
{
	unsigned char body[1024], frame[1100];
	struct pb payload = { .len = 0 }, resp = { .len = 0 };
	uint32_t stream_id;
	uint8_t type;
	ssize_t len;
	size_t n;
	int fd = accept_one(s->scenario, s->lfd), ret;

	if (fd < 0)
		return -1;
	len = ttrpc_read_frame(s->scenario, fd, &stream_id, &type, body, sizeof(body));
	if (len < 0 || type != TTRPC_TYPE_REQUEST ||
	    !pb_has_string(body, (size_t)len, 1, TTRPC_SERVICE) ||
	    !pb_has_string(body, (size_t)len, 2, TTRPC_METHOD)) {
		fail(s->scenario, "server got no valid ttrpc Request for %s/%s", TTRPC_SERVICE,
		     TTRPC_METHOD);
		close(fd);
		return -1;
	}
	s->received = TTRPC_HEADER_LEN + (size_t)len;
	pb_uint(&payload, 1, TTRPC_SHIM_PID);
	pb_uint(&payload, 2, TTRPC_TASK_PID);
	pb_bytes(&payload, 3, TTRPC_VERSION, strlen(TTRPC_VERSION));
	pb_bytes(&resp, 1, "", 0);	/* google.rpc.Status{} = OK */
	pb_bytes(&resp, 2, payload.buf, payload.len);
	n = ttrpc_frame(frame, stream_id, TTRPC_TYPE_RESPONSE, &resp);
	ret = write_all(s->scenario, fd, frame, n);
	*(size_t *)s->ctx = n;
	recv(fd, body, 1, 0);	/* wait for the client's close */
	close(fd);
	return ret;
}

static int scenario_ttrpc(const char *name)
{
	unsigned int cport = client_port_of(SLOT_TTRPC);
	unsigned char frame[1100], body[1024];
	struct pb payload = { .len = 0 }, req = { .len = 0 };
	size_t req_len, resp_len = 0;
	struct server srv;
	uint32_t stream_id = 0;
	uint8_t type = 0;
	ssize_t len = -1;
	char extra[256];
	int fd;

	pb_bytes(&payload, 1, TTRPC_TASK_ID, strlen(TTRPC_TASK_ID));
	pb_bytes(&req, 1, TTRPC_SERVICE, strlen(TTRPC_SERVICE));
	pb_bytes(&req, 2, TTRPC_METHOD, strlen(TTRPC_METHOD));
	pb_bytes(&req, 3, payload.buf, payload.len);
	pb_uint(&req, 4, TTRPC_TIMEOUT_NANO);
	req_len = ttrpc_frame(frame, TTRPC_STREAM_ID, TTRPC_TYPE_REQUEST, &req);

	if (server_start(&srv, name, SOCK_STREAM, TTRPC_PORT, ttrpc_serve, &resp_len))
		return -1;
	fd = connect_from(name, SOCK_STREAM, cport, TTRPC_PORT);
	if (fd < 0) {
		fail(name, "connect to port %u: %s", TTRPC_PORT, strerror(-fd));
		server_join(&srv);
		return -1;
	}
	if (write_all(name, fd, frame, req_len) == 0)
		len = ttrpc_read_frame(name, fd, &stream_id, &type, body, sizeof(body));
	close(fd);
	if (server_join(&srv) || len < 0 || stream_id != TTRPC_STREAM_ID ||
	    type != TTRPC_TYPE_RESPONSE || !pb_has_string(body, (size_t)len, 1, "")) {
		fail(name, "no valid ttrpc Response on stream %d", TTRPC_STREAM_ID);
		return -1;
	}
	snprintf(extra, sizeof(extra),
		 "\"protocol\":\"ttrpc\",\"stream_id\":%d,\"service\":\"%s\",\"method\":\"%s\"",
		 TTRPC_STREAM_ID, TTRPC_SERVICE, TTRPC_METHOD);
	manifest_write(&(struct record){
		.scenario = name, .type = "stream", .client_port = cport,
		.server_port = TTRPC_PORT, .bytes_c2s = req_len, .bytes_s2c = resp_len,
		.msgs_c2s = &req_len, .n_msgs_c2s = 1, .msgs_s2c = &resp_len,
		.n_msgs_s2c = 1, .result = "ok", .extra = extra,
	});
	return 0;
}

/* ---------- main ---------- */

struct scenario {
	const char *name;
	int (*run)(const char *name);
	bool in_all;	/* part of "all" (flood is a benchmark, not a sample) */
};

static const struct scenario scenarios[] = {
	{ "http", scenario_http, true },
	{ "seqpacket", scenario_seqpacket, true },
	{ "refused", scenario_refused, true },
	{ "credit-stall", scenario_credit_stall, true },
	{ "half-close", scenario_half_close, true },
	{ "many-short", scenario_many_short, true },
	{ "ttrpc", scenario_ttrpc, true },
	{ "flood", scenario_flood, false },
};
#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vsock-traffic [--manifest FILE] [--port-base N] [--count N]\n"
		"                     [--bytes N] [--seconds S] SCENARIO...\n"
		"Generates AF_VSOCK traffic over the loopback transport (CID 1); both\n"
		"ends run in this process. Needs the vsock and vsock_loopback modules.\n"
		"Scenarios:");
	for (size_t i = 0; i < N_SCENARIOS; i++)
		fprintf(f, " %s", scenarios[i].name);
	fprintf(f, " all (= every one but flood)\n"
		"Ports: server port-base+slot (slot = position above), client\n"
		"port-base+100+slot, many-short clients port-base+1000+i; ttrpc\n"
		"listens on %d. --count: many-short connections (default 20);\n"
		"--bytes/--seconds: flood size or duration (default 16 MiB).\n"
		"--manifest: append one JSON line per connection to FILE.\n",
		TTRPC_PORT);
}

static int parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "manifest", required_argument, NULL, 'm' },
		{ "port-base", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "seconds", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "m:p:n:b:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': opt.manifest_path = optarg; break;
		case 'p': opt.port_base = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'n': opt.count = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'b': opt.flood_bytes = strtoull(optarg, NULL, 0); break;
		case 's': opt.flood_seconds = strtod(optarg, NULL); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return -1;
	}
	if (opt.port_base < 1025 || opt.port_base + MANY_SHORT_CLIENT_BASE + opt.count > 0xfffffff0u) {
		fprintf(stderr, "vsock-traffic: --port-base must be above 1024 (ttrpc owns 1024)\n");
		return -1;
	}
	return 0;
}

static const struct scenario *find_scenario(const char *name)
{
	for (size_t i = 0; i < N_SCENARIOS; i++)
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	return NULL;
}

static int run_one(const struct scenario *sc)
{
	int ret = sc->run(sc->name);

	fprintf(stderr, "vsock-traffic: %s: %s\n", sc->name, ret ? "FAILED" : "ok");
	return ret;
}

int main(int argc, char **argv)
{
	int failures = 0;

	if (parse_options(argc, argv))
		return 2;
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "all") && !find_scenario(argv[i])) {
			fprintf(stderr, "vsock-traffic: unknown scenario '%s' (see --help)\n", argv[i]);
			return 2;
		}
	}
	if (opt.manifest_path) {
		manifest = fopen(opt.manifest_path, "a");
		if (!manifest) {
			fprintf(stderr, "vsock-traffic: cannot open manifest %s: %s\n",
				opt.manifest_path, strerror(errno));
			return 2;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "all")) {
			for (size_t k = 0; k < N_SCENARIOS; k++)
				if (scenarios[k].in_all)
					failures += run_one(&scenarios[k]) != 0;
		} else {
			failures += run_one(find_scenario(argv[i])) != 0;
		}
	}
	if (manifest)
		fclose(manifest);
	if (failures)
		fprintf(stderr, "vsock-traffic: %d scenario(s) failed; see the messages above\n",
			failures);
	return failures ? 1 : 0;
}
