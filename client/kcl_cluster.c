/*
 * kcl_cluster.c - the brokers of a cluster, a connection to each, topic
 * metadata and group coordinators, for one command of the admin tool (see
 * kcl_cluster.h).
 *
 * Versions: Metadata v5 (the first that can refuse to auto-create a topic
 * the request names is v4; an admin tool must never create one) and
 * FindCoordinator v2.  Both exist in every Kafka since 1.0 and in kbroker.
 */
#include "client/kcl_cluster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/kcl_groups.h"
#include "proto/kp_findcoordinator.h"
#include "proto/kp_header.h"
#include "proto/kp_metadata.h"
#include "proto/kp_types.h"

#define METADATA_VERSION 5
#define FINDCOORDINATOR_VERSION 2
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 1000

/* -------------------------------------------------------- bootstrap list */

/* One "host:port" or "[v6]:port" entry of len bytes into host/port. */
static bool split_server(const char *s, size_t len, char *host, size_t host_size, int32_t *port) {
    const char *colon = memrchr(s, ':', len);
    const char *h = s;
    char digits[8], *end;

    if (colon == NULL) return false;
    size_t hlen = (size_t)(colon - s), plen = len - hlen - 1;
    if (plen == 0 || plen >= sizeof(digits) || colon[1] < '0' || colon[1] > '9') return false;
    memcpy(digits, colon + 1, plen);
    digits[plen] = '\0';
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= host_size) return false;
    errno = 0;
    long v = strtol(digits, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > 65535) return false;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int32_t)v;
    return true;
}

bool kcl_bootstrap_valid(const char *bootstrap) {
    char host[256];
    int32_t port;

    if (bootstrap == NULL || *bootstrap == '\0') return false;
    for (const char *p = bootstrap;; p++) {
        size_t len = strcspn(p, ",");
        if (!split_server(p, len, host, sizeof(host), &port)) return false;
        p += len;
        if (*p == '\0') return true;
    }
}

/* ---------------------------------------------------------------- brokers */

static kcl_broker_t *find_broker(kcl_cluster_t *c, int32_t id) {
    for (int i = 0; i < c->n_brokers; i++)
        if (c->brokers[i].id == id) return &c->brokers[i];
    return NULL;
}

/* Adds broker id at host:port, or moves a known one there. */
static int learn_broker(kcl_cluster_t *c, int32_t id, kp_str_t host, int32_t port, kcl_error_t *err) {
    kcl_broker_t *b = find_broker(c, id);
    char *copy = strndup(host.ptr != NULL ? host.ptr : "", host.len > 0 ? (size_t)host.len : 0);

    if (copy == NULL) return kcl_fail(err, KCL_ENOMEM, "out of memory");
    if (b == NULL) {
        kcl_broker_t *grown = realloc(c->brokers, (size_t)(c->n_brokers + 1) * sizeof(*grown));
        if (grown == NULL) {
            free(copy);
            return kcl_fail(err, KCL_ENOMEM, "out of memory");
        }
        c->brokers = grown;
        b = &c->brokers[c->n_brokers++];
        *b = (kcl_broker_t){.id = id};
    } else if (b->port != port || strcmp(b->host, copy) != 0) {
        kcl_conn_close(b->conn);
        b->conn = NULL;
    }
    free(b->host);
    b->host = copy;
    b->port = port;
    return KCL_OK;
}

/* The brokers of a Metadata answer. */
static int learn_brokers(kcl_cluster_t *c, const kp_metadata_response_t *md, kcl_error_t *err) {
    for (int32_t i = 0; i < md->n_brokers; i++) {
        int rc = learn_broker(c, md->brokers[i].node_id, md->brokers[i].host, md->brokers[i].port, err);
        if (rc != KCL_OK) return rc;
    }
    return KCL_OK;
}

/* Metadata for no topic, to learn the brokers, over a bootstrap connection.
 * A broker that has not heard from the controller yet (just started) lists
 * no broker: *starting then says so, and the caller asks again later. */
