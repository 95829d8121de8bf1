#!/usr/bin/env python3
"""Check a vhost lab run (tests/vm/vhost-lab.sh): what each side received,
and what the plugin shows of the capture.

Usage: check_vhost.py OUTDIR   (vhost.pcap, peer.jsonl, host.json)
Needs VSOCKMON_PLUGIN (the built vsockmon.so)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vsmtest import fields, readable_copy, tshark  # noqa: E402

HOST_BYTES, GUEST_BYTES = 70000, 70000
GUEST_CID, GUEST_RX_PAYLOAD = 3, 4096 - 44
STREAM, SEQPACKET = 1, 2


def pattern(start, n):
    return bytes((start + i) % 251 for i in range(n))


def check(cond, what):
    if not cond:
        sys.exit("check_vhost: FAIL: " + what)


def check_endpoints(outdir):
    conns = [json.loads(line) for line in open(os.path.join(outdir, "peer.jsonl"))]
    incoming = [c for c in conns if c["guest_port"] == 7000]
    message = [c for c in conns if c["guest_port"] == 7002]
    outgoing = [c for c in conns if c["host_port"] == 7001]
    check(len(incoming) == 1 and len(message) == 1 and len(outgoing) == 1, "guest connections: %r" % conns)
    check(incoming[0]["from_host"] == HOST_BYTES and incoming[0]["pattern_ok"] and incoming[0]["closed"],
          "guest received %r" % incoming[0])
    check(message[0]["type"] == SEQPACKET and message[0]["messages"] == [HOST_BYTES] and message[0]["pattern_ok"]
          and message[0]["closed"], "guest received the message %r" % message[0])
    check(outgoing[0]["to_host"] == GUEST_BYTES and outgoing[0]["closed"], "guest sent %r" % outgoing[0])
    host = json.load(open(os.path.join(outdir, "host.json")))
    check(host == {"from_cid": GUEST_CID, "from_port": outgoing[0]["guest_port"], "bytes": GUEST_BYTES,
                   "pattern_ok": True}, "host received %r" % host)


def check_capture(cap, passes):
    rows = fields(cap, "frame.number", "virtio_vsock.src_cid", "virtio_vsock.seq", "virtio_vsock.len",
                  "frame.cap_len", "data.data", "virtio_vsock.split.offset",
                  display_filter="virtio_vsock.op == 5 && virtio_vsock.len > 0 && virtio_vsock.type == 1",
                  extra=passes)
    sent = {"2": 0, "3": 0}
    split_frames = 0
    for row in rows:
        seq, length = int(row["virtio_vsock.seq"]), int(row["virtio_vsock.len"])
        check(bytes.fromhex(row["data.data"]) == pattern(seq, length),
              "frame %s (%s): data is not the stream's bytes %d-%d" % (row["frame.number"], passes, seq,
                                                                       seq + length - 1))
        sent[row["virtio_vsock.src_cid"]] += length
        if row["virtio_vsock.src_cid"] == "2":
            # vhost fits every host->guest packet into the guest's 4 KiB buffers
            check(length <= GUEST_RX_PAYLOAD, "frame %s: %d bytes in one guest buffer" % (row["frame.number"],
                                                                                       length))
        if int(row["frame.cap_len"]) > 76 + length:
            check(row["virtio_vsock.split.offset"] != "",
                  "frame %s carries more than len but is not taken for a vhost fragment" % row["frame.number"])
            split_frames += 1
    check(sent == {"2": HOST_BYTES, "3": GUEST_BYTES}, "payload per direction %r" % sent)
    return split_frames + check_message(cap, passes)


def check_message(cap, passes):
    """The SOCK_SEQPACKET message: vhost split its packets (65536 + 4464
    bytes) into fragments, EOM on the very last only; the plugin joins the
    fragments' own bytes into the message the guest received."""
    rows = fields(cap, "frame.number", "virtio_vsock.len", "frame.cap_len", "virtio_vsock.flags.seq_eom",
                  "virtio_vsock.msg.length", "data.data", "virtio_vsock.split.offset",
                  display_filter="virtio_vsock.op == 5 && virtio_vsock.type == 2", extra=passes)
    check(sum(int(r["virtio_vsock.len"]) for r in rows) == HOST_BYTES, "message fragments %r" % [
        r["virtio_vsock.len"] for r in rows])
    eom = [r["virtio_vsock.flags.seq_eom"] in ("1", "True") for r in rows]
    check(eom == [False] * (len(rows) - 1) + [True], "EOM on the last fragment only: %r" % eom)
    last = rows[-1]
    check(last["virtio_vsock.msg.length"] == str(HOST_BYTES) and
          bytes.fromhex(last["data.data"]) == pattern(0, HOST_BYTES),
          "frame %s (%s): the reassembled message is not the one sent" % (last["frame.number"], passes))
    split_frames = 0
    for row in rows:
        if int(row["frame.cap_len"]) > 76 + int(row["virtio_vsock.len"]):
            check(row["virtio_vsock.split.offset"] != "", "frame %s: fragment not taken apart" % row["frame.number"])
            split_frames += 1
    return split_frames


def main():
    outdir = sys.argv[1]
    check_endpoints(outdir)
    cap = readable_copy(os.path.join(outdir, "vhost.pcap"))
    split_frames = [check_capture(cap, passes) for passes in ((), ("-2",))][0]
    experts = tshark("-r", cap, "-q", "-z", "expert")
    check("Malformed" not in experts and "Errors" not in experts, "experts:\n" + experts)
    # A kernel with the tap bug (6.1.y, 6.3+ before 5f344d809e01) copies more
    # than each fragment; a fixed one copies the fragment: either is right.
    print("check_vhost: OK: %d host->guest bytes as a stream and as a message, %d guest->host, each side "
          "and the plugin agree; %d frames carried more than their fragment (%s)"
          % (HOST_BYTES, GUEST_BYTES, split_frames, "kernel tap bug" if split_frames else "fixed kernel"))


if __name__ == "__main__":
    main()
