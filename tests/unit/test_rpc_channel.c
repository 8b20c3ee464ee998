/*
 * test_rpc_channel.c - the inter-broker RPC channel (broker/rpc): a real
 * kb_rpc_server and kb_rpc_clients on one event_base over 127.0.0.1
 * ephemeral ports, and raw sockets for what a well-behaved client never
 * sends:
 *   - the handshake: accepted, a wrong protocol version (raw Hello), a peer
 *     that is not the broker or epoch the client expected, a request
 *     before Hello;
 *   - calls: answered, answered out of order by correlation id, a method
 *     without a handler (error 35), a per-call timeout (and the late answer
 *     dropped), trailer slices (bytes and a file segment) arriving intact;
 *   - lifetime: the server going away (DISCONNECTED, then a reconnect and a
 *     later call answered), the client freed (CANCELLED, also from inside a
 *     reply callback);
 *   - refusals: oversized, garbage and inconsistent frames close only that
 *     connection while another client goes on being served;
 *   - hostile or broken peers: a size above the Hello limit before Hello
 *     (either side) closes at once while larger frames pass after it; a
 *     peer silent, or stuck in a partial frame, past the Hello deadline is
 *     closed; connections beyond max_connections are refused; a fake peer
 *     that keeps closing the handshake is redialled with growing waits,
 *     and a completed handshake resets them;
 *   - who may hold a connection: a Hello naming an id below 0, or one the
 *     peer_known callback does not know, is closed; a new connection takes
 *     the place of the oldest still waiting for its Hello (the
 *     max_unidentified cap, or a full server); one connection too many for
 *     a broker id from one address closes the oldest of that id from that
 *     address, and Hellos from another (127.0.0.2) close none of them; one
 *     too many for the id over all addresses is refused itself;
 *   - a hundred bad frames write at most two warnings, and twenty
 *     reconnects of a client at most two INFO lines (stderr captured).
 *
 * Every loop run is bounded by a timer (pump); nothing sleeps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/net/kb_sendfile.h"
#include "broker/rpc/kb_rpc.h"
#include "broker/rpc/kb_rpc_internal.h"
#include "common/kc_log.h"
#include "tests/unit/stderrfix.h"
#include "tests/unit/unit.h"

#define MAX_FRAME (1024 * 1024)
#define SERVER_ID 1
#define SERVER_EPOCH 4294967300LL /* above 32 bits, as czxids are */
#define CLIENT_ID 2
#define CLIENT_EPOCH 77
#define MAX_PARKED 8
#define MAX_REPLIES 8

static struct event_base *base;
static kb_rpc_server_t *srv;
static int port;

/* Requests the handler kept to answer later. */
static kb_rpc_req_t *parked[MAX_PARKED];
static int32_t parked_controller[MAX_PARKED];
static int n_parked;
static bool park; /* the LeaderAndIsr handler parks instead of answering */
static kb_rpc_identity_t last_peer;

/* Outcomes the clients saw, in order. */
static struct reply {
    kb_rpc_status_t st;
    int32_t error_code;
    int32_t body_error; /* the response body's error_code */
    int tag;
    size_t n_slices;
    char slices[2][64];
} replies[MAX_REPLIES];
static int n_replies;
static kb_rpc_client_t *free_in_reply; /* a reply callback frees this client */
static bool fail_fast;                 /* clients made with fail_when_unreachable */

/* ------------------------------------------------------------------------
 * The loop
 * ------------------------------------------------------------------------ */

static void on_guard(evutil_socket_t fd, short what, void *arg) { *(bool *)arg = true; }

/* Runs the loop until done() or 10 s. */
static bool pump(bool (*done)(void *), void *arg) {
    bool expired = false;
    struct event *guard = evtimer_new(base, on_guard, &expired);
    struct timeval tv = {10, 0};
    evtimer_add(guard, &tv);
    while (!done(arg) && !expired) event_base_loop(base, EVLOOP_ONCE);
    event_free(guard);
    return done(arg);
}

static bool replies_at_least(void *arg) { return n_replies >= *(int *)arg; }
static bool parked_at_least(void *arg) { return n_parked >= *(int *)arg; }
static bool client_ready(void *arg) { return kb_rpc_client_ready(arg); }
/* The client's connection closed (and the redial is scheduled). */
static bool client_lost(void *arg) {
    kb_rpc_client_stats_t cs;
    kb_rpc_client_stats(arg, &cs);
    return !kb_rpc_client_ready(arg) && cs.backoff_ms > 0;
}

static bool wait_replies(int n) { return pump(replies_at_least, &n); }
static bool wait_parked(int n) { return pump(parked_at_least, &n); }

/* ------------------------------------------------------------------------
 * Handlers
 * ------------------------------------------------------------------------ */

/* LeaderAndIsr: answered with error_code = the request's controller id,
 * or parked. */
static void on_leader_and_isr(kb_rpc_req_t *req, const ProtobufCMessage *body, const kp_rpc_slice_t *slices,
                              size_t n_slices, void *arg) {
    const Kbroker__Rpc__LeaderAndIsrRequest *r = (const Kbroker__Rpc__LeaderAndIsrRequest *)body;
    last_peer = kb_rpc_req_peer(req);
    ck_assert_int_eq(kb_rpc_req_method(req), KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR);
    if (park) {
        ck_assert_int_lt(n_parked, MAX_PARKED);
        parked_controller[n_parked] = r->controller_id;
        parked[n_parked++] = req;
        return;
    }
    Kbroker__Rpc__LeaderAndIsrResponse resp = KBROKER__RPC__LEADER_AND_ISR_RESPONSE__INIT;
    resp.error_code = r->controller_id;
    kb_rpc_respond(req, 0, &resp.base, NULL, NULL, 0);
}

static void answer_parked(int i) {
    Kbroker__Rpc__LeaderAndIsrResponse resp = KBROKER__RPC__LEADER_AND_ISR_RESPONSE__INIT;
    resp.error_code = parked_controller[i];
    kb_rpc_respond(parked[i], 0, &resp.base, NULL, NULL, 0);
    parked[i] = NULL;
}

static char file_path[64];
static int file_fd = -1;
static int released;
static void on_release(void *arg) { released++; }

/* ReplicaFetch: two slices, the first bytes, the second a file range. */
static void on_replica_fetch(kb_rpc_req_t *req, const ProtobufCMessage *body, const kp_rpc_slice_t *slices,
                             size_t n_slices, void *arg) {
    static const char first[] = "record bytes in memory";
    kb_sendfile_t sf;
    ck_assert_int_eq(kb_sendfile_init(&sf), 0);
    ck_assert_int_eq(kb_sendfile_add_bytes(&sf, first, strlen(first)), 0);
    ck_assert_int_eq(kb_sendfile_add_file(&sf, file_fd, 3, 10, on_release, NULL), 0);
    uint64_t lens[2] = {strlen(first), 10};
    Kbroker__Rpc__ReplicaFetchResponse resp = KBROKER__RPC__REPLICA_FETCH_RESPONSE__INIT;
    kb_rpc_respond(req, 0, &resp.base, kb_sendfile_evbuffer(&sf), lens, 2);
    ck_assert_uint_eq(evbuffer_get_length(kb_sendfile_evbuffer(&sf)), 0);
    kb_sendfile_clear(&sf);
}

