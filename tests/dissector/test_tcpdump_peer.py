"""Every value tcpdump prints, decoded the same by the plugin.

../shared/peer-fixtures/tcpdump/ holds tcpdump's vsock-1.pcapng with
tcpdump 4.99's -v and -vv output; we parse those lines and compare each
value with the plugin's fields for the same frame. The same comparison runs
live (the installed tcpdump -vv) over every real kernel capture in samples/
and the well-formed crafted ones.
"""
import datetime
import glob
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vsmtest import RW, SAMPLES, SHARED, fields, readable_copy, vsock_frame, write_capture  # noqa: E402

FIXTURES = os.path.join(SHARED, "peer-fixtures", "tcpdump")

# tcpdump's names -> the numbers of linux/virtio_vsock.h and linux/vsockmon.h
TYPES = {"STREAM": 1, "SEQPACKET": 2}
OPS = {"INVALID": 0, "REQUEST": 1, "RESPONSE": 2, "RST": 3, "SHUTDOWN": 4, "RW": 5,
       "CREDIT UPDATE": 6, "CREDIT REQUEST": 7}
MONITOR_OPS = {"CONNECT": 1, "DISCONNECT": 2, "CONTROL": 3, "PAYLOAD": 4}
TRANSPORTS = {"UNKNOWN": 0, "NO_INFO": 1, "VIRTIO": 2}	# linux/vsockmon.h

# tcpdump prints flags in hex without 0x (print-vsock.c: "flags %x")
HEADER = re.compile(r"^\s*(\d+)\s+(\S+ \S+) (\w+) \(len (\d+), type (\w+|Invalid type \(\d+\)), op ([A-Z ]+), flags ([0-9a-f]+), "
                    r"buf_alloc (\d+), fwd_cnt (\d+)\)$")
ADDRS = re.compile(r"^\s+(\d+)\.(\d+) > (\d+)\.(\d+) (\w+), length (\d+)$")
# payload rows; tcpdump 4.99 puts the rows of a long payload on one line, each
# after a tab ("\t0x0000:  7069 ...\t0x0010:  ..."), a short one alone
HEX = re.compile(r"^(?:\s+0x[0-9a-f]+:\s+(?:[0-9a-f]{2,4} ?)+)+$")
HEX_ROW = re.compile(r"0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4} ?)+)")


FIELDS = ("frame.number", "frame.time_epoch", "frame.cap_len", "vsockmon.transport", "vsockmon.src_cid",
          "vsockmon.src_port", "vsockmon.dst_cid", "vsockmon.dst_port", "vsockmon.op", "virtio_vsock.len",
          "virtio_vsock.type", "virtio_vsock.op", "virtio_vsock.flags", "virtio_vsock.buf_alloc",
          "virtio_vsock.fwd_cnt", "virtio_vsock.split.preceding", "data.data", "virtio_vsock.trailer")


def type_number(name):
    """tcpdump 4.99 names STREAM only: SEQPACKET is "Invalid type (2)"."""
    m = re.fullmatch(r"Invalid type \((\d+)\)", name)
    return int(m.group(1)) if m else TYPES[name]


def parse_tcpdump(path):
    """tcpdump -v/-vv lines -> one dict per frame."""
    with open(path) as f:
        return parse_tcpdump_lines(f)


def parse_tcpdump_lines(lines):
    frames = []
    for line in lines:
        line = line.rstrip("\n")
        m = HEADER.match(line)
        if m:
            frames.append({"num": int(m.group(1)), "time": m.group(2), "transport": TRANSPORTS[m.group(3)],
                           "len": int(m.group(4)), "type": type_number(m.group(5)), "op": OPS[m.group(6)],
                           "flags": int(m.group(7), 16), "buf_alloc": int(m.group(8)),
                           "fwd_cnt": int(m.group(9)), "hex": ""})
            continue
        m = ADDRS.match(line)
        if m:
            frames[-1].update(src_cid=int(m.group(1)), src_port=int(m.group(2)), dst_cid=int(m.group(3)),
                              dst_port=int(m.group(4)), monitor_op=MONITOR_OPS[m.group(5)],
                              length=int(m.group(6)))
            continue
        m = HEX.match(line)
        if m:
            frames[-1]["hex"] += "".join(row.replace(" ", "") for row in HEX_ROW.findall(line))
            continue
        raise AssertionError("unparsed tcpdump line: %r" % line)
    return frames


