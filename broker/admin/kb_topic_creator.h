/*
 * kb_topic_creator.h - topic creation as one service, used by CreateTopics
 * and by Metadata's auto-creation.
 *
 * It judges requested topics against the broker's metadata cache (names,
 * collisions, layout over the live brokers, configs), writes the accepted
 * ones to ZooKeeper through libkcoord (the same planning and znodes as
 * kbroker-admin create-topic), and can keep an operation waiting until the
 * cache shows a leader for every new partition.  It learns of changes by
 * subscribing to the cache, so nothing polls and main.c has no hook for it.
 *
 * Lifetime: main creates one per broker and hands it to the API handlers
 * in their context (kb_api_ctx_t); kb_topic_creator_shutdown() answers
 * every waiting operation (REQUEST_TIMED_OUT) while answers can still go
 * out, and kb_topic_creator_free() does so again for anything parked since
 * and releases the service.  An operation outlives its answer while its writes
 * are in flight (they hold references), never the other way round, so the
 * session may be freed after the service.
 */
#ifndef KB_TOPIC_CREATOR_H
#define KB_TOPIC_CREATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/admin/kb_admin_op.h"
#include "broker/metadata/kb_metadata.h"
#include "common/kb_fd_budget.h"
#include "proto/kp_createtopics.h"

struct event_base;
typedef struct kc_session kc_session_t;
typedef struct kb_topic_creator kb_topic_creator_t;

/* Writes a planned topic's znodes (kc_topic_create's contract: done gets
 * 0, KC_EXISTS or another KC_* code, once, possibly from inside the call). */
typedef void (*kb_topic_write_fn)(kc_session_t *zk, const kc_topic_t *plan, const kc_config_entry_t *configs,
                                  int n_configs, void (*done)(int rc, void *arg), void *arg);

/* What creation uses besides the cache: the loop for timers, the session
 * for writes (NULL without write_topic: every write fails with "no
 * ZooKeeper session"), the counts -1 stands for (num.partitions,
 * default.replication.factor), the writer (NULL: libkcoord's
 * kc_topic_create; unit tests substitute their own), the partition
 * budget every broker is held to (kb_capacity.h; NULL: none) and the
 * cluster view its counts come from (NULL: the cache's). */
typedef struct {
    struct event_base *base;
    kc_session_t *zk;
    kb_metadata_t *metadata;
    int32_t default_partitions;
    int32_t default_replication_factor;
    kb_topic_write_fn write_topic;
    const kb_fd_budget_t *budget;
    const struct kc_view *view;
} kb_topic_creator_deps_t;

kb_topic_creator_t *kb_topic_creator_new(const kb_topic_creator_deps_t *deps);
/* Answers whatever still waits (as kb_topic_creator_shutdown) and frees the
 * service. */
void kb_topic_creator_free(kb_topic_creator_t *tc);
/* Answers every waiting operation: 7 REQUEST_TIMED_OUT for each topic not
 * ready yet.  Safe to call more than once. */
void kb_topic_creator_shutdown(kb_topic_creator_t *tc);
/* Operations waiting for leaders (for tests and stats). */
int kb_topic_creator_waiting(const kb_topic_creator_t *tc);

/* Metadata auto-creation of topic `name` (a legal name the cache does not
 * hold) with the default counts.  Returns the topic's answer: 5
 * LEADER_NOT_AVAILABLE once creation has started, or could not start for a
 * transient reason (clients retry); else the planner's refusal (17 for a
 * '.'/'_' collision, 37, 38), or 44 when it would not fit the brokers'
 * capacity (kb_capacity.h). */
int16_t kb_topic_creator_auto_create(kb_topic_creator_t *tc, const char *name);

/* An internal topic (__consumer_offsets) with exactly these counts and
 * configs: the replication factor is never lowered to the live brokers
 * (group-protocol.md 3.3).  Returns 5 LEADER_NOT_AVAILABLE once the write
 * has started or when it cannot start yet, else the planner's refusal (38
 * INVALID_REPLICATION_FACTOR with too few brokers) or 44 (no room on the
 * brokers) with the reason in why.
 * configs are copied by the write. */
int16_t kb_topic_creator_create_internal(kb_topic_creator_t *tc, const char *name, int32_t partitions, int32_t rf,
                                         const kc_config_entry_t *configs, int n_configs, char *why,
                                         size_t whylen);

/* ------------------------------------------------------------ CreateTopics */

/* Judges every topic of body (wire-protocol.md 4.6 order) and, unless
 * validate_only, starts writing the accepted ones.  The topic names are
 * borrowed: the request frame must stay valid until the operation is
 * released.  The caller holds the operation until kb_admin_op_release or
 * kb_admin_op_wait (kb_admin_op.h: waiting is for leaders, or timeout_ms,
 * <= 0: the next loop turn, then 7 for every written topic).  NULL when
 * out of memory. */
kb_admin_op_t *kb_topic_creator_start(kb_topic_creator_t *tc, const kp_createtopics_request_t *body);

#endif
