/*
 * main.c - the kbroker daemon: start-up, signals and shutdown.
 *
 * Start-up order matters to operators: configuration is checked first (exit
 * status 2 names the bad key), then the listeners are bound (the Kafka
 * listeners, and the inter-broker RPC listener just before registering, so
 * its port can be published in /brokers/ids/N), the file
 * descriptor limit raised to its hard limit, the log directories opened
 * (locked, checked against that limit, and recovered after an unclean
 * shutdown) and the metrics endpoint started (exit status 1 on failure) before anything is
 * written to ZooKeeper, so a broker that cannot serve never registers.
 * Clients are served from the moment the listeners are bound; Metadata
 * reflects ZooKeeper as soon as the cluster view has loaded.  Before
 * registering, the log dirs' meta.properties must name this broker and
 * the cluster of /cluster/id (exit status 1 otherwise, and no
 * /brokers/ids/N is ever created); after the first registration the broker
 * says it serves clients, and the partitions assigned here take their roles
 * from the view.
 *
 * SIGTERM and SIGINT answer the CreateTopics requests waiting for leaders,
 * then ask the controller to move this broker's leaderships away
 * (controlled.shutdown.enable, kb_controlled_shutdown.h), serving clients
 * meanwhile; then they answer the CreateTopics requests that waited since,
 * drop the partition log creations not started yet, give up the controller role, delete /brokers/ids/N, answer or drop
 * every other waiting request, close the logs cleanly (checkpoints and the
 * clean-shutdown marker) and exit 0; a second signal skips what is left of
 * both steps, and any signal after the loop has ended is ignored.
 *
 * Signal dispositions: once the configuration is read, and before
 * libevent takes SIGTERM and SIGINT, note_early_signal() is their handler;
 * libevent saves it and puts it back when its signal events are freed, so
 * neither signal has its default (fatal) action from then on, while the
 * broker runs or tears down.
 */
#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "broker/admin/kb_config_writer.h"
#include "broker/admin/kb_producer_ids.h"
#include "broker/admin/kb_partition_adder.h"
#include "broker/admin/kb_topic_creator.h"
#include "broker/admin/kb_topic_deleter.h"
#include "broker/group/kb_group.h"
#include "broker/api/kb_api.h"
#include "broker/api/kb_api_listen.h"
#include "broker/controller/kb_controller.h"
#include "broker/controller/kb_ctl_rpc.h"
#include "broker/kb_broker.h"
#include "broker/kb_control_requests.h"
#include "broker/kb_controlled_shutdown.h"
#include "broker/controller/kb_ctl_shutdown.h"
#include "broker/controller/kb_leader_election.h"
#include "broker/kb_registration.h"
#include "broker/log/kb_log.h"
#include "broker/metadata/kb_metadata.h"
#include "broker/metadata/kb_metadata_view.h"
#include "broker/metrics/kb_metrics.h"
#include "broker/replica/kb_replicas.h"
#include "broker/replica/kb_settings_view.h"
#include "broker/rpc/kb_rpc.h"
#include "common/kb_worker.h"
#include "common/kc_log.h"
#include "coord/kc_view.h"

#define SHUTDOWN_GRACE_MS 3000
/* The worker threads decompress and scan for clients; under a full CPU the
 * loop, which every client waits on, goes first. */
#define WORKER_NICE 5
/* Room in the RPC handler table (one row per method). */
#define MAX_RPC_HANDLERS 8
/* RPC connections a broker takes at once (kb_rpc_server_opts_t): the
 * controller keeps one to each broker, and a follower's replica fetchers
 * one each per leader broker, so a cluster of hundreds of brokers stays
 * well below it.  It is a backstop: the server's own limits (those waiting
 * for their Hello, those per broker id, kb_rpc.h) come first. */
#define KB_RPC_MAX_CONNECTIONS 1024

typedef struct kb_process {
    kb_broker_t broker;
    kb_config_t cfg;
    kb_metrics_t metrics;  /* the counters broker.metrics points at */
    kb_api_ctx_t api;      /* what the API handlers see of the broker */
    int exit_status;
    int shutdown_steps;    /* ZooKeeper clean-ups still running */
    bool shutting_down;
    bool logs_verified;    /* meta.properties matched this broker and cluster */
    /* The topics' log settings from the view (roles come only from the
     * controller's LeaderAndIsr, kb_control_requests.c). */
    kb_settings_feed_t *settings_feed;
    kb_ctl_transport_t *ctl_transport; /* the controller's RPC clients to brokers */
    kb_controlled_shutdown_t *controlled; /* the controlled shutdown running, if any */
    struct evdns_base *dns;            /* resolves brokers' advertised RPC hosts */
    struct event *sig_term, *sig_int, *connect_timer, *grace_timer;
} kb_process_t;

