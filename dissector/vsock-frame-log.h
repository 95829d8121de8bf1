/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsock-frame-log.h - append-only logs of per-frame entries in frame order
 * (vsock-frame-log.c), for what the first pass learns about a packet.
 *
 * The first pass dissects frames in order, so appending keeps a log sorted
 * by frame number with nothing else: no per-entry hash node, no pointer
 * from the frame, no copy when it grows (entries live in fixed chunks and
 * never move). Later passes find a frame's entry by binary search, or at
 * once when they go in frame order (tshark -2), from where the previous
 * search ended.
 *
 * Every entry type starts with its guint32 frame number.
 */
#ifndef VSOCK_FRAME_LOG_H
#define VSOCK_FRAME_LOG_H

#include <wireshark.h>
#include <epan/wmem_scopes.h>

typedef struct vsock_frame_log {
	guint8 **chunks;
	guint32 chunks_size;	/* chunk pointers allocated */
	guint32 count;		/* entries appended */
	guint32 hint;		/* where the next in-order search starts */
	guint32 entry_size;
	guint32 chunk_bits;	/* log2 of the entries per chunk */
} vsock_frame_log_t;

/* Empty the log for a new file (its chunks went with the old file scope). */
void vsock_frame_log_reset(vsock_frame_log_t *log, guint32 entry_size, guint32 chunk_bits);

/* A new zeroed entry at the end, for a frame after every frame in the log. */
void *vsock_frame_log_append(vsock_frame_log_t *log, guint32 frame);

/* The entry of this frame, NULL if it has none. */
void *vsock_frame_log_find(vsock_frame_log_t *log, guint32 frame);

/*
 * The same for a frame near the end of the log, as the first pass asks:
 * it gallops back from the end, so it reads the log's hot tail only where
 * a binary search over a long log takes a cache miss at every step.
 */
void *vsock_frame_log_find_recent(const vsock_frame_log_t *log, guint32 frame);

static inline void *vsock_frame_log_at(const vsock_frame_log_t *log, guint32 index)
{
	guint32 mask = (1u << log->chunk_bits) - 1;

	return log->chunks[index >> log->chunk_bits] + (gsize)(index & mask) * log->entry_size;
}

static inline guint32 vsock_frame_log_frame_at(const vsock_frame_log_t *log, guint32 index)
{
	return *(const guint32 *)vsock_frame_log_at(log, index);
}

/* The newest entry, if it is this frame's. */
static inline void *vsock_frame_log_last(const vsock_frame_log_t *log, guint32 frame)
{
	if (!log->count || vsock_frame_log_frame_at(log, log->count - 1) != frame)
		return NULL;
	return vsock_frame_log_at(log, log->count - 1);
}

#endif /* VSOCK_FRAME_LOG_H */