static const kb_rpc_handler_t handlers[] = {
    {KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR, on_leader_and_isr, NULL},
    {KBROKER__RPC__METHOD__METHOD_REPLICA_FETCH, on_replica_fetch, NULL},
};

/* The next server's limits beyond those start_server_limited takes (0 /
 * NULL: the defaults); reset by the fixture. */
static int max_unidentified, max_per_broker, max_per_broker_total;
static bool (*peer_known)(void *arg, int32_t broker_id, int64_t broker_epoch);

/* A server on at_port (0: any) with a Hello deadline and a connection cap
 * (0: none). */
static void start_server_limited(int at_port, uint32_t max_frame, int32_t hello_timeout_ms, int max_connections) {
    char err[256];
    kb_rpc_server_opts_t o = {.host = "127.0.0.1", .port = at_port, .max_frame = max_frame, .idle_ms = 0,
                              .hello_timeout_ms = hello_timeout_ms, .max_connections = max_connections,
                              .max_unidentified = max_unidentified, .max_per_broker = max_per_broker,
                              .max_per_broker_total = max_per_broker_total,
                              .peer_known = peer_known, .self = {SERVER_ID, SERVER_EPOCH}, .handlers = handlers,
                              .n_handlers = sizeof(handlers) / sizeof(handlers[0])};
    srv = kb_rpc_server_new(base, &o, err, sizeof(err));
    ck_assert_msg(srv != NULL, "%s", err);
    port = kb_rpc_server_port(srv);
    ck_assert_int_gt(port, 0);
}

static void start_server(int at_port, uint32_t max_frame) { start_server_limited(at_port, max_frame, 0, 0); }

/* The fixture's server replaced by one with these limits. */
static void restart_server_limited(int32_t hello_timeout_ms, int max_connections) {
    kb_rpc_server_free(srv);
    start_server_limited(0, MAX_FRAME, hello_timeout_ms, max_connections);
}

/* ------------------------------------------------------------------------
 * Clients
 * ------------------------------------------------------------------------ */

/* A client of at_port; connect_timeout_ms also bounds the wait for the
 * peer's Hello. */
static kb_rpc_client_t *client_to(int at_port, int32_t expect_id, int64_t expect_epoch, int32_t connect_timeout_ms,
                                  int32_t backoff_max_ms) {
    kb_rpc_client_opts_t o = {.name = "test->1", .host = "127.0.0.1", .port = at_port, .max_frame = MAX_FRAME,
                              .connect_timeout_ms = connect_timeout_ms, .backoff_ms = 10,
                              .backoff_max_ms = backoff_max_ms, .self = {CLIENT_ID, CLIENT_EPOCH},
                              .expect_broker_id = expect_id, .expect_broker_epoch = expect_epoch,
                              .fail_when_unreachable = fail_fast};
    kb_rpc_client_t *c = kb_rpc_client_new(base, &o);
    ck_assert_ptr_nonnull(c);
    return c;
}

static kb_rpc_client_t *client(int32_t expect_id, int64_t expect_epoch) {
    return client_to(port, expect_id, expect_epoch, 5000, 40);
}

static void on_reply(kb_rpc_status_t st, int32_t error_code, const ProtobufCMessage *body,
                     const kp_rpc_slice_t *slices, size_t n_slices, void *arg) {
    ck_assert_int_lt(n_replies, MAX_REPLIES);
    struct reply *r = &replies[n_replies++];
    r->st = st;
    r->error_code = error_code;
    r->tag = (int)(intptr_t)arg;
    r->n_slices = n_slices;
    if (body) {
        ck_assert_int_eq(st, KB_RPC_OK);
        if (body->descriptor == &kbroker__rpc__leader_and_isr_response__descriptor)
            r->body_error = ((const Kbroker__Rpc__LeaderAndIsrResponse *)body)->error_code;
    } else {
        ck_assert_int_ne(st, KB_RPC_OK);
    }
    for (size_t i = 0; i < n_slices && i < 2; i++) {
        ck_assert_uint_lt(slices[i].len, sizeof(r->slices[i]));
        memcpy(r->slices[i], slices[i].ptr, slices[i].len);
    }
    if (free_in_reply) {
        kb_rpc_client_t *c = free_in_reply;
        free_in_reply = NULL;
        kb_rpc_client_free(c);
    }
}

/* A LeaderAndIsr call whose answer echoes controller_id; tag names it. */
static void call_lai(kb_rpc_client_t *c, int32_t controller_id, int32_t timeout_ms, int tag) {
    Kbroker__Rpc__LeaderAndIsrRequest req = KBROKER__RPC__LEADER_AND_ISR_REQUEST__INIT;
    req.controller_id = controller_id;
    ck_assert_int_eq(kb_rpc_call(c, KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR, &req.base, timeout_ms, on_reply,
                                 (void *)(intptr_t)tag),
                     0);
}

/* ------------------------------------------------------------------------
 * Raw sockets
 * ------------------------------------------------------------------------ */

/* A connection to the server from the loopback address from (e.g.
 * "127.0.0.2": Linux routes all of 127.0.0.0/8 to lo), or the default. */
static int raw_connect_from(const char *from) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(fd, 0);
    if (from) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        ck_assert_int_eq(inet_pton(AF_INET, from, &src.sin_addr), 1);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
    }
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static int raw_connect(void) { return raw_connect_from(NULL); }

static void raw_send(int fd, const void *p, size_t n) { ck_assert_int_eq(write(fd, p, n), (ssize_t)n); }

/* A request frame built as a client would, Hello with the given version. */
static void raw_hello(int fd, uint32_t version, int32_t id, int64_t epoch) {
    Kbroker__Rpc__HelloRequest h = KBROKER__RPC__HELLO_REQUEST__INIT;
    h.protocol_version = version;
    h.broker_id = id;
    h.broker_epoch = epoch;
    kb_rpc_head_t head = {KBROKER__RPC__KIND__KIND_REQUEST, KBROKER__RPC__METHOD__METHOD_HELLO, 9, 0, {id, epoch},
                          NULL, 0};
    uint8_t *frame;
    size_t len;
    ck_assert_int_eq(kb_rpc_build_header(&head, &h.base, MAX_FRAME, &frame, &len), KP_RPC_OK);
    raw_send(fd, frame, len);
    free(frame);
}

typedef struct raw_state {
    int fd;
    bool closed;
    size_t got;
    uint8_t buf[4096];
} raw_state_t;

/* Reads what the server sent; true once it closed (EOF or reset). */
static bool raw_closed(void *arg) {
    raw_state_t *r = arg;
    while (!r->closed) {
        ssize_t n = read(r->fd, r->buf + r->got, sizeof(r->buf) - r->got);
        if (n > 0) r->got += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) r->closed = true;
        else break;
        if (r->got == sizeof(r->buf)) r->got = 0;
    }
    return r->closed;
}

