/*
 * kb_capacity.c - partition replicas per broker against the budget
 * (kb_capacity.h).
 *
 * The counts are a sorted array of (broker, replicas): a cluster has few
 * brokers, and building it once per operation costs one sort of every
 * replica id in the cache, a few milliseconds for a hundred thousand.
 */
#include "broker/admin/kb_capacity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int id_cmp(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The index of broker in c->v, or where it would go (*found false). */
static size_t find(const kb_capacity_t *c, int32_t broker, bool *found) {
    size_t lo = 0, hi = c->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->v[mid].broker < broker) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < c->n && c->v[lo].broker == broker;
    return lo;
}

/* Adds k replicas to broker's count (inserting it); -1 when out of memory. */
static int add(kb_capacity_t *c, int32_t broker, uint64_t k) {
    bool found;
    size_t i = find(c, broker, &found);

    if (found) {
        c->v[i].replicas += k;
        return 0;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        kb_capacity_count_t *v = realloc(c->v, cap * sizeof(*v));
        if (!v) return -1;
        c->v = v;
        c->cap = cap;
    }
    memmove(&c->v[i + 1], &c->v[i], (c->n - i) * sizeof(*c->v));
    c->v[i] = (kb_capacity_count_t){broker, k};
    c->n++;
    return 0;
}

/* Counts a sorted list of ids, run by run. */
static int add_sorted(kb_capacity_t *c, const int32_t *ids, size_t n) {
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && ids[j] == ids[i]; j++) continue;
        if (add(c, ids[i], j - i) != 0) return -1;
    }
    return 0;
}

uint64_t kb_capacity_count(const kb_capacity_t *c, int32_t broker) {
    bool found;
    size_t i = find(c, broker, &found);
    return found ? c->v[i].replicas : 0;
}

static bool unbounded(const kb_capacity_t *c) { return !c->budget || c->budget->partitions == KB_FD_UNLIMITED; }

/* Every replica id of the view's topics (ids NULL: only counts them). */
static size_t view_ids(const kc_view_t *v, int32_t *ids) {
    size_t k = 0;

    for (int t = 0; t < kc_view_topic_count(v); t++) {
        const kc_topic_t *topic = kc_view_topic_at(v, t);
        for (int p = 0; p < topic->n_partitions; p++)
            for (int r = 0; r < topic->partitions[p].n_replicas; r++, k++)
                if (ids) ids[k] = topic->partitions[p].replicas[r];
    }
    return k;
}

/* The same of the metadata cache's topics. */
static size_t cache_ids(const kb_metadata_t *md, int32_t *ids) {
    size_t k = 0;

    for (int t = 0; t < kb_metadata_topic_count(md); t++) {
        const kb_metadata_topic_t *topic = kb_metadata_topic_at(md, t);
        for (int p = 0; p < topic->n_partitions; p++)
            for (int r = 0; r < topic->partitions[p].n_replicas; r++, k++)
                if (ids) ids[k] = topic->partitions[p].replicas[r];
    }
    return k;
}

int kb_capacity_init(kb_capacity_t *c, const kc_view_t *view, const kb_metadata_t *md,
                     const kb_fd_budget_t *budget) {
    size_t total;
    int32_t *ids;
    int rc;

    *c = (kb_capacity_t){.budget = budget};
    if (unbounded(c) || (!view && !md)) return 0;
    total = view ? view_ids(view, NULL) : cache_ids(md, NULL);
    if (!(ids = malloc((total + 1) * sizeof(*ids)))) return -1;
    if (view) view_ids(view, ids);
    else cache_ids(md, ids);
    qsort(ids, total, sizeof(*ids), id_cmp);
    rc = add_sorted(c, ids, total);
    free(ids);
    return rc;
}

void kb_capacity_clear(kb_capacity_t *c) {
    free(c->v);
    *c = (kb_capacity_t){0};
}

/* The replica ids of parts, sorted (malloc'd, *n of them). */
static int32_t *sorted_ids(const kc_partition_t *parts, int n_parts, size_t *n) {
    size_t total = 0, k = 0;
    int32_t *ids;

    for (int p = 0; p < n_parts; p++) total += (size_t)(parts[p].n_replicas > 0 ? parts[p].n_replicas : 0);
    if (!(ids = malloc((total + 1) * sizeof(*ids)))) return NULL;
    for (int p = 0; p < n_parts; p++)
        for (int r = 0; r < parts[p].n_replicas; r++) ids[k++] = parts[p].replicas[r];
    qsort(ids, k, sizeof(*ids), id_cmp);
    *n = k;
    return ids;
}

/* The broker that would pass the budget by the most, or -1 with none:
 * *now and *more are its count and what ids add to it. */
static int32_t worst_broker(const kb_capacity_t *c, const int32_t *ids, size_t n, uint64_t *now, uint64_t *more) {
    uint64_t limit = c->budget->partitions, worst = 0;
    int32_t who = -1;

    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && ids[j] == ids[i]; j++) continue;
        uint64_t have = kb_capacity_count(c, ids[i]), total = have + (j - i);
        if (total > limit && total - limit > worst) {
            worst = total - limit;
            who = ids[i];
            *now = have;
            *more = j - i;
        }
    }
    return who;
}

static void refusal(const kb_capacity_t *c, const char *topic, int32_t broker, uint64_t now, uint64_t more,
                    char *why, size_t whylen) {
    char explain[256];

    snprintf(why, whylen,
             "Topic '%s' cannot be placed: broker %d would hold %llu partition replicas (%llu now, %llu more), but "
             "a broker can hold %llu here, because %s; %s, add brokers, or ask for fewer partitions",
             topic, (int)broker, (unsigned long long)(now + more), (unsigned long long)now,
             (unsigned long long)more, (unsigned long long)c->budget->partitions,
             kb_fd_budget_explain(c->budget, explain, sizeof(explain)), kb_fd_budget_fix(c->budget));
}

int kb_capacity_take(kb_capacity_t *c, const char *topic, const kc_partition_t *parts, int n,
                     kb_capacity_ticket_t *ticket, char *why, size_t whylen) {
    uint64_t now = 0, more = 0;
    size_t n_ids = 0;
    int32_t *ids, who;

    if (ticket) *ticket = (kb_capacity_ticket_t){0};
    if (unbounded(c) || n <= 0) return 0;
    if (!(ids = sorted_ids(parts, n, &n_ids))) return -2;
    if ((who = worst_broker(c, ids, n_ids, &now, &more)) >= 0) {
        refusal(c, topic, who, now, more, why, whylen);
        free(ids);
        return -1;
    }
    if (add_sorted(c, ids, n_ids) != 0) {
        free(ids);
        return -2;
    }
    if (ticket) *ticket = (kb_capacity_ticket_t){ids, n_ids};
    else free(ids);
    return 0;
}

void kb_capacity_give_back(kb_capacity_t *c, kb_capacity_ticket_t *ticket) {
    for (size_t i = 0; i < ticket->n; i++) {
        bool found;
        size_t at = find(c, ticket->brokers[i], &found);
        if (found && c->v[at].replicas > 0) c->v[at].replicas--;
    }
    kb_capacity_ticket_clear(ticket);
}

void kb_capacity_ticket_clear(kb_capacity_ticket_t *ticket) {
    free(ticket->brokers);
    *ticket = (kb_capacity_ticket_t){0};
}
