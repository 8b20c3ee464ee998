/*
 * kb_ctl_shutdown.h - the controller's side of controlled shutdown
 * (zk-and-replication.md 2.7 "Controlled shutdown", 3.9): a broker about
 * to stop asks the controller to move its leaderships away first, over
 * the inter-broker RPC (METHOD_CONTROLLED_SHUTDOWN) or, on the
 * controller's own broker, by a direct call.
 *
 * What a request does.  Its broker joins the controller's shutting-down
 * set, keyed by the registration it named (the czxid of /brokers/ids/N):
 * from then on no election makes it leader (the offline, preferred and
 * controlled-shutdown rules of kb_elect.h and kb_elect_moves.h exclude
 * it), until that registration goes away, or is replaced by a new one, or
 * the controller role ends (a new controller starts with an empty set, and
 * the broker asks it again).  Then, for every partition with a replica on
 * that broker and more than one replica (a single replica has nowhere to
 * go; Kafka skips those too): if the broker leads it, the
 * controlled-shutdown election picks another leader and drops the
 * stopping brokers from the ISR; if it follows, it leaves the ISR (once
 * per request: a follower that keeps fetching may be taken back by its
 * leader, as in Kafka 2.6).  Partitions whose state is being written
 * already are retried as their writes land.
 *
 * The answer waits until none of the broker's partitions has a write of
 * ours in flight (each has been read back by the cluster view, and its
 * replicas are being sent LeaderAndIsr), or KB_CTL_SHUTDOWN_WAIT_MS, at
 * most half of controller.socket.timeout.ms (the broker's call timeout),
 * and then lists the partitions the broker still leads among those with
 * more than one replica: empty means done.  Whole-request errors:
 * NOT_CONTROLLER (this broker is not the active controller, or stops
 * being it while the request waits), BROKER_NOT_AVAILABLE (no such
 * registration as the view sees it, or a newer one the view has not read
 * within the wait), STALE_BROKER_EPOCH (an older registration than the
 * view's), INVALID_REQUEST over RPC when the request names another
 * broker than its connection's Hello.
 *
 * Kafka sends StopReplica(delete=false) to the stopping broker for the
 * partitions it follows; this controller does not (its request queues
 * send LeaderAndIsr and UpdateMetadata only): the follower leaves the ISR
 * and keeps fetching until it stops.
 *
 * Everything runs on the broker's loop.
 */
#ifndef KB_CTL_SHUTDOWN_H
#define KB_CTL_SHUTDOWN_H

#include <stddef.h>
#include <stdint.h>

#include "broker/controller/kb_controller.h"
#include "broker/rpc/kb_rpc.h"
#include "proto/kbroker_rpc.pb-c.h"

#define KB_CTL_SHUTDOWN_WAIT_MS 10000

/* The answer: resp->error_code, and the partitions still led.  resp and
 * what it points at are valid during the call only. */
typedef void (*kb_ctl_shutdown_reply_fn)(const Kbroker__Rpc__ControlledShutdownResponse *resp, void *arg);

/* The controller's own broker asks (the same as a request over RPC).
 * done runs exactly once, later on the loop, never from inside this call,
 * unless the request is cancelled first.  Returns 0, or -1 when out of
 * memory (done is then not called). */
int kb_controller_controlled_shutdown(kb_controller_t *c, int32_t broker_id, int64_t broker_epoch,
                                      kb_ctl_shutdown_reply_fn done, void *arg);
/* Forgets the requests made with `arg` without calling their done. */
void kb_controller_controlled_shutdown_cancel(kb_controller_t *c, void *arg);

/* The RPC handler of METHOD_CONTROLLED_SHUTDOWN, for the broker's RPC
 * server (main.c), written to out if room allows; returns the rows
 * written (0 or 1).  It finds b->controller when a request comes (the
 * server starts before the controller exists). */
size_t kb_controller_rpc_handlers(kb_broker_t *b, kb_rpc_handler_t *out, size_t room);

#endif
