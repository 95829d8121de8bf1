/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * packet-ttrpc.c - ttrpc, the gRPC-like protocol of containerd shims and
 * the Kata Containers agent (vsock port 1024 by default).
 *
 * A message is a 10-byte big-endian header - length (4), stream id (4),
 * type (1), flags (1) - and a protobuf body: Request {service, method,
 * payload, timeout_nano, metadata} or Response {status, payload}. The
 * method's own payload goes to Wireshark's protobuf dissector, which
 * decodes it by type when the user loaded the .proto files.
 */
#include "vsockmon-int.h"

#include <epan/exceptions.h>
#include <epan/expert.h>
#include <epan/prefs.h>
#include <epan/proto_data.h>
#include <epan/show_exception.h>

#define TTRPC_HDR_LEN		10
#define TTRPC_DEFAULT_PORT	1024
#define TTRPC_MAX_LEN		(4u << 20)	/* ttrpc's messageLengthMax */

enum ttrpc_type {
	TTRPC_REQUEST = 1,
	TTRPC_RESPONSE = 2,
	TTRPC_DATA = 3,
};

/* protobuf wire types */
enum {
	PB_VARINT = 0,
	PB_FIXED64 = 1,
	PB_LEN = 2,
	PB_FIXED32 = 5,
};

static int proto_ttrpc = -1;

static int hf_length = -1;
static int hf_stream_id = -1;
static int hf_type = -1;
static int hf_flags = -1;
static int hf_flag_remote_closed = -1;
static int hf_flag_remote_open = -1;
static int hf_flag_no_data = -1;
static int hf_service = -1;
static int hf_method = -1;
static int hf_timeout = -1;
static int hf_metadata_key = -1;
static int hf_metadata_value = -1;
static int hf_payload = -1;
static int hf_status_code = -1;
static int hf_status_message = -1;
static int hf_response_in = -1;
static int hf_response_to = -1;
static int hf_time = -1;

static gint ett_ttrpc = -1;
static gint ett_flags = -1;

static expert_field ei_bad_header = EI_INIT;
static expert_field ei_bad_body = EI_INIT;
static expert_field ei_no_response = EI_INIT;

static dissector_handle_t ttrpc_handle;
static dissector_handle_t protobuf_handle;

static const value_string type_names[] = {
	{ TTRPC_REQUEST, "Request" },
	{ TTRPC_RESPONSE, "Response" },
	{ TTRPC_DATA, "Data" },
	{ 0, NULL }
};

/* google.rpc.Code */
static const value_string status_names[] = {
	{ 0, "OK" }, { 1, "CANCELLED" }, { 2, "UNKNOWN" }, { 3, "INVALID_ARGUMENT" },
	{ 4, "DEADLINE_EXCEEDED" }, { 5, "NOT_FOUND" }, { 6, "ALREADY_EXISTS" },
	{ 7, "PERMISSION_DENIED" }, { 8, "RESOURCE_EXHAUSTED" }, { 9, "FAILED_PRECONDITION" },
	{ 10, "ABORTED" }, { 11, "OUT_OF_RANGE" }, { 12, "UNIMPLEMENTED" }, { 13, "INTERNAL" },
	{ 14, "UNAVAILABLE" }, { 15, "DATA_LOSS" }, { 16, "UNAUTHENTICATED" },
	{ 0, NULL }
};

static int * const flag_fields[] = {
	&hf_flag_remote_closed,
	&hf_flag_remote_open,
	&hf_flag_no_data,
	NULL
};

#define TTRPC_FLAG_REMOTE_CLOSED 0x01

/*
 * One call: a request and its response on the same stream id. A streaming
 * call may end instead with the server's Data message flagged remote
 * closed (containerd/ttrpc sends no Response then).
 */
typedef struct ttrpc_call {
	guint32 request_frame;
	guint32 response_frame;	/* the Response, or the Data that closed the call */
	nstime_t request_time;
	const char *path;	/* "/service/method" */
	int client_flow;	/* vsockmon flow of the request's sender (-1: unknown) */
} ttrpc_call_t;

