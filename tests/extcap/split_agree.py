#!/usr/bin/env python3
"""Differential check: vsockdump --vhost-fragments=trim (extcap/vhost-split.c)
against the plugin (dissector/virtio-vsock-split.c) on random captures of
host->guest traffic vhost split across the guest's receive buffers.

Both call the one detection (dissector/vsock-split-core.c) but keep its
state their own way: the plugin per direction of each connection
(vsockmon.stream), vsockdump per direction in a bounded table. Frame by
frame, what vsockdump writes (vhost_split_decisions, a driver of
vhost_split_frame()) must be what the plugin's first pass decides (plain
tshark -r: vsockdump is one-pass too): a fragment whose frame carries more
than its len is trimmed to its own bytes, at its offset in the frame
(virtio_vsock.split.offset, .packet_len), anything else is left alone; and
the bytes the two find missing (lost frames) are the same, at the same frame,
as is the first frame that may be wrong. What is compared is what vsockdump
writes, so where it writes none of a fragment (beyond the snapshot length)
the offset shows only as that.

The random captures hold both kernel styles ("rest", "whole"), connections
reused after an RST from either side (sometimes in the middle of a split
packet, sometimes with late host frames after it), lost frames, snapshot
length cuts, several pairs interleaved, guest frames, SEQPACKET with EOM,
frames that are no fragment. They go into one pcap one after the other,
each on its own ports (one tshark run; vsockdump's table only gives up
entries of captures done with); a disagreement is reported with the seed,
the capture's index and its first differing frame (--save DIR writes each
differing capture on its own).

Usage: split_agree.py --decisions BIN [--seed N] [--captures N] [--save DIR]
(VSOCKMON_PLUGIN, VSOCKMON_SOURCE_DIR: as for the dissector tests).
Exit 0 when they agree on every frame, 1 when not.
"""
import argparse
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vsmtest import (CREDIT_UPDATE, MONITOR_OP, REQUEST, RESPONSE, RST, RW, SEQPACKET, SHUTDOWN,  # noqa: E402
                     STREAM, fields)

HDRS = 32 + 44
HOST_CID = 2
CREDIT_REQUEST = 7
EOM = 1
NO_INFO = 1	# AF_VSOCK_TRANSPORT_NO_INFO: a monitor header and nothing else
RX_SIZES = (48, 64, 100, 200, 256, 300, 500, 1000, 4052)


def frame(src, dst, op, payload=b"", length=None, vtype=STREAM, flags=0, buf_alloc=262144, fwd_cnt=0,
          hdr_len=44, transport=2):
    """A monitor frame; length: the header's len if not the payload's."""
    (src_cid, src_port), (dst_cid, dst_port) = src, dst
    mon = struct.pack("<QQIIHHHH", src_cid, dst_cid, src_port, dst_port, MONITOR_OP.get(op, 0), transport,
                      hdr_len if transport == 2 else 0, 0)
    if transport != 2:
        return mon
    virtio = struct.pack("<QQIIIHHIII", src_cid, dst_cid, src_port, dst_port,
                         len(payload) if length is None else length, vtype, op, flags, buf_alloc, fwd_cnt)
    return mon + virtio + bytes(max(hdr_len - 44, 0)) + payload


def pattern(start, n):
    return bytes((start + i) % 251 for i in range(n))


