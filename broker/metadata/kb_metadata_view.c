/*
 * kb_metadata_view.c - copies the ZooKeeper view's topic config overrides
 * and cluster id into the metadata cache (kb_metadata_view.h).
 *
 * The view's arrays are handed to the cache's update calls as they are;
 * the cache copies them, so nothing here outlives one apply.
 */
#include <stdlib.h>

#include "broker/metadata/kb_metadata_view.h"

struct kb_metadata_config_feed {
    kb_metadata_t *md;
    const kc_view_t *v;
    uint64_t seen; /* view generation applied up to; 0: nothing yet */
};

kb_metadata_config_feed_t *kb_metadata_config_feed_new(kb_metadata_t *md, const kc_view_t *v) {
    kb_metadata_config_feed_t *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    f->md = md;
    f->v = v;
    return f;
}

void kb_metadata_config_feed_free(kb_metadata_config_feed_t *f) { free(f); }

/* Overrides of the changed topics the cache holds (unknown ones are
 * skipped: UpdateMetadata adds them with the view's overrides), all of
 * them after a removal, and the cluster id. */
int kb_metadata_config_feed_apply(kb_metadata_config_feed_t *f) {
    uint64_t gen = kc_view_generation(f->v);
    bool all = !f->seen || kc_view_topics_removed(f->v) > f->seen;
    int rc = kb_metadata_set_cluster_id(f->md, kc_view_cluster_id(f->v));

    for (const kc_topic_t *t = kc_view_changed_since(f->v, f->seen); t; t = kc_view_changed_next(f->v, t)) {
        if (!all && t->configs_changed <= f->seen) continue;
        if (kb_metadata_topic(f->md, t->name))
            rc |= kb_metadata_set_topic_configs(f->md, t->name, t->configs, t->n_configs);
    }
    f->seen = rc == 0 ? gen : 0; /* after a failure, the next apply copies everything */
    kb_metadata_notify(f->md);
    return rc == 0 ? 0 : -1;
}
