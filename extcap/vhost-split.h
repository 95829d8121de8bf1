/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-split.h - --vhost-fragments=trim: rewrite at capture time the tap
 * frames of packets vhost split across a guest's receive buffers into what
 * the kernel should have tapped (vhost-split.c).
 *
 * vhost_transport_do_send_pkt() cuts a host->guest packet larger than the
 * guest's receive buffer (4 KiB in Linux guests) into fragments, each with
 * its own virtio header whose len is the fragment's, and taps each one.
 * From the sk_buff conversion (Linux 6.3, also in 6.1.y) until commit
 * 5f344d809e01 (2026) the tap frame carried more than the fragment:
 *   - "rest" (6.1.y, 6.3-6.6): the packet from this fragment on, so the
 *     fragment is the frame's first len payload bytes;
 *   - "whole" (6.7+): the whole packet, the fragment at its offset in it
 *     (the bytes of the packet in earlier fragments).
 * A 64 KiB packet thus costs ~1 MiB of capture, and every reader but the
 * vsockmon plugin shows the wrong bytes. Trimming writes each such frame as
 * its headers plus the fragment's own len bytes, with pcapng captured and
 * original length of that size. The detection is the plugin's, the same
 * code (dissector/vsock-split-core.c), done per direction in one pass.
 */
#ifndef VSOCKDUMP_VHOST_SPLIT_H
#define VSOCKDUMP_VHOST_SPLIT_H

#include <stddef.h>
#include <stdint.h>

enum vhost_fragments {
	VHOST_FRAGMENTS_KEEP,	/* write frames as tapped (the default) */
	VHOST_FRAGMENTS_TRIM,	/* cut a fragment's frame to its headers and own bytes */
};

/*
 * Directions followed at once: VHOST_SPLIT_SETS sets of VHOST_SPLIT_WAYS
 * entries (80 KiB in all, allocated once). A direction needs an entry only
 * from its first fragment on, and vhost has at most one packet in the middle
 * of its split per guest; a full set gives up an entry with no packet in
 * progress first, the least recently seen one. A direction's entry is
 * forgotten when a new connection opens on its ports after an RST, as the
 * plugin starts a new connection's state afresh; pairs reset before they had
 * an entry are remembered in VHOST_SPLIT_RESET_PAIRS slots (2 KiB) for that.
 */
#define VHOST_SPLIT_SETS	128
#define VHOST_SPLIT_WAYS	8
#define VHOST_SPLIT_RESET_PAIRS	256

struct vhost_split_stats {
	uint64_t frames;	/* frames seen: the number of the last one */
	uint64_t trimmed;	/* frames rewritten to their fragment */
	uint64_t bytes_before;	/* captured bytes of those frames as tapped */
	uint64_t bytes_after;	/* ... and as written */
	uint64_t cut;		/* trimmed frames whose fragment the snapshot length cut */
	uint64_t gaps;		/* split packets found lacking fragments: frames the capture lost */
	uint64_t gap_bytes;	/* the bytes of those packets in the lost frames */
	uint64_t unsure;	/* "whole" fragments placed before a gap showed: maybe the wrong bytes */
	uint64_t evicted;	/* directions forgotten in the middle of a packet (table full) */
};

/*
 * What to write for one frame: its bytes [0, head_len), then
 * [body_off, body_off + body_len); original length origlen. A frame left
 * alone is head_len = caplen, body_len = 0, origlen as captured.
 */
struct vhost_frame {
	uint32_t head_len;
	uint32_t body_off;
	uint32_t body_len;
	uint32_t origlen;
	const char *comment;	/* the frame's pcapng comment, NULL if none; valid until the next call */
};

struct vhost_split;

/* NULL when out of memory. */
struct vhost_split *vhost_split_new(void);
void vhost_split_free(struct vhost_split *vs);

/*
 * Decide what to write for the next frame of the capture (call it for every
 * frame, in order: frame numbers in comments count the calls).
 */
void vhost_split_frame(struct vhost_split *vs, const uint8_t *frame, uint32_t caplen,
		       uint32_t origlen, struct vhost_frame *out);

const struct vhost_split_stats *vhost_split_stats(const struct vhost_split *vs);

/* One line of counts for the log and the statistics block's comment. */
void vhost_split_summary(const struct vhost_split_stats *st, char *buf, size_t len);

#endif /* VSOCKDUMP_VHOST_SPLIT_H */
