"""Conversation timestamps (vsockmon-timestamps.c): vsockmon.time_relative
and vsockmon.time_delta, as TCP's tcp.time_relative and tcp.time_delta. The
oracle is each frame's own time (frame.time_epoch) grouped by
vsockmon.stream, in one pass and in two."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vsmtest import REQUEST, RESPONSE, RW, RST, fields, sample, vsock_frame  # noqa: E402
from vsmtest import readable_copy  # noqa: E402

NAMES = ("frame.number", "frame.time_epoch", "vsockmon.stream", "vsockmon.time_relative", "vsockmon.time_delta")


def ns(text):
    """'1700000000.000123456' or '-0.5' as integer nanoseconds."""
    negative = text.startswith("-")
    secs, _, frac = text.lstrip("-").partition(".")
    value = int(secs) * 10**9 + int((frac + "000000000")[:9])
    return -value if negative else value


def expected(rows):
    first, last, out = {}, {}, {}
    for row in rows:
        stream, t = row["vsockmon.stream"], ns(row["frame.time_epoch"])
        first.setdefault(stream, t)
        out[row["frame.number"]] = (t - first[stream], t - last.get(stream, t))
        last[stream] = t
    return out


class ConversationTimestamps(unittest.TestCase):
    def check(self, cap, extra=()):
        rows = fields(cap, *NAMES, extra=extra)
        want = expected(fields(cap, *NAMES))	# in frame order: the first pass
        self.assertGreater(len({r["vsockmon.stream"] for r in rows}), 1)
        for row in rows:
            got = (ns(row["vsockmon.time_relative"]), ns(row["vsockmon.time_delta"]))
            self.assertEqual(got, want[row["frame.number"]], "frame %s" % row["frame.number"])

    def test_interleaved_connections(self):
        """many-short.pcap: connections open at the same time, frames interleaved."""
        for extra in ((), ("-2",)):
            with self.subTest(passes=extra):
                self.check(sample("real", "many-short.pcap"), extra)

    def test_a_reused_pair_starts_again(self):
        """http.pcap: the third connection reuses the first one's pair after an RST."""
        self.check(sample("crafted", "http.pcap"), ("-2",))
        rows = fields(sample("crafted", "http.pcap"), *NAMES, display_filter="vsockmon.stream == 2")
        self.assertEqual((rows[0]["vsockmon.time_relative"], rows[0]["vsockmon.time_delta"]),
                         ("0.000000000", "0.000000000"))

    def test_exact_nanoseconds(self):
        """A crafted capture with known times: deltas to the frame of the same connection."""
        a, b, host = (3, 1000), (3, 1001), (2, 5000)
        frames = [vsock_frame(a, host, REQUEST), vsock_frame(b, host, REQUEST),
                  vsock_frame(host, a, RESPONSE), vsock_frame(a, host, RW, b"x"),
                  vsock_frame(host, b, RESPONSE), vsock_frame(a, host, RST)]
        times = [(100, 0), (100, 250), (101, 999999999), (102, 1), (105, 0), (105, 7)]
        cap = write_nanosecond_capture(frames, times)
        for extra in ((), ("-2",)):
            rows = fields(cap, "vsockmon.time_relative", "vsockmon.time_delta", extra=extra)
            self.assertEqual([(r["vsockmon.time_relative"], r["vsockmon.time_delta"]) for r in rows],
                             [("0.000000000", "0.000000000"), ("0.000000000", "0.000000000"),
                              ("1.999999999", "1.999999999"), ("2.000000001", "0.000000002"),
                              ("4.999999750", "4.999999750"), ("5.000000007", "3.000000006")])

    def test_preference_turns_them_off(self):
        rows = fields(sample("real", "http.pcap"), "vsockmon.time_relative", "vsockmon.time_delta",
                      extra=("-o", "vsockmon.calculate_timestamps:FALSE"))
        self.assertTrue(rows)
        self.assertEqual({r["vsockmon.time_relative"] + r["vsockmon.time_delta"] for r in rows}, {""})


def write_nanosecond_capture(frames, times):
    """A nanosecond pcap (magic a1b23c4d), LINKTYPE_VSOCK."""
    import struct
    import tempfile
    fd, path = tempfile.mkstemp(suffix=".pcap")
    with os.fdopen(fd, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 262144, 271))
        for data, (secs, nsecs) in zip(frames, times):
            f.write(struct.pack("<IIII", secs, nsecs, len(data), len(data)))
            f.write(data)
    readable = readable_copy(path)
    os.unlink(path)
    return readable


if __name__ == "__main__":
    unittest.main(verbosity=2)
