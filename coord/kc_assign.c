/*
 * kc_assign.c - Kafka's replica assignment
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
 * With racks (every broker has broker.rack) Kafka first arranges the
 * brokers so that consecutive ones sit in different racks, then uses the
 * same arithmetic with the shift scaled by the rack count and skips
 * followers that would put a second replica in a rack while another has
 * none; kc_assign_replicas_racked reproduces that too.
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
#include <string.h>
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

/* ---- rack-aware ---- */

const char *const *kc_assign_racks_used(const char *const *racks, int n, kc_rack_mode_t mode, bool *mixed) {
    int with = 0;
    *mixed = false;
    if (!racks || mode == KC_RACKS_DISABLED) return NULL;
    for (int i = 0; i < n; i++) with += racks[i] != NULL;
    if (with == 0) return NULL;
    if (with < n) {
        *mixed = mode == KC_RACKS_ENFORCED;
        return NULL;
    }
    return racks;
}

typedef struct rack_id {
    const char *rack;
    int32_t id;
} rack_id_t;

/* The brokers in Kafka's rack-alternated order, with each one's rack as
 * an index 0 .. n_racks - 1. */
typedef struct racked {
    int32_t *ids;
    int *rack_of;
    int n, n_racks;
} racked_t;

static int cmp_rack_id(const void *a, const void *b) {
    const rack_id_t *x = a, *y = b;
    int c = strcmp(x->rack, y->rack);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

static void racked_free(racked_t *r) {
    free(r->ids);
    free(r->rack_of);
}

/* Takes one broker from each rack in turn (racks in strcmp order, ids
 * ascending within a rack) until every broker is taken: Kafka's
 * getRackAlternatedBrokerList.  first[k] is where rack k's brokers start
 * in the sorted pairs; each pass over the racks takes at least one. */
static int arrange(const int32_t *brokers, const char *const *racks, int n, racked_t *r) {
    rack_id_t *pairs = malloc((size_t)n * sizeof(*pairs));
    int *first = malloc((size_t)(n + 1) * sizeof(*first)), *taken = calloc((size_t)n, sizeof(*taken));
    r->ids = malloc((size_t)n * sizeof(*r->ids));
    r->rack_of = malloc((size_t)n * sizeof(*r->rack_of));
    r->n = n;
    r->n_racks = 0;
    int rc = pairs && first && taken && r->ids && r->rack_of ? 0 : -1;
    if (rc == 0) {
        for (int i = 0; i < n; i++) pairs[i] = (rack_id_t){racks[i], brokers[i]};
        qsort(pairs, (size_t)n, sizeof(*pairs), cmp_rack_id);
        for (int i = 0; i < n; i++)
            if (i == 0 || strcmp(pairs[i].rack, pairs[i - 1].rack) != 0) first[r->n_racks++] = i;
        first[r->n_racks] = n;
        for (int out = 0, k = 0; out < n; k = (k + 1) % r->n_racks) {
            if (first[k] + taken[k] == first[k + 1]) continue; /* rack k is used up */
            r->ids[out] = pairs[first[k] + taken[k]++].id;
            r->rack_of[out++] = k;
        }
    }
    free(pairs);
    free(first);
    free(taken);
    if (rc != 0) racked_free(r);
    return rc;
}

/* Kafka's replicaIndex: the arranged index of follower candidate k for the
 * partition whose leader is at `first`, given the (rack-scaled) shift. */
static int follower_index(int first, int64_t shift, int64_t k, int n) {
    return (int)((first + 1 + (shift + k) % (n - 1)) % n);
}

/* The rf replicas of the partition led by r->ids[first]; the scratch
 * arrays rack_has (n_racks) and broker_has (n) are cleared here.  Each
 * follower is the next candidate, in Kafka's order, whose rack holds no
 * replica yet (unless every rack does) and whose broker holds none (unless
 * every broker does).  Among n - 1 consecutive candidates every other
 * broker comes once, and one of them qualifies while brokers are left, so
 * the bound is never reached; -1 if it were. */
static int place_racked(const racked_t *r, int rf, int first, int64_t shift, bool *rack_has, bool *broker_has,
                        int32_t *out) {
    memset(rack_has, 0, (size_t)r->n_racks * sizeof(*rack_has));
    memset(broker_has, 0, (size_t)r->n * sizeof(*broker_has));
    int racks_with = 1, brokers_with = 1;
    int64_t k = 0;
    out[0] = r->ids[first];
    rack_has[r->rack_of[first]] = broker_has[first] = true;
    for (int j = 1; j < rf; j++) {
        bool placed = false;
        for (int tries = 0; tries < r->n && !placed; tries++, k++) {
            int i = follower_index(first, shift * r->n_racks, k, r->n), rack = r->rack_of[i];
            if ((rack_has[rack] && racks_with < r->n_racks) || (broker_has[i] && brokers_with < r->n)) continue;
            out[j] = r->ids[i];
            racks_with += !rack_has[rack];
            brokers_with += !broker_has[i];
            rack_has[rack] = broker_has[i] = placed = true;
        }
        if (!placed) return -1;
    }
    return 0;
}

int kc_assign_replicas_racked(const int32_t *brokers, const char *const *racks, int n_brokers, int n_partitions,
                              int rf, int fixed_start, int start_partition_id, int32_t *out) {
    if (n_partitions <= 0 || rf <= 0 || rf > n_brokers) return -1;
    racked_t r;
    if (arrange(brokers, racks, n_brokers, &r) != 0) return -1;
    bool *rack_has = malloc((size_t)r.n_racks * sizeof(*rack_has));
    bool *broker_has = malloc((size_t)r.n * sizeof(*broker_has));
    int rc = rack_has && broker_has ? 0 : -1;
    int start = fixed_start >= 0 ? fixed_start : random_below(n_brokers);
    int64_t shift = fixed_start >= 0 ? fixed_start : random_below(n_brokers);
    int64_t p = start_partition_id > 0 ? start_partition_id : 0;
    for (int i = 0; rc == 0 && i < n_partitions; i++, p++) {
        if (p > 0 && p % n_brokers == 0) shift++;
        rc = place_racked(&r, rf, (int)((p + start) % n_brokers), shift, rack_has, broker_has,
                          out + (size_t)i * (size_t)rf);
    }
    free(rack_has);
    free(broker_has);
    racked_free(&r);
    return rc;
}

/* ---- partitions added to a topic ---- */

/* Index of the first broker whose id is >= first_replica (brokers are
 * ascending), or 0 when every broker's id is smaller. */
static int added_start(const int32_t *brokers, int n_brokers, int32_t first_replica) {
    for (int i = 0; i < n_brokers; i++)
        if (brokers[i] >= first_replica) return i;
    return 0;
}

int kc_assign_added_replicas(const int32_t *brokers, const char *const *racks, int n_brokers,
                             int32_t first_replica, int existing, int n_added, int rf, int32_t *out) {
    if (existing < 1 || n_brokers < 1) return -1;
    int start = added_start(brokers, n_brokers, first_replica);
    if (racks) return kc_assign_replicas_racked(brokers, racks, n_brokers, n_added, rf, start, existing, out);
    return kc_assign_replicas(brokers, n_brokers, n_added, rf, start, existing, out);
}
