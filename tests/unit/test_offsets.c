/*
 * test_offsets.c - OffsetCommit and OffsetFetch codecs (proto/kp_offsets.c,
 * group-protocol.md 2.6 and 2.7).
 *
 * No client frames of these APIs have been captured yet: every fixture
 * below was written by hand from the field tables of group-protocol.md
 * (2.6, 2.7) and laid out as the clients named there fill the fields in
 * (kafka-python commits with v2 and fetches with v1, librdkafka commits
 * with v7 and a null group instance id, KafkaJS fetches "all" with a null
 * topic array).  Each field's bytes carry a comment.
 *
 * OffsetCommit has only the broker side in the library, so its round trips
 * go through the small request writer below (commit_request_write); the
 * fixtures hold that writer and the decoder to the spec.  OffsetFetch has
 * both sides: each of its requests and responses is encoded, decoded and
 * encoded again for every version.  Bad bodies: every truncation, trailing
 * bytes, negative and oversized counts (counts are capped by the smallest
 * element of that version), null where the schema has no null, and
 * versions outside the handled range.
 */
#include <string.h>

#include "proto/kp_header.h"
#include "proto/kp_offsets.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

/* ------------------------------------------------------------- fixtures */

/* OffsetCommit v2 as kafka-python's consumer sends it: correlation 7,
 * client "kafka-python", group "my-group", generation 3, member "m-1",
 * retention -1; topic "t", partition 0 at 42 (metadata ""), partition 1 at
 * 7 (metadata "x"). */
static const uint8_t kafkapython_offsetcommit_v2[] = {
    0x00, 0x00, 0x00, 0x59,                         /* size 89 */
    0x00, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07, /* key 8, v2, corr 7 */
    0x00, 0x0c, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n',
    0x00, 0x08, 'm', 'y', '-', 'g', 'r', 'o', 'u', 'p', /* group_id */
    0x00, 0x00, 0x00, 0x03,                         /* generation_id 3 */
    0x00, 0x03, 'm', '-', '1',                      /* member_id */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* retention_time_ms -1 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',        /* topics: 1, "t" */
    0x00, 0x00, 0x00, 0x02,                         /* partitions: 2 */
    0x00, 0x00, 0x00, 0x00,                         /* partition_index 0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* committed_offset 42 */
    0x00, 0x00,                                     /* committed_metadata "" */
    0x00, 0x00, 0x00, 0x01,                         /* partition_index 1 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, /* committed_offset 7 */
    0x00, 0x01, 'x',                                /* committed_metadata "x" */
};

/* OffsetCommit v7 as librdkafka sends it: correlation 9, client "rdkafka",
 * group "g", generation 1, member "m", no group instance id; topic "t",
 * partition 0 at 100, leader epoch -1, metadata "". */
static const uint8_t librdkafka_offsetcommit_v7[] = {
    0x00, 0x00, 0x00, 0x3a,                         /* size 58 */
    0x00, 0x08, 0x00, 0x07, 0x00, 0x00, 0x00, 0x09, /* key 8, v7, corr 9 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0x00, 0x01, 'g',                                /* group_id */
    0x00, 0x00, 0x00, 0x01,                         /* generation_id 1 */
    0x00, 0x01, 'm',                                /* member_id */
    0xff, 0xff,                                     /* group_instance_id null */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',        /* topics: 1, "t" */
    0x00, 0x00, 0x00, 0x01,                         /* partitions: 1 */
    0x00, 0x00, 0x00, 0x00,                         /* partition_index 0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, /* committed_offset 100 */
    0xff, 0xff, 0xff, 0xff,                         /* committed_leader_epoch -1 */
    0x00, 0x00,                                     /* committed_metadata "" */
};

/* An OffsetCommit v1 body outside group management: group "g", generation
 * -1, member "", topic "t" partition 3 at 5, commit_timestamp 1000, null
 * metadata. */
static const uint8_t offsetcommit_v1_body[] = {
    0x00, 0x01, 'g',                                /* group_id */
    0xff, 0xff, 0xff, 0xff,                         /* generation_id -1 */
    0x00, 0x00,                                     /* member_id "" */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',        /* topics: 1, "t" */
    0x00, 0x00, 0x00, 0x01,                         /* partitions: 1 */
    0x00, 0x00, 0x00, 0x03,                         /* partition_index 3 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* committed_offset 5 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, /* commit_timestamp 1000 */
    0xff, 0xff,                                     /* committed_metadata null */
};

/* OffsetFetch v1 as kafka-python's consumer sends it: correlation 11,
 * group "my-group", topic "t" partitions 0 and 1. */
static const uint8_t kafkapython_offsetfetch_v1[] = {
    0x00, 0x00, 0x00, 0x33,                         /* size 51 */
    0x00, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0b, /* key 9, v1, corr 11 */
    0x00, 0x0c, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n',
    0x00, 0x08, 'm', 'y', '-', 'g', 'r', 'o', 'u', 'p', /* group_id */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',        /* topics: 1, "t" */
    0x00, 0x00, 0x00, 0x02,                         /* partition_indexes: 2 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* 0, 1 */
};

/* OffsetFetch v3 for every partition, as KafkaJS sends an empty topic list:
 * correlation 4, client "kafkajs", group "g", topics null. */
