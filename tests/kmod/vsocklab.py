#!/usr/bin/env python3
"""Guest-side helpers for the kmod lab tests (tests/kmod/guest-*.sh).

Subcommands:
  echo PORT MARKER JSON     deterministic vsock_loopback scenario: a
                            lock-step stream echo on PORT, then a connect
                            to PORT+1 (no listener: REQUEST + RST)
  loop PORT                 connect/send/close loop until SIGTERM
  decode PCAP JSON          decode a LINKTYPE_VSOCK capture, count per op
  same-frames A B PORT...   A and B hold the same frames, ports aside
  check-capture DECODED ECHO ETHTOOL_S RX_PACKETS RX_BYTES PCAP
                            the capture decodes as the echo scenario and
                            matches the device's ethtool -S and rx counters
  check-mix DECODED ETHTOOL_S MANIFEST
                            vsock-traffic's mix: ethtool -S equals the
                            capture, payload bytes equal the manifest's
  newlink IFNAME            RTM_NEWLINK kind vsockmon; print errno, extack
  userns-probe MODE DIR MARKER
                            run as an unprivileged user inside
                            `unshare -Urn`; see probe_distro/probe_ours

The frame layout follows include/vsockmon_wire.h: struct af_vsockmon_hdr
(32 bytes, little-endian) then struct virtio_vsock_hdr (44 bytes), payload.
"""
import errno
import fcntl
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

VMADDR_CID_LOCAL = 1
# struct af_vsockmon_hdr: src_cid dst_cid src_port dst_port op transport len
MON_HDR = struct.Struct('<QQIIHHH2x')
# struct virtio_vsock_hdr: src_cid dst_cid src_port dst_port len type op
#                          flags buf_alloc fwd_cnt
VIRTIO_HDR = struct.Struct('<QQIIIHHIII')
MON_OPS = {0: 'unknown', 1: 'connect', 2: 'disconnect', 3: 'control',
           4: 'payload'}
LINKTYPE_VSOCK = 271
# Message sizes of the echo scenario: tiny, medium, and one that fills a
# whole RW packet (65536 bytes with its 4-byte length: the largest frame).
# Each message is one packet, read by one drain of the receive queue, so
# the receiver's CREDIT_UPDATEs (and their fwd_cnt) are the same every run;
# a message split over two packets may be drained once or twice.
ECHO_SIZES = (5, 1000, 65532)


def recv_exact(sock, size):
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError('peer closed after %d of %d bytes' % (len(data), size))
        data += chunk
    return bytes(data)


def echo_server(listener):
    """Echo length-prefixed messages; reply only after reading a whole one,
    so every fwd_cnt in the exchange is the same from run to run."""
    conn, _ = listener.accept()
    with conn:
        while True:
            head = conn.recv(4)
            if not head:
                return
            head += recv_exact(conn, 4 - len(head))
            body = recv_exact(conn, struct.unpack('<I', head)[0])
            conn.sendall(head + body)


def message(index, size, marker):
    body = (marker * (size // len(marker) + 1))[:size]
    return struct.pack('<I', size) + body[:size - 1] + bytes([index])


def cmd_echo(port, marker, out_json):
    port = int(port)
    marker = marker.encode()
    listener = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    listener.bind((socket.VMADDR_CID_ANY, port))
    listener.listen(1)
    server = threading.Thread(target=echo_server, args=(listener,))
    server.start()
    sent = 0
    with socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM) as client:
        client.connect((VMADDR_CID_LOCAL, port))
        for index, size in enumerate(ECHO_SIZES):
            msg = message(index, size, marker)
            client.sendall(msg)
            if recv_exact(client, len(msg)) != msg:
                sys.exit('echo mismatch for message %d' % index)
            sent += len(msg)
    server.join(timeout=10)
    listener.close()
    refused = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    try:
        refused.connect((VMADDR_CID_LOCAL, port + 1))
        sys.exit('connect to port %d without listener succeeded' % (port + 1))
    except OSError as err:
        refused_errno = err.errno
    finally:
        refused.close()
    result = {'bytes_each_way': sent, 'payload_bytes': 2 * sent,
              'refused_errno': errno.errorcode.get(refused_errno, refused_errno)}
    with open(out_json, 'w') as out:
        json.dump(result, out)


def cmd_loop(port):
    """Background load for the create/delete cycles: short connections
    plus a refused connect each round, until SIGTERM."""
    port = int(port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    listener = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    listener.bind((socket.VMADDR_CID_ANY, port))
    listener.listen(128)

    def drain():
        while True:
            conn, _ = listener.accept()
            with conn:
                while conn.recv(65536):
                    pass
    threading.Thread(target=drain, daemon=True).start()
    rounds = resets = 0
    while not stop.is_set():
        with socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM) as client:
            try:
                client.connect((VMADDR_CID_LOCAL, port))
                client.sendall(b'x' * 3000)
            except ConnectionResetError:
                resets += 1  # accept backlog full: the RST is traffic too
                continue
        with socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM) as client:
            try:
                client.connect((VMADDR_CID_LOCAL, port + 1))
            except OSError:
                pass
        rounds += 1
    print('resets', resets)
    print(rounds)


