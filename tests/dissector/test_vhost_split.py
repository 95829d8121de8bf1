"""Host-side tap frames of packets vhost split across the guest's receive
buffers (virtio-vsock-split.c). Until commit 5f344d809e01 the kernel's tap
copied more than each fragment: the packet from the fragment on (6.1.y,
6.3-6.6: samples/real/vhost-split.pcap, recorded on 6.1) or the whole packet
(6.7+). The header's len is the fragment's: the dissector must hand up the
fragment's own bytes, count len, and call it a kernel note, not malformed."""
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vsmtest import REQUEST, RESPONSE, RW, RST, fields, sample, tshark, vsock_frame, write_capture  # noqa: E402

HOST, GUEST = (2, 40000), (3, 7000)
PASSES = ((), ("-2",))
LEN_OFFSET = 32 + 24	# monitor header + virtio_vsock_hdr.len


def pattern(start, n):
    """The payload byte at stream offset i is i % 251 (tests/traffic/vhost-peer.c)."""
    return bytes((start + i) % 251 for i in range(n))


def with_len(frame, length):
    frame = bytearray(frame)
    struct.pack_into("<I", frame, LEN_OFFSET, length)
    return bytes(frame)


def split_frames(stream_offset, packet_len, rx_payload, style):
    """The tap frames of one host->guest packet cut into rx_payload-byte
    fragments: style 'rest' carries the packet from each fragment on,
    'whole' the whole packet every time."""
    packet = pattern(stream_offset, packet_len)
    frames, done = [], 0
    while done < packet_len:
        n = min(rx_payload, packet_len - done)
        carried = packet[done:] if style == "rest" else packet
        frames.append(with_len(vsock_frame(HOST, GUEST, RW, carried), n))
        done += n
    return frames


def capture(style, packets=(10000, 10000, 3000), rx_payload=4052):
    frames = [vsock_frame(HOST, GUEST, REQUEST), vsock_frame(GUEST, HOST, RESPONSE, buf_alloc=262144)]
    offset = 0
    for size in packets:
        frames += split_frames(offset, size, rx_payload, style)
        offset += size
    frames.append(vsock_frame(GUEST, HOST, RST))
    return write_capture(frames), offset


def rw_rows(cap, extra=()):
    return fields(cap, "frame.number", "virtio_vsock.len", "virtio_vsock.seq", "data.data",
                  "virtio_vsock.split.offset", "virtio_vsock.split.packet_len", "_ws.expert.message",
                  display_filter="virtio_vsock.op == 5", extra=extra)


class CraftedSplitFrames(unittest.TestCase):
    def check_data_is_the_fragment(self, style):
        cap, total = capture(style)
        for extra in PASSES:
            with self.subTest(style=style, passes=extra):
                rows = rw_rows(cap, extra)
                self.assertEqual(len(rows), 3 + 3 + 1)
                for row in rows:
                    seq, length = int(row["virtio_vsock.seq"]), int(row["virtio_vsock.len"])
                    self.assertEqual(bytes.fromhex(row["data.data"]), pattern(seq, length),
                                     "frame %s: data is not the fragment's bytes" % row["frame.number"])
                self.assertEqual(sum(int(r["virtio_vsock.len"]) for r in rows), total)
                # offsets inside each split packet (the last, 3000 bytes, fits one buffer)
                self.assertEqual([r["virtio_vsock.split.offset"] for r in rows],
                                 ["0", "4052", "8104", "0", "4052", "8104", ""])
                self.assertEqual({r["virtio_vsock.split.packet_len"] for r in rows[:6]}, {"10000"})

    def test_rest_of_packet_frames(self):
        self.check_data_is_the_fragment("rest")

    def test_whole_packet_frames(self):
        """6.7+: every fragment's frame carries the whole packet: the data
        is at the fragment's offset, not at the frame's payload start."""
        self.check_data_is_the_fragment("whole")

    def test_a_note_not_malformed(self):
        cap, _ = capture("whole")
        out = tshark("-r", cap, "-q", "-z", "expert,note")
        self.assertIn("vhost split a 10000-byte packet: this fragment is its bytes 4052-8103", out)
        self.assertNotIn("Malformed", out)
        self.assertNotIn("Errors", out)

    def test_follow_gets_the_stream(self):
        """Follow shows the bytes the guest received, each once."""
        cap, total = capture("whole")
        out = tshark("-r", cap, "-q", "-z", "follow,vsockmon,raw,0")
        hexdata = "".join(line.strip() for line in out.splitlines()
                          if line and all(c in "0123456789abcdef\t " for c in line.strip()))
        self.assertEqual(bytes.fromhex(hexdata), pattern(0, total))

    def test_earlier_fragments_shown_apart(self):
        cap, _ = capture("whole")
        rows = fields(cap, "virtio_vsock.split.preceding", "virtio_vsock.trailer", display_filter="frame.number == 4")
        self.assertEqual(len(bytes.fromhex(rows[0]["virtio_vsock.split.preceding"])), 4052)
        self.assertEqual(len(bytes.fromhex(rows[0]["virtio_vsock.trailer"])), 10000 - 2 * 4052)

    def test_other_bytes_beyond_len_stay_malformed(self):
        """Only RW fragments: a RESPONSE or an empty RW carrying bytes is no vhost split."""
        frames = [vsock_frame(HOST, GUEST, REQUEST),
                  with_len(vsock_frame(GUEST, HOST, RESPONSE, b"junk"), 0),
                  with_len(vsock_frame(HOST, GUEST, RW, b"more junk"), 0)]
        rows = fields(write_capture(frames), "_ws.expert.message", "virtio_vsock.split.offset")
        for row in rows[1:]:
            self.assertIn("the frame carries", row["_ws.expert.message"])
            self.assertEqual(row["virtio_vsock.split.offset"], "")

    def test_fragments_of_the_other_direction_do_not_mix(self):
        """Each direction has its own packet being split."""
        frames = [vsock_frame(HOST, GUEST, REQUEST), vsock_frame(GUEST, HOST, RESPONSE)]
        host_to_guest = split_frames(0, 6000, 4052, "whole")
        guest_to_host = [with_len(vsock_frame(GUEST, HOST, RW, pattern(0, 6000)), 4052),
                         with_len(vsock_frame(GUEST, HOST, RW, pattern(0, 6000)), 1948)]
        frames += [host_to_guest[0], guest_to_host[0], host_to_guest[1], guest_to_host[1]]
        rows = rw_rows(write_capture(frames), ("-2",))
        self.assertEqual([r["virtio_vsock.split.offset"] for r in rows], ["0", "0", "4052", "4052"])
        for row in rows:
            seq, length = int(row["virtio_vsock.seq"]), int(row["virtio_vsock.len"])
            self.assertEqual(bytes.fromhex(row["data.data"]), pattern(seq, length))