static const uint8_t kafkajs_offsetfetch_v3_all[] = {
    0x00, 0x00, 0x00, 0x18,                         /* size 24 */
    0x00, 0x09, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, /* key 9, v3, corr 4 */
    0x00, 0x07, 'k', 'a', 'f', 'k', 'a', 'j', 's',  /* client_id */
    0x00, 0x01, 'g',                                /* group_id */
    0xff, 0xff, 0xff, 0xff,                         /* topics: null */
};

/* The same with an empty (not null) topic array: "no partitions". */
static const uint8_t offsetfetch_v3_empty_body[] = {
    0x00, 0x01, 'g',        /* group_id */
    0x00, 0x00, 0x00, 0x00, /* topics: 0 */
};

/* ------------------------------------------------------------- helpers */

static int commit_decode(const uint8_t *body, size_t len, int16_t version, kp_offsetcommit_request_t *req) {
    kp_reader_t r;

    kp_reader_init(&r, body, len);
    return kp_offsetcommit_request_decode(&r, version, req);
}

static int fetch_decode(const uint8_t *body, size_t len, int16_t version, kp_offsetfetch_request_t *req) {
    kp_reader_t r;

    kp_reader_init(&r, body, len);
    return kp_offsetfetch_request_decode(&r, version, req);
}

static int fetch_response_decode(const uint8_t *body, size_t len, int16_t version, kp_offsetfetch_response_t *resp) {
    kp_reader_t r;

    kp_reader_init(&r, body, len);
    return kp_offsetfetch_response_decode(&r, version, resp);
}

/* Decodes and releases; only the verdict is kept (for the bad-body loops). */
static int commit_verdict(const uint8_t *b, size_t n, int16_t v) {
    kp_offsetcommit_request_t req;
    int rc = commit_decode(b, n, v, &req);

    kp_offsetcommit_request_clear(&req);
    return rc;
}

static int fetch_verdict(const uint8_t *b, size_t n, int16_t v) {
    kp_offsetfetch_request_t req;
    int rc = fetch_decode(b, n, v, &req);

    kp_offsetfetch_request_clear(&req);
    return rc;
}

static int fetch_response_verdict(const uint8_t *b, size_t n, int16_t v) {
    kp_offsetfetch_response_t resp;
    int rc = fetch_response_decode(b, n, v, &resp);

    kp_offsetfetch_response_clear(&resp);
    return rc;
}

/* The body of a fixture frame whose header has a client id of idlen bytes. */
static const uint8_t *frame_body(const uint8_t *frame, size_t size, size_t idlen, size_t *len) {
    size_t skip = 4 + 8 + 2 + idlen;

    *len = size - skip;
    return frame + skip;
}

/* ------------------------------------------------- OffsetCommit requests */

/* Writes an OffsetCommit request of `version` the way a client would (the
 * test's stand-in for a client-side encoder). */
static void commit_request_write(kp_writer_t *w, int16_t version, const kp_offsetcommit_request_t *req) {
    kp_write_str(w, req->group_id);
    if (version >= 1) {
        kp_write_int32(w, req->generation_id);
        kp_write_str(w, req->member_id);
    }
    if (version >= 7) kp_write_str(w, req->group_instance_id);
    if (version >= 2 && version <= 4) kp_write_int64(w, req->retention_time_ms);
    kp_write_array_count(w, req->n_topics);
    for (int32_t i = 0; i < req->n_topics; i++) {
        const kp_offsetcommit_request_topic_t *t = &req->topics[i];
        kp_write_str(w, t->name);
        kp_write_array_count(w, t->n_partitions);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const kp_offsetcommit_request_partition_t *p = &t->partitions[j];
            kp_write_int32(w, p->partition_index);
            kp_write_int64(w, p->committed_offset);
            if (version >= 6) kp_write_int32(w, p->committed_leader_epoch);
            if (version == 1) kp_write_int64(w, p->commit_timestamp);
            kp_write_str(w, p->committed_metadata);
        }
    }
}

START_TEST(offsetcommit_kafkapython_v2_frame_decodes) {
    kp_reader_t r;
    kp_request_header_t h;
    kp_offsetcommit_request_t req;
    const kp_offsetcommit_request_partition_t *p;

    protofix_open_frame(&r, kafkapython_offsetcommit_v2, sizeof(kafkapython_offsetcommit_v2),
                        KP_API_OFFSET_COMMIT, 1, &h);
    ck_assert_int_eq(h.request_api_version, 2);
    ck_assert(kp_str_eq(h.client_id, "kafka-python"));
    ck_assert_int_eq(kp_offsetcommit_request_decode(&r, 2, &req), 0);
    ck_assert(kp_str_eq(req.group_id, "my-group"));
    ck_assert_int_eq(req.generation_id, 3);
    ck_assert(kp_str_eq(req.member_id, "m-1"));
    ck_assert_int_lt(req.group_instance_id.len, 0);
    ck_assert(req.retention_time_ms == KP_OFFSETCOMMIT_DEFAULT_RETENTION);
    ck_assert_int_eq(req.n_topics, 1);
    ck_assert(kp_str_eq(req.topics[0].name, "t"));
    ck_assert_int_eq(req.topics[0].n_partitions, 2);
    p = req.topics[0].partitions;
    ck_assert_int_eq(p[0].partition_index, 0);
    ck_assert(p[0].committed_offset == 42);
    ck_assert(kp_str_eq(p[0].committed_metadata, ""));
    ck_assert_int_eq(p[0].committed_leader_epoch, KP_NO_LEADER_EPOCH);
    ck_assert(p[0].commit_timestamp == KP_OFFSETCOMMIT_BROKER_TIME);
    ck_assert_int_eq(p[1].partition_index, 1);
    ck_assert(p[1].committed_offset == 7);
    ck_assert(kp_str_eq(p[1].committed_metadata, "x"));
    kp_offsetcommit_request_clear(&req);
}
END_TEST

