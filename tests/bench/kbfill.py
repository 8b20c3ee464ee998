#!/usr/bin/python3
"""
kbfill.py - fills a topic with gzip batches that inflate far beyond their
size, for tests/bench/compressed.sh: one Produce v7 (acks=1) per partition,
each carrying one batch of two records, record 0 at TIMESTAMP with a value
of MIB MiB of zeros and record 1 at TIMESTAMP + 1000 with a small value.
ListOffsets for TIMESTAMP + 1000 then has to decompress MIB MiB per
partition (the worst case a batch under kbroker.batch.decompressed.max.bytes
allows); for TIMESTAMP, almost nothing.

    kbfill.py HOST:PORT TOPIC PARTITIONS MIB TIMESTAMP

Exits 1 unless every partition answered error 0.  Batches are built with
tests/integration/kafkawire.py.
"""
import pathlib
import socket
import struct
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
import kafkawire as kw  # noqa: E402


def request(sock, corr, body):
    client = b"kbfill"
    hdr = struct.pack(">hhih", 0, 7, corr, len(client)) + client
    sock.sendall(struct.pack(">i", len(hdr) + len(body)) + hdr + body)
    size = struct.unpack(">i", recv_exact(sock, 4))[0]
    return struct.pack(">i", size) + recv_exact(sock, size)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


def main(argv):
    if len(argv) != 6:
        sys.exit(__doc__)
    host, port = argv[1].rsplit(":", 1)
    topic, partitions, mib, ts = argv[2], int(argv[3]), int(argv[4]), int(argv[5])
    payload = kw.gzip_records_of_zeros([(0, 0, mib << 20), (1, 1000, 5)])
    batch = kw.build_batch([(None, b""), (None, b"")], base_timestamp=ts, codec=kw.GZIP, payload=payload,
                           max_timestamp=ts + 1000)
    with socket.create_connection((host, int(port)), timeout=600) as s:
        for p in range(partitions):
            _, got, _, _ = kw.parse_produce_response(request(s, p + 1, kw.produce_body([(topic, [(p, batch)])])))
            if got[(topic, p)].error != 0:
                sys.exit(f"kbfill: {topic}-{p}: error {got[(topic, p)].error}")
    print(f"kbfill: {partitions} batches of {len(batch)} bytes inflating to {mib} MiB each in {topic}")


if __name__ == "__main__":
    main(sys.argv)
