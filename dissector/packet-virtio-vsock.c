/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * packet-virtio-vsock.c - the virtio-vsock transport header
 * (struct virtio_vsock_hdr) that follows the vsockmon header when the
 * transport is VIRTIO: every field, op-dependent flags, the consistency
 * checks between the two headers, and the payload hand-off.
 */
#include "virtio-vsock-analysis.h"
#include "virtio-vsock-split.h"
#include "vsockmon-text.h"

#include <epan/expert.h>
#include <wsutil/to_str.h>
#include <wsutil/utf8_entities.h>

static int proto_virtio_vsock = -1;

static int hf_virtio_src_cid = -1;
static int hf_virtio_dst_cid = -1;
static int hf_virtio_src_port = -1;
static int hf_virtio_dst_port = -1;
static int hf_virtio_len = -1;
static int hf_virtio_trailer = -1;
static int hf_virtio_split_packet_len = -1;
static int hf_virtio_split_offset = -1;
static int hf_virtio_split_preceding = -1;
static int hf_virtio_type = -1;
static int hf_virtio_op = -1;
static int hf_virtio_flags = -1;
static int hf_virtio_flags_shutdown_rcv = -1;
static int hf_virtio_flags_shutdown_send = -1;
static int hf_virtio_flags_seq_eom = -1;
static int hf_virtio_flags_seq_eor = -1;
static int hf_virtio_flags_unknown = -1;
static int hf_virtio_buf_alloc = -1;
static int hf_virtio_fwd_cnt = -1;

static gint ett_virtio_vsock = -1;
static gint ett_virtio_flags = -1;

static expert_field ei_virtio_hdr_len = EI_INIT;
static expert_field ei_virtio_short = EI_INIT;
static expert_field ei_virtio_snaplen = EI_INIT;
static expert_field ei_virtio_addr_mismatch = EI_INIT;
static expert_field ei_virtio_op_mismatch = EI_INIT;
static expert_field ei_virtio_len_mismatch = EI_INIT;
static expert_field ei_virtio_len_snaplen = EI_INIT;
static expert_field ei_virtio_len_split_tap = EI_INIT;
static expert_field ei_virtio_split_lost = EI_INIT;
static expert_field ei_virtio_payload_not_rw = EI_INIT;
static expert_field ei_virtio_unknown_type = EI_INIT;
static expert_field ei_virtio_unknown_op = EI_INIT;
static expert_field ei_virtio_unknown_flags = EI_INIT;

static dissector_handle_t virtio_vsock_handle;

static const value_string virtio_type_names[] = {
	{ VIRTIO_VSOCK_TYPE_STREAM, "STREAM" },
	{ VIRTIO_VSOCK_TYPE_SEQPACKET, "SEQPACKET" },
	{ 0, NULL }
};

/* The names of the virtio specification (VIRTIO_VSOCK_OP_*). */
static const value_string virtio_op_names[] = {
	{ VIRTIO_VSOCK_OP_INVALID, "INVALID" },
	{ VIRTIO_VSOCK_OP_REQUEST, "REQUEST" },
	{ VIRTIO_VSOCK_OP_RESPONSE, "RESPONSE" },
	{ VIRTIO_VSOCK_OP_RST, "RST" },
	{ VIRTIO_VSOCK_OP_SHUTDOWN, "SHUTDOWN" },
	{ VIRTIO_VSOCK_OP_RW, "RW" },
	{ VIRTIO_VSOCK_OP_CREDIT_UPDATE, "CREDIT_UPDATE" },
	{ VIRTIO_VSOCK_OP_CREDIT_REQUEST, "CREDIT_REQUEST" },
	{ 0, NULL }
};

static int * const shutdown_flag_fields[] = {
	&hf_virtio_flags_shutdown_rcv,
	&hf_virtio_flags_shutdown_send,
	NULL
};

static int * const rw_flag_fields[] = {
	&hf_virtio_flags_seq_eom,
	&hf_virtio_flags_seq_eor,
	NULL
};

/* What a flags value means depends on the op and type: its fields and known bits. */
typedef struct flag_meaning {
	int * const *fields;	/* NULL: no bit has a meaning */
	guint32 known_mask;
} flag_meaning_t;

static flag_meaning_t flag_meaning_of(const vsockmon_packet_t *pkt)
{
	flag_meaning_t meaning = { NULL, 0 };

	if (pkt->virtio_op == VIRTIO_VSOCK_OP_SHUTDOWN) {
		meaning.fields = shutdown_flag_fields;
		meaning.known_mask = VIRTIO_VSOCK_SHUTDOWN_MASK;
	} else if (pkt->virtio_op == VIRTIO_VSOCK_OP_RW && pkt->virtio_type == VIRTIO_VSOCK_TYPE_SEQPACKET) {
		/* message boundaries exist only on SEQPACKET sockets */
		meaning.fields = rw_flag_fields;
		meaning.known_mask = VIRTIO_VSOCK_SEQ_MASK;
	}
	return meaning;
}

