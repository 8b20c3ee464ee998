/*
 * kbroker_admin_kafka_configs.c - kafka-configs.sh's command line, as
 * Kafka 2.6 takes it, for the entities kbroker has configs for: topics and
 * brokers (--entity-type topics|brokers with --entity-name N or
 * --entity-default, or the --topic, --broker and --broker-defaults
 * shorthands), --describe [--all] and --alter with --add-config
 * k1=v1,k2=[a,b] and --delete-config k1,k2.  Output and messages are
 * Kafka's: "Completed updating config for entity: topic 'T'." and
 * "Configs for topic 'T' are k=v,..." through ZooKeeper, "Completed
 * updating config for topic T." and "Dynamic configs for topic T are:"
 * with one "  k=v sensitive=false synonyms={...}" line per config through
 * the brokers; a refused command line prints its reason on stderr, a
 * failed action "Error while executing config command with args '...'"
 * and the reason; either exits 1.
 *
 * Through ZooKeeper (--zookeeper) the overrides are read and written as
 * /config/topics/T and /config/brokers/N, with kbroker-admin's own code
 * (kbroker_admin.c); through the brokers (--bootstrap-server) with
 * DescribeConfigs and AlterConfigs (client/kcl_admin.h).  kbroker has no
 * IncrementalAlterConfigs, so --alter reads the dynamic overrides first and
 * writes the merged whole, as Kafka's tool did before it had that API.
 * kbroker keeps no client or user quotas and no broker loggers: those
 * entity types are refused clearly.
 */
#include <getopt.h>
#include <stdarg.h>
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

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

enum {
    O_ZOOKEEPER, O_BOOTSTRAP, O_COMMAND_CONFIG, O_ALTER, O_DESCRIBE, O_ALL, O_ENTITY_TYPE, O_ENTITY_NAME,
    O_ENTITY_DEFAULT, O_ADD_CONFIG, O_ADD_CONFIG_FILE, O_DELETE_CONFIG, O_FORCE, O_TOPIC, O_CLIENT,
    O_CLIENT_DEFAULTS, O_USER, O_USER_DEFAULTS, O_BROKER, O_BROKER_DEFAULTS, O_BROKER_LOGGER, O_ZK_TLS, O_HELP,
    O_VERSION, O_TIMEOUT, N_OPTIONS
};

#define BIT(o) (1u << (o))

static const struct option long_options[] = {
    {"zookeeper", required_argument, NULL, O_ZOOKEEPER},
    {"bootstrap-server", required_argument, NULL, O_BOOTSTRAP},
    {"command-config", required_argument, NULL, O_COMMAND_CONFIG},
    {"alter", no_argument, NULL, O_ALTER},
    {"describe", no_argument, NULL, O_DESCRIBE},
    {"all", no_argument, NULL, O_ALL},
    {"entity-type", required_argument, NULL, O_ENTITY_TYPE},
    {"entity-name", required_argument, NULL, O_ENTITY_NAME},
    {"entity-default", no_argument, NULL, O_ENTITY_DEFAULT},
    {"add-config", required_argument, NULL, O_ADD_CONFIG},
    {"add-config-file", required_argument, NULL, O_ADD_CONFIG_FILE},
    {"delete-config", required_argument, NULL, O_DELETE_CONFIG},
    {"force", no_argument, NULL, O_FORCE},
    {"topic", required_argument, NULL, O_TOPIC},
    {"client", required_argument, NULL, O_CLIENT},
    {"client-defaults", no_argument, NULL, O_CLIENT_DEFAULTS},
    {"user", required_argument, NULL, O_USER},
    {"user-defaults", no_argument, NULL, O_USER_DEFAULTS},
    {"broker", required_argument, NULL, O_BROKER},
    {"broker-defaults", no_argument, NULL, O_BROKER_DEFAULTS},
    {"broker-logger", required_argument, NULL, O_BROKER_LOGGER},
    {"zk-tls-config-file", required_argument, NULL, O_ZK_TLS},
    {"help", no_argument, NULL, O_HELP},
    {"version", no_argument, NULL, O_VERSION},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {NULL, 0, NULL, 0},
};

