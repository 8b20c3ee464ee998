/*
 * kb_group_internal.h - what the coordinator's files share: the group,
 * member and offset records kept in memory, the offsets partitions'
 * ownership, and the functions one file gives another.
 *
 *   kb_coordinator.c   ownership of offsets partitions, the group table,
 *                      the checks every API makes first (spec 3.5)
 *   kb_group_join.c    JoinGroup, the join phase and its timers (4.4-4.7)
 *   kb_group_sync.c    SyncGroup, Heartbeat, LeaveGroup, member removal
 *   kb_group_offsets.c OffsetCommit, OffsetFetch, expiry, deletion (6)
 *   kb_group_store.c   records into the partition's log, and loading (3.4, 7)
 *   kb_group_admin.c   ListGroups, DescribeGroups
 *
 * Ownership: the coordinator owns its groups; a group owns its members,
 * pending member ids and offsets.  A write in flight holds a reference on
 * its group (group->refs) so that a group dropped meanwhile (unloaded or
 * deleted) is freed only when the write completes, which then finds it
 * dead and changes nothing.
 */
#ifndef KB_GROUP_INTERNAL_H
#define KB_GROUP_INTERNAL_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "broker/group/kb_group.h"
#include "proto/kp_buf.h"

typedef enum {
    KB_GROUP_EMPTY,
    KB_GROUP_PREPARING, /* PreparingRebalance */
    KB_GROUP_COMPLETING, /* CompletingRebalance */
    KB_GROUP_STABLE,
    KB_GROUP_DEAD,
} kb_group_state_t;

const char *kb_group_state_name(kb_group_state_t s);

typedef struct kb_group kb_group_t;

/* An index entry embedded in what it indexes (kb_group_ids.c). */
typedef struct kb_id_entry {
    struct kb_id_entry *next;
    const char *id; /* the indexed record's own string; NULL: not in a table */
    size_t len;
} kb_id_entry_t;

typedef struct kb_id_table {
    kb_id_entry_t **buckets;
    size_t n_buckets, n;
    uint64_t seed;
} kb_id_table_t;

#define KB_CONTAINER_OF(ptr, type, field) ((type *)(void *)((char *)(ptr) - offsetof(type, field)))

typedef struct kb_protocol {
    char *name;
    uint8_t *metadata;
    int32_t len;
} kb_protocol_t;

/* A parked JoinGroup or SyncGroup: who to answer. */
typedef struct kb_parked_join {
    kb_join_done_fn done;
    void *arg;
} kb_parked_join_t;

typedef struct kb_parked_sync {
    kb_sync_done_fn done;
    void *arg;
} kb_parked_sync_t;

typedef struct kb_member {
    TAILQ_ENTRY(kb_member) link;
    kb_group_t *group;
    char *member_id;
    char *instance_id; /* NULL: dynamic */
    char *client_id, *client_host;
    int32_t session_timeout_ms, rebalance_timeout_ms;
    int32_t n_protocols;
    kb_protocol_t *protocols; /* in the member's preference order */
    uint8_t *assignment;
    int32_t assignment_len;
    kb_parked_join_t join; /* done == NULL: none parked */
    kb_parked_sync_t sync;
    kb_id_entry_t by_id, by_instance; /* the group's indexes (by_instance: static members only) */
    bool is_new;        /* added by JoinGroup, join phase not completed since (300 s deadline) */
    bool pending_sync;  /* owes a SyncGroup for the current generation */
    struct event *expiry; /* session timeout, or the new-member join deadline */
} kb_member_t;

TAILQ_HEAD(kb_member_list, kb_member);

/* A member id issued with MEMBER_ID_REQUIRED, not yet joined. */
typedef struct kb_pending_member {
    LIST_ENTRY(kb_pending_member) link;
    kb_id_entry_t by_id;
    kb_group_t *group;
    char *member_id;
    struct event *expiry;
} kb_pending_member_t;

LIST_HEAD(kb_pending_list, kb_pending_member);

/* One committed offset. */
typedef struct kb_offset {
    struct kb_offset *next; /* hash chain */
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata; /* NUL-terminated, but metadata_len counts: a client may send NUL bytes */
    int32_t metadata_len;
    int64_t commit_ts, expire_ts; /* expire_ts -1: none */
    bool committed; /* false while only a pending commit exists */
    int pending;    /* commits of it in flight */
} kb_offset_t;

typedef struct kb_offset_table {
    kb_offset_t **buckets;
    size_t n_buckets, n;
} kb_offset_table_t;

