/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsockmon-streams.c - the connection table behind vsockmon.stream.
 *
 * A connection is an address/port pair (either direction). Wireshark's
 * generic conversation_t costs about half a kilobyte per connection (two
 * trees, a five-element key, several hash entries); a capture of vsock
 * traffic can hold hundreds of thousands of short connections, so the
 * monitor layer keeps its own table: one canonical 24-byte key per pair,
 * mapped to the pair's latest connection, each connection linking to the
 * one before it on the same pair (a pair is reused after a reset).
 * Upper layers that want a conversation_t still get one from Wireshark.
 */
#include "vsockmon-int.h"

static wmem_map_t *streams;	/* vsockmon_stream_key_t -> latest vsockmon_conv_t */
static guint32 next_stream;

/* The pair with its lower (cid, port) endpoint first, so both directions match. */
static void make_key(vsockmon_stream_key_t *key, guint64 src_cid, guint32 src_port, guint64 dst_cid,
		     guint32 dst_port, gboolean *src_is_low)
{
	*src_is_low = src_cid < dst_cid || (src_cid == dst_cid && src_port <= dst_port);
	key->cid[0] = *src_is_low ? src_cid : dst_cid;
	key->cid[1] = *src_is_low ? dst_cid : src_cid;
	key->port[0] = *src_is_low ? src_port : dst_port;
	key->port[1] = *src_is_low ? dst_port : src_port;
}

static guint key_hash(gconstpointer data)
{
	const vsockmon_stream_key_t *key = (const vsockmon_stream_key_t *)data;
	guint64 h = key->cid[0] * G_GUINT64_CONSTANT(0x9e3779b97f4a7c15) ^ key->cid[1];

	h = h * G_GUINT64_CONSTANT(0x9e3779b97f4a7c15) ^ ((guint64)key->port[0] << 32 | key->port[1]);
	return (guint)(h ^ h >> 29);
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, sizeof(vsockmon_stream_key_t)) == 0;
}

void vsockmon_streams_init(void)
{
	streams = wmem_map_new(wmem_file_scope(), key_hash, key_equal);
	next_stream = 0;
}

guint32 vsockmon_streams_count(void)
{
	return next_stream;
}

static vsockmon_conv_t *stream_new(const vsockmon_stream_key_t *key, gboolean src_is_low, guint32 frame,
				   vsockmon_conv_t *prev)
{
	vsockmon_conv_t *conv = wmem_new0(wmem_file_scope(), vsockmon_conv_t);

	conv->key = *key;
	conv->stream = next_stream++;
	conv->first_frame = frame;
	conv->flow0_is_low = src_is_low;
	conv->prev = prev;
	wmem_map_insert(streams, &conv->key, conv);
	return conv;
}

/* The pair's connection that was current at this frame. */
static vsockmon_conv_t *stream_at(const vsockmon_stream_key_t *key, guint32 frame)
{
	vsockmon_conv_t *conv = (vsockmon_conv_t *)wmem_map_lookup(streams, key);

	while (conv && conv->first_frame > frame)
		conv = conv->prev;
	return conv;
}

vsockmon_conv_t *vsockmon_stream_find(guint64 src_cid, guint32 src_port, guint64 dst_cid, guint32 dst_port,
				      guint32 frame)
{
	vsockmon_stream_key_t key;
	gboolean src_is_low;

	make_key(&key, src_cid, src_port, dst_cid, dst_port, &src_is_low);
	return stream_at(&key, frame);
}

/*
 * This frame's connection; on the first pass a new one starts for a pair
 * never seen, and for a CONNECT after the pair's connection was reset.
 */
void vsockmon_stream_lookup(packet_info *pinfo, vsockmon_packet_t *pkt)
{
	vsockmon_stream_key_t key;
	gboolean src_is_low;
	vsockmon_conv_t *conv;

	make_key(&key, pkt->src_cid, pkt->src_port, pkt->dst_cid, pkt->dst_port, &src_is_low);
	conv = stream_at(&key, pinfo->num);
	if (!PINFO_FD_VISITED(pinfo) || !conv) {
		gboolean reused = conv && conv->closed_frame && pinfo->num > conv->closed_frame &&
				  pkt->op == AF_VSOCK_OP_CONNECT;

		if (!conv || reused)
			conv = stream_new(&key, src_is_low, pinfo->num, conv);
	}
	pkt->vconv = conv;
	pkt->stream = conv->stream;
	pkt->flow = src_is_low == conv->flow0_is_low ? 0 : 1;
}

void vsockmon_conv_mark_closed(vsockmon_packet_t *pkt, packet_info *pinfo)
{
	if (!PINFO_FD_VISITED(pinfo) && !pkt->vconv->closed_frame)
		pkt->vconv->closed_frame = pinfo->num;
}
