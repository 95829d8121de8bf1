// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-peer - play a virtio-vsock guest from user space on /dev/vhost-vsock,
 * so the kernel runs its host transport (vhost_vsock) without a second VM.
 *
 * Usage: vhost-peer [--cid N] [--rx-buf BYTES] [--idle SECS] [--conns N]
 *                   [--connect PORT --bytes N]
 *
 * The kernel sees an ordinary guest with CID N (default 3): host sockets can
 * connect to it (we accept every REQUEST) and, with --connect, it connects to
 * a host listener on PORT and sends N pattern bytes. SOCK_SEQPACKET is
 * offered to the host too (connections of either type are accepted). The
 * guest's receive
 * buffers are --rx-buf bytes (header included, default 4096 like Linux's
 * virtio-vsock driver), so the host's vhost splits every larger packet across
 * several buffers: the path whose tap frames the lab checks.
 *
 * Every payload byte is pattern_byte(stream offset); received bytes are
 * checked against it. It exits once --conns connections have closed, or
 * after --idle seconds without a packet; then one JSON line per connection
 * goes to stdout: ports, bytes each way, whether they matched the pattern.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>

#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vsockmon_wire.h"

#define QUEUE_SIZE 64		/* vhost wants a power of two */
#define RX_QUEUE 0		/* drivers/vhost/vsock.c: VSOCK_VQ_RX */
#define TX_QUEUE 1
#define TX_BUF_SIZE (VIRTIO_VSOCK_HDR_LEN + 65536)
#define OUR_BUF_ALLOC (256 * 1024)
#define MAX_CONNS 32
#define MAX_MSGS 8
#define RING_BYTES 8192		/* one split ring of QUEUE_SIZE, page aligned */

struct ring {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_used;	/* used entries consumed so far */
	int kick_fd;		/* we write: new buffers available */
	int call_fd;		/* vhost writes: buffers used */
};

struct conn {
	bool open;
	uint8_t type;		/* enum virtio_vsock_type */
	uint32_t port;		/* ours */
	uint32_t peer_port;
	uint64_t rx_bytes;	/* our fwd_cnt */
	uint64_t tx_bytes;
	uint32_t peer_buf_alloc;
	uint32_t peer_fwd_cnt;
	uint64_t to_send;	/* --connect: bytes still to send */
	bool credit_owed;	/* we consumed bytes the peer has not heard of */
	bool pattern_ok;
	uint64_t msg_start;	/* SEQPACKET: rx_bytes where the current message began */
	unsigned int msg_count;
	uint64_t msg_len[MAX_MSGS];	/* the first MAX_MSGS messages' lengths */
};

static struct {
	uint64_t cid;
	size_t rx_buf;
	int idle_sec;
	uint32_t connect_port;
	uint64_t connect_bytes;
	unsigned int conns;	/* exit once this many connections closed (0: on idle) */
} opt = { .cid = 3, .rx_buf = 4096, .idle_sec = 3 };

static int vhost_fd;
static uint8_t *arena;		/* the "guest memory": rings and buffers */
static struct ring rings[2];
static uint8_t *rx_bufs, *tx_bufs;
static uint16_t tx_free[QUEUE_SIZE];
static int tx_free_count;
static struct conn conns[MAX_CONNS];

static void die(const char *what)
{
	fprintf(stderr, "vhost-peer: %s: %s\n", what, strerror(errno));
	if (errno == ENOENT || errno == ENODEV)
		fprintf(stderr, "vhost-peer: load vhost_vsock (modprobe vhost_vsock)\n");
	exit(1);
}

static void vhost_ioctl(unsigned long request, void *arg, const char *name)
{
	if (ioctl(vhost_fd, request, arg) < 0)
		die(name);
}

static uint8_t pattern_byte(uint64_t offset)
{
	return (uint8_t)(offset % 251);
}

static uint64_t guest_addr(const void *p)
{
	/* The memory table maps guest addresses 1:1 onto our own. */
	return (uint64_t)(uintptr_t)p;
}

static size_t arena_size(void)
{
	return 2 * RING_BYTES + QUEUE_SIZE * opt.rx_buf + QUEUE_SIZE * (size_t)TX_BUF_SIZE;
}

static void ring_layout(struct ring *r, uint8_t *base)
{
	r->desc = (struct vring_desc *)base;
	r->avail = (struct vring_avail *)(base + QUEUE_SIZE * sizeof(struct vring_desc));
	r->used = (struct vring_used *)(base + RING_BYTES / 2);
}