static bool raw_got(void *arg) {
    raw_state_t *r = arg;
    raw_closed(r);
    return r->got >= 8 || r->closed;
}

/* A whole frame is in (or the peer closed). */
static bool raw_got_frame(void *arg) {
    raw_state_t *r = arg;
    raw_closed(r);
    if (r->closed) return true;
    if (r->got < 4) return false;
    uint32_t n = (uint32_t)r->buf[0] << 24 | (uint32_t)r->buf[1] << 16 | (uint32_t)r->buf[2] << 8 | r->buf[3];
    return r->got >= 4 + (size_t)n;
}

/* The 4-byte size prefix of a frame of n bytes, alone. */
static void raw_send_size(int fd, uint32_t n) {
    uint8_t be[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    raw_send(fd, be, sizeof(be));
}

/* ------------------------------------------------------------------------
 * A fake peer: a bare listening socket the test accepts on by hand, to be
 * a server no kbroker would be
 * ------------------------------------------------------------------------ */

typedef struct fake_peer {
    int lfd;
    int port;
    int conn;     /* the connection accepted last; -1: none */
    int accepted; /* connections accepted */
    kb_rpc_client_t *client;
    struct event *lwake, *cwake; /* wake the loop when lfd or conn is readable */
} fake_peer_t;

/* Nothing to do: the pump's predicate reads; the event only ends the
 * loop turn so that it runs. */
static void on_fake_readable(evutil_socket_t fd, short what, void *arg) {}

static struct event *fake_watch(int fd) {
    struct event *ev = event_new(base, fd, EV_READ | EV_PERSIST, on_fake_readable, NULL);
    ck_assert_ptr_nonnull(ev);
    event_add(ev, NULL);
    return ev;
}

static void fake_listen(fake_peer_t *f) {
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *f = (fake_peer_t){.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), .conn = -1};
    ck_assert_int_ge(f->lfd, 0);
    ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(f->lfd, 16), 0);
    ck_assert_int_eq(getsockname(f->lfd, (struct sockaddr *)&sa, &len), 0);
    f->port = ntohs(sa.sin_port);
    f->lwake = fake_watch(f->lfd);
}

static void fake_drop_conn(fake_peer_t *f) {
    if (f->cwake) event_free(f->cwake);
    if (f->conn >= 0) close(f->conn);
    f->cwake = NULL;
    f->conn = -1;
}

/* Accepts one pending connection into f->conn (closing the previous). */
static bool fake_accept(fake_peer_t *f) {
    int fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK);
    if (fd < 0) return false;
    fake_drop_conn(f);
    f->conn = fd;
    f->cwake = fake_watch(fd);
    f->accepted++;
    return true;
}

/* A connection is accepted (pump's predicate: true again once true). */
static bool fake_connected(void *arg) {
    fake_peer_t *f = arg;
    fake_accept(f);
    return f->conn >= 0;
}

/* Closes every connection as soon as it is accepted (a peer that refuses
 * the handshake); true once the client counted four failures in a row. */
static bool fake_refuses_until_four_failures(void *arg) {
    fake_peer_t *f = arg;
    kb_rpc_client_stats_t cs;
    while (fake_accept(f)) fake_drop_conn(f);
    kb_rpc_client_stats(f->client, &cs);
    return cs.failures >= 4;
}

/* Answers the Hello on f->conn as a server with id and epoch. */
static void fake_answer_hello(fake_peer_t *f, int32_t id, int64_t epoch) {
    raw_state_t r = {.fd = f->conn};
    ck_assert(pump(raw_got_frame, &r));
    ck_assert(!r.closed);
    kp_rpc_frame_t *fr;
    ck_assert_int_eq(kp_rpc_decode(r.buf, r.got, MAX_FRAME, &fr), KP_RPC_OK);
    Kbroker__Rpc__HelloResponse h = KBROKER__RPC__HELLO_RESPONSE__INIT;
    h.protocol_version = KP_RPC_PROTOCOL_VERSION;
    h.broker_id = id;
    h.broker_epoch = epoch;
    kb_rpc_head_t head = {KBROKER__RPC__KIND__KIND_RESPONSE, KBROKER__RPC__METHOD__METHOD_HELLO,
                          fr->env->correlation_id, 0, {id, epoch}, NULL, 0};
    kp_rpc_frame_free(fr);
    uint8_t *frame;
    size_t len;
    ck_assert_int_eq(kb_rpc_build_header(&head, &h.base, MAX_FRAME, &frame, &len), KP_RPC_OK);
    raw_send(f->conn, frame, len);
    free(frame);
}

static void fake_close(fake_peer_t *f) {
    fake_drop_conn(f);
    event_free(f->lwake);
    close(f->lfd);
}

/* ------------------------------------------------------------------------
 * Fixture
 * ------------------------------------------------------------------------ */

static void setup(void) {
    base = event_base_new();
    ck_assert_ptr_nonnull(base);
    n_parked = 0;
    n_replies = 0;
    park = false;
    free_in_reply = NULL;
    fail_fast = false;
    last_peer = (kb_rpc_identity_t){-1, -1};
    max_unidentified = max_per_broker = max_per_broker_total = 0;
    peer_known = NULL;
    memset(replies, 0, sizeof(replies));
    snprintf(file_path, sizeof(file_path), "/tmp/kb-test-rpc-XXXXXX");
    file_fd = mkstemp(file_path);
    ck_assert_int_ge(file_fd, 0);
    ck_assert_int_eq(write(file_fd, "0123456789abcdefghij", 20), 20);
    released = 0;
    start_server(0, MAX_FRAME);
}

static void teardown(void) {
    for (int i = 0; i < n_parked; i++)
        if (parked[i]) answer_parked(i);
    kb_rpc_server_free(srv);
    srv = NULL;
    /* Let closed connections and sent file ranges settle. */
    event_base_loop(base, EVLOOP_NONBLOCK);
    event_base_free(base);
    close(file_fd);
    unlink(file_path);
}

/* ------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------ */

START_TEST(handshake_then_a_call_is_answered) {
    kb_rpc_client_t *c = client(SERVER_ID, SERVER_EPOCH);
    ck_assert(pump(client_ready, c));
    call_lai(c, 42, 5000, 1);
    ck_assert(wait_replies(1));
    ck_assert_int_eq(replies[0].st, KB_RPC_OK);
    ck_assert_int_eq(replies[0].error_code, 0);
    ck_assert_int_eq(replies[0].body_error, 42);
    ck_assert_int_eq(last_peer.broker_id, CLIENT_ID);
    ck_assert_int_eq(last_peer.broker_epoch, CLIENT_EPOCH);
    kb_rpc_client_stats_t cs;
    kb_rpc_client_stats(c, &cs);
    ck_assert_uint_eq(cs.connects, 1);
    ck_assert_uint_eq(cs.answered, 1);
    ck_assert_int_eq(cs.in_flight, 0);
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.requests, 1);
    ck_assert_uint_eq(ss.closed_protocol, 0);
    ck_assert_int_eq(ss.connections, 1);
    kb_rpc_client_free(c);
}
END_TEST

