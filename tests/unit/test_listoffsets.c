/*
 * test_listoffsets.c - ListOffsets and FindCoordinator request decoding and
 * response encoding.
 *
 * ListOffsets fixtures are whole frames built from wire-protocol.md 4.5:
 * librdkafka 2.0.2's v2 (READ_COMMITTED, LATEST), kafka-python's v1
 * (EARLIEST) and librdkafka 1.7.0's v0 (LATEST, max_num_offsets 1).
 * Responses are checked in v0 (old_style_offsets), v1 (timestamp/offset)
 * and v2 (throttle_time_ms first).  FindCoordinator fixtures are
 * kafka-python's v0 and librdkafka's v2 (group-protocol.md 2.1); its
 * responses are checked for the "not available" answer in v0 and v1+.
 */
#include <string.h>

#include "proto/kp_findcoordinator.h"
#include "proto/kp_header.h"
#include "proto/kp_listoffsets.h"
#include "proto/kp_types.h"
#include "tests/unit/unit.h"

/* librdkafka 2.0.2: ListOffsets v2, correlation id 11, "test" partition 0,
 * LATEST, READ_COMMITTED. */
static const uint8_t librdkafka_listoffsets_v2[] = {
    0x00, 0x00, 0x00, 0x30,                         /* size 48 */
    0x00, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0b, /* key 2, v2, corr 11 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0xff, 0xff, 0xff, 0xff,                         /* replica_id -1 */
    0x01,                                           /* isolation_level READ_COMMITTED */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 't', 'e', 's', 't',
    0x00, 0x00, 0x00, 0x01,                         /* partitions: 1 */
    0x00, 0x00, 0x00, 0x00,                         /* partition_index 0 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* timestamp -1 LATEST */
};

/* kafka-python: ListOffsets v1, correlation id 3, "test" partitions 0 and 1,
 * EARLIEST and a timestamp. */
static const uint8_t kafka_python_listoffsets_v1[] = {
    0x00, 0x00, 0x00, 0x46,                         /* size 70 */
    0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, /* key 2, v1, corr 3 */
    0x00, 0x12, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n', '-', '2', '.', '0', '.',
    '2',                                            /* client_id */
    0xff, 0xff, 0xff, 0xff,                         /* replica_id -1 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 't', 'e', 's', 't',
    0x00, 0x00, 0x00, 0x02,                         /* partitions: 2 */
    0x00, 0x00, 0x00, 0x00,                         /* partition_index 0 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* timestamp -2 EARLIEST */
    0x00, 0x00, 0x00, 0x01,                         /* partition_index 1 */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* timestamp 1700000000000 */
};

/* librdkafka 1.7.0: ListOffsets v0, correlation id 4, "test" partition 0,
 * LATEST, max_num_offsets 1. */
static const uint8_t librdkafka17_listoffsets_v0[] = {
    0x00, 0x00, 0x00, 0x33,                         /* size 51 */
    0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, /* key 2, v0, corr 4 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0xff, 0xff, 0xff, 0xff,                         /* replica_id -1 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 't', 'e', 's', 't',
    0x00, 0x00, 0x00, 0x01,                         /* partitions: 1 */
    0x00, 0x00, 0x00, 0x00,                         /* partition_index 0 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* timestamp -1 LATEST */
    0x00, 0x00, 0x00, 0x01,                         /* max_num_offsets 1 */
};

/* Reads the size and the v1 header of frame; leaves r at the body. */
static void open_frame(kp_reader_t *r, const uint8_t *frame, size_t len, int16_t key,
                       kp_request_header_t *h) {
    kp_reader_init(r, frame, len);
    ck_assert_int_eq(kp_read_int32(r), (int32_t)(len - 4));
    ck_assert_int_eq(kp_request_header_decode_ids(r, h), 0);
    ck_assert_int_eq(h->request_api_key, key);
    ck_assert_int_eq(kp_request_header_decode_rest(r, 1, h), 0);
}

static int decode_frame(const uint8_t *frame, size_t len, kp_request_header_t *h,
                        kp_listoffsets_request_t *req) {
    kp_reader_t r;

    open_frame(&r, frame, len, KP_API_LIST_OFFSETS, h);
    return kp_listoffsets_request_decode(&r, h->request_api_version, req);
}

