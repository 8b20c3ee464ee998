/*
 * kb_ctl_queue.h - the controller's request queue to one broker
 * (zk-and-replication.md 2.4 step 4, 2.5): ordered, one request in flight,
 * every request retried until the broker answers.
 *
 * A queue belongs to one incarnation of one broker: its id and its broker
 * epoch (the czxid of /brokers/ids/N).  When the registration changes (the
 * broker leaves, or comes back with a new czxid) the controller frees the
 * queue, with whatever it still held, and a new incarnation gets a new queue
 * that starts with the full state; nothing queued for the old incarnation
 * ever reaches the new one.
 *
 * What a queue holds is not built requests but the partitions the broker
 * still has to be told about, one set for LeaderAndIsr, one for
 * UpdateMetadata and one for StopReplica (each partition with its delete
 * flag), plus a flag for an UpdateMetadata that only carries the live
 * broker list.  A partition queued again before it is sent is merged
 * (its flags ORed), and the request is built when it leaves, from the
 * controller's knowledge at that moment (kb_ctl_requests.h), so a burst of
 * 10,000 state changes reaching one broker while a request is in flight
 * leaves as one or two requests carrying each partition's latest state.
 * A request carries at most max_batch partitions (a bound on frame size).
 *
 * Order: LeaderAndIsr goes before UpdateMetadata, and both before
 * StopReplica, whenever several are pending (spec 2.5: a broker learns its
 * roles before the metadata clients see, and a topic being deleted has
 * left its cache before its replicas stop), and requests leave one at a
 * time: the next one is built only when the broker answered the last.
 *
 * Retry: a request is done only when the broker answers it with error code
 * 0; anything else puts its partitions back into the pending sets, merged
 * with anything queued since, and a later request carries them again.
 *   - A call that lost its connection or got an answer that did not unpack
 *     is sent again at once (broker/rpc's reconnect backoff paces it).
 *   - A call that timed out (controller.socket.timeout.ms) is sent again on
 *     a new connection: the queue closes the old one and connects again,
 *     because a peer that stopped reading (paused, half-open TCP) would
 *     leave the retry waiting behind the stuck request.  A connect that
 *     fails is tried again after the backoff below.
 *   - An answer whose envelope carries an error code (the broker refused the
 *     whole request: NOT_CONTROLLER while its view of the election
 *     lags ours, STALE_BROKER_EPOCH, UNKNOWN_SERVER_ERROR when it ran out of
 *     memory, any other code) is sent again after a backoff that doubles
 *     from RETRY_BACKOFF_FIRST_MS to RETRY_BACKOFF_MAX_MS (kb_ctl_queue.c)
 *     and starts over after an answer with 0.  A controller that really is
 *     stale, or a broker incarnation that is gone, is settled by the queue
 *     being freed (role lost, registration changed), which ends the retries.
 *   - A request that cannot be built for want of memory stays pending and
 *     is tried again after the same backoff (logged once per episode);
 *     a batch with nothing worth sending is simply dropped.
 * Errors per partition in an answer with error code 0 are logged, not
 * retried: the broker applied the rest of the request, and a partition it
 * refused for an older leader epoch or for not being a replica there would
 * be refused again.  (A partition it failed with UNKNOWN_SERVER_ERROR, out
 * of memory, is not retried either: it waits for its next state change.)
 * StopReplica is the exception, because a deletion waits for every
 * replica's log to be gone: each partition of an answered StopReplica is
 * reported to the `stopped` callback with its error code (0: stopped, and
 * deleted when asked), and a delete answered with anything but 0, or left
 * out of the answer, is sent again PARTITION_RETRY_MS later (kb_ctl_queue.c)
 * without holding up the queue's other requests, until the broker answers
 * 0 for it or the queue is freed.  A stop without delete is reported and
 * not retried, like LeaderAndIsr's partitions (left out of the answer, it
 * is reported as UNKNOWN_SERVER_ERROR).
 *
 * Nothing is sent until kb_ctl_queue_flush() (or an answer) says so, so the
 * controller batches everything one loop turn queued.
 *
 * The transport is a seam: the production one wraps broker/rpc's client
 * (kb_ctl_rpc.h), the unit tests use a fake.  Everything runs on the loop.
 */