START_TEST(a_call_made_before_the_connection_waits_for_the_handshake) {
    kb_rpc_client_t *c = client(-1, -1);
    ck_assert(!kb_rpc_client_ready(c));
    call_lai(c, 5, 5000, 1);
    ck_assert_int_eq(n_replies, 0); /* never from inside kb_rpc_call */
    ck_assert(wait_replies(1));
    ck_assert_int_eq(replies[0].st, KB_RPC_OK);
    ck_assert_int_eq(replies[0].body_error, 5);
    kb_rpc_client_free(c);
}
END_TEST

START_TEST(the_server_hello_names_its_id_and_epoch) {
    raw_state_t r = {.fd = raw_connect()};
    raw_hello(r.fd, KP_RPC_PROTOCOL_VERSION, 3, 9);
    ck_assert(pump(raw_got, &r));
    ck_assert(r.got >= 8);
    kp_rpc_frame_t *f;
    ck_assert_int_eq(kp_rpc_decode(r.buf, r.got, MAX_FRAME, &f), KP_RPC_OK);
    ck_assert_int_eq(f->env->kind, KBROKER__RPC__KIND__KIND_RESPONSE);
    ck_assert_uint_eq(f->env->correlation_id, 9);
    kp_rpc_body_t *b;
    ck_assert_int_eq(kp_rpc_body_unpack(f->env, &b), KP_RPC_OK);
    const Kbroker__Rpc__HelloResponse *h = (const Kbroker__Rpc__HelloResponse *)b->msg;
    ck_assert_uint_eq(h->protocol_version, KP_RPC_PROTOCOL_VERSION);
    ck_assert_int_eq(h->broker_id, SERVER_ID);
    ck_assert_int_eq(h->broker_epoch, SERVER_EPOCH);
    kp_rpc_body_free(b);
    kp_rpc_frame_free(f);
    close(r.fd);
}
END_TEST

START_TEST(a_wrong_protocol_version_is_closed) {
    raw_state_t r = {.fd = raw_connect()};
    raw_hello(r.fd, KP_RPC_PROTOCOL_VERSION + 1, 3, 9);
    ck_assert(pump(raw_closed, &r));
    ck_assert_uint_eq(r.got, 0); /* no Hello back */
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.closed_protocol, 1);
    close(r.fd);
}
END_TEST

static bool server_refused(void *arg) {
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    return ss.closed_protocol >= *(uint64_t *)arg;
}

START_TEST(a_request_before_hello_is_closed) {
    raw_state_t r = {.fd = raw_connect()};
    Kbroker__Rpc__StopReplicaRequest req = KBROKER__RPC__STOP_REPLICA_REQUEST__INIT;
    kb_rpc_head_t head = {KBROKER__RPC__KIND__KIND_REQUEST, KBROKER__RPC__METHOD__METHOD_STOP_REPLICA, 1, 0,
                          {3, 9}, NULL, 0};
    uint8_t *frame;
    size_t len;
    ck_assert_int_eq(kb_rpc_build_header(&head, &req.base, MAX_FRAME, &frame, &len), KP_RPC_OK);
    raw_send(r.fd, frame, len);
    free(frame);
    ck_assert(pump(raw_closed, &r));
    ck_assert_uint_eq(r.got, 0);
    uint64_t one = 1;
    ck_assert(server_refused(&one));
    close(r.fd);
}
END_TEST

/* The client closes a peer that is not who it expected, and its call
 * waits (timing out) instead of going to the wrong broker. */
static void expect_refused(int32_t id, int64_t epoch) {
    kb_rpc_client_t *c = client(id, epoch);
    park = false;
    call_lai(c, 1, 300, 1);
    ck_assert(wait_replies(1));
    ck_assert_int_eq(replies[0].st, KB_RPC_TIMEOUT);
    ck_assert(!kb_rpc_client_ready(c));
    kb_rpc_client_stats_t cs;
    kb_rpc_client_stats(c, &cs);
    ck_assert_uint_eq(cs.connects, 0);
    ck_assert_uint_eq(cs.timeouts, 1);
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.requests, 0);
    kb_rpc_client_free(c);
}

START_TEST(a_peer_with_another_broker_id_is_refused) { expect_refused(SERVER_ID + 4, -1); }
END_TEST

START_TEST(a_peer_with_another_epoch_is_refused) { expect_refused(SERVER_ID, SERVER_EPOCH - 1); }
END_TEST

START_TEST(a_method_without_handler_is_answered_35) {
    kb_rpc_client_t *c = client(SERVER_ID, -1);
    Kbroker__Rpc__StopReplicaRequest req = KBROKER__RPC__STOP_REPLICA_REQUEST__INIT;
    ck_assert_int_eq(kb_rpc_call(c, KBROKER__RPC__METHOD__METHOD_STOP_REPLICA, &req.base, 5000, on_reply, NULL), 0);
    ck_assert(wait_replies(1));
    ck_assert_int_eq(replies[0].st, KB_RPC_OK);
    ck_assert_int_eq(replies[0].error_code, 35);
    /* A message that is not the method's request is refused at once. */
    ck_assert_int_eq(kb_rpc_call(c, KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR, &req.base, 5000, on_reply, NULL), -1);
    kb_rpc_client_free(c);
}
END_TEST

START_TEST(two_calls_answered_out_of_order_reach_their_callers) {
    kb_rpc_client_t *c = client(SERVER_ID, SERVER_EPOCH);
    park = true;
    call_lai(c, 10, 5000, 1);
    call_lai(c, 20, 5000, 2);
    ck_assert(wait_parked(2));
    ck_assert_int_eq(parked_controller[0], 10);
    answer_parked(1);
    ck_assert(wait_replies(1));
    answer_parked(0);
    ck_assert(wait_replies(2));
    ck_assert_int_eq(replies[0].tag, 2);
    ck_assert_int_eq(replies[0].body_error, 20);
    ck_assert_int_eq(replies[1].tag, 1);
    ck_assert_int_eq(replies[1].body_error, 10);
    kb_rpc_client_free(c);
}
END_TEST

START_TEST(a_call_times_out_and_its_late_answer_is_dropped) {
    kb_rpc_client_t *c = client(SERVER_ID, SERVER_EPOCH);
    park = true;
    call_lai(c, 10, 100, 1);
    ck_assert(wait_parked(1));
    ck_assert(wait_replies(1));
    ck_assert_int_eq(replies[0].st, KB_RPC_TIMEOUT);
    answer_parked(0);
    park = false;
    call_lai(c, 30, 5000, 2); /* the connection still serves */
    ck_assert(wait_replies(2));
    ck_assert_int_eq(replies[1].tag, 2);
    ck_assert_int_eq(replies[1].body_error, 30);
    ck_assert_int_eq(n_replies, 2);
    kb_rpc_client_free(c);
}
END_TEST

