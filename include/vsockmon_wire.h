/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsockmon_wire.h - the on-the-wire format of a vsockmon (ARPHRD_VSOCKMON,
 * LINKTYPE_VSOCK 271) frame, for every user-space part of vsockmon.
 *
 * A frame is: struct af_vsockmon_hdr (32 bytes), then a transport header
 * of af_vsockmon_hdr.len bytes (struct virtio_vsock_hdr, 44 bytes, when
 * the transport is AF_VSOCK_TRANSPORT_VIRTIO), then the payload.
 *
 * Taken from the Linux UAPI headers linux/vsockmon.h and
 * linux/virtio_vsock.h. Every multi-byte field is little-endian on the
 * wire, whatever the capturing host's byte order.
 *
 * The structs document the layout; code that reads captured bytes uses
 * the VSOCKMON_OFF_* / VIRTIO_VSOCK_OFF_* offsets (checked against the
 * structs below at compile time), never raw numbers.
 */
#ifndef VSOCKMON_WIRE_H
#define VSOCKMON_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* pcap LINKTYPE_VSOCK / DLT_VSOCK, ARPHRD_VSOCKMON */
#define VSOCKMON_LINKTYPE	271
#define VSOCKMON_ARPHRD		826
/* rtnetlink link kind of the vsockmon driver */
#define VSOCKMON_LINK_KIND	"vsockmon"

/* ---- monitor header: linux/vsockmon.h ---- */

struct af_vsockmon_hdr {
	uint64_t src_cid;	/* __le64 */
	uint64_t dst_cid;	/* __le64 */
	uint32_t src_port;	/* __le32 */
	uint32_t dst_port;	/* __le32 */
	uint16_t op;		/* __le16, enum af_vsockmon_op */
	uint16_t transport;	/* __le16, enum af_vsockmon_transport */
	uint16_t len;		/* __le16, transport header length */
	uint8_t reserved[2];
} __attribute__((packed));

enum af_vsockmon_op {
	AF_VSOCK_OP_UNKNOWN = 0,
	AF_VSOCK_OP_CONNECT = 1,
	AF_VSOCK_OP_DISCONNECT = 2,
	AF_VSOCK_OP_CONTROL = 3,
	AF_VSOCK_OP_PAYLOAD = 4,
};

enum af_vsockmon_transport {
	AF_VSOCK_TRANSPORT_UNKNOWN = 0,
	AF_VSOCK_TRANSPORT_NO_INFO = 1,	/* no transport information */
	AF_VSOCK_TRANSPORT_VIRTIO = 2,	/* struct virtio_vsock_hdr follows */
};

#define VSOCKMON_HDR_LEN		32
#define VSOCKMON_OFF_SRC_CID		0
#define VSOCKMON_OFF_DST_CID		8
#define VSOCKMON_OFF_SRC_PORT		16
#define VSOCKMON_OFF_DST_PORT		20
#define VSOCKMON_OFF_OP			24
#define VSOCKMON_OFF_TRANSPORT		26
#define VSOCKMON_OFF_LEN		28
#define VSOCKMON_OFF_RESERVED		30

/* ---- virtio transport header: linux/virtio_vsock.h ---- */

struct virtio_vsock_hdr {
	uint64_t src_cid;	/* __le64 */
	uint64_t dst_cid;	/* __le64 */
	uint32_t src_port;	/* __le32 */
	uint32_t dst_port;	/* __le32 */
	uint32_t len;		/* __le32, payload length */
	uint16_t type;		/* __le16, enum virtio_vsock_type */
	uint16_t op;		/* __le16, enum virtio_vsock_op */
	uint32_t flags;		/* __le32, meaning depends on op */
	uint32_t buf_alloc;	/* __le32, receive buffer size of the sender */
	uint32_t fwd_cnt;	/* __le32, bytes the sender has consumed */
} __attribute__((packed));

enum virtio_vsock_type {
	VIRTIO_VSOCK_TYPE_STREAM = 1,
	VIRTIO_VSOCK_TYPE_SEQPACKET = 2,
};

enum virtio_vsock_op {
	VIRTIO_VSOCK_OP_INVALID = 0,
	VIRTIO_VSOCK_OP_REQUEST = 1,		/* connect */
	VIRTIO_VSOCK_OP_RESPONSE = 2,
	VIRTIO_VSOCK_OP_RST = 3,
	VIRTIO_VSOCK_OP_SHUTDOWN = 4,
	VIRTIO_VSOCK_OP_RW = 5,			/* payload */
	VIRTIO_VSOCK_OP_CREDIT_UPDATE = 6,	/* tell the peer our credit */
	VIRTIO_VSOCK_OP_CREDIT_REQUEST = 7,	/* ask the peer for its credit */
};
#define VIRTIO_VSOCK_OP_MAX VIRTIO_VSOCK_OP_CREDIT_REQUEST

/* flags on VIRTIO_VSOCK_OP_SHUTDOWN */
enum virtio_vsock_shutdown {
	VIRTIO_VSOCK_SHUTDOWN_RCV = 1,	/* sender will receive no more */
	VIRTIO_VSOCK_SHUTDOWN_SEND = 2,	/* sender will send no more */
};
#define VIRTIO_VSOCK_SHUTDOWN_MASK \
	(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)

/* flags on VIRTIO_VSOCK_OP_RW of a SEQPACKET socket */
enum virtio_vsock_rw {
	VIRTIO_VSOCK_SEQ_EOM = 1,	/* last fragment of a message */
	VIRTIO_VSOCK_SEQ_EOR = 2,	/* MSG_EOR was set on the message */
};
#define VIRTIO_VSOCK_SEQ_MASK (VIRTIO_VSOCK_SEQ_EOM | VIRTIO_VSOCK_SEQ_EOR)