/* ---- protobuf wire format, just what ttrpc's own messages need ---- */

typedef struct pb_field {
	guint32 number;
	guint32 wire_type;
	guint64 value;		/* PB_VARINT */
	int offset;		/* PB_LEN: the bytes */
	int length;
	int end;		/* offset after the field */
} pb_field_t;

static gboolean pb_next(tvbuff_t *tvb, int offset, int end, pb_field_t *field)
{
	guint64 key;
	guint used = tvb_get_varint(tvb, offset, end - offset, &key, ENC_VARINT_PROTOBUF);

	if (!used || offset + (int)used > end)
		return FALSE;
	offset += used;
	field->number = (guint32)(key >> 3);
	field->wire_type = (guint32)(key & 7);
	field->offset = offset;
	switch (field->wire_type) {
	case PB_VARINT:
		used = tvb_get_varint(tvb, offset, end - offset, &field->value, ENC_VARINT_PROTOBUF);
		field->length = (int)used;
		break;
	case PB_LEN:
		used = tvb_get_varint(tvb, offset, end - offset, &field->value, ENC_VARINT_PROTOBUF);
		if (!used || field->value > (guint64)(end - offset - (int)used))
			return FALSE;
		field->offset = offset + (int)used;
		field->length = (int)field->value;
		break;
	case PB_FIXED64:
		field->length = 8;
		break;
	case PB_FIXED32:
		field->length = 4;
		break;
	default:
		return FALSE;
	}
	if (field->wire_type == PB_VARINT && !field->length)
		return FALSE;
	field->end = field->offset + field->length;
	return field->end <= end;
}

/*
 * Does protobuf, reading the top level of [offset, end) field by field as
 * it does, come to a length-delimited field whose length does not fit in
 * an int with the tag and length varints added? Wireshark's protobuf
 * dissector casts such a length and fails an assertion on the negative
 * item length: a "[Dissector bug, protocol ProtoBuf ...]" that ends the
 * frame (the calls after it are lost), an abort under
 * WIRESHARK_ABORT_ON_DISSECTOR_BUG. Fields it cannot read end its walk,
 * as they end this one. (Nested messages it reads only by a user's .proto
 * type; those are not checked.)
 */
static gboolean pb_length_overflows(tvbuff_t *tvb, int offset, int end)
{
	while (offset < end) {
		pb_field_t field = { 0 };

		/* pb_next() refuses a length beyond the bytes, after reading it */
		if (!pb_next(tvb, offset, end, &field))
			return field.wire_type == PB_LEN && field.value > (guint64)(G_MAXINT32 - 20);
		offset = field.end;
	}
	return FALSE;
}

/* ---- bodies ---- */

/*
 * The method's message, to the protobuf dissector. A payload it cannot
 * parse is its malformed item, not the end of this frame: the other
 * messages in the segment still get dissected, and the columns still say
 * what the ttrpc calls are.
 */
static void hand_to_protobuf(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, int offset, int length,
			     const char *path, const char *direction)
{
	tvbuff_t *payload = tvb_new_subset_length(tvb, offset, length);
	gboolean writable = col_get_writable(pinfo->cinfo, -1);

	proto_tree_add_item(tree, hf_payload, tvb, offset, length, ENC_NA);
	if (!protobuf_handle || length <= 0)
		return;
	/* the protobuf dissector's gRPC convention: "application/grpc,/svc/method,request" */
	col_set_writable(pinfo->cinfo, -1, FALSE);
	TRY {
		/* what protobuf says of a length beyond the bytes, but for its cast */
		if (pb_length_overflows(payload, 0, length))
			THROW(ReportedBoundsError);
		call_dissector_with_data(protobuf_handle, payload, pinfo, tree,
					 wmem_strdup_printf(pinfo->pool, "application/grpc,%s,%s", path ? path : "",
							    direction));
	}
	CATCH_NONFATAL_ERRORS {
		col_set_writable(pinfo->cinfo, -1, writable);
		show_exception(payload, pinfo, tree, EXCEPT_CODE, GET_MESSAGE);
	}
	ENDTRY;
	col_set_writable(pinfo->cinfo, -1, writable);
}

