// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * args.c - the extcap argument protocol as Wireshark 4.0 speaks it:
 * discovery sentences (extcap/interface/dlt/arg/value) on stdout, and the
 * parsing of the options Wireshark passes back when it starts a capture.
 * Nothing here touches the system: listing calls must stay fast and
 * side-effect free because "tshark -D" runs them.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <vsockmon_wire.h>

#include "args.h"
#include "filter.h"
#include "log.h"

#ifndef VSOCKDUMP_VERSION
#define VSOCKDUMP_VERSION "0.0.0"
#endif

enum long_only_opt {
	OPT_EXTCAP_INTERFACES = 256,
	OPT_EXTCAP_VERSION,
	OPT_EXTCAP_DLTS,
	OPT_EXTCAP_INTERFACE,
	OPT_EXTCAP_CONFIG,
	OPT_EXTCAP_CAPTURE_FILTER,
	OPT_EXTCAP_RELOAD_OPTION,
	OPT_CAPTURE,
	OPT_FIFO,
	OPT_LOG_LEVEL,
	OPT_LOG_FILE,
	OPT_IFACE,
	OPT_KEEP,
	OPT_EXISTING,
	OPT_SNAPLEN,
	OPT_RING_SIZE,
	OPT_VHOST_FRAGMENTS,
	OPT_VERSION,
};

