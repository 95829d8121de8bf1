/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vsock-reassembly.c - upper-layer PDUs across RW packets.
 *
 * STREAM: an upper dissector that needs more bytes says so with
 * pinfo->desegment_offset/desegment_len; the PDU's bytes are collected
 * from the following RW packets of the same direction (virtio-vsock is
 * reliable and in order, so relative offsets from the analysis are exact)
 * and handed up whole in the frame that completes it.
 *
 * SEQPACKET: RW fragments are joined until the one with EOM, and the
 * message goes up whole, whatever its size.
 */
#include "virtio-vsock-analysis.h"

#include <epan/dissectors/packet-tcp.h>
#include <epan/prefs.h>
#include <epan/proto_data.h>
#include <epan/reassemble.h>

/*
 * A stream PDU spanning RW packets, keyed by its first byte's offset.
 * Offsets are 32-bit and wrap (after 4 GiB, or where fwd_cnt moved them):
 * a PDU may run across the wrap, and a later one may reuse an old key, so
 * a PDU holds a byte only between its first and last frame.
 */
typedef struct vsock_pdu {
	guint32 seq;		/* first byte */
	guint32 nxtpdu;		/* one past the last byte (a guess while one_more_segment) */
	guint32 filled;		/* first pass: one past the last byte it has so far */
	guint32 id;		/* reassembly id: the frame that started it */
	guint32 last_frame;	/* the frame that completed it (0: still open) */
	gboolean one_more_segment;	/* the upper layer asked for "one more segment" */
	gboolean until_end;	/* the upper layer reads to the end of the stream (TCP's "until FIN") */
} vsock_pdu_t;

static int proto_virtio_vsock = -1;

static vsockmon_api_bool reassemble_stream = TRUE;
static vsockmon_api_bool reassemble_messages = TRUE;

static reassembly_table stream_table;
static reassembly_table message_table;

/*
 * First pass: the PDU each direction started last (key: the direction's
 * tree of PDUs). A PDU read until the end takes every later byte, so when
 * one is open it is that one: the peer's RST ends it (see
 * virtio_vsock_end_stream()).
 */
static wmem_map_t *last_pdus;

/* Per-frame data (file scope): the peer's PDU the RST ended in this frame. */
#define PEER_PDU_KEY 0x70656572	/* "peer" */

static int hf_segments = -1;
static int hf_segment = -1;
static int hf_segment_overlap = -1;
static int hf_segment_overlap_conflict = -1;
static int hf_segment_multiple_tails = -1;
static int hf_segment_too_long = -1;
static int hf_segment_error = -1;
static int hf_segment_count = -1;
static int hf_reassembled_in = -1;
static int hf_reassembled_length = -1;
static int hf_reassembled_data = -1;

static int hf_msg_fragments = -1;
static int hf_msg_fragment = -1;
static int hf_msg_fragment_overlap = -1;
static int hf_msg_fragment_overlap_conflict = -1;
static int hf_msg_fragment_multiple_tails = -1;
static int hf_msg_fragment_too_long = -1;
static int hf_msg_fragment_error = -1;
static int hf_msg_fragment_count = -1;
static int hf_msg_reassembled_in = -1;
static int hf_msg_length = -1;
static int hf_msg_data = -1;

static gint ett_segments = -1;
static gint ett_segment = -1;
static gint ett_msg_fragments = -1;
static gint ett_msg_fragment = -1;

static const fragment_items segment_items = {
	&ett_segment, &ett_segments,
	&hf_segments, &hf_segment, &hf_segment_overlap, &hf_segment_overlap_conflict,
	&hf_segment_multiple_tails, &hf_segment_too_long, &hf_segment_error, &hf_segment_count,
	&hf_reassembled_in, &hf_reassembled_length, &hf_reassembled_data,
	"Segments"
};

static const fragment_items message_items = {
	&ett_msg_fragment, &ett_msg_fragments,
	&hf_msg_fragments, &hf_msg_fragment, &hf_msg_fragment_overlap, &hf_msg_fragment_overlap_conflict,
	&hf_msg_fragment_multiple_tails, &hf_msg_fragment_too_long, &hf_msg_fragment_error,
	&hf_msg_fragment_count, &hf_msg_reassembled_in, &hf_msg_length, &hf_msg_data,
	"Message fragments"
};

