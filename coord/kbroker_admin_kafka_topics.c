/*
 * kbroker_admin_kafka_topics.c - kafka-topics.sh's command line, as Kafka
 * 2.6 takes it, so that scripts and test suites written for Kafka run
 * unchanged against kbroker: the same options (--create, --list,
 * --describe, --alter, --delete with --topic, --partitions, ...), the same
 * checks and their messages, the same output ("Created topic T.", the
 * "Topic: T\tPartitionCount: ..." lines of --describe), and Kafka's exit
 * status, 0 or 1, with "Error while executing topic command : <why>" on
 * stdout for a failed action.
 *
 * An action runs through ZooKeeper (--zookeeper: the cluster view and the
 * kbroker-admin commands of kbroker_admin.c, the way Kafka's
 * ZookeeperTopicService writes the same znodes) or through the brokers
 * (--bootstrap-server: libkclient's kcl_admin.h, the requests Kafka's
 * AdminClientTopicService sends).  One table row per action names both.
 *
 * --topic is a regular expression for everything but --create (Kafka's
 * Whitelist: the whole name must match, ',' means '|'); POSIX extended
 * regular expressions stand in for Java's, which agree on the forms topic
 * names use.
 */
#include <getopt.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/kcl_admin.h"
#include "common/kc_names.h"
#include "coord/kbroker_admin.h"
#include "coord/kbroker_admin_kafka.h"
#include "coord/kc_configs.h"
#include "coord/kc_view.h"

/* Kafka's error code the admin client raises as ClusterAuthorizationException. */
#define CLUSTER_AUTHORIZATION_FAILED 31

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

/* ------------------------------------------------------------ options */

/* Every option kafka-topics.sh 2.6 has, plus --timeout; the value of each
 * is its bit in topics_opts_t.has. */
enum {
    O_BOOTSTRAP, O_COMMAND_CONFIG, O_ZOOKEEPER, O_LIST, O_CREATE, O_DELETE, O_ALTER, O_DESCRIBE, O_TOPIC,
    O_CONFIG, O_DELETE_CONFIG, O_PARTITIONS, O_REPLICATION_FACTOR, O_REPLICA_ASSIGNMENT, O_UNDER_REPLICATED,
    O_UNAVAILABLE, O_UNDER_MIN_ISR, O_AT_MIN_ISR, O_WITH_OVERRIDES, O_IF_EXISTS, O_IF_NOT_EXISTS,
    O_DISABLE_RACK_AWARE, O_FORCE, O_EXCLUDE_INTERNAL, O_HELP, O_VERSION, O_TIMEOUT, N_OPTIONS
};

#define BIT(o) (1u << (o))
#define ACTIONS (BIT(O_ALTER) | BIT(O_CREATE) | BIT(O_DESCRIBE) | BIT(O_LIST) | BIT(O_DELETE))
#define REPORTS (BIT(O_UNDER_REPLICATED) | BIT(O_UNDER_MIN_ISR) | BIT(O_AT_MIN_ISR) | BIT(O_UNAVAILABLE))

static const struct option long_options[] = {
    {"bootstrap-server", required_argument, NULL, O_BOOTSTRAP},
    {"command-config", required_argument, NULL, O_COMMAND_CONFIG},
    {"zookeeper", required_argument, NULL, O_ZOOKEEPER},
    {"list", no_argument, NULL, O_LIST},
    {"create", no_argument, NULL, O_CREATE},
    {"delete", no_argument, NULL, O_DELETE},
    {"alter", no_argument, NULL, O_ALTER},
    {"describe", no_argument, NULL, O_DESCRIBE},
    {"topic", required_argument, NULL, O_TOPIC},
    {"config", required_argument, NULL, O_CONFIG},
    {"delete-config", required_argument, NULL, O_DELETE_CONFIG},
    {"partitions", required_argument, NULL, O_PARTITIONS},
    {"replication-factor", required_argument, NULL, O_REPLICATION_FACTOR},
    {"replica-assignment", required_argument, NULL, O_REPLICA_ASSIGNMENT},
    {"under-replicated-partitions", no_argument, NULL, O_UNDER_REPLICATED},
    {"unavailable-partitions", no_argument, NULL, O_UNAVAILABLE},
    {"under-min-isr-partitions", no_argument, NULL, O_UNDER_MIN_ISR},
    {"at-min-isr-partitions", no_argument, NULL, O_AT_MIN_ISR},
    {"topics-with-overrides", no_argument, NULL, O_WITH_OVERRIDES},
    {"if-exists", no_argument, NULL, O_IF_EXISTS},
    {"if-not-exists", no_argument, NULL, O_IF_NOT_EXISTS},
    {"disable-rack-aware", no_argument, NULL, O_DISABLE_RACK_AWARE},
    {"force", no_argument, NULL, O_FORCE},
    {"exclude-internal", no_argument, NULL, O_EXCLUDE_INTERNAL},
    {"help", no_argument, NULL, O_HELP},
    {"version", no_argument, NULL, O_VERSION},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {NULL, 0, NULL, 0},
};

static const char usage[] =
    "Option                                   Description\n"
    "------                                   -----------\n"
    "--alter                                  Alter the number of partitions, replica assignment, and/or\n"
    "                                           configuration for the topic.\n"
    "--at-min-isr-partitions                  With --describe, only partitions whose ISR count equals\n"
    "                                           min.insync.replicas (--bootstrap-server only).\n"
    "--bootstrap-server <host:port>           The Kafka server to connect to.\n"
    "--config <name=value>                    A topic configuration override (repeatable).\n"
    "--create                                 Create a new topic.\n"
    "--delete                                 Delete a topic.\n"
    "--delete-config <name>                   A topic configuration override to remove (--zookeeper).\n"
    "--describe                               List details for the given topics.\n"
    "--disable-rack-aware                     Disable rack aware replica assignment.\n"
    "--exclude-internal                       Leave internal topics out of --list and --describe.\n"
    "--help                                   Print usage information.\n"
    "--if-exists                              With --alter, --delete or --describe: only if the topic exists.\n"
    "--if-not-exists                          With --create: only if the topic does not exist yet.\n"
    "--list                                   List all available topics.\n"
    "--partitions <Integer>                   The number of partitions to create or to grow to.\n"
    "--replica-assignment <b1:b2,b1:b2,...>   Manual partition-to-broker assignments.\n"
    "--replication-factor <Integer>           The replication factor of each partition.\n"
    "--timeout <seconds>                      kbroker-admin: how long to wait for ZooKeeper or the\n"
    "                                           brokers (default 30).\n"
    "--topic <topic>                          The topic; a regular expression except with --create.\n"
    "--topics-with-overrides                  With --describe, only topics with overridden configs.\n"
    "--unavailable-partitions                 With --describe, only partitions without a live leader.\n"
    "--under-min-isr-partitions               With --describe, only partitions whose ISR count is below\n"
    "                                           min.insync.replicas (--bootstrap-server only).\n"
    "--under-replicated-partitions            With --describe, only under-replicated partitions.\n"
    "--version                                Display kbroker-admin's version.\n"
    "--zookeeper <host:port[/chroot]>         The ZooKeeper connection string (deprecated in Kafka).\n";

