/*
 * kbroker_admin_reassign.c - `kbroker-admin reassign`, the part of
 * kafka-reassign-partitions.sh --zookeeper that moves replicas
 * (zk-and-replication.md 1.9, 2.7 "Reassignment").
 *
 *   reassign --plan FILE [--execute]   (Kafka's --reassignment-json-file FILE
 *                                       --execute is taken too)
 *   reassign --plan FILE --verify
 *   reassign --plan FILE --cancel      (--bootstrap-server: through the
 *   reassign --list                     brokers, kbroker_admin_reassign_api.c)
 *
 * FILE is Kafka's reassignment JSON, {"version":1,"partitions":[{"topic":T,
 * "partition":P,"replicas":[...]},...]} (each entry's "log_dirs" may only
 * say "any": kbroker moves nothing between log directories), refused as
 * Kafka's tool refuses it (coord/kc_reassign.h).
 *
 * --execute checks that every partition and broker exists, refuses while
 * /admin/reassign_partitions exists (a reassignment is running), prints
 * the current assignment of those partitions in the same JSON, to roll
 * back with, and creates /admin/reassign_partitions: the controller does
 * the rest (broker/controller/kb_ctl_reassign.c).  The lines are Kafka
 * 2.6's.
 *
 * --verify prints, per partition of FILE, Kafka 2.6's line: complete, still
 * in progress (listed in /admin/reassign_partitions, or its topic znode
 * still names adding or removing replicas: a reassignment asked through
 * the API shows too), or not reassigned but not on the replicas asked
 * either; a partition that does not exist (its topic deleted) is said to
 * be so, where Kafka's tool prints an empty replica set.  The exit status
 * is 0 only when every one is complete, 6 when one does not exist.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/kbroker_admin.h"
#include "coord/kc_paths.h"
#include "coord/kc_reassign.h"

/* A plan file larger than this is not a plan anyone wrote. */
#define PLAN_MAX_BYTES (64 * 1024 * 1024)

typedef struct reassign_args {
    const char *plan;
    bool verify;
    bool execute;
    bool cancel;
    bool list;
} reassign_args_t;

typedef struct plan {
    kc_reassign_entry_t *e;
    int n;
} plan_t;

