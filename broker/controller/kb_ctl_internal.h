/*
 * kb_ctl_internal.h - the controller's state and the primitives its duties
 * share, for the files of broker/controller that implement one duty each
 * (kb_controller.c: election of the controller, reconciliation of states
 * with the live broker set, ISR change notifications).  Nothing outside
 * broker/controller includes it; kb_controller.h is the module's interface.
 *
 * Everything here runs on the broker's loop.
 */
#ifndef KB_CTL_INTERNAL_H
#define KB_CTL_INTERNAL_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/controller/kb_controller.h"
#include "broker/controller/kb_ctl_fanout.h"
#include "coord/kc_model.h"

#define PENDING_BUCKETS 1024

/* A partition whose state this controller is changing. */
typedef struct pending {
    struct pending *next;
    bool in_flight;        /* the write has not completed yet */
    int32_t await_version; /* completed: skip until the view shows this zkVersion (-1: any state) */
    uint64_t op_id;        /* identifies the write this entry belongs to */
    int32_t partition;
    char topic[];
} pending_t;

/* A partition as the reconciliation names it: the topic's name hash is
 * computed once per topic, not per partition. */
typedef struct part_ref {
    const char *topic;
    uint32_t topic_hash;
    int32_t partition;
} part_ref_t;

struct kb_controller {
    kb_broker_t *b;
    bool registered;  /* this broker is registered in the current session */
    bool electing;
    bool active;
    int32_t epoch;
    int32_t epoch_zk_version;
    uint64_t next_op_id;
    pending_t *pending[PENDING_BUCKETS];
    size_t n_pending;
    uint64_t seen;   /* the view generation reconciled up to */
    bool walk_all;   /* the next pass visits every partition */
    struct event *retry_ev;     /* delayed election retry */
    struct event *reconcile_ev; /* deferred reconciliation */
    struct event *purge_ev;     /* periodic purge of old config change notifications */
    struct event *isr_retry_ev; /* retry of a failed /isr_change_notification pass */
    bool isr_consuming;         /* a pass over /isr_change_notification is running */
    bool isr_again;             /* ... and another one was asked for meanwhile */
    bool isr_discard;           /* that one deletes unread (a new controller's first) */
    int32_t isr_retry_ms;       /* delay before the next retry of a failed pass */
    kb_ctl_fanout_t *fanout;    /* request queues to the brokers and the broker index */
    struct kb_ctl_deletion *deletion; /* topics being deleted (kb_ctl_delete.c) */
};

/* ---- primitives (kb_controller.c) ---- */

/* The role ends (a fenced write, /controller names another broker, the
 * session expired): every pending write and queue is dropped. */
void kb_ctl_lose_role(kb_controller_t *c, const char *why);
/* A reconciliation pass runs at the next loop turn (once, however often
 * this is called before). */
void kb_ctl_schedule_reconcile(kb_controller_t *c);
/* kb_elect_live_fn over the controller's view. */
bool kb_ctl_view_live(int32_t broker_id, const void *view);
/* The FNV-1a hash part_ref_t carries. */
uint32_t kb_ctl_topic_hash(const char *topic);
part_ref_t kb_ctl_part_ref(const char *topic, int32_t partition);

/* True while a state write of ours for the partition is in flight or has
 * not been read back by the view: no other write may be started for it. */
bool kb_ctl_state_busy(kb_controller_t *c, const part_ref_t *ref);
/* Writes `next` as the partition's new state, conditional on
 * next->zk_version and fenced by the controller epoch, through the same
 * bookkeeping as the reconciliation's elections: the partition is busy
 * until the view reads the write back, then its replicas get LeaderAndIsr
 * and every broker UpdateMetadata.  A fenced write ends the role; a failed
 * one is logged and the partition reconciled again.  Returns false when
 * the write could not be started (busy, out of memory). */
bool kb_ctl_state_write(kb_controller_t *c, const part_ref_t *ref, const kc_partition_state_t *next);

/* ---- topic deletion (kb_ctl_delete.c) ---- */

typedef struct kb_ctl_deletion kb_ctl_deletion_t;

kb_ctl_deletion_t *kb_ctl_delete_new(kb_controller_t *c);
void kb_ctl_delete_free(kb_ctl_deletion_t *d);
/* The role began, ended, or the fan-out was replaced: forget every
 * deletion (the markers in ZooKeeper bring them back). */
void kb_ctl_delete_reset(kb_ctl_deletion_t *d);
/* The start of a reconciliation pass: the markers the view lists queue
 * their topics (or are removed). */
void kb_ctl_delete_follow_markers(kb_ctl_deletion_t *d);
/* The end of a pass, the fan-out started and the broker set diffed: every
 * queued topic's deletion moves on (stops, then znodes). */
void kb_ctl_delete_reconcile(kb_ctl_deletion_t *d);
/* The topic is queued for deletion: no election or LeaderAndIsr for it,
 * leader -2 in UpdateMetadata (the fan-out's `deleting`).  NULL d: no. */
bool kb_ctl_delete_queued(const kb_ctl_deletion_t *d, const char *topic);
/* How many topics are queued (a gauge). */
size_t kb_ctl_delete_count(const kb_ctl_deletion_t *d);
/* A partition of an answered StopReplica (the fan-out's `stopped`). */
void kb_ctl_delete_stopped(kb_ctl_deletion_t *d, const kb_ctl_stopped_t *s);

#endif