/* Hand a PDU up with permission to ask for more bytes. */
static void dispatch_desegmentable(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, vsockmon_packet_t *pkt)
{
	pinfo->can_desegment = 2;
	pinfo->desegment_offset = 0;
	pinfo->desegment_len = 0;
	vsockmon_dispatch_payload(tvb, pinfo, tree, pkt);
}

/*
 * A segment whose bytes all went into a PDU completed elsewhere: whatever
 * the upper layer wrote into the columns while it was asking for more is
 * not this frame's story (TCP does the same).
 */
static void mark_as_segment(packet_info *pinfo, const vsockmon_packet_t *pkt)
{
	char info[VIRTIO_VSOCK_INFO_LEN];

	virtio_vsock_format_info(pkt, info, sizeof(info));
	col_set_str(pinfo->cinfo, COL_PROTOCOL, "VSOCK");
	col_add_fstr(pinfo->cinfo, COL_INFO, "%s [segment of a reassembled PDU]", info);
}

/* The upper layer asked for more (first pass): where does the PDU end? */
static void set_pdu_end(vsock_pdu_t *pdu, guint32 data_end, guint32 desegment_len)
{
	pdu->one_more_segment = desegment_len == DESEGMENT_ONE_MORE_SEGMENT;
	pdu->until_end = desegment_len == DESEGMENT_UNTIL_FIN;
	/* "one more segment": until that segment arrives, claim just its first byte */
	pdu->nxtpdu = data_end + (pdu->one_more_segment ? 1 : desegment_len);
}

static vsock_pdu_t *start_pdu(vsockmon_packet_t *pkt, packet_info *pinfo, guint32 seq, guint32 data_end)
{
	wmem_tree_t *pdus = vsock_conn_pdus(vsock_conn_of(pkt), pkt->flow, TRUE);
	vsock_pdu_t *pdu = wmem_new0(wmem_file_scope(), vsock_pdu_t);

	pdu->seq = seq;
	pdu->filled = seq;
	pdu->id = pinfo->num;
	set_pdu_end(pdu, data_end, pinfo->desegment_len);
	wmem_tree_insert32(pdus, seq, pdu);
	wmem_map_insert(last_pdus, pdus, pdu);
	return pdu;
}

/*
 * A PDU that took "one more segment" whole may end inside it: the upper
 * layer, handed the PDU, found the start of its next one in that segment's
 * tail (desegment_offset past the bytes of earlier segments). The next PDU
 * starts there with the tail's bytes, and this one ends where it does, as
 * TCP does. Returns how many of the bytes from cur on this PDU keeps.
 */
static guint32 start_pdu_in_tail(vsockmon_packet_t *pkt, packet_info *pinfo, vsock_pdu_t *pdu, guint32 cur,
				 guint32 data_end)
{
	guint32 next = pdu->seq + pinfo->desegment_offset;

	/* differences from the PDU's start: they run across a wrap */
	if ((guint32)pinfo->desegment_offset <= cur - pdu->seq ||
	    (guint32)pinfo->desegment_offset >= data_end - pdu->seq)
		return data_end - cur;
	pdu->nxtpdu = next;
	start_pdu(pkt, pinfo, next, data_end);
	return next - cur;
}

/*
 * Add this segment's bytes from cur on to the PDU; hand the PDU up if they
 * complete it. Returns how many of the segment's bytes belonged to it.
 */
