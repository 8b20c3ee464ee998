/*
 * kb_config.c - server.properties for kbroker, read the way Apache Kafka
 * 2.6 reads it, so an operator's existing file keeps working.
 *
 * Three parts:
 *   1. the key table: every Kafka 2.6 broker key plus kbroker's own, each
 *      with its storage type, its place in kb_config_t (or none, when the
 *      value is only checked), its Kafka default as it would be written in
 *      the file, its range, an optional validator, and whether kbroker uses
 *      it.  kb_config_defaults loads the defaults through the same parser as
 *      file values, so the table is the only place a default is written;
 *   2. kb_config_set, the single path every value takes (file lines and
 *      --override alike): type check, range, validator, store;
 *   3. kb_config_finish, which derives the values Kafka derives (listeners
 *      from host.name/port, advertised from listeners, retention from
 *      ms/minutes/hours, ...) from cfg->raw and checks rules that span keys;
 *   4. kb_config_item, the keys as DescribeConfigs lists them: the text each
 *      accepted value was written with (kb_config_set keeps it), else the
 *      table's default.
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

#include "coord/kc_configs.h"
#include "common/kc_log.h"

#define MOD "config"
#define KB_CONFIG_MAX_FILE (16 * 1024 * 1024)
#define KB_MAX_MAP 32

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
    {"delete.topic.enable", KB_CT_BOOL, F(delete_topic_enable), "true", NR, NULL, KB_UNUSED},
    {"unclean.leader.election.enable", KB_CT_BOOL, F(unclean_leader_election_enable), "false", NR, NULL, KB_UNUSED},
    {"create.topic.policy.class.name", KB_CT_STRING, NOF, NULL, NR, refuse_policy, KB_UNUSED},
    {"alter.config.policy.class.name", KB_CT_STRING, NOF, NULL, NR, refuse_policy, KB_UNUSED},
    {"replica.lag.time.max.ms", KB_CT_I32_CAP, F(replica_lag_time_max_ms), "30000", GE64(0), NULL, KB_USED},
    {"replica.socket.timeout.ms", KB_CT_I32, F(replica_socket_timeout_ms), "30000", ANY32, NULL, KB_UNUSED},
    {"replica.socket.receive.buffer.bytes", KB_CT_I32, F(replica_socket_receive_buffer_bytes), "65536", GE32(-1), NULL,
     KB_UNUSED},
    {"replica.fetch.max.bytes", KB_CT_I32, F(replica_fetch_max_bytes), "1048576", GE32(0), NULL, KB_UNUSED},
    {"replica.fetch.wait.max.ms", KB_CT_I32, F(replica_fetch_wait_max_ms), "500", GE32(0), NULL, KB_UNUSED},
    {"replica.fetch.min.bytes", KB_CT_I32, F(replica_fetch_min_bytes), "1", GE32(0), NULL, KB_UNUSED},
    {"replica.fetch.response.max.bytes", KB_CT_I32, F(replica_fetch_response_max_bytes), "10485760", GE32(0), NULL,
     KB_UNUSED},
    {"replica.fetch.backoff.ms", KB_CT_I32, F(replica_fetch_backoff_ms), "1000", GE32(0), NULL, KB_UNUSED},
    {"num.replica.fetchers", KB_CT_I32, F(num_replica_fetchers), "1", GE32(1), NULL, KB_UNUSED},
    {"replica.high.watermark.checkpoint.interval.ms", KB_CT_I64, F(replica_high_watermark_checkpoint_interval_ms),
     "5000", GE64(1), NULL, KB_USED},
    {"replica.selector.class", KB_CT_STRING, NOF, NULL, NR, NULL, KB_UNUSED},
    {"fetch.purgatory.purge.interval.requests", KB_CT_I32, NOF, "1000", ANY32, NULL, KB_UNUSED},
    {"producer.purgatory.purge.interval.requests", KB_CT_I32, NOF, "1000", ANY32, NULL, KB_UNUSED},
    {"delete.records.purgatory.purge.interval.requests", KB_CT_I32, NOF, "1", ANY32, NULL, KB_UNUSED},
    {"controller.socket.timeout.ms", KB_CT_I32, F(controller_socket_timeout_ms), "30000", ANY32, NULL, KB_UNUSED},
    {"controlled.shutdown.enable", KB_CT_BOOL, F(controlled_shutdown_enable), "true", NR, NULL, KB_UNUSED},
    {"controlled.shutdown.max.retries", KB_CT_I32, F(controlled_shutdown_max_retries), "3", GE32(0), NULL, KB_UNUSED},
    {"controlled.shutdown.retry.backoff.ms", KB_CT_I64, F(controlled_shutdown_retry_backoff_ms), "5000", GE64(0), NULL,
     KB_UNUSED},
    {"auto.leader.rebalance.enable", KB_CT_BOOL, F(auto_leader_rebalance_enable), "true", NR, NULL, KB_UNUSED},
    {"leader.imbalance.per.broker.percentage", KB_CT_I32, F(leader_imbalance_per_broker_percentage), "10", GE32(0),
     NULL, KB_UNUSED},
    {"leader.imbalance.check.interval.seconds", KB_CT_I64, F(leader_imbalance_check_interval_seconds), "300", GE64(1),
     NULL, KB_UNUSED},
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
    {"compression.type", KB_CT_STRING, NOF, "producer", NR, check_compression, KB_UNUSED},
    /* groups and committed offsets */
    {"group.min.session.timeout.ms", KB_CT_I32, F(group_min_session_timeout_ms), "6000", ANY32, NULL, KB_UNUSED},
    {"group.max.session.timeout.ms", KB_CT_I32, F(group_max_session_timeout_ms), "1800000", ANY32, NULL, KB_UNUSED},
    {"group.initial.rebalance.delay.ms", KB_CT_I32, F(group_initial_rebalance_delay_ms), "3000", GE32(0), NULL,
     KB_UNUSED},
    {"group.max.size", KB_CT_I32, NOF, I32MAX, GE32(1), NULL, KB_UNUSED},
    {"offset.metadata.max.bytes", KB_CT_I32, F(offset_metadata_max_bytes), "4096", ANY32, NULL, KB_UNUSED},
    {"offsets.load.buffer.size", KB_CT_I32, NOF, "5242880", GE32(1), NULL, KB_UNUSED},
    {"offsets.topic.replication.factor", KB_CT_I32, F(offsets_topic_replication_factor), "3", GE16(1), NULL, KB_UNUSED},
    {"offsets.topic.num.partitions", KB_CT_I32, F(offsets_topic_num_partitions), "50", GE32(1), NULL, KB_UNUSED},
    {"offsets.topic.segment.bytes", KB_CT_I32, F(offsets_topic_segment_bytes), "104857600", GE32(1), NULL, KB_UNUSED},
    {"offsets.topic.compression.codec", KB_CT_I32, NOF, "0", ANY32, check_codec, KB_UNUSED},
    {"offsets.retention.minutes", KB_CT_I32, F(offsets_retention_minutes), "10080", GE32(1), NULL, KB_UNUSED},
    {"offsets.retention.check.interval.ms", KB_CT_I64, F(offsets_retention_check_interval_ms), "600000", GE64(1), NULL,
     KB_UNUSED},
    {"offsets.commit.timeout.ms", KB_CT_I32, F(offsets_commit_timeout_ms), "5000", GE32(1), NULL, KB_UNUSED},
    {"offsets.commit.required.acks", KB_CT_I32, F(offsets_commit_required_acks), "-1", ANY16, NULL, KB_UNUSED},
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
    {"kbroker.rpc.port", KB_CT_I32, F(rpc_port), "0", PORT, NULL, KB_UNUSED},
    {"kbroker.log.level", KB_CT_STRING, F(log_level), "info", NR, check_log_level, KB_USED},
    {"kbroker.metrics.listener", KB_CT_STRING, F(metrics_listener), NULL, NR, check_host_port, KB_USED},
    {"kbroker.batch.decompressed.max.bytes", KB_CT_I32, F(batch_decompressed_max_bytes), "67108864", GE32(1), NULL,
     KB_USED},
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

