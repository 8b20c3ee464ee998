"""rpcwire.py - just enough of kbroker's inter-broker RPC framing
(proto/kp_rpc.h, proto/kbroker_rpc.proto) for tests to talk to a broker's
RPC port: protobuf varints for the Envelope and Hello messages, and the
two length prefixes.  Written from the schema, not generated."""
import socket
import struct

import kafkawire

PROTOCOL_VERSION = 1
KIND_REQUEST, KIND_RESPONSE = 0, 1
METHOD_HELLO = 1


def varint(v):
    """A protobuf varint; negative int32/int64 are 10-byte two's complement."""
    return kafkawire.uvarint(v & ((1 << 64) - 1))


# Fields of proto3 messages (zero values are omitted, as protobuf-c does).
def field_varint(num, v):
    return varint(num << 3) + varint(v) if v else b""


def field_bytes(num, b):
    return varint(num << 3 | 2) + varint(len(b)) + b if b else b""


def field_packed(num, values):
    return field_bytes(num, b"".join(varint(v) for v in values))


def request_frame(method, body, sender_id, sender_epoch, correlation_id):
    """A whole request frame: both length prefixes, then the Envelope."""
    env = (field_varint(1, KIND_REQUEST) + field_varint(2, correlation_id) + field_varint(3, method)
           + field_varint(5, sender_id) + field_varint(6, sender_epoch) + field_bytes(7, body))
    return struct.pack(">II", 4 + len(env), len(env)) + env


def hello_frame(broker_id, epoch, version=PROTOCOL_VERSION, correlation_id=1):
    body = field_varint(1, version) + field_varint(2, broker_id) + field_varint(3, epoch)
    return request_frame(METHOD_HELLO, body, broker_id, epoch, correlation_id)


def _read_varint(buf, i):
    shift = v = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def parse_message(buf):
    """{field number: value} of a message of varint and bytes fields."""
    out, i = {}, 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            out[num], i = _read_varint(buf, i)
        elif wt == 2:
            n, i = _read_varint(buf, i)
            out[num], i = bytes(buf[i:i + n]), i + n
        else:
            raise ValueError(f"wire type {wt}")
    return out


def _signed(v, bits):
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >= 1 << 63 else v


def read_frame(sock):
    """One frame's envelope fields, or None if the peer closed first."""
    head = _recv_exact(sock, 8)
    if head is None:
        return None
    frame_len, env_len = struct.unpack(">II", head)
    rest = _recv_exact(sock, frame_len - 4)
    if rest is None:
        return None
    return parse_message(rest[:env_len])


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def hello(host, port, broker_id=-1, epoch=-1, version=PROTOCOL_VERSION, timeout=10):
    """Sends a Hello; returns (broker_id, broker_epoch, protocol_version) of
    the answer, or None when the broker closed the connection instead."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(hello_frame(broker_id, epoch, version))
        env = read_frame(s)
        if env is None:
            return None
        body = parse_message(env.get(7, b""))
        return (_signed(body.get(2, 0), 32), _signed(body.get(3, 0), 64), body.get(1, 0))