static int decode_body(const uint8_t *body, size_t len, int16_t version,
                       kp_listoffsets_request_t *req) {
    kp_reader_t r;

    kp_reader_init(&r, body, len);
    return kp_listoffsets_request_decode(&r, version, req);
}

static const uint8_t *frame_body(const uint8_t *frame, size_t len, size_t *body_len) {
    size_t skip = 4 + 8 + 2 + ((size_t)frame[12] << 8 | frame[13]);

    *body_len = len - skip;
    return frame + skip;
}

START_TEST(librdkafka_v2_decodes) {
    kp_request_header_t h;
    kp_listoffsets_request_t req;
    const kp_listoffsets_request_partition_t *p;

    ck_assert_int_eq(
        decode_frame(librdkafka_listoffsets_v2, sizeof(librdkafka_listoffsets_v2), &h, &req), 0);
    ck_assert_int_eq(h.request_api_version, 2);
    ck_assert_int_eq(h.correlation_id, 11);
    ck_assert_int_eq(req.replica_id, -1);
    ck_assert_int_eq(req.isolation_level, 1);
    ck_assert_int_eq(req.n_topics, 1);
    ck_assert(kp_str_eq(req.topics[0].name, "test"));
    p = &req.topics[0].partitions[0];
    ck_assert_int_eq(p->partition_index, 0);
    ck_assert(p->timestamp == KP_LISTOFFSETS_LATEST);
    ck_assert_int_eq(p->max_num_offsets, 1);
    ck_assert_int_eq(p->current_leader_epoch, -1);
    kp_listoffsets_request_clear(&req);
}
END_TEST

START_TEST(kafka_python_v1_decodes) {
    kp_request_header_t h;
    kp_listoffsets_request_t req;
    const kp_listoffsets_request_topic_t *t;

    ck_assert_int_eq(
        decode_frame(kafka_python_listoffsets_v1, sizeof(kafka_python_listoffsets_v1), &h, &req),
        0);
    ck_assert_int_eq(h.request_api_version, 1);
    ck_assert_int_eq(req.isolation_level, 0);
    t = &req.topics[0];
    ck_assert_int_eq(t->n_partitions, 2);
    ck_assert(t->partitions[0].timestamp == KP_LISTOFFSETS_EARLIEST);
    ck_assert_int_eq(t->partitions[1].partition_index, 1);
    ck_assert(t->partitions[1].timestamp == 1700000000000LL);
    kp_listoffsets_request_clear(&req);
}
END_TEST

START_TEST(librdkafka17_v0_decodes) {
    kp_request_header_t h;
    kp_listoffsets_request_t req;
    const kp_listoffsets_request_partition_t *p;

    ck_assert_int_eq(
        decode_frame(librdkafka17_listoffsets_v0, sizeof(librdkafka17_listoffsets_v0), &h, &req),
        0);
    ck_assert_int_eq(h.request_api_version, 0);
    ck_assert_int_eq(h.correlation_id, 4);
    p = &req.topics[0].partitions[0];
    ck_assert(p->timestamp == KP_LISTOFFSETS_LATEST);
    ck_assert_int_eq(p->max_num_offsets, 1);
    kp_listoffsets_request_clear(&req);
}
END_TEST

START_TEST(truncated_request_is_rejected_at_every_length) {
    static const struct {
        const uint8_t *frame;
        size_t len;
        int16_t version;
    } cases[] = {
        {librdkafka_listoffsets_v2, sizeof(librdkafka_listoffsets_v2), 2},
        {kafka_python_listoffsets_v1, sizeof(kafka_python_listoffsets_v1), 1},
        {librdkafka17_listoffsets_v0, sizeof(librdkafka17_listoffsets_v0), 0},
    };

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t len;
        const uint8_t *body = frame_body(cases[c].frame, cases[c].len, &len);
        for (size_t n = 0; n < len; n++) {
            kp_listoffsets_request_t req;
            ck_assert_int_ne(decode_body(body, n, cases[c].version, &req), 0);
            kp_listoffsets_request_clear(&req);
        }
    }
}
END_TEST

