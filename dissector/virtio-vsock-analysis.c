/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vsock-analysis.c - what a connection's packets mean together:
 * relative byte offsets of STREAM data, the credit each sender had
 * (virtio-vsock flow control: credit = peer buf_alloc - (bytes sent -
 * peer fwd_cnt)), credit requests and answers, stalls, lost segments, and
 * the connection state from REQUEST to RST.
 */
#include "virtio-vsock-analysis.h"
#include "vsock-frame-log.h"

#include <epan/expert.h>

/* One direction of a connection, seen from its sender (first pass only). */
typedef struct vsock_flow {
	guint32 tx_bytes;		/* RW bytes sent: offset of the next byte */
	guint32 tx_base;		/* handshake not captured: tx_bytes + tx_base estimates the
					 * kernel's tx_cnt, which the peer's fwd_cnt counts against */
	guint32 buf_alloc;		/* latest receive buffer size it announced */
	guint32 fwd_cnt;		/* latest consumed-byte count it announced */
	guint32 shrunk_end;		/* shrunk: end of its widest window before (fwd_cnt + buf_alloc) */
	gboolean shrunk;		/* its buffer shrank and its window has not caught up yet */
	guint32 gap_bytes;		/* bytes the peer acknowledged that we never saw */
	guint32 stall_frame;		/* RW that used up its credit (0: not stalled) */
	nstime_t stall_time;
	vsock_pkt_extra_t *credit_request;	/* its unanswered CREDIT_REQUEST's details (NULL: none) */
	nstime_t credit_request_time;
	vsock_msg_t *msg;		/* SEQPACKET message it is sending */
	gboolean announced;		/* buf_alloc/fwd_cnt known */
	guint8 shutdown;		/* SHUTDOWN flags it sent */
} vsock_flow_t;

/*
 * What the first pass needs while a connection is open. It is freed when
 * the connection ends, so a capture of many short connections keeps only
 * their struct vsock_conn and records.
 */
typedef struct vsock_live {
	struct vsock_live *next_free;	/* in the pool's free list */
	vsock_flow_t flow[2];
	guint32 request_frame;
	nstime_t request_time;
	gboolean handshake_seen;	/* the REQUEST is in the capture: offsets are absolute */
	gboolean data_seen;		/* RW went by: an RST after it is no refusal */
} vsock_live_t;

/* What every pass needs. */
struct vsock_conn {
	vsock_live_t *live;		/* NULL once the connection is over */
	wmem_tree_t *pdus[2];		/* open stream PDUs per direction (reassembly) */
	guint32 last_frame;		/* analysed last on the first pass */
	guint8 state;			/* vsock_state_t */
	guint8 recorded_state;		/* state of the last kept record */
};

/*
 * The records of all connections, in one log in frame order: the first
 * pass appends to its tail, which stays in cache whatever connection a
 * frame belongs to, where per-connection arrays cost a cache miss per
 * frame, a copy each time one grew and the slack of the doubling.
 */
static vsock_frame_log_t records;
#define RECORD_CHUNK_BITS 14

/* a record keeps the state in 4 bits, the findings in 28 */
G_STATIC_ASSERT(VSOCK_STATE_REFUSED < 1u << 4);
G_STATIC_ASSERT(VSOCK_FOUND_RESET_HALF_CLOSED < 1u << 28);

/* The details of the few packets with findings that have some, in frame order. */
static vsock_frame_log_t extras;
#define EXTRA_CHUNK_BITS 12

#define LIVE_CHUNK_SIZE 256
static vsock_live_t *live_free;		/* free first-pass states */

static int proto_virtio_vsock = -1;

static int hf_seq = -1;
static int hf_nxtseq = -1;
static int hf_analysis = -1;
static int hf_state = -1;
static int hf_credit = -1;
static int hf_in_flight = -1;
static int hf_request_frame = -1;
static int hf_handshake_time = -1;
static int hf_credit_request_frame = -1;
static int hf_credit_update_frame = -1;
static int hf_credit_update_delay = -1;
static int hf_stall_frame = -1;
static int hf_stall_time = -1;
static int hf_gap_bytes = -1;
static int hf_previous_buf_alloc = -1;
static int hf_cut_message_frame = -1;
static int hf_cut_message_bytes = -1;

static gint ett_analysis = -1;

static expert_field ei_zero_credit = EI_INIT;
static expert_field ei_credit_exceeded = EI_INIT;
static expert_field ei_credit_shrunk = EI_INIT;
static expert_field ei_credit_request = EI_INIT;
static expert_field ei_credit_answer = EI_INIT;
static expert_field ei_window_reopened = EI_INIT;
static expert_field ei_buf_changed = EI_INIT;
static expert_field ei_gap = EI_INIT;
static expert_field ei_acked_unseen = EI_INIT;
static expert_field ei_handshake = EI_INIT;
static expert_field ei_refused = EI_INIT;
static expert_field ei_reset = EI_INIT;
static expert_field ei_reset_half_closed = EI_INIT;
static expert_field ei_orderly_close = EI_INIT;
static expert_field ei_shutdown_send = EI_INIT;
static expert_field ei_shutdown_rcv = EI_INIT;
static expert_field ei_shutdown_both = EI_INIT;
static expert_field ei_data_after_shutdown = EI_INIT;
static expert_field ei_rw_before_handshake = EI_INIT;
static expert_field ei_msg_cut = EI_INIT;
static expert_field ei_data_after_end = EI_INIT;
static expert_field ei_empty_shutdown = EI_INIT;


static const value_string state_names[] = {
	{ VSOCK_STATE_UNKNOWN, "unknown" },
	{ VSOCK_STATE_REQUESTED, "requested" },
	{ VSOCK_STATE_ESTABLISHED, "established" },
	{ VSOCK_STATE_HALF_CLOSED, "half-closed" },
	{ VSOCK_STATE_CLOSING, "closing" },
	{ VSOCK_STATE_CLOSED, "closed" },
	{ VSOCK_STATE_RESET, "reset" },
	{ VSOCK_STATE_REFUSED, "refused" },
	{ 0, NULL }
};

