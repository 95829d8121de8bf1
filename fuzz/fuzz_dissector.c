/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_dissector.c - libFuzzer target for the vsockmon dissector plugin.
 *
 * The plugin's sources are compiled INTO this binary with the same
 * sanitizer flags (fuzz/CMakeLists.txt) and registered with
 * plugin_register() before epan_init(), so ASan/UBSan and libFuzzer's
 * coverage see our code; libwireshark itself is the distribution's.
 * Start-up follows Wireshark's fuzz/fuzzshark.c (process policies, wtap,
 * epan, settings, columns), minus its command-line handling.
 *
 * Two input formats (chosen at compile time, two binaries):
 *
 *   fuzz_dissector      the whole input is ONE LINKTYPE_VSOCK frame.
 *   fuzz_dissector_seq  (FUZZ_SEQUENCE) the input is a capture in
 *                       miniature, so the connection analysis and the
 *                       reassembly see state across frames:
 *                         repeated { u32le caplen; u32le wire_len; caplen bytes }
 *                       caplen is clamped to what the input still holds,
 *                       wire_len to 262144 (wiretap's limit); below caplen
 *                       it means "not cut" (= caplen).
 *                       The frames are dissected four times: a first
 *                       pass, a second pass with visited set (tshark -2),
 *                       then backwards and in a shuffled order, as the
 *                       GUI revisits packets in any order (records are
 *                       then found by search, not in sequence).
 *                       Order oracle: what our layers show of a frame
 *                       (see write_view()) must be the same on the three
 *                       visited passes; a difference aborts. The shuffled
 *                       pass dissects some frames without a tree, as the
 *                       packet list does; their columns must match too.
 *
 * A session (conversations, reassembly) is shared by many inputs; see
 * current_session() for why and for how it is renewed.
 * Each frame is dissected with a visible tree, the columns, the vsockmon
 * conversation/endpoint/follow taps and every tree label formatted, i.e.
 * what "tshark -V -z conv,vsockmon -z follow,..." runs.
 *
 * WIRESHARK_ABORT_ON_DISSECTOR_BUG is set, so a DISSECTOR_ASSERT in our
 * code aborts (and libFuzzer reports it) instead of becoming a note.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wireshark.h>
#include <epan/epan.h>
#include <epan/epan_dissect.h>
#include <epan/prefs.h>
#include <epan/column.h>
#include <epan/column-info.h>
#include <epan/tap.h>
#include <epan/timestamp.h>
#include <epan/proto.h>
#include <epan/follow.h>
#include <epan/conversation_filter.h>
#include <epan/conversation_table.h>
#include <epan/frame_data.h>
#include <epan/address.h>
#include <wiretap/wtap.h>
#include <wsutil/filesystem.h>
#include <wsutil/privileges.h>
#include <wsutil/report_message.h>
#include <wsutil/wslog.h>
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_HAVE_ASAN 1	/* not in the coverage build (fuzz/coverage.sh) */
#include <sanitizer/allocator_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#endif

/* The plugin's entry point (dissector/plugin.c), linked in statically. */
void plugin_register(void);

/* A sequence input holds at most this many frames (keeps runs fast). */
#define MAX_FRAMES 64
/* Bytes before each frame of a sequence input: caplen, wire length. */
#define SEQ_FRAME_HDR 8

static column_info fuzz_cinfo;
/* FUZZ_DEBUG_HEAP=1: print the live heap every 1000 inputs, to see that a
 * session's memory stays bounded (FUZZ_DEBUG_HEAP=profile: and where it is). */
static const char *debug_heap;

/* Tap data the vsockmon taps fill per input; reset after each input. */
static conv_hash_t conv_table;
static conv_hash_t endpoint_table;
static follow_info_t follow_data;
static register_follow_t *vsockmon_follower;

/* ---- start-up ---- */

static void report_v(const char *fmt, va_list ap)
{
	(void)fmt;
	(void)ap;	/* failures while loading settings: irrelevant here */
}

static void report_open(const char *name, int err, gboolean for_writing)
{
	(void)name; (void)err; (void)for_writing;
}

static void report_rw(const char *name, int err)
{
	(void)name; (void)err;
}

static void report_cfile_open(const char *name, int err, gchar *info)
{
	(void)name; (void)err; (void)info;
}

static void report_cfile_dump_open(const char *name, int err, gchar *info, int type)
{
	(void)name; (void)err; (void)info; (void)type;
}

static void report_cfile_write(const char *in, const char *out, int err, gchar *info,
			       guint32 num, int type)
{
	(void)in; (void)out; (void)err; (void)info; (void)num; (void)type;
}

static const struct report_message_routines quiet_reports = {
	report_v, report_v, report_open, report_rw, report_rw,
	report_cfile_open, report_cfile_dump_open, report_cfile_open,
	report_cfile_write, report_cfile_open,
};

static const nstime_t *frame_ts(struct packet_provider_data *prov, guint32 frame_num)
{
	static nstime_t zero;

	(void)prov;
	(void)frame_num;
	return &zero;
}

static const struct packet_provider_funcs provider_funcs = { frame_ts, NULL, NULL, NULL };

static void die(const char *what)
{
	fprintf(stderr, "fuzz_dissector: %s\n", what);
	abort();
}

static void find_our_protos(void);	/* the order oracle's, below */

/* The taps tshark's -z conv,vsockmon / endpoints,vsockmon / follow use. */
static void register_vsockmon_taps(void)
{
	int proto = proto_get_id_by_filter_name("vsockmon");
	register_ct_t *ct = get_conversation_by_proto_id(proto);
	GString *error;

	if (proto < 0 || !ct)
		die("vsockmon protocol or conversation table not registered");
	error = register_tap_listener("vsockmon", &conv_table, NULL, 0, NULL,
				      get_conversation_packet_func(ct), NULL, NULL);
	if (!error)
		error = register_tap_listener("vsockmon", &endpoint_table, NULL, 0, NULL,
					      get_endpoint_packet_func(ct), NULL, NULL);
	vsockmon_follower = get_follow_by_name("VSOCK");
	if (!error && vsockmon_follower)
		error = register_tap_listener(get_follow_tap_string(vsockmon_follower), &follow_data,
					      NULL, 0, NULL, get_follow_tap_handler(vsockmon_follower),
					      NULL, NULL);
	if (error)
		die(error->str);
	if (!vsockmon_follower)
		die("no VSOCK follower");
}

/*
 * FUZZ_PREFS="name:value,name:value": preferences for this run, e.g.
 * "virtio_vsock.reassemble_stream:FALSE,vsockmon.try_heuristic_first:TRUE",
 * so the other branches of the plugin's options get fuzzed too.
 */
static void apply_prefs_from_env(void)
{
	const char *list = getenv("FUZZ_PREFS");
	gchar **items;
	int i;

	if (!list || !*list)
		return;
	items = g_strsplit(list, ",", -1);
	for (i = 0; items[i]; i++) {
		char *errmsg = NULL;

		if (prefs_set_pref(items[i], &errmsg) != PREFS_SET_OK) {
			fprintf(stderr, "fuzz_dissector: bad FUZZ_PREFS item '%s': %s\n", items[i],
				errmsg ? errmsg : "unknown preference");
			abort();
		}
		g_free(errmsg);
	}
	g_strfreev(items);
	prefs_apply_all();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	e_prefs *prefs;
	char *err;

	/* No personal configuration: every run sees the same defaults. */
	g_setenv("XDG_CACHE_HOME", "/nonexistent/fuzz", 0);
	g_setenv("XDG_CONFIG_HOME", "/nonexistent/fuzz", 0);
	g_setenv("XDG_DATA_HOME", "/nonexistent/fuzz", 0);
	g_setenv("WIRESHARK_CONFIG_DIR", "/nonexistent/fuzz", 0);
	/* Plain malloc behind wmem and GSlice: ASan sees every packet-scope
	 * and file-scope allocation the dissector makes. */
	g_setenv("WIRESHARK_DEBUG_WMEM_OVERRIDE", "simple", 0);
	g_setenv("G_SLICE", "always-malloc", 0);
	g_setenv("WIRESHARK_ABORT_ON_DISSECTOR_BUG", "1", 0);
	g_set_prgname("fuzz_dissector");

	debug_heap = getenv("FUZZ_DEBUG_HEAP");
	ws_log_init("fuzz_dissector", NULL);
	ws_log_set_level(LOG_LEVEL_CRITICAL);
	init_process_policies();
	err = configuration_init((*argv)[0], NULL);
	g_free(err);	/* the program path only matters for plugins we do not load */
	init_report_message("fuzz_dissector", &quiet_reports);
	/* The time column needs a format (tshark's defaults). */
	timestamp_set_type(TS_RELATIVE);
	timestamp_set_precision(TS_PREC_AUTO);
	timestamp_set_seconds_type(TS_SECONDS_DEFAULT);

	wtap_init(FALSE);
	plugin_register();	/* our dissectors, compiled in: proto_init() calls them */
	if (!epan_init(NULL, NULL, FALSE))
		die("epan_init failed");
	prefs = epan_load_settings();
	apply_prefs_from_env();
	build_column_format_array(&fuzz_cinfo, prefs->num_cols, TRUE);
	register_vsockmon_taps();
	find_our_protos();
	(void)argc;
	return 0;
}

/* ---- one frame ---- */

/* Format every label, as tshark -V does: custom formatters and value
 * strings of our fields run only when a label is printed. */
static void fill_labels(proto_node *node, gpointer unused)
{
	char label[ITEM_LABEL_LENGTH];

	(void)unused;
	if (PNODE_FINFO(node))
		proto_item_fill_label(PNODE_FINFO(node), label);
	proto_tree_children_foreach(node, fill_labels, NULL);
}

/* What Follow Stream asks the vsockmon follower about a frame. */
static void ask_follower(epan_dissect_t *edt)
{
	guint stream = 0, sub_stream = 0;
	gchar *filter;

	filter = get_follow_conv_func(vsockmon_follower)(edt, &edt->pi, &stream, &sub_stream);
	if (!filter)
		return;	/* not a vsockmon connection: Follow is not offered */
	g_free(filter);
	filter = get_follow_index_func(vsockmon_follower)(stream, sub_stream);
	g_free(filter);
	/* Wireshark only passes this a followed frame's own (CID) addresses. */
	filter = get_follow_address_func(vsockmon_follower)(&edt->pi.src, &edt->pi.dst,
							    (int)edt->pi.srcport, (int)edt->pi.destport);
	g_free(filter);
	wmem_free(NULL, get_follow_port_to_display(vsockmon_follower)(NULL, edt->pi.srcport));
}

/*
 * What the GUI's Conversation Filter and Colorize Conversation menus ask
 * about the selected frame: for a frame of a connection, the filter is the
 * connection's stream (the one vsockmon.stream shows).
 */
static int hf_vsockmon_stream = -1;	/* set by find_our_protos() */
/* a field of the built-in vsock dissector: referenced, it makes the plugin
 * fill them all (vsock-builtin-fields.c), as a filter on one would */
static int hf_builtin_payload = -1;

static void ask_conversation_filter(epan_dissect_t *edt)
{
	GPtrArray *found = edt->tree ? proto_find_first_finfo(edt->tree, hf_vsockmon_stream) : NULL;
	gchar *filter = conversation_filter_from_packet(&edt->pi);

	if (found && found->len) {
		field_info *fi = (field_info *)g_ptr_array_index(found, 0);
		gchar *want = g_strdup_printf("vsockmon.stream eq %u", fvalue_get_uinteger(&fi->value));

		if (g_strcmp0(filter, want) != 0) {
			fprintf(stderr, "fuzz_dissector: frame %u: conversation filter '%s', want '%s'\n",
				edt->pi.num, filter ? filter : "(none)", want);
			abort();
		}
		g_free(want);
	}
	if (found)
		g_ptr_array_free(found, TRUE);
	g_free(filter);
}

/* ---- order oracle ---- */

/*
 * The GUI dissects every frame once in order, then again whenever the user
 * clicks one, in any order. What our layers show must not depend on that
 * order, so each visited pass writes a "view" of every frame as text and
 * compares it with the view of the in-order visited pass (the reference).
 * The first pass is not compared: a value known only from later frames
 * (e.g. the frame that answers a request) may legitimately be missing then.
 *
 * A view holds the Protocol, Info, Source and Destination columns and,
 * for every item of our protocols (vsockmon, virtio_vsock, ttrpc) with its
 * whole subtree (analysis and expert items included), one line
 * "depth abbrev [flags]: label". Other layers are left out: the frame
 * layer's "time delta from previous displayed frame" depends on the order
 * by design, and order bugs of upper protocols are not ours to find here.
 * Our items are found wherever they sit at the top level, also after an
 * upper layer's (the reassembly lists its segments there).
 * A frame dissected without a tree (a packet list row, see struct
 * pass_plan) is compared by its columns only.
 */
#define VIEW_TEXT_CAP 16384	/* a view is cut here: comparing stays cheap */

static int our_protos[3];	/* vsockmon, virtio_vsock, ttrpc */
static const char *const our_proto_names[] = { "vsockmon", "virtio_vsock", "ttrpc" };

/* FUZZ_ORDER_DUMP=1: print every reference view (to see what is compared). */
static gboolean dump_views;

static void find_our_protos(void)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(our_protos); i++) {
		our_protos[i] = proto_get_id_by_filter_name(our_proto_names[i]);
		if (our_protos[i] < 0)
			die("order oracle: one of our protocols is not registered");
	}
	hf_builtin_payload = proto_registrar_get_id_byname("vsock.payload");
	hf_vsockmon_stream = proto_registrar_get_id_byname("vsockmon.stream");
	if (hf_vsockmon_stream < 0)
		die("no vsockmon.stream field");
	dump_views = getenv("FUZZ_ORDER_DUMP") != NULL;
}

