/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsock-builtin-fields.c - the fields of Wireshark's built-in "vsock"
 * dissector (vsock.src_cid, vsock.virtio.op, vsock.payload, ...), filled in
 * for the filters, columns, colouring rules and scripts written for it.
 *
 * The plugin takes LINKTYPE_VSOCK over from the built-in dissector, whose
 * fields stay registered but would then match nothing: a profile's
 * "vsock.virtio.op == 5" or a script's "-e vsock.src_cid" would silently
 * go empty the day the plugin is installed. So each frame gets a hidden
 * "vsock" item with the built-in dissector's fields and values, read from
 * the same bytes the same way (packet-vsock.c): the monitor header, the
 * virtio header when the transport says VIRTIO, and every byte after
 * 32 + the header's len as vsock.payload. Where the built-in dissector
 * stops at an exception (a header cut short, a payload not all captured),
 * the items stop too, so a filter matches the frames it matched before.
 * The one difference: a header len of 65504 or more, whose payload offset
 * the built-in dissector wraps at 16 bits, gets no payload here.
 *
 * The items cost a tree's worth of work on every frame, and only a filter
 * or a column that names a vsock.* field needs them: they are added only
 * when one does (see wanted()). The preference
 * vsockmon.builtin_fields turns them off.
 */
#include "vsockmon-int.h"

#include <string.h>

#include <epan/prefs.h>

/* One built-in field: its name, its bytes, and what registration gave it. */
typedef struct builtin_field {
	const char *name;
	guint offset;
	guint size;		/* 2, 4 or 8: a little-endian number; 0: 2 bytes as they are */
	int hf;
	header_field_info *hfinfo;
} builtin_field_t;

#define MONITOR_FIELD(name, off, size) { name, VSOCKMON_OFF_##off, size, -1, NULL }
#define VIRTIO_FIELD(name, off, size) { name, VSOCKMON_FRAME_VIRTIO_OFF(VIRTIO_VSOCK_OFF_##off), size, -1, NULL }

/* The monitor header, in packet-vsock.c's order. */
static builtin_field_t monitor_fields[] = {
	MONITOR_FIELD("vsock.src_cid", SRC_CID, 8),
	MONITOR_FIELD("vsock.dst_cid", DST_CID, 8),
	MONITOR_FIELD("vsock.src_port", SRC_PORT, 4),
	MONITOR_FIELD("vsock.dst_port", DST_PORT, 4),
	MONITOR_FIELD("vsock.op", OP, 2),
	MONITOR_FIELD("vsock.trans", TRANSPORT, 2),
	MONITOR_FIELD("vsock.trans_len", LEN, 2),
	MONITOR_FIELD("vsock.reserved", RESERVED, 0),
};

/* The virtio header (the built-in dissector spells the ports "prot"). */
static builtin_field_t virtio_fields[] = {
	VIRTIO_FIELD("vsock.virtio.src_cid", SRC_CID, 8),
	VIRTIO_FIELD("vsock.virtio.dst_cid", DST_CID, 8),
	VIRTIO_FIELD("vsock.virtio.src_prot", SRC_PORT, 4),
	VIRTIO_FIELD("vsock.virtio.dst_prot", DST_PORT, 4),
	VIRTIO_FIELD("vsock.virtio.len", LEN, 4),
	VIRTIO_FIELD("vsock.virtio.type", TYPE, 2),
	VIRTIO_FIELD("vsock.virtio.op", OP, 2),
	VIRTIO_FIELD("vsock.virtio.flags", FLAGS, 4),
	VIRTIO_FIELD("vsock.virtio.buf_alloc", BUF_ALLOC, 4),
	VIRTIO_FIELD("vsock.virtio.fwd_cnt", FWD_CNT, 4),
};

/* The words of the built-in dissector's "vSocket, Op: Connect, Transport: Virtio". */
static const value_string builtin_op_names[] = {
	{ 0, "Unknown" },
	{ AF_VSOCK_OP_CONNECT, "Connect" },
	{ AF_VSOCK_OP_DISCONNECT, "Disconnect" },
	{ AF_VSOCK_OP_CONTROL, "Control" },
	{ AF_VSOCK_OP_PAYLOAD, "Payload" },
	{ 0, NULL }
};

