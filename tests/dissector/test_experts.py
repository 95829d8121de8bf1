"""Expert info on crafted faults; snaplen cuts are notes, never exceptions."""
import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vsmtest import (REQUEST, RESPONSE, RST, RW, fields, readable_copy, sample, tshark,  # noqa: E402
                     vsock_frame, write_capture)

# epan/proto.h: expert groups and severities as tshark prints them
PI_MALFORMED = str(0x07000000)
PI_ERROR = str(0x00800000)

EXPERT_FIELDS = ("frame.number", "_ws.expert.message", "_ws.expert.group", "_ws.expert.severity",
                 "_ws.malformed", "frame.protocols")


def experts_by_frame(name):
    return {int(r["frame.number"]): r for r in fields(sample("crafted", name), *EXPERT_FIELDS)}


class UnknownValues(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.frames = experts_by_frame("unknown-values.pcap")

    def expert(self, frame, text):
        self.assertIn(text, self.frames[frame]["_ws.expert.message"])

    def test_each_fault_is_named(self):
        self.expert(1, "Unknown socket type")
        self.expert(2, "Invalid or unknown operation")
        self.expert(3, "Flags 0x00000005 have no meaning on a STREAM RW packet")
        self.expert(4, "Flags 0x00000008 have no meaning on a STREAM SHUTDOWN packet")
        self.expert(5, "Unknown monitor operation")
        self.expert(5, "Monitor op 9 does not match virtio op CREDIT_UPDATE (the kernel sends 3)")
        self.expert(6, "Unknown transport")
        self.expert(8, "Reserved bytes are not zero")
        self.expert(9, "Monitor op 4 does not match virtio op REQUEST (the kernel sends 1)")
        self.expert(10, "Virtio header says 9:1024 > 2:1234, monitor header 3:1024 > 2:1234")
        self.expert(11, "Invalid or unknown operation")

    def test_monitor_op_0_is_the_kernels_for_an_unknown_virtio_op(self):
        """virtio_transport_build_skb() writes monitor op 0 for a virtio op it does not
        know: one fault, said once, by the virtio layer."""
        for frame in (2, 11):
            self.assertNotIn("Unknown monitor operation", self.frames[frame]["_ws.expert.message"])
            self.assertNotIn("does not match", self.frames[frame]["_ws.expert.message"])

    def test_no_info_transport_is_clean(self):
        self.assertEqual(self.frames[7]["_ws.expert.message"], "")
        self.assertEqual(self.frames[7]["frame.protocols"], "vsockmon:data")

    def test_no_exceptions(self):
        self.assertEqual([n for n, r in self.frames.items() if r["_ws.malformed"]], [])


class Truncated(unittest.TestCase):
    """truncated.pcap: frames cut by the capture's snapshot length."""

    @classmethod
    def setUpClass(cls):
        cls.frames = experts_by_frame("truncated.pcap")

    def test_notes_say_how_much_was_captured(self):
        self.assertIn("Only 0 of 13 payload bytes were captured", self.frames[1]["_ws.expert.message"])
        self.assertIn("Only 5 of 13 payload bytes were captured", self.frames[2]["_ws.expert.message"])
        self.assertIn("Only 8 of the virtio header bytes were captured", self.frames[3]["_ws.expert.message"])
        self.assertIn("Only 20 of the 32 header bytes were captured", self.frames[4]["_ws.expert.message"])

    def test_never_malformed(self):
        for number, row in self.frames.items():
            with self.subTest(frame=number):
                self.assertEqual(row["_ws.malformed"], "")
                self.assertNotIn(PI_MALFORMED, row["_ws.expert.group"].split(","))
                self.assertNotIn("_ws.malformed", row["frame.protocols"])
                self.assertNotIn(PI_ERROR, row["_ws.expert.severity"].split(","))


def write_cut_capture(frames):
    """A LINKTYPE_VSOCK pcap of (frame bytes, captured length) pairs."""
    fd, path = tempfile.mkstemp(suffix=".pcap")
    with os.fdopen(fd, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 271))
        for n, (data, caplen) in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000, n, caplen, len(data)) + data[:caplen])
    readable = readable_copy(path)
    os.unlink(path)
    return readable


