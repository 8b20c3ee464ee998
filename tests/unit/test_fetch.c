/*
 * test_fetch.c - Fetch request decoding and response encoding.
 *
 * Request fixtures are whole frames built byte by byte from
 * wire-protocol.md 4.4 and 3.2: librdkafka's Fetch v11 (READ_COMMITTED,
 * session 0 / epoch -1, current_leader_epoch -1, empty rack) and
 * kafka-python's Fetch v4 (READ_UNCOMMITTED).  Responses are checked for
 * exact bytes in v4 and v11, for null versus empty aborted transactions,
 * for the top-level session error of v7+, and for out-of-band records: the
 * encoder writes only the length prefix and reports where the bytes go, and
 * splicing the batch in at that position must give the same frame as
 * encoding it inline.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/kp_fetch.h"
#include "proto/kp_header.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

/* The batch of test_produce.c (value "hello", CRC-32C 0xe641a44b), as a
 * leader stores it at offset 5. */
static const uint8_t stored_batch[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x3d, 0x00, 0x00, 0x00,
    0x00, 0x02, 0xe6, 0x41, 0xa4, 0x4b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
    0x01, 0x16, 0x00, 0x00, 0x00, 0x01, 0x0a, 'h', 'e', 'l', 'l', 'o', 0x00,
};

/* librdkafka: Fetch v11, correlation id 6, topic "test" partition 0 from
 * offset 5. */
static const uint8_t librdkafka_fetch_v11[] = {
    0x00, 0x00, 0x00, 0x5a,                         /* size 90 */
    0x00, 0x01, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x06, /* key 1, v11, corr 6 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0xff, 0xff, 0xff, 0xff,                         /* replica_id -1 */
    0x00, 0x00, 0x01, 0xf4,                         /* max_wait_ms 500 */
    0x00, 0x00, 0x00, 0x01,                         /* min_bytes 1 */
    0x03, 0x20, 0x00, 0x00,                         /* max_bytes 52428800 */
    0x01,                                           /* isolation_level READ_COMMITTED */
    0x00, 0x00, 0x00, 0x00,                         /* session_id 0 */
    0xff, 0xff, 0xff, 0xff,                         /* session_epoch -1 */
    0x00, 0x00, 0x00, 0x01,                         /* topics: 1 */
    0x00, 0x04, 't', 'e', 's', 't',                 /* topic */
    0x00, 0x00, 0x00, 0x01,                         /* partitions: 1 */
    0x00, 0x00, 0x00, 0x00,                         /* partition 0 */
    0xff, 0xff, 0xff, 0xff,                         /* current_leader_epoch -1 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* fetch_offset 5 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* log_start_offset -1 */
    0x00, 0x10, 0x00, 0x00,                         /* partition_max_bytes 1048576 */
    0x00, 0x00, 0x00, 0x00,                         /* forgotten_topics_data: 0 */
    0x00, 0x00,                                     /* rack_id "" */
};

/* kafka-python: Fetch v4, correlation id 7, topic "test" partitions 0 and 1
 * from offsets 42 and 0. */
static const uint8_t kafka_python_fetch_v4[] = {
    0x00, 0x00, 0x00, 0x5b,                         /* size 91 */
    0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x07, /* key 1, v4, corr 7 */
    0x00, 0x12, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n', '-', '2', '.', '0', '.',
    '2',                                            /* client_id */
    0xff, 0xff, 0xff, 0xff,                         /* replica_id -1 */
    0x00, 0x00, 0x01, 0xf4,                         /* max_wait_ms 500 */
    0x00, 0x00, 0x00, 0x01,                         /* min_bytes 1 */
    0x03, 0x20, 0x00, 0x00,                         /* max_bytes 52428800 */
    0x00,                                           /* isolation_level READ_UNCOMMITTED */
    0x00, 0x00, 0x00, 0x01,                         /* topics: 1 */
    0x00, 0x04, 't', 'e', 's', 't',                 /* topic */
    0x00, 0x00, 0x00, 0x02,                         /* partitions: 2 */
    0x00, 0x00, 0x00, 0x00,                         /* partition 0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* fetch_offset 42 */
    0x00, 0x10, 0x00, 0x00,                         /* partition_max_bytes 1048576 */
    0x00, 0x00, 0x00, 0x01,                         /* partition 1 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* fetch_offset 0 */
    0x00, 0x10, 0x00, 0x00,                         /* partition_max_bytes 1048576 */
};

