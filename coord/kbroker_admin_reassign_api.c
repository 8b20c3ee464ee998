/*
 * kbroker_admin_reassign_api.c - `kbroker-admin --bootstrap-server B
 * reassign --cancel --plan FILE` and `reassign --list`: the parts of
 * kafka-reassign-partitions.sh --bootstrap-server that a reassignment
 * through ZooKeeper cannot do, asked of the controller through the Kafka
 * protocol (libkclient, kcl_admin.h).
 *
 * Why through the brokers: a reassignment lives in the topic znode
 * (adding_replicas, removing_replicas) once the controller has started
 * it, so deleting /admin/reassign_partitions does not stop it, and one
 * whose target brokers never come (an entry written straight into the
 * znode naming brokers that are not registered) waits for ever.  Kafka
 * 2.6 cancels with AlterPartitionReassignments and a null replica list per
 * partition: the controller puts the original replicas back, stops the
 * added ones and takes the partition out of /admin/reassign_partitions.
 *
 * --cancel does what Kafka's cancelAssignment does, line for line: it
 * asks which partitions of the plan are being reassigned
 * (ListPartitionReassignments), cancels those, and prints
 *
 *     Successfully cancelled partition reassignment(s) for: T-0,T-1
 *     (or: None of the specified partition reassignments are active.)
 *     None of the specified partition moves are active.
 *
 * (the last line is about moves between log directories, which kbroker
 * has none of).  A partition the controller refuses fails the command:
 * exit 9 here; Kafka's "Error cancelling partition reassignment(s) for:"
 * block for kafka-reassign-partitions.  --list prints Kafka's
 * "Current partition reassignments:" lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/kcl_admin.h"
#include "coord/kbroker_admin.h"

static int client_failed(const kcl_error_t *e) {
    return fail(e->status == KCL_EUNREACHABLE ? EXIT_UNREACHABLE : EXIT_BROKER_ERROR, "%s", e->message);
}

static int open_brokers(admin_t *a, kcl_admin_t **out) {
    kcl_error_t err = {0};

    *out = NULL;
    if (!kcl_bootstrap_valid(a->bootstrap))
        return fail(EXIT_USAGE, "invalid --bootstrap-server '%s': expected HOST:PORT[,HOST:PORT...]", a->bootstrap);
    kcl_options_t o = {a->bootstrap, a->timeout_s * 1000};
    return kcl_admin_open(&o, out, &err) == KCL_OK ? EXIT_OK : client_failed(&err);
}

/* "1,2,3" */
static void print_ids(const int32_t *v, int n) {
    for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", (int)v[i]);
}

/* ------------------------------------------------------------- --list */

static json_t *reassignment_json(const kcl_reassignment_t *r) {
    return json_pack("{s:s, s:i, s:o, s:o, s:o}", "topic", r->topic, "partition", (int)r->partition, "replicas",
                     json_int_list(r->replicas, r->n_replicas), "adding_replicas",
                     json_int_list(r->adding, r->n_adding), "removing_replicas",
                     json_int_list(r->removing, r->n_removing));
}

/* Kafka's curReassignmentsToString. */
static int print_reassignments(const admin_t *a, const kcl_reassignment_t *r, int n) {
    if (a->json) {
        json_t *doc = json_array();
        for (int i = 0; doc && i < n; i++) json_array_append_new(doc, reassignment_json(&r[i]));
        return print_json(doc);
    }
    puts(n == 0 ? "No partition reassignments found." : "Current partition reassignments:");
    for (int i = 0; i < n; i++) {
        printf("%s-%d: replicas: ", r[i].topic, (int)r[i].partition);
        print_ids(r[i].replicas, r[i].n_replicas);
        putchar('.');
        if (r[i].n_adding > 0) {
            fputs(" adding: ", stdout);
            print_ids(r[i].adding, r[i].n_adding);
            putchar('.');
        }
        if (r[i].n_removing > 0) {
            fputs(" removing: ", stdout);
            print_ids(r[i].removing, r[i].n_removing);
            putchar('.');
        }
        putchar('\n');
    }
    return EXIT_OK;
}

int admin_reassign_list(admin_t *a) {
    kcl_admin_t *k;
    kcl_reassignment_t *r = NULL;
    kcl_error_t err = {0};
    int n = 0, rc = open_brokers(a, &k);

    if (rc == EXIT_OK && kcl_admin_list_reassignments(k, NULL, 0, &r, &n, &err) != KCL_OK) rc = client_failed(&err);
    if (rc == EXIT_OK) rc = print_reassignments(a, r, n);
    kcl_reassignments_free(r, n);
    kcl_admin_close(k);
    return rc;
}

/* ----------------------------------------------------------- --cancel */

/* The plan's partitions that the controller says are being reassigned
 * (adding or removing replicas), in *tps (names borrowed from e). */
