/*
 * viewfix.h - a cluster view made by hand, for the suites that run broker
 * code which reads one (partitions, the API dispatcher) without a
 * ZooKeeper.
 *
 * viewfix.c defines the read accessors of coord/kc_view.h over a table the
 * test fills; the test program links it instead of coord/kc_view.c (nothing
 * the suites link calls kc_view_new, so the archive's real view is never
 * pulled in, and a duplicate definition would fail the link loudly).  The
 * view starts empty and loaded, with no controller; broker_live() is true
 * for the brokers added.  Everything is freed by viewfix_reset().
 */
#ifndef KB_VIEWFIX_H
#define KB_VIEWFIX_H

#include <stdbool.h>
#include <stdint.h>

#include "coord/kc_view.h"

/* The view to put in kb_broker_t.view. */
kc_view_t *viewfix_view(void);
void viewfix_reset(void);
void viewfix_set_loaded(bool loaded);
void viewfix_add_broker(int32_t id);
/* What /controller and /controller_epoch say (-1, -1 after a reset: no
 * controller, epoch unknown). */
void viewfix_controller(int32_t id, int32_t epoch);

/* Gives broker id (added before) its registration details: broker epoch
 * (czxid), kbroker RPC listener, one endpoint on `listener` with its
 * security protocol, and rack (NULL: none).  Stamps the broker set. */
void viewfix_broker_details(int32_t id, int64_t czxid, const char *rpc_host, int32_t rpc_port, const char *listener,
                            const char *protocol, const char *host, int32_t port, const char *rack);
/* Removes broker id (its registration vanished). */
void viewfix_remove_broker(int32_t id);

/* Adds (or replaces) topic `name` with n_partitions, each assigned the
 * same replicas (in assignment order) and no state yet. */
void viewfix_topic(const char *name, int n_partitions, const int32_t *replicas, int n_replicas);
/* Assigns partition p of topic to replicas (a reassignment). */
void viewfix_assign(const char *topic, int32_t p, const int32_t *replicas, int n_replicas);
/* Deletes topic `name` (the view stamps a removal). */
void viewfix_remove_topic(const char *name);
/* Writes partition p's state: leader, leader epoch and ISR. */
void viewfix_state(const char *topic, int32_t p, int32_t leader, int32_t leader_epoch, const int32_t *isr,
                   int n_isr);
/* Marks topic `name` for deletion (/admin/delete_topics/T), or removes
 * its marker. */
void viewfix_mark(const char *name, bool marked);
/* Adds a config override to the topic (/config/topics/T). */
void viewfix_topic_config(const char *topic, const char *key, const char *value);

#endif
