/*
 * kb_group.h - the consumer group coordinator (group-protocol.md 3-7), as
 * the API handlers and main.c see it.
 *
 * The coordinator of group G is the leader of partition p(G) of
 * __consumer_offsets (kp_group_partition).  This broker coordinates the
 * groups of the offsets partitions it leads: when it starts leading one it
 * loads the partition's records (group metadata and committed offsets)
 * and answers COORDINATOR_LOAD_IN_PROGRESS for its groups meanwhile; when
 * it stops, every group of that partition is dropped and its parked
 * requests are answered NOT_COORDINATOR.  Everything a group must keep
 * (committed offsets, the assignment of a Stable generation) is written
 * to that partition with acks=all before it is acknowledged, so the next
 * leader's load finds it: the memory here is a cache of the log.
 *
 * Requests that may have to wait (JoinGroup, SyncGroup, OffsetCommit) are
 * answered through a callback, possibly before the call returns.  The
 * strings and bytes of a request are borrowed for the call only; those of
 * a result for the callback only.  Error codes are Kafka's (kp_types.h).
 *
 * Lifetime: kb_coordinator_new before the listeners serve; it observes
 * the partitions' leadership (kb_replicas_observe_leadership).
 * kb_coordinator_shutdown answers every parked request (NOT_COORDINATOR)
 * while answers can still go out; kb_coordinator_free after the
 * connections are closed and before the replicas are freed.
 */
#ifndef KB_GROUP_H
#define KB_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/kb_config.h"
#include "proto/kp_buf.h"

struct event_base;
typedef struct kb_replicas kb_replicas_t;
typedef struct kb_metadata kb_metadata_t;
typedef struct kb_topic_creator kb_topic_creator_t;
typedef struct kb_worker kb_worker_t;
typedef struct kb_coordinator kb_coordinator_t;

#define KB_OFFSETS_TOPIC "__consumer_offsets"

typedef struct kb_coordinator_deps {
    struct event_base *base;
    const kb_config_t *cfg;
    kb_replicas_t *replicas;          /* the offsets partitions' logs and leadership */
    const kb_metadata_t *metadata;    /* topic existence and partition counts */
    kb_topic_creator_t *topic_creator; /* creates __consumer_offsets on first use; may be NULL */
    kb_worker_t *worker;              /* reads the log when loading; NULL: read on the loop */
} kb_coordinator_deps_t;

kb_coordinator_t *kb_coordinator_new(const kb_coordinator_deps_t *deps);
void kb_coordinator_shutdown(kb_coordinator_t *c);
void kb_coordinator_free(kb_coordinator_t *c);
/* The worker is stopped before the coordinator is freed: loads still
 * reading complete as cancelled, and no new one uses it. */
void kb_coordinator_set_worker(kb_coordinator_t *c, kb_worker_t *worker);

/* A topic was deleted (UpdateMetadata marked it -2 and the metadata cache
 * dropped it): the committed offsets of its partitions go from every group
 * coordinated here, each with a tombstone in __consumer_offsets (Kafka
 * 2.6's GroupCoordinator.handleDeletedPartitions), and an Empty group left
 * without offsets goes too (its group tombstone written). */
void kb_coordinator_topic_deleted(kb_coordinator_t *c, const char *topic);

/* ------------------------------------------------------ FindCoordinator */

/* Whether __consumer_offsets exists (in the metadata cache); when it does
 * not, its creation with the internal settings is started (spec 3.3). */
bool kb_coordinator_ensure_topic(kb_coordinator_t *c);
/* The offsets partition of group (its bytes as sent), or -1 with *error
 * COORDINATOR_NOT_AVAILABLE while __consumer_offsets does not exist (its
 * creation is then started, spec 3.3). */
int32_t kb_coordinator_partition_for(kb_coordinator_t *c, kp_str_t group, int16_t *error);

/* ------------------------------------------------------------ membership */

typedef struct kb_join_protocol {
    kp_str_t name;
    kp_bytes_t metadata;
} kb_join_protocol_t;

typedef struct kb_join_request {
    int16_t version; /* MEMBER_ID_REQUIRED from v4 */
    kp_str_t group_id, member_id, instance_id, protocol_type;
    kp_str_t client_id, client_host;
    int32_t session_timeout_ms, rebalance_timeout_ms;
    int32_t n_protocols;
    const kb_join_protocol_t *protocols;
} kb_join_request_t;

typedef struct kb_join_member {
    const char *member_id;
    const char *instance_id; /* NULL: none */
    kp_bytes_t metadata;     /* for the selected protocol */
} kb_join_member_t;

typedef struct kb_join_result {
    int16_t error_code;
    int32_t generation_id;     /* -1 on error */
    const char *protocol_name; /* "" on error */
    const char *leader;        /* "" on error */
    const char *member_id;     /* the caller's, "" when none */
    int32_t n_members;         /* the leader's answer only */
    const kb_join_member_t *members;
} kb_join_result_t;

typedef void (*kb_join_done_fn)(void *arg, const kb_join_result_t *res);
void kb_group_join(kb_coordinator_t *c, const kb_join_request_t *req, kb_join_done_fn done, void *arg);

typedef struct kb_sync_assignment {
    kp_str_t member_id;
    kp_bytes_t assignment;
} kb_sync_assignment_t;

typedef struct kb_sync_request {
    kp_str_t group_id, member_id, instance_id;
    int32_t generation_id;
    int32_t n_assignments;
    const kb_sync_assignment_t *assignments;
} kb_sync_request_t;

