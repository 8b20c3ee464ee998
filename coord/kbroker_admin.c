/*
 * kbroker_admin.c - kbroker-admin, the operator's command-line tool.
 *
 * It plays the part of kafka-topics.sh, kafka-configs.sh and
 * kafka-reassign-partitions.sh --zookeeper for a kbroker cluster: it creates
 * topics, adds partitions to them (kbroker_admin_alter.c), deletes them
 * (kbroker_admin_delete.c), moves their replicas (kbroker_admin_reassign.c)
 * and changes their config overrides
 * by writing the same znodes Kafka 2.6 writes, and shows topics, brokers and
 * overrides as ZooKeeper holds them.  All ZooKeeper work goes
 * through libkcoord (the session, the watched cluster view and topic
 * creation), so the tool and the broker can never disagree about a format.
 * Commands live in one table; each one parses its own options, connects,
 * waits for the cluster view to load, and then acts on that view.
 *
 * It also plays kafka-consumer-groups.sh --list / --describe: those two
 * commands (kbroker_admin_groups.c) ask the brokers, through libkclient,
 * since groups live in the brokers, not in ZooKeeper.  The table says which
 * commands need --zookeeper and which --bootstrap-server.
 *
 * And it takes Kafka's own command lines: "kafka-topics ...",
 * "kafka-configs ...", "kafka-reassign-partitions ..." and
 * "kafka-leader-election ..." (what the installed kafka-topics.sh,
 * kafka-configs.sh, kafka-reassign-partitions.sh and
 * kafka-leader-election.sh run), or kafka-topics.sh's options with no
 * command word at all, run by the front ends in kbroker_admin_kafka_*.c
 * with Kafka's options, output and exit status (0 or 1) instead of the
 * list below.
 *
 *   kbroker-admin --zookeeper HOST:PORT[,HOST:PORT...][/chroot]
 *                 [--timeout SECONDS] [--output text|json] COMMAND [OPTIONS]
 *   kbroker-admin --bootstrap-server HOST:PORT[,HOST:PORT...]
 *                 [--timeout SECONDS] [--output text|json] GROUP-COMMAND [OPTIONS]
 *
 * Exit status (the man page copies this list, and adds a table of the
 * statuses each command can give):
 *   0  success
 *   1  usage error, any command: unknown command or option, missing or
 *      malformed argument (including a non-numeric --partitions or
 *      --replication-factor, an unknown topic config or invalid value in
 *      create-topic --config or alter-config, a reassignment plan Kafka's
 *      tool refuses), conflicting options; also delete-topic of an
 *      internal topic and elect-leaders --zookeeper --election-type unclean
 *   2  ZooKeeper unreachable within --timeout (or the connection was lost
 *      while reading the cluster); for what asks the brokers (list-groups,
 *      describe-group, elect-leaders and reassign --cancel / --list with
 *      --bootstrap-server, describe-topic --under-min-isr-partitions /
 *      --at-min-isr-partitions) no broker could be connected to
 *   3  create-topic: the topic already exists, or one of that name is
 *      being deleted
 *   4  create-topic: invalid topic name (illegal characters, too long, "."
 *      or "..", or a name colliding with an existing topic once '.' and '_'
 *      are equated)
 *   5  create-topic, alter-topic: invalid number of partitions, replication
 *      factor or replica assignment (including a replication factor larger
 *      than the number of live brokers, an unknown broker, and a malformed
 *      --replica-assignment; for alter-topic also a count not above the
 *      current one and an internal topic), or more partitions than the
 *      brokers can hold (the controller's answer, see
 *      kbroker_admin_capacity.c); reassign --execute: a broker of the plan
 *      that is not registered, or a plan larger than one znode takes
 *   6  not found: the topic (describe-topic --topic, describe-config,
 *      alter-config, alter-topic, delete-topic, elect-leaders --topic
 *      without --partition), or a partition of the plan (reassign
 *      --execute, reassign --verify)
 *   7  any other ZooKeeper error, or a ZooKeeper operation that did not
 *      finish within --timeout, any ZooKeeper command; delete-topic --wait:
 *      not deleted within --timeout, or the controller refused;
 *      elect-leaders --zookeeper: an election already in progress
 *   8  describe-group: the consumer group does not exist
 *   9  a broker answered with an error (COORDINATOR_NOT_AVAILABLE still
 *      after --timeout-ms included), with something that is not a Kafka
 *      answer, or not within --timeout-ms: list-groups, describe-group,
 *      elect-leaders (also: a partition could not be elected), reassign
 *      --cancel (also: the controller refused a partition) and --list,
 *      describe-topic's min ISR reports
 *  10  alter-topic: the topic is marked for deletion or being reassigned;
 *      reassign --execute: a reassignment is under way
 *      (/admin/reassign_partitions exists); reassign --verify: a partition
 *      of the plan is still moving, or not on the plan's replicas
 * Every error is one line on stderr starting with "kbroker-admin: ".
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/kc_log.h"
#include "common/kc_names.h"
#include "coord/kbroker_admin.h"
#include "coord/kc_configs.h"
#include "coord/kc_model.h"
#include "coord/kc_topics.h"
#include "coord/kc_view.h"
#include "coord/kc_zk.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

/* Kafka 2.6's zookeeper.session.timeout.ms default. */
#define SESSION_TIMEOUT_MS 18000
/* Above every level: the tool reports failures itself, in one line each. */
#define LOG_SILENT ((kc_log_level_t)(KC_LOG_ERROR + 1))

/* The Kafka error kc_topic_plan() reports for a bad name; its other
 * refusals (partitions, replication factor, assignment) all map to exit 5. */
#define KAFKA_INVALID_TOPIC_EXCEPTION 17

/* What a command talks to, hence which connection option it needs
 * (VIA_EITHER: one of the two); a Kafka tool's front end takes either, with
 * its own options. */
typedef enum { VIA_ZOOKEEPER, VIA_BROKERS, VIA_EITHER, VIA_KAFKA_TOOL } command_via_t;

typedef struct command {
    const char *name;
    command_fn run;
    command_via_t via;
    const char *usage;
} command_t;

/* ------------------------------------------------------------------ */
/* Errors and argument parsing                                         */
/* ------------------------------------------------------------------ */

/* How fail() words a failure: kbroker-admin's own line, or the lines the
 * Kafka tool a front end stands in for prints (set once, before any work). */
static admin_error_style_t error_style = ADMIN_ERRORS_OWN;
static const char *error_context = "";

void admin_set_error_style(admin_error_style_t style, const char *context) {
    error_style = style;
    error_context = context != NULL ? context : "";
}

admin_error_style_t admin_error_style(void) { return error_style; }

int fail(int status, const char *fmt, ...) {
    bool to_stdout = error_style == ADMIN_ERRORS_KAFKA_TOPICS || error_style == ADMIN_ERRORS_KAFKA_STDOUT;
    FILE *out = to_stdout ? stdout : stderr;
    va_list ap;

    if (error_style == ADMIN_ERRORS_OWN) fputs(PROG ": ", out);
    if (error_style == ADMIN_ERRORS_KAFKA_STDOUT || error_style == ADMIN_ERRORS_KAFKA_STDERR) fputs("Error: ", out);
    if (error_style == ADMIN_ERRORS_KAFKA_TOPICS) fputs("Error while executing topic command : ", out);
    if (error_style == ADMIN_ERRORS_KAFKA_CONFIGS)
        fprintf(out, "Error while executing config command with args '%s'\n", error_context);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    return status;
}

