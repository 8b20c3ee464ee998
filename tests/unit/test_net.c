/*
 * test_net.c - the framed-connection transport (broker/net), with real
 * sockets on 127.0.0.1 in the test's own loop (netfix):
 *   - framing: frames split across reads, sizes refused before anything is
 *     allocated for them, a frame exactly at the limit;
 *   - delivery: one at a time and in order (Kafka), or pipelined;
 *   - back-pressure: reading stopped while a connection's unsent output is
 *     above its high-water mark, in both delivery modes;
 *   - lifetime: idle timeout, a peer that leaves while its request is with
 *     a handler, the server going away first;
 *   - outbound connections: frames both ways, the frame limit, reconnecting
 *     with exponential backoff while the listener is away, freeing, and
 *     host names looked up through an evdns base (never the blocking
 *     system resolver) with a deadline;
 *   - the Kafka listener setup (broker/api/kb_api_listen.c) writing an
 *     ephemeral port back to the configuration.
 *
 * The frame callback here is the test's own: it records each frame and
 * answers when the test says so.  Every wait is on state, bounded.
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/api/kb_api_listen.h"
#include "broker/net/kb_net.h"
#include "tests/unit/logfix.h"
#include "tests/unit/netfix.h"
#include "tests/unit/unit.h"

#define MAX_SEEN 32

/* What the callback saw, and the request it holds. */
static struct {
    int calls;
    size_t len[MAX_SEEN];
    uint8_t first[MAX_SEEN]; /* first byte of each frame */
    kb_conn_t *pending;      /* the request not yet answered */
    bool answer_at_once;
    size_t answer_size;      /* pipelined: answer each frame with this many bytes */
} seen;

/* A frame of `size` bytes of `fill`, size prefix included. */
static struct evbuffer *frame_of(size_t size, uint8_t fill) {
    struct evbuffer *eb = evbuffer_new();
    uint32_t be = htonl((uint32_t)size);
    evbuffer_add(eb, &be, 4);
    uint8_t *body = malloc(size ? size : 1);
    memset(body, fill, size);
    evbuffer_add(eb, body, size);
    free(body);
    return eb;
}

static void on_request(kb_conn_t *c, const uint8_t *frame, size_t len, void *arg) {
    if (seen.calls < MAX_SEEN) {
        seen.len[seen.calls] = len;
        seen.first[seen.calls] = len ? frame[0] : 0;
    }
    seen.calls++;
    seen.pending = c;
    if (seen.answer_at_once) {
        seen.pending = NULL;
        kb_conn_done(c);
    }
}

/* Pipelined: records the frame and, if the test asked, answers it at once
 * with seen.answer_size bytes (the frame itself is gone after this). */
static void on_pipelined(kb_conn_t *c, const uint8_t *frame, size_t len, void *arg) {
    on_request(c, frame, len, arg);
    seen.pending = NULL;
    if (!seen.answer_size) return;
    struct evbuffer *eb = frame_of(seen.answer_size, len ? frame[0] : 0);
    kb_conn_send(c, eb);
    evbuffer_free(eb);
}

/* Answers the held request with a frame of `size` bytes of `fill`. */
static void answer(size_t size, uint8_t fill) {
    struct evbuffer *eb = frame_of(size, fill);
    kb_conn_t *c = seen.pending;
    seen.pending = NULL;
    kb_conn_reply(c, eb);
    evbuffer_free(eb);
}

/* A listener with the test's defaults (netfix_opts) changed by the test,
 * and the client connected to it. */
static void listen_and_connect(kb_conn_opts_t opts, int rcvbuf) {
    netfix_listen(&opts, 0);
    netfix_connect(rcvbuf);
}

static bool calls_reach(void *n) { return seen.calls >= *(int *)n; }
static bool no_connections(void *arg) { return kb_server_connection_count(nf.srv) == 0; }
static bool one_connection(void *arg) { return kb_server_connection_count(nf.srv) == 1; }

static void setup(void) {
    logfix_setup("net");
    memset(&seen, 0, sizeof(seen));
}

static kb_conn_opts_t opts_one_at_a_time(void) { return netfix_opts(on_request, NULL); }

static kb_outbound_t *ob; /* the outbound connection of a test, freed by teardown if left */
static struct evdns_base *dns; /* a test's resolver, freed after ob */

static void teardown(void) {
    kb_outbound_free(ob);
    ob = NULL;
    if (dns) evdns_base_free(dns, 0);
    dns = NULL;
    netfix_stop();
    logfix_teardown();
}

