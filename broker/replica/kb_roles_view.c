/*
 * kb_roles_view.c - role updates built from the cluster view.
 *
 * THIS FILE GOES AWAY WHEN LeaderAndIsr ARRIVES: the controller will then
 * send each broker its roles, and the request's handler will call
 * kb_replicas_apply_roles with them.  Until then this adapter reads them
 * from the state znodes in the view (design.md, "Who tells a broker its
 * roles").
 *
 * On each view change, once the view has loaded completely (a view in the
 * middle of a reload may show stale states), it visits only the partitions
 * the view stamped since the last walk (kc_view.h, change generations) and
 * turns each into a kb_role_update_t, in batches of BATCH; the partitions
 * fence them by leader epoch, so visiting one that did not change costs a
 * lookup.  A topic whose config overrides changed has its settings resolved
 * and applied first.  When a topic, or partitions of one, vanished, every
 * partition assigned here is checked against the view, and those it no
 * longer assigns here get an update that unassigns them.
 */
#include "broker/replica/kb_roles_view.h"

#include <stdlib.h>

#include "broker/kb_topic_config.h"
#include "broker/replica/kb_partition_internal.h"
#include "common/kc_log.h"
#include "coord/kc_model.h"

#define BATCH 64

/* Updates collected for one kb_replicas_apply_roles call. */
typedef struct {
    kb_replicas_t *r;
    kb_role_update_t u[BATCH];
    size_t n;
} batch_t;

static void batch_flush(batch_t *b) {
    kb_replicas_apply_roles(b->r, b->u, b->n);
    b->n = 0;
}

static void batch_add(batch_t *b, const kb_role_update_t *u) {
    b->u[b->n++] = *u;
    if (b->n == BATCH) batch_flush(b);
}

/* The update the state znode of t's partition pid states; its arrays point
 * into the view.  A partition without state is hosted without a role. */
static kb_role_update_t update_from_view(const kc_topic_t *t, int32_t pid, const kb_topic_settings_t *ts) {
    const kc_partition_t *kp = &t->partitions[pid];
    const kc_partition_state_t *s = &kp->state;
    kb_role_update_t u = {.topic = t->name, .partition = pid, .leader = -1, .leader_epoch = KB_ROLE_NO_EPOCH,
                          .controller_epoch = -1, .zk_version = -1, .replicas = kp->replicas,
                          .n_replicas = kp->n_replicas, .settings = ts};
    if (!kp->has_state) return u;
    u.leader = s->leader;
    u.leader_epoch = s->leader_epoch;
    u.controller_epoch = s->controller_epoch;
    u.zk_version = s->zk_version;
    u.isr = s->isr;
    u.n_isr = s->n_isr;
    return u;
}

static void topic_settings(const kb_config_t *cfg, const kc_topic_t *t, kb_topic_settings_t *ts) {
    kb_topic_config_resolve(cfg, t->configs, t->n_configs, &ts->log);
    ts->min_insync = kb_topic_config_min_insync(cfg, t->configs, t->n_configs);
}

/* The partitions of topic t stamped after generation `since` (all of them
 * when its overrides changed).  ts must outlive the batch: it is flushed
 * before returning. */
static void walk_topic(batch_t *b, const kc_topic_t *t, uint64_t since) {
    bool configs = t->configs_changed > since;
    kb_topic_settings_t ts;
    topic_settings(b->r->deps.cfg, t, &ts);
    if (configs) kb_replicas_apply_topic_settings(b->r, t->name, t->n_partitions, &ts);
    for (int32_t pid = 0; pid < t->n_partitions; pid++) {
        if (!configs && t->partitions[pid].changed <= since) continue;
        kb_role_update_t u = update_from_view(t, pid, &ts);
        batch_add(b, &u);
    }
    batch_flush(b);
}

/* The partitions assigned here that the view no longer assigns here. */
typedef struct {
    const char *topic; /* the partition's own name: it lives until kb_replicas_free */
    int32_t partition;
} gone_t;

typedef struct {
    const kc_view_t *v;
    int32_t me;
    gone_t *gone;
    size_t n, cap;
    bool oom;
} gone_list_t;

static void collect_gone(void *arg, const char *topic, int32_t partition) {
    gone_list_t *g = arg;
    const kc_topic_t *t = kc_view_topic(g->v, topic);
    const kc_partition_t *kp = t && partition < t->n_partitions ? &t->partitions[partition] : NULL;
    if (kp && kc_int32_contains(kp->replicas, kp->n_replicas, g->me)) return;
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

/* A topic, or partitions of one, left the view: every partition assigned
 * here that it no longer assigns here is unassigned (rare enough for a
 * full pass).  No epoch: a deleted topic has no state to fence by. */
static void drop_unassigned(batch_t *b, const kc_view_t *v) {
    gone_list_t g = {.v = v, .me = b->r->deps.cfg->broker_id};
    kb_replicas_each_assigned(b->r, collect_gone, &g);
    if (g.oom) kc_error("replica", "out of memory listing the partitions no longer assigned here; some stay hosted");
    for (size_t i = 0; i < g.n; i++) {
        kb_role_update_t u = {.topic = g.gone[i].topic, .partition = g.gone[i].partition, .leader = -1,
                              .leader_epoch = KB_ROLE_NO_EPOCH, .controller_epoch = -1, .zk_version = -1};
        batch_add(b, &u);
    }
    batch_flush(b);
    free(g.gone);
}

void kb_replicas_on_view_change(kb_replicas_t *r, const kc_view_t *v, int what) {
    (void)what;
    if (!v || !kc_view_loaded(v)) return;
    batch_t *b = malloc(sizeof(*b));
    if (!b) {
        kc_error("replica", "out of memory applying a view change; the next one catches up");
        return;
    }
    b->r = r;
    b->n = 0;
    uint64_t since = r->view_seen;
    r->view_seen = kc_view_generation(v);
    for (const kc_topic_t *t = kc_view_changed_since(v, since); t; t = kc_view_changed_next(v, t))
        walk_topic(b, t, since);
    if (kc_view_topics_removed(v) > since) drop_unassigned(b, v);
    free(b);
}
