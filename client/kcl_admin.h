/*
 * kcl_admin.h - topics and their configs through the brokers: what
 * kafka-topics.sh and kafka-configs.sh do with --bootstrap-server, for
 * kbroker-admin's Kafka front ends (coord/kbroker_admin_kafka_*.c).
 *
 * Like kcl_groups.h this is all kbroker-admin sees of the Kafka protocol:
 * plain C structs of strings and numbers.  One kcl_admin_t serves one
 * command: it learns the brokers and the controller from the first
 * bootstrap server that answers, keeps one connection per broker, and
 * bounds everything with the command's single deadline (kcl_options_t's
 * timeout_ms, from kcl_groups.h).
 *
 * Where each request goes, as Kafka's admin client sends it:
 * CreateTopics, DeleteTopics, CreatePartitions and the partition
 * reassignment APIs to the controller (an
 * answer NOT_CONTROLLER learns the new controller from Metadata and tries
 * again, until the deadline); DescribeConfigs and AlterConfigs of a topic
 * to any broker, of a broker to that broker.  Each API's version is the
 * highest that both the broker (ApiVersions, asked once per broker) and
 * this client handle; a broker without the API at all fails with
 * KCL_EUNSUPPORTED and a sentence naming the API, instead of the closed
 * connection a kbroker without it answers with.
 *
 * A refusal by the broker is KCL_EBROKER with kafka_error set and, as the
 * message, the broker's own error message when it sent one (Kafka's tools
 * print exactly that), else Kafka's standard text for the code.
 */
#ifndef KCL_ADMIN_H
#define KCL_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "client/kcl_error.h"
#include "client/kcl_groups.h"

typedef struct kcl_admin kcl_admin_t;

/* Opens the command's session (see above); *out is NULL on failure.
 * Release with kcl_admin_close() (NULL is fine). */
int kcl_admin_open(const kcl_options_t *o, kcl_admin_t **out, kcl_error_t *err);
void kcl_admin_close(kcl_admin_t *a);

/* ------------------------------------------------------------- metadata */

typedef struct {
    int32_t partition;
    int32_t leader; /* -1: none */
    int n_replicas;
    int32_t *replicas;
    int n_isr;
    int32_t *isr;
} kcl_partition_info_t;

typedef struct {
    char *name;
    bool internal;
    int16_t error_code; /* the broker's answer for the topic; 0 normally */
    int n_partitions;
    kcl_partition_info_t *partitions; /* sorted by partition */
} kcl_topic_info_t;

typedef struct {
    int32_t controller; /* -1 when the broker named none */
    int n_brokers;
    int32_t *brokers; /* the live brokers' ids, ascending */
    int n_topics;
    kcl_topic_info_t *topics; /* sorted by name */
} kcl_cluster_info_t;

/* Every topic with its partitions, and the live brokers (Metadata for
 * all topics).  Release out with kcl_cluster_info_clear() whatever the
 * result. */
int kcl_admin_describe_cluster(kcl_admin_t *a, kcl_cluster_info_t *out, kcl_error_t *err);
void kcl_cluster_info_clear(kcl_cluster_info_t *c);

/* Fills err as a broker's refusal with code and no message of its own
 * (KCL_EBROKER, Kafka's standard text for the code): for an error a
 * topic of the metadata carries.  Returns KCL_EBROKER. */
int kcl_admin_refusal(kcl_error_t *err, int16_t code);

/* ------------------------------------------------------ topic changes */

typedef struct {
    const char *key;
    const char *value;
} kcl_kv_t;

typedef struct {
    const char *name;
    int32_t partitions;         /* -1: the broker's num.partitions */
    int16_t replication_factor; /* -1: the broker's default.replication.factor */
    /* An explicit layout instead: n_assigned partitions of rf_assigned
     * broker ids each, row after row (partitions and replication_factor
     * are then -1). */
    int n_assigned;
    int rf_assigned;
    const int32_t *assignment;
    int n_configs;
    const kcl_kv_t *configs;
    bool validate_only;         /* judged by the controller, not created */
} kcl_new_topic_t;

/* CreateTopics of one topic, to the controller. */
int kcl_admin_create_topic(kcl_admin_t *a, const kcl_new_topic_t *t, kcl_error_t *err);

/* DeleteTopics of n topics, to the controller; the first topic refused
 * fails the call (its name in the message unless the broker gave one). */
