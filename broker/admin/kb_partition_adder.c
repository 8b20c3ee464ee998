/*
 * kb_partition_adder.c - the partition-adding service
 * (kb_partition_adder.h).
 *
 * An operation is one CreatePartitions request: a slot per requested topic
 * with its answer.  A name listed twice is refused for every entry of it
 * (42, Kafka's message); a name that cannot be a C string names no topic
 * (3); every other topic gets one kc_topic_grow round, which judges it
 * against ZooKeeper in Kafka's order and, just before writing, hands the
 * planned partitions back for the brokers' capacity (kb_capacity.h: 44
 * when some broker would get more partition replicas than it can hold,
 * validate_only included; the counts start from the metadata cache and
 * grow with each topic of the request that passes), then writes it.  Kafka's handler runs
 * the same judgement synchronously on its request thread; here the
 * ZooKeeper work is asynchronous, so the answer of every topic, refused or
 * not, comes from a completion.  At most GROW_WINDOW rounds of one
 * operation are in flight, the next starting as one completes: a request
 * listing a hundred thousand topics costs ZooKeeper a steady trickle of
 * reads, not four hundred thousand queued at once.
 *
 * Waiting.  A topic whose partitions were added settles 0 once each new
 * partition has a leader in the metadata cache; when timeout_ms passes
 * first, 7 (the partitions stay added).  The waiting, parking and
 * reference counting are kb_admin_op.h's (one reference per round in
 * flight); the cache's change notification walks the park list.  A
 * completion touches nothing once the operation is answered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/admin/kb_capacity.h"
#include "broker/admin/kb_partition_adder.h"
#include "common/kc_log.h"
#include "common/kc_names.h"
#include "coord/kc_topic_grow.h"
#include "proto/kp_types.h"

#define MOD "createpartitions"
#define WHY_LEN 512
/* Rounds of one operation in flight at once (each is four reads, then a
 * write). */
#define GROW_WINDOW 16

/* Kafka's wording, which clients may show. */
#define DUPLICATE_MESSAGE "Duplicate topic in request."

/* The service's own slot states (kb_admin_op.h has final and waiting:
 * added, waiting for every new partition to have a leader). */
enum {
    SLOT_QUEUED = KB_SLOT_SERVICE, /* its round waits for room in the window */
    SLOT_GROWING,                  /* a kc_topic_grow round in flight */
};

typedef kb_admin_slot_t pa_slot_t;

/* What a slot keeps besides kb_admin_slot_t (op->slot_ext). */
typedef struct {
    int32_t old_count;    /* partitions before, once added */
    int32_t count;        /* requested total */
    kb_capacity_ticket_t ticket; /* the replicas its round counted, until it completes */
} pa_extra_t;

/* The service's part of an operation (op->ext). */
typedef struct {
    bool validate_only;
    bool starting;          /* start_more is on the stack (completions may run inside it) */
    bool warned;            /* a ZooKeeper failure of this operation was logged at WARN */
    kp_createpartitions_request_t body; /* owned: counts and assignments of queued topics */
    int32_t next_slot;      /* the next slot start_more looks at */
    int in_flight;          /* rounds out */
    kb_capacity_t capacity; /* replicas per broker, with the rounds that passed */
} pa_op_t;

struct kb_partition_adder {
    kb_partition_adder_deps_t deps;
    kb_admin_park_t park;
};

static kb_partition_adder_t *op_pa(const kb_admin_op_t *op) { return op->park->service; }
static pa_op_t *op_ext(const kb_admin_op_t *op) { return op->ext; }
static pa_extra_t *extra(const pa_slot_t *s) { return (pa_extra_t *)s->op->slot_ext + (s - s->op->slots); }

static void op_clear(kb_admin_op_t *op) {
    kp_createpartitions_request_clear(&op_ext(op)->body);
    for (int32_t i = 0; i < op->n_slots; i++) kb_capacity_ticket_clear(&extra(&op->slots[i])->ticket);
    kb_capacity_clear(&op_ext(op)->capacity);
}

/* Takes over *body (cleared here) on success. */
static kb_admin_op_t *op_new(kb_partition_adder_t *pa, kp_createpartitions_request_t *body) {
    kb_admin_op_t *op = kb_admin_op_new(&pa->park, body->n_topics, sizeof(pa_op_t), sizeof(pa_extra_t));

    if (!op) return NULL;
    op_ext(op)->validate_only = body->validate_only;
    for (int32_t i = 0; i < op->n_slots; i++) {
        pa_slot_t *s = &op->slots[i];
        s->name = body->topics[i].name;
        s->cname = kb_admin_name_dup(body->topics[i].name);
        s->state = SLOT_QUEUED;
        extra(s)->count = body->topics[i].count;
    }
    op_ext(op)->body = *body;
    *body = (kp_createpartitions_request_t){0};
    return op;
}

