#!/usr/bin/env python3
"""Check a vhost lab run (tests/vm/vhost-lab.sh): what each side received,
and what the plugin shows of the capture; with vsockdump's
--vhost-fragments=trim capture of the same traffic (vhost-trim.pcapng), that
it holds the same frames, each RW frame exactly its headers and len bytes of
its stream.

Usage: check_vhost.py OUTDIR   (vhost.pcap, peer.jsonl, host.json[, vhost-trim.pcapng])
Needs VSOCKMON_PLUGIN (the built vsockmon.so)."""
import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vsmtest import RW, SEQPACKET, fields, readable_copy, tshark  # noqa: E402
from vsmtest import vhost_pattern as pattern  # noqa: E402

HOST_BYTES, GUEST_BYTES = 70000, 70000
GUEST_CID, GUEST_RX_PAYLOAD = 3, 4096 - 44
HEADERS = 32 + 44	# include/vsockmon_wire.h: VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN
VIRTIO = 32		# the virtio header's offset in a frame
# pcapng (draft-ietf-opsawg-pcapng)
SHB, IDB, ISB, EPB = 0x0A0D0D0A, 1, 5, 6
OPT_COMMENT, ISB_OSDROP = 1, 7


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


def read_pcap(path):
    """(caplen, origlen, bytes) of each frame of a little-endian pcap (tcpdump -w)."""
    data = open(path, "rb").read()
    check(struct.unpack_from("<I", data)[0] in (0xa1b2c3d4, 0xa1b23c4d), "%s: not a little-endian pcap" % path)
    frames, off = [], 24
    while off < len(data):
        _, _, caplen, origlen = struct.unpack_from("<IIII", data, off)
        frames.append((caplen, origlen, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return frames


def options(body):
    """{code: [values]} of a pcapng options area."""
    opts, off = {}, 0
    while off + 4 <= len(body):
        code, length = struct.unpack_from("<HH", body, off)
        if code == 0:
            break
        opts.setdefault(code, []).append(body[off + 4:off + 4 + length])
        off += 4 + (length + 3) // 4 * 4
    return opts


def read_pcapng(path):
    """Frames (caplen, origlen, bytes, options) and the SHB's and ISB's options of
    vsockdump's pcapng (one section, one interface, host byte order: little-endian here)."""
    data = open(path, "rb").read()
    frames, shb, isb, off = [], None, None, 0
    while off + 12 <= len(data):
        btype, total = struct.unpack_from("<II", data, off)
        check(total >= 12 and total % 4 == 0 and off + total <= len(data), "%s: block at %d cut" % (path, off))
        body = data[off + 8:off + total - 4]
        if btype == SHB:
            shb = options(body[16:])
        elif btype == EPB:
            _, _, _, caplen, origlen = struct.unpack_from("<IIIII", body)
            frames.append((caplen, origlen, body[20:20 + caplen], options(body[20 + (caplen + 3) // 4 * 4:])))
        elif btype == ISB:
            isb = options(body[12:])
        off += total
    check(off == len(data) and shb is not None and isb is not None,
          "%s: not whole blocks from a section header to a closing statistics block" % path)
    return frames, shb, isb


def check_trimmed(outdir):
    """vsockdump --vhost-fragments=trim captured the traffic beside tcpdump: the
    same frames, except that each RW frame is exactly its headers and len
    bytes, and those are the bytes of its stream (payload byte i of each
    direction of each connection is i % 251, the SEQPACKET message too); the
    frames that carried more are the ones trimmed, and the file says so.
    Returns (frames trimmed, bytes as tapped, bytes trimmed) for the summary."""
    tapped = read_pcap(os.path.join(outdir, "vhost.pcap"))
    trim_path = os.path.join(outdir, "vhost-trim.pcapng")
    trimmed, shb, isb = read_pcapng(trim_path)
    err = open(os.path.join(outdir, "vsockdump.err")).read()
    check(err == "", "vsockdump said on stderr: %r" % err)
    drops = struct.unpack("<Q", isb[ISB_OSDROP][0])[0] if ISB_OSDROP in isb else None
    check(drops == 0, "vsockdump's ring dropped %s frames: the captures cannot be compared" % drops)
    check(len(trimmed) == len(tapped), "vsockdump wrote %d frames, tcpdump %d" % (len(trimmed), len(tapped)))
    check(OPT_COMMENT in shb and b"--vhost-fragments=trim" in shb[OPT_COMMENT][0],
          "no section comment saying the frames were trimmed: %r" % shb)
    offsets, carried_more, rw_frames = {}, 0, 0
    for n, ((caplen, origlen, frame), (t_caplen, t_origlen, t_frame, t_opts)) in enumerate(zip(tapped, trimmed), 1):
        check(caplen == origlen, "tcpdump frame %d: cut (%d of %d bytes)" % (n, caplen, origlen))
        check(OPT_COMMENT not in t_opts, "frame %d: comment %r" % (n, t_opts.get(OPT_COMMENT)))
        op, = struct.unpack_from("<H", frame, VIRTIO + 30)
        length, = struct.unpack_from("<I", frame, VIRTIO + 24)
        if op != RW or length == 0:
            check((t_caplen, t_origlen, t_frame) == (caplen, origlen, frame), "frame %d: changed" % n)
            continue
        rw_frames += 1
        direction = frame[:24]	# source and destination CID and port
        offset = offsets.get(direction, 0)
        check(t_caplen == t_origlen == HEADERS + length,
              "frame %d: %d/%d bytes written, want %d (len %d)" % (n, t_caplen, t_origlen, HEADERS + length, length))
        check(t_frame[:HEADERS] == frame[:HEADERS], "frame %d: headers changed" % n)
        check(t_frame[HEADERS:] == pattern(offset, length),
              "frame %d: not the stream's bytes %d-%d" % (n, offset, offset + length - 1))
        if origlen > HEADERS + length:
            carried_more += 1
        else:
            check(t_frame == frame, "frame %d: carried just its fragment, yet changed" % n)
        offsets[direction] = offset + length
    check(sorted(offsets.values()) == [GUEST_BYTES, HOST_BYTES, HOST_BYTES],
          "stream bytes per direction in the trimmed capture: %r" % sorted(offsets.values()))
    summary = isb.get(OPT_COMMENT, [b""])[0].decode()
    m = re.match(r"vhost fragments: (\d+) of (\d+) frames trimmed to their own bytes, (\d+) of their (\d+) "
                 r"captured bytes saved$", summary)
    check(m is not None, "statistics comment: %r" % summary)
    check(int(m.group(1)) == carried_more and int(m.group(2)) == len(tapped),
          "statistics comment says %s of %s frames trimmed; %d of %d carried more than their fragment"
          % (m.group(1), m.group(2), carried_more, len(tapped)))
    log = open(os.path.join(outdir, "vsockdump.log")).read()
    check(summary in log, "vsockdump's log lacks %r" % summary)
    # the plugin, too, reads each trimmed frame as a whole (nothing left to take apart)
    cap = readable_copy(trim_path)
    for passes in ((), ("-2",)):
        check(check_capture(cap, passes) == 0, "plugin: trimmed frames still carry more than their fragment")
    experts = tshark("-r", cap, "-q", "-z", "expert")
    check("Malformed" not in experts and "Errors" not in experts, "experts (trimmed capture):\n" + experts)
    print("check_vhost: trimmed capture OK: %d frames as tcpdump's, %d RW frames each 76+len with its stream's "
          "bytes; %d trimmed, %d -> %d bytes of file (%s)"
          % (len(tapped), rw_frames, carried_more, os.path.getsize(os.path.join(outdir, "vhost.pcap")),
             os.path.getsize(trim_path), summary))


def main():
    outdir = sys.argv[1]
    check_endpoints(outdir)
    cap = readable_copy(os.path.join(outdir, "vhost.pcap"))
    split_frames = [check_capture(cap, passes) for passes in ((), ("-2",))][0]
    experts = tshark("-r", cap, "-q", "-z", "expert")
    check("Malformed" not in experts and "Errors" not in experts, "experts:\n" + experts)
    if os.path.exists(os.path.join(outdir, "vhost-trim.pcapng")):
        check_trimmed(outdir)
    else:
        print("check_vhost: no vsockdump capture (vhost-trim.pcapng): trim mode not checked")
    # A kernel with the tap bug (6.1.y, 6.3+ before 5f344d809e01) copies more
    # than each fragment; a fixed one copies the fragment: either is right.
    print("check_vhost: OK: %d host->guest bytes as a stream and as a message, %d guest->host, each side "
          "and the plugin agree; %d frames carried more than their fragment (%s)"
          % (HOST_BYTES, GUEST_BYTES, split_frames, "kernel tap bug" if split_frames else "fixed kernel"))


if __name__ == "__main__":
    main()
