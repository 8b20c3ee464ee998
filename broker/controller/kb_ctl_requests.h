/*
 * kb_ctl_requests.h - the controller's LeaderAndIsr, UpdateMetadata and
 * StopReplica requests (zk-and-replication.md 2.8; proto/kbroker_rpc.proto), built
 * from what the controller knows: its id and epoch, the cluster view (every
 * partition's assignment and state as ZooKeeper holds it, the live brokers
 * with their endpoints and epochs) and the partitions a queue names.
 *
 * A request is built just before it is sent, from the view as it is then,
 * so a partition queued several times goes out once with its latest state
 * (the coalescing kb_ctl_queue.h relies on).  Everything a request's
 * protobuf-c structs need is carved from an arena the caller resets after
 * the send; strings and int32 arrays point into the view, which is valid
 * until control returns to the loop, and the transport packs the message
 * before that (kb_ctl_queue.h).  Nothing is allocated per partition.
 */
#ifndef KB_CTL_REQUESTS_H
#define KB_CTL_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/controller/kb_ctl_keys.h"
#include "coord/kc_view.h"
#include "proto/kbroker_rpc.pb-c.h"

/* ---- arena ---- */

typedef struct kb_ctl_chunk kb_ctl_chunk_t;

/* A zeroed arena is empty and valid. */
typedef struct kb_ctl_arena {
    kb_ctl_chunk_t *chunks; /* newest first */
} kb_ctl_arena_t;

/* size bytes aligned for any member of the generated structs, zeroed;
 * NULL when out of memory. */
void *kb_ctl_arena_alloc(kb_ctl_arena_t *a, size_t size);
/* Frees everything but one chunk, kept for the next request. */
void kb_ctl_arena_reset(kb_ctl_arena_t *a);
void kb_ctl_arena_clear(kb_ctl_arena_t *a);

/* ---- what a request is about ---- */

/* A key's flag in a LeaderAndIsr batch: the replica is new (is_new). */
#define KB_CTL_F_NEW 1u
/* A key's flag in a StopReplica batch: delete the replica's log too
 * (delete_partition).  A stop and a delete of one partition merge into
 * the delete, as Kafka's request batch merges them. */
#define KB_CTL_F_DELETE 2u

typedef enum kb_ctl_kind { KB_CTL_LEADER_AND_ISR, KB_CTL_UPDATE_METADATA, KB_CTL_STOP_REPLICA } kb_ctl_kind_t;

/* One request's worth of partitions for one broker. */
typedef struct kb_ctl_batch {
    kb_ctl_kind_t kind;
    int32_t broker_id;    /* the recipient */
    int64_t broker_epoch; /* its registration's czxid */
    const kb_ctl_key_t *keys;
    const uint8_t *flags; /* KB_CTL_F_* per key */
    size_t n;
} kb_ctl_batch_t;

/* The controller's side of every request.  deleting(topic, arg) says
 * whether a topic is queued for deletion (NULL: none is): its partitions
 * get no LeaderAndIsr, UpdateMetadata marks them with leader -2 so that
 * brokers drop the topic from their caches, and StopReplica carries the
 * leader epoch -2 (Kafka's LeaderAndIsr.LeaderDuringDelete and
 * EpochDuringDelete). */
typedef struct kb_ctl_source {
    const kc_view_t *view;
    const kb_ctl_names_t *names;
    int32_t controller_id;
    int32_t controller_epoch;
    bool (*deleting)(const char *topic, void *arg);
    void *deleting_arg;
} kb_ctl_source_t;

/* Kafka's sentinels for a topic being deleted. */
#define KB_CTL_LEADER_DURING_DELETE (-2)
#define KB_CTL_EPOCH_DURING_DELETE (-2)
#define KB_CTL_NO_EPOCH (-1)

/*
 * LeaderAndIsr for the recipient: the batch's partitions that still exist,
 * have a state, list the recipient among their replicas and whose topic
 * is not being deleted, each with its
 * state (controller epoch, leader, leader epoch, ISR, zkVersion), replicas
 * and is_new; live_leaders names each live leader among them once, at its
 * inter-broker (kbroker RPC) endpoint (a leader publishing none is left
 * out: nobody could fetch from it).  Returns 0 with the request in *out,
 * or with *out NULL when no partition qualifies (nothing to send); -1 when
 * out of memory (not logged: the queue retries and logs once).
 */
int kb_ctl_build_leader_and_isr(const kb_ctl_source_t *src, const kb_ctl_batch_t *b, kb_ctl_arena_t *a,
                                Kbroker__Rpc__LeaderAndIsrRequest **out);

/*
 * UpdateMetadata: the batch's partitions that exist and have a state (with
 * their offline replicas: those on brokers that are not live; leader -2
 * for a topic being deleted), and every
 * live broker with its endpoints and rack.  Returns 0 with the request in
 * *out (always one: the live broker list is news), or -1 when out of memory
 * (not logged).
 */
int kb_ctl_build_update_metadata(const kb_ctl_source_t *src, const kb_ctl_batch_t *b, kb_ctl_arena_t *a,
                                 Kbroker__Rpc__UpdateMetadataRequest **out);

/*
 * StopReplica: every partition of the batch whose topic name the names
 * table still has (whether or not the view holds the topic: a deleted
 * topic's replicas must stop after its znode is gone), each with
 * delete_partition from KB_CTL_F_DELETE and the leader epoch Kafka 2.6
 * sends: -2 for a topic queued for deletion, else the partition's current
 * leader epoch, or -1 when it has no state.  Returns 0 with the request in
 * *out (NULL when no partition qualifies), or -1 when out of memory.
 */
int kb_ctl_build_stop_replica(const kb_ctl_source_t *src, const kb_ctl_batch_t *b, kb_ctl_arena_t *a,
                              Kbroker__Rpc__StopReplicaRequest **out);

/* Kafka's SecurityProtocol id of a protocol name (PLAINTEXT 0, SSL 1,
 * SASL_PLAINTEXT 2, SASL_SSL 3); PLAINTEXT for NULL or an unknown name. */
int32_t kb_ctl_security_protocol_id(const char *name);

#endif
