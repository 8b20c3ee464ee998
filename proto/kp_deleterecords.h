/*
 * kp_deleterecords.h - DeleteRecords (key 21) request and response,
 * versions 0-2 (wire-protocol.md 4.9; Kafka's DeleteRecordsRequest and
 * DeleteRecordsResponse schemas).  Version 1 only changes throttling
 * behaviour; version 2 is the first flexible one (compact strings and
 * arrays, tagged-field sections).  The broker advertises 0-1.
 */
#ifndef KP_DELETERECORDS_H
#define KP_DELETERECORDS_H

#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_DELETERECORDS_VERSION_MAX 2
#define KP_DELETERECORDS_FLEX_FROM 2

/* offset of a request partition meaning "up to the high watermark". */
#define KP_DELETERECORDS_HIGH_WATERMARK (-1)

typedef struct {
    int32_t partition_index;
    int64_t offset; /* delete records below this offset; -1 = high watermark */
} kp_deleterecords_request_partition_t;

typedef struct {
    kp_str_t name; /* borrowed */
    int32_t n_partitions;
    kp_deleterecords_request_partition_t *partitions; /* owned by the request */
} kp_deleterecords_request_topic_t;

typedef struct {
    int32_t n_topics;
    kp_deleterecords_request_topic_t *topics; /* owned: kp_deleterecords_request_clear() */
    int32_t timeout_ms;
} kp_deleterecords_request_t;

typedef struct {
    int32_t partition_index;
    int64_t low_watermark; /* the resulting log start offset, -1 on error */
    int16_t error_code;
} kp_deleterecords_response_partition_t;

typedef struct {
    kp_str_t name;
    int32_t n_partitions;
    const kp_deleterecords_response_partition_t *partitions;
} kp_deleterecords_response_topic_t;

/* Every pointer is borrowed; the struct owns nothing. */
typedef struct {
    int32_t throttle_time_ms;
    int32_t n_topics;
    const kp_deleterecords_response_topic_t *topics;
} kp_deleterecords_response_t;

/* Decodes a request body of `version` (0..2) that must fill r exactly; the
 * arrays are allocated after their counts have been checked against the
 * bytes left.  Release with kp_deleterecords_request_clear() whatever the
 * result.  Returns 0 or a KP_BUF_* error. */
int kp_deleterecords_request_decode(kp_reader_t *r, int16_t version, kp_deleterecords_request_t *req);
void kp_deleterecords_request_clear(kp_deleterecords_request_t *req);

/* Encodes a response body of `version` (0..2).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..2). */
int kp_deleterecords_response_encode(kp_writer_t *w, int16_t version, const kp_deleterecords_response_t *resp);

#endif
