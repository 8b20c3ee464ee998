/*
 * test_group_records.c - the __consumer_offsets record formats
 * (proto/kp_group_records.c, group-protocol.md 7), the group id hash that
 * picks a group's partition (section 3.1), the batch the coordinator
 * writes them in (proto/kp_batch_build.c) and the iterator it reads them
 * back with (proto/kp_record_iter.c).
 *
 * Fixtures: the key and value bytes of sections 7.3 and 7.4 as the spec
 * prints them; the other record fixtures and the two-record batch were
 * written by hand from the field tables of sections 7.2-7.5 and
 * wire-protocol.md 5 (the batch's CRC-32C computed apart, with a bitwise
 * Python implementation).  Older value versions, which the encoders never
 * write, are produced by small encoders in this file that follow the
 * spec's field orders.  The hash vectors are section 3.1's table plus
 * invalid UTF-8 inputs whose hashes OpenJDK 17 gave for
 * new String(bytes, UTF_8).hashCode().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kp_batch.h"
#include "proto/kp_batch_build.h"
#include "proto/kp_group_records.h"
#include "proto/kp_record_iter.h"
#include "proto/kp_records.h"
#include "tests/unit/batchfix.h"
#include "tests/unit/unit.h"

#define COMMIT_TS 1700000000000LL
#define CAP (1u << 20)

/* Section 7.3: group "g1", topic "t", partition 3. */
static const uint8_t offset_key_spec[] = {
    0x00, 0x01,            /* key version 1 */
    0x00, 0x02, 'g', '1',  /* group */
    0x00, 0x01, 't',       /* topic */
    0x00, 0x00, 0x00, 0x03 /* partition */
};

/* Section 7.3: offset 42, no leader epoch, no metadata, committed at
 * 1700000000000. */
static const uint8_t offset_value_spec_v3[] = {
    0x00, 0x03,                                     /* version 3 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* offset 42 */
    0xff, 0xff, 0xff, 0xff,                         /* leader epoch -1 */
    0x00, 0x00,                                     /* metadata "" */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* commit timestamp */
};

/* Section 7.4: group "g1". */
static const uint8_t group_key_spec[] = {0x00, 0x02, 0x00, 0x02, 'g', '1'};

/* The same commit with a retention of one day (an OffsetCommit v2-4 with
 * RetentionTimeMs 86400000): version 1 with the expire timestamp. */
static const uint8_t offset_value_v1[] = {
    0x00, 0x01,                                     /* version 1 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* offset 42 */
    0x00, 0x00,                                     /* metadata "" */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* commit timestamp */
    0x00, 0x00, 0x01, 0x8b, 0xd5, 0x0b, 0xc4, 0x00, /* expire timestamp */
};

/* A Stable consumer group, generation 5, protocol "range", leader "m1",
 * two members: m1 static (instance "i1"), m2 dynamic with empty
 * subscription and assignment. */
static const uint8_t group_value_v3[] = {
    0x00, 0x03,                                              /* version 3 */
    0x00, 0x08, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r',      /* protocol type */
    0x00, 0x00, 0x00, 0x05,                                  /* generation */
    0x00, 0x05, 'r', 'a', 'n', 'g', 'e',                     /* protocol */
    0x00, 0x02, 'm', '1',                                    /* leader */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,          /* current state timestamp */
    0x00, 0x00, 0x00, 0x02,                                  /* members: 2 */
    0x00, 0x02, 'm', '1', 0x00, 0x02, 'i', '1',              /* member id, instance id */
    0x00, 0x01, 'c', 0x00, 0x02, '/', 'h',                   /* client id, client host */
    0x00, 0x04, 0x93, 0xe0, 0x00, 0x00, 0xaf, 0xc8,          /* rebalance 300000, session 45000 */
    0x00, 0x00, 0x00, 0x02, 0x00, 0x01,                      /* subscription */
    0x00, 0x00, 0x00, 0x02, 0x00, 0x02,                      /* assignment */
    0x00, 0x02, 'm', '2', 0xff, 0xff,                        /* member id, no instance id */
    0x00, 0x01, 'c', 0x00, 0x02, '/', 'h',                   /* client id, client host */
    0x00, 0x04, 0x93, 0xe0, 0x00, 0x00, 0x27, 0x10,          /* rebalance 300000, session 10000 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,          /* empty subscription, assignment */
};

/* The record of a join phase that ended with no members (section 7.5):
 * protocol and leader null, no members. */
static const uint8_t group_value_empty_v3[] = {
    0x00, 0x03, 0x00, 0x08, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r',
    0x00, 0x00, 0x00, 0x06,                         /* generation 6 */
    0xff, 0xff, 0xff, 0xff,                         /* protocol, leader: null */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* current state timestamp */
    0x00, 0x00, 0x00, 0x00,                         /* no members */
};

/* A batch as kp_batch_build writes it at COMMIT_TS: the offset commit of
 * section 7.3, then a tombstone for group "g1". */
static const uint8_t two_record_batch[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* base offset 0 */
    0x00, 0x00, 0x00, 0x6a,                         /* batch length 106 */
    0xff, 0xff, 0xff, 0xff,                         /* leader epoch -1 */
    0x02,                                           /* magic */
    0x73, 0x96, 0x40, 0x06,                         /* CRC-32C */
    0x00, 0x00,                                     /* attributes */
    0x00, 0x00, 0x00, 0x01,                         /* last offset delta */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* first timestamp */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* max timestamp */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producer id -1 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,             /* producer epoch, base sequence -1 */
    0x00, 0x00, 0x00, 0x02,                         /* records: 2 */
    /* record 0: length 43, attributes, timestamp delta 0, offset delta 0 */
    0x56, 0x00, 0x00, 0x00,
    0x1a, 0x00, 0x01, 0x00, 0x02, 0x67, 0x31, 0x00, 0x01, 0x74, 0x00, 0x00, 0x00, 0x03, /* key, 13 bytes */
    0x30, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* value, 24 bytes */
    0x00,                                           /* no headers */
    /* record 1: length 12, offset delta 1, key of 6 bytes, null value, no headers */
    0x18, 0x00, 0x00, 0x02, 0x0c, 0x00, 0x02, 0x00, 0x02, 0x67, 0x31, 0x01, 0x00,
};

static kp_reader_t reader_of(const uint8_t *p, size_t n) {
    kp_reader_t r;

    kp_reader_init(&r, p, n);
    return r;
}

static kp_bytes_t bytes_of(const void *p, size_t n) { return (kp_bytes_t){(int32_t)n, p}; }

static bool bytes_eq(kp_bytes_t b, const void *p, size_t n) {
    return b.len >= 0 && (size_t)b.len == n && (n == 0 || memcmp(b.ptr, p, n) == 0);
}

