/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vsock-split.h - host-side tap frames of packets that vhost split
 * across the guest's receive buffers (virtio-vsock-split.c).
 *
 * vhost_transport_do_send_pkt() cuts a host->guest packet larger than the
 * guest's receive buffer into fragments and taps each one; kernels from
 * 6.3 (and 6.1.y) until commit 5f344d809e01 copied more than the fragment
 * into the tap frame ("rest" or "whole": dissector/vsock-split-core.h
 * tells the story). Either way the header's len is right and the frame
 * carries more.
 *
 * The detection is dissector/vsock-split-core.c, shared with vsockdump's
 * --vhost-fragments=trim; this is the plugin's side of it: the state per
 * connection, the records later passes read.
 */
#ifndef VIRTIO_VSOCK_SPLIT_H
#define VIRTIO_VSOCK_SPLIT_H

#include "vsockmon-int.h"
#include "vsock-split-core.h"

/* VSOCK_SPLIT_NONE, _FIRST, _REST, _WHOLE: dissector/vsock-split-core.h */
typedef enum vsock_split_kind vsock_split_kind_t;

/* Where this frame's fragment lies in what the frame carries. */
typedef struct vsock_split_frag {
	vsock_split_kind_t kind;
	guint32 packet_len;	/* bytes of the packet vhost split */
	guint32 packet_offset;	/* this fragment's first byte in that packet */
	guint32 frame_offset;	/* ... and in the frame's payload bytes */
	gboolean confirmed;	/* a later fragment followed (first pass: not known yet for the first) */
	/*
	 * Bytes of split packets in tap frames the capture lacks (a full
	 * capture ring), found missing at this frame, which need not be a
	 * fragment: 0 if none. lost_since (nonzero) is the first frame of a
	 * whole-packet ("6.7+") split packet whose fragments were placed
	 * without knowing where the gap was, its first one seen too (a later
	 * fragment is taken for the first when those before it went missing):
	 * they may be at the wrong offset (the frames of one packet all carry
	 * the same bytes).
	 */
	guint32 lost;
	guint32 lost_since;
} vsock_split_frag_t;

/*
 * Classify the frame whose payload (what follows the transport header)
 * starts at @payload_offset in @tvb. On the first pass, call it for every
 * frame with a virtio header, in capture order (any frame of the direction
 * that is not the next fragment ends a split in progress: vhost sends a
 * packet's fragments back to back); later passes read what the first one
 * stored. A packet's first fragment is taken for one on the first pass;
 * later passes only if the connection's frames showed the split (else its
 * extra bytes are a plain trailer). The cost when no split was ever seen on
 * the connection is a flag test.
 */
void vsock_split_classify(tvbuff_t *tvb, packet_info *pinfo, vsockmon_packet_t *pkt, guint payload_offset,
			  vsock_split_frag_t *frag);

void vsock_split_register(int proto);

/*
 * The frame's bytes from @offset on as it was sent, captured or not
 * (tvb_reported_length_remaining() says 0 beyond the captured bytes, where a
 * snapshot length may have left a fragment's data or the payload).
 */
static inline guint32 vsock_reported_from(tvbuff_t *tvb, guint offset)
{
	guint reported = tvb_reported_length(tvb);

	return reported > offset ? reported - offset : 0;
}

#endif /* VIRTIO_VSOCK_SPLIT_H */
