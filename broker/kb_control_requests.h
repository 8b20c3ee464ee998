/*
 * kb_control_requests.h - the broker side of the controller's requests
 * (zk-and-replication.md 2.2, 2.8; proto/kbroker_rpc.proto): LeaderAndIsr
 * gives the partitions their roles, UpdateMetadata fills the metadata
 * cache, StopReplica ends roles.  From the moment main.c serves these
 * handlers, a broker takes roles and metadata from the controller only
 * (the cluster view still supplies topic settings and config overrides:
 * kb_settings_view.h, kb_metadata_config_feed_new).
 *
 * Admission; a refused request changes nothing.  The checks run in this
 * order, the first that fails answering for the whole request:
 *   1. the request's controller_id must be the broker id its
 *      connection's Hello named (the `sender` of the cores): a request
 *      that names another controller than its sender is NOT_CONTROLLER
 *      (41).  The Hello identifies without authenticating (kb_rpc.h), so
 *      this stops a confused peer, not a forger on the trusted network.
 *   2. its broker_epoch must be this broker's current epoch (the czxid of
 *      its registration) or newer: an older one was meant for a previous
 *      incarnation, and -1 names none (the controller always sends the
 *      recipient's czxid; Kafka took -1 from controllers older than
 *      KIP-380): STALE_BROKER_EPOCH (77).  A newer one is accepted, as
 *      Kafka 2.6 does (KAFKA-9839): the controller may learn a
 *      registration's czxid before the broker does.
 *   3. its controller_epoch must not be below the highest accepted so far
 *      (by any of the three) nor below the epoch ZooKeeper holds in
 *      /controller_epoch as this broker's view sees it: either way a newer
 *      controller exists, and this one is deposed: STALE_CONTROLLER_EPOCH
 *      (11).
 *   4. its controller_id must be the controller /controller names, and
 *      its controller_epoch must not be above /controller_epoch, both as
 *      the view sees them (kc_view_controller, kc_view_controller_epoch);
 *      a view that knows neither (-1) admits nothing: NOT_CONTROLLER (41).
 *      Without this check any peer could send a huge controller epoch
 *      that, once remembered, would fence the real controller forever.
 *      The view lags an election by a few milliseconds, so the new
 *      controller's first requests may be refused; it sends refused
 *      requests again with backoff (kb_ctl_queue.h).
 * 41 rather than 11 for "not (yet) the controller I see": the sender is
 * not shown to be deposed (its epoch may well be newer than anything
 * known here), it is just not the controller this broker sees, which is
 * what Kafka's NOT_CONTROLLER says ("this is not the correct controller
 * for this cluster").  11 stays the answer of a controller proven deposed.
 * An admitted request raises the highest controller epoch.  Without a
 * view (deps.view NULL) no controller is known: every request is refused
 * at step 4.  Each refusal reason has its counter in kb_control_stats_t.
 * Known limit: a peer that forges the admitted controller id and epoch
 * (nothing authenticates the RPC port yet) is obeyed within what
 * ZooKeeper holds (below): a LeaderAndIsr with a huge leader epoch then
 * fences that partition until the broker restarts, the real controller's
 * lower epoch being refused as FENCED_LEADER_EPOCH; a StopReplica ends a
 * role until the controller next gives it (its log is deleted only when
 * ZooKeeper says it goes, below).  Only authenticating the RPC port
 * closes that.
 *
 * What ZooKeeper holds.  An admitted request may only describe what
 * ZooKeeper holds, as this broker's view sees it (kc_view_topic: every
 * topic's assignment), checked before anything is applied:
 *   - UpdateMetadata: every partition state of a topic not being deleted
 *     must name a topic the view holds, at an index below its partition
 *     count.  A topic cached with more partitions than the view gives it
 *     (deleted and created again smaller) is cut to the view's count when
 *     a request names it.  Leader -2 (deletion) is taken only for a topic
 *     the view no longer holds (its znode is gone) or lists as marked for
 *     deletion (/admin/delete_topics: the controller marks a topic -2 from
 *     the moment it queues its deletion); otherwise a forged request could
 *     hide a live topic.  Every live
 *     broker must be registered as the view sees it, with the rack and
 *     endpoints of its registration, so that no request can send this
 *     broker's clients to another host.
 *   - LeaderAndIsr: every partition (with a valid name and index) must be
 *     one the view holds, with the view's replicas in the view's order,
 *     so no log is ever created for a partition ZooKeeper lacks.
 *   - StopReplica with delete_partition: the topic must be gone from the
 *     view or listed as marked for deletion, or the partition no longer
 *     exist or no longer list this broker (a reassignment moved it), so
 *     that no request can delete a log ZooKeeper still assigns here.
 * Anything else refuses the whole request with UNKNOWN_TOPIC_OR_PARTITION
 * (3), counted as refused_unknown_here and logged in one line (the count
 * and the first partition).  Whole and retriable rather than skipped:
 * the view lags ZooKeeper by milliseconds, so a new topic's requests
 * often arrive before the view has read its assignment, and the
 * controller sends a refused request again with backoff (kb_ctl_queue.h),
 * rebuilt from its own view, until this one has caught up; a skipped
 * state would be lost to that race.  3 says "not (yet) known here", the
 * code Kafka answers for a partition it does not have; 41 would blame
 * the controller, 42 a malformed request, and neither is the case.
 * A StopReplica without deletion is not checked against the view: a stop
 * only ends a role and frees (a partition never hosted here allocates
 * nothing), and a deleted topic's partitions must still stop once its
 * znode is gone.  A stop that found nothing here, of a partition the view
 * does not hold either, is answered 3 for that partition alone, unless it
 * deletes: nothing is left to delete, and it is answered 0 (Kafka's
 * NONE).
 * So nothing an admitted request does can make the metadata cache hold a
 * topic or partition ZooKeeper did not hold (as the view saw it) when the
 * request came, nor create a log for a partition ZooKeeper does not
 * assign here, nor delete one it does: the cache, and the all-topics
 * Metadata answer, are
 * bounded by the cluster's real size.  (A topic deleted from ZooKeeper
 * stays cached until the controller sends leader -2 for it.)
 *
 * Then per partition (LeaderAndIsr, StopReplica), the leader epoch, as
 * kb_roles.h says: older → FENCED_LEADER_EPOCH (74) for that partition
 * alone; equal → ignored without an error (LeaderAndIsr).  A
 * whole-request refusal is both the envelope's error code and the
 * response body's error_code.  Per partition, a topic name Kafka would
 * refuse is INVALID_TOPIC_EXCEPTION (17) and a negative partition index
 * UNKNOWN_TOPIC_OR_PARTITION (3); so is a LeaderAndIsr partition whose
 * replicas do not list this broker (Kafka 2.6 ignores it the same way: a
 * replica leaves through StopReplica).  The partitions refused for their
 * name or index are logged in one line per request (their count and the
 * first), however many.
 *
 * Size.  Everything a request makes a broker allocate is proportional to
 * the request, except what these bounds cut off: an UpdateMetadata with
 * more than KB_CONTROL_MAX_LIVE_BROKERS live brokers, a live broker with
 * more than KB_CONTROL_MAX_ENDPOINTS endpoints, or partition states that
 * would grow the metadata cache by more than KB_CONTROL_MAX_UNNAMED
 * partitions they do not name (a state at index k grows its topic to
 * k + 1 partitions, so a few bytes could otherwise allocate megabytes) is
 * refused whole with INVALID_REQUEST (42) and a log line saying which
 * bound.  No real cluster comes near them.  (The partition states are
 * bounded by ZooKeeper's size already, see above, which is checked first;
 * KB_CONTROL_MAX_UNNAMED stays as a second guard that costs nothing.)
 *
 * UpdateMetadata and topic deletion: a partition state with leader -2
 * marks its topic as being deleted, and the topic leaves the metadata
 * cache.  Deletion wins within a request: every other state of that topic
 * in the same request is ignored, wherever it stands.  (Kafka 2.6 removes
 * the -2 partitions one by one, in request order, so a later state could
 * bring one back; but the controller marks every partition of a deleted
 * topic -2, and a topic of that name is created again only after the
 * deletion completed, which a later request reports, so a request mixing
 * both for one topic is not one a controller sends.  The cache holds a
 * topic's partitions as one array, so removing the topic, or cutting it
 * to the view's count, are its only ways to forget partitions.)  The states are grouped by topic whatever their
 * order, so a request costs O(n log n) in its number of states.
 *
 * The core functions take the unpacked request and fill a response the
 * caller owns (free it with kb_control_response_clear); the handlers of
 * kb_control_handlers() wrap them for broker/rpc.  Single-threaded: the
 * broker's loop only.
 */
