/*
 * kbroker_admin_kafka_tools.c - the front ends for two more of Kafka's
 * tools, over the kbroker-admin commands that already do their work and
 * print their lines:
 *
 *   kafka-reassign-partitions --zookeeper Z --reassignment-json-file F
 *       (--execute | --verify)                                 -> reassign
 *   kafka-reassign-partitions --zookeeper Z --generate
 *       --topics-to-move-json-file F --broker-list L           -> reassign_generate
 *   kafka-reassign-partitions --bootstrap-server B
 *       (--reassignment-json-file F --cancel | --list)         -> reassign (brokers)
 *   kafka-leader-election --bootstrap-server B --election-type E
 *       (--all-topic-partitions | --topic T --partition P |
 *        --path-to-json-file F)                                -> elect-leaders
 *
 * Each checks its command line as Kafka 2.6's tool does (its messages, then
 * the usage, on stderr, exit 1; for kafka-reassign-partitions also which
 * options each action permits), prints what that tool prints around the
 * command's lines (kafka-reassign-partitions' --zookeeper warnings), prints
 * a failure as that tool does ("Error: <message>", on stdout for
 * kafka-reassign-partitions, on stderr for kafka-leader-election) and
 * exits 0 or 1; a --verify that finds partitions still moving exits 0, as
 * Kafka's does.  What kbroker does not do is refused by name, never
 * pretended: --generate, --execute and --verify through the brokers
 * (--bootstrap-server; admin clients have AlterPartitionReassignments),
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
    "--bootstrap-server <host:port>           The brokers to ask, for --cancel and --list (kbroker-admin\n"
    "                                           starts and verifies reassignments through ZooKeeper).\n"
    "--cancel                                 Cancel an active reassignment.\n"
    "--broker-list <brokerlist>               The brokers to which the partitions need to be reassigned,\n"
    "                                           \"0,1,2\", for --generate.\n"
    "--disable-rack-aware                     Disable rack aware replica assignment\n"
    "--execute                                Kick off the reassignment as specified by the\n"
    "                                           --reassignment-json-file option.\n"
    "--generate                               Generate a candidate partition reassignment configuration\n"
    "                                           (nothing is executed).\n"
    "--help                                   Print usage information.\n"
    "--list                                   List all active partition reassignments.\n"
    "--preserve-throttles                     Accepted (kbroker has no replication throttles).\n"
    "--reassignment-json-file <file>          The JSON file with the partition reassignment\n"
    "                                           configuration.\n"
    "--topics-to-move-json-file <file>        The topics to move, {\"topics\": [{\"topic\": \"foo\"}],\n"
    "                                           \"version\": 1}, for --generate.\n"
    "--timeout <ms>                           Accepted with --cancel (Kafka's wait for log directory\n"
    "                                           moves; kbroker has none).\n"
    "--verify                                 Verify if the reassignment completed as specified by the\n"
    "                                           --reassignment-json-file option.\n"
    "--zookeeper <host:port[/chroot]>         The ZooKeeper connection string (deprecated in Kafka),\n"
    "                                           for --generate, --execute and --verify.\n"
    "Refused by kbroker-admin: --additional, --throttle,\n"
    "--replica-alter-log-dirs-throttle, --command-config, --generate, --execute and\n"
    "--verify through --bootstrap-server.\n";

typedef struct reassign_opts {
    uint32_t has;
    int n_order;
    int order[R_HELP + 1]; /* the options given, in command-line order, each once */
    const char *zookeeper, *bootstrap, *json_file, *topics_file, *broker_list;
} reassign_opts_t;