static void usage(FILE *out) {
    fprintf(out,
            "usage: kbroker [--override KEY=VALUE]... SERVER_PROPERTIES\n"
            "       kbroker --version | --help\n"
            "\n"
            "Starts one Kafka-compatible broker configured by a Kafka server.properties file\n"
            "(see kbroker.properties(5)).  --override sets a key after the file is read.\n"
            "Exit status: 0 clean shutdown, 1 start-up failure, 2 invalid configuration.\n");
}

/* ---- lifecycle ---- */

static void stop_loop(kb_process_t *p, int status) {
    if (status > p->exit_status) p->exit_status = status;
    event_base_loopbreak(p->broker.base);
}

static void shutdown_step_done(int rc, void *arg) {
    kb_process_t *p = arg;
    if (--p->shutdown_steps == 0) stop_loop(p, 0);
}

static void grace_expired(evutil_socket_t fd, short what, void *arg) {
    kc_warn("main", "ZooKeeper clean-up did not finish within %d ms; exiting anyway", SHUTDOWN_GRACE_MS);
    stop_loop(arg, 0);
}

static void registration_removed(int rc, void *arg) {
    kb_process_t *p = arg;
    if (rc != KC_OK) kc_warn("main", "could not delete the registration: %s", kc_strerror(rc));
    else kc_info("main", "deleted the registration /brokers/ids/%d", (int)p->cfg.broker_id);
    shutdown_step_done(rc, p);
}

static void controller_resigned(int rc, void *arg) {
    kb_process_t *p = arg;
    kb_registration_shutdown(p->broker.registration, registration_removed, p);
}

/* The shutdown proper, after the controlled shutdown (if any). */
static void stop_serving(kb_process_t *p) {
    /* Requests waiting on the cluster get their answer while the loop can
     * still send it; the rest are answered or dropped at teardown. */
    kb_topic_creator_shutdown(p->broker.topic_creator);
    kb_partition_adder_shutdown(p->broker.partition_adder);
    kb_topic_deleter_shutdown(p->broker.topic_deleter);
    kb_coordinator_shutdown(p->broker.coordinator);
    if (p->broker.replicas) kb_replicas_stop_creating(p->broker.replicas);
    struct timeval tv = {SHUTDOWN_GRACE_MS / 1000, (SHUTDOWN_GRACE_MS % 1000) * 1000};
    evtimer_add(p->grace_timer, &tv);
    if (!kc_session_connected(p->broker.zk)) {
        stop_loop(p, 0); /* nothing can be cleaned up in ZooKeeper */
        return;
    }
    p->shutdown_steps = 1;
    kb_controller_shutdown(p->broker.controller, controller_resigned, p);
}

static void controlled_shutdown_done(bool moved, void *arg) {
    kb_process_t *p = arg;
    kb_controlled_shutdown_free(p->controlled);
    p->controlled = NULL;
    stop_serving(p);
}

/* With controlled.shutdown.enable, and while registered and connected
 * (a controller can then act on the request), the controller first moves
 * this broker's leaderships away (kb_controlled_shutdown.h); the broker
 * serves meanwhile.  A second signal stops at once, whatever runs. */
static void begin_shutdown(kb_process_t *p, const char *why) {
    kb_broker_t *b = &p->broker;
    if (p->shutting_down) {
        kc_warn("main", "second signal: exiting now");
        stop_loop(p, 0);
        return;
    }
    p->shutting_down = true;
    kc_info("main", "shutting down (%s)", why);
    /* CreateTopics and CreatePartitions waiting for leaders are answered
     * now, as before there was a controlled shutdown (a controller that is
     * going away answers "shut down before the topic was ready"); whatever
     * parks meanwhile is answered when serving stops. */
    kb_topic_creator_shutdown(b->topic_creator);
    kb_partition_adder_shutdown(b->partition_adder);
    if (p->cfg.controlled_shutdown_enable && kc_session_connected(b->zk) && b->registration &&
        kb_registration_registered(b->registration))
        p->controlled = kb_controlled_shutdown_start(b, p->dns, controlled_shutdown_done, p);
    if (!p->controlled) stop_serving(p);
}

/* Which of SIGTERM/SIGINT arrived while libevent was not handling them:
 * before the loop's signal events exist, and after teardown freed them. */
static volatile sig_atomic_t early_signal;

