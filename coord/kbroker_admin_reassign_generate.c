/*
 * kbroker_admin_reassign_generate.c - kafka-reassign-partitions --generate
 * (with --zookeeper): a candidate plan that spreads the listed topics over
 * the listed brokers, printed beside their current assignment, as Kafka
 * 2.6's tool prints them:
 *
 *   Current partition replica assignment
 *   {"version":1,"partitions":[{"topic":T,"partition":0,"replicas":[...],"log_dirs":["any",...]},...]}
 *
 *   Proposed partition reassignment configuration
 *   {"version":1,"partitions":[...]}
 *
 * Nothing is written: the operator saves the first JSON to roll back with
 * and gives the second to --execute.  Each topic keeps its partition count
 * and replication factor; its replicas are placed as a new topic's would
 * be (kc_topic_plan: AdminUtils.assignReplicasToBrokers over the brokers
 * of --broker-list that are registered, ascending, from a random start),
 * so two runs may propose different plans, as Kafka's do.
 *
 * Inputs as Kafka's tool checks them: --broker-list is comma-separated
 * broker ids, none twice; the topics file is {"topics":[{"topic":T},...],
 * "version":1} ("version" may be missing; another is refused), no topic
 * twice.  Unlike Kafka's ZooKeeper path, which leaves an unknown topic out
 * without a word, an unknown topic is refused by name (Kafka's
 * --bootstrap-server path's "Topic T not found.").  Racks: Kafka's
 * rack-aware placement when every listed broker has broker.rack, refused
 * when only some have one, ignored with --disable-rack-aware.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/kbroker_admin.h"
#include "coord/kbroker_admin_kafka.h"
#include "coord/kc_topics.h"

typedef struct generate {
    int32_t *brokers; /* --broker-list, sorted once parsed */
    int n_brokers;
    char **topics;    /* the topics file's, sorted */
    int n_topics;
    json_t *current, *proposed; /* the two "partitions" arrays */
} generate_t;

static void generate_clear(generate_t *g) {
    for (int i = 0; i < g->n_topics; i++) free(g->topics[i]);
    free(g->topics);
    free(g->brokers);
    json_decref(g->current);
    json_decref(g->proposed);
}

static int cmp_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Kafka's `brokerList.split(',').map(_.toInt)`, then its duplicate check. */
static int parse_broker_list(const char *text, generate_t *g) {
    size_t cap = strlen(text) / 2 + 1;
    char *copy = strdup(text), *save = NULL;
    g->brokers = calloc(cap, sizeof(*g->brokers));
    if (!copy || !g->brokers) {
        free(copy);
        return fail(KAFKA_EXIT_FAILED, "out of memory");
    }
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        errno = 0;
        long v = strtol(tok, &end, 10);
        if (*tok == '\0' || *end != '\0' || errno || v < INT32_MIN || v > INT32_MAX) {
            int rc = fail(KAFKA_EXIT_FAILED, "For input string: \"%s\" (--broker-list takes broker ids, e.g. 1,2,3)",
                          tok);
            free(copy);
            return rc;
        }
        g->brokers[g->n_brokers++] = (int32_t)v;
    }
    free(copy);
    /* Only membership matters from here on, so the list is sorted in place
     * (no copy on the stack: its length is the user's). */
    int32_t *ids = g->brokers;
    qsort(ids, (size_t)g->n_brokers, sizeof(*ids), cmp_int32);
    char dups[512] = "";
    for (int i = 1; i < g->n_brokers; i++)
        if (ids[i] == ids[i - 1] && (i == 1 || ids[i - 1] != ids[i - 2]))
            snprintf(dups + strlen(dups), sizeof(dups) - strlen(dups), "%s%d", dups[0] ? "," : "", (int)ids[i]);
    if (dups[0]) return fail(KAFKA_EXIT_FAILED, "Broker list contains duplicate entries: %s", dups);
    if (g->n_brokers == 0) return fail(KAFKA_EXIT_FAILED, "--broker-list names no broker");
    return EXIT_OK;
}

/* Kafka's parseTopicsData (version 1), then its duplicate check. */
static int parse_topics(const char *path, generate_t *g) {
    size_t len = 0;
    char *text = reassign_read_file(path, &len);
    if (!text) return fail(KAFKA_EXIT_FAILED, "cannot read '%s' (missing, unreadable, or too large)", path);
    json_t *root = json_loadb(text, len, 0, NULL), *topics = json_object_get(root, "topics"), *version;
    free(text);
    int rc = EXIT_OK;
    version = json_object_get(root, "version");
    if (!json_is_object(root)) rc = fail(KAFKA_EXIT_FAILED, "The input string is not a valid JSON");
    else if (version && !json_is_integer(version))
        rc = fail(KAFKA_EXIT_FAILED, "%s: \"version\" must be an integer", path);
    else if (version && json_integer_value(version) != 1)
        rc = fail(KAFKA_EXIT_FAILED, "Not supported version field value %lld", (long long)json_integer_value(version));
    else if (topics && !json_is_array(topics))
        rc = fail(KAFKA_EXIT_FAILED, "%s: \"topics\" must be an array of {\"topic\": NAME}", path);
    size_t n = json_array_size(topics);
    g->topics = calloc(n > 0 ? n : 1, sizeof(*g->topics));
    if (rc == EXIT_OK && !g->topics) rc = fail(KAFKA_EXIT_FAILED, "out of memory");
    for (size_t i = 0; rc == EXIT_OK && i < n; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(topics, i), "topic"));
        if (!name) rc = fail(KAFKA_EXIT_FAILED, "%s: entry %zu of \"topics\" has no string \"topic\"", path, i);
        else if (!(g->topics[g->n_topics++] = strdup(name))) rc = fail(KAFKA_EXIT_FAILED, "out of memory");
    }
    json_decref(root);
    if (rc != EXIT_OK) return rc;
    qsort(g->topics, (size_t)g->n_topics, sizeof(*g->topics), cmp_str);
    for (int i = 1; i < g->n_topics; i++)
        if (strcmp(g->topics[i], g->topics[i - 1]) == 0)
            return fail(KAFKA_EXIT_FAILED, "List of topics to reassign contains duplicate entries: %s", g->topics[i]);
    if (g->n_topics == 0) return fail(KAFKA_EXIT_FAILED, "%s lists no topic to move", path);
    return EXIT_OK;
}