class TcpdumpAgreement(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.isdir(FIXTURES):
            raise unittest.SkipTest("no ../shared/peer-fixtures/tcpdump")
        cls.expected = parse_tcpdump(os.path.join(FIXTURES, "vsock-1-vv.out"))
        cls.expected_v = parse_tcpdump(os.path.join(FIXTURES, "vsock-1-v.out"))
        cls.rows = fields(readable_copy(os.path.join(FIXTURES, "vsock-1.pcapng")), *FIELDS)

    def test_fixture_parsed(self):
        self.assertEqual(len(self.expected), 10)
        self.assertEqual([f["num"] for f in self.expected], list(range(1, 11)))
        # -v and -vv agree on every header value (only -vv adds payload hex)
        strip = [{k: v for k, v in f.items() if k != "hex"} for f in self.expected]
        self.assertEqual(strip, [{k: v for k, v in f.items() if k != "hex"} for f in self.expected_v])

    def test_same_frames(self):
        self.assertEqual(len(self.rows), len(self.expected))

    def test_every_value(self):
        for want, got in zip(self.expected, self.rows):
            with self.subTest(frame=want["num"]):
                assert_agree(self, want, got)


def assert_agree(test, want, got):
    """Every value tcpdump printed for a frame, as the plugin decodes it."""
    # tcpdump truncates the nanosecond stamp to microseconds
    secs, frac = got["frame.time_epoch"].split(".")
    when = datetime.datetime.fromtimestamp(int(secs), datetime.timezone.utc)
    test.assertEqual("%s.%s" % (when.strftime("%Y-%m-%d %H:%M:%S"), frac[:6]), want["time"])
    # tcpdump's "length" is the captured length (print-vsock.c: caplen)
    test.assertEqual(int(got["frame.cap_len"]), want["length"])
    test.assertEqual(int(got["vsockmon.transport"]), want["transport"])
    test.assertEqual(int(got["vsockmon.src_cid"]), want["src_cid"])
    test.assertEqual(int(got["vsockmon.src_port"]), want["src_port"])
    test.assertEqual(int(got["vsockmon.dst_cid"]), want["dst_cid"])
    test.assertEqual(int(got["vsockmon.dst_port"]), want["dst_port"])
    test.assertEqual(int(got["vsockmon.op"]), want["monitor_op"])
    test.assertEqual(int(got["virtio_vsock.len"]), want["len"])
    test.assertEqual(int(got["virtio_vsock.type"]), want["type"])
    test.assertEqual(int(got["virtio_vsock.op"]), want["op"])
    test.assertEqual(int(got["virtio_vsock.flags"], 16), want["flags"])
    test.assertEqual(int(got["virtio_vsock.buf_alloc"]), want["buf_alloc"])
    test.assertEqual(int(got["virtio_vsock.fwd_cnt"]), want["fwd_cnt"])
    # tcpdump prints every byte after the header as the payload; the plugin
    # splits them into the packet's len bytes and what a kernel tap copied
    # around them (a vhost fragment's neighbours, a trailer)
    test.assertEqual(got["virtio_vsock.split.preceding"] + got["data.data"] + got["virtio_vsock.trailer"],
                     want["hex"])


def tcpdump_decode(capture):
    """tcpdump -vv of a capture, as the fixture was made (frame numbers, UTC dates)."""
    out = subprocess.run(["tcpdump", "-#", "-tttt", "-vv", "-r", capture], capture_output=True, text=True,
                         check=True, env=dict(os.environ, TZ="UTC")).stdout
    return parse_tcpdump_lines(out.splitlines())


class TcpdumpOnOurCaptures(unittest.TestCase):
    """The same agreement, live, on every capture recorded from a real kernel
    (samples/real) and on the well-formed crafted ones: more ops, SEQPACKET
    flags, and the values tcpdump prints in hex."""

    CRAFTED = ("all-ops", "http", "seqpacket", "analysis", "ttrpc-split")
    # tcpdump prints each frame's own payload: no reassembly, no ttrpc, so
    # that data.data holds exactly that
    RAW_PAYLOAD = ("-o", "virtio_vsock.reassemble_messages:FALSE", "-o", "virtio_vsock.reassemble_stream:FALSE",
                   "--disable-protocol", "ttrpc")

    def captures(self):
        found = sorted(glob.glob(os.path.join(SAMPLES, "real", "*.pcap")))
        found += [os.path.join(SAMPLES, "crafted", name + ".pcap") for name in self.CRAFTED]
        self.assertGreaterEqual(len(found), 10)
        return found

    def test_every_value_of_every_frame(self):
        for capture in self.captures():
            want = tcpdump_decode(capture)
            got = fields(readable_copy(capture), *FIELDS, extra=self.RAW_PAYLOAD)
            with self.subTest(capture=os.path.basename(capture)):
                self.assertEqual(len(want), len(got))
                self.assertGreater(len(want), 0)
                for w, g in zip(want, got):
                    with self.subTest(frame=w["num"]):
                        assert_agree(self, w, g)

    def test_hex_flags_and_cut_frames(self):
        # flags print in hex (1a), a frame cut by the snaplen prints its captured length
        whole = write_capture([vsock_frame((3, 1024), (2, 5000), RW, bytes(range(40)), flags=0x1a)])
        fd, cut = tempfile.mkstemp(suffix=".pcap")
        os.close(fd)
        subprocess.run(["editcap", "-s", "90", whole, cut], check=True)
        os.chmod(cut, 0o644)
        for capture, length in ((whole, 116), (cut, 90)):
            want = tcpdump_decode(capture)
            self.assertEqual((want[0]["flags"], want[0]["length"]), (0x1a, length))
            assert_agree(self, want[0], fields(capture, *FIELDS)[0])
        os.unlink(cut)


if __name__ == "__main__":
    unittest.main(verbosity=2)