/* virtio feature bit: the device and driver speak SOCK_SEQPACKET */
#define VIRTIO_VSOCK_F_SEQPACKET	1

#define VIRTIO_VSOCK_HDR_LEN		44
#define VIRTIO_VSOCK_OFF_SRC_CID	0
#define VIRTIO_VSOCK_OFF_DST_CID	8
#define VIRTIO_VSOCK_OFF_SRC_PORT	16
#define VIRTIO_VSOCK_OFF_DST_PORT	20
#define VIRTIO_VSOCK_OFF_LEN		24
#define VIRTIO_VSOCK_OFF_TYPE		28
#define VIRTIO_VSOCK_OFF_OP		30
#define VIRTIO_VSOCK_OFF_FLAGS		32
#define VIRTIO_VSOCK_OFF_BUF_ALLOC	36
#define VIRTIO_VSOCK_OFF_FWD_CNT	40

/* Offset of a virtio header field inside a whole vsockmon frame. */
#define VSOCKMON_FRAME_VIRTIO_OFF(field_off) (VSOCKMON_HDR_LEN + (field_off))

/* ---- well-known CIDs: linux/vm_sockets.h ---- */
#define VSOCK_CID_HYPERVISOR	0ULL
#define VSOCK_CID_LOCAL		1ULL
#define VSOCK_CID_HOST		2ULL
#define VSOCK_CID_ANY		0xFFFFFFFFULL	/* VMADDR_CID_ANY */
#define VSOCK_PORT_ANY		0xFFFFFFFFU	/* VMADDR_PORT_ANY */

/*
 * The monitor op the kernel derives from a virtio op
 * (virtio_transport_get_op() in net/vmw_vsock/virtio_transport_common.c).
 */
static inline enum af_vsockmon_op vsockmon_op_from_virtio(uint16_t virtio_op)
{
	switch (virtio_op) {
	case VIRTIO_VSOCK_OP_REQUEST:
	case VIRTIO_VSOCK_OP_RESPONSE:
		return AF_VSOCK_OP_CONNECT;
	case VIRTIO_VSOCK_OP_RST:
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		return AF_VSOCK_OP_DISCONNECT;
	case VIRTIO_VSOCK_OP_RW:
		return AF_VSOCK_OP_PAYLOAD;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		return AF_VSOCK_OP_CONTROL;
	default:
		return AF_VSOCK_OP_UNKNOWN;
	}
}

/* The offsets above are the structs' layout; fail the build if they drift. */
#define VSOCKMON_WIRE_CHECK(cond) _Static_assert(cond, #cond)
VSOCKMON_WIRE_CHECK(sizeof(struct af_vsockmon_hdr) == VSOCKMON_HDR_LEN);
VSOCKMON_WIRE_CHECK(offsetof(struct af_vsockmon_hdr, dst_cid) == VSOCKMON_OFF_DST_CID);
VSOCKMON_WIRE_CHECK(offsetof(struct af_vsockmon_hdr, src_port) == VSOCKMON_OFF_SRC_PORT);
VSOCKMON_WIRE_CHECK(offsetof(struct af_vsockmon_hdr, dst_port) == VSOCKMON_OFF_DST_PORT);
VSOCKMON_WIRE_CHECK(offsetof(struct af_vsockmon_hdr, op) == VSOCKMON_OFF_OP);
VSOCKMON_WIRE_CHECK(offsetof(struct af_vsockmon_hdr, transport) == VSOCKMON_OFF_TRANSPORT);
VSOCKMON_WIRE_CHECK(offsetof(struct af_vsockmon_hdr, len) == VSOCKMON_OFF_LEN);
VSOCKMON_WIRE_CHECK(offsetof(struct af_vsockmon_hdr, reserved) == VSOCKMON_OFF_RESERVED);
VSOCKMON_WIRE_CHECK(sizeof(struct virtio_vsock_hdr) == VIRTIO_VSOCK_HDR_LEN);
VSOCKMON_WIRE_CHECK(offsetof(struct virtio_vsock_hdr, dst_cid) == VIRTIO_VSOCK_OFF_DST_CID);
VSOCKMON_WIRE_CHECK(offsetof(struct virtio_vsock_hdr, src_port) == VIRTIO_VSOCK_OFF_SRC_PORT);
VSOCKMON_WIRE_CHECK(offsetof(struct virtio_vsock_hdr, dst_port) == VIRTIO_VSOCK_OFF_DST_PORT);
VSOCKMON_WIRE_CHECK(offsetof(struct virtio_vsock_hdr, len) == VIRTIO_VSOCK_OFF_LEN);
VSOCKMON_WIRE_CHECK(offsetof(struct virtio_vsock_hdr, type) == VIRTIO_VSOCK_OFF_TYPE);
VSOCKMON_WIRE_CHECK(offsetof(struct virtio_vsock_hdr, op) == VIRTIO_VSOCK_OFF_OP);
VSOCKMON_WIRE_CHECK(offsetof(struct virtio_vsock_hdr, flags) == VIRTIO_VSOCK_OFF_FLAGS);
VSOCKMON_WIRE_CHECK(offsetof(struct virtio_vsock_hdr, buf_alloc) == VIRTIO_VSOCK_OFF_BUF_ALLOC);
VSOCKMON_WIRE_CHECK(offsetof(struct virtio_vsock_hdr, fwd_cnt) == VIRTIO_VSOCK_OFF_FWD_CNT);
#undef VSOCKMON_WIRE_CHECK

#endif /* VSOCKMON_WIRE_H */
