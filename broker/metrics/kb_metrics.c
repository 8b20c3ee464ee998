/*
 * kb_metrics.c - the Prometheus text endpoint (see kb_metrics.h).
 *
 * libevent's evhttp serves GET /metrics on the broker's own loop.  Building
 * the answer only reads counters (no locks, no I/O besides the socket), so
 * it cannot stall the loop for longer than formatting a few dozen lines.
 * Every counter is listed once in a table, so adding one to kb_metrics_t
 * takes one row here.
 */
#include "broker/metrics/kb_metrics.h"

#include <dirent.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "broker/kb_broker.h"
#include "broker/kb_control_requests.h"
#include "broker/controller/kb_controller.h"
#include "broker/group/kb_group.h"
#include "broker/kb_registration.h"
#include "broker/log/kb_log.h"
#include "broker/metrics/kb_metrics_internal.h"
#include "broker/net/kb_net.h"
#include "broker/replica/kb_replicas.h"
#include "broker/replica/kb_roles.h"
#include "common/kc_log.h"
#include "coord/kc_zk.h"

#define HTTP_TIMEOUT_S 10
#define HTTP_MAX_HEADERS 8192
#define HTTP_MAX_BODY 1024 /* GET has no body worth reading */

/* After a failed accept the endpoint stops accepting for this long. */
#define ACCEPT_RETRY_MS 1000
#define ACCEPT_LOG_MS 10000

struct kb_metrics_http {
    struct evhttp *http;
    struct evconnlistener *listener; /* evhttp's, for its accept errors */
    struct event *retry;             /* accepts again after a failure */
    kc_ratelimit_t accept_log;
};

/* One counter: its name after "kbroker_", help text and where it lives. */
typedef struct {
    const char *name;
    const char *help;
    size_t offset;
} counter_t;

static const counter_t broker_counters[] = {
    {"requests_total", "Kafka requests received.", offsetof(kb_metrics_t, requests_total)},
    {"produce_batches", "Record batches appended by Produce.", offsetof(kb_metrics_t, produce_batches)},
    {"produce_bytes", "Record batch bytes appended by Produce.", offsetof(kb_metrics_t, produce_bytes)},
    {"fetch_requests", "Fetch requests answered.", offsetof(kb_metrics_t, fetch_requests)},
    {"fetch_record_bytes", "Record bytes put in Fetch responses.", offsetof(kb_metrics_t, fetch_record_bytes)},
    {"fetch_sendfile_bytes", "Record bytes of Fetch responses sent with sendfile.",
     offsetof(kb_metrics_t, fetch_sendfile_bytes)},
    {"produce_batches_decompressed_total", "Compressed produced batches decompressed to check their records.",
     offsetof(kb_metrics_t, produce_batches_decompressed)},
    {"produce_decompressed_bytes_total", "Bytes decompressed to check produced batches.",
     offsetof(kb_metrics_t, produce_decompressed_bytes)},
    {"produce_batches_recompressed_total", "Produced batches rebuilt with their topic's compression.type codec.",
     offsetof(kb_metrics_t, produce_batches_recompressed)},
    {"produce_recompressed_bytes_total", "Bytes of the produced batches rebuilt with their topic's codec.",
     offsetof(kb_metrics_t, produce_recompressed_bytes)},
};

/* Values that go up and down (same layout as the counters). */
static const counter_t broker_gauges[] = {
    {"fetch_requests_parked", "Fetch requests waiting for data (long-poll).", offsetof(kb_metrics_t, fetch_parked)},
};

