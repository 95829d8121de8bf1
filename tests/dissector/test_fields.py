"""Field values of both layers on the crafted captures (samples/crafted)."""
import sys
import os
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import struct  # noqa: E402

from vsmtest import (REQUEST, RESPONSE, RST, RW, SHUTDOWN, fields, frame_numbers, http_until_close,  # noqa: E402
                     sample, tshark, vsock_frame, write_capture)

VIRTIO = ["virtio_vsock.src_cid", "virtio_vsock.dst_cid", "virtio_vsock.src_port",
          "virtio_vsock.dst_port", "virtio_vsock.len", "virtio_vsock.type", "virtio_vsock.op",
          "virtio_vsock.flags", "virtio_vsock.buf_alloc", "virtio_vsock.fwd_cnt"]
MONITOR = ["vsockmon.src_cid", "vsockmon.dst_cid", "vsockmon.src_port", "vsockmon.dst_port",
           "vsockmon.op", "vsockmon.transport", "vsockmon.hdr_len", "vsockmon.reserved",
           "vsockmon.stream"]


class AllOps(unittest.TestCase):
    """all-ops.pcap: a STREAM connection through every op and SHUTDOWN flag."""

    @classmethod
    def setUpClass(cls):
        cls.rows = fields(sample("crafted", "all-ops.pcap"), *(MONITOR + VIRTIO + [
            "frame.protocols", "_ws.col.Protocol", "_ws.col.Info", "_ws.col.Source",
            "_ws.col.Destination", "virtio_vsock.flags.shutdown_rcv", "virtio_vsock.flags.shutdown_send",
            "data.data"]))

    def test_every_op_in_order(self):
        self.assertEqual([r["virtio_vsock.op"] for r in self.rows],
                         ["1", "2", "5", "6", "5", "7", "6", "4", "4", "4", "3"])

    def test_monitor_op_derived_like_the_kernel(self):
        self.assertEqual([r["vsockmon.op"] for r in self.rows],
                         ["1", "1", "4", "3", "4", "3", "3", "2", "2", "2", "2"])

    def test_monitor_header_fields(self):
        first = self.rows[0]
        self.assertEqual((first["vsockmon.src_cid"], first["vsockmon.dst_cid"]), ("3", "2"))
        self.assertEqual((first["vsockmon.src_port"], first["vsockmon.dst_port"]), ("1024", "1234"))
        self.assertEqual(first["vsockmon.transport"], "2")
        self.assertEqual(first["vsockmon.hdr_len"], "44")
        self.assertEqual(first["vsockmon.reserved"], "0000")

    def test_virtio_header_fields(self):
        credit = self.rows[3]
        self.assertEqual([credit[f] for f in VIRTIO],
                         ["2", "3", "1234", "1024", "0", "1", "6", "0x00000000", "262144", "5"])
        data = self.rows[2]
        self.assertEqual(data["virtio_vsock.len"], "5")
        self.assertEqual(data["data.data"], "70696e670a")

    def test_shutdown_flags_by_op(self):
        self.assertEqual([(r["virtio_vsock.flags.shutdown_rcv"], r["virtio_vsock.flags.shutdown_send"])
                          for r in self.rows[7:10]],
                         [("0", "1"), ("1", "0"), ("1", "1")])
        # the SHUTDOWN bits are no fields on other ops
        self.assertEqual(self.rows[3]["virtio_vsock.flags.shutdown_rcv"], "")

    def test_one_stream(self):
        self.assertEqual({r["vsockmon.stream"] for r in self.rows}, {"0"})

    def test_columns(self):
        self.assertEqual({r["_ws.col.Protocol"] for r in self.rows}, {"VSOCK"})
        self.assertEqual(self.rows[2]["_ws.col.Info"], "1024 \u2192 1234 [RW] Len=5")
        self.assertEqual(self.rows[9]["_ws.col.Info"], "1234 \u2192 1024 [SHUTDOWN, RCV, SEND] Len=0")
        self.assertEqual(self.rows[3]["_ws.col.Info"], "1234 \u2192 1024 [CREDIT_UPDATE] Len=0 Buf=262144 Fwd=5")
        self.assertEqual((self.rows[0]["_ws.col.Source"], self.rows[0]["_ws.col.Destination"]), ("3", "host"))

    def test_protocol_stack(self):
        self.assertEqual(self.rows[0]["frame.protocols"], "vsockmon:virtio_vsock")
        self.assertEqual(self.rows[2]["frame.protocols"], "vsockmon:virtio_vsock:data")