#define ck_assert_writer_eq(w, want)                                                                                   \
    do {                                                                                                               \
        ck_assert_uint_eq((w)->len, sizeof(want));                                                                     \
        ck_assert_mem_eq((w)->buf, want, sizeof(want));                                                                \
    } while (0)

/* ------------------------------------------------------------------ keys */

START_TEST(offset_commit_key_matches_the_spec_example) {
    kp_writer_t w;
    kp_group_key_t k;
    kp_reader_t r = reader_of(offset_key_spec, sizeof(offset_key_spec));

    kp_writer_init(&w);
    ck_assert_int_eq(kp_offset_commit_key_encode(&w, kp_str_c("g1"), kp_str_c("t"), 3), 0);
    ck_assert_writer_eq(&w, offset_key_spec);
    kp_writer_free(&w);
    ck_assert_int_eq(kp_group_key_decode(&r, &k), 0);
    ck_assert_int_eq(k.type, KP_GROUP_KEY_OFFSET_COMMIT);
    ck_assert_int_eq(k.version, 1);
    ck_assert(kp_str_eq(k.group, "g1"));
    ck_assert(kp_str_eq(k.topic, "t"));
    ck_assert_int_eq(k.partition, 3);
}
END_TEST

START_TEST(group_metadata_key_matches_the_spec_example) {
    kp_writer_t w;
    kp_group_key_t k;
    kp_reader_t r = reader_of(group_key_spec, sizeof(group_key_spec));

    kp_writer_init(&w);
    ck_assert_int_eq(kp_group_metadata_key_encode(&w, kp_str_c("g1")), 0);
    ck_assert_writer_eq(&w, group_key_spec);
    kp_writer_free(&w);
    ck_assert_int_eq(kp_group_key_decode(&r, &k), 0);
    ck_assert_int_eq(k.type, KP_GROUP_KEY_GROUP_METADATA);
    ck_assert_int_eq(k.version, 2);
    ck_assert(kp_str_eq(k.group, "g1"));
    ck_assert_int_eq(k.topic.len, KP_NULL_LEN);
}
END_TEST

START_TEST(offset_key_version_0_is_an_offset_commit_too) {
    uint8_t key[sizeof(offset_key_spec)];
    kp_group_key_t k;
    kp_reader_t r;

    memcpy(key, offset_key_spec, sizeof(key));
    key[1] = 0;
    r = reader_of(key, sizeof(key));
    ck_assert_int_eq(kp_group_key_decode(&r, &k), 0);
    ck_assert_int_eq(k.type, KP_GROUP_KEY_OFFSET_COMMIT);
    ck_assert_int_eq(k.version, 0);
    ck_assert(kp_str_eq(k.topic, "t"));
}
END_TEST

/* Kafka 3.7+ writes key versions 3-8 for KIP-848 groups. */
START_TEST(unknown_key_versions_are_reported_not_decoded) {
    static const int16_t versions[] = {3, 8, 0x7fff, -1};
    uint8_t key[sizeof(group_key_spec)];
    kp_group_key_t k;

    memcpy(key, group_key_spec, sizeof(key));
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        kp_put_be(key, (uint16_t)versions[i], 2);
        for (size_t n = 2; n <= sizeof(key); n++) {
            kp_reader_t r = reader_of(key, n);
            ck_assert_int_eq(kp_group_key_decode(&r, &k), KP_GROUP_KEY_UNKNOWN_VERSION);
            ck_assert_int_eq(k.type, KP_GROUP_KEY_UNKNOWN);
            ck_assert_int_eq(k.version, versions[i]);
        }
    }
}
END_TEST

START_TEST(truncated_keys_are_rejected_at_every_length) {
    kp_group_key_t k;

    for (size_t n = 0; n < sizeof(offset_key_spec); n++) {
        kp_reader_t r = reader_of(offset_key_spec, n);
        ck_assert_int_eq(kp_group_key_decode(&r, &k), KP_BUF_SHORT);
    }
    for (size_t n = 0; n < sizeof(group_key_spec); n++) {
        kp_reader_t r = reader_of(group_key_spec, n);
        ck_assert_int_eq(kp_group_key_decode(&r, &k), KP_BUF_SHORT);
    }
}
END_TEST

