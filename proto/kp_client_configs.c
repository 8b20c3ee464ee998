/*
 * kp_client_configs.c - client-side DescribeConfigs, AlterConfigs and
 * ApiVersions codecs (see kp_client_configs.h).  Pure byte work.
 */
#include "proto/kp_client_configs.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* The smallest DescribeConfigs config entry on the wire: name (2), null
 * value (2), read_only (1), config_source (1), is_sensitive (1), an empty
 * synonyms array (4). */
#define CONFIG_ENTRY_MIN 11
/* A synonym: name (2), null value (2), source (1). */
#define SYNONYM_MIN 5
/* A DescribeConfigs result: error (2), null message (2), type (1), name
 * (2), an empty configs array (4). */
#define DESCRIBE_RESULT_MIN 11
/* An AlterConfigs result: error (2), null message (2), type (1), name (2). */
#define ALTER_RESULT_MIN 7
/* An ApiVersions entry: key, min and max, int16 each. */
#define APIVERSION_MIN 6

static const char *const source_names[] = {
    [KP_CONFIG_SOURCE_UNKNOWN] = "UNKNOWN",
    [KP_CONFIG_SOURCE_DYNAMIC_TOPIC] = "DYNAMIC_TOPIC_CONFIG",
    [KP_CONFIG_SOURCE_DYNAMIC_BROKER] = "DYNAMIC_BROKER_CONFIG",
    [KP_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER] = "DYNAMIC_DEFAULT_BROKER_CONFIG",
    [KP_CONFIG_SOURCE_STATIC_BROKER] = "STATIC_BROKER_CONFIG",
    [KP_CONFIG_SOURCE_DEFAULT] = "DEFAULT_CONFIG",
};

const char *kp_config_source_name(int8_t source) {
    if (source < 0 || source > KP_CONFIG_SOURCE_DEFAULT) return "UNKNOWN";
    return source_names[source];
}

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

/* -------------------------------------------------------- DescribeConfigs */

static bool describe_version_ok(int16_t v) {
    return v >= KP_CLIENT_DESCRIBECONFIGS_VERSION_MIN && v <= KP_CLIENT_DESCRIBECONFIGS_VERSION_MAX;
}

int kp_client_describeconfigs_request_encode(kp_writer_t *w, int16_t version,
                                             const kp_describeconfigs_request_t *req) {
    if (!describe_version_ok(version)) return kp_writer_fail(w, KP_BUF_INVALID);
    kp_write_array_count(w, nonneg(req->n_resources));
    for (int32_t i = 0; i < req->n_resources; i++) {
        const kp_describeconfigs_resource_t *res = &req->resources[i];
        kp_write_int8(w, res->resource_type);
        kp_write_str(w, kp_str_nonnull(res->resource_name));
        /* A negative count is the schema's null: every key. */
        kp_write_array_count(w, res->n_configuration_keys < 0 ? -1 : res->n_configuration_keys);
        for (int32_t k = 0; k < res->n_configuration_keys; k++)
            kp_write_str(w, kp_str_nonnull(res->configuration_keys[k]));
    }
    kp_write_bool(w, req->include_synonyms);
    return w->err;
}

static void decode_synonyms(kp_reader_t *r, kp_client_config_entry_t *e) {
    int32_t n = kp_read_array_count(r, SYNONYM_MIN);
    e->synonyms = kp_reader_calloc(r, n, sizeof(*e->synonyms));
    if (!r->err) e->n_synonyms = n;
    for (int32_t i = 0; i < e->n_synonyms && !r->err; i++) {
        e->synonyms[i].name = kp_read_string(r);
        e->synonyms[i].value = kp_read_nullable_string(r);
        e->synonyms[i].source = kp_read_int8(r);
    }
}

static void decode_result(kp_reader_t *r, kp_client_describeconfigs_result_t *res) {
    res->error_code = kp_read_int16(r);
    res->error_message = kp_read_nullable_string(r);
    res->resource_type = kp_read_int8(r);
    res->resource_name = kp_read_string(r);
    int32_t n = kp_read_array_count(r, CONFIG_ENTRY_MIN);
    res->configs = kp_reader_calloc(r, n, sizeof(*res->configs));
    if (!r->err) res->n_configs = n;
    for (int32_t i = 0; i < res->n_configs && !r->err; i++) {
        kp_client_config_entry_t *e = &res->configs[i];
        e->name = kp_read_string(r);
        e->value = kp_read_nullable_string(r);
        e->read_only = kp_read_bool(r);
        e->config_source = kp_read_int8(r);
        e->is_sensitive = kp_read_bool(r);
        decode_synonyms(r, e);
    }
}

