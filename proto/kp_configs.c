/*
 * kp_configs.c - DescribeConfigs and AlterConfigs codecs (Kafka's
 * DescribeConfigsRequest/Response and AlterConfigsRequest/Response schemas;
 * see kp_configs.h for the versions).
 *
 * Arrays are allocated only after their counts have been checked against
 * the bytes left, and strings stay borrowed slices of the request.  The
 * fields of versions beyond the handled ranges (include_documentation,
 * config_type, documentation) are where the version checks below would add
 * them.
 */
#include "proto/kp_configs.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest elements on the wire.  A DescribeConfigs resource: type, an
 * empty name and a (null) key array; an AlterConfigs resource: type, empty
 * name, empty config array; a config: two empty strings.  Compact forms
 * take one byte per length plus the element's tag section. */
#define DESCRIBE_RESOURCE_MIN 7
#define DESCRIBE_RESOURCE_MIN_FLEX 4
#define KEY_MIN 2
#define KEY_MIN_FLEX 1
#define ALTER_RESOURCE_MIN 7
#define ALTER_RESOURCE_MIN_FLEX 4
#define ALTER_ENTRY_MIN 4
#define ALTER_ENTRY_MIN_FLEX 3

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

/* ------------------------------------------------------- DescribeConfigs */

static void decode_describe_resource(kp_reader_t *r, bool flex, kp_describeconfigs_resource_t *res) {
    int32_t n;

    res->resource_type = kp_read_int8(r);
    res->resource_name = kp_read_string_flex(r, flex);
    n = kp_read_nullable_array_count_flex(r, flex, flex ? KEY_MIN_FLEX : KEY_MIN);
    res->configuration_keys = kp_reader_calloc(r, n, sizeof(*res->configuration_keys));
    if (r->err) return;
    res->n_configuration_keys = n;
    for (int32_t i = 0; i < n && !r->err; i++) res->configuration_keys[i] = kp_read_string_flex(r, flex);
    kp_skip_tags_flex(r, flex);
}

