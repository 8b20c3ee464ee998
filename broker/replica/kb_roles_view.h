/*
 * kb_roles_view.h - the adapter that turns the cluster view's changes into
 * topic settings and role updates for the partitions (kb_partition.h,
 * kb_roles.h), standing in for the controller's LeaderAndIsr until it
 * arrives; it goes away then, and nothing else with it (see
 * kb_roles_view.c).  It keeps its own position in the view and uses only
 * the partitions' public calls.
 */
#ifndef KB_ROLES_VIEW_H
#define KB_ROLES_VIEW_H

#include "broker/kb_config.h"
#include "broker/replica/kb_replicas.h"
#include "coord/kc_view.h"

typedef struct kb_roles_feed kb_roles_feed_t;

/* Nothing is owned: r, v and cfg (broker.id, the topic config defaults)
 * must outlive the feed.  NULL when out of memory. */
kb_roles_feed_t *kb_roles_feed_new(kb_replicas_t *r, const kc_view_t *v, const kb_config_t *cfg);
void kb_roles_feed_free(kb_roles_feed_t *f);
/* Hands the partitions what the view stamped as changed since the
 * previous apply: each changed topic's settings (when they may matter
 * here), then its changed partitions' roles in batches of up to 64, and
 * deletions when topics or partitions were removed.  Nothing happens
 * before the view has loaded completely.  Call from the view's change
 * callback. */
void kb_roles_feed_apply(kb_roles_feed_t *f);

#endif
