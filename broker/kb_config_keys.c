/*
 * kb_config_keys.c - the key table of server.properties, read the way Apache
 * Kafka 2.6 reads it, so an operator's existing file keeps working.
 *
 * Every Kafka 2.6 broker key plus kbroker's own has one row: its storage
 * type, its place in kb_config_t (or none, when the value is only checked),
 * its Kafka default as it would be written in the file, its range, an
 * optional validator, and whether kbroker uses it.  kb_config_defaults
 * loads the defaults through the same path as file values, so the table is
 * the only place a default is written.  kb_config_apply is that single
 * path, taken by file lines (kb_config_props.c) and --override alike: type
 * check, range, validator, store.  kb_config_item lists the keys as
 * DescribeConfigs does: the text each accepted value was written with,
 * else the table's default.  What Kafka derives from several keys is in
 * kb_config_derive.c.
 *
 * Refusals: a key whose meaning kbroker does not implement and whose setting
 * would change security or data safety (TLS, SASL, ACLs, compaction, ...)
 * is refused rather than ignored, because silently serving plaintext to an
 * operator who configured TLS is worse than not starting.
 */
#include "broker/kb_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/kb_config_internal.h"
#include "common/kc_log.h"
#include "coord/kc_configs.h"

#define MOD "config"

/* ------------------------------------------------------------------------
 * The key table
 * ------------------------------------------------------------------------ */

typedef enum {
    KB_CT_BOOL,     /* bool */
    KB_CT_I32,      /* int32_t; Kafka INT or SHORT (the range says which) */
    KB_CT_I64,      /* int64_t; Kafka LONG, or INT when the range says so */
    KB_CT_I32_CAP,  /* Kafka LONG kept in an int32_t, capped at INT32_MAX */
    KB_CT_DOUBLE,   /* checked only */
    KB_CT_STRING,   /* char *, NULL = null */
    KB_CT_LIST,     /* comma-separated list, kept as its text (char *) */
    KB_CT_PASSWORD, /* like STRING, never echoed in a message */
} kb_ctype_t;

typedef enum { KB_USED, KB_UNUSED } kb_use_t;

/* A validator returns 0, KB_CHECK_INVALID or KB_CHECK_REFUSED, with the
 * reason in why. */
enum { KB_CHECK_INVALID = -1, KB_CHECK_REFUSED = -2 };
typedef int (*kb_check_fn)(const char *value, char *why, size_t whylen);

typedef struct kb_config_key {
    const char *name;
    kb_ctype_t type;
    int offset;      /* offsetof(kb_config_t, field), or NOF: checked, not kept */
    const char *def; /* Kafka 2.6 default as written in a file; NULL = null */
    int64_t min, max;
    kb_check_fn check;
    kb_use_t use;
} kb_config_key_t;

#define NOF (-1)
#define F(field) ((int)offsetof(kb_config_t, field))
#define R(field) ((int)offsetof(kb_config_t, raw.field))
#define ANY16 INT16_MIN, INT16_MAX
#define ANY32 INT32_MIN, INT32_MAX
#define ANY64 INT64_MIN, INT64_MAX
#define GE16(n) (n), INT16_MAX
#define GE32(n) (n), INT32_MAX
#define GE64(n) (n), INT64_MAX
#define NR 0, 0 /* no range: not a number */
#define PORT 0, 65535
#define I64MAX "9223372036854775807"
#define I32MAX "2147483647"

static int check_zk_connect(const char *v, char *why, size_t n);
static int check_listeners(const char *v, char *why, size_t n);
static int check_protocol_map(const char *v, char *why, size_t n);
static int check_listener_name(const char *v, char *why, size_t n);
static int check_log_dirs(const char *v, char *why, size_t n);
static int check_cleanup_policy(const char *v, char *why, size_t n);
static int check_timestamp_type(const char *v, char *why, size_t n);
static int check_compression(const char *v, char *why, size_t n);
static int check_version(const char *v, char *why, size_t n);
static int check_inter_broker_protocol(const char *v, char *why, size_t n);
static int check_codec(const char *v, char *why, size_t n);
static int check_ssl_client_auth(const char *v, char *why, size_t n);
static int check_log_level(const char *v, char *why, size_t n);
static int check_host_port(const char *v, char *why, size_t n);
static int refuse_true_acl(const char *v, char *why, size_t n);
static int refuse_true_zk_tls(const char *v, char *why, size_t n);
static int refuse_authorizer(const char *v, char *why, size_t n);
static int refuse_policy(const char *v, char *why, size_t n);

