/*
 * kb_replicas.h - the partition table's life: what it depends on, the
 * topic settings its logs are made with, and shutdown.  main.c and the
 * role feed use it; the API handlers see only kb_partition.h (which keeps
 * the log layer and ZooKeeper out of their view).
 */
#ifndef KB_REPLICAS_H
#define KB_REPLICAS_H

#include <stdint.h>

#include "broker/kb_config.h"
#include "broker/log/kb_log.h"
#include "broker/replica/kb_fetcher.h"
#include "broker/replica/kb_partition.h"
#include "broker/replica/kb_roles.h"
#include "coord/kc_isr.h"
#include "coord/kc_zk.h"

struct event_base;
struct kb_logmgr;
typedef struct kb_worker kb_worker_t;

/* The leader's conditional write of its partition's state znode, with
 * kc_state_leader_write's contract (coord/kc_isr.h): zk is the deps' session. */
typedef void (*kb_isr_write_fn)(kc_session_t *zk, const char *topic, int32_t partition,
                                const kc_partition_state_t *state, kc_state_written_fn done, void *arg);

/* What the partitions need, and nothing more (so a unit suite builds them
 * without a broker).  All of it must outlive the replicas. */
typedef struct kb_replicas_deps {
    struct event_base *base;
    const kb_config_t *cfg; /* broker.id, replica.lag.time.max.ms, the broker's log and topic defaults,
                             * kbroker.batch.decompressed.max.bytes */
    struct kb_logmgr *logs; /* opens and creates the partitions' logs */
    kb_worker_t *worker;    /* timestamp lookups (kb_partition_offset_for_timestamp); may be NULL */
    kc_session_t *zk;       /* the leader's ISR writes and their publication; NULL: none */
    /* The ISR writes (NULL: kc_state_leader_write).  With its own writer a
     * unit suite shrinks ISRs without a session: leaders then write while
     * zk is NULL or connected. */
    kb_isr_write_fn write_isr;
} kb_replicas_deps_t;

/* The settings a partition's log is made with, and acks=all's minimum ISR. */
typedef struct kb_topic_settings {
    kb_log_config_t log;
    int32_t min_insync;
} kb_topic_settings_t;

/* Replication's counters (metrics and tests). */
typedef struct kb_replication_stats {
    uint64_t fetches_served;        /* ReplicaFetch requests answered as leader */
    uint64_t fetch_bytes;           /* record bytes in those answers */
    uint64_t fetch_sendfile_bytes;  /* ... of them queued as file ranges, sent with sendfile */
    uint64_t fetches_sent;          /* ReplicaFetch requests answered to this broker's fetchers */
    uint64_t follower_bytes;        /* record bytes appended as follower */
    uint64_t truncations;           /* follower logs truncated (leader epochs or out of range) */
    uint64_t isr_expansions;        /* ISR joins this broker wrote (or tried to) as leader */
    uint64_t isr_shrinks;           /* ISR shrinks this broker wrote (or tried to) as leader */
    uint64_t fetch_errors;          /* partition errors and failed calls seen by the fetchers */
    uint64_t fetches_parked;        /* gauge: follower fetches waiting here for data */
} kb_replication_stats_t;

void kb_replicas_replication_stats(const kb_replicas_t *r, kb_replication_stats_t *out);
/* Partitions led here whose ISR lacks one of their assigned replicas
 * (Kafka's UnderReplicatedPartitions), counted now: one pass over the
 * partitions, for a scrape. */
uint64_t kb_replicas_under_replicated(const kb_replicas_t *r);

/* The RPC methods a leader serves its followers (ReplicaFetch,
 * OffsetForLeaderEpoch: kb_fetch_serve.c), copied into out (room rows);
 * returns how many. */
size_t kb_replicas_rpc_handlers(kb_replicas_t *r, kb_rpc_handler_t *out, size_t room);
/* Starts the follower fetchers (kb_fetcher.h), once the leaders' RPC
 * endpoints can be resolved (main.c: after the cluster view exists); the
 * partitions that follow already start fetching.  0 or -1. */
int kb_replicas_start_fetchers(kb_replicas_t *r, const kb_fetchers_opts_t *o);
/* This broker's identity changed (a new registration): the fetchers'
 * Hello carries it from their next connection. */
void kb_replicas_set_identity(kb_replicas_t *r, kb_rpc_identity_t self);

/* NULL when out of memory.  deps is copied. */
kb_replicas_t *kb_replicas_new(const kb_replicas_deps_t *deps);
/* The ZooKeeper session for ISR writes, when it is made after the replicas
 * (main.c starts the local parts first). */
void kb_replicas_set_session(kb_replicas_t *r, kc_session_t *zk);
/* The worker for timestamp lookups; NULL before the worker is stopped
 * (kb_worker_stop frees it): lookups then fail. */
void kb_replicas_set_worker(kb_replicas_t *r, kb_worker_t *worker);
/* Topic settings, given before the roles that need them: the logs of
 * topic's partitions [0, n_partitions) that exist here take them now, and
 * every log created for the topic later is made with the settings last
 * given (the broker defaults before any).  Giving the same settings again
 * costs one lookup. */
void kb_replicas_apply_topic_settings(kb_replicas_t *r, const char *topic, int32_t n_partitions,
                                      const kb_topic_settings_t *ts);
/* Shutdown: answers the produces still waiting with 6 NOT_LEADER_OR_FOLLOWER
 * and wakes every fetch waiter (synchronously: the loop no longer runs, and
 * kb_partition_wait then returns NULL), abandons the log creations in
 * flight (the log manager's close completes them), then frees everything.
 * Call it after the connections are closed and the worker stopped, while
 * the log manager still exists.  A produce whose fsync is still running is answered too; the
 * flusher's late completion is harmless. */
void kb_replicas_free(kb_replicas_t *r);
/* Shutdown has begun (the loop still runs): logs not created yet are not
 * created any more (kb_logmgr_stop_creating), and the partitions waiting
 * for one stay unhosted without an error, so that a SIGTERM during a burst
 * of creations does not wait for the burst. */
void kb_replicas_stop_creating(kb_replicas_t *r);

#endif
