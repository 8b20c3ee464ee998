/*
 * kcl_group_offsets.c - committed offsets and log ends (see
 * kcl_group_offsets.h).
 *
 * Versions: OffsetFetch v5 (v2 is the first that can ask for every
 * partition with a null topic array; v5 is kbroker's highest) and
 * ListOffsets v2, READ_UNCOMMITTED as Kafka's admin client asks, so the
 * log end is the leader's high watermark: what a consumer could read.
 */
#include "client/kcl_group_offsets.h"

#include <stdlib.h>
#include <string.h>

#include "proto/kp_listoffsets.h"
#include "proto/kp_offsets.h"
#include "proto/kp_types.h"

#define OFFSETFETCH_VERSION 5
#define LISTOFFSETS_VERSION 2
/* The replica id of an ordinary consumer in ListOffsets. */
#define CONSUMER_REPLICA_ID (-1)

/* ------------------------------------------------------------- committed */

static int add_committed(kcl_committed_t **out, int *n, kp_str_t topic, const kp_offsetfetch_response_partition_t *p) {
    kcl_committed_t *grown = realloc(*out, (size_t)(*n + 1) * sizeof(*grown));

    if (grown == NULL) return -1;
    *out = grown;
    grown[*n] = (kcl_committed_t){strndup(topic.ptr != NULL ? topic.ptr : "", topic.len > 0 ? (size_t)topic.len : 0),
                                  p->partition_index, p->committed_offset};
    return grown[(*n)++].topic != NULL ? 0 : -1;
}

static int committed_from(const kp_offsetfetch_response_t *resp, kcl_committed_t **out, int *n) {
    for (int32_t t = 0; t < resp->n_topics; t++)
        for (int32_t p = 0; p < resp->topics[t].n_partitions; p++) {
            const kp_offsetfetch_response_partition_t *part = &resp->topics[t].partitions[p];
            if (part->error_code != KP_ERR_NONE || part->committed_offset < 0) continue;
            if (add_committed(out, n, resp->topics[t].name, part) != 0) return -1;
        }
    return 0;
}

int kcl_fetch_committed(kcl_cluster_t *c, int32_t coordinator, const char *group, kcl_committed_t **committed,
                        int *n, int16_t *kafka_error, kcl_error_t *err) {
    kp_offsetfetch_request_t req = {kp_str_c(group), true, 0, NULL};
    kp_offsetfetch_response_t resp;
    kcl_answer_t a;
    kp_writer_t w;

    *committed = NULL;
    *n = 0;
    kp_writer_init(&w);
    kp_offsetfetch_request_encode(&w, OFFSETFETCH_VERSION, &req);
    int rc = kcl_cluster_call(c, coordinator, KP_API_OFFSET_FETCH, OFFSETFETCH_VERSION, KP_OFFSETFETCH_FLEX_FROM, &w,
                              &a, err);
    kp_writer_free(&w);
    if (rc != KCL_OK) return rc;
    if (kp_offsetfetch_response_decode(&a.body, OFFSETFETCH_VERSION, &resp) != 0)
        rc = kcl_cluster_undecodable(c, coordinator, KP_API_OFFSET_FETCH, err);
    else if ((*kafka_error = resp.error_code) == KP_ERR_NONE && committed_from(&resp, committed, n) != 0)
        rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    kp_offsetfetch_response_clear(&resp);
    kcl_answer_free(&a);
    return rc;
}

void kcl_committed_free(kcl_committed_t *committed, int n) {
    for (int i = 0; committed != NULL && i < n; i++) free(committed[i].topic);
    free(committed);
}

/* --------------------------------------------------------------- log ends */

/* The distinct topic names of rows (sorted by topic), borrowed. */
static char **distinct_topics(const kcl_partition_row_t *rows, int n, int *n_topics) {
    char **names = calloc((size_t)(n > 0 ? n : 1), sizeof(*names));

    *n_topics = 0;
    for (int i = 0; names != NULL && i < n; i++)
        if (*n_topics == 0 || strcmp(names[*n_topics - 1], rows[i].topic) != 0) names[(*n_topics)++] = rows[i].topic;
    return names;
}

static int32_t leader_of(const kcl_topic_t *topics, int n_topics, const kcl_partition_row_t *row) {
    for (int t = 0; t < n_topics; t++)
        if (strcmp(topics[t].name, row->topic) == 0)
            return topics[t].error_code == KP_ERR_NONE && row->partition >= 0 && row->partition < topics[t].n_partitions
                       ? topics[t].leaders[row->partition]
                       : -1;
    return -1;
}

/* The ListOffsets request for the rows whose leader[i] is `leader`: one
 * request topic per run of equal topic names (rows are sorted by topic). */