static const value_string builtin_transport_names[] = {
	{ AF_VSOCK_TRANSPORT_UNKNOWN, "Unknown" },
	{ AF_VSOCK_TRANSPORT_NO_INFO, "No info" },
	{ AF_VSOCK_TRANSPORT_VIRTIO, "Virtio" },
	{ 0, NULL }
};

static int proto_builtin_vsock = -1;
static gboolean printed_by_tshark_e;	/* up to 4.2: tshark's command line has -e vsock[.*] */
static int hf_builtin_payload = -1;
static gint ett_builtin_vsock = -1;

static vsockmon_api_bool fill_builtin_fields = TRUE;

void vsock_builtin_fields_register(module_t *vsockmon_module)
{
	static gint *ett[] = { &ett_builtin_vsock };

	proto_register_subtree_array(ett, array_length(ett));
	prefs_register_bool_preference(vsockmon_module, "builtin_fields",
				       "Fill the built-in dissector's vsock.* fields",
				       "Give each frame the fields of Wireshark's own vsock dissector "
				       "(vsock.src_cid, vsock.virtio.op, vsock.payload, ...), hidden, so that "
				       "filters, columns and scripts written for it keep working. They are "
				       "added only when a filter, column or tshark -e names one",
				       &fill_builtin_fields);
}

static gboolean lookup_all(builtin_field_t *fields, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		fields[i].hf = proto_registrar_get_id_byname(fields[i].name);
		if (fields[i].hf < 0)
			return FALSE;
		fields[i].hfinfo = proto_registrar_get_nth(fields[i].hf);
	}
	return TRUE;
}

/*
 * Up to 4.2, tshark -T fields asks for a visible tree and marks nothing
 * referenced: the fields it prints are known only to its command line.
 * Read it (Linux: /proc/self/cmdline, NUL-separated) for "-e NAME" or
 * "-eNAME" naming vsock or a vsock.* field.
 */
static gboolean command_line_prints_builtin_field(void)
{
	gchar *cmdline = NULL;
	gsize len = 0;
	gboolean found = FALSE;

	if (!g_file_get_contents("/proc/self/cmdline", &cmdline, &len, NULL))
		return FALSE;
	for (gsize at = 0; at < len && !found; at += strlen(cmdline + at) + 1) {
		const char *arg = cmdline + at;
		const char *name = NULL;

		if (strcmp(arg, "-e") == 0 && at + 3 < len)
			name = arg + 3;
		else if (strncmp(arg, "-e", 2) == 0)
			name = arg + 2;
		found = name && (strcmp(name, "vsock") == 0 || strncmp(name, "vsock.", 6) == 0);
	}
	g_free(cmdline);
	return found;
}

/* The built-in dissector registers before any plugin; a Wireshark without it gets nothing. */
void vsock_builtin_fields_handoff(void)
{
	int proto = proto_get_id_by_filter_name("vsock");

	hf_builtin_payload = proto_registrar_get_id_byname("vsock.payload");
	if (proto < 0 || hf_builtin_payload < 0 || !lookup_all(monitor_fields, array_length(monitor_fields)) ||
	    !lookup_all(virtio_fields, array_length(virtio_fields)))
		return;
	proto_builtin_vsock = proto;
	printed_by_tshark_e = !VSOCKMON_WS_AT_LEAST(4, 4) && command_line_prints_builtin_field();
}

static gboolean any_referenced(const builtin_field_t *fields, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (fields[i].hfinfo->ref_type != HF_REF_TYPE_NONE)
			return TRUE;
	return FALSE;
}

/*
 * Does a filter or column of this dissection name "vsock" or one of its
 * fields? Filters, custom columns and colouring rules mark the fields they
 * name "referenced", and so does tshark's -e in 4.4 and 4.6; up to 4.2 (4.2,
 * which we cannot test, taken for 4.0: the safe side) tshark -T fields only
 * asks for a visible tree, so there its command line says.
 */
static gboolean wanted(proto_tree *tree)
{
	protocol_t *protocol;

	if (!tree || proto_builtin_vsock < 0 || !fill_builtin_fields)
		return FALSE;
	if (printed_by_tshark_e && PTREE_DATA(tree)->visible)
		;	/* -T fields -e vsock.* */
	else if (proto_registrar_get_nth(proto_builtin_vsock)->ref_type == HF_REF_TYPE_NONE &&
		 proto_registrar_get_nth(hf_builtin_payload)->ref_type == HF_REF_TYPE_NONE &&
		 !any_referenced(monitor_fields, array_length(monitor_fields)) &&
		 !any_referenced(virtio_fields, array_length(virtio_fields)))
		return FALSE;
	/* "Enabled Protocols" turned it off: its fields stay empty, as they would have */
	protocol = find_protocol_by_id(proto_builtin_vsock);
	return protocol && proto_is_protocol_enabled(protocol);
}