/* No sign other than '-', no blanks. */
bool parse_int(const char *s, long min, long max, long *out) {
    char *end;

    if (s == NULL || !(*s == '-' || (*s >= '0' && *s <= '9'))) return false;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) return false;
    *out = v;
    return true;
}

/* Options of the commands, which go after the command's name. */
static const char *command_options[] = {"--topic", "--partitions", "--replication-factor", "--replica-assignment",
                                        "--config", "--add-config", "--delete-config", "--broker",
                                        "--group", "--state", "--json", "--timeout-ms", "--plan"};

/* The hint for a command option ("--topic" or "--topic=x") given before
 * the command, or NULL. */
static const char *option_hint(const char *opt, bool global) {
    size_t len = strcspn(opt, "=");
    for (size_t i = 0; global && i < sizeof(command_options) / sizeof(command_options[0]); i++)
        if (strlen(command_options[i]) == len && strncmp(opt, command_options[i], len) == 0)
            return "command options go after the command, e.g. " PROG " --zookeeper HOST:PORT describe-topic "
                   "--topic T";
    return NULL;
}

/* getopt_long is run with opterr = 0 so that every complaint is ours and fits
 * on one line; this turns its '?' and ':' answers into that line (fail()
 * names the tool). */
int option_error(const char *where, int c, char **argv) {
    const char *opt = argv[optind - 1];
    const char *sep = where != NULL ? ": " : "";
    const char *hint = c != ':' && optopt == 0 ? option_hint(opt, where == NULL) : NULL;

    if (where == NULL) where = "";
    if (c == ':') return fail(EXIT_USAGE, "%s%soption '%s' needs a value", where, sep, opt);
    if (optopt != 0) return fail(EXIT_USAGE, "%s%sunknown option '-%c'", where, sep, optopt);
    if (hint != NULL)
        return fail(EXIT_USAGE, "%s%sunknown option '%.*s'; %s", where, sep, (int)strcspn(opt, "="), opt, hint);
    return fail(EXIT_USAGE, "%s%sunknown option '%s'", where, sep, opt);
}

/* Each comma-separated server must be HOST:PORT; a chroot may follow the
 * last one.  Checked here so a typo is a usage error, not "unreachable". */
bool admin_zookeeper_valid(const char *connect) {
    size_t hosts_len = strcspn(connect, "/");
    char *hosts = strndup(connect, hosts_len);
    bool ok = hosts != NULL && hosts_len > 0;
    char *save = NULL;

    for (char *server = ok ? strtok_r(hosts, ",", &save) : NULL; server != NULL;
         server = strtok_r(NULL, ",", &save)) {
        const char *colon = strrchr(server, ':');
        long port;
        if (colon == NULL || colon == server || !parse_int(colon + 1, 1, 65535, &port)) ok = false;
    }
    if (ok && (hosts[0] == ',' || hosts[hosts_len - 1] == ',' || strstr(hosts, ",,") != NULL))
        ok = false;
    free(hosts);
    return ok;
}

/* ------------------------------------------------------------------ */
/* Connecting and waiting                                              */
/* ------------------------------------------------------------------ */