int kcl_admin_delete_topics(kcl_admin_t *a, char *const *names, int n, kcl_error_t *err);

/* CreatePartitions: topic grows to `total` partitions; the n_new new ones
 * are placed by the controller (assignment NULL) or on the given brokers
 * (n_new rows of rf ids).  validate_only: judged by the controller, not
 * added. */
int kcl_admin_create_partitions(kcl_admin_t *a, const char *topic, int32_t total, int n_new, int rf,
                                const int32_t *assignment, bool validate_only, kcl_error_t *err);

/* ------------------------------------------------------------- configs */

/* ConfigResource.Type. */
typedef enum { KCL_RESOURCE_TOPIC = 2, KCL_RESOURCE_BROKER = 4 } kcl_resource_t;

/* ConfigEntry.ConfigSource, Kafka's numbers. */
enum {
    KCL_SOURCE_UNKNOWN = 0,
    KCL_SOURCE_DYNAMIC_TOPIC = 1,
    KCL_SOURCE_DYNAMIC_BROKER = 2,
    KCL_SOURCE_DYNAMIC_DEFAULT_BROKER = 3,
    KCL_SOURCE_STATIC_BROKER = 4,
    KCL_SOURCE_DEFAULT = 5,
};

typedef struct {
    char *name;
    char *value;        /* NULL: not sent */
    int source;         /* KCL_SOURCE_* */
    const char *source_name; /* Kafka's name of source ("DYNAMIC_TOPIC_CONFIG"), static */
} kcl_synonym_t;

typedef struct {
    char *name;
    char *value; /* NULL: a sensitive value, not sent */
    bool read_only;
    bool sensitive;
    int source; /* KCL_SOURCE_* */
    int n_synonyms;
    kcl_synonym_t *synonyms;
} kcl_config_t;

/* DescribeConfigs of one resource (a broker id as its name, "" for the
 * cluster-wide broker defaults), in the broker's order.  Release *out with
 * kcl_configs_free() whatever the result. */
int kcl_admin_describe_configs(kcl_admin_t *a, kcl_resource_t type, const char *name, bool synonyms,
                               kcl_config_t **out, int *n, kcl_error_t *err);
void kcl_configs_free(kcl_config_t *c, int n);

/* AlterConfigs: the resource's whole set of overrides becomes `set`
 * (keys left out are removed). */
int kcl_admin_alter_configs(kcl_admin_t *a, kcl_resource_t type, const char *name, const kcl_kv_t *set, int n,
                            kcl_error_t *err);

/* ------------------------------------------------------- reassignments */

/* A partition being reassigned, as ListPartitionReassignments gives it. */
typedef struct {
    char *topic;
    int32_t partition;
    int n_replicas;
    int32_t *replicas; /* the whole set while it moves: targets and those leaving */
    int n_adding;
    int32_t *adding;
    int n_removing;
    int32_t *removing;
} kcl_reassignment_t;

/* ListPartitionReassignments (v0) to the controller, for the n partitions
 * of tps, or for every partition when tps is NULL: the partitions being
 * reassigned among them, sorted by topic, then partition.  Release *out
 * with kcl_reassignments_free() whatever the result. */
int kcl_admin_list_reassignments(kcl_admin_t *a, const kcl_topic_partition_t *tps, int n,
                                 kcl_reassignment_t **out, int *n_out, kcl_error_t *err);
void kcl_reassignments_free(kcl_reassignment_t *r, int n);

/* One partition's outcome: error 0, or the controller's Kafka error code
 * and its message (NULL when it sent none). */
typedef struct {
    int16_t error;
    char *message;
} kcl_partition_outcome_t;

/* AlterPartitionReassignments (v0) to the controller with a null replica
 * list for each of the n partitions of tps: each reassignment under way
 * goes back to its original replicas, as Kafka's
 * kafka-reassign-partitions.sh --cancel asks.  outcomes[i] (room for n)
 * is tps[i]'s; release their messages with kcl_partition_outcomes_clear()
 * whatever the result.  Fails (not KCL_OK) only when the request as a
 * whole got no answer or was refused. */
int kcl_admin_cancel_reassignments(kcl_admin_t *a, const kcl_topic_partition_t *tps, int n,
                                   kcl_partition_outcome_t *outcomes, kcl_error_t *err);
void kcl_partition_outcomes_clear(kcl_partition_outcome_t *o, int n);

#endif
