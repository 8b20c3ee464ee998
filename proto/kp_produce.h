/*
 * kp_produce.h - Produce (key 0) request and response, versions 0-7
 * (wire-protocol.md 4.3).  Flexible versions start at 9, so every version
 * here uses the classic encodings; the codec still goes through the *_flex
 * primitives so later versions only add fields.
 *
 * Versions 0-2 are decoded too, although the broker refuses them: it must
 * read such a request to answer every partition with 35 UNSUPPORTED_VERSION
 * (librdkafka needs v0 advertised to compress, section 2.1).
 *
 * A partition's records are a slice borrowed from the request frame.  The
 * broker rewrites batch header fields in place before appending (base
 * offset, leader epoch), which is why the slice is not const: the frame is
 * the connection's own mutable buffer and stays valid until the request is
 * finished.
 */
#ifndef KP_PRODUCE_H
#define KP_PRODUCE_H

#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_PRODUCE_VERSION_MAX 7
#define KP_PRODUCE_FLEX_FROM 9

typedef struct {
    int32_t index;
    int32_t records_len; /* -1 = null */
    uint8_t *records;    /* borrowed from the request frame; NULL when null */
} kp_produce_request_partition_t;

typedef struct {
    kp_str_t name; /* borrowed */
    int32_t n_partition_data;
    kp_produce_request_partition_t *partition_data; /* owned by the request */
} kp_produce_request_topic_t;

typedef struct {
    kp_str_t transactional_id; /* v3+; null before v3 */
    int16_t acks;
    int32_t timeout_ms;
    int32_t n_topic_data;
    kp_produce_request_topic_t *topic_data; /* owned: kp_produce_request_clear() */
} kp_produce_request_t;

typedef struct {
    int32_t index;
    int16_t error_code;
    int64_t base_offset;        /* -1 on error */
    int64_t log_append_time_ms; /* v2+; -1 for CreateTime */
    int64_t log_start_offset;   /* v5+; -1 if unknown */
} kp_produce_response_partition_t;

typedef struct {
    kp_str_t name;
    int32_t n_partition_responses;
    const kp_produce_response_partition_t *partition_responses;
} kp_produce_response_topic_t;

/* Every pointer is borrowed; the struct owns nothing. */
typedef struct {
    int32_t n_responses;
    const kp_produce_response_topic_t *responses;
    int32_t throttle_time_ms; /* v1+; the last field of the body */
} kp_produce_response_t;

/* Decodes a request body of `version` (0..7) that must fill r exactly.  The
 * records slices point into r's buffer, which the caller must own mutably
 * (the request frame).  The topic and partition arrays are allocated after
 * their counts have been checked against the bytes left; release them with
 * kp_produce_request_clear() whatever the result.  Returns 0 or a KP_BUF_*
 * error. */
int kp_produce_request_decode(kp_reader_t *r, int16_t version, kp_produce_request_t *req);
void kp_produce_request_clear(kp_produce_request_t *req);

/* Encodes a response body of `version` (0..7).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..7). */
int kp_produce_response_encode(kp_writer_t *w, int16_t version, const kp_produce_response_t *resp);

#endif