static int parse_reassign(reassign_opts_t *o, int argc, char **argv) {
    int opt;
    while ((opt = getopt_long(argc, argv, "+:", reassign_options, NULL)) != -1) {
        if (opt == '?' || opt == ':') return kafka_option_error(reassign_usage, opt, argv);
        if (!(o->has & BIT(opt))) o->order[o->n_order++] = opt;
        o->has |= BIT(opt);
        if (opt == R_ZOOKEEPER) o->zookeeper = optarg;
        if (opt == R_BOOTSTRAP) o->bootstrap = optarg;
        if (opt == R_JSON_FILE) o->json_file = optarg;
        if (opt == R_TOPICS_FILE) o->topics_file = optarg;
        if (opt == R_BROKER_LIST) o->broker_list = optarg;
    }
    if (optind < argc) return kafka_usage_die(reassign_usage, "Unexpected argument: %s", argv[optind]);
    return EXIT_OK;
}

/* joptsimple's name of an option in messages: "[cancel]". */
static const char *reassign_spec(int opt) {
    static char buf[64];
    snprintf(buf, sizeof(buf), "[%s]", reassign_options[opt].name);
    return buf;
}

/* ReassignPartitionsCommand.validateAndParseArgs: per action, the options
 * it requires and those it permits besides. */
static const struct {
    int action;
    uint32_t required, permitted;
} reassign_rules[] = {
    {R_VERIFY, BIT(R_JSON_FILE),
     BIT(R_BOOTSTRAP) | BIT(R_COMMAND_CONFIG) | BIT(R_PRESERVE_THROTTLES) | BIT(R_ZOOKEEPER)},
    {R_GENERATE, BIT(R_TOPICS_FILE) | BIT(R_BROKER_LIST),
     BIT(R_BOOTSTRAP) | BIT(R_BROKER_LIST) | BIT(R_COMMAND_CONFIG) | BIT(R_DISABLE_RACK_AWARE) | BIT(R_ZOOKEEPER)},
    {R_EXECUTE, BIT(R_JSON_FILE),
     BIT(R_ADDITIONAL) | BIT(R_BOOTSTRAP) | BIT(R_COMMAND_CONFIG) | BIT(R_THROTTLE) | BIT(R_DIRS_THROTTLE) |
         BIT(R_TIMEOUT) | BIT(R_ZOOKEEPER)},
    {R_CANCEL, BIT(R_JSON_FILE), BIT(R_BOOTSTRAP) | BIT(R_COMMAND_CONFIG) | BIT(R_PRESERVE_THROTTLES) | BIT(R_TIMEOUT)},
    {R_LIST, 0, BIT(R_BOOTSTRAP) | BIT(R_COMMAND_CONFIG)},
};

/* Kafka's checks of the command line, in its order. */
static int check_reassign_args(const reassign_opts_t *o, int *action) {
    static const int bootstrap_only[] = {R_ADDITIONAL, R_CANCEL, R_COMMAND_CONFIG, R_DIRS_THROTTLE, R_LIST, R_TIMEOUT};
    int actions = 0, rule = 0;
    for (int opt = R_EXECUTE; opt <= R_LIST; opt++) actions += (o->has & BIT(opt)) != 0;
    if (actions != 1)
        return kafka_usage_die(reassign_usage, "Command must include exactly one action: --generate, --execute, "
                               "--verify, --cancel, --list");
    if (!(o->has & (BIT(R_ZOOKEEPER) | BIT(R_BOOTSTRAP))))
        return kafka_usage_die(reassign_usage, "Please specify --bootstrap-server");
    while (!(o->has & BIT(reassign_rules[rule].action))) rule++;
    *action = reassign_rules[rule].action;
    for (int opt = 0; opt <= R_HELP; opt++)
        if ((reassign_rules[rule].required & BIT(opt)) && !(o->has & BIT(opt)))
            return kafka_usage_die(reassign_usage, "Missing required argument \"%s\"", reassign_spec(opt));
    uint32_t allowed = BIT(*action) | reassign_rules[rule].required | reassign_rules[rule].permitted;
    for (int i = 0; i < o->n_order; i++)
        if (!(allowed & BIT(o->order[i]))) {
            char opt[64];
            snprintf(opt, sizeof(opt), "%s", reassign_spec(o->order[i]));
            return kafka_usage_die(reassign_usage, "Option \"%s\" can't be used with action \"%s\"", opt,
                                   reassign_spec(*action));
        }
    /* Kafka throws this past its handler: the message on stderr, exit 1. */
    for (size_t i = 0; !(o->has & BIT(R_BOOTSTRAP)) && i < sizeof(bootstrap_only) / sizeof(bootstrap_only[0]); i++)
        if (o->has & BIT(bootstrap_only[i])) {
            fprintf(stderr, "You must specify --bootstrap-server when using \"%s\"\n",
                    reassign_spec(bootstrap_only[i]));
            return KAFKA_EXIT_FAILED;
        }
    return EXIT_OK;
}

