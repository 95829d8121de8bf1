// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_filter - vsockdump's filter compiler: every primitive and operator,
 * 64-bit CIDs, frames without (or with a truncated) virtio header, jump
 * relaxation in long programs, and error messages for bad input. Each
 * compiled program is checked by libpcap's bpf_validate() and run over
 * crafted frames with pcap_offline_filter(), the same interpreter
 * semantics the kernel applies.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcap/pcap.h>

#include <vsockmon_wire.h>

#include "filter.h"

static int failures;
static int checks;

#define SNAP 4096

struct frame {
	uint8_t bytes[VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN + 8];
	unsigned int len;
};

struct frame_spec {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint16_t transport, hdr_len;
	uint16_t virtio_type, virtio_op;
	unsigned int len;	/* 0: full frame */
};

/* Store little-endian byte by byte: the test must not depend on the host. */
static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static struct frame make_frame(struct frame_spec s)
{
	struct frame f;
	uint8_t *v = f.bytes + VSOCKMON_HDR_LEN;

	memset(&f, 0, sizeof(f));
	put_le(f.bytes + VSOCKMON_OFF_SRC_CID, s.src_cid, 8);
	put_le(f.bytes + VSOCKMON_OFF_DST_CID, s.dst_cid, 8);
	put_le(f.bytes + VSOCKMON_OFF_SRC_PORT, s.src_port, 4);
	put_le(f.bytes + VSOCKMON_OFF_DST_PORT, s.dst_port, 4);
	put_le(f.bytes + VSOCKMON_OFF_OP, vsockmon_op_from_virtio(s.virtio_op), 2);
	put_le(f.bytes + VSOCKMON_OFF_TRANSPORT, s.transport, 2);
	put_le(f.bytes + VSOCKMON_OFF_LEN, s.hdr_len, 2);
	put_le(v + VIRTIO_VSOCK_OFF_SRC_CID, s.src_cid, 8);
	put_le(v + VIRTIO_VSOCK_OFF_DST_CID, s.dst_cid, 8);
	put_le(v + VIRTIO_VSOCK_OFF_SRC_PORT, s.src_port, 4);
	put_le(v + VIRTIO_VSOCK_OFF_DST_PORT, s.dst_port, 4);
	put_le(v + VIRTIO_VSOCK_OFF_TYPE, s.virtio_type, 2);
	put_le(v + VIRTIO_VSOCK_OFF_OP, s.virtio_op, 2);
	f.len = s.len ? s.len : sizeof(f.bytes);
	return f;
}

/* A typical virtio frame: guest CID 3 port 1025 -> host CID 2 port 80. */
static struct frame_spec base(void)
{
	return (struct frame_spec){
		.src_cid = 3, .dst_cid = 2, .src_port = 1025, .dst_port = 80,
		.transport = AF_VSOCK_TRANSPORT_VIRTIO,
		.hdr_len = VIRTIO_VSOCK_HDR_LEN,
		.virtio_type = VIRTIO_VSOCK_TYPE_STREAM,
		.virtio_op = VIRTIO_VSOCK_OP_RW,
	};
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	failures++;
}

/* Compile, validate, run; -1 if the filter did not compile. */
static int run_filter(const char *text, const struct frame *f)
{
	struct bpf_program prog;
	struct pcap_pkthdr hdr = { .caplen = f->len, .len = f->len };
	char err[FILTER_ERR_LEN];
	int verdict;

	if (filter_compile(text, SNAP, &prog, err) < 0) {
		fail("'%s' did not compile: %s", text, err);
		return -1;
	}
	if (!bpf_validate(prog.bf_insns, (int)prog.bf_len))
		fail("'%s' compiled to an invalid program", text);
	verdict = pcap_offline_filter(&prog, &hdr, f->bytes);
	if (verdict != 0 && verdict != SNAP)
		fail("'%s' returned %d, expected 0 or the snaplen", text, verdict);
	filter_free(&prog);
	return verdict != 0;
}

static void expect(const char *text, struct frame_spec s, int want)
{
	struct frame f = make_frame(s);
	int got = run_filter(text, &f);

	checks++;
	if (got >= 0 && got != want)
		fail("'%s' on frame %llu:%u -> %llu:%u transport %u len %u op %u type %u: got %s, want %s",
		     text, (unsigned long long)s.src_cid, s.src_port,
		     (unsigned long long)s.dst_cid, s.dst_port, s.transport,
		     f.len, s.virtio_op, s.virtio_type,
		     got ? "match" : "no match", want ? "match" : "no match");
}

