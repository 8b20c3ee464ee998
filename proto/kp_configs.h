/*
 * kp_configs.h - DescribeConfigs (key 32) versions 0-2 and AlterConfigs
 * (key 33) versions 0-1: request decoding and response encoding
 * (wire-protocol.md 4.12 and 4.13).  DescribeConfigs becomes flexible at
 * v4 and AlterConfigs at v2; the codecs pick the encodings from the version
 * so that raising the ranges needs only the new fields.
 *
 * DescribeConfigs v0 answers is_default per config; v1+ answers
 * config_source and the synonyms instead.  v2 equals v1 (throttling
 * behaviour only); AlterConfigs v1 equals v0.
 */
#ifndef KP_CONFIGS_H
#define KP_CONFIGS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_DESCRIBECONFIGS_VERSION_MAX 2
#define KP_DESCRIBECONFIGS_FLEX_FROM 4
#define KP_ALTERCONFIGS_VERSION_MAX 1
#define KP_ALTERCONFIGS_FLEX_FROM 2

/* resource_type values (ConfigResource.Type). */
enum {
    KP_RESOURCE_UNKNOWN = 0,
    KP_RESOURCE_TOPIC = 2,
    KP_RESOURCE_BROKER = 4,
    KP_RESOURCE_BROKER_LOGGER = 8,
};

/* ---- DescribeConfigs ---- */

typedef struct {
    int8_t resource_type;
    kp_str_t resource_name;         /* borrowed */
    int32_t n_configuration_keys;   /* -1 = null: every key */
    kp_str_t *configuration_keys;   /* owned by the request; the slices are borrowed */
} kp_describeconfigs_resource_t;

typedef struct {
    int32_t n_resources;
    kp_describeconfigs_resource_t *resources; /* owned: kp_describeconfigs_request_clear() */
    bool include_synonyms;                    /* v1+; false in v0 */
} kp_describeconfigs_request_t;

typedef struct {
    const char *name;
    const char *value; /* NULL = null */
    int8_t source;
} kp_config_synonym_t;

typedef struct {
    const char *name;
    const char *value;     /* NULL = null (sensitive values) */
    bool read_only;
    bool is_default;       /* v0 only */
    int8_t config_source;  /* v1+ */
    bool is_sensitive;
    int32_t n_synonyms;    /* v1+ */
    const kp_config_synonym_t *synonyms;
} kp_describeconfigs_config_t;

typedef struct {
    int16_t error_code;
    const char *error_message; /* NULL = null */
    int8_t resource_type;
    kp_str_t resource_name;
    int32_t n_configs;         /* 0 on error */
    const kp_describeconfigs_config_t *configs;
} kp_describeconfigs_result_t;

/* Every pointer is borrowed; the struct owns nothing. */
typedef struct {
    int32_t throttle_time_ms;
    int32_t n_results;
    const kp_describeconfigs_result_t *results;
} kp_describeconfigs_response_t;

/* Decodes a request body of `version` (0..2) that must fill r exactly.
 * Release with kp_describeconfigs_request_clear() whatever the result.
 * Returns 0 or a KP_BUF_* error. */
int kp_describeconfigs_request_decode(kp_reader_t *r, int16_t version, kp_describeconfigs_request_t *req);
void kp_describeconfigs_request_clear(kp_describeconfigs_request_t *req);
/* Returns w->err, or KP_BUF_INVALID for a version outside 0..2. */
int kp_describeconfigs_response_encode(kp_writer_t *w, int16_t version, const kp_describeconfigs_response_t *resp);

/* ---- AlterConfigs ---- */

typedef struct {
    kp_str_t name;
    kp_str_t value; /* may be null (len < 0) */
} kp_alterconfigs_entry_t;

typedef struct {
    int8_t resource_type;
    kp_str_t resource_name;
    int32_t n_configs;
    kp_alterconfigs_entry_t *configs; /* owned by the request */
} kp_alterconfigs_resource_t;

typedef struct {
    int32_t n_resources;
    kp_alterconfigs_resource_t *resources; /* owned: kp_alterconfigs_request_clear() */
    bool validate_only;
} kp_alterconfigs_request_t;

typedef struct {
    int16_t error_code;
    const char *error_message; /* NULL = null */
    int8_t resource_type;
    kp_str_t resource_name;
} kp_alterconfigs_result_t;

typedef struct {
    int32_t throttle_time_ms;
    int32_t n_responses;
    const kp_alterconfigs_result_t *responses;
} kp_alterconfigs_response_t;

/* As for DescribeConfigs, for versions 0..1. */
int kp_alterconfigs_request_decode(kp_reader_t *r, int16_t version, kp_alterconfigs_request_t *req);
void kp_alterconfigs_request_clear(kp_alterconfigs_request_t *req);
int kp_alterconfigs_response_encode(kp_writer_t *w, int16_t version, const kp_alterconfigs_response_t *resp);

#endif