static const counter_t log_counters[] = {
    {"log_fsyncs_total", "fsync calls completed on log segments.", offsetof(kb_log_stats_t, fsyncs)},
    {"log_bytes_appended_total", "Bytes appended to partition logs.", offsetof(kb_log_stats_t, bytes_appended)},
    {"log_batches_appended_total", "Record batches appended to partition logs.",
     offsetof(kb_log_stats_t, batches_appended)},
    {"log_recovery_truncated_bytes_total", "Bytes truncated from log tails by recovery at start-up.",
     offsetof(kb_log_stats_t, recovery_truncated_bytes)},
    {"log_timestamp_scans_total", "Segment scans of ListOffsets by timestamp run on the worker threads.",
     offsetof(kb_log_stats_t, timestamp_scans)},
    {"log_timestamp_decompressed_bytes_total", "Bytes decompressed by ListOffsets by timestamp.",
     offsetof(kb_log_stats_t, timestamp_decompressed_bytes)},
    {"logs_created_total", "Partition logs created at run time (off the event loop).",
     offsetof(kb_log_stats_t, logs_created)},
    {"log_creation_failures_total", "Attempts to create a partition log that failed (disk full, no descriptor).",
     offsetof(kb_log_stats_t, log_creation_failures)},
    {"logs_deleted_total", "Partition logs of deleted topics removed from disk (StopReplica with delete).",
     offsetof(kb_log_stats_t, logs_deleted)},
};

static const counter_t log_gauges[] = {
    {"log_flush_queue_items", "Segment fsyncs and file writes queued or running on the flusher thread.",
     offsetof(kb_log_stats_t, flush_backlog)},
    {"log_creations_pending", "Partition logs queued for creation or being created.",
     offsetof(kb_log_stats_t, log_creations_pending)},
    {"log_deletions_pending", "Deleted partition logs (dirs renamed *-delete) whose files are not removed yet.",
     offsetof(kb_log_stats_t, log_deletions_pending)},
    {"log_deletions_open",
     "Deleted partition logs that may still hold a file descriptor (a send in flight): counted against the budget.",
     offsetof(kb_log_stats_t, log_deletions_open)},
};

/* What became of the partition role updates (kb_roles.h): a refused one
 * carried an older leader epoch than its partition had seen. */
static const counter_t role_counters[] = {
    {"role_updates_applied_total", "Partition role updates that changed a role here (hosting, leader, epoch, ISR).",
     offsetof(kb_roles_stats_t, applied)},
    {"role_updates_refused_stale_epoch_total", "Partition role updates refused: older leader epoch than seen.",
     offsetof(kb_roles_stats_t, refused_stale_epoch)},
    {"role_updates_ignored_same_epoch_total", "Partition role updates ignored: same leader epoch, nothing new.",
     offsetof(kb_roles_stats_t, ignored_same_epoch)},
    {"role_updates_refused_no_room_total",
     "Partition role updates answered KAFKA_STORAGE_ERROR: a new log would not fit the partition budget.",
     offsetof(kb_roles_stats_t, refused_no_room)},
};

static const counter_t role_gauges[] = {
    {"partitions_waiting_for_room", "Partitions assigned here but not hosted: the partition budget is full.",
     offsetof(kb_roles_stats_t, waiting_for_room)},
};

/* Replication (kb_replicas.h): the leader's answers to its followers and
 * the followers' own fetching.  Replicated record bytes all leave as file
 * ranges, so fetch_sendfile_bytes equals fetch_bytes unless that changes. */
static const counter_t replication_counters[] = {
    {"replica_fetch_requests_served_total", "ReplicaFetch requests answered to followers.",
     offsetof(kb_replication_stats_t, fetches_served)},
    {"replica_fetch_bytes_total", "Record bytes sent to followers.", offsetof(kb_replication_stats_t, fetch_bytes)},
    {"replica_fetch_sendfile_bytes_total", "Record bytes sent to followers with sendfile.",
     offsetof(kb_replication_stats_t, fetch_sendfile_bytes)},
    {"replica_fetches_total", "ReplicaFetch requests of this broker's fetchers answered by leaders.",
     offsetof(kb_replication_stats_t, fetches_sent)},
    {"replica_follower_bytes_total", "Record bytes appended as follower.",
     offsetof(kb_replication_stats_t, follower_bytes)},
    {"replica_truncations_total", "Follower logs truncated (leader epochs, out of range).",
     offsetof(kb_replication_stats_t, truncations)},
    {"isr_expansions_total", "ISR expansions this broker wrote (or tried to) as leader.",
     offsetof(kb_replication_stats_t, isr_expansions)},
    {"isr_shrinks_total", "ISR shrinks this broker wrote (or tried to) as leader: followers that stopped catching up.",
     offsetof(kb_replication_stats_t, isr_shrinks)},
    {"replica_fetch_errors_total", "Partition errors and failed calls seen by the follower fetchers.",
     offsetof(kb_replication_stats_t, fetch_errors)},
};