START_TEST(keys_with_trailing_bytes_or_null_strings_are_rejected) {
    static const uint8_t trailing[] = {0x00, 0x02, 0x00, 0x02, 'g', '1', 0x00};
    static const uint8_t null_group[] = {0x00, 0x02, 0xff, 0xff};
    static const uint8_t null_topic[] = {0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
    kp_group_key_t k;
    kp_reader_t r = reader_of(trailing, sizeof(trailing));

    ck_assert_int_eq(kp_group_key_decode(&r, &k), KP_BUF_TRAILING);
    r = reader_of(null_group, sizeof(null_group));
    ck_assert_int_eq(kp_group_key_decode(&r, &k), KP_BUF_INVALID);
    r = reader_of(null_topic, sizeof(null_topic));
    ck_assert_int_eq(kp_group_key_decode(&r, &k), KP_BUF_INVALID);
}
END_TEST

/* ------------------------------------------------- OffsetCommitValue 0-3 */

/* The field orders of section 7.3, for the versions the encoder never
 * writes (and as a second opinion on the ones it does). */
static void spec_offset_value(kp_writer_t *w, int16_t version, const kp_offset_commit_value_t *v) {
    kp_write_int16(w, version);
    kp_write_int64(w, v->offset);
    if (version == 3) kp_write_int32(w, v->leader_epoch);
    kp_write_str(w, v->metadata);
    kp_write_int64(w, v->commit_timestamp);
    if (version == 1) kp_write_int64(w, v->expire_timestamp);
}

START_TEST(offset_value_v3_matches_the_spec_example) {
    kp_offset_commit_value_t v = {.offset = 42, .leader_epoch = -1, .metadata = kp_str_c(""),
                                  .commit_timestamp = COMMIT_TS, .expire_timestamp = KP_GROUP_RECORD_NONE};
    kp_offset_commit_value_t got;
    kp_writer_t w;
    kp_reader_t r = reader_of(offset_value_spec_v3, sizeof(offset_value_spec_v3));

    kp_writer_init(&w);
    ck_assert_int_eq(kp_offset_commit_value_version(&v), 3);
    ck_assert_int_eq(kp_offset_commit_value_encode(&w, &v), 0);
    ck_assert_writer_eq(&w, offset_value_spec_v3);
    kp_writer_free(&w);
    ck_assert_int_eq(kp_offset_commit_value_decode(&r, &got), 0);
    ck_assert_int_eq(got.version, 3);
    ck_assert_int_eq(got.offset, 42);
    ck_assert_int_eq(got.leader_epoch, -1);
    ck_assert(kp_str_eq(got.metadata, ""));
    ck_assert_int_eq(got.commit_timestamp, COMMIT_TS);
    ck_assert_int_eq(got.expire_timestamp, KP_GROUP_RECORD_NONE);
}
END_TEST

START_TEST(offset_value_with_an_expire_timestamp_is_written_as_v1) {
    kp_offset_commit_value_t v = {.offset = 42, .leader_epoch = 7, .metadata = kp_str_c(""),
                                  .commit_timestamp = COMMIT_TS, .expire_timestamp = COMMIT_TS + 86400000};
    kp_offset_commit_value_t got;
    kp_writer_t w;
    kp_reader_t r = reader_of(offset_value_v1, sizeof(offset_value_v1));

    kp_writer_init(&w);
    ck_assert_int_eq(kp_offset_commit_value_version(&v), 1);
    ck_assert_int_eq(kp_offset_commit_value_encode(&w, &v), 0);
    ck_assert_writer_eq(&w, offset_value_v1);
    kp_writer_free(&w);
    ck_assert_int_eq(kp_offset_commit_value_decode(&r, &got), 0);
    ck_assert_int_eq(got.version, 1);
    ck_assert_int_eq(got.leader_epoch, KP_GROUP_RECORD_NONE); /* v1 has none: the 7 is dropped */
    ck_assert_int_eq(got.expire_timestamp, COMMIT_TS + 86400000);
}
END_TEST

static void check_offset_round_trip(const kp_writer_t *w, int16_t version, const kp_offset_commit_value_t *v) {
    kp_offset_commit_value_t got;
    kp_reader_t r = reader_of(w->buf, w->len);

    ck_assert_int_eq(kp_offset_commit_value_decode(&r, &got), 0);
    ck_assert_int_eq(got.version, version);
    ck_assert_int_eq(got.offset, v->offset);
    ck_assert_int_eq(got.leader_epoch, version == 3 ? v->leader_epoch : KP_GROUP_RECORD_NONE);
    ck_assert_int_eq(got.metadata.len, v->metadata.len);
    ck_assert_mem_eq(got.metadata.ptr, v->metadata.ptr, (size_t)v->metadata.len);
    ck_assert_int_eq(got.commit_timestamp, v->commit_timestamp);
    ck_assert_int_eq(got.expire_timestamp, version == 1 ? v->expire_timestamp : KP_GROUP_RECORD_NONE);
}

START_TEST(every_offset_value_version_round_trips) {
    kp_offset_commit_value_t v = {.offset = 0x123456789abLL, .leader_epoch = 12, .metadata = kp_str_c("meta data"),
                                  .commit_timestamp = COMMIT_TS, .expire_timestamp = COMMIT_TS + 1000};
    kp_writer_t w;

    kp_writer_init(&w);
    for (int16_t version = 0; version <= KP_OFFSET_COMMIT_VALUE_VERSION_MAX; version++) {
        kp_writer_reset(&w);
        spec_offset_value(&w, version, &v);
        check_offset_round_trip(&w, version, &v);
    }
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_offset_commit_value_encode(&w, &v), 0);
    check_offset_round_trip(&w, 1, &v);
    v.expire_timestamp = KP_GROUP_RECORD_NONE;
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_offset_commit_value_encode(&w, &v), 0);
    check_offset_round_trip(&w, 3, &v);
    kp_writer_free(&w);
}
END_TEST

START_TEST(offset_values_truncated_or_padded_are_rejected) {
    kp_offset_commit_value_t got;
    uint8_t padded[sizeof(offset_value_v1) + 1] = {0};
    kp_reader_t r;

    for (size_t n = 0; n < sizeof(offset_value_spec_v3); n++) {
        r = reader_of(offset_value_spec_v3, n);
        ck_assert_int_eq(kp_offset_commit_value_decode(&r, &got), KP_BUF_SHORT);
    }
    for (size_t n = 0; n < sizeof(offset_value_v1); n++) {
        r = reader_of(offset_value_v1, n);
        ck_assert_int_eq(kp_offset_commit_value_decode(&r, &got), KP_BUF_SHORT);
    }
    memcpy(padded, offset_value_v1, sizeof(offset_value_v1));
    r = reader_of(padded, sizeof(padded));
    ck_assert_int_eq(kp_offset_commit_value_decode(&r, &got), KP_BUF_TRAILING);
}
END_TEST

START_TEST(offset_values_of_unknown_versions_or_null_metadata_are_rejected) {
    uint8_t value[sizeof(offset_value_spec_v3)];
    kp_offset_commit_value_t got;
    kp_reader_t r;

    memcpy(value, offset_value_spec_v3, sizeof(value));
    value[1] = 4; /* Kafka 3.5+'s flexible v4 */
    r = reader_of(value, sizeof(value));
    ck_assert_int_eq(kp_offset_commit_value_decode(&r, &got), KP_BUF_INVALID);
    value[0] = 0xff; /* -252 */
    r = reader_of(value, sizeof(value));
    ck_assert_int_eq(kp_offset_commit_value_decode(&r, &got), KP_BUF_INVALID);
    memcpy(value, offset_value_spec_v3, sizeof(value));
    value[14] = value[15] = 0xff; /* metadata length -1 */
    r = reader_of(value, sizeof(value));
    ck_assert_int_eq(kp_offset_commit_value_decode(&r, &got), KP_BUF_INVALID);
}
END_TEST

/* ------------------------------------------------ GroupMetadataValue 0-3 */

static const uint8_t sub1[] = {0x00, 0x01};
static const uint8_t asg1[] = {0x00, 0x02};

static kp_group_metadata_member_t sample_members[2];

static kp_group_metadata_value_t sample_group(void) {
    sample_members[0] = (kp_group_metadata_member_t){
        kp_str_c("m1"), kp_str_c("i1"), kp_str_c("c"), kp_str_c("/h"), 300000, 45000,
        bytes_of(sub1, sizeof(sub1)), bytes_of(asg1, sizeof(asg1))};
    sample_members[1] = (kp_group_metadata_member_t){
        kp_str_c("m2"), KP_STR_NULL, kp_str_c("c"), kp_str_c("/h"), 300000, 10000, {0, NULL}, {0, NULL}};
    return (kp_group_metadata_value_t){.protocol_type = kp_str_c("consumer"),
                                       .generation = 5,
                                       .protocol = kp_str_c("range"),
                                       .leader = kp_str_c("m1"),
                                       .current_state_timestamp = COMMIT_TS,
                                       .n_members = 2,
                                       .members = sample_members};
}

/* The field orders of section 7.5 for any version. */
static void spec_group_member(kp_writer_t *w, int16_t version, const kp_group_metadata_member_t *m) {
    kp_write_str(w, m->member_id);
    if (version >= 3) kp_write_str(w, m->group_instance_id);
    kp_write_str(w, m->client_id);
    kp_write_str(w, m->client_host);
    if (version >= 1) kp_write_int32(w, m->rebalance_timeout);
    kp_write_int32(w, m->session_timeout);
    kp_write_bytes(w, m->subscription);
    kp_write_bytes(w, m->assignment);
}

