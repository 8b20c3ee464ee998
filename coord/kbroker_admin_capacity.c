/*
 * kbroker_admin_capacity.c - before create-topic or alter-topic writes new
 * partitions into ZooKeeper, ask the controller whether the brokers can
 * hold them.
 *
 * Each broker can hold only as many partition logs as its file descriptor
 * limit allows (and max.broker.partitions); past that a broker refuses the
 * excess partitions itself, so a topic written beyond it is one whose
 * excess partitions never come online.  No znode says what a broker can
 * hold (Kafka 2.6's formats have no room for it), and the tool cannot see
 * the brokers' limits, so it asks the broker that judges CreateTopics and
 * CreatePartitions: the controller, through the Kafka protocol, with the
 * exact layout it is about to write and validate_only set.  The controller
 * answers what it answers the APIs (its capacity check, broker/admin/
 * kb_capacity.h), and a POLICY_VIOLATION refusal stops the command with
 * the controller's message (exit status 5, like every refused layout).
 *
 * The question is advisory, as everything the tool learns from the brokers:
 * with no controller registered there is nobody to ask (the brokers check
 * for themselves when they start), and a controller that cannot be reached
 * or answers something else gets one warning line and the write goes on.
 * The controller's other refusals are not the tool's: its own checks,
 * against ZooKeeper itself, decided those.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/kcl_admin.h"
#include "coord/kbroker_admin.h"
#include "coord/kc_view.h"

/* Kafka's POLICY_VIOLATION: the controller's capacity refusal. */
#define KAFKA_POLICY_VIOLATION 44
/* The longest the question may take, within --timeout. */
#define ASK_TIMEOUT_MS 15000

/* The replica lists of parts as rows of rf ids (malloc'd); NULL when out
 * of memory or the lists differ in length (the planner never makes such). */
static int32_t *rows_of(const kc_partition_t *parts, int n, int *rf) {
    int32_t *ids;

    *rf = n > 0 ? parts[0].n_replicas : 0;
    if (!(ids = calloc((size_t)n * (size_t)*rf + 1, sizeof(*ids)))) return NULL;
    for (int p = 0; p < n; p++) {
        if (parts[p].n_replicas != *rf) {
            free(ids);
            return NULL;
        }
        memcpy(ids + (size_t)p * (size_t)*rf, parts[p].replicas, (size_t)*rf * sizeof(*ids));
    }
    return ids;
}

static void warn_unasked(const char *why) {
    fprintf(stderr, "kbroker-admin: warning: cannot ask the controller whether the brokers can hold these "
            "partitions (%s); writing them anyway: a broker refuses the partitions it cannot hold\n", why);
}

/* The command's exit status for the controller's answer. */
static int judged(int rc, const kcl_error_t *err) {
    if (rc == KCL_OK) return EXIT_OK;
    if (rc == KCL_EBROKER && err->kafka_error == KAFKA_POLICY_VIOLATION)
        return fail(EXIT_INVALID_LAYOUT, "%s", err->message);
    if (rc != KCL_EBROKER) warn_unasked(err->message);
    return EXIT_OK;
}

/* Opens a client to the registered brokers, or says why not: EXIT_OK with
 * *out NULL means there is nobody to ask. */
static int open_brokers(admin_t *a, kcl_admin_t **out) {
    kcl_error_t err = {0};
    int rc = admin_load_view(a);
    char *bootstrap;

    *out = NULL;
    if (rc != EXIT_OK) return rc;
    if (kc_view_controller(a->view) < 0 || !(bootstrap = admin_registered_bootstrap(a->view))) return EXIT_OK;
    int left = admin_remaining_ms(a);
    kcl_options_t o = {bootstrap, left < ASK_TIMEOUT_MS ? left : ASK_TIMEOUT_MS};
    if (o.timeout_ms <= 0 || kcl_admin_open(&o, out, &err) != KCL_OK) {
        warn_unasked(o.timeout_ms <= 0 ? "--timeout ran out" : err.message);
        *out = NULL;
    }
    free(bootstrap);
    return EXIT_OK;
}

int admin_check_capacity_create(admin_t *a, const kc_topic_t *plan) {
    kcl_admin_t *brokers;
    kcl_error_t err = {0};
    int rf, rc = open_brokers(a, &brokers);
    int32_t *ids;

    if (rc != EXIT_OK || !brokers) return rc;
    if (!(ids = rows_of(plan->partitions, plan->n_partitions, &rf))) {
        kcl_admin_close(brokers);
        return fail(EXIT_ZK_ERROR, "out of memory");
    }
    kcl_new_topic_t t = {plan->name, -1, -1, plan->n_partitions, rf, ids, 0, NULL, true};
    rc = judged(kcl_admin_create_topic(brokers, &t, &err), &err);
    free(ids);
    kcl_admin_close(brokers);
    return rc;
}

int admin_check_capacity_grow(admin_t *a, const char *topic, int32_t count, const kc_topic_t *added) {
    kcl_admin_t *brokers;
    kcl_error_t err = {0};
    int rf, rc = open_brokers(a, &brokers);
    int32_t *ids;

    if (rc != EXIT_OK || !brokers) return rc;
    if (!(ids = rows_of(added->partitions, added->n_partitions, &rf))) {
        kcl_admin_close(brokers);
        return fail(EXIT_ZK_ERROR, "out of memory");
    }
    rc = judged(kcl_admin_create_partitions(brokers, topic, count, added->n_partitions, rf, ids, true, &err), &err);
    free(ids);
    kcl_admin_close(brokers);
    return rc;
}