static void add_metadata(tvbuff_t *tvb, proto_tree *tree, const pb_field_t *kv)
{
	pb_field_t f;
	int offset = kv->offset;

	while (offset < kv->end && pb_next(tvb, offset, kv->end, &f)) {
		if (f.wire_type == PB_LEN && f.number == 1)
			proto_tree_add_item(tree, hf_metadata_key, tvb, f.offset, f.length, ENC_UTF_8);
		else if (f.wire_type == PB_LEN && f.number == 2)
			proto_tree_add_item(tree, hf_metadata_value, tvb, f.offset, f.length, ENC_UTF_8);
		offset = f.end;
	}
}

/*
 * Request {1 service, 2 method, 3 payload, 4 timeout_nano, 5 metadata};
 * returns "/service/method" (also kept in the call, first thing, so the
 * response finds it whatever the payload does).
 */
static const char *dissect_request(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, int offset, int end,
				   ttrpc_call_t *call)
{
	const char *service = "", *method = "";
	pb_field_t f, payload = { 0 };
	gboolean have_payload = FALSE;

	while (offset < end && pb_next(tvb, offset, end, &f)) {
		if (f.number == 1 && f.wire_type == PB_LEN)
			proto_tree_add_item_ret_string(tree, hf_service, tvb, f.offset, f.length, ENC_UTF_8,
						       pinfo->pool, (const guint8 **)&service);
		else if (f.number == 2 && f.wire_type == PB_LEN)
			proto_tree_add_item_ret_string(tree, hf_method, tvb, f.offset, f.length, ENC_UTF_8,
						       pinfo->pool, (const guint8 **)&method);
		else if (f.number == 3 && f.wire_type == PB_LEN)
			payload = f, have_payload = TRUE;
		else if (f.number == 4 && f.wire_type == PB_VARINT)
			proto_tree_add_uint64(tree, hf_timeout, tvb, f.offset, f.length, f.value);
		else if (f.number == 5 && f.wire_type == PB_LEN)
			add_metadata(tvb, tree, &f);
		offset = f.end;
	}
	if (offset != end)
		return NULL;
	{
		const char *path = call && call->path ? call->path :
				   wmem_strdup_printf(wmem_file_scope(), "/%s/%s", service, method);

		if (call && !call->path)
			call->path = path;
		if (have_payload)
			hand_to_protobuf(tvb, pinfo, tree, payload.offset, payload.length, path, "request");
		return path;
	}
}

/* google.rpc.Status {1 code, 2 message} */
static guint32 dissect_status(tvbuff_t *tvb, proto_tree *tree, const pb_field_t *status)
{
	pb_field_t f;
	int offset = status->offset;
	guint32 code = 0;

	while (offset < status->end && pb_next(tvb, offset, status->end, &f)) {
		if (f.number == 1 && f.wire_type == PB_VARINT)
			code = (guint32)f.value;
		else if (f.number == 2 && f.wire_type == PB_LEN)
			proto_tree_add_item(tree, hf_status_message, tvb, f.offset, f.length, ENC_UTF_8);
		offset = f.end;
	}
	proto_tree_add_uint(tree, hf_status_code, tvb, status->offset, status->length, code);
	return code;
}

/* Response {1 status, 2 payload}; returns FALSE when the body is not protobuf. */
static gboolean dissect_response(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, int offset, int end,
				 const ttrpc_call_t *call, guint32 *code)
{
	pb_field_t f;
	gboolean have_status = FALSE;
	int start = offset;

	*code = 0;
	while (offset < end && pb_next(tvb, offset, end, &f)) {
		if (f.number == 1 && f.wire_type == PB_LEN) {
			*code = dissect_status(tvb, tree, &f);
			have_status = TRUE;
		} else if (f.number == 2 && f.wire_type == PB_LEN) {
			hand_to_protobuf(tvb, pinfo, tree, f.offset, f.length, call ? call->path : NULL, "response");
		}
		offset = f.end;
	}
	if (!have_status)	/* protobuf leaves out a default status: that is OK */
		proto_item_set_generated(proto_tree_add_uint(tree, hf_status_code, tvb, start, 0, 0));
	return offset == end;
}