typedef struct topics_opts {
    uint32_t has; /* BIT(O_x) for each option given */
    const char *zookeeper, *bootstrap, *topic;
    const char *partitions, *replication_factor, *replica_assignment;
    int n_configs, n_delete_configs;
    char **configs;        /* --config values, in order (pointers into argv) */
    char **delete_configs; /* --delete-config values */
} topics_opts_t;

static bool has(const topics_opts_t *o, int opt) { return (o->has & BIT(opt)) != 0; }

static int push_arg(char ***list, int *n, char *value) {
    char **grown = realloc(*list, (size_t)(*n + 1) * sizeof(*grown));
    if (grown == NULL) return fail(KAFKA_EXIT_FAILED, "out of memory");
    grown[(*n)++] = value;
    *list = grown;
    return EXIT_OK;
}

static int take_option(admin_t *a, topics_opts_t *o, int opt) {
    o->has |= BIT(opt);
    switch (opt) {
    case O_BOOTSTRAP: o->bootstrap = optarg; break;
    case O_ZOOKEEPER: o->zookeeper = optarg; break;
    case O_TOPIC: o->topic = optarg; break;
    case O_PARTITIONS: o->partitions = optarg; break;
    case O_REPLICATION_FACTOR: o->replication_factor = optarg; break;
    case O_REPLICA_ASSIGNMENT: o->replica_assignment = optarg; break;
    case O_CONFIG: return push_arg(&o->configs, &o->n_configs, optarg);
    case O_DELETE_CONFIG: return push_arg(&o->delete_configs, &o->n_delete_configs, optarg);
    case O_TIMEOUT: return kafka_set_timeout(a, usage, optarg);
    }
    return EXIT_OK;
}

/* An Integer option's value, checked as joptsimple converts it. */
static int check_integer(const char *name, const char *value) {
    long v;
    if (value == NULL || kafka_parse_int(value, &v)) return EXIT_OK;
    return kafka_usage_die(usage, "Cannot parse argument '%s' of option %s", value, name);
}

static int parse_options(admin_t *a, topics_opts_t *o, int argc, char **argv) {
    int opt, rc = EXIT_OK;

    while (rc == EXIT_OK && (opt = getopt_long(argc, argv, ":", long_options, NULL)) != -1)
        rc = opt >= 0 && opt < N_OPTIONS ? take_option(a, o, opt) : kafka_option_error(usage, opt, argv);
    if (rc == EXIT_OK && optind < argc)
        rc = kafka_usage_die(usage, "Found non-option argument '%s'", argv[optind]);
    if (rc == EXIT_OK) rc = check_integer("partitions", o->partitions);
    if (rc == EXIT_OK) rc = check_integer("replication-factor", o->replication_factor);
    return rc;
}

/* joptsimple's name of an option in messages: "[topic]". */
static const char *spec(int opt) {
    static char buf[64];
    snprintf(buf, sizeof(buf), "[%s]", long_options[opt].name);
    return buf;
}

static int missing(const topics_opts_t *o, int opt) {
    if (has(o, opt)) return EXIT_OK;
    return kafka_usage_die(usage, "Missing required argument \"%s\"", spec(opt));
}

/* Kafka's checkInvalidArgs: option `used` with any of `invalid`. */
static int invalid_with(const topics_opts_t *o, int used, uint32_t invalid) {
    static const int order[] = {O_ALTER,          O_CREATE,           O_DESCRIBE,    O_LIST,
                                O_DELETE,         O_BOOTSTRAP,        O_ZOOKEEPER,   O_PARTITIONS,
                                O_REPLICATION_FACTOR, O_UNDER_REPLICATED, O_UNDER_MIN_ISR, O_AT_MIN_ISR,
                                O_UNAVAILABLE,    O_WITH_OVERRIDES};
    if (!has(o, used)) return EXIT_OK;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if ((invalid & BIT(order[i])) && has(o, order[i]) && order[i] != used) {
            char first[64];
            snprintf(first, sizeof(first), "%s", spec(used));
            return kafka_usage_die(usage, "Option \"%s\" can't be used with option \"%s\"", first, spec(order[i]));
        }
    return EXIT_OK;
}

/* The option pairs TopicCommand's checkArgs refuses, in its order. */
static int check_invalid(const topics_opts_t *o) {
    static const struct { int used; uint32_t invalid; } rules[] = {
        {O_CONFIG, BIT(O_DESCRIBE) | BIT(O_LIST) | BIT(O_DELETE)},
        {O_DELETE_CONFIG, BIT(O_CREATE) | BIT(O_DESCRIBE) | BIT(O_LIST) | BIT(O_DELETE) | BIT(O_BOOTSTRAP)},
        {O_PARTITIONS, BIT(O_DESCRIBE) | BIT(O_LIST) | BIT(O_DELETE)},
        {O_REPLICATION_FACTOR, BIT(O_ALTER) | BIT(O_DESCRIBE) | BIT(O_LIST) | BIT(O_DELETE)},
        {O_REPLICA_ASSIGNMENT, BIT(O_DESCRIBE) | BIT(O_LIST) | BIT(O_DELETE)},
        {O_UNDER_REPLICATED, (ACTIONS & ~BIT(O_DESCRIBE)) | REPORTS | BIT(O_WITH_OVERRIDES)},
        {O_UNDER_MIN_ISR, (ACTIONS & ~BIT(O_DESCRIBE)) | REPORTS | BIT(O_WITH_OVERRIDES) | BIT(O_ZOOKEEPER)},
        {O_AT_MIN_ISR, (ACTIONS & ~BIT(O_DESCRIBE)) | REPORTS | BIT(O_WITH_OVERRIDES) | BIT(O_ZOOKEEPER)},
        {O_UNAVAILABLE, (ACTIONS & ~BIT(O_DESCRIBE)) | REPORTS | BIT(O_WITH_OVERRIDES)},
        {O_WITH_OVERRIDES, (ACTIONS & ~BIT(O_DESCRIBE)) | REPORTS},
        {O_IF_EXISTS, BIT(O_CREATE) | BIT(O_LIST)},
        {O_IF_NOT_EXISTS, BIT(O_ALTER) | BIT(O_DESCRIBE) | BIT(O_LIST) | BIT(O_DELETE)},
        {O_EXCLUDE_INTERNAL, BIT(O_ALTER) | BIT(O_CREATE) | BIT(O_DELETE)},
    };
    int rc = EXIT_OK;

    if (has(o, O_CREATE) && has(o, O_REPLICA_ASSIGNMENT))
        rc = invalid_with(o, O_REPLICA_ASSIGNMENT, BIT(O_PARTITIONS) | BIT(O_REPLICATION_FACTOR));
    for (size_t i = 0; rc == EXIT_OK && i < sizeof(rules) / sizeof(rules[0]); i++)
        rc = invalid_with(o, rules[i].used, rules[i].invalid);
    return rc;
}

