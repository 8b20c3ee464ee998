/*
 * kp_group.c - JoinGroup, SyncGroup, Heartbeat and LeaveGroup request
 * decoding and response encoding (group-protocol.md 2.2-2.5), at their
 * non-flexible versions.
 *
 * The codecs go through the *_flex primitives already, as the other codecs
 * of proto/ do, so that handling the flexible versions later only means
 * raising the VERSION_MAX constants and checking the compact sizes below.
 * Every non-nullable string or blob of a response is written as "" (or
 * empty bytes) when the struct holds a null slice: a client parses each
 * field of an error answer, and a null where the schema forbids one would
 * fail that parse.
 */
#include "proto/kp_group.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest elements on the wire.  A JoinGroup protocol or a SyncGroup
 * assignment: an empty string and empty bytes (compact: two one-byte
 * lengths and a tag section).  A LeaveGroup v3 member: an empty member id
 * and a null instance id. */
#define PROTOCOL_MIN_SIZE 6
#define PROTOCOL_MIN_SIZE_FLEX 3
#define ASSIGNMENT_MIN_SIZE 6
#define ASSIGNMENT_MIN_SIZE_FLEX 3
#define LEAVE_MEMBER_MIN_SIZE 4
#define LEAVE_MEMBER_MIN_SIZE_FLEX 3

static bool version_ok(int16_t version, int16_t max) { return version >= 0 && version <= max; }

/* Refuses a version the dispatcher should never have passed on. */
static int refuse_version(kp_reader_t *r) {
    kp_reader_fail(r, KP_BUF_INVALID);
    return r->err;
}

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

/* ------------------------------------------------------------- JoinGroup */

static void decode_protocols(kp_reader_t *r, bool flex, kp_joingroup_request_t *req) {
    int32_t n = kp_read_array_count_flex(r, flex, flex ? PROTOCOL_MIN_SIZE_FLEX : PROTOCOL_MIN_SIZE);

    req->protocols = kp_reader_calloc(r, n, sizeof(*req->protocols));
    if (r->err) return;
    req->n_protocols = n;
    for (int32_t i = 0; i < n && !r->err; i++) {
        req->protocols[i].name = kp_read_string_flex(r, flex);
        req->protocols[i].metadata = kp_read_bytes_flex(r, flex);
        kp_skip_tags_flex(r, flex);
    }
}

