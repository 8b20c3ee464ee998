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
 * Kafka does).  A registration that already exists is:
 *   - ours, when its owner is this session (an answer lost to a reconnect);
 *   - a dead incarnation of this broker, when its owner is one of
 *     `own_sessions` (sessions this broker used before, e.g. the process
 *     killed with kill -9 just before this one started): deleted and
 *     replaced at once instead of waiting for ZooKeeper to expire it;
 *   - anybody else's, a live broker's: never touched; the registration
 *     fails with KC_EXISTS and `holder` describes it (owner session and
 *     endpoints), as Kafka's "already registered" refusal does.
 * On KC_OK, czxid holds the new registration's czxid (the broker epoch).
 */
typedef void (*kc_register_fn)(int rc, int64_t czxid, const char *holder, void *arg);
void kc_broker_register(kc_session_t *s, const kc_broker_info_t *self, const int64_t *own_sessions,
                        int n_own_sessions, kc_register_fn done, void *arg);

/*
 * Watches /brokers/ids/N while this broker is registered: `gone` runs (on
 * the loop) when the znode is deleted although the session lives (an
 * operator's rmr, another process), or is found missing when the watch is
 * set.  The watch re-arms itself on data changes.  The caller owns the
 * struct, which must outlive the session (a closing session may still call
 * into it).
 */
typedef struct kc_registration_watch {
    kc_session_t *s;
    int32_t id;
    char path[64];
    void (*gone)(void *arg);
    void *arg;
} kc_registration_watch_t;
void kc_broker_watch_registration(kc_registration_watch_t *w);

/* Deletes /brokers/ids/N if this session owns it (clean shutdown). */
void kc_broker_deregister(kc_session_t *s, int32_t id, kc_done_fn done, void *arg);

#endif