def read_pcap(path):
    with open(path, 'rb') as capture:
        data = capture.read()
    magic = struct.unpack_from('<I', data)[0]
    if magic not in (0xa1b2c3d4, 0xa1b23c4d):
        sys.exit('%s: not a little-endian pcap file' % path)
    linktype = struct.unpack_from('<I', data, 20)[0]
    if linktype != LINKTYPE_VSOCK:
        sys.exit('%s: linktype %d, want %d' % (path, linktype, LINKTYPE_VSOCK))
    frames, offset = [], 24
    while offset < len(data):
        caplen, origlen = struct.unpack_from('<II', data, offset + 8)
        if caplen != origlen:
            sys.exit('%s: truncated frame' % path)
        frames.append(data[offset + 16:offset + 16 + caplen])
        offset += 16 + caplen
    return frames


def decode(frame):
    mon = MON_HDR.unpack_from(frame)
    src_cid, dst_cid, src_port, dst_port, op, transport, hlen = mon
    vio = VIRTIO_HDR.unpack_from(frame, MON_HDR.size)
    payload = frame[MON_HDR.size + hlen:]
    return {'op': MON_OPS.get(op, 'unknown'), 'transport': transport,
            'hdr_len': hlen, 'src': (src_cid, src_port),
            'dst': (dst_cid, dst_port), 'virtio_op': vio[6],
            'virtio_len': vio[4], 'virtio_ports': (vio[2], vio[3]),
            'payload': payload}


def cmd_decode(path, out_json):
    counts = {name + '_frames': 0 for name in MON_OPS.values()}
    counts['payload_bytes'] = 0
    problems, payload = [], bytearray()
    for number, frame in enumerate(read_pcap(path), 1):
        info = decode(frame)
        counts[info['op'] + '_frames'] += 1
        if info['transport'] != 2 or info['hdr_len'] != VIRTIO_HDR.size:
            problems.append('frame %d: transport %d hdr_len %d'
                            % (number, info['transport'], info['hdr_len']))
        if (info['src'][1], info['dst'][1]) != info['virtio_ports']:
            problems.append('frame %d: monitor and virtio ports differ' % number)
        if info['op'] == 'payload':
            counts['payload_bytes'] += len(info['payload'])
            payload += info['payload']
            if info['virtio_len'] != len(info['payload']):
                problems.append('frame %d: virtio len %d, payload %d'
                                % (number, info['virtio_len'], len(info['payload'])))
        elif info['payload']:
            problems.append('frame %d: %s frame with payload' % (number, info['op']))
    result = {'counts': counts, 'problems': problems,
              'virtio_ops': [decode(f)['virtio_op'] for f in read_pcap(path)],
              'payload_hex_head': payload[:64].hex()}
    with open(out_json, 'w') as out:
        json.dump(result, out, indent=1)


def normalized(frame, fixed_ports):
    """The frame with every port outside fixed_ports (the ephemeral client
    ports) zeroed, in both headers."""
    frame = bytearray(frame)
    for base in (16, MON_HDR.size + 16):
        for offset in (base, base + 4):
            port = struct.unpack_from('<I', frame, offset)[0]
            if port not in fixed_ports:
                struct.pack_into('<I', frame, offset, 0)
    return bytes(frame)


