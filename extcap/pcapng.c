// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pcapng.c - write the few pcapng blocks vsockdump produces.
 *
 * The capture loop flushes only between blocks, so a reader never sees half
 * a block once the stream is flushed. Header blocks are assembled in a
 * buffer; frames go to stdio directly (pcapng_write_epb()).
 * Layout per draft-ietf-opsawg-pcapng: type, total length, body, options
 * (code, length, value padded to 32 bits, opt_endofopt), total length.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng.h"

#define OPT_ENDOFOPT		0
#define OPT_COMMENT		1
#define OPT_SHB_OS		3
#define OPT_SHB_USERAPPL	4
#define OPT_IF_NAME		2
#define OPT_IF_TSRESOL		9
#define OPT_IF_FILTER		11
#define OPT_IF_OS		12
#define OPT_ISB_STARTTIME	2
#define OPT_ISB_ENDTIME		3
#define OPT_ISB_IFRECV		4
#define OPT_ISB_IFDROP		5
#define OPT_ISB_FILTERACCEPT	6
#define OPT_ISB_OSDROP		7

/* if_filter's first byte: the filter is a string in the capturer's syntax */
#define IF_FILTER_STRING	0

struct block {
	uint8_t *buf;
	size_t len, cap;
	int failed;
};

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static void put(struct block *b, const void *data, size_t len)
{
	size_t need = b->len + pad4(len);

	if (b->failed)
		return;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *p;

		while (cap < need)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p) {
			b->failed = 1;
			return;
		}
		b->buf = p;
		b->cap = cap;
	}
	if (len)
		memcpy(b->buf + b->len, data, len);
	memset(b->buf + b->len + len, 0, pad4(len) - len);
	b->len = need;
}

static void put_u16(struct block *b, uint16_t v)
{
	put(b, &v, sizeof(v));	/* callers pair u16s so padding never shows */
}

static void put_u32(struct block *b, uint32_t v)
{
	put(b, &v, sizeof(v));
}

static void put_option(struct block *b, uint16_t code, const void *value,
		       size_t len)
{
	uint16_t hdr[2] = { code, (uint16_t)len };

	put(b, hdr, sizeof(hdr));
	put(b, value, len);
}

static void put_string_option(struct block *b, uint16_t code, const char *s)
{
	if (s && *s)
		put_option(b, code, s, strlen(s));
}

/* pcapng timestamps: high 32 bits first, then low 32 bits */
static void put_timestamp(struct block *b, uint64_t ts)
{
	put_u32(b, (uint32_t)(ts >> 32));
	put_u32(b, (uint32_t)ts);
}

static void put_timestamp_option(struct block *b, uint16_t code, uint64_t ts)
{
	uint32_t v[2] = { (uint32_t)(ts >> 32), (uint32_t)ts };

	put_option(b, code, v, sizeof(v));
}

static void begin(struct block *b, uint32_t type)
{
	put_u32(b, type);
	put_u32(b, 0);		/* total length, patched by finish() */
}

static int finish(struct block *b, FILE *out)
{
	uint32_t total;
	int ret = -1;

	put_u32(b, 0);		/* trailing total length */
	if (b->failed) {
		errno = ENOMEM;
		goto out;
	}
	total = (uint32_t)b->len;
	memcpy(b->buf + 4, &total, sizeof(total));
	memcpy(b->buf + b->len - 4, &total, sizeof(total));
	if (fwrite(b->buf, 1, b->len, out) == b->len)
		ret = 0;
out:
	free(b->buf);
	return ret;
}

static void end_options(struct block *b)
{
	put_option(b, OPT_ENDOFOPT, NULL, 0);
}

int pcapng_write_shb(FILE *out, const char *application, const char *os,
		     const char *comment)
{
	struct block b = { 0 };
	uint16_t version[2] = { 1, 0 };
	int64_t section_length = -1;	/* unknown: we stream */

	begin(&b, PCAPNG_BT_SHB);
	put_u32(&b, 0x1A2B3C4DU);	/* byte-order magic */
	put(&b, version, sizeof(version));
	put(&b, &section_length, sizeof(section_length));
	put_string_option(&b, OPT_COMMENT, comment);
	put_string_option(&b, OPT_SHB_OS, os);
	put_string_option(&b, OPT_SHB_USERAPPL, application);
	end_options(&b);
	return finish(&b, out);
}

