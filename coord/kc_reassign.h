/*
 * kc_reassign.h - partition reassignment in ZooKeeper (zk-and-replication.md
 * 1.3, 1.9, 2.7 "Reassignment"): the /admin/reassign_partitions znode that
 * Kafka's tools, Cruise Control and kbroker-admin write to ask for one, and
 * the controller's fenced rewrite of a topic znode while it carries one out.
 *
 *   {"version":1,"partitions":[{"topic":"T","partition":0,"replicas":[1,2]},...]}
 *
 * Tools create the znode only when it is absent (one reassignment request
 * at a time, as Kafka's kafka-reassign-partitions.sh does).  The controller
 * reads it when it appears (an exists watch, as Kafka 2.6 registers: a
 * change of the data of an existing znode is not a new request) and when it
 * takes the role, then takes each partition out of it as that partition's
 * reassignment completes or is refused, deleting the znode with the last.
 *
 * This file only knows paths, versions and formats; what to do is the
 * controller's business (broker/controller/kb_ctl_reassign.c).
 */
#ifndef KC_REASSIGN_H
#define KC_REASSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/kc_model.h"
#include "coord/kc_zk.h"

/* Entries (kc_model.h) this file allocated. */
void kc_reassign_entries_free(kc_reassign_entry_t *e, int n);

/* ---- the JSON ---- */

/* {"version":1,"partitions":[...]} in entry order; NULL when out of
 * memory. */
char *kc_reassign_encode(const kc_reassign_entry_t *e, int n);

/*
 * Decodes the znode's JSON, or the file Kafka's kafka-reassign-partitions.sh
 * takes (--reassignment-json-file, which may give each entry "log_dirs":
 * only "any" is accepted, one per replica, since kbroker moves no replica
 * between log directories).  "version" may be missing; when present it
 * must be 1.  Refused, with Kafka's tool's wording in why: JSON that is
 * not an object with a "partitions" array; an entry without a string
 * topic, a partition >= 0 or a replicas array; an empty replica list; a
 * replica list naming a broker twice or a negative broker id; a partition
 * listed twice.  An empty "partitions" array is valid (n 0): whether that
 * is an error is the caller's call.  Returns 0 with a malloc'd array in
 * *out (free with kc_reassign_entries_free), or -1 with *out NULL.
 */
int kc_reassign_decode(const char *data, size_t len, kc_reassign_entry_t **out, int *n_out, char *why,
                       size_t whylen);

/* ---- tools ---- */

/* Creates /admin/reassign_partitions (and /admin if missing) with the n
 * entries.  done gets KC_OK, KC_EXISTS when a reassignment request is
 * already there, KC_INVALID when the JSON is larger than ZooKeeper takes
 * in one request, or another code. */
void kc_reassign_request(kc_session_t *s, const kc_reassign_entry_t *e, int n, kc_done_fn done, void *arg);

/* ---- the controller ---- */

/* What the controller's read found: KC_OK with the entries (borrowed for
 * the call) and the znode's data version, KC_NONODE when there is no
 * znode, KC_INVALID when its data does not decode (why says how; version
 * is its data version, for its deletion), or another code. */
typedef void (*kc_reassign_read_fn)(int rc, const kc_reassign_entry_t *e, int n, int32_t version, const char *why,
                                    void *arg);

/* Leaves an exists watch on /admin/reassign_partitions that calls watcher
 * with watcher_ctx once (its creation, change or deletion), then reads the
 * znode if it is there. */
void kc_reassign_read(kc_session_t *s, watcher_fn watcher, void *watcher_ctx, kc_reassign_read_fn done, void *arg);

/* Asked of every entry of the znode as it is read: true to take it out. */
typedef bool (*kc_reassign_drop_fn)(const kc_reassign_entry_t *e, void *arg);

/*
 * Takes the entries `drop` picks out of /admin/reassign_partitions: a
 * setData of the rest conditional on the version just read, or a delete
 * of the znode when nothing is left (an unreadable znode counts as empty),
 * each in a multi led by a check of /controller_epoch at
 * epoch_zk_version.  A concurrent change of the znode (BADVERSION) reads
 * it again and asks drop again.  done gets KC_OK (also when there is no
 * znode or nothing to drop), KC_FENCED, or another code; drop and done
 * both get arg.
 */
void kc_reassign_drop(kc_session_t *s, int32_t epoch_zk_version, kc_reassign_drop_fn drop, kc_done_fn done,
                      void *arg);

/* One partition state written with a topic znode (its zk_version is what
 * the write is conditional on). */
typedef struct kc_reassign_state {
    int32_t partition;
    const kc_partition_state_t *state;
} kc_reassign_state_t;

/*
 * The controller's step of a reassignment: in one multi led by the
 * /controller_epoch check at epoch_zk_version, setData of /brokers/topics/T
 * with `topic` (its assignment with adding and removing replicas; name
 * gives the path) conditional on topic_version, then setData of each
 * listed partition state conditional on its zk_version.  All or nothing,
 * and in that order, so a watcher is told of the new assignment before
 * the states that go with it.  done gets KC_OK, KC_FENCED, KC_BADVERSION
 * (the topic or a state changed since it was read), KC_NONODE or another
 * code.
 */
void kc_reassign_write_topic(kc_session_t *s, const kc_topic_t *topic, int32_t topic_version,
                             const kc_reassign_state_t *states, int n_states, int32_t epoch_zk_version,
                             kc_done_fn done, void *arg);

#endif
