/*
 * kp_deletetopics.h - DeleteTopics (key 20) request and response, versions
 * 0-4 (wire-protocol.md 4.7; Kafka 2.6's DeleteTopicsRequest and
 * DeleteTopicsResponse schemas).  Version 4 is the first flexible one
 * (compact strings and arrays, tagged-field sections); versions 5 and 6
 * (error messages, topic ids) came after Kafka 2.6 and are not decoded.
 *
 * The request's names are borrowed slices of the frame, in an owned array;
 * the response echoes one result per requested name, in request order.
 */
#ifndef KP_DELETETOPICS_H
#define KP_DELETETOPICS_H

#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_DELETETOPICS_VERSION_MAX 4
#define KP_DELETETOPICS_FLEX_FROM 4

typedef struct {
    int32_t n_topic_names;
    kp_str_t *topic_names; /* owned array of borrowed names (never null) */
    int32_t timeout_ms;
} kp_deletetopics_request_t;

typedef struct {
    kp_str_t name;
    int16_t error_code;
} kp_deletetopics_result_t;

/* Every pointer is borrowed; the struct owns nothing. */
typedef struct {
    int32_t throttle_time_ms; /* v1+ */
    int32_t n_responses;
    const kp_deletetopics_result_t *responses;
} kp_deletetopics_response_t;

/* Decodes a request body of `version` (0..4) that must fill r exactly; a
 * null topic name is invalid (the schema's names are not nullable).  The
 * array is allocated after its count has been checked against the bytes
 * left.  Release with kp_deletetopics_request_clear() whatever the result.
 * Returns 0 or a KP_BUF_* error. */
int kp_deletetopics_request_decode(kp_reader_t *r, int16_t version, kp_deletetopics_request_t *req);
void kp_deletetopics_request_clear(kp_deletetopics_request_t *req);

/* Encodes a response body of `version` (0..4).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..4). */
int kp_deletetopics_response_encode(kp_writer_t *w, int16_t version, const kp_deletetopics_response_t *resp);

/* Encodes a request body and decodes a response body, for clients and
 * tests (kbroker-admin speaks ZooKeeper; the unit suite round-trips).
 * Names and the response array are as above; the response's array is
 * owned: kp_deletetopics_response_clear. */
int kp_deletetopics_request_encode(kp_writer_t *w, int16_t version, const kp_deletetopics_request_t *req);
int kp_deletetopics_response_decode(kp_reader_t *r, int16_t version, kp_deletetopics_response_t *resp);
void kp_deletetopics_response_clear(kp_deletetopics_response_t *resp);

#endif