static const char usage[] =
    "Option                                 Description\n"
    "------                                 -----------\n"
    "--add-config <k1=v1,k2=[v1,v2],...>    Configs to add; brackets group values holding commas.\n"
    "--all                                  With --describe: every config, not only the dynamic ones\n"
    "                                         (--bootstrap-server only).\n"
    "--alter                                Alter the configuration of the entity.\n"
    "--bootstrap-server <host:port>         The Kafka server to connect to.\n"
    "--broker <broker id>                   The broker (--entity-type brokers --entity-name ID).\n"
    "--broker-defaults                      The cluster-wide broker defaults.\n"
    "--delete-config <k1,k2,...>            Config keys to remove.\n"
    "--describe                             List the configs of the entity.\n"
    "--entity-default                       The default entity of the type (brokers).\n"
    "--entity-name <name>                   The topic name or broker id.\n"
    "--entity-type <topics|brokers>         The type of the entity.\n"
    "--force                                Suppress console prompts.\n"
    "--help                                 Print usage information.\n"
    "--timeout <seconds>                    kbroker-admin: how long to wait for ZooKeeper or the\n"
    "                                         brokers (default 30).\n"
    "--topic <topic>                        The topic (--entity-type topics --entity-name T).\n"
    "--version                              Display kbroker-admin's version.\n"
    "--zookeeper <host:port[/chroot]>       The ZooKeeper connection string (deprecated in Kafka).\n";

#define MAX_ENTITIES 8

typedef struct configs_opts {
    uint32_t has;
    const char *zookeeper, *bootstrap, *add_config;
    int n_types, n_names;
    const char *types[MAX_ENTITIES]; /* in Kafka's order: --entity-type values, then the flags' */
    const char *names[MAX_ENTITIES]; /* "" for a default entity */
    int n_flag_names, n_flag_defaults;
    const char *flag_types[MAX_ENTITIES], *flag_names[MAX_ENTITIES], *flag_default_types[MAX_ENTITIES];
    char **deletes; /* --delete-config keys, split at commas */
    int n_deletes;
} configs_opts_t;

static bool has(const configs_opts_t *o, int opt) { return (o->has & BIT(opt)) != 0; }

/* An IllegalArgumentException of the tool: its message alone on stderr. */
static int refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int refuse(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return KAFKA_EXIT_FAILED;
}

/* ----------------------------------------------------------- parsing */

static int add_entity(const char **list, int *n, const char *value) {
    if (*n >= MAX_ENTITIES) return refuse("too many entities");
    list[(*n)++] = value;
    return EXIT_OK;
}

/* --delete-config values are separated by commas (joptsimple's
 * withValuesSeparatedBy), each trimmed. */
static int add_deletes(configs_opts_t *o, const char *list) {
    for (const char *p = list;; p++) {
        size_t len = strcspn(p, ",");
        char **grown = realloc(o->deletes, (size_t)(o->n_deletes + 1) * sizeof(*grown));
        if (grown == NULL) return refuse("out of memory");
        o->deletes = grown;
        char *key = strndup(p, len);
        if (key == NULL) return refuse("out of memory");
        memmove(key, kafka_trim(key), strlen(kafka_trim(key)) + 1);
        o->deletes[o->n_deletes++] = key;
        p += len;
        if (*p == '\0') return EXIT_OK;
    }
}

/* The entity flags: each names its type, and a name or the default. */
static int take_entity_flag(configs_opts_t *o, int opt) {
    static const struct { int opt; const char *type; bool defaults; } flags[] = {
        {O_TOPIC, "topics", false},        {O_CLIENT, "clients", false},         {O_USER, "users", false},
        {O_BROKER, "brokers", false},      {O_BROKER_LOGGER, "broker-loggers", false},
        {O_CLIENT_DEFAULTS, "clients", true}, {O_USER_DEFAULTS, "users", true}, {O_BROKER_DEFAULTS, "brokers", true},
    };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        if (flags[i].opt != opt) continue;
        if (flags[i].defaults) return add_entity(o->flag_default_types, &o->n_flag_defaults, flags[i].type);
        int rc = add_entity(o->flag_types, &o->n_flag_names, flags[i].type);
        o->n_flag_names--;
        return rc == EXIT_OK ? add_entity(o->flag_names, &o->n_flag_names, optarg) : rc;
    }
    return EXIT_OK;
}

