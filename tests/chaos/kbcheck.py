#!/usr/bin/python3
"""
tests/chaos/kbcheck.py - Jepsen-style checker of one chaos-test history
(docs: /work/shared/specs/reliability-tests.md section 6.1).

    /usr/bin/python3 tests/chaos/kbcheck.py HISTORY.jsonl [--logs FILE...]
        [--data DIR...] [--json OUT] [--ack-within S] [--isr-within S]
        [--list-within S]

Prints a report; exit status 0 when the run is valid (every counter is 0),
1 when it is not, 2 on bad input (unreadable file, malformed line, missing
key, missing log file) or bad usage.  --json OUT also writes the whole
result (counters, examples, stats) as JSON.  --data names the brokers' log
directories (log.dirs), read only to judge a producer_fatal line.  As a
module: check(records, log_paths, ack_within, isr_within, list_within,
data_dirs) -> dict, load(path),
summary_line(result), report(result).  Standard library only.

History format
==============

JSON Lines, one object per line; blank lines are skipped.  Every line has

  t     number, seconds since the run started (monotonic clock)
  proc  string, who wrote it ("producer", "consumer-0", "lister", "drain",
        "zk", "nemesis", "harness", ...)
  type  "invoke" | "ok" | "fail" | "info"
  f     what the line is about (below).  Lines with another f are
        ignored (counted in stats.ignored_lines).

The file order need not be the time order: the checker sorts all lines by
t (a stable sort, so lines with equal t keep their file order) and works
on that order wherever order matters.

f="meta" (exactly one line, normally the first, t=0):
  {"f":"meta","type":"info","test":"R1","seed":7,"topic":"jr",
   "partitions":6,"rf":3,"min_isr":2,"unclean":false,"acks":"all"}
  All eight keys are required (seed may be null).

f="send" (the producer): one invoke and, normally, one completion, linked
by "value" (an integer unique in the run):
  invoke {"type":"invoke","partition":2,"value":1234}   (partition optional)
  ok     {"type":"ok","partition":2,"value":1234,"offset":57}
  fail   {"type":"fail","value":1234,"error":"..."}   definitely not written
  info   {"type":"info","value":1234,"error":"..."}   indeterminate: may or
         may not be in the log (timeout, retriable error)
  A send's outcome is "ok" if it has any ok line, else "fail" if it has a
  fail line, else "info" if it has an info line, else "pending" (invoked,
  never completed: treated like info).  The partition of an ok send is the
  ok line's.  An ok line whose offset is negative (unknown) is left out
  of the offset rules (acked_lost, inconsistent_offset, realtime_order,
  hw_regression; counted in stats.send_ok_unknown_offset).

f="poll" (tailing consumers in assign mode, one line per record):
  {"proc":"consumer-0","type":"ok","partition":2,"offset":57,"value":1234}
  "value" is null (with "raw": the bytes as text) when the record's value
  did not parse as an integer.  Consumer errors
  {"type":"info","partition":2,"error":"..."} are only listed
  (stats.consumer_errors), never counted.

f="list" (ListOffsets latest poller), linked by (proc, id):
  invoke {"type":"invoke","id":17,"partition":2}
  ok     {"type":"ok","id":17,"partition":2,"offset":58}   (the high
         watermark: the next offset), or fail/info with "error" (ignored).

f="drain" (a fresh consumer reading every partition from the beginning
after the final heal):
  {"proc":"drain","type":"ok","partition":2,"offset":57,"value":1234}
f="drain_end" (one per partition):
  {"proc":"drain","type":"info","partition":2,"offset":58,"complete":true}
  = the drain saw every record below "offset"; complete=true: "offset" is
  the end of the partition's log as its leader served it after the heal;
  complete=false when the drain gave up before reaching that end.  With several drain_end lines
  for a partition the last (by t) one counts.

f="zk" (ZooKeeper sample, every ~250 ms; only type "ok" lines are samples):
  {"type":"ok","controller":1,"controller_epoch":3,"brokers":[1,2,3],
   "replicas":{"0":[1,2,3],...},
   "partitions":{"0":{"leader":1,"leader_epoch":4,"isr":[1,2,3],
                      "version":9},...}}
  controller / controller_epoch are null when the znode is absent;
  "version" is the ZooKeeper version of the partition's state znode (may be
  null); a partition missing from "partitions" was not readable then.
  "partitions" is required, "replicas" may be absent (= {}).

f="fault" / f="heal" (proc "nemesis", type "info", "value" = description):
  a fault starts / faults are healed.  The final heal is the heal line with
  the largest t.

f="exit" (proc "harness", type "info"):
  {"value":"broker-2","rc":-9,"expected":true}; expected=false = a crash.

Reads are the ok poll lines and the ok drain lines together.  "Observed" /
"read" below means: appears in at least one read, at any partition and
offset, unless a rule says otherwise.  Reads with value null take part only
in "phantom" and in the offset set used by poll_skip.

Counters (always all present; the run is valid only if all are 0)
=================================================================

acked_lost          ok sends to partition P whose value no drain read (of
                    any partition) carries, although the drain covered
                    them: P's drain_end is complete (the drain read P to
                    the end of its log, so an acked record above that end
                    was lost with the end), or its offset is > the send's
                    known offset O.
unseen              ok sends whose value is in no read at all (poll or
                    drain).  A lost write that no consumer polled before it
                    vanished counts in both acked_lost and unseen; one that
                    a tailing consumer did see counts only in acked_lost.
                    unseen without acked_lost needs a drain that did not
                    cover the send (drain_incomplete).
duplicate           distinct values read at more than one distinct
                    (partition, offset).  Re-reading the same (partition,
                    offset), e.g. poll then drain, is not a duplicate.
inconsistent_offset the number of distinct (partition, offset) pairs in the
                    set C, where C holds
                    (a) every (P, O) at which more than one distinct value
                        is claimed, merging the values read at (P, O) with
                        the values of ok sends acked at (P, O); and
                    (b) the acked (P, O) of every ok send whose value was
                        read somewhere but never at (P, O);
                    (c) ("partition", value) for every ok send whose value
                        was read in another partition than its ack's (also
                        when the ack's offset is unknown).
                    A send acked at 56 whose record is read at 57 (while 56
                    holds another record) puts (P, 56) into C through both
                    (a) and (b): it counts once.  A truncated acked write
                    replaced by another record at the same offset counts
                    once here (and in acked_lost, and in unseen if never
                    polled).
phantom             distinct non-null values read that no send line (any
                    type) carries, plus distinct (partition, offset) pairs
                    read with value null (unparseable record).
failed_visible      distinct values read whose send's outcome is "fail".
realtime_order      ok sends B on partition P for which some other ok send
                    A on P has A.ok.t < B.invoke.t and B.offset <= A.offset
                    (B was invoked after A was acknowledged, yet got a lower
                    or equal offset).  Each B counts once, whatever the
                    number of such A.
poll_skip           per (consumer proc, partition), consecutive ok poll
                    lines (in t order) with offsets o1 then o2 > o1 + 1 such
                    that some read (any proc, drain included, null values
                    included) saw a record at an offset strictly between
                    them.  Each such consecutive pair counts once.
poll_nonmonotonic   the same consecutive pairs with o2 <= o1 (a repeated or
                    rewound offset).  Each pair counts once.
hw_regression       (only when meta.acks is "all" / "-1" / -1: with acks=1 a
                    record is acknowledged before the high watermark passes
                    it) ok list lines of partition P whose offset is below
                    the highest answer of a list of P completed before its
                    invoke (answers never go back), or below
                    1 + the highest offset of the ok sends to P whose ok t is
                    strictly before the list's invoke t.  A list without its
                    invoke line is not checked (stats.list_without_invoke).
zk_invariant        the number of distinct violations of these rules over
                    all zk samples (in t order), per partition present in
                    the sample:
                    leader_not_in_isr   leader >= 0, isr non-empty, leader
                                        not in isr
                    empty_isr_with_leader  leader >= 0 and isr empty
                    isr_duplicate       a broker twice in the isr (the ISR
                                        sizes below count distinct brokers)
                    isr_not_in_replicas isr has a broker not in the sample's
                                        replicas of the partition (skipped
                                        when the sample has no replicas
                                        for it)
                    leader_epoch_decrease  leader_epoch below the highest
                                        leader_epoch of an earlier sample of
                                        that partition
                    unclean_leader      (only when meta.unclean is false)
                                        two consecutive samples of the
                                        partition (consecutive among the
                                        samples where it is present) whose
                                        versions differ by exactly 1, where
                                        the leader changed to some L >= 0
                                        that was not in the earlier sample's
                                        isr
                    A violation is identified by (rule, partition, state
                    version) - the later sample's version for unclean_leader;
                    the state's content when version is null - so a bad
                    state seen by many samples counts once.  Also
                    controller_epoch_decrease: a non-null controller_epoch
                    below the highest earlier one, identified by its value.
                    The per-rule split is in stats.zk_invariant_by_rule.
min_isr_violation   (only when meta.acks is "all" / "-1" / -1) ok sends to
                    P such that the last zk sample with t <= max(invoke t,
                    ok t - 1 s), the first zk sample with t >= the ok t, and
                    every sample in between show P with len(isr) <
                    meta.min_isr (a sample where P is absent breaks the
                    chain; no such sample before or after = not counted).
                    Samples are stamped when their reads begin.
drain_incomplete    partitions whose (last) drain_end has complete=false,
                    plus partitions that have ok sends but no drain_end.
drain_error         drain lines of type fail: the drain's consumer reported
                    an error other than the end of a partition (e.g. a
                    batch that failed its CRC and was skipped).
drain_gap           partitions with an offset below their drain_end at which
                    the drain read nothing (logs start at 0 in these runs
                    and offsets have no holes).
read_lost           distinct values a poll read at (P, O), whose send was
                    not ok, that the drain lacks although it covered O (a
                    record that was readable, so below the high watermark,
                    then vanished).
producer_fatal      producer_fatal lines: the idempotent producer hit a
                    fatal error (e.g. a sequence number the broker lost),
                    except librdkafka's own sequence bug, proven against the
                    partition's logs (LIBRDKAFKA_DESYNC below; listed in
                    stats.client_bugs instead).
unresolved_sends    sends invoked that never completed (no ok, fail or
                    info line by the end).
crash               exit lines with expected=false, plus lines of the given
                    broker log files matching one of: "ERROR:
                    AddressSanitizer", "ERROR: LeakSanitizer", "runtime
                    error:", "SUMMARY: UndefinedBehaviorSanitizer", "SUMMARY:
                    AddressSanitizer", "Assertion .* failed" (a line counts
                    once even if it matches several; a complete ASan report
                    has an ERROR and a SUMMARY line, so it counts 2).
no_ack_after_heal   1 if there is a heal line and the first ok send with
                    t > the final heal's t is missing or more than
                    ack_within (default 15 s) after it; else 0.
no_list_after_heal  per partition, 1 if no list of it was answered ok within
                    list_within (default 15 s) of the final heal.
                    A fault line after the last heal line (a fault never
                    healed) counts 1 in each of the three liveness counters.
                    The three limits come from the meta line when it has
                    ack_within / isr_within / list_within (what the run
                    used), else from the defaults, unless given.
no_full_isr_after_heal  1 if there is a heal line and the first zk sample
                    with t >= the final heal's t in which every partition
                    (0 .. meta.partitions-1, plus any other key of the
                    sample's replicas) is present with len(isr) == meta.rf
                    is missing or more than isr_within (default 30 s) after
                    the heal; else 0.  Without a heal line both liveness
                    counters are 0 (stats.liveness_checked = false).

Stats (reported, never failing): send_invoked, send_ok, send_fail,
send_info, send_pending, send_ok_without_invoke, send_ok_unknown_offset,
reads_poll, reads_drain, lists_ok, list_without_invoke, zk_samples,
consumer_errors (+ first examples), acks_during_faults (ok sends whose ok t
lies in a fault window: from a fault line to the next heal line, or to the
end when no heal follows), fault_times, heal_times, final_heal_t,
first_ack_after_heal_s, full_isr_after_heal_s, liveness_checked,
zk_invariant_by_rule, unclean_rule_unchecked (leader changes between two
samples more than one znode version apart, which unclean_leader cannot
judge), client_bugs, ignored_lines, log_files.
"""

