/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsockmon-compat.h - the few Wireshark API differences between 4.0 (built
 * and tested here) and 4.2 - 4.6, kept in one place.
 */
#ifndef VSOCKMON_COMPAT_H
#define VSOCKMON_COMPAT_H

#include <ws_version.h>

#define VSOCKMON_WS_AT_LEAST(major, minor) \
	(WIRESHARK_VERSION_MAJOR > (major) || \
	 (WIRESHARK_VERSION_MAJOR == (major) && WIRESHARK_VERSION_MINOR >= (minor)))

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