/* ------------------------------------------------------------- waiting */

/* True when the cache shows partitions old .. count - 1 of `name`, each led. */
static bool leaders_known(const kb_metadata_t *md, const pa_slot_t *s) {
    const kb_metadata_topic_t *t = md ? kb_metadata_topic(md, s->cname) : NULL;

    if (!t || t->n_partitions < extra(s)->count) return false;
    for (int32_t p = extra(s)->old_count; p < extra(s)->count; p++)
        if (t->partitions[p].leader < 0) return false;
    return true;
}

static bool slot_ready(kb_admin_op_t *op, int32_t i) { return leaders_known(op_pa(op)->deps.metadata, &op->slots[i]); }

/* The answer of a topic whose partitions were added but whose leaders are
 * not all known when timeout_ms passed or the broker stops. */
static void fail_waiting(pa_slot_t *s, const char *when) {
    char why[WHY_LEN];

    snprintf(why, sizeof(why), "The partitions of topic '%s' were added, but not all of them had a leader %s",
             s->cname, when);
    kb_admin_slot_final(s, KP_ERR_REQUEST_TIMED_OUT, why);
}

/* timeout_ms passed: waiting topics are answered 7; topics still with
 * ZooKeeper are answered when it answers (on_grown).  At shutdown every
 * topic is answered, saying how far it got. */
static void slot_give_up(kb_admin_op_t *op, int32_t i, kb_admin_end_t end) {
    pa_slot_t *s = &op->slots[i];
    char why[WHY_LEN];

    if (s->state == KB_SLOT_WAITING) {
        char when[64];
        snprintf(when, sizeof(when), "within timeout_ms %d", (int)op->timeout_ms);
        fail_waiting(s, end == KB_ADMIN_SHUTDOWN ? "before the broker shut down" : when);
    } else if (end != KB_ADMIN_SHUTDOWN) {
        return;
    } else if (s->state == SLOT_GROWING) {
        snprintf(why, sizeof(why), "The broker shut down before ZooKeeper answered; the partitions of "
                 "topic '%s' may or may not have been added", s->cname);
        kb_admin_slot_final(s, KP_ERR_REQUEST_TIMED_OUT, why);
    } else if (s->state == SLOT_QUEUED) {
        snprintf(why, sizeof(why), "The broker shut down before topic '%s' was looked at; nothing was "
                 "added", s->cname);
        kb_admin_slot_final(s, KP_ERR_REQUEST_TIMED_OUT, why);
    }
}

static const kb_admin_hooks_t hooks = {slot_ready, slot_give_up, op_clear};

void kb_partition_adder_shutdown(kb_partition_adder_t *pa) {
    if (pa) kb_admin_park_shutdown(&pa->park);
}

int kb_partition_adder_waiting(const kb_partition_adder_t *pa) { return pa->park.n_parked; }

static void on_metadata_change(kb_metadata_t *md, void *arg) {
    kb_partition_adder_t *pa = arg;

    (void)md;
    kb_admin_park_recheck(&pa->park);
}

/* ------------------------------------------------------------ the rounds */

/* The Kafka error for a round that did not add partitions. */
static int16_t round_error(const kc_grow_result_t *r) {
    if (r->rc == KC_INVALID || r->rc == KC_NONODE) return r->kafka_error;
    if (r->rc == KC_CONNLOSS) return KP_ERR_REQUEST_TIMED_OUT; /* may or may not have been written */
    return KP_ERR_UNKNOWN_SERVER_ERROR;
}

/* A ZooKeeper failure is logged once per operation at WARN (with
 * ZooKeeper down, a request naming many topics fails them all), the rest
 * at DEBUG. */