/* The protocol an item belongs to: itself for a protocol item. */
static int item_protocol(const field_info *fi)
{
	const header_field_info *hfinfo = fi->hfinfo;

	return hfinfo->parent == -1 ? hfinfo->id : hfinfo->parent;
}

/*
 * A top-level item to compare: one of our protocols or their fields, or
 * Wireshark's own "_ws" items (an exception's "[Malformed Packet: ...]",
 * expert items) which our layers or the data our reassembly hands up cause.
 */
static gboolean is_our_top_item(const field_info *fi)
{
	int proto = item_protocol(fi);
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(our_protos); i++)
		if (proto == our_protos[i])
			return TRUE;
	return strncmp(fi->hfinfo->abbrev, "_ws.", 4) == 0;
}

struct view_walk {
	GString *text;
	int depth;
};

static gboolean view_full(const GString *text)
{
	return text->len >= VIEW_TEXT_CAP;
}

/* One line per item, with the label the GUI shows (its text if set, else
 * the formatted value) and whether it is generated or hidden. */
static void write_item(GString *text, int depth, field_info *fi)
{
	char label[ITEM_LABEL_LENGTH];
	const char *shown = label;

	if (fi->rep)
		shown = fi->rep->representation;
	else
		proto_item_fill_label(fi, label);
	/* plain appends: g_string_append_printf() allocates per call, which
	 * under ASan cost as much as the dissection */
	while (depth-- > 0)
		g_string_append(text, "  ");
	g_string_append(text, fi->hfinfo->abbrev);
	if (FI_GET_FLAG(fi, FI_GENERATED))
		g_string_append(text, " [gen]");
	if (FI_GET_FLAG(fi, FI_HIDDEN))
		g_string_append(text, " [hidden]");
	g_string_append(text, ": ");
	g_string_append(text, shown);
	g_string_append_c(text, '\n');
	if (view_full(text))
		g_string_append(text, "... (view cut)\n");
}