struct kb_group {
    kb_group_t *hnext; /* the coordinator's table */
    kb_coordinator_t *c;
    char *id;
    int32_t partition; /* of __consumer_offsets */
    kb_group_state_t state;
    int64_t state_ts; /* wall clock ms of the last state change; -1 unknown */
    char *protocol_type; /* NULL: none */
    char *protocol;      /* selected; NULL: none */
    char *leader;        /* member id; NULL: none */
    int32_t generation;
    struct kb_member_list members;
    int32_t n_members;
    struct kb_pending_list pending;
    kb_id_table_t member_ids, instance_ids, pending_ids; /* kb_group_ids.c */
    kb_offset_table_t offsets;
    struct event *join_timer; /* join phase: rebalance timeout or initial delay */
    bool initial_delay;       /* join_timer is the initial delay (from Empty) */
    bool new_member_added;    /* during the current delay: extends it (spec 4.5) */
    int32_t storing_generation; /* whose assignment is being written; -1: none */
    bool has_record;          /* loading: a group metadata record (not a tombstone) was last */
    int32_t delay_remaining_ms;
    struct event *sync_timer; /* pending-sync deadline (KAFKA-12890) */
    int refs;                 /* writes in flight */
    bool freed;               /* dropped from the table: free once refs reach 0 */
};

typedef struct kb_load kb_load_t;

/* The offsets partitions' ownership here (spec 3.4). */
typedef enum { KB_OWN_NONE, KB_OWN_LOADING, KB_OWN_OWNED } kb_own_state_t;

typedef struct kb_owned_partition {
    kb_own_state_t state;
    int32_t epoch; /* the leader epoch it was loaded for */
    kb_load_t *load; /* while loading */
} kb_owned_partition_t;

struct kb_coordinator {
    kb_coordinator_deps_t deps;
    kb_group_t **buckets;
    size_t n_buckets, n_groups;
    uint64_t seed; /* of the table's hash */
    kb_owned_partition_t *parts; /* per offsets partition */
    int32_t n_parts;
    struct event *expiry_ev; /* offsets.retention.check.interval.ms */
    int64_t create_logged_ms;
    bool shutting_down;
    kb_group_stats_t stats;
};

/* ---- kb_coordinator.c ---- */
/* Load l of partition finished (ignored unless it is the partition's
 * current load): the partition is owned from now. */
void kb_coordinator_loaded(kb_coordinator_t *c, int32_t partition, const kb_load_t *l, size_t groups);
/* The offsets partition of group id, by the topic's partition count. */
int32_t kb_coordinator_partition_of(const kb_coordinator_t *c, kp_str_t id);
/* Whether id can name a group here (no NUL byte: ids are kept as C strings). */
bool kb_coordinator_group_id_ok(kp_str_t id);
/* Load l ended without the coordinator asking (the worker stopped): it no
 * longer points at it. */
void kb_coordinator_load_gone(kb_coordinator_t *c, int32_t partition, const kb_load_t *l);
/* Sets partition's load in progress (NULL: none); returns the previous one. */
kb_load_t *kb_coordinator_set_load(kb_coordinator_t *c, int32_t partition, kb_load_t *load);
/* The leader epoch partition is (being) loaded at, or -1 when not owned. */
int32_t kb_coordinator_epoch(const kb_coordinator_t *c, int32_t partition);
int64_t kb_group_now_ms(void); /* wall clock: commit timestamps, state times */
/* The group, or NULL. */
kb_group_t *kb_coordinator_find(kb_coordinator_t *c, kp_str_t id);
/* A new Empty group in the table; NULL when out of memory. */
kb_group_t *kb_coordinator_add(kb_coordinator_t *c, kp_str_t id, int32_t partition);
/* Drops g from the table (Dead): its members are removed, their parked
 * requests answered `error`; it is freed once no write holds it. */
void kb_coordinator_drop(kb_group_t *g, int16_t error);
void kb_group_unref(kb_group_t *g);
/* Spec 3.5 for group id: 0 with *partition, or the error. */
int16_t kb_coordinator_check(kb_coordinator_t *c, kp_str_t id, bool empty_ok, int32_t *partition);
bool kb_coordinator_owns(const kb_coordinator_t *c, int32_t partition);
void kb_group_set_state(kb_group_t *g, kb_group_state_t s);
char *kb_strdup_slice(kp_str_t s); /* NUL-terminated copy ("" for null); NULL when out of memory */
bool kb_slice_eq(kp_str_t s, const char *c); /* c NULL equals a null slice only */
void kb_group_arm(struct event *ev, int32_t ms);

/* ---- kb_group_join.c ---- */
kb_member_t *kb_group_member(const kb_group_t *g, kp_str_t member_id);
kb_member_t *kb_group_static_member(const kb_group_t *g, kp_str_t instance_id);
/* Starts a rebalance from Empty, Stable or CompletingRebalance. */
void kb_group_prepare_rebalance(kb_group_t *g, const char *why);
/* In PreparingRebalance: completes the join phase when it may. */
void kb_group_maybe_complete_join(kb_group_t *g);
/* Restarts the member's session timer. */
void kb_member_heartbeat(kb_member_t *m);
/* After members left: Stable/CompletingRebalance rebalance, PreparingRebalance re-checks. */
void kb_group_member_left(kb_group_t *g, const char *why);
/* m joins g's member list and indexes; leaves them (not freed). */
void kb_group_link_member(kb_group_t *g, kb_member_t *m);
void kb_group_unlink_member(kb_group_t *g, kb_member_t *m);
/* Removes m (answering its parked JoinGroup UNKNOWN_MEMBER_ID and its
 * SyncGroup `sync_error`) and frees it; leadership moves on. */