/* TopicCommandOptions.checkArgs, message for message. */
static int check_args(const topics_opts_t *o) {
    int rc = EXIT_OK;

    if (__builtin_popcount(o->has & ACTIONS) != 1)
        return kafka_usage_die(usage, "Command must include exactly one action: --list, --describe, --create, "
                                      "--alter or --delete");
    /* Thrown before Kafka's action handling: on stderr, without usage. */
    if (has(o, O_BOOTSTRAP) == has(o, O_ZOOKEEPER)) {
        fputs("Only one of --bootstrap-server or --zookeeper must be specified\n", stderr);
        return KAFKA_EXIT_FAILED;
    }
    if (has(o, O_DESCRIBE) && has(o, O_IF_EXISTS)) rc = missing(o, O_TOPIC);
    if (rc == EXIT_OK && !has(o, O_LIST) && !has(o, O_DESCRIBE)) rc = missing(o, O_TOPIC);
    if (rc == EXIT_OK && has(o, O_CREATE) && !has(o, O_REPLICA_ASSIGNMENT) && has(o, O_ZOOKEEPER)) {
        rc = missing(o, O_PARTITIONS);
        if (rc == EXIT_OK) rc = missing(o, O_REPLICATION_FACTOR);
    }
    if (rc == EXIT_OK && has(o, O_BOOTSTRAP) && has(o, O_ALTER)) {
        if (has(o, O_CONFIG))
            return kafka_usage_die(usage, "Option combination \"[bootstrap-server],[config]\" can't be used with "
                                          "option \"[alter]\"");
        rc = missing(o, O_PARTITIONS);
    }
    if (rc == EXIT_OK) rc = check_invalid(o);
    return rc;
}

/* ------------------------------------------------------ topic selection */

/* Kafka's Whitelist: --topic trimmed, ',' read as '|', blanks and
 * surrounding quotes dropped, matched against whole names. */
