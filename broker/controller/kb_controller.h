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

#endif