static int active_of(kcl_admin_t *k, const kc_reassign_entry_t *e, int n, kcl_topic_partition_t *tps, int *n_active) {
    kcl_reassignment_t *r = NULL;
    kcl_error_t err = {0};
    int n_r = 0, rc = EXIT_OK;

    *n_active = 0;
    for (int i = 0; i < n; i++) tps[i] = (kcl_topic_partition_t){e[i].topic, e[i].partition};
    if (kcl_admin_list_reassignments(k, tps, n, &r, &n_r, &err) != KCL_OK) rc = client_failed(&err);
    /* Both lists are sorted by topic, then partition. */
    for (int i = 0, j = 0; rc == EXIT_OK && i < n; i++) {
        while (j < n_r && (strcmp(r[j].topic, e[i].topic) < 0 ||
                           (strcmp(r[j].topic, e[i].topic) == 0 && r[j].partition < e[i].partition)))
            j++;
        bool listed = j < n_r && strcmp(r[j].topic, e[i].topic) == 0 && r[j].partition == e[i].partition;
        if (listed && (r[j].n_adding > 0 || r[j].n_removing > 0)) tps[(*n_active)++] = tps[i];
    }
    kcl_reassignments_free(r, n_r);
    return rc;
}

static void print_partition_list(const kcl_topic_partition_t *tps, int n) {
    for (int i = 0; i < n; i++) printf("%s%s-%d", i ? "," : "", tps[i].topic, (int)tps[i].partition);
}

/* The controller's refusals: Kafka's TerseReassignmentFailureException
 * block on stdout for kafka-reassign-partitions, one line each here. */
static int refused(const kcl_topic_partition_t *tps, const kcl_partition_outcome_t *o, int n, int failed) {
    bool kafka = admin_error_style() == ADMIN_ERRORS_KAFKA_STDOUT;

    if (kafka) printf("Error cancelling partition reassignment%s for:\n", failed == 1 ? "" : "s");
    for (int i = 0; i < n; i++) {
        if (o[i].error == 0) continue;
        kcl_error_t why = {0};
        if (o[i].message == NULL) kcl_admin_refusal(&why, o[i].error);
        const char *text = o[i].message != NULL ? o[i].message : why.message;
        if (kafka) printf("%s-%d: %s\n", tps[i].topic, (int)tps[i].partition, text);
        else fail(EXIT_BROKER_ERROR, "cannot cancel the reassignment of %s-%d: %s", tps[i].topic,
                  (int)tps[i].partition, text);
    }
    return EXIT_BROKER_ERROR;
}

static int report_cancelled(const admin_t *a, const kcl_topic_partition_t *tps, int n) {
    if (a->json) {
        json_t *list = json_array();
        for (int i = 0; list && i < n; i++)
            json_array_append_new(list, json_pack("{s:s, s:i}", "topic", tps[i].topic, "partition",
                                                  (int)tps[i].partition));
        return print_json(json_pack("{s:o}", "cancelled", list));
    }
    if (n == 0) {
        puts("None of the specified partition reassignments are active.");
    } else {
        printf("Successfully cancelled partition reassignment%s for: ", n == 1 ? "" : "s");
        print_partition_list(tps, n);
        putchar('\n');
    }
    puts("None of the specified partition moves are active.");
    return EXIT_OK;
}

static int cancel_active(admin_t *a, kcl_admin_t *k, const kcl_topic_partition_t *tps, int n) {
    kcl_partition_outcome_t *o = calloc((size_t)(n > 0 ? n : 1), sizeof(*o));
    kcl_error_t err = {0};
    int failed = 0, rc = o ? EXIT_OK : fail(EXIT_BROKER_ERROR, "out of memory");

    if (rc == EXIT_OK && n > 0 && kcl_admin_cancel_reassignments(k, tps, n, o, &err) != KCL_OK)
        rc = client_failed(&err);
    for (int i = 0; rc == EXIT_OK && i < n; i++) failed += o[i].error != 0;
    if (rc == EXIT_OK) rc = failed ? refused(tps, o, n, failed) : report_cancelled(a, tps, n);
    kcl_partition_outcomes_clear(o, n);
    free(o);
    return rc;
}

int admin_reassign_cancel(admin_t *a, const kc_reassign_entry_t *e, int n) {
    kcl_admin_t *k = NULL;
    kcl_topic_partition_t *tps = calloc((size_t)(n > 0 ? n : 1), sizeof(*tps));
    int n_active = 0, rc = tps ? open_brokers(a, &k) : fail(EXIT_BROKER_ERROR, "out of memory");

    if (rc == EXIT_OK) rc = active_of(k, e, n, tps, &n_active);
    if (rc == EXIT_OK) rc = cancel_active(a, k, tps, n_active);
    kcl_admin_close(k);
    free(tps);
    return rc;
}