import argparse
import bisect
import glob
import json
import math
import os
import re
import struct
import sys

COUNTERS = (
    "acked_lost",
    "unseen",
    "duplicate",
    "inconsistent_offset",
    "phantom",
    "failed_visible",
    "realtime_order",
    "poll_skip",
    "poll_nonmonotonic",
    "hw_regression",
    "zk_invariant",
    "min_isr_violation",
    "drain_incomplete",
    "drain_error",
    "drain_gap",
    "read_lost",
    "producer_fatal",
    "unresolved_sends",
    "crash",
    "no_ack_after_heal",
    "no_full_isr_after_heal",
    "no_list_after_heal",
)

# min_isr_violation: how long before an ack a sample showing the ISR below
# min.insync.replicas must have been taken.
MIN_ISR_MARGIN_S = 1.0

ZK_RULES = (
    "leader_not_in_isr",
    "empty_isr_with_leader",
    "isr_not_in_replicas",
    "isr_duplicate",
    "leader_epoch_decrease",
    "controller_epoch_decrease",
    "unclean_leader",
)

MAX_EXAMPLES = 5

CRASH_LINE = re.compile(
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:"
    r"|SUMMARY: UndefinedBehaviorSanitizer|SUMMARY: AddressSanitizer"
    r"|Assertion .* failed"
)

