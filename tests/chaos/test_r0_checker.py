"""
tests/chaos/test_r0_checker.py - R0: the self-test of the chaos checker
kbcheck.py (/work/shared/specs/reliability-tests.md section 6.2, R0).

    /usr/bin/python3 -m pytest tests/chaos/test_r0_checker.py

History is a builder of synthetic but realistic histories: 3 brokers, topic
"jr" with 6 partitions (replicas rotated over brokers 1-3, so broker 2
leads p1 and p4), a producer, two tailing consumers, a ListOffsets poller,
ZooKeeper samples every 0.25 s, broker 2 killed at 8 s and restarted at
13 s, a drain at the end.  Partitions 0-2 get sends in pairs (the second is
invoked before the first is acked), partitions 3-5 single sends.  While
broker 2 is down its partitions move to broker 3 (sends invoked in the gap
time out or fail, one timed-out send is nevertheless written), the other
partitions stall until the ISR shrinks at 9 s; the ISR is full again at
16 s.  The clean history must check valid with every counter 0; each
seeded test changes a fresh copy in one place and expects exactly the
stated counters (all others 0).
"""
import bisect
import json
import os
import random
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kbcheck  # noqa: E402

sys.path.insert(0, os.path.join(HERE, os.pardir, "integration"))
import kafkawire  # noqa: E402

PYTHON = "/usr/bin/python3"
NPART = 6
FAULT_T = 8.0       # kill broker 2
GONE_T = 8.3        # its /brokers/ids znode disappears
ELECT_T = 8.5       # p1, p4 led by broker 3; controller 1 (epoch 2)
DARK_END = 8.7      # sends to p1/p4 invoked before this are not written
STALL_END = 9.05    # acks of other partitions wait for the ISR shrink
SHRINK_T = 9.0      # ISR of the other partitions drops broker 2
HEAL_T = 13.0       # restart broker 2
BACK_T = 13.5       # its znode is back
EXPAND_T = 16.0     # every ISR has broker 2 again


def replicas(p):
    return [1 + p % 3, 1 + (p + 1) % 3, 1 + (p + 2) % 3]


