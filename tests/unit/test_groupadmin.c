/*
 * test_groupadmin.c - ListGroups, DescribeGroups and DeleteGroups codecs
 * (proto/kp_groupadmin.c, group-protocol.md 2.8-2.10) and the embedded
 * consumer protocol (proto/kp_consumer_protocol.c, 5.1-5.3).
 *
 * No client frames of these APIs have been captured yet: the fixtures were
 * written by hand from the field tables of group-protocol.md, laid out as
 * the clients named there send them (librdkafka's legacy list_groups sends
 * ListGroups v0 and DescribeGroups v0, kafka-python's admin DescribeGroups
 * v3 and DeleteGroups v1).  The consumer-protocol fixtures are the
 * librdkafka subscription example of 5.3 and the assignments of 5.3's
 * table (librdkafka's with null user data, KafkaJS's with empty user
 * data).  A DescribeGroups answer carries such blobs; one test decodes them
 * out of a decoded answer, as the admin tool will.
 *
 * Besides the fixtures: per-version round trips of everything that has
 * both sides, every truncation, trailing bytes, negative and oversized
 * counts (capped by the smallest element of that version), null where the
 * schema has no null, and versions outside the handled ranges.
 */
#include <string.h>

#include "proto/kp_consumer_protocol.h"
#include "proto/kp_groupadmin.h"
#include "proto/kp_header.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

/* --------------------------------------------------------------- helpers */

/* The §5.3 example: librdkafka's v1 subscription to topic "t" (one topic,
 * empty user data, no owned partitions). */
static const uint8_t librdkafka_subscription_v1[] = {
    0x00, 0x01,                         /* version 1 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', /* topics: ["t"] */
    0x00, 0x00, 0x00, 0x00,             /* user_data: empty */
    0x00, 0x00, 0x00, 0x00,             /* owned_partitions: 0 (v1+) */
};

/* librdkafka's v0 assignment of "t" partitions 0 and 1, user data null. */
static const uint8_t librdkafka_assignment_v0[] = {
    0x00, 0x00,                               /* version 0 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  /* assigned_partitions: 1, "t" */
    0x00, 0x00, 0x00, 0x02,                   /* partitions: 2 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0xff, 0xff, 0xff, 0xff,                   /* user_data: null */
};

/* -------------------------------------------------------------- ListGroups */

/* librdkafka's legacy rd_kafka_list_groups: ListGroups v0, correlation 2. */
static const uint8_t librdkafka_listgroups_v0[] = {
    0x00, 0x00, 0x00, 0x11,                         /* size 17 */
    0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, /* key 16, v0, corr 2 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id; no body */
};

static kp_listgroups_response_group_t listed[] = {
    {{1, "g"}, {8, "consumer"}},
    {{1, "o"}, {0, ""}}, /* a group that only stores offsets */
};

/* The v1 answer (throttle 0) listing those two groups; v0 lacks the
 * throttle time. */
static const uint8_t listgroups_resp_v1[] = {
    0x00, 0x00, 0x00, 0x00,                          /* throttle_time_ms (v1+) */
    0x00, 0x00,                                      /* error_code */
    0x00, 0x00, 0x00, 0x02,                          /* groups: 2 */
    0x00, 0x01, 'g', 0x00, 0x08, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r',
    0x00, 0x01, 'o', 0x00, 0x00,                     /* "o", "" */
};

static int listgroups_response_verdict(const uint8_t *b, size_t n, int16_t v) {
    kp_reader_t r;
    kp_listgroups_response_t resp;
    int rc;

    kp_reader_init(&r, b, n);
    rc = kp_listgroups_response_decode(&r, v, &resp);
    kp_listgroups_response_clear(&resp);
    return rc;
}

START_TEST(listgroups_librdkafka_v0_request_is_empty) {
    kp_reader_t r;
    kp_request_header_t h;

    protofix_open_frame(&r, librdkafka_listgroups_v0, sizeof(librdkafka_listgroups_v0), KP_API_LIST_GROUPS, 1, &h);
    ck_assert_int_eq(kp_listgroups_request_decode(&r, h.request_api_version), 0);
}
END_TEST