START_TEST(the_server_going_away_disconnects_then_the_client_reconnects) {
    kb_rpc_client_t *c = client(SERVER_ID, SERVER_EPOCH);
    park = true;
    call_lai(c, 10, 10000, 1);
    ck_assert(wait_parked(1));
    kb_rpc_server_free(srv);
    srv = NULL;
    ck_assert(wait_replies(1));
    ck_assert_int_eq(replies[0].st, KB_RPC_DISCONNECTED);
    answer_parked(0); /* after its server: dropped */
    park = false;
    call_lai(c, 40, 10000, 2); /* waits for the next connection */
    start_server(port, MAX_FRAME);
    ck_assert(wait_replies(2));
    ck_assert_int_eq(replies[1].st, KB_RPC_OK);
    ck_assert_int_eq(replies[1].body_error, 40);
    kb_rpc_client_stats_t cs;
    kb_rpc_client_stats(c, &cs);
    ck_assert_uint_eq(cs.connects, 2);
    ck_assert_uint_eq(cs.disconnected, 1);
    kb_rpc_client_free(c);
}
END_TEST

START_TEST(freeing_the_client_cancels_its_calls) {
    kb_rpc_client_t *c = client(SERVER_ID, SERVER_EPOCH);
    park = true;
    call_lai(c, 10, 10000, 1);
    ck_assert(wait_parked(1));
    call_lai(c, 11, 10000, 2);
    kb_rpc_client_free(c);
    ck_assert_int_eq(n_replies, 2);
    ck_assert_int_eq(replies[0].st, KB_RPC_CANCELLED);
    ck_assert_int_eq(replies[1].st, KB_RPC_CANCELLED);
}
END_TEST

START_TEST(a_client_freed_inside_its_reply_callback) {
    kb_rpc_client_t *c = client(SERVER_ID, SERVER_EPOCH);
    park = true;
    call_lai(c, 10, 10000, 1);
    call_lai(c, 11, 10000, 2);
    ck_assert(wait_parked(2));
    free_in_reply = c;
    answer_parked(0);
    ck_assert(wait_replies(2));
    ck_assert_int_eq(replies[0].st, KB_RPC_OK);
    ck_assert_int_eq(replies[1].st, KB_RPC_CANCELLED);
    /* The client's memory goes once the callback returned (ASan checks). */
    event_base_loop(base, EVLOOP_NONBLOCK);
}
END_TEST

/* With fail_when_unreachable a refused connect fails the call at once
 * (not after its 30 s timeout), and the reply may free the client. */
START_TEST(a_fail_fast_call_to_a_closed_port_fails_unreachable) {
    kb_rpc_server_free(srv); /* nothing listens on port any more */
    srv = NULL;
    fail_fast = true;
    kb_rpc_client_t *c = client(SERVER_ID, SERVER_EPOCH);
    call_lai(c, 10, 30000, 1);
    call_lai(c, 11, 30000, 2);
    free_in_reply = c;
    ck_assert(wait_replies(2));
    ck_assert_int_eq(replies[0].st, KB_RPC_UNREACHABLE);
    ck_assert_int_eq(replies[1].st, KB_RPC_UNREACHABLE); /* failed together, though the first freed c */
    event_base_loop(base, EVLOOP_NONBLOCK);             /* the memory goes (ASan checks) */
}
END_TEST

/* ... and so does a peer refused at its Hello (another broker now holds
 * the address), where a default client's call waits out its timeout. */
START_TEST(a_fail_fast_call_to_the_wrong_broker_fails_unreachable) {
    fail_fast = true;
    kb_rpc_client_t *c = client(SERVER_ID + 4, -1);
    call_lai(c, 10, 30000, 1);
    ck_assert(wait_replies(1));
    ck_assert_int_eq(replies[0].st, KB_RPC_UNREACHABLE);
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.requests, 0);
    kb_rpc_client_free(c);
}
END_TEST

START_TEST(trailer_slices_arrive_intact) {
    kb_rpc_client_t *c = client(SERVER_ID, SERVER_EPOCH);
    Kbroker__Rpc__ReplicaFetchRequest req = KBROKER__RPC__REPLICA_FETCH_REQUEST__INIT;
    ck_assert_int_eq(kb_rpc_call(c, KBROKER__RPC__METHOD__METHOD_REPLICA_FETCH, &req.base, 5000, on_reply, NULL), 0);
    ck_assert(wait_replies(1));
    ck_assert_int_eq(replies[0].st, KB_RPC_OK);
    ck_assert_uint_eq(replies[0].n_slices, 2);
    ck_assert_str_eq(replies[0].slices[0], "record bytes in memory");
    ck_assert_str_eq(replies[0].slices[1], "3456789abc");
    ck_assert_int_eq(released, 1);
    kb_rpc_client_free(c);
}
END_TEST

/* One malformed frame on a raw connection: closed, counted, and a client
 * on another connection is still served. */
static void malformed_closes_only_its_connection(const uint8_t *frame, size_t len, bool hello_first) {
    kb_rpc_client_t *c = client(SERVER_ID, SERVER_EPOCH);
    ck_assert(pump(client_ready, c));
    raw_state_t r = {.fd = raw_connect()};
    if (hello_first) {
        raw_hello(r.fd, KP_RPC_PROTOCOL_VERSION, 3, 9);
        ck_assert(pump(raw_got, &r));
    }
    raw_send(r.fd, frame, len);
    ck_assert(pump(raw_closed, &r));
    close(r.fd);
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.closed_protocol, 1);
    call_lai(c, 50, 5000, 1);
    ck_assert(wait_replies(1));
    ck_assert_int_eq(replies[0].st, KB_RPC_OK);
    ck_assert_int_eq(replies[0].body_error, 50);
    kb_rpc_client_free(c);
}

START_TEST(an_oversized_frame_closes_only_its_connection) {
    /* Declares 16 MiB against a 1 MiB limit; nothing more is sent. */
    const uint8_t frame[] = {0x01, 0x00, 0x00, 0x00, 0, 0, 0, 0};
    malformed_closes_only_its_connection(frame, sizeof(frame), false);
}
END_TEST

START_TEST(lengths_that_disagree_close_only_their_connection) {
    /* frame_len 6, envelope_len 100. */
    const uint8_t frame[] = {0, 0, 0, 6, 0, 0, 0, 100, 0, 0};
    malformed_closes_only_its_connection(frame, sizeof(frame), true);
}
END_TEST

START_TEST(a_garbage_envelope_closes_only_its_connection) {
    /* envelope_len 4 of bytes protobuf-c cannot read (a field 0 tag). */
    const uint8_t frame[] = {0, 0, 0, 8, 0, 0, 0, 4, 0x00, 0xff, 0xff, 0xff};
    malformed_closes_only_its_connection(frame, sizeof(frame), true);
}
END_TEST

/* ------------------------------------------------------------------------
 * Hostile or broken peers
 * ------------------------------------------------------------------------ */

START_TEST(a_size_above_the_hello_limit_before_hello_is_refused_at_once) {
    /* Well below max_frame, but no Hello yet: refused on its 4 size bytes,
     * without waiting for (or buffering) the rest. */
    raw_state_t r = {.fd = raw_connect()};
    raw_send_size(r.fd, KB_RPC_HELLO_MAX_FRAME + 1);
    ck_assert(pump(raw_closed, &r));
    ck_assert_uint_eq(r.got, 0);
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.closed_protocol, 1);
    close(r.fd);
}
END_TEST

