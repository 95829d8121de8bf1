// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost_split_decisions - print what --vhost-fragments=trim
 * (extcap/vhost-split.c) writes of each frame of a capture, one line per
 * frame, for the differential check against the plugin (split_agree.py):
 *
 *   <frame> <head_len> <body_off> <body_len> <origlen>\t<comment>
 *
 * (struct vhost_frame: bytes [0, head_len) and [body_off, body_off +
 * body_len) of the frame are written, with original length origlen), then
 * a last line "stats <trimmed> <gaps> <evicted>".
 */
#include <stdio.h>
#include <pcap/pcap.h>

#include "vhost-split.h"

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	const struct vhost_split_stats *st;
	struct vhost_split *vs;
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t frame = 0;
	pcap_t *p;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CAPTURE.pcap\n", argv[0]);
		return 2;
	}
	p = pcap_open_offline(argv[1], errbuf);
	if (!p) {
		fprintf(stderr, "%s: %s\n", argv[1], errbuf);
		return 2;
	}
	vs = vhost_split_new();
	if (!vs)
		return 2;
	while (pcap_next_ex(p, &h, &data) == 1) {
		struct vhost_frame v;

		vhost_split_frame(vs, data, h->caplen, h->len, &v);
		printf("%llu %u %u %u %u\t%s\n", (unsigned long long)++frame, v.head_len, v.body_off, v.body_len,
		       v.origlen, v.comment ? v.comment : "");
	}
	st = vhost_split_stats(vs);
	printf("stats %llu %llu %llu\n", (unsigned long long)st->trimmed, (unsigned long long)st->gaps,
	       (unsigned long long)st->evicted);
	pcap_close(p);
	vhost_split_free(vs);
	return 0;
}