static void expect_error(const char *text, const char *must_contain)
{
	struct bpf_program prog;
	char err[FILTER_ERR_LEN];

	checks++;
	if (filter_compile(text, SNAP, &prog, err) == 0) {
		fail("'%s' compiled but must be rejected", text);
		filter_free(&prog);
		return;
	}
	if (strchr(err, '\n'))
		fail("error for '%s' is more than one line: %s", text, err);
	if (!strstr(err, must_contain))
		fail("error for '%s' does not name %s: %s", text, must_contain, err);
}

static void test_empty_filter(void)
{
	struct frame_spec s = base();

	expect("", s, 1);
	expect("   ", s, 1);
	s.len = 4;
	expect("", s, 1);
}

static void test_cid(void)
{
	struct frame_spec s = base();

	expect("cid 3", s, 1);
	expect("cid 2", s, 1);
	expect("cid 4", s, 0);
	expect("src cid 3", s, 1);
	expect("src cid 2", s, 0);
	expect("dst cid 2", s, 1);
	expect("dst cid 3", s, 0);
	expect("cid host", s, 1);
	expect("dst cid host", s, 1);
	expect("src cid host", s, 0);
	expect("cid 0x3", s, 1);
	s.src_cid = VSOCK_CID_LOCAL;
	s.dst_cid = VSOCK_CID_LOCAL;
	expect("cid local", s, 1);
	expect("cid host", s, 0);
	s.src_cid = VSOCK_CID_HYPERVISOR;
	expect("src cid hypervisor", s, 1);
	expect("dst cid hypervisor", s, 0);
}

/* Both 32-bit halves of a __le64 CID must match. */
static void test_cid_64bit(void)
{
	struct frame_spec s = base();

	s.src_cid = 0x100000002ULL;
	s.dst_cid = 7;
	expect("src cid 2", s, 0);
	expect("cid host", s, 0);
	expect("src cid 0x100000002", s, 1);
	expect("src cid 4294967298", s, 1);
	expect("src cid 0x200000002", s, 0);
	s.src_cid = UINT64_MAX;
	expect("cid 18446744073709551615", s, 1);
	expect("cid 4294967295", s, 0);
	s.src_cid = 0xFFFFFFFFULL;
	expect("cid 4294967295", s, 1);
	expect("cid 18446744073709551615", s, 0);
}

static void test_port(void)
{
	struct frame_spec s = base();

	expect("port 80", s, 1);
	expect("port 1025", s, 1);
	expect("port 81", s, 0);
	expect("src port 1025", s, 1);
	expect("src port 80", s, 0);
	expect("dst port 80", s, 1);
	expect("dst port 1025", s, 0);
	s.dst_port = 0xFFFFFFFFU;
	expect("dst port 4294967295", s, 1);
	expect("dst port 0xffffffff", s, 1);
	s.dst_port = 0x12345678;
	expect("port 0x12345678", s, 1);
	expect("port 0x78563412", s, 0);	/* byte order matters */
}

/* Numbers are decimal or 0x hex, never octal (found by fuzz_filter). */
static void test_number_bases(void)
{
	struct frame_spec s = base();

	expect("dst port 080", s, 1);		/* 80, not an octal error */
	expect("dst port 0000080", s, 1);
	s.dst_port = 1024;
	expect("dst port 01024", s, 1);		/* not octal 532 */
	s.dst_port = 532;
	expect("dst port 01024", s, 0);
	expect("dst port 0X214", s, 1);
	expect_error("port 0x", "'0x'");
	expect_error("port 0x0x10", "'0x0x10'");
	expect_error("port 0xg1", "'0xg1'");
}

/* Nesting is bounded (found by fuzz_filter: 40,000 parentheses overflowed the stack). */
static void test_nesting_limit(void)
{
	struct frame_spec s = base();
	char deep[200 + 64 * 2], *p = deep;
	int i;

	for (i = 0; i < 64; i++)
		*p++ = '(';
	p += sprintf(p, "dst port 80");
	for (i = 0; i < 64; i++)
		*p++ = ')';
	*p = '\0';
	expect(deep, s, 1);			/* 64 levels: fine */
	memmove(deep + 1, deep, strlen(deep) + 1);
	deep[0] = '(';
	strcat(deep, ")");
	expect_error(deep, "deeper than 64 levels");	/* 65: a clear error, no crash */
	p = deep;
	for (i = 0; i < 65; i++)
		p += sprintf(p, "not ");
	sprintf(p, "dst port 80");
	expect_error(deep, "deeper than 64 levels");
	/* the error says how to get under the limit */
	expect_error(deep, "remove redundant ones");
}

