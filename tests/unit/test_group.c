/*
 * test_group.c - the group-membership codecs (proto/kp_group.c,
 * group-protocol.md 2.2-2.5): JoinGroup v0-5, SyncGroup v0-3, Heartbeat
 * v0-3 and LeaveGroup v0-3.
 *
 * The request frames below were written by hand from the spec's field
 * tables (not captured from a client), at the versions librdkafka 2.0.2
 * sends; a small request writer in this file lays out the same sample
 * requests at every version, and decoding its output must give the sample
 * back.  Bad bodies: every truncation, trailing bytes, negative, hostile and
 * just-too-large counts, null where the schema forbids it, versions outside
 * the handled range.  Responses are compared byte for byte with hex also
 * written from the field tables, error answers with null strings included.
 */
#include <string.h>

#include "proto/kp_group.h"
#include "proto/kp_header.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

#define STR(s) ((kp_str_t){(int32_t)sizeof(s) - 1, s})
#define BYTES(a) ((kp_bytes_t){(int32_t)sizeof(a), a})
#define NULL_BYTES ((kp_bytes_t){KP_NULL_LEN, NULL})
#define CLIENT_ID_LEN 9 /* "rdkafka" with its int16 length */

static bool same_str(kp_str_t a, kp_str_t b) {
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static bool same_bytes(kp_bytes_t a, kp_bytes_t b) {
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static void expect_written(const kp_writer_t *w, const uint8_t *want, size_t n) {
    ck_assert_int_eq(w->err, KP_BUF_OK);
    ck_assert_uint_eq(w->len, n);
    ck_assert_mem_eq(w->buf, want, n);
}

/* A body that is want preceded by throttle_time_ms 100, as every response
 * below that has the field writes it first. */
static void expect_throttled(const kp_writer_t *w, const uint8_t *want, size_t n) {
    static const uint8_t throttle[] = {0x00, 0x00, 0x00, 0x64};

    ck_assert_uint_eq(w->len, n + sizeof(throttle));
    ck_assert_mem_eq(w->buf, throttle, sizeof(throttle));
    ck_assert_mem_eq(w->buf + sizeof(throttle), want, n);
}

/* ------------------------------------------------------ sample requests */

/* ConsumerProtocolSubscription v0: topics ["t"], user_data null. */
static const uint8_t subscription[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
                                       0x01, 't',  0xff, 0xff, 0xff, 0xff};
/* ConsumerProtocolAssignment v0: no partitions, user_data null. */
static const uint8_t assignment[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff};

static kp_joingroup_protocol_t sample_protocols[] = {
    {STR("range"), BYTES(subscription)},
    {STR("roundrobin"), BYTES(subscription)},
};

static const kp_joingroup_request_t sample_join = {
    STR("grp"), 45000, 300000, STR("rdkafka-0001"), STR("inst-1"), STR("consumer"), 2, sample_protocols,
};

static kp_syncgroup_assignment_t sample_assignments[] = {
    {STR("rdkafka-0001"), BYTES(assignment)},
    {STR("rdkafka-0002"), {0, NULL}},
};

static const kp_syncgroup_request_t sample_sync = {
    STR("grp"), 7, STR("rdkafka-0001"), STR("inst-1"), 2, sample_assignments,
};

static const kp_heartbeat_request_t sample_heartbeat = {STR("grp"), 7, STR("rdkafka-0001"), STR("inst-1")};

static kp_leavegroup_member_t sample_leavers[] = {
    {STR("rdkafka-0001"), KP_STR_NULL},
    {STR("rdkafka-0002"), STR("inst-2")},
};

/* In the v0-2 form only sample_leavers[0].member_id goes out. */
static const kp_leavegroup_request_t sample_leave = {STR("grp"), 2, sample_leavers, false};

/* ------------------------------------------- the test's request writer */

static void put_joingroup(kp_writer_t *w, int16_t v, const kp_joingroup_request_t *q) {
    kp_write_str(w, q->group_id);
    kp_write_int32(w, q->session_timeout_ms);
    if (v >= 1) kp_write_int32(w, q->rebalance_timeout_ms);
    kp_write_str(w, q->member_id);
    if (v >= 5) kp_write_str(w, q->group_instance_id);
    kp_write_str(w, q->protocol_type);
    kp_write_array_count(w, q->n_protocols);
    for (int32_t i = 0; i < q->n_protocols; i++) {
        kp_write_str(w, q->protocols[i].name);
        kp_write_bytes(w, q->protocols[i].metadata);
    }
}

static void put_syncgroup(kp_writer_t *w, int16_t v, const kp_syncgroup_request_t *q) {
    kp_write_str(w, q->group_id);
    kp_write_int32(w, q->generation_id);
    kp_write_str(w, q->member_id);
    if (v >= 3) kp_write_str(w, q->group_instance_id);
    kp_write_array_count(w, q->n_assignments);
    for (int32_t i = 0; i < q->n_assignments; i++) {
        kp_write_str(w, q->assignments[i].member_id);
        kp_write_bytes(w, q->assignments[i].assignment);
    }
}

static void put_heartbeat(kp_writer_t *w, int16_t v, const kp_heartbeat_request_t *q) {
    kp_write_str(w, q->group_id);
    kp_write_int32(w, q->generation_id);
    kp_write_str(w, q->member_id);
    if (v >= 3) kp_write_str(w, q->group_instance_id);
}

static void put_leavegroup(kp_writer_t *w, int16_t v, const kp_leavegroup_request_t *q) {
    kp_write_str(w, q->group_id);
    if (v < 3) {
        kp_write_str(w, q->members[0].member_id);
        return;
    }
    kp_write_array_count(w, q->n_members);
    for (int32_t i = 0; i < q->n_members; i++) {
        kp_write_str(w, q->members[i].member_id);
        kp_write_str(w, q->members[i].group_instance_id);
    }
}

/* ------------------------------------------------------ decode wrappers */

static int decode_join(const uint8_t *b, size_t n, int16_t v, kp_joingroup_request_t *q) {
    kp_reader_t r;

    kp_reader_init(&r, b, n);
    return kp_joingroup_request_decode(&r, v, q);
}

static int decode_sync(const uint8_t *b, size_t n, int16_t v, kp_syncgroup_request_t *q) {
    kp_reader_t r;

    kp_reader_init(&r, b, n);
    return kp_syncgroup_request_decode(&r, v, q);
}

static int decode_heartbeat(const uint8_t *b, size_t n, int16_t v, kp_heartbeat_request_t *q) {
    kp_reader_t r;

    kp_reader_init(&r, b, n);
    return kp_heartbeat_request_decode(&r, v, q);
}

static int decode_leave(const uint8_t *b, size_t n, int16_t v, kp_leavegroup_request_t *q) {
    kp_reader_t r;

    kp_reader_init(&r, b, n);
    return kp_leavegroup_request_decode(&r, v, q);
}

/* ------------------------------------------- hand-written request frames */

/* JoinGroup v5, correlation id 3, client "rdkafka": a first join of "grp"
 * (member_id "", no instance id), session 45000 ms, rebalance 300000 ms,
 * protocol type "consumer" with one protocol "range". */
static const uint8_t joingroup_v5_frame[] = {
    0x00, 0x00, 0x00, 0x48,                         /* size 72 */
    0x00, 0x0b, 0x00, 0x05, 0x00, 0x00, 0x00, 0x03, /* key 11, v5, corr 3 */
    0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a',
    0x00, 0x03, 'g',  'r',  'p',                    /* group_id */
    0x00, 0x00, 0xaf, 0xc8,                         /* session_timeout_ms 45000 */
    0x00, 0x04, 0x93, 0xe0,                         /* rebalance_timeout_ms 300000 */
    0x00, 0x00,                                     /* member_id "" */
    0xff, 0xff,                                     /* group_instance_id null */
    0x00, 0x08, 'c',  'o',  'n',  's',  'u',  'm',  'e',  'r',
    0x00, 0x00, 0x00, 0x01,                         /* protocols: 1 */
    0x00, 0x05, 'r',  'a',  'n',  'g',  'e',
    0x00, 0x00, 0x00, 0x0d,                         /* metadata: 13 bytes */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  0xff, 0xff, 0xff, 0xff,
};

/* JoinGroup v0 body: no rebalance timeout on the wire (session 10000 ms). */
static const uint8_t joingroup_v0_body[] = {
    0x00, 0x01, 'g',                                /* group_id */
    0x00, 0x00, 0x27, 0x10,                         /* session_timeout_ms 10000 */
    0x00, 0x00,                                     /* member_id "" */
    0x00, 0x08, 'c',  'o',  'n',  's',  'u',  'm',  'e',  'r',
    0x00, 0x00, 0x00, 0x01,                         /* protocols: 1 */
    0x00, 0x05, 'r',  'a',  'n',  'g',  'e',
    0x00, 0x00, 0x00, 0x00,                         /* metadata: empty */
};

/* SyncGroup v3, correlation id 5: the leader "m1" of generation 1 hands
 * itself an empty assignment. */
static const uint8_t syncgroup_v3_frame[] = {
    0x00, 0x00, 0x00, 0x36,                         /* size 54 */
    0x00, 0x0e, 0x00, 0x03, 0x00, 0x00, 0x00, 0x05, /* key 14, v3, corr 5 */
    0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a',
    0x00, 0x03, 'g',  'r',  'p',                    /* group_id */
    0x00, 0x00, 0x00, 0x01,                         /* generation_id 1 */
    0x00, 0x02, 'm',  '1',                          /* member_id */
    0xff, 0xff,                                     /* group_instance_id null */
    0x00, 0x00, 0x00, 0x01,                         /* assignments: 1 */
    0x00, 0x02, 'm',  '1',
    0x00, 0x00, 0x00, 0x0a,                         /* assignment: 10 bytes */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
};

/* Heartbeat v3, correlation id 7, from the static member "inst-1". */
static const uint8_t heartbeat_v3_frame[] = {
    0x00, 0x00, 0x00, 0x26,                         /* size 38 */
    0x00, 0x0c, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07, /* key 12, v3, corr 7 */
    0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a',
    0x00, 0x03, 'g',  'r',  'p',                    /* group_id */
    0x00, 0x00, 0x00, 0x01,                         /* generation_id 1 */
    0x00, 0x02, 'm',  '1',                          /* member_id */
    0x00, 0x06, 'i',  'n',  's',  't',  '-',  '1',  /* group_instance_id */
};

/* LeaveGroup v1 (librdkafka's highest), correlation id 9. */
static const uint8_t leavegroup_v1_frame[] = {
    0x00, 0x00, 0x00, 0x1a,                         /* size 26 */
    0x00, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x00, 0x09, /* key 13, v1, corr 9 */
    0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a',
    0x00, 0x03, 'g',  'r',  'p',                    /* group_id */
    0x00, 0x02, 'm',  '1',                          /* member_id */
};

/* LeaveGroup v3 (KafkaJS), correlation id 11: two members, one static. */
static const uint8_t leavegroup_v3_frame[] = {
    0x00, 0x00, 0x00, 0x2c,                         /* size 44 */
    0x00, 0x0d, 0x00, 0x03, 0x00, 0x00, 0x00, 0x0b, /* key 13, v3, corr 11 */
    0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a',
    0x00, 0x03, 'g',  'r',  'p',                    /* group_id */
    0x00, 0x00, 0x00, 0x02,                         /* members: 2 */
    0x00, 0x02, 'm',  '1',  0xff, 0xff,             /* "m1", no instance id */
    0x00, 0x02, 'm',  '2',  0x00, 0x06, 'i',  'n',  's',  't',  '-',  '2',
};

/* Checks the frame's size and header; r is left at the body. */
static void open_frame(kp_reader_t *r, const uint8_t *frame, size_t len, int16_t key, int16_t version) {
    kp_request_header_t h;

    protofix_open_frame(r, frame, len, key, 1, &h);
    ck_assert_int_eq(h.request_api_version, version);
    ck_assert(kp_str_eq(h.client_id, "rdkafka"));
}

START_TEST(joingroup_v5_frame_decodes) {
    kp_joingroup_request_t q;
    kp_reader_t r;

    open_frame(&r, joingroup_v5_frame, sizeof(joingroup_v5_frame), KP_API_JOIN_GROUP, 5);
    ck_assert_int_eq(kp_joingroup_request_decode(&r, 5, &q), 0);
    ck_assert(kp_str_eq(q.group_id, "grp"));
    ck_assert_int_eq(q.session_timeout_ms, 45000);
    ck_assert_int_eq(q.rebalance_timeout_ms, 300000);
    ck_assert(kp_str_eq(q.member_id, ""));
    ck_assert_int_eq(q.group_instance_id.len, KP_NULL_LEN);
    ck_assert(kp_str_eq(q.protocol_type, "consumer"));
    ck_assert_int_eq(q.n_protocols, 1);
    ck_assert(kp_str_eq(q.protocols[0].name, "range"));
    ck_assert(same_bytes(q.protocols[0].metadata, BYTES(subscription)));
    kp_joingroup_request_clear(&q);
}
END_TEST

START_TEST(joingroup_v0_takes_the_session_timeout_as_rebalance_timeout) {
    kp_joingroup_request_t q;

    ck_assert_int_eq(decode_join(joingroup_v0_body, sizeof(joingroup_v0_body), 0, &q), 0);
    ck_assert_int_eq(q.session_timeout_ms, 10000);
    ck_assert_int_eq(q.rebalance_timeout_ms, 10000);
    ck_assert(kp_str_eq(q.protocols[0].name, "range"));
    ck_assert_int_eq(q.protocols[0].metadata.len, 0);
    kp_joingroup_request_clear(&q);
    /* Read as v1, the two string lengths after the session timeout would
     * become the rebalance timeout and the rest would not line up. */
    ck_assert_int_ne(decode_join(joingroup_v0_body, sizeof(joingroup_v0_body), 1, &q), 0);
    kp_joingroup_request_clear(&q);
}
END_TEST

START_TEST(syncgroup_v3_frame_decodes) {
    kp_syncgroup_request_t q;
    kp_reader_t r;

    open_frame(&r, syncgroup_v3_frame, sizeof(syncgroup_v3_frame), KP_API_SYNC_GROUP, 3);
    ck_assert_int_eq(kp_syncgroup_request_decode(&r, 3, &q), 0);
    ck_assert(kp_str_eq(q.group_id, "grp"));
    ck_assert_int_eq(q.generation_id, 1);
    ck_assert(kp_str_eq(q.member_id, "m1"));
    ck_assert_int_eq(q.group_instance_id.len, KP_NULL_LEN);
    ck_assert_int_eq(q.n_assignments, 1);
    ck_assert(kp_str_eq(q.assignments[0].member_id, "m1"));
    ck_assert(same_bytes(q.assignments[0].assignment, BYTES(assignment)));
    kp_syncgroup_request_clear(&q);
}
END_TEST

START_TEST(heartbeat_v3_frame_decodes) {
    kp_heartbeat_request_t q;
    kp_reader_t r;

    open_frame(&r, heartbeat_v3_frame, sizeof(heartbeat_v3_frame), KP_API_HEARTBEAT, 3);
    ck_assert_int_eq(kp_heartbeat_request_decode(&r, 3, &q), 0);
    ck_assert(kp_str_eq(q.group_id, "grp"));
    ck_assert_int_eq(q.generation_id, 1);
    ck_assert(kp_str_eq(q.member_id, "m1"));
    ck_assert(kp_str_eq(q.group_instance_id, "inst-1"));
}
END_TEST

START_TEST(leavegroup_v1_frame_is_a_batch_of_one) {
    kp_leavegroup_request_t q;
    kp_reader_t r;

    open_frame(&r, leavegroup_v1_frame, sizeof(leavegroup_v1_frame), KP_API_LEAVE_GROUP, 1);
    ck_assert_int_eq(kp_leavegroup_request_decode(&r, 1, &q), 0);
    ck_assert(kp_str_eq(q.group_id, "grp"));
    ck_assert(q.single_member);
    ck_assert_int_eq(q.n_members, 1);
    ck_assert(kp_str_eq(q.members[0].member_id, "m1"));
    ck_assert_int_eq(q.members[0].group_instance_id.len, KP_NULL_LEN);
    kp_leavegroup_request_clear(&q);
}
END_TEST

START_TEST(leavegroup_v3_frame_decodes_every_member) {
    kp_leavegroup_request_t q;
    kp_reader_t r;

    open_frame(&r, leavegroup_v3_frame, sizeof(leavegroup_v3_frame), KP_API_LEAVE_GROUP, 3);
    ck_assert_int_eq(kp_leavegroup_request_decode(&r, 3, &q), 0);
    ck_assert(!q.single_member);
    ck_assert_int_eq(q.n_members, 2);
    ck_assert(kp_str_eq(q.members[0].member_id, "m1"));
    ck_assert_int_eq(q.members[0].group_instance_id.len, KP_NULL_LEN);
    ck_assert(kp_str_eq(q.members[1].member_id, "m2"));
    ck_assert(kp_str_eq(q.members[1].group_instance_id, "inst-2"));
    kp_leavegroup_request_clear(&q);
}
END_TEST

/* ------------------------------------------ round trips at every version */

START_TEST(joingroup_round_trips_at_every_version) {
    for (int16_t v = 0; v <= KP_JOINGROUP_VERSION_MAX; v++) {
        kp_joingroup_request_t q;
        kp_writer_t w;

        kp_writer_init(&w);
        put_joingroup(&w, v, &sample_join);
        ck_assert_int_eq(decode_join(w.buf, w.len, v, &q), 0);
        ck_assert(same_str(q.group_id, sample_join.group_id));
        ck_assert_int_eq(q.session_timeout_ms, sample_join.session_timeout_ms);
        ck_assert_int_eq(q.rebalance_timeout_ms, v >= 1 ? sample_join.rebalance_timeout_ms
                                                        : sample_join.session_timeout_ms);
        ck_assert(same_str(q.member_id, sample_join.member_id));
        ck_assert(same_str(q.group_instance_id, v >= 5 ? sample_join.group_instance_id : KP_STR_NULL));
        ck_assert(same_str(q.protocol_type, sample_join.protocol_type));
        ck_assert_int_eq(q.n_protocols, sample_join.n_protocols);
        for (int32_t i = 0; i < q.n_protocols; i++) {
            ck_assert(same_str(q.protocols[i].name, sample_protocols[i].name));
            ck_assert(same_bytes(q.protocols[i].metadata, sample_protocols[i].metadata));
        }
        kp_joingroup_request_clear(&q);
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(syncgroup_round_trips_at_every_version) {
    for (int16_t v = 0; v <= KP_SYNCGROUP_VERSION_MAX; v++) {
        kp_syncgroup_request_t q;
        kp_writer_t w;

        kp_writer_init(&w);
        put_syncgroup(&w, v, &sample_sync);
        ck_assert_int_eq(decode_sync(w.buf, w.len, v, &q), 0);
        ck_assert(same_str(q.group_id, sample_sync.group_id));
        ck_assert_int_eq(q.generation_id, sample_sync.generation_id);
        ck_assert(same_str(q.member_id, sample_sync.member_id));
        ck_assert(same_str(q.group_instance_id, v >= 3 ? sample_sync.group_instance_id : KP_STR_NULL));
        ck_assert_int_eq(q.n_assignments, sample_sync.n_assignments);
        for (int32_t i = 0; i < q.n_assignments; i++) {
            ck_assert(same_str(q.assignments[i].member_id, sample_assignments[i].member_id));
            ck_assert(same_bytes(q.assignments[i].assignment, sample_assignments[i].assignment));
        }
        kp_syncgroup_request_clear(&q);
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(heartbeat_round_trips_at_every_version) {
    for (int16_t v = 0; v <= KP_HEARTBEAT_VERSION_MAX; v++) {
        kp_heartbeat_request_t q;
        kp_writer_t w;

        kp_writer_init(&w);
        put_heartbeat(&w, v, &sample_heartbeat);
        ck_assert_int_eq(decode_heartbeat(w.buf, w.len, v, &q), 0);
        ck_assert(same_str(q.group_id, sample_heartbeat.group_id));
        ck_assert_int_eq(q.generation_id, sample_heartbeat.generation_id);
        ck_assert(same_str(q.member_id, sample_heartbeat.member_id));
        ck_assert(same_str(q.group_instance_id, v >= 3 ? sample_heartbeat.group_instance_id : KP_STR_NULL));
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(leavegroup_v0_to_v2_decode_as_a_single_member) {
    for (int16_t v = 0; v <= 2; v++) {
        kp_leavegroup_request_t q;
        kp_writer_t w;

        kp_writer_init(&w);
        put_leavegroup(&w, v, &sample_leave);
        ck_assert_int_eq(decode_leave(w.buf, w.len, v, &q), 0);
        ck_assert(same_str(q.group_id, sample_leave.group_id));
        ck_assert(q.single_member);
        ck_assert_int_eq(q.n_members, 1);
        ck_assert(same_str(q.members[0].member_id, sample_leavers[0].member_id));
        ck_assert_int_eq(q.members[0].group_instance_id.len, KP_NULL_LEN);
        kp_leavegroup_request_clear(&q);
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(leavegroup_v3_round_trips_a_batch) {
    kp_leavegroup_request_t q;
    kp_writer_t w;

    kp_writer_init(&w);
    put_leavegroup(&w, 3, &sample_leave);
    ck_assert_int_eq(decode_leave(w.buf, w.len, 3, &q), 0);
    ck_assert(same_str(q.group_id, sample_leave.group_id));
    ck_assert(!q.single_member);
    ck_assert_int_eq(q.n_members, 2);
    for (int32_t i = 0; i < 2; i++) {
        ck_assert(same_str(q.members[i].member_id, sample_leavers[i].member_id));
        ck_assert(same_str(q.members[i].group_instance_id, sample_leavers[i].group_instance_id));
    }
    kp_leavegroup_request_clear(&q);
    kp_writer_free(&w);
}
END_TEST

START_TEST(leavegroup_v3_may_name_no_member) {
    static const uint8_t body[] = {0x00, 0x01, 'g', 0x00, 0x00, 0x00, 0x00};
    kp_leavegroup_request_t q;

    ck_assert_int_eq(decode_leave(body, sizeof(body), 3, &q), 0);
    ck_assert_int_eq(q.n_members, 0);
    ck_assert(!q.single_member);
    kp_leavegroup_request_clear(&q);
}
END_TEST

/* ------------------------------------- malformed bodies, every API alike */

/* Decodes and releases; the verdict is all these tests look at. */
static int try_join(const uint8_t *b, size_t n, int16_t v) {
    kp_joingroup_request_t q;
    int rc = decode_join(b, n, v, &q);

    kp_joingroup_request_clear(&q);
    return rc;
}

static int try_sync(const uint8_t *b, size_t n, int16_t v) {
    kp_syncgroup_request_t q;
    int rc = decode_sync(b, n, v, &q);

    kp_syncgroup_request_clear(&q);
    return rc;
}

static int try_heartbeat(const uint8_t *b, size_t n, int16_t v) {
    kp_heartbeat_request_t q;

    return decode_heartbeat(b, n, v, &q);
}

static int try_leave(const uint8_t *b, size_t n, int16_t v) {
    kp_leavegroup_request_t q;
    int rc = decode_leave(b, n, v, &q);

    kp_leavegroup_request_clear(&q);
    return rc;
}

static void put_sample_join(kp_writer_t *w, int16_t v) { put_joingroup(w, v, &sample_join); }
static void put_sample_sync(kp_writer_t *w, int16_t v) { put_syncgroup(w, v, &sample_sync); }
static void put_sample_heartbeat(kp_writer_t *w, int16_t v) { put_heartbeat(w, v, &sample_heartbeat); }
static void put_sample_leave(kp_writer_t *w, int16_t v) { put_leavegroup(w, v, &sample_leave); }

typedef struct {
    int16_t version_max;
    void (*put)(kp_writer_t *w, int16_t v);
    int (*try_decode)(const uint8_t *b, size_t n, int16_t v);
} api_case_t;

static const api_case_t apis[] = {
    {KP_JOINGROUP_VERSION_MAX, put_sample_join, try_join},
    {KP_SYNCGROUP_VERSION_MAX, put_sample_sync, try_sync},
    {KP_HEARTBEAT_VERSION_MAX, put_sample_heartbeat, try_heartbeat},
    {KP_LEAVEGROUP_VERSION_MAX, put_sample_leave, try_leave},
};

#define N_APIS (sizeof(apis) / sizeof(apis[0]))

START_TEST(truncated_requests_are_rejected_at_every_length) {
    for (size_t a = 0; a < N_APIS; a++) {
        for (int16_t v = 0; v <= apis[a].version_max; v++) {
            kp_writer_t w;

            kp_writer_init(&w);
            apis[a].put(&w, v);
            for (size_t n = 0; n < w.len; n++) ck_assert_int_eq(apis[a].try_decode(w.buf, n, v), KP_BUF_SHORT);
            ck_assert_int_eq(apis[a].try_decode(w.buf, w.len, v), 0);
            kp_writer_free(&w);
        }
    }
}
END_TEST

START_TEST(trailing_bytes_are_rejected) {
    for (size_t a = 0; a < N_APIS; a++) {
        for (int16_t v = 0; v <= apis[a].version_max; v++) {
            kp_writer_t w;

            kp_writer_init(&w);
            apis[a].put(&w, v);
            kp_write_int8(&w, 0);
            ck_assert_int_eq(apis[a].try_decode(w.buf, w.len, v), KP_BUF_TRAILING);
            kp_writer_free(&w);
        }
    }
}
END_TEST

START_TEST(versions_outside_the_handled_range_are_refused) {
    for (size_t a = 0; a < N_APIS; a++) {
        int16_t over = (int16_t)(apis[a].version_max + 1);
        kp_writer_t w;

        kp_writer_init(&w);
        apis[a].put(&w, apis[a].version_max);
        ck_assert_int_eq(apis[a].try_decode(w.buf, w.len, over), KP_BUF_INVALID);
        ck_assert_int_eq(apis[a].try_decode(w.buf, w.len, -1), KP_BUF_INVALID);
        kp_writer_free(&w);
    }
}
END_TEST

/* --------------------------------------------------------- array counts */

/*
 * Everything before the array count, with empty strings: JoinGroup v1,
 * SyncGroup v0, LeaveGroup v3.  A minimal element of each array is all
 * zero bytes (empty strings, empty bytes), 6, 6 and 4 bytes long.
 */
static void head_join(kp_writer_t *w) {
    kp_write_string(w, "");
    kp_write_int32(w, 10000);
    kp_write_int32(w, 10000);
    kp_write_string(w, "");
    kp_write_string(w, "");
}

static void head_sync(kp_writer_t *w) {
    kp_write_string(w, "");
    kp_write_int32(w, 1);
    kp_write_string(w, "");
}

static void head_leave(kp_writer_t *w) { kp_write_string(w, ""); }

/* Decodes and reports the element count and whether an array was left
 * allocated, then releases. */
static int count_join(const uint8_t *b, size_t n, int32_t *count, bool *allocated) {
    kp_joingroup_request_t q;
    int rc = decode_join(b, n, 1, &q);

    *count = q.n_protocols;
    *allocated = q.protocols != NULL;
    kp_joingroup_request_clear(&q);
    return rc;
}

static int count_sync(const uint8_t *b, size_t n, int32_t *count, bool *allocated) {
    kp_syncgroup_request_t q;
    int rc = decode_sync(b, n, 0, &q);

    *count = q.n_assignments;
    *allocated = q.assignments != NULL;
    kp_syncgroup_request_clear(&q);
    return rc;
}

static int count_leave(const uint8_t *b, size_t n, int32_t *count, bool *allocated) {
    kp_leavegroup_request_t q;
    int rc = decode_leave(b, n, 3, &q);

    *count = q.n_members;
    *allocated = q.members != NULL;
    kp_leavegroup_request_clear(&q);
    return rc;
}

typedef struct {
    void (*head)(kp_writer_t *w);
    size_t elem_min;
    int (*count)(const uint8_t *b, size_t n, int32_t *count, bool *allocated);
} array_case_t;

static const array_case_t arrays[] = {
    {head_join, 6, count_join},
    {head_sync, 6, count_sync},
    {head_leave, 4, count_leave},
};

#define N_ARRAYS (sizeof(arrays) / sizeof(arrays[0]))

/* Decodes head, count and `elems` minimal elements; returns the verdict. */
static int decode_counted(const array_case_t *c, int32_t count, size_t elems, int32_t *got, bool *allocated) {
    kp_writer_t w;
    int rc;

    kp_writer_init(&w);
    c->head(&w);
    kp_write_int32(&w, count);
    memset(kp_write_space(&w, elems * c->elem_min), 0, elems * c->elem_min);
    rc = c->count(w.buf, w.len, got, allocated);
    kp_writer_free(&w);
    return rc;
}

START_TEST(hostile_counts_are_rejected_without_allocating) {
    for (size_t i = 0; i < N_ARRAYS; i++) {
        int32_t n;
        bool allocated;

        ck_assert_int_eq(decode_counted(&arrays[i], INT32_MAX, 0, &n, &allocated), KP_BUF_SHORT);
        ck_assert(!allocated);
        ck_assert_int_eq(decode_counted(&arrays[i], INT32_MAX, 4, &n, &allocated), KP_BUF_SHORT);
        ck_assert(!allocated);
    }
}
END_TEST

/* The cap is the true minimum: as many empty elements as the bytes hold
 * decode, one more is refused before the array is allocated. */
START_TEST(counts_are_capped_by_the_smallest_element) {
    for (size_t i = 0; i < N_ARRAYS; i++) {
        int32_t n;
        bool allocated;

        ck_assert_int_eq(decode_counted(&arrays[i], 3, 3, &n, &allocated), 0);
        ck_assert_int_eq(n, 3);
        ck_assert_int_eq(decode_counted(&arrays[i], 4, 3, &n, &allocated), KP_BUF_SHORT);
        ck_assert(!allocated);
        ck_assert_int_eq(n, 0);
    }
}
END_TEST

START_TEST(negative_counts_are_rejected) {
    for (size_t i = 0; i < N_ARRAYS; i++) {
        int32_t n;
        bool allocated;

        ck_assert_int_eq(decode_counted(&arrays[i], -1, 1, &n, &allocated), KP_BUF_INVALID);
        ck_assert(!allocated);
        ck_assert_int_eq(decode_counted(&arrays[i], INT32_MIN, 1, &n, &allocated), KP_BUF_INVALID);
        ck_assert(!allocated);
    }
}
END_TEST

/* ------------------------------------------- null where it is not allowed */

/* Encodes q at v and expects the decoder to refuse it as invalid. */
static void expect_join_invalid(const kp_joingroup_request_t *q, int16_t v) {
    kp_writer_t w;

    kp_writer_init(&w);
    put_joingroup(&w, v, q);
    ck_assert_int_eq(try_join(w.buf, w.len, v), KP_BUF_INVALID);
    kp_writer_free(&w);
}

START_TEST(joingroup_null_where_not_allowed_is_rejected) {
    kp_joingroup_protocol_t protocol = {STR("range"), NULL_BYTES};
    kp_joingroup_request_t q = sample_join;

    q.group_id = KP_STR_NULL;
    expect_join_invalid(&q, 5);
    q = sample_join;
    q.member_id = KP_STR_NULL;
    expect_join_invalid(&q, 5);
    q = sample_join;
    q.protocol_type = KP_STR_NULL;
    expect_join_invalid(&q, 5);
    q = sample_join;
    q.n_protocols = 1;
    q.protocols = &protocol;
    expect_join_invalid(&q, 5);
    protocol = (kp_joingroup_protocol_t){KP_STR_NULL, BYTES(subscription)};
    expect_join_invalid(&q, 0);
}
END_TEST

START_TEST(syncgroup_null_where_not_allowed_is_rejected) {
    kp_syncgroup_assignment_t a = {STR("m1"), NULL_BYTES};
    kp_syncgroup_request_t q = sample_sync;
    kp_writer_t w;

    q.n_assignments = 1;
    q.assignments = &a;
    kp_writer_init(&w);
    put_syncgroup(&w, 3, &q);
    ck_assert_int_eq(try_sync(w.buf, w.len, 3), KP_BUF_INVALID);
    kp_writer_reset(&w);
    a = (kp_syncgroup_assignment_t){KP_STR_NULL, BYTES(assignment)};
    put_syncgroup(&w, 3, &q);
    ck_assert_int_eq(try_sync(w.buf, w.len, 3), KP_BUF_INVALID);
    kp_writer_reset(&w);
    q = sample_sync;
    q.member_id = KP_STR_NULL;
    put_syncgroup(&w, 0, &q);
    ck_assert_int_eq(try_sync(w.buf, w.len, 0), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(heartbeat_null_member_id_is_rejected) {
    kp_heartbeat_request_t q = sample_heartbeat;
    kp_writer_t w;

    q.member_id = KP_STR_NULL;
    kp_writer_init(&w);
    put_heartbeat(&w, 3, &q);
    ck_assert_int_eq(try_heartbeat(w.buf, w.len, 3), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(leavegroup_null_member_id_is_rejected) {
    kp_leavegroup_member_t m = {KP_STR_NULL, KP_STR_NULL};
    kp_leavegroup_request_t q = {STR("grp"), 1, &m, false};
    kp_writer_t w;

    kp_writer_init(&w);
    put_leavegroup(&w, 3, &q);
    ck_assert_int_eq(try_leave(w.buf, w.len, 3), KP_BUF_INVALID);
    kp_writer_reset(&w);
    put_leavegroup(&w, 1, &q);
    ck_assert_int_eq(try_leave(w.buf, w.len, 1), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

/* -------------------------------------------------------------- responses */

static const kp_joingroup_member_t join_members[] = {
    {STR("m1"), STR("inst-1"), {2, (const uint8_t *)"\x01\x02"}},
};

static const kp_joingroup_response_t join_leader_answer = {
    100, KP_ERR_NONE, 1, STR("range"), STR("m1"), STR("m1"), 1, join_members,
};

START_TEST(joingroup_leader_answer_bytes_at_every_version) {
    static const uint8_t want_v0[] = {
        0x00, 0x00,                         /* error_code */
        0x00, 0x00, 0x00, 0x01,             /* generation_id 1 */
        0x00, 0x05, 'r',  'a',  'n',  'g',  'e',
        0x00, 0x02, 'm',  '1',              /* leader */
        0x00, 0x02, 'm',  '1',              /* member_id */
        0x00, 0x00, 0x00, 0x01,             /* members: 1 */
        0x00, 0x02, 'm',  '1',
        0x00, 0x00, 0x00, 0x02, 0x01, 0x02, /* metadata */
    };
    static const uint8_t want_v5[] = {
        0x00, 0x00, 0x00, 0x64,             /* throttle_time_ms 100 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x05, 'r', 'a', 'n', 'g', 'e',
        0x00, 0x02, 'm',  '1',  0x00, 0x02, 'm',  '1',
        0x00, 0x00, 0x00, 0x01,             /* members: 1 */
        0x00, 0x02, 'm',  '1',
        0x00, 0x06, 'i',  'n',  's',  't',  '-',  '1', /* group_instance_id */
        0x00, 0x00, 0x00, 0x02, 0x01, 0x02,
    };
    kp_writer_t w;

    for (int16_t v = 0; v <= KP_JOINGROUP_VERSION_MAX; v++) {
        kp_writer_init(&w);
        ck_assert_int_eq(kp_joingroup_response_encode(&w, v, &join_leader_answer), 0);
        if (v < 2)
            expect_written(&w, want_v0, sizeof(want_v0));
        else if (v < 5)
            expect_throttled(&w, want_v0, sizeof(want_v0));
        else
            expect_written(&w, want_v5, sizeof(want_v5));
        kp_writer_free(&w);
    }
}
END_TEST

/* librdkafka parses the whole answer to learn its member id. */
START_TEST(joingroup_error_answer_writes_null_strings_as_empty) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00,             /* throttle_time_ms */
        0x00, 0x4f,                         /* MEMBER_ID_REQUIRED */
        0xff, 0xff, 0xff, 0xff,             /* generation_id -1 */
        0x00, 0x00,                         /* protocol_name "" */
        0x00, 0x00,                         /* leader "" */
        0x00, 0x0a, 'n',  'e',  'w',  '-',  'm',  'e',  'm',  'b',  'e',  'r',
        0x00, 0x00, 0x00, 0x00,             /* members: 0 */
    };
    kp_joingroup_response_t resp = {
        0, KP_ERR_MEMBER_ID_REQUIRED, -1, KP_STR_NULL, KP_STR_NULL, STR("new-member"), 0, NULL,
    };
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_joingroup_response_encode(&w, 5, &resp), 0);
    expect_written(&w, want, sizeof(want));
    kp_writer_reset(&w);
    resp.member_id = KP_STR_NULL;
    resp.n_members = -1;
    ck_assert_int_eq(kp_joingroup_response_encode(&w, 4, &resp), 0);
    ck_assert_uint_eq(w.len, 4 + 2 + 4 + 3 * 2 + 4);
    ck_assert_mem_eq(w.buf + 10, "\0\0\0\0\0\0\0\0\0\0", 10);
    kp_writer_free(&w);
}
END_TEST

START_TEST(joingroup_member_nulls_are_written_as_empty) {
    static const uint8_t want_members[] = {
        0x00, 0x00, 0x00, 0x01, /* members: 1 */
        0x00, 0x00,             /* member_id "" */
        0xff, 0xff,             /* group_instance_id stays null */
        0x00, 0x00, 0x00, 0x00, /* metadata: empty */
    };
    static const kp_joingroup_member_t m = {KP_STR_NULL, KP_STR_NULL, NULL_BYTES};
    kp_joingroup_response_t resp = {0, KP_ERR_NONE, 1, STR("r"), STR("x"), STR("x"), 1, &m};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_joingroup_response_encode(&w, 5, &resp), 0);
    ck_assert_uint_eq(w.len, 4 + 2 + 4 + 3 * 3 + sizeof(want_members));
    ck_assert_mem_eq(w.buf + w.len - sizeof(want_members), want_members, sizeof(want_members));
    kp_writer_free(&w);
}
END_TEST

START_TEST(syncgroup_answer_bytes_at_every_version) {
    static const uint8_t want_v0[] = {
        0x00, 0x00,             /* error_code */
        0x00, 0x00, 0x00, 0x03, 0xaa, 0xbb, 0xcc,
    };
    static const uint8_t bytes[] = {0xaa, 0xbb, 0xcc};
    kp_syncgroup_response_t resp = {100, KP_ERR_NONE, BYTES(bytes)};
    kp_writer_t w;

    for (int16_t v = 0; v <= KP_SYNCGROUP_VERSION_MAX; v++) {
        kp_writer_init(&w);
        ck_assert_int_eq(kp_syncgroup_response_encode(&w, v, &resp), 0);
        if (v == 0)
            expect_written(&w, want_v0, sizeof(want_v0));
        else
            expect_throttled(&w, want_v0, sizeof(want_v0));
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(syncgroup_error_answer_writes_null_assignment_as_empty) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
        0x00, 0x1b,             /* REBALANCE_IN_PROGRESS */
        0x00, 0x00, 0x00, 0x00, /* assignment: empty */
    };
    kp_syncgroup_response_t resp = {0, KP_ERR_REBALANCE_IN_PROGRESS, NULL_BYTES};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_syncgroup_response_encode(&w, 3, &resp), 0);
    expect_written(&w, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(heartbeat_answer_bytes_at_every_version) {
    static const uint8_t want_v0[] = {0x00, 0x1b}; /* REBALANCE_IN_PROGRESS */
    kp_heartbeat_response_t resp = {100, KP_ERR_REBALANCE_IN_PROGRESS};
    kp_writer_t w;

    for (int16_t v = 0; v <= KP_HEARTBEAT_VERSION_MAX; v++) {
        kp_writer_init(&w);
        ck_assert_int_eq(kp_heartbeat_response_encode(&w, v, &resp), 0);
        if (v == 0)
            expect_written(&w, want_v0, sizeof(want_v0));
        else
            expect_throttled(&w, want_v0, sizeof(want_v0));
        kp_writer_free(&w);
    }
}
END_TEST

static const kp_leavegroup_member_response_t leave_results[] = {
    {STR("m1"), KP_STR_NULL, KP_ERR_NONE},
    {STR("m2"), STR("inst-2"), KP_ERR_UNKNOWN_MEMBER_ID},
    {KP_STR_NULL, STR("inst-3"), KP_ERR_FENCED_INSTANCE_ID},
};

static const kp_leavegroup_response_t leave_answer = {100, KP_ERR_UNKNOWN_MEMBER_ID, 3, leave_results};

/* Before v3 the member results stay out: only the top-level error goes. */
START_TEST(leavegroup_v0_to_v2_answer_carries_only_the_error_code) {
    static const uint8_t want_v0[] = {0x00, 0x19}; /* UNKNOWN_MEMBER_ID */
    kp_writer_t w;

    for (int16_t v = 0; v <= 2; v++) {
        kp_writer_init(&w);
        ck_assert_int_eq(kp_leavegroup_response_encode(&w, v, &leave_answer), 0);
        if (v == 0)
            expect_written(&w, want_v0, sizeof(want_v0));
        else
            expect_throttled(&w, want_v0, sizeof(want_v0));
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(leavegroup_v3_answer_lists_every_member) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x64,                         /* throttle_time_ms 100 */
        0x00, 0x19,                                     /* error_code */
        0x00, 0x00, 0x00, 0x03,                         /* members: 3 */
        0x00, 0x02, 'm',  '1',  0xff, 0xff, 0x00, 0x00, /* "m1", null, NONE */
        0x00, 0x02, 'm',  '2',  0x00, 0x06, 'i',  'n',  's',  't',  '-',  '2',
        0x00, 0x19,                                     /* UNKNOWN_MEMBER_ID */
        0x00, 0x00,                                     /* null member_id as "" */
        0x00, 0x06, 'i',  'n',  's',  't',  '-',  '3',
        0x00, 0x52,                                     /* FENCED_INSTANCE_ID */
    };
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_leavegroup_response_encode(&w, 3, &leave_answer), 0);
    expect_written(&w, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(responses_outside_the_handled_range_are_refused) {
    kp_syncgroup_response_t sync = {0, 0, NULL_BYTES};
    kp_heartbeat_response_t heartbeat = {0, 0};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_joingroup_response_encode(&w, 6, &join_leader_answer), KP_BUF_INVALID);
    ck_assert_int_eq(kp_syncgroup_response_encode(&w, 4, &sync), KP_BUF_INVALID);
    ck_assert_int_eq(kp_heartbeat_response_encode(&w, 4, &heartbeat), KP_BUF_INVALID);
    ck_assert_int_eq(kp_leavegroup_response_encode(&w, 4, &leave_answer), KP_BUF_INVALID);
    ck_assert_int_eq(kp_leavegroup_response_encode(&w, -1, &leave_answer), KP_BUF_INVALID);
    ck_assert_uint_eq(w.len, 0);
    kp_writer_free(&w);
}
END_TEST

Suite *group_suite(void) {
    Suite *s = suite_create("group");
    TCase *req = tcase_create("request");
    TCase *bad = tcase_create("malformed");
    TCase *resp = tcase_create("response");

    tcase_add_test(req, joingroup_v5_frame_decodes);
    tcase_add_test(req, joingroup_v0_takes_the_session_timeout_as_rebalance_timeout);
    tcase_add_test(req, syncgroup_v3_frame_decodes);
    tcase_add_test(req, heartbeat_v3_frame_decodes);
    tcase_add_test(req, leavegroup_v1_frame_is_a_batch_of_one);
    tcase_add_test(req, leavegroup_v3_frame_decodes_every_member);
    tcase_add_test(req, joingroup_round_trips_at_every_version);
    tcase_add_test(req, syncgroup_round_trips_at_every_version);
    tcase_add_test(req, heartbeat_round_trips_at_every_version);
    tcase_add_test(req, leavegroup_v0_to_v2_decode_as_a_single_member);
    tcase_add_test(req, leavegroup_v3_round_trips_a_batch);
    tcase_add_test(req, leavegroup_v3_may_name_no_member);
    tcase_add_test(bad, truncated_requests_are_rejected_at_every_length);
    tcase_add_test(bad, trailing_bytes_are_rejected);
    tcase_add_test(bad, versions_outside_the_handled_range_are_refused);
    tcase_add_test(bad, hostile_counts_are_rejected_without_allocating);
    tcase_add_test(bad, counts_are_capped_by_the_smallest_element);
    tcase_add_test(bad, negative_counts_are_rejected);
    tcase_add_test(bad, joingroup_null_where_not_allowed_is_rejected);
    tcase_add_test(bad, syncgroup_null_where_not_allowed_is_rejected);
    tcase_add_test(bad, heartbeat_null_member_id_is_rejected);
    tcase_add_test(bad, leavegroup_null_member_id_is_rejected);
    tcase_add_test(resp, joingroup_leader_answer_bytes_at_every_version);
    tcase_add_test(resp, joingroup_error_answer_writes_null_strings_as_empty);
    tcase_add_test(resp, joingroup_member_nulls_are_written_as_empty);
    tcase_add_test(resp, syncgroup_answer_bytes_at_every_version);
    tcase_add_test(resp, syncgroup_error_answer_writes_null_assignment_as_empty);
    tcase_add_test(resp, heartbeat_answer_bytes_at_every_version);
    tcase_add_test(resp, leavegroup_v0_to_v2_answer_carries_only_the_error_code);
    tcase_add_test(resp, leavegroup_v3_answer_lists_every_member);
    tcase_add_test(resp, responses_outside_the_handled_range_are_refused);
    suite_add_tcase(s, req);
    suite_add_tcase(s, bad);
    suite_add_tcase(s, resp);
    return s;
}