START_TEST(listgroups_request_refuses_bytes_and_unhandled_versions) {
    static const uint8_t one[] = {0x00};
    kp_reader_t r;
    kp_writer_t w;

    for (int16_t v = 0; v <= KP_LISTGROUPS_VERSION_MAX; v++) {
        kp_reader_init(&r, one, sizeof(one));
        ck_assert_int_eq(kp_listgroups_request_decode(&r, v), KP_BUF_TRAILING);
    }
    kp_reader_init(&r, one, 0);
    ck_assert_int_eq(kp_listgroups_request_decode(&r, 3), KP_BUF_INVALID);
    kp_writer_init(&w);
    ck_assert_int_eq(kp_listgroups_request_encode(&w, 2), 0);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_int_eq(kp_listgroups_request_encode(&w, 3), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(listgroups_response_bytes_follow_the_spec_table) {
    kp_listgroups_response_t resp = {0, KP_ERR_NONE, 2, listed};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_listgroups_response_encode(&w, 1, &resp), 0);
    protofix_bytes(&w, listgroups_resp_v1, sizeof(listgroups_resp_v1));
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_listgroups_response_encode(&w, 0, &resp), 0);
    protofix_bytes(&w, listgroups_resp_v1 + 4, sizeof(listgroups_resp_v1) - 4);
    ck_assert_int_eq(kp_listgroups_response_encode(&w, 3, &resp), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(listgroups_response_every_version_round_trips) {
    kp_listgroups_response_t in = {30, KP_ERR_COORDINATOR_LOAD_IN_PROGRESS, 2, listed};

    for (int16_t v = 0; v <= KP_LISTGROUPS_VERSION_MAX; v++) {
        kp_writer_t w, again;
        kp_reader_t r;
        kp_listgroups_response_t resp;

        kp_writer_init(&w);
        kp_writer_init(&again);
        ck_assert_int_eq(kp_listgroups_response_encode(&w, v, &in), 0);
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_listgroups_response_decode(&r, v, &resp), 0);
        ck_assert_int_eq(resp.throttle_time_ms, v >= 1 ? 30 : 0);
        ck_assert_int_eq(resp.error_code, KP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
        ck_assert_int_eq(resp.n_groups, 2);
        ck_assert(kp_str_eq(resp.groups[0].protocol_type, "consumer"));
        ck_assert(kp_str_eq(resp.groups[1].group_id, "o"));
        ck_assert_int_eq(kp_listgroups_response_encode(&again, v, &resp), 0);
        protofix_bytes(&again, w.buf, w.len);
        kp_listgroups_response_clear(&resp);
        protofix_truncations_fail(listgroups_response_verdict, w.buf, w.len, v);
        protofix_trailing_fails(listgroups_response_verdict, w.buf, w.len, v);
        kp_writer_free(&w);
        kp_writer_free(&again);
    }
}
END_TEST

START_TEST(listgroups_response_bad_counts_allocate_nothing) {
    /* Two groups take at least 8 bytes; 7 are left. */
    static const uint8_t short_groups[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
                                           0x01, 'g',  0x00, 0x00, 0x00, 0x00};
    static const uint8_t negative[] = {0x00, 0x00, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t null_id[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0x00, 0x00};
    kp_reader_t r;
    kp_listgroups_response_t resp;

    kp_reader_init(&r, short_groups, sizeof(short_groups));
    ck_assert_int_eq(kp_listgroups_response_decode(&r, 0, &resp), KP_BUF_SHORT);
    ck_assert_ptr_null(resp.groups);
    kp_listgroups_response_clear(&resp);
    ck_assert_int_eq(listgroups_response_verdict(negative, sizeof(negative), 0), KP_BUF_INVALID);
    ck_assert_int_eq(listgroups_response_verdict(null_id, sizeof(null_id), 0), KP_BUF_INVALID);
}
END_TEST

/* ---------------------------------------------------------- DescribeGroups */

/* librdkafka's legacy list_groups: DescribeGroups v0 for "g", corr 3. */
static const uint8_t librdkafka_describegroups_v0[] = {
    0x00, 0x00, 0x00, 0x18,                         /* size 24 */
    0x00, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, /* key 15, v0, corr 3 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'g',        /* groups: ["g"] */
};

/* kafka-python's admin: DescribeGroups v3 for "g", authorized operations
 * asked for. */
static const uint8_t kafkapython_describegroups_v3_body[] = {
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'g', /* groups: ["g"] */
    0x01,                                    /* include_authorized_operations */
};

static int describegroups_verdict(const uint8_t *b, size_t n, int16_t v) {
    kp_reader_t r;
    kp_describegroups_request_t req;
    int rc;

    kp_reader_init(&r, b, n);
    rc = kp_describegroups_request_decode(&r, v, &req);
    kp_describegroups_request_clear(&req);
    return rc;
}

static int describegroups_response_verdict(const uint8_t *b, size_t n, int16_t v) {
    kp_reader_t r;
    kp_describegroups_response_t resp;
    int rc;

    kp_reader_init(&r, b, n);
    rc = kp_describegroups_response_decode(&r, v, &resp);
    kp_describegroups_response_clear(&resp);
    return rc;
}

START_TEST(describegroups_librdkafka_v0_frame_decodes) {
    kp_reader_t r;
    kp_request_header_t h;
    kp_describegroups_request_t req;

    protofix_open_frame(&r, librdkafka_describegroups_v0, sizeof(librdkafka_describegroups_v0),
                        KP_API_DESCRIBE_GROUPS, 1, &h);
    ck_assert_int_eq(kp_describegroups_request_decode(&r, h.request_api_version, &req), 0);
    ck_assert_int_eq(req.n_groups, 1);
    ck_assert(kp_str_eq(req.groups[0], "g"));
    ck_assert(!req.include_authorized_operations);
    kp_describegroups_request_clear(&req);
}
END_TEST

START_TEST(describegroups_v3_request_asks_for_operations) {
    kp_reader_t r;
    kp_describegroups_request_t req;
    const uint8_t *b = kafkapython_describegroups_v3_body;
    size_t len = sizeof(kafkapython_describegroups_v3_body);

    kp_reader_init(&r, b, len);
    ck_assert_int_eq(kp_describegroups_request_decode(&r, 3, &req), 0);
    ck_assert(req.include_authorized_operations);
    kp_describegroups_request_clear(&req);
    /* Below v3 the flag is not part of the body. */
    ck_assert_int_eq(describegroups_verdict(b, len, 2), KP_BUF_TRAILING);
    protofix_truncations_fail(describegroups_verdict, b, len, 3);
    protofix_trailing_fails(describegroups_verdict, b, len, 3);
}
END_TEST

START_TEST(describegroups_request_every_version_round_trips) {
    kp_str_t names[] = {{1, "a"}, {0, ""}, {3, "ccc"}};
    kp_describegroups_request_t in = {3, names, true};

    for (int16_t v = 0; v <= KP_DESCRIBEGROUPS_VERSION_MAX; v++) {
        kp_writer_t w, again;
        kp_reader_t r;
        kp_describegroups_request_t req;

        kp_writer_init(&w);
        kp_writer_init(&again);
        ck_assert_int_eq(kp_describegroups_request_encode(&w, v, &in), 0);
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_describegroups_request_decode(&r, v, &req), 0);
        ck_assert_int_eq(req.n_groups, 3);
        ck_assert(kp_str_eq(req.groups[2], "ccc"));
        ck_assert(req.include_authorized_operations == (v >= 3));
        ck_assert_int_eq(kp_describegroups_request_encode(&again, v, &req), 0);
        protofix_bytes(&again, w.buf, w.len);
        kp_describegroups_request_clear(&req);
        protofix_truncations_fail(describegroups_verdict, w.buf, w.len, v);
        protofix_trailing_fails(describegroups_verdict, w.buf, w.len, v);
        kp_writer_free(&w);
        kp_writer_free(&again);
    }
}
END_TEST

START_TEST(describegroups_request_bad_counts_and_nulls_are_rejected) {
    static const uint8_t hostile[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t negative[] = {0xff, 0xff, 0xff, 0xff};
    static const uint8_t null_name[] = {0x00, 0x00, 0x00, 0x01, 0xff, 0xff};
    kp_reader_t r;
    kp_describegroups_request_t req;

    kp_reader_init(&r, hostile, sizeof(hostile));
    ck_assert_int_eq(kp_describegroups_request_decode(&r, 0, &req), KP_BUF_SHORT);
    ck_assert_ptr_null(req.groups);
    kp_describegroups_request_clear(&req);
    ck_assert_int_eq(describegroups_verdict(negative, sizeof(negative), 0), KP_BUF_INVALID);
    ck_assert_int_eq(describegroups_verdict(null_name, sizeof(null_name), 0), KP_BUF_INVALID);
    ck_assert_int_eq(describegroups_verdict(null_name, sizeof(null_name), 5), KP_BUF_INVALID);
}
END_TEST

/* A Stable consumer group "g" on "range" with one member whose metadata
 * and assignment are the consumer-protocol fixtures above. */
static kp_describegroups_response_member_t stable_member = {
    {3, "m-1"}, {KP_NULL_LEN, NULL}, {7, "rdkafka"}, {9, "/10.0.0.7"},
    {sizeof(librdkafka_subscription_v1), librdkafka_subscription_v1},
    {sizeof(librdkafka_assignment_v0), librdkafka_assignment_v0},
};
static kp_describegroups_response_group_t described[] = {
    {KP_ERR_NONE, {1, "g"}, {6, "Stable"}, {8, "consumer"}, {5, "range"}, 1, &stable_member,
     KP_AUTHORIZED_OPERATIONS_OMITTED},
    /* An unknown group is no error: Dead, empty, no members. */
    {KP_ERR_NONE, {1, "x"}, {4, "Dead"}, {0, ""}, {0, ""}, 0, NULL, KP_AUTHORIZED_OPERATIONS_OMITTED},
};

/* The v0 encoding of those two groups, written from the 2.9 table. */
static const uint8_t describegroups_resp_v0_head[] = {
    0x00, 0x00, 0x00, 0x02,                             /* groups: 2 */
    0x00, 0x00,                                         /* error_code */
    0x00, 0x01, 'g',                                    /* group_id */
    0x00, 0x06, 'S', 't', 'a', 'b', 'l', 'e',           /* group_state */
    0x00, 0x08, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r', /* protocol_type */
    0x00, 0x05, 'r', 'a', 'n', 'g', 'e',                /* protocol_data */
    0x00, 0x00, 0x00, 0x01,                             /* members: 1 */
    0x00, 0x03, 'm', '-', '1',                          /* member_id */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',      /* client_id */
    0x00, 0x09, '/', '1', '0', '.', '0', '.', '0', '.', '7', /* client_host */
    0x00, 0x00, 0x00, 0x11,                             /* member_metadata: 17 bytes */
};
/* ... the subscription, then member_assignment: 25 bytes, the assignment,
 * then the Dead group. */
static const uint8_t describegroups_resp_v0_tail[] = {
    0x00, 0x00,                                         /* error_code */
    0x00, 0x01, 'x',                                    /* group_id */
    0x00, 0x04, 'D', 'e', 'a', 'd',                     /* group_state */
    0x00, 0x00, 0x00, 0x00,                             /* protocol_type, protocol_data */
    0x00, 0x00, 0x00, 0x00,                             /* members: 0 */
};

/* Concatenates the v0 answer's parts. */
static size_t describegroups_resp_v0(uint8_t *out) {
    static const uint8_t assignment_len[] = {0x00, 0x00, 0x00, 0x19};
    size_t n = 0;

    memcpy(out + n, describegroups_resp_v0_head, sizeof(describegroups_resp_v0_head));
    n += sizeof(describegroups_resp_v0_head);
    memcpy(out + n, librdkafka_subscription_v1, sizeof(librdkafka_subscription_v1));
    n += sizeof(librdkafka_subscription_v1);
    memcpy(out + n, assignment_len, sizeof(assignment_len));
    n += sizeof(assignment_len);
    memcpy(out + n, librdkafka_assignment_v0, sizeof(librdkafka_assignment_v0));
    n += sizeof(librdkafka_assignment_v0);
    memcpy(out + n, describegroups_resp_v0_tail, sizeof(describegroups_resp_v0_tail));
    return n + sizeof(describegroups_resp_v0_tail);
}

START_TEST(describegroups_v0_response_bytes_follow_the_spec_table) {
    kp_describegroups_response_t resp = {0, 2, described};
    uint8_t want[256];
    size_t len = describegroups_resp_v0(want);
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_describegroups_response_encode(&w, 0, &resp), 0);
    protofix_bytes(&w, want, len);
    kp_writer_free(&w);
}
END_TEST

/* v4 of the Dead group alone: throttle, the group, then the v3 operations;
 * an empty member array, so the v4 instance id does not show. */
START_TEST(describegroups_v4_response_adds_throttle_and_operations) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms (v1+) */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00,             /* groups: 1, error_code */
        0x00, 0x01, 'x', 0x00, 0x04, 'D', 'e', 'a', 'd', 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,                         /* members: 0 */
        0x80, 0x00, 0x00, 0x00,                         /* authorized_operations (v3+) */
    };
    kp_describegroups_response_t resp = {0, 1, &described[1]};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_describegroups_response_encode(&w, 4, &resp), 0);
    protofix_bytes(&w, want, sizeof(want));
    ck_assert_int_eq(kp_describegroups_response_encode(&w, 5, &resp), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(describegroups_member_blobs_decode_as_consumer_protocol) {
    uint8_t bytes[256];
    size_t len = describegroups_resp_v0(bytes);
    kp_reader_t r;
    kp_describegroups_response_t resp;
    kp_consumer_subscription_t sub;
    kp_consumer_assignment_t a;
    const kp_describegroups_response_member_t *m;

    kp_reader_init(&r, bytes, len);
    ck_assert_int_eq(kp_describegroups_response_decode(&r, 0, &resp), 0);
    ck_assert_int_eq(resp.n_groups, 2);
    ck_assert(kp_str_eq(resp.groups[0].group_state, "Stable"));
    ck_assert_int_eq(resp.groups[0].authorized_operations, KP_AUTHORIZED_OPERATIONS_OMITTED);
    ck_assert(kp_str_eq(resp.groups[1].group_state, "Dead"));
    ck_assert_int_eq(resp.groups[1].n_members, 0);
    m = &resp.groups[0].members[0];
    ck_assert(kp_str_eq(m->client_host, "/10.0.0.7"));
    ck_assert_int_lt(m->group_instance_id.len, 0);
    ck_assert_int_eq(kp_consumer_subscription_decode(m->member_metadata, &sub), 0);
    ck_assert_int_eq(sub.n_topics, 1);
    ck_assert(kp_str_eq(sub.topics[0], "t"));
    ck_assert_int_eq(kp_consumer_assignment_decode(m->member_assignment, &a), 0);
    ck_assert_int_eq(a.n_assigned_partitions, 1);
    ck_assert_int_eq(a.assigned_partitions[0].partitions[1], 1);
    kp_consumer_assignment_clear(&a);
    kp_consumer_subscription_clear(&sub);
    kp_describegroups_response_clear(&resp);
    protofix_truncations_fail(describegroups_response_verdict, bytes, len, 0);
    protofix_trailing_fails(describegroups_response_verdict, bytes, len, 0);
}
END_TEST

START_TEST(describegroups_response_every_version_round_trips) {
    kp_describegroups_response_member_t member = stable_member;
    kp_describegroups_response_group_t groups[2] = {described[0], described[1]};
    kp_describegroups_response_t in = {12, 2, groups};

    member.group_instance_id = kp_str_c("static-1");
    groups[0].members = &member;
    groups[0].authorized_operations = 0x0ff8;
    for (int16_t v = 0; v <= KP_DESCRIBEGROUPS_VERSION_MAX; v++) {
        kp_writer_t w, again;
        kp_reader_t r;
        kp_describegroups_response_t resp;
        const kp_describegroups_response_member_t *m;

        kp_writer_init(&w);
        kp_writer_init(&again);
        ck_assert_int_eq(kp_describegroups_response_encode(&w, v, &in), 0);
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_describegroups_response_decode(&r, v, &resp), 0);
        ck_assert_int_eq(resp.throttle_time_ms, v >= 1 ? 12 : 0);
        ck_assert_int_eq(resp.groups[0].authorized_operations, v >= 3 ? 0x0ff8 : KP_AUTHORIZED_OPERATIONS_OMITTED);
        m = &resp.groups[0].members[0];
        if (v >= 4)
            ck_assert(kp_str_eq(m->group_instance_id, "static-1"));
        else
            ck_assert_int_lt(m->group_instance_id.len, 0);
        ck_assert_int_eq(m->member_assignment.len, (int32_t)sizeof(librdkafka_assignment_v0));
        ck_assert_mem_eq(m->member_assignment.ptr, librdkafka_assignment_v0, sizeof(librdkafka_assignment_v0));
        ck_assert_int_eq(kp_describegroups_response_encode(&again, v, &resp), 0);
        protofix_bytes(&again, w.buf, w.len);
        kp_describegroups_response_clear(&resp);
        protofix_truncations_fail(describegroups_response_verdict, w.buf, w.len, v);
        protofix_trailing_fails(describegroups_response_verdict, w.buf, w.len, v);
        kp_writer_free(&w);
        kp_writer_free(&again);
    }
}
END_TEST

