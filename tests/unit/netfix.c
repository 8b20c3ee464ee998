/*
 * netfix.c - a server and a client in one loop (see netfix.h).
 */
#include "tests/unit/netfix.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker/api/kb_api_listen.h"
#include "tests/unit/logfix.h"

netfix_t nf = {.client = -1};

kb_conn_opts_t netfix_opts(kb_frame_fn on_frame, void *arg) {
    return (kb_conn_opts_t){.max_frame = 100 << 20, .idle_ms = -1, .send_buffer = -1, .receive_buffer = -1,
                            .on_frame = on_frame, .arg = arg};
}

void netfix_listen(const kb_conn_opts_t *opts, int port) {
    kb_listen_spec_t spec = {.name = "test", .host = "127.0.0.1", .port = port, .conn = *opts};
    nf.srv = kb_server_new(lf.base);
    ck_assert_ptr_nonnull(nf.srv);
    ck_assert_msg(kb_server_listen(nf.srv, &spec, lf.err, sizeof(lf.err)) == 0, "%s", lf.err);
    ck_assert_int_gt(spec.port, 0);
    nf.port = spec.port;
}

void netfix_connect(int rcvbuf) {
    nf.client = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(nf.client, 0);
    if (rcvbuf > 0) setsockopt(nf.client, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)nf.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(nf.client, (struct sockaddr *)&sa, sizeof(sa)), 0);
    fcntl(nf.client, F_SETFL, fcntl(nf.client, F_GETFL) | O_NONBLOCK);
}

void netfix_start(kb_frame_fn on_request, void *arg, int rcvbuf) {
    logfix_set("listeners", "PLAINTEXT://127.0.0.1:0");
    ck_assert_msg(kb_config_finish(&lf.cfg, lf.err, sizeof(lf.err)) == KB_CONFIG_OK, "%s", lf.err);
    nf.srv = kb_server_new(lf.base);
    ck_assert_ptr_nonnull(nf.srv);
    ck_assert_msg(kb_api_listen(nf.srv, &lf.cfg, on_request, arg, lf.err, sizeof(lf.err)) == 0, "%s", lf.err);
    nf.port = lf.cfg.listeners[0].port;
    ck_assert_int_gt(nf.port, 0);
    netfix_connect(rcvbuf);
}

void netfix_stop(void) {
    if (nf.client >= 0) close(nf.client);
    if (nf.srv) kb_server_free(nf.srv);
    nf = (netfix_t){.client = -1};
}

void netfix_pump_once(void) { event_base_loop(lf.base, EVLOOP_NONBLOCK); }

/* Runs what is due in the loop, then gives the client socket up to a
 * millisecond to become readable (loopback moves bytes between the two);
 * without a client, that millisecond paces the bounded waits. */
static void step(void) {
    struct pollfd pfd = {.fd = nf.client, .events = POLLIN};
    netfix_pump_once();
    poll(&pfd, nf.client >= 0 ? 1 : 0, 1);
}

bool netfix_pump(bool (*done)(void *arg), void *arg) {
    time_t deadline = time(NULL) + 20;
    while (!done(arg) && time(NULL) < deadline) step();
    return done(arg);
}

void netfix_send(const void *buf, size_t len) {
    const uint8_t *p = buf;
    time_t deadline = time(NULL) + 20;
    while (len > 0 && time(NULL) < deadline) {
        ssize_t n = send(nf.client, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno != EAGAIN) {
            ck_abort_msg("send: %s", strerror(errno));
        } else {
            step();
        }
    }
    ck_assert_uint_eq(len, 0);
}

void netfix_send_frame(const void *buf, size_t len) {
    uint32_t size = htonl((uint32_t)len);
    uint8_t *frame = malloc(len + 4);
    memcpy(frame, &size, 4);
    memcpy(frame + 4, buf, len);
    netfix_send(frame, len + 4);
    free(frame);
}

/* Reads exactly n bytes, running the loop while waiting; -1 on EOF. */
static ssize_t read_exact(uint8_t *buf, size_t n) {
    size_t got = 0;
    time_t deadline = time(NULL) + 20;
    while (got < n && time(NULL) < deadline) {
        ssize_t r = recv(nf.client, buf + got, n - got, 0);
        if (r > 0) got += (size_t)r;
        else if (r == 0) return -1;
        else if (errno == EAGAIN) step();
        else return -1;
    }
    ck_assert_msg(got == n, "timed out reading %zu bytes (got %zu)", n, got);
    return (ssize_t)got;
}

ssize_t netfix_read_frame(uint8_t *buf, size_t cap) {
    uint8_t hdr[4];
    if (read_exact(hdr, 4) < 0) return -1;
    uint32_t size = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    ck_assert_uint_le(size, cap);
    if (size && read_exact(buf, size) < 0) return -1;
    return (ssize_t)size;
}

bool netfix_closed(size_t *unread) {
    uint8_t buf[4096];
    size_t total = 0;
    time_t deadline = time(NULL) + 20;
    while (time(NULL) < deadline) {
        ssize_t r = recv(nf.client, buf, sizeof(buf), 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET)) {
            if (unread) *unread = total;
            return true;
        }
        if (r > 0) total += (size_t)r;
        else step();
    }
    return false;
}

size_t netfix_drain(size_t n) {
    uint8_t buf[65536];
    size_t total = 0;
    while (total < n) {
        ssize_t r = recv(nf.client, buf, n - total < sizeof(buf) ? n - total : sizeof(buf), 0);
        if (r <= 0) break;
        total += (size_t)r;
    }
    return total;
}