START_TEST(trailing_garbage_is_rejected) {
    uint8_t buf[64];
    size_t len;
    const uint8_t *body =
        frame_body(librdkafka17_listoffsets_v0, sizeof(librdkafka17_listoffsets_v0), &len);
    kp_listoffsets_request_t req;

    memcpy(buf, body, len);
    buf[len] = 0x01;
    ck_assert_int_eq(decode_body(buf, len + 1, 0, &req), KP_BUF_TRAILING);
    kp_listoffsets_request_clear(&req);
    /* A v0 body read as v1 leaves max_num_offsets over. */
    ck_assert_int_eq(decode_body(body, len, 1, &req), KP_BUF_TRAILING);
    kp_listoffsets_request_clear(&req);
}
END_TEST

START_TEST(negative_counts_are_rejected) {
    static const uint8_t topics[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t partitions[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
                                         0x00, 0x01, 't', 0xff, 0xff, 0xff, 0xfe};
    kp_listoffsets_request_t req;

    ck_assert_int_eq(decode_body(topics, sizeof(topics), 1, &req), KP_BUF_INVALID);
    kp_listoffsets_request_clear(&req);
    ck_assert_int_eq(decode_body(partitions, sizeof(partitions), 1, &req), KP_BUF_INVALID);
    ck_assert_ptr_null(req.topics[0].partitions);
    kp_listoffsets_request_clear(&req);
}
END_TEST

START_TEST(oversized_partition_count_is_rejected_without_allocating) {
    static const uint8_t body[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00,
                                   0x01, 't',  0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};
    kp_listoffsets_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 1, &req), KP_BUF_SHORT);
    ck_assert_ptr_null(req.topics[0].partitions);
    kp_listoffsets_request_clear(&req);
}
END_TEST

START_TEST(unsupported_request_version_is_refused) {
    kp_listoffsets_request_t req;
    size_t len;
    const uint8_t *body =
        frame_body(librdkafka_listoffsets_v2, sizeof(librdkafka_listoffsets_v2), &len);

    ck_assert_int_eq(decode_body(body, len, 4, &req), KP_BUF_INVALID);
    kp_listoffsets_request_clear(&req);
}
END_TEST

/* ------------------------------------------------------------- responses */

START_TEST(v0_response_holds_old_style_offsets) {
    static const int64_t offsets[] = {17};
    static const kp_listoffsets_response_partition_t parts[] = {
        {0, KP_ERR_NONE, 1, offsets, -1, 17},
        {1, KP_ERR_NOT_LEADER_OR_FOLLOWER, 0, NULL, -1, -1},
    };
    static const kp_listoffsets_response_topic_t t = {{4, "test"}, 2, parts};
    static const kp_listoffsets_response_t resp = {0, 1, &t};
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 't', 'e', 's', 't',
        0x00, 0x00, 0x00, 0x02,                         /* partitions: 2 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             /* partition 0, error 0 */
        0x00, 0x00, 0x00, 0x01,                         /* old_style_offsets: 1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, /* 17 */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x06,             /* partition 1, error 6 */
        0x00, 0x00, 0x00, 0x00,                         /* old_style_offsets: 0 */
    };
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_listoffsets_response_encode(&w, 0, &resp), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

static const kp_listoffsets_response_partition_t sample_parts[] = {
    {0, KP_ERR_NONE, 0, NULL, -1, 42},
    {1, KP_ERR_NONE, 0, NULL, 1700000000000LL, 7},
    {2, KP_ERR_INVALID_REQUEST, 0, NULL, -1, -1},
};
static const kp_listoffsets_response_topic_t sample_topic = {{4, "test"}, 3, sample_parts};
static const kp_listoffsets_response_t sample = {0, 1, &sample_topic};

static void round_trip(int16_t v) {
    kp_writer_t w;
    kp_reader_t r;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_listoffsets_response_encode(&w, v, &sample), 0);
    kp_reader_init(&r, w.buf, w.len);
    if (v >= 2) ck_assert_int_eq(kp_read_int32(&r), 0); /* throttle_time_ms, first */
    ck_assert_int_eq(kp_read_array_count(&r, 1), 1);
    ck_assert(kp_str_eq(kp_read_string(&r), "test"));
    ck_assert_int_eq(kp_read_array_count(&r, 1), 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(kp_read_int32(&r), sample_parts[i].partition_index);
        ck_assert_int_eq(kp_read_int16(&r), sample_parts[i].error_code);
        ck_assert(kp_read_int64(&r) == sample_parts[i].timestamp);
        ck_assert(kp_read_int64(&r) == sample_parts[i].offset);
    }
    ck_assert_int_eq(kp_reader_expect_end(&r), KP_BUF_OK);
    kp_writer_free(&w);
}

