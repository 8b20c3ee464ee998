/*
 * kbroker_admin_kafka_tools.c - the front ends for two more of Kafka's
 * tools, over the kbroker-admin commands that already do their work and
 * print their lines:
 *
 *   kafka-reassign-partitions --zookeeper Z --reassignment-json-file F
 *       (--execute | --verify)                                 -> reassign
 *   kafka-leader-election --bootstrap-server B --election-type E
 *       (--all-topic-partitions | --topic T --partition P |
 *        --path-to-json-file F)                                -> elect-leaders
 *
 * Each checks its command line as Kafka 2.6's tool does (its messages, then
 * the usage, on stderr, exit 1), prints what that tool prints around the
 * command's lines (kafka-reassign-partitions' --zookeeper warnings), prints
 * a failure as that tool does ("Error: <message>", on stdout for
 * kafka-reassign-partitions, on stderr for kafka-leader-election) and
 * exits 0 or 1; a --verify that finds partitions still moving exits 0, as
 * Kafka's does.  What kbroker does not do is refused by name, never
 * pretended: a reassignment through the brokers (--bootstrap-server; admin
 * clients have AlterPartitionReassignments), --generate, --cancel, --list,
 * --additional, replication throttles (--throttle,
 * --replica-alter-log-dirs-throttle), and client properties
 * (--command-config, --admin.config: kbroker-admin speaks PLAINTEXT).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/kbroker_admin.h"
#include "coord/kbroker_admin_kafka.h"

#define BIT(o) (1u << (o))

/* Runs a kbroker-admin command with the given words; 0 or its status. */
static int run_command(admin_t *a, command_fn fn, char **words) {
    int n = 0;
    while (words[n] != NULL) n++;
    optind = 0; /* glibc: 0 also resets getopt's internal state for the new vector */
    return fn(a, n, words);
}

/* ---------------------------------------------- kafka-reassign-partitions */

enum {
    R_ZOOKEEPER, R_BOOTSTRAP, R_JSON_FILE, R_EXECUTE, R_VERIFY, R_GENERATE, R_CANCEL, R_LIST,
    R_TOPICS_FILE, R_BROKER_LIST, R_DISABLE_RACK_AWARE, R_THROTTLE, R_DIRS_THROTTLE, R_TIMEOUT, R_ADDITIONAL,
    R_PRESERVE_THROTTLES, R_COMMAND_CONFIG, R_HELP,
};

static const struct option reassign_options[] = {
    {"zookeeper", required_argument, NULL, R_ZOOKEEPER},
    {"bootstrap-server", required_argument, NULL, R_BOOTSTRAP},
    {"reassignment-json-file", required_argument, NULL, R_JSON_FILE},
    {"execute", no_argument, NULL, R_EXECUTE},
    {"verify", no_argument, NULL, R_VERIFY},
    {"generate", no_argument, NULL, R_GENERATE},
    {"cancel", no_argument, NULL, R_CANCEL},
    {"list", no_argument, NULL, R_LIST},
    {"topics-to-move-json-file", required_argument, NULL, R_TOPICS_FILE},
    {"broker-list", required_argument, NULL, R_BROKER_LIST},
    {"disable-rack-aware", no_argument, NULL, R_DISABLE_RACK_AWARE},
    {"throttle", required_argument, NULL, R_THROTTLE},
    {"replica-alter-log-dirs-throttle", required_argument, NULL, R_DIRS_THROTTLE},
    {"timeout", required_argument, NULL, R_TIMEOUT},
    {"additional", no_argument, NULL, R_ADDITIONAL},
    {"preserve-throttles", no_argument, NULL, R_PRESERVE_THROTTLES},
    {"command-config", required_argument, NULL, R_COMMAND_CONFIG},
    {"help", no_argument, NULL, R_HELP},
    {NULL, 0, NULL, 0},
};

