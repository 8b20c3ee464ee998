/*
 * kb_config.h - server.properties: Kafka's file format, key names and
 * Kafka 2.6 defaults (../shared/specs/zk-and-replication.md section 6).
 *
 * Every key lives in one table in kb_config.c ({name, type, offset into
 * kb_config_t, default, validator}).  Loading rules:
 *   - unknown keys: one warning naming the key, then ignored;
 *   - Kafka keys whose meaning kbroker does not implement and that would
 *     change security or data safety (SSL/SASL listeners, authorizer, ...):
 *     start-up fails with a message naming the key;
 *   - invalid values: kb_config_load returns KB_CONFIG_INVALID with a message
 *     naming key and value (kbroker then exits with status 2).
 */
#ifndef KB_CONFIG_H
#define KB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KB_MAX_LISTENERS 8
#define KB_MAX_LOG_DIRS 16

typedef struct kb_listener {
    char name[64];     /* listener name, e.g. PLAINTEXT */
    char host[256];    /* empty = all interfaces (bind) / canonical host name (advertise) */
    int port;          /* 0 = ephemeral when binding; resolved to the bound port */
    char protocol[32]; /* security protocol from listener.security.protocol.map */
} kb_listener_t;

typedef struct kb_config {
    /* identity and ZooKeeper */
    int32_t broker_id;
    char *broker_rack;
    char *zookeeper_connect;
    int32_t zookeeper_session_timeout_ms;
    int32_t zookeeper_connection_timeout_ms; /* -1 = same as session timeout */
    /* listeners */
    int n_listeners;
    kb_listener_t listeners[KB_MAX_LISTENERS];
    int n_advertised;
    kb_listener_t advertised[KB_MAX_LISTENERS];
    char *inter_broker_listener_name;
    /* sockets and requests */
    int32_t num_network_threads;
    int32_t num_io_threads;
    int32_t socket_send_buffer_bytes;
    int32_t socket_receive_buffer_bytes;
    int32_t socket_request_max_bytes;
    int32_t connections_max_idle_ms; /* int64 in Kafka; capped to int32 here */
    int32_t request_timeout_ms;
    int32_t message_max_bytes;
    /* topics */
    int32_t num_partitions;
    int32_t default_replication_factor;
    int32_t min_insync_replicas;
    bool auto_create_topics_enable;
    bool delete_topic_enable;
    bool unclean_leader_election_enable;
    bool auto_leader_rebalance_enable;
    /* log */
    int n_log_dirs;
    char *log_dirs[KB_MAX_LOG_DIRS];
    int64_t log_segment_bytes;
    int64_t log_retention_ms;  /* resolved from ms / minutes / hours; -1 = unlimited */
    int64_t log_retention_bytes;
    int64_t log_retention_check_interval_ms;
    int64_t log_roll_ms;       /* resolved from ms / hours */
    int32_t log_index_interval_bytes;
    int32_t log_index_size_max_bytes;
    int64_t log_flush_interval_messages;
    int64_t log_flush_interval_ms;
    int64_t log_flush_scheduler_interval_ms;
    int64_t log_segment_delete_delay_ms;
    char *log_message_timestamp_type; /* CreateTime | LogAppendTime */
    char *log_cleanup_policy;
    /* replication (used from the replication issue on) */
    int32_t replica_lag_time_max_ms;
    int32_t replica_fetch_max_bytes;
    int32_t replica_fetch_wait_max_ms;
    /* kbroker's own */
    int32_t rpc_port;          /* kbroker.rpc.port: inter-broker protobuf channel; 0 = ephemeral */
    char *metrics_listener;    /* kbroker.metrics.listener host:port, NULL = off */
    char *log_level;           /* kbroker.log.level: debug|info|warn|error */
} kb_config_t;

enum { KB_CONFIG_OK = 0, KB_CONFIG_IO = 1, KB_CONFIG_INVALID = 2 };

/* Fills cfg with Kafka's defaults. */
void kb_config_defaults(kb_config_t *cfg);

/* Reads a server.properties file over the defaults, then validates and
 * resolves derived values (listeners from legacy port/host.name, advertised
 * from listeners, log.dirs from log.dir, retention from hours/minutes/ms).
 * Returns KB_CONFIG_OK, KB_CONFIG_IO (cannot read the file) or
 * KB_CONFIG_INVALID, with a one-line message in err. */
int kb_config_load(kb_config_t *cfg, const char *path, char *err, size_t errlen);

/* Applies one "key=value" override (kbroker --override key=value). */
int kb_config_set(kb_config_t *cfg, const char *key, const char *value, char *err, size_t errlen);

/* Resolves derived values and checks cross-key rules; kb_config_load calls it. */
int kb_config_finish(kb_config_t *cfg, char *err, size_t errlen);

void kb_config_free(kb_config_t *cfg);

/* The advertised listener named `name`, or NULL. */
const kb_listener_t *kb_config_advertised(const kb_config_t *cfg, const char *name);

#endif
