/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vsock-split.c - find the fragment in host-side tap frames of
 * packets vhost split across the guest's receive buffers (see the header).
 *
 * A fragment frame carries more than its len. The first fragment of a
 * packet carries the packet from its start in both kernel variants; the
 * later ones tell the variants apart: "rest" frames shrink by the previous
 * fragment's len, "whole" frames keep carrying the whole packet. vhost
 * sends a packet's fragments back to back (the rest of a packet goes back
 * to the head of the guest's queue), so the first pass follows each
 * connection's host->guest packet being split with a packet length and the
 * bytes of it seen so far, and any other frame of that direction ends it.
 *
 * A capture can lack frames (a full capture ring). A "rest" frame tells
 * where its fragment is (the packet's end minus what it carries); a
 * "whole" frame does not, so a gap is found only later: at the packet's
 * last fragment, which alone is shorter than the guest's buffers (or has
 * EOM), or at the next packet, whose frames carry other bytes or arrive
 * after another frame. Either way the packet ends there: the damage of a
 * lost frame stays inside its packet, and an expert says where.
 */
#include "virtio-vsock-split.h"

#include <epan/proto_data.h>

/* Which kernel variant wrote a direction's fragment frames. */
typedef enum {
	SPLIT_STYLE_UNKNOWN = 0,	/* no fragment followed another yet */
	SPLIT_STYLE_REST,
	SPLIT_STYLE_WHOLE,
} split_style_t;

/* One direction of a connection: its packet being split, and what its
 * earlier fragments showed. */
typedef struct split_progress {
	guint32 packet_len;	/* 0: none */
	guint32 done;		/* bytes of it placed so far: where its next fragment starts */
	guint32 first_len;	/* len of its first fragment seen */
	guint32 first_frame;	/* ... and that fragment's frame */
	guint64 content;	/* fingerprint of its last frame (not for "rest" frames) */
	gboolean confirmed;	/* it is a split packet: a fragment followed, or the direction's style is known */
	gboolean guessed;	/* a "whole" fragment of it was placed right after the previous one */
	vsock_split_frag_t *first;	/* its first fragment's record */

	guint32 frag_size;	/* the guest's receive buffer: the longest fragment of a split packet */
	guint8 style;		/* split_style_t: the host's kernel, learnt from a fragment that followed another */
	gboolean content_ok;	/* "whole" frames of one packet carried the same bytes: the tap copied the payload */
} split_progress_t;

/* Per-frame data (file scope): fragments, and frames that found fragments missing. */
#define SPLIT_FRAG_KEY 0x73706c74	/* "splt" */

/* The bytes of "whole" frames a fingerprint samples. */
#define SAMPLE_COUNT 16
#define SAMPLE_LEN 16

static int proto_virtio_vsock = -1;

/* First pass: split_progress_t[2] per connection that ever had a fragment. */
static wmem_map_t *progress_by_stream;

static split_progress_t *progress_of(const vsockmon_packet_t *pkt, gboolean create)
{
	split_progress_t *both;

	if (!pkt->vconv->split_seen) {
		if (!create)
			return NULL;
		both = wmem_alloc0_array(wmem_file_scope(), split_progress_t, 2);
		wmem_map_insert(progress_by_stream, GUINT_TO_POINTER(pkt->stream), both);
		pkt->vconv->split_seen = TRUE;
	} else {
		both = (split_progress_t *)wmem_map_lookup(progress_by_stream, GUINT_TO_POINTER(pkt->stream));
	}
	return &both[pkt->flow];
}

static guint64 fnv1a(guint64 hash, const guint8 *bytes, guint n)
{
	while (n--) {
		hash ^= *bytes++;
		hash *= G_GUINT64_CONSTANT(0x100000001b3);
	}
	return hash;
}

/*
 * What tells two packets of the same size apart: samples of the captured
 * payload (every "whole" frame of one packet carries the same bytes, even
 * cut by the same snapshot length) and the header values vhost copies into
 * each fragment's header unchanged (flags aside: it clears EOM on all but
 * the last).
 */
