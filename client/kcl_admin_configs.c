/*
 * kcl_admin_configs.c - a topic's or a broker's configs through the
 * brokers (kcl_admin.h): DescribeConfigs v1-2 with or without synonyms,
 * and AlterConfigs v0-1, which replaces the whole override set (kbroker
 * has no IncrementalAlterConfigs; the caller merges).
 *
 * A topic's configs can be asked of any broker (each holds every topic's
 * overrides); a broker's only of that broker, and the cluster-wide broker
 * defaults (the name "") of any.
 */
#include <stdlib.h>
#include <string.h>

#include "client/kcl_admin_internal.h"
#include "proto/kp_client_configs.h"
#include "proto/kp_types.h"

static const kcl_api_t describe_api = {KP_API_DESCRIBE_CONFIGS, KP_CLIENT_DESCRIBECONFIGS_VERSION_MIN,
                                       KP_CLIENT_DESCRIBECONFIGS_VERSION_MAX, KP_DESCRIBECONFIGS_FLEX_FROM};
static const kcl_api_t alter_api = {KP_API_ALTER_CONFIGS, 0, KP_ALTERCONFIGS_VERSION_MAX, KP_ALTERCONFIGS_FLEX_FROM};

/* Sends to the broker a resource belongs to, or to the first that answers. */
static int send_for(kcl_admin_t *a, kcl_resource_t type, const char *name, const kcl_api_t *api,
                    kcl_encode_fn encode, const void *req, kcl_answer_t *ans, int16_t *v, int32_t *from,
                    kcl_error_t *err) {
    int rc = KCL_EUNREACHABLE;

    if (type == KCL_RESOURCE_BROKER && name[0] != '\0') {
        *from = (int32_t)strtol(name, NULL, 10);
        return kcl_admin_call(a, *from, api, encode, req, ans, v, err);
    }
    for (int i = 0; i < a->cluster.n_brokers; i++) {
        *from = a->cluster.brokers[i].id;
        rc = kcl_admin_call(a, *from, api, encode, req, ans, v, err);
        if (rc == KCL_OK || rc == KCL_ENOMEM || rc == KCL_ETIMEOUT) return rc;
    }
    return rc;
}

/* ------------------------------------------------------- DescribeConfigs */

static int encode_describe(kp_writer_t *w, int16_t version, const void *req) {
    return kp_client_describeconfigs_request_encode(w, version, req);
}

static int take_synonyms(const kp_client_config_entry_t *in, kcl_config_t *c) {
    c->synonyms = calloc((size_t)(in->n_synonyms > 0 ? in->n_synonyms : 1), sizeof(*c->synonyms));
    if (c->synonyms == NULL) return -1;
    for (int32_t s = 0; s < in->n_synonyms; s++) {
        kcl_synonym_t *out = &c->synonyms[c->n_synonyms++];
        out->name = kcl_admin_strdup(in->synonyms[s].name);
        out->value = kcl_admin_strdup(in->synonyms[s].value);
        out->source = in->synonyms[s].source;
        out->source_name = kp_config_source_name(in->synonyms[s].source);
        if (out->name == NULL || (out->value == NULL && in->synonyms[s].value.len >= 0)) return -1;
    }
    return 0;
}

static int take_configs(const kp_client_describeconfigs_result_t *res, kcl_config_t **out, int *n) {
    kcl_config_t *c = calloc((size_t)(res->n_configs > 0 ? res->n_configs : 1), sizeof(*c));

    *out = c;
    if (c == NULL) return -1;
    for (int32_t i = 0; i < res->n_configs; i++) {
        const kp_client_config_entry_t *e = &res->configs[i];
        kcl_config_t *cfg = &c[(*n)++];
        cfg->name = kcl_admin_strdup(e->name);
        cfg->value = kcl_admin_strdup(e->value);
        cfg->read_only = e->read_only;
        cfg->sensitive = e->is_sensitive;
        cfg->source = e->config_source;
        if (cfg->name == NULL || (cfg->value == NULL && e->value.len >= 0) || take_synonyms(e, cfg) != 0) return -1;
    }
    return 0;
}

