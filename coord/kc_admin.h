/*
 * kc_admin.h - topic deletion in ZooKeeper (zk-and-replication.md 1.9 and
 * 2.7 "Topic deletion"): the marker /admin/delete_topics/T that
 * kbroker-admin delete-topic and the DeleteTopics API write, as Kafka's
 * tools and AdminZkClient.deleteTopic do, and the controller's removal of
 * a deleted topic's znodes once every replica has deleted its log.
 *
 * Every operation is asynchronous, runs its completion on the session's
 * loop exactly once (with KC_CONNLOSS when the session closes first), and
 * frees its context right after.
 */
#ifndef KC_ADMIN_H
#define KC_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "coord/kc_zk.h"

/* Marks topic for deletion: creates /admin/delete_topics/T (null data, as
 * Kafka's createDeleteTopicPath does, the parent too if someone removed
 * it) once /brokers/topics/T is seen to exist.  done gets KC_OK, KC_NONODE
 * when the topic does not exist, KC_EXISTS when it is marked already, or
 * another KC_* code. */
void kc_topic_mark_deletion(kc_session_t *s, const char *topic, kc_done_fn done, void *arg);

/* Where topic's deletion stands now, read from ZooKeeper (the marker, then
 * the topic znode; the controller deletes them in the other order): done
 * gets KC_MARKED while the marker exists, KC_NONODE once the topic is
 * gone, KC_OK when the topic exists unmarked (never marked, or the
 * controller removed the marker and kept the topic), or another KC_* code. */
void kc_topic_deletion_state(kc_session_t *s, const char *topic, kc_done_fn done, void *arg);

/* The controller drops a marker it will not act on (the topic does not
 * exist, or delete.topic.enable is false): a multi of the check of
 * /controller_epoch at epoch_zk_version and the marker's deletion.  With
 * only_if_absent, /brokers/topics/T is read first, and done gets KC_EXISTS
 * (nothing deleted) when it exists and is a readable assignment, KC_INVALID
 * (nothing deleted) when it exists but is not (no broker acts on it: the
 * caller deletes it with kc_topic_delete_znodes).  done gets KC_OK (also
 * when the marker was gone already), KC_FENCED, or another KC_* code. */
void kc_topic_unmark_deletion(kc_session_t *s, const char *topic, int32_t epoch_zk_version, bool only_if_absent,
                              kc_done_fn done, void *arg);

/*
 * The controller's last step of a deletion, in Kafka's order: every znode
 * under /brokers/topics/T and then T itself (children listed and deleted
 * bottom up, as Kafka's deleteRecursive), then /config/topics/T, then the
 * marker /admin/delete_topics/T; every delete is a multi with the check of
 * /controller_epoch at epoch_zk_version.  A znode already gone (a previous
 * controller's interrupted pass) is no error.  done gets KC_OK, KC_FENCED
 * (the role is lost), or another KC_* code: what was deleted stays
 * deleted, and the call may simply be made again.  The requests of one
 * call are all in flight at once (a topic of n partitions costs about 5n
 * ZooKeeper requests, like Kafka's).
 */
void kc_topic_delete_znodes(kc_session_t *s, const char *topic, int32_t epoch_zk_version, kc_done_fn done,
                            void *arg);

#endif
