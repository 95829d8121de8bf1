/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * craft-samples - writes the crafted LINKTYPE_VSOCK captures of
 * samples/crafted/ (see samples/README.md for what each one shows).
 *
 * Usage: craft-samples OUTDIR
 *
 * Every frame is built from the shared wire-format header, with fixed
 * timestamps, so the output is byte-for-byte reproducible; a test checks
 * that the committed captures are exactly what this program writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vsockmon_wire.h"

#define PCAP_MAGIC		0xa1b2c3d4u
#define PCAP_SNAPLEN		262144u
#define SAMPLE_EPOCH		1767225600u	/* 2026-01-01 00:00:00 UTC */
#define MAX_FRAME		(VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN + 4096)

/* One endpoint of a connection. */
struct peer {
	uint64_t cid;
	uint32_t port;
};

/* Everything a crafted frame may set; zero means "the normal value". */
struct frame_spec {
	struct peer src, dst;
	uint16_t type;			/* virtio type */
	uint16_t op;			/* virtio op */
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
	const void *payload;
	uint32_t payload_len;

	/* deliberate faults */
	int monitor_op_override;	/* >= 0: monitor op to write instead of the derived one */
	int transport_override;		/* >= 0: transport value to write */
	int hdr_len_override;		/* >= 0: transport header length to write */
	int virtio_len_override;	/* >= 0: virtio len to write */
	uint8_t reserved[2];
	const struct peer *virtio_src;	/* non-NULL: virtio header addresses differ */
	uint32_t truncate_to;		/* > 0: frame length on the wire (really short frame) */
	uint32_t snaplen;		/* > 0: bytes captured of the frame */
};

struct capture {
	FILE *file;
	const char *path;
	uint32_t frames;
};

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "craft-samples: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void write_bytes(struct capture *cap, const void *bytes, size_t len)
{
	if (fwrite(bytes, 1, len, cap->file) != len)
		die("cannot write", cap->path);
}

static void capture_open(struct capture *cap, const char *dir, const char *name)
{
	static char path[4096];
	uint8_t hdr[24];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cap->path = path;
	cap->frames = 0;
	cap->file = fopen(path, "wb");
	if (!cap->file)
		die("cannot create", path);
	/* classic pcap, little-endian, microseconds */
	put_le32(hdr, PCAP_MAGIC);
	put_le16(hdr + 4, 2);
	put_le16(hdr + 6, 4);
	put_le32(hdr + 8, 0);
	put_le32(hdr + 12, 0);
	put_le32(hdr + 16, PCAP_SNAPLEN);
	put_le32(hdr + 20, VSOCKMON_LINKTYPE);
	write_bytes(cap, hdr, sizeof(hdr));
}

static void capture_close(struct capture *cap)
{
	if (fclose(cap->file) != 0)
		die("cannot close", cap->path);
	printf("%s: %u frames\n", cap->path, cap->frames);
}

static void fill_monitor_header(uint8_t *f, const struct frame_spec *s)
{
	int op = s->monitor_op_override >= 0 ? s->monitor_op_override : (int)vsockmon_op_from_virtio(s->op);
	int transport = s->transport_override >= 0 ? s->transport_override : AF_VSOCK_TRANSPORT_VIRTIO;
	int hdr_len = s->hdr_len_override >= 0 ? s->hdr_len_override : VIRTIO_VSOCK_HDR_LEN;

	put_le64(f + VSOCKMON_OFF_SRC_CID, s->src.cid);
	put_le64(f + VSOCKMON_OFF_DST_CID, s->dst.cid);
	put_le32(f + VSOCKMON_OFF_SRC_PORT, s->src.port);
	put_le32(f + VSOCKMON_OFF_DST_PORT, s->dst.port);
	put_le16(f + VSOCKMON_OFF_OP, (uint16_t)op);
	put_le16(f + VSOCKMON_OFF_TRANSPORT, (uint16_t)transport);
	put_le16(f + VSOCKMON_OFF_LEN, (uint16_t)hdr_len);
	memcpy(f + VSOCKMON_OFF_RESERVED, s->reserved, 2);
}

