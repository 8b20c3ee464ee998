/*
 * kp_initproducerid.c - InitProducerId request decoding and response
 * encoding, versions 0-4 (see kp_initproducerid.h for what each version
 * adds).  Pure code over the sticky-error reader and writer of kp_buf.h.
 */
#include "proto/kp_initproducerid.h"

#include "proto/kp_types.h"

static bool version_ok(int16_t version) { return version >= 0 && version <= KP_INITPRODUCERID_VERSION_MAX; }

int kp_initproducerid_request_decode(kp_reader_t *r, int16_t version, kp_initproducerid_request_t *req) {
    bool flex = kp_is_flexible(version, KP_INITPRODUCERID_FLEX_FROM);

    *req = (kp_initproducerid_request_t){KP_STR_NULL, 0, KP_NO_PRODUCER_ID, KP_NO_PRODUCER_EPOCH};
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    req->transactional_id = kp_read_nullable_string_flex(r, flex);
    req->transaction_timeout_ms = kp_read_int32(r);
    if (version >= 3) {
        req->producer_id = kp_read_int64(r);
        req->producer_epoch = kp_read_int16(r);
    }
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

int kp_initproducerid_request_encode(kp_writer_t *w, int16_t version, const kp_initproducerid_request_t *req) {
    bool flex = kp_is_flexible(version, KP_INITPRODUCERID_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    kp_write_str_flex(w, flex, req->transactional_id);
    kp_write_int32(w, req->transaction_timeout_ms);
    if (version >= 3) {
        kp_write_int64(w, req->producer_id);
        kp_write_int16(w, req->producer_epoch);
    }
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

int kp_initproducerid_response_encode(kp_writer_t *w, int16_t version, const kp_initproducerid_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_INITPRODUCERID_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    kp_write_int32(w, resp->throttle_time_ms);
    kp_write_int16(w, resp->error_code);
    kp_write_int64(w, resp->producer_id);
    kp_write_int16(w, resp->producer_epoch);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}