static void set_str(char **slot, const char *value) {
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
static void copy_trimmed(char *dst, size_t n, const char *s, size_t len) {
    while (len && isspace((unsigned char)*s)) s++, len--;
    while (len && isspace((unsigned char)s[len - 1])) len--;
    if (len >= n) len = n - 1;
    memmove(dst, s, len);
    dst[len] = '\0';
}

/* Calls fn on every non-empty, trimmed element of a comma list, as Kafka's
 * parseCsvList does; stops at the first non-zero return. */
typedef int (*kb_csv_fn)(const char *item, void *arg);
static int csv_each(const char *list, kb_csv_fn fn, void *arg) {
    char item[4096]; /* PATH_MAX: a log directory is an item */
    const char *p = list;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        copy_trimmed(item, sizeof(item), p, len);
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

static void upcase(char *s) {
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
    upcase(l->name);
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
static int parse_listener_list(const char *text, kb_listener_t *out, char *w, size_t n) {
    kb_listener_list_t ll = {out, 0, w, n};
    if (csv_each(text, listener_item, &ll) != 0) return -1;
    if (ll.n == 0) return why(w, n, "no listener"), -1;
    return ll.n;
}

static int check_listeners(const char *v, char *w, size_t n) {
    kb_listener_t tmp[KB_MAX_LISTENERS];
    return parse_listener_list(v, tmp, w, n) < 0 ? KB_CHECK_INVALID : 0;
}

static int check_listener_name(const char *v, char *w, size_t n) {
    if (valid_listener_name(v)) return 0;
    why(w, n, "not a listener name");
    return KB_CHECK_INVALID;
}

typedef struct {
    char name[64];
    char protocol[32];
} kb_map_entry_t;

typedef struct {
    kb_map_entry_t e[KB_MAX_MAP];
    int n;
    char *why;
    size_t whylen;
} kb_protocol_map_t;

static int map_item(const char *item, void *arg) {
    kb_protocol_map_t *m = arg;
    const char *colon = strchr(item, ':');
    kb_map_entry_t e;
    if (!colon) return why(m->why, m->whylen, "'%s' is not NAME:PROTOCOL", item), -1;
    copy_trimmed(e.name, sizeof(e.name), item, (size_t)(colon - item));
    copy_trimmed(e.protocol, sizeof(e.protocol), colon + 1, strlen(colon + 1));
    upcase(e.name);
    upcase(e.protocol);
    if (!valid_listener_name(e.name)) return why(m->why, m->whylen, "'%s' is not NAME:PROTOCOL", item), -1;
    if (!known_protocol(e.protocol)) return why(m->why, m->whylen, "unknown security protocol '%s'", e.protocol), -1;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->e[i].name, e.name)) return why(m->why, m->whylen, "listener %s mapped twice", e.name), -1;
    if (m->n == KB_MAX_MAP) return why(m->why, m->whylen, "more than %d entries", KB_MAX_MAP), -1;
    m->e[m->n++] = e;
    return 0;
}

static int parse_protocol_map(const char *v, kb_protocol_map_t *m, char *w, size_t n) {
    m->n = 0;
    m->why = w;
    m->whylen = n;
    return csv_each(v, map_item, m);
}

static int check_protocol_map(const char *v, char *w, size_t n) {
    kb_protocol_map_t m;
    return parse_protocol_map(v, &m, w, n) ? KB_CHECK_INVALID : 0;
}

static const char *map_lookup(const kb_protocol_map_t *m, const char *name) {
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
    if (csv_each(hosts, zk_host_item, &z) != 0) return KB_CHECK_INVALID;
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
    csv_each(v, log_dir_item, &count);
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
    if (csv_each(v, policy_item, &compact) != 0) return why(w, n, "must be delete, compact or both"), KB_CHECK_INVALID;
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
    default: set_str(slot, v); break;
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
    default: set_str(slot, NULL); break;
    }
}

