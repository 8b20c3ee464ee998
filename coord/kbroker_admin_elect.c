/*
 * kbroker_admin_elect.c - kbroker-admin elect-leaders, the operator's way
 * back to the preferred leaders after a rolling restart (or an unclean
 * election), spelt as Kafka's kafka-leader-election.sh:
 *
 *   elect-leaders [--election-type preferred|unclean]
 *                 [--all-topic-partitions | --topic T [--partition P] |
 *                  --path-to-json-file FILE]
 *
 * With --bootstrap-server it asks the controller through the ElectLeaders
 * API (libkclient, client/kcl_elect.h) and prints the controller's
 * verdicts as Kafka's tool does.  With --zookeeper it does what
 * kafka-preferred-replica-election.sh --zookeeper did: it writes
 * /admin/preferred_replica_election (preferred elections only), then,
 * unlike that tool, waits (within --timeout) until the controller has
 * processed and deleted it, and reports from the state znodes which
 * partitions are now led by their preferred replica.
 *
 * No partition option means every partition (Kafka's tool asks for
 * --all-topic-partitions); --topic without --partition (Kafka's tool
 * requires --partition) means every partition of that topic, and a topic
 * that does not exist is then refused by name (exit status 6).  The JSON
 * file is Kafka's: {"partitions":[{"topic":"T","partition":P},...]}.
 *
 * Output (text), the same lines either way: "Successfully completed leader
 * election (PREFERRED) for partitions T-0, T-1", "Valid replica already
 * elected for partitions T-2" (Kafka 2.6's tool lists the elected ones
 * there by mistake; these are the ones that needed no election), one
 * "Error completing leader election (PREFERRED) for partition: T-3: NAME:
 * message" line per failure, and then exit status 9 with Kafka's "N
 * replica(s) could not be elected"; --output json prints one object.
 * Asked for every partition, Kafka's controller leaves out the partitions
 * that needed no election (KafkaApis.handleElectReplicaLeader), so nothing
 * is printed for them, and nothing at all when every preferred replica
 * already leads; the ZooKeeper way does the same.
 */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/kcl_elect.h"
#include "coord/kbroker_admin.h"
#include "coord/kc_json.h"
#include "coord/kc_preferred.h"

#define MAX_JSON_FILE (16 << 20)

typedef struct elect_args {
    int type;        /* KCL_ELECTION_* */
    const char *topic;
    long partition;  /* -1: every partition of topic */
    bool all;
    const char *json_file;
} elect_args_t;

/* What became of each partition, however it was asked for. */
typedef struct outcome {
    char *topic;
    int32_t partition;
    int16_t error;      /* 0 elected; 84 ELECTION_NOT_NEEDED; other: failed */
    const char *message;
} outcome_t;

/* Kafka's names of the Kafka errors an election ends with. */
static const char *error_name(int16_t code) {
    switch (code) {
    case 3: return "UNKNOWN_TOPIC_OR_PARTITION";
    case 7: return "REQUEST_TIMED_OUT";
    case 41: return "NOT_CONTROLLER";
    case 42: return "INVALID_REQUEST";
    case 80: return "PREFERRED_LEADER_NOT_AVAILABLE";
    case 83: return "ELIGIBLE_LEADERS_NOT_AVAILABLE";
    case 84: return "ELECTION_NOT_NEEDED";
    default: return "UNKNOWN_SERVER_ERROR";
    }
}

#define ELECTION_NOT_NEEDED 84
#define PREFERRED_LEADER_NOT_AVAILABLE 80
#define UNKNOWN_TOPIC_OR_PARTITION 3

/* ------------------------------------------------------------- options */

static int parse_type(const char *s, int *type) {
    if (strcasecmp(s, "preferred") == 0) *type = KCL_ELECTION_PREFERRED;
    else if (strcasecmp(s, "unclean") == 0) *type = KCL_ELECTION_UNCLEAN;
    else return fail(EXIT_USAGE, "elect-leaders: --election-type must be preferred or unclean, not '%s'", s);
    return EXIT_OK;
}