static int decode_frame(const uint8_t *frame, size_t len, kp_request_header_t *h,
                        kp_fetch_request_t *req) {
    kp_reader_t r;

    protofix_open_frame(&r, frame, len, KP_API_FETCH, 1, h);
    return kp_fetch_request_decode(&r, h->request_api_version, req);
}

static int decode_body(const uint8_t *body, size_t len, int16_t version, kp_fetch_request_t *req) {
    kp_reader_t r;

    kp_reader_init(&r, body, len);
    return kp_fetch_request_decode(&r, version, req);
}

static const uint8_t *frame_body(const uint8_t *frame, size_t len, size_t *body_len) {
    size_t skip = 4 + 8 + 2 + ((size_t)frame[12] << 8 | frame[13]);

    *body_len = len - skip;
    return frame + skip;
}

START_TEST(librdkafka_v11_decodes) {
    kp_request_header_t h;
    kp_fetch_request_t req;
    const kp_fetch_request_partition_t *p;

    ck_assert_int_eq(decode_frame(librdkafka_fetch_v11, sizeof(librdkafka_fetch_v11), &h, &req), 0);
    ck_assert_int_eq(h.request_api_version, 11);
    ck_assert_int_eq(h.correlation_id, 6);
    ck_assert_int_eq(req.replica_id, -1);
    ck_assert_int_eq(req.max_wait_ms, 500);
    ck_assert_int_eq(req.min_bytes, 1);
    ck_assert_int_eq(req.max_bytes, 52428800);
    ck_assert_int_eq(req.isolation_level, KP_READ_COMMITTED);
    ck_assert_int_eq(req.session_id, 0);
    ck_assert_int_eq(req.session_epoch, -1);
    ck_assert_int_eq(req.n_topics, 1);
    ck_assert(kp_str_eq(req.topics[0].topic, "test"));
    ck_assert_int_eq(req.topics[0].n_partitions, 1);
    p = &req.topics[0].partitions[0];
    ck_assert_int_eq(p->partition, 0);
    ck_assert_int_eq(p->current_leader_epoch, -1);
    ck_assert(p->fetch_offset == 5);
    ck_assert(p->log_start_offset == -1);
    ck_assert_int_eq(p->partition_max_bytes, 1048576);
    ck_assert_int_eq(req.n_forgotten_topics_data, 0);
    ck_assert(kp_str_eq(req.rack_id, ""));
    kp_fetch_request_clear(&req);
}
END_TEST

START_TEST(kafka_python_v4_decodes) {
    kp_request_header_t h;
    kp_fetch_request_t req;
    const kp_fetch_request_topic_t *t;

    ck_assert_int_eq(decode_frame(kafka_python_fetch_v4, sizeof(kafka_python_fetch_v4), &h, &req),
                     0);
    ck_assert_int_eq(h.request_api_version, 4);
    ck_assert(kp_str_eq(h.client_id, "kafka-python-2.0.2"));
    ck_assert_int_eq(req.isolation_level, KP_READ_UNCOMMITTED);
    ck_assert_int_eq(req.session_id, 0);
    ck_assert_int_eq(req.session_epoch, -1);
    t = &req.topics[0];
    ck_assert_int_eq(t->n_partitions, 2);
    ck_assert(t->partitions[0].fetch_offset == 42);
    ck_assert_int_eq(t->partitions[0].current_leader_epoch, -1);
    ck_assert(t->partitions[0].log_start_offset == -1);
    ck_assert_int_eq(t->partitions[1].partition, 1);
    ck_assert(t->partitions[1].fetch_offset == 0);
    kp_fetch_request_clear(&req);
}
END_TEST

START_TEST(v7_carries_a_session_and_forgotten_topics) {
    static const uint8_t body[] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x10, 0x00, 0x00,                   /* max_bytes, isolation */
        0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x03, /* session 42, epoch 3 */
        0x00, 0x00, 0x00, 0x00,                         /* topics: 0 */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'f',        /* forgotten: "f" */
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    };
    kp_fetch_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 7, &req), 0);
    ck_assert_int_eq(req.session_id, 42);
    ck_assert_int_eq(req.session_epoch, 3);
    ck_assert_int_eq(req.n_topics, 0);
    ck_assert_int_eq(req.n_forgotten_topics_data, 1);
    kp_fetch_request_clear(&req);
}
END_TEST

