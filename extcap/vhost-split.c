// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-split.c - find the fragment in host-side tap frames of packets
 * vhost split across a guest's receive buffers, and say what to write of
 * each frame (see vhost-split.h).
 *
 * The detection is the vsockmon plugin's (dissector/virtio-vsock-split.c),
 * in one pass. Only frames from the host's CID (vhost sends from CID 2;
 * the guest's driver taps exactly len bytes) and only virtio RW frames
 * with len > 0 that carry more than len start or continue a split. A
 * packet's first fragment comes first in its frame in both kernel
 * variants; a later one tells them apart:
 *   "rest":  it carries packet_len - done (the packet from it on), or,
 *            once the direction is known to be "rest", less (frames went
 *            missing before it);
 *   "whole": it carries packet_len again and done + len <= packet_len;
 *            it is at done, or at packet_len - len if it ends the packet
 *            (shorter than the guest's buffers, or SEQPACKET EOM), and two
 *            packets of one size are told apart by their bytes.
 * vhost sends a packet's fragments back to back, so any other frame of
 * the direction (a frame carrying exactly len, another op) ends the
 * packet in progress; what it lacked was in frames the capture lost.
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

#include "vhost-split.h"

/* The headers of a virtio frame: monitor header + virtio header. */
#define HDRS_LEN (VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN)
#define VOFF(field) VSOCKMON_FRAME_VIRTIO_OFF(field)

/* The bytes of a "whole" frame a fingerprint samples (as the plugin). */
#define SAMPLE_COUNT 16
#define SAMPLE_LEN 16

#define COMMENT_LEN 512

/* Which kernel variant wrote a direction's fragment frames. */
enum split_style {
	STYLE_UNKNOWN = 0,	/* no fragment followed another yet */
	STYLE_REST,
	STYLE_WHOLE,
};

/* One direction (source -> destination) that had a fragment. */
struct direction {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint64_t used;		/* frame number it was last seen at; 0: a free entry */
	uint64_t content;	/* fingerprint of the packet's last "whole" frame */
	uint64_t first_frame;	/* frame number of the packet's first fragment */
	uint32_t packet_len;	/* the packet being split; 0: none */
	uint32_t done;		/* bytes of it placed so far: where its next fragment starts */
	uint32_t first_len;	/* len of its first fragment */
	uint32_t placed;	/* its frames placed by the sequence alone (a gap before them would not show) */
	uint32_t frag_size;	/* the guest's receive buffer: the longest fragment seen */
	uint8_t style;		/* enum split_style, learnt from a fragment that followed another */
	bool confirmed;		/* the packet is a split one: a fragment followed, or the style is known */
	bool content_ok;	/* "whole" frames of one packet carried the same bytes */
};

struct vhost_split {
	struct vhost_split_stats stats;
	char comment[COMMENT_LEN];
	size_t comment_len;
	struct direction table[VHOST_SPLIT_SETS * VHOST_SPLIT_WAYS];
};

/* The fields of the frame being looked at. */
struct frame_view {
	const uint8_t *bytes;
	uint32_t caplen;
	uint32_t carried;	/* payload bytes the frame had on the wire */
	uint32_t len;		/* virtio header's len */
	uint16_t op, type;
	uint32_t flags;
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
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

static bool same_direction(const struct direction *d, const struct frame_view *f)
{
	return d->src_cid == f->src_cid && d->dst_cid == f->dst_cid &&
	       d->src_port == f->src_port && d->dst_port == f->dst_port;
}

/*
 * The frame's direction; with @create, a new entry if it has none, taken
 * from its set: a free one, else the least recently seen one with no packet
 * in progress, else the least recently seen one (its packet is given up).
 */
static struct direction *lookup(struct vhost_split *vs, const struct frame_view *f, bool create)
{
	uint64_t h = mix(f->src_cid ^ mix(f->dst_cid ^ mix(((uint64_t)f->src_port << 32) | f->dst_port)));
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
		if (!d->packet_len && (!idle || d->used < idle->used))
			idle = d;
		if (!oldest || d->used < oldest->used)
			oldest = d;
	}
	if (!create)
		return NULL;
	if (!free_way)
		free_way = idle ? idle : oldest;
	if (free_way->packet_len)
		vs->stats.evicted++;
	*free_way = (struct direction){
		.src_cid = f->src_cid, .dst_cid = f->dst_cid,
		.src_port = f->src_port, .dst_port = f->dst_port,
		.used = vs->stats.frames,
	};
	return free_way;
}

/* ------------------------------------------------------------ detection */

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

static uint64_t fnv1a(uint64_t hash, const uint8_t *bytes, size_t n)
{
	while (n--) {
		hash ^= *bytes++;
		hash *= 0x100000001b3ULL;
	}
	return hash;
}

/*
 * What tells two packets of the same size apart: samples of the captured
 * payload (every "whole" frame of one packet carries the same bytes, even
 * cut by the same snapshot length) and the header values vhost copies into
 * each fragment's header unchanged (buf_alloc, fwd_cnt).
 */
static uint64_t fingerprint(const struct frame_view *f)
{
	const uint8_t *payload = f->bytes + HDRS_LEN;
	size_t captured = f->caplen - HDRS_LEN;
	uint64_t hash = fnv1a(0xcbf29ce484222325ULL, f->bytes + VOFF(VIRTIO_VSOCK_OFF_BUF_ALLOC),
			      2 * sizeof(uint32_t));

	if (captured <= SAMPLE_COUNT * SAMPLE_LEN)
		return fnv1a(hash, payload, captured);
	for (size_t i = 0; i < SAMPLE_COUNT; i++)
		hash = fnv1a(hash, payload + (captured - SAMPLE_LEN) * i / (SAMPLE_COUNT - 1), SAMPLE_LEN);
	return hash;
}

/* A "whole" fragment that ends its packet: vhost fills each of the guest's
 * buffers (all one size) but the last, and clears EOM on all but the last
 * fragment of a SEQPACKET packet. */
static bool ends_packet(const struct frame_view *f, uint32_t frag_size)
{
	return (frag_size && f->len < frag_size) ||
	       (f->type == VIRTIO_VSOCK_TYPE_SEQPACKET && (f->flags & VIRTIO_VSOCK_SEQ_EOM));
}

/* Frames of the direction's packet that may hold the wrong bytes, now that a gap showed. */
static void note_unsure(struct vhost_split *vs, const struct direction *d)
{
	if (d->style != STYLE_WHOLE || !d->placed)
		return;
	vs->stats.unsure += d->placed;
	note(vs, "Its %u fragment frame%s from frame %llu on may hold the wrong bytes.", d->placed,
	     d->placed == 1 ? "" : "s", (unsigned long long)d->first_frame);
}

static void count_gap(struct vhost_split *vs, uint32_t bytes)
{
	vs->stats.gaps++;
	vs->stats.gap_bytes += bytes;
}

/* The packet in progress ends here: say what of it never showed up. */
static void end_packet(struct vhost_split *vs, struct direction *d)
{
	if (d->packet_len && d->confirmed && d->done < d->packet_len) {
		uint32_t lost = d->packet_len - d->done;

		count_gap(vs, lost);
		note(vs, "vsockdump: the %u-byte split packet before this frame lacks %u byte%s: "
		     "frames the capture lost.", d->packet_len, lost, lost == 1 ? "" : "s");
		note_unsure(vs, d);
	}
	d->packet_len = 0;
}

/* A later fragment of the packet, at packet offset @offset. */
static void place_later(struct direction *d, uint32_t offset, uint32_t len)
{
	d->confirmed = true;
	if (len > d->frag_size)
		d->frag_size = len;
	if (d->first_len > d->frag_size)
		d->frag_size = d->first_len;
	d->done = offset + len;
	if (d->done >= d->packet_len)
		d->packet_len = 0;
}

/*
 * The next fragment of the packet in progress, if this frame is one: true,
 * with where the fragment starts in the frame's payload in *@at.
 */
static bool continue_packet(struct vhost_split *vs, struct direction *d, const struct frame_view *f,
			    uint32_t *at)
{
	uint32_t left = d->packet_len - d->done;
	uint32_t offset;
	uint64_t content;

	if (f->len > left)
		return false;
	/* "rest": the packet from this fragment on; less if frames went missing before it */
	if (d->style != STYLE_WHOLE &&
	    (f->carried == left || (d->style == STYLE_REST && f->carried < left))) {
		offset = d->packet_len - f->carried;
		if (offset > d->done) {
			count_gap(vs, offset - d->done);
			note(vs, "vsockdump: bytes %u-%u of this %u-byte split packet were in frames the "
			     "capture lost.", d->done, offset - 1, d->packet_len);
		}
		d->style = STYLE_REST;
		place_later(d, offset, f->len);
		*at = 0;
		return true;
	}
	/* "whole": the same packet again, unless its bytes say it is the next one of
	 * the same size (trusted once two frames of a packet agreed) */
	if (d->style == STYLE_REST || f->carried != d->packet_len)
		return false;
	content = fingerprint(f);
	if (content == d->content)
		d->content_ok = true;
	else if (d->content_ok)
		return false;
	/* the last fragment is where it ends the packet; any other follows the one
	 * before (a gap before it would not show) */
	d->style = STYLE_WHOLE;
	offset = ends_packet(f, d->frag_size > d->first_len ? d->frag_size : d->first_len) ?
		 d->packet_len - f->len : d->done;
	if (offset > d->done) {
		/* where they were is not known: somewhere since the packet's first frame seen */
		count_gap(vs, offset - d->done);
		note(vs, "vsockdump: %u bytes of this %u-byte split packet were in frames the capture lost.",
		     offset - d->done, d->packet_len);
		note_unsure(vs, d);
	} else if (offset + f->len < d->packet_len) {
		d->placed++;
	}
	d->content = content;
	place_later(d, offset, f->len);
	*at = offset;
	return true;
}

/* A frame carrying more than len that continues no packet: a new packet's fragment. */
static void start_packet(struct vhost_split *vs, struct direction *d, const struct frame_view *f,
			 uint32_t *at)
{
	end_packet(vs, d);
	if (d->style == STYLE_WHOLE && ends_packet(f, d->frag_size)) {
		/* the last fragment of a packet whose earlier frames are missing */
		count_gap(vs, f->carried - f->len);
		note(vs, "vsockdump: bytes 0-%u of this %u-byte split packet were in frames the capture lost.",
		     f->carried - f->len - 1, f->carried);
		*at = f->carried - f->len;
		return;
	}
	/* both variants' frames start with a packet's first fragment */
	d->packet_len = f->carried;
	d->done = d->first_len = f->len;
	d->first_frame = vs->stats.frames;
	d->content = d->style == STYLE_REST ? 0 : fingerprint(f);
	d->confirmed = d->style != STYLE_UNKNOWN;
	d->placed = 1;
	*at = 0;
}

/* Write the headers and the fragment's own bytes, at @at in the frame's payload. */
static void trim(struct vhost_split *vs, const struct frame_view *f, uint32_t at, struct vhost_frame *out)
{
	uint32_t captured = f->caplen - HDRS_LEN;
	uint32_t keep = captured > at ? captured - at : 0;

	if (keep > f->len)
		keep = f->len;
	if (keep < f->len)
		vs->stats.cut++;	/* what a fixed kernel's frame cut by the snapshot length would keep, or less */
	out->origlen = HDRS_LEN + f->len;
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

/* The frame's fields, if it is a virtio frame from the host whose headers were captured. */
static bool view(const uint8_t *frame, uint32_t caplen, uint32_t origlen, struct frame_view *f)
{
	if (caplen < HDRS_LEN || origlen < caplen ||
	    le16_at(frame + VSOCKMON_OFF_TRANSPORT) != AF_VSOCK_TRANSPORT_VIRTIO ||
	    le16_at(frame + VSOCKMON_OFF_LEN) != VIRTIO_VSOCK_HDR_LEN ||
	    le64_at(frame + VSOCKMON_OFF_SRC_CID) != VSOCK_CID_HOST)
		return false;
	*f = (struct frame_view){
		.bytes = frame,
		.caplen = caplen,
		.carried = origlen - HDRS_LEN,
		.len = le32_at(frame + VOFF(VIRTIO_VSOCK_OFF_LEN)),
		.op = le16_at(frame + VOFF(VIRTIO_VSOCK_OFF_OP)),
		.type = le16_at(frame + VOFF(VIRTIO_VSOCK_OFF_TYPE)),
		.flags = le32_at(frame + VOFF(VIRTIO_VSOCK_OFF_FLAGS)),
		.src_cid = VSOCK_CID_HOST,
		.dst_cid = le64_at(frame + VSOCKMON_OFF_DST_CID),
		.src_port = le32_at(frame + VSOCKMON_OFF_SRC_PORT),
		.dst_port = le32_at(frame + VSOCKMON_OFF_DST_PORT),
	};
	return true;
}

void vhost_split_frame(struct vhost_split *vs, const uint8_t *frame, uint32_t caplen,
		       uint32_t origlen, struct vhost_frame *out)
{
	struct frame_view f;
	struct direction *d;
	bool beyond;
	uint32_t at;

	vs->stats.frames++;
	vs->comment_len = 0;
	vs->comment[0] = '\0';
	*out = (struct vhost_frame){ .head_len = caplen, .origlen = origlen };
	if (!view(frame, caplen, origlen, &f))
		return;
	beyond = f.op == VIRTIO_VSOCK_OP_RW && f.len > 0 && f.carried > f.len;
	d = lookup(vs, &f, beyond);
	if (!d)
		return;		/* no split ever in this direction, none here */
	if (beyond) {
		if (!d->packet_len || !continue_packet(vs, d, &f, &at))
			start_packet(vs, d, &f, &at);
		trim(vs, &f, at, out);
	} else if (f.op == VIRTIO_VSOCK_OP_RW && d->packet_len && d->style != STYLE_WHOLE &&
		   f.carried == f.len && f.len == d->packet_len - d->done) {
		/* the last fragment of a "rest" packet carries just itself */
		d->style = STYLE_REST;
		place_later(d, d->done, f.len);
	} else {
		/* nothing else comes between two fragments */
		end_packet(vs, d);
	}
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