static int encode_latest(const kcl_partition_row_t *rows, const int32_t *leader, int n, int32_t id, kp_writer_t *w) {
    kp_listoffsets_request_topic_t *topics = calloc((size_t)(n > 0 ? n : 1), sizeof(*topics));
    kp_listoffsets_request_partition_t *parts = calloc((size_t)(n > 0 ? n : 1), sizeof(*parts));
    kp_listoffsets_request_t req = {CONSUMER_REPLICA_ID, 0, 0, topics};
    int n_parts = 0, rc = -1;

    if (topics != NULL && parts != NULL) {
        for (int i = 0; i < n; i++) {
            if (leader[i] != id) continue;
            if (req.n_topics == 0 || !kp_str_eq(topics[req.n_topics - 1].name, rows[i].topic))
                topics[req.n_topics++] = (kp_listoffsets_request_topic_t){kp_str_c(rows[i].topic), 0, &parts[n_parts]};
            parts[n_parts++] = (kp_listoffsets_request_partition_t){rows[i].partition, -1, KP_LISTOFFSETS_LATEST, 1};
            topics[req.n_topics - 1].n_partitions++;
        }
        rc = kp_listoffsets_request_encode(w, LISTOFFSETS_VERSION, &req);
    }
    free(topics);
    free(parts);
    return rc;
}

static void apply_latest(const kp_listoffsets_response_t *resp, kcl_partition_row_t *rows, const int32_t *leader,
                         int n, int32_t id) {
    for (int32_t t = 0; t < resp->n_topics; t++)
        for (int32_t p = 0; p < resp->topics[t].n_partitions; p++) {
            const kp_listoffsets_response_partition_t *part = &resp->topics[t].partitions[p];
            if (part->error_code != KP_ERR_NONE || part->offset < 0) continue;
            for (int i = 0; i < n; i++)
                if (leader[i] == id && rows[i].partition == part->partition_index &&
                    kp_str_eq(resp->topics[t].name, rows[i].topic))
                    rows[i].log_end = part->offset;
        }
}

/* One ListOffsets to leader id for its rows. */
static int ask_leader(kcl_cluster_t *c, int32_t id, kcl_partition_row_t *rows, const int32_t *leader, int n,
                      kcl_error_t *err) {
    kp_listoffsets_response_t resp;
    kcl_answer_t a;
    kp_writer_t w;
    int rc;

    kp_writer_init(&w);
    if (encode_latest(rows, leader, n, id, &w) != 0) rc = kcl_fail(err, KCL_ENOMEM, "cannot encode ListOffsets");
    else rc = kcl_cluster_call(c, id, KP_API_LIST_OFFSETS, LISTOFFSETS_VERSION, KP_LISTOFFSETS_FLEX_FROM, &w, &a, err);
    kp_writer_free(&w);
    if (rc != KCL_OK) return rc;
    if (kp_listoffsets_response_decode(&a.body, LISTOFFSETS_VERSION, &resp) != 0)
        rc = kcl_cluster_undecodable(c, id, KP_API_LIST_OFFSETS, err);
    else
        apply_latest(&resp, rows, leader, n, id);
    kp_listoffsets_response_clear(&resp);
    kcl_answer_free(&a);
    return rc;
}

/* Asks each distinct leader once, in the order rows first name them. */
static int ask_leaders(kcl_cluster_t *c, kcl_partition_row_t *rows, const int32_t *leader, int n, kcl_error_t *err) {
    int rc = KCL_OK;

    for (int i = 0; rc == KCL_OK && i < n; i++) {
        bool asked = leader[i] < 0;
        for (int j = 0; !asked && j < i; j++) asked = leader[j] == leader[i];
        if (!asked) rc = ask_leader(c, leader[i], rows, leader, n, err);
    }
    return rc;
}

int kcl_fetch_log_ends(kcl_cluster_t *c, kcl_partition_row_t *rows, int n, kcl_error_t *err) {
    int n_topics = 0;
    char **names = distinct_topics(rows, n, &n_topics);
    int32_t *leader = calloc((size_t)(n > 0 ? n : 1), sizeof(*leader));
    kcl_topic_t *topics = NULL;
    int rc;

    for (int i = 0; i < n; i++) rows[i].log_end = KCL_OFFSET_UNKNOWN;
    if (names == NULL || leader == NULL) rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    else if (n_topics == 0) rc = KCL_OK;
    else rc = kcl_cluster_topics(c, names, n_topics, &topics, err);
    for (int i = 0; rc == KCL_OK && i < n; i++) leader[i] = leader_of(topics, n_topics, &rows[i]);
    if (rc == KCL_OK) rc = ask_leaders(c, rows, leader, n, err);
    kcl_topics_free(topics, n_topics);
    free(names);
    free(leader);
    return rc;
}
