/*
 * kb_reassign.c - the controller's reassignment rules (see kb_reassign.h).
 * Lists are a few replicas long, so membership is a linear scan.
 */
#include "broker/controller/kb_reassign.h"

int kb_reassign_minus(const int32_t *a, int n_a, const int32_t *b, int n_b, int32_t *out) {
    int n = 0;
    for (int i = 0; i < n_a; i++)
        if (!kc_int32_contains(b, n_b, a[i])) out[n++] = a[i];
    return n;
}

int kb_reassign_origin(const kc_partition_t *p, int32_t *out) {
    return kb_reassign_minus(p->replicas, p->n_replicas, p->adding, p->n_adding, out);
}

int kb_reassign_target(const kc_partition_t *p, int32_t *out) {
    return kb_reassign_minus(p->replicas, p->n_replicas, p->removing, p->n_removing, out);
}

void kb_reassign_to(const int32_t *target, int n_target, const int32_t *origin, int n_origin,
                    kb_reassign_lists_t *out) {
    int n = 0;
    for (int i = 0; i < n_target; i++) out->replicas[n++] = target[i];
    n += kb_reassign_minus(origin, n_origin, target, n_target, out->replicas + n);
    out->n_replicas = n;
    out->n_adding = kb_reassign_minus(target, n_target, origin, n_origin, out->adding);
    out->n_removing = kb_reassign_minus(origin, n_origin, target, n_target, out->removing);
}

bool kb_reassign_subset(const int32_t *ids, int n, const int32_t *v, int n_v) {
    for (int i = 0; i < n; i++)
        if (!kc_int32_contains(v, n_v, ids[i])) return false;
    return true;
}

bool kb_reassign_caught_up(const kc_partition_t *p) {
    if (!p->has_state) return false;
    for (int i = 0; i < p->n_replicas; i++) {
        int32_t r = p->replicas[i];
        if (!kc_int32_contains(p->removing, p->n_removing, r) && !kc_int32_contains(p->state.isr, p->state.n_isr, r))
            return false;
    }
    return true;
}

/* Kafka's ReassignPartitionLeaderElectionStrategy over keep: its first
 * replica that is live and in the ISR, or -1. */
static int32_t reassign_leader(const kc_partition_state_t *cur, const int32_t *keep, int n_keep,
                               kb_elect_live_fn live, const void *arg) {
    for (int i = 0; i < n_keep; i++)
        if (live(keep[i], arg) && kc_int32_contains(cur->isr, cur->n_isr, keep[i])) return keep[i];
    return -1;
}

kb_reassign_prep_t kb_reassign_prepare(const kc_partition_t *p, const int32_t *keep, int n_keep,
                                       int32_t controller_epoch, kb_elect_live_fn live, const void *arg,
                                       kc_partition_state_t *next) {
    if (!p->has_state) return KB_REASSIGN_READY;
    const kc_partition_state_t *cur = &p->state;
    bool leader_stays = cur->leader >= 0 && kc_int32_contains(keep, n_keep, cur->leader) && live(cur->leader, arg);
    if (leader_stays && kb_reassign_subset(cur->isr, cur->n_isr, keep, n_keep)) return KB_REASSIGN_READY;
    int32_t leader = leader_stays ? cur->leader : reassign_leader(cur, keep, n_keep, live, arg);
    if (leader < 0) return KB_REASSIGN_STUCK;
    int n = 0;
    for (int i = 0; i < cur->n_isr; i++)
        if (kc_int32_contains(keep, n_keep, cur->isr[i])) next->isr[n++] = cur->isr[i];
    next->n_isr = n; /* never empty: the leader is in keep and in the ISR */
    next->leader = leader;
    next->leader_epoch = cur->leader_epoch + 1;
    next->controller_epoch = controller_epoch;
    next->zk_version = cur->zk_version;
    return KB_REASSIGN_WRITE;
}

void kb_reassign_bump(const kc_partition_state_t *cur, int32_t controller_epoch, kc_partition_state_t *next) {
    *next = *cur;
    next->leader_epoch = cur->leader_epoch + 1;
    next->controller_epoch = controller_epoch;
}
