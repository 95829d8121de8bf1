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
 *      the program fits the kernel's BPF_MAXINSNS (a longer one must be
 *      refused with a message saying so).
 *   3. It runs over crafted frames (every op and type, short frames,
 *      non-virtio transports, 64-bit CIDs) with bpf_filter(), and
 *      agrees with itself: "not (F)" accepts exactly the frames F rejects,
 *      "(F) and (F)" and "(F) or (F)" accept the same frames as F. This
 *      catches wrong jump targets (the true/false labels, the relaxation
 *      of far jumps), not just crashes.
 *   4. Compiler and a reference evaluator written from the documentation
 *      (README, man page) agree: the same strings are valid (numbers
 *      decimal or 0x hex, nesting up to 64; a valid filter may only be
 *      refused for its length), and a valid filter accepts the same frames.
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

static __attribute__((noreturn)) void fail(const char *what, const char *text)
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
	if (prog->bf_len > FILTER_MAX_INSNS)
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
/* What filter_compile() made of a text. */
enum outcome {
	COMPILED,
	REFUSED,	/* not the language */
	TOO_LONG,	/* the language, but over the kernel's instruction limit */
};

static enum outcome compile_and_run(const char *text, uint32_t *accepted)
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
		return strstr(err, "BPF instructions") ? TOO_LONG : REFUSED;
	}
	check_program(&prog, text);
	*accepted = run_program(&prog, text);
	filter_free(&prog);
	return COMPILED;
}

