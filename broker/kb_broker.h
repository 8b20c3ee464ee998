/*
 * kb_broker.h - the broker process's long-lived objects, as one context that
 * main.c creates and tears down explicitly and that the controller, the
 * registration and the metrics endpoint receive.  It is not a global:
 * whoever needs a part of it is handed the pointer.  The API handlers get
 * a narrower context (kb_api_ctx_t, broker/api/kb_api.h) without the
 * session, the view or the logs.
 */
#ifndef KB_BROKER_H
#define KB_BROKER_H

#include "broker/kb_config.h"
#include "broker/net/kb_net.h"
#include "coord/kc_view.h"
#include "coord/kc_zk.h"

struct event_base;
typedef struct kb_controller kb_controller_t;
typedef struct kb_registration kb_registration_t;
typedef struct kb_logmgr kb_logmgr_t;
typedef struct kb_replicas kb_replicas_t;
typedef struct kb_metrics kb_metrics_t;
typedef struct kb_metrics_http kb_metrics_http_t;
typedef struct kb_producer_ids kb_producer_ids_t;
typedef struct kb_metadata kb_metadata_t;
typedef struct kb_metadata_config_feed kb_metadata_config_feed_t;
typedef struct kb_topic_creator kb_topic_creator_t;
typedef struct kb_partition_adder kb_partition_adder_t;
typedef struct kb_topic_deleter kb_topic_deleter_t;
typedef struct kb_config_writer kb_config_writer_t;
typedef struct kb_worker kb_worker_t;
typedef struct kb_rpc_server kb_rpc_server_t;
typedef struct kb_control kb_control_t;
typedef struct kb_coordinator kb_coordinator_t;

typedef struct kb_broker {
    struct event_base *base;
    kb_config_t *cfg;
    kb_server_t *server;
    kb_rpc_server_t *rpc_server; /* the inter-broker RPC listener (kbroker.rpc.port) */
    kc_session_t *zk;
    kc_view_t *view;             /* ZooKeeper's picture: the controller and the replicas read it */
    kb_metadata_t *metadata;     /* the metadata cache clients are answered from */
    kb_metadata_config_feed_t *metadata_config_feed; /* topic overrides, cluster id: view -> metadata */
    kb_registration_t *registration;
    kb_controller_t *controller;
    kb_logmgr_t *logs;           /* the partition logs in log.dirs */
    kb_replicas_t *replicas;     /* hosted partitions, roles, delayed operations */
    kb_metrics_t *metrics;       /* counters, owned by main */
    kb_metrics_http_t *metrics_http;
    kb_producer_ids_t *producer_ids; /* producer ids for InitProducerId (broker/admin) */
    kb_topic_creator_t *topic_creator; /* CreateTopics and auto-creation (broker/admin) */
    kb_partition_adder_t *partition_adder; /* CreatePartitions (broker/admin) */
    kb_topic_deleter_t *topic_deleter; /* DeleteTopics (broker/admin) */
    kb_config_writer_t *config_writer; /* AlterConfigs' topic config writes (broker/admin) */
    kb_worker_t *worker;         /* num.io.threads threads for work kept off the loop */
    kb_control_t *control;       /* the controller's requests, once served (kb_control_requests.h); NULL before */
    kb_coordinator_t *coordinator; /* consumer groups of the offsets partitions led here (broker/group) */
} kb_broker_t;

#endif
