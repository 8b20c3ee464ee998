"""
kafkawire - Kafka bytes built and read by hand, for the tests that look
below the clients: CRC-32C, varints, record batches (magic 2, compressed or
not, compression bombs included) and legacy message sets, the .log segment
files, and the raw Produce / Fetch /
ListOffsets requests and responses the crafted-request and long-poll tests
send over a socket, and the consumer-group APIs (FindCoordinator,
JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
ListGroups, DescribeGroups, DeleteGroups) with the embedded consumer
protocol, for the group tests that play a member by hand.

Pure functions over bytes, no I/O: framing and sockets are in kbharness
(kafka_request, recv_frame).  Layouts: wire-protocol.md section 1.4
(primitives), 4.3-4.5 (Produce, Fetch, ListOffsets), 5 (record batches);
zk-and-replication.md section 4.2 (segment files); group-protocol.md
section 2 (group APIs, non-flexible versions only) and 5 (consumer
protocol).
"""
import gzip
import struct
import zlib
from collections import namedtuple

# -- CRC-32C (Castagnoli), wire-protocol.md section 5.3 ------------------------
# Reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF.


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    """CRC-32C of data; pass a previous result as crc to continue it."""
    table = _CRC32C_TABLE
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283, "CRC-32C check value"

# -- codecs ------------------------------------------------------------------------
NONE, GZIP, SNAPPY, LZ4, ZSTD = range(5)
CODEC_NAMES = {NONE: "none", GZIP: "gzip", SNAPPY: "snappy", LZ4: "lz4", ZSTD: "zstd"}
CODEC_IDS = {v: k for k, v in CODEC_NAMES.items()}

_XERIAL_MAGIC = b"\x82SNAPPY\x00"


def decompress(codec, data):
    """The record bytes of a compressed batch (wire-protocol.md section 5.6)."""
    if codec == NONE:
        return data
    if codec == GZIP:
        return gzip.decompress(data)
    if codec == SNAPPY:
        import snappy
        if data.startswith(_XERIAL_MAGIC):
            # xerial framing: 16-byte header, then (int32 length, raw block)*.
            out, pos = [], 16
            while pos < len(data):
                n = struct.unpack_from(">i", data, pos)[0]
                out.append(snappy.uncompress(data[pos + 4:pos + 4 + n]))
                pos += 4 + n
            return b"".join(out)
        return snappy.uncompress(data)
    if codec == LZ4:
        import lz4.frame
        return lz4.frame.decompress(data)
    if codec == ZSTD:
        import zstandard
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    raise ValueError(f"unknown compression codec {codec}")


def compress(codec, data):
    """The payload of a batch compressed as clients do (snappy: a raw block,
    as librdkafka writes it)."""
    if codec == NONE:
        return data
    if codec == GZIP:
        return gzip.compress(data)
    if codec == SNAPPY:
        import snappy
        return snappy.compress(data)
    if codec == LZ4:
        import lz4.frame
        return lz4.frame.compress(data)
    if codec == ZSTD:
        import zstandard
        return zstandard.ZstdCompressor().compress(data)
    raise ValueError(f"unknown compression codec {codec}")


def gzip_records_of_zeros(records):
    """A gzip payload of records [(offset_delta, timestamp_delta, value_len)]
    with null keys and values of value_len zero bytes, compressed as it is
    generated: a batch that inflates to hundreds of MiB costs the test a few
    hundred KB (a compression bomb, wire-protocol.md section 5.6)."""
    z = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip framing
    out, chunk = [], bytes(1 << 20)
    for offset_delta, ts_delta, value_len in records:
        head = b"\x00" + varint(ts_delta) + varint(offset_delta) + varint(-1) + varint(value_len)
        out.append(z.compress(varint(len(head) + value_len + 1) + head))
        left = value_len
        while left:
            n = min(left, len(chunk))
            out.append(z.compress(chunk[:n]))
            left -= n
        out.append(z.compress(b"\x00"))  # no headers
    out.append(z.flush())
    return b"".join(out)


# -- varints (wire-protocol.md section 1.4) -----------------------------------------

def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(n):
    """Signed ZigZag varint/varlong."""
    return uvarint((n << 1) ^ (n >> 63))


def read_uvarint(buf, pos):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def read_varint(buf, pos):
    u, pos = read_uvarint(buf, pos)
    return (u >> 1) ^ -(u & 1), pos


# -- record batches (wire-protocol.md section 5) --------------------------------------
BATCH_HEADER = 61
LOG_OVERHEAD = 12  # base_offset + batch_length
_HDR = struct.Struct(">qiibIhiqqqhii")

