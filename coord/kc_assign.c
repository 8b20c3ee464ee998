/*
 * kc_assign.c - Kafka's rack-unaware replica assignment
 * (../shared/specs/zk-and-replication.md section 5).
 *
 * Kafka lays out replicas so that leaders go round-robin from a random broker
 * and followers sit at a shifting offset from their leader; the shift grows
 * each time the partition ids wrap around the broker list, which spreads
 * followers evenly too.  This file reproduces that arithmetic exactly, so a
 * topic created by kbroker-admin lays out like one made by
 * kafka-topics.sh --zookeeper with the same draws.  Partitions added to an
 * existing topic use the same arithmetic without a draw: start and shift
 * come from partition 0's first replica, and partition ids continue from
 * the existing count, so the shift only moves on wraps among the new ids.
 *
 * Randomness: start and shift are two independent draws from getrandom(2),
 * so no process-wide generator has to be seeded and two tools started in the
 * same second still pick different layouts.  Should getrandom() fail (it can
 * only do so on kernels without it), the draw falls back to random(), which
 * still yields a valid, if predictable, layout.
 */
#include "coord/kc_assign.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

static uint32_t random_u32(void) {
    uint32_t v;
    ssize_t got;

    do {
        got = getrandom(&v, sizeof(v), 0);
    } while (got < 0 && errno == EINTR);
    if (got != (ssize_t)sizeof(v)) return (uint32_t)random();
    return v;
}

/* Uniform in [0, n-1] for n >= 1: draws above the largest multiple of n are
 * rejected so small ids are not favoured. */
static int random_below(int n) {
    uint32_t limit = UINT32_MAX - UINT32_MAX % (uint32_t)n;
    uint32_t v;

    do {
        v = random_u32();
    } while (v >= limit);
    return (int)(v % (uint32_t)n);
}

/* Writes the rf replicas of partition p (given the current shift) to out. */
static void assign_partition(const int32_t *brokers, int n, int rf, int64_t p, int start,
                             int64_t shift, int32_t *out) {
    int64_t first = (p + start) % n;

    out[0] = brokers[first];
    /* rf <= n, so with rf >= 2 n - 1 is at least 1 here; the offset
     * 1 + (shift + j) % (n - 1) ranges over 1..n-1 and never lands on the
     * leader, and distinct j give distinct offsets. */
    for (int j = 0; j < rf - 1; j++) {
        int64_t offset = 1 + (shift + j) % (n - 1);
        out[1 + j] = brokers[(first + offset) % n];
    }
}

int kc_assign_replicas(const int32_t *brokers, int n_brokers, int n_partitions, int rf,
                       int fixed_start, int start_partition_id, int32_t *out) {
    if (n_partitions <= 0 || rf <= 0 || rf > n_brokers) return -1;

    int start = fixed_start >= 0 ? fixed_start : random_below(n_brokers);
    int64_t shift = fixed_start >= 0 ? fixed_start : random_below(n_brokers);
    int64_t p = start_partition_id > 0 ? start_partition_id : 0;

    for (int i = 0; i < n_partitions; i++, p++) {
        if (p > 0 && p % n_brokers == 0) shift++;
        assign_partition(brokers, n_brokers, rf, p, start, shift, out + (size_t)i * (size_t)rf);
    }
    return 0;
}

/* Index of the first broker whose id is >= first_replica (brokers are
 * ascending), or 0 when every broker's id is smaller. */
static int added_start(const int32_t *brokers, int n_brokers, int32_t first_replica) {
    for (int i = 0; i < n_brokers; i++)
        if (brokers[i] >= first_replica) return i;
    return 0;
}

int kc_assign_added_replicas(const int32_t *brokers, int n_brokers, int32_t first_replica, int existing,
                             int n_added, int rf, int32_t *out) {
    if (existing < 1 || n_brokers < 1) return -1;
    int start = added_start(brokers, n_brokers, first_replica);
    return kc_assign_replicas(brokers, n_brokers, n_added, rf, start, existing, out);
}
