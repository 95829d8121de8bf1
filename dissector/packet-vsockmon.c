/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * packet-vsockmon.c - the vsockmon monitor header (struct af_vsockmon_hdr)
 * of LINKTYPE_VSOCK frames: CID addresses, ports, connections
 * (vsockmon.stream), the conversation/endpoint tables, Follow Stream, and
 * the payload hand-off to upper protocols. The transport header that
 * follows is dissected through the "vsockmon.transport" table.
 */
#include "vsockmon-int.h"
#include "vsockmon-text.h"

#include <epan/address_types.h>
#include <epan/conversation_filter.h>
#include <epan/conversation_table.h>
#include <epan/decode_as.h>
#include <epan/dissectors/packet-tcp.h>
#include <epan/exceptions.h>
#include <epan/expert.h>
#include <epan/follow.h>
#include <epan/show_exception.h>
#include <epan/prefs.h>
#include <epan/proto_data.h>
#include <epan/tap.h>
#include <epan/to_str.h>
#include <wiretap/wtap.h>
#include <wsutil/pint.h>
#include <wsutil/to_str.h>
#include <wsutil/utf8_entities.h>

static int proto_vsockmon = -1;

static int hf_vsockmon_src_cid = -1;
static int hf_vsockmon_dst_cid = -1;
static int hf_vsockmon_cid = -1;
static int hf_vsockmon_src_port = -1;
static int hf_vsockmon_dst_port = -1;
static int hf_vsockmon_port = -1;
static int hf_vsockmon_op = -1;
static int hf_vsockmon_transport = -1;
static int hf_vsockmon_hdr_len = -1;
static int hf_vsockmon_reserved = -1;
static int hf_vsockmon_stream = -1;
static int hf_vsockmon_transport_header = -1;

static gint ett_vsockmon = -1;

static expert_field ei_vsockmon_short_frame = EI_INIT;
static expert_field ei_vsockmon_snaplen = EI_INIT;
static expert_field ei_vsockmon_reserved = EI_INIT;
static expert_field ei_vsockmon_unknown_op = EI_INIT;
static expert_field ei_vsockmon_unknown_transport = EI_INIT;

static int vsockmon_address_type = -1;
static int vsockmon_tap = -1;
static int vsockmon_follow_tap = -1;

static dissector_handle_t vsockmon_handle;
static dissector_table_t transport_table;
static dissector_table_t port_table;
static heur_dissector_list_t heur_subdissectors;

static vsockmon_api_bool try_heuristic_first = FALSE;

const val64_string vsockmon_cid_names[] = {
	{ VSOCK_CID_HYPERVISOR, "hypervisor" },
	{ VSOCK_CID_LOCAL, "local" },
	{ VSOCK_CID_HOST, "host" },
	{ VSOCK_CID_ANY, "any" },
	{ 0, NULL }
};

static const value_string vsockmon_op_names[] = {
	{ AF_VSOCK_OP_UNKNOWN, "UNKNOWN" },
	{ AF_VSOCK_OP_CONNECT, "CONNECT" },
	{ AF_VSOCK_OP_DISCONNECT, "DISCONNECT" },
	{ AF_VSOCK_OP_CONTROL, "CONTROL" },
	{ AF_VSOCK_OP_PAYLOAD, "PAYLOAD" },
	{ 0, NULL }
};

static const value_string vsockmon_transport_names[] = {
	{ AF_VSOCK_TRANSPORT_UNKNOWN, "UNKNOWN" },
	{ AF_VSOCK_TRANSPORT_NO_INFO, "NO_INFO" },
	{ AF_VSOCK_TRANSPORT_VIRTIO, "VIRTIO" },
	{ 0, NULL }
};

/* ---- the CID address type ---- */

static guint64 cid_of(const address *addr)
{
	return pletohu64(addr->data);
}

static int cid_addr_to_str(const address *addr, gchar *buf, int buf_len)
{
	guint64 cid = cid_of(addr);
	const char *name = try_val64_to_str(cid, vsockmon_cid_names);

	if (name)
		(void)g_strlcpy(buf, name, buf_len);
	else
		uint64_to_str_buf(cid, buf, buf_len);	/* no printf: two of these per frame */
	return (int)strlen(buf) + 1;
}

static int cid_addr_str_len(const address *addr _U_)
{
	return 21;	/* 2^64 - 1 in decimal, plus the NUL */
}

/* Address columns filter on the monitor header's CIDs. */
static const char *cid_col_filter_str(const address *addr _U_, vsockmon_api_bool is_src)
{
	return is_src ? "vsockmon.src_cid" : "vsockmon.dst_cid";
}

static int cid_addr_len(void)
{
	return 8;
}

/* ---- payload hand-off ---- */

static gboolean try_port_dissectors(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
				    vsockmon_packet_t *pkt)
{
	guint32 low = MIN(pkt->src_port, pkt->dst_port);
	guint32 high = MAX(pkt->src_port, pkt->dst_port);

	if (dissector_try_uint_with_data(port_table, low, tvb, pinfo, tree, TRUE, pkt->tcpinfo))
		return TRUE;
	return high != low && dissector_try_uint_with_data(port_table, high, tvb, pinfo, tree, TRUE, pkt->tcpinfo);
}

