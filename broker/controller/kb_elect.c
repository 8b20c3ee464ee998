/*
 * kb_elect.c - the controller's leader-election rule (see kb_elect.h).
 */
#include "broker/controller/kb_elect.h"

bool kb_elect_first_state(const kc_partition_t *part, int32_t controller_epoch, kb_elect_live_fn live,
                          const void *arg, kc_partition_state_t *next) {
    int n = 0;
    for (int i = 0; i < part->n_replicas; i++)
        if (live(part->replicas[i], arg)) next->isr[n++] = part->replicas[i];
    if (n == 0) return false;
    next->leader = next->isr[0];
    next->leader_epoch = 0;
    next->controller_epoch = controller_epoch;
    next->n_isr = n;
    return true;
}

/* Live and not in controlled shutdown: may be elected. */
static bool eligible(int32_t id, kb_elect_live_fn live, kb_elect_live_fn shutting, const void *arg) {
    return live(id, arg) && !(shutting && shutting(id, arg));
}

/* The first eligible replica in assignment order, or -1. */
static int32_t first_eligible_replica(const kc_partition_t *part, kb_elect_live_fn live, kb_elect_live_fn shutting,
                                      const void *arg) {
    for (int i = 0; i < part->n_replicas; i++)
        if (eligible(part->replicas[i], live, shutting, arg)) return part->replicas[i];
    return -1;
}

/* The first replica in assignment order that is in isr and not shutting
 * down (isr holds live members only), or -1. */
static int32_t first_in_isr(const kc_partition_t *part, const int32_t *isr, int n_isr, kb_elect_live_fn shutting,
                            const void *arg) {
    for (int i = 0; i < part->n_replicas; i++) {
        int32_t r = part->replicas[i];
        if (kc_int32_contains(isr, n_isr, r) && !(shutting && shutting(r, arg))) return r;
    }
    return -1;
}

/* isr without the members shutting down, in place; returns the count. */
static int drop_shutting(int32_t *isr, int n, kb_elect_live_fn shutting, const void *arg) {
    int kept = 0;
    for (int i = 0; i < n; i++)
        if (!(shutting && shutting(isr[i], arg))) isr[kept++] = isr[i];
    return kept;
}

/* The leader is dead (or there is none): next->isr holds the live ISR
 * members (n_live of them); picks the leader and trims the ISR. */
static int32_t elect_new_leader(const kc_partition_t *part, kb_elect_live_fn live, kb_elect_live_fn shutting,
                                const void *arg, bool unclean, kc_partition_state_t *next, int n_live) {
    const kc_partition_state_t *cur = &part->state;
    int32_t leader = first_in_isr(part, next->isr, n_live, shutting, arg);
    if (leader >= 0) {
        next->n_isr = drop_shutting(next->isr, n_live, shutting, arg);
        return leader;
    }
    next->n_isr = n_live;
    if (unclean && (leader = first_eligible_replica(part, live, shutting, arg)) >= 0) {
        next->isr[0] = leader; /* unclean: a replica outside the ISR leads alone */
        next->n_isr = 1;
    } else if (n_live == 0 && cur->n_isr > 0) {
        next->isr[0] = cur->isr[cur->n_isr - 1]; /* the last member stays, the partition offline */
        next->n_isr = 1;
    }
    return leader;
}

bool kb_elect_offline_excluding(const kc_partition_t *part, int32_t controller_epoch, kb_elect_live_fn live,
                                kb_elect_live_fn shutting, const void *arg, bool unclean,
                                kc_partition_state_t *next) {
    const kc_partition_state_t *cur = &part->state;
    int n_live = 0;
    for (int i = 0; i < cur->n_isr; i++)
        if (live(cur->isr[i], arg)) next->isr[n_live++] = cur->isr[i];
    if (cur->leader >= 0 && live(cur->leader, arg)) { /* only shrink the ISR */
        next->leader = cur->leader;
        next->n_isr = n_live;
        if (n_live == 0 && cur->n_isr > 0) next->isr[next->n_isr++] = cur->isr[cur->n_isr - 1];
    } else {
        next->leader = elect_new_leader(part, live, shutting, arg, unclean, next, n_live);
    }
    if (next->leader == cur->leader && next->n_isr == cur->n_isr) return false;
    next->leader_epoch = cur->leader_epoch + 1;
    next->controller_epoch = controller_epoch;
    next->zk_version = cur->zk_version;
    return true;
}

bool kb_elect_offline(const kc_partition_t *part, int32_t controller_epoch, kb_elect_live_fn live,
                      const void *arg, bool unclean, kc_partition_state_t *next) {
    return kb_elect_offline_excluding(part, controller_epoch, live, NULL, arg, unclean, next);
}