static void test_op(void)
{
	static const char *const names[] = {
		[VIRTIO_VSOCK_OP_REQUEST] = "request",
		[VIRTIO_VSOCK_OP_RESPONSE] = "response",
		[VIRTIO_VSOCK_OP_RST] = "rst",
		[VIRTIO_VSOCK_OP_SHUTDOWN] = "shutdown",
		[VIRTIO_VSOCK_OP_RW] = "rw",
		[VIRTIO_VSOCK_OP_CREDIT_UPDATE] = "credit_update",
		[VIRTIO_VSOCK_OP_CREDIT_REQUEST] = "credit_request",
	};
	char text[64];

	for (int frame_op = 1; frame_op <= VIRTIO_VSOCK_OP_MAX; frame_op++) {
		struct frame_spec s = base();

		s.virtio_op = (uint16_t)frame_op;
		for (int filter_op = 1; filter_op <= VIRTIO_VSOCK_OP_MAX; filter_op++) {
			snprintf(text, sizeof(text), "op %s", names[filter_op]);
			expect(text, s, frame_op == filter_op);
		}
	}
}

static void test_type(void)
{
	struct frame_spec s = base();

	expect("type stream", s, 1);
	expect("type seqpacket", s, 0);
	s.virtio_type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	expect("type seqpacket", s, 1);
	expect("type stream", s, 0);
}

/* op/type never match without a complete virtio header; "not" then does. */
static void test_virtio_guard(void)
{
	struct frame_spec s = base();

	s.transport = AF_VSOCK_TRANSPORT_NO_INFO;
	expect("op rw", s, 0);
	expect("type stream", s, 0);
	expect("not op rw", s, 1);
	expect("port 80", s, 1);	/* the monitor header still counts */

	s = base();
	s.len = VSOCKMON_HDR_LEN;	/* header only */
	expect("op rw", s, 0);
	expect("not op rw", s, 1);
	expect("type stream", s, 0);
	expect("port 80 and not type seqpacket", s, 1);

	s.len = VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN - 1;	/* one short */
	expect("op rw", s, 0);
	s.len = VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN;	/* exactly */
	expect("op rw", s, 1);

	s = base();
	s.hdr_len = 0;		/* claims no transport header */
	expect("op rw", s, 0);
	s.hdr_len = 43;
	expect("op rw", s, 0);
	s.hdr_len = 0x0100;	/* 256: high byte set, low byte 0 */
	expect("op rw", s, 1);

	s = base();
	s.len = 10;		/* not even a monitor header */
	expect("port 80", s, 0);
	expect("not port 80", s, 1);
	expect("cid 3", s, 0);
	expect("not cid 3", s, 1);
}

static void test_operators(void)
{
	struct frame_spec s = base();	/* ports 1025 -> 80 */

	expect("port 80 and port 1025", s, 1);
	expect("port 80 && port 1", s, 0);
	expect("port 1 or port 80", s, 1);
	expect("port 1 || port 2", s, 0);
	expect("not port 80", s, 0);
	expect("! port 1", s, 1);
	expect("!port 80", s, 0);
	expect("not not port 80", s, 1);
	/* and binds tighter than or */
	expect("port 80 or port 1 and port 2", s, 1);
	expect("(port 80 or port 1) and port 2", s, 0);
	expect("port 1 and port 2 or port 80", s, 1);
	expect("port 1 and (port 2 or port 80)", s, 0);
	expect("not (port 1 or port 2)", s, 1);
	expect("not (port 1 or port 80)", s, 0);
	expect("((cid 3))&&(dst port 80)", s, 1);
	expect("src cid 3 and dst cid host and op rw and type stream", s, 1);
	expect("cid host and not op rst", s, 1);
}

/* > 255 instructions: conditional jumps need "ja" trampolines. */
static void test_long_filter(void)
{
	char text[4096] = "";
	struct frame_spec s = base();
	int n = 60;

	for (int i = 0; i < n; i++) {
		char term[64];

		snprintf(term, sizeof(term), "%s(src port %d and op rw)",
			 i ? " or " : "", 5000 + i);
		strcat(text, term);
	}
	s.src_port = 5000;
	expect(text, s, 1);
	s.src_port = 5000 + n - 1;
	expect(text, s, 1);
	s.src_port = 5000 + n;
	expect(text, s, 0);
	s.src_port = 5000;
	s.virtio_op = VIRTIO_VSOCK_OP_RST;
	expect(text, s, 0);

	/* the same through "not": true and false labels swap */
	char negated[4200];

	snprintf(negated, sizeof(negated), "not (%s)", text);
	s = base();
	s.src_port = 5000 + n - 1;
	expect(negated, s, 0);
	s.src_port = 1;
	expect(negated, s, 1);
}

static void test_program_length(void)
{
	struct bpf_program prog;
	char err[FILTER_ERR_LEN];
	char text[4096] = "port 1";

	for (int i = 2; i <= 60; i++) {
		char term[32];

		snprintf(term, sizeof(term), " or port %d", i);
		strcat(text, term);
	}
	checks++;
	if (filter_compile(text, SNAP, &prog, err) < 0) {
		fail("long filter: %s", err);
		return;
	}
	if (prog.bf_len <= 256)
		fail("long filter is only %u instructions: jump relaxation untested",
		     prog.bf_len);
	filter_free(&prog);
}

