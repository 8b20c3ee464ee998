/*
 * kb_metadata_view.c - copies the ZooKeeper view's changes into the
 * metadata cache (kb_metadata_view.h).  The full feed is temporary: it
 * goes away when UpdateMetadata fills the cache; the config-only feed
 * (topic overrides, cluster id) stays.
 *
 * The conversions borrow the view's arrays into the cache's input types;
 * the cache copies them, so nothing here outlives one apply.
 */
#include <stdlib.h>

#include "broker/metadata/kb_metadata_view.h"

struct kb_metadata_feed {
    kb_metadata_t *md;
    const kc_view_t *v;
    uint64_t seen; /* view generation applied up to; 0: nothing yet */
    bool configs_only; /* kb_metadata_config_feed_new: UpdateMetadata fills the rest */
};

kb_metadata_feed_t *kb_metadata_feed_new(kb_metadata_t *md, const kc_view_t *v) {
    kb_metadata_feed_t *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    f->md = md;
    f->v = v;
    return f;
}

kb_metadata_feed_t *kb_metadata_config_feed_new(kb_metadata_t *md, const kc_view_t *v) {
    kb_metadata_feed_t *f = kb_metadata_feed_new(md, v);
    if (f) f->configs_only = true;
    return f;
}

void kb_metadata_feed_free(kb_metadata_feed_t *f) { free(f); }

/* ---------------------------------------------------------- conversions */

static kb_metadata_partition_t partition_of(const kc_partition_t *p) {
    bool st = p->has_state;
    return (kb_metadata_partition_t){.leader = st ? p->state.leader : -1,
                                     .leader_epoch = st ? p->state.leader_epoch : -1,
                                     .n_replicas = p->n_replicas,
                                     .n_isr = st ? p->state.n_isr : 0,
                                     .replicas = p->replicas,
                                     .isr = st ? p->state.isr : NULL};
}

static int copy_brokers(const kb_metadata_feed_t *f) {
    int n = kc_view_broker_count(f->v), rc = 0, total = 0;
    kb_metadata_broker_t *out = calloc((size_t)n + 1, sizeof(*out));
    kb_metadata_endpoint_t *eps;

    for (int i = 0; i < n; i++) total += kc_view_broker_at(f->v, i)->n_endpoints;
    eps = calloc((size_t)total + 1, sizeof(*eps));
    if (!out || !eps) rc = -1;
    for (int i = 0, k = 0; rc == 0 && i < n; i++) {
        const kc_broker_info_t *b = kc_view_broker_at(f->v, i);
        out[i] = (kb_metadata_broker_t){b->id, b->rack, b->n_endpoints, &eps[k]};
        for (int e = 0; e < b->n_endpoints; e++, k++)
            eps[k] = (kb_metadata_endpoint_t){b->endpoints[e].listener, b->endpoints[e].host, b->endpoints[e].port};
    }
    if (rc == 0) rc = kb_metadata_set_brokers(f->md, out, n);
    free(out);
    free(eps);
    return rc;
}

static int copy_topic(const kb_metadata_feed_t *f, const kc_topic_t *t) {
    kb_metadata_partition_t *parts = calloc((size_t)t->n_partitions + 1, sizeof(*parts));
    int rc;

    if (!parts) return -1;
    for (int i = 0; i < t->n_partitions; i++) parts[i] = partition_of(&t->partitions[i]);
    kb_metadata_topic_t md = {t->name, t->n_partitions, parts, t->n_configs, t->configs};
    rc = kb_metadata_upsert_topic(f->md, &md);
    free(parts);
    return rc;
}

/* Only the partitions and configs stamped after f->seen, when the cache
 * already holds the topic with the same partition count and nothing was
 * removed since.  After a removal a changed topic may be a new one under
 * an old name (deleted and re-created between two applies): its config
 * overrides carry no stamp when the new set is empty, so it is copied
 * whole. */
static int copy_topic_changes(const kb_metadata_feed_t *f, const kc_topic_t *t, bool removals) {
    const kb_metadata_topic_t *cached = f->seen && !removals ? kb_metadata_topic(f->md, t->name) : NULL;
    int rc = 0;

    if (!cached || cached->n_partitions != t->n_partitions) return copy_topic(f, t);
    for (int i = 0; rc == 0 && i < t->n_partitions; i++) {
        if (t->partitions[i].changed <= f->seen) continue;
        kb_metadata_partition_t p = partition_of(&t->partitions[i]);
        rc = kb_metadata_set_partition(f->md, t->name, i, &p);
    }
    if (rc == 0 && t->configs_changed > f->seen)
        rc = kb_metadata_set_topic_configs(f->md, t->name, t->configs, t->n_configs);
    return rc;
}

/* A pass over the cache, run only when the view removed something. */
static void drop_removed(const kb_metadata_feed_t *f) {
    for (int i = kb_metadata_topic_count(f->md) - 1; i >= 0; i--) {
        const char *name = kb_metadata_topic_at(f->md, i)->name;
        if (!kc_view_topic(f->v, name)) kb_metadata_remove_topic(f->md, name);
    }
}

/* The config-only apply: overrides of the changed topics the cache holds
 * (unknown ones are skipped: UpdateMetadata adds them with the view's
 * overrides), and the cluster id. */
static int apply_configs(kb_metadata_feed_t *f) {
    uint64_t gen = kc_view_generation(f->v);
    bool all = !f->seen || kc_view_topics_removed(f->v) > f->seen;
    int rc = kb_metadata_set_cluster_id(f->md, kc_view_cluster_id(f->v));
    for (const kc_topic_t *t = kc_view_changed_since(f->v, f->seen); t; t = kc_view_changed_next(f->v, t)) {
        if (!all && t->configs_changed <= f->seen) continue;
        if (kb_metadata_topic(f->md, t->name))
            rc |= kb_metadata_set_topic_configs(f->md, t->name, t->configs, t->n_configs);
    }
    f->seen = rc == 0 ? gen : 0;
    kb_metadata_notify(f->md);
    return rc == 0 ? 0 : -1;
}

int kb_metadata_feed_apply(kb_metadata_feed_t *f) {
    if (f->configs_only) return apply_configs(f);
    uint64_t gen = kc_view_generation(f->v);
    bool removals = !f->seen || kc_view_topics_removed(f->v) > f->seen;
    int rc = 0;

    if (!f->seen || kc_view_brokers_changed(f->v) > f->seen) rc |= copy_brokers(f);
    kb_metadata_set_controller(f->md, kc_view_controller(f->v));
    rc |= kb_metadata_set_cluster_id(f->md, kc_view_cluster_id(f->v));
    for (const kc_topic_t *t = kc_view_changed_since(f->v, f->seen); t; t = kc_view_changed_next(f->v, t))
        rc |= copy_topic_changes(f, t, removals);
    if (removals) drop_removed(f);
    /* The view reports the start of a reload too (KC_VIEW_LOADED), so the
     * cache stops counting as loaded before anything is re-read. */
    kb_metadata_set_loaded(f->md, kc_view_loaded(f->v));
    f->seen = rc == 0 ? gen : 0; /* after a failure, the next apply copies everything */
    kb_metadata_notify(f->md);
    return rc == 0 ? 0 : -1;
}
