/*
 * kbroker_admin_alter.c - kbroker-admin alter-topic: adding partitions, as
 * kafka-topics.sh --zookeeper --alter --partitions does it.
 *
 *   kbroker-admin --zookeeper H:P alter-topic --topic T --partitions N
 *                 [--replica-assignment 0:1,1:2,...]
 *
 * The work is libkcoord's kc_topic_grow (kc_topic_grow.h), the code the
 * CreatePartitions API runs on the controller, so both refuse the same
 * requests with the same messages and lay out new partitions alike.  Like
 * Kafka's tool, --replica-assignment may list every partition, existing
 * ones first (their entries are ignored); kbroker also takes a list of
 * the new partitions only.  On success the output is Kafka's two lines;
 * the tool does not wait for the controller to elect the new leaders
 * (Kafka's does not either): describe-topic shows them.
 *
 * It takes two rounds: the first judges and plans without writing, the
 * controller is then asked whether the brokers can hold the planned
 * partitions (kbroker_admin_capacity.c), and the second writes exactly
 * that plan (judged again against ZooKeeper as it is then).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/kbroker_admin.h"
#include "coord/kc_topic_grow.h"

#define KAFKA_UNKNOWN_TOPIC_OR_PARTITION 3
#define KAFKA_INVALID_TOPIC_EXCEPTION 17
#define KAFKA_REASSIGNMENT_IN_PROGRESS 60

typedef struct alter_args {
    const char *topic;
    const char *partitions;
    const char *assignment;
    bool disable_rack_aware;
} alter_args_t;

/* What the round trip left for the command.  It lives in static storage:
 * a round still in flight when --timeout runs out completes inside the
 * session's close, after the command has returned. */
typedef struct grow_wait {
    int done;
    bool abandoned;     /* the command gave up waiting: nothing to report */
    int rc;
    int16_t kafka_error;
    char why[512];
    json_t *added;      /* {"id":[replicas],...} of the new partitions */
    kc_topic_t planned; /* their replica lists (owned) */
} grow_wait_t;

static grow_wait_t grow_wait;

