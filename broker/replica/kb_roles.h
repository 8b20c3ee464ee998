/*
 * kb_roles.h - a partition's role, as data: what the controller decides for
 * one partition (its leader, leader epoch, ISR and replicas), handed to the
 * partitions in batches through ONE entry point, kb_replicas_apply_roles().
 *
 * The LeaderAndIsr and StopReplica handlers (broker/kb_control_requests.c)
 * build them from the controller's requests, the only source of roles
 * (design.md "Who tells a broker its roles").  The partitions apply them so:
 *
 *   Hosting.  A partition whose replicas list this broker gets a local log
 *   (created off the loop the first time) and is hosted once it has one;
 *   one whose replicas do not list it loses its role (the log stays).
 *
 *   Fencing (design.md "Fencing", Kafka's LeaderAndIsr).  An update with an
 *   older leader epoch than the partition has seen is refused (logged and
 *   counted), whether or not the partition is assigned here now: a
 *   partition moved away at epoch 7 is not taken back by an update at
 *   epoch 5.  One without an epoch counts as older than any.  One with the
 *   same epoch is ignored unless it changes whether the partition is hosted
 *   here.  Only an update that says the partition was deleted makes it
 *   forget the epochs it saw, so that a topic created again under the same
 *   name starts over at epoch 0.  The leader changes its own ISR (the
 *   shrink, kb_partition_isr.c) with a conditional write of the state znode
 *   that keeps the leader epoch, and adopts the new ISR and zkVersion itself
 *   once that write succeeded, as Kafka does: the same-epoch update that
 *   later echoes the write back carries nothing new.
 *
 *   Resigning (kb_replicas_resign_leaderships).  Roles are given to one
 *   registration.  When this broker's ZooKeeper session expires, its
 *   registration is gone and a controller may already have moved every
 *   partition it led, so it stops leading them at once (clients hear
 *   NOT_LEADER_OR_FOLLOWER, waiting produces too) and takes the next update
 *   for each even at the same leader epoch: a controller that found nobody
 *   else to lead gives it the same epoch again.  Until then a client that
 *   kept its metadata is refused, not answered from a log another leader
 *   has moved past (a consumer ahead of it would get OFFSET_OUT_OF_RANGE
 *   and rewind, an idempotent producer OUT_OF_ORDER_SEQUENCE_NUMBER).
 *
 *   Budget.  A broker holds at most as many partition logs as its file
 *   descriptors allow (kb_fd_budget.h), so that the logs never take the
 *   descriptors its ZooKeeper session, listeners and checkpoints need.  A
 *   partition assigned here that needs a new log when none fits keeps its
 *   role but is not hosted (clients hear NOT_LEADER_OR_FOLLOWER, as before
 *   any LeaderAndIsr), its update is answered KB_ROLE_NO_ROOM (the
 *   controller hears KAFKA_STORAGE_ERROR), one line says how many and why
 *   (the first batch of updates at once, the partitions that begin to wait
 *   later summed into one line at most every 10 s; a line counts only
 *   partitions that still wait, each once), and it gets its log once
 *   deleted logs have closed their files (the log manager says so:
 *   kb_logmgr_on_room; a deleted log's slot stays taken while its files
 *   are open) or on the retry timer.  A deletion or stop of a waiting
 *   partition ends its wait.  The partitions that have their logs are not
 *   affected.
 *
 *   Stopping (StopReplica).  An update marked `stop` ends this broker's
 *   role without naming an assignment: the partition is no longer hosted
 *   (the log stays), and with `deleted` also forgets its epochs and loses
 *   its log: the log manager renames its dir at once and removes it later
 *   (kb_logmgr_delete), its waiting produces are answered
 *   UNKNOWN_TOPIC_OR_PARTITION, a log being created for it is deleted
 *   once made, and a log found here for a partition never hosted (loaded
 *   at start-up, its role never given again) is deleted as well.  The
 *   partition object stays, without a log (kb_partition.c).  It is
 *   fenced like Kafka 3.x fences StopReplica: an epoch older than the one
 *   seen is refused, an equal or newer one is taken (a controller stops a
 *   replica at the epoch it last gave it), and one without an epoch
 *   (Kafka's -1 and -2) stops the partition at whatever epoch it has seen.
 */
#ifndef KB_ROLES_H
#define KB_ROLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kb_replicas kb_replicas_t;

/* leader_epoch of a partition whose state is not known (no state znode
 * yet): such an update hosts the partition without a leader, and only a
 * partition that has not seen an epoch takes it. */
