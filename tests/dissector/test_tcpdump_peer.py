"""Every value tcpdump prints for its own vsock test capture, decoded the same.

../shared/peer-fixtures/tcpdump/ holds tcpdump's vsock-1.pcapng with
tcpdump 4.99's -v and -vv output; we parse those lines and compare each
value with the plugin's fields for the same frame.
"""
import datetime
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vsmtest import SHARED, fields, readable_copy  # noqa: E402

FIXTURES = os.path.join(SHARED, "peer-fixtures", "tcpdump")

# tcpdump's names -> the numbers of linux/virtio_vsock.h and linux/vsockmon.h
TYPES = {"STREAM": 1, "SEQPACKET": 2}
OPS = {"INVALID": 0, "REQUEST": 1, "RESPONSE": 2, "RST": 3, "SHUTDOWN": 4, "RW": 5,
       "CREDIT UPDATE": 6, "CREDIT REQUEST": 7}
MONITOR_OPS = {"CONNECT": 1, "DISCONNECT": 2, "CONTROL": 3, "PAYLOAD": 4}

HEADER = re.compile(r"^\s*(\d+)\s+(\S+ \S+) VIRTIO \(len (\d+), type (\w+), op ([A-Z ]+), flags (\d+), "
                    r"buf_alloc (\d+), fwd_cnt (\d+)\)$")
ADDRS = re.compile(r"^\s+(\d+)\.(\d+) > (\d+)\.(\d+) (\w+), length (\d+)$")
HEX = re.compile(r"^\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4} ?)+)$")


def parse_tcpdump(path):
    """tcpdump -v/-vv lines -> one dict per frame."""
    frames = []
    for line in open(path):
        line = line.rstrip("\n")
        m = HEADER.match(line)
        if m:
            frames.append({"num": int(m.group(1)), "time": m.group(2), "len": int(m.group(3)),
                           "type": TYPES[m.group(4)], "op": OPS[m.group(5)], "flags": int(m.group(6)),
                           "buf_alloc": int(m.group(7)), "fwd_cnt": int(m.group(8)), "hex": ""})
            continue
        m = ADDRS.match(line)
        if m:
            frames[-1].update(src_cid=int(m.group(1)), src_port=int(m.group(2)), dst_cid=int(m.group(3)),
                              dst_port=int(m.group(4)), monitor_op=MONITOR_OPS[m.group(5)],
                              length=int(m.group(6)))
            continue
        m = HEX.match(line)
        if m:
            frames[-1]["hex"] += m.group(1).replace(" ", "")
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
        cls.rows = fields(readable_copy(os.path.join(FIXTURES, "vsock-1.pcapng")),
                          "frame.number", "frame.time_epoch", "frame.len", "vsockmon.src_cid",
                          "vsockmon.src_port", "vsockmon.dst_cid", "vsockmon.dst_port", "vsockmon.op",
                          "virtio_vsock.len", "virtio_vsock.type", "virtio_vsock.op",
                          "virtio_vsock.flags", "virtio_vsock.buf_alloc", "virtio_vsock.fwd_cnt",
                          "data.data")

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
                # tcpdump truncates the nanosecond stamp to microseconds
                secs, frac = got["frame.time_epoch"].split(".")
                when = datetime.datetime.fromtimestamp(int(secs), datetime.timezone.utc)
                self.assertEqual("%s.%s" % (when.strftime("%Y-%m-%d %H:%M:%S"), frac[:6]), want["time"])
                self.assertEqual(int(got["frame.len"]), want["length"])
                self.assertEqual(int(got["vsockmon.src_cid"]), want["src_cid"])
                self.assertEqual(int(got["vsockmon.src_port"]), want["src_port"])
                self.assertEqual(int(got["vsockmon.dst_cid"]), want["dst_cid"])
                self.assertEqual(int(got["vsockmon.dst_port"]), want["dst_port"])
                self.assertEqual(int(got["vsockmon.op"]), want["monitor_op"])
                self.assertEqual(int(got["virtio_vsock.len"]), want["len"])
                self.assertEqual(int(got["virtio_vsock.type"]), want["type"])
                self.assertEqual(int(got["virtio_vsock.op"]), want["op"])
                self.assertEqual(int(got["virtio_vsock.flags"], 16), want["flags"])
                self.assertEqual(int(got["virtio_vsock.buf_alloc"]), want["buf_alloc"])
                self.assertEqual(int(got["virtio_vsock.fwd_cnt"]), want["fwd_cnt"])
                self.assertEqual(got["data.data"], want["hex"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
