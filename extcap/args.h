/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * args.h - vsockdump's command line: Wireshark's extcap argument protocol
 * (doc/extcap.adoc) plus the options a script uses directly.
 */
#ifndef VSOCKDUMP_ARGS_H
#define VSOCKDUMP_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "vhost-split.h"

#define VSOCKDUMP_EXTCAP_IFACE	"vsockmon"
/* --existing value meaning "create a temporary interface"; ':' can't
 * appear in a Linux interface name, so it never collides with one. */
#define VSOCKDUMP_EXISTING_NONE	":new"

#define SNAPLEN_MIN		32
#define SNAPLEN_MAX		262144
#define RING_MIB_MIN		1
#define RING_MIB_MAX		1024
/*
 * A vsockmon frame can be 64 KiB of payload plus headers: 2 MiB (dumpcap's
 * default) holds about 30 of them, and bench/capture.sh showed a quarter of
 * a bulk transfer dropped with it; 32 MiB captured every frame.
 */
#define RING_MIB_DEFAULT	32

/* Exit codes: a public API, documented in vsockdump(1). */
enum vsockdump_exit {
	EXIT_OK = 0,
	EXIT_USAGE = 1,		/* bad option or filter */
	EXIT_NO_MODULE = 2,	/* kernel lacks the vsockmon link kind */
	EXIT_NO_PRIVILEGE = 3,	/* missing CAP_NET_ADMIN / CAP_NET_RAW */
	EXIT_LINK = 4,		/* creating/finding/deleting the link failed */
	EXIT_CAPTURE = 5,	/* libpcap could not capture */
	EXIT_OUTPUT = 6,	/* cannot open or write the output */
};

enum run_mode {
	MODE_NONE,
	MODE_INTERFACES,	/* --extcap-interfaces */
	MODE_DLTS,		/* --extcap-dlts */
	MODE_CONFIG,		/* --extcap-config */
	MODE_RELOAD,		/* --extcap-config --extcap-reload-option */
	MODE_FILTER_CHECK,	/* --extcap-capture-filter without --capture */
	MODE_CAPTURE,		/* --capture */
	MODE_DUMP_BPF,		/* -d / --dump-bpf */
	MODE_HELP,
	MODE_VERSION,
};

struct vsockdump_opts {
	enum run_mode mode;
	const char *extcap_interface;
	const char *extcap_version;	/* Wireshark's version, if it said */
	const char *fifo;
	const char *capture_filter;	/* "" when none */
	char *dump_filter;		/* -d's positional words, joined */
	const char *iface_name;		/* NULL: first free vsockmonN */
	bool keep;
	const char *existing;		/* NULL: create a link */
	unsigned int snaplen;
	unsigned int ring_mib;
	enum vhost_fragments vhost_fragments;
	int log_level;
	const char *log_file;
	const char *reload_option;
};

/*
 * Fill @opts from argv. Returns 0, or -1 with a one-line message in @err
 * that says what to do instead.
 */
int args_parse(int argc, char **argv, struct vsockdump_opts *opts,
	       char *err, size_t err_len);
void args_free(struct vsockdump_opts *opts);

void args_print_interfaces(FILE *out);
void args_print_dlts(FILE *out);
/* @links: names of existing vsockmon links, offered by --existing. */
void args_print_config(FILE *out, const char *const *links, size_t n_links);
/* Returns -1 if @option is not a reloadable option. */
int args_print_reload(FILE *out, const char *option,
		      const char *const *links, size_t n_links);
void args_print_help(FILE *out, const char *argv0);

#endif /* VSOCKDUMP_ARGS_H */
