/*
 * kp_reassign.h - AlterPartitionReassignments (key 45) and
 * ListPartitionReassignments (key 46), version 0 of each, flexible from 0
 * (wire-protocol.md section 2; Kafka's AlterPartitionReassignmentsRequest,
 * ...Response, ListPartitionReassignmentsRequest and ...Response schemas,
 * KIP-455).  Pure byte work: what the controller does with them is
 * broker/controller/kb_ctl_reassign.c.
 */
#ifndef KP_REASSIGN_H
#define KP_REASSIGN_H

#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_ALTERREASSIGN_VERSION_MAX 0
#define KP_LISTREASSIGN_VERSION_MAX 0
#define KP_REASSIGN_FLEX_FROM 0

/* ---- AlterPartitionReassignments ---- */

typedef struct {
    int32_t partition_index;
    int32_t n_replicas; /* -1: null, cancel the reassignment under way */
    int32_t *replicas;  /* owned by the request */
} kp_alterreassign_request_partition_t;

typedef struct {
    kp_str_t name; /* borrowed */
    int32_t n_partitions;
    kp_alterreassign_request_partition_t *partitions; /* owned */
} kp_alterreassign_request_topic_t;

typedef struct {
    int32_t timeout_ms;
    int32_t n_topics;
    kp_alterreassign_request_topic_t *topics; /* owned: kp_alterreassign_request_clear() */
} kp_alterreassign_request_t;

typedef struct {
    int32_t partition_index;
    int16_t error_code;
    kp_str_t error_message; /* nullable */
} kp_alterreassign_response_partition_t;

typedef struct {
    kp_str_t name;
    int32_t n_partitions;
    const kp_alterreassign_response_partition_t *partitions;
} kp_alterreassign_response_topic_t;

/* Every pointer is borrowed; the struct owns nothing. */
typedef struct {
    int32_t throttle_time_ms;
    int16_t error_code;
    kp_str_t error_message; /* nullable */
    int32_t n_responses;
    const kp_alterreassign_response_topic_t *responses;
} kp_alterreassign_response_t;

/* Decodes a request body of `version` (0) that must fill r exactly; every
 * array is allocated after its count has been checked against the bytes
 * left.  Release with kp_alterreassign_request_clear() whatever the
 * result.  Returns 0 or a KP_BUF_* error. */
int kp_alterreassign_request_decode(kp_reader_t *r, int16_t version, kp_alterreassign_request_t *req);
void kp_alterreassign_request_clear(kp_alterreassign_request_t *req);
/* Returns w->err (KP_BUF_INVALID for a version other than 0). */
int kp_alterreassign_response_encode(kp_writer_t *w, int16_t version, const kp_alterreassign_response_t *resp);

/* ---- ListPartitionReassignments ---- */

typedef struct {
    kp_str_t name; /* borrowed */
    int32_t n_partition_indexes;
    int32_t *partition_indexes; /* owned */
} kp_listreassign_request_topic_t;

typedef struct {
    int32_t timeout_ms;
    int32_t n_topics; /* -1: null, every ongoing reassignment */
    kp_listreassign_request_topic_t *topics; /* owned: kp_listreassign_request_clear() */
} kp_listreassign_request_t;

typedef struct {
    int32_t partition_index;
    int32_t n_replicas;
    const int32_t *replicas;
    int32_t n_adding;
    const int32_t *adding;
    int32_t n_removing;
    const int32_t *removing;
} kp_listreassign_response_partition_t;

typedef struct {
    kp_str_t name;
    int32_t n_partitions;
    const kp_listreassign_response_partition_t *partitions;
} kp_listreassign_response_topic_t;

/* Every pointer is borrowed. */
typedef struct {
    int32_t throttle_time_ms;
    int16_t error_code;
    kp_str_t error_message; /* nullable */
    int32_t n_topics;
    const kp_listreassign_response_topic_t *topics;
} kp_listreassign_response_t;

int kp_listreassign_request_decode(kp_reader_t *r, int16_t version, kp_listreassign_request_t *req);
void kp_listreassign_request_clear(kp_listreassign_request_t *req);
int kp_listreassign_response_encode(kp_writer_t *w, int16_t version, const kp_listreassign_response_t *resp);

#endif
