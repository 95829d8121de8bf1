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

#include <errno.h>

#include <epan/exceptions.h>
#include <epan/expert.h>
#include <epan/prefs.h>
#include <epan/proto_data.h>
#include <epan/show_exception.h>
#include <epan/uat-int.h>
#include <wsutil/filesystem.h>

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
static int hf_discarded = -1;
static int hf_discarded_from = -1;
static int hf_cut_rest = -1;
static int hf_cut_from = -1;

static gint ett_ttrpc = -1;
static gint ett_flags = -1;

static expert_field ei_bad_body = EI_INIT;
static expert_field ei_no_response = EI_INIT;
static expert_field ei_oversized = EI_INIT;
static expert_field ei_pb_nested_length = EI_INIT;
static expert_field ei_pb_too_deep = EI_INIT;

static dissector_handle_t ttrpc_handle;
static dissector_handle_t protobuf_handle;

/* Has protobuf any .proto file, i.e. any type to read a nested message by? (ttrpc_init()) */
static gboolean protobuf_has_protos;

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

/*
 * Bytes of a message in the flow's next segments, which are no headers:
 * the body of an oversized message (ttrpc's receiver reads and discards
 * it), or, with reassembly off, the rest of a message its segment cut
 * (shown apart: the next message is found after it). Kept for the frame
 * whose payload starts inside it.
 */
typedef struct ttrpc_discard {
	guint32 left;		/* message bytes still to come */
	guint32 header_frame;	/* the frame with the message's header */
	gboolean cut;		/* the rest of a cut message, not an oversized body */
} ttrpc_discard_t;

/* A connection known to carry ttrpc (it began with a client's call). */
typedef struct ttrpc_conv {
	wmem_map_t *calls;		/* stream id -> ttrpc_call_t */
	ttrpc_discard_t discard[2];	/* first pass: per flow, where the last segment left it */
	wmem_map_t *discard_at;		/* frame -> ttrpc_discard_t its payload starts with */
} ttrpc_conv_t;

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
 * What Wireshark's protobuf dissector (4.0; the code is the same in master)
 * cannot take without failing an assertion, a "[Dissector bug, protocol
 * ProtoBuf ...]" that ends the frame (the calls after it are lost) and an
 * abort under WIRESHARK_ABORT_ON_DISSECTOR_BUG:
 *  - a length-delimited field whose length does not fit in an int with the
 *    tag and length varints added: protobuf casts it and sets a negative
 *    item length (proto.c: "length >= 0");
 *  - messages nested so deep that protobuf, which adds 2 to the dissection
 *    depth per message level, passes gui.max_tree_depth (packet.c:
 *    "dissection_depth < gui_max_tree_depth"); with a tree, the tree gets
 *    too deep 2 levels sooner (a DissectorError, no abort, but the frame's
 *    rest is lost all the same).
 * Protobuf reads the top level of every payload; a field's bytes it reads
 * as a nested message only when a user's .proto says the field is one.
 */
enum pb_hazard {
	PB_SAFE,
	PB_TOP_LENGTH,		/* at the top level: protobuf always gets there */
	PB_NESTED_LENGTH,	/* inside a length-delimited field, if that is a message */
	PB_TOO_DEEP,		/* length-delimited fields nested too deep, if they are messages */
};

typedef struct pb_hazard_at {
	int offset;		/* the field's tag, in the payload */
	int depth;		/* 0: a field of the payload's own message */
	guint64 length;		/* the length it claims */
} pb_hazard_at_t;

typedef struct pb_level {
	int offset;		/* the next field */
	int end;
} pb_level_t;

/*
 * The deepest message below the payload's own that protobuf reads without
 * failing. Measured on 4.0.17 (gui.max_tree_depth 20 to 500): at nesting n
 * it fails with a tree when 2n + 6 reaches gui.max_tree_depth, without one
 * when 2n + 2 does, from a dissection depth of 0 where we call it.
 */
