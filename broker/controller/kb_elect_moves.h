/*
 * kb_elect_moves.h - the election rules that move a leader that is alive
 * (zk-and-replication.md 2.6, 2.7), as pure functions beside kb_elect.h's
 * offline rule: the preferred-replica election (an operator's or the
 * automatic rebalance's), the controlled-shutdown election (the leader is
 * stopping) and a stopping follower's departure from the ISR.
 *
 * Who is live and who is shutting down is the caller's business (the
 * controller asks its cluster view and its shutting-down set); `shutting`
 * is asked only of live brokers and may be NULL (nobody is stopping).
 * Each fills `next` with leader epoch + 1, the caller's controller epoch
 * and the current zk_version (what the conditional write is checked
 * against); next->isr must have room for part->state.n_isr entries (at
 * least one).  None of them is defined for a partition without a state.
 */
#ifndef KB_ELECT_MOVES_H
#define KB_ELECT_MOVES_H

#include "broker/controller/kb_elect.h"

typedef enum kb_elect_outcome {
    KB_ELECT_CHANGED = 0,       /* next holds the new state to write */
    KB_ELECT_NOT_NEEDED,        /* nothing to do (the preferred replica leads already) */
    KB_ELECT_NOT_AVAILABLE,     /* no replica the rule allows can lead now */
} kb_elect_outcome_t;

/*
 * Preferred election: the first assigned replica, and only it, leads if it
 * is live, not shutting down and in the ISR; the ISR is unchanged.
 * KB_ELECT_NOT_NEEDED when it leads already (whatever else holds),
 * KB_ELECT_NOT_AVAILABLE when it cannot lead.
 */
kb_elect_outcome_t kb_elect_preferred(const kc_partition_t *part, int32_t controller_epoch, kb_elect_live_fn live,
                                      kb_elect_live_fn shutting, const void *arg, kc_partition_state_t *next);

/*
 * Controlled-shutdown election for a partition whose leader is shutting
 * down: the first replica in assignment order that is live, in the ISR and
 * not shutting down leads, and the ISR loses every member that is shutting
 * down.  KB_ELECT_NOT_NEEDED when the leader is not shutting down,
 * KB_ELECT_NOT_AVAILABLE when no replica qualifies (the leader stays: it
 * still serves until it stops).
 */
kb_elect_outcome_t kb_elect_controlled_shutdown(const kc_partition_t *part, int32_t controller_epoch,
                                                kb_elect_live_fn live, kb_elect_live_fn shutting, const void *arg,
                                                kc_partition_state_t *next);

/*
 * A stopping follower leaves the ISR (Kafka's replica going Offline): the
 * ISR loses `broker` unless it is its only member; the leader stays (it is
 * not `broker`: a leader moves by the election above).  KB_ELECT_NOT_NEEDED
 * when broker is not in the ISR, leads, or is its last member.
 */
kb_elect_outcome_t kb_elect_leave_isr(const kc_partition_t *part, int32_t controller_epoch, int32_t broker,
                                      kc_partition_state_t *next);

#endif