/* v4 members take at least 16 bytes (four strings, two blobs); two do not
 * fit in 31, although they would under v0's 14.  A hostile group count
 * allocates nothing either. */
START_TEST(describegroups_response_counts_are_capped_by_the_version_minimum) {
    uint8_t body[4 + 4 + 2 + 4 * 3 + 4 + 31] = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,             /* throttle, 1 group, error */
        0x00, 0x01, 'g', 0x00, 0x01, 's', 0x00, 0x01, 't', 0x00, 0x01, 'd', /* four strings */
        0x00, 0x00, 0x00, 0x02,                                             /* members: 2 */
    };
    static const uint8_t hostile[] = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
    kp_reader_t r;
    kp_describegroups_response_t resp;

    kp_reader_init(&r, body, sizeof(body));
    ck_assert_int_eq(kp_describegroups_response_decode(&r, 4, &resp), KP_BUF_SHORT);
    ck_assert_int_eq(resp.n_groups, 1);
    ck_assert_ptr_null(resp.groups[0].members);
    kp_describegroups_response_clear(&resp);
    kp_reader_init(&r, hostile, sizeof(hostile));
    ck_assert_int_eq(kp_describegroups_response_decode(&r, 0, &resp), KP_BUF_SHORT);
    ck_assert_ptr_null(resp.groups);
    kp_describegroups_response_clear(&resp);
}
END_TEST