static void warn_unknown(kb_config_t *cfg, const char *key, const char *where) {
    for (int i = 0; i < cfg->n_unknown_keys; i++)
        if (!strcmp(cfg->unknown_keys[i], key)) return;
    char **grown = realloc(cfg->unknown_keys, sizeof(char *) * (size_t)(cfg->n_unknown_keys + 1));
    if (!grown) abort();
    cfg->unknown_keys = grown;
    cfg->unknown_keys[cfg->n_unknown_keys] = NULL;
    set_str(&cfg->unknown_keys[cfg->n_unknown_keys++], key);
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
            set_str(&cfg->written[i].value, value);
            return;
        }
    }
    kb_config_written_t *grown = realloc(cfg->written, sizeof(*grown) * (size_t)(cfg->n_written + 1));
    if (!grown) abort(); /* out of memory while configuring */
    cfg->written = grown;
    cfg->written[cfg->n_written] = (kb_config_written_t){k->name, NULL};
    set_str(&cfg->written[cfg->n_written++].value, value);
}

static int config_apply(kb_config_t *cfg, const char *key, const char *value, const char *where, char *err,
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
    return config_apply(cfg, key, value, NULL, err, errlen);
}

int kb_config_override(kb_config_t *cfg, const char *key_value, char *err, size_t errlen) {
    const char *eq = strchr(key_value, '=');
    char key[256];
    if (!eq) {
        snprintf(err, errlen, "invalid override '%s': expected key=value", key_value);
        return KB_CONFIG_INVALID;
    }
    copy_trimmed(key, sizeof(key), key_value, (size_t)(eq - key_value));
    size_t vlen = strlen(eq + 1);
    char *value = malloc(vlen + 1);
    if (!value) abort();
    copy_trimmed(value, vlen + 1, eq + 1, vlen);
    int rc = config_apply(cfg, key, value, "--override", err, errlen);
    free(value);
    return rc;
}

