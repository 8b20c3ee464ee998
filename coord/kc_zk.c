/*
 * kc_zk.c - a ZooKeeper session driven by a libevent loop.
 *
 * The single-threaded ZooKeeper client never blocks and never starts a
 * thread: it tells us which socket it wants to read or write and how long it
 * may wait (zookeeper_interest), and does its work when we call
 * zookeeper_process.  One libevent event mirrors that wish; it is re-armed
 * after every call into the client, so completions and watches always run on
 * the loop thread.
 *
 * Life of a session object:
 *   start -> [CHROOT: plain handle creates the chroot path] -> MAIN handle
 *   MAIN handle expires -> closed and reopened with a fresh session
 *   zookeeper_init fails -> retried after a backoff (100 ms doubling to 5 s)
 * Owners see CONNECTED (new_session tells them to re-create ephemeral znodes
 * and watches), DISCONNECTED and EXPIRED through their listeners.
 */
#include "coord/kc_zk.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/kc_log.h"
#include "coord/kc_zk_log.h"

#define KC_MAX_LISTENERS 8
#define HANDLE_RETRY_MIN_MS 100
#define HANDLE_RETRY_MAX_MS 5000

typedef enum { PHASE_IDLE, PHASE_CHROOT, PHASE_MAIN } session_phase_t;

typedef struct listener {
    kc_session_state_fn fn;
    void *arg;
} listener_t;

struct kc_session {
    struct event_base *base;
    char *hosts;   /* connect string without the chroot */
    char *chroot;  /* "/kafka" or NULL */
    int timeout_ms;
    session_phase_t phase;
    zhandle_t *zh;
    struct event *io_ev;     /* mirrors zookeeper_interest() */
    struct event *kick_ev;   /* deferred re-arm after queueing requests */
    struct event *reopen_ev; /* deferred close+open (never inside zookeeper_process);
                              * also the timer of a handle-creation retry */
    bool connected;
    int64_t heard_ms;        /* monotonic ms: the session surely lived on the quorum's leader then
                              * (the send time of the last answered probe; kc_session_lease_held) */
    struct event *probe_ev;  /* every third of the session timeout: a sync probe */
    int64_t probe_sent_ms;
    bool probe_in_flight;
    int64_t session_id;
    uint64_t generation;
    int chroot_pending;      /* outstanding creates of chroot components */
    int chroot_failed;
    listener_t listeners[KC_MAX_LISTENERS];
    int n_listeners;
    kc_watch_fn watch_fn;
    void *watch_arg;
    kc_session_stats_t stats;
    int retry_ms;            /* backoff before the next handle creation; 0 after a success */
    int failures_in_row;     /* handle creations failed since the last success */
    kc_ratelimit_t init_log; /* one line per interval while creation keeps failing */
};

static int64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void session_open(kc_session_t *s);
static void session_rearm(kc_session_t *s);

int kc_from_zrc(int zrc) {
    switch (zrc) {
    case ZOK: return KC_OK;
    case ZNODEEXISTS: return KC_EXISTS;
    case ZNONODE: return KC_NONODE;
    case ZBADVERSION: return KC_BADVERSION;
    case ZCONNECTIONLOSS:
    case ZOPERATIONTIMEOUT:
    case ZSESSIONEXPIRED:
    case ZSESSIONMOVED:
    case ZCLOSING:
    case ZINVALIDSTATE: return KC_CONNLOSS;
    default: return KC_ERR;
    }
}

const char *kc_strerror(int rc) {
    switch (rc) {
    case KC_OK: return "ok";
    case KC_EXISTS: return "already exists";
    case KC_NONODE: return "does not exist";
    case KC_BADVERSION: return "concurrent update (bad version)";
    case KC_CONNLOSS: return "ZooKeeper connection lost";
    case KC_FENCED: return "controller epoch moved (fenced)";
    case KC_INVALID: return "invalid request";
    case KC_MARKED: return "marked for deletion";
    default: return "ZooKeeper error";
    }
}

/* Request header (xid, type), then the CreateRequest: path and data each
 * with a 4-byte length, the ACL vector (count; perms, scheme "world" and id
 * "anyone", each string with a 4-byte length) and the flags. */
