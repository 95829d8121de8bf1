/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsockmon-compat.h - the few Wireshark API differences between 4.0, 4.4
 * and 4.6 (each built and tested: tests/compat/) and 4.2 (not available
 * here: gated from its release notes), kept in one place.
 */
#ifndef VSOCKMON_COMPAT_H
#define VSOCKMON_COMPAT_H

#include <ws_version.h>

#define VSOCKMON_WS_AT_LEAST(major, minor) \
	(WIRESHARK_VERSION_MAJOR > (major) || \
	 (WIRESHARK_VERSION_MAJOR == (major) && WIRESHARK_VERSION_MINOR >= (minor)))

/*
 * 4.4 turned glib's gboolean (an int) into C99 bool in the API: boolean
 * preferences are bool variables, callbacks take and return bool. This is
 * the type of whatever Wireshark reads or calls back; plain logic inside
 * the plugin keeps gboolean.
 */
#if VSOCKMON_WS_AT_LEAST(4, 4)
#include <stdbool.h>
typedef bool vsockmon_api_bool;
#else
typedef gboolean vsockmon_api_bool;
#endif

/*
 * 4.4 renamed glib-typed helpers after the C99 types and deprecated the old
 * names: the plugin is written with the new ones.
 */
#if !VSOCKMON_WS_AT_LEAST(4, 4)
#define tvb_get_uint8 tvb_get_guint8
#define uint64_to_str_buf guint64_to_str_buf
#endif

/*
 * 4.6 renamed the byte-order readers after their unsigned results and
 * dissector_try_uint_new() after what it takes (the old names are gone or
 * deprecated): the plugin is written with the new ones.
 */
#if !VSOCKMON_WS_AT_LEAST(4, 6)
#define pntohu32 pntoh32
#define pntohu64 pntoh64
#define pletohu64 pletoh64
#define dissector_try_uint_with_data dissector_try_uint_new
#endif

/*
 * 4.6 lets a "-z" statistic's start-up callback report failure (bool); ours
 * exit with tshark's usual status 1 themselves, as on older versions.
 */
#if VSOCKMON_WS_AT_LEAST(4, 6)
typedef bool vsockmon_stat_init_ret;
#define VSOCKMON_STAT_INIT_OK true
#else
typedef void vsockmon_stat_init_ret;
#define VSOCKMON_STAT_INIT_OK
#endif

/*
 * 4.2 gave conversation filter callbacks a user_data argument, passed to
 * register_conversation_filter(); we need none.
 */
#if VSOCKMON_WS_AT_LEAST(4, 2)
#define VSOCKMON_CONV_FILTER_PARAMS packet_info *pinfo, void *user_data _U_
#define VSOCKMON_REGISTER_CONV_FILTER(proto, name, valid_f, build_f) \
	register_conversation_filter((proto), (name), (valid_f), (build_f), NULL)
#else
#define VSOCKMON_CONV_FILTER_PARAMS packet_info *pinfo
#define VSOCKMON_REGISTER_CONV_FILTER(proto, name, valid_f, build_f) \
	register_conversation_filter((proto), (name), (valid_f), (build_f))
#endif

/*
 * 4.6 gives val_to_str() a wmem scope; val_to_str_wmem() exists from 4.0
 * on, so use it everywhere with the packet's own pool.
 */
#if VSOCKMON_WS_AT_LEAST(4, 6)
#define VSOCKMON_VAL_TO_STR(pool, val, vs, fmt) val_to_str((pool), (val), (vs), (fmt))
#else
#define VSOCKMON_VAL_TO_STR(pool, val, vs, fmt) val_to_str_wmem((pool), (val), (vs), (fmt))
#endif

/*
 * 4.2 added a stream counter and a sub-stream walker to
 * register_follow_stream(); we have no sub-streams.
 */
#if VSOCKMON_WS_AT_LEAST(4, 2)
#define VSOCKMON_REGISTER_FOLLOW(proto, tap, conv_f, index_f, addr_f, port_f, tap_f, count_f) \
	register_follow_stream((proto), (tap), (conv_f), (index_f), (addr_f), (port_f), (tap_f), \
			       (count_f), NULL)
#else
#define VSOCKMON_REGISTER_FOLLOW(proto, tap, conv_f, index_f, addr_f, port_f, tap_f, count_f) \
	register_follow_stream((proto), (tap), (conv_f), (index_f), (addr_f), (port_f), (tap_f))
#endif

#endif /* VSOCKMON_COMPAT_H */
