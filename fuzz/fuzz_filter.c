/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_filter.c - libFuzzer target for vsockdump's capture filter compiler
 * (extcap/filter.c, compiled into this binary with the sanitizers).
 *
 * For every input string:
 *   1. filter_compile() must return 0 or -1 with a one-line message, and
 *      never crash or leak.
 *   2. A compiled program must be valid classic BPF: libpcap's
 *      bpf_validate() (jumps forward and in range, known opcodes, ends in
 *      a return), plus our own checks: every return is 0 or the snaplen,
 *      no load reaches past the 76 header bytes the language reads, and
 *      the program fits the kernel's BPF_MAXINSNS.
 *   3. It runs over crafted frames (every op and type, short frames,
 *      non-virtio transports, 64-bit CIDs) with bpf_filter(), and
 *      agrees with itself: "not (F)" accepts exactly the frames F rejects,
 *      "(F) and (F)" and "(F) or (F)" accept the same frames as F. This
 *      catches wrong jump targets (the true/false labels, the relaxation
 *      of far jumps), not just crashes.
 * A violated property abort()s, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>
#include <vsockmon_wire.h>

#include "filter.h"

#define SNAPLEN 262144u
/* BPF_MAXINSNS of <linux/filter.h>, whose macros clash with pcap/bpf.h */
#define KERNEL_BPF_MAXINSNS 4096u
/* The longest filter vsockdump can be given: one command-line argument
 * (Linux's MAX_ARG_STRLEN), which is how Wireshark passes it. run.sh
 * fuzzes with -max_len=4096; longer inputs are for reproducers. */
#define MAX_FILTER_TEXT 131072
#define N_FRAMES 16
#define FRAME_ROOM (VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN + 8)

struct frame {
	unsigned char bytes[FRAME_ROOM];
	unsigned int len;
};

static struct frame frames[N_FRAMES];