static void fill_virtio_header(uint8_t *v, const struct frame_spec *s)
{
	const struct peer *src = s->virtio_src ? s->virtio_src : &s->src;
	uint32_t len = s->virtio_len_override >= 0 ? (uint32_t)s->virtio_len_override : s->payload_len;

	put_le64(v + VIRTIO_VSOCK_OFF_SRC_CID, src->cid);
	put_le64(v + VIRTIO_VSOCK_OFF_DST_CID, s->dst.cid);
	put_le32(v + VIRTIO_VSOCK_OFF_SRC_PORT, src->port);
	put_le32(v + VIRTIO_VSOCK_OFF_DST_PORT, s->dst.port);
	put_le32(v + VIRTIO_VSOCK_OFF_LEN, len);
	put_le16(v + VIRTIO_VSOCK_OFF_TYPE, s->type ? s->type : VIRTIO_VSOCK_TYPE_STREAM);
	put_le16(v + VIRTIO_VSOCK_OFF_OP, s->op);
	put_le32(v + VIRTIO_VSOCK_OFF_FLAGS, s->flags);
	put_le32(v + VIRTIO_VSOCK_OFF_BUF_ALLOC, s->buf_alloc ? s->buf_alloc : 262144);
	put_le32(v + VIRTIO_VSOCK_OFF_FWD_CNT, s->fwd_cnt);
}

/* Lay out one frame: monitor header, transport header (if VIRTIO), payload. */
static uint32_t build_frame(uint8_t *f, const struct frame_spec *s)
{
	int transport = s->transport_override >= 0 ? s->transport_override : AF_VSOCK_TRANSPORT_VIRTIO;
	int hdr_len = s->hdr_len_override >= 0 ? s->hdr_len_override : VIRTIO_VSOCK_HDR_LEN;
	uint32_t len = VSOCKMON_HDR_LEN;

	memset(f, 0, MAX_FRAME);
	fill_monitor_header(f, s);
	if (transport == AF_VSOCK_TRANSPORT_VIRTIO) {
		uint8_t virtio[VIRTIO_VSOCK_HDR_LEN];

		fill_virtio_header(virtio, s);
		memcpy(f + len, virtio, (size_t)(hdr_len < VIRTIO_VSOCK_HDR_LEN ? hdr_len : VIRTIO_VSOCK_HDR_LEN));
		len += (uint32_t)hdr_len;
	}
	if (s->payload_len) {
		memcpy(f + len, s->payload, s->payload_len);
		len += s->payload_len;
	}
	return s->truncate_to ? s->truncate_to : len;
}

static void emit(struct capture *cap, const struct frame_spec *s)
{
	static uint8_t frame[MAX_FRAME];
	uint32_t wire_len = build_frame(frame, s);
	uint32_t cap_len = (s->snaplen && s->snaplen < wire_len) ? s->snaplen : wire_len;
	uint32_t usec = cap->frames * 1000u;
	uint8_t rec[16];

	put_le32(rec, SAMPLE_EPOCH + usec / 1000000u);
	put_le32(rec + 4, usec % 1000000u);
	put_le32(rec + 8, cap_len);
	put_le32(rec + 12, wire_len);
	write_bytes(cap, rec, sizeof(rec));
	write_bytes(cap, frame, cap_len);
	cap->frames++;
}

/* A spec with no faults: the -1 overrides mean "write the normal value". */
static struct frame_spec spec(struct peer src, struct peer dst, uint16_t op)
{
	struct frame_spec s;

	memset(&s, 0, sizeof(s));
	s.src = src;
	s.dst = dst;
	s.op = op;
	s.monitor_op_override = -1;
	s.transport_override = -1;
	s.hdr_len_override = -1;
	s.virtio_len_override = -1;
	return s;
}

static struct frame_spec data_spec(struct peer src, struct peer dst, const char *text)
{
	struct frame_spec s = spec(src, dst, VIRTIO_VSOCK_OP_RW);

	s.payload = text;
	s.payload_len = (uint32_t)strlen(text);
	return s;
}

static const struct peer guest = { 3, 1024 };
static const struct peer host = { VSOCK_CID_HOST, 1234 };