static guint32 add_to_pdu(tvbuff_t *tvb, guint offset, guint32 cur, guint32 seg_end, packet_info *pinfo,
			  proto_tree *tree, vsockmon_packet_t *pkt, vsock_pdu_t *pdu)
{
	fragment_head *head;
	tvbuff_t *pdu_tvb;
	guint32 take;
	gboolean last;

	/* "one more segment" means a later one: the segment that asked only reaches nxtpdu - 1 */
	if (pdu->one_more_segment && cur == pdu->nxtpdu - 1 && !PINFO_FD_VISITED(pinfo)) {
		pdu->nxtpdu = seg_end;
		pdu->one_more_segment = FALSE;
	}
	/* differences, not offsets: both run across a wrap */
	take = MIN(seg_end - cur, pdu->nxtpdu - cur);
	last = take == pdu->nxtpdu - cur;
	if (!PINFO_FD_VISITED(pinfo))
		pdu->filled = cur + take;
	head = fragment_add(&stream_table, tvb, offset, pinfo, pdu->id, NULL, cur - pdu->seq, take, !last);
	/*
	 * On the first pass a PDU can complete twice in one frame: handed up,
	 * the upper layer asked for more, and the rest of the segment held it.
	 * Reassembly noted the layer count after that first hand-up; later
	 * passes hand the PDU up once, at a lower count, and would get nothing
	 * back. last_frame says where it completes: this layer it is.
	 */
	if (head && last && PINFO_FD_VISITED(pinfo) && pdu->last_frame == pinfo->num)
		head->reas_in_layer_num = pinfo->curr_layer_num;
	pdu_tvb = process_reassembled_data(tvb, offset, pinfo, "Reassembled VSOCK", head, &segment_items,
					   NULL, tree);
	if (!pdu_tvb) {
		if (offset == 0)	/* the whole segment went into the PDU */
			mark_as_segment(pinfo, pkt);
		return take;
	}
	dispatch_desegmentable(pdu_tvb, pinfo, tree, pkt);
	if (pinfo->desegment_len && pinfo->desegment_offset == 0) {
		if (offset == 0)
			mark_as_segment(pinfo, pkt);
		if (!PINFO_FD_VISITED(pinfo)) {
			/* still not enough: the PDU grows into the next segments */
			set_pdu_end(pdu, cur + take, pinfo->desegment_len);
			fragment_set_partial_reassembly(&stream_table, pinfo, pdu->id, NULL);
		}
	} else if (!PINFO_FD_VISITED(pinfo)) {
		pdu->last_frame = pinfo->num;
		if (pinfo->desegment_len)
			return start_pdu_in_tail(pkt, pinfo, pdu, cur, cur + take);
	}
	return take;
}

/*
 * Bytes [cur, limit) start no open PDU: hand them up as they are. On the
 * first pass the upper layer may ask for more; then a PDU starts.
 * Returns the bytes handled here (the rest belongs to the new PDU).
 */
static guint32 dissect_unclaimed(tvbuff_t *tvb, guint offset, guint32 cur, guint32 limit, packet_info *pinfo,
				 proto_tree *tree, vsockmon_packet_t *pkt)
{
	/* most segments are handed up whole: no second tvb for them */
	tvbuff_t *part = offset == 0 && limit - cur == tvb_reported_length(tvb) ?
			 tvb : tvb_new_subset_length(tvb, offset, limit - cur);

	dispatch_desegmentable(part, pinfo, tree, pkt);
	if (PINFO_FD_VISITED(pinfo) || !pinfo->desegment_len || (guint32)pinfo->desegment_offset >= limit - cur)
		return limit - cur;
	if (pinfo->desegment_offset == 0 && offset == 0)
		mark_as_segment(pinfo, pkt);
	start_pdu(pkt, pinfo, cur + pinfo->desegment_offset, limit);
	return pinfo->desegment_offset;
}

static gboolean pdu_holds(const vsock_pdu_t *pdu, guint32 offset, guint32 frame)
{
	return pdu && offset - pdu->seq < pdu->nxtpdu - pdu->seq && frame >= pdu->id &&
	       (!pdu->last_frame || frame <= pdu->last_frame);
}

/* The PDU holding the byte at offset for this frame: it starts at or below
 * the offset, or above it when it runs across the wrap. */
static vsock_pdu_t *pdu_holding(wmem_tree_t *pdus, guint32 offset, guint32 frame)
{
	vsock_pdu_t *pdu = (vsock_pdu_t *)wmem_tree_lookup32_le(pdus, offset);

	if (pdu_holds(pdu, offset, frame))
		return pdu;
	pdu = (vsock_pdu_t *)wmem_tree_lookup32_le(pdus, G_MAXUINT32);
	return pdu_holds(pdu, offset, frame) ? pdu : NULL;
}

static gboolean pdu_starts_in(const vsock_pdu_t *pdu, guint32 cur, guint32 seg_end, guint32 frame)
{
	return pdu && pdu->id == frame && pdu->seq != cur && pdu->seq - cur < seg_end - cur;
}

/* A PDU this frame started after cur: its key is at or below the segment's
 * last byte, or above it when the segment runs across the wrap. */
static vsock_pdu_t *pdu_started_in(wmem_tree_t *pdus, guint32 cur, guint32 seg_end, guint32 frame)
{
	vsock_pdu_t *pdu = (vsock_pdu_t *)wmem_tree_lookup32_le(pdus, seg_end - 1);

	if (pdu_starts_in(pdu, cur, seg_end, frame))
		return pdu;
	pdu = (vsock_pdu_t *)wmem_tree_lookup32_le(pdus, G_MAXUINT32);
	return pdu_starts_in(pdu, cur, seg_end, frame) ? pdu : NULL;
}

