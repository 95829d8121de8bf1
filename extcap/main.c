// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vsockdump - Wireshark extcap that captures AF_VSOCK traffic through a
 * temporary vsockmon link: create it, capture it, delete it.
 *
 * main.c only glues the parts together: args.c (extcap protocol),
 * filter.c (filter language -> cBPF), link.c (rtnetlink), capture.c
 * (libpcap loop), pcapng.c (output), privs.c (capabilities).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "capture.h"
#include "filter.h"
#include "link.h"
#include "log.h"
#include "output.h"
#include "privs.h"

#ifndef VSOCKDUMP_VERSION
#define VSOCKDUMP_VERSION "0.0.0"
#endif

#define ERR_LEN 768

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	stop_requested = 1;
}

/*
 * No SA_RESTART: opening the fifo (which blocks until the reader opens it)
 * returns EINTR so we can stop. The capture loop and the output let the
 * signals in only while they wait in ppoll().
 */
static void install_signal_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigset_t stops;
	int sig;

	sigemptyset(&sa.sa_mask);
	capture_stop_signals(&stops);
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&stops, sig) == 1)
			sigaction(sig, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
}

static int fail(int code, const char *err)
{
	log_error("%s", err);
	return code;
}

/* ---------------------------------------------------- discovery modes */

/* Read-only link dump for the --existing selector; empty on any error. */
static void list_links(char ***names, size_t *n)
{
	struct nl_sock *sk;
	char err[ERR_LEN];

	*names = NULL;
	*n = 0;
	if (link_open(&sk, err, sizeof(err)) == 0) {
		link_list_vsockmon(sk, names, n);
		link_close(sk);
	}
}

static int run_config(const struct vsockdump_opts *o)
{
	char **names;
	size_t n;
	int rc = 0;

	list_links(&names, &n);
	if (o->mode == MODE_CONFIG)
		args_print_config(stdout, (const char *const *)names, n);
	else if (args_print_reload(stdout, o->reload_option,
				   (const char *const *)names, n) < 0)
		rc = EXIT_USAGE;
	link_free_names(names, n);
	if (rc)
		log_error("--extcap-reload-option %s: only 'existing' can be reloaded",
			  o->reload_option);
	return rc;
}

/* Wireshark's filter check: empty stdout = valid, else one error line. */
static int run_filter_check(const struct vsockdump_opts *o)
{
	struct bpf_program prog;
	char err[FILTER_ERR_LEN];

	if (filter_compile(o->capture_filter, SNAPLEN_MAX, &prog, err) < 0)
		printf("%s\n", err);
	filter_free(&prog);
	return 0;
}

static int run_dump_bpf(const struct vsockdump_opts *o)
{
	const char *text = o->dump_filter ? o->dump_filter : o->capture_filter;
	struct bpf_program prog;
	char err[FILTER_ERR_LEN];

	if (filter_compile(text, o->snaplen, &prog, err) < 0)
		return fail(EXIT_USAGE, err);
	bpf_dump(&prog, 1);
	filter_free(&prog);
	return 0;
}

/* -------------------------------------------------------------- capture */

static int setup_link(struct nl_sock *sk, const struct vsockdump_opts *o,
		      struct vsock_link *link, char *err, size_t err_len)
{
	int stale;

	if (o->existing)
		return link_use_existing(sk, o->existing, link, err, err_len);
	stale = link_cleanup_stale(sk);
	if (stale)
		log_info("removed %d stale vsockdump link(s)", stale);
	return link_create(sk, o->iface_name, link, err, err_len);
}

static int teardown_link(struct nl_sock *sk, const struct vsockdump_opts *o,
			 const struct vsock_link *link)
{
	char err[ERR_LEN];
	int rc = 0;

	if (!link->created)
		return 0;
	if (o->keep)
		rc = link_mark_kept(sk, link, err, sizeof(err));
	else
		rc = link_delete(sk, link, err, sizeof(err));
	if (rc)
		log_error("%s", err);
	return rc;
}

static int capture_link(const struct vsockdump_opts *o,
			const struct bpf_program *prog, FILE *out,
			const struct vsock_link *link)
{
	struct capture_config config = {
		.ifname = link->name,
		.filter_text = o->capture_filter,
		.filter = prog,
		.snaplen = o->snaplen,
		.ring_bytes = o->ring_mib * 1024U * 1024U,
		.vhost_fragments = o->vhost_fragments,
	};
	struct capture cap = { 0 };
	char err[ERR_LEN];
	int rc = capture_open(&cap, &config, err, sizeof(err));

	/* setup done: keep only what deleting the link needs */
	if (link->created)
		privs_keep_net_admin();
	else
		privs_drop_all();
	if (rc == 0)
		rc = capture_run(&cap, out, &stop_requested, err, sizeof(err));
	if (rc)
		log_error("%s", err);
	capture_close(&cap);
	return rc;
}

