// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_vhost_split - --vhost-fragments=trim (extcap/vhost-split.c) on
 * crafted frame sequences: "rest" (6.1.y, 6.3-6.6) and "whole" (6.7+)
 * fragment frames, two directions interleaved with guest frames, lost
 * fragments, frames cut by the snapshot length, exact-length frames, frames
 * that are no fragment; the bounded direction table; connections reused
 * after an RST; then the real 6.1 capture samples/real/vhost-split.pcap and
 * the fixed 6.12 one (vhost-6.12.pcap), given as arguments.
 *
 * Payload byte i of a direction's stream is i % 251, as in the lab
 * (tests/traffic/vhost-peer.c), so every written fragment can be checked
 * against the bytes it must hold.
 */
#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcap/pcap.h>

#include <vsockmon_wire.h>

#include "vhost-split.h"

#define HDRS (VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN)
#define MAX_FRAME (HDRS + 65536 + 4096)
#define RX 4052		/* a Linux guest's receive buffer minus the header */
#define SNAP_ALL 262144

#include "unit-check.h"

struct endpoint {
	uint64_t cid;
	uint32_t port;
};

static const struct endpoint HOST = { VSOCK_CID_HOST, 40000 };
static const struct endpoint HOST2 = { VSOCK_CID_HOST, 40001 };
static const struct endpoint GUEST = { 3, 7000 };
static const struct endpoint GUEST2 = { 3, 7001 };

/* A tapped frame and what a correct trim writes of it. */
struct frame {
	uint8_t bytes[MAX_FRAME];
	uint32_t len;		/* bytes tapped */
	uint32_t frag_len;	/* the header's len */
	uint32_t stream_off;	/* the fragment's first byte in its direction's stream */
};

struct written {
	uint8_t bytes[MAX_FRAME];
	uint32_t caplen, origlen;
	char comment[512];
};

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, v >> 32); }

static void pattern(uint8_t *out, uint32_t start, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		out[i] = (start + i) % 251;
}

static bool is_pattern(const uint8_t *p, uint32_t start, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] != (start + i) % 251)
			return false;
	return true;
}

struct header {
	struct endpoint src, dst;
	uint16_t op, type;
	uint32_t len, flags;
	uint16_t transport, hdr_len;
};

static uint32_t make_header(uint8_t *f, const struct header *h)
{
	uint8_t *v = f + VSOCKMON_HDR_LEN;

	memset(f, 0, HDRS);
	put64(f + VSOCKMON_OFF_SRC_CID, h->src.cid);
	put64(f + VSOCKMON_OFF_DST_CID, h->dst.cid);
	put32(f + VSOCKMON_OFF_SRC_PORT, h->src.port);
	put32(f + VSOCKMON_OFF_DST_PORT, h->dst.port);
	put16(f + VSOCKMON_OFF_OP, vsockmon_op_from_virtio(h->op));
	put16(f + VSOCKMON_OFF_TRANSPORT, h->transport ? h->transport : AF_VSOCK_TRANSPORT_VIRTIO);
	put16(f + VSOCKMON_OFF_LEN, h->hdr_len ? h->hdr_len : VIRTIO_VSOCK_HDR_LEN);
	put64(v + VIRTIO_VSOCK_OFF_SRC_CID, h->src.cid);
	put64(v + VIRTIO_VSOCK_OFF_DST_CID, h->dst.cid);
	put32(v + VIRTIO_VSOCK_OFF_SRC_PORT, h->src.port);
	put32(v + VIRTIO_VSOCK_OFF_DST_PORT, h->dst.port);
	put32(v + VIRTIO_VSOCK_OFF_LEN, h->len);
	put16(v + VIRTIO_VSOCK_OFF_TYPE, h->type ? h->type : VIRTIO_VSOCK_TYPE_STREAM);
	put16(v + VIRTIO_VSOCK_OFF_OP, h->op);
	put32(v + VIRTIO_VSOCK_OFF_FLAGS, h->flags);
	put32(v + VIRTIO_VSOCK_OFF_BUF_ALLOC, 262144);
	return HDRS;
}

/* A control frame (no payload) from @src to @dst. */
static struct frame *control(struct endpoint src, struct endpoint dst, uint16_t op)
{
	struct frame *fr = calloc(1, sizeof(*fr));

	fr->len = make_header(fr->bytes, &(struct header){ .src = src, .dst = dst, .op = op });
	return fr;
}

/* An RW frame with len @len carrying @carried pattern bytes from stream offset @start. */
static struct frame *rw(struct endpoint src, struct endpoint dst, uint32_t start, uint32_t carried,
			uint32_t len)
{
	struct frame *fr = calloc(1, sizeof(*fr));

	make_header(fr->bytes, &(struct header){ .src = src, .dst = dst, .op = VIRTIO_VSOCK_OP_RW,
						  .len = len });
	pattern(fr->bytes + HDRS, start, carried);
	fr->len = HDRS + carried;
	fr->frag_len = len;
	fr->stream_off = start;
	return fr;
}

enum style { REST, WHOLE, FIXED };

/*
 * The tap frames of one packet of @packet_len bytes at stream offset @start
 * that vhost cut into @rx-byte fragments; appended to @out (returns how
 * many). SEQPACKET with @eom: EOM on the last fragment only.
 */