const char *vsock_state_name(vsock_state_t state)
{
	return val_to_str_const(state, state_names, "unknown");
}

/* Allocated zeroed with the connection (vsockmon_streams_reserve() at registration). */
struct vsock_conn *vsock_conn_of(vsockmon_packet_t *pkt)
{
	return (struct vsock_conn *)pkt->vconv->transport_state;
}

wmem_tree_t *vsock_conn_pdus(struct vsock_conn *conn, int flow, gboolean create)
{
	if (!conn->pdus[flow] && create)
		conn->pdus[flow] = wmem_tree_new(wmem_file_scope());
	return conn->pdus[flow];
}

/*
 * A finding's details, added the first time the packet being analysed has
 * one: the first pass goes in frame order, so the log stays sorted.
 */
static vsock_pkt_extra_t *extra_of(const vsock_pkt_analysis_t *pa)
{
	vsock_pkt_extra_t *extra = (vsock_pkt_extra_t *)vsock_frame_log_last(&extras, pa->frame);

	return extra ? extra : (vsock_pkt_extra_t *)vsock_frame_log_append(&extras, pa->frame);
}

const vsock_pkt_extra_t *vsock_pkt_extra(const vsock_pkt_analysis_t *pa)
{
	if (!pa || !(pa->found & VSOCK_FOUND_HAS_EXTRA))
		return NULL;
	return (const vsock_pkt_extra_t *)vsock_frame_log_find(&extras, pa->frame);
}

/* A new file: new logs (the old ones went with the file scope). */
static void analysis_init(void)
{
	vsock_frame_log_reset(&records, sizeof(vsock_pkt_analysis_t), RECORD_CHUNK_BITS);
	vsock_frame_log_reset(&extras, sizeof(vsock_pkt_extra_t), EXTRA_CHUNK_BITS);
	live_free = NULL;
}

static gint64 delta_ns(const nstime_t *later, const nstime_t *earlier)
{
	nstime_t delta;

	nstime_delta(&delta, later, earlier);
	return vsockmon_nstime_ns(&delta);
}

/* Signed distance on the wrapping 32-bit byte counters. */
static gint32 counter_diff(guint32 a, guint32 b)
{
	return (gint32)(a - b);
}

/* ---- connection state ---- */

/* A direction is closed when its sender shut SEND or its receiver shut RCV. */
static gboolean direction_closed(const vsock_flow_t *sender, const vsock_flow_t *receiver)
{
	return (sender->shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) || (receiver->shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV);
}

/* An RST can cut a message in each direction: the extra has room for both. */
static void cut_open_message(vsock_flow_t *flow, vsock_pkt_analysis_t *pa)
{
	vsock_pkt_extra_t *extra;

	if (!flow->msg)
		return;
	pa->found |= VSOCK_FOUND_MSG_CUT;
	extra = extra_of(pa);
	extra->msg[extra->msg[0] ? 1 : 0] = flow->msg;
	flow->msg = NULL;
}

static void on_request(struct vsock_conn *conn, packet_info *pinfo)
{
	if (conn->state != VSOCK_STATE_UNKNOWN)
		return;
	conn->state = VSOCK_STATE_REQUESTED;
	conn->live->request_frame = pinfo->num;
	conn->live->request_time = pinfo->abs_ts;
	conn->live->handshake_seen = TRUE;
}

static void on_response(struct vsock_conn *conn, packet_info *pinfo, vsock_pkt_analysis_t *pa)
{
	vsock_pkt_extra_t *extra;

	if (conn->state != VSOCK_STATE_REQUESTED)
		return;
	conn->state = VSOCK_STATE_ESTABLISHED;
	pa->found |= VSOCK_FOUND_HANDSHAKE;
	extra = extra_of(pa);
	extra->request_frame = conn->live->request_frame;
	extra->delay_ns = delta_ns(&pinfo->abs_ts, &conn->live->request_time);
}

/*
 * The sender will send no more (its SHUTDOWN with SEND, or its RST): like
 * TCP's FIN, that ends a PDU its upper layer reads "until the end" (HTTP
 * without a length). Later passes need the offset where the stream ended.
 */
static void note_stream_end(const vsock_flow_t *me, const vsockmon_packet_t *pkt, vsock_pkt_analysis_t *pa)
{
	if (pkt->virtio_type != VIRTIO_VSOCK_TYPE_STREAM)
		return;
	pa->found |= VSOCK_FOUND_STREAM_END;
	pa->seq = me->tx_bytes;
}

/* Whether the connection already ended; the kernel may send a second RST. */
static gboolean connection_over(vsock_state_t state)
{
	return state == VSOCK_STATE_CLOSED || state == VSOCK_STATE_RESET || state == VSOCK_STATE_REFUSED;
}

/*
 * After the RST the socket is gone for the kernel: an application's late
 * shutdown() still puts a SHUTDOWN on the wire (its close() another RST),
 * and it changes nothing. Neither does a SHUTDOWN that names no direction.
 */