static int take_option(admin_t *a, configs_opts_t *o, int opt) {
    o->has |= BIT(opt);
    switch (opt) {
    case O_ZOOKEEPER: o->zookeeper = optarg; return EXIT_OK;
    case O_BOOTSTRAP: o->bootstrap = optarg; return EXIT_OK;
    case O_ENTITY_TYPE: return add_entity(o->types, &o->n_types, optarg);
    case O_ENTITY_NAME: return add_entity(o->names, &o->n_names, optarg);
    case O_ENTITY_DEFAULT: return add_entity(o->names, &o->n_names, "");
    case O_ADD_CONFIG: o->add_config = optarg; return EXIT_OK;
    case O_DELETE_CONFIG: return add_deletes(o, optarg);
    case O_TIMEOUT: return kafka_set_timeout(a, usage, optarg);
    default: return take_entity_flag(o, opt);
    }
}

/* Kafka's entityTypes and entityNames: the --entity-* values first, then
 * the flags' (named ones, then the defaults). */
static int gather_entities(configs_opts_t *o) {
    int rc = EXIT_OK;
    for (int i = 0; rc == EXIT_OK && i < o->n_flag_names; i++) rc = add_entity(o->types, &o->n_types, o->flag_types[i]);
    for (int i = 0; rc == EXIT_OK && i < o->n_flag_defaults; i++)
        rc = add_entity(o->types, &o->n_types, o->flag_default_types[i]);
    for (int i = 0; rc == EXIT_OK && i < o->n_flag_names; i++) rc = add_entity(o->names, &o->n_names, o->flag_names[i]);
    for (int i = 0; rc == EXIT_OK && i < o->n_flag_defaults; i++) rc = add_entity(o->names, &o->n_names, "");
    return rc;
}

static int parse_options(admin_t *a, configs_opts_t *o, int argc, char **argv) {
    int opt, rc = EXIT_OK;

    while (rc == EXIT_OK && (opt = getopt_long(argc, argv, ":", long_options, NULL)) != -1)
        rc = opt >= 0 && opt < N_OPTIONS ? take_option(a, o, opt) : kafka_option_error(usage, opt, argv);
    if (rc == EXIT_OK && optind < argc)
        rc = kafka_usage_die(usage, "Found non-option argument '%s'", argv[optind]);
    if (rc == EXIT_OK) rc = gather_entities(o);
    return rc;
}

static bool is_broker_id(const char *s) {
    long v;
    return kafka_parse_int(s, &v);
}

static bool any_entity_flag(const configs_opts_t *o) { return o->n_flag_names + o->n_flag_defaults > 0; }

/* ConfigCommandOptions.checkArgs, the part before the connection. */
static int check_actions(const configs_opts_t *o) {
    if (has(o, O_ALTER) + has(o, O_DESCRIBE) != 1)
        return kafka_usage_die(usage, "Command must include exactly one action: --describe, --alter");
    if (has(o, O_DESCRIBE) && (has(o, O_ADD_CONFIG) || has(o, O_DELETE_CONFIG)))
        return kafka_usage_die(usage, "Option \"[describe]\" can't be used with option \"[%s]\"",
                               has(o, O_ADD_CONFIG) ? "add-config" : "delete-config");
    for (int i = 0; i < o->n_types; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(o->types[i], o->types[j]) == 0) return refuse("Duplicate entity type(s) specified: %s", o->types[i]);
    return EXIT_OK;
}

