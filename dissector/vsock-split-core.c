/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsock-split-core.c - find the fragment in host-side tap frames of packets
 * vhost split across the guest's receive buffers (see the header).
 *
 * A fragment frame carries more than its len. The first fragment of a
 * packet carries the packet from its start in both kernel variants; a
 * later one tells them apart:
 *   "rest":  it carries packet_len - done (the packet from it on), or,
 *            once the direction is known to be "rest", less (frames went
 *            missing before it): its place is the packet's end minus what
 *            it carries;
 *   "whole": it carries packet_len again and fits in what is left; it is
 *            at done, or at packet_len - len if it ends the packet, and two
 *            packets of one size are told apart by their bytes.
 * A "rest" packet's last fragment carries just itself (len bytes, exactly
 * what is left of the packet). vhost sends a packet's fragments back to
 * back (the rest of a packet goes back to the head of the guest's queue),
 * so any other frame of the direction ends the packet in progress: what it
 * lacked was in frames the capture lost (a full capture ring).
 *
 * A "rest" frame tells where its fragment is; a "whole" frame does not, so
 * a gap is found only later: at the packet's last fragment, which alone is
 * shorter than the guest's buffers (or has EOM), or at the next packet,
 * whose frames carry other bytes or arrive after another frame. Either way
 * the packet ends there: the damage of a lost frame stays inside its
 * packet, and the decision says which frames may be at the wrong offset.
 */
#include "vsock-split-core.h"

#include <stddef.h>

#include <vsockmon_wire.h>

/* Which kernel variant wrote a direction's fragment frames. */
enum split_style {
	STYLE_UNKNOWN = 0,	/* no fragment followed another yet */
	STYLE_REST,
	STYLE_WHOLE,
};

/* The bytes of "whole" frames a fingerprint samples. */
#define SAMPLE_COUNT 16
#define SAMPLE_LEN 16

/* FNV-1a, 64 bits */
#define FNV_OFFSET_BASIS 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint32_t max_u32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

static uint64_t fnv1a(uint64_t hash, const uint8_t *bytes, size_t n)
{
	while (n--) {
		hash ^= *bytes++;
		hash *= FNV_PRIME;
	}
	return hash;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/*
 * What tells two packets of the same size apart: samples of the captured
 * payload (every "whole" frame of one packet carries the same bytes, even
 * cut by the same snapshot length) and the header values vhost copies into
 * each fragment's header unchanged (flags aside: it clears EOM on all but
 * the last).
 */
static uint64_t fingerprint(const struct vsock_split_input *in)
{
	uint8_t header[2 * sizeof(uint32_t)];
	uint64_t hash;
	size_t captured = in->captured ? in->captured_len : 0;

	put_le32(header, in->buf_alloc);
	put_le32(header + sizeof(uint32_t), in->fwd_cnt);
	hash = fnv1a(FNV_OFFSET_BASIS, header, sizeof(header));
	if (captured <= SAMPLE_COUNT * SAMPLE_LEN)
		return fnv1a(hash, in->captured, captured);
	for (size_t i = 0; i < SAMPLE_COUNT; i++)
		hash = fnv1a(hash, in->captured + (captured - SAMPLE_LEN) * i / (SAMPLE_COUNT - 1), SAMPLE_LEN);
	return hash;
}

/* A virtio RW frame with data that carries more than it: a fragment's frame on an unfixed kernel. */
static bool beyond_len(const struct vsock_split_input *in)
{
	return in->op == VIRTIO_VSOCK_OP_RW && in->len > 0 && in->carried > in->len;
}

/* A "whole" fragment that ends its packet: vhost fills each of the guest's
 * buffers (all the same size) but the last, and clears EOM on all but the
 * last fragment of a SEQPACKET packet. */
static bool ends_packet(const struct vsock_split_input *in, uint32_t frag_size)
{
	return (frag_size && in->len < frag_size) ||
	       (in->type == VIRTIO_VSOCK_TYPE_SEQPACKET && (in->flags & VIRTIO_VSOCK_SEQ_EOM));
}

static void set_fragment(struct vsock_split_decision *out, enum vsock_split_kind kind, uint32_t packet_len,
			 uint32_t packet_offset, uint32_t frame_offset)
{
	out->kind = kind;
	out->packet_len = packet_len;
	out->packet_offset = packet_offset;
	out->frame_offset = frame_offset;
}

/*
 * The packet's frames that may be at the wrong offset, now that a gap in it
 * showed: "whole" frames placed by the sequence alone, its first one seen
 * too (when earlier ones were lost, a later fragment is taken for the
 * first). A "rest" frame's place is always known.
 */
static void set_unsure(const struct vsock_split_state *st, struct vsock_split_loss *loss)
{
	if (st->style != STYLE_WHOLE || !st->placed)
		return;
	loss->unsure = st->placed;
	loss->unsure_since = st->first_frame;
}

/* The packet in progress ends here: say what of it never showed up. */
static void end_packet(struct vsock_split_state *st, struct vsock_split_decision *out)
{
	if (st->packet_len && st->confirmed && st->done < st->packet_len) {
		out->ended.packet_len = st->packet_len;
		out->ended.bytes = st->packet_len - st->done;
		set_unsure(st, &out->ended);
	}
	st->packet_len = 0;
}

/* A later fragment of the packet, at packet offset @offset: the first one was a fragment indeed. */
static void place_later(struct vsock_split_state *st, const struct vsock_split_input *in, uint32_t offset,
			struct vsock_split_decision *out)
{
	st->confirmed = true;
	st->frag_size = max_u32(st->frag_size, max_u32(st->first_len, in->len));
	st->done = offset + in->len;
	if (st->done >= st->packet_len)
		st->packet_len = 0;
	out->confirmed = true;
	out->confirms_first = true;
}

/* The next fragment of the packet being split, if this frame is one. */
static bool continue_packet(struct vsock_split_state *st, const struct vsock_split_input *in,
			    struct vsock_split_decision *out)
{
	uint32_t left = st->packet_len - st->done;
	uint32_t offset;
	uint64_t content;

	if (in->len > left)
		return false;
	/* "rest": the packet from this fragment on; less if frames went missing before it */
	if (st->style != STYLE_WHOLE && (in->carried == left || (st->style == STYLE_REST && in->carried < left))) {
		offset = st->packet_len - in->carried;
		set_fragment(out, VSOCK_SPLIT_REST, st->packet_len, offset, 0);
		if (offset > st->done)
			out->gap = (struct vsock_split_loss){ .packet_len = st->packet_len, .bytes = offset - st->done,
							      .from = st->done, .located = true };
		st->style = STYLE_REST;
		place_later(st, in, offset, out);
		return true;
	}
	/* "whole": the same packet again, unless its bytes say it is the next one of the same size
	 * (trusted once two frames of a packet agreed: a tap may also copy uninitialised bytes) */
	if (st->style == STYLE_REST || in->carried != st->packet_len)
		return false;
	content = fingerprint(in);
	if (content == st->content)
		st->content_ok = true;
	else if (st->content_ok)
		return false;
	/* the last fragment is where it ends the packet; any other follows the one before (a gap
	 * before it would not show) */
	st->style = STYLE_WHOLE;
	offset = ends_packet(in, max_u32(st->frag_size, st->first_len)) ? st->packet_len - in->len : st->done;
	set_fragment(out, VSOCK_SPLIT_WHOLE, st->packet_len, offset, offset);
	if (offset > st->done) {
		/* where they were is not known: somewhere since the packet's first frame seen */
		out->gap = (struct vsock_split_loss){ .packet_len = st->packet_len, .bytes = offset - st->done };
		set_unsure(st, &out->gap);
	} else if (offset + in->len < st->packet_len) {
		st->placed++;
	}
	st->content = content;
	place_later(st, in, offset, out);
	return true;
}

/* A frame carrying more than len that continues no packet: a new packet's fragment. */
static void start_packet(struct vsock_split_state *st, const struct vsock_split_input *in,
			 struct vsock_split_decision *out)
{
	end_packet(st, out);
	if (st->style == STYLE_WHOLE && ends_packet(in, st->frag_size)) {
		/* the last fragment of a packet whose earlier frames are missing */
		uint32_t offset = in->carried - in->len;

		set_fragment(out, VSOCK_SPLIT_WHOLE, in->carried, offset, offset);
		out->confirmed = true;
		out->gap = (struct vsock_split_loss){ .packet_len = in->carried, .bytes = offset, .from = 0,
						      .located = true };
		return;
	}
	/* both variants' frames start with a packet's first fragment; once the direction's
	 * frames showed splits, this is one even if the rest of it goes missing */
	set_fragment(out, VSOCK_SPLIT_FIRST, in->carried, 0, 0);
	out->confirmed = st->style != STYLE_UNKNOWN;
	st->packet_len = in->carried;
	st->done = st->first_len = in->len;
	st->first_frame = in->frame;
	st->content = st->style == STYLE_REST ? 0 : fingerprint(in);
	st->confirmed = out->confirmed;
	st->placed = 1;
}

enum vsock_split_need vsock_split_need(const struct vsock_split_input *in)
{
	/* only vhost splits, and it sends from the host's CID */
	if (in->src_cid != VSOCK_CID_HOST)
		return VSOCK_SPLIT_NEED_NONE;
	return beyond_len(in) ? VSOCK_SPLIT_NEED_NEW : VSOCK_SPLIT_NEED_EXISTING;
}

void vsock_split_step(struct vsock_split_state *st, const struct vsock_split_input *in,
		      struct vsock_split_decision *out)
{
	*out = (struct vsock_split_decision){ .kind = VSOCK_SPLIT_NONE };
	if (!st || vsock_split_need(in) == VSOCK_SPLIT_NEED_NONE)
		return;
	if (beyond_len(in)) {
		if (!st->packet_len || !continue_packet(st, in, out))
			start_packet(st, in, out);
	} else if (in->op == VIRTIO_VSOCK_OP_RW && st->packet_len && st->style != STYLE_WHOLE &&
		   in->carried == in->len && in->len == st->packet_len - st->done) {
		/* the last fragment of a "rest" packet carries just itself */
		set_fragment(out, VSOCK_SPLIT_REST, st->packet_len, st->done, 0);
		st->style = STYLE_REST;
		place_later(st, in, st->done, out);
	} else {
		/* nothing else comes between two fragments */
		end_packet(st, out);
	}
	out->lost = out->ended.bytes + out->gap.bytes;
	out->lost_since = out->ended.unsure ? out->ended.unsure_since : out->gap.unsure_since;
}