static int parse_elect_options(elect_args_t *e, int argc, char **argv) {
    static const struct option options[] = {
        {"election-type", required_argument, NULL, 'e'}, {"topic", required_argument, NULL, 't'},
        {"partition", required_argument, NULL, 'p'},     {"all-topic-partitions", no_argument, NULL, 'a'},
        {"path-to-json-file", required_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    int opt, rc = EXIT_OK;
    bool has_partition = false;
    *e = (elect_args_t){.type = KCL_ELECTION_PREFERRED, .partition = -1};
    while (rc == EXIT_OK && (opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
        if (opt == 'e') rc = parse_type(optarg, &e->type);
        else if (opt == 't') e->topic = optarg;
        else if (opt == 'a') e->all = true;
        else if (opt == 'j') e->json_file = optarg;
        else if (opt == 'p' && parse_int(optarg, 0, INT32_MAX, &e->partition)) has_partition = true;
        else if (opt == 'p') rc = fail(EXIT_USAGE, "elect-leaders: --partition '%s' is not a partition id", optarg);
        else rc = option_error("elect-leaders", opt, argv);
    }
    if (rc != EXIT_OK) return rc;
    if (optind < argc) return fail(EXIT_USAGE, "elect-leaders: unexpected argument '%s'", argv[optind]);
    if ((e->topic != NULL) + e->all + (e->json_file != NULL) > 1)
        return fail(EXIT_USAGE, "elect-leaders: give only one of --all-topic-partitions, --topic and "
                    "--path-to-json-file");
    if (has_partition && e->topic == NULL)
        return fail(EXIT_USAGE, "elect-leaders: --partition is only allowed with --topic");
    return EXIT_OK;
}

/* Kafka's --path-to-json-file: the partitions of the file (freed with
 * kc_isr_changes_free). */
static int read_json_file(const char *path, kc_isr_change_t **parts, int *n) {
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(MAX_JSON_FILE) : NULL;
    size_t len = buf ? fread(buf, 1, MAX_JSON_FILE, f) : 0;
    int rc = EXIT_OK;
    if (!f) rc = fail(EXIT_USAGE, "elect-leaders: cannot read '%s'", path);
    else if (!buf || ferror(f)) rc = fail(EXIT_USAGE, "elect-leaders: cannot read '%s'", path);
    else if (kc_json_preferred_election_decode(buf, len, parts, n) < 0 || *n == 0)
        rc = fail(EXIT_USAGE, "elect-leaders: '%s' is not {\"partitions\":[{\"topic\":T,\"partition\":P},...]}",
                  path);
    free(buf);
    if (f) fclose(f);
    return rc;
}

/* ------------------------------------------------------------- output */

static int by_name(const void *a, const void *b) {
    const outcome_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* "T-0, T-1" of the outcomes whose error `want` says (elected 0, not
 * needed 84). */
static void print_list(const char *intro, const outcome_t *o, int n, int16_t want) {
    bool first = true;
    for (int i = 0; i < n; i++) {
        if (o[i].error != want) continue;
        printf("%s%s-%d", first ? intro : ", ", o[i].topic, (int)o[i].partition);
        first = false;
    }
    if (!first) putchar('\n');
}

static int print_json_outcomes(const char *type, const outcome_t *o, int n) {
    json_t *doc = json_object(), *arr = json_array();
    for (int i = 0; doc && arr && i < n; i++) {
        const char *result = o[i].error == 0 ? "elected" : o[i].error == ELECTION_NOT_NEEDED ? "not_needed" : "error";
        json_t *e = json_pack("{s:s,s:i,s:s}", "topic", o[i].topic, "partition", (int)o[i].partition, "result",
                              result);
        if (e && o[i].error != 0 && o[i].error != ELECTION_NOT_NEEDED) {
            json_object_set_new(e, "error", json_string(error_name(o[i].error)));
            if (o[i].message) json_object_set_new(e, "message", json_string(o[i].message));
        }
        json_array_append_new(arr, e);
    }
    json_object_set_new(doc, "election_type", json_string(type));
    json_object_set_new(doc, "partitions", arr);
    return print_json(doc);
}

/* Kafka's lines, sorted by partition; 9 when some could not be elected. */
static int report(const admin_t *a, int type, outcome_t *o, int n) {
    const char *name = type == KCL_ELECTION_UNCLEAN ? "UNCLEAN" : "PREFERRED";
    char intro[96];
    int failed = 0;
    qsort(o, (size_t)n, sizeof(*o), by_name);
    for (int i = 0; i < n; i++) failed += o[i].error != 0 && o[i].error != ELECTION_NOT_NEEDED;
    if (a->json) {
        int rc = print_json_outcomes(name, o, n);
        return rc != EXIT_OK || !failed ? rc : EXIT_BROKER_ERROR;
    }
    snprintf(intro, sizeof(intro), "Successfully completed leader election (%s) for partitions ", name);
    print_list(intro, o, n, 0);
    print_list("Valid replica already elected for partitions ", o, n, ELECTION_NOT_NEEDED);
    for (int i = 0; i < n; i++)
        if (o[i].error != 0 && o[i].error != ELECTION_NOT_NEEDED)
            printf("Error completing leader election (%s) for partition: %s-%d: %s: %s\n", name, o[i].topic,
                   (int)o[i].partition, error_name(o[i].error), o[i].message ? o[i].message : "");
    fflush(stdout);
    return failed ? fail(EXIT_BROKER_ERROR, "%d replica(s) could not be elected", failed) : EXIT_OK;
}

/* ------------------------------------------------------ through the API */

static int client_failed(const kcl_error_t *e) {
    if (e->status == KCL_EBROKER && e->kafka_error == UNKNOWN_TOPIC_OR_PARTITION)
        return fail(EXIT_NO_TOPIC, "%s", e->message); /* --topic T without --partition: T does not exist */
    return fail(e->status == KCL_EUNREACHABLE ? EXIT_UNREACHABLE : EXIT_BROKER_ERROR, "%s", e->message);
}

static int elect_via_api(admin_t *a, const elect_args_t *e) {
    kc_isr_change_t *file = NULL;
    int n_file = 0, n = 0, n_out = 0;
    kcl_topic_partition_t one = {(char *)e->topic, (int32_t)e->partition}, *tps = NULL;
    kcl_election_result_t *out = NULL;
    kcl_error_t err = {0};
    int rc = e->json_file ? read_json_file(e->json_file, &file, &n_file) : EXIT_OK;
    if (rc == EXIT_OK && !kcl_bootstrap_valid(a->bootstrap))
        rc = fail(EXIT_USAGE, "invalid --bootstrap-server '%s': expected HOST:PORT[,HOST:PORT...]", a->bootstrap);
    if (rc == EXIT_OK && file && !(tps = calloc((size_t)n_file, sizeof(*tps)))) rc = fail(EXIT_BROKER_ERROR, "out of memory");
    for (int i = 0; rc == EXIT_OK && file && i < n_file; i++) tps[n++] = (kcl_topic_partition_t){file[i].topic, file[i].partition};
    if (rc == EXIT_OK && e->topic) {
        tps = &one;
        n = 1;
    }
    kcl_options_t o = {a->bootstrap, a->timeout_s * 1000};
    if (rc == EXIT_OK && kcl_elect_leaders(&o, e->type, tps, n, &out, &n_out, &err) != KCL_OK) rc = client_failed(&err);
    outcome_t *oc = rc == EXIT_OK ? calloc((size_t)(n_out > 0 ? n_out : 1), sizeof(*oc)) : NULL;
    if (rc == EXIT_OK && !oc) rc = fail(EXIT_BROKER_ERROR, "out of memory");
    for (int i = 0; rc == EXIT_OK && i < n_out; i++)
        oc[i] = (outcome_t){out[i].topic, out[i].partition, out[i].error, out[i].message};
    if (rc == EXIT_OK) rc = report(a, e->type, oc, n_out);
    free(oc);
    kcl_election_results_free(out, n_out);
    if (tps != &one) free(tps);
    kc_isr_changes_free(file, n_file);
    return rc;
}

/* -------------------------------------------------- through ZooKeeper */

typedef struct zk_wait {
    int done;
    int rc;
    bool exists;
    int gone; /* the znode's watch fired with a deletion */
} zk_wait_t;

static void created(int rc, void *arg) {
    zk_wait_t *w = arg;
    w->rc = rc;
    w->done = 1;
}

static void watched(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    zk_wait_t *w = ctx;
    if (type == ZOO_DELETED_EVENT) w->gone = 1;
}

static void looked(int rc, bool exists, const kc_isr_change_t *parts, int n, void *arg) {
    zk_wait_t *w = arg;
    w->rc = rc;
    w->exists = exists;
    w->done = 1;
}

/* The partitions to elect, from the view: (topic, partition) pairs of
 * partitions that exist; the others become outcomes right away. */
static int zk_targets(admin_t *a, const elect_args_t *e, const kc_isr_change_t *file, int n_file,
                      kc_isr_change_t **out, int *n_out, outcome_t *oc, int *n_oc) {
    int cap = 16, k = 0;
    kc_isr_change_t *v = malloc((size_t)cap * sizeof(*v));
    for (int t = 0; v && t < kc_view_topic_count(a->view); t++) {
        const kc_topic_t *topic = kc_view_topic_at(a->view, t);
        if (e->topic && strcmp(e->topic, topic->name) != 0) continue;
        for (int32_t p = 0; p < topic->n_partitions; p++) {
            bool wanted = !file && (e->partition < 0 || e->partition == p);
            for (int i = 0; file && i < n_file && !wanted; i++)
                wanted = file[i].partition == p && strcmp(file[i].topic, topic->name) == 0;
            if (!wanted) continue;
            if (k == cap) {
                kc_isr_change_t *grown = realloc(v, (size_t)(cap *= 2) * sizeof(*v));
                if (!grown) {
                    free(v);
                    return fail(EXIT_ZK_ERROR, "out of memory");
                }
                v = grown;
            }
            v[k++] = (kc_isr_change_t){topic->name, p};
        }
    }
    if (!v) return fail(EXIT_ZK_ERROR, "out of memory");
    for (int i = 0; i < n_file; i++) { /* listed in the file, not in ZooKeeper */
        const kc_topic_t *t = kc_view_topic(a->view, file[i].topic);
        if (!t || file[i].partition >= t->n_partitions)
            oc[(*n_oc)++] = (outcome_t){file[i].topic, file[i].partition, UNKNOWN_TOPIC_OR_PARTITION,
                                        "The partition does not exist."};
    }
    const kc_topic_t *named = e->topic ? kc_view_topic(a->view, e->topic) : NULL;
    if (e->topic && (!named || e->partition >= named->n_partitions))
        oc[(*n_oc)++] = (outcome_t){(char *)e->topic, (int32_t)e->partition, UNKNOWN_TOPIC_OR_PARTITION,
                                    "The partition does not exist."};
    *out = v;
    *n_out = k;
    return EXIT_OK;
}

static bool preferred_leads(const admin_t *a, const char *topic, int32_t p) {
    const kc_topic_t *t = kc_view_topic(a->view, topic);
    const kc_partition_t *part = t && p < t->n_partitions ? &t->partitions[p] : NULL;
    return part && part->has_state && part->n_replicas > 0 && part->state.leader == part->replicas[0];
}

/* Writes the znode and waits until the controller deleted it; then one
 * more round trip, so that the view has read the states the controller
 * wrote before (ZooKeeper answers one session in order). */
static int zk_run(admin_t *a, const kc_isr_change_t *parts, int n) {
    /* Static: the last read leaves an exists watch pointing at it until the
     * session closes. */
    static zk_wait_t w;
    kc_preferred_election_create(a->session, parts, n, created, &w);
    if (kc_session_wait(a->session, &w.done, admin_remaining_ms(a)) < 0)
        return admin_wait_failed(a, "writing /admin/preferred_replica_election");
    if (w.rc == KC_EXISTS)
        return fail(EXIT_ZK_ERROR, "a preferred replica election is already in progress "
                    "(/admin/preferred_replica_election exists)");
    if (w.rc != KC_OK)
        return fail(EXIT_ZK_ERROR, "cannot write /admin/preferred_replica_election: %s", kc_strerror(w.rc));
    printf("Created preferred replica election path with %d partition(s); waiting for the controller\n", n);
    for (bool exists = true; exists;) {
        w = (zk_wait_t){0};
        kc_preferred_election_read(a->session, watched, &w, looked, &w);
        if (kc_session_wait(a->session, &w.done, admin_remaining_ms(a)) < 0)
            return admin_wait_failed(a, "waiting for the controller to process the election");
        if (w.rc != KC_OK) return fail(EXIT_ZK_ERROR, "cannot read /admin/preferred_replica_election: %s",
                                       kc_strerror(w.rc));
        if ((exists = w.exists) && kc_session_wait(a->session, &w.gone, admin_remaining_ms(a)) < 0)
            return admin_wait_failed(a, "waiting for the controller to process the election");
    }
    return EXIT_OK;
}

static int elect_via_zookeeper(admin_t *a, const elect_args_t *e) {
    kc_isr_change_t *file = NULL, *targets = NULL;
    int n_file = 0, n_targets = 0, n_oc = 0, n_todo = 0;
    if (e->type != KCL_ELECTION_PREFERRED)
        return fail(EXIT_USAGE, "elect-leaders: unclean elections go through the controller's ElectLeaders API: "
                    "give --bootstrap-server HOST:PORT");
    int rc = e->json_file ? read_json_file(e->json_file, &file, &n_file) : EXIT_OK;
    if (rc == EXIT_OK) rc = admin_load_view(a);
    if (rc == EXIT_OK && e->topic && e->partition < 0 && !kc_view_topic(a->view, e->topic))
        rc = fail(EXIT_NO_TOPIC, "topic '%s' does not exist", e->topic); /* no partition to name */
    outcome_t *oc = NULL;
    if (rc == EXIT_OK) {
        int cap = n_file + 1;
        for (int t = 0; t < kc_view_topic_count(a->view); t++) cap += kc_view_topic_at(a->view, t)->n_partitions;
        if (!(oc = calloc((size_t)cap, sizeof(*oc)))) rc = fail(EXIT_ZK_ERROR, "out of memory");
    }
    if (rc == EXIT_OK) rc = zk_targets(a, e, file, n_file, &targets, &n_targets, oc, &n_oc);
    kc_isr_change_t *todo = rc == EXIT_OK ? calloc((size_t)(n_targets + 1), sizeof(*todo)) : NULL;
    /* Asked for every partition, Kafka's controller leaves out those that
     * need no election, so its tool prints nothing for them. */
    bool every = !e->topic && !file;
    for (int i = 0; todo && i < n_targets; i++) {
        if (!preferred_leads(a, targets[i].topic, targets[i].partition))
            todo[n_todo++] = targets[i];
        else if (!every)
            oc[n_oc++] = (outcome_t){targets[i].topic, targets[i].partition, ELECTION_NOT_NEEDED, NULL};
    }
    if (rc == EXIT_OK && !todo) rc = fail(EXIT_ZK_ERROR, "out of memory");
    if (rc == EXIT_OK && n_todo > 0) rc = zk_run(a, todo, n_todo);
    for (int i = 0; rc == EXIT_OK && i < n_todo; i++) {
        bool led = preferred_leads(a, todo[i].topic, todo[i].partition);
        oc[n_oc++] = (outcome_t){todo[i].topic, todo[i].partition, led ? 0 : PREFERRED_LEADER_NOT_AVAILABLE,
                                 led ? NULL : "The preferred leader was not available."};
    }
    if (rc == EXIT_OK) rc = report(a, e->type, oc, n_oc);
    free(todo);
    free(targets);
    free(oc);
    kc_isr_changes_free(file, n_file);
    return rc;
}

int cmd_elect_leaders(admin_t *a, int argc, char **argv) {
    elect_args_t e;
    int rc = parse_elect_options(&e, argc, argv);
    if (rc != EXIT_OK) return rc;
    return a->bootstrap ? elect_via_api(a, &e) : elect_via_zookeeper(a, &e);
}
