/*
 * kcl_admin_topics.c - creating, deleting and growing topics through the
 * controller (kcl_admin.h): CreateTopics v0-4, DeleteTopics v0-4 and
 * CreatePartitions v0-2, whichever the controller handles best.
 *
 * Each request goes to the controller, found through Metadata.  An answer
 * NOT_CONTROLLER for a topic (the controller moved between Metadata and
 * the request), or a controller that cannot be reached, asks Metadata
 * again and repeats the request after a backoff, until the deadline, as
 * Kafka's admin client does.  Repeating is safe: a create that did happen
 * answers TOPIC_ALREADY_EXISTS, a delete UNKNOWN_TOPIC_OR_PARTITION, a
 * grow INVALID_PARTITIONS, and the caller sees that answer.
 */
#include <stdlib.h>
#include <string.h>

#include "client/kcl_admin_internal.h"
#include "proto/kp_client_topics.h"
#include "proto/kp_types.h"

/* How long the controller may take before it answers REQUEST_TIMED_OUT
 * (the request still completes), as the admin client's default. */
#define REQUEST_TIMEOUT_MS 30000

static const kcl_api_t createtopics_api = {KP_API_CREATE_TOPICS, 0, KP_CLIENT_CREATETOPICS_VERSION_MAX,
                                           KP_CREATETOPICS_FLEX_FROM};
static const kcl_api_t deletetopics_api = {KP_API_DELETE_TOPICS, 0, KP_DELETETOPICS_VERSION_MAX,
                                           KP_DELETETOPICS_FLEX_FROM};
static const kcl_api_t createpartitions_api = {KP_API_CREATE_PARTITIONS, 0, KP_CREATEPARTITIONS_VERSION_MAX,
                                               KP_CREATEPARTITIONS_FLEX_FROM};

/* ------------------------------------------------------------ CreateTopics */

static int encode_create(kp_writer_t *w, int16_t version, const void *req) {
    return kp_client_createtopics_request_encode(w, version, req);
}

static int create_outcome(kcl_admin_t *a, int32_t id, kcl_answer_t *ans, int16_t v, const void *req,
                          kcl_error_t *err) {
    const kp_createtopics_request_t *cr = req;
    kp_client_createtopics_response_t resp;
    int rc = KCL_OK;

    if (kp_client_createtopics_response_decode(&ans->body, v, &resp) != 0 || resp.n_topics != 1 ||
        !kp_str_eq(resp.topics[0].name, cr->topics[0].name.ptr))
        rc = kcl_cluster_undecodable(&a->cluster, id, KP_API_CREATE_TOPICS, err);
    else if (resp.topics[0].error_code == KP_ERR_NOT_CONTROLLER)
        rc = KCL_EAGAIN_CONTROLLER;
    else if (resp.topics[0].error_code != KP_ERR_NONE)
        rc = kcl_admin_refused(err, resp.topics[0].error_code, resp.topics[0].error_message);
    kp_client_createtopics_response_clear(&resp);
    return rc;
}

/* The explicit layout as the request's assignments (partition p on row p). */
static kp_createtopics_assignment_t *assignments_of(const kcl_new_topic_t *t) {
    kp_createtopics_assignment_t *as = calloc((size_t)(t->n_assigned > 0 ? t->n_assigned : 1), sizeof(*as));

    for (int p = 0; as != NULL && p < t->n_assigned; p++)
        as[p] = (kp_createtopics_assignment_t){p, t->rf_assigned,
                                               (int32_t *)(t->assignment + (size_t)p * (size_t)t->rf_assigned)};
    return as;
}

int kcl_admin_create_topic(kcl_admin_t *a, const kcl_new_topic_t *t, kcl_error_t *err) {
    kp_createtopics_config_t *configs = calloc((size_t)(t->n_configs > 0 ? t->n_configs : 1), sizeof(*configs));
    kp_createtopics_assignment_t *as = assignments_of(t);
    kp_createtopics_topic_t topic = {kp_str_c(t->name), t->partitions, t->replication_factor, t->n_assigned, as,
                                     t->n_configs, configs};
    kp_createtopics_request_t req = {1, &topic, REQUEST_TIMEOUT_MS, t->validate_only};
    int rc;

    if (configs == NULL || as == NULL) {
        rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    } else {
        for (int i = 0; i < t->n_configs; i++)
            configs[i] = (kp_createtopics_config_t){kp_str_c(t->configs[i].key), kp_str_c(t->configs[i].value)};
        rc = kcl_admin_to_controller(a, &createtopics_api, encode_create, &req, create_outcome, err);
    }
    free(configs);
    free(as);
    return rc;
}

