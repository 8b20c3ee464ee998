/*
 * kcl_admin.c - the session behind kcl_admin.h: the cluster's brokers and
 * controller, the API versions each broker handles (ApiVersions, asked
 * once per broker), one call that speaks the highest common version, and
 * Metadata for every topic as kafka-topics.sh --list and --describe read
 * it.
 *
 * Versions: ApiVersions v0 (every Kafka and kbroker answers it, whatever
 * else it handles) and Metadata v5 (kcl_cluster.c's).
 */
#include "client/kcl_admin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/kcl_groups.h"
#include "proto/kp_client_configs.h"
#include "proto/kp_header.h"
#include "proto/kp_metadata.h"
#include "proto/kp_types.h"

#define APIVERSIONS_VERSION 0
#define METADATA_VERSION 5

/* Kafka's standard texts (Errors.java) for the codes the topic and config
 * commands meet; any other code is named by kp_error_name(). */
static const struct {
    int16_t code;
    const char *text;
} standard_texts[] = {
    {KP_ERR_UNKNOWN_SERVER_ERROR, "The server experienced an unexpected error when processing the request."},
    {KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition."},
    {KP_ERR_REQUEST_TIMED_OUT, "The request timed out."},
    {KP_ERR_INVALID_TOPIC_EXCEPTION, "The request attempted to perform an operation on an invalid topic."},
    {KP_ERR_UNSUPPORTED_VERSION, "The version of API is not supported."},
    {KP_ERR_TOPIC_ALREADY_EXISTS, "Topic with this name already exists."},
    {KP_ERR_INVALID_PARTITIONS, "Number of partitions is below 1."},
    {KP_ERR_INVALID_REPLICATION_FACTOR,
     "Replication factor is below 1 or larger than the number of available brokers."},
    {KP_ERR_INVALID_REPLICA_ASSIGNMENT, "Replica assignment is invalid."},
    {KP_ERR_INVALID_CONFIG, "Configuration is invalid."},
    {KP_ERR_NOT_CONTROLLER, "This is not the correct controller for this cluster."},
    {KP_ERR_POLICY_VIOLATION, "Request parameters do not satisfy the configured policy."},
    {KP_ERR_REASSIGNMENT_IN_PROGRESS, "A partition reassignment is in progress."},
    {KP_ERR_TOPIC_DELETION_DISABLED, "Topic deletion is disabled."},
};

int kcl_admin_refused(kcl_error_t *err, int16_t code, kp_str_t message) {
    const char *text = NULL;

    for (size_t i = 0; i < sizeof(standard_texts) / sizeof(standard_texts[0]) && text == NULL; i++)
        if (standard_texts[i].code == code) text = standard_texts[i].text;
    if (message.len > 0)
        kcl_fail(err, KCL_EBROKER, "%.*s", (int)message.len, message.ptr);
    else if (text != NULL)
        kcl_fail(err, KCL_EBROKER, "%s", text);
    else
        kcl_fail(err, KCL_EBROKER, "the broker answered %s (%d)", kp_error_name(code) ? kp_error_name(code) : "an "
                 "unknown error", (int)code);
    err->kafka_error = code;
    return KCL_EBROKER;
}

int kcl_admin_to_controller(kcl_admin_t *a, const kcl_api_t *api, kcl_encode_fn encode, const void *req,
                            kcl_outcome_fn outcome, kcl_error_t *err) {
    int backoff = 0;

    for (;;) {
        int rc = a->controller >= 0 ? KCL_OK : kcl_admin_find_controller(a, err);
        int32_t id = a->controller;
        if (rc != KCL_OK) return rc;
        kcl_answer_t ans;
        int16_t v;
        rc = kcl_admin_call(a, id, api, encode, req, &ans, &v, err);
        if (rc == KCL_OK) rc = outcome(a, id, &ans, v, req, err);
        kcl_answer_free(&ans);
        /* A controller that died or moved: ask who leads now. */
        if (rc != KCL_EAGAIN_CONTROLLER && rc != KCL_EUNREACHABLE) return rc;
        a->controller = -1;
        if (kcl_cluster_backoff(&a->cluster, &backoff) < 0)
            return rc == KCL_EUNREACHABLE ? rc
                                          : kcl_fail(err, KCL_ETIMEOUT, "the controller kept moving for %d ms",
                                                     a->cluster.timeout_ms);
    }
}

int kcl_admin_refusal(kcl_error_t *err, int16_t code) { return kcl_admin_refused(err, code, KP_STR_NULL); }

char *kcl_admin_strdup(kp_str_t s) {
    if (s.len < 0) return NULL;
    return strndup(s.ptr != NULL ? s.ptr : "", (size_t)s.len);
}

/* ------------------------------------------------------------- versions */

static int encode_apiversions(kp_writer_t *w, int16_t version, const void *req) {
    (void)req;
    return kp_client_apiversions_request_encode(w, version);
}

/* Keeps the API keys of broker id's answer. */
static int remember_versions(kcl_admin_t *a, int32_t id, const kp_client_apiversions_response_t *resp,
                             kcl_versions_t **out, kcl_error_t *err) {
    kcl_versions_t *grown = realloc(a->versions, (size_t)(a->n_versions + 1) * sizeof(*grown));

    if (grown == NULL) return kcl_fail(err, KCL_ENOMEM, "out of memory");
    a->versions = grown;
    kcl_versions_t *v = &grown[a->n_versions];
    *v = (kcl_versions_t){id, resp->n_api_keys, NULL};
    v->keys = malloc((size_t)(resp->n_api_keys > 0 ? resp->n_api_keys : 1) * sizeof(*v->keys));
    if (v->keys == NULL) return kcl_fail(err, KCL_ENOMEM, "out of memory");
    if (resp->n_api_keys > 0) memcpy(v->keys, resp->api_keys, (size_t)resp->n_api_keys * sizeof(*v->keys));
    a->n_versions++;
    *out = v;
    return KCL_OK;
}

/* Broker id's API versions, asked for the first time they are needed. */
static int versions_of(kcl_admin_t *a, int32_t id, kcl_versions_t **out, kcl_error_t *err) {
    kp_client_apiversions_response_t resp;
    kp_writer_t w;
    kcl_answer_t ans;

    for (int i = 0; i < a->n_versions; i++)
        if (a->versions[i].broker == id) return *out = &a->versions[i], KCL_OK;
    kp_writer_init(&w);
    encode_apiversions(&w, APIVERSIONS_VERSION, NULL);
    int rc = kcl_cluster_call(&a->cluster, id, KP_API_API_VERSIONS, APIVERSIONS_VERSION, KP_APIVERSIONS_FLEX_FROM,
                              &w, &ans, err);
    kp_writer_free(&w);
    if (rc != KCL_OK) return rc;
    if (kp_client_apiversions_response_decode(&ans.body, APIVERSIONS_VERSION, &resp) != 0)
        rc = kcl_cluster_undecodable(&a->cluster, id, KP_API_API_VERSIONS, err);
    else if (resp.error_code != KP_ERR_NONE)
        rc = kcl_fail_kafka(err, resp.error_code, "broker %d refused ApiVersions", (int)id);
    else
        rc = remember_versions(a, id, &resp, out, err);
    kp_client_apiversions_response_clear(&resp);
    kcl_answer_free(&ans);
    return rc;
}

/* The highest version of api both broker id and this client handle. */
static int pick_version(kcl_admin_t *a, int32_t id, const kcl_api_t *api, int16_t *version, kcl_error_t *err) {
    kcl_versions_t *v = NULL;
    const char *name = kp_api_key_name(api->key);
    int rc = versions_of(a, id, &v, err);

    if (rc != KCL_OK) return rc;
    for (int i = 0; i < v->n; i++) {
        if (v->keys[i].api_key != api->key) continue;
        int16_t hi = v->keys[i].max_version < api->max ? v->keys[i].max_version : api->max;
        int16_t lo = v->keys[i].min_version > api->min ? v->keys[i].min_version : api->min;
        if (lo > hi)
            return kcl_fail(err, KCL_EUNSUPPORTED, "broker %d handles %s (API key %d) versions %d-%d only, "
                            "this tool %d-%d", (int)id, name, (int)api->key, (int)v->keys[i].min_version,
                            (int)v->keys[i].max_version, (int)api->min, (int)api->max);
        *version = hi;
        return KCL_OK;
    }
    return kcl_fail(err, KCL_EUNSUPPORTED, "broker %d does not support %s (API key %d)", (int)id,
                    name ? name : "this request", (int)api->key);
}

int kcl_admin_call(kcl_admin_t *a, int32_t id, const kcl_api_t *api, kcl_encode_fn encode, const void *req,
                   kcl_answer_t *answer, int16_t *version, kcl_error_t *err) {
    kp_writer_t w;

    *answer = (kcl_answer_t){0};
    int rc = pick_version(a, id, api, version, err);
    if (rc != KCL_OK) return rc;
    kp_writer_init(&w);
    if (encode(&w, *version, req) != 0) rc = kcl_fail(err, KCL_ENOMEM, "cannot encode the request");
    else rc = kcl_cluster_call(&a->cluster, id, api->key, *version, api->flex_from, &w, answer, err);
    kp_writer_free(&w);
    return rc;
}

/* ------------------------------------------------------------- session */

int kcl_admin_open(const kcl_options_t *o, kcl_admin_t **out, kcl_error_t *err) {
    kcl_admin_t *a = calloc(1, sizeof(*a));

    *out = NULL;
    if (a == NULL) return kcl_fail(err, KCL_ENOMEM, "out of memory");
    a->controller = -1;
    int rc = kcl_cluster_open(&a->cluster, o->bootstrap, o->timeout_ms, err);
    if (rc != KCL_OK) {
        kcl_admin_close(a);
        return rc;
    }
    *out = a;
    return KCL_OK;
}

void kcl_admin_close(kcl_admin_t *a) {
    if (a == NULL) return;
    kcl_cluster_close(&a->cluster);
    for (int i = 0; i < a->n_versions; i++) free(a->versions[i].keys);
    free(a->versions);
    free(a);
}

/* ------------------------------------------------------------- metadata */

static int encode_metadata(kp_writer_t *w, int16_t version, const void *req) {
    return kp_metadata_request_encode(w, version, req);
}

static const kcl_api_t metadata_api = {KP_API_METADATA, METADATA_VERSION, METADATA_VERSION, KP_METADATA_FLEX_FROM};

/* Metadata to the first broker that answers; topics NULL asks for every
 * topic, an empty request for none.  *md borrows from *ans. */
static int ask_metadata(kcl_admin_t *a, bool all_topics, kcl_answer_t *ans, kp_metadata_response_t *md,
                        kcl_error_t *err) {
    kp_metadata_request_t req = {all_topics ? -1 : 0, NULL, false};
    int rc = KCL_EUNREACHABLE;
    int16_t v;

    *md = (kp_metadata_response_t){0};
    for (int i = 0; i < a->cluster.n_brokers; i++) {
        int32_t id = a->cluster.brokers[i].id;
        rc = kcl_admin_call(a, id, &metadata_api, encode_metadata, &req, ans, &v, err);
        if (rc == KCL_OK) {
            if (kp_metadata_response_decode(&ans->body, v, md) == 0) return KCL_OK;
            kcl_answer_free(ans);
            return kcl_cluster_undecodable(&a->cluster, id, KP_API_METADATA, err);
        }
        if (rc == KCL_ENOMEM || rc == KCL_ETIMEOUT) return rc;
    }
    return rc;
}

int kcl_admin_find_controller(kcl_admin_t *a, kcl_error_t *err) {
    int backoff = 0;

    for (;;) {
        kcl_answer_t ans;
        kp_metadata_response_t md;
        int rc = ask_metadata(a, false, &ans, &md, err);
        if (rc != KCL_OK) return rc;
        a->controller = md.controller_id;
        kp_metadata_response_clear(&md);
        kcl_answer_free(&ans);
        if (a->controller >= 0) return KCL_OK;
        if (kcl_cluster_backoff(&a->cluster, &backoff) < 0)
            return kcl_fail(err, KCL_ETIMEOUT, "the cluster named no controller within %d ms", a->cluster.timeout_ms);
    }
}

static int by_id(const void *x, const void *y) {
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

static int by_partition(const void *x, const void *y) {
    const kcl_partition_info_t *a = x, *b = y;
    return (a->partition > b->partition) - (a->partition < b->partition);
}

static int by_name(const void *x, const void *y) {
    const kcl_topic_info_t *a = x, *b = y;
    return strcmp(a->name, b->name);
}

static int32_t *copy_ids(const int32_t *ids, int32_t n) {
    int32_t *copy = malloc((size_t)(n > 0 ? n : 1) * sizeof(*copy));
    if (copy != NULL && n > 0) memcpy(copy, ids, (size_t)n * sizeof(*copy));
    return copy;
}

static int take_topic(const kp_metadata_response_topic_t *in, kcl_topic_info_t *t) {
    t->name = kcl_admin_strdup(in->name);
    t->internal = in->is_internal;
    t->error_code = in->error_code;
    t->partitions = calloc((size_t)(in->n_partitions > 0 ? in->n_partitions : 1), sizeof(*t->partitions));
    if (t->name == NULL || t->partitions == NULL) return -1;
    for (int32_t p = 0; p < in->n_partitions; p++) {
        const kp_metadata_response_partition_t *mp = &in->partitions[p];
        kcl_partition_info_t *out = &t->partitions[t->n_partitions++];
        *out = (kcl_partition_info_t){mp->partition_index, mp->leader_id, mp->n_replica_nodes, NULL,
                                      mp->n_isr_nodes, NULL};
        out->replicas = copy_ids(mp->replica_nodes, mp->n_replica_nodes);
        out->isr = copy_ids(mp->isr_nodes, mp->n_isr_nodes);
        if (out->replicas == NULL || out->isr == NULL) return -1;
    }
    qsort(t->partitions, (size_t)t->n_partitions, sizeof(*t->partitions), by_partition);
    return 0;
}

static int take_cluster(const kp_metadata_response_t *md, kcl_cluster_info_t *out) {
    out->controller = md->controller_id;
    out->brokers = malloc((size_t)(md->n_brokers > 0 ? md->n_brokers : 1) * sizeof(*out->brokers));
    out->topics = calloc((size_t)(md->n_topics > 0 ? md->n_topics : 1), sizeof(*out->topics));
    if (out->brokers == NULL || out->topics == NULL) return -1;
    for (int32_t i = 0; i < md->n_brokers; i++) out->brokers[out->n_brokers++] = md->brokers[i].node_id;
    qsort(out->brokers, (size_t)out->n_brokers, sizeof(*out->brokers), by_id);
    for (int32_t i = 0; i < md->n_topics; i++)
        if (take_topic(&md->topics[i], &out->topics[out->n_topics++]) != 0) return -1;
    qsort(out->topics, (size_t)out->n_topics, sizeof(*out->topics), by_name);
    return 0;
}

int kcl_admin_describe_cluster(kcl_admin_t *a, kcl_cluster_info_t *out, kcl_error_t *err) {
    kcl_answer_t ans;
    kp_metadata_response_t md;

    *out = (kcl_cluster_info_t){.controller = -1};
    int rc = ask_metadata(a, true, &ans, &md, err);
    if (rc != KCL_OK) return rc;
    if (take_cluster(&md, out) != 0) rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    if (md.controller_id >= 0) a->controller = md.controller_id;
    kp_metadata_response_clear(&md);
    kcl_answer_free(&ans);
    return rc;
}

void kcl_cluster_info_clear(kcl_cluster_info_t *c) {
    for (int t = 0; t < c->n_topics; t++) {
        for (int p = 0; p < c->topics[t].n_partitions; p++) {
            free(c->topics[t].partitions[p].replicas);
            free(c->topics[t].partitions[p].isr);
        }
        free(c->topics[t].partitions);
        free(c->topics[t].name);
    }
    free(c->topics);
    free(c->brokers);
    *c = (kcl_cluster_info_t){.controller = -1};
}
