/*
 * fakebroker.c - the scripted broker of the client/ suites (see
 * fakebroker.h): one thread, poll() over the listener, a wake-up pipe and
 * up to FB_MAX_CONNS connections.  A request frame is read whole once its
 * first byte is there (the client writes each request at once and the
 * frames are small).
 */
#include "tests/unit/fakebroker.h"

#include <check.h>
#include <stdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/kp_header.h"

#define FB_MAX_CONNS 16
#define FB_MAX_KEY 64

struct fakebroker {
    fb_handler_fn fn;
    void *arg;
    int listener, wake[2], port;
    int conns[FB_MAX_CONNS];
    pthread_t thread;
    pthread_mutex_t lock; /* guards seen and client_id */
    int seen[FB_MAX_KEY];
    char client_id[64];
};

static int read_all(int fd, uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void write_all(int fd, const uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) return;
        p += n;
        len -= (size_t)n;
    }
}

static void note_request(fakebroker_t *fb, const kp_request_header_t *h) {
    pthread_mutex_lock(&fb->lock);
    if (h->request_api_key >= 0 && h->request_api_key < FB_MAX_KEY) fb->seen[h->request_api_key]++;
    int n = h->client_id.len > 0 ? h->client_id.len : 0;
    if ((size_t)n >= sizeof(fb->client_id)) n = (int)sizeof(fb->client_id) - 1;
    memcpy(fb->client_id, h->client_id.ptr, (size_t)n);
    fb->client_id[n] = '\0';
    pthread_mutex_unlock(&fb->lock);
}

/* The first flexible version of the APIs the client speaks flexibly
 * (ElectLeaders v2); the others are non-flexible at their versions. */
static int16_t flex_from(int16_t api_key) { return api_key == KP_API_ELECT_LEADERS ? 2 : KP_FLEX_NEVER; }

/* Sends the answer as the handler asked (response header v1, an empty tag
 * section after the correlation id, when flexible); false when the
 * connection must go. */
static bool send_answer(int fd, fb_action_t action, int32_t correlation_id, bool flexible, const kp_writer_t *body) {
    uint8_t head[9];

    if (action == FB_CLOSE) return false;
    if (action == FB_SILENT) return true;
    if (action == FB_HUGE_FRAME) {
        kp_put_be(head, 0x7fffffff, 4);
        write_all(fd, head, 4);
        return true;
    }
    size_t head_len = flexible ? 9 : 8;
    kp_put_be(head, (uint64_t)(body->len + head_len - 4), 4);
    kp_put_be(head + 4, (uint32_t)(action == FB_WRONG_CORRELATION ? correlation_id + 1 : correlation_id), 4);
    head[8] = 0x00;
    write_all(fd, head, head_len);
    write_all(fd, body->buf, body->len);
    return true;
}

/* Reads one request from fd and answers it; false when the connection is
 * done (closed by the client, unreadable, or closed by the script). */
static bool serve_one(fakebroker_t *fb, int fd) {
    uint8_t prefix[4];
    kp_request_header_t h;
    kp_reader_t r;
    kp_writer_t w;

    if (read_all(fd, prefix, 4) != 0) return false;
    size_t size = (size_t)kp_get_be(prefix, 4);
    uint8_t *frame = size < (1u << 20) ? malloc(size ? size : 1) : NULL;
    if (frame == NULL || read_all(fd, frame, size) != 0) {
        free(frame);
        return false;
    }
    kp_reader_init(&r, frame, size);
    bool ok = kp_request_header_decode_ids(&r, &h) == 0;
    int hv = ok ? kp_request_header_version(h.request_api_key, h.request_api_version, flex_from(h.request_api_key)) : 1;
    ok = ok && kp_request_header_decode_rest(&r, hv, &h) == 0;
    if (ok) note_request(fb, &h);
    kp_writer_init(&w);
    fb_action_t action = ok ? fb->fn(fb->arg, h.request_api_key, h.request_api_version, &r, &w) : FB_CLOSE;
    ok = send_answer(fd, action, h.correlation_id, hv >= 2, &w);
    kp_writer_free(&w);
    free(frame);
    return ok;
}

static void accept_one(fakebroker_t *fb) {
    int fd = accept(fb->listener, NULL, NULL);

    for (int i = 0; fd >= 0 && i < FB_MAX_CONNS; i++)
        if (fb->conns[i] < 0) {
            fb->conns[i] = fd;
            return;
        }
    if (fd >= 0) close(fd);
}

static void *run(void *arg) {
    fakebroker_t *fb = arg;

    for (;;) {
        struct pollfd p[FB_MAX_CONNS + 2] = {{fb->wake[0], POLLIN, 0}, {fb->listener, POLLIN, 0}};
        for (int i = 0; i < FB_MAX_CONNS; i++) p[i + 2] = (struct pollfd){fb->conns[i], POLLIN, 0};
        if (poll(p, FB_MAX_CONNS + 2, -1) < 0) continue;
        if (p[0].revents) return NULL;
        if (p[1].revents & POLLIN) accept_one(fb);
        for (int i = 0; i < FB_MAX_CONNS; i++)
            if (fb->conns[i] >= 0 && p[i + 2].revents && !serve_one(fb, fb->conns[i])) {
                close(fb->conns[i]);
                fb->conns[i] = -1;
            }
    }
}

fakebroker_t *fakebroker_start(fb_handler_fn fn, void *arg) {
    fakebroker_t *fb = calloc(1, sizeof(*fb));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);

    ck_assert_ptr_nonnull(fb);
    fb->fn = fn;
    fb->arg = arg;
    for (int i = 0; i < FB_MAX_CONNS; i++) fb->conns[i] = -1;
    pthread_mutex_init(&fb->lock, NULL);
    fb->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fb->listener, 0);
    ck_assert_int_eq(bind(fb->listener, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fb->listener, 16), 0);
    ck_assert_int_eq(getsockname(fb->listener, (struct sockaddr *)&a, &len), 0);
    fb->port = ntohs(a.sin_port);
    ck_assert_int_eq(pipe(fb->wake), 0);
    ck_assert_int_eq(pthread_create(&fb->thread, NULL, run, fb), 0);
    return fb;
}

int fakebroker_port(const fakebroker_t *fb) { return fb->port; }

int fakebroker_seen(fakebroker_t *fb, int16_t api_key) {
    int n = 0;

    pthread_mutex_lock(&fb->lock);
    for (int k = 0; k < FB_MAX_KEY; k++)
        if (api_key < 0 || k == api_key) n += fb->seen[k];
    pthread_mutex_unlock(&fb->lock);
    return n;
}

void fakebroker_last_client_id(fakebroker_t *fb, char *buf, size_t size) {
    pthread_mutex_lock(&fb->lock);
    snprintf(buf, size, "%s", fb->client_id);
    pthread_mutex_unlock(&fb->lock);
}

void fakebroker_stop(fakebroker_t *fb) {
    ck_assert_int_eq(write(fb->wake[1], "x", 1), 1);
    pthread_join(fb->thread, NULL);
    for (int i = 0; i < FB_MAX_CONNS; i++)
        if (fb->conns[i] >= 0) close(fb->conns[i]);
    close(fb->listener);
    close(fb->wake[0]);
    close(fb->wake[1]);
    pthread_mutex_destroy(&fb->lock);
    free(fb);
}