#ifndef KB_CONTROL_REQUESTS_H
#define KB_CONTROL_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

#include "broker/kb_config.h"
#include "broker/metadata/kb_metadata.h"
#include "broker/replica/kb_replicas.h"
#include "broker/rpc/kb_rpc.h"
#include "coord/kc_topics.h"
#include "coord/kc_view.h"
#include "proto/kbroker_rpc.pb-c.h"

typedef struct kb_control kb_control_t;

/* This broker's current broker epoch: the czxid of its registration, -1
 * before the first (e.g. kb_registration_epoch). */
typedef int64_t (*kb_control_epoch_fn)(void *arg);

typedef struct kb_control_deps {
    kb_replicas_t *replicas;
    kb_metadata_t *metadata;
    const kb_config_t *cfg;      /* broker.id, topic config defaults */
    kb_control_epoch_fn broker_epoch;
    void *epoch_arg;
    /* The controller and controller epoch ZooKeeper names (admission, step
     * 4), and the topic settings and config overrides of the topics a
     * request names when the view already holds them (else they arrive
     * through the view feeds).  NULL: no controller is known, and every
     * request is refused. */
    const kc_view_t *view;
    /* A topic UpdateMetadata marked deleted (leader -2) has left the
     * metadata cache: the group coordinator drops its committed offsets.
     * NULL: nobody is told. */
    void (*topic_deleted)(void *arg, const char *topic);
    void *topic_deleted_arg;
} kb_control_deps_t;