static int check_types(const configs_opts_t *o) {
    bool bootstrap = has(o, O_BOOTSTRAP);
    const char *allowed = bootstrap ? "topics,clients,users,brokers,broker-loggers" : "topics,clients,users,brokers";

    for (int i = 0; i < o->n_types; i++) {
        const char *t = o->types[i];
        bool known = strcmp(t, "topics") == 0 || strcmp(t, "clients") == 0 || strcmp(t, "users") == 0 ||
                     strcmp(t, "brokers") == 0 || (bootstrap && strcmp(t, "broker-loggers") == 0);
        if (!known)
            return refuse("Invalid entity type %s, the entity type must be one of %s with the %s argument", t, allowed,
                          bootstrap ? "--bootstrap-server" : "--zookeeper");
    }
    if (o->n_types == 0) return refuse("At least one entity type must be specified");
    if (o->n_types > 1) return refuse("Only 'users' and 'clients' entity types may be specified together");
    if ((has(o, O_ENTITY_NAME) || has(o, O_ENTITY_TYPE) || has(o, O_ENTITY_DEFAULT)) && any_entity_flag(o))
        return refuse("--entity-{type,name,default} should not be used in conjunction with specific entity flags");
    return EXIT_OK;
}

static int check_connection_and_names(const configs_opts_t *o) {
    bool named = o->n_names > 0 && o->names[0][0] != '\0', defaulted = o->n_names > 0 && o->names[0][0] == '\0';
    const char *type = o->types[0];

    if (!has(o, O_BOOTSTRAP) && !has(o, O_ZOOKEEPER))
        return refuse("One of the required --bootstrap-server or --zookeeper arguments must be specified");
    if (has(o, O_BOOTSTRAP) && has(o, O_ZOOKEEPER))
        return refuse("Only one of --bootstrap-server or --zookeeper must be specified");
    if (has(o, O_ALL) && has(o, O_ZOOKEEPER)) return refuse("--bootstrap-server must be specified for --all");
    if (named && strcmp(type, "brokers") == 0 && !is_broker_id(o->names[0]))
        return refuse("The entity name for %s must be a valid integer broker id, but it is: %s", type, o->names[0]);
    if (!has(o, O_ALTER)) return EXIT_OK;
    if (strcmp(type, "topics") == 0 && !named) return refuse("an entity name must be specified with --alter of %s", type);
    if (strcmp(type, "topics") != 0 && !named && !defaulted)
        return refuse("an entity-name or default entity must be specified with --alter of users, clients or brokers");
    if (has(o, O_ADD_CONFIG) && has(o, O_ADD_CONFIG_FILE))
        return refuse("Only one of --add-config or --add-config-file must be specified");
    if (!has(o, O_ADD_CONFIG) && !has(o, O_ADD_CONFIG_FILE) && !has(o, O_DELETE_CONFIG))
        return refuse("At least one of --add-config, --add-config-file, or --delete-config must be specified with "
                      "--alter");
    return EXIT_OK;
}

/* What kbroker cannot do, after Kafka's own checks. */
static int check_supported(const configs_opts_t *o) {
    const char *type = o->types[0];

    if (has(o, O_COMMAND_CONFIG))
        return refuse("--command-config is not supported: kbroker-admin speaks PLAINTEXT to the brokers, without "
                      "client properties");
    if (has(o, O_ZK_TLS)) return refuse("--zk-tls-config-file is not supported: kbroker-admin connects to ZooKeeper "
                                        "without TLS");
    if (has(o, O_ADD_CONFIG_FILE)) return refuse("--add-config-file is not supported; give --add-config k=v,...");
    if (strcmp(type, "topics") != 0 && strcmp(type, "brokers") != 0)
        return refuse("entity type %s is not supported: kbroker has configs for topics and brokers only (no client "
                      "or user quotas, no broker loggers)", type);
    if (has(o, O_ALTER) && strcmp(type, "brokers") == 0 && has(o, O_ZOOKEEPER))
        return refuse("kbroker applies broker configs only from server.properties at start-up: nothing to write to "
                      "/config/brokers");
    return EXIT_OK;
}

/* --------------------------------------------------------- --add-config */

/* One "key=value" item: exactly one '=' outside brackets; the key trimmed,
 * the value with every '[' and ']' removed, then trimmed. */
