/*
 * kc_zk.h - a ZooKeeper session driven by a libevent loop.
 *
 * kbroker uses the single-threaded ZooKeeper C client: the session registers
 * the client's socket with the event loop (zookeeper_interest) and lets the
 * client run (zookeeper_process) when it is ready, so every completion and
 * watch runs on the loop thread and no ZooKeeper thread ever touches broker
 * state.  When the server declares the session expired, the session object
 * closes the handle and opens a new one by itself; owners learn about it
 * through the state callback and must re-create ephemeral znodes and watches.
 * If the new handle cannot even be created (zookeeper_init fails when no host
 * name of the connect string resolves), creation is retried with backoff
 * and every failure is counted and logged (rate-limited), so a broker never
 * sits without a handle silently.
 *
 * A chroot in the connect string ("h1:2181,h2:2181/kafka") is created,
 * recursively, before the chrooted handle is opened.
 */
#ifndef KC_ZK_H
#define KC_ZK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zookeeper/zookeeper.h>

struct event_base;

typedef struct kc_session kc_session_t;

typedef enum {
    KC_SESSION_CONNECTED,    /* (re)connected; `new_session` says whether it is a new session */
    KC_SESSION_DISCONNECTED, /* connection lost; the session may still be alive on the server */
    KC_SESSION_EXPIRED,      /* the old session is gone; a new one is being opened */
} kc_session_state_t;

/* Where the session stands, for metrics and operators. */
typedef enum {
    KC_ZK_STATUS_NO_HANDLE,    /* no client handle: not started yet, or zookeeper_init failed and is retried */
    KC_ZK_STATUS_CONNECTING,   /* a handle, no session yet */
    KC_ZK_STATUS_CONNECTED,
    KC_ZK_STATUS_DISCONNECTED, /* the connection was lost; the session may still live on the server */
} kc_zk_status_t;
#define KC_ZK_STATUS_COUNT 4

typedef struct kc_session_stats {
    kc_zk_status_t status;
    uint64_t sessions;        /* sessions established */
    uint64_t expirations;     /* sessions ZooKeeper expired */
    uint64_t handle_failures; /* zookeeper_init calls that failed (each is retried) */
    int timeout_ms;           /* session timeout the server granted; 0 before the first session */
    int last_handle_errno;    /* errno of the last failed zookeeper_init (see kc_zk_init_error) */
} kc_session_stats_t;

typedef void (*kc_session_state_fn)(kc_session_t *s, kc_session_state_t state, bool new_session,
                                    void *arg);

/* Watch callback: type is ZOO_CREATED_EVENT, ZOO_DELETED_EVENT,
 * ZOO_CHANGED_EVENT or ZOO_CHILD_EVENT; path is relative to the chroot. */
typedef void (*kc_watch_fn)(kc_session_t *s, int type, const char *path, void *arg);

kc_session_t *kc_session_new(struct event_base *base, const char *connect, int session_timeout_ms);
void kc_session_free(kc_session_t *s);

/* Several owners may listen; each gets every state change. */
void kc_session_add_listener(kc_session_t *s, kc_session_state_fn fn, void *arg);
void kc_session_remove_listener(kc_session_t *s, kc_session_state_fn fn, void *arg);

/* Starts connecting (creates the chroot first if the connect string has one).
 * Returns 0 once a client handle exists, 1 when creating it failed (its
 * host names did not resolve, say): the failure is logged and creation is
 * retried with backoff, as after every session expiry; -1 when out of
 * memory. */
int kc_session_start(kc_session_t *s);

void kc_session_get_stats(const kc_session_t *s, kc_session_stats_t *out);
/* "no_handle", "connecting", "connected", "disconnected". */
const char *kc_zk_status_name(kc_zk_status_t status);
/* Why zookeeper_init failed, from the errno it left. */
const char *kc_zk_init_error(int err);

