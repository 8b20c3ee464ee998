#!/usr/bin/python3
"""
capture.py - records the seed corpora of tests/fuzz from real clients.

Starts a ZooKeeper and one kbroker (the integration harness's), puts a
small TCP proxy in front of the broker (the broker advertises the proxy's
port, so every connection of every client passes through it), and runs
kcat, confluent-kafka (librdkafka) and kafka-python against it: metadata,
topic creation, adding partitions, produce with each codec and with the idempotent producer,
consume in a group, offsets by time, configs.  Each request frame the
clients send is written, without its size prefix, to
corpus/fuzz_<api>/<client>-<api>-v<version>-<hash>, and to corpus/fuzz_header
(with the byte fuzz_header reads first); each produced batch goes to
corpus/fuzz_batch and its payload to corpus/fuzz_codec.  After a clean
shutdown the znodes the broker wrote seed fuzz_kc_json and its checkpoint
files fuzz_checkpoint.

    KBROKER_BIN=build/kbroker /usr/bin/python3 tests/fuzz/capture.py

The seeds are committed; run this again only to refresh them.
"""
import hashlib
import os
import socket
import struct
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
import kbharness  # noqa: E402

CORPUS = HERE / "corpus"
# api key -> (target, first flexible version) as broker/api/kb_api.c's table has them.
APIS = {0: ("produce", 9), 1: ("fetch", 12), 2: ("listoffsets", 6), 3: ("metadata", 9),
        10: ("findcoordinator", 3), 11: ("joingroup", 6), 12: ("heartbeat", 4),
        13: ("leavegroup", 4), 14: ("syncgroup", 4), 18: ("apiversions", 3), 19: ("createtopics", 5),
        20: ("deletetopics", 4), 21: ("deleterecords", 2), 22: ("initproducerid", 2), 32: ("describeconfigs", 4),
        33: ("alterconfigs", 2), 37: ("createpartitions", 2)}
PER_KIND = 12  # frames kept per (client, api, version): polls differ only in ids
JSON_SELECTOR = {"broker": 0, "topic": 1, "state": 2, "controller": 3, "cluster_id": 4,
                 "config": 5, "producer_block": 6}

client_tag = "unknown"
kept = {}
lock = threading.Lock()


def save(target, name, data):
    d = CORPUS / f"fuzz_{target}"
    d.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha1(data).hexdigest()[:12]
    (d / f"{name}-{h}").write_bytes(data)


def produce_batches(frame, version):
    """The records blobs of a non-flexible Produce v3+ request frame."""
    pos = 8
    (n,) = struct.unpack_from(">h", frame, pos)
    pos += 2 + max(n, 0)  # client_id
    (n,) = struct.unpack_from(">h", frame, pos)
    pos += 2 + max(n, 0)  # transactional_id
    pos += 2 + 4          # acks, timeout
    (topics,) = struct.unpack_from(">i", frame, pos)
    pos += 4
    for _ in range(topics):
        (n,) = struct.unpack_from(">h", frame, pos)
        pos += 2 + n
        (parts,) = struct.unpack_from(">i", frame, pos)
        pos += 4
        for _ in range(parts):
            (_, size) = struct.unpack_from(">ii", frame, pos)
            pos += 8
            if size > 0:
                yield frame[pos:pos + size]
                pos += size


def record(frame):
    if len(frame) < 8:
        return
    key, version = struct.unpack_from(">hh", frame, 0)
    if key not in APIS:
        return
    target, flex_from = APIS[key]
    with lock:
        kind = (client_tag, key, version)
        if kept.get(kind, 0) >= PER_KIND:
            return
        kept[kind] = kept.get(kind, 0) + 1
    name = f"{client_tag}-{target}-v{version}"
    save(target, name, frame)
    save("header", name, bytes([flex_from]) + frame)
    if key == 0 and version >= 3:
        for batch in produce_batches(frame, version):
            save("batch", name, batch)
            codec = batch[22] & 7 if len(batch) > 61 else 0
            if codec:
                save("codec", name, bytes([codec]) + batch[61:])