START_TEST(v1_response_round_trips) { round_trip(1); }
END_TEST

START_TEST(v2_response_round_trips) { round_trip(2); }
END_TEST

START_TEST(v3_response_round_trips) { round_trip(3); }
END_TEST

START_TEST(response_version_out_of_range_is_refused) {
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_listoffsets_response_encode(&w, 4, &sample), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

/* -------------------------------------------------------- FindCoordinator */

/* kafka-python: FindCoordinator v0, correlation id 8, group "my-group". */
static const uint8_t kafka_python_findcoordinator_v0[] = {
    0x00, 0x00, 0x00, 0x26,                         /* size 38 */
    0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, /* key 10, v0, corr 8 */
    0x00, 0x12, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n', '-', '2', '.', '0', '.',
    '2',                                            /* client_id */
    0x00, 0x08, 'm', 'y', '-', 'g', 'r', 'o', 'u', 'p',
};

/* librdkafka: FindCoordinator v2, correlation id 12, group "my-group". */
static const uint8_t librdkafka_findcoordinator_v2[] = {
    0x00, 0x00, 0x00, 0x1c,                         /* size 28 */
    0x00, 0x0a, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0c, /* key 10, v2, corr 12 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0x00, 0x08, 'm', 'y', '-', 'g', 'r', 'o', 'u', 'p',
    0x00,                                           /* key_type group */
};

static int decode_fc_frame(const uint8_t *frame, size_t len, kp_request_header_t *h,
                           kp_findcoordinator_request_t *req) {
    kp_reader_t r;

    open_frame(&r, frame, len, KP_API_FIND_COORDINATOR, h);
    return kp_findcoordinator_request_decode(&r, h->request_api_version, req);
}

START_TEST(findcoordinator_kafka_python_v0_decodes) {
    kp_request_header_t h;
    kp_findcoordinator_request_t req;

    ck_assert_int_eq(decode_fc_frame(kafka_python_findcoordinator_v0,
                                     sizeof(kafka_python_findcoordinator_v0), &h, &req),
                     0);
    ck_assert_int_eq(h.correlation_id, 8);
    ck_assert(kp_str_eq(req.key, "my-group"));
    ck_assert_int_eq(req.key_type, KP_COORDINATOR_GROUP);
}
END_TEST

START_TEST(findcoordinator_librdkafka_v2_decodes) {
    kp_request_header_t h;
    kp_findcoordinator_request_t req;

    ck_assert_int_eq(decode_fc_frame(librdkafka_findcoordinator_v2,
                                     sizeof(librdkafka_findcoordinator_v2), &h, &req),
                     0);
    ck_assert_int_eq(h.request_api_version, 2);
    ck_assert(kp_str_eq(req.key, "my-group"));
    ck_assert_int_eq(req.key_type, KP_COORDINATOR_GROUP);
}
END_TEST

START_TEST(findcoordinator_bad_bodies_are_rejected) {
    static const uint8_t null_key[] = {0xff, 0xff, 0x00};
    static const uint8_t trailing[] = {0x00, 0x01, 'g', 0x00, 0x00};
    static const uint8_t v2[] = {0x00, 0x01, 'g', 0x01};
    kp_findcoordinator_request_t req;
    kp_reader_t r;

    kp_reader_init(&r, null_key, sizeof(null_key));
    ck_assert_int_eq(kp_findcoordinator_request_decode(&r, 1, &req), KP_BUF_INVALID);
    kp_reader_init(&r, trailing, sizeof(trailing));
    ck_assert_int_eq(kp_findcoordinator_request_decode(&r, 1, &req), KP_BUF_TRAILING);
    for (size_t n = 0; n < sizeof(v2); n++) {
        kp_reader_init(&r, v2, n);
        ck_assert_int_ne(kp_findcoordinator_request_decode(&r, 2, &req), 0);
    }
    kp_reader_init(&r, v2, sizeof(v2));
    ck_assert_int_eq(kp_findcoordinator_request_decode(&r, 2, &req), 0);
    ck_assert_int_eq(req.key_type, KP_COORDINATOR_TRANSACTION);
    kp_reader_init(&r, v2, sizeof(v2));
    ck_assert_int_eq(kp_findcoordinator_request_decode(&r, 3, &req), KP_BUF_INVALID);
}
END_TEST

static const kp_findcoordinator_response_t not_available = {
    0, KP_ERR_COORDINATOR_NOT_AVAILABLE, {33, "The coordinator is not available."}, -1, {0, ""}, -1,
};

START_TEST(findcoordinator_v0_not_available_bytes_are_exact) {
    static const uint8_t want[] = {
        0x00, 0x0f,             /* error_code 15 */
        0xff, 0xff, 0xff, 0xff, /* node_id -1 */
        0x00, 0x00,             /* host "" */
        0xff, 0xff, 0xff, 0xff, /* port -1 */
    };
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_findcoordinator_response_encode(&w, 0, &not_available), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(findcoordinator_v1_and_v2_add_throttle_and_message) {
    for (int16_t v = 1; v <= 2; v++) {
        kp_writer_t w;
        kp_reader_t r;

        kp_writer_init(&w);
        ck_assert_int_eq(kp_findcoordinator_response_encode(&w, v, &not_available), 0);
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_read_int32(&r), 0);
        ck_assert_int_eq(kp_read_int16(&r), KP_ERR_COORDINATOR_NOT_AVAILABLE);
        ck_assert(kp_str_eq(kp_read_nullable_string(&r), "The coordinator is not available."));
        ck_assert_int_eq(kp_read_int32(&r), -1);
        ck_assert(kp_str_eq(kp_read_string(&r), ""));
        ck_assert_int_eq(kp_read_int32(&r), -1);
        ck_assert_int_eq(kp_reader_expect_end(&r), KP_BUF_OK);
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(findcoordinator_null_message_is_written_as_null) {
    kp_findcoordinator_response_t resp = not_available;
    kp_writer_t w;
    kp_reader_t r;

    resp.error_message = KP_STR_NULL;
    kp_writer_init(&w);
    ck_assert_int_eq(kp_findcoordinator_response_encode(&w, 1, &resp), 0);
    kp_reader_init(&r, w.buf, w.len);
    kp_read_skip(&r, 6);
    ck_assert_int_eq(kp_read_nullable_string(&r).len, KP_NULL_LEN);
    kp_writer_free(&w);
}
END_TEST

Suite *listoffsets_suite(void) {
    Suite *s = suite_create("listoffsets");
    TCase *req = tcase_create("request");
    TCase *resp = tcase_create("response");
    TCase *fc = tcase_create("findcoordinator");

    tcase_add_test(req, librdkafka_v2_decodes);
    tcase_add_test(req, kafka_python_v1_decodes);
    tcase_add_test(req, librdkafka17_v0_decodes);
    tcase_add_test(req, truncated_request_is_rejected_at_every_length);
    tcase_add_test(req, trailing_garbage_is_rejected);
    tcase_add_test(req, negative_counts_are_rejected);
    tcase_add_test(req, oversized_partition_count_is_rejected_without_allocating);
    tcase_add_test(req, unsupported_request_version_is_refused);
    tcase_add_test(resp, v0_response_holds_old_style_offsets);
    tcase_add_test(resp, v1_response_round_trips);
    tcase_add_test(resp, v2_response_round_trips);
    tcase_add_test(resp, v3_response_round_trips);
    tcase_add_test(resp, response_version_out_of_range_is_refused);
    tcase_add_test(fc, findcoordinator_kafka_python_v0_decodes);
    tcase_add_test(fc, findcoordinator_librdkafka_v2_decodes);
    tcase_add_test(fc, findcoordinator_bad_bodies_are_rejected);
    tcase_add_test(fc, findcoordinator_v0_not_available_bytes_are_exact);
    tcase_add_test(fc, findcoordinator_v1_and_v2_add_throttle_and_message);
    tcase_add_test(fc, findcoordinator_null_message_is_written_as_null);
    suite_add_tcase(s, req);
    suite_add_tcase(s, resp);
    suite_add_tcase(s, fc);
    return s;
}