/* ---- request/response matching ---- */

static wmem_map_t *calls_of(packet_info *pinfo)
{
	conversation_t *conv = find_or_create_conversation(pinfo);
	wmem_map_t *calls = (wmem_map_t *)conversation_get_proto_data(conv, proto_ttrpc);

	if (!calls) {
		calls = wmem_map_new(wmem_file_scope(), g_direct_hash, g_direct_equal);
		conversation_add_proto_data(conv, proto_ttrpc, calls);
	}
	return calls;
}

/* Whether the message sent in this flow comes from the call's server. */
static gboolean from_server(const ttrpc_call_t *call, int flow)
{
	return call && call->client_flow >= 0 && flow >= 0 && flow != call->client_flow;
}

/* A Response, or the server's Data that closes a streaming call. */
static gboolean ends_call(const ttrpc_call_t *call, guint8 type, guint8 flags, int flow)
{
	if (type == TTRPC_RESPONSE)
		return TRUE;
	return type == TTRPC_DATA && (flags & TTRPC_FLAG_REMOTE_CLOSED) && from_server(call, flow);
}

/*
 * The call this message belongs to, kept per frame so later passes find it
 * without the map. A frame may hold several messages, handed to us in
 * several calls (a reassembled PDU, then the rest of the segment), so the
 * key is the message's stream and type, not its position.
 */
static ttrpc_call_t *match_call(packet_info *pinfo, guint32 stream_id, guint8 type, guint8 flags, int flow)
{
	guint32 key = stream_id << 2 | (type & 3);
	ttrpc_call_t *call = (ttrpc_call_t *)p_get_proto_data(wmem_file_scope(), pinfo, proto_ttrpc, key);
	wmem_map_t *calls;

	if (call || PINFO_FD_VISITED(pinfo))
		return call;
	calls = calls_of(pinfo);
	if (type == TTRPC_REQUEST) {
		call = wmem_new0(wmem_file_scope(), ttrpc_call_t);
		call->request_frame = pinfo->num;
		call->request_time = pinfo->abs_ts;
		call->client_flow = flow;
		wmem_map_insert(calls, GUINT_TO_POINTER(stream_id), call);
	} else {
		call = (ttrpc_call_t *)wmem_map_lookup(calls, GUINT_TO_POINTER(stream_id));
		if (call && !call->response_frame && ends_call(call, type, flags, flow))
			call->response_frame = pinfo->num;
	}
	if (call)
		p_add_proto_data(wmem_file_scope(), pinfo, proto_ttrpc, key, call);
	return call;
}

static void show_call(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, proto_item *ti, guint8 type,
		      const ttrpc_call_t *call)
{
	proto_item *item;

	if (!call)
		return;
	if (type == TTRPC_REQUEST) {
		if (call->response_frame) {
			item = proto_tree_add_uint(tree, hf_response_in, tvb, 0, 0, call->response_frame);
			proto_item_set_generated(item);
		} else if (PINFO_FD_VISITED(pinfo)) {
			expert_add_info(pinfo, ti, &ei_no_response);
		}
	} else {
		/* a Response, or a Data message of a streaming call */
		item = proto_tree_add_uint(tree, hf_response_to, tvb, 0, 0, call->request_frame);
		proto_item_set_generated(item);
		if (call->response_frame == pinfo->num) {
			nstime_t delta;

			nstime_delta(&delta, &pinfo->abs_ts, &call->request_time);
			item = proto_tree_add_time(tree, hf_time, tvb, 0, 0, &delta);
			proto_item_set_generated(item);
		}
	}
}

/* ---- messages ---- */

