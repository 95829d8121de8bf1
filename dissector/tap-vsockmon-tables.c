/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tap-vsockmon-tables.c - tshark's "-z conv,vsockmon" and
 * "-z endpoints,vsockmon" tables.
 *
 * tshark 4.0's generic conversation printer shows ports only for protocols
 * named TCP, UDP or SCTP, and a vsock connection is nothing without its
 * ports. So the plugin registers its own printers under the same names
 * (before tshark registers the generic ones, so ours are found first); the
 * rows come from the same tap callbacks as the GUI's tables. Only in tshark:
 * the GUI's tables have port columns already.
 */
#include "vsockmon-int.h"

#include <stdio.h>
#include <epan/conversation_table.h>
#include <epan/stat_tap_ui.h>
#include <epan/tap.h>
#include <epan/to_str.h>

typedef struct cli_table {
	conv_hash_t hash;	/* first: the shared tap callbacks get it as their tapdata */
	char *filter;
	GHashTable *states;	/* stream -> connection state after its last packet */
} cli_table_t;

static const char *rule = "================================================================================";

static char *cid_port_str(const address *addr, guint32 port)
{
	char *cid = address_to_str(NULL, addr);
	char *text = wmem_strdup_printf(NULL, "%s:%u", cid, port);

	wmem_free(NULL, cid);
	return text;
}

static void print_title(const char *what, const cli_table_t *table)
{
	printf("%s\nVSOCK %s\nFilter:%s\n", rule, what, table->filter ? table->filter : "<No Filter>");
}

/* Rows in descending frame count, as tshark's own tables are. */
static gint conv_by_frames(gconstpointer a, gconstpointer b)
{
	const conv_item_t *x = *(const conv_item_t * const *)a;
	const conv_item_t *y = *(const conv_item_t * const *)b;
	guint64 fx = x->rx_frames + x->tx_frames;
	guint64 fy = y->rx_frames + y->tx_frames;

	if (fx != fy)
		return fx < fy ? 1 : -1;
	return x->conv_id < y->conv_id ? -1 : (x->conv_id > y->conv_id);
}

static void print_conv_row(const cli_table_t *table, const conv_item_t *item)
{
	const char *state = g_hash_table_lookup(table->states, GUINT_TO_POINTER((guint)item->conv_id));

	char *a = cid_port_str(&item->src_address, item->src_port);
	char *b = cid_port_str(&item->dst_address, item->dst_port);

	printf("%-26s <-> %-26s %7u  %6" PRIu64 " %9" PRIu64 "  %6" PRIu64 " %9" PRIu64 "  %6" PRIu64 " %9" PRIu64
	       "  %14.9f   %12.4f  %s\n",
	       a, b, item->conv_id, item->rx_frames, item->rx_bytes, item->tx_frames, item->tx_bytes,
	       item->rx_frames + item->tx_frames, item->rx_bytes + item->tx_bytes,
	       nstime_to_sec(&item->start_time),
	       nstime_to_sec(&item->stop_time) - nstime_to_sec(&item->start_time), state ? state : "-");
	wmem_free(NULL, a);
	wmem_free(NULL, b);
}

static void conv_draw(void *tapdata)
{
	cli_table_t *table = (cli_table_t *)tapdata;
	GArray *rows = table->hash.conv_array;
	GPtrArray *sorted = g_ptr_array_new();
	guint i;

	print_title("Conversations", table);
	printf("%-58s |Stream| |       <-      | |       ->      | |     Total     |    Relative    |   Duration   | State\n", "");
	printf("%-58s |      | | Frames  Bytes | | Frames  Bytes | | Frames  Bytes |      Start     |              |\n", "");
	for (i = 0; rows && i < rows->len; i++)
		g_ptr_array_add(sorted, &g_array_index(rows, conv_item_t, i));
	g_ptr_array_sort(sorted, conv_by_frames);
	for (i = 0; i < sorted->len; i++)
		print_conv_row(table, (const conv_item_t *)g_ptr_array_index(sorted, i));
	printf("%s\n", rule);
	g_ptr_array_free(sorted, TRUE);
}

static gint endpoint_by_frames(gconstpointer a, gconstpointer b)
{
	const endpoint_item_t *x = *(const endpoint_item_t * const *)a;
	const endpoint_item_t *y = *(const endpoint_item_t * const *)b;
	guint64 fx = x->rx_frames + x->tx_frames;
	guint64 fy = y->rx_frames + y->tx_frames;

	if (fx != fy)
		return fx < fy ? 1 : -1;
	return x->port < y->port ? -1 : (x->port > y->port);
}

