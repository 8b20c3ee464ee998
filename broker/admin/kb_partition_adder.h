/*
 * kb_partition_adder.h - adding partitions to topics as one service, for
 * the CreatePartitions API (wire-protocol.md 4.8).
 *
 * For each requested topic it runs libkcoord's kc_topic_grow (the judging,
 * Kafka's placement and the conditional rewrite of /brokers/topics/T that
 * kbroker-admin alter-topic runs too), then keeps the operation waiting
 * until the metadata cache shows a leader for every new partition, as
 * Kafka's DelayedCreatePartitions does.  It learns of changes by
 * subscribing to the cache, so nothing polls.
 *
 * Lifetime, as the topic-creation service's (kb_topic_creator.h): main
 * creates one per broker and hands it to the handlers in kb_api_ctx_t;
 * kb_partition_adder_shutdown() answers every waiting operation while
 * answers can still go out, kb_partition_adder_free() does so again and
 * releases the service.  An operation outlives its answer while ZooKeeper
 * rounds are in flight (they hold references), so the session may be freed
 * after the service: those rounds complete into an answered operation.
 */
#ifndef KB_PARTITION_ADDER_H
#define KB_PARTITION_ADDER_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/admin/kb_admin_op.h"
#include "broker/metadata/kb_metadata.h"
#include "common/kb_fd_budget.h"
#include "proto/kp_createpartitions.h"

struct event_base;
struct kc_grow_request;
struct kc_grow_result;
typedef struct kc_session kc_session_t;
typedef struct kb_partition_adder kb_partition_adder_t;

/* kc_topic_grow's signature and contract (coord/kc_topic_grow.h: done
 * once, possibly from inside the call), named without its header, which
 * the API handlers must not reach. */
typedef void (*kb_grow_fn)(kc_session_t *zk, const struct kc_grow_request *req,
                           void (*done)(const struct kc_grow_result *r, void *arg), void *arg);

/* The loop for timers, the session (NULL without `grow`: every topic is
 * answered "no ZooKeeper session"), the cache, the grower (NULL:
 * kc_topic_grow; unit tests substitute their own), the partition budget
 * every broker is held to (kb_capacity.h; NULL: none) and the cluster view
 * its counts come from (NULL: the cache's). */
typedef struct {
    struct event_base *base;
    kc_session_t *zk;
    kb_metadata_t *metadata;
    kb_grow_fn grow;
    const kb_fd_budget_t *budget;
    const struct kc_view *view;
} kb_partition_adder_deps_t;

kb_partition_adder_t *kb_partition_adder_new(const kb_partition_adder_deps_t *deps);
void kb_partition_adder_free(kb_partition_adder_t *pa);
/* Answers every waiting operation (7 REQUEST_TIMED_OUT for each topic not
 * settled yet).  Safe to call more than once. */
void kb_partition_adder_shutdown(kb_partition_adder_t *pa);
/* Operations waiting (for tests and stats). */
int kb_partition_adder_waiting(const kb_partition_adder_t *pa);

/* Starts the topics of body: a name listed twice is answered 42 for each
 * entry, every other topic goes to ZooKeeper (validate_only: judged and
 * planned, nothing written), a few at a time.  Takes over body's arrays
 * (body is left cleared); names stay borrowed, so the request frame must
 * stay valid until the operation is released.  The caller holds the
 * operation until kb_admin_op_release or kb_admin_op_wait.  NULL when out
 * of memory (body is then still the caller's).
 *
 * Waiting (kb_admin_op_wait): a topic settles when ZooKeeper refuses it
 * (its error), when the brokers' capacity does (44, kb_capacity.h), when
 * validate_only judged it (0), or, once its partitions
 * were added, when each new partition has a leader in the cache (0).
 * After timeout_ms (<= 0: the next loop turn) a topic whose partitions
 * were added but lack leaders is answered 7 (Kafka's timeout); one still
 * with ZooKeeper is answered when ZooKeeper answers, which the session
 * bounds (a lost connection fails its requests).
 */
kb_admin_op_t *kb_partition_adder_start(kb_partition_adder_t *pa, kp_createpartitions_request_t *body);

#endif