/* Kafka's checks, then what kbroker refuses. */
static int check_reassign(const reassign_opts_t *o, int *action) {
    static const struct { int opt; const char *why; } refused[] = {
        {R_ADDITIONAL, "--additional is not supported: kbroker runs one reassignment request at a time"},
        {R_THROTTLE, "replication throttles are not implemented by kbroker: leave out --throttle"},
        {R_DIRS_THROTTLE, "moves between log directories are not implemented by kbroker: leave out "
                          "--replica-alter-log-dirs-throttle"},
        {R_COMMAND_CONFIG, "--command-config is not supported: kbroker-admin speaks PLAINTEXT"},
    };
    int rc = check_reassign_args(o, action);
    if (rc != EXIT_OK) return rc;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (o->has & BIT(refused[i].opt)) return fail(KAFKA_EXIT_FAILED, "%s", refused[i].why);
    if (*action == R_CANCEL || *action == R_LIST) return EXIT_OK;
    if (o->has & BIT(R_BOOTSTRAP))
        return fail(KAFKA_EXIT_FAILED, "kbroker-admin generates, starts and verifies reassignments through ZooKeeper only: "
                    "give --zookeeper HOST:PORT[/chroot] instead of --bootstrap-server");
    if (!admin_zookeeper_valid(o->zookeeper))
        return fail(KAFKA_EXIT_FAILED, "invalid --zookeeper '%s': expected HOST:PORT[,HOST:PORT...][/chroot]",
                    o->zookeeper);
    return EXIT_OK;
}

/* --cancel and --list: the reassign command through the brokers. */
static int reassign_via_brokers(admin_t *a, const reassign_opts_t *o, int action) {
    a->bootstrap = o->bootstrap;
    char *cancel[] = {"reassign", "--plan", (char *)o->json_file, "--cancel", NULL};
    char *list[] = {"reassign", "--list", NULL};
    return run_command(a, cmd_reassign, action == R_CANCEL ? cancel : list) == EXIT_OK ? EXIT_OK
                                                                                         : KAFKA_EXIT_FAILED;
}

int kafka_reassign_partitions_main(admin_t *a, int argc, char **argv) {
    reassign_opts_t o = {0};
    int action = -1;
    admin_set_error_style(ADMIN_ERRORS_KAFKA_STDOUT, NULL);
    if (argc <= 1)
        return kafka_usage_die(reassign_usage, "This tool helps to move topic partitions between replicas.");
    int rc = parse_reassign(&o, argc, argv);
    if (rc == EXIT_OK && (o.has & BIT(R_HELP)))
        return kafka_usage_die(reassign_usage, "This tool helps to move topic partitions between replicas.");
    if (rc == EXIT_OK) rc = check_reassign(&o, &action);
    if (rc != EXIT_OK) return KAFKA_EXIT_FAILED;
    if (action == R_CANCEL || action == R_LIST) return reassign_via_brokers(a, &o, action);
    bool verify = action == R_VERIFY;
    a->zookeeper = o.zookeeper;
    puts("Warning: --zookeeper is deprecated, and will be removed in a future version of Kafka.");
    if (action == R_GENERATE)
        return reassign_generate(a, o.topics_file, o.broker_list, (o.has & BIT(R_DISABLE_RACK_AWARE)) != 0) == EXIT_OK
                   ? EXIT_OK
                   : KAFKA_EXIT_FAILED;
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