/* A LeaderAndIsr request or answer with n partitions of long topic names:
 * well above the Hello limit. */
#define BIG_N 200
static Kbroker__Rpc__PartitionState big_states[BIG_N], *big_state_ptrs[BIG_N];
static Kbroker__Rpc__PartitionError big_errors[BIG_N], *big_error_ptrs[BIG_N];
static char big_topic[] = "a-topic-name-long-enough-to-make-the-frame-large";

static void fill_big(void) {
    for (int i = 0; i < BIG_N; i++) {
        kbroker__rpc__partition_state__init(&big_states[i]);
        big_states[i].topic_name = big_topic;
        big_states[i].partition_index = i;
        big_state_ptrs[i] = &big_states[i];
        kbroker__rpc__partition_error__init(&big_errors[i]);
        big_errors[i].topic_name = big_topic;
        big_errors[i].partition_index = i;
        big_error_ptrs[i] = &big_errors[i];
    }
}

START_TEST(after_hello_frames_above_the_hello_limit_pass_both_ways) {
    fill_big();
    kb_rpc_client_t *c = client(SERVER_ID, SERVER_EPOCH);
    park = true;
    Kbroker__Rpc__LeaderAndIsrRequest req = KBROKER__RPC__LEADER_AND_ISR_REQUEST__INIT;
    req.controller_id = 77;
    req.partition_states = big_state_ptrs;
    req.n_partition_states = BIG_N;
    ck_assert_uint_gt(protobuf_c_message_get_packed_size(&req.base), 2 * KB_RPC_HELLO_MAX_FRAME);
    ck_assert_int_eq(kb_rpc_call(c, KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR, &req.base, 5000, on_reply, NULL), 0);
    ck_assert(wait_parked(1));
    Kbroker__Rpc__LeaderAndIsrResponse resp = KBROKER__RPC__LEADER_AND_ISR_RESPONSE__INIT;
    resp.error_code = 77;
    resp.partition_errors = big_error_ptrs;
    resp.n_partition_errors = BIG_N;
    ck_assert_uint_gt(protobuf_c_message_get_packed_size(&resp.base), 2 * KB_RPC_HELLO_MAX_FRAME);
    kb_rpc_respond(parked[0], 0, &resp.base, NULL, NULL, 0);
    parked[0] = NULL;
    ck_assert(wait_replies(1));
    ck_assert_int_eq(replies[0].st, KB_RPC_OK);
    ck_assert_int_eq(replies[0].body_error, 77);
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.closed_protocol, 0);
    kb_rpc_client_free(c);
}
END_TEST

START_TEST(the_client_refuses_a_server_hello_above_the_hello_limit_at_once) {
    fake_peer_t f;
    fake_listen(&f);
    /* A Hello deadline far beyond the pump's bound: only the size check can
     * close the connection in time. */
    kb_rpc_client_t *c = client_to(f.port, -1, -1, 60000, 40);
    ck_assert(pump(fake_connected, &f));
    raw_state_t r = {.fd = f.conn};
    ck_assert(pump(raw_got, &r)); /* the client's Hello */
    raw_send_size(f.conn, KB_RPC_HELLO_MAX_FRAME + 1);
    r.got = 0;
    ck_assert(pump(raw_closed, &r));
    kb_rpc_client_stats_t cs;
    kb_rpc_client_stats(c, &cs);
    ck_assert_uint_eq(cs.connects, 0);
    ck_assert(!kb_rpc_client_ready(c));
    kb_rpc_client_free(c);
    fake_close(&f);
}
END_TEST

static bool server_connections_are(void *arg) {
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    return ss.connections == *(int *)arg;
}

static void wait_server_connections(int n) { ck_assert(pump(server_connections_are, &n)); }

START_TEST(a_peer_without_hello_is_closed_at_the_hello_deadline) {
    restart_server_limited(200, 0);
    kb_rpc_client_t *c = client(SERVER_ID, SERVER_EPOCH);
    ck_assert(pump(client_ready, c));
    raw_state_t silent = {.fd = raw_connect()};
    raw_state_t partial = {.fd = raw_connect()};
    const uint8_t part[] = {0, 0, 0, 100, 0, 0, 0}; /* 3 of 100 bytes */
    raw_send(partial.fd, part, sizeof(part));
    ck_assert(pump(raw_closed, &silent));
    ck_assert(pump(raw_closed, &partial));
    close(silent.fd);
    close(partial.fd);
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.closed_hello_timeout, 2);
    ck_assert_uint_eq(ss.closed_protocol, 0);
    /* The client connected before them, so its deadline has passed too:
     * its Hello in time ended it. */
    ck_assert_int_eq(ss.connections, 1);
    call_lai(c, 60, 5000, 1);
    ck_assert(wait_replies(1));
    ck_assert_int_eq(replies[0].st, KB_RPC_OK);
    ck_assert_int_eq(replies[0].body_error, 60);
    kb_rpc_client_free(c);
}
END_TEST

START_TEST(connections_beyond_max_connections_are_refused) {
    restart_server_limited(0, 2);
    kb_rpc_client_t *c = client(SERVER_ID, SERVER_EPOCH);
    ck_assert(pump(client_ready, c));
    raw_state_t a = {.fd = raw_connect()};
    raw_hello(a.fd, KP_RPC_PROTOCOL_VERSION, 3, 9); /* identified: no new connection takes its place */
    ck_assert(pump(raw_got_frame, &a));
    ck_assert(!a.closed);
    wait_server_connections(2);
    raw_state_t b = {.fd = raw_connect()}; /* the kernel completes it; the server closes it */
    ck_assert(pump(raw_closed, &b));
    close(b.fd);
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.refused_connections, 1);
    ck_assert_int_eq(ss.connections, 2);
    /* A slot freed is a slot taken again. */
    close(a.fd);
    wait_server_connections(1);
    raw_state_t d = {.fd = raw_connect()};
    wait_server_connections(2);
    ck_assert(!raw_closed(&d));
    close(d.fd);
    call_lai(c, 70, 5000, 1);
    ck_assert(wait_replies(1));
    ck_assert_int_eq(replies[0].body_error, 70);
    kb_rpc_client_free(c);
}
END_TEST

