/*
 * kcl_admin_reassign.c - partition reassignments through the controller
 * (kcl_admin.h): ListPartitionReassignments v0, what kafka-topics.sh
 * --describe reads to show "Adding Replicas" and what
 * kafka-reassign-partitions.sh --cancel asks first, and
 * AlterPartitionReassignments v0 with null replica lists, the
 * cancellation Kafka 2.6's admin client sends.
 *
 * Both go to the controller; an answer NOT_CONTROLLER (for the whole
 * request, where these APIs put it) sends the request again to the new
 * one (kcl_admin_to_controller).
 */
#include <stdlib.h>
#include <string.h>

#include "client/kcl_admin_internal.h"
#include "proto/kp_client_reassign.h"
#include "proto/kp_types.h"

/* How long the controller may take, as the admin client's default. */
#define REQUEST_TIMEOUT_MS 30000

static const kcl_api_t list_api = {KP_API_LIST_PARTITION_REASSIGNMENTS, 0, KP_LISTREASSIGN_VERSION_MAX,
                                   KP_REASSIGN_FLEX_FROM};
static const kcl_api_t alter_api = {KP_API_ALTER_PARTITION_REASSIGNMENTS, 0, KP_ALTERREASSIGN_VERSION_MAX,
                                    KP_REASSIGN_FLEX_FROM};

/* The topic entries of a request for tps: one per distinct name, in the
 * order names first appear, each with its partitions (borrowed from the
 * caller's arrays, which hold n of each). */
typedef struct {
    int n;
    const char **names;
    int *counts;
    int *first; /* tps index of each topic's first partition in `order` */
    int *order; /* tps indexes grouped by topic */
} grouping_t;

static void grouping_free(grouping_t *g) {
    free(g->names);
    free(g->counts);
    free(g->first);
    free(g->order);
}

static int group_by_topic(const kcl_topic_partition_t *tps, int n, grouping_t *g) {
    size_t cap = (size_t)(n > 0 ? n : 1);
    *g = (grouping_t){0, calloc(cap, sizeof(char *)), calloc(cap, sizeof(int)), calloc(cap, sizeof(int)),
                      calloc(cap, sizeof(int))};
    if (!g->names || !g->counts || !g->first || !g->order) return -1;
    for (int i = 0; i < n; i++) {
        int t = 0;
        while (t < g->n && strcmp(g->names[t], tps[i].topic) != 0) t++;
        if (t == g->n) g->names[g->n++] = tps[i].topic;
        g->counts[t]++;
    }
    for (int t = 1; t < g->n; t++) g->first[t] = g->first[t - 1] + g->counts[t - 1];
    int *fill = calloc(cap, sizeof(int));
    if (!fill) return -1;
    for (int i = 0; i < n; i++) {
        int t = 0;
        while (strcmp(g->names[t], tps[i].topic) != 0) t++;
        g->order[g->first[t] + fill[t]++] = i;
    }
    free(fill);
    return 0;
}

/* A top-level error of either answer: NOT_CONTROLLER asks again. */
static int top_level(kcl_error_t *err, int16_t code, kp_str_t message) {
    if (code == KP_ERR_NOT_CONTROLLER) return KCL_EAGAIN_CONTROLLER;
    return code == KP_ERR_NONE ? KCL_OK : kcl_admin_refused(err, code, message);
}

/* --------------------------------------------------------------- List */

typedef struct {
    kp_listreassign_request_t req;
    kcl_reassignment_t **out;
    int *n_out;
} list_call_t;

static int encode_list(kp_writer_t *w, int16_t version, const void *call) {
    return kp_client_listreassign_request_encode(w, version, &((const list_call_t *)call)->req);
}

static int32_t *copy_ids(const int32_t *v, int32_t n) {
    int32_t *c = calloc((size_t)(n > 0 ? n : 1), sizeof(*c));
    if (c && n > 0) memcpy(c, v, (size_t)n * sizeof(*c));
    return c;
}