/* ------------------------------------------------------------ DeleteGroups */

/* kafka-python's admin: DeleteGroups v1, corr 5, ["g1", "g2", "g1"]. */
static const uint8_t kafkapython_deletegroups_v1[] = {
    0x00, 0x00, 0x00, 0x26,                         /* size 38 */
    0x00, 0x2a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, /* key 42, v1, corr 5 */
    0x00, 0x0c, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n',
    0x00, 0x00, 0x00, 0x03,                         /* groups_names: 3 */
    0x00, 0x02, 'g', '1', 0x00, 0x02, 'g', '2', 0x00, 0x02, 'g', '1',
};

static int deletegroups_verdict(const uint8_t *b, size_t n, int16_t v) {
    kp_reader_t r;
    kp_deletegroups_request_t req;
    int rc;

    kp_reader_init(&r, b, n);
    rc = kp_deletegroups_request_decode(&r, v, &req);
    kp_deletegroups_request_clear(&req);
    return rc;
}

START_TEST(deletegroups_kafkapython_v1_frame_decodes_with_duplicates) {
    kp_reader_t r;
    kp_request_header_t h;
    kp_deletegroups_request_t req;

    protofix_open_frame(&r, kafkapython_deletegroups_v1, sizeof(kafkapython_deletegroups_v1),
                        KP_API_DELETE_GROUPS, 1, &h);
    ck_assert_int_eq(kp_deletegroups_request_decode(&r, h.request_api_version, &req), 0);
    ck_assert_int_eq(req.n_groups_names, 3);
    ck_assert(kp_str_eq(req.groups_names[0], "g1"));
    ck_assert(kp_str_eq(req.groups_names[1], "g2"));
    ck_assert(kp_str_eq(req.groups_names[2], "g1"));
    kp_deletegroups_request_clear(&req);
}
END_TEST