static void wait_calls(int n) { ck_assert_msg(netfix_pump(calls_reach, &n), "%d requests, wanted %d", seen.calls, n); }

START_TEST(a_frame_split_across_reads_is_handed_over_whole) {
    listen_and_connect(opts_one_at_a_time(), 0);
    uint8_t frame[4 + 300] = {0, 0, 1, 44};
    memset(frame + 4, 'x', 300);
    frame[4] = 'A';
    for (size_t off = 0; off < sizeof(frame); off += 7) {
        netfix_send(frame + off, off + 7 <= sizeof(frame) ? 7 : sizeof(frame) - off);
        netfix_pump_once();
        if (off + 7 < sizeof(frame)) ck_assert_int_eq(seen.calls, 0);
    }
    wait_calls(1);
    ck_assert_uint_eq(seen.len[0], 300);
    ck_assert_int_eq(seen.first[0], 'A');
}
END_TEST

START_TEST(an_empty_frame_is_a_request_too) {
    listen_and_connect(opts_one_at_a_time(), 0);
    netfix_send_frame("", 0);
    wait_calls(1);
    ck_assert_uint_eq(seen.len[0], 0);
}
END_TEST

static void refused_size(uint32_t size) {
    uint32_t be = htonl(size);
    netfix_send(&be, 4); /* the size alone: the payload is never sent */
    size_t unread = 99;
    ck_assert(netfix_closed(&unread));
    ck_assert_uint_eq(unread, 0);
    ck_assert(netfix_pump(no_connections, NULL));
    ck_assert_int_eq(seen.calls, 0);
    ck_assert_uint_eq(kb_server_bad_frames(nf.srv), 1);
}

START_TEST(a_negative_size_closes_the_connection) {
    listen_and_connect(opts_one_at_a_time(), 0);
    ck_assert(netfix_pump(one_connection, NULL));
    refused_size(0x80000000u);
}
END_TEST

START_TEST(a_size_above_the_limit_closes_before_the_payload_arrives) {
    kb_conn_opts_t opts = opts_one_at_a_time();
    opts.max_frame = 1024;
    listen_and_connect(opts, 0);
    ck_assert(netfix_pump(one_connection, NULL));
    refused_size(1025);
}
END_TEST

START_TEST(a_size_at_the_limit_is_read) {
    kb_conn_opts_t opts = opts_one_at_a_time();
    opts.max_frame = 1024;
    listen_and_connect(opts, 0);
    uint8_t body[1024] = {'B'};
    netfix_send_frame(body, sizeof(body));
    wait_calls(1);
    ck_assert_uint_eq(seen.len[0], 1024);
    ck_assert_uint_eq(kb_server_bad_frames(nf.srv), 0);
}
END_TEST

START_TEST(pipelined_frames_are_handled_one_at_a_time_in_order) {
    listen_and_connect(opts_one_at_a_time(), 0);
    uint8_t three[] = {0, 0, 0, 1, 'a', 0, 0, 0, 2, 'b', 'b', 0, 0, 0, 1, 'c'};
    netfix_send(three, sizeof(three));
    wait_calls(1);
    netfix_send_frame("d", 1); /* arrives while the first is with its handler */
    for (int i = 0; i < 20; i++) netfix_pump_once();
    ck_assert_int_eq(seen.calls, 1); /* the next waits for the answer */
    answer(1, '1');
    wait_calls(2);
    ck_assert_int_eq(seen.first[1], 'b');
    answer(1, '2');
    wait_calls(3);
    ck_assert_int_eq(seen.first[2], 'c');
    answer(1, '3');
    wait_calls(4);
    ck_assert_int_eq(seen.first[3], 'd');
    answer(1, '4');
    uint8_t buf[8];
    for (char want = '1'; want <= '4'; want++) {
        ck_assert_int_eq(netfix_read_frame(buf, sizeof(buf)), 1);
        ck_assert_int_eq(buf[0], want);
    }
}
END_TEST

#define BIG_ANSWER (12u << 20) /* well above KB_NET_OUT_HIGH (4 MiB) plus what the sockets buffer */