/* The one result of a one-resource answer, for the resource asked. */
static int describe_result(kcl_admin_t *a, int32_t from, const kp_client_describeconfigs_response_t *resp,
                           const char *name, kcl_config_t **out, int *n, kcl_error_t *err) {
    if (resp->n_results != 1 || !kp_str_eq(resp->results[0].resource_name, name))
        return kcl_cluster_undecodable(&a->cluster, from, KP_API_DESCRIBE_CONFIGS, err);
    const kp_client_describeconfigs_result_t *res = &resp->results[0];
    if (res->error_code != KP_ERR_NONE) return kcl_admin_refused(err, res->error_code, res->error_message);
    if (take_configs(res, out, n) != 0) return kcl_fail(err, KCL_ENOMEM, "out of memory");
    return KCL_OK;
}

int kcl_admin_describe_configs(kcl_admin_t *a, kcl_resource_t type, const char *name, bool synonyms,
                               kcl_config_t **out, int *n, kcl_error_t *err) {
    kp_describeconfigs_resource_t res = {(int8_t)type, kp_str_c(name), -1, NULL};
    kp_describeconfigs_request_t req = {1, &res, synonyms};
    kp_client_describeconfigs_response_t resp;
    kcl_answer_t ans;
    int32_t from = -1;
    int16_t v;

    *out = NULL;
    *n = 0;
    int rc = send_for(a, type, name, &describe_api, encode_describe, &req, &ans, &v, &from, err);
    if (rc != KCL_OK) return rc;
    if (kp_client_describeconfigs_response_decode(&ans.body, v, &resp) != 0)
        rc = kcl_cluster_undecodable(&a->cluster, from, KP_API_DESCRIBE_CONFIGS, err);
    else
        rc = describe_result(a, from, &resp, name, out, n, err);
    kp_client_describeconfigs_response_clear(&resp);
    kcl_answer_free(&ans);
    return rc;
}

void kcl_configs_free(kcl_config_t *c, int n) {
    for (int i = 0; c != NULL && i < n; i++) {
        for (int s = 0; s < c[i].n_synonyms; s++) {
            free(c[i].synonyms[s].name);
            free(c[i].synonyms[s].value);
        }
        free(c[i].synonyms);
        free(c[i].name);
        free(c[i].value);
    }
    free(c);
}

/* ----------------------------------------------------------- AlterConfigs */

static int encode_alter(kp_writer_t *w, int16_t version, const void *req) {
    return kp_client_alterconfigs_request_encode(w, version, req);
}

static int alter_result(kcl_admin_t *a, int32_t from, kcl_answer_t *ans, int16_t v, const char *name,
                        kcl_error_t *err) {
    kp_client_alterconfigs_response_t resp;
    int rc = KCL_OK;

    if (kp_client_alterconfigs_response_decode(&ans->body, v, &resp) != 0 || resp.n_responses != 1 ||
        !kp_str_eq(resp.responses[0].resource_name, name))
        rc = kcl_cluster_undecodable(&a->cluster, from, KP_API_ALTER_CONFIGS, err);
    else if (resp.responses[0].error_code != KP_ERR_NONE)
        rc = kcl_admin_refused(err, resp.responses[0].error_code, resp.responses[0].error_message);
    kp_client_alterconfigs_response_clear(&resp);
    return rc;
}

int kcl_admin_alter_configs(kcl_admin_t *a, kcl_resource_t type, const char *name, const kcl_kv_t *set, int n,
                            kcl_error_t *err) {
    kp_alterconfigs_entry_t *entries = calloc((size_t)(n > 0 ? n : 1), sizeof(*entries));
    kp_alterconfigs_resource_t res = {(int8_t)type, kp_str_c(name), n, entries};
    kp_alterconfigs_request_t req = {1, &res, false};
    kcl_answer_t ans = {0};
    int32_t from = -1;
    int16_t v;

    if (entries == NULL) return kcl_fail(err, KCL_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) entries[i] = (kp_alterconfigs_entry_t){kp_str_c(set[i].key), kp_str_c(set[i].value)};
    int rc = send_for(a, type, name, &alter_api, encode_alter, &req, &ans, &v, &from, err);
    if (rc == KCL_OK) rc = alter_result(a, from, &ans, v, name, err);
    kcl_answer_free(&ans);
    free(entries);
    return rc;
}
