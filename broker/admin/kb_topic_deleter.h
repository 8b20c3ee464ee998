/*
 * kb_topic_deleter.h - topic deletion for DeleteTopics, as one service
 * (wire-protocol.md 4.7; zk-and-replication.md 1.9).
 *
 * A DeleteTopics request becomes an operation: each named topic that
 * ZooKeeper holds (as the cluster view sees it) is marked for deletion
 * through libkcoord (kc_topic_mark_deletion: /admin/delete_topics/T, the
 * same znode kbroker-admin delete-topic and Kafka's tools write), and the
 * operation waits until every marked topic's znode /brokers/topics/T and
 * its marker are gone from the view, which the controller deletes last,
 * once every replica deleted its log.  Then the topic's name is free
 * again.  A topic
 * already marked counts as marked (its deletion is waited for as well).
 *
 * Answers per topic: 0 once gone; 3 UNKNOWN_TOPIC_OR_PARTITION for a name
 * the view does not hold (an invalid name included); 7
 * REQUEST_TIMED_OUT when timeout_ms passes first (<= 0: at once, as
 * Kafka; the deletion continues either way) or the broker shuts down;
 * -1 UNKNOWN_SERVER_ERROR when the marker cannot be written.  Who may
 * delete (the controller, delete.topic.enable) is the handler's business.
 *
 * Lifetime: main creates one per broker and hands it to the handlers
 * (kb_api_ctx_t); it learns of view changes from main
 * (kb_topic_deleter_view_changed); kb_topic_deleter_shutdown() answers
 * every waiting operation while answers can still go out, and
 * kb_topic_deleter_free() does so again and frees the service.  An
 * operation outlives its answer while its marker writes are in flight.
 */
#ifndef KB_TOPIC_DELETER_H
#define KB_TOPIC_DELETER_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/admin/kb_admin_op.h"
#include "proto/kp_deletetopics.h"

struct event_base;
typedef struct kc_session kc_session_t;
typedef struct kc_view kc_view_t;
typedef struct kb_topic_deleter kb_topic_deleter_t;

/* Writes a topic's deletion marker (kc_topic_mark_deletion's contract:
 * done gets KC_OK, KC_EXISTS, KC_NONODE or another KC_* code, once). */
typedef void (*kb_topic_mark_fn)(kc_session_t *zk, const char *topic, void (*done)(int rc, void *arg), void *arg);

typedef struct {
    struct event_base *base;
    kc_session_t *zk;
    const kc_view_t *view;   /* which topics ZooKeeper holds */
    kb_topic_mark_fn mark;   /* NULL: kc_topic_mark_deletion (unit tests substitute their own) */
} kb_topic_deleter_deps_t;

kb_topic_deleter_t *kb_topic_deleter_new(const kb_topic_deleter_deps_t *deps);
void kb_topic_deleter_free(kb_topic_deleter_t *d);
/* Answers every waiting operation: 7 for each topic not gone yet. */
void kb_topic_deleter_shutdown(kb_topic_deleter_t *d);
/* The view changed: operations whose topics are all gone are answered. */
void kb_topic_deleter_view_changed(kb_topic_deleter_t *d);
/* Operations waiting (for tests and stats). */
int kb_topic_deleter_waiting(const kb_topic_deleter_t *d);

/* Judges every name of body and starts marking the known ones.  Names are
 * borrowed: the frame must stay valid until the operation is released.
 * The caller holds the operation until kb_admin_op_release or
 * kb_admin_op_wait (kb_admin_op.h: waiting is until the topics are gone,
 * or timeout_ms, <= 0: the next loop turn, then 7 for every topic still
 * there).  Messages are null.  NULL when out of memory. */
kb_admin_op_t *kb_topic_deleter_start(kb_topic_deleter_t *d, const kp_deletetopics_request_t *body);

#endif
