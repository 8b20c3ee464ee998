/*
 * kb_topic_deleter.c - the topic-deletion service (kb_topic_deleter.h).
 *
 * An operation is one DeleteTopics request: a slot per requested name with
 * its answer.  A name the view holds gets its marker written; once the
 * write succeeded (or found the marker there already) the slot waits for
 * the topic znode, and then the marker, to leave the view.  The waiting,
 * parking and reference counting are kb_admin_op.h's (one reference per
 * marker write in flight); every view change walks the park list (one view
 * lookup per waiting topic), so nothing polls.
 */
#include "broker/admin/kb_topic_deleter.h"

#include <stdlib.h>
#include <string.h>

#include "common/kc_log.h"
#include "common/kc_names.h"
#include "coord/kc_admin.h"
#include "coord/kc_view.h"
#include "proto/kp_types.h"

#define MOD "deletetopics"

/* The service's own slot state (kb_admin_op.h has final and waiting:
 * marked, waiting for the topic znode to go).  A slot's cname is the
 * owned C copy of a name the view holds, else NULL; its message is null. */
enum { SLOT_MARKING = KB_SLOT_SERVICE }; /* the marker is being written */

typedef kb_admin_slot_t del_slot_t;

struct kb_topic_deleter {
    kb_topic_deleter_deps_t deps;
    kb_admin_park_t park;
};

/* ------------------------------------------------------------- waiting */

/* The topic znode and then its marker are gone from a loaded view: the
 * controller deletes them last, once every replica deleted its log, and
 * the name is free again. */
static bool topic_gone(const kb_topic_deleter_t *d, const char *name) {
    const kc_view_t *v = d->deps.view;
    return v && kc_view_loaded(v) && !kc_view_topic(v, name) && !kc_view_topic_marked(v, name);
}

static bool slot_ready(kb_admin_op_t *op, int32_t i) {
    if (!topic_gone(op->park->service, op->slots[i].cname)) return false;
    kc_info(MOD, "topic '%s' deleted", op->slots[i].cname);
    return true;
}

static void slot_give_up(kb_admin_op_t *op, int32_t i, kb_admin_end_t end) {
    (void)end;
    kb_admin_slot_final(&op->slots[i], KP_ERR_REQUEST_TIMED_OUT, NULL);
}

static const kb_admin_hooks_t hooks = {slot_ready, slot_give_up, NULL};

void kb_topic_deleter_view_changed(kb_topic_deleter_t *d) {
    if (d) kb_admin_park_recheck(&d->park);
}

void kb_topic_deleter_shutdown(kb_topic_deleter_t *d) {
    if (d) kb_admin_park_shutdown(&d->park);
}

int kb_topic_deleter_waiting(const kb_topic_deleter_t *d) { return d->park.n_parked; }

/* ------------------------------------------------------------- marking */

/* The marker write's completion (possibly synchronous, or inside
 * kc_session_free, or after the answer went out). */
static void on_marked(int rc, void *arg) {
    del_slot_t *s = arg;
    kb_admin_op_t *op = s->op;
    if (rc == KC_OK) kc_info(MOD, "topic '%s' marked for deletion", s->cname);
    else if (rc != KC_EXISTS && rc != KC_NONODE) kc_warn(MOD, "cannot mark topic '%s' for deletion: %s", s->cname, kc_strerror(rc));
    if (!op->answered && s->state == SLOT_MARKING) {
        if (rc == KC_OK || rc == KC_EXISTS) {
            s->state = KB_SLOT_WAITING;
        } else {
            s->state = KB_SLOT_FINAL;
            s->error_code = rc == KC_NONODE   ? KP_ERR_UNKNOWN_TOPIC_OR_PARTITION
                            : rc == KC_CONNLOSS ? KP_ERR_REQUEST_TIMED_OUT
                                                : KP_ERR_UNKNOWN_SERVER_ERROR;
        }
        kb_admin_op_poke(op);
    }
    kb_admin_op_unref(op);
}

static void mark_default(kc_session_t *zk, const char *topic, void (*done)(int rc, void *arg), void *arg) {
    kc_topic_mark_deletion(zk, topic, done, arg);
}

/* A name the view holds is marked; anything else is unknown (Kafka
 * answers 3 for a name its metadata cache lacks, an invalid one too). */
static void judge(kb_admin_op_t *op, del_slot_t *s) {
    char name[KC_TOPIC_NAME_MAX + 1];
    const kb_topic_deleter_t *d = op->park->service;
    s->state = KB_SLOT_FINAL;
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
    kb_admin_op_ref(op);
    d->deps.mark(d->deps.zk, s->cname, on_marked, s);
}

/* ------------------------------------------------------------- public */

kb_topic_deleter_t *kb_topic_deleter_new(const kb_topic_deleter_deps_t *deps) {
    kb_topic_deleter_t *d = calloc(1, sizeof(*d));
    if (!d) return NULL;
    d->deps = *deps;
    d->park = (kb_admin_park_t){.base = deps->base, .hooks = &hooks, .service = d};
    if (!d->deps.mark) d->deps.mark = mark_default;
    return d;
}

void kb_topic_deleter_free(kb_topic_deleter_t *d) {
    if (!d) return;
    kb_topic_deleter_shutdown(d);
    free(d);
}

kb_admin_op_t *kb_topic_deleter_start(kb_topic_deleter_t *d, const kp_deletetopics_request_t *body) {
    kb_admin_op_t *op = kb_admin_op_new(&d->park, body->n_topic_names, 0, 0);
    for (int32_t i = 0; op && i < op->n_slots; i++) {
        op->slots[i].name = body->topic_names[i];
        judge(op, &op->slots[i]);
    }
    return op;
}