START_TEST(output_above_the_high_water_mark_stops_reading_until_drained) {
    kb_conn_opts_t opts = opts_one_at_a_time();
    opts.send_buffer = 65536;
    listen_and_connect(opts, 65536);
    uint8_t two[] = {0, 0, 0, 1, 'a', 0, 0, 0, 1, 'b'};
    netfix_send(two, sizeof(two));
    wait_calls(1);
    answer(BIG_ANSWER, 'z');
    for (int i = 0; i < 200; i++) netfix_pump_once();
    ck_assert_int_eq(seen.calls, 1); /* 'b' waits while the answer is unsent */
    size_t read = 0;
    while (read < BIG_ANSWER + 4 && seen.calls == 1) {
        size_t n = netfix_drain(65536);
        read += n;
        netfix_pump_once();
        if (read < (BIG_ANSWER + 4) - (6u << 20)) ck_assert_int_eq(seen.calls, 1); /* still above the mark */
    }
    wait_calls(2);
    ck_assert_int_eq(seen.first[1], 'b');
}
END_TEST

/* A muted connection (its request is with a handler) reads nothing, as in
 * Kafka, so the peer's close is seen once the answer is written and the
 * connection reads again; nothing leaks or is used after being freed. */
START_TEST(peer_closing_while_a_request_is_pending_is_noticed_after_the_answer) {
    listen_and_connect(opts_one_at_a_time(), 0);
    netfix_send_frame("q", 1);
    wait_calls(1);
    ck_assert_ptr_nonnull(seen.pending);
    close(nf.client);
    nf.client = -1;
    for (int i = 0; i < 20; i++) netfix_pump_once();
    answer(10, 'x');
    ck_assert(netfix_pump(no_connections, NULL));
    ck_assert_int_eq(seen.calls, 1);
}
END_TEST

START_TEST(server_free_with_a_request_pending_leaves_it_to_its_handler) {
    listen_and_connect(opts_one_at_a_time(), 0);
    netfix_send_frame("q", 1);
    wait_calls(1);
    kb_server_free(nf.srv);
    nf.srv = NULL;
    answer(1, 'x');
}
END_TEST

START_TEST(requests_answered_inside_the_callback_keep_flowing) {
    listen_and_connect(opts_one_at_a_time(), 0);
    seen.answer_at_once = true;
    uint8_t frames[5 * 5];
    for (int i = 0; i < 5; i++) memcpy(frames + i * 5, (uint8_t[]){0, 0, 0, 1, (uint8_t)('0' + i)}, 5);
    netfix_send(frames, sizeof(frames));
    wait_calls(5);
    for (int i = 0; i < 5; i++) ck_assert_int_eq(seen.first[i], '0' + i);
}
END_TEST


/* ------------------------------------------------------------------------
 * Pipelined delivery and the idle timeout
 * ------------------------------------------------------------------------ */

static kb_conn_opts_t opts_pipelined(void) {
    kb_conn_opts_t opts = netfix_opts(on_pipelined, NULL);
    opts.delivery = KB_DELIVER_PIPELINED;
    return opts;
}

START_TEST(pipelined_frames_are_handed_over_without_waiting_for_answers) {
    listen_and_connect(opts_pipelined(), 0);
    uint8_t three[] = {0, 0, 0, 1, 'a', 0, 0, 0, 2, 'b', 'b', 0, 0, 0, 1, 'c'};
    netfix_send(three, sizeof(three));
    wait_calls(3); /* nothing was answered */
    ck_assert_int_eq(seen.first[0], 'a');
    ck_assert_uint_eq(seen.len[1], 2);
    ck_assert_int_eq(seen.first[1], 'b');
    ck_assert_int_eq(seen.first[2], 'c');
    netfix_send_frame("d", 1);
    wait_calls(4);
    ck_assert_int_eq(seen.first[3], 'd');
}
END_TEST

START_TEST(pipelined_answers_go_out_in_the_order_they_are_sent) {
    listen_and_connect(opts_pipelined(), 0);
    seen.answer_size = 3;
    uint8_t two[] = {0, 0, 0, 1, 'a', 0, 0, 0, 1, 'b'};
    netfix_send(two, sizeof(two));
    uint8_t buf[8];
    ck_assert_int_eq(netfix_read_frame(buf, sizeof(buf)), 3);
    ck_assert_int_eq(buf[0], 'a');
    ck_assert_int_eq(netfix_read_frame(buf, sizeof(buf)), 3);
    ck_assert_int_eq(buf[0], 'b');
}
END_TEST

#define PIPELINED_FRAMES 20
#define PIPELINED_ANSWER 500000u /* two stay under 1 MiB, three pass it */

