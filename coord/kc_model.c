/*
 * kc_model.c - lifetime helpers for the plain C values of kc_model.h.
 *
 * The model structs are deliberately dumb: the JSON codecs fill them, the
 * cluster view stores them, and everything they point to is owned by the
 * struct itself.  This file holds the only code that frees or deep-copies
 * them, so the ownership rule ("cleared means all zeros, reusable") lives in
 * one place.
 */
#include "coord/kc_model.h"

#include <stdlib.h>
#include <string.h>

/* strcmp that treats two NULLs as equal and NULL as different from any string. */
static bool str_equal(const char *a, const char *b) {
    if (a == NULL || b == NULL) return a == b;
    return strcmp(a, b) == 0;
}

/* strdup that passes NULL through; *ok is cleared when the copy fails. */
static char *dup_or_null(const char *s, bool *ok) {
    if (s == NULL) return NULL;
    char *copy = strdup(s);
    if (copy == NULL) *ok = false;
    return copy;
}

void kc_endpoint_clear(kc_endpoint_t *e) {
    free(e->listener);
    free(e->host);
    free(e->security_protocol);
    memset(e, 0, sizeof(*e));
}

void kc_broker_info_clear(kc_broker_info_t *b) {
    for (int i = 0; i < b->n_endpoints; i++) kc_endpoint_clear(&b->endpoints[i]);
    free(b->endpoints);
    free(b->host);
    free(b->rack);
    free(b->rpc_host);
    memset(b, 0, sizeof(*b));
    b->rpc_port = -1;
}

void kc_partition_state_clear(kc_partition_state_t *s) {
    free(s->isr);
    memset(s, 0, sizeof(*s));
}

void kc_partition_clear(kc_partition_t *p) {
    free(p->replicas);
    free(p->adding);
    free(p->removing);
    kc_partition_state_clear(&p->state);
    memset(p, 0, sizeof(*p));
}

void kc_topic_clear(kc_topic_t *t) {
    for (int i = 0; i < t->n_partitions; i++) kc_partition_clear(&t->partitions[i]);
    free(t->partitions);
    free(t->name);
    kc_config_entries_free(t->configs, t->n_configs);
    memset(t, 0, sizeof(*t));
}

void kc_config_entries_free(kc_config_entry_t *entries, int n) {
    if (entries == NULL) return;
    for (int i = 0; i < n; i++) {
        free(entries[i].key);
        free(entries[i].value);
    }
    free(entries);
}

static bool endpoint_copy(kc_endpoint_t *dst, const kc_endpoint_t *src) {
    bool ok = true;
    dst->listener = dup_or_null(src->listener, &ok);
    dst->host = dup_or_null(src->host, &ok);
    dst->port = src->port;
    dst->security_protocol = dup_or_null(src->security_protocol, &ok);
    return ok;
}

int kc_broker_info_copy(kc_broker_info_t *dst, const kc_broker_info_t *src) {
    bool ok = true;

    memset(dst, 0, sizeof(*dst));
    dst->id = src->id;
    dst->czxid = src->czxid;
    dst->port = src->port;
    dst->jmx_port = src->jmx_port;
    dst->timestamp_ms = src->timestamp_ms;
    dst->host = dup_or_null(src->host, &ok);
    dst->rack = dup_or_null(src->rack, &ok);
    dst->rpc_host = dup_or_null(src->rpc_host, &ok);
    dst->rpc_port = src->rpc_port;
    if (ok && src->n_endpoints > 0) {
        dst->endpoints = calloc((size_t)src->n_endpoints, sizeof(*dst->endpoints));
        if (dst->endpoints == NULL) ok = false;
    }
    /* n_endpoints grows one entry at a time so a failed copy clears only
     * what was actually filled. */
    for (int i = 0; ok && i < src->n_endpoints; i++) {
        dst->n_endpoints = i + 1;
        ok = endpoint_copy(&dst->endpoints[i], &src->endpoints[i]);
    }
    if (!ok) kc_broker_info_clear(dst);
    return ok ? 0 : -1;
}

int kc_partition_state_copy(kc_partition_state_t *dst, const kc_partition_state_t *src) {
    *dst = *src;
    dst->isr = NULL;
    if (src->n_isr > 0) {
        dst->isr = malloc((size_t)src->n_isr * sizeof(*dst->isr));
        if (dst->isr == NULL) {
            kc_partition_state_clear(dst);
            return -1;
        }
        memcpy(dst->isr, src->isr, (size_t)src->n_isr * sizeof(*dst->isr));
    }
    return 0;
}

bool kc_partition_state_same(const kc_partition_state_t *a, const kc_partition_state_t *b) {
    return a->leader == b->leader && a->leader_epoch == b->leader_epoch &&
           a->controller_epoch == b->controller_epoch && a->n_isr == b->n_isr &&
           (a->n_isr == 0 || memcmp(a->isr, b->isr, (size_t)a->n_isr * sizeof(*a->isr)) == 0);
}

const char *kc_broker_rpc_endpoint(const kc_broker_info_t *b, int32_t *port) {
    if (!b->rpc_host || b->rpc_port <= 0) return NULL;
    *port = b->rpc_port;
    return b->rpc_host;
}

const kc_endpoint_t *kc_broker_endpoint(const kc_broker_info_t *b, const char *name) {
    for (int i = 0; i < b->n_endpoints; i++)
        if (str_equal(b->endpoints[i].listener, name)) return &b->endpoints[i];
    return NULL;
}

static bool endpoint_equal(const kc_endpoint_t *a, const kc_endpoint_t *b) {
    return a->port == b->port && str_equal(a->listener, b->listener) &&
           str_equal(a->host, b->host) && str_equal(a->security_protocol, b->security_protocol);
}

/* Listener names are unique within one registration, so equal counts plus
 * "every endpoint of a has an equal twin in b" is set equality. */
bool kc_broker_same_endpoints(const kc_broker_info_t *a, const kc_broker_info_t *b) {
    if (a->n_endpoints != b->n_endpoints) return false;
    for (int i = 0; i < a->n_endpoints; i++) {
        const kc_endpoint_t *twin = kc_broker_endpoint(b, a->endpoints[i].listener);
        if (twin == NULL || !endpoint_equal(&a->endpoints[i], twin)) return false;
    }
    return true;
}

bool kc_int32_contains(const int32_t *v, int n, int32_t x) {
    for (int i = 0; i < n; i++)
        if (v[i] == x) return true;
    return false;
}

bool kc_partition_reassigning(const kc_partition_t *p) { return p->n_adding > 0 || p->n_removing > 0; }
