/*
 * kb_reassign.h - the controller's reassignment rules as pure functions
 * (zk-and-replication.md 2.6 "Reassign", 2.7 "Reassignment"; Kafka 2.6's
 * ReplicaAssignment and KafkaController.onPartitionReassignment), apart from
 * the ZooKeeper writes that apply them (kb_ctl_reassign.c), so each rule
 * can be tested on its own.
 *
 * Names are Kafka's: RS the replicas the topic znode lists for the
 * partition, ORS the original replicas (RS - adding), TRS the target
 * replicas (RS - removing), AR = TRS - ORS the replicas being added,
 * RR = ORS - TRS those being removed.  While a reassignment runs,
 * RS = TRS followed by the replicas of ORS not in TRS.  Every list keeps
 * its order; the first replica of a list is its preferred leader.
 */
#ifndef KB_REASSIGN_H
#define KB_REASSIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/controller/kb_elect.h"
#include "coord/kc_model.h"

/* One partition's assignment as the topic znode holds it. */
typedef struct kb_reassign_lists {
    int n_replicas;
    int32_t *replicas;
    int n_adding;
    int32_t *adding;
    int n_removing;
    int32_t *removing;
} kb_reassign_lists_t;

/* The elements of a (n_a, in order) that are not in b, written to out
 * (room for n_a); returns how many. */
int kb_reassign_minus(const int32_t *a, int n_a, const int32_t *b, int n_b, int32_t *out);

/* ORS: the partition's replicas without those being added (out has room
 * for p->n_replicas); TRS: without those being removed.  Return counts. */
int kb_reassign_origin(const kc_partition_t *p, int32_t *out);
int kb_reassign_target(const kc_partition_t *p, int32_t *out);

/*
 * Kafka's ReplicaAssignment.reassignTo: moving a partition whose original
 * replicas are `origin` to `target` lists replicas = target followed by
 * origin - target, adding = target - origin, removing = origin - target.
 * out's three arrays need room for n_target + n_origin entries each.
 */
void kb_reassign_to(const int32_t *target, int n_target, const int32_t *origin, int n_origin,
                    kb_reassign_lists_t *out);

/* Every target replica is in the partition's ISR (Kafka's
 * isReassignmentComplete); false without a state. */
bool kb_reassign_caught_up(const kc_partition_t *p);

/* True when every one of the n ids is in v (n_v). */
bool kb_reassign_subset(const int32_t *ids, int n, const int32_t *v, int n_v);

typedef enum kb_reassign_prep {
    KB_REASSIGN_READY, /* the state allows the topic znode to list `keep` alone: write it */
    KB_REASSIGN_WRITE, /* write *next first (leader moved into keep, the others out of the ISR) */
    KB_REASSIGN_STUCK, /* no live replica of keep is in the ISR to lead: wait */
} kb_reassign_prep_t;

/*
 * Before a partition's replicas can shrink to `keep` (the target at the
 * end of a reassignment, or the new replica list when a request replaces
 * one under way), its state must have a live leader among keep and no
 * replica outside keep in its ISR: otherwise the replicas leaving would
 * lead, or count towards acks=all, after they stop.  READY when that holds
 * (or the partition has no state yet).  Else WRITE with *next: the leader
 * kept when it is in keep and live, else Kafka's Reassign election (the
 * first replica of keep, in keep's order, that is live and in the ISR);
 * the ISR cut to its members in keep (in ISR order); leader epoch + 1;
 * controller_epoch; the current zk_version (what the write is conditional
 * on).  STUCK when no replica of keep could lead.  next->isr must have
 * room for p->state.n_isr entries.
 */
kb_reassign_prep_t kb_reassign_prepare(const kc_partition_t *p, const int32_t *keep, int n_keep,
                                       int32_t controller_epoch, kb_elect_live_fn live, const void *arg,
                                       kc_partition_state_t *next);

/* The state written with a reassignment's topic znode: leader and ISR
 * unchanged (next->isr borrows cur->isr), leader epoch + 1 so that every
 * replica takes the new replica list, controller_epoch, cur's zk_version. */
void kb_reassign_bump(const kc_partition_state_t *cur, int32_t controller_epoch, kc_partition_state_t *next);

#endif