/* ---- header fields ---- */

/* The op's name; the table is dense from INVALID to CREDIT_REQUEST, so index it. */
static const char *op_name(guint16 op)
{
	return op <= VIRTIO_VSOCK_OP_MAX ? virtio_op_names[op].strptr : NULL;
}

static const char *type_name(guint16 type)
{
	return type == VIRTIO_VSOCK_TYPE_STREAM ? "STREAM" : type == VIRTIO_VSOCK_TYPE_SEQPACKET ? "SEQPACKET" : NULL;
}

/* The virtio header's own copy of the addresses (the monitor header has the others). */
typedef struct virtio_endpoints {
	guint64 src_cid;
	guint64 dst_cid;
	guint32 src_port;
	guint32 dst_port;
} virtio_endpoints_t;

/* The header values (every frame needs them, with or without a tree). */
static void read_header(tvbuff_t *tvb, vsockmon_packet_t *pkt, virtio_endpoints_t *ends)
{
	ends->src_cid = tvb_get_letoh64(tvb, VIRTIO_VSOCK_OFF_SRC_CID);
	ends->dst_cid = tvb_get_letoh64(tvb, VIRTIO_VSOCK_OFF_DST_CID);
	ends->src_port = tvb_get_letohl(tvb, VIRTIO_VSOCK_OFF_SRC_PORT);
	ends->dst_port = tvb_get_letohl(tvb, VIRTIO_VSOCK_OFF_DST_PORT);
	pkt->virtio_len = tvb_get_letohl(tvb, VIRTIO_VSOCK_OFF_LEN);
	pkt->virtio_type = tvb_get_letohs(tvb, VIRTIO_VSOCK_OFF_TYPE);
	pkt->virtio_op = tvb_get_letohs(tvb, VIRTIO_VSOCK_OFF_OP);
	pkt->virtio_flags = tvb_get_letohl(tvb, VIRTIO_VSOCK_OFF_FLAGS);
	pkt->buf_alloc = tvb_get_letohl(tvb, VIRTIO_VSOCK_OFF_BUF_ALLOC);
	pkt->fwd_cnt = tvb_get_letohl(tvb, VIRTIO_VSOCK_OFF_FWD_CNT);
	pkt->has_virtio = TRUE;
}

static proto_item *add_flags(tvbuff_t *tvb, proto_tree *tree, const vsockmon_packet_t *pkt)
{
	flag_meaning_t meaning = flag_meaning_of(pkt);
	guint32 unknown = pkt->virtio_flags & ~meaning.known_mask;
	proto_item *ti;

	if (meaning.fields)
		ti = proto_tree_add_bitmask(tree, tvb, VIRTIO_VSOCK_OFF_FLAGS, hf_virtio_flags, ett_virtio_flags,
					    meaning.fields, ENC_LITTLE_ENDIAN);
	else
		ti = proto_tree_add_uint(tree, hf_virtio_flags, tvb, VIRTIO_VSOCK_OFF_FLAGS, 4, pkt->virtio_flags);
	if (unknown)
		proto_item_set_generated(proto_tree_add_uint(tree, hf_virtio_flags_unknown, tvb,
							     VIRTIO_VSOCK_OFF_FLAGS, 4, unknown));
	return ti;
}

typedef struct header_items {
	proto_item *type;
	proto_item *op;
	proto_item *flags;
} header_items_t;

/* From the values read_header() has (cheaper than decoding each field again). */
static void add_header_fields(tvbuff_t *tvb, proto_tree *tree, const vsockmon_packet_t *pkt,
			      const virtio_endpoints_t *ends, header_items_t *items)
{
	proto_tree_add_uint64(tree, hf_virtio_src_cid, tvb, VIRTIO_VSOCK_OFF_SRC_CID, 8, ends->src_cid);
	proto_tree_add_uint64(tree, hf_virtio_dst_cid, tvb, VIRTIO_VSOCK_OFF_DST_CID, 8, ends->dst_cid);
	proto_tree_add_uint(tree, hf_virtio_src_port, tvb, VIRTIO_VSOCK_OFF_SRC_PORT, 4, ends->src_port);
	proto_tree_add_uint(tree, hf_virtio_dst_port, tvb, VIRTIO_VSOCK_OFF_DST_PORT, 4, ends->dst_port);
	proto_tree_add_uint(tree, hf_virtio_len, tvb, VIRTIO_VSOCK_OFF_LEN, 4, pkt->virtio_len);
	items->type = proto_tree_add_uint(tree, hf_virtio_type, tvb, VIRTIO_VSOCK_OFF_TYPE, 2, pkt->virtio_type);
	items->op = proto_tree_add_uint(tree, hf_virtio_op, tvb, VIRTIO_VSOCK_OFF_OP, 2, pkt->virtio_op);
	items->flags = add_flags(tvb, tree, pkt);
	proto_tree_add_uint(tree, hf_virtio_buf_alloc, tvb, VIRTIO_VSOCK_OFF_BUF_ALLOC, 4, pkt->buf_alloc);
	proto_tree_add_uint(tree, hf_virtio_fwd_cnt, tvb, VIRTIO_VSOCK_OFF_FWD_CNT, 4, pkt->fwd_cnt);
}