size_t kc_zk_create_request_size(const char *path, size_t data_len) {
    size_t acl = 4 + (4 + (4 + strlen("world")) + (4 + strlen("anyone")));
    return 4 + 4 + (4 + strlen(path)) + (4 + data_len) + acl + 4;
}

static void notify(kc_session_t *s, kc_session_state_t st, bool new_session) {
    for (int i = 0; i < s->n_listeners; i++) s->listeners[i].fn(s, st, new_session, s->listeners[i].arg);
}

/* Splits "h1:2181,h2:2181/kafka" into hosts and chroot ("/" alone = none). */
static int split_connect(kc_session_t *s, const char *connect) {
    const char *slash = strchr(connect, '/');
    size_t hlen = slash ? (size_t)(slash - connect) : strlen(connect);
    if (hlen == 0) return -1;
    s->hosts = strndup(connect, hlen);
    if (slash && strcmp(slash, "/") != 0) {
        size_t clen = strlen(slash);
        if (slash[clen - 1] == '/' || strstr(slash, "//")) return -1;
        s->chroot = strdup(slash);
    }
    return 0;
}

kc_session_t *kc_session_new(struct event_base *base, const char *connect, int session_timeout_ms) {
    kc_session_t *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->base = base;
    s->timeout_ms = session_timeout_ms;
    if (split_connect(s, connect) < 0) {
        kc_session_free(s);
        return NULL;
    }
    kc_zk_log_install();
    return s;
}

void kc_session_add_listener(kc_session_t *s, kc_session_state_fn fn, void *arg) {
    if (s->n_listeners < KC_MAX_LISTENERS) s->listeners[s->n_listeners++] = (listener_t){fn, arg};
}

void kc_session_remove_listener(kc_session_t *s, kc_session_state_fn fn, void *arg) {
    for (int i = 0; i < s->n_listeners; i++) {
        if (s->listeners[i].fn != fn || s->listeners[i].arg != arg) continue;
        memmove(&s->listeners[i], &s->listeners[i + 1], (size_t)(s->n_listeners - i - 1) * sizeof(listener_t));
        s->n_listeners--;
        return;
    }
}

void kc_session_set_watch_handler(kc_session_t *s, kc_watch_fn fn, void *arg) {
    s->watch_fn = fn;
    s->watch_arg = arg;
}

bool kc_session_connected(const kc_session_t *s) { return s->connected && s->phase == PHASE_MAIN; }
zhandle_t *kc_session_handle(kc_session_t *s) { return s->phase == PHASE_MAIN ? s->zh : NULL; }
int64_t kc_session_id(const kc_session_t *s) { return s->session_id; }
struct event_base *kc_session_base(kc_session_t *s) { return s->base; }
uint64_t kc_session_generation(const kc_session_t *s) { return s->generation; }

bool kc_session_lease_held(const kc_session_t *s) {
    return s->connected && s->phase == PHASE_MAIN && monotonic_ms() - s->heard_ms < (int64_t)s->stats.timeout_ms * 2 / 3;
}
void kc_session_get_stats(const kc_session_t *s, kc_session_stats_t *out) { *out = s->stats; }

const char *kc_zk_status_name(kc_zk_status_t status) {
    static const char *names[KC_ZK_STATUS_COUNT] = {"no_handle", "connecting", "connected", "disconnected"};
    return (unsigned)status < KC_ZK_STATUS_COUNT ? names[status] : "unknown";
}

const char *kc_zk_init_error(int err) {
    switch (err) {
    case ENOENT: return "none of its host names resolves";
    case EINVAL: return "invalid connect string, or host name resolution failed";
    case ENOMEM: return "out of memory";
    default: return strerror(err);
    }
}

/* ---- driving the client from the loop ---- */

static void session_io_cb(evutil_socket_t fd, short what, void *arg) {
    kc_session_t *s = arg;
    int events = 0;
    if (what & EV_READ) events |= ZOOKEEPER_READ;
    if (what & EV_WRITE) events |= ZOOKEEPER_WRITE;
    if (s->zh) zookeeper_process(s->zh, events);
    session_rearm(s);
}

