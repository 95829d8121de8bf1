#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the fuzzers' seed corpora from the sample captures.

  make-corpus.py OUTDIR PCAP...

OUTDIR/dissector/  one file per frame of every capture (the captured bytes),
OUTDIR/seq/        runs of consecutive frames in fuzz_dissector_seq's format
                   (repeated: u32le caplen, u32le wire length, caplen bytes),
                   so connections, reassembly and credit flow start from
                   real exchanges,
OUTDIR/filter/     the valid filters listed in fuzz/filter-seeds.txt,
OUTDIR/whole/      each capture as ONE sequence input named after it
                   (FOLDER-CAPTURE.seq: its first 64 frames, none cut), for the
                   order oracle's test (tests/fuzz/order-oracle.sh): a whole
                   exchange, where the windows of seq/ start mid-connection.

Reads pcap (both byte orders, us/ns) and pcapng (EPB/SPB) files; only
LINKTYPE_VSOCK (271) frames are kept.
"""
import hashlib
import os
import struct
import sys

LINKTYPE_VSOCK = 271
SEQ_WINDOW = 16      # frames per sequence seed
SEQ_STEP = 8         # windows overlap by half
SEQ_MAX_BYTES = 32768  # keep seeds small: large payloads are cut (and marked as cut)
SEQ_MAX_FRAMES = 64    # fuzz_dissector_seq reads no more (MAX_FRAMES)


PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d")


def pcap_frames(data):
    endian = "<" if data[:4] in PCAP_MAGICS[:2] else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, wire_len = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if linktype == LINKTYPE_VSOCK:
            yield data[off:off + caplen], wire_len
        off += caplen


def pcapng_frames(data):
    endian = "<"
    linktypes = []
    off = 0
    while off + 12 <= len(data):
        if data[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            endian = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            linktypes = []
        btype, blen = struct.unpack(endian + "II", data[off:off + 8])
        if blen < 12:
            break
        body = data[off + 8:off + blen - 4]
        if btype == 1:  # interface description
            linktypes.append(struct.unpack(endian + "H", body[:2])[0])
        elif btype == 6:  # enhanced packet
            iface, _, _, caplen, wire_len = struct.unpack(endian + "IIIII", body[:20])
            if iface < len(linktypes) and linktypes[iface] == LINKTYPE_VSOCK:
                yield body[20:20 + caplen], wire_len
        elif btype == 3 and linktypes and linktypes[0] == LINKTYPE_VSOCK:  # simple packet
            wire_len = struct.unpack(endian + "I", body[:4])[0]
            yield body[4:4 + wire_len], wire_len
        off += blen


def read_frames(path):
    with open(path, "rb") as f:
        data = f.read()
    # (both readers are generators: pick one by the magic number first)
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return list(pcapng_frames(data))
    if data[:4] in PCAP_MAGICS:
        return list(pcap_frames(data))
    sys.exit(f"make-corpus: {path}: neither pcap nor pcapng")


def write_unique(folder, content):
    name = hashlib.sha1(content).hexdigest()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(content)


def seq_input(frames, max_bytes=SEQ_MAX_BYTES):
    """Frames in fuzz_dissector_seq's format; max_bytes=None: cut nothing."""
    out = bytearray()
    for raw, wire_len in frames:
        budget = len(raw) if max_bytes is None else max(0, max_bytes - len(out) - 8)
        cut = raw[:budget]
        out += struct.pack("<II", len(cut), max(wire_len, len(raw)))
        out += cut
    return bytes(out)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: make-corpus.py OUTDIR PCAP...")
    outdir = sys.argv[1]
    folders = {k: os.path.join(outdir, k) for k in ("dissector", "seq", "filter", "whole")}
    for folder in folders.values():
        os.makedirs(folder, exist_ok=True)

    n_frames = n_seq = 0
    for path in sys.argv[2:]:
        frames = read_frames(path)
        for raw, _ in frames:
            write_unique(folders["dissector"], raw)
            n_frames += 1
        if len(frames) > SEQ_MAX_FRAMES:
            print(f"make-corpus: {path}: whole/ keeps its first {SEQ_MAX_FRAMES} of "
                  f"{len(frames)} frames", file=sys.stderr)
        # named FOLDER-CAPTURE.seq: samples/real and samples/crafted share names
        folder_name = os.path.basename(os.path.dirname(os.path.abspath(path)))
        whole = os.path.join(folders["whole"], f"{folder_name}-{os.path.basename(path)}.seq")
        with open(whole, "wb") as f:
            f.write(seq_input(frames[:SEQ_MAX_FRAMES], max_bytes=None))
        starts = range(0, max(1, len(frames) - SEQ_WINDOW + SEQ_STEP), SEQ_STEP)
        for start in starts:
            window = frames[start:start + SEQ_WINDOW]
            if window:
                write_unique(folders["seq"], seq_input(window))
                n_seq += 1

    seeds = os.path.join(os.path.dirname(os.path.abspath(__file__)), "filter-seeds.txt")
    n_filters = 0
    with open(seeds, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                write_unique(folders["filter"], line.encode())
                n_filters += 1
    print(f"make-corpus: {n_frames} frames, {n_seq} sequences, {n_filters} filters from "
          f"{len(sys.argv) - 2} captures into {outdir}")


if __name__ == "__main__":
    main()
