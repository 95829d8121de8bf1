#!/usr/bin/env python3
"""Check a vsockmon capture (pcap, LINKTYPE 271) against a vsock-traffic manifest.

Usage: check_capture.py [--header include/vsockmon_wire.h] [--tshark]
                        [--expect SCENARIO,...] CAPTURE.pcap MANIFEST.jsonl

Frame layout, offsets and constants are read from vsockmon_wire.h, the one
place they are defined. Every frame must belong to a connection in the
manifest, and every manifest connection must show the packets its scenario
implies (handshake, payload byte counts, message boundaries, RST, SHUTDOWN
flags, credit updates, ttrpc framing). With --tshark, Wireshark's built-in
vsock dissector must decode the same ports, ops and lengths per frame.
Exit status 0 when everything agrees, 1 with one line per disagreement.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Byte widths of the header fields (from the struct member types in the header).
FIELD_WIDTHS = {
    "SRC_CID": 8, "DST_CID": 8, "SRC_PORT": 4, "DST_PORT": 4, "OP": 2,
    "TRANSPORT": 2, "LEN": 2, "TYPE": 2, "FLAGS": 4, "BUF_ALLOC": 4, "FWD_CNT": 4,
}
VIRTIO_WIDTH_OVERRIDES = {"LEN": 4}  # virtio len is __le32, monitor len __le16


def load_wire_header(path):
    """Return {NAME: int} for every numeric #define and enum constant."""
    text = open(path, encoding="utf-8").read()
    consts = {}
    for name, value in re.findall(r"#define\s+(\w+)\s+(0x[0-9A-Fa-f]+|\d+)\b", text):
        consts[name] = int(value, 0)
    for name, value in re.findall(r"^\s*(\w+)\s*=\s*(0x[0-9A-Fa-f]+|\d+)\s*,", text, re.M):
        consts[name] = int(value, 0)
    return consts


class Wire:
    """Decoder for one vsockmon frame, driven by the header's offsets."""

    def __init__(self, consts):
        self.c = consts
        self.mon_len = consts["VSOCKMON_HDR_LEN"]
        self.virtio_len = consts["VIRTIO_VSOCK_HDR_LEN"]
        self.mon_fields = self._fields("VSOCKMON_OFF_", {})
        self.virtio_fields = self._fields("VIRTIO_VSOCK_OFF_", VIRTIO_WIDTH_OVERRIDES)

    def _fields(self, prefix, overrides):
        fields = {}
        for name, off in self.c.items():
            if name.startswith(prefix):
                short = name[len(prefix):]
                if short in FIELD_WIDTHS:
                    fields[short.lower()] = (off, overrides.get(short, FIELD_WIDTHS[short]))
        return fields

    @staticmethod
    def _read(buf, base, off, width):
        return int.from_bytes(buf[base + off:base + off + width], "little")

    def decode(self, frame):
        if len(frame) < self.mon_len:
            raise ValueError(f"frame of {len(frame)} bytes is shorter than the monitor header")
        pkt = {"mon_" + k: self._read(frame, 0, *v) for k, v in self.mon_fields.items()}
        if pkt["mon_transport"] != self.c["AF_VSOCK_TRANSPORT_VIRTIO"]:
            raise ValueError(f"transport {pkt['mon_transport']} is not virtio")
        if pkt["mon_len"] != self.virtio_len or len(frame) < self.mon_len + self.virtio_len:
            raise ValueError(f"transport header length {pkt['mon_len']}, frame {len(frame)} bytes")
        pkt.update({k: self._read(frame, self.mon_len, *v) for k, v in self.virtio_fields.items()})
        pkt["payload"] = frame[self.mon_len + self.virtio_len:]
        return pkt


def read_pcap(path):
    """Yield (linktype, frame bytes, original length) from a classic pcap file."""
    data = open(path, "rb").read()
    if len(data) < 24:
        raise ValueError(f"{path}: not a pcap file (only {len(data)} bytes)")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a classic pcap file (pcapng? use tcpdump -w)")
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    pos = 24
    while pos + 16 <= len(data):
        _, _, caplen, origlen = struct.unpack(endian + "IIII", data[pos:pos + 16])
        pos += 16
        yield linktype, data[pos:pos + caplen], origlen
        pos += caplen