int kp_describeconfigs_request_decode(kp_reader_t *r, int16_t version, kp_describeconfigs_request_t *req) {
    bool flex = kp_is_flexible(version, KP_DESCRIBECONFIGS_FLEX_FROM);
    int32_t n;

    *req = (kp_describeconfigs_request_t){0};
    if (version < 0 || version > KP_DESCRIBECONFIGS_VERSION_MAX) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    n = kp_read_array_count_flex(r, flex, flex ? DESCRIBE_RESOURCE_MIN_FLEX : DESCRIBE_RESOURCE_MIN);
    req->resources = kp_reader_calloc(r, n, sizeof(*req->resources));
    if (!r->err) req->n_resources = n;
    for (int32_t i = 0; i < req->n_resources && !r->err; i++)
        decode_describe_resource(r, flex, &req->resources[i]);
    if (version >= 1) req->include_synonyms = kp_read_bool(r);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_describeconfigs_request_clear(kp_describeconfigs_request_t *req) {
    for (int32_t i = 0; i < req->n_resources; i++) free(req->resources[i].configuration_keys);
    free(req->resources);
    *req = (kp_describeconfigs_request_t){0};
}

static void encode_synonym(kp_writer_t *w, bool flex, const kp_config_synonym_t *s) {
    kp_write_string_flex(w, flex, s->name);
    kp_write_nullable_string_flex(w, flex, s->value);
    kp_write_int8(w, s->source);
    kp_write_empty_tags_flex(w, flex);
}

static void encode_config(kp_writer_t *w, int16_t version, bool flex, const kp_describeconfigs_config_t *c) {
    kp_write_string_flex(w, flex, c->name);
    kp_write_nullable_string_flex(w, flex, c->value);
    kp_write_bool(w, c->read_only);
    if (version == 0) kp_write_bool(w, c->is_default);
    else kp_write_int8(w, c->config_source);
    kp_write_bool(w, c->is_sensitive);
    if (version >= 1) {
        kp_write_array_count_flex(w, flex, nonneg(c->n_synonyms));
        for (int32_t i = 0; i < c->n_synonyms; i++) encode_synonym(w, flex, &c->synonyms[i]);
    }
    kp_write_empty_tags_flex(w, flex);
}

static void encode_describe_result(kp_writer_t *w, int16_t version, bool flex,
                                   const kp_describeconfigs_result_t *res) {
    kp_write_int16(w, res->error_code);
    kp_write_nullable_string_flex(w, flex, res->error_message);
    kp_write_int8(w, res->resource_type);
    kp_write_str_flex(w, flex, kp_str_nonnull(res->resource_name));
    kp_write_array_count_flex(w, flex, nonneg(res->n_configs));
    for (int32_t i = 0; i < res->n_configs; i++) encode_config(w, version, flex, &res->configs[i]);
    kp_write_empty_tags_flex(w, flex);
}

int kp_describeconfigs_response_encode(kp_writer_t *w, int16_t version, const kp_describeconfigs_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_DESCRIBECONFIGS_FLEX_FROM);

    if (version < 0 || version > KP_DESCRIBECONFIGS_VERSION_MAX) return KP_BUF_INVALID;
    kp_write_int32(w, resp->throttle_time_ms);
    kp_write_array_count_flex(w, flex, nonneg(resp->n_results));
    for (int32_t i = 0; i < resp->n_results; i++) encode_describe_result(w, version, flex, &resp->results[i]);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

/* ---------------------------------------------------------- AlterConfigs */

static void decode_alter_resource(kp_reader_t *r, bool flex, kp_alterconfigs_resource_t *res) {
    int32_t n;

    res->resource_type = kp_read_int8(r);
    res->resource_name = kp_read_string_flex(r, flex);
    n = kp_read_array_count_flex(r, flex, flex ? ALTER_ENTRY_MIN_FLEX : ALTER_ENTRY_MIN);
    res->configs = kp_reader_calloc(r, n, sizeof(*res->configs));
    if (r->err) return;
    res->n_configs = n;
    for (int32_t i = 0; i < n && !r->err; i++) {
        res->configs[i].name = kp_read_string_flex(r, flex);
        res->configs[i].value = kp_read_nullable_string_flex(r, flex);
        kp_skip_tags_flex(r, flex);
    }
    kp_skip_tags_flex(r, flex);
}

int kp_alterconfigs_request_decode(kp_reader_t *r, int16_t version, kp_alterconfigs_request_t *req) {
    bool flex = kp_is_flexible(version, KP_ALTERCONFIGS_FLEX_FROM);
    int32_t n;

    *req = (kp_alterconfigs_request_t){0};
    if (version < 0 || version > KP_ALTERCONFIGS_VERSION_MAX) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    n = kp_read_array_count_flex(r, flex, flex ? ALTER_RESOURCE_MIN_FLEX : ALTER_RESOURCE_MIN);
    req->resources = kp_reader_calloc(r, n, sizeof(*req->resources));
    if (!r->err) req->n_resources = n;
    for (int32_t i = 0; i < req->n_resources && !r->err; i++) decode_alter_resource(r, flex, &req->resources[i]);
    req->validate_only = kp_read_bool(r);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_alterconfigs_request_clear(kp_alterconfigs_request_t *req) {
    for (int32_t i = 0; i < req->n_resources; i++) free(req->resources[i].configs);
    free(req->resources);
    *req = (kp_alterconfigs_request_t){0};
}

int kp_alterconfigs_response_encode(kp_writer_t *w, int16_t version, const kp_alterconfigs_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_ALTERCONFIGS_FLEX_FROM);

    if (version < 0 || version > KP_ALTERCONFIGS_VERSION_MAX) return KP_BUF_INVALID;
    kp_write_int32(w, resp->throttle_time_ms);
    kp_write_array_count_flex(w, flex, nonneg(resp->n_responses));
    for (int32_t i = 0; i < resp->n_responses; i++) {
        const kp_alterconfigs_result_t *res = &resp->responses[i];
        kp_write_int16(w, res->error_code);
        kp_write_nullable_string_flex(w, flex, res->error_message);
        kp_write_int8(w, res->resource_type);
        kp_write_str_flex(w, flex, kp_str_nonnull(res->resource_name));
        kp_write_empty_tags_flex(w, flex);
    }
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}
