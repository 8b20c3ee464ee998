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

/* The first live replica in assignment order, or -1. */
static int32_t first_live_replica(const kc_partition_t *part, kb_elect_live_fn live, const void *arg) {
    for (int i = 0; i < part->n_replicas; i++)
        if (live(part->replicas[i], arg)) return part->replicas[i];
    return -1;
}

bool kb_elect_offline(const kc_partition_t *part, int32_t controller_epoch, kb_elect_live_fn live,
                      const void *arg, bool unclean, kc_partition_state_t *next) {
    const kc_partition_state_t *cur = &part->state;
    int n_isr = 0;
    for (int i = 0; i < cur->n_isr; i++)
        if (live(cur->isr[i], arg)) next->isr[n_isr++] = cur->isr[i];
    int32_t leader = -1;
    for (int i = 0; i < part->n_replicas && leader < 0; i++)
        if (kc_int32_contains(next->isr, n_isr, part->replicas[i])) leader = part->replicas[i];
    if (n_isr == 0 && unclean && (leader = first_live_replica(part, live, arg)) >= 0)
        next->isr[n_isr++] = leader; /* unclean: a replica outside the ISR leads alone */
    else if (n_isr == 0 && cur->n_isr > 0)
        next->isr[n_isr++] = cur->isr[cur->n_isr - 1];
    next->n_isr = n_isr;
    next->leader = leader;
    if (cur->leader >= 0 && live(cur->leader, arg)) next->leader = cur->leader; /* only shrink the ISR */
    if (next->leader == cur->leader && next->n_isr == cur->n_isr) return false;
    next->leader_epoch = cur->leader_epoch + 1;
    next->controller_epoch = controller_epoch;
    next->zk_version = cur->zk_version;
    return true;
}