def pipe(src, dst, frames):
    buf = b""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            if frames:
                buf += data
                while len(buf) >= 4:
                    (size,) = struct.unpack_from(">i", buf, 0)
                    if len(buf) < 4 + size:
                        break
                    record(buf[4:4 + size])
                    buf = buf[4 + size:]
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def proxy(listener, upstream_port):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        server = socket.create_connection(("127.0.0.1", upstream_port))
        threading.Thread(target=pipe, args=(client, server, True), daemon=True).start()
        threading.Thread(target=pipe, args=(server, client, False), daemon=True).start()


def run_kcat(bootstrap):
    global client_tag
    client_tag = "kcat"
    kcat = kbharness.KCAT_BIN
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        kbharness.subprocess.run([kcat, "-b", bootstrap, "-P", "-t", "seeds", "-p", "0", "-z", codec,
                                  "-X", "acks=all", "-K", ":"],
                                 input=b"".join(b"k%d:value %d %s\n" % (i, i, codec.encode() * 20)
                                                for i in range(20)),
                                 check=True, timeout=60)
    kbharness.subprocess.run([kcat, "-b", bootstrap, "-C", "-t", "seeds", "-o", "beginning", "-e", "-q"],
                             check=True, timeout=60, stdout=kbharness.subprocess.DEVNULL)
    kbharness.subprocess.run([kcat, "-b", bootstrap, "-L"], check=True, timeout=60,
                             stdout=kbharness.subprocess.DEVNULL)
    kbharness.subprocess.run([kcat, "-b", bootstrap, "-Q", "-t", "seeds:0:1600000000000"], timeout=60,
                             stdout=kbharness.subprocess.DEVNULL)


def run_librdkafka(bootstrap):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic
    global client_tag
    client_tag = "librdkafka"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic("ck-topic", 2, 1, config={"retention.ms": "3600000"})],
                                 operation_timeout=30).values():
        f.result(timeout=60)
    res = ConfigResource("topic", "ck-topic")
    for f in admin.describe_configs([res]).values():
        f.result(timeout=60)
    res.set_config("retention.ms", "7200000")
    for f in admin.alter_configs([res]).values():
        f.result(timeout=60)
    for kw, grow in ((dict(validate_only=True), NewPartitions("ck-topic", 3)), ({}, NewPartitions("ck-topic", 3)),
                     ({}, NewPartitions("ck-topic", 4, replica_assignment=[[0]]))):
        for f in admin.create_partitions([grow], operation_timeout=30, **kw).values():
            f.result(timeout=60)
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": codec in ("none", "zstd"),
                      "compression.codec": codec, "linger.ms": 5, "acks": "all"})
        for i in range(50):
            p.produce("ck-topic", key=b"key-%d" % i, value=b"value %d " % i * 10, partition=i % 2,
                      headers=[("h", b"v%d" % i)])
        p.flush(60)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "seeds", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.assign([TopicPartition("ck-topic", 0, 0), TopicPartition("ck-topic", 1, 0)])
    got = 0
    for _ in range(200):
        m = c.poll(0.2)
        if m is not None and not m.error():
            got += 1
        if got >= 100:
            break
    c.offsets_for_times([TopicPartition("ck-topic", 0, 1600000000000)], timeout=30)
    c.get_watermark_offsets(TopicPartition("ck-topic", 0), timeout=30)
    c.close()
    delete_with_librdkafka(bootstrap)


def delete_with_librdkafka(bootstrap):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic("ck-doomed", 1, 1)], operation_timeout=30).values():
        f.result(timeout=60)
    for f in admin.delete_topics(["ck-doomed", "ck-never"], operation_timeout=30).values():
        try:
            f.result(timeout=60)
        except Exception:  # noqa: BLE001 - ck-never is unknown: only the request matters
            pass


def run_kafka_python(bootstrap):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic
    global client_tag
    client_tag = "kafka-python"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    admin.create_topics([NewTopic("kp-topic", 2, 1, topic_configs={"cleanup.policy": "delete"})])
    admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "kp-topic")])
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "kp-topic",
                                        configs={"retention.ms": "3600000"})])
    admin.create_partitions({"kp-topic": NewPartitions(3)}, timeout_ms=30000)
    admin.create_partitions({"kp-topic": NewPartitions(4, [[0]])}, timeout_ms=30000, validate_only=True)
    admin.close()
    for codec in (None, "gzip", "snappy", "lz4", "zstd"):
        p = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec, acks="all", linger_ms=5)
        for i in range(30):
            p.send("kp-topic", key=b"k%d" % i, value=b"kafka-python %d " % i * 8, partition=i % 2)
        p.flush(60)
        p.close()
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                      consumer_timeout_ms=3000, enable_auto_commit=False)
    c.assign([TopicPartition("kp-topic", 0), TopicPartition("kp-topic", 1)])
    for _ in c:
        pass
    c.offsets_for_times({TopicPartition("kp-topic", 0): 1600000000000})
    c.close()
    delete_with_kafka_python(bootstrap)


