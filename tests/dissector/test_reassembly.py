"""Upper-layer PDUs across STREAM RW packets (virtio-vsock-reassembly.c):
each PDU handed up whole, once, in the frame that completes it, with the
same result on one pass and on two (tshark -2, the GUI)."""
import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vsmtest import (CREDIT_UPDATE, REQUEST, RESPONSE, RST, RW, SHUTDOWN, fields, http_until_close,  # noqa: E402
                     vsock_frame, write_capture)

PASSES = ((), ("-2",))
GUEST, HOST = (3, 40000), (2, 8080)
HTTP = ("-d", "vsockmon.port==8080,http")

# A length-prefixed protocol (2-byte big-endian length, then the body) whose
# dissector asks for exactly the bytes it lacks: first those of the length
# field, then those of the body.
LUA_EXACT = r"""
local p = Proto("vsmlp", "Length-prefixed test protocol")
local f_body = ProtoField.string("vsmlp.body", "Body")
p.fields = { f_body }
function p.dissector(tvb, pinfo, tree)
    local off, n = 0, tvb:reported_length_remaining()
    while off < n do
        local need = 2 - (n - off)
        if need <= 0 then
            need = tvb(off, 2):uint() - (n - off - 2)
        end
        if need > 0 then
            pinfo.desegment_offset = off
            pinfo.desegment_len = need
            return n
        end
        local len = tvb(off, 2):uint()
        tree:add(p, tvb(off, 2 + len)):add(f_body, tvb(off + 2, len))
        off = off + 2 + len
    end
    return off
end
DissectorTable.get("vsockmon.port"):add(8080, p)
"""


def connection(*payloads, credit=()):
    """REQUEST, RESPONSE, the server's credit updates, then the client's RW packets (frames 3 on)."""
    frames = [vsock_frame(GUEST, HOST, REQUEST, buf_alloc=1 << 20),
              vsock_frame(HOST, GUEST, RESPONSE, buf_alloc=1 << 20)]
    frames += [vsock_frame(HOST, GUEST, CREDIT_UPDATE, buf_alloc=1 << 20, fwd_cnt=f) for f in credit]
    frames += [vsock_frame(GUEST, HOST, RW, p, buf_alloc=1 << 20) for p in payloads]
    return write_capture(frames)


def by_frame(capture, *names, extra=()):
    return {int(r["frame.number"]): r for r in fields(capture, "frame.number", *names, extra=extra)}


def lp(body):
    return struct.pack(">H", len(body)) + body


class ExactLengthRequests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        fd, cls.script = tempfile.mkstemp(suffix=".lua")
        os.write(fd, LUA_EXACT.encode())
        os.close(fd)
        os.chmod(cls.script, 0o644)

    @classmethod
    def tearDownClass(cls):
        os.unlink(cls.script)

    def bodies(self, capture, passes):
        rows = by_frame(capture, "vsmlp.body", "virtio_vsock.segment.reassembled_in",
                        extra=passes + ("-X", "lua_script:" + self.script))
        return {n: (r["vsmlp.body"], r["virtio_vsock.segment.reassembled_in"]) for n, r in rows.items() if n > 2}

    def test_pdu_that_grows_and_completes_in_one_segment(self):
        # frame 3: one byte of the length; frame 4: the other, asked for
        # exactly, completes the length field, the body asked for next is
        # in the same segment, and the start of the second PDU follows it
        first, second = lp(b"hello world"), lp(b"second!")
        for segments in ((first[:1], first[1:] + second[:4], second[4:]),
                         (first[:1], first[1:] + second)):
            capture = connection(*segments)
            for passes in PASSES:
                with self.subTest(segments=len(segments), passes=passes):
                    got = self.bodies(capture, passes)
                    self.assertEqual(got[4][0], "hello world" if len(segments) == 3 else "hello world,second!")
                    if len(segments) == 3:
                        self.assertEqual(got[5], ("second!", ""))
                        self.assertEqual(got[4][1], "5" if passes else "")
                    self.assertEqual(got[3][1], "4" if passes else "")

    def test_pdu_starting_in_a_segment_that_runs_across_the_offset_wrap(self):
        # fwd_cnt moves the sender's offsets to 0xFFFFFFD8: frame 5 holds the
        # first PDU and the start of the second, at 0xFFFFFFFA, and runs past
        # 2^32; frame 6 completes the second
        first, second = lp(b"A" * 32), lp(b"B" * 64)
        capture = connection(first + second[:48], second[48:], credit=(0x7FFFFFFF, 0xFFFFFFD8))
        for passes in PASSES:
            with self.subTest(passes=passes):
                self.assertEqual(self.bodies(capture, passes),
                                 {3: ("", ""), 4: ("", ""), 5: ("A" * 32, "6" if passes else ""),
                                  6: ("B" * 64, "")})