static const char reassign_usage[] =
    "Option                                   Description\n"
    "------                                   -----------\n"
    "--bootstrap-server <host:port>           Not supported by kbroker-admin: reassign through ZooKeeper,\n"
    "                                           or with an admin client's AlterPartitionReassignments.\n"
    "--execute                                Kick off the reassignment as specified by the\n"
    "                                           --reassignment-json-file option.\n"
    "--help                                   Print usage information.\n"
    "--preserve-throttles                     Accepted (kbroker has no replication throttles).\n"
    "--reassignment-json-file <file>          The JSON file with the partition reassignment\n"
    "                                           configuration.\n"
    "--timeout <ms>                           Accepted (Kafka's wait for log directory moves).\n"
    "--verify                                 Verify if the reassignment completed as specified by the\n"
    "                                           --reassignment-json-file option.\n"
    "--zookeeper <host:port[/chroot]>         The ZooKeeper connection string (deprecated in Kafka).\n"
    "Refused by kbroker-admin: --generate, --cancel, --list, --additional, --throttle,\n"
    "--replica-alter-log-dirs-throttle, --command-config.\n";

typedef struct reassign_opts {
    uint32_t has;
    const char *zookeeper, *json_file;
} reassign_opts_t;

static int parse_reassign(reassign_opts_t *o, int argc, char **argv) {
    int opt;
    while ((opt = getopt_long(argc, argv, "+:", reassign_options, NULL)) != -1) {
        if (opt == '?' || opt == ':') return kafka_option_error(reassign_usage, opt, argv);
        o->has |= BIT(opt);
        if (opt == R_ZOOKEEPER) o->zookeeper = optarg;
        if (opt == R_JSON_FILE) o->json_file = optarg;
    }
    if (optind < argc) return kafka_usage_die(reassign_usage, "Unexpected argument: %s", argv[optind]);
    return EXIT_OK;
}

/* Kafka's checks, in its order, then what kbroker refuses. */
static int check_reassign(const reassign_opts_t *o) {
    static const struct { int opt; const char *why; } refused[] = {
        {R_GENERATE, "--generate is not implemented by kbroker-admin: write the plan (Kafka's reassignment JSON) "
                     "yourself"},
        {R_CANCEL, "--cancel is not implemented by kbroker-admin: cancel with an admin client's "
                   "AlterPartitionReassignments"},
        {R_LIST, "--list is not implemented by kbroker-admin: list with an admin client's "
                 "ListPartitionReassignments, or reassign --verify"},
        {R_BOOTSTRAP, "kbroker-admin reassigns through ZooKeeper only: give --zookeeper HOST:PORT[/chroot] "
                      "instead of --bootstrap-server"},
        {R_ADDITIONAL, "--additional is not supported: kbroker runs one reassignment request at a time"},
        {R_THROTTLE, "replication throttles are not implemented by kbroker: leave out --throttle"},
        {R_DIRS_THROTTLE, "moves between log directories are not implemented by kbroker: leave out "
                          "--replica-alter-log-dirs-throttle"},
        {R_COMMAND_CONFIG, "--command-config is not supported: kbroker-admin speaks PLAINTEXT"},
    };
    int actions = 0;
    for (int opt = R_EXECUTE; opt <= R_LIST; opt++) actions += (o->has & BIT(opt)) != 0;
    if (actions != 1)
        return kafka_usage_die(reassign_usage, "Command must include exactly one action: --generate, --execute, "
                               "--verify, --cancel, --list");
    if (!(o->has & (BIT(R_ZOOKEEPER) | BIT(R_BOOTSTRAP))))
        return kafka_usage_die(reassign_usage, "Please specify --bootstrap-server");
    if ((o->has & (BIT(R_EXECUTE) | BIT(R_VERIFY))) && !o->json_file)
        return kafka_usage_die(reassign_usage, "Missing required argument \"[reassignment-json-file]\"");
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (o->has & BIT(refused[i].opt)) return fail(KAFKA_EXIT_FAILED, "%s", refused[i].why);
    if (!admin_zookeeper_valid(o->zookeeper))
        return fail(KAFKA_EXIT_FAILED, "invalid --zookeeper '%s': expected HOST:PORT[,HOST:PORT...][/chroot]",
                    o->zookeeper);
    return EXIT_OK;
}

