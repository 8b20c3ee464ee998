/*
 * kp_metadata.h - Metadata (key 3) request and response, versions 0-6
 * (wire-protocol.md 4.2).  Flexible versions start at 9, so every version
 * here uses the classic encodings; the codec already goes through the
 * *_flex primitives so later versions only add fields.
 *
 * Topic selection differs by version: in v0 an empty topic array means "all
 * topics"; from v1 a null array means all and an empty one means none.
 * kp_metadata_request_all_topics() applies that rule so handlers never
 * repeat it.
 *
 * Both sides: the broker's (request decode, response encode) and the
 * client's (request encode, response decode) for the admin tool's Kafka
 * client.  The response structs point at const arrays because the broker
 * fills them from its arena; a decoded response owns those arrays instead
 * (kp_metadata_response_clear() frees them) and borrows its strings from
 * the buffer it was read from.
 */
#ifndef KP_METADATA_H
#define KP_METADATA_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_METADATA_VERSION_MAX 6
#define KP_METADATA_FLEX_FROM 9

typedef struct {
    kp_str_t name; /* borrowed from the request */
} kp_metadata_request_topic_t;

typedef struct {
    int32_t n_topics;                    /* -1 = null (v1+) */
    kp_metadata_request_topic_t *topics; /* owned: kp_metadata_request_clear() */
    bool allow_auto_topic_creation;      /* v4+; v0-v3 behave as true */
} kp_metadata_request_t;

typedef struct {
    int32_t node_id;
    kp_str_t host;
    int32_t port;
    kp_str_t rack; /* v1+; null when the broker has no rack */
} kp_metadata_response_broker_t;

typedef struct {
    int16_t error_code;
    int32_t partition_index;
    int32_t leader_id; /* -1 = no leader */
    int32_t n_replica_nodes;
    const int32_t *replica_nodes;
    int32_t n_isr_nodes;
    const int32_t *isr_nodes;
    int32_t n_offline_replicas; /* v5+ */
    const int32_t *offline_replicas;
} kp_metadata_response_partition_t;

typedef struct {
    int16_t error_code;
    kp_str_t name;
    bool is_internal; /* v1+ */
    int32_t n_partitions;
    const kp_metadata_response_partition_t *partitions;
} kp_metadata_response_topic_t;

/* Filled by the broker, every pointer is borrowed; decoded, the arrays are
 * owned (kp_metadata_response_clear()). */
typedef struct {
    int32_t throttle_time_ms; /* v3+ */
    int32_t n_brokers;
    const kp_metadata_response_broker_t *brokers;
    kp_str_t cluster_id;   /* v2+; nullable */
    int32_t controller_id; /* v1+; -1 = none */
    int32_t n_topics;
    const kp_metadata_response_topic_t *topics;
} kp_metadata_response_t;

/* Decodes a request body of `version` (0..6) that must fill r exactly.  The
 * topic array is allocated (after its count has been checked against the
 * bytes left); release it with kp_metadata_request_clear() whatever the
 * result.  Returns 0 or a KP_BUF_* error. */
int kp_metadata_request_decode(kp_reader_t *r, int16_t version, kp_metadata_request_t *req);
void kp_metadata_request_clear(kp_metadata_request_t *req);

/* True when the request asks for every topic (v0: empty array; v1+: null). */
bool kp_metadata_request_all_topics(const kp_metadata_request_t *req, int16_t version);

/* Encodes a response body of `version` (0..6).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..6). */
int kp_metadata_response_encode(kp_writer_t *w, int16_t version,
                                const kp_metadata_response_t *resp);

/* Client side.  Encodes a request body of `version` (0..6).  n_topics -1
 * asks for every topic (v1+; v0 says that with an empty array, and cannot
 * say null), 0 for none.  Versions below 4 cannot carry
 * allow_auto_topic_creation = false (the broker would create the topics),
 * so such a request is KP_BUF_INVALID too.  Returns w->err otherwise. */
int kp_metadata_request_encode(kp_writer_t *w, int16_t version, const kp_metadata_request_t *req);
/* Client side.  Decodes a response body of `version` (0..6) that must fill
 * r exactly; every array is allocated after its count was checked against
 * the bytes left.  Release resp with kp_metadata_response_clear() whatever
 * the result (and only a decoded one).  Returns 0 or a KP_BUF_* error. */
int kp_metadata_response_decode(kp_reader_t *r, int16_t version, kp_metadata_response_t *resp);
void kp_metadata_response_clear(kp_metadata_response_t *resp);

#endif
