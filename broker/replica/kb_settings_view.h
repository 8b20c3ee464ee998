/*
 * kb_settings_view.h - the topic settings of the partitions' logs, read
 * from the cluster view's topic config overrides (/config/topics/T).
 *
 * Roles come from the controller (LeaderAndIsr), but a topic's log
 * settings do not travel with them: as Kafka brokers do, each broker reads
 * them from ZooKeeper itself.  This feed gives the partitions the settings
 * of every topic whose overrides changed, or whose partitions assigned
 * here changed, since its previous apply (kb_replicas_apply_topic_settings,
 * which the logs already made take at once); it gives no roles.  The
 * LeaderAndIsr handler calls kb_settings_give() for each topic it is about
 * to assign, so that a log created for it is made with its settings when
 * the view already holds them; when the view learns them later, the next
 * apply hands them to the logs made meanwhile.
 */
#ifndef KB_SETTINGS_VIEW_H
#define KB_SETTINGS_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/kb_config.h"
#include "broker/replica/kb_replicas.h"
#include "coord/kc_view.h"

typedef struct kb_settings_feed kb_settings_feed_t;

/* Nothing is owned: r, v and cfg (broker.id, the topic config defaults)
 * must outlive the feed.  NULL when out of memory. */
kb_settings_feed_t *kb_settings_feed_new(kb_replicas_t *r, const kc_view_t *v, const kb_config_t *cfg);
void kb_settings_feed_free(kb_settings_feed_t *f);
/* Gives the settings of the topics the view stamped since the previous
 * apply, when they may matter here (see kb_settings_give_changed).
 * Nothing happens before the view has loaded completely.  Call from the
 * view's change callback. */
void kb_settings_feed_apply(kb_settings_feed_t *f);

/* Gives r topic t's settings as the view holds them (the broker's
 * defaults under its overrides). */
void kb_settings_give(kb_replicas_t *r, const kb_config_t *cfg, const kc_topic_t *t);
/* Gives them when they may matter here: t's overrides changed after
 * generation `since`, or one of its partitions stamped after it is
 * assigned to this broker (a new topic's settings reach its partitions
 * before their logs are made). */
void kb_settings_give_changed(kb_replicas_t *r, const kb_config_t *cfg, const kc_topic_t *t, uint64_t since);

#endif
