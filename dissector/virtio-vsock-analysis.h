/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vsock-analysis.h - connection analysis of the virtio transport:
 * byte offsets, credit flow, connection state (virtio-vsock-analysis.c)
 * and reassembly of stream PDUs and SEQPACKET messages
 * (virtio-vsock-reassembly.c).
 *
 * The first pass walks each connection in capture order and stores what
 * it found per packet (vsock_pkt_analysis_t); every pass, the GUI's and
 * tshark -2's second one included, displays from that record.
 */
#ifndef VIRTIO_VSOCK_ANALYSIS_H
#define VIRTIO_VSOCK_ANALYSIS_H

#include "vsockmon-int.h"

/* Connection states, also shown in the conversation table. */
typedef enum {
	VSOCK_STATE_UNKNOWN = 0,	/* capture started mid-connection */
	VSOCK_STATE_REQUESTED,		/* REQUEST seen, no answer yet */
	VSOCK_STATE_ESTABLISHED,
	VSOCK_STATE_HALF_CLOSED,	/* one side shut a direction down */
	VSOCK_STATE_CLOSING,		/* both directions shut down, no RST yet */
	VSOCK_STATE_CLOSED,		/* orderly: shutdown, then RST */
	VSOCK_STATE_RESET,		/* RST before both directions were shut down */
	VSOCK_STATE_REFUSED,		/* REQUEST answered by RST */
} vsock_state_t;

const char *vsock_state_name(vsock_state_t state);

/* What the first pass learned about one packet (findings are bits). */
enum {
	VSOCK_FOUND_SEQ = 1u << 0,		/* seq/nxtseq valid (STREAM RW) */
	VSOCK_FOUND_CREDIT = 1u << 1,		/* credit/in_flight valid */
	VSOCK_FOUND_ZERO_CREDIT = 1u << 2,
	VSOCK_FOUND_CREDIT_EXCEEDED = 1u << 3,
	VSOCK_FOUND_CREDIT_ANSWER = 1u << 4,	/* CREDIT_UPDATE answering related_frame */
	VSOCK_FOUND_CREDIT_ANSWERED = 1u << 5,	/* CREDIT_REQUEST answered in related_frame */
	VSOCK_FOUND_WINDOW_REOPENED = 1u << 6,
	VSOCK_FOUND_BUF_CHANGED = 1u << 7,
	VSOCK_FOUND_GAP = 1u << 8,		/* bytes before this segment were not captured */
	VSOCK_FOUND_HANDSHAKE = 1u << 9,	/* RESPONSE to related_frame */
	VSOCK_FOUND_REFUSED = 1u << 10,
	VSOCK_FOUND_RESET = 1u << 11,
	VSOCK_FOUND_ORDERLY_CLOSE = 1u << 12,
	VSOCK_FOUND_HALF_CLOSE = 1u << 13,
	VSOCK_FOUND_DATA_AFTER_SHUTDOWN = 1u << 14,
	VSOCK_FOUND_RW_BEFORE_HANDSHAKE = 1u << 15,
	VSOCK_FOUND_MSG_CUT = 1u << 16,		/* a SEQPACKET message was left unfinished */
	VSOCK_FOUND_MSG = 1u << 17,		/* SEQPACKET fragment: msg fields valid */
	VSOCK_FOUND_NEW_STATE = 1u << 18,	/* the connection state changed here */
	VSOCK_FOUND_ACKED_UNSEEN = 1u << 19,	/* fwd_cnt acknowledged bytes never captured */
	VSOCK_FOUND_MSG_PART = 1u << 20,	/* SEQPACKET fragment of a message of several packets */
	VSOCK_FOUND_DATA_AFTER_END = 1u << 21,	/* RW after the RST that ended the connection */
	VSOCK_FOUND_EMPTY_SHUTDOWN = 1u << 22,	/* SHUTDOWN with neither RCV nor SEND */
	VSOCK_FOUND_STREAM_END = 1u << 23,	/* STREAM sender's SHUTDOWN(SEND) or RST: seq = its end */
	VSOCK_FOUND_CREDIT_SHRUNK = 1u << 24,	/* beyond a shrunk buffer's credit, within the old buffer's */
	VSOCK_FOUND_RESET_HALF_CLOSED = 1u << 25,	/* RST with one direction still open */
};

/* A SEQPACKET message being (or having been) joined. */
typedef struct vsock_msg {
	guint32 first_frame;	/* reassembly id */
	guint32 last_frame;	/* frame with EOM (0 while open) */
	guint32 length;		/* bytes so far / in all */
	guint32 fragments;
} vsock_msg_t;