int kafka_reassign_partitions_main(admin_t *a, int argc, char **argv) {
    reassign_opts_t o = {0};
    admin_set_error_style(ADMIN_ERRORS_KAFKA_STDOUT, NULL);
    if (argc <= 1)
        return kafka_usage_die(reassign_usage, "This tool helps to move topic partitions between replicas.");
    int rc = parse_reassign(&o, argc, argv);
    if (rc == EXIT_OK && (o.has & BIT(R_HELP)))
        return kafka_usage_die(reassign_usage, "This tool helps to move topic partitions between replicas.");
    if (rc == EXIT_OK) rc = check_reassign(&o);
    if (rc != EXIT_OK) return KAFKA_EXIT_FAILED;
    bool verify = (o.has & BIT(R_VERIFY)) != 0;
    a->zookeeper = o.zookeeper;
    puts("Warning: --zookeeper is deprecated, and will be removed in a future version of Kafka.");
    if (verify)
        puts("Warning: because you are using the deprecated --zookeeper option, the results may be incomplete.  "
             "Use --bootstrap-server instead for more accurate results.");
    char *words[] = {"reassign", "--plan", (char *)o.json_file, verify ? "--verify" : "--execute", NULL};
    rc = run_command(a, cmd_reassign, words);
    /* --verify printed a line per partition: Kafka's tool exits 0 whatever
     * they say. */
    if (verify && (rc == EXIT_TOPIC_BUSY || rc == EXIT_NO_TOPIC)) rc = EXIT_OK;
    return rc == EXIT_OK ? EXIT_OK : KAFKA_EXIT_FAILED;
}

/* -------------------------------------------------- kafka-leader-election */

enum { E_BOOTSTRAP, E_ADMIN_CONFIG, E_JSON_FILE, E_TOPIC, E_PARTITION, E_ALL, E_TYPE, E_TIMEOUT, E_HELP };

static const struct option election_options[] = {
    {"bootstrap-server", required_argument, NULL, E_BOOTSTRAP},
    {"admin.config", required_argument, NULL, E_ADMIN_CONFIG},
    {"path-to-json-file", required_argument, NULL, E_JSON_FILE},
    {"topic", required_argument, NULL, E_TOPIC},
    {"partition", required_argument, NULL, E_PARTITION},
    {"all-topic-partitions", no_argument, NULL, E_ALL},
    {"election-type", required_argument, NULL, E_TYPE},
    {"timeout", required_argument, NULL, E_TIMEOUT},
    {"help", no_argument, NULL, E_HELP},
    {NULL, 0, NULL, 0},
};

static const char election_usage[] =
    "Option                                   Description\n"
    "------                                   -----------\n"
    "--admin.config <config file>             Not supported by kbroker-admin (it speaks PLAINTEXT).\n"
    "--all-topic-partitions                   Perform election on all of the eligible topic partitions.\n"
    "--bootstrap-server <host:port>           A hostname and port for the broker to connect to. REQUIRED.\n"
    "--election-type <election type>          preferred or unclean. REQUIRED.\n"
    "--help                                   Print usage information.\n"
    "--partition <Integer: partition id>      Partition id for which to perform an election. REQUIRED if\n"
    "                                           --topic is specified.\n"
    "--path-to-json-file <Path to JSON file>  The JSON file with the list of partitions for which leader\n"
    "                                           elections should be performed:\n"
    "                                           {\"partitions\": [{\"topic\": \"foo\", \"partition\": 1}]}\n"
    "--timeout <seconds>                      kbroker-admin: how long to wait for the brokers (default 30).\n"
    "--topic <topic name>                     Name of topic for which to perform an election.\n";