static int fragments(struct frame **out, struct endpoint src, struct endpoint dst, uint32_t start,
		     uint32_t packet_len, uint32_t rx, enum style style, uint16_t type, bool eom)
{
	uint32_t done = 0;
	int n = 0;

	while (done < packet_len) {
		uint32_t len = packet_len - done < rx ? packet_len - done : rx;
		uint32_t carried = style == REST ? packet_len - done : style == WHOLE ? packet_len : len;
		uint32_t from = style == WHOLE ? start : start + done;
		struct frame *fr = calloc(1, sizeof(*fr));

		make_header(fr->bytes, &(struct header){
			.src = src, .dst = dst, .op = VIRTIO_VSOCK_OP_RW, .len = len, .type = type,
			.flags = eom && done + len == packet_len ? VIRTIO_VSOCK_SEQ_EOM : 0 });
		pattern(fr->bytes + HDRS, from, carried);
		fr->len = HDRS + carried;
		fr->frag_len = len;
		fr->stream_off = start + done;
		out[n++] = fr;
		done += len;
	}
	return n;
}

/* Run frames through one table, cut to @snaplen as the kernel would. */
static void run(struct vhost_split *vs, struct frame **frames, int n, uint32_t snaplen,
		struct written *out)
{
	for (int i = 0; i < n; i++) {
		const struct frame *fr = frames[i];
		uint32_t caplen = fr->len < snaplen ? fr->len : snaplen;
		struct vhost_frame v;

		vhost_split_frame(vs, fr->bytes, caplen, fr->len, &v);
		CHECK(v.head_len <= caplen && v.body_off + v.body_len <= caplen &&
		      (v.body_len == 0 || v.body_off >= v.head_len),
		      "frame %d: pieces [0,%u) [%u,+%u) outside the %u captured bytes", i + 1, v.head_len,
		      v.body_off, v.body_len, caplen);
		memcpy(out[i].bytes, fr->bytes, v.head_len);
		memcpy(out[i].bytes + v.head_len, fr->bytes + v.body_off, v.body_len);
		out[i].caplen = v.head_len + v.body_len;
		out[i].origlen = v.origlen;
		snprintf(out[i].comment, sizeof(out[i].comment), "%s", v.comment ? v.comment : "");
	}
}

/* Frame @i was written as exactly its headers and fragment, with the right bytes. */
static void check_fragment(const char *what, int i, const struct frame *fr, const struct written *w)
{
	CHECK(w->origlen == HDRS + fr->frag_len && w->caplen == HDRS + fr->frag_len,
	      "%s frame %d: written %u/%u bytes, want %u", what, i + 1, w->caplen, w->origlen,
	      HDRS + fr->frag_len);
	CHECK(memcmp(w->bytes, fr->bytes, HDRS) == 0, "%s frame %d: headers changed", what, i + 1);
	CHECK(w->caplen < HDRS || is_pattern(w->bytes + HDRS, fr->stream_off, w->caplen - HDRS),
	      "%s frame %d: not the stream's bytes %u-%u", what, i + 1, fr->stream_off,
	      fr->stream_off + fr->frag_len - 1);
}

static void check_unchanged(const char *what, int i, const struct frame *fr, const struct written *w,
			    uint32_t snaplen)
{
	uint32_t caplen = fr->len < snaplen ? fr->len : snaplen;

	CHECK(w->caplen == caplen && w->origlen == fr->len && memcmp(w->bytes, fr->bytes, caplen) == 0,
	      "%s frame %d: changed (%u/%u bytes, tapped %u/%u)", what, i + 1, w->caplen, w->origlen, caplen,
	      fr->len);
	CHECK(!w->comment[0], "%s frame %d: comment '%s'", what, i + 1, w->comment);
}

static void free_frames(struct frame **frames, int n)
{
	for (int i = 0; i < n; i++)
		free(frames[i]);
}

static struct written *new_written(int n)
{
	return calloc((size_t)n, sizeof(struct written));
}

/* -------------------------------------------------------------- cases */