static const kb_config_key_t keys[] = {
    /* identity and ZooKeeper */
    {"broker.id", KB_CT_I32, F(broker_id), "-1", ANY32, NULL, KB_USED},
    {"broker.id.generation.enable", KB_CT_BOOL, F(broker_id_generation_enable), "true", NR, NULL, KB_USED},
    {"reserved.broker.max.id", KB_CT_I32, F(reserved_broker_max_id), "1000", GE32(0), NULL, KB_USED},
    {"broker.rack", KB_CT_STRING, F(broker_rack), NULL, NR, NULL, KB_USED},
    {"zookeeper.connect", KB_CT_STRING, F(zookeeper_connect), NULL, NR, check_zk_connect, KB_USED},
    {"zookeeper.session.timeout.ms", KB_CT_I32, F(zookeeper_session_timeout_ms), "18000", GE32(1), NULL, KB_USED},
    {"zookeeper.connection.timeout.ms", KB_CT_I32, R(zookeeper_connection_timeout_ms), NULL, GE32(1), NULL, KB_USED},
    {"zookeeper.max.in.flight.requests", KB_CT_I32, F(zookeeper_max_in_flight_requests), "10", GE32(1), NULL, KB_UNUSED},
    {"zookeeper.sync.time.ms", KB_CT_I32, NOF, "2000", ANY32, NULL, KB_UNUSED},
    {"zookeeper.set.acl", KB_CT_BOOL, NOF, "false", NR, refuse_true_acl, KB_UNUSED},
    {"zookeeper.ssl.client.enable", KB_CT_BOOL, NOF, "false", NR, refuse_true_zk_tls, KB_UNUSED},
    {"zookeeper.clientCnxnSocket", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"zookeeper.ssl.keystore.location", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"zookeeper.ssl.keystore.password", KB_CT_PASSWORD, NOF, NULL, NR, NULL, KB_UNUSED},
    {"zookeeper.ssl.keystore.type", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"zookeeper.ssl.truststore.location", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"zookeeper.ssl.truststore.password", KB_CT_PASSWORD, NOF, NULL, NR, NULL, KB_UNUSED},
    {"zookeeper.ssl.truststore.type", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"zookeeper.ssl.protocol", KB_CT_STRING, NOF, "TLSv1.2", NR, NULL, KB_UNUSED},
    {"zookeeper.ssl.enabled.protocols", KB_CT_LIST, NOF, NULL, NR, NULL, KB_UNUSED},
    {"zookeeper.ssl.cipher.suites", KB_CT_LIST, NOF, NULL, NR, NULL, KB_UNUSED},
    {"zookeeper.ssl.endpoint.identification.algorithm", KB_CT_STRING, NOF, "HTTPS", NR, NULL, KB_UNUSED},
    {"zookeeper.ssl.crl.enable", KB_CT_BOOL, NOF, "false", NR, NULL, KB_UNUSED},
    {"zookeeper.ssl.ocsp.enable", KB_CT_BOOL, NOF, "false", NR, NULL, KB_UNUSED},
    /* listeners */
    {"listeners", KB_CT_STRING, R(listeners), NULL, NR, check_listeners, KB_USED},
    {"advertised.listeners", KB_CT_STRING, R(advertised_listeners), NULL, NR, check_listeners, KB_USED},
    {"listener.security.protocol.map", KB_CT_STRING, R(listener_security_protocol_map),
     "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", NR, check_protocol_map, KB_USED},
    {"host.name", KB_CT_STRING, R(host_name), "", NR, NULL, KB_USED},
    {"port", KB_CT_I32, R(port), "9092", PORT, NULL, KB_USED},
    {"advertised.host.name", KB_CT_STRING, R(advertised_host_name), NULL, NR, NULL, KB_USED},
    {"advertised.port", KB_CT_I32, R(advertised_port), NULL, PORT, NULL, KB_USED},
    {"inter.broker.listener.name", KB_CT_STRING, R(inter_broker_listener_name), NULL, NR, check_listener_name, KB_USED},
    {"security.inter.broker.protocol", KB_CT_STRING, NOF, "PLAINTEXT", NR, check_inter_broker_protocol, KB_USED},
    {"control.plane.listener.name", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"inter.broker.protocol.version", KB_CT_STRING, NOF, "2.6-IV0", NR, check_version, KB_UNUSED},
    /* threads, sockets, requests */
    {"num.network.threads", KB_CT_I32, F(num_network_threads), "3", GE32(1), NULL, KB_UNUSED},
    {"num.io.threads", KB_CT_I32, F(num_io_threads), "8", GE32(1), NULL, KB_USED},
    {"background.threads", KB_CT_I32, F(background_threads), "10", GE32(1), NULL, KB_UNUSED},
    {"num.replica.alter.log.dirs.threads", KB_CT_I32, NOF, NULL, ANY32, NULL, KB_UNUSED},
    {"queued.max.requests", KB_CT_I32, F(queued_max_requests), "500", GE32(1), NULL, KB_UNUSED},
    {"queued.max.request.bytes", KB_CT_I64, NOF, "-1", ANY64, NULL, KB_UNUSED},
    {"socket.send.buffer.bytes", KB_CT_I32, F(socket_send_buffer_bytes), "102400", GE32(-1), NULL, KB_USED},
    {"socket.receive.buffer.bytes", KB_CT_I32, F(socket_receive_buffer_bytes), "102400", GE32(-1), NULL, KB_USED},
    {"socket.request.max.bytes", KB_CT_I32, F(socket_request_max_bytes), "104857600", GE32(1), NULL, KB_USED},
    {"max.connections.per.ip", KB_CT_I32, F(max_connections_per_ip), I32MAX, GE32(0), NULL, KB_UNUSED},
    {"max.connections.per.ip.overrides", KB_CT_STRING, NOF, "", NR, NULL, KB_UNUSED},
    {"max.connections", KB_CT_I32, NOF, I32MAX, GE32(0), NULL, KB_UNUSED},
    {"connections.max.idle.ms", KB_CT_I32_CAP, F(connections_max_idle_ms), "600000", GE64(-1), NULL, KB_USED},
    {"connection.failed.authentication.delay.ms", KB_CT_I32, NOF, "100", GE32(0), NULL, KB_UNUSED},
    {"request.timeout.ms", KB_CT_I32, F(request_timeout_ms), "30000", GE32(0), NULL, KB_UNUSED},
    {"message.max.bytes", KB_CT_I32, F(message_max_bytes), "1048588", GE32(0), NULL, KB_USED},
    {"fetch.max.bytes", KB_CT_I32, F(fetch_max_bytes), "57671680", GE32(1024), NULL, KB_USED},
    {"max.incremental.fetch.session.cache.slots", KB_CT_I32, NOF, "1000", GE32(0), NULL, KB_UNUSED},
    /* topics and replication */
    {"num.partitions", KB_CT_I32, F(num_partitions), "1", GE32(1), NULL, KB_USED},
    {"default.replication.factor", KB_CT_I32, F(default_replication_factor), "1", GE32(1), NULL, KB_USED},
    {"min.insync.replicas", KB_CT_I32, F(min_insync_replicas), "1", GE32(1), NULL, KB_USED},
    {"auto.create.topics.enable", KB_CT_BOOL, F(auto_create_topics_enable), "true", NR, NULL, KB_USED},
    {"delete.topic.enable", KB_CT_BOOL, F(delete_topic_enable), "true", NR, NULL, KB_USED},
    {"unclean.leader.election.enable", KB_CT_BOOL, F(unclean_leader_election_enable), "false", NR, NULL, KB_USED},
    {"create.topic.policy.class.name", KB_CT_STRING, NOF, NULL, NR, refuse_policy, KB_UNUSED},
    {"alter.config.policy.class.name", KB_CT_STRING, NOF, NULL, NR, refuse_policy, KB_UNUSED},
    {"replica.lag.time.max.ms", KB_CT_I32_CAP, F(replica_lag_time_max_ms), "30000", GE64(0), NULL, KB_USED},
    {"replica.socket.timeout.ms", KB_CT_I32, F(replica_socket_timeout_ms), "30000", ANY32, NULL, KB_USED},
    {"replica.socket.receive.buffer.bytes", KB_CT_I32, F(replica_socket_receive_buffer_bytes), "65536", GE32(-1), NULL,
     KB_UNUSED},
    {"replica.fetch.max.bytes", KB_CT_I32, F(replica_fetch_max_bytes), "1048576", GE32(0), NULL, KB_USED},
    {"replica.fetch.wait.max.ms", KB_CT_I32, F(replica_fetch_wait_max_ms), "500", GE32(0), NULL, KB_USED},
    {"replica.fetch.min.bytes", KB_CT_I32, F(replica_fetch_min_bytes), "1", GE32(0), NULL, KB_USED},
    {"replica.fetch.response.max.bytes", KB_CT_I32, F(replica_fetch_response_max_bytes), "10485760", GE32(0), NULL,
     KB_USED},
    {"replica.fetch.backoff.ms", KB_CT_I32, F(replica_fetch_backoff_ms), "1000", GE32(0), NULL, KB_USED},
    {"num.replica.fetchers", KB_CT_I32, F(num_replica_fetchers), "1", GE32(1), NULL, KB_UNUSED},
    {"replica.high.watermark.checkpoint.interval.ms", KB_CT_I64, F(replica_high_watermark_checkpoint_interval_ms),
     "5000", GE64(1), NULL, KB_USED},
    {"replica.selector.class", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"fetch.purgatory.purge.interval.requests", KB_CT_I32, NOF, "1000", ANY32, NULL, KB_UNUSED},
    {"producer.purgatory.purge.interval.requests", KB_CT_I32, NOF, "1000", ANY32, NULL, KB_UNUSED},
    {"delete.records.purgatory.purge.interval.requests", KB_CT_I32, NOF, "1", ANY32, NULL, KB_UNUSED},
    {"controller.socket.timeout.ms", KB_CT_I32, F(controller_socket_timeout_ms), "30000", ANY32, NULL, KB_USED},
    {"controlled.shutdown.enable", KB_CT_BOOL, F(controlled_shutdown_enable), "true", NR, NULL, KB_USED},
    {"controlled.shutdown.max.retries", KB_CT_I32, F(controlled_shutdown_max_retries), "3", GE32(0), NULL, KB_USED},
    {"controlled.shutdown.retry.backoff.ms", KB_CT_I64, F(controlled_shutdown_retry_backoff_ms), "5000", GE64(0), NULL,
     KB_USED},
    {"auto.leader.rebalance.enable", KB_CT_BOOL, F(auto_leader_rebalance_enable), "true", NR, NULL, KB_USED},
    {"leader.imbalance.per.broker.percentage", KB_CT_I32, F(leader_imbalance_per_broker_percentage), "10", GE32(0),
     NULL, KB_USED},
    {"leader.imbalance.check.interval.seconds", KB_CT_I64, F(leader_imbalance_check_interval_seconds), "300", GE64(1),
     NULL, KB_USED},
    /* log */
    {"log.dir", KB_CT_STRING, R(log_dir), "/tmp/kafka-logs", NR, check_log_dirs, KB_USED},
    {"log.dirs", KB_CT_STRING, R(log_dirs), NULL, NR, check_log_dirs, KB_USED},
    {"log.segment.bytes", KB_CT_I64, F(log_segment_bytes), "1073741824", 14, INT32_MAX, NULL, KB_USED},
    {"log.roll.ms", KB_CT_I64, R(log_roll_ms), NULL, ANY64, NULL, KB_USED},
    {"log.roll.hours", KB_CT_I32, R(log_roll_hours), "168", GE32(1), NULL, KB_USED},
    {"log.roll.jitter.ms", KB_CT_I64, R(log_roll_jitter_ms), NULL, ANY64, NULL, KB_USED},
    {"log.roll.jitter.hours", KB_CT_I32, R(log_roll_jitter_hours), "0", GE32(0), NULL, KB_USED},
    {"log.retention.ms", KB_CT_I64, R(log_retention_ms), NULL, ANY64, NULL, KB_USED},
    {"log.retention.minutes", KB_CT_I32, R(log_retention_minutes), NULL, ANY32, NULL, KB_USED},
    {"log.retention.hours", KB_CT_I32, R(log_retention_hours), "168", ANY32, NULL, KB_USED},
    {"log.retention.bytes", KB_CT_I64, F(log_retention_bytes), "-1", ANY64, NULL, KB_USED},
    {"log.retention.check.interval.ms", KB_CT_I64, F(log_retention_check_interval_ms), "300000", GE64(1), NULL,
     KB_USED},
    {"log.cleanup.policy", KB_CT_LIST, F(log_cleanup_policy), "delete", NR, check_cleanup_policy, KB_UNUSED},
    {"log.index.interval.bytes", KB_CT_I32, F(log_index_interval_bytes), "4096", GE32(0), NULL, KB_USED},
    {"log.index.size.max.bytes", KB_CT_I32, F(log_index_size_max_bytes), "10485760", GE32(4), NULL, KB_USED},
    {"log.flush.interval.messages", KB_CT_I64, F(log_flush_interval_messages), I64MAX, GE64(1), NULL, KB_USED},
    {"log.flush.interval.ms", KB_CT_I64, R(log_flush_interval_ms), NULL, ANY64, NULL, KB_USED},
    {"log.flush.scheduler.interval.ms", KB_CT_I64, F(log_flush_scheduler_interval_ms), I64MAX, ANY64, NULL, KB_USED},
    {"log.flush.offset.checkpoint.interval.ms", KB_CT_I32, F(log_flush_offset_checkpoint_interval_ms), "60000", GE32(0),
     NULL, KB_USED},
    {"log.flush.start.offset.checkpoint.interval.ms", KB_CT_I32, F(log_flush_start_offset_checkpoint_interval_ms),
     "60000", GE32(0), NULL, KB_USED},
    {"log.segment.delete.delay.ms", KB_CT_I64, F(log_segment_delete_delay_ms), "60000", GE64(0), NULL, KB_USED},
    {"log.preallocate", KB_CT_BOOL, F(log_preallocate), "false", NR, NULL, KB_UNUSED},
    {"log.message.format.version", KB_CT_STRING, NOF, "2.6-IV0", NR, check_version, KB_UNUSED},
    {"log.message.timestamp.type", KB_CT_STRING, F(log_message_timestamp_type), "CreateTime", NR, check_timestamp_type,
     KB_USED},
    {"log.message.timestamp.difference.max.ms", KB_CT_I64, NOF, I64MAX, ANY64, NULL, KB_UNUSED},
    {"log.message.downconversion.enable", KB_CT_BOOL, NOF, "true", NR, NULL, KB_UNUSED},
    {"num.recovery.threads.per.data.dir", KB_CT_I32, F(num_recovery_threads_per_data_dir), "1", GE32(1), NULL,
     KB_UNUSED},
    {"log.cleaner.enable", KB_CT_BOOL, NOF, "true", NR, NULL, KB_UNUSED},
    {"log.cleaner.threads", KB_CT_I32, NOF, "1", GE32(0), NULL, KB_UNUSED},
    {"log.cleaner.io.max.bytes.per.second", KB_CT_DOUBLE, NOF, "1.7976931348623157E308", NR, NULL, KB_UNUSED},
    {"log.cleaner.dedupe.buffer.size", KB_CT_I64, NOF, "134217728", ANY64, NULL, KB_UNUSED},
    {"log.cleaner.io.buffer.size", KB_CT_I32, NOF, "524288", GE32(0), NULL, KB_UNUSED},
    {"log.cleaner.io.buffer.load.factor", KB_CT_DOUBLE, NOF, "0.9", NR, NULL, KB_UNUSED},
    {"log.cleaner.backoff.ms", KB_CT_I64, NOF, "15000", GE64(0), NULL, KB_UNUSED},
    {"log.cleaner.min.cleanable.ratio", KB_CT_DOUBLE, NOF, "0.5", NR, NULL, KB_UNUSED},
    {"log.cleaner.delete.retention.ms", KB_CT_I64, NOF, "86400000", ANY64, NULL, KB_UNUSED},
    {"log.cleaner.min.compaction.lag.ms", KB_CT_I64, NOF, "0", ANY64, NULL, KB_UNUSED},
    {"log.cleaner.max.compaction.lag.ms", KB_CT_I64, NOF, I64MAX, ANY64, NULL, KB_UNUSED},
    {"compression.type", KB_CT_STRING, F(compression_type), "producer", NR, check_compression, KB_USED},
    /* groups and committed offsets */
    {"group.min.session.timeout.ms", KB_CT_I32, F(group_min_session_timeout_ms), "6000", ANY32, NULL, KB_USED},
    {"group.max.session.timeout.ms", KB_CT_I32, F(group_max_session_timeout_ms), "1800000", ANY32, NULL, KB_USED},
    {"group.initial.rebalance.delay.ms", KB_CT_I32, F(group_initial_rebalance_delay_ms), "3000", GE32(0), NULL,
     KB_USED},
    {"group.max.size", KB_CT_I32, F(group_max_size), I32MAX, GE32(1), NULL, KB_USED},
    {"offset.metadata.max.bytes", KB_CT_I32, F(offset_metadata_max_bytes), "4096", ANY32, NULL, KB_USED},
    {"offsets.load.buffer.size", KB_CT_I32, F(offsets_load_buffer_size), "5242880", GE32(1), NULL, KB_USED},
    {"offsets.topic.replication.factor", KB_CT_I32, F(offsets_topic_replication_factor), "3", GE16(1), NULL, KB_USED},
    {"offsets.topic.num.partitions", KB_CT_I32, F(offsets_topic_num_partitions), "50", GE32(1), NULL, KB_USED},
    {"offsets.topic.segment.bytes", KB_CT_I32, F(offsets_topic_segment_bytes), "104857600", GE32(1), NULL, KB_USED},
    {"offsets.topic.compression.codec", KB_CT_I32, NOF, "0", ANY32, check_codec, KB_UNUSED},
    {"offsets.retention.minutes", KB_CT_I32, F(offsets_retention_minutes), "10080", GE32(1), NULL, KB_USED},
    {"offsets.retention.check.interval.ms", KB_CT_I64, F(offsets_retention_check_interval_ms), "600000", GE64(1), NULL,
     KB_USED},
    {"offsets.commit.timeout.ms", KB_CT_I32, F(offsets_commit_timeout_ms), "5000", GE32(1), NULL, KB_USED},
    {"offsets.commit.required.acks", KB_CT_I32, F(offsets_commit_required_acks), "-1", ANY16, NULL, KB_USED},
    /* transactions */
    {"transactional.id.expiration.ms", KB_CT_I32, NOF, "604800000", GE32(1), NULL, KB_UNUSED},
    {"transaction.max.timeout.ms", KB_CT_I32, NOF, "900000", GE32(1), NULL, KB_UNUSED},
    {"transaction.state.log.min.isr", KB_CT_I32, F(transaction_state_log_min_isr), "2", GE32(1), NULL, KB_UNUSED},
    {"transaction.state.log.load.buffer.size", KB_CT_I32, NOF, "5242880", GE32(1), NULL, KB_UNUSED},
    {"transaction.state.log.num.partitions", KB_CT_I32, F(transaction_state_log_num_partitions), "50", GE32(1), NULL,
     KB_UNUSED},
    {"transaction.state.log.segment.bytes", KB_CT_I32, NOF, "104857600", GE32(1), NULL, KB_UNUSED},
    {"transaction.state.log.replication.factor", KB_CT_I32, F(transaction_state_log_replication_factor), "3", GE16(1),
     NULL, KB_UNUSED},
    {"transaction.abort.timed.out.transaction.cleanup.interval.ms", KB_CT_I32, NOF, "10000", GE32(1), NULL, KB_UNUSED},
    {"transaction.remove.expired.transaction.cleanup.interval.ms", KB_CT_I32, NOF, "3600000", GE32(1), NULL,
     KB_UNUSED},
    /* quotas and metrics */
    {"quota.producer.default", KB_CT_I64, NOF, I64MAX, GE64(1), NULL, KB_UNUSED},
    {"quota.consumer.default", KB_CT_I64, NOF, I64MAX, GE64(1), NULL, KB_UNUSED},
    {"quota.window.num", KB_CT_I32, NOF, "11", GE32(1), NULL, KB_UNUSED},
    {"quota.window.size.seconds", KB_CT_I32, NOF, "1", GE32(1), NULL, KB_UNUSED},
    {"replication.quota.window.num", KB_CT_I32, NOF, "11", GE32(1), NULL, KB_UNUSED},
    {"replication.quota.window.size.seconds", KB_CT_I32, NOF, "1", GE32(1), NULL, KB_UNUSED},
    {"alter.log.dirs.replication.quota.window.num", KB_CT_I32, NOF, "11", GE32(1), NULL, KB_UNUSED},
    {"alter.log.dirs.replication.quota.window.size.seconds", KB_CT_I32, NOF, "1", GE32(1), NULL, KB_UNUSED},
    {"client.quota.callback.class", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"metrics.num.samples", KB_CT_I32, NOF, "2", GE32(1), NULL, KB_UNUSED},
    {"metrics.sample.window.ms", KB_CT_I64, NOF, "30000", GE64(1), NULL, KB_UNUSED},
    {"metrics.recording.level", KB_CT_STRING, NOF, "INFO", NR, NULL, KB_UNUSED},
    {"metric.reporters", KB_CT_LIST, NOF, "", NR, NULL, KB_UNUSED},
    {"kafka.metrics.reporters", KB_CT_LIST, NOF, "", NR, NULL, KB_UNUSED},
    {"kafka.metrics.polling.interval.secs", KB_CT_I32, NOF, "10", GE32(1), NULL, KB_UNUSED},
    /* security: only meaningful on SSL/SASL listeners, which are refused */
    {"authorizer.class.name", KB_CT_STRING, NOF, "", NR, refuse_authorizer, KB_UNUSED},
    {"principal.builder.class", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"connections.max.reauth.ms", KB_CT_I64, NOF, "0", ANY64, NULL, KB_UNUSED},
    {"security.providers", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"ssl.protocol", KB_CT_STRING, NOF, "TLSv1.2", NR, NULL, KB_UNUSED},
    {"ssl.provider", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"ssl.enabled.protocols", KB_CT_LIST, NOF, "TLSv1.2", NR, NULL, KB_UNUSED},
    {"ssl.cipher.suites", KB_CT_LIST, NOF, "", NR, NULL, KB_UNUSED},
    {"ssl.keystore.type", KB_CT_STRING, NOF, "JKS", NR, NULL, KB_UNUSED},
    {"ssl.keystore.location", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"ssl.keystore.password", KB_CT_PASSWORD, NOF, NULL, NR, NULL, KB_UNUSED},
    {"ssl.key.password", KB_CT_PASSWORD, NOF, NULL, NR, NULL, KB_UNUSED},
    {"ssl.truststore.type", KB_CT_STRING, NOF, "JKS", NR, NULL, KB_UNUSED},
    {"ssl.truststore.location", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"ssl.truststore.password", KB_CT_PASSWORD, NOF, NULL, NR, NULL, KB_UNUSED},
    {"ssl.keymanager.algorithm", KB_CT_STRING, NOF, "SunX509", NR, NULL, KB_UNUSED},
    {"ssl.trustmanager.algorithm", KB_CT_STRING, NOF, "PKIX", NR, NULL, KB_UNUSED},
    {"ssl.endpoint.identification.algorithm", KB_CT_STRING, NOF, "https", NR, NULL, KB_UNUSED},
    {"ssl.secure.random.implementation", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"ssl.client.auth", KB_CT_STRING, NOF, "none", NR, check_ssl_client_auth, KB_UNUSED},
    {"ssl.principal.mapping.rules", KB_CT_STRING, NOF, "DEFAULT", NR, NULL, KB_UNUSED},
    {"ssl.engine.factory.class", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"sasl.mechanism.inter.broker.protocol", KB_CT_STRING, NOF, "GSSAPI", NR, NULL, KB_UNUSED},
    {"sasl.jaas.config", KB_CT_PASSWORD, NOF, NULL, NR, NULL, KB_UNUSED},
    {"sasl.enabled.mechanisms", KB_CT_LIST, NOF, "GSSAPI", NR, NULL, KB_UNUSED},
    {"sasl.server.callback.handler.class", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"sasl.client.callback.handler.class", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"sasl.login.class", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"sasl.login.callback.handler.class", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"sasl.kerberos.service.name", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"sasl.kerberos.kinit.cmd", KB_CT_STRING, NOF, "/usr/bin/kinit", NR, NULL, KB_UNUSED},
    {"sasl.kerberos.ticket.renew.window.factor", KB_CT_DOUBLE, NOF, "0.8", NR, NULL, KB_UNUSED},
    {"sasl.kerberos.ticket.renew.jitter", KB_CT_DOUBLE, NOF, "0.05", NR, NULL, KB_UNUSED},
    {"sasl.kerberos.min.time.before.relogin", KB_CT_I64, NOF, "60000", ANY64, NULL, KB_UNUSED},
    {"sasl.kerberos.principal.to.local.rules", KB_CT_LIST, NOF, "DEFAULT", NR, NULL, KB_UNUSED},
    {"sasl.login.refresh.window.factor", KB_CT_DOUBLE, NOF, "0.8", NR, NULL, KB_UNUSED},
    {"sasl.login.refresh.window.jitter", KB_CT_DOUBLE, NOF, "0.05", NR, NULL, KB_UNUSED},
    {"sasl.login.refresh.min.period.seconds", KB_CT_I32, NOF, "60", ANY16, NULL, KB_UNUSED},
    {"sasl.login.refresh.buffer.seconds", KB_CT_I32, NOF, "300", ANY16, NULL, KB_UNUSED},
    {"delegation.token.master.key", KB_CT_PASSWORD, NOF, NULL, NR, NULL, KB_UNUSED},
    {"delegation.token.max.lifetime.ms", KB_CT_I64, NOF, "604800000", GE64(1), NULL, KB_UNUSED},
    {"delegation.token.expiry.time.ms", KB_CT_I64, NOF, "86400000", GE64(1), NULL, KB_UNUSED},
    {"delegation.token.expiry.check.interval.ms", KB_CT_I64, NOF, "3600000", GE64(1), NULL, KB_UNUSED},
    {"password.encoder.secret", KB_CT_PASSWORD, NOF, NULL, NR, NULL, KB_UNUSED},
    {"password.encoder.old.secret", KB_CT_PASSWORD, NOF, NULL, NR, NULL, KB_UNUSED},
    {"password.encoder.keyfactory.algorithm", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"password.encoder.cipher.algorithm", KB_CT_STRING, NOF, "AES/CBC/PKCS5Padding", NR, NULL, KB_UNUSED},
    {"password.encoder.key.length", KB_CT_I32, NOF, "128", GE32(8), NULL, KB_UNUSED},
    {"password.encoder.iterations", KB_CT_I32, NOF, "4096", GE32(1024), NULL, KB_UNUSED},
    /* kbroker's own */
    {"kbroker.rpc.port", KB_CT_I32, F(rpc_port), "0", PORT, NULL, KB_USED},
    {"kbroker.rpc.max.frame.bytes", KB_CT_I64, R(rpc_max_frame_bytes), NULL, GE64(8), NULL, KB_USED},
    {"kbroker.rpc.reconnect.backoff.ms", KB_CT_I32, F(rpc_reconnect_backoff_ms), "100", GE32(1), NULL, KB_USED},
    {"kbroker.rpc.reconnect.backoff.max.ms", KB_CT_I32, F(rpc_reconnect_backoff_max_ms), "1000", GE32(1), NULL,
     KB_USED},
    {"kbroker.log.level", KB_CT_STRING, F(log_level), "info", NR, check_log_level, KB_USED},
    {"kbroker.metrics.listener", KB_CT_STRING, F(metrics_listener), NULL, NR, check_host_port, KB_USED},
    {"kbroker.batch.decompressed.max.bytes", KB_CT_I32, F(batch_decompressed_max_bytes), "67108864", GE32(1), NULL,
     KB_USED},
    /* KIP-578's name, meaning and default (no cap): partition replicas per broker */
    {"max.broker.partitions", KB_CT_I32, F(max_broker_partitions), I32MAX, GE32(1), NULL, KB_USED},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const kb_config_key_t *key_find(const char *name) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0) return &keys[i];
    return NULL;
}

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