START_TEST(offsetcommit_librdkafka_v7_frame_decodes) {
    kp_reader_t r;
    kp_request_header_t h;
    kp_offsetcommit_request_t req;
    const kp_offsetcommit_request_partition_t *p;

    protofix_open_frame(&r, librdkafka_offsetcommit_v7, sizeof(librdkafka_offsetcommit_v7),
                        KP_API_OFFSET_COMMIT, 1, &h);
    ck_assert_int_eq(h.request_api_version, 7);
    ck_assert_int_eq(kp_offsetcommit_request_decode(&r, 7, &req), 0);
    ck_assert(kp_str_eq(req.group_id, "g"));
    ck_assert_int_eq(req.generation_id, 1);
    ck_assert(kp_str_eq(req.member_id, "m"));
    ck_assert_int_lt(req.group_instance_id.len, 0);
    ck_assert_ptr_null(req.group_instance_id.ptr);
    ck_assert(req.retention_time_ms == KP_OFFSETCOMMIT_DEFAULT_RETENTION);
    ck_assert_int_eq(req.n_topics, 1);
    p = req.topics[0].partitions;
    ck_assert_int_eq(req.topics[0].n_partitions, 1);
    ck_assert(p[0].committed_offset == 100);
    ck_assert_int_eq(p[0].committed_leader_epoch, -1);
    ck_assert(kp_str_eq(p[0].committed_metadata, ""));
    kp_offsetcommit_request_clear(&req);
}
END_TEST

START_TEST(offsetcommit_v1_carries_commit_timestamp_and_null_metadata) {
    kp_offsetcommit_request_t req;
    const kp_offsetcommit_request_partition_t *p;

    ck_assert_int_eq(commit_decode(offsetcommit_v1_body, sizeof(offsetcommit_v1_body), 1, &req), 0);
    ck_assert_int_eq(req.generation_id, KP_NO_GENERATION);
    ck_assert(kp_str_eq(req.member_id, ""));
    ck_assert(req.retention_time_ms == KP_OFFSETCOMMIT_DEFAULT_RETENTION);
    p = req.topics[0].partitions;
    ck_assert_int_eq(p[0].partition_index, 3);
    ck_assert(p[0].committed_offset == 5);
    ck_assert(p[0].commit_timestamp == 1000);
    ck_assert_int_lt(p[0].committed_metadata.len, 0);
    kp_offsetcommit_request_clear(&req);
}
END_TEST

/* One request with every field set to something other than its "none". */
static kp_offsetcommit_request_partition_t full_commit_parts[] = {
    {0, 42, 5, 1700000000000, {2, "md"}},
    {9, 0, 6, 1700000000001, {KP_NULL_LEN, NULL}},
};
static kp_offsetcommit_request_topic_t full_commit_topics[] = {
    {{1, "a"}, 2, full_commit_parts},
    {{2, "bb"}, 0, NULL},
};
static const kp_offsetcommit_request_t full_commit = {
    {5, "group"}, 7, {6, "member"}, {4, "inst"}, 60000, 2, full_commit_topics,
};

/* What the decoder must see of full_commit in `version`. */
static void check_full_commit(const kp_offsetcommit_request_t *req, int16_t version) {
    const kp_offsetcommit_request_partition_t *p = req->topics[0].partitions;

    ck_assert(kp_str_eq(req->group_id, "group"));
    ck_assert_int_eq(req->generation_id, version >= 1 ? 7 : -1);
    ck_assert(kp_str_eq(req->member_id, version >= 1 ? "member" : ""));
    if (version >= 7)
        ck_assert(kp_str_eq(req->group_instance_id, "inst"));
    else
        ck_assert_int_lt(req->group_instance_id.len, 0);
    ck_assert(req->retention_time_ms == (version >= 2 && version <= 4 ? 60000 : -1));
    ck_assert_int_eq(req->n_topics, 2);
    ck_assert(kp_str_eq(req->topics[1].name, "bb"));
    ck_assert_int_eq(req->topics[1].n_partitions, 0);
    ck_assert_int_eq(req->topics[0].n_partitions, 2);
    ck_assert_int_eq(p[1].partition_index, 9);
    ck_assert(p[0].committed_offset == 42);
    ck_assert_int_eq(p[0].committed_leader_epoch, version >= 6 ? 5 : -1);
    ck_assert(p[0].commit_timestamp == (version == 1 ? 1700000000000 : -1));
    ck_assert(kp_str_eq(p[0].committed_metadata, "md"));
    ck_assert_int_lt(p[1].committed_metadata.len, 0);
}