START_TEST(deletegroups_request_refuses_bad_bodies) {
    const uint8_t *b = kafkapython_deletegroups_v1 + 4 + 8 + 14;
    size_t len = sizeof(kafkapython_deletegroups_v1) - 4 - 8 - 14;
    static const uint8_t hostile[] = {0x00, 0x00, 0x10, 0x00, 0x00, 0x00};
    static const uint8_t null_name[] = {0x00, 0x00, 0x00, 0x01, 0xff, 0xff};
    kp_reader_t r;
    kp_deletegroups_request_t req;

    for (int16_t v = 0; v <= KP_DELETEGROUPS_VERSION_MAX; v++) {
        protofix_truncations_fail(deletegroups_verdict, b, len, v);
        protofix_trailing_fails(deletegroups_verdict, b, len, v);
    }
    ck_assert_int_eq(deletegroups_verdict(b, len, 2), KP_BUF_INVALID);
    ck_assert_int_eq(deletegroups_verdict(null_name, sizeof(null_name), 0), KP_BUF_INVALID);
    kp_reader_init(&r, hostile, sizeof(hostile));
    ck_assert_int_eq(kp_deletegroups_request_decode(&r, 1, &req), KP_BUF_SHORT);
    ck_assert_ptr_null(req.groups_names);
    kp_deletegroups_request_clear(&req);
}
END_TEST