class Checker:
    def __init__(self, consts):
        self.c = consts
        self.errors = []

    def op(self, name):
        return self.c["VIRTIO_VSOCK_OP_" + name]

    def expect(self, cond, msg):
        if not cond:
            self.errors.append(msg)
        return cond

    # ---- frame-level checks ----

    def monitor_op_for(self, virtio_op):
        """Mirror of vsockmon_op_from_virtio() in vsockmon_wire.h."""
        if virtio_op in (self.op("REQUEST"), self.op("RESPONSE")):
            return self.c["AF_VSOCK_OP_CONNECT"]
        if virtio_op in (self.op("RST"), self.op("SHUTDOWN")):
            return self.c["AF_VSOCK_OP_DISCONNECT"]
        if virtio_op == self.op("RW"):
            return self.c["AF_VSOCK_OP_PAYLOAD"]
        if virtio_op in (self.op("CREDIT_UPDATE"), self.op("CREDIT_REQUEST")):
            return self.c["AF_VSOCK_OP_CONTROL"]
        return self.c["AF_VSOCK_OP_UNKNOWN"]

    def check_frame(self, i, p, origlen, framelen):
        where = f"frame {i + 1}"
        self.expect(origlen == framelen, f"{where}: truncated capture ({framelen} of {origlen} bytes)")
        for f in ("src_cid", "dst_cid", "src_port", "dst_port"):
            self.expect(p["mon_" + f] == p[f],
                        f"{where}: monitor {f} {p['mon_' + f]} != virtio {f} {p[f]}")
        self.expect(p["mon_op"] == self.monitor_op_for(p["op"]),
                    f"{where}: monitor op {p['mon_op']} does not match virtio op {p['op']}")
        self.expect(p["len"] == len(p["payload"]),
                    f"{where}: virtio len {p['len']} but {len(p['payload'])} payload bytes")
        self.expect(p["op"] == self.op("RW") or p["len"] == 0,
                    f"{where}: op {p['op']} carries {p['len']} payload bytes")

    # ---- per-connection checks ----

    def conn_packets(self, pkts, rec):
        c, s = rec["client_port"], rec["server_port"]
        c2s = [p for p in pkts if p["src_port"] == c and p["dst_port"] == s]
        s2c = [p for p in pkts if p["src_port"] == s and p["dst_port"] == c]
        return c2s, s2c

    def ops(self, pkts, name):
        return [p for p in pkts if p["op"] == self.op(name)]

    def check_record(self, pkts, rec):
        who = f"{rec['scenario']} {rec['client_port']}->{rec['server_port']}"
        c2s, s2c = self.conn_packets(pkts, rec)
        want_type = self.c["VIRTIO_VSOCK_TYPE_" + rec["type"].upper()]
        for p in c2s + s2c:
            if not self.expect(p["type"] == want_type, f"{who}: packet of type {p['type']}, want {want_type}"):
                break
        self.expect(len(self.ops(c2s, "REQUEST")) == 1, f"{who}: want exactly one REQUEST from the client")
        if rec["result"] == "refused":
            self.expect(len(self.ops(s2c, "RST")) >= 1, f"{who}: refused connection without RST")
            self.expect(not self.ops(s2c, "RESPONSE"), f"{who}: refused connection got a RESPONSE")
            return
        self.expect(len(self.ops(s2c, "RESPONSE")) == 1, f"{who}: want exactly one RESPONSE")
        rw_c2s, rw_s2c = self.ops(c2s, "RW"), self.ops(s2c, "RW")
        got_c2s, got_s2c = sum(p["len"] for p in rw_c2s), sum(p["len"] for p in rw_s2c)
        self.expect(got_c2s == rec["bytes_c2s"], f"{who}: {got_c2s} payload bytes client->server, manifest says {rec['bytes_c2s']}")
        self.expect(got_s2c == rec["bytes_s2c"], f"{who}: {got_s2c} payload bytes server->client, manifest says {rec['bytes_s2c']}")
        self.expect(self.ops(c2s + s2c, "SHUTDOWN") or self.ops(c2s + s2c, "RST"),
                    f"{who}: connection never closed (no SHUTDOWN or RST)")
        check = getattr(self, "check_" + rec["scenario"].replace("-", "_"), None)
        if check:
            check(who, rec, c2s, s2c, rw_c2s, rw_s2c)

    def check_http(self, who, rec, c2s, s2c, rw_c2s, rw_s2c):
        sizes = [p["len"] for p in rw_c2s]
        self.expect(sizes == rec["messages_c2s"], f"{who}: request RW packets {sizes}, want one per write {rec['messages_c2s']}")
        body = b"".join(p["payload"] for p in rw_s2c)
        self.expect(body.startswith(b"HTTP/1.1 200 OK\r\n"), f"{who}: response does not start with HTTP/1.1 200 OK")
        request = b"".join(p["payload"] for p in rw_c2s)
        self.expect(request.startswith(b"GET ") and request.endswith(b"\r\n\r\n"), f"{who}: request is not a whole GET")

    def check_seqpacket(self, who, rec, c2s, s2c, rw_c2s, rw_s2c):
        eom = self.c["VIRTIO_VSOCK_SEQ_EOM"]
        messages, cur = [], 0
        for p in rw_c2s:
            cur += p["len"]
            if p["flags"] & eom:
                messages.append(cur)
                cur = 0
        self.expect(cur == 0, f"{who}: {cur} trailing bytes without EOM")
        self.expect(messages == rec["messages_c2s"], f"{who}: EOM-delimited messages {messages}, want {rec['messages_c2s']}")
        big = [m for m in rec["messages_c2s"] if m > 65536]
        self.expect(len(rw_c2s) > len(rec["messages_c2s"]) or not big,
                    f"{who}: messages over 64 KiB were not fragmented ({len(rw_c2s)} RW packets)")
        no_eom = [p for p in rw_c2s if not p["flags"] & eom]
        # Fragments are at most 64 KiB; less when the peer's credit is short.
        self.expect(all(p["len"] <= 65536 for p in no_eom) and (no_eom or not big),
                    f"{who}: fragments without EOM should be at most 65536 bytes: {[p['len'] for p in no_eom]}")

    def check_credit_stall(self, who, rec, c2s, s2c, rw_c2s, rw_s2c):
        buf = rec["receiver_buffer"]
        updates = self.ops(s2c, "CREDIT_UPDATE")
        self.expect(len(updates) >= 2, f"{who}: only {len(updates)} CREDIT_UPDATE from the slow reader")
        self.expect(all(p["buf_alloc"] == buf for p in s2c),
                    f"{who}: receiver advertised buf_alloc {sorted({p['buf_alloc'] for p in s2c})}, want {buf}")
        self.expect(max((p["len"] for p in rw_c2s), default=0) <= buf, f"{who}: an RW packet exceeds the {buf}-byte credit")
        self.expect(len(rw_c2s) >= rec["bytes_c2s"] // buf, f"{who}: {len(rw_c2s)} RW packets cannot respect a {buf}-byte credit")

    def check_half_close(self, who, rec, c2s, s2c, rw_c2s, rw_s2c):
        send_only = self.c["VIRTIO_VSOCK_SHUTDOWN_SEND"]
        shut = self.ops(c2s, "SHUTDOWN")
        if not self.expect(shut and shut[0]["flags"] == send_only,
                           f"{who}: first client SHUTDOWN flags {[p['flags'] for p in shut]}, want {send_only} (SEND only)"):
            return
        self.expect(any(p["seq"] > shut[0]["seq"] for p in rw_s2c), f"{who}: server sent no data after the client's SHUT_WR")

    def check_ttrpc(self, who, rec, c2s, s2c, rw_c2s, rw_s2c):
        for direction, rw, want_type in (("request", rw_c2s, 1), ("response", rw_s2c, 2)):
            data = b"".join(p["payload"] for p in rw)
            if not self.expect(len(data) >= 10, f"{who}: no ttrpc {direction} frame"):
                continue
            length, stream_id, mtype, _ = struct.unpack(">IIBB", data[:10])
            self.expect(length == len(data) - 10, f"{who}: ttrpc {direction} length {length}, body {len(data) - 10}")
            self.expect(stream_id == rec["stream_id"] and mtype == want_type,
                        f"{who}: ttrpc {direction} stream {stream_id} type {mtype}")
        request = b"".join(p["payload"] for p in rw_c2s)
        self.expect(rec["service"].encode() in request and rec["method"].encode() in request,
                    f"{who}: ttrpc request lacks {rec['service']}/{rec['method']}")

    def check_unexplained(self, pkts, records):
        known = set()
        for r in records:
            known.add((r["client_port"], r["server_port"]))
            known.add((r["server_port"], r["client_port"]))
        stray = [p for p in pkts if (p["src_port"], p["dst_port"]) not in known]
        self.expect(not stray, f"{len(stray)} frames belong to no manifest connection, e.g. ports "
                    f"{sorted({(p['src_port'], p['dst_port']) for p in stray})[:5]}")


def tshark_fields(path):
    fields = ["vsock.src_port", "vsock.dst_port", "vsock.virtio.op", "vsock.virtio.len", "vsock.virtio.flags"]
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=,"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [tuple(int(v, 0) for v in line.split(",")) for line in out.splitlines()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--header", default=os.path.join(REPO, "include", "vsockmon_wire.h"))
    ap.add_argument("--tshark", action="store_true", help="cross-check with tshark's built-in vsock dissector")
    ap.add_argument("--expect", default="", help="comma-separated scenarios the manifest must contain")
    ap.add_argument("capture")
    ap.add_argument("manifest")
    args = ap.parse_args()

    consts = load_wire_header(args.header)
    wire, chk = Wire(consts), Checker(consts)
    records = [json.loads(line) for line in open(args.manifest, encoding="utf-8") if line.strip()]
    pkts = []
    for i, (linktype, frame, origlen) in enumerate(read_pcap(args.capture)):
        if not chk.expect(linktype == consts["VSOCKMON_LINKTYPE"], f"linktype {linktype}, want {consts['VSOCKMON_LINKTYPE']}"):
            break
        try:
            p = wire.decode(frame)
        except ValueError as e:
            chk.expect(False, f"frame {i + 1}: {e}")
            continue
        p["seq"] = i
        chk.check_frame(i, p, origlen, len(frame))
        pkts.append(p)

    chk.expect(pkts, "capture holds no vsock frames (was vsockmon0 up and tcpdump running?)")
    chk.expect(records, "manifest is empty (did vsock-traffic run with --manifest?)")
    for scenario in filter(None, args.expect.split(",")):
        chk.expect(any(r["scenario"] == scenario for r in records), f"manifest lacks scenario {scenario}")
    for rec in records:
        chk.check_record(pkts, rec)
    chk.check_unexplained(pkts, records)

    if args.tshark and pkts:
        ours = [(p["src_port"], p["dst_port"], p["op"], p["len"], p["flags"]) for p in pkts]
        theirs = tshark_fields(args.capture)
        chk.expect(ours == theirs, f"tshark decodes {len(theirs)} frames differently from the header-driven decoder"
                   + next((f" (first difference at frame {i + 1}: {a} vs {b})"
                           for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), ""))

    scenarios = sorted({r["scenario"] for r in records})
    if chk.errors:
        for e in chk.errors:
            print("check_capture: MISMATCH:", e, file=sys.stderr)
        print(f"check_capture: {len(chk.errors)} mismatches in {args.capture}", file=sys.stderr)
        return 1
    print(f"check_capture: {len(pkts)} frames agree with {len(records)} manifest records ({', '.join(scenarios)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
