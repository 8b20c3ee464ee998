/*
 * kcl_list_groups.c - every group of the cluster (kcl_list_groups in
 * kcl_groups.h), the way kafka-consumer-groups.sh --list finds them: a
 * coordinator lists only the groups of the __consumer_offsets partitions
 * it leads, so ListGroups goes to every broker Metadata names.  The broker
 * that lists a group is its coordinator, so the states (--state) are asked
 * of that same broker, in one DescribeGroups per broker.
 *
 * Versions: ListGroups v2 and DescribeGroups v4 (Kafka 2.4 and later,
 * kbroker).
 */
#include <stdlib.h>
#include <string.h>

#include "client/kcl_cluster.h"
#include "client/kcl_groups.h"
#include "proto/kp_groupadmin.h"
#include "proto/kp_types.h"

#define LISTGROUPS_VERSION 2
#define DESCRIBEGROUPS_VERSION 4

typedef struct {
    kcl_group_listing_t *items;
    int n, cap;
} listing_t;

static char *copy_str(kp_str_t s) { return strndup(s.ptr != NULL ? s.ptr : "", s.len > 0 ? (size_t)s.len : 0); }

static int add_group(listing_t *l, const kp_listgroups_response_group_t *g, int32_t coordinator) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        kcl_group_listing_t *grown = realloc(l->items, (size_t)cap * sizeof(*grown));
        if (grown == NULL) return -1;
        l->items = grown;
        l->cap = cap;
    }
    kcl_group_listing_t *item = &l->items[l->n++];
    *item = (kcl_group_listing_t){copy_str(g->group_id), copy_str(g->protocol_type), NULL, coordinator};
    return item->group_id != NULL && item->protocol_type != NULL ? 0 : -1;
}

/* One ListGroups to broker id: KCL_OK with *kafka_error from the answer
 * and, when it is NONE, the groups added. */
static int list_once(kcl_cluster_t *c, int32_t id, listing_t *out, int16_t *kafka_error, kcl_error_t *err) {
    kp_listgroups_response_t resp;
    kcl_answer_t a;
    kp_writer_t w;

    kp_writer_init(&w);
    kp_listgroups_request_encode(&w, LISTGROUPS_VERSION);
    int rc = kcl_cluster_call(c, id, KP_API_LIST_GROUPS, LISTGROUPS_VERSION, KP_LISTGROUPS_FLEX_FROM, &w, &a, err);
    kp_writer_free(&w);
    if (rc != KCL_OK) return rc;
    if (kp_listgroups_response_decode(&a.body, LISTGROUPS_VERSION, &resp) != 0)
        rc = kcl_cluster_undecodable(c, id, KP_API_LIST_GROUPS, err);
    else if ((*kafka_error = resp.error_code) == KP_ERR_NONE)
        for (int32_t i = 0; rc == KCL_OK && i < resp.n_groups; i++)
            if (add_group(out, &resp.groups[i], id) != 0) rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    kp_listgroups_response_clear(&resp);
    kcl_answer_free(&a);
    return rc;
}

/* ListGroups to broker id, again while it is still loading groups. */
static int list_broker(kcl_cluster_t *c, int32_t id, listing_t *out, kcl_error_t *err) {
    int backoff = 0;

    for (;;) {
        int16_t kafka_error = KP_ERR_NONE;
        int rc = list_once(c, id, out, &kafka_error, err);
        if (rc != KCL_OK || kafka_error == KP_ERR_NONE) return rc;
        if (!kcl_coordinator_retriable(kafka_error))
            return kcl_fail_kafka(err, kafka_error, "ListGroups on broker %d failed", (int)id);
        if (kcl_cluster_backoff(c, &backoff) < 0)
            return kcl_fail_kafka(err, kafka_error, "broker %d could not list its groups within %d ms", (int)id,
                                  c->timeout_ms);
    }
}

/* The states of out->items[first..] (all listed by broker id), from one
 * DescribeGroups to it.  A group it describes with an error keeps no state. */