/* Values no kernel sends. */
static void check_values(packet_info *pinfo, const vsockmon_packet_t *pkt, const header_items_t *items)
{
	flag_meaning_t meaning = flag_meaning_of(pkt);
	guint32 unknown = pkt->virtio_flags & ~meaning.known_mask;

	if (!type_name(pkt->virtio_type))
		expert_add_info(pinfo, items->type, &ei_virtio_unknown_type);
	if (pkt->virtio_op == VIRTIO_VSOCK_OP_INVALID || !op_name(pkt->virtio_op))
		expert_add_info(pinfo, items->op, &ei_virtio_unknown_op);
	if (unknown)
		expert_add_info_format(pinfo, items->flags, &ei_virtio_unknown_flags,
				       "Flags 0x%08x have no meaning on a %s %s packet", unknown,
				       VSOCKMON_VAL_TO_STR(pinfo->pool, pkt->virtio_type, virtio_type_names, "type %u"),
				       VSOCKMON_VAL_TO_STR(pinfo->pool, pkt->virtio_op, virtio_op_names, "op %u"));
}

/*
 * The fields of a header that is not all there (cut by the snapshot
 * length, or shorter than the monitor header says): add those that are.
 */
static void add_partial_header_fields(tvbuff_t *tvb, proto_tree *tree, guint avail)
{
	static const struct {
		int *hf;
		guint offset;
		guint size;
	} fields[] = {
		{ &hf_virtio_src_cid, VIRTIO_VSOCK_OFF_SRC_CID, 8 },
		{ &hf_virtio_dst_cid, VIRTIO_VSOCK_OFF_DST_CID, 8 },
		{ &hf_virtio_src_port, VIRTIO_VSOCK_OFF_SRC_PORT, 4 },
		{ &hf_virtio_dst_port, VIRTIO_VSOCK_OFF_DST_PORT, 4 },
		{ &hf_virtio_len, VIRTIO_VSOCK_OFF_LEN, 4 },
		{ &hf_virtio_type, VIRTIO_VSOCK_OFF_TYPE, 2 },
		{ &hf_virtio_op, VIRTIO_VSOCK_OFF_OP, 2 },
		{ &hf_virtio_flags, VIRTIO_VSOCK_OFF_FLAGS, 4 },
		{ &hf_virtio_buf_alloc, VIRTIO_VSOCK_OFF_BUF_ALLOC, 4 },
		{ &hf_virtio_fwd_cnt, VIRTIO_VSOCK_OFF_FWD_CNT, 4 },
	};
	guint i;

	for (i = 0; i < G_N_ELEMENTS(fields) && fields[i].offset + fields[i].size <= avail; i++)
		proto_tree_add_item(tree, *fields[i].hf, tvb, fields[i].offset, fields[i].size,
				    ENC_LITTLE_ENDIAN);
}

/* ---- consistency checks ---- */

/* The monitor header repeats the addresses: they must agree. */
static void check_addresses(packet_info *pinfo, proto_item *ti, const vsockmon_packet_t *pkt,
			    const virtio_endpoints_t *ends)
{
	if (ends->src_cid != pkt->src_cid || ends->dst_cid != pkt->dst_cid || ends->src_port != pkt->src_port ||
	    ends->dst_port != pkt->dst_port)
		expert_add_info_format(pinfo, ti, &ei_virtio_addr_mismatch,
				       "Virtio header says %" PRIu64 ":%u > %" PRIu64 ":%u, monitor header "
				       "%" PRIu64 ":%u > %" PRIu64 ":%u",
				       ends->src_cid, ends->src_port, ends->dst_cid, ends->dst_port,
				       pkt->src_cid, pkt->src_port, pkt->dst_cid, pkt->dst_port);
}

/* The kernel derives the monitor op from the virtio op. */
static void check_monitor_op(packet_info *pinfo, const vsockmon_packet_t *pkt)
{
	enum af_vsockmon_op expected = vsockmon_op_from_virtio(pkt->virtio_op);

	if (expected != pkt->op)
		expert_add_info_format(pinfo, pkt->op_item, &ei_virtio_op_mismatch,
				       "Monitor op %u does not match virtio op %s (the kernel sends %u)",
				       pkt->op,
				       VSOCKMON_VAL_TO_STR(pinfo->pool, pkt->virtio_op, virtio_op_names, "%u"),
				       expected);
}

