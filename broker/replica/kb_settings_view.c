/*
 * kb_settings_view.c - topic settings for the partitions' logs, resolved
 * from the cluster view's config overrides (kb_settings_view.h).  It
 * keeps its own position in the view and uses only the partitions' public
 * calls; the partitions skip settings they already have, so giving the
 * same settings twice costs a lookup.
 */
#include "broker/replica/kb_settings_view.h"

#include <stdlib.h>

#include "broker/kb_topic_config.h"
#include "coord/kc_model.h"

struct kb_settings_feed {
    kb_replicas_t *r;
    const kc_view_t *v;
    const kb_config_t *cfg;
    uint64_t seen; /* the view generation applied up to */
};

kb_settings_feed_t *kb_settings_feed_new(kb_replicas_t *r, const kc_view_t *v, const kb_config_t *cfg) {
    kb_settings_feed_t *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    f->r = r;
    f->v = v;
    f->cfg = cfg;
    return f;
}

void kb_settings_feed_free(kb_settings_feed_t *f) { free(f); }

void kb_settings_give(kb_replicas_t *r, const kb_config_t *cfg, const kc_topic_t *t) {
    kb_topic_settings_t ts;
    kb_topic_config_resolve(cfg, t->configs, t->n_configs, &ts.log);
    ts.min_insync = kb_topic_config_min_insync(cfg, t->configs, t->n_configs);
    kb_replicas_apply_topic_settings(r, t->name, t->n_partitions, &ts);
}

/* True when a partition of t stamped after `since` is assigned here. */
static bool changed_here(const kb_config_t *cfg, const kc_topic_t *t, uint64_t since) {
    for (int32_t pid = 0; pid < t->n_partitions; pid++) {
        const kc_partition_t *kp = &t->partitions[pid];
        if (kp->changed > since && kc_int32_contains(kp->replicas, kp->n_replicas, cfg->broker_id)) return true;
    }
    return false;
}

void kb_settings_give_changed(kb_replicas_t *r, const kb_config_t *cfg, const kc_topic_t *t, uint64_t since) {
    if (t->configs_changed <= since && !changed_here(cfg, t, since)) return;
    kb_settings_give(r, cfg, t);
}

void kb_settings_feed_apply(kb_settings_feed_t *f) {
    if (!kc_view_loaded(f->v)) return;
    uint64_t since = f->seen;
    f->seen = kc_view_generation(f->v);
    for (const kc_topic_t *t = kc_view_changed_since(f->v, since); t; t = kc_view_changed_next(f->v, t))
        kb_settings_give_changed(f->r, f->cfg, t, since);
}