static int ask_brokers(kcl_cluster_t *c, kcl_conn_t *conn, bool *starting, kcl_error_t *err) {
    kp_metadata_request_t req = {0, NULL, false};
    kp_metadata_response_t md;
    kcl_answer_t a;
    kp_writer_t w;

    kp_writer_init(&w);
    kp_metadata_request_encode(&w, METADATA_VERSION, &req);
    int rc = kcl_conn_call(conn, KP_API_METADATA, METADATA_VERSION, KP_METADATA_FLEX_FROM, &w, c->deadline_ms, &a,
                           err);
    kp_writer_free(&w);
    if (rc != KCL_OK) return rc;
    if (kp_metadata_response_decode(&a.body, METADATA_VERSION, &md) != 0)
        rc = kcl_fail(err, KCL_EPROTOCOL, "the Metadata answer from %s does not decode", kcl_conn_peer(conn));
    else if ((*starting = md.n_brokers == 0))
        rc = kcl_fail(err, KCL_EPROTOCOL, "%s lists no broker in its Metadata answer", kcl_conn_peer(conn));
    else
        rc = learn_brokers(c, &md, err);
    if (rc == KCL_OK) c->controller_id = md.controller_id;
    kp_metadata_response_clear(&md);
    kcl_answer_free(&a);
    return rc;
}

/* One pass over the bootstrap servers; *starting when one of them is a
 * broker still waiting for its first metadata. */
static int bootstrap_once(kcl_cluster_t *c, const char *bootstrap, bool *starting, kcl_error_t *err) {
    char host[256];
    int32_t port;
    int rc = kcl_fail(err, KCL_EUNREACHABLE, "no bootstrap server given");

    for (const char *p = bootstrap; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, ",");
        bool this_starting = false;
        if (!split_server(p, len, host, sizeof(host), &port))
            return kcl_fail(err, KCL_EUNREACHABLE, "invalid bootstrap server '%.*s'", (int)len, p);
        kcl_conn_t *conn = kcl_conn_open(host, port, KCL_CLIENT_ID, c->deadline_ms, err);
        rc = conn != NULL ? ask_brokers(c, conn, &this_starting, err) : err->status;
        kcl_conn_close(conn);
        if (rc == KCL_OK) return KCL_OK;
        *starting = *starting || this_starting;
        p += len + (p[len] == ',');
    }
    return rc;
}

int kcl_cluster_open(kcl_cluster_t *c, const char *bootstrap, int timeout_ms, kcl_error_t *err) {
    int backoff = 0, rc;
    bool starting;

    *c = (kcl_cluster_t){.timeout_ms = timeout_ms, .deadline_ms = kcl_now_ms() + timeout_ms, .controller_id = -1};
    do { /* as Kafka's clients do, a cluster still starting is asked again until the deadline */
        starting = false;
        rc = bootstrap_once(c, bootstrap, &starting, err);
    } while (rc != KCL_OK && starting && kcl_cluster_backoff(c, &backoff) == 0);
    return rc;
}

void kcl_cluster_close(kcl_cluster_t *c) {
    for (int i = 0; i < c->n_brokers; i++) {
        kcl_conn_close(c->brokers[i].conn);
        free(c->brokers[i].host);
    }
    free(c->brokers);
    c->brokers = NULL;
    c->n_brokers = 0;
}

/* ---------------------------------------------------------------- calling */

int kcl_cluster_call(kcl_cluster_t *c, int32_t id, int16_t api_key, int16_t version, int16_t flex_from,
                     const kp_writer_t *body, kcl_answer_t *answer, kcl_error_t *err) {
    kcl_broker_t *b = find_broker(c, id);
    int rc;

    *answer = (kcl_answer_t){0};
    if (b == NULL) return kcl_fail(err, KCL_EPROTOCOL, "broker %d is not in the cluster's metadata", (int)id);
    if (b->conn == NULL) b->conn = kcl_conn_open(b->host, b->port, KCL_CLIENT_ID, c->deadline_ms, err);
    if (b->conn == NULL) {
        char why[sizeof(err->message)];
        memcpy(why, err->message, sizeof(why));
        return kcl_fail(err, err->status, "broker %d: %s", (int)id, why);
    }
    rc = kcl_conn_call(b->conn, api_key, version, flex_from, body, c->deadline_ms, answer, err);
    if (rc != KCL_OK) {
        kcl_conn_close(b->conn);
        b->conn = NULL;
    }
    return rc;
}