static void write_subtree(proto_node *node, gpointer data)
{
	struct view_walk *walk = (struct view_walk *)data;

	if (view_full(walk->text))
		return;
	if (PNODE_FINFO(node))
		write_item(walk->text, walk->depth, PNODE_FINFO(node));
	walk->depth++;
	proto_tree_children_foreach(node, write_subtree, walk);
	walk->depth--;
}

static void write_top_item(proto_node *node, gpointer data)
{
	if (PNODE_FINFO(node) && is_our_top_item(PNODE_FINFO(node)))
		write_subtree(node, data);
}

static void write_column(GString *text, column_info *cinfo, int col, const char *name)
{
	const char *value = col_get_text(cinfo, col);

	g_string_append(text, name);
	g_string_append(text, ": ");
	g_string_append(text, value ? value : "(none)");
	g_string_append_c(text, '\n');
}

/* A frame's view; columns_len: where the columns end and the tree begins. */
struct frame_view {
	GString *text;
	gsize columns_len;
};

/* What the GUI shows of a frame, as far as our layers decide it: the
 * columns, then the tree (none when dissected as the packet list does). */
static void write_view(epan_dissect_t *edt, struct frame_view *view)
{
	struct view_walk walk = { view->text, 0 };

	g_string_truncate(view->text, 0);
	write_column(view->text, edt->pi.cinfo, COL_PROTOCOL, "Protocol");
	write_column(view->text, edt->pi.cinfo, COL_INFO, "Info");
	write_column(view->text, edt->pi.cinfo, COL_DEF_SRC, "Source");
	write_column(view->text, edt->pi.cinfo, COL_DEF_DST, "Destination");
	view->columns_len = view->text->len;
	if (edt->tree)
		proto_tree_children_foreach(edt->tree, write_top_item, &walk);
}

