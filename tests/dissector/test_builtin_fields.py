"""Filters written for Wireshark's built-in "vsock" dissector keep working
with the plugin installed (vsock-builtin-fields.c): every vsock.* field has
the value the built-in dissector gives it, frame by frame, over every
sample; and the fields cost nothing when no filter or column names them.
The built-in dissector itself is the oracle: tshark without the plugin."""
import glob
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vsmtest import (RW, SAMPLES, STREAM, readable_copy, sample, tshark, vsock_frame,  # noqa: E402
                     write_capture)

BUILTIN_FIELDS = [
    "vsock", "vsock.src_cid", "vsock.dst_cid", "vsock.src_port", "vsock.dst_port", "vsock.op",
    "vsock.trans", "vsock.trans_len", "vsock.reserved", "vsock.payload",
    "vsock.virtio.src_cid", "vsock.virtio.dst_cid", "vsock.virtio.src_prot", "vsock.virtio.dst_prot",
    "vsock.virtio.len", "vsock.virtio.type", "vsock.virtio.op", "vsock.virtio.flags",
    "vsock.virtio.buf_alloc", "vsock.virtio.fwd_cnt",
]

FILTERS = [
    "vsock", "vsock.virtio.op == 5", "vsock.src_cid == 2", "vsock.op == 1 && vsock.virtio.type == 1",
    "vsock.payload", "vsock.trans_len != 44", "!vsock.virtio.len", "vsock.virtio.buf_alloc > 100000",
]


def all_samples():
    paths = sorted(glob.glob(os.path.join(SAMPLES, "real", "*.pcap")) +
                   glob.glob(os.path.join(SAMPLES, "crafted", "*.pcap")) +
                   glob.glob(os.path.join(SAMPLES, "crafted-fuzz", "*.pcap")))
    assert len(paths) >= 15, paths
    return paths


def field_lines(capture, plugin, extra=()):
    args = ["-r", capture, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number"]
    for name in BUILTIN_FIELDS:
        args += ["-e", name]
    return tshark(*(args + list(extra)), plugin=plugin).splitlines()


def frames_matching(capture, display_filter, plugin):
    return tshark("-r", capture, "-Y", display_filter, "-T", "fields", "-e", "frame.number",
                  plugin=plugin).split()


class SameValuesAsTheBuiltInDissector(unittest.TestCase):
    def test_every_field_of_every_sample(self):
        for path in all_samples():
            cap = readable_copy(path)
            with self.subTest(capture=os.path.basename(path)):
                builtin = field_lines(cap, plugin=False)
                self.assertTrue(any(line.split("\t")[2] for line in builtin), "no vsock.src_cid at all")
                self.assertEqual(field_lines(cap, plugin=True), builtin)

    def test_second_pass_too(self):
        cap = sample("real", "http.pcap")
        self.assertEqual(field_lines(cap, plugin=True, extra=("-2",)), field_lines(cap, plugin=False))

    def test_filters_match_the_same_frames(self):
        for name in ("malformed.pcap", "truncated.pcap", "all-ops.pcap", "unknown-values.pcap"):
            cap = sample("crafted", name)
            for display_filter in FILTERS:
                with self.subTest(capture=name, filter=display_filter):
                    self.assertEqual(frames_matching(cap, display_filter, plugin=True),
                                     frames_matching(cap, display_filter, plugin=False))

    def test_filter_on_payload_bytes(self):
        cap = sample("real", "http.pcap")
        frames = frames_matching(cap, 'vsock.payload contains "HTTP/1.1"', plugin=True)
        self.assertTrue(frames)
        self.assertEqual(frames, frames_matching(cap, 'vsock.payload contains "HTTP/1.1"', plugin=False))

    def test_payload_is_every_byte_after_the_header(self):
        """Bytes beyond the virtio len are the built-in dissector's payload too."""
        frame = bytearray(vsock_frame((3, 1024), (2, 5000), RW, b"abcdef", vtype=STREAM))
        struct.pack_into("<I", frame, 32 + 24, 4)	# virtio len 4 of the 6 bytes carried
        cap = write_capture([bytes(frame)])
        rows = [line.split("\t") for line in field_lines(cap, plugin=True)]
        self.assertEqual(rows[0][BUILTIN_FIELDS.index("vsock.payload") + 1], b"abcdef".hex())
        self.assertEqual(rows[0][BUILTIN_FIELDS.index("vsock.virtio.len") + 1], "4")


class OnlyWhenNamed(unittest.TestCase):
    SHOW_HIDDEN = ("-o", "protocols.display_hidden_proto_items:TRUE")

    def test_no_items_without_a_filter(self):
        """-V with hidden items shown: the vsock items appear only when a filter or
        -e names them (4.0's tshark -T fields marks nothing: its command line says)."""
        cap = sample("crafted", "all-ops.pcap")
        plain = tshark("-r", cap, "-V", *self.SHOW_HIDDEN)
        self.assertIn("VSOCK Monitor", plain)
        self.assertNotIn("vSocket", plain)
        self.assertEqual(tshark("-r", cap, "-T", "fields", "-evsock.src_cid", "-c", "1").split(), ["3"])
        named = tshark("-r", cap, "-V", "-Y", "vsock.virtio.op", *self.SHOW_HIDDEN)
        self.assertIn("vSocket", named)
        self.assertIn("Payload (5B)", named)

    def test_hidden_by_default(self):
        cap = sample("crafted", "all-ops.pcap")
        self.assertNotIn("vSocket", tshark("-r", cap, "-V", "-Y", "vsock"))

    def test_preference_turns_them_off(self):
        cap = sample("crafted", "all-ops.pcap")
        self.assertEqual(len(tshark("-r", cap, "-Y", "vsock.src_cid").split("\n")) - 1, 11)
        self.assertEqual(tshark("-r", cap, "-o", "vsockmon.builtin_fields:FALSE", "-Y", "vsock.src_cid"), "")

    def test_disabled_protocol_stays_empty(self):
        cap = sample("crafted", "all-ops.pcap")
        self.assertEqual(tshark("-r", cap, "--disable-protocol", "vsock", "-Y", "vsock.src_cid").split(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