static gboolean try_heuristics(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
			       vsockmon_packet_t *pkt)
{
	heur_dtbl_entry_t *hdtbl_entry;

	return dissector_try_heuristic(heur_subdissectors, tvb, pinfo, tree, &hdtbl_entry, pkt->tcpinfo);
}

/* A dissector an upper layer (or the user) set on Wireshark's conversation. */
static gboolean try_conversation(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
				 vsockmon_packet_t *pkt)
{
	conversation_t *conv = find_conversation(pinfo->num, &pkt->src, &pkt->dst, CONVERSATION_NONE,
						 pkt->src_port, pkt->dst_port, 0);
	dissector_handle_t handle = conv ? conversation_get_dissector(conv, pinfo->num) : NULL;

	return handle && call_dissector_only(handle, tvb, pinfo, tree, pkt->tcpinfo) > 0;
}

static void dispatch_payload(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
			     vsockmon_packet_t *pkt)
{
	/*
	 * Decode As offers tcp.port dissectors, and they take their data for
	 * a struct tcpinfo (HTTP reads its FIN flag): give them one, zeroed -
	 * no flags, no sequence numbers - never this packet record.
	 */
	if (!pkt->tcpinfo)
		pkt->tcpinfo = wmem_new0(pinfo->pool, struct tcpinfo);
	if (try_conversation(tvb, pinfo, tree, pkt))
		return;
	if (try_heuristic_first && try_heuristics(tvb, pinfo, tree, pkt))
		return;
	if (try_port_dissectors(tvb, pinfo, tree, pkt))
		return;
	if (!try_heuristic_first && try_heuristics(tvb, pinfo, tree, pkt))
		return;
	/* the data layer shows bytes in the tree and nothing else: without a
	 * tree (tshark's plain columns, a GUI's first pass) it has nothing to do */
	if (tree)
		call_data_dissector(tvb, pinfo, tree);
}

/* Read by the follow tap, which every frame of a connection gets (see dissect_vsockmon). */
void vsockmon_follow_payload(tvbuff_t *payload_tvb, packet_info *pinfo)
{
	vsockmon_packet_t *pkt;

	if (!have_tap_listener(vsockmon_follow_tap))
		return;	/* nobody follows: no record lookup per payload */
	pkt = vsockmon_packet_of(pinfo);
	if (pkt)
		pkt->follow_tvb = payload_tvb;
}

void vsockmon_dispatch_payload(tvbuff_t *payload_tvb, packet_info *pinfo, proto_tree *tree,
			       vsockmon_packet_t *pkt)
{
	/*
	 * An upper layer's exception must not cost us the rest of the frame
	 * (the vsockmon tap behind the conversation/endpoint tables, the end
	 * of stream): catch BoundsError too - an upper layer reading past a
	 * payload cut by the snapshot length throws it - and DissectorError,
	 * neither of which CATCH_NONFATAL_ERRORS catches. show_exception()
	 * still says "Packet size limited during capture" for the former.
	 */
	TRY {
		dispatch_payload(payload_tvb, pinfo, tree, pkt);
	}
	CATCH_BOUNDS_AND_DISSECTOR_ERRORS {
		show_exception(payload_tvb, pinfo, tree, EXCEPT_CODE, GET_MESSAGE);
	}
	ENDTRY;
}

void vsockmon_dissect_payload(tvbuff_t *payload_tvb, packet_info *pinfo, proto_tree *tree,
			      vsockmon_packet_t *pkt)
{
	vsockmon_follow_payload(payload_tvb, pinfo);
	vsockmon_dispatch_payload(payload_tvb, pinfo, tree, pkt);
}

/* ---- the monitor header ---- */

/* The header values (every frame needs them, with or without a tree). */
static void read_header(tvbuff_t *tvb, vsockmon_packet_t *pkt)
{
	pkt->src_cid = tvb_get_letoh64(tvb, VSOCKMON_OFF_SRC_CID);
	pkt->dst_cid = tvb_get_letoh64(tvb, VSOCKMON_OFF_DST_CID);
	pkt->src_port = tvb_get_letohl(tvb, VSOCKMON_OFF_SRC_PORT);
	pkt->dst_port = tvb_get_letohl(tvb, VSOCKMON_OFF_DST_PORT);
	pkt->op = tvb_get_letohs(tvb, VSOCKMON_OFF_OP);
	pkt->transport = tvb_get_letohs(tvb, VSOCKMON_OFF_TRANSPORT);
	pkt->hdr_len = tvb_get_letohs(tvb, VSOCKMON_OFF_LEN);
}

/*
 * The header fields in wire order, with their sizes from vsockmon_wire.h.
 * read_header() has the values already: adding them as numbers costs a
 * third of decoding each field from the tvb again.
 */
