"""
delete_load.py - a confluent-kafka producer and consumer on one topic, in a
process of its own, for the topic deletion scenario
(test_zn_delete_topics.py).

librdkafka 2.0's consumer can hang in close() (rd_kafka_destroy) when its
topic was deleted under it (confluent-kafka-python issue 1573, librdkafka
issue 4362), so the clients live here and the test ends this process by
PID instead of closing them in its own.  The test starts it with
/usr/bin/python3 and one JSON argument {"bootstrap": ..., "topic": ...,
"partitions": N}; it reports on stdout, one JSON object a line:

  {"ev": "counts", "produced": n, "consumed": n}   every 100 ms
  {"ev": "error", "who": "producer" | "consumer", "code": KafkaError code,
   "name": KafkaError name, "text": str}

Producer errors are delivery reports and produce() refusals; consumer
errors are what poll() returns and the client's error callback.  The
producer writes continuously (acks=all, message.timeout.ms 15 s, a topic
missing from Metadata for 3 s counts as deleted); the
consumer reads every partition from offset 0 (assign, no commits).
"""
import json
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

lock = threading.Lock()
counts = {"produced": 0, "consumed": 0}


def say(**event):
    with lock:
        sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
        sys.stdout.flush()


def report(who, err):
    say(ev="error", who=who, code=err.code(), name=err.name(), text=str(err))


def on_delivery(err, msg):
    if err is None:
        counts["produced"] += 1
    else:
        report("producer", err)


def produce(producer, topic):
    i = 0
    while True:
        try:
            producer.produce(topic, value=b"v%d" % i, on_delivery=on_delivery)
            i += 1
        except BufferError:
            pass
        except KafkaException as e:  # refused at once: the topic is known not to exist
            report("producer", e.args[0])
            time.sleep(0.1)
        producer.poll(0.01)


def consume(consumer):
    while True:
        m = consumer.poll(0.2)
        if m is None:
            continue
        if m.error():
            report("consumer", m.error())
        else:
            counts["consumed"] += 1


def main():
    cfg = json.loads(sys.argv[1])
    common = {"bootstrap.servers": cfg["bootstrap"], "topic.metadata.refresh.interval.ms": 1000}
    # topic.metadata.propagation.max.ms: how long librdkafka still believes
    # in a topic Metadata no longer lists (30 s by default) before it fails
    # its records UNKNOWN_TOPIC_OR_PART.
    producer = Producer({**common, "linger.ms": 5, "acks": "all", "message.timeout.ms": 15000,
                         "topic.metadata.propagation.max.ms": 3000, "error_cb": lambda e: report("producer", e)})
    consumer = Consumer({**common, "group.id": cfg["topic"] + "-readers", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "error_cb": lambda e: report("consumer", e)})
    consumer.assign([TopicPartition(cfg["topic"], p, 0) for p in range(cfg["partitions"])])
    threading.Thread(target=produce, args=(producer, cfg["topic"]), daemon=True).start()
    threading.Thread(target=consume, args=(consumer,), daemon=True).start()
    while True:
        say(ev="counts", **counts)
        time.sleep(0.1)


if __name__ == "__main__":
    main()