/* "cid 1 or cid 2 or ..." with @terms terms, in a malloc()ed string. */
static char *cid_list(int terms)
{
	char *text = malloc((size_t)terms * 24 + 1);
	size_t len = 0;

	for (int i = 1; i <= terms; i++)
		len += (size_t)sprintf(text + len, "%scid %d", i > 1 ? " or " : "", i);
	return text;
}

/*
 * The kernel attaches at most 4096 instructions; a longer program must be
 * refused when it is compiled (the extcap's filter check), not left to
 * libpcap's warning and user-space fallback during the capture.
 */
static void test_kernel_limit(void)
{
	struct bpf_program prog;
	char err[FILTER_ERR_LEN];
	char *fits = cid_list(200), *too_many = cid_list(300);

	checks++;
	if (filter_compile(fits, SNAP, &prog, err) < 0)
		fail("200 cid terms: %s", err);
	else if (prog.bf_len > FILTER_MAX_INSNS || prog.bf_len < 2048)
		fail("200 cid terms compile to %u instructions", prog.bf_len);
	filter_free(&prog);
	expect_error(too_many, "the kernel takes at most 4096");
	expect_error(too_many, "use fewer terms");
	checks++;
	if (filter_compile(too_many, SNAP, &prog, err) == 0 || prog.bf_insns || prog.bf_len)
		fail("a refused program is left allocated");
	free(fits);
	free(too_many);
}

static void test_errors(void)
{
	expect_error("port", "end of filter");
	expect_error("port abc", "'abc'");
	expect_error("port 4294967296", "'4294967296'");
	expect_error("port -1", "'-'");
	expect_error("cid 18446744073709551616", "'18446744073709551616'");
	expect_error("cid 12ab", "'12ab'");
	expect_error("cid", "end of filter");
	expect_error("cid guest", "'guest'");
	expect_error("op foo", "'foo'");
	expect_error("op", "end of filter");
	expect_error("type dgram", "'dgram'");
	expect_error("src op rw", "'op'");
	expect_error("dst", "end of filter");
	expect_error("port 1 port 2", "'port'");
	expect_error("(port 1", "end of filter");
	expect_error("port 1)", "')'");
	expect_error("host 1.2.3.4", "'host'");
	expect_error("tcp port 80", "'tcp'");
	expect_error("port 1 & port 2", "'&'");
	expect_error("port 1 | port 2", "'|'");
	expect_error("not", "end of filter");
	expect_error("port 1 and", "end of filter");
	expect_error("or port 1", "'or'");
	expect_error("()", "')'");
	expect_error("PORT 1", "'PORT'");
	expect_error("port 1 and port 2 and frob", "column 23");
}

/*
 * A character outside the language is quoted whole: a lone UTF-8 lead
 * byte would make the one error line Wireshark shows invalid UTF-8.
 */
static void test_error_quotes_whole_character(void)
{
	expect_error("cid 3 \xE2\x88\xA7 port 1", "unexpected '\xE2\x88\xA7' at column 7");	/* ∧ */
	expect_error("port \xE2\x89\xA5 1024", "unexpected '\xE2\x89\xA5' at column 6");	/* ≥ */
	expect_error("port 1 \xC2\xAB", "unexpected '\xC2\xAB' at column 8");			/* « */
	expect_error("port 1 \xF0\x9F\x90\x9B", "unexpected '\xF0\x9F\x90\x9B' at");		/* 4 bytes */
	/* invalid UTF-8 is quoted byte by byte, never run past the end */
	expect_error("port 1 \x80\x80", "unexpected '\x80' at column 8");
	expect_error("port 1 \xE2", "unexpected '\xE2' at column 8");
}

/* The accepting return value is the snaplen, so the kernel truncates. */
static void test_return_value(void)
{
	struct bpf_program prog;
	char err[FILTER_ERR_LEN];
	struct frame f = make_frame(base());
	struct pcap_pkthdr hdr = { .caplen = f.len, .len = f.len };

	checks++;
	if (filter_compile("port 80", 96, &prog, err) < 0) {
		fail("port 80: %s", err);
		return;
	}
	if (pcap_offline_filter(&prog, &hdr, f.bytes) != 96)
		fail("accepting return value is not the snaplen");
	filter_free(&prog);
}

int main(void)
{
	test_empty_filter();
	test_cid();
	test_cid_64bit();
	test_port();
	test_op();
	test_type();
	test_virtio_guard();
	test_operators();
	test_long_filter();
	test_program_length();
	test_kernel_limit();
	test_errors();
	test_error_quotes_whole_character();
	test_number_bases();
	test_nesting_limit();
	test_return_value();
	printf("%d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