int pcapng_write_idb(FILE *out, const struct pcapng_interface *iface)
{
	struct block b = { 0 };

	begin(&b, PCAPNG_BT_IDB);
	put_u16(&b, iface->linktype);	/* + reserved u16 via padding */
	put_u32(&b, iface->snaplen);
	put_string_option(&b, OPT_IF_NAME, iface->name);
	if (iface->filter && *iface->filter) {
		size_t len = strlen(iface->filter);
		uint8_t *value = malloc(len + 1);

		if (!value) {
			b.failed = 1;
		} else {
			value[0] = IF_FILTER_STRING;
			memcpy(value + 1, iface->filter, len);
			put_option(&b, OPT_IF_FILTER, value, len + 1);
			free(value);
		}
	}
	put_string_option(&b, OPT_IF_OS, iface->os);
	put_option(&b, OPT_IF_TSRESOL, &iface->tsresol, 1);
	end_options(&b);
	return finish(&b, out);
}

/*
 * The one block written per frame: its fixed fields, the frame and the
 * trailer go to stdio as they are, without assembling a copy. A 64 KiB
 * frame assembled in a malloc'ed buffer cost an mmap, page faults and two
 * extra copies per frame, which lost frames under a flood.
 */
int pcapng_write_epb_parts(FILE *out, uint64_t ts, const uint8_t *head, uint32_t head_len,
			   const uint8_t *body, uint32_t body_len, uint32_t origlen,
			   const char *comment)
{
	static const uint8_t zeros[4];
	uint32_t caplen = head_len + body_len;
	size_t padding = pad4(caplen) - caplen;
	/* a comment longer than an option can say is cut (pcapng lengths are 16-bit) */
	size_t comment_len = comment ? strnlen(comment, 0xfff0) : 0;
	uint16_t comment_hdr[2] = { OPT_COMMENT, (uint16_t)comment_len };
	uint16_t end_hdr[2] = { OPT_ENDOFOPT, 0 };
	size_t options = comment_len ? sizeof(comment_hdr) + pad4(comment_len) + sizeof(end_hdr) : 0;
	uint32_t total = (uint32_t)(7 * sizeof(uint32_t) + pad4(caplen) + options + sizeof(uint32_t));
	uint32_t fixed[7] = {
		PCAPNG_BT_EPB, total,
		0,			/* interface id */
		(uint32_t)(ts >> 32), (uint32_t)ts,
		caplen, origlen,
	};

	if (fwrite(fixed, sizeof(fixed), 1, out) != 1 ||
	    (head_len && fwrite(head, head_len, 1, out) != 1) ||
	    (body_len && fwrite(body, body_len, 1, out) != 1) ||
	    (padding && fwrite(zeros, padding, 1, out) != 1))
		return -1;
	if (comment_len &&
	    (fwrite(comment_hdr, sizeof(comment_hdr), 1, out) != 1 ||
	     fwrite(comment, comment_len, 1, out) != 1 ||
	     (pad4(comment_len) > comment_len &&
	      fwrite(zeros, pad4(comment_len) - comment_len, 1, out) != 1) ||
	     fwrite(end_hdr, sizeof(end_hdr), 1, out) != 1))
		return -1;
	if (fwrite(&total, sizeof(total), 1, out) != 1)
		return -1;
	return 0;
}

int pcapng_write_epb(FILE *out, uint64_t ts, const uint8_t *data,
		     uint32_t caplen, uint32_t origlen)
{
	return pcapng_write_epb_parts(out, ts, data, caplen, NULL, 0, origlen, NULL);
}

int pcapng_write_isb(FILE *out, const struct pcapng_stats *stats)
{
	struct block b = { 0 };

	begin(&b, PCAPNG_BT_ISB);
	put_u32(&b, 0);			/* interface id */
	put_timestamp(&b, stats->end_ts);
	put_timestamp_option(&b, OPT_ISB_STARTTIME, stats->start_ts);
	put_timestamp_option(&b, OPT_ISB_ENDTIME, stats->end_ts);
	/* no counters is not zero drops: leave them out rather than claim 0 */
	if (!stats->counts_unknown) {
		put_option(&b, OPT_ISB_IFRECV, &stats->received, 8);
		put_option(&b, OPT_ISB_IFDROP, &stats->interface_drops, 8);
	}
	put_option(&b, OPT_ISB_FILTERACCEPT, &stats->accepted, 8);
	if (!stats->counts_unknown)
		put_option(&b, OPT_ISB_OSDROP, &stats->kernel_drops, 8);
	put_string_option(&b, OPT_COMMENT, stats->comment);
	end_options(&b);
	return finish(&b, out);
}