Record = namedtuple("Record", "offset timestamp key value headers")
Batch = namedtuple("Batch", "position size base_offset batch_length leader_epoch magic crc crc_ok "
                            "attributes codec last_offset_delta base_timestamp max_timestamp "
                            "producer_id producer_epoch base_sequence count records")


def encode_record(offset_delta, timestamp_delta, key, value, headers=()):
    body = b"\x00" + varint(timestamp_delta) + varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(-1) if value is None else varint(len(value)) + value
    body += varint(len(headers))
    for hk, hv in headers:
        hk = hk.encode() if isinstance(hk, str) else hk
        body += varint(len(hk)) + hk
        body += varint(-1) if hv is None else varint(len(hv)) + hv
    return varint(len(body)) + body


def build_batch(records, base_timestamp=1_600_000_000_000, codec=NONE, magic=2, attributes=None,
                base_offset=0, leader_epoch=-1, producer_id=-1, producer_epoch=-1, base_sequence=-1,
                crc=None, batch_length=None, count=None, last_offset_delta=None, payload=None,
                max_timestamp=None):
    """A record batch from [(key, value)] or [(key, value, headers)] or
    [(key, value, headers, timestamp)].  Every keyword exists so that a test
    can craft one specific defect (wrong crc, magic, length, count, a payload
    other than the records compressed with codec); a max_timestamp given is
    written as is (record timestamps past int64 need it)."""
    recs = []
    max_ts = base_timestamp
    for i, r in enumerate(records):
        key, value = r[0], r[1]
        headers = r[2] if len(r) > 2 else ()
        ts = r[3] if len(r) > 3 else base_timestamp + i
        max_ts = max(max_ts, ts)
        recs.append(encode_record(i, ts - base_timestamp, key, value, headers))
    if max_timestamp is not None:
        max_ts = max_timestamp
    if payload is None:
        payload = compress(codec, b"".join(recs))
    n = len(records)
    attrs = codec if attributes is None else attributes
    max_ts = max_ts if max_timestamp is None else max_timestamp
    after_crc = struct.pack(">hiqqqhii", attrs, n - 1 if last_offset_delta is None else last_offset_delta,
                            base_timestamp, max_ts, producer_id, producer_epoch, base_sequence,
                            n if count is None else count) + payload
    the_crc = crc32c(after_crc) if crc is None else crc
    rest = struct.pack(">ibI", leader_epoch, magic, the_crc) + after_crc
    length = len(rest) if batch_length is None else batch_length
    return struct.pack(">qi", base_offset, length) + rest


def decode_records(batch_bytes, count, base_offset, base_timestamp, codec):
    """The records of one batch (its bytes from offset 0), uncompressing first."""
    data = decompress(codec, bytes(batch_bytes[BATCH_HEADER:]))
    out = []
    pos = 0
    for _ in range(count):
        length, pos = read_varint(data, pos)
        end = pos + length
        pos += 1  # attributes
        ts_delta, pos = read_varint(data, pos)
        off_delta, pos = read_varint(data, pos)
        klen, pos = read_varint(data, pos)
        key = None if klen < 0 else bytes(data[pos:pos + klen])
        pos += max(klen, 0)
        vlen, pos = read_varint(data, pos)
        value = None if vlen < 0 else bytes(data[pos:pos + vlen])
        pos += max(vlen, 0)
        nh, pos = read_varint(data, pos)
        headers = []
        for _ in range(nh):
            hkl, pos = read_varint(data, pos)
            hk = bytes(data[pos:pos + hkl]).decode("utf-8", "replace")
            pos += hkl
            hvl, pos = read_varint(data, pos)
            hv = None if hvl < 0 else bytes(data[pos:pos + hvl])
            pos += max(hvl, 0)
            headers.append((hk, hv))
        if pos != end:
            raise ValueError(f"record at offset delta {off_delta}: length {length} but fields end {pos - end:+d} off")
        out.append(Record(base_offset + off_delta, base_timestamp + ts_delta, key, value, headers))
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} bytes after the last of {count} records")
    return out


def parse_batches(data, verify_crc=True, decode=False, start=0):
    """(batches, end): every whole magic-2 batch of data from start on, and the
    position where the whole batches end (data[end:] is a partial batch, or
    garbage).  Stops at the first batch that is cut off or not magic 2; a CRC
    mismatch is reported in the batch (crc_ok) and parsing goes on."""
    mv = memoryview(data)
    pos = start
    out = []
    while len(data) - pos >= BATCH_HEADER:
        (base_offset, length, epoch, magic, crc, attrs, lod, base_ts, max_ts, pid, pepoch, seq,
         count) = _HDR.unpack_from(data, pos)
        size = LOG_OVERHEAD + length
        if magic != 2 or length < BATCH_HEADER - LOG_OVERHEAD or pos + size > len(data):
            break
        crc_ok = crc32c(mv[pos + 21:pos + size]) == crc if verify_crc else None
        records = None
        if decode:
            records = decode_records(mv[pos:pos + size], count, base_offset, base_ts, attrs & 7)
        out.append(Batch(pos, size, base_offset, length, epoch, magic, crc, crc_ok, attrs, attrs & 7,
                         lod, base_ts, max_ts, pid, pepoch, seq, count, records))
        pos += size
    return out, pos