static void add_header_fields(tvbuff_t *tvb, proto_tree *tree, vsockmon_packet_t *pkt)
{
	proto_item *ti;

	proto_tree_add_uint64(tree, hf_vsockmon_src_cid, tvb, VSOCKMON_OFF_SRC_CID, 8, pkt->src_cid);
	proto_tree_add_uint64(tree, hf_vsockmon_dst_cid, tvb, VSOCKMON_OFF_DST_CID, 8, pkt->dst_cid);
	proto_tree_add_uint(tree, hf_vsockmon_src_port, tvb, VSOCKMON_OFF_SRC_PORT, 4, pkt->src_port);
	proto_tree_add_uint(tree, hf_vsockmon_dst_port, tvb, VSOCKMON_OFF_DST_PORT, 4, pkt->dst_port);

	/* Either-direction fields, hidden, for filters like vsockmon.port == 1024. */
	ti = proto_tree_add_uint64(tree, hf_vsockmon_cid, tvb, VSOCKMON_OFF_SRC_CID, 8, pkt->src_cid);
	proto_item_set_hidden(ti);
	ti = proto_tree_add_uint64(tree, hf_vsockmon_cid, tvb, VSOCKMON_OFF_DST_CID, 8, pkt->dst_cid);
	proto_item_set_hidden(ti);
	ti = proto_tree_add_uint(tree, hf_vsockmon_port, tvb, VSOCKMON_OFF_SRC_PORT, 4, pkt->src_port);
	proto_item_set_hidden(ti);
	ti = proto_tree_add_uint(tree, hf_vsockmon_port, tvb, VSOCKMON_OFF_DST_PORT, 4, pkt->dst_port);
	proto_item_set_hidden(ti);

	pkt->op_item = proto_tree_add_uint(tree, hf_vsockmon_op, tvb, VSOCKMON_OFF_OP, 2, pkt->op);
	pkt->transport_item = proto_tree_add_uint(tree, hf_vsockmon_transport, tvb, VSOCKMON_OFF_TRANSPORT, 2,
						  pkt->transport);
	pkt->hdr_len_item = proto_tree_add_uint(tree, hf_vsockmon_hdr_len, tvb, VSOCKMON_OFF_LEN, 2, pkt->hdr_len);
	pkt->reserved_item = proto_tree_add_item(tree, hf_vsockmon_reserved, tvb, VSOCKMON_OFF_RESERVED, 2,
						 ENC_NA);
}

/*
 * Op 0 (UNKNOWN) is what the kernel writes for a virtio op it does not
 * know (virtio_transport_build_skb()): with a virtio header, the virtio
 * layer says whether that op was unknown (or the monitor op wrong) itself.
 */
static void check_header(tvbuff_t *tvb, packet_info *pinfo, const vsockmon_packet_t *pkt)
{
	if (pkt->op > AF_VSOCK_OP_PAYLOAD ||
	    (pkt->op == AF_VSOCK_OP_UNKNOWN && pkt->transport != AF_VSOCK_TRANSPORT_VIRTIO))
		expert_add_info(pinfo, pkt->op_item, &ei_vsockmon_unknown_op);
	if (pkt->transport == AF_VSOCK_TRANSPORT_UNKNOWN || pkt->transport > AF_VSOCK_TRANSPORT_VIRTIO)
		expert_add_info(pinfo, pkt->transport_item, &ei_vsockmon_unknown_transport);
	if (tvb_get_letohs(tvb, VSOCKMON_OFF_RESERVED) != 0)
		expert_add_info(pinfo, pkt->reserved_item, &ei_vsockmon_reserved);
}

/*
 * A frame shorter than the monitor header: cut by the snapshot length
 * (reported length is fine) is a note, a frame that really is short is
 * malformed. Either way no exception: show what is there.
 */
static gboolean header_is_complete(tvbuff_t *tvb, packet_info *pinfo, proto_item *ti)
{
	if (tvb_reported_length(tvb) < VSOCKMON_HDR_LEN) {
		expert_add_info_format(pinfo, ti, &ei_vsockmon_short_frame,
				       "Frame of %u bytes is shorter than the %u-byte vsockmon header",
				       tvb_reported_length(tvb), VSOCKMON_HDR_LEN);
		return FALSE;
	}
	if (tvb_captured_length(tvb) < VSOCKMON_HDR_LEN) {
		expert_add_info_format(pinfo, ti, &ei_vsockmon_snaplen,
				       "Only %u of the %u header bytes were captured (snapshot length)",
				       tvb_captured_length(tvb), VSOCKMON_HDR_LEN);
		return FALSE;
	}
	return TRUE;
}

static void add_stream_field(tvbuff_t *tvb, proto_tree *tree, const vsockmon_packet_t *pkt)
{
	proto_item *ti = proto_tree_add_uint(tree, hf_vsockmon_stream, tvb, 0, 0, pkt->stream);

	proto_item_set_generated(ti);
}

/* "VSOCK Monitor, Src: 3:1024, Dst: host:1234, Op: CONNECT" */
static void put_endpoint(text_buf_t *b, const address *addr, guint32 port)
{
	char cid[24];

	cid_addr_to_str(addr, cid, sizeof(cid));
	put_str(b, cid);
	put_str(b, ":");
	put_uint(b, port);
}

