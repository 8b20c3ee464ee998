/*
 * kb_ctl_fanout.h - what the active controller tells which broker, and when
 * (zk-and-replication.md 2.4-2.8): one request queue (kb_ctl_queue.h) per
 * live broker incarnation, and an index from broker id to the partitions
 * with a replica on it, so that a broker's arrival or departure costs the
 * partitions it hosts, not a walk of the cluster.
 *
 * What is sent when:
 *   - start (the controller's view is loaded and its first pass indexed
 *     every partition): every live broker gets LeaderAndIsr for each
 *     partition with a replica on it, then UpdateMetadata for every
 *     partition with a state and the live brokers;
 *   - a partition state the controller wrote has been read back:
 *     LeaderAndIsr for it to its live replicas (is_new after the first
 *     state of a new partition) and UpdateMetadata for it to every live
 *     broker;
 *   - a partition's ISR changed by its leader (an ISR change notification):
 *     UpdateMetadata for it to every live broker;
 *   - a broker joined (or came back with a new broker epoch): a new queue
 *     with the full state above for it, and an UpdateMetadata carrying the
 *     new live broker list to every other broker;
 *   - a broker left (or its old incarnation did): its queue is freed with
 *     whatever it held, and the others get an UpdateMetadata with the new
 *     live broker list, followed by the LeaderAndIsr / UpdateMetadata of
 *     the elections its departure causes as their writes land;
 *   - a duty stops a replica (kb_ctl_fanout_stop_replica: a topic's
 *     deletion, later a reassignment's removed replicas): StopReplica, with
 *     or without the log's deletion, to that broker alone, and every
 *     partition of the answer reported to opts.stopped (kb_ctl_queue.h).
 * A topic opts.deleting names gets no LeaderAndIsr, and leader -2 in every
 * UpdateMetadata (kb_ctl_requests.h).
 * Nothing leaves before kb_ctl_fanout_flush(), which the controller calls
 * once per loop turn, so each turn's changes go out batched per broker.
 *
 * Cost: a state change costs O(live brokers) set insertions; a broker
 * joining costs O(its partitions) for its LeaderAndIsr plus O(all
 * partitions) for its full UpdateMetadata (it must learn everything); a
 * broker leaving costs O(partitions with a replica on it) plus O(live
 * brokers).  No event walks every partition except start.
 */
#ifndef KB_CTL_FANOUT_H
#define KB_CTL_FANOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/controller/kb_ctl_keys.h"
#include "broker/controller/kb_ctl_queue.h"
#include "coord/kc_view.h"

typedef struct kb_ctl_fanout kb_ctl_fanout_t;

typedef struct kb_ctl_fanout_opts {
    const kc_view_t *view;               /* the controller's picture of the cluster */
    const kb_ctl_transport_t *transport; /* NULL: nothing is sent (queues are not made) */
    int32_t controller_id;               /* this broker */
    int32_t timeout_ms;                  /* controller.socket.timeout.ms */
    size_t max_batch;                    /* partitions per request; 0: kb_ctl_queue's default */
    bool (*deleting)(const char *topic, void *arg); /* NULL: no topic is being deleted */
    kb_ctl_stopped_fn stopped;           /* StopReplica answers, per partition; NULL: not reported */
    kb_ctl_refused_fn refused;           /* LeaderAndIsr's KAFKA_STORAGE_ERRORs; NULL: not reported */
    void *arg;                           /* for all three */
} kb_ctl_fanout_opts_t;

kb_ctl_fanout_t *kb_ctl_fanout_new(const kb_ctl_fanout_opts_t *opts);
void kb_ctl_fanout_free(kb_ctl_fanout_t *f);

/* The id a topic's partitions are keyed under (kb_ctl_keys.h); UINT32_MAX
 * when out of memory. */
uint32_t kb_ctl_fanout_topic(kb_ctl_fanout_t *f, const char *topic);

/* Records the replicas of a partition in the broker index (idempotent; an
 * entry a reassignment made stale is dropped when next looked at). */
void kb_ctl_fanout_index(kb_ctl_fanout_t *f, kb_ctl_key_t key, const kc_partition_t *part);

/* Starts the role's fan-out with the controller epoch won: a queue with
 * the full state for every live broker.  The index must be complete. */
void kb_ctl_fanout_start(kb_ctl_fanout_t *f, int32_t controller_epoch);
bool kb_ctl_fanout_started(const kb_ctl_fanout_t *f);
/* The role ended: every queue is freed at once, the index is emptied. */
void kb_ctl_fanout_stop(kb_ctl_fanout_t *f);

/* The controller's write of this partition's state is visible in the view. */
void kb_ctl_fanout_state_written(kb_ctl_fanout_t *f, kb_ctl_key_t key, const kc_partition_t *part, bool is_new);
/* Only the metadata of this partition changed (its leader shrank the ISR). */
void kb_ctl_fanout_metadata_changed(kb_ctl_fanout_t *f, kb_ctl_key_t key);

/* Called back for each partition with a replica on a broker that joined or
 * left, so the controller can elect; topic is the view's name. */
typedef void (*kb_ctl_examine_fn)(const char *topic, int32_t partition, void *arg);

/* The view's broker set changed: diff it against the brokers the queues
 * were made for (id and broker epoch), drop and make queues, queue the
 * broker list to everyone, and examine the partitions of every broker that
 * joined or left. */
void kb_ctl_fanout_brokers_changed(kb_ctl_fanout_t *f, kb_ctl_examine_fn examine, void *arg);

/* Queues a StopReplica of a partition (its log deleted too when
 * delete_partition) to broker_id's current incarnation, whose broker
 * epoch goes to *epoch.  False (nothing queued) when the broker has no
 * queue: not live, no RPC listener, out of memory, or no transport. */
bool kb_ctl_fanout_stop_replica(kb_ctl_fanout_t *f, int32_t broker_id, kb_ctl_key_t key, bool delete_partition,
                                int64_t *epoch);
/* The broker epoch of broker_id's queue, or -1 when it has none. */
int64_t kb_ctl_fanout_broker_epoch(const kb_ctl_fanout_t *f, int32_t broker_id);
/* Calls fn for each partition with a replica on broker id, as the index
 * and the view have it now (complete once started); fn may start state
 * writes but must not change the view or the index. */
void kb_ctl_fanout_each_hosted(kb_ctl_fanout_t *f, int32_t id, kb_ctl_examine_fn fn, void *arg);

/* Sends what every queue has pending (one request each at most in flight). */
void kb_ctl_fanout_flush(kb_ctl_fanout_t *f);

/* The queue of a broker, NULL when none (tests, stats). */
kb_ctl_queue_t *kb_ctl_fanout_queue(const kb_ctl_fanout_t *f, int32_t broker_id);

#endif
