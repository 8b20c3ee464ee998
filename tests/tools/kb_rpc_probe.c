/*
 * kb_rpc_probe.c - a command-line stranger on a broker's inter-broker RPC
 * port, for tests and for operators checking what listens there:
 *
 *   kb_rpc_probe [-i ID] [-e EPOCH] [-v VERSION] [-n] [-m MODE] HOST PORT
 *
 * Connects, sends a Hello (broker ID, EPOCH, protocol VERSION; defaults -1,
 * -1 and this build's version) unless -n, and prints what came back:
 * "hello broker=B epoch=E version=V" for the broker's Hello, or "closed"
 * when the broker closed the connection first.  -m then sends one frame no
 * kbroker sends and prints "closed" or "open" (the broker kept the
 * connection for 5 s):
 *   lengths-disagree   an envelope length beyond the frame
 *   oversized          a frame size of 2 GiB - 1, nothing after it
 *   garbage-envelope   an envelope protobuf cannot read
 *   no-hello-request   a StopReplica request (use with -n: before Hello)
 * Exit status 0 when it could connect, 1 otherwise, 2 on bad arguments.
 * Blocking sockets, 5 s timeouts: a test tool, not broker code.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "proto/kp_rpc.h"

static int dial(const char *host, const char *port) {
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads n bytes: 1, 0 when the peer closed, -1 on timeout. */
static int recv_all(int fd, uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t k = recv(fd, p, n, 0);
        if (k == 0 || (k < 0 && (errno == ECONNRESET || errno == EPIPE))) return 0;
        if (k < 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

/* Sends env with msg as its body (kind and method already set). */
static int send_message(int fd, Kbroker__Rpc__Envelope *env, const ProtobufCMessage *msg) {
    uint8_t *frame;
    size_t len;
    if (kp_rpc_body_pack(env, env->method, env->kind, msg) != KP_RPC_OK) return -1;
    int rc = kp_rpc_encode(env, UINT32_MAX, &frame, &len);
    kp_rpc_body_release(env);
    if (rc != KP_RPC_OK) return -1;
    rc = send_all(fd, frame, len);
    free(frame);
    return rc;
}

static int send_hello(int fd, int32_t id, int64_t epoch, uint32_t version) {
    Kbroker__Rpc__Envelope env = KBROKER__RPC__ENVELOPE__INIT;
    Kbroker__Rpc__HelloRequest h = KBROKER__RPC__HELLO_REQUEST__INIT;
    h.protocol_version = version;
    h.broker_id = id;
    h.broker_epoch = epoch;
    env.method = KBROKER__RPC__METHOD__METHOD_HELLO;
    env.correlation_id = 1;
    env.sender_broker_id = id;
    env.sender_broker_epoch = epoch;
    return send_message(fd, &env, &h.base);
}

/* Reads the broker's answer to Hello and prints it, or "closed". */
static void print_hello(int fd) {
    uint8_t prefix[4];
    if (recv_all(fd, prefix, 4) != 1) {
        puts("closed");
        return;
    }
    size_t total;
    if (kp_rpc_frame_size(prefix, 1u << 20, &total) != KP_RPC_OK) {
        puts("bad answer");
        return;
    }
    uint8_t *frame = malloc(total);
    kp_rpc_frame_t *f = NULL;
    kp_rpc_body_t *b = NULL;
    memcpy(frame, prefix, 4);
    if (recv_all(fd, frame + 4, total - 4) != 1) puts("closed");
    else if (kp_rpc_decode(frame, total, 1u << 20, &f) != KP_RPC_OK || kp_rpc_body_unpack(f->env, &b) != KP_RPC_OK ||
             f->env->method != KBROKER__RPC__METHOD__METHOD_HELLO)
        puts("bad answer");
    else {
        const Kbroker__Rpc__HelloResponse *h = (const Kbroker__Rpc__HelloResponse *)b->msg;
        printf("hello broker=%d epoch=%lld version=%u\n", (int)h->broker_id, (long long)h->broker_epoch,
               (unsigned)h->protocol_version);
    }
    kp_rpc_body_free(b);
    kp_rpc_frame_free(f);
    free(frame);
}

static int send_malformed(int fd, const char *mode) {
    static const uint8_t disagree[] = {0, 0, 0, 6, 0, 0, 0, 100, 0, 0};
    static const uint8_t oversized[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    static const uint8_t garbage[] = {0, 0, 0, 8, 0, 0, 0, 4, 0x00, 0xff, 0xff, 0xff};
    if (strcmp(mode, "lengths-disagree") == 0) return send_all(fd, disagree, sizeof(disagree));
    if (strcmp(mode, "oversized") == 0) return send_all(fd, oversized, sizeof(oversized));
    if (strcmp(mode, "garbage-envelope") == 0) return send_all(fd, garbage, sizeof(garbage));
    if (strcmp(mode, "no-hello-request") == 0) {
        Kbroker__Rpc__Envelope env = KBROKER__RPC__ENVELOPE__INIT;
        Kbroker__Rpc__StopReplicaRequest r = KBROKER__RPC__STOP_REPLICA_REQUEST__INIT;
        env.method = KBROKER__RPC__METHOD__METHOD_STOP_REPLICA;
        env.correlation_id = 2;
        return send_message(fd, &env, &r.base);
    }
    return -2;
}

/* "closed" once the broker closes, "open" if it is still open after 5 s. */
static void print_fate(int fd) {
    uint8_t buf[4096];
    for (;;) {
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        if (k > 0) continue; /* an answer queued before the refusal */
        puts(k == 0 || errno == ECONNRESET ? "closed" : "open");
        return;
    }
}

static void usage(void) {
    fprintf(stderr, "usage: kb_rpc_probe [-i ID] [-e EPOCH] [-v VERSION] [-n] [-m MODE] HOST PORT\n");
}

int main(int argc, char **argv) {
    int32_t id = -1;
    int64_t epoch = -1;
    uint32_t version = KP_RPC_PROTOCOL_VERSION;
    bool hello = true;
    const char *mode = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "i:e:v:nm:")) != -1) {
        switch (opt) {
        case 'i': id = (int32_t)strtol(optarg, NULL, 10); break;
        case 'e': epoch = strtoll(optarg, NULL, 10); break;
        case 'v': version = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'n': hello = false; break;
        case 'm': mode = optarg; break;
        default: usage(); return 2;
        }
    }
    if (argc - optind != 2) {
        usage();
        return 2;
    }
    int fd = dial(argv[optind], argv[optind + 1]);
    if (fd < 0) {
        fprintf(stderr, "kb_rpc_probe: cannot connect to %s:%s\n", argv[optind], argv[optind + 1]);
        return 1;
    }
    if (hello) {
        if (send_hello(fd, id, epoch, version) != 0) puts("closed");
        else print_hello(fd);
    }
    if (mode) {
        int rc = send_malformed(fd, mode);
        if (rc == -2) {
            usage();
            close(fd);
            return 2;
        }
        if (rc != 0) puts("closed");
        else print_fate(fd);
    }
    close(fd);
    return 0;
}