static void on_shutdown(struct vsock_conn *conn, vsock_flow_t *me, vsock_flow_t *peer,
			const vsockmon_packet_t *pkt, vsock_pkt_analysis_t *pa)
{
	if (connection_over((vsock_state_t)conn->state))
		return;
	if (!(pkt->virtio_flags & VIRTIO_VSOCK_SHUTDOWN_MASK)) {
		pa->found |= VSOCK_FOUND_EMPTY_SHUTDOWN;
		return;
	}
	me->shutdown |= (guint8)(pkt->virtio_flags & VIRTIO_VSOCK_SHUTDOWN_MASK);
	pa->found |= VSOCK_FOUND_HALF_CLOSE;
	if (pkt->virtio_flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
		note_stream_end(me, pkt, pa);
	if (me->shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND)
		cut_open_message(me, pa);
	conn->state = (direction_closed(me, peer) && direction_closed(peer, me)) ?
		VSOCK_STATE_CLOSING : VSOCK_STATE_HALF_CLOSED;
}

static void on_rst(struct vsock_conn *conn, vsock_flow_t *me, vsock_flow_t *peer,
		   const vsockmon_packet_t *pkt, vsock_pkt_analysis_t *pa)
{
	if (connection_over(conn->state))
		return;
	/* data after the REQUEST means a RESPONSE the capture missed: a reset */
	if (conn->state == VSOCK_STATE_REQUESTED && !conn->live->data_seen) {
		conn->state = VSOCK_STATE_REFUSED;
		pa->found |= VSOCK_FOUND_REFUSED;
		extra_of(pa)->request_frame = conn->live->request_frame;
		return;
	}
	note_stream_end(me, pkt, pa);
	/*
	 * Linux shuts both directions before its RST: virtio_transport_close()
	 * sends SHUTDOWN with RCV and SEND unless the peer shut both already,
	 * and the RST comes from the side whose peer shut both (its close(), or
	 * virtio_transport_recv_connected() at that SHUTDOWN) or from the closer
	 * after VSOCK_CLOSE_TIMEOUT. An RST after a half-close aborts the
	 * direction still open: a reset, but not one "without a shutdown".
	 */
	if (conn->state == VSOCK_STATE_CLOSING) {
		conn->state = VSOCK_STATE_CLOSED;
		pa->found |= VSOCK_FOUND_ORDERLY_CLOSE;
	} else if (conn->state == VSOCK_STATE_HALF_CLOSED) {
		conn->state = VSOCK_STATE_RESET;
		pa->found |= VSOCK_FOUND_RESET_HALF_CLOSED;
	} else {
		conn->state = VSOCK_STATE_RESET;
		pa->found |= VSOCK_FOUND_RESET;
	}
	cut_open_message(me, pa);
	cut_open_message(peer, pa);
}

static void check_rw_allowed(const struct vsock_conn *conn, const vsock_flow_t *me, vsock_pkt_analysis_t *pa)
{
	if (connection_over((vsock_state_t)conn->state)) {
		pa->found |= VSOCK_FOUND_DATA_AFTER_END;
		return;
	}
	/* the first data only: a capture that lost the RESPONSE (a full ring)
	 * would otherwise mark every packet of the connection as an error */
	if (conn->state == VSOCK_STATE_REQUESTED && !conn->live->data_seen)
		pa->found |= VSOCK_FOUND_RW_BEFORE_HANDSHAKE;
	/*
	 * Only the sender's own SHUTDOWN (SEND) orders its data: both leave
	 * through the same queue. The receiver's SHUTDOWN (RCV) crosses data
	 * already queued (the capture shows it first), and the receiving kernel
	 * still queues that data (virtio_transport_recv_connected() takes RW
	 * whatever its socket's shutdown): no protocol error.
	 */
	if (me->shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND)
		pa->found |= VSOCK_FOUND_DATA_AFTER_SHUTDOWN;
}

static void analyze_state(struct vsock_conn *conn, vsock_flow_t *me, vsock_flow_t *peer, packet_info *pinfo,
			  const vsockmon_packet_t *pkt, vsock_pkt_analysis_t *pa)
{
	switch (pkt->virtio_op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		on_request(conn, pinfo);
		break;
	case VIRTIO_VSOCK_OP_RESPONSE:
		on_response(conn, pinfo, pa);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		on_shutdown(conn, me, peer, pkt, pa);
		break;
	case VIRTIO_VSOCK_OP_RST:
		on_rst(conn, me, peer, pkt, pa);
		break;
	case VIRTIO_VSOCK_OP_RW:
		check_rw_allowed(conn, me, pa);
		conn->live->data_seen = TRUE;
		break;
	default:
		break;
	}
	if (conn->state == VSOCK_STATE_UNKNOWN && pkt->virtio_op != VIRTIO_VSOCK_OP_REQUEST)
		conn->state = VSOCK_STATE_ESTABLISHED;	/* capture started mid-connection */
}

/* ---- data: offsets, credit, SEQPACKET messages ---- */

/* SEQPACKET data counts in fwd_cnt too: a gap is the next data's, whatever the type */
static void note_gap(vsock_flow_t *me, vsock_pkt_analysis_t *pa)
{
	if (me->gap_bytes) {
		pa->found |= VSOCK_FOUND_GAP;
		extra_of(pa)->gap_bytes = me->gap_bytes;
		me->gap_bytes = 0;
	}
}

static void note_stream_offsets(vsock_flow_t *me, vsock_pkt_analysis_t *pa)
{
	pa->found |= VSOCK_FOUND_SEQ;
	pa->seq = me->tx_bytes;
}

/*
 * Data its sender queued before the peer's shrink reached it may go up to the
 * end of the wider window it knew (note_buffer_shrink()): no violation. The
 * receiving kernel may still drop what its new buffer cannot hold
 * (virtio_transport_inc_rx_pkt() against its current buf_alloc).
 */
static gboolean within_shrunk_window(const vsock_flow_t *me, const vsock_flow_t *peer,
				     const vsockmon_packet_t *pkt)
{
	return peer->shrunk && counter_diff(peer->shrunk_end, me->tx_bytes + me->tx_base + pkt->payload_len) >= 0;
}

/*
 * The credit the sender had: what the peer's buffer holds minus what is in
 * flight, as virtio_transport_get_credit() counts it. Since "vsock/virtio:
 * cap TX credit to local buffer size" (mainline 6.19, and stable) a Linux
 * sender also caps it at its own buf_alloc; older ones do not, and judging
 * them by the smaller buffer would call their legal sends exceeded. So the
 * credit is the peer's grant: a newer sender whose own buffer is smaller
 * stops short of it, and that stall gets no zero-credit expert.
 */
static void note_credit(vsock_flow_t *me, const vsock_flow_t *peer, packet_info *pinfo,
			const vsockmon_packet_t *pkt, vsock_pkt_analysis_t *pa)
{
	guint32 in_flight;

	if (!peer->announced)
		return;
	in_flight = me->tx_bytes + me->tx_base - peer->fwd_cnt;
	pa->found |= VSOCK_FOUND_CREDIT;
	pa->credit = peer->buf_alloc > in_flight ? peer->buf_alloc - in_flight : 0;
	pa->in_flight = in_flight + pkt->payload_len;
	if (pkt->payload_len > pa->credit) {
		pa->found |= within_shrunk_window(me, peer, pkt) ? VSOCK_FOUND_CREDIT_SHRUNK :
								    VSOCK_FOUND_CREDIT_EXCEEDED;
	} else if (pkt->payload_len > 0 && pa->credit == pkt->payload_len) {
		pa->found |= VSOCK_FOUND_ZERO_CREDIT;
		me->stall_frame = pinfo->num;
		me->stall_time = pinfo->abs_ts;
	}
}

static void note_message_fragment(vsock_flow_t *me, packet_info *pinfo, const vsockmon_packet_t *pkt,
				  vsock_pkt_analysis_t *pa)
{
	pa->found |= VSOCK_FOUND_MSG;
	if (!me->msg && (pkt->virtio_flags & VIRTIO_VSOCK_SEQ_EOM)) {
		pa->seq = 0;	/* a whole message in one packet: nothing to join */
		return;
	}
	if (!me->msg) {
		me->msg = wmem_new0(wmem_file_scope(), vsock_msg_t);
		me->msg->first_frame = pinfo->num;
	}
	pa->found |= VSOCK_FOUND_MSG_PART;
	extra_of(pa)->msg[0] = me->msg;
	pa->seq = me->msg->fragments++;
	me->msg->length += pkt->payload_len;
	if (pkt->virtio_flags & VIRTIO_VSOCK_SEQ_EOM) {
		me->msg->last_frame = pinfo->num;
		me->msg = NULL;
	}
}

static void analyze_rw(vsock_flow_t *me, const vsock_flow_t *peer, packet_info *pinfo,
		       const vsockmon_packet_t *pkt, vsock_pkt_analysis_t *pa)
{
	note_gap(me, pa);
	if (pkt->virtio_type == VIRTIO_VSOCK_TYPE_SEQPACKET)
		note_message_fragment(me, pinfo, pkt, pa);
	else
		note_stream_offsets(me, pa);
	note_credit(me, peer, pinfo, pkt, pa);
	me->tx_bytes += pkt->payload_len;
}

/* ---- what the sender announces about its own receive side ---- */

/*
 * The request is answered later: give it its details now, while it is the
 * newest frame of the log (the answer fills them in).
 */
static void note_credit_request(vsock_flow_t *me, packet_info *pinfo,
				const vsockmon_packet_t *pkt, const vsock_pkt_analysis_t *pa)
{
	if (pkt->virtio_op != VIRTIO_VSOCK_OP_CREDIT_REQUEST)
		return;
	me->credit_request = extra_of(pa);
	me->credit_request_time = pinfo->abs_ts;
}

static void note_credit_answer(vsock_flow_t *peer, packet_info *pinfo,
			       const vsockmon_packet_t *pkt, vsock_pkt_analysis_t *pa)
{
	vsock_pkt_analysis_t *request;
	vsock_pkt_extra_t *extra;

	if (pkt->virtio_op != VIRTIO_VSOCK_OP_CREDIT_UPDATE || !peer->credit_request)
		return;
	pa->found |= VSOCK_FOUND_CREDIT_ANSWER;
	extra = extra_of(pa);
	extra->credit_frame = peer->credit_request->frame;
	extra->delay_ns = delta_ns(&pinfo->abs_ts, &peer->credit_request_time);
	/* the request learns its answer too: a second pass (or the GUI) shows it */
	request = (vsock_pkt_analysis_t *)vsock_frame_log_find_recent(&records, peer->credit_request->frame);
	request->found |= VSOCK_FOUND_CREDIT_ANSWERED;
	peer->credit_request->credit_frame = pinfo->num;
	peer->credit_request = NULL;
}

/* Did this announcement give a stalled peer credit again? */
static void note_window_reopened(const vsock_flow_t *me, vsock_flow_t *peer, packet_info *pinfo,
				 const vsockmon_packet_t *pkt, vsock_pkt_analysis_t *pa)
{
	guint32 in_flight = peer->tx_bytes + peer->tx_base - pkt->fwd_cnt;
	vsock_pkt_extra_t *extra;

	if (!peer->stall_frame || pkt->buf_alloc <= in_flight)
		return;
	/*
	 * No window reopens for a sender that may send no more: its own
	 * SHUTDOWN (SEND), the receiver's SHUTDOWN (RCV) (the kernel then
	 * refuses its sends) or an RST ended the stall, not credit.
	 */
	if (pkt->virtio_op == VIRTIO_VSOCK_OP_RST || direction_closed(peer, me))
		return;
	pa->found |= VSOCK_FOUND_WINDOW_REOPENED;
	extra = extra_of(pa);
	extra->stall_frame = peer->stall_frame;
	extra->stall_ns = delta_ns(&pinfo->abs_ts, &peer->stall_time);
	peer->stall_frame = 0;
}

/*
 * Without the handshake, the peer's byte count started before the capture
 * did, and fwd_cnt counts from the connection's start: assume the peer's
 * bytes were all consumed when this side first tells its fwd_cnt, and move
 * that estimate up whenever fwd_cnt shows more consumed than it allows.
 */
static void align_mid_capture(const vsock_flow_t *me, vsock_flow_t *peer, const vsockmon_packet_t *pkt)
{
	if (!me->announced || counter_diff(pkt->fwd_cnt, peer->tx_bytes + peer->tx_base) > 0)
		peer->tx_base = pkt->fwd_cnt - peer->tx_bytes;
}

/* fwd_cnt counts bytes the receiver consumed: more than we saw sent means lost segments. */
static void note_unseen_bytes(const struct vsock_conn *conn, const vsock_flow_t *me, vsock_flow_t *peer,
			      const vsockmon_packet_t *pkt, vsock_pkt_analysis_t *pa)
{
	gint32 unseen = counter_diff(pkt->fwd_cnt, peer->tx_bytes);

	if (!conn->live->handshake_seen) {
		align_mid_capture(me, peer, pkt);
		return;
	}
	if (unseen <= 0)
		return;
	pa->found |= VSOCK_FOUND_ACKED_UNSEEN;
	extra_of(pa)->unseen_bytes = (guint32)unseen;
	peer->gap_bytes += (guint32)unseen;
	peer->tx_bytes = pkt->fwd_cnt;
}

/*
 * An RST sent for no socket (the kernel's virtio_transport_reset_no_sock():
 * the port has no socket any more, or it is closed or of another type) goes
 * out without virtio_transport_inc_tx_pkt(), so its buf_alloc and fwd_cnt
 * are the zeros virtio_transport_init_hdr() wrote: they announce nothing
 * (no buffer shrunk to 0, no counter back to 0).
 */
static gboolean announces_nothing(const vsockmon_packet_t *pkt)
{
	return pkt->virtio_op == VIRTIO_VSOCK_OP_RST && pkt->buf_alloc == 0 && pkt->fwd_cnt == 0;
}

/*
 * A receiver that shrinks its buffer (setsockopt: the kernel's
 * virtio_transport_notify_buffer_size() sends a CREDIT_UPDATE at once) takes
 * back credit its peer may have used already: data queued before the update
 * arrived may reach the end of the window it replaced (fwd_cnt + buf_alloc),
 * and nothing tells when the peer saw it. Keep the widest such end until the
 * announced window reaches it again (a stale end would mislead once the
 * counters wrap).
 */
static void note_buffer_shrink(vsock_flow_t *me, const vsockmon_packet_t *pkt)
{
	guint32 old_end = me->fwd_cnt + me->buf_alloc;
	guint32 new_end = pkt->fwd_cnt + pkt->buf_alloc;

	if (me->announced && pkt->buf_alloc < me->buf_alloc && counter_diff(old_end, new_end) > 0 &&
	    (!me->shrunk || counter_diff(old_end, me->shrunk_end) > 0)) {
		me->shrunk_end = old_end;
		me->shrunk = TRUE;
	}
	if (me->shrunk && counter_diff(new_end, me->shrunk_end) >= 0)
		me->shrunk = FALSE;
}

static void analyze_announcement(struct vsock_conn *conn, vsock_flow_t *me, vsock_flow_t *peer,
				 packet_info *pinfo, const vsockmon_packet_t *pkt, vsock_pkt_analysis_t *pa)
{
	if (announces_nothing(pkt))
		return;
	if (me->announced && pkt->buf_alloc != me->buf_alloc) {
		pa->found |= VSOCK_FOUND_BUF_CHANGED;
		extra_of(pa)->old_buf_alloc = me->buf_alloc;
	}
	note_credit_request(me, pinfo, pkt, pa);
	note_credit_answer(peer, pinfo, pkt, pa);
	note_unseen_bytes(conn, me, peer, pkt, pa);
	note_window_reopened(me, peer, pinfo, pkt, pa);
	note_buffer_shrink(me, pkt);
	me->buf_alloc = pkt->buf_alloc;
	me->fwd_cnt = pkt->fwd_cnt;
	me->announced = TRUE;
}

/* Is there anything about this packet worth keeping for later passes? */
static gboolean worth_keeping(const vsockmon_packet_t *pkt, const vsock_pkt_analysis_t *pa)
{
	return pkt->virtio_op == VIRTIO_VSOCK_OP_RW || pkt->virtio_op == VIRTIO_VSOCK_OP_CREDIT_REQUEST ||
	       pa->found != 0;
}

/*
 * First-pass state comes from a pool of its own, reused through a free
 * list: the open connections' states stay packed in a few pages (with
 * hundreds of connections interleaved, each frame touches one of them)
 * instead of scattered among everything else the file allocates.
 */
static vsock_live_t *live_of(struct vsock_conn *conn)
{
	if (conn->live)
		return conn->live;
	if (!live_free) {
		vsock_live_t *chunk = wmem_alloc_array(wmem_file_scope(), vsock_live_t, LIVE_CHUNK_SIZE);
		guint i;

		for (i = 0; i < LIVE_CHUNK_SIZE; i++)
			chunk[i].next_free = i + 1 < LIVE_CHUNK_SIZE ? &chunk[i + 1] : NULL;
		live_free = chunk;
	}
	conn->live = live_free;
	live_free = live_free->next_free;
	memset(conn->live, 0, sizeof(*conn->live));
	return conn->live;
}

/*
 * The connection is over: free what only the first pass needed. A packet
 * after the end (a second RST, say) starts from fresh first-pass state.
 */
static void release_live(struct vsock_conn *conn)
{
	conn->live->next_free = live_free;
	live_free = conn->live;
	conn->live = NULL;
}

static vsock_pkt_analysis_t *analyze_first_pass(packet_info *pinfo, vsockmon_packet_t *pkt, struct vsock_conn *conn)
{
	vsock_live_t *live = live_of(conn);
	vsock_flow_t *me = &live->flow[pkt->flow];
	vsock_flow_t *peer = &live->flow[!pkt->flow];
	vsock_pkt_analysis_t pa, *kept = NULL;

	memset(&pa, 0, sizeof(pa));
	pa.frame = pinfo->num;
	analyze_state(conn, me, peer, pinfo, pkt, &pa);
	/* data the receiver drops has no place in the byte stream */
	if (pkt->virtio_op == VIRTIO_VSOCK_OP_RW && !(pa.found & VSOCK_FOUND_DATA_AFTER_END))
		analyze_rw(me, peer, pinfo, pkt, &pa);
	analyze_announcement(conn, me, peer, pinfo, pkt, &pa);
	pa.state = conn->state;
	if (conn->state != conn->recorded_state)
		pa.found |= VSOCK_FOUND_NEW_STATE;
	pkt->conn_state = vsock_state_name((vsock_state_t)conn->state);
	if (worth_keeping(pkt, &pa)) {
		conn->recorded_state = conn->state;
		kept = (vsock_pkt_analysis_t *)vsock_frame_log_append(&records, pa.frame);
		*kept = pa;
	}
	if (connection_over((vsock_state_t)conn->state))
		release_live(conn);
	return kept;
}

vsock_pkt_analysis_t *virtio_vsock_analyze(packet_info *pinfo, vsockmon_packet_t *pkt)
{
	struct vsock_conn *conn = vsock_conn_of(pkt);
	vsock_pkt_analysis_t *pa;

	if (PINFO_FD_VISITED(pinfo)) {
		pa = (vsock_pkt_analysis_t *)vsock_frame_log_find(&records, pinfo->num);
		if (pa)
			pkt->conn_state = vsock_state_name((vsock_state_t)pa->state);
		return pa;
	}
	/* a frame dissected twice on the first pass was analysed already */
	if (conn->last_frame == pinfo->num) {
		pkt->conn_state = vsock_state_name((vsock_state_t)conn->state);
		return (vsock_pkt_analysis_t *)vsock_frame_log_last(&records, pinfo->num);
	}
	conn->last_frame = pinfo->num;
	return analyze_first_pass(pinfo, pkt, conn);
}

/* ---- display ---- */

/* Generated items are for the tree only; the experts beside them are also for taps. */
static proto_item *add_generated_uint(proto_tree *tree, int hf, tvbuff_t *tvb, guint32 value)
{
	proto_item *ti;

	if (!tree)
		return NULL;
	ti = proto_tree_add_uint(tree, hf, tvb, 0, 0, value);
	proto_item_set_generated(ti);
	return ti;
}

/*
 * Expert summaries are constant, like TCP's, so Expert Info groups them by
 * kind (one row for all zero-credit stalls, not one per frame); the frame
 * numbers, sizes and times are generated fields beside them.
 */
static void show_credit(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, proto_item *at,
			const vsock_pkt_analysis_t *pa)
{
	if (!(pa->found & VSOCK_FOUND_CREDIT))
		return;
	add_generated_uint(tree, hf_credit, tvb, pa->credit);
	add_generated_uint(tree, hf_in_flight, tvb, pa->in_flight);
	if (pa->found & VSOCK_FOUND_CREDIT_EXCEEDED)
		expert_add_info(pinfo, at, &ei_credit_exceeded);
	if (pa->found & VSOCK_FOUND_CREDIT_SHRUNK)
		expert_add_info(pinfo, at, &ei_credit_shrunk);
	if (pa->found & VSOCK_FOUND_ZERO_CREDIT)
		expert_add_info(pinfo, at, &ei_zero_credit);
}

static void show_credit_messages(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, proto_item *at,
				 const vsock_pkt_analysis_t *pa)
{
	const vsock_pkt_extra_t *extra = vsock_pkt_extra(pa);

	if (pa->found & VSOCK_FOUND_CREDIT_ANSWERED) {
		add_generated_uint(tree, hf_credit_update_frame, tvb, extra->credit_frame);
		expert_add_info(pinfo, at, &ei_credit_request);
	}
	if (pa->found & VSOCK_FOUND_CREDIT_ANSWER) {
		add_generated_uint(tree, hf_credit_request_frame, tvb, extra->credit_frame);
		vsockmon_add_generated_ns(tree, hf_credit_update_delay, tvb, extra->delay_ns);
		expert_add_info(pinfo, at, &ei_credit_answer);
	}
	if (pa->found & VSOCK_FOUND_WINDOW_REOPENED) {
		add_generated_uint(tree, hf_stall_frame, tvb, extra->stall_frame);
		vsockmon_add_generated_ns(tree, hf_stall_time, tvb, extra->stall_ns);
		expert_add_info(pinfo, at, &ei_window_reopened);
	}
	if (pa->found & VSOCK_FOUND_BUF_CHANGED) {
		add_generated_uint(tree, hf_previous_buf_alloc, tvb, extra->old_buf_alloc);
		expert_add_info(pinfo, at, &ei_buf_changed);
	}
	if (pa->found & VSOCK_FOUND_ACKED_UNSEEN) {
		add_generated_uint(tree, hf_gap_bytes, tvb, extra->unseen_bytes);
		expert_add_info(pinfo, at, &ei_acked_unseen);
	}
}

static void show_shutdown(packet_info *pinfo, proto_item *at, const vsockmon_packet_t *pkt)
{
	switch (pkt->virtio_flags & VIRTIO_VSOCK_SHUTDOWN_MASK) {
	case VIRTIO_VSOCK_SHUTDOWN_SEND:
		expert_add_info(pinfo, at, &ei_shutdown_send);
		break;
	case VIRTIO_VSOCK_SHUTDOWN_RCV:
		expert_add_info(pinfo, at, &ei_shutdown_rcv);
		break;
	case VIRTIO_VSOCK_SHUTDOWN_MASK:
		expert_add_info(pinfo, at, &ei_shutdown_both);
		break;
	default:
		break;
	}
}

static void show_cut_message(tvbuff_t *tvb, proto_tree *tree, const vsock_msg_t *msg)
{
	if (!msg)
		return;
	add_generated_uint(tree, hf_cut_message_frame, tvb, msg->first_frame);
	add_generated_uint(tree, hf_cut_message_bytes, tvb, msg->length);
}

static void show_connection(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, proto_item *at,
			    const vsockmon_packet_t *pkt, const vsock_pkt_analysis_t *pa)
{
	const vsock_pkt_extra_t *extra = vsock_pkt_extra(pa);

	if (pa->found & VSOCK_FOUND_HANDSHAKE) {
		add_generated_uint(tree, hf_request_frame, tvb, extra->request_frame);
		vsockmon_add_generated_ns(tree, hf_handshake_time, tvb, extra->delay_ns);
		expert_add_info(pinfo, at, &ei_handshake);
	}
	if (pa->found & VSOCK_FOUND_REFUSED) {
		add_generated_uint(tree, hf_request_frame, tvb, extra->request_frame);
		expert_add_info(pinfo, at, &ei_refused);
	}
	if (pa->found & VSOCK_FOUND_RESET)
		expert_add_info(pinfo, at, &ei_reset);
	if (pa->found & VSOCK_FOUND_RESET_HALF_CLOSED)
		expert_add_info(pinfo, at, &ei_reset_half_closed);
	if (pa->found & VSOCK_FOUND_ORDERLY_CLOSE)
		expert_add_info(pinfo, at, &ei_orderly_close);
	if (pa->found & VSOCK_FOUND_HALF_CLOSE)
		show_shutdown(pinfo, at, pkt);
	if (pa->found & VSOCK_FOUND_DATA_AFTER_SHUTDOWN)
		expert_add_info(pinfo, at, &ei_data_after_shutdown);
	if (pa->found & VSOCK_FOUND_RW_BEFORE_HANDSHAKE)
		expert_add_info(pinfo, at, &ei_rw_before_handshake);
	if (pa->found & VSOCK_FOUND_DATA_AFTER_END)
		expert_add_info(pinfo, at, &ei_data_after_end);
	if (pa->found & VSOCK_FOUND_EMPTY_SHUTDOWN)
		expert_add_info(pinfo, at, &ei_empty_shutdown);
	if (pa->found & VSOCK_FOUND_MSG_CUT) {
		show_cut_message(tvb, tree, extra->msg[0]);
		show_cut_message(tvb, tree, extra->msg[1]);
		expert_add_info(pinfo, at, &ei_msg_cut);
	}
	if (pa->found & VSOCK_FOUND_GAP) {
		add_generated_uint(tree, hf_gap_bytes, tvb, extra->gap_bytes);
		expert_add_info(pinfo, at, &ei_gap);
	}
}

void virtio_vsock_analysis_show(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
				const vsockmon_packet_t *pkt, const vsock_pkt_analysis_t *pa)
{
	proto_item *ti = NULL;
	proto_tree *analysis_tree = NULL;

	if (!pa)
		return;
	if (tree) {
		if (pa->found & VSOCK_FOUND_SEQ) {
			add_generated_uint(tree, hf_seq, tvb, pa->seq);
			add_generated_uint(tree, hf_nxtseq, tvb, pa->seq + pkt->payload_len);
		}
		ti = proto_tree_add_item(tree, hf_analysis, tvb, 0, 0, ENC_NA);
		proto_item_set_generated(ti);
		analysis_tree = proto_item_add_subtree(ti, ett_analysis);
	}
	if (pa->found & VSOCK_FOUND_NEW_STATE)	/* like TCP's flags, only where it happens */
		add_generated_uint(analysis_tree, hf_state, tvb, pa->state);
	show_credit(tvb, pinfo, analysis_tree, ti, pa);
	show_credit_messages(tvb, pinfo, analysis_tree, ti, pa);
	show_connection(tvb, pinfo, analysis_tree, ti, pkt, pa);
}

void virtio_vsock_analysis_register(int proto)
{
	static hf_register_info hf[] = {
		{ &hf_seq,
		  { "Sequence number (relative)", "virtio_vsock.seq", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Offset of the first payload byte in this direction's byte stream", HFILL } },
		{ &hf_nxtseq,
		  { "Next sequence number (relative)", "virtio_vsock.nxtseq", FT_UINT32, BASE_DEC, NULL, 0x0,
		    NULL, HFILL } },
		{ &hf_analysis,
		  { "Connection analysis", "virtio_vsock.analysis", FT_NONE, BASE_NONE, NULL, 0x0, NULL, HFILL } },
		{ &hf_state,
		  { "Connection state", "virtio_vsock.analysis.state", FT_UINT8, BASE_DEC, VALS(state_names), 0x0,
		    "New connection state, on the packet that changed it", HFILL } },
		{ &hf_credit,
		  { "Credit before this packet", "virtio_vsock.analysis.credit", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Bytes the sender may send: peer buf_alloc - (bytes sent - peer fwd_cnt)", HFILL } },
		{ &hf_in_flight,
		  { "Bytes in flight", "virtio_vsock.analysis.bytes_in_flight", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Bytes sent, this packet included, that the peer has not consumed", HFILL } },
		{ &hf_request_frame,
		  { "Request in frame", "virtio_vsock.analysis.request_frame", FT_FRAMENUM, BASE_NONE,
		    FRAMENUM_TYPE(FT_FRAMENUM_REQUEST), 0x0, NULL, HFILL } },
		{ &hf_handshake_time,
		  { "Handshake time", "virtio_vsock.analysis.handshake_time", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0,
		    "Time from REQUEST to RESPONSE", HFILL } },
		{ &hf_credit_request_frame,
		  { "Credit request in frame", "virtio_vsock.analysis.credit_request_frame", FT_FRAMENUM, BASE_NONE,
		    FRAMENUM_TYPE(FT_FRAMENUM_REQUEST), 0x0, NULL, HFILL } },
		{ &hf_credit_update_frame,
		  { "Answered by credit update in frame", "virtio_vsock.analysis.credit_update_frame", FT_FRAMENUM,
		    BASE_NONE, FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE), 0x0, NULL, HFILL } },
		{ &hf_credit_update_delay,
		  { "Credit update delay", "virtio_vsock.analysis.credit_update_delay", FT_RELATIVE_TIME, BASE_NONE,
		    NULL, 0x0, "Time from CREDIT_REQUEST to the CREDIT_UPDATE answering it", HFILL } },
		{ &hf_stall_frame,
		  { "Window closed in frame", "virtio_vsock.analysis.stall_frame", FT_FRAMENUM, BASE_NONE, NULL, 0x0,
		    NULL, HFILL } },
		{ &hf_stall_time,
		  { "Stall duration", "virtio_vsock.analysis.stall_time", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0,
		    "Time the sender had no credit", HFILL } },
		{ &hf_gap_bytes,
		  { "Bytes not captured", "virtio_vsock.analysis.gap_bytes", FT_UINT32, BASE_DEC, NULL, 0x0,
		    NULL, HFILL } },
		{ &hf_previous_buf_alloc,
		  { "Previous buffer allocation", "virtio_vsock.analysis.previous_buf_alloc", FT_UINT32, BASE_DEC,
		    NULL, 0x0, "The sender's buf_alloc before this packet changed it", HFILL } },
		{ &hf_cut_message_frame,
		  { "Cut message started in frame", "virtio_vsock.analysis.cut_message_frame", FT_FRAMENUM,
		    BASE_NONE, NULL, 0x0, NULL, HFILL } },
		{ &hf_cut_message_bytes,
		  { "Cut message bytes", "virtio_vsock.analysis.cut_message_bytes", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Bytes of the unfinished SEQPACKET message", HFILL } },
	};
	static gint *ett[] = {
		&ett_analysis,
	};
	static ei_register_info ei[] = {
		{ &ei_zero_credit,
		  { "virtio_vsock.analysis.zero_credit", PI_SEQUENCE, PI_WARN,
		    "Zero credit: the peer's buffer is full, the sender must stall", EXPFILL } },
		{ &ei_credit_exceeded,
		  { "virtio_vsock.analysis.credit_exceeded", PI_PROTOCOL, PI_ERROR,
		    "Sender exceeded the credit granted", EXPFILL } },
		{ &ei_credit_shrunk,
		  { "virtio_vsock.analysis.credit_shrunk", PI_SEQUENCE, PI_NOTE,
		    "Sent beyond a shrunk receive buffer, within the credit of the larger one before", EXPFILL } },
		{ &ei_credit_request,
		  { "virtio_vsock.analysis.credit_request", PI_SEQUENCE, PI_CHAT,
		    "CREDIT_REQUEST answered by a CREDIT_UPDATE", EXPFILL } },
		{ &ei_credit_answer,
		  { "virtio_vsock.analysis.credit_update_answer", PI_SEQUENCE, PI_CHAT,
		    "CREDIT_UPDATE answers a CREDIT_REQUEST", EXPFILL } },
		{ &ei_window_reopened,
		  { "virtio_vsock.analysis.window_reopened", PI_SEQUENCE, PI_NOTE,
		    "Credit update reopens a closed window", EXPFILL } },
		{ &ei_buf_changed,
		  { "virtio_vsock.analysis.buf_alloc_changed", PI_SEQUENCE, PI_NOTE,
		    "Receive buffer size changed", EXPFILL } },
		{ &ei_gap,
		  { "virtio_vsock.analysis.lost_segment", PI_SEQUENCE, PI_WARN,
		    "Previous segment(s) not captured", EXPFILL } },
		{ &ei_acked_unseen,
		  { "virtio_vsock.analysis.ack_lost_segment", PI_SEQUENCE, PI_WARN,
		    "fwd_cnt acknowledges bytes that were not captured", EXPFILL } },
		{ &ei_handshake,
		  { "virtio_vsock.analysis.established", PI_SEQUENCE, PI_CHAT,
		    "Connection established", EXPFILL } },
		{ &ei_refused,
		  { "virtio_vsock.analysis.refused", PI_SEQUENCE, PI_WARN,
		    "Connection refused: RST answers the REQUEST", EXPFILL } },
		{ &ei_reset,
		  { "virtio_vsock.analysis.reset", PI_SEQUENCE, PI_WARN,
		    "Connection reset without a shutdown", EXPFILL } },
		{ &ei_reset_half_closed,
		  { "virtio_vsock.analysis.reset.half_closed", PI_SEQUENCE, PI_WARN,
		    "Connection reset with one direction still open (after a half-close)", EXPFILL } },
		{ &ei_orderly_close,
		  { "virtio_vsock.analysis.closed", PI_SEQUENCE, PI_CHAT,
		    "Connection closed after shutdown", EXPFILL } },
		{ &ei_shutdown_send,
		  { "virtio_vsock.analysis.shutdown", PI_SEQUENCE, PI_CHAT,
		    "Shutdown: the sender will send no more", EXPFILL } },
		{ &ei_shutdown_rcv,
		  { "virtio_vsock.analysis.shutdown.rcv", PI_SEQUENCE, PI_CHAT,
		    "Shutdown: the sender will receive no more", EXPFILL } },
		{ &ei_shutdown_both,
		  { "virtio_vsock.analysis.shutdown.both", PI_SEQUENCE, PI_CHAT,
		    "Shutdown: the sender will send no more and receive no more", EXPFILL } },
		{ &ei_data_after_shutdown,
		  { "virtio_vsock.analysis.data_after_shutdown", PI_SEQUENCE, PI_ERROR,
		    "Data in a direction that was shut down", EXPFILL } },
		{ &ei_rw_before_handshake,
		  { "virtio_vsock.analysis.rw_before_handshake", PI_SEQUENCE, PI_ERROR,
		    "Data before the connection was established", EXPFILL } },
		{ &ei_msg_cut,
		  { "virtio_vsock.analysis.message_cut", PI_SEQUENCE, PI_WARN,
		    "SEQPACKET message cut: the connection ended before its EOM", EXPFILL } },
		{ &ei_data_after_end,
		  { "virtio_vsock.analysis.data_after_end", PI_SEQUENCE, PI_WARN,
		    "Data after the connection ended (its RST): the receiver drops it", EXPFILL } },
		{ &ei_empty_shutdown,
		  { "virtio_vsock.analysis.shutdown.none", PI_PROTOCOL, PI_WARN,
		    "SHUTDOWN with neither RCV nor SEND: it shuts nothing down", EXPFILL } },
	};
	expert_module_t *expert_analysis;

	proto_virtio_vsock = proto;
	proto_register_field_array(proto, hf, array_length(hf));
	proto_register_subtree_array(ett, array_length(ett));
	vsockmon_streams_reserve(sizeof(struct vsock_conn));
	register_init_routine(analysis_init);
	expert_analysis = expert_register_protocol(proto);
	expert_register_field_array(expert_analysis, ei, array_length(ei));
}
