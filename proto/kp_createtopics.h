/*
 * kp_createtopics.h - CreateTopics (key 19) request and response, versions
 * 0-4 (wire-protocol.md 4.6).  Flexible versions start at 5; the codec goes
 * through the *_flex primitives already so later versions only add fields.
 *
 * The request is decoded whole into owned arrays (topics, their explicit
 * assignments and configs); strings stay borrowed slices of the frame.
 * The response echoes one result per requested topic, in request order,
 * duplicates included (Kafka answers each duplicate entry with 42).
 */
#ifndef KP_CREATETOPICS_H
#define KP_CREATETOPICS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_CREATETOPICS_VERSION_MAX 4
#define KP_CREATETOPICS_FLEX_FROM 5

/* num_partitions / replication_factor value meaning "broker default" (v4+)
 * or "taken from the explicit assignment". */
#define KP_CREATETOPICS_UNSET (-1)

typedef struct {
    int32_t partition_index;
    int32_t n_broker_ids;
    int32_t *broker_ids; /* owned */
} kp_createtopics_assignment_t;

typedef struct {
    kp_str_t name;
    kp_str_t value; /* nullable: a null value is refused by the handler (42) */
} kp_createtopics_config_t;

typedef struct {
    kp_str_t name;
    int32_t num_partitions;     /* -1 = default / from assignments */
    int16_t replication_factor; /* -1 = default / from assignments */
    int32_t n_assignments;
    kp_createtopics_assignment_t *assignments; /* owned; empty = automatic placement */
    int32_t n_configs;
    kp_createtopics_config_t *configs; /* owned */
} kp_createtopics_topic_t;

typedef struct {
    int32_t n_topics;
    kp_createtopics_topic_t *topics; /* owned: kp_createtopics_request_clear() */
    int32_t timeout_ms;
    bool validate_only; /* v1+; false before */
} kp_createtopics_request_t;

typedef struct {
    kp_str_t name;
    int16_t error_code;
    kp_str_t error_message; /* v1+; null on success */
} kp_createtopics_response_topic_t;

/* Every pointer is borrowed; the struct owns nothing. */
typedef struct {
    int32_t throttle_time_ms; /* v2+ */
    int32_t n_topics;
    const kp_createtopics_response_topic_t *topics;
} kp_createtopics_response_t;

/* Decodes a request body of `version` (0..4) that must fill r exactly.
 * Array counts are checked against the bytes left before anything is
 * allocated.  Release req with kp_createtopics_request_clear() whatever the
 * result.  Returns 0 or a KP_BUF_* error. */
int kp_createtopics_request_decode(kp_reader_t *r, int16_t version,
                                   kp_createtopics_request_t *req);
void kp_createtopics_request_clear(kp_createtopics_request_t *req);

/* Encodes a response body of `version` (0..4).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..4). */
int kp_createtopics_response_encode(kp_writer_t *w, int16_t version,
                                    const kp_createtopics_response_t *resp);

#endif