static int parse_options(reassign_args_t *r, int argc, char **argv) {
    static const struct option options[] = {
        {"plan", required_argument, NULL, 'p'},
        {"reassignment-json-file", required_argument, NULL, 'p'},
        {"verify", no_argument, NULL, 'v'},
        {"execute", no_argument, NULL, 'e'},
        {"cancel", no_argument, NULL, 'c'},
        {"list", no_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
        switch (opt) {
        case 'p': r->plan = optarg; break;
        case 'v': r->verify = true; break;
        case 'e': r->execute = true; break;
        case 'c': r->cancel = true; break;
        case 'l': r->list = true; break;
        default: return option_error("reassign", opt, argv);
        }
    }
    if (optind < argc) return fail(EXIT_USAGE, "reassign: unexpected argument '%s'", argv[optind]);
    if (r->verify + r->execute + r->cancel + r->list > 1)
        return fail(EXIT_USAGE, "reassign: give one of --execute, --verify, --cancel and --list");
    if (!r->plan && !r->list) return fail(EXIT_USAGE, "reassign: missing --plan FILE (Kafka's reassignment JSON)");
    if (r->plan && r->list) return fail(EXIT_USAGE, "reassign: --list takes no --plan");
    return EXIT_OK;
}

/* --cancel and --list ask the controller through the Kafka protocol;
 * --execute and --verify work on ZooKeeper's znodes. */
static int check_connection(const admin_t *a, const reassign_args_t *r) {
    bool brokers = r->cancel || r->list;
    if (brokers && a->bootstrap == NULL)
        return fail(EXIT_USAGE, "reassign --%s asks the controller (%s): give --bootstrap-server HOST:PORT instead "
                    "of --zookeeper; deleting /admin/reassign_partitions does not stop a reassignment under way",
                    r->cancel ? "cancel" : "list",
                    r->cancel ? "AlterPartitionReassignments" : "ListPartitionReassignments");
    if (!brokers && a->bootstrap != NULL)
        return fail(EXIT_USAGE, "reassign --%s works through ZooKeeper: give --zookeeper HOST:PORT[/chroot] "
                    "instead of --bootstrap-server (through the brokers: --cancel and --list)",
                    r->verify ? "verify" : "execute");
    return EXIT_OK;
}

/* ---- the plan ---- */

char *reassign_read_file(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) return NULL;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *grown = ncap <= PLAN_MAX_BYTES ? realloc(buf, ncap) : NULL;
            if (!grown) {
                n = 0;
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (f != stdin) fclose(f);
    *len = n;
    return buf;
}

static int read_plan(const char *path, plan_t *p) {
    size_t len = 0;
    char why[512];
    char *text = reassign_read_file(path, &len);
    if (!text) return fail(EXIT_USAGE, "reassign: cannot read '%s' (missing, unreadable, or over %d MiB)", path,
                           PLAN_MAX_BYTES >> 20);
    int rc = kc_reassign_decode(text, len, &p->e, &p->n, why, sizeof(why));
    free(text);
    if (rc < 0) return fail(EXIT_USAGE, "reassign: %s: %s", path, why);
    if (p->n == 0) return fail(EXIT_USAGE, "reassign: %s: Partition reassignment list cannot be empty", path);
    return EXIT_OK;
}

static int entry_cmp(const void *a, const void *b) {
    const kc_reassign_entry_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* The view's partition an entry names, or NULL. */
static const kc_partition_t *partition_of(const admin_t *a, const kc_reassign_entry_t *e) {
    const kc_topic_t *t = kc_view_topic(a->view, e->topic);
    return t && e->partition < t->n_partitions ? &t->partitions[e->partition] : NULL;
}

/* "T-0,T-1" for the entries, in order, into a malloc'd string. */
static char *names_text(const kc_reassign_entry_t *e, int n, bool (*pick)(const admin_t *, const kc_reassign_entry_t *),
                        const admin_t *a) {
    size_t cap = 1, used = 0;
    for (int i = 0; i < n; i++) cap += strlen(e[i].topic) + 16;
    char *s = malloc(cap);
    if (!s) return NULL;
    s[0] = '\0';
    for (int i = 0; i < n; i++)
        if (!pick || pick(a, &e[i]))
            used += (size_t)snprintf(s + used, cap - used, "%s%s-%d", used ? "," : "", e[i].topic, (int)e[i].partition);
    return s;
}

static bool partition_missing(const admin_t *a, const kc_reassign_entry_t *e) { return !partition_of(a, e); }

/* Kafka's verifyReplicasAndBrokersInAssignment. */
static int check_plan(const admin_t *a, const plan_t *p) {
    bool missing = false;
    for (int i = 0; i < p->n && !missing; i++) missing = partition_missing(a, &p->e[i]);
    if (missing) {
        char *list = names_text(p->e, p->n, partition_missing, a);
        int rc = fail(EXIT_NO_TOPIC, "The proposed assignment contains non-existent partitions: %s", list ? list : "");
        free(list);
        return rc;
    }
    for (int i = 0; i < p->n; i++)
        for (int j = 0; j < p->e[i].n_replicas; j++)
            if (!kc_view_broker_live(a->view, p->e[i].replicas[j]))
                return fail(EXIT_INVALID_LAYOUT, "The proposed assignment contains non-existent brokerIDs: %d",
                            (int)p->e[i].replicas[j]);
    return EXIT_OK;
}

/* ---- /admin/reassign_partitions ---- */

typedef struct znode_wait {
    int done;
    int rc;
    plan_t running; /* what the znode lists (KC_OK) */
} znode_wait_t;

static void znode_read(int rc, const kc_reassign_entry_t *e, int n, int32_t version, const char *why, void *arg) {
    znode_wait_t *w = arg;
    w->rc = rc;
    w->done = 1;
    if (rc != KC_OK || n == 0 || !(w->running.e = calloc((size_t)n, sizeof(*e)))) return;
    for (int i = 0; i < n; i++) {
        w->running.e[i] = (kc_reassign_entry_t){strdup(e[i].topic), e[i].partition, e[i].n_replicas,
                                                malloc((size_t)e[i].n_replicas * sizeof(int32_t))};
        if (w->running.e[i].replicas)
            memcpy(w->running.e[i].replicas, e[i].replicas, (size_t)e[i].n_replicas * sizeof(int32_t));
        w->running.n = i + 1;
    }
}

/* Reads the znode into *running; *zk_rc gets KC_OK (a reassignment is
 * running), KC_NONODE, KC_INVALID (there but unreadable: still running as
 * far as a new request is concerned) or another code.  An exit status. */
static int read_running(admin_t *a, plan_t *running, int *zk_rc) {
    znode_wait_t w = {0, KC_ERR, {0}};
    kc_reassign_read(a->session, NULL, NULL, znode_read, &w);
    if (kc_session_wait(a->session, &w.done, admin_remaining_ms(a)) < 0) {
        kc_reassign_entries_free(w.running.e, w.running.n);
        return admin_wait_failed(a, "reading " KC_PATH_REASSIGN_PARTITIONS);
    }
    *running = w.running;
    *zk_rc = w.rc;
    if (w.rc != KC_OK && w.rc != KC_NONODE && w.rc != KC_INVALID)
        return fail(EXIT_ZK_ERROR, "cannot read %s: %s", KC_PATH_REASSIGN_PARTITIONS, kc_strerror(w.rc));
    return EXIT_OK;
}

/* ---- --execute ---- */

json_t *reassign_entry_json(const char *topic, int32_t partition, const int32_t *replicas, int n_replicas) {
    json_t *dirs = json_array();
    for (int j = 0; dirs && j < n_replicas; j++) json_array_append_new(dirs, json_string("any"));
    return json_pack("{s:s, s:i, s:o, s:o}", "topic", topic, "partition", (int)partition, "replicas",
                     json_int_list(replicas, n_replicas), "log_dirs", dirs);
}

/* Kafka's formatAsReassignmentJson: the current replicas of the plan's
 * partitions, each with log_dirs "any". */
static json_t *current_json(const admin_t *a, const plan_t *p) {
    json_t *parts = json_array();
    for (int i = 0; parts && i < p->n; i++) {
        const kc_partition_t *cur = partition_of(a, &p->e[i]);
        json_array_append_new(parts, reassign_entry_json(p->e[i].topic, p->e[i].partition, cur->replicas,
                                                         cur->n_replicas));
    }
    return json_pack("{s:i, s:o}", "version", 1, "partitions", parts);
}

typedef struct create_wait {
    int done;
    int rc;
} create_wait_t;

static void created(int rc, void *arg) {
    create_wait_t *w = arg;
    w->rc = rc;
    w->done = 1;
}

/* Kafka prints the rollback JSON before it writes anything. */
static int print_current(const admin_t *a, json_t *current) {
    char *text = current ? json_dumps(current, JSON_COMPACT) : NULL;
    if (!text) return fail(EXIT_ZK_ERROR, "out of memory");
    if (!a->json)
        printf("Current partition replica assignment\n\n%s\n\nSave this to use as the "
               "--reassignment-json-file option during rollback\n", text);
    free(text);
    return EXIT_OK;
}

static int print_started(const admin_t *a, const plan_t *p, json_t *current) {
    char *list = names_text(p->e, p->n, NULL, a);
    if (!list) return fail(EXIT_ZK_ERROR, "out of memory");
    int rc = EXIT_OK;
    if (a->json) rc = print_json(json_pack("{s:O, s:s}", "current", current, "started", list));
    else printf("Successfully started partition reassignment%s for %s\n", p->n == 1 ? "" : "s", list);
    free(list);
    return rc;
}

/* Creates the znode; an exit status. */
static int request(admin_t *a, const plan_t *p) {
    create_wait_t w = {0, KC_ERR};
    kc_reassign_request(a->session, p->e, p->n, created, &w);
    if (kc_session_wait(a->session, &w.done, admin_remaining_ms(a)) < 0)
        return admin_wait_failed(a, "creating " KC_PATH_REASSIGN_PARTITIONS "; it may or may not exist now");
    if (w.rc == KC_EXISTS) return fail(EXIT_TOPIC_BUSY, "Cannot execute because there is an existing partition assignment.");
    if (w.rc == KC_INVALID)
        return fail(EXIT_INVALID_LAYOUT, "the plan is larger than ZooKeeper takes in one znode (jute.maxbuffer)");
    if (w.rc != KC_OK) return fail(EXIT_ZK_ERROR, "cannot create %s: %s", KC_PATH_REASSIGN_PARTITIONS, kc_strerror(w.rc));
    return EXIT_OK;
}

static int execute(admin_t *a, plan_t *p) {
    plan_t running = {0};
    int zk_rc = KC_ERR, rc = check_plan(a, p);
    if (rc == EXIT_OK) rc = read_running(a, &running, &zk_rc);
    kc_reassign_entries_free(running.e, running.n);
    if (rc != EXIT_OK) return rc;
    if (zk_rc != KC_NONODE)
        return fail(EXIT_TOPIC_BUSY, "Cannot execute because there is an existing partition assignment.");
    json_t *current = current_json(a, p);
    rc = print_current(a, current);
    if (rc == EXIT_OK) rc = request(a, p);
    if (rc == EXIT_OK) rc = print_started(a, p, current);
    json_decref(current);
    return rc;
}

/* ---- --verify ---- */

/* MISSING: no such partition (its topic deleted, or fewer partitions) and
 * none being made: Kafka 2.6 prints an empty replica set for it. */
typedef enum { DONE, RUNNING, ELSEWHERE, MISSING } verdict_t;

static bool listed(const plan_t *running, const kc_reassign_entry_t *e) {
    for (int i = 0; i < running->n; i++)
        if (running->e[i].partition == e->partition && strcmp(running->e[i].topic, e->topic) == 0) return true;
    return false;
}

static bool same_ids(const int32_t *a, int na, const int32_t *b, int nb) {
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof(*a)) == 0);
}