class History:
    """A synthetic history; .recs is the list of lines, the rest indexes it."""

    def __init__(self, end=32.0, unclean=False, acks="all", seed=7):
        self.end = end
        self.recs = []
        self.meta = self.add(0.0, "harness", "info", "meta", test="R0", seed=seed,
                             topic="jr", partitions=NPART, rf=3, min_isr=2,
                             unclean=unclean, acks=acks)
        self.sends = []         # dicts: value p inv done offset hw_t (offset None = not written)
        self.by_offset = {}     # (p, offset) -> send dict
        self.poll_rec = {}      # (p, offset) -> poll line
        self.drain_rec = {}     # (p, offset) -> drain line
        self.drain_end = {}     # p -> drain_end line
        self.lists = {p: [] for p in range(NPART)}   # p -> [(invoke, ok)]
        self.samples = []       # zk lines
        self.next_offset = {p: 0 for p in range(NPART)}
        self.next_value = 100000
        self._nemesis()
        self._sends()
        self._polls()
        self._lists()
        self._zk()
        self._drain()
        self.add(end + 3.0, "harness", "info", "exit", value="broker-1", rc=0, expected=True)
        self.add(end + 3.01, "harness", "info", "exit", value="broker-2", rc=0, expected=True)
        self.add(end + 3.02, "harness", "info", "exit", value="broker-3", rc=0, expected=True)
        self.recs.sort(key=lambda r: r["t"])

    def add(self, t, proc, typ, f, **kw):
        rec = {"t": round(t, 6), "proc": proc, "type": typ, "f": f}
        rec.update(kw)
        self.recs.append(rec)
        return rec

    # -- generation

    def _nemesis(self):
        self.add(FAULT_T, "nemesis", "info", "fault", value="kill broker 2")
        self.add(FAULT_T + 0.001, "harness", "info", "exit", value="broker-2", rc=-9,
                 expected=True)
        self.add(HEAL_T, "nemesis", "info", "heal", value="restart broker 2")

    def _sends(self):
        plan = []   # (invoke t, p, outcome, hw_t or None, done t, error)
        stalled = 0
        for p in range(NPART):
            paired = p < 3
            step = 0.5 if paired else 0.25
            k = 0
            while True:
                base = 0.2 + p * 0.08 + k * step
                if base >= self.end:
                    break
                pair = [(base, 0.03), (base + 0.01, 0.03)] if paired else [(base, 0.03)]
                for j, (inv, lat) in enumerate(pair):
                    if p in (1, 4) and FAULT_T <= inv < DARK_END:
                        # broker 2 is gone: the first of each group times out,
                        # the second is purged from the queue (never sent)
                        if j == 0 and not (p == 4 and k % 2):
                            plan.append((inv, p, "info", None, inv + 1.0, "Local: Message timed out"))
                        else:
                            plan.append((inv, p, "fail", None, inv + 0.4, "Local: Purged in queue"))
                        continue
                    if p not in (1, 4) and FAULT_T <= inv < STALL_END:
                        done = STALL_END + 0.001 * stalled
                        stalled += 1
                    else:
                        done = inv + lat + 0.001 * j
                    outcome, err = "ok", None
                    if p == 1 and j == 0 and DARK_END <= inv < DARK_END + 0.5:
                        # written by the new leader, but the answer was lost
                        outcome, err, done = "info", "Local: Message timed out", inv + 1.0
                        plan.append((inv, p, outcome, inv + lat - 0.005, done, err))
                        continue
                    plan.append((inv, p, outcome, done - 0.005, done, err))
                k += 1
        plan.sort(key=lambda x: x[0])
        for inv, p, outcome, hw_t, done, err in plan:
            v = self.next_value
            self.next_value += 1
            self.sends.append({"value": v, "p": p, "outcome": outcome, "inv_t": inv,
                               "hw_t": hw_t, "done_t": done, "err": err, "offset": None})
        for s in sorted((s for s in self.sends if s["hw_t"] is not None),
                        key=lambda s: s["hw_t"]):
            s["offset"] = self.next_offset[s["p"]]
            self.next_offset[s["p"]] += 1
            self.by_offset[(s["p"], s["offset"])] = s
        for s in self.sends:
            s["inv"] = self.add(s["inv_t"], "producer", "invoke", "send", partition=s["p"],
                                value=s["value"])
            if s["outcome"] == "ok":
                s["done"] = self.add(s["done_t"], "producer", "ok", "send", partition=s["p"],
                                     value=s["value"], offset=s["offset"])
            else:
                s["done"] = self.add(s["done_t"], "producer", s["outcome"], "send",
                                     partition=s["p"], value=s["value"], error=s["err"])

    def consumer(self, p):
        return "consumer-%d" % (p // 3)

    def _polls(self):
        for (p, o), s in sorted(self.by_offset.items()):
            self.poll_rec[(p, o)] = self.add(s["hw_t"] + 0.06, self.consumer(p), "ok", "poll",
                                             partition=p, offset=o, value=s["value"])
        for p in (1, 4):
            self.add(FAULT_T + 0.1, self.consumer(p), "info", "poll", partition=p,
                     error="Broker: Not leader for partition")

    def _lists(self):
        hw = {p: sorted(s["hw_t"] for s in self.sends if s["p"] == p and s["hw_t"] is not None)
              for p in range(NPART)}
        ident = 0
        j = 0
        while True:
            base = 0.1 + 0.2 * j
            if base >= self.end:
                break
            for p in range(NPART):
                ident += 1
                inv_t = base + 0.003 * p
                inv = self.add(inv_t, "lister", "invoke", "list", id=ident, partition=p)
                if p in (1, 4) and FAULT_T <= inv_t < DARK_END:
                    self.add(inv_t + 0.01, "lister", "info", "list", id=ident, partition=p,
                             error="Broker: Not leader or follower")
                    continue
                ok_t = inv_t + 0.01
                answer = bisect.bisect_right(hw[p], ok_t)
                ok = self.add(ok_t, "lister", "ok", "list", id=ident, partition=p, offset=answer)
                self.lists[p].append((inv, ok))
            j += 1

    def state(self, p, t):
        r = replicas(p)
        leader, epoch, isr, version = r[0], 0, list(r), 0
        if p in (1, 4) and t >= ELECT_T:
            leader, epoch, isr, version = 3, 1, [b for b in r if b != 2], 1
        elif p not in (1, 4) and t >= SHRINK_T:
            isr, version = [b for b in r if b != 2], 1
        if t >= EXPAND_T:
            isr, version = isr + [2], 2
        return {"leader": leader, "leader_epoch": epoch, "isr": isr, "version": version}

    def _zk(self):
        j = 0
        while True:
            t = 0.05 + 0.25 * j
            if t > self.end + 1.5:
                break
            controller, cepoch = (2, 1) if t < ELECT_T else (1, 2)
            brokers = [1, 3] if GONE_T <= t < BACK_T else [1, 2, 3]
            self.samples.append(self.add(
                t, "zk", "ok", "zk", controller=controller, controller_epoch=cepoch,
                brokers=brokers, replicas={str(p): replicas(p) for p in range(NPART)},
                partitions={str(p): self.state(p, t) for p in range(NPART)}))
            j += 1

    def _drain(self):
        t = self.end + 2.0
        for p in range(NPART):
            for o in range(self.next_offset[p]):
                t += 0.0005
                self.drain_rec[(p, o)] = self.add(t, "drain", "ok", "drain", partition=p, offset=o,
                                                  value=self.by_offset[(p, o)]["value"])
            t += 0.0005
            self.drain_end[p] = self.add(t, "drain", "info", "drain_end", partition=p,
                                         offset=self.next_offset[p], complete=True)

    # -- helpers for seeds

    def ok_send(self, p, o):
        s = self.by_offset[(p, o)]
        assert s["outcome"] == "ok"
        return s

    def remove(self, rec):
        n = len(self.recs)
        self.recs = [r for r in self.recs if r is not rec]
        assert len(self.recs) == n - 1

    def append_record(self, p, value, raw=None):
        """Put one more record at the end of p: polled by its consumer and drained."""
        o = self.drain_end[p]["offset"]
        extra = {"raw": raw} if raw is not None else {}
        self.add(self.end + 0.5, self.consumer(p), "ok", "poll", partition=p, offset=o,
                 value=value, **extra)
        self.add(self.drain_end[p]["t"] - 0.0001, "drain", "ok", "drain", partition=p, offset=o,
                 value=value, **extra)
        self.drain_end[p]["offset"] = o + 1
        return o

    def samples_between(self, t0, t1):
        return [z for z in self.samples if t0 <= z["t"] < t1]

    def write(self, path):
        with open(path, "w") as fh:
            for r in self.recs:
                fh.write(json.dumps(r) + "\n")


def zero_counters(**changes):
    want = {name: 0 for name in kbcheck.COUNTERS}
    want.update(changes)
    return want


_CLEAN = None


def clean_result():
    global _CLEAN
    if _CLEAN is None:
        _CLEAN = kbcheck.check(History().recs)
    return _CLEAN


# ----------------------------------------------------------------------------
# The clean history


def test_clean_history_is_valid():
    res = clean_result()
    assert res["counters"] == zero_counters()
    assert res["valid"] is True
    assert set(res["counters"]) == set(kbcheck.COUNTERS)
    assert all(ex == [] for ex in res["examples"].values())
    st = res["stats"]
    # the builder's history really exercises the interesting shapes
    assert st["send_invoked"] > 300
    assert st["send_fail"] >= 2 and st["send_info"] >= 2
    assert st["acks_during_faults"] > 20
    assert st["fault_times"] == [FAULT_T] and st["heal_times"] == [HEAL_T]
    assert 0 < st["first_ack_after_heal_s"] < 0.5
    assert st["full_isr_after_heal_s"] == pytest.approx(EXPAND_T + 0.05 - HEAL_T)
    assert st["consumer_errors"] == 2
    assert st["liveness_checked"] is True
    assert res["test"] == "R0" and res["seed"] == 7


def test_clean_history_in_any_file_order():
    h = History()
    random.Random(3).shuffle(h.recs)
    res = kbcheck.check(h.recs)
    assert res["counters"] == zero_counters()
    assert res["stats"]["acks_during_faults"] == clean_result()["stats"]["acks_during_faults"]


# ----------------------------------------------------------------------------
# Seeded anomalies: one per test, exact counts


SEEDS = {}
ZK_RULE_OF = {}


def seed(name, zk_rule=None, **expected):
    def register(fn):
        SEEDS[name] = (fn, expected)
        if zk_rule:
            ZK_RULE_OF[name] = zk_rule
        return fn
    return register


@seed("lost_write_polled", acked_lost=1, drain_gap=1)
def _lost_polled(h, tmp):
    # a consumer saw it while tailing; the drain no longer finds it
    h.ok_send(0, 10)
    h.remove(h.drain_rec[(0, 10)])


@seed("lost_write_never_read", acked_lost=1, unseen=1, drain_gap=1)
def _lost_never_read(h, tmp):
    h.ok_send(0, 10)
    h.remove(h.drain_rec[(0, 10)])
    h.remove(h.poll_rec[(0, 10)])


@seed("lost_write_truncated", acked_lost=1, unseen=1, inconsistent_offset=1)
def _lost_truncated(h, tmp):
    # the acked record at p0@10 was truncated and another (timed-out) send's
    # record took its offset: lost, never read, and p0@10 carries 2 values
    s = h.ok_send(0, 10)
    other = h.next_value + 50
    h.add(s["inv_t"] + 0.002, "producer", "invoke", "send", partition=0, value=other)
    h.add(s["inv_t"] + 1.0, "producer", "info", "send", partition=0, value=other,
          error="Local: Message timed out")
    h.poll_rec[(0, 10)]["value"] = other
    h.drain_rec[(0, 10)]["value"] = other


def written_indeterminate(h):
    """The send whose answer was lost although the new leader wrote it."""
    return next(s for s in h.sends if s["outcome"] == "info" and s["offset"] is not None)


@seed("drain_gap", drain_gap=1)
def _drain_gap(h, tmp):
    # an indeterminate record nobody polled is missing below the drain's end
    s = written_indeterminate(h)
    h.remove(h.drain_rec[(s["p"], s["offset"])])
    h.remove(h.poll_rec[(s["p"], s["offset"])])


@seed("read_lost", read_lost=1, drain_gap=1)
def _read_lost(h, tmp):
    # a tailer read it (it was committed), the drain no longer finds it
    s = written_indeterminate(h)
    h.remove(h.drain_rec[(s["p"], s["offset"])])


@seed("drain_error", drain_error=1)
def _drain_error(h, tmp):
    h.add(h.end + 1.5, "drain", "fail", "drain", partition=3, error="Local: Bad message format")


@seed("producer_fatal", producer_fatal=1)
def _producer_fatal(h, tmp):
    h.add(20.0, "producer", "info", "producer_fatal", error="OUT_OF_ORDER_SEQUENCE_NUMBER")


@seed("unresolved_sends", unresolved_sends=1)
def _unresolved(h, tmp):
    h.add(h.end - 0.1, "producer", "invoke", "send", partition=2, value=h.next_value + 70)


@seed("unseen", unseen=1, acked_lost=1)
def _unseen(h, tmp):
    # acked at the next offset after every list ran, then never read; the
    # drain read the whole log (complete) without it: lost above its end
    p, o = 0, h.drain_end[0]["offset"]
    v = h.next_value + 60
    h.add(h.end + 0.2, "producer", "invoke", "send", partition=p, value=v)
    h.add(h.end + 0.23, "producer", "ok", "send", partition=p, value=v, offset=o)


@seed("duplicate", duplicate=1)
def _duplicate(h, tmp):
    s = h.ok_send(2, 20)
    h.append_record(2, s["value"])


@seed("inconsistent_offset_ack", inconsistent_offset=1)
def _inconsistent_ack(h, tmp):
    # a pair on p0: b was invoked before a was acked; b's ack claims a's offset
    a, b = h.ok_send(0, 10), h.ok_send(0, 11)
    assert b["inv_t"] < a["done_t"]
    b["done"]["offset"] = 10


@seed("inconsistent_offset_ack_beyond_log", inconsistent_offset=1)
def _inconsistent_beyond(h, tmp):
    # a late send is read at the end of p0 but its ack claims an offset the log never reached
    v = h.next_value + 70
    o = h.append_record(0, v)
    h.add(h.end + 0.2, "producer", "invoke", "send", partition=0, value=v)
    h.add(h.end + 0.23, "producer", "ok", "send", partition=0, value=v, offset=o + 5)


@seed("inconsistent_offset_reads", inconsistent_offset=1)
def _inconsistent_reads(h, tmp):
    # the drain reads p0@10 with the value of a timed-out send that the
    # consumer never saw: two values at one offset (and nothing else)
    other = h.next_value + 80
    s = h.ok_send(0, 10)
    h.add(s["inv_t"] + 0.002, "producer", "invoke", "send", partition=0, value=other)
    h.add(s["inv_t"] + 1.0, "producer", "info", "send", partition=0, value=other,
          error="Local: Message timed out")
    h.add(h.drain_rec[(0, 10)]["t"] + 0.0001, "drain", "ok", "drain", partition=0, offset=10,
          value=other)


@seed("realtime_order", realtime_order=1)
def _realtime(h, tmp):
    # u (p0@11) was acked before v (p0@12) was invoked, yet the log holds v at 11, u at 12
    u, v = h.ok_send(0, 11), h.ok_send(0, 12)
    assert u["done_t"] < v["inv_t"]
    u["done"]["offset"], v["done"]["offset"] = 12, 11
    for o, s in ((11, v), (12, u)):
        h.poll_rec[(0, o)]["value"] = s["value"]
        h.drain_rec[(0, o)]["value"] = s["value"]
    # the high watermark after u's ack is 13 in that world
    n = 0
    for inv, ok in h.lists[0]:
        if u["done_t"] <= inv["t"] < v["done_t"]:
            ok["offset"] = max(ok["offset"], 13)
            n += 1
    assert n > 0


@seed("realtime_order_equal_offset", realtime_order=1, inconsistent_offset=1)
def _realtime_equal(h, tmp):
    # v, invoked after u (p0@11) was acked, is acked at 11 as well (and read
    # at 12): a realtime violation, and p0@11 is claimed by two values
    u, v = h.ok_send(0, 11), h.ok_send(0, 12)
    assert u["done_t"] < v["inv_t"]
    v["done"]["offset"] = 11


@seed("phantom", phantom=1)
def _phantom(h, tmp):
    h.append_record(3, 987654321)


@seed("phantom_unparseable", phantom=1)
def _phantom_null(h, tmp):
    h.append_record(3, None, raw="\\x00garbage")


@seed("failed_visible", failed_visible=1)
def _failed_visible(h, tmp):
    s = h.ok_send(4, 15)
    done = s["done"]
    del done["offset"]
    done["type"] = "fail"
    done["error"] = "Broker: Message size too large"


@seed("poll_skip", poll_skip=1)
def _poll_skip(h, tmp):
    h.remove(h.poll_rec[(0, 10)])


@seed("poll_nonmonotonic", poll_nonmonotonic=1)
def _poll_nonmonotonic(h, tmp):
    again = dict(h.poll_rec[(0, 10)])
    again["t"] = round(again["t"] + 0.001, 6)
    assert again["t"] < h.poll_rec[(0, 11)]["t"]
    h.recs.append(again)


def highest_acked_before(h, p, t):
    return max((s["offset"] for s in h.sends
                if s["p"] == p and s["outcome"] == "ok" and s["done_t"] < t), default=None)


@seed("hw_regression", hw_regression=1)
def _hw_regression(h, tmp):
    inv, ok = next((i, o) for i, o in h.lists[3] if i["t"] > 5.0)
    ok["offset"] = highest_acked_before(h, 3, inv["t"])   # one below the minimum


@seed("zk_leader_not_in_isr", zk_rule="leader_not_in_isr", zk_invariant=1)
def _zk_leader_not_in_isr(h, tmp):
    zs = h.samples_between(20.0, 22.0)
    assert len(zs) == 8
    for z in zs:      # the same bad state seen by 8 samples counts once
        z["partitions"]["0"]["isr"] = [2, 3]


@seed("zk_empty_isr_with_leader", zk_rule="empty_isr_with_leader", zk_invariant=1)
def _zk_empty_isr(h, tmp):
    h.samples_between(20.0, 20.25)[0]["partitions"]["0"]["isr"] = []


@seed("zk_isr_not_in_replicas", zk_rule="isr_not_in_replicas", zk_invariant=1)
def _zk_isr_not_in_replicas(h, tmp):
    for z in h.samples_between(20.0, 21.0):
        z["partitions"]["2"]["isr"] = [3, 1, 2, 4]


@seed("zk_leader_epoch_decrease", zk_rule="leader_epoch_decrease", zk_invariant=1)
def _zk_leader_epoch(h, tmp):
    for z in h.samples_between(20.0, 22.0):
        assert z["partitions"]["1"]["leader_epoch"] == 1
        z["partitions"]["1"]["leader_epoch"] = 0


@seed("zk_controller_epoch_decrease", zk_rule="controller_epoch_decrease", zk_invariant=1)
def _zk_controller_epoch(h, tmp):
    for z in h.samples_between(20.0, 22.0):
        z["controller_epoch"] = 1


@seed("zk_unclean_leader", zk_rule="unclean_leader", zk_invariant=1)
def _zk_unclean(h, tmp):
    # before the failover p1's ISR was [2, 1]; the new leader 3 was not in it
    n = 0
    for z in h.samples:
        st = z["partitions"]["1"]
        if st["version"] == 0:
            st["isr"] = [2, 1]
            n += 1
    assert n > 10


@seed("min_isr_violation", min_isr_violation=1)
def _min_isr(h, tmp):
    # ISR of p3 is only its leader from the last sample before the invoke
    # to the first sample after the ack of one send (sends to p3 are 0.25 s apart)
    s = next(s for s in h.sends if s["p"] == 3 and s["outcome"] == "ok" and s["inv_t"] > 5.0)
    before = [z for z in h.samples if z["t"] <= s["inv_t"]][-1]
    after = [z for z in h.samples if z["t"] >= s["done_t"]][0]
    for z in h.samples_between(before["t"], after["t"] + 0.001):
        z["partitions"]["3"]["isr"] = [1]


@seed("min_isr_violation_after_the_shrink", min_isr_violation=1)
def _min_isr_after_shrink(h, tmp):
    # one send to p3 invoked while the ISR was full, acknowledged 2 s after
    # ZooKeeper showed the ISR shrunk to the leader alone (the record waited
    # for followers that had gone, and must have failed, not succeeded); the
    # other sends to p3 answered in that window timed out
    s = next(s for s in h.sends if s["p"] == 3 and s["outcome"] == "ok" and s["inv_t"] > 5.0)
    s["done"]["t"] = round(s["inv_t"] + 3.0, 6)
    shrink_t = s["inv_t"] + 1.0
    after = [z for z in h.samples if z["t"] >= s["done"]["t"]][0]
    for z in h.samples_between(shrink_t, after["t"] + 0.001):
        z["partitions"]["3"]["isr"] = [1]
    for o in h.sends:
        if o is not s and o["p"] == 3 and o["outcome"] == "ok" and shrink_t <= o["done_t"] <= after["t"]:
            o["done"].update(type="info", error="Local: Message timed out")
            del o["done"]["offset"]


@seed("drain_incomplete", drain_incomplete=1)
def _drain_incomplete(h, tmp):
    h.drain_end[5]["complete"] = False


@seed("drain_end_missing", drain_incomplete=1)
def _drain_end_missing(h, tmp):
    h.remove(h.drain_end[5])


def _log(tmp, name, lines):
    path = str(tmp / name)
    with open(path, "w") as fh:
        fh.write("[2024-05-01 10:00:00] broker 2 starting\n")
        fh.write("[2024-05-01 10:00:01] partition jr-1 leader epoch 2\n")
        fh.writelines(line + "\n" for line in lines)
        fh.write("[2024-05-01 10:00:09] shutting down\n")
    return {"log_paths": [str(tmp / "clean.log"), path]}


def _clean_log(tmp):
    with open(str(tmp / "clean.log"), "w") as fh:
        fh.write("[2024-05-01 10:00:00] broker 1 starting\nno errors here: runtime ok\n")


@seed("crash_asan_line", crash=1)
def _crash_asan(h, tmp):
    _clean_log(tmp)
    return _log(tmp, "b2.log", ["==4242==ERROR: AddressSanitizer: heap-use-after-free on "
                                "address 0x602000000010 at pc 0x55d1 bp 0x7ffc sp 0x7ffc"])


@seed("crash_asan_report", crash=2)
def _crash_asan_report(h, tmp):
    # a whole report: the ERROR line and the SUMMARY line each count
    _clean_log(tmp)
    return _log(tmp, "b2.log", [
        "==4242==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6020",
        "READ of size 4 at 0x6020 thread T0",
        "    #0 0x55d1 in kb_log_append broker/log.c:311",
        "SUMMARY: AddressSanitizer: heap-buffer-overflow broker/log.c:311 in kb_log_append"])


@seed("crash_ubsan_line", crash=1)
def _crash_ubsan(h, tmp):
    _clean_log(tmp)
    return _log(tmp, "b3.log", ["broker/fetch.c:88:17: runtime error: signed integer "
                                "overflow: 2147483647 + 1 cannot be represented in type 'int'"])


@seed("crash_assertion", crash=1)
def _crash_assert(h, tmp):
    _clean_log(tmp)
    return _log(tmp, "b1.log", ["kbroker: broker/isr.c:120: kb_isr_shrink: Assertion "
                                "`isr->n > 0' failed."])


@seed("crash_unexpected_exit", crash=1)
def _crash_exit(h, tmp):
    ex = [r for r in h.recs if r["f"] == "exit" and r["value"] == "broker-3"]
    assert len(ex) == 1
    ex[0]["rc"] = -6
    ex[0]["expected"] = False


@seed("no_ack_after_heal", no_ack_after_heal=1)
def _no_ack(h, tmp):
    n = 0
    for s in h.sends:
        if s["outcome"] == "ok" and s["done_t"] > HEAL_T:
            s["done"]["type"] = "info"
            s["done"]["error"] = "Local: Message timed out"
            del s["done"]["offset"]
            n += 1
    assert n > 100


@seed("late_ack_after_heal", no_ack_after_heal=1)
def _late_ack(h, tmp):
    for s in h.sends:
        if s["outcome"] == "ok" and HEAL_T < s["done_t"] <= HEAL_T + 16.0:
            s["done"]["type"] = "info"
            s["done"]["error"] = "Local: Message timed out"
            del s["done"]["offset"]
    assert any(s["done_t"] > HEAL_T + 16.0 for s in h.sends)


@seed("no_full_isr_after_heal", no_full_isr_after_heal=1)
def _no_full_isr(h, tmp):
    # p5 never gets broker 2 back into its ISR
    for z in h.samples:
        st = z["partitions"]["5"]
        if st["version"] == 2:
            st["isr"] = [3, 1]
            st["version"] = 1


@seed("no_list_after_heal", no_list_after_heal=1)
def _no_list(h, tmp):
    # p2's leader refuses ListOffsets for good after the heal
    for inv, ok in h.lists[2]:
        if ok["t"] > HEAL_T:
            ok.update(type="fail", error="error 5")
            del ok["offset"]


@seed("unhealed_fault", no_ack_after_heal=1, no_full_isr_after_heal=1, no_list_after_heal=1)
def _unhealed(h, tmp):
    h.add(h.end - 1.0, "nemesis", "info", "fault", value="SIGSTOP broker 3")


@seed("zk_isr_duplicate", zk_rule="isr_duplicate", zk_invariant=1)
def _zk_isr_duplicate(h, tmp):
    for z in h.samples_between(20.0, 21.0):   # one state seen by 4 samples counts once
        z["partitions"]["1"]["isr"] = [3, 3, 1]


@seed("acked_in_another_partition", inconsistent_offset=1)
def _wrong_partition(h, tmp):
    # a send acked on p0 whose record sits in p3 (kcat acks have no offset:
    # only the partition tells)
    s = next(s for s in h.sends if s["p"] == 0 and s["outcome"] == "ok" and s["inv_t"] > 5.0)
    s["done"]["offset"] = -1
    for rec in (h.poll_rec[(0, s["offset"])], h.drain_rec[(0, s["offset"])]):
        rec["value"] = h.next_value + 90
    h.add(s["inv_t"] - 0.01, "producer", "invoke", "send", partition=0, value=h.next_value + 90)
    h.add(s["inv_t"] + 0.5, "producer", "info", "send", partition=0, value=h.next_value + 90,
          error="Local: Message timed out")
    o = h.drain_end[3]["offset"]
    h.drain_end[3]["offset"] = o + 1
    h.add(h.end + 1.6, "drain", "ok", "drain", partition=3, offset=o, value=s["value"])


@seed("hw_answer_going_back", hw_regression=1)
def _hw_back(h, tmp):
    # two answers above every ack, the later one lower than the earlier
    (i1, o1), (i2, o2) = h.lists[4][-2:]          # the last two of p4: nothing follows
    o1["offset"] += 5
    o2["offset"] = o1["offset"] - 1


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seeded_anomaly(name, tmp_path):
    fn, expected = SEEDS[name]
    h = History()
    kwargs = fn(h, tmp_path) or {}
    res = kbcheck.check(h.recs, **kwargs)
    assert res["counters"] == zero_counters(**expected), kbcheck.report(res)
    assert res["valid"] is False
    for counter, n in expected.items():
        assert len(res["examples"][counter]) == min(n, kbcheck.MAX_EXAMPLES)
    rule = ZK_RULE_OF.get(name)
    if rule:
        by_rule = res["stats"]["zk_invariant_by_rule"]
        assert by_rule == dict({r: 0 for r in by_rule}, **{rule: 1})
        assert res["examples"]["zk_invariant"][0].startswith(rule + ":")


def test_every_counter_has_a_seed():
    seeded = set()
    for fn, expected in SEEDS.values():
        seeded.update(expected)
    assert seeded == set(kbcheck.COUNTERS)
    assert set(ZK_RULE_OF.values()) == set(kbcheck.ZK_RULES)


# ----------------------------------------------------------------------------
# librdkafka's own sequence bug (kbcheck.LIBRDKAFKA_DESYNC)

# The line librdkafka 2.0.2 wrote in a run of R5 (the cut leader lost its
# leadership meanwhile): sequence 417's request timed out, 418 went first
# to the new leader, whose log ended at 416.
DESYNC = ('KafkaException(KafkaError{FATAL,code=OUT_OF_ORDER_SEQUENCE_NUMBER,val=45,str="ProduceRequest '
          'for jr [0] with 1 message(s) failed due to sequence desynchronization with broker 2 '
          '(PID{Id:0,Epoch:0}, base seq 418, idemp state change 23162ms ago, last partition error '
          '_TIMED_OUT (actions Retry,MsgPossiblyPersisted, base seq 417..417, base msgid 418, 0ms ago)"})')


def write_replica(root, broker, sequences, topic="jr", partition=0, pid=0, epoch=0):
    """broker's log of topic-partition: one idempotent batch per (first,
    last) sequence range of producer pid/epoch, with a batch of another
    producer between."""
    d = root / f"data-broker-{broker}" / f"{topic}-{partition}"
    d.mkdir(parents=True)
    data, offset = b"", 0
    for first, last in sequences:
        n = last - first + 1
        data += kafkawire.build_batch([(None, b"%d" % v) for v in range(n)], base_offset=offset,
                                      producer_id=pid, producer_epoch=epoch, base_sequence=first)
        data += kafkawire.build_batch([(None, b"x")], base_offset=offset + n, producer_id=pid + 7,
                                      producer_epoch=epoch, base_sequence=last)
        offset += n + 1
    (d / "00000000000000000000.log").write_bytes(data)
    return root / f"data-broker-{broker}"


def desync_check(tmp_path, holds_417=(), version="2.0.2", error=DESYNC, dirs=True):
    """The clean history with DESYNC's producer_fatal line, checked against
    three replicas of jr-0 ending at sequence 416 (brokers in holds_417 have
    417 too)."""
    h = History()
    h.add(20.0, "producer", "info", "producer_fatal", error=error, librdkafka=version)
    data = [write_replica(tmp_path, b, [(0, 99), (100, 416)] + ([(417, 417)] if b in holds_417 else []))
            for b in (1, 2, 3)]
    return kbcheck.check(h.recs, data_dirs=data if dirs else ())


def test_librdkafka_desync_proven_by_the_logs_is_a_client_bug_not_an_anomaly(tmp_path):
    res = desync_check(tmp_path)
    assert res["valid"], kbcheck.report(res)
    assert res["stats"]["client_bugs"] == [
        "t=20.000 librdkafka 2.0.2: jr [0] PID 0 epoch 0 sequence 418 refused after 417, which no replica "
        "holds (librdkafka issue 4438)"]
    assert "client bug, not counted: t=20.000 librdkafka 2.0.2" in kbcheck.report(res)


@pytest.mark.parametrize("case", ["a replica holds 417", "librdkafka 2.3.0", "no data directories",
                                  "the failed batch was not possibly persisted", "a gap before the failed batch"])
def test_librdkafka_desync_the_logs_do_not_prove_is_producer_fatal(tmp_path, case):
    kw = {"a replica holds 417": dict(holds_417=(3,)),
          "librdkafka 2.3.0": dict(version="2.3.0"),
          "no data directories": dict(dirs=False),
          "the failed batch was not possibly persisted": dict(
              error=DESYNC.replace("_TIMED_OUT (actions Retry,MsgPossiblyPersisted",
                                   "NOT_ENOUGH_REPLICAS (actions Retry,MsgNotPersisted")),
          "a gap before the failed batch": dict(error=DESYNC.replace("base seq 417..417", "base seq 416..416")),
          }[case]
    res = desync_check(tmp_path, **kw)
    assert res["counters"] == zero_counters(producer_fatal=1), kbcheck.report(res)
    assert res["stats"]["client_bugs"] == []


# ----------------------------------------------------------------------------
# Settings and boundaries


def test_unclean_leader_allowed_when_unclean_election_is_on():
    h = History(unclean=True)
    _zk_unclean(h, None)
    assert kbcheck.check(h.recs)["counters"] == zero_counters()


def test_unclean_rule_needs_consecutive_versions():
    # the state between was not sampled (version jumps by 2): nothing is known
    h = History()
    _zk_unclean(h, None)
    for z in h.samples:
        st = z["partitions"]["1"]
        if st["version"] >= 1:
            st["version"] += 1
    assert kbcheck.check(h.recs)["counters"] == zero_counters()


def test_min_isr_not_checked_without_acks_all():
    h = History(acks="1")
    _min_isr(h, None)
    assert kbcheck.check(h.recs)["counters"] == zero_counters()


def test_hw_not_checked_without_acks_all():
    # with acks=1 the leader acknowledges before the high watermark passes
    h = History(acks="1")
    _hw_regression(h, None)
    assert kbcheck.check(h.recs)["counters"] == zero_counters()


def test_min_isr_chain_broken_by_one_full_sample():
    h = History()
    _min_isr(h, None)
    low = [z for z in h.samples if z["partitions"]["3"]["isr"] == [1]]
    assert len(low) >= 2
    low[-1]["partitions"]["3"]["isr"] = [1, 3]
    assert kbcheck.check(h.recs)["counters"] == zero_counters()


def test_hw_at_exactly_the_acked_minimum_is_fine():
    h = History()
    inv, ok = next((i, o) for i, o in h.lists[3] if i["t"] > 5.0)
    ok["offset"] = highest_acked_before(h, 3, inv["t"]) + 1
    assert kbcheck.check(h.recs)["counters"] == zero_counters()


def test_liveness_limits_are_arguments():
    recs = History().recs
    res = kbcheck.check(recs, ack_within=0.0001, isr_within=1.0, list_within=0.0001)
    assert res["counters"] == zero_counters(no_ack_after_heal=1, no_full_isr_after_heal=1,
                                            no_list_after_heal=NPART)
    res = kbcheck.check(recs, ack_within=1.0, isr_within=3.1, list_within=1.0)
    assert res["counters"] == zero_counters()


def test_final_heal_is_the_last_heal():
    # an earlier fault/heal pair (broker 3 paused 1 s) changes the fault
    # windows, not the liveness reference
    h = History()
    h.add(3.0, "nemesis", "info", "fault", value="pause broker 3")
    h.add(4.0, "nemesis", "info", "heal", value="resume broker 3")
    res = kbcheck.check(h.recs)
    assert res["counters"] == zero_counters()
    st = res["stats"]
    assert st["final_heal_t"] == HEAL_T
    assert st["full_isr_after_heal_s"] == pytest.approx(EXPAND_T + 0.05 - HEAL_T)
    assert st["fault_times"] == [3.0, FAULT_T] and st["heal_times"] == [4.0, HEAL_T]
    extra = sum(1 for s in h.sends if s["outcome"] == "ok" and 3.0 <= s["done_t"] < 4.0)
    assert extra > 0
    assert st["acks_during_faults"] == clean_result()["stats"]["acks_during_faults"] + extra


def test_no_heal_means_no_liveness_check():
    h = History()
    _no_ack(h, None)
    _no_full_isr(h, None)
    h.recs = [r for r in h.recs if r["f"] not in ("heal", "fault")]
    res = kbcheck.check(h.recs)
    assert res["counters"] == zero_counters()
    assert res["stats"]["liveness_checked"] is False
    assert res["stats"]["first_ack_after_heal_s"] is None


def test_indeterminate_sends_may_or_may_not_appear():
    st = clean_result()["stats"]
    h = History()
    written = [s for s in h.sends if s["outcome"] == "info" and s["offset"] is not None]
    unwritten = [s for s in h.sends if s["outcome"] == "info" and s["offset"] is None]
    assert written and unwritten and st["send_info"] == len(written) + len(unwritten)


# ----------------------------------------------------------------------------
# Input handling, output, CLI, speed


def test_load_names_the_bad_line(tmp_path):
    h = History()
    path = tmp_path / "h.jsonl"
    h.write(str(path))
    lines = path.read_text().splitlines()
    assert kbcheck.load(str(path)) == json.loads("[" + ",".join(lines) + "]")
    lines[41] = lines[41][:-3]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(kbcheck.HistoryError, match=r"h\.jsonl:42: bad JSON"):
        kbcheck.load(str(path))
    rec = json.loads(lines[40])
    del rec["t"]
    lines[41] = json.dumps(rec)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(kbcheck.HistoryError, match=r"h\.jsonl:42: missing key 't'"):
        kbcheck.load(str(path))


def test_check_rejects_missing_fields_and_meta():
    h = History()
    ok = next(r for r in h.recs if r["f"] == "send" and r["type"] == "ok")
    del ok["offset"]
    with pytest.raises(kbcheck.HistoryError, match="missing key 'offset'"):
        kbcheck.check(h.recs)
    with pytest.raises(kbcheck.HistoryError, match="exactly one meta"):
        kbcheck.check([r for r in History().recs if r["f"] != "meta"])


def test_summary_line_and_report():
    res = clean_result()
    line = kbcheck.summary_line(res)
    assert "\n" not in line
    assert line.startswith("R0 valid ")
    for name in kbcheck.COUNTERS:
        assert " %s=0" % name in line
    assert "first_ack_after_heal=" in line and "full_isr_after_heal=3.1s" in line
    assert "faults=1" in line
    h = History()
    _poll_skip(h, None)
    bad = kbcheck.check(h.recs)
    text = kbcheck.report(bad)
    assert "INVALID" in text and "poll_skip=1" in kbcheck.summary_line(bad)
    assert "consumer-0 p0: offset 11" in text


def run_cli(*args):
    return subprocess.run([PYTHON, os.path.join(HERE, "kbcheck.py")] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def test_cli_exit_codes(tmp_path):
    clean = tmp_path / "clean.jsonl"
    History().write(str(clean))
    out = tmp_path / "r.json"
    p = run_cli(str(clean), "--json", str(out))
    assert p.returncode == 0, p.stderr
    assert "R0 valid" in p.stdout
    assert json.loads(out.read_text())["counters"] == zero_counters()

    seeded = tmp_path / "seeded.jsonl"
    h = History()
    _lost_polled(h, None)
    h.write(str(seeded))
    p = run_cli(str(seeded))
    assert p.returncode == 1
    assert "acked_lost=1" in p.stdout

    logs = _crash_asan(History(), tmp_path)["log_paths"]
    p = run_cli(str(clean), "--logs", *logs)
    assert p.returncode == 1 and "crash=1" in p.stdout

    p = run_cli(str(clean), "--isr-within", "1", "--ack-within", "15")
    assert p.returncode == 1 and "no_full_isr_after_heal=1" in p.stdout

    bad = tmp_path / "bad.jsonl"
    bad.write_text(clean.read_text() + '{"t": 99, "proc": "producer", "type": "ok"\n')
    p = run_cli(str(bad))
    assert p.returncode == 2 and "bad.jsonl:" in p.stderr

    assert run_cli(str(tmp_path / "absent.jsonl")).returncode == 2
    assert run_cli(str(clean), "--logs", str(tmp_path / "absent.log")).returncode == 2
    assert run_cli().returncode == 2
    assert run_cli(str(clean), "--ack-within", "soon").returncode == 2


def test_100k_records_in_well_under_5_s():
    h = History(end=640.0)
    assert len(h.recs) >= 100000
    t0 = time.monotonic()
    res = kbcheck.check(h.recs)
    took = time.monotonic() - t0
    assert res["counters"] == zero_counters()
    assert took < 5.0, took
