/*
 * kp_apiversions.c - ApiVersions request decoding and response encoding
 * (Kafka's ApiVersionsRequest/ApiVersionsResponse schemas, versions 0-3).
 *
 * The client software name and version of a v3 request are accepted as they
 * come: Kafka checks them against a pattern and answers 42, which only makes
 * librdkafka retry with v0, so leniency loses nothing.
 */
#include "proto/kp_apiversions.h"

#include "proto/kp_types.h"

int kp_apiversions_request_decode(kp_reader_t *r, int16_t version, kp_apiversions_request_t *req) {
    bool flex = kp_is_flexible(version, KP_APIVERSIONS_FLEX_FROM);

    req->client_software_name = KP_STR_NULL;
    req->client_software_version = KP_STR_NULL;
    if (version < 0 || version > KP_APIVERSIONS_VERSION_MAX) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    if (version >= 3) {
        req->client_software_name = kp_read_compact_string(r);
        req->client_software_version = kp_read_compact_string(r);
    }
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

static void encode_entry(kp_writer_t *w, bool flex, const kp_apiversion_t *e) {
    kp_write_int16(w, e->api_key);
    kp_write_int16(w, e->min_version);
    kp_write_int16(w, e->max_version);
    kp_write_empty_tags_flex(w, flex);
}

int kp_apiversions_response_encode(kp_writer_t *w, int16_t version,
                                   const kp_apiversions_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_APIVERSIONS_FLEX_FROM);

    if (version < 0 || version > KP_APIVERSIONS_VERSION_MAX) return KP_BUF_INVALID;
    kp_write_int16(w, resp->error_code);
    kp_write_array_count_flex(w, flex, resp->n_api_keys);
    for (int32_t i = 0; i < resp->n_api_keys; i++) encode_entry(w, flex, &resp->api_keys[i]);
    if (version >= 1) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

void kp_apiversions_response_unsupported(kp_apiversions_response_t *resp, kp_apiversion_t *entry,
                                         int16_t max_version) {
    entry->api_key = KP_API_API_VERSIONS;
    entry->min_version = 0;
    entry->max_version = max_version;
    resp->error_code = KP_ERR_UNSUPPORTED_VERSION;
    resp->n_api_keys = 1;
    resp->api_keys = entry;
    resp->throttle_time_ms = 0;
}
