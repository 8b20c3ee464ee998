/*
 * kb_admin_op.h - an operation over several topics, answered when every
 * topic has settled or timeout_ms passes: the machinery CreateTopics
 * (kb_topic_creator), CreatePartitions (kb_partition_adder) and
 * DeleteTopics (kb_topic_deleter) share.
 *
 * An operation holds a slot per requested topic with its answer (error
 * code and message).  A slot is final (the answer stands), waiting (its
 * ZooKeeper work is done; the service's `ready` hook says when the cluster
 * shows the result), or in a state of the service's own (work in flight).
 * A waiting operation sits on the service's park list with a timer for
 * timeout_ms and a recheck event: a completion only pokes the event
 * (kb_admin_op_poke) instead of answering itself, since completions also
 * run inside kc_session_free() at teardown, after the service is gone.
 * The operation is answered once: every slot final (looked at when the
 * service calls kb_admin_park_recheck on a cluster change, or from the
 * recheck event), after timeout_ms (the `fail` hook answers what it can,
 * the rest when its completion comes), or at shutdown (the `fail` hook
 * answers every unsettled slot).  It is reference counted: one reference
 * per completion in flight plus the holder's (the caller's, then the park
 * list's), so it outlives its answer while work is in flight.
 */
#ifndef KB_ADMIN_OP_H
#define KB_ADMIN_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/kp_buf.h"

struct event_base;
struct event;
typedef struct kb_admin_op kb_admin_op_t;

/* Slot states the machinery knows; a service numbers its own from
 * KB_SLOT_SERVICE on. */
enum {
    KB_SLOT_FINAL = 0,   /* error_code is the answer */
    KB_SLOT_WAITING = 1, /* waiting for the cluster to show the result (`ready`) */
    KB_SLOT_SERVICE = 2,
};

/* One requested topic and its answer. */
typedef struct {
    kb_admin_op_t *op;
    kp_str_t name;        /* borrowed from the request (valid while held) */
    char *cname;          /* owned C copy, or NULL (the service decides when) */
    int state;
    int16_t error_code;
    char *error_message;  /* owned; NULL = null (success) */
} kb_admin_slot_t;

/* Why unsettled slots are being answered. */
typedef enum { KB_ADMIN_TIMEOUT, KB_ADMIN_SHUTDOWN } kb_admin_end_t;

/* What the services differ in. */
typedef struct {
    /* Slot i is waiting: true once the cluster shows it done (it then
     * settles 0). */
    bool (*ready)(kb_admin_op_t *op, int32_t i);
    /* Slot i is unsettled when timeout_ms passed or the broker shuts down:
     * answer it (kb_admin_slot_final), or, at a timeout only, leave it to
     * its completion.  A slot left unsettled at shutdown is answered 7
     * without a message. */
    void (*fail)(kb_admin_op_t *op, int32_t i, kb_admin_end_t end);
    /* Releases what the service keeps in op->ext (NULL: nothing beyond
     * op->ext and op->slot_ext themselves). */
    void (*clear)(kb_admin_op_t *op);
} kb_admin_hooks_t;

/* A service's waiting operations (embedded in the service). */
typedef struct {
    struct event_base *base;       /* for timers; NULL: waiting is impossible */
    const kb_admin_hooks_t *hooks;
    void *service;                 /* for the hooks */
    kb_admin_op_t *parked;
    int n_parked;
} kb_admin_park_t;

/* Called once when a waiting operation is answered; the results may be
 * read during the call only. */
typedef void (*kb_admin_op_done_fn)(const kb_admin_op_t *op, void *arg);

/* Read by the services; the handlers use the functions below. */
struct kb_admin_op {
    kb_admin_park_t *park;  /* the service's: gone with it, so not read once answered */
    const kb_admin_hooks_t *hooks; /* static, so it outlives the service */
    void *ext;              /* the service's part of the operation (zeroed) */
    void *slot_ext;         /* the service's array of per-slot parts (zeroed) */
    bool answered;          /* completions no longer change the answer */
    bool timed_out;         /* timeout_ms passed while some slot was still unsettled */
    int32_t n_slots;
    kb_admin_slot_t *slots;
    kb_admin_op_done_fn done;  /* set while parked */
    void *done_arg;
    int32_t timeout_ms;     /* as requested, for the timeout answers' messages */
    struct event *timer;
    struct event *recheck;
    int refs;
    kb_admin_op_t *prev, *next; /* on the park list while waiting */
};

/* An operation of n slots, every one final with code 0 and its name
 * unset, held once by the caller, with ext_size bytes of op->ext and
 * n_slots elements of slot_ext_size bytes in op->slot_ext (both zeroed;
 * NULL for size 0).  NULL when out of memory. */
kb_admin_op_t *kb_admin_op_new(kb_admin_park_t *park, int32_t n_slots, size_t ext_size, size_t slot_ext_size);
/* A reference for a completion in flight, and its release. */
void kb_admin_op_ref(kb_admin_op_t *op);
void kb_admin_op_unref(kb_admin_op_t *op);
/* A completion changed a slot: look at the operation again from the loop
 * (no-op unless it waits). */
void kb_admin_op_poke(kb_admin_op_t *op);

/* Gives slot s its final answer (why copied; NULL for a null message). */
void kb_admin_slot_final(kb_admin_slot_t *s, int16_t code, const char *why);
/* An owned C copy of a requested name that can be a topic name's length
 * and holds no NUL byte; NULL otherwise (or when out of memory). */
char *kb_admin_name_dup(kp_str_t name);

/* True when every topic has its final answer. */
bool kb_admin_op_settled(const kb_admin_op_t *op);
int32_t kb_admin_op_count(const kb_admin_op_t *op);
/* Topic i's name (as requested), error code and message (NULL for none). */
void kb_admin_op_result(const kb_admin_op_t *op, int32_t i, kp_str_t *name, int16_t *error_code,
                        const char **error_message);
/* Parks op until every slot settles or timeout_ms passes (<= 0: the next
 * loop turn).  Takes over the caller's hold: 0 when done will be called,
 * -1 when waiting is impossible (the caller still holds op). */
int kb_admin_op_wait(kb_admin_op_t *op, int32_t timeout_ms, kb_admin_op_done_fn done, void *arg);
/* Answers every unsettled topic 7 with why (when waiting is impossible). */
void kb_admin_op_give_up(kb_admin_op_t *op, const char *why);
/* Drops the caller's hold; completions in flight keep op alive but no
 * longer change its answer. */
void kb_admin_op_release(kb_admin_op_t *op);

/* The cluster changed: answers the parked operations whose slots all
 * settle now. */
void kb_admin_park_recheck(kb_admin_park_t *park);
/* Answers every parked operation (the `fail` hook, KB_ADMIN_SHUTDOWN).
 * Safe to call more than once. */
void kb_admin_park_shutdown(kb_admin_park_t *park);

#endif
