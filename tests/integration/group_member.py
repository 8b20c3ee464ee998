"""
group_member.py - one confluent-kafka consumer-group member in a process of
its own, for the consumer-group scenarios (test_zj_consumer_groups.py).

A real deployment runs each consumer in its own process: killing one must
not touch the others, and closing one must be the library's own close().
The test starts this script with /usr/bin/python3 and one JSON argument:

  {"bootstrap": ..., "group": ..., "topic": ..., "partitions": N,
   "client_id": ..., "conf": {extra librdkafka settings}}

It subscribes to the topic and reports on stdout, one JSON object a line:

  {"ev": "assigned", "partitions": [...]}    on_assign (eager: the whole set)
  {"ev": "revoked", "partitions": [...]}     on_revoke
  {"ev": "records", "recs": [[p, o, value], ...]}   a batch, before its commit
  {"ev": "committed", "offsets": {p: next offset}}  its synchronous commit returned
  {"ev": "commit_retry", "error": ...}       a transient commit error; sent again
  {"ev": "commit_failed", "error": ..., "offsets": {...}}   a commit that failed for good
  {"ev": "committed_query", "offsets": {p: offset}}  answer to "committed"
  {"ev": "error", "error": ...}              an error consume() returned
  {"ev": "closed"}                           close() returned

Every batch is committed synchronously before the next is read, so a
record is reported consumed and then committed; a transient commit error
(the coordinator moving, say) is retried with the same offsets until it
succeeds.  Commands on stdin, one a line: "close" (Consumer.close(),
which for a dynamic member sends LeaveGroup), "committed"
(Consumer.committed() for every partition of the topic).  End of stdin
means close.
"""
import json
import queue
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

COMMIT_RETRY_S = 120
# Errors that say the coordinator is moving or unreachable, not that the
# member lost its partitions: the same commit is sent again.  (A commit's
# KafkaError rarely has retriable() set, so they are named here.)
TRANSIENT = {KafkaError._TRANSPORT, KafkaError._WAIT_COORD, KafkaError._TIMED_OUT, KafkaError._ALL_BROKERS_DOWN,
             KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE,
             KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.REQUEST_TIMED_OUT}


def say(**event):
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def read_commands(commands):
    for line in sys.stdin:
        if line.strip():
            commands.put(line.strip())
    commands.put("close")


def commit(consumer, topic, offsets):
    """Commits {partition: next offset} synchronously, retrying retriable
    errors; reports the outcome."""
    tps = [TopicPartition(topic, p, o) for p, o in sorted(offsets.items())]
    deadline = time.monotonic() + COMMIT_RETRY_S
    while True:
        try:
            for tp in consumer.commit(offsets=tps, asynchronous=False):
                if tp.error is not None:
                    raise KafkaException(tp.error)
            say(ev="committed", offsets=offsets)
            return
        except KafkaException as e:
            err = e.args[0]
            if not (err.retriable() or err.code() in TRANSIENT) or time.monotonic() > deadline:
                say(ev="commit_failed", error=str(err), offsets=offsets)
                return
            say(ev="commit_retry", error=str(err))
            time.sleep(0.2)


def committed(consumer, topic, partitions):
    got = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
    say(ev="committed_query", offsets={tp.partition: tp.offset for tp in got})


def main():
    cfg = json.loads(sys.argv[1])
    topic = cfg["topic"]
    conf = {"bootstrap.servers": cfg["bootstrap"], "group.id": cfg["group"], "client.id": cfg["client_id"],
            "enable.auto.commit": False, "auto.offset.reset": "earliest"}
    conf.update(cfg.get("conf", {}))
    consumer = Consumer(conf)
    consumer.subscribe([topic],
                       on_assign=lambda c, ps: say(ev="assigned", partitions=sorted(tp.partition for tp in ps)),
                       on_revoke=lambda c, ps: say(ev="revoked", partitions=sorted(tp.partition for tp in ps)))
    commands = queue.Queue()
    threading.Thread(target=read_commands, args=(commands,), daemon=True).start()
    while True:
        try:
            command = commands.get_nowait()
        except queue.Empty:
            command = None
        if command == "close":
            break
        if command == "committed":
            committed(consumer, topic, cfg["partitions"])
        batch = []
        for m in consumer.consume(num_messages=1000, timeout=0.2):
            if m.error() is None:
                batch.append(m)
            else:
                say(ev="error", error=str(m.error()))
        if batch:
            say(ev="records", recs=[[m.partition(), m.offset(), m.value().decode()] for m in batch])
            ends = {}
            for m in batch:
                ends[m.partition()] = max(ends.get(m.partition(), 0), m.offset() + 1)
            commit(consumer, topic, ends)
    consumer.close()
    say(ev="closed")


if __name__ == "__main__":
    main()
