/*
 * kc_preferred.h - the ZooKeeper side of ZooKeeper-triggered preferred
 * leader elections (zk-and-replication.md 1.9, 2.3, 2.7):
 * /admin/preferred_replica_election, which an operator's tool creates with
 * the partitions whose first assigned replica should lead again, and which
 * the controller deletes once it has acted on them.
 *
 * Deciding what to elect is the controller's business (broker/controller);
 * this file only knows the path, its JSON (kc_json.h) and the calls.
 */
#ifndef KC_PREFERRED_H
#define KC_PREFERRED_H

#include <stdbool.h>

#include "coord/kc_json.h"
#include "coord/kc_zk.h"

/* What the controller found: rc KC_OK and exists false when there is no
 * znode; exists true with the decoded partitions (n 0 and parts NULL when
 * its data is not what Kafka writes, which is logged: Kafka's controller
 * then elects nothing and deletes it all the same).  parts is valid
 * during the call only. */
typedef void (*kc_preferred_read_fn)(int rc, bool exists, const kc_isr_change_t *parts, int n, void *arg);

/* The controller's look at the znode: an exists watch (watcher with
 * watcher_ctx, once; it fires on creation, which is what matters, and on
 * deletion and change), then its data when it exists.  Other results:
 * KC_CONNLOSS, KC_ERR. */
void kc_preferred_election_read(kc_session_t *s, watcher_fn watcher, void *watcher_ctx, kc_preferred_read_fn done,
                                void *arg);

/* Deletes the znode in a multi led by a check of /controller_epoch at
 * epoch_zk_version.  done: KC_OK (also when it is gone already), KC_FENCED
 * (a newer controller exists), KC_CONNLOSS or KC_ERR. */
void kc_preferred_election_delete(kc_session_t *s, int32_t epoch_zk_version, kc_done_fn done, void *arg);

/* An operator's request (kbroker-admin): creates the znode listing parts
 * (n > 0).  KC_EXISTS while a previous request is still being processed
 * (Kafka's tool refuses the same way), KC_INVALID for n <= 0 or data that
 * cannot be encoded, else KC_OK, KC_CONNLOSS or KC_ERR. */
void kc_preferred_election_create(kc_session_t *s, const kc_isr_change_t *parts, int n, kc_done_fn done,
                                  void *arg);

#endif