/* STREAM: every op, every SHUTDOWN flag, both directions. */
static void write_all_ops(const char *dir)
{
	struct capture cap;
	struct frame_spec s;

	capture_open(&cap, dir, "all-ops.pcap");
	s = spec(guest, host, VIRTIO_VSOCK_OP_REQUEST);
	emit(&cap, &s);
	s = spec(host, guest, VIRTIO_VSOCK_OP_RESPONSE);
	emit(&cap, &s);
	s = data_spec(guest, host, "ping\n");
	emit(&cap, &s);
	s = spec(host, guest, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	s.fwd_cnt = 5;
	emit(&cap, &s);
	s = data_spec(host, guest, "pong\n");
	s.fwd_cnt = 5;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
	s.fwd_cnt = 5;
	emit(&cap, &s);
	s = spec(host, guest, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	s.fwd_cnt = 5;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_SHUTDOWN);
	s.flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
	s.fwd_cnt = 5;
	emit(&cap, &s);
	s = spec(host, guest, VIRTIO_VSOCK_OP_SHUTDOWN);
	s.flags = VIRTIO_VSOCK_SHUTDOWN_RCV;
	s.fwd_cnt = 5;
	emit(&cap, &s);
	s = spec(host, guest, VIRTIO_VSOCK_OP_SHUTDOWN);
	s.flags = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
	s.fwd_cnt = 5;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_RST);
	s.fwd_cnt = 5;
	emit(&cap, &s);
	capture_close(&cap);
}

/* SEQPACKET: a message in three fragments (EOM on the last), one with EOR. */
static void write_seqpacket(const char *dir)
{
	static const struct peer client = { VSOCK_CID_LOCAL, 40000 };
	static const struct peer server = { VSOCK_CID_LOCAL, 7000 };
	struct capture cap;
	struct frame_spec s;

	capture_open(&cap, dir, "seqpacket.pcap");
	s = spec(client, server, VIRTIO_VSOCK_OP_REQUEST);
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	s = spec(server, client, VIRTIO_VSOCK_OP_RESPONSE);
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	s = data_spec(client, server, "first ");
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	s = data_spec(client, server, "second ");
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	s = data_spec(client, server, "third");
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	s.flags = VIRTIO_VSOCK_SEQ_EOM;
	emit(&cap, &s);
	s = data_spec(server, client, "record");
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	s.flags = VIRTIO_VSOCK_SEQ_EOM | VIRTIO_VSOCK_SEQ_EOR;
	emit(&cap, &s);
	s = spec(client, server, VIRTIO_VSOCK_OP_RST);
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	capture_close(&cap);
}

/* Values no kernel sends: each frame trips one expert. */
static void write_unknown_values(const char *dir)
{
	static const struct peer other = { 9, 1024 };
	struct capture cap;
	struct frame_spec s;

	capture_open(&cap, dir, "unknown-values.pcap");
	s = spec(guest, host, VIRTIO_VSOCK_OP_REQUEST);		/* 1: unknown type */
	s.type = 7;
	emit(&cap, &s);
	s = spec(guest, host, 9);				/* 2: unknown op */
	s.monitor_op_override = AF_VSOCK_OP_UNKNOWN;
	emit(&cap, &s);
	s = data_spec(guest, host, "x");			/* 3: flags on a STREAM RW */
	s.flags = VIRTIO_VSOCK_SEQ_EOM | 0x4;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_SHUTDOWN);	/* 4: unknown SHUTDOWN bit */
	s.flags = VIRTIO_VSOCK_SHUTDOWN_SEND | 0x8;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_CREDIT_UPDATE);	/* 5: unknown monitor op */
	s.monitor_op_override = 9;
	emit(&cap, &s);
	s = data_spec(guest, host, "raw");			/* 6: unknown transport */
	s.transport_override = 5;
	s.hdr_len_override = 0;
	emit(&cap, &s);
	s = data_spec(guest, host, "noinfo");			/* 7: transport without header */
	s.transport_override = AF_VSOCK_TRANSPORT_NO_INFO;
	s.hdr_len_override = 0;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_CREDIT_UPDATE);	/* 8: reserved bytes set */
	s.reserved[0] = 0xab;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_REQUEST);		/* 9: monitor op PAYLOAD on REQUEST */
	s.monitor_op_override = AF_VSOCK_OP_PAYLOAD;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_CREDIT_UPDATE);	/* 10: virtio addresses differ */
	s.virtio_src = &other;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_INVALID);		/* 11: INVALID op */
	s.monitor_op_override = AF_VSOCK_OP_UNKNOWN;
	emit(&cap, &s);
	capture_close(&cap);
}