static void *field_ptr(kb_config_t *cfg, const kb_config_key_t *k) { return (char *)cfg + k->offset; }

void kb_config_set_str(char **slot, const char *value) {
    free(*slot);
    *slot = value ? strdup(value) : NULL;
    if (value && !*slot) abort(); /* out of memory while configuring */
}

static void why(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why(char *buf, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

/* Copies [s, s+len) into dst (size n) with surrounding blanks removed; dst
 * may be s itself. */
void kb_config_copy_trimmed(char *dst, size_t n, const char *s, size_t len) {
    while (len && isspace((unsigned char)*s)) s++, len--;
    while (len && isspace((unsigned char)s[len - 1])) len--;
    if (len >= n) len = n - 1;
    memmove(dst, s, len);
    dst[len] = '\0';
}

/* Calls fn on every non-empty, trimmed element of a comma list, as Kafka's
 * parseCsvList does; stops at the first non-zero return. */
int kb_config_csv_each(const char *list, kb_csv_fn fn, void *arg) {
    char item[4096]; /* PATH_MAX: a log directory is an item */
    const char *p = list;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        kb_config_copy_trimmed(item, sizeof(item), p, len);
        if (item[0]) {
            int rc = fn(item, arg);
            if (rc) return rc;
        }
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

static int parse_i64(const char *v, int64_t *out) {
    char *end;
    if (!*v || isspace((unsigned char)*v)) return -1;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*end) return -1;
    if (errno == ERANGE) return -2;
    *out = n;
    return 0;
}

static int parse_port(const char *s, int *port) {
    int64_t n;
    if (parse_i64(s, &n) != 0 || n < 0 || n > 65535) return -1;
    *port = (int)n;
    return 0;
}

void kb_config_upcase(char *s) {
    for (; *s; s++) *s = (char)toupper((unsigned char)*s);
}

/* ------------------------------------------------------------------------
 * Listeners and the security protocol map
 * ------------------------------------------------------------------------ */

static bool known_protocol(const char *p) {
    return !strcmp(p, "PLAINTEXT") || !strcmp(p, "SSL") || !strcmp(p, "SASL_PLAINTEXT") || !strcmp(p, "SASL_SSL");
}

static bool valid_listener_name(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return false;
    return true;
}

static bool valid_host(const char *s) {
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-%._:", *s)) return false;
    return true;
}

/* Splits "host:port" or "[v6]:port" (the part after NAME://). */
static int split_host_port(const char *s, char *host, size_t hostlen, int *port, char *w, size_t n) {
    const char *colon;
    size_t len;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') return why(w, n, "expected [ipv6-address]:port"), -1;
        len = (size_t)(close - s - 1);
        s++;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return why(w, n, "expected host:port"), -1;
        len = (size_t)(colon - s);
    }
    if (len >= hostlen) return why(w, n, "host name too long"), -1;
    memcpy(host, s, len);
    host[len] = '\0';
    if (!valid_host(host)) return why(w, n, "invalid host '%s'", host), -1;
    if (parse_port(colon + 1, port) != 0) return why(w, n, "port '%s' is not in 0-65535", colon + 1), -1;
    return 0;
}

/* Parses one NAME://host:port (Kafka's EndPoint.createEndPoint). */
static int parse_listener(const char *s, kb_listener_t *l, char *w, size_t n) {
    const char *sep = strstr(s, "://");
    memset(l, 0, sizeof(*l));
    if (!sep) return why(w, n, "'%s' is not NAME://host:port", s), -1;
    if ((size_t)(sep - s) >= sizeof(l->name)) return why(w, n, "listener name too long"), -1;
    memcpy(l->name, s, (size_t)(sep - s));
    kb_config_upcase(l->name);
    if (!valid_listener_name(l->name)) return why(w, n, "'%s' is not NAME://host:port", s), -1;
    return split_host_port(sep + 3, l->host, sizeof(l->host), &l->port, w, n);
}

typedef struct {
    kb_listener_t *out;
    int n;
    char *why;
    size_t whylen;
} kb_listener_list_t;

static int listener_item(const char *item, void *arg) {
    kb_listener_list_t *ll = arg;
    kb_listener_t l;
    if (parse_listener(item, &l, ll->why, ll->whylen) != 0) return -1;
    for (int i = 0; i < ll->n; i++)
        if (!strcmp(ll->out[i].name, l.name)) return why(ll->why, ll->whylen, "duplicate listener name %s", l.name), -1;
    if (ll->n == KB_MAX_LISTENERS) return why(ll->why, ll->whylen, "more than %d listeners", KB_MAX_LISTENERS), -1;
    ll->out[ll->n++] = l;
    return 0;
}

/* Parses a listener list into out[]; returns the count or -1. */
int kb_config_parse_listeners(const char *text, kb_listener_t *out, char *w, size_t n) {
    kb_listener_list_t ll = {out, 0, w, n};
    if (kb_config_csv_each(text, listener_item, &ll) != 0) return -1;
    if (ll.n == 0) return why(w, n, "no listener"), -1;
    return ll.n;
}

static int check_listeners(const char *v, char *w, size_t n) {
    kb_listener_t tmp[KB_MAX_LISTENERS];
    return kb_config_parse_listeners(v, tmp, w, n) < 0 ? KB_CHECK_INVALID : 0;
}

static int check_listener_name(const char *v, char *w, size_t n) {
    if (valid_listener_name(v)) return 0;
    why(w, n, "not a listener name");
    return KB_CHECK_INVALID;
}

static int map_item(const char *item, void *arg) {
    kb_protocol_map_t *m = arg;
    const char *colon = strchr(item, ':');
    kb_map_entry_t e;
    if (!colon) return why(m->why, m->whylen, "'%s' is not NAME:PROTOCOL", item), -1;
    kb_config_copy_trimmed(e.name, sizeof(e.name), item, (size_t)(colon - item));
    kb_config_copy_trimmed(e.protocol, sizeof(e.protocol), colon + 1, strlen(colon + 1));
    kb_config_upcase(e.name);
    kb_config_upcase(e.protocol);
    if (!valid_listener_name(e.name)) return why(m->why, m->whylen, "'%s' is not NAME:PROTOCOL", item), -1;
    if (!known_protocol(e.protocol)) return why(m->why, m->whylen, "unknown security protocol '%s'", e.protocol), -1;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->e[i].name, e.name)) return why(m->why, m->whylen, "listener %s mapped twice", e.name), -1;
    if (m->n == KB_MAX_MAP) return why(m->why, m->whylen, "more than %d entries", KB_MAX_MAP), -1;
    m->e[m->n++] = e;
    return 0;
}