/*
 * len is the payload length. A frame that carries all of it in its
 * reported length but not in the captured bytes was cut by the snapshot
 * length (a note); one whose reported length disagrees is malformed,
 * unless it is a fragment of a packet vhost split whose tap copied more
 * (virtio-vsock-split.h: a kernel bug, the fragment is all there).
 * Other bytes beyond len are a trailer, as IP treats bytes beyond its
 * total length: not this packet's data (see payload_length()).
 */
static void check_payload_length(tvbuff_t *tvb, packet_info *pinfo, proto_item *len_ti,
				 const vsockmon_packet_t *pkt, guint payload_offset,
				 const vsock_split_frag_t *frag)
{
	guint reported = vsock_reported_from(tvb, payload_offset);
	guint captured = (guint)tvb_captured_length_remaining(tvb, payload_offset);

	if (reported > pkt->virtio_len && frag->kind != VSOCK_SPLIT_NONE)
		expert_add_info_format(pinfo, len_ti, &ei_virtio_len_split_tap,
				       "vhost split a %u-byte packet: this fragment is its bytes %u-%u, the tap "
				       "copied %u bytes more (Linux bug, fixed by commit 5f344d809e01)",
				       frag->packet_len, frag->packet_offset, frag->packet_offset + pkt->virtio_len - 1,
				       reported - pkt->virtio_len);
	else if (reported > pkt->virtio_len)
		expert_add_info_format(pinfo, len_ti, &ei_virtio_len_mismatch,
				       "len says %u payload bytes, the frame carries %u: the %u after them are "
				       "a trailer, not this packet's data",
				       pkt->virtio_len, reported, reported - pkt->virtio_len);
	else if (reported != pkt->virtio_len)
		expert_add_info_format(pinfo, len_ti, &ei_virtio_len_mismatch,
				       "len says %u payload bytes, the frame carries %u",
				       pkt->virtio_len, reported);
	else if (captured < reported)
		expert_add_info_format(pinfo, len_ti, &ei_virtio_len_snaplen,
				       "Only %u of %u payload bytes were captured (snapshot length)",
				       captured, reported);
	if (reported > pkt->virtio_len && captured < frag->frame_offset + pkt->virtio_len &&
	    frag->kind != VSOCK_SPLIT_NONE)
		expert_add_info_format(pinfo, len_ti, &ei_virtio_len_snaplen,
				       "Only %u of this fragment's %u bytes were captured (snapshot length)",
				       captured > frag->frame_offset ? captured - frag->frame_offset : 0,
				       pkt->virtio_len);
}

/* Fragment frames the capture lacks (virtio-vsock-split.c found out at this frame). */
static void check_split_lost(packet_info *pinfo, proto_item *ti, const vsock_split_frag_t *frag)
{
	if (!frag->lost)
		return;
	if (frag->lost_since)
		expert_add_info_format(pinfo, ti, &ei_virtio_split_lost,
				       "%u bytes of vhost-split packets were never seen: their tap frames are missing "
				       "from the capture; the fragments of the packet from frame %u on may show bytes "
				       "from the wrong offset (each of its frames carries the whole packet)",
				       frag->lost, frag->lost_since);
	else
		expert_add_info_format(pinfo, ti, &ei_virtio_split_lost,
				       "%u bytes of vhost-split packets were never seen: their tap frames are missing "
				       "from the capture", frag->lost);
}

/* ---- columns ---- */

/* Set flags by name, for Info: only bits that mean something for this op and type. */
static const char *flag_names(const vsockmon_packet_t *pkt)
{
	static const char *const shutdown_names[] = { "", ", RCV", ", SEND", ", RCV, SEND" };
	static const char *const message_names[] = { "", ", EOM", ", EOR", ", EOM, EOR" };

	if (pkt->virtio_op == VIRTIO_VSOCK_OP_SHUTDOWN)
		return shutdown_names[pkt->virtio_flags & VIRTIO_VSOCK_SHUTDOWN_MASK];
	if (pkt->virtio_op == VIRTIO_VSOCK_OP_RW && pkt->virtio_type == VIRTIO_VSOCK_TYPE_SEQPACKET)
		return message_names[pkt->virtio_flags & VIRTIO_VSOCK_SEQ_MASK];
	return "";
}

/* Connection and credit packets say what credit their sender offers. */
static gboolean announces_credit(guint16 op)
{
	return op == VIRTIO_VSOCK_OP_CREDIT_UPDATE || op == VIRTIO_VSOCK_OP_CREDIT_REQUEST ||
	       op == VIRTIO_VSOCK_OP_REQUEST || op == VIRTIO_VSOCK_OP_RESPONSE;
}