static void spec_group_value(kp_writer_t *w, int16_t version, const kp_group_metadata_value_t *v) {
    kp_write_int16(w, version);
    kp_write_str(w, v->protocol_type);
    kp_write_int32(w, v->generation);
    kp_write_str(w, v->protocol);
    kp_write_str(w, v->leader);
    if (version >= 2) kp_write_int64(w, v->current_state_timestamp);
    kp_write_array_count(w, v->n_members);
    for (int32_t i = 0; i < v->n_members; i++) spec_group_member(w, version, &v->members[i]);
}

static bool str_same(kp_str_t a, kp_str_t b) {
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static void check_member(int16_t version, const kp_group_metadata_member_t *got,
                         const kp_group_metadata_member_t *want) {
    ck_assert(str_same(got->member_id, want->member_id));
    ck_assert(str_same(got->group_instance_id, version >= 3 ? want->group_instance_id : KP_STR_NULL));
    ck_assert(str_same(got->client_id, want->client_id));
    ck_assert(str_same(got->client_host, want->client_host));
    ck_assert_int_eq(got->rebalance_timeout, version >= 1 ? want->rebalance_timeout : want->session_timeout);
    ck_assert_int_eq(got->session_timeout, want->session_timeout);
    ck_assert(bytes_eq(got->subscription, want->subscription.ptr, (size_t)want->subscription.len));
    ck_assert(bytes_eq(got->assignment, want->assignment.ptr, (size_t)want->assignment.len));
}

static void check_group(int16_t version, const kp_group_metadata_value_t *got, const kp_group_metadata_value_t *want) {
    ck_assert_int_eq(got->version, version);
    ck_assert(str_same(got->protocol_type, want->protocol_type));
    ck_assert_int_eq(got->generation, want->generation);
    ck_assert(str_same(got->protocol, want->protocol));
    ck_assert(str_same(got->leader, want->leader));
    ck_assert_int_eq(got->current_state_timestamp,
                     version >= 2 ? want->current_state_timestamp : KP_GROUP_RECORD_NONE);
    ck_assert_int_eq(got->n_members, want->n_members);
    for (int32_t i = 0; i < want->n_members; i++) check_member(version, &got->members[i], &want->members[i]);
}

START_TEST(group_value_v3_bytes_are_exact) {
    kp_group_metadata_value_t v = sample_group(), got;
    kp_writer_t w;
    kp_reader_t r = reader_of(group_value_v3, sizeof(group_value_v3));

    kp_writer_init(&w);
    ck_assert_int_eq(kp_group_metadata_value_encode(&w, &v), 0);
    ck_assert_writer_eq(&w, group_value_v3);
    kp_writer_free(&w);
    ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), 0);
    check_group(3, &got, &v);
    kp_group_metadata_value_clear(&got);
    ck_assert_ptr_null(got.members);
}
END_TEST

START_TEST(empty_group_value_keeps_its_nulls) {
    kp_group_metadata_value_t v = {.protocol_type = kp_str_c("consumer"), .generation = 6, .protocol = KP_STR_NULL,
                                   .leader = KP_STR_NULL, .current_state_timestamp = COMMIT_TS};
    kp_group_metadata_value_t got;
    kp_writer_t w;
    kp_reader_t r = reader_of(group_value_empty_v3, sizeof(group_value_empty_v3));

    kp_writer_init(&w);
    ck_assert_int_eq(kp_group_metadata_value_encode(&w, &v), 0);
    ck_assert_writer_eq(&w, group_value_empty_v3);
    kp_writer_free(&w);
    ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), 0);
    check_group(3, &got, &v);
    ck_assert_ptr_null(got.members);
    kp_group_metadata_value_clear(&got);
}
END_TEST

START_TEST(every_group_value_version_round_trips) {
    kp_group_metadata_value_t v = sample_group(), got;
    kp_writer_t w;

    kp_writer_init(&w);
    for (int16_t version = 0; version <= KP_GROUP_METADATA_VALUE_VERSION_MAX; version++) {
        kp_writer_reset(&w);
        spec_group_value(&w, version, &v);
        kp_reader_t r = reader_of(w.buf, w.len);
        ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), 0);
        check_group(version, &got, &v);
        kp_group_metadata_value_clear(&got);
    }
    kp_writer_free(&w);
}
END_TEST

/* A group with no protocol type (offsets only) and null member strings:
 * written as "", never as a null the schema forbids. */
START_TEST(group_value_encoder_writes_forbidden_nulls_as_empty) {
    kp_group_metadata_member_t m = {KP_STR_NULL, KP_STR_NULL, KP_STR_NULL, KP_STR_NULL, 1, 2,
                                    {KP_NULL_LEN, NULL}, {KP_NULL_LEN, NULL}};
    kp_group_metadata_value_t v = {.protocol_type = KP_STR_NULL, .protocol = KP_STR_NULL, .leader = KP_STR_NULL,
                                   .current_state_timestamp = -1, .n_members = 1, .members = &m};
    kp_group_metadata_value_t got;
    kp_writer_t w;
    kp_reader_t r;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_group_metadata_value_encode(&w, &v), 0);
    r = reader_of(w.buf, w.len);
    ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), 0);
    ck_assert(kp_str_eq(got.protocol_type, ""));
    ck_assert_int_eq(got.protocol.len, KP_NULL_LEN);
    ck_assert(kp_str_eq(got.members[0].member_id, ""));
    ck_assert_int_eq(got.members[0].group_instance_id.len, KP_NULL_LEN);
    ck_assert(kp_str_eq(got.members[0].client_host, ""));
    ck_assert_int_eq(got.members[0].subscription.len, 0);
    ck_assert_int_eq(got.members[0].assignment.len, 0);
    kp_group_metadata_value_clear(&got);
    kp_writer_free(&w);
}
END_TEST

START_TEST(truncated_group_values_are_rejected_at_every_length) {
    kp_group_metadata_value_t got;

    for (size_t n = 0; n < sizeof(group_value_v3); n++) {
        kp_reader_t r = reader_of(group_value_v3, n);
        ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), KP_BUF_SHORT);
        kp_group_metadata_value_clear(&got);
    }
    for (size_t n = 0; n < sizeof(group_value_empty_v3); n++) {
        kp_reader_t r = reader_of(group_value_empty_v3, n);
        ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), KP_BUF_SHORT);
        kp_group_metadata_value_clear(&got);
    }
}
END_TEST

START_TEST(group_values_with_trailing_bytes_or_unknown_versions_are_rejected) {
    uint8_t buf[sizeof(group_value_v3) + 1] = {0};
    kp_group_metadata_value_t got;
    kp_reader_t r;

    memcpy(buf, group_value_v3, sizeof(group_value_v3));
    r = reader_of(buf, sizeof(buf));
    ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), KP_BUF_TRAILING);
    kp_group_metadata_value_clear(&got);
    buf[1] = 4;
    r = reader_of(buf, sizeof(group_value_v3));
    ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), KP_BUF_INVALID);
    ck_assert_ptr_null(got.members);
    kp_group_metadata_value_clear(&got);
}
END_TEST

