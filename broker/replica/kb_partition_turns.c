/*
 * kb_partition_turns.c - the append order of client batches in one
 * partition (see kb_partition.h, "Append order").
 *
 * A FIFO of turns per partition.  A turn is taken when its batch arrives
 * and marked ready when its worker job (if any) is done; whenever the
 * turn at the head is ready, it leaves the queue and its go() runs, and so
 * on until the head is not ready or the queue is empty.  A batch that
 * needs no worker finds the queue empty nearly always and runs at once,
 * inside kb_partition_turn_ready: the plain produce path costs a list
 * insert and removal.
 *
 * go() may make other turns ready or take new ones (a completion that
 * answers a request may, in principle, lead anywhere), so the loop is
 * guarded against re-entry: a nested call leaves the work to the loop
 * already on the stack, which looks at the head again after each go().
 */
#include "broker/replica/kb_partition_internal.h"

static void run_turns(kb_partition_t *p) {
    kb_append_turn_t *t;

    if (p->running_turns) return;
    p->running_turns = true;
    while ((t = TAILQ_FIRST(&p->turns)) && t->ready) {
        TAILQ_REMOVE(&p->turns, t, link);
        t->p = NULL;
        t->go(t->arg, p); /* may free t */
    }
    p->running_turns = false;
}

void kb_partition_turn_take(kb_partition_t *p, kb_append_turn_t *t, kb_turn_fn go, void *arg) {
    *t = (kb_append_turn_t){.p = p, .go = go, .arg = arg};
    TAILQ_INSERT_TAIL(&p->turns, t, link);
}

void kb_partition_turn_ready(kb_append_turn_t *t) {
    t->ready = true;
    if (t->p) run_turns(t->p);
    else t->go(t->arg, NULL); /* its partition is gone */
}

void kb_partition_turns_orphan(kb_partition_t *p) {
    kb_append_turn_t *t;

    while ((t = TAILQ_FIRST(&p->turns))) {
        TAILQ_REMOVE(&p->turns, t, link);
        t->p = NULL;
        if (t->ready) t->go(t->arg, NULL);
    }
}