/* What became of the controller's requests (exported as metrics). */
typedef struct kb_control_stats {
    uint64_t leader_and_isr;                 /* requests accepted, each kind */
    uint64_t update_metadata;
    uint64_t stop_replica;
    /* Whole requests refused, each reason (admission steps 1 to 4, then
     * the size bounds). */
    uint64_t refused_not_sender;             /* 41: controller_id is not the Hello's broker id */
    uint64_t refused_stale_broker_epoch;     /* 77: older than ours, or -1 */
    uint64_t refused_stale_controller_epoch; /* 11: below the highest accepted or ZooKeeper's */
    uint64_t refused_not_zk_controller;      /* 41: not the controller /controller names */
    uint64_t refused_ahead_of_zk;            /* 41: above /controller_epoch (or it is unknown) */
    uint64_t refused_too_large;              /* 42: beyond a size bound */
    uint64_t refused_unknown_here;           /* 3: a partition or assignment the view does not hold */
    uint64_t partitions_fenced;              /* partitions answered FENCED_LEADER_EPOCH */
} kb_control_stats_t;

/* The size bounds (see Size above).  A kbroker broker has at most
 * KB_MAX_LISTENERS endpoints; KB_CONTROL_MAX_UNNAMED is one topic's worth
 * of partitions, about 8 MB of cache. */
#define KB_CONTROL_MAX_LIVE_BROKERS 10000
#define KB_CONTROL_MAX_ENDPOINTS 64
#define KB_CONTROL_MAX_UNNAMED KC_TOPIC_MAX_PARTITIONS

/* deps is copied; everything it points at must outlive the object.  NULL
 * when out of memory. */
kb_control_t *kb_control_new(const kb_control_deps_t *deps);
void kb_control_free(kb_control_t *c);

void kb_control_stats(const kb_control_t *c, kb_control_stats_t *out);
/* The highest controller epoch accepted so far; -1 before any. */
int32_t kb_control_controller_epoch(const kb_control_t *c);
/* How many role updates' room is kept from one request to the next (the
 * room a request needs is kept only up to a bound; the tests' window). */
size_t kb_control_scratch_held(const kb_control_t *c);

/* The handler table for kb_rpc_server_opts_t (METHOD_LEADER_AND_ISR,
 * METHOD_UPDATE_METADATA, METHOD_STOP_REPLICA), valid as long as c; the
 * server copies it. */
const kb_rpc_handler_t *kb_control_handlers(kb_control_t *c, size_t *n);

/* A kb_control_epoch_fn over a kb_registration_t (kb_registration.h):
 * its czxid while registered; -1 before the first registration (the
 * czxid of a registration not yet made reads 0, which would refuse every
 * request); KB_CONTROL_UNREGISTERED once a registration was lost (the
 * session expired, the znode was deleted, or shutdown deleted it) until
 * the next: every request is refused, whatever epoch it names, since none
 * can be meant for a registration that does not exist, and one sent to
 * the lost registration would give back the roles the expiry took
 * (kb_roles.h, "Resigning").  The controller sends again. */
#define KB_CONTROL_UNREGISTERED INT64_MAX
int64_t kb_control_registration_epoch(void *registration);
/* Its rule, from whether the broker is registered and the czxid of its
 * last registration (0: none yet). */
int64_t kb_control_epoch_for(bool registered, int64_t czxid);

/* The cores.  sender is the broker id the request's connection named in
 * its Hello (kb_rpc_req_peer).  Each returns the whole-request error code
 * (0, 3, 11, 41, 42 or 77; -1 UNKNOWN_SERVER_ERROR when out of memory) and
 * fills *out, which it initialises; the caller frees out's contents with
 * kb_control_response_clear(&out->base) once sent. */
int16_t kb_control_leader_and_isr(kb_control_t *c, int32_t sender, const Kbroker__Rpc__LeaderAndIsrRequest *req,
                                  Kbroker__Rpc__LeaderAndIsrResponse *out);
int16_t kb_control_update_metadata(kb_control_t *c, int32_t sender, const Kbroker__Rpc__UpdateMetadataRequest *req,
                                   Kbroker__Rpc__UpdateMetadataResponse *out);
int16_t kb_control_stop_replica(kb_control_t *c, int32_t sender, const Kbroker__Rpc__StopReplicaRequest *req,
                                Kbroker__Rpc__StopReplicaResponse *out);
/* Frees what a core put in a response (its partition errors); the
 * response struct itself is the caller's. */
void kb_control_response_clear(ProtobufCMessage *msg);

#endif