/* Offset of the member count in group_value_empty_v3 and group_value_v3. */
#define EMPTY_COUNT_AT 28
#define COUNT_AT 35

START_TEST(hostile_member_counts_are_rejected_without_allocating) {
    static const uint32_t counts[] = {0xffffffffu, 0x80000000u, 1, 0x7fffffffu};
    static const int want[] = {KP_BUF_INVALID, KP_BUF_INVALID, KP_BUF_SHORT, KP_BUF_SHORT};
    uint8_t buf[sizeof(group_value_empty_v3)];
    kp_group_metadata_value_t got;

    memcpy(buf, group_value_empty_v3, sizeof(buf));
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        kp_put_be(buf + EMPTY_COUNT_AT, counts[i], 4);
        kp_reader_t r = reader_of(buf, sizeof(buf));
        ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), want[i]);
        ck_assert_ptr_null(got.members);
        ck_assert_int_eq(got.n_members, 0);
        kp_group_metadata_value_clear(&got);
    }
}
END_TEST

/* The v3 fixture with its count raised by one.  Followed by 8 more bytes,
 * the count passes the size check (3 smallest members fit), the array is
 * allocated, and the third member runs out of bytes: clear still frees
 * it.  Followed by 24 zero bytes (the smallest v3 member, its instance id
 * "" rather than null), it decodes. */
START_TEST(a_count_one_too_high_fails_after_allocating_and_clear_frees) {
    uint8_t buf[sizeof(group_value_v3) + 24] = {0};
    kp_group_metadata_value_t got;
    kp_reader_t r;

    memcpy(buf, group_value_v3, sizeof(group_value_v3));
    ck_assert_uint_eq(kp_get_be(buf + COUNT_AT, 4), 2);
    kp_put_be(buf + COUNT_AT, 3, 4);
    r = reader_of(buf, sizeof(group_value_v3));
    ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), KP_BUF_SHORT);
    ck_assert_ptr_null(got.members);
    r = reader_of(buf, sizeof(group_value_v3) + 8);
    ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), KP_BUF_SHORT);
    ck_assert_ptr_nonnull(got.members);
    kp_group_metadata_value_clear(&got);
    r = reader_of(buf, sizeof(buf));
    ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), 0);
    ck_assert_int_eq(got.n_members, 3);
    ck_assert(kp_str_eq(got.members[2].group_instance_id, ""));
    kp_group_metadata_value_clear(&got);
}
END_TEST

START_TEST(null_member_id_or_protocol_type_is_rejected) {
    static const uint8_t null_protocol_type[] = {
        0x00, 0x03, 0xff, 0xff,                         /* version 3, protocol type null */
        0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, /* generation, protocol, leader */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* current state timestamp */
        0x00, 0x00, 0x00, 0x00,                         /* no members */
    };
    uint8_t buf[sizeof(group_value_v3)];
    kp_group_metadata_value_t got;
    kp_reader_t r;

    memcpy(buf, group_value_v3, sizeof(buf));
    buf[COUNT_AT + 4] = buf[COUNT_AT + 5] = 0xff; /* first member id: null */
    r = reader_of(buf, sizeof(buf));
    ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), KP_BUF_INVALID);
    kp_group_metadata_value_clear(&got);
    r = reader_of(null_protocol_type, sizeof(null_protocol_type));
    ck_assert_int_eq(kp_group_metadata_value_decode(&r, &got), KP_BUF_INVALID);
    kp_group_metadata_value_clear(&got);
}
END_TEST

/* ------------------------------------------------------------------ hash */

/* Section 3.1's table (N = 50). */
static const struct {
    const char *group;
    int32_t hash, partition;
} spec_vectors[] = {
    {"polygenelubricants", INT32_MIN, 0},
    {"my-group", -1906497762, 12},
    {"test-group", 627841412, 12},
    {"kcat", 3285899, 49},
    {"console-consumer-1", 35782224, 24},
    {"", 0, 0},
    {"\xc3\xa9", 233, 33},                     /* U+00E9 */
    {"\xf0\x9f\x98\x80grp", 1276929186, 36}, /* U+1F600 + "grp": a surrogate pair */
};

START_TEST(group_partition_matches_every_spec_vector) {
    for (size_t i = 0; i < sizeof(spec_vectors) / sizeof(spec_vectors[0]); i++) {
        size_t len = strlen(spec_vectors[i].group);
        ck_assert_int_eq(kp_group_hash(spec_vectors[i].group, len), spec_vectors[i].hash);
        ck_assert_int_eq(kp_group_partition(spec_vectors[i].group, len, 50), spec_vectors[i].partition);
    }
}
END_TEST

/* Malformed UTF-8: OpenJDK 17's hashes of new String(bytes, UTF_8). */
static const struct {
    const char *bytes;
    int32_t hash;
    const char *units; /* what Java decoded, for the reader */
} java_vectors[] = {
    {"a\xff" "b", 2124838, "0061 fffd 0062"},
    {"\xed\xa0\x80", 65533, "fffd: an encoded surrogate is one replacement"},
    {"\xe0\x80\x80", 65074269, "fffd fffd fffd: overlong"},
    {"\xe1\x80" "A", 2031588, "fffd 0041"},
    {"\xf0\x9f\x98", 65533, "fffd: cut by the end"},
    {"\xf0\x9f" "A", 2031588, "fffd 0041"},
    {"\xf0\x9f", 65533, "fffd"},
    {"\xc0\xaf", 2097056, "fffd fffd"},
    {"\xf4\x90\x80\x80", 2017367872, "fffd x4: beyond U+10FFFF"},
    {"\xf5\x80\x80\x80", 2017367872, "fffd x4"},
    {"\xf0\x8f\xbf\xbf", 2017367872, "fffd x4: overlong"},
    {"\xe2\x82", 65533, "fffd"},
    {"\xe0\x9f", 2097056, "fffd fffd"},
    {"\xc2", 65533, "fffd"},
    {"\x80\xbf", 2097056, "fffd fffd"},
    {"\xed\x9f\xbf", 55295, "d7ff"},
    {"\xee\x80\x80", 57344, "e000"},
};

START_TEST(malformed_utf8_hashes_as_java_decodes_it) {
    for (size_t i = 0; i < sizeof(java_vectors) / sizeof(java_vectors[0]); i++) {
        const char *s = java_vectors[i].bytes;
        ck_assert_msg(kp_group_hash(s, strlen(s)) == java_vectors[i].hash, "vector %zu (%s)", i,
                      java_vectors[i].units);
    }
}
END_TEST