/* Back-to-back packets of each style: every fragment written as itself. */
static void test_style(enum style style, const char *what)
{
	struct frame *frames[64];
	struct vhost_split *vs = vhost_split_new();
	struct written *w;
	const struct vhost_split_stats *st = vhost_split_stats(vs);
	uint32_t sizes[] = { 10000, 10000, 65536, 3000, 4052, 4053 };
	uint32_t off = 0;
	uint64_t want_trimmed = 0;
	int n = 0;

	frames[n++] = control(HOST, GUEST, VIRTIO_VSOCK_OP_REQUEST);
	frames[n++] = control(GUEST, HOST, VIRTIO_VSOCK_OP_RESPONSE);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int first = n;

		n += fragments(frames + n, HOST, GUEST, off, sizes[k], RX, style, 0, false);
		off += sizes[k];
		for (int i = first; i < n; i++)
			if (frames[i]->len > HDRS + frames[i]->frag_len)
				want_trimmed++;
	}
	frames[n++] = control(HOST, GUEST, VIRTIO_VSOCK_OP_SHUTDOWN);
	w = new_written(n);
	run(vs, frames, n, SNAP_ALL, w);
	for (int i = 0; i < n; i++) {
		if (frames[i]->frag_len)
			check_fragment(what, i, frames[i], &w[i]);
		else
			check_unchanged(what, i, frames[i], &w[i], SNAP_ALL);
		CHECK(!w[i].comment[0], "%s frame %d: comment '%s'", what, i + 1, w[i].comment);
	}
	CHECK(st->trimmed == want_trimmed, "%s: %llu frames trimmed, want %llu", what,
	      (unsigned long long)st->trimmed, (unsigned long long)want_trimmed);
	CHECK(style == FIXED ? st->trimmed == 0 : st->trimmed > 0, "%s: trimmed %llu", what,
	      (unsigned long long)st->trimmed);
	CHECK(st->gaps == 0 && st->cut == 0 && st->unsure == 0 && st->evicted == 0,
	      "%s: gaps %llu cut %llu unsure %llu evicted %llu", what, (unsigned long long)st->gaps,
	      (unsigned long long)st->cut, (unsigned long long)st->unsure, (unsigned long long)st->evicted);
	CHECK(st->frames == (uint64_t)n, "%s: %llu frames counted", what, (unsigned long long)st->frames);
	free(w);
	free_frames(frames, n);
	vhost_split_free(vs);
}

/* SEQPACKET: EOM on a packet's last fragment only; the message's bytes in order. */
static void test_seqpacket(enum style style, const char *what)
{
	struct frame *frames[64];
	struct vhost_split *vs = vhost_split_new();
	struct written *w;
	int n = 0;

	/* a 70000-byte message: packets of 65536 (no EOM) and 4464 (EOM) */
	n += fragments(frames + n, HOST, GUEST, 0, 65536, RX, style, VIRTIO_VSOCK_TYPE_SEQPACKET, false);
	n += fragments(frames + n, HOST, GUEST, 65536, 4464, RX, style, VIRTIO_VSOCK_TYPE_SEQPACKET, true);
	w = new_written(n);
	run(vs, frames, n, SNAP_ALL, w);
	for (int i = 0; i < n; i++)
		check_fragment(what, i, frames[i], &w[i]);
	CHECK(vhost_split_stats(vs)->gaps == 0, "%s: gaps", what);
	free(w);
	free_frames(frames, n);
	vhost_split_free(vs);
}

/*
 * Two host->guest directions ("whole" and "rest" packets, of one size) and
 * guest->host frames interleaved: each direction is followed on its own,
 * and the guest's frames (which vhost does not split), even carrying more
 * than len, are left alone.
 */