/* assignment is borrowed for the call (empty on error). */
typedef void (*kb_sync_done_fn)(void *arg, int16_t error_code, kp_bytes_t assignment);
void kb_group_sync(kb_coordinator_t *c, const kb_sync_request_t *req, kb_sync_done_fn done, void *arg);

/* Heartbeat: answered at once. */
int16_t kb_group_heartbeat(kb_coordinator_t *c, kp_str_t group_id, kp_str_t member_id, kp_str_t instance_id,
                           int32_t generation_id);

/* LeaveGroup: the group-level error, and each member's in errors[i]. */
int16_t kb_group_leave(kb_coordinator_t *c, kp_str_t group_id, int32_t n, const kp_str_t *member_ids,
                       const kp_str_t *instance_ids, int16_t *errors);

/* --------------------------------------------------------------- offsets */

typedef struct kb_commit_partition {
    kp_str_t topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch; /* -1: none */
    kp_str_t metadata;    /* null is stored as "" */
    int64_t commit_timestamp; /* -1: now */
    int16_t error_code;   /* in: a per-partition refusal already decided (unknown topic), else 0 */
} kb_commit_partition_t;

typedef struct kb_commit_request {
    kp_str_t group_id, member_id, instance_id;
    int32_t generation_id;
    int64_t retention_ms; /* -1: the broker's */
    int32_t n;
    kb_commit_partition_t *partitions; /* the caller's; errors are written into it */
} kb_commit_request_t;

/* Writes each partition's answer into req->partitions[i].error_code, then
 * calls done (possibly before returning); the array must stay valid until
 * then. */
typedef void (*kb_commit_done_fn)(void *arg);
void kb_group_commit(kb_coordinator_t *c, kb_commit_request_t *req, kb_commit_done_fn done, void *arg);

typedef struct kb_offset_answer {
    const char *topic;  /* for fetch-all answers; else the requested name is kept */
    int32_t partition;
    int64_t offset;     /* -1: none */
    int32_t leader_epoch;
    kp_str_t metadata;  /* "" when none */
    int16_t error_code;
} kb_offset_answer_t;

/* A topic-partition a request names. */
typedef struct kb_tp {
    kp_str_t topic;
    int32_t partition;
} kb_tp_t;

/* OffsetFetch: the group-level error; then a known group's offsets for the
 * n named partitions into out[i] (-1 and "" where nothing is committed)
 * through kb_group_fetch_many, or all of them through kb_group_fetch_all.
 * The metadata strings are the group's: valid until the loop runs again. */
int16_t kb_group_fetch_check(kb_coordinator_t *c, kp_str_t group_id);
void kb_group_fetch_many(kb_coordinator_t *c, kp_str_t group_id, int32_t n, const kb_tp_t *tps, bool require_stable,
                         kb_offset_answer_t *out);
/* Calls fn for each committed offset of the group, ordered by topic. */
void kb_group_fetch_all(kb_coordinator_t *c, kp_str_t group_id,
                        void (*fn)(void *arg, const kb_offset_answer_t *a), void *arg);

/* ----------------------------------------------------------- group admin */

typedef struct kb_group_summary {
    const char *group_id;
    const char *protocol_type;
    const char *state;
} kb_group_summary_t;

/* ListGroups: calls fn per group coordinated here; returns
 * COORDINATOR_LOAD_IN_PROGRESS when a partition is loading, else 0. */
int16_t kb_group_list(kb_coordinator_t *c, void (*fn)(void *arg, const kb_group_summary_t *g), void *arg);

typedef struct kb_group_description_member {
    const char *member_id;
    const char *instance_id;
    const char *client_id;
    const char *client_host;
    kp_bytes_t metadata;   /* Stable only */
    kp_bytes_t assignment; /* Stable only */
} kb_group_description_member_t;

typedef struct kb_group_description {
    int16_t error_code;
    const char *state; /* "" on a coordinator error */
    const char *protocol_type;
    const char *protocol; /* Stable only */
    int32_t n_members;
    const kb_group_description_member_t *members;
} kb_group_description_t;

/* DescribeGroups of one group: fn is called once, before returning. */
void kb_group_describe(kb_coordinator_t *c, kp_str_t group_id,
                       void (*fn)(void *arg, const kb_group_description_t *d), void *arg);

/* DeleteGroups of one group: its error code. */
int16_t kb_group_delete(kb_coordinator_t *c, kp_str_t group_id);

/* ---------------------------------------------------------------- stats */

typedef struct kb_group_stats {
    uint64_t groups;           /* gauge: groups in memory */
    uint64_t partitions_owned; /* gauge: offsets partitions coordinated here */
    uint64_t partitions_loading;
    uint64_t rebalances;       /* generations completed */
    uint64_t commits;          /* offsets written */
    uint64_t expired;          /* offsets expired */
} kb_group_stats_t;
void kb_coordinator_stats(const kb_coordinator_t *c, kb_group_stats_t *out);

/* For /metrics: fn for every committed offset of the groups coordinated
 * here, and group_fn for every such group with its member count. */
void kb_coordinator_each_offset(const kb_coordinator_t *c,
                                void (*fn)(void *arg, const char *group, const char *topic, int32_t partition,
                                           int64_t offset),
                                void *arg);
void kb_coordinator_each_group(const kb_coordinator_t *c, void (*group_fn)(void *arg, const char *group,
                                                                             int32_t members),
                               void *arg);

#endif
