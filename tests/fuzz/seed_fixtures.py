#!/usr/bin/python3
"""
seed_fixtures.py - adds the byte fixtures of tests/unit (frames captured
from real clients and built from the spec) to the fuzz corpora, so the
fuzzers start from every shape the unit suites know.

Each tests/unit/test_*.c is run through the C preprocessor (the fixtures
use macros such as HELLO_BATCH), every `static [const] uint8_t NAME[] = {...}`
array is evaluated, and the bytes go to the corpus its name and file point
at.  A frame's 4-byte size prefix is dropped (the request targets read a
frame as the dispatcher does); a body-only fixture is kept as it is.

    /usr/bin/python3 tests/fuzz/seed_fixtures.py
"""
import hashlib
import re
import struct
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = HERE / "corpus"
FLEX_FROM = {0: 9, 1: 12, 2: 6, 3: 9, 8: 8, 9: 6, 10: 3, 11: 6, 12: 4, 13: 4, 14: 4, 15: 5, 16: 3, 18: 3, 19: 5,
             21: 2, 22: 2, 32: 4, 33: 2, 37: 2, 42: 2, 45: 0, 46: 0}

# (file, substring of the array name) -> target; the first match wins.
ROUTES = [
    ("test_apiversions", "", "apiversions"),
    ("test_batch", "", "batch"),
    ("test_configs", "describe", "describeconfigs"),
    ("test_configs", "alter", "alterconfigs"),
    ("test_createtopics", "", "createtopics"),
    ("test_createpartitions", "", "createpartitions"),
    ("test_deleterecords", "", "deleterecords"),
    ("test_reassign_codec", "", "reassign"),
    ("test_groupadmin", "listgroups_v", "groupadmin"),
    ("test_groupadmin", "describegroups_v", "groupadmin"),
    ("test_groupadmin", "deletegroups_v", "groupadmin"),
    ("test_fetch", "stored_batch", "batch"),
    ("test_fetch", "", "fetch"),
    ("test_group", "joingroup", "joingroup"),
    ("test_group", "syncgroup", "syncgroup"),
    ("test_group", "heartbeat", "heartbeat"),
    ("test_group", "leavegroup", "leavegroup"),
    ("test_group_records", "", "group_records"),
    ("test_initproducerid", "", "initproducerid"),
    ("test_listoffsets", "findcoordinator", "findcoordinator"),
    ("test_listoffsets", "", "listoffsets"),
    ("test_metadata", "", "metadata"),
    ("test_offsets", "offsetcommit", "offsetcommit"),
    ("test_offsets", "offsetfetch", "offsetfetch"),
    ("test_produce", "hello_batch", "batch"),
    ("test_produce", "", "produce"),
]

ARRAY = re.compile(r"^static\s+(?:const\s+)?uint8_t\s+(\w+)\s*\[\s*\]\s*=\s*\{(.*?)\}\s*;", re.S | re.M)
TOKEN = re.compile(r"'(\\.|[^'])'|0[xX][0-9a-fA-F]+|\d+")
ESCAPES = {"\\0": 0, "\\n": 10, "\\t": 9, "\\\\": 92, "\\'": 39, '\\"': 34}


def values(text):
    for m in TOKEN.finditer(text):
        if m.group(1) is not None:
            c = m.group(1)
            yield ESCAPES[c] if c.startswith("\\") else ord(c)
        else:
            yield int(m.group(0), 0) & 0xFF


def route(stem, name):
    for f, part, target in ROUTES:
        if f == stem and part in name:
            return target
    return None


def main():
    added = 0
    for src in sorted((ROOT / "tests" / "unit").glob("test_*.c")):
        pre = subprocess.run(["gcc", "-E", "-P", "-I", str(ROOT), "-D_GNU_SOURCE", str(src)],
                             check=True, capture_output=True, text=True).stdout
        for m in ARRAY.finditer(pre):
            name, target = m.group(1), route(src.stem, m.group(1))
            if not target:
                continue
            data = bytes(values(m.group(2)))
            if len(data) >= 4 and struct.unpack_from(">i", data, 0)[0] == len(data) - 4:
                data = data[4:]
            h = hashlib.sha1(data).hexdigest()[:12]
            d = CORPUS / f"fuzz_{target}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"unit-{name}-{h}").write_bytes(data)
            added += 1
            if target not in ("batch", "group_records") and len(data) >= 8:
                key = struct.unpack_from(">h", data, 0)[0]
                if key in FLEX_FROM:
                    (CORPUS / "fuzz_header" / f"unit-{name}-{h}").write_bytes(bytes([FLEX_FROM[key]]) + data)
    print(f"{added} fixtures added")


if __name__ == "__main__":
    main()