static guint64 fingerprint(tvbuff_t *tvb, guint payload_offset, const vsockmon_packet_t *pkt)
{
	guint32 header[2] = { pkt->buf_alloc, pkt->fwd_cnt };
	gint captured = tvb_captured_length_remaining(tvb, payload_offset);
	guint64 hash = fnv1a(G_GUINT64_CONSTANT(0xcbf29ce484222325), (const guint8 *)header, sizeof(header));
	guint i;

	if (captured <= 0)
		return hash;
	if (captured <= SAMPLE_COUNT * SAMPLE_LEN)
		return fnv1a(hash, tvb_get_ptr(tvb, payload_offset, captured), (guint)captured);
	for (i = 0; i < SAMPLE_COUNT; i++) {
		guint at = payload_offset + (guint)((guint64)(captured - SAMPLE_LEN) * i / (SAMPLE_COUNT - 1));

		hash = fnv1a(hash, tvb_get_ptr(tvb, at, SAMPLE_LEN), SAMPLE_LEN);
	}
	return hash;
}

/* A "whole" fragment that ends its packet: vhost fills each of the guest's
 * buffers (all the same size) but the last, and clears EOM on all but the
 * last fragment of a SEQPACKET packet. */
static gboolean ends_packet(const vsockmon_packet_t *pkt, guint32 frag_size)
{
	return (frag_size && pkt->virtio_len < frag_size) ||
	       (pkt->virtio_type == VIRTIO_VSOCK_TYPE_SEQPACKET && (pkt->virtio_flags & VIRTIO_VSOCK_SEQ_EOM));
}

static vsock_split_frag_t *store(packet_info *pinfo, const vsock_split_frag_t *frag)
{
	vsock_split_frag_t *stored = (vsock_split_frag_t *)wmem_memdup(wmem_file_scope(), frag, sizeof(*frag));

	p_add_proto_data(wmem_file_scope(), pinfo, proto_virtio_vsock, SPLIT_FRAG_KEY, stored);
	return stored;
}

/* The packet being split ends here: say what of it never showed up. */
static void end_packet(split_progress_t *p, vsock_split_frag_t *frag)
{
	if (p->packet_len && p->confirmed && p->done < p->packet_len) {
		frag->lost += p->packet_len - p->done;
		if (p->guessed)
			frag->lost_since = p->first_frame;
	}
	p->packet_len = 0;
}

/* A later fragment of the packet at frag->packet_offset: the first one was a fragment indeed. */
static void place_later(packet_info *pinfo, split_progress_t *p, vsock_split_frag_t *frag, guint32 len)
{
	if (p->first)
		p->first->confirmed = TRUE;
	p->confirmed = TRUE;
	p->frag_size = MAX(p->frag_size, MAX(p->first_len, len));
	p->done = frag->packet_offset + len;
	if (p->done >= p->packet_len)
		p->packet_len = 0;
	store(pinfo, frag);
}

/* The next fragment of the packet being split, if this frame is one. */
static gboolean continue_packet(tvbuff_t *tvb, packet_info *pinfo, const vsockmon_packet_t *pkt,
				guint payload_offset, guint32 carried, split_progress_t *p, vsock_split_frag_t *frag)
{
	guint32 len = pkt->virtio_len;
	guint32 left = p->packet_len - p->done;
	guint32 offset;
	guint64 content;

	if (len > left)
		return FALSE;
	/* "rest": the packet from this fragment on; less if frames went missing before it */
	if (p->style != SPLIT_STYLE_WHOLE && (carried == left || (p->style == SPLIT_STYLE_REST && carried < left))) {
		offset = p->packet_len - carried;
		*frag = (vsock_split_frag_t){ VSOCK_SPLIT_REST, p->packet_len, offset, 0, TRUE, offset - p->done, 0 };
		p->style = SPLIT_STYLE_REST;
		place_later(pinfo, p, frag, len);
		return TRUE;
	}
	/* "whole": the same packet again, unless its bytes say it is the next one of the same size
	 * (trusted once two frames of a packet agreed: a tap may also copy uninitialised bytes) */
	if (p->style == SPLIT_STYLE_REST || carried != p->packet_len)
		return FALSE;
	content = fingerprint(tvb, payload_offset, pkt);
	if (content == p->content)
		p->content_ok = TRUE;
	else if (p->content_ok)
		return FALSE;
	/* the last fragment is where it ends the packet; any other follows the one before (a gap
	 * before it would not show) */
	offset = ends_packet(pkt, MAX(p->frag_size, p->first_len)) ? p->packet_len - len : p->done;
	*frag = (vsock_split_frag_t){ VSOCK_SPLIT_WHOLE, p->packet_len, offset, offset, TRUE, offset - p->done,
				      offset > p->done && p->guessed ? p->first_frame : 0 };
	if (offset + len < p->packet_len)
		p->guessed = TRUE;
	p->style = SPLIT_STYLE_WHOLE;
	p->content = content;
	place_later(pinfo, p, frag, len);
	return TRUE;
}

