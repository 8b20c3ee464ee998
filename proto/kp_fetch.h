/*
 * kp_fetch.h - Fetch (key 1) request and response, versions 0-11
 * (wire-protocol.md 4.4).  Flexible versions start at 12; the codec goes
 * through the *_flex primitives so they only add fields.  The broker
 * handles 4-11 (no down-conversion to magic 0/1); 0-3 decode and encode
 * here so that the codec has no holes.
 *
 * Record data is not copied into the response: the broker sends it from the
 * segment files with sendfile.  A response partition whose records.ptr is
 * NULL but whose records.len is positive gets only its length prefix
 * written; the encoder reports where in the writer its bytes belong, and
 * the caller sends the writer's bytes and the record ranges interleaved in
 * that order.  The frame size is the writer's length plus those ranges.
 *
 * Incremental fetch sessions (KIP-227) are not implemented: the forgotten
 * topics of a request are checked for well-formedness and counted only.
 */
#ifndef KP_FETCH_H
#define KP_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_FETCH_VERSION_MAX 11
#define KP_FETCH_FLEX_FROM 12

#define KP_READ_UNCOMMITTED 0
#define KP_READ_COMMITTED 1

typedef struct {
    int32_t partition;
    int32_t current_leader_epoch; /* v9+; -1 (do not check) before */
    int64_t fetch_offset;
    int64_t log_start_offset; /* v5+; -1 before (followers only) */
    int32_t partition_max_bytes;
} kp_fetch_request_partition_t;

typedef struct {
    kp_str_t topic; /* borrowed */
    int32_t n_partitions;
    kp_fetch_request_partition_t *partitions; /* owned by the request */
} kp_fetch_request_topic_t;

typedef struct {
    int32_t replica_id; /* -1 consumer, -2 debug consumer, >= 0 follower */
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;       /* v3+; INT32_MAX before */
    int8_t isolation_level;  /* v4+; KP_READ_UNCOMMITTED before */
    int32_t session_id;      /* v7+; 0 before */
    int32_t session_epoch;   /* v7+; -1 before */
    int32_t n_topics;
    kp_fetch_request_topic_t *topics; /* owned: kp_fetch_request_clear() */
    int32_t n_forgotten_topics_data; /* v7+; the entries are not kept */
    kp_str_t rack_id;                /* v11+; "" before */
} kp_fetch_request_t;

typedef struct {
    int64_t producer_id;
    int64_t first_offset;
} kp_fetch_aborted_transaction_t;

typedef struct {
    int32_t partition_index;
    int16_t error_code;
    int64_t high_watermark;     /* -1 on error */
    int64_t last_stable_offset; /* v4+; -1 on error */
    int64_t log_start_offset;   /* v5+; -1 on error */
    int32_t n_aborted_transactions; /* v4+; -1 = null (READ_UNCOMMITTED) */
    const kp_fetch_aborted_transaction_t *aborted_transactions;
    int32_t preferred_read_replica; /* v11+; -1 = fetch from the leader */
    /* len >= 0 always (never null on the wire).  ptr NULL with len > 0: the
     * caller sends the len bytes itself (see the top of this file). */
    kp_bytes_t records;
} kp_fetch_response_partition_t;

typedef struct {
    kp_str_t topic;
    int32_t n_partitions;
    const kp_fetch_response_partition_t *partitions;
} kp_fetch_response_topic_t;

/* Every pointer is borrowed; the struct owns nothing. */
typedef struct {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;       /* v7+; top-level (session) error */
    int32_t session_id;       /* v7+; 0 = no session */
    int32_t n_responses;
    const kp_fetch_response_topic_t *responses;
} kp_fetch_response_t;

/* Decodes a request body of `version` (0..11) that must fill r exactly.
 * The topic and partition arrays are allocated after their counts have been
 * checked against the bytes left; release them with kp_fetch_request_clear()
 * whatever the result.  Returns 0 or a KP_BUF_* error. */
int kp_fetch_request_decode(kp_reader_t *r, int16_t version, kp_fetch_request_t *req);
void kp_fetch_request_clear(kp_fetch_request_t *req);

/* Encodes a response body of `version` (0..11).  records_pos, when not
 * NULL, has one slot per response partition (counted across topics, in
 * order) and receives the offset in w at which that partition's record
 * bytes start - right after their length prefix.  For out-of-band records
 * (ptr NULL, len > 0) that is where the caller must insert them.  Returns
 * w->err (or KP_BUF_INVALID for a version outside 0..11). */
int kp_fetch_response_encode(kp_writer_t *w, int16_t version, const kp_fetch_response_t *resp,
                             size_t *records_pos);

/* The number of bytes of out-of-band records in resp (what the frame holds
 * beyond the encoded bytes). */
size_t kp_fetch_response_external_bytes(const kp_fetch_response_t *resp);

#endif