class UpperLayerPastTheSnaplen(unittest.TestCase):
    """An upper dissector that reads past a payload cut by the snapshot length
    throws BoundsError: the frame must still reach the vsockmon tap."""

    def test_cut_frame_still_counted_in_the_conversation_table(self):
        client, server = (3, 5000), (2, 6000)
        # DNS over TCP: a 2-byte length of 32, then the message - cut after 4 bytes
        query = vsock_frame(client, server, RW, b"\x00\x20" + b"\x00" * 32)
        cap = write_cut_capture([(vsock_frame(client, server, REQUEST), 76),
                                 (vsock_frame(server, client, RESPONSE), 76),
                                 (query, 80), (vsock_frame(client, server, RST), 76)])
        decode = ("-d", "vsockmon.port==6000,dns")
        row = fields(cap, "_ws.col.Info", "frame.protocols", "_ws.malformed", display_filter="frame.number == 3",
                     extra=decode)[0]
        self.assertEqual(row["frame.protocols"], "vsockmon:virtio_vsock:dns")
        self.assertIn("[Packet size limited during capture]", row["_ws.col.Info"])
        self.assertEqual(row["_ws.malformed"], "")
        table = tshark("-r", cap, "-q", "-z", "conv,vsockmon", *decode)
        line = [ln for ln in table.splitlines() if "<->" in ln][0]
        # stream 0; <- 1 frame of 76 bytes; -> 3 frames (76 + 110 + 76 on the wire); 4 in all
        self.assertEqual(line.split()[3:10], ["0", "1", "76", "3", "262", "4", "338"])


class UnknownTransportHeaderPastTheEnd(unittest.TestCase):
    """A transport the monitor layer cannot read still announces its header's
    length: a frame that ends inside that header is malformed, as one that
    ends inside the virtio header is; one cut there by the snapshot length
    gets a note. Neither throws, and the frame still reaches the tables."""

    @classmethod
    def setUpClass(cls):
        def monitor(transport, hdr_len, rest):
            return struct.pack("<QQIIHHHH", 3, 2, 1024, 1234, 4, transport, hdr_len, 0) + rest
        cls.capture = write_cut_capture([
            (monitor(7, 40, b"x" * 10), 42),	# unknown transport, frame ends 10 bytes into its header
            (monitor(1, 8, b"x" * 3), 35),	# NO_INFO, read the same way
            (monitor(7, 40, b"x" * 50), 40),	# whole on the wire, cut by the snapshot length
            (monitor(7, 12, b"x" * 12 + b"data"), 48)])	# whole: header and payload
        cls.frames = {int(r["frame.number"]): r for r in fields(cls.capture, *EXPERT_FIELDS,
                                                                "vsockmon.transport_header")}

    def test_frame_ending_inside_the_header_is_malformed(self):
        for number, text in ((1, "Frame ends 10 bytes into the 40-byte transport header"),
                             (2, "Frame ends 3 bytes into the 8-byte transport header")):
            with self.subTest(frame=number):
                row = self.frames[number]
                self.assertIn(text, row["_ws.expert.message"])
                self.assertIn(PI_MALFORMED, row["_ws.expert.group"].split(","))
                self.assertIn(PI_ERROR, row["_ws.expert.severity"].split(","))
                self.assertEqual(row["_ws.malformed"], "_ws.malformed")
                self.assertNotIn("_ws.malformed", row["frame.protocols"])

    def test_header_cut_by_the_snapshot_length_is_a_note(self):
        row = self.frames[3]
        self.assertIn("Only 8 of the 40 transport header bytes were captured", row["_ws.expert.message"])
        self.assertEqual(row["vsockmon.transport_header"], (b"x" * 8).hex())
        self.assertEqual(row["_ws.malformed"], "")
        self.assertNotIn(PI_MALFORMED, row["_ws.expert.group"].split(","))
        self.assertNotIn(PI_ERROR, row["_ws.expert.severity"].split(","))

    def test_whole_header_has_no_length_fault(self):
        row = self.frames[4]
        self.assertEqual(row["_ws.expert.message"], "Unknown transport")
        self.assertEqual(row["frame.protocols"], "vsockmon:data")

    def test_every_frame_reaches_the_conversation_table(self):
        table = tshark("-r", self.capture, "-q", "-z", "conv,vsockmon")
        line = [ln for ln in table.splitlines() if "<->" in ln][0]
        # stream 0; <- none; -> 4 frames of 42 + 35 + 82 + 48 bytes on the wire
        self.assertEqual(line.split()[3:10], ["0", "0", "0", "4", "207", "4", "207"])