START_TEST(deletegroups_response_bytes_follow_the_spec_table) {
    static const kp_deletegroups_response_result_t results[] = {
        {{2, "g1"}, KP_ERR_NONE},
        {{2, "g2"}, KP_ERR_GROUP_ID_NOT_FOUND},
    };
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00,             /* throttle_time_ms (every version) */
        0x00, 0x00, 0x00, 0x02,             /* results: 2 */
        0x00, 0x02, 'g', '1', 0x00, 0x00,   /* g1: NONE */
        0x00, 0x02, 'g', '2', 0x00, 0x45,   /* g2: GROUP_ID_NOT_FOUND (69) */
    };
    kp_deletegroups_response_t resp = {0, 2, results};
    kp_writer_t w;

    kp_writer_init(&w);
    for (int16_t v = 0; v <= KP_DELETEGROUPS_VERSION_MAX; v++) {
        kp_writer_reset(&w);
        ck_assert_int_eq(kp_deletegroups_response_encode(&w, v, &resp), 0);
        protofix_bytes(&w, want, sizeof(want));
    }
    ck_assert_int_eq(kp_deletegroups_response_encode(&w, 2, &resp), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

/* ---------------------------------------------------- consumer protocol */

static int subscription_verdict(const uint8_t *b, size_t n, int16_t v) {
    kp_consumer_subscription_t sub;
    int rc = kp_consumer_subscription_decode((kp_bytes_t){(int32_t)n, b}, &sub);

    (void)v;
    kp_consumer_subscription_clear(&sub);
    return rc;
}

static int assignment_verdict(const uint8_t *b, size_t n, int16_t v) {
    kp_consumer_assignment_t a;
    int rc = kp_consumer_assignment_decode((kp_bytes_t){(int32_t)n, b}, &a);

    (void)v;
    kp_consumer_assignment_clear(&a);
    return rc;
}

START_TEST(librdkafka_subscription_example_decodes) {
    kp_consumer_subscription_t sub;
    kp_bytes_t b = {sizeof(librdkafka_subscription_v1), librdkafka_subscription_v1};

    ck_assert_int_eq(kp_consumer_subscription_decode(b, &sub), 0);
    ck_assert_int_eq(sub.version, 1);
    ck_assert_int_eq(sub.n_topics, 1);
    ck_assert(kp_str_eq(sub.topics[0], "t"));
    kp_consumer_subscription_clear(&sub);
}
END_TEST

/* Only the version and the topics are read: user data, owned partitions
 * and anything a later version appends are left alone, and so is their
 * absence. */
START_TEST(subscription_prefix_is_all_that_is_read) {
    static const uint8_t kafkapython_v0[] = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 'a', 0x00, 0x01, 'b', /* v0, ["a", "b"] */
        0x00, 0x00, 0x00, 0x00,                                             /* user_data: empty */
    };
    const size_t prefix = 2 + 4 + 3;
    kp_consumer_subscription_t sub;

    ck_assert_int_eq(kp_consumer_subscription_decode((kp_bytes_t){sizeof(kafkapython_v0), kafkapython_v0}, &sub), 0);
    ck_assert_int_eq(sub.version, 0);
    ck_assert_int_eq(sub.n_topics, 2);
    ck_assert(kp_str_eq(sub.topics[1], "b"));
    kp_consumer_subscription_clear(&sub);
    for (size_t n = prefix; n <= sizeof(librdkafka_subscription_v1); n++)
        ck_assert_int_eq(subscription_verdict(librdkafka_subscription_v1, n, 0), 0);
    protofix_truncations_fail(subscription_verdict, librdkafka_subscription_v1, prefix, 0);
}
END_TEST

