/*
 * kb_partition_adder.c - the partition-adding service
 * (kb_partition_adder.h).
 *
 * An operation is one CreatePartitions request: a slot per requested topic
 * with its answer.  A name listed twice is refused for every entry of it
 * (42, Kafka's message); a name that cannot be a C string names no topic
 * (3); every other topic gets one kc_topic_grow round, which judges it
 * against ZooKeeper in Kafka's order and writes it.  Kafka's handler runs
 * the same judgement synchronously on its request thread; here the
 * ZooKeeper work is asynchronous, so the answer of every topic, refused or
 * not, comes from a completion.  At most GROW_WINDOW rounds of one
 * operation are in flight, the next starting as one completes: a request
 * listing a hundred thousand topics costs ZooKeeper a steady trickle of
 * reads, not four hundred thousand queued at once.
 *
 * Waiting.  A topic whose partitions were added settles 0 once each new
 * partition has a leader in the metadata cache; when timeout_ms passes
 * first, 7 (the partitions stay added).  A waiting operation is on the
 * service's parked list, walked by the cache's change notification.  A
 * completion only schedules a look (an event_active'd event) instead of
 * answering itself, and touches nothing once the operation is answered:
 * completions also run inside kc_session_free() at teardown, after the
 * service is gone.  An operation is reference counted: one reference per
 * round in flight plus the holder's (the caller's, then the parked list's).
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

typedef enum {
    SLOT_FINAL,   /* error_code is the answer */
    SLOT_QUEUED,  /* its round waits for room in the window */
    SLOT_GROWING, /* a kc_topic_grow round in flight */
    SLOT_WAITING, /* added; waiting for every new partition to have a leader */
} slot_state_t;

typedef struct {
    kb_grow_op_t *op;
    kp_str_t name;        /* borrowed from the request (valid while held) */
    char *cname;          /* owned C copy, NULL when the name cannot be one */
    int32_t old_count;    /* partitions before, once added */
    int32_t count;        /* requested total */
    slot_state_t state;
    int16_t error_code;
    char *error_message;  /* owned; NULL = null (success) */
} pa_slot_t;

struct kb_grow_op {
    kb_partition_adder_t *pa;
    bool answered;          /* round results no longer change the answer */
    bool validate_only;
    bool timed_out;         /* timeout_ms passed while some round was still out */
    bool starting;          /* start_more is on the stack (completions may run inside it) */
    bool warned;            /* a ZooKeeper failure of this operation was logged at WARN */
    kp_createpartitions_request_t body; /* owned: counts and assignments of queued topics */
    int32_t next_slot;      /* the next slot start_more looks at */
    int in_flight;          /* rounds out */
    int32_t n_slots;
    pa_slot_t *slots;
    kb_grow_op_done_fn done; /* set while parked */
    void *done_arg;
    int32_t timeout_ms;
    struct event *timer;
    struct event *recheck;
    int refs;
    kb_grow_op_t *prev, *next; /* on the parked list while waiting */
};

struct kb_partition_adder {
    kb_partition_adder_deps_t deps;
    kb_grow_op_t *parked;
    int n_parked;
};

/* ------------------------------------------------------------ lifetime */

static void slot_final(pa_slot_t *s, int16_t code, const char *why) {
    s->state = SLOT_FINAL;
    s->error_code = code;
    free(s->error_message);
    s->error_message = why ? strdup(why) : NULL;
}

static void op_unref(kb_grow_op_t *op) {
    if (--op->refs > 0) return;
    kp_createpartitions_request_clear(&op->body);
    for (int32_t i = 0; i < op->n_slots; i++) {
        free(op->slots[i].cname);
        free(op->slots[i].error_message);
    }
    free(op->slots);
    free(op);
}

static void park_link(kb_grow_op_t *op) {
    kb_partition_adder_t *pa = op->pa;
    op->next = pa->parked;
    if (pa->parked) pa->parked->prev = op;
    pa->parked = op;
    pa->n_parked++;
}

static void park_unlink(kb_grow_op_t *op) {
    kb_partition_adder_t *pa = op->pa;
    if (op->prev) op->prev->next = op->next;
    else if (pa->parked == op) pa->parked = op->next;
    else return; /* not parked */
    if (op->next) op->next->prev = op->prev;
    op->prev = op->next = NULL;
    pa->n_parked--;
}