/* Reads what the server sent until *left bytes have come. */
static bool drained_all(void *left) {
    size_t *n = left;
    *n -= netfix_drain(*n);
    return *n == 0;
}

START_TEST(pipelined_delivery_stops_while_the_output_is_above_the_high_water_mark) {
    kb_conn_opts_t opts = opts_pipelined();
    opts.out_high = 1u << 20; /* a listener's own marks, not the defaults */
    opts.out_low = 256u << 10;
    opts.send_buffer = 65536;
    listen_and_connect(opts, 65536);
    seen.answer_size = PIPELINED_ANSWER;
    uint8_t frames[PIPELINED_FRAMES * 5];
    for (int i = 0; i < PIPELINED_FRAMES; i++) memcpy(frames + i * 5, (uint8_t[]){0, 0, 0, 1, (uint8_t)('a' + i)}, 5);
    netfix_send(frames, sizeof(frames));
    wait_calls(1);
    for (int i = 0; i < 200; i++) netfix_pump_once();
    /* Three answers (1.5 MB) pass the 1 MiB mark (a fourth at most, if the
     * sockets took some bytes in between; the default 4 MiB mark would let
     * nine through); the client reads nothing, so the output cannot drain
     * to 256 KiB and the other frames wait. */
    ck_assert_int_ge(seen.calls, 3);
    ck_assert_int_le(seen.calls, 4);
    size_t left = PIPELINED_FRAMES * (PIPELINED_ANSWER + 4);
    ck_assert(netfix_pump(drained_all, &left));
    ck_assert_int_eq(seen.calls, PIPELINED_FRAMES);
    for (int i = 0; i < PIPELINED_FRAMES; i++) ck_assert_int_eq(seen.first[i], 'a' + i);
}
END_TEST

/* Pipelined: keeps each connection past the callback, as a handler that
 * answers later does. */
static void on_hold(kb_conn_t *c, const uint8_t *frame, size_t len, void *arg) {
    on_request(c, frame, len, arg);
    kb_conn_hold(c);
}

static kb_conn_opts_t opts_holding(void) {
    kb_conn_opts_t opts = netfix_opts(on_hold, NULL);
    opts.delivery = KB_DELIVER_PIPELINED;
    return opts;
}

/* The answers to frames ahead of a refused one still go out; then the
 * connection closes, having read nothing more. */
START_TEST(answers_queued_before_a_refused_frame_are_sent_before_the_close) {
    listen_and_connect(opts_pipelined(), 0);
    seen.answer_size = 3;
    uint8_t good_then_bad[] = {0, 0, 0, 1, 'a', 0xff, 0xff, 0xff, 0xf9, 'x'};
    netfix_send(good_then_bad, sizeof(good_then_bad));
    uint8_t buf[8];
    ck_assert_int_eq(netfix_read_frame(buf, sizeof(buf)), 3);
    ck_assert_int_eq(buf[0], 'a');
    size_t unread = 0;
    ck_assert(netfix_closed(&unread));
    ck_assert_uint_eq(unread, 0);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_uint_eq(kb_server_bad_frames(nf.srv), 1);
}
END_TEST

START_TEST(a_held_pipelined_connection_is_answered_after_its_callback) {
    listen_and_connect(opts_holding(), 0);
    netfix_send_frame("h", 1);
    wait_calls(1);
    kb_conn_t *c = seen.pending;
    for (int i = 0; i < 5; i++) netfix_pump_once(); /* the loop goes on meanwhile */
    ck_assert(kb_conn_is_open(c));
    struct evbuffer *eb = frame_of(2, 'H');
    kb_conn_send(c, eb);
    evbuffer_free(eb);
    kb_conn_release(c);
    uint8_t buf[4];
    ck_assert_int_eq(netfix_read_frame(buf, sizeof(buf)), 2);
    ck_assert_int_eq(buf[0], 'H');
}
END_TEST

/* The peer leaves while its connection is held: the connection closes but
 * stays allocated (LeakSanitizer and ASan watch both sides) until the
 * holder releases it, and sending to it meanwhile is harmless. */
START_TEST(a_held_connection_closed_by_its_peer_lives_until_released) {
    listen_and_connect(opts_holding(), 0);
    netfix_send_frame("h", 1);
    wait_calls(1);
    kb_conn_t *c = seen.pending;
    close(nf.client);
    nf.client = -1;
    ck_assert(netfix_pump(no_connections, NULL));
    ck_assert(!kb_conn_is_open(c));
    struct evbuffer *eb = frame_of(2, 'H');
    kb_conn_send(c, eb);
    evbuffer_free(eb);
    kb_conn_release(c);
}
END_TEST