/* ------------------------------------------------------------------------
 * The Java properties file format
 * ------------------------------------------------------------------------ */

typedef struct {
    char *s;
    size_t len, cap;
} kb_sbuf_t;

static void sbuf_add(kb_sbuf_t *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown) abort();
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sbuf_add_utf8(kb_sbuf_t *b, unsigned cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) u[0] = (char)cp, n = 1;
    else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)),
        n = 3;
    else
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    sbuf_add(b, u, n);
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

/* Reads the 4 hex digits of a \uXXXX escape; -1 when malformed. */
static long hex4(const char *p, const char *end) {
    long cp = 0;
    if (end - p < 4) return -1;
    for (int i = 0; i < 4; i++) {
        int c = tolower((unsigned char)p[i]);
        if (!isxdigit(c)) return -1;
        cp = cp * 16 + (isdigit(c) ? c - '0' : c - 'a' + 10);
    }
    return cp;
}

/* Java's loadConvert: resolves \t \n \r \f \uXXXX and \c (= c). */
static int unescape(const char *p, const char *end, kb_sbuf_t *out) {
    out->len = 0;
    sbuf_add(out, "", 0);
    while (p < end) {
        char c = *p++;
        if (c != '\\') { sbuf_add(out, &c, 1); continue; }
        if (p == end) break;
        c = *p++;
        if (c == 'u') {
            long cp = hex4(p, end);
            if (cp < 0) return -1;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                long lo = hex4(p + 2, end);
                if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00), p += 6;
            }
            sbuf_add_utf8(out, (unsigned)cp);
            continue;
        }
        c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
        sbuf_add(out, &c, 1);
    }
    return 0;
}

/* Splits a logical line at the first unescaped '=', ':' or blank; the
 * separator may be surrounded by blanks (Java's Properties.load0). */
static void split_key_value(const char *line, size_t len, size_t *key_end, size_t *value_start) {
    size_t k = 0, v = len;
    bool escaped = false, has_sep = false;
    for (; k < len; k++) {
        char c = line[k];
        if ((c == '=' || c == ':') && !escaped) { v = k + 1; has_sep = true; break; }
        if (is_blank(c) && !escaped) { v = k + 1; break; }
        escaped = c == '\\' ? !escaped : false;
    }
    for (; v < len; v++) {
        char c = line[v];
        if (is_blank(c)) continue;
        if (!has_sep && (c == '=' || c == ':')) { has_sep = true; continue; }
        break;
    }
    *key_end = k;
    *value_start = v;
}

typedef struct {
    const char *p, *end;
    int line;
} kb_props_t;

/* The next natural line (without its terminator: \n, \r or \r\n). */
static bool next_natural(kb_props_t *r, const char **s, size_t *len) {
    if (r->p >= r->end) return false;
    const char *q = r->p;
    while (q < r->end && *q != '\n' && *q != '\r') q++;
    *s = r->p;
    *len = (size_t)(q - r->p);
    if (q < r->end && *q == '\r' && q + 1 < r->end && q[1] == '\n') q++;
    r->p = q < r->end ? q + 1 : q;
    r->line++;
    return true;
}

static size_t trailing_backslashes(const char *s, size_t len) {
    size_t n = 0;
    while (n < len && s[len - 1 - n] == '\\') n++;
    return n;
}

/* The next logical line: comments and blank lines skipped, lines ending in
 * an odd number of backslashes joined with the next one (whose leading
 * blanks are dropped).  *first is the line number it starts on. */
static bool next_logical(kb_props_t *r, kb_sbuf_t *out, int *first) {
    const char *s;
    size_t len;
    bool cont = false;
    out->len = 0;
    sbuf_add(out, "", 0);
    while (next_natural(r, &s, &len)) {
        while (len && is_blank(*s)) s++, len--;
        if (!cont) {
            if (!len || *s == '#' || *s == '!') continue;
            *first = r->line;
        } else if (!len) {
            return true;
        }
        cont = trailing_backslashes(s, len) % 2 == 1;
        sbuf_add(out, s, cont ? len - 1 : len);
        if (!cont) return true;
    }
    return cont;
}

