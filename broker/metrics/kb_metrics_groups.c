/*
 * kb_metrics_groups.c - consumer group lag in /metrics, under the names
 * kafka_exporter gives it, so that existing lag dashboards and alerts work
 * unchanged (they read these series, not kbroker_*):
 *
 *   kafka_consumergroup_current_offset{consumergroup,topic,partition}
 *   kafka_consumergroup_current_offset_sum{consumergroup,topic}
 *   kafka_consumergroup_lag{consumergroup,topic,partition}
 *   kafka_consumergroup_lag_sum{consumergroup,topic}
 *   kafka_consumergroup_members{consumergroup}
 *
 * Each broker reports the groups it coordinates (scrape every broker, as
 * kafka_exporter's users scrape one exporter per cluster).  Lag is the
 * partition's high watermark minus the committed offset, for partitions
 * hosted here (a follower's high watermark trails its leader's by one
 * fetch); a committed offset of a partition not hosted here has a
 * current_offset series but no lag series.  Prometheus wants every sample
 * of one family together, so the offsets are collected and sorted first.
 */
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group/kb_group.h"
#include "broker/metrics/kb_metrics_internal.h"
#include "broker/replica/kb_partition.h"

typedef struct {
    const char *group, *topic; /* the coordinator's: valid during the scrape */
    int32_t partition;
    int64_t offset, lag; /* lag -1: not hosted here */
} group_offset_t;

typedef struct {
    kb_replicas_t *replicas;
    group_offset_t *v;
    size_t n, cap;
    bool failed;
} offsets_t;

static void collect(void *arg, const char *group, const char *topic, int32_t partition, int64_t offset) {
    offsets_t *o = arg;
    kb_partition_t *p = o->replicas ? kb_replicas_get(o->replicas, topic, partition) : NULL;
    int64_t hw = p ? kb_partition_high_watermark(p) : -1;

    if (o->failed) return;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 64;
        group_offset_t *v = realloc(o->v, cap * sizeof(*v));
        if (!v) {
            o->failed = true;
            return;
        }
        o->v = v;
        o->cap = cap;
    }
    /* A committed offset is any int64 a client sent: below 0 it counts as
     * nothing consumed (lag = the high watermark), never as an overflow. */
    int64_t lag = hw < 0 ? -1 : offset < 0 ? hw : hw > offset ? hw - offset : 0;
    o->v[o->n++] = (group_offset_t){group, topic, partition, offset, lag};
}

static int offset_order(const void *a, const void *b) {
    const group_offset_t *x = a, *y = b;
    int c = strcmp(x->group, y->group);
    if (!c) c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* The length of the well-formed UTF-8 sequence at s (n bytes left), or 0
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len = c < 0x80                 ? 1
                 : c >= 0xc2 && c <= 0xdf ? 2
                 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4
                                          : 0;
    unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80, hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;

    if (!len || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf)) return 0;
    return len;
}

/* A label value as Prometheus' text format wants it: \, " and newline
 * escaped, and valid UTF-8 (a scrape with one invalid label is refused
 * whole): a byte that is not is written as an escaped backslash and xNN. */
static void add_label(struct evbuffer *out, const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str);

    for (size_t i = 0, len; i < n; i += len) {
        len = utf8_len(s + i, n - i);
        if (!len) {
            evbuffer_add_printf(out, "\\\\x%02x", s[i]); /* an escaped backslash, then xNN */
            len = 1;
        } else if (s[i] == '\\' || s[i] == '"') {
            evbuffer_add_printf(out, "\\%c", s[i]);
        } else if (s[i] == '\n') {
            evbuffer_add(out, "\\n", 2);
        } else {
            evbuffer_add(out, s + i, len);
        }
    }
}

static void add_series(struct evbuffer *out, const char *name, const group_offset_t *g, bool with_partition,
                       int64_t value) {
    evbuffer_add_printf(out, "%s{consumergroup=\"", name);
    add_label(out, g->group);
    evbuffer_add(out, "\",topic=\"", 9);
    add_label(out, g->topic);
    if (with_partition) evbuffer_add_printf(out, "\",partition=\"%d", (int)g->partition);
    evbuffer_add_printf(out, "\"} %lld\n", (long long)value);
}

static void add_family(struct evbuffer *out, const offsets_t *o, const char *name, const char *help, bool lag,
                       bool sum) {
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (size_t i = 0; i < o->n;) {
        size_t end = i + 1;
        int64_t total = lag ? o->v[i].lag : o->v[i].offset;
        bool known = !lag || o->v[i].lag >= 0;
        if (!sum) {
            if (known) add_series(out, name, &o->v[i], true, total);
            i++;
            continue;
        }
        for (; end < o->n && !strcmp(o->v[end].group, o->v[i].group) && !strcmp(o->v[end].topic, o->v[i].topic);
             end++) {
            int64_t v = lag ? o->v[end].lag : o->v[end].offset;
            known = known && v >= 0;
            if (__builtin_add_overflow(total, v, &total)) total = INT64_MAX; /* client-given offsets */
        }
        if (known) add_series(out, name, &o->v[i], false, total);
        i = end;
    }
}

static void add_members(void *arg, const char *group, int32_t members) {
    struct evbuffer *out = arg;
    evbuffer_add(out, "kafka_consumergroup_members{consumergroup=\"", 43);
    add_label(out, group);
    evbuffer_add_printf(out, "\"} %d\n", (int)members);
}

void kb_metrics_render_groups(kb_coordinator_t *c, kb_replicas_t *replicas, struct evbuffer *out) {
    offsets_t o = {.replicas = replicas};

    if (!c) return;
    kb_coordinator_each_offset(c, collect, &o);
    if (!o.failed) {
        if (o.n) qsort(o.v, o.n, sizeof(*o.v), offset_order);
        add_family(out, &o, "kafka_consumergroup_current_offset",
                   "Committed offset of the group for the partition.", false, false);
        add_family(out, &o, "kafka_consumergroup_current_offset_sum",
                   "Committed offsets of the group summed over the topic's partitions.", false, true);
        add_family(out, &o, "kafka_consumergroup_lag",
                   "High watermark minus committed offset, for partitions hosted by this broker.", true, false);
        add_family(out, &o, "kafka_consumergroup_lag_sum",
                   "Lag summed over the topic's partitions (when all are hosted here).", true, true);
    }
    free(o.v);
    evbuffer_add_printf(out, "# HELP kafka_consumergroup_members Members of the group.\n"
                             "# TYPE kafka_consumergroup_members gauge\n");
    kb_coordinator_each_group(c, add_members, out);
}
