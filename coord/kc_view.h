/*
 * kc_view.h - a live, watched picture of the cluster as ZooKeeper holds it.
 *
 * The view reads every /brokers/ids/N and /brokers/topics/T (with every partition's
 * state znode unless switched off, see kc_view_set_states, and the topic's
 * config overrides in /config/topics/T), /controller, /controller_epoch,
 * /cluster/id and the children of /admin/delete_topics, leaves a watch on
 * each, and
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
    KC_VIEW_LOADED = 1 << 6,     /* kc_view_loaded() changed: a reload started or finished */
    KC_VIEW_DELETIONS = 1 << 7,  /* the topics marked for deletion (/admin/delete_topics) changed */
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

/*
 * The topics marked for deletion: the children of /admin/delete_topics
 * (zk-and-replication.md 1.9), listed with a child watch and kept as a
 * sorted set of names (a marker's data is empty, so nothing else is read).
 * A marker may name a topic the view does not hold (a tool's mistake, or a
 * deletion whose topic znode is gone already); the controller settles
 * those.  Each change of the set takes a generation and reports
 * KC_VIEW_DELETIONS.
 */
bool kc_view_topic_marked(const kc_view_t *v, const char *name);
int kc_view_marked_count(const kc_view_t *v);
const char *kc_view_marked_at(const kc_view_t *v, int i); /* sorted by name */
uint64_t kc_view_marks_changed(const kc_view_t *v);

int32_t kc_view_controller(const kc_view_t *v); /* -1 when there is none */
/* The epoch in /controller_epoch (KC_VIEW_CONTROLLER reports its changes
 * too); -1 while it is missing or unreadable. */
int32_t kc_view_controller_epoch(const kc_view_t *v);
const char *kc_view_cluster_id(const kc_view_t *v); /* NULL until known */

/*
 * Partition states on demand.  Reading and watching every state znode is
 * the controller's need alone, and with thousands of partitions it is most
 * of what the view costs (a read and a watch per partition, per broker), so
 * a broker switches it off at start and on only while it is the
 * controller.  A new view reads states (as kbroker-admin needs).  Switched
 * off, the view forgets every state (has_state is false throughout) and
 * lets the state watches lapse; switched on, it reads every state and
 * reports KC_VIEW_STATES | KC_VIEW_LOADED when it has them all.
 */
void kc_view_set_states(kc_view_t *v, bool on);
/* States are on, and read since they were switched on; implies
 * kc_view_loaded(). */
bool kc_view_states_loaded(const kc_view_t *v);

/*
 * Change generations, so that a listener's work follows what changed, not
 * the size of the cluster.  Every change the view applies to a topic (its
 * assignment, its config overrides, one partition's state) or to the broker
 * set takes the next number of one counter, and the changed item is stamped
 * with it: kc_topic_t.changed (any change of the topic), .configs_changed,
 * kc_partition_t.changed (its state, or its topic's assignment).  A
 * listener remembers the generation it has handled up to and, next time,
 * visits the topics kc_view_changed_since() lists and in each the
 * partitions stamped later.  Two kinds of change leave nothing to stamp
 * and have their own generation: the broker set (every partition may be
 * affected) and the removal of a topic or of some of its partitions.  A
 * reload after a new session stamps everything again.
 */
uint64_t kc_view_generation(const kc_view_t *v); /* of the last change; 0 before any */
uint64_t kc_view_brokers_changed(const kc_view_t *v);
uint64_t kc_view_topics_removed(const kc_view_t *v);
/* The topics changed after generation `since`, least recently changed
 * first (since 0: every topic); NULL at the end.  Costs as many steps as
 * topics returned.  The view must not change during the walk (it changes
 * only when ZooKeeper answers, on the loop). */
const kc_topic_t *kc_view_changed_since(const kc_view_t *v, uint64_t since);
const kc_topic_t *kc_view_changed_next(const kc_view_t *v, const kc_topic_t *t);

#endif