static void session_rearm(kc_session_t *s) {
    int fd = -1, interest = 0;
    struct timeval tv = {1, 0};
    short what = 0;

    if (s->io_ev) event_del(s->io_ev);
    if (!s->zh) return;
    int rc = zookeeper_interest(s->zh, &fd, &interest, &tv);
    if (rc != ZOK && rc != ZCONNECTIONLOSS && rc != ZOPERATIONTIMEOUT) {
        /* ZINVALIDSTATE: the session expired; the watcher has scheduled a
         * reopen.  Poll again soon in case it has not. */
        tv = (struct timeval){0, 100000};
        fd = -1;
    }
    if (fd >= 0) {
        if (interest & ZOOKEEPER_READ) what |= EV_READ;
        if (interest & ZOOKEEPER_WRITE) what |= EV_WRITE;
    }
    if (!s->io_ev || event_get_fd(s->io_ev) != (fd >= 0 ? fd : -1) || event_get_events(s->io_ev) != what) {
        if (s->io_ev) event_free(s->io_ev);
        s->io_ev = event_new(s->base, fd >= 0 ? fd : -1, what, session_io_cb, s);
    }
    event_add(s->io_ev, &tv);
}

static void session_kick_cb(evutil_socket_t fd, short what, void *arg) { session_rearm(arg); }

void kc_session_kick(kc_session_t *s) {
    if (s->kick_ev && !event_pending(s->kick_ev, EV_TIMEOUT, NULL)) event_active(s->kick_ev, EV_TIMEOUT, 0);
}

/* ---- the session lease (kc_session_lease_held) ----
 *
 * Neither the client's pings nor any other read prove the session alive:
 * after a pause the socket may still hold an answer the server sent before
 * it expired the session, read before the closed connection behind it.  A
 * sync is answered only after the quorum's leader has checked the session
 * (a follower forwards it; reads a follower serves alone, and its pings, are
 * checked against its own copy of the sessions), so when one completes the
 * session lived at some moment after the sync was sent: the lease runs from
 * that send time. */

static void probe_done(int rc, const char *value, const void *data) {
    kc_session_t *s = (kc_session_t *)data;
    s->probe_in_flight = false;
    if (rc == ZOK && s->probe_sent_ms > s->heard_ms) s->heard_ms = s->probe_sent_ms;
}

static void probe_cb(evutil_socket_t fd, short what, void *arg) {
    kc_session_t *s = arg;
    if (!s->zh || !s->connected || s->phase != PHASE_MAIN || s->probe_in_flight) return;
    s->probe_sent_ms = monotonic_ms();
    if (zoo_async(s->zh, "/", probe_done, s) != ZOK) return;
    s->probe_in_flight = true;
    kc_session_kick(s);
}

/* Probes every third of the granted timeout from now on. */
static void probe_start(kc_session_t *s) {
    int every_ms = s->stats.timeout_ms / 3 > 0 ? s->stats.timeout_ms / 3 : 1;
    struct timeval tv = {every_ms / 1000, (every_ms % 1000) * 1000};
    if (!s->probe_ev) s->probe_ev = event_new(s->base, -1, EV_PERSIST, probe_cb, s);
    if (s->probe_ev) event_add(s->probe_ev, &tv);
}

/* ---- session state ---- */

static void on_connected(kc_session_t *s) {
    const clientid_t *cid = zoo_client_id(s->zh);
    bool new_session = cid->client_id != s->session_id;
    s->connected = true;
    s->session_id = cid->client_id;
    if (new_session) s->generation++;
    if (new_session) s->stats.sessions++;
    s->stats.status = KC_ZK_STATUS_CONNECTED;
    s->stats.timeout_ms = zoo_recv_timeout(s->zh);
    /* The handshake just created or renewed the session, on a connection
     * too new to hold stale answers. */
    s->heard_ms = monotonic_ms();
    probe_start(s);
    kc_info("zk", "connected to ZooKeeper %s%s (session 0x%llx%s, session timeout %d ms)", s->hosts,
            s->chroot ? s->chroot : "", (unsigned long long)s->session_id, new_session ? ", new" : ", resumed",
            s->stats.timeout_ms);
    notify(s, KC_SESSION_CONNECTED, new_session);
}

