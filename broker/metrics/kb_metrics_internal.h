/*
 * kb_metrics_internal.h - the parts of the /metrics answer kept in files of
 * their own, for kb_metrics.c's render().
 */
#ifndef KB_METRICS_INTERNAL_H
#define KB_METRICS_INTERNAL_H

struct evbuffer;
typedef struct kb_coordinator kb_coordinator_t;
typedef struct kb_replicas kb_replicas_t;

/* Consumer group offsets, lag and members under kafka_exporter's names
 * (kb_metrics_groups.c); nothing without a coordinator. */
void kb_metrics_render_groups(kb_coordinator_t *c, kb_replicas_t *replicas, struct evbuffer *out);

#endif
