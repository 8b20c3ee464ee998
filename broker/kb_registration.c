/*
 * kb_registration.c - base paths, cluster id and /brokers/ids/N for each
 * ZooKeeper session (see kb_registration.h).
 *
 * The steps run as a chain of completions: record the session in the log
 * dirs -> base paths -> cluster id -> verify it against meta.properties ->
 * register -> watch the registration.  `running` keeps one chain at a
 * time; a chain cut short by a lost connection is started again when the
 * session reconnects.
 */
#include "broker/kb_registration.h"

#include <event2/event.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "broker/kb_session_record.h"
#include "broker/rpc/kb_rpc.h"
#include "common/kc_log.h"
#include "coord/kc_registry.h"

#define REGISTRATION_RETRY_MS 1000
#define RETRY_LOG_INTERVAL_MS 10000

struct kb_registration {
    kb_broker_t *b;
    kb_verify_fn verify;
    kb_registered_fn on_registered;
    kb_lost_fn on_lost;
    kb_fatal_fn on_fatal;
    bool running;
    bool registered;
    bool ever_registered;
    bool stopped;         /* shutting down: never register again */
    kc_done_fn deregistered; /* kb_registration_shutdown's caller, while the delete runs */
    void *deregistered_arg;
    int64_t czxid;
    uint64_t registrations;
    uint64_t session_gen; /* session generation the chain runs for */
    uint64_t recorded_gen; /* session generation last written to the log dirs */
    char cluster_id[64];
    kc_broker_info_t self;
    kb_session_record_t sessions; /* this broker's sessions, from its log dirs */
    kc_registration_watch_t watch;
    kc_ratelimit_t retry_log;
    struct event *retry_ev;
};

static void registration_start(kb_registration_t *r);

static int64_t now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* An empty advertised host means "this machine's canonical host name", as in Kafka. */
static char *advertised_host(const char *host) {
    char name[256];
    struct addrinfo hints = {.ai_flags = AI_CANONNAME}, *ai = NULL;
    if (host[0]) return strdup(host);
    if (gethostname(name, sizeof(name)) != 0) return strdup("localhost");
    name[sizeof(name) - 1] = '\0';
    if (getaddrinfo(name, NULL, &hints, &ai) == 0 && ai && ai->ai_canonname) {
        char *canon = strdup(ai->ai_canonname);
        freeaddrinfo(ai);
        return canon;
    }
    if (ai) freeaddrinfo(ai);
    return strdup(name);
}

/* Builds the registration from the advertised listeners (ports already
 * resolved by the listeners' bind). */
static int build_self(kb_registration_t *r) {
    const kb_config_t *cfg = r->b->cfg;
    kc_broker_info_t *s = &r->self;
    kc_broker_info_clear(s);
    s->id = cfg->broker_id;
    s->jmx_port = -1;
    s->port = -1;
    s->endpoints = calloc((size_t)cfg->n_advertised, sizeof(*s->endpoints));
    if (!s->endpoints) return -1;
    s->n_endpoints = cfg->n_advertised;
    for (int i = 0; i < cfg->n_advertised; i++) {
        const kb_listener_t *l = &cfg->advertised[i];
        kc_endpoint_t *e = &s->endpoints[i];
        e->listener = strdup(l->name);
        e->host = advertised_host(l->host);
        e->port = l->port;
        e->security_protocol = strdup(l->protocol);
        if (!e->listener || !e->host || !e->security_protocol) return -1;
    }
    if (cfg->broker_rack && !(s->rack = strdup(cfg->broker_rack))) return -1;
    /* The RPC endpoint, under its kbroker-only key: the bound port, on the
     * advertised host of the listener whose bind host it shares (the
     * inter-broker one, kb_config_rpc_advertised_host). */
    const char *rpc_host = kb_config_rpc_advertised_host(cfg);
    if (r->b->rpc_server && rpc_host) {
        if (!(s->rpc_host = advertised_host(rpc_host))) return -1;
        s->rpc_port = kb_rpc_server_port(r->b->rpc_server);
    }
    return 0;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg) { registration_start(arg); }

static void chain_failed(kb_registration_t *r, const char *step, const char *why) {
    uint64_t dropped = 0;
    r->running = false;
    if (kc_ratelimit_allow(&r->retry_log, RETRY_LOG_INTERVAL_MS, &dropped))
        kc_warn("registration", "%s failed: %s; retrying every %d ms%s", step, why, REGISTRATION_RETRY_MS,
                dropped ? " (earlier failures not logged)" : "");
    struct timeval tv = {REGISTRATION_RETRY_MS / 1000, 0};
    if (kc_session_connected(r->b->zk)) evtimer_add(r->retry_ev, &tv);
}

static void registration_gone(void *arg) {
    kb_registration_t *r = arg;
    if (!r->registered || r->stopped || r->running) return;
    if (r->session_gen != kc_session_generation(r->b->zk) || !kc_session_connected(r->b->zk)) return;
    kc_warn("registration", "/brokers/ids/%d was deleted while this broker's ZooKeeper session 0x%llx is alive "
            "(by an operator or another process, not by a session expiry); registering again", (int)r->self.id,
            (unsigned long long)kc_session_id(r->b->zk));
    r->registered = false;
    r->on_lost(r->b);
    registration_start(r);
}

static void refuse_takeover(kb_registration_t *r, const char *holder) {
    char msg[768];
    snprintf(msg, sizeof(msg),
             "broker.id %d is already registered in ZooKeeper by a live broker (/brokers/ids/%d %s); refusing to "
             "take over its registration: each broker needs a unique broker.id", (int)r->self.id, (int)r->self.id,
             holder ? holder : "held by another session");
    r->running = false;
    r->on_fatal(r->b, msg);
}

