/*
 * kb_config.h - server.properties: Kafka's file format, key names and
 * Kafka 2.6 defaults (../shared/specs/zk-and-replication.md section 6).
 *
 * Every key lives in one table in kb_config_keys.c ({name, type, offset into
 * kb_config_t, default, validator}).  Loading rules:
 *   - unknown keys: one warning naming the key, then ignored;
 *   - Kafka keys whose meaning kbroker does not implement and that would
 *     change security or data safety (SSL/SASL listeners, authorizer, ...):
 *     start-up fails with a message naming the key;
 *   - invalid values: kb_config_load returns KB_CONFIG_INVALID with a message
 *     naming key and value (kbroker then exits with status 2).
 *
 * Start-up: kb_config_load (defaults + file + finish), or step by step
 * kb_config_defaults, kb_config_read, kb_config_set/kb_config_override for
 * each --override key=value, kb_config_finish.  kb_config_finish recomputes
 * every derived value from the values as written (cfg->raw), so it may be
 * called again after more overrides, but not after kb_api_listen has
 * written resolved ports back into the listeners.
 *
 * Ownership: every char * in kb_config_t is owned by the config and freed
 * by kb_config_free; readers borrow them.
 */
#ifndef KB_CONFIG_H
#define KB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KB_MAX_LISTENERS 8
#define KB_MAX_LOG_DIRS 16

/* "null" (not set) for a numeric key whose Kafka default is null. */
#define KB_CONFIG_UNSET32 INT32_MIN
#define KB_CONFIG_UNSET64 INT64_MIN

typedef struct kb_listener {
    char name[64];     /* listener name, e.g. PLAINTEXT */
    char host[256];    /* empty = all interfaces (bind) / canonical host name (advertise) */
    int port;          /* 0 = ephemeral when binding; resolved to the bound port */
    char protocol[32]; /* security protocol from listener.security.protocol.map */
} kb_listener_t;

/* A key the file or an override set, with its value as written. */
typedef struct kb_config_written {
    const char *name; /* the key table's name */
    char *value;
} kb_config_written_t;

