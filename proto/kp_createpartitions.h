/*
 * kp_createpartitions.h - CreatePartitions (key 37) request and response,
 * versions 0-2 (wire-protocol.md 4.8; Kafka 2.6's schemas): v1 equals v0,
 * v2 is flexible.
 *
 * The request is decoded whole into owned arrays (topics and, per topic,
 * the assignments of its new partitions); names stay borrowed slices of
 * the frame.  A null assignments array (automatic placement) is kept apart
 * from an empty one, which Kafka reads as zero assignments given.  The
 * response echoes one result per requested topic, in request order.
 */
#ifndef KP_CREATEPARTITIONS_H
#define KP_CREATEPARTITIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_CREATEPARTITIONS_VERSION_MAX 2
#define KP_CREATEPARTITIONS_FLEX_FROM 2

typedef struct {
    int32_t n_broker_ids;
    int32_t *broker_ids; /* owned */
} kp_createpartitions_assignment_t;

typedef struct {
    kp_str_t name;
    int32_t count;                                  /* the new total */
    bool has_assignments;                           /* false: null, Kafka's placement */
    int32_t n_assignments;
    kp_createpartitions_assignment_t *assignments;  /* owned; one per new partition */
} kp_createpartitions_topic_t;

typedef struct {
    int32_t n_topics;
    kp_createpartitions_topic_t *topics; /* owned: kp_createpartitions_request_clear() */
    int32_t timeout_ms;
    bool validate_only;
} kp_createpartitions_request_t;

typedef struct {
    kp_str_t name;
    int16_t error_code;
    kp_str_t error_message; /* null on success */
} kp_createpartitions_result_t;

/* Every pointer is borrowed; the struct owns nothing. */
typedef struct {
    int32_t throttle_time_ms;
    int32_t n_results;
    const kp_createpartitions_result_t *results;
} kp_createpartitions_response_t;

/* Decodes a request body of `version` (0..2) that must fill r exactly.
 * Array counts are checked against the bytes left before anything is
 * allocated.  Release req with kp_createpartitions_request_clear() whatever
 * the result.  Returns 0 or a KP_BUF_* error. */
int kp_createpartitions_request_decode(kp_reader_t *r, int16_t version, kp_createpartitions_request_t *req);
void kp_createpartitions_request_clear(kp_createpartitions_request_t *req);

/* Encodes a response body of `version` (0..2); returns w->err (or
 * KP_BUF_INVALID for another version). */
int kp_createpartitions_response_encode(kp_writer_t *w, int16_t version, const kp_createpartitions_response_t *resp);

#endif