static void add_length_stream_type(proto_tree *tree, tvbuff_t *tvb, int offset)
{
	proto_tree_add_item(tree, hf_length, tvb, offset, 4, ENC_BIG_ENDIAN);
	proto_tree_add_item(tree, hf_stream_id, tvb, offset + 4, 4, ENC_BIG_ENDIAN);
	proto_tree_add_item(tree, hf_type, tvb, offset + 8, 1, ENC_BIG_ENDIAN);
}

static int dissect_message(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, int offset, int flow)
{
	guint32 length = tvb_get_ntohl(tvb, offset);
	guint32 stream_id = tvb_get_ntohl(tvb, offset + 4);
	guint8 type = tvb_get_guint8(tvb, offset + 8);
	guint8 flags = tvb_get_guint8(tvb, offset + 9);
	int body = offset + TTRPC_HDR_LEN, end = body + (int)length;
	proto_item *ti = proto_tree_add_item(tree, proto_ttrpc, tvb, offset, TTRPC_HDR_LEN + length, ENC_NA);
	proto_tree *msg_tree = proto_item_add_subtree(ti, ett_ttrpc);
	ttrpc_call_t *call = match_call(pinfo, stream_id, type, flags, flow);
	const char *path = call ? call->path : NULL;
	gboolean body_ok = TRUE;
	guint32 code = 0;

	add_length_stream_type(msg_tree, tvb, offset);
	proto_tree_add_bitmask(msg_tree, tvb, offset + 9, hf_flags, ett_flags, flag_fields, ENC_BIG_ENDIAN);

	if (type == TTRPC_REQUEST) {
		path = dissect_request(tvb, pinfo, msg_tree, body, end, call);
		body_ok = path != NULL;
	} else if (type == TTRPC_RESPONSE) {
		body_ok = dissect_response(tvb, pinfo, msg_tree, body, end, call, &code);
	} else if (type == TTRPC_DATA && length) {
		/* a streaming call's message: the client's are requests, the server's responses */
		hand_to_protobuf(tvb, pinfo, msg_tree, body, (int)length, path,
				 from_server(call, flow) ? "response" : "request");
	} else if (length) {
		proto_tree_add_item(msg_tree, hf_payload, tvb, body, length, ENC_NA);
	}
	if (!body_ok)
		expert_add_info(pinfo, ti, &ei_bad_body);
	show_call(tvb, pinfo, msg_tree, ti, type, call);

	proto_item_append_text(ti, ", %s, stream %u%s%s", VSOCKMON_VAL_TO_STR(pinfo->pool, type, type_names, "type %u"),
			       stream_id, path ? " " : "", path ? path : "");
	col_append_sep_fstr(pinfo->cinfo, COL_INFO, ", ", "%s %u%s%s%s%s",
			    VSOCKMON_VAL_TO_STR(pinfo->pool, type, type_names, "type %u"), stream_id,
			    path ? " " : "", path ? path : "", type == TTRPC_RESPONSE ? " " : "",
			    type == TTRPC_RESPONSE ? VSOCKMON_VAL_TO_STR(pinfo->pool, code, status_names, "status %u") : "");
	return TTRPC_HDR_LEN + (int)length;
}

/*
 * Could the bytes at offset start a ttrpc header, as far as they go?
 * Port 1024 is also the first port Linux binds automatically, so other
 * traffic lands there too: a connection's first message must look like a
 * client's first call - a whole header, a Request on an odd (client)
 * stream, a body that starts with a Request field - rather than swallow
 * whatever comes. Later headers need only a sane length (containerd/ttrpc
 * skips message types it does not know, so they are shown, not refused).
 */