/* A frame carrying more than len that continues no packet: a new packet's fragment. */
static void start_packet(tvbuff_t *tvb, packet_info *pinfo, const vsockmon_packet_t *pkt, guint payload_offset,
			 guint32 carried, split_progress_t *p, vsock_split_frag_t *frag)
{
	guint32 len = pkt->virtio_len;

	end_packet(p, frag);
	if (p->style == SPLIT_STYLE_WHOLE && ends_packet(pkt, p->frag_size)) {
		/* the last fragment of a packet whose earlier frames are missing */
		frag->kind = VSOCK_SPLIT_WHOLE;
		frag->packet_len = carried;
		frag->packet_offset = frag->frame_offset = carried - len;
		frag->confirmed = TRUE;
		frag->lost += carried - len;
		store(pinfo, frag);
		return;
	}
	/* both variants' frames start with a packet's first fragment; once the direction's
	 * frames showed splits, this is one even if the rest of it goes missing */
	frag->kind = VSOCK_SPLIT_FIRST;
	frag->packet_len = carried;
	frag->confirmed = p->style != SPLIT_STYLE_UNKNOWN;
	p->packet_len = carried;
	p->done = p->first_len = len;
	p->first_frame = pinfo->num;
	p->content = p->style == SPLIT_STYLE_REST ? 0 : fingerprint(tvb, payload_offset, pkt);
	p->confirmed = frag->confirmed;
	p->guessed = FALSE;
	p->first = store(pinfo, frag);
}

static void classify_rw(tvbuff_t *tvb, packet_info *pinfo, vsockmon_packet_t *pkt, guint payload_offset,
			vsock_split_frag_t *frag)
{
	guint32 carried = vsock_reported_from(tvb, payload_offset);
	guint32 len = pkt->virtio_len;
	gboolean beyond = carried > len && len > 0;
	split_progress_t *p = progress_of(pkt, beyond);

	if (!p)
		return;	/* no split ever on this connection, none here */
	if (beyond) {
		if (!p->packet_len || !continue_packet(tvb, pinfo, pkt, payload_offset, carried, p, frag))
			start_packet(tvb, pinfo, pkt, payload_offset, carried, p, frag);
		return;
	}
	if (p->packet_len && p->style != SPLIT_STYLE_WHOLE && carried == len && len == p->packet_len - p->done) {
		/* the last fragment of a "rest" packet carries just itself */
		*frag = (vsock_split_frag_t){ VSOCK_SPLIT_REST, p->packet_len, p->done, 0, TRUE, 0, 0 };
		p->style = SPLIT_STYLE_REST;
		place_later(pinfo, p, frag, len);
		return;
	}
	end_packet(p, frag);
	if (frag->lost)
		store(pinfo, frag);
}

void vsock_split_classify(tvbuff_t *tvb, packet_info *pinfo, vsockmon_packet_t *pkt, guint payload_offset,
			  vsock_split_frag_t *frag)
{
	const vsock_split_frag_t *stored;

	*frag = (vsock_split_frag_t){ VSOCK_SPLIT_NONE, 0, 0, 0, FALSE, 0, 0 };
	/* only vhost splits, and it sends from the host's CID */
	if (!pkt->vconv || pkt->src_cid != VSOCK_CID_HOST)
		return;
	if (!PINFO_FD_VISITED(pinfo)) {
		if (pkt->virtio_op == VIRTIO_VSOCK_OP_RW) {
			classify_rw(tvb, pinfo, pkt, payload_offset, frag);
		} else if (pkt->vconv->split_seen) {
			/* nothing comes between two fragments */
			end_packet(progress_of(pkt, FALSE), frag);
			if (frag->lost)
				store(pinfo, frag);
		}
		return;
	}
	if (!pkt->vconv->split_seen)
		return;
	stored = (const vsock_split_frag_t *)p_get_proto_data(wmem_file_scope(), pinfo, proto_virtio_vsock,
							      SPLIT_FRAG_KEY);
	if (!stored)
		return;
	*frag = *stored;
	if (!stored->confirmed) {
		/* a "first fragment" no other followed was no fragment: bytes beyond len
		 * (only a first fragment stays unconfirmed, and it starts the frame) */
		frag->kind = VSOCK_SPLIT_NONE;
		frag->packet_len = frag->packet_offset = frag->frame_offset = 0;
	}
}

void vsock_split_register(int proto)
{
	proto_virtio_vsock = proto;
	progress_by_stream = wmem_map_new_autoreset(wmem_epan_scope(), wmem_file_scope(), g_direct_hash,
						    g_direct_equal);
}