/* An owned C copy of a requested name that can be a topic name's length
 * and holds no NUL byte; NULL otherwise. */
static char *name_dup(kp_str_t name) {
    if (name.len < 0 || name.len > KC_TOPIC_NAME_MAX) return NULL;
    if (name.len > 0 && memchr(name.ptr, '\0', (size_t)name.len)) return NULL;
    return name.len > 0 ? strndup(name.ptr, (size_t)name.len) : strdup("");
}

/* Takes over *body (cleared here) on success. */
static kb_grow_op_t *op_new(kb_partition_adder_t *pa, kp_createpartitions_request_t *body) {
    kb_grow_op_t *op = calloc(1, sizeof(*op));

    if (!op || !(op->slots = calloc((size_t)body->n_topics + 1, sizeof(*op->slots)))) {
        free(op);
        return NULL;
    }
    op->pa = pa;
    op->validate_only = body->validate_only;
    op->n_slots = body->n_topics;
    op->refs = 1;
    for (int32_t i = 0; i < op->n_slots; i++) {
        pa_slot_t *s = &op->slots[i];
        *s = (pa_slot_t){.op = op, .name = body->topics[i].name, .cname = name_dup(body->topics[i].name),
                         .count = body->topics[i].count, .state = SLOT_QUEUED};
    }
    op->body = *body;
    *body = (kp_createpartitions_request_t){0};
    return op;
}

/* Answers a parked operation through its callback, releases its events and
 * drops the parked list's reference. */
static void op_answer(kb_grow_op_t *op) {
    op->answered = true;
    park_unlink(op);
    op->done(op, op->done_arg);
    if (op->timer) event_free(op->timer);
    if (op->recheck) event_free(op->recheck);
    op->timer = op->recheck = NULL;
    op_unref(op);
}

/* ------------------------------------------------------------- waiting */

/* True when the cache shows partitions old .. count - 1 of `name`, each led. */
static bool leaders_known(const kb_metadata_t *md, const pa_slot_t *s) {
    const kb_metadata_topic_t *t = md ? kb_metadata_topic(md, s->cname) : NULL;

    if (!t || t->n_partitions < s->count) return false;
    for (int32_t p = s->old_count; p < s->count; p++)
        if (t->partitions[p].leader < 0) return false;
    return true;
}

/* Settles the waiting topics whose new leaders are known; true when every
 * topic is settled. */
static bool op_settle(kb_grow_op_t *op) {
    bool done = true;

    for (int32_t i = 0; i < op->n_slots; i++) {
        pa_slot_t *s = &op->slots[i];
        if (s->state == SLOT_WAITING && leaders_known(op->pa->deps.metadata, s)) slot_final(s, KP_ERR_NONE, NULL);
        if (s->state != SLOT_FINAL) done = false;
    }
    return done;
}

static void on_recheck(evutil_socket_t fd, short what, void *arg) {
    kb_grow_op_t *op = arg;

    (void)fd;
    (void)what;
    if (op_settle(op)) op_answer(op);
}

/* The answer of a topic whose partitions were added but whose leaders are
 * not all known when timeout_ms passed or the broker stops. */
static void fail_waiting(pa_slot_t *s, const char *when) {
    char why[WHY_LEN];

    snprintf(why, sizeof(why), "The partitions of topic '%s' were added, but not all of them had a leader %s",
             s->cname, when);
    slot_final(s, KP_ERR_REQUEST_TIMED_OUT, why);
}

/* timeout_ms passed: waiting topics are answered 7; topics still with
 * ZooKeeper are answered when it answers (on_grown). */
static void on_timeout(evutil_socket_t fd, short what, void *arg) {
    kb_grow_op_t *op = arg;
    char when[64];

    (void)fd;
    (void)what;
    op->timed_out = true;
    snprintf(when, sizeof(when), "within timeout_ms %d", (int)op->timeout_ms);
    if (op_settle(op)) {
        op_answer(op);
        return;
    }
    for (int32_t i = 0; i < op->n_slots; i++)
        if (op->slots[i].state == SLOT_WAITING) fail_waiting(&op->slots[i], when);
    if (op_settle(op)) op_answer(op);
}