static void note_early_signal(int sig) { early_signal = sig; }

static void install_early_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = note_early_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    begin_shutdown(arg, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void on_connect_timeout(evutil_socket_t fd, short what, void *arg) {
    kb_process_t *p = arg;
    if (kb_registration_registered(p->broker.registration) || p->shutting_down) return;
    kc_error("main", "could not connect to ZooKeeper at %s within %d ms (zookeeper.connection.timeout.ms)",
             p->cfg.zookeeper_connect, (int)p->cfg.zookeeper_connection_timeout_ms);
    stop_loop(p, 1);
}

static void on_fatal(kb_broker_t *b, const char *message) {
    kb_process_t *p = (kb_process_t *)b; /* broker is the first member */
    kc_error("main", "%s", message);
    stop_loop(p, 1);
}

/* Log dirs that belong to another broker id or cluster must not be served,
 * nor registered in this cluster; a dir without meta.properties gets one
 * now, as the cluster id is known. */
static int verify_identity(kb_broker_t *b, const char *cluster_id, char *err, size_t errlen) {
    return kb_logmgr_check_identity(b->logs, b->cfg->broker_id, cluster_id, err, errlen);
}

static void log_serving(const kb_config_t *cfg) {
    for (int i = 0; i < cfg->n_listeners; i++)
        kc_info("main", "serving Kafka clients on %s://%s:%d", cfg->listeners[i].name,
                cfg->listeners[i].host[0] ? cfg->listeners[i].host : "0.0.0.0", cfg->listeners[i].port);
}

static void on_registered(kb_broker_t *b, int64_t czxid) {
    kb_process_t *p = (kb_process_t *)b;
    event_del(p->connect_timer);
    if (!p->logs_verified) {
        p->logs_verified = true;
        log_serving(b->cfg);
        /* Catch up with the view changes held back until now (the feed is
         * NULL if this runs inside kc_session_free at teardown). */
        if (p->settings_feed) kb_settings_feed_apply(p->settings_feed);
    }
    /* Hello names this registration's czxid as the broker epoch. */
    kb_rpc_server_set_identity(b->rpc_server, (kb_rpc_identity_t){b->cfg->broker_id, czxid});
    if (b->replicas) kb_replicas_set_identity(b->replicas, (kb_rpc_identity_t){b->cfg->broker_id, czxid});
    kb_controller_on_registered(b->controller);
}

/* The roles this broker holds were given to the registration it just lost
 * (kb_roles.h, "Resigning"). */
static void on_registration_lost(kb_broker_t *b) {
    if (b->replicas) kb_replicas_resign_leaderships(b->replicas);
}

static void on_view_change(kc_view_t *v, int what, void *arg) {
    kb_broker_t *b = arg;
    kb_process_t *p = (kb_process_t *)b;
    /* No partition is hosted (nor any log created) before the log dirs are
     * known to belong to this broker and cluster. */
    if (p->settings_feed && p->logs_verified) kb_settings_feed_apply(p->settings_feed);
    if (b->controller) kb_controller_on_view_change(b->controller, what);
    /* After the controller's own handling: this broker may have just
     * become the controller its controlled shutdown asks. */
    if (p->controlled && (what & KC_VIEW_CONTROLLER)) kb_controlled_shutdown_controller_changed(p->controlled);
    /* The metadata cache, and through its listeners the services waiting
     * on it (topic creation), see the change. */
    if (b->metadata_config_feed) kb_metadata_config_feed_apply(b->metadata_config_feed);
    if (b->topic_deleter) kb_topic_deleter_view_changed(b->topic_deleter); /* DeleteTopics waiting */
}

/* ---- start-up ---- */

static int load_config(kb_process_t *p, int argc, char **argv) {
    static const struct option opts[] = {{"override", required_argument, NULL, 'o'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char err[512];
    int c;
    const char *overrides[64];
    int n_overrides = 0;
    while ((c = getopt_long(argc, argv, "o:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            if (n_overrides == 64) {
                fprintf(stderr, "kbroker: too many --override options\n");
                return 2;
            }
            overrides[n_overrides++] = optarg;
            break;
        case 'V': printf("kbroker %s\n", PACKAGE_VERSION); exit(0);
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    /* Defaults, then the file, then --override, then the checks: a required
     * key may come from an override alone. */
    kb_config_defaults(&p->cfg);
    int rc = kb_config_read(&p->cfg, argv[optind], err, sizeof(err));
    for (int i = 0; rc == KB_CONFIG_OK && i < n_overrides; i++)
        rc = kb_config_override(&p->cfg, overrides[i], err, sizeof(err));
    if (rc == KB_CONFIG_OK) rc = kb_config_finish(&p->cfg, err, sizeof(err));
    if (rc == KB_CONFIG_OK && p->cfg.broker_id < 0) {
        snprintf(err, sizeof(err), "invalid value '%d' for broker.id: set a unique non-negative broker.id "
                 "(id generation is not supported)", (int)p->cfg.broker_id);
        rc = KB_CONFIG_INVALID;
    }
    if (rc != KB_CONFIG_OK) {
        fprintf(stderr, "kbroker: %s\n", err);
        return rc == KB_CONFIG_IO ? 1 : 2;
    }
    return 0;
}

static kc_log_level_t log_level(const char *name) {
    if (!name) return KC_LOG_INFO;
    if (strcmp(name, "debug") == 0) return KC_LOG_DEBUG;
    if (strcmp(name, "warn") == 0) return KC_LOG_WARN;
    if (strcmp(name, "error") == 0) return KC_LOG_ERROR;
    return KC_LOG_INFO;
}

/* libevent's own warnings (a failed accept() on a listener without an
 * error callback, a failed epoll_ctl) go through the logger, at most one
 * line per severity every 10 s: out of descriptors, libevent would print
 * one per attempt, as fast as the loop turns. */
static void libevent_log(int severity, const char *msg) {
    static kc_ratelimit_t limits[4];
    static const kc_log_level_t levels[4] = {KC_LOG_DEBUG, KC_LOG_INFO, KC_LOG_WARN, KC_LOG_ERROR};
    int i = severity < 0 ? 0 : severity > 3 ? 3 : severity;
    kc_log_limited(&limits[i], 10000, levels[i], "libevent", "%s", msg);
}

/* A broker keeps one descriptor per partition log plus one per client
 * connection, so it takes every descriptor the hard limit allows (the soft
 * one is often 1024).  The log manager then checks that the partitions it
 * finds fit. */
static void raise_fd_limit(void) {
    struct rlimit rl;
    rlim_t was;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    was = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            kc_warn("main", "cannot raise the file descriptor limit to %llu: %s", (unsigned long long)rl.rlim_max,
                    strerror(errno));
            rl.rlim_cur = was;
        }
    }
    if (rl.rlim_cur == was)
        kc_info("main", "file descriptor limit (RLIMIT_NOFILE): %llu", (unsigned long long)rl.rlim_cur);
    else
        kc_info("main", "file descriptor limit (RLIMIT_NOFILE): raised from %llu to the hard limit %llu",
                (unsigned long long)was, (unsigned long long)rl.rlim_cur);
}

/* The worker threads, the partition logs, the replicas on top of them and
 * the metrics endpoint: everything local that must work before the broker
 * registers. */
static int start_local(kb_process_t *p) {
    kb_broker_t *b = &p->broker;
    char err[512];
    raise_fd_limit();
    b->worker = kb_worker_new(b->base, p->cfg.num_io_threads, "kb-worker", WORKER_NICE);
    if (!b->worker) {
        kc_error("main", "cannot start %d worker threads (num.io.threads)", (int)p->cfg.num_io_threads);
        return 1;
    }
    b->logs = kb_logmgr_open(b->base, &p->cfg, err, sizeof(err));
    if (!b->logs) {
        kc_error("main", "%s", err);
        return 1;
    }
    b->replicas = kb_replicas_new(&(kb_replicas_deps_t){.base = b->base, .cfg = &p->cfg, .logs = b->logs,
                                                        .worker = b->worker});
    if (!b->replicas) {
        kc_error("main", "cannot create the partition table: out of memory");
        return 1;
    }
    if (kb_metrics_start(b, err, sizeof(err)) != 0) {
        kc_error("main", "%s", err);
        return 1;
    }
    return 0;
}

/* The metadata cache (filled by UpdateMetadata; the view feeds it only
 * topic configs and the cluster id), and the services that write cluster
 * state for clients (broker/admin). */
static int start_services(kb_process_t *p) {
    kb_broker_t *b = &p->broker;
    kb_topic_creator_deps_t deps;

    b->metadata = kb_metadata_new();
    if (!b->metadata || !b->view) return -1;
    b->metadata_config_feed = kb_metadata_config_feed_new(b->metadata, b->view);
    if (!b->metadata_config_feed) return -1;
    /* Every broker is held to this one's partition budget (kb_capacity.h). */
    const kb_fd_budget_t *budget = kb_logmgr_budget(b->logs);
    deps = (kb_topic_creator_deps_t){b->base, b->zk, b->metadata, p->cfg.num_partitions,
                                     p->cfg.default_replication_factor, NULL, budget, b->view};
    b->topic_creator = kb_topic_creator_new(&deps);
    b->partition_adder =
        kb_partition_adder_new(&(kb_partition_adder_deps_t){b->base, b->zk, b->metadata, NULL, budget, b->view});
    b->topic_deleter = kb_topic_deleter_new(&(kb_topic_deleter_deps_t){b->base, b->zk, b->view, NULL});
    b->producer_ids = kb_producer_ids_new(b->zk, p->cfg.broker_id);
    b->config_writer = kb_config_writer_new(b->zk);
    b->coordinator = kb_coordinator_new(&(kb_coordinator_deps_t){b->base, &p->cfg, b->replicas, b->metadata,
                                                                 b->topic_creator, b->worker});
    return b->topic_creator && b->partition_adder && b->topic_deleter && b->producer_ids && b->config_writer &&
                   b->coordinator
               ? 0
               : -1;
}

static bool controller_active(void *controller) { return kb_controller_active(controller); }

static int16_t alter_reassignments(void *controller, const kc_reassign_entry_t *items, int n, int32_t timeout_ms,
                                   kc_reassign_answer_t *answers, void (*done)(void *arg), void *arg,
                                   bool *pending) {
    return kb_controller_alter_reassignments(controller, items, n, timeout_ms, answers, done, arg, pending);
}

static int16_t list_reassignments(void *controller, const kc_reassign_entry_t *only, int n_only,
                                  void (*emit)(void *arg, const char *topic, int32_t partition,
                                               const kc_partition_t *p),
                                  void *arg) {
    return kb_controller_list_reassignments(controller, only, n_only, emit, arg);
}

/* The handlers' view of the broker: its cache, partitions and services,
 * not the ZooKeeper session, the view or the logs.  Filled before the loop
 * runs, so no request sees it half-filled. */
static void fill_api_ctx(kb_process_t *p) {
    kb_broker_t *b = &p->broker;
    p->api = (kb_api_ctx_t){.base = b->base, .cfg = &p->cfg, .metadata = b->metadata, .replicas = b->replicas,
                            .topic_creator = b->topic_creator, .partition_adder = b->partition_adder,
                            .topic_deleter = b->topic_deleter,
                            .config_writer = b->config_writer,
                            .producer_ids = b->producer_ids, .worker = b->worker, .metrics = b->metrics,
                            .coordinator = b->coordinator,
                            .is_controller = controller_active, .controller = b->controller,
                            .alter_reassignments = alter_reassignments, .list_reassignments = list_reassignments,
                            .elect_leaders = kb_controller_elect_leaders};
}

/* The broker epoch requests are fenced with: the czxid of the current
 * registration, -1 before the first (kb_control_registration_epoch). */
static int64_t broker_epoch(void *arg) {
    kb_broker_t *b = arg;
    return b->registration ? kb_control_registration_epoch(b->registration) : -1;
}

/*
 * The RPC methods this broker serves (the controller's requests, from
 * kb_control_handlers, the brokers' ControlledShutdown while it is the
 * controller, from kb_controller_rpc_handlers, and the followers'
 * fetches, from kb_replicas_rpc_handlers), copied into h (room for MAX_RPC_HANDLERS);
 * returns how many.  A method without a row is answered UNSUPPORTED_VERSION (35).
 * The controller sends only to a registered broker (its Hello must carry
 * the registration's czxid), so no role arrives before the log dirs are
 * verified.
 */
static size_t rpc_handlers(kb_broker_t *b, kb_rpc_handler_t *h) {
    size_t n = 0;
    const kb_rpc_handler_t *rows = kb_control_handlers(b->control, &n);
    if (n > MAX_RPC_HANDLERS) n = MAX_RPC_HANDLERS;
    for (size_t i = 0; i < n; i++) h[i] = rows[i];
    n += kb_controller_rpc_handlers(b, h + n, MAX_RPC_HANDLERS - n);
    return n + kb_replicas_rpc_handlers(b->replicas, h + n, MAX_RPC_HANDLERS - n);
}

/* A topic deleted from the metadata cache: its committed offsets go. */
static void topic_deleted(void *coordinator, const char *topic) { kb_coordinator_topic_deleted(coordinator, topic); }

/* The broker side of the controller's requests: roles into the
 * partitions, UpdateMetadata into the metadata cache. */
static int start_control(kb_process_t *p) {
    kb_broker_t *b = &p->broker;
    b->control = kb_control_new(&(kb_control_deps_t){.replicas = b->replicas, .metadata = b->metadata,
                                                      .cfg = &p->cfg, .broker_epoch = broker_epoch,
                                                      .epoch_arg = b, .view = b->view,
                                                      .topic_deleted = topic_deleted,
                                                      .topic_deleted_arg = b->coordinator});
    return b->control ? 0 : -1;
}

/* The controller's clients to every broker's RPC port (used only while
 * this broker is the controller). */
static int start_controller(kb_process_t *p) {
    kb_broker_t *b = &p->broker;
    p->dns = evdns_base_new(b->base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!p->dns) kc_warn("main", "no DNS resolver (resolv.conf unreadable): brokers' RPC hosts must be numeric");
    b->controller = kb_controller_new(b);
    p->ctl_transport = kb_ctl_rpc_transport_new(&(kb_ctl_rpc_opts_t){
        .base = b->base, .dns = p->dns, .max_frame = (uint32_t)p->cfg.rpc_max_frame_bytes,
        .connect_timeout_ms = p->cfg.controller_socket_timeout_ms,
        .backoff_ms = p->cfg.rpc_reconnect_backoff_ms, .backoff_max_ms = p->cfg.rpc_reconnect_backoff_max_ms});
    if (!b->controller || !p->ctl_transport) return -1;
    return kb_controller_set_transport(b->controller, p->ctl_transport);
}

/* The fetchers' resolver: a leader's RPC endpoint and registration czxid
 * as the view has them. */
static bool leader_endpoint(void *arg, int32_t broker_id, const char **host, int *port, int64_t *epoch) {
    kb_broker_t *b = arg;
    const kc_broker_info_t *info = b->view ? kc_view_broker(b->view, broker_id) : NULL;
    int32_t p = -1;
    *host = info ? kc_broker_rpc_endpoint(info, &p) : NULL;
    *port = p;
    *epoch = info ? info->czxid : -1;
    return *host != NULL && info->czxid > 0;
}

/* The follower fetchers, which dial the leaders the view knows; this
 * broker's identity reaches them with its registration (on_registered). */
static int start_fetchers(kb_process_t *p) {
    kb_broker_t *b = &p->broker;
    kb_fetchers_opts_t o = {.dns = p->dns, .resolve = leader_endpoint, .resolve_arg = b,
                            .self = {p->cfg.broker_id, -1}};
    return kb_replicas_start_fetchers(b->replicas, &o);
}

/* The RPC server's peer_known: a Hello is taken from a broker whose
 * registration, with that czxid as its epoch, is in this broker's view.
 * A registration the view has not read yet is refused for now: the peer's
 * client redials with backoff (kb_rpc.h). */
static bool rpc_peer_known(void *arg, int32_t broker_id, int64_t broker_epoch) {
    kb_broker_t *b = arg;
    const kc_broker_info_t *info = b->view ? kc_view_broker(b->view, broker_id) : NULL;
    return info && info->czxid > 0 && info->czxid == broker_epoch;
}

/* The inter-broker RPC listener on kbroker.rpc.port (0: any free port),
 * on the bind host of the inter-broker listener, whose advertised host the
 * registration publishes with it (kb_config_rpc_bind_host); the broker
 * epoch is -1 until the first registration (on_registered).  A peer gets
 * controller.socket.timeout.ms for its Hello, as the controller's client
 * gives the answer. */
static int start_rpc(kb_process_t *p) {
    kb_broker_t *b = &p->broker;
    kb_rpc_handler_t handlers[MAX_RPC_HANDLERS];
    char err[512];
    kb_rpc_server_opts_t o = {
        .host = kb_config_rpc_bind_host(&p->cfg),
        .port = p->cfg.rpc_port,
        .max_frame = (uint32_t)p->cfg.rpc_max_frame_bytes,
        .idle_ms = p->cfg.connections_max_idle_ms,
        .hello_timeout_ms = p->cfg.controller_socket_timeout_ms,
        .max_connections = KB_RPC_MAX_CONNECTIONS,
        .max_unidentified = KB_RPC_MAX_UNIDENTIFIED,
        .max_per_broker = KB_RPC_MAX_PER_BROKER,
        .max_per_broker_total = KB_RPC_MAX_PER_BROKER_TOTAL,
        .peer_known = rpc_peer_known,
        .peer_known_arg = b,
        .self = {p->cfg.broker_id, -1},
        .handlers = handlers,
        .n_handlers = rpc_handlers(b, handlers),
    };
    b->rpc_server = kb_rpc_server_new(b->base, &o, err, sizeof(err));
    if (!b->rpc_server) {
        kc_error("main", "cannot start the RPC listener (kbroker.rpc.port): %s", err);
        return -1;
    }
    kc_info("main", "serving inter-broker RPC on port %d", kb_rpc_server_port(b->rpc_server));
    return 0;
}

static int start_broker(kb_process_t *p) {
    kb_broker_t *b = &p->broker;
    char err[512];
    b->cfg = &p->cfg;
    b->metrics = &p->metrics;
    b->server = kb_server_new(b->base);
    if (!b->server || kb_api_listen(b->server, &p->cfg, kb_api_on_request, &p->api, err, sizeof(err)) != 0) {
        kc_error("main", "cannot start listeners: %s", b->server ? err : "out of memory");
        return 1;
    }
    if (start_local(p) != 0) return 1;
    b->zk = kc_session_new(b->base, p->cfg.zookeeper_connect, p->cfg.zookeeper_session_timeout_ms);
    if (!b->zk) {
        kc_error("main", "invalid zookeeper.connect '%s'", p->cfg.zookeeper_connect);
        return 2;
    }
    kb_replicas_set_session(b->replicas, b->zk); /* for the leaders' ISR writes */
    /* Listener order: the view reloads first on a new session, then the
     * broker registers, then the controller takes part in the election. */
    b->view = kc_view_new(b->zk, on_view_change, b);
    /* Partition states come from the controller's requests; the view reads
     * them only while this broker is the controller (kb_controller.c). */
    if (b->view) kc_view_set_states(b->view, false);
    p->settings_feed = b->view ? kb_settings_feed_new(b->replicas, b->view, &p->cfg) : NULL;
    if (start_services(p) != 0 || !p->settings_feed || start_control(p) != 0) {
        kc_error("main", "out of memory starting the broker's services");
        return 1;
    }
    /* Before the registration, which publishes its port. */
    if (start_rpc(p) != 0) return 1;
    b->registration = kb_registration_new(b, verify_identity, on_registered, on_registration_lost, on_fatal);
    if (!b->registration || start_controller(p) != 0 || start_fetchers(p) != 0) {
        kc_error("main", "out of memory starting the broker's services");
        return 1;
    }
    fill_api_ctx(p);
    /* kc_session_start's 1 (no handle yet) is retried by the session and
     * bounded by zookeeper.connection.timeout.ms like any connect. */
    if (kc_session_start(b->zk) < 0) {
        kc_error("main", "cannot start the ZooKeeper session to %s", p->cfg.zookeeper_connect);
        return 1;
    }
    return 0;
}

/* zookeeper.connection.timeout.ms counts from the first connect attempt,
 * which the loop makes: armed just before it runs, so the seconds spent
 * loading thousands of partition logs (start_local) do not count. */
static void arm_connect_timer(kb_process_t *p) {
    int32_t timeout = p->cfg.zookeeper_connection_timeout_ms > 0 ? p->cfg.zookeeper_connection_timeout_ms
                                                                   : p->cfg.zookeeper_session_timeout_ms;
    struct timeval tv = {timeout / 1000, (timeout % 1000) * 1000};
    evtimer_add(p->connect_timer, &tv);
}

static int setup_events(kb_process_t *p) {
    struct event_base *base = p->broker.base;
    p->sig_term = evsignal_new(base, SIGTERM, on_signal, p);
    p->sig_int = evsignal_new(base, SIGINT, on_signal, p);
    p->connect_timer = evtimer_new(base, on_connect_timeout, p);
    p->grace_timer = evtimer_new(base, grace_expired, p);
    if (!p->sig_term || !p->sig_int || !p->connect_timer || !p->grace_timer) return -1;
    event_add(p->sig_term, NULL);
    event_add(p->sig_int, NULL);
    /* A signal noted before libevent took over starts the shutdown at the
     * loop's first turn. */
    if (early_signal) event_active(early_signal == SIGTERM ? p->sig_term : p->sig_int, EV_SIGNAL, 1);
    return 0;
}

static void teardown(kb_process_t *p) {
    kb_broker_t *b = &p->broker;
    kb_controlled_shutdown_free(p->controlled); /* a request waiting on the controller is forgotten */
    p->controlled = NULL;
    /* Connections first (a connection whose request is still waiting stays
     * allocated until it is answered); then parked CreateTopics and
     * CreatePartitions and the replicas answer those requests (into closed
     * sockets) and free them.
     * Requests waiting on ZooKeeper are answered when kc_session_free runs
     * their completions, and produces waiting for an fsync when the log
     * manager stops its flusher. */
    if (b->server) kb_server_free(b->server);
    kb_rpc_server_free(b->rpc_server); /* requests still with handlers answer into closed sockets */
    b->rpc_server = NULL;
    kb_topic_creator_free(b->topic_creator);
    b->topic_creator = NULL;
    kb_partition_adder_free(b->partition_adder);
    b->partition_adder = NULL;
    kb_topic_deleter_free(b->topic_deleter);
    b->topic_deleter = NULL;
    /* Jobs still on the worker complete now, on this thread: produces
     * waiting for their validation append or fail while the partitions and
     * logs exist, timestamp searches drop their segment references, and
     * their requests are answered (into closed connections) and freed. */
    if (b->replicas) kb_replicas_set_worker(b->replicas, NULL); /* before it is freed */
    if (b->coordinator) kb_coordinator_set_worker(b->coordinator, NULL);
    kb_worker_stop(b->worker); /* a load still reading completes cancelled */
    b->worker = NULL;
    /* Groups answer what they hold parked (into closed connections) and go
     * before the partitions their writes wait on. */
    kb_coordinator_free(b->coordinator);
    b->coordinator = NULL;
    /* The feeds and the control handlers hold the view, the replicas and
     * the cache: they go first (the RPC server that called the handlers
     * is gone). */
    kb_settings_feed_free(p->settings_feed);
    p->settings_feed = NULL;
    kb_control_free(b->control);
    b->control = NULL;
    kb_replicas_free(b->replicas);
    b->replicas = NULL;
    kb_metadata_config_feed_free(b->metadata_config_feed);
    b->metadata_config_feed = NULL;
    kc_view_free(b->view); /* reads still in flight release it when the session closes */
    kb_producer_ids_free(b->producer_ids); /* likewise a block claim in flight */
    kb_config_writer_free(b->config_writer); /* its writes in flight own their records */
    /* Closing the session runs outstanding completions, which may still
     * reference the controller, the registration and (through
     * on_registered) the log manager: free those after. */
    if (b->zk) kc_session_free(b->zk);
    kb_controller_free(b->controller); /* its queues' clients, before their transport */
    b->controller = NULL;
    kb_ctl_rpc_transport_free(p->ctl_transport);
    p->ctl_transport = NULL;
    if (p->dns) evdns_base_free(p->dns, 0);
    p->dns = NULL;
    kb_registration_free(b->registration);
    kb_metadata_free(b->metadata);
    /* Last user of the logs gone: flush, checkpoint, write the
     * clean-shutdown marker. */
    if (b->logs) kb_logmgr_close(b->logs);
    kb_metrics_stop(b);
    struct event *evs[] = {p->sig_term, p->sig_int, p->connect_timer, p->grace_timer};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i]) event_free(evs[i]);
    /* Freeing the signal events put note_early_signal() back (not the
     * default action, which would kill a broker an impatient operator
     * signals again while it finishes): later signals are only noted. */
    if (b->base) event_base_free(b->base);
    kb_config_free(&p->cfg);
}

int main(int argc, char **argv) {
    static kb_process_t proc;
    kb_process_t *p = &proc;
    int rc;

    /* Before any libevent object exists: the log flusher and the worker
     * threads hand their completions to the loop with event_active(). */
    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "kbroker: cannot enable libevent's thread support\n");
        return 1;
    }
    /* Request frames of up to a few MB are allocated and freed per request:
     * keep glibc from serving them with fresh mmap()s and from trimming the
     * heap after each, which would page-fault every frame in again. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    kc_log_init("kbroker", -1, KC_LOG_INFO);
    event_set_log_callback(libevent_log);
    if ((rc = load_config(p, argc, argv)) != 0) {
        kb_config_free(&p->cfg);
        return rc;
    }
    kc_log_init("kbroker", p->cfg.broker_id, log_level(p->cfg.log_level));
    signal(SIGPIPE, SIG_IGN);
    install_early_signal_handlers();
    kc_info("main", "kbroker %s starting as broker %d", PACKAGE_VERSION, (int)p->cfg.broker_id);
    p->broker.base = event_base_new();
    if (!p->broker.base || setup_events(p) != 0) {
        kc_error("main", "cannot create the event loop");
        rc = 1;
    } else if ((rc = start_broker(p)) == 0) {
        arm_connect_timer(p);
        event_base_dispatch(p->broker.base);
        rc = p->exit_status;
    }
    kc_info("main", "exiting with status %d", rc);
    teardown(p);
    return rc;
}
