// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * capture.c - the capture loop.
 *
 * Stop conditions: a signal (SIGTERM from Wireshark, SIGINT, SIGHUP) sets *stop;
 * the reader closing the fifo shows as POLLERR on our end of it, or as
 * EPIPE on a write. The signals are blocked for the whole loop except
 * inside ppoll() - here, and in output.c while a full fifo makes a write
 * wait - so a signal arriving between the *stop check and the wait is not
 * lost, and a write is never cut short by EINTR (stdio would drop the rest
 * of its buffer, and the file would end inside a block).
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include <vsockmon_wire.h>

#include "args.h"
#include "capture.h"
#include "log.h"
#include "output.h"
#include "pcapng.h"
#include "vhost-split.h"

#ifndef VSOCKDUMP_VERSION
#define VSOCKDUMP_VERSION "0.0.0"
#endif

#define NSEC_PER_SEC 1000000000ULL
/* longest a frame waits in the kernel before we write it out */
#define BATCH_MS 100

struct batch {
	FILE *out;
	int write_errno;	/* first failed write, 0 if none */
	unsigned long long written;
	pcap_t *pcap;
	uint64_t ts_units;	/* per second: the precision libpcap granted */
	struct vhost_split *split;	/* --vhost-fragments=trim, else NULL */
};

/* The section comment of a trimmed capture: its frames are not all as tapped. */
#define TRIM_SECTION_COMMENT \
	"vsockdump --vhost-fragments=trim: frames in which the kernel's tap copied more than " \
	"a vhost fragment were cut at capture time to their headers and the fragment's own " \
	"bytes; the statistics block's comment counts them."

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static int activate_error(pcap_t *pcap, int rc, const char *ifname,
			  char *err, size_t err_len)
{
	switch (rc) {
	case PCAP_ERROR_PERM_DENIED:
		snprintf(err, err_len,
			 "cannot capture on %s: permission denied; run as root or "
			 "sudo setcap cap_net_admin,cap_net_raw+ep PATH-TO-vsockdump", ifname);
		return EXIT_NO_PRIVILEGE;
	case PCAP_ERROR_NO_SUCH_DEVICE:
		snprintf(err, err_len,
			 "cannot capture on %s: no such interface (was it deleted?); retry", ifname);
		return EXIT_LINK;
	default:
		snprintf(err, err_len, "cannot capture on %s: %s", ifname,
			 pcap_geterr(pcap));
		return EXIT_CAPTURE;
	}
}

static int configure(pcap_t *pcap, const struct capture_config *c)
{
	/*
	 * Not immediate mode: on Linux that means TPACKET_V2, whose ring has
	 * fixed-size slots (MTU-sized, 64 KiB for vsockmon), so a 2 MiB ring
	 * holds ~30 frames and a burst overflows it. TPACKET_V3 packs frames
	 * into blocks the kernel hands over when full or after BATCH_MS, which
	 * keeps the live view live and the ring roomy.
	 */
	if (pcap_set_snaplen(pcap, (int)c->snaplen) ||
	    pcap_set_promisc(pcap, 0) ||
	    pcap_set_buffer_size(pcap, (int)c->ring_bytes) ||
	    pcap_set_timeout(pcap, BATCH_MS))
		return -1;
	/* not fatal: pcapng's if_tsresol follows whatever we get */
	if (pcap_set_tstamp_precision(pcap, PCAP_TSTAMP_PRECISION_NANO))
		log_debug("nanosecond time stamps not offered: microseconds");
	return 0;
}

int capture_open(struct capture *cap, const struct capture_config *c,
		 char *err, size_t err_len)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	int rc;

	cap->config = c;
	cap->pcap = pcap_create(c->ifname, errbuf);
	if (!cap->pcap) {
		snprintf(err, err_len, "cannot capture on %s: %s", c->ifname, errbuf);
		return EXIT_CAPTURE;
	}
	if (configure(cap->pcap, c)) {
		snprintf(err, err_len, "cannot configure capture on %s: %s",
			 c->ifname, pcap_geterr(cap->pcap));
		return EXIT_CAPTURE;
	}
	rc = pcap_activate(cap->pcap);
	if (rc < 0)
		return activate_error(cap->pcap, rc, c->ifname, err, err_len);
	if (rc > 0)
		log_warn("%s: %s", c->ifname, pcap_statustostr(rc));
	if (pcap_datalink(cap->pcap) != VSOCKMON_LINKTYPE) {
		snprintf(err, err_len,
			 "%s is not a vsockmon interface (link type %d, expected %d); "
			 "pick one from 'ip link show type vsockmon'",
			 c->ifname, pcap_datalink(cap->pcap), VSOCKMON_LINKTYPE);
		return EXIT_CAPTURE;
	}
	/* libpcap attaches the program to the socket (SO_ATTACH_FILTER) */
	if (pcap_setfilter(cap->pcap, (struct bpf_program *)c->filter) < 0) {
		snprintf(err, err_len, "cannot attach the filter on %s: %s",
			 c->ifname, pcap_geterr(cap->pcap));
		return EXIT_CAPTURE;
	}
	if (pcap_setnonblock(cap->pcap, 1, errbuf) < 0) {
		snprintf(err, err_len, "cannot set %s non-blocking: %s",
			 c->ifname, errbuf);
		return EXIT_CAPTURE;
	}
	return 0;
}