def cmd_same_frames(path_a, path_b, *ports):
    fixed = {int(p) for p in ports}
    frames_a = [normalized(f, fixed) for f in read_pcap(path_a)]
    frames_b = [normalized(f, fixed) for f in read_pcap(path_b)]
    if not frames_a:
        sys.exit('%s holds no frames' % path_a)
    if frames_a != frames_b:
        for number, (a, b) in enumerate(zip(frames_a, frames_b), 1):
            if a != b:
                sys.exit('frame %d differs:\n %s\n %s' % (number, a[:80].hex(), b[:80].hex()))
        sys.exit('frame counts differ: %d vs %d' % (len(frames_a), len(frames_b)))
    print('%d frames identical' % len(frames_a))


def parse_ethtool_stats(path):
    stats = {}
    with open(path) as text:
        for line in text:
            name, _, value = line.partition(':')
            if value.strip().isdigit():
                stats[name.strip()] = int(value)
    return stats


def cmd_check_capture(decoded_json, echo_json, ethtool_txt, rx_packets,
                      rx_bytes, pcap):
    with open(decoded_json) as text:
        decoded = json.load(text)
    with open(echo_json) as text:
        echo = json.load(text)
    counts, errors = decoded['counts'], list(decoded['problems'])
    ethtool = parse_ethtool_stats(ethtool_txt)
    if ethtool != counts:
        errors.append('ethtool -S %s != capture %s' % (ethtool, counts))
    if counts['payload_bytes'] != echo['payload_bytes']:
        errors.append('capture payload %d bytes, echo sent %d'
                      % (counts['payload_bytes'], echo['payload_bytes']))
    # REQUEST, RESPONSE, refused REQUEST; SHUTDOWN, RST, refused RST
    if counts['connect_frames'] < 3 or counts['disconnect_frames'] < 3:
        errors.append('too few connect/disconnect frames: %s' % counts)
    # one RW packet per message, each way
    if counts['payload_frames'] != 2 * len(ECHO_SIZES):
        errors.append('want %d payload frames, got %d'
                      % (2 * len(ECHO_SIZES), counts['payload_frames']))
    frames = read_pcap(pcap)
    if int(rx_packets) != len(frames):
        errors.append('rx_packets %s, capture %d frames' % (rx_packets, len(frames)))
    if int(rx_bytes) != sum(len(f) for f in frames):
        errors.append('rx_bytes %s, capture %d bytes'
                      % (rx_bytes, sum(len(f) for f in frames)))
    if errors:
        sys.exit('\n'.join(errors))
    print('capture OK: %s' % counts)


def cmd_check_mix(decoded_json, ethtool_txt, manifest):
    with open(decoded_json) as text:
        decoded = json.load(text)
    counts, errors = decoded['counts'], list(decoded['problems'])
    ethtool = parse_ethtool_stats(ethtool_txt)
    if ethtool != counts:
        errors.append('ethtool -S %s != capture %s' % (ethtool, counts))
    with open(manifest) as text:
        connections = [json.loads(line) for line in text if line.strip()]
    expected = sum(c['bytes_c2s'] + c['bytes_s2c'] for c in connections)
    if counts['payload_bytes'] != expected:
        errors.append('payload_bytes %d, manifest says %d'
                      % (counts['payload_bytes'], expected))
    # credit-stall is paced by CREDIT_UPDATEs; every connection connects
    if counts['control_frames'] == 0:
        errors.append('no control frames from the credit-stall scenario')
    if counts['connect_frames'] < 2 * len(connections) - 1:
        errors.append('%d connect frames for %d connections'
                      % (counts['connect_frames'], len(connections)))
    if errors:
        sys.exit('\n'.join(errors))
    print('mix OK: %d connections, %s' % (len(connections), counts))


def nl_attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack('<HH', length, kind) + payload + b'\0' * (-length % 4)


