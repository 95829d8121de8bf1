"""Host-side tap frames of packets vhost split across the guest's receive
buffers (virtio-vsock-split.c). Until commit 5f344d809e01 the kernel's tap
copied more than each fragment: the packet from the fragment on (6.1.y,
6.3-6.6: samples/real/vhost-split.pcap, recorded on 6.1) or the whole packet
(6.7+). The header's len is the fragment's: the dissector must hand up the
fragment's own bytes, count len, and call it a kernel note, not malformed."""
import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vsmtest import (CREDIT_UPDATE, REQUEST, RESPONSE, RW, RST, SEQPACKET, STREAM, fields, readable_copy,  # noqa: E402
                     sample, tshark, vsock_frame, write_capture)
from vsmtest import vhost_pattern as pattern  # noqa: E402

HOST, GUEST = (2, 40000), (3, 7000)
PASSES = ((), ("-2",))
LEN_OFFSET = 32 + 24	# monitor header + virtio_vsock_hdr.len


def with_len(frame, length):
    frame = bytearray(frame)
    struct.pack_into("<I", frame, LEN_OFFSET, length)
    return bytes(frame)


EOM = 1


def fragments(packet, rx_payload, style, vtype=STREAM, eom=False):
    """(tap frame, offset in the packet) of each fragment of one host->guest
    packet cut into rx_payload-byte fragments: style 'rest' carries the
    packet from each fragment on, 'whole' the whole packet every time. vhost
    clears EOM on all but the last fragment."""
    out, done = [], 0
    while done < len(packet):
        n = min(rx_payload, len(packet) - done)
        carried = packet[done:] if style == "rest" else packet
        flags = EOM if eom and done + n == len(packet) else 0
        out.append((with_len(vsock_frame(HOST, GUEST, RW, carried, vtype=vtype, flags=flags), n), done))
        done += n
    return out


def split_frames(stream_offset, packet_len, rx_payload, style):
    return [frame for frame, _ in fragments(pattern(stream_offset, packet_len), rx_payload, style)]


def capture_frames(style, packets=(10000, 10000, 3000), rx_payload=4052):
    frames = [vsock_frame(HOST, GUEST, REQUEST), vsock_frame(GUEST, HOST, RESPONSE, buf_alloc=262144)]
    offset = 0
    for size in packets:
        frames += split_frames(offset, size, rx_payload, style)
        offset += size
    frames.append(vsock_frame(GUEST, HOST, RST))
    return frames, offset


def capture(style, packets=(10000, 10000, 3000), rx_payload=4052):
    frames, total = capture_frames(style, packets, rx_payload)
    return write_capture(frames), total