/* Cut by the snapshot length: notes, never malformed. */
static void write_truncated(const char *dir)
{
	struct capture cap;
	struct frame_spec s;

	capture_open(&cap, dir, "truncated.pcap");
	s = data_spec(guest, host, "Hello, world\n");		/* 1: headers only (snaplen 76) */
	s.snaplen = VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN;
	emit(&cap, &s);
	s = data_spec(guest, host, "Hello, world\n");		/* 2: half the payload */
	s.snaplen = VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN + 5;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_CREDIT_UPDATE);	/* 3: virtio header cut */
	s.snaplen = 40;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_CREDIT_UPDATE);	/* 4: monitor header cut */
	s.snaplen = 20;
	emit(&cap, &s);
	capture_close(&cap);
}

/* Frames that are wrong on the wire: malformed experts, no exception. */
static void write_malformed(const char *dir)
{
	struct capture cap;
	struct frame_spec s;

	capture_open(&cap, dir, "malformed.pcap");
	s = spec(guest, host, VIRTIO_VSOCK_OP_REQUEST);		/* 1: 20-byte frame */
	s.truncate_to = 20;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_REQUEST);		/* 2: header length 40 */
	s.hdr_len_override = 40;
	emit(&cap, &s);
	s = data_spec(guest, host, "short\n");			/* 3: len 10, 6 bytes carried */
	s.virtio_len_override = 10;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_CREDIT_UPDATE);	/* 4: payload on CREDIT_UPDATE */
	s.payload = "junk";
	s.payload_len = 4;
	emit(&cap, &s);
	s = spec(guest, host, VIRTIO_VSOCK_OP_REQUEST);		/* 5: frame ends in virtio header */
	s.truncate_to = 50;
	emit(&cap, &s);
	capture_close(&cap);
}

/*
 * HTTP/1.1 on vsock port 8080 (Decode As), a second connection, and the
 * first connection's address/port pair reused after a reset: three streams.
 */
static void write_http(const char *dir)
{
	static const struct peer client = { 3, 49152 };
	static const struct peer server = { VSOCK_CID_HOST, 8080 };
	static const struct peer client2 = { 3, 49153 };
	static const char request[] = "GET /status HTTP/1.1\r\nHost: vsock\r\n\r\n";
	static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
	const struct peer *clients[] = { &client, &client2, &client };
	struct capture cap;
	struct frame_spec s;
	size_t i;

	capture_open(&cap, dir, "http.pcap");
	for (i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		s = spec(*clients[i], server, VIRTIO_VSOCK_OP_REQUEST);
		emit(&cap, &s);
		s = spec(server, *clients[i], VIRTIO_VSOCK_OP_RESPONSE);
		emit(&cap, &s);
		s = data_spec(*clients[i], server, request);
		emit(&cap, &s);
		s = data_spec(server, *clients[i], response);
		s.fwd_cnt = (uint32_t)strlen(request);
		emit(&cap, &s);
		s = spec(*clients[i], server, VIRTIO_VSOCK_OP_RST);
		s.fwd_cnt = (uint32_t)strlen(response);
		emit(&cap, &s);
	}
	capture_close(&cap);
}

/*
 * Connection analysis: a 10-byte receive buffer filled (zero credit) and
 * overrun (credit exceeded), a CREDIT_REQUEST answered by a CREDIT_UPDATE
 * that also grows the buffer and reopens the window, a fwd_cnt for bytes
 * never captured, data after SHUTDOWN, a reset; then data before the
 * handshake completed; then a SEQPACKET message cut by RST; then findings
 * that share a packet: an RW after a lost segment whose fwd_cnt also
 * acknowledges bytes never captured, and an RST cutting a message in each
 * direction.
 */
