/*
 * kb_registration.h - this broker's membership in the cluster.
 *
 * On every new ZooKeeper session (the first one and each one after an
 * expiry) the broker records the session in its log dirs, makes sure the
 * base paths and /cluster/id exist, checks the cluster id against its log
 * dirs (meta.properties) and only then registers /brokers/ids/N.  A cluster
 * id that does not match is fatal, so a broker never registers in a cluster
 * its data does not belong to.  The first registration failing because a
 * live broker holds the id is fatal (never taken over); later failures are
 * retried.  While registered, a watch on /brokers/ids/N notices the znode
 * being deleted under a live session, and the broker registers again.
 */
#ifndef KB_REGISTRATION_H
#define KB_REGISTRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/kb_broker.h"

/* Called after each successful registration (czxid = the broker epoch). */
typedef void (*kb_registered_fn)(kb_broker_t *b, int64_t czxid);
/* Called when the registration is lost while the broker runs: its session
 * expired, or /brokers/ids/N was deleted under it (not at shutdown).  The
 * controller may already be moving this broker's partitions away. */
typedef void (*kb_lost_fn)(kb_broker_t *b);
/* Called when start-up cannot go on (the message says why). */
typedef void (*kb_fatal_fn)(kb_broker_t *b, const char *message);
/* Called with the cluster id read from (or just written to) ZooKeeper,
 * before registering: 0 to go on, -1 with a message in err to stop. */
typedef int (*kb_verify_fn)(kb_broker_t *b, const char *cluster_id, char *err, size_t errlen);

kb_registration_t *kb_registration_new(kb_broker_t *b, kb_verify_fn verify, kb_registered_fn on_registered,
                                       kb_lost_fn on_lost, kb_fatal_fn on_fatal);
void kb_registration_free(kb_registration_t *r);

bool kb_registration_registered(const kb_registration_t *r);
int64_t kb_registration_epoch(const kb_registration_t *r);
const char *kb_registration_cluster_id(const kb_registration_t *r);
/* Successful registrations so far (a new session or a deleted znode adds one). */
uint64_t kb_registration_count(const kb_registration_t *r);

/* Deletes /brokers/ids/N (clean shutdown); never registers again.  The
 * broker counts as registered (kb_registration_registered, and the epoch
 * the controller's requests are admitted with) until the delete is done. */
void kb_registration_shutdown(kb_registration_t *r, kc_done_fn done, void *arg);

#endif
