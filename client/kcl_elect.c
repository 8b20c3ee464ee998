/*
 * kcl_elect.c - ElectLeaders to the controller (see kcl_elect.h).
 *
 * Version 2, as Kafka 2.6's admin client sends it.  The request's timeout
 * is what is left of the command's, less a second so that the answer
 * (the broker sends REQUEST_TIMED_OUT for what did not land) arrives
 * before the connection's own deadline.
 */
#include "client/kcl_elect.h"

#include <stdlib.h>
#include <string.h>

#include "client/kcl_cluster.h"
#include "proto/kp_electleaders.h"
#include "proto/kp_types.h"

#define ELECTLEADERS_VERSION 2
#define ANSWER_MARGIN_MS 1000

static char *copy_str(kp_str_t s) { return s.len < 0 ? NULL : strndup(s.ptr ? s.ptr : "", (size_t)s.len); }

/* The request: tps grouped into one topic entry per run of equal names. */
static int encode(const kcl_topic_partition_t *tps, int n, int type, int32_t timeout_ms, kp_writer_t *w) {
    kp_electleaders_request_topic_t *topics = calloc((size_t)(n > 0 ? n : 1), sizeof(*topics));
    int32_t *parts = calloc((size_t)(n > 0 ? n : 1), sizeof(*parts));
    kp_electleaders_request_t req = {(int8_t)type, tps ? 0 : -1, topics, timeout_ms};
    int rc = topics && parts ? 0 : KP_BUF_NOMEM;
    for (int i = 0; rc == 0 && tps && i < n; i++) {
        kp_electleaders_request_topic_t *t = req.n_topics ? &topics[req.n_topics - 1] : NULL;
        if (!t || strcmp(t->topic.ptr, tps[i].topic) != 0) {
            t = &topics[req.n_topics++];
            *t = (kp_electleaders_request_topic_t){kp_str_c(tps[i].topic), 0, &parts[i]};
        }
        parts[i] = tps[i].partition;
        t->n_partitions++;
    }
    if (rc == 0) rc = kp_electleaders_request_encode(w, ELECTLEADERS_VERSION, &req);
    free(topics);
    free(parts);
    return rc;
}