static void set_item_text(proto_item *ti, const vsockmon_packet_t *pkt)
{
	char label[ITEM_LABEL_LENGTH];
	text_buf_t b = TEXT_BUF_INIT(label, sizeof(label));

	put_str(&b, proto_get_protocol_name(proto_vsockmon));
	put_str(&b, ", Src: ");
	put_endpoint(&b, &pkt->src, pkt->src_port);
	put_str(&b, ", Dst: ");
	put_endpoint(&b, &pkt->dst, pkt->dst_port);
	put_str(&b, ", Op: ");
	if (pkt->op <= AF_VSOCK_OP_PAYLOAD) {
		put_str(&b, vsockmon_op_names[pkt->op].strptr);
	} else {
		/* the number, as the Operation field shows it: a bare "?" hid it */
		put_str(&b, "Unknown (");
		put_uint(&b, pkt->op);
		put_str(&b, ")");
	}
	text_buf_end(&b);
	proto_item_set_text(ti, "%s", label);
}

/* Info when no transport layer writes its own, richer line. */
void vsockmon_set_info_column(packet_info *pinfo, const vsockmon_packet_t *pkt)
{
	col_add_fstr(pinfo->cinfo, COL_INFO, "%u " UTF8_RIGHTWARDS_ARROW " %u [%s]", pkt->src_port, pkt->dst_port,
		     VSOCKMON_VAL_TO_STR(pinfo->pool, pkt->op, vsockmon_op_names, "op %u"));
}

static void set_addresses(tvbuff_t *tvb, packet_info *pinfo, vsockmon_packet_t *pkt)
{
	set_address_tvb(&pkt->src, vsockmon_address_type, 8, tvb, VSOCKMON_OFF_SRC_CID);
	set_address_tvb(&pkt->dst, vsockmon_address_type, 8, tvb, VSOCKMON_OFF_DST_CID);
	copy_address_shallow(&pinfo->src, &pkt->src);
	copy_address_shallow(&pinfo->dst, &pkt->dst);
	pinfo->ptype = PT_NONE;
	pinfo->srcport = pkt->src_port;
	pinfo->destport = pkt->dst_port;
	/* kept for Decode As, which asks after upper layers may have changed pinfo,
	 * and for our upper layers (vsockmon_packet_of()) */
	p_add_proto_data(pinfo->pool, pinfo, proto_vsockmon, 0, pkt);
}

vsockmon_packet_t *vsockmon_packet_of(packet_info *pinfo)
{
	return (vsockmon_packet_t *)p_get_proto_data(pinfo->pool, pinfo, proto_vsockmon, 0);
}

/*
 * The monitor op CONNECT stands for REQUEST and RESPONSE alike; a late
 * RESPONSE after the RST belongs to the connection it answers, so only a
 * virtio REQUEST (or a CONNECT of a transport we cannot look into) opens a
 * new one on a pair whose connection ended.
 */
static gboolean opens_connection(tvbuff_t *tvb, const vsockmon_packet_t *pkt)
{
	guint op_offset = VSOCKMON_HDR_LEN + VIRTIO_VSOCK_OFF_OP;

	if (pkt->op != AF_VSOCK_OP_CONNECT)
		return FALSE;
	if (pkt->transport != AF_VSOCK_TRANSPORT_VIRTIO || pkt->hdr_len < VIRTIO_VSOCK_OFF_OP + 2 ||
	    !tvb_bytes_exist(tvb, op_offset, 2))
		return TRUE;
	return tvb_get_letohs(tvb, op_offset) != VIRTIO_VSOCK_OP_RESPONSE;
}

/*
 * The header of a transport we cannot read is hdr_len bytes: a frame that
 * ends inside it is malformed, one cut inside it by the snapshot length
 * gets a note (as the virtio layer says of its own header). Either way no
 * exception. Returns how many of its bytes the frame has (reported).
 */
static guint unknown_header_length(tvbuff_t *rest, packet_info *pinfo, const vsockmon_packet_t *pkt)
{
	guint avail = pkt->hdr_len;

	if (tvb_reported_length(rest) < avail) {
		expert_add_info_format(pinfo, pkt->hdr_len_item, &ei_vsockmon_short_frame,
				       "Frame ends %u bytes into the %u-byte transport header",
				       tvb_reported_length(rest), pkt->hdr_len);
		avail = tvb_reported_length(rest);
	}
	if (tvb_captured_length(rest) < avail)
		expert_add_info_format(pinfo, pkt->hdr_len_item, &ei_vsockmon_snaplen,
				       "Only %u of the %u transport header bytes were captured (snapshot length)",
				       tvb_captured_length(rest), pkt->hdr_len);
	return avail;
}

/* The transport header and payload: through the transport table, else data. */
static void dissect_transport(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
			      vsockmon_packet_t *pkt)
{
	tvbuff_t *rest = tvb_new_subset_remaining(tvb, VSOCKMON_HDR_LEN);
	guint hdr_len;

	if (tvb_reported_length(rest) == 0 && pkt->hdr_len == 0) {
		vsockmon_set_info_column(pinfo, pkt);
		return;
	}
	if (dissector_try_uint_with_data(transport_table, pkt->transport, rest, pinfo, tree, TRUE, pkt))
		return;
	vsockmon_set_info_column(pinfo, pkt);
	/* A transport we cannot read: its header is hdr_len bytes, the payload what follows. */
	hdr_len = unknown_header_length(rest, pinfo, pkt);
	if (hdr_len)	/* what was captured of it */
		proto_tree_add_item(tree, hf_vsockmon_transport_header, rest, 0,
				    MIN(hdr_len, tvb_captured_length(rest)), ENC_NA);
	pkt->payload_len = tvb_reported_length(rest) - hdr_len;
	if (tvb_captured_length(rest) > hdr_len)
		vsockmon_dissect_payload(tvb_new_subset_remaining(rest, hdr_len), pinfo, tree, pkt);
}