START_TEST(an_idle_connection_is_closed) {
    kb_conn_opts_t opts = opts_one_at_a_time();
    opts.idle_ms = 50;
    opts.idle_key = "test.idle.ms";
    listen_and_connect(opts, 0);
    ck_assert(netfix_pump(one_connection, NULL));
    size_t unread = 99;
    ck_assert(netfix_closed(&unread));
    ck_assert_uint_eq(unread, 0);
    ck_assert(netfix_pump(no_connections, NULL));
    ck_assert_uint_eq(kb_server_bad_frames(nf.srv), 0);
}
END_TEST

/* ------------------------------------------------------------------------
 * Outbound connections
 * ------------------------------------------------------------------------ */

/* What the outbound connection's callbacks saw. */
static struct {
    int up, down;   /* on_link calls */
    int frames;     /* frames received */
    size_t len[MAX_SEEN];
    uint8_t first[MAX_SEEN];
    int32_t backoff_at[8]; /* the wait scheduled after the n-th failure */
} out;

static void on_link(kb_outbound_t *o, kb_conn_t *c, bool connected, void *arg) {
    ck_assert_ptr_eq(arg, &out);
    if (connected) {
        ck_assert_ptr_eq(kb_outbound_conn(o), c);
        out.up++;
    } else {
        ck_assert_ptr_null(kb_outbound_conn(o));
        out.down++;
    }
}

static void on_answer(kb_conn_t *c, const uint8_t *frame, size_t len, void *arg) {
    if (out.frames < MAX_SEEN) {
        out.len[out.frames] = len;
        out.first[out.frames] = len ? frame[0] : 0;
    }
    out.frames++;
}

/* The server side of the outbound tests: answers each frame at once with a
 * copy of it. */
static void on_echo(kb_conn_t *c, const uint8_t *frame, size_t len, void *arg) {
    on_request(c, frame, len, arg);
    seen.pending = NULL;
    struct evbuffer *eb = evbuffer_new();
    uint32_t be = htonl((uint32_t)len);
    evbuffer_add(eb, &be, 4);
    evbuffer_add(eb, frame, len);
    kb_conn_reply(c, eb);
    evbuffer_free(eb);
}

/* connect_timeout_ms also bounds a name lookup (0: the transport's default). */
static void start_outbound_to(const char *host, int32_t connect_timeout_ms, kb_conn_opts_t conn) {
    memset(&out, 0, sizeof(out));
    kb_outbound_spec_t spec = {.name = "test-out", .host = host, .port = nf.port, .dns = dns, .backoff_ms = 10,
                               .backoff_max_ms = 40, .connect_timeout_ms = connect_timeout_ms, .conn = conn,
                               .on_link = on_link};
    ob = kb_outbound_new(lf.base, &spec);
    ck_assert_ptr_nonnull(ob);
}

static void start_outbound(kb_conn_opts_t conn) { start_outbound_to("127.0.0.1", 0, conn); }

static kb_conn_opts_t outbound_opts(void) {
    kb_conn_opts_t conn = netfix_opts(on_answer, &out);
    conn.delivery = KB_DELIVER_PIPELINED;
    conn.max_frame = 1024;
    return conn;
}

static bool ups_reach(void *n) { return out.up >= *(int *)n; }
static bool downs_reach(void *n) { return out.down >= *(int *)n; }
static bool answers_reach(void *n) { return out.frames >= *(int *)n; }

static void wait_up(int n) { ck_assert_msg(netfix_pump(ups_reach, &n), "%d connects, wanted %d", out.up, n); }

/* Sends a one-byte frame on the outbound connection. */
static void send_out(uint8_t byte) {
    kb_conn_t *c = kb_outbound_conn(ob);
    ck_assert_ptr_nonnull(c);
    struct evbuffer *eb = frame_of(1, byte);
    kb_conn_send(c, eb);
    evbuffer_free(eb);
}

static void exchange(uint8_t byte) {
    int want = out.frames + 1;
    send_out(byte);
    ck_assert(netfix_pump(answers_reach, &want));
    ck_assert_uint_eq(out.len[want - 1], 1);
    ck_assert_int_eq(out.first[want - 1], byte);
}