static int by_topic_partition(const void *a, const void *b) {
    const kcl_election_result_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static int copy_results(const kp_electleaders_response_t *resp, kcl_election_result_t **out, int *n_out) {
    int n = 0;
    for (int32_t t = 0; t < resp->n_topics; t++) n += resp->topics[t].n_partitions;
    kcl_election_result_t *r = calloc((size_t)(n > 0 ? n : 1), sizeof(*r));
    if (!r) return -1;
    int k = 0, rc = 0;
    for (int32_t t = 0; t < resp->n_topics; t++)
        for (int32_t p = 0; p < resp->topics[t].n_partitions; p++, k++) {
            const kp_electleaders_partition_result_t *pr = &resp->topics[t].partitions[p];
            r[k] = (kcl_election_result_t){copy_str(resp->topics[t].topic), pr->partition_id, pr->error_code,
                                           copy_str(pr->error_message)};
            if (!r[k].topic) rc = -1;
        }
    if (rc == 0) qsort(r, (size_t)n, sizeof(*r), by_topic_partition);
    *out = r;
    *n_out = n;
    return rc;
}

/* The partition count Metadata gives topic, or a failure naming the topic
 * (KCL_EBROKER with its Kafka error: 3 when it does not exist). */
static int topic_partitions(kcl_cluster_t *c, char *topic, int32_t *count, kcl_error_t *err) {
    kcl_topic_t *t = NULL;
    int rc = kcl_cluster_topics(c, &topic, 1, &t, err);
    if (rc == KCL_OK && t[0].error_code == KP_ERR_UNKNOWN_TOPIC_OR_PARTITION)
        rc = kcl_fail_kafka(err, t[0].error_code, "topic '%s' does not exist", topic);
    else if (rc == KCL_OK && (t[0].error_code != KP_ERR_NONE || t[0].n_partitions < 1))
        rc = kcl_fail_kafka(err, t[0].error_code, "Metadata lists no partitions of topic '%s'", topic);
    if (rc == KCL_OK) *count = t[0].n_partitions;
    kcl_topics_free(t, 1);
    return rc;
}

/* tps with each whole topic (partition -1) replaced by its partitions, as
 * Metadata lists them; a whole topic Metadata does not know fails the
 * request by name (there is no partition to name in an answer).  *out
 * borrows the topic names of tps. */
static int expand_topics(kcl_cluster_t *c, const kcl_topic_partition_t *tps, int n, kcl_topic_partition_t **out,
                         int *n_out, kcl_error_t *err) {
    int cap = n > 0 ? n : 1, k = 0, rc = KCL_OK;
    kcl_topic_partition_t *v = malloc((size_t)cap * sizeof(*v));
    for (int i = 0; v && rc == KCL_OK && i < n; i++) {
        bool whole = tps[i].partition < 0;
        int32_t count = 1;
        if (whole && (rc = topic_partitions(c, tps[i].topic, &count, err)) != KCL_OK) break;
        if (k + count > cap) {
            cap = (k + count) * 2;
            kcl_topic_partition_t *grown = realloc(v, (size_t)cap * sizeof(*v));
            if (!grown) {
                rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
                break;
            }
            v = grown;
        }
        for (int32_t p = 0; p < count; p++) v[k++] = (kcl_topic_partition_t){tps[i].topic, whole ? p : tps[i].partition};
    }
    if (!v) rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    *out = v;
    *n_out = k;
    return rc;
}

static bool all_not_controller(const kcl_election_result_t *r, int n) {
    for (int i = 0; i < n; i++)
        if (r[i].error != KP_ERR_NOT_CONTROLLER) return false;
    return n > 0;
}

/* One request to the controller c names: KCL_OK with the results. */
static int ask_once(kcl_cluster_t *c, const kp_writer_t *w, kcl_election_result_t **out, int *n_out,
                    kcl_error_t *err) {
    kp_electleaders_response_t resp;
    kcl_answer_t a;
    if (c->controller_id < 0) return kcl_fail(err, KCL_EBROKER, "the cluster names no controller");
    int rc = kcl_cluster_call(c, c->controller_id, KP_API_ELECT_LEADERS, ELECTLEADERS_VERSION,
                              KP_ELECTLEADERS_FLEX_FROM, w, &a, err);
    if (rc != KCL_OK) return rc;
    if (kp_electleaders_response_decode(&a.body, ELECTLEADERS_VERSION, &resp) != 0)
        rc = kcl_cluster_undecodable(c, c->controller_id, KP_API_ELECT_LEADERS, err);
    else if (resp.error_code != KP_ERR_NONE)
        rc = kcl_fail_kafka(err, resp.error_code, "the controller (broker %d) refused the election",
                            (int)c->controller_id);
    else if (copy_results(&resp, out, n_out) != 0)
        rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    kp_electleaders_response_clear(&resp);
    kcl_answer_free(&a);
    return rc;
}

int kcl_elect_leaders(const kcl_options_t *o, int election_type, const kcl_topic_partition_t *tps, int n,
                      kcl_election_result_t **out, int *n_out, kcl_error_t *err) {
    int64_t deadline = kcl_now_ms() + o->timeout_ms;
    int backoff = 0, rc;
    *out = NULL;
    *n_out = 0;
    for (;;) {
        kcl_cluster_t c;
        kp_writer_t w;
        int64_t left = deadline - kcl_now_ms();
        rc = left > 0 ? kcl_cluster_open(&c, o->bootstrap, (int)left, err)
                      : kcl_fail(err, KCL_ETIMEOUT, "no answer within %d ms", o->timeout_ms);
        if (rc != KCL_OK) return rc;
        kp_writer_init(&w);
        int32_t wait = left > 2 * ANSWER_MARGIN_MS ? (int32_t)(left - ANSWER_MARGIN_MS) : (int32_t)(left / 2);
        kcl_topic_partition_t *all = NULL;
        int n_all = 0;
        if (tps) rc = expand_topics(&c, tps, n, &all, &n_all, err);
        if (rc == KCL_OK)
            rc = encode(tps ? all : NULL, n_all, election_type, wait, &w) == 0
                     ? ask_once(&c, &w, out, n_out, err)
                     : kcl_fail(err, KCL_ENOMEM, "out of memory");
        free(all);
        kp_writer_free(&w);
        bool again = rc == KCL_OK && all_not_controller(*out, *n_out) && kcl_cluster_backoff(&c, &backoff) == 0;
        kcl_cluster_close(&c);
        if (!again) return rc;
        kcl_election_results_free(*out, *n_out); /* the controller moved: ask the new one */
        *out = NULL;
        *n_out = 0;
    }
}

void kcl_election_results_free(kcl_election_result_t *r, int n) {
    for (int i = 0; r && i < n; i++) {
        free(r[i].topic);
        free(r[i].message);
    }
    free(r);
}
