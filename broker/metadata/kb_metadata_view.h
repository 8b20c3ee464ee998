/*
 * kb_metadata_view.h - what the metadata cache still takes from the
 * ZooKeeper view (coord/kc_view.h): the topics' config overrides and the
 * cluster id.  Everything else in the cache (brokers, controller,
 * partitions, whether it is loaded) comes from the controller's
 * UpdateMetadata (broker/kb_control_requests.c), through the same update
 * calls (kb_metadata.h).
 *
 * Each apply copies only what the view stamped as changed since the
 * previous apply (its change generations): the overrides of the changed
 * topics the cache holds whose overrides were stamped later, or of every
 * changed topic it holds when something was removed since the previous
 * apply (a changed topic may then be a new one under an old name, whose
 * empty set of overrides carries no stamp).  A topic the cache does not
 * hold yet takes its overrides from the view when UpdateMetadata adds it.
 * It then tells the cache's listeners.
 */
#ifndef KB_METADATA_VIEW_H
#define KB_METADATA_VIEW_H

#include "broker/metadata/kb_metadata.h"
#include "coord/kc_view.h"

typedef struct kb_metadata_config_feed kb_metadata_config_feed_t;

/* Neither md nor v is owned; both must outlive the feed. */
kb_metadata_config_feed_t *kb_metadata_config_feed_new(kb_metadata_t *md, const kc_view_t *v);
void kb_metadata_config_feed_free(kb_metadata_config_feed_t *f);
/* Copies the view's changed overrides and its cluster id into the cache
 * and notifies its listeners.  Call from the view's change callback.  0,
 * or -1 when out of memory (the next apply then copies every topic's). */
int kb_metadata_config_feed_apply(kb_metadata_config_feed_t *f);

#endif
