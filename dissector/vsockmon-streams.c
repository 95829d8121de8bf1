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
 *
 * Every frame looks its connection up, so the table is an open-addressing
 * array of (hash, connection) slots: a lookup reads one slot and the
 * connection it needs anyway, where a chained map also reads a node and
 * a bucket, each a likely cache miss with thousands of connections. The
 * transport layer's per-connection state is allocated with the connection
 * (vsockmon_streams_reserve()), in the same cache lines.
 */
#include "vsockmon-int.h"

typedef struct stream_slot {
	guint32 hash;
	vsockmon_conv_t *conv;	/* the pair's latest connection; NULL: free */
} stream_slot_t;

#define STREAM_SLOTS_MIN 1024	/* a power of two */

static stream_slot_t *slots;
static guint32 slot_mask;	/* slots - 1 */
static guint32 pairs;		/* slots in use */
static guint32 next_stream;
static gsize transport_state_size;
static guint8 *conv_slab;	/* connections are carved from big zeroed chunks */
static gsize conv_slab_left;

#define CONV_SLAB_BYTES (256 * 1024)

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

static guint32 key_hash(const vsockmon_stream_key_t *key)
{
	guint64 h = key->cid[0] * G_GUINT64_CONSTANT(0x9e3779b97f4a7c15) ^ key->cid[1];

	h = h * G_GUINT64_CONSTANT(0x9e3779b97f4a7c15) ^ ((guint64)key->port[0] << 32 | key->port[1]);
	/* the slot index takes the low bits: multiply once more so that every
	 * key bit reaches them (ports enter last, by xor alone) */
	h = (h ^ h >> 32) * G_GUINT64_CONSTANT(0x9e3779b97f4a7c15);
	return (guint32)(h >> 32);
}

static gboolean key_equal(const vsockmon_stream_key_t *a, const vsockmon_stream_key_t *b)
{
	return memcmp(a, b, sizeof(vsockmon_stream_key_t)) == 0;
}

static stream_slot_t *slots_new(guint32 count)
{
	slot_mask = count - 1;
	return wmem_alloc0_array(wmem_file_scope(), stream_slot_t, count);
}

void vsockmon_streams_init(void)
{
	slots = slots_new(STREAM_SLOTS_MIN);
	conv_slab = NULL;
	conv_slab_left = 0;
	pairs = 0;
	next_stream = 0;
}

void vsockmon_streams_reserve(gsize size)
{
	transport_state_size = size;
}

/* The pair's slot: the one holding it, or the free one where it would go. */
static stream_slot_t *slot_of(const vsockmon_stream_key_t *key, guint32 hash)
{
	guint32 i = hash & slot_mask;

	while (slots[i].conv && (slots[i].hash != hash || !key_equal(&slots[i].conv->key, key)))
		i = (i + 1) & slot_mask;
	return &slots[i];
}

/* Keep the table at most half full, so probes stay short. */
static void slots_grow(void)
{
	stream_slot_t *old = slots;
	guint32 old_count = slot_mask + 1, i;

	slots = slots_new(old_count * 2);
	for (i = 0; i < old_count; i++)
		if (old[i].conv)
			*slot_of(&old[i].conv->key, old[i].hash) = old[i];
	wmem_free(wmem_file_scope(), old);
}

guint32 vsockmon_streams_count(void)
{
	return next_stream;
}

static vsockmon_conv_t *conv_alloc(void)
{
	gsize size = (sizeof(vsockmon_conv_t) + transport_state_size + 7) & ~(gsize)7;
	guint8 *conv;

	if (conv_slab_left < size) {
		conv_slab = (guint8 *)wmem_alloc0(wmem_file_scope(), CONV_SLAB_BYTES);
		conv_slab_left = CONV_SLAB_BYTES;
	}
	conv = conv_slab;
	conv_slab += size;
	conv_slab_left -= size;
	return (vsockmon_conv_t *)conv;
}

/* A new connection on the pair in slot; it becomes the pair's latest. */
static vsockmon_conv_t *stream_new(stream_slot_t *slot, const vsockmon_stream_key_t *key, guint32 hash,
				   gboolean src_is_low, guint32 frame)
{
	vsockmon_conv_t *conv = conv_alloc();
	gboolean new_pair;

	conv->key = *key;
	conv->stream = next_stream++;
	conv->first_frame = frame;
	conv->flow0_is_low = src_is_low;
	conv->prev = slot->conv;
	if (transport_state_size)
		conv->transport_state = conv + 1;
	new_pair = !slot->conv;
	slot->hash = hash;
	slot->conv = conv;
	if (new_pair && ++pairs > (slot_mask + 1) / 2)
		slots_grow();	/* moves the slots: slot is stale from here on */
	return conv;
}

/* The pair's connection that was current at this frame. */
static vsockmon_conv_t *stream_at(const stream_slot_t *slot, guint32 frame)
{
	vsockmon_conv_t *conv = slot->conv;

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
	return stream_at(slot_of(&key, key_hash(&key)), frame);
}

/*
 * This frame's connection; on the first pass a new one starts for a pair
 * never seen, and for a REQUEST after the pair's connection was reset.
 */
void vsockmon_stream_lookup(packet_info *pinfo, vsockmon_packet_t *pkt)
{
	vsockmon_stream_key_t key;
	gboolean src_is_low;
	vsockmon_conv_t *conv;
	stream_slot_t *slot;
	guint32 hash;

	make_key(&key, pkt->src_cid, pkt->src_port, pkt->dst_cid, pkt->dst_port, &src_is_low);
	hash = key_hash(&key);
	slot = slot_of(&key, hash);
	conv = stream_at(slot, pinfo->num);
	if (!PINFO_FD_VISITED(pinfo) || !conv) {
		gboolean reused = conv && conv->closed_frame && pinfo->num > conv->closed_frame &&
				  pkt->opens_connection;

		if (!conv || reused)
			conv = stream_new(slot, &key, hash, src_is_low, pinfo->num);
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