def write_cut_capture(frames, snaplen):
    """Like vsmtest.write_capture, with each frame cut to snaplen bytes."""
    fd, path = tempfile.mkstemp(suffix=".pcap")
    with os.fdopen(fd, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, snaplen, 271))
        for n, data in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000, n, min(len(data), snaplen), len(data)))
            f.write(data[:snaplen])
    readable = readable_copy(path)
    os.unlink(path)
    return readable


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

    def test_another_transport_header_length_is_no_fragment(self):
        """The kernel's tap writes the 44-byte virtio header (hdr.len =
        sizeof(struct virtio_vsock_hdr)): a host frame with a longer
        transport header that carries more than len is no vhost fragment
        (its extra bytes are a trailer), and it neither starts a packet nor
        ends the one being split (as vsockdump sees it)."""
        frames = [vsock_frame(HOST, GUEST, REQUEST), vsock_frame(GUEST, HOST, RESPONSE)]
        split = split_frames(0, 10000, 4052, "whole")
        odd = bytearray(vsock_frame(HOST, GUEST, RW, bytes(8) + pattern(4052, 6000)))
        struct.pack_into("<H", odd, 28, 52)	# monitor header: hdr_len
        frames += [split[0], with_len(bytes(odd), 4052), split[1], split[2]]
        cap = write_capture(frames)
        for extra in PASSES:
            with self.subTest(passes=extra):
                rows = rw_rows(cap, extra)
                self.assertEqual([r["virtio_vsock.split.offset"] for r in rows], ["0", "", "4052", "8104"])
                self.assertIn("the frame carries 6000: the 1948 after them are a trailer", rows[1]["_ws.expert.message"])
                self.assertNotIn("vhost", rows[1]["_ws.expert.message"])
                self.assertEqual([bytes.fromhex(r["data.data"]) for r in rows[2:]],
                                 [pattern(4052, 4052), pattern(8104, 1896)])
                for row in rows:
                    self.assertNotIn("never seen", row["_ws.expert.message"])

    def test_payload_beyond_the_snapshot_counts(self):
        """The same for a payload that starts beyond the captured bytes (a
        transport header longer than the virtio one, cut by the snapshot
        length): len bytes were sent, none captured; not "carries 0"."""
        frames = [vsock_frame(HOST, GUEST, REQUEST), vsock_frame(GUEST, HOST, RESPONSE)]
        for _ in range(2):
            frame = bytearray(vsock_frame(HOST, GUEST, RW, bytes(8) + b"0123456789"))
            struct.pack_into("<H", frame, 28, 52)	# monitor header: hdr_len
            frames.append(with_len(bytes(frame), 10))
        cap = write_cut_capture(frames, 80)
        for extra in PASSES:
            rows = fields(cap, "virtio_vsock.seq", "virtio_vsock.nxtseq", "_ws.expert.message",
                          display_filter="virtio_vsock.op == 5", extra=extra)
            self.assertEqual([(r["virtio_vsock.seq"], r["virtio_vsock.nxtseq"]) for r in rows],
                             [("0", "10"), ("10", "20")])
            for row in rows:
                self.assertIn("Only 0 of 10 payload bytes were captured", row["_ws.expert.message"])
                self.assertNotIn("the frame carries", row["_ws.expert.message"])

    def test_guest_frames_are_no_fragments(self):
        """Only vhost splits, on the host: the guest's driver taps exactly len
        bytes of what it sends and receives. A guest->host frame carrying more
        is malformed, even between the fragments of a host->guest packet and
        looking like them."""
        frames = [vsock_frame(HOST, GUEST, REQUEST), vsock_frame(GUEST, HOST, RESPONSE)]
        host_to_guest = split_frames(0, 6000, 4052, "whole")
        guest_to_host = [with_len(vsock_frame(GUEST, HOST, RW, pattern(0, 6000)), 4052),
                         with_len(vsock_frame(GUEST, HOST, RW, pattern(0, 6000)), 1948)]
        frames += [host_to_guest[0], guest_to_host[0], host_to_guest[1], guest_to_host[1]]
        cap = write_capture(frames)
        for extra in PASSES:
            rows = rw_rows(cap, extra)
            self.assertEqual([r["virtio_vsock.split.offset"] for r in rows], ["0", "", "4052", ""])
            self.assertEqual([bytes.fromhex(r["data.data"]) for r in rows],
                             [pattern(0, 4052), pattern(0, 4052), pattern(4052, 1948), pattern(0, 1948)])
            for row in rows[1::2]:
                self.assertIn("the frame carries 6000: the", row["_ws.expert.message"])
                self.assertNotIn("vhost", row["_ws.expert.message"])

    def test_info_marks_fragments(self):
        """Why Length is 65612 with Len=4052: Info says which fragment it is,
        after the tokens it always had."""
        cap, _ = capture("whole")
        for extra in PASSES:
            info = [r["_ws.col.Info"] for r in fields(cap, "_ws.col.Info", display_filter="virtio_vsock.op == 5",
                                                       extra=extra)]
            self.assertEqual(info[:3], ["40000 \u2192 7000 [RW] Len=4052 [vhost fragment 0-4051 of 10000]",
                                        "40000 \u2192 7000 [RW] Len=4052 [vhost fragment 4052-8103 of 10000]",
                                        "40000 \u2192 7000 [RW] Len=1896 [vhost fragment 8104-9999 of 10000]"])
            self.assertEqual(info[-1], "40000 \u2192 7000 [RW] Len=3000")

    def test_seqpacket_message_through_fragments(self):
        """vhost clears EOM on all but a packet's last fragment: the message
        ends there, made of the fragments' own bytes."""
        message = pattern(0, 10000)
        for style in ("rest", "whole"):
            frames = [vsock_frame(HOST, GUEST, REQUEST, vtype=SEQPACKET),
                      vsock_frame(GUEST, HOST, RESPONSE, vtype=SEQPACKET, buf_alloc=262144)]
            frames += [f for f, _ in fragments(message, 4096, style, vtype=SEQPACKET, eom=True)]
            cap = write_capture(frames)
            for extra in PASSES:
                with self.subTest(style=style, passes=extra):
                    rows = fields(cap, "frame.number", "virtio_vsock.msg.length", "virtio_vsock.msg.data",
                                  "virtio_vsock.split.offset", display_filter="virtio_vsock.op == 5", extra=extra)
                    self.assertEqual([r["virtio_vsock.split.offset"] for r in rows], ["0", "4096", "8192"])
                    self.assertEqual(rows[-1]["virtio_vsock.msg.length"], "10000")
                    self.assertEqual(bytes.fromhex(rows[-1]["virtio_vsock.msg.data"]), message)

    def test_snaplen_cut_frames(self):
        """A -s 200 capture: the frames' reported length still tells the
        fragments apart; what was captured of each fragment is handed up."""
        for style in ("rest", "whole"):
            frames, total = capture_frames(style)
            # the guest consumed it all: no bytes went missing
            frames.insert(-1, vsock_frame(GUEST, HOST, CREDIT_UPDATE, buf_alloc=262144, fwd_cnt=total))
            cap = write_cut_capture(frames, 200)
            for extra in PASSES:
                with self.subTest(style=style, passes=extra):
                    rows = rw_rows(cap, extra)
                    self.assertEqual([r["virtio_vsock.split.offset"] for r in rows],
                                     ["0", "4052", "8104", "0", "4052", "8104", ""])
                    # a fragment counts len bytes, captured or not
                    self.assertEqual([int(r["virtio_vsock.seq"]) for r in rows],
                                     [0, 4052, 8104, 10000, 14052, 18104, 20000])
                    out = tshark("-r", cap, "-q", "-z", "expert,warn", *extra)
                    self.assertNotIn("not captured", out)
                    self.assertNotIn("Malformed", out)
                    for row in rows:
                        seq = int(row["virtio_vsock.seq"])
                        self.assertEqual(bytes.fromhex(row["data.data"]),
                                         pattern(seq, 124) if style == "rest" or row["virtio_vsock.split.offset"]
                                         in ("0", "") else b"")
                        # one snapshot length note each, also for a "rest" packet's last fragment
                        self.assertEqual(row["_ws.expert.message"].count("captured"), 1, row["_ws.expert.message"])
                    if style == "whole":
                        self.assertIn("Only 0 of this fragment's 4052 bytes were captured",
                                      rows[1]["_ws.expert.message"])