# librdkafka before 2.3.0 (Debian 12 ships 2.0.2) moved its next expected
# sequence past a batch whose request timed out or lost its connection
# ("possibly persisted").  When that batch had in fact not been written, the
# next one, sent first to a new leader, met a correct
# OUT_OF_ORDER_SEQUENCE_NUMBER, which librdkafka then called a fatal
# "sequence desynchronization" (its issue 4438, fixed in 2.3.0).  Such a
# line is the client's bug, not the broker's, when no replica's log holds a
# batch of that producer id and epoch with the sequence just before: had
# one been there, the broker would have been wrong to refuse.
LIBRDKAFKA_DESYNC = re.compile(
    r"ProduceRequest for (?P<topic>\S+) \[(?P<partition>\d+)\] with \d+ message\(s\) failed "
    r"due to sequence desynchronization with broker -?\d+ "
    r"\(PID\{Id:(?P<pid>\d+),Epoch:(?P<epoch>\d+)\}, base seq (?P<seq>\d+), .*"
    r"last partition error \w+ \(actions [\w,]*MsgPossiblyPersisted[\w,]*, "
    r"base seq (?P<first>-?\d+)\.\.(?P<last>-?\d+),")
LIBRDKAFKA_FIXED = (2, 3, 0)
BATCH_HEADER = struct.Struct(">qiiBIhiqqqhii")  # a record batch's first 61 bytes


def _batches(path):
    """(producer id, epoch, first sequence, last sequence) of each whole
    batch of one segment file, up to the first torn or foreign one."""
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 0
    while pos + BATCH_HEADER.size <= len(data):
        (_, length, _, magic, _, _, last_delta, _, _, pid, epoch, seq,
         _) = BATCH_HEADER.unpack_from(data, pos)
        if magic != 2 or length < BATCH_HEADER.size - 12 or pos + 12 + length > len(data):
            return
        yield pid, epoch, seq, seq + last_delta
        pos += 12 + length


def _version(text):
    try:
        return tuple(int(x) for x in str(text).split(".")[:3])
    except ValueError:
        return None


def librdkafka_desync(rec, data_dirs):
    """A description when rec (a producer_fatal line) is librdkafka's own
    sequence bug, as LIBRDKAFKA_DESYNC says, proven by every replica's log
    in data_dirs; else None (it then counts as producer_fatal)."""
    m = LIBRDKAFKA_DESYNC.search(str(rec.get("error")))
    version = _version(rec.get("librdkafka"))
    if not m or version is None or version >= LIBRDKAFKA_FIXED:
        return None
    pid, epoch, seq = int(m["pid"]), int(m["epoch"]), int(m["seq"])
    if int(m["last"]) != seq - 1:
        return None
    segments = [f for d in data_dirs
                for f in sorted(glob.glob(os.path.join(d, "%s-%s" % (m["topic"], m["partition"]), "*.log")))]
    if not segments:
        return None
    for f in segments:
        for b_pid, b_epoch, first, last in _batches(f):
            if (b_pid, b_epoch) == (pid, epoch) and first <= seq - 1 <= last:
                return None  # the broker had seq - 1: refusing seq was its error
    return ("%s librdkafka %s: %s [%s] PID %d epoch %d sequence %d refused after %d, which no replica "
            "holds (librdkafka issue 4438)" % (_fmt_t(rec["t"]), rec.get("librdkafka"), m["topic"],
                                               m["partition"], pid, epoch, seq, seq - 1))


META_KEYS = ("test", "seed", "topic", "partitions", "rf", "min_isr", "unclean", "acks")
TYPES = ("invoke", "ok", "fail", "info")


class HistoryError(ValueError):
    """The history (or a log file) cannot be checked: names the line."""


# ----------------------------------------------------------------------------
# Input validation


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v))


def _short(rec, limit=160):
    s = json.dumps(rec, sort_keys=True)
    return s if len(s) <= limit else s[:limit] + "..."


def _require(rec, where, key, test, what, nullable=False):
    if key not in rec:
        raise HistoryError("%s: missing key %r (f=%r type=%r): %s"
                           % (where, key, rec.get("f"), rec.get("type"), _short(rec)))
    v = rec[key]
    if v is None and nullable:
        return
    if not test(v):
        raise HistoryError("%s: key %r must be %s, got %r: %s"
                           % (where, key, what, v, _short(rec)))


def _int_list(v):
    return isinstance(v, list) and all(_is_int(x) for x in v)


