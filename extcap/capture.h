/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * capture.h - capture one vsockmon link with libpcap and stream it as
 * pcapng, flushing after every batch so Wireshark's live view stays live.
 */
#ifndef VSOCKDUMP_CAPTURE_H
#define VSOCKDUMP_CAPTURE_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <pcap/pcap.h>

#include "vhost-split.h"

struct capture_config {
	const char *ifname;
	const char *filter_text;		/* for the IDB's if_filter */
	const struct bpf_program *filter;	/* attached in the kernel */
	unsigned int snaplen;
	unsigned int ring_bytes;
	enum vhost_fragments vhost_fragments;
};

struct capture {
	pcap_t *pcap;
	const struct capture_config *config;
};

/* Open and activate; returns 0 or an enum vsockdump_exit with @err set. */
int capture_open(struct capture *cap, const struct capture_config *config,
		 char *err, size_t err_len);

/*
 * Write SHB+IDB, then frames until *@stop is set, the reader of @out goes
 * away, or an error; then the statistics block. Returns 0 or an exit code.
 */
int capture_run(struct capture *cap, FILE *out,
		volatile sig_atomic_t *stop, char *err, size_t err_len);

void capture_close(struct capture *cap);

/*
 * The signals that stop a capture: SIGTERM (Wireshark), SIGINT, SIGHUP (a
 * closed terminal). They are let in only where vsockdump waits; SIGPIPE,
 * handled too, stays blocked there so that a write fails with EPIPE.
 */
void capture_stop_signals(sigset_t *set);

#endif /* VSOCKDUMP_CAPTURE_H */