void kb_partition_adder_shutdown(kb_partition_adder_t *pa) {
    char why[WHY_LEN];

    while (pa && pa->parked) {
        kb_grow_op_t *op = pa->parked;
        for (int32_t i = 0; i < op->n_slots; i++) {
            pa_slot_t *s = &op->slots[i];
            if (s->state == SLOT_WAITING) {
                fail_waiting(s, "before the broker shut down");
            } else if (s->state == SLOT_GROWING) {
                snprintf(why, sizeof(why), "The broker shut down before ZooKeeper answered; the partitions of "
                         "topic '%s' may or may not have been added", s->cname);
                slot_final(s, KP_ERR_REQUEST_TIMED_OUT, why);
            } else if (s->state == SLOT_QUEUED) {
                snprintf(why, sizeof(why), "The broker shut down before topic '%s' was looked at; nothing was "
                         "added", s->cname);
                slot_final(s, KP_ERR_REQUEST_TIMED_OUT, why);
            }
        }
        op_answer(op); /* unlinks op */
    }
}

int kb_partition_adder_waiting(const kb_partition_adder_t *pa) { return pa->n_parked; }

static void on_metadata_change(kb_metadata_t *md, void *arg) {
    kb_partition_adder_t *pa = arg;
    kb_grow_op_t *op = pa->parked;

    (void)md;
    while (op) {
        kb_grow_op_t *next = op->next; /* op may be answered and unlinked below */
        if (op_settle(op)) op_answer(op);
        op = next;
    }
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
static void log_round(kb_grow_op_t *op, const pa_slot_t *s, const kc_grow_result_t *r) {
    if (r->rc == KC_OK && !op->validate_only) {
        kc_info(MOD, "added partitions %d..%d to topic '%s'", (int)r->old_count,
                (int)(r->old_count + r->added.n_partitions - 1), s->cname);
    } else if (r->rc != KC_OK && r->rc != KC_INVALID && r->rc != KC_NONODE) {
        if (op->warned) kc_debug(MOD, "cannot add partitions to topic '%s': %s", s->cname, r->why);
        else kc_warn(MOD, "cannot add partitions to topic '%s': %s", s->cname, r->why);
        op->warned = true;
    }
}

static void start_more(kb_grow_op_t *op);

/* kc_topic_grow's completion: from the loop, from inside the call, or
 * inside kc_session_free() at teardown; after the answer went out it only
 * logs and drops its reference. */
static void on_grown(const kc_grow_result_t *r, void *arg) {
    pa_slot_t *s = arg;
    kb_grow_op_t *op = s->op;

    log_round(op, s, r);
    op->in_flight--;
    if (!op->answered && s->state == SLOT_GROWING) {
        if (r->rc != KC_OK) {
            slot_final(s, round_error(r), r->why);
        } else if (op->validate_only) {
            slot_final(s, KP_ERR_NONE, NULL);
        } else {
            s->old_count = r->old_count;
            s->state = SLOT_WAITING;
            if (op->timed_out) fail_waiting(s, "when timeout_ms passed");
        }
        start_more(op);
        if (op->recheck) event_active(op->recheck, EV_TIMEOUT, 0);
    }
    op_unref(op);
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

static bool can_grow(const kb_partition_adder_t *pa) { return pa->deps.zk || pa->deps.grow != kc_topic_grow; }

/* Starts slot i's round, or answers it at once. */
static void start_topic(kb_grow_op_t *op, int32_t i) {
    const kp_createpartitions_topic_t *t = &op->body.topics[i];
    pa_slot_t *s = &op->slots[i];
    char why[WHY_LEN];
    kc_topic_t assignment;

    if (!s->cname) {
        snprintf(why, sizeof(why), "The topic '%.*s' does not exist.", (int)(s->name.len > 0 ? s->name.len : 0),
                 s->name.ptr ? s->name.ptr : "");
        slot_final(s, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, why);
        return;
    }
    if (!can_grow(op->pa)) {
        slot_final(s, KP_ERR_UNKNOWN_SERVER_ERROR, "no ZooKeeper session");
        return;
    }
    if (t->has_assignments && borrow_assignment(t, &assignment) != 0) {
        slot_final(s, KP_ERR_UNKNOWN_SERVER_ERROR, "out of memory");
        return;
    }
    kc_grow_request_t req = {.topic = s->cname, .count = t->count,
                             .assignment = t->has_assignments ? &assignment : NULL,
                             .validate_only = op->validate_only};
    s->state = SLOT_GROWING;
    op->refs++;
    op->in_flight++;
    op->pa->deps.grow(op->pa->deps.zk, &req, on_grown, s);
    if (t->has_assignments) free(assignment.partitions);
}

/* Starts queued slots while the window has room.  A round that completes
 * inside the call (no session) comes back through on_grown, which calls
 * this again: the flag turns that into another turn of this loop instead
 * of a recursion as deep as the request is long. */
static void start_more(kb_grow_op_t *op) {
    if (op->starting) return;
    op->starting = true;
    while (!op->answered && op->in_flight < GROW_WINDOW && op->next_slot < op->n_slots) {
        int32_t i = op->next_slot++;
        if (op->slots[i].state == SLOT_QUEUED) start_topic(op, i);
    }
    op->starting = false;
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
static int refuse_duplicates(kb_grow_op_t *op) {
    pa_slot_t **sorted = calloc((size_t)op->n_slots + 1, sizeof(*sorted));

    if (!sorted) return -1;
    for (int32_t i = 0; i < op->n_slots; i++) sorted[i] = &op->slots[i];
    qsort(sorted, (size_t)op->n_slots, sizeof(*sorted), slot_name_cmp);
    for (int32_t i = 0; i + 1 < op->n_slots; i++) {
        if (slot_name_cmp(&sorted[i], &sorted[i + 1]) != 0) continue;
        slot_final(sorted[i], KP_ERR_INVALID_REQUEST, DUPLICATE_MESSAGE);
        slot_final(sorted[i + 1], KP_ERR_INVALID_REQUEST, DUPLICATE_MESSAGE);
    }
    free(sorted);
    return 0;
}

/* ------------------------------------------------------------- public */

kb_partition_adder_t *kb_partition_adder_new(const kb_partition_adder_deps_t *deps) {
    kb_partition_adder_t *pa = calloc(1, sizeof(*pa));

    if (!pa) return NULL;
    pa->deps = *deps;
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

kb_grow_op_t *kb_partition_adder_start(kb_partition_adder_t *pa, kp_createpartitions_request_t *body) {
    kb_grow_op_t *op = op_new(pa, body);

    if (!op) return NULL;
    if (refuse_duplicates(op) != 0) {
        for (int32_t i = 0; i < op->n_slots; i++) slot_final(&op->slots[i], KP_ERR_UNKNOWN_SERVER_ERROR, "out of memory");
        return op;
    }
    start_more(op);
    return op;
}

bool kb_grow_op_settled(const kb_grow_op_t *op) {
    for (int32_t i = 0; i < op->n_slots; i++)
        if (op->slots[i].state != SLOT_FINAL) return false;
    return true;
}

int32_t kb_grow_op_count(const kb_grow_op_t *op) { return op->n_slots; }

void kb_grow_op_result(const kb_grow_op_t *op, int32_t i, kp_str_t *name, int16_t *error_code,
                       const char **error_message) {
    *name = op->slots[i].name;
    *error_code = op->slots[i].error_code;
    *error_message = op->slots[i].error_message;
}

int kb_grow_op_wait(kb_grow_op_t *op, int32_t timeout_ms, kb_grow_op_done_fn done, void *arg) {
    struct event_base *base = op->pa->deps.base;
    int32_t ms = timeout_ms > 0 ? timeout_ms : 0;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (!base) return -1;
    op->timer = evtimer_new(base, on_timeout, op);
    op->recheck = event_new(base, -1, 0, on_recheck, op);
    if (!op->timer || !op->recheck || evtimer_add(op->timer, &tv) != 0) {
        if (op->timer) event_free(op->timer);
        if (op->recheck) event_free(op->recheck);
        op->timer = op->recheck = NULL;
        return -1;
    }
    op->done = done;
    op->done_arg = arg;
    op->timeout_ms = timeout_ms;
    park_link(op);
    return 0;
}

void kb_grow_op_give_up(kb_grow_op_t *op, const char *why) {
    for (int32_t i = 0; i < op->n_slots; i++)
        if (op->slots[i].state != SLOT_FINAL) slot_final(&op->slots[i], KP_ERR_REQUEST_TIMED_OUT, why);
}

void kb_grow_op_release(kb_grow_op_t *op) {
    op->answered = true;
    op_unref(op);
}
