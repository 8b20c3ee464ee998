/*
 * kb_isr.h - the rules a partition leader keeps its ISR by, as Kafka 2.6
 * states them (zk-and-replication.md 3.3-3.5), in pure functions over plain
 * values: no clock, no ZooKeeper, no partition, so each rule is tested
 * alone (tests/unit/test_isr.c) and kb_partition_isr.c only applies them.
 *
 * Times are milliseconds of one monotonic clock; KB_ISR_NEVER stands for
 * "never" (Kafka's 0 on a wall clock).
 */
#ifndef KB_ISR_H
#define KB_ISR_H

#include <stdbool.h>
#include <stdint.h>

#define KB_OFFSET_UNKNOWN (-1) /* a follower's log end offset before its first fetch */
#define KB_ISR_NEVER (-1)      /* a time that has not happened */

/* How often the leaders' ISR changes are considered for publication, and
 * the publication rule's two delays (Kafka 2.6 ReplicaManager: 2.5 s, 5 s
 * without a new change, 60 s since the last publication). */
#define KB_ISR_PUBLISH_CHECK_MS 2500
#define KB_ISR_PUBLISH_QUIET_MS 5000
#define KB_ISR_PUBLISH_MAX_DELAY_MS 60000

/*
 * What the leader knows of one follower (Kafka's Replica).  Only fetches
 * from the follower move leo and last_caught_up_ms (kb_follower_fetched),
 * and only a new leadership or leader epoch resets them.
 */
typedef struct kb_follower {
    int32_t broker_id;
    bool assigned;                 /* in the assignment (not only in a hand-written ISR): may join */
    int64_t leo;                   /* its fetch offset = its log end offset, or KB_OFFSET_UNKNOWN */
    int64_t last_caught_up_ms;     /* last time it had everything the leader had; KB_ISR_NEVER */
    int64_t last_fetch_ms;         /* time of its previous fetch; KB_ISR_NEVER */
    int64_t last_fetch_leader_leo; /* leader's LEO at that fetch; KB_OFFSET_UNKNOWN */
} kb_follower_t;

/* The record of broker id among followers[0..n), or NULL. */
const kb_follower_t *kb_follower_find(const kb_follower_t *followers, int n, int32_t id);

/* The become-leader reset (Kafka 2.6 Partition.makeLeader), for every new
 * leader epoch: an ISR member counts as caught up now, any other replica as
 * never; on a new leadership (not just a new epoch) its LEO becomes unknown. */
void kb_follower_reset(kb_follower_t *f, bool in_isr, bool new_leadership, int64_t leader_leo, int64_t now_ms);

/* A fetch from the follower at fetch_offset arrived at now_ms while the
 * leader's LEO was leader_leo (spec 3.3): caught up now if it asked for
 * everything, else caught up at its previous fetch if it has reached the
 * leader's LEO of that time.  The leader's replica fetch handler calls it. */
void kb_follower_fetched(kb_follower_t *f, int64_t fetch_offset, int64_t leader_leo, int64_t now_ms);

/* Out of sync (spec 3.4): its LEO differs from the leader's (an unknown LEO
 * always does) and it has not been caught up for more than max_lag_ms. */
bool kb_isr_out_of_sync(const kb_follower_t *f, int64_t leader_leo, int64_t now_ms, int64_t max_lag_ms);

/*
 * The shrunken ISR: writes isr without its out-of-sync followers, in order,
 * to out (room for n_isr) and returns their count; n_isr means no change.
 * The leader itself always stays; an ISR member without a follower record
 * cannot be in sync and goes.  Returns -1, and changes nothing, when the
 * leader is not in isr (no state the controller writes; never shrink it).
 */
int kb_isr_shrink(const int32_t *isr, int n_isr, int32_t leader, const kb_follower_t *followers, int n_followers,
                  int64_t leader_leo, int64_t now_ms, int64_t max_lag_ms, int32_t *out);

/*
 * The leader's high watermark candidate (spec 3.2, Kafka 2.6): the least of
 * its own LEO, the LEO of every ISR follower, and the LEO of every other
 * follower that was caught up within max_lag_ms (so a follower about to
 * join does not see the HW run past it).  An ISR follower without a record
 * or whose LEO is not known yet holds the candidate at KB_OFFSET_UNKNOWN:
 * the caller moves the HW forward only, so it stays where it is.
 */
int64_t kb_isr_hw_candidate(const int32_t *isr, int n_isr, int32_t leader, const kb_follower_t *followers,
                            int n_followers, int64_t leader_leo, int64_t now_ms, int64_t max_lag_ms);

/* Whether a follower outside the ISR may join it (spec 3.4, Kafka 2.6
 * isFollowerInSync): its LEO has reached the leader's high watermark and
 * the offset at which the leader's current epoch began. */
bool kb_isr_may_join(const kb_follower_t *f, int64_t high_watermark, int64_t epoch_start_offset);

/* Kafka 2.6's publication rule for accumulated ISR changes: publish when
 * some are pending and either no new one came for KB_ISR_PUBLISH_QUIET_MS
 * or the last publication is more than KB_ISR_PUBLISH_MAX_DELAY_MS old. */
bool kb_isr_publish_due(bool pending, int64_t last_change_ms, int64_t last_publish_ms, int64_t now_ms);

/* The period of the shrink check: replica.lag.time.max.ms / 2, at least 1. */
int64_t kb_isr_check_interval_ms(int64_t max_lag_ms);

#endif