class LostTapFrames(unittest.TestCase):
    """A capture can lack frames (a full capture ring: 64 KiB frames per
    4 KiB fragment fill it fast). "whole" frames (6.7+) do not say where their
    fragment is: after a gap, fragments are placed as if none was lost until
    the packet's end shows, so the damage must stay inside that packet. Linux
    guests' buffers hold 4096 bytes: a 64 KiB packet is 16 equal fragments."""

    def lossy(self, packets, rx_payload, style, lost, vtype=STREAM, eom=False, between=None):
        """Frames of the packets (bytes objects) minus the fragments at the
        indexes in lost (counted over all packets), and the truth: frame
        number -> (stream offset, offset in its packet, packet index).
        between: a frame sent after each packet."""
        frames = [vsock_frame(HOST, GUEST, REQUEST, vtype=vtype),
                  vsock_frame(GUEST, HOST, RESPONSE, vtype=vtype, buf_alloc=1 << 20)]
        truth, index, stream_offset = {}, 0, 0
        for number, packet in enumerate(packets):
            for frame, offset in fragments(packet, rx_payload, style, vtype=vtype, eom=eom):
                if index not in lost:
                    frames.append(frame)
                    truth[len(frames)] = (stream_offset + offset, offset, number)
                index += 1
            stream_offset += len(packet)
            if between:
                frames.append(between)
        return write_capture(frames), truth

    def check(self, cap, truth, stream, right, extra=(), data=True):
        """Every frame of the packets in right shows its fragment: its bytes
        of the stream (data: not joined into a message), its offset.
        Returns the rows by frame number."""
        rows = fields(cap, "frame.number", "virtio_vsock.len", "data.data", "virtio_vsock.split.offset",
                      "_ws.expert.message", display_filter="virtio_vsock.op == 5", extra=extra)
        self.assertEqual(len(rows), len(truth))
        for row in rows:
            stream_offset, offset, number = truth[int(row["frame.number"])]
            if number in right and data:
                self.assertEqual(bytes.fromhex(row["data.data"]),
                                 stream[stream_offset:stream_offset + int(row["virtio_vsock.len"])],
                                 "frame %s: not its fragment's bytes" % row["frame.number"])
            if number in right:
                self.assertEqual(row["virtio_vsock.split.offset"], str(offset), "frame %s" % row["frame.number"])
        return {int(r["frame.number"]): r for r in rows}

    def test_a_lost_whole_frame_stays_in_its_packet(self):
        """The next packet of the same size carries other bytes: it starts anew."""
        packets = [pattern(i * 65536, 65536) for i in range(4)]
        cap, truth = self.lossy(packets, 4096, "whole", {2})
        for extra in PASSES:
            with self.subTest(passes=extra):
                rows = self.check(cap, truth, b"".join(packets), {1, 2, 3}, extra)
                first_of_second = min(n for n, t in truth.items() if t[2] == 1)
                self.assertIn("4096 bytes of vhost-split packets were never seen",
                              rows[first_of_second]["_ws.expert.message"])
                self.assertIn("the fragments of the packet from frame 3 on may show bytes from the wrong offset",
                              rows[first_of_second]["_ws.expert.message"])

    def test_a_short_last_fragment_ends_its_packet(self):
        """Buffers of 4052 bytes: a packet's last fragment alone is shorter,
        and is placed at the packet's end even after a gap."""
        packets = [pattern(i * 65536, 65536) for i in range(3)]
        cap, truth = self.lossy(packets, 4052, "whole", {2})
        for extra in PASSES:
            with self.subTest(passes=extra):
                rows = self.check(cap, truth, b"".join(packets), {1, 2}, extra)
                last = max(n for n, t in truth.items() if t[2] == 0)
                self.assertEqual(rows[last]["virtio_vsock.split.offset"], "64832")
                self.assertEqual(bytes.fromhex(rows[last]["data.data"]), packets[0][64832:])
                self.assertIn("4052 bytes of vhost-split packets were never seen", rows[last]["_ws.expert.message"])

    def test_another_frame_ends_a_packet(self):
        """vhost sends nothing between two fragments of a packet: a frame of
        the direction in between ends it, even when the next packet is a copy
        of it (the same buffer sent again)."""
        packet = pattern(0, 65536)
        update = vsock_frame(HOST, GUEST, CREDIT_UPDATE, buf_alloc=65536)
        cap, truth = self.lossy([packet, packet, packet], 4096, "whole", set(range(10, 16)), between=update)
        for extra in PASSES:
            with self.subTest(passes=extra):
                self.check(cap, truth, packet * 3, {0, 1, 2}, extra)
                lost = fields(cap, "frame.number", "_ws.expert.message", display_filter="virtio_vsock.split.lost",
                              extra=extra)
                self.assertEqual([r["frame.number"] for r in lost], ["13"])	# the CREDIT_UPDATE
                self.assertIn("24576 bytes of vhost-split packets were never seen", lost[0]["_ws.expert.message"])

    def test_eom_ends_a_seqpacket_packet(self):
        """SEQPACKET: only a packet's last fragment has EOM, which ends it
        after a gap even when the next message is the same bytes."""
        message = pattern(0, 65536)
        cap, truth = self.lossy([message] * 3, 4096, "whole", {3}, vtype=SEQPACKET, eom=True)
        for extra in PASSES:
            with self.subTest(passes=extra):
                self.check(cap, truth, message * 3, {1, 2}, extra, data=False)
                rows = fields(cap, "virtio_vsock.msg.length", "virtio_vsock.msg.data",
                              display_filter="virtio_vsock.msg.length", extra=extra)
                self.assertEqual([r["virtio_vsock.msg.length"] for r in rows], ["61440", "65536", "65536"])
                self.assertEqual([bytes.fromhex(r["virtio_vsock.msg.data"]) for r in rows[1:]], [message, message])

    def test_a_fragment_taken_for_the_first_may_be_wrong(self):
        """A "whole" packet whose first fragment was lost: its next one is
        taken for the first, at offset 0. The gap its last fragment shows
        may be before that one: the warning names it (as vsockdump's
        comment does), not only fragments placed after it."""
        packets = [pattern(i * 10000, 10000) for i in range(2)]
        cap, truth = self.lossy(packets, 4052, "whole", {3})
        first_seen = min(n for n, t in truth.items() if t[2] == 1)
        last = max(n for n, t in truth.items() if t[2] == 1)
        for extra in PASSES:
            with self.subTest(passes=extra):
                rows = self.check(cap, truth, b"".join(packets), {0}, extra)
                self.assertEqual(rows[first_seen]["virtio_vsock.split.offset"], "0")	# wrong: 4052
                self.assertEqual(rows[last]["virtio_vsock.split.offset"], "8104")
                self.assertEqual(bytes.fromhex(rows[last]["data.data"]), packets[1][8104:])
                message = rows[last]["_ws.expert.message"]
                self.assertIn("4052 bytes of vhost-split packets were never seen", message)
                self.assertIn("the fragments of the packet from frame %d on may show bytes from the wrong offset"
                              % first_seen, message)

    def test_rest_frames_say_where_they_are(self):
        """A "rest" frame ends where its packet ends: after a gap, its offset
        is still known."""
        packets = [pattern(i * 65536, 65536) for i in range(2)]
        cap, truth = self.lossy(packets, 4052, "rest", {2, 3})
        for extra in PASSES:
            with self.subTest(passes=extra):
                rows = self.check(cap, truth, b"".join(packets), {0, 1}, extra)
                self.assertIn("8104 bytes of vhost-split packets were never seen", rows[5]["_ws.expert.message"])
                self.assertNotIn("wrong offset", rows[5]["_ws.expert.message"])

    def test_rest_frames_are_not_read_as_whole_ones(self):
        """Once a connection's frames showed the "rest" variant, a new packet
        of the size of one whose fragments went missing is a new packet, its
        first fragment at the frame's start."""
        packets = [pattern(i * 65536, 65536) for i in range(3)]
        cap, truth = self.lossy(packets, 4052, "rest", set(range(18, 34)))	# all of the second packet but its first
        for extra in PASSES:
            with self.subTest(passes=extra):
                self.check(cap, truth, b"".join(packets), {0, 1, 2}, extra)

    def test_no_loss_no_expert(self):
        for style in ("rest", "whole"):
            cap, _ = capture(style, packets=(65536, 65536, 100, 65536), rx_payload=4096)
            self.assertEqual(fields(cap, "frame.number", display_filter="virtio_vsock.split.lost", extra=("-2",)),
                             [])

    def test_connection_reused_during_a_split(self):
        """A new connection on the same ports (a new vsockmon.stream) starts
        with no packet being split."""
        first = pattern(0, 65536)
        frames = [vsock_frame(HOST, GUEST, REQUEST), vsock_frame(GUEST, HOST, RESPONSE, buf_alloc=1 << 20)]
        frames += [f for f, _ in fragments(first, 4096, "whole")][:5]
        frames += [vsock_frame(GUEST, HOST, RST),
                   vsock_frame(HOST, GUEST, REQUEST), vsock_frame(GUEST, HOST, RESPONSE, buf_alloc=1 << 20)]
        frames += [f for f, _ in fragments(first, 4096, "whole")]
        cap = write_capture(frames)
        for extra in PASSES:
            rows = fields(cap, "vsockmon.stream", "virtio_vsock.split.offset", "data.data",
                          display_filter="virtio_vsock.op == 5", extra=extra)
            second = [r for r in rows if r["vsockmon.stream"] == "1"]
            self.assertEqual([int(r["virtio_vsock.split.offset"]) for r in second], list(range(0, 65536, 4096)))
            self.assertEqual(b"".join(bytes.fromhex(r["data.data"]) for r in second), first)