/* Kafka's PartitionReassignmentState, with an API reassignment (adding or
 * removing replicas in the topic znode) counted as running too. */
static verdict_t verdict(const admin_t *a, const plan_t *running, const kc_reassign_entry_t *e) {
    const kc_partition_t *cur = partition_of(a, e);
    if (listed(running, e) || (cur && kc_partition_reassigning(cur))) return RUNNING;
    if (!cur) return MISSING;
    return same_ids(cur->replicas, cur->n_replicas, e->replicas, e->n_replicas) ? DONE : ELSEWHERE;
}

static void print_verdict(const admin_t *a, const kc_reassign_entry_t *e, verdict_t v) {
    const kc_partition_t *cur = partition_of(a, e);
    char have[1024] = "", want[1024] = "";
    for (int i = 0; cur && i < cur->n_replicas; i++)
        snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%d", i ? "," : "", (int)cur->replicas[i]);
    for (int i = 0; i < e->n_replicas; i++)
        snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%d", i ? "," : "", (int)e->replicas[i]);
    if (v == DONE) printf("Reassignment of partition %s-%d is complete.\n", e->topic, (int)e->partition);
    else if (v == RUNNING) printf("Reassignment of partition %s-%d is still in progress.\n", e->topic, (int)e->partition);
    else if (v == MISSING)
        printf("There is no active reassignment of partition %s-%d, but the partition does not exist.\n", e->topic,
               (int)e->partition);
    else
        printf("There is no active reassignment of partition %s-%d, but replica set is %s rather than %s.\n",
               e->topic, (int)e->partition, have, want);
}