typedef struct kb_config {
    /* identity and ZooKeeper */
    int32_t broker_id;
    char *broker_rack;
    char *zookeeper_connect;
    int32_t zookeeper_session_timeout_ms;
    int32_t zookeeper_connection_timeout_ms; /* -1 = same as session timeout */
    bool broker_id_generation_enable;
    int32_t reserved_broker_max_id;
    int32_t zookeeper_max_in_flight_requests;
    /* listeners */
    int n_listeners;
    kb_listener_t listeners[KB_MAX_LISTENERS];
    int n_advertised;
    kb_listener_t advertised[KB_MAX_LISTENERS];
    char *inter_broker_listener_name; /* resolved: the set name, else PLAINTEXT */
    /* sockets and requests */
    int32_t num_network_threads;
    int32_t num_io_threads;
    int32_t socket_send_buffer_bytes;
    int32_t socket_receive_buffer_bytes;
    int32_t socket_request_max_bytes;
    int32_t connections_max_idle_ms; /* int64 in Kafka; capped to int32 here */
    int32_t request_timeout_ms;
    int32_t message_max_bytes;
    int32_t background_threads;
    int32_t queued_max_requests;
    int32_t max_connections_per_ip;
    int32_t fetch_max_bytes;
    /* topics */
    int32_t num_partitions;
    int32_t default_replication_factor;
    int32_t max_broker_partitions; /* KIP-578; the file descriptors may allow fewer (kb_fd_budget.h) */
    int32_t min_insync_replicas;
    bool auto_create_topics_enable;
    bool delete_topic_enable;
    bool unclean_leader_election_enable;
    bool auto_leader_rebalance_enable;
    int32_t leader_imbalance_per_broker_percentage;
    int64_t leader_imbalance_check_interval_seconds;
    int32_t controller_socket_timeout_ms;
    bool controlled_shutdown_enable;
    int32_t controlled_shutdown_max_retries;
    int64_t controlled_shutdown_retry_backoff_ms;
    /* log */
    int n_log_dirs;
    char *log_dirs[KB_MAX_LOG_DIRS];
    int64_t log_segment_bytes;
    int64_t log_retention_ms;  /* resolved from ms / minutes / hours; -1 = unlimited */
    int64_t log_retention_bytes;
    int64_t log_retention_check_interval_ms;
    int64_t log_roll_ms;       /* resolved from ms / hours */
    int64_t log_roll_jitter_ms; /* resolved from ms / hours */
    int32_t log_index_interval_bytes;
    int32_t log_index_size_max_bytes;
    int64_t log_flush_interval_messages;
    int64_t log_flush_interval_ms; /* resolved: unset = log.flush.scheduler.interval.ms */
    int64_t log_flush_scheduler_interval_ms;
    int64_t log_segment_delete_delay_ms;
    int32_t log_flush_offset_checkpoint_interval_ms;
    int32_t log_flush_start_offset_checkpoint_interval_ms;
    bool log_preallocate;
    int32_t num_recovery_threads_per_data_dir;
    char *log_message_timestamp_type; /* CreateTime | LogAppendTime */
    char *log_cleanup_policy;         /* comma list; "compact" is refused */
    char *compression_type;           /* producer | uncompressed | gzip | snappy | lz4 | zstd */
    /* replication (used from the replication issue on) */
    int32_t replica_lag_time_max_ms;
    int32_t replica_fetch_max_bytes;
    int32_t replica_fetch_wait_max_ms;
    int32_t replica_fetch_min_bytes;
    int32_t replica_fetch_response_max_bytes;
    int32_t replica_fetch_backoff_ms;
    int32_t replica_socket_timeout_ms;
    int32_t replica_socket_receive_buffer_bytes;
    int32_t num_replica_fetchers;
    int64_t replica_high_watermark_checkpoint_interval_ms;
    /* groups, committed offsets and transaction state topics */
    int32_t group_min_session_timeout_ms;
    int32_t group_max_session_timeout_ms;
    int32_t group_initial_rebalance_delay_ms;
    int32_t group_max_size;
    int32_t offset_metadata_max_bytes;
    int32_t offsets_load_buffer_size;
    int32_t offsets_topic_replication_factor;
    int32_t offsets_topic_num_partitions;
    int32_t offsets_topic_segment_bytes;
    int32_t offsets_retention_minutes;
    int64_t offsets_retention_check_interval_ms;
    int32_t offsets_commit_timeout_ms;
    int32_t offsets_commit_required_acks;
    int32_t transaction_state_log_replication_factor;
    int32_t transaction_state_log_num_partitions;
    int32_t transaction_state_log_min_isr;
    /* kbroker's own */
    int32_t rpc_port;          /* kbroker.rpc.port: inter-broker protobuf channel; 0 = ephemeral */
    int32_t rpc_max_frame_bytes; /* derived from kbroker.rpc.max.frame.bytes (see kb_config_derive.c) */
    int32_t rpc_reconnect_backoff_ms;     /* kbroker.rpc.reconnect.backoff.ms */
    int32_t rpc_reconnect_backoff_max_ms; /* kbroker.rpc.reconnect.backoff.max.ms */
    char *metrics_listener;    /* kbroker.metrics.listener host:port, NULL = off */
    char *log_level;           /* kbroker.log.level: debug|info|warn|error */
    int32_t batch_decompressed_max_bytes; /* what one compressed batch may inflate to */
    /* Values as written, for the keys kb_config_finish derives the fields
     * above from; numeric ones are KB_CONFIG_UNSET* when not set.  Read the
     * derived fields instead. */
    struct {
        char *listeners;
        char *advertised_listeners;
        char *listener_security_protocol_map;
        char *host_name;
        int32_t port;
        char *advertised_host_name;
        int32_t advertised_port;
        char *inter_broker_listener_name;
        char *log_dir;
        char *log_dirs;
        int32_t zookeeper_connection_timeout_ms;
        int64_t log_retention_ms;
        int32_t log_retention_minutes;
        int32_t log_retention_hours;
        int64_t log_roll_ms;
        int32_t log_roll_hours;
        int64_t log_roll_jitter_ms;
        int32_t log_roll_jitter_hours;
        int64_t log_flush_interval_ms;
        int64_t rpc_max_frame_bytes;
    } raw;
    /* Unknown keys already warned about (each is warned about once). */
    int n_unknown_keys;
    char **unknown_keys;
    /* Every key set by the file or an override (the last value wins), for
     * kb_config_item(); read it through that function. */
    int n_written;
    kb_config_written_t *written;
} kb_config_t;