static void write_analysis(const char *dir)
{
	static const struct peer a = { 3, 2000 }, a_host = { VSOCK_CID_HOST, 3000 };
	static const struct peer b = { 3, 2001 }, b_host = { VSOCK_CID_HOST, 3001 };
	static const struct peer c = { 3, 2002 }, c_host = { VSOCK_CID_HOST, 3002 };
	static const struct peer d = { 3, 2003 }, d_host = { VSOCK_CID_HOST, 3003 };
	static const struct peer e = { 3, 2004 }, e_host = { VSOCK_CID_HOST, 3004 };
	struct capture cap;
	struct frame_spec s;

	capture_open(&cap, dir, "analysis.pcap");
	s = spec(a, a_host, VIRTIO_VSOCK_OP_REQUEST);			/* 1 */
	emit(&cap, &s);
	s = spec(a_host, a, VIRTIO_VSOCK_OP_RESPONSE);			/* 2: 10-byte buffer */
	s.buf_alloc = 10;
	emit(&cap, &s);
	s = data_spec(a, a_host, "0123456789");				/* 3: zero credit */
	emit(&cap, &s);
	s = data_spec(a, a_host, "X");					/* 4: credit exceeded */
	emit(&cap, &s);
	s = spec(a, a_host, VIRTIO_VSOCK_OP_CREDIT_REQUEST);		/* 5 */
	emit(&cap, &s);
	s = spec(a_host, a, VIRTIO_VSOCK_OP_CREDIT_UPDATE);		/* 6: answer, buffer 20, reopen */
	s.buf_alloc = 20;
	s.fwd_cnt = 11;
	emit(&cap, &s);
	s = spec(a_host, a, VIRTIO_VSOCK_OP_CREDIT_UPDATE);		/* 7: 19 bytes never seen */
	s.buf_alloc = 20;
	s.fwd_cnt = 30;
	emit(&cap, &s);
	s = data_spec(a, a_host, "after gap");				/* 8: previous segment lost */
	emit(&cap, &s);
	s = spec(a, a_host, VIRTIO_VSOCK_OP_SHUTDOWN);			/* 9: SEND */
	s.flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
	emit(&cap, &s);
	s = data_spec(a, a_host, "late");				/* 10: data after shutdown */
	emit(&cap, &s);
	s = spec(a_host, a, VIRTIO_VSOCK_OP_RST);			/* 11: reset, not orderly */
	s.buf_alloc = 20;
	emit(&cap, &s);

	s = spec(b, b_host, VIRTIO_VSOCK_OP_REQUEST);			/* 12 */
	emit(&cap, &s);
	s = data_spec(b, b_host, "eager");				/* 13: before the RESPONSE */
	emit(&cap, &s);
	s = spec(b_host, b, VIRTIO_VSOCK_OP_RESPONSE);			/* 14 */
	emit(&cap, &s);
	s = spec(b_host, b, VIRTIO_VSOCK_OP_RST);			/* 15 */
	emit(&cap, &s);

	s = spec(c, c_host, VIRTIO_VSOCK_OP_REQUEST);			/* 16 */
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	s = spec(c_host, c, VIRTIO_VSOCK_OP_RESPONSE);			/* 17 */
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	s = data_spec(c, c_host, "part one ");				/* 18 */
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	s = data_spec(c, c_host, "part two");				/* 19 */
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	s = spec(c_host, c, VIRTIO_VSOCK_OP_RST);			/* 20: message cut */
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);

	s = spec(d, d_host, VIRTIO_VSOCK_OP_REQUEST);			/* 21 */
	emit(&cap, &s);
	s = spec(d_host, d, VIRTIO_VSOCK_OP_RESPONSE);			/* 22 */
	emit(&cap, &s);
	s = spec(d_host, d, VIRTIO_VSOCK_OP_CREDIT_UPDATE);		/* 23: 5 bytes of d never seen */
	s.fwd_cnt = 5;
	emit(&cap, &s);
	s = data_spec(d, d_host, "xyz");				/* 24: after d's gap; 4 host bytes unseen */
	s.fwd_cnt = 4;
	emit(&cap, &s);

	s = spec(e, e_host, VIRTIO_VSOCK_OP_REQUEST);			/* 25 */
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	s = spec(e_host, e, VIRTIO_VSOCK_OP_RESPONSE);			/* 26 */
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	s = data_spec(e, e_host, "left open");				/* 27: no EOM */
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	s = data_spec(e_host, e, "other side");				/* 28: no EOM */
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	s = spec(e_host, e, VIRTIO_VSOCK_OP_RST);			/* 29: both messages cut */
	s.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	emit(&cap, &s);
	capture_close(&cap);
}

/* ---- ttrpc messages for ttrpc-split.pcap ---- */

#define TTRPC_HDR 10

