"""
frame_fuzz - hostile Kafka traffic against a live broker, for the chaos
tier's R8 "fuzz smoke" (reliability-tests.md section 6.2): for a given number
of seconds, up to max_connections concurrent sockets each play one randomly
chosen case against the Kafka listener:

  valid            a few well-formed requests; every answer is awaited and
                   its correlation id checked against request order
  mutated          well-formed requests, then mutated copies: bit flips,
                   inserted / deleted bytes, truncated bodies (size prefix
                   fixed or left saying the old size), a length field of the
                   body (array count, string length, record batch length,
                   compact varint) set to -1, 0, huge or INT32_MAX, a compact
                   varint that never ends, api key / version out of range,
                   odd correlation ids, two requests spliced together
  frame_negative   a negative size prefix
  frame_zero       a size-0 frame
  frame_tiny       frames of 1 to 9 bytes
  frame_huge       a size prefix over the 100 MiB default limit (or just at
                   it), a little of the body, then wait or close
  slow             a request sent one byte at a time (at most ~2.5 s)
  half_close       a frame announced, half of it sent, then FIN or RST; or
                   whole requests followed by shutdown(SHUT_WR)
  parked           a Fetch that waits (min_bytes 1 MiB, max_wait up to
                   3 s), maybe more requests queued behind it, then FIN,
                   RST or SHUT_WR while it is parked, or wait for it
  pipeline         100 to 2,000 small valid requests back to back without
                   reading, sometimes with a bad frame last
  random           pure random bytes
  random_framed    a correct size prefix around random bytes (sometimes
                   behind a plausible request header)

and whatever the broker answers is drained with short timeouts and counted.
Everything is deterministic given the seed: plan(seed, n) is the sequence of
cases of connections 0..n-1 (what run uses), and connection i's bytes depend
only on (seed, i), so one connection can be shown (describe) or sent again
(replay) on its own.  Standard library only, plus tests/integration/kafkawire
for the valid requests.

Never hangs: every socket is non-blocking under one selector, each connection
has a connect timeout, a send-stall timeout, a quiet timeout and a total
cap, and run() returns within seconds + 5 s whatever the broker does.

    python3 tests/chaos/frame_fuzz.py HOST PORT [--seconds S] [--seed N]
    python3 tests/chaos/frame_fuzz.py HOST PORT --seed N --describe I
    python3 tests/chaos/frame_fuzz.py HOST PORT --seed N --replay I
"""
import argparse
import errno
import json
import os
import random
import selectors
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "integration"))
import kafkawire as kw  # noqa: E402

# -- timing bounds -----------------------------------------------------------------
CONNECT_TIMEOUT = 1.0   # a connect not finished by then fails
SEND_STALL = 2.0        # no send progress for this long while bytes wait: timeout
QUIET = 0.3             # after the script, nothing received for this long: stop
DRAIN_CAP = 1.5         # after the script, stop reading after this long anyway
CONN_CAP = 5.0          # whole life of one connection
SLOW_BUDGET = 2.5       # the byte-at-a-time case spends at most this sending
HARD_GRACE = 1.5        # connections still open this long after `seconds` are aborted
PROBE_TIMEOUT = 1.2     # the final ApiVersions probe: connect, then answer
FAIL_BACKOFF = 0.05     # pause before the next connection after a failed connect
MAX_CORRS = 4096        # correlation ids of answers remembered per connection

INT32_MAX = 0x7FFFFFFF
INT32_MIN = -0x80000000
MAX_FRAME_DEFAULT = 104857600  # socket.request.max.bytes default

# Versions kbroker answers (wire-protocol.md section 2); a request outside
# these gets the connection closed, so answers after it are not expected.
# (kbroker's api table; Produce v0-v2 is answered with an error, not closed)
SUPPORTED = {0: (0, 7), 1: (4, 11), 2: (0, 3), 3: (0, 6), 10: (0, 2), 18: (0, 3), 19: (0, 4), 21: (0, 1),
             22: (0, 4), 32: (1, 2), 33: (0, 1)}

CASES = ("valid", "mutated", "frame_negative", "frame_zero", "frame_tiny", "frame_huge", "slow",
         "half_close", "parked", "pipeline", "random", "random_framed")
CASE_WEIGHTS = (8, 40, 3, 3, 4, 4, 3, 5, 5, 4, 12, 14)

TOPICS = ("frame-fuzz", "frame-fuzz-missing-0", "frame-fuzz-missing-1")
HOSTILE_NAMES = ("", ".", "..", "-", "a" * 250, "x" * 300, "bad/name", "../../etc/passwd", "bad name",
                 "t\x00p", "\u00fc" * 40, "%s%s%n%x%n", "a.b_c", "\t\r\n", "\x7f\x01")
HOSTILE_BYTES = (b"\xff\xfe\xfd", b"\xc3\x28", b"\xed\xa0\x80")  # invalid UTF-8
CLIENT_IDS = (b"frame-fuzz", b"", b"%n%n%s%s%x", b"\xff" * 20, b"c" * 1000)


# -- request building, with the positions of length-like fields ---------------------