static void ring_offer(struct ring *r, uint16_t id)
{
	uint16_t idx = r->avail->idx;

	r->avail->ring[idx % QUEUE_SIZE] = id;
	/* vhost must see the entry before the index that publishes it. */
	__atomic_store_n(&r->avail->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

static void ring_kick(struct ring *r)
{
	uint64_t one = 1;

	if (write(r->kick_fd, &one, sizeof(one)) != sizeof(one))
		die("kick");
}

static void setup_queue(unsigned int index)
{
	struct ring *r = &rings[index];
	struct vhost_vring_state num = { .index = index, .num = QUEUE_SIZE };
	struct vhost_vring_state base = { .index = index, .num = 0 };
	struct vhost_vring_addr addr = {
		.index = index,
		.desc_user_addr = guest_addr(r->desc),
		.avail_user_addr = guest_addr(r->avail),
		.used_user_addr = guest_addr(r->used),
	};
	struct vhost_vring_file kick, call;

	r->kick_fd = eventfd(0, EFD_NONBLOCK);
	r->call_fd = eventfd(0, EFD_NONBLOCK);
	if (r->kick_fd < 0 || r->call_fd < 0)
		die("eventfd");
	kick = (struct vhost_vring_file){ .index = index, .fd = r->kick_fd };
	call = (struct vhost_vring_file){ .index = index, .fd = r->call_fd };
	vhost_ioctl(VHOST_SET_VRING_NUM, &num, "VHOST_SET_VRING_NUM");
	vhost_ioctl(VHOST_SET_VRING_BASE, &base, "VHOST_SET_VRING_BASE");
	vhost_ioctl(VHOST_SET_VRING_ADDR, &addr, "VHOST_SET_VRING_ADDR");
	vhost_ioctl(VHOST_SET_VRING_KICK, &kick, "VHOST_SET_VRING_KICK");
	vhost_ioctl(VHOST_SET_VRING_CALL, &call, "VHOST_SET_VRING_CALL");
}

static void offer_rx_buffer(uint16_t id)
{
	struct vring_desc *d = &rings[RX_QUEUE].desc[id];

	d->addr = guest_addr(rx_bufs + (size_t)id * opt.rx_buf);
	d->len = (uint32_t)opt.rx_buf;
	d->flags = VRING_DESC_F_WRITE;
	ring_offer(&rings[RX_QUEUE], id);
}

static void setup_device(void)
{
	struct vhost_memory *mem;
	uint64_t features, running = 1;
	uint16_t i;

	vhost_fd = open("/dev/vhost-vsock", O_RDWR);
	if (vhost_fd < 0)
		die("open /dev/vhost-vsock");
	arena = mmap(NULL, arena_size(), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (arena == MAP_FAILED)
		die("mmap");
	ring_layout(&rings[RX_QUEUE], arena);
	ring_layout(&rings[TX_QUEUE], arena + RING_BYTES);
	rx_bufs = arena + 2 * RING_BYTES;
	tx_bufs = rx_bufs + QUEUE_SIZE * opt.rx_buf;

	vhost_ioctl(VHOST_SET_OWNER, NULL, "VHOST_SET_OWNER");
	vhost_ioctl(VHOST_GET_FEATURES, &features, "VHOST_GET_FEATURES");
	features &= 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_VSOCK_F_SEQPACKET;
	vhost_ioctl(VHOST_SET_FEATURES, &features, "VHOST_SET_FEATURES");

	mem = calloc(1, sizeof(*mem) + sizeof(mem->regions[0]));
	if (!mem)
		die("calloc");
	mem->nregions = 1;
	mem->regions[0].guest_phys_addr = guest_addr(arena);
	mem->regions[0].userspace_addr = guest_addr(arena);
	mem->regions[0].memory_size = arena_size();
	vhost_ioctl(VHOST_SET_MEM_TABLE, mem, "VHOST_SET_MEM_TABLE");
	free(mem);

	setup_queue(RX_QUEUE);
	setup_queue(TX_QUEUE);
	for (i = 0; i < QUEUE_SIZE; i++) {
		offer_rx_buffer(i);
		tx_free[tx_free_count++] = i;
	}
	vhost_ioctl(VHOST_VSOCK_SET_GUEST_CID, &opt.cid, "VHOST_VSOCK_SET_GUEST_CID");
	vhost_ioctl(VHOST_VSOCK_SET_RUNNING, &running, "VHOST_VSOCK_SET_RUNNING");
	ring_kick(&rings[RX_QUEUE]);
}

/* ---- sending ---- */

static void reclaim_tx(void)
{
	struct ring *r = &rings[TX_QUEUE];
	uint16_t used_idx = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);

	for (; r->last_used != used_idx; r->last_used++)
		tx_free[tx_free_count++] = (uint16_t)r->used->ring[r->last_used % QUEUE_SIZE].id;
}

static void wait_for_tx_buffer(void)
{
	struct pollfd pfd = { .fd = rings[TX_QUEUE].call_fd, .events = POLLIN };
	uint64_t count;

	while (reclaim_tx(), tx_free_count == 0) {
		if (poll(&pfd, 1, 5000) <= 0)
			die("tx queue stuck");
		if (read(pfd.fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			die("read call fd");
	}
}

static void send_packet(struct conn *c, uint16_t op, uint32_t flags, uint32_t len)
{
	struct virtio_vsock_hdr hdr = {
		.src_cid = opt.cid, .dst_cid = VSOCK_CID_HOST,
		.src_port = c->port, .dst_port = c->peer_port,
		.len = len, .type = c->type, .op = op, .flags = flags,
		.buf_alloc = OUR_BUF_ALLOC, .fwd_cnt = (uint32_t)c->rx_bytes,
	};
	uint8_t *buf;
	uint16_t id;
	uint32_t i;

	wait_for_tx_buffer();
	id = tx_free[--tx_free_count];
	buf = tx_bufs + (size_t)id * TX_BUF_SIZE;
	memcpy(buf, &hdr, sizeof(hdr));
	for (i = 0; i < len; i++)
		buf[sizeof(hdr) + i] = pattern_byte(c->tx_bytes + i);
	c->tx_bytes += len;
	rings[TX_QUEUE].desc[id] = (struct vring_desc){
		.addr = guest_addr(buf), .len = (uint32_t)sizeof(hdr) + len,
	};
	ring_offer(&rings[TX_QUEUE], id);
	ring_kick(&rings[TX_QUEUE]);
}

/* Send what the peer's credit allows (its buf_alloc minus bytes in flight). */
static void send_data(struct conn *c)
{
	while (c->open && c->to_send) {
		uint64_t in_flight = (uint32_t)(c->tx_bytes - c->peer_fwd_cnt);
		uint64_t credit = c->peer_buf_alloc > in_flight ? c->peer_buf_alloc - in_flight : 0;
		uint64_t n = c->to_send;

		if (n > 65536)
			n = 65536;
		if (n > credit)
			n = credit;
		if (!n)
			return;
		send_packet(c, VIRTIO_VSOCK_OP_RW, 0, (uint32_t)n);
		c->to_send -= n;
		if (!c->to_send)
			send_packet(c, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_MASK, 0);
	}
}

/* ---- receiving ---- */

static struct conn *find_conn(uint32_t port, uint32_t peer_port)
{
	int i;

	for (i = 0; i < MAX_CONNS; i++)
		if (conns[i].open && conns[i].port == port && conns[i].peer_port == peer_port)
			return &conns[i];
	return NULL;
}

static struct conn *new_conn(uint32_t port, uint32_t peer_port, uint8_t type)
{
	int i;

	for (i = 0; i < MAX_CONNS; i++) {
		if (!conns[i].open && !conns[i].port) {
			conns[i] = (struct conn){ .open = true, .type = type, .port = port,
						  .peer_port = peer_port, .pattern_ok = true };
			return &conns[i];
		}
	}
	fprintf(stderr, "vhost-peer: more than %d connections\n", MAX_CONNS);
	exit(1);
}

static void receive_data(struct conn *c, const uint8_t *data, uint32_t len, uint32_t flags)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		if (data[i] != pattern_byte(c->rx_bytes + i))
			c->pattern_ok = false;
	c->rx_bytes += len;
	c->credit_owed = true;
	/* vhost keeps EOM for the last fragment of the message's last packet */
	if (c->type == VIRTIO_VSOCK_TYPE_SEQPACKET && (flags & VIRTIO_VSOCK_SEQ_EOM)) {
		if (c->msg_count < MAX_MSGS)
			c->msg_len[c->msg_count] = c->rx_bytes - c->msg_start;
		c->msg_count++;
		c->msg_start = c->rx_bytes;
	}
}

static void handle_packet(const struct virtio_vsock_hdr *h, const uint8_t *data, uint32_t len)
{
	struct conn *c = find_conn(h->dst_port, h->src_port);

	if (h->op == VIRTIO_VSOCK_OP_REQUEST && !c) {
		c = new_conn(h->dst_port, h->src_port, (uint8_t)h->type);
		c->peer_buf_alloc = h->buf_alloc;
		c->peer_fwd_cnt = h->fwd_cnt;
		send_packet(c, VIRTIO_VSOCK_OP_RESPONSE, 0, 0);
		return;
	}
	if (!c)
		return;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RW:
		receive_data(c, data, len < h->len ? len : h->len, h->flags);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->credit_owed = true;
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		/* What Linux does once the peer shut both directions: reset. */
		if ((h->flags & VIRTIO_VSOCK_SHUTDOWN_MASK) == VIRTIO_VSOCK_SHUTDOWN_MASK) {
			send_packet(c, VIRTIO_VSOCK_OP_RST, 0, 0);
			c->open = false;
		}
		break;
	case VIRTIO_VSOCK_OP_RST:
		c->open = false;
		break;
	default:
		break;
	}
}

/* Consume used receive buffers, hand them back, answer with credit. */
static bool drain_rx(void)
{
	struct ring *r = &rings[RX_QUEUE];
	uint16_t used_idx = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
	bool got = r->last_used != used_idx;
	int i;

	for (; r->last_used != used_idx; r->last_used++) {
		struct vring_used_elem *e = &r->used->ring[r->last_used % QUEUE_SIZE];
		const uint8_t *buf = rx_bufs + (size_t)e->id * opt.rx_buf;
		struct virtio_vsock_hdr h;

		if (e->len >= sizeof(h)) {
			memcpy(&h, buf, sizeof(h));
			handle_packet(&h, buf + sizeof(h), e->len - (uint32_t)sizeof(h));
		}
		offer_rx_buffer((uint16_t)e->id);
	}
	if (got)
		ring_kick(r);
	for (i = 0; i < MAX_CONNS; i++) {
		if (conns[i].open && conns[i].credit_owed) {
			conns[i].credit_owed = false;
			send_packet(&conns[i], VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0);
		}
		send_data(&conns[i]);
	}
	return got;
}

static unsigned int closed_conns(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < MAX_CONNS; i++)
		n += conns[i].port && !conns[i].open;
	return n;
}

static void run(void)
{
	struct pollfd pfd = { .fd = rings[RX_QUEUE].call_fd, .events = POLLIN };
	uint64_t count;

	if (opt.connect_port) {
		struct conn *c = new_conn(1024 + (uint32_t)getpid() % 30000, opt.connect_port,
					  VIRTIO_VSOCK_TYPE_STREAM);

		c->to_send = opt.connect_bytes;
		send_packet(c, VIRTIO_VSOCK_OP_REQUEST, 0, 0);
	}
	for (;;) {
		int n = poll(&pfd, 1, opt.idle_sec * 1000);

		if (n < 0 && errno != EINTR)
			die("poll");
		if (n > 0 && read(pfd.fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			die("read call fd");
		if (!drain_rx() && n == 0)
			return;
		if (opt.conns && closed_conns() >= opt.conns)
			return;
	}
}

static void report_messages(const struct conn *c)
{
	unsigned int i;

	printf("[");
	for (i = 0; i < c->msg_count && i < MAX_MSGS; i++)
		printf("%s%llu", i ? ", " : "", (unsigned long long)c->msg_len[i]);
	printf("]");
}

static void report(void)
{
	int i;

	for (i = 0; i < MAX_CONNS; i++) {
		const struct conn *c = &conns[i];

		if (!c->port)
			continue;
		printf("{\"guest_port\": %u, \"host_port\": %u, \"type\": %u, \"from_host\": %llu, "
		       "\"to_host\": %llu, \"pattern_ok\": %s, \"closed\": %s, \"messages\": ",
		       c->port, c->peer_port, c->type, (unsigned long long)c->rx_bytes,
		       (unsigned long long)c->tx_bytes, c->pattern_ok ? "true" : "false",
		       c->open ? "false" : "true");
		report_messages(c);
		printf("}\n");
	}
}

static void usage(FILE *out)
{
	fprintf(out, "usage: vhost-peer [--cid N] [--rx-buf BYTES] [--idle SECS] [--conns N] "
		     "[--connect PORT --bytes N]\n");
}

static unsigned long long number(const char *arg, unsigned long long max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || *end || end == arg || v > max) {
		fprintf(stderr, "vhost-peer: bad number '%s'\n", arg);
		usage(stderr);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "cid", required_argument, NULL, 'c' },
		{ "rx-buf", required_argument, NULL, 'r' },
		{ "idle", required_argument, NULL, 'i' },
		{ "connect", required_argument, NULL, 'p' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "conns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int o;

	while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (o) {
		case 'c': opt.cid = number(optarg, 0xFFFFFFFEULL); break;
		case 'r': opt.rx_buf = number(optarg, TX_BUF_SIZE); break;
		case 'i': opt.idle_sec = (int)number(optarg, 3600); break;
		case 'p': opt.connect_port = (uint32_t)number(optarg, 0xFFFFFFFEULL); break;
		case 'b': opt.connect_bytes = number(optarg, 1ULL << 40); break;
		case 'n': opt.conns = (unsigned int)number(optarg, MAX_CONNS); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || opt.rx_buf <= VIRTIO_VSOCK_HDR_LEN) {
		usage(stderr);
		return 2;
	}
	setup_device();
	run();
	report();
	return 0;
}