static int parse_item(const char *item, size_t len, kc_config_entry_t *out) {
    char *copy = strndup(item, len), *eq = NULL;
    int depth = 0, n_eq = 0;

    if (copy == NULL) return refuse("out of memory");
    for (char *p = copy; *p; p++) {
        if (*p == '[') depth++;
        else if (*p == ']' && depth > 0) depth--;
        else if (*p == '=' && depth == 0 && n_eq++ == 0) eq = p;
    }
    if (eq == NULL || n_eq != 1) {
        free(copy);
        return refuse("requirement failed: Invalid entity config: all configs to be added must be in the format "
                      "\"key=val\".");
    }
    *eq = '\0';
    char *value = eq + 1, *w = value;
    for (char *p = value; *p; p++)
        if (*p != '[' && *p != ']') *w++ = *p;
    *w = '\0';
    out->key = strdup(kafka_trim(copy));
    out->value = strdup(kafka_trim(value));
    free(copy);
    return out->key != NULL && out->value != NULL ? EXIT_OK : refuse("out of memory");
}

/* --add-config into entries; a key given twice keeps its last value. */
static int parse_adds(const char *list, kc_config_entry_t **out, int *n) {
    *out = calloc(strlen(list) + 1, sizeof(**out));
    *n = 0;
    if (*out == NULL) return refuse("out of memory");
    for (const char *p = list;; p++) {
        size_t len = admin_list_item_len(p);
        kc_config_entry_t e = {0};
        int rc = parse_item(p, len, &e);
        if (rc != EXIT_OK) return rc;
        int at = *n;
        for (int i = 0; i < *n; i++)
            if (strcmp((*out)[i].key, e.key) == 0) at = i;
        if (at < *n) {
            free((*out)[at].key);
            free((*out)[at].value);
        }
        (*out)[at] = e;
        if (at == *n) (*n)++;
        p += len;
        if (*p == '\0') return EXIT_OK;
    }
}

/* "Invalid config(s): k1,k2" for the deleted keys the entity does not have. */
static int check_deletes(const configs_opts_t *o, const kc_config_entry_t *current, int n) {
    char missing[1024] = "";
    size_t used = 0;

    for (int i = 0; i < o->n_deletes; i++) {
        bool found = false;
        for (int j = 0; j < n && !found; j++) found = strcmp(current[j].key, o->deletes[i]) == 0;
        if (!found && used < sizeof(missing))
            used += (size_t)snprintf(missing + used, sizeof(missing) - used, "%s%s", used > 0 ? "," : "", o->deletes[i]);
    }
    return used > 0 ? refuse("Invalid config(s): %s", missing) : EXIT_OK;
}

/* current without the deleted keys, with the added ones (replacing). */
static int merge(const configs_opts_t *o, const kc_config_entry_t *current, int n, const kc_config_entry_t *adds,
                 int n_adds, kc_config_entry_t **out, int *n_out) {
    *out = calloc((size_t)(n + n_adds) + 1, sizeof(**out));
    *n_out = 0;
    if (*out == NULL) return refuse("out of memory");
    for (int i = 0; i < n + n_adds; i++) {
        const kc_config_entry_t *e = i < n ? &current[i] : &adds[i - n];
        bool dropped = false;
        for (int j = 0; j < n_adds && i < n; j++) dropped |= strcmp(adds[j].key, e->key) == 0;
        for (int j = 0; j < o->n_deletes; j++) dropped |= strcmp(o->deletes[j], e->key) == 0;
        if (dropped) continue;
        (*out)[*n_out] = (kc_config_entry_t){strdup(e->key), strdup(e->value)};
        if ((*out)[(*n_out)++].value == NULL) return refuse("out of memory");
    }
    return EXIT_OK;
}

/* ------------------------------------------------------- through ZooKeeper */

/* Kafka's Entity.toString: "topic 'T'", "brokers '1'", "default brokers". */
static void entity_text(const char *type, const char *name, char *buf, size_t size) {
    const char *shown = strcmp(type, "topics") == 0 ? "topic" : type;
    if (name[0] == '\0') snprintf(buf, size, "default %s", shown);
    else snprintf(buf, size, "%s '%s'", shown, name);
}

/* The znode name of an entity: the default broker entity is <default>. */
static const char *znode_name(const char *name) { return name[0] == '\0' ? "<default>" : name; }

