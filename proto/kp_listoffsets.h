/*
 * kp_listoffsets.h - ListOffsets (key 2) request and response, versions
 * 0-3 (wire-protocol.md 4.5).  Flexible versions start at 6.
 *
 * v0 is the "offsets before" form: the request carries max_num_offsets and
 * the response a descending old_style_offsets array instead of one
 * timestamp/offset pair (librdkafka 1.7.0 still sends it for offset resets).
 *
 * Both sides: the broker's (request decode, response encode) and the
 * client's (request encode, response decode) for the admin tool's Kafka
 * client, which asks leaders for their log end offsets.  The response
 * structs point at const arrays because the broker lends them; a decoded
 * response owns those arrays instead (kp_listoffsets_response_clear()).
 */
#ifndef KP_LISTOFFSETS_H
#define KP_LISTOFFSETS_H

#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_LISTOFFSETS_VERSION_MAX 3
#define KP_LISTOFFSETS_FLEX_FROM 6

/* Special timestamps of a request partition. */
#define KP_LISTOFFSETS_LATEST (-1)
#define KP_LISTOFFSETS_EARLIEST (-2)

/* replica_id of a debugging consumer, which may read up to the log end. */
#define KP_DEBUGGING_REPLICA_ID (-2)

typedef struct {
    int32_t partition_index;
    int32_t current_leader_epoch; /* v4+; -1 (do not check) here */
    int64_t timestamp;
    int32_t max_num_offsets; /* v0 only; 1 otherwise */
} kp_listoffsets_request_partition_t;

typedef struct {
    kp_str_t name; /* borrowed */
    int32_t n_partitions;
    kp_listoffsets_request_partition_t *partitions; /* owned by the request */
} kp_listoffsets_request_topic_t;

typedef struct {
    int32_t replica_id;
    int8_t isolation_level; /* v2+; 0 (READ_UNCOMMITTED) before */
    int32_t n_topics;
    kp_listoffsets_request_topic_t *topics; /* owned: kp_listoffsets_request_clear() */
} kp_listoffsets_request_t;

typedef struct {
    int32_t partition_index;
    int16_t error_code;
    int32_t n_old_style_offsets; /* v0 only */
    const int64_t *old_style_offsets;
    int64_t timestamp; /* v1+; -1 for the special values or when not found */
    int64_t offset;    /* v1+; -1 when not found */
} kp_listoffsets_response_partition_t;

typedef struct {
    kp_str_t name;
    int32_t n_partitions;
    const kp_listoffsets_response_partition_t *partitions;
} kp_listoffsets_response_topic_t;

/* Filled by the broker, every pointer is borrowed; decoded, the arrays are
 * owned (kp_listoffsets_response_clear()). */
typedef struct {
    int32_t throttle_time_ms; /* v2+ */
    int32_t n_topics;
    const kp_listoffsets_response_topic_t *topics;
} kp_listoffsets_response_t;

/* Decodes a request body of `version` (0..3) that must fill r exactly; the
 * arrays are allocated after their counts have been checked against the
 * bytes left.  Release with kp_listoffsets_request_clear() whatever the
 * result.  Returns 0 or a KP_BUF_* error. */
int kp_listoffsets_request_decode(kp_reader_t *r, int16_t version, kp_listoffsets_request_t *req);
void kp_listoffsets_request_clear(kp_listoffsets_request_t *req);

/* Encodes a response body of `version` (0..3).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..3). */
int kp_listoffsets_response_encode(kp_writer_t *w, int16_t version,
                                   const kp_listoffsets_response_t *resp);

/* Client side.  Encodes a request body of `version` (0..3): max_num_offsets
 * only in v0, isolation_level from v2 (below v2 only READ_UNCOMMITTED, 0,
 * can be asked for; anything else is KP_BUF_INVALID).  Returns w->err
 * otherwise. */
int kp_listoffsets_request_encode(kp_writer_t *w, int16_t version, const kp_listoffsets_request_t *req);
/* Client side.  Decodes a response body of `version` (0..3) that must fill
 * r exactly; fields a version lacks read as -1 (v0's timestamp and offset)
 * or empty (v1+'s old-style offsets).  Release resp with
 * kp_listoffsets_response_clear() whatever the result (and only a decoded
 * one).  Returns 0 or a KP_BUF_* error. */
int kp_listoffsets_response_decode(kp_reader_t *r, int16_t version, kp_listoffsets_response_t *resp);
void kp_listoffsets_response_clear(kp_listoffsets_response_t *resp);

#endif