/* "1024 → 1234 [RW, EOM] Len=6 ..." into buf; also used again for PDU segments. */
void virtio_vsock_format_info(const vsockmon_packet_t *pkt, char *buf, size_t size)
{
	text_buf_t b = TEXT_BUF_INIT(buf, size);

	put_uint(&b, pkt->src_port);
	put_str(&b, " " UTF8_RIGHTWARDS_ARROW " ");
	put_uint(&b, pkt->dst_port);
	put_str(&b, " [");
	put_name(&b, op_name(pkt->virtio_op), "op", pkt->virtio_op);
	put_str(&b, flag_names(pkt));
	put_str(&b, "] Len=");
	put_uint(&b, pkt->payload_len);
	if (announces_credit(pkt->virtio_op)) {
		put_str(&b, " Buf=");
		put_uint(&b, pkt->buf_alloc);
		put_str(&b, " Fwd=");
		put_uint(&b, pkt->fwd_cnt);
	}
	if (pkt->virtio_type == VIRTIO_VSOCK_TYPE_SEQPACKET)
		put_str(&b, " SEQPACKET");
	text_buf_end(&b);
}

/* "Virtio VSOCK transport, STREAM RW, Len: 6" */
static void set_item_text(proto_item *ti, const vsockmon_packet_t *pkt)
{
	char label[ITEM_LABEL_LENGTH];
	text_buf_t b = TEXT_BUF_INIT(label, sizeof(label));

	put_str(&b, proto_get_protocol_name(proto_virtio_vsock));
	put_str(&b, ", ");
	put_name(&b, type_name(pkt->virtio_type), "type", pkt->virtio_type);
	put_str(&b, " ");
	put_name(&b, op_name(pkt->virtio_op), "op", pkt->virtio_op);
	put_str(&b, ", Len: ");
	put_uint(&b, pkt->virtio_len);
	text_buf_end(&b);
	proto_item_set_text(ti, "%s", label);
}

/*
 * Written into packet memory and set without a copy: the column keeps
 * the pointer until the packet is done (an upper layer that appends
 * copies it into the column's buffer first).
 */
static void set_info_column(packet_info *pinfo, const vsockmon_packet_t *pkt)
{
	char *info;

	if (!pinfo->cinfo)
		return;
	info = (char *)wmem_alloc(pinfo->pool, VIRTIO_VSOCK_INFO_LEN);
	virtio_vsock_format_info(pkt, info, VIRTIO_VSOCK_INFO_LEN);
	col_set_str(pinfo->cinfo, COL_INFO, info);
}

/*
 * "[vhost fragment 4096-8191 of 65536]" after whatever the payload's
 * dissectors wrote: why a frame of 65612 bytes has Len=4096.
 */
static void mark_fragment_in_info(packet_info *pinfo, const vsockmon_packet_t *pkt, const vsock_split_frag_t *frag)
{
	if (!pinfo->cinfo || frag->kind == VSOCK_SPLIT_NONE)
		return;
	col_append_fstr(pinfo->cinfo, COL_INFO, " [vhost fragment %u-%u of %u]", frag->packet_offset,
			frag->packet_offset + pkt->virtio_len - 1, frag->packet_len);
}

/* ---- payload ---- */

/*
 * The packet's data: len bytes, or what the frame holds if less (a frame
 * cut short). Never more: stream offsets, credit, reassembly and Follow
 * count what the receiver counts, and its fwd_cnt moves by len.
 */
static guint32 payload_length(tvbuff_t *tvb, const vsockmon_packet_t *pkt, guint payload_offset)
{
	return MIN(vsock_reported_from(tvb, payload_offset), pkt->virtio_len);
}

/* The bytes beyond len that were captured (a snapshot length may have cut
 * them: never an exception here, which a frame without a tree would not see). */
static void add_trailer(tvbuff_t *tvb, proto_tree *tree, const vsockmon_packet_t *pkt, guint data_offset)
{
	guint trailer_offset = data_offset + pkt->payload_len;
	gint captured = tvb_captured_length_remaining(tvb, trailer_offset);

	if (tree && captured > 0)
		proto_tree_add_item(tree, hf_virtio_trailer, tvb, trailer_offset, captured, ENC_NA);
}

/* Where a vhost fragment lies in its packet, and the earlier fragments'
 * bytes a "whole packet" tap frame carries before it. */
static void add_split_fields(tvbuff_t *tvb, proto_tree *tree, const vsock_split_frag_t *frag,
			     guint payload_offset)
{
	proto_item *ti;
	guint captured;

	if (!tree || frag->kind == VSOCK_SPLIT_NONE)
		return;
	ti = proto_tree_add_uint(tree, hf_virtio_split_packet_len, tvb, 0, 0, frag->packet_len);
	proto_item_set_generated(ti);
	ti = proto_tree_add_uint(tree, hf_virtio_split_offset, tvb, 0, 0, frag->packet_offset);
	proto_item_set_generated(ti);
	captured = (guint)tvb_captured_length_remaining(tvb, payload_offset);
	if (frag->frame_offset && captured)
		proto_tree_add_item(tree, hf_virtio_split_preceding, tvb, payload_offset,
				    MIN(captured, frag->frame_offset), ENC_NA);
}

