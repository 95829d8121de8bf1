/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pcapng.h - the minimal pcapng writer vsockdump needs: one section with
 * one interface, enhanced packet blocks, and a closing statistics block.
 * Blocks are written in host byte order (the section header's byte-order
 * magic tells readers which one).
 */
#ifndef VSOCKDUMP_PCAPNG_H
#define VSOCKDUMP_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

#define PCAPNG_BT_SHB	0x0A0D0D0AU
#define PCAPNG_BT_IDB	0x00000001U
#define PCAPNG_BT_ISB	0x00000005U
#define PCAPNG_BT_EPB	0x00000006U

struct pcapng_interface {
	const char *name;	/* if_name */
	const char *filter;	/* if_filter, may be NULL or "" */
	const char *os;		/* if_os */
	uint16_t linktype;
	uint32_t snaplen;
	uint8_t tsresol;	/* if_tsresol: 6 = microseconds, 9 = nanoseconds */
};

struct pcapng_stats {
	uint64_t start_ts, end_ts;	/* in units of the interface's tsresol */
	uint64_t received;		/* isb_ifrecv */
	uint64_t kernel_drops;		/* isb_osdrop: no room in the ring */
	uint64_t interface_drops;	/* isb_ifdrop */
	uint64_t accepted;		/* isb_filteraccept: frames we wrote */
	int counts_unknown;		/* the kernel gave no counters: write no ifrecv/drops */
	const char *comment;		/* opt_comment, NULL or "" for none */
};

/* All return 0, or -1 with errno from the failed write. */
/* @comment: the section's opt_comment (Wireshark's "capture file comments"), NULL for none. */
int pcapng_write_shb(FILE *out, const char *application, const char *os,
		     const char *comment);
int pcapng_write_idb(FILE *out, const struct pcapng_interface *iface);
int pcapng_write_epb(FILE *out, uint64_t ts, const uint8_t *data,
		     uint32_t caplen, uint32_t origlen);
/*
 * A frame written from two pieces (@head, then @body: a trimmed vhost
 * fragment's headers and its bytes further on in the tapped frame), with
 * an opt_comment unless @comment is NULL.
 */
int pcapng_write_epb_parts(FILE *out, uint64_t ts, const uint8_t *head, uint32_t head_len,
			   const uint8_t *body, uint32_t body_len, uint32_t origlen,
			   const char *comment);
int pcapng_write_isb(FILE *out, const struct pcapng_stats *stats);

#endif /* VSOCKDUMP_PCAPNG_H */
