/*
 * kb_partition_internal.h - the partition table's structures, shared by
 * kb_partition.c (the table, produces, fetch waiters), kb_partition_roles.c
 * (roles and the logs they host), kb_topic_settings.c (the settings last
 * given per topic) and kb_partition_isr.c (the leader's ISR upkeep), and by
 * nothing else.
 */
#ifndef KB_PARTITION_INTERNAL_H
#define KB_PARTITION_INTERNAL_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "broker/log/kb_log.h"
#include "broker/replica/kb_isr.h"
#include "broker/replica/kb_replicas.h"
#include "common/kc_log.h"

/*
 * A partition's role as this broker reads one role update (kb_roles.h):
 * hosted and leader are relative to this broker.  The arrays are borrowed
 * for the duration of the call, except in kb_partition.want.
 */
typedef struct kb_role {
    bool hosted;               /* the assignment lists this broker */
    bool leader;
    int32_t leader_id;         /* the leader's broker id, or -1 (a follower fetches from it) */
    bool has_state;            /* isr, zk_version and controller_epoch are known */
    int32_t leader_epoch;
    int32_t controller_epoch;
    int32_t zk_version;
    const int32_t *isr;
    int n_isr;
    const int32_t *replicas;   /* the assignment */
    int n_replicas;
} kb_role_t;

typedef enum { OP_IDLE = 0, OP_FLUSHING, OP_PARKED } op_stage_t;

/* One produce whose answer waits for an fsync and/or the high watermark. */
typedef struct kb_delayed_produce {
    TAILQ_ENTRY(kb_delayed_produce) link; /* flushing, parked or pool list */
    kb_partition_t *p;                    /* NULL once orphaned by kb_replicas_free */
    struct event *timer;                  /* acks=all timeout; owned, reused across uses */
    op_stage_t stage;
    bool orphaned; /* its flush outlived the partitions: free it when the flush returns */
    int16_t acks;
    int32_t timeout_ms;
    uint64_t leadership;     /* p->leadership when appended */
    int64_t required_offset; /* high watermark that acknowledges it: last offset + 1 */
    kb_produce_result_t res;
    kb_produce_done_fn done;
    void *arg;
} kb_delayed_produce_t;

TAILQ_HEAD(produce_list, kb_delayed_produce);

typedef enum { W_WAITING = 0, W_QUEUED, W_FIRING } waiter_state_t;

struct kb_waiter {
    TAILQ_ENTRY(kb_waiter) link; /* on its partition's list (WAITING) or r->firing (QUEUED) */
    kb_partition_t *p;
    struct waiter_list *list;    /* while WAITING: p->waiters or p->append_waiters */
    waiter_state_t state;
    void (*wake)(void *arg);
    void *arg;
};

TAILQ_HEAD(waiter_list, kb_waiter);

/* A follower partition's place in its fetcher (kb_fetcher.c). */
typedef enum { FOLLOW_NONE = 0, FOLLOW_TRUNCATING, FOLLOW_FETCHING } follow_state_t;

typedef struct kb_follow {
    struct kb_fetcher *fetcher;     /* NULL: not following */
    bool unresolved;                /* waiting for its leader's endpoint, on fetchers->unresolved */
    TAILQ_ENTRY(kb_partition) link; /* fetcher->parts, or fetchers->unresolved */
    follow_state_t state;
    int64_t retry_at_ms;            /* after an error: not fetched before this (monotonic) */
} kb_follow_t;

