/*
 * kb_elect_moves.c - the election rules that move a living leader (see
 * kb_elect_moves.h).
 */
#include "broker/controller/kb_elect_moves.h"

static bool is_shutting(int32_t id, kb_elect_live_fn shutting, const void *arg) {
    return shutting && shutting(id, arg);
}

/* next takes the new leader and the bumped epochs; its ISR is the caller's. */
static void stamp(const kc_partition_state_t *cur, int32_t leader, int32_t controller_epoch,
                  kc_partition_state_t *next) {
    next->leader = leader;
    next->leader_epoch = cur->leader_epoch + 1;
    next->controller_epoch = controller_epoch;
    next->zk_version = cur->zk_version;
}

kb_elect_outcome_t kb_elect_preferred(const kc_partition_t *part, int32_t controller_epoch, kb_elect_live_fn live,
                                      kb_elect_live_fn shutting, const void *arg, kc_partition_state_t *next) {
    const kc_partition_state_t *cur = &part->state;
    if (part->n_replicas == 0) return KB_ELECT_NOT_AVAILABLE;
    int32_t preferred = part->replicas[0];
    if (cur->leader == preferred) return KB_ELECT_NOT_NEEDED;
    if (!live(preferred, arg) || is_shutting(preferred, shutting, arg) ||
        !kc_int32_contains(cur->isr, cur->n_isr, preferred))
        return KB_ELECT_NOT_AVAILABLE;
    for (int i = 0; i < cur->n_isr; i++) next->isr[i] = cur->isr[i];
    next->n_isr = cur->n_isr;
    stamp(cur, preferred, controller_epoch, next);
    return KB_ELECT_CHANGED;
}

kb_elect_outcome_t kb_elect_controlled_shutdown(const kc_partition_t *part, int32_t controller_epoch,
                                                kb_elect_live_fn live, kb_elect_live_fn shutting, const void *arg,
                                                kc_partition_state_t *next) {
    const kc_partition_state_t *cur = &part->state;
    if (cur->leader < 0 || !live(cur->leader, arg) || !is_shutting(cur->leader, shutting, arg))
        return KB_ELECT_NOT_NEEDED;
    int32_t leader = -1;
    for (int i = 0; i < part->n_replicas && leader < 0; i++) {
        int32_t r = part->replicas[i];
        if (live(r, arg) && !is_shutting(r, shutting, arg) && kc_int32_contains(cur->isr, cur->n_isr, r)) leader = r;
    }
    if (leader < 0) return KB_ELECT_NOT_AVAILABLE;
    int n = 0;
    for (int i = 0; i < cur->n_isr; i++) /* the shutting-down members are live: ask each */
        if (!(live(cur->isr[i], arg) && is_shutting(cur->isr[i], shutting, arg))) next->isr[n++] = cur->isr[i];
    next->n_isr = n;
    stamp(cur, leader, controller_epoch, next);
    return KB_ELECT_CHANGED;
}

kb_elect_outcome_t kb_elect_leave_isr(const kc_partition_t *part, int32_t controller_epoch, int32_t broker,
                                      kc_partition_state_t *next) {
    const kc_partition_state_t *cur = &part->state;
    if (cur->leader == broker || cur->n_isr < 2 || !kc_int32_contains(cur->isr, cur->n_isr, broker))
        return KB_ELECT_NOT_NEEDED;
    int n = 0;
    for (int i = 0; i < cur->n_isr; i++)
        if (cur->isr[i] != broker) next->isr[n++] = cur->isr[i];
    next->n_isr = n;
    stamp(cur, cur->leader, controller_epoch, next);
    return KB_ELECT_CHANGED;
}
