/*
 * kb_roles.h - a partition's role, as data: what the controller decides for
 * one partition (its leader, leader epoch, ISR and replicas), handed to the
 * partitions in batches through ONE entry point, kb_replicas_apply_roles().
 *
 * Until the controller sends LeaderAndIsr over RPC, the batches are built
 * from the cluster view's state znodes (kb_roles_view.c, an adapter that
 * goes away then); afterwards the LeaderAndIsr handler builds them from the
 * request.  Either way the partitions apply them the same way:
 *
 *   Hosting.  A partition whose replicas list this broker gets a local log
 *   (created off the loop the first time) and is hosted once it has one;
 *   one whose replicas do not list it loses its role (the log stays).
 *
 *   Fencing (design.md "Fencing", Kafka's LeaderAndIsr).  An update with an
 *   older leader epoch than the partition has seen is refused (logged and
 *   counted); one with the same epoch is ignored unless it changes whether
 *   the partition is hosted here.  The leader changes its own ISR (the
 *   shrink, kb_partition_isr.c) with a conditional write of the state znode
 *   that keeps the leader epoch, and adopts the new ISR and zkVersion itself
 *   once that write succeeded, as Kafka does: the same-epoch update that
 *   later echoes the write back carries nothing new.
 */
#ifndef KB_ROLES_H
#define KB_ROLES_H

#include <stddef.h>
#include <stdint.h>

#include "broker/log/kb_log.h"

typedef struct kb_replicas kb_replicas_t;

/* leader_epoch of a partition whose state is not known (no state znode yet,
 * or the topic is gone): such an update is never fenced, and hosts the
 * partition without a leader. */
#define KB_ROLE_NO_EPOCH (-1)

/* The settings a partition's log is made with, and acks=all's minimum ISR. */
typedef struct kb_topic_settings {
    kb_log_config_t log;
    int32_t min_insync;
} kb_topic_settings_t;

/*
 * One partition's role.  The arrays and strings are borrowed for the
 * duration of kb_replicas_apply_roles.  settings are the topic's, for a log
 * this update creates (NULL: the broker defaults); the settings of logs that
 * exist already change through kb_replicas_apply_topic_settings.
 */
typedef struct kb_role_update {
    const char *topic;
    int32_t partition;
    int32_t leader;            /* broker id, or -1 */
    int32_t leader_epoch;      /* or KB_ROLE_NO_EPOCH */
    int32_t controller_epoch;  /* of the state: the leader's own ISR writes keep it */
    int32_t zk_version;        /* of the state znode: the leader's ISR writes are conditional on it */
    const int32_t *isr;
    int n_isr;
    const int32_t *replicas;   /* the assignment, in order */
    int n_replicas;
    const kb_topic_settings_t *settings;
} kb_role_update_t;

/* Applies n updates in order (the one entry point for roles). */
void kb_replicas_apply_roles(kb_replicas_t *r, const kb_role_update_t *u, size_t n);

/* Applies changed topic settings to the logs of topic's partitions
 * [0, n_partitions) that exist here, and to those being created. */
void kb_replicas_apply_topic_settings(kb_replicas_t *r, const char *topic, int32_t n_partitions,
                                      const kb_topic_settings_t *ts);

/* Calls fn for each partition this broker hosts or is creating a log for
 * because an update assigned it here.  fn may not apply roles. */
void kb_replicas_each_assigned(kb_replicas_t *r, void (*fn)(void *arg, const char *topic, int32_t partition),
                               void *arg);

/* What became of the role updates applied so far. */
typedef struct kb_roles_stats {
    uint64_t applied;
    uint64_t refused_stale_epoch; /* older leader epoch than the partition had seen */
    uint64_t ignored_same_epoch;
} kb_roles_stats_t;

void kb_replicas_roles_stats(const kb_replicas_t *r, kb_roles_stats_t *out);

#endif
