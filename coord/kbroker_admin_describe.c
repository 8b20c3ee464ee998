/*
 * kbroker_admin_describe.c - `kbroker-admin describe-topic`: the topics as
 * ZooKeeper holds them, in the layout of kafka-topics.sh --describe, with
 * that tool's filters, so that a runbook can ask "what is under-replicated
 * now?" in either tool's words:
 *
 *   describe-topic [--topic T] [--exclude-internal]
 *                  [--under-replicated-partitions | --unavailable-partitions |
 *                   --under-min-isr-partitions | --at-min-isr-partitions |
 *                   --topics-with-overrides]
 *
 * The reports print only the partitions they select, without the topic
 * line (Kafka's DescribeOptions, kbroker_admin_kafka.h's
 * kafka_partition_reported): under-replicated, fewer replicas in the ISR
 * than the replication factor (a reassignment's added replicas left out,
 * as kafka-topics.sh --bootstrap-server counts); unavailable, no leader or
 * a leader that is not registered; under / at min ISR, no leader or fewer
 * / as many in the ISR as the topic's min.insync.replicas.  That value may
 * come from a broker's server.properties, which ZooKeeper does not hold,
 * so for those two reports the registered brokers are asked
 * (DescribeConfigs, what kafka-topics.sh --bootstrap-server reads; Kafka's
 * tool refuses them with --zookeeper for want of it).
 * --topics-with-overrides prints only the topic lines of topics with
 * config overrides.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/kcl_admin.h"
#include "common/kc_names.h"
#include "coord/kbroker_admin.h"
#include "coord/kbroker_admin_kafka.h"
#include "coord/kc_view.h"

typedef struct describe_args {
    const char *topic;
    unsigned reports;     /* KAFKA_REPORT_* */
    bool with_overrides;  /* --topics-with-overrides */
    bool exclude_internal;
} describe_args_t;

enum { OPT_TOPIC = 't', OPT_OVERRIDES = 'o', OPT_EXCLUDE = 'x' };

static const struct option options[] = {
    {"topic", required_argument, NULL, OPT_TOPIC},
    {"under-replicated-partitions", no_argument, NULL, KAFKA_REPORT_UNDER_REPLICATED},
    {"unavailable-partitions", no_argument, NULL, KAFKA_REPORT_UNAVAILABLE},
    {"under-min-isr-partitions", no_argument, NULL, KAFKA_REPORT_UNDER_MIN_ISR},
    {"at-min-isr-partitions", no_argument, NULL, KAFKA_REPORT_AT_MIN_ISR},
    {"topics-with-overrides", no_argument, NULL, OPT_OVERRIDES},
    {"exclude-internal", no_argument, NULL, OPT_EXCLUDE},
    {NULL, 0, NULL, 0},
};