def validate(rec, where):
    """Raise HistoryError (mentioning `where`) unless rec is a well-formed line."""
    if not isinstance(rec, dict):
        raise HistoryError("%s: not a JSON object: %r" % (where, rec))
    _require(rec, where, "t", _is_num, "a finite number")
    _require(rec, where, "proc", lambda v: isinstance(v, str), "a string")
    _require(rec, where, "type", lambda v: v in TYPES, "one of %s" % "|".join(TYPES))
    _require(rec, where, "f", lambda v: isinstance(v, str), "a string")
    f, typ = rec["f"], rec["type"]
    need = lambda key, test, what, nullable=False: _require(rec, where, key, test, what, nullable)
    if f == "meta":
        for k in META_KEYS:
            if k not in rec:
                raise HistoryError("%s: meta line lacks key %r: %s" % (where, k, _short(rec)))
        need("partitions", lambda v: _is_int(v) and v > 0, "a positive integer")
        need("rf", lambda v: _is_int(v) and v > 0, "a positive integer")
        need("min_isr", _is_int, "an integer")
        need("unclean", lambda v: isinstance(v, bool), "true or false")
        need("acks", lambda v: v in ACKS_VALUES, "one of %s" % ", ".join(map(repr, ACKS_VALUES)))
    elif f == "send":
        need("value", _is_int, "an integer")
        if typ == "ok":
            need("partition", _is_int, "an integer")
            need("offset", _is_int, "an integer")
        elif "partition" in rec:
            need("partition", _is_int, "an integer", nullable=True)
    elif f in ("poll", "drain"):
        if typ == "ok":
            need("partition", _is_int, "an integer")
            need("offset", _is_int, "an integer")
            need("value", _is_int, "an integer or null", nullable=True)
    elif f == "drain_end":
        need("partition", _is_int, "an integer")
        need("offset", _is_int, "an integer")
        need("complete", lambda v: isinstance(v, bool), "true or false")
    elif f == "list":
        need("id", lambda v: v is not None, "present")
        if typ == "ok":
            need("partition", _is_int, "an integer")
            need("offset", _is_int, "an integer")
        elif typ == "invoke":
            need("partition", _is_int, "an integer")
    elif f == "zk":
        if typ == "ok":
            need("partitions", lambda v: isinstance(v, dict), "an object")
            if "replicas" in rec:
                need("replicas", lambda v: isinstance(v, dict), "an object", nullable=True)
            for key, st in rec["partitions"].items():
                sub = "%s: partitions[%r]" % (where, key)
                try:
                    int(key)
                except ValueError:
                    raise HistoryError("%s: key is not a partition number" % sub)
                if not isinstance(st, dict):
                    raise HistoryError("%s: not an object" % sub)
                _require(st, sub, "leader", _is_int, "an integer", nullable=True)
                _require(st, sub, "isr", _int_list, "a list of integers")
                for k in ("leader_epoch", "version"):
                    if k in st:
                        _require(st, sub, k, _is_int, "an integer", nullable=True)
            for key, reps in (rec.get("replicas") or {}).items():
                sub = "%s: replicas[%r]" % (where, key)
                try:
                    int(key)
                except ValueError:
                    raise HistoryError("%s: key is not a partition number" % sub)
                if not _int_list(reps):
                    raise HistoryError("%s: must be a list of integers" % sub)
            for k in ("controller_epoch", "controller"):
                if k in rec:
                    need(k, _is_int, "an integer", nullable=True)
    elif f == "exit":
        need("expected", lambda v: isinstance(v, bool), "true or false")


def load(path):
    """Read a JSONL history; HistoryError names the file and line on bad input."""
    records = []
    try:
        fh = open(path, encoding="utf-8")
    except OSError as e:
        raise HistoryError("%s: cannot open: %s" % (path, e.strerror or e))
    with fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            where = "%s:%d" % (path, lineno)
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise HistoryError("%s: bad JSON: %s" % (where, e))
            validate(rec, where)
            records.append(rec)
    return records


# ----------------------------------------------------------------------------
# The checker


class _Send:
    __slots__ = ("value", "inv_t", "ok", "failed", "infoed",
                 "ok_t", "part", "offset")

    def __init__(self, value):
        self.value = value
        self.inv_t = None
        self.ok = False
        self.failed = False
        self.infoed = False
        self.ok_t = None
        self.part = None
        self.offset = None

    def outcome(self):
        if self.ok:
            return "ok"
        if self.failed:
            return "fail"
        if self.infoed:
            return "info"
        return "pending"


class _Counts:
    def __init__(self):
        self.n = {name: 0 for name in COUNTERS}
        self.ex = {name: [] for name in COUNTERS}

    def add(self, name, text):
        self.n[name] += 1
        if len(self.ex[name]) < MAX_EXAMPLES:
            self.ex[name].append(text)


def _fmt_t(t):
    return "t=%.3f" % t


ACKS_VALUES = ("all", "-1", -1, "1", 1, "0", 0)


def _acks_all(acks):
    return acks in ("all", "-1", -1)