static const struct option long_options[] = {
	{ "extcap-interfaces", no_argument, NULL, OPT_EXTCAP_INTERFACES },
	{ "extcap-version", optional_argument, NULL, OPT_EXTCAP_VERSION },
	{ "extcap-dlts", no_argument, NULL, OPT_EXTCAP_DLTS },
	{ "extcap-interface", required_argument, NULL, OPT_EXTCAP_INTERFACE },
	{ "extcap-config", no_argument, NULL, OPT_EXTCAP_CONFIG },
	{ "extcap-capture-filter", required_argument, NULL, OPT_EXTCAP_CAPTURE_FILTER },
	{ "extcap-reload-option", required_argument, NULL, OPT_EXTCAP_RELOAD_OPTION },
	{ "capture", no_argument, NULL, OPT_CAPTURE },
	{ "fifo", required_argument, NULL, OPT_FIFO },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	{ "iface", required_argument, NULL, OPT_IFACE },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "existing", required_argument, NULL, OPT_EXISTING },
	{ "snaplen", required_argument, NULL, OPT_SNAPLEN },
	{ "ring-size", required_argument, NULL, OPT_RING_SIZE },
	{ "vhost-fragments", required_argument, NULL, OPT_VHOST_FRAGMENTS },
	{ "dump-bpf", no_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

/* ------------------------------------------------------------ discovery */

/* Argument numbers in the config dialog; "value" sentences refer to them. */
enum config_arg_number {
	ARG_IFACE,
	ARG_KEEP,
	ARG_EXISTING,
	ARG_SNAPLEN,
	ARG_RING_SIZE,
	ARG_VHOST_FRAGMENTS,
	ARG_LOG_LEVEL,
	ARG_LOG_FILE,
};

void args_print_interfaces(FILE *out)
{
	fprintf(out, "extcap {version=%s}{display=vsockdump}\n", VSOCKDUMP_VERSION);
	fprintf(out, "interface {value=%s}{display=vsock monitor: temporary vsockmon interface}\n",
		VSOCKDUMP_EXTCAP_IFACE);
}

void args_print_dlts(FILE *out)
{
	fprintf(out, "dlt {number=%d}{name=VSOCK}{display=vsock monitor (vsockmon header + virtio-vsock)}\n",
		VSOCKMON_LINKTYPE);
}

static void print_existing_values(FILE *out, const char *const *links,
				  size_t n_links)
{
	fprintf(out, "value {arg=%d}{value=%s}{display=No: create a temporary interface}{default=true}\n",
		ARG_EXISTING, VSOCKDUMP_EXISTING_NONE);
	for (size_t i = 0; i < n_links; i++)
		fprintf(out, "value {arg=%d}{value=%s}{display=%s}\n",
			ARG_EXISTING, links[i], links[i]);
}

void args_print_config(FILE *out, const char *const *links, size_t n_links)
{
	/*
	 * The dialog's check must refuse what handle_option() refuses, or the
	 * field shows valid and the capture fails: at most 15 characters
	 * (IFNAMSIZ - 1), not "." or "..".
	 */
	fprintf(out, "arg {number=%d}{call=--iface}{display=Interface name}{type=string}"
		"{placeholder=first free vsockmonN}{validation=^(?!\\.\\.?$)[A-Za-z0-9_.-]{0,15}$}"
		"{tooltip=Name of the temporary vsockmon link, at most 15 characters; empty: the first free vsockmonN}"
		"{group=Interface}\n", ARG_IFACE);
	fprintf(out, "arg {number=%d}{call=--keep}{display=Keep the interface after capture}"
		"{type=boolflag}{default=false}"
		"{tooltip=Leave the vsockmon link in place when the capture stops}"
		"{group=Interface}\n", ARG_KEEP);
	fprintf(out, "arg {number=%d}{call=--existing}{display=Capture an existing vsockmon interface}"
		"{type=selector}{reload=true}{placeholder=Refresh}"
		"{tooltip=Capture a vsockmon link that already exists instead of creating one; it is never deleted}"
		"{group=Interface}\n", ARG_EXISTING);
	print_existing_values(out, links, n_links);
	fprintf(out, "arg {number=%d}{call=--snaplen}{display=Snapshot length}{type=unsigned}"
		"{range=%d,%d}{default=%d}{tooltip=Bytes kept of each frame (header is 76)}"
		"{group=Capture}\n", ARG_SNAPLEN, SNAPLEN_MIN, SNAPLEN_MAX, SNAPLEN_MAX);
	fprintf(out, "arg {number=%d}{call=--ring-size}{display=Kernel ring size (MiB)}{type=unsigned}"
		"{range=%d,%d}{default=%d}{tooltip=Larger rings drop fewer frames in bursts}"
		"{group=Capture}\n", ARG_RING_SIZE, RING_MIB_MIN, RING_MIB_MAX, RING_MIB_DEFAULT);
	/* no braces in a tooltip: the sentence parser would end the field there */
	fprintf(out, "arg {number=%d}{call=--vhost-fragments}{display=vhost fragment frames}{type=selector}"
		"{tooltip=Linux 6.1.y and 6.3+ before the 2026 fix tap each fragment vhost cuts from a "
		"large host-to-guest packet with more bytes than the fragment: captures 8-16 times the "
		"traffic, wrong bytes in every tool but the vsockmon plugin. Trim writes each such frame "
		"as its headers plus the fragment's own bytes. On 6.7+ the snapshot length must be at "
		"least 65612}"
		"{group=Capture}\n", ARG_VHOST_FRAGMENTS);
	fprintf(out, "value {arg=%d}{value=keep}{display=Keep as tapped}{default=true}\n",
		ARG_VHOST_FRAGMENTS);
	fprintf(out, "value {arg=%d}{value=trim}{display=Trim to the fragment's own bytes}\n",
		ARG_VHOST_FRAGMENTS);
	fprintf(out, "arg {number=%d}{call=--log-level}{display=Log level}{type=selector}"
		"{tooltip=How much vsockdump writes to the log file}{required=false}{group=Debug}\n",
		ARG_LOG_LEVEL);
	fprintf(out, "value {arg=%d}{value=message}{display=Message}{default=true}\n", ARG_LOG_LEVEL);
	fprintf(out, "value {arg=%d}{value=info}{display=Info}\n", ARG_LOG_LEVEL);
	fprintf(out, "value {arg=%d}{value=debug}{display=Debug}\n", ARG_LOG_LEVEL);
	fprintf(out, "value {arg=%d}{value=noisy}{display=Noisy}\n", ARG_LOG_LEVEL);
	fprintf(out, "arg {number=%d}{call=--log-file}{display=Log file}{type=fileselect}"
		"{mustexist=false}{tooltip=Append log messages to this file}{required=false}"
		"{group=Debug}\n", ARG_LOG_FILE);
}

int args_print_reload(FILE *out, const char *option, const char *const *links,
		      size_t n_links)
{
	/* Wireshark passes the option's call; accept it with or without "--" */
	if (strncmp(option, "--", 2) == 0)
		option += 2;
	if (strcmp(option, "existing") != 0)
		return -1;
	print_existing_values(out, links, n_links);
	return 0;
}

void args_print_help(FILE *out, const char *argv0)
{
	fprintf(out,
		"vsockdump %s - capture AF_VSOCK traffic through a temporary vsockmon link\n"
		"\n"
		"Usage:\n"
		"  %s --extcap-interfaces [--extcap-version=X.Y]\n"
		"  %s --extcap-interface=vsockmon --extcap-dlts\n"
		"  %s --extcap-interface=vsockmon --extcap-config\n"
		"  %s --extcap-interface=vsockmon --extcap-capture-filter FILTER\n"
		"  %s --capture --fifo PATH|- [--extcap-capture-filter FILTER] [options]\n"
		"  %s -d|--dump-bpf [FILTER...]\n"
		"\n"
		"Capture options:\n"
		"  --iface NAME          name of the temporary link (default: first free vsockmonN)\n"
		"  --keep                keep the link after the capture\n"
		"  --existing NAME       capture this existing vsockmon link (never deleted)\n"
		"  --snaplen N           bytes kept per frame (%d..%d, default %d)\n"
		"  --ring-size MIB       kernel ring size in MiB (%d..%d, default %d)\n"
		"  --vhost-fragments keep|trim\n"
		"                        trim: write a vhost fragment's tap frame as its headers\n"
		"                        and the fragment's own bytes (kernels that tap more;\n"
		"                        default keep)\n"
		"  --log-level LEVEL     message, info, debug or noisy\n"
		"  --log-file PATH       append log messages to PATH\n"
		"\n"
		"Filter: [src|dst] cid N|host|local|hypervisor, [src|dst] port N,\n"
		"  op request|response|rst|shutdown|rw|credit_update|credit_request,\n"
		"  type stream|seqpacket; and/&&, or/||, not/!, ( ). Not pcap syntax.\n"
		"See vsockdump(1) for details and exit codes.\n",
		VSOCKDUMP_VERSION, argv0, argv0, argv0, argv0, argv0, argv0,
		SNAPLEN_MIN, SNAPLEN_MAX, SNAPLEN_MAX,
		RING_MIB_MIN, RING_MIB_MAX, RING_MIB_DEFAULT);
}

/* -------------------------------------------------------------- parsing */

static int parse_unsigned(const char *text, unsigned int min, unsigned int max,
			  unsigned int *value)
{
	char *end;
	unsigned long v;

	/* digits only: strtoul would also take " 100", "+100" and "-1" */
	if (!text || *text < '0' || *text > '9')
		return -1;
	v = strtoul(text, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return -1;
	*value = (unsigned int)v;
	return 0;
}

static char *join_words(char **words, int n)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < n; i++)
		len += strlen(words[i]) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, words[i]);
	}
	return s;
}