static int dissect_vsockmon(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
	vsockmon_packet_t *pkt = wmem_new0(pinfo->pool, vsockmon_packet_t);
	proto_item *ti;
	proto_tree *vsockmon_tree;

	col_set_str(pinfo->cinfo, COL_PROTOCOL, "VSOCK");
	col_clear(pinfo->cinfo, COL_INFO);
	vsock_builtin_fields_add(tvb, pinfo, tree);

	ti = proto_tree_add_item(tree, proto_vsockmon, tvb, 0, MIN(tvb_reported_length(tvb), VSOCKMON_HDR_LEN),
				 ENC_NA);
	vsockmon_tree = proto_item_add_subtree(ti, ett_vsockmon);
	if (!header_is_complete(tvb, pinfo, ti)) {
		col_set_str(pinfo->cinfo, COL_INFO, "[truncated vsockmon header]");
		return tvb_captured_length(tvb);
	}

	read_header(tvb, pkt);
	if (tree)
		add_header_fields(tvb, vsockmon_tree, pkt);
	check_header(tvb, pinfo, pkt);
	set_addresses(tvb, pinfo, pkt);
	pkt->opens_connection = opens_connection(tvb, pkt);
	vsockmon_stream_lookup(pinfo, pkt);
	add_stream_field(tvb, vsockmon_tree, pkt);
	vsockmon_timestamps_add(tvb, pinfo, vsockmon_tree, pkt);
	/* Every frame, payload or not: Follow names its nodes from the
	 * connection's first frame, as TCP's does from the SYN. Queued before
	 * the transport runs, so that an exception there cannot lose a payload
	 * already handed to vsockmon_follow_payload(). */
	if (have_tap_listener(vsockmon_follow_tap))
		tap_queue_packet(vsockmon_follow_tap, pinfo, pkt);
	if (ti)
		set_item_text(ti, pkt);

	dissect_transport(tvb, pinfo, tree, pkt);

	tap_queue_packet(vsockmon_tap, pinfo, pkt);
	return tvb_captured_length(tvb);
}

/* ---- conversation and endpoint tables ---- */

static const char *conv_filter_name(conv_filter_type_e filter)
{
	switch (filter) {
	case CONV_FT_SRC_ADDRESS:
		return "vsockmon.src_cid";
	case CONV_FT_DST_ADDRESS:
		return "vsockmon.dst_cid";
	case CONV_FT_ANY_ADDRESS:
		return "vsockmon.cid";
	case CONV_FT_SRC_PORT:
		return "vsockmon.src_port";
	case CONV_FT_DST_PORT:
		return "vsockmon.dst_port";
	case CONV_FT_ANY_PORT:
		return "vsockmon.port";
	default:
		return CONV_FILTER_INVALID;
	}
}

static const char *conv_filter_for_item(conv_item_t *conv _U_, conv_filter_type_e filter)
{
	return conv_filter_name(filter);
}

static const char *conv_filter_for_endpoint(endpoint_item_t *endpoint _U_, conv_filter_type_e filter)
{
	return conv_filter_name(filter);
}

static ct_dissector_info_t vsockmon_ct_dissector_info = { &conv_filter_for_item };
static et_dissector_info_t vsockmon_endpoint_dissector_info = { &conv_filter_for_endpoint };

/*
 * Wireshark 4.0 prints and filters on ports only for the TCP/UDP/SCTP/NCP
 * table types; vsock ports are ports of the same kind, so the table rows
 * say "TCP-like" to get them. The filters still use vsockmon.* fields.
 */
#define VSOCKMON_TABLE_TYPE CONVERSATION_TCP

tap_packet_status vsockmon_conv_packet(void *pct, packet_info *pinfo, epan_dissect_t *edt _U_,
					      const void *data, tap_flags_t flags)
{
	conv_hash_t *hash = (conv_hash_t *)pct;
	const vsockmon_packet_t *pkt = (const vsockmon_packet_t *)data;

	hash->flags = flags;
	add_conversation_table_data_with_conv_id(hash, &pkt->src, &pkt->dst, pkt->src_port, pkt->dst_port,
						 (conv_id_t)pkt->stream, 1, pinfo->fd->pkt_len,
						 &pinfo->rel_ts, &pinfo->abs_ts,
						 &vsockmon_ct_dissector_info, VSOCKMON_TABLE_TYPE);
	return TAP_PACKET_REDRAW;
}