int kp_joingroup_request_decode(kp_reader_t *r, int16_t version, kp_joingroup_request_t *req) {
    bool flex = kp_is_flexible(version, KP_JOINGROUP_FLEX_FROM);

    *req = (kp_joingroup_request_t){0};
    req->group_instance_id = KP_STR_NULL;
    if (!version_ok(version, KP_JOINGROUP_VERSION_MAX)) return refuse_version(r);
    req->group_id = kp_read_string_flex(r, flex);
    req->session_timeout_ms = kp_read_int32(r);
    /* Before v1 the session timeout also bounds the rebalance. */
    req->rebalance_timeout_ms = version >= 1 ? kp_read_int32(r) : req->session_timeout_ms;
    req->member_id = kp_read_string_flex(r, flex);
    if (version >= 5) req->group_instance_id = kp_read_nullable_string_flex(r, flex);
    req->protocol_type = kp_read_string_flex(r, flex);
    decode_protocols(r, flex, req);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_joingroup_request_clear(kp_joingroup_request_t *req) {
    free(req->protocols);
    req->protocols = NULL;
    req->n_protocols = 0;
}

static void encode_joingroup_member(kp_writer_t *w, int16_t version, bool flex,
                                    const kp_joingroup_member_t *m) {
    kp_write_str_flex(w, flex, kp_str_nonnull(m->member_id));
    if (version >= 5) kp_write_str_flex(w, flex, m->group_instance_id);
    kp_write_bytes_flex(w, flex, kp_bytes_nonnull(m->metadata));
    kp_write_empty_tags_flex(w, flex);
}

int kp_joingroup_response_encode(kp_writer_t *w, int16_t version, const kp_joingroup_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_JOINGROUP_FLEX_FROM);
    int32_t n = nonneg(resp->n_members);

    if (!version_ok(version, KP_JOINGROUP_VERSION_MAX)) return KP_BUF_INVALID;
    if (version >= 2) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_int16(w, resp->error_code);
    kp_write_int32(w, resp->generation_id);
    kp_write_str_flex(w, flex, kp_str_nonnull(resp->protocol_name));
    kp_write_str_flex(w, flex, kp_str_nonnull(resp->leader));
    kp_write_str_flex(w, flex, kp_str_nonnull(resp->member_id));
    kp_write_array_count_flex(w, flex, n);
    for (int32_t i = 0; i < n; i++) encode_joingroup_member(w, version, flex, &resp->members[i]);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

/* ------------------------------------------------------------- SyncGroup */

static void decode_assignments(kp_reader_t *r, bool flex, kp_syncgroup_request_t *req) {
    int32_t n = kp_read_array_count_flex(r, flex, flex ? ASSIGNMENT_MIN_SIZE_FLEX : ASSIGNMENT_MIN_SIZE);

    req->assignments = kp_reader_calloc(r, n, sizeof(*req->assignments));
    if (r->err) return;
    req->n_assignments = n;
    for (int32_t i = 0; i < n && !r->err; i++) {
        req->assignments[i].member_id = kp_read_string_flex(r, flex);
        req->assignments[i].assignment = kp_read_bytes_flex(r, flex);
        kp_skip_tags_flex(r, flex);
    }
}

int kp_syncgroup_request_decode(kp_reader_t *r, int16_t version, kp_syncgroup_request_t *req) {
    bool flex = kp_is_flexible(version, KP_SYNCGROUP_FLEX_FROM);

    *req = (kp_syncgroup_request_t){0};
    req->group_instance_id = KP_STR_NULL;
    if (!version_ok(version, KP_SYNCGROUP_VERSION_MAX)) return refuse_version(r);
    req->group_id = kp_read_string_flex(r, flex);
    req->generation_id = kp_read_int32(r);
    req->member_id = kp_read_string_flex(r, flex);
    if (version >= 3) req->group_instance_id = kp_read_nullable_string_flex(r, flex);
    decode_assignments(r, flex, req);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_syncgroup_request_clear(kp_syncgroup_request_t *req) {
    free(req->assignments);
    req->assignments = NULL;
    req->n_assignments = 0;
}

int kp_syncgroup_response_encode(kp_writer_t *w, int16_t version, const kp_syncgroup_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_SYNCGROUP_FLEX_FROM);

    if (!version_ok(version, KP_SYNCGROUP_VERSION_MAX)) return KP_BUF_INVALID;
    if (version >= 1) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_int16(w, resp->error_code);
    kp_write_bytes_flex(w, flex, kp_bytes_nonnull(resp->assignment));
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

/* ------------------------------------------------------------- Heartbeat */

int kp_heartbeat_request_decode(kp_reader_t *r, int16_t version, kp_heartbeat_request_t *req) {
    bool flex = kp_is_flexible(version, KP_HEARTBEAT_FLEX_FROM);

    *req = (kp_heartbeat_request_t){0};
    req->group_instance_id = KP_STR_NULL;
    if (!version_ok(version, KP_HEARTBEAT_VERSION_MAX)) return refuse_version(r);
    req->group_id = kp_read_string_flex(r, flex);
    req->generation_id = kp_read_int32(r);
    req->member_id = kp_read_string_flex(r, flex);
    if (version >= 3) req->group_instance_id = kp_read_nullable_string_flex(r, flex);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

int kp_heartbeat_response_encode(kp_writer_t *w, int16_t version, const kp_heartbeat_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_HEARTBEAT_FLEX_FROM);

    if (!version_ok(version, KP_HEARTBEAT_VERSION_MAX)) return KP_BUF_INVALID;
    if (version >= 1) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_int16(w, resp->error_code);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

/* ------------------------------------------------------------ LeaveGroup */

/* v0-2: the one member_id becomes a batch of one without an instance id. */
static void decode_single_member(kp_reader_t *r, kp_leavegroup_request_t *req) {
    kp_str_t member_id = kp_read_string(r);

    if (r->err) return;
    req->members = kp_reader_calloc(r, 1, sizeof(*req->members));
    if (r->err) return;
    req->members[0] = (kp_leavegroup_member_t){member_id, KP_STR_NULL};
    req->n_members = 1;
    req->single_member = true;
}

static void decode_members(kp_reader_t *r, bool flex, kp_leavegroup_request_t *req) {
    int32_t n = kp_read_array_count_flex(r, flex, flex ? LEAVE_MEMBER_MIN_SIZE_FLEX : LEAVE_MEMBER_MIN_SIZE);

    req->members = kp_reader_calloc(r, n, sizeof(*req->members));
    if (r->err) return;
    req->n_members = n;
    for (int32_t i = 0; i < n && !r->err; i++) {
        req->members[i].member_id = kp_read_string_flex(r, flex);
        req->members[i].group_instance_id = kp_read_nullable_string_flex(r, flex);
        kp_skip_tags_flex(r, flex);
    }
}

int kp_leavegroup_request_decode(kp_reader_t *r, int16_t version, kp_leavegroup_request_t *req) {
    bool flex = kp_is_flexible(version, KP_LEAVEGROUP_FLEX_FROM);

    *req = (kp_leavegroup_request_t){0};
    if (!version_ok(version, KP_LEAVEGROUP_VERSION_MAX)) return refuse_version(r);
    req->group_id = kp_read_string_flex(r, flex);
    if (version >= 3)
        decode_members(r, flex, req);
    else
        decode_single_member(r, req);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_leavegroup_request_clear(kp_leavegroup_request_t *req) {
    free(req->members);
    req->members = NULL;
    req->n_members = 0;
}

static void encode_leave_member(kp_writer_t *w, bool flex, const kp_leavegroup_member_response_t *m) {
    kp_write_str_flex(w, flex, kp_str_nonnull(m->member_id));
    kp_write_str_flex(w, flex, m->group_instance_id);
    kp_write_int16(w, m->error_code);
    kp_write_empty_tags_flex(w, flex);
}

int kp_leavegroup_response_encode(kp_writer_t *w, int16_t version, const kp_leavegroup_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_LEAVEGROUP_FLEX_FROM);
    int32_t n = nonneg(resp->n_members);

    if (!version_ok(version, KP_LEAVEGROUP_VERSION_MAX)) return KP_BUF_INVALID;
    if (version >= 1) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_int16(w, resp->error_code);
    if (version >= 3) {
        kp_write_array_count_flex(w, flex, n);
        for (int32_t i = 0; i < n; i++) encode_leave_member(w, flex, &resp->members[i]);
    }
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}
