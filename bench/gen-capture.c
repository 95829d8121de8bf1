// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gen-capture - write a large, reproducible vsockmon capture (pcap,
 * LINKTYPE_VSOCK 271) for the dissector benchmark.
 *
 * Usage: gen-capture [-n CONNECTIONS] [-s SEED] [-w WINDOW] -o FILE
 *
 * Connections are scripted whole when they open (a list of frames) and up
 * to WINDOW of them are open at once; each step emits the next frame of a
 * randomly chosen open connection, so frames of thousands of conversations
 * interleave as on a busy host. The mix (by connection):
 *   55 % STREAM request/response: REQUEST, RESPONSE, rounds of RW both ways,
 *        CREDIT_UPDATE now and then, SHUTDOWN(RCV|SEND) + RST (or an abrupt RST)
 *   10 % STREAM bulk upload: 2 KiB RW frames, receiver CREDIT_UPDATEs
 *    5 % STREAM credit stall: receiver buffer 4096, sender waits for
 *        512-byte CREDIT_UPDATEs, sometimes asks with CREDIT_REQUEST
 *    5 % refused: REQUEST, RST
 *   25 % SEQPACKET: messages (1 B .. 1 KiB, 3 % of them 70000 B, sent as
 *        65536 + 4464 with EOM on the last fragment), 2-byte replies
 * Half the connections are opened by the host (CID 2) towards a guest, half
 * by a guest (CID 3..1002). Every frame is a valid kernel frame: monitor op
 * derived as the kernel does, buf_alloc/fwd_cnt consistent with the bytes
 * each side has consumed, credit never exceeded.
 *
 * Prints one JSON line to stdout: frames, connections, frame bytes, and the
 * bytes of the messages that arrive in several fragments (what a reassembling
 * dissector keeps for the whole file, like TCP's reassembled PDUs).
 * The same arguments always give the same file (xorshift64* PRNG).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vsockmon_wire.h"

#define PCAP_SNAPLEN	262144
#define BUF_DEFAULT	262144u
#define STALL_BUF	4096u
#define MAX_FRAME	(VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN + 65536)

enum conn_kind { K_RPC, K_BULK, K_STALL, K_REFUSED, K_SEQ };

/* One scripted frame of a connection; dir 0 = initiator to listener. */
struct step {
	uint8_t dir;
	uint8_t op;
	uint8_t flags;
	uint32_t len;
	uint32_t fwd_cnt;	/* sender's consumed bytes when it sends this */
};

struct conn {
	uint64_t cid[2];	/* [0] initiator, [1] listener */
	uint32_t port[2];
	uint16_t type;
	uint32_t buf_alloc[2];
	struct step *steps;
	size_t nsteps, cap, next;
	uint32_t rx[2];		/* bytes each side has received (scripting) */
};

static uint64_t rng_state;
static uint64_t reassembled_bytes;	/* multi-fragment SEQPACKET messages */

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [lo, hi]. */
static uint32_t rng_range(uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(rng() % ((uint64_t)hi - lo + 1));
}

static void die(const char *what)
{
	fprintf(stderr, "gen-capture: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void push(struct conn *c, int dir, int op, int flags, uint32_t len, uint32_t fwd_cnt)
{
	if (c->nsteps == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		c->steps = realloc(c->steps, c->cap * sizeof(*c->steps));
		if (!c->steps)
			die("realloc");
	}
	c->steps[c->nsteps++] = (struct step){ dir, op, flags, len, fwd_cnt };
}

/* A control frame from side dir, advertising what it has consumed. */
static void ctl(struct conn *c, int dir, int op, int flags)
{
	push(c, dir, op, flags, 0, c->rx[dir]);
}

/* Payload from side dir; the receiver consumes it at once (rx grows). */
static void rw(struct conn *c, int dir, uint32_t len, int flags)
{
	push(c, dir, VIRTIO_VSOCK_OP_RW, flags, len, c->rx[dir]);
	c->rx[!dir] += len;
}

static void handshake(struct conn *c)
{
	ctl(c, 0, VIRTIO_VSOCK_OP_REQUEST, 0);
	ctl(c, 1, VIRTIO_VSOCK_OP_RESPONSE, 0);
}

/* Orderly close by a random side (SHUTDOWN both ways, peer RST), or abrupt RST. */
static void close_conn(struct conn *c)
{
	int closer = (int)(rng() & 1);

	if (rng() % 10 == 0) {
		ctl(c, closer, VIRTIO_VSOCK_OP_RST, 0);
		return;
	}
	ctl(c, closer, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_MASK);
	ctl(c, !closer, VIRTIO_VSOCK_OP_RST, 0);
}

static void script_rpc(struct conn *c)
{
	uint32_t rounds = rng_range(1, 12), since_update = 0;

	handshake(c);
	for (uint32_t r = 0; r < rounds; r++) {
		rw(c, 0, rng_range(16, 512), 0);
		for (uint32_t seg = rng_range(1, 3); seg > 0; seg--)
			rw(c, 1, rng_range(1, 1460), 0);
		/* the client tells its credit after it has read a good chunk */
		if (++since_update == 4) {
			ctl(c, 0, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
			since_update = 0;
		}
	}
	close_conn(c);
}

static void script_bulk(struct conn *c)
{
	uint32_t chunks = rng_range(8, 32);

	handshake(c);
	for (uint32_t i = 1; i <= chunks; i++) {
		rw(c, 0, 2048, 0);
		if (i % 8 == 0)
			ctl(c, 1, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	}
	rw(c, 1, rng_range(2, 64), 0);	/* the server's verdict */
	close_conn(c);
}

/* The listener has a 4096-byte buffer and reads 512 bytes at a time. */
static void script_stall(struct conn *c)
{
	uint32_t total = rng_range(2, 6) * 4096u, sent = 0, consumed = 0;

	c->buf_alloc[1] = STALL_BUF;
	handshake(c);
	while (sent < total) {
		uint32_t credit = STALL_BUF - (sent - consumed);

		if (credit > 0) {
			uint32_t len = total - sent < credit ? total - sent : credit;

			push(c, 0, VIRTIO_VSOCK_OP_RW, 0, len, c->rx[0]);
			sent += len;
			continue;
		}
		if (rng() % 4 == 0)	/* the stalled sender asks */
			ctl(c, 0, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0);
		consumed += 512;
		c->rx[1] = consumed;
		ctl(c, 1, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	}
	c->rx[1] = sent;
	ctl(c, 1, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	close_conn(c);
}

static void script_refused(struct conn *c)
{
	ctl(c, 0, VIRTIO_VSOCK_OP_REQUEST, 0);
	ctl(c, 1, VIRTIO_VSOCK_OP_RST, 0);
}

static void script_seqpacket(struct conn *c)
{
	uint32_t messages = rng_range(1, 6);

	c->type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	handshake(c);
	for (uint32_t m = 0; m < messages; m++) {
		int eor = rng() % 4 == 0 ? VIRTIO_VSOCK_SEQ_EOR : 0;

		if (rng() % 100 < 3) {	/* > 64 KiB: two fragments */
			rw(c, 0, 65536, 0);
			rw(c, 0, 70000 - 65536, VIRTIO_VSOCK_SEQ_EOM | eor);
			reassembled_bytes += 70000;
		} else {
			rw(c, 0, rng_range(1, 1024), VIRTIO_VSOCK_SEQ_EOM | eor);
		}
		rw(c, 1, 2, VIRTIO_VSOCK_SEQ_EOM);
	}
	close_conn(c);
}

static void open_conn(struct conn *c, uint32_t index)
{
	uint64_t guest = 3 + index % 1000;
	int host_initiates = (int)(rng() & 1);
	uint32_t pick = (uint32_t)(rng() % 100);

	memset(c->rx, 0, sizeof(c->rx));
	c->nsteps = c->next = 0;
	c->type = VIRTIO_VSOCK_TYPE_STREAM;
	c->buf_alloc[0] = c->buf_alloc[1] = BUF_DEFAULT;
	c->cid[0] = host_initiates ? VSOCK_CID_HOST : guest;
	c->cid[1] = host_initiates ? guest : VSOCK_CID_HOST;
	c->port[0] = 49152 + index;		/* unique: one stream per connection */
	c->port[1] = 2000 + (uint32_t)(rng() % 64);	/* a few dozen services */

	if (pick < 55)
		script_rpc(c);
	else if (pick < 65)
		script_bulk(c);
	else if (pick < 70)
		script_stall(c);
	else if (pick < 75)
		script_refused(c);
	else
		script_seqpacket(c);
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void write_pcap_header(FILE *f)
{
	uint8_t h[24] = { 0 };

	put_le(h, 0xa1b2c3d4, 4);
	put_le(h + 4, 2, 2);
	put_le(h + 6, 4, 2);
	put_le(h + 16, PCAP_SNAPLEN, 4);
	put_le(h + 20, VSOCKMON_LINKTYPE, 4);
	if (fwrite(h, sizeof(h), 1, f) != 1)
		die("write");
}

/* Write one frame of connection c; payload bytes are filler from the PRNG. */
static size_t write_frame(FILE *f, const struct conn *c, const struct step *s, uint64_t usec)
{
	static uint8_t frame[MAX_FRAME];
	uint8_t rec[16];
	uint8_t *v = frame + VSOCKMON_HDR_LEN;
	int d = s->dir;
	size_t size = VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN + s->len;

	memset(frame, 0, VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN);
	put_le(frame + VSOCKMON_OFF_SRC_CID, c->cid[d], 8);
	put_le(frame + VSOCKMON_OFF_DST_CID, c->cid[!d], 8);
	put_le(frame + VSOCKMON_OFF_SRC_PORT, c->port[d], 4);
	put_le(frame + VSOCKMON_OFF_DST_PORT, c->port[!d], 4);
	put_le(frame + VSOCKMON_OFF_OP, vsockmon_op_from_virtio(s->op), 2);
	put_le(frame + VSOCKMON_OFF_TRANSPORT, AF_VSOCK_TRANSPORT_VIRTIO, 2);
	put_le(frame + VSOCKMON_OFF_LEN, VIRTIO_VSOCK_HDR_LEN, 2);
	put_le(v + VIRTIO_VSOCK_OFF_SRC_CID, c->cid[d], 8);
	put_le(v + VIRTIO_VSOCK_OFF_DST_CID, c->cid[!d], 8);
	put_le(v + VIRTIO_VSOCK_OFF_SRC_PORT, c->port[d], 4);
	put_le(v + VIRTIO_VSOCK_OFF_DST_PORT, c->port[!d], 4);
	put_le(v + VIRTIO_VSOCK_OFF_LEN, s->len, 4);
	put_le(v + VIRTIO_VSOCK_OFF_TYPE, c->type, 2);
	put_le(v + VIRTIO_VSOCK_OFF_OP, s->op, 2);
	put_le(v + VIRTIO_VSOCK_OFF_FLAGS, s->flags, 4);
	put_le(v + VIRTIO_VSOCK_OFF_BUF_ALLOC, c->buf_alloc[d], 4);
	put_le(v + VIRTIO_VSOCK_OFF_FWD_CNT, s->fwd_cnt, 4);
	/* cheap filler: one PRNG word per 8 bytes */
	for (uint32_t i = 0; i < s->len; i += 8) {
		uint64_t w = rng();

		memcpy(v + VIRTIO_VSOCK_HDR_LEN + i, &w, s->len - i < 8 ? s->len - i : 8);
	}

	put_le(rec, usec / 1000000, 4);
	put_le(rec + 4, usec % 1000000, 4);
	put_le(rec + 8, size, 4);
	put_le(rec + 12, size, 4);
	if (fwrite(rec, sizeof(rec), 1, f) != 1 || fwrite(frame, size, 1, f) != 1)
		die("write");
	return size;
}

int main(int argc, char **argv)
{
	uint32_t connections = 50000, window = 512, opened = 0, open_now = 0;
	uint64_t seed = 42, frames = 0, bytes = 0, usec = 1700000000ULL * 1000000;
	const char *out = NULL;
	struct conn *conns;
	FILE *f;
	int opt;

	while ((opt = getopt(argc, argv, "n:s:w:o:")) != -1) {
		switch (opt) {
		case 'n': connections = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'w': window = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'o': out = optarg; break;
		default: goto usage;
		}
	}
	if (!out || connections == 0 || window == 0)
		goto usage;
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;

	conns = calloc(window, sizeof(*conns));
	f = fopen(out, "wb");
	if (!conns || !f || setvbuf(f, NULL, _IOFBF, 1 << 20))
		die(out);
	write_pcap_header(f);

	/* fill the window, then emit until every connection is done */
	for (; open_now < window && opened < connections; open_now++)
		open_conn(&conns[open_now], opened++);
	while (open_now > 0) {
		uint32_t i = (uint32_t)(rng() % open_now);
		struct conn *c = &conns[i];

		usec += 1 + rng() % 50;
		bytes += write_frame(f, c, &c->steps[c->next++], usec);
		frames++;
		if (c->next < c->nsteps)
			continue;
		if (opened < connections) {
			open_conn(c, opened++);
		} else {	/* retire: move the last open one here */
			struct conn done = *c;

			*c = conns[--open_now];
			conns[open_now] = done;
		}
	}
	if (fclose(f))
		die(out);
	for (uint32_t i = 0; i < window; i++)
		free(conns[i].steps);
	free(conns);
	printf("{\"frames\": %llu, \"connections\": %u, \"frame_bytes\": %llu, "
	       "\"reassembled_bytes\": %llu}\n",
	       (unsigned long long)frames, connections, (unsigned long long)bytes,
	       (unsigned long long)reassembled_bytes);
	return 0;
usage:
	fprintf(stderr, "usage: gen-capture [-n CONNECTIONS] [-s SEED] [-w WINDOW] -o FILE\n");
	return 2;
}
