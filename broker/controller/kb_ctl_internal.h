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
#include "broker/controller/kb_leader_election.h"
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
    struct kb_ctl_reassigner *reassign; /* partition reassignments (kb_ctl_reassign.c) */
    struct kb_ctl_shutdown *shutdown; /* controlled shutdowns (kb_ctl_shutdown.c) */
    struct kb_ctl_elections *elections; /* elections on request (kb_ctl_elections.c) */
    struct kb_ctl_preferred *preferred; /* their ZooKeeper and automatic triggers (kb_ctl_preferred.c) */
    struct kb_ctl_unhosted *unhosted;   /* replicas their brokers cannot host (kb_ctl_unhosted.c) */
};

/* ---- primitives (kb_controller.c) ---- */

/* The role ends (a fenced write, /controller names another broker, the
 * session expired): every pending write and queue is dropped. */
void kb_ctl_lose_role(kb_controller_t *c, const char *why);
/* A reconciliation pass runs at the next loop turn (once, however often
 * this is called before). */
void kb_ctl_schedule_reconcile(kb_controller_t *c);
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

/* The bookkeeping of kb_ctl_state_write for a state that another write
 * carries (a reassignment's topic znode multi): the partition is busy from
 * kb_ctl_write_begin until the view reads back zkVersion next_version, and
 * the write's outcome goes to kb_ctl_write_done (which frees the token)
 * exactly as kb_ctl_state_write's would.  NULL when the partition is busy
 * or out of memory. */
typedef struct write_ctx kb_ctl_write_t;
kb_ctl_write_t *kb_ctl_write_begin(kb_controller_t *c, const part_ref_t *ref, int32_t next_version);
void kb_ctl_write_done(int rc, kb_ctl_write_t *w);

/* The topic's znodes are gone (its deletion completed): what this
 * controller still holds for its first n_partitions partitions is
 * forgotten, as Kafka's controller removes a deleted topic from its
 * context.  A state write of ours the view had not read back would never
 * be (ZooKeeper answers writes in order, so none is still in flight), and
 * its entry would keep a topic created again under the name busy for
 * good. */
void kb_ctl_forget_topic(kb_controller_t *c, const char *topic, int32_t n_partitions);

/* ---- replicas their brokers cannot host (kb_ctl_unhosted.c) ---- */

struct kb_ctl_unhosted *kb_ctl_unhosted_new(kb_controller_t *c);
void kb_ctl_unhosted_free(struct kb_ctl_unhosted *u);
/* A LeaderAndIsr answer of broker (that registration) said
 * KAFKA_STORAGE_ERROR for the partition: kept, and a pass scheduled. */
void kb_ctl_unhosted_refused(struct kb_ctl_unhosted *u, int32_t broker, int64_t broker_epoch, const char *topic,
                             int32_t partition);
/* The end of a reconciliation pass: moves what it can (leadership to
 * another in-sync replica, the refusing broker out of the ISR). */
void kb_ctl_unhosted_after_pass(struct kb_ctl_unhosted *u);
/* The role ended: every refusal is forgotten (the brokers repeat them). */
void kb_ctl_unhosted_reset(struct kb_ctl_unhosted *u);
/* Refusals waiting for a pass (tests). */
size_t kb_ctl_unhosted_count(const struct kb_ctl_unhosted *u);

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

/* ---- partition reassignment (kb_ctl_reassign.c) ---- */

typedef struct kb_ctl_reassigner kb_ctl_reassigner_t;

kb_ctl_reassigner_t *kb_ctl_reassign_new(kb_controller_t *c);
void kb_ctl_reassign_free(kb_ctl_reassigner_t *r);
/* The role began (`active`: read /admin/reassign_partitions and resume
 * what the topic znodes show) or ended (forget everything; API requests
 * waiting are answered NOT_CONTROLLER). */
void kb_ctl_reassign_reset(kb_ctl_reassigner_t *r, bool active);
/* The reconciliation visited a partition it found free (no state write
 * of ours pending). */
void kb_ctl_reassign_visit(kb_ctl_reassigner_t *r, const kc_topic_t *t, int32_t partition);
/* The end of a reconciliation pass: moves every reassignment that can. */
void kb_ctl_reassign_reconcile(kb_ctl_reassigner_t *r);
/* A write of ours to the topic znode is in flight or not read back yet
 * (deletion waits). */