static int apply_line(kb_config_t *cfg, const kb_sbuf_t *line, const char *where, char *err, size_t errlen) {
    size_t key_end, value_start;
    kb_sbuf_t key = {0}, value = {0};
    char reason[512];
    int rc = KB_CONFIG_INVALID;

    split_key_value(line->s, line->len, &key_end, &value_start);
    if (unescape(line->s, line->s + key_end, &key) != 0 ||
        unescape(line->s + value_start, line->s + line->len, &value) != 0) {
        snprintf(err, errlen, "%s: malformed \\uXXXX escape", where);
        goto out;
    }
    copy_trimmed(key.s, key.len + 1, key.s, key.len);
    copy_trimmed(value.s, value.len + 1, value.s, value.len);
    rc = config_apply(cfg, key.s, value.s, where, reason, sizeof(reason));
    if (rc != KB_CONFIG_OK) snprintf(err, errlen, "%s: %s", where, reason);
out:
    free(key.s);
    free(value.s);
    return rc;
}

static int read_file(const char *path, kb_sbuf_t *out, char *err, size_t errlen) {
    char chunk[65536];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (!f) return snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno)), KB_CONFIG_IO;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        sbuf_add(out, chunk, n);
        if (out->len > KB_CONFIG_MAX_FILE) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) return snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno)), KB_CONFIG_IO;
    if (out->len > KB_CONFIG_MAX_FILE) return snprintf(err, errlen, "cannot read %s: larger than 16 MiB", path), KB_CONFIG_IO;
    return KB_CONFIG_OK;
}

int kb_config_read(kb_config_t *cfg, const char *path, char *err, size_t errlen) {
    kb_sbuf_t text = {0}, line = {0};
    int rc = read_file(path, &text, err, errlen), first = 0;
    kb_props_t r = {text.s, text.s ? text.s + text.len : NULL, 0}; /* an empty file has no buffer */

    while (rc == KB_CONFIG_OK && next_logical(&r, &line, &first)) {
        char where[1100];
        snprintf(where, sizeof(where), "%s:%d", path, first);
        rc = apply_line(cfg, &line, where, err, errlen);
    }
    free(text.s);
    free(line.s);
    return rc;
}

int kb_config_load(kb_config_t *cfg, const char *path, char *err, size_t errlen) {
    kb_config_defaults(cfg);
    int rc = kb_config_read(cfg, path, err, errlen);
    return rc != KB_CONFIG_OK ? rc : kb_config_finish(cfg, err, errlen);
}

/* ------------------------------------------------------------------------
 * kb_config_finish: derived values and rules that span keys
 * ------------------------------------------------------------------------ */

static int invalid(char *err, size_t errlen, const char *key, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int invalid(char *err, size_t errlen, const char *key, const char *value, const char *fmt, ...) {
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "invalid value '%s' for %s: %s", value, key, reason);
    return KB_CONFIG_INVALID;
}

/* "host:port", with IPv6 hosts in brackets. */
static void format_host_port(char *buf, size_t n, const char *name, const char *host, int port) {
    bool v6 = strchr(host, ':') != NULL;
    snprintf(buf, n, "%.63s://%s%.255s%s:%d", name, v6 ? "[" : "", host, v6 ? "]" : "", port);
}

/* Gives each listener its security protocol; anything but PLAINTEXT is
 * refused, since kbroker would serve it in plaintext. */
static int resolve_protocols(kb_listener_t *l, int n, const kb_protocol_map_t *map, const char *key,
                             const char *text, char *err, size_t errlen) {
    for (int i = 0; i < n; i++) {
        const char *proto = map_lookup(map, l[i].name);
        if (!proto)
            return invalid(err, errlen, key, text, "no security protocol for listener %s in "
                           "listener.security.protocol.map", l[i].name);
        if (strcmp(proto, "PLAINTEXT") != 0) {
            snprintf(err, errlen, "unsupported value '%s' for %s: listener %s uses security protocol %s "
                     "(listener.security.protocol.map), which kbroker does not implement", text, key, l[i].name, proto);
            return KB_CONFIG_INVALID;
        }
        snprintf(l[i].protocol, sizeof(l[i].protocol), "%s", proto);
    }
    return KB_CONFIG_OK;
}

static int derive_listeners(kb_config_t *cfg, const kb_protocol_map_t *map, char *err, size_t errlen) {
    char legacy[512], reason[256];
    const char *text = cfg->raw.listeners;
    if (!text) {
        format_host_port(legacy, sizeof(legacy), "PLAINTEXT", cfg->raw.host_name ? cfg->raw.host_name : "",
                         cfg->raw.port);
        text = legacy;
    }
    int n = parse_listener_list(text, cfg->listeners, reason, sizeof(reason));
    if (n < 0) return invalid(err, errlen, "listeners", text, "%s", reason);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (cfg->listeners[i].port && cfg->listeners[i].port == cfg->listeners[j].port)
                return invalid(err, errlen, "listeners", text, "port %d used twice", cfg->listeners[i].port);
    cfg->n_listeners = n;
    return resolve_protocols(cfg->listeners, n, map, "listeners", text, err, errlen);
}

