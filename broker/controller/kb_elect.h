/*
 * kb_elect.h - the controller's leader-election rule as pure functions
 * (zk-and-replication.md 2.5-2.6, design.md "Fail over"), apart from the
 * ZooKeeper writes that apply it, so the rule can be tested on its own.
 *
 * Who is live is the caller's business (the controller asks its cluster
 * view); these functions only decide.
 */
#ifndef KB_ELECT_H
#define KB_ELECT_H

#include <stdbool.h>
#include <stdint.h>

#include "coord/kc_model.h"

/* True when broker_id is registered (live), as the caller knows it. */
typedef bool (*kb_elect_live_fn)(int32_t broker_id, const void *arg);

/*
 * The first state of a new partition: leader = the first live replica in
 * assignment order, ISR = every live replica in assignment order, leader
 * epoch 0, written by controller_epoch.  next->isr must have room for
 * part->n_replicas entries.  Returns false (no state yet) when no replica
 * is live.
 */
bool kb_elect_first_state(const kc_partition_t *part, int32_t controller_epoch, kb_elect_live_fn live,
                          const void *arg, kc_partition_state_t *next);

/*
 * Offline election for a partition with a state: the ISR loses its dead
 * members but never becomes empty (with no live member the last one stays,
 * so that the leader is the last replica known to hold everything); the
 * leader stays while it lives, else it is the first replica in assignment
 * order that is live and in the ISR.  With no live ISR member the
 * partition goes offline (leader -1) unless `unclean` (the topic's
 * unclean.leader.election.enable) is set: then the first live replica in
 * assignment order leads with ISR [itself], accepting that records only
 * the old ISR held are lost.  Returns true when the state must change;
 * next then has the new leader and ISR, leader epoch + 1, controller_epoch
 * and the current zk_version (what the conditional write is checked
 * against).  next->isr must have room for part->state.n_isr entries (at
 * least one).
 */
bool kb_elect_offline(const kc_partition_t *part, int32_t controller_epoch, kb_elect_live_fn live,
                      const void *arg, bool unclean, kc_partition_state_t *next);

/*
 * The same, with brokers in controlled shutdown (`shutting`, NULL: none;
 * it is asked only of live brokers) excluded from leadership, as Kafka's
 * "live" excludes them (spec 2.6): a live leader stays even while it shuts
 * down (moving it is the controlled-shutdown election's business, below),
 * and the ISR loses only its dead members while the leader lives; a new
 * leader is the first replica in assignment order that is live, not
 * shutting down and in the ISR, and the ISR then also loses the members
 * that are shutting down.  When only such members are left, the partition
 * goes offline with them as its ISR (no unclean election while they live
 * unless `unclean`: then the first live replica not shutting down leads
 * alone).  kb_elect_offline is this with no broker shutting down.
 */
bool kb_elect_offline_excluding(const kc_partition_t *part, int32_t controller_epoch, kb_elect_live_fn live,
                                kb_elect_live_fn shutting, const void *arg, bool unclean,
                                kc_partition_state_t *next);

#endif