/* Whether a frame shows on a later pass what it showed on the reference
 * pass: all of it, or the columns only when it had no tree. */
static gboolean view_matches(const struct frame_view *reference, const struct frame_view *view,
			     gboolean with_tree)
{
	if (with_tree)
		return g_string_equal(reference->text, view->text);
	return view->text->len == reference->columns_len &&
	       memcmp(view->text->str, reference->text->str, reference->columns_len) == 0;
}

/* The passes; all but the first have `visited` set. */
enum pass_order { PASS_FIRST, PASS_REFERENCE, PASS_BACKWARDS, PASS_SHUFFLED, PASS_COUNT };

static const char *const pass_names[] = { "first", "in order (reference)", "backwards", "shuffled" };

/*
 * How a pass dissects: the frames' order, and which of them without a
 * tree. The GUI's packet list dissects the rows it shows without a tree
 * (columns only, when no coloring rule or custom column needs one), in
 * whatever order they scroll into view, between the clicks that dissect
 * one frame with its tree: the shuffled pass mixes the two at random.
 */
struct pass_plan {
	size_t order[MAX_FRAMES];	/* frame indexes in dissection order */
	gboolean no_tree[MAX_FRAMES];	/* per position in order[] */
};

/* A deterministic shuffle seed from the input: the same input always
 * replays the same order (FNV-1a). */