/*
 * A capture refused for its options or its filter still opens and closes
 * its fifo: dumpcap waits for a writer, and only one that comes and goes
 * makes it stop and show our stderr. Only an existing fifo: a usage error
 * must not create or truncate a file.
 */
static void release_fifo_reader(const struct vsockdump_opts *o)
{
	char err[ERR_LEN];
	struct stat st;
	FILE *out;

	if (o->mode != MODE_CAPTURE || !o->fifo || strcmp(o->fifo, "-") == 0 ||
	    stat(o->fifo, &st) < 0 || !S_ISFIFO(st.st_mode))
		return;
	install_signal_handlers();	/* a stop ends the wait for the reader */
	out = output_open(o->fifo, &stop_requested, err, sizeof(err));
	if (out)
		fclose(out);
}

static int run_capture(const struct vsockdump_opts *o)
{
	struct vsock_link link = { 0 };
	struct bpf_program prog;
	struct nl_sock *sk = NULL;
	char err[ERR_LEN];
	FILE *out = NULL;
	int rc, teardown_rc;

	/* a filter that does not compile is a usage error: no output file made or truncated */
	if (filter_compile(o->capture_filter, o->snaplen, &prog, err) < 0) {
		rc = fail(EXIT_USAGE, err);
		release_fifo_reader(o);
		return rc;
	}
	/*
	 * Then open the output, even to report a later error: Wireshark's
	 * dumpcap waits for a writer on its fifo, and only a writer that opens
	 * and closes it makes dumpcap stop and show our stderr. An extcap that
	 * exits without ever opening the fifo can leave tshark waiting.
	 */
	out = output_open(o->fifo, &stop_requested, err, sizeof(err));
	if (!out) {
		rc = stop_requested ? 0 : fail(EXIT_OUTPUT, err);
		goto out_filter;
	}
	rc = privs_acquire_capture(err, sizeof(err));
	if (rc) {
		fail(rc, err);
		goto out_close;
	}

	rc = link_open(&sk, err, sizeof(err));
	if (rc == 0)
		rc = setup_link(sk, o, &link, err, sizeof(err));
	if (rc)
		log_error("%s", err);
	else if (!stop_requested)
		rc = capture_link(o, &prog, out, &link);
	teardown_rc = teardown_link(sk, o, &link);
	if (!rc)
		rc = teardown_rc;
	link_close(sk);
out_close:
	if (out != stdout)
		fclose(out);
	else
		fflush(out);
out_filter:
	filter_free(&prog);
	return rc;
}

/* ------------------------------------------------------------------ main */

static int run(const struct vsockdump_opts *o, const char *argv0)
{
	switch (o->mode) {
	case MODE_INTERFACES:
		args_print_interfaces(stdout);
		return 0;
	case MODE_DLTS:
		args_print_dlts(stdout);
		return 0;
	case MODE_CONFIG:
	case MODE_RELOAD:
		return run_config(o);
	case MODE_FILTER_CHECK:
		return run_filter_check(o);
	case MODE_DUMP_BPF:
		return run_dump_bpf(o);
	case MODE_HELP:
		args_print_help(stdout, argv0);
		return 0;
	case MODE_VERSION:
		printf("vsockdump %s\n", VSOCKDUMP_VERSION);
		return 0;
	case MODE_CAPTURE:
		return run_capture(o);
	case MODE_NONE:
		break;
	}
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct vsockdump_opts opts;
	char err[ERR_LEN];
	int rc;

	if (args_parse(argc, argv, &opts, err, sizeof(err)) < 0) {
		fail(EXIT_USAGE, err);
		release_fifo_reader(&opts);
		args_free(&opts);
		return EXIT_USAGE;
	}
	if (log_init(opts.log_level, opts.log_file) < 0) {
		snprintf(err, sizeof(err), "cannot open log file %s: %s; choose a writable path",
			 opts.log_file, strerror(errno));
		fail(EXIT_USAGE, err);
		release_fifo_reader(&opts);
		args_free(&opts);
		return EXIT_USAGE;
	}
	install_signal_handlers();
	/* only a capture needs privileges; everything else runs without any */
	if (opts.mode != MODE_CAPTURE)
		privs_drop_all();
	log_debug("mode %d, interface %s", opts.mode,
		  opts.extcap_interface ? opts.extcap_interface : "-");
	rc = run(&opts, argv[0]);
	log_debug("exit %d", rc);
	log_close();
	args_free(&opts);
	return rc;
}
