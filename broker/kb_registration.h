/*
 * kb_registration.h - this broker's membership in the cluster.
 *
 * On every new ZooKeeper session (the first one and each one after an
 * expiry) the broker makes sure the base paths and /cluster/id exist and
 * registers /brokers/ids/N.  The first registration failing because another
 * live broker holds the id is fatal; later failures are retried.
 */
#ifndef KB_REGISTRATION_H
#define KB_REGISTRATION_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/kb_broker.h"

/* Called after each successful registration (czxid = the broker epoch). */
typedef void (*kb_registered_fn)(kb_broker_t *b, int64_t czxid);
/* Called when start-up cannot go on (the message says why). */
typedef void (*kb_fatal_fn)(kb_broker_t *b, const char *message);

kb_registration_t *kb_registration_new(kb_broker_t *b, kb_registered_fn on_registered, kb_fatal_fn on_fatal);
void kb_registration_free(kb_registration_t *r);

bool kb_registration_registered(const kb_registration_t *r);
int64_t kb_registration_epoch(const kb_registration_t *r);
const char *kb_registration_cluster_id(const kb_registration_t *r);

/* Deletes /brokers/ids/N (clean shutdown). */
void kb_registration_shutdown(kb_registration_t *r, kc_done_fn done, void *arg);

#endif
