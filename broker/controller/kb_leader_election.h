/*
 * kb_leader_election.h - leader elections an operator asks the controller
 * for (zk-and-replication.md 2.6, 2.7 "Preferred leader election"): the
 * ElectLeaders API's entry point into the controller, in plain values so
 * that broker/api can use it without the controller's internals.
 *
 * The same elections run for /admin/preferred_replica_election and the
 * automatic rebalance (kb_ctl_preferred.c), which need no entry point.
 */
#ifndef KB_LEADER_ELECTION_H
#define KB_LEADER_ELECTION_H

#include <stddef.h>
#include <stdint.h>

struct kb_controller;

/* ElectLeaders' election_type. */
typedef enum kb_election_type {
    KB_ELECTION_PREFERRED = 0, /* the first assigned replica, if live and in the ISR */
    KB_ELECTION_UNCLEAN = 1,   /* a partition without a live leader: the first live ISR member, else
                                * the first live replica (records only the old ISR held are lost) */
} kb_election_type_t;

/* One partition to elect for, and its result once done: 0 (elected), or
 * ELECTION_NOT_NEEDED (84: the preferred replica leads; a live leader
 * exists, for UNCLEAN), PREFERRED_LEADER_NOT_AVAILABLE (80),
 * ELIGIBLE_LEADERS_NOT_AVAILABLE (83), UNKNOWN_TOPIC_OR_PARTITION (3),
 * NOT_CONTROLLER (41: this broker is not the controller, or stopped being
 * it), REQUEST_TIMED_OUT (7: the write did not land within timeout_ms). */
typedef struct kb_election_item {
    const char *topic; /* borrowed until done runs */
    int32_t partition;
    int16_t error;
} kb_election_item_t;

typedef void (*kb_elections_done_fn)(void *arg);

/* Elects leaders for items[0..n) and fills each one's error; done runs
 * once every write started has been read back by the controller's view
 * (the brokers are being told), or timeout_ms after the call, whichever
 * comes first; later on the loop, never from inside this call.  Name each
 * partition once (a second copy would find the first one's election done:
 * ELECTION_NOT_NEEDED).  Returns 0, or -1 when out of memory (done is then
 * not called). */
int kb_controller_elect_leaders(struct kb_controller *c, kb_election_type_t type, kb_election_item_t *items,
                                size_t n, int32_t timeout_ms, kb_elections_done_fn done, void *arg);

/* Its type, for the API handlers' context (kb_api.h), which reaches the
 * controller through main.c rather than by linking it. */
typedef int (*kb_elect_leaders_fn)(struct kb_controller *c, kb_election_type_t type, kb_election_item_t *items,
                                   size_t n, int32_t timeout_ms, kb_elections_done_fn done, void *arg);

#endif