enum { KB_CONFIG_OK = 0, KB_CONFIG_IO = 1, KB_CONFIG_INVALID = 2 };

/* Fills cfg with Kafka's defaults (and the values derived from them); cfg's
 * previous contents are overwritten, not freed. */
void kb_config_defaults(kb_config_t *cfg);

/* Applies every key=value of a server.properties file (Java properties
 * syntax) with kb_config_set, without kb_config_finish.  cfg must hold
 * defaults already.  Returns KB_CONFIG_OK, KB_CONFIG_IO or KB_CONFIG_INVALID
 * (err then starts with "path:line: "). */
int kb_config_read(kb_config_t *cfg, const char *path, char *err, size_t errlen);

/* Fills cfg with the defaults (its previous contents are overwritten, not
 * freed), reads a server.properties file over them, then validates and
 * resolves derived values (listeners from legacy port/host.name, advertised
 * from listeners, log.dirs from log.dir, retention from hours/minutes/ms).
 * Returns KB_CONFIG_OK, KB_CONFIG_IO (cannot read the file) or
 * KB_CONFIG_INVALID, with a one-line message in err. */
int kb_config_load(kb_config_t *cfg, const char *path, char *err, size_t errlen);

/* Sets one key: the single path for file lines and overrides.  An unknown
 * key is warned about and ignored (KB_CONFIG_OK); a bad or refused value
 * returns KB_CONFIG_INVALID and leaves cfg unchanged. */
int kb_config_set(kb_config_t *cfg, const char *key, const char *value, char *err, size_t errlen);

/* Applies one "key=value" override (kbroker --override key=value): splits at
 * the first '=', trims both sides and calls kb_config_set. */
int kb_config_override(kb_config_t *cfg, const char *key_value, char *err, size_t errlen);

/* Resolves derived values and checks cross-key rules; kb_config_load calls it. */
int kb_config_finish(kb_config_t *cfg, char *err, size_t errlen);

void kb_config_free(kb_config_t *cfg);

/* The advertised listener named `name`, or NULL. */
const kb_listener_t *kb_config_advertised(const kb_config_t *cfg, const char *name);

/*
 * The inter-broker RPC port (kbroker.rpc.port) goes with the inter-broker
 * listener (inter.broker.listener.name): it is bound on that listener's
 * host in listeners ("" = every interface) and published in
 * /brokers/ids/N with that listener's host in advertised.listeners ("" =
 * this machine's name), so other brokers reach it wherever they already
 * reach this broker's Kafka port, and a listener bound to one address is
 * never published under another listener's name.  Before the
 * configuration is finished (no inter-broker listener yet) the first
 * listener stands in; NULL when there is none.
 */
const char *kb_config_rpc_bind_host(const kb_config_t *cfg);
const char *kb_config_rpc_advertised_host(const kb_config_t *cfg);

/*
 * One broker key as DescribeConfigs shows it: Kafka lists the values as the
 * operator wrote them (not the derived ones: log.retention.hours stays 168
 * even when log.retention.ms is set), with their source.
 */
typedef struct kb_config_item {
    const char *name;
    const char *value;  /* as written in the file or an override, else Kafka's
                         * default; NULL = null, and always NULL when sensitive */
    bool is_default;    /* neither the file nor an override set it */
    bool is_sensitive;  /* a password: its value is never shown */
    const char *default_value; /* Kafka's default (NULL = null, or sensitive) */
} kb_config_item_t;

/* Every key of the table, in table order: 0 <= i < kb_config_item_count().
 * The strings are borrowed from cfg and the table. */
int kb_config_item_count(void);
void kb_config_item_at(const kb_config_t *cfg, int i, kb_config_item_t *out);
/* The key called name; false when kbroker knows no such broker key. */
bool kb_config_item(const kb_config_t *cfg, const char *name, kb_config_item_t *out);

#endif