START_TEST(an_outbound_connection_exchanges_frames_both_ways) {
    kb_conn_opts_t server = netfix_opts(on_echo, NULL);
    netfix_listen(&server, 0);
    start_outbound(outbound_opts());
    ck_assert_ptr_null(kb_outbound_conn(ob)); /* the outcome comes from the loop */
    wait_up(1);
    exchange('p');
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.first[0], 'p');
    exchange('q');
    kb_outbound_stats_t st;
    kb_outbound_stats(ob, &st);
    ck_assert_uint_eq(st.attempts, 1);
    ck_assert_uint_eq(st.connects, 1);
    ck_assert_int_eq(st.failures, 0);
}
END_TEST

/* A resolver that knows only localhost (no nameserver, no /etc/hosts):
 * lookups answer from memory, so the test needs no network. */
static void use_localhost_resolver(void) {
    dns = evdns_base_new(lf.base, 0);
    ck_assert_ptr_nonnull(dns);
    ck_assert_int_eq(evdns_base_load_hosts(dns, NULL), 0);
}

START_TEST(an_outbound_connection_to_a_name_resolves_it_through_its_resolver) {
    kb_conn_opts_t server = netfix_opts(on_echo, NULL);
    netfix_listen(&server, 0);
    use_localhost_resolver();
    start_outbound_to("localhost", 0, outbound_opts());
    wait_up(1);
    exchange('n');
    ck_assert_int_eq(seen.calls, 1);
}
END_TEST

static bool failures_reach(void *n); /* below, with the backoff test */

/* The resolver has no nameserver, so the lookup never answers: its
 * deadline (the connect timeout) ends each attempt. */
START_TEST(a_name_that_does_not_resolve_is_retried_with_backoff) {
    kb_conn_opts_t server = netfix_opts(on_echo, NULL);
    netfix_listen(&server, 0); /* a port to name; nothing may connect to it */
    use_localhost_resolver();
    start_outbound_to("kbroker-no-such-host.invalid", 100, outbound_opts());
    int want = 3;
    ck_assert(netfix_pump(failures_reach, &want));
    ck_assert_int_eq(out.up, 0);
    ck_assert_int_eq(seen.calls, 0);
    kb_outbound_free(ob); /* with a lookup or a wait pending: nothing may fire afterwards */
    ob = NULL;
}
END_TEST

START_TEST(freeing_an_outbound_connection_closes_it_without_callbacks) {
    kb_conn_opts_t server = netfix_opts(on_echo, NULL);
    netfix_listen(&server, 0);
    start_outbound(outbound_opts());
    wait_up(1);
    ck_assert(netfix_pump(one_connection, NULL));
    kb_outbound_free(ob);
    ob = NULL;
    ck_assert(netfix_pump(no_connections, NULL)); /* the listener sees it go */
    ck_assert_int_eq(out.down, 0);
}
END_TEST

/* Records the wait scheduled after each failure as it happens (at most
 * one failure per loop turn: every attempt waits on a timer). */
static bool failures_reach(void *n) {
    kb_outbound_stats_t st;
    kb_outbound_stats(ob, &st);
    if (st.failures > 0 && st.failures < 8 && st.backoff_ms && !out.backoff_at[st.failures])
        out.backoff_at[st.failures] = st.backoff_ms;
    return st.failures >= *(int *)n;
}

START_TEST(an_outbound_connection_redials_with_backoff_until_the_listener_returns) {
    kb_conn_opts_t server = netfix_opts(on_echo, NULL);
    netfix_listen(&server, 0);
    int port = nf.port;
    start_outbound(outbound_opts());
    wait_up(1);
    exchange('a');
    kb_server_free(nf.srv); /* the listener goes away, closing the connection */
    nf.srv = NULL;
    int failures = 4;
    ck_assert(netfix_pump(failures_reach, &failures));
    ck_assert_int_eq(out.down, 1);
    ck_assert_ptr_null(kb_outbound_conn(ob));
    /* The lost connection, then three refused attempts: 10, 20, 40, 40 ms. */
    ck_assert_int_eq(out.backoff_at[1], 10);
    ck_assert_int_eq(out.backoff_at[2], 20);
    ck_assert_int_eq(out.backoff_at[3], 40);
    ck_assert_int_eq(out.backoff_at[4], 40);
    netfix_listen(&server, port); /* and comes back */
    wait_up(2);
    exchange('b');
    kb_outbound_stats_t st;
    kb_outbound_stats(ob, &st);
    ck_assert_int_eq(st.failures, 0);
    ck_assert_uint_eq(st.connects, 2);
    ck_assert_uint_ge(st.attempts, 5);
    ck_assert_int_eq(st.backoff_ms, 0);
}
END_TEST