/* As kafka-topics.sh, one report at a time (or --topics-with-overrides). */
static int parse_options(describe_args_t *d, int argc, char **argv) {
    int opt;

    while ((opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
        if (opt == OPT_TOPIC) d->topic = optarg;
        else if (opt == OPT_OVERRIDES) d->with_overrides = true;
        else if (opt == OPT_EXCLUDE) d->exclude_internal = true;
        else if (opt == KAFKA_REPORT_UNDER_REPLICATED || opt == KAFKA_REPORT_UNAVAILABLE ||
                 opt == KAFKA_REPORT_UNDER_MIN_ISR || opt == KAFKA_REPORT_AT_MIN_ISR)
            d->reports |= (unsigned)opt;
        else return option_error("describe-topic", opt, argv);
    }
    if (optind < argc) return fail(EXIT_USAGE, "describe-topic: unexpected argument '%s'", argv[optind]);
    if (__builtin_popcount(d->reports) + d->with_overrides > 1)
        return fail(EXIT_USAGE, "describe-topic: give one of --under-replicated-partitions, --unavailable-partitions, "
                    "--under-min-isr-partitions, --at-min-isr-partitions and --topics-with-overrides");
    return EXIT_OK;
}

/* ------------------------------------------------------ min.insync.replicas */

static int client_failed(const kcl_error_t *e) {
    return fail(e->status == KCL_EUNREACHABLE ? EXIT_UNREACHABLE : EXIT_BROKER_ERROR,
                "asking the brokers for min.insync.replicas: %s", e->message);
}

/* Each topic's min.insync.replicas as the brokers apply it, into min_isr
 * (one per name). */
static int ask_min_isr(admin_t *a, const kc_topic_t *const *topics, int n, int *min_isr) {
    char *bootstrap = admin_registered_bootstrap(a->view);
    kcl_admin_t *k = NULL;
    kcl_error_t err = {0};
    int rc = EXIT_OK;

    if (!bootstrap) return fail(EXIT_BROKER_ERROR, "no registered broker to ask for min.insync.replicas");
    kcl_options_t o = {bootstrap, admin_remaining_ms(a)};
    if (o.timeout_ms <= 0 || kcl_admin_open(&o, &k, &err) != KCL_OK)
        rc = o.timeout_ms <= 0 ? admin_wait_failed(a, "asking the brokers for min.insync.replicas")
                               : client_failed(&err);
    for (int i = 0; rc == EXIT_OK && i < n; i++) {
        kcl_config_t *c = NULL;
        int n_c = 0;
        long v;
        min_isr[i] = -1;
        if (kcl_admin_describe_configs(k, KCL_RESOURCE_TOPIC, topics[i]->name, false, &c, &n_c, &err) != KCL_OK)
            rc = client_failed(&err);
        for (int j = 0; rc == EXIT_OK && j < n_c; j++)
            if (strcmp(c[j].name, "min.insync.replicas") == 0 && c[j].value && kafka_parse_int(c[j].value, &v))
                min_isr[i] = (int)v;
        kcl_configs_free(c, n_c);
    }
    kcl_admin_close(k);
    free(bootstrap);
    return rc;
}

/* ------------------------------------------------------------- output */

/* "1,2,0" into buf. */
static const char *int_list_text(const int32_t *v, int n, char *buf, size_t size) {
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i < n && used < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%d", i > 0 ? "," : "", (int)v[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
    return buf;
}

/* The replication factor as Kafka's tool reports it: without the replicas
 * a reassignment adds. */
static int replication_factor(const kc_partition_t *p) { return p->n_replicas - p->n_adding; }

static bool wanted(const admin_t *a, const describe_args_t *d, const kc_partition_t *p, int min_isr) {
    bool led = p->has_state && p->state.leader >= 0;
    kafka_partition_health_t h = {led, led && kc_view_broker_live(a->view, p->state.leader), replication_factor(p),
                                  p->has_state ? p->state.n_isr : 0, min_isr};
    return kafka_partition_reported(d->reports, &h);
}

/* A partition without a state znode yet has no leader and an empty ISR. */
static json_t *partition_json(const kc_partition_t *p, int id) {
    const kc_partition_state_t *st = p->has_state ? &p->state : NULL;

    json_t *o = json_pack("{s:i, s:i, s:i, s:o, s:o}", "partition", id, "leader",
                          st != NULL ? (int)st->leader : -1, "leader_epoch",
                          st != NULL ? (int)st->leader_epoch : -1, "replicas",
                          json_int_list(p->replicas, p->n_replicas), "isr",
                          json_int_list(st != NULL ? st->isr : NULL, st != NULL ? st->n_isr : 0));
    /* Only while it is reassigned, so that other output stays as it was. */
    if (o != NULL && kc_partition_reassigning(p)) {
        json_object_set_new(o, "adding_replicas", json_int_list(p->adding, p->n_adding));
        json_object_set_new(o, "removing_replicas", json_int_list(p->removing, p->n_removing));
    }
    return o;
}

/* The topic with the partitions the reports select; NULL (nothing to
 * show) when a report selects none of them. */
static json_t *topic_json(const admin_t *a, const describe_args_t *d, const kc_topic_t *t, int min_isr) {
    json_t *parts = json_array(), *configs = json_object();
    int shown = 0;

    for (int i = 0; parts != NULL && i < t->n_partitions; i++)
        if (wanted(a, d, &t->partitions[i], min_isr))
            shown += json_array_append_new(parts, partition_json(&t->partitions[i], i)) == 0;
    for (int i = 0; configs != NULL && i < t->n_configs; i++)
        json_object_set_new(configs, t->configs[i].key, json_string(t->configs[i].value));
    if (d->reports && shown == 0) {
        json_decref(parts);
        json_decref(configs);
        return NULL;
    }
    return json_pack("{s:s, s:o, s:o}", "topic", t->name, "partitions", parts, "configs", configs);
}

/* One partition line of kafka-topics.sh --describe, with what Kafka 2.6's
 * tool adds for a partition being reassigned (--bootstrap-server) or a
 * topic marked for deletion (--zookeeper). */
static void print_partition_text(const char *topic, const kc_partition_t *p, int id, bool marked) {
    bool led = p->has_state && p->state.leader >= 0;
    char leader[16] = "none", replicas[1024], isr[1024] = "";

    if (led) snprintf(leader, sizeof(leader), "%d", (int)p->state.leader);
    int_list_text(p->replicas, p->n_replicas, replicas, sizeof(replicas));
    if (p->has_state) int_list_text(p->state.isr, p->state.n_isr, isr, sizeof(isr));
    printf("\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s", topic, id, leader, replicas, isr);
    if (kc_partition_reassigning(p)) {
        char adding[1024], removing[1024];
        printf("\tAdding Replicas: %s\tRemoving Replicas: %s",
               int_list_text(p->adding, p->n_adding, adding, sizeof(adding)),
               int_list_text(p->removing, p->n_removing, removing, sizeof(removing)));
    }
    if (marked) fputs("\tMarkedForDeletion: true", stdout);
    putchar('\n');
}

/* kafka-topics.sh --describe layout: the topic line (its overrides in
 * Configs) unless a report is given, then the partitions the reports
 * select (none with --topics-with-overrides). */
static void print_topic_text(const admin_t *a, const describe_args_t *d, const kc_topic_t *t, int min_isr) {
    bool marked = kc_view_topic_marked(a->view, t->name);

    if (!d->reports) {
        printf("Topic: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: ", t->name, t->n_partitions,
               t->n_partitions > 0 ? replication_factor(&t->partitions[0]) : 0);
        for (int i = 0; i < t->n_configs; i++)
            printf("%s%s=%s", i > 0 ? "," : "", t->configs[i].key, t->configs[i].value);
        puts(marked ? "\tMarkedForDeletion: true" : "");
    }
    for (int i = 0; !d->with_overrides && i < t->n_partitions; i++)
        if (wanted(a, d, &t->partitions[i], min_isr)) print_partition_text(t->name, &t->partitions[i], i, marked);
}

/* ------------------------------------------------------------ command */

/* The topics to show, in name order: --topic's, or every one, less the
 * internal ones with --exclude-internal and those without overrides with
 * --topics-with-overrides.  *out is malloc'd. */
static int select_topics(const admin_t *a, const describe_args_t *d, const kc_topic_t ***out, int *n) {
    int total = kc_view_topic_count(a->view);
    const kc_topic_t *only = d->topic ? kc_view_topic(a->view, d->topic) : NULL;

    *n = 0;
    if (d->topic && !only) return fail(EXIT_NO_TOPIC, "topic '%s' does not exist", d->topic);
    if (!(*out = calloc((size_t)total + 1, sizeof(**out)))) return fail(EXIT_ZK_ERROR, "out of memory");
    for (int i = 0; i < (only ? 1 : total); i++) {
        const kc_topic_t *t = only ? only : kc_view_topic_at(a->view, i);
        if (d->exclude_internal && kc_topic_is_internal(t->name)) continue;
        if (d->with_overrides && t->n_configs == 0) continue;
        (*out)[(*n)++] = t;
    }
    return EXIT_OK;
}

static int show(admin_t *a, const describe_args_t *d, const kc_topic_t *const *topics, int n, const int *min_isr) {
    json_t *doc = a->json ? json_array() : NULL;

    for (int i = 0; i < n; i++) {
        int m = min_isr ? min_isr[i] : -1;
        if (!a->json) print_topic_text(a, d, topics[i], m);
        json_t *t = doc ? topic_json(a, d, topics[i], m) : NULL;
        if (t) json_array_append_new(doc, t);
    }
    return a->json ? print_json(doc) : EXIT_OK;
}

int cmd_describe_topic(admin_t *a, int argc, char **argv) {
    describe_args_t d = {0};
    const kc_topic_t **topics = NULL;
    int *min_isr = NULL, n = 0;
    int rc = parse_options(&d, argc, argv);

    if (rc == EXIT_OK) rc = admin_load_view(a);
    if (rc == EXIT_OK) rc = select_topics(a, &d, &topics, &n);
    if (rc == EXIT_OK && (d.reports & (KAFKA_REPORT_UNDER_MIN_ISR | KAFKA_REPORT_AT_MIN_ISR)) && n > 0) {
        min_isr = calloc((size_t)n, sizeof(*min_isr));
        rc = min_isr ? ask_min_isr(a, topics, n, min_isr) : fail(EXIT_ZK_ERROR, "out of memory");
    }
    if (rc == EXIT_OK) rc = show(a, &d, topics, n, min_isr);
    free(min_isr);
    free(topics);
    return rc;
}