/*
 * The details of a finding: kept only for the few packets that have one, in
 * a log of their own in frame order (vsock-frame-log.h), so the record kept
 * for every RW packet carries neither them nor a pointer to them. Each
 * finding has its own fields: one packet can have several (a CREDIT_UPDATE
 * that answers a request and reopens a window, an RW after a gap that also
 * acknowledges bytes never captured).
 */
typedef struct vsock_pkt_extra {
	guint32 frame;
	guint32 request_frame;	/* HANDSHAKE, REFUSED: the REQUEST */
	guint32 credit_frame;	/* CREDIT_ANSWER(ED): the CREDIT_REQUEST/CREDIT_UPDATE paired with this one */
	guint32 stall_frame;	/* WINDOW_REOPENED: the RW that closed the window */
	guint32 old_buf_alloc;	/* BUF_CHANGED */
	guint32 gap_bytes;	/* GAP: bytes before this segment that were not captured */
	guint32 unseen_bytes;	/* ACKED_UNSEEN: bytes fwd_cnt acknowledged that were not captured */
	gint64 delay_ns;	/* HANDSHAKE: handshake time; CREDIT_ANSWER: answer delay */
	gint64 stall_ns;	/* WINDOW_REOPENED: stall duration */
	vsock_msg_t *msg[2];	/* MSG_PART: its message; MSG_CUT: the one or two messages cut */
} vsock_pkt_extra_t;

/* Findings whose details are in a vsock_pkt_extra_t. */
#define VSOCK_FOUND_HAS_EXTRA                                                                              \
	(VSOCK_FOUND_CREDIT_ANSWER | VSOCK_FOUND_CREDIT_ANSWERED | VSOCK_FOUND_WINDOW_REOPENED |         \
	 VSOCK_FOUND_BUF_CHANGED | VSOCK_FOUND_GAP | VSOCK_FOUND_HANDSHAKE | VSOCK_FOUND_REFUSED |       \
	 VSOCK_FOUND_MSG_CUT | VSOCK_FOUND_ACKED_UNSEEN | VSOCK_FOUND_MSG_PART)

/*
 * What the first pass learned about one packet. Kept (in one capture-wide
 * log, in frame order) only for RW packets and packets with a finding or a
 * new state: 20 bytes each, so a capture of a million frames stays small.
 */
typedef struct vsock_pkt_analysis {
	guint32 frame;
	guint32 found : 28;	/* VSOCK_FOUND_* */
	guint32 state : 4;	/* vsock_state_t after this packet */
	guint32 seq;		/* STREAM RW: offset of its first byte; SEQPACKET RW: fragment number */
	guint32 credit;		/* credit the sender had before this RW */
	guint32 in_flight;	/* bytes sent and not yet consumed by the peer, this RW included */
} vsock_pkt_analysis_t;

/* The details of this packet's findings (NULL when it has none that need them). */
const vsock_pkt_extra_t *vsock_pkt_extra(const vsock_pkt_analysis_t *pa);

/* The transport layer's Info line (packet-virtio-vsock.c). */
#define VIRTIO_VSOCK_INFO_LEN 128
void virtio_vsock_format_info(const vsockmon_packet_t *pkt, char *buf, size_t size);

/* analysis (virtio-vsock-analysis.c) */
void virtio_vsock_analysis_register(int proto);
vsock_pkt_analysis_t *virtio_vsock_analyze(packet_info *pinfo, vsockmon_packet_t *pkt);
void virtio_vsock_analysis_show(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
				const vsockmon_packet_t *pkt, const vsock_pkt_analysis_t *pa);

/* reassembly (virtio-vsock-reassembly.c) */
void virtio_vsock_reassembly_register(int proto);
void virtio_vsock_dissect_rw(tvbuff_t *payload_tvb, packet_info *pinfo, proto_tree *tree,
			     vsockmon_packet_t *pkt, const vsock_pkt_analysis_t *pa);
/* The sender's stream ended (VSOCK_FOUND_STREAM_END): a PDU waiting for it ends too. */
void virtio_vsock_end_stream(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, vsockmon_packet_t *pkt,
			     const vsock_pkt_analysis_t *pa);

/* The per-connection analysis state hangs off the monitor layer's conversation. */
struct vsock_conn;
struct vsock_conn *vsock_conn_of(vsockmon_packet_t *pkt);

/* The connection's tree of open stream PDUs for one direction (NULL: none yet). */
wmem_tree_t *vsock_conn_pdus(struct vsock_conn *conn, int flow, gboolean create);

#endif /* VIRTIO_VSOCK_ANALYSIS_H */
