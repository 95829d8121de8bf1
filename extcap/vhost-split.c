// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-split.c - say what to write of each frame for
 * --vhost-fragments=trim (see vhost-split.h): the host-side tap frames of
 * packets vhost split across a guest's receive buffers become their headers
 * and the fragment's own bytes.
 *
 * The detection is dissector/vsock-split-core.c, which the plugin calls
 * too (dissector/virtio-vsock-split.c), in one pass: this file keeps its state
 * per direction in a bounded table and turns each decision into what to
 * write, counts and pcapng comments.
 *
 * Trimming only needs the fragment's place in the frame: 0 for a first
 * and a "rest" fragment, its packet offset for a "whole" one. A "whole"
 * fragment placed at done after an unseen gap gets the wrong bytes: such a
 * gap shows only later (at the packet's last fragment, or when the packet
 * ends early); the frame that shows it gets a pcapng comment naming the
 * frames that may be wrong, and the count ends up in the statistics.
 */
#include <endian.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vsockmon_wire.h>
#include <vsock-split-core.h>

#include "vhost-split.h"

/* The headers of a virtio frame: monitor header + virtio header. */
#define HDRS_LEN (VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN)
#define VOFF(field) VSOCKMON_FRAME_VIRTIO_OFF(field)

#define COMMENT_LEN 512

/* One direction (source -> destination) that had a fragment. */
struct direction {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint64_t used;		/* frame number it was last seen at; 0: a free entry */
	bool reset;		/* its connection saw an RST: the next one on its ports starts afresh */
	struct vsock_split_state split;
};

struct vhost_split {
	struct vhost_split_stats stats;
	char comment[COMMENT_LEN];
	size_t comment_len;
	struct direction table[VHOST_SPLIT_SETS * VHOST_SPLIT_WAYS];
	/*
	 * Pairs reset since their last connection opened (follow_connection()),
	 * by pair hash: an entry made after its pair's RST (for a late fragment
	 * of the dead connection) is marked reset too. Direct-mapped, as that
	 * window is short: a pair overwritten by another's RST before then
	 * keeps its new entry into its next connection.
	 */
	uint64_t reset_pairs[VHOST_SPLIT_RESET_PAIRS];
};

/* The frame being looked at: its direction, and what it shows the detection. */
struct frame_view {
	uint32_t caplen;
	uint64_t dst_cid;
	uint32_t src_port, dst_port;
	struct vsock_split_input in;
};

