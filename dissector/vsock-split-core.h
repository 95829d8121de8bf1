/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsock-split-core.h - the one detection of host-side tap frames of packets
 * vhost split across the guest's receive buffers, shared by the plugin
 * (virtio-vsock-split.c) and vsockdump --vhost-fragments=trim
 * (extcap/vhost-split.c). Plain C (C99, stdint, stdbool): no glib, no
 * Wireshark, no libpcap; the wire format is include/vsockmon_wire.h.
 * It sits with the plugin's sources, which the fuzz build compiles from
 * this folder; vsockdump builds it without glib (extcap/CMakeLists.txt).
 *
 * vhost_transport_do_send_pkt() cuts a host->guest packet larger than the
 * guest's receive buffer (4 KiB in Linux guests) into fragments, each with
 * its own virtio header whose len is the fragment's, and taps each one.
 * From the sk_buff conversion (Linux 6.3, also in 6.1.y stable) until
 * commit 5f344d809e01 ("vsock/virtio: fix length and offset in tap skb for
 * split packets", 2026) virtio_transport_build_skb() copied more than the
 * fragment into the tap frame:
 *   - "rest": the packet from this fragment on (kernels that skb_pull()
 *     each sent fragment: 6.1.y, 6.3-6.6): the fragment comes first;
 *   - "whole": the whole packet from its start (6.7 and later, which keep
 *     an offset instead): the fragment is at that offset.
 * Only the host's side splits (vhost sends from CID 2): the guest's driver
 * taps what it sends and receives, exactly len bytes each.
 *
 * The caller keeps one struct vsock_split_state per direction of a
 * connection (zeroed: nothing seen yet) and calls vsock_split_step() for
 * the direction's frames in capture order: vhost sends a packet's fragments
 * back to back, so any other frame of the direction ends a split in
 * progress. How directions are keyed, how long their state lives, and what
 * is done with the decision is the caller's.
 */
#ifndef VSOCK_SPLIT_CORE_H
#define VSOCK_SPLIT_CORE_H

#include <stdbool.h>
#include <stdint.h>

/* What a frame's payload is. */
enum vsock_split_kind {
	VSOCK_SPLIT_NONE = 0,	/* not a recognised fragment: the frame is what it says */
	VSOCK_SPLIT_FIRST,	/* a packet's first fragment: frame = the whole packet */
	VSOCK_SPLIT_REST,	/* frame = the packet from this fragment on */
	VSOCK_SPLIT_WHOLE,	/* frame = the whole packet; fragment at packet_offset */
};

/*
 * One direction's state: the packet being split, and what the direction's
 * earlier fragments showed. Zero it to start; otherwise the core's
 * (vsock_split_busy() tells whether a packet is in progress).
 */
struct vsock_split_state {
	uint64_t first_frame;	/* frame of the packet's first fragment seen */
	uint64_t content;	/* fingerprint of its last frame (not for "rest" frames) */
	uint32_t packet_len;	/* the packet being split; 0: none */
	uint32_t done;		/* bytes of it placed so far: where its next fragment starts */
	uint32_t first_len;	/* len of its first fragment seen */
	uint32_t placed;	/* its frames placed by the sequence alone: a gap before them would not show */
	uint32_t frag_size;	/* the guest's receive buffer: the longest fragment of a split packet */
	uint8_t style;		/* the host's kernel ("rest"/"whole"), learnt from a fragment that followed another */
	bool confirmed;		/* it is a split packet: a fragment followed, or the direction's style is known */
	bool content_ok;	/* "whole" frames of one packet carried the same bytes: the tap copied the payload */
};

/* What one frame shows (header values as numbers, in host byte order). */
struct vsock_split_input {
	uint64_t src_cid;	/* the monitor header's source CID */
	uint16_t op;		/* the virtio header's */
	uint16_t type;
	uint32_t flags;
	uint32_t len;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
	uint32_t carried;	/* payload bytes the frame had on the wire (reported, captured or not) */
	const uint8_t *captured;	/* the payload bytes captured (NULL if none) ... */
	uint32_t captured_len;		/* ... and how many */
	uint64_t frame;		/* its frame number (1 for a capture's first frame) */
};

/* Bytes of one split packet found missing at a frame: in frames the capture lacks. */
struct vsock_split_loss {
	uint32_t packet_len;	/* the packet's length */
	uint32_t bytes;		/* how many of its bytes; 0: none */
	uint32_t from;		/* ... and where, if located: bytes [from, from + bytes) */
	bool located;
	/*
	 * The packet's "whole" frames placed by the sequence alone before the
	 * gap showed (unsure of them from frame unsure_since on): each of them
	 * carries the whole packet, so one after the gap (or a later fragment
	 * taken for the first) is at the wrong offset. 0 if none.
	 */
	uint32_t unsure;
	uint64_t unsure_since;
};

/* What a frame is (vsock_split_step()). */
struct vsock_split_decision {
	enum vsock_split_kind kind;
	uint32_t packet_len;	/* bytes of the packet vhost split */
	uint32_t packet_offset;	/* this fragment's first byte in that packet */
	uint32_t frame_offset;	/* ... and in the frame's payload bytes */
	bool confirmed;		/* a split packet for sure (a first fragment: not known yet if false) */
	/* the packet's first fragment (its frame: the one that returned VSOCK_SPLIT_FIRST) is now confirmed */
	bool confirms_first;

	/* Missing bytes found at this frame, which need not be a fragment: the sum ... */
	uint32_t lost;
	uint64_t lost_since;	/* ... and the first frame that may be at the wrong offset (0: none) */
	/* ... of the packet in progress, which this frame ended ... */
	struct vsock_split_loss ended;
	/* ... and of this frame's own packet, before its fragment. */
	struct vsock_split_loss gap;
};

/* What a frame needs of its direction's state (vsock_split_need()). */
enum vsock_split_need {
	VSOCK_SPLIT_NEED_NONE = 0,	/* nothing: it neither is nor ends a vhost fragment */
	VSOCK_SPLIT_NEED_EXISTING,	/* the state if the direction has one (else: no split here) */
	VSOCK_SPLIT_NEED_NEW,		/* a state, new if the direction had none: it may start a split */
};

/*
 * Whether the frame concerns vhost splits at all: only frames from the
 * host's CID do; one carrying more than its len (a virtio RW with len > 0)
 * may start a split. A direction needs no state until then (the cost of
 * directions that never split is this test).
 */
enum vsock_split_need vsock_split_need(const struct vsock_split_input *in);

/*
 * Classify the direction's next frame in capture order and advance @st.
 * @st may be NULL (the direction has no state, and the frame does not
 * need one): the frame is no fragment.
 */
void vsock_split_step(struct vsock_split_state *st, const struct vsock_split_input *in,
		      struct vsock_split_decision *out);

/* A packet of the direction is in the middle of its split. */
static inline bool vsock_split_busy(const struct vsock_split_state *st)
{
	return st->packet_len != 0;
}

#endif /* VSOCK_SPLIT_CORE_H */