int kp_client_describeconfigs_response_decode(kp_reader_t *r, int16_t version,
                                              kp_client_describeconfigs_response_t *resp) {
    *resp = (kp_client_describeconfigs_response_t){0};
    if (!describe_version_ok(version)) return kp_reader_fail(r, KP_BUF_INVALID);
    resp->throttle_time_ms = kp_read_int32(r);
    int32_t n = kp_read_array_count(r, DESCRIBE_RESULT_MIN);
    resp->results = kp_reader_calloc(r, n, sizeof(*resp->results));
    if (!r->err) resp->n_results = n;
    for (int32_t i = 0; i < resp->n_results && !r->err; i++) decode_result(r, &resp->results[i]);
    return kp_reader_expect_end(r);
}

void kp_client_describeconfigs_response_clear(kp_client_describeconfigs_response_t *resp) {
    for (int32_t i = 0; i < resp->n_results; i++) {
        for (int32_t c = 0; c < resp->results[i].n_configs; c++) free(resp->results[i].configs[c].synonyms);
        free(resp->results[i].configs);
    }
    free(resp->results);
    *resp = (kp_client_describeconfigs_response_t){0};
}

/* ----------------------------------------------------------- AlterConfigs */

int kp_client_alterconfigs_request_encode(kp_writer_t *w, int16_t version, const kp_alterconfigs_request_t *req) {
    if (version < 0 || version > KP_ALTERCONFIGS_VERSION_MAX) return kp_writer_fail(w, KP_BUF_INVALID);
    kp_write_array_count(w, nonneg(req->n_resources));
    for (int32_t i = 0; i < req->n_resources; i++) {
        const kp_alterconfigs_resource_t *res = &req->resources[i];
        kp_write_int8(w, res->resource_type);
        kp_write_str(w, kp_str_nonnull(res->resource_name));
        kp_write_array_count(w, nonneg(res->n_configs));
        for (int32_t c = 0; c < res->n_configs; c++) {
            kp_write_str(w, kp_str_nonnull(res->configs[c].name));
            kp_write_str(w, res->configs[c].value);
        }
    }
    kp_write_bool(w, req->validate_only);
    return w->err;
}

int kp_client_alterconfigs_response_decode(kp_reader_t *r, int16_t version, kp_client_alterconfigs_response_t *resp) {
    *resp = (kp_client_alterconfigs_response_t){0};
    if (version < 0 || version > KP_ALTERCONFIGS_VERSION_MAX) return kp_reader_fail(r, KP_BUF_INVALID);
    resp->throttle_time_ms = kp_read_int32(r);
    int32_t n = kp_read_array_count(r, ALTER_RESULT_MIN);
    resp->responses = kp_reader_calloc(r, n, sizeof(*resp->responses));
    if (!r->err) resp->n_responses = n;
    for (int32_t i = 0; i < resp->n_responses && !r->err; i++) {
        kp_client_alterconfigs_result_t *res = &resp->responses[i];
        res->error_code = kp_read_int16(r);
        res->error_message = kp_read_nullable_string(r);
        res->resource_type = kp_read_int8(r);
        res->resource_name = kp_read_string(r);
    }
    return kp_reader_expect_end(r);
}

void kp_client_alterconfigs_response_clear(kp_client_alterconfigs_response_t *resp) {
    free(resp->responses);
    *resp = (kp_client_alterconfigs_response_t){0};
}

/* ------------------------------------------------------------ ApiVersions */

int kp_client_apiversions_request_encode(kp_writer_t *w, int16_t version) {
    if (version < 0 || version >= KP_APIVERSIONS_FLEX_FROM) return kp_writer_fail(w, KP_BUF_INVALID);
    return w->err;
}

int kp_client_apiversions_response_decode(kp_reader_t *r, int16_t version, kp_client_apiversions_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_APIVERSIONS_FLEX_FROM);

    *resp = (kp_client_apiversions_response_t){0};
    if (version < 0 || version > KP_APIVERSIONS_VERSION_MAX) return kp_reader_fail(r, KP_BUF_INVALID);
    resp->error_code = kp_read_int16(r);
    int32_t n = kp_read_array_count_flex(r, flex, APIVERSION_MIN + (flex ? 1 : 0));
    resp->api_keys = kp_reader_calloc(r, n, sizeof(*resp->api_keys));
    if (!r->err) resp->n_api_keys = n;
    for (int32_t i = 0; i < resp->n_api_keys && !r->err; i++) {
        resp->api_keys[i].api_key = kp_read_int16(r);
        resp->api_keys[i].min_version = kp_read_int16(r);
        resp->api_keys[i].max_version = kp_read_int16(r);
        kp_skip_tags_flex(r, flex);
    }
    if (version >= 1) resp->throttle_time_ms = kp_read_int32(r);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_client_apiversions_response_clear(kp_client_apiversions_response_t *resp) {
    free(resp->api_keys);
    *resp = (kp_client_apiversions_response_t){0};
}
