/*
 * kb_topic_deleter.c - the topic-deletion service (kb_topic_deleter.h).
 *
 * An operation is one DeleteTopics request: a slot per requested name with
 * its answer.  A name the view holds gets its marker written; once the
 * write succeeded (or found the marker there already) the slot waits for
 * the topic znode, and then the marker, to leave the view.  Waiting operations are on the
 * service's parked list, which every view change walks (one view lookup
 * per waiting topic); nothing polls.  A marker write's completion only
 * schedules a look from the loop (an event_active'd event), since
 * completions also run inside kc_session_free() at teardown.  An operation
 * is reference counted: one reference per marker write in flight plus the
 * holder's (the caller's, then the parked list's).
 */
#include "broker/admin/kb_topic_deleter.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "common/kc_log.h"
#include "common/kc_names.h"
#include "coord/kc_admin.h"
#include "coord/kc_view.h"
#include "proto/kp_types.h"

#define MOD "deletetopics"

typedef enum {
    SLOT_FINAL,   /* error_code is the answer */
    SLOT_MARKING, /* the marker is being written */
    SLOT_WAITING, /* marked: waiting for the topic znode to go */
} slot_state_t;

typedef struct {
    kb_topic_del_op_t *op;
    kp_str_t name;  /* borrowed from the request (valid while held) */
    char *cname;    /* owned C copy of a name the view holds, else NULL */
    slot_state_t state;
    int16_t error_code;
} del_slot_t;

struct kb_topic_del_op {
    kb_topic_deleter_t *d;
    bool answered;
    int32_t n_slots;
    del_slot_t *slots;
    kb_topic_del_done_fn done; /* set while parked */
    void *done_arg;
    struct event *timer;   /* timeout_ms */
    struct event *recheck; /* a marker write finished: look again from the loop */
    int refs;
    kb_topic_del_op_t *prev, *next;
};

struct kb_topic_deleter {
    kb_topic_deleter_deps_t deps;
    kb_topic_del_op_t *parked;
    int n_parked;
};

/* ------------------------------------------------------------ lifetime */

static void op_free(kb_topic_del_op_t *op) {
    for (int32_t i = 0; i < op->n_slots; i++) free(op->slots[i].cname);
    free(op->slots);
    free(op);
}

static void op_unref(kb_topic_del_op_t *op) {
    if (--op->refs == 0) op_free(op);
}

static void park_unlink(kb_topic_del_op_t *op) {
    kb_topic_deleter_t *d = op->d;
    if (op->prev) op->prev->next = op->next;
    else if (d->parked == op) d->parked = op->next;
    else return;
    if (op->next) op->next->prev = op->prev;
    op->prev = op->next = NULL;
    d->n_parked--;
}

/* Answers a parked operation, releases its events and drops the parked
 * list's reference. */
static void op_answer(kb_topic_del_op_t *op) {
    op->answered = true;
    park_unlink(op);
    op->done(op, op->done_arg);
    if (op->timer) event_free(op->timer);
    if (op->recheck) event_free(op->recheck);
    op->timer = op->recheck = NULL;
    op_unref(op);
}

/* ------------------------------------------------------------- waiting */

/* The topic znode and then its marker are gone from a loaded view: the
 * controller deletes them last, once every replica deleted its log, and
 * the name is free again. */
static bool topic_gone(const kb_topic_deleter_t *d, const char *name) {
    const kc_view_t *v = d->deps.view;
    return v && kc_view_loaded(v) && !kc_view_topic(v, name) && !kc_view_topic_marked(v, name);
}

/* Settles the waiting slots whose topics are gone; true when none is left
 * unsettled. */
static bool op_settle(kb_topic_del_op_t *op) {
    bool done = true;
    for (int32_t i = 0; i < op->n_slots; i++) {
        del_slot_t *s = &op->slots[i];
        if (s->state == SLOT_WAITING && topic_gone(op->d, s->cname)) {
            s->state = SLOT_FINAL;
            s->error_code = KP_ERR_NONE;
            kc_info(MOD, "topic '%s' deleted", s->cname);
        }
        if (s->state != SLOT_FINAL) done = false;
    }
    return done;
}

static void fail_unsettled(kb_topic_del_op_t *op) {
    for (int32_t i = 0; i < op->n_slots; i++) {
        if (op->slots[i].state == SLOT_FINAL) continue;
        op->slots[i].state = SLOT_FINAL;
        op->slots[i].error_code = KP_ERR_REQUEST_TIMED_OUT;
    }
}

static void on_recheck(evutil_socket_t fd, short what, void *arg) {
    kb_topic_del_op_t *op = arg;
    if (op_settle(op)) op_answer(op);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg) {
    kb_topic_del_op_t *op = arg;
    op_settle(op);
    fail_unsettled(op);
    op_answer(op);
}

void kb_topic_deleter_view_changed(kb_topic_deleter_t *d) {
    for (kb_topic_del_op_t *op = d ? d->parked : NULL, *next; op; op = next) {
        next = op->next; /* op may be answered and unlinked */
        if (op_settle(op)) op_answer(op);
    }
}

void kb_topic_deleter_shutdown(kb_topic_deleter_t *d) {
    while (d && d->parked) {
        kb_topic_del_op_t *op = d->parked;
        fail_unsettled(op);
        op_answer(op);
    }
}

int kb_topic_deleter_waiting(const kb_topic_deleter_t *d) { return d->n_parked; }