static void log_round(kb_admin_op_t *op, const pa_slot_t *s, const kc_grow_result_t *r) {
    if (r->rc == KC_OK && !op_ext(op)->validate_only) {
        kc_info(MOD, "added partitions %d..%d to topic '%s'", (int)r->old_count,
                (int)(r->old_count + r->added.n_partitions - 1), s->cname);
    } else if (r->rc != KC_OK && r->rc != KC_INVALID && r->rc != KC_NONODE) {
        if (op_ext(op)->warned) kc_debug(MOD, "cannot add partitions to topic '%s': %s", s->cname, r->why);
        else kc_warn(MOD, "cannot add partitions to topic '%s': %s", s->cname, r->why);
        op_ext(op)->warned = true;
    }
}

static void start_more(kb_admin_op_t *op);

/* kc_topic_grow's completion: from the loop, from inside the call, or
 * inside kc_session_free() at teardown; after the answer went out it only
 * logs and drops its reference. */
static void on_grown(const kc_grow_result_t *r, void *arg) {
    pa_slot_t *s = arg;
    kb_admin_op_t *op = s->op;

    log_round(op, s, r);
    op_ext(op)->in_flight--;
    /* Refused or failed: what the round counted goes back (a lost
     * connection may have written it: then the count is low, and the
     * brokers still check for themselves).  Written, or judged for
     * validate_only (the request is judged as a whole), it stays counted. */
    if (r->rc != KC_OK) kb_capacity_give_back(&op_ext(op)->capacity, &extra(s)->ticket);
    else kb_capacity_ticket_clear(&extra(s)->ticket);
    if (!op->answered && s->state == SLOT_GROWING) {
        if (r->rc != KC_OK) {
            kb_admin_slot_final(s, round_error(r), r->why);
        } else if (op_ext(op)->validate_only) {
            kb_admin_slot_final(s, KP_ERR_NONE, NULL);
        } else {
            extra(s)->old_count = r->old_count;
            s->state = KB_SLOT_WAITING;
            if (op->timed_out) fail_waiting(s, "when timeout_ms passed");
        }
        start_more(op);
        kb_admin_op_poke(op);
    }
    kb_admin_op_unref(op);
}

/* The request's assignments as a kc_topic_t whose lists borrow the
 * request's arrays (kc_topic_grow copies them); free only ->partitions. */
static int borrow_assignment(const kp_createpartitions_topic_t *t, kc_topic_t *out) {
    *out = (kc_topic_t){0};
    out->partitions = calloc((size_t)t->n_assignments + 1, sizeof(*out->partitions));
    if (!out->partitions) return -1;
    out->n_partitions = t->n_assignments;
    for (int32_t i = 0; i < t->n_assignments; i++)
        out->partitions[i] = (kc_partition_t){.n_replicas = t->assignments[i].n_broker_ids,
                                              .replicas = t->assignments[i].broker_ids};
    return 0;
}

/* kc_topic_grow's last judgement, before the write: the brokers'
 * capacity.  A round run again (a concurrent change) first gives back
 * what its previous run counted. */
static bool accept_added(const kc_topic_t *added, void *arg, int16_t *kafka_error, char *why, size_t whylen) {
    pa_slot_t *s = arg;
    kb_capacity_t *c = &op_ext(s->op)->capacity;

    kb_capacity_give_back(c, &extra(s)->ticket);
    int rc = kb_capacity_take(c, s->cname, added->partitions, added->n_partitions, &extra(s)->ticket, why, whylen);
    if (rc != -1) return true; /* out of memory: not counted; the brokers still check for themselves */
    *kafka_error = KP_ERR_POLICY_VIOLATION;
    return false;
}

static bool can_grow(const kb_partition_adder_t *pa) { return pa->deps.zk || pa->deps.grow != kc_topic_grow; }

/* Starts slot i's round, or answers it at once. */
static void start_topic(kb_admin_op_t *op, int32_t i) {
    const kp_createpartitions_topic_t *t = &op_ext(op)->body.topics[i];
    pa_slot_t *s = &op->slots[i];
    char why[WHY_LEN];
    kc_topic_t assignment;

    if (!s->cname) {
        snprintf(why, sizeof(why), "The topic '%.*s' does not exist.", (int)(s->name.len > 0 ? s->name.len : 0),
                 s->name.ptr ? s->name.ptr : "");
        kb_admin_slot_final(s, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, why);
        return;
    }
    if (!can_grow(op_pa(op))) {
        kb_admin_slot_final(s, KP_ERR_UNKNOWN_SERVER_ERROR, "no ZooKeeper session");
        return;
    }
    if (t->has_assignments && borrow_assignment(t, &assignment) != 0) {
        kb_admin_slot_final(s, KP_ERR_UNKNOWN_SERVER_ERROR, "out of memory");
        return;
    }
    kc_grow_request_t req = {.topic = s->cname, .count = t->count,
                             .assignment = t->has_assignments ? &assignment : NULL,
                             .validate_only = op_ext(op)->validate_only, .accept = accept_added, .accept_arg = s,
                             .rack_of = kb_metadata_broker_rack, .rack_arg = op_pa(op)->deps.metadata};
    s->state = SLOT_GROWING;
    kb_admin_op_ref(op);
    op_ext(op)->in_flight++;
    op_pa(op)->deps.grow(op_pa(op)->deps.zk, &req, on_grown, s);
    if (t->has_assignments) free(assignment.partitions);
}