def legacy_message_set(messages, magic=1, timestamp=1_600_000_000_000):
    """A magic 0/1 message set (wire-protocol.md section 5.7), as Produce v0-v2
    carry: [(key, value)], offsets 0..n-1, CRC-32 (IEEE)."""
    out = b""
    for i, (key, value) in enumerate(messages):
        body = struct.pack(">bb", magic, 0)
        if magic == 1:
            body += struct.pack(">q", timestamp)
        body += struct.pack(">i", -1) if key is None else struct.pack(">i", len(key)) + key
        body += struct.pack(">i", -1) if value is None else struct.pack(">i", len(value)) + value
        msg = struct.pack(">I", zlib.crc32(body)) + body
        out += struct.pack(">qi", i, len(msg)) + msg
    return out


# -- segment files (zk-and-replication.md section 4.1/4.2) ----------------------------

def segment_name(base_offset, suffix=".log"):
    return f"{base_offset:020d}{suffix}"


def read_segment(path, verify_crc=True, decode=False):
    """(batches, whole_end, file_size) of one .log file."""
    with open(path, "rb") as f:
        data = f.read()
    batches, end = parse_batches(data, verify_crc=verify_crc, decode=decode)
    return batches, end, len(data)


def read_offset_index(path):
    """[(offset, position)] of a .index file (zk-and-replication.md section
    4.3): 8-byte entries, relative offset then position.  An active segment's
    index is preallocated with zeros; reading stops at the first entry that
    does not increase."""
    with open(path, "rb") as f:
        data = f.read()
    base = int(path.name[:20])
    out = []
    for pos in range(0, len(data) - 7, 8):
        rel, position = struct.unpack_from(">ii", data, pos)
        if out and (base + rel <= out[-1][0] or position <= out[-1][1]):
            break
        if not out and rel == 0 and position == 0:
            break
        out.append((base + rel, position))
    return out


def read_time_index(path):
    """[(timestamp, offset)] of a .timeindex file (section 4.4): 12-byte
    entries, timestamp then relative offset; stops at the preallocated zeros."""
    with open(path, "rb") as f:
        data = f.read()
    base = int(path.name[:20])
    out = []
    for pos in range(0, len(data) - 11, 12):
        ts, rel = struct.unpack_from(">qi", data, pos)
        if ts == 0 and rel == 0 or out and ts <= out[-1][0]:
            break
        out.append((ts, base + rel))
    return out


# -- request/response primitives (wire-protocol.md section 1.4) ---------------------

def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    s = s.encode() if isinstance(s, str) else s
    return i16(len(s)) + s


def nbytes(b):
    return i32(-1) if b is None else i32(len(b)) + b


def array(items, enc):
    return i32(len(items)) + b"".join(enc(x) for x in items)


