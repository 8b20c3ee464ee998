/*
 * kp_client_reassign.h - the client side of AlterPartitionReassignments
 * (key 45) and ListPartitionReassignments (key 46), version 0 of each,
 * flexible from 0: what kafka-reassign-partitions.sh --bootstrap-server
 * --cancel and kafka-topics.sh --describe --bootstrap-server send and
 * read, for the admin tool's Kafka client (client/).
 *
 * The requests reuse the broker side's structs (kp_reassign.h), only read
 * here.  The answers get structs of their own, kp_client_*, that own
 * their arrays (release with the *_clear function whatever the result);
 * strings stay borrowed slices of the answer.  Array counts are checked
 * against the bytes left before anything is allocated.
 */
#ifndef KP_CLIENT_REASSIGN_H
#define KP_CLIENT_REASSIGN_H

#include <stdint.h>

#include "proto/kp_buf.h"
#include "proto/kp_reassign.h"

/* ---- AlterPartitionReassignments ---- */

typedef struct {
    int32_t partition_index;
    int16_t error_code;
    kp_str_t error_message; /* nullable */
} kp_client_alterreassign_partition_t;

typedef struct {
    kp_str_t name;
    int32_t n_partitions;
    kp_client_alterreassign_partition_t *partitions; /* owned */
} kp_client_alterreassign_topic_t;

typedef struct {
    int32_t throttle_time_ms;
    int16_t error_code;     /* for the whole request (NOT_CONTROLLER, ...) */
    kp_str_t error_message; /* nullable */
    int32_t n_responses;
    kp_client_alterreassign_topic_t *responses; /* owned */
} kp_client_alterreassign_response_t;

/* Encodes a request body of version 0 (a partition's n_replicas < 0 is
 * the null list that cancels).  Returns w->err, or KP_BUF_INVALID for
 * another version. */
int kp_client_alterreassign_request_encode(kp_writer_t *w, int16_t version, const kp_alterreassign_request_t *req);
/* Decodes a response body of version 0 that must fill r exactly.  Returns
 * 0 or a KP_BUF_* error. */
int kp_client_alterreassign_response_decode(kp_reader_t *r, int16_t version,
                                            kp_client_alterreassign_response_t *resp);
void kp_client_alterreassign_response_clear(kp_client_alterreassign_response_t *resp);

/* ---- ListPartitionReassignments ---- */

typedef struct {
    int32_t partition_index;
    int32_t n_replicas;
    int32_t *replicas; /* owned, as the other two */
    int32_t n_adding;
    int32_t *adding;
    int32_t n_removing;
    int32_t *removing;
} kp_client_listreassign_partition_t;

typedef struct {
    kp_str_t name;
    int32_t n_partitions;
    kp_client_listreassign_partition_t *partitions; /* owned */
} kp_client_listreassign_topic_t;

typedef struct {
    int32_t throttle_time_ms;
    int16_t error_code;
    kp_str_t error_message; /* nullable */
    int32_t n_topics;
    kp_client_listreassign_topic_t *topics; /* owned */
} kp_client_listreassign_response_t;

/* As for AlterPartitionReassignments; a request's n_topics < 0 asks for
 * every reassignment under way. */
int kp_client_listreassign_request_encode(kp_writer_t *w, int16_t version, const kp_listreassign_request_t *req);
int kp_client_listreassign_response_decode(kp_reader_t *r, int16_t version, kp_client_listreassign_response_t *resp);
void kp_client_listreassign_response_clear(kp_client_listreassign_response_t *resp);

#endif
