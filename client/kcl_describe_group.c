/*
 * kcl_describe_group.c - one group as kafka-consumer-groups.sh --describe
 * shows it (kcl_describe_group in kcl_groups.h): the coordinator's
 * DescribeGroups for the state and the members, each member's assignment
 * decoded with the consumer protocol, the committed offsets, and the log
 * end of every partition that has either, hence the lag.
 *
 * The coordinator may move, or still be loading its partition of
 * __consumer_offsets, between FindCoordinator and the requests that
 * follow; those answers (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
 * COORDINATOR_NOT_AVAILABLE) start the coordinator part over after a
 * backoff, as Kafka's admin client does, until the deadline.
 *
 * Version: DescribeGroups v4 (Kafka 2.4 and later, kbroker), the first
 * that names a static member's instance id.
 */
#include <stdlib.h>
#include <string.h>

#include "client/kcl_cluster.h"
#include "client/kcl_group_offsets.h"
#include "client/kcl_groups.h"
#include "proto/kp_consumer_protocol.h"
#include "proto/kp_groupadmin.h"
#include "proto/kp_types.h"

#define DESCRIBEGROUPS_VERSION 4
#define CONSUMER_PROTOCOL_TYPE "consumer"

static char *copy_str(kp_str_t s) {
    if (s.len < 0) return NULL;
    return strndup(s.ptr != NULL ? s.ptr : "", (size_t)s.len);
}

/* ------------------------------------------------------------- members */