static const counter_t replication_gauges[] = {
    {"replica_fetch_requests_parked", "Follower fetches waiting here for data.",
     offsetof(kb_replication_stats_t, fetches_parked)},
};

/* The controller's requests (kb_control_requests.h): refusals name the
 * admission step or bound that refused them. */
static const counter_t control_counters[] = {
    {"control_leader_and_isr_total", "LeaderAndIsr requests accepted.", offsetof(kb_control_stats_t, leader_and_isr)},
    {"control_update_metadata_total", "UpdateMetadata requests accepted.",
     offsetof(kb_control_stats_t, update_metadata)},
    {"control_stop_replica_total", "StopReplica requests accepted.", offsetof(kb_control_stats_t, stop_replica)},
    {"control_requests_refused_not_sender_total",
     "Controller requests refused: naming another controller than their connection's Hello (NOT_CONTROLLER).",
     offsetof(kb_control_stats_t, refused_not_sender)},
    {"control_requests_refused_stale_broker_epoch_total",
     "Controller requests refused: meant for an older registration of this broker, or none (STALE_BROKER_EPOCH).",
     offsetof(kb_control_stats_t, refused_stale_broker_epoch)},
    {"control_requests_refused_stale_controller_epoch_total",
     "Controller requests refused: older controller epoch than seen or than ZooKeeper's (STALE_CONTROLLER_EPOCH).",
     offsetof(kb_control_stats_t, refused_stale_controller_epoch)},
    {"control_requests_refused_not_zk_controller_total",
     "Controller requests refused: not from the controller /controller names, as seen here (NOT_CONTROLLER).",
     offsetof(kb_control_stats_t, refused_not_zk_controller)},
    {"control_requests_refused_ahead_of_zk_total",
     "Controller requests refused: controller epoch above /controller_epoch, as seen here (NOT_CONTROLLER).",
     offsetof(kb_control_stats_t, refused_ahead_of_zk)},
    {"control_requests_refused_too_large_total",
     "Controller requests refused: beyond a size bound, e.g. live brokers (INVALID_REQUEST).",
     offsetof(kb_control_stats_t, refused_too_large)},
    {"control_requests_refused_unknown_here_total",
     "Controller requests refused: naming a partition or assignment ZooKeeper does not hold, as seen here, "
     "e.g. a topic created a moment ago (UNKNOWN_TOPIC_OR_PARTITION).",
     offsetof(kb_control_stats_t, refused_unknown_here)},
    {"control_partitions_fenced_total", "Partitions of controller requests answered FENCED_LEADER_EPOCH.",
     offsetof(kb_control_stats_t, partitions_fenced)},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Counters may be bumped by another thread (relaxed atomics), so read them
 * the same way. */
static uint64_t counter_read(const void *base, size_t offset) {
    const uint64_t *v = (const uint64_t *)((const char *)base + offset);
    return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void add_metric(struct evbuffer *out, const char *name, const char *type, const char *help, uint64_t value) {
    evbuffer_add_printf(out, "# HELP kbroker_%s %s\n# TYPE kbroker_%s %s\nkbroker_%s %llu\n", name, help, name, type,
                        name, (unsigned long long)value);
}

static void add_values(struct evbuffer *out, const char *type, const void *base, const counter_t *c, size_t n) {
    for (size_t i = 0; i < n; i++) add_metric(out, c[i].name, type, c[i].help, counter_read(base, c[i].offset));
}

/* Descriptors open in this process, counted in /proc/self/fd at scrape
 * time (sockets, segment files, pipes: everything that counts against
 * RLIMIT_NOFILE, which no counter kept by hand would cover).  One readdir
 * per scrape; the directory's own descriptor is not counted. */
static uint64_t count_open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    uint64_t n = 0;

    if (!d) return 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n > 0 ? n - 1 : 0;
}

static uint64_t fd_limit(void) {
    struct rlimit rl;

    return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (uint64_t)rl.rlim_cur : 0;
}

/* The ZooKeeper session and the registration: what an operator looks at
 * first when a broker drops out of the cluster.  The state is a Prometheus
 * state set: one series per state, 1 for the current one. */
static void add_session(const kb_broker_t *b, struct evbuffer *out) {
    kc_session_stats_t st = {0};
    if (b->zk) kc_session_get_stats(b->zk, &st);
    evbuffer_add_printf(out, "# HELP kbroker_zookeeper_session_state State of the ZooKeeper session (no_handle: "
                             "the client handle could not be created and is being retried).\n"
                             "# TYPE kbroker_zookeeper_session_state gauge\n");
    for (int i = 0; i < KC_ZK_STATUS_COUNT; i++)
        evbuffer_add_printf(out, "kbroker_zookeeper_session_state{state=\"%s\"} %d\n",
                            kc_zk_status_name((kc_zk_status_t)i), (int)st.status == i);
    add_metric(out, "zookeeper_connected", "gauge", "1 while connected to ZooKeeper.",
               st.status == KC_ZK_STATUS_CONNECTED);
    add_metric(out, "zookeeper_sessions_total", "counter", "ZooKeeper sessions established.", st.sessions);
    add_metric(out, "zookeeper_session_expirations_total", "counter", "ZooKeeper sessions expired by the server.",
               st.expirations);
    add_metric(out, "zookeeper_handle_failures_total", "counter",
               "Failed attempts to create a ZooKeeper client handle (each is retried).", st.handle_failures);
    add_metric(out, "zookeeper_session_timeout_ms", "gauge", "Session timeout granted by ZooKeeper.",
               (uint64_t)st.timeout_ms);
    bool registered = b->registration && kb_registration_registered(b->registration);
    add_metric(out, "registered", "gauge", "1 while /brokers/ids/N is registered by this broker.", registered);
    uint64_t registrations = b->registration ? kb_registration_count(b->registration) : 0;
    add_metric(out, "registrations_total", "counter", "Registrations of /brokers/ids/N (one per session, and one "
               "per znode deleted under a live session).", registrations);
}

/* The coordinator's counters, and its groups' lag (kb_metrics_groups.c). */
static void add_groups(const kb_broker_t *b, struct evbuffer *out) {
    kb_group_stats_t st = {0};
    if (!b->coordinator) return;
    kb_coordinator_stats(b->coordinator, &st);
    add_metric(out, "groups", "gauge", "Consumer groups coordinated by this broker.", st.groups);
    add_metric(out, "group_partitions_owned", "gauge", "__consumer_offsets partitions whose groups are "
               "coordinated here.", st.partitions_owned);
    add_metric(out, "group_partitions_loading", "gauge", "__consumer_offsets partitions being loaded.",
               st.partitions_loading);
    add_metric(out, "group_rebalances_total", "counter", "Generations completed by the groups coordinated here.",
               st.rebalances);
    add_metric(out, "group_offset_commits_total", "counter", "Committed offsets written.", st.commits);
    add_metric(out, "group_offsets_expired_total", "counter", "Committed offsets expired.", st.expired);
    kb_metrics_render_groups(b->coordinator, b->replicas, out);
}

/* Every broker reads every topic znode, so every broker can count them;
 * a scrape walks the partitions once, as under_replicated_partitions does. */
static uint64_t reassigning_partitions(const kc_view_t *v) {
    uint64_t n = 0;
    for (int i = 0; i < kc_view_topic_count(v); i++) {
        const kc_topic_t *t = kc_view_topic_at(v, i);
        for (int p = 0; p < t->n_partitions; p++) n += kc_partition_reassigning(&t->partitions[p]);
    }
    return n;
}

static void render(const kb_broker_t *b, struct evbuffer *out) {
    static const kb_metrics_t no_metrics;
    kb_log_stats_t stats = {0};
    kb_roles_stats_t roles = {0};
    kb_replication_stats_t repl = {0};
    kb_control_stats_t control = {0};
    if (b->control) kb_control_stats(b->control, &control);
    if (b->logs) kb_logmgr_stats(b->logs, &stats);
    if (b->replicas) kb_replicas_roles_stats(b->replicas, &roles);
    if (b->replicas) kb_replicas_replication_stats(b->replicas, &repl);
    add_metric(out, "broker_id", "gauge", "This broker's broker.id.", (uint64_t)b->cfg->broker_id);
    add_metric(out, "open_fds", "gauge", "File descriptors open in the broker process (/proc/self/fd).",
               count_open_fds());
    add_metric(out, "open_fds_limit", "gauge", "The file descriptor limit (RLIMIT_NOFILE soft limit).", fd_limit());
    add_values(out, "counter", b->metrics ? b->metrics : &no_metrics, broker_counters, N_OF(broker_counters));
    /* Counted by the listeners themselves (broker/net knows no metrics). */
    add_metric(out, "connections_closed_bad_frame", "counter", "Connections closed for an invalid frame.",
               b->server ? kb_server_bad_frames(b->server) : 0);
    add_values(out, "gauge", b->metrics ? b->metrics : &no_metrics, broker_gauges, N_OF(broker_gauges));
    add_values(out, "counter", &stats, log_counters, N_OF(log_counters));
    add_values(out, "gauge", &stats, log_gauges, N_OF(log_gauges));
    add_values(out, "counter", &roles, role_counters, N_OF(role_counters));
    add_values(out, "gauge", &roles, role_gauges, N_OF(role_gauges));
    add_metric(out, "partition_logs", "gauge", "Partition logs held or being created: what counts against the budget.",
               b->logs ? kb_logmgr_log_count(b->logs) : 0);
    add_metric(out, "partition_budget", "gauge",
               "The most partition logs this broker holds (RLIMIT_NOFILE less its reserve, or max.broker.partitions).",
               b->logs ? kb_logmgr_budget(b->logs)->partitions : 0);
    add_values(out, "counter", &repl, replication_counters, N_OF(replication_counters));
    add_values(out, "gauge", &repl, replication_gauges, N_OF(replication_gauges));
    add_metric(out, "under_replicated_partitions", "gauge",
               "Partitions led here whose ISR lacks an assigned replica (Kafka's UnderReplicatedPartitions).",
               b->replicas ? kb_replicas_under_replicated(b->replicas) : 0);
    add_values(out, "counter", &control, control_counters, N_OF(control_counters));
    add_metric(out, "partitions_reassigning", "gauge",
               "Partitions of the cluster whose topic znode lists replicas being added or removed (a reassignment "
               "under way), as this broker's view of ZooKeeper holds them.",
               b->view ? reassigning_partitions(b->view) : 0);
    add_metric(out, "controller_topics_deleting", "gauge",
               "Topics the active controller is deleting (marked in /admin/delete_topics); 0 on other brokers.",
               b->controller ? kb_controller_topics_deleting(b->controller) : 0);
    add_session(b, out);
    add_groups(b, out);
}

static void send_text(struct evhttp_request *req, int code, const char *reason, struct evbuffer *body) {
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, code, reason, body);
}