START_TEST(freeing_an_outbound_connection_while_it_waits_stops_it) {
    kb_conn_opts_t server = netfix_opts(on_echo, NULL);
    netfix_listen(&server, 0);
    kb_server_free(nf.srv); /* a port nothing listens on */
    nf.srv = NULL;
    start_outbound(outbound_opts());
    int failures = 2;
    ck_assert(netfix_pump(failures_reach, &failures));
    ck_assert_int_eq(out.up, 0);
    ck_assert_int_eq(out.down, 0); /* never connected, so never disconnected */
    kb_outbound_free(ob);
    ob = NULL;
    for (int i = 0; i < 50; i++) netfix_pump_once(); /* no timer of it is left to fire */
}
END_TEST

START_TEST(an_outbound_connection_refuses_a_frame_over_its_limit_and_redials) {
    kb_conn_opts_t server = netfix_opts(on_request, NULL);
    netfix_listen(&server, 0);
    start_outbound(outbound_opts());
    wait_up(1);
    send_out('x');
    wait_calls(1);
    answer(1024, 'y'); /* exactly the limit */
    int one = 1;
    ck_assert(netfix_pump(answers_reach, &one));
    ck_assert_uint_eq(out.len[0], 1024);
    send_out('x');
    wait_calls(2);
    answer(1025, 'z');
    ck_assert(netfix_pump(downs_reach, &one));
    kb_outbound_stats_t st;
    kb_outbound_stats(ob, &st);
    ck_assert_uint_eq(st.bad_frames, 1);
    ck_assert_int_eq(out.frames, 1);
    wait_up(2);
}
END_TEST

START_TEST(an_idle_outbound_connection_is_closed_and_redialled) {
    kb_conn_opts_t server = netfix_opts(on_echo, NULL);
    netfix_listen(&server, 0);
    kb_conn_opts_t conn = outbound_opts();
    conn.idle_ms = 50;
    start_outbound(conn);
    wait_up(1);
    int one = 1;
    ck_assert(netfix_pump(downs_reach, &one));
    wait_up(2);
    exchange('i');
}
END_TEST

START_TEST(the_backoff_doubles_up_to_its_cap_and_jitter_stays_within_its_spread) {
    int32_t want[] = {100, 200, 400, 800, 1000, 1000};
    for (int n = 1; n <= 6; n++) ck_assert_int_eq(kb_net_backoff_ms(100, 1000, n, 0, 12345), want[n - 1]);
    ck_assert_int_eq(kb_net_backoff_ms(100, 1000, 1000, 0, 0), 1000); /* no overflow */
    ck_assert_int_eq(kb_net_backoff_ms(100, 1000, 1, 20, 0), 80);     /* rnd 0: the low end */
    ck_assert_int_eq(kb_net_backoff_ms(100, 1000, 1, 20, 40), 120);   /* 2 * span: the high end */
    for (uint32_t r = 0; r < 1000; r += 7) {
        int32_t ms = kb_net_backoff_ms(100, 1000, 3, 20, r * 2654435761u);
        ck_assert_int_ge(ms, 320);
        ck_assert_int_le(ms, 480);
    }
}
END_TEST

START_TEST(an_invalid_outbound_spec_is_refused) {
    kb_outbound_spec_t spec = {.name = "bad", .host = "127.0.0.1", .port = 1, .backoff_ms = 10,
                               .backoff_max_ms = 5, .conn = outbound_opts()};
    ck_assert_ptr_null(kb_outbound_new(lf.base, &spec)); /* max below the first wait */
    spec.backoff_max_ms = 10;
    spec.conn.on_frame = NULL;
    ck_assert_ptr_null(kb_outbound_new(lf.base, &spec));
    spec.conn = outbound_opts();
    spec.host = "localhost"; /* a name, and no resolver: the lookup would block the loop */
    ck_assert_ptr_null(kb_outbound_new(lf.base, &spec));
    spec.host = "::1";
    kb_outbound_t *v6 = kb_outbound_new(lf.base, &spec); /* numeric IPv6 needs no resolver */
    ck_assert_ptr_nonnull(v6);
    kb_outbound_free(v6);
}
END_TEST

/* ------------------------------------------------------------------------
 * The Kafka listener's setup
 * ------------------------------------------------------------------------ */