static int parse_alter_topic_options(alter_args_t *c, int argc, char **argv) {
    static const struct option options[] = {
        {"topic", required_argument, NULL, 't'},
        {"partitions", required_argument, NULL, 'p'},
        {"replica-assignment", required_argument, NULL, 'a'},
        {"disable-rack-aware", no_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    int opt, rc = EXIT_OK;

    while (rc == EXIT_OK && (opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
        switch (opt) {
        case 't': c->topic = optarg; break;
        case 'p': c->partitions = optarg; break;
        case 'a': c->assignment = optarg; break;
        case 'R': c->disable_rack_aware = true; break;
        default: rc = option_error("alter-topic", opt, argv);
        }
    }
    if (rc == EXIT_OK && optind < argc) rc = fail(EXIT_USAGE, "alter-topic: unexpected argument '%s'", argv[optind]);
    if (rc == EXIT_OK && c->topic == NULL) rc = fail(EXIT_USAGE, "alter-topic: missing --topic");
    if (rc == EXIT_OK && c->partitions == NULL)
        rc = fail(EXIT_USAGE, "alter-topic: missing --partitions (the new total number of partitions)");
    return rc;
}

/* An owned copy of the new partitions' replica lists; false when out of
 * memory. */
static bool keep_planned(kc_topic_t *out, const kc_topic_t *added) {
    *out = (kc_topic_t){0};
    out->partitions = calloc((size_t)added->n_partitions + 1, sizeof(*out->partitions));
    if (out->partitions == NULL) return false;
    out->n_partitions = added->n_partitions;
    for (int i = 0; i < added->n_partitions; i++) {
        const kc_partition_t *p = &added->partitions[i];
        out->partitions[i].replicas = calloc((size_t)p->n_replicas + 1, sizeof(int32_t));
        if (out->partitions[i].replicas == NULL) return false;
        memcpy(out->partitions[i].replicas, p->replicas, (size_t)p->n_replicas * sizeof(int32_t));
        out->partitions[i].n_replicas = p->n_replicas;
    }
    return true;
}

static void grown(const kc_grow_result_t *r, void *arg) {
    grow_wait_t *w = arg;

    w->done = 1;
    if (w->abandoned) return;
    w->rc = r->rc;
    w->kafka_error = r->kafka_error;
    snprintf(w->why, sizeof(w->why), "%s", r->why);
    if (r->rc != KC_OK) return;
    if (!keep_planned(&w->planned, &r->added)) {
        w->rc = KC_ERR;
        snprintf(w->why, sizeof(w->why), "out of memory");
        return;
    }
    w->added = json_object();
    for (int i = 0; w->added != NULL && i < r->added.n_partitions; i++) {
        char key[16];
        snprintf(key, sizeof(key), "%d", (int)r->old_count + i);
        json_object_set_new(w->added, key, json_int_list(r->added.partitions[i].replicas,
                                                          r->added.partitions[i].n_replicas));
    }
}

/* Forgets what a finished round left. */
static void grow_wait_clear(grow_wait_t *w) {
    json_decref(w->added);
    kc_topic_clear(&w->planned);
    *w = (grow_wait_t){.rc = KC_ERR};
}

/* One kc_topic_grow round trip; its outcome is in grow_wait. */
static int grow_round(admin_t *a, const kc_grow_request_t *req, const char *doing) {
    grow_wait_clear(&grow_wait);
    kc_topic_grow(a->session, req, grown, &grow_wait);
    if (kc_session_wait(a->session, &grow_wait.done, admin_remaining_ms(a)) < 0) {
        grow_wait.abandoned = true;
        return admin_wait_failed(a, doing);
    }
    return EXIT_OK;
}

/* The exit status of a refusal: a missing topic, one being deleted or
 * reassigned, or a bad count or layout. */
static int refused(const grow_wait_t *w) {
    if (w->rc == KC_NONODE) return fail(EXIT_NO_TOPIC, "%s", w->why);
    if (w->rc != KC_INVALID) return fail(EXIT_ZK_ERROR, "%s", w->why);
    if (w->kafka_error == KAFKA_INVALID_TOPIC_EXCEPTION || w->kafka_error == KAFKA_REASSIGNMENT_IN_PROGRESS)
        return fail(EXIT_TOPIC_BUSY, "%s", w->why);
    return fail(EXIT_INVALID_LAYOUT, "%s", w->why);
}

static int report(admin_t *a, const char *topic, long count, grow_wait_t *w) {
    json_t *doc, *added = w->added;

    w->added = NULL;
    if (w->rc != KC_OK) {
        json_decref(added);
        return refused(w);
    }
    if (!a->json) {
        json_decref(added);
        if (a->quiet) return EXIT_OK; /* kafka-topics --alter prints Kafka's lines itself */
        puts("WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering "
             "of the messages will be affected");
        puts("Adding partitions succeeded!");
        return EXIT_OK;
    }
    doc = json_pack("{s:s, s:i, s:o}", "topic", topic, "partitions", (int)count, "added",
                    added ? added : json_object());
    return print_json(doc);
}

/* The first round (judge and plan, nothing written), then the
 * controller's word on the brokers' capacity; grow_wait.planned holds the
 * plan when both pass. */
static int grow_and_check(admin_t *a, const alter_args_t *c, int32_t count, const kc_topic_t *assignment) {
    int rc = admin_load_view(a); /* the brokers' racks */
    if (rc != EXIT_OK) return rc;
    kc_grow_request_t req = {.topic = c->topic, .count = count, .assignment = c->assignment ? assignment : NULL,
                             .lists_all = true, .validate_only = true, .zk_words = true,
                             .rack_of = c->disable_rack_aware ? NULL : admin_view_broker_rack, .rack_arg = a->view};
    rc = grow_round(a, &req, "judging the new partitions; nothing was added");

    if (rc != EXIT_OK) return rc;
    if (grow_wait.rc != KC_OK) return refused(&grow_wait);
    return admin_check_capacity_grow(a, c->topic, count, &grow_wait.planned);
}

int cmd_alter_topic(admin_t *a, int argc, char **argv) {
    alter_args_t c = {0};
    kc_topic_t assignment = {0};
    long count = 0;

    int rc = parse_alter_topic_options(&c, argc, argv);
    if (rc == EXIT_OK && !parse_int(c.partitions, INT32_MIN, INT32_MAX, &count))
        rc = fail(EXIT_USAGE, "alter-topic: --partitions '%s' is not a number", c.partitions);
    if (rc == EXIT_OK && c.assignment != NULL && admin_parse_assignment(c.assignment, &assignment) < 0)
        rc = fail(EXIT_INVALID_LAYOUT, "invalid replica assignment '%s': expected broker ids like 0:1,1:2",
                  c.assignment);
    if (rc == EXIT_OK) rc = admin_connect(a);
    if (rc == EXIT_OK) rc = grow_and_check(a, &c, (int32_t)count, &assignment);
    if (rc == EXIT_OK) {
        kc_topic_t planned = grow_wait.planned;
        grow_wait.planned = (kc_topic_t){0};
        kc_grow_request_t req = {.topic = c.topic, .count = (int32_t)count, .assignment = &planned,
                                 .zk_words = true};
        rc = grow_round(a, &req, "adding partitions; they may or may not have been added");
        if (rc == EXIT_OK) rc = report(a, c.topic, count, &grow_wait);
        kc_topic_clear(&planned);
    }
    if (!grow_wait.abandoned) grow_wait_clear(&grow_wait);
    kc_topic_clear(&assignment);
    return rc;
}
