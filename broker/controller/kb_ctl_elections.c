/*
 * kb_ctl_elections.c - the controller's elections on request: ElectLeaders
 * (kb_leader_election.h), /admin/preferred_replica_election and the
 * automatic rebalance (kb_ctl_preferred.c), each a job over a list of
 * partitions (zk-and-replication.md 2.6, 2.7).
 *
 * A job's partitions go through three states.  To do: at the next pass the
 * election rule decides (kb_elect_moves.h for PREFERRED, the offline rule
 * with unclean elections allowed for UNCLEAN) and, when a write is needed,
 * starts it through kb_ctl_state_write, the reconciliation's own
 * bookkeeping, so that the partition's replicas get LeaderAndIsr and every
 * broker UpdateMetadata once the view reads it back.  Writing: the
 * partition stays busy until then; once it is not, the view says whether
 * the leader is the one elected (done, 0) or not (a write that failed, or
 * lost to another change: decided again, up to WRITE_TRIES times).  Done:
 * its error is final.  A partition whose state has another write of ours
 * pending (an offline election, a controlled shutdown) waits to be
 * decided until that one lands.
 *
 * Passes run after every reconciliation pass (when writes land) and at the
 * next loop turn after a job is added.  A pass starts at most
 * WRITES_PER_PASS writes over all jobs, and asks for another pass at the
 * next loop turn when it had to stop there, so that an election of every
 * partition of a large cluster leaves the loop between batches; deciding
 * and checking cost a look-up in the view per partition not done.
 *
 * A job ends when every partition is done, or at its deadline (ElectLeaders'
 * timeout_ms: the ones not done get REQUEST_TIMED_OUT), or when the role
 * ends (NOT_CONTROLLER).
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "broker/controller/kb_ctl_internal.h"
#include "broker/controller/kb_elect_moves.h"
#include "broker/controller/kb_leader_election.h"
#include "common/kc_log.h"
#include "proto/kp_types.h"

#define WRITES_PER_PASS 500
#define WRITE_TRIES 3

typedef enum item_state { ITEM_TODO, ITEM_WRITING, ITEM_DONE } item_state_t;

typedef struct item {
    kb_election_item_t pub; /* topic: the caller's, or owned (job.owns_topics) */
    uint8_t state;
    uint8_t tries;
    int32_t expect; /* the leader written, while ITEM_WRITING */
} item_t;

typedef struct job {
    struct job *next;
    struct kb_ctl_elections *e;
    kb_election_type_t type;
    kb_ctl_trigger_t trigger;
    item_t *items;
    size_t n, open; /* open: items not done */
    bool owns_topics;
    kb_election_item_t *caller_items; /* filled back at the end (ElectLeaders) */
    struct event *deadline;
    kb_ctl_job_done_fn done;
    void *arg;
} job_t;

struct kb_ctl_elections {
    kb_controller_t *c;
    job_t *jobs;
    struct event *kick_ev;
};

/* ---- deciding ---- */

static const kc_partition_t *view_partition(const kb_controller_t *c, const char *topic, int32_t partition) {
    const kc_topic_t *t = kc_view_topic(c->b->view, topic);
    return t && partition >= 0 && partition < t->n_partitions ? &t->partitions[partition] : NULL;
}

static void item_done(job_t *j, item_t *it, int16_t err) {
    it->state = ITEM_DONE;
    it->pub.error = err;
    j->open--;
}

/* UNCLEAN (Kafka's election for a partition without a live leader,
 * unclean allowed because an operator asked): -1 when there is nothing to
 * do (a leader that is shutting down is the controlled shutdown's to
 * move), else whether next holds a state with a leader. */
static int decide_unclean(kb_controller_t *c, const kc_partition_t *part, kc_partition_state_t *next) {
    int32_t leader = part->state.leader;
    if (leader >= 0 && kb_ctl_live(leader, c)) return -1;
    return kb_elect_offline_excluding(part, c->epoch, kb_ctl_live, kb_ctl_shutting, c, true, next) &&
           next->leader >= 0;
}

/* The rule's verdict for a partition free of other writes: an error when
 * the item is done, else 0 with next filled. */
static int16_t decide(job_t *j, const kc_partition_t *part, kc_partition_state_t *next) {
    kb_controller_t *c = j->e->c;
    if (j->type == KB_ELECTION_UNCLEAN) {
        int r = decide_unclean(c, part, next);
        return r < 0 ? KP_ERR_ELECTION_NOT_NEEDED : r ? 0 : KP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
    }
    switch (kb_elect_preferred(part, c->epoch, kb_ctl_live, kb_ctl_shutting, c, next)) {
    case KB_ELECT_CHANGED: return 0;
    case KB_ELECT_NOT_NEEDED: return KP_ERR_ELECTION_NOT_NEEDED;
    default: return KP_ERR_PREFERRED_LEADER_NOT_AVAILABLE;
    }
}

