/*
 * kb_admin_op.c - operations over several topics that wait for the cluster
 * (kb_admin_op.h): slots, the park list, the timer and recheck events, and
 * the reference count, the same for every admin service.
 */
#include "broker/admin/kb_admin_op.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "common/kc_names.h"
#include "proto/kp_types.h"

/* ------------------------------------------------------------ lifetime */

kb_admin_op_t *kb_admin_op_new(kb_admin_park_t *park, int32_t n_slots, size_t ext_size, size_t slot_ext_size) {
    kb_admin_op_t *op = calloc(1, sizeof(*op));

    if (!op) return NULL;
    op->slots = calloc((size_t)n_slots + 1, sizeof(*op->slots));
    op->ext = ext_size ? calloc(1, ext_size) : NULL;
    op->slot_ext = slot_ext_size ? calloc((size_t)n_slots + 1, slot_ext_size) : NULL;
    if (!op->slots || (ext_size && !op->ext) || (slot_ext_size && !op->slot_ext)) {
        free(op->slots);
        free(op->ext);
        free(op->slot_ext);
        free(op);
        return NULL;
    }
    op->park = park;
    op->hooks = park->hooks;
    op->n_slots = n_slots;
    op->refs = 1;
    for (int32_t i = 0; i < n_slots; i++) op->slots[i].op = op;
    return op;
}

void kb_admin_op_ref(kb_admin_op_t *op) { op->refs++; }

void kb_admin_op_unref(kb_admin_op_t *op) {
    if (--op->refs > 0) return;
    if (op->hooks->clear) op->hooks->clear(op);
    for (int32_t i = 0; i < op->n_slots; i++) {
        free(op->slots[i].cname);
        free(op->slots[i].error_message);
    }
    free(op->slots);
    free(op->ext);
    free(op->slot_ext);
    free(op);
}

void kb_admin_op_poke(kb_admin_op_t *op) {
    if (op->recheck) event_active(op->recheck, EV_TIMEOUT, 0);
}

void kb_admin_slot_final(kb_admin_slot_t *s, int16_t code, const char *why) {
    s->state = KB_SLOT_FINAL;
    s->error_code = code;
    free(s->error_message);
    s->error_message = why ? strdup(why) : NULL;
}

char *kb_admin_name_dup(kp_str_t name) {
    if (name.len < 0 || name.len > KC_TOPIC_NAME_MAX) return NULL;
    if (name.len > 0 && memchr(name.ptr, '\0', (size_t)name.len)) return NULL;
    return name.len > 0 ? strndup(name.ptr, (size_t)name.len) : strdup("");
}

/* ------------------------------------------------------------- parking */

static void park_link(kb_admin_op_t *op) {
    kb_admin_park_t *park = op->park;
    op->next = park->parked;
    if (park->parked) park->parked->prev = op;
    park->parked = op;
    park->n_parked++;
}

static void park_unlink(kb_admin_op_t *op) {
    kb_admin_park_t *park = op->park;
    if (op->prev) op->prev->next = op->next;
    else if (park->parked == op) park->parked = op->next;
    else return; /* not parked */
    if (op->next) op->next->prev = op->prev;
    op->prev = op->next = NULL;
    park->n_parked--;
}

static void free_events(kb_admin_op_t *op) {
    if (op->timer) event_free(op->timer);
    if (op->recheck) event_free(op->recheck);
    op->timer = op->recheck = NULL;
}

/* Answers a parked operation through its callback, releases its events and
 * drops the park list's reference (completions in flight keep op alive). */
static void op_answer(kb_admin_op_t *op) {
    op->answered = true;
    park_unlink(op);
    op->done(op, op->done_arg);
    free_events(op);
    kb_admin_op_unref(op);
}

/* ------------------------------------------------------------- waiting */

/* Settles the waiting slots the cluster shows done; true when every slot
 * is final. */
static bool op_settle(kb_admin_op_t *op) {
    bool done = true;

    for (int32_t i = 0; i < op->n_slots; i++) {
        kb_admin_slot_t *s = &op->slots[i];
        if (s->state == KB_SLOT_WAITING && op->hooks->ready(op, i)) kb_admin_slot_final(s, KP_ERR_NONE, NULL);
        if (s->state != KB_SLOT_FINAL) done = false;
    }
    return done;
}

static void on_recheck(evutil_socket_t fd, short what, void *arg) {
    kb_admin_op_t *op = arg;

    (void)fd;
    (void)what;
    if (op_settle(op)) op_answer(op);
}

/* Hands every unsettled slot to the service's `fail` hook. */
static void fail_unsettled(kb_admin_op_t *op, kb_admin_end_t end) {
    for (int32_t i = 0; i < op->n_slots; i++)
        if (op->slots[i].state != KB_SLOT_FINAL) op->hooks->fail(op, i, end);
}

/* timeout_ms passed: what the hook answers is answered; slots it leaves to
 * their completions keep the operation parked until they come. */
static void on_timeout(evutil_socket_t fd, short what, void *arg) {
    kb_admin_op_t *op = arg;

    (void)fd;
    (void)what;
    op->timed_out = true;
    if (!op_settle(op)) fail_unsettled(op, KB_ADMIN_TIMEOUT);
    if (op_settle(op)) op_answer(op);
}

void kb_admin_park_recheck(kb_admin_park_t *park) {
    for (kb_admin_op_t *op = park ? park->parked : NULL, *next; op; op = next) {
        next = op->next; /* op may be answered and unlinked below */
        if (op_settle(op)) op_answer(op);
    }
}

void kb_admin_park_shutdown(kb_admin_park_t *park) {
    while (park && park->parked) {
        kb_admin_op_t *op = park->parked;
        fail_unsettled(op, KB_ADMIN_SHUTDOWN);
        kb_admin_op_give_up(op, NULL); /* whatever the hook left */
        op_answer(op);                 /* unlinks op */
    }
}

/* -------------------------------------------------------------- public */

bool kb_admin_op_settled(const kb_admin_op_t *op) {
    for (int32_t i = 0; i < op->n_slots; i++)
        if (op->slots[i].state != KB_SLOT_FINAL) return false;
    return true;
}

int32_t kb_admin_op_count(const kb_admin_op_t *op) { return op->n_slots; }

void kb_admin_op_result(const kb_admin_op_t *op, int32_t i, kp_str_t *name, int16_t *error_code,
                        const char **error_message) {
    *name = op->slots[i].name;
    *error_code = op->slots[i].error_code;
    *error_message = op->slots[i].error_message;
}

int kb_admin_op_wait(kb_admin_op_t *op, int32_t timeout_ms, kb_admin_op_done_fn done, void *arg) {
    struct event_base *base = op->park->base;
    int32_t ms = timeout_ms > 0 ? timeout_ms : 0;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (!base) return -1;
    op->timer = evtimer_new(base, on_timeout, op);
    op->recheck = event_new(base, -1, 0, on_recheck, op);
    if (!op->timer || !op->recheck || evtimer_add(op->timer, &tv) != 0) {
        free_events(op);
        return -1;
    }
    op->done = done;
    op->done_arg = arg;
    op->timeout_ms = timeout_ms;
    park_link(op);
    return 0;
}

void kb_admin_op_give_up(kb_admin_op_t *op, const char *why) {
    for (int32_t i = 0; i < op->n_slots; i++)
        if (op->slots[i].state != KB_SLOT_FINAL) kb_admin_slot_final(&op->slots[i], KP_ERR_REQUEST_TIMED_OUT, why);
}

void kb_admin_op_release(kb_admin_op_t *op) {
    op->answered = true;
    kb_admin_op_unref(op);
}