START_TEST(group_partition_edge_cases) {
    ck_assert_int_eq(kp_group_partition("polygenelubricants", 18, 7), 0); /* abs(INT32_MIN) is 0 */
    ck_assert_int_eq(kp_group_partition("my-group", 8, 1), 0);
    ck_assert_int_eq(kp_group_partition("my-group", 8, INT32_MAX), 1906497762);
    ck_assert_int_eq(kp_group_partition("my-group", 8, 0), -1);
    ck_assert_int_eq(kp_group_partition("my-group", 8, -50), -1);
    /* A NUL inside the id is a character like any other. */
    ck_assert_int_eq(kp_group_hash("a\0b", 3), 97 * 31 * 31 + 98);
}
END_TEST

/* ----------------------------------------------------------------- batch */

static const kp_batch_record_t spec_records[] = {
    {{sizeof(offset_key_spec), offset_key_spec}, {sizeof(offset_value_spec_v3), offset_value_spec_v3}},
    {{sizeof(group_key_spec), group_key_spec}, {KP_NULL_LEN, NULL}},
};

START_TEST(built_batch_bytes_are_exact) {
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_batch_build(&w, spec_records, 2, COMMIT_TS), 0);
    ck_assert_writer_eq(&w, two_record_batch);
    kp_writer_free(&w);
}
END_TEST

typedef struct {
    int32_t seen;
    bool deltas_ok;
} walk_seen_t;

static int note_record(void *arg, const kp_record_info_t *r) {
    walk_seen_t *s = arg;

    if (r->offset_delta != s->seen || r->timestamp_delta != 0) s->deltas_ok = false;
    s->seen++;
    return 0;
}

/* Every check the log makes of a stored batch accepts what the builder
 * writes, and its header says what kp_batch_build.h promises. */
START_TEST(built_batch_passes_the_log_checks) {
    kp_writer_t w;
    kp_batch_header_t h;
    walk_seen_t seen = {0, true};
    size_t size;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_batch_build(&w, spec_records, 2, COMMIT_TS), 0);
    ck_assert_int_eq(kp_batch_header_decode(w.buf, w.len, &h), 0);
    ck_assert(kp_batch_crc_ok(w.buf, &h));
    ck_assert_uint_eq(kp_batch_size(&h), w.len);
    ck_assert_int_eq(h.base_offset, 0);
    ck_assert_int_eq(h.partition_leader_epoch, -1);
    ck_assert_int_eq(h.magic, 2);
    ck_assert_int_eq(h.attributes, 0);
    ck_assert_int_eq(h.last_offset_delta, 1);
    ck_assert_int_eq(h.base_timestamp, COMMIT_TS);
    ck_assert_int_eq(h.max_timestamp, COMMIT_TS);
    ck_assert_int_eq(h.producer_id, -1);
    ck_assert_int_eq(h.producer_epoch, -1);
    ck_assert_int_eq(h.base_sequence, -1);
    ck_assert_int_eq(h.records_count, 2);
    ck_assert_int_eq(kp_records_walk(w.buf, w.len, CAP, note_record, &seen, NULL), KP_WALK_END);
    ck_assert_int_eq(seen.seen, 2);
    ck_assert(seen.deltas_ok);
    ck_assert_int_eq(kp_batch_scan(w.buf, w.len, w.len, &h, &size), KP_SCAN_OK);
    ck_assert_int_eq(kp_batch_validate_records(w.buf, w.len, CAP, NULL), 0);
    kp_writer_free(&w);
}
END_TEST

START_TEST(batch_is_appended_after_what_the_writer_holds) {
    kp_writer_t w;
    kp_batch_header_t h;

    kp_writer_init(&w);
    kp_write_raw(&w, "abc", 3);
    ck_assert_int_eq(kp_batch_build(&w, spec_records, 2, COMMIT_TS), 0);
    ck_assert_uint_eq(w.len, 3 + sizeof(two_record_batch));
    ck_assert_mem_eq(w.buf + 3, two_record_batch, sizeof(two_record_batch));
    ck_assert_int_eq(kp_batch_header_decode(w.buf + 3, w.len - 3, &h), 0);
    ck_assert(kp_batch_crc_ok(w.buf + 3, &h));
    kp_writer_free(&w);
}
END_TEST

START_TEST(empty_or_oversized_batches_are_refused) {
    kp_batch_record_t huge = {{KP_NULL_LEN, NULL}, {INT32_MAX, (const uint8_t *)""}};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_batch_build(&w, spec_records, 0, COMMIT_TS), KP_BUF_INVALID);
    ck_assert_int_eq(kp_batch_build(&w, spec_records, -1, COMMIT_TS), KP_BUF_INVALID);
    /* Refused from the sizes alone: the value bytes are never read. */
    ck_assert_int_eq(kp_batch_build(&w, &huge, 1, COMMIT_TS), KP_BUF_INVALID);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_int_eq(w.err, 0);
    kp_writer_free(&w);
}
END_TEST

/* -------------------------------------------------------------- iterator */

/* Reads every record of the batch at p into out[] (at most max); returns
 * the iterator's final answer and the count in *n. */
static int iterate(const uint8_t *p, size_t size, kp_record_t *out, int max, int *n) {
    kp_record_iter_t it;
    kp_record_t rec;
    int rc = kp_record_iter_init(&it, p, size);

    *n = 0;
    if (rc != KP_ITER_END) return rc;
    while ((rc = kp_record_iter_next(&it, &rec)) == KP_ITER_RECORD) {
        ck_assert_int_lt(*n, max);
        /* Every slice lies inside the batch. */
        if (rec.key.len > 0) ck_assert(rec.key.ptr >= p && rec.key.ptr + rec.key.len <= p + size);
        if (rec.value.len > 0) ck_assert(rec.value.ptr >= p && rec.value.ptr + rec.value.len <= p + size);
        out[(*n)++] = rec;
    }
    /* The answer is final. */
    ck_assert_int_eq(kp_record_iter_next(&it, &rec), rc);
    return rc;
}

START_TEST(iterator_reads_the_spec_batch) {
    kp_record_t recs[4];
    int n;

    ck_assert_int_eq(iterate(two_record_batch, sizeof(two_record_batch), recs, 4, &n), KP_ITER_END);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(recs[0].offset, 0);
    ck_assert(bytes_eq(recs[0].key, offset_key_spec, sizeof(offset_key_spec)));
    ck_assert(bytes_eq(recs[0].value, offset_value_spec_v3, sizeof(offset_value_spec_v3)));
    ck_assert_int_eq(recs[1].offset, 1);
    ck_assert(bytes_eq(recs[1].key, group_key_spec, sizeof(group_key_spec)));
    ck_assert_int_eq(recs[1].value.len, KP_NULL_LEN);
    ck_assert_ptr_null(recs[1].value.ptr);
}
END_TEST

/* The coordinator's path: records encoded, built into a batch, placed in
 * the log at offset 1000, read back and decoded. */