static void print_zk_configs(const char *type, const char *name, const kc_config_entry_t *e, int n) {
    char entity[320];
    entity_text(type, name, entity, sizeof(entity));
    printf("Configs for %s are ", entity);
    for (int i = 0; i < n; i++) printf("%s%s=%s", i > 0 ? "," : "", e[i].key, e[i].value);
    putchar('\n');
}

static int zk_describe_one(admin_t *a, const char *type, const char *name, bool skip_empty) {
    kc_config_entry_t *e = NULL;
    int n = 0;
    int rc = admin_read_configs(a, type, znode_name(name), &e, &n);
    if (rc == EXIT_OK && (n > 0 || !skip_empty)) print_zk_configs(type, name, e, n);
    kc_config_entries_free(e, n);
    return rc;
}

/* Without a name, every entity with a config: every topic (each has its
 * config znode), and the brokers and broker default that have overrides. */
static int zk_describe(admin_t *a, const configs_opts_t *o) {
    const char *type = o->types[0];
    char id[16];

    if (o->n_names > 0) return zk_describe_one(a, type, o->names[0], false);
    int rc = admin_load_view(a);
    bool topics = strcmp(type, "topics") == 0;
    int n = rc != EXIT_OK ? 0 : topics ? kc_view_topic_count(a->view) : kc_view_broker_count(a->view);
    for (int i = 0; rc == EXIT_OK && i < n; i++) {
        if (topics) {
            const kc_topic_t *t = kc_view_topic_at(a->view, i);
            print_zk_configs(type, t->name, t->configs, t->n_configs);
            continue;
        }
        snprintf(id, sizeof(id), "%d", (int)kc_view_broker_at(a->view, i)->id);
        rc = zk_describe_one(a, type, id, true);
    }
    if (rc == EXIT_OK && !topics) rc = zk_describe_one(a, type, "", true);
    return rc;
}

static int zk_alter(admin_t *a, const configs_opts_t *o, const kc_config_entry_t *adds, int n_adds) {
    const char *topic = o->names[0];
    kc_config_entry_t *current = NULL, *merged = NULL;
    int n = 0, n_merged = 0;
    char entity[320];

    int rc = admin_read_configs(a, "topics", topic, &current, &n);
    if (rc == EXIT_OK) rc = check_deletes(o, current, n);
    if (rc == EXIT_OK) rc = merge(o, current, n, adds, n_adds, &merged, &n_merged);
    if (rc == EXIT_OK) rc = admin_load_view(a);
    if (rc == EXIT_OK && kc_view_topic(a->view, topic) == NULL)
        rc = fail(KAFKA_EXIT_FAILED, "Topic \"%s\" does not exist.", topic);
    if (rc == EXIT_OK) rc = admin_write_topic_configs(a, topic, merged, n_merged);
    entity_text("topics", topic, entity, sizeof(entity));
    if (rc == EXIT_OK) printf("Completed updating config for entity: %s.\n", entity);
    kc_config_entries_free(current, n);
    kc_config_entries_free(merged, n_merged);
    return rc;
}

/* ------------------------------------------------------ through the brokers */

static kcl_resource_t resource_of(const char *type) {
    return strcmp(type, "topics") == 0 ? KCL_RESOURCE_TOPIC : KCL_RESOURCE_BROKER;
}

/* The source a non---all describe keeps, per Kafka's getResourceConfig. */
static int dynamic_source(const char *type, const char *name) {
    if (strcmp(type, "topics") == 0) return KCL_SOURCE_DYNAMIC_TOPIC;
    return name[0] == '\0' ? KCL_SOURCE_DYNAMIC_DEFAULT_BROKER : KCL_SOURCE_DYNAMIC_BROKER;
}

static int topic_name_checked(const char *type, const char *name) {
    char why[320];
    if (strcmp(type, "topics") != 0 || name[0] == '\0' || kc_topic_name_valid(name, why, sizeof(why)))
        return EXIT_OK;
    return fail(KAFKA_EXIT_FAILED, "%s", why);
}

