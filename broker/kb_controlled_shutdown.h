/*
 * kb_controlled_shutdown.h - the broker's side of controlled shutdown
 * (zk-and-replication.md 3.9): before a broker stops on SIGTERM or SIGINT
 * (with controlled.shutdown.enable), it asks the controller to move its
 * leaderships away, so that clients move to the new leaders while this
 * broker still answers them (NOT_LEADER_OR_FOLLOWER, then metadata naming
 * the new leader) instead of finding it gone.
 *
 * One attempt: ask the controller (/controller as the cluster view has
 * it); if it is this broker, ask it directly (kb_ctl_shutdown.h), else send
 * ControlledShutdown(broker id, broker epoch) to its RPC listener on a
 * connection of its own.  Success is an answer with error code 0 and no
 * remaining partitions.  An answer with an error code or partitions still
 * led fails the attempt; so does controller.socket.timeout.ms passing
 * without an answer.  Within that bound a controller that cannot be asked
 * (none known, its connection refused: it has just exited or crashed) is
 * looked up and asked again, and an ask in flight moves to the new
 * controller as soon as /controller names another broker.  After
 * controlled.shutdown.retry.backoff.ms the next attempt starts, up to
 * controlled.shutdown.max.retries attempts in all (Kafka's count; 0 skips
 * the whole step).  Then the broker stops anyway, with a warning.  Every
 * wait is bounded, so the whole step takes at most
 * max.retries x (controller.socket.timeout.ms + retry.backoff.ms).
 *
 * Runs on the broker's loop; the broker keeps serving meanwhile.
 */
#ifndef KB_CONTROLLED_SHUTDOWN_H
#define KB_CONTROLLED_SHUTDOWN_H

#include <stdbool.h>

#include "broker/kb_broker.h"

struct evdns_base;

typedef struct kb_controlled_shutdown kb_controlled_shutdown_t;

/* moved: the controller answered that this broker leads no replicated
 * partition any more.  Runs once, on the loop, never from inside
 * kb_controlled_shutdown_start. */
typedef void (*kb_controlled_shutdown_done_fn)(bool moved, void *arg);

/* Starts the attempts; NULL when out of memory (nothing runs then).
 * dns resolves the controller's advertised RPC host (NULL: numeric
 * only). */
kb_controlled_shutdown_t *kb_controlled_shutdown_start(kb_broker_t *b, struct evdns_base *dns,
                                                       kb_controlled_shutdown_done_fn done, void *arg);
/* /controller changed (the view says so): an ask in flight to another
 * broker, or waiting to be made, goes to the one it names now.  NULL is a
 * no-op. */
void kb_controlled_shutdown_controller_changed(kb_controlled_shutdown_t *s);
/* Stops whatever runs (done is not called) and frees.  NULL is a no-op. */
void kb_controlled_shutdown_free(kb_controlled_shutdown_t *s);

#endif