static void dissect_stream_segment(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, vsockmon_packet_t *pkt,
				   const vsock_pkt_analysis_t *pa)
{
	struct vsock_conn *conn = vsock_conn_of(pkt);
	guint32 seg_end = pa->seq + pkt->payload_len;
	guint32 cur = pa->seq;

	while (cur != seg_end) {
		/* the tree appears when an upper layer first asks for more bytes */
		wmem_tree_t *pdus = vsock_conn_pdus(conn, pkt->flow, FALSE);
		vsock_pdu_t *pdu = pdus ? pdu_holding(pdus, cur, pinfo->num) : NULL;
		vsock_pdu_t *later;
		guint32 limit = seg_end;

		if (pdu) {
			cur += add_to_pdu(tvb, cur - pa->seq, cur, seg_end, pinfo, tree, pkt, pdu);
			continue;
		}
		/* on later passes, stop where a PDU this segment started begins */
		later = pdus ? pdu_started_in(pdus, cur, seg_end, pinfo->num) : NULL;
		if (later)
			limit = later->seq;
		cur += dissect_unclaimed(tvb, cur - pa->seq, cur, limit, pinfo, tree, pkt);
	}
}

/*
 * The PDU's stream ended at offset end: the PDU read until then goes up
 * (on the first pass, it ends here). pkt is the record the upper layer
 * gets, of the PDU's direction; so are pinfo's addresses (the reassembly
 * key) and ports.
 */
static void end_pdu(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, vsockmon_packet_t *pkt,
		    vsock_pdu_t *pdu, guint32 end)
{
	tvbuff_t *end_tvb = tvb_new_subset_length(tvb, 0, 0);
	fragment_head *head;
	tvbuff_t *pdu_tvb;

	/* an empty last fragment at the stream's end completes the PDU here */
	head = fragment_add(&stream_table, end_tvb, 0, pinfo, pdu->id, NULL, end - pdu->seq, 0, FALSE);
	if (!PINFO_FD_VISITED(pinfo)) {
		pdu->nxtpdu = end;
		pdu->last_frame = pinfo->num;
	}
	pdu_tvb = process_reassembled_data(end_tvb, 0, pinfo, "Reassembled VSOCK", head, &segment_items, NULL,
					   tree);
	if (!pdu_tvb)
		return;
	/* what the upper layer waits for: TCP tells it with the FIN flag */
	pkt->tcpinfo = wmem_new0(pinfo->pool, struct tcpinfo);
	pkt->tcpinfo->flags = TH_FIN;
	pinfo->can_desegment = 0;
	vsockmon_dispatch_payload(pdu_tvb, pinfo, tree, pkt);
}

/*
 * The PDU of the RST receiver's direction that this RST ends: the last one
 * that direction started, when it reads until the end and nothing ended it
 * yet. Later passes find it where the first one put it.
 */
static vsock_pdu_t *peer_pdu_ended(packet_info *pinfo, wmem_tree_t *peer_pdus)
{
	vsock_pdu_t *pdu;

	if (PINFO_FD_VISITED(pinfo))
		return (vsock_pdu_t *)p_get_proto_data(wmem_file_scope(), pinfo, proto_virtio_vsock, PEER_PDU_KEY);
	pdu = peer_pdus ? (vsock_pdu_t *)wmem_map_lookup(last_pdus, peer_pdus) : NULL;
	if (!pdu || !pdu->until_end || pdu->last_frame)
		return NULL;
	p_add_proto_data(wmem_file_scope(), pinfo, proto_virtio_vsock, PEER_PDU_KEY, pdu);
	return pdu;
}

/*
 * The peer's PDU goes up as the peer's data: the reassembly key has its
 * direction's addresses, and the upper layer gets its addresses, ports and
 * flow. The frame keeps its own (the columns are filled in afterwards).
 */