typedef struct election_opts {
    uint32_t has;
    const char *bootstrap, *json_file, *topic, *partition, *type, *timeout;
} election_opts_t;

static int parse_election(election_opts_t *o, int argc, char **argv) {
    int opt;
    while ((opt = getopt_long(argc, argv, "+:", election_options, NULL)) != -1) {
        if (opt == '?' || opt == ':') return kafka_option_error(election_usage, opt, argv);
        o->has |= BIT(opt);
        if (opt == E_BOOTSTRAP) o->bootstrap = optarg;
        if (opt == E_JSON_FILE) o->json_file = optarg;
        if (opt == E_TOPIC) o->topic = optarg;
        if (opt == E_PARTITION) o->partition = optarg;
        if (opt == E_TYPE) o->type = optarg;
        if (opt == E_TIMEOUT) o->timeout = optarg;
    }
    if (optind < argc) return kafka_usage_die(election_usage, "Unexpected argument: %s", argv[optind]);
    return EXIT_OK;
}

/* LeaderElectionCommand.validate's checks and words, in its order. */
static int check_election(const election_opts_t *o) {
    bool has_bootstrap = o->has & BIT(E_BOOTSTRAP), has_type = o->has & BIT(E_TYPE);
    int sources = (o->topic != NULL) + ((o->has & BIT(E_ALL)) != 0) + (o->json_file != NULL);
    if (!has_bootstrap || !has_type)
        return fail(KAFKA_EXIT_FAILED, "Missing required option(s): %s%s%s", has_type ? "" : "election-type",
                    !has_type && !has_bootstrap ? ", " : "", has_bootstrap ? "" : "bootstrap-server");
    if (sources != 1)
        return fail(KAFKA_EXIT_FAILED, "One and only one of the following options is required: topic, "
                    "all-topic-partitions, path-to-json-file");
    if (o->topic != NULL && o->partition == NULL) return fail(KAFKA_EXIT_FAILED, "Missing required option(s): partition");
    if (o->topic == NULL && o->partition != NULL)
        return fail(KAFKA_EXIT_FAILED, "Option partition is only allowed if topic is used");
    if (o->has & BIT(E_ADMIN_CONFIG))
        return fail(KAFKA_EXIT_FAILED, "--admin.config is not supported: kbroker-admin speaks PLAINTEXT");
    return EXIT_OK;
}

int kafka_leader_election_main(admin_t *a, int argc, char **argv) {
    election_opts_t o = {0};
    static const char help[] = "This tool attempts to elect a new leader for a set of topic partitions. The type "
                               "of elections supported are preferred replicas and unclean replicas.";
    admin_set_error_style(ADMIN_ERRORS_KAFKA_STDERR, NULL);
    if (argc <= 1) return kafka_usage_die(election_usage, help);
    int rc = parse_election(&o, argc, argv);
    if (rc == EXIT_OK && (o.has & BIT(E_HELP))) return kafka_usage_die(election_usage, help);
    if (rc == EXIT_OK) rc = check_election(&o);
    if (rc == EXIT_OK && o.timeout != NULL) rc = kafka_set_timeout(a, election_usage, o.timeout);
    if (rc != EXIT_OK) return KAFKA_EXIT_FAILED;
    a->bootstrap = o.bootstrap;
    char *words[9] = {"elect-leaders", "--election-type", (char *)o.type};
    int n = 3;
    if (o.has & BIT(E_ALL)) words[n++] = "--all-topic-partitions";
    if (o.json_file) {
        words[n++] = "--path-to-json-file";
        words[n++] = (char *)o.json_file;
    }
    if (o.topic) {
        words[n++] = "--topic";
        words[n++] = (char *)o.topic;
        words[n++] = "--partition";
        words[n++] = (char *)o.partition;
    }
    words[n] = NULL;
    return run_command(a, cmd_elect_leaders, words) == EXIT_OK ? EXIT_OK : KAFKA_EXIT_FAILED;
}