static void write_frame(u_char *user, const struct pcap_pkthdr *h,
			const u_char *bytes)
{
	struct batch *b = (struct batch *)user;
	/* tv_usec holds nanoseconds when nanosecond precision was granted */
	uint64_t ts = (uint64_t)h->ts.tv_sec * b->ts_units + (uint64_t)h->ts.tv_usec;
	int rc;

	if (b->write_errno)
		return;
	if (b->split) {
		struct vhost_frame f;

		vhost_split_frame(b->split, bytes, h->caplen, h->len, &f);
		rc = pcapng_write_epb_parts(b->out, ts, bytes, f.head_len, bytes + f.body_off,
					    f.body_len, f.origlen, f.comment);
	} else {
		rc = pcapng_write_epb(b->out, ts, bytes, h->caplen, h->len);
	}
	if (rc < 0) {
		b->write_errno = errno ? errno : EIO;
		pcap_breakloop(b->pcap);
		return;
	}
	b->written++;
}

static int write_headers(const struct capture *cap, FILE *out, bool trim)
{
	const struct capture_config *c = cap->config;
	struct utsname uts;
	char os[160];
	char app[64];
	struct pcapng_interface iface = {
		.name = c->ifname,
		.filter = c->filter_text,
		.os = os,
		.linktype = VSOCKMON_LINKTYPE,
		.snaplen = c->snaplen,
		.tsresol = pcap_get_tstamp_precision(cap->pcap) ==
			   PCAP_TSTAMP_PRECISION_NANO ? 9 : 6,
	};

	uname(&uts);
	snprintf(os, sizeof(os), "%s %s", uts.sysname, uts.release);
	snprintf(app, sizeof(app), "vsockdump %s", VSOCKDUMP_VERSION);
	if (pcapng_write_shb(out, app, os, trim ? TRIM_SECTION_COMMENT : NULL) < 0 ||
	    pcapng_write_idb(out, &iface) < 0)
		return -1;
	return fflush(out);
}

static uint64_t in_tsresol(const struct capture *cap, uint64_t ns)
{
	if (pcap_get_tstamp_precision(cap->pcap) == PCAP_TSTAMP_PRECISION_NANO)
		return ns;
	return ns / 1000;
}

void capture_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

static void block_stop_signals(sigset_t *open_mask)
{
	sigset_t block;

	capture_stop_signals(&block);
	sigaddset(&block, SIGPIPE);
	sigprocmask(SIG_BLOCK, &block, open_mask);
}

/* The counts of --vhost-fragments=trim, for the log and the statistics block. */
static void report_trim(const struct vhost_split *split, char *summary, size_t len)
{
	const struct vhost_split_stats *st = vhost_split_stats(split);

	vhost_split_summary(st, summary, len);
	log_msg(LOG_MESSAGE, "%s", summary);
	/* wrong bytes in the file: worth Wireshark's "Error by extcap pipe" */
	if (st->unsure)
		log_warn("%llu trimmed vhost fragment frames may hold the wrong bytes: frames were lost "
			 "in the ring before them (their packets' frame comments say which); capture with "
			 "--vhost-fragments=keep and a larger --ring-size to have the plugin take them apart",
			 (unsigned long long)st->unsure);
	if (st->evicted)
		log_warn("%llu vhost split packets were given up mid-packet (over %d directions splitting "
			 "at once): their later fragment frames may hold the wrong bytes",
			 (unsigned long long)st->evicted, VHOST_SPLIT_SETS * VHOST_SPLIT_WAYS);
}