int kb_config_parse_protocol_map(const char *v, kb_protocol_map_t *m, char *w, size_t n) {
    m->n = 0;
    m->why = w;
    m->whylen = n;
    return kb_config_csv_each(v, map_item, m);
}

static int check_protocol_map(const char *v, char *w, size_t n) {
    kb_protocol_map_t m;
    return kb_config_parse_protocol_map(v, &m, w, n) ? KB_CHECK_INVALID : 0;
}

const char *kb_config_map_lookup(const kb_protocol_map_t *m, const char *name) {
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->e[i].name, name)) return m->e[i].protocol;
    return NULL;
}

/* ------------------------------------------------------------------------
 * Validators
 * ------------------------------------------------------------------------ */

typedef struct {
    int count;
    char *why;
    size_t whylen;
} kb_zk_hosts_t;

/* host[:port] or [v6]:port; the ZooKeeper client defaults the port to 2181. */
static int zk_host_item(const char *item, void *arg) {
    kb_zk_hosts_t *z = arg;
    char host[256];
    int port = 2181;
    z->count++;
    if (item[0] == '[' || strchr(item, ':')) {
        if (split_host_port(item, host, sizeof(host), &port, z->why, z->whylen) != 0) return -1;
    } else if (!valid_host(item)) {
        return why(z->why, z->whylen, "invalid host '%s'", item), -1;
    }
    if (port == 0) return why(z->why, z->whylen, "port 0 in '%s'", item), -1;
    return 0;
}

