/*
 * kc_election.h - the controller election primitive (spec section 2.1).
 *
 * One attempt: read /controller; if absent, read /controller_epoch (creating
 * it with "0"), then in one multi create the ephemeral /controller and bump
 * /controller_epoch conditionally on its version.  Whether this broker won,
 * and with which epoch and epoch zkVersion (the fencing token every
 * controller write is checked against), is reported to done.
 */
#ifndef KC_ELECTION_H
#define KC_ELECTION_H

#include "coord/kc_zk.h"

typedef struct kc_election_result {
    int rc;                    /* KC_OK when the attempt completed (won or lost) */
    bool won;
    int32_t controller_id;     /* the controller after the attempt, -1 if unknown */
    int32_t epoch;             /* our controller epoch when won */
    int32_t epoch_zk_version;  /* /controller_epoch version when won */
} kc_election_result_t;

typedef void (*kc_election_fn)(const kc_election_result_t *r, void *arg);

void kc_controller_elect(kc_session_t *s, int32_t self_id, kc_election_fn done, void *arg);

/* What an attempt makes of the broker id /controller names (-1 when it is
 * unreadable): another broker's (or garbage) - lost; ours, created in this
 * session - we are the controller and only read the epoch; ours from an
 * earlier session (a restart after kill -9) - delete it and try again. */
typedef enum { KC_ELECT_LOST = 0, KC_ELECT_OURS, KC_ELECT_STALE_SELF } kc_elect_seen_t;
kc_elect_seen_t kc_election_judge(int32_t controller_id, int32_t self_id, bool same_session);

/* /controller_epoch's data as an epoch the next controller can bump:
 * 0 <= epoch < INT32_MAX, decimal, at most 31 bytes.  0, or -1. */
int kc_election_parse_epoch(const char *data, int len, int32_t *epoch);

/* Deletes /controller if it still names self_id (resignation on shutdown). */
void kc_controller_resign(kc_session_t *s, int32_t self_id, kc_done_fn done, void *arg);

#endif
