"""Conversations, endpoints, Follow Stream, Decode As, Lua hand-off, the tap."""
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vsmtest import (REQUEST, RESPONSE, RST, RW, fields, frame_numbers, sample, tshark,  # noqa: E402
                     vsock_frame, write_capture)

CONV_ROW = re.compile(r"^(\S+:\d+)\s+<->\s+(\S+:\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+")
ENDPOINT_ROW = re.compile(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$")


def conv_rows(capture, extra=()):
    out = tshark("-r", capture, "-q", "-z", "conv,vsockmon", *extra)
    return [CONV_ROW.match(line).groups() for line in out.splitlines() if CONV_ROW.match(line)]


class Streams(unittest.TestCase):
    def test_reused_pair_after_reset_is_a_new_stream(self):
        rows = fields(sample("crafted", "http.pcap"), "vsockmon.stream")
        self.assertEqual([r["vsockmon.stream"] for r in rows], ["0"] * 5 + ["1"] * 5 + ["2"] * 5)


class ConversationTable(unittest.TestCase):
    def test_rows_with_ports_and_stream(self):
        rows = conv_rows(sample("crafted", "http.pcap"))
        self.assertEqual(sorted((a, b, s) for a, b, s, *_ in rows),
                         [("3:49152", "host:8080", "0"), ("3:49152", "host:8080", "2"),
                          ("3:49153", "host:8080", "1")])
        # frames <- (host to client), -> (client to host), total
        for row in rows:
            self.assertEqual((row[3], row[5], row[7]), ("2", "3", "5"))

    def test_byte_counts_match_the_frames(self):
        rows = conv_rows(sample("crafted", "http.pcap"))
        lengths = fields(sample("crafted", "http.pcap"), "frame.len", display_filter="vsockmon.stream == 1")
        self.assertEqual(int([r for r in rows if r[2] == "1"][0][8]), sum(int(r["frame.len"]) for r in lengths))

    def test_filter_argument(self):
        rows = conv_rows(sample("crafted", "http.pcap"), ("-z", "conv,vsockmon,vsockmon.port==49153"))
        self.assertIn("1", [r[2] for r in rows])

    def test_filtered_table(self):
        out = tshark("-r", sample("crafted", "http.pcap"), "-q", "-z", "conv,vsockmon,vsockmon.stream==1")
        rows = [CONV_ROW.match(line).groups() for line in out.splitlines() if CONV_ROW.match(line)]
        self.assertEqual([(r[0], r[1], r[2]) for r in rows], [("3:49153", "host:8080", "1")])
        self.assertIn("Filter:vsockmon.stream==1", out)


class EndpointTable(unittest.TestCase):
    def test_endpoints_with_ports(self):
        out = tshark("-r", sample("crafted", "http.pcap"), "-q", "-z", "endpoints,vsockmon")
        rows = {(m.group(1), m.group(2)): m.groups()[2:] for m in map(ENDPOINT_ROW.match, out.splitlines()) if m}
        self.assertEqual(set(rows), {("host", "8080"), ("3", "49152"), ("3", "49153")})
        self.assertEqual(rows[("host", "8080")][0], "15")	# packets
        self.assertEqual(rows[("3", "49153")][0], "5")


class FollowStream(unittest.TestCase):
    REQUEST = b"GET /status HTTP/1.1\r\nHost: vsock\r\n\r\n"
    RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"

    def test_ascii_both_directions_in_order(self):
        out = tshark("-r", sample("crafted", "http.pcap"), "-q", "-z", "follow,vsockmon,ascii,1")
        self.assertIn("Node 0: 3:49153", out)
        self.assertIn("Node 1: host:8080", out)
        body = out[out.index("Node 1"):]
        self.assertLess(body.index("GET /status"), body.index("HTTP/1.1 200 OK"))
        self.assertIn("\t41\nHTTP/1.1 200 OK", out)	# server side indented, with its length

    def test_raw_bytes_exact(self):
        out = tshark("-r", sample("crafted", "http.pcap"), "-q", "-z", "follow,vsockmon,raw,2")
        lines = [l for l in out.splitlines() if re.fullmatch(r"\t?[0-9a-f]+", l)]
        self.assertEqual(lines, [self.REQUEST.hex(), "\t" + self.RESPONSE.hex()])

    def test_by_address_and_port(self):
        # tshark parses "A:P,B:P" as IPv4: 0.0.0.3 is CID 3, 0.0.0.2 the host;
        # the CIDs were read as 8 bytes from that 4-byte address (past its end)
        out = tshark("-r", sample("crafted", "http.pcap"), "-q", "-z",
                     "follow,vsockmon,raw,0.0.0.3:49153,0.0.0.2:8080")
        self.assertIn("vsockmon.src_cid eq 3 and vsockmon.src_port eq 49153", out)
        lines = [l for l in out.splitlines() if re.fullmatch(r"\t?[0-9a-f]+", l)]
        self.assertEqual(lines, [self.REQUEST.hex(), "\t" + self.RESPONSE.hex()])

    def test_node_0_is_the_connecting_side_when_the_server_speaks_first(self):
        # as TCP's Follow: node 0 is the connection's first sender (the SYN's, here
        # the REQUEST's), not the first side to send data; a banner is the server's
        client, server = (3, 49152), (2, 1024)
        cap = write_capture([vsock_frame(client, server, REQUEST), vsock_frame(server, client, RESPONSE),
                             vsock_frame(server, client, RW, b"220 banner"), vsock_frame(client, server, RW, b"HELO"),
                             vsock_frame(client, server, RST)])
        out = tshark("-r", cap, "-q", "-z", "follow,vsockmon,raw,0")
        self.assertIn("Node 0: 3:49152\nNode 1: host:1024\n", out)
        lines = [l for l in out.splitlines() if re.fullmatch(r"\t?[0-9a-f]+", l)]
        self.assertEqual(lines, ["\t" + b"220 banner".hex(), b"HELO".hex()])

    def test_nodes_of_a_connection_without_data(self):
        client, server = (3, 49152), (2, 1024)
        cap = write_capture([vsock_frame(client, server, REQUEST), vsock_frame(server, client, RESPONSE),
                             vsock_frame(client, server, RST)])
        out = tshark("-r", cap, "-q", "-z", "follow,vsockmon,ascii,0")
        self.assertIn("Node 0: 3:49152\nNode 1: host:1024\n", out)

    def test_hex(self):
        out = tshark("-r", sample("crafted", "all-ops.pcap"), "-q", "-z", "follow,vsockmon,hex,0")
        self.assertIn("70 69 6e 67 0a", out)	# "ping\n"
        self.assertIn("70 6f 6e 67 0a", out)	# "pong\n"


class DecodeAs(unittest.TestCase):
    def test_http_on_a_vsock_port(self):
        rows = fields(sample("crafted", "http.pcap"), "frame.number", "http.request.method", "http.response.code",
                      display_filter="http", extra=("-d", "vsockmon.port==8080,http"))
        self.assertEqual([(r["frame.number"], r["http.request.method"], r["http.response.code"]) for r in rows],
                         [("3", "GET", ""), ("4", "", "200"), ("8", "GET", ""), ("9", "", "200"),
                          ("13", "GET", ""), ("14", "", "200")])

    def test_without_decode_as_it_is_data(self):
        self.assertEqual(frame_numbers(sample("crafted", "http.pcap"), "http"), [])
        self.assertEqual(len(frame_numbers(sample("crafted", "http.pcap"), "data")), 6)


LUA = r"""
local port_proto = Proto("vsmlua_port", "vsockmon Lua port test")
local port_text = ProtoField.string("vsmlua_port.text", "Text")
port_proto.fields = { port_text }
function port_proto.dissector(tvb, pinfo, tree)
    tree:add(port_text, tvb(), tvb():string())
    return tvb:len()
end
DissectorTable.get("vsockmon.port"):add(1234, port_proto)

local heur_proto = Proto("vsmlua_heur", "vsockmon Lua heuristic test")
local function heur(tvb, pinfo, tree)
    if tvb:len() < 4 or tvb(0, 4):string() ~= "GET " then return false end
    tree:add(heur_proto, tvb())
    return true
end
heur_proto:register_heuristic("vsockmon", heur)
"""

LUA_TAP = r"""
local seen = 0
local tap = Listener.new("vsockmon")
function tap.packet(pinfo, tvb, info) seen = seen + 1 end
function tap.draw() print("vsockmon tap frames: " .. seen) end
"""


class LuaHandOff(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.script = cls.write_script(LUA)
        cls.tap_script = cls.write_script(LUA_TAP)

    @staticmethod
    def write_script(text):
        fd, path = tempfile.mkstemp(suffix=".lua")
        os.write(fd, text.encode())
        os.close(fd)
        os.chmod(path, 0o644)
        return path

    @classmethod
    def tearDownClass(cls):
        os.unlink(cls.script)
        os.unlink(cls.tap_script)

    def test_port_table_from_lua(self):
        rows = fields(sample("crafted", "all-ops.pcap"), "frame.number", "vsmlua_port.text",
                      display_filter="vsmlua_port.text", extra=("-X", "lua_script:" + self.script))
        self.assertEqual([(r["frame.number"], r["vsmlua_port.text"]) for r in rows],
                         [("3", "ping\\n"), ("5", "pong\\n")])

    def test_heuristic_list_from_lua(self):
        self.assertEqual(frame_numbers(sample("crafted", "http.pcap"), "vsmlua_heur",
                                       extra=("-X", "lua_script:" + self.script)), [3, 8, 13])

    def test_tap_listener_sees_every_frame(self):
        out = tshark("-r", sample("crafted", "http.pcap"), "-q", "-X", "lua_script:" + self.tap_script)
        self.assertIn("vsockmon tap frames: 15", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