void kb_member_remove(kb_member_t *m, int16_t sync_error);
void kb_member_free(kb_member_t *m);
/* A member of a loaded group record (req's protocols: the selected one),
 * not yet in g's list; NULL when out of memory. */
kb_member_t *kb_member_from_record(kb_group_t *g, const kb_join_request_t *req);
/* A group whose partition finished loading: Stable with members, else
 * Empty; session timers start now; over group.max.size it rebalances. */
void kb_group_loaded(kb_group_t *g);
void kb_pending_free(kb_pending_member_t *p);
/* The pending (MEMBER_ID_REQUIRED) id, or NULL. */
kb_pending_member_t *kb_group_pending(const kb_group_t *g, kp_str_t id);
void kb_group_answer_join(kb_member_t *m, int16_t error);

/* ---- kb_group_sync.c ---- */
/* Answers every parked SyncGroup with error (empty assignment). */
void kb_group_fail_syncs(kb_group_t *g, int16_t error);
/* Writes the group's state record (spec 7.5); done (may be NULL) gets the
 * append error mapped for a group-metadata write (spec 3.6), with g still
 * referenced (it may have been dropped meanwhile: g->freed). */
typedef void (*kb_state_stored_fn)(kb_group_t *g, int16_t error, void *arg);
void kb_group_store_state(kb_group_t *g, kb_state_stored_fn done, void *arg);

/* ---- kb_group_ids.c ---- */
/* Allocates the first buckets; false when out of memory. */
bool kb_ids_init(kb_id_table_t *t, uint64_t seed);
void kb_ids_clear(kb_id_table_t *t); /* the buckets only: entries belong to their records */
kb_id_entry_t *kb_ids_find(const kb_id_table_t *t, kp_str_t id);
/* Indexes e under id (a string that lives as long as e is indexed). */
void kb_ids_add(kb_id_table_t *t, kb_id_entry_t *e, const char *id);
void kb_ids_remove(kb_id_table_t *t, kb_id_entry_t *e); /* no-op when e is not indexed */

/* ---- kb_group_offsets.c ---- */
void kb_offsets_init(kb_offset_table_t *t);
void kb_offsets_clear(kb_offset_table_t *t);
kb_offset_t *kb_offsets_get(const kb_offset_table_t *t, const char *topic, size_t topic_len, int32_t partition);
/* The entry for (topic, partition), made when missing; NULL when out of memory. */
kb_offset_t *kb_offsets_put(kb_offset_table_t *t, const char *topic, size_t topic_len, int32_t partition);
void kb_offsets_remove(kb_offset_table_t *t, const char *topic, int32_t partition);
/* The retention pass over every group (spec 6.3). */
void kb_offsets_expire(kb_coordinator_t *c);

/* ---- kb_group_store.c ---- */
/* One record for __consumer_offsets: key and value (value NULL = tombstone). */
typedef struct kb_store_record {
    kp_writer_t key, value;
    bool tombstone;
} kb_store_record_t;

/* Appends records [0, n) as one batch to partition `partition` of
 * __consumer_offsets while this broker coordinates it, with
 * offsets.commit.required.acks and offsets.commit.timeout.ms, or without
 * waiting (acks 1) when fire_and_forget.  done(arg, error) gets the append
 * error (6 when the partition is no longer led here), possibly before
 * returning. */
typedef void (*kb_store_done_fn)(void *arg, int16_t error_code);
/* Spec 3.6: what an append error becomes in the answer to an offset
 * commit (commit) or to a group-metadata write (SyncGroup). */
int16_t kb_store_map_error(int16_t append_error, bool commit);
void kb_store_append(kb_coordinator_t *c, int32_t partition, kb_store_record_t *records, int n,
                     bool fire_and_forget, kb_store_done_fn done, void *arg);
/* The largest batch partition takes (its max.message.bytes), for a caller
 * that can tell an operation is too big before it encodes it. */
int64_t kb_store_max_batch_bytes(kb_coordinator_t *c, int32_t partition);
void kb_store_record_init(kb_store_record_t *r);
void kb_store_record_clear(kb_store_record_t *r);
/* Encoders of the records a group writes (spec 7). */
void kb_store_offset_record(kb_store_record_t *r, const char *group, const kb_offset_t *o);
void kb_store_offset_tombstone(kb_store_record_t *r, const char *group, const char *topic, int32_t partition);
void kb_store_group_record(kb_store_record_t *r, const kb_group_t *g);
void kb_store_group_tombstone(kb_store_record_t *r, const char *group);
/* Starts loading partition `partition` at leader epoch `epoch`; false when
 * out of memory (nothing started). */
bool kb_store_load_start(kb_coordinator_t *c, int32_t partition, int32_t epoch);
/* Abandons a load in progress (its completion changes nothing). */
void kb_store_load_cancel(kb_coordinator_t *c, int32_t partition);

#endif
