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
 *                       The frames are dissected three times: a first
 *                       pass, a second pass with visited set (tshark -2),
 *                       and a third one backwards, as the GUI revisits
 *                       packets in any order (records are then found by
 *                       search, not in sequence).
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

static void dissect_one(epan_t *session, frame_data *fd, const frame_data **prev_dis,
			const guint8 *bytes, guint32 caplen, guint32 wire_len, guint32 num)
{
	epan_dissect_t *edt = epan_dissect_new(session, TRUE, TRUE);
	wtap_rec rec;
	nstime_t elapsed;
	const frame_data *ref = NULL;

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
	fill_labels(edt->tree, NULL);
	ask_follower(edt);
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

static void dissect_frames(const struct frame_ref *frames, size_t n, int passes)
{
	epan_t *epan = current_session();
	frame_data fds[MAX_FRAMES];
	guint32 first_num = last_frame_num + 1;
	int pass;
	size_t i;

	memset(fds, 0, sizeof(fds));
	for (pass = 0; pass < passes; pass++) {
		const frame_data *prev_dis = NULL;
		gboolean backwards = pass == 2;

		for (i = 0; i < n; i++) {
			size_t k = backwards ? n - 1 - i : i;

			fds[k].visited = pass > 0;
			dissect_one(epan, &fds[k], &prev_dis, frames[k].bytes,
				    frames[k].caplen, frames[k].wire_len, first_num + (guint32)k);
		}
		reset_taps();
	}
	last_frame_num += (guint32)n;
	for (i = 0; i < n; i++)
		frame_data_destroy(&fds[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_ref frames[MAX_FRAMES];
	size_t n;

#ifdef FUZZ_SEQUENCE
	n = split_frames(data, size, frames);
	if (n == 0)
		return 0;
	dissect_frames(frames, n, 3);
#else
	if (size > G_MAXINT32)
		return 0;
	frames[0].bytes = data;
	frames[0].caplen = (guint32)size;
	frames[0].wire_len = (guint32)size;
	n = 1;
	(void)split_frames;
	dissect_frames(frames, n, 1);
#endif
	return 0;
}
