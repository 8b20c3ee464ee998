/*
 * kc_isr.h - the ZooKeeper side of ISR changes made by partition leaders,
 * Kafka 2.6's only path for them (zk-and-replication.md 3.5 and 1.10):
 *
 *   - the leader's conditional write of its partition's state znode;
 *   - the /isr_change_notification/isr_change_N entries that tell the
 *     controller which partitions changed;
 *   - the controller's consumption of those entries.
 *
 * Deciding what to write is the broker's business (broker/replica); this
 * file only knows paths, versions and formats.
 */
#ifndef KC_ISR_H
#define KC_ISR_H

#include <stdbool.h>

#include "coord/kc_json.h"
#include "coord/kc_model.h"
#include "coord/kc_zk.h"

/* Completion of a leader's state write: on KC_OK zk_version is the state
 * znode's version after the write, else -1. */
typedef void (*kc_state_written_fn)(int rc, int32_t zk_version, void *arg);

/*
 * A partition leader's ISR change: setData of .../partitions/P/state with
 * the JSON of *state (leader, leader_epoch, controller_epoch and isr as
 * given; version 1), conditional on state->zk_version, which must be a real
 * version (>= 0: -1 would make the write unconditional).  Leaders are not
 * fenced by /controller_epoch: the znode version is their fence.
 *
 * On BADVERSION the znode is read back: if it holds exactly what was written
 * (same leader, leader_epoch, controller_epoch and ISR in the same order:
 * an earlier attempt whose reply was lost) that is KC_OK with the version
 * read, otherwise KC_BADVERSION (the controller changed the state).  Other
 * results: KC_NONODE, KC_CONNLOSS, KC_INVALID (a negative zk_version),
 * KC_ERR.
 */
void kc_state_leader_write(kc_session_t *s, const char *topic, int32_t partition, const kc_partition_state_t *state,
                           kc_state_written_fn done, void *arg);

/* Creates one persistent sequential /isr_change_notification/isr_change_
 * node listing parts (n > 0), re-creating the parent if someone removed it.
 * done gets KC_OK, KC_CONNLOSS or KC_ERR. */
void kc_isr_change_publish(kc_session_t *s, const kc_isr_change_t *parts, int n, kc_done_fn done, void *arg);

/* One notification the controller read: its node name and partitions (n is
 * 0 for a node whose data cannot be decoded; it is deleted all the same). */
typedef void (*kc_isr_change_seen_fn)(const char *node, const kc_isr_change_t *parts, int n, void *arg);

/*
 * The controller's pass over /isr_change_notification: lists it, leaving a
 * child watch (or, when it is missing, an exists watch) that calls watcher
 * with watcher_ctx once; reads each isr_change_ child and reports it through
 * seen (unless seen is NULL: then the children are deleted unread, as a new
 * controller does), and deletes it in a multi led by a check of
 * /controller_epoch at epoch_zk_version.  done runs once every child is
 * handled: KC_OK, KC_FENCED when a deletion failed its epoch check, or the
 * first other failure.  A child someone else deleted meanwhile is not a
 * failure.  seen and done both get arg.
 */
void kc_isr_changes_consume(kc_session_t *s, int32_t epoch_zk_version, watcher_fn watcher, void *watcher_ctx,
                            kc_isr_change_seen_fn seen, kc_done_fn done, void *arg);

#endif