int kcl_cluster_call_any(kcl_cluster_t *c, int16_t api_key, int16_t version, int16_t flex_from,
                         const kp_writer_t *body, kcl_answer_t *answer, int32_t *id, kcl_error_t *err) {
    int rc = kcl_fail(err, KCL_EUNREACHABLE, "no broker known");

    for (int i = 0; i < c->n_brokers; i++) {
        rc = kcl_cluster_call(c, c->brokers[i].id, api_key, version, flex_from, body, answer, err);
        if (rc == KCL_OK) {
            if (id != NULL) *id = c->brokers[i].id;
            return KCL_OK;
        }
        /* Past the deadline every other broker would time out too. */
        if (rc == KCL_ENOMEM || rc == KCL_ETIMEOUT) return rc;
    }
    return rc;
}

int kcl_cluster_undecodable(const kcl_cluster_t *c, int32_t id, int16_t api_key, kcl_error_t *err) {
    const char *name = kp_api_key_name(api_key);

    for (int i = 0; i < c->n_brokers; i++)
        if (c->brokers[i].id == id)
            return kcl_fail(err, KCL_EPROTOCOL, "the %s answer of broker %d (%s:%d) does not decode", name,
                            (int)id, c->brokers[i].host, (int)c->brokers[i].port);
    return kcl_fail(err, KCL_EPROTOCOL, "the %s answer of broker %d does not decode", name, (int)id);
}

/* ----------------------------------------------------------------- topics */

static int encode_topics_request(char *const *names, int n, kp_writer_t *w) {
    kp_metadata_request_topic_t *topics = calloc((size_t)(n > 0 ? n : 1), sizeof(*topics));
    kp_metadata_request_t req = {n, topics, false};

    if (topics == NULL) return -1;
    for (int i = 0; i < n; i++) topics[i].name = kp_str_c(names[i]);
    int rc = kp_metadata_request_encode(w, METADATA_VERSION, &req);
    free(topics);
    return rc;
}

/* Fills out from the answer's entry for out->name (UNKNOWN_TOPIC_OR_PARTITION
 * when the answer has none). */
static int fill_topic(const kp_metadata_response_t *md, kcl_topic_t *out) {
    out->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    for (int32_t t = 0; t < md->n_topics; t++) {
        const kp_metadata_response_topic_t *topic = &md->topics[t];
        if (!kp_str_eq(topic->name, out->name)) continue;
        out->error_code = topic->error_code;
        int32_t n = 0;
        for (int32_t p = 0; p < topic->n_partitions; p++)
            if (topic->partitions[p].partition_index >= n) n = topic->partitions[p].partition_index + 1;
        if (n > topic->n_partitions) n = topic->n_partitions; /* indexes beyond the count are ignored */
        out->leaders = malloc((size_t)(n > 0 ? n : 1) * sizeof(*out->leaders));
        if (out->leaders == NULL) return -1;
        out->n_partitions = n;
        for (int32_t p = 0; p < n; p++) out->leaders[p] = -1;
        for (int32_t p = 0; p < topic->n_partitions; p++) {
            int32_t index = topic->partitions[p].partition_index;
            if (index >= 0 && index < n) out->leaders[index] = topic->partitions[p].leader_id;
        }
        return 0;
    }
    return 0;
}

static int topics_from_answer(kcl_cluster_t *c, int32_t id, kcl_answer_t *a, char *const *names, int n,
                              kcl_topic_t *out, kcl_error_t *err) {
    kp_metadata_response_t md;
    int rc = KCL_OK;

    if (kp_metadata_response_decode(&a->body, METADATA_VERSION, &md) != 0)
        rc = kcl_cluster_undecodable(c, id, KP_API_METADATA, err);
    for (int i = 0; rc == KCL_OK && i < n; i++) {
        out[i].name = strdup(names[i]);
        if (out[i].name == NULL || fill_topic(&md, &out[i]) != 0) rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    }
    if (rc == KCL_OK) rc = learn_brokers(c, &md, err);
    kp_metadata_response_clear(&md);
    return rc;
}