struct kb_partition {
    kb_partition_t *hnext; /* hash chain */
    kb_replicas_t *r;
    int32_t partition;
    kb_log_t *log;         /* owned by the log manager; NULL until opened */
    kb_log_creation_t *creating; /* its log is being created off the loop */
    bool log_failed;       /* creating failed (logged once until it succeeds) */
    bool no_room;          /* wants a log the budget has no room for (counted in waiting_for_room) */
    bool no_room_told;     /* ... and a "not hosted" line has counted it since it began to wait */
    bool retry_queued;     /* on r->retry, to be created again */
    TAILQ_ENTRY(kb_partition) retry_link;
    bool hosted;           /* the applied role's assignment lists this broker (it has its log) */
    bool deleted;          /* its topic was deleted (StopReplica with delete) and it has not been
                            * hosted since: no log, and clients hear UNKNOWN_TOPIC_OR_PARTITION */
    bool assigned;         /* the last role update admitted lists this broker (applied or wanted) */
    int32_t seen_epoch;    /* the leader epoch of that update: older ones are refused */
    kb_role_t want;        /* the role to take once the log exists (has_want); arrays in want_ids */
    int32_t *want_ids;     /* owned */
    bool has_want;
    bool leader;
    bool resigned;         /* its leadership was dropped when the ZooKeeper session expired
                            * (kb_replicas_resign_leaderships): the next role update, even at
                            * the same leader epoch, is applied */
    int32_t leader_id;     /* the applied role's leader (-1: none) */
    int32_t leader_epoch;
    int64_t epoch_start_offset; /* the log end offset when this broker took the leader epoch (Kafka's
                                 * leaderEpochStartOffset): a follower joins the ISR only past it */
    int32_t min_insync;    /* the topic's min.insync.replicas */
    uint64_t leadership;   /* bumped on each become-leader */
    bool wake_queued;      /* on r->wake_queue */
    bool wake_consumers;   /* ... for p->waiters (HW or role changed) */
    bool wake_followers;   /* ... for p->append_waiters (appended or role changed) */
    TAILQ_ENTRY(kb_partition) wake_link;
    struct waiter_list waiters;        /* consumers' fetches: woken when the HW moves */
    struct waiter_list append_waiters; /* followers' fetches: woken when the leader appends */
    kb_follow_t follow;                /* the follower's fetch state (kb_fetcher.c) */
    struct produce_list parked;   /* sorted by required_offset */
    struct produce_list flushing; /* in append order */
    TAILQ_HEAD(, kb_append_turn) turns; /* client batches waiting for their append, in arrival order */
    bool running_turns;                 /* kb_partition_turns.c's loop is on the stack */
    /* The ISR and what the leader knows of its followers (kb_partition_isr.c). */
    int32_t *isr;              /* the ISR as last read or written, in znode order; owned */
    int n_isr;
    bool isr_known;            /* isr, zk_version and controller_epoch hold a whole state */
    int32_t zk_version;        /* the state znode version isr is from: our next write's condition */
    int32_t controller_epoch;  /* of that state; the leader's own writes keep it */
    kb_follower_t *followers;  /* every other replica, assigned or in the ISR; owned */
    int n_followers;
    struct kb_isr_write *isr_write; /* the ISR write in flight, or NULL */
    bool isr_change_pending;   /* on r->isr_changes, awaiting publication */
    TAILQ_ENTRY(kb_partition) isr_change_link;
    char topic[];
};

TAILQ_HEAD(isr_publish_list, kb_isr_publish);
TAILQ_HEAD(partition_list, kb_partition);

struct kb_replicas {
    kb_replicas_deps_t deps;
    kb_topic_settings_t defaults; /* the broker's, for a topic never given settings */
    struct kb_topic_entry **topics; /* the settings last given per topic (kb_topic_settings.c) */
    size_t n_topic_buckets, n_topics;
    kb_roles_stats_t roles_stats;
    kb_partition_t **buckets;
    size_t n_buckets;
    size_t n_partitions;
    struct partition_list retry; /* partitions whose log creation failed or found no room */
    kc_ratelimit_t create_failed_log; /* "cannot create its log" lines, a burst fails them all */
    size_t batch_no_room;             /* partitions that began to wait for room in the current batch */
    size_t no_room_unreported;        /* partitions waiting for room that no line has counted yet */
    int64_t no_room_logged_ms;        /* when that line last went out; 0: never */
    struct event *no_room_ev;         /* the next such line, at most one per BURST_LOG_MS */
    struct event *retry_ev;      /* creates their logs again */
    int32_t retry_delay_ms;      /* backoff of retry_ev */
    struct event *wake_ev;
    bool wake_scheduled;
    TAILQ_HEAD(, kb_partition) wake_queue;
    struct waiter_list firing;
    struct produce_list pool;
    int pool_size;
    bool closing; /* kb_replicas_free is running: nothing new may wait */
    struct kb_fetchers *fetchers; /* the follower fetchers (kb_fetcher.c); NULL until started */
    kb_replication_stats_t repl_stats;
    bool creations_stopped; /* shutdown began: logs not made yet never will be */
    kb_leadership_fn on_leadership; /* kb_replicas_observe_leadership; NULL: none */
    void *on_leadership_arg;
    /* ISR upkeep (kb_partition_isr.c) */
    struct event *isr_check_ev;   /* every replica.lag.time.max.ms / 2 */
    struct event *isr_publish_ev; /* every KB_ISR_PUBLISH_CHECK_MS */
    TAILQ_HEAD(, kb_partition) isr_changes; /* changed ISRs not yet published */
    int64_t last_isr_change_ms;
    int64_t last_isr_publish_ms;
    struct isr_publish_list isr_publishing; /* publications in flight */
};