START_TEST(truncated_request_is_rejected_at_every_length) {
    size_t len;
    const uint8_t *body = frame_body(librdkafka_fetch_v11, sizeof(librdkafka_fetch_v11), &len);

    for (size_t n = 0; n < len; n++) {
        kp_fetch_request_t req;
        ck_assert_int_ne(decode_body(body, n, 11, &req), 0);
        kp_fetch_request_clear(&req);
    }
    body = frame_body(kafka_python_fetch_v4, sizeof(kafka_python_fetch_v4), &len);
    for (size_t n = 0; n < len; n++) {
        kp_fetch_request_t req;
        ck_assert_int_ne(decode_body(body, n, 4, &req), 0);
        kp_fetch_request_clear(&req);
    }
}
END_TEST

START_TEST(trailing_garbage_is_rejected) {
    uint8_t buf[sizeof(librdkafka_fetch_v11) + 1];
    size_t len;
    const uint8_t *body = frame_body(librdkafka_fetch_v11, sizeof(librdkafka_fetch_v11), &len);
    kp_fetch_request_t req;

    memcpy(buf, body, len);
    buf[len] = 0x00;
    ck_assert_int_eq(decode_body(buf, len + 1, 11, &req), KP_BUF_TRAILING);
    kp_fetch_request_clear(&req);
}
END_TEST

START_TEST(negative_partition_count_is_rejected) {
    static const uint8_t body[] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x10, 0x00, 0x00,                   /* max_bytes, isolation */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',        /* topics: "t" */
        0x80, 0x00, 0x00, 0x00,                         /* partitions: INT32_MIN */
    };
    kp_fetch_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 4, &req), KP_BUF_INVALID);
    ck_assert_ptr_null(req.topics[0].partitions);
    kp_fetch_request_clear(&req);
}
END_TEST

START_TEST(oversized_topic_count_is_rejected_without_allocating) {
    static const uint8_t body[] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01, 't',
    };
    kp_fetch_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 4, &req), KP_BUF_SHORT);
    ck_assert_ptr_null(req.topics);
    kp_fetch_request_clear(&req);
}
END_TEST

START_TEST(oversized_forgotten_partition_count_is_rejected) {
    static const uint8_t body[] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
        0x00, 0x00, 0x00, 0x00,                         /* topics: 0 */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'f',        /* forgotten: "f" */
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, /* 256 partitions, 1 present */
    };
    kp_fetch_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 7, &req), KP_BUF_SHORT);
    kp_fetch_request_clear(&req);
}
END_TEST

START_TEST(unsupported_request_version_is_refused) {
    kp_fetch_request_t req;
    size_t len;
    const uint8_t *body = frame_body(librdkafka_fetch_v11, sizeof(librdkafka_fetch_v11), &len);

    ck_assert_int_eq(decode_body(body, len, 12, &req), KP_BUF_INVALID);
    kp_fetch_request_clear(&req);
}
END_TEST

/* ------------------------------------------------------------- responses */

static void expect_partition_header(kp_reader_t *r, int32_t index, int16_t error, int64_t hw,
                                    int64_t lso, int64_t start) {
    ck_assert_int_eq(kp_read_int32(r), index);
    ck_assert_int_eq(kp_read_int16(r), error);
    ck_assert(kp_read_int64(r) == hw);
    ck_assert(kp_read_int64(r) == lso);
    ck_assert(kp_read_int64(r) == start);
}