START_TEST(a_peer_that_keeps_failing_the_handshake_is_redialled_with_growing_waits) {
    fake_peer_t f;
    fake_listen(&f);
    f.client = client_to(f.port, SERVER_ID, SERVER_EPOCH, 5000, 1000);
    ck_assert(pump(fake_refuses_until_four_failures, &f));
    kb_rpc_client_stats_t cs;
    kb_rpc_client_stats(f.client, &cs);
    ck_assert_uint_eq(cs.connects, 0);
    ck_assert_int_ge(f.accepted, 4); /* every attempt connected: the handshake failed */
    /* The fourth failure in a row: 10 ms * 2^3, less 20% jitter at most. */
    ck_assert_int_ge(cs.backoff_ms, 64);
    /* A completed handshake resets the count: the next loss waits 10 ms
     * (+/- 20%) again. */
    ck_assert(pump(fake_connected, &f));
    fake_answer_hello(&f, SERVER_ID, SERVER_EPOCH);
    ck_assert(pump(client_ready, f.client));
    kb_rpc_client_stats(f.client, &cs);
    ck_assert_int_eq(cs.failures, 0);
    ck_assert_uint_eq(cs.connects, 1);
    fake_drop_conn(&f);
    ck_assert(pump(client_lost, f.client));
    kb_rpc_client_stats(f.client, &cs);
    ck_assert_int_eq(cs.failures, 1);
    ck_assert_int_le(cs.backoff_ms, 12);
    kb_rpc_client_free(f.client);
    fake_close(&f);
}
END_TEST

/* ------------------------------------------------------------------------
 * Who may hold a connection
 * ------------------------------------------------------------------------ */

/* Knows broker 3 at epoch 9 only. */
static bool knows_broker_3(void *arg, int32_t broker_id, int64_t broker_epoch) {
    return broker_id == 3 && broker_epoch == 9;
}

/* A raw connection's Hello as (id, epoch): true if answered, false if
 * the server closed the connection instead.  r->fd stays open. */
static bool hello_answered(raw_state_t *r, int32_t id, int64_t epoch) {
    raw_hello(r->fd, KP_RPC_PROTOCOL_VERSION, id, epoch);
    ck_assert(pump(raw_got_frame, r));
    return !r->closed;
}

START_TEST(a_hello_from_a_broker_the_callback_does_not_know_is_closed) {
    peer_known = knows_broker_3;
    restart_server_limited(0, 0);
    raw_state_t stranger = {.fd = raw_connect()}, old_epoch = {.fd = raw_connect()}, known = {.fd = raw_connect()};
    ck_assert(!hello_answered(&stranger, 7, 11));
    ck_assert(!hello_answered(&old_epoch, 3, 8));
    ck_assert(hello_answered(&known, 3, 9));
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.closed_unknown_peer, 2);
    close(stranger.fd);
    close(old_epoch.fd);
    close(known.fd);
}
END_TEST

START_TEST(a_hello_naming_broker_minus_1_is_closed) {
    /* No callback: any id from 0 up is taken, but never one below. */
    raw_state_t r = {.fd = raw_connect()}, zero = {.fd = raw_connect()};
    ck_assert(!hello_answered(&r, -1, -1));
    ck_assert(hello_answered(&zero, 0, -1));
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.closed_unknown_peer, 1);
    close(r.fd);
    close(zero.fd);
}
END_TEST

START_TEST(a_new_connection_takes_the_place_of_the_oldest_waiting_for_hello) {
    max_unidentified = 3;
    restart_server_limited(0, 0);
    raw_state_t silent[3];
    for (int i = 0; i < 3; i++) {
        silent[i] = (raw_state_t){.fd = raw_connect()};
        wait_server_connections(i + 1); /* accepted in this order */
    }
    raw_state_t newcomer = {.fd = raw_connect()};
    ck_assert(pump(raw_closed, &silent[0]));
    ck_assert(hello_answered(&newcomer, 3, 9));
    ck_assert(!raw_closed(&silent[1]) && !raw_closed(&silent[2]));
    /* The newcomer, identified, no longer counts: one more fits, the one
     * after it evicts silent[1]. */
    raw_state_t next = {.fd = raw_connect()};
    wait_server_connections(4);
    ck_assert(!raw_closed(&silent[1]));
    raw_state_t last = {.fd = raw_connect()};
    ck_assert(pump(raw_closed, &silent[1]));
    ck_assert(!raw_closed(&silent[2]) && !raw_closed(&newcomer) && !raw_closed(&next));
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.evicted_unidentified, 2);
    ck_assert_uint_eq(ss.refused_connections, 0);
    for (int i = 0; i < 3; i++) close(silent[i].fd);
    close(newcomer.fd);
    close(next.fd);
    close(last.fd);
}
END_TEST

START_TEST(a_full_server_evicts_a_connection_waiting_for_hello_rather_than_refuse) {
    restart_server_limited(0, 2);
    raw_state_t known = {.fd = raw_connect()}, silent = {.fd = raw_connect()};
    ck_assert(hello_answered(&known, 3, 9));
    wait_server_connections(2);
    raw_state_t newcomer = {.fd = raw_connect()};
    ck_assert(pump(raw_closed, &silent));
    ck_assert(hello_answered(&newcomer, 4, 9));
    ck_assert(!raw_closed(&known));
    close(known.fd);
    close(silent.fd);
    close(newcomer.fd);
}
END_TEST

START_TEST(one_connection_too_many_for_a_broker_id_closes_its_oldest) {
    max_per_broker = 2;
    restart_server_limited(0, 0);
    raw_state_t first = {.fd = raw_connect()}, second = {.fd = raw_connect()}, other = {.fd = raw_connect()};
    ck_assert(hello_answered(&first, 3, 9));
    ck_assert(hello_answered(&second, 3, 9));
    ck_assert(hello_answered(&other, 4, 9));
    raw_state_t third = {.fd = raw_connect()};
    ck_assert(hello_answered(&third, 3, 9));
    ck_assert(pump(raw_closed, &first));
    ck_assert(!raw_closed(&second) && !raw_closed(&other) && !raw_closed(&third));
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.evicted_per_broker, 1);
    ck_assert_int_eq(ss.connections, 3);
    close(first.fd);
    close(second.fd);
    close(other.fd);
    close(third.fd);
}
END_TEST

START_TEST(hellos_for_a_broker_id_from_another_address_close_none_of_its_connections) {
    /* A stranger elsewhere claims broker 3, as the attacker who read its
     * registration in ZooKeeper would, from 127.0.0.2. */
    max_per_broker = 2;
    restart_server_limited(0, 0);
    raw_state_t real[2], stranger[3];
    for (int i = 0; i < 2; i++) {
        real[i] = (raw_state_t){.fd = raw_connect_from("127.0.0.1")};
        ck_assert(hello_answered(&real[i], 3, 9));
    }
    for (int i = 0; i < 3; i++) {
        stranger[i] = (raw_state_t){.fd = raw_connect_from("127.0.0.2")};
        ck_assert(hello_answered(&stranger[i], 3, 9));
    }
    /* The third from 127.0.0.2 closed the first from there, nothing else. */
    ck_assert(pump(raw_closed, &stranger[0]));
    ck_assert(!raw_closed(&real[0]) && !raw_closed(&real[1]));
    ck_assert(!raw_closed(&stranger[1]) && !raw_closed(&stranger[2]));
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.evicted_per_broker, 1);
    ck_assert_uint_eq(ss.refused_per_broker, 0);
    ck_assert_int_eq(ss.connections, 4);
    for (int i = 0; i < 2; i++) close(real[i].fd);
    for (int i = 0; i < 3; i++) close(stranger[i].fd);
}
END_TEST