/* host:port[,host:port...][/chroot], as the ZooKeeper client parses it. */
static int check_zk_connect(const char *v, char *w, size_t n) {
    char hosts[1024];
    const char *slash = strchr(v, '/');
    size_t len = slash ? (size_t)(slash - v) : strlen(v);
    kb_zk_hosts_t z = {0, w, n};
    if (len >= sizeof(hosts)) return why(w, n, "too long"), KB_CHECK_INVALID;
    memcpy(hosts, v, len);
    hosts[len] = '\0';
    if (kb_config_csv_each(hosts, zk_host_item, &z) != 0) return KB_CHECK_INVALID;
    if (z.count == 0) return why(w, n, "no ZooKeeper host"), KB_CHECK_INVALID;
    if (slash && slash[1] && (slash[strlen(slash) - 1] == '/' || strstr(slash, "//")))
        return why(w, n, "invalid chroot '%s'", slash), KB_CHECK_INVALID;
    return 0;
}

static int log_dir_item(const char *item, void *arg) {
    int *count = arg;
    (*count)++;
    return 0;
}

static int check_log_dirs(const char *v, char *w, size_t n) {
    int count = 0;
    kb_config_csv_each(v, log_dir_item, &count);
    if (count == 0) return why(w, n, "no log directory"), KB_CHECK_INVALID;
    if (count > KB_MAX_LOG_DIRS) return why(w, n, "more than %d directories", KB_MAX_LOG_DIRS), KB_CHECK_INVALID;
    return 0;
}