static json_t *verdict_json(const admin_t *a, const kc_reassign_entry_t *e, verdict_t v) {
    static const char *const names[] = {"complete", "in progress", "not reassigned", "does not exist"};
    const kc_partition_t *cur = partition_of(a, e);
    return json_pack("{s:s, s:i, s:o, s:o, s:s}", "topic", e->topic, "partition", (int)e->partition, "replicas",
                     json_int_list(e->replicas, e->n_replicas), "current",
                     cur ? json_int_list(cur->replicas, cur->n_replicas) : json_null(), "status", names[v]);
}

static int verify(admin_t *a, plan_t *p) {
    plan_t running = {0};
    int zk_rc = KC_ERR, rc = read_running(a, &running, &zk_rc);
    bool all_done = true, missing = false;
    json_t *doc = a->json ? json_array() : NULL;
    if (rc != EXIT_OK) return rc;
    if (!a->json) puts("Status of partition reassignment:");
    for (int i = 0; i < p->n; i++) {
        verdict_t v = verdict(a, &running, &p->e[i]);
        all_done = all_done && v == DONE;
        missing = missing || v == MISSING;
        if (doc) json_array_append_new(doc, verdict_json(a, &p->e[i], v));
        else print_verdict(a, &p->e[i], v);
    }
    kc_reassign_entries_free(running.e, running.n);
    if (doc && print_json(doc) != EXIT_OK) return EXIT_ZK_ERROR;
    return all_done ? EXIT_OK : missing ? EXIT_NO_TOPIC : EXIT_TOPIC_BUSY;
}

int cmd_reassign(admin_t *a, int argc, char **argv) {
    reassign_args_t r = {0};
    plan_t p = {0};
    int rc = parse_options(&r, argc, argv);
    if (rc == EXIT_OK) rc = check_connection(a, &r);
    if (rc == EXIT_OK && r.list) return admin_reassign_list(a);
    if (rc == EXIT_OK) rc = read_plan(r.plan, &p);
    if (rc == EXIT_OK) qsort(p.e, (size_t)p.n, sizeof(*p.e), entry_cmp); /* Kafka lists partitions sorted */
    if (rc == EXIT_OK && r.cancel) rc = admin_reassign_cancel(a, p.e, p.n);
    else if (rc == EXIT_OK) rc = admin_load_view(a);
    if (rc == EXIT_OK && !r.cancel) rc = r.verify ? verify(a, &p) : execute(a, &p);
    kc_reassign_entries_free(p.e, p.n);
    return rc;
}