static void registered(int rc, int64_t czxid, const char *holder, void *arg) {
    kb_registration_t *r = arg;
    if (r->session_gen != kc_session_generation(r->b->zk)) {
        r->running = false; /* an answer for an expired session */
        registration_start(r);
        return;
    }
    if (rc == KC_EXISTS && !r->ever_registered) {
        refuse_takeover(r, holder);
        return;
    }
    if (rc != KC_OK) {
        char why[600];
        snprintf(why, sizeof(why), "%s%s%s", kc_strerror(rc), holder ? ": /brokers/ids/N is " : "",
                 holder ? holder : "");
        chain_failed(r, "registration", why);
        return;
    }
    r->running = false;
    r->registered = true;
    r->ever_registered = true;
    r->czxid = czxid;
    r->registrations++;
    kc_info("registration", "registered as broker %d (broker epoch %lld) in cluster %s", (int)r->self.id,
            (long long)czxid, r->cluster_id);
    kc_broker_watch_registration(&r->watch);
    r->on_registered(r->b, czxid);
}

/* The log dirs must belong to this cluster before the broker registers in
 * it (Kafka checks meta.properties between reading /cluster/id and
 * registering, too). */
static void cluster_id_known(int rc, const char *cluster_id, void *arg) {
    kb_registration_t *r = arg;
    char err[768];
    if (rc != KC_OK) {
        chain_failed(r, "reading /cluster/id", kc_strerror(rc));
        return;
    }
    snprintf(r->cluster_id, sizeof(r->cluster_id), "%s", cluster_id);
    if (r->verify(r->b, r->cluster_id, err, sizeof(err)) != 0) {
        r->running = false;
        r->on_fatal(r->b, err);
        return;
    }
    r->self.timestamp_ms = now_ms();
    kc_broker_register(r->b->zk, &r->self, r->sessions.ids, r->sessions.n, registered, r);
}

static void base_paths_ready(int rc, void *arg) {
    kb_registration_t *r = arg;
    if (rc != KC_OK) {
        chain_failed(r, "creating base paths", kc_strerror(rc));
        return;
    }
    kc_cluster_id_get_or_create(r->b->zk, cluster_id_known, r);
}

static void registration_start(kb_registration_t *r) {
    if (r->running || r->registered || r->stopped || !kc_session_connected(r->b->zk)) return;
    r->running = true;
    r->session_gen = kc_session_generation(r->b->zk);
    /* Written before anything this session creates can exist, so a
     * registration left by this process is always recognised as its own
     * by the next one. */
    if (r->recorded_gen != r->session_gen) {
        kb_session_record_add(&r->sessions, r->b->cfg, kc_session_id(r->b->zk));
        r->recorded_gen = r->session_gen;
    }
    kc_ensure_base_paths(r->b->zk, base_paths_ready, r);
}

static void on_session(kc_session_t *s, kc_session_state_t st, bool new_session, void *arg) {
    kb_registration_t *r = arg;
    if (st == KC_SESSION_EXPIRED) {
        bool was = r->registered;
        r->registered = false; /* the ephemeral znode went with the session */
        if (was && !r->stopped) r->on_lost(r->b);
    } else if (st == KC_SESSION_CONNECTED) {
        if (new_session) r->registered = false;
        registration_start(r);
    }
}

kb_registration_t *kb_registration_new(kb_broker_t *b, kb_verify_fn verify, kb_registered_fn on_registered,
                                       kb_lost_fn on_lost, kb_fatal_fn on_fatal) {
    kb_registration_t *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->b = b;
    r->verify = verify;
    r->on_registered = on_registered;
    r->on_lost = on_lost;
    r->on_fatal = on_fatal;
    r->retry_ev = evtimer_new(b->base, retry_cb, r);
    if (!r->retry_ev || build_self(r) < 0) {
        kb_registration_free(r);
        return NULL;
    }
    kb_session_record_load(&r->sessions, b->cfg);
    r->watch = (kc_registration_watch_t){.s = b->zk, .id = b->cfg->broker_id, .gone = registration_gone, .arg = r};
    kc_session_add_listener(b->zk, on_session, r);
    return r;
}

void kb_registration_free(kb_registration_t *r) {
    if (!r) return;
    if (r->retry_ev) event_free(r->retry_ev);
    kc_broker_info_clear(&r->self);
    free(r);
}

bool kb_registration_registered(const kb_registration_t *r) { return r->registered; }
int64_t kb_registration_epoch(const kb_registration_t *r) { return r->czxid; }
const char *kb_registration_cluster_id(const kb_registration_t *r) { return r->cluster_id[0] ? r->cluster_id : NULL; }
uint64_t kb_registration_count(const kb_registration_t *r) { return r->registrations; }

/* The registration stays this broker's until its znode is gone: the
 * controller may still send to this incarnation meanwhile (the
 * LeaderAndIsr and StopReplica of its controlled shutdown travel on
 * another connection than the answer, and may come after it), and they
 * are handled as Kafka's broker handles them before it stops, not refused
 * as meant for a lost registration. */
static void deregistered(int rc, void *arg) {
    kb_registration_t *r = arg;
    r->registered = false;
    r->deregistered(rc, r->deregistered_arg);
}

void kb_registration_shutdown(kb_registration_t *r, kc_done_fn done, void *arg) {
    evtimer_del(r->retry_ev);
    r->stopped = true;
    if (!r->registered) {
        done(KC_OK, arg);
        return;
    }
    r->deregistered = done;
    r->deregistered_arg = arg;
    kc_broker_deregister(r->b->zk, r->self.id, deregistered, r);
}