def rtnl_newlink(ifname, kind='vsockmon'):
    """Create a link with RTM_NEWLINK; return (errno, extack message)."""
    rtm_newlink, ifla_ifname, ifla_linkinfo, ifla_info_kind = 16, 3, 18, 1
    flags = 0x1 | 0x4 | 0x200 | 0x400  # REQUEST ACK EXCL CREATE
    body = struct.pack('<BxHiII', socket.AF_UNSPEC, 0, 0, 0, 0)
    body += nl_attr(ifla_ifname, ifname.encode() + b'\0')
    body += nl_attr(ifla_linkinfo, nl_attr(ifla_info_kind, kind.encode() + b'\0'))
    request = struct.pack('<IHHII', 16 + len(body), rtm_newlink, flags, 1, 0) + body
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as nl:
        nl.setsockopt(270, 11, 1)  # SOL_NETLINK, NETLINK_EXT_ACK
        nl.send(request)
        reply = nl.recv(65536)
    msg_type, msg_flags = struct.unpack_from('<HH', reply, 4)
    if msg_type != 2:  # NLMSG_ERROR carries the ack too
        sys.exit('unexpected netlink reply type %d' % msg_type)
    error = -struct.unpack_from('<i', reply, 16)[0]
    echoed = 16 if msg_flags & 0x100 else struct.unpack_from('<I', reply, 20)[0]
    offset, text = 20 + echoed + (-echoed % 4), ''
    while offset + 4 <= len(reply):
        length, kind_ = struct.unpack_from('<HH', reply, offset)
        if length < 4:
            break
        if kind_ == 1:  # NLMSGERR_ATTR_MSG
            text = reply[offset + 4:offset + length].rstrip(b'\0').decode()
        offset += length + (-length % 4)
    return error, text


def set_up(ifname):
    """ifconfig-style up; return 0 or the errno."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        ifreq = struct.pack('16sH14x', ifname.encode(), 0)
        flags = struct.unpack_from('16sH', fcntl.ioctl(sock, siocgifflags, ifreq))[1]
        try:
            fcntl.ioctl(sock, siocsifflags, struct.pack('16sH14x', ifname.encode(), flags | iff_up))
        except OSError as err:
            return err.errno
    return 0


def cmd_newlink(ifname):
    error, text = rtnl_newlink(ifname)
    print(json.dumps({'errno': errno.errorcode.get(error, error), 'extack': text}))


def write_json(path, value):
    with open(path + '.tmp', 'w') as out:
        json.dump(value, out)
    os.rename(path + '.tmp', path)


def probe_distro(workdir, marker):
    """Distro module: create, up, and sniff outside traffic from inside an
    unprivileged user+net namespace."""
    result = {}
    error, text = rtnl_newlink('vsmuser')
    result.update(create_errno=errno.errorcode.get(error, error), create_extack=text)
    if error == 0:
        result['up_errno'] = errno.errorcode.get(set_up('vsmuser'), 0)
        sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        sniffer.bind(('vsmuser', 0))
        sniffer.settimeout(1)
        write_json(os.path.join(workdir, 'ready'), {'pid': os.getpid()})
        frames, seen, deadline = 0, False, time.time() + 60
        while not seen and time.time() < deadline:
            try:
                frame = sniffer.recv(1 << 17)
            except socket.timeout:
                continue
            frames += 1
            seen = marker.encode() in frame
        result.update(frames=frames, marker_seen=seen)
    else:
        write_json(os.path.join(workdir, 'ready'), {'pid': os.getpid()})
    write_json(os.path.join(workdir, 'result'), result)


def probe_ours(workdir, _marker):
    """Our module: create must fail; a device root moves into this netns
    must refuse to come up."""
    error, text = rtnl_newlink('vsmuser')
    result = {'create_errno': errno.errorcode.get(error, error), 'create_extack': text}
    write_json(os.path.join(workdir, 'ready'), {'pid': os.getpid()})
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.if_nametoindex('vsmmoved')
            break
        except OSError:
            time.sleep(0.2)
    else:
        result['moved'] = 'never appeared'
        write_json(os.path.join(workdir, 'result'), result)
        return
    result['moved_up_errno'] = errno.errorcode.get(set_up('vsmmoved'), 0)
    write_json(os.path.join(workdir, 'result'), result)


def main(argv):
    commands = {'echo': cmd_echo, 'loop': cmd_loop, 'decode': cmd_decode,
                'same-frames': cmd_same_frames,
                'check-capture': cmd_check_capture,
                'check-mix': cmd_check_mix, 'newlink': cmd_newlink,
                'userns-probe': lambda mode, *rest:
                    {'distro': probe_distro, 'ours': probe_ours}[mode](*rest)}
    if len(argv) < 2 or argv[1] not in commands:
        sys.exit(__doc__)
    commands[argv[1]](*argv[2:])


if __name__ == '__main__':
    main(sys.argv)
