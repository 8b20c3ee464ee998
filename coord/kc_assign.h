/*
 * kc_assign.h - Kafka's replica assignment
 * (../shared/specs/zk-and-replication.md section 5): rack-unaware, and
 * rack-aware when every broker has broker.rack.
 */
#ifndef KC_ASSIGN_H
#define KC_ASSIGN_H

#include <stdbool.h>
#include <stdint.h>

/* How the brokers' racks are used (Kafka's RackAwareMode). */
typedef enum {
    KC_RACKS_ENFORCED, /* all or none must have a rack (the command-line tools) */
    KC_RACKS_SAFE,     /* racks only when all have one (automatic creation) */
    KC_RACKS_DISABLED, /* racks ignored (--disable-rack-aware) */
} kc_rack_mode_t;

/*
 * The racks a layout over `n` brokers is made with, as Kafka's
 * getBrokerMetadatas decides: `racks` (parallel to the brokers, NULL
 * entries for brokers without broker.rack) when every broker has one and
 * mode is not DISABLED; NULL (rack-unaware) otherwise.  *mixed is set when
 * mode is ENFORCED and only some brokers have a rack: the caller refuses.
 */
const char *const *kc_assign_racks_used(const char *const *racks, int n, kc_rack_mode_t mode, bool *mixed);

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
 * Kafka's rack-aware layout (AdminUtils.assignReplicasToBrokersRackAware):
 * racks[i] (non-NULL) is brokers[i]'s rack.  The brokers are first arranged
 * rack by rack (racks in strcmp order, each rack's ids ascending, one id
 * per rack in turn), then laid out as kc_assign_replicas does, except that
 * a follower is skipped while its rack already has a replica of the
 * partition and some rack has none, or its broker already has one.  So
 * every partition spans min(rf, racks) racks.  Same arguments and result
 * as kc_assign_replicas, plus -1 when out of memory.
 */
int kc_assign_replicas_racked(const int32_t *brokers, const char *const *racks, int n_brokers, int n_partitions,
                              int rf, int fixed_start, int start_partition_id, int32_t *out);

/*
 * Kafka's layout for partitions added to an existing topic (spec section 5,
 * "Adding partitions"): partitions existing .. existing + n_added - 1 over
 * `brokers` (ascending), start and shift both fixed at the index of the
 * first broker whose id is >= first_replica (partition 0's first replica),
 * or 0 when there is none, so the new leaders continue the round-robin of
 * the old ones instead of starting at random.  rf is the topic's current
 * replication factor.  racks (NULL: rack-unaware) as kc_assign_replicas_racked
 * takes them; the start index is still found in the ascending list, as
 * Kafka's addPartitions does.  Writes n_added * rf ids to out; returns 0,
 * or -1 on the arguments kc_assign_replicas refuses (existing < 1 included).
 */
int kc_assign_added_replicas(const int32_t *brokers, const char *const *racks, int n_brokers,
                             int32_t first_replica, int existing, int n_added, int rf, int32_t *out);

#endif