static int compile_filter(const char *raw, regex_t *re) {
    size_t len = strlen(raw);
    char *clean = malloc(len + 1), *pattern = malloc(len + 8);
    size_t n = 0;
    int rc = EXIT_OK;

    if (clean == NULL || pattern == NULL) rc = fail(KAFKA_EXIT_FAILED, "out of memory");
    for (size_t i = 0; rc == EXIT_OK && i < len; i++)
        if (raw[i] != ' ') clean[n++] = raw[i] == ',' ? '|' : raw[i];
    if (rc == EXIT_OK) {
        clean[n] = '\0';
        char *s = kafka_trim(clean);
        while (*s == '"' || *s == '\'') s++;
        size_t sl = strlen(s);
        while (sl > 0 && (s[sl - 1] == '"' || s[sl - 1] == '\'')) s[--sl] = '\0';
        snprintf(pattern, len + 8, "^(%s)$", s);
        if (regcomp(re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
            rc = fail(KAFKA_EXIT_FAILED, "%s is an invalid regex.", s);
    }
    free(clean);
    free(pattern);
    return rc;
}

/* A growable list of borrowed names. */
typedef struct {
    int n;
    const char **names;
} names_t;

static int names_push(names_t *l, const char *name) {
    const char **grown = realloc(l->names, (size_t)(l->n + 1) * sizeof(*grown));
    if (grown == NULL) return fail(KAFKA_EXIT_FAILED, "out of memory");
    grown[l->n++] = name;
    l->names = grown;
    return EXIT_OK;
}

/* The names of `all` (sorted) that --topic and --exclude-internal let
 * through, then Kafka's ensureTopicExists: a --topic that selects nothing
 * fails unless --if-exists (or --list, --describe without --topic). */
static int select_topics(const topics_opts_t *o, const char *const *all, int n_all, names_t *out) {
    regex_t re;
    int rc = o->topic != NULL ? compile_filter(o->topic, &re) : EXIT_OK;

    *out = (names_t){0};
    if (rc != EXIT_OK) return rc;
    for (int i = 0; rc == EXIT_OK && i < n_all; i++) {
        if (has(o, O_EXCLUDE_INTERNAL) && kc_topic_is_internal(all[i])) continue;
        if (o->topic == NULL || regexec(&re, all[i], 0, NULL, 0) == 0) rc = names_push(out, all[i]);
    }
    if (o->topic != NULL) regfree(&re);
    if (rc == EXIT_OK && o->topic != NULL && !has(o, O_IF_EXISTS) && out->n == 0 && !has(o, O_LIST))
        rc = fail(KAFKA_EXIT_FAILED, "Topic '%s' does not exist as expected", o->topic);
    return rc;
}

/* ------------------------------------------------------ describe output */

/* One partition as --describe reads it, from either side. */
typedef struct {
    int32_t partition;
    int32_t leader; /* -1: none */
    int n_replicas, n_isr;
    const int32_t *replicas, *isr;
    /* Its reassignment under way (ListPartitionReassignments, through the
     * brokers only, as Kafka's tool): printed when reassigning is set. */
    bool reassigning;
    int n_adding, n_removing;
    const int32_t *adding, *removing;
    /* Kafka's getReplicationFactor: the replicas less those being added
     * through the brokers; every replica through ZooKeeper. */
    int rf;
} partition_view_t;

/* What the report options filter partitions by, and whether the topic is
 * marked for deletion (known through ZooKeeper only, as in Kafka). */
typedef struct {
    int n_live;
    const int32_t *live; /* ascending */
    int min_isr;         /* min.insync.replicas, -1 when unknown (--zookeeper) */
    bool marked;
} describe_ctx_t;

static bool id_in(int32_t id, const int32_t *ids, int n) {
    for (int i = 0; i < n; i++)
        if (ids[i] == id) return true;
    return false;
}

static void print_ids(const int32_t *ids, int n) {
    for (int i = 0; i < n; i++) printf("%s%d", i > 0 ? "," : "", (int)ids[i]);
}

static unsigned reports_of(const topics_opts_t *o) {
    return (has(o, O_UNDER_REPLICATED) ? KAFKA_REPORT_UNDER_REPLICATED : 0) |
           (has(o, O_UNAVAILABLE) ? KAFKA_REPORT_UNAVAILABLE : 0) |
           (has(o, O_UNDER_MIN_ISR) ? KAFKA_REPORT_UNDER_MIN_ISR : 0) |
           (has(o, O_AT_MIN_ISR) ? KAFKA_REPORT_AT_MIN_ISR : 0);
}

/* DescribeOptions.maybePrintPartitionDescription: every partition without
 * a report option, else those the given reports select. */
static bool partition_wanted(const topics_opts_t *o, const describe_ctx_t *d, const partition_view_t *p) {
    kafka_partition_health_t h = {p->leader >= 0, id_in(p->leader, d->live, d->n_live), p->rf, p->n_isr,
                                  d->min_isr};
    return kafka_partition_reported(reports_of(o), &h);
}

/* "\tTopic: T\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2,3". */
static void print_partition(const char *topic, const partition_view_t *p, bool marked) {
    printf("\tTopic: %s\tPartition: %d\tLeader: ", topic, (int)p->partition);
    if (p->leader >= 0) printf("%d", (int)p->leader);
    else fputs("none", stdout);
    fputs("\tReplicas: ", stdout);
    print_ids(p->replicas, p->n_replicas);
    fputs("\tIsr: ", stdout);
    print_ids(p->isr, p->n_isr);
    if (p->reassigning) {
        fputs("\tAdding Replicas: ", stdout);
        print_ids(p->adding, p->n_adding);
        fputs("\tRemoving Replicas: ", stdout);
        print_ids(p->removing, p->n_removing);
    }
    if (marked) fputs("\tMarkedForDeletion: true", stdout);
    putchar('\n');
}

/* "Topic: T\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: k=v,...". */
static void print_header(const char *topic, int partitions, int rf, const kc_config_entry_t *configs, int n,
                         bool marked) {
    printf("Topic: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: ", topic, partitions, rf);
    for (int i = 0; i < n; i++) printf("%s%s=%s", i > 0 ? "," : "", configs[i].key, configs[i].value);
    if (marked) fputs("\tMarkedForDeletion: true", stdout);
    putchar('\n');
}

/* The header unless a report option is given; with
 * --topics-with-overrides only for a topic that has overrides, and then
 * no partition lines. */
static void describe_one(const topics_opts_t *o, const describe_ctx_t *d, const char *topic,
                         const partition_view_t *parts, int n_parts, const kc_config_entry_t *configs,
                         int n_configs) {
    if ((o->has & REPORTS) == 0 && (!has(o, O_WITH_OVERRIDES) || n_configs > 0))
        print_header(topic, n_parts, n_parts > 0 ? parts[0].rf : 0, configs, n_configs, d->marked);
    if (has(o, O_WITH_OVERRIDES)) return;
    for (int i = 0; i < n_parts; i++)
        if (partition_wanted(o, d, &parts[i])) print_partition(topic, &parts[i], d->marked);
}

/* ---------------------------------------------------- --replica-assignment */

/* Kafka's parseReplicaAssignment: partitions by ',', brokers by ':'; no
 * broker twice in a partition, every partition as long as the first.
 * *ids holds rows of *rf ids. */
static int kafka_parse_assignment(const char *text, int32_t **ids, int *rows, int *rf) {
    char *copy = strdup(text), *save = NULL;
    int n = 0, width = -1, rc = copy != NULL ? EXIT_OK : fail(KAFKA_EXIT_FAILED, "out of memory");

    *ids = malloc(strlen(text) * sizeof(**ids) + sizeof(**ids));
    if (*ids == NULL && rc == EXIT_OK) rc = fail(KAFKA_EXIT_FAILED, "out of memory");
    for (char *part = rc == EXIT_OK ? strtok_r(copy, ",", &save) : NULL; part != NULL && rc == EXIT_OK;
         part = strtok_r(NULL, ",", &save), (*rows)++) {
        char *save2 = NULL;
        int w = 0;
        for (char *b = strtok_r(part, ":", &save2); b != NULL && rc == EXIT_OK; b = strtok_r(NULL, ":", &save2)) {
            long v;
            if (!kafka_parse_int(kafka_trim(b), &v) || v < 0)
                rc = fail(KAFKA_EXIT_FAILED, "For input string: \"%s\"", b);
            else if (id_in((int32_t)v, *ids + n - w, w))
                rc = fail(KAFKA_EXIT_FAILED, "Partition replica lists may not contain duplicate entries: %ld", v);
            else
                (*ids)[n++] = (int32_t)v, w++;
        }
        if (rc == EXIT_OK && width >= 0 && w != width)
            rc = fail(KAFKA_EXIT_FAILED, "Partition %d has different replication factor: %d", *rows, w);
        if (width < 0) width = w;
    }
    *rf = width;
    if (rc == EXIT_OK && (*rows == 0 || width <= 0))
        rc = fail(KAFKA_EXIT_FAILED, "invalid replica assignment '%s'", text);
    free(copy);
    return rc;
}

/* ------------------------------------------------------------- --config */

/* One --config key=value as Kafka splits it (at '=' with blanks around
 * it; exactly one), trimmed, into key and value (pointers into a copy the
 * caller frees through *copy). */
static int split_config(const char *kv, char **copy, const char **key, const char **value) {
    *copy = strdup(kv);
    if (*copy == NULL) return fail(KAFKA_EXIT_FAILED, "out of memory");
    char *eq = strchr(*copy, '=');
    if (eq == NULL || strchr(eq + 1, '=') != NULL)
        return fail(KAFKA_EXIT_FAILED, "requirement failed: Invalid topic config: all configs to be added must be "
                                       "in the format \"key=val\".");
    *eq = '\0';
    *key = kafka_trim(*copy);
    *value = kafka_trim(eq + 1);
    return EXIT_OK;
}

/* Every --config as checked key/value pairs (owned strings). */
static int parse_configs(const topics_opts_t *o, kc_config_entry_t **out, int *n) {
    char why[512];
    int rc = EXIT_OK;

    *out = calloc((size_t)o->n_configs + 1, sizeof(**out));
    *n = 0;
    if (*out == NULL) return fail(KAFKA_EXIT_FAILED, "out of memory");
    for (int i = 0; rc == EXIT_OK && i < o->n_configs; i++) {
        char *copy;
        const char *key = NULL, *value = NULL;
        rc = split_config(o->configs[i], &copy, &key, &value);
        if (rc == EXIT_OK && !kc_topic_config_check(key, value, why, sizeof(why)))
            rc = fail(KAFKA_EXIT_FAILED, "%s", why);
        if (rc == EXIT_OK) {
            (*out)[*n] = (kc_config_entry_t){strdup(key), strdup(value)};
            if ((*out)[(*n)++].value == NULL) rc = fail(KAFKA_EXIT_FAILED, "out of memory");
        }
        free(copy);
    }
    return rc;
}

/* ------------------------------------------------------ the action table */

typedef struct topics_run topics_run_t;
typedef int (*action_fn)(topics_run_t *r);

/* How an action words the admin client's failures: Kafka's
 * AdminClientTopicService.createTopic unwraps the ExecutionException and
 * prints its cause's message ("Topic 'T' already exists."); the other
 * actions let the ExecutionException through, whose message is its
 * cause's class and message ("org.apache.kafka.common.errors.
 * InvalidPartitionsException: Topic currently has ..."). */
typedef enum { CAUSE_MESSAGE, CAUSE_EXCEPTION } failure_words_t;

/* One kafka-topics action: what it runs through ZooKeeper and through the
 * brokers.  zk_command is the kbroker-admin command the ZooKeeper side
 * runs for it, NULL where this build has none yet. */
typedef struct {
    int option;
    action_fn zookeeper;
    action_fn bootstrap;
    command_fn zk_command;
    failure_words_t words;
} action_t;

struct topics_run {
    admin_t *a;
    topics_opts_t *o;
    const action_t *action;
    kcl_admin_t *brokers; /* --bootstrap-server, opened by run_action */
};

/* A libkclient failure printed as this action's Kafka line. */
static int client_failed(const topics_run_t *r, const kcl_error_t *err) {
    return r->action->words == CAUSE_MESSAGE ? kafka_client_failed(err) : kafka_client_raised(err);
}

static void collision_warning(const char *topic) {
    if (strpbrk(topic, "._") != NULL)
        puts("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could "
             "collide. To avoid issues it is best to use either, but not both.");
}

/* ------------------------------------------------------- through ZooKeeper */

/* An owned argv for a kbroker-admin command. */
typedef struct {
    int argc;
    char *argv[32];
} command_line_t;

static int line_add(command_line_t *l, const char *arg) {
    if (l->argc + 1 >= (int)(sizeof(l->argv) / sizeof(l->argv[0])) || (l->argv[l->argc] = strdup(arg)) == NULL)
        return fail(KAFKA_EXIT_FAILED, "out of memory");
    l->argc++;
    return EXIT_OK;
}

static void line_free(command_line_t *l) {
    for (int i = 0; i < l->argc; i++) free(l->argv[i]);
    l->argc = 0;
}

/* Runs the command line quietly (the front end prints Kafka's lines). */
static int line_run(topics_run_t *r, command_fn fn, command_line_t *l) {
    int rc;

    r->a->quiet = true;
    l->argv[l->argc] = NULL;
    optind = 0;
    /* The command's own options only: a command found by name also takes
     * its connection from a->zookeeper. */
    rc = fn != NULL ? fn(r->a, l->argc, l->argv) : admin_command(r->a, l->argc, l->argv);
    line_free(l);
    return rc;
}

/* Every topic of the view, by name (the view keeps them sorted). */
static int view_names(admin_t *a, const char ***names, int *n) {
    *n = kc_view_topic_count(a->view);
    *names = calloc((size_t)*n + 1, sizeof(**names));
    if (*names == NULL) return fail(KAFKA_EXIT_FAILED, "out of memory");
    for (int i = 0; i < *n; i++) (*names)[i] = kc_view_topic_at(a->view, i)->name;
    return EXIT_OK;
}

/* Loads the view and selects the topics --topic names. */
static int zk_select(topics_run_t *r, names_t *out) {
    const char **all = NULL;
    int n = 0;
    int rc = admin_load_view(r->a);

    *out = (names_t){0};
    if (rc == EXIT_OK) rc = view_names(r->a, &all, &n);
    if (rc == EXIT_OK) rc = select_topics(r->o, all, n, out);
    free(all);
    return rc;
}

/* create-topic with Kafka's options, then Kafka's line. */
static int zk_run_create(topics_run_t *r, const kc_config_entry_t *configs, int n) {
    const topics_opts_t *o = r->o;
    command_line_t l = {0};
    int rc = line_add(&l, "create-topic");

    if (rc == EXIT_OK) rc = line_add(&l, "--topic");
    if (rc == EXIT_OK) rc = line_add(&l, o->topic);
    if (rc == EXIT_OK && o->replica_assignment != NULL) rc = line_add(&l, "--replica-assignment");
    if (rc == EXIT_OK && o->replica_assignment != NULL) rc = line_add(&l, o->replica_assignment);
    if (rc == EXIT_OK && o->replica_assignment == NULL) {
        rc = line_add(&l, "--partitions");
        if (rc == EXIT_OK) rc = line_add(&l, o->partitions);
        if (rc == EXIT_OK) rc = line_add(&l, "--replication-factor");
        if (rc == EXIT_OK) rc = line_add(&l, o->replication_factor);
        if (rc == EXIT_OK && has(o, O_DISABLE_RACK_AWARE)) rc = line_add(&l, "--disable-rack-aware");
    }
    for (int i = 0; rc == EXIT_OK && i < n; i++) {
        char *kv = NULL;
        if (asprintf(&kv, "%s=%s", configs[i].key, configs[i].value) < 0) kv = NULL;
        rc = line_add(&l, "--config");
        if (rc == EXIT_OK) rc = kv != NULL ? line_add(&l, kv) : fail(KAFKA_EXIT_FAILED, "out of memory");
        free(kv);
    }
    if (rc != EXIT_OK) {
        line_free(&l);
        return rc;
    }
    rc = line_run(r, NULL, &l);
    if (rc == EXIT_TOPIC_EXISTS && has(o, O_IF_NOT_EXISTS)) return EXIT_OK;
    if (rc == EXIT_OK) printf("Created topic %s.\n", o->topic);
    return rc;
}

static int zk_create(topics_run_t *r) {
    kc_config_entry_t *configs = NULL;
    int n = 0;
    int rc = parse_configs(r->o, &configs, &n);

    if (rc == EXIT_OK) collision_warning(r->o->topic);
    if (rc == EXIT_OK) rc = admin_load_view(r->a);
    /* TopicCommand skips an existing topic under --if-not-exists before
     * AdminZkClient's checks, whose first is the deletion marker. */
    bool exists = rc == EXIT_OK && kc_view_topic(r->a->view, r->o->topic) != NULL;
    if (rc == EXIT_OK && !(exists && has(r->o, O_IF_NOT_EXISTS)) && kc_view_topic_marked(r->a->view, r->o->topic)) {
        kc_config_entries_free(configs, n);
        return fail(KAFKA_EXIT_FAILED, "Topic '%s' is marked for deletion.", r->o->topic);
    }
    if (exists) {
        if (!has(r->o, O_IF_NOT_EXISTS)) rc = fail(KAFKA_EXIT_FAILED, "Topic '%s' already exists.", r->o->topic);
        kc_config_entries_free(configs, n);
        return rc;
    }
    if (rc == EXIT_OK) rc = zk_run_create(r, configs, n);
    kc_config_entries_free(configs, n);
    return rc;
}

static int zk_list(topics_run_t *r) {
    names_t sel;
    int rc = zk_select(r, &sel);

    for (int i = 0; rc == EXIT_OK && i < sel.n; i++)
        printf("%s%s\n", sel.names[i], kc_view_topic_marked(r->a->view, sel.names[i]) ? " - marked for deletion" : "");
    free(sel.names);
    return rc;
}

/* A topic of the view as --describe prints it; parts has room for every
 * partition.  A partition without a state znode has no leader and no ISR. */
static void zk_describe_topic(const topics_opts_t *o, const describe_ctx_t *d, const kc_topic_t *t,
                              partition_view_t *parts) {
    for (int p = 0; p < t->n_partitions; p++) {
        const kc_partition_t *kp = &t->partitions[p];
        bool st = kp->has_state;
        parts[p] = (partition_view_t){.partition = p, .leader = st ? kp->state.leader : -1,
                                      .n_replicas = kp->n_replicas, .n_isr = st ? kp->state.n_isr : 0,
                                      .replicas = kp->replicas, .isr = st ? kp->state.isr : NULL,
                                      .rf = kp->n_replicas};
    }
    describe_one(o, d, t->name, parts, t->n_partitions, t->configs, t->n_configs);
}

static int zk_describe(topics_run_t *r) {
    names_t sel;
    int rc = zk_select(r, &sel);
    const kc_view_t *v = r->a->view;
    int n_live = rc == EXIT_OK ? kc_view_broker_count(v) : 0;
    int32_t *live = calloc((size_t)n_live + 1, sizeof(*live));

    if (rc == EXIT_OK && live == NULL) rc = fail(KAFKA_EXIT_FAILED, "out of memory");
    for (int i = 0; rc == EXIT_OK && i < n_live; i++) live[i] = kc_view_broker_at(v, i)->id;
    describe_ctx_t d = {n_live, live, -1, false};
    for (int i = 0; rc == EXIT_OK && i < sel.n; i++) {
        const kc_topic_t *t = kc_view_topic(v, sel.names[i]);
        d.marked = kc_view_topic_marked(v, t->name);
        partition_view_t *parts = calloc((size_t)t->n_partitions + 1, sizeof(*parts));
        if (parts == NULL) rc = fail(KAFKA_EXIT_FAILED, "out of memory");
        else zk_describe_topic(r->o, &d, t, parts);
        free(parts);
    }
    free(live);
    free(sel.names);
    return rc;
}

/* The overrides of t with --config added (replacing) and --delete-config
 * removed, as ZookeeperTopicService.alterTopic compiles them. */
static int merged_configs(const kc_topic_t *t, const kc_config_entry_t *adds, int n_adds, const topics_opts_t *o,
                          kc_config_entry_t **out, int *n) {
    *out = calloc((size_t)(t->n_configs + n_adds) + 1, sizeof(**out));
    *n = 0;
    if (*out == NULL) return fail(KAFKA_EXIT_FAILED, "out of memory");
    for (int i = 0; i < t->n_configs + n_adds; i++) {
        const kc_config_entry_t *e = i < t->n_configs ? &t->configs[i] : &adds[i - t->n_configs];
        bool dropped = false;
        for (int j = 0; j < n_adds && i < t->n_configs; j++) dropped |= strcmp(adds[j].key, e->key) == 0;
        for (int j = 0; j < o->n_delete_configs; j++) dropped |= strcmp(kafka_trim(o->delete_configs[j]), e->key) == 0;
        if (dropped) continue;
        (*out)[*n] = (kc_config_entry_t){strdup(e->key), strdup(e->value)};
        if ((*out)[(*n)++].value == NULL) return fail(KAFKA_EXIT_FAILED, "out of memory");
    }
    return EXIT_OK;
}

static int zk_alter_configs(topics_run_t *r, const kc_topic_t *t, const kc_config_entry_t *adds, int n_adds) {
    kc_config_entry_t *merged = NULL;
    int n = 0;

    puts("WARNING: Altering topic configuration from this script has been deprecated and may be removed in "
         "future releases.");
    puts("         Going forward, please use kafka-configs.sh for this functionality");
    int rc = merged_configs(t, adds, n_adds, r->o, &merged, &n);
    if (rc == EXIT_OK) rc = admin_write_topic_configs(r->a, t->name, merged, n);
    if (rc == EXIT_OK) printf("Updated config for topic %s.\n", t->name);
    kc_config_entries_free(merged, n);
    return rc != EXIT_OK ? KAFKA_EXIT_FAILED : EXIT_OK;
}

/* alter-topic --partitions N [--replica-assignment ...]. */
static int zk_alter_partitions(topics_run_t *r, const char *topic) {
    command_line_t l = {0};

    if (kc_topic_is_internal(topic))
        return fail(KAFKA_EXIT_FAILED, "The number of partitions for the internal topic %s cannot be changed.",
                    topic);
    puts("WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering of the "
         "messages will be affected");
    int rc = line_add(&l, "alter-topic");
    if (rc == EXIT_OK) rc = line_add(&l, "--topic");
    if (rc == EXIT_OK) rc = line_add(&l, topic);
    if (rc == EXIT_OK) rc = line_add(&l, "--partitions");
    if (rc == EXIT_OK) rc = line_add(&l, r->o->partitions);
    if (rc == EXIT_OK && r->o->replica_assignment != NULL) rc = line_add(&l, "--replica-assignment");
    if (rc == EXIT_OK && r->o->replica_assignment != NULL) rc = line_add(&l, r->o->replica_assignment);
    /* Kafka 2.6 ignores it here and refuses a mixed set all the same,
     * although its refusal says to add it: it is honoured. */
    if (rc == EXIT_OK && has(r->o, O_DISABLE_RACK_AWARE)) rc = line_add(&l, "--disable-rack-aware");
    if (rc != EXIT_OK) {
        line_free(&l);
        return rc;
    }
    rc = line_run(r, r->action->zk_command, &l);
    if (rc == EXIT_OK) puts("Adding partitions succeeded!");
    return rc;
}

static int zk_alter(topics_run_t *r) {
    kc_config_entry_t *adds = NULL;
    int n_adds = 0;
    names_t sel = {0};
    int rc = parse_configs(r->o, &adds, &n_adds);

    if (rc == EXIT_OK) rc = zk_select(r, &sel);
    for (int i = 0; rc == EXIT_OK && i < sel.n; i++) {
        const kc_topic_t *t = kc_view_topic(r->a->view, sel.names[i]);
        if (r->o->n_configs + r->o->n_delete_configs > 0) rc = zk_alter_configs(r, t, adds, n_adds);
        if (rc == EXIT_OK && r->o->partitions != NULL) rc = zk_alter_partitions(r, t->name);
    }
    kc_config_entries_free(adds, n_adds);
    free(sel.names);
    return rc;
}

/* delete-topic for each selected topic: it prints Kafka's lines ("Topic T
 * is marked for deletion." and the note, or "Topic T is already marked
 * for deletion."). */
static int zk_delete(topics_run_t *r) {
    names_t sel = {0};

    int rc = zk_select(r, &sel);
    for (int i = 0; rc == EXIT_OK && i < sel.n; i++) {
        command_line_t l = {0};
        if (kc_topic_is_internal(sel.names[i])) {
            rc = fail(KAFKA_EXIT_FAILED, "Topic %s is a kafka internal topic and is not allowed to be marked for "
                                         "deletion.", sel.names[i]);
            break;
        }
        rc = line_add(&l, "delete-topic");
        if (rc == EXIT_OK) rc = line_add(&l, "--topic");
        if (rc == EXIT_OK) rc = line_add(&l, sel.names[i]);
        if (rc == EXIT_OK) rc = line_run(r, r->action->zk_command, &l);
        line_free(&l);
    }
    free(sel.names);
    return rc;
}

/* --------------------------------------------------- through the brokers */

/* Metadata for every topic, and the selection --topic makes of it. */
static int bs_select(topics_run_t *r, kcl_cluster_info_t *info, names_t *out) {
    kcl_error_t err = {0};
    const char **all = NULL;
    int rc = EXIT_OK;

    *out = (names_t){0};
    if (kcl_admin_describe_cluster(r->brokers, info, &err) != KCL_OK) return client_failed(r, &err);
    all = calloc((size_t)info->n_topics + 1, sizeof(*all));
    if (all == NULL) rc = fail(KAFKA_EXIT_FAILED, "out of memory");
    for (int i = 0; rc == EXIT_OK && i < info->n_topics; i++) all[i] = info->topics[i].name;
    if (rc == EXIT_OK) rc = select_topics(r->o, all, info->n_topics, out);
    free(all);
    return rc;
}

static const kcl_topic_info_t *info_topic(const kcl_cluster_info_t *info, const char *name) {
    for (int i = 0; i < info->n_topics; i++)
        if (strcmp(info->topics[i].name, name) == 0) return &info->topics[i];
    return NULL;
}

/* AdminClientTopicService.createTopic's checks, then CreateTopics. */
static int bs_create_checked(topics_run_t *r, kcl_new_topic_t *t) {
    kcl_error_t err = {0};
    long v;

    if (r->o->replication_factor != NULL && kafka_parse_int(r->o->replication_factor, &v) && (v < 1 || v > 32767))
        return fail(KAFKA_EXIT_FAILED, "The replication factor must be between 1 and 32767 inclusive");
    if (r->o->partitions != NULL && kafka_parse_int(r->o->partitions, &v) && v < 1)
        return fail(KAFKA_EXIT_FAILED, "The partitions must be greater than 0");
    if (kcl_admin_create_topic(r->brokers, t, &err) == KCL_OK) {
        printf("Created topic %s.\n", t->name);
        return EXIT_OK;
    }
    if (err.status == KCL_EBROKER && err.kafka_error == 36 /* TOPIC_ALREADY_EXISTS */ && has(r->o, O_IF_NOT_EXISTS))
        return EXIT_OK;
    return client_failed(r, &err);
}

static int bs_create(topics_run_t *r) {
    const topics_opts_t *o = r->o;
    kc_config_entry_t *configs = NULL;
    int32_t *ids = NULL;
    int n = 0, rows = 0, rf = 0;
    long partitions = -1, factor = -1;

    int rc = parse_configs(o, &configs, &n);
    if (rc == EXIT_OK && o->replica_assignment != NULL) rc = kafka_parse_assignment(o->replica_assignment, &ids, &rows, &rf);
    kcl_kv_t *kv = calloc((size_t)n + 1, sizeof(*kv));
    if (rc == EXIT_OK && kv == NULL) rc = fail(KAFKA_EXIT_FAILED, "out of memory");
    for (int i = 0; rc == EXIT_OK && i < n; i++) kv[i] = (kcl_kv_t){configs[i].key, configs[i].value};
    if (rc == EXIT_OK) {
        collision_warning(o->topic);
        if (o->partitions != NULL) kafka_parse_int(o->partitions, &partitions);
        if (o->replication_factor != NULL) kafka_parse_int(o->replication_factor, &factor);
        kcl_new_topic_t t = {o->topic, (int32_t)partitions, (int16_t)(factor > 32767 ? -1 : factor), rows, rf, ids,
                             n, kv, false};
        rc = bs_create_checked(r, &t);
    }
    free(kv);
    free(ids);
    kc_config_entries_free(configs, n);
    return rc;
}

/* Kafka prints the names joined by newlines with println: an empty
 * cluster gives one empty line. */
static int bs_list(topics_run_t *r) {
    kcl_cluster_info_t info;
    names_t sel;
    int rc = bs_select(r, &info, &sel);

    for (int i = 0; rc == EXIT_OK && i < sel.n; i++) printf("%s%s", i > 0 ? "\n" : "", sel.names[i]);
    if (rc == EXIT_OK) putchar('\n');
    free(sel.names);
    kcl_cluster_info_clear(&info);
    return rc;
}

/* How Kafka prints a value the broker did not send (a sensitive one). */
static char null_text[] = "null";

/* The configs that are not Kafka's defaults (ConfigEntry.isDefault is the
 * DEFAULT_CONFIG source), as borrowed entries, and min.insync.replicas. */
static int non_defaults(const kcl_config_t *c, int n, kc_config_entry_t **out, int *n_out, int *min_isr) {
    long v;

    *out = calloc((size_t)n + 1, sizeof(**out));
    *n_out = 0;
    if (*out == NULL) return fail(KAFKA_EXIT_FAILED, "out of memory");
    for (int i = 0; i < n; i++) {
        if (strcmp(c[i].name, "min.insync.replicas") == 0 && c[i].value != NULL && kafka_parse_int(c[i].value, &v))
            *min_isr = (int)v;
        if (c[i].source != KCL_SOURCE_DEFAULT)
            (*out)[(*n_out)++] = (kc_config_entry_t){c[i].name, c[i].value != NULL ? c[i].value : null_text};
    }
    return EXIT_OK;
}

/* The reassignments under way, as Kafka's listAllReassignments reads
 * them: a broker without the API (or that refuses the question) has none
 * to show. */
typedef struct {
    int n;
    kcl_reassignment_t *r; /* sorted by topic, then partition */
} reassignments_t;

static int bs_reassignments(topics_run_t *r, reassignments_t *out) {
    kcl_error_t err = {0};

    *out = (reassignments_t){0};
    if (kcl_admin_list_reassignments(r->brokers, NULL, 0, &out->r, &out->n, &err) == KCL_OK) return EXIT_OK;
    kcl_reassignments_free(out->r, out->n);
    *out = (reassignments_t){0};
    if (err.status == KCL_EUNSUPPORTED || (err.status == KCL_EBROKER && err.kafka_error == CLUSTER_AUTHORIZATION_FAILED))
        return EXIT_OK;
    return client_failed(r, &err);
}

static const kcl_reassignment_t *reassignment_of(const reassignments_t *ra, const char *topic, int32_t partition) {
    for (int i = 0; i < ra->n; i++)
        if (ra->r[i].partition == partition && strcmp(ra->r[i].topic, topic) == 0) return &ra->r[i];
    return NULL;
}

/* A partition of the metadata with its reassignment, if any.  A leader
 * that is not a live broker prints as none, as the admin client has no
 * node for it.  Kafka's getReplicationFactor: while replicas are being
 * added or removed, the replicas of the reassignment less those added. */
static partition_view_t bs_partition(const kcl_cluster_info_t *info, const kcl_partition_info_t *kp,
                                     const kcl_reassignment_t *ra) {
    int32_t leader = id_in(kp->leader, info->brokers, info->n_brokers) ? kp->leader : -1;
    partition_view_t v = {.partition = kp->partition, .leader = leader, .n_replicas = kp->n_replicas,
                          .n_isr = kp->n_isr, .replicas = kp->replicas, .isr = kp->isr, .rf = kp->n_replicas};
    bool moving = false;

    if (ra == NULL) return v;
    v.reassigning = true;
    v.n_adding = ra->n_adding;
    v.adding = ra->adding;
    v.n_removing = ra->n_removing;
    v.removing = ra->removing;
    for (int i = 0; i < kp->n_replicas; i++)
        moving |= id_in(kp->replicas[i], ra->adding, ra->n_adding) ||
                  id_in(kp->replicas[i], ra->removing, ra->n_removing);
    if (moving) v.rf = ra->n_replicas - ra->n_adding;
    return v;
}

/* One topic: its configs (DescribeConfigs), then the lines. */
static int bs_describe_topic(topics_run_t *r, const kcl_cluster_info_t *info, const reassignments_t *ra,
                             const kcl_topic_info_t *t) {
    kcl_config_t *configs = NULL;
    kc_config_entry_t *shown = NULL;
    kcl_error_t err = {0};
    int n = 0, n_shown = 0, rc = EXIT_OK;
    describe_ctx_t d = {info->n_brokers, info->brokers, -1, false};
    partition_view_t *parts = calloc((size_t)t->n_partitions + 1, sizeof(*parts));

    if (parts == NULL) rc = fail(KAFKA_EXIT_FAILED, "out of memory");
    /* DescribeTopics fails a topic Metadata answers with an error. */
    if (rc == EXIT_OK && t->error_code != 0) {
        kcl_admin_refusal(&err, t->error_code);
        rc = client_failed(r, &err);
    }
    if (rc == EXIT_OK && t->n_partitions == 0)
        rc = fail(KAFKA_EXIT_FAILED, "Topic '%s' has no partitions in the cluster's metadata", t->name);
    if (rc == EXIT_OK &&
        kcl_admin_describe_configs(r->brokers, KCL_RESOURCE_TOPIC, t->name, false, &configs, &n, &err) != KCL_OK)
        rc = client_failed(r, &err);
    if (rc == EXIT_OK) rc = non_defaults(configs, n, &shown, &n_shown, &d.min_isr);
    for (int p = 0; rc == EXIT_OK && p < t->n_partitions; p++)
        parts[p] = bs_partition(info, &t->partitions[p], reassignment_of(ra, t->name, t->partitions[p].partition));
    if (rc == EXIT_OK) describe_one(r->o, &d, t->name, parts, t->n_partitions, shown, n_shown);
    free(shown);
    free(parts);
    kcl_configs_free(configs, n);
    return rc;
}

static int bs_describe(topics_run_t *r) {
    kcl_cluster_info_t info;
    names_t sel;
    reassignments_t ra = {0};
    int rc = bs_select(r, &info, &sel);

    if (rc == EXIT_OK && sel.n > 0) rc = bs_reassignments(r, &ra);
    for (int i = 0; rc == EXIT_OK && i < sel.n; i++)
        rc = bs_describe_topic(r, &info, &ra, info_topic(&info, sel.names[i]));
    kcl_reassignments_free(ra.r, ra.n);
    free(sel.names);
    kcl_cluster_info_clear(&info);
    return rc;
}

/* CreatePartitions for each selected topic; the rows of
 * --replica-assignment past the topic's current partitions place the new
 * ones.  Kafka prints nothing on success. */
static int bs_alter(topics_run_t *r) {
    kcl_cluster_info_t info;
    names_t sel;
    kcl_error_t err = {0};
    int32_t *ids = NULL;
    int rows = 0, rf = 0;
    long total = 0;
    int rc = r->o->replica_assignment != NULL ? kafka_parse_assignment(r->o->replica_assignment, &ids, &rows, &rf) : EXIT_OK;

    if (rc != EXIT_OK) {
        free(ids);
        return rc;
    }
    kafka_parse_int(r->o->partitions, &total);
    rc = bs_select(r, &info, &sel);
    for (int i = 0; rc == EXIT_OK && i < sel.n; i++) {
        int current = info_topic(&info, sel.names[i])->n_partitions;
        int n_new = ids != NULL ? (rows > current ? rows - current : 0) : (int)total - current;
        const int32_t *placed = ids != NULL ? ids + (size_t)(rows > current ? current : rows) * (size_t)rf : NULL;
        if (kcl_admin_create_partitions(r->brokers, sel.names[i], (int32_t)total, n_new, rf, placed, false, &err) !=
            KCL_OK)
            rc = client_failed(r, &err);
    }
    free(ids);
    free(sel.names);
    kcl_cluster_info_clear(&info);
    return rc;
}

/* DeleteTopics of every selected topic at once; nothing printed. */
static int bs_delete(topics_run_t *r) {
    kcl_cluster_info_t info;
    names_t sel;
    kcl_error_t err = {0};
    int rc = bs_select(r, &info, &sel);

    if (rc == EXIT_OK && sel.n > 0 &&
        kcl_admin_delete_topics(r->brokers, (char *const *)sel.names, sel.n, &err) != KCL_OK)
        rc = client_failed(r, &err);
    free(sel.names);
    kcl_cluster_info_clear(&info);
    return rc;
}

/* Through ZooKeeper, deletion and growth run the delete-topic and
 * alter-topic commands (the zk_command column). */
static const action_t actions[] = {
    {O_CREATE, zk_create, bs_create, NULL, CAUSE_MESSAGE},
    {O_LIST, zk_list, bs_list, NULL, CAUSE_EXCEPTION},
    {O_DESCRIBE, zk_describe, bs_describe, NULL, CAUSE_EXCEPTION},
    {O_ALTER, zk_alter, bs_alter, cmd_alter_topic, CAUSE_EXCEPTION},
    {O_DELETE, zk_delete, bs_delete, cmd_delete_topic, CAUSE_EXCEPTION},
};

static int run_action(admin_t *a, topics_opts_t *o) {
    topics_run_t r = {a, o, NULL, NULL};
    int rc = EXIT_OK;

    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (has(o, actions[i].option)) r.action = &actions[i];
    if (has(o, O_COMMAND_CONFIG))
        return fail(KAFKA_EXIT_FAILED, "--command-config is not supported: kbroker-admin speaks PLAINTEXT to the "
                                       "brokers, without client properties");
    if (o->zookeeper != NULL) {
        if (!admin_zookeeper_valid(o->zookeeper))
            return fail(KAFKA_EXIT_FAILED, "invalid --zookeeper '%s': expected HOST:PORT[,HOST:PORT...][/chroot]",
                        o->zookeeper);
        a->zookeeper = o->zookeeper;
        return r.action->zookeeper(&r);
    }
    rc = kafka_open_brokers(a, o->bootstrap, r.action->words == CAUSE_MESSAGE ? KAFKA_CLIENT_MESSAGE
                                                                             : KAFKA_CLIENT_EXCEPTION, &r.brokers);
    if (rc == EXIT_OK) rc = r.action->bootstrap(&r);
    kcl_admin_close(r.brokers);
    return rc;
}

int kafka_topics_main(admin_t *a, int argc, char **argv) {
    topics_opts_t o = {0};
    int rc;

    admin_set_error_style(ADMIN_ERRORS_KAFKA_TOPICS, NULL);
    if (argc <= 1) return kafka_usage_die(usage, "Create, delete, describe, or change a topic.");
    rc = parse_options(a, &o, argc, argv);
    if (rc == EXIT_OK && has(&o, O_HELP))
        rc = kafka_usage_die(usage, "This tool helps to create, delete, describe, or change a topic.");
    else if (rc == EXIT_OK && has(&o, O_VERSION))
        puts(PACKAGE_VERSION " (kbroker-admin)");
    else if (rc == EXIT_OK)
        rc = check_args(&o);
    if (rc == EXIT_OK && !has(&o, O_HELP) && !has(&o, O_VERSION)) rc = run_action(a, &o);
    free(o.configs);
    free(o.delete_configs);
    return rc == EXIT_OK ? EXIT_OK : KAFKA_EXIT_FAILED;
}
