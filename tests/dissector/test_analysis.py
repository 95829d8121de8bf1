"""Stream analysis on real lab captures (checked against the traffic
generator's manifests) and on crafted faults (samples/crafted/analysis.pcap)."""
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vsmtest import (CREDIT_UPDATE, REQUEST, RESPONSE, RST, RW, SAMPLES, SEQPACKET, SHARED,  # noqa: E402
                     SHUTDOWN, fields, frame_numbers, http_until_close, make_home, readable_copy,
                     sample, tshark, vsock_frame, write_capture)

CREDIT_EXPERTS = ("Zero credit", "exceeded the credit", "reopens a closed window", "shrunk receive buffer")


def manifest(name):
    with open(os.path.join(SAMPLES, "real", name + ".manifest.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def real(name):
    return sample("real", name + ".pcap")


def experts(capture, extra=()):
    return {int(r["frame.number"]): r["_ws.expert.message"]
            for r in fields(capture, "frame.number", "_ws.expert.message", extra=extra)}


class HttpAcrossSegments(unittest.TestCase):
    """The generator writes the request in three pieces: one HTTP request."""

    @classmethod
    def setUpClass(cls):
        cls.conn = manifest("http")[0]
        cls.decode_as = ("-d", "vsockmon.port==%d,http" % cls.conn["server_port"])

    def test_one_request_one_response(self):
        for passes in ((), ("-2",)):
            with self.subTest(passes=passes):
                rows = fields(real("http"), "frame.number", "http.request.method", "http.response.code",
                              "virtio_vsock.reassembled.length", display_filter="http",
                              extra=self.decode_as + passes)
                self.assertEqual([(r["http.request.method"], r["http.response.code"]) for r in rows],
                                 [("GET", ""), ("", "200")])
                self.assertEqual(int(rows[0]["virtio_vsock.reassembled.length"]), self.conn["bytes_c2s"])

    def test_segments_are_the_writes(self):
        rows = fields(real("http"), "virtio_vsock.len", "virtio_vsock.segment.reassembled_in",
                      display_filter="vsockmon.src_port == %d && virtio_vsock.op == 5" % self.conn["client_port"],
                      extra=self.decode_as + ("-2",))
        self.assertEqual([int(r["virtio_vsock.len"]) for r in rows], self.conn["messages_c2s"])
        last = frame_numbers(real("http"), "http.request", extra=self.decode_as + ("-2",))[0]
        self.assertEqual([r["virtio_vsock.segment.reassembled_in"] for r in rows[:-1]], [str(last)] * 2)

    def test_single_pass_marks_the_partial_segments(self):
        rows = fields(real("http"), "_ws.col.Info", "_ws.col.Protocol",
                      display_filter="vsockmon.src_port == %d && virtio_vsock.op == 5" % self.conn["client_port"],
                      extra=self.decode_as)
        self.assertEqual(len(rows), 3)
        self.assertEqual(rows[-1]["_ws.col.Protocol"], "HTTP")
        for row in rows[:-1]:
            self.assertEqual(row["_ws.col.Protocol"], "VSOCK")
            self.assertTrue(row["_ws.col.Info"].endswith("[segment of a reassembled PDU]"), row)

    def test_offsets_count_each_direction(self):
        rows = fields(real("http"), "virtio_vsock.seq", "virtio_vsock.nxtseq",
                      display_filter="vsockmon.src_port == %d && virtio_vsock.op == 5" % self.conn["client_port"])
        sizes = self.conn["messages_c2s"]
        self.assertEqual([int(r["virtio_vsock.seq"]) for r in rows], [sum(sizes[:i]) for i in range(len(sizes))])
        self.assertEqual(int(rows[-1]["virtio_vsock.nxtseq"]), self.conn["bytes_c2s"])

    def test_preference_turns_it_off(self):
        rows = fields(real("http"), "virtio_vsock.segment.reassembled_in", "virtio_vsock.reassembled.length",
                      extra=self.decode_as + ("-o", "virtio_vsock.reassemble_stream:FALSE"))
        self.assertEqual({r["virtio_vsock.segment.reassembled_in"] + r["virtio_vsock.reassembled.length"]
                          for r in rows}, {""})

    def test_follow_still_sees_every_byte_once(self):
        out = tshark("-r", real("http"), "-q", "-z", "follow,vsockmon,raw,0", *self.decode_as)
        payload = "".join(l.strip() for l in out.splitlines() if l.strip() and all(c in "0123456789abcdef" for c in l.strip()))
        self.assertEqual(len(payload) // 2, self.conn["bytes_c2s"] + self.conn["bytes_s2c"])


LUA_REASSEMBLY = r"""
local p = Proto("vsmlua_pdu", "Lua PDU test")
local f_len = ProtoField.uint32("vsmlua_pdu.length", "PDU length")
p.fields = { f_len }
function p.dissector(tvb, pinfo, tree)
    local text = tvb():string()
    if not text:find("\r\n\r\n", 1, true) then
        pinfo.desegment_offset = 0
        pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
        return
    end
    tree:add(p, tvb()):add(f_len, tvb:len())
    return tvb:len()
end
DissectorTable.get("vsockmon.port"):add(%d, p)
"""


class LuaGetsReassembledPdus(unittest.TestCase):
    def test_lua_port_dissector(self):
        conn = manifest("http")[0]
        fd, script = tempfile.mkstemp(suffix=".lua")
        os.write(fd, (LUA_REASSEMBLY % conn["server_port"]).encode())
        os.close(fd)
        os.chmod(script, 0o644)
        try:
            rows = fields(real("http"), "vsmlua_pdu.length", display_filter="vsmlua_pdu.length",
                          extra=("-X", "lua_script:" + script))
        finally:
            os.unlink(script)
        self.assertEqual(sorted(int(r["vsmlua_pdu.length"]) for r in rows),
                         sorted([conn["bytes_c2s"], conn["bytes_s2c"]]))


class SeqpacketMessages(unittest.TestCase):
    def test_message_sizes_match_the_manifest(self):
        conn = manifest("seqpacket")[0]
        rows = fields(real("seqpacket"), "vsockmon.src_port", "virtio_vsock.msg.length",
                      display_filter="virtio_vsock.msg.length", extra=("-2",))
        sent = [int(r["virtio_vsock.msg.length"]) for r in rows if int(r["vsockmon.src_port"]) == conn["client_port"]]
        self.assertEqual(sent, conn["messages_c2s"])
        self.assertIn(150000, sent)	# > 64 KiB: several RW packets, EOM on the last
        back = [int(r["virtio_vsock.msg.length"]) for r in rows if int(r["vsockmon.src_port"]) == conn["server_port"]]
        self.assertEqual(back, conn["messages_s2c"])

    def test_fragments_listed(self):
        rows = fields(real("seqpacket"), "virtio_vsock.msg.fragment", "virtio_vsock.msg.fragment.count",
                      display_filter="virtio_vsock.msg.length == 150000", extra=("-2",))
        self.assertEqual(rows[0]["virtio_vsock.msg.fragment.count"], "3")
        self.assertEqual(len(rows[0]["virtio_vsock.msg.fragment"].split(",")), 3)


class CreditFlow(unittest.TestCase):
    def test_stall_scenario_shows_zero_credit_and_reopening(self):
        conn = manifest("credit-stall")[0]
        found = experts(real("credit-stall"))
        zero = [n for n, m in found.items() if "Zero credit" in m]
        reopened = [n for n, m in found.items() if "reopens a closed window" in m]
        self.assertGreaterEqual(len(zero), 2)
        # each stall but the last is reopened by the next CREDIT_UPDATE; after the
        # last one (frame 33) the sender shut down (34): the update that follows
        # (35) reopens nothing, the sender will send no more
        self.assertEqual(zero[-1], 33)
        self.assertEqual(reopened, [z + 1 for z in zero[:-1]])
        self.assertEqual(found[35], "")
        rows = fields(real("credit-stall"), "virtio_vsock.analysis.credit", "virtio_vsock.len",
                      display_filter="virtio_vsock.op == 5")
        # never more credit than the receiver's buffer
        self.assertLessEqual(max(int(r["virtio_vsock.analysis.credit"]) for r in rows), conn["receiver_buffer"])
        self.assertEqual(sum(int(r["virtio_vsock.len"]) for r in rows), conn["bytes_c2s"])

    def test_healthy_streams_have_no_credit_experts(self):
        for name in ("http", "seqpacket", "half-close", "ttrpc", "many-short", "refused"):
            with self.subTest(capture=name):
                found = experts(real(name))
                self.assertEqual({n: m for n, m in found.items() if any(e in m for e in CREDIT_EXPERTS)}, {})


class ConnectionState(unittest.TestCase):
    def test_refused(self):
        found = experts(real("refused"))
        self.assertIn("Connection refused: RST answers the REQUEST", found[2])
        rows = fields(real("refused"), "virtio_vsock.analysis.request_frame", display_filter="frame.number == 2")
        self.assertEqual(rows[0]["virtio_vsock.analysis.request_frame"], "1")
        out = tshark("-r", real("refused"), "-q", "-z", "conv,vsockmon")
        self.assertRegex(out, r"refused\n")

    def test_half_close(self):
        conn = manifest("half-close")[0]
        rows = fields(real("half-close"), "vsockmon.src_port", "virtio_vsock.flags.shutdown_send",
                      "virtio_vsock.flags.shutdown_rcv", "virtio_vsock.analysis.state",
                      display_filter="virtio_vsock.op == 4")
        first = rows[0]
        self.assertEqual(int(first["vsockmon.src_port"]), conn["client_port"])
        self.assertEqual((first["virtio_vsock.flags.shutdown_send"], first["virtio_vsock.flags.shutdown_rcv"]),
                         ("1", "0"))
        self.assertEqual(first["virtio_vsock.analysis.state"], "3")	# half-closed
        # the server still sends its reply after the client's half-close
        after = fields(real("half-close"), "virtio_vsock.len",
                       display_filter="vsockmon.src_port == %d && virtio_vsock.op == 5" % conn["server_port"])
        self.assertEqual(sum(int(r["virtio_vsock.len"]) for r in after), conn["bytes_s2c"])
        self.assertRegex(tshark("-r", real("half-close"), "-q", "-z", "conv,vsockmon"), r"closed\n")

    def test_handshake_time(self):
        rows = fields(real("http"), "virtio_vsock.analysis.handshake_time", "virtio_vsock.analysis.request_frame",
                      display_filter="virtio_vsock.op == 2")
        self.assertEqual(rows[0]["virtio_vsock.analysis.request_frame"], "1")
        self.assertGreater(float(rows[0]["virtio_vsock.analysis.handshake_time"]), 0)

    def test_many_short_connections(self):
        conns = manifest("many-short")
        out = tshark("-r", real("many-short"), "-q", "-z", "conv,vsockmon")
        self.assertEqual(out.count(" closed\n"), len(conns))


class CraftedFaults(unittest.TestCase):
    """Constant expert summaries (Expert Info groups them by kind), details in fields."""

    ANALYSIS = ("frame.number", "virtio_vsock.analysis.credit", "virtio_vsock.analysis.bytes_in_flight",
                "virtio_vsock.analysis.credit_update_frame", "virtio_vsock.analysis.credit_request_frame",
                "virtio_vsock.analysis.credit_update_delay", "virtio_vsock.analysis.stall_frame",
                "virtio_vsock.analysis.stall_time", "virtio_vsock.analysis.previous_buf_alloc",
                "virtio_vsock.analysis.gap_bytes", "virtio_vsock.analysis.cut_message_frame",
                "virtio_vsock.analysis.cut_message_bytes", "virtio_vsock.len")

    @classmethod
    def setUpClass(cls):
        cls.found = experts(sample("crafted", "analysis.pcap"), extra=("-2",))
        cls.rows = {int(r["frame.number"]): r
                    for r in fields(sample("crafted", "analysis.pcap"), *cls.ANALYSIS, extra=("-2",))}

    def expert(self, frame, text):
        self.assertIn(text, self.found[frame])

    def field(self, frame, name):
        return self.rows[frame]["virtio_vsock.analysis." + name]

    def test_credit(self):
        self.expert(3, "Zero credit: the peer's buffer is full, the sender must stall")
        self.assertEqual((self.field(3, "credit"), self.field(3, "bytes_in_flight")), ("10", "10"))
        self.expert(4, "Sender exceeded the credit granted")
        self.assertEqual((self.field(4, "credit"), self.rows[4]["virtio_vsock.len"]), ("0", "1"))
        self.expert(5, "CREDIT_REQUEST answered by a CREDIT_UPDATE")
        self.assertEqual(self.field(5, "credit_update_frame"), "6")
        self.expert(6, "CREDIT_UPDATE answers a CREDIT_REQUEST")
        self.assertEqual(self.field(6, "credit_request_frame"), "5")
        # one CREDIT_UPDATE, two findings, each with its own time: the request
        # (frame 5) came 1 ms before, the window closed (frame 3) 3 ms before
        self.assertEqual(self.field(6, "credit_update_delay"), "0.001000000")
        self.expert(6, "Credit update reopens a closed window")
        self.assertEqual((self.field(6, "stall_frame"), self.field(6, "stall_time")), ("3", "0.003000000"))
        self.expert(6, "Receive buffer size changed")
        self.assertEqual(self.field(6, "previous_buf_alloc"), "10")

    def test_missing_segments(self):
        self.expert(7, "fwd_cnt acknowledges bytes that were not captured")
        self.assertEqual(self.field(7, "gap_bytes"), "19")
        self.expert(8, "Previous segment(s) not captured")
        self.assertEqual(self.field(8, "gap_bytes"), "19")
        rows = fields(sample("crafted", "analysis.pcap"), "virtio_vsock.seq", display_filter="frame.number == 8")
        self.assertEqual(rows[0]["virtio_vsock.seq"], "30")	# offsets resynchronised, kept going

    def test_findings_sharing_a_packet_keep_their_own_details(self):
        # frame 24: 5 bytes of its own direction were lost (acknowledged in
        # frame 23) and its fwd_cnt acknowledges 4 host bytes never captured
        self.expert(24, "fwd_cnt acknowledges bytes that were not captured")
        self.expert(24, "Previous segment(s) not captured")
        self.assertEqual(self.field(24, "gap_bytes"), "4,5")
        # frame 29: an RST cuts the host's open message (28) and the guest's (27)
        self.expert(29, "SEQPACKET message cut: the connection ended before its EOM")
        self.assertEqual((self.field(29, "cut_message_frame"), self.field(29, "cut_message_bytes")),
                         ("28,27", "10,9"))

    def test_connection(self):
        self.expert(10, "Data in a direction that was shut down")
        # frame 9 shut the client's sending side only: the RST aborts the other
        self.expert(11, "Connection reset with one direction still open (after a half-close)")
        self.assertNotIn("without a shutdown", self.found[11])
        self.expert(15, "Connection reset without a shutdown")
        self.expert(13, "Data before the connection was established")
        self.expert(20, "SEQPACKET message cut: the connection ended before its EOM")
        self.assertEqual((self.field(20, "cut_message_frame"), self.field(20, "cut_message_bytes")), ("18", "17"))

    def test_clean_frames_stay_clean(self):
        for frame in (1, 12, 16, 18, 19):
            self.assertEqual(self.found[frame], "")

    def test_expert_summaries_group_by_kind(self):
        # the real stall capture: many stalls, one summary text for all of them
        found = experts(real("credit-stall"))
        zero = {m for m in found.values() if "Zero credit" in m}
        self.assertEqual(len(zero), 1)
        self.assertGreater(sum("Zero credit" in m for m in found.values()), 5)


class KernelCreditAndClose(unittest.TestCase):
    """What Linux's virtio_transport_common.c does, not what a naive reading of
    the counters says: a receiver shrinking its buffer, a sender with a small
    buffer of its own, an RST after a half-close."""

    GUEST, HOST = (3, 40000), (2, 8080)
    SHRUNK = "Sent beyond a shrunk receive buffer, within the credit of the larger one before"
    EXCEEDED = "Sender exceeded the credit granted"

    def rows(self, capture, *names, passes=("-2",)):
        return {int(r["frame.number"]): r
                for r in fields(capture, "frame.number", "_ws.expert.message", *names, extra=passes)}

    def test_data_sent_before_a_shrink_arrived_is_no_violation(self):
        # the host shrinks its buffer from 1000 to 500 bytes (setsockopt: the
        # kernel's virtio_transport_notify_buffer_size() sends a CREDIT_UPDATE)
        # while 600 guest bytes are in flight; the guest queued 300 more before
        # that update reached it: up to the old window's end (fwd_cnt 0 + 1000)
        # that is credit it had, beyond it a violation whatever it saw
        g, h = self.GUEST, self.HOST
        capture = write_capture([
            vsock_frame(g, h, REQUEST), vsock_frame(h, g, RESPONSE, buf_alloc=1000),
            vsock_frame(g, h, RW, b"a" * 600),
            vsock_frame(h, g, CREDIT_UPDATE, buf_alloc=500),	# 4: the shrink
            vsock_frame(g, h, RW, b"b" * 300),	# 5: 900 <= 1000, sent before 4 arrived
            vsock_frame(g, h, RW, b"c" * 200),	# 6: 1100 > 1000: no buffer ever allowed it
            vsock_frame(h, g, CREDIT_UPDATE, buf_alloc=300, fwd_cnt=600),	# 7: shrinks again, window 900
            vsock_frame(g, h, RW, b"d" * 100),	# 8: > 900, and beyond the old window too
            vsock_frame(h, g, CREDIT_UPDATE, buf_alloc=500, fwd_cnt=1200),	# 9: window 1700
            vsock_frame(g, h, RW, b"e" * 400)])	# 10: 1600: within the window, no grace needed
        names = ("virtio_vsock.analysis.credit", "virtio_vsock.analysis.bytes_in_flight",
                 "virtio_vsock.analysis.previous_buf_alloc")
        for passes in ((), ("-2",)):
            with self.subTest(passes=passes):
                rows = self.rows(capture, *names, passes=passes)
                self.assertEqual((rows[4]["virtio_vsock.analysis.previous_buf_alloc"],
                                  rows[4]["_ws.expert.message"]), ("1000", "Receive buffer size changed"))
                # the credit field stays what the latest announcement leaves
                self.assertEqual((rows[5]["virtio_vsock.analysis.credit"],
                                  rows[5]["virtio_vsock.analysis.bytes_in_flight"]), ("0", "900"))
                self.assertEqual(rows[5]["_ws.expert.message"], self.SHRUNK)
                self.assertEqual(rows[6]["_ws.expert.message"], self.EXCEEDED)
                self.assertEqual(rows[8]["_ws.expert.message"], self.EXCEEDED)
                self.assertEqual((rows[10]["virtio_vsock.analysis.credit"], rows[10]["_ws.expert.message"]),
                                 ("500", ""))

    def test_two_shrinks_keep_the_widest_window(self):
        # two shrinks in a row before the sender could see either: the first
        # window (1000) still bounds what it may have sent
        g, h = self.GUEST, self.HOST
        capture = write_capture([
            vsock_frame(g, h, REQUEST), vsock_frame(h, g, RESPONSE, buf_alloc=1000),
            vsock_frame(g, h, RW, b"a" * 400),
            vsock_frame(h, g, CREDIT_UPDATE, buf_alloc=600),
            vsock_frame(h, g, CREDIT_UPDATE, buf_alloc=200),
            vsock_frame(g, h, RW, b"b" * 600),	# 6: 1000: the first window's end
            vsock_frame(g, h, RW, b"c")])	# 7: one byte beyond every window
        rows = self.rows(capture)
        self.assertEqual(rows[6]["_ws.expert.message"], self.SHRUNK)
        self.assertEqual(rows[7]["_ws.expert.message"], self.EXCEEDED)

    def test_sender_is_judged_by_the_peers_buffer_not_its_own(self):
        # mainline's "vsock/virtio: cap TX credit to local buffer size" makes a
        # sender stop at min(peer buf_alloc, own buf_alloc); older kernels use
        # the peer's alone, so only that is a limit: a guest announcing a
        # 100-byte buffer may send 1000 bytes into the host's 1000
        g, h = self.GUEST, self.HOST
        capture = write_capture([
            vsock_frame(g, h, REQUEST, buf_alloc=100), vsock_frame(h, g, RESPONSE, buf_alloc=1000),
            vsock_frame(g, h, RW, b"a" * 300, buf_alloc=100),
            vsock_frame(g, h, RW, b"b" * 700, buf_alloc=100)])
        rows = self.rows(capture, "virtio_vsock.analysis.credit")
        self.assertEqual((rows[3]["virtio_vsock.analysis.credit"], rows[3]["_ws.expert.message"]), ("1000", ""))
        self.assertEqual((rows[4]["virtio_vsock.analysis.credit"], rows[4]["_ws.expert.message"]),
                         ("700", "Zero credit: the peer's buffer is full, the sender must stall"))

    def test_reset_after_a_half_close_names_the_open_direction(self):
        # Linux closes both directions before its RST (virtio_transport_close()
        # sends SHUTDOWN RCV|SEND unless the peer shut both already): an RST
        # after a half-close aborts the direction still open; there was a
        # shutdown, though, and the expert must not say otherwise
        g, h = self.GUEST, self.HOST
        capture = write_capture([
            vsock_frame(g, h, REQUEST), vsock_frame(h, g, RESPONSE),
            vsock_frame(g, h, RW, b"request"),
            vsock_frame(g, h, SHUTDOWN, flags=2),	# 4: the guest's shutdown(SHUT_WR)
            vsock_frame(h, g, RW, b"part of the answer"),	# 5
            vsock_frame(h, g, RST)])	# 6: the host aborts its own direction
        for passes in ((), ("-2",)):
            with self.subTest(passes=passes):
                rows = self.rows(capture, "virtio_vsock.analysis.state", passes=passes)
                self.assertEqual(rows[4]["virtio_vsock.analysis.state"], "3")	# half-closed
                self.assertEqual(rows[5]["_ws.expert.message"], "")
                self.assertEqual((rows[6]["virtio_vsock.analysis.state"], rows[6]["_ws.expert.message"]),
                                 ("6", "Connection reset with one direction still open (after a half-close)"))
        self.assertIn(" reset", tshark("-r", capture, "-q", "-z", "conv,vsockmon"))

    def test_close_after_a_half_close_is_orderly(self):
        # what the kernel does after the guest's shutdown(SHUT_WR): the host's
        # close() sends SHUTDOWN RCV|SEND, the guest (its peer shut both) the
        # RST; or both shut their sending side, then one RST
        g, h = self.GUEST, self.HOST
        for host_shutdown in (3, 2):
            with self.subTest(host_shutdown=host_shutdown):
                capture = write_capture([
                    vsock_frame(g, h, REQUEST), vsock_frame(h, g, RESPONSE),
                    vsock_frame(g, h, SHUTDOWN, flags=2), vsock_frame(h, g, RW, b"answer"),
                    vsock_frame(h, g, SHUTDOWN, flags=host_shutdown), vsock_frame(g, h, RST)])
                rows = self.rows(capture, "virtio_vsock.analysis.state")
                self.assertEqual(rows[5]["virtio_vsock.analysis.state"], "4")	# closing
                self.assertEqual((rows[6]["virtio_vsock.analysis.state"], rows[6]["_ws.expert.message"]),
                                 ("5", "Connection closed after shutdown"))


class TtrpcAcrossSegments(unittest.TestCase):
    """ttrpc-split.pcap: exact desegment lengths, several PDUs in one segment,
    a PDU starting mid-segment, three responses in one packet."""

    def test_calls_in_both_passes(self):
        for passes in ((), ("-2",)):
            with self.subTest(passes=passes):
                rows = {int(r["frame.number"]): r for r in fields(
                    sample("crafted", "ttrpc-split.pcap"), "frame.number", "ttrpc.method", "ttrpc.stream_id",
                    "ttrpc.response_to", "_ws.col.Info", display_filter="ttrpc", extra=passes)}
                self.assertEqual(sorted(rows), [5, 6, 7])
                self.assertEqual(rows[5]["ttrpc.method"], "Check,ListInterfaces")
                self.assertEqual(rows[6]["ttrpc.method"], "GetGuestDetails")
                self.assertEqual(rows[7]["ttrpc.stream_id"], "1,3,5")
                self.assertEqual(rows[7]["ttrpc.response_to"], "5,5,6")
                self.assertEqual(rows[5]["_ws.col.Info"],
                                 "Request 1 /grpc.health.v1.Health/Check, Request 3 /agent.AgentService/ListInterfaces")

    def test_reassembly_off_skips_the_rest_of_a_cut_message(self):
        """With stream reassembly off a cut message's length says where the next one
        starts: its rest is skipped, the messages after it decoded (the first message
        being cut no longer loses the connection, both directions)."""
        for passes in ((), ("-2",)):
            with self.subTest(passes=passes):
                rows = {int(r["frame.number"]): r for r in fields(
                    sample("crafted", "ttrpc-split.pcap"), "frame.number", "ttrpc.cut_from", "ttrpc.stream_id",
                    "_ws.col.Info", display_filter="ttrpc",
                    extra=passes + ("-o", "virtio_vsock.reassemble_stream:FALSE"))}
                self.assertEqual(sorted(rows), [3, 4, 5, 6, 7])
                self.assertEqual(rows[3]["_ws.col.Info"], "[cut message]")
                self.assertEqual((rows[4]["ttrpc.cut_from"], rows[6]["ttrpc.cut_from"]), ("3", "5"))
                self.assertEqual(rows[5]["_ws.col.Info"], "[rest of a cut message], "
                                 "Request 3 /agent.AgentService/ListInterfaces, [cut message]")
                self.assertEqual(rows[6]["_ws.col.Info"], "[rest of a cut message]")
                self.assertEqual(rows[7]["ttrpc.stream_id"], "1,3,5")

    def test_segments_point_to_their_pdu(self):
        rows = {int(r["frame.number"]): r["virtio_vsock.segment.reassembled_in"] for r in fields(
            sample("crafted", "ttrpc-split.pcap"), "frame.number", "virtio_vsock.segment.reassembled_in",
            extra=("-2",))}
        self.assertEqual((rows[3], rows[4], rows[5]), ("5", "5", "6"))


class Ttrpc(unittest.TestCase):
    def test_call_decoded_and_matched(self):
        conn = manifest("ttrpc")[0]
        rows = fields(real("ttrpc"), "frame.number", "ttrpc.type", "ttrpc.stream_id", "ttrpc.service",
                      "ttrpc.method", "ttrpc.status.code", "ttrpc.response_in", "ttrpc.response_to", "ttrpc.time",
                      display_filter="ttrpc", extra=("-2",))
        request, response = rows
        self.assertEqual((request["ttrpc.service"], request["ttrpc.method"]), (conn["service"], conn["method"]))
        self.assertEqual(int(request["ttrpc.stream_id"]), conn["stream_id"])
        self.assertEqual(request["ttrpc.response_in"], response["frame.number"])
        self.assertEqual(response["ttrpc.response_to"], request["frame.number"])
        self.assertEqual(response["ttrpc.status.code"], "0")
        self.assertGreater(float(response["ttrpc.time"]), 0)

    def test_payload_goes_to_protobuf(self):
        rows = fields(real("ttrpc"), "frame.protocols", display_filter="ttrpc")
        self.assertTrue(all(r["frame.protocols"].endswith("ttrpc:protobuf") for r in rows), rows)

    def test_payload_decoded_by_type_with_the_users_proto(self):
        protos = tempfile.mkdtemp(prefix="vsockmon-protos-")
        self.addCleanup(shutil.rmtree, protos, True)
        os.chmod(protos, 0o755)
        proto = os.path.join(protos, "containerd-task.proto")
        with open(os.path.join(os.path.dirname(__file__), "protos", "containerd-task.proto")) as src, \
                open(proto, "w") as dst:
            dst.write(src.read())
        os.chmod(proto, 0o644)
        home = make_home({"protobuf_search_paths": '"%s","TRUE"\n' % protos})
        self.addCleanup(shutil.rmtree, home, True)
        rows = fields(real("ttrpc"), "protobuf.message.name", "protobuf.field.name", display_filter="ttrpc",
                      home=home)
        self.assertEqual([(r["protobuf.message.name"], r["protobuf.field.name"]) for r in rows],
                         [("containerd.task.v2.ConnectRequest", "id"),
                          ("containerd.task.v2.ConnectResponse", "shim_pid,task_pid,version")])
        # without the .proto, protobuf still shows the fields, by number only
        bare = fields(real("ttrpc"), "protobuf.message.name", display_filter="ttrpc")
        self.assertNotIn("containerd.task.v2.ConnectRequest", [r["protobuf.message.name"] for r in bare])

    def test_decode_as_overrides_the_default_port(self):
        self.assertEqual(frame_numbers(real("ttrpc"), "ttrpc", extra=("-d", "vsockmon.port==1024,http")), [])

    def test_other_traffic_on_port_1024_is_not_ttrpc(self):
        # tcpdump's capture: a guest client auto-bound to port 1024 sending text
        rows = fields(readable_copy(os.path.join(SHARED, "peer-fixtures", "tcpdump", "vsock-1.pcapng")),
                      "frame.protocols", display_filter="virtio_vsock.op == 5")
        self.assertEqual({r["frame.protocols"] for r in rows}, {"vsockmon:virtio_vsock:data"})



class ManyConnections(unittest.TestCase):
    """3,000 connections, all opened before any carries data: the connection
    table grows several times while connections are open (they must be found
    again after it moves), their records interleave in the capture-wide log,
    and every connection's first-pass state is released at its RST before
    the second pass reads the records."""

    CONNS = 3000
    HOST, SERVER_PORT, BUF = 2, 5000, 65536

    @staticmethod
    def frame(src, dst, sport, dport, op, payload=b""):
        return vsock_frame((src, sport), (dst, dport), op, payload, buf_alloc=ManyConnections.BUF)

    @classmethod
    def setUpClass(cls):
        frames = []	# (connection index, bytes)
        # scattered guests and ports, so that pairs collide in the table (sequential
        # ports would each get a slot of their own)
        rng = random.Random(42)
        guests = [rng.randrange(3, 1 << 20) for _ in range(cls.CONNS)]
        ports = rng.sample(range(1024, 65536), cls.CONNS)
        h, sp = cls.HOST, cls.SERVER_PORT
        for i, (g, port) in enumerate(zip(guests, ports)):
            frames.append((i, cls.frame(g, h, port, sp, 1)))
            frames.append((i, cls.frame(h, g, sp, port, 2)))
        for i, (g, port) in enumerate(zip(guests, ports)):
            frames.append((i, cls.frame(g, h, port, sp, 5, b"ping")))
            frames.append((i, cls.frame(h, g, sp, port, 5, b"pong!!")))
            frames.append((i, cls.frame(g, h, port, sp, 3)))
        cls.expected_streams = [i for i, _ in frames]
        cls.capture = write_capture([data for _, data in frames])

    def test_every_frame_finds_its_connection_on_both_passes(self):
        for passes in ((), ("-2",)):
            with self.subTest(passes=passes):
                rows = fields(self.capture, "vsockmon.stream", extra=passes)
                self.assertEqual([int(r["vsockmon.stream"]) for r in rows], self.expected_streams)

    def test_data_analysis_survives_the_release_of_first_pass_state(self):
        rows = fields(self.capture, "vsockmon.stream", "virtio_vsock.seq", "virtio_vsock.nxtseq",
                      "virtio_vsock.analysis.credit", "virtio_vsock.analysis.bytes_in_flight",
                      display_filter="virtio_vsock.op == 5", extra=("-2",))
        self.assertEqual(len(rows), 2 * self.CONNS)
        want = []
        for i in range(self.CONNS):
            want.append((i, 0, 4, self.BUF, 4))
            want.append((i, 0, 6, self.BUF, 6))
        got = [tuple(int(r[k]) for k in ("vsockmon.stream", "virtio_vsock.seq", "virtio_vsock.nxtseq",
                                         "virtio_vsock.analysis.credit",
                                         "virtio_vsock.analysis.bytes_in_flight")) for r in rows]
        self.assertEqual(got, want)

    def test_every_connection_is_reset_in_the_table(self):
        out = tshark("-r", self.capture, "-q", "-z", "conv,vsockmon")
        self.assertEqual(out.count(" reset"), self.CONNS, out[-600:])


class CreditAnswersFarBack(unittest.TestCase):
    """Every guest asks for credit, then hundreds of data packets of the
    other connections go by before the host answers, last asker first: the
    first pass must mark each request answered (found again among thousands
    of records), and mark nothing else."""

    CONNS = 300
    HOST, SERVER_PORT = 2, 6000
    CREDIT_REQUEST = 7

    @classmethod
    def setUpClass(cls):
        guests = [(100 + i, 2000 + i) for i in range(cls.CONNS)]
        host = lambda: (cls.HOST, cls.SERVER_PORT)	# noqa: E731
        frames = []
        for g in guests:
            frames += [vsock_frame(g, host(), REQUEST), vsock_frame(host(), g, RESPONSE)]
        cls.requests = {}
        for i, g in enumerate(guests):
            cls.requests[i] = len(frames) + 1
            frames.append(vsock_frame(g, host(), cls.CREDIT_REQUEST))
            # data of the connections before this one: records between the request and its answer
            frames += [vsock_frame(guests[j], host(), RW, b"x") for j in range(0, i, 7)]
        cls.answers = {}
        for i in reversed(range(cls.CONNS)):
            cls.answers[i] = len(frames) + 1
            frames.append(vsock_frame(host(), guests[i], CREDIT_UPDATE))
        cls.capture = write_capture(frames)

    def test_each_request_is_answered_by_its_update(self):
        rows = fields(self.capture, "frame.number", "virtio_vsock.analysis.credit_update_frame",
                      display_filter="virtio_vsock.analysis.credit_update_frame", extra=("-2",))
        got = {int(r["frame.number"]): int(r["virtio_vsock.analysis.credit_update_frame"]) for r in rows}
        self.assertEqual(got, {self.requests[i]: self.answers[i] for i in range(self.CONNS)})

    def test_each_update_names_its_request(self):
        rows = fields(self.capture, "frame.number", "virtio_vsock.analysis.credit_request_frame",
                      display_filter="virtio_vsock.analysis.credit_request_frame", extra=("-2",))
        got = {int(r["frame.number"]): int(r["virtio_vsock.analysis.credit_request_frame"]) for r in rows}
        self.assertEqual(got, {self.answers[i]: self.requests[i] for i in range(self.CONNS)})


def pb_varint(n):
    out = b""
    while n > 0x7f:
        out += bytes([n & 0x7f | 0x80])
        n >>= 7
    return out + bytes([n])


def pb_bytes(number, value):
    return pb_varint(number << 3 | 2) + pb_varint(len(value)) + value


def ttrpc_message(stream_id, msg_type, body, flags=0):
    return struct.pack(">IIBB", len(body), stream_id, msg_type, flags) + body


def ttrpc_request(stream_id, service, method, payload, flags=0):
    body = pb_bytes(1, service.encode()) + pb_bytes(2, method.encode()) + pb_bytes(3, payload)
    return ttrpc_message(stream_id, 1, body, flags)


class TtrpcEdges(unittest.TestCase):
    """ttrpc beyond one unary call per segment, on crafted captures."""

    CLIENT, SERVER = (3, 40001), (2, 1024)

    def capture(self, *rws):
        c, s = self.CLIENT, self.SERVER
        return write_capture([vsock_frame(c, s, REQUEST), vsock_frame(s, c, RESPONSE)] +
                             [vsock_frame(src, dst, RW, data) for src, dst, data in rws])

    def test_bad_method_payload_spoils_nothing_else(self):
        # request 1's payload claims 100 bytes and has 2: protobuf throws on it
        c, s = self.CLIENT, self.SERVER
        capture = self.capture(
            (c, s, ttrpc_request(1, "svc", "M1", b"\x0a\x64ab") + ttrpc_request(3, "svc", "M2", b"\x08\x01")),
            (s, c, ttrpc_message(1, 2, b"") + ttrpc_message(3, 2, b"")))
        rows = fields(capture, "ttrpc.method", "ttrpc.response_in", "ttrpc.response_to", "_ws.col.Info",
                      "_ws.malformed", display_filter="ttrpc", extra=("-2",))
        self.assertEqual((rows[0]["ttrpc.method"], rows[0]["ttrpc.response_in"]), ("M1,M2", "4,4"))
        self.assertIn("Request 1 /svc/M1, Request 3 /svc/M2", rows[0]["_ws.col.Info"])
        self.assertNotEqual(rows[0]["_ws.malformed"], "")	# the bad payload is marked
        self.assertEqual(rows[1]["ttrpc.response_to"], "3,3")
        self.assertEqual(rows[1]["_ws.col.Info"], "Response 1 /svc/M1 OK, Response 3 /svc/M2 OK")

    def test_payload_length_beyond_an_int_is_malformed_not_a_dissector_bug(self):
        # a payload field claiming 2^31 bytes: Wireshark's protobuf dissector
        # casts that length to an int and fails an assertion on it (a
        # "[Dissector bug, protocol ProtoBuf ...]"); fuzz_dissector_seq found it
        # (samples/crafted-fuzz/ttrpc-protobuf-huge-length.pcap)
        c, s = self.CLIENT, self.SERVER
        huge = pb_varint(1 << 3 | 2) + pb_varint(1 << 31) + b"x"
        capture = self.capture(
            (c, s, ttrpc_request(1, "svc", "M1", huge) + ttrpc_request(3, "svc", "M2", b"\x08\x01")))
        self.assertNotIn("Dissector bug", tshark("-r", capture, "-V"))
        rows = fields(capture, "ttrpc.method", "_ws.col.Info", "_ws.malformed", display_filter="ttrpc")
        self.assertEqual(rows[0]["ttrpc.method"], "M1,M2")	# the next call is still read
        self.assertIn("Request 1 /svc/M1, Request 3 /svc/M2", rows[0]["_ws.col.Info"])
        self.assertNotEqual(rows[0]["_ws.malformed"], "")	# the bad payload is marked

    def proto_home(self):
        """A HOME whose protobuf search paths hold protos/vsockmon-nested.proto."""
        protos = tempfile.mkdtemp(prefix="vsockmon-protos-")
        self.addCleanup(shutil.rmtree, protos, True)
        os.chmod(protos, 0o755)
        proto = os.path.join(protos, "vsockmon-nested.proto")
        shutil.copyfile(os.path.join(os.path.dirname(__file__), "protos", "vsockmon-nested.proto"), proto)
        os.chmod(proto, 0o644)
        home = make_home({"protobuf_search_paths": '"%s","TRUE"\n' % protos})
        self.addCleanup(shutil.rmtree, home, True)
        return home

    def test_nested_length_beyond_an_int_is_no_dissector_bug(self):
        # with a .proto in which NestRequest.node is a message, protobuf reads
        # node's bytes as fields, and a length of 2^31 there fails the same
        # assertion as at the top level (proto.c "length >= 0"): the rest of
        # the frame was lost, and tshark aborted under
        # WIRESHARK_ABORT_ON_DISSECTOR_BUG; in a Request's payload and a Response's
        c, s = self.CLIENT, self.SERVER
        node = pb_varint(1 << 3 | 2) + pb_varint(1 << 31) + b"x"	# Node.name claiming 2^31 bytes
        payload = pb_bytes(1, node)
        capture = self.capture(
            (c, s, ttrpc_request(1, "vsockmon.test.Nest", "Call", payload) + ttrpc_request(3, "svc", "M2", b"\x08\x01")),
            (s, c, ttrpc_message(1, 2, pb_bytes(2, payload)) + ttrpc_message(3, 2, b"")))
        home = self.proto_home()
        self.assertNotIn("Dissector bug", tshark("-r", capture, "-V", home=home))
        rows = fields(capture, "ttrpc.method", "_ws.col.Info", "_ws.expert.message", "_ws.malformed",
                      display_filter="ttrpc", home=home)
        self.assertEqual(rows[0]["ttrpc.method"], "Call,M2")	# the next call is still read
        self.assertEqual(rows[1]["_ws.col.Info"], "Response 1 /vsockmon.test.Nest/Call OK, Response 3 /svc/M2 OK")
        for row in rows:
            self.assertIn("nesting level 1 (payload offset 2) claims 2147483648 bytes", row["_ws.expert.message"])
        # without a .proto protobuf reads no nested message: nothing to say
        rows = fields(capture, "_ws.expert.message", "_ws.malformed", display_filter="ttrpc")
        self.assertEqual([(r["_ws.expert.message"], r["_ws.malformed"]) for r in rows], [("", "")] * 2)

    def test_top_level_length_is_checked_past_nested_fields(self):
        # nested fields that protobuf may not read into (bytes, or no .proto)
        # must not hide a top-level length of 2^31 after them
        c, s = self.CLIENT, self.SERVER
        huge = pb_varint(2 << 3 | 2) + pb_varint(1 << 31) + b"x"
        nested_huge = pb_bytes(1, pb_varint(1 << 3 | 2) + pb_varint(1 << 31) + b"x")
        nested_beyond = pb_bytes(1, b"\x0a\x7f\x00")	# a length beyond the payload, one level down
        capture = self.capture(
            (c, s, ttrpc_request(1, "vsockmon.test.Nest", "Call", nested_huge + huge) +
             ttrpc_request(3, "vsockmon.test.Nest", "Call", nested_beyond + huge) +
             ttrpc_request(5, "svc", "M5", b"\x08\x01")))
        for home in (None, self.proto_home()):
            self.assertNotIn("Dissector bug", tshark("-r", capture, "-V", home=home))
            rows = fields(capture, "ttrpc.method", "_ws.malformed", display_filter="ttrpc", home=home)
            self.assertEqual(rows[0]["ttrpc.method"], "Call,Call,M5")
            self.assertEqual(rows[0]["_ws.malformed"].count("_ws.malformed"), 2, home)

    def test_nesting_deeper_than_protobuf_goes_is_no_dissector_bug(self):
        # a recursive message type lets a payload nest as deep as it likes;
        # protobuf adds 2 to the dissection depth per level and asserts
        # below gui.max_tree_depth (500: about 248 levels; packet.c
        # "dissection_depth < gui_max_tree_depth"), and with a tree its tree
        # gets too deep 2 levels sooner (a DissectorError): either way the
        # rest of the frame was lost
        def nested(depth):
            node = pb_bytes(1, b"leaf")
            for _ in range(depth):
                node = pb_bytes(3, node)	# Node.child
            return pb_bytes(1, node)	# NestRequest.node

        c, s = self.CLIENT, self.SERVER
        capture = self.capture(
            (c, s, ttrpc_request(1, "vsockmon.test.Nest", "Call", nested(100))),
            (c, s, ttrpc_request(3, "vsockmon.test.Nest", "Call", nested(300)) + ttrpc_request(5, "svc", "M5", b"\x08\x01")))
        home = self.proto_home()
        for max_depth in ("500", "101"):
            prefs = ("-o", "gui.max_tree_depth:" + max_depth)
            self.assertNotIn("Dissector bug", tshark("-r", capture, "-V", *prefs, home=home), max_depth)
            # no tree: the summary line of frame 4 was empty
            summary = tshark("-r", capture, *prefs, home=home).splitlines()
            self.assertTrue(summary[3].endswith("Request 3 /vsockmon.test.Nest/Call, Request 5 /svc/M5"), summary[3])
        rows = fields(capture, "ttrpc.method", "protobuf.message.name", "_ws.expert.message", display_filter="ttrpc",
                      home=home)
        # 100 levels are still decoded by type, without a word
        self.assertEqual(rows[0]["protobuf.message.name"].split(","),
                         ["vsockmon.test.NestRequest"] + ["vsockmon.test.Node"] * 101)
        self.assertEqual(rows[0]["_ws.expert.message"], "")
        self.assertEqual(rows[1]["ttrpc.method"], "Call,M5")
        self.assertIn("nested 247 levels deep", rows[1]["_ws.expert.message"])

    def oversized_capture(self, split_header):
        """Request 1, then Request 3 with a body of 4 MiB + 1 (one byte over
        ttrpc's limit) across 70 frames, then Request 5 in its last frame;
        the server answers 3 with RESOURCE_EXHAUSTED. split_header: frame 3
        ends 4 bytes into Request 3's header. Returns the capture and the
        client's RW frame numbers."""
        c, s = self.CLIENT, self.SERVER
        big = ttrpc_request(3, "svc", "Big", pb_bytes(1, b"A" * ((4 << 20) + 1 - 20)))
        self.assertEqual(struct.unpack(">I", big[:4])[0], (4 << 20) + 1)
        first = ttrpc_request(1, "svc", "M1", b"\x08\x01")
        stream = first + big + ttrpc_request(5, "svc", "M5", b"\x08\x01")
        cuts = [len(first) + (4 if split_header else 100)]
        while len(stream) - cuts[-1] > 60000:
            cuts.append(cuts[-1] + 60000)
        cuts = [0] + cuts + [len(stream)]
        credit = dict(buf_alloc=1 << 24)	# room for the whole body
        frames = [vsock_frame(c, s, REQUEST, **credit), vsock_frame(s, c, RESPONSE, **credit)]
        frames += [vsock_frame(c, s, RW, stream[a:b], **credit) for a, b in zip(cuts, cuts[1:])]
        exhausted = pb_bytes(1, b"\x08\x08")	# Response.status {code: RESOURCE_EXHAUSTED}
        frames.append(vsock_frame(s, c, RW, ttrpc_message(1, 2, b"") + ttrpc_message(3, 2, exhausted) +
                                  ttrpc_message(5, 2, b""), **credit))
        return write_capture(frames), list(range(3, len(frames)))

    def test_oversized_message_is_discarded_and_the_stream_goes_on(self):
        # ttrpc's receiver reads the body of a message over 4 MiB, discards
        # it, answers the call with an error status and reads the next
        # header (containerd/ttrpc channel.go recv()); this showed the header
        # as "Not a ttrpc header" and the body's bytes as data or as headers
        for split_header, passes in ((False, ()), (False, ("-2",)),
                                     (False, ("-2", "-o", "virtio_vsock.reassemble_stream:FALSE")),
                                     (True, ()), (True, ("-2",))):
            with self.subTest(split_header=split_header, passes=passes):
                capture, client = self.oversized_capture(split_header)
                header = client[1] if split_header else client[0]
                rows = {int(r["frame.number"]): r for r in fields(
                    capture, "frame.number", "ttrpc.method", "ttrpc.response_to", "_ws.col.Info",
                    "_ws.expert.message", display_filter="ttrpc", extra=passes)}
                # the stream goes on after the body: request 5, the answers
                self.assertEqual(rows.get(client[-1], {}).get("_ws.col.Info"),
                                 "[body of an oversized message, discarded], Request 5 /svc/M5")
                self.assertEqual(rows[client[-1]]["ttrpc.method"], "M5")
                answer = rows[client[-1] + 1]
                self.assertEqual(answer["_ws.col.Info"],
                                 "Response 1 /svc/M1 OK, Response 3 /svc/Big RESOURCE_EXHAUSTED, Response 5 /svc/M5 OK")
                self.assertEqual(answer["ttrpc.response_to"], "3,%d,%d" % (header, client[-1]))
                # the oversized message: its header, what its call was, an expert
                self.assertEqual(rows[header]["ttrpc.method"], "M1,Big" if not split_header else "Big")
                self.assertIn("Request 3 /svc/Big [oversized: 4194305 bytes, discarded]", rows[header]["_ws.col.Info"])
                self.assertIn("Message of 4194305 bytes is over ttrpc's limit of 4194304",
                              rows[header]["_ws.expert.message"])
                # the frames in between: its body, not headers
                body = {int(r["frame.number"]): r for r in fields(
                    capture, "frame.number", "ttrpc.discarded_from", "_ws.col.Info", display_filter="ttrpc.discarded",
                    extra=passes)}
                self.assertEqual(sorted(body), client[client.index(header):])	# the header's frame has its start
                for n in client[client.index(header) + 1:-1]:
                    self.assertEqual((body[n]["_ws.col.Info"], body[n]["ttrpc.discarded_from"]),
                                     ("[body of an oversized message, discarded]", str(header)), n)

    def test_streaming_call_ends_with_the_servers_closing_data(self):
        c, s = self.CLIENT, self.SERVER
        capture = self.capture(
            (c, s, ttrpc_request(1, "svc", "Watch", b"\x08\x01", flags=1)),	# client: remote closed
            (s, c, ttrpc_message(1, 3, b"\x08\x05")),
            (s, c, ttrpc_message(1, 3, b"", flags=5)))	# server: remote closed, no data
        rows = fields(capture, "frame.number", "frame.protocols", "ttrpc.response_in", "ttrpc.response_to",
                      "ttrpc.time", "_ws.expert.message", display_filter="ttrpc", extra=("-2",))
        self.assertEqual(rows[0]["ttrpc.response_in"], "5")
        self.assertEqual(rows[0]["_ws.expert.message"], "")	# no "Request without a response"
        self.assertEqual(rows[1]["frame.protocols"], "vsockmon:virtio_vsock:ttrpc:protobuf")
        self.assertEqual([(r["ttrpc.response_to"], r["ttrpc.time"] != "") for r in rows[1:]],
                         [("3", False), ("3", True)])

    def test_second_pass_judges_first_bytes_as_the_first_did(self):
        # frame 3 is no client's first call (its body starts with a varint), frame
        # 4 is: the first pass leaves 3 to data, and so must -2, although by then
        # the connection is known to carry ttrpc (its conversation begins at 4)
        c, s = self.CLIENT, self.SERVER
        capture = self.capture((c, s, ttrpc_message(1, 1, b"\x08\x01")),
                               (c, s, ttrpc_request(3, "svc", "M", b"\x08\x01")))
        for passes in ((), ("-2",)):
            self.assertEqual(frame_numbers(capture, "ttrpc", extra=passes), [4], passes)

    def test_other_protocols_on_port_1024_stay_data(self):
        # a guest client auto-bound to port 1024 with a length-prefixed protocol
        guest, host = (3, 1024), (2, 5000)
        first = struct.pack(">IIHH", 0x1000, 0, 0x0100, 0) + b"\0" * 8	# "length 4096, stream 0, Request"
        capture = write_capture([vsock_frame(guest, host, REQUEST), vsock_frame(host, guest, RESPONSE),
                                 vsock_frame(guest, host, RW, first),
                                 vsock_frame(host, guest, RW, b"\0\0\0\x04OKAY")])
        self.assertEqual(frame_numbers(capture, "ttrpc"), [])
        self.assertEqual(frame_numbers(capture, "data"), [3, 4])


class EdgesOfTheStream(unittest.TestCase):
    """What real captures bring besides clean connections: a capture that
    starts mid-connection, packets after the RST, byte offsets that wrap."""

    GUEST, HOST = (3, 40000), (2, 8080)

    def test_capture_started_mid_connection_gets_the_credit_right(self):
        # the real stall capture without its handshake and first frames: the
        # credit of every RW must be what the whole capture shows for it
        full = real("credit-stall")
        cut = os.path.join(os.path.dirname(full), "credit-stall-cut.pcap")	# full: a readable copy
        subprocess.run(["editcap", "-r", full, cut, "6-1000000"], check=True, stdout=subprocess.DEVNULL)
        os.chmod(cut, 0o644)
        names = ("virtio_vsock.analysis.credit", "virtio_vsock.analysis.bytes_in_flight")

        def credit_of_rws(capture):
            return [tuple(r[n] for n in names)
                    for r in fields(capture, *names, display_filter="virtio_vsock.op == 5", extra=("-2",))]
        whole, trimmed = credit_of_rws(full), credit_of_rws(cut)
        self.assertGreater(len(trimmed), 5)
        self.assertEqual(trimmed, whole[-len(trimmed):])
        found = experts(cut, extra=("-2",))
        self.assertFalse([f for f, m in found.items() if "exceeded the credit" in m])
        self.assertTrue([f for f, m in found.items() if "Zero credit" in m])

    def test_nothing_reopens_a_connection_after_its_rst(self):
        g, h = self.GUEST, self.HOST
        capture = write_capture([
            vsock_frame(g, h, REQUEST), vsock_frame(h, g, RESPONSE),
            vsock_frame(g, h, RW, b"x" * 100),
            vsock_frame(g, h, SHUTDOWN, flags=3), vsock_frame(h, g, RST),	# 4, 5: closed
            vsock_frame(h, g, SHUTDOWN, flags=2),	# 6: the application's late shutdown()
            vsock_frame(g, h, RW, b"y" * 50),	# 7: crossed the RST on the wire
            vsock_frame(h, g, RST)])	# 8: the application's close()
        rows = {int(r["frame.number"]): r for r in fields(
            capture, "frame.number", "virtio_vsock.analysis.state", "virtio_vsock.seq", "_ws.expert.message",
            extra=("-2",))}
        self.assertEqual(rows[5]["virtio_vsock.analysis.state"], "5")	# closed
        for frame in (6, 7, 8):
            self.assertEqual(rows[frame]["virtio_vsock.analysis.state"], "", frame)
        self.assertEqual(rows[6]["_ws.expert.message"], "")
        self.assertEqual(rows[8]["_ws.expert.message"], "")
        self.assertEqual(rows[7]["_ws.expert.message"],
                         "Data after the connection ended (its RST): the receiver drops it")
        self.assertEqual(rows[7]["virtio_vsock.seq"], "")	# not byte 0 of a new stream
        self.assertIn(" closed", tshark("-r", capture, "-q", "-z", "conv,vsockmon"))

    def test_rst_for_no_socket_announces_nothing(self):
        # the kernel's RST for a port without a (live) socket carries buf_alloc
        # and fwd_cnt 0: no buffer change, no fwd_cnt acknowledging lost bytes
        g, h = self.GUEST, self.HOST
        # connect() interrupted before the RESPONSE: the client's socket is
        # closed, and the RESPONSE gets such an RST
        capture = write_capture([vsock_frame(g, h, REQUEST, buf_alloc=262144),
                                 vsock_frame(h, g, RESPONSE, buf_alloc=262144),
                                 vsock_frame(g, h, RST, buf_alloc=0, fwd_cnt=0)])
        for passes in ((), ("-2",)):
            rows = fields(capture, "virtio_vsock.analysis.state", "virtio_vsock.analysis.previous_buf_alloc",
                          "_ws.expert.message", extra=passes)
            self.assertEqual((rows[2]["virtio_vsock.analysis.state"], rows[2]["_ws.expert.message"],
                              rows[2]["virtio_vsock.analysis.previous_buf_alloc"]),
                             ("6", "Connection reset without a shutdown", ""), passes)
        # the host's offsets pushed past 2^31 by bytes the capture lost (frames
        # 3 and 4 say so), then the guest's socket is gone (a transport reset) and the
        # host's next data gets the RST: its fwd_cnt 0 acknowledges nothing
        capture = write_capture([vsock_frame(g, h, REQUEST), vsock_frame(h, g, RESPONSE),
                                 vsock_frame(g, h, CREDIT_UPDATE, fwd_cnt=0x70000000),
                                 vsock_frame(g, h, CREDIT_UPDATE, fwd_cnt=0xE0000000),
                                 vsock_frame(h, g, RW, b"x" * 10),
                                 vsock_frame(g, h, RST, buf_alloc=0, fwd_cnt=0)])
        rows = fields(capture, "virtio_vsock.seq", "virtio_vsock.analysis.gap_bytes", "_ws.expert.message",
                      extra=("-2",))
        self.assertEqual([r["virtio_vsock.analysis.gap_bytes"] for r in rows[2:4]], [str(0x70000000)] * 2)
        self.assertEqual(rows[4]["virtio_vsock.seq"], str(0xE0000000))
        self.assertEqual((rows[5]["virtio_vsock.analysis.gap_bytes"], rows[5]["_ws.expert.message"]),
                         ("", "Connection reset without a shutdown"))

    def test_data_crossing_the_receivers_shutdown_is_no_error(self):
        # the host's close() (SHUTDOWN RCV|SEND) crosses the guest's queued data:
        # the host's kernel still takes it; only the sender's own SHUTDOWN (SEND),
        # in the same queue as its data, makes later data an error
        g, h = self.GUEST, self.HOST
        capture = write_capture([vsock_frame(g, h, REQUEST), vsock_frame(h, g, RESPONSE),
                                 vsock_frame(g, h, RW, b"a" * 100),
                                 vsock_frame(h, g, SHUTDOWN, flags=3, fwd_cnt=100),	# 4
                                 vsock_frame(g, h, RW, b"b" * 100),	# 5: was queued already
                                 vsock_frame(g, h, SHUTDOWN, flags=2),	# 6: the guest's SEND
                                 vsock_frame(g, h, RW, b"c" * 10),	# 7: after its own SEND
                                 vsock_frame(h, g, RST)])
        rows = fields(capture, "virtio_vsock.seq", "virtio_vsock.analysis.state", "_ws.expert.message",
                      extra=("-2",))
        self.assertEqual((rows[4]["virtio_vsock.seq"], rows[4]["_ws.expert.message"]), ("100", ""))
        self.assertEqual(rows[6]["_ws.expert.message"], "Data in a direction that was shut down")
        self.assertEqual(rows[7]["virtio_vsock.analysis.state"], "5")	# closed

    def test_no_window_reopens_for_a_sender_that_may_send_no_more(self):
        # a stalled sender whose peer resets, or shuts down RCV (its kernel then
        # refuses the sender's data), or that shut down SEND itself: the
        # receiver's fwd_cnt frees its buffer, but no stalled sender gets credit
        g, h = self.GUEST, self.HOST
        ending = {"reset": (vsock_frame(h, g, RST, buf_alloc=100, fwd_cnt=100),
                            "Connection reset without a shutdown"),
                  "receiver's RCV": (vsock_frame(h, g, SHUTDOWN, flags=1, buf_alloc=100, fwd_cnt=100),
                                     "Shutdown: the sender will receive no more"),
                  "sender's SEND": (vsock_frame(h, g, CREDIT_UPDATE, buf_alloc=100, fwd_cnt=100), "")}
        for name, (frame, expert) in ending.items():
            with self.subTest(ending=name):
                frames = [vsock_frame(g, h, REQUEST), vsock_frame(h, g, RESPONSE, buf_alloc=100),
                          vsock_frame(g, h, RW, b"a" * 100)]
                if name == "sender's SEND":
                    frames.append(vsock_frame(g, h, SHUTDOWN, flags=2))
                capture = write_capture(frames + [frame])
                rows = fields(capture, "virtio_vsock.analysis.stall_frame", "_ws.expert.message", extra=("-2",))
                self.assertEqual(rows[2]["_ws.expert.message"],
                                 "Zero credit: the peer's buffer is full, the sender must stall")
                self.assertEqual((rows[-1]["virtio_vsock.analysis.stall_frame"], rows[-1]["_ws.expert.message"]),
                                 ("", expert))
        # the same update without any of them reopens the window
        capture = write_capture([vsock_frame(g, h, REQUEST), vsock_frame(h, g, RESPONSE, buf_alloc=100),
                                 vsock_frame(g, h, RW, b"a" * 100),
                                 vsock_frame(h, g, CREDIT_UPDATE, buf_alloc=100, fwd_cnt=100)])
        rows = fields(capture, "virtio_vsock.analysis.stall_frame", "_ws.expert.message", extra=("-2",))
        self.assertEqual((rows[3]["virtio_vsock.analysis.stall_frame"], rows[3]["_ws.expert.message"]),
                         ("3", "Credit update reopens a closed window"))

    def test_rst_after_data_is_no_refusal(self):
        # the RESPONSE was lost by the capture (a full ring), data went both ways
        g, h = self.GUEST, self.HOST
        capture = write_capture([vsock_frame(g, h, REQUEST), vsock_frame(g, h, RW, b"hi"),
                                 vsock_frame(h, g, RW, b"hello"), vsock_frame(h, g, RST)])
        rows = {int(r["frame.number"]): r for r in fields(
            capture, "frame.number", "virtio_vsock.analysis.state", "_ws.expert.message", extra=("-2",))}
        self.assertEqual(rows[2]["_ws.expert.message"], "Data before the connection was established")
        self.assertEqual((rows[4]["virtio_vsock.analysis.state"], rows[4]["_ws.expert.message"]),
                         ("6", "Connection reset without a shutdown"))

    def test_lost_response_marks_only_the_first_data(self):
        # the capture lost the RESPONSE: the first data says so, the rest of the
        # connection is not a wall of errors; a RESPONSE seen late still counts
        g, h = self.GUEST, self.HOST
        capture = write_capture([vsock_frame(g, h, REQUEST), vsock_frame(g, h, RW, b"one"),
                                 vsock_frame(h, g, RW, b"two"), vsock_frame(g, h, RW, b"three"),
                                 vsock_frame(h, g, RESPONSE), vsock_frame(g, h, RW, b"four")])
        for passes in ((), ("-2",)):
            with self.subTest(passes=passes):
                rows = fields(capture, "frame.number", "_ws.expert.message", extra=passes)
                before = [int(r["frame.number"]) for r in rows
                          if "Data before the connection was established" in r["_ws.expert.message"]]
                self.assertEqual(before, [2])
        handshake = fields(capture, "virtio_vsock.analysis.request_frame", display_filter="frame.number == 5")
        self.assertEqual(handshake[0]["virtio_vsock.analysis.request_frame"], "1")

    def test_shutdown_naming_no_direction_shuts_nothing(self):
        g, h = self.GUEST, self.HOST
        capture = write_capture([vsock_frame(g, h, REQUEST), vsock_frame(h, g, RESPONSE),
                                 vsock_frame(g, h, SHUTDOWN, flags=0), vsock_frame(g, h, RW, b"ok")])
        rows = {int(r["frame.number"]): r for r in fields(
            capture, "frame.number", "virtio_vsock.analysis.state", "_ws.expert.message", extra=("-2",))}
        self.assertEqual(rows[3]["_ws.expert.message"], "SHUTDOWN with neither RCV nor SEND: it shuts nothing down")
        self.assertEqual(rows[3]["virtio_vsock.analysis.state"], "")	# still established
        self.assertEqual(rows[4]["_ws.expert.message"], "")	# no data after shutdown

    def test_stream_pdu_across_the_offset_wrap(self):
        # fwd_cnt acknowledging bytes never captured moves the sender's offsets
        # to just below 2^32; an HTTP request then runs across the wrap
        g, h = self.GUEST, self.HOST
        request = b"GET /index.html HTTP/1.1\r\nHost: example\r\nUser-Agent: " + b"x" * 300 + b"\r\n\r\n"
        for base in (0xFFFFFF00, 0xFFFFFFF0):
            with self.subTest(base=hex(base)):
                capture = write_capture([
                    vsock_frame(g, h, REQUEST, buf_alloc=1 << 20), vsock_frame(h, g, RESPONSE, buf_alloc=1 << 20),
                    vsock_frame(h, g, CREDIT_UPDATE, buf_alloc=1 << 20, fwd_cnt=0x7FFFFFFF),
                    vsock_frame(h, g, CREDIT_UPDATE, buf_alloc=1 << 20, fwd_cnt=base),
                    vsock_frame(g, h, RW, request[:200], buf_alloc=1 << 20),
                    vsock_frame(g, h, RW, request[200:], buf_alloc=1 << 20)])
                for passes in ((), ("-2",)):
                    rows = fields(capture, "frame.number", "http.request.uri", "_ws.malformed",
                                  extra=passes + ("-d", "vsockmon.port==8080,http"))
                    self.assertEqual([(r["frame.number"], r["http.request.uri"], r["_ws.malformed"])
                                      for r in rows[4:]], [("5", "", ""), ("6", "/index.html", "")], passes)

    def test_body_read_until_the_end_completes_at_the_senders_shutdown(self):
        # no Content-Length, Connection: close: HTTP reads the body "until FIN";
        # the server's SHUTDOWN (SEND) is that FIN, whatever comes after it
        client, server = (3, 50000), (2, 8080)
        for closing in (vsock_frame(server, client, SHUTDOWN, flags=3), vsock_frame(server, client, RST)):
            capture = write_capture(http_until_close(client, server, closing))
            for passes in ((), ("-2",)):
                rows = fields(capture, "frame.number", "http.response.code",
                              "virtio_vsock.segment.reassembled_in",
                              extra=passes + ("-d", "vsockmon.port==8080,http"))
                in_6 = "6" if passes else ""	# one pass cannot know it yet
                got = [(r["http.response.code"], r["virtio_vsock.segment.reassembled_in"]) for r in rows[3:6]]
                self.assertEqual(got, [("", in_6), ("", in_6), ("200", "")], (closing[32 + 30], passes))

    def test_lost_seqpacket_data_is_marked_on_the_next_message(self):
        # fwd_cnt counts SEQPACKET bytes as it does STREAM ones
        g, h = self.GUEST, self.HOST
        capture = write_capture([
            vsock_frame(g, h, REQUEST, vtype=SEQPACKET), vsock_frame(h, g, RESPONSE, vtype=SEQPACKET),
            vsock_frame(g, h, RW, b"abc", vtype=SEQPACKET, flags=1),
            vsock_frame(h, g, CREDIT_UPDATE, vtype=SEQPACKET, fwd_cnt=10),	# 7 bytes never captured
            vsock_frame(g, h, RW, b"def", vtype=SEQPACKET, flags=1)])
        for passes in ((), ("-2",)):
            rows = fields(capture, "virtio_vsock.analysis.gap_bytes", "_ws.expert.message", extra=passes)
            self.assertEqual([(r["virtio_vsock.analysis.gap_bytes"], r["_ws.expert.message"]) for r in rows[3:]],
                             [("7", "fwd_cnt acknowledges bytes that were not captured"),
                              ("7", "Previous segment(s) not captured")], passes)

    def test_empty_fragment_with_eom_ends_its_message(self):
        g, h = self.GUEST, self.HOST
        capture = write_capture([
            vsock_frame(g, h, REQUEST, vtype=SEQPACKET), vsock_frame(h, g, RESPONSE, vtype=SEQPACKET),
            vsock_frame(g, h, RW, b"abc", vtype=SEQPACKET),
            vsock_frame(g, h, RW, b"", vtype=SEQPACKET, flags=1)])	# EOM, no bytes
        rows = fields(capture, "frame.number", "virtio_vsock.msg.length", "data.data", extra=("-2",))
        self.assertEqual((rows[3]["virtio_vsock.msg.length"], rows[3]["data.data"]), ("3", "616263"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