#ifndef KB_CTL_QUEUE_H
#define KB_CTL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/controller/kb_ctl_keys.h"
#include "broker/controller/kb_ctl_requests.h"
#include "proto/kbroker_rpc.pb-c.h"

/* ---- transport seam ---- */

/* The outcome of a call (broker/rpc's kb_rpc_status_t, without its header). */
typedef enum kb_ctl_status {
    KB_CTL_OK = 0,       /* answered: error_code and body are the broker's */
    KB_CTL_TIMEOUT,      /* no answer within the call's timeout */
    KB_CTL_DISCONNECTED, /* the connection closed with the call sent or waiting */
    KB_CTL_BAD_RESPONSE, /* the answer did not unpack */
    KB_CTL_CANCELLED,    /* the connection was closed by its owner */
} kb_ctl_status_t;

const char *kb_ctl_status_name(kb_ctl_status_t st);

typedef void (*kb_ctl_reply_fn)(kb_ctl_status_t st, int32_t error_code, const ProtobufCMessage *body, void *arg);

/* Whom a connection is to, and who is calling. */
typedef struct kb_ctl_peer {
    int32_t self_id;      /* this (the controller's) broker */
    int64_t self_epoch;
    int32_t broker_id;    /* the recipient: its Hello must name this id ... */
    int64_t broker_epoch; /* ... and epoch */
    const char *host;     /* its kbroker RPC listener */
    int port;
} kb_ctl_peer_t;

typedef struct kb_ctl_transport {
    /* Opens (and keeps reconnecting) a connection; NULL when it cannot. */
    void *(*connect)(void *arg, const kb_ctl_peer_t *peer);
    /* Sends msg as a request of method.  msg is packed before this returns
     * (the caller frees it right after).  done runs exactly once, later on
     * the loop, never from inside call.  Returns 0, or -1 when msg cannot
     * be sent at all (done is then not called). */
    int (*call)(void *conn, Kbroker__Rpc__Method method, const ProtobufCMessage *msg, int32_t timeout_ms,
                kb_ctl_reply_fn done, void *done_arg);
    /* Closes; every call not answered yet gets KB_CTL_CANCELLED before this
     * returns.  The queue also closes and connects again after a timeout
     * (see Retry above); what a close reports then is ignored. */
    void (*close)(void *conn);
    /* A one-shot timer on the loop, one per queue, for its retry backoff:
     * timer_new makes it disarmed (NULL when out of memory); timer_arm
     * (re)arms it to call fire(fire_arg) once, ms from now, on the loop and
     * never from inside timer_arm, and returns 0 or -1; timer_free disarms
     * and frees it. */
    void *(*timer_new)(void *arg, void (*fire)(void *fire_arg), void *fire_arg);
    int (*timer_arm)(void *timer, int32_t ms);
    void (*timer_free)(void *timer);
    void *arg;
} kb_ctl_transport_t;

/* ---- queue ---- */

typedef struct kb_ctl_queue kb_ctl_queue_t;

/* Builds the request for a batch into *out, from the arena (freed by the
 * queue once the call is made).  Returns 0 (*out NULL when nothing in the
 * batch is worth sending: the batch is dropped), or -1 when out of memory
 * (the batch stays pending and is built again after a backoff). */
typedef int (*kb_ctl_build_fn)(const kb_ctl_batch_t *b, kb_ctl_arena_t *a, void *arg, const ProtobufCMessage **out);

/* One partition of an answered StopReplica (see Errors per partition). */
typedef struct kb_ctl_stopped {
    int32_t broker_id;
    int64_t broker_epoch; /* the incarnation that answered */
    kb_ctl_key_t key;
    bool deleted;         /* the stop asked for the log's deletion */
    int16_t error;        /* the broker's per-partition code; 0: done */
} kb_ctl_stopped_t;

/* Called on the loop for each partition of an answered StopReplica; it
 * may queue (to this queue too) but not free the queue. */