START_TEST(build_then_iterate_round_trips_with_tombstones) {
    enum { N = 40 };
    kp_writer_t keys[N], values[N], batch;
    kp_batch_record_t in[N];
    kp_record_t out[N];
    char topic[16];
    int n;

    kp_writer_init(&batch);
    for (int i = 0; i < N; i++) {
        kp_offset_commit_value_t v = {.offset = i * 1000, .leader_epoch = i, .metadata = kp_str_c("m"),
                                      .commit_timestamp = COMMIT_TS + i, .expire_timestamp = -1};
        kp_writer_init(&keys[i]);
        kp_writer_init(&values[i]);
        snprintf(topic, sizeof(topic), "topic-%d", i);
        kp_offset_commit_key_encode(&keys[i], kp_str_c("group"), kp_str_c(topic), i);
        kp_offset_commit_value_encode(&values[i], &v);
        in[i].key = bytes_of(keys[i].buf, keys[i].len);
        /* Every third record is a tombstone. */
        in[i].value = i % 3 == 2 ? (kp_bytes_t){KP_NULL_LEN, NULL} : bytes_of(values[i].buf, values[i].len);
    }
    ck_assert_int_eq(kp_batch_build(&batch, in, N, COMMIT_TS), 0);
    kp_batch_set_base_offset(batch.buf, 1000);
    ck_assert_int_eq(iterate(batch.buf, batch.len, out, N, &n), KP_ITER_END);
    ck_assert_int_eq(n, N);
    for (int i = 0; i < N; i++) {
        kp_group_key_t k;
        kp_reader_t r = reader_of(out[i].key.ptr, (size_t)out[i].key.len);
        ck_assert_int_eq(out[i].offset, 1000 + i);
        ck_assert_int_eq(kp_group_key_decode(&r, &k), 0);
        ck_assert_int_eq(k.partition, i);
        if (i % 3 == 2) {
            ck_assert_int_eq(out[i].value.len, KP_NULL_LEN);
        } else {
            kp_offset_commit_value_t v;
            r = reader_of(out[i].value.ptr, (size_t)out[i].value.len);
            ck_assert_int_eq(kp_offset_commit_value_decode(&r, &v), 0);
            ck_assert_int_eq(v.offset, i * 1000);
            ck_assert_int_eq(v.leader_epoch, i);
        }
        kp_writer_free(&keys[i]);
        kp_writer_free(&values[i]);
    }
    kp_writer_free(&batch);
}
END_TEST

START_TEST(iterator_reads_batches_it_did_not_build) {
    size_t size;
    uint8_t *b = batchfix_build(KP_CODEC_NONE, 5, 30, COMMIT_TS, 10, &size);
    kp_record_t out[5];
    int n;

    ck_assert_int_eq(iterate(b, size, out, 5, &n), KP_ITER_END);
    ck_assert_int_eq(n, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(out[i].offset, i);
        ck_assert_int_eq(out[i].key.len, KP_NULL_LEN);
        ck_assert_int_eq(out[i].value.len, 30);
        ck_assert_int_eq(out[i].value.ptr[29], 'v');
    }
    free(b);
}
END_TEST

START_TEST(compressed_batches_are_refused_as_such) {
    for (int codec = KP_CODEC_GZIP; codec <= KP_CODEC_ZSTD; codec++) {
        size_t size;
        uint8_t *b = batchfix_build(codec, 3, 20, COMMIT_TS, 1, &size);
        kp_record_iter_t it;
        kp_record_t rec;
        ck_assert_int_eq(kp_record_iter_init(&it, b, size), KP_ITER_COMPRESSED);
        ck_assert_int_eq(kp_record_iter_next(&it, &rec), KP_ITER_COMPRESSED);
        free(b);
    }
}
END_TEST

/* Copies the spec batch into a buffer of exactly size bytes, so a read
 * past it is a heap overflow under the sanitizers. */
static uint8_t *spec_batch_copy(size_t size) {
    uint8_t *b = malloc(size);

    ck_assert_ptr_nonnull(b);
    memcpy(b, two_record_batch, size < sizeof(two_record_batch) ? size : sizeof(two_record_batch));
    return b;
}

START_TEST(truncated_batches_are_corrupt_at_every_length) {
    kp_record_t out[4];
    int n;

    for (size_t size = 0; size < sizeof(two_record_batch); size++) {
        uint8_t *b = spec_batch_copy(size ? size : 1);
        /* As cut: the declared length no longer fits. */
        ck_assert_int_eq(iterate(b, size, out, 4, &n), KP_ITER_CORRUPT);
        /* With batch_length shrunk to match: the records lie. */
        if (size >= KP_BATCH_HEADER_SIZE) {
            kp_put_be(b + KP_BATCH_OFF_LENGTH, size - KP_LOG_OVERHEAD, 4);
            ck_assert_int_eq(iterate(b, size, out, 4, &n), KP_ITER_CORRUPT);
            ck_assert_int_le(n, 1);
        }
        free(b);
    }
}
END_TEST

START_TEST(lying_record_counts_are_corrupt) {
    static const uint32_t counts[] = {0, 1, 3, 0x7fffffffu, 0xffffffffu, 0x80000000u};
    uint8_t *b = spec_batch_copy(sizeof(two_record_batch));
    kp_record_t out[4];
    int n;

    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        kp_put_be(b + KP_BATCH_OFF_RECORDS_COUNT, counts[i], 4);
        ck_assert_int_eq(iterate(b, sizeof(two_record_batch), out, 4, &n), KP_ITER_CORRUPT);
        ck_assert_int_le(n, 2);
    }
    free(b);
}
END_TEST

/* Offsets inside two_record_batch of record 0's length varint and its key
 * length varint, and of record 1's value length. */
#define REC0_LENGTH_AT 61
#define REC0_KEY_LENGTH_AT 65
#define REC1_VALUE_LENGTH_AT 116

START_TEST(lying_record_lengths_are_corrupt) {
    static const struct {
        size_t at;
        uint8_t byte;
    } lies[] = {
        {REC0_LENGTH_AT, 0x58},      /* 44: one byte more than the record */
        {REC0_LENGTH_AT, 0x54},      /* 42: one byte less */
        {REC0_LENGTH_AT, 0x01},      /* -1 */
        {REC0_LENGTH_AT, 0x80},      /* with the next byte, a two-byte 0: an empty record */
        {REC0_KEY_LENGTH_AT, 0x7e},  /* key of 63 bytes in a 43-byte record */
        {REC0_KEY_LENGTH_AT, 0x03},  /* key length -2 */
        {REC1_VALUE_LENGTH_AT, 0x02}, /* a value of 1 byte where the header count is */
        {REC1_VALUE_LENGTH_AT, 0x03}, /* value length -2 */
        {REC1_VALUE_LENGTH_AT + 1, 0x01}, /* header count -1 */
        {REC1_VALUE_LENGTH_AT + 1, 0x02}, /* one header with nothing to read */
    };
    kp_record_t out[4];
    int n;

    ck_assert_uint_eq(two_record_batch[REC0_LENGTH_AT], 0x56);
    ck_assert_uint_eq(two_record_batch[REC0_KEY_LENGTH_AT], 0x1a);
    ck_assert_uint_eq(two_record_batch[REC1_VALUE_LENGTH_AT], 0x01);
    for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
        uint8_t *b = spec_batch_copy(sizeof(two_record_batch));
        b[lies[i].at] = lies[i].byte;
        ck_assert_msg(iterate(b, sizeof(two_record_batch), out, 4, &n) == KP_ITER_CORRUPT, "lie %zu", i);
        free(b);
    }
}
END_TEST

