/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * output.h - the stream the pcapng goes to (Wireshark's fifo, a file, or
 * stdout) (output.c).
 *
 * Writes go through stdio (one write(2) per batch) but never block for
 * good: a reader that stops draining leaves us waiting in ppoll(), where
 * a stop signal is seen. After a stop, the output still gets what it was
 * being given, for OUTPUT_STOP_GRACE_MS at most, so that a complete file
 * ends the capture when the reader keeps reading, and a reader that does
 * not cannot keep vsockdump (and its link) alive until Wireshark kills it:
 * that write fails with ETIMEDOUT.
 */
#ifndef VSOCKDUMP_OUTPUT_H
#define VSOCKDUMP_OUTPUT_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#define OUTPUT_STOP_GRACE_MS 3000

/*
 * Open path ("-": stdout) for writing; on a fifo this blocks until the
 * reader opens it (a stop signal ends the wait: NULL, errno EINTR).
 * NULL with err set on failure.
 */
FILE *output_open(const char *path, volatile sig_atomic_t *stop, char *err, size_t err_len);

/* The descriptor under out (a stream output_open() wrapped has no fileno()). */
int output_fileno(FILE *out);

#endif /* VSOCKDUMP_OUTPUT_H */