/* ---- kb_partition.c, for kb_partition_roles.c and kb_partition_isr.c ---- */

/* A follower's read of p: whole batches from offset up to the log end
 * offset, within max_bytes (kb_log_read_batches); returns as
 * kb_partition_read. */
int kb_partition_read_batches(kb_partition_t *p, int64_t offset, size_t max_bytes, kb_partition_range_t *out);
/* Milliseconds of the monotonic clock every replication timer reads. */
int64_t kb_replicas_now_ms(void);
/* The partition object of topic-partition, hosted or not, or NULL. */
kb_partition_t *kb_replicas_find(const kb_replicas_t *r, const char *topic, int32_t partition);
/* A new partition object (no log, no role), or NULL when out of memory. */
kb_partition_t *kb_replicas_add(kb_replicas_t *r, const char *topic, int32_t partition);
/* Queues p's waiters to be woken from the loop: those of consumers (the HW
 * moved), of followers (the leader appended), or both (the role changed). */
void kb_partition_schedule_wake(kb_partition_t *p);
void kb_partition_schedule_append_wake(kb_partition_t *p);
/* kb_partition_wait for a follower's fetch: woken when p appends. */
kb_waiter_t *kb_partition_wait_append(kb_partition_t *p, void (*wake)(void *arg), void *arg);
/* Answers the produces parked on the high watermark (leadership lost). */
void kb_partition_fail_parked(kb_partition_t *p, int16_t error_code);
/* The ISR or the role changed under a leader: moves the high watermark
 * (and completes what waited on it) when the change allows. */
void kb_partition_update_hw(kb_partition_t *p);

/* ---- kb_partition_turns.c, for kb_partition.c ---- */

/* p is about to be freed: its queued turns are told so (kb_partition.h). */
void kb_partition_turns_orphan(kb_partition_t *p);

/* ---- kb_partition_roles.c, for kb_partition.c ---- */

/* Prepares the retry of failed log creations; 0 or -1. */
int kb_replicas_roles_start(kb_replicas_t *r);
/* Frees the role p waits to take, if any. */
void kb_partition_roles_free(kb_partition_t *p);

/* ---- kb_topic_settings.c ---- */

/* The settings last given for topic, or the broker defaults. */
const kb_topic_settings_t *kb_replicas_topic_settings(const kb_replicas_t *r, const char *topic);
/* Frees the settings given per topic (kb_replicas_free). */
void kb_replicas_topic_settings_free(kb_replicas_t *r);

/* ---- kb_partition_isr.c, for kb_partition.c ---- */

/* Starts the periodic shrink and publication checks; 0 or -1. */
int kb_replicas_isr_start(kb_replicas_t *r);
/* Stops them and detaches every ZooKeeper operation still in flight (its
 * completion then only frees its context); call before freeing partitions. */
void kb_replicas_isr_stop(kb_replicas_t *r);

/* Applies the ISR part of role `to` (p's other fields still hold the old
 * role): copies the ISR, its zkVersion and controller epoch unless `to`
 * is older than what p holds, and, on a leader, rebuilds the follower
 * records, resetting them on a new leadership or leader epoch. */
void kb_partition_isr_apply(kb_partition_t *p, const kb_role_t *to, bool new_leadership, bool new_epoch);
/* True when the ISR is this broker alone: the high watermark follows the LEO. */
bool kb_partition_isr_is_self(const kb_partition_t *p);
void kb_partition_isr_free(kb_partition_t *p);
/* A fetch from follower_id at fetch_offset reached the leader p: records
 * it (kb_follower_fetched), adds the follower to the ISR when it may join,
 * and moves the HW.  -1 when follower_id is not a replica of p. */
int kb_partition_follower_fetched(kb_partition_t *p, int32_t follower_id, int64_t fetch_offset);


#endif
