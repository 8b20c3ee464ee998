/*
 * kcl_conn.c - a blocking Kafka connection with a deadline on every step
 * (see kcl_conn.h).
 *
 * The socket is non-blocking and every wait is a poll() for what remains
 * until the deadline, so a broker that accepts and then says nothing, or
 * stops in the middle of a frame, costs the caller its timeout and no
 * more.  Names are resolved with getaddrinfo_a() for the same reason: a
 * resolver that does not answer must not hold the tool past its deadline.
 */
#include "client/kcl_conn.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/kp_header.h"
#include "proto/kp_types.h"

struct kcl_conn {
    int fd; /* -1 once closed after a failure */
    char *client_id;
    int32_t next_correlation_id;
    char peer[300];
};

int64_t kcl_now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline_ms) {
    int64_t left = deadline_ms - kcl_now_ms();

    if (left <= 0) return 0;
    return left > 1000000000 ? 1000000000 : (int)left;
}

/* ------------------------------------------------------------- resolving */

/* A lookup getaddrinfo_a() runs in a thread of its own; it owns the strings
 * it reads, so a lookup abandoned at the deadline stays valid until it ends. */
typedef struct lookup {
    struct gaicb cb;
    struct addrinfo hints;
    char service[16];
    char name[];
} lookup_t;

/* Lookups that could not be cancelled at their deadline.  The tool exits
 * soon after a failure; kept reachable here, they are not reported as
 * leaks, and their thread may still write into them. */
static lookup_t *abandoned[8];

static void abandon(lookup_t *l) {
    for (size_t i = 0; i < sizeof(abandoned) / sizeof(abandoned[0]); i++)
        if (abandoned[i] == NULL) {
            abandoned[i] = l;
            return;
        }
}

/* Waits for l until deadline_ms; returns its getaddrinfo result code, or
 * EAI_AGAIN with *timed_out set once l is released (or abandoned). */
static int wait_lookup(lookup_t *l, int64_t deadline_ms, int *timed_out) {
    const struct gaicb *list[1] = {&l->cb};

    for (;;) {
        int rc = gai_error(&l->cb);
        if (rc != EAI_INPROGRESS) return rc;
        int left = remaining_ms(deadline_ms);
        if (left == 0) break;
        struct timespec ts = {left / 1000, (long)(left % 1000) * 1000000};
        gai_suspend(list, 1, &ts);
    }
    *timed_out = 1;
    int cancelled = gai_cancel(&l->cb);
    if (cancelled == EAI_NOTCANCELED) {
        abandon(l);
        return EAI_AGAIN;
    }
    if (cancelled == EAI_ALLDONE && l->cb.ar_result != NULL) freeaddrinfo(l->cb.ar_result);
    free(l);
    return EAI_AGAIN;
}

/* The addresses of host:port: a numeric address at once, a name through a
 * lookup bounded by deadline_ms. */
static int resolve(const char *host, int32_t port, int64_t deadline_ms, struct addrinfo **out, kcl_error_t *err) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    char service[16];
    int timed_out = 0;

    snprintf(service, sizeof(service), "%d", (int)port);
    if (getaddrinfo(host, service, &hints, out) == 0) return KCL_OK;
    lookup_t *l = calloc(1, sizeof(*l) + strlen(host) + 1);
    if (l == NULL) return kcl_fail(err, KCL_ENOMEM, "out of memory");
    strcpy(l->name, host);
    memcpy(l->service, service, sizeof(service));
    l->hints = (struct addrinfo){.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    l->cb = (struct gaicb){.ar_name = l->name, .ar_service = l->service, .ar_request = &l->hints};
    struct gaicb *list[1] = {&l->cb};
    int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
    if (rc == 0) rc = wait_lookup(l, deadline_ms, &timed_out);
    if (timed_out) return kcl_fail(err, KCL_EUNREACHABLE, "cannot resolve '%s' in time", host);
    if (rc != 0) {
        free(l);
        return kcl_fail(err, KCL_EUNREACHABLE, "cannot resolve '%s': %s", host, gai_strerror(rc));
    }
    *out = l->cb.ar_result;
    free(l);
    return KCL_OK;
}

/* ------------------------------------------------------------ connecting */