class RealVhostCapture(unittest.TestCase):
    """samples/real/vhost-split.pcap: Debian 6.1's vhost, a user-space guest
    (tests/traffic/vhost-peer) with 4 KiB receive buffers."""

    def test_every_fragment_is_the_guests_bytes(self):
        cap = sample("real", "vhost-split.pcap")
        for extra in PASSES:
            rows = fields(cap, "frame.number", "virtio_vsock.seq", "virtio_vsock.len", "data.data",
                          "virtio_vsock.src_cid", display_filter="virtio_vsock.op == 5 && virtio_vsock.len > 0",
                          extra=extra)
            self.assertGreater(len(rows), 15)
            for row in rows:
                seq, length = int(row["virtio_vsock.seq"]), int(row["virtio_vsock.len"])
                self.assertEqual(bytes.fromhex(row["data.data"]), pattern(seq, length),
                                 "frame %s" % row["frame.number"])

    def test_fragments_are_noted_not_malformed(self):
        cap = sample("real", "vhost-split.pcap")
        out = tshark("-r", cap, "-q", "-z", "expert")
        self.assertIn("vhost split a 65536-byte packet", out)
        self.assertNotIn("Malformed", out)
        self.assertNotIn("credit", out.lower().split("notes")[0])	# no credit errors/warnings

    def test_fixed_kernel_frames_are_the_fragments(self):
        """samples/real/vhost-6.12.pcap: Debian's 6.12.117 taps each fragment
        exactly: nothing to take apart, same stream."""
        cap = sample("real", "vhost-6.12.pcap")
        rows = fields(cap, "frame.number", "virtio_vsock.seq", "virtio_vsock.len", "data.data",
                      "virtio_vsock.split.offset", "virtio_vsock.trailer",
                      display_filter="virtio_vsock.op == 5 && virtio_vsock.src_cid == 2", extra=("-2",))
        self.assertEqual(sum(int(r["virtio_vsock.len"]) for r in rows), 70000)
        self.assertEqual(max(int(r["virtio_vsock.len"]) for r in rows), 4096 - 44)
        for row in rows:
            seq, length = int(row["virtio_vsock.seq"]), int(row["virtio_vsock.len"])
            self.assertEqual(bytes.fromhex(row["data.data"]), pattern(seq, length))
            self.assertEqual((row["virtio_vsock.split.offset"], row["virtio_vsock.trailer"]), ("", ""))
        self.assertNotIn("vhost split", tshark("-r", cap, "-q", "-z", "expert"))


if __name__ == "__main__":
    unittest.main()