static guint32 order_seed(const uint8_t *data, size_t size)
{
	guint32 hash = 2166136261u;
	size_t i;

	for (i = 0; i < size; i++)
		hash = (hash ^ data[i]) * 16777619u;
	return hash;
}

/* The plan of pass `pass` over n frames; seed: the shuffled pass's. */
static void plan_pass(int pass, size_t n, guint32 seed, struct pass_plan *plan)
{
	guint32 lcg = seed;
	size_t i;

	for (i = 0; i < n; i++) {
		plan->order[i] = pass == PASS_BACKWARDS ? n - 1 - i : i;
		plan->no_tree[i] = FALSE;
	}
	if (pass != PASS_SHUFFLED)
		return;
	for (i = n; i > 1; i--) {	/* Fisher-Yates with a 32-bit LCG (Numerical Recipes) */
		size_t j, tmp;

		lcg = lcg * 1664525u + 1013904223u;
		j = (lcg >> 8) % i;
		tmp = plan->order[i - 1];
		plan->order[i - 1] = plan->order[j];
		plan->order[j] = tmp;
	}
	for (i = 0; i < n; i++) {	/* about one frame in three: a packet list row */
		lcg = lcg * 1664525u + 1013904223u;
		plan->no_tree[i] = (lcg >> 16) % 3 == 0;
	}
}

/* The first line where two views differ, to read before the whole views. */
static void print_first_difference(const GString *reference, const GString *view)
{
	size_t pos = 0, line_start = 0, line = 1;

	while (pos < reference->len && pos < view->len && reference->str[pos] == view->str[pos]) {
		if (reference->str[pos] == '\n') {
			line_start = pos + 1;
			line++;
		}
		pos++;
	}
	fprintf(stderr, "first difference, line %zu:\n  reference: %.*s\n  this pass: %.*s\n", line,
		(int)strcspn(reference->str + line_start, "\n"), reference->str + line_start,
		(int)strcspn(view->str + line_start, "\n"), view->str + line_start);
}

/* Print what differs and abort, so libFuzzer keeps the input. */
static void report_order_bug(guint32 frame_num, int pass, const struct pass_plan *plan, size_t n,
			     guint32 first_num, const GString *reference, const GString *view)
{
	size_t i;

	fprintf(stderr, "fuzz_dissector: ORDER BUG: frame %u shows differently on the %s pass "
		"than on the in-order visited pass\n", frame_num, pass_names[pass]);
	fprintf(stderr, "pass order (* = no tree, as a packet list row):");
	for (i = 0; i < n; i++)
		fprintf(stderr, " %u%s", first_num + (guint32)plan->order[i], plan->no_tree[i] ? "*" : "");
	fprintf(stderr, "\n");
	print_first_difference(reference, view);
	fprintf(stderr, "--- in order (reference):\n%s--- %s:\n%s---\n", reference->str,
		pass_names[pass], view->str);
	abort();
}