static int policy_item(const char *item, void *arg) {
    int *seen_compact = arg;
    if (!strcmp(item, "compact")) *seen_compact = 1;
    else if (strcmp(item, "delete") != 0) return -1;
    return 0;
}

static int check_cleanup_policy(const char *v, char *w, size_t n) {
    int compact = 0;
    if (kb_config_csv_each(v, policy_item, &compact) != 0) return why(w, n, "must be delete, compact or both"), KB_CHECK_INVALID;
    if (!compact) return 0;
    why(w, n, "log compaction is not implemented by kbroker; refusing to start rather than keep every record");
    return KB_CHECK_REFUSED;
}

static int check_one_of(const char *v, const char *const *allowed, char *w, size_t n) {
    char list[256] = "";
    for (int i = 0; allowed[i]; i++) {
        if (!strcmp(v, allowed[i])) return 0;
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", allowed[i]);
    }
    why(w, n, "must be one of %s", list);
    return KB_CHECK_INVALID;
}

static int check_timestamp_type(const char *v, char *w, size_t n) {
    static const char *const allowed[] = {"CreateTime", "LogAppendTime", NULL};
    return check_one_of(v, allowed, w, n);
}

static int check_compression(const char *v, char *w, size_t n) {
    static const char *const allowed[] = {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer", NULL};
    return check_one_of(v, allowed, w, n);
}

static int check_log_level(const char *v, char *w, size_t n) {
    static const char *const allowed[] = {"debug", "info", "warn", "error", NULL};
    return check_one_of(v, allowed, w, n);
}

static int check_codec(const char *v, char *w, size_t n) {
    int64_t codec;
    if (parse_i64(v, &codec) == 0 && codec >= 0 && codec <= 4) return 0;
    why(w, n, "must be a compression codec id 0-4");
    return KB_CHECK_INVALID;
}

/* Kafka versions such as 0.10.2, 2.6 or 2.6-IV0. */
static int check_version(const char *v, char *w, size_t n) {
    if (kc_kafka_version_valid(v)) return 0;
    why(w, n, "not a Kafka version such as 2.6 or 2.6-IV0");
    return KB_CHECK_INVALID;
}

static int check_inter_broker_protocol(const char *v, char *w, size_t n) {
    if (!known_protocol(v)) return why(w, n, "unknown security protocol"), KB_CHECK_INVALID;
    if (!strcmp(v, "PLAINTEXT")) return 0;
    why(w, n, "kbroker implements only PLAINTEXT between brokers");
    return KB_CHECK_REFUSED;
}

static int check_ssl_client_auth(const char *v, char *w, size_t n) {
    static const char *const allowed[] = {"required", "requested", "none", NULL};
    if (check_one_of(v, allowed, w, n) != 0) return KB_CHECK_INVALID;
    if (!strcmp(v, "none")) return 0;
    why(w, n, "TLS client authentication is not implemented by kbroker");
    return KB_CHECK_REFUSED;
}

static int check_host_port(const char *v, char *w, size_t n) {
    char host[256];
    int port;
    return split_host_port(v, host, sizeof(host), &port, w, n) ? KB_CHECK_INVALID : 0;
}

static int refuse_true_acl(const char *v, char *w, size_t n) {
    if (strcasecmp(v, "true") != 0) return 0;
    why(w, n, "ZooKeeper ACLs are not implemented by kbroker; refusing to leave znodes open to everyone");
    return KB_CHECK_REFUSED;
}

static int refuse_true_zk_tls(const char *v, char *w, size_t n) {
    if (strcasecmp(v, "true") != 0) return 0;
    why(w, n, "TLS to ZooKeeper is not implemented by kbroker; refusing to connect in plaintext");
    return KB_CHECK_REFUSED;
}

static int refuse_authorizer(const char *v, char *w, size_t n) {
    if (!*v) return 0;
    why(w, n, "ACL authorization is not implemented by kbroker; refusing to serve every client everything");
    return KB_CHECK_REFUSED;
}

static int refuse_policy(const char *v, char *w, size_t n) {
    if (!*v) return 0;
    why(w, n, "topic policies are not implemented by kbroker; refusing to accept requests the policy would reject");
    return KB_CHECK_REFUSED;
}

/* ------------------------------------------------------------------------
 * kb_config_set: type check, range, validator, store
 * ------------------------------------------------------------------------ */

typedef union {
    int64_t i;
    bool b;
} kb_value_t;

static void range_why(const kb_config_key_t *k, int64_t v, char *w, size_t n) {
    if ((v > k->max && k->max == INT16_MAX) || (v < k->min && k->min == INT16_MIN)) why(w, n, "not a 16-bit integer");
    else if ((v > k->max && k->max == INT32_MAX) || (v < k->min && k->min == INT32_MIN))
        why(w, n, "not a 32-bit integer");
    else if (k->max == INT16_MAX || k->max == INT32_MAX || k->max == INT64_MAX)
        why(w, n, "must be at least %lld", (long long)k->min);
    else why(w, n, "must be between %lld and %lld", (long long)k->min, (long long)k->max);
}

static int parse_number(const kb_config_key_t *k, const char *v, kb_value_t *out, char *w, size_t n) {
    int rc = parse_i64(v, &out->i);
    if (rc == -1) return why(w, n, "not an integer"), KB_CHECK_INVALID;
    if (rc == -2) return why(w, n, "not a 64-bit integer"), KB_CHECK_INVALID;
    if (out->i < k->min || out->i > k->max) return range_why(k, out->i, w, n), KB_CHECK_INVALID;
    return 0;
}

static int parse_double(const char *v, char *w, size_t n) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno == ERANGE || !isfinite(d)) return why(w, n, "not a number"), KB_CHECK_INVALID;
    return 0;
}