static int pb_max_nesting(packet_info *pinfo)
{
	int nesting = ((int)prefs.gui_max_tree_depth - pinfo->dissection_depth - 7) / 2;

	return MAX(nesting, 0);
}

static gboolean pb_varint(tvbuff_t *tvb, int offset, int end, guint64 *value, int *used)
{
	*used = (int)tvb_get_varint(tvb, offset, end - offset, value, ENC_VARINT_PROTOBUF);
	return *used > 0;
}

static void pb_note_hazard(pb_hazard_at_t *at, int offset, int depth, guint64 length)
{
	at->offset = offset;
	at->depth = depth;
	at->length = length;
}

/*
 * Walk the payload as protobuf walks it (dissect_protobuf_message(): field
 * after field until one it cannot read; a field's bytes beyond the payload
 * end its whole walk with an exception) and say where it would fail: at
 * the top level, or, taking every length-delimited field for a message -
 * we do not know the types - the first place deeper. A nested field may
 * just be bytes, which protobuf does not read into, so after a place
 * deeper it goes on with the enclosing field's next one, as protobuf would
 * then: the top level is always checked to its end. Iterative: a 4 MiB
 * payload can nest two million levels.
 */
static enum pb_hazard pb_find_hazard(tvbuff_t *tvb, packet_info *pinfo, pb_hazard_at_t *at)
{
	/* protobuf reads no byte past the captured ones: it throws there */
	int length = (int)tvb_captured_length(tvb), max_nesting = pb_max_nesting(pinfo), depth = 0;
	wmem_array_t *levels = wmem_array_sized_new(pinfo->pool, sizeof(pb_level_t), 16);
	pb_level_t top = { 0, length };
	enum pb_hazard found = PB_SAFE;

	wmem_array_append_one(levels, top);
	while (depth >= 0) {
		pb_level_t *level = (pb_level_t *)wmem_array_index(levels, depth);
		pb_level_t nested;
		guint64 key, value;
		int start = level->offset, offset, used;

		/* the end of a message, or a field protobuf cannot read: it ends the message */
		if (start >= level->end || !pb_varint(tvb, start, level->end, &key, &used)) {
			depth--;
			continue;
		}
		offset = start + used;
		switch (key & 7) {
		case PB_VARINT:
			if (!pb_varint(tvb, offset, level->end, &value, &used)) {
				depth--;
				continue;
			}
			level->offset = offset + used;
			break;
		case PB_FIXED64:
		case PB_FIXED32:
			level->offset = offset + ((key & 7) == PB_FIXED64 ? 8 : 4);
			if (level->offset > length) {
				if (!depth)	/* protobuf throws: nothing after it is read */
					return found;
				depth--;
				continue;
			}
			break;
		case PB_LEN:
			if (!pb_varint(tvb, offset, level->end, &value, &used)) {
				depth--;
				continue;
			}
			offset += used;
			if (value > (guint64)(G_MAXINT32 - 20)) {
				if (!depth) {
					pb_note_hazard(at, start, depth, value);
					return PB_TOP_LENGTH;
				}
				if (found == PB_SAFE) {
					pb_note_hazard(at, start, depth, value);
					found = PB_NESTED_LENGTH;
				}
				depth--;
				continue;
			}
			if (value > (guint64)(length - offset)) {
				if (!depth)
					return found;
				depth--;
				continue;
			}
			level->offset = offset + (int)value;
			if (depth + 1 > max_nesting) {
				/* not read into: as if it were bytes */
				if (found == PB_SAFE) {
					pb_note_hazard(at, start, depth + 1, value);
					found = PB_TOO_DEEP;
				}
				break;
			}
			nested.offset = offset;
			nested.end = offset + (int)value;
			if (++depth < (int)wmem_array_get_count(levels))
				*(pb_level_t *)wmem_array_index(levels, depth) = nested;
			else
				wmem_array_append_one(levels, nested);
			break;
		default:
			depth--;
			continue;
		}
	}
	return found;
}