/*
 * Dissect one frame, with a visible tree or (with_tree FALSE) none, as the
 * packet list does; view: NULL, or where to write what it shows.
 */
static void dissect_one(epan_t *session, frame_data *fd, const frame_data **prev_dis,
			const guint8 *bytes, guint32 caplen, guint32 wire_len, guint32 num,
			gboolean with_tree, struct frame_view *view)
{
	epan_dissect_t *edt = epan_dissect_new(session, with_tree, with_tree);
	wtap_rec rec;
	nstime_t elapsed;
	const frame_data *ref = NULL;

	if (with_tree && hf_builtin_payload >= 0)
		epan_dissect_prime_with_hfid(edt, hf_builtin_payload);

	wtap_rec_init(&rec);
	rec.rec_type = REC_TYPE_PACKET;
	rec.block = NULL;
	rec.presence_flags = WTAP_HAS_TS | WTAP_HAS_CAP_LEN;
	rec.ts.secs = num;
	rec.ts.nsecs = 0;
	rec.rec_header.packet_header.caplen = caplen;
	rec.rec_header.packet_header.len = wire_len;
	rec.rec_header.packet_header.pkt_encap = WTAP_ENCAP_VSOCK;

	if (!fd->visited) {
		frame_data_init(fd, num, &rec, 0, 0);
		frame_data_set_before_dissect(fd, &elapsed, &ref, *prev_dis);
	}
	epan_dissect_run_with_taps(edt, WTAP_FILE_TYPE_SUBTYPE_UNKNOWN, &rec,
				   tvb_new_real_data(bytes, caplen, wire_len), fd, &fuzz_cinfo);
	epan_dissect_fill_in_columns(edt, FALSE, TRUE);
	if (edt->tree)
		fill_labels(edt->tree, NULL);
	if (view)
		write_view(edt, view);
	ask_follower(edt);
	ask_conversation_filter(edt);
	if (!fd->visited)
		frame_data_set_after_dissect(fd, NULL);
	*prev_dis = fd;
	epan_dissect_free(edt);
	wtap_rec_cleanup(&rec);
}

static void reset_taps(void)
{
	reset_conversation_table_data(&conv_table);
	reset_endpoint_table_data(&endpoint_table);
	GList *cur;

	/* follow_tvb_tap_listener() copies the payloads and the first frame's
	 * addresses; 4.0's follow_reset_stream() forgets them without freeing. */
	for (cur = follow_data.payload; cur; cur = cur->next) {
		follow_record_t *record = (follow_record_t *)cur->data;

		if (record->data)
			g_byte_array_free(record->data, TRUE);
		g_free(record);
	}
	g_list_free(follow_data.payload);
	follow_data.payload = NULL;
	free_address_wmem(NULL, &follow_data.client_ip);
	free_address_wmem(NULL, &follow_data.server_ip);
	follow_reset_stream(&follow_data);
	memset(&follow_data, 0, sizeof(follow_data));
}

/* ---- inputs ---- */

struct frame_ref {
	const guint8 *bytes;
	guint32 caplen;
	guint32 wire_len;
};