class Filters(unittest.TestCase):
    def test_either_direction_fields_are_hidden_but_filterable(self):
        capture = sample("crafted", "all-ops.pcap")
        self.assertEqual(len(frame_numbers(capture, "vsockmon.port == 1234")), 11)
        self.assertEqual(len(frame_numbers(capture, "vsockmon.cid == 3")), 11)
        self.assertEqual(frame_numbers(capture, "vsockmon.port == 1"), [])
        tree = tshark("-r", capture, "-V", "-c", "1")
        self.assertNotIn("Source or Destination Port", tree)

    def test_cid_names_work_as_filter_values(self):
        capture = sample("crafted", "all-ops.pcap")
        self.assertEqual(frame_numbers(capture, "vsockmon.src_cid == host"), [2, 4, 5, 7, 9, 10])
        self.assertEqual(frame_numbers(capture, "vsockmon.src_cid == 2"), [2, 4, 5, 7, 9, 10])

    def test_address_column_is_a_valid_filter(self):
        # Wireshark builds "Apply as Filter" on an address column from the
        # address type's column filter name and its string: it must parse.
        capture = sample("crafted", "seqpacket.pcap")
        self.assertEqual(len(frame_numbers(capture, "vsockmon.dst_cid == local")), 7)

    def test_cid_names_in_the_tree(self):
        tree = tshark("-r", sample("crafted", "all-ops.pcap"), "-V", "-c", "1")
        self.assertIn("Destination CID: host (2)", tree)
        self.assertIn("VSOCK Monitor, Src: 3:1024, Dst: host:1234, Op: CONNECT", tree)

    def test_unknown_monitor_op_keeps_its_number_in_the_summary(self):
        # unknown-values.pcap frame 5: monitor op 9 (the summary said "Op: ?")
        tree = tshark("-r", sample("crafted", "unknown-values.pcap"), "-V", "-Y", "frame.number == 5")
        self.assertIn("VSOCK Monitor, Src: 3:1024, Dst: host:1234, Op: Unknown (9)", tree)
        self.assertIn("Operation: Unknown (9)", tree)


class SeqpacketFlags(unittest.TestCase):
    def test_eom_and_eor(self):
        rows = fields(sample("crafted", "seqpacket.pcap"), "virtio_vsock.type",
                      "virtio_vsock.flags.seq_eom", "virtio_vsock.flags.seq_eor", "_ws.col.Info")
        self.assertEqual({r["virtio_vsock.type"] for r in rows}, {"2"})
        self.assertEqual([(r["virtio_vsock.flags.seq_eom"], r["virtio_vsock.flags.seq_eor"]) for r in rows[2:6]],
                         [("0", "0"), ("0", "0"), ("1", "0"), ("1", "1")])
        self.assertEqual(rows[5]["_ws.col.Info"], "7000 \u2192 40000 [RW, EOM, EOR] Len=6 SEQPACKET")

    def test_seq_bits_mean_nothing_on_stream(self):
        rows = fields(sample("crafted", "unknown-values.pcap"), "virtio_vsock.flags.seq_eom",
                      "virtio_vsock.flags.unknown", "_ws.col.Info", display_filter="frame.number == 3")
        self.assertEqual(rows[0]["virtio_vsock.flags.seq_eom"], "")
        self.assertEqual(rows[0]["virtio_vsock.flags.unknown"], "0x00000005")
        self.assertEqual(rows[0]["_ws.col.Info"], "1024 \u2192 1234 [RW] Len=1")