START_TEST(headers_are_skipped_and_null_keys_allowed) {
    /* One record: null key, value "v", two headers: "h" -> null and
     * "k" -> "x". */
    static const uint8_t payload[] = {
        0x1c, 0x00, 0x00, 0x00, /* length 14, attributes, deltas */
        0x01,                   /* null key */
        0x02, 'v',              /* value */
        0x04,                   /* two headers */
        0x02, 'h', 0x01,        /* "h" -> null */
        0x02, 'k', 0x02, 'x',   /* "k" -> "x" */
    };
    size_t size;
    uint8_t *b;
    kp_record_t out[2];
    int n;

    b = batchfix_wrap(KP_CODEC_NONE, 1, COMMIT_TS, payload, sizeof(payload), &size);
    ck_assert_int_eq(iterate(b, size, out, 2, &n), KP_ITER_END);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(out[0].key.len, KP_NULL_LEN);
    ck_assert(bytes_eq(out[0].value, "v", 1));
    free(b);
}
END_TEST

START_TEST(bad_headers_are_corrupt) {
    uint8_t *b = spec_batch_copy(sizeof(two_record_batch));
    kp_record_t out[4];
    int n;

    b[KP_BATCH_OFF_MAGIC] = 1;
    ck_assert_int_eq(iterate(b, sizeof(two_record_batch), out, 4, &n), KP_ITER_CORRUPT);
    b[KP_BATCH_OFF_MAGIC] = 2;
    b[KP_BATCH_OFF_ATTRIBUTES + 1] = 5; /* codec 5 does not exist */
    ck_assert_int_eq(iterate(b, sizeof(two_record_batch), out, 4, &n), KP_ITER_CORRUPT);
    b[KP_BATCH_OFF_ATTRIBUTES + 1] = 0;
    kp_put_be(b + KP_BATCH_OFF_LENGTH, KP_BATCH_HEADER_SIZE - KP_LOG_OVERHEAD - 1, 4);
    ck_assert_int_eq(iterate(b, sizeof(two_record_batch), out, 4, &n), KP_ITER_CORRUPT);
    kp_put_be(b + KP_BATCH_OFF_LENGTH, 0xffffffffu, 4);
    ck_assert_int_eq(iterate(b, sizeof(two_record_batch), out, 4, &n), KP_ITER_CORRUPT);
    free(b);
}
END_TEST

START_TEST(offsets_past_int64_max_are_corrupt) {
    uint8_t *b = spec_batch_copy(sizeof(two_record_batch));
    kp_record_t out[4];
    int n;

    kp_batch_set_base_offset(b, INT64_MAX);
    ck_assert_int_eq(iterate(b, sizeof(two_record_batch), out, 4, &n), KP_ITER_CORRUPT);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(out[0].offset, INT64_MAX);
    free(b);
}
END_TEST

Suite *group_records_suite(void) {
    Suite *s = suite_create("group_records");
    TCase *keys = tcase_create("keys");
    TCase *values = tcase_create("values");
    TCase *hash = tcase_create("hash");
    TCase *batch = tcase_create("batch");

    tcase_add_test(keys, offset_commit_key_matches_the_spec_example);
    tcase_add_test(keys, group_metadata_key_matches_the_spec_example);
    tcase_add_test(keys, offset_key_version_0_is_an_offset_commit_too);
    tcase_add_test(keys, unknown_key_versions_are_reported_not_decoded);
    tcase_add_test(keys, truncated_keys_are_rejected_at_every_length);
    tcase_add_test(keys, keys_with_trailing_bytes_or_null_strings_are_rejected);
    tcase_add_test(values, offset_value_v3_matches_the_spec_example);
    tcase_add_test(values, offset_value_with_an_expire_timestamp_is_written_as_v1);
    tcase_add_test(values, every_offset_value_version_round_trips);
    tcase_add_test(values, offset_values_truncated_or_padded_are_rejected);
    tcase_add_test(values, offset_values_of_unknown_versions_or_null_metadata_are_rejected);
    tcase_add_test(values, group_value_v3_bytes_are_exact);
    tcase_add_test(values, empty_group_value_keeps_its_nulls);
    tcase_add_test(values, every_group_value_version_round_trips);
    tcase_add_test(values, group_value_encoder_writes_forbidden_nulls_as_empty);
    tcase_add_test(values, truncated_group_values_are_rejected_at_every_length);
    tcase_add_test(values, group_values_with_trailing_bytes_or_unknown_versions_are_rejected);
    tcase_add_test(values, hostile_member_counts_are_rejected_without_allocating);
    tcase_add_test(values, a_count_one_too_high_fails_after_allocating_and_clear_frees);
    tcase_add_test(values, null_member_id_or_protocol_type_is_rejected);
    tcase_add_test(hash, group_partition_matches_every_spec_vector);
    tcase_add_test(hash, malformed_utf8_hashes_as_java_decodes_it);
    tcase_add_test(hash, group_partition_edge_cases);
    tcase_add_test(batch, built_batch_bytes_are_exact);
    tcase_add_test(batch, built_batch_passes_the_log_checks);
    tcase_add_test(batch, batch_is_appended_after_what_the_writer_holds);
    tcase_add_test(batch, empty_or_oversized_batches_are_refused);
    tcase_add_test(batch, iterator_reads_the_spec_batch);
    tcase_add_test(batch, build_then_iterate_round_trips_with_tombstones);
    tcase_add_test(batch, iterator_reads_batches_it_did_not_build);
    tcase_add_test(batch, compressed_batches_are_refused_as_such);
    tcase_add_test(batch, truncated_batches_are_corrupt_at_every_length);
    tcase_add_test(batch, lying_record_counts_are_corrupt);
    tcase_add_test(batch, lying_record_lengths_are_corrupt);
    tcase_add_test(batch, headers_are_skipped_and_null_keys_allowed);
    tcase_add_test(batch, bad_headers_are_corrupt);
    tcase_add_test(batch, offsets_past_int64_max_are_corrupt);
    suite_add_tcase(s, keys);
    suite_add_tcase(s, values);
    suite_add_tcase(s, hash);
    suite_add_tcase(s, batch);
    return s;
}