bool kc_session_connected(const kc_session_t *s);
zhandle_t *kc_session_handle(kc_session_t *s);   /* NULL while (re)opening */
int64_t kc_session_id(const kc_session_t *s);    /* 0 until connected */
struct event_base *kc_session_base(kc_session_t *s);
/* Incremented every time a new session is established. */
uint64_t kc_session_generation(const kc_session_t *s);

/*
 * Whether the session surely still lives: connected, and a sync probe
 * (sent every third of the session timeout, answered only after the
 * quorum's leader has checked the session) sent within the last two thirds
 * of the timeout has been answered.  The leader expires a session only a
 * whole timeout after it last heard from it, and it heard from us after
 * the probe was sent, so while this holds no controller can have declared
 * this broker dead.  False after a process pause or a partition from
 * ZooKeeper as soon as the loop runs again, before the client has learnt
 * anything (an answer still buffered from before the pause does not
 * count); also during a ZooKeeper outage, when nobody can tell.  Reads the
 * monotonic clock.
 */
bool kc_session_lease_held(const kc_session_t *s);

/* Every watch libkcoord leaves (zoo_aw*() with kc_session_watcher as the
 * watcher and the session as its context) is delivered to the one handler
 * set here, by event type and path; the cluster view is that handler.  This
 * keeps no per-watch allocation: ZooKeeper drops the watches of an expired
 * session, and session events the client copies to every watcher are
 * filtered out before the handler runs. */
void kc_session_set_watch_handler(kc_session_t *s, kc_watch_fn fn, void *arg);
void kc_session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx);

/* Re-evaluates what the ZooKeeper client wants to do on its socket; coord
 * code calls it after queueing requests so they are sent promptly. */
void kc_session_kick(kc_session_t *s);

/*
 * Blocking helpers for short-lived tools (kbroker-admin, tests): run the loop
 * until the session is connected, or until a started operation completes.
 * They must not be called from inside a callback of the same loop.
 * kc_session_wait_connected returns 0, or -1 after timeout_ms.
 */
int kc_session_wait_connected(kc_session_t *s, int timeout_ms);
/* Runs the loop until *done is non-zero or timeout_ms passes (-1 on timeout). */
int kc_session_wait(kc_session_t *s, const int *done, int timeout_ms);

/* ZooKeeper's jute.maxbuffer default (0xfffff): the server drops the
 * connection of a client that sends a longer request (counted after its
 * 4-byte length prefix), and the client reconnects and fails again on every
 * retry.  Writes that could come near it are measured first. */
#define KC_ZK_MAX_REQUEST_BYTES 0xfffff

/* Length, as the server counts it, of a create request for path with
 * data_len bytes of data and the one world:anyone ACL libkcoord uses. */
size_t kc_zk_create_request_size(const char *path, size_t data_len);

/* Status codes of libkcoord operations (0 / negative, never a Kafka error). */
enum {
    KC_OK = 0,
    KC_ERR = -1,         /* unexpected ZooKeeper or allocation failure */
    KC_EXISTS = -2,      /* the znode already exists (e.g. topic already exists) */
    KC_NONODE = -3,      /* the znode does not exist */
    KC_BADVERSION = -4,  /* a conditional write lost to a concurrent writer */
    KC_CONNLOSS = -5,    /* not connected, or the connection was lost mid-operation */
    KC_FENCED = -6,      /* a controller write failed its /controller_epoch check */
    KC_INVALID = -7,     /* the caller's input is invalid (bad name, assignment, ...) */
    KC_MARKED = -8,      /* the topic is marked for deletion (/admin/delete_topics/T exists) */
};

/* Maps a ZooKeeper return code (ZOK, ZNODEEXISTS, ...) to a KC_* code. */
int kc_from_zrc(int zrc);
const char *kc_strerror(int rc);

/* Completion of an asynchronous libkcoord operation. */
typedef void (*kc_done_fn)(int rc, void *arg);

#endif
