// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_pcapng - the pcapng writer: block framing and options checked by a
 * small independent parser here, and the whole stream read back by
 * libpcap (which Wireshark's dumpcap would also accept).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pcap/pcap.h>

#include <vsockmon_wire.h>

#include "pcapng.h"

#include "unit-check.h"

struct option_view {
	uint16_t code, len;
	const uint8_t *value;
};

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t u64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Find option @code in the options area [p, end). */
static int find_option(const uint8_t *p, const uint8_t *end, uint16_t code,
		       struct option_view *out)
{
	while (p + 4 <= end) {
		uint16_t c, l;

		memcpy(&c, p, 2);
		memcpy(&l, p + 2, 2);
		if (c == 0)
			return 0;
		if (c == code) {
			out->code = c;
			out->len = l;
			out->value = p + 4;
			return 1;
		}
		p += 4 + ((l + 3u) & ~3u);
	}
	return 0;
}

static int option_is_string(const uint8_t *opts, const uint8_t *end,
			    uint16_t code, const char *want)
{
	struct option_view o;

	return find_option(opts, end, code, &o) && o.len == strlen(want) &&
	       memcmp(o.value, want, o.len) == 0;
}

static const uint8_t frame1[] = { 1, 2, 3, 4, 5 };
static const uint8_t frame2[VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN] = { 9 };
/* a trimmed vhost fragment: headers, then bytes from further on in the tapped frame */
static const uint8_t frame3[] = { 7, 7, 7, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7 };
#define FRAME3_HEAD 3
#define FRAME3_BODY_OFF 8
#define FRAME3_BODY 7
#define FRAME3_COMMENT "vsockdump: 4052 bytes lost"
#define SHB_COMMENT "trimmed at capture"
#define ISB_COMMENT "vhost fragments: 1 of 3 frames trimmed"

static void write_stream(FILE *f)
{
	struct pcapng_interface iface = {
		.name = "vsockmon7", .filter = "port 80", .os = "Linux test",
		.linktype = VSOCKMON_LINKTYPE, .snaplen = 262144, .tsresol = 9,
	};
	struct pcapng_stats st = {
		.start_ts = 1000, .end_ts = 5000000001ULL, .received = 3,
		.kernel_drops = 7, .interface_drops = 1, .accepted = 3,
		.comment = ISB_COMMENT,
	};

	CHECK(pcapng_write_shb(f, "vsockdump test", "Linux test", SHB_COMMENT) == 0, "shb");
	CHECK(pcapng_write_idb(f, &iface) == 0, "idb");
	CHECK(pcapng_write_epb(f, 1700000000123456789ULL, frame1, sizeof(frame1), 100) == 0, "epb1");
	CHECK(pcapng_write_epb(f, 1700000001000000000ULL, frame2, sizeof(frame2), sizeof(frame2)) == 0, "epb2");
	CHECK(pcapng_write_epb_parts(f, 1700000002000000000ULL, frame3, FRAME3_HEAD, frame3 + FRAME3_BODY_OFF,
				     FRAME3_BODY, 4128, FRAME3_COMMENT) == 0, "epb3");
	CHECK(pcapng_write_isb(f, &st) == 0, "isb");
}

static void check_blocks(const uint8_t *buf, size_t len)
{
	static const uint32_t want_types[] = {
		PCAPNG_BT_SHB, PCAPNG_BT_IDB, PCAPNG_BT_EPB, PCAPNG_BT_EPB, PCAPNG_BT_EPB, PCAPNG_BT_ISB,
	};
	size_t off = 0, n = 0;

	while (off + 12 <= len && n < 6) {
		const uint8_t *b = buf + off;
		uint32_t type = u32_at(b), total = u32_at(b + 4);
		struct option_view o;

		CHECK(type == want_types[n], "block %zu type %#x", n, type);
		CHECK(total % 4 == 0 && total >= 12 && off + total <= len,
		      "block %zu length %u", n, total);
		if (total % 4 || off + total > len)
			return;
		CHECK(u32_at(b + total - 4) == total, "block %zu trailing length", n);
		const uint8_t *end = b + total - 4;

		if (type == PCAPNG_BT_SHB) {
			CHECK(u32_at(b + 8) == 0x1A2B3C4D, "byte-order magic");
			CHECK(option_is_string(b + 24, end, 4, "vsockdump test"), "shb_userappl");
			CHECK(option_is_string(b + 24, end, 3, "Linux test"), "shb_os");
			CHECK(option_is_string(b + 24, end, 1, SHB_COMMENT), "shb opt_comment");
		} else if (type == PCAPNG_BT_IDB) {
			uint16_t lt;

			memcpy(&lt, b + 8, 2);
			CHECK(lt == VSOCKMON_LINKTYPE, "linktype %u", lt);
			CHECK(u32_at(b + 12) == 262144, "snaplen");
			CHECK(option_is_string(b + 16, end, 2, "vsockmon7"), "if_name");
			CHECK(option_is_string(b + 16, end, 12, "Linux test"), "if_os");
			CHECK(find_option(b + 16, end, 11, &o) && o.len == 8 &&
			      o.value[0] == 0 && memcmp(o.value + 1, "port 80", 7) == 0,
			      "if_filter");
			CHECK(find_option(b + 16, end, 9, &o) && o.len == 1 && o.value[0] == 9,
			      "if_tsresol");
		} else if (type == PCAPNG_BT_EPB && n == 2) {
			uint64_t ts = ((uint64_t)u32_at(b + 12) << 32) | u32_at(b + 16);

			CHECK(ts == 1700000000123456789ULL, "epb timestamp");
			CHECK(u32_at(b + 20) == sizeof(frame1), "caplen");
			CHECK(u32_at(b + 24) == 100, "origlen");
			CHECK(memcmp(b + 28, frame1, sizeof(frame1)) == 0, "frame data");
			CHECK(total == 28 + 8 + 4, "epb padded to 32 bits (%u)", total);
		} else if (type == PCAPNG_BT_EPB && n == 3) {
			CHECK(total == 28 + 76 + 4, "epb without options (%u)", total);
		} else if (type == PCAPNG_BT_EPB && n == 4) {
			uint32_t caplen = FRAME3_HEAD + FRAME3_BODY;

			CHECK(u32_at(b + 20) == caplen && u32_at(b + 24) == 4128, "parts: lengths");
			CHECK(memcmp(b + 28, frame3, FRAME3_HEAD) == 0 &&
			      memcmp(b + 28 + FRAME3_HEAD, frame3 + FRAME3_BODY_OFF, FRAME3_BODY) == 0,
			      "parts: head then body");
			CHECK(b[28 + caplen] == 0 && b[28 + caplen + 1] == 0, "parts: padded with zeros");
			CHECK(option_is_string(b + 28 + ((caplen + 3) & ~3u), end, 1, FRAME3_COMMENT),
			      "parts: opt_comment");
			CHECK(total == 28 + 12 + 4 + 28 + 4 + 4, "parts: block length %u", total);
		} else if (type == PCAPNG_BT_ISB) {
			CHECK(find_option(b + 20, end, 7, &o) && o.len == 8 &&
			      u64_at(o.value) == 7, "isb_osdrop");
			CHECK(find_option(b + 20, end, 5, &o) && u64_at(o.value) == 1, "isb_ifdrop");
			CHECK(find_option(b + 20, end, 6, &o) && u64_at(o.value) == 3, "isb_filteraccept");
			CHECK(option_is_string(b + 20, end, 1, ISB_COMMENT), "isb opt_comment");
			CHECK(find_option(b + 20, end, 2, &o) && o.len == 8, "isb_starttime");
		}
		off += total;
		n++;
	}
	CHECK(n == 6 && off == len, "%zu blocks, %zu of %zu bytes", n, off, len);
}

/* Without the kernel's counters the ISB claims no drops, rather than zero. */
static void check_isb_without_counters(void)
{
	struct pcapng_stats st = { .start_ts = 1, .end_ts = 2, .accepted = 5, .counts_unknown = 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const uint8_t *b, *end;
	struct option_view o;

	CHECK(f && pcapng_write_isb(f, &st) == 0 && fclose(f) == 0, "isb without counters");
	if (!buf || len < 24)
		return;
	b = (const uint8_t *)buf;
	end = b + u32_at(b + 4) - 4;
	CHECK(find_option(b + 20, end, 6, &o) && u64_at(o.value) == 5, "isb_filteraccept still there");
	CHECK(!find_option(b + 20, end, 7, &o), "no isb_osdrop");
	CHECK(!find_option(b + 20, end, 5, &o), "no isb_ifdrop");
	CHECK(!find_option(b + 20, end, 4, &o), "no isb_ifrecv");
	free(buf);
}

static void check_with_libpcap(const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path,
			PCAP_TSTAMP_PRECISION_NANO, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;

	CHECK(p != NULL, "libpcap cannot read it: %s", errbuf);
	if (!p)
		return;
	CHECK(pcap_datalink(p) == VSOCKMON_LINKTYPE, "datalink %d", pcap_datalink(p));
	CHECK(pcap_next_ex(p, &h, &data) == 1, "first packet");
	CHECK(h->caplen == sizeof(frame1) && h->len == 100, "first lengths");
	CHECK(h->ts.tv_sec == 1700000000 && h->ts.tv_usec == 123456789, "first ts");
	CHECK(pcap_next_ex(p, &h, &data) == 1, "second packet");
	CHECK(h->caplen == sizeof(frame2) && data[0] == 9, "second frame");
	CHECK(pcap_next_ex(p, &h, &data) == 1, "third packet");
	CHECK(h->caplen == FRAME3_HEAD + FRAME3_BODY && h->len == 4128 && data[0] == 7 &&
	      data[FRAME3_HEAD] == 1 && data[FRAME3_HEAD + FRAME3_BODY - 1] == 7, "third frame");
	CHECK(pcap_next_ex(p, &h, &data) == PCAP_ERROR_BREAK, "exactly three packets");
	pcap_close(p);
}

int main(void)
{
	char path[] = "/tmp/vsockdump-test-pcapng-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w+b") : NULL;
	uint8_t *buf;
	long len;

	if (!f) {
		perror("tmpfile");
		return 2;
	}
	write_stream(f);
	fflush(f);
	len = ftell(f);
	buf = malloc((size_t)len);
	rewind(f);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		perror("read back");
		return 2;
	}
	check_blocks(buf, (size_t)len);
	check_with_libpcap(path);
	check_isb_without_counters();
	fclose(f);
	unlink(path);
	free(buf);
	printf("%d failures\n", failures);
	return failures ? 1 : 0;
}