static bool has_listener(const kb_config_t *cfg, const char *name) {
    for (int i = 0; i < cfg->n_listeners; i++)
        if (!strcmp(cfg->listeners[i].name, name)) return true;
    return false;
}

static bool routable(const char *host) { return strcmp(host, "0.0.0.0") != 0 && strcmp(host, "::") != 0; }

/* Advertising the listeners as they are: clients cannot connect to a
 * wildcard address, so one needs advertised.listeners (Kafka refuses too). */
static int advertise_listeners(kb_config_t *cfg, char *err, size_t errlen) {
    char text[512];
    for (int i = 0; i < cfg->n_listeners; i++) {
        const kb_listener_t *l = &cfg->listeners[i];
        format_host_port(text, sizeof(text), l->name, l->host, l->port);
        if (!routable(l->host))
            return invalid(err, errlen, "listeners", text, "%s is not a routable address to advertise; set "
                           "advertised.listeners (or leave the host empty to advertise this machine's name)", l->host);
    }
    memcpy(cfg->advertised, cfg->listeners, sizeof(cfg->advertised));
    cfg->n_advertised = cfg->n_listeners;
    return KB_CONFIG_OK;
}

static int derive_advertised(kb_config_t *cfg, const kb_protocol_map_t *map, char *err, size_t errlen) {
    char legacy[512], reason[256];
    const char *text = cfg->raw.advertised_listeners;
    if (!text && !cfg->raw.advertised_host_name && cfg->raw.advertised_port == KB_CONFIG_UNSET32)
        return advertise_listeners(cfg, err, errlen);
    if (!text) {
        const char *host = cfg->raw.advertised_host_name ? cfg->raw.advertised_host_name : cfg->raw.host_name;
        int port = cfg->raw.advertised_port != KB_CONFIG_UNSET32 ? cfg->raw.advertised_port : cfg->raw.port;
        format_host_port(legacy, sizeof(legacy), "PLAINTEXT", host ? host : "", port);
        text = legacy;
    }
    int n = parse_listener_list(text, cfg->advertised, reason, sizeof(reason));
    if (n < 0) return invalid(err, errlen, "advertised.listeners", text, "%s", reason);
    cfg->n_advertised = n;
    for (int i = 0; i < n; i++) {
        const kb_listener_t *a = &cfg->advertised[i];
        if (!has_listener(cfg, a->name))
            return invalid(err, errlen, "advertised.listeners", text, "listener %s is not in listeners", a->name);
        if (!routable(a->host))
            return invalid(err, errlen, "advertised.listeners", text, "%s is not a routable address", a->host);
    }
    return resolve_protocols(cfg->advertised, n, map, "advertised.listeners", text, err, errlen);
}

static int derive_inter_broker(kb_config_t *cfg, char *err, size_t errlen) {
    char name[64];
    snprintf(name, sizeof(name), "%s", cfg->raw.inter_broker_listener_name ? cfg->raw.inter_broker_listener_name
                                                                            : "PLAINTEXT");
    upcase(name);
    if (!kb_config_advertised(cfg, name))
        return invalid(err, errlen, "inter.broker.listener.name", name, "not a listener in advertised.listeners%s",
                       cfg->raw.inter_broker_listener_name ? "" : " (the default follows security.inter.broker.protocol)");
    set_str(&cfg->inter_broker_listener_name, name);
    return KB_CONFIG_OK;
}

static int derive_network(kb_config_t *cfg, char *err, size_t errlen) {
    kb_protocol_map_t map;
    char reason[256];
    const char *text = cfg->raw.listener_security_protocol_map ? cfg->raw.listener_security_protocol_map : "";
    if (parse_protocol_map(text, &map, reason, sizeof(reason)) != 0)
        return invalid(err, errlen, "listener.security.protocol.map", text, "%s", reason);
    int rc = derive_listeners(cfg, &map, err, errlen);
    if (rc == KB_CONFIG_OK) rc = derive_advertised(cfg, &map, err, errlen);
    if (rc == KB_CONFIG_OK) rc = derive_inter_broker(cfg, err, errlen);
    return rc;
}

typedef struct {
    kb_config_t *cfg;
    const char *key, *text;
    char *err;
    size_t errlen;
} kb_dirs_ctx_t;