def delete_with_kafka_python(bootstrap):
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    admin.create_topics([NewTopic("kp-doomed", 1, 1), NewTopic("kp-doomed-2", 1, 1)])
    admin.delete_topics(["kp-doomed", "kp-doomed-2"], timeout_ms=30000)
    admin.close()


def run_raw(bootstrap):
    """DeleteRecords, which none of these clients sends, and DeleteTopics v4
    (flexible, which none of them sends either), as raw requests."""
    global client_tag
    client_tag = "raw"
    host, port = bootstrap.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        for version in (0, 1):
            body = (struct.pack(">i", 1) + struct.pack(">h", 8) + b"ck-topic" + struct.pack(">i", 2) +
                    struct.pack(">iq", 0, 3) + struct.pack(">iq", 1, -1) + struct.pack(">i", 30000))
            header = struct.pack(">hhih", 21, version, 100 + version, 3) + b"raw"
            frame = header + body
            s.sendall(struct.pack(">i", len(frame)) + frame)
            (size,) = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))
            s.recv(size, socket.MSG_WAITALL)
        body = bytes([3, 9]) + b"no-topic" + bytes([6]) + b"other" + struct.pack(">i", 0) + b"\x00"
        frame = struct.pack(">hhih", 20, 4, 200, 3) + b"raw" + b"\x00" + body
        s.sendall(struct.pack(">i", len(frame)) + frame)
        (size,) = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))
        s.recv(size, socket.MSG_WAITALL)


def save_znodes(cluster):
    def put(kind, name, data):
        if data:
            save("kc_json", f"zk-{kind}-{name}", bytes([JSON_SELECTOR[kind]]) + data)
    for bid in cluster.children("/brokers/ids"):
        put("broker", bid, cluster.get(f"/brokers/ids/{bid}")[0])
    for t in cluster.children("/brokers/topics"):
        put("topic", t, cluster.get(f"/brokers/topics/{t}")[0])
        for p in cluster.children(f"/brokers/topics/{t}/partitions"):
            put("state", f"{t}-{p}", cluster.get(f"/brokers/topics/{t}/partitions/{p}/state")[0])
    for t in cluster.children("/config/topics"):
        put("config", t, cluster.get(f"/config/topics/{t}")[0])
    for path, kind in (("/controller", "controller"), ("/cluster/id", "cluster_id"),
                       ("/latest_producer_id_block", "producer_block")):
        got = cluster.get(path)
        if got:
            put(kind, "0", got[0])


def main():
    work = Path(tempfile.mkdtemp(prefix="kb-capture-"))
    zk = kbharness.ZooKeeper(work / "zk").start()
    cluster = kbharness.Cluster(zk, work / "cluster")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    proxy_port = listener.getsockname()[1]
    broker = cluster.add_broker(0, fixed_port=True, extra={
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy_port}",
        "auto.create.topics.enable": "true", "num.partitions": "1"})
    broker.start()
    broker.wait_registered(60)
    threading.Thread(target=proxy, args=(listener, broker.fixed_port), daemon=True).start()
    bootstrap = f"127.0.0.1:{proxy_port}"
    try:
        run_kcat(bootstrap)
        run_librdkafka(bootstrap)
        run_kafka_python(bootstrap)
        run_raw(bootstrap)
        save_znodes(cluster)
    finally:
        listener.close()
        broker.stop()
        for f in ("recovery-point-offset-checkpoint", "log-start-offset-checkpoint",
                  "replication-offset-checkpoint"):
            path = broker.log_dir / f
            if path.exists() and path.stat().st_size:
                save("checkpoint", f"kbroker-{f}", path.read_bytes())
        cluster.zk.stop()
        zk.stop()
    print("seeds:", {d.name: len(list(d.iterdir())) for d in sorted(CORPUS.iterdir())})


if __name__ == "__main__":
    main()
