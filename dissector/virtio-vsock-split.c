/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vsock-split.c - the plugin's side of finding the fragment in
 * host-side tap frames of packets vhost split across the guest's receive
 * buffers (see the header). The detection itself is
 * dissector/vsock-split-core.c, shared with vsockdump: this file keeps its
 * state per connection and direction, stores what it decides for each frame
 * on the first pass, and hands the stored record to later passes.
 *
 * The first pass follows each connection's host->guest packet being split;
 * any other frame of that direction ends it (vhost sends a packet's
 * fragments back to back). A first fragment is only known to be one when a
 * later fragment follows: the core says so, and its stored record is
 * patched then. A capture can lack frames (a full capture ring): the frame
 * at which a gap shows records the bytes lost, and for a "whole" packet from
 * which frame on its fragments may be at the wrong offset (an expert says
 * where).
 */
#include "virtio-vsock-split.h"

#include <epan/proto_data.h>

/* One direction of a connection: the core's state, and the record of its
 * packet's first fragment (patched when a later one confirms it). */
typedef struct split_progress {
	struct vsock_split_state core;
	vsock_split_frag_t *first;
} split_progress_t;

/* Per-frame data (file scope): fragments, and frames that found fragments missing. */
#define SPLIT_FRAG_KEY 0x73706c74	/* "splt" */

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

static vsock_split_frag_t *store(packet_info *pinfo, const vsock_split_frag_t *frag)
{
	vsock_split_frag_t *stored = (vsock_split_frag_t *)wmem_memdup(wmem_file_scope(), frag, sizeof(*frag));

	p_add_proto_data(wmem_file_scope(), pinfo, proto_virtio_vsock, SPLIT_FRAG_KEY, stored);
	return stored;
}

/* What the frame's header shows the core, and its payload's length as sent. */
static void frame_input(tvbuff_t *tvb, packet_info *pinfo, const vsockmon_packet_t *pkt, guint payload_offset,
			struct vsock_split_input *in)
{
	*in = (struct vsock_split_input){
		.src_cid = pkt->src_cid,
		.op = pkt->virtio_op,
		.type = pkt->virtio_type,
		.flags = pkt->virtio_flags,
		.len = pkt->virtio_len,
		.buf_alloc = pkt->buf_alloc,
		.fwd_cnt = pkt->fwd_cnt,
		.carried = vsock_reported_from(tvb, payload_offset),
		.frame = pinfo->num,
	};
}

/* ... and the payload bytes captured (for the fingerprint of "whole" frames). */
static void frame_captured(tvbuff_t *tvb, guint payload_offset, struct vsock_split_input *in)
{
	gint captured = tvb_captured_length_remaining(tvb, payload_offset);

	if (captured > 0) {
		in->captured = tvb_get_ptr(tvb, payload_offset, captured);
		in->captured_len = (guint32)captured;
	}
}

/* First pass: what the frame is, from the frames of its direction before it. */
static void classify_first_pass(tvbuff_t *tvb, packet_info *pinfo, vsockmon_packet_t *pkt, guint payload_offset,
				vsock_split_frag_t *frag)
{
	struct vsock_split_input in;
	struct vsock_split_decision d;
	enum vsock_split_need need;
	split_progress_t *p;
	vsock_split_frag_t *stored;

	frame_input(tvb, pinfo, pkt, payload_offset, &in);
	need = vsock_split_need(&in);
	if (need == VSOCK_SPLIT_NEED_NONE)
		return;
	p = progress_of(pkt, need == VSOCK_SPLIT_NEED_NEW);
	if (!p)
		return;	/* no split ever on this connection, none here */
	frame_captured(tvb, payload_offset, &in);
	vsock_split_step(&p->core, &in, &d);
	if (d.confirms_first && p->first)
		p->first->confirmed = TRUE;
	*frag = (vsock_split_frag_t){ d.kind, d.packet_len, d.packet_offset, d.frame_offset, d.confirmed, d.lost,
				      (guint32)d.lost_since };
	if (d.kind == VSOCK_SPLIT_NONE && !d.lost)
		return;
	stored = store(pinfo, frag);
	if (d.kind == VSOCK_SPLIT_FIRST)
		p->first = stored;
}

void vsock_split_classify(tvbuff_t *tvb, packet_info *pinfo, vsockmon_packet_t *pkt, guint payload_offset,
			  vsock_split_frag_t *frag)
{
	const vsock_split_frag_t *stored;

	*frag = (vsock_split_frag_t){ VSOCK_SPLIT_NONE, 0, 0, 0, FALSE, 0, 0 };
	/*
	 * The kernel's tap writes the 44-byte virtio header (hdr.len =
	 * sizeof(struct virtio_vsock_hdr) in virtio_transport_build_skb()): a
	 * frame with another transport header length is no vhost tap frame,
	 * neither a fragment nor the end of one (as vsockdump sees it).
	 */
	if (!pkt->vconv || pkt->hdr_len != VIRTIO_VSOCK_HDR_LEN)
		return;
	if (!PINFO_FD_VISITED(pinfo)) {
		classify_first_pass(tvb, pinfo, pkt, payload_offset, frag);
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
