/*
 * kbroker_admin_kafka.h - what the two Kafka front ends of kbroker-admin
 * (kafka-topics, kafka-configs) share: Kafka's way of refusing a command
 * line (the message, then the tool's usage, on stderr, exit 1), the
 * connection to the brokers for --bootstrap-server, and small parsing
 * helpers with Kafka's rules.
 */
#ifndef KBROKER_ADMIN_KAFKA_H
#define KBROKER_ADMIN_KAFKA_H

#include <stdbool.h>

#include "client/kcl_admin.h"
#include "client/kcl_error.h"
#include "coord/kbroker_admin.h"

/* Kafka's tools exit 1 on any failure. */
#define KAFKA_EXIT_FAILED 1

/* Prints the message and then usage on stderr, as Kafka's
 * CommandLineUtils.printUsageAndDie does; returns KAFKA_EXIT_FAILED. */
int kafka_usage_die(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message getopt_long's '?' or ':' answer c stands for ("foo is not a
 * recognized option", "Option topic requires an argument"), with usage. */
int kafka_option_error(const char *usage, int c, char **argv);

/* How a front end words a libkclient failure: its message alone, or as
 * the exception Kafka's admin client raises for it, class name first
 * (kcl_exception_text(): what an ExecutionException left unwrapped
 * prints). */
typedef enum { KAFKA_CLIENT_MESSAGE, KAFKA_CLIENT_EXCEPTION } kafka_client_words_t;

/* Opens the brokers' session for --bootstrap-server within a->timeout_s;
 * a failure is printed (fail(), worded as `words` says) and returns
 * KAFKA_EXIT_FAILED. */
int kafka_open_brokers(admin_t *a, const char *bootstrap, kafka_client_words_t words, kcl_admin_t **out);

/* Prints a libkclient failure (fail()); returns KAFKA_EXIT_FAILED. */
int kafka_client_failed(const kcl_error_t *e);
/* The same as Kafka's admin client's exception. */
int kafka_client_raised(const kcl_error_t *e);

/* The partition reports of kafka-topics.sh --describe
 * (--under-replicated-partitions, ...), which kbroker-admin describe-topic
 * takes too. */
enum {
    KAFKA_REPORT_UNDER_REPLICATED = 1 << 0,
    KAFKA_REPORT_UNAVAILABLE = 1 << 1,
    KAFKA_REPORT_UNDER_MIN_ISR = 1 << 2,
    KAFKA_REPORT_AT_MIN_ISR = 1 << 3,
};

/* What the reports judge a partition by. */
typedef struct {
    bool has_leader;        /* a leader the caller knows of (Kafka: a Node) */
    bool leader_live;       /* ... that is a live broker */
    int replication_factor; /* its replicas, less those a reassignment adds */
    int n_isr;
    int min_isr;            /* min.insync.replicas; -1 unknown (then no partition is at or under it) */
} kafka_partition_health_t;

/* Kafka 2.6's DescribeOptions.shouldPrintTopicPartition: every partition
 * without a report, else one that any given report selects:
 * under-replicated (fewer in the ISR than the replication factor),
 * unavailable (no leader, or one that is not live), under min ISR (no
 * leader, or fewer in the ISR than min.insync.replicas), at min ISR (as
 * many). */
bool kafka_partition_reported(unsigned reports, const kafka_partition_health_t *h);

/* A java.lang.Integer as joptsimple reads it: optional sign, decimal. */
bool kafka_parse_int(const char *s, long *out);

/* Trims blanks at both ends of s in place; returns s. */
char *kafka_trim(char *s);

/* The --timeout SECONDS extension both front ends take (Kafka's tools
 * have none: their clients wait 30 s for ZooKeeper, as kbroker-admin's
 * default does). */
int kafka_set_timeout(admin_t *a, const char *usage, const char *value);

#endif
