/*
 * kb_registration.c - base paths, cluster id and /brokers/ids/N for each
 * ZooKeeper session (see kb_registration.h).
 *
 * The steps run as a chain of completions: base paths -> cluster id ->
 * register.  `running` keeps one chain at a time; a chain cut short by a
 * lost connection is started again when the session reconnects.
 */
#include "broker/kb_registration.h"

#include <event2/event.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "coord/kc_log.h"
#include "coord/kc_registry.h"

#define REGISTRATION_RETRY_MS 1000

struct kb_registration {
    kb_broker_t *b;
    kb_registered_fn on_registered;
    kb_fatal_fn on_fatal;
    bool running;
    bool registered;
    bool ever_registered;
    int64_t czxid;
    uint64_t session_gen; /* session generation the chain runs for */
    char cluster_id[64];
    kc_broker_info_t self;
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
    return 0;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg) { registration_start(arg); }

static void chain_failed(kb_registration_t *r, const char *step, int rc) {
    r->running = false;
    kc_warn("registration", "%s failed: %s; retrying", step, kc_strerror(rc));
    struct timeval tv = {REGISTRATION_RETRY_MS / 1000, 0};
    if (kc_session_connected(r->b->zk)) evtimer_add(r->retry_ev, &tv);
}

static void registered(int rc, int64_t czxid, void *arg) {
    kb_registration_t *r = arg;
    if (r->session_gen != kc_session_generation(r->b->zk)) {
        r->running = false; /* an answer for an expired session */
        registration_start(r);
        return;
    }
    if (rc == KC_EXISTS && !r->ever_registered) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "broker.id %d is already registered in ZooKeeper by another live broker with different "
                 "endpoints; each broker needs a unique broker.id", (int)r->self.id);
        r->running = false;
        r->on_fatal(r->b, msg);
        return;
    }
    if (rc != KC_OK) {
        chain_failed(r, "registration", rc);
        return;
    }
    r->running = false;
    r->registered = true;
    r->ever_registered = true;
    r->czxid = czxid;
    kc_info("registration", "registered as broker %d (broker epoch %lld) in cluster %s", (int)r->self.id,
            (long long)czxid, r->cluster_id);
    r->on_registered(r->b, czxid);
}

static void cluster_id_known(int rc, const char *cluster_id, void *arg) {
    kb_registration_t *r = arg;
    if (rc != KC_OK) {
        chain_failed(r, "reading /cluster/id", rc);
        return;
    }
    snprintf(r->cluster_id, sizeof(r->cluster_id), "%s", cluster_id);
    r->self.timestamp_ms = now_ms();
    kc_broker_register(r->b->zk, &r->self, registered, r);
}

static void base_paths_ready(int rc, void *arg) {
    kb_registration_t *r = arg;
    if (rc != KC_OK) {
        chain_failed(r, "creating base paths", rc);
        return;
    }
    kc_cluster_id_get_or_create(r->b->zk, cluster_id_known, r);
}

static void registration_start(kb_registration_t *r) {
    if (r->running || r->registered || !kc_session_connected(r->b->zk)) return;
    r->running = true;
    r->session_gen = kc_session_generation(r->b->zk);
    kc_ensure_base_paths(r->b->zk, base_paths_ready, r);
}

static void on_session(kc_session_t *s, kc_session_state_t st, bool new_session, void *arg) {
    kb_registration_t *r = arg;
    if (st == KC_SESSION_EXPIRED) {
        r->registered = false; /* the ephemeral znode went with the session */
    } else if (st == KC_SESSION_CONNECTED) {
        if (new_session) r->registered = false;
        registration_start(r);
    }
}

kb_registration_t *kb_registration_new(kb_broker_t *b, kb_registered_fn on_registered, kb_fatal_fn on_fatal) {
    kb_registration_t *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->b = b;
    r->on_registered = on_registered;
    r->on_fatal = on_fatal;
    r->retry_ev = evtimer_new(b->base, retry_cb, r);
    if (!r->retry_ev || build_self(r) < 0) {
        kb_registration_free(r);
        return NULL;
    }
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

void kb_registration_shutdown(kb_registration_t *r, kc_done_fn done, void *arg) {
    evtimer_del(r->retry_ev);
    if (!r->registered) {
        done(KC_OK, arg);
        return;
    }
    r->registered = false;
    kc_broker_deregister(r->b->zk, r->self.id, done, arg);
}
