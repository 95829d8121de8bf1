// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vsock-flood - paced or unpaced AF_VSOCK STREAM flood over the loopback
 * transport (CID 1), with a chosen write size, for bench/capture.sh.
 * vsock-traffic's flood scenario always writes 64 KiB; capturers cost per
 * frame, so this adds small writes and a fixed write rate.
 *
 * Usage: vsock-flood [-p PORT] [-s WRITE_SIZE] [-r WRITES_PER_SEC] [-t SECONDS]
 *   -r 0 = as fast as possible. Prints one JSON line: writes, bytes, seconds.
 * Each write of <= 64 KiB is one RW packet on vsock_loopback.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

static unsigned int port = 7000;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "vsock-flood: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct sockaddr_vm vsock_addr(unsigned int cid, unsigned int p)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = p };

	return a;
}

/* The server: accept one connection and read until EOF. */
static void *drain(void *arg)
{
	int lfd = *(int *)arg, fd;
	static char buf[1 << 16];

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	size_t size = 64;
	double rate = 0, seconds = 3, start, next;
	unsigned long long writes = 0;
	struct sockaddr_vm a;
	pthread_t server;
	static char buf[1 << 16];
	int lfd, fd, opt;

	while ((opt = getopt(argc, argv, "p:s:r:t:")) != -1) {
		switch (opt) {
		case 'p': port = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 's': size = strtoul(optarg, NULL, 0); break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 't': seconds = strtod(optarg, NULL); break;
		default:
			fprintf(stderr, "usage: vsock-flood [-p PORT] [-s SIZE] [-r WRITES/S] [-t SECONDS]\n");
			return 2;
		}
	}
	if (size == 0 || size > sizeof(buf))
		size = sizeof(buf);
	memset(buf, 'v', sizeof(buf));

	lfd = socket(AF_VSOCK, SOCK_STREAM, 0);
	a = vsock_addr(VMADDR_CID_ANY, port);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1))
		die("listen");
	if (pthread_create(&server, NULL, drain, &lfd))
		die("pthread_create");
	fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	a = vsock_addr(VMADDR_CID_LOCAL, port);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");

	start = next = now();
	while (now() - start < seconds) {
		if (rate > 0) {	/* pace: sleep until the next slot */
			double wait = next - now();

			if (wait > 0)
				usleep((useconds_t)(wait * 1e6));
			next += 1.0 / rate;
		}
		if (write(fd, buf, size) != (ssize_t)size)
			die("write");
		writes++;
	}
	close(fd);
	pthread_join(server, NULL);
	printf("{\"writes\": %llu, \"bytes\": %llu, \"seconds\": %.3f, \"size\": %zu, \"rate\": %.0f}\n",
	       writes, writes * size, now() - start, size, rate);
	return 0;
}