static int16_t unavailable(const job_t *j) {
    return j->type == KB_ELECTION_UNCLEAN ? KP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE
                                          : KP_ERR_PREFERRED_LEADER_NOT_AVAILABLE;
}

/* A to-do item: decide, and start its write if one is needed and the
 * budget allows.  Returns whether a write was started. */
static bool item_try(job_t *j, item_t *it, size_t *budget) {
    kb_controller_t *c = j->e->c;
    const kc_partition_t *part = view_partition(c, it->pub.topic, it->pub.partition);
    if (!part) {
        item_done(j, it, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
        return false;
    }
    if (kb_ctl_delete_queued(c->deletion, it->pub.topic)) {
        item_done(j, it, KP_ERR_INVALID_TOPIC_EXCEPTION); /* Kafka: the topic is being deleted */
        return false;
    }
    if (!part->has_state) {
        item_done(j, it, unavailable(j));
        return false;
    }
    part_ref_t ref = kb_ctl_part_ref(it->pub.topic, it->pub.partition);
    if (*budget == 0 || kb_ctl_state_busy(c, &ref)) return false; /* another write first; or next pass */
    int32_t isr[part->state.n_isr > 0 ? part->state.n_isr : 1];
    kc_partition_state_t next = {.isr = isr};
    int16_t err = decide(j, part, &next);
    if (err) {
        item_done(j, it, err);
        return false;
    }
    if (!kb_ctl_state_write(c, &ref, &next)) return false;
    (*budget)--;
    it->state = ITEM_WRITING;
    it->expect = next.leader;
    kc_info("controller", "partition %s/%d: leader %d -> %d (%s leader election, leader epoch %d)", it->pub.topic,
            (int)it->pub.partition, (int)part->state.leader, (int)next.leader,
            j->type == KB_ELECTION_UNCLEAN ? "unclean" : "preferred", (int)next.leader_epoch);
    return true;
}

/* A writing item whose write is no longer pending: the view has the
 * outcome. */
static void item_check(job_t *j, item_t *it) {
    kb_controller_t *c = j->e->c;
    part_ref_t ref = kb_ctl_part_ref(it->pub.topic, it->pub.partition);
    if (kb_ctl_state_busy(c, &ref)) return;
    const kc_partition_t *part = view_partition(c, it->pub.topic, it->pub.partition);
    if (part && part->has_state && part->state.leader == it->expect) {
        item_done(j, it, 0);
    } else if (++it->tries >= WRITE_TRIES || !part) {
        item_done(j, it, part ? unavailable(j) : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    } else {
        it->state = ITEM_TODO;
    }
}

/* One pass over a job; true when it has work it could not start for want
 * of budget. */
static bool job_pass(job_t *j, size_t *budget) {
    bool starved = false;
    for (size_t i = 0; i < j->n && j->open > 0; i++) {
        item_t *it = &j->items[i];
        if (it->state == ITEM_WRITING) item_check(j, it);
        if (it->state != ITEM_TODO) continue;
        if (*budget == 0) starved = true;
        item_try(j, it, budget);
    }
    return starved;
}

/* ---- jobs ---- */

static void job_free(job_t *j) {
    if (j->owns_topics)
        for (size_t i = 0; i < j->n; i++) free((char *)j->items[i].pub.topic);
    if (j->deadline) event_free(j->deadline);
    free(j->items);
    free(j);
}

/* Ends j: the items not done get err (unless 0), the caller its results. */
static void job_end(job_t *j, int16_t err) {
    struct kb_ctl_elections *e = j->e;
    for (job_t **pp = &e->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    for (size_t i = 0; i < j->n; i++)
        if (j->items[i].state != ITEM_DONE) item_done(j, &j->items[i], err);
    kb_ctl_job_result_t r = {.n = j->n};
    for (size_t i = 0; i < j->n; i++) {
        int16_t got = j->items[i].pub.error;
        if (j->caller_items) j->caller_items[i].error = got;
        if (got == 0) r.elected++;
        else if (got == KP_ERR_ELECTION_NOT_NEEDED) r.not_needed++;
        else r.failed++;
    }
    if (j->done) j->done(&r, j->arg);
    job_free(j);
}

static void run_passes(struct kb_ctl_elections *e) {
    kb_controller_t *c = e->c;
    size_t budget = WRITES_PER_PASS;
    bool starved = false;
    if (!c->active || !kc_view_states_loaded(c->b->view) || !kb_ctl_fanout_started(c->fanout)) return;
    for (job_t *j = e->jobs, *next; j && c->active; j = next) {
        next = j->next;
        starved |= job_pass(j, &budget);
    }
    /* Ending a job runs its requester's callback: walk again from the head
     * after each. */
    for (job_t *j = e->jobs; j && c->active;) {
        if (j->open > 0) {
            j = j->next;
            continue;
        }
        job_end(j, 0);
        j = e->jobs;
    }
    if (starved && c->active) event_active(e->kick_ev, EV_TIMEOUT, 0);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg) {
    struct kb_ctl_elections *e = arg;
    if (!e->c->active) {
        kb_ctl_elections_role_ended(e->c); /* jobs asked of a broker that is not the controller */
        return;
    }
    run_passes(e);
    if (e->c->active && kc_view_states_loaded(e->c->b->view)) kb_ctl_fanout_flush(e->c->fanout);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg) { job_end(arg, KP_ERR_REQUEST_TIMED_OUT); }

int kb_ctl_elections_start(kb_controller_t *c, const kb_ctl_job_t *spec) {
    struct kb_ctl_elections *e = c->elections;
    job_t *j = calloc(1, sizeof(*j));
    if (!j || !(j->items = calloc(spec->n ? spec->n : 1, sizeof(*j->items)))) {
        free(j);
        return -1;
    }
    *j = (job_t){.next = e->jobs, .e = e, .type = spec->type, .trigger = spec->trigger, .items = j->items,
                 .n = spec->n, .open = spec->n, .owns_topics = spec->owns_topics,
                 .caller_items = spec->caller_items, .done = spec->done, .arg = spec->arg};
    for (size_t i = 0; i < spec->n; i++) j->items[i].pub = spec->items[i];
    if (spec->timeout_ms > 0) {
        struct timeval tv = {spec->timeout_ms / 1000, (spec->timeout_ms % 1000) * 1000};
        if (!(j->deadline = evtimer_new(c->b->base, deadline_cb, j)) || evtimer_add(j->deadline, &tv) != 0) {
            j->owns_topics = false; /* the caller keeps them on failure */
            job_free(j);
            return -1;
        }
    }
    e->jobs = j;
    event_active(e->kick_ev, EV_TIMEOUT, 0);
    return 0;
}

bool kb_ctl_elections_running(const kb_controller_t *c, kb_ctl_trigger_t trigger) {
    for (const job_t *j = c->elections ? c->elections->jobs : NULL; j; j = j->next)
        if (j->trigger == trigger) return true;
    return false;
}

void kb_ctl_elections_after_pass(kb_controller_t *c) {
    if (c->elections && c->elections->jobs) run_passes(c->elections);
}

void kb_ctl_elections_role_ended(kb_controller_t *c) {
    struct kb_ctl_elections *e = c->elections;
    while (e && e->jobs) job_end(e->jobs, KP_ERR_NOT_CONTROLLER);
}

struct kb_ctl_elections *kb_ctl_elections_new(kb_controller_t *c) {
    struct kb_ctl_elections *e = calloc(1, sizeof(*e));
    if (!e) return NULL;
    e->c = c;
    if (!(e->kick_ev = event_new(c->b->base, -1, 0, kick_cb, e))) {
        free(e);
        return NULL;
    }
    return e;
}

void kb_ctl_elections_free(struct kb_ctl_elections *e) {
    if (!e) return;
    while (e->jobs) job_end(e->jobs, KP_ERR_NOT_CONTROLLER);
    event_free(e->kick_ev);
    free(e);
}

/* ---- ElectLeaders ---- */

typedef struct api_call {
    kb_elections_done_fn done;
    void *arg;
} api_call_t;

static void api_done(const kb_ctl_job_result_t *r, void *arg) {
    api_call_t *call = arg;
    call->done(call->arg);
    free(call);
}

/* On a broker that is not the controller the job ends at the next loop
 * turn, every item NOT_CONTROLLER (kick_cb). */
int kb_controller_elect_leaders(struct kb_controller *c, kb_election_type_t type, kb_election_item_t *items,
                                size_t n, int32_t timeout_ms, kb_elections_done_fn done, void *arg) {
    api_call_t *call = malloc(sizeof(*call));
    if (!call) return -1;
    *call = (api_call_t){done, arg};
    kb_ctl_job_t spec = {.type = type, .trigger = KB_CTL_TRIGGER_ADMIN, .items = items, .n = n,
                         .caller_items = items, .timeout_ms = timeout_ms > 0 ? timeout_ms : 1, .done = api_done,
                         .arg = call};
    if (kb_ctl_elections_start(c, &spec) != 0) {
        free(call);
        return -1;
    }
    return 0;
}