static void dissect_payload(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, proto_item *op_ti,
			    vsockmon_packet_t *pkt, const vsock_pkt_analysis_t *pa, guint payload_offset)
{
	tvbuff_t *payload_tvb;

	if (pkt->payload_len == 0) {
		/* an empty fragment with EOM still ends its SEQPACKET message */
		if (pa && (pa->found & VSOCK_FOUND_MSG_PART) && pkt->virtio_op == VIRTIO_VSOCK_OP_RW)
			virtio_vsock_dissect_rw(tvb_new_subset_length(tvb, payload_offset, 0), pinfo, tree, pkt, pa);
		return;
	}
	if (pkt->virtio_op != VIRTIO_VSOCK_OP_RW) {
		expert_add_info_format(pinfo, op_ti, &ei_virtio_payload_not_rw,
				       "%u payload bytes on a %s packet: only RW carries data", pkt->payload_len,
				       VSOCKMON_VAL_TO_STR(pinfo->pool, pkt->virtio_op, virtio_op_names, "op %u"));
	}
	/* none of it captured: nothing to hand up (and no subset can start beyond the captured
	 * bytes, where a snapshot length may have left a vhost fragment's data) */
	if (tvb_captured_length_remaining(tvb, payload_offset) == 0)
		return;
	payload_tvb = tvb_new_subset_length(tvb, payload_offset, pkt->payload_len);
	if (pkt->virtio_op != VIRTIO_VSOCK_OP_RW)
		call_data_dissector(payload_tvb, pinfo, tree);
	else
		virtio_vsock_dissect_rw(payload_tvb, pinfo, tree, pkt, pa);
}

/* ---- the dissector ---- */

/* How much of the 44-byte header can be read; says why when not all. */
static guint header_bytes_available(tvbuff_t *tvb, packet_info *pinfo, proto_item *ti,
				    const vsockmon_packet_t *pkt)
{
	guint avail = MIN(pkt->hdr_len, VIRTIO_VSOCK_HDR_LEN);

	if (pkt->hdr_len != VIRTIO_VSOCK_HDR_LEN)
		expert_add_info_format(pinfo, pkt->hdr_len_item, &ei_virtio_hdr_len,
				       "Transport header length %u, the virtio header is %u bytes",
				       pkt->hdr_len, VIRTIO_VSOCK_HDR_LEN);
	if (tvb_reported_length(tvb) < avail) {
		expert_add_info_format(pinfo, ti, &ei_virtio_short,
				       "Frame ends %u bytes into the %u-byte virtio header",
				       tvb_reported_length(tvb), avail);
		avail = tvb_reported_length(tvb);
	}
	if (tvb_captured_length(tvb) < avail) {
		expert_add_info_format(pinfo, ti, &ei_virtio_snaplen,
				       "Only %u of the virtio header bytes were captured (snapshot length)",
				       tvb_captured_length(tvb));
		avail = tvb_captured_length(tvb);
	}
	return avail;
}

static int dissect_virtio_vsock(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)
{
	vsockmon_packet_t *pkt = (vsockmon_packet_t *)data;
	vsock_pkt_analysis_t *pa;
	header_items_t items = { NULL, NULL, NULL };
	virtio_endpoints_t ends;
	proto_item *ti;
	proto_tree *virtio_tree;
	guint avail;
	guint payload_offset, data_offset;
	vsock_split_frag_t frag;

	if (!pkt)
		return 0;	/* only the vsockmon layer knows the header length */

	ti = proto_tree_add_item(tree, proto_virtio_vsock, tvb, 0,
				 MIN(tvb_reported_length(tvb), VIRTIO_VSOCK_HDR_LEN), ENC_NA);
	virtio_tree = proto_item_add_subtree(ti, ett_virtio_vsock);

	avail = header_bytes_available(tvb, pinfo, ti, pkt);
	if (avail < VIRTIO_VSOCK_HDR_LEN) {
		add_partial_header_fields(tvb, virtio_tree, avail);
		vsockmon_set_info_column(pinfo, pkt);
		return tvb_captured_length(tvb);
	}

	read_header(tvb, pkt, &ends);
	if (tree)
		add_header_fields(tvb, virtio_tree, pkt, &ends, &items);
	check_values(pinfo, pkt, &items);
	check_addresses(pinfo, ti, pkt, &ends);
	check_monitor_op(pinfo, pkt);

	payload_offset = MAX(pkt->hdr_len, VIRTIO_VSOCK_HDR_LEN);
	vsock_split_classify(tvb, pinfo, pkt, payload_offset, &frag);
	data_offset = payload_offset + frag.frame_offset;
	pkt->payload_len = payload_length(tvb, pkt, data_offset);
	check_payload_length(tvb, pinfo, ti, pkt, payload_offset, &frag);
	check_split_lost(pinfo, ti, &frag);
	if (pkt->virtio_op == VIRTIO_VSOCK_OP_RST)
		vsockmon_conv_mark_closed(pkt, pinfo);
	pa = virtio_vsock_analyze(pinfo, pkt);
	virtio_vsock_analysis_show(tvb, pinfo, virtio_tree, pkt, pa);

	if (ti) {
		proto_item_set_len(ti, payload_offset);
		set_item_text(ti, pkt);
	}
	set_info_column(pinfo, pkt);

	add_split_fields(tvb, virtio_tree, &frag, payload_offset);
	add_trailer(tvb, virtio_tree, pkt, data_offset);
	dissect_payload(tvb, pinfo, tree, ti, pkt, pa, data_offset);
	if (pa && (pa->found & VSOCK_FOUND_STREAM_END))
		virtio_vsock_end_stream(tvb, pinfo, tree, pkt, pa);
	mark_fragment_in_info(pinfo, pkt, &frag);
	return tvb_captured_length(tvb);
}

