/*
 * main.c - the kbroker daemon: start-up, signals and shutdown.
 *
 * Start-up order matters to operators: configuration is checked first (exit
 * status 2 names the bad key), then the listeners are bound and the log
 * directories locked (exit status 1 on failure) before anything is written
 * to ZooKeeper, so a broker that cannot serve never registers.  Clients are
 * served from the moment the listeners are bound; Metadata reflects ZooKeeper
 * as soon as the cluster view has loaded.
 *
 * SIGTERM and SIGINT give up the controller role, delete /brokers/ids/N and
 * exit 0; a second signal exits at once.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/api/kb_api.h"
#include "broker/controller/kb_controller.h"
#include "broker/kb_broker.h"
#include "broker/kb_registration.h"
#include "coord/kc_log.h"

#define SHUTDOWN_GRACE_MS 3000

typedef struct kb_process {
    kb_broker_t broker;
    kb_config_t cfg;
    int exit_status;
    int shutdown_steps;    /* ZooKeeper clean-ups still running */
    bool shutting_down;
    int lock_fds[KB_MAX_LOG_DIRS];
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

/* ---- log directory locks ---- */

static int mkdir_p(const char *dir) {
    char path[4096];
    snprintf(path, sizeof(path), "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Kafka locks each log dir with a ".lock" file; a second broker pointed at
 * the same directory must fail instead of corrupting the first one's logs. */
static int lock_log_dirs(kb_process_t *p) {
    for (int i = 0; i < p->cfg.n_log_dirs; i++) {
        const char *dir = p->cfg.log_dirs[i];
        char path[4096];
        if (mkdir_p(dir) != 0) {
            kc_error("main", "cannot create log dir %s: %s", dir, strerror(errno));
            return -1;
        }
        snprintf(path, sizeof(path), "%s/.lock", dir);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
            kc_error("main", "cannot lock log dir %s: %s%s", dir, strerror(errno),
                     errno == EWOULDBLOCK ? " (another broker is using this log dir)" : "");
            if (fd >= 0) close(fd);
            return -1;
        }
        p->lock_fds[i] = fd;
    }
    return 0;
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
    shutdown_step_done(rc, p);
}

static void controller_resigned(int rc, void *arg) {
    kb_process_t *p = arg;
    kb_registration_shutdown(p->broker.registration, registration_removed, p);
}

static void begin_shutdown(kb_process_t *p, const char *why) {
    if (p->shutting_down) {
        kc_warn("main", "second signal: exiting now");
        stop_loop(p, 0);
        return;
    }
    p->shutting_down = true;
    kc_info("main", "shutting down (%s)", why);
    struct timeval tv = {SHUTDOWN_GRACE_MS / 1000, (SHUTDOWN_GRACE_MS % 1000) * 1000};
    evtimer_add(p->grace_timer, &tv);
    if (!kc_session_connected(p->broker.zk)) {
        stop_loop(p, 0); /* nothing can be cleaned up in ZooKeeper */
        return;
    }
    p->shutdown_steps = 1;
    kb_controller_shutdown(p->broker.controller, controller_resigned, p);
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

static void on_registered(kb_broker_t *b, int64_t czxid) {
    kb_process_t *p = (kb_process_t *)b; /* broker is the first member */
    event_del(p->connect_timer);
    kb_controller_on_registered(b->controller);
}

static void on_fatal(kb_broker_t *b, const char *message) {
    kb_process_t *p = (kb_process_t *)b;
    kc_error("main", "%s", message);
    stop_loop(p, 1);
}

static void on_view_change(kc_view_t *v, int what, void *arg) {
    kb_broker_t *b = arg;
    if (b->controller) kb_controller_on_view_change(b->controller, what);
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

static int start_broker(kb_process_t *p) {
    kb_broker_t *b = &p->broker;
    char err[512];
    b->cfg = &p->cfg;
    b->server = kb_server_new(b->base, &p->cfg, kb_api_on_request, b);
    if (!b->server || kb_server_bind(b->server, &p->cfg, err, sizeof(err)) != 0) {
        kc_error("main", "cannot start listeners: %s", b->server ? err : "out of memory");
        return 1;
    }
    if (lock_log_dirs(p) != 0) return 1;
    b->zk = kc_session_new(b->base, p->cfg.zookeeper_connect, p->cfg.zookeeper_session_timeout_ms);
    if (!b->zk) {
        kc_error("main", "invalid zookeeper.connect '%s'", p->cfg.zookeeper_connect);
        return 2;
    }
    /* Listener order: the view reloads first on a new session, then the
     * broker registers, then the controller takes part in the election. */
    b->view = kc_view_new(b->zk, on_view_change, b);
    b->registration = kb_registration_new(b, on_registered, on_fatal);
    b->controller = kb_controller_new(b);
    if (!b->view || !b->registration || !b->controller || kc_session_start(b->zk) != 0) {
        kc_error("main", "cannot start the ZooKeeper session to %s", p->cfg.zookeeper_connect);
        return 1;
    }
    for (int i = 0; i < p->cfg.n_listeners; i++)
        kc_info("main", "serving Kafka clients on %s://%s:%d", p->cfg.listeners[i].name,
                p->cfg.listeners[i].host[0] ? p->cfg.listeners[i].host : "0.0.0.0", p->cfg.listeners[i].port);
    return 0;
}

static int setup_events(kb_process_t *p) {
    struct event_base *base = p->broker.base;
    int32_t timeout = p->cfg.zookeeper_connection_timeout_ms > 0 ? p->cfg.zookeeper_connection_timeout_ms
                                                                   : p->cfg.zookeeper_session_timeout_ms;
    struct timeval tv = {timeout / 1000, (timeout % 1000) * 1000};
    p->sig_term = evsignal_new(base, SIGTERM, on_signal, p);
    p->sig_int = evsignal_new(base, SIGINT, on_signal, p);
    p->connect_timer = evtimer_new(base, on_connect_timeout, p);
    p->grace_timer = evtimer_new(base, grace_expired, p);
    if (!p->sig_term || !p->sig_int || !p->connect_timer || !p->grace_timer) return -1;
    event_add(p->sig_term, NULL);
    event_add(p->sig_int, NULL);
    evtimer_add(p->connect_timer, &tv);
    return 0;
}

static void teardown(kb_process_t *p) {
    kb_broker_t *b = &p->broker;
    if (b->server) kb_server_free(b->server);
    kc_view_free(b->view); /* reads still in flight release it when the session closes */
    /* Closing the session runs outstanding completions, which may still
     * reference the controller and the registration: free those after. */
    if (b->zk) kc_session_free(b->zk);
    kb_controller_free(b->controller);
    kb_registration_free(b->registration);
    struct event *evs[] = {p->sig_term, p->sig_int, p->connect_timer, p->grace_timer};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i]) event_free(evs[i]);
    for (int i = 0; i < p->cfg.n_log_dirs; i++)
        if (p->lock_fds[i] > 0) close(p->lock_fds[i]);
    if (b->base) event_base_free(b->base);
    kb_config_free(&p->cfg);
}

int main(int argc, char **argv) {
    static kb_process_t proc;
    kb_process_t *p = &proc;
    int rc;

    kc_log_init("kbroker", -1, KC_LOG_INFO);
    if ((rc = load_config(p, argc, argv)) != 0) {
        kb_config_free(&p->cfg);
        return rc;
    }
    kc_log_init("kbroker", p->cfg.broker_id, log_level(p->cfg.log_level));
    signal(SIGPIPE, SIG_IGN);
    kc_info("main", "kbroker %s starting as broker %d", PACKAGE_VERSION, (int)p->cfg.broker_id);
    p->broker.base = event_base_new();
    if (!p->broker.base || setup_events(p) != 0) {
        kc_error("main", "cannot create the event loop");
        rc = 1;
    } else if ((rc = start_broker(p)) == 0) {
        event_base_dispatch(p->broker.base);
        rc = p->exit_status;
    }
    kc_info("main", "exiting with status %d", rc);
    teardown(p);
    return rc;
}
