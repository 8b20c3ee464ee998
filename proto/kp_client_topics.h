/*
 * kp_client_topics.h - the client side of the topic administration APIs
 * that kafka-topics.sh --bootstrap-server speaks, for the admin tool's
 * Kafka client (client/): CreateTopics (key 19) v0-4, DeleteTopics (key 20)
 * v0-4 and CreatePartitions (key 37) v0-2, request encoding and response
 * decoding, field for field in the order of Kafka's message schemas.
 *
 * The broker side of CreateTopics lives in kp_createtopics.c; this file
 * encodes the same request struct.  DeleteTopics and CreatePartitions get
 * structs of their own here, named kp_client_*, so that they never meet
 * the broker side's types of the same APIs in one translation unit.
 *
 * Decoded responses own their arrays (release with the *_clear function
 * whatever the result); strings stay borrowed slices of the answer.  Array
 * counts are checked against the bytes left before anything is allocated.
 */
#ifndef KP_CLIENT_TOPICS_H
#define KP_CLIENT_TOPICS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/kp_buf.h"
#include "proto/kp_createtopics.h"

#define KP_CLIENT_CREATETOPICS_VERSION_MAX 4
#define KP_DELETETOPICS_VERSION_MAX 4
#define KP_DELETETOPICS_FLEX_FROM 4
#define KP_CREATEPARTITIONS_VERSION_MAX 2
#define KP_CREATEPARTITIONS_FLEX_FROM 2

/* ------------------------------------------------------------ CreateTopics */

typedef struct {
    kp_str_t name;
    int16_t error_code;
    kp_str_t error_message; /* v1+, nullable; null before */
} kp_client_createtopics_result_t;

typedef struct {
    int32_t throttle_time_ms; /* v2+; 0 before */
    int32_t n_topics;
    kp_client_createtopics_result_t *topics; /* owned */
} kp_client_createtopics_response_t;

/* Encodes a request body of `version` (0..4).  A topic's num_partitions
 * and replication_factor of -1 (broker default) need v4.  Returns w->err,
 * or KP_BUF_INVALID for another version. */
int kp_client_createtopics_request_encode(kp_writer_t *w, int16_t version, const kp_createtopics_request_t *req);
/* Decodes a response body of `version` (0..4) that must fill r exactly.
 * Returns 0 or a KP_BUF_* error. */
int kp_client_createtopics_response_decode(kp_reader_t *r, int16_t version, kp_client_createtopics_response_t *resp);
void kp_client_createtopics_response_clear(kp_client_createtopics_response_t *resp);

/* ------------------------------------------------------------ DeleteTopics */

typedef struct {
    int32_t n_topic_names;
    const kp_str_t *topic_names;
    int32_t timeout_ms;
} kp_client_deletetopics_request_t;

typedef struct {
    kp_str_t name;
    int16_t error_code;
} kp_client_deletetopics_result_t;

typedef struct {
    int32_t throttle_time_ms; /* v1+; 0 before */
    int32_t n_responses;
    kp_client_deletetopics_result_t *responses; /* owned */
} kp_client_deletetopics_response_t;

/* As for CreateTopics, versions 0..4 (flexible from 4). */
int kp_client_deletetopics_request_encode(kp_writer_t *w, int16_t version,
                                          const kp_client_deletetopics_request_t *req);
int kp_client_deletetopics_response_decode(kp_reader_t *r, int16_t version, kp_client_deletetopics_response_t *resp);
void kp_client_deletetopics_response_clear(kp_client_deletetopics_response_t *resp);

/* -------------------------------------------------------- CreatePartitions */

typedef struct {
    int32_t n_broker_ids;
    const int32_t *broker_ids;
} kp_client_createpartitions_assignment_t;

typedef struct {
    kp_str_t name;
    int32_t count;         /* the new total number of partitions */
    int32_t n_assignments; /* -1: null, the controller places the new partitions */
    const kp_client_createpartitions_assignment_t *assignments; /* one per new partition */
} kp_client_createpartitions_topic_t;

typedef struct {
    int32_t n_topics;
    const kp_client_createpartitions_topic_t *topics;
    int32_t timeout_ms;
    bool validate_only;
} kp_client_createpartitions_request_t;

typedef struct {
    kp_str_t name;
    int16_t error_code;
    kp_str_t error_message; /* nullable */
} kp_client_createpartitions_result_t;

typedef struct {
    int32_t throttle_time_ms;
    int32_t n_results;
    kp_client_createpartitions_result_t *results; /* owned */
} kp_client_createpartitions_response_t;

/* As for CreateTopics, versions 0..2 (flexible from 2). */
int kp_client_createpartitions_request_encode(kp_writer_t *w, int16_t version,
                                              const kp_client_createpartitions_request_t *req);
int kp_client_createpartitions_response_decode(kp_reader_t *r, int16_t version,
                                               kp_client_createpartitions_response_t *resp);
void kp_client_createpartitions_response_clear(kp_client_createpartitions_response_t *resp);

#endif