START_TEST(v4_response_bytes_are_exact) {
    static const kp_fetch_response_partition_t p = {
        0, KP_ERR_NONE, 6, 6, 0, -1, NULL, -1, {0, NULL}};
    static const kp_fetch_response_topic_t t = {{4, "test"}, 1, &p};
    static const kp_fetch_response_t resp = {0, KP_ERR_NONE, 0, 1, &t};
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 't', 'e', 's', 't',
        0x00, 0x00, 0x00, 0x01,                         /* partitions: 1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             /* partition 0, error 0 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, /* high_watermark */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, /* last_stable_offset */
        0xff, 0xff, 0xff, 0xff,                         /* aborted: null */
        0x00, 0x00, 0x00, 0x00,                         /* records: empty */
    };
    kp_writer_t w;
    size_t pos;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_fetch_response_encode(&w, 4, &resp, &pos), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    ck_assert_uint_eq(pos, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

/* v11: one partition with the stored batch inline (READ_COMMITTED, so an
 * empty aborted list), one with an error. */
static const kp_fetch_response_partition_t v11_parts[] = {
    {0, KP_ERR_NONE, 6, 6, 0, 0, NULL, -1, {sizeof(stored_batch), stored_batch}},
    {1, KP_ERR_OFFSET_OUT_OF_RANGE, -1, -1, -1, 0, NULL, -1, {0, NULL}},
};
static const kp_fetch_response_topic_t v11_topic = {{4, "test"}, 2, v11_parts};
static const kp_fetch_response_t v11_resp = {0, KP_ERR_NONE, 0, 1, &v11_topic};

static void expect_v11(const uint8_t *buf, size_t len) {
    kp_reader_t r;
    kp_bytes_t records;

    kp_reader_init(&r, buf, len);
    ck_assert_int_eq(kp_read_int32(&r), 0);  /* throttle_time_ms */
    ck_assert_int_eq(kp_read_int16(&r), 0);  /* error_code */
    ck_assert_int_eq(kp_read_int32(&r), 0);  /* session_id */
    ck_assert_int_eq(kp_read_array_count(&r, 1), 1);
    ck_assert(kp_str_eq(kp_read_string(&r), "test"));
    ck_assert_int_eq(kp_read_array_count(&r, 1), 2);
    expect_partition_header(&r, 0, 0, 6, 6, 0);
    ck_assert_int_eq(kp_read_nullable_array_count(&r, 16), 0); /* aborted: empty */
    ck_assert_int_eq(kp_read_int32(&r), -1);                   /* preferred_read_replica */
    records = kp_read_nullable_bytes(&r);
    ck_assert_int_eq(records.len, (int32_t)sizeof(stored_batch));
    ck_assert_mem_eq(records.ptr, stored_batch, sizeof(stored_batch));
    expect_partition_header(&r, 1, KP_ERR_OFFSET_OUT_OF_RANGE, -1, -1, -1);
    ck_assert_int_eq(kp_read_nullable_array_count(&r, 16), 0);
    ck_assert_int_eq(kp_read_int32(&r), -1);
    records = kp_read_nullable_bytes(&r);
    ck_assert_int_eq(records.len, 0); /* empty, never null */
    ck_assert_int_eq(kp_reader_expect_end(&r), KP_BUF_OK);
}

START_TEST(v11_response_round_trips) {
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_fetch_response_encode(&w, 11, &v11_resp, NULL), 0);
    expect_v11(w.buf, w.len);
    ck_assert_uint_eq(kp_fetch_response_external_bytes(&v11_resp), 0);
    kp_writer_free(&w);
}
END_TEST

START_TEST(out_of_band_records_leave_a_gap_at_the_reported_position) {
    kp_fetch_response_partition_t parts[2];
    kp_fetch_response_topic_t t = v11_topic;
    kp_fetch_response_t resp = v11_resp;
    kp_writer_t inline_w, w;
    size_t pos[2], inline_pos[2], extra;
    uint8_t *spliced;

    memcpy(parts, v11_parts, sizeof(parts));
    parts[0].records.ptr = NULL; /* sent from the segment file instead */
    t.partitions = parts;
    resp.responses = &t;
    kp_writer_init(&w);
    kp_writer_init(&inline_w);
    ck_assert_int_eq(kp_fetch_response_encode(&w, 11, &resp, pos), 0);
    ck_assert_int_eq(kp_fetch_response_encode(&inline_w, 11, &v11_resp, inline_pos), 0);
    extra = kp_fetch_response_external_bytes(&resp);
    ck_assert_uint_eq(extra, sizeof(stored_batch));
    ck_assert_uint_eq(w.len + extra, inline_w.len);
    ck_assert_uint_eq(pos[0], inline_pos[0]);
    ck_assert_uint_eq(pos[1], inline_pos[1] - sizeof(stored_batch));
    spliced = malloc(inline_w.len);
    memcpy(spliced, w.buf, pos[0]);
    memcpy(spliced + pos[0], stored_batch, sizeof(stored_batch));
    memcpy(spliced + pos[0] + sizeof(stored_batch), w.buf + pos[0], w.len - pos[0]);
    ck_assert_mem_eq(spliced, inline_w.buf, inline_w.len);
    expect_v11(spliced, inline_w.len);
    free(spliced);
    kp_writer_free(&w);
    kp_writer_free(&inline_w);
}
END_TEST

