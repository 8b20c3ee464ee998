/*
 * kb_producer_ids.c - the producer-id service (kb_producer_ids.h) over
 * libkcoord's block allocator.  Each waiter carries its callback in a small
 * heap record, released when the allocator answers it.
 */
#include <stdlib.h>

#include "broker/admin/kb_producer_ids.h"
#include "coord/kc_producer_ids.h"

struct kb_producer_ids {
    kc_producer_ids_t *ids;
};

typedef struct {
    kb_producer_id_fn done;
    void *arg;
} pid_waiter_t;

kb_producer_ids_t *kb_producer_ids_new(kc_session_t *zk, int32_t broker_id) {
    kb_producer_ids_t *p = calloc(1, sizeof(*p));
    if (p && !(p->ids = kc_producer_ids_new(zk, broker_id))) {
        free(p);
        return NULL;
    }
    return p;
}

void kb_producer_ids_free(kb_producer_ids_t *p) {
    if (!p) return;
    kc_producer_ids_free(p->ids); /* a claim in flight finishes the release itself */
    free(p);
}

bool kb_producer_ids_take(kb_producer_ids_t *p, int64_t *id) { return kc_producer_ids_take(p->ids, id); }

static void on_id(int rc, int64_t producer_id, void *arg) {
    pid_waiter_t wt = *(pid_waiter_t *)arg;
    free(arg);
    wt.done(rc == KC_OK, producer_id, wt.arg);
}

int kb_producer_ids_wait(kb_producer_ids_t *p, kb_producer_id_fn done, void *arg) {
    pid_waiter_t *wt = malloc(sizeof(*wt));
    if (!wt) return -1;
    *wt = (pid_waiter_t){done, arg};
    if (kc_producer_ids_wait(p->ids, on_id, wt) == KC_OK) return 0;
    free(wt);
    return -1;
}