/* Checks value's type and range; the key's validator runs afterwards. */
static int parse_value(const kb_config_key_t *k, const char *v, kb_value_t *out, char *w, size_t n) {
    switch (k->type) {
    case KB_CT_BOOL:
        if (!strcasecmp(v, "true")) return out->b = true, 0;
        if (!strcasecmp(v, "false")) return out->b = false, 0;
        return why(w, n, "not true or false"), KB_CHECK_INVALID;
    case KB_CT_I32:
    case KB_CT_I64:
    case KB_CT_I32_CAP:
        return parse_number(k, v, out, w, n);
    case KB_CT_DOUBLE:
        return parse_double(v, w, n);
    default:
        return 0;
    }
}

static void store_value(kb_config_t *cfg, const kb_config_key_t *k, const char *v, kb_value_t val) {
    void *slot = field_ptr(cfg, k);
    switch (k->type) {
    case KB_CT_BOOL: *(bool *)slot = val.b; break;
    case KB_CT_I32: *(int32_t *)slot = (int32_t)val.i; break;
    case KB_CT_I64: *(int64_t *)slot = val.i; break;
    case KB_CT_I32_CAP: *(int32_t *)slot = val.i > INT32_MAX ? INT32_MAX : (int32_t)val.i; break;
    case KB_CT_DOUBLE: break;
    default: kb_config_set_str(slot, v); break;
    }
}

