/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * plugin.c - Wireshark plugin glue: registers the protocols of vsockmon.so:
 * the monitor header (packet-vsockmon.c), the virtio transport
 * (packet-virtio-vsock.c, with its analysis and reassembly) and ttrpc
 * (packet-ttrpc.c), the RPC most vsock traffic carries in Kata.
 */
#define WS_BUILD_DLL
#include "vsockmon-int.h"

#if VSOCKMON_WS_AT_LEAST(4, 2)
#include <wsutil/plugins.h>	/* plugin_describe() is new in 4.2 */
#endif

#ifndef VSOCKMON_VERSION
#define VSOCKMON_VERSION "0.0.0"
#endif

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = VSOCKMON_VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;

WS_DLL_PUBLIC void plugin_register(void);

#if VSOCKMON_WS_AT_LEAST(4, 2)
WS_DLL_PUBLIC uint32_t plugin_describe(void);

uint32_t plugin_describe(void)
{
	return WS_PLUGIN_DESC_DISSECTOR;
}
#endif

void plugin_register(void)
{
	static proto_plugin monitor_layer;
	static proto_plugin transport_layer;
	static proto_plugin ttrpc;

	monitor_layer.register_protoinfo = proto_register_vsockmon;
	monitor_layer.register_handoff = proto_reg_handoff_vsockmon;
	proto_register_plugin(&monitor_layer);

	transport_layer.register_protoinfo = proto_register_virtio_vsock;
	transport_layer.register_handoff = proto_reg_handoff_virtio_vsock;
	proto_register_plugin(&transport_layer);

	ttrpc.register_protoinfo = proto_register_ttrpc;
	ttrpc.register_handoff = proto_reg_handoff_ttrpc;
	proto_register_plugin(&ttrpc);
}
