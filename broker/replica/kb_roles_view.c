/*
 * kb_roles_view.c - role updates built from the cluster view.
 *
 * THIS FILE GOES AWAY WHEN LeaderAndIsr ARRIVES: the controller will then
 * send each broker its roles, and the request's handler will call
 * kb_replicas_apply_roles with them.  Until then this adapter reads them
 * from the state znodes in the view (design.md, "Who tells a broker its
 * roles").  It uses only the partitions' public calls, and keeps its own
 * position in the view.
 *
 * The topic settings part stays when this file goes (kb_settings_view.c):
 * it is shared from there.
 *
 * On each view change, once the view has loaded completely (a view in the
 * middle of a reload may show stale states), it visits only the topics and
 * partitions the view stamped since the last apply (kc_view.h, change
 * generations).  A topic's settings are resolved only when they may
 * matter here: its config overrides changed, or one of its changed
 * partitions is assigned here (which is how a new topic's settings reach
 * its partitions before their logs are made); they are given before the
 * roles.  Each changed partition becomes a kb_role_update_t, applied in
 * batches of BATCH per topic; the partitions fence them by leader epoch.
 * When a topic, or partitions of one, vanished, every partition this
 * broker knows is checked against the view, and those the view no longer
 * holds get an update saying they were deleted.
 */
#include "broker/replica/kb_roles_view.h"

#include <stdlib.h>

#include "broker/replica/kb_settings_view.h"
#include "common/kc_log.h"
#include "coord/kc_model.h"

#define BATCH 64

struct kb_roles_feed {
    kb_replicas_t *r;
    const kc_view_t *v;
    const kb_config_t *cfg;
    uint64_t seen; /* the view generation applied up to */
    size_t n;      /* updates collected in u for one kb_replicas_apply_roles call */
    kb_role_update_t u[BATCH];
};

kb_roles_feed_t *kb_roles_feed_new(kb_replicas_t *r, const kc_view_t *v, const kb_config_t *cfg) {
    kb_roles_feed_t *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    f->r = r;
    f->v = v;
    f->cfg = cfg;
    return f;
}

void kb_roles_feed_free(kb_roles_feed_t *f) { free(f); }

static void batch_flush(kb_roles_feed_t *f) {
    kb_replicas_apply_roles(f->r, f->u, f->n);
    f->n = 0;
}

static void batch_add(kb_roles_feed_t *f, const kb_role_update_t *u) {
    f->u[f->n++] = *u;
    if (f->n == BATCH) batch_flush(f);
}

/* The update the state znode of t's partition pid states; its arrays point
 * into the view.  A partition without state is hosted without a role. */
static kb_role_update_t update_from_view(const kc_topic_t *t, int32_t pid) {
    const kc_partition_t *kp = &t->partitions[pid];
    const kc_partition_state_t *s = &kp->state;
    kb_role_update_t u = {.topic = t->name, .partition = pid, .leader = -1, .leader_epoch = KB_ROLE_NO_EPOCH,
                          .controller_epoch = -1, .zk_version = -1, .replicas = kp->replicas,
                          .n_replicas = kp->n_replicas};
    if (!kp->has_state) return u;
    u.leader = s->leader;
    u.leader_epoch = s->leader_epoch;
    u.controller_epoch = s->controller_epoch;
    u.zk_version = s->zk_version;
    u.isr = s->isr;
    u.n_isr = s->n_isr;
    return u;
}

/* The settings, then the roles of t's partitions stamped after `since`. */
static void walk_topic(kb_roles_feed_t *f, const kc_topic_t *t, uint64_t since) {
    kb_settings_give_changed(f->r, f->cfg, t, since);
    for (int32_t pid = 0; pid < t->n_partitions; pid++) {
        if (t->partitions[pid].changed <= since) continue;
        kb_role_update_t u = update_from_view(t, pid);
        batch_add(f, &u);
    }
    batch_flush(f);
}

/* The partitions known here that the view no longer holds. */
typedef struct {
    const char *topic; /* the partition's own name: it lives until kb_replicas_free */
    int32_t partition;
} gone_t;

typedef struct {
    const kc_view_t *v;
    gone_t *gone;
    size_t n, cap;
    bool oom;
} gone_list_t;

static void collect_gone(void *arg, const char *topic, int32_t partition) {
    gone_list_t *g = arg;
    const kc_topic_t *t = kc_view_topic(g->v, topic);
    if (t && partition < t->n_partitions) return; /* still there: the walk gives it its roles */
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        gone_t *more = realloc(g->gone, cap * sizeof(*more));
        if (!more) {
            g->oom = true;
            return;
        }
        g->gone = more;
        g->cap = cap;
    }
    g->gone[g->n++] = (gone_t){topic, partition};
}

/* A topic, or partitions of one, left the view: each partition known here
 * that it no longer holds gets a deletion (rare enough for a full pass). */
static void drop_removed(kb_roles_feed_t *f) {
    gone_list_t g = {.v = f->v};
    kb_replicas_each_known(f->r, collect_gone, &g);
    if (g.oom) kc_error("replica", "out of memory listing the partitions deleted; some stay hosted");
    for (size_t i = 0; i < g.n; i++) {
        kb_role_update_t u = {.topic = g.gone[i].topic, .partition = g.gone[i].partition, .leader = -1,
                              .leader_epoch = KB_ROLE_NO_EPOCH, .controller_epoch = -1, .zk_version = -1,
                              .deleted = true};
        batch_add(f, &u);
    }
    batch_flush(f);
    free(g.gone);
}

void kb_roles_feed_apply(kb_roles_feed_t *f) {
    if (!kc_view_loaded(f->v)) return;
    uint64_t since = f->seen;
    f->seen = kc_view_generation(f->v);
    for (const kc_topic_t *t = kc_view_changed_since(f->v, since); t; t = kc_view_changed_next(f->v, t))
        walk_topic(f, t, since);
    if (kc_view_topics_removed(f->v) > since) drop_removed(f);
}