class RealVhostCapture(unittest.TestCase):
    """samples/real/vhost-split.pcap: Debian 6.1's vhost, a user-space guest
    (tests/traffic/vhost-peer) with 4 KiB receive buffers: 70,000 bytes each
    way on STREAM connections and one 70,000-byte SEQPACKET message to the
    guest."""

    def check_message(self, cap, extra):
        rows = fields(cap, "frame.number", "virtio_vsock.msg.length", "data.data",
                      display_filter="virtio_vsock.type == 2 && virtio_vsock.msg.length", extra=extra)
        self.assertEqual([r["virtio_vsock.msg.length"] for r in rows], ["70000"])
        self.assertEqual(bytes.fromhex(rows[0]["data.data"]), pattern(0, 70000))

    def test_the_message_is_the_one_sent(self):
        for name in ("vhost-split.pcap", "vhost-6.12.pcap"):
            for extra in PASSES:
                with self.subTest(capture=name, passes=extra):
                    self.check_message(sample("real", name), extra)

    def test_every_fragment_is_the_guests_bytes(self):
        cap = sample("real", "vhost-split.pcap")
        for extra in PASSES:
            rows = fields(cap, "frame.number", "virtio_vsock.seq", "virtio_vsock.len", "data.data",
                          "virtio_vsock.src_cid",
                          display_filter="virtio_vsock.op == 5 && virtio_vsock.len > 0 && virtio_vsock.type == 1",
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
                      display_filter="virtio_vsock.op == 5 && virtio_vsock.src_cid == 2 && virtio_vsock.type == 1",
                      extra=("-2",))
        self.assertEqual(sum(int(r["virtio_vsock.len"]) for r in rows), 70000)
        self.assertEqual(max(int(r["virtio_vsock.len"]) for r in rows), 4096 - 44)
        for row in rows:
            seq, length = int(row["virtio_vsock.seq"]), int(row["virtio_vsock.len"])
            self.assertEqual(bytes.fromhex(row["data.data"]), pattern(seq, length))
            self.assertEqual((row["virtio_vsock.split.offset"], row["virtio_vsock.trailer"]), ("", ""))
        self.assertNotIn("vhost split", tshark("-r", cap, "-q", "-z", "expert"))


if __name__ == "__main__":
    unittest.main()