/* poll() for events on fd until deadline_ms: 1 ready, 0 deadline, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline_ms) {
    for (;;) {
        struct pollfd p = {fd, events, 0};
        int rc = poll(&p, 1, remaining_ms(deadline_ms));
        if (rc > 0) return 1;
        if (rc == 0) return 0;
        if (errno != EINTR) return -1;
    }
}

/* A connected non-blocking socket to one address, or -1 with *why set to
 * an errno (ETIMEDOUT when the deadline came first). */
static int connect_address(const struct addrinfo *ai, int64_t deadline_ms, int *why) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    int one = 1, soerr = 0;
    socklen_t len = sizeof(soerr);

    if (fd < 0) {
        *why = errno;
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
    *why = errno;
    if (*why == EINPROGRESS) {
        int ready = wait_fd(fd, POLLOUT, deadline_ms);
        if (ready == 0) *why = ETIMEDOUT;
        else if (ready < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) *why = errno;
        else *why = soerr;
    }
    if (*why != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

kcl_conn_t *kcl_conn_open(const char *host, int32_t port, const char *client_id, int64_t deadline_ms,
                          kcl_error_t *err) {
    struct addrinfo *ai = NULL;
    int why = 0, fd = -1;

    if (resolve(host, port, deadline_ms, &ai, err) != KCL_OK) return NULL;
    for (const struct addrinfo *a = ai; a != NULL && fd < 0 && why != ETIMEDOUT; a = a->ai_next)
        fd = connect_address(a, deadline_ms, &why);
    freeaddrinfo(ai);
    if (fd < 0) {
        if (why == ETIMEDOUT) kcl_fail(err, KCL_EUNREACHABLE, "cannot connect to %s:%d in time", host, (int)port);
        else kcl_fail(err, KCL_EUNREACHABLE, "cannot connect to %s:%d: %s", host, (int)port, strerror(why));
        return NULL;
    }
    kcl_conn_t *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->client_id = strdup(client_id)) == NULL) {
        free(c);
        close(fd);
        kcl_fail(err, KCL_ENOMEM, "out of memory");
        return NULL;
    }
    c->fd = fd;
    c->next_correlation_id = 1;
    snprintf(c->peer, sizeof(c->peer), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, (int)port);
    return c;
}

void kcl_conn_close(kcl_conn_t *c) {
    if (c == NULL) return;
    if (c->fd >= 0) close(c->fd);
    free(c->client_id);
    free(c);
}

const char *kcl_conn_peer(const kcl_conn_t *c) { return c->peer; }

/* ---------------------------------------------------------- send, receive */

/* The connection is closed after a failure: the stream's position is lost. */
static int broken(kcl_conn_t *c, int status) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    return status;
}

static const char *api_name(int16_t api_key) {
    const char *name = kp_api_key_name(api_key);
    return name != NULL ? name : "a request";
}

static int send_all(kcl_conn_t *c, const uint8_t *p, size_t len, int16_t api_key, int64_t deadline_ms,
                    kcl_error_t *err) {
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return broken(c, kcl_fail(err, KCL_EPROTOCOL, "cannot send %s to %s: %s", api_name(api_key), c->peer,
                                      strerror(errno)));
        if (n < 0 && errno == EAGAIN && wait_fd(c->fd, POLLOUT, deadline_ms) == 0)
            return broken(c, kcl_fail(err, KCL_ETIMEOUT, "timed out sending %s to %s", api_name(api_key), c->peer));
    }
    return KCL_OK;
}

static int recv_all(kcl_conn_t *c, uint8_t *p, size_t len, int16_t api_key, int64_t deadline_ms, kcl_error_t *err) {
    while (len > 0) {
        ssize_t n = recv(c->fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0)
            return broken(c, kcl_fail(err, KCL_EPROTOCOL, "%s closed the connection before answering %s", c->peer,
                                      api_name(api_key)));
        if (errno != EAGAIN && errno != EINTR)
            return broken(c, kcl_fail(err, KCL_EPROTOCOL, "cannot read the answer to %s from %s: %s",
                                      api_name(api_key), c->peer, strerror(errno)));
        if (errno == EAGAIN && wait_fd(c->fd, POLLIN, deadline_ms) == 0)
            return broken(c, kcl_fail(err, KCL_ETIMEOUT, "timed out waiting for the answer to %s from %s",
                                      api_name(api_key), c->peer));
    }
    return KCL_OK;
}