static guint32 read_le32(const uint8_t *p)
{
	return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

/* Split a sequence input into frames (see the format at the top). */
static size_t split_frames(const uint8_t *data, size_t size, struct frame_ref *frames)
{
	size_t n = 0, off = 0;

	while (n < MAX_FRAMES && size - off >= SEQ_FRAME_HDR) {
		guint32 caplen = read_le32(data + off);
		guint32 wire_len = read_le32(data + off + 4);

		off += SEQ_FRAME_HDR;
		if (caplen > size - off)
			caplen = (guint32)(size - off);
		frames[n].bytes = data + off;
		frames[n].caplen = caplen;
		/* wiretap never hands out longer frames than this */
		if (wire_len > WTAP_MAX_PACKET_SIZE_STANDARD)
			wire_len = WTAP_MAX_PACKET_SIZE_STANDARD;
		frames[n].wire_len = wire_len < caplen ? caplen : wire_len;
		off += caplen;
		n++;
	}
	return n;
}

/*
 * One epan session serves many inputs, as in fuzzshark: a session costs
 * ~0.5 s and ~30 MB that epan_free() does not give back (libwireshark's
 * init routines), so a session per input would run at 2 inputs/s and
 * exhaust memory. Frame numbers keep growing across inputs, so state
 * from earlier inputs (conversations on the same addresses) may carry
 * over, like frames later in one long capture. The session is renewed
 * every FUZZ_SESSION_INPUTS inputs (default 20000) to bound file-scope
 * memory; running a single file always starts from a fresh session.
 */
static epan_t *session;
static unsigned long session_inputs;
static unsigned long session_limit;
static guint32 last_frame_num;

static void report_heap(void)
{
#ifdef FUZZ_HAVE_ASAN
	fprintf(stderr, "fuzz_dissector: heap %zu bytes after %lu inputs of this session\n",
		__sanitizer_get_current_allocated_bytes(), session_inputs);
	if (strcmp(debug_heap, "profile") == 0)
		__sanitizer_print_memory_profile(90, 8);
#endif
}

static epan_t *current_session(void)
{
	if (session && session_inputs >= session_limit) {
		epan_free(session);
		session = NULL;
	}
	if (!session) {
		const char *limit = getenv("FUZZ_SESSION_INPUTS");

		session_limit = limit ? strtoul(limit, NULL, 10) : 20000;
		session = epan_new(NULL, &provider_funcs);
		session_inputs = 0;
		last_frame_num = 0;
	}
	session_inputs++;
	if (debug_heap && session_inputs % 1000 == 0)
		report_heap();
	return session;
}

/*
 * Dissect the frames in `passes` passes (see enum pass_order); with more
 * than two, the order oracle compares the visited passes' views.
 */
static void dissect_frames(const struct frame_ref *frames, size_t n, int passes, guint32 seed)
{
	epan_t *epan = current_session();
	frame_data fds[MAX_FRAMES];
	struct frame_view reference[MAX_FRAMES];
	struct frame_view view = { g_string_sized_new(1024), 0 };
	struct pass_plan plan;
	guint32 first_num = last_frame_num + 1;
	int pass;
	size_t i;

	memset(fds, 0, sizeof(fds));
	for (i = 0; i < n; i++)
		reference[i].text = g_string_sized_new(1024);
	for (pass = 0; pass < passes; pass++) {
		const frame_data *prev_dis = NULL;
		gboolean oracle = passes > PASS_BACKWARDS && pass >= PASS_REFERENCE;

		plan_pass(pass, n, seed, &plan);
		for (i = 0; i < n; i++) {
			size_t k = plan.order[i];
			gboolean with_tree = !plan.no_tree[i];
			struct frame_view *out = pass == PASS_REFERENCE ? &reference[k] : &view;

			fds[k].visited = pass > PASS_FIRST;
			dissect_one(epan, &fds[k], &prev_dis, frames[k].bytes, frames[k].caplen,
				    frames[k].wire_len, first_num + (guint32)k, with_tree, oracle ? out : NULL);
			if (oracle && pass > PASS_REFERENCE && !view_matches(&reference[k], &view, with_tree))
				report_order_bug(first_num + (guint32)k, pass, &plan, n, first_num,
						 reference[k].text, view.text);
		}
		reset_taps();
	}
	if (dump_views && passes > PASS_BACKWARDS)
		for (i = 0; i < n; i++)
			fprintf(stderr, "=== frame %u\n%s", first_num + (guint32)i, reference[i].text->str);
	last_frame_num += (guint32)n;
	for (i = 0; i < n; i++) {
		frame_data_destroy(&fds[i]);
		g_string_free(reference[i].text, TRUE);
	}
	g_string_free(view.text, TRUE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_ref frames[MAX_FRAMES];
	size_t n;

#ifdef FUZZ_SEQUENCE
	n = split_frames(data, size, frames);
	if (n == 0)
		return 0;
	dissect_frames(frames, n, PASS_COUNT, order_seed(data, size));
#else
	if (size > G_MAXINT32)
		return 0;
	frames[0].bytes = data;
	frames[0].caplen = (guint32)size;
	frames[0].wire_len = (guint32)size;
	n = 1;
	(void)split_frames;
	dissect_frames(frames, n, 1, 0);
#endif
	return 0;
}