static void write_stats(const struct capture *cap, FILE *out,
			uint64_t start_ns, unsigned long long written,
			const struct vhost_split *split)
{
	char summary[512];
	struct pcap_stat ps = { 0 };
	struct pcapng_stats st = {
		.start_ts = in_tsresol(cap, start_ns),
		.end_ts = in_tsresol(cap, now_ns()),
		.accepted = written,
	};

	if (pcap_stats(cap->pcap, &ps) == 0) {
		st.received = ps.ps_recv;
		st.kernel_drops = ps.ps_drop;
		/* Wireshark's "Dropped" reads isb_ifdrop only (dumpcap puts
		 * ps_drop there): the ring's drops belong in it too */
		st.interface_drops = (uint64_t)ps.ps_ifdrop + ps.ps_drop;
	} else {
		st.counts_unknown = 1;
		log_warn("no capture counters from the kernel (%s): the statistics carry no drop counts",
			 pcap_geterr(cap->pcap));
	}
	log_info("captured %llu frames, kernel dropped %u", written, ps.ps_drop);
	if (split) {
		report_trim(split, summary, sizeof(summary));
		st.comment = summary;
	}
	/* the reader may be gone already: nothing to do about that */
	if (pcapng_write_isb(out, &st) == 0)
		fflush(out);
}

static bool reader_gone(int err)
{
	return err == EPIPE || err == EINTR;
}

/* Wait for frames, a signal, or the reader leaving; false: stop now. */
static bool wait_for_frames(struct capture *cap, FILE *out,
			    volatile sig_atomic_t *stop, const sigset_t *open_mask)
{
	struct pollfd fds[2] = {
		{ .fd = pcap_get_selectable_fd(cap->pcap), .events = POLLIN },
		/* events 0: only POLLERR/POLLHUP, i.e. the reader closed */
		{ .fd = output_fileno(out), .events = 0 },
	};
	struct timespec tick = { .tv_sec = 1 };
	int n;

	if (*stop)
		return false;
	n = ppoll(fds, 2, &tick, open_mask);
	if (n < 0)
		return errno == EINTR ? !*stop : false;
	if (fds[1].revents & (POLLERR | POLLHUP)) {
		log_info("the reader closed the output; stopping");
		return false;
	}
	return true;
}

int capture_run(struct capture *cap, FILE *out, volatile sig_atomic_t *stop,
		char *err, size_t err_len)
{
	struct batch batch = {
		.out = out,
		.pcap = cap->pcap,
		.ts_units = pcap_get_tstamp_precision(cap->pcap) == PCAP_TSTAMP_PRECISION_NANO ?
			    NSEC_PER_SEC : 1000000,
	};
	uint64_t start_ns = now_ns();
	sigset_t open_mask;
	int rc = 0;

	if (cap->config->vhost_fragments == VHOST_FRAGMENTS_TRIM) {
		batch.split = vhost_split_new();
		if (!batch.split) {
			snprintf(err, err_len, "cannot allocate the vhost fragment table: %s", strerror(errno));
			return EXIT_CAPTURE;
		}
	}
	block_stop_signals(&open_mask);
	if (write_headers(cap, out, batch.split != NULL) < 0) {
		vhost_split_free(batch.split);
		sigprocmask(SIG_SETMASK, &open_mask, NULL);
		if (reader_gone(errno) || errno == ETIMEDOUT)
			return 0;
		snprintf(err, err_len, "cannot write the output: %s", strerror(errno));
		return EXIT_OUTPUT;
	}
	log_info("capturing on %s%s", cap->config->ifname,
		 batch.split ? ", trimming vhost fragment frames to their own bytes" : "");
	while (wait_for_frames(cap, out, stop, &open_mask)) {
		int n = pcap_dispatch(cap->pcap, -1, write_frame, (u_char *)&batch);

		if (n == PCAP_ERROR) {
			snprintf(err, err_len, "capture on %s failed: %s",
				 cap->config->ifname, pcap_geterr(cap->pcap));
			rc = EXIT_CAPTURE;
			break;
		}
		if (!batch.write_errno && fflush(out) != 0)
			batch.write_errno = errno;
		if (batch.write_errno)
			break;
	}
	if (batch.write_errno == ETIMEDOUT)
		log_warn("the reader took nothing for %d ms after the stop: the output ends short",
			 OUTPUT_STOP_GRACE_MS);
	else if (batch.write_errno && !reader_gone(batch.write_errno) && !*stop) {
		snprintf(err, err_len, "cannot write the output: %s",
			 strerror(batch.write_errno));
		rc = EXIT_OUTPUT;
	}
	/* a failed write may have cut a block: statistics after it would be garbage */
	if (!batch.write_errno) {
		write_stats(cap, out, start_ns, batch.written, batch.split);
	} else if (batch.split) {
		char summary[512];

		report_trim(batch.split, summary, sizeof(summary));
	}
	vhost_split_free(batch.split);
	sigprocmask(SIG_SETMASK, &open_mask, NULL);
	return rc;
}

void capture_close(struct capture *cap)
{
	if (cap->pcap)
		pcap_close(cap->pcap);
	cap->pcap = NULL;
}