/* The size prefix, request header and body of one request. */
static int build_frame(kcl_conn_t *c, int16_t api_key, int16_t version, int16_t flex_from, const kp_writer_t *body,
                       int32_t correlation_id, kp_writer_t *w) {
    kp_request_header_t h = {api_key, version, correlation_id, kp_str_c(c->client_id)};
    size_t size_at = kp_write_reserve_int32(w);

    kp_request_header_encode(w, kp_request_header_version(api_key, version, flex_from), &h);
    kp_write_raw(w, body->buf, body->len);
    if (w->len - size_at - 4 > INT32_MAX) w->err = KP_BUF_INVALID;
    else kp_write_patch_int32(w, size_at, (int32_t)(w->len - size_at - 4));
    return w->err;
}

/* Reads one answer frame, its size checked before it is allocated. */
static int receive_frame(kcl_conn_t *c, int16_t api_key, int64_t deadline_ms, uint8_t **frame, size_t *len,
                         kcl_error_t *err) {
    uint8_t prefix[4];
    int rc = recv_all(c, prefix, sizeof(prefix), api_key, deadline_ms, err);
    int32_t size = (int32_t)kp_get_be(prefix, 4);

    if (rc != KCL_OK) return rc;
    if (size < 4 || size > KCL_MAX_FRAME_BYTES)
        return broken(c, kcl_fail(err, KCL_EPROTOCOL, "%s announced an answer to %s of %d bytes (at least 4 and "
                                  "at most %d expected)", c->peer, api_name(api_key), (int)size, KCL_MAX_FRAME_BYTES));
    *frame = malloc((size_t)size);
    if (*frame == NULL) return broken(c, kcl_fail(err, KCL_ENOMEM, "out of memory"));
    rc = recv_all(c, *frame, (size_t)size, api_key, deadline_ms, err);
    if (rc != KCL_OK) {
        free(*frame);
        *frame = NULL;
        return rc;
    }
    *len = (size_t)size;
    return KCL_OK;
}

/* Checks the response header of a received frame and points the answer's
 * reader at the body. */
static int open_answer(kcl_conn_t *c, int16_t api_key, int16_t version, int16_t flex_from, int32_t correlation_id,
                       kcl_answer_t *answer, size_t len, kcl_error_t *err) {
    int32_t got = 0;

    kp_reader_init(&answer->body, answer->frame, len);
    if (kp_response_header_decode(&answer->body, kp_response_header_version(api_key, version, flex_from), &got) != 0)
        return broken(c, kcl_fail(err, KCL_EPROTOCOL, "the answer to %s from %s has no valid header",
                                  api_name(api_key), c->peer));
    if (got != correlation_id)
        return broken(c, kcl_fail(err, KCL_EPROTOCOL, "the answer to %s from %s carries correlation id %d, not %d",
                                  api_name(api_key), c->peer, (int)got, (int)correlation_id));
    return KCL_OK;
}

int kcl_conn_call(kcl_conn_t *c, int16_t api_key, int16_t version, int16_t flex_from, const kp_writer_t *body,
                  int64_t deadline_ms, kcl_answer_t *answer, kcl_error_t *err) {
    int32_t correlation_id = c->next_correlation_id++;
    kp_writer_t w;
    size_t len = 0;
    int rc;

    *answer = (kcl_answer_t){0};
    if (c->fd < 0) return kcl_fail(err, KCL_EPROTOCOL, "the connection to %s was lost earlier", c->peer);
    kp_writer_init(&w);
    if (body->err != 0 || build_frame(c, api_key, version, flex_from, body, correlation_id, &w) != 0) {
        kp_writer_free(&w);
        return kcl_fail(err, KCL_ENOMEM, "cannot encode %s version %d", api_name(api_key), (int)version);
    }
    rc = send_all(c, w.buf, w.len, api_key, deadline_ms, err);
    kp_writer_free(&w);
    if (rc == KCL_OK) rc = receive_frame(c, api_key, deadline_ms, &answer->frame, &len, err);
    if (rc == KCL_OK) rc = open_answer(c, api_key, version, flex_from, correlation_id, answer, len, err);
    if (rc != KCL_OK) kcl_answer_free(answer);
    return rc;
}

void kcl_answer_free(kcl_answer_t *answer) {
    free(answer->frame);
    *answer = (kcl_answer_t){0};
}
