// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * output.c - the pcapng output stream: stdio on top of a non-blocking
 * descriptor whose writes wait in ppoll(), the one place (with the capture
 * loop's wait) where stop signals are let in. (fopencookie is a GNU
 * extension: the build defines _GNU_SOURCE.)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "output.h"

/* stdio buffer of the output: the capture loop flushes it after each batch */
#define OUTPUT_BUFFER_BYTES (256 * 1024)
#define WAIT_TICK_MS 100

struct output {
	int fd;
	volatile sig_atomic_t *stop;
	uint64_t give_up_ms;	/* after a stop: when to stop waiting for the reader (0: not yet) */
};

/* The one wrapped stream (vsockdump writes one output) and its descriptor. */
static FILE *wrapped;
static int wrapped_fd = -1;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The signal mask with the stop signals let in: what ppoll() waits with. */
static void stop_signals_open(sigset_t *mask)
{
	sigset_t stops;
	int sig;

	capture_stop_signals(&stops);
	sigprocmask(SIG_BLOCK, NULL, mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&stops, sig) == 1)
			sigdelset(mask, sig);
}

/* Wait until the reader takes more bytes; 0 (errno set) to give up. */
static int wait_writable(struct output *o)
{
	struct pollfd pfd = { .fd = o->fd, .events = POLLOUT };
	struct timespec tick = { .tv_nsec = WAIT_TICK_MS * 1000000L };
	sigset_t mask;

	stop_signals_open(&mask);
	for (;;) {
		int n;

		if (*o->stop) {
			if (!o->give_up_ms)
				o->give_up_ms = now_ms() + OUTPUT_STOP_GRACE_MS;
			else if (now_ms() >= o->give_up_ms) {
				errno = ETIMEDOUT;
				return 0;
			}
		}
		n = ppoll(&pfd, 1, &tick, &mask);
		if (n < 0 && errno != EINTR)
			return 0;
		if (n > 0 && (pfd.revents & (POLLERR | POLLHUP))) {
			errno = EPIPE;	/* the reader closed its end */
			return 0;
		}
		if (n > 0 && (pfd.revents & POLLOUT))
			return 1;
	}
}

/* All of buf, or fail: stdio takes a short count for an error anyway. */
static ssize_t output_write(void *cookie, const char *buf, size_t size)
{
	struct output *o = cookie;
	size_t done = 0;

	while (done < size) {
		ssize_t n = write(o->fd, buf + done, size - done);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			break;
		if (!wait_writable(o))
			break;
	}
	return (ssize_t)done;
}

static int output_close(void *cookie)
{
	struct output *o = cookie;
	int rc = o->fd == STDOUT_FILENO ? 0 : close(o->fd);

	wrapped = NULL;
	wrapped_fd = -1;
	free(o);
	return rc;
}

/* A regular file never blocks: only pipes and fifos need the cookie. */
static int is_pipe(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

int output_fileno(FILE *out)
{
	return out == wrapped ? wrapped_fd : fileno(out);
}

static FILE *wrap(int fd, volatile sig_atomic_t *stop)
{
	cookie_io_functions_t io = { .write = output_write, .close = output_close };
	struct output *o;
	FILE *out;

	if (!is_pipe(fd))
		return fd == STDOUT_FILENO ? stdout : fdopen(fd, "wb");
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->fd = fd;
	o->stop = stop;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 || !(out = fopencookie(o, "wb", io))) {
		free(o);
		return NULL;
	}
	wrapped = out;
	wrapped_fd = fd;
	return out;
}

FILE *output_open(const char *path, volatile sig_atomic_t *stop, char *err, size_t err_len)
{
	FILE *out;
	int fd = STDOUT_FILENO;

	if (strcmp(path, "-") != 0) {
		/* blocks until Wireshark opens its end of the fifo */
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			if (errno == EINTR)
				snprintf(err, err_len, "stopped before the reader opened %s", path);
			else
				snprintf(err, err_len, "cannot open output %s: %s; check the path "
					 "and that the directory is writable", path, strerror(errno));
			return NULL;
		}
	}
	out = wrap(fd, stop);
	if (!out) {
		snprintf(err, err_len, "cannot open output %s: %s", path, strerror(errno));
		if (fd != STDOUT_FILENO)
			close(fd);
		return NULL;
	}
	/* a fifo's stdio buffer is 4 KiB: one write(2) per batch, not per few frames */
	setvbuf(out, NULL, _IOFBF, OUTPUT_BUFFER_BYTES);
	return out;
}