#define KB_ROLE_NO_EPOCH (-1)

/*
 * One partition's role.  The arrays and strings are borrowed for the
 * duration of kb_replicas_apply_roles.  The settings of the topic's logs
 * are not part of it: they arrive through kb_replicas_apply_topic_settings
 * (kb_partition.h), before the roles that need them.
 */
typedef struct kb_role_update {
    const char *topic;
    int32_t partition;
    int32_t leader;            /* broker id, or -1 */
    int32_t leader_epoch;      /* or KB_ROLE_NO_EPOCH */
    int32_t controller_epoch;  /* of the state: the leader's own ISR writes keep it */
    int32_t zk_version;        /* of the state znode: the leader's ISR writes are conditional on it */
    const int32_t *isr;
    int n_isr;
    const int32_t *replicas;   /* the assignment, in order */
    int n_replicas;
    bool deleted;              /* the partition no longer exists (its topic was deleted): it is
                                * unassigned and forgets its epochs; the other fields are ignored */
    bool stop;                 /* StopReplica: unassigned here whatever replicas says (see the top);
                                * only leader_epoch and deleted are read */
} kb_role_update_t;

/* What became of one update, for a caller that answers per partition (the
 * LeaderAndIsr and StopReplica handlers). */
typedef enum kb_role_outcome {
    KB_ROLE_APPLIED = 0,   /* taken: the partition's role or fencing epoch is the update's */
    KB_ROLE_REFUSED_STALE, /* older leader epoch than the partition had seen: nothing changed */
    KB_ROLE_IGNORED_SAME,  /* same leader epoch and nothing new: nothing changed */
    KB_ROLE_NOT_HERE,      /* never known here and not assigned here now: nothing to do */
    KB_ROLE_NO_MEMORY,     /* the partition could not be allocated: nothing changed */
    KB_ROLE_STORAGE_ERROR, /* deleted, but its log could not be renamed away: kept, try again */
    KB_ROLE_NO_ROOM,       /* assigned here, but a new log would not fit the broker's partition
                            * budget (kb_fd_budget.h): the role is kept, the partition is not
                            * hosted until room frees (see "Budget" above) */
} kb_role_outcome_t;

/* Applies n updates in order (the one entry point for roles the
 * controller gives; the session's expiry only takes them back, below). */
void kb_replicas_apply_roles(kb_replicas_t *r, const kb_role_update_t *u, size_t n);
/* The same, writing update i's outcome to out[i] (out holds n). */
void kb_replicas_apply_roles_outcomes(kb_replicas_t *r, const kb_role_update_t *u, size_t n,
                                      kb_role_outcome_t *out);

/* This broker's ZooKeeper session expired: every partition led here (or
 * about to be, once its log exists) resigns (see "Resigning" above).
 * Returns how many led here. */
size_t kb_replicas_resign_leaderships(kb_replicas_t *r);

/* Calls fn for each partition an update has ever assigned here (hosted,
 * waiting for its log, or moved away since, and not deleted): those that
 * may hold an epoch or a log.  fn may not apply roles. */
void kb_replicas_each_known(kb_replicas_t *r, void (*fn)(void *arg, const char *topic, int32_t partition),
                            void *arg);

/* Leadership changes, for the services that follow a partition's leader
 * (the group coordinator loads and unloads __consumer_offsets partitions).
 * fn(arg, topic, partition, leader, leader_epoch) runs on the loop each
 * time a partition with its log starts leading here (at a new epoch too)
 * or stops (demoted, unassigned, deleted, resigned).  fn may not apply
 * roles; it runs after the partition has failed its waiting produces.
 * One observer; NULL removes it. */
typedef void (*kb_leadership_fn)(void *arg, const char *topic, int32_t partition, bool leader,
                                 int32_t leader_epoch);
void kb_replicas_observe_leadership(kb_replicas_t *r, kb_leadership_fn fn, void *arg);

/* What became of the role updates applied so far. */
typedef struct kb_roles_stats {
    uint64_t applied;             /* changed a partition's role here (hosting, leadership, epoch, ISR) */
    uint64_t refused_stale_epoch; /* older leader epoch than the partition had seen */
    uint64_t ignored_same_epoch;
    uint64_t refused_no_room;     /* answered KB_ROLE_NO_ROOM */
    uint64_t waiting_for_room;    /* gauge: partitions assigned here that the budget keeps unhosted */
} kb_roles_stats_t;

void kb_replicas_roles_stats(const kb_replicas_t *r, kb_roles_stats_t *out);

#endif