static void end_peer_pdu(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const vsockmon_packet_t *pkt,
			 vsock_pdu_t *pdu)
{
	vsockmon_packet_t *peer = (vsockmon_packet_t *)wmem_memdup(pinfo->pool, pkt, sizeof(*pkt));
	address src, dst;
	guint32 srcport = pinfo->srcport, destport = pinfo->destport;

	copy_address_shallow(&src, &pinfo->src);
	copy_address_shallow(&dst, &pinfo->dst);
	copy_address_shallow(&peer->src, &pkt->dst);
	copy_address_shallow(&peer->dst, &pkt->src);
	peer->src_cid = pkt->dst_cid;
	peer->dst_cid = pkt->src_cid;
	peer->src_port = pkt->dst_port;
	peer->dst_port = pkt->src_port;
	peer->flow = !pkt->flow;
	copy_address_shallow(&pinfo->src, &peer->src);
	copy_address_shallow(&pinfo->dst, &peer->dst);
	pinfo->srcport = peer->src_port;
	pinfo->destport = peer->dst_port;
	/* the end is where its bytes stopped: nothing can follow the connection's end */
	end_pdu(tvb, pinfo, tree, peer, pdu, pdu->filled);
	copy_address_shallow(&pinfo->src, &src);
	copy_address_shallow(&pinfo->dst, &dst);
	pinfo->srcport = srcport;
	pinfo->destport = destport;
}

void virtio_vsock_end_stream(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, vsockmon_packet_t *pkt,
			     const vsock_pkt_analysis_t *pa)
{
	struct vsock_conn *conn = vsock_conn_of(pkt);
	wmem_tree_t *pdus = vsock_conn_pdus(conn, pkt->flow, FALSE);
	/* the PDU holding the stream's last byte (once ended here, it ends at pa->seq) */
	vsock_pdu_t *pdu = pdus ? pdu_holding(pdus, pa->seq - 1, pinfo->num) : NULL;

	if (!reassemble_stream)
		return;
	if (pdu && pdu->until_end)
		end_pdu(tvb, pinfo, tree, pkt, pdu, pa->seq);
	/*
	 * The RST that ends the connection ends both streams: in Linux an RST
	 * from either side tears the whole connection down (TCP waits for the
	 * sender's FIN, which never comes). The receiver's SHUTDOWN (RCV) is
	 * no end: it crosses data already queued, which still arrives.
	 */
	if (pkt->virtio_op == VIRTIO_VSOCK_OP_RST) {
		pdu = peer_pdu_ended(pinfo, vsock_conn_pdus(conn, !pkt->flow, FALSE));
		if (pdu)
			end_peer_pdu(tvb, pinfo, tree, pkt, pdu);
	}
}

/* ---- SEQPACKET messages ---- */

static void dissect_message_fragment(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, vsockmon_packet_t *pkt,
				     const vsock_pkt_analysis_t *pa)
{
	gboolean eom = (pkt->virtio_flags & VIRTIO_VSOCK_SEQ_EOM) != 0;
	guint32 fragment = pa->seq;
	fragment_head *head;
	tvbuff_t *msg_tvb;

	if (eom && fragment == 0) {
		/* a whole message in one packet */
		proto_item *ti = proto_tree_add_uint(tree, hf_msg_length, tvb, 0, 0, pkt->payload_len);

		proto_item_set_generated(ti);
		vsockmon_dispatch_payload(tvb, pinfo, tree, pkt);
		return;
	}
	head = fragment_add_seq_check(&message_table, tvb, 0, pinfo, vsock_pkt_extra(pa)->msg[0]->first_frame, NULL, fragment,
				      tvb_captured_length(tvb), !eom);
	msg_tvb = process_reassembled_data(tvb, 0, pinfo, "Reassembled SEQPACKET message", head, &message_items,
					   NULL, tree);
	if (msg_tvb)
		vsockmon_dispatch_payload(msg_tvb, pinfo, tree, pkt);
	else
		col_append_fstr(pinfo->cinfo, COL_INFO, " [fragment %u of a message]", fragment + 1);
}

/* An RW packet's payload: Follow Stream gets it as is, upper layers whole PDUs. */
void virtio_vsock_dissect_rw(tvbuff_t *payload_tvb, packet_info *pinfo, proto_tree *tree,
			     vsockmon_packet_t *pkt, const vsock_pkt_analysis_t *pa)
{
	gboolean complete = tvb_captured_length(payload_tvb) == pkt->payload_len;

	if (pkt->payload_len)
		vsockmon_follow_payload(payload_tvb, pinfo);
	if (pa && complete && (pa->found & VSOCK_FOUND_MSG) && reassemble_messages)
		dissect_message_fragment(payload_tvb, pinfo, tree, pkt, pa);
	else if (pa && complete && (pa->found & VSOCK_FOUND_SEQ) && reassemble_stream && pkt->payload_len)
		dissect_stream_segment(payload_tvb, pinfo, tree, pkt, pa);
	else
		vsockmon_dispatch_payload(payload_tvb, pinfo, tree, pkt);
}