tap_packet_status vsockmon_endpoint_packet(void *pit, packet_info *pinfo, epan_dissect_t *edt _U_,
						  const void *data, tap_flags_t flags)
{
	conv_hash_t *hash = (conv_hash_t *)pit;
	const vsockmon_packet_t *pkt = (const vsockmon_packet_t *)data;

	hash->flags = flags;
	add_endpoint_table_data(hash, &pkt->src, pkt->src_port, TRUE, 1, pinfo->fd->pkt_len,
				&vsockmon_endpoint_dissector_info, VSOCKMON_TABLE_TYPE);
	add_endpoint_table_data(hash, &pkt->dst, pkt->dst_port, FALSE, 1, pinfo->fd->pkt_len,
				&vsockmon_endpoint_dissector_info, VSOCKMON_TABLE_TYPE);
	return TAP_PACKET_REDRAW;
}

/* ---- Follow Stream ---- */

static gchar *follow_conv_filter(epan_dissect_t *edt _U_, packet_info *pinfo, guint *stream,
				 guint *sub_stream _U_)
{
	vsockmon_conv_t *vconv;

	if (pinfo->src.type != vsockmon_address_type)
		return NULL;
	vconv = vsockmon_stream_find(cid_of(&pinfo->src), pinfo->srcport, cid_of(&pinfo->dst), pinfo->destport,
				     pinfo->num);
	if (!vconv)
		return NULL;
	*stream = vconv->stream;
	return ws_strdup_printf("vsockmon.stream eq %u", vconv->stream);
}

/*
 * Analyze > Conversation Filter, Colorize Conversation and the packet list's
 * Conversation Filter menus offer "VSOCK" for a frame of a connection: the
 * filter is its stream, as Follow's, so a pair reused after a reset is not
 * mixed in.
 */
static gchar *stream_filter(packet_info *pinfo)
{
	guint stream, sub_stream;

	return follow_conv_filter(NULL, pinfo, &stream, &sub_stream);
}

static gchar *conversation_filter(VSOCKMON_CONV_FILTER_PARAMS)
{
	return stream_filter(pinfo);
}

static vsockmon_api_bool conversation_filter_valid(VSOCKMON_CONV_FILTER_PARAMS)
{
	gchar *filter = stream_filter(pinfo);

	g_free(filter);
	return filter != NULL;
}

static gchar *follow_index_filter(guint stream, guint sub_stream _U_)
{
	return ws_strdup_printf("vsockmon.stream eq %u", stream);
}

/*
 * tshark's "-z follow,vsockmon,ascii,A:P,B:P" parses A and B as IP
 * addresses (4 or 16 bytes), the GUI hands us ours (8): read each as it
 * is, never 8 bytes of a 4-byte one. 0.0.0.3 is CID 3 (a vsock CID is a
 * 32-bit number); an IPv6 address gives its low 64 bits.
 */
static guint64 follow_cid(const address *addr)
{
	if (addr->type == vsockmon_address_type && addr->len == 8)
		return cid_of(addr);
	if (addr->len == 4)
		return pntohu32(addr->data);
	if (addr->len == 16)
		return pntohu64((const guint8 *)addr->data + 8);
	return G_MAXUINT64;	/* matches no frame */
}

static gchar *follow_address_filter(address *src_addr, address *dst_addr, int src_port, int dst_port)
{
	guint64 src = follow_cid(src_addr);
	guint64 dst = follow_cid(dst_addr);

	return ws_strdup_printf("((vsockmon.src_cid eq %" PRIu64 " and vsockmon.src_port eq %d and "
				"vsockmon.dst_cid eq %" PRIu64 " and vsockmon.dst_port eq %d) or "
				"(vsockmon.src_cid eq %" PRIu64 " and vsockmon.src_port eq %d and "
				"vsockmon.dst_cid eq %" PRIu64 " and vsockmon.dst_port eq %d))",
				src, src_port, dst, dst_port, dst, dst_port, src, src_port);
}

/*
 * Node 0 (the "client") is the side that sent the connection's first frame
 * (flow 0: the REQUEST's sender, or the first sender seen when the capture
 * starts mid-connection), as TCP's is the SYN's sender, even when the other
 * side sends data first. A chunk's side is read from the frame's own
 * addresses: an address/port filter can match several connections on the pair.
 */
static tap_packet_status follow_tap_listener(void *tapdata, packet_info *pinfo, epan_dissect_t *edt _U_,
					     const void *data, tap_flags_t flags _U_)
{
	follow_info_t *info = (follow_info_t *)tapdata;
	const vsockmon_packet_t *pkt = (const vsockmon_packet_t *)data;
	follow_record_t *record;
	guint len;

	if (info->client_ip.type == AT_NONE) {
		gboolean src_is_client = pkt->flow == 0;

		copy_address(&info->client_ip, src_is_client ? &pkt->src : &pkt->dst);
		copy_address(&info->server_ip, src_is_client ? &pkt->dst : &pkt->src);
		info->client_port = src_is_client ? pkt->src_port : pkt->dst_port;
		info->server_port = src_is_client ? pkt->dst_port : pkt->src_port;
	}
	len = pkt->follow_tvb ? tvb_captured_length(pkt->follow_tvb) : 0;
	if (len == 0)
		return TAP_PACKET_DONT_REDRAW;

	record = g_new0(follow_record_t, 1);
	record->is_server = !(addresses_equal(&info->client_ip, &pkt->src) && info->client_port == pkt->src_port);
	record->packet_num = pinfo->num;
	record->abs_ts = pinfo->abs_ts;
	record->data = g_byte_array_sized_new(len);
	g_byte_array_append(record->data, tvb_get_ptr(pkt->follow_tvb, 0, len), len);
	info->bytes_written[record->is_server] += len;
	info->payload = g_list_prepend(info->payload, record);
	return TAP_PACKET_DONT_REDRAW;
}

