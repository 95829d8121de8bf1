/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vsock-split.c - find the fragment in host-side tap frames of
 * packets vhost split across the guest's receive buffers (see the header).
 *
 * A fragment frame carries more than its len. The first fragment of a
 * packet carries the packet from its start in both kernel variants; the
 * later ones tell the variants apart: "rest" frames shrink by the previous
 * fragment's len, "whole" frames keep carrying the whole packet. Each
 * direction of a connection has at most one packet being split at a time
 * (vhost sends a packet's fragments back to back), so the first pass
 * follows it with a packet length and the bytes of it seen so far.
 */
#include "virtio-vsock-split.h"

#include <epan/proto_data.h>

/* One direction's packet being split. */
typedef struct split_progress {
	guint32 packet_len;	/* 0: none */
	guint32 done;		/* bytes of it in the fragments seen */
	vsock_split_frag_t *first;	/* its first fragment's record */
} split_progress_t;

/* Per-frame data (file scope), fragments only. */
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

/* Where this fragment is, given the packet being split (if any). */
static void place_fragment(const split_progress_t *p, guint32 carried, guint32 len, vsock_split_frag_t *frag)
{
	guint32 left = p->packet_len - p->done;

	if (p->packet_len && len <= left && carried == left) {
		*frag = (vsock_split_frag_t){ VSOCK_SPLIT_REST, p->packet_len, p->done, 0, TRUE };
	} else if (p->packet_len && len <= left && carried == p->packet_len) {
		*frag = (vsock_split_frag_t){ VSOCK_SPLIT_WHOLE, p->packet_len, p->done, p->done, TRUE };
	} else {
		/* a new packet: both variants' frames start with its first fragment */
		*frag = (vsock_split_frag_t){ VSOCK_SPLIT_FIRST, carried, 0, 0, FALSE };
	}
}

static vsock_split_frag_t *store(packet_info *pinfo, const vsock_split_frag_t *frag)
{
	vsock_split_frag_t *stored = (vsock_split_frag_t *)wmem_memdup(wmem_file_scope(), frag, sizeof(*frag));

	p_add_proto_data(wmem_file_scope(), pinfo, proto_virtio_vsock, SPLIT_FRAG_KEY, stored);
	return stored;
}

/* A later fragment of the packet: the first one was a fragment indeed. */
static vsock_split_frag_t *store_later(packet_info *pinfo, split_progress_t *p, const vsock_split_frag_t *frag)
{
	if (p->first)
		p->first->confirmed = TRUE;
	return store(pinfo, frag);
}

static void classify_first_pass(packet_info *pinfo, vsockmon_packet_t *pkt, guint32 carried,
				vsock_split_frag_t *frag)
{
	guint32 len = pkt->virtio_len;
	split_progress_t *p = progress_of(pkt, carried > len && len > 0);

	if (!p)
		return;
	if (carried <= len || len == 0) {
		/* all fragment: the last one of a "rest" packet, or no split at all */
		if (p->packet_len && carried == len && len == p->packet_len - p->done) {
			*frag = (vsock_split_frag_t){ VSOCK_SPLIT_REST, p->packet_len, p->done, 0, TRUE };
			store_later(pinfo, p, frag);
		}
		p->packet_len = 0;
		return;
	}
	place_fragment(p, carried, len, frag);
	p->packet_len = frag->packet_len;
	p->done = frag->packet_offset + len;
	if (p->done >= p->packet_len)
		p->packet_len = 0;
	if (frag->kind == VSOCK_SPLIT_FIRST)
		p->first = store(pinfo, frag);
	else
		store_later(pinfo, p, frag);
}

void vsock_split_classify(packet_info *pinfo, vsockmon_packet_t *pkt, guint32 carried, vsock_split_frag_t *frag)
{
	const vsock_split_frag_t *stored;

	*frag = (vsock_split_frag_t){ VSOCK_SPLIT_NONE, 0, 0, 0, FALSE };
	if (!pkt->vconv || pkt->virtio_op != VIRTIO_VSOCK_OP_RW)
		return;
	if (!PINFO_FD_VISITED(pinfo)) {
		classify_first_pass(pinfo, pkt, carried, frag);
		return;
	}
	if (!pkt->vconv->split_seen)
		return;
	stored = (const vsock_split_frag_t *)p_get_proto_data(wmem_file_scope(), pinfo, proto_virtio_vsock,
							      SPLIT_FRAG_KEY);
	/* a "first fragment" no other followed was no fragment: bytes beyond len */
	if (stored && stored->confirmed)
		*frag = *stored;
}

void vsock_split_register(int proto)
{
	proto_virtio_vsock = proto;
	progress_by_stream = wmem_map_new_autoreset(wmem_epan_scope(), wmem_file_scope(), g_direct_hash,
						    g_direct_equal);
}