#define FRAGMENT_FIELDS(prefix, what, hf_all, hf_one, hf_overlap, hf_conflict, hf_tails, hf_long, hf_err, \
			hf_count, hf_in) \
	{ &hf_all, { what "s", prefix "s", FT_NONE, BASE_NONE, NULL, 0x0, NULL, HFILL } }, \
	{ &hf_one, { what, prefix, FT_FRAMENUM, BASE_NONE, NULL, 0x0, NULL, HFILL } }, \
	{ &hf_overlap, { what " overlap", prefix ".overlap", FT_BOOLEAN, BASE_NONE, NULL, 0x0, NULL, HFILL } }, \
	{ &hf_conflict, { what " overlapping with conflicting data", prefix ".overlap.conflict", FT_BOOLEAN, \
			  BASE_NONE, NULL, 0x0, NULL, HFILL } }, \
	{ &hf_tails, { "Multiple tail " what "s", prefix ".multiple_tails", FT_BOOLEAN, BASE_NONE, NULL, 0x0, \
		       NULL, HFILL } }, \
	{ &hf_long, { what " too long", prefix ".too_long", FT_BOOLEAN, BASE_NONE, NULL, 0x0, NULL, HFILL } }, \
	{ &hf_err, { "Reassembly error", prefix ".error", FT_FRAMENUM, BASE_NONE, NULL, 0x0, NULL, HFILL } }, \
	{ &hf_count, { what " count", prefix ".count", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } }, \
	{ &hf_in, { "Reassembled in", prefix ".reassembled_in", FT_FRAMENUM, BASE_NONE, NULL, 0x0, NULL, HFILL } }

void virtio_vsock_reassembly_register(int proto)
{
	static hf_register_info hf[] = {
		FRAGMENT_FIELDS("virtio_vsock.segment", "Segment", hf_segments, hf_segment, hf_segment_overlap,
				hf_segment_overlap_conflict, hf_segment_multiple_tails, hf_segment_too_long,
				hf_segment_error, hf_segment_count, hf_reassembled_in),
		{ &hf_reassembled_length,
		  { "Reassembled PDU length", "virtio_vsock.reassembled.length", FT_UINT32, BASE_DEC, NULL, 0x0,
		    NULL, HFILL } },
		{ &hf_reassembled_data,
		  { "Reassembled PDU", "virtio_vsock.reassembled.data", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
		FRAGMENT_FIELDS("virtio_vsock.msg.fragment", "Message fragment", hf_msg_fragments, hf_msg_fragment,
				hf_msg_fragment_overlap, hf_msg_fragment_overlap_conflict,
				hf_msg_fragment_multiple_tails, hf_msg_fragment_too_long, hf_msg_fragment_error,
				hf_msg_fragment_count, hf_msg_reassembled_in),
		{ &hf_msg_length,
		  { "Message length", "virtio_vsock.msg.length", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Length of the whole SEQPACKET message", HFILL } },
		{ &hf_msg_data,
		  { "Message", "virtio_vsock.msg.data", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
	};
	static gint *ett[] = {
		&ett_segments,
		&ett_segment,
		&ett_msg_fragments,
		&ett_msg_fragment,
	};
	module_t *module;

	proto_virtio_vsock = proto;
	proto_register_field_array(proto, hf, array_length(hf));
	proto_register_subtree_array(ett, array_length(ett));

	module = prefs_register_protocol(proto, NULL);
	prefs_register_bool_preference(module, "reassemble_stream", "Reassemble upper-layer PDUs of STREAM sockets",
				       "Collect a PDU that spans RW packets and hand it up whole "
				       "(like TCP's \"Allow subdissector to reassemble TCP streams\")",
				       &reassemble_stream);
	prefs_register_bool_preference(module, "reassemble_messages", "Reassemble SEQPACKET messages",
				       "Join the RW fragments of a SEQPACKET message up to EOM and hand it up whole",
				       &reassemble_messages);

	reassembly_table_register(&stream_table, &addresses_reassembly_table_functions);
	reassembly_table_register(&message_table, &addresses_reassembly_table_functions);
	last_pdus = wmem_map_new_autoreset(wmem_epan_scope(), wmem_file_scope(), g_direct_hash, g_direct_equal);
}
