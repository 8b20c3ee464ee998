/*
 * kc_registry.h - a broker's own znodes: the persistent base paths, the
 * cluster id and the ephemeral registration /brokers/ids/N.
 */
#ifndef KC_REGISTRY_H
#define KC_REGISTRY_H

#include "coord/kc_model.h"
#include "coord/kc_zk.h"

/* Creates every missing base path (KC_BASE_PATHS), recursively. */
void kc_ensure_base_paths(kc_session_t *s, kc_done_fn done, void *arg);

/* Reads /cluster/id, creating it with a fresh id if absent (a concurrent
 * creator wins and its id is read back).  On KC_OK the id is in out. */
typedef void (*kc_cluster_id_fn)(int rc, const char *cluster_id, void *arg);
void kc_cluster_id_get_or_create(kc_session_t *s, kc_cluster_id_fn done, void *arg);

/*
 * Registers broker `self` under /brokers/ids/N as an ephemeral znode created
 * and filled in one multi (create with no data, then setData version 0, as
 * Kafka does).  An existing registration whose endpoints equal self's and
 * whose owner is another session is a dead incarnation of this broker (a
 * restart right after kill -9): it is deleted and replaced at once.  Any
 * other existing registration fails with KC_EXISTS.  On KC_OK, czxid holds
 * the new registration's czxid (the broker epoch).
 */
typedef void (*kc_register_fn)(int rc, int64_t czxid, void *arg);
void kc_broker_register(kc_session_t *s, const kc_broker_info_t *self, kc_register_fn done,
                        void *arg);

/* Deletes /brokers/ids/N if this session owns it (clean shutdown). */
void kc_broker_deregister(kc_session_t *s, int32_t id, kc_done_fn done, void *arg);

#endif
