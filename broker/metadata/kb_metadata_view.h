/*
 * kb_metadata_view.h - the adapter that feeds the metadata cache from the
 * ZooKeeper view (coord/kc_view.h) until the controller sends
 * UpdateMetadata.  It goes away with UpdateMetadata: then the cache is
 * filled by that request through the same update calls (kb_metadata.h).
 *
 * Each apply copies only what the view stamped as changed since the
 * previous apply (its change generations): the broker set when it changed,
 * and in each changed topic the partitions and configs stamped later, or
 * the whole topic when it is new to the cache, changed its partition
 * count, or something was removed since the previous apply (it may have
 * been deleted and re-created).  Removed topics are found by a pass over
 * the cache, only when the view says something was removed.  The cache is
 * loaded exactly when the view is.  It then tells the cache's listeners.
 */
#ifndef KB_METADATA_VIEW_H
#define KB_METADATA_VIEW_H

#include "broker/metadata/kb_metadata.h"
#include "coord/kc_view.h"

typedef struct kb_metadata_feed kb_metadata_feed_t;

/* Neither md nor v is owned; both must outlive the feed. */
kb_metadata_feed_t *kb_metadata_feed_new(kb_metadata_t *md, const kc_view_t *v);
void kb_metadata_feed_free(kb_metadata_feed_t *f);
/* A feed of the topics' config overrides and the cluster id only, for a
 * broker whose cache UpdateMetadata fills (brokers, controller,
 * partitions, loaded): each apply sets the overrides of the topics the
 * cache holds whose overrides the view stamped since the previous apply
 * (every changed topic's after a removal: it may be a new topic under an
 * old name), and the cluster id.  A topic the cache does not hold yet
 * takes its overrides from the view when UpdateMetadata adds it. */
kb_metadata_feed_t *kb_metadata_config_feed_new(kb_metadata_t *md, const kc_view_t *v);
/* Copies the view's changes into the cache and notifies its listeners.
 * Call from the view's change callback.  0, or -1 when out of memory (the
 * next apply then copies everything again). */
int kb_metadata_feed_apply(kb_metadata_feed_t *f);

#endif
