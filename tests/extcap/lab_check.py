#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check vsockdump captures (pcapng) against what the traffic generator did.

Independent of Wireshark's dissector: reads the pcapng blocks and the
vsockmon/virtio headers itself (offsets as in include/vsockmon_wire.h).

  lab_check.py all-conversations CAPTURE MANIFEST
      every manifest conversation has frames in the capture
  lab_check.py only-ports CAPTURE MANIFEST PORT...
      frames exist, each has PORT as source or destination port, and the
      conversations of the manifest on other ports are absent
  lab_check.py only-op CAPTURE OP
      frames exist and every one is a virtio frame with that op
  lab_check.py stream CAPTURE IFNAME_PREFIX FILTER
      vsockdump's own stream: SHB, IDB (linktype 271, if_name, if_filter,
      if_os), EPBs, and an ISB with isb_osdrop (and isb_ifdrop counting
      those drops, as Wireshark shows only it) as the last block
"""
import json
import struct
import sys

SHB, IDB, ISB, EPB, SPB = 0x0A0D0D0A, 1, 5, 6, 3
LINKTYPE_VSOCK = 271
HDR_LEN, VIRTIO_LEN = 32, 44
TRANSPORT_VIRTIO = 2
OPS = {"request": 1, "response": 2, "rst": 3, "shutdown": 4, "rw": 5,
       "credit_update": 6, "credit_request": 7}


def blocks(path):
    data = open(path, "rb").read()
    off, endian = 0, "<"
    while off + 12 <= len(data):
        btype = struct.unpack_from(endian + "I", data, off)[0]
        if btype == SHB:
            magic = struct.unpack_from("<I", data, off + 8)[0]
            endian = "<" if magic == 0x1A2B3C4D else ">"
        blen = struct.unpack_from(endian + "I", data, off + 4)[0]
        if blen < 12 or off + blen > len(data):
            raise SystemExit(f"{path}: truncated block at {off}")
        yield btype, data[off + 8:off + blen - 4], endian
        off += blen
    if off != len(data):
        raise SystemExit(f"{path}: {len(data) - off} trailing bytes")


def options(body, endian):
    out, off = {}, 0
    while off + 4 <= len(body):
        code, length = struct.unpack_from(endian + "HH", body, off)
        if code == 0:
            break
        out.setdefault(code, []).append(body[off + 4:off + 4 + length])
        off += 4 + ((length + 3) & ~3)
    return out


def frames(path):
    linktypes = []
    for btype, body, e in blocks(path):
        if btype == IDB:
            linktypes.append(struct.unpack_from(e + "H", body, 0)[0])
        elif btype == EPB:
            ifid, _, _, caplen, _ = struct.unpack_from(e + "IIIII", body, 0)
            if linktypes[ifid] != LINKTYPE_VSOCK:
                raise SystemExit(f"{path}: interface {ifid} has linktype {linktypes[ifid]}")
            yield body[20:20 + caplen]


def decode(frame):
    src_cid, dst_cid, src_port, dst_port, _, transport, tlen = \
        struct.unpack_from("<QQIIHHH", frame, 0)
    f = {"src": (src_cid, src_port), "dst": (dst_cid, dst_port), "op": None}
    if transport == TRANSPORT_VIRTIO and tlen >= VIRTIO_LEN and len(frame) >= HDR_LEN + VIRTIO_LEN:
        f["type"], f["op"] = struct.unpack_from("<HH", frame, HDR_LEN + 28)
    return f


def manifest(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def conversation_frames(decoded, conv):
    ports = {conv["client_port"], conv["server_port"]}
    return [f for f in decoded if {f["src"][1], f["dst"][1]} == ports]


def cmd_all_conversations(capture, manifest_path):
    decoded = [decode(f) for f in frames(capture)]
    bad = 0
    for conv in manifest(manifest_path):
        got = conversation_frames(decoded, conv)
        if not got:
            print(f"FAIL: no frames for {conv['scenario']} {conv['client_port']}->{conv['server_port']}")
            bad += 1
    print(f"{len(decoded)} frames, {len(manifest(manifest_path))} conversations checked")
    return bad


def cmd_only_ports(capture, manifest_path, *ports):
    wanted = {int(p) for p in ports}
    decoded = [decode(f) for f in frames(capture)]
    bad = 0
    if not decoded:
        print("FAIL: the filtered capture is empty")
        bad += 1
    stray = [f for f in decoded if not ({f["src"][1], f["dst"][1]} & wanted)]
    if stray:
        print(f"FAIL: {len(stray)} frames outside ports {sorted(wanted)}, e.g. {stray[0]}")
        bad += 1
    for conv in manifest(manifest_path):
        matching = {conv["client_port"], conv["server_port"]} & wanted
        got = conversation_frames(decoded, conv)
        if matching and not got:
            print(f"FAIL: filtered-in conversation {conv['scenario']} missing")
            bad += 1
    print(f"{len(decoded)} frames, all on ports {sorted(wanted)}" if not bad else "")
    return bad


def cmd_only_op(capture, op):
    decoded = [decode(f) for f in frames(capture)]
    if not decoded:
        print("FAIL: the filtered capture is empty")
        return 1
    wrong = [f for f in decoded if f["op"] != OPS[op]]
    if wrong:
        print(f"FAIL: {len(wrong)} of {len(decoded)} frames are not op {op}: {wrong[0]}")
        return 1
    print(f"{len(decoded)} frames, all op {op}")
    return 0


def cmd_stream(capture, ifname_prefix, filter_text):
    seq = list(blocks(capture))
    kinds = [b[0] for b in seq]
    bad = 0
    if kinds[:2] != [SHB, IDB] or kinds[-1] != ISB or set(kinds[2:-1]) - {EPB}:
        print(f"FAIL: block sequence {kinds[:4]}...{kinds[-2:]}, want SHB IDB EPB* ISB")
        return 1
    _, idb, e = seq[1]
    linktype, _, snaplen = struct.unpack_from(e + "HHI", idb, 0)
    opts = options(idb[8:], e)
    name = opts.get(2, [b""])[0].decode()
    if linktype != LINKTYPE_VSOCK:
        print(f"FAIL: IDB linktype {linktype}")
        bad += 1
    if not name.startswith(ifname_prefix):
        print(f"FAIL: if_name {name!r}, want {ifname_prefix}*")
        bad += 1
    want_filter = [b"\x00" + filter_text.encode()] if filter_text else None
    if opts.get(11) != want_filter:
        print(f"FAIL: if_filter {opts.get(11)!r}, want {filter_text!r}")
        bad += 1
    if not opts.get(12, [b""])[0].startswith(b"Linux "):
        print(f"FAIL: if_os {opts.get(12)!r}")
        bad += 1
    isb_opts = options(seq[-1][1][12:], e)
    if 7 not in isb_opts or len(isb_opts[7][0]) != 8:
        print(f"FAIL: ISB without isb_osdrop: {isb_opts}")
        bad += 1
    else:
        drops = struct.unpack(e + "Q", isb_opts[7][0])[0]
        print(f"ISB: kernel drops {drops}")
        # Wireshark's "Dropped" reads isb_ifdrop alone: the ring's drops must be in it
        ifdrop = struct.unpack(e + "Q", isb_opts[4][0])[0] if len(isb_opts.get(4, [b""])[0]) == 8 else None
        if ifdrop is None or ifdrop < drops:
            print(f"FAIL: isb_ifdrop {ifdrop} does not count the {drops} kernel drops")
            bad += 1
    print(f"stream: {kinds.count(EPB)} frames on {name}, filter {filter_text!r}")
    if kinds.count(EPB) == 0:
        print("FAIL: no frames")
        bad += 1
    return bad


COMMANDS = {"all-conversations": cmd_all_conversations, "only-ports": cmd_only_ports,
            "only-op": cmd_only_op, "stream": cmd_stream}

if __name__ == "__main__":
    sys.exit(1 if COMMANDS[sys.argv[1]](*sys.argv[2:]) else 0)
