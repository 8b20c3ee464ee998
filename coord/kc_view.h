/*
 * kc_view.h - a live, watched picture of the cluster as ZooKeeper holds it.
 *
 * The view reads every /brokers/ids/N and /brokers/topics/T (with every partition's
 * state znode and the topic's config overrides in /config/topics/T),
 * /controller and /cluster/id, leaves a watch on each, and
 * re-reads exactly the znode a watch fired for.  Following each topic's
 * config znode with a data watch makes an override reach every broker as
 * promptly as Kafka's /config/changes notifications do, without a restart.  It is how a broker answers
 * clients without a ZooKeeper read per request, and what the controller
 * decides from.  When ZooKeeper is unreachable the view keeps its last
 * contents; when a new session starts it re-reads everything.
 *
 * Single-threaded: it is driven by the session's event loop and must be read
 * from that loop only.  Pointers returned by the accessors stay valid until
 * control returns to the loop.
 */
#ifndef KC_VIEW_H
#define KC_VIEW_H

#include "coord/kc_model.h"
#include "coord/kc_zk.h"

typedef struct kc_view kc_view_t;

/* What changed; flags may be combined in one notification. */
enum {
    KC_VIEW_BROKERS = 1 << 0,    /* a broker joined, left or changed endpoints */
    KC_VIEW_TOPICS = 1 << 1,     /* a topic appeared, vanished or changed its assignment */
    KC_VIEW_STATES = 1 << 2,     /* a partition state znode was created or changed */
    KC_VIEW_CONTROLLER = 1 << 3, /* /controller changed (or vanished) */
    KC_VIEW_CLUSTER_ID = 1 << 4,
    KC_VIEW_CONFIGS = 1 << 5,    /* a topic's config overrides (kc_topic_t.configs) changed */
};

typedef void (*kc_view_change_fn)(kc_view_t *v, int what, void *arg);

/* Creates a view on session s; it starts reading when the session connects.
 * on_change runs (on the loop) after each change has been applied; changes
 * are coalesced, so one call may report several. */
kc_view_t *kc_view_new(kc_session_t *s, kc_view_change_fn on_change, void *arg);
/* Free the view before its session; see kc_view_free() for reads in flight. */
void kc_view_free(kc_view_t *v);

/* True once every znode listed above has been read at least once and no
 * reload (after a new session) is in progress. */
bool kc_view_loaded(const kc_view_t *v);

int kc_view_broker_count(const kc_view_t *v);
const kc_broker_info_t *kc_view_broker_at(const kc_view_t *v, int i); /* sorted by id */
const kc_broker_info_t *kc_view_broker(const kc_view_t *v, int32_t id);
bool kc_view_broker_live(const kc_view_t *v, int32_t id);

int kc_view_topic_count(const kc_view_t *v);
const kc_topic_t *kc_view_topic_at(const kc_view_t *v, int i); /* sorted by name */
const kc_topic_t *kc_view_topic(const kc_view_t *v, const char *name);

int32_t kc_view_controller(const kc_view_t *v); /* -1 when there is none */
const char *kc_view_cluster_id(const kc_view_t *v); /* NULL until known */

#endif