/* "  k=v sensitive=false synonyms={SOURCE:k=v, ...}". */
static void print_config_line(const kcl_config_t *c) {
    printf("  %s=%s sensitive=%s synonyms={", c->name, c->value != NULL ? c->value : "null",
           c->sensitive ? "true" : "false");
    for (int s = 0; s < c->n_synonyms; s++)
        printf("%s%s:%s=%s", s > 0 ? ", " : "", c->synonyms[s].source_name, c->synonyms[s].name,
               c->synonyms[s].value != NULL ? c->synonyms[s].value : "null");
    puts("}");
}

static int bs_describe_one(kcl_admin_t *k, bool all, const char *type, const char *name) {
    kcl_config_t *c = NULL;
    kcl_error_t err = {0};
    int n = 0;
    int rc = topic_name_checked(type, name);

    if (rc != EXIT_OK) return rc;
    if (name[0] == '\0') printf("Default configs for %s in the cluster are:\n", type);
    else printf("%s configs for %.*s %s are:\n", all ? "All" : "Dynamic", (int)strlen(type) - 1, type, name);
    if (kcl_admin_describe_configs(k, resource_of(type), name, true, &c, &n, &err) != KCL_OK)
        rc = kafka_client_failed(&err);
    for (int i = 0; rc == EXIT_OK && i < n; i++)
        if (all || c[i].source == dynamic_source(type, name)) print_config_line(&c[i]);
    kcl_configs_free(c, n);
    return rc;
}

/* Without a name: every topic (internal ones too), or every broker and
 * then the cluster default. */
static int bs_describe(kcl_admin_t *k, const configs_opts_t *o) {
    const char *type = o->types[0];
    kcl_cluster_info_t info;
    kcl_error_t err = {0};
    char id[16];

    bool all = has(o, O_ALL);

    if (o->n_names > 0) return bs_describe_one(k, all, type, o->names[0]);
    if (kcl_admin_describe_cluster(k, &info, &err) != KCL_OK) {
        kcl_cluster_info_clear(&info);
        return kafka_client_failed(&err);
    }
    bool topics = strcmp(type, "topics") == 0;
    int rc = EXIT_OK, n = topics ? info.n_topics : info.n_brokers;
    for (int i = 0; rc == EXIT_OK && i < n; i++) {
        snprintf(id, sizeof(id), "%d", topics ? 0 : (int)info.brokers[i]);
        rc = bs_describe_one(k, all, type, topics ? info.topics[i].name : id);
    }
    if (rc == EXIT_OK && !topics) rc = bs_describe_one(k, all, type, "");
    kcl_cluster_info_clear(&info);
    return rc;
}

/* The entity's dynamic overrides, as entries (owned). */
static int bs_dynamic(kcl_admin_t *k, const char *type, const char *name, kc_config_entry_t **out, int *n) {
    kcl_config_t *c = NULL;
    kcl_error_t err = {0};
    int n_c = 0, rc = EXIT_OK;

    *n = 0;
    *out = NULL;
    if (kcl_admin_describe_configs(k, resource_of(type), name, false, &c, &n_c, &err) != KCL_OK)
        rc = kafka_client_failed(&err);
    if (rc == EXIT_OK && (*out = calloc((size_t)n_c + 1, sizeof(**out))) == NULL) rc = refuse("out of memory");
    for (int i = 0; rc == EXIT_OK && i < n_c; i++) {
        if (c[i].source != dynamic_source(type, name)) continue;
        if (c[i].value == NULL)
            rc = refuse("All sensitive broker config entries must be specified for --alter, missing entries: [%s]",
                        c[i].name);
        else
            (*out)[(*n)++] = (kc_config_entry_t){strdup(c[i].name), strdup(c[i].value)};
    }
    kcl_configs_free(c, n_c);
    return rc;
}

