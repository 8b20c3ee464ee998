/*
 * kb_control_internal.h - the state behind kb_control_requests.h, shared
 * by its cores (kb_control_requests.c) and their RPC adapters
 * (kb_control_rpc.c), and by nothing else.  The adapters live in a file of
 * their own so that a program using the cores alone (the unit suite) does
 * not link the RPC channel.
 */
#ifndef KB_CONTROL_INTERNAL_H
#define KB_CONTROL_INTERNAL_H

#include "broker/kb_control_requests.h"

struct kb_control {
    kb_control_deps_t deps;
    int32_t controller_epoch;    /* the highest accepted; -1 before any */
    kb_control_stats_t stats;
    /* One request's role updates, reused from request to request (grown,
     * never shrunk): the update, its outcome, and the index of the
     * request's partition it came from. */
    kb_role_update_t *u;
    kb_role_outcome_t *outcome;
    size_t *from;
    size_t cap;
    kb_rpc_handler_t handlers[3]; /* kb_control_handlers */
};

#endif
