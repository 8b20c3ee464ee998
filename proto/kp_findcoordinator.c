/*
 * kp_findcoordinator.c - FindCoordinator codecs, broker side (request
 * decoding, response encoding) and client side (request encoding, response
 * decoding), after Kafka's FindCoordinatorRequest/FindCoordinatorResponse
 * schemas, versions 0-2.
 */
#include "proto/kp_findcoordinator.h"

#include "proto/kp_types.h"

static bool version_ok(int16_t version) {
    return version >= 0 && version <= KP_FINDCOORDINATOR_VERSION_MAX;
}

int kp_findcoordinator_request_decode(kp_reader_t *r, int16_t version,
                                      kp_findcoordinator_request_t *req) {
    bool flex = kp_is_flexible(version, KP_FINDCOORDINATOR_FLEX_FROM);

    req->key = KP_STR_NULL;
    req->key_type = KP_COORDINATOR_GROUP;
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    req->key = kp_read_string_flex(r, flex);
    if (version >= 1) req->key_type = kp_read_int8(r);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

int kp_findcoordinator_response_encode(kp_writer_t *w, int16_t version,
                                       const kp_findcoordinator_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_FINDCOORDINATOR_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    if (version >= 1) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_int16(w, resp->error_code);
    if (version >= 1) kp_write_str_flex(w, flex, resp->error_message);
    kp_write_int32(w, resp->node_id);
    kp_write_str_flex(w, flex, resp->host.len < 0 ? kp_str_c("") : resp->host);
    kp_write_int32(w, resp->port);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

int kp_findcoordinator_request_encode(kp_writer_t *w, int16_t version,
                                      const kp_findcoordinator_request_t *req) {
    bool flex = kp_is_flexible(version, KP_FINDCOORDINATOR_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    if (version == 0 && req->key_type != KP_COORDINATOR_GROUP) return KP_BUF_INVALID;
    kp_write_str_flex(w, flex, req->key.len < 0 ? kp_str_c("") : req->key);
    if (version >= 1) kp_write_int8(w, req->key_type);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

int kp_findcoordinator_response_decode(kp_reader_t *r, int16_t version,
                                       kp_findcoordinator_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_FINDCOORDINATOR_FLEX_FROM);

    *resp = (kp_findcoordinator_response_t){0, 0, KP_STR_NULL, -1, KP_STR_NULL, -1};
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    if (version >= 1) resp->throttle_time_ms = kp_read_int32(r);
    resp->error_code = kp_read_int16(r);
    if (version >= 1) resp->error_message = kp_read_nullable_string_flex(r, flex);
    resp->node_id = kp_read_int32(r);
    resp->host = kp_read_string_flex(r, flex);
    resp->port = kp_read_int32(r);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}