START_TEST(subscription_bad_prefixes_are_rejected) {
    static const uint8_t negative_version[] = {0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t null_topics[] = {0x00, 0x00, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t null_topic[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff};
    static const uint8_t hostile[] = {0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x00};
    kp_consumer_subscription_t sub;

    ck_assert_int_eq(subscription_verdict(negative_version, sizeof(negative_version), 0), KP_BUF_INVALID);
    ck_assert_int_eq(subscription_verdict(null_topics, sizeof(null_topics), 0), KP_BUF_INVALID);
    ck_assert_int_eq(subscription_verdict(null_topic, sizeof(null_topic), 0), KP_BUF_INVALID);
    ck_assert_int_eq(kp_consumer_subscription_decode((kp_bytes_t){sizeof(hostile), hostile}, &sub), KP_BUF_SHORT);
    ck_assert_ptr_null(sub.topics);
    kp_consumer_subscription_clear(&sub);
    ck_assert_int_eq(kp_consumer_subscription_decode((kp_bytes_t){KP_NULL_LEN, NULL}, &sub), KP_BUF_SHORT);
    kp_consumer_subscription_clear(&sub);
}
END_TEST

START_TEST(librdkafka_assignment_decodes_and_encodes_back) {
    kp_consumer_assignment_t a;
    kp_writer_t w;

    ck_assert_int_eq(
        kp_consumer_assignment_decode((kp_bytes_t){sizeof(librdkafka_assignment_v0), librdkafka_assignment_v0}, &a),
        0);
    ck_assert_int_eq(a.version, 0);
    ck_assert_int_eq(a.n_assigned_partitions, 1);
    ck_assert(kp_str_eq(a.assigned_partitions[0].topic, "t"));
    ck_assert_int_eq(a.assigned_partitions[0].n_partitions, 2);
    ck_assert_int_eq(a.assigned_partitions[0].partitions[0], 0);
    ck_assert_int_eq(a.assigned_partitions[0].partitions[1], 1);
    ck_assert_int_lt(a.user_data.len, 0);
    kp_writer_init(&w);
    ck_assert_int_eq(kp_consumer_assignment_encode(&w, &a), 0);
    protofix_bytes(&w, librdkafka_assignment_v0, sizeof(librdkafka_assignment_v0));
    kp_writer_free(&w);
    kp_consumer_assignment_clear(&a);
}
END_TEST

/* KafkaJS writes empty user data; a v3 assignment with bytes after it
 * reads the same (later versions only append). */
START_TEST(assignment_user_data_and_later_fields_are_ignored) {
    int32_t parts[] = {4};
    kp_consumer_assignment_topic_t topic = {{3, "abc"}, 1, parts};
    kp_consumer_assignment_t in = {3, 1, &topic, {2, (const uint8_t *)"ud"}}, back;
    static const uint8_t want[] = {
        0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 'a', 'b', 'c', /* v3, "abc" */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04,             /* [4] */
        0x00, 0x00, 0x00, 0x02, 'u', 'd',                           /* user_data "ud" */
    };
    uint8_t longer[sizeof(want) + 3];
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_consumer_assignment_encode(&w, &in), 0);
    protofix_bytes(&w, want, sizeof(want));
    kp_writer_free(&w);
    memcpy(longer, want, sizeof(want));
    memset(longer + sizeof(want), 0xee, 3);
    ck_assert_int_eq(kp_consumer_assignment_decode((kp_bytes_t){sizeof(longer), longer}, &back), 0);
    ck_assert_int_eq(back.version, 3);
    ck_assert_int_eq(back.assigned_partitions[0].partitions[0], 4);
    ck_assert_int_lt(back.user_data.len, 0);
    kp_consumer_assignment_clear(&back);
    in.version = -1;
    kp_writer_init(&w);
    ck_assert_int_eq(kp_consumer_assignment_encode(&w, &in), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(empty_assignment_means_no_partitions) {
    kp_consumer_assignment_t a;
    static const uint8_t nothing[1];

    ck_assert_int_eq(kp_consumer_assignment_decode((kp_bytes_t){0, nothing}, &a), 0);
    ck_assert_int_eq(a.version, 0);
    ck_assert_int_eq(a.n_assigned_partitions, 0);
    ck_assert_ptr_null(a.assigned_partitions);
    kp_consumer_assignment_clear(&a);
    ck_assert_int_eq(kp_consumer_assignment_decode((kp_bytes_t){KP_NULL_LEN, NULL}, &a), 0);
    ck_assert_int_eq(a.n_assigned_partitions, 0);
    kp_consumer_assignment_clear(&a);
}
END_TEST

START_TEST(assignment_bad_prefixes_are_rejected) {
    /* Up to its partitions: version, one topic, two partition ids. */
    const size_t prefix = 2 + 4 + 3 + 4 + 8;
    static const uint8_t hostile_parts[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
                                            0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t negative_version[] = {0x80, 0x00, 0x00, 0x00, 0x00, 0x00};
    kp_consumer_assignment_t a;

    /* Length 0 is the empty assignment: truncations start at 1. */
    for (size_t n = 1; n < prefix; n++) ck_assert_int_ne(assignment_verdict(librdkafka_assignment_v0, n, 0), 0);
    ck_assert_int_eq(assignment_verdict(librdkafka_assignment_v0, prefix, 0), 0);
    ck_assert_int_eq(assignment_verdict(negative_version, sizeof(negative_version), 0), KP_BUF_INVALID);
    ck_assert_int_eq(kp_consumer_assignment_decode((kp_bytes_t){sizeof(hostile_parts), hostile_parts}, &a),
                     KP_BUF_SHORT);
    ck_assert_int_eq(a.n_assigned_partitions, 1);
    ck_assert_ptr_null(a.assigned_partitions[0].partitions);
    kp_consumer_assignment_clear(&a);
}
END_TEST

Suite *groupadmin_suite(void) {
    Suite *s = suite_create("groupadmin");
    TCase *list = tcase_create("listgroups");
    TCase *describe = tcase_create("describegroups");
    TCase *del = tcase_create("deletegroups");
    TCase *consumer = tcase_create("consumer_protocol");

    tcase_add_test(list, listgroups_librdkafka_v0_request_is_empty);
    tcase_add_test(list, listgroups_request_refuses_bytes_and_unhandled_versions);
    tcase_add_test(list, listgroups_response_bytes_follow_the_spec_table);
    tcase_add_test(list, listgroups_response_every_version_round_trips);
    tcase_add_test(list, listgroups_response_bad_counts_allocate_nothing);
    suite_add_tcase(s, list);
    tcase_add_test(describe, describegroups_librdkafka_v0_frame_decodes);
    tcase_add_test(describe, describegroups_v3_request_asks_for_operations);
    tcase_add_test(describe, describegroups_request_every_version_round_trips);
    tcase_add_test(describe, describegroups_request_bad_counts_and_nulls_are_rejected);
    tcase_add_test(describe, describegroups_v0_response_bytes_follow_the_spec_table);
    tcase_add_test(describe, describegroups_v4_response_adds_throttle_and_operations);
    tcase_add_test(describe, describegroups_member_blobs_decode_as_consumer_protocol);
    tcase_add_test(describe, describegroups_response_every_version_round_trips);
    tcase_add_test(describe, describegroups_response_counts_are_capped_by_the_version_minimum);
    suite_add_tcase(s, describe);
    tcase_add_test(del, deletegroups_kafkapython_v1_frame_decodes_with_duplicates);
    tcase_add_test(del, deletegroups_request_refuses_bad_bodies);
    tcase_add_test(del, deletegroups_response_bytes_follow_the_spec_table);
    suite_add_tcase(s, del);
    tcase_add_test(consumer, librdkafka_subscription_example_decodes);
    tcase_add_test(consumer, subscription_prefix_is_all_that_is_read);
    tcase_add_test(consumer, subscription_bad_prefixes_are_rejected);
    tcase_add_test(consumer, librdkafka_assignment_decodes_and_encodes_back);
    tcase_add_test(consumer, assignment_user_data_and_later_fields_are_ignored);
    tcase_add_test(consumer, empty_assignment_means_no_partitions);
    tcase_add_test(consumer, assignment_bad_prefixes_are_rejected);
    suite_add_tcase(s, consumer);
    return s;
}