static gchar *follow_port_to_display(wmem_allocator_t *allocator, guint port)
{
	return wmem_strdup_printf(allocator, "%u", port);
}

#if VSOCKMON_WS_AT_LEAST(4, 2)
static guint32 follow_stream_count(void)
{
	return vsockmon_streams_count();
}
#else
#define follow_stream_count NULL	/* 4.0 does not ask */
#endif

/* ---- Decode As ---- */

static gpointer decode_as_src_port(packet_info *pinfo)
{
	const vsockmon_packet_t *pkt = p_get_proto_data(pinfo->pool, pinfo, proto_vsockmon, 0);

	return GUINT_TO_POINTER(pkt ? pkt->src_port : 0);
}

static gpointer decode_as_dst_port(packet_info *pinfo)
{
	const vsockmon_packet_t *pkt = p_get_proto_data(pinfo->pool, pinfo, proto_vsockmon, 0);

	return GUINT_TO_POINTER(pkt ? pkt->dst_port : 0);
}

static void decode_as_src_prompt(packet_info *pinfo, gchar *result)
{
	snprintf(result, MAX_DECODE_AS_PROMPT_LEN, "source (%u)",
		 GPOINTER_TO_UINT(decode_as_src_port(pinfo)));
}

static void decode_as_dst_prompt(packet_info *pinfo, gchar *result)
{
	snprintf(result, MAX_DECODE_AS_PROMPT_LEN, "destination (%u)",
		 GPOINTER_TO_UINT(decode_as_dst_port(pinfo)));
}

static void decode_as_both_prompt(packet_info *pinfo, gchar *result)
{
	snprintf(result, MAX_DECODE_AS_PROMPT_LEN, "both (%u%s%u)",
		 GPOINTER_TO_UINT(decode_as_src_port(pinfo)), UTF8_LEFT_RIGHT_ARROW,
		 GPOINTER_TO_UINT(decode_as_dst_port(pinfo)));
}

static void register_vsockmon_decode_as(void)
{
	static build_valid_func src_values[1] = { decode_as_src_port };
	static build_valid_func dst_values[1] = { decode_as_dst_port };
	static build_valid_func both_values[2] = { decode_as_src_port, decode_as_dst_port };
	static decode_as_value_t values[3] = {
		{ decode_as_src_prompt, 1, src_values },
		{ decode_as_dst_prompt, 1, dst_values },
		{ decode_as_both_prompt, 2, both_values },
	};
	static decode_as_t vsockmon_da = {
		"vsockmon", "vsockmon.port", 3, 2, values, "VSOCK", "port(s) as",
		decode_as_default_populate_list, decode_as_default_reset, decode_as_default_change, NULL
	};

	register_decode_as(&vsockmon_da);
}

/*
 * Decode As only offers (and tshark -d only accepts) handles already known
 * to the table. Whatever can ride on a TCP port can ride on a vsock stream,
 * so offer every handle of "tcp.port".
 */
static void offer_handle_for_decode_as(const gchar *table_name _U_, gpointer handle, gpointer user_data _U_)
{
	dissector_add_for_decode_as("vsockmon.port", (dissector_handle_t)handle);
}

/* ---- registration ---- */

static void vsockmon_init(void)
{
	vsockmon_streams_init();
	vsockmon_timestamps_init();
}