/* Starts queued slots while the window has room.  A round that completes
 * inside the call (no session) comes back through on_grown, which calls
 * this again: the flag turns that into another turn of this loop instead
 * of a recursion as deep as the request is long. */
static void start_more(kb_admin_op_t *op) {
    pa_op_t *x = op_ext(op);

    if (x->starting) return;
    x->starting = true;
    while (!op->answered && x->in_flight < GROW_WINDOW && x->next_slot < op->n_slots) {
        int32_t i = x->next_slot++;
        if (op->slots[i].state == SLOT_QUEUED) start_topic(op, i);
    }
    x->starting = false;
}

/* ---------------------------------------------------------- duplicates */

static int slot_name_cmp(const void *a, const void *b) {
    const pa_slot_t *x = *(pa_slot_t *const *)a, *y = *(pa_slot_t *const *)b;
    int32_t lx = x->name.len > 0 ? x->name.len : 0, ly = y->name.len > 0 ? y->name.len : 0;
    int c = memcmp(x->name.ptr ? x->name.ptr : "", y->name.ptr ? y->name.ptr : "", (size_t)(lx < ly ? lx : ly));
    return c ? c : (lx > ly) - (lx < ly);
}

/* Every entry of a name listed more than once gets 42 (sorting keeps this
 * O(n log n) however many topics a request lists). */
static int refuse_duplicates(kb_admin_op_t *op) {
    pa_slot_t **sorted = calloc((size_t)op->n_slots + 1, sizeof(*sorted));

    if (!sorted) return -1;
    for (int32_t i = 0; i < op->n_slots; i++) sorted[i] = &op->slots[i];
    qsort(sorted, (size_t)op->n_slots, sizeof(*sorted), slot_name_cmp);
    for (int32_t i = 0; i + 1 < op->n_slots; i++) {
        if (slot_name_cmp(&sorted[i], &sorted[i + 1]) != 0) continue;
        kb_admin_slot_final(sorted[i], KP_ERR_INVALID_REQUEST, DUPLICATE_MESSAGE);
        kb_admin_slot_final(sorted[i + 1], KP_ERR_INVALID_REQUEST, DUPLICATE_MESSAGE);
    }
    free(sorted);
    return 0;
}

/* ------------------------------------------------------------- public */

kb_partition_adder_t *kb_partition_adder_new(const kb_partition_adder_deps_t *deps) {
    kb_partition_adder_t *pa = calloc(1, sizeof(*pa));

    if (!pa) return NULL;
    pa->deps = *deps;
    pa->park = (kb_admin_park_t){.base = deps->base, .hooks = &hooks, .service = pa};
    if (!pa->deps.grow) pa->deps.grow = kc_topic_grow;
    if (kb_metadata_subscribe(deps->metadata, on_metadata_change, pa) != 0) {
        free(pa);
        return NULL;
    }
    return pa;
}

void kb_partition_adder_free(kb_partition_adder_t *pa) {
    if (!pa) return;
    kb_partition_adder_shutdown(pa);
    kb_metadata_unsubscribe(pa->deps.metadata, on_metadata_change, pa);
    free(pa);
}

kb_admin_op_t *kb_partition_adder_start(kb_partition_adder_t *pa, kp_createpartitions_request_t *body) {
    kb_admin_op_t *op = op_new(pa, body);

    if (!op) return NULL;
    if (kb_capacity_init(&op_ext(op)->capacity, pa->deps.view, pa->deps.metadata, pa->deps.budget) != 0 ||
        refuse_duplicates(op) != 0) {
        for (int32_t i = 0; i < op->n_slots; i++)
            kb_admin_slot_final(&op->slots[i], KP_ERR_UNKNOWN_SERVER_ERROR, "out of memory");
        return op;
    }
    start_more(op);
    return op;
}