void proto_register_virtio_vsock(void)
{
	static hf_register_info hf[] = {
		{ &hf_virtio_src_cid,
		  { "Source CID", "virtio_vsock.src_cid", FT_UINT64, BASE_DEC | BASE_VAL64_STRING | BASE_SPECIAL_VALS,
		    VALS64(vsockmon_cid_names), 0x0, NULL, HFILL } },
		{ &hf_virtio_dst_cid,
		  { "Destination CID", "virtio_vsock.dst_cid", FT_UINT64,
		    BASE_DEC | BASE_VAL64_STRING | BASE_SPECIAL_VALS, VALS64(vsockmon_cid_names), 0x0, NULL, HFILL } },
		{ &hf_virtio_src_port,
		  { "Source Port", "virtio_vsock.src_port", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
		{ &hf_virtio_dst_port,
		  { "Destination Port", "virtio_vsock.dst_port", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
		{ &hf_virtio_trailer,
		  { "Trailer (bytes beyond len)", "virtio_vsock.trailer", FT_BYTES, BASE_NONE, NULL, 0x0,
		    NULL, HFILL } },
		{ &hf_virtio_split_packet_len,
		  { "Split packet length", "virtio_vsock.split.packet_len", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Host-side tap frame of a packet vhost split across the guest's receive buffers: "
		    "the whole packet's payload length", HFILL } },
		{ &hf_virtio_split_offset,
		  { "Fragment offset", "virtio_vsock.split.offset", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Offset of this fragment's data in the packet vhost split", HFILL } },
		{ &hf_virtio_split_preceding,
		  { "Earlier fragments (copied by the tap)", "virtio_vsock.split.preceding", FT_BYTES, BASE_NONE,
		    NULL, 0x0, "Bytes of the split packet before this fragment, which the kernel's tap "
		    "copied into this frame too", HFILL } },
		{ &hf_virtio_len,
		  { "Length", "virtio_vsock.len", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Payload length", HFILL } },
		{ &hf_virtio_type,
		  { "Type", "virtio_vsock.type", FT_UINT16, BASE_DEC, VALS(virtio_type_names), 0x0,
		    "Socket type", HFILL } },
		{ &hf_virtio_op,
		  { "Operation", "virtio_vsock.op", FT_UINT16, BASE_DEC, VALS(virtio_op_names), 0x0, NULL, HFILL } },
		{ &hf_virtio_flags,
		  { "Flags", "virtio_vsock.flags", FT_UINT32, BASE_HEX, NULL, 0x0,
		    "Meaning depends on the operation", HFILL } },
		{ &hf_virtio_flags_shutdown_rcv,
		  { "Receive shutdown", "virtio_vsock.flags.shutdown_rcv", FT_BOOLEAN, 32, NULL,
		    VIRTIO_VSOCK_SHUTDOWN_RCV, "The sender will receive no more data", HFILL } },
		{ &hf_virtio_flags_shutdown_send,
		  { "Send shutdown", "virtio_vsock.flags.shutdown_send", FT_BOOLEAN, 32, NULL,
		    VIRTIO_VSOCK_SHUTDOWN_SEND, "The sender will send no more data", HFILL } },
		{ &hf_virtio_flags_seq_eom,
		  { "End of message", "virtio_vsock.flags.seq_eom", FT_BOOLEAN, 32, NULL,
		    VIRTIO_VSOCK_SEQ_EOM, "Last fragment of a SEQPACKET message", HFILL } },
		{ &hf_virtio_flags_seq_eor,
		  { "End of record", "virtio_vsock.flags.seq_eor", FT_BOOLEAN, 32, NULL,
		    VIRTIO_VSOCK_SEQ_EOR, "The message was sent with MSG_EOR", HFILL } },
		{ &hf_virtio_flags_unknown,
		  { "Unknown flags", "virtio_vsock.flags.unknown", FT_UINT32, BASE_HEX, NULL, 0x0,
		    "Flag bits with no meaning for this operation and type", HFILL } },
		{ &hf_virtio_buf_alloc,
		  { "Buffer allocation", "virtio_vsock.buf_alloc", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Receive buffer size of the sender", HFILL } },
		{ &hf_virtio_fwd_cnt,
		  { "Forward count", "virtio_vsock.fwd_cnt", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Bytes the sender has consumed from its receive buffer", HFILL } },
	};
	static gint *ett[] = {
		&ett_virtio_vsock,
		&ett_virtio_flags,
	};
	static ei_register_info ei[] = {
		{ &ei_virtio_hdr_len,
		  { "virtio_vsock.hdr_len.wrong", PI_MALFORMED, PI_ERROR,
		    "Transport header length is wrong for the virtio transport", EXPFILL } },
		{ &ei_virtio_short,
		  { "virtio_vsock.short", PI_MALFORMED, PI_ERROR,
		    "Frame ends inside the virtio header", EXPFILL } },
		{ &ei_virtio_snaplen,
		  { "virtio_vsock.snaplen", PI_UNDECODED, PI_NOTE,
		    "Virtio header cut by the snapshot length", EXPFILL } },
		{ &ei_virtio_addr_mismatch,
		  { "virtio_vsock.addr_mismatch", PI_PROTOCOL, PI_WARN,
		    "Virtio addresses or ports differ from the monitor header's", EXPFILL } },
		{ &ei_virtio_op_mismatch,
		  { "virtio_vsock.op_mismatch", PI_PROTOCOL, PI_WARN,
		    "Monitor op is not the one the kernel derives from the virtio op", EXPFILL } },
		{ &ei_virtio_len_mismatch,
		  { "virtio_vsock.len.mismatch", PI_MALFORMED, PI_ERROR,
		    "len differs from the payload the frame carries", EXPFILL } },
		{ &ei_virtio_len_split_tap,
		  { "virtio_vsock.len.split_tap", PI_PROTOCOL, PI_NOTE,
		    "Tap frame of a vhost-split packet carries more than its fragment (kernel bug)", EXPFILL } },
		{ &ei_virtio_split_lost,
		  { "virtio_vsock.split.lost", PI_SEQUENCE, PI_WARN,
		    "Tap frames of a vhost-split packet are missing from the capture", EXPFILL } },
		{ &ei_virtio_len_snaplen,
		  { "virtio_vsock.len.snaplen", PI_UNDECODED, PI_NOTE,
		    "Payload cut by the snapshot length", EXPFILL } },
		{ &ei_virtio_payload_not_rw,
		  { "virtio_vsock.payload_not_rw", PI_PROTOCOL, PI_WARN,
		    "Payload on an operation other than RW", EXPFILL } },
		{ &ei_virtio_unknown_type,
		  { "virtio_vsock.type.unknown", PI_PROTOCOL, PI_WARN,
		    "Unknown socket type", EXPFILL } },
		{ &ei_virtio_unknown_op,
		  { "virtio_vsock.op.unknown", PI_PROTOCOL, PI_WARN,
		    "Invalid or unknown operation", EXPFILL } },
		{ &ei_virtio_unknown_flags,
		  { "virtio_vsock.flags.unknown_set", PI_PROTOCOL, PI_WARN,
		    "Flags set that have no meaning for this operation", EXPFILL } },
	};
	expert_module_t *expert_virtio;

	proto_virtio_vsock = proto_register_protocol("Virtio VSOCK transport", "VIRTIO-VSOCK", "virtio_vsock");
	proto_register_field_array(proto_virtio_vsock, hf, array_length(hf));
	proto_register_subtree_array(ett, array_length(ett));
	expert_virtio = expert_register_protocol(proto_virtio_vsock);
	expert_register_field_array(expert_virtio, ei, array_length(ei));

	virtio_vsock_handle = register_dissector("virtio_vsock", dissect_virtio_vsock, proto_virtio_vsock);
	virtio_vsock_analysis_register(proto_virtio_vsock);
	virtio_vsock_reassembly_register(proto_virtio_vsock);
	vsock_split_register(proto_virtio_vsock);
}

void proto_reg_handoff_virtio_vsock(void)
{
	dissector_add_uint("vsockmon.transport", AF_VSOCK_TRANSPORT_VIRTIO, virtio_vsock_handle);
}