START_TEST(the_kafka_listener_writes_an_ephemeral_port_back_to_its_advertised_listener) {
    logfix_set("listeners", "PLAINTEXT://127.0.0.1:0");
    logfix_set("advertised.listeners", "PLAINTEXT://localhost:0");
    logfix_set("socket.request.max.bytes", "4096");
    logfix_set("connections.max.idle.ms", "1234");
    ck_assert_msg(kb_config_finish(&lf.cfg, lf.err, sizeof(lf.err)) == KB_CONFIG_OK, "%s", lf.err);
    nf.srv = kb_server_new(lf.base);
    ck_assert_int_eq(kb_api_listen(nf.srv, &lf.cfg, on_request, NULL, lf.err, sizeof(lf.err)), 0);
    ck_assert_int_gt(lf.cfg.listeners[0].port, 0);
    ck_assert_int_eq(lf.cfg.advertised[0].port, lf.cfg.listeners[0].port);
    kb_conn_opts_t opts = kb_api_listen_opts(&lf.cfg, on_request, NULL);
    ck_assert_int_eq(opts.max_frame, 4096);
    ck_assert_int_eq(opts.idle_ms, 1234);
    ck_assert_int_eq(opts.delivery, KB_DELIVER_ONE_AT_A_TIME);
    nf.port = lf.cfg.listeners[0].port;
    netfix_connect(0);
    uint32_t be = htonl(4097);
    netfix_send(&be, 4);
    ck_assert(netfix_closed(NULL));
    ck_assert(netfix_pump(no_connections, NULL));
    ck_assert_uint_eq(kb_server_bad_frames(nf.srv), 1);
}
END_TEST

Suite *net_suite(void) {
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("framing");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_frame_split_across_reads_is_handed_over_whole);
    tcase_add_test(tc, an_empty_frame_is_a_request_too);
    tcase_add_test(tc, a_negative_size_closes_the_connection);
    tcase_add_test(tc, a_size_above_the_limit_closes_before_the_payload_arrives);
    tcase_add_test(tc, a_size_at_the_limit_is_read);
    tcase_add_test(tc, pipelined_frames_are_handled_one_at_a_time_in_order);
    tcase_add_test(tc, output_above_the_high_water_mark_stops_reading_until_drained);
    tcase_add_test(tc, peer_closing_while_a_request_is_pending_is_noticed_after_the_answer);
    tcase_add_test(tc, server_free_with_a_request_pending_leaves_it_to_its_handler);
    tcase_add_test(tc, requests_answered_inside_the_callback_keep_flowing);
    tcase_add_test(tc, pipelined_frames_are_handed_over_without_waiting_for_answers);
    tcase_add_test(tc, pipelined_answers_go_out_in_the_order_they_are_sent);
    tcase_add_test(tc, pipelined_delivery_stops_while_the_output_is_above_the_high_water_mark);
    tcase_add_test(tc, answers_queued_before_a_refused_frame_are_sent_before_the_close);
    tcase_add_test(tc, a_held_pipelined_connection_is_answered_after_its_callback);
    tcase_add_test(tc, a_held_connection_closed_by_its_peer_lives_until_released);
    tcase_add_test(tc, an_idle_connection_is_closed);
    suite_add_tcase(s, tc);

    tc = tcase_create("outbound");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, an_outbound_connection_exchanges_frames_both_ways);
    tcase_add_test(tc, an_outbound_connection_to_a_name_resolves_it_through_its_resolver);
    tcase_add_test(tc, a_name_that_does_not_resolve_is_retried_with_backoff);
    tcase_add_test(tc, freeing_an_outbound_connection_closes_it_without_callbacks);
    tcase_add_test(tc, an_outbound_connection_redials_with_backoff_until_the_listener_returns);
    tcase_add_test(tc, freeing_an_outbound_connection_while_it_waits_stops_it);
    tcase_add_test(tc, an_outbound_connection_refuses_a_frame_over_its_limit_and_redials);
    tcase_add_test(tc, an_idle_outbound_connection_is_closed_and_redialled);
    tcase_add_test(tc, the_backoff_doubles_up_to_its_cap_and_jitter_stays_within_its_spread);
    tcase_add_test(tc, an_invalid_outbound_spec_is_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("kafka_listener");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_kafka_listener_writes_an_ephemeral_port_back_to_its_advertised_listener);
    suite_add_tcase(s, tc);
    return s;
}