START_TEST(v5_adds_log_start_offset_and_v4_omits_it) {
    static const kp_fetch_response_partition_t p = {
        2, KP_ERR_NONE, 10, 10, 3, -1, NULL, -1, {0, NULL}};
    static const kp_fetch_response_topic_t t = {{1, "t"}, 1, &p};
    static const kp_fetch_response_t resp = {0, KP_ERR_NONE, 0, 1, &t};
    kp_writer_t w4, w5;
    kp_reader_t r;

    kp_writer_init(&w4);
    kp_writer_init(&w5);
    ck_assert_int_eq(kp_fetch_response_encode(&w4, 4, &resp, NULL), 0);
    ck_assert_int_eq(kp_fetch_response_encode(&w5, 5, &resp, NULL), 0);
    ck_assert_uint_eq(w5.len, w4.len + 8);
    kp_reader_init(&r, w5.buf, w5.len);
    kp_read_int32(&r);
    kp_read_array_count(&r, 1);
    kp_read_string(&r);
    kp_read_array_count(&r, 1);
    expect_partition_header(&r, 2, 0, 10, 10, 3);
    ck_assert_int_eq(kp_read_nullable_array_count(&r, 16), -1);
    ck_assert_int_eq(kp_read_int32(&r), 0);
    ck_assert_int_eq(kp_reader_expect_end(&r), KP_BUF_OK);
    kp_writer_free(&w4);
    kp_writer_free(&w5);
}
END_TEST

START_TEST(v7_session_error_has_no_responses) {
    static const kp_fetch_response_t resp = {0, KP_ERR_FETCH_SESSION_ID_NOT_FOUND, 0, 0, NULL};
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
        0x00, 0x46,             /* error_code 70 */
        0x00, 0x00, 0x00, 0x00, /* session_id 0 */
        0x00, 0x00, 0x00, 0x00, /* responses: 0 */
    };
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_fetch_response_encode(&w, 7, &resp, NULL), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(aborted_transactions_are_written_when_present) {
    static const kp_fetch_aborted_transaction_t aborted[] = {{1000, 17}};
    static const kp_fetch_response_partition_t p = {
        0, KP_ERR_NONE, 20, 18, 0, 1, aborted, -1, {0, NULL}};
    static const kp_fetch_response_topic_t t = {{1, "t"}, 1, &p};
    static const kp_fetch_response_t resp = {0, KP_ERR_NONE, 0, 1, &t};
    kp_writer_t w;
    kp_reader_t r;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_fetch_response_encode(&w, 4, &resp, NULL), 0);
    kp_reader_init(&r, w.buf, w.len);
    kp_read_skip(&r, 4 + 4 + 3 + 4 + 4 + 2 + 8 + 8);
    ck_assert_int_eq(kp_read_nullable_array_count(&r, 16), 1);
    ck_assert(kp_read_int64(&r) == 1000);
    ck_assert(kp_read_int64(&r) == 17);
    ck_assert_int_eq(kp_read_int32(&r), 0);
    ck_assert_int_eq(kp_reader_expect_end(&r), KP_BUF_OK);
    kp_writer_free(&w);
}
END_TEST

START_TEST(response_version_out_of_range_is_refused) {
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_fetch_response_encode(&w, 12, &v11_resp, NULL), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

Suite *fetch_suite(void) {
    Suite *s = suite_create("fetch");
    TCase *req = tcase_create("request");
    TCase *resp = tcase_create("response");

    tcase_add_test(req, librdkafka_v11_decodes);
    tcase_add_test(req, kafka_python_v4_decodes);
    tcase_add_test(req, v7_carries_a_session_and_forgotten_topics);
    tcase_add_test(req, truncated_request_is_rejected_at_every_length);
    tcase_add_test(req, trailing_garbage_is_rejected);
    tcase_add_test(req, negative_partition_count_is_rejected);
    tcase_add_test(req, oversized_topic_count_is_rejected_without_allocating);
    tcase_add_test(req, oversized_forgotten_partition_count_is_rejected);
    tcase_add_test(req, unsupported_request_version_is_refused);
    tcase_add_test(resp, v4_response_bytes_are_exact);
    tcase_add_test(resp, v11_response_round_trips);
    tcase_add_test(resp, out_of_band_records_leave_a_gap_at_the_reported_position);
    tcase_add_test(resp, v5_adds_log_start_offset_and_v4_omits_it);
    tcase_add_test(resp, v7_session_error_has_no_responses);
    tcase_add_test(resp, aborted_transactions_are_written_when_present);
    tcase_add_test(resp, response_version_out_of_range_is_refused);
    suite_add_tcase(s, req);
    suite_add_tcase(s, resp);
    return s;
}
