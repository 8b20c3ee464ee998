/*
 * kp_offsets.h - OffsetCommit (key 8) and OffsetFetch (key 9), the two APIs
 * a consumer uses to store and read back its positions (group-protocol.md
 * 2.6, 2.7, 6.1, 6.2).  The handled versions are the non-flexible ones
 * kbroker advertises first: OffsetCommit 0-7 and OffsetFetch 0-5 (flexible
 * from 8 and 6); the codecs go through the *_flex primitives already, so
 * the first flexible versions (the same fields as 7 and 5) only have to be
 * let in.
 *
 * OffsetCommit is broker side only (request decode, response encode).
 * OffsetFetch has both sides: the broker's, and the client's (request
 * encode, response decode) for the command-line admin tool.  Decoded
 * requests and responses own their arrays (allocated only after the count
 * was checked against the bytes left) and borrow every string from the
 * buffer they were read from; the *_clear() functions free the arrays.
 * Structs passed to an encoder are only read.
 */
#ifndef KP_OFFSETS_H
#define KP_OFFSETS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_OFFSETCOMMIT_VERSION_MAX 7
#define KP_OFFSETCOMMIT_FLEX_FROM 8
#define KP_OFFSETFETCH_VERSION_MAX 5
#define KP_OFFSETFETCH_FLEX_FROM 6

/* The "absent" values the decoders fill in for fields a version lacks, and
 * what clients send for "none": no generation (a commit outside group
 * management), no leader epoch, broker time, broker retention, and the
 * offset OffsetFetch answers when nothing is committed. */
#define KP_NO_GENERATION (-1)
#define KP_NO_LEADER_EPOCH (-1)
#define KP_OFFSETCOMMIT_BROKER_TIME (-1)
#define KP_OFFSETCOMMIT_DEFAULT_RETENTION (-1)
#define KP_NO_COMMITTED_OFFSET (-1)

/* ------------------------------------------------------------ OffsetCommit */

typedef struct {
    int32_t partition_index;
    int64_t committed_offset;       /* not validated (Kafka does not either) */
    int32_t committed_leader_epoch; /* v6+; -1 before */
    int64_t commit_timestamp;       /* v1 only; -1 otherwise */
    kp_str_t committed_metadata;    /* nullable; null is stored as "" */
} kp_offsetcommit_request_partition_t;

typedef struct {
    kp_str_t name;
    int32_t n_partitions;
    kp_offsetcommit_request_partition_t *partitions; /* owned by the request */
} kp_offsetcommit_request_topic_t;

typedef struct {
    kp_str_t group_id;          /* "" is accepted */
    int32_t generation_id;      /* v1+; -1 before */
    kp_str_t member_id;         /* v1+; "" before */
    kp_str_t group_instance_id; /* v7+, nullable; null before */
    int64_t retention_time_ms;  /* v2-4 only; -1 otherwise */
    int32_t n_topics;
    kp_offsetcommit_request_topic_t *topics; /* owned: kp_offsetcommit_request_clear() */
} kp_offsetcommit_request_t;

typedef struct {
    int32_t partition_index;
    int16_t error_code;
} kp_offsetcommit_response_partition_t;

typedef struct {
    kp_str_t name;
    int32_t n_partitions;
    const kp_offsetcommit_response_partition_t *partitions;
} kp_offsetcommit_response_topic_t;

/* Every pointer is borrowed; the struct owns nothing. */
typedef struct {
    int32_t throttle_time_ms; /* v3+ */
    int32_t n_topics;
    const kp_offsetcommit_response_topic_t *topics;
} kp_offsetcommit_response_t;

/* Decodes a request body of `version` (0..7) that must fill r exactly.
 * Release req with kp_offsetcommit_request_clear() whatever the result.
 * Returns 0 or a KP_BUF_* error (KP_BUF_INVALID for another version). */
int kp_offsetcommit_request_decode(kp_reader_t *r, int16_t version, kp_offsetcommit_request_t *req);
void kp_offsetcommit_request_clear(kp_offsetcommit_request_t *req);

/* Encodes a response body of `version` (0..7).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..7). */
int kp_offsetcommit_response_encode(kp_writer_t *w, int16_t version, const kp_offsetcommit_response_t *resp);

/* ------------------------------------------------------------- OffsetFetch */

typedef struct {
    kp_str_t name;
    int32_t n_partition_indexes;
    int32_t *partition_indexes; /* owned when decoded */
} kp_offsetfetch_request_topic_t;

typedef struct {
    kp_str_t group_id;
    /* v2+: a null topic array asks for every partition the group has an
     * offset for; an empty array (n_topics 0, topics_null false) asks for
     * none.  Versions 0-1 cannot say null. */
    bool topics_null;
    int32_t n_topics;
    kp_offsetfetch_request_topic_t *topics; /* owned when decoded: kp_offsetfetch_request_clear() */
} kp_offsetfetch_request_t;

typedef struct {
    int32_t partition_index;
    int64_t committed_offset;       /* -1 when nothing is committed */
    int32_t committed_leader_epoch; /* v5+; -1 when unknown (and before v5) */
    kp_str_t metadata;              /* nullable; "" when none */
    int16_t error_code;
} kp_offsetfetch_response_partition_t;

typedef struct {
    kp_str_t name;
    int32_t n_partitions;
    kp_offsetfetch_response_partition_t *partitions; /* owned when decoded */
} kp_offsetfetch_response_topic_t;

/* The broker fills it with borrowed pointers; kp_offsetfetch_response_decode
 * allocates the arrays (kp_offsetfetch_response_clear() frees them). */
typedef struct {
    int32_t throttle_time_ms; /* v3+; 0 before */
    int32_t n_topics;
    kp_offsetfetch_response_topic_t *topics;
    /* v2+, written after the topics.  Versions 0-1 have no such field: the
     * broker must repeat a group-level error in every partition instead,
     * and this one is not written (decoded as 0). */
    int16_t error_code;
} kp_offsetfetch_response_t;

/* Broker side.  Decodes a request body of `version` (0..5) that must fill r
 * exactly; release req with kp_offsetfetch_request_clear() whatever the
 * result.  Returns 0 or a KP_BUF_* error. */
int kp_offsetfetch_request_decode(kp_reader_t *r, int16_t version, kp_offsetfetch_request_t *req);
void kp_offsetfetch_request_clear(kp_offsetfetch_request_t *req);
/* Encodes a response body of `version` (0..5).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..5). */
int kp_offsetfetch_response_encode(kp_writer_t *w, int16_t version, const kp_offsetfetch_response_t *resp);

/* Client side.  Encodes a request body; KP_BUF_INVALID for a version
 * outside 0..5 or for topics_null below v2.  Returns w->err otherwise. */
int kp_offsetfetch_request_encode(kp_writer_t *w, int16_t version, const kp_offsetfetch_request_t *req);
/* Decodes a response body of `version` (0..5) that must fill r exactly;
 * release resp with kp_offsetfetch_response_clear() whatever the result.
 * Returns 0 or a KP_BUF_* error. */
int kp_offsetfetch_response_decode(kp_reader_t *r, int16_t version, kp_offsetfetch_response_t *resp);
void kp_offsetfetch_response_clear(kp_offsetfetch_response_t *resp);

#endif