static void on_session_event(kc_session_t *s, int state) {
    if (s->phase == PHASE_CHROOT) {
        if (state == ZOO_CONNECTED_STATE) {
            s->connected = true;
        }
        return;
    }
    if (state == ZOO_CONNECTED_STATE) {
        on_connected(s);
    } else if (state == ZOO_EXPIRED_SESSION_STATE) {
        kc_warn("zk", "ZooKeeper session 0x%llx expired; opening a new session",
                (unsigned long long)s->session_id);
        s->connected = false;
        s->stats.expirations++;
        s->stats.status = KC_ZK_STATUS_NO_HANDLE;
        notify(s, KC_SESSION_EXPIRED, false);
        event_active(s->reopen_ev, EV_TIMEOUT, 0);
    } else if (state == ZOO_CONNECTING_STATE || state == ZOO_ASSOCIATING_STATE) {
        if (s->connected) {
            kc_warn("zk", "lost connection to ZooKeeper; reconnecting");
            s->connected = false;
            s->stats.status = KC_ZK_STATUS_DISCONNECTED;
            notify(s, KC_SESSION_DISCONNECTED, false);
        }
    } else if (state == ZOO_AUTH_FAILED_STATE) {
        kc_error("zk", "ZooKeeper authentication failed");
    }
}

/* The global watcher also receives, as ZOO_SESSION_EVENT, every state change;
 * watches left with kc_session_watcher carry the session as context. */
static void global_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    kc_session_t *s = ctx;
    if (type == ZOO_SESSION_EVENT) on_session_event(s, state);
}

void kc_session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    kc_session_t *s = ctx;
    /* The C client copies session events to every registered watcher. */
    if (type == ZOO_SESSION_EVENT || type == ZOO_NOTWATCHING_EVENT) return;
    if (s->watch_fn && s->phase == PHASE_MAIN) s->watch_fn(s, type, path, s->watch_arg);
}

/* ---- chroot creation: a plain handle creates each component, in order ---- */

static void chroot_created(int rc, const char *value, const void *data) {
    kc_session_t *s = (kc_session_t *)data;
    if (rc != ZOK && rc != ZNODEEXISTS) s->chroot_failed = rc;
    if (--s->chroot_pending == 0) event_active(s->reopen_ev, EV_TIMEOUT, 0);
}

/* ZooKeeper answers requests of one session in order, so all components
 * can be queued at once: each create finds its parent already made. */
static void chroot_create_components(kc_session_t *s) {
    char path[1024];
    size_t n = strlen(s->chroot);
    if (n >= sizeof(path)) n = sizeof(path) - 1;
    for (size_t i = 1; i <= n; i++) {
        if (i != n && s->chroot[i] != '/') continue;
        memcpy(path, s->chroot, i);
        path[i] = '\0';
        s->chroot_pending++;
        zoo_acreate(s->zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, chroot_created, s);
    }
    kc_session_kick(s);
}

static void chroot_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    kc_session_t *s = ctx;
    if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE && s->chroot_pending == 0 && !s->connected) {
        s->connected = true;
        chroot_create_components(s);
    }
}

static void session_close_handle(kc_session_t *s) {
    if (!s->zh) return;
    zhandle_t *zh = s->zh;
    s->zh = NULL;
    if (s->io_ev) event_del(s->io_ev);
    /* Outstanding completions run inside zookeeper_close with ZCLOSING. */
    zookeeper_close(zh);
}

/* zookeeper_init failed: count it, say so (rate-limited) and try again
 * after a backoff, however long it takes; the owners keep seeing no
 * session, and the metrics say why. */
static void handle_failed(kc_session_t *s, int err) {
    uint64_t dropped = 0;
    s->stats.status = KC_ZK_STATUS_NO_HANDLE;
    s->stats.handle_failures++;
    s->stats.last_handle_errno = err;
    s->failures_in_row++;
    s->retry_ms = s->retry_ms ? s->retry_ms * 2 : HANDLE_RETRY_MIN_MS;
    if (s->retry_ms > HANDLE_RETRY_MAX_MS) s->retry_ms = HANDLE_RETRY_MAX_MS;
    if (kc_ratelimit_allow(&s->init_log, KC_ZK_LOG_INTERVAL_MS, &dropped))
        kc_error("zk", "cannot create a ZooKeeper client handle for %s: %s; retrying in %d ms "
                 "(%d consecutive failures)", s->hosts, kc_zk_init_error(err), s->retry_ms, s->failures_in_row);
    struct timeval tv = {s->retry_ms / 1000, (s->retry_ms % 1000) * 1000};
    event_add(s->reopen_ev, &tv);
}

