/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsockmon-timestamps.c - conversation timestamps, as TCP and UDP have
 * them: vsockmon.time_relative (since the connection's first frame) and
 * vsockmon.time_delta (since the connection's previous frame), under
 * "[Timestamps]" in the monitor layer.
 *
 * time_relative needs only the first frame's time, kept with the
 * connection. time_delta depends on which frame came before in the
 * connection, which a later pass (tshark -2, the GUI, in any order) cannot
 * tell: the first pass keeps it per frame, 8 bytes each, in one
 * capture-wide array indexed by frame number. The preference
 * vsockmon.calculate_timestamps (on by default, as TCP's) turns both off,
 * and with them that memory.
 */
#include "vsockmon-int.h"

#include <epan/prefs.h>

static vsockmon_api_bool calculate_timestamps = TRUE;

static int hf_time_relative = -1;
static int hf_time_delta = -1;
static gint ett_timestamps = -1;

/* time_delta of each frame, in ns, indexed by frame number (first pass: appended in order) */
static wmem_array_t *deltas;

void vsockmon_timestamps_register(int proto, module_t *module)
{
	static hf_register_info hf[] = {
		{ &hf_time_relative,
		  { "Time since first frame in this connection", "vsockmon.time_relative", FT_RELATIVE_TIME,
		    BASE_NONE, NULL, 0x0, "Time since the first frame of this vsockmon.stream", HFILL } },
		{ &hf_time_delta,
		  { "Time since previous frame in this connection", "vsockmon.time_delta", FT_RELATIVE_TIME,
		    BASE_NONE, NULL, 0x0, "Time since the previous frame of this vsockmon.stream", HFILL } },
	};
	static gint *ett[] = { &ett_timestamps };

	proto_register_field_array(proto, hf, array_length(hf));
	proto_register_subtree_array(ett, array_length(ett));
	prefs_register_bool_preference(module, "calculate_timestamps", "Calculate conversation timestamps",
				       "Time since the first and the previous frame of each connection "
				       "(vsockmon.time_relative, vsockmon.time_delta), as TCP's; "
				       "costs 8 bytes of memory per frame",
				       &calculate_timestamps);
}

void vsockmon_timestamps_init(void)
{
	deltas = calculate_timestamps ? wmem_array_sized_new(wmem_file_scope(), sizeof(gint64), 4096) : NULL;
}

/* First pass: keep the frame's delta at its number (frames of other link types leave gaps). */
static void store_delta(guint32 frame, gint64 delta)
{
	static const gint64 none;

	while (wmem_array_get_count(deltas) < frame)
		wmem_array_append_one(deltas, none);
	if (wmem_array_get_count(deltas) == frame)
		wmem_array_append_one(deltas, delta);
}

static gint64 stored_delta(guint32 frame)
{
	if (frame >= wmem_array_get_count(deltas))
		return 0;
	return *(const gint64 *)wmem_array_index(deltas, frame);
}

void vsockmon_timestamps_add(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const vsockmon_packet_t *pkt)
{
	vsockmon_conv_t *conv = pkt->vconv;
	gint64 now = vsockmon_nstime_ns(&pinfo->abs_ts), delta = 0;
	proto_tree *ts_tree;
	proto_item *ti;

	if (!deltas)
		return;
	if (!PINFO_FD_VISITED(pinfo)) {
		if (pinfo->num == conv->first_frame)
			conv->first_ns = now;
		else
			delta = now - conv->last_ns;
		conv->last_ns = now;
		store_delta(pinfo->num, delta);
	} else {
		delta = stored_delta(pinfo->num);
	}
	if (!tree)
		return;
	ts_tree = proto_tree_add_subtree(tree, tvb, 0, 0, ett_timestamps, &ti, "Timestamps");
	proto_item_set_generated(ti);
	vsockmon_add_generated_ns(ts_tree, hf_time_relative, tvb, now - conv->first_ns);
	vsockmon_add_generated_ns(ts_tree, hf_time_delta, tvb, delta);
}
