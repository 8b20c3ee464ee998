/*
 * kb_control_requests.h - the broker side of the controller's requests
 * (zk-and-replication.md 2.2, 2.8; proto/kbroker_rpc.proto): LeaderAndIsr
 * gives the partitions their roles, UpdateMetadata fills the metadata
 * cache, StopReplica ends roles.  From the moment main.c serves these
 * handlers, a broker takes roles and metadata from the controller only
 * (the cluster view still supplies topic settings and config overrides:
 * kb_settings_view.h, kb_metadata_config_feed_new).
 *
 * Fencing; a refused request changes nothing:
 *   - a request whose broker_epoch is older than this broker's current
 *     epoch (the czxid of its registration), and not -1, was meant for a
 *     previous incarnation: STALE_BROKER_EPOCH (77);
 *   - a request whose controller_epoch is older than the highest seen
 *     (by any of the three) comes from a deposed controller:
 *     STALE_CONTROLLER_EPOCH (11).  Every accepted request raises it.
 *   - per partition (LeaderAndIsr, StopReplica), the leader epoch, as
 *     kb_roles.h says: older → FENCED_LEADER_EPOCH (74) for that
 *     partition alone; equal → ignored without an error (LeaderAndIsr).
 * A whole-request refusal is both the envelope's error code and the
 * response body's error_code.  Per partition, a topic name Kafka would
 * refuse is INVALID_TOPIC_EXCEPTION (17) and a negative partition index
 * UNKNOWN_TOPIC_OR_PARTITION (3); so is a LeaderAndIsr partition whose
 * replicas do not list this broker (Kafka 2.6 ignores it the same way: a
 * replica leaves through StopReplica).
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
    /* Topic settings and config overrides of the topics a request names,
     * when the view already holds them (NULL: none; they arrive through
     * the view feeds then). */
    const kc_view_t *view;
} kb_control_deps_t;

/* What became of the controller's requests (exported as metrics). */
typedef struct kb_control_stats {
    uint64_t leader_and_isr;                 /* requests accepted, each kind */
    uint64_t update_metadata;
    uint64_t stop_replica;
    uint64_t refused_stale_controller_epoch; /* whole requests refused, each reason */
    uint64_t refused_stale_broker_epoch;
    uint64_t partitions_fenced;              /* partitions answered FENCED_LEADER_EPOCH */
} kb_control_stats_t;

/* deps is copied; everything it points at must outlive the object.  NULL
 * when out of memory. */
kb_control_t *kb_control_new(const kb_control_deps_t *deps);
void kb_control_free(kb_control_t *c);

void kb_control_stats(const kb_control_t *c, kb_control_stats_t *out);
/* The highest controller epoch accepted so far; -1 before any. */
int32_t kb_control_controller_epoch(const kb_control_t *c);

/* The handler table for kb_rpc_server_opts_t (METHOD_LEADER_AND_ISR,
 * METHOD_UPDATE_METADATA, METHOD_STOP_REPLICA), valid as long as c; the
 * server copies it. */
const kb_rpc_handler_t *kb_control_handlers(kb_control_t *c, size_t *n);

/* A kb_control_epoch_fn over a kb_registration_t (kb_registration.h):
 * its czxid while registered, else -1 (the czxid of a registration not
 * yet made reads 0, which would refuse every request). */
int64_t kb_control_registration_epoch(void *registration);

/* The cores.  Each returns the whole-request error code (0, 11 or 77) and
 * fills *out, which it initialises; the caller frees out's contents with
 * kb_control_response_clear(&out->base) once sent. */
int16_t kb_control_leader_and_isr(kb_control_t *c, const Kbroker__Rpc__LeaderAndIsrRequest *req,
                                  Kbroker__Rpc__LeaderAndIsrResponse *out);
int16_t kb_control_update_metadata(kb_control_t *c, const Kbroker__Rpc__UpdateMetadataRequest *req,
                                   Kbroker__Rpc__UpdateMetadataResponse *out);
int16_t kb_control_stop_replica(kb_control_t *c, const Kbroker__Rpc__StopReplicaRequest *req,
                                Kbroker__Rpc__StopReplicaResponse *out);
/* Frees what a core put in a response (its partition errors); the
 * response struct itself is the caller's. */
void kb_control_response_clear(ProtobufCMessage *msg);

#endif