static void test_interleaved(void)
{
	struct frame *a[16], *b[16], *frames[64];
	struct vhost_split *vs = vhost_split_new();
	struct written *w;
	int n = 0;

	fragments(a, HOST, GUEST, 0, 10000, RX, WHOLE, 0, false);	/* 3 frames each */
	fragments(b, HOST2, GUEST2, 0, 10000, RX, REST, 0, false);

	for (int i = 0; i < 3; i++) {
		frames[n++] = a[i];
		frames[n++] = rw(GUEST, HOST, 0, 6000, 4052);		/* more than len, from the guest */
		frames[n++] = b[i];
		frames[n++] = control(GUEST2, HOST2, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	}
	w = new_written(n);
	run(vs, frames, n, SNAP_ALL, w);
	for (int i = 0; i < n; i++) {
		if (frames[i]->bytes[VSOCKMON_OFF_SRC_CID] == VSOCK_CID_HOST)
			check_fragment("interleaved", i, frames[i], &w[i]);
		else
			check_unchanged("interleaved", i, frames[i], &w[i], SNAP_ALL);
	}
	CHECK(vhost_split_stats(vs)->trimmed == 5, "interleaved: %llu trimmed, want 3 whole + 2 rest",
	      (unsigned long long)vhost_split_stats(vs)->trimmed);
	CHECK(vhost_split_stats(vs)->gaps == 0, "interleaved: gaps");
	free(w);
	free_frames(frames, n);
	vhost_split_free(vs);
}

/* Drop frames[@drop] (and more, -1 ends the list) from the list. */
static int drop(struct frame **frames, int n, const int *gone)
{
	int m = 0;

	for (int i = 0; i < n; i++) {
		bool lost = false;

		for (const int *g = gone; *g >= 0; g++)
			lost = lost || *g == i;
		if (lost)
			free(frames[i]);
		else
			frames[m++] = frames[i];
	}
	return m;
}

/* "rest": a lost middle fragment; the others still hold their own bytes, the gap is told. */
static void test_lost_rest(void)
{
	struct frame *frames[16];
	struct vhost_split *vs = vhost_split_new();
	const struct vhost_split_stats *st = vhost_split_stats(vs);
	struct written *w;
	int n = fragments(frames, HOST, GUEST, 0, 5 * RX, RX, REST, 0, false);

	n = drop(frames, n, (int[]){ 2, -1 });
	w = new_written(n);
	run(vs, frames, n, SNAP_ALL, w);
	for (int i = 0; i < n; i++)
		check_fragment("lost rest", i, frames[i], &w[i]);
	CHECK(st->gaps == 1 && st->gap_bytes == RX && st->unsure == 0,
	      "lost rest: gaps %llu (%llu bytes), unsure %llu", (unsigned long long)st->gaps,
	      (unsigned long long)st->gap_bytes, (unsigned long long)st->unsure);
	CHECK(strstr(w[2].comment, "bytes 8104-12155 of this 20260-byte split packet were in frames the capture lost"),
	      "lost rest: comment '%s'", w[2].comment);
	free(w);
	free_frames(frames, n);
	vhost_split_free(vs);
}

/*
 * "whole": a lost middle fragment shows at the packet's last fragment (the
 * only one shorter than the guest's buffers), which still lands right; the
 * ones placed after the unseen gap are where the sequence put them, and the
 * comment says which frames may hold the wrong bytes. Then a packet whose
 * first fragment was lost: its last is placed at its end.
 */
static void test_lost_whole(void)
{
	struct frame *frames[32];
	struct vhost_split *vs = vhost_split_new();
	const struct vhost_split_stats *st = vhost_split_stats(vs);
	struct written *w;
	int n = 0, first_lost;

	/* packet 1: 4 fragments (4052 x 3 + 2844), the second one lost */
	n += fragments(frames + n, HOST, GUEST, 0, 15000, RX, WHOLE, 0, false);
	/* packet 2: 3 fragments, the first lost */
	first_lost = n;
	n += fragments(frames + n, HOST, GUEST, 15000, 10000, RX, WHOLE, 0, false);
	n = drop(frames, n, (int[]){ 1, first_lost, -1 });
	w = new_written(n);
	run(vs, frames, n, SNAP_ALL, w);
	/* packet 1: frames 1, 2 (its 3rd fragment, placed after the 1st), 3 (its last) */
	check_fragment("lost whole", 0, frames[0], &w[0]);
	CHECK(w[1].caplen == HDRS + RX && is_pattern(w[1].bytes + HDRS, 4052, RX),
	      "lost whole: the fragment after the gap goes where the sequence says (4052)");
	check_fragment("lost whole", 2, frames[2], &w[2]);
	CHECK(strstr(w[2].comment, "4052 bytes of this 15000-byte split packet were in frames the capture lost.") &&
	      strstr(w[2].comment, "Its 2 fragment frames from frame 1 on may hold the wrong bytes."),
	      "lost whole: comment '%s'", w[2].comment);
	/* packet 2: frame 4 (its 2nd fragment, taken for the first), frame 5 (its last) */
	CHECK(w[3].caplen == HDRS + RX && is_pattern(w[3].bytes + HDRS, 15000, RX),
	      "lost whole: a packet's first frame seen is taken for its first fragment");
	check_fragment("lost whole", 4, frames[4], &w[4]);
	CHECK(strstr(w[4].comment, "4052 bytes of this 10000-byte split packet") &&
	      strstr(w[4].comment, "Its 1 fragment frame from frame 4 on may hold the wrong bytes."),
	      "lost whole: comment '%s'", w[4].comment);
	CHECK(st->gaps == 2 && st->gap_bytes == 2 * RX && st->unsure == 3,
	      "lost whole: gaps %llu (%llu bytes), unsure %llu", (unsigned long long)st->gaps,
	      (unsigned long long)st->gap_bytes, (unsigned long long)st->unsure);
	free(w);
	free_frames(frames, n);
	vhost_split_free(vs);
}

/*
 * "whole": a packet's last fragments lost, then the next packet of the same
 * size: its bytes tell it apart (once two frames of one packet agreed), so
 * it starts at its first fragment rather than continuing the lost one. And
 * the last fragment of a packet whose others were all lost lands at its end.
 */
static void test_lost_whole_next_packet(void)
{
	struct frame *frames[32];
	struct vhost_split *vs = vhost_split_new();
	const struct vhost_split_stats *st = vhost_split_stats(vs);
	struct written *w;
	int n = 0, lost1, lost2;

	n += fragments(frames + n, HOST, GUEST, 0, 10000, RX, WHOLE, 0, false);
	lost1 = n;
	n += fragments(frames + n, HOST, GUEST, 10000, 10000, RX, WHOLE, 0, false);
	n += fragments(frames + n, HOST, GUEST, 20000, 10000, RX, WHOLE, 0, false);
	lost2 = n;
	n += fragments(frames + n, HOST, GUEST, 30000, 10000, RX, WHOLE, 0, false);
	/* packet 2 keeps only its first fragment, packet 4 only its last */
	n = drop(frames, n, (int[]){ lost1 + 1, lost1 + 2, lost2, lost2 + 1, -1 });
	w = new_written(n);
	run(vs, frames, n, SNAP_ALL, w);
	for (int i = 0; i < n; i++)
		check_fragment("lost whole, next packet", i, frames[i], &w[i]);
	CHECK(strstr(w[4].comment, "the 10000-byte split packet before this frame lacks 5948 bytes"),
	      "next packet: comment '%s'", w[4].comment);
	CHECK(strstr(w[7].comment, "bytes 0-8103 of this 10000-byte split packet were in frames the capture lost"),
	      "last fragment alone: comment '%s'", w[7].comment);
	CHECK(st->gaps == 2 && st->gap_bytes == 5948 + 8104, "lost whole, next: gaps %llu (%llu bytes)",
	      (unsigned long long)st->gaps, (unsigned long long)st->gap_bytes);
	free(w);
	free_frames(frames, n);
	vhost_split_free(vs);
}

/*
 * Snapshot length: a "whole" 64 KiB packet captured with -s 8192 keeps its
 * first two fragments whole; the third partly; the rest only their headers
 * (the fragments' bytes are past the snapshot): each is written as what
 * was captured of its own bytes, never other bytes of the packet. "rest"
 * frames cut by -s 200 keep their 124 captured bytes, now of a 76+len frame.
 * A snapshot shorter than the headers leaves every frame alone.
 */
static void test_snaplen(void)
{
	struct frame *frames[32];
	struct vhost_split *vs = vhost_split_new();
	const struct vhost_split_stats *st = vhost_split_stats(vs);
	struct written *w = new_written(32);
	int n = fragments(frames, HOST, GUEST, 0, 65536, RX, WHOLE, 0, false);

	run(vs, frames, n, 8192, w);
	for (int i = 0; i < n; i++) {
		uint32_t at = frames[i]->stream_off;
		uint32_t want = 8192 - HDRS > at ? 8192 - HDRS - at : 0;

		if (want > frames[i]->frag_len)
			want = frames[i]->frag_len;
		CHECK(w[i].origlen == HDRS + frames[i]->frag_len && w[i].caplen == HDRS + want,
		      "snaplen whole frame %d: %u/%u bytes, want %u/%u", i + 1, w[i].caplen, w[i].origlen,
		      HDRS + want, HDRS + frames[i]->frag_len);
		CHECK(is_pattern(w[i].bytes + HDRS, at, w[i].caplen - HDRS), "snaplen whole frame %d: bytes", i + 1);
	}
	CHECK(st->trimmed == (uint64_t)n && st->cut == (uint64_t)n - 2,
	      "snaplen whole: %llu trimmed, %llu cut", (unsigned long long)st->trimmed,
	      (unsigned long long)st->cut);
	free_frames(frames, n);
	vhost_split_free(vs);

	vs = vhost_split_new();
	st = vhost_split_stats(vs);
	n = fragments(frames, HOST, GUEST, 0, 10000, RX, REST, 0, false);
	run(vs, frames, n, 200, w);
	for (int i = 0; i < n; i++) {
		CHECK(w[i].caplen == 200 && w[i].origlen == HDRS + frames[i]->frag_len &&
		      memcmp(w[i].bytes, frames[i]->bytes, 200) == 0,
		      "snaplen rest frame %d: %u/%u bytes", i + 1, w[i].caplen, w[i].origlen);
	}
	CHECK(st->trimmed == 2 && st->cut == 2, "snaplen rest: %llu trimmed, %llu cut",
	      (unsigned long long)st->trimmed, (unsigned long long)st->cut);
	vhost_split_free(vs);

	vs = vhost_split_new();
	run(vs, frames, n, 32, w);
	for (int i = 0; i < n; i++)
		check_unchanged("snaplen 32", i, frames[i], &w[i], 32);
	free_frames(frames, n);
	vhost_split_free(vs);
	free(w);
}

/*
 * Frames that carry exactly len are written as they are, and end the
 * packet in progress in their direction (a fixed kernel's frames are all
 * like that: nothing to do). Frames that are no fragment are left alone:
 * other ops, RW with len 0, another transport or header length (which does
 * not end a packet either), a frame too short for its headers; bytes beyond
 * len there are no vhost split.
 */
static void test_untouched(void)
{
	struct frame *frames[32];
	struct vhost_split *vs = vhost_split_new();
	const struct vhost_split_stats *st = vhost_split_stats(vs);
	struct written *w = new_written(32);
	struct frame *odd;
	int n = 0, k;

	/* after a "whole" packet, frames carrying exactly len (as a fixed kernel taps them) */
	n += fragments(frames + n, HOST, GUEST, 0, 10000, RX, WHOLE, 0, false);
	k = n;
	n += fragments(frames + n, HOST, GUEST, 10000, 10000, RX, FIXED, 0, false);
	frames[n++] = rw(HOST, GUEST, 20000, 100, 100);
	run(vs, frames, n, SNAP_ALL, w);
	for (int i = 0; i < k; i++)
		check_fragment("exact", i, frames[i], &w[i]);
	for (int i = k; i < n; i++)
		check_unchanged("exact", i, frames[i], &w[i], SNAP_ALL);
	free_frames(frames, n);
	vhost_split_free(vs);

	/* one in the middle of a packet ends it: what the packet lacked is told */
	vs = vhost_split_new();
	n = fragments(frames, HOST, GUEST, 0, 3 * RX, RX, WHOLE, 0, false);
	free(frames[2]);
	frames[2] = rw(HOST, GUEST, 20000, 100, 100);
	run(vs, frames, n, SNAP_ALL, w);
	CHECK(w[2].caplen == frames[2]->len && w[2].origlen == frames[2]->len &&
	      memcmp(w[2].bytes, frames[2]->bytes, frames[2]->len) == 0, "exact: frame 3 changed");
	CHECK(strstr(w[2].comment, "the 12156-byte split packet before this frame lacks 4052 bytes"),
	      "exact: comment '%s'", w[2].comment);
	free_frames(frames, n);
	vhost_split_free(vs);

	/* a packet in progress ended by a control frame of its direction */
	vs = vhost_split_new();
	n = fragments(frames, HOST, GUEST, 0, 3 * RX, RX, WHOLE, 0, false);
	free(frames[2]);
	frames[2] = control(HOST, GUEST, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	run(vs, frames, n, SNAP_ALL, w);
	CHECK(strstr(w[2].comment, "the 12156-byte split packet before this frame lacks 4052 bytes"),
	      "control: comment '%s'", w[2].comment);
	CHECK(w[2].caplen == HDRS && w[2].origlen == HDRS, "control: frame changed");
	free_frames(frames, n);
	vhost_split_free(vs);

	/* a frame with a longer transport header in the middle of a packet: no kernel tap's (it
	 * writes the 44-byte virtio header), so left alone, and the packet goes on (as the plugin) */
	vs = vhost_split_new();
	st = vhost_split_stats(vs);
	n = fragments(frames, HOST, GUEST, 0, 3 * RX, RX, WHOLE, 0, false);
	frames[3] = frames[2];
	frames[2] = frames[1];
	frames[1] = rw(HOST, GUEST, RX, 6000, RX);
	put16(frames[1]->bytes + VSOCKMON_OFF_LEN, VIRTIO_VSOCK_HDR_LEN + 8);
	n++;
	run(vs, frames, n, SNAP_ALL, w);
	check_unchanged("header length 52", 1, frames[1], &w[1], SNAP_ALL);
	for (int i = 0; i < n; i += i == 0 ? 2 : 1)
		check_fragment("header length 52", i, frames[i], &w[i]);
	CHECK(st->trimmed == 3 && st->gaps == 0, "header length 52: %llu trimmed, %llu gaps",
	      (unsigned long long)st->trimmed, (unsigned long long)st->gaps);
	free_frames(frames, n);
	vhost_split_free(vs);

	vs = vhost_split_new();
	st = vhost_split_stats(vs);
	n = 0;
	frames[n] = control(HOST, GUEST, VIRTIO_VSOCK_OP_RESPONSE);	/* len 0, bytes after it */
	memset(frames[n]->bytes + HDRS, 0xab, 100);
	frames[n++]->len += 100;
	frames[n++] = rw(HOST, GUEST, 0, 500, 0);			/* RW, len 0, 500 bytes */
	k = n;
	frames[n++] = rw(HOST, GUEST, 0, 6000, 4052);			/* another transport */
	put16(frames[k]->bytes + VSOCKMON_OFF_TRANSPORT, AF_VSOCK_TRANSPORT_NO_INFO);
	k = n;
	frames[n++] = rw(HOST, GUEST, 0, 6000, 4052);			/* another header length */
	put16(frames[k]->bytes + VSOCKMON_OFF_LEN, 40);
	odd = rw(HOST, GUEST, 0, 0, 0);					/* just the monitor header */
	odd->len = VSOCKMON_HDR_LEN;
	frames[n++] = odd;
	frames[n++] = rw(GUEST, HOST, 0, 6000, 4052);			/* from the guest */
	run(vs, frames, n, SNAP_ALL, w);
	for (int i = 0; i < n; i++)
		check_unchanged("untouched", i, frames[i], &w[i], SNAP_ALL);
	CHECK(st->trimmed == 0 && st->gaps == 0, "untouched: %llu trimmed", (unsigned long long)st->trimmed);
	free_frames(frames, n);
	vhost_split_free(vs);
	free(w);
}

/*
 * The direction table is bounded: thousands of directions with split
 * packets reuse its entries, those with no packet in progress first, so a
 * packet in the middle of its split survives them (its next "whole"
 * fragment still lands at its offset); only when every entry of a set is in
 * the middle of a packet is one given up, and counted.
 */
static void test_table(void)
{
	struct frame *frames[8], *p[8];
	struct vhost_split *vs = vhost_split_new();
	const struct vhost_split_stats *st = vhost_split_stats(vs);
	struct written *w = new_written(8);
	int np = fragments(p, HOST, GUEST, 0, 10000, RX, WHOLE, 0, false);
	uint64_t before;

	run(vs, p, 1, SNAP_ALL, w);
	for (uint32_t port = 0; port < 20000; port++) {
		struct endpoint src = { VSOCK_CID_HOST, 50000 + port };
		int n = fragments(frames, src, GUEST, 0, 5000, RX, REST, 0, false);

		run(vs, frames, n, SNAP_ALL, w);
		CHECK(w[0].caplen == HDRS + RX, "table: direction %u not trimmed", port);
		free_frames(frames, n);
	}
	run(vs, p + 1, np - 1, SNAP_ALL, w);
	check_fragment("table", 1, p[1], &w[0]);
	check_fragment("table", 2, p[2], &w[1]);
	CHECK(st->evicted == 0 && st->gaps == 0, "table: evicted %llu, gaps %llu",
	      (unsigned long long)st->evicted, (unsigned long long)st->gaps);

	/* every direction in the middle of a packet: some are given up, none grows the table */
	before = st->evicted;
	for (uint32_t port = 0; port < 4 * VHOST_SPLIT_SETS * VHOST_SPLIT_WAYS; port++) {
		struct endpoint src = { VSOCK_CID_HOST, 60000 + port };
		int n = fragments(frames, src, GUEST, 0, 10000, RX, WHOLE, 0, false);

		run(vs, frames, 1, SNAP_ALL, w);
		free_frames(frames, n);
	}
	CHECK(st->evicted - before >= 3 * VHOST_SPLIT_SETS * VHOST_SPLIT_WAYS - VHOST_SPLIT_SETS * VHOST_SPLIT_WAYS,
	      "table: %llu directions given up", (unsigned long long)(st->evicted - before));
	free_frames(p, np);
	vhost_split_free(vs);
	free(w);
}

/*
 * A connection reused after an RST (a new REQUEST on the same ports, from
 * either side) is a new connection to the plugin (vsockmon.stream), whose
 * split state starts afresh; so must vsockdump's, or what the old one learnt
 * ("whole" frames, 4052-byte buffers) decides the new one's frames. A lone
 * frame carrying 3000 bytes with len 1000 in the new connection is then a
 * first fragment, its bytes at the frame's start, as the plugin's first pass
 * shows them; in the old one, the last fragment of a "whole" packet whose
 * earlier frames were lost (at 2000). Also when the direction had no entry
 * at the RST (its first fragments were late frames of the dead connection).
 * Not a new connection: a REQUEST with no RST before it (the RST lost), a
 * late RESPONSE after the RST.
 */
enum reuse { RST_GUEST_REQUEST, RST_HOST_GUEST_REQUEST, RST_THEN_LATE_PACKET, REQUEST_NO_RST, RST_LATE_RESPONSE };

static void reuse_case(enum reuse how, const char *what)
{
	struct frame *frames[32];
	struct vhost_split *vs = vhost_split_new();
	struct written *w = new_written(32);
	bool restarts = how != REQUEST_NO_RST && how != RST_LATE_RESPONSE;
	uint32_t want = restarts ? 10000 : 12000;	/* the stream's bytes the lone frame must be written as */
	int n = 0, lone;

	frames[n++] = control(HOST, GUEST, VIRTIO_VSOCK_OP_REQUEST);
	frames[n++] = control(GUEST, HOST, VIRTIO_VSOCK_OP_RESPONSE);
	if (how == RST_THEN_LATE_PACKET)
		frames[n++] = control(GUEST, HOST, VIRTIO_VSOCK_OP_RST);
	n += fragments(frames + n, HOST, GUEST, 0, 10000, RX, WHOLE, 0, false);
	if (how == RST_HOST_GUEST_REQUEST) {
		frames[n++] = control(HOST, GUEST, VIRTIO_VSOCK_OP_RST);
		frames[n++] = control(GUEST, HOST, VIRTIO_VSOCK_OP_REQUEST);
		frames[n++] = control(HOST, GUEST, VIRTIO_VSOCK_OP_RESPONSE);
	} else if (how == RST_LATE_RESPONSE) {
		frames[n++] = control(GUEST, HOST, VIRTIO_VSOCK_OP_RST);
		frames[n++] = control(GUEST, HOST, VIRTIO_VSOCK_OP_RESPONSE);
	} else {
		if (how == RST_GUEST_REQUEST)
			frames[n++] = control(GUEST, HOST, VIRTIO_VSOCK_OP_RST);
		frames[n++] = control(HOST, GUEST, VIRTIO_VSOCK_OP_REQUEST);
		frames[n++] = control(GUEST, HOST, VIRTIO_VSOCK_OP_RESPONSE);
	}
	lone = n;
	frames[n++] = rw(HOST, GUEST, 10000, 3000, 1000);
	frames[n++] = control(HOST, GUEST, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	run(vs, frames, n, SNAP_ALL, w);
	CHECK(w[lone].caplen == HDRS + 1000 && is_pattern(w[lone].bytes + HDRS, want, 1000),
	      "reused, %s: the lone frame's bytes are not the stream's %u-%u", what, want, want + 999);
	if (restarts)
		CHECK(!w[lone].comment[0] && !w[lone + 1].comment[0] && vhost_split_stats(vs)->gaps == 0,
		      "reused, %s: comments '%s' '%s'", what, w[lone].comment, w[lone + 1].comment);
	else
		CHECK(strstr(w[lone].comment, "bytes 0-1999 of this 3000-byte split packet were in frames the "
			     "capture lost"), "reused, %s: comment '%s'", what, w[lone].comment);
	free_frames(frames, n);
	vhost_split_free(vs);
	free(w);
}

static void test_connection_reused(void)
{
	reuse_case(RST_GUEST_REQUEST, "guest RST, host REQUEST");
	reuse_case(RST_HOST_GUEST_REQUEST, "host RST, guest REQUEST");
	reuse_case(RST_THEN_LATE_PACKET, "RST before the direction's first fragment");
	reuse_case(REQUEST_NO_RST, "a REQUEST with no RST");
	reuse_case(RST_LATE_RESPONSE, "a late RESPONSE after the RST");
}

/* ------------------------------------------------------ real captures */

struct stream_pos {
	uint8_t key[24];	/* src cid, port, dst cid, port */
	uint32_t offset;
};

/*
 * A capture recorded in the lab (tests/vm/vhost-lab.sh): trimmed, every RW
 * frame is its headers plus len bytes of its direction's stream pattern;
 * the other frames are as they were. Returns frames trimmed.
 */
static uint64_t check_real(const char *path, uint64_t want_trimmed_min, uint64_t want_trimmed_max)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, errbuf);
	struct vhost_split *vs = vhost_split_new();
	const struct vhost_split_stats *st = vhost_split_stats(vs);
	static struct written w;
	struct stream_pos pos[64];
	size_t npos = 0;
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t frame = 0, rw_frames = 0;

	CHECK(p != NULL, "%s: %s", path, errbuf);
	if (!p)
		return 0;
	while (pcap_next_ex(p, &h, &data) == 1) {
		struct vhost_frame v;
		uint32_t len;
		uint16_t op;

		frame++;
		vhost_split_frame(vs, data, h->caplen, h->len, &v);
		memcpy(w.bytes, data, v.head_len);
		memcpy(w.bytes + v.head_len, data + v.body_off, v.body_len);
		w.caplen = v.head_len + v.body_len;
		w.origlen = v.origlen;
		memcpy(&op, data + VSOCKMON_FRAME_VIRTIO_OFF(VIRTIO_VSOCK_OFF_OP), 2);
		memcpy(&len, data + VSOCKMON_FRAME_VIRTIO_OFF(VIRTIO_VSOCK_OFF_LEN), 4);
		CHECK(!v.comment, "%s frame %llu: comment %s", path, (unsigned long long)frame, v.comment);
		if (le16toh(op) == VIRTIO_VSOCK_OP_RW && le32toh(len) > 0) {
			size_t i;

			len = le32toh(len);
			for (i = 0; i < npos && memcmp(pos[i].key, data, 24) != 0; i++)
				;
			if (i == npos && npos < 64) {
				memcpy(pos[npos].key, data, 24);
				pos[npos++].offset = 0;
			}
			CHECK(w.caplen == HDRS + len && w.origlen == HDRS + len &&
			      is_pattern(w.bytes + HDRS, pos[i].offset, len),
			      "%s frame %llu: %u/%u bytes, want headers + the stream's bytes %u-%u", path,
			      (unsigned long long)frame, w.caplen, w.origlen, pos[i].offset, pos[i].offset + len - 1);
			pos[i].offset += len;
			rw_frames++;
		} else {
			CHECK(w.caplen == h->caplen && w.origlen == h->len && memcmp(w.bytes, data, h->caplen) == 0,
			      "%s frame %llu: changed", path, (unsigned long long)frame);
		}
	}
	CHECK(rw_frames > 0, "%s: no RW frames", path);
	CHECK(st->trimmed >= want_trimmed_min && st->trimmed <= want_trimmed_max && st->gaps == 0,
	      "%s: %llu trimmed, %llu gaps", path, (unsigned long long)st->trimmed,
	      (unsigned long long)st->gaps);
	printf("%s: %llu of %llu frames trimmed, %llu -> %llu bytes\n", path, (unsigned long long)st->trimmed,
	       (unsigned long long)st->frames, (unsigned long long)st->bytes_before,
	       (unsigned long long)st->bytes_after);
	pcap_close(p);
	vhost_split_free(vs);
	return 0;
}

static void test_summary(void)
{
	struct vhost_split_stats st = { .frames = 10, .trimmed = 4, .bytes_before = 1000, .bytes_after = 400,
					.cut = 1, .gaps = 2, .gap_bytes = 8104, .unsure = 3 };
	char buf[512];

	vhost_split_summary(&st, buf, sizeof(buf));
	CHECK(strcmp(buf, "vhost fragments: 4 of 10 frames trimmed to their own bytes, 600 of their 1000 "
		     "captured bytes saved; 1 fragments beyond the snapshot length kept in part; 2 split "
		     "packets lacked 8104 bytes in lost frames; 3 fragment frames placed before a gap showed "
		     "may hold the wrong bytes") == 0, "summary: %s", buf);
	vhost_split_summary(&st, buf, 40);
	CHECK(strlen(buf) == 39, "summary cut to its buffer");
}

int main(int argc, char **argv)
{
	test_style(REST, "rest");
	test_style(WHOLE, "whole");
	test_style(FIXED, "fixed");
	test_seqpacket(REST, "seqpacket rest");
	test_seqpacket(WHOLE, "seqpacket whole");
	test_interleaved();
	test_lost_rest();
	test_lost_whole();
	test_lost_whole_next_packet();
	test_snaplen();
	test_untouched();
	test_table();
	test_connection_reused();
	test_summary();
	/* samples/real: 6.1 ("rest", 16 + 1 fragments trimmed), 6.12 (fixed: none) */
	if (argc > 1)
		check_real(argv[1], 34, 34);	/* 17 fragments each of the stream and of the message */
	if (argc > 2)
		check_real(argv[2], 0, 0);
	printf("%d failures\n", failures);
	return failures ? 1 : 0;
}
