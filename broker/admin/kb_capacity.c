/*
 * kb_capacity.c - partition replicas per broker against the budget
 * (kb_capacity.h).
 *
 * The counts are an array of (broker, replicas) sorted by broker: a
 * cluster has few brokers, so counting a replica is a short binary search,
 * and a change is judged by counting its replicas the same way first.
 */
#include "broker/admin/kb_capacity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Counts the replicas of n partitions. */
static int add_lists(kb_capacity_t *c, const kc_partition_t *parts, int n) {
    for (int p = 0; p < n; p++)
        for (int r = 0; r < parts[p].n_replicas; r++)
            if (add(c, parts[p].replicas[r], 1) != 0) return -1;
    return 0;
}

uint64_t kb_capacity_count(const kb_capacity_t *c, int32_t broker) {
    bool found;
    size_t i = find(c, broker, &found);
    return found ? c->v[i].replicas : 0;
}

static bool unbounded(const kb_capacity_t *c) { return !c->budget || c->budget->partitions == KB_FD_UNLIMITED; }

static int count_view(kb_capacity_t *c, const kc_view_t *v) {
    for (int t = 0; t < kc_view_topic_count(v); t++) {
        const kc_topic_t *topic = kc_view_topic_at(v, t);
        if (add_lists(c, topic->partitions, topic->n_partitions) != 0) return -1;
    }
    return 0;
}

static int count_cache(kb_capacity_t *c, const kb_metadata_t *md) {
    for (int t = 0; t < kb_metadata_topic_count(md); t++) {
        const kb_metadata_topic_t *topic = kb_metadata_topic_at(md, t);
        for (int p = 0; p < topic->n_partitions; p++)
            for (int r = 0; r < topic->partitions[p].n_replicas; r++)
                if (add(c, topic->partitions[p].replicas[r], 1) != 0) return -1;
    }
    return 0;
}

/* Each replica costs a binary search over the brokers (a handful), so a
 * count over every partition of a large cluster stays well under a
 * millisecond per ten thousand. */
int kb_capacity_init(kb_capacity_t *c, const kc_view_t *view, const kb_metadata_t *md,
                     const kb_fd_budget_t *budget) {
    *c = (kb_capacity_t){.budget = budget};
    if (unbounded(c)) return 0;
    if (view) return count_view(c, view);
    return md ? count_cache(c, md) : 0;
}

void kb_capacity_clear(kb_capacity_t *c) {
    free(c->v);
    *c = (kb_capacity_t){0};
}

/* The broker that would pass the budget by the most with `more`'s counts
 * added, or -1 with none: *now and *added are its count and what `more`
 * adds to it. */
static int32_t worst_broker(const kb_capacity_t *c, const kb_capacity_t *more, uint64_t *now, uint64_t *added) {
    uint64_t limit = c->budget->partitions, worst = 0;
    int32_t who = -1;

    for (size_t i = 0; i < more->n; i++) {
        uint64_t have = kb_capacity_count(c, more->v[i].broker), total = have + more->v[i].replicas;
        if (total > limit && total - limit > worst) {
            worst = total - limit;
            who = more->v[i].broker;
            *now = have;
            *added = more->v[i].replicas;
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
    kb_capacity_t more = {.budget = c->budget};
    uint64_t now = 0, added = 0;
    int32_t who;
    int rc = 0;

    if (ticket) *ticket = (kb_capacity_ticket_t){0};
    if (unbounded(c) || n <= 0) return 0;
    if (add_lists(&more, parts, n) != 0) rc = -2;
    else if ((who = worst_broker(c, &more, &now, &added)) >= 0) rc = -1;
    for (size_t i = 0; rc == 0 && i < more.n; i++)
        if (add(c, more.v[i].broker, more.v[i].replicas) != 0) rc = -2; /* counted so far stays: errs high */
    if (rc == -1) refusal(c, topic, who, now, added, why, whylen);
    if (rc == 0 && ticket) {
        *ticket = (kb_capacity_ticket_t){more.v, more.n};
        more.v = NULL;
    }
    free(more.v);
    return rc;
}

void kb_capacity_give_back(kb_capacity_t *c, kb_capacity_ticket_t *ticket) {
    for (size_t i = 0; i < ticket->n; i++) {
        bool found;
        size_t at = find(c, ticket->counts[i].broker, &found);
        if (!found) continue;
        uint64_t k = ticket->counts[i].replicas;
        c->v[at].replicas = c->v[at].replicas > k ? c->v[at].replicas - k : 0;
    }
    kb_capacity_ticket_clear(ticket);
}

void kb_capacity_ticket_clear(kb_capacity_ticket_t *ticket) {
    free(ticket->counts);
    *ticket = (kb_capacity_ticket_t){0};
}
