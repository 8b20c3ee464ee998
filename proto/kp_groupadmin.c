/*
 * kp_groupadmin.c - ListGroups, DescribeGroups and DeleteGroups codecs
 * (Kafka's ListGroups v0-2, DescribeGroups v0-4 and DeleteGroups v0-1
 * request/response schemas).  Pure byte work: which groups exist and in
 * what state is the group coordinator's business.
 *
 * None of these fields is nullable except a member's group_instance_id,
 * so the encoders write a null string or blob they are handed as empty:
 * a client must never meet null where the schema forbids it.
 */
#include "proto/kp_groupadmin.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest strings on the wire: an int16 length, or one compact length
 * byte.  Blobs: an int32 length, or one byte. */
#define STR_MIN_SIZE 2
#define STR_MIN_SIZE_FLEX 1
#define BYTES_MIN_SIZE 4
#define BYTES_MIN_SIZE_FLEX 1
#define INT32_SIZE 4

static size_t str_min(bool flex) { return flex ? STR_MIN_SIZE_FLEX : STR_MIN_SIZE; }
static size_t bytes_min(bool flex) { return flex ? BYTES_MIN_SIZE_FLEX : BYTES_MIN_SIZE; }
/* An array count: int32, or a one-byte compact count at least; and the
 * tag byte closing every flexible struct. */
static size_t count_min(bool flex) { return flex ? 1 : INT32_SIZE; }
static size_t tags_min(bool flex) { return flex ? 1 : 0; }

static bool version_ok(int16_t version, int16_t max) { return version >= 0 && version <= max; }

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

/* A [string] array into an owned array of borrowed slices; *n is set only
 * once the array exists, so a clear after a failure frees what there is. */
static kp_str_t *decode_string_array(kp_reader_t *r, bool flex, int32_t *n) {
    int32_t count = kp_read_array_count_flex(r, flex, str_min(flex));
    kp_str_t *a = kp_reader_calloc(r, count, sizeof(*a));

    *n = r->err ? 0 : count;
    for (int32_t i = 0; i < *n; i++) a[i] = kp_read_string_flex(r, flex);
    return a;
}

static void encode_string_array(kp_writer_t *w, bool flex, const kp_str_t *a, int32_t n) {
    n = nonneg(n);
    kp_write_array_count_flex(w, flex, n);
    for (int32_t i = 0; i < n; i++) kp_write_str_flex(w, flex, kp_str_nonnull(a[i]));
}

/* -------------------------------------------------------------- ListGroups */

static bool listgroups_version_ok(int16_t version) { return version_ok(version, KP_LISTGROUPS_VERSION_MAX); }

