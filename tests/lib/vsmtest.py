"""Helpers for the dissector tests: run tshark unprivileged with the plugin.

Every test gets the plugin path and the repository root from the
environment set by CTest (VSOCKMON_PLUGIN, VSOCKMON_SOURCE_DIR); tshark runs
through tests/lib/tshark-user.sh so the personal plugin folder is honoured.
"""
import os
import shutil
import struct
import subprocess
import tempfile
import unittest

SOURCE_DIR = os.environ.get("VSOCKMON_SOURCE_DIR",
                            os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
PLUGIN = os.environ.get("VSOCKMON_PLUGIN", "")
TSHARK_USER = os.path.join(SOURCE_DIR, "tests", "lib", "tshark-user.sh")
SAMPLES = os.path.join(SOURCE_DIR, "samples")
SHARED = os.environ.get("VSOCKMON_SHARED_DIR", os.path.join(SOURCE_DIR, "..", "shared"))

_readable_dir = None


def readable_copy(path):
    """tshark runs as nobody: give it a world-readable copy of a capture."""
    global _readable_dir
    if _readable_dir is None:
        _readable_dir = tempfile.mkdtemp(prefix="vsockmon-test-")
        os.chmod(_readable_dir, 0o755)
    dest = os.path.join(_readable_dir, os.path.basename(path))
    shutil.copyfile(path, dest)
    os.chmod(dest, 0o644)
    return dest


def sample(*parts):
    return readable_copy(os.path.join(SAMPLES, *parts))


def tshark(*args, plugin=True, check=True, home=None):
    """Run tshark with the plugin (or without it, plugin=False); return stdout.
    home: a prepared HOME (e.g. with ~/.config/wireshark files) instead of a fresh one."""
    if plugin:
        if not PLUGIN or not os.path.exists(PLUGIN):
            raise unittest.SkipTest("VSOCKMON_PLUGIN not built")
        cmd = [TSHARK_USER, PLUGIN] + list(args)
    else:
        cmd = [TSHARK_USER, "-"] + list(args)
    env = dict(os.environ, TSHARK_HOME=home) if home else None
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError("tshark %s failed (%d): %s" % (" ".join(args), proc.returncode, proc.stderr))
    return proc.stdout


_boolean_fields = None


def boolean_fields():
    """Names of the FT_BOOLEAN fields tshark knows (the plugin's included)."""
    global _boolean_fields
    if _boolean_fields is None:
        _boolean_fields = {cols[2] for cols in (line.split("\t") for line in tshark("-G", "fields").splitlines())
                           if len(cols) > 3 and cols[0] == "F" and cols[3] == "FT_BOOLEAN"}
    return _boolean_fields


def as_zero_one(value):
    """tshark 4.0 prints a boolean as 1/0 in -T fields, 4.2 and later as True/False."""
    return ",".join({"True": "1", "False": "0"}.get(v, v) for v in value.split(","))


def fields(capture, *names, display_filter=None, extra=(), home=None):
    """One dict per displayed frame with the asked fields (multi-values joined by ','),
    booleans as 1/0 whichever tshark printed them."""
    args = ["-r", capture, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
            "-E", "aggregator=,"]
    for name in names:
        args += ["-e", name]
    if display_filter:
        args += ["-Y", display_filter]
    args += list(extra)
    rows = []
    booleans = boolean_fields() & set(names)
    for line in tshark(*args, home=home).splitlines():
        values = line.split("\t")
        values += [""] * (len(names) - len(values))
        row = dict(zip(names, values))
        for name in booleans:
            row[name] = as_zero_one(row[name])
        rows.append(row)
    return rows


def make_home(config_files):
    """A HOME for the unprivileged tshark with {name: text} in ~/.config/wireshark."""
    home = tempfile.mkdtemp(prefix="vsockmon-home-")
    config = os.path.join(home, ".config", "wireshark")
    os.makedirs(config)
    for name, text in config_files.items():
        with open(os.path.join(config, name), "w") as f:
            f.write(text)
    for root, dirs, files in os.walk(home):
        for entry in dirs + files:
            os.chmod(os.path.join(root, entry), 0o777)
    os.chmod(home, 0o777)
    return home


def frame_numbers(capture, display_filter, extra=()):
    return [int(r["frame.number"]) for r in fields(capture, "frame.number",
                                                   display_filter=display_filter, extra=extra)]


MONITOR_OP = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 3, 7: 3}	# virtio op -> AF_VSOCK_OP_*
REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE = 1, 2, 3, 4, 5, 6
STREAM, SEQPACKET = 1, 2


def vsock_frame(src, dst, op, payload=b"", vtype=STREAM, flags=0, buf_alloc=65536, fwd_cnt=0):
    """A monitor frame as the kernel writes it; src and dst are (cid, port)."""
    (src_cid, src_port), (dst_cid, dst_port) = src, dst
    mon = struct.pack("<QQIIHHHH", src_cid, dst_cid, src_port, dst_port, MONITOR_OP[op], 2, 44, 0)
    virtio = struct.pack("<QQIIIHHIII", src_cid, dst_cid, src_port, dst_port, len(payload), vtype, op,
                         flags, buf_alloc, fwd_cnt)
    return mon + virtio + payload


def vhost_pattern(start, n):
    """The payload bytes at stream offsets start..start+n-1 of the vhost lab's
    traffic: byte i is i % 251 (tests/traffic/vhost-peer.c, tests/vm/guest/vhost.sh)."""
    return bytes((start + i) % 251 for i in range(n))


def write_capture(frames):
    """A world-readable LINKTYPE_VSOCK pcap of the frames, one microsecond apart."""
    fd, path = tempfile.mkstemp(suffix=".pcap")
    with os.fdopen(fd, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 271))
        for n, data in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + n // 1000000, n % 1000000, len(data), len(data)))
            f.write(data)
    readable = readable_copy(path)
    os.unlink(path)
    return readable


def http_until_close(client, server, closing):
    """An HTTP exchange whose response body has no length: it ends with the
    server's stream. closing: the server's frame that ends it (SHUTDOWN or RST),
    frame 6; the client's RST follows."""
    return [vsock_frame(client, server, REQUEST), vsock_frame(server, client, RESPONSE),
            vsock_frame(client, server, RW, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            vsock_frame(server, client, RW, b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                                            b"Content-Type: text/plain\r\n\r\nfirst part "),
            vsock_frame(server, client, RW, b"second part\n"),
            closing, vsock_frame(client, server, RST)]