static uint16_t le16_at(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static uint32_t le32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t le64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

struct vhost_split *vhost_split_new(void)
{
	return calloc(1, sizeof(struct vhost_split));
}

void vhost_split_free(struct vhost_split *vs)
{
	free(vs);
}

const struct vhost_split_stats *vhost_split_stats(const struct vhost_split *vs)
{
	return &vs->stats;
}

/* ------------------------------------------------------------ the table */

static uint64_t mix(uint64_t h)
{
	/* splitmix64's finaliser */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

static uint64_t direction_hash(const struct frame_view *f)
{
	return mix(f->in.src_cid ^ mix(f->dst_cid ^ mix(((uint64_t)f->src_port << 32) | f->dst_port)));
}

/* The other direction of the frame's pair (the fields a lookup reads). */
static struct frame_view reverse(const struct frame_view *f)
{
	return (struct frame_view){ .dst_cid = f->in.src_cid, .src_port = f->dst_port, .dst_port = f->src_port,
				    .in.src_cid = f->dst_cid };
}

/* Both directions' (never 0, an empty slot), and where it is remembered as reset. */
static uint64_t pair_hash(const struct frame_view *f)
{
	struct frame_view back = reverse(f);

	return (direction_hash(f) + direction_hash(&back)) | 1;
}

static uint64_t *reset_slot(struct vhost_split *vs, uint64_t pair)
{
	return &vs->reset_pairs[(pair >> 1) % VHOST_SPLIT_RESET_PAIRS];
}

static bool same_direction(const struct direction *d, const struct frame_view *f)
{
	return d->src_cid == f->in.src_cid && d->dst_cid == f->dst_cid &&
	       d->src_port == f->src_port && d->dst_port == f->dst_port;
}

/*
 * The frame's direction; with @create, a new entry if it has none, taken
 * from its set: a free one, else the least recently seen one with no packet
 * in progress, else the least recently seen one (its packet is given up).
 */
static struct direction *lookup(struct vhost_split *vs, const struct frame_view *f, bool create)
{
	uint64_t h = direction_hash(f), pair;
	struct direction *set = &vs->table[(h % VHOST_SPLIT_SETS) * VHOST_SPLIT_WAYS];
	struct direction *free_way = NULL, *idle = NULL, *oldest = NULL;

	for (int i = 0; i < VHOST_SPLIT_WAYS; i++) {
		struct direction *d = &set[i];

		if (!d->used) {
			if (!free_way)
				free_way = d;
			continue;
		}
		if (same_direction(d, f)) {
			d->used = vs->stats.frames;
			return d;
		}
		if (!vsock_split_busy(&d->split) && (!idle || d->used < idle->used))
			idle = d;
		if (!oldest || d->used < oldest->used)
			oldest = d;
	}
	if (!create)
		return NULL;
	if (!free_way)
		free_way = idle ? idle : oldest;
	if (vsock_split_busy(&free_way->split))
		vs->stats.evicted++;
	pair = pair_hash(f);
	*free_way = (struct direction){
		.src_cid = f->in.src_cid, .dst_cid = f->dst_cid,
		.src_port = f->src_port, .dst_port = f->dst_port,
		.used = vs->stats.frames,
		.reset = *reset_slot(vs, pair) == pair,
	};
	return free_way;
}

/*
 * Connections, as the plugin tells them apart (vsockmon.stream: see
 * vsockmon_stream_lookup() in dissector/vsockmon-streams.c): a pair's
 * connection ends at an RST from either side, and the next frame that
 * opens one (a CONNECT that is no RESPONSE: a late RESPONSE still answers
 * the old one) starts a new connection on the same ports, whose split state
 * starts afresh. So must a direction's here: else what it learnt in the old
 * connection (the kernel's style, the guest's buffer size, that it splits
 * at all) decides the new one's frames otherwise than the plugin does, e.g.
 * a lone frame carrying more than its len. Forgetting the direction (its
 * entry freed) is starting afresh: the same as one never seen.
 *
 * Done for every frame with a monitor header, before anything else (the
 * guest's frames, RSTs, REQUESTs need nothing of the detection), read as
 * the plugin reads it: an RST from a whole virtio header; a CONNECT of any
 * transport, unless its virtio op is captured and says RESPONSE. Only
 * directions with an entry have anything to forget: none is created here.
 */
static void follow_connection(struct vhost_split *vs, const uint8_t *frame, uint32_t caplen)
{
	struct frame_view ways[2];
	uint16_t hdr_len, op = VIRTIO_VSOCK_OP_INVALID;
	uint64_t pair, *slot;
	bool opens, resets;

	if (caplen < VSOCKMON_HDR_LEN)
		return;
	hdr_len = le16_at(frame + VSOCKMON_OFF_LEN);
	if (le16_at(frame + VSOCKMON_OFF_TRANSPORT) == AF_VSOCK_TRANSPORT_VIRTIO &&
	    hdr_len >= VIRTIO_VSOCK_OFF_OP + 2 && caplen >= VOFF(VIRTIO_VSOCK_OFF_OP) + 2)
		op = le16_at(frame + VOFF(VIRTIO_VSOCK_OFF_OP));
	opens = le16_at(frame + VSOCKMON_OFF_OP) == AF_VSOCK_OP_CONNECT && op != VIRTIO_VSOCK_OP_RESPONSE;
	resets = op == VIRTIO_VSOCK_OP_RST && hdr_len >= VIRTIO_VSOCK_HDR_LEN && caplen >= HDRS_LEN;
	if (!opens && !resets)
		return;
	ways[0] = (struct frame_view){
		.dst_cid = le64_at(frame + VSOCKMON_OFF_DST_CID),
		.src_port = le32_at(frame + VSOCKMON_OFF_SRC_PORT),
		.dst_port = le32_at(frame + VSOCKMON_OFF_DST_PORT),
		.in.src_cid = le64_at(frame + VSOCKMON_OFF_SRC_CID),
	};
	ways[1] = reverse(&ways[0]);
	for (int i = 0; i < 2; i++) {
		struct direction *d = lookup(vs, &ways[i], false);

		if (d && opens && d->reset)
			*d = (struct direction){ .used = 0 };	/* a free entry */
		else if (d && resets)
			d->reset = true;
	}
	/* a frame that does both opens first: the plugin marks its RST in the new connection */
	pair = pair_hash(&ways[0]);
	slot = reset_slot(vs, pair);
	if (opens && *slot == pair)
		*slot = 0;
	if (resets)
		*slot = pair;
}

/* ------------------------------------------------------------ decisions */

static void note(struct vhost_split *vs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Add to this frame's comment. */
static void note(struct vhost_split *vs, const char *fmt, ...)
{
	size_t room = sizeof(vs->comment) - vs->comment_len;
	va_list ap;
	int n;

	if (room < 2)
		return;
	if (vs->comment_len) {
		vs->comment[vs->comment_len++] = ' ';
		room--;
	}
	va_start(ap, fmt);
	n = vsnprintf(vs->comment + vs->comment_len, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		vs->comment_len += (size_t)n < room ? (size_t)n : room - 1;
}

/* Count a split packet's lost bytes; say which of its frames may hold the wrong bytes, now that the gap showed. */
static void count_loss(struct vhost_split *vs, const struct vsock_split_loss *loss)
{
	vs->stats.gaps++;
	vs->stats.gap_bytes += loss->bytes;
	if (!loss->unsure)
		return;
	vs->stats.unsure += loss->unsure;
	note(vs, "Its %u fragment frame%s from frame %llu on may hold the wrong bytes.", loss->unsure,
	     loss->unsure == 1 ? "" : "s", (unsigned long long)loss->unsure_since);
}

/* Say at this frame what split packets lacked: bytes in frames the capture lost. */
static void note_lost(struct vhost_split *vs, const struct vsock_split_decision *d)
{
	const struct vsock_split_loss *ended = &d->ended, *gap = &d->gap;

	if (ended->bytes) {
		note(vs, "vsockdump: the %u-byte split packet before this frame lacks %u byte%s: "
		     "frames the capture lost.", ended->packet_len, ended->bytes, ended->bytes == 1 ? "" : "s");
		count_loss(vs, ended);
	}
	if (gap->bytes) {
		if (gap->located)
			note(vs, "vsockdump: bytes %u-%u of this %u-byte split packet were in frames the "
			     "capture lost.", gap->from, gap->from + gap->bytes - 1, gap->packet_len);
		else	/* where they were is not known: somewhere since the packet's first frame seen */
			note(vs, "vsockdump: %u bytes of this %u-byte split packet were in frames the capture "
			     "lost.", gap->bytes, gap->packet_len);
		count_loss(vs, gap);
	}
}

/* Write the headers and the fragment's own bytes, at @at in the frame's payload. */
static void trim(struct vhost_split *vs, const struct frame_view *f, uint32_t at, struct vhost_frame *out)
{
	uint32_t len = f->in.len;
	uint32_t keep = f->in.captured_len > at ? f->in.captured_len - at : 0;

	if (keep > len)
		keep = len;
	if (keep < len)
		vs->stats.cut++;	/* what a fixed kernel's frame cut by the snapshot length would keep, or less */
	out->origlen = HDRS_LEN + len;
	if (at == 0 || keep == 0) {
		out->head_len = HDRS_LEN + keep;
		out->body_len = 0;
	} else {
		out->head_len = HDRS_LEN;
		out->body_off = HDRS_LEN + at;
		out->body_len = keep;
	}
	vs->stats.trimmed++;
	vs->stats.bytes_before += f->caplen;
	vs->stats.bytes_after += HDRS_LEN + keep;
}

/*
 * The frame's fields, if it is a virtio frame whose headers were captured.
 * The kernel's tap writes the 44-byte virtio header (hdr.len =
 * sizeof(struct virtio_vsock_hdr) in virtio_transport_build_skb()): a frame
 * with another transport header length is no vhost tap frame.
 */
static bool view(const uint8_t *frame, uint32_t caplen, uint32_t origlen, uint64_t number,
		 struct frame_view *f)
{
	if (caplen < HDRS_LEN || origlen < caplen ||
	    le16_at(frame + VSOCKMON_OFF_TRANSPORT) != AF_VSOCK_TRANSPORT_VIRTIO ||
	    le16_at(frame + VSOCKMON_OFF_LEN) != VIRTIO_VSOCK_HDR_LEN)
		return false;
	*f = (struct frame_view){
		.caplen = caplen,
		.dst_cid = le64_at(frame + VSOCKMON_OFF_DST_CID),
		.src_port = le32_at(frame + VSOCKMON_OFF_SRC_PORT),
		.dst_port = le32_at(frame + VSOCKMON_OFF_DST_PORT),
		.in = {
			.src_cid = le64_at(frame + VSOCKMON_OFF_SRC_CID),
			.op = le16_at(frame + VOFF(VIRTIO_VSOCK_OFF_OP)),
			.type = le16_at(frame + VOFF(VIRTIO_VSOCK_OFF_TYPE)),
			.flags = le32_at(frame + VOFF(VIRTIO_VSOCK_OFF_FLAGS)),
			.len = le32_at(frame + VOFF(VIRTIO_VSOCK_OFF_LEN)),
			.buf_alloc = le32_at(frame + VOFF(VIRTIO_VSOCK_OFF_BUF_ALLOC)),
			.fwd_cnt = le32_at(frame + VOFF(VIRTIO_VSOCK_OFF_FWD_CNT)),
			.carried = origlen - HDRS_LEN,
			.captured = frame + HDRS_LEN,
			.captured_len = caplen - HDRS_LEN,
			.frame = number,
		},
	};
	return true;
}

void vhost_split_frame(struct vhost_split *vs, const uint8_t *frame, uint32_t caplen,
		       uint32_t origlen, struct vhost_frame *out)
{
	struct frame_view f;
	struct direction *d;
	struct vsock_split_decision dec;
	enum vsock_split_need need;

	vs->stats.frames++;
	vs->comment_len = 0;
	vs->comment[0] = '\0';
	*out = (struct vhost_frame){ .head_len = caplen, .origlen = origlen };
	follow_connection(vs, frame, caplen);
	if (!view(frame, caplen, origlen, vs->stats.frames, &f))
		return;
	need = vsock_split_need(&f.in);
	if (need == VSOCK_SPLIT_NEED_NONE)
		return;		/* not from the host: vhost does not split it */
	d = lookup(vs, &f, need == VSOCK_SPLIT_NEED_NEW);
	if (!d)
		return;		/* no split ever in this direction, none here */
	vsock_split_step(&d->split, &f.in, &dec);
	note_lost(vs, &dec);
	/* a fragment whose frame carries more is written as its own bytes (a "rest"
	 * packet's last fragment carries just itself) */
	if (dec.kind != VSOCK_SPLIT_NONE && f.in.carried > f.in.len)
		trim(vs, &f, dec.frame_offset, out);
	if (vs->comment_len)
		out->comment = vs->comment;
}

void vhost_split_summary(const struct vhost_split_stats *st, char *buf, size_t len)
{
	uint64_t saved = st->bytes_before - st->bytes_after;
	size_t n;

	n = (size_t)snprintf(buf, len,
			     "vhost fragments: %llu of %llu frames trimmed to their own bytes, "
			     "%llu of their %llu captured bytes saved",
			     (unsigned long long)st->trimmed, (unsigned long long)st->frames,
			     (unsigned long long)saved, (unsigned long long)st->bytes_before);
	if (st->cut && n < len)
		n += (size_t)snprintf(buf + n, len - n,
				      "; %llu fragments beyond the snapshot length kept in part",
				      (unsigned long long)st->cut);
	if (st->gaps && n < len)
		n += (size_t)snprintf(buf + n, len - n,
				      "; %llu split packets lacked %llu bytes in lost frames",
				      (unsigned long long)st->gaps, (unsigned long long)st->gap_bytes);
	if (st->unsure && n < len)
		n += (size_t)snprintf(buf + n, len - n,
				      "; %llu fragment frames placed before a gap showed may hold the wrong bytes",
				      (unsigned long long)st->unsure);
	if (st->evicted && n < len)
		snprintf(buf + n, len - n, "; %llu directions forgotten mid-packet (table full)",
			 (unsigned long long)st->evicted);
}