static void on_request(struct evhttp_request *req, void *arg) {
    const kb_broker_t *b = arg;
    struct evbuffer *body = evbuffer_new();
    if (!body) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!path || strcmp(path, "/metrics") != 0) {
        evbuffer_add_printf(body, "not found; try /metrics\n");
        send_text(req, HTTP_NOTFOUND, "Not Found", body);
    } else {
        if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) render(b, body);
        send_text(req, HTTP_OK, "OK", body);
    }
    evbuffer_free(body);
}

/* ---- start and stop ---- */

/* Splits "host:port" or "[v6]:port" (already validated by the config);
 * an empty host means every interface. */
static int split_listener(const char *s, char *host, size_t hostlen, uint16_t *port) {
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t len;
    if (!colon) return -1;
    len = (size_t)(colon - s);
    if (*s == '[' && len >= 2 && colon[-1] == ']') {
        h++;
        len -= 2;
    }
    if (len >= hostlen) return -1;
    memcpy(host, h, len);
    host[len] = '\0';
    if (!*host) snprintf(host, hostlen, "0.0.0.0");
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535) return -1;
    *port = (uint16_t)p;
    return 0;
}

/* Logs where the endpoint listens, with the port the kernel chose for 0. */
static void log_bound(struct evhttp_bound_socket *bs, const char *host) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int port = -1;
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &len) == 0)
        port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port);
    bool v6 = strchr(host, ':') != NULL;
    kc_info("metrics", "metrics on http://%s%s%s:%d/metrics", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

static struct evhttp *http_new(kb_broker_t *b) {
    struct evhttp *http = evhttp_new(b->base);
    if (!http) return NULL;
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_timeout(http, HTTP_TIMEOUT_S);
    evhttp_set_max_headers_size(http, HTTP_MAX_HEADERS);
    evhttp_set_max_body_size(http, HTTP_MAX_BODY);
    evhttp_set_gencb(http, on_request, b);
    return http;
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg) {
    kb_metrics_http_t *mh = arg;
    (void)fd;
    (void)what;
    evconnlistener_enable(mh->listener);
}

/* The endpoint of this process, for on_accept_error: libevent hands the
 * error callback the listener's own argument, which evhttp owns. */
static kb_metrics_http_t *endpoint;

/* evhttp's listener has no error callback of its own: on EMFILE libevent
 * would log a line and find the socket readable again at once, spinning.
 * As the Kafka listeners do, it stops accepting for a moment instead. */
static void on_accept_error(struct evconnlistener *lev, void *arg) {
    kb_metrics_http_t *mh = endpoint;
    int err = EVUTIL_SOCKET_ERROR();
    struct timeval tv = {ACCEPT_RETRY_MS / 1000, (ACCEPT_RETRY_MS % 1000) * 1000};

    (void)arg;
    if (!mh) return;
    kc_log_limited(&mh->accept_log, ACCEPT_LOG_MS, KC_LOG_ERROR, "metrics",
                   "accept on the metrics endpoint failed: %s; not accepting for %d ms at a time while it lasts",
                   evutil_socket_error_to_string(err), ACCEPT_RETRY_MS);
    evconnlistener_disable(lev);
    evtimer_add(mh->retry, &tv);
}

static void http_free(kb_metrics_http_t *mh) {
    if (endpoint == mh) endpoint = NULL;
    if (mh->retry) event_free(mh->retry);
    if (mh->http) evhttp_free(mh->http); /* closes the listener and every open connection */
    free(mh);
}

int kb_metrics_start(kb_broker_t *b, char *err, size_t errlen) {
    const char *listener = b->cfg->metrics_listener;
    char host[256];
    uint16_t port;
    if (!listener || !*listener) return 0;
    if (split_listener(listener, host, sizeof(host), &port) != 0) {
        snprintf(err, errlen, "invalid kbroker.metrics.listener '%s'", listener);
        return -1;
    }
    kb_metrics_http_t *mh = calloc(1, sizeof(*mh));
    if (!mh || !(mh->http = http_new(b)) || !(mh->retry = evtimer_new(b->base, on_accept_retry, mh))) {
        snprintf(err, errlen, "cannot start the metrics endpoint: out of memory");
        if (mh) http_free(mh);
        return -1;
    }
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(mh->http, host, port);
    if (!bs) {
        snprintf(err, errlen, "cannot listen on %s for kbroker.metrics.listener: %s", listener,
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        http_free(mh);
        return -1;
    }
    mh->listener = evhttp_bound_socket_get_listener(bs);
    endpoint = mh;
    evconnlistener_set_error_cb(mh->listener, on_accept_error);
    log_bound(bs, host);
    b->metrics_http = mh;
    return 0;
}

void kb_metrics_stop(kb_broker_t *b) {
    kb_metrics_http_t *mh = b->metrics_http;
    if (!mh) return;
    http_free(mh);
    b->metrics_http = NULL;
}