bool kb_ctl_reassign_topic_busy(const kb_ctl_reassigner_t *r, const char *topic);
/* The topic was queued for deletion: its reassignments are abandoned in
 * this pass (the records wait for no visit; their /admin entries go). */
void kb_ctl_reassign_topic_queued(kb_ctl_reassigner_t *r, const kc_topic_t *t);
/* The topic's znodes are gone: the record of our last write to its topic
 * znode goes too (a topic created again under the name starts at version
 * 0, below the version that record would wait for). */
void kb_ctl_reassign_topic_gone(kb_ctl_reassigner_t *r, const char *topic);

/* ---- controlled shutdown (kb_ctl_shutdown.c) ---- */

struct kb_ctl_shutdown *kb_ctl_shutdown_new(kb_controller_t *c);
/* Answers every waiting request NOT_CONTROLLER, then frees. */
void kb_ctl_shutdown_free(struct kb_ctl_shutdown *s);
/* The role ended: the set empties, waiting requests hear NOT_CONTROLLER. */
void kb_ctl_shutdown_role_ended(kb_controller_t *c);
/* A reconciliation pass ended (its writes may have landed): the waiting
 * requests move on. */
void kb_ctl_shutdown_after_pass(kb_controller_t *c);
/* kb_elect_live_fn over the controller: registered as the view sees it;
 * and in controlled shutdown (the registration that asked still holds). */
bool kb_ctl_live(int32_t broker_id, const void *controller);
bool kb_ctl_shutting(int32_t broker_id, const void *controller);
/* Live and not shutting down: may lead, or join a new partition's ISR. */
bool kb_ctl_eligible(int32_t broker_id, const void *controller);

/* ---- elections on request (kb_ctl_elections.c) ---- */

typedef enum kb_ctl_trigger {
    KB_CTL_TRIGGER_ADMIN, /* ElectLeaders */
    KB_CTL_TRIGGER_ZK,    /* /admin/preferred_replica_election */
    KB_CTL_TRIGGER_AUTO,  /* the leader imbalance check */
} kb_ctl_trigger_t;

typedef struct kb_ctl_job_result {
    size_t n, elected, not_needed, failed;
} kb_ctl_job_result_t;

typedef void (*kb_ctl_job_done_fn)(const kb_ctl_job_result_t *r, void *arg);

typedef struct kb_ctl_job {
    kb_election_type_t type;
    kb_ctl_trigger_t trigger;
    const kb_election_item_t *items; /* copied; their topics are borrowed unless owns_topics */
    size_t n;
    bool owns_topics;                 /* the job frees the topics at its end (not if the start fails) */
    kb_election_item_t *caller_items; /* NULL, or where the results go at the end */
    int32_t timeout_ms;               /* <= 0: none */
    kb_ctl_job_done_fn done;          /* may be NULL */
    void *arg;
} kb_ctl_job_t;

struct kb_ctl_elections *kb_ctl_elections_new(kb_controller_t *c);
/* Ends every job NOT_CONTROLLER, then frees. */
void kb_ctl_elections_free(struct kb_ctl_elections *e);
/* Adds a job; its first pass runs at the next loop turn (its end, and
 * done, never inside this call).  0, or -1 when out of memory. */
int kb_ctl_elections_start(kb_controller_t *c, const kb_ctl_job_t *spec);
/* Whether a job of that trigger is still running. */
bool kb_ctl_elections_running(const kb_controller_t *c, kb_ctl_trigger_t trigger);
void kb_ctl_elections_after_pass(kb_controller_t *c);
/* Every job ends NOT_CONTROLLER. */
void kb_ctl_elections_role_ended(kb_controller_t *c);

/* ---- preferred elections' triggers (kb_ctl_preferred.c) ---- */

struct kb_ctl_preferred *kb_ctl_preferred_new(kb_controller_t *c);
void kb_ctl_preferred_free(struct kb_ctl_preferred *p);
/* The role begins: /admin/preferred_replica_election is read (and
 * watched), the imbalance check scheduled. */
void kb_ctl_preferred_role_taken(kb_controller_t *c);
void kb_ctl_preferred_role_ended(kb_controller_t *c);

#endif