def check(records, log_paths=(), ack_within=None, isr_within=None, list_within=None, data_dirs=()):
    """Check a history (a list of dicts as load() returns); see the module doc.
    A liveness limit not given comes from the meta line (ack_within,
    isr_within, list_within: what the run was checked with), else 15 s,
    30 s, 15 s.  data_dirs: the brokers' log directories, read to judge
    producer_fatal lines."""
    for i, rec in enumerate(records):
        validate(rec, "record %d" % i)
    metas = [r for r in records if r["f"] == "meta"]
    if len(metas) != 1:
        raise HistoryError("history must have exactly one meta line, has %d" % len(metas))
    meta = metas[0]
    ack_within = meta.get("ack_within", 15.0) if ack_within is None else ack_within
    isr_within = meta.get("isr_within", 30.0) if isr_within is None else isr_within
    list_within = meta.get("list_within", 15.0) if list_within is None else list_within
    recs = sorted(records, key=lambda r: r["t"])   # stable: equal t keep file order

    c = _Counts()
    stats = {}
    ignored = 0

    sends = {}            # value -> _Send
    sent_values = set()   # every value on any send line
    reads = []            # (t, proc, kind, partition, offset, value)
    polls = {}            # (proc, partition) -> [(t, offset)]
    drain_end = {}        # partition -> record (last by t)
    list_inv = {}         # (proc, id) -> invoke t (first)
    list_oks = []         # records
    samples = []          # parsed zk samples, t order
    faults, heals = [], []
    exits = []
    consumer_errors = []
    drain_errors = []
    producer_fatals = []

    for r in recs:
        f, typ = r["f"], r["type"]
        if f == "send":
            v = r["value"]
            sent_values.add(v)
            s = sends.get(v)
            if s is None:
                s = sends[v] = _Send(v)
            if typ == "invoke":
                if s.inv_t is None:
                    s.inv_t = r["t"]
            elif typ == "ok":
                if not s.ok:
                    s.ok = True
                    s.ok_t = r["t"]
                    s.part = r["partition"]
                    s.offset = r["offset"]
            elif typ == "fail":
                s.failed = True
            else:
                s.infoed = True
        elif f in ("poll", "drain"):
            if typ == "ok":
                reads.append((r["t"], r["proc"], f, r["partition"], r["offset"], r["value"]))
                if f == "poll":
                    polls.setdefault((r["proc"], r["partition"]), []).append((r["t"], r["offset"]))
            elif f == "poll":
                consumer_errors.append(r)
            elif typ == "fail":
                drain_errors.append(r)
            else:
                ignored += 1
        elif f == "producer_fatal":
            producer_fatals.append(r)
        elif f == "drain_end":
            drain_end[r["partition"]] = r
        elif f == "list":
            if typ == "invoke":
                list_inv.setdefault((r["proc"], r["id"]), r["t"])
            elif typ == "ok":
                list_oks.append(r)
        elif f == "zk":
            if typ == "ok":
                parts = {}
                for key, st in r["partitions"].items():
                    parts[int(key)] = (st.get("leader"), st.get("leader_epoch"),
                                         tuple(st["isr"]), st.get("version"))
                reps = {int(k): tuple(v) for k, v in (r.get("replicas") or {}).items()}
                samples.append((r["t"], r.get("controller_epoch"), reps, parts))
            else:
                ignored += 1
        elif f == "fault":
            faults.append((r["t"], r.get("value")))
        elif f == "heal":
            heals.append((r["t"], r.get("value")))
        elif f == "exit":
            exits.append(r)
        elif f == "meta":
            pass
        else:
            ignored += 1

    all_sends = list(sends.values())
    ok_sends = [s for s in all_sends if s.ok]
    # ok sends whose offset can be used by the offset rules
    placed = [s for s in ok_sends if s.offset is not None and s.offset >= 0]

    # ---- indexes over reads
    locs = {}             # value -> set of (p, o)   (non-null values)
    at = {}               # (p, o) -> set of values  (non-null values)
    drained = set()       # values read by the drain
    offsets_seen = {}     # p -> set of offsets read (null values included)
    null_pos = set()
    for (t, proc, kind, p, o, v) in reads:
        offsets_seen.setdefault(p, set()).add(o)
        if v is None:
            null_pos.add((p, o))
            continue
        locs.setdefault(v, set()).add((p, o))
        at.setdefault((p, o), set()).add(v)
        if kind == "drain":
            drained.add(v)

    # ---- acked_lost, unseen
    for s in sorted(ok_sends, key=lambda s: s.ok_t):
        de = drain_end.get(s.part)
        known = s.offset is not None and s.offset >= 0
        covered = de is not None and (de["complete"] or (known and de["offset"] > s.offset))
        if covered and s.value not in drained:
            c.add("acked_lost", "value %d acked at p%s@%s %s; the drain read to %d without it"
                  % (s.value, s.part, s.offset, _fmt_t(s.ok_t), de["offset"]))
        if s.value not in locs:
            c.add("unseen", "value %d acked at p%s@%s %s never read"
                  % (s.value, s.part, s.offset, _fmt_t(s.ok_t)))

    # ---- read_lost: records a consumer read (so they were below the HW,
    # committed) that a drain covering their offset no longer has; acked
    # sends are acked_lost already
    read_lost = set()
    for (t, proc, kind, p, o, v) in reads:
        de = drain_end.get(p)
        acked = v in sends and sends[v].ok
        if (kind == "poll" and v is not None and v not in drained and v not in read_lost and not acked
                and de is not None and (de["complete"] or de["offset"] > o)):
            read_lost.add(v)
            c.add("read_lost", "value %d read by %s at p%d@%d %s; the drain read to %d without it"
                  % (v, proc, p, o, _fmt_t(t), de["offset"]))

    # ---- drain_gap, drain_error: the drain reads each log from offset 0
    # (nothing is deleted during a run) and offsets have no holes
    for p, de in sorted(drain_end.items()):
        seen = {o for (t, proc, kind, q, o, v) in reads if kind == "drain" and q == p}
        missing = [o for o in range(de["offset"]) if o not in seen]
        if missing:
            c.add("drain_gap", "p%d: the drain found no record at %d offset(s) below %d, first %d"
                  % (p, len(missing), de["offset"], missing[0]))
    for r in drain_errors:
        c.add("drain_error", "p%s %s: %s" % (r.get("partition"), _fmt_t(r["t"]), r.get("error")))

    # ---- producer_fatal, unresolved_sends
    client_bugs = []
    for r in producer_fatals:
        bug = librdkafka_desync(r, data_dirs)
        if bug:
            client_bugs.append(bug)
        else:
            c.add("producer_fatal", "%s %s" % (_fmt_t(r["t"]), str(r.get("error"))[:1000]))
    for s_ in all_sends:
        if s_.outcome() == "pending":
            c.add("unresolved_sends", "value %d invoked %s never completed" % (s_.value, _fmt_t(s_.inv_t)))

    # ---- duplicate
    for v in sorted(locs):
        where = locs[v]
        if len(where) > 1:
            c.add("duplicate", "value %d read at %s"
                  % (v, ", ".join("p%d@%d" % po for po in sorted(where))))

    # ---- inconsistent_offset
    claims = {po: set(vals) for po, vals in at.items()}
    for s in placed:
        claims.setdefault((s.part, s.offset), set()).add(s.value)
    bad = {}
    for po, vals in claims.items():
        if len(vals) > 1:
            bad[po] = "p%d@%d carries values %s" % (po[0], po[1], sorted(vals))
    for s in placed:
        po = (s.part, s.offset)
        if s.value in locs and po not in locs[s.value] and po not in bad:
            bad[po] = "value %d acked at p%d@%d but read at %s" % (
                s.value, po[0], po[1], ", ".join("p%d@%d" % x for x in sorted(locs[s.value])))
    for s in ok_sends:
        elsewhere = sorted(po for po in locs.get(s.value, ()) if po[0] != s.part)
        if elsewhere and ("partition", s.value) not in bad:
            bad[("partition", s.value)] = "value %d acked on p%d but read at %s" % (
                s.value, s.part, ", ".join("p%d@%d" % x for x in elsewhere))
    for po in sorted(bad, key=str):
        c.add("inconsistent_offset", bad[po])

    # ---- phantom, failed_visible
    for v in sorted(locs):
        if v not in sent_values:
            c.add("phantom", "value %d read at %s was never sent"
                  % (v, ", ".join("p%d@%d" % po for po in sorted(locs[v]))))
        elif sends[v].outcome() == "fail":
            c.add("failed_visible", "value %d (send failed) read at %s"
                  % (v, ", ".join("p%d@%d" % po for po in sorted(locs[v]))))
    for po in sorted(null_pos):
        c.add("phantom", "record at p%d@%d has a non-integer value" % po)

    # ---- per-partition ack index: ok t order, prefix max offset
    by_part = {}
    for s in placed:
        by_part.setdefault(s.part, []).append(s)
    ack_index = {}
    for p, lst in by_part.items():
        lst.sort(key=lambda s: s.ok_t)
        times, best, who = [], [], []
        cur, cur_s = None, None
        for s in lst:
            if cur is None or s.offset > cur:
                cur, cur_s = s.offset, s
            times.append(s.ok_t)
            best.append(cur)
            who.append(cur_s)
        ack_index[p] = (times, best, who)

    def acked_before(p, t):
        """(highest offset, its send) among ok sends to p with ok t < t."""
        idx = ack_index.get(p)
        if idx is None:
            return None, None
        times, best, who = idx
        k = bisect.bisect_left(times, t)
        if k == 0:
            return None, None
        return best[k - 1], who[k - 1]

    # ---- realtime_order
    for s in sorted(placed, key=lambda s: (s.inv_t is None, s.inv_t or 0.0)):
        if s.inv_t is None:
            continue
        hi, a = acked_before(s.part, s.inv_t)
        if hi is not None and s.offset <= hi and a is not s:
            c.add("realtime_order",
                  "value %d invoked %s got p%d@%d, but value %d was acked at p%d@%d %s"
                  % (s.value, _fmt_t(s.inv_t), s.part, s.offset, a.value, a.part,
                     a.offset, _fmt_t(a.ok_t)))

    # ---- poll_skip, poll_nonmonotonic
    sorted_offsets = {p: sorted(v) for p, v in offsets_seen.items()}
    for (proc, p) in sorted(polls):
        seq = polls[(proc, p)]
        offs = sorted_offsets.get(p, [])
        for i in range(1, len(seq)):
            (t1, o1), (t2, o2) = seq[i - 1], seq[i]
            if o2 <= o1:
                c.add("poll_nonmonotonic", "%s p%d: offset %d (%s) after %d (%s)"
                      % (proc, p, o2, _fmt_t(t2), o1, _fmt_t(t1)))
            elif o2 > o1 + 1:
                k = bisect.bisect_right(offs, o1)
                if k < len(offs) and offs[k] < o2:
                    c.add("poll_skip", "%s p%d: offset %d (%s) after %d (%s); %d was read elsewhere"
                          % (proc, p, o2, _fmt_t(t2), o1, _fmt_t(t1), offs[k]))

    # ---- hw_regression
    # the highest answer of lists of p completed before t (answers only grow)
    answered = {}   # p -> (completion times, running (highest answer, its time))
    for r in sorted(list_oks, key=lambda r: r["t"]):
        times, best = answered.setdefault(r["partition"], ([], []))
        top = best[-1] if best and best[-1][0] >= r["offset"] else (r["offset"], r["t"])
        times.append(r["t"])
        best.append(top)

    def listed_before(p, t):
        seq = answered.get(p)
        if not seq:
            return None
        k = bisect.bisect_left(seq[0], t) - 1
        return seq[1][k] if k >= 0 else None

    no_invoke = 0
    for r in (list_oks if _acks_all(meta["acks"]) else []):
        t_inv = list_inv.get((r["proc"], r["id"]))
        if t_inv is None:
            no_invoke += 1
            continue
        p = r["partition"]
        hi, a = acked_before(p, t_inv)
        if hi is not None and r["offset"] < hi + 1:
            c.add("hw_regression",
                  "list id %s of p%d invoked %s answered %d; value %d was acked at offset %d %s"
                  % (r["id"], p, _fmt_t(t_inv), r["offset"], a.value, hi, _fmt_t(a.ok_t)))
            continue
        prev = listed_before(p, t_inv)
        if prev is not None and r["offset"] < prev[0]:
            c.add("hw_regression", "list id %s of p%d invoked %s answered %d; an answer %s said %d"
                  % (r["id"], p, _fmt_t(t_inv), r["offset"], _fmt_t(prev[1]), prev[0]))

    # ---- zk_invariant
    unclean_allowed = bool(meta["unclean"])
    by_rule = {rule: 0 for rule in ZK_RULES}
    unchecked = 0         # leader changes the unclean_leader rule could not judge
    seen_keys = set()
    max_epoch = {}
    prev_state = {}
    max_cepoch = None

    def zk_violation(rule, key, text):
        if (rule, key) in seen_keys:
            return
        seen_keys.add((rule, key))
        by_rule[rule] += 1
        c.add("zk_invariant", "%s: %s" % (rule, text))

    for (t, cepoch, reps, parts) in samples:
        if cepoch is not None:
            if max_cepoch is not None and cepoch < max_cepoch:
                zk_violation("controller_epoch_decrease", cepoch,
                             "controller_epoch %d %s after %d" % (cepoch, _fmt_t(t), max_cepoch))
            if max_cepoch is None or cepoch > max_cepoch:
                max_cepoch = cepoch
        for p in sorted(parts):
            leader, lepoch, isr, version = parts[p]
            state_key = (p, version) if version is not None else (p, "state", leader, lepoch, isr)
            desc = "p%d %s leader=%s leader_epoch=%s isr=%s version=%s" % (
                p, _fmt_t(t), leader, lepoch, list(isr), version)
            has_leader = leader is not None and leader >= 0
            if has_leader and not isr:
                zk_violation("empty_isr_with_leader", state_key, desc)
            elif has_leader and leader not in isr:
                zk_violation("leader_not_in_isr", state_key, desc)
            if len(set(isr)) != len(isr):
                zk_violation("isr_duplicate", state_key, desc)
            rp = reps.get(p)
            if rp is not None and any(b not in rp for b in isr):
                zk_violation("isr_not_in_replicas", state_key, desc + " replicas=%s" % list(rp))
            if lepoch is not None:
                m = max_epoch.get(p)
                if m is not None and lepoch < m:
                    zk_violation("leader_epoch_decrease", state_key,
                                 desc + " (earlier leader_epoch %d)" % m)
                if m is None or lepoch > m:
                    max_epoch[p] = lepoch
            prev = prev_state.get(p)
            if (prev is not None and version is not None and prev[3] is not None
                    and version > prev[3] + 1 and has_leader and leader != prev[0]):
                unchecked += 1  # a leader change across unsampled versions
            if (not unclean_allowed and prev is not None and version is not None
                    and prev[3] is not None and version == prev[3] + 1
                    and has_leader and leader != prev[0] and leader not in prev[2]):
                zk_violation("unclean_leader", state_key,
                             desc + " (previous leader=%s isr=%s)" % (prev[0], list(prev[2])))
            prev_state[p] = parts[p]
    stats["zk_invariant_by_rule"] = by_rule
    stats["unclean_rule_unchecked"] = unchecked

    # ---- min_isr_violation
    if _acks_all(meta["acks"]) and samples:
        sample_t = [smp[0] for smp in samples]
        low_prefix = {}   # p -> prefix count of samples showing p with len(isr) < min_isr

        def low_counts(p):
            pc = low_prefix.get(p)
            if pc is None:
                pc = [0]
                for smp in samples:
                    st = smp[3].get(p)
                    pc.append(pc[-1] + (1 if st is not None and len(set(st[2])) < meta["min_isr"] else 0))
                low_prefix[p] = pc
            return pc

        for s in sorted(ok_sends, key=lambda s: s.ok_t):
            if s.inv_t is None or s.part is None:
                continue
            # The chain starts at the last sample before the invoke, or at
            # one MIN_ISR_MARGIN_S before the ack: a record produced before
            # the ISR shrank must not be acknowledged after it either (the
            # margin covers the moment the leader acts on its ZooKeeper write).
            before = max(s.inv_t, s.ok_t - MIN_ISR_MARGIN_S)
            k = bisect.bisect_right(sample_t, before) - 1
            m = bisect.bisect_left(sample_t, s.ok_t)           # first sample t >= ok
            if k < 0 or m >= len(samples) or m < k:
                continue
            pc = low_counts(s.part)
            if pc[m + 1] - pc[k] == m - k + 1:
                isr = samples[k][3][s.part][2]
                c.add("min_isr_violation",
                      "value %d acked at p%d@%s %s while isr=%s (min_isr %d) from %s to %s"
                      % (s.value, s.part, s.offset, _fmt_t(s.ok_t), list(isr), meta["min_isr"],
                         _fmt_t(samples[k][0]), _fmt_t(samples[m][0])))

    # ---- drain_incomplete
    acked_parts = {s.part for s in ok_sends if s.part is not None}
    for p in sorted(set(drain_end) | acked_parts):
        de = drain_end.get(p)
        if de is None:
            c.add("drain_incomplete", "p%d has acked sends but no drain_end" % p)
        elif not de["complete"]:
            c.add("drain_incomplete", "p%d drain gave up at offset %d" % (p, de["offset"]))

    # ---- crash
    for r in exits:
        if not r["expected"]:
            c.add("crash", "unexpected exit of %s rc=%s %s"
                  % (r.get("value"), r.get("rc"), _fmt_t(r["t"])))
    for path in log_paths:
        try:
            fh = open(path, encoding="utf-8", errors="replace")
        except OSError as e:
            raise HistoryError("%s: cannot open log: %s" % (path, e.strerror or e))
        with fh:
            for lineno, line in enumerate(fh, 1):
                if CRASH_LINE.search(line):
                    c.add("crash", "%s:%d: %s" % (path, lineno, line.strip()[:200]))

    # ---- liveness
    final_heal = max(t for t, _ in heals) if heals else None
    last_fault = max(t for t, _ in faults) if faults else None
    first_ack = full_isr = None
    if last_fault is not None and (final_heal is None or final_heal < last_fault):
        c.add("no_ack_after_heal", "the fault at %s was never healed" % _fmt_t(last_fault))
        c.add("no_full_isr_after_heal", "the fault at %s was never healed" % _fmt_t(last_fault))
        c.add("no_list_after_heal", "the fault at %s was never healed" % _fmt_t(last_fault))
    elif final_heal is not None:
        for p in range(meta["partitions"]):
            if not any(r["partition"] == p and final_heal < r["t"] <= final_heal + list_within
                       for r in list_oks):
                c.add("no_list_after_heal", "p%d: no ListOffsets answered within %gs of the heal at %s"
                      % (p, list_within, _fmt_t(final_heal)))
        after = [s.ok_t for s in ok_sends if s.ok_t > final_heal]
        if after:
            first_ack = min(after) - final_heal
        for (t, cepoch, reps, parts) in samples:
            if t < final_heal:
                continue
            want = set(range(meta["partitions"])) | set(reps)
            if all(p in parts and len(set(parts[p][2])) == meta["rf"] for p in want):
                full_isr = t - final_heal
                break
        if first_ack is None or first_ack > ack_within:
            c.add("no_ack_after_heal", "first ack after the heal at %s: %s (limit %gs)"
                  % (_fmt_t(final_heal), "none" if first_ack is None else "%.3fs" % first_ack,
                     ack_within))
        if full_isr is None or full_isr > isr_within:
            c.add("no_full_isr_after_heal",
                  "ISR == %d on every partition after the heal at %s: %s (limit %gs)"
                  % (meta["rf"], _fmt_t(final_heal),
                     "never" if full_isr is None else "%.3fs" % full_isr, isr_within))

    # ---- stats
    windows = []
    events = sorted([(t, 0) for t, _ in faults] + [(t, 1) for t, _ in heals])
    start = None
    for t, kind in events:
        if kind == 0 and start is None:
            start = t
        elif kind == 1 and start is not None:
            windows.append((start, t))
            start = None
    if start is not None:
        windows.append((start, math.inf))
    ok_times = sorted(s.ok_t for s in ok_sends)
    during = 0
    for a, b in windows:
        during += bisect.bisect_left(ok_times, b) - bisect.bisect_left(ok_times, a)

    outcomes = [s.outcome() for s in all_sends]
    stats.update({
        "send_invoked": sum(1 for s in all_sends if s.inv_t is not None),
        "send_ok": outcomes.count("ok"),
        "send_fail": outcomes.count("fail"),
        "send_info": outcomes.count("info"),
        "send_pending": outcomes.count("pending"),
        "send_ok_without_invoke": sum(1 for s in ok_sends if s.inv_t is None),
        "send_ok_unknown_offset": len(ok_sends) - len(placed),
        "reads_poll": sum(1 for x in reads if x[2] == "poll"),
        "reads_drain": sum(1 for x in reads if x[2] == "drain"),
        "lists_ok": len(list_oks),
        "list_without_invoke": no_invoke,
        "zk_samples": len(samples),
        "consumer_errors": len(consumer_errors),
        "consumer_error_examples": ["%s p%s %s: %s" % (r["proc"], r.get("partition"),
                                                        _fmt_t(r["t"]), r.get("error"))
                                    for r in consumer_errors[:MAX_EXAMPLES]],
        "acks_during_faults": during,
        "fault_times": [t for t, _ in faults],
        "heal_times": [t for t, _ in heals],
        "faults": ["%s %s" % (_fmt_t(t), v) for t, v in faults],
        "final_heal_t": final_heal,
        "first_ack_after_heal_s": first_ack,
        "full_isr_after_heal_s": full_isr,
        "liveness_checked": final_heal is not None,
        "ack_within_s": ack_within,
        "isr_within_s": isr_within,
        "client_bugs": client_bugs,
        "ignored_lines": ignored,
        "log_files": list(log_paths),
    })
    return {
        "valid": all(v == 0 for v in c.n.values()),
        "counters": dict(c.n),
        "examples": {k: v for k, v in c.ex.items()},
        "stats": stats,
        "test": meta.get("test"),
        "seed": meta.get("seed"),
    }