static void endpoint_draw(void *tapdata)
{
	cli_table_t *table = (cli_table_t *)tapdata;
	GArray *rows = table->hash.conv_array;
	GPtrArray *sorted = g_ptr_array_new();
	guint i;

	print_title("Endpoints", table);
	printf("%-20s |    Port    | |  Packets  | |  Bytes  | | Tx Packets | | Tx Bytes | | Rx Packets | | Rx Bytes |\n", "");
	for (i = 0; rows && i < rows->len; i++)
		g_ptr_array_add(sorted, &g_array_index(rows, endpoint_item_t, i));
	g_ptr_array_sort(sorted, endpoint_by_frames);
	for (i = 0; i < sorted->len; i++) {
		const endpoint_item_t *item = (const endpoint_item_t *)g_ptr_array_index(sorted, i);
		char *cid = address_to_str(NULL, &item->myaddress);

		printf("%-20s   %10u  %11" PRIu64 " %11" PRIu64 "  %12" PRIu64 " %12" PRIu64 "  %12" PRIu64 " %12" PRIu64 "\n",
		       cid, item->port, item->rx_frames + item->tx_frames, item->rx_bytes + item->tx_bytes,
		       item->tx_frames, item->tx_bytes, item->rx_frames, item->rx_bytes);
		wmem_free(NULL, cid);
	}
	printf("%s\n", rule);
	g_ptr_array_free(sorted, TRUE);
}

/* "-z conv,vsockmon[,filter]": the filter, if any, follows the prefix and a comma. */
static const char *filter_after(const char *opt_arg, const char *prefix)
{
	size_t len = strlen(prefix);

	return (strncmp(opt_arg, prefix, len) == 0 && opt_arg[len] == ',') ? opt_arg + len + 1 : NULL;
}

/* The shared row update, plus the connection state the GUI table has no column for. */
static tap_packet_status conv_cli_packet(void *tapdata, packet_info *pinfo, epan_dissect_t *edt,
					 const void *data, tap_flags_t flags)
{
	cli_table_t *table = (cli_table_t *)tapdata;
	const vsockmon_packet_t *pkt = (const vsockmon_packet_t *)data;

	if (pkt->conn_state)
		g_hash_table_insert(table->states, GUINT_TO_POINTER(pkt->stream), (gpointer)pkt->conn_state);
	return vsockmon_conv_packet(&table->hash, pinfo, edt, data, flags);
}

static void start_table(const char *opt_arg, const char *prefix, tap_packet_cb packet, tap_draw_cb draw)
{
	cli_table_t *table = g_new0(cli_table_t, 1);
	GString *error;

	table->filter = g_strdup(filter_after(opt_arg, prefix));
	table->states = g_hash_table_new(g_direct_hash, g_direct_equal);
	error = register_tap_listener("vsockmon", &table->hash, table->filter, 0, NULL, packet, draw, NULL);
	if (error) {
		fprintf(stderr, "tshark: cannot start the %s table: %s\n", prefix, error->str);
		g_string_free(error, TRUE);
		exit(1);
	}
}

static vsockmon_stat_init_ret conv_init(const char *opt_arg, void *userdata _U_)
{
	start_table(opt_arg, "conv,vsockmon", conv_cli_packet, conv_draw);
	return VSOCKMON_STAT_INIT_OK;
}

static vsockmon_stat_init_ret endpoint_init(const char *opt_arg, void *userdata _U_)
{
	start_table(opt_arg, "endpoints,vsockmon", vsockmon_endpoint_packet, endpoint_draw);
	return VSOCKMON_STAT_INIT_OK;
}

void vsockmon_register_cli_tables(void)
{
	static stat_tap_ui conv_ui = {
		REGISTER_STAT_GROUP_CONVERSATION_LIST, "VSOCK Conversations", "conv,vsockmon", conv_init, 0, NULL
	};
	static stat_tap_ui endpoint_ui = {
		REGISTER_STAT_GROUP_ENDPOINT_LIST, "VSOCK Endpoints", "endpoints,vsockmon", endpoint_init, 0, NULL
	};

	/* Wireshark's own "-z conv,vsockmon" opens its Conversations dialog: leave it be. */
	if (g_strcmp0(g_get_prgname(), "tshark") != 0)
		return;
	register_stat_tap_ui(&conv_ui, NULL);
	register_stat_tap_ui(&endpoint_ui, NULL);
}
