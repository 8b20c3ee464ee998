/*
 * kb_metrics.h - broker counters and their Prometheus text endpoint.
 *
 * Counters are plain uint64_t bumped on the event loop (relaxed atomics where
 * another thread writes).  With kbroker.metrics.listener=HOST:PORT set, an
 * evhttp server on the broker's loop answers GET /metrics with every counter
 * in Prometheus text format (kbroker_* names), including the log manager's
 * statistics (fsyncs, recovery truncations), the ZooKeeper session state
 * and whether the broker is registered, and two gauges for the descriptor
 * budget: kbroker_open_fds (counted in /proc/self/fd) and
 * kbroker_open_fds_limit (RLIMIT_NOFILE).
 */
#ifndef KB_METRICS_H
#define KB_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Only the endpoint needs the broker context (kb_broker.h); the handlers
 * that bump counters include this header without it. */
typedef struct kb_broker kb_broker_t;

typedef struct kb_metrics {
    uint64_t requests_total;
    uint64_t produce_batches;
    uint64_t produce_bytes;
    uint64_t fetch_requests;
    uint64_t fetch_record_bytes;   /* record bytes put in Fetch responses */
    uint64_t fetch_sendfile_bytes; /* of those, bytes queued as file segments (sendfile) */
    uint64_t fetch_parked;         /* gauge: Fetch requests waiting for data (long-poll) */
    uint64_t produce_batches_decompressed; /* compressed batches whose records were checked */
    uint64_t produce_decompressed_bytes;   /* bytes those checks decompressed */
    uint64_t produce_batches_recompressed; /* batches rebuilt with their topic's compression.type */
    uint64_t produce_recompressed_bytes;   /* bytes of the rebuilt batches */
} kb_metrics_t;

/* Starts the HTTP endpoint if cfg->metrics_listener is set.  Returns 0, or
 * -1 with a message in err. */
int kb_metrics_start(kb_broker_t *b, char *err, size_t errlen);
void kb_metrics_stop(kb_broker_t *b);

#endif
