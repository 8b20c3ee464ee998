/*
 * kp_electleaders.h - ElectLeaders (key 43) request and response, versions
 * 0-2 (Kafka 2.6's ElectLeadersRequest and ElectLeadersResponse schemas,
 * KIP-183 and KIP-460): version 1 adds the election type to the request
 * and a top-level error code to the response; version 2 is the first
 * flexible one (compact strings and arrays, tagged-field sections).  A
 * null topic list asks for every partition.
 *
 * Both directions both ways: the broker decodes requests and encodes
 * responses, kbroker-admin (client/) encodes requests and decodes
 * responses.
 */
#ifndef KP_ELECTLEADERS_H
#define KP_ELECTLEADERS_H

#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_ELECTLEADERS_VERSION_MAX 2
#define KP_ELECTLEADERS_FLEX_FROM 2

/* election_type; v0 requests are PREFERRED. */
#define KP_ELECTION_PREFERRED 0
#define KP_ELECTION_UNCLEAN 1

typedef struct {
    kp_str_t topic; /* borrowed from the frame (decode) or the caller (encode) */
    int32_t n_partitions;
    int32_t *partitions; /* decode: owned by the request */
} kp_electleaders_request_topic_t;

typedef struct {
    int8_t election_type;
    int32_t n_topics; /* -1: null, every partition */
    kp_electleaders_request_topic_t *topics; /* decode: owned, kp_electleaders_request_clear() */
    int32_t timeout_ms;
} kp_electleaders_request_t;

typedef struct {
    int32_t partition_id;
    int16_t error_code;
    kp_str_t error_message; /* nullable */
} kp_electleaders_partition_result_t;

typedef struct {
    kp_str_t topic;
    int32_t n_partitions;
    kp_electleaders_partition_result_t *partitions;
} kp_electleaders_topic_result_t;

/* Encoding reads it; decoding fills it with arrays it allocates (the
 * strings are borrowed from the frame): kp_electleaders_response_clear(). */
typedef struct {
    int32_t throttle_time_ms;
    int16_t error_code; /* v1+ */
    int32_t n_topics;
    kp_electleaders_topic_result_t *topics;
} kp_electleaders_response_t;

/* Decodes a request body of `version` (0..2) that must fill r exactly;
 * arrays are allocated after their counts are checked against the bytes
 * left.  Release with kp_electleaders_request_clear() whatever the result.
 * Returns 0 or a KP_BUF_* error. */
int kp_electleaders_request_decode(kp_reader_t *r, int16_t version, kp_electleaders_request_t *req);
void kp_electleaders_request_clear(kp_electleaders_request_t *req);
/* Encodes a request (election_type is dropped below v1).  Returns w->err,
 * or KP_BUF_INVALID for a version outside 0..2. */
int kp_electleaders_request_encode(kp_writer_t *w, int16_t version, const kp_electleaders_request_t *req);

int kp_electleaders_response_encode(kp_writer_t *w, int16_t version, const kp_electleaders_response_t *resp);
/* Decodes a response body (as kp_electleaders_request_decode). */
int kp_electleaders_response_decode(kp_reader_t *r, int16_t version, kp_electleaders_response_t *resp);
void kp_electleaders_response_clear(kp_electleaders_response_t *resp);

#endif
