/*
 * kb_capacity.h - the request-time check that no broker is given more
 * partition replicas than it can hold, for CreateTopics, CreatePartitions
 * and auto-creation on the controller.
 *
 * What a broker can hold is its partition budget (common/kb_fd_budget.h):
 * one descriptor per partition log, out of RLIMIT_NOFILE less a reserve,
 * capped by max.broker.partitions.  The controller knows only its own: no
 * Kafka 2.6 znode carries another broker's, and the check must not add
 * one.  So it holds every broker to its own budget, as KIP-578 holds every
 * broker to the cluster-wide max.broker.partitions: brokers of one cluster
 * normally run under the same unit file and limits.  A broker whose limit
 * is lower still protects itself: it refuses, per partition, the logs it
 * cannot hold (broker/replica/kb_roles.h "Budget").
 *
 * Counts come from the cluster view (every topic znode's replica lists, as
 * ZooKeeper holds them; the metadata cache, fed by UpdateMetadata, lags a
 * topic just written by a controller round) at the start of an operation,
 * and grow with each topic the operation accepts, so that one request
 * listing many topics cannot slip past.
 * Refusals are Kafka's POLICY_VIOLATION (44), the code Kafka's own limits
 * on partition counts use, with a message naming the broker, the counts,
 * the limit and the fix.
 */
#ifndef KB_CAPACITY_H
#define KB_CAPACITY_H

#include <stddef.h>
#include <stdint.h>

#include "broker/metadata/kb_metadata.h"
#include "common/kb_fd_budget.h"
#include "coord/kc_model.h"
#include "coord/kc_view.h"

typedef struct {
    int32_t broker;
    uint64_t replicas;
} kb_capacity_count_t;

typedef struct kb_capacity {
    const kb_fd_budget_t *budget; /* what each broker can hold; NULL: no check */
    kb_capacity_count_t *v;       /* sorted by broker */
    size_t n, cap;
} kb_capacity_t;

/* Replicas taken by one accepted change, per broker, to give back if it
 * is undone. */
typedef struct {
    kb_capacity_count_t *counts;
    size_t n;
} kb_capacity_ticket_t;

/* Counts every replica per broker: of view, or without one of md.  budget
 * NULL, or one without a bound: every change fits.  Returns 0, or -1 when
 * out of memory. */
int kb_capacity_init(kb_capacity_t *c, const kc_view_t *view, const kb_metadata_t *md,
                     const kb_fd_budget_t *budget);
void kb_capacity_clear(kb_capacity_t *c);

/* Replicas broker holds as counted (0 for one never seen). */
uint64_t kb_capacity_count(const kb_capacity_t *c, int32_t broker);

/* Judges adding the replicas of parts[0..n) (new partitions of topic): 0
 * when every broker stays within the budget, and they are counted (with
 * ticket non-NULL, also recorded there for kb_capacity_give_back); -1 with
 * Kafka's message in why (the code is KP_ERR_POLICY_VIOLATION); -2 when
 * out of memory. */
int kb_capacity_take(kb_capacity_t *c, const char *topic, const kc_partition_t *parts, int n,
                     kb_capacity_ticket_t *ticket, char *why, size_t whylen);

/* Uncounts what ticket took and empties it. */
void kb_capacity_give_back(kb_capacity_t *c, kb_capacity_ticket_t *ticket);
/* Keeps the count and frees the ticket. */
void kb_capacity_ticket_clear(kb_capacity_ticket_t *ticket);

#endif