int kp_listgroups_request_decode(kp_reader_t *r, int16_t version) {
    if (!listgroups_version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    kp_skip_tags_flex(r, kp_is_flexible(version, KP_LISTGROUPS_FLEX_FROM));
    return kp_reader_expect_end(r);
}

int kp_listgroups_request_encode(kp_writer_t *w, int16_t version) {
    if (!listgroups_version_ok(version)) return KP_BUF_INVALID;
    kp_write_empty_tags_flex(w, kp_is_flexible(version, KP_LISTGROUPS_FLEX_FROM));
    return w->err;
}

int kp_listgroups_response_encode(kp_writer_t *w, int16_t version, const kp_listgroups_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_LISTGROUPS_FLEX_FROM);
    int32_t n = nonneg(resp->n_groups);

    if (!listgroups_version_ok(version)) return KP_BUF_INVALID;
    if (version >= 1) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_int16(w, resp->error_code);
    kp_write_array_count_flex(w, flex, n);
    for (int32_t i = 0; i < n; i++) {
        kp_write_str_flex(w, flex, kp_str_nonnull(resp->groups[i].group_id));
        kp_write_str_flex(w, flex, kp_str_nonnull(resp->groups[i].protocol_type));
        kp_write_empty_tags_flex(w, flex);
    }
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

int kp_listgroups_response_decode(kp_reader_t *r, int16_t version, kp_listgroups_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_LISTGROUPS_FLEX_FROM);
    int32_t n;

    *resp = (kp_listgroups_response_t){0};
    if (!listgroups_version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    if (version >= 1) resp->throttle_time_ms = kp_read_int32(r);
    resp->error_code = kp_read_int16(r);
    n = kp_read_array_count_flex(r, flex, 2 * str_min(flex) + tags_min(flex));
    resp->groups = kp_reader_calloc(r, n, sizeof(*resp->groups));
    if (!r->err) resp->n_groups = n;
    for (int32_t i = 0; i < resp->n_groups && !r->err; i++) {
        resp->groups[i].group_id = kp_read_string_flex(r, flex);
        resp->groups[i].protocol_type = kp_read_string_flex(r, flex);
        kp_skip_tags_flex(r, flex);
    }
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_listgroups_response_clear(kp_listgroups_response_t *resp) {
    free(resp->groups);
    *resp = (kp_listgroups_response_t){0};
}

/* ---------------------------------------------------------- DescribeGroups */

static bool describegroups_version_ok(int16_t version) {
    return version_ok(version, KP_DESCRIBEGROUPS_VERSION_MAX);
}

int kp_describegroups_request_decode(kp_reader_t *r, int16_t version, kp_describegroups_request_t *req) {
    bool flex = kp_is_flexible(version, KP_DESCRIBEGROUPS_FLEX_FROM);

    *req = (kp_describegroups_request_t){0};
    if (!describegroups_version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    req->groups = decode_string_array(r, flex, &req->n_groups);
    if (version >= 3) req->include_authorized_operations = kp_read_bool(r);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_describegroups_request_clear(kp_describegroups_request_t *req) {
    free(req->groups);
    *req = (kp_describegroups_request_t){0};
}

int kp_describegroups_request_encode(kp_writer_t *w, int16_t version, const kp_describegroups_request_t *req) {
    bool flex = kp_is_flexible(version, KP_DESCRIBEGROUPS_FLEX_FROM);

    if (!describegroups_version_ok(version)) return KP_BUF_INVALID;
    encode_string_array(w, flex, req->groups, req->n_groups);
    if (version >= 3) kp_write_bool(w, req->include_authorized_operations);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

static void encode_member(kp_writer_t *w, int16_t version, bool flex, const kp_describegroups_response_member_t *m) {
    kp_write_str_flex(w, flex, kp_str_nonnull(m->member_id));
    if (version >= 4) kp_write_str_flex(w, flex, m->group_instance_id);
    kp_write_str_flex(w, flex, kp_str_nonnull(m->client_id));
    kp_write_str_flex(w, flex, kp_str_nonnull(m->client_host));
    kp_write_bytes_flex(w, flex, kp_bytes_nonnull(m->member_metadata));
    kp_write_bytes_flex(w, flex, kp_bytes_nonnull(m->member_assignment));
    kp_write_empty_tags_flex(w, flex);
}

static void encode_group(kp_writer_t *w, int16_t version, bool flex, const kp_describegroups_response_group_t *g) {
    int32_t n = nonneg(g->n_members);

    kp_write_int16(w, g->error_code);
    kp_write_str_flex(w, flex, kp_str_nonnull(g->group_id));
    kp_write_str_flex(w, flex, kp_str_nonnull(g->group_state));
    kp_write_str_flex(w, flex, kp_str_nonnull(g->protocol_type));
    kp_write_str_flex(w, flex, kp_str_nonnull(g->protocol_data));
    kp_write_array_count_flex(w, flex, n);
    for (int32_t i = 0; i < n; i++) encode_member(w, version, flex, &g->members[i]);
    if (version >= 3) kp_write_int32(w, g->authorized_operations);
    kp_write_empty_tags_flex(w, flex);
}

int kp_describegroups_response_encode(kp_writer_t *w, int16_t version,
                                      const kp_describegroups_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_DESCRIBEGROUPS_FLEX_FROM);
    int32_t n = nonneg(resp->n_groups);

    if (!describegroups_version_ok(version)) return KP_BUF_INVALID;
    if (version >= 1) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_array_count_flex(w, flex, n);
    for (int32_t i = 0; i < n; i++) encode_group(w, version, flex, &resp->groups[i]);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

/* member_id, (v4) group_instance_id, client_id, client_host, two blobs. */
static size_t member_min_size(int16_t version, bool flex) {
    size_t strings = version >= 4 ? 4 : 3;

    return strings * str_min(flex) + 2 * bytes_min(flex) + tags_min(flex);
}

/* error_code, four strings, the member count and (v3) the operations. */
static size_t group_min_size(int16_t version, bool flex) {
    size_t n = 2 + 4 * str_min(flex) + count_min(flex) + tags_min(flex);

    return version >= 3 ? n + INT32_SIZE : n;
}

static void decode_member(kp_reader_t *r, int16_t version, bool flex, kp_describegroups_response_member_t *m) {
    m->member_id = kp_read_string_flex(r, flex);
    m->group_instance_id = version >= 4 ? kp_read_nullable_string_flex(r, flex) : KP_STR_NULL;
    m->client_id = kp_read_string_flex(r, flex);
    m->client_host = kp_read_string_flex(r, flex);
    m->member_metadata = kp_read_bytes_flex(r, flex);
    m->member_assignment = kp_read_bytes_flex(r, flex);
    kp_skip_tags_flex(r, flex);
}

static void decode_group(kp_reader_t *r, int16_t version, bool flex, kp_describegroups_response_group_t *g) {
    int32_t n;

    g->error_code = kp_read_int16(r);
    g->group_id = kp_read_string_flex(r, flex);
    g->group_state = kp_read_string_flex(r, flex);
    g->protocol_type = kp_read_string_flex(r, flex);
    g->protocol_data = kp_read_string_flex(r, flex);
    n = kp_read_array_count_flex(r, flex, member_min_size(version, flex));
    g->members = kp_reader_calloc(r, n, sizeof(*g->members));
    if (r->err) return;
    g->n_members = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_member(r, version, flex, &g->members[i]);
    g->authorized_operations = version >= 3 ? kp_read_int32(r) : KP_AUTHORIZED_OPERATIONS_OMITTED;
    kp_skip_tags_flex(r, flex);
}

int kp_describegroups_response_decode(kp_reader_t *r, int16_t version, kp_describegroups_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_DESCRIBEGROUPS_FLEX_FROM);
    int32_t n;

    *resp = (kp_describegroups_response_t){0};
    if (!describegroups_version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    if (version >= 1) resp->throttle_time_ms = kp_read_int32(r);
    n = kp_read_array_count_flex(r, flex, group_min_size(version, flex));
    resp->groups = kp_reader_calloc(r, n, sizeof(*resp->groups));
    if (!r->err) resp->n_groups = n;
    for (int32_t i = 0; i < resp->n_groups && !r->err; i++) decode_group(r, version, flex, &resp->groups[i]);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_describegroups_response_clear(kp_describegroups_response_t *resp) {
    for (int32_t i = 0; i < resp->n_groups; i++) free(resp->groups[i].members);
    free(resp->groups);
    *resp = (kp_describegroups_response_t){0};
}

/* ------------------------------------------------------------ DeleteGroups */

static bool deletegroups_version_ok(int16_t version) { return version_ok(version, KP_DELETEGROUPS_VERSION_MAX); }

int kp_deletegroups_request_decode(kp_reader_t *r, int16_t version, kp_deletegroups_request_t *req) {
    bool flex = kp_is_flexible(version, KP_DELETEGROUPS_FLEX_FROM);

    *req = (kp_deletegroups_request_t){0};
    if (!deletegroups_version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    req->groups_names = decode_string_array(r, flex, &req->n_groups_names);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_deletegroups_request_clear(kp_deletegroups_request_t *req) {
    free(req->groups_names);
    *req = (kp_deletegroups_request_t){0};
}

int kp_deletegroups_response_encode(kp_writer_t *w, int16_t version, const kp_deletegroups_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_DELETEGROUPS_FLEX_FROM);
    int32_t n = nonneg(resp->n_results);

    if (!deletegroups_version_ok(version)) return KP_BUF_INVALID;
    kp_write_int32(w, resp->throttle_time_ms);
    kp_write_array_count_flex(w, flex, n);
    for (int32_t i = 0; i < n; i++) {
        kp_write_str_flex(w, flex, kp_str_nonnull(resp->results[i].group_id));
        kp_write_int16(w, resp->results[i].error_code);
        kp_write_empty_tags_flex(w, flex);
    }
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}