class Reader:
    """Reads a response body; every read raises on underflow."""

    def __init__(self, data, pos=0):
        self.data = data
        self.pos = pos

    def _take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"response underflow: need {n} bytes at {self.pos} of {len(self.data)}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self):
        return struct.unpack(">b", self._take(1))[0]

    def i16(self):
        return struct.unpack(">h", self._take(2))[0]

    def i32(self):
        return struct.unpack(">i", self._take(4))[0]

    def i64(self):
        return struct.unpack(">q", self._take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self._take(n).decode("utf-8", "replace")

    def nbytes(self):
        n = self.i32()
        return None if n < 0 else bytes(self._take(n))

    def array(self, fn):
        n = self.i32()
        if n < 0:
            return None
        return [fn(self) for _ in range(n)]

    def left(self):
        return len(self.data) - self.pos


def response_body(frame):
    """(correlation id, Reader over the body) of a frame from recv_frame
    (non-flexible response header v0)."""
    corr = struct.unpack_from(">i", frame, 4)[0]
    return corr, Reader(frame, 8)


# -- Produce (key 0), wire-protocol.md section 4.3 ---------------------------------

def produce_body(topic_data, acks=1, timeout_ms=30000, version=7, transactional_id=None):
    """topic_data: [(topic, [(partition, records bytes or None)])] in wire order."""
    body = string(transactional_id) if version >= 3 else b""
    body += i16(acks) + i32(timeout_ms)
    body += array(topic_data, lambda t: string(t[0]) + array(t[1], lambda p: i32(p[0]) + nbytes(p[1])))
    return body


ProducePartition = namedtuple("ProducePartition", "error base_offset log_append_time log_start_offset")


def parse_produce_response(frame, version=7):
    """(corr, {(topic, partition): ProducePartition}, order, throttle_time_ms);
    order is the [(topic, partition)] sequence as answered."""
    corr, r = response_body(frame)
    out, order = {}, []
    for _ in range(r.i32()):
        topic = r.string()
        for _ in range(r.i32()):
            p = r.i32()
            err = r.i16()
            base = r.i64()
            lat = r.i64() if version >= 2 else None
            lso = r.i64() if version >= 5 else None
            out[(topic, p)] = ProducePartition(err, base, lat, lso)
            order.append((topic, p))
    throttle = r.i32() if version >= 1 else None
    if r.left():
        raise ValueError(f"{r.left()} trailing bytes after the Produce v{version} response")
    return corr, out, order, throttle


# -- Fetch (key 1) v4, wire-protocol.md section 4.4 ----------------------------------

def fetch_v4_body(topics, max_wait_ms=500, min_bytes=1, max_bytes=0x7FFFFFFF, isolation_level=0):
    """topics: [(topic, [(partition, fetch_offset, partition_max_bytes)])]."""
    body = i32(-1) + i32(max_wait_ms) + i32(min_bytes) + i32(max_bytes) + i8(isolation_level)
    body += array(topics, lambda t: string(t[0]) + array(
        t[1], lambda p: i32(p[0]) + i64(p[1]) + i32(p[2])))
    return body


FetchPartition = namedtuple("FetchPartition", "error high_watermark last_stable_offset aborted records")


def parse_fetch_v4_response(frame):
    """(corr, throttle_time_ms, {(topic, partition): FetchPartition})."""
    corr, r = response_body(frame)
    throttle = r.i32()
    out = {}
    for _ in range(r.i32()):
        topic = r.string()
        for _ in range(r.i32()):
            p = r.i32()
            err = r.i16()
            hw = r.i64()
            lso = r.i64()
            aborted = r.array(lambda x: (x.i64(), x.i64()))
            records = r.nbytes()
            out[(topic, p)] = FetchPartition(err, hw, lso, aborted, records)
    if r.left():
        raise ValueError(f"{r.left()} trailing bytes after the Fetch v4 response")
    return corr, throttle, out


# -- ListOffsets (key 2) v1, wire-protocol.md section 4.5 ------------------------------
LATEST, EARLIEST = -1, -2


def list_offsets_v1_body(topics):
    """topics: [(topic, [(partition, timestamp)])]."""
    return i32(-1) + array(topics, lambda t: string(t[0]) + array(t[1], lambda p: i32(p[0]) + i64(p[1])))


def parse_list_offsets_v1_response(frame):
    """(corr, {(topic, partition): (error, timestamp, offset)})."""
    corr, r = response_body(frame)
    out = {}
    for _ in range(r.i32()):
        topic = r.string()
        for _ in range(r.i32()):
            p = r.i32()
            out[(topic, p)] = (r.i16(), r.i64(), r.i64())
    if r.left():
        raise ValueError(f"{r.left()} trailing bytes after the ListOffsets v1 response")
    return corr, out


# -- Metadata (key 3) v1, wire-protocol.md section 4.2 --------------------------------

def metadata_v1_body(topics=None):
    """topics: names, or None for every topic (v1's null array)."""
    return i32(-1) if topics is None else array(list(topics), string)


MetadataPartition = namedtuple("MetadataPartition", "error leader replicas isr")


def parse_metadata_v1_response(frame):
    """(corr, {"brokers": {id: (host, port)}, "controller": id,
    "topics": {name: (error, {partition: MetadataPartition})}})."""
    corr, r = response_body(frame)
    brokers = {}
    for _ in range(r.i32()):
        node, host, port = r.i32(), r.string(), r.i32()
        r.string()  # rack
        brokers[node] = (host, port)
    controller = r.i32()
    topics = {}
    for _ in range(r.i32()):
        err, name = r.i16(), r.string()
        r.i8()  # is_internal
        parts = {}
        for _ in range(r.i32()):
            perr, p, leader = r.i16(), r.i32(), r.i32()
            parts[p] = MetadataPartition(perr, leader, r.array(Reader.i32), r.array(Reader.i32))
        topics[name] = (err, parts)
    if r.left():
        raise ValueError(f"{r.left()} trailing bytes after the Metadata v1 response")
    return corr, {"brokers": brokers, "controller": controller, "topics": topics}


# -- consumer groups (group-protocol.md section 2) ------------------------------------
# Non-flexible versions only: request header v1, response header v0, as
# kbharness.kafka_request and response_body frame them.  Each parse_*
# function reads the whole body and fails on trailing bytes, so a field the
# broker adds or drops shows up as a decoding error, not as a wrong value.
FIND_COORDINATOR, JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 10, 11, 12, 13, 14
OFFSET_COMMIT, OFFSET_FETCH, DESCRIBE_GROUPS, LIST_GROUPS, DELETE_GROUPS = 8, 9, 15, 16, 42


def _done(r, what):
    if r.left():
        raise ValueError(f"{r.left()} trailing bytes after the {what} response")


def find_coordinator_body(key, version=2, key_type=0):
    """Section 2.1: the key, and from v1 its type (0 group, 1 transaction)."""
    return string(key) + (i8(key_type) if version >= 1 else b"")


FindCoordinator = namedtuple("FindCoordinator", "error message node host port")


def parse_find_coordinator_response(frame, version=2):
    _, r = response_body(frame)
    if version >= 1:
        r.i32()  # throttle
    err = r.i16()
    msg = r.string() if version >= 1 else None
    out = FindCoordinator(err, msg, r.i32(), r.string(), r.i32())
    _done(r, f"FindCoordinator v{version}")
    return out


def join_group_body(group, member_id, protocols, session_ms=10000, rebalance_ms=30000, version=5,
                    instance_id=None, protocol_type="consumer"):
    """Section 2.2; protocols: [(name, metadata bytes)] in preference order."""
    body = string(group) + i32(session_ms)
    if version >= 1:
        body += i32(rebalance_ms)
    body += string(member_id)
    if version >= 5:
        body += string(instance_id)
    return body + string(protocol_type) + array(protocols, lambda p: string(p[0]) + nbytes(p[1]))


JoinGroup = namedtuple("JoinGroup", "error generation protocol leader member_id members")
JoinMember = namedtuple("JoinMember", "member_id instance_id metadata")


def parse_join_group_response(frame, version=5):
    _, r = response_body(frame)
    if version >= 2:
        r.i32()  # throttle
    err, gen, proto, leader, mid = r.i16(), r.i32(), r.string(), r.string(), r.string()
    members = r.array(lambda x: JoinMember(x.string(), x.string() if version >= 5 else None, x.nbytes()))
    _done(r, f"JoinGroup v{version}")
    return JoinGroup(err, gen, proto, leader, mid, members)


def sync_group_body(group, generation, member_id, assignments=(), version=3, instance_id=None):
    """Section 2.3; assignments: [(member id, assignment bytes)] (leader only)."""
    body = string(group) + i32(generation) + string(member_id)
    if version >= 3:
        body += string(instance_id)
    return body + array(list(assignments), lambda a: string(a[0]) + nbytes(a[1]))


def parse_sync_group_response(frame, version=3):
    """(error, assignment bytes)."""
    _, r = response_body(frame)
    if version >= 1:
        r.i32()
    out = (r.i16(), r.nbytes())
    _done(r, f"SyncGroup v{version}")
    return out


def heartbeat_body(group, generation, member_id, version=3, instance_id=None):
    """Section 2.4."""
    body = string(group) + i32(generation) + string(member_id)
    return body + (string(instance_id) if version >= 3 else b"")


def parse_heartbeat_response(frame, version=3):
    """The error code."""
    _, r = response_body(frame)
    if version >= 1:
        r.i32()
    err = r.i16()
    _done(r, f"Heartbeat v{version}")
    return err


def leave_group_body(group, members, version=3):
    """Section 2.5; members: [(member id, instance id or None)] (v0-2: one, id only)."""
    if version >= 3:
        return string(group) + array(list(members), lambda m: string(m[0]) + string(m[1]))
    return string(group) + string(members[0][0])


def parse_leave_group_response(frame, version=3):
    """(error, [(member id, instance id, error)]; the list is empty before v3)."""
    _, r = response_body(frame)
    if version >= 1:
        r.i32()
    err = r.i16()
    members = r.array(lambda x: (x.string(), x.string(), x.i16())) if version >= 3 else []
    _done(r, f"LeaveGroup v{version}")
    return err, members


def offset_commit_body(group, generation, member_id, offsets, version=7, instance_id=None):
    """Section 2.6 (v2-v7); offsets: {(topic, partition): offset}, metadata ""."""
    body = string(group) + i32(generation) + string(member_id)
    if version >= 7:
        body += string(instance_id)
    if 2 <= version <= 4:
        body += i64(-1)  # retention: the broker's default

    def part(p):
        out = i32(p[0]) + i64(p[1])
        return out + (i32(-1) if version >= 6 else b"") + string("")
    by_topic = {}
    for (t, p), o in sorted(offsets.items()):
        by_topic.setdefault(t, []).append((p, o))
    return body + array(list(by_topic.items()), lambda t: string(t[0]) + array(t[1], part))


def parse_offset_commit_response(frame, version=7):
    """{(topic, partition): error}."""
    _, r = response_body(frame)
    if version >= 3:
        r.i32()
    out = {}
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            p = r.i32()
            out[(t, p)] = r.i16()
    _done(r, f"OffsetCommit v{version}")
    return out


def offset_fetch_body(group, topics, version=5):
    """Section 2.7; topics: {topic: [partitions]}, or None for all (v2+)."""
    if topics is None:
        return string(group) + i32(-1)
    return string(group) + array(list(topics.items()), lambda t: string(t[0]) + array(t[1], i32))


OffsetFetched = namedtuple("OffsetFetched", "offset leader_epoch metadata error")


def parse_offset_fetch_response(frame, version=5):
    """(top-level error or None before v2, {(topic, partition): OffsetFetched})."""
    _, r = response_body(frame)
    if version >= 3:
        r.i32()
    out = {}
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            p, off = r.i32(), r.i64()
            epoch = r.i32() if version >= 5 else None
            out[(t, p)] = OffsetFetched(off, epoch, r.string(), r.i16())
    err = r.i16() if version >= 2 else None
    _done(r, f"OffsetFetch v{version}")
    return err, out


def list_groups_body():
    return b""


def parse_list_groups_response(frame, version=2):
    """(error, {group: protocol type})."""
    _, r = response_body(frame)
    if version >= 1:
        r.i32()
    err = r.i16()
    groups = dict(r.array(lambda x: (x.string(), x.string())))
    _done(r, f"ListGroups v{version}")
    return err, groups


def describe_groups_body(groups, version=4):
    """Section 2.9."""
    return array(list(groups), string) + (i8(0) if version >= 3 else b"")


GroupDescription = namedtuple("GroupDescription", "error group_id state protocol_type protocol members")
DescribedMember = namedtuple("DescribedMember", "member_id instance_id client_id client_host metadata assignment")


def parse_describe_groups_response(frame, version=4):
    """[GroupDescription] in request order."""
    _, r = response_body(frame)
    if version >= 1:
        r.i32()

    def member(x):
        mid = x.string()
        iid = x.string() if version >= 4 else None
        return DescribedMember(mid, iid, x.string(), x.string(), x.nbytes(), x.nbytes())

    def group(x):
        g = GroupDescription(x.i16(), x.string(), x.string(), x.string(), x.string(), x.array(member))
        if version >= 3:
            x.i32()  # authorized operations
        return g
    out = r.array(group)
    _done(r, f"DescribeGroups v{version}")
    return out


def delete_groups_body(groups):
    """Section 2.10 (v0 and v1 are the same)."""
    return array(list(groups), string)


def parse_delete_groups_response(frame, version=1):
    """{group: error}."""
    _, r = response_body(frame)
    r.i32()
    out = dict(r.array(lambda x: (x.string(), x.i16())))
    _done(r, f"DeleteGroups v{version}")
    return out


# -- AlterPartitionReassignments (45) and ListPartitionReassignments (46), v0 ------
# Both are flexible from v0: compact strings and arrays (length + 1, 0 is
# null), a tagged-field section after every struct, response header v1
# (correlation id, then a tagged-field section).

ALTER_PARTITION_REASSIGNMENTS = 45
LIST_PARTITION_REASSIGNMENTS = 46


def compact_string(s):
    if s is None:
        return uvarint(0)
    s = s.encode() if isinstance(s, str) else s
    return uvarint(len(s) + 1) + s


def compact_array(items, enc):
    """items None: a null array."""
    if items is None:
        return uvarint(0)
    return uvarint(len(items) + 1) + b"".join(enc(x) for x in items)


TAGS = b"\x00"  # an empty tagged-field section


def alter_reassignments_body(topics, timeout_ms=30000):
    """topics: [(topic, [(partition, [replicas] or None to cancel)])]."""
    def partition(p):
        return i32(p[0]) + compact_array(p[1], i32) + TAGS
    return i32(timeout_ms) + compact_array(topics, lambda t: compact_string(t[0]) + compact_array(t[1], partition)
                                           + TAGS) + TAGS


def list_reassignments_body(topics=None, timeout_ms=30000):
    """topics: [(topic, [partitions])], or None for every ongoing one."""
    return i32(timeout_ms) + compact_array(topics, lambda t: compact_string(t[0]) + compact_array(t[1], i32)
                                           + TAGS) + TAGS


class FlexReader(Reader):
    """Reads a flexible body: compact strings and arrays, tag sections."""

    def uvarint(self):
        v, self.pos = read_uvarint(self.data, self.pos)
        return v

    def cstring(self):
        n = self.uvarint()
        return None if n == 0 else self._take(n - 1).decode("utf-8", "replace")

    def carray(self, fn):
        n = self.uvarint()
        return None if n == 0 else [fn(self) for _ in range(n - 1)]

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self._take(self.uvarint())


def flex_response_body(frame):
    """(correlation id, FlexReader over the body) of a frame with response
    header v1."""
    corr = struct.unpack_from(">i", frame, 4)[0]
    r = FlexReader(frame, 8)
    r.tags()
    return corr, r


def parse_alter_reassignments_response(frame):
    """(error, message, {(topic, partition): (error, message)})."""
    _, r = flex_response_body(frame)
    r.i32()
    err, msg = r.i16(), r.cstring()
    out = {}

    def topic(x):
        name = x.cstring()

        def partition(y):
            p, e, m = y.i32(), y.i16(), y.cstring()
            y.tags()
            out[(name, p)] = (e, m)
        x.carray(partition)
        x.tags()
    r.carray(topic)
    r.tags()
    _done(r, "AlterPartitionReassignments v0")
    return err, msg, out


def parse_list_reassignments_response(frame):
    """(error, message, {(topic, partition): (replicas, adding, removing)})."""
    _, r = flex_response_body(frame)
    r.i32()
    err, msg = r.i16(), r.cstring()
    out = {}

    def topic(x):
        name = x.cstring()

        def partition(y):
            p = y.i32()
            lists = tuple(y.carray(FlexReader.i32) for _ in range(3))
            y.tags()
            out[(name, p)] = lists
        x.carray(partition)
        x.tags()
    r.carray(topic)
    r.tags()
    _done(r, "ListPartitionReassignments v0")
    return err, msg, out


# -- the embedded consumer protocol (group-protocol.md section 5) --------------------

def consumer_subscription(topics, version=0, user_data=b"", owned=()):
    """ConsumerProtocolSubscription v0/v1 (owned: [(topic, [partitions])])."""
    body = i16(version) + array(list(topics), string) + nbytes(user_data)
    if version >= 1:
        body += array(list(owned), lambda t: string(t[0]) + array(t[1], i32))
    return body


def parse_consumer_subscription(data):
    """(version, [topics]) - the v0 prefix every version starts with."""
    r = Reader(data)
    return r.i16(), r.array(Reader.string)


def consumer_assignment(parts, version=0, user_data=b""):
    """ConsumerProtocolAssignment: parts {topic: [partitions]}."""
    return i16(version) + array(sorted(parts.items()), lambda t: string(t[0]) + array(t[1], i32)) + \
        nbytes(user_data)


def parse_consumer_assignment(data):
    """{(topic, partition)} of an assignment; empty bytes are no partitions
    (section 5.3)."""
    if not data:
        return set()
    r = Reader(data)
    r.i16()
    out = set()
    for _ in range(r.i32()):
        t = r.string()
        out |= {(t, p) for p in r.array(Reader.i32)}
    return out


# -- which __consumer_offsets partition holds a group (group-protocol.md 3.1) --------

def group_partition(group, partitions):
    """abs(Java hashCode of group) % partitions, with Kafka's abs(MIN_VALUE) = 0:
    the hash runs over UTF-16 code units with int32 wrap-around."""
    units = group.encode("utf-16-be")
    h = 0
    for i in range(0, len(units), 2):
        h = (31 * h + (units[i] << 8 | units[i + 1])) & 0xFFFFFFFF
    h = h - (1 << 32) if h >= 1 << 31 else h
    return 0 if h == -(1 << 31) else abs(h) % partitions


for _g, _p in (("polygenelubricants", 0), ("my-group", 12), ("test-group", 12), ("kcat", 49),
               ("console-consumer-1", 24), ("", 0), ("\u00e9", 33), ("\U0001F600grp", 36)):
    assert group_partition(_g, 50) == _p, f"spec 3.1 test vector {_g!r}"


# -- __consumer_offsets records (group-protocol.md 7.2-7.5) -------------------------
# Independent of the broker's codec: each layout is read field by field
# from the spec's tables, and every decoder fails on unknown versions and
# on bytes left over.
OffsetKey = namedtuple("OffsetKey", "version group topic partition")
GroupKey = namedtuple("GroupKey", "version group")
OffsetValue = namedtuple("OffsetValue", "version offset leader_epoch metadata commit_timestamp expire_timestamp")
GroupValue = namedtuple("GroupValue", "version protocol_type generation protocol leader state_timestamp members")
GroupValueMember = namedtuple("GroupValueMember", "member_id instance_id client_id client_host rebalance_timeout "
                                                  "session_timeout subscription assignment")


def _whole(r, what):
    if r.left():
        raise ValueError(f"{r.left()} bytes after the {what}")


def decode_offsets_key(data):
    """OffsetKey (versions 0 and 1) or GroupKey (version 2)."""
    r = Reader(data)
    version = r.i16()
    if version in (0, 1):
        key = OffsetKey(version, r.string(), r.string(), r.i32())
    elif version == 2:
        key = GroupKey(version, r.string())
    else:
        raise ValueError(f"unknown __consumer_offsets key version {version}")
    _whole(r, f"key v{version}")
    return key


def decode_offset_value(data):
    """OffsetCommitValue v0-v3 (section 7.3's field order per version)."""
    r = Reader(data)
    version = r.i16()
    if version not in (0, 1, 2, 3):
        raise ValueError(f"unknown offset value version {version}")
    offset = r.i64()
    epoch = r.i32() if version == 3 else -1
    metadata, commit_ts = r.string(), r.i64()
    expire_ts = r.i64() if version == 1 else -1
    _whole(r, f"offset value v{version}")
    return OffsetValue(version, offset, epoch, metadata, commit_ts, expire_ts)


def decode_group_value(data):
    """GroupMetadataValue v0-v3 with its members (section 7.5)."""
    r = Reader(data)
    version = r.i16()
    if version not in (0, 1, 2, 3):
        raise ValueError(f"unknown group value version {version}")
    ptype, gen, proto, leader = r.string(), r.i32(), r.string(), r.string()
    state_ts = r.i64() if version >= 2 else -1

    def member(x):
        mid = x.string()
        iid = x.string() if version >= 3 else None
        cid, host = x.string(), x.string()
        rebalance = x.i32() if version >= 1 else None
        return GroupValueMember(mid, iid, cid, host, rebalance, x.i32(), x.nbytes(), x.nbytes())
    members = r.array(member)
    _whole(r, f"group value v{version}")
    return GroupValue(version, ptype, gen, proto, leader, state_ts, members)


# The spec's own examples (7.3, 7.4) read back as they should.
assert decode_offsets_key(bytes.fromhex("00010002673100017400000003")) == OffsetKey(1, "g1", "t", 3)
assert decode_offset_value(bytes.fromhex("0003000000000000002affffffff0000000001" "8bcfe56800")) == \
    OffsetValue(3, 42, -1, "", 1700000000000, -1)
assert decode_offsets_key(bytes.fromhex("000200026731")) == GroupKey(2, "g1")


# -- ElectLeaders (key 43, v0-2; v2 flexible) -----------------------------------------

ELECT_PREFERRED, ELECT_UNCLEAN = 0, 1


def _cstring(s):
    s = s.encode() if isinstance(s, str) else s
    return uvarint(len(s) + 1) + s


def elect_leaders_body(partitions, election_type=ELECT_PREFERRED, timeout_ms=60000, version=1):
    """partitions: {topic: [partition, ...]}, or None for every partition."""
    flex = version >= 2
    out = i8(election_type) if version >= 1 else b""
    if partitions is None:
        out += uvarint(0) if flex else i32(-1)
    elif flex:
        out += uvarint(len(partitions) + 1)
        for t, ps in partitions.items():
            out += _cstring(t) + uvarint(len(ps) + 1) + b"".join(i32(p) for p in ps) + b"\x00"
    else:
        out += i32(len(partitions))
        for t, ps in partitions.items():
            out += string(t) + i32(len(ps)) + b"".join(i32(p) for p in ps)
    return out + i32(timeout_ms) + (b"\x00" if flex else b"")


def _read_uv(r):
    v, r.pos = read_uvarint(r.data, r.pos)
    return v


def _read_cstring(r, nullable=False):
    n = _read_uv(r)
    if n == 0:
        if nullable:
            return None
        raise ValueError("null compact string")
    return r._take(n - 1).decode("utf-8", "replace")


def _skip_tags(r):
    for _ in range(_read_uv(r)):
        _read_uv(r)
        r._take(_read_uv(r))


def parse_elect_leaders_response(frame, version=1):
    """(top-level error code or None before v1, {(topic, partition): (error, message)})."""
    flex = version >= 2
    r = Reader(frame, 8)
    if flex:
        _skip_tags(r)  # response header v1
    r.i32()  # throttle_time_ms
    top = r.i16() if version >= 1 else None
    out = {}
    for _ in range(_read_uv(r) - 1 if flex else r.i32()):
        topic = _read_cstring(r) if flex else r.string()
        for _ in range(_read_uv(r) - 1 if flex else r.i32()):
            p, err = r.i32(), r.i16()
            msg = _read_cstring(r, nullable=True) if flex else r.string()
            if flex:
                _skip_tags(r)
            out[(topic, p)] = (err, msg)
        if flex:
            _skip_tags(r)
    if flex:
        _skip_tags(r)
    _done(r, f"ElectLeaders v{version} response")
    return top, out