# ----------------------------------------------------------------------------
# Output


def _secs(v):
    return "none" if v is None else "%.1fs" % v


def summary_line(result):
    """One line: test, verdict, volumes, every counter, liveness times, faults.

    info= counts indeterminate sends: info completions plus sends never completed.
    """
    st = result["stats"]
    parts = [str(result.get("test")), "valid" if result["valid"] else "INVALID",
             "seed=%s" % result.get("seed"),
             "sends=%d" % st["send_invoked"], "ok=%d" % st["send_ok"],
             "fail=%d" % st["send_fail"], "info=%d" % (st["send_info"] + st["send_pending"]),
             "reads=%d" % (st["reads_poll"] + st["reads_drain"]),
             "acks_during_faults=%d" % st["acks_during_faults"]]
    parts += ["%s=%d" % (name, result["counters"][name]) for name in COUNTERS]
    parts += ["first_ack_after_heal=%s" % _secs(st["first_ack_after_heal_s"]),
              "full_isr_after_heal=%s" % _secs(st["full_isr_after_heal_s"]),
              "faults=%d" % len(st["fault_times"])]
    return " ".join(parts)


def report(result):
    """Multi-line human-readable report with the examples of each non-zero counter."""
    st = result["stats"]
    out = ["kbcheck %s (seed %s): %s" % (result.get("test"), result.get("seed"),
                                          "VALID" if result["valid"] else "INVALID"),
           "sends: invoked %d, ok %d, fail %d, info %d, pending %d"
           % (st["send_invoked"], st["send_ok"], st["send_fail"], st["send_info"],
              st["send_pending"]),
           "reads: poll %d, drain %d; lists ok %d; zk samples %d; consumer errors %d"
           % (st["reads_poll"], st["reads_drain"], st["lists_ok"], st["zk_samples"],
              st["consumer_errors"])]
    for e in st["consumer_error_examples"]:
        out.append("    consumer error: %s" % e)
    out.append("faults: %s" % ("; ".join(st["faults"]) if st["faults"] else "none"))
    out.append("heals at: %s" % (", ".join("%.3f" % t for t in st["heal_times"]) or "none"))
    out.append("acks during faults: %d" % st["acks_during_faults"])
    if st["liveness_checked"]:
        out.append("after the final heal (t=%.3f): first ack %s (limit %gs), full ISR %s (limit %gs)"
                   % (st["final_heal_t"], _secs(st["first_ack_after_heal_s"]), st["ack_within_s"],
                      _secs(st["full_isr_after_heal_s"]), st["isr_within_s"]))
    else:
        out.append("no heal line: liveness not checked")
    if st["send_ok_without_invoke"] or st["send_ok_unknown_offset"] or st["list_without_invoke"]:
        out.append("note: %d ok sends without invoke, %d ok sends with unknown offset, "
                   "%d lists without invoke" % (st["send_ok_without_invoke"],
                                                st["send_ok_unknown_offset"],
                                                st["list_without_invoke"]))
    if st["ignored_lines"]:
        out.append("note: %d lines ignored (unknown f or type)" % st["ignored_lines"])
    for bug in st.get("client_bugs", []):
        out.append("client bug, not counted: %s" % bug)
    out.append("counters:")
    for name in COUNTERS:
        n = result["counters"][name]
        extra = ""
        if name == "zk_invariant" and n:
            extra = " (%s)" % ", ".join("%s=%d" % kv for kv in st["zk_invariant_by_rule"].items()
                                        if kv[1])
        out.append("  %-24s %d%s" % (name, n, extra))
        for e in result["examples"].get(name, []):
            out.append("      %s" % e)
    out.append(summary_line(result))
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Check a kbroker chaos-test history (JSONL).")
    ap.add_argument("history", help="history file, one JSON object per line")
    ap.add_argument("--logs", nargs="+", default=[], metavar="FILE",
                    help="broker log files to scan for sanitizer/assertion lines")
    ap.add_argument("--data", nargs="+", default=[], metavar="DIR",
                    help="the brokers' log directories, to judge producer_fatal lines")
    ap.add_argument("--json", metavar="OUT", help="also write the result as JSON to OUT")
    ap.add_argument("--ack-within", type=float, metavar="S",
                    help="an ack must come within S seconds of the final heal (meta's, else 15)")
    ap.add_argument("--isr-within", type=float, metavar="S",
                    help="every ISR must be full within S seconds of the final heal (meta's, else 30)")
    ap.add_argument("--list-within", type=float, metavar="S",
                    help="ListOffsets must answer within S seconds of the final heal (meta's, else 15)")
    args = ap.parse_args(argv)
    try:
        result = check(load(args.history), args.logs, args.ack_within, args.isr_within,
                       args.list_within, args.data)
    except HistoryError as e:
        print("kbcheck: bad input: %s" % e, file=sys.stderr)
        return 2
    print(report(result))
    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(result, fh, indent=1, sort_keys=True)
                fh.write("\n")
        except OSError as e:
            print("kbcheck: cannot write %s: %s" % (args.json, e), file=sys.stderr)
            return 2
    return 0 if result["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