class ReplacesBuiltin(unittest.TestCase):
    def test_plugin_replaces_vsock(self):
        capture = sample("crafted", "all-ops.pcap")
        with_plugin = fields(capture, "frame.protocols")
        self.assertTrue(all(r["frame.protocols"].startswith("vsockmon") for r in with_plugin))
        self.assertTrue(all("vsock" not in r["frame.protocols"].split(":") for r in with_plugin))
        # the built-in dissector's fields are filled in for its filters
        # (test_builtin_fields.py), without its dissector running
        self.assertEqual(len(frame_numbers(capture, "vsock")), len(with_plugin))

    def test_builtin_is_what_runs_without_it(self):
        # the control: without our plugin, tshark's own "vsock" decodes the file
        rows = fields(sample("crafted", "all-ops.pcap"), "frame.protocols")
        without = tshark("-r", sample("crafted", "all-ops.pcap"), "-T", "fields", "-e", "frame.protocols",
                         plugin=False).split()
        self.assertEqual(set(without), {"vsock"})
        self.assertNotEqual(set(without), {r["frame.protocols"] for r in rows})


class MonitorEdges(unittest.TestCase):
    """The monitor layer on frames the crafted samples do not have."""

    GUEST, HOST = (3, 1024), (2, 1234)

    @staticmethod
    def monitor_frame(src, dst, monitor_op, transport, hdr_len, rest):
        (src_cid, src_port), (dst_cid, dst_port) = src, dst
        return struct.pack("<QQIIHHHH", src_cid, dst_cid, src_port, dst_port, monitor_op, transport, hdr_len,
                           0) + rest

    def test_payload_of_an_unknown_transport_starts_after_its_header(self):
        g, h = self.GUEST, self.HOST
        http = b"GET / HTTP/1.1\r\n\r\n"
        virtio = vsock_frame(g, h, RW, http)[32:]	# a 44-byte transport header, then the bytes
        capture = write_capture([
            self.monitor_frame(g, h, 4, 1, 0, http),	# NO_INFO: no transport header
            self.monitor_frame(g, h, 4, 0, 44, virtio),	# UNKNOWN, 44-byte header
            self.monitor_frame(g, h, 4, 3, 44, virtio),	# a transport number nobody knows
            self.monitor_frame(g, h, 4, 1, 8, b"XXXXXXXXhello")])
        rows = fields(capture, "data.data", "vsockmon.transport_header")
        self.assertEqual([r["data.data"] for r in rows], [http.hex()] * 3 + [b"hello".hex()])
        self.assertEqual([len(r["vsockmon.transport_header"]) // 2 for r in rows], [0, 44, 44, 8])

    def test_late_response_after_the_rst_stays_on_its_connection(self):
        # the client gave up (RST) before the server's RESPONSE arrived
        g, h = self.GUEST, self.HOST
        capture = write_capture([vsock_frame(g, h, REQUEST), vsock_frame(g, h, RST),
                                 vsock_frame(h, g, RESPONSE), vsock_frame(g, h, RST),
                                 vsock_frame(g, h, REQUEST)])	# a new connection on the same ports
        for passes in ((), ("-2",)):
            rows = fields(capture, "vsockmon.stream", extra=passes)
            self.assertEqual([r["vsockmon.stream"] for r in rows], ["0", "0", "0", "0", "1"], passes)

    def test_short_transport_header_still_has_an_info_line(self):
        g, h = self.GUEST, self.HOST
        virtio = vsock_frame(g, h, RW, b"hello")[32:]
        capture = write_capture([self.monitor_frame(g, h, 4, 2, 20, virtio[:20])])
        self.assertEqual(fields(capture, "_ws.col.Info")[0]["_ws.col.Info"], "1024 \u2192 1234 [PAYLOAD]")

    def test_decode_as_hands_tcp_dissectors_no_packet_record(self):
        # tcp.port dissectors read their data as a struct tcpinfo: HTTP took the
        # packet record's odd source port for a FIN and ended a response there,
        # so the result depended on the port's parity
        def protocols(server_port):
            client, server = (3, 50000), (2, server_port)
            capture = write_capture(http_until_close(client, server,
                                                     vsock_frame(server, client, SHUTDOWN, flags=3)))
            return [r["frame.protocols"] for r in fields(
                capture, "frame.protocols", extra=("-d", "vsockmon.port==%d,http" % server_port))]
        even, odd = protocols(8080), protocols(8081)
        self.assertEqual(even, odd)
        self.assertTrue(even[2].endswith(":http"), even)


if __name__ == "__main__":
    unittest.main(verbosity=2)