START_TEST(a_hello_past_the_ceiling_for_a_broker_id_is_refused_itself) {
    max_per_broker = 2;
    max_per_broker_total = 3;
    restart_server_limited(0, 0);
    raw_state_t a1 = {.fd = raw_connect_from("127.0.0.1")}, a2 = {.fd = raw_connect_from("127.0.0.1")};
    raw_state_t b1 = {.fd = raw_connect_from("127.0.0.2")}, b2 = {.fd = raw_connect_from("127.0.0.2")};
    ck_assert(hello_answered(&a1, 3, 9));
    ck_assert(hello_answered(&a2, 3, 9));
    ck_assert(hello_answered(&b1, 3, 9));
    ck_assert(!hello_answered(&b2, 3, 9)); /* the fourth of broker 3: the newest goes */
    ck_assert(!raw_closed(&a1) && !raw_closed(&a2) && !raw_closed(&b1));
    kb_rpc_server_stats_t ss;
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.refused_per_broker, 1);
    ck_assert_uint_eq(ss.evicted_per_broker, 0);
    /* At the ceiling, one more from an address at its own limit still
     * replaces that address's oldest (the count over all stays 3). */
    raw_state_t a3 = {.fd = raw_connect_from("127.0.0.1")};
    ck_assert(hello_answered(&a3, 3, 9));
    ck_assert(pump(raw_closed, &a1));
    ck_assert(!raw_closed(&a2) && !raw_closed(&b1));
    kb_rpc_server_stats(srv, &ss);
    ck_assert_uint_eq(ss.evicted_per_broker, 1);
    ck_assert_int_eq(ss.connections, 3);
    close(a1.fd);
    close(a2.fd);
    close(a3.fd);
    close(b1.fd);
    close(b2.fd);
}
END_TEST

/* ------------------------------------------------------------------------
 * Log lines a peer can cause
 * ------------------------------------------------------------------------ */

START_TEST(a_hundred_bad_frames_write_at_most_two_warnings) {
    static const uint8_t garbage[] = {0, 0, 0, 8, 0, 0, 0, 100, 'x', 'x', 'x', 'x'}; /* lengths disagree */
    stderrfix_capture();
    for (int i = 0; i < 100; i++) {
        raw_state_t r = {.fd = raw_connect()};
        if (i % 2) raw_send_size(r.fd, 0x7fffffff);
        else raw_send(r.fd, garbage, sizeof(garbage));
        ck_assert(pump(raw_closed, &r));
        close(r.fd);
    }
    uint64_t all = 100;
    bool counted = pump(server_refused, &all);
    int warnings = stderrfix_lines_with("WARN", "");
    ck_assert(counted);
    ck_assert_int_ge(warnings, 1);
    ck_assert_int_le(warnings, 2);
}
END_TEST

START_TEST(twenty_reconnects_of_a_client_write_at_most_two_info_lines) {
    /* A peer that answers Hello, then closes: what a stranger makes of the
     * controller's connection when its server evicts it. */
    fake_peer_t f;
    kc_log_init("unit", -1, KC_LOG_INFO);
    fake_listen(&f);
    stderrfix_capture();
    f.client = client_to(f.port, SERVER_ID, SERVER_EPOCH, 5000, 40);
    for (int i = 0; i < 20; i++) {
        ck_assert(pump(fake_connected, &f));
        fake_answer_hello(&f, SERVER_ID, SERVER_EPOCH);
        ck_assert(pump(client_ready, f.client));
        fake_drop_conn(&f);
        ck_assert(pump(client_lost, f.client));
    }
    kb_rpc_client_stats_t cs;
    kb_rpc_client_stats(f.client, &cs);
    kb_rpc_client_free(f.client);
    fake_close(&f);
    int info = stderrfix_lines_with("INFO", "test->1");
    ck_assert_uint_eq(cs.connects, 20);
    ck_assert_int_ge(info, 1);
    ck_assert_int_le(info, 2);
}
END_TEST

Suite *rpc_channel_suite(void) {
    Suite *s = suite_create("rpc_channel");
    TCase *tc = tcase_create("channel");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, handshake_then_a_call_is_answered);
    tcase_add_test(tc, a_call_made_before_the_connection_waits_for_the_handshake);
    tcase_add_test(tc, the_server_hello_names_its_id_and_epoch);
    tcase_add_test(tc, a_wrong_protocol_version_is_closed);
    tcase_add_test(tc, a_request_before_hello_is_closed);
    tcase_add_test(tc, a_peer_with_another_broker_id_is_refused);
    tcase_add_test(tc, a_peer_with_another_epoch_is_refused);
    tcase_add_test(tc, a_method_without_handler_is_answered_35);
    tcase_add_test(tc, two_calls_answered_out_of_order_reach_their_callers);
    tcase_add_test(tc, a_call_times_out_and_its_late_answer_is_dropped);
    tcase_add_test(tc, the_server_going_away_disconnects_then_the_client_reconnects);
    tcase_add_test(tc, freeing_the_client_cancels_its_calls);
    tcase_add_test(tc, a_client_freed_inside_its_reply_callback);
    tcase_add_test(tc, trailer_slices_arrive_intact);
    tcase_add_test(tc, an_oversized_frame_closes_only_its_connection);
    tcase_add_test(tc, lengths_that_disagree_close_only_their_connection);
    tcase_add_test(tc, a_garbage_envelope_closes_only_its_connection);
    tcase_add_test(tc, a_size_above_the_hello_limit_before_hello_is_refused_at_once);
    tcase_add_test(tc, after_hello_frames_above_the_hello_limit_pass_both_ways);
    tcase_add_test(tc, the_client_refuses_a_server_hello_above_the_hello_limit_at_once);
    tcase_add_test(tc, a_peer_without_hello_is_closed_at_the_hello_deadline);
    tcase_add_test(tc, connections_beyond_max_connections_are_refused);
    tcase_add_test(tc, a_peer_that_keeps_failing_the_handshake_is_redialled_with_growing_waits);
    tcase_add_test(tc, a_hello_from_a_broker_the_callback_does_not_know_is_closed);
    tcase_add_test(tc, a_hello_naming_broker_minus_1_is_closed);
    tcase_add_test(tc, a_new_connection_takes_the_place_of_the_oldest_waiting_for_hello);
    tcase_add_test(tc, a_full_server_evicts_a_connection_waiting_for_hello_rather_than_refuse);
    tcase_add_test(tc, one_connection_too_many_for_a_broker_id_closes_its_oldest);
    tcase_add_test(tc, hellos_for_a_broker_id_from_another_address_close_none_of_its_connections);
    tcase_add_test(tc, a_hello_past_the_ceiling_for_a_broker_id_is_refused_itself);
    tcase_add_test(tc, a_hundred_bad_frames_write_at_most_two_warnings);
    tcase_add_test(tc, twenty_reconnects_of_a_client_write_at_most_two_info_lines);
    tcase_add_test(tc, a_fail_fast_call_to_a_closed_port_fails_unreachable);
    tcase_add_test(tc, a_fail_fast_call_to_the_wrong_broker_fails_unreachable);
    suite_add_tcase(s, tc);
    return s;
}