void proto_register_vsockmon(void)
{
	static hf_register_info hf[] = {
		{ &hf_vsockmon_src_cid,
		  { "Source CID", "vsockmon.src_cid", FT_UINT64, BASE_DEC | BASE_VAL64_STRING | BASE_SPECIAL_VALS,
		    VALS64(vsockmon_cid_names), 0x0, "Context ID of the sender", HFILL } },
		{ &hf_vsockmon_dst_cid,
		  { "Destination CID", "vsockmon.dst_cid", FT_UINT64, BASE_DEC | BASE_VAL64_STRING | BASE_SPECIAL_VALS,
		    VALS64(vsockmon_cid_names), 0x0, "Context ID of the receiver", HFILL } },
		{ &hf_vsockmon_cid,
		  { "Source or Destination CID", "vsockmon.cid", FT_UINT64,
		    BASE_DEC | BASE_VAL64_STRING | BASE_SPECIAL_VALS, VALS64(vsockmon_cid_names), 0x0, NULL, HFILL } },
		{ &hf_vsockmon_src_port,
		  { "Source Port", "vsockmon.src_port", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
		{ &hf_vsockmon_dst_port,
		  { "Destination Port", "vsockmon.dst_port", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
		{ &hf_vsockmon_port,
		  { "Source or Destination Port", "vsockmon.port", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
		{ &hf_vsockmon_op,
		  { "Operation", "vsockmon.op", FT_UINT16, BASE_DEC, VALS(vsockmon_op_names), 0x0,
		    "Monitor operation the kernel derived from the transport operation", HFILL } },
		{ &hf_vsockmon_transport,
		  { "Transport", "vsockmon.transport", FT_UINT16, BASE_DEC, VALS(vsockmon_transport_names), 0x0,
		    NULL, HFILL } },
		{ &hf_vsockmon_hdr_len,
		  { "Transport header length", "vsockmon.hdr_len", FT_UINT16, BASE_DEC, NULL, 0x0, NULL, HFILL } },
		{ &hf_vsockmon_reserved,
		  { "Reserved", "vsockmon.reserved", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
		{ &hf_vsockmon_stream,
		  { "Stream index", "vsockmon.stream", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Connection index in this capture, 0-based", HFILL } },
		{ &hf_vsockmon_transport_header,
		  { "Transport header", "vsockmon.transport_header", FT_BYTES, BASE_NONE, NULL, 0x0,
		    "The header of a transport this dissector does not decode (hdr_len bytes)", HFILL } },
	};
	static gint *ett[] = {
		&ett_vsockmon,
	};
	static ei_register_info ei[] = {
		{ &ei_vsockmon_short_frame,
		  { "vsockmon.short_frame", PI_MALFORMED, PI_ERROR,
		    "Frame is shorter than the vsockmon header or the transport header it announces", EXPFILL } },
		{ &ei_vsockmon_snaplen,
		  { "vsockmon.snaplen", PI_UNDECODED, PI_NOTE,
		    "Frame was cut by the capture's snapshot length", EXPFILL } },
		{ &ei_vsockmon_reserved,
		  { "vsockmon.reserved.nonzero", PI_PROTOCOL, PI_WARN,
		    "Reserved bytes are not zero", EXPFILL } },
		{ &ei_vsockmon_unknown_op,
		  { "vsockmon.op.unknown", PI_PROTOCOL, PI_WARN,
		    "Unknown monitor operation", EXPFILL } },
		{ &ei_vsockmon_unknown_transport,
		  { "vsockmon.transport.unknown", PI_PROTOCOL, PI_WARN,
		    "Unknown transport", EXPFILL } },
	};
	module_t *vsockmon_module;
	expert_module_t *expert_vsockmon;

	proto_vsockmon = proto_register_protocol("VSOCK Monitor", "VSOCK", "vsockmon");
	proto_register_field_array(proto_vsockmon, hf, array_length(hf));
	proto_register_subtree_array(ett, array_length(ett));
	expert_vsockmon = expert_register_protocol(proto_vsockmon);
	expert_register_field_array(expert_vsockmon, ei, array_length(ei));

	vsockmon_address_type = address_type_dissector_register("AT_VSOCKMON", "vsock CID",
								 cid_addr_to_str, cid_addr_str_len, NULL,
								 cid_col_filter_str, cid_addr_len, NULL, NULL);

	vsockmon_handle = register_dissector("vsockmon", dissect_vsockmon, proto_vsockmon);

	transport_table = register_dissector_table("vsockmon.transport", "VSOCK transport",
						   proto_vsockmon, FT_UINT16, BASE_DEC);
	port_table = register_dissector_table("vsockmon.port", "VSOCK port", proto_vsockmon,
					      FT_UINT32, BASE_DEC);
	heur_subdissectors = register_heur_dissector_list("vsockmon", proto_vsockmon);

	vsockmon_module = prefs_register_protocol(proto_vsockmon, NULL);
	prefs_register_bool_preference(vsockmon_module, "try_heuristic_first",
				       "Try heuristic sub-dissectors first",
				       "Try to decode a payload using a heuristic sub-dissector before "
				       "the dissector registered to its port",
				       &try_heuristic_first);

	vsockmon_tap = register_tap("vsockmon");
	vsockmon_follow_tap = register_tap("vsockmon_follow");
	register_conversation_table(proto_vsockmon, FALSE, vsockmon_conv_packet, vsockmon_endpoint_packet);
	vsockmon_register_cli_tables();
	VSOCKMON_REGISTER_FOLLOW(proto_vsockmon, "vsockmon_follow", follow_conv_filter, follow_index_filter,
				 follow_address_filter, follow_port_to_display, follow_tap_listener,
				 follow_stream_count);
	register_vsockmon_decode_as();
	register_init_routine(vsockmon_init);
	vsock_builtin_fields_register(vsockmon_module);
	vsockmon_timestamps_register(proto_vsockmon, vsockmon_module);
}

void proto_reg_handoff_vsockmon(void)
{
	/* Plugin hand-offs run after the built-in ones, so this replaces "vsock". */
	dissector_add_uint("wtap_encap", WTAP_ENCAP_VSOCK, vsockmon_handle);
	vsock_builtin_fields_handoff();
	VSOCKMON_REGISTER_CONV_FILTER("vsockmon", "VSOCK", conversation_filter_valid, conversation_filter);
	/* Colorize Conversation builds its filter with conversation_filter_from_packet(),
	 * which tries only the protocols on this list */
	add_conversation_filter_protocol("vsockmon");
	dissector_table_foreach_handle("tcp.port", offer_handle_for_decode_as, NULL);
}
