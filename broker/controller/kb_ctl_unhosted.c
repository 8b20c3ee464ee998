/*
 * kb_ctl_unhosted.c - replicas a broker said it cannot host: their
 * leadership moves to another in-sync replica and they leave the ISR, as
 * Kafka's controller takes a replica offline when its LeaderAndIsr answer
 * says KAFKA_STORAGE_ERROR (zk-and-replication.md 2.7).
 *
 * A broker answers 56 for a partition whose new log would not fit its
 * partition budget (kb_roles.h, KB_ROLE_NO_ROOM) or whose log it cannot
 * touch.  Led there, the partition would serve nobody until room frees;
 * so the controller elects the next replica in assignment order that is
 * live, in the ISR and not shutting down (the controlled-shutdown rule,
 * with the refusing broker counted as leaving), and drops the refusing
 * broker from the ISR of a partition it follows.  Being out of the ISR is
 * what keeps it from being elected back (a preferred election requires
 * the ISR), and it is also how it comes back: once room frees the broker
 * hosts the replica (it keeps the role it was last given), fetches, and
 * its leader takes it back into the ISR; a preferred election may then
 * give it the lead again.  A partition with no other live in-sync replica
 * keeps its leader: there is nothing better.
 *
 * Refusals are kept until a pass can act on them: the partition may have
 * a write of ours pending (then the next pass, after it lands), and a pass
 * starts at most WRITES_PER_PASS writes, asking for another pass at the
 * next loop turn for the rest, so that a broker refusing thousands of
 * partitions does not hold the loop.  A refusal by a registration that is
 * gone, for a partition gone or being deleted, or that needs no change
 * any more, is dropped.  Refusals are not merged: a second one of the same
 * replica finds it moved already, and adding stays O(1) however many a
 * broker sends.  The list is capped (MAX_REFUSALS): beyond, new
 * refusals are dropped with a warning; the broker repeats them in every
 * answer, so they come back.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/controller/kb_ctl_internal.h"
#include "broker/controller/kb_elect_moves.h"
#include "common/kc_log.h"

#define WRITES_PER_PASS 500
#define MAX_REFUSALS 100000

typedef struct refusal {
    int32_t broker;
    int64_t broker_epoch; /* the registration that answered */
    int32_t partition;
    char *topic;
} refusal_t;

struct kb_ctl_unhosted {
    kb_controller_t *c;
    refusal_t *list;
    size_t n, cap;
    kc_ratelimit_t full_log;
};

/* The rule's predicates: the refusing broker counts as shutting down. */
typedef struct without {
    const kb_controller_t *c;
    int32_t broker;
} without_t;

static bool live(int32_t id, const void *arg) { return kb_ctl_live(id, ((const without_t *)arg)->c); }

static bool leaving(int32_t id, const void *arg) {
    const without_t *w = arg;
    return id == w->broker || kb_ctl_shutting(id, w->c);
}

void kb_ctl_unhosted_refused(struct kb_ctl_unhosted *u, int32_t broker, int64_t broker_epoch, const char *topic,
                             int32_t partition) {
    if (u->n == MAX_REFUSALS) {
        kc_log_limited(&u->full_log, 10000, KC_LOG_WARN, "controller",
                       "%d replicas refused by their brokers are waiting to be moved; %s/%d (broker %d) waits for "
                       "the broker's next answer", MAX_REFUSALS, topic, (int)partition, (int)broker);
        return;
    }
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 16;
        refusal_t *grown = realloc(u->list, cap * sizeof(*grown));
        if (!grown) return; /* the broker says it again in its next answer */
        u->list = grown;
        u->cap = cap;
    }
    char *copy = strdup(topic);
    if (!copy) return;
    u->list[u->n++] = (refusal_t){broker, broker_epoch, partition, copy};
    kb_ctl_schedule_reconcile(u->c);
}

/* The move a refusal needs now, into next: KB_ELECT_CHANGED, or why none. */
static kb_elect_outcome_t decide(kb_controller_t *c, const refusal_t *r, const kc_partition_t *part,
                                 kc_partition_state_t *next) {
    if (part->state.leader != r->broker) return kb_elect_leave_isr(part, c->epoch, r->broker, next);
    without_t w = {c, r->broker};
    return kb_elect_controlled_shutdown(part, c->epoch, live, leaving, &w, next);
}

/* Acts on one refusal: true when it is settled (acted on, or nothing to
 * do), false when it must wait for a later pass. */
static bool act(kb_controller_t *c, const refusal_t *r, size_t *budget) {
    const kc_broker_info_t *info = kc_view_broker(c->b->view, r->broker);
    const kc_topic_t *t = kc_view_topic(c->b->view, r->topic);
    if (!info || info->czxid != r->broker_epoch || !t || r->partition < 0 || r->partition >= t->n_partitions ||
        kb_ctl_delete_queued(c->deletion, r->topic))
        return true;
    const kc_partition_t *part = &t->partitions[r->partition];
    if (!part->has_state || part->n_replicas < 2) return true;
    part_ref_t ref = kb_ctl_part_ref(r->topic, r->partition);
    if (*budget == 0 || kb_ctl_state_busy(c, &ref)) return false;
    int32_t isr[part->state.n_isr > 0 ? part->state.n_isr : 1];
    kc_partition_state_t next = {.isr = isr};
    if (decide(c, r, part, &next) != KB_ELECT_CHANGED) return true;
    if (!kb_ctl_state_write(c, &ref, &next)) return false;
    (*budget)--;
    if (next.leader != part->state.leader)
        kc_info("controller", "partition %s/%d: leader %d -> %d, broker %d cannot host it (KAFKA_STORAGE_ERROR) "
                "(leader epoch %d)", r->topic, (int)r->partition, (int)part->state.leader, (int)next.leader,
                (int)r->broker, (int)next.leader_epoch);
    else
        kc_debug("controller", "partition %s/%d: broker %d leaves the ISR, it cannot host it (KAFKA_STORAGE_ERROR)",
                 r->topic, (int)r->partition, (int)r->broker);
    return true;
}

void kb_ctl_unhosted_after_pass(struct kb_ctl_unhosted *u) {
    kb_controller_t *c = u->c;
    if (!c->active) {
        kb_ctl_unhosted_reset(u);
        return;
    }
    size_t budget = WRITES_PER_PASS, kept = 0;
    for (size_t i = 0; i < u->n; i++) {
        if (act(c, &u->list[i], &budget)) free(u->list[i].topic);
        else u->list[kept++] = u->list[i];
    }
    u->n = kept;
    if (budget == 0 && kept > 0) kb_ctl_schedule_reconcile(c); /* the rest at the next loop turn */
}

void kb_ctl_unhosted_reset(struct kb_ctl_unhosted *u) {
    for (size_t i = 0; i < u->n; i++) free(u->list[i].topic);
    u->n = 0;
}

size_t kb_ctl_unhosted_count(const struct kb_ctl_unhosted *u) { return u ? u->n : 0; }

struct kb_ctl_unhosted *kb_ctl_unhosted_new(kb_controller_t *c) {
    struct kb_ctl_unhosted *u = calloc(1, sizeof(*u));
    if (u) u->c = c;
    return u;
}

void kb_ctl_unhosted_free(struct kb_ctl_unhosted *u) {
    if (!u) return;
    kb_ctl_unhosted_reset(u);
    free(u->list);
    free(u);
}