/* ------------------------------------------------------------ DeleteTopics */

static int encode_delete(kp_writer_t *w, int16_t version, const void *req) {
    return kp_client_deletetopics_request_encode(w, version, req);
}

/* The first refused topic fails the call; a NOT_CONTROLLER anywhere
 * repeats the whole request (a topic already deleted then answers 3). */
static int delete_outcome(kcl_admin_t *a, int32_t id, kcl_answer_t *ans, int16_t v, const void *req,
                          kcl_error_t *err) {
    const kp_client_deletetopics_request_t *dr = req;
    kp_client_deletetopics_response_t resp;
    int rc = KCL_OK;

    if (kp_client_deletetopics_response_decode(&ans->body, v, &resp) != 0 || resp.n_responses != dr->n_topic_names)
        rc = kcl_cluster_undecodable(&a->cluster, id, KP_API_DELETE_TOPICS, err);
    for (int32_t i = 0; rc == KCL_OK && i < resp.n_responses; i++)
        if (resp.responses[i].error_code == KP_ERR_NOT_CONTROLLER) rc = KCL_EAGAIN_CONTROLLER;
    for (int32_t i = 0; rc == KCL_OK && i < resp.n_responses; i++) {
        const kp_client_deletetopics_result_t *r = &resp.responses[i];
        if (r->error_code == KP_ERR_NONE) continue;
        kcl_admin_refused(err, r->error_code, KP_STR_NULL);
        if (r->error_code == KP_ERR_UNKNOWN_TOPIC_OR_PARTITION)
            kcl_fail(err, KCL_EBROKER, "Topic '%.*s' does not exist", (int)r->name.len, r->name.ptr);
        err->kafka_error = r->error_code;
        rc = KCL_EBROKER;
    }
    kp_client_deletetopics_response_clear(&resp);
    return rc;
}

int kcl_admin_delete_topics(kcl_admin_t *a, char *const *names, int n, kcl_error_t *err) {
    kp_str_t *slices = calloc((size_t)(n > 0 ? n : 1), sizeof(*slices));
    kp_client_deletetopics_request_t req = {n, slices, REQUEST_TIMEOUT_MS};

    if (slices == NULL) return kcl_fail(err, KCL_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) slices[i] = kp_str_c(names[i]);
    int rc = kcl_admin_to_controller(a, &deletetopics_api, encode_delete, &req, delete_outcome, err);
    free(slices);
    return rc;
}

/* -------------------------------------------------------- CreatePartitions */

static int encode_partitions(kp_writer_t *w, int16_t version, const void *req) {
    return kp_client_createpartitions_request_encode(w, version, req);
}

static int partitions_outcome(kcl_admin_t *a, int32_t id, kcl_answer_t *ans, int16_t v, const void *req,
                              kcl_error_t *err) {
    const kp_client_createpartitions_request_t *pr = req;
    kp_client_createpartitions_response_t resp;
    int rc = KCL_OK;

    if (kp_client_createpartitions_response_decode(&ans->body, v, &resp) != 0 || resp.n_results != 1 ||
        !kp_str_eq(resp.results[0].name, pr->topics[0].name.ptr))
        rc = kcl_cluster_undecodable(&a->cluster, id, KP_API_CREATE_PARTITIONS, err);
    else if (resp.results[0].error_code == KP_ERR_NOT_CONTROLLER)
        rc = KCL_EAGAIN_CONTROLLER;
    else if (resp.results[0].error_code != KP_ERR_NONE)
        rc = kcl_admin_refused(err, resp.results[0].error_code, resp.results[0].error_message);
    kp_client_createpartitions_response_clear(&resp);
    return rc;
}

int kcl_admin_create_partitions(kcl_admin_t *a, const char *topic, int32_t total, int n_new, int rf,
                                const int32_t *assignment, bool validate_only, kcl_error_t *err) {
    int rows = assignment != NULL ? n_new : 0;
    kp_client_createpartitions_assignment_t *as = calloc((size_t)(rows > 0 ? rows : 1), sizeof(*as));
    kp_client_createpartitions_topic_t t = {kp_str_c(topic), total, assignment != NULL ? rows : -1, as};
    kp_client_createpartitions_request_t req = {1, &t, REQUEST_TIMEOUT_MS, validate_only};

    if (as == NULL) return kcl_fail(err, KCL_ENOMEM, "out of memory");
    for (int i = 0; i < rows; i++)
        as[i] = (kp_client_createpartitions_assignment_t){rf, assignment + (size_t)i * (size_t)rf};
    int rc = kcl_admin_to_controller(a, &createpartitions_api, encode_partitions, &req, partitions_outcome, err);
    free(as);
    return rc;
}