/* ------------------------------------------------------------- marking */

/* The marker write's completion (possibly synchronous, or inside
 * kc_session_free, or after the answer went out). */
static void on_marked(int rc, void *arg) {
    del_slot_t *s = arg;
    kb_topic_del_op_t *op = s->op;
    if (rc == KC_OK) kc_info(MOD, "topic '%s' marked for deletion", s->cname);
    else if (rc != KC_EXISTS && rc != KC_NONODE) kc_warn(MOD, "cannot mark topic '%s' for deletion: %s", s->cname, kc_strerror(rc));
    if (!op->answered && s->state == SLOT_MARKING) {
        if (rc == KC_OK || rc == KC_EXISTS) {
            s->state = SLOT_WAITING;
        } else {
            s->state = SLOT_FINAL;
            s->error_code = rc == KC_NONODE   ? KP_ERR_UNKNOWN_TOPIC_OR_PARTITION
                            : rc == KC_CONNLOSS ? KP_ERR_REQUEST_TIMED_OUT
                                                : KP_ERR_UNKNOWN_SERVER_ERROR;
        }
        if (op->recheck) event_active(op->recheck, EV_TIMEOUT, 0);
    }
    op_unref(op);
}

static void mark_default(kc_session_t *zk, const char *topic, void (*done)(int rc, void *arg), void *arg) {
    kc_topic_mark_deletion(zk, topic, done, arg);
}

/* A name the view holds is marked; anything else is unknown (Kafka
 * answers 3 for a name its metadata cache lacks, an invalid one too). */
static void judge(kb_topic_del_op_t *op, del_slot_t *s) {
    char name[KC_TOPIC_NAME_MAX + 1];
    const kb_topic_deleter_t *d = op->d;
    s->state = SLOT_FINAL;
    s->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (s->name.len <= 0 || s->name.len > KC_TOPIC_NAME_MAX || memchr(s->name.ptr, '\0', (size_t)s->name.len)) return;
    memcpy(name, s->name.ptr, (size_t)s->name.len);
    name[s->name.len] = '\0';
    if (!d->deps.view || !kc_view_topic(d->deps.view, name)) return;
    if (!d->deps.zk && d->deps.mark == mark_default) {
        s->error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    if (!(s->cname = strdup(name))) {
        s->error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    s->state = SLOT_MARKING;
    s->error_code = KP_ERR_NONE;
    op->refs++;
    d->deps.mark(d->deps.zk, s->cname, on_marked, s);
}

/* ------------------------------------------------------------- public */

kb_topic_deleter_t *kb_topic_deleter_new(const kb_topic_deleter_deps_t *deps) {
    kb_topic_deleter_t *d = calloc(1, sizeof(*d));
    if (!d) return NULL;
    d->deps = *deps;
    if (!d->deps.mark) d->deps.mark = mark_default;
    return d;
}

void kb_topic_deleter_free(kb_topic_deleter_t *d) {
    if (!d) return;
    kb_topic_deleter_shutdown(d);
    free(d);
}

kb_topic_del_op_t *kb_topic_deleter_start(kb_topic_deleter_t *d, const kp_deletetopics_request_t *body) {
    kb_topic_del_op_t *op = calloc(1, sizeof(*op));
    if (!op || !(op->slots = calloc((size_t)body->n_topic_names + 1, sizeof(*op->slots)))) {
        free(op);
        return NULL;
    }
    op->d = d;
    op->n_slots = body->n_topic_names;
    op->refs = 1;
    for (int32_t i = 0; i < op->n_slots; i++) {
        op->slots[i] = (del_slot_t){.op = op, .name = body->topic_names[i]};
        judge(op, &op->slots[i]);
    }
    return op;
}

bool kb_topic_del_op_settled(const kb_topic_del_op_t *op) {
    for (int32_t i = 0; i < op->n_slots; i++)
        if (op->slots[i].state != SLOT_FINAL) return false;
    return true;
}

int32_t kb_topic_del_op_count(const kb_topic_del_op_t *op) { return op->n_slots; }

void kb_topic_del_op_result(const kb_topic_del_op_t *op, int32_t i, kp_str_t *name, int16_t *error_code) {
    *name = op->slots[i].name;
    *error_code = op->slots[i].error_code;
}

int kb_topic_del_op_wait(kb_topic_del_op_t *op, int32_t timeout_ms, kb_topic_del_done_fn done, void *arg) {
    kb_topic_deleter_t *d = op->d;
    int32_t ms = timeout_ms > 0 ? timeout_ms : 0;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (!d->deps.base) return -1;
    op->timer = evtimer_new(d->deps.base, on_timeout, op);
    op->recheck = event_new(d->deps.base, -1, 0, on_recheck, op);
    if (!op->timer || !op->recheck || evtimer_add(op->timer, &tv) != 0) {
        if (op->timer) event_free(op->timer);
        if (op->recheck) event_free(op->recheck);
        op->timer = op->recheck = NULL;
        return -1;
    }
    op->done = done;
    op->done_arg = arg;
    op->next = d->parked;
    if (d->parked) d->parked->prev = op;
    d->parked = op;
    d->n_parked++;
    return 0;
}

void kb_topic_del_op_give_up(kb_topic_del_op_t *op) { fail_unsettled(op); }

void kb_topic_del_op_release(kb_topic_del_op_t *op) {
    op->answered = true;
    op_unref(op);
}