class Pair:
    """One host/guest address pair and the connections on it, one after another."""

    def __init__(self, gen, host, guest):
        self.gen, self.rng = gen, gen.rng
        self.host, self.guest = host, guest
        self.frames = []
        self.sent = {host: 0, guest: 0}	# stream offset of each side
        self.rx = self.rng.choice(RX_SIZES)	# the guest's receive buffer payload

    def ctl(self, src, op, **kw):
        dst = self.guest if src == self.host else self.host
        self.frames.append(self.gen.odd(frame(src, dst, op, vtype=self.vtype, **kw), src, dst, op))

    def other_side_frame(self):
        """A guest frame, or (rarely) a host one that ends the packet in progress."""
        r = self.rng.random()
        if r < 0.5:
            self.ctl(self.guest, CREDIT_UPDATE, fwd_cnt=self.sent[self.host])
        elif r < 0.85:
            n = self.rng.randint(1, 300)
            more = self.rng.randint(1, 200) if self.rng.random() < 0.2 else 0	# guest frames carrying more
            self.frames.append(frame(self.guest, self.host, RW, pattern(self.sent[self.guest], n + more),
                                     length=n, vtype=self.vtype))
            self.sent[self.guest] += n
        else:
            self.ctl(self.host, CREDIT_UPDATE)

    def split_packet(self, style, size, interrupt=None):
        """The tap frames of one host->guest packet; interrupt: (index, frames) put before that fragment."""
        rng = self.rng
        if self.last and rng.random() < 0.2 and style != "fixed":
            content = self.last	# the same bytes again (same size: the fingerprint must tell)
        else:
            content = pattern(self.sent[self.host], size)
        size = len(content)
        self.last = content
        eom = self.vtype == SEQPACKET and rng.random() < 0.7
        fwd_cnt = self.sent[self.guest]
        done, index = 0, 0
        while done < size:
            n = min(self.rx, size - done)
            carried = {"rest": content[done:], "whole": content, "fixed": content[done:done + n]}[style]
            if interrupt and interrupt[0] == index:
                self.frames += interrupt[1]
            elif index and rng.random() < 0.08:
                self.other_side_frame()
            flags = EOM if eom and done + n == size else 0
            self.frames.append(self.gen.odd(frame(self.host, self.guest, RW, carried, length=n, vtype=self.vtype,
                                                  flags=flags, fwd_cnt=fwd_cnt), self.host, self.guest, RW))
            done += n
            index += 1
        self.sent[self.host] += size
        return index

    def packet_size(self):
        rng = self.rng
        r = rng.random()
        if r < 0.1:
            return rng.randint(1, self.rx)	# fits one buffer
        if r < 0.25:
            return self.rx * rng.randint(2, 4)	# a multiple: no short last fragment
        return rng.randint(self.rx + 1, self.rx * 5)

    def event(self, style):
        rng = self.rng
        r = rng.random()
        if r < 0.5:
            self.split_packet(style, self.packet_size())
        elif r < 0.6:
            self.split_packet("fixed", self.packet_size())	# a fixed kernel's frames
        elif r < 0.75:
            self.other_side_frame()
        elif r < 0.82:
            n = rng.randint(1, 400)	# a host RW carrying more that is no split
            self.frames.append(frame(self.host, self.guest, RW, pattern(0, n + rng.randint(1, 300)), length=n,
                                     vtype=self.vtype))
        elif r < 0.9:
            self.ctl(self.host, rng.choice((CREDIT_UPDATE, CREDIT_REQUEST)))
        elif r < 0.95:
            self.ctl(rng.choice((self.host, self.guest)), SHUTDOWN, flags=rng.randint(1, 3))
        else:
            self.ctl(rng.choice((self.host, self.guest)), RESPONSE)	# a late or stray RESPONSE

    def close(self, style):
        """End the connection: an RST (either side, maybe mid-packet, maybe late host frames after it), or not."""
        rng = self.rng
        r = rng.random()
        if r < 0.2:
            return	# no RST: a new REQUEST stays in this connection
        rst_side = self.host if rng.random() < 0.4 else self.guest
        dst = self.guest if rst_side == self.host else self.host
        rst = [frame(rst_side, dst, RST, vtype=self.vtype)]
        if r < 0.4:
            size = self.rx * 2 + rng.randint(1, self.rx * 3)
            self.split_packet(style, size, interrupt=(rng.randint(1, size // self.rx), rst))
        else:
            self.frames += rst
        if rng.random() < 0.3:
            self.ctl(self.guest if rst_side == self.host else self.host, RST)
        if rng.random() < 0.15:
            self.split_packet(style, self.packet_size())	# late host frames of the dead connection

    def generate(self):
        rng = self.rng
        for conn in range(rng.randint(1, 4)):
            style = self.gen.style if not self.gen.mixed else rng.choice(("rest", "whole"))
            self.vtype = SEQPACKET if rng.random() < 0.25 else STREAM
            self.last = None
            if rng.random() < 0.15:
                self.rx = rng.choice(RX_SIZES)	# another guest program, other buffers
            if conn or rng.random() < 0.85:	# else: the capture began in the middle of it
                opener = self.host if rng.random() < 0.5 else self.guest
                self.ctl(opener, REQUEST)
                self.ctl(self.guest if opener == self.host else self.host, RESPONSE)
            for _ in range(rng.randint(1, 8)):
                self.event(style)
            self.close(style)
        return self.frames


class Generator:
    """One random capture: its frames as (bytes, caplen)."""

    def __init__(self, seed, index):
        self.rng = rng = random.Random(seed * 1000003 + index)
        self.index = index
        self.style = rng.choice(("rest", "whole"))
        self.mixed = rng.random() < 0.1	# one style per connection
        self.snaplen = rng.choice((None,) * 6 + (60, 76, 80, 120, 200, 300, 1000))
        self.loss = 0 if rng.random() < 0.4 else rng.choice((0.01, 0.03, 0.08, 0.15))
        self.odd_rate = 0 if rng.random() < 0.7 else 0.03

    def odd(self, data, src, dst, op):
        """Now and then a frame no kernel tap writes: a longer transport header, or none."""
        if not self.odd_rate or self.rng.random() >= self.odd_rate:
            return data
        if self.rng.random() < 0.7:
            data = bytearray(data)
            struct.pack_into("<H", data, 28, 52)
            return bytes(data[:HDRS]) + bytes(8) + bytes(data[HDRS:])
        return frame(src, dst, op, transport=NO_INFO)

    def frames(self):
        rng = self.rng
        base = 100000 + self.index * 16
        pairs = []
        for k in range(rng.randint(1, 3)):
            guest = (3 + rng.randint(0, 2), 5000 + k)
            pairs.append(Pair(self, (HOST_CID, base + k), guest).generate())
        out = []
        while any(pairs):
            pair = rng.choice([p for p in pairs if p])
            for _ in range(rng.randint(1, 4)):
                if pair:
                    out.append(pair.pop(0))
        out = [f for f in out if rng.random() >= self.loss]
        return [(f, len(f) if self.snaplen is None else min(len(f), self.snaplen)) for f in out]


def write_pcap(path, records):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 271))
        for n, (data, caplen) in enumerate(records):
            f.write(struct.pack("<IIII", 1700000000 + n // 1000000, n % 1000000, caplen, len(data)))
            f.write(data[:caplen])


def u32(data, off):
    return struct.unpack_from("<I", data, off)[0]


def plugin_view(row, data, caplen):
    """What the plugin decided, and what vsockdump must write for it: (head_len, body_off, body_len, origlen)."""
    origlen = len(data)
    untouched = (caplen, 0, 0, origlen)
    if not row["virtio_vsock.split.offset"]:
        return "no fragment", untouched
    offset, packet_len = int(row["virtio_vsock.split.offset"]), int(row["virtio_vsock.split.packet_len"])
    length, carried, captured = u32(data, 32 + 24), origlen - HDRS, caplen - HDRS
    what = "fragment at %d of %d" % (offset, packet_len)
    if carried <= length:
        return what + " (carries just itself)", untouched
    # a "whole" frame (and a first fragment) carries the packet from its start, a "rest" one from the fragment on
    at = offset if carried == packet_len else 0
    keep = min(length, max(captured - at, 0))
    if at == 0 or keep == 0:
        return what, (HDRS + keep, 0, 0, HDRS + length)
    return what, (HDRS, HDRS + at, keep, HDRS + length)


def plugin_lost(row):
    message = row["_ws.expert.message"]
    m = re.search(r"(\d+) bytes of vhost-split packets were never seen", message)
    since = re.search(r"from frame (\d+) on may show", message)
    return (int(m.group(1)) if m else 0, int(since.group(1)) if since else 0)


def vsockdump_lost(comment):
    lost = sum(int(n) for n in re.findall(r"lacks (\d+) byte", comment))
    lost += sum(int(b) - int(a) + 1 for a, b in re.findall(r"bytes (\d+)-(\d+) of this", comment))
    lost += sum(int(n) for n in re.findall(r"vsockdump: (\d+) bytes of this", comment))
    since = re.search(r"from frame (\d+) on may hold", comment)
    return (lost, int(since.group(1)) if since else 0)


def vsockdump_written(decision):
    head, body_off, body_len, origlen = decision
    if body_len:
        return "trimmed at %d" % (body_off - HDRS)
    if origlen == head and head <= HDRS:
        return "headers only"
    return "head %d of %d" % (head, origlen)


def compare(args, path, records, owner, first_frame):
    """{capture: its first differing frame, described}, differing frames, vsockdump's counts."""
    out = subprocess.run([args.decisions, path], stdout=subprocess.PIPE, text=True, check=True).stdout
    lines = out.splitlines()
    stats = [int(v) for v in lines.pop().split()[1:]]	# trimmed, gaps, evicted
    dump = {}
    for line in lines:
        head, _, comment = line.partition("\t")
        n, *values = (int(v) for v in head.split())
        dump[n] = (tuple(values), comment)
    rows = {int(r["frame.number"]): r for r in fields(path, "frame.number", "virtio_vsock.split.offset",
                                                      "virtio_vsock.split.packet_len", "_ws.expert.message")}
    if len(rows) != len(records) or len(dump) != len(records):
        raise AssertionError("frames: %d written, tshark read %d, vsockdump %d" % (len(records), len(rows),
                                                                                len(dump)))
    differing, differing_frames = {}, 0
    for n in range(1, len(records) + 1):
        data, caplen = records[n - 1]
        what, want = plugin_view(rows[n], data, caplen)
        got, comment = dump[n]
        p_lost, d_lost = plugin_lost(rows[n]), vsockdump_lost(comment)
        if got == want and p_lost == d_lost:
            continue
        differing_frames += 1
        i = owner[n - 1]
        if i not in differing:
            differing[i] = ("frame %d (frame %d of capture %d): plugin: %s, so written %s, lost %s; "
                            "vsockdump: written %s (%s), lost %s%s"
                            % (n, n - first_frame[i] + 1, i, what, want, p_lost, got, vsockdump_written(got),
                               d_lost, " -- " + comment if comment else ""))
    return differing, differing_frames, stats


def run(args):
    started = time.monotonic()
    captures = [Generator(args.seed, i).frames() for i in range(args.captures)]
    records, owner, first_frame = [], [], []
    for i, frames in enumerate(captures):
        first_frame.append(len(records) + 1)
        records += frames
        owner += [i] * len(frames)
    work = tempfile.mkdtemp(prefix="split-agree-")
    os.chmod(work, 0o755)	# tshark runs as nobody
    path = os.path.join(work, "all.pcap")
    try:
        write_pcap(path, records)
        os.chmod(path, 0o644)
        differing, differing_frames, (trimmed, _, evicted) = compare(args, path, records, owner, first_frame)
    finally:
        shutil.rmtree(work)
    print("seed %d: %d captures, %d frames (%d trimmed by vsockdump, %d evicted); %d captures differ "
          "(%d frames); %.1f s" % (args.seed, args.captures, len(records), trimmed, evicted, len(differing),
                                   differing_frames, time.monotonic() - started))
    for i, text in sorted(differing.items())[:args.show]:
        print("  differ: seed %d capture %d: %s" % (args.seed, i, text))
    if differing and args.save:
        os.makedirs(args.save, exist_ok=True)
        for i in differing:
            write_pcap(os.path.join(args.save, "seed%d-capture%d.pcap" % (args.seed, i)), captures[i])
        print("  the captures that differ, each on its own: %s/seed%d-capture*.pcap" % (args.save, args.seed))
    elif differing:
        print("  to save them: %s --seed %d --captures %d --save DIR" % (sys.argv[0], args.seed, args.captures))
    if args.list:
        print("  differing captures: %s" % " ".join(str(i) for i in sorted(differing)))
    return 1 if differing else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", required=True, help="the vhost_split_decisions binary")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--captures", type=int, default=300)
    parser.add_argument("--show", type=int, default=5, help="differing captures to describe")
    parser.add_argument("--save", help="write each differing capture there, on its own")
    parser.add_argument("--list", action="store_true", help="list the indexes of the differing captures")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
