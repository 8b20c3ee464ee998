/*
 * kp_client_configs.h - the client side of DescribeConfigs (key 32) v1-2
 * and AlterConfigs (key 33) v0-1, for the admin tool's Kafka client
 * (client/): what kafka-configs.sh --bootstrap-server and kafka-topics.sh
 * --describe send and read.  The requests reuse the broker side's structs
 * (kp_configs.h); the decoded answers get owned arrays of their own here.
 * Neither API is flexible in these versions.
 *
 * Also ApiVersions (key 18) v0-3 for the client: the empty request of
 * v0-2 and the answer, so that the client picks each API's version from
 * what the broker says it handles, and can say clearly that a broker does
 * not have an API at all (kbroker closes the connection on a key it does
 * not know).
 */
#ifndef KP_CLIENT_CONFIGS_H
#define KP_CLIENT_CONFIGS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/kp_apiversions.h"
#include "proto/kp_buf.h"
#include "proto/kp_configs.h"

#define KP_CLIENT_DESCRIBECONFIGS_VERSION_MIN 1
#define KP_CLIENT_DESCRIBECONFIGS_VERSION_MAX 2

/* ConfigEntry.ConfigSource, as DescribeConfigs v1+ answers it. */
enum {
    KP_CONFIG_SOURCE_UNKNOWN = 0,
    KP_CONFIG_SOURCE_DYNAMIC_TOPIC = 1,
    KP_CONFIG_SOURCE_DYNAMIC_BROKER = 2,
    KP_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER = 3,
    KP_CONFIG_SOURCE_STATIC_BROKER = 4,
    KP_CONFIG_SOURCE_DEFAULT = 5,
};

/* Kafka's name of a config source ("DYNAMIC_TOPIC_CONFIG"), as
 * kafka-configs.sh prints synonyms; "UNKNOWN" for any other value. */
const char *kp_config_source_name(int8_t source);

/* -------------------------------------------------------- DescribeConfigs */

typedef struct {
    kp_str_t name;
    kp_str_t value; /* nullable */
    int8_t source;
} kp_client_config_synonym_t;

typedef struct {
    kp_str_t name;
    kp_str_t value; /* nullable: a sensitive value is not sent */
    bool read_only;
    int8_t config_source;
    bool is_sensitive;
    int32_t n_synonyms;
    kp_client_config_synonym_t *synonyms; /* owned */
} kp_client_config_entry_t;

typedef struct {
    int16_t error_code;
    kp_str_t error_message; /* nullable */
    int8_t resource_type;
    kp_str_t resource_name;
    int32_t n_configs;
    kp_client_config_entry_t *configs; /* owned */
} kp_client_describeconfigs_result_t;

typedef struct {
    int32_t throttle_time_ms;
    int32_t n_results;
    kp_client_describeconfigs_result_t *results; /* owned */
} kp_client_describeconfigs_response_t;

/* Encodes a request body of `version` (1..2).  Returns w->err, or
 * KP_BUF_INVALID for another version. */
int kp_client_describeconfigs_request_encode(kp_writer_t *w, int16_t version,
                                             const kp_describeconfigs_request_t *req);
/* Decodes a response body of `version` (1..2) that must fill r exactly;
 * release resp with kp_client_describeconfigs_response_clear() whatever
 * the result.  Returns 0 or a KP_BUF_* error. */
int kp_client_describeconfigs_response_decode(kp_reader_t *r, int16_t version,
                                              kp_client_describeconfigs_response_t *resp);
void kp_client_describeconfigs_response_clear(kp_client_describeconfigs_response_t *resp);

/* ----------------------------------------------------------- AlterConfigs */

typedef struct {
    int16_t error_code;
    kp_str_t error_message; /* nullable */
    int8_t resource_type;
    kp_str_t resource_name;
} kp_client_alterconfigs_result_t;

typedef struct {
    int32_t throttle_time_ms;
    int32_t n_responses;
    kp_client_alterconfigs_result_t *responses; /* owned */
} kp_client_alterconfigs_response_t;

/* As for DescribeConfigs, versions 0..1. */
int kp_client_alterconfigs_request_encode(kp_writer_t *w, int16_t version, const kp_alterconfigs_request_t *req);
int kp_client_alterconfigs_response_decode(kp_reader_t *r, int16_t version, kp_client_alterconfigs_response_t *resp);
void kp_client_alterconfigs_response_clear(kp_client_alterconfigs_response_t *resp);

/* ------------------------------------------------------------ ApiVersions */

typedef struct {
    int16_t error_code;
    int32_t n_api_keys;
    kp_apiversion_t *api_keys; /* owned */
    int32_t throttle_time_ms;  /* v1+ */
} kp_client_apiversions_response_t;

/* Encodes the request body of `version` 0..2 (empty).  Returns w->err or
 * KP_BUF_INVALID. */
int kp_client_apiversions_request_encode(kp_writer_t *w, int16_t version);
/* Decodes a response body of `version` (0..3) that must fill r exactly.
 * Returns 0 or a KP_BUF_* error. */
int kp_client_apiversions_response_decode(kp_reader_t *r, int16_t version, kp_client_apiversions_response_t *resp);
void kp_client_apiversions_response_clear(kp_client_apiversions_response_t *resp);

#endif