static gboolean plausible_header(tvbuff_t *tvb, int offset, int available, gboolean known_ttrpc)
{
	int have = available - offset;
	guint8 first_tag;

	if (have >= 4 && tvb_get_ntohl(tvb, offset) > TTRPC_MAX_LEN)
		return FALSE;
	if (known_ttrpc)
		return TRUE;
	if (have < TTRPC_HDR_LEN || tvb_get_guint8(tvb, offset + 8) != TTRPC_REQUEST ||
	    !(tvb_get_ntohl(tvb, offset + 4) & 1) || (tvb_get_guint8(tvb, offset + 9) & ~0x07))
		return FALSE;
	if (tvb_get_ntohl(tvb, offset) == 0 || have == TTRPC_HDR_LEN)
		return TRUE;
	/* service (1), method (2), payload (3): length-delimited; timeout (4): varint; metadata (5) */
	first_tag = tvb_get_guint8(tvb, offset + TTRPC_HDR_LEN);
	return first_tag == 0x0a || first_tag == 0x12 || first_tag == 0x1a || first_tag == 0x20 || first_tag == 0x2a;
}

/* A message cut by the segment, with reassembly off: what its header says. */
static int dissect_cut_message(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, int offset, int available)
{
	proto_item *ti = proto_tree_add_item(tree, proto_ttrpc, tvb, offset, available - offset, ENC_NA);
	proto_tree *msg_tree = proto_item_add_subtree(ti, ett_ttrpc);

	if (available - offset >= TTRPC_HDR_LEN)
		add_length_stream_type(msg_tree, tvb, offset);
	proto_item_append_text(ti, ", cut: %d bytes here, the rest in later segments (reassembly is off)",
			       available - offset);
	col_append_sep_str(pinfo->cinfo, COL_INFO, ", ", "[cut message]");
	return available;
}

/* Whole messages only: ask the transport for the rest of a cut one. */
static int dissect_ttrpc(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
	const vsockmon_packet_t *pkt = vsockmon_packet_of(pinfo);
	int offset = 0, available = (int)tvb_reported_length(tvb);
	conversation_t *conv = find_conversation_pinfo(pinfo, 0);
	gboolean known = conv && conversation_get_proto_data(conv, proto_ttrpc);

	if (!plausible_header(tvb, 0, available, known))
		return 0;
	col_set_str(pinfo->cinfo, COL_PROTOCOL, "TTRPC");
	/* one frame can bring several calls (a reassembled PDU, then the rest) */
	if (!p_get_proto_data(pinfo->pool, pinfo, proto_ttrpc, 0)) {
		col_clear(pinfo->cinfo, COL_INFO);
		p_add_proto_data(pinfo->pool, pinfo, proto_ttrpc, 0, GINT_TO_POINTER(1));
	}
	while (offset < available) {
		int have = available - offset;

		if (!plausible_header(tvb, offset, available, TRUE)) {
			proto_item *ti = proto_tree_add_item(tree, proto_ttrpc, tvb, offset, -1, ENC_NA);

			expert_add_info(pinfo, ti, &ei_bad_header);
			return available;
		}
		if (have < TTRPC_HDR_LEN || have < (int)(TTRPC_HDR_LEN + tvb_get_ntohl(tvb, offset))) {
			if (!pinfo->can_desegment)
				return dissect_cut_message(tvb, pinfo, tree, offset, available);
			pinfo->desegment_offset = offset;
			pinfo->desegment_len = have < TTRPC_HDR_LEN ? DESEGMENT_ONE_MORE_SEGMENT :
					       TTRPC_HDR_LEN + tvb_get_ntohl(tvb, offset) - (guint32)have;
			return available;
		}
		offset += dissect_message(tvb, pinfo, tree, offset, pkt ? pkt->flow : -1);
	}
	return offset;
}