static void check_derived(const char *fmt, const char *text, uint32_t expected)
{
	size_t room = strlen(text) * 2 + 32;
	char *derived = malloc(room);
	uint32_t accepted;

	if (!derived)
		abort();
	snprintf(derived, room, fmt, text, text);
	switch (compile_and_run(derived, &accepted)) {
	case COMPILED:
		break;
	case TOO_LONG:	/* F fits, F twice may not */
		free(derived);
		return;
	case REFUSED:
		fail("a valid filter stops compiling inside not/and/or", derived);
	}
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

/* ---- reference: the language as documented, evaluated directly ----
 *
 * An independent reading of extcap/README.md and vsockdump.1, not of
 * filter.c: numbers are decimal or 0x hex; cid/port need the 32-byte
 * monitor header, op/type a whole virtio header (transport VIRTIO, header
 * length >= 44, 76 bytes captured). Parsing and evaluating at once, every
 * node yields the set of frames it accepts (bit i: frame i). */


/* README: "not and parentheses nest up to 64 levels; deeper is an error" */
#define REF_MAX_NESTING 64
#define REF_NUMBER_ROOM 32	/* filter.c's token buffer: longer numbers are refused */

enum ref_verdict { REF_OK, REF_SYNTAX };

struct ref {
	const char *pos;
	const char *tok;	/* current token */
	size_t len;
	int depth;		/* not and ( levels open */
	int max_depth;
	enum ref_verdict verdict;
};

static int ref_word_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

static void ref_next(struct ref *r)
{
	const char *s = r->pos;
	const char *e;

	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	e = s;
	if (*s == '\0')
		;
	else if (ref_word_char(*s, 1) || (*s >= '0' && *s <= '9'))
		for (e = s + 1; ref_word_char(*e, 0); e++)
			;
	else if ((s[0] == '&' && s[1] == '&') || (s[0] == '|' && s[1] == '|'))
		e = s + 2;
	else
		e = s + 1;
	r->tok = s;
	r->len = (size_t)(e - s);
	r->pos = e;
}

static int ref_is(const struct ref *r, const char *word)
{
	return strlen(word) == r->len && strncmp(r->tok, word, r->len) == 0;
}

static void ref_error(struct ref *r)
{
	if (r->verdict == REF_OK)
		r->verdict = REF_SYNTAX;
}

/* Decimal, or 0x/0X hex; consumes the token when it is a number <= max. */
static int ref_number(struct ref *r, uint64_t max, uint64_t *value)
{
	const char *c = r->tok, *end = r->tok + r->len;
	int hex = r->len > 2 && c[0] == '0' && (c[1] == 'x' || c[1] == 'X');
	unsigned int base = hex ? 16 : 10;
	uint64_t v = 0;

	if (r->len == 0 || r->len >= REF_NUMBER_ROOM || !(c[0] >= '0' && c[0] <= '9'))
		return 0;
	for (c += hex ? 2 : 0; c < end; c++) {
		unsigned int digit;

		if (*c >= '0' && *c <= '9' && (unsigned int)(*c - '0') < base)
			digit = (unsigned int)(*c - '0');
		else if (hex && *c >= 'a' && *c <= 'f')
			digit = (unsigned int)(*c - 'a' + 10);
		else if (hex && *c >= 'A' && *c <= 'F')
			digit = (unsigned int)(*c - 'A' + 10);
		else
			return 0;
		if (v > (max - digit) / base)
			return 0;
		v = v * base + digit;
	}
	*value = v;
	ref_next(r);
	return 1;
}

static uint64_t le_at(const struct frame *f, unsigned int off, unsigned int bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = v << 8 | f->bytes[off + bytes];
	return v;
}

/* Frames whose field at @off (of @bytes) is @value; sides: 1 src, 2 dst, 3 either. */
static uint32_t ref_address(unsigned int src_off, unsigned int dst_off, unsigned int bytes,
			    int sides, uint64_t value)
{
	uint32_t set = 0;
	int i;

	for (i = 0; i < N_FRAMES; i++) {
		const struct frame *f = &frames[i];

		if (f->len < VSOCKMON_HDR_LEN)
			continue;
		if (((sides & 1) && le_at(f, src_off, bytes) == value) ||
		    ((sides & 2) && le_at(f, dst_off, bytes) == value))
			set |= 1u << i;
	}
	return set;
}

static uint32_t ref_virtio_field(unsigned int off, uint64_t value)
{
	uint32_t set = 0;
	int i;

	for (i = 0; i < N_FRAMES; i++) {
		const struct frame *f = &frames[i];

		if (f->len >= VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN &&
		    le_at(f, VSOCKMON_OFF_TRANSPORT, 2) == AF_VSOCK_TRANSPORT_VIRTIO &&
		    le_at(f, VSOCKMON_OFF_LEN, 2) >= VIRTIO_VSOCK_HDR_LEN &&
		    le_at(f, VSOCKMON_FRAME_VIRTIO_OFF(off), 2) == value)
			set |= 1u << i;
	}
	return set;
}

static int ref_keyword(struct ref *r, const char *const *words, const uint64_t *values,
		       uint64_t *value)
{
	for (; *words; words++, values++) {
		if (ref_is(r, *words)) {
			*value = *values;
			ref_next(r);
			return 1;
		}
	}
	return 0;
}

static uint32_t ref_primitive(struct ref *r)
{
	static const char *const cid_words[] = { "hypervisor", "local", "host", NULL };
	static const uint64_t cid_values[] = { 0, 1, 2 };
	static const char *const op_words[] = { "request", "response", "rst", "shutdown", "rw",
						 "credit_update", "credit_request", NULL };
	static const uint64_t op_values[] = { 1, 2, 3, 4, 5, 6, 7 };
	static const char *const type_words[] = { "stream", "seqpacket", NULL };
	static const uint64_t type_values[] = { 1, 2 };
	int sides = 3;
	uint64_t v;

	if (ref_is(r, "src") || ref_is(r, "dst")) {
		sides = ref_is(r, "src") ? 1 : 2;
		ref_next(r);
		if (!ref_is(r, "cid") && !ref_is(r, "port")) {
			ref_error(r);
			return 0;
		}
	}
	if (ref_is(r, "cid")) {
		ref_next(r);
		if (ref_keyword(r, cid_words, cid_values, &v) || ref_number(r, UINT64_MAX, &v))
			return ref_address(VSOCKMON_OFF_SRC_CID, VSOCKMON_OFF_DST_CID, 8, sides, v);
	} else if (ref_is(r, "port")) {
		ref_next(r);
		if (ref_number(r, UINT32_MAX, &v))
			return ref_address(VSOCKMON_OFF_SRC_PORT, VSOCKMON_OFF_DST_PORT, 4, sides, v);
	} else if (ref_is(r, "op")) {
		ref_next(r);
		if (ref_keyword(r, op_words, op_values, &v))
			return ref_virtio_field(VIRTIO_VSOCK_OFF_OP, v);
	} else if (ref_is(r, "type")) {
		ref_next(r);
		if (ref_keyword(r, type_words, type_values, &v))
			return ref_virtio_field(VIRTIO_VSOCK_OFF_TYPE, v);
	}
	ref_error(r);
	return 0;
}

static uint32_t ref_expr(struct ref *r);

static uint32_t ref_factor(struct ref *r)
{
	const uint32_t all = (1u << N_FRAMES) - 1;
	int nests = ref_is(r, "not") || ref_is(r, "!") || ref_is(r, "(");
	uint32_t set;

	if (r->verdict != REF_OK)
		return 0;	/* stop at the first error: no deeper recursion */
	if (nests && ++r->depth > REF_MAX_NESTING) {
		ref_error(r);
		return 0;
	}
	if (r->depth > r->max_depth)
		r->max_depth = r->depth;
	if (ref_is(r, "not") || ref_is(r, "!")) {
		ref_next(r);
		set = ~ref_factor(r) & all;
	} else if (ref_is(r, "(")) {
		ref_next(r);
		set = ref_expr(r);
		if (ref_is(r, ")"))
			ref_next(r);
		else
			ref_error(r);
	} else {
		set = ref_primitive(r);
	}
	if (nests)
		r->depth--;
	return set;
}

static uint32_t ref_term(struct ref *r)
{
	uint32_t set = ref_factor(r);

	while (r->verdict == REF_OK && (ref_is(r, "and") || ref_is(r, "&&"))) {
		ref_next(r);
		set &= ref_factor(r);
	}
	return set;
}

static uint32_t ref_expr(struct ref *r)
{
	uint32_t set = ref_term(r);

	while (r->verdict == REF_OK && (ref_is(r, "or") || ref_is(r, "||"))) {
		ref_next(r);
		set |= ref_term(r);
	}
	return set;
}

/* The reference's verdict on @text and, if valid, the frames it accepts. */
static enum ref_verdict ref_filter(const char *text, uint32_t *accepted, int *nesting)
{
	struct ref r = { .pos = text };

	*nesting = 0;
	ref_next(&r);
	if (r.len == 0) {	/* blank: everything */
		*accepted = (1u << N_FRAMES) - 1;
		return REF_OK;
	}
	*accepted = ref_expr(&r);
	*nesting = r.max_depth;
	if (r.verdict == REF_OK && r.len != 0)
		r.verdict = REF_SYNTAX;	/* trailing tokens */
	return r.verdict;
}

/* The compiler and the reference must agree on validity and on every
 * frame. Returns how deep the filter nests. */
static int check_reference(const char *text, enum outcome outcome, uint32_t accepted)
{
	uint32_t expected;
	int nesting;
	enum ref_verdict verdict = ref_filter(text, &expected, &nesting);

	if (outcome == COMPILED && verdict == REF_SYNTAX)
		fail("compiles a filter the documented language rejects", text);
	if (outcome == REFUSED && verdict == REF_OK)
		fail("rejects a filter the documented language accepts", text);
	if (outcome == TOO_LONG && verdict == REF_SYNTAX)
		fail("calls too long a filter the documented language rejects", text);
	if (outcome == COMPILED && accepted != expected) {
		fprintf(stderr, "accepted %#x, the documented meaning accepts %#x\n", accepted, expected);
		fail("program disagrees with the documented meaning", text);
	}
	return nesting;
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
	uint32_t accepted = 0;
	enum outcome outcome;
	int nesting;
	char *text;

	if (size > MAX_FILTER_TEXT)
		return 0;
	text = malloc(size + 1);	/* the API takes a C string */
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	outcome = compile_and_run(text, &accepted);
	nesting = check_reference(text, outcome, accepted);
	/* A blank filter accepts all but is no operand: derive only from real
	 * ones, and only where "not (F)" stays within the nesting limit. */
	if (outcome == COMPILED && !is_blank(text) && nesting + 2 <= REF_MAX_NESTING) {
		check_derived("not (%s)%.0s", text, ~accepted & all);
		check_derived("(%s) and (%s)", text, accepted);
		check_derived("(%s) or (%s)", text, accepted);
	}
	free(text);
	return 0;
}