static size_t put_pb_bytes(uint8_t *p, unsigned field, const void *data, size_t len)
{
	p[0] = (uint8_t)(field << 3 | 2);	/* length-delimited */
	p[1] = (uint8_t)len;			/* short values only: one-byte varint */
	memcpy(p + 2, data, len);
	return 2 + len;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A ttrpc message: 10-byte big-endian header, then the protobuf body. */
static size_t ttrpc_message(uint8_t *p, uint32_t stream_id, uint8_t type, const char *service,
			    const char *method)
{
	static const uint8_t payload[] = { 0x0a, 0x01, 'x' };
	size_t body = 0;

	if (type == 1) {
		body += put_pb_bytes(p + TTRPC_HDR + body, 1, service, strlen(service));
		body += put_pb_bytes(p + TTRPC_HDR + body, 2, method, strlen(method));
	}
	body += put_pb_bytes(p + TTRPC_HDR + body, type == 1 ? 3 : 2, payload, sizeof(payload));
	put_be32(p, (uint32_t)body);
	put_be32(p + 4, stream_id);
	p[8] = type;
	p[9] = 0;
	return TTRPC_HDR + body;
}

static void emit_bytes(struct capture *cap, struct peer src, struct peer dst, const uint8_t *bytes, size_t len)
{
	struct frame_spec s = spec(src, dst, VIRTIO_VSOCK_OP_RW);

	s.payload = bytes;
	s.payload_len = (uint32_t)len;
	emit(cap, &s);
}

/*
 * ttrpc on port 1024 cut at awkward places: request A spans three RW
 * packets (exact desegment lengths), the third also carries request B
 * whole and the start of C, which ends in the fourth; the three
 * responses come back in one RW packet.
 */
static void write_ttrpc_split(const char *dir)
{
	static const struct peer client = { 3, 40001 }, agent = { VSOCK_CID_HOST, 1024 };
	uint8_t out[512], back[256];
	size_t a, b, c, len_out, len_back;
	struct capture cap;
	struct frame_spec s;

	a = ttrpc_message(out, 1, 1, "grpc.health.v1.Health", "Check");
	b = ttrpc_message(out + a, 3, 1, "agent.AgentService", "ListInterfaces");
	c = ttrpc_message(out + a + b, 5, 1, "agent.AgentService", "GetGuestDetails");
	len_out = a + b + c;
	len_back = ttrpc_message(back, 1, 2, NULL, NULL);
	len_back += ttrpc_message(back + len_back, 3, 2, NULL, NULL);
	len_back += ttrpc_message(back + len_back, 5, 2, NULL, NULL);

	capture_open(&cap, dir, "ttrpc-split.pcap");
	s = spec(client, agent, VIRTIO_VSOCK_OP_REQUEST);			/* 1 */
	emit(&cap, &s);
	s = spec(agent, client, VIRTIO_VSOCK_OP_RESPONSE);			/* 2 */
	emit(&cap, &s);
	emit_bytes(&cap, client, agent, out, TTRPC_HDR + 5);			/* 3: A's header and 5 bytes */
	emit_bytes(&cap, client, agent, out + TTRPC_HDR + 5, 12);		/* 4: A's middle */
	emit_bytes(&cap, client, agent, out + TTRPC_HDR + 17, a + b + 4 - TTRPC_HDR - 17);	/* 5: A ends, B, C starts */
	emit_bytes(&cap, client, agent, out + a + b + 4, len_out - a - b - 4);	/* 6: C ends */
	emit_bytes(&cap, agent, client, back, len_back);			/* 7: three responses */
	s = spec(client, agent, VIRTIO_VSOCK_OP_SHUTDOWN);			/* 8 */
	s.flags = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
	emit(&cap, &s);
	s = spec(agent, client, VIRTIO_VSOCK_OP_RST);				/* 9 */
	emit(&cap, &s);
	capture_close(&cap);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: craft-samples OUTDIR\n");
		return 2;
	}
	write_all_ops(argv[1]);
	write_seqpacket(argv[1]);
	write_unknown_values(argv[1]);
	write_truncated(argv[1]);
	write_malformed(argv[1]);
	write_http(argv[1]);
	write_analysis(argv[1]);
	write_ttrpc_split(argv[1]);
	return 0;
}
