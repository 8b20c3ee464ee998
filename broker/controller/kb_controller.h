/*
 * kb_controller.h - the controller role (zk-and-replication.md section 2).
 *
 * Every broker runs this module; it is active on the one broker that won the
 * election through /controller.  While active it keeps every partition's
 * state znode true to the cluster: it writes the first state of new
 * partitions (leader = first live replica in assignment order, ISR = live
 * replicas) and re-elects leaders of partitions whose leader died (first live
 * replica in the ISR, leader_epoch + 1), removing dead brokers from ISRs.
 * Every write is conditional on the state's zkVersion and fenced by the
 * /controller_epoch version the election was won with.  It also consumes
 * the /isr_change_notification entries partition leaders publish after
 * shrinking an ISR, deleting each (all of them on taking the role), and
 * deletes the topics marked in /admin/delete_topics (kb_ctl_delete.c).
 *
 * It carries out partition reassignments (kb_ctl_reassign.c): those asked
 * through /admin/reassign_partitions or AlterPartitionReassignments (below),
 * and those a predecessor left under way in the topic znodes.
 *
 * It tells every live broker what it decided over the inter-broker RPC
 * (kb_ctl_fanout.h says what is sent when): LeaderAndIsr to the replicas of
 * each partition whose state it wrote, UpdateMetadata to everyone, the full
 * state to each broker when it takes the role and when a broker joins.
 */
#ifndef KB_CONTROLLER_H
#define KB_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>

#include "broker/kb_broker.h"

struct kb_ctl_transport;

kb_controller_t *kb_controller_new(kb_broker_t *b);
void kb_controller_free(kb_controller_t *c);

/* How requests reach the brokers (kb_ctl_rpc_transport_new() in production;
 * it must outlive the controller).  Until set, or with NULL, the controller
 * decides and writes but sends nothing.  Returns 0, or -1 when out of
 * memory (the previous transport stays). */
int kb_controller_set_transport(kb_controller_t *c, const struct kb_ctl_transport *t);

/* The broker registered itself in the current session: take part in the
 * election from now on. */
void kb_controller_on_registered(kb_controller_t *c);
/* The cluster view changed (KC_VIEW_* flags). */
void kb_controller_on_view_change(kb_controller_t *c, int what);

bool kb_controller_active(const kb_controller_t *c);
int32_t kb_controller_epoch(const kb_controller_t *c);
/* Topics queued for deletion while this broker is the controller (0
 * otherwise), for metrics. */
size_t kb_controller_topics_deleting(const kb_controller_t *c);

/* Clean shutdown: stop acting and delete /controller if it is ours. */
void kb_controller_shutdown(kb_controller_t *c, kc_done_fn done, void *arg);

/* ---- partition reassignments, as the API asks (kb_ctl_reassign.c) ---- */

typedef void (*kb_reassign_done_fn)(void *arg);

/*
 * AlterPartitionReassignments (Kafka 2.6's processApiPartitionReassignment):
 * each of the n entries (kc_model.h; n_replicas -1: cancel) is checked
 * (INVALID_REPLICA_ASSIGNMENT for an empty list, a broker twice, a
 * negative id or a broker to add that is not live;
 * UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist or whose
 * topic is being deleted; NO_REASSIGNMENT_IN_PROGRESS for cancelling
 * nothing; INVALID_REQUEST for a partition the request names twice), and
 * the others are started (answers[i], kc_model.h), replacing any reassignment under way for them
 * (the /admin/reassign_partitions entry of such a partition is removed).
 * Returns NOT_CONTROLLER (nothing done) when this broker is not the active
 * controller, else 0.  Then *pending false: every answer is in answers[]
 * now; true: done(arg) runs (on the loop, later) once each started entry
 * has its topic znode written (0), or timeout_ms passed (REQUEST_TIMED_OUT;
 * the reassignment still starts when it can), or the role ended
 * (NOT_CONTROLLER).  items and answers must stay valid until then.
 */
int16_t kb_controller_alter_reassignments(kb_controller_t *c, const kc_reassign_entry_t *items, int n,
                                          int32_t timeout_ms, kc_reassign_answer_t *answers,
                                          kb_reassign_done_fn done, void *arg, bool *pending);

/* One ongoing reassignment: p's replicas, adding and removing lists. */
typedef void (*kb_reassign_emit_fn)(void *arg, const char *topic, int32_t partition, const kc_partition_t *p);

/*
 * ListPartitionReassignments: calls emit for each partition being
 * reassigned (adding or removing replicas, as the topic znode says or as
 * this controller has just written it), among the n_only entries named
 * (topic and partition; replicas unused), in their order, or every one in
 * topic and partition order when n_only < 0.  Returns NOT_CONTROLLER
 * (nothing emitted) when this broker is not the active controller, else 0.
 */
int16_t kb_controller_list_reassignments(kb_controller_t *c, const kc_reassign_entry_t *only, int n_only,
                                         kb_reassign_emit_fn emit, void *arg);

#endif
