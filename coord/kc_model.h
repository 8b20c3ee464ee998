/*
 * kc_model.h - the cluster facts kbroker keeps in ZooKeeper, as plain C values.
 *
 * These are what the JSON codecs (kc_json.h) decode znodes into and encode
 * them from, and what the watched cluster view (kc_view.h) hands to the
 * broker.  Every pointer inside a value is owned by that value and released by
 * its *_clear() function; a cleared value is all zeros and may be reused.
 */
#ifndef KC_MODEL_H
#define KC_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One advertised endpoint of a broker: "NAME://host:port". */
typedef struct kc_endpoint {
    char *listener;          /* listener name, e.g. "PLAINTEXT" */
    char *host;
    int32_t port;
    char *security_protocol; /* from listener_security_protocol_map */
} kc_endpoint_t;

/* /brokers/ids/N (registration JSON v4). */
typedef struct kc_broker_info {
    int32_t id;
    int64_t czxid;           /* broker epoch; 0 when not read from ZooKeeper */
    char *host;              /* first PLAINTEXT endpoint, NULL if none */
    int32_t port;            /* -1 if none */
    int32_t jmx_port;        /* -1 */
    int64_t timestamp_ms;    /* registration time (a string in JSON) */
    char *rack;              /* NULL when broker.rack is unset */
    int n_endpoints;
    kc_endpoint_t *endpoints;
    /* kbroker's inter-broker RPC listener, published under the one
     * kbroker-only key "kbroker_rpc" ({"host":H,"port":P}) that Kafka's
     * readers ignore; NULL / -1 when absent (a Kafka broker's znode). */
    char *rpc_host;
    int32_t rpc_port;
} kc_broker_info_t;

/* /brokers/topics/T/partitions/P/state. */
typedef struct kc_partition_state {
    int32_t leader;          /* -1 = no leader */
    int32_t leader_epoch;
    int32_t controller_epoch;
    int n_isr;
    int32_t *isr;
    int32_t zk_version;      /* znode data version: the fencing token for updates */
} kc_partition_state_t;

typedef struct kc_partition {
    int n_replicas;
    int32_t *replicas;       /* assignment order; replicas[0] is the preferred leader */
    /* An ongoing reassignment (topic znode v2, KIP-455): the replicas being
     * added (target - original) and being removed (original - target), each
     * a subset of replicas, the two disjoint; 0 and NULL when none. */
    int n_adding;
    int32_t *adding;
    int n_removing;
    int32_t *removing;
    bool has_state;          /* false until the controller has written the state znode */
    kc_partition_state_t state;
    uint64_t changed;        /* in the cluster view: generation of its last change (kc_view.h) */
} kc_partition_t;

/* One key/value of /config/topics/T or /config/brokers/N ("config" object). */
typedef struct kc_config_entry {
    char *key;
    char *value;
} kc_config_entry_t;

/* /brokers/topics/T (topic znode v2) plus the partition states under it and
 * the topic's config overrides from /config/topics/T (none when that znode
 * is missing, empty or not read yet). */
typedef struct kc_topic {
    char *name;
    int n_partitions;
    kc_partition_t *partitions; /* index = partition id */
    int n_configs;
    kc_config_entry_t *configs; /* in znode order; keys are unique */
    /* In the cluster view (kc_view.h), the generations of its last change
     * of any kind (assignment, config, a partition's state) and of its
     * config overrides; 0 elsewhere. */
    uint64_t changed;
    uint64_t configs_changed;
    /* In the cluster view, the data version of /brokers/topics/T (what a
     * conditional rewrite is checked against); 0 elsewhere. */
    int32_t zk_version;
} kc_topic_t;

/* One partition of a reassignment request (/admin/reassign_partitions,
 * AlterPartitionReassignments): move it to `replicas`, in order (the first
 * is the preferred leader).  In an API request, n_replicas -1 (a null
 * list; replicas NULL) asks to cancel the reassignment under way, and 0 is
 * an empty list (refused). */
typedef struct kc_reassign_entry {
    char *topic;
    int32_t partition;
    int n_replicas;
    int32_t *replicas;
} kc_reassign_entry_t;

/* The answer to one partition of an AlterPartitionReassignments request. */
typedef struct kc_reassign_answer {
    int16_t error;     /* Kafka's error code; 0: the reassignment is written and under way */
    char message[240]; /* Kafka's wording; empty when error is 0 */
} kc_reassign_answer_t;

void kc_endpoint_clear(kc_endpoint_t *e);
void kc_broker_info_clear(kc_broker_info_t *b);
void kc_partition_state_clear(kc_partition_state_t *s);
void kc_partition_clear(kc_partition_t *p);
void kc_topic_clear(kc_topic_t *t);
void kc_config_entries_free(kc_config_entry_t *entries, int n);

/* Deep copies; return 0 or -1 on allocation failure (dst is then cleared). */
int kc_broker_info_copy(kc_broker_info_t *dst, const kc_broker_info_t *src);
int kc_partition_state_copy(kc_partition_state_t *dst, const kc_partition_state_t *src);

/* Kafka's comparison of a state read back with the one written
 * (ReplicationUtils.checkLeaderAndIsrZkData): same leader, leader_epoch,
 * controller_epoch and ISR, in the same order; zk_version is not compared. */
bool kc_partition_state_same(const kc_partition_state_t *a, const kc_partition_state_t *b);

/* Broker b's kbroker RPC listener: its host (port in *port), or NULL when
 * the registration publishes none (a Kafka broker's, or an unbound one). */
const char *kc_broker_rpc_endpoint(const kc_broker_info_t *b, int32_t *port);
/* The endpoint of broker b on listener `name`, or NULL. */
const kc_endpoint_t *kc_broker_endpoint(const kc_broker_info_t *b, const char *name);
/* True when both brokers advertise the same endpoint set (order-insensitive). */
bool kc_broker_same_endpoints(const kc_broker_info_t *a, const kc_broker_info_t *b);
bool kc_int32_contains(const int32_t *v, int n, int32_t x);
/* A reassignment of the partition is under way (adding or removing
 * replicas listed in its topic znode). */
bool kc_partition_reassigning(const kc_partition_t *p);

#endif