class _Frame:
    """One request frame under construction: its bytes (size prefix first)
    and the offsets of its length-like fields: ("i16"|"i32", offset) for
    int16/int32 lengths and counts, ("uv"|"sv", offset) for unsigned /
    signed (ZigZag) varints."""

    def __init__(self):
        self.buf = bytearray(4)
        self.fields = []

    def mark(self, kind):
        self.fields.append((kind, len(self.buf)))

    def i8(self, v):
        self.buf += struct.pack(">b", v)

    def i16(self, v):
        self.buf += struct.pack(">h", v)

    def i32(self, v):
        self.buf += struct.pack(">i", v)

    def i64(self, v):
        self.buf += struct.pack(">q", v)

    def str16(self, s):
        self.mark("i16")
        if s is None:
            self.i16(-1)
            return
        b = s.encode("utf-8", "surrogatepass") if isinstance(s, str) else bytes(s)
        self.i16(len(b))
        self.buf += b

    def count32(self, n):
        self.mark("i32")
        self.i32(n)

    def bytes32(self, b):
        self.mark("i32")
        if b is None:
            self.i32(-1)
            return
        self.i32(len(b))
        self.buf += b

    def uvarint(self, n):
        self.mark("uv")
        self.buf += kw.uvarint(n)

    def cstr(self, s):
        if s is None:
            self.uvarint(0)
            return
        b = s.encode("utf-8", "surrogatepass") if isinstance(s, str) else bytes(s)
        self.uvarint(len(b) + 1)
        self.buf += b

    def carray(self, n):
        self.uvarint(n + 1)

    def tags(self):
        self.uvarint(0)

    def batch(self, data):
        """A record batch: its length, its record count and the first
        record's length varint are length fields."""
        base = len(self.buf)
        self.fields.append(("i32", base + 8))
        if len(data) > kw.BATCH_HEADER:
            self.fields.append(("i32", base + 57))
            self.fields.append(("sv", base + kw.BATCH_HEADER))
        self.buf += data

    def header(self, key, version, corr, client_id, flexible):
        self.i16(key)
        self.i16(version)
        self.i32(corr)
        self.str16(client_id)
        if flexible:
            self.tags()

    def finish(self):
        struct.pack_into(">i", self.buf, 0, len(self.buf) - 4)
        return bytes(self.buf), list(self.fields)


class _Req:
    """A built request: frame bytes, length fields, its name, and whether
    kbroker is expected to answer it (a version it supports)."""
    __slots__ = ("frame", "fields", "name", "corr", "answered")

    def __init__(self, frame, fields, name, corr, answered):
        self.frame, self.fields, self.name, self.corr, self.answered = frame, fields, name, corr, answered


def _corr(rng, seq):
    r = rng.random()
    if r < 0.7:
        return seq
    if r < 0.8:
        return rng.choice((0, -1, INT32_MAX, INT32_MIN))
    return rng.randrange(INT32_MIN, INT32_MAX + 1)


def _client_id(rng):
    return rng.choice(CLIENT_IDS) if rng.random() < 0.3 else CLIENT_IDS[0]


def _topic(rng):
    return rng.choice(TOPICS)


def _hostile_name(rng):
    return rng.choice(HOSTILE_BYTES) if rng.random() < 0.15 else rng.choice(HOSTILE_NAMES)


def _apiversions(rng, corr, version=None):
    v = rng.randint(0, 3) if version is None else version
    f = _Frame()
    f.header(18, v, corr, _client_id(rng), v >= 3)
    if v >= 3:
        f.cstr("frame-fuzz" if rng.random() < 0.8 else _hostile_name(rng))
        f.cstr("0.1")
        f.tags()
    return f, f"ApiVersions v{v}"