typedef void (*kb_ctl_stopped_fn)(const kb_ctl_stopped_t *s, void *arg);
/* A partition an accepted LeaderAndIsr answer refused with
 * KAFKA_STORAGE_ERROR (the broker cannot host its replica); topic is
 * valid during the call only.  Same rules as kb_ctl_stopped_fn. */
typedef struct kb_ctl_refused {
    int32_t broker_id;
    int64_t broker_epoch; /* the incarnation that answered */
    const char *topic;    /* a name the controller knows (key_of found it) */
    int32_t partition;
} kb_ctl_refused_t;
typedef void (*kb_ctl_refused_fn)(const kb_ctl_refused_t *r, void *arg);
/* The key of the partition an answer names, false when it is none the
 * controller knows (its answer is then ignored). */
typedef bool (*kb_ctl_key_of_fn)(const char *topic, int32_t partition, void *arg, kb_ctl_key_t *key);

typedef struct kb_ctl_queue_opts {
    kb_ctl_peer_t peer;                  /* copied, host included */
    const kb_ctl_transport_t *transport; /* must outlive the queue */
    kb_ctl_build_fn build;
    void *build_arg;
    kb_ctl_stopped_fn stopped;           /* NULL: StopReplica answers are not reported */
    kb_ctl_refused_fn refused;           /* NULL: LeaderAndIsr refusals are only logged */
    kb_ctl_key_of_fn key_of;             /* needed to read StopReplica and LeaderAndIsr answers */
    void *answer_arg;                    /* for all three */
    int32_t timeout_ms; /* per call: controller.socket.timeout.ms */
    size_t max_batch;   /* partitions per request; 0: a default */
} kb_ctl_queue_opts_t;

/* Connects; NULL when out of memory or the transport cannot connect. */
kb_ctl_queue_t *kb_ctl_queue_new(const kb_ctl_queue_opts_t *opts);
/* Drops everything pending, frees the retry timer (armed or not) and
 * closes the connection (a call in flight is cancelled, never retried). */
void kb_ctl_queue_free(kb_ctl_queue_t *q);

int32_t kb_ctl_queue_broker(const kb_ctl_queue_t *q);
int64_t kb_ctl_queue_epoch(const kb_ctl_queue_t *q);

/* Queue a partition; return 0 or -1 when out of memory. */
int kb_ctl_queue_leader_and_isr(kb_ctl_queue_t *q, kb_ctl_key_t key, bool is_new);
int kb_ctl_queue_update_metadata(kb_ctl_queue_t *q, kb_ctl_key_t key);
/* Queue a StopReplica of a partition, with its log's deletion or not (a
 * delete queued while a stop of the same partition waits turns it into
 * the delete). */
int kb_ctl_queue_stop_replica(kb_ctl_queue_t *q, kb_ctl_key_t key, bool delete_partition);
/* Queue an UpdateMetadata even if no partition changed (the live broker
 * list did; every UpdateMetadata carries it). */
void kb_ctl_queue_update_brokers(kb_ctl_queue_t *q);
/* Sends the next request unless one is in flight, a retry is waiting for
 * its backoff, or nothing is pending. */
void kb_ctl_queue_flush(kb_ctl_queue_t *q);

typedef struct kb_ctl_queue_stats {
    uint64_t leader_and_isr_sent, update_metadata_sent, stop_replica_sent; /* calls made, retries included */
    uint64_t deletes_retried; /* StopReplica deletes answered with an error (or not at all), sent again */
    uint64_t answered; /* answers, refusals included */
    uint64_t errors;   /* answers with an error code (refusals) */
    uint64_t retried;  /* requests put back: failed calls, refusals, builds out of memory */
    uint64_t reconnects; /* connections closed and made again after a timeout */
    bool in_flight;
    bool backing_off; /* a retry is waiting for its backoff */
    size_t pending_leader_and_isr, pending_update_metadata;
    size_t pending_stop_replica; /* waiting to leave, failed deletes waiting for their retry included */
} kb_ctl_queue_stats_t;
void kb_ctl_queue_stats(const kb_ctl_queue_t *q, kb_ctl_queue_stats_t *out);

#endif