/* ---- bodies ---- */

/*
 * The method's message, to the protobuf dissector. A payload it cannot
 * parse is its malformed item, not the end of this frame: the other
 * messages in the segment still get dissected, and the columns still say
 * what the ttrpc calls are.
 *
 * A payload protobuf would fail an assertion on (pb_find_hazard()): at the
 * top level, malformed, as protobuf says of a length beyond the bytes but
 * for its cast; deeper, only with .proto files (without, protobuf reads no
 * nested message), an expert, and the payload goes to protobuf without its
 * method, by field numbers only. Deeper we cannot tell a message from bytes
 * that look like one (1 to 1.5 % of random binary bytes fields do), so it
 * is only a warning and the top level is still shown.
 */
static void hand_to_protobuf(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, int offset, int length,
			     const char *path, const char *direction)
{
	tvbuff_t *payload = tvb_new_subset_length(tvb, offset, length);
	gboolean writable = col_get_writable(pinfo->cinfo, -1);
	proto_item *ti = proto_tree_add_item(tree, hf_payload, tvb, offset, length, ENC_NA);

	if (!protobuf_handle || length <= 0)
		return;
	col_set_writable(pinfo->cinfo, -1, FALSE);
	TRY {
		/* the protobuf dissector's gRPC convention: "application/grpc,/svc/method,request" */
		const char *type = wmem_strdup_printf(pinfo->pool, "application/grpc,%s,%s", path ? path : "",
						      direction);
		pb_hazard_at_t at = { 0 };

		switch (pb_find_hazard(payload, pinfo, &at)) {
		case PB_TOP_LENGTH:
			THROW(ReportedBoundsError);
			break;
		case PB_NESTED_LENGTH:
			if (!protobuf_has_protos)
				break;
			expert_add_info_format(pinfo, ti, &ei_pb_nested_length,
					       "Length-delimited field at nesting level %d (payload offset %d) claims %"
					       PRIu64 " bytes: malformed if it is in a message field (Wireshark's protobuf "
					       "dissector would fail an assertion on it); payload decoded without its types",
					       at.depth, at.offset, at.length);
			type = NULL;
			break;
		case PB_TOO_DEEP:
			if (!protobuf_has_protos)
				break;
			expert_add_info_format(pinfo, ti, &ei_pb_too_deep,
					       "Length-delimited fields nested %d levels deep (payload offset %d): if they are "
					       "messages, deeper than Wireshark's protobuf dissector can go (gui.max_tree_depth "
					       "%u); payload decoded without its types",
					       at.depth, at.offset, prefs.gui_max_tree_depth);
			type = NULL;
			break;
		case PB_SAFE:
			break;
		}
		call_dissector_with_data(protobuf_handle, payload, pinfo, tree, (void *)type);
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

/* A Request's service (field 1) or method (field 2): shown, and its text kept. */
static gboolean add_path_field(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const pb_field_t *f,
			       const char **service, const char **method)
{
	if (f->wire_type != PB_LEN || (f->number != 1 && f->number != 2))
		return FALSE;
	proto_tree_add_item_ret_string(tree, f->number == 1 ? hf_service : hf_method, tvb, f->offset, f->length,
				       ENC_UTF_8, pinfo->pool, (const guint8 **)(f->number == 1 ? service : method));
	return TRUE;
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
		offset = f.end;
		if (add_path_field(tvb, pinfo, tree, &f, &service, &method))
			continue;
		if (f.number == 3 && f.wire_type == PB_LEN)
			payload = f, have_payload = TRUE;
		else if (f.number == 4 && f.wire_type == PB_VARINT)
			proto_tree_add_uint64(tree, hf_timeout, tvb, f.offset, f.length, f.value);
		else if (f.number == 5 && f.wire_type == PB_LEN)
			add_metadata(tvb, tree, &f);
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

/* The connection's state: from its first message on, it is known to carry ttrpc. */
static ttrpc_conv_t *conv_of(packet_info *pinfo)
{
	conversation_t *conv = find_or_create_conversation(pinfo);
	ttrpc_conv_t *tc = (ttrpc_conv_t *)conversation_get_proto_data(conv, proto_ttrpc);

	if (!tc) {
		tc = wmem_new0(wmem_file_scope(), ttrpc_conv_t);
		tc->calls = wmem_map_new(wmem_file_scope(), g_direct_hash, g_direct_equal);
		tc->discard_at = wmem_map_new(wmem_file_scope(), g_direct_hash, g_direct_equal);
		conversation_add_proto_data(conv, proto_ttrpc, tc);
	}
	return tc;
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
	calls = conv_of(pinfo)->calls;
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

static proto_item *add_length_stream_type(proto_tree *tree, tvbuff_t *tvb, int offset)
{
	proto_item *length = proto_tree_add_item(tree, hf_length, tvb, offset, 4, ENC_BIG_ENDIAN);

	proto_tree_add_item(tree, hf_stream_id, tvb, offset + 4, 4, ENC_BIG_ENDIAN);
	proto_tree_add_item(tree, hf_type, tvb, offset + 8, 1, ENC_BIG_ENDIAN);
	return length;
}

/* A message's header as its item shows it, and what the body has to go on. */
typedef struct ttrpc_msg {
	guint32 length, stream_id;
	guint8 type;
	int body;		/* the body's offset */
	guint32 here;		/* how much of the body the segment has */
	proto_item *ti, *length_item;
	proto_tree *tree;
	ttrpc_call_t *call;
} ttrpc_msg_t;

/*
 * The start of a message (whole, or oversized): its item over the header
 * and the body bytes the segment has, the four header fields, and its call.
 */
static ttrpc_msg_t open_message(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, int offset, int available,
				int flow)
{
	ttrpc_msg_t msg;
	guint8 flags = tvb_get_uint8(tvb, offset + 9);

	msg.length = tvb_get_ntohl(tvb, offset);
	msg.stream_id = tvb_get_ntohl(tvb, offset + 4);
	msg.type = tvb_get_uint8(tvb, offset + 8);
	msg.body = offset + TTRPC_HDR_LEN;
	msg.here = MIN(msg.length, (guint32)(available - msg.body));
	msg.ti = proto_tree_add_item(tree, proto_ttrpc, tvb, offset, TTRPC_HDR_LEN + (int)msg.here, ENC_NA);
	msg.tree = proto_item_add_subtree(msg.ti, ett_ttrpc);
	msg.call = match_call(pinfo, msg.stream_id, msg.type, flags, flow);
	msg.length_item = add_length_stream_type(msg.tree, tvb, offset);
	proto_tree_add_bitmask(msg.tree, tvb, offset + 9, hf_flags, ett_flags, flag_fields, ENC_BIG_ENDIAN);
	return msg;
}

/* The end of a message: its call, then "type, stream, path" and what follows (tail) in its label and Info. */
static void close_message(tvbuff_t *tvb, packet_info *pinfo, const ttrpc_msg_t *msg, const char *path,
			  const char *label_tail, const char *info_tail)
{
	const char *type = VSOCKMON_VAL_TO_STR(pinfo->pool, msg->type, type_names, "type %u");

	show_call(tvb, pinfo, msg->tree, msg->ti, msg->type, msg->call);
	proto_item_append_text(msg->ti, ", %s, stream %u%s%s%s", type, msg->stream_id, path ? " " : "",
			       path ? path : "", label_tail);
	col_append_sep_fstr(pinfo->cinfo, COL_INFO, ", ", "%s %u%s%s%s", type, msg->stream_id, path ? " " : "",
			    path ? path : "", info_tail);
}

/* A message within ttrpc's length limit that the segment holds whole. */
static int dissect_message(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, int offset, int available, int flow)
{
	ttrpc_msg_t msg = open_message(tvb, pinfo, tree, offset, available, flow);
	int end = msg.body + (int)msg.length;
	const char *path = msg.call ? msg.call->path : NULL;
	gboolean body_ok = TRUE;
	guint32 code = 0;

	if (msg.type == TTRPC_REQUEST) {
		path = dissect_request(tvb, pinfo, msg.tree, msg.body, end, msg.call);
		body_ok = path != NULL;
	} else if (msg.type == TTRPC_RESPONSE) {
		body_ok = dissect_response(tvb, pinfo, msg.tree, msg.body, end, msg.call, &code);
	} else if (msg.type == TTRPC_DATA && msg.length) {
		/* a streaming call's message: the client's are requests, the server's responses */
		hand_to_protobuf(tvb, pinfo, msg.tree, msg.body, (int)msg.length, path,
				 from_server(msg.call, flow) ? "response" : "request");
	} else if (msg.length) {
		proto_tree_add_item(msg.tree, hf_payload, tvb, msg.body, msg.length, ENC_NA);
	}
	if (!body_ok)
		expert_add_info(pinfo, msg.ti, &ei_bad_body);
	close_message(tvb, pinfo, &msg, path, "",
		      msg.type == TTRPC_RESPONSE ?
		      wmem_strdup_printf(pinfo->pool, " %s",
					 VSOCKMON_VAL_TO_STR(pinfo->pool, code, status_names, "status %u")) : "");
	return TTRPC_HDR_LEN + (int)msg.length;
}

/*
 * Could the bytes at offset start a connection's first ttrpc message?
 * Port 1024 is also the first port Linux binds automatically, so other
 * traffic lands there too: a connection's first message must look like a
 * client's first call - a whole header with a length within ttrpc's limit,
 * a Request on an odd (client) stream, a body that starts with a Request
 * field - rather than swallow whatever comes. Later headers are taken as
 * they come, as ttrpc's receiver takes them: it skips message types it does
 * not know, and discards the body of a message over its length limit.
 */
static gboolean plausible_first_header(tvbuff_t *tvb, int offset, int available)
{
	int have = available - offset;
	guint8 first_tag;

	if (have < TTRPC_HDR_LEN || tvb_get_ntohl(tvb, offset) > TTRPC_MAX_LEN ||
	    tvb_get_uint8(tvb, offset + 8) != TTRPC_REQUEST ||
	    !(tvb_get_ntohl(tvb, offset + 4) & 1) || (tvb_get_uint8(tvb, offset + 9) & ~0x07))
		return FALSE;
	if (tvb_get_ntohl(tvb, offset) == 0 || have == TTRPC_HDR_LEN)
		return TRUE;
	/* service (1), method (2), payload (3): length-delimited; timeout (4): varint; metadata (5) */
	first_tag = tvb_get_uint8(tvb, offset + TTRPC_HDR_LEN);
	return first_tag == 0x0a || first_tag == 0x12 || first_tag == 0x1a || first_tag == 0x20 || first_tag == 0x2a;
}

/*
 * A message cut by the segment, with reassembly off: what its header says.
 * Its length (the header's first field) tells where the next message starts: its rest in the
 * flow's next segments is skipped (as an oversized body is), and the
 * connection is ttrpc's from here on, as after a whole first call.
 */
static int dissect_cut_message(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, int offset, int available,
			       int flow)
{
	proto_item *ti = proto_tree_add_item(tree, proto_ttrpc, tvb, offset, available - offset, ENC_NA);
	proto_tree *msg_tree = proto_item_add_subtree(ti, ett_ttrpc);
	int have = available - offset;

	if (have >= TTRPC_HDR_LEN)
		add_length_stream_type(msg_tree, tvb, offset);
	proto_item_append_text(ti, ", cut: %d bytes here, the rest in later segments (reassembly is off)", have);
	col_append_sep_str(pinfo->cinfo, COL_INFO, ", ", "[cut message]");
	/* the length comes first: 4 bytes of the header say where the message ends */
	if (have >= (int)sizeof(guint32) && !PINFO_FD_VISITED(pinfo) && flow >= 0) {
		ttrpc_conv_t *tc = conv_of(pinfo);

		tc->discard[flow] = (ttrpc_discard_t){ TTRPC_HDR_LEN + tvb_get_ntohl(tvb, offset) - (guint32)have,
						       pinfo->num, TRUE };
	}
	return available;
}

/* Service and method of an oversized Request, from the body bytes this segment has. */
static const char *oversized_request_path(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, int offset,
					  int end)
{
	const char *service = NULL, *method = NULL;
	pb_field_t f;

	while (offset < end && pb_next(tvb, offset, end, &f)) {
		add_path_field(tvb, pinfo, tree, &f, &service, &method);
		offset = f.end;
	}
	return service && method ? wmem_strdup_printf(wmem_file_scope(), "/%s/%s", service, method) : NULL;
}

/*
 * A message over ttrpc's length limit (messageLengthMax, 4 MiB; channel.go
 * recv(), and ttrpc-rust's the same): the receiver reads its body, discards
 * it and answers with an error status on its stream (containerd/ttrpc:
 * RESOURCE_EXHAUSTED), and reads the next header after it. So do we: the
 * header and what the segment has of the body; the rest of the body is
 * discarded from the flow's next segments (dissect_discarded()).
 */
static int dissect_oversized(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, int offset, int available,
			     int flow)
{
	ttrpc_msg_t msg = open_message(tvb, pinfo, tree, offset, available, flow);
	const char *path = msg.call ? msg.call->path : NULL;

	if (msg.type == TTRPC_REQUEST) {
		const char *request_path = oversized_request_path(tvb, pinfo, msg.tree, msg.body,
								  msg.body + (int)msg.here);

		if (msg.call && !msg.call->path)
			msg.call->path = request_path;
		path = msg.call ? msg.call->path : request_path;
	}
	if (msg.here)
		proto_tree_add_item(msg.tree, hf_discarded, tvb, msg.body, (int)msg.here, ENC_NA);
	expert_add_info_format(pinfo, msg.length_item, &ei_oversized,
			       "Message of %u bytes is over ttrpc's limit of %u: the receiver discards it", msg.length,
			       TTRPC_MAX_LEN);
	close_message(tvb, pinfo, &msg, path,
		      wmem_strdup_printf(pinfo->pool, ", oversized: %u bytes, discarded", msg.length),
		      wmem_strdup_printf(pinfo->pool, " [oversized: %u bytes, discarded]", msg.length));
	if (msg.here < msg.length && !PINFO_FD_VISITED(pinfo) && flow >= 0) {
		ttrpc_conv_t *tc = conv_of(pinfo);

		tc->discard[flow] = (ttrpc_discard_t){ msg.length - msg.here, pinfo->num, FALSE };
	}
	return TTRPC_HDR_LEN + (int)msg.here;
}

/*
 * The body of an oversized message this frame's payload starts with: the
 * first pass takes it from where the flow's last segment left it and keeps
 * it with the frame, for the later passes (in any order).
 */
static const ttrpc_discard_t *discard_at_start(packet_info *pinfo, ttrpc_conv_t *tc, int flow)
{
	ttrpc_discard_t *discard;

	if (PINFO_FD_VISITED(pinfo))
		return (const ttrpc_discard_t *)wmem_map_lookup(tc->discard_at, GUINT_TO_POINTER(pinfo->num));
	if (flow < 0 || !tc->discard[flow].left)
		return NULL;
	discard = wmem_new(wmem_file_scope(), ttrpc_discard_t);
	*discard = tc->discard[flow];
	wmem_map_insert(tc->discard_at, GUINT_TO_POINTER(pinfo->num), discard);
	return discard;
}

static int dissect_discarded(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, ttrpc_conv_t *tc, int flow,
			     const ttrpc_discard_t *discard, int available)
{
	guint32 here = MIN(discard->left, (guint32)available);
	proto_item *ti = proto_tree_add_item(tree, proto_ttrpc, tvb, 0, (int)here, ENC_NA);
	proto_tree *msg_tree = proto_item_add_subtree(ti, ett_ttrpc);
	proto_item *item = proto_tree_add_uint(msg_tree, discard->cut ? hf_cut_from : hf_discarded_from, tvb, 0, 0,
					       discard->header_frame);

	proto_item_set_generated(item);
	proto_tree_add_item(msg_tree, discard->cut ? hf_cut_rest : hf_discarded, tvb, 0, (int)here, ENC_NA);
	proto_item_append_text(ti, discard->cut ? ", rest of a cut message: %u bytes here, %u after" :
				   ", body of an oversized message, discarded: %u bytes here, %u after",
			       here, discard->left - here);
	col_append_sep_str(pinfo->cinfo, COL_INFO, ", ",
			   discard->cut ? "[rest of a cut message]" : "[body of an oversized message, discarded]");
	if (!PINFO_FD_VISITED(pinfo))
		tc->discard[flow].left = discard->left - here;
	return (int)here;
}

/* A message the segment does not hold whole: ask the transport for the rest. */
static int need_more(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, int offset, int available, int flow)
{
	int have = available - offset;

	if (!pinfo->can_desegment)
		return dissect_cut_message(tvb, pinfo, tree, offset, available, flow);
	pinfo->desegment_offset = offset;
	pinfo->desegment_len = have < TTRPC_HDR_LEN ? DESEGMENT_ONE_MORE_SEGMENT :
			       TTRPC_HDR_LEN + tvb_get_ntohl(tvb, offset) - (guint32)have;
	return available;
}

/* Whole messages only: ask the transport for the rest of a cut one. */
static int dissect_ttrpc(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
	const vsockmon_packet_t *pkt = vsockmon_packet_of(pinfo);
	int flow = pkt ? pkt->flow : -1;
	int offset = 0, available = (int)tvb_reported_length(tvb);
	conversation_t *conv = find_conversation_pinfo(pinfo, 0);
	ttrpc_conv_t *tc = conv ? (ttrpc_conv_t *)conversation_get_proto_data(conv, proto_ttrpc) : NULL;
	/* one frame can bring several calls (a reassembled PDU, then the rest) */
	gboolean first_call = !p_get_proto_data(pinfo->pool, pinfo, proto_ttrpc, 0);
	const ttrpc_discard_t *discard = tc && first_call ? discard_at_start(pinfo, tc, flow) : NULL;

	if (!tc && !plausible_first_header(tvb, 0, available))
		return 0;
	col_set_str(pinfo->cinfo, COL_PROTOCOL, "TTRPC");
	if (first_call) {
		col_clear(pinfo->cinfo, COL_INFO);
		p_add_proto_data(pinfo->pool, pinfo, proto_ttrpc, 0, GINT_TO_POINTER(1));
	}
	if (discard)
		offset = dissect_discarded(tvb, pinfo, tree, tc, flow, discard, available);
	while (offset < available) {
		int have = available - offset;

		if (have < TTRPC_HDR_LEN)
			return need_more(tvb, pinfo, tree, offset, available, flow);
		if (tvb_get_ntohl(tvb, offset) > TTRPC_MAX_LEN) {
			offset += dissect_oversized(tvb, pinfo, tree, offset, available, flow);
			continue;
		}
		if (have < (int)(TTRPC_HDR_LEN + tvb_get_ntohl(tvb, offset)))
			return need_more(tvb, pinfo, tree, offset, available, flow);
		offset += dissect_message(tvb, pinfo, tree, offset, available, flow);
	}
	return offset;
}

/*
 * Protobuf reads a nested message only by a type from .proto files: those in
 * its search paths (the protobuf_search_paths table) and in the "protobuf"
 * folders of the global and personal configuration. Checked again for each
 * capture file and after a change of preferences (a new dissection).
 */
static void ttrpc_init(void)
{
	uat_t *paths = uat_get_table_by_name("Protobuf Search Paths");
	char *global = get_datafile_path("protobuf");
	char *personal = get_persconffile_path("protobuf", TRUE);

	protobuf_has_protos = (paths && paths->nrows_p && *paths->nrows_p > 0) ||
			      test_for_directory(global) == EISDIR || test_for_directory(personal) == EISDIR;
	g_free(global);
	g_free(personal);
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
		{ &hf_discarded, { "Discarded body", "ttrpc.discarded", FT_BYTES, BASE_NONE, NULL, 0x0,
				   "Body of a message over ttrpc's length limit: the receiver discards it", HFILL } },
		{ &hf_cut_rest, { "Rest of a cut message", "ttrpc.cut_rest", FT_BYTES, BASE_NONE, NULL, 0x0,
				  "With stream reassembly off: the bytes of a message an earlier segment cut", HFILL } },
		{ &hf_cut_from, { "Cut message in", "ttrpc.cut_from", FT_FRAMENUM, BASE_NONE, NULL, 0x0,
				  "The frame with the header of the message these bytes end", HFILL } },
		{ &hf_discarded_from, { "Oversized message in", "ttrpc.discarded_from", FT_FRAMENUM, BASE_NONE,
					NULL, 0x0, "The frame with the header of the message this body belongs to",
					HFILL } },
	};
	static gint *ett[] = {
		&ett_ttrpc,
		&ett_flags,
	};
	static ei_register_info ei[] = {
		{ &ei_bad_body, { "ttrpc.body.malformed", PI_MALFORMED, PI_ERROR,
				  "Body is not a valid protobuf message", EXPFILL } },
		{ &ei_no_response, { "ttrpc.no_response", PI_SEQUENCE, PI_NOTE, "Request without a response",
				     EXPFILL } },
		{ &ei_oversized, { "ttrpc.length.oversized", PI_PROTOCOL, PI_WARN,
				   "Message over ttrpc's length limit: the receiver discards it", EXPFILL } },
		{ &ei_pb_nested_length, { "ttrpc.payload.nested_length", PI_MALFORMED, PI_WARN,
					  "Nested length-delimited field claims 2 GiB or more", EXPFILL } },
		{ &ei_pb_too_deep, { "ttrpc.payload.too_deep", PI_UNDECODED, PI_WARN,
				     "Length-delimited fields nested deeper than protobuf goes", EXPFILL } },
	};
	expert_module_t *expert_ttrpc;

	proto_ttrpc = proto_register_protocol("ttrpc (containerd / Kata agent RPC)", "TTRPC", "ttrpc");
	proto_register_field_array(proto_ttrpc, hf, array_length(hf));
	proto_register_subtree_array(ett, array_length(ett));
	expert_ttrpc = expert_register_protocol(proto_ttrpc);
	expert_register_field_array(expert_ttrpc, ei, array_length(ei));
	ttrpc_handle = register_dissector("ttrpc", dissect_ttrpc, proto_ttrpc);
	register_init_routine(ttrpc_init);
	/* holds the port preference that dissector_add_uint_with_preference() adds */
	prefs_register_protocol(proto_ttrpc, NULL);
}

void proto_reg_handoff_ttrpc(void)
{
	/* the port is a preference: Protocols > TTRPC > VSOCK port */
	dissector_add_uint_with_preference("vsockmon.port", TTRPC_DEFAULT_PORT, ttrpc_handle);
	protobuf_handle = find_dissector("protobuf");
}
