/*
 * kc_assign.h - Kafka's rack-unaware replica assignment
 * (../shared/specs/zk-and-replication.md section 5).
 */
#ifndef KC_ASSIGN_H
#define KC_ASSIGN_H

#include <stdint.h>

/*
 * Assign replicas for partitions start_partition_id .. start_partition_id +
 * n_partitions - 1 over `brokers` (used in the order given: callers pass ids
 * sorted ascending, as Kafka's ZooKeeper paths do).  fixed_start < 0 draws
 * start and shift at random (two independent draws); otherwise both equal
 * fixed_start.  Writes n_partitions * rf broker ids to out, partition-major.
 * Returns 0, or -1 when n_partitions <= 0 or rf <= 0 or rf > n_brokers.
 */
int kc_assign_replicas(const int32_t *brokers, int n_brokers, int n_partitions, int rf,
                       int fixed_start, int start_partition_id, int32_t *out);

/*
 * Kafka's layout for partitions added to an existing topic (spec section 5,
 * "Adding partitions"): partitions existing .. existing + n_added - 1 over
 * `brokers` (ascending), start and shift both fixed at the index of the
 * first broker whose id is >= first_replica (partition 0's first replica),
 * or 0 when there is none, so the new leaders continue the round-robin of
 * the old ones instead of starting at random.  rf is the topic's current
 * replication factor.  Writes n_added * rf ids to out; returns 0, or -1 on
 * the arguments kc_assign_replicas refuses (existing < 1 included).
 */
int kc_assign_added_replicas(const int32_t *brokers, int n_brokers, int32_t first_replica, int existing,
                             int n_added, int rf, int32_t *out);

#endif