/*
 * Add the fields whose bytes the frame has, in order; FALSE where the
 * built-in dissector would have thrown (a header cut short). Values are
 * read once and added as numbers, the cheap way.
 */
static gboolean add_fields(tvbuff_t *tvb, proto_tree *tree, const builtin_field_t *fields, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const builtin_field_t *f = &fields[i];

		if (!tvb_bytes_exist(tvb, f->offset, f->size ? f->size : 2))
			return FALSE;
		switch (f->size) {
		case 8:
			proto_tree_add_uint64(tree, f->hf, tvb, f->offset, 8, tvb_get_letoh64(tvb, f->offset));
			break;
		case 4:
			proto_tree_add_uint(tree, f->hf, tvb, f->offset, 4, tvb_get_letohl(tvb, f->offset));
			break;
		case 2:
			proto_tree_add_uint(tree, f->hf, tvb, f->offset, 2, tvb_get_letohs(tvb, f->offset));
			break;
		default:
			proto_tree_add_item(tree, f->hf, tvb, f->offset, 2, ENC_NA);
		}
	}
	return TRUE;
}

/*
 * The built-in dissector opens a "Virtio transport header" subtree of 44
 * bytes before the fields. Up to 4.2 a text item checks its bytes exist,
 * so a shorter header throws there, before any virtio field; from 4.4
 * (checked on 4.4 and 4.6, 4.2 assumed as 4.0) it does not in tshark's
 * filters and -T fields, and the fields stop where the bytes do.
 */
static gboolean virtio_subtree_fits(tvbuff_t *tvb)
{
	return VSOCKMON_WS_AT_LEAST(4, 4) || tvb_bytes_exist(tvb, VSOCKMON_HDR_LEN, VIRTIO_VSOCK_HDR_LEN);
}

/* The vsock item's fields, as far as the built-in dissector would have got. */
static void fill(tvbuff_t *tvb, packet_info *pinfo, proto_item *ti)
{
	proto_tree *vsock_tree = proto_item_add_subtree(ti, ett_builtin_vsock);
	guint reported = tvb_reported_length(tvb);
	guint payload_offset;
	guint16 transport;

	if (!add_fields(tvb, vsock_tree, monitor_fields, array_length(monitor_fields)))
		return;
	transport = tvb_get_letohs(tvb, VSOCKMON_OFF_TRANSPORT);
	proto_item_append_text(ti, ", Op: %s, Transport: %s",
			       VSOCKMON_VAL_TO_STR(pinfo->pool, tvb_get_letohs(tvb, VSOCKMON_OFF_OP), builtin_op_names,
					       "Unknown (%d)"),
			       VSOCKMON_VAL_TO_STR(pinfo->pool, transport, builtin_transport_names, "Unknown (%d)"));
	if (transport == AF_VSOCK_TRANSPORT_VIRTIO &&
	    (!virtio_subtree_fits(tvb) || !add_fields(tvb, vsock_tree, virtio_fields, array_length(virtio_fields))))
		return;
	payload_offset = VSOCKMON_HDR_LEN + tvb_get_letohs(tvb, VSOCKMON_OFF_LEN);
	if (payload_offset < reported && tvb_bytes_exist(tvb, payload_offset, reported - payload_offset))
		proto_tree_add_bytes_format(vsock_tree, hf_builtin_payload, tvb, payload_offset,
					    reported - payload_offset, NULL, "Payload (%uB)", reported - payload_offset);
}

void vsock_builtin_fields_add(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree)
{
	proto_item *ti;

	/* the built-in dissector refuses frames shorter than its header */
	if (tvb_reported_length(tvb) < VSOCKMON_HDR_LEN || !wanted(tree))
		return;
	ti = proto_tree_add_item(tree, proto_builtin_vsock, tvb, 0, -1, ENC_NA);
	fill(tvb, pinfo, ti);
	/* hidden last: a hidden item's text is not kept, and -e vsock prints it */
	proto_item_set_hidden(ti);
}