/* Decide what to do once all options are known; the most specific wins. */
static enum run_mode pick_mode(const bool *seen)
{
	static const enum run_mode precedence[] = {
		MODE_CAPTURE, MODE_HELP, MODE_VERSION, MODE_DUMP_BPF,
		MODE_RELOAD, MODE_CONFIG, MODE_DLTS, MODE_FILTER_CHECK,
		MODE_INTERFACES,
	};

	for (size_t i = 0; i < sizeof(precedence) / sizeof(precedence[0]); i++)
		if (seen[precedence[i]])
			return precedence[i];
	return MODE_NONE;
}

/* Length of the well-formed UTF-8 sequence at @s, 0 if there is none. */
static size_t utf8_len(const unsigned char *s)
{
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 :
		     s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/*
 * @s for a one-line message: control characters and bytes that are not
 * UTF-8 as C escapes ("a\rb", "\xa0"), so a value holding \n or \r can't
 * split or overwrite the line Wireshark or a terminal shows. Long values
 * are cut with "...".
 */
static const char *printable(const char *s, char *buf, size_t len)
{
	static const char named[] = "\a\b\t\n\v\f\r";
	static const char letters[] = "abtnvfr";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	buf[0] = '\0';
	while (*p) {
		const char *pos = strchr(named, *p);
		size_t seq = *p >= 0x80 ? utf8_len(p) : 1;
		char piece[8];

		if (pos)
			snprintf(piece, sizeof(piece), "\\%c", letters[pos - named]);
		else if (*p < 0x20 || *p == 0x7f || !seq)
			snprintf(piece, sizeof(piece), "\\x%02x", *p);
		else
			snprintf(piece, sizeof(piece), "%.*s", (int)seq, (const char *)p);
		if (n + strlen(piece) + 4 > len) {
			snprintf(buf + n, len - n, "...");
			break;
		}
		n += (size_t)snprintf(buf + n, len - n, "%s", piece);
		p += seq ? seq : 1;
	}
	return buf;
}

static int bad_value(char *err, size_t err_len, const char *option,
		     const char *value, const char *expected)
{
	char shown[128];

	snprintf(err, err_len, "invalid value '%s' for --%s: expected %s",
		 printable(value, shown, sizeof(shown)), option, expected);
	return -1;
}

/*
 * Bytes the kernel's dev_valid_name() refuses in a new link's name: '/',
 * ':' and what its isspace() (lib/ctype.c) calls space, which besides
 * ' ' \t \n \v \f \r is 0xA0 (Latin-1 no-break space, also the second byte
 * of UTF-8 'a grave'). Refused here, the name fails as a usage error (exit
 * 1) rather than at link creation (exit 4). '%' is ours: the kernel reads
 * it in a new link's name as a pattern ("vs%d" -> vs0), so the link made
 * would not be the one we delete.
 */
static const char iface_bad_bytes[] = "/:% \t\n\v\f\r\xa0";

static int handle_option(int c, const char *arg, struct vsockdump_opts *o,
			 bool *seen, char *err, size_t err_len)
{
	switch (c) {
	case OPT_EXTCAP_INTERFACES: seen[MODE_INTERFACES] = true; break;
	case OPT_EXTCAP_VERSION: o->extcap_version = arg ? arg : ""; break;
	case OPT_EXTCAP_DLTS: seen[MODE_DLTS] = true; break;
	case OPT_EXTCAP_INTERFACE: o->extcap_interface = arg; break;
	case OPT_EXTCAP_CONFIG: seen[MODE_CONFIG] = true; break;
	case OPT_EXTCAP_CAPTURE_FILTER:
		o->capture_filter = arg;
		seen[MODE_FILTER_CHECK] = true;
		break;
	case OPT_EXTCAP_RELOAD_OPTION:
		o->reload_option = arg;
		seen[MODE_RELOAD] = true;
		break;
	case OPT_CAPTURE: seen[MODE_CAPTURE] = true; break;
	case OPT_FIFO: o->fifo = arg; break;
	case OPT_LOG_LEVEL:
		o->log_level = log_level_from_name(arg);
		if (o->log_level < 0)
			return bad_value(err, err_len, "log-level", arg,
					 "message, info, debug or noisy");
		break;
	case OPT_LOG_FILE: o->log_file = arg; break;
	case OPT_IFACE:
		if (strlen(arg) > 15 || strpbrk(arg, iface_bad_bytes) ||
		    !strcmp(arg, ".") || !strcmp(arg, ".."))
			return bad_value(err, err_len, "iface", arg,
					 "an interface name of at most 15 bytes without '/', ':', '%' or "
					 "whitespace (byte 0xA0 too, as in UTF-8 '\xc3\xa0'), not '.' or '..'");
		o->iface_name = *arg ? arg : NULL;
		break;
	case OPT_KEEP: o->keep = true; break;
	case OPT_EXISTING:
		o->existing = (*arg && strcmp(arg, VSOCKDUMP_EXISTING_NONE) != 0) ?
			      arg : NULL;
		break;
	case OPT_SNAPLEN:
		if (parse_unsigned(arg, SNAPLEN_MIN, SNAPLEN_MAX, &o->snaplen))
			return bad_value(err, err_len, "snaplen", arg,
					 "a number from 32 to 262144");
		break;
	case OPT_RING_SIZE:
		if (parse_unsigned(arg, RING_MIB_MIN, RING_MIB_MAX, &o->ring_mib))
			return bad_value(err, err_len, "ring-size", arg,
					 "a size in MiB from 1 to 1024");
		break;
	case OPT_VHOST_FRAGMENTS:
		if (strcmp(arg, "keep") == 0)
			o->vhost_fragments = VHOST_FRAGMENTS_KEEP;
		else if (strcmp(arg, "trim") == 0)
			o->vhost_fragments = VHOST_FRAGMENTS_TRIM;
		else
			return bad_value(err, err_len, "vhost-fragments", arg, "keep or trim");
		break;
	case 'd': seen[MODE_DUMP_BPF] = true; break;
	case 'h': seen[MODE_HELP] = true; break;
	case OPT_VERSION: seen[MODE_VERSION] = true; break;
	default:
		return -1;	/* caller words the error */
	}
	return 0;
}

/*
 * getopt_long() said '?' or ':' for @what (the word it stopped on). For a
 * long option given "=VALUE" although it takes none, glibc and musl set
 * optopt to the option's val (0 for an unknown or ambiguous one): say that,
 * not "unknown option" for a name that exists.
 */
static void option_error(int c, const char *what, char *err, size_t err_len)
{
	const char *value = strchr(what, '=');
	char shown[128], shown_value[128];

	printable(what, shown, sizeof(shown));
	if (c == ':') {
		snprintf(err, err_len, "option '%s' needs a value; run 'vsockdump --help'",
			 shown);
		return;
	}
	if (optopt && value && strncmp(what, "--", 2) == 0) {
		for (const struct option *o = long_options; o->name; o++) {
			if (o->val != optopt || o->has_arg != no_argument)
				continue;
			printable(value + 1, shown_value, sizeof(shown_value));
			if (o->val == 'd' && value[1])
				snprintf(err, err_len,
					 "option '--%s' takes no value, got '%s'; give the filter "
					 "after it instead: vsockdump -d '%s'",
					 o->name, shown, shown_value);
			else
				snprintf(err, err_len,
					 "option '--%s' takes no value, got '%s'; write '--%s' alone",
					 o->name, shown, o->name);
			return;
		}
	}
	snprintf(err, err_len, "unknown option '%s'; run 'vsockdump --help' for the list",
		 shown);
}

static int check_interface(const struct vsockdump_opts *o, char *err,
			   size_t err_len)
{
	bool needs_iface = o->mode == MODE_DLTS || o->mode == MODE_CONFIG ||
			   o->mode == MODE_RELOAD || o->mode == MODE_FILTER_CHECK;

	if (needs_iface && !o->extcap_interface) {
		snprintf(err, err_len, "missing --extcap-interface=%s",
			 VSOCKDUMP_EXTCAP_IFACE);
		return -1;
	}
	if (o->extcap_interface &&
	    strcmp(o->extcap_interface, VSOCKDUMP_EXTCAP_IFACE) != 0) {
		snprintf(err, err_len,
			 "unknown extcap interface '%s': vsockdump provides only '%s'",
			 o->extcap_interface, VSOCKDUMP_EXTCAP_IFACE);
		return -1;
	}
	if (o->mode == MODE_CAPTURE && !o->fifo) {
		snprintf(err, err_len,
			 "--capture needs --fifo PATH (or --fifo - for standard output)");
		return -1;
	}
	return 0;
}

int args_parse(int argc, char **argv, struct vsockdump_opts *o,
	       char *err, size_t err_len)
{
	bool seen[MODE_VERSION + 1] = { false };
	bool failed = false;
	char scratch[256];
	int c;

	memset(o, 0, sizeof(*o));
	o->capture_filter = "";
	o->snaplen = SNAPLEN_MAX;
	o->ring_mib = RING_MIB_DEFAULT;
	o->vhost_fragments = VHOST_FRAGMENTS_KEEP;
	o->log_level = LOG_MESSAGE;

	opterr = 0;
	optind = 1;
	/* keep going after an error: in reload mode errors don't count */
	while ((c = getopt_long(argc, argv, ":dh", long_options, NULL)) != -1) {
		if (c == '?' || c == ':') {
			const char *what = optind > 1 ? argv[optind - 1] : "?";

			if (!failed)
				option_error(c, what, err, err_len);
			failed = true;
			continue;
		}
		if (failed)
			handle_option(c, optarg, o, seen, scratch, sizeof(scratch));
		else if (handle_option(c, optarg, o, seen, err, err_len))
			failed = true;
	}

	o->mode = pick_mode(seen);
	if (failed && o->mode != MODE_RELOAD)
		return -1;
	if (o->mode == MODE_DUMP_BPF && optind < argc) {
		o->dump_filter = join_words(argv + optind, argc - optind);
		optind = argc;
		/*
		 * -d shows what a capture would attach: printing one of two
		 * filters, or a guess at how to join them, would show a program
		 * the user did not ask for. Refuse, naming both. A blank
		 * filter is no filter (Wireshark's meaning for an empty one),
		 * so with one blank the other is what both ask for.
		 */
		if (o->dump_filter && filter_is_blank(o->dump_filter)) {
			free(o->dump_filter);
			o->dump_filter = NULL;
		}
		if (o->dump_filter && !filter_is_blank(o->capture_filter)) {
			char args[128], option[128];

			printable(o->dump_filter, args, sizeof(args));
			printable(o->capture_filter, option, sizeof(option));
			snprintf(err, err_len,
				 "two filters: '%s' as arguments and '%s' with --extcap-capture-filter; "
				 "give only one (both must match: vsockdump -d '(%s) and (%s)')",
				 args, option, option, args);
			return -1;
		}
	}
	/*
	 * Wireshark's reload call repeats the dialog's current values, where a
	 * boolflag may be followed by a value; only there are leftovers fine.
	 */
	if (optind < argc && o->mode != MODE_RELOAD) {
		char shown[128];

		snprintf(err, err_len,
			 "unexpected argument '%s'; run 'vsockdump --help'",
			 printable(argv[optind], shown, sizeof(shown)));
		return -1;
	}
	if (o->mode == MODE_NONE) {
		snprintf(err, err_len,
			 "nothing to do: use --extcap-interfaces, --capture --fifo PATH, -d FILTER or --help");
		return -1;
	}
	return check_interface(o, err, err_len);
}

void args_free(struct vsockdump_opts *opts)
{
	free(opts->dump_filter);
	opts->dump_filter = NULL;
}