static void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put_le32(unsigned char *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static void put_le64(unsigned char *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* One frame as the kernel's vsockmon driver writes it (include/vsockmon_wire.h). */
static void make_frame(struct frame *f, uint64_t src_cid, uint32_t src_port,
		       uint64_t dst_cid, uint32_t dst_port, uint16_t transport,
		       uint16_t hdr_len, uint16_t type, uint16_t op, unsigned int len)
{
	unsigned char *v = f->bytes + VSOCKMON_HDR_LEN;

	memset(f->bytes, 0, sizeof(f->bytes));
	put_le64(f->bytes + VSOCKMON_OFF_SRC_CID, src_cid);
	put_le32(f->bytes + VSOCKMON_OFF_SRC_PORT, src_port);
	put_le64(f->bytes + VSOCKMON_OFF_DST_CID, dst_cid);
	put_le32(f->bytes + VSOCKMON_OFF_DST_PORT, dst_port);
	put_le16(f->bytes + VSOCKMON_OFF_OP, vsockmon_op_from_virtio(op));
	put_le16(f->bytes + VSOCKMON_OFF_TRANSPORT, transport);
	put_le16(f->bytes + VSOCKMON_OFF_LEN, hdr_len);
	put_le64(v + VIRTIO_VSOCK_OFF_SRC_CID, src_cid);
	put_le64(v + VIRTIO_VSOCK_OFF_DST_CID, dst_cid);
	put_le32(v + VIRTIO_VSOCK_OFF_SRC_PORT, src_port);
	put_le32(v + VIRTIO_VSOCK_OFF_DST_PORT, dst_port);
	put_le16(v + VIRTIO_VSOCK_OFF_TYPE, type);
	put_le16(v + VIRTIO_VSOCK_OFF_OP, op);
	f->len = len;
}

static void make_frames(void)
{
	const unsigned int full = VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN;
	const uint16_t virtio = AF_VSOCK_TRANSPORT_VIRTIO;
	const uint16_t hl = VIRTIO_VSOCK_HDR_LEN;
	int i = 0;

	make_frame(&frames[i++], 3, 1024, 2, 1234, virtio, hl, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_REQUEST, full);
	make_frame(&frames[i++], 2, 1234, 3, 1024, virtio, hl, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RESPONSE, full);
	make_frame(&frames[i++], 1, 5000, 1, 80, virtio, hl, VIRTIO_VSOCK_TYPE_SEQPACKET, VIRTIO_VSOCK_OP_RW, full + 5);
	make_frame(&frames[i++], 0, 0, UINT64_MAX, UINT32_MAX, virtio, hl, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RST, full);
	make_frame(&frames[i++], 0x100000003ull, 7, 2, 0x10000, virtio, hl, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_SHUTDOWN, full);
	make_frame(&frames[i++], 3, 1024, 0x200000002ull, 1234, virtio, hl, VIRTIO_VSOCK_TYPE_SEQPACKET, VIRTIO_VSOCK_OP_CREDIT_UPDATE, full);
	make_frame(&frames[i++], 2, 1234, 3, 1024, virtio, hl, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_CREDIT_REQUEST, full);
	make_frame(&frames[i++], 2, 1234, 3, 1024, virtio, hl, 9, 42, full);	/* unknown type and op */
	/* not virtio, wrong header length: op/type are false */
	make_frame(&frames[i++], 3, 1024, 2, 1234, AF_VSOCK_TRANSPORT_NO_INFO, hl, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RW, full);
	make_frame(&frames[i++], 3, 1024, 2, 1234, virtio, 40, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RW, full);
	/* short frames: inside the virtio header, inside and before the monitor header */
	make_frame(&frames[i++], 3, 1024, 2, 1234, virtio, hl, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RST, full - 1);
	make_frame(&frames[i++], 3, 1024, 2, 1234, virtio, hl, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RST, VSOCKMON_HDR_LEN + 20);
	make_frame(&frames[i++], 3, 1024, 2, 1234, virtio, hl, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RST, VSOCKMON_HDR_LEN);
	make_frame(&frames[i++], 3, 1024, 2, 1234, virtio, hl, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RST, 20);
	make_frame(&frames[i++], 3, 1024, 2, 1234, virtio, hl, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RST, 0);
	make_frame(&frames[i++], 0xffffffff00000002ull, 2, 2, 0xffffffffu, virtio, hl, VIRTIO_VSOCK_TYPE_SEQPACKET, VIRTIO_VSOCK_OP_RW, full + 8);
}

static void fail(const char *what, const char *text)
{
	fprintf(stderr, "fuzz_filter: %s\nfilter: \"%s\"\n", what, text);
	abort();
}

/* Properties every compiled program must have (see the top). */
static void check_program(const struct bpf_program *prog, const char *text)
{
	unsigned int i;

	if (prog->bf_len == 0 || !prog->bf_insns)
		fail("compiled to an empty program", text);
	if (prog->bf_len > KERNEL_BPF_MAXINSNS)
		fail("program longer than BPF_MAXINSNS: the kernel would refuse it", text);
	if (!bpf_validate(prog->bf_insns, (int)prog->bf_len))
		fail("bpf_validate() rejects the program", text);
	for (i = 0; i < prog->bf_len; i++) {
		const struct bpf_insn *in = &prog->bf_insns[i];

		if (BPF_CLASS(in->code) == BPF_RET && in->k != 0 && in->k != SNAPLEN)
			fail("a return value other than 0 and the snaplen", text);
		if (BPF_CLASS(in->code) == BPF_LD && BPF_MODE(in->code) == BPF_ABS &&
		    in->k >= VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN)
			fail("a load past the two headers", text);
	}
}

/* Bit i set: frame i is accepted. */
static uint32_t run_program(const struct bpf_program *prog, const char *text)
{
	uint32_t accepted = 0;
	int i;

	for (i = 0; i < N_FRAMES; i++) {
		unsigned int ret = bpf_filter(prog->bf_insns, frames[i].bytes, frames[i].len, frames[i].len);

		if (ret != 0 && ret != SNAPLEN)
			fail("bpf_filter() returned neither 0 nor the snaplen", text);
		if (ret)
			accepted |= 1u << i;
	}
	return accepted;
}

/* Compile and run @text; returns 0 and the accepted frames, or -1. */
static int compile_and_run(const char *text, uint32_t *accepted)
{
	struct bpf_program prog;
	char err[FILTER_ERR_LEN];

	memset(err, 'x', sizeof(err));
	if (filter_compile(text, SNAPLEN, &prog, err) != 0) {
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			fail("rejected without a message", text);
		if (strchr(err, '\n'))
			fail("error message is more than one line", text);
		if (prog.bf_insns)
			fail("rejected but left a program behind", text);
		return -1;
	}
	check_program(&prog, text);
	*accepted = run_program(&prog, text);
	filter_free(&prog);
	return 0;
}

static void check_derived(const char *fmt, const char *text, uint32_t expected)
{
	size_t room = strlen(text) * 2 + 32;
	char *derived = malloc(room);
	uint32_t accepted;

	if (!derived)
		abort();
	snprintf(derived, room, fmt, text, text);
	if (compile_and_run(derived, &accepted) != 0)
		fail("a valid filter stops compiling inside not/and/or", derived);
	if (accepted != expected) {
		fprintf(stderr, "accepted %#x, expected %#x\n", accepted, expected);
		fail("derived filter disagrees with the original", derived);
	}
	free(derived);
}

static int is_blank(const char *text)
{
	return text[strspn(text, " \t\n\v\f\r")] == '\0';
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	make_frames();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint32_t all = (1u << N_FRAMES) - 1;
	uint32_t accepted;
	char *text;

	if (size > MAX_FILTER_TEXT)
		return 0;
	text = malloc(size + 1);	/* the API takes a C string */
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* A blank filter accepts all but is no operand: derive only from real ones. */
	if (compile_and_run(text, &accepted) == 0 && !is_blank(text)) {
		check_derived("not (%s)%.0s", text, ~accepted & all);
		check_derived("(%s) and (%s)", text, accepted);
		check_derived("(%s) or (%s)", text, accepted);
	}
	free(text);
	return 0;
}