static int by_topic_partition(const void *a, const void *b) {
    const kcl_topic_partition_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c != 0 ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* The partitions of a decoded assignment into m->assigned, sorted. */
static int take_assignment(const kp_consumer_assignment_t *a, kcl_member_t *m) {
    int total = 0;

    for (int32_t t = 0; t < a->n_assigned_partitions; t++) total += a->assigned_partitions[t].n_partitions;
    m->assigned = calloc((size_t)(total > 0 ? total : 1), sizeof(*m->assigned));
    if (m->assigned == NULL) return -1;
    for (int32_t t = 0; t < a->n_assigned_partitions; t++)
        for (int32_t p = 0; p < a->assigned_partitions[t].n_partitions; p++) {
            kcl_topic_partition_t *tp = &m->assigned[m->n_assigned];
            if ((tp->topic = copy_str(a->assigned_partitions[t].topic)) == NULL) return -1;
            tp->partition = a->assigned_partitions[t].partitions[p];
            m->n_assigned++;
        }
    if (m->n_assigned > 1) qsort(m->assigned, (size_t)m->n_assigned, sizeof(*m->assigned), by_topic_partition);
    return 0;
}

/* One member of the answer; its assignment is decoded only for consumer
 * groups (other protocol types keep theirs opaque). */
static int take_member(const kp_describegroups_response_member_t *in, bool consumer, const char *group,
                       kcl_member_t *m, kcl_error_t *err) {
    kp_consumer_assignment_t a;
    int rc = KCL_OK;

    m->member_id = copy_str(in->member_id);
    m->group_instance_id = copy_str(in->group_instance_id);
    m->client_id = copy_str(in->client_id);
    m->client_host = copy_str(in->client_host);
    if (m->member_id == NULL || m->client_id == NULL || m->client_host == NULL)
        return kcl_fail(err, KCL_ENOMEM, "out of memory");
    if (!consumer || in->member_assignment.len <= 0) return KCL_OK;
    if (kp_consumer_assignment_decode(in->member_assignment, &a) != 0)
        rc = kcl_fail(err, KCL_EPROTOCOL, "the assignment of member %s of group '%s' is not a consumer-protocol "
                      "assignment", m->member_id, group);
    else if (take_assignment(&a, m) != 0)
        rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    kp_consumer_assignment_clear(&a);
    return rc;
}

static void free_members(kcl_group_description_t *d) {
    for (int i = 0; i < d->n_members; i++) {
        kcl_member_t *m = &d->members[i];
        for (int p = 0; p < m->n_assigned; p++) free(m->assigned[p].topic);
        free(m->assigned);
        free(m->member_id);
        free(m->group_instance_id);
        free(m->client_id);
        free(m->client_host);
    }
    free(d->members);
    d->members = NULL;
    d->n_members = 0;
}

/* The state, protocol and members of a described group into d. */
static int take_group(const kp_describegroups_response_group_t *g, const char *group, kcl_group_description_t *d,
                      kcl_error_t *err) {
    bool consumer = kp_str_eq(g->protocol_type, CONSUMER_PROTOCOL_TYPE);
    int rc = KCL_OK;

    d->state = copy_str(g->group_state);
    d->protocol_type = copy_str(g->protocol_type);
    d->protocol = copy_str(g->protocol_data);
    d->members = calloc((size_t)(g->n_members > 0 ? g->n_members : 1), sizeof(*d->members));
    if (d->state == NULL || d->protocol_type == NULL || d->protocol == NULL || d->members == NULL)
        return kcl_fail(err, KCL_ENOMEM, "out of memory");
    for (int32_t i = 0; rc == KCL_OK && i < g->n_members; i++) {
        d->n_members++;
        rc = take_member(&g->members[i], consumer, group, &d->members[i], err);
    }
    return rc;
}

/* ------------------------------------------------------ the coordinator */

/* Forgets what an earlier try at the coordinator filled in. */
static void clear_coordinator_part(kcl_group_description_t *d) {
    free_members(d);
    free(d->state);
    free(d->protocol_type);
    free(d->protocol);
    d->state = d->protocol_type = d->protocol = NULL;
}

/* One DescribeGroups for group to broker id: KCL_OK with *kafka_error set
 * by the group's entry, and on NONE d filled in. */
static int describe_once(kcl_cluster_t *c, int32_t id, const char *group, kcl_group_description_t *d,
                         int16_t *kafka_error, kcl_error_t *err) {
    kp_str_t name = kp_str_c(group);
    kp_describegroups_request_t req = {1, &name, false};
    kp_describegroups_response_t resp;
    kcl_answer_t a;
    kp_writer_t w;

    kp_writer_init(&w);
    kp_describegroups_request_encode(&w, DESCRIBEGROUPS_VERSION, &req);
    int rc = kcl_cluster_call(c, id, KP_API_DESCRIBE_GROUPS, DESCRIBEGROUPS_VERSION, KP_DESCRIBEGROUPS_FLEX_FROM, &w,
                              &a, err);
    kp_writer_free(&w);
    if (rc != KCL_OK) return rc;
    if (kp_describegroups_response_decode(&a.body, DESCRIBEGROUPS_VERSION, &resp) != 0)
        rc = kcl_cluster_undecodable(c, id, KP_API_DESCRIBE_GROUPS, err);
    else if (resp.n_groups != 1 || !kp_str_eq(resp.groups[0].group_id, group))
        rc = kcl_fail(err, KCL_EPROTOCOL, "broker %d answered DescribeGroups for group '%s' with %d other groups",
                      (int)id, group, (int)resp.n_groups);
    else if ((*kafka_error = resp.groups[0].error_code) != KP_ERR_NONE)
        rc = KCL_OK;
    else if (kp_str_eq(resp.groups[0].group_state, "Dead"))
        rc = kcl_fail(err, KCL_ENOGROUP, "Consumer group '%s' does not exist.", group);
    else
        rc = take_group(&resp.groups[0], group, d, err);
    kp_describegroups_response_clear(&resp);
    kcl_answer_free(&a);
    return rc;
}

/* One pass at the coordinator: find it, describe the group, fetch its
 * offsets.  KCL_OK with *kafka_error NONE when all is there, or the error
 * that stopped the pass. */
static int coordinator_pass(kcl_cluster_t *c, const char *group, kcl_group_description_t *d,
                            kcl_committed_t **committed, int *n_committed, int16_t *kafka_error, kcl_error_t *err) {
    int32_t id = -1;
    int rc = kcl_cluster_coordinator(c, group, &id, err);

    clear_coordinator_part(d);
    if (rc == KCL_OK) rc = describe_once(c, id, group, d, kafka_error, err);
    if (rc == KCL_OK && *kafka_error == KP_ERR_NONE)
        rc = kcl_fetch_committed(c, id, group, committed, n_committed, kafka_error, err);
    for (int i = 0; rc == KCL_OK && i < c->n_brokers; i++)
        if (c->brokers[i].id == id) {
            d->coordinator_id = id;
            d->coordinator_port = c->brokers[i].port;
            free(d->coordinator_host);
            if ((d->coordinator_host = strdup(c->brokers[i].host)) == NULL)
                rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
        }
    return rc;
}

static int at_coordinator(kcl_cluster_t *c, const char *group, kcl_group_description_t *d,
                          kcl_committed_t **committed, int *n_committed, kcl_error_t *err) {
    int backoff = 0;

    for (;;) {
        int16_t kafka_error = KP_ERR_NONE;
        kcl_committed_free(*committed, *n_committed);
        *committed = NULL;
        *n_committed = 0;
        int rc = coordinator_pass(c, group, d, committed, n_committed, &kafka_error, err);
        /* A coordinator that refuses connections has died: until ZooKeeper
         * expires its session FindCoordinator still names it, then the
         * next one.  Try again until the deadline, as Kafka's tool does. */
        if (rc == KCL_EUNREACHABLE && kcl_cluster_backoff(c, &backoff) == 0) continue;
        if (rc != KCL_OK || kafka_error == KP_ERR_NONE) return rc;
        if (!kcl_coordinator_retriable(kafka_error))
            return kcl_fail_kafka(err, kafka_error, "the coordinator of group '%s' refused to describe it", group);
        if (kcl_cluster_backoff(c, &backoff) < 0)
            return kcl_fail_kafka(err, kafka_error, "the coordinator of group '%s' was not ready within %d ms", group,
                                  c->timeout_ms);
    }
}

/* ---------------------------------------------------------------- rows */

static int row_order(const void *a, const void *b) {
    const kcl_partition_row_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c != 0 ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* qsort() must not be handed the NULL of an empty table. */
static void sort_rows(kcl_group_description_t *d) {
    if (d->n_rows > 1) qsort(d->rows, (size_t)d->n_rows, sizeof(*d->rows), row_order);
}

static int add_row(kcl_group_description_t *d, const char *topic, int32_t partition, int member) {
    kcl_partition_row_t *grown = realloc(d->rows, (size_t)(d->n_rows + 1) * sizeof(*grown));

    if (grown == NULL) return -1;
    d->rows = grown;
    grown[d->n_rows] = (kcl_partition_row_t){strdup(topic), partition, KCL_OFFSET_UNKNOWN, KCL_OFFSET_UNKNOWN,
                                             KCL_OFFSET_UNKNOWN, member};
    return grown[d->n_rows++].topic != NULL ? 0 : -1;
}

/* One row per assigned partition (a partition two members claim stays with
 * the first), then the committed offsets: on the row of their partition,
 * or on a row of their own with no member. */
static int build_rows(kcl_group_description_t *d, const kcl_committed_t *committed, int n_committed) {
    for (int m = 0; m < d->n_members; m++)
        for (int p = 0; p < d->members[m].n_assigned; p++) {
            const kcl_topic_partition_t *tp = &d->members[m].assigned[p];
            bool seen = false;
            for (int r = 0; r < d->n_rows && !seen; r++)
                seen = d->rows[r].partition == tp->partition && strcmp(d->rows[r].topic, tp->topic) == 0;
            if (!seen && add_row(d, tp->topic, tp->partition, m) != 0) return -1;
        }
    sort_rows(d);
    int assigned = d->n_rows;
    for (int i = 0; i < n_committed; i++) {
        kcl_partition_row_t key = {.topic = committed[i].topic, .partition = committed[i].partition};
        kcl_partition_row_t *row =
            assigned > 0 ? bsearch(&key, d->rows, (size_t)assigned, sizeof(*d->rows), row_order) : NULL;
        if (row == NULL && add_row(d, committed[i].topic, committed[i].partition, -1) != 0) return -1;
        if (row == NULL) row = &d->rows[d->n_rows - 1];
        row->committed = committed[i].offset;
    }
    sort_rows(d);
    return 0;
}

static void compute_lags(kcl_group_description_t *d) {
    for (int i = 0; i < d->n_rows; i++) {
        kcl_partition_row_t *r = &d->rows[i];
        r->lag = r->committed >= 0 && r->log_end >= 0 ? r->log_end - r->committed : KCL_OFFSET_UNKNOWN;
    }
}

int kcl_describe_group(const kcl_options_t *o, const char *group, kcl_group_description_t *out, kcl_error_t *err) {
    kcl_cluster_t c;
    kcl_committed_t *committed = NULL;
    int n_committed = 0;

    *out = (kcl_group_description_t){.coordinator_id = -1, .coordinator_port = -1};
    int rc = kcl_cluster_open(&c, o->bootstrap, o->timeout_ms, err);
    if (rc == KCL_OK && (out->group_id = strdup(group)) == NULL) rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    if (rc == KCL_OK) rc = at_coordinator(&c, group, out, &committed, &n_committed, err);
    if (rc == KCL_OK && build_rows(out, committed, n_committed) != 0) rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    if (rc == KCL_OK) rc = kcl_fetch_log_ends(&c, out->rows, out->n_rows, err);
    if (rc == KCL_OK) compute_lags(out);
    kcl_committed_free(committed, n_committed);
    kcl_cluster_close(&c);
    return rc;
}

void kcl_group_description_clear(kcl_group_description_t *d) {
    clear_coordinator_part(d);
    for (int i = 0; i < d->n_rows; i++) free(d->rows[i].topic);
    free(d->rows);
    free(d->group_id);
    free(d->coordinator_host);
    *d = (kcl_group_description_t){.coordinator_id = -1, .coordinator_port = -1};
}
