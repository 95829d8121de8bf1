/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsockmon-int.h - what the two protocol layers of the plugin share:
 * the per-packet record handed from the monitor layer (packet-vsockmon.c)
 * to the transport layer (packet-virtio-vsock.c), the per-conversation
 * state, and the payload hand-off back to the monitor layer.
 *
 * The per-packet record is also the data of the "vsockmon" tap, so
 * statistics plugins and Lua listeners see every header value.
 */
#ifndef VSOCKMON_INT_H
#define VSOCKMON_INT_H

#include <wireshark.h>
#include <epan/packet.h>
#include <epan/conversation.h>
#include <epan/tap.h>

#include "vsockmon_wire.h"
#include "vsockmon-compat.h"

/* An address/port pair, lower (cid, port) endpoint first. */
typedef struct vsockmon_stream_key {
	guint64 cid[2];
	guint32 port[2];
} vsockmon_stream_key_t;

/* One connection (vsockmon-streams.c). */
typedef struct vsockmon_conv {
	vsockmon_stream_key_t key;
	guint32 stream;		/* vsockmon.stream, 0-based like tcp.stream */
	guint32 first_frame;
	guint32 closed_frame;	/* first frame after which a CONNECT starts a new stream (0: open) */
	guint8 flow0_is_low;	/* the first frame's sender is key endpoint 0: its direction is flow 0 */
	guint8 split_seen;	/* a tap frame of a vhost-split packet (virtio-vsock-split.c) */
	struct vsockmon_conv *prev;	/* the pair's connection before this one */
	gint64 first_ns;	/* its first frame's time, for vsockmon.time_relative */
	gint64 last_ns;		/* first pass: its latest frame's time, for vsockmon.time_delta */
	void *transport_state;	/* the transport layer's connection analysis */
} vsockmon_conv_t;

/* Per-packet record: tap data of "vsockmon" and the transport layer's input. */
typedef struct vsockmon_packet {
	/* monitor header */
	guint64 src_cid;
	guint64 dst_cid;
	guint32 src_port;
	guint32 dst_port;
	guint16 op;		/* enum af_vsockmon_op */
	guint16 transport;	/* enum af_vsockmon_transport */
	guint16 hdr_len;	/* transport header length */
	address src;		/* src_cid as an AT_VSOCKMON address */
	address dst;

	/* connection */
	guint32 stream;
	int flow;		/* 0: sent by the connection's first sender, 1: the other side */
	vsockmon_conv_t *vconv;

	/* transport header, filled in by the transport layer when present */
	gboolean has_virtio;
	guint16 virtio_type;	/* enum virtio_vsock_type */
	guint16 virtio_op;	/* enum virtio_vsock_op */
	guint32 virtio_flags;
	guint32 virtio_len;
	guint32 buf_alloc;
	guint32 fwd_cnt;
	guint32 payload_len;	/* payload bytes the frame carries (reported) */
	const char *conn_state;	/* connection state after this packet, for the tables */
	gboolean opens_connection;	/* a CONNECT that is a request (a RESPONSE is a CONNECT too) */
	struct tcpinfo *tcpinfo;	/* what upper layers get as data (see vsockmon_dispatch_payload) */
	tvbuff_t *follow_tvb;	/* the payload Follow Stream shows (NULL: none) */

	/* items expert info goes to (NULL without a tree) */
	proto_item *hdr_len_item;
	proto_item *op_item;
	proto_item *transport_item;
	proto_item *reserved_item;
} vsockmon_packet_t;

/*
 * Hand a payload (RW data, or a reassembled PDU) to the upper layers:
 * conversation dissector, lower port, higher port, heuristics, then data.
 * They get a struct tcpinfo as data, as on TCP: Decode As offers every
 * tcp.port dissector here, and those read it (HTTP, TLS, ...). Our own
 * upper layers find the packet record with vsockmon_packet_of().
 */
void vsockmon_dispatch_payload(tvbuff_t *payload_tvb, packet_info *pinfo, proto_tree *tree,
			       vsockmon_packet_t *pkt);