START_TEST(offsetcommit_every_version_round_trips) {
    for (int16_t v = 0; v <= KP_OFFSETCOMMIT_VERSION_MAX; v++) {
        kp_writer_t w;
        kp_offsetcommit_request_t req;

        kp_writer_init(&w);
        commit_request_write(&w, v, &full_commit);
        ck_assert_int_eq(w.err, 0);
        ck_assert_int_eq(commit_decode(w.buf, w.len, v, &req), 0);
        check_full_commit(&req, v);
        kp_offsetcommit_request_clear(&req);
        protofix_truncations_fail(commit_verdict, w.buf, w.len, v);
        protofix_trailing_fails(commit_verdict, w.buf, w.len, v);
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(offsetcommit_fixtures_refuse_truncation_and_trailing_bytes) {
    size_t len;
    const uint8_t *b = frame_body(kafkapython_offsetcommit_v2, sizeof(kafkapython_offsetcommit_v2), 12, &len);

    protofix_truncations_fail(commit_verdict, b, len, 2);
    protofix_trailing_fails(commit_verdict, b, len, 2);
    b = frame_body(librdkafka_offsetcommit_v7, sizeof(librdkafka_offsetcommit_v7), 7, &len);
    protofix_truncations_fail(commit_verdict, b, len, 7);
    protofix_trailing_fails(commit_verdict, b, len, 7);
    protofix_truncations_fail(commit_verdict, offsetcommit_v1_body, sizeof(offsetcommit_v1_body), 1);
    protofix_trailing_fails(commit_verdict, offsetcommit_v1_body, sizeof(offsetcommit_v1_body), 1);
}
END_TEST

START_TEST(offsetcommit_negative_counts_are_rejected) {
    static const uint8_t topics[] = {0x00, 0x01, 'g', 0xff, 0xff, 0xff, 0xff};
    static const uint8_t partitions[] = {0x00, 0x01, 'g', 0x00, 0x00, 0x00, 0x01,
                                         0x00, 0x01, 't', 0xff, 0xff, 0xff, 0xfe};
    kp_offsetcommit_request_t req;

    ck_assert_int_eq(commit_decode(topics, sizeof(topics), 0, &req), KP_BUF_INVALID);
    ck_assert_ptr_null(req.topics);
    kp_offsetcommit_request_clear(&req);
    ck_assert_int_eq(commit_decode(partitions, sizeof(partitions), 0, &req), KP_BUF_INVALID);
    ck_assert_ptr_null(req.topics[0].partitions);
    kp_offsetcommit_request_clear(&req);
}
END_TEST

/* v6 partitions take at least 18 bytes (index, offset, epoch, metadata):
 * two of them do not fit in 35, so nothing is allocated for them, although
 * they would under the 14-byte minimum of v0. */
START_TEST(offsetcommit_partition_count_is_capped_by_the_version_minimum) {
    uint8_t body[3 + 4 + 2 + 4 + 3 + 4 + 35] = {0x00, 0x01, 'g', 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
                                                0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  0x00, 0x00,
                                                0x00, 0x02};
    kp_offsetcommit_request_t req;

    ck_assert_int_eq(commit_decode(body, sizeof(body), 6, &req), KP_BUF_SHORT);
    ck_assert_int_eq(req.n_topics, 1);
    ck_assert_ptr_null(req.topics[0].partitions);
    kp_offsetcommit_request_clear(&req);
}
END_TEST

START_TEST(offsetcommit_hostile_topic_count_allocates_nothing) {
    static const uint8_t body[] = {0x00, 0x01, 'g', 0x7f, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
    kp_offsetcommit_request_t req;

    ck_assert_int_eq(commit_decode(body, sizeof(body), 0, &req), KP_BUF_SHORT);
    ck_assert_ptr_null(req.topics);
    ck_assert_int_eq(req.n_topics, 0);
    kp_offsetcommit_request_clear(&req);
}
END_TEST

START_TEST(offsetcommit_null_where_not_nullable_is_rejected) {
    static const uint8_t null_group[] = {0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t null_member[] = {0x00, 0x01, 'g', 0x00, 0x00, 0x00, 0x01,
                                          0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t null_topic[] = {0x00, 0x01, 'g', 0x00, 0x00, 0x00, 0x01, 0xff,
                                         0xff, 0x00, 0x00, 0x00, 0x00};

    ck_assert_int_eq(commit_verdict(null_group, sizeof(null_group), 0), KP_BUF_INVALID);
    ck_assert_int_eq(commit_verdict(null_member, sizeof(null_member), 1), KP_BUF_INVALID);
    ck_assert_int_eq(commit_verdict(null_topic, sizeof(null_topic), 0), KP_BUF_INVALID);
}
END_TEST

START_TEST(offsetcommit_unhandled_versions_are_refused) {
    size_t len;
    const uint8_t *b = frame_body(librdkafka_offsetcommit_v7, sizeof(librdkafka_offsetcommit_v7), 7, &len);

    ck_assert_int_eq(commit_verdict(b, len, 8), KP_BUF_INVALID);
    ck_assert_int_eq(commit_verdict(b, len, -1), KP_BUF_INVALID);
}
END_TEST

/* ------------------------------------------------ OffsetCommit responses */

static const kp_offsetcommit_response_partition_t commit_resp_parts[] = {
    {0, KP_ERR_NONE},
    {1, KP_ERR_OFFSET_METADATA_TOO_LARGE},
};
static const kp_offsetcommit_response_topic_t commit_resp_topic = {{1, "t"}, 2, commit_resp_parts};
static const kp_offsetcommit_response_t commit_resp = {100, 1, &commit_resp_topic};

START_TEST(offsetcommit_response_bytes_are_exact) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x64,                   /* throttle_time_ms (v3+) */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  /* topics: 1, "t" */
        0x00, 0x00, 0x00, 0x02,                   /* partitions: 2 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,       /* 0: NONE */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x0c,       /* 1: OFFSET_METADATA_TOO_LARGE */
    };

    for (int16_t v = 0; v <= KP_OFFSETCOMMIT_VERSION_MAX; v++) {
        size_t skip = v >= 3 ? 0 : 4;
        kp_writer_t w;

        kp_writer_init(&w);
        ck_assert_int_eq(kp_offsetcommit_response_encode(&w, v, &commit_resp), 0);
        ck_assert_uint_eq(w.len, sizeof(want) - skip);
        ck_assert_mem_eq(w.buf, want + skip, sizeof(want) - skip);
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(offsetcommit_response_version_out_of_range_is_refused) {
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_offsetcommit_response_encode(&w, 8, &commit_resp), KP_BUF_INVALID);
    ck_assert_int_eq(kp_offsetcommit_response_encode(&w, -1, &commit_resp), KP_BUF_INVALID);
    ck_assert_uint_eq(w.len, 0);
    kp_writer_free(&w);
}
END_TEST

/* -------------------------------------------------- OffsetFetch requests */

START_TEST(offsetfetch_kafkapython_v1_frame_decodes) {
    kp_reader_t r;
    kp_request_header_t h;
    kp_offsetfetch_request_t req;

    protofix_open_frame(&r, kafkapython_offsetfetch_v1, sizeof(kafkapython_offsetfetch_v1),
                        KP_API_OFFSET_FETCH, 1, &h);
    ck_assert_int_eq(h.request_api_version, 1);
    ck_assert_int_eq(kp_offsetfetch_request_decode(&r, 1, &req), 0);
    ck_assert(kp_str_eq(req.group_id, "my-group"));
    ck_assert(!req.topics_null);
    ck_assert_int_eq(req.n_topics, 1);
    ck_assert(kp_str_eq(req.topics[0].name, "t"));
    ck_assert_int_eq(req.topics[0].n_partition_indexes, 2);
    ck_assert_int_eq(req.topics[0].partition_indexes[0], 0);
    ck_assert_int_eq(req.topics[0].partition_indexes[1], 1);
    kp_offsetfetch_request_clear(&req);
}
END_TEST

START_TEST(offsetfetch_null_topics_from_v2_ask_for_everything) {
    kp_reader_t r;
    kp_request_header_t h;
    kp_offsetfetch_request_t req;

    protofix_open_frame(&r, kafkajs_offsetfetch_v3_all, sizeof(kafkajs_offsetfetch_v3_all),
                        KP_API_OFFSET_FETCH, 1, &h);
    ck_assert_int_eq(kp_offsetfetch_request_decode(&r, h.request_api_version, &req), 0);
    ck_assert(kp_str_eq(req.group_id, "g"));
    ck_assert(req.topics_null);
    ck_assert_int_eq(req.n_topics, 0);
    ck_assert_ptr_null(req.topics);
    kp_offsetfetch_request_clear(&req);
}
END_TEST

START_TEST(offsetfetch_empty_topic_array_is_not_null) {
    kp_offsetfetch_request_t req;

    for (int16_t v = 0; v <= KP_OFFSETFETCH_VERSION_MAX; v++) {
        ck_assert_int_eq(fetch_decode(offsetfetch_v3_empty_body, sizeof(offsetfetch_v3_empty_body), v, &req), 0);
        ck_assert(!req.topics_null);
        ck_assert_int_eq(req.n_topics, 0);
        kp_offsetfetch_request_clear(&req);
    }
}
END_TEST

START_TEST(offsetfetch_null_topics_below_v2_are_refused) {
    size_t len;
    const uint8_t *b = frame_body(kafkajs_offsetfetch_v3_all, sizeof(kafkajs_offsetfetch_v3_all), 7, &len);
    kp_offsetfetch_request_t all = {{1, "g"}, true, 0, NULL};
    kp_writer_t w;

    ck_assert_int_eq(fetch_verdict(b, len, 0), KP_BUF_INVALID);
    ck_assert_int_eq(fetch_verdict(b, len, 1), KP_BUF_INVALID);
    ck_assert_int_eq(fetch_verdict(b, len, 2), 0);
    kp_writer_init(&w);
    ck_assert_int_eq(kp_offsetfetch_request_encode(&w, 1, &all), KP_BUF_INVALID);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_int_eq(kp_offsetfetch_request_encode(&w, 2, &all), 0);
    ck_assert_uint_eq(w.len, len);
    ck_assert_mem_eq(w.buf, b, len);
    kp_writer_free(&w);
}
END_TEST

static int32_t fetch_parts_a[] = {0, 1, 2};
static kp_offsetfetch_request_topic_t fetch_req_topics[] = {
    {{1, "a"}, 3, fetch_parts_a},
    {{2, "bb"}, 0, NULL},
};
static const kp_offsetfetch_request_t fetch_req = {{5, "group"}, false, 2, fetch_req_topics};

/* encode -> decode -> encode gives the same bytes, in every version; the
 * bytes also refuse every truncation and a trailing byte. */
static void fetch_request_round_trip(int16_t v, const kp_offsetfetch_request_t *in) {
    kp_writer_t w, again;
    kp_offsetfetch_request_t req;

    kp_writer_init(&w);
    kp_writer_init(&again);
    ck_assert_int_eq(kp_offsetfetch_request_encode(&w, v, in), 0);
    ck_assert_int_eq(fetch_decode(w.buf, w.len, v, &req), 0);
    ck_assert(kp_str_eq(req.group_id, "group"));
    ck_assert(req.topics_null == in->topics_null);
    ck_assert_int_eq(req.n_topics, in->n_topics);
    for (int32_t i = 0; i < req.n_topics; i++) {
        ck_assert_int_eq(req.topics[i].n_partition_indexes, in->topics[i].n_partition_indexes);
        for (int32_t j = 0; j < req.topics[i].n_partition_indexes; j++)
            ck_assert_int_eq(req.topics[i].partition_indexes[j], in->topics[i].partition_indexes[j]);
    }
    ck_assert_int_eq(kp_offsetfetch_request_encode(&again, v, &req), 0);
    ck_assert_uint_eq(again.len, w.len);
    ck_assert_mem_eq(again.buf, w.buf, w.len);
    kp_offsetfetch_request_clear(&req);
    protofix_truncations_fail(fetch_verdict, w.buf, w.len, v);
    protofix_trailing_fails(fetch_verdict, w.buf, w.len, v);
    kp_writer_free(&w);
    kp_writer_free(&again);
}

START_TEST(offsetfetch_request_every_version_round_trips) {
    kp_offsetfetch_request_t all = {{5, "group"}, true, 0, NULL};

    for (int16_t v = 0; v <= KP_OFFSETFETCH_VERSION_MAX; v++) {
        fetch_request_round_trip(v, &fetch_req);
        if (v >= 2) fetch_request_round_trip(v, &all);
    }
}
END_TEST

START_TEST(offsetfetch_fixtures_refuse_truncation_and_trailing_bytes) {
    size_t len;
    const uint8_t *b = frame_body(kafkapython_offsetfetch_v1, sizeof(kafkapython_offsetfetch_v1), 12, &len);

    protofix_truncations_fail(fetch_verdict, b, len, 1);
    protofix_trailing_fails(fetch_verdict, b, len, 1);
    b = frame_body(kafkajs_offsetfetch_v3_all, sizeof(kafkajs_offsetfetch_v3_all), 7, &len);
    protofix_truncations_fail(fetch_verdict, b, len, 3);
    protofix_trailing_fails(fetch_verdict, b, len, 3);
}
END_TEST

START_TEST(offsetfetch_bad_counts_are_rejected_without_allocating) {
    static const uint8_t minus_two[] = {0x00, 0x01, 'g', 0xff, 0xff, 0xff, 0xfe};
    /* Three partition indexes announced, eight bytes left. */
    static const uint8_t indexes[] = {0x00, 0x01, 'g', 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  0x00,
                                      0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
    kp_offsetfetch_request_t req;

    ck_assert_int_eq(fetch_decode(minus_two, sizeof(minus_two), 3, &req), KP_BUF_INVALID);
    ck_assert(!req.topics_null);
    kp_offsetfetch_request_clear(&req);
    ck_assert_int_eq(fetch_decode(indexes, sizeof(indexes), 1, &req), KP_BUF_SHORT);
    ck_assert_ptr_null(req.topics[0].partition_indexes);
    kp_offsetfetch_request_clear(&req);
}
END_TEST

START_TEST(offsetfetch_unhandled_versions_are_refused) {
    kp_writer_t w;

    ck_assert_int_eq(fetch_verdict(offsetfetch_v3_empty_body, sizeof(offsetfetch_v3_empty_body), 6), KP_BUF_INVALID);
    ck_assert_int_eq(fetch_verdict(offsetfetch_v3_empty_body, sizeof(offsetfetch_v3_empty_body), -1), KP_BUF_INVALID);
    kp_writer_init(&w);
    ck_assert_int_eq(kp_offsetfetch_request_encode(&w, 6, &fetch_req), KP_BUF_INVALID);
    ck_assert_uint_eq(w.len, 0);
    kp_writer_free(&w);
}
END_TEST

/* ------------------------------------------------- OffsetFetch responses */

/* Topic "t": partition 0 committed at 42 (leader epoch 3, metadata "m"),
 * partition 1 with nothing committed; no group error. */
static kp_offsetfetch_response_partition_t fetch_resp_parts[] = {
    {0, 42, 3, {1, "m"}, KP_ERR_NONE},
    {1, -1, -1, {0, ""}, KP_ERR_NONE},
};
static kp_offsetfetch_response_topic_t fetch_resp_topic = {{1, "t"}, 2, fetch_resp_parts};

/* The v5 encoding of that answer with throttle 0 and error 0; older
 * versions drop the throttle time (v0-2), the leader epochs (v0-4) and the
 * trailing error code (v0-1). */
static const uint8_t fetch_resp_v5[] = {
    0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms (v3+) */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',        /* topics: 1, "t" */
    0x00, 0x00, 0x00, 0x02,                         /* partitions: 2 */
    0x00, 0x00, 0x00, 0x00,                         /* partition_index 0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* committed_offset 42 */
    0x00, 0x00, 0x00, 0x03,                         /* committed_leader_epoch 3 (v5+) */
    0x00, 0x01, 'm',                                /* metadata "m" */
    0x00, 0x00,                                     /* error_code */
    0x00, 0x00, 0x00, 0x01,                         /* partition_index 1 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* committed_offset -1 */
    0xff, 0xff, 0xff, 0xff,                         /* committed_leader_epoch -1 (v5+) */
    0x00, 0x00,                                     /* metadata "" */
    0x00, 0x00,                                     /* error_code */
    0x00, 0x00,                                     /* error_code (v2+), last */
};

/* v1 of the same answer: no throttle, no epochs, no top-level error. */
static const uint8_t fetch_resp_v1[] = {
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',        /* topics: 1, "t" */
    0x00, 0x00, 0x00, 0x02,                         /* partitions: 2 */
    0x00, 0x00, 0x00, 0x00,                         /* partition_index 0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* committed_offset 42 */
    0x00, 0x01, 'm',                                /* metadata "m" */
    0x00, 0x00,                                     /* error_code */
    0x00, 0x00, 0x00, 0x01,                         /* partition_index 1 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* committed_offset -1 */
    0x00, 0x00,                                     /* metadata "" */
    0x00, 0x00,                                     /* error_code */
};

/* v2 with a group-level error: no topics, NOT_COORDINATOR at the end. */
static const uint8_t fetch_resp_v2_group_error[] = {
    0x00, 0x00, 0x00, 0x00, /* topics: 0 */
    0x00, 0x10,             /* error_code 16 */
};

START_TEST(offsetfetch_response_bytes_follow_the_spec_table) {
    kp_offsetfetch_response_t resp = {0, 1, &fetch_resp_topic, KP_ERR_NONE};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_offsetfetch_response_encode(&w, 5, &resp), 0);
    ck_assert_uint_eq(w.len, sizeof(fetch_resp_v5));
    ck_assert_mem_eq(w.buf, fetch_resp_v5, sizeof(fetch_resp_v5));
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_offsetfetch_response_encode(&w, 1, &resp), 0);
    ck_assert_uint_eq(w.len, sizeof(fetch_resp_v1));
    ck_assert_mem_eq(w.buf, fetch_resp_v1, sizeof(fetch_resp_v1));
    kp_writer_free(&w);
}
END_TEST

START_TEST(offsetfetch_group_error_is_the_last_field_from_v2) {
    kp_offsetfetch_response_t resp = {0, 0, NULL, KP_ERR_NOT_COORDINATOR};
    kp_offsetfetch_response_t back;
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_offsetfetch_response_encode(&w, 2, &resp), 0);
    ck_assert_uint_eq(w.len, sizeof(fetch_resp_v2_group_error));
    ck_assert_mem_eq(w.buf, fetch_resp_v2_group_error, sizeof(fetch_resp_v2_group_error));
    ck_assert_int_eq(fetch_response_decode(w.buf, w.len, 2, &back), 0);
    ck_assert_int_eq(back.error_code, KP_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(back.n_topics, 0);
    kp_offsetfetch_response_clear(&back);
    /* v0-1 have no place for it: only the (empty) topic array is written. */
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_offsetfetch_response_encode(&w, 1, &resp), 0);
    ck_assert_uint_eq(w.len, 4);
    kp_writer_free(&w);
}
END_TEST

START_TEST(offsetfetch_v1_response_fixture_decodes) {
    kp_offsetfetch_response_t resp;
    const kp_offsetfetch_response_partition_t *p;

    ck_assert_int_eq(fetch_response_decode(fetch_resp_v1, sizeof(fetch_resp_v1), 1, &resp), 0);
    ck_assert_int_eq(resp.throttle_time_ms, 0);
    ck_assert_int_eq(resp.error_code, 0);
    ck_assert_int_eq(resp.n_topics, 1);
    ck_assert(kp_str_eq(resp.topics[0].name, "t"));
    ck_assert_int_eq(resp.topics[0].n_partitions, 2);
    p = resp.topics[0].partitions;
    ck_assert(p[0].committed_offset == 42);
    ck_assert_int_eq(p[0].committed_leader_epoch, KP_NO_LEADER_EPOCH);
    ck_assert(kp_str_eq(p[0].metadata, "m"));
    ck_assert(p[1].committed_offset == KP_NO_COMMITTED_OFFSET);
    kp_offsetfetch_response_clear(&resp);
}
END_TEST

START_TEST(offsetfetch_response_every_version_round_trips) {
    kp_offsetfetch_response_t in = {250, 1, &fetch_resp_topic, KP_ERR_NONE};

    for (int16_t v = 0; v <= KP_OFFSETFETCH_VERSION_MAX; v++) {
        kp_writer_t w, again;
        kp_offsetfetch_response_t resp;

        kp_writer_init(&w);
        kp_writer_init(&again);
        ck_assert_int_eq(kp_offsetfetch_response_encode(&w, v, &in), 0);
        ck_assert_int_eq(fetch_response_decode(w.buf, w.len, v, &resp), 0);
        ck_assert_int_eq(resp.throttle_time_ms, v >= 3 ? 250 : 0);
        ck_assert_int_eq(resp.topics[0].partitions[0].committed_leader_epoch, v >= 5 ? 3 : -1);
        ck_assert(kp_str_eq(resp.topics[0].partitions[1].metadata, ""));
        ck_assert_int_eq(kp_offsetfetch_response_encode(&again, v, &resp), 0);
        ck_assert_uint_eq(again.len, w.len);
        ck_assert_mem_eq(again.buf, w.buf, w.len);
        kp_offsetfetch_response_clear(&resp);
        protofix_truncations_fail(fetch_response_verdict, w.buf, w.len, v);
        protofix_trailing_fails(fetch_response_verdict, w.buf, w.len, v);
        kp_writer_free(&w);
        kp_writer_free(&again);
    }
}
END_TEST

START_TEST(offsetfetch_response_null_metadata_survives) {
    kp_offsetfetch_response_partition_t part = {0, 1, -1, {KP_NULL_LEN, NULL}, KP_ERR_NONE};
    kp_offsetfetch_response_topic_t topic = {{1, "t"}, 1, &part};
    kp_offsetfetch_response_t in = {0, 1, &topic, KP_ERR_NONE}, back;
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_offsetfetch_response_encode(&w, 3, &in), 0);
    ck_assert_int_eq(fetch_response_decode(w.buf, w.len, 3, &back), 0);
    ck_assert_int_lt(back.topics[0].partitions[0].metadata.len, 0);
    kp_offsetfetch_response_clear(&back);
    kp_writer_free(&w);
}
END_TEST

/* v5 partitions take at least 20 bytes: two do not fit in 39. */
START_TEST(offsetfetch_response_counts_are_capped_by_the_version_minimum) {
    uint8_t body[4 + 4 + 3 + 4 + 39] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
                                        0x00, 0x01, 't',  0x00, 0x00, 0x00, 0x02};
    static const uint8_t hostile[] = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x00};
    kp_offsetfetch_response_t resp;

    ck_assert_int_eq(fetch_response_decode(body, sizeof(body), 5, &resp), KP_BUF_SHORT);
    ck_assert_ptr_null(resp.topics[0].partitions);
    kp_offsetfetch_response_clear(&resp);
    ck_assert_int_eq(fetch_response_decode(hostile, sizeof(hostile), 2, &resp), KP_BUF_SHORT);
    ck_assert_ptr_null(resp.topics);
    kp_offsetfetch_response_clear(&resp);
}
END_TEST

