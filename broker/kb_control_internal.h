/*
 * kb_control_internal.h - the state behind kb_control_requests.h, shared
 * by its cores (kb_control_requests.c: admission, LeaderAndIsr and
 * StopReplica; kb_control_metadata.c: UpdateMetadata) and their RPC
 * adapters (kb_control_rpc.c), and by nothing else.  The adapters live in
 * a file of their own so that a program using the cores alone (the unit
 * suite) does not link the RPC channel.
 */
#ifndef KB_CONTROL_INTERNAL_H
#define KB_CONTROL_INTERNAL_H

#include <stdbool.h>

#include "broker/kb_control_requests.h"
#include "common/kc_log.h"

/* The kinds of log line a peer of the RPC port can make this module
 * write at will (one per request it sends): each kind goes out at most
 * once per KB_CONTROL_LOG_MS, with the count of those left out, and the
 * rest at DEBUG (kc_log_limited); the stats count every one. */
typedef enum kb_control_log_kind {
    CLOG_NOT_SENDER,
    CLOG_BROKER_EPOCH,
    CLOG_DEPOSED,
    CLOG_NOT_ZK_CONTROLLER,
    CLOG_INVALID,
    CLOG_UNKNOWN_HERE,
    CLOG_TOO_LARGE,
    CLOG_KINDS
} kb_control_log_kind_t;

#define KB_CONTROL_LOG_MS 10000
#define kb_control_log(c, kind, level, ...) \
    kc_log_limited(&(c)->log_limits[kind], KB_CONTROL_LOG_MS, (level), "control", __VA_ARGS__)

struct kb_control {
    kb_control_deps_t deps;
    int32_t controller_epoch;    /* the highest accepted; -1 before any */
    kb_control_stats_t stats;
    /* One request's role updates, reused from request to request up to
     * SCRATCH_KEEP entries (kb_control_requests.c): the update, its
     * outcome, and the index of the request's partition it came from. */
    kb_role_update_t *u;
    kb_role_outcome_t *outcome;
    size_t *from;
    size_t cap;
    kb_rpc_handler_t handlers[3]; /* kb_control_handlers */
    kc_ratelimit_t log_limits[CLOG_KINDS];
};

/* What admission reads of a request: who sent it and its header. */
typedef struct kb_control_header {
    const char *what;         /* the request's kind, for the log */
    int32_t sender;           /* the broker id its connection's Hello named */
    int32_t controller_id;
    int32_t controller_epoch;
    int64_t broker_epoch;
} kb_control_header_t;

/* Admission steps 1 to 4 (kb_control_requests.h): 0, or the request's
 * error code after counting and logging the refusal.  Changes nothing
 * else: a request that fails a later check (a size bound) is refused
 * without raising the controller epoch. */
int16_t kb_control_admit(kb_control_t *c, const kb_control_header_t *h);
/* An admitted request is applied: its controller epoch becomes the
 * highest accepted. */
void kb_control_accept(kb_control_t *c, const kb_control_header_t *h);

/* No topic can have KC_TOPIC_MAX_PARTITIONS partitions (its znode would
 * not fit in ZooKeeper), so an index at or above it is refused before it
 * can size anything. */
bool kb_control_index_possible(int32_t index);
/* A partition a request names: 17 for a name Kafka would refuse, 3 for an
 * impossible index, else 0. */
int16_t kb_control_partition_check(const char *topic, int32_t index);
/* One log line for the n partitions of a request refused one by one for
 * their name or index (a crafted request may hold a hundred thousand):
 * their number and the first. */
void kb_control_log_invalid(kb_control_t *c, const char *what, size_t n, const char *topic, int32_t index);

/* The topic as the view holds it (kb_control_requests.h, "What ZooKeeper
 * holds") when partition `index` of it exists there, else NULL (also
 * without a view). */
const kc_topic_t *kb_control_view_partition(const kb_control_t *c, const char *topic, int32_t index);
/* Counts and logs a whole request refused because n of its partitions
 * are not (yet) in the view, the first being topic/index; returns
 * UNKNOWN_TOPIC_OR_PARTITION, the request's code. */
int16_t kb_control_refuse_unknown(kb_control_t *c, const char *what, size_t n, const char *topic, int32_t index);

#endif
