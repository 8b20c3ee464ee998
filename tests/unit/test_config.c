/*
 * test_config.c - server.properties loading (broker/kb_config_*.c): Kafka 2.6
 * defaults, the Java properties syntax, derived values, and the three
 * loading rules (unknown key warned about, unsafe key refused, invalid
 * value rejected naming key and value).
 *
 * Each test writes its file into a fresh mkdtemp directory; warnings are
 * checked by capturing stderr, where kc_log writes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/kb_config.h"
#include "common/kc_log.h"
#include "tests/unit/unit.h"

static char tmpdir[64];
static char props_path[128];
static char log_path[128];
static int saved_stderr = -1;

/* Quiet by default: the tests that read the log lower the level. */
static void setup(void) {
    kc_log_init("kbroker", -1, KC_LOG_WARN);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/kb-test-config-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(props_path, sizeof(props_path), "%s/server.properties", tmpdir);
    snprintf(log_path, sizeof(log_path), "%s/stderr.log", tmpdir);
}

static void teardown(void) {
    unlink(props_path);
    unlink(log_path);
    rmdir(tmpdir);
}

static void write_props(const char *text) {
    FILE *f = fopen(props_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* kb_config_load: defaults, then the file, then finish. */
static int load(kb_config_t *cfg, const char *text, char *err, size_t errlen) {
    write_props(text);
    err[0] = '\0';
    return kb_config_load(cfg, props_path, err, errlen);
}

static void capture_stderr(void) {
    fflush(stderr);
    saved_stderr = dup(2);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 2);
    close(fd);
}

/* Stops capturing; returns what was written (static buffer). */
static const char *captured(void) {
    static char text[16384];
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    FILE *f = fopen(log_path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static int count_of(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

#define ZK "zookeeper.connect=localhost:2181\n"

/* Asserts the load fails with a message containing every given fragment. */
static void expect_invalid(const char *text, const char *frag1, const char *frag2) {
    kb_config_t cfg;
    char err[512];
    int rc = load(&cfg, text, err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_INVALID, "accepted: %s", text);
    ck_assert_msg(strstr(err, frag1) != NULL, "'%s' not in '%s'", frag1, err);
    if (frag2) ck_assert_msg(strstr(err, frag2) != NULL, "'%s' not in '%s'", frag2, err);
    kb_config_free(&cfg);
}

START_TEST(test_defaults_equal_kafka_2_6) {
    kb_config_t c;
    kb_config_defaults(&c);
    ck_assert_int_eq(c.broker_id, -1);
    ck_assert(c.broker_id_generation_enable);
    ck_assert_int_eq(c.reserved_broker_max_id, 1000);
    ck_assert_ptr_null(c.broker_rack);
    ck_assert_ptr_null(c.zookeeper_connect);
    ck_assert_int_eq(c.zookeeper_session_timeout_ms, 18000);
    ck_assert_int_eq(c.zookeeper_connection_timeout_ms, 18000);
    ck_assert_int_eq(c.zookeeper_max_in_flight_requests, 10);
    ck_assert_int_eq(c.n_listeners, 1);
    ck_assert_str_eq(c.listeners[0].name, "PLAINTEXT");
    ck_assert_str_eq(c.listeners[0].host, "");
    ck_assert_int_eq(c.listeners[0].port, 9092);
    ck_assert_str_eq(c.listeners[0].protocol, "PLAINTEXT");
    ck_assert_int_eq(c.n_advertised, 1);
    ck_assert_int_eq(c.advertised[0].port, 9092);
    ck_assert_str_eq(c.inter_broker_listener_name, "PLAINTEXT");
    ck_assert_int_eq(c.num_network_threads, 3);
    ck_assert_int_eq(c.num_io_threads, 8);
    ck_assert_int_eq(c.background_threads, 10);
    ck_assert_int_eq(c.queued_max_requests, 500);
    ck_assert_int_eq(c.socket_send_buffer_bytes, 102400);
    ck_assert_int_eq(c.socket_receive_buffer_bytes, 102400);
    ck_assert_int_eq(c.socket_request_max_bytes, 104857600);
    ck_assert_int_eq(c.max_connections_per_ip, 2147483647);
    ck_assert_int_eq(c.connections_max_idle_ms, 600000);
    ck_assert_int_eq(c.request_timeout_ms, 30000);
    ck_assert_int_eq(c.message_max_bytes, 1048588);
    ck_assert_int_eq(c.fetch_max_bytes, 57671680);
    ck_assert_int_eq(c.num_partitions, 1);
    ck_assert_int_eq(c.default_replication_factor, 1);
    ck_assert_int_eq(c.min_insync_replicas, 1);
    ck_assert(c.auto_create_topics_enable);
    ck_assert(c.delete_topic_enable);
    ck_assert(!c.unclean_leader_election_enable);
    ck_assert(c.auto_leader_rebalance_enable);
    ck_assert_int_eq(c.leader_imbalance_per_broker_percentage, 10);
    ck_assert_int_eq(c.leader_imbalance_check_interval_seconds, 300);
    ck_assert_int_eq(c.controller_socket_timeout_ms, 30000);
    ck_assert(c.controlled_shutdown_enable);
    ck_assert_int_eq(c.controlled_shutdown_max_retries, 3);
    ck_assert_int_eq(c.controlled_shutdown_retry_backoff_ms, 5000);
    ck_assert_int_eq(c.n_log_dirs, 1);
    ck_assert_str_eq(c.log_dirs[0], "/tmp/kafka-logs");
    ck_assert_int_eq(c.log_segment_bytes, 1073741824);
    ck_assert_int_eq(c.log_retention_ms, 168LL * 3600 * 1000);
    ck_assert_int_eq(c.log_retention_bytes, -1);
    ck_assert_int_eq(c.log_retention_check_interval_ms, 300000);
    ck_assert_int_eq(c.log_roll_ms, 168LL * 3600 * 1000);
    ck_assert_int_eq(c.log_roll_jitter_ms, 0);
    ck_assert_int_eq(c.log_index_interval_bytes, 4096);
    ck_assert_int_eq(c.log_index_size_max_bytes, 10485760);
    ck_assert_int_eq(c.log_flush_interval_messages, INT64_MAX);
    ck_assert_int_eq(c.log_flush_scheduler_interval_ms, INT64_MAX);
    ck_assert_int_eq(c.log_flush_interval_ms, INT64_MAX);
    ck_assert_int_eq(c.log_flush_offset_checkpoint_interval_ms, 60000);
    ck_assert_int_eq(c.log_flush_start_offset_checkpoint_interval_ms, 60000);
    ck_assert_int_eq(c.log_segment_delete_delay_ms, 60000);
    ck_assert(!c.log_preallocate);
    ck_assert_int_eq(c.num_recovery_threads_per_data_dir, 1);
    ck_assert_str_eq(c.log_message_timestamp_type, "CreateTime");
    ck_assert_str_eq(c.log_cleanup_policy, "delete");
    ck_assert_int_eq(c.replica_lag_time_max_ms, 30000);
    ck_assert_int_eq(c.replica_fetch_max_bytes, 1048576);
    ck_assert_int_eq(c.replica_fetch_response_max_bytes, 10485760);
    ck_assert_int_eq(c.replica_fetch_wait_max_ms, 500);
    ck_assert_int_eq(c.replica_fetch_min_bytes, 1);
    ck_assert_int_eq(c.replica_fetch_backoff_ms, 1000);
    ck_assert_int_eq(c.replica_socket_timeout_ms, 30000);
    ck_assert_int_eq(c.replica_socket_receive_buffer_bytes, 65536);
    ck_assert_int_eq(c.num_replica_fetchers, 1);
    ck_assert_int_eq(c.replica_high_watermark_checkpoint_interval_ms, 5000);
    ck_assert_int_eq(c.group_min_session_timeout_ms, 6000);
    ck_assert_int_eq(c.group_max_session_timeout_ms, 1800000);
    ck_assert_int_eq(c.group_initial_rebalance_delay_ms, 3000);
    ck_assert_int_eq(c.offset_metadata_max_bytes, 4096);
    ck_assert_int_eq(c.offsets_topic_replication_factor, 3);
    ck_assert_int_eq(c.offsets_topic_num_partitions, 50);
    ck_assert_int_eq(c.offsets_topic_segment_bytes, 104857600);
    ck_assert_int_eq(c.offsets_retention_minutes, 10080);
    ck_assert_int_eq(c.offsets_retention_check_interval_ms, 600000);
    ck_assert_int_eq(c.offsets_commit_timeout_ms, 5000);
    ck_assert_int_eq(c.offsets_commit_required_acks, -1);
    ck_assert_int_eq(c.transaction_state_log_replication_factor, 3);
    ck_assert_int_eq(c.transaction_state_log_num_partitions, 50);
    ck_assert_int_eq(c.transaction_state_log_min_isr, 2);
    ck_assert_int_eq(c.rpc_port, 0);
    ck_assert_str_eq(c.log_level, "info");
    ck_assert_ptr_null(c.metrics_listener);
    kb_config_free(&c);
}
END_TEST

/* The key=value lines of Apache Kafka 2.6's config/server.properties, with
 * its commented-out examples. */
static const char stock_2_6[] =
    "# Server basics\n"
    "broker.id=0\n"
    "\n"
    "# Socket server settings\n"
    "#listeners=PLAINTEXT://:9092\n"
    "#advertised.listeners=PLAINTEXT://your.host.name:9092\n"
    "#listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL\n"
    "num.network.threads=3\n"
    "num.io.threads=8\n"
    "socket.send.buffer.bytes=102400\n"
    "socket.receive.buffer.bytes=102400\n"
    "socket.request.max.bytes=104857600\n"
    "\n"
    "# Log basics\n"
    "log.dirs=/tmp/kafka-logs\n"
    "num.partitions=1\n"
    "num.recovery.threads.per.data.dir=1\n"
    "\n"
    "# Internal topic settings\n"
    "offsets.topic.replication.factor=1\n"
    "transaction.state.log.replication.factor=1\n"
    "transaction.state.log.min.isr=1\n"
    "\n"
    "# Log flush policy\n"
    "#log.flush.interval.messages=10000\n"
    "#log.flush.interval.ms=1000\n"
    "\n"
    "# Log retention policy\n"
    "log.retention.hours=168\n"
    "#log.retention.bytes=1073741824\n"
    "log.segment.bytes=1073741824\n"
    "log.retention.check.interval.ms=300000\n"
    "\n"
    "# Zookeeper\n"
    "zookeeper.connect=localhost:2181\n"
    "zookeeper.connection.timeout.ms=18000\n"
    "\n"
    "# Group coordinator settings\n"
    "group.initial.rebalance.delay.ms=0\n";

START_TEST(test_stock_kafka_sample_parses_without_unknown_key_warnings) {
    kb_config_t c;
    char err[512];
    capture_stderr();
    int rc = load(&c, stock_2_6, err, sizeof(err));
    const char *log = captured();
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_msg(strstr(log, "unknown key") == NULL, "%s", log);
    ck_assert_int_eq(c.n_unknown_keys, 0);
    ck_assert_int_eq(c.broker_id, 0);
    ck_assert_str_eq(c.zookeeper_connect, "localhost:2181");
    ck_assert_int_eq(c.offsets_topic_replication_factor, 1);
    ck_assert_int_eq(c.transaction_state_log_min_isr, 1);
    ck_assert_int_eq(c.group_initial_rebalance_delay_ms, 0);
    ck_assert_int_eq(c.listeners[0].port, 9092);
    kb_config_free(&c);
}
END_TEST

/* The keys of the 0.8-1.x era samples (legacy port/host.name, cleaner off). */
START_TEST(test_old_kafka_sample_keys_parse_without_unknown_key_warnings) {
    kb_config_t c;
    char err[512];
    capture_stderr();
    int rc = load(&c,
                  "broker.id=0\nport=9092\n#host.name=localhost\n#advertised.host.name=h\n#advertised.port=9092\n"
                  "num.network.threads=2\nnum.io.threads=8\nsocket.send.buffer.bytes=1048576\n"
                  "socket.receive.buffer.bytes=1048576\nsocket.request.max.bytes=104857600\n"
                  "log.dirs=/tmp/kafka-logs\nnum.partitions=2\nnum.recovery.threads.per.data.dir=1\n"
                  "log.retention.hours=168\nlog.segment.bytes=536870912\nlog.retention.check.interval.ms=60000\n"
                  "log.cleaner.enable=false\nzookeeper.connect=localhost:2181\n"
                  "zookeeper.connection.timeout.ms=6000\n#delete.topic.enable=true\n",
                  err, sizeof(err));
    const char *log = captured();
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_msg(strstr(log, "unknown key") == NULL, "%s", log);
    ck_assert_int_eq(c.zookeeper_connection_timeout_ms, 6000);
    kb_config_free(&c);
}
END_TEST

START_TEST(test_legacy_port_and_host_name_make_the_listener) {
    kb_config_t c;
    char err[512];
    int rc = load(&c, ZK "host.name=10.0.0.5\nport=9093\n", err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_int_eq(c.n_listeners, 1);
    ck_assert_str_eq(c.listeners[0].name, "PLAINTEXT");
    ck_assert_str_eq(c.listeners[0].host, "10.0.0.5");
    ck_assert_int_eq(c.listeners[0].port, 9093);
    ck_assert_str_eq(c.advertised[0].host, "10.0.0.5");
    ck_assert_int_eq(c.advertised[0].port, 9093);
    kb_config_free(&c);
}
END_TEST

START_TEST(test_legacy_port_is_ignored_when_listeners_are_set) {
    kb_config_t c;
    char err[512];
    int rc = load(&c, ZK "port=9999\nlisteners=PLAINTEXT://:9092\n", err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_int_eq(c.listeners[0].port, 9092);
    kb_config_free(&c);
}
END_TEST

START_TEST(test_legacy_ipv6_host_name_is_bracketed_in_the_listener) {
    kb_config_t c;
    char err[512];
    int rc = load(&c, ZK "host.name=::1\nport=9094\n", err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_str_eq(c.listeners[0].host, "::1");
    ck_assert_int_eq(c.listeners[0].port, 9094);
    kb_config_free(&c);
}
END_TEST

START_TEST(test_ipv6_listener_hosts_are_written_in_brackets) {
    kb_config_t c;
    char err[512];
    int rc = load(&c, ZK "listeners=PLAINTEXT://[::1]:9092,internal://[fe80::1%eth0]:9093\n"
                  "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT\n", err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_int_eq(c.n_listeners, 2);
    ck_assert_str_eq(c.listeners[0].host, "::1");
    ck_assert_str_eq(c.listeners[1].name, "INTERNAL");
    ck_assert_str_eq(c.listeners[1].host, "fe80::1%eth0");
    ck_assert_int_eq(c.listeners[1].port, 9093);
    kb_config_free(&c);
}
END_TEST

START_TEST(test_advertised_listeners_default_to_listeners) {
    kb_config_t c;
    char err[512];
    int rc = load(&c, ZK "listeners=PLAINTEXT://broker1.example:9092\n", err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_int_eq(c.n_advertised, 1);
    ck_assert_str_eq(c.advertised[0].host, "broker1.example");
    ck_assert_int_eq(c.advertised[0].port, 9092);
    ck_assert_ptr_nonnull(kb_config_advertised(&c, "PLAINTEXT"));
    ck_assert_ptr_null(kb_config_advertised(&c, "EXTERNAL"));
    kb_config_free(&c);
}
END_TEST

START_TEST(test_legacy_advertised_host_and_port_make_the_advertised_listener) {
    kb_config_t c;
    char err[512];
    int rc = load(&c, ZK "port=9095\nadvertised.host.name=public.example\n", err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_str_eq(c.listeners[0].host, "");
    ck_assert_str_eq(c.advertised[0].host, "public.example");
    ck_assert_int_eq(c.advertised[0].port, 9095);
    kb_config_free(&c);
    rc = load(&c, ZK "host.name=inner\nadvertised.port=19092\n", err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_str_eq(c.advertised[0].host, "inner");
    ck_assert_int_eq(c.advertised[0].port, 19092);
    kb_config_free(&c);
}
END_TEST

START_TEST(test_advertised_listener_not_in_listeners_is_invalid) {
    expect_invalid(ZK "listeners=PLAINTEXT://:9092\nadvertised.listeners=PLAINTEXT://h:9092,EXTERNAL://h:9093\n"
                   "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT\n",
                   "advertised.listeners", "EXTERNAL is not in listeners");
    expect_invalid(ZK "advertised.listeners=PLAINTEXT://0.0.0.0:9092\n", "invalid value 'PLAINTEXT://0.0.0.0:9092' "
                   "for advertised.listeners", "routable");
}

/* The RPC frame limit covers a fetch response plus one batch. */
START_TEST(test_rpc_max_frame_is_derived_from_the_fetch_limits) {
    kb_config_t cfg;
    char err[512];
    ck_assert_int_eq(load(&cfg, ZK, err, sizeof(err)), KB_CONFIG_OK);
    ck_assert_int_eq(cfg.rpc_max_frame_bytes, 16 * 1024 * 1024); /* 10 MiB + 1 MiB + 1 MiB < 16 MiB */
    ck_assert_int_eq(cfg.rpc_reconnect_backoff_ms, 100);
    ck_assert_int_eq(cfg.rpc_reconnect_backoff_max_ms, 1000);
    kb_config_free(&cfg);
    ck_assert_int_eq(load(&cfg, ZK "replica.fetch.response.max.bytes=20971520\nmessage.max.bytes=2097152\n", err,
                          sizeof(err)),
                     KB_CONFIG_OK);
    ck_assert_int_eq(cfg.rpc_max_frame_bytes, 20971520 + 2097152 + 1048576);
    kb_config_free(&cfg);
    ck_assert_int_eq(load(&cfg, ZK "kbroker.rpc.max.frame.bytes=11534348\n", err, sizeof(err)), KB_CONFIG_OK);
    ck_assert_int_eq(cfg.rpc_max_frame_bytes, 10485760 + 1048588);
    kb_config_free(&cfg);
}
END_TEST

START_TEST(test_rpc_max_frame_below_the_fetch_limits_is_invalid) {
    expect_invalid(ZK "kbroker.rpc.max.frame.bytes=11534347\n", "kbroker.rpc.max.frame.bytes",
                   "replica.fetch.response.max.bytes + message.max.bytes");
    expect_invalid(ZK "kbroker.rpc.reconnect.backoff.ms=500\nkbroker.rpc.reconnect.backoff.max.ms=100\n",
                   "kbroker.rpc.reconnect.backoff.max.ms", "at least kbroker.rpc.reconnect.backoff.ms");
}
END_TEST

START_TEST(test_wildcard_listener_needs_advertised_listeners) {
    kb_config_t c;
    char err[512];
    expect_invalid(ZK "listeners=PLAINTEXT://0.0.0.0:9092\n", "invalid value 'PLAINTEXT://0.0.0.0:9092' for listeners",
                   "set advertised.listeners");
    int rc = load(&c, ZK "listeners=PLAINTEXT://0.0.0.0:9092\nadvertised.listeners=PLAINTEXT://b1.example:9092\n", err,
                  sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_str_eq(c.listeners[0].host, "0.0.0.0");
    ck_assert_str_eq(c.advertised[0].host, "b1.example");
    kb_config_free(&c);
}
END_TEST
END_TEST

START_TEST(test_invalid_integer_names_key_and_value) {
    expect_invalid(ZK "num.partitions=abc\n", "invalid value 'abc' for num.partitions: not an integer", NULL);
    expect_invalid(ZK "log.retention.bytes=1e9\n", "invalid value '1e9' for log.retention.bytes: not an integer", NULL);
    expect_invalid(ZK "broker.id=\n", "invalid value '' for broker.id: not an integer", NULL);
}
END_TEST

START_TEST(test_out_of_range_integer_names_key_and_value) {
    expect_invalid(ZK "num.partitions=0\n", "invalid value '0' for num.partitions: must be at least 1", NULL);
    expect_invalid(ZK "port=70000\n", "invalid value '70000' for port: must be between 0 and 65535", NULL);
    expect_invalid(ZK "log.segment.bytes=3000000000\n", "invalid value '3000000000' for log.segment.bytes", "32-bit");
    expect_invalid(ZK "offsets.topic.replication.factor=40000\n", "'40000' for offsets.topic.replication.factor",
                   "16-bit");
    expect_invalid(ZK "log.retention.ms=99999999999999999999\n", "for log.retention.ms", "64-bit");
    expect_invalid(ZK "broker.id=2000\n", "invalid value '2000' for broker.id", "reserved.broker.max.id");
    expect_invalid(ZK "broker.id.generation.enable=false\n", "invalid value '-1' for broker.id", NULL);
}
END_TEST

START_TEST(test_invalid_boolean_names_key_and_value) {
    expect_invalid(ZK "auto.create.topics.enable=yes\n",
                   "invalid value 'yes' for auto.create.topics.enable: not true or false", NULL);
}
END_TEST

START_TEST(test_invalid_double_names_key_and_value) {
    expect_invalid(ZK "log.cleaner.min.cleanable.ratio=half\n",
                   "invalid value 'half' for log.cleaner.min.cleanable.ratio: not a number", NULL);
}
END_TEST

START_TEST(test_invalid_choice_names_key_and_value) {
    expect_invalid(ZK "log.message.timestamp.type=WallClock\n",
                   "invalid value 'WallClock' for log.message.timestamp.type", "CreateTime, LogAppendTime");
    expect_invalid(ZK "kbroker.log.level=verbose\n", "invalid value 'verbose' for kbroker.log.level", NULL);
    expect_invalid(ZK "compression.type=brotli\n", "invalid value 'brotli' for compression.type", NULL);
    expect_invalid(ZK "inter.broker.protocol.version=latest\n",
                   "invalid value 'latest' for inter.broker.protocol.version", NULL);
    expect_invalid(ZK "log.cleanup.policy=archive\n", "invalid value 'archive' for log.cleanup.policy", NULL);
}
END_TEST

START_TEST(test_malformed_listener_names_key_and_value) {
    expect_invalid(ZK "listeners=localhost:9092\n", "invalid value 'localhost:9092' for listeners", NULL);
    expect_invalid(ZK "listeners=PLAINTEXT://host\n", "invalid value 'PLAINTEXT://host' for listeners", NULL);
    expect_invalid(ZK "listeners=PLAINTEXT://:99999\n", "invalid value 'PLAINTEXT://:99999' for listeners",
                   "0-65535");
    expect_invalid(ZK "listeners=PLAINTEXT://:9092,PLAINTEXT://:9093\n", "for listeners",
                   "duplicate listener name PLAINTEXT");
    expect_invalid(ZK "listeners=PLAINTEXT://:9092,INTERNAL://:9092\n"
                   "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT\n",
                   "for listeners", "port 9092 used twice");
    expect_invalid(ZK "listeners=CLIENT://:9092\n", "for listeners", "no security protocol for listener CLIENT");
    expect_invalid(ZK "listener.security.protocol.map=PLAINTEXT:TLS\n",
                   "invalid value 'PLAINTEXT:TLS' for listener.security.protocol.map", NULL);
}
END_TEST

START_TEST(test_zookeeper_connect_missing_or_malformed_is_invalid) {
    expect_invalid("broker.id=1\n", "for zookeeper.connect", "required");
    expect_invalid("zookeeper.connect=\n", "invalid value '' for zookeeper.connect", NULL);
    expect_invalid("zookeeper.connect=zk1:abc\n", "invalid value 'zk1:abc' for zookeeper.connect", NULL);
    expect_invalid("zookeeper.connect=zk1:2181/kafka/\n", "invalid value 'zk1:2181/kafka/' for zookeeper.connect",
                   "chroot");
}
END_TEST

START_TEST(test_zookeeper_connect_with_chroot_and_ipv6_is_accepted) {
    kb_config_t c;
    char err[512];
    int rc = load(&c, "zookeeper.connect=zk1:2181,zk2,[::1]:2182/kafka/prod\n", err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_str_eq(c.zookeeper_connect, "zk1:2181,zk2,[::1]:2182/kafka/prod");
    kb_config_free(&c);
}
END_TEST

START_TEST(test_ssl_listener_is_refused_naming_the_key) {
    expect_invalid(ZK "listeners=PLAINTEXT://:9092,SSL://:9093\n", "unsupported value 'PLAINTEXT://:9092,SSL://:9093' "
                   "for listeners", "security protocol SSL");
    expect_invalid(ZK "listeners=SASL_PLAINTEXT://:9092\n", "for listeners", "SASL_PLAINTEXT");
}
END_TEST

START_TEST(test_listener_mapped_to_sasl_ssl_is_refused_naming_the_key) {
    expect_invalid(ZK "listeners=EXTERNAL://:9092\nlistener.security.protocol.map=EXTERNAL:SASL_SSL\n",
                   "for listeners", "listener.security.protocol.map");
}
END_TEST

START_TEST(test_unsafe_unimplemented_settings_are_refused_naming_the_key) {
    static const char *const cases[][2] = {
        {"authorizer.class.name=kafka.security.authorizer.AclAuthorizer\n", "for authorizer.class.name"},
        {"security.inter.broker.protocol=SSL\n", "unsupported value 'SSL' for security.inter.broker.protocol"},
        {"zookeeper.set.acl=true\n", "unsupported value 'true' for zookeeper.set.acl"},
        {"zookeeper.ssl.client.enable=true\n", "unsupported value 'true' for zookeeper.ssl.client.enable"},
        {"log.cleanup.policy=delete,compact\n", "unsupported value 'delete,compact' for log.cleanup.policy"},
        {"ssl.client.auth=required\n", "unsupported value 'required' for ssl.client.auth"},
        {"create.topic.policy.class.name=com.example.Policy\n", "for create.topic.policy.class.name"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), ZK "%s", cases[i][0]);
        expect_invalid(text, cases[i][1], NULL);
    }
}
END_TEST

START_TEST(test_safe_values_of_refusable_keys_are_accepted) {
    kb_config_t c;
    char err[512];
    int rc = load(&c, ZK "authorizer.class.name=\nzookeeper.set.acl=false\nssl.client.auth=none\n"
                  "log.cleanup.policy=delete\nsecurity.inter.broker.protocol=PLAINTEXT\n"
                  "ssl.keystore.password=secret\n", err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    kb_config_free(&c);
}
END_TEST

START_TEST(test_unknown_key_warns_once_and_is_ignored) {
    kb_config_t c;
    char err[512];
    capture_stderr();
    int rc = load(&c, ZK "confluent.support.metrics.enable=false\nnum.partitions=4\n"
                  "confluent.support.metrics.enable=true\n", err, sizeof(err));
    const char *log = captured();
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_int_eq(count_of(log, "confluent.support.metrics.enable"), 1);
    ck_assert_ptr_nonnull(strstr(log, "WARN"));
    ck_assert_ptr_nonnull(strstr(log, "server.properties:2"));
    ck_assert_int_eq(c.n_unknown_keys, 1);
    ck_assert_int_eq(c.num_partitions, 4);
    kb_config_free(&c);
}
END_TEST

START_TEST(test_unused_key_with_non_default_value_is_reported_at_info) {
    kb_config_t c;
    char err[512];
    kc_log_init("kbroker", -1, KC_LOG_INFO);
    capture_stderr();
    int rc = load(&c, ZK "background.threads=16\nnum.network.threads=3\n", err, sizeof(err));
    const char *log = captured();
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_ptr_nonnull(strstr(log, "background.threads is accepted but not yet used"));
    ck_assert_ptr_null(strstr(log, "num.network.threads"));
    ck_assert_int_eq(c.background_threads, 16);
    kb_config_free(&c);
}
END_TEST

/* The worker threads and the decompression cap (issue 8, item 4). */
START_TEST(test_worker_threads_and_decompression_cap_are_used) {
    kb_config_t c;
    char err[512];
    kc_log_init("kbroker", -1, KC_LOG_INFO);
    capture_stderr();
    int rc = load(&c, ZK "num.io.threads=3\nkbroker.batch.decompressed.max.bytes=1000000\n", err, sizeof(err));
    const char *log = captured();
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_ptr_null(strstr(log, "num.io.threads"));
    ck_assert_ptr_null(strstr(log, "kbroker.batch.decompressed.max.bytes"));
    ck_assert_int_eq(c.num_io_threads, 3);
    ck_assert_int_eq(c.batch_decompressed_max_bytes, 1000000);
    kb_config_free(&c);
    ck_assert_int_eq(load(&c, ZK, err, sizeof(err)), KB_CONFIG_OK);
    ck_assert_int_eq(c.batch_decompressed_max_bytes, 64 << 20);
    kb_config_free(&c);
    ck_assert_int_ne(load(&c, ZK "kbroker.batch.decompressed.max.bytes=0\n", err, sizeof(err)), KB_CONFIG_OK);
    ck_assert_ptr_nonnull(strstr(err, "kbroker.batch.decompressed.max.bytes"));
    kb_config_free(&c);
}
END_TEST

START_TEST(test_continuation_lines_are_joined) {
    kb_config_t c;
    char err[512];
    int rc = load(&c,
                  "zookeeper.connect=zk1:2181,\\\n"
                  "                  zk2:2181,\\\r\n"
                  "\tzk3:2181/kafka\n"
                  "listeners = PLAINTEXT://:9092,\\\n"
                  "    INTERNAL://127.0.0.1:9093\n"
                  "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT\n"
                  "# a comment line ending in a backslash does not continue \\\n"
                  "num.partitions=7\n"
                  "log.dirs=/data/a,\\\n"
                  "\n"
                  "num.io.threads=9\n",
                  err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_str_eq(c.zookeeper_connect, "zk1:2181,zk2:2181,zk3:2181/kafka");
    ck_assert_int_eq(c.n_listeners, 2);
    ck_assert_str_eq(c.listeners[1].host, "127.0.0.1");
    ck_assert_int_eq(c.num_partitions, 7);
    ck_assert_int_eq(c.n_log_dirs, 1);
    ck_assert_str_eq(c.log_dirs[0], "/data/a");
    ck_assert_int_eq(c.num_io_threads, 9);
    kb_config_free(&c);
}
END_TEST

START_TEST(test_separators_comments_and_escapes_follow_java_properties) {
    kb_config_t c;
    char err[512];
    int rc = load(&c,
                  "! bang comment\n"
                  "   # indented comment\n"
                  "zookeeper.connect : localhost:2181\n"
                  "num.partitions 5\n"
                  "default.replication.factor\t=\t2   \n"
                  "broker.rack=rack\\u0041\\tx\n"
                  "log.dirs=/data/with\\\\backslash\n"
                  "\\u006bbroker.log.level=debug\n",
                  err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_str_eq(c.zookeeper_connect, "localhost:2181");
    ck_assert_int_eq(c.num_partitions, 5);
    ck_assert_int_eq(c.default_replication_factor, 2);
    ck_assert_str_eq(c.broker_rack, "rackA\tx");
    ck_assert_str_eq(c.log_dirs[0], "/data/with\\backslash");
    ck_assert_str_eq(c.log_level, "debug");
    kb_config_free(&c);
}
END_TEST

START_TEST(test_malformed_unicode_escape_is_invalid) {
    expect_invalid(ZK "broker.rack=\\u00zz\n", "server.properties:2", "\\uXXXX");
}
END_TEST

START_TEST(test_errors_name_file_and_line) {
    expect_invalid(ZK "# comment\n\nnum.partitions=x\n", "server.properties:4: invalid value 'x' for num.partitions",
                   NULL);
}
END_TEST

START_TEST(test_missing_file_is_an_io_error) {
    kb_config_t c;
    char err[512];
    ck_assert_int_eq(kb_config_load(&c, "/nonexistent/kbroker/server.properties", err, sizeof(err)), KB_CONFIG_IO);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/kbroker/server.properties"));
    kb_config_free(&c);
}
END_TEST

START_TEST(test_overrides_win_over_the_file) {
    kb_config_t c;
    char err[512];
    ck_assert_int_eq(load(&c, ZK "num.partitions=3\nlog.retention.hours=24\nport=9092\n", err, sizeof(err)),
                     KB_CONFIG_OK);
    ck_assert_int_eq(kb_config_override(&c, "num.partitions=6", err, sizeof(err)), KB_CONFIG_OK);
    ck_assert_int_eq(kb_config_override(&c, " log.retention.hours = 48 ", err, sizeof(err)), KB_CONFIG_OK);
    ck_assert_int_eq(kb_config_set(&c, "port", "9099", err, sizeof(err)), KB_CONFIG_OK);
    ck_assert_int_eq(kb_config_finish(&c, err, sizeof(err)), KB_CONFIG_OK);
    ck_assert_int_eq(c.num_partitions, 6);
    ck_assert_int_eq(c.log_retention_ms, 48LL * 3600 * 1000);
    ck_assert_int_eq(c.listeners[0].port, 9099);
    ck_assert_int_eq(c.advertised[0].port, 9099);
    kb_config_free(&c);
}
END_TEST

START_TEST(test_read_then_overrides_then_finish) {
    kb_config_t c;
    char err[512];
    write_props("num.partitions=3\n");
    kb_config_defaults(&c);
    ck_assert_int_eq(kb_config_read(&c, props_path, err, sizeof(err)), KB_CONFIG_OK);
    ck_assert_int_eq(kb_config_override(&c, "zookeeper.connect=zk:2181", err, sizeof(err)), KB_CONFIG_OK);
    ck_assert_msg(kb_config_finish(&c, err, sizeof(err)) == KB_CONFIG_OK, "%s", err);
    ck_assert_int_eq(c.num_partitions, 3);
    ck_assert_str_eq(c.zookeeper_connect, "zk:2181");
    kb_config_free(&c);
}
END_TEST

START_TEST(test_invalid_override_names_key_and_value) {
    kb_config_t c;
    char err[512];
    kb_config_defaults(&c);
    ck_assert_int_eq(kb_config_override(&c, "num.partitions=many", err, sizeof(err)), KB_CONFIG_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "invalid value 'many' for num.partitions"));
    ck_assert_int_eq(c.num_partitions, 1);
    ck_assert_int_eq(kb_config_override(&c, "num.partitions", err, sizeof(err)), KB_CONFIG_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "num.partitions"));
    kb_config_free(&c);
}
END_TEST

START_TEST(test_retention_is_resolved_from_ms_then_minutes_then_hours) {
    kb_config_t c;
    char err[512];
    ck_assert_int_eq(load(&c, ZK "log.retention.hours=1\nlog.retention.minutes=30\n", err, sizeof(err)), 0);
    ck_assert_int_eq(c.log_retention_ms, 30LL * 60 * 1000);
    kb_config_free(&c);
    ck_assert_int_eq(load(&c, ZK "log.retention.minutes=30\nlog.retention.ms=1234\n", err, sizeof(err)), 0);
    ck_assert_int_eq(c.log_retention_ms, 1234);
    kb_config_free(&c);
    ck_assert_int_eq(load(&c, ZK "log.retention.hours=-5\n", err, sizeof(err)), 0);
    ck_assert_int_eq(c.log_retention_ms, -1);
    kb_config_free(&c);
    expect_invalid(ZK "log.retention.ms=0\n", "invalid value '0' for log.retention.ms", NULL);
    expect_invalid(ZK "log.retention.minutes=0\n", "invalid value '0' for log.retention.minutes", NULL);
}
END_TEST

START_TEST(test_roll_and_flush_intervals_are_resolved) {
    kb_config_t c;
    char err[512];
    ck_assert_int_eq(load(&c, ZK "log.roll.hours=2\nlog.roll.jitter.hours=1\nlog.flush.scheduler.interval.ms=3000\n",
                          err, sizeof(err)), 0);
    ck_assert_int_eq(c.log_roll_ms, 2LL * 3600 * 1000);
    ck_assert_int_eq(c.log_roll_jitter_ms, 3600LL * 1000);
    ck_assert_int_eq(c.log_flush_interval_ms, 3000);
    kb_config_free(&c);
    ck_assert_int_eq(load(&c, ZK "log.roll.hours=2\nlog.roll.ms=60000\nlog.flush.interval.ms=1000\n", err,
                          sizeof(err)), 0);
    ck_assert_int_eq(c.log_roll_ms, 60000);
    ck_assert_int_eq(c.log_flush_interval_ms, 1000);
    kb_config_free(&c);
    expect_invalid(ZK "log.roll.ms=0\n", "invalid value '0' for log.roll.ms", NULL);
}
END_TEST

START_TEST(test_log_dirs_default_from_log_dir) {
    kb_config_t c;
    char err[512];
    ck_assert_int_eq(load(&c, ZK "log.dir=/srv/kafka\n", err, sizeof(err)), 0);
    ck_assert_int_eq(c.n_log_dirs, 1);
    ck_assert_str_eq(c.log_dirs[0], "/srv/kafka");
    kb_config_free(&c);
    ck_assert_int_eq(load(&c, ZK "log.dir=/srv/kafka\nlog.dirs=/d1, /d2 ,/d3\n", err, sizeof(err)), 0);
    ck_assert_int_eq(c.n_log_dirs, 3);
    ck_assert_str_eq(c.log_dirs[1], "/d2");
    kb_config_free(&c);
    expect_invalid(ZK "log.dirs=/d1,/d1\n", "invalid value '/d1,/d1' for log.dirs", "twice");
    expect_invalid(ZK "log.dirs= , \n", "invalid value ',' for log.dirs", "no log directory");
}
END_TEST

START_TEST(test_zookeeper_connection_timeout_defaults_to_session_timeout) {
    kb_config_t c;
    char err[512];
    ck_assert_int_eq(load(&c, ZK "zookeeper.session.timeout.ms=6000\n", err, sizeof(err)), 0);
    ck_assert_int_eq(c.zookeeper_connection_timeout_ms, 6000);
    kb_config_free(&c);
}
END_TEST

START_TEST(test_named_listeners_use_the_protocol_map) {
    kb_config_t c;
    char err[512];
    int rc = load(&c, ZK "listeners=CLIENT://:9092,REPLICATION://10.0.0.1:9093\n"
                  "advertised.listeners=CLIENT://kafka.example:9092,REPLICATION://10.0.0.1:9093\n"
                  "listener.security.protocol.map=CLIENT:PLAINTEXT,REPLICATION:PLAINTEXT\n"
                  "inter.broker.listener.name=replication\n", err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_str_eq(c.listeners[0].protocol, "PLAINTEXT");
    ck_assert_str_eq(c.inter_broker_listener_name, "REPLICATION");
    ck_assert_str_eq(kb_config_advertised(&c, "CLIENT")->host, "kafka.example");
    kb_config_free(&c);
}
END_TEST

/* The RPC port goes with the inter-broker listener: bound where it is
 * bound, published as it is advertised, whatever the listeners' order. */
START_TEST(test_the_rpc_port_is_bound_and_published_with_the_inter_broker_listener) {
    kb_config_t c;
    char err[512];
    int rc = load(&c, ZK "listeners=CLIENT://0.0.0.0:9092,REPLICATION://10.0.0.1:9093\n"
                  "advertised.listeners=CLIENT://kafka.example:9092,REPLICATION://10.0.0.1:9093\n"
                  "listener.security.protocol.map=CLIENT:PLAINTEXT,REPLICATION:PLAINTEXT\n"
                  "inter.broker.listener.name=REPLICATION\n", err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_str_eq(kb_config_rpc_bind_host(&c), "10.0.0.1");
    ck_assert_str_eq(kb_config_rpc_advertised_host(&c), "10.0.0.1");
    kb_config_free(&c);
    /* The advertised listeners in another order than the bound ones. */
    rc = load(&c, ZK "listeners=INTERNAL://127.0.0.1:9093,CLIENT://:9092\n"
              "advertised.listeners=CLIENT://kafka.example:9092,INTERNAL://127.0.0.1:9093\n"
              "listener.security.protocol.map=CLIENT:PLAINTEXT,INTERNAL:PLAINTEXT\n"
              "inter.broker.listener.name=INTERNAL\n", err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_str_eq(kb_config_rpc_bind_host(&c), "127.0.0.1");
    ck_assert_str_eq(kb_config_rpc_advertised_host(&c), "127.0.0.1");
    kb_config_free(&c);
    /* One listener (the usual case): its hosts, "" binding every interface. */
    rc = load(&c, ZK "listeners=PLAINTEXT://:9092\nadvertised.listeners=PLAINTEXT://kafka.example:9092\n", err,
              sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_str_eq(kb_config_rpc_bind_host(&c), "");
    ck_assert_str_eq(kb_config_rpc_advertised_host(&c), "kafka.example");
    kb_config_free(&c);
}
END_TEST

START_TEST(test_inter_broker_listener_must_be_advertised) {
    expect_invalid(ZK "listeners=CLIENT://:9092\nlistener.security.protocol.map=CLIENT:PLAINTEXT\n",
                   "invalid value 'PLAINTEXT' for inter.broker.listener.name", "advertised.listeners");
}
END_TEST

START_TEST(test_kbroker_keys_are_read) {
    kb_config_t c;
    char err[512];
    int rc = load(&c, ZK "kbroker.rpc.port=9192\nkbroker.log.level=warn\nkbroker.metrics.listener=127.0.0.1:9308\n",
                  err, sizeof(err));
    ck_assert_msg(rc == KB_CONFIG_OK, "%s", err);
    ck_assert_int_eq(c.rpc_port, 9192);
    ck_assert_str_eq(c.log_level, "warn");
    ck_assert_str_eq(c.metrics_listener, "127.0.0.1:9308");
    kb_config_free(&c);
    expect_invalid(ZK "kbroker.metrics.listener=9308\n", "invalid value '9308' for kbroker.metrics.listener", NULL);
    expect_invalid(ZK "kbroker.rpc.port=9092\n", "invalid value '9092' for kbroker.rpc.port", "PLAINTEXT");
}
END_TEST

START_TEST(test_long_millisecond_values_are_capped_to_int32) {
    kb_config_t c;
    char err[512];
    ck_assert_int_eq(load(&c, ZK "connections.max.idle.ms=9223372036854775807\n", err, sizeof(err)), 0);
    ck_assert_int_eq(c.connections_max_idle_ms, INT32_MAX);
    kb_config_free(&c);
}
END_TEST

START_TEST(test_cross_key_replica_rules_are_checked) {
    expect_invalid(ZK "replica.fetch.wait.max.ms=40000\n", "invalid value '40000' for replica.fetch.wait.max.ms",
                   "replica.socket.timeout.ms");
    expect_invalid(ZK "offsets.topic.replication.factor=1\noffsets.commit.required.acks=2\n",
                   "invalid value '2' for offsets.commit.required.acks", NULL);
}
END_TEST

static void add(Suite *s, const char *name, const TTest *t) {
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, t);
    suite_add_tcase(s, tc);
}

/* One test case per behaviour, named after it. */
#define ADD(s, t) add(s, #t, t)

Suite *config_suite(void) {
    Suite *s = suite_create("config");
    ADD(s, test_defaults_equal_kafka_2_6);
    ADD(s, test_stock_kafka_sample_parses_without_unknown_key_warnings);
    ADD(s, test_old_kafka_sample_keys_parse_without_unknown_key_warnings);
    ADD(s, test_legacy_port_and_host_name_make_the_listener);
    ADD(s, test_legacy_port_is_ignored_when_listeners_are_set);
    ADD(s, test_legacy_ipv6_host_name_is_bracketed_in_the_listener);
    ADD(s, test_ipv6_listener_hosts_are_written_in_brackets);
    ADD(s, test_advertised_listeners_default_to_listeners);
    ADD(s, test_legacy_advertised_host_and_port_make_the_advertised_listener);
    ADD(s, test_advertised_listener_not_in_listeners_is_invalid);
    ADD(s, test_rpc_max_frame_is_derived_from_the_fetch_limits);
    ADD(s, test_rpc_max_frame_below_the_fetch_limits_is_invalid);
    ADD(s, test_wildcard_listener_needs_advertised_listeners);
    ADD(s, test_invalid_integer_names_key_and_value);
    ADD(s, test_out_of_range_integer_names_key_and_value);
    ADD(s, test_invalid_boolean_names_key_and_value);
    ADD(s, test_invalid_double_names_key_and_value);
    ADD(s, test_invalid_choice_names_key_and_value);
    ADD(s, test_malformed_listener_names_key_and_value);
    ADD(s, test_zookeeper_connect_missing_or_malformed_is_invalid);
    ADD(s, test_zookeeper_connect_with_chroot_and_ipv6_is_accepted);
    ADD(s, test_zookeeper_connection_timeout_defaults_to_session_timeout);
    ADD(s, test_ssl_listener_is_refused_naming_the_key);
    ADD(s, test_listener_mapped_to_sasl_ssl_is_refused_naming_the_key);
    ADD(s, test_unsafe_unimplemented_settings_are_refused_naming_the_key);
    ADD(s, test_safe_values_of_refusable_keys_are_accepted);
    ADD(s, test_unknown_key_warns_once_and_is_ignored);
    ADD(s, test_unused_key_with_non_default_value_is_reported_at_info);
    ADD(s, test_worker_threads_and_decompression_cap_are_used);
    ADD(s, test_continuation_lines_are_joined);
    ADD(s, test_separators_comments_and_escapes_follow_java_properties);
    ADD(s, test_malformed_unicode_escape_is_invalid);
    ADD(s, test_errors_name_file_and_line);
    ADD(s, test_missing_file_is_an_io_error);
    ADD(s, test_overrides_win_over_the_file);
    ADD(s, test_read_then_overrides_then_finish);
    ADD(s, test_invalid_override_names_key_and_value);
    ADD(s, test_retention_is_resolved_from_ms_then_minutes_then_hours);
    ADD(s, test_roll_and_flush_intervals_are_resolved);
    ADD(s, test_log_dirs_default_from_log_dir);
    ADD(s, test_named_listeners_use_the_protocol_map);
    ADD(s, test_inter_broker_listener_must_be_advertised);
    ADD(s, test_the_rpc_port_is_bound_and_published_with_the_inter_broker_listener);
    ADD(s, test_long_millisecond_values_are_capped_to_int32);
    ADD(s, test_cross_key_replica_rules_are_checked);
    ADD(s, test_kbroker_keys_are_read);
    return s;
}
