/*
 * kb_metadata.h - the broker's metadata cache: its own picture of the
 * cluster (live brokers and their endpoints, controller id, cluster id,
 * topics with their partitions' leader, leader epoch, ISR and replicas, and
 * each topic's config overrides), which every API handler reads.
 *
 * The cache owns copies of everything it holds and is written only through
 * the update calls below, which take plain data: the controller's
 * UpdateMetadata (broker/kb_control_requests.c) fills brokers, controller
 * and partitions and marks it loaded; the config feed (kb_metadata_view.h)
 * copies the topics' config overrides and the cluster id from the
 * ZooKeeper view.  Handlers never write it (design.md, broker/metadata).
 *
 * Cost: topics are kept in an array of pointers sorted by name (lookup
 * O(log n), an upsert or removal moves pointers only), brokers likewise by
 * id.  An update touches only the topic or partition it names, so a change
 * of one partition does not copy the cluster.
 *
 * Single-threaded: used from the broker's event loop only.  Pointers
 * returned by the readers stay valid until the next update call.
 */
#ifndef KB_METADATA_H
#define KB_METADATA_H

#include <stdbool.h>
#include <stdint.h>

#include "coord/kc_model.h" /* kc_config_entry_t: a plain key/value pair */

/* One endpoint a broker advertises: listener name, host and port. */
typedef struct {
    char *listener;
    char *host;
    int32_t port;
} kb_metadata_endpoint_t;

typedef struct {
    int32_t id;
    char *rack; /* NULL when unset */
    int n_endpoints;
    kb_metadata_endpoint_t *endpoints;
} kb_metadata_broker_t;

/* Counts before pointers: 32 bytes, one per partition of the cluster. */
typedef struct {
    int32_t leader;       /* -1: no leader (or no state yet) */
    int32_t leader_epoch; /* -1 before the controller wrote a state */
    int n_replicas;
    int n_isr;
    int32_t *replicas;    /* assignment order */
    int32_t *isr;         /* in the cache: shares the replicas allocation */
} kb_metadata_partition_t;

typedef struct {
    char *name;
    int n_partitions;
    kb_metadata_partition_t *partitions; /* index = partition id */
    int n_configs;
    kc_config_entry_t *configs;    /* the topic's overrides; keys unique */
} kb_metadata_topic_t;

typedef struct kb_metadata kb_metadata_t;

/* Called after a batch of updates (kb_metadata_notify), on the loop. */
typedef void (*kb_metadata_listener_fn)(kb_metadata_t *md, void *arg);

kb_metadata_t *kb_metadata_new(void);
/* Frees every copy; listeners must have unsubscribed. */
void kb_metadata_free(kb_metadata_t *md);

/* ------------------------------------------------------------- updates */
/* Each returns 0, or -1 when out of memory (the cache then keeps the entry
 * as it was).  Inputs are copied; the caller keeps ownership. */

/* Replaces the whole broker set. */
int kb_metadata_set_brokers(kb_metadata_t *md, const kb_metadata_broker_t *brokers, int n);
void kb_metadata_set_controller(kb_metadata_t *md, int32_t id);
int kb_metadata_set_cluster_id(kb_metadata_t *md, const char *cluster_id);
/* True once the source has delivered a complete picture. */
void kb_metadata_set_loaded(kb_metadata_t *md, bool loaded);
/* Adds topic t or replaces the topic of that name, partitions and configs
 * included. */
int kb_metadata_upsert_topic(kb_metadata_t *md, const kb_metadata_topic_t *t);
/* Replaces one partition of an existing topic; -1 also when the topic or
 * the partition index is unknown. */
int kb_metadata_set_partition(kb_metadata_t *md, const char *topic, int32_t index,
                              const kb_metadata_partition_t *p);
/* Makes sure topic exists with at least n partitions (UpdateMetadata
 * grows topics as it names partitions): a new topic is added with a copy
 * of configs, an existing one keeps its own; the partitions added have no
 * leader (-1), leader epoch -1, and no replicas or ISR until set. */
int kb_metadata_ensure_partitions(kb_metadata_t *md, const char *topic, int32_t n, const kc_config_entry_t *configs,
                                  int n_configs);
/* Replaces an existing topic's config overrides. */
int kb_metadata_set_topic_configs(kb_metadata_t *md, const char *topic, const kc_config_entry_t *configs,
                                  int n);
/* Removes a topic; true when it was there. */
bool kb_metadata_remove_topic(kb_metadata_t *md, const char *topic);
/* Tells the listeners that a batch of updates is complete. */
void kb_metadata_notify(kb_metadata_t *md);

/* ---------------------------------------------------------- listeners */
int kb_metadata_subscribe(kb_metadata_t *md, kb_metadata_listener_fn fn, void *arg);
void kb_metadata_unsubscribe(kb_metadata_t *md, kb_metadata_listener_fn fn, void *arg);

/* ------------------------------------------------------------- readers */
bool kb_metadata_loaded(const kb_metadata_t *md);
int32_t kb_metadata_controller(const kb_metadata_t *md); /* -1 when none */
const char *kb_metadata_cluster_id(const kb_metadata_t *md); /* NULL until known */

int kb_metadata_broker_count(const kb_metadata_t *md);
const kb_metadata_broker_t *kb_metadata_broker_at(const kb_metadata_t *md, int i); /* by id */
/* The broker if it is live (in the cache), else NULL. */
const kb_metadata_broker_t *kb_metadata_broker(const kb_metadata_t *md, int32_t id);
/* The broker.rack of live broker id, NULL when it has none or is not live;
 * md is a const kb_metadata_t * (the shape of kc_topics.h's
 * kc_broker_rack_fn, for Kafka's rack-aware placement). */
const char *kb_metadata_broker_rack(int32_t id, const void *md);
/* Broker b's endpoint on listener `name`, or NULL. */
const kb_metadata_endpoint_t *kb_metadata_broker_endpoint(const kb_metadata_broker_t *b, const char *name);

int kb_metadata_topic_count(const kb_metadata_t *md);
const kb_metadata_topic_t *kb_metadata_topic_at(const kb_metadata_t *md, int i); /* by name */
const kb_metadata_topic_t *kb_metadata_topic(const kb_metadata_t *md, const char *name);

#endif