void proto_register_ttrpc(void)
{
	static hf_register_info hf[] = {
		{ &hf_length, { "Length", "ttrpc.length", FT_UINT32, BASE_DEC, NULL, 0x0, "Body length", HFILL } },
		{ &hf_stream_id, { "Stream ID", "ttrpc.stream_id", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
		{ &hf_type, { "Type", "ttrpc.type", FT_UINT8, BASE_DEC, VALS(type_names), 0x0, NULL, HFILL } },
		{ &hf_flags, { "Flags", "ttrpc.flags", FT_UINT8, BASE_HEX, NULL, 0x0, NULL, HFILL } },
		{ &hf_flag_remote_closed, { "Remote closed", "ttrpc.flags.remote_closed", FT_BOOLEAN, 8, NULL, 0x01,
					    NULL, HFILL } },
		{ &hf_flag_remote_open, { "Remote open", "ttrpc.flags.remote_open", FT_BOOLEAN, 8, NULL, 0x02,
					  NULL, HFILL } },
		{ &hf_flag_no_data, { "No data", "ttrpc.flags.no_data", FT_BOOLEAN, 8, NULL, 0x04, NULL, HFILL } },
		{ &hf_service, { "Service", "ttrpc.service", FT_STRING, BASE_NONE, NULL, 0x0, NULL, HFILL } },
		{ &hf_method, { "Method", "ttrpc.method", FT_STRING, BASE_NONE, NULL, 0x0, NULL, HFILL } },
		{ &hf_timeout, { "Timeout (ns)", "ttrpc.timeout_nano", FT_UINT64, BASE_DEC, NULL, 0x0, NULL, HFILL } },
		{ &hf_metadata_key, { "Metadata key", "ttrpc.metadata.key", FT_STRING, BASE_NONE, NULL, 0x0, NULL,
				      HFILL } },
		{ &hf_metadata_value, { "Metadata value", "ttrpc.metadata.value", FT_STRING, BASE_NONE, NULL, 0x0,
					NULL, HFILL } },
		{ &hf_payload, { "Payload", "ttrpc.payload", FT_BYTES, BASE_NONE, NULL, 0x0,
				 "The method's protobuf message", HFILL } },
		{ &hf_status_code, { "Status", "ttrpc.status.code", FT_UINT32, BASE_DEC, VALS(status_names), 0x0,
				     NULL, HFILL } },
		{ &hf_status_message, { "Status message", "ttrpc.status.message", FT_STRING, BASE_NONE, NULL, 0x0,
					NULL, HFILL } },
		{ &hf_response_in, { "Response in", "ttrpc.response_in", FT_FRAMENUM, BASE_NONE,
				     FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE), 0x0, NULL, HFILL } },
		{ &hf_response_to, { "Request in", "ttrpc.response_to", FT_FRAMENUM, BASE_NONE,
				     FRAMENUM_TYPE(FT_FRAMENUM_REQUEST), 0x0, NULL, HFILL } },
		{ &hf_time, { "Response time", "ttrpc.time", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0,
			      "Time from the request to this response", HFILL } },
	};
	static gint *ett[] = {
		&ett_ttrpc,
		&ett_flags,
	};
	static ei_register_info ei[] = {
		{ &ei_bad_header, { "ttrpc.header.invalid", PI_MALFORMED, PI_ERROR,
				    "Not a ttrpc header: length over 4 MiB", EXPFILL } },
		{ &ei_bad_body, { "ttrpc.body.malformed", PI_MALFORMED, PI_ERROR,
				  "Body is not a valid protobuf message", EXPFILL } },
		{ &ei_no_response, { "ttrpc.no_response", PI_SEQUENCE, PI_NOTE, "Request without a response",
				     EXPFILL } },
	};
	expert_module_t *expert_ttrpc;

	proto_ttrpc = proto_register_protocol("ttrpc (containerd / Kata agent RPC)", "TTRPC", "ttrpc");
	proto_register_field_array(proto_ttrpc, hf, array_length(hf));
	proto_register_subtree_array(ett, array_length(ett));
	expert_ttrpc = expert_register_protocol(proto_ttrpc);
	expert_register_field_array(expert_ttrpc, ei, array_length(ei));
	ttrpc_handle = register_dissector("ttrpc", dissect_ttrpc, proto_ttrpc);
	/* holds the port preference that dissector_add_uint_with_preference() adds */
	prefs_register_protocol(proto_ttrpc, NULL);
}

void proto_reg_handoff_ttrpc(void)
{
	/* the port is a preference: Protocols > TTRPC > VSOCK port */
	dissector_add_uint_with_preference("vsockmon.port", TTRPC_DEFAULT_PORT, ttrpc_handle);
	protobuf_handle = find_dissector("protobuf");
}