int admin_remaining_ms(const admin_t *a) {
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms = (long long)(a->deadline.tv_sec - now.tv_sec) * 1000 +
                   (a->deadline.tv_nsec - now.tv_nsec) / 1000000;
    if (ms < 0) return 0;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

char *admin_registered_bootstrap(const kc_view_t *v) {
    size_t len = 0;
    char *out;

    for (int i = 0; i < kc_view_broker_count(v); i++) {
        const kc_broker_info_t *b = kc_view_broker_at(v, i);
        if (b->host && b->port > 0) len += strlen(b->host) + 16;
    }
    if (len == 0 || !(out = calloc(1, len + 1))) return NULL;
    for (int i = 0; i < kc_view_broker_count(v); i++) {
        const kc_broker_info_t *b = kc_view_broker_at(v, i);
        size_t used = strlen(out);
        bool v6 = b->host && strchr(b->host, ':');
        if (b->host && b->port > 0)
            snprintf(out + used, len + 1 - used, "%s%s%s%s:%d", used ? "," : "", v6 ? "[" : "", b->host, v6 ? "]" : "",
                     (int)b->port);
    }
    return out;
}

/* A wait that ran out: without a connection ZooKeeper is unreachable,
 * with one it is merely slow or stuck. */
int admin_wait_failed(const admin_t *a, const char *doing) {
    if (!kc_session_connected(a->session))
        return fail(EXIT_UNREACHABLE, "lost the connection to ZooKeeper at %s while %s",
                    a->zookeeper, doing);
    return fail(EXIT_ZK_ERROR, "timed out after %d seconds %s", a->timeout_s, doing);
}

int admin_connect(admin_t *a) {
    if (a->session != NULL) return EXIT_OK;
    clock_gettime(CLOCK_MONOTONIC, &a->deadline);
    a->deadline.tv_sec += a->timeout_s;
    a->base = event_base_new();
    if (a->base == NULL) return fail(EXIT_ZK_ERROR, "cannot create an event loop");
    a->session = kc_session_new(a->base, a->zookeeper, SESSION_TIMEOUT_MS);
    if (a->session == NULL) return fail(EXIT_USAGE, "invalid --zookeeper '%s'", a->zookeeper);
    /* The ZooKeeper client would log every refused connection attempt. */
    zoo_set_debug_level(0);
    /* A handle that cannot be created (no host name resolves) is not
     * waited for: the tool says why at once. */
    int started = kc_session_start(a->session);
    if (started != 0) {
        kc_session_stats_t st;
        kc_session_get_stats(a->session, &st);
        return fail(EXIT_UNREACHABLE, "cannot connect to ZooKeeper at %s: %s", a->zookeeper,
                    started > 0 ? kc_zk_init_error(st.last_handle_errno) : "out of memory");
    }
    if (kc_session_wait_connected(a->session, admin_remaining_ms(a)) < 0)
        return fail(EXIT_UNREACHABLE, "ZooKeeper at %s unreachable within %d seconds",
                    a->zookeeper, a->timeout_s);
    return EXIT_OK;
}

static void view_changed(kc_view_t *v, int what, void *arg) {
    admin_t *a = arg;
    if (kc_view_loaded(v)) a->view_loaded = 1;
    a->view_changed = 1;
}

/* Connects and waits until the cluster view has read everything once; a
 * second call (a Kafka front end checks the view, then runs a command)
 * finds it loaded. */
int admin_load_view(admin_t *a) {
    if (a->view != NULL && a->view_loaded) return EXIT_OK;
    int rc = admin_connect(a);
    if (rc != EXIT_OK) return rc;

    a->view = kc_view_new(a->session, view_changed, a);
    if (a->view == NULL) return fail(EXIT_ZK_ERROR, "out of memory");
    if (kc_view_loaded(a->view)) a->view_loaded = 1;
    if (kc_session_wait(a->session, &a->view_loaded, admin_remaining_ms(a)) < 0)
        return admin_wait_failed(a, "reading the cluster from ZooKeeper");
    return EXIT_OK;
}

/*
 * Frees the view, then closes the ZooKeeper session (the server drops it at
 * once instead of waiting out its timeout).  A read the view still has in
 * flight completes inside the close, which releases what is left of the view.
 */
static void admin_teardown(admin_t *a) {
    kc_view_free(a->view);
    kc_session_free(a->session);
    if (a->base != NULL) event_base_free(a->base);
}

/* ------------------------------------------------------------------ */
/* Output helpers                                                      */
/* ------------------------------------------------------------------ */

int print_json(json_t *doc) {
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    if (text == NULL) return fail(EXIT_ZK_ERROR, "out of memory");
    puts(text);
    free(text);
    return EXIT_OK;
}

json_t *json_int_list(const int32_t *v, int n) {
    json_t *arr = json_array();
    for (int i = 0; arr != NULL && i < n; i++) json_array_append_new(arr, json_integer(v[i]));
    return arr;
}

/* ------------------------------------------------------------------ */
/* create-topic                                                        */
/* ------------------------------------------------------------------ */

typedef struct create_args {
    const char *topic;
    const char *partitions;
    const char *replication_factor;
    const char *assignment;
    kc_config_entry_t *configs;
    int n_configs;
    bool disable_rack_aware;
} create_args_t;

/* Adds a copy of one --config key=value; a key given twice, or one that is
 * not a valid topic config, is refused. */
static int add_config(create_args_t *c, const char *kv) {
    const char *eq = strchr(kv, '=');
    char key[256], why[512];

    if (eq == NULL || eq == kv)
        return fail(EXIT_USAGE, "create-topic: --config wants key=value, got '%s'", kv);
    snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
    if (!kc_topic_config_check(key, eq + 1, why, sizeof(why))) return fail(EXIT_USAGE, "create-topic: %s", why);
    for (int i = 0; i < c->n_configs; i++)
        if (strncmp(c->configs[i].key, kv, (size_t)(eq - kv)) == 0 &&
            c->configs[i].key[eq - kv] == '\0')
            return fail(EXIT_USAGE, "create-topic: --config %.*s given twice", (int)(eq - kv), kv);
    kc_config_entry_t *grown = realloc(c->configs, (size_t)(c->n_configs + 1) * sizeof(*grown));
    if (grown == NULL) return fail(EXIT_ZK_ERROR, "out of memory");
    c->configs = grown;
    c->configs[c->n_configs].key = strndup(kv, (size_t)(eq - kv));
    c->configs[c->n_configs].value = strdup(eq + 1);
    c->n_configs++;
    if (grown[c->n_configs - 1].key == NULL || grown[c->n_configs - 1].value == NULL)
        return fail(EXIT_ZK_ERROR, "out of memory");
    return EXIT_OK;
}

static int parse_create_options(create_args_t *c, int argc, char **argv) {
    static const struct option options[] = {
        {"topic", required_argument, NULL, 't'},
        {"partitions", required_argument, NULL, 'p'},
        {"replication-factor", required_argument, NULL, 'r'},
        {"replica-assignment", required_argument, NULL, 'a'},
        {"config", required_argument, NULL, 'c'},
        {"disable-rack-aware", no_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    int opt, rc = EXIT_OK;

    while (rc == EXIT_OK && (opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
        switch (opt) {
        case 't': c->topic = optarg; break;
        case 'p': c->partitions = optarg; break;
        case 'r': c->replication_factor = optarg; break;
        case 'a': c->assignment = optarg; break;
        case 'c': rc = add_config(c, optarg); break;
        case 'R': c->disable_rack_aware = true; break;
        default: rc = option_error("create-topic", opt, argv);
        }
    }
    if (rc == EXIT_OK && optind < argc)
        rc = fail(EXIT_USAGE, "create-topic: unexpected argument '%s'", argv[optind]);
    return rc;
}

/* The option combinations Kafka's tool accepts with --zookeeper. */
static int check_create_combination(const create_args_t *c) {
    if (c->topic == NULL) return fail(EXIT_USAGE, "create-topic: missing --topic");
    if (c->assignment != NULL && (c->partitions != NULL || c->replication_factor != NULL))
        return fail(EXIT_USAGE, "create-topic: --replica-assignment cannot be combined with "
                                "--partitions or --replication-factor");
    if (c->assignment == NULL && (c->partitions == NULL || c->replication_factor == NULL))
        return fail(EXIT_USAGE, "create-topic: give --partitions and --replication-factor, "
                                "or --replica-assignment");
    return EXIT_OK;
}

/* One partition's "b1:b2:b3" into p. */
static int parse_replica_list(const char *text, size_t len, kc_partition_t *p) {
    char *copy = strndup(text, len), *save = NULL;
    int rc = copy != NULL && len > 0 ? 0 : -1;

    p->replicas = calloc(len / 2 + 1, sizeof(*p->replicas)); /* at most (len+1)/2 ids */
    if (p->replicas == NULL) rc = -1;
    for (char *id = rc == 0 ? strtok_r(copy, ":", &save) : NULL; id != NULL;
         id = strtok_r(NULL, ":", &save)) {
        long v;
        if (!parse_int(id, 0, INT32_MAX, &v)) rc = -1;
        else p->replicas[p->n_replicas++] = (int32_t)v;
    }
    /* strtok_r skips empty fields; "1::2" and ":1" must not pass for "1:2". */
    if (rc == 0 && (text[0] == ':' || text[len - 1] == ':' || memmem(text, len, "::", 2) != NULL))
        rc = -1;
    free(copy);
    return rc;
}

/* Kafka's --replica-assignment: partitions separated by ',', the broker ids
 * of one partition by ':' ("0:1:2,1:2:0").  Semantic checks (equal lengths,
 * duplicates, unknown brokers) are kc_topic_plan's. */
int admin_parse_assignment(const char *text, kc_topic_t *out) {
    int n = 1;

    memset(out, 0, sizeof(*out));
    for (const char *s = text; *s; s++) n += *s == ',';
    out->partitions = calloc((size_t)n, sizeof(*out->partitions));
    if (out->partitions == NULL) return -1;
    out->n_partitions = n;
    const char *part = text;
    for (int i = 0; i < n; i++) {
        size_t len = strcspn(part, ",");
        if (parse_replica_list(part, len, &out->partitions[i]) < 0) return -1;
        part += len + 1;
    }
    return 0;
}

/* Exit status for a kc_topic_plan() refusal. */
static int plan_failed(int rc, int16_t kafka_error, const char *why) {
    if (rc != KC_INVALID) return fail(EXIT_ZK_ERROR, "%s", why);
    if (kafka_error == KAFKA_INVALID_TOPIC_EXCEPTION) return fail(EXIT_INVALID_NAME, "%s", why);
    return fail(EXIT_INVALID_LAYOUT, "%s", why);
}

/* The view as kc_topics.h's checks read it. */
static const char *view_topic_name(int i, const void *v) { return kc_view_topic_at(v, i)->name; }
static int32_t view_broker_id(int i, const void *v) { return kc_view_broker_at(v, i)->id; }

/* Refuses an existing topic, and one whose metric names would clash with an
 * existing topic's, with the checks CreateTopics and auto-creation use
 * (kc_topic_check_new, there over the broker's metadata cache). */
static int check_topic_is_new(const kc_view_t *v, const char *name) {
    int16_t kafka_error = 0;
    char why[512];
    if (kc_view_topic_marked(v, name)) /* AdminZkClient's first check, its words */
        return fail(EXIT_TOPIC_EXISTS, "Topic '%s' is marked for deletion.", name);
    int rc = kc_topic_check_new(name, kc_view_topic_count(v), view_topic_name, v, &kafka_error, why, sizeof(why));
    if (rc == KC_EXISTS) return fail(EXIT_TOPIC_EXISTS, "%s", why);
    if (rc != KC_OK) return fail(EXIT_INVALID_NAME, "%s", why);
    return EXIT_OK;
}

typedef struct create_wait {
    int done;
    int rc;
} create_wait_t;

static void topic_create_done(int rc, void *arg) {
    create_wait_t *w = arg;
    w->rc = rc;
    w->done = 1;
}

/* Writes the planned topic and reports the outcome. */
static int write_topic(admin_t *a, const kc_topic_t *plan, const create_args_t *c) {
    create_wait_t w = {0, KC_ERR};

    kc_topic_create(a->session, plan, c->configs, c->n_configs, topic_create_done, &w);
    if (kc_session_wait(a->session, &w.done, admin_remaining_ms(a)) < 0)
        return admin_wait_failed(a, "creating the topic; it may or may not exist now");
    if (w.rc == KC_EXISTS) return fail(EXIT_TOPIC_EXISTS, "topic '%s' already exists", plan->name);
    if (w.rc == KC_MARKED)
        return fail(EXIT_TOPIC_EXISTS, "topic '%s' is marked for deletion; create it again once its deletion "
                    "is complete", plan->name);
    if (w.rc != KC_OK)
        return fail(EXIT_ZK_ERROR, "cannot create topic '%s': %s", plan->name, kc_strerror(w.rc));
    if (!a->quiet) printf("Created topic %s.\n", plan->name);
    return EXIT_OK;
}

const char *admin_view_broker_rack(int32_t id, const void *view) {
    const kc_broker_info_t *b = kc_view_broker(view, id);
    return b ? b->rack : NULL;
}

int admin_placement_racks(const admin_t *a, const int32_t *ids, int n, kc_rack_mode_t mode, const char ***racks) {
    bool mixed;

    if (kc_topic_placement_racks(ids, n, admin_view_broker_rack, a->view, mode, racks, &mixed) != 0)
        return fail(EXIT_ZK_ERROR, "out of memory");
    if (mixed)
        return fail(EXIT_INVALID_LAYOUT, "Not all brokers have rack information. Add --disable-rack-aware in "
                    "command line to make replica assignment without rack information.");
    return EXIT_OK;
}

/* Plans the layout against the live brokers (by their racks, as
 * kafka-topics.sh --zookeeper does, unless --disable-rack-aware; an
 * explicit assignment needs none), asks the controller whether the brokers
 * can hold it, then writes it. */
static int plan_and_create(admin_t *a, const create_args_t *c, const kc_topic_t *assignment,
                           int32_t partitions, int32_t rf) {
    int n_live = kc_view_broker_count(a->view), rc;
    int32_t *live = kc_topic_live_brokers(n_live, view_broker_id, a->view);
    const char **racks = NULL;
    kc_topic_t plan;
    int16_t kafka_error = 0;
    char why[512] = "out of memory";

    if (live == NULL) return fail(EXIT_ZK_ERROR, "out of memory");
    kc_rack_mode_t mode = c->disable_rack_aware ? KC_RACKS_DISABLED : KC_RACKS_ENFORCED;
    rc = assignment ? EXIT_OK : admin_placement_racks(a, live, n_live, mode, &racks);
    if (rc != EXIT_OK) {
        free(live);
        return rc;
    }
    rc = kc_topic_plan(c->topic, partitions, rf, assignment, live, racks, n_live, &plan, &kafka_error, why,
                       sizeof(why));
    free(live);
    free(racks);
    if (rc != KC_OK) return plan_failed(rc, kafka_error, why);
    rc = check_topic_is_new(a->view, c->topic);
    if (rc == EXIT_OK) rc = admin_check_capacity_create(a, &plan);
    if (rc == EXIT_OK) rc = write_topic(a, &plan, c);
    kc_topic_clear(&plan);
    return rc;
}

/* Everything that can be checked without ZooKeeper, then the cluster work. */
static int create_with(admin_t *a, const create_args_t *c, kc_topic_t *assignment) {
    long partitions = 0, rf = 0;
    char why[512];

    if (c->assignment == NULL && !parse_int(c->partitions, INT32_MIN, INT32_MAX, &partitions))
        return fail(EXIT_USAGE, "create-topic: --partitions '%s' is not a number", c->partitions);
    if (c->assignment == NULL && !parse_int(c->replication_factor, INT32_MIN, INT32_MAX, &rf))
        return fail(EXIT_USAGE, "create-topic: --replication-factor '%s' is not a number",
                    c->replication_factor);
    if (!kc_topic_name_valid(c->topic, why, sizeof(why))) return fail(EXIT_INVALID_NAME, "%s", why);
    if (c->assignment != NULL && admin_parse_assignment(c->assignment, assignment) < 0)
        return fail(EXIT_INVALID_LAYOUT, "invalid replica assignment '%s': expected broker ids "
                    "like 0:1:2,1:2:0", c->assignment);

    int rc = admin_load_view(a);
    if (rc != EXIT_OK) return rc;
    return plan_and_create(a, c, c->assignment != NULL ? assignment : NULL, (int32_t)partitions,
                           (int32_t)rf);
}

static int cmd_create_topic(admin_t *a, int argc, char **argv) {
    create_args_t c = {0};
    kc_topic_t assignment = {0};

    int rc = parse_create_options(&c, argc, argv);
    if (rc == EXIT_OK) rc = check_create_combination(&c);
    if (rc == EXIT_OK) rc = create_with(a, &c, &assignment);
    kc_topic_clear(&assignment);
    kc_config_entries_free(c.configs, c.n_configs);
    return rc;
}

/* ------------------------------------------------------------------ */
/* list-topics (describe-topic: kbroker_admin_describe.c)             */
/* ------------------------------------------------------------------ */

/* Commands without options of their own still refuse stray arguments. */
static int no_more_arguments(const char *command, int argc, char **argv) {
    static const struct option none[] = {{NULL, 0, NULL, 0}};
    int opt = getopt_long(argc, argv, "+:", none, NULL);

    if (opt != -1) return option_error(command, opt, argv);
    if (optind < argc)
        return fail(EXIT_USAGE, "%s: unexpected argument '%s'", command, argv[optind]);
    return EXIT_OK;
}

static int cmd_list_topics(admin_t *a, int argc, char **argv) {
    int rc = no_more_arguments("list-topics", argc, argv);
    if (rc == EXIT_OK) rc = admin_load_view(a);
    if (rc != EXIT_OK) return rc;

    int n = kc_view_topic_count(a->view);
    if (!a->json) {
        for (int i = 0; i < n; i++) puts(kc_view_topic_at(a->view, i)->name);
        return EXIT_OK;
    }
    json_t *names = json_array();
    for (int i = 0; names != NULL && i < n; i++)
        json_array_append_new(names, json_string(kc_view_topic_at(a->view, i)->name));
    return print_json(names);
}

/* ------------------------------------------------------------------ */
/* list-brokers                                                        */
/* ------------------------------------------------------------------ */

static void endpoint_text(const kc_endpoint_t *e, char *buf, size_t size) {
    bool v6 = e->host != NULL && strchr(e->host, ':') != NULL;

    snprintf(buf, size, "%s://%s%s%s:%d", e->listener, v6 ? "[" : "", e->host ? e->host : "",
             v6 ? "]" : "", (int)e->port);
}

/* "host:port" of the legacy (PLAINTEXT) address, "-" when there is none. */
static void address_text(const kc_broker_info_t *b, char *buf, size_t size) {
    bool v6 = b->host != NULL && strchr(b->host, ':') != NULL;

    if (b->host == NULL)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%s%s%s:%d", v6 ? "[" : "", b->host, v6 ? "]" : "", (int)b->port);
}

/* "host:port" of the kbroker RPC listener, "-" when it publishes none. */
static void rpc_text(const kc_broker_info_t *b, char *buf, size_t size) {
    int32_t port;
    const char *host = kc_broker_rpc_endpoint(b, &port);
    bool v6 = host != NULL && strchr(host, ':') != NULL;

    if (host == NULL)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", (int)port);
}

static void print_broker_text(const kc_broker_info_t *b) {
    char address[300], endpoint[300], rpc[300];

    address_text(b, address, sizeof(address));
    printf("%d %s ", (int)b->id, address);
    for (int i = 0; i < b->n_endpoints; i++) {
        endpoint_text(&b->endpoints[i], endpoint, sizeof(endpoint));
        printf("%s%s", i > 0 ? "," : "", endpoint);
    }
    rpc_text(b, rpc, sizeof(rpc));
    printf("%s %s %s\n", b->n_endpoints == 0 ? "-" : "", b->rack != NULL ? b->rack : "-", rpc);
}

static json_t *broker_json(const kc_broker_info_t *b, int32_t controller) {
    json_t *endpoints = json_array();
    char endpoint[300], rpc[300];

    rpc_text(b, rpc, sizeof(rpc));
    for (int i = 0; endpoints != NULL && i < b->n_endpoints; i++) {
        endpoint_text(&b->endpoints[i], endpoint, sizeof(endpoint));
        json_array_append_new(endpoints, json_string(endpoint));
    }
    return json_pack("{s:i, s:o, s:i, s:o, s:o, s:b, s:o}", "id", (int)b->id, "host",
                     b->host != NULL ? json_string(b->host) : json_null(), "port", (int)b->port,
                     "endpoints", endpoints, "rack",
                     b->rack != NULL ? json_string(b->rack) : json_null(), "controller",
                     b->id == controller, "rpc", strcmp(rpc, "-") != 0 ? json_string(rpc) : json_null());
}

static int cmd_list_brokers(admin_t *a, int argc, char **argv) {
    int rc = no_more_arguments("list-brokers", argc, argv);
    if (rc == EXIT_OK) rc = admin_load_view(a);
    if (rc != EXIT_OK) return rc;

    int n = kc_view_broker_count(a->view);
    int32_t controller = kc_view_controller(a->view);
    if (!a->json) {
        for (int i = 0; i < n; i++) print_broker_text(kc_view_broker_at(a->view, i));
        return EXIT_OK;
    }
    json_t *list = json_array();
    for (int i = 0; list != NULL && i < n; i++)
        json_array_append_new(list, broker_json(kc_view_broker_at(a->view, i), controller));
    return print_json(list);
}

/* ------------------------------------------------------------------ */
/* describe-config and alter-config                                    */
/* ------------------------------------------------------------------ */

/* kafka-configs.sh --zookeeper --describe: the overrides only, as
 * "Configs for topic 'T' are k1=v1,k2=v2"; type is the znode's ("topics",
 * "brokers"). */
static int print_configs(const admin_t *a, const char *type, const char *name, const kc_config_entry_t *e,
                         int n) {
    if (!a->json) {
        printf("Configs for %.*s '%s' are ", (int)strlen(type) - 1, type, name);
        for (int i = 0; i < n; i++) printf("%s%s=%s", i > 0 ? "," : "", e[i].key, e[i].value);
        putchar('\n');
        return EXIT_OK;
    }
    json_t *configs = json_object();
    for (int i = 0; configs != NULL && i < n; i++) json_object_set_new(configs, e[i].key, json_string(e[i].value));
    return print_json(json_pack("{s:s, s:s, s:o}", "entity_type", type, "entity_name", name, "configs", configs));
}

typedef struct config_wait {
    int done;
    int rc;
    kc_config_entry_t *entries;
    int n;
} config_wait_t;

static void config_read_done(int rc, kc_config_entry_t *entries, int n, void *arg) {
    config_wait_t *w = arg;
    *w = (config_wait_t){1, rc, entries, n};
}

static void config_write_done(int rc, void *arg) {
    config_wait_t *w = arg;
    w->rc = rc;
    w->done = 1;
}

int admin_read_configs(admin_t *a, const char *type, const char *name, kc_config_entry_t **entries, int *n) {
    config_wait_t w = {0, KC_ERR, NULL, 0};
    int rc = admin_connect(a);

    *entries = NULL;
    *n = 0;
    if (rc != EXIT_OK) return rc;
    kc_config_read(a->session, type, name, config_read_done, &w);
    if (kc_session_wait(a->session, &w.done, admin_remaining_ms(a)) < 0)
        return admin_wait_failed(a, "reading a config from ZooKeeper");
    if (w.rc != KC_OK)
        return fail(EXIT_ZK_ERROR, "cannot read the config of %s '%s': %s", type, name, kc_strerror(w.rc));
    *entries = w.entries;
    *n = w.n;
    return EXIT_OK;
}

/* /config/brokers/N, which the cluster view does not follow. */
static int describe_broker_config(admin_t *a, const char *id) {
    kc_config_entry_t *e;
    int n;
    int rc = admin_read_configs(a, "brokers", id, &e, &n);
    if (rc != EXIT_OK) return rc;
    rc = print_configs(a, "brokers", id, e, n);
    kc_config_entries_free(e, n);
    return rc;
}

static int cmd_describe_config(admin_t *a, int argc, char **argv) {
    static const struct option options[] = {{"topic", required_argument, NULL, 't'},
                                            {"broker", required_argument, NULL, 'b'},
                                            {NULL, 0, NULL, 0}};
    const char *topic = NULL, *broker = NULL;
    long id;
    int opt;

    while ((opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
        if (opt == 't') topic = optarg;
        else if (opt == 'b') broker = optarg;
        else return option_error("describe-config", opt, argv);
    }
    if (optind < argc) return fail(EXIT_USAGE, "describe-config: unexpected argument '%s'", argv[optind]);
    if ((topic == NULL) == (broker == NULL)) return fail(EXIT_USAGE, "describe-config: give --topic T or --broker N");
    if (broker != NULL && !parse_int(broker, 0, INT32_MAX, &id))
        return fail(EXIT_USAGE, "describe-config: --broker '%s' is not a broker id", broker);
    if (broker != NULL) return describe_broker_config(a, broker);
    int rc = admin_load_view(a);
    if (rc != EXIT_OK) return rc;
    const kc_topic_t *t = kc_view_topic(a->view, topic);
    if (t == NULL) return fail(EXIT_NO_TOPIC, "topic '%s' does not exist", topic);
    return print_configs(a, "topics", topic, t->configs, t->n_configs);
}

typedef struct alter_args {
    const char *topic;
    kc_config_entry_t *adds; /* owned */
    int n_adds;
    char **deletes;          /* owned */
    int n_deletes;
} alter_args_t;

size_t admin_list_item_len(const char *s) {
    int depth = 0;
    size_t i = 0;
    for (; s[i] && (s[i] != ',' || depth > 0); i++) {
        if (s[i] == '[') depth++;
        else if (s[i] == ']' && depth > 0) depth--;
    }
    return i;
}

static int find_entry(const kc_config_entry_t *e, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].key, key) == 0) return i;
    return -1;
}

/* Appends a copy of key=value (taking ownership of neither). */
static int push_entry(kc_config_entry_t **e, int *n, const char *key, const char *value) {
    kc_config_entry_t *grown = realloc(*e, (size_t)(*n + 1) * sizeof(*grown));
    if (grown == NULL) return -1;
    *e = grown;
    grown[*n] = (kc_config_entry_t){strdup(key), strdup(value)};
    (*n)++;
    return grown[*n - 1].key != NULL && grown[*n - 1].value != NULL ? 0 : -1;
}

/* One "key=value" of --add-config; a value in [brackets] loses them. */
static int add_one(alter_args_t *c, const char *item, size_t len) {
    char why[512];
    char *copy = strndup(item, len);
    char *eq = copy != NULL ? strchr(copy, '=') : NULL;
    int rc = EXIT_OK;

    if (copy == NULL) return fail(EXIT_ZK_ERROR, "out of memory");
    if (eq == NULL || eq == copy) rc = fail(EXIT_USAGE, "alter-config: --add-config wants key=value, got '%s'", copy);
    if (rc == EXIT_OK) {
        char *value = eq + 1;
        size_t vlen = strlen(value);
        *eq = '\0';
        if (vlen >= 2 && value[0] == '[' && value[vlen - 1] == ']') value[vlen - 1] = '\0', value++;
        if (find_entry(c->adds, c->n_adds, copy) >= 0) rc = fail(EXIT_USAGE, "alter-config: %s given twice", copy);
        else if (!kc_topic_config_check(copy, value, why, sizeof(why))) rc = fail(EXIT_USAGE, "%s", why);
        else if (push_entry(&c->adds, &c->n_adds, copy, value) < 0) rc = fail(EXIT_ZK_ERROR, "out of memory");
    }
    free(copy);
    return rc;
}

static int add_list(alter_args_t *c, const char *list) {
    for (const char *p = list;; p++) {
        size_t len = admin_list_item_len(p);
        int rc = len > 0 ? add_one(c, p, len) : fail(EXIT_USAGE, "alter-config: empty item in '%s'", list);
        if (rc != EXIT_OK) return rc;
        p += len;
        if (*p == '\0') return EXIT_OK;
    }
}

static int delete_list(alter_args_t *c, const char *list) {
    for (const char *p = list;; p++) {
        size_t len = strcspn(p, ",");
        if (len == 0) return fail(EXIT_USAGE, "alter-config: empty item in '%s'", list);
        char **grown = realloc(c->deletes, (size_t)(c->n_deletes + 1) * sizeof(*grown));
        if (grown == NULL || (grown[c->n_deletes] = strndup(p, len)) == NULL) {
            if (grown != NULL) c->deletes = grown;
            return fail(EXIT_ZK_ERROR, "out of memory");
        }
        c->deletes = grown;
        c->n_deletes++;
        p += len;
        if (*p == '\0') return EXIT_OK;
    }
}

static int parse_alter_options(alter_args_t *c, int argc, char **argv) {
    static const struct option options[] = {{"topic", required_argument, NULL, 't'},
                                            {"broker", required_argument, NULL, 'b'},
                                            {"add-config", required_argument, NULL, 'a'},
                                            {"delete-config", required_argument, NULL, 'd'},
                                            {NULL, 0, NULL, 0}};
    int opt, rc = EXIT_OK;

    while (rc == EXIT_OK && (opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
        switch (opt) {
        case 't': c->topic = optarg; break;
        case 'a': rc = add_list(c, optarg); break;
        case 'd': rc = delete_list(c, optarg); break;
        case 'b':
            rc = fail(EXIT_USAGE, "alter-config: kbroker applies broker configs only from server.properties at "
                                  "start-up; only --topic can be altered");
            break;
        default: rc = option_error("alter-config", opt, argv);
        }
    }
    if (rc == EXIT_OK && optind < argc) rc = fail(EXIT_USAGE, "alter-config: unexpected argument '%s'", argv[optind]);
    if (rc == EXIT_OK && c->topic == NULL) rc = fail(EXIT_USAGE, "alter-config: missing --topic");
    if (rc == EXIT_OK && c->n_adds + c->n_deletes == 0)
        rc = fail(EXIT_USAGE, "alter-config: give --add-config and/or --delete-config");
    for (int i = 0; rc == EXIT_OK && i < c->n_deletes; i++)
        if (find_entry(c->adds, c->n_adds, c->deletes[i]) >= 0)
            rc = fail(EXIT_USAGE, "alter-config: %s is both added and deleted", c->deletes[i]);
    return rc;
}

/* The topic's current overrides without the deleted keys, plus the added
 * ones (replacing a current value), into *out. */
static int merge_configs(const kc_topic_t *t, const alter_args_t *c, kc_config_entry_t **out, int *n) {
    for (int i = 0; i < c->n_deletes; i++)
        if (find_entry(t->configs, t->n_configs, c->deletes[i]) < 0)
            return fail(EXIT_USAGE, "alter-config: %s is not set on topic '%s'", c->deletes[i], t->name);
    for (int i = 0; i < t->n_configs; i++) {
        bool deleted = false, added = find_entry(c->adds, c->n_adds, t->configs[i].key) >= 0;
        for (int j = 0; j < c->n_deletes && !deleted; j++) deleted = strcmp(c->deletes[j], t->configs[i].key) == 0;
        if (!deleted && !added && push_entry(out, n, t->configs[i].key, t->configs[i].value) < 0)
            return fail(EXIT_ZK_ERROR, "out of memory");
    }
    for (int i = 0; i < c->n_adds; i++)
        if (push_entry(out, n, c->adds[i].key, c->adds[i].value) < 0) return fail(EXIT_ZK_ERROR, "out of memory");
    return EXIT_OK;
}

int admin_write_topic_configs(admin_t *a, const char *topic, const kc_config_entry_t *e, int n) {
    config_wait_t w = {0, KC_ERR, NULL, 0};
    char why[512];

    if (!kc_topic_config_check_set(e, n, why, sizeof(why))) return fail(EXIT_USAGE, "%s", why);
    int rc = admin_connect(a);
    if (rc != EXIT_OK) return rc;
    kc_config_write(a->session, "topics", topic, e, n, config_write_done, &w);
    if (kc_session_wait(a->session, &w.done, admin_remaining_ms(a)) < 0)
        return admin_wait_failed(a, "writing the topic's config; it may or may not have changed");
    if (w.rc != KC_OK) return fail(EXIT_ZK_ERROR, "cannot write the config of topic '%s': %s", topic, kc_strerror(w.rc));
    return EXIT_OK;
}

/* Writes the whole new set and its change notification, as
 * kafka-configs.sh --zookeeper --alter does. */
static int write_topic_configs(admin_t *a, const char *topic, const kc_config_entry_t *e, int n) {
    int rc = admin_write_topic_configs(a, topic, e, n);
    if (rc != EXIT_OK || a->quiet) return rc;
    if (a->json) return print_configs(a, "topics", topic, e, n);
    printf("Completed updating config for topic %s.\n", topic);
    return EXIT_OK;
}

static int cmd_alter_config(admin_t *a, int argc, char **argv) {
    alter_args_t c = {0};
    kc_config_entry_t *merged = NULL;
    int n_merged = 0;

    int rc = parse_alter_options(&c, argc, argv);
    if (rc == EXIT_OK) rc = admin_load_view(a);
    const kc_topic_t *t = rc == EXIT_OK ? kc_view_topic(a->view, c.topic) : NULL;
    if (rc == EXIT_OK && t == NULL) rc = fail(EXIT_NO_TOPIC, "topic '%s' does not exist", c.topic);
    if (rc == EXIT_OK) rc = merge_configs(t, &c, &merged, &n_merged);
    if (rc == EXIT_OK) rc = write_topic_configs(a, c.topic, merged, n_merged);
    kc_config_entries_free(merged, n_merged);
    kc_config_entries_free(c.adds, c.n_adds);
    for (int i = 0; i < c.n_deletes; i++) free(c.deletes[i]);
    free(c.deletes);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Command table and main                                              */
/* ------------------------------------------------------------------ */

static const command_t commands[] = {
    {"create-topic", cmd_create_topic, VIA_ZOOKEEPER,
     "create-topic --topic T (--partitions N --replication-factor R [--disable-rack-aware] | "
     "--replica-assignment 0:1:2,1:2:0,...) [--config key=value]..."},
    {"list-topics", cmd_list_topics, VIA_ZOOKEEPER, "list-topics"},
    {"describe-topic", cmd_describe_topic, VIA_ZOOKEEPER,
     "describe-topic [--topic T] [--under-replicated-partitions] [--unavailable-partitions] "
     "[--under-min-isr-partitions] [--at-min-isr-partitions] [--topics-with-overrides] [--exclude-internal]"},
    {"list-brokers", cmd_list_brokers, VIA_ZOOKEEPER, "list-brokers"},
    {"describe-config", cmd_describe_config, VIA_ZOOKEEPER, "describe-config (--topic T | --broker N)"},
    {"alter-config", cmd_alter_config, VIA_ZOOKEEPER,
     "alter-config --topic T [--add-config k=v,k2=[a,b],...] [--delete-config k,k2,...]"},
    {"alter-topic", cmd_alter_topic, VIA_ZOOKEEPER,
     "alter-topic --topic T --partitions N [--replica-assignment 0:1,1:2,... | --disable-rack-aware]"},
    {"delete-topic", cmd_delete_topic, VIA_ZOOKEEPER, "delete-topic --topic T [--wait]"},
    {"reassign", cmd_reassign, VIA_EITHER,
     "reassign --plan FILE [--execute | --verify] (--zookeeper); reassign (--plan FILE --cancel | --list) "
     "(--bootstrap-server)"},
    {"list-groups", cmd_list_groups, VIA_BROKERS, "list-groups [--state] [--json] [--timeout-ms MS]"},
    {"describe-group", cmd_describe_group, VIA_BROKERS, "describe-group --group G [--json] [--timeout-ms MS]"},
    {"elect-leaders", cmd_elect_leaders, VIA_EITHER,
     "elect-leaders [--election-type preferred|unclean] [--all-topic-partitions | --topic T [--partition P] | "
     "--path-to-json-file FILE]"},
    {"kafka-topics", kafka_topics_main, VIA_KAFKA_TOOL,
     "kafka-topics (--zookeeper HOST:PORT | --bootstrap-server HOST:PORT) (--create | --list | --describe | "
     "--alter | --delete) [kafka-topics.sh options]"},
    {"kafka-configs", kafka_configs_main, VIA_KAFKA_TOOL,
     "kafka-configs (--zookeeper HOST:PORT | --bootstrap-server HOST:PORT) (--describe | --alter) "
     "[kafka-configs.sh options]"},
    {"kafka-reassign-partitions", kafka_reassign_partitions_main, VIA_KAFKA_TOOL,
     "kafka-reassign-partitions (--zookeeper HOST:PORT --reassignment-json-file FILE (--execute | --verify) | "
     "--bootstrap-server HOST:PORT (--reassignment-json-file FILE --cancel | --list))"},
    {"kafka-leader-election", kafka_leader_election_main, VIA_KAFKA_TOOL,
     "kafka-leader-election --bootstrap-server HOST:PORT --election-type preferred|unclean "
     "(--all-topic-partitions | --topic T --partition P | --path-to-json-file FILE)"},
    {NULL, NULL, VIA_ZOOKEEPER, NULL},
};

/* The connection option a command's usage line starts with. */
static const char *connect_usage(const command_t *c) {
    if (c->via == VIA_EITHER) return "(--bootstrap-server HOST:PORT | --zookeeper HOST:PORT)";
    return c->via == VIA_BROKERS ? "--bootstrap-server HOST:PORT" : "--zookeeper HOST:PORT";
}

static const command_t *find_command(const char *name) {
    for (const command_t *c = commands; c->name != NULL; c++)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

static void print_help(FILE *out) {
    fprintf(out, "usage: " PROG " --zookeeper HOST:PORT[,HOST:PORT...][/chroot]\n"
                 "       [--timeout SECONDS (default %d)] [--output text|json] COMMAND [OPTIONS]\n"
                 "       " PROG " --bootstrap-server HOST:PORT[,HOST:PORT...]\n"
                 "       [--timeout SECONDS] [--output text|json] GROUP-COMMAND [OPTIONS]\n"
                 "       " PROG " --help | --version\n\ncommands (through ZooKeeper):\n", DEFAULT_TIMEOUT_S);
    for (const command_t *c = commands; c->name != NULL; c++)
        if (c->via == VIA_ZOOKEEPER) fprintf(out, "  %s\n", c->usage);
    fputs("\ngroup commands (through the brokers):\n", out);
    for (const command_t *c = commands; c->name != NULL; c++)
        if (c->via == VIA_BROKERS) fprintf(out, "  %s\n", c->usage);
    fputs("\ncommands through either (--bootstrap-server: the controller's API; --zookeeper: /admin znodes):\n", out);
    for (const command_t *c = commands; c->name != NULL; c++)
        if (c->via == VIA_EITHER) fprintf(out, "  %s\n", c->usage);
    fputs("\nKafka's own command lines (kafka-topics' also without the word; installed as\n"
          "kafka-topics.sh, kafka-configs.sh, kafka-reassign-partitions.sh and\n"
          "kafka-leader-election.sh); they print and exit as Kafka 2.6's tools do:\n", out);
    for (const command_t *c = commands; c->name != NULL; c++)
        if (c->via == VIA_KAFKA_TOOL) fprintf(out, "  %s\n", c->usage);
    fputs("\nexit status: 0 ok, 1 usage error (including an invalid config), 2 ZooKeeper\n"
          "or bootstrap server unreachable, 3 topic exists, 4 invalid topic name, 5 invalid\n"
          "partitions/replication factor/assignment (also an unregistered broker in a\n"
          "reassignment plan), 6 topic or partition not found, 7 other ZooKeeper error,\n"
          "8 consumer group not found, 9 broker error or no answer in time, 10 topic\n"
          "being deleted or reassigned (alter-topic), a reassignment under way (reassign)\n"
          "or not complete (reassign --verify); kbroker-admin(1) gives each command's list\n", out);
}

/* Sets a->... from one global option; returns -1 to stop with EXIT_OK
 * (--help, --version) or an exit status. */
static int apply_global_option(admin_t *a, int opt, char **argv) {
    long v;

    switch (opt) {
    case 'z': a->zookeeper = optarg; return EXIT_OK;
    case 'b': a->bootstrap = optarg; return EXIT_OK;
    case 'T':
        if (!parse_int(optarg, 1, INT_MAX / 1000, &v))
            return fail(EXIT_USAGE, "--timeout '%s' is not a positive number of seconds", optarg);
        a->timeout_s = (int)v;
        return EXIT_OK;
    case 'o':
        if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0)
            return fail(EXIT_USAGE, "--output must be text or json, not '%s'", optarg);
        a->json = strcmp(optarg, "json") == 0;
        return EXIT_OK;
    case 'h': print_help(stdout); return -1;
    case 'V': puts(PROG " " PACKAGE_VERSION); return -1;
    default: return option_error(NULL, opt, argv);
    }
}

/* Global options stop at the command name ('+'); *next is its index. */
static int parse_global_options(admin_t *a, int argc, char **argv, int *next) {
    static const struct option options[] = {
        {"zookeeper", required_argument, NULL, 'z'}, {"bootstrap-server", required_argument, NULL, 'b'},
        {"timeout", required_argument, NULL, 'T'},   {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},            {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int opt, rc = EXIT_OK;

    while (rc == EXIT_OK && (opt = getopt_long(argc, argv, "+:h", options, NULL)) != -1)
        rc = apply_global_option(a, opt, argv);
    *next = optind;
    return rc;
}

/* Operators write global options after the command too ("describe-topic
 * --output json", "list-groups --bootstrap-server H:P" as Kafka's tool
 * takes it): pull --zookeeper, --bootstrap-server, --timeout and --output
 * out of the command's arguments, applying them, so commands see only their
 * own. */
static int take_trailing_global_options(admin_t *a, int *argc, char **argv) {
    static const struct { const char *name; int opt; } globals[] = {
        {"--zookeeper", 'z'}, {"--bootstrap-server", 'b'}, {"--timeout", 'T'}, {"--output", 'o'}};
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        int opt = 0;
        char *value = NULL;
        for (size_t g = 0; g < sizeof(globals) / sizeof(globals[0]) && !opt; g++) {
            size_t n = strlen(globals[g].name);
            if (strncmp(argv[i], globals[g].name, n) != 0) continue;
            if (argv[i][n] == '=') value = argv[i] + n + 1;
            else if (argv[i][n] == '\0' && i + 1 < *argc) value = argv[++i];
            else if (argv[i][n] == '\0') return fail(EXIT_USAGE, "%s needs a value", globals[g].name);
            else continue;
            opt = globals[g].opt;
        }
        if (!opt) {
            argv[out++] = argv[i];
            continue;
        }
        optarg = value;
        int rc = apply_global_option(a, opt, argv);
        if (rc != EXIT_OK) return rc;
    }
    argv[out] = NULL;
    *argc = out;
    return EXIT_OK;
}

/* "create" for create-topic, "topics" for list-topics: a command whose
 * name starts or ends with what was typed is offered. */
static int unknown_command(const char *name) {
    size_t n = strlen(name);
    for (const command_t *c = commands; n >= 4 && c->name != NULL; c++) {
        size_t cn = strlen(c->name);
        if (strncmp(c->name, name, n) == 0 || (cn > n && strcmp(c->name + cn - n, name) == 0))
            return fail(EXIT_USAGE, "unknown command '%s'; did you mean '%s'? see " PROG " --help", name, c->name);
    }
    const char *hint = name[0] == '-' ? option_hint(name, true) : NULL;
    if (hint != NULL) return fail(EXIT_USAGE, "unknown command '%s'; %s", name, hint);
    return fail(EXIT_USAGE, "unknown command '%s'; see " PROG " --help", name);
}

/* The Kafka tool a command line is written for, when it has no command
 * word: kafka-topics.sh's action options (--create, --list, --describe,
 * --alter, --delete) make it kafka-topics, unless an option only
 * kafka-configs.sh has says that tool.  "--describe --topic T" reads as
 * kafka-topics: the two tools spell that alike, and the word
 * kafka-configs picks the other. */
static command_fn kafka_tool_of(int argc, char **argv) {
    static const char *const topic_actions[] = {"--create", "--list", "--describe", "--alter", "--delete"};
    static const char *const configs_only[] = {"--entity-type", "--entity-name", "--entity-default", "--add-config",
                                               "--add-config-file", "--broker", "--broker-defaults",
                                               "--broker-logger", "--client", "--client-defaults", "--user",
                                               "--user-defaults", "--all"};
    static const char *const globals[] = {"--zookeeper", "--bootstrap-server", "--timeout", "--output"};
    bool action = false, configs = false;
    int first = 1;

    /* A command word (kafka-topics, or any other), first or after the
     * global options ("--bootstrap-server B reassign --list"), is the
     * table's business. */
    for (size_t g = 0; first < argc && g < sizeof(globals) / sizeof(globals[0]); g++) {
        size_t len = strlen(globals[g]);
        if (strncmp(argv[first], globals[g], len) != 0 || (argv[first][len] != '\0' && argv[first][len] != '='))
            continue;
        first += argv[first][len] == '=' ? 1 : 2;
        g = (size_t)-1; /* the next argument may be any global option again */
    }
    if (first < argc && argv[first][0] != '-') return NULL;
    for (int i = 1; i < argc; i++) {
        size_t len = strcspn(argv[i], "=");
        for (size_t k = 0; k < sizeof(topic_actions) / sizeof(topic_actions[0]); k++)
            action |= strlen(topic_actions[k]) == len && strncmp(argv[i], topic_actions[k], len) == 0;
        for (size_t k = 0; k < sizeof(configs_only) / sizeof(configs_only[0]); k++)
            configs |= strlen(configs_only[k]) == len && strncmp(argv[i], configs_only[k], len) == 0;
    }
    if (!action) return NULL;
    return configs ? kafka_configs_main : kafka_topics_main;
}

/* The connection option the command needs is there, and not the other
 * one: topics live in ZooKeeper, groups only in the brokers.  The group
 * commands check the bootstrap list's form themselves. */
static int check_connection(const admin_t *a, const command_t *c) {
    if (c->via == VIA_EITHER && (a->bootstrap == NULL) == (a->zookeeper == NULL))
        return fail(EXIT_USAGE, "%s: give --bootstrap-server HOST:PORT (the controller's API) or --zookeeper "
                    "HOST:PORT (/admin znodes), one of them", c->name);
    if (c->via == VIA_EITHER && a->bootstrap != NULL) return EXIT_OK;
    if (c->via == VIA_BROKERS) {
        if (a->zookeeper != NULL)
            return fail(EXIT_USAGE, "%s asks the brokers, which keep the groups: give --bootstrap-server "
                        "HOST:PORT[,HOST:PORT...] instead of --zookeeper", c->name);
        if (a->bootstrap == NULL) return fail(EXIT_USAGE, "%s: missing --bootstrap-server HOST:PORT", c->name);
        return EXIT_OK;
    }
    if (a->bootstrap != NULL)
        return fail(EXIT_USAGE, "%s works through ZooKeeper: give --zookeeper HOST:PORT[/chroot] "
                    "(--bootstrap-server is for list-groups and describe-group)", c->name);
    if (a->zookeeper == NULL) return fail(EXIT_USAGE, "%s: missing --zookeeper HOST:PORT", c->name);
    if (!admin_zookeeper_valid(a->zookeeper))
        return fail(EXIT_USAGE,
                    "invalid --zookeeper '%s': expected HOST:PORT[,HOST:PORT...][/chroot]",
                    a->zookeeper);
    return EXIT_OK;
}

/* Runs the command argv[0] with its own options in argv[1..]. */
int admin_command(admin_t *a, int argc, char **argv) {
    const command_t *c = find_command(argv[0]);

    if (c == NULL) return unknown_command(argv[0]);
    optind = 0; /* glibc: 0 also resets getopt's internal state for the new vector */
    if (c->via == VIA_KAFKA_TOOL) return c->run(a, argc, argv);
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: " PROG " %s %s\n", connect_usage(c), c->usage);
        return EXIT_OK;
    }
    int rc = take_trailing_global_options(a, &argc, argv);
    if (rc == EXIT_OK) rc = check_connection(a, c);
    if (rc != EXIT_OK) return rc;
    return c->run(a, argc, argv);
}

int main(int argc, char **argv) {
    admin_t a = {.timeout_s = DEFAULT_TIMEOUT_S};
    int next;

    opterr = 0;
    kc_log_init(PROG, -1, LOG_SILENT);
    command_fn kafka_tool = kafka_tool_of(argc, argv);
    if (kafka_tool != NULL) {
        int rc = kafka_tool(&a, argc, argv);
        admin_teardown(&a);
        return rc;
    }
    int rc = parse_global_options(&a, argc, argv, &next);
    if (rc < 0) return EXIT_OK;
    if (rc != EXIT_OK) return rc;
    if (next >= argc) return fail(EXIT_USAGE, "no command given; see " PROG " --help");

    rc = admin_command(&a, argc - next, argv + next);
    admin_teardown(&a);
    return rc;
}