static int by_topic_partition(const void *a, const void *b) {
    const kcl_reassignment_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* The answer's partitions into *out, sorted. */
static int take_reassignments(const kp_client_listreassign_response_t *resp, kcl_reassignment_t **out, int *n_out) {
    int n = 0, k = 0;
    for (int32_t t = 0; t < resp->n_topics; t++) n += resp->topics[t].n_partitions;
    kcl_reassignment_t *r = calloc((size_t)(n > 0 ? n : 1), sizeof(*r));
    *out = r;
    if (!r) return -1;
    for (int32_t t = 0; t < resp->n_topics; t++)
        for (int32_t i = 0; i < resp->topics[t].n_partitions; i++) {
            const kp_client_listreassign_partition_t *p = &resp->topics[t].partitions[i];
            kcl_reassignment_t *e = &r[k];
            *e = (kcl_reassignment_t){kcl_admin_strdup(resp->topics[t].name), p->partition_index,
                                      p->n_replicas, copy_ids(p->replicas, p->n_replicas),
                                      p->n_adding, copy_ids(p->adding, p->n_adding),
                                      p->n_removing, copy_ids(p->removing, p->n_removing)};
            *n_out = ++k; /* counted at once, so that a failure frees it too */
            if (!e->topic || !e->replicas || !e->adding || !e->removing) return -1;
        }
    qsort(r, (size_t)n, sizeof(*r), by_topic_partition);
    return 0;
}

static int list_outcome(kcl_admin_t *a, int32_t id, kcl_answer_t *ans, int16_t v, const void *req,
                        kcl_error_t *err) {
    const list_call_t *call = req;
    kp_client_listreassign_response_t resp;
    int rc = KCL_OK;

    if (kp_client_listreassign_response_decode(&ans->body, v, &resp) != 0)
        rc = kcl_cluster_undecodable(&a->cluster, id, KP_API_LIST_PARTITION_REASSIGNMENTS, err);
    if (rc == KCL_OK) rc = top_level(err, resp.error_code, resp.error_message);
    /* A repeated request replaces what an earlier answer gave. */
    kcl_reassignments_free(*call->out, *call->n_out);
    *call->out = NULL;
    *call->n_out = 0;
    if (rc == KCL_OK && take_reassignments(&resp, call->out, call->n_out) < 0)
        rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    kp_client_listreassign_response_clear(&resp);
    return rc;
}

int kcl_admin_list_reassignments(kcl_admin_t *a, const kcl_topic_partition_t *tps, int n,
                                 kcl_reassignment_t **out, int *n_out, kcl_error_t *err) {
    grouping_t g = {0};
    kp_listreassign_request_topic_t *topics = NULL;
    int32_t *indexes = calloc((size_t)(n > 0 ? n : 1), sizeof(*indexes));
    int rc = KCL_OK;

    *out = NULL;
    *n_out = 0;
    if (!indexes || (tps && group_by_topic(tps, n, &g) < 0) ||
        !(topics = calloc((size_t)(g.n > 0 ? g.n : 1), sizeof(*topics))))
        rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    for (int t = 0; rc == KCL_OK && t < g.n; t++) {
        for (int j = 0; j < g.counts[t]; j++) indexes[g.first[t] + j] = tps[g.order[g.first[t] + j]].partition;
        topics[t] = (kp_listreassign_request_topic_t){kp_str_c(g.names[t]), g.counts[t], indexes + g.first[t]};
    }
    list_call_t call = {{REQUEST_TIMEOUT_MS, tps ? g.n : -1, topics}, out, n_out};
    if (rc == KCL_OK) rc = kcl_admin_to_controller(a, &list_api, encode_list, &call, list_outcome, err);
    grouping_free(&g);
    free(topics);
    free(indexes);
    return rc;
}

void kcl_reassignments_free(kcl_reassignment_t *r, int n) {
    for (int i = 0; r && i < n; i++) {
        free(r[i].topic);
        free(r[i].replicas);
        free(r[i].adding);
        free(r[i].removing);
    }
    free(r);
}

/* -------------------------------------------------------------- Cancel */

typedef struct {
    kp_alterreassign_request_t req;
    const kcl_topic_partition_t *tps;
    int n;
    kcl_partition_outcome_t *outcomes;
} cancel_call_t;

static int encode_alter(kp_writer_t *w, int16_t version, const void *call) {
    return kp_client_alterreassign_request_encode(w, version, &((const cancel_call_t *)call)->req);
}

/* The outcome the answer gives tps[i]; a partition it leaves out is an
 * UNKNOWN_SERVER_ERROR, as Kafka's admin client makes it. */
static void take_outcome(const kp_client_alterreassign_response_t *resp, const kcl_topic_partition_t *tp,
                         kcl_partition_outcome_t *o) {
    for (int32_t t = 0; t < resp->n_responses; t++) {
        if (!kp_str_eq(resp->responses[t].name, tp->topic)) continue;
        for (int32_t p = 0; p < resp->responses[t].n_partitions; p++) {
            const kp_client_alterreassign_partition_t *r = &resp->responses[t].partitions[p];
            if (r->partition_index != tp->partition) continue;
            o->error = r->error_code;
            o->message = kcl_admin_strdup(r->error_message);
            return;
        }
    }
    o->error = KP_ERR_UNKNOWN_SERVER_ERROR;
    o->message = strdup("The controller's answer left this partition out.");
}

static int cancel_outcome(kcl_admin_t *a, int32_t id, kcl_answer_t *ans, int16_t v, const void *req,
                          kcl_error_t *err) {
    const cancel_call_t *call = req;
    kp_client_alterreassign_response_t resp;
    int rc = KCL_OK;

    if (kp_client_alterreassign_response_decode(&ans->body, v, &resp) != 0)
        rc = kcl_cluster_undecodable(&a->cluster, id, KP_API_ALTER_PARTITION_REASSIGNMENTS, err);
    if (rc == KCL_OK) rc = top_level(err, resp.error_code, resp.error_message);
    for (int i = 0; rc == KCL_OK && i < call->n; i++) {
        free(call->outcomes[i].message);
        call->outcomes[i] = (kcl_partition_outcome_t){0, NULL};
        take_outcome(&resp, &call->tps[i], &call->outcomes[i]);
    }
    kp_client_alterreassign_response_clear(&resp);
    return rc;
}

int kcl_admin_cancel_reassignments(kcl_admin_t *a, const kcl_topic_partition_t *tps, int n,
                                   kcl_partition_outcome_t *outcomes, kcl_error_t *err) {
    grouping_t g = {0};
    kp_alterreassign_request_topic_t *topics = NULL;
    kp_alterreassign_request_partition_t *parts = calloc((size_t)(n > 0 ? n : 1), sizeof(*parts));
    int rc = KCL_OK;

    memset(outcomes, 0, (size_t)n * sizeof(*outcomes));
    if (!parts || group_by_topic(tps, n, &g) < 0 || !(topics = calloc((size_t)(g.n > 0 ? g.n : 1), sizeof(*topics))))
        rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    for (int t = 0; rc == KCL_OK && t < g.n; t++) {
        /* A null replica list (-1) cancels the partition's reassignment. */
        for (int j = 0; j < g.counts[t]; j++)
            parts[g.first[t] + j] = (kp_alterreassign_request_partition_t){tps[g.order[g.first[t] + j]].partition,
                                                                           -1, NULL};
        topics[t] = (kp_alterreassign_request_topic_t){kp_str_c(g.names[t]), g.counts[t], parts + g.first[t]};
    }
    cancel_call_t call = {{REQUEST_TIMEOUT_MS, g.n, topics}, tps, n, outcomes};
    if (rc == KCL_OK) rc = kcl_admin_to_controller(a, &alter_api, encode_alter, &call, cancel_outcome, err);
    grouping_free(&g);
    free(topics);
    free(parts);
    return rc;
}

void kcl_partition_outcomes_clear(kcl_partition_outcome_t *o, int n) {
    for (int i = 0; o && i < n; i++) {
        free(o[i].message);
        o[i].message = NULL;
    }
}