static int add_log_dir(const char *item, void *arg) {
    kb_dirs_ctx_t *d = arg;
    kb_config_t *cfg = d->cfg;
    for (int i = 0; i < cfg->n_log_dirs; i++)
        if (!strcmp(cfg->log_dirs[i], item))
            return invalid(d->err, d->errlen, d->key, d->text, "directory %s listed twice", item);
    if (cfg->n_log_dirs == KB_MAX_LOG_DIRS)
        return invalid(d->err, d->errlen, d->key, d->text, "more than %d directories", KB_MAX_LOG_DIRS);
    set_str(&cfg->log_dirs[cfg->n_log_dirs++], item);
    return 0;
}

static void free_log_dirs(kb_config_t *cfg) {
    for (int i = 0; i < cfg->n_log_dirs; i++) set_str(&cfg->log_dirs[i], NULL);
    cfg->n_log_dirs = 0;
}

/* log.dirs (a comma list) wins over log.dir. */
static int derive_log_dirs(kb_config_t *cfg, char *err, size_t errlen) {
    kb_dirs_ctx_t d = {cfg, cfg->raw.log_dirs ? "log.dirs" : "log.dir", cfg->raw.log_dirs, err, errlen};
    if (!d.text) d.text = cfg->raw.log_dir ? cfg->raw.log_dir : "";
    free_log_dirs(cfg);
    if (csv_each(d.text, add_log_dir, &d) != 0) return KB_CONFIG_INVALID;
    if (cfg->n_log_dirs == 0) return invalid(err, errlen, d.key, d.text, "no log directory");
    return KB_CONFIG_OK;
}

/* First set of ms, minutes, hours (Kafka's logRetentionTimeMillis). */
static int derive_retention(kb_config_t *cfg, char *err, size_t errlen) {
    const char *key = "log.retention.hours";
    int64_t ms, written = cfg->raw.log_retention_hours;
    if (cfg->raw.log_retention_ms != KB_CONFIG_UNSET64)
        key = "log.retention.ms", written = ms = cfg->raw.log_retention_ms;
    else if (cfg->raw.log_retention_minutes != KB_CONFIG_UNSET32)
        key = "log.retention.minutes", written = cfg->raw.log_retention_minutes, ms = written * 60000;
    else
        ms = written * 3600000;
    if (ms == 0) {
        char text[32];
        snprintf(text, sizeof(text), "%lld", (long long)written);
        return invalid(err, errlen, key, text, "must be -1 (unlimited) or at least 1 ms");
    }
    cfg->log_retention_ms = ms < 0 ? -1 : ms;
    return KB_CONFIG_OK;
}

/* ms wins over hours; rolls need at least 1 ms, jitter at least 0. */
static int derive_one_ms(int64_t ms, int32_t hours, const char *key, int64_t min, int64_t *out, char *err,
                         size_t errlen) {
    int64_t v = ms != KB_CONFIG_UNSET64 ? ms : (int64_t)hours * 3600000;
    if (v < min) {
        char text[32];
        snprintf(text, sizeof(text), "%lld", (long long)ms);
        return invalid(err, errlen, key, text, "must be at least %lld", (long long)min);
    }
    *out = v;
    return KB_CONFIG_OK;
}

static int derive_times(kb_config_t *cfg, char *err, size_t errlen) {
    int rc = derive_retention(cfg, err, errlen);
    if (rc == KB_CONFIG_OK)
        rc = derive_one_ms(cfg->raw.log_roll_ms, cfg->raw.log_roll_hours, "log.roll.ms", 1, &cfg->log_roll_ms, err,
                           errlen);
    if (rc == KB_CONFIG_OK)
        rc = derive_one_ms(cfg->raw.log_roll_jitter_ms, cfg->raw.log_roll_jitter_hours, "log.roll.jitter.ms", 0,
                           &cfg->log_roll_jitter_ms, err, errlen);
    cfg->log_flush_interval_ms = cfg->raw.log_flush_interval_ms != KB_CONFIG_UNSET64
                                     ? cfg->raw.log_flush_interval_ms
                                     : cfg->log_flush_scheduler_interval_ms;
    cfg->zookeeper_connection_timeout_ms = cfg->raw.zookeeper_connection_timeout_ms != KB_CONFIG_UNSET32
                                               ? cfg->raw.zookeeper_connection_timeout_ms
                                               : cfg->zookeeper_session_timeout_ms;
    return rc;
}

/* Everything derived, recomputed from cfg->raw each time. */
static int derive(kb_config_t *cfg, char *err, size_t errlen) {
    int rc = derive_network(cfg, err, errlen);
    if (rc == KB_CONFIG_OK) rc = derive_log_dirs(cfg, err, errlen);
    if (rc == KB_CONFIG_OK) rc = derive_times(cfg, err, errlen);
    return rc;
}