class BytesBeyondLen(unittest.TestCase):
    """A frame carrying more than its header's len: the packet is len bytes
    (what the receiver's fwd_cnt counts), the rest a trailer, as IP treats
    bytes beyond its total length."""

    @classmethod
    def setUpClass(cls):
        client, server = (3, 49152), (2, 7000)
        long_rw = bytearray(vsock_frame(client, server, RW, b"abcdefgh"))
        struct.pack_into("<I", long_rw, 32 + 24, 3)	# virtio len: 3 of the 8 bytes
        cls.capture = write_capture([vsock_frame(client, server, REQUEST), vsock_frame(server, client, RESPONSE),
                                     bytes(long_rw), vsock_frame(client, server, RW, b"ij")])

    def test_payload_is_len_bytes_and_the_rest_a_trailer(self):
        # two passes: on the first one, an RW carrying more than len might
        # still be the first fragment of a vhost-split packet (test_vhost_split.py)
        rows = fields(self.capture, "frame.number", "data.data", "virtio_vsock.trailer", "virtio_vsock.seq",
                      "virtio_vsock.nxtseq", "_ws.expert.message", display_filter="virtio_vsock.op == 5",
                      extra=("-2",))
        self.assertEqual([(r["data.data"], r["virtio_vsock.trailer"], r["virtio_vsock.seq"], r["virtio_vsock.nxtseq"])
                          for r in rows], [(b"abc".hex(), b"defgh".hex(), "0", "3"), (b"ij".hex(), "", "3", "5")])
        self.assertIn("len says 3 payload bytes, the frame carries 8: the 5 after them are a trailer",
                      rows[0]["_ws.expert.message"])

    def test_follow_shows_len_bytes(self):
        out = tshark("-r", self.capture, "-q", "-z", "follow,vsockmon,raw,0")
        lines = [ln for ln in out.splitlines() if ln and all(c in "0123456789abcdef\t" for c in ln)]
        self.assertEqual(lines, [b"abc".hex(), b"ij".hex()])


class Malformed(unittest.TestCase):
    """malformed.pcap: frames wrong on the wire, reported without an exception."""

    @classmethod
    def setUpClass(cls):
        cls.frames = experts_by_frame("malformed.pcap")

    def test_each_fault_is_named(self):
        self.assertIn("Frame of 20 bytes is shorter than the 32-byte vsockmon header",
                      self.frames[1]["_ws.expert.message"])
        self.assertIn("Transport header length 40, the virtio header is 44 bytes",
                      self.frames[2]["_ws.expert.message"])
        self.assertIn("len says 10 payload bytes, the frame carries 6", self.frames[3]["_ws.expert.message"])
        self.assertIn("4 payload bytes on a CREDIT_UPDATE packet: only RW carries data",
                      self.frames[4]["_ws.expert.message"])
        self.assertIn("Frame ends 18 bytes into the 44-byte virtio header", self.frames[5]["_ws.expert.message"])

    def test_malformed_group_without_exception(self):
        for number in (1, 2, 3, 5):
            with self.subTest(frame=number):
                row = self.frames[number]
                self.assertIn(PI_MALFORMED, row["_ws.expert.group"].split(","))
                self.assertIn(PI_ERROR, row["_ws.expert.severity"].split(","))
                # filterable as _ws.malformed (the expert adds it, hidden) ...
                self.assertEqual(row["_ws.malformed"], "_ws.malformed")
                # ... but no exception: that would add a "Malformed Packet" layer
                self.assertNotIn("_ws.malformed", row["frame.protocols"])

    def test_dissection_goes_on_after_the_fault(self):
        self.assertEqual(self.frames[3]["frame.protocols"], "vsockmon:virtio_vsock:data")


PI_CHAT = str(0x00200000)


class CleanCapturesHaveNoProblems(unittest.TestCase):
    """Healthy connections get chats (established, shutdown, closed), nothing worse."""

    def test_orderly_connections(self):
        # all-ops closes with SHUTDOWN then RST; the real ones are Linux's own closes
        for parts in (("crafted", "all-ops.pcap"), ("real", "http.pcap"), ("real", "half-close.pcap")):
            with self.subTest(capture=parts):
                frames = {int(r["frame.number"]): r for r in fields(sample(*parts), *EXPERT_FIELDS)}
                worse = {n: r["_ws.expert.message"] for n, r in frames.items()
                         if set(r["_ws.expert.severity"].split(",")) - {"", PI_CHAT}}
                self.assertEqual(worse, {})
                self.assertTrue(any("Connection established" in r["_ws.expert.message"] for r in frames.values()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