/* The brokers of --broker-list that are registered, ascending (Kafka's
 * getBrokerMetadatas filters the same way). */
static void registered_brokers(const admin_t *a, const generate_t *g, int32_t *out, int *n_out) {
    *n_out = 0;
    for (int i = 0; i < kc_view_broker_count(a->view); i++) {
        const kc_broker_info_t *b = kc_view_broker_at(a->view, i);
        bool listed = false;
        for (int j = 0; j < g->n_brokers && !listed; j++) listed = g->brokers[j] == b->id;
        if (listed) out[(*n_out)++] = b->id; /* kc_view_broker_at is sorted by id */
    }
}

/* One topic: its current replicas and a new placement (by racks when not
 * NULL), appended. */
static int plan_topic(const admin_t *a, generate_t *g, const char *name, const int32_t *brokers,
                      const char *const *racks, int n_brokers) {
    const kc_topic_t *t = kc_view_topic(a->view, name);
    kc_topic_t plan = {0};
    int16_t kafka_error = 0;
    char why[512];
    if (!t || t->n_partitions == 0) return fail(KAFKA_EXIT_FAILED, "Topic %s not found.", name);
    int32_t rf = t->partitions[0].n_replicas;
    if (rf > n_brokers) /* AdminUtils.assignReplicasToBrokers' words */
        return fail(KAFKA_EXIT_FAILED, "Replication factor: %d larger than available brokers: %d.", (int)rf,
                    n_brokers);
    if (kc_topic_plan(name, t->n_partitions, rf, NULL, brokers, racks, n_brokers, &plan, &kafka_error, why,
                      sizeof(why)) != KC_OK)
        return fail(KAFKA_EXIT_FAILED, "%s", why);
    for (int p = 0; p < t->n_partitions; p++) {
        json_array_append_new(g->current, reassign_entry_json(name, p, t->partitions[p].replicas,
                                                              t->partitions[p].n_replicas));
        json_array_append_new(g->proposed, reassign_entry_json(name, p, plan.partitions[p].replicas,
                                                               plan.partitions[p].n_replicas));
    }
    kc_topic_clear(&plan);
    return EXIT_OK;
}

static int print_assignments(const generate_t *g) {
    json_t *cur = json_pack("{s:i, s:O}", "version", 1, "partitions", g->current);
    json_t *prop = json_pack("{s:i, s:O}", "version", 1, "partitions", g->proposed);
    char *cur_text = cur ? json_dumps(cur, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    char *prop_text = prop ? json_dumps(prop, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    int rc = cur_text && prop_text ? EXIT_OK : fail(KAFKA_EXIT_FAILED, "out of memory");
    if (rc == EXIT_OK)
        printf("Current partition replica assignment\n%s\n\nProposed partition reassignment configuration\n%s\n",
               cur_text, prop_text);
    free(cur_text);
    free(prop_text);
    json_decref(cur);
    json_decref(prop);
    return rc;
}

int reassign_generate(admin_t *a, const char *topics_file, const char *broker_list, bool disable_rack_aware) {
    generate_t g = {.current = json_array(), .proposed = json_array()};
    int rc = g.current && g.proposed ? parse_broker_list(broker_list, &g) : fail(KAFKA_EXIT_FAILED, "out of memory");
    if (rc == EXIT_OK) rc = parse_topics(topics_file, &g);
    if (rc == EXIT_OK) rc = admin_load_view(a);
    int32_t *brokers = rc == EXIT_OK ? calloc((size_t)g.n_brokers, sizeof(*brokers)) : NULL;
    int n_brokers = 0;
    if (rc == EXIT_OK && !brokers) rc = fail(KAFKA_EXIT_FAILED, "out of memory");
    const char **racks = NULL;
    if (rc == EXIT_OK) registered_brokers(a, &g, brokers, &n_brokers);
    if (rc == EXIT_OK &&
        admin_placement_racks(a, brokers, n_brokers, disable_rack_aware ? KC_RACKS_DISABLED : KC_RACKS_ENFORCED,
                              &racks) != EXIT_OK)
        rc = KAFKA_EXIT_FAILED;
    for (int i = 0; rc == EXIT_OK && i < g.n_topics; i++)
        rc = plan_topic(a, &g, g.topics[i], brokers, racks, n_brokers);
    if (rc == EXIT_OK) rc = print_assignments(&g);
    free(racks);
    free(brokers);
    generate_clear(&g);
    return rc;
}