Suite *offsets_suite(void) {
    Suite *s = suite_create("offsets");
    TCase *commit = tcase_create("offsetcommit");
    TCase *fetch = tcase_create("offsetfetch");

    tcase_add_test(commit, offsetcommit_kafkapython_v2_frame_decodes);
    tcase_add_test(commit, offsetcommit_librdkafka_v7_frame_decodes);
    tcase_add_test(commit, offsetcommit_v1_carries_commit_timestamp_and_null_metadata);
    tcase_add_test(commit, offsetcommit_every_version_round_trips);
    tcase_add_test(commit, offsetcommit_fixtures_refuse_truncation_and_trailing_bytes);
    tcase_add_test(commit, offsetcommit_negative_counts_are_rejected);
    tcase_add_test(commit, offsetcommit_partition_count_is_capped_by_the_version_minimum);
    tcase_add_test(commit, offsetcommit_hostile_topic_count_allocates_nothing);
    tcase_add_test(commit, offsetcommit_null_where_not_nullable_is_rejected);
    tcase_add_test(commit, offsetcommit_unhandled_versions_are_refused);
    tcase_add_test(commit, offsetcommit_response_bytes_are_exact);
    tcase_add_test(commit, offsetcommit_response_version_out_of_range_is_refused);
    suite_add_tcase(s, commit);
    tcase_add_test(fetch, offsetfetch_kafkapython_v1_frame_decodes);
    tcase_add_test(fetch, offsetfetch_null_topics_from_v2_ask_for_everything);
    tcase_add_test(fetch, offsetfetch_empty_topic_array_is_not_null);
    tcase_add_test(fetch, offsetfetch_null_topics_below_v2_are_refused);
    tcase_add_test(fetch, offsetfetch_request_every_version_round_trips);
    tcase_add_test(fetch, offsetfetch_fixtures_refuse_truncation_and_trailing_bytes);
    tcase_add_test(fetch, offsetfetch_bad_counts_are_rejected_without_allocating);
    tcase_add_test(fetch, offsetfetch_unhandled_versions_are_refused);
    tcase_add_test(fetch, offsetfetch_response_bytes_follow_the_spec_table);
    tcase_add_test(fetch, offsetfetch_group_error_is_the_last_field_from_v2);
    tcase_add_test(fetch, offsetfetch_v1_response_fixture_decodes);
    tcase_add_test(fetch, offsetfetch_response_every_version_round_trips);
    tcase_add_test(fetch, offsetfetch_response_null_metadata_survives);
    tcase_add_test(fetch, offsetfetch_response_counts_are_capped_by_the_version_minimum);
    suite_add_tcase(s, fetch);
    return s;
}
