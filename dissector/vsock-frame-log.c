/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsock-frame-log.c - append-only logs of per-frame entries in frame order.
 */
#include "vsock-frame-log.h"

void vsock_frame_log_reset(vsock_frame_log_t *log, guint32 entry_size, guint32 chunk_bits)
{
	memset(log, 0, sizeof(*log));
	log->entry_size = entry_size;
	log->chunk_bits = chunk_bits;
}

void *vsock_frame_log_append(vsock_frame_log_t *log, guint32 frame)
{
	guint32 chunk = log->count >> log->chunk_bits;
	guint32 per_chunk = 1u << log->chunk_bits;
	void *entry;

	if (chunk == log->chunks_size) {
		log->chunks_size = log->chunks_size ? log->chunks_size * 2 : 16;
		log->chunks = (guint8 **)wmem_realloc(wmem_file_scope(), log->chunks,
						      log->chunks_size * sizeof(*log->chunks));
	}
	if (!(log->count & (per_chunk - 1)))
		log->chunks[chunk] = (guint8 *)wmem_alloc(wmem_file_scope(), (gsize)per_chunk * log->entry_size);
	entry = vsock_frame_log_at(log, log->count++);
	memset(entry, 0, log->entry_size);
	*(guint32 *)entry = frame;
	return entry;
}

/* Index of the first entry in [lo, hi) of a frame >= frame (hi if none). */
static guint32 lower_bound(const vsock_frame_log_t *log, guint32 frame, guint32 lo, guint32 hi)
{
	while (lo < hi) {
		guint32 mid = lo + (hi - lo) / 2;

		if (vsock_frame_log_frame_at(log, mid) < frame)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index of the first entry of a frame >= frame (count if none). */
static guint32 first_entry_from(const vsock_frame_log_t *log, guint32 frame)
{
	if (log->hint < log->count && vsock_frame_log_frame_at(log, log->hint) >= frame &&
	    (log->hint == 0 || vsock_frame_log_frame_at(log, log->hint - 1) < frame))
		return log->hint;
	return lower_bound(log, frame, 0, log->count);
}

static void *entry_if_frame(const vsock_frame_log_t *log, guint32 index, guint32 frame)
{
	if (index == log->count || vsock_frame_log_frame_at(log, index) != frame)
		return NULL;
	return vsock_frame_log_at(log, index);
}

void *vsock_frame_log_find_recent(const vsock_frame_log_t *log, guint32 frame)
{
	guint32 lo = log->count, hi = log->count, step = 1;

	/* widen [lo, hi) backwards, doubling, until the entry at lo is older */
	while (lo > 0) {
		lo = lo > step ? lo - step : 0;
		if (vsock_frame_log_frame_at(log, lo) < frame)
			break;
		hi = lo;
		step *= 2;
	}
	return entry_if_frame(log, lower_bound(log, frame, lo, hi), frame);
}

void *vsock_frame_log_find(vsock_frame_log_t *log, guint32 frame)
{
	guint32 index = first_entry_from(log, frame);
	void *entry = entry_if_frame(log, index, frame);

	log->hint = entry ? index + 1 : index;
	return entry;
}