/* The stored value of a key whose Kafka default is null. */
static void store_null(kb_config_t *cfg, const kb_config_key_t *k) {
    void *slot = field_ptr(cfg, k);
    switch (k->type) {
    case KB_CT_I32:
    case KB_CT_I32_CAP: *(int32_t *)slot = KB_CONFIG_UNSET32; break;
    case KB_CT_I64: *(int64_t *)slot = KB_CONFIG_UNSET64; break;
    case KB_CT_BOOL:
    case KB_CT_DOUBLE: break;
    default: kb_config_set_str(slot, NULL); break;
    }
}

static void warn_unknown(kb_config_t *cfg, const char *key, const char *where) {
    for (int i = 0; i < cfg->n_unknown_keys; i++)
        if (!strcmp(cfg->unknown_keys[i], key)) return;
    char **grown = realloc(cfg->unknown_keys, sizeof(char *) * (size_t)(cfg->n_unknown_keys + 1));
    if (!grown) abort();
    cfg->unknown_keys = grown;
    cfg->unknown_keys[cfg->n_unknown_keys] = NULL;
    kb_config_set_str(&cfg->unknown_keys[cfg->n_unknown_keys++], key);
    kc_warn(MOD, "%s%sunknown key '%s' ignored", where ? where : "", where ? ": " : "", key);
}

/* Tells the operator a value they changed has no effect yet. */
static void note_unused(const kb_config_key_t *k, const char *v, const char *where) {
    if (k->use != KB_UNUSED || (k->def && !strcmp(k->def, v))) return;
    kc_info(MOD, "%s%s%s is accepted but not yet used by kbroker", where ? where : "", where ? ": " : "", k->name);
}

/* Keeps the text of an accepted value for kb_config_item(). */
static void remember_written(kb_config_t *cfg, const kb_config_key_t *k, const char *value) {
    for (int i = 0; i < cfg->n_written; i++) {
        if (cfg->written[i].name == k->name) {
            kb_config_set_str(&cfg->written[i].value, value);
            return;
        }
    }
    kb_config_written_t *grown = realloc(cfg->written, sizeof(*grown) * (size_t)(cfg->n_written + 1));
    if (!grown) abort(); /* out of memory while configuring */
    cfg->written = grown;
    cfg->written[cfg->n_written] = (kb_config_written_t){k->name, NULL};
    kb_config_set_str(&cfg->written[cfg->n_written++].value, value);
}

int kb_config_apply(kb_config_t *cfg, const char *key, const char *value, const char *where, char *err,
                        size_t errlen) {
    const kb_config_key_t *k = key_find(key);
    char reason[256] = "";
    kb_value_t val = {0};
    int rc;

    if (!k) return warn_unknown(cfg, key, where), KB_CONFIG_OK;
    rc = parse_value(k, value, &val, reason, sizeof(reason));
    if (rc == 0 && k->check) rc = k->check(value, reason, sizeof(reason));
    if (rc != 0) {
        const char *shown = k->type == KB_CT_PASSWORD ? "(hidden)" : value;
        snprintf(err, errlen, "%s value '%s' for %s: %s", rc == KB_CHECK_REFUSED ? "unsupported" : "invalid", shown,
                 key, reason);
        return KB_CONFIG_INVALID;
    }
    if (k->offset != NOF) store_value(cfg, k, value, val);
    remember_written(cfg, k, value);
    note_unused(k, value, where);
    return KB_CONFIG_OK;
}

int kb_config_set(kb_config_t *cfg, const char *key, const char *value, char *err, size_t errlen) {
    return kb_config_apply(cfg, key, value, NULL, err, errlen);
}

int kb_config_override(kb_config_t *cfg, const char *key_value, char *err, size_t errlen) {
    const char *eq = strchr(key_value, '=');
    char key[256];
    if (!eq) {
        snprintf(err, errlen, "invalid override '%s': expected key=value", key_value);
        return KB_CONFIG_INVALID;
    }
    kb_config_copy_trimmed(key, sizeof(key), key_value, (size_t)(eq - key_value));
    size_t vlen = strlen(eq + 1);
    char *value = malloc(vlen + 1);
    if (!value) abort();
    kb_config_copy_trimmed(value, vlen + 1, eq + 1, vlen);
    int rc = kb_config_apply(cfg, key, value, "--override", err, errlen);
    free(value);
    return rc;
}

/* ------------------------------------------------------------------------
 * Defaults, lookup, free
 * ------------------------------------------------------------------------ */

void kb_config_defaults(kb_config_t *cfg) {
    char err[512];
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < N_KEYS; i++) {
        const kb_config_key_t *k = &keys[i];
        kb_value_t val = {0};
        if (k->offset == NOF) continue;
        if (!k->def) {
            store_null(cfg, k);
            continue;
        }
        if (parse_value(k, k->def, &val, err, sizeof(err)) != 0) abort(); /* a bad default in the table */
        store_value(cfg, k, k->def, val);
    }
    if (kb_config_derive(cfg, err, sizeof(err)) != KB_CONFIG_OK) abort();
}

void kb_config_free(kb_config_t *cfg) {
    for (size_t i = 0; i < N_KEYS; i++) {
        const kb_config_key_t *k = &keys[i];
        if (k->offset != NOF && (k->type == KB_CT_STRING || k->type == KB_CT_LIST || k->type == KB_CT_PASSWORD))
            kb_config_set_str(field_ptr(cfg, k), NULL);
    }
    kb_config_free_log_dirs(cfg);
    kb_config_set_str(&cfg->inter_broker_listener_name, NULL);
    for (int i = 0; i < cfg->n_unknown_keys; i++) free(cfg->unknown_keys[i]);
    free(cfg->unknown_keys);
    for (int i = 0; i < cfg->n_written; i++) free(cfg->written[i].value);
    free(cfg->written);
    memset(cfg, 0, sizeof(*cfg));
}

/* ------------------------------------------------------------------------
 * The keys as DescribeConfigs lists them
 * ------------------------------------------------------------------------ */

int kb_config_item_count(void) { return (int)N_KEYS; }

void kb_config_item_at(const kb_config_t *cfg, int i, kb_config_item_t *out) {
    const kb_config_key_t *k = &keys[i];
    *out = (kb_config_item_t){k->name, k->def, true, k->type == KB_CT_PASSWORD, k->def};
    for (int j = 0; j < cfg->n_written; j++) {
        if (cfg->written[j].name == k->name) {
            out->value = cfg->written[j].value;
            out->is_default = false;
            break;
        }
    }
    if (out->is_sensitive) out->value = out->default_value = NULL;
}

bool kb_config_item(const kb_config_t *cfg, const char *name, kb_config_item_t *out) {
    const kb_config_key_t *k = key_find(name);
    if (!k) return false;
    kb_config_item_at(cfg, (int)(k - keys), out);
    return true;
}