def _metadata(rng, corr, version=None):
    v = rng.choice((1, 1, 4, 9)) if version is None else version
    flexible = v >= 9
    f = _Frame()
    f.header(3, v, corr, _client_id(rng), flexible)
    topics = [] if rng.random() < 0.3 else [_topic(rng) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.1:  # one Kafka refuses: auto-creation must not make it
        name = _hostile_name(rng)
        while _legal_topic(name):
            name = _hostile_name(rng)
        topics.append(name)
    if flexible:
        f.carray(len(topics))
        for t in topics:
            f.cstr(t)
            f.tags()
    else:
        f.count32(len(topics))
        for t in topics:
            f.str16(t)
    if v >= 4:
        f.i8(0)  # allow_auto_topic_creation: none from this fuzzer
    if v >= 8:
        f.i8(rng.randint(0, 1))  # include_cluster_authorized_operations (8-10)
        f.i8(rng.randint(0, 1))  # include_topic_authorized_operations
    if flexible:
        f.tags()
    return f, f"Metadata v{v}"


def _record_batch(rng):
    n = rng.randint(1, 4)
    records = []
    for i in range(n):
        key = None if rng.random() < 0.5 else b"k%d" % i
        value = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
        headers = [("h", b"v")] if rng.random() < 0.2 else []
        records.append((key, value, headers))
    codec = kw.GZIP if rng.random() < 0.2 else kw.NONE
    return kw.build_batch(records, base_timestamp=1_700_000_000_000 + rng.randrange(1000), codec=codec)


def _produce(rng, corr, version=None):
    """Produce v3 or v7 with one record batch; now and then v0-v2 with a
    legacy message set (which kbroker refuses with an error)."""
    v = rng.choice((3, 3, 7, 7, 7, 2)) if version is None else version
    f = _Frame()
    f.header(0, v, corr, _client_id(rng), False)
    if v >= 3:
        f.str16(None)  # transactional_id
    f.i16(rng.choice((1, 1, -1)))
    f.i32(1000)
    f.count32(1)
    f.str16(_topic(rng))
    f.count32(1)
    f.i32(rng.choice((0, 0, 1)))
    if v >= 3:
        batch = _record_batch(rng)
        f.mark("i32")
        f.i32(len(batch))
        f.batch(batch)
    else:
        f.bytes32(kw.legacy_message_set([(None, b"legacy")], magic=1 if v == 2 else 0))
    return f, f"Produce v{v}"


def _fetch(rng, corr, version=None):
    v = rng.choice((4, 11)) if version is None else version
    f = _Frame()
    f.header(1, v, corr, _client_id(rng), False)
    f.i32(-1)                          # replica_id
    f.i32(rng.choice((0, 10, 100)))    # max_wait_ms
    f.i32(rng.choice((0, 1)))          # min_bytes
    f.i32(rng.choice((INT32_MAX, 1 << 20)))
    f.i8(0)                            # isolation_level
    if v >= 7:
        f.i32(0)   # session_id
        f.i32(-1)  # session_epoch
    f.count32(1)
    f.str16(_topic(rng))
    f.count32(1)
    f.i32(0)
    if v >= 9:
        f.i32(-1)  # current_leader_epoch
    f.i64(rng.choice((0, 0, 5, -1)))
    if v >= 5:
        f.i64(-1)  # log_start_offset
    f.i32(rng.choice((1 << 20, 64)))
    if v >= 7:
        f.count32(0)  # forgotten_topics_data
    if v >= 11:
        f.str16("")   # rack_id
    return f, f"Fetch v{v}"


def _listoffsets(rng, corr, version=1):
    f = _Frame()
    f.header(2, version, corr, _client_id(rng), False)
    f.i32(-1)
    f.count32(1)
    f.str16(_topic(rng))
    f.count32(1)
    f.i32(0)
    f.i64(rng.choice((kw.LATEST, kw.EARLIEST, 1_700_000_000_000)))
    return f, f"ListOffsets v{version}"


def _findcoordinator(rng, corr, version=None):
    v = rng.randint(0, 2) if version is None else version
    f = _Frame()
    f.header(10, v, corr, _client_id(rng), False)
    f.str16("frame-fuzz-group" if rng.random() < 0.8 else _hostile_name(rng))
    if v >= 1:
        f.i8(rng.choice((0, 0, 1)))
    return f, f"FindCoordinator v{v}"


def _initproducerid(rng, corr, version=None):
    v = rng.randint(0, 4) if version is None else version
    flexible = v >= 2
    f = _Frame()
    f.header(22, v, corr, _client_id(rng), flexible)
    if flexible:
        f.cstr(None)
    else:
        f.str16(None)
    f.i32(rng.choice((-1, 60000)))
    if v >= 3:
        f.i64(-1)
        f.i16(-1)
    if flexible:
        f.tags()
    return f, f"InitProducerId v{v}"


def _legal_topic(name):
    if isinstance(name, bytes) or name in ("", ".", "..") or len(name) > 249:
        return False
    return all(ch.isascii() and (ch.isalnum() or ch in "._-") for ch in name)


def _createtopics(rng, corr, version=None):
    """CreateTopics with an odd name; from v1 on validate_only is set, and
    v0 (which has no validate_only) only gets names Kafka refuses, so that
    nothing is created unless a mutation hits the name or the flag."""
    v = rng.randint(0, 4) if version is None else version
    f = _Frame()
    f.header(19, v, corr, _client_id(rng), False)
    f.count32(1)
    name = _hostile_name(rng)
    while v == 0 and _legal_topic(name):
        name = _hostile_name(rng)
    f.str16(name)
    f.i32(rng.choice((1, 2, -1 if v >= 4 else 1)))
    f.i16(rng.choice((1, -1 if v >= 4 else 1)))
    f.count32(0)  # assignments
    if rng.random() < 0.4:
        f.count32(1)
        f.str16(rng.choice(("retention.ms", "cleanup.policy", "%s%n", "")))
        f.str16(rng.choice(("-5", "abc", None, "x" * 200)))
    else:
        f.count32(0)
    f.i32(rng.choice((1000, 0, -1)))
    if v >= 1:
        f.i8(1)  # validate_only
    return f, f"CreateTopics v{v}"


def _deleterecords(rng, corr, version=None):
    """DeleteRecords on the fuzzer's own topics only."""
    v = rng.randint(0, 1) if version is None else version
    f = _Frame()
    f.header(21, v, corr, _client_id(rng), False)
    f.count32(1)
    f.str16(_topic(rng))
    f.count32(1)
    f.i32(0)
    f.i64(rng.choice((0, 1, -1)))
    f.i32(1000)
    return f, f"DeleteRecords v{v}"


def _describeconfigs(rng, corr, version=None):
    v = rng.randint(1, 2) if version is None else version
    f = _Frame()
    f.header(32, v, corr, _client_id(rng), False)
    f.count32(1)
    rtype, name = rng.choice(((2, _topic(rng)), (2, _hostile_name(rng)), (4, "1"), (4, ""), (4, "x"),
                              (8, "1"), (0, "1"), (99, "1")))
    f.i8(rtype)
    f.str16(name)
    if rng.random() < 0.5:
        f.count32(-1)  # null: every key
    else:
        keys = rng.sample(("retention.ms", "cleanup.policy", "segment.bytes", "nope", "%s%n"), 2)
        f.count32(len(keys))
        for k in keys:
            f.str16(k)
    f.i8(rng.randint(0, 1))  # include_synonyms (v1+)
    return f, f"DescribeConfigs v{v}"


def _alterconfigs(rng, corr, version=None):
    """AlterConfigs with validate_only set, on the fuzzer's own topics or
    a broker: checks without writing."""
    v = rng.randint(0, 1) if version is None else version
    f = _Frame()
    f.header(33, v, corr, _client_id(rng), False)
    f.count32(1)
    rtype, name = rng.choice(((2, _topic(rng)), (2, _hostile_name(rng)), (4, "1"), (4, "7"), (0, "x")))
    f.i8(rtype)
    f.str16(name)
    f.count32(1)
    f.str16(rng.choice(("retention.ms", "cleanup.policy", "log.retention.ms", "", "%n%n")))
    f.str16(rng.choice(("-5", "abc", None, "x" * 300, "1000")))
    f.i8(1)  # validate_only
    return f, f"AlterConfigs v{v}"


_BUILDERS = (_apiversions, _metadata, _produce, _fetch, _listoffsets, _findcoordinator,
             _initproducerid, _createtopics, _deleterecords, _describeconfigs, _alterconfigs)
_BUILDER_WEIGHTS = (3, 3, 4, 3, 2, 2, 2, 2, 1, 1, 1)


def _answered(frame):
    key, version = struct.unpack_from(">hh", frame, 4)
    lo_hi = SUPPORTED.get(key)
    return bool(lo_hi and lo_hi[0] <= version <= lo_hi[1])


def _valid(rng, seq):
    corr = _corr(rng, seq)
    builder = rng.choices(_BUILDERS, _BUILDER_WEIGHTS)[0]
    f, name = builder(rng, corr)
    frame, fields = f.finish()
    return _Req(frame, fields, name, corr, _answered(frame))


def _small_valid(rng, seq):
    """A cheap valid request for pipelines: ApiVersions v0-2 or a
    brokers-only Metadata v1."""
    if rng.random() < 0.5:
        f, name = _apiversions(rng, seq, rng.randint(0, 2))
    else:
        f = _Frame()
        f.header(3, 1, seq, b"frame-fuzz", False)
        f.count32(0)
        name = "Metadata v1 (brokers)"
    frame, fields = f.finish()
    return _Req(frame, fields, name, seq, True)


# -- mutations ------------------------------------------------------------------------

def _varint_len(b, pos):
    n = 0
    while pos + n < len(b) and n < 10:
        n += 1
        if not b[pos + n - 1] & 0x80:
            break
    return n


def _forever(rng):
    """A varint that never ends: continuation bits to the end of the frame."""
    return bytes(0x80 | rng.randrange(128) for _ in range(rng.randint(5, 40)))


def _smash_field(rng, b, fields):
    """Sets one length-like field to a hostile value; returns a note, or
    None when the frame has no such field."""
    live = [(k, o) for k, o in fields if o < len(b)]
    if not live:
        return None
    kind, off = rng.choice(live)
    if kind == "i32":
        v = rng.choice((-1, 0, 1, INT32_MAX, INT32_MAX - 1, 0x40000000, 0x01000000, INT32_MIN,
                        len(b), rng.randrange(INT32_MIN, INT32_MAX + 1)))
        if off + 4 > len(b):
            return None
        struct.pack_into(">i", b, off, v)
        return f"i32@{off}={v}"
    if kind == "i16":
        v = rng.choice((-1, -2, 0, 0x7FFF, -0x8000, 0x1000, rng.randrange(-0x8000, 0x8000)))
        if off + 2 > len(b):
            return None
        struct.pack_into(">h", b, off, v)
        return f"i16@{off}={v}"
    n = _varint_len(b, off)
    if kind == "uv":
        choices = (b"\x00", b"\x01", kw.uvarint(0xFFFFFFFF), kw.uvarint(INT32_MAX), kw.uvarint(1 << 28),
                   b"\x80\x80\x80\x80\x80\x80\x01", b"\xff\xff\xff\xff\xff\x0f", None)
    else:
        choices = (kw.varint(-1), kw.varint(-2), kw.varint(0), kw.varint(INT32_MAX), kw.varint(INT32_MIN),
                   kw.varint((1 << 63) - 1), b"\xff" * 10 + b"\x01", None)
    rep = rng.choice(choices)
    if rep is None:
        b[off:] = _forever(rng)
        return f"{kind}@{off}=never-ending"
    b[off:off + n] = rep
    return f"{kind}@{off}={rep.hex()}"


def _smash_header(rng, b):
    which = rng.choice(("key", "version", "corr", "client_id", "key_version"))
    if which in ("key", "key_version"):
        key = rng.choice((-1, -0x8000, 0x7FFF, 4, 5, 6, 7, 34, 61, 67, 68, 1000, rng.randrange(-0x8000, 0x8000)))
        struct.pack_into(">h", b, 4, key)
    if which in ("version", "key_version"):
        struct.pack_into(">h", b, 6, rng.choice((-1, -0x8000, 0x7FFF, 12, 13, 99, rng.randrange(-0x8000, 0x8000))))
    if which == "corr":
        struct.pack_into(">i", b, 8, rng.choice((0, -1, INT32_MAX, INT32_MIN)))
    if which == "client_id" and len(b) >= 14:
        struct.pack_into(">h", b, 12, rng.choice((-2, -0x8000, 0x7FFF, len(b))))
    key, ver = struct.unpack_from(">hh", b, 4)
    return f"header {which} key={key} v={ver}"


_MUTATIONS = ("bitflip", "insert", "delete", "truncate", "field", "header", "forever", "splice")
_MUTATION_WEIGHTS = (20, 8, 8, 12, 25, 12, 6, 5)


def _mutate(rng, req, other):
    """A mutated copy of req.frame: (bytes, note)."""
    b = bytearray(req.frame)
    original_size = len(b) - 4
    notes = []
    fields_ok = True   # no length-changing mutation yet, field offsets still valid
    size_ok = True     # the caller fixes the size prefix
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        kind = rng.choices(_MUTATIONS, _MUTATION_WEIGHTS)[0]
        if kind == "field" and not fields_ok:
            kind = "bitflip"
        if len(b) <= 5 and kind in ("bitflip", "delete", "truncate"):
            kind = "insert"
        if kind == "bitflip":
            flips = []
            for _ in range(rng.randint(1, 8)):
                pos = rng.randrange(4, len(b))
                bit = rng.randrange(8)
                b[pos] ^= 1 << bit
                flips.append(f"{pos}.{bit}")
            notes.append("flip " + ",".join(flips))
        elif kind == "insert":
            pos = rng.randint(4, len(b))
            n = rng.randint(1, 32)
            blob = rng.choice((bytes(rng.getrandbits(8) for _ in range(n)), b"\xff" * n, b"\x00" * n, b"\x80" * n))
            b[pos:pos] = blob
            notes.append(f"insert {n}@{pos}")
            fields_ok = False
        elif kind == "delete":
            pos = rng.randrange(4, len(b))
            n = rng.randint(1, min(32, len(b) - pos))
            del b[pos:pos + n]
            notes.append(f"delete {n}@{pos}")
            fields_ok = False
        elif kind == "truncate":
            cut = rng.randrange(4, len(b))
            del b[cut:]
            size_ok = rng.random() < 0.5
            notes.append(f"truncate to {cut - 4} ({'size fixed' if size_ok else f'size says {original_size}'})")
            fields_ok = False
        elif kind == "field":
            note = _smash_field(rng, b, req.fields)
            notes.append(note or "field (none)")
            fields_ok = False
        elif kind == "header":
            if len(b) >= 12:
                notes.append(_smash_header(rng, b))
        elif kind == "forever":
            varints = [o for k, o in req.fields if k in ("uv", "sv") and o < len(b)] if fields_ok else []
            pos = rng.choice(varints) if varints else rng.randint(4, len(b))
            b[pos:] = _forever(rng)
            notes.append(f"never-ending varint @{pos}")
            fields_ok = False
        elif kind == "splice":
            cut = rng.randrange(4, len(b) + 1)
            cut2 = rng.randrange(4, len(other.frame) + 1)
            b[cut:] = other.frame[cut2:]
            notes.append(f"splice {cut}<-{other.name}@{cut2}")
            fields_ok = False
    if size_ok and rng.random() < 0.9:
        struct.pack_into(">i", b, 0, len(b) - 4)
    elif size_ok:
        notes.append(f"size left {original_size}")
    return bytes(b), f"{req.name}: " + "; ".join(notes)


# -- per-connection scripts --------------------------------------------------------------

class Script:
    """What one connection does.  pieces: [(delay before, bytes, frames
    completed by the piece)]; end: "drain" (read until closed, quiet or
    capped), "fin" / "rst" (close at once, orderly or with a reset),
    "shut" (shutdown(SHUT_WR), then drain); expect_corrs: correlation ids
    the first answers must carry, in order; expect_total: answers after
    which the connection is done (None: drain until quiet); quiet: how long
    the drain waits for the next byte."""
    __slots__ = ("pieces", "end", "read_while_sending", "expect_corrs", "expect_total", "note", "quiet")

    def __init__(self):
        self.pieces = []
        self.end = "drain"
        self.read_while_sending = True
        self.expect_corrs = []
        self.expect_total = None
        self.note = ""
        self.quiet = QUIET

    def send(self, data, frames=1, delay=0.0):
        self.pieces.append((delay, bytes(data), frames))


def _expect(script, reqs):
    """Expected answers of a run of requests sent in order: up to the first
    one kbroker closes the connection on."""
    for r in reqs:
        if not r.answered:
            return False
        script.expect_corrs.append(r.corr)
    return True


def _random_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def _case_valid(rng, s):
    reqs = [_valid(rng, i + 1) for i in range(rng.randint(1, 5))]
    for r in reqs:
        s.send(r.frame)
    complete = _expect(s, reqs)
    s.expect_total = len(reqs) if complete else None
    s.note = ", ".join(r.name for r in reqs)


def _case_mutated(rng, s):
    good = [_valid(rng, i + 1) for i in range(rng.randint(0, 3))]
    for r in good:
        s.send(r.frame, delay=rng.choice((0.0, 0.0, 0.01)))
    _expect(s, good)
    notes = [r.name for r in good]
    for i in range(rng.randint(1, 6)):
        base = _valid(rng, 100 + i)
        other = _valid(rng, 200 + i)
        data, note = _mutate(rng, base, other)
        s.send(data, delay=rng.choice((0.0, 0.0, 0.005, 0.05)))
        notes.append("MUT " + note)
    if rng.random() < 0.3:  # then a valid request: is the connection still parsed sanely?
        tail = _valid(rng, 999)
        s.send(tail.frame)
        notes.append(tail.name)
    s.note = " | ".join(notes)


def _case_frame_negative(rng, s):
    size = rng.choice((-1, -2, INT32_MIN, rng.randrange(INT32_MIN, 0)))
    rest = _valid(rng, 1).frame[4:] if rng.random() < 0.5 else b""
    s.send(struct.pack(">i", size) + rest)
    s.note = f"size {size} + {len(rest)} bytes"


def _case_frame_zero(rng, s):
    s.send(struct.pack(">i", 0))
    notes = ["size 0"]
    if rng.random() < 0.5:
        r = _valid(rng, 1)
        s.send(r.frame)
        notes.append(r.name)
    s.note = " then ".join(notes)


def _case_frame_tiny(rng, s):
    notes = []
    for _ in range(rng.randint(1, 3)):
        n = rng.randint(1, 9)
        r = _valid(rng, 1)
        body = r.frame[4:4 + n] if rng.random() < 0.5 else _random_bytes(rng, n)
        s.send(struct.pack(">i", n) + body)
        notes.append(f"{n}:{body.hex()}")
    s.note = "tiny " + " ".join(notes)


def _case_frame_huge(rng, s):
    size = rng.choice((MAX_FRAME_DEFAULT + 1, MAX_FRAME_DEFAULT, INT32_MAX, 0x40000000, 200 * 1024 * 1024))
    r = _valid(rng, 1)
    body = r.frame[4:] + _random_bytes(rng, rng.choice((0, 100, 4096, 65536)))
    s.send(struct.pack(">i", size) + body)
    s.end = rng.choice(("drain", "drain", "fin", "rst"))
    s.note = f"size {size}, {len(body)} bytes sent, then {s.end}"


def _case_slow(rng, s):
    r = _valid(rng, 1)
    frame = r.frame
    mutated = rng.random() < 0.3
    if mutated:
        frame, note = _mutate(rng, r, _valid(rng, 2))
    else:
        note = r.name
        _expect(s, [r])
        s.expect_total = 1 if r.answered else None
    gap = rng.choice((0.005, 0.01, 0.02, 0.04))
    slow = min(len(frame), int(SLOW_BUDGET / gap))
    for i in range(slow):
        s.send(frame[i:i + 1], frames=1 if i == len(frame) - 1 else 0, delay=gap if i else 0.0)
    if slow < len(frame):
        s.send(frame[slow:], delay=gap)
    s.note = f"{slow} bytes {gap * 1000:.0f} ms apart of {'MUT ' if mutated else ''}{note}"


def _case_half_close(rng, s):
    r = _valid(rng, 1)
    if rng.random() < 0.3:
        # whole requests, then half-close: the answers may still come
        reqs = [r] + [_valid(rng, i + 2) for i in range(rng.randint(0, 2))]
        for q in reqs:
            s.send(q.frame)
        s.end = "shut"
        s.note = "SHUT_WR after " + ", ".join(q.name for q in reqs)
        return
    cut = rng.randint(4, max(4, len(r.frame) - 1))
    announced = len(r.frame) - 4 if rng.random() < 0.6 else rng.choice((1000, 1 << 20, 50 * 1024 * 1024))
    s.send(struct.pack(">i", announced) + r.frame[4:cut], frames=0)
    s.end = rng.choice(("fin", "rst"))
    s.note = f"{r.name}: size {announced}, {cut - 4} body bytes, then {s.end}"


def _parking_fetch(rng, corr):
    """A Fetch the broker parks: min_bytes 1 MiB on a partition of the
    fuzzer's topic, max_wait 300 ms to 3 s."""
    v = rng.choice((4, 11))
    wait = rng.choice((300, 1000, 3000))
    f = _Frame()
    f.header(1, v, corr, b"frame-fuzz", False)
    f.i32(-1)
    f.i32(wait)
    f.i32(1 << 20)
    f.i32(INT32_MAX)
    f.i8(0)
    if v >= 7:
        f.i32(0)
        f.i32(-1)
    f.count32(1)
    f.str16(TOPICS[0])
    f.count32(1)
    f.i32(0)
    if v >= 9:
        f.i32(-1)
    f.i64(0)
    if v >= 5:
        f.i64(-1)
    f.i32(1 << 20)
    if v >= 7:
        f.count32(0)
    if v >= 11:
        f.str16("")
    frame, fields = f.finish()
    return _Req(frame, fields, f"Fetch v{v} wait {wait}", corr, True), wait


def _case_parked(rng, s):
    first, wait = _parking_fetch(rng, 1)
    reqs = [first] + [_valid(rng, i + 2) for i in range(rng.randint(0, 3))]
    for r in reqs:
        s.send(r.frame)
    after = rng.choice((0.0, 0.01, 0.1, 0.25))
    s.end = rng.choice(("fin", "rst", "shut", "drain")) if wait <= 1000 else rng.choice(("fin", "rst", "shut"))
    s.quiet = min(DRAIN_CAP, wait / 1000 + 0.3)
    if s.end != "drain":
        s.send(b"", frames=0, delay=after)  # the parked request is still waiting
    if s.end in ("drain", "shut"):
        complete = _expect(s, reqs)
        s.expect_total = len(reqs) if complete else None
    s.note = f"{', '.join(r.name for r in reqs)}, then {s.end}{f' after {after * 1000:.0f} ms' if s.end != 'drain' else ''}"


def _case_pipeline(rng, s):
    n = rng.randint(100, 2000)
    reqs = [_small_valid(rng, i + 1) for i in range(n)]
    group = 50
    for i in range(0, n, group):
        chunk = reqs[i:i + group]
        s.send(b"".join(q.frame for q in chunk), frames=len(chunk))
    _expect(s, reqs)
    s.expect_total = n
    bad = rng.random() < 0.4
    if bad:
        s.send(struct.pack(">i", rng.choice((-1, INT32_MAX))) + b"\x00" * 8)
        s.expect_total = None
    s.read_while_sending = rng.random() < 0.3
    s.note = f"{n} requests{' + a bad frame' if bad else ''}, {'reading' if s.read_while_sending else 'not reading'}"


def _case_random(rng, s):
    total = 0
    for _ in range(rng.randint(1, 3)):
        n = rng.choice((1, 3, 7, 64, 512, 4096, 16384))
        s.send(_random_bytes(rng, n), delay=rng.choice((0.0, 0.01)))
        total += n
    s.end = rng.choice(("drain", "drain", "drain", "fin"))
    s.note = f"{total} random bytes"


def _case_random_framed(rng, s):
    notes = []
    for i in range(rng.randint(1, 4)):
        n = rng.choice((4, 8, 14, 20, 40, 100, 1000, 8000))
        if rng.random() < 0.6:
            # a plausible header so that the body reaches an API's parser
            key = rng.choice(list(SUPPORTED))
            lo, hi = SUPPORTED[key]
            ver = rng.randint(lo, hi)
            f = _Frame()
            f.header(key, ver, i + 1, b"frame-fuzz", False)
            body = bytes(f.buf[4:]) + _random_bytes(rng, n)
            notes.append(f"key {key} v{ver} + {n}")
        else:
            body = _random_bytes(rng, n)
            notes.append(f"{n} random")
        s.send(struct.pack(">i", len(body)) + body)
    s.note = ", ".join(notes)


_CASE_BUILDERS = {
    "valid": _case_valid, "mutated": _case_mutated, "frame_negative": _case_frame_negative,
    "frame_zero": _case_frame_zero, "frame_tiny": _case_frame_tiny, "frame_huge": _case_frame_huge,
    "slow": _case_slow, "half_close": _case_half_close, "parked": _case_parked, "pipeline": _case_pipeline,
    "random": _case_random, "random_framed": _case_random_framed,
}


def _plan_iter(seed):
    """(case, connection seed) of connections 0, 1, 2, ... for this seed."""
    rng = random.Random(seed)
    while True:
        case = rng.choices(CASES, CASE_WEIGHTS)[0]
        yield case, rng.getrandbits(64)


def plan(seed, n):
    """The cases of the first n connections run(seed=seed) makes, in order."""
    it = _plan_iter(seed)
    return [next(it)[0] for _ in range(n)]


def script_for(case, conn_seed):
    """The Script of one connection; the same bytes for the same arguments."""
    s = Script()
    _CASE_BUILDERS[case](random.Random(conn_seed), s)
    return s


def describe(seed, index):
    """Connection `index` of run(seed=seed), for a reproduction: its case,
    seed, note, end, and every piece as hex."""
    it = _plan_iter(seed)
    for _ in range(index):
        next(it)
    case, conn_seed = next(it)
    s = script_for(case, conn_seed)
    return {"index": index, "case": case, "conn_seed": conn_seed, "note": s.note, "end": s.end,
            "pieces": [{"delay": d, "frames": n, "hex": data.hex()} for d, data, n in s.pieces]}


# -- the connections -----------------------------------------------------------------------

class _Rx:
    """Counts the response frames of a byte stream by their size prefix and
    keeps the correlation id of each (None for frames under 4 bytes)."""

    def __init__(self):
        self.buf = bytearray()
        self.skip = 0
        self.answers = 0
        self.corrs = []
        self.garbage = False

    def feed(self, data):
        if self.garbage:
            return
        self.buf += data
        while True:
            if self.skip:
                take = min(self.skip, len(self.buf))
                del self.buf[:take]
                self.skip -= take
                if self.skip:
                    return
                self.answers += 1
                continue
            if len(self.buf) < 4:
                return
            size = struct.unpack_from(">i", self.buf, 0)[0]
            if size < 0 or size > 1 << 30:
                self.garbage = True
                return
            if size >= 4 and len(self.buf) < 8:
                return
            if len(self.corrs) < MAX_CORRS:
                self.corrs.append(struct.unpack_from(">i", self.buf, 4)[0] if size >= 4 else None)
            del self.buf[:4]
            self.skip = size
            if not size:
                self.answers += 1


class _Conn:
    """One connection playing its Script: connecting, sending, draining,
    done; outcome says how it ended: "closed" (EOF from the broker),
    "reset", "timeout" (connect aside, the broker neither closed nor
    answered every frame in time), "ours" (finished as planned),
    "connect_failed" or "aborted" (still open when the run ended)."""

    def __init__(self, index, case, conn_seed, script, addr, now, sel):
        self.sel = sel
        self.index, self.case, self.conn_seed, self.script = index, case, conn_seed, script
        self.t0 = now
        self.state = "connecting"
        self.outcome = None
        self.piece = 0
        self.off = 0
        self.next_send = now
        self.progress = now
        self.drain_start = None
        self.last_rx = now
        self.bytes_sent = 0
        self.frames_sent = 0
        self.rx = _Rx()
        self.mask = 0
        self.sock = socket.socket(addr[0], socket.SOCK_STREAM)
        self.sock.setblocking(False)
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        err = self.sock.connect_ex(addr[1])
        if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            self.finish("connect_failed")

    # what the selector should wait for now
    def want(self, now):
        if self.state == "connecting":
            return selectors.EVENT_WRITE
        m = 0
        if self.state == "draining" or self.script.read_while_sending:
            m |= selectors.EVENT_READ
        if self.state == "sending" and now >= self.next_send:
            m |= selectors.EVENT_WRITE
        return m

    def wake_at(self):
        """The next moment a timer of this connection fires."""
        t = self.t0 + CONN_CAP
        if self.state == "connecting":
            return min(t, self.t0 + CONNECT_TIMEOUT)
        if self.state == "sending":
            return min(t, self.next_send, max(self.progress, self.next_send) + SEND_STALL)
        if self.state == "draining":
            return min(t, self.last_rx + self.script.quiet, self.drain_start + DRAIN_CAP)
        return t

    def finish(self, outcome, rst=False):
        if self.state == "done":
            return
        self.state = "done"
        self.outcome = outcome
        if self.mask:
            try:
                self.sel.unregister(self.sock)
            except (KeyError, ValueError, OSError):
                pass
            self.mask = 0
        try:
            if rst:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
        except OSError:
            pass

    def on_connected(self, now):
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.finish("connect_failed")
            return
        self.state = "sending"
        self.progress = now
        self.next_send = now + (self.script.pieces[0][0] if self.script.pieces else 0.0)
        self.step_send(now)

    def step_send(self, now):
        pieces = self.script.pieces
        while self.state == "sending" and self.piece < len(pieces) and now >= self.next_send:
            data = pieces[self.piece][1]
            try:
                n = self.sock.send(data[self.off:])
            except (BlockingIOError, InterruptedError):
                return
            except (ConnectionResetError, BrokenPipeError):
                self.finish("reset")
                return
            except OSError:
                self.finish("reset")
                return
            if n:
                self.progress = now
            self.bytes_sent += n
            self.off += n
            if self.off < len(data):
                return
            self.frames_sent += pieces[self.piece][2]
            self.piece += 1
            self.off = 0
            if self.piece < len(pieces):
                self.next_send = now + pieces[self.piece][0]
        if self.state == "sending" and self.piece >= len(pieces):
            self.after_script(now)

    def after_script(self, now):
        end = self.script.end
        if end in ("fin", "rst"):
            self.finish("ours", rst=end == "rst")
            return
        if end == "shut":
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                self.finish("reset")
                return
        self.state = "draining"
        self.drain_start = now
        self.last_rx = now
        self.check_done()

    def check_done(self):
        total = self.script.expect_total
        if self.state == "draining" and total is not None and self.rx.answers >= total:
            self.finish("ours")

    def step_read(self, now):
        for _ in range(16):
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except (ConnectionResetError, BrokenPipeError):
                self.finish("reset")
                return
            except OSError:
                self.finish("reset")
                return
            if not data:
                self.finish("closed")
                return
            self.last_rx = now
            self.rx.feed(data)
        self.check_done()

    def on_timers(self, now):
        if self.state == "done":
            return
        if now >= self.t0 + CONN_CAP:
            self.finish("timeout")
        elif self.state == "connecting" and now >= self.t0 + CONNECT_TIMEOUT:
            self.finish("connect_failed")
        elif self.state == "sending":
            if now >= self.next_send and now - max(self.progress, self.next_send) > SEND_STALL:
                self.finish("timeout")  # the broker stopped taking our bytes
        elif self.state == "draining":
            if now - self.last_rx >= self.script.quiet or now - self.drain_start >= DRAIN_CAP:
                # the broker neither closed nor answered every frame sent
                self.finish("ours" if self.rx.answers >= self.frames_sent else "timeout")

    def corr_mismatches(self):
        exp = self.script.expect_corrs
        got = self.rx.corrs
        return sum(1 for a, b in zip(got, exp) if a != b)


def _probe(addr, deadline):
    """Whether the broker answers an ApiVersions v0 on a fresh connection
    before deadline."""
    f = _Frame()
    f.header(18, 0, 0x5EED, b"frame-fuzz-probe", False)
    frame, _ = f.finish()
    try:
        with socket.socket(addr[0], socket.SOCK_STREAM) as s:
            s.settimeout(max(0.05, min(PROBE_TIMEOUT, deadline - time.monotonic())))
            s.connect(addr[1])
            s.sendall(frame)
            rx = _Rx()
            while rx.answers == 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                s.settimeout(left)
                data = s.recv(65536)
                if not data:
                    return False
                rx.feed(data)
            return rx.corrs[:1] == [0x5EED]
    except OSError:
        return False


def _resolve(host, port):
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    return info[0], info[4]


def _drive(host, port, specs, seconds, max_connections, log, probe=True):
    """Plays (index, case, conn_seed) of specs, max_connections at a time,
    for `seconds`; returns the counters."""
    t_start = time.monotonic()
    t_end = t_start + seconds
    t_hard = t_end + HARD_GRACE
    addr = _resolve(host, port)
    stats = {"connections": 0, "frames_sent": 0, "bytes_sent": 0, "answers_received": 0,
             "closed_by_broker": 0, "resets": 0, "timeouts": 0, "connect_failures": 0, "aborted": 0,
             "corr_mismatches": 0, "case_counts": {}}
    sel = selectors.DefaultSelector()
    active = []
    next_start = t_start
    specs = iter(specs)
    exhausted = False

    def retire(c, now):
        """Adds up a finished connection; True if its connect failed."""
        if c.outcome == "connect_failed":
            stats["connect_failures"] += 1
        else:
            stats["connections"] += 1
        stats["frames_sent"] += c.frames_sent
        stats["bytes_sent"] += c.bytes_sent
        stats["answers_received"] += c.rx.answers
        key = {"closed": "closed_by_broker", "reset": "resets", "timeout": "timeouts",
               "aborted": "aborted"}.get(c.outcome)
        if key:
            stats[key] += 1
        mism = c.corr_mismatches()
        stats["corr_mismatches"] += mism
        if log:
            log(f"conn {c.index} case={c.case} seed={c.conn_seed:#018x} frames={c.frames_sent} "
                f"bytes={c.bytes_sent} answers={c.rx.answers} end={c.outcome} "
                f"{(now - c.t0) * 1000:.0f}ms{' CORR-MISMATCH ' + str(mism) if mism else ''} :: {c.script.note}")
        return c.outcome == "connect_failed"

    while True:
        now = time.monotonic()
        if now >= t_hard:
            for c in active:
                c.finish("aborted")
                retire(c, now)
            active = []
            break
        while now < t_end and not exhausted and len(active) < max_connections and now >= next_start:
            try:
                index, case, conn_seed = next(specs)
            except StopIteration:
                exhausted = True
                break
            stats["case_counts"][case] = stats["case_counts"].get(case, 0) + 1
            c = _Conn(index, case, conn_seed, script_for(case, conn_seed), addr, now, sel)
            if c.state == "done":
                if retire(c, now):
                    next_start = now + FAIL_BACKOFF
            else:
                active.append(c)
        if not active and (now >= t_end or exhausted):
            break
        # register what each connection waits for
        for c in active:
            m = c.want(now) if c.state != "done" else 0
            if m != c.mask:
                try:
                    if not c.mask:
                        sel.register(c.sock, m, c)
                    elif not m:
                        sel.unregister(c.sock)
                    else:
                        sel.modify(c.sock, m, c)
                    c.mask = m
                except (KeyError, ValueError, OSError):
                    c.finish("reset")
        wake = min([c.wake_at() for c in active] + [t_hard, next_start if now < t_end else t_hard])
        timeout = min(0.05, max(0.0, wake - now))
        events = sel.select(timeout) if any(c.mask for c in active) else (time.sleep(timeout) or [])
        now = time.monotonic()
        for key, mask in events:
            c = key.data
            if c.state == "connecting":
                c.on_connected(now)
                continue
            if mask & selectors.EVENT_READ and c.state != "done":
                c.step_read(now)
            if mask & selectors.EVENT_WRITE and c.state == "sending":
                c.step_send(now)
        still = []
        for c in active:
            c.on_timers(now)
            if c.state == "done":
                if retire(c, now):
                    next_start = now + FAIL_BACKOFF
            else:
                still.append(c)
        active = still
    sel.close()
    if probe:
        stats["probe_ok"] = _probe(addr, time.monotonic() + 2 * PROBE_TIMEOUT)
    stats["elapsed"] = round(time.monotonic() - t_start, 3)
    return stats


def run(host, port, seconds, seed, max_connections=8, log=None) -> dict:
    """Hostile traffic to the Kafka listener host:port for `seconds` of wall
    time from up to max_connections sockets at once; returns the counters
    (connections, frames_sent, bytes_sent, answers_received,
    closed_by_broker, resets, timeouts, seed, seconds, plus
    connect_failures, aborted, corr_mismatches, case_counts, probe_ok and
    elapsed).  log: callable(str) given one line per connection."""
    specs = ((i, case, conn_seed) for i, (case, conn_seed) in enumerate(_plan_iter(seed)))
    stats = _drive(host, port, specs, seconds, max(1, int(max_connections)), log)
    stats["seed"] = seed
    stats["seconds"] = seconds
    return stats


def replay(host, port, seed, index, log=None) -> dict:
    """Connection `index` of run(seed=seed) alone, for a reproduction."""
    d = describe(seed, index)
    stats = _drive(host, port, [(index, d["case"], d["conn_seed"])], CONN_CAP, 1, log)
    stats["seed"] = seed
    stats["index"] = index
    return stats


def main(argv=None):
    p = argparse.ArgumentParser(description="Random and mutated Kafka frames against a live broker.")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-connections", type=int, default=8)
    p.add_argument("--log", action="store_true", help="one line per connection on stderr")
    p.add_argument("--describe", type=int, metavar="I", help="print connection I's case and bytes, send nothing")
    p.add_argument("--replay", type=int, metavar="I", help="send connection I's bytes only")
    a = p.parse_args(argv)
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if a.log or a.replay is not None else None
    if a.describe is not None:
        out = describe(a.seed, a.describe)
    elif a.replay is not None:
        out = replay(a.host, a.port, a.seed, a.replay, log=log)
    else:
        out = run(a.host, a.port, a.seconds, a.seed, a.max_connections, log=log)
    print(json.dumps(out, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