static int bs_alter(kcl_admin_t *k, const configs_opts_t *o, const kc_config_entry_t *adds, int n_adds) {
    const char *type = o->types[0], *name = o->names[0];
    kc_config_entry_t *current = NULL, *merged = NULL;
    kcl_kv_t *set = NULL;
    kcl_error_t err = {0};
    int n = 0, n_merged = 0;

    int rc = topic_name_checked(type, name);
    if (rc == EXIT_OK) rc = bs_dynamic(k, type, name, &current, &n);
    if (rc == EXIT_OK) rc = check_deletes(o, current, n);
    if (rc == EXIT_OK) rc = merge(o, current, n, adds, n_adds, &merged, &n_merged);
    if (rc == EXIT_OK && (set = calloc((size_t)n_merged + 1, sizeof(*set))) == NULL) rc = refuse("out of memory");
    for (int i = 0; rc == EXIT_OK && i < n_merged; i++) set[i] = (kcl_kv_t){merged[i].key, merged[i].value};
    if (rc == EXIT_OK && kcl_admin_alter_configs(k, resource_of(type), name, set, n_merged, &err) != KCL_OK)
        rc = kafka_client_failed(&err);
    if (rc == EXIT_OK && name[0] != '\0') printf("Completed updating config for %.*s %s.\n", (int)strlen(type) - 1,
                                                 type, name);
    else if (rc == EXIT_OK) printf("Completed updating default config for %s in the cluster.\n", type);
    free(set);
    kc_config_entries_free(current, n);
    kc_config_entries_free(merged, n_merged);
    return rc;
}

/* ------------------------------------------------------------ running */

static int run(admin_t *a, configs_opts_t *o) {
    kc_config_entry_t *adds = NULL;
    int n_adds = 0, rc = EXIT_OK;

    if (o->add_config != NULL) rc = parse_adds(o->add_config, &adds, &n_adds);
    if (rc == EXIT_OK && o->zookeeper != NULL) {
        puts("Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.");
        puts("Use --bootstrap-server instead to specify a broker to connect to.");
        if (!admin_zookeeper_valid(o->zookeeper))
            rc = fail(KAFKA_EXIT_FAILED, "invalid --zookeeper '%s': expected HOST:PORT[,HOST:PORT...][/chroot]",
                      o->zookeeper);
        a->zookeeper = o->zookeeper;
        if (rc == EXIT_OK) rc = has(o, O_ALTER) ? zk_alter(a, o, adds, n_adds) : zk_describe(a, o);
    } else if (rc == EXIT_OK) {
        kcl_admin_t *k = NULL;
        rc = kafka_open_brokers(a, o->bootstrap, KAFKA_CLIENT_MESSAGE, &k);
        if (rc == EXIT_OK) rc = has(o, O_ALTER) ? bs_alter(k, o, adds, n_adds) : bs_describe(k, o);
        kcl_admin_close(k);
    }
    kc_config_entries_free(adds, n_adds);
    return rc;
}

/* The arguments as one string, for Kafka's "with args '...'" line. */
static char *joined_args(int argc, char **argv) {
    size_t len = 1;
    for (int i = 1; i < argc; i++) len += strlen(argv[i]) + 1;
    char *s = calloc(len, 1);
    for (int i = 1; s != NULL && i < argc; i++) {
        if (i > 1) strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

int kafka_configs_main(admin_t *a, int argc, char **argv) {
    configs_opts_t o = {0};
    char *args = joined_args(argc, argv);
    int rc;

    admin_set_error_style(ADMIN_ERRORS_KAFKA_CONFIGS, args);
    rc = parse_options(a, &o, argc, argv);
    if (rc == EXIT_OK && (argc <= 1 || has(&o, O_HELP)))
        rc = kafka_usage_die(usage, "This tool helps to manipulate and describe entity config for a topic, client, "
                                    "user or broker");
    else if (rc == EXIT_OK && has(&o, O_VERSION))
        puts(PACKAGE_VERSION " (kbroker-admin)");
    else if (rc == EXIT_OK) {
        rc = check_actions(&o);
        if (rc == EXIT_OK) rc = check_types(&o);
        if (rc == EXIT_OK) rc = check_connection_and_names(&o);
        if (rc == EXIT_OK) rc = check_supported(&o);
        if (rc == EXIT_OK) rc = run(a, &o);
    }
    for (int i = 0; i < o.n_deletes; i++) free(o.deletes[i]);
    free(o.deletes);
    admin_set_error_style(ADMIN_ERRORS_KAFKA_CONFIGS, "");
    free(args);
    return rc == EXIT_OK ? EXIT_OK : KAFKA_EXIT_FAILED;
}