static void session_open(kc_session_t *s) {
    char connect[2048];
    s->connected = false;
    if (s->phase == PHASE_CHROOT) {
        s->chroot_pending = 0;
        s->chroot_failed = 0;
    }
    snprintf(connect, sizeof(connect), "%s%s", s->hosts, s->phase == PHASE_MAIN && s->chroot ? s->chroot : "");
    s->zh = zookeeper_init2(connect, s->phase == PHASE_CHROOT ? chroot_watcher : global_watcher, s->timeout_ms,
                            NULL, s, 0, kc_zk_log_callback);
    if (!s->zh) {
        handle_failed(s, errno);
        return;
    }
    if (s->failures_in_row > 0)
        kc_info("zk", "created a ZooKeeper client handle for %s after %d failed attempts", s->hosts,
                s->failures_in_row);
    s->failures_in_row = 0;
    s->retry_ms = 0;
    s->stats.status = KC_ZK_STATUS_CONNECTING;
    /* By default the client resolves the server names again (getaddrinfo,
     * a netlink round trip) on every zookeeper_interest(), i.e. after each
     * batch of answers: a fifth of the loop's time while thousands of
     * partitions are created.  Resolve when (re)connecting only. */
    zoo_set_servers_resolution_delay(s->zh, -1);
    session_rearm(s);
}

static void session_reopen_cb(evutil_socket_t fd, short what, void *arg) {
    kc_session_t *s = arg;
    /* Activated for another reason while a retry timer was pending. */
    event_del(s->reopen_ev);
    if (!s->zh) {
        session_open(s); /* a retry after zookeeper_init failed, in either phase */
        return;
    }
    if (s->phase == PHASE_CHROOT) {
        if (s->chroot_failed) {
            kc_error("zk", "cannot create chroot %s: %s; retrying", s->chroot, zerror(s->chroot_failed));
            session_close_handle(s);
            session_open(s);
            return;
        }
        kc_info("zk", "chroot %s is present", s->chroot);
        session_close_handle(s);
        s->phase = PHASE_MAIN;
        session_open(s);
        return;
    }
    session_close_handle(s);
    session_open(s);
}

int kc_session_start(kc_session_t *s) {
    if (!s->kick_ev) s->kick_ev = event_new(s->base, -1, 0, session_kick_cb, s);
    if (!s->reopen_ev) s->reopen_ev = event_new(s->base, -1, 0, session_reopen_cb, s);
    if (!s->kick_ev || !s->reopen_ev) return -1;
    s->phase = s->chroot ? PHASE_CHROOT : PHASE_MAIN;
    session_open(s);
    return s->zh ? 0 : 1;
}

void kc_session_free(kc_session_t *s) {
    if (!s) return;
    session_close_handle(s);
    kc_zk_log_flush();
    if (s->io_ev) event_free(s->io_ev);
    if (s->kick_ev) event_free(s->kick_ev);
    if (s->reopen_ev) event_free(s->reopen_ev);
    if (s->probe_ev) event_free(s->probe_ev);
    free(s->hosts);
    free(s->chroot);
    free(s);
}

/* ---- blocking helpers for tools ---- */

static void wait_timeout_cb(evutil_socket_t fd, short what, void *arg) { *(int *)arg = 1; }

int kc_session_wait(kc_session_t *s, const int *done, int timeout_ms) {
    int timed_out = 0;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    struct event *t = evtimer_new(s->base, wait_timeout_cb, &timed_out);
    evtimer_add(t, &tv);
    while (!*done && !timed_out) event_base_loop(s->base, EVLOOP_ONCE);
    event_free(t);
    return *done ? 0 : -1;
}

static void wait_connected_cb(kc_session_t *s, kc_session_state_t st, bool new_session, void *arg) {
    if (st == KC_SESSION_CONNECTED) *(int *)arg = 1;
}

int kc_session_wait_connected(kc_session_t *s, int timeout_ms) {
    static int connected_flag;
    connected_flag = kc_session_connected(s);
    if (connected_flag) return 0;
    kc_session_add_listener(s, wait_connected_cb, &connected_flag);
    return kc_session_wait(s, &connected_flag, timeout_ms);
}