int kcl_cluster_topics(kcl_cluster_t *c, char *const *names, int n, kcl_topic_t **topics, kcl_error_t *err) {
    kcl_topic_t *out = calloc((size_t)(n > 0 ? n : 1), sizeof(*out));
    kcl_answer_t a;
    kp_writer_t w;
    int32_t id = -1;
    int rc;

    *topics = out;
    if (out == NULL) return kcl_fail(err, KCL_ENOMEM, "out of memory");
    kp_writer_init(&w);
    if (encode_topics_request(names, n, &w) != 0) rc = kcl_fail(err, KCL_ENOMEM, "cannot encode Metadata");
    else rc = kcl_cluster_call_any(c, KP_API_METADATA, METADATA_VERSION, KP_METADATA_FLEX_FROM, &w, &a, &id, err);
    kp_writer_free(&w);
    if (rc != KCL_OK) return rc;
    rc = topics_from_answer(c, id, &a, names, n, out, err);
    kcl_answer_free(&a);
    return rc;
}

void kcl_topics_free(kcl_topic_t *topics, int n) {
    for (int i = 0; topics != NULL && i < n; i++) {
        free(topics[i].name);
        free(topics[i].leaders);
    }
    free(topics);
}

/* ------------------------------------------------------------ coordinator */

bool kcl_coordinator_retriable(int16_t kafka_error) {
    return kafka_error == KP_ERR_COORDINATOR_NOT_AVAILABLE || kafka_error == KP_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
           kafka_error == KP_ERR_NOT_COORDINATOR;
}

int kcl_cluster_backoff(kcl_cluster_t *c, int *backoff_ms) {
    int step = *backoff_ms > 0 ? *backoff_ms : BACKOFF_FIRST_MS;

    if (c->deadline_ms - kcl_now_ms() <= step) return -1;
    struct timespec ts = {step / 1000, (long)(step % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    *backoff_ms = step * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : step * 2;
    return 0;
}

/* One FindCoordinator to any broker: KCL_OK with *kafka_error set by the
 * answer (and the coordinator learnt when there is no error). */
static int find_once(kcl_cluster_t *c, const char *group, int32_t *id, int16_t *kafka_error, kcl_error_t *err) {
    kp_findcoordinator_request_t req = {kp_str_c(group), KP_COORDINATOR_GROUP};
    kp_findcoordinator_response_t resp;
    int32_t from = -1;
    kcl_answer_t a;
    kp_writer_t w;

    kp_writer_init(&w);
    kp_findcoordinator_request_encode(&w, FINDCOORDINATOR_VERSION, &req);
    int rc = kcl_cluster_call_any(c, KP_API_FIND_COORDINATOR, FINDCOORDINATOR_VERSION, KP_FINDCOORDINATOR_FLEX_FROM,
                                  &w, &a, &from, err);
    kp_writer_free(&w);
    if (rc != KCL_OK) return rc;
    if (kp_findcoordinator_response_decode(&a.body, FINDCOORDINATOR_VERSION, &resp) != 0)
        rc = kcl_cluster_undecodable(c, from, KP_API_FIND_COORDINATOR, err);
    else if ((*kafka_error = resp.error_code) == KP_ERR_NONE)
        rc = learn_broker(c, resp.node_id, resp.host, resp.port, err);
    *id = resp.node_id;
    kcl_answer_free(&a);
    return rc;
}

int kcl_cluster_coordinator(kcl_cluster_t *c, const char *group, int32_t *id, kcl_error_t *err) {
    int backoff = 0;

    for (;;) {
        int16_t kafka_error = KP_ERR_NONE;
        int rc = find_once(c, group, id, &kafka_error, err);
        if (rc != KCL_OK) return rc;
        if (kafka_error == KP_ERR_NONE) return KCL_OK;
        if (!kcl_coordinator_retriable(kafka_error))
            return kcl_fail_kafka(err, kafka_error, "FindCoordinator for group '%s' failed", group);
        if (kcl_cluster_backoff(c, &backoff) < 0)
            return kcl_fail_kafka(err, kafka_error, "no coordinator for group '%s' within %d ms", group,
                                  c->timeout_ms);
    }
}