static int describe_states(kcl_cluster_t *c, int32_t id, listing_t *out, int first, kcl_error_t *err) {
    int n = out->n - first;
    kp_str_t *names = calloc((size_t)(n > 0 ? n : 1), sizeof(*names));
    kp_describegroups_request_t req = {n, names, false};
    kp_describegroups_response_t resp;
    kcl_answer_t a;
    kp_writer_t w;
    int rc;

    if (names == NULL) return kcl_fail(err, KCL_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) names[i] = kp_str_c(out->items[first + i].group_id);
    kp_writer_init(&w);
    kp_describegroups_request_encode(&w, DESCRIBEGROUPS_VERSION, &req);
    free(names);
    rc = kcl_cluster_call(c, id, KP_API_DESCRIBE_GROUPS, DESCRIBEGROUPS_VERSION, KP_DESCRIBEGROUPS_FLEX_FROM, &w, &a,
                          err);
    kp_writer_free(&w);
    if (rc != KCL_OK) return rc;
    if (kp_describegroups_response_decode(&a.body, DESCRIBEGROUPS_VERSION, &resp) != 0)
        rc = kcl_cluster_undecodable(c, id, KP_API_DESCRIBE_GROUPS, err);
    for (int32_t g = 0; rc == KCL_OK && g < resp.n_groups; g++) {
        int i = first + g;
        if (resp.groups[g].error_code != KP_ERR_NONE) continue;
        /* The answer keeps the request's order: entry g is group first + g
         * (a search per entry would be quadratic in a broker's groups). */
        if (i >= out->n || !kp_str_eq(resp.groups[g].group_id, out->items[i].group_id) || out->items[i].state)
            continue;
        if ((out->items[i].state = copy_str(resp.groups[g].group_state)) == NULL)
            rc = kcl_fail(err, KCL_ENOMEM, "out of memory");
    }
    kp_describegroups_response_clear(&resp);
    kcl_answer_free(&a);
    return rc;
}

static int by_group_id(const void *a, const void *b) {
    return strcmp(((const kcl_group_listing_t *)a)->group_id, ((const kcl_group_listing_t *)b)->group_id);
}

static void free_listing(kcl_group_listing_t *g) {
    free(g->group_id);
    free(g->protocol_type);
    free(g->state);
}

/* Sorts by id and keeps one entry per group: while a partition moves, two
 * brokers may both list its groups. */
static void sort_unique(listing_t *l) {
    int kept = 0;

    if (l->n > 1) qsort(l->items, (size_t)l->n, sizeof(*l->items), by_group_id);
    for (int i = 0; i < l->n; i++) {
        if (kept > 0 && strcmp(l->items[kept - 1].group_id, l->items[i].group_id) == 0) free_listing(&l->items[i]);
        else l->items[kept++] = l->items[i];
    }
    l->n = kept;
}

int kcl_list_groups(const kcl_options_t *o, bool with_state, kcl_group_listing_t **groups, int *n,
                    kcl_error_t *err) {
    kcl_cluster_t c;
    listing_t out = {0};
    int rc = kcl_cluster_open(&c, o->bootstrap, o->timeout_ms, err);

    /* Metadata's broker list may grow while asking (a coordinator it did
     * not name): only the brokers known now are asked. */
    for (int b = 0, known = c.n_brokers; rc == KCL_OK && b < known; b++) {
        int first = out.n;
        rc = list_broker(&c, c.brokers[b].id, &out, err);
        if (rc == KCL_OK && with_state && out.n > first) rc = describe_states(&c, c.brokers[b].id, &out, first, err);
    }
    kcl_cluster_close(&c);
    if (rc == KCL_OK) sort_unique(&out);
    *groups = out.items;
    *n = out.n;
    return rc;
}

void kcl_group_listings_free(kcl_group_listing_t *groups, int n) {
    for (int i = 0; groups != NULL && i < n; i++) free_listing(&groups[i]);
    free(groups);
}