/* The monitor layer's record of the frame being dissected. */
vsockmon_packet_t *vsockmon_packet_of(packet_info *pinfo);

/* This frame's payload bytes for Follow Stream (once per frame). */
void vsockmon_follow_payload(tvbuff_t *payload_tvb, packet_info *pinfo);

/* Both of the above, for payload that needs no reassembly. */
void vsockmon_dissect_payload(tvbuff_t *payload_tvb, packet_info *pinfo, proto_tree *tree,
			      vsockmon_packet_t *pkt);

/* The connection table (vsockmon-streams.c). */
void vsockmon_streams_init(void);
/* Allocate size zeroed bytes of transport state with each connection
 * (vsockmon_conv_t.transport_state points at them). Call at registration. */
void vsockmon_streams_reserve(gsize size);
guint32 vsockmon_streams_count(void);
void vsockmon_stream_lookup(packet_info *pinfo, vsockmon_packet_t *pkt);
vsockmon_conv_t *vsockmon_stream_find(guint64 src_cid, guint32 src_port, guint64 dst_cid, guint32 dst_port,
				      guint32 frame);

/* The transport layer marks a connection closed (RST seen) so that the next
 * REQUEST on the same address/port pair starts a new stream. */
void vsockmon_conv_mark_closed(vsockmon_packet_t *pkt, packet_info *pinfo);

/* Info when no transport layer writes a richer line (a short transport header, say). */
void vsockmon_set_info_column(packet_info *pinfo, const vsockmon_packet_t *pkt);

/* Tap callbacks behind the conversation and endpoint tables (GUI and tshark). */
tap_packet_status vsockmon_conv_packet(void *pct, packet_info *pinfo, epan_dissect_t *edt,
				       const void *data, tap_flags_t flags);
tap_packet_status vsockmon_endpoint_packet(void *pit, packet_info *pinfo, epan_dissect_t *edt,
					   const void *data, tap_flags_t flags);
void vsockmon_register_cli_tables(void);

/*
 * The built-in "vsock" dissector's fields, for the filters written for it
 * (vsock-builtin-fields.c): added, hidden, only when a filter or column
 * names one of them.
 */
void vsock_builtin_fields_register(module_t *vsockmon_module);
void vsock_builtin_fields_handoff(void);
void vsock_builtin_fields_add(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree);

/*
 * Times kept per connection or per packet are gint64 nanoseconds (half an
 * nstime_t); shown as generated FT_RELATIVE_TIME items.
 */
#define VSOCKMON_NS_PER_SECOND G_GINT64_CONSTANT(1000000000)

static inline gint64 vsockmon_nstime_ns(const nstime_t *t)
{
	return (gint64)t->secs * VSOCKMON_NS_PER_SECOND + t->nsecs;
}

static inline proto_item *vsockmon_add_generated_ns(proto_tree *tree, int hf, tvbuff_t *tvb, gint64 ns)
{
	nstime_t value;
	proto_item *ti;

	if (!tree)
		return NULL;
	value.secs = (time_t)(ns / VSOCKMON_NS_PER_SECOND);
	value.nsecs = (int)(ns % VSOCKMON_NS_PER_SECOND);
	ti = proto_tree_add_time(tree, hf, tvb, 0, 0, &value);
	proto_item_set_generated(ti);
	return ti;
}

/* Conversation timestamps (vsockmon-timestamps.c). */
void vsockmon_timestamps_register(int proto, module_t *module);
void vsockmon_timestamps_init(void);
void vsockmon_timestamps_add(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const vsockmon_packet_t *pkt);

/* Well-known CID names, shared by both layers' fields. */
extern const val64_string vsockmon_cid_names[];

void proto_register_vsockmon(void);
void proto_reg_handoff_vsockmon(void);
void proto_register_virtio_vsock(void);
void proto_reg_handoff_virtio_vsock(void);
void proto_register_ttrpc(void);
void proto_reg_handoff_ttrpc(void);

#endif /* VSOCKMON_INT_H */