class HttpPipelined(unittest.TestCase):
    FIRST = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    SECOND = b"GET /b HTTP/1.1\r\nHost: y\r\n\r\n"

    def test_request_starting_in_the_segment_that_ends_the_one_before(self):
        # HTTP asks for "one more segment" while headers are incomplete: frame 4
        # goes into the first request whole, and the second starts in its tail
        first, second = self.FIRST, self.SECOND
        capture = connection(first[:20], first[20:] + second[:20], second[20:])
        for passes in PASSES:
            with self.subTest(passes=passes):
                rows = by_frame(capture, "http.request.uri", "virtio_vsock.reassembled.data",
                                "virtio_vsock.segment.reassembled_in", extra=passes + HTTP)
                self.assertEqual([(n, rows[n]["http.request.uri"]) for n in (3, 4, 5)],
                                 [(3, ""), (4, "/a"), (5, "/b")])
                self.assertEqual(bytes.fromhex(rows[5]["virtio_vsock.reassembled.data"]), second)
                self.assertEqual(bytes.fromhex(rows[4]["virtio_vsock.reassembled.data"]),
                                 first + second[:20])
                self.assertEqual(rows[4]["virtio_vsock.segment.reassembled_in"], "5" if passes else "")


class HttpBodyUntilClose(unittest.TestCase):
    """A response body without a length is read "until FIN": whichever RST
    ends the connection ends it, the receiver's too (Linux tears the whole
    connection down on an RST from either side, so no byte can follow)."""
    CLIENT, SERVER = (3, 50000), (2, 8080)
    RESPONSE = (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nfirst part "
                b"second part\n")

    def rows(self, capture, passes):
        return by_frame(capture, "_ws.col.Source", "http.response.code", "virtio_vsock.segment.reassembled_in",
                        "virtio_vsock.reassembled.data", extra=passes + HTTP)

    def assert_body_in(self, rows, frame, segments, passes):
        got = {n: (r["http.response.code"], r["virtio_vsock.segment.reassembled_in"]) for n, r in rows.items()}
        want = {n: ("", "") for n in rows}
        want.update({n: ("", str(frame) if passes else "") for n in segments})	# one pass cannot know it yet
        want[frame] = ("200", "")
        self.assertEqual(got, want)
        self.assertEqual(bytes.fromhex(rows[frame]["virtio_vsock.reassembled.data"]), self.RESPONSE)

    def test_body_completes_at_the_receivers_rst(self):
        # frame 6: the client resets while the body is open; frame 7 is its
        # second RST, after the end: nothing more goes up there
        c, s = self.CLIENT, self.SERVER
        capture = write_capture(http_until_close(c, s, vsock_frame(c, s, RST)))
        for passes in PASSES:
            with self.subTest(passes=passes):
                rows = self.rows(capture, passes)
                self.assert_body_in(rows, 6, (4, 5), passes)
                # handed up as the server's data, in a frame that stays the client's
                self.assertEqual(rows[6]["_ws.col.Source"], "3")

    def test_receivers_shutdown_does_not_end_the_body(self):
        # SHUTDOWN (RCV) crosses data already queued, which still arrives
        # (frame 6): the body ends at the client's RST, frame 7
        c, s = self.CLIENT, self.SERVER
        frames = http_until_close(c, s, vsock_frame(s, c, RST))
        for flags in (1, 3):	# RCV; RCV and SEND
            capture = write_capture(frames[:4] + [vsock_frame(c, s, SHUTDOWN, flags=flags), frames[4],
                                                  vsock_frame(c, s, RST)])
            for passes in PASSES:
                with self.subTest(flags=flags, passes=passes):
                    self.assert_body_in(self.rows(capture, passes), 7, (4, 6), passes)

    def test_body_ended_by_the_senders_shutdown_goes_up_once(self):
        # the server's SHUTDOWN (SEND) ends the body in frame 6; the client's
        # RST in frame 7 ends the connection, and has nothing left to end
        c, s = self.CLIENT, self.SERVER
        capture = write_capture(http_until_close(c, s, vsock_frame(s, c, SHUTDOWN, flags=3)))
        for passes in PASSES:
            with self.subTest(passes=passes):
                self.assert_body_in(self.rows(capture, passes), 6, (4, 5), passes)


if __name__ == "__main__":
    unittest.main(verbosity=2)