static int check_broker_id(const kb_config_t *cfg, char *err, size_t errlen) {
    char text[16];
    snprintf(text, sizeof(text), "%d", (int)cfg->broker_id);
    if (!cfg->broker_id_generation_enable && cfg->broker_id < 0)
        return invalid(err, errlen, "broker.id", text, "must be at least 0 when broker.id.generation.enable is false");
    if (cfg->broker_id < -1 || cfg->broker_id > cfg->reserved_broker_max_id)
        return invalid(err, errlen, "broker.id", text, "must be between -1 and reserved.broker.max.id (%d)",
                       (int)cfg->reserved_broker_max_id);
    return KB_CONFIG_OK;
}

static int check_replica_waits(const kb_config_t *cfg, char *err, size_t errlen) {
    char text[16];
    snprintf(text, sizeof(text), "%d", (int)cfg->replica_fetch_wait_max_ms);
    if (cfg->replica_fetch_wait_max_ms > cfg->replica_socket_timeout_ms)
        return invalid(err, errlen, "replica.fetch.wait.max.ms", text, "must not exceed replica.socket.timeout.ms (%d)",
                       (int)cfg->replica_socket_timeout_ms);
    if (cfg->replica_fetch_wait_max_ms > cfg->replica_lag_time_max_ms)
        return invalid(err, errlen, "replica.fetch.wait.max.ms", text, "must not exceed replica.lag.time.max.ms (%d)",
                       (int)cfg->replica_lag_time_max_ms);
    return KB_CONFIG_OK;
}

static int check_offsets_acks(const kb_config_t *cfg, char *err, size_t errlen) {
    char text[16];
    int acks = cfg->offsets_commit_required_acks;
    snprintf(text, sizeof(text), "%d", acks);
    if (acks < -1 || acks > cfg->offsets_topic_replication_factor)
        return invalid(err, errlen, "offsets.commit.required.acks", text,
                       "must be between -1 and offsets.topic.replication.factor (%d)",
                       (int)cfg->offsets_topic_replication_factor);
    return KB_CONFIG_OK;
}

static int check_rpc_port(const kb_config_t *cfg, char *err, size_t errlen) {
    char text[16];
    snprintf(text, sizeof(text), "%d", (int)cfg->rpc_port);
    for (int i = 0; cfg->rpc_port && i < cfg->n_listeners; i++)
        if (cfg->listeners[i].port == cfg->rpc_port)
            return invalid(err, errlen, "kbroker.rpc.port", text, "already used by listener %s", cfg->listeners[i].name);
    return KB_CONFIG_OK;
}

static int check_cross(const kb_config_t *cfg, char *err, size_t errlen) {
    if (!cfg->zookeeper_connect || !cfg->zookeeper_connect[0])
        return invalid(err, errlen, "zookeeper.connect", cfg->zookeeper_connect ? cfg->zookeeper_connect : "",
                       "required (host:port[,host:port...][/chroot])");
    int rc = check_broker_id(cfg, err, errlen);
    if (rc == KB_CONFIG_OK) rc = check_replica_waits(cfg, err, errlen);
    if (rc == KB_CONFIG_OK) rc = check_offsets_acks(cfg, err, errlen);
    if (rc == KB_CONFIG_OK) rc = check_rpc_port(cfg, err, errlen);
    return rc;
}

int kb_config_finish(kb_config_t *cfg, char *err, size_t errlen) {
    int rc = derive(cfg, err, errlen);
    return rc != KB_CONFIG_OK ? rc : check_cross(cfg, err, errlen);
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
    if (derive(cfg, err, sizeof(err)) != KB_CONFIG_OK) abort();
}

const kb_listener_t *kb_config_advertised(const kb_config_t *cfg, const char *name) {
    for (int i = 0; i < cfg->n_advertised; i++)
        if (!strcasecmp(cfg->advertised[i].name, name)) return &cfg->advertised[i];
    return NULL;
}

void kb_config_free(kb_config_t *cfg) {
    for (size_t i = 0; i < N_KEYS; i++) {
        const kb_config_key_t *k = &keys[i];
        if (k->offset != NOF && (k->type == KB_CT_STRING || k->type == KB_CT_LIST || k->type == KB_CT_PASSWORD))
            set_str(field_ptr(cfg, k), NULL);
    }
    free_log_dirs(cfg);
    set_str(&cfg->inter_broker_listener_name, NULL);
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
