/*
 * kb_api.h - the Kafka API table and request dispatcher.
 *
 * One row per API key: {api_key, advertised min/max, handled min/max,
 * flexible-from version, handler}.  The same table builds the ApiVersions
 * answer, so what is advertised and what is dispatched cannot drift apart.
 * The dispatcher parses the request header, checks key and version in one
 * place, and then hands the decoded header and the body to the handler.
 * Unknown keys, unhandled versions and undecodable bodies close the
 * connection (Kafka's behaviour, wire-protocol.md 1.6); ApiVersions with a
 * too-new version is answered with the v0 fallback body.
 */
#ifndef KB_API_H
#define KB_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/controller/kb_leader_election.h"
#include "broker/kb_config.h"
#include "broker/net/kb_net.h"
#include "coord/kc_model.h"

struct event_base;
typedef struct kb_metadata kb_metadata_t;
typedef struct kb_replicas kb_replicas_t;
typedef struct kb_topic_creator kb_topic_creator_t;
typedef struct kb_partition_adder kb_partition_adder_t;
typedef struct kb_topic_deleter kb_topic_deleter_t;
typedef struct kb_config_writer kb_config_writer_t;
typedef struct kb_producer_ids kb_producer_ids_t;
typedef struct kb_worker kb_worker_t;
typedef struct kb_metrics kb_metrics_t;
typedef struct kb_coordinator kb_coordinator_t;

/*
 * What the handlers may use: the broker's metadata cache, its partitions
 * and its services, never ZooKeeper, the cluster view or the logs
 * directly (design.md, broker/api).  main.c fills it before the loop runs
 * and hands it to kb_api_listen as the callback's argument; it and what it
 * points at must outlive every request, detached ones included.  A part
 * left NULL (the unit suites leave most) makes the handlers answer as if
 * that service were unavailable.
 */
typedef struct kb_api_ctx {
    struct event_base *base;           /* the loop: timers of waiting requests */
    const kb_config_t *cfg;
    const kb_metadata_t *metadata;     /* what clients are answered from */
    kb_replicas_t *replicas;           /* the partitions hosted here */
    kb_topic_creator_t *topic_creator; /* CreateTopics and auto-creation */
    kb_partition_adder_t *partition_adder; /* CreatePartitions */
    kb_topic_deleter_t *topic_deleter; /* DeleteTopics */
    kb_config_writer_t *config_writer; /* AlterConfigs' writes */
    kb_producer_ids_t *producer_ids;   /* InitProducerId */
    kb_worker_t *worker;               /* work kept off the loop (record checks) */
    kb_metrics_t *metrics;             /* counters the handlers bump */
    kb_coordinator_t *coordinator;     /* consumer groups and committed offsets */
    /* True while this broker is the active controller, the only one that
     * serves CreateTopics, CreatePartitions, DeleteTopics and ElectLeaders;
     * NULL: never. */
    bool (*is_controller)(void *arg);
    void *controller;                  /* is_controller's argument */
    /* ElectLeaders' elections on the controller (kb_controller_elect_leaders,
     * given `controller`); NULL: ElectLeaders answers NOT_CONTROLLER. */
    kb_elect_leaders_fn elect_leaders;
    /* AlterPartitionReassignments and ListPartitionReassignments, which
     * the active controller carries out (kb_controller.h's, wired by
     * main.c, with `controller` as first argument); NULL: answered
     * NOT_CONTROLLER. */
    int16_t (*alter_reassignments)(void *controller, const kc_reassign_entry_t *items, int n, int32_t timeout_ms,
                                   kc_reassign_answer_t *answers, void (*done)(void *arg), void *arg,
                                   bool *pending);
    int16_t (*list_reassignments)(void *controller, const kc_reassign_entry_t *only, int n_only,
                                  void (*emit)(void *arg, const char *topic, int32_t partition,
                                               const kc_partition_t *p),
                                  void *arg);
} kb_api_ctx_t;

/* The request callback of the Kafka listeners (kb_api_listen); arg is the
 * kb_api_ctx_t. */
void kb_api_on_request(kb_conn_t *c, const uint8_t *frame, size_t len, void *arg);

#endif
