/*
 * kbstart.c - start-to-serving time of a Kafka-protocol server, for
 * tests/bench/compare.sh and tests/bench/partitions.sh.
 *
 *   kbstart [-b HOST:PORT] [-t TOPIC [-l]] [-T SECONDS] [-o LOG] [-- COMMAND [ARG...]]
 *
 * With a COMMAND, kbstart forks and execs it, and from that moment (read
 * just before fork) probes the listener until it answers an ApiVersions v0
 * request without error and then a Metadata v1 request that lists at least
 * one broker and, with -t, the topic with every partition led (error 0,
 * leader >= 0): what a client needs before it can produce.  With -l the
 * same connection then asks ListOffsets v1 for the latest offset of every
 * partition Metadata listed, and each must answer error 0: a partition
 * the cluster says is led here may not be hosted yet (its log still being
 * created or loaded), which Metadata does not show.  It then prints
 *
 *   SERVING pid=CHILD ms=MILLISECONDS probes=N bootstrap=HOST:PORT
 *
 * (with -l followed by partitions=N, how many answered ListOffsets,
 * led_ms=MILLISECONDS, when that last probe's Metadata answer arrived, so
 * that ms - led_ms is its ListOffsets round trip, and unserved=K, how many
 * earlier probes found every partition led in Metadata but not every one
 * answering ListOffsets), and stays the child's parent: SIGINT, SIGTERM
 * and SIGHUP are passed on to it, and kbstart exits with its status (128 +
 * signal if it was killed).
 * Without -b the child must print its bootstrap list as its first line on
 * stdout (kbmock does); the rest of its stdout is read and dropped.  A
 * server that does not serve within SECONDS (default 60) is stopped
 * (SIGTERM, then SIGKILL after 10 s) and the line says status=FAILED.
 * With -o the child's stderr, and its stdout when -b is given, are
 * appended to LOG instead of sharing kbstart's.
 *
 * Without a COMMAND it only waits for HOST:PORT to serve, and prints the
 * same line without pid (a readiness check).
 *
 * The probe speaks the wire protocol itself, with no client library, so that
 * no client's reconnect backoff is in the figure; a refused connection is
 * retried every 2 ms.  Exit status: 1 when not serving in time, 2 bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROBE_INTERVAL_MS 2
#define IO_TIMEOUT_MS 1000
#define MAX_RESPONSE (4 << 20)
#define API_LIST_OFFSETS 2
#define API_METADATA 3
#define API_API_VERSIONS 18

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- big-endian writer and reader (sticky error) ------------------------- */

/* Grows as needed: a ListOffsets request for 10,000 partitions is 120 KB. */
typedef struct {
    uint8_t *buf;
    size_t len, cap;
    bool err;
} writer_t;

static void put_bytes(writer_t *w, const void *p, size_t n)
{
    if (!w->err && n > w->cap - w->len) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n)
            cap *= 2;
        uint8_t *buf = realloc(w->buf, cap);
        if (buf) {
            w->buf = buf;
            w->cap = cap;
        } else {
            w->err = true;
        }
    }
    if (w->err || n == 0)
        return;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void writer_free(writer_t *w)
{
    free(w->buf);
    *w = (writer_t){.len = 0};
}

static void put_i16(writer_t *w, int16_t v)
{
    uint8_t b[2] = {(uint8_t)((uint16_t)v >> 8), (uint8_t)v};
    put_bytes(w, b, 2);
}

static void put_i32(writer_t *w, int32_t v)
{
    uint32_t u = (uint32_t)v;
    uint8_t b[4] = {(uint8_t)(u >> 24), (uint8_t)(u >> 16), (uint8_t)(u >> 8), (uint8_t)u};
    put_bytes(w, b, 4);
}

static void put_i64(writer_t *w, int64_t v)
{
    put_i32(w, (int32_t)(uint32_t)((uint64_t)v >> 32));
    put_i32(w, (int32_t)(uint32_t)(uint64_t)v);
}

static void put_string(writer_t *w, const char *s)
{
    put_i16(w, (int16_t)strlen(s));
    put_bytes(w, s, strlen(s));
}

typedef struct {
    const uint8_t *p, *end;
    bool err;
} reader_t;

static uint32_t get_u(reader_t *r, size_t n)
{
    uint32_t v = 0;
    if (r->err || (size_t)(r->end - r->p) < n) {
        r->err = true;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        v = v << 8 | *r->p++;
    return v;
}

static int16_t get_i16(reader_t *r) { return (int16_t)get_u(r, 2); }
static int32_t get_i32(reader_t *r) { return (int32_t)get_u(r, 4); }

/* Skips n bytes; a negative n (a null string or array) skips nothing. */
static void skip(reader_t *r, int32_t n)
{
    if (n <= 0 || r->err)
        return;
    if (r->end - r->p < n) {
        r->err = true;
        return;
    }
    r->p += n;
}

static bool get_string_is(reader_t *r, const char *want)
{
    int16_t n = get_i16(r);
    bool same = n >= 0 && !r->err && r->end - r->p >= n && (size_t)n == strlen(want) && memcmp(r->p, want, (size_t)n) == 0;
    skip(r, n);
    return same;
}

/* ---- one request/response on a connected socket -------------------------- */

static bool wait_io(int fd, short events, uint64_t deadline)
{
    uint64_t now = now_ns();
    if (now >= deadline)
        return false;
    struct pollfd pfd = {fd, events, 0};
    int ms = (int)((deadline - now) / 1000000u) + 1;
    return poll(&pfd, 1, ms) == 1;
}

static bool send_all(int fd, const uint8_t *p, size_t n, uint64_t deadline)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k > 0) {
            p += k, n -= (size_t)k;
        } else if (k < 0 && errno != EAGAIN && errno != EINTR) {
            return false;
        } else if (!wait_io(fd, POLLOUT, deadline)) {
            return false;
        }
    }
    return true;
}

static bool recv_all(int fd, uint8_t *p, size_t n, uint64_t deadline)
{
    while (n > 0) {
        ssize_t k = recv(fd, p, n, 0);
        if (k > 0) {
            p += k, n -= (size_t)k;
        } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
            return false;
        } else if (!wait_io(fd, POLLIN, deadline)) {
            return false;
        }
    }
    return true;
}

/* Sends a request (header v1, the given body) and reads its response body,
 * after the correlation id, into a new buffer the caller frees.  NULL on
 * any failure. */
static uint8_t *exchange(int fd, int16_t api_key, int16_t version, const writer_t *body, size_t *len)
{
    static int32_t correlation = 1;
    writer_t w = {.len = 0};
    int32_t corr = correlation++;
    put_i32(&w, 0); /* size, filled in below */
    put_i16(&w, api_key);
    put_i16(&w, version);
    put_i32(&w, corr);
    put_string(&w, "kbstart");
    put_bytes(&w, body->buf, body->len);
    if (w.err || body->err) {
        writer_free(&w);
        return NULL;
    }
    uint32_t size = (uint32_t)w.len - 4;
    uint8_t be[4] = {(uint8_t)(size >> 24), (uint8_t)(size >> 16), (uint8_t)(size >> 8), (uint8_t)size};
    memcpy(w.buf, be, 4);
    uint64_t deadline = now_ns() + IO_TIMEOUT_MS * 1000000ull;
    uint8_t hdr[8];
    bool sent = send_all(fd, w.buf, w.len, deadline);
    writer_free(&w);
    if (!sent || !recv_all(fd, hdr, sizeof(hdr), deadline))
        return NULL;
    reader_t r = {hdr, hdr + sizeof(hdr), false};
    int32_t rsize = get_i32(&r);
    if (get_i32(&r) != corr || rsize < 4 || rsize > MAX_RESPONSE)
        return NULL;
    *len = (size_t)rsize - 4;
    uint8_t *resp = malloc(*len ? *len : 1);
    if (resp && !recv_all(fd, resp, *len, deadline)) {
        free(resp);
        resp = NULL;
    }
    return resp;
}

/* ---- the answers a client needs ------------------------------------------- */

static bool api_versions_ok(int fd)
{
    writer_t body = {.len = 0};
    size_t len;
    uint8_t *resp = exchange(fd, API_API_VERSIONS, 0, &body, &len);
    writer_free(&body);
    if (!resp)
        return false;
    reader_t r = {resp, resp + len, false};
    int16_t err = get_i16(&r);
    int32_t n = get_i32(&r);
    skip(&r, n > 0 ? n * 6 : 0);
    free(resp);
    return !r.err && err == 0 && n > 0;
}

/* One topic of a Metadata v1 answer: true if it is the topic wanted and
 * every partition has a leader, whose count goes to *nparts_out; the
 * reader is left after the topic. */
static bool topic_served(reader_t *r, const char *topic, int32_t *nparts_out)
{
    int16_t err = get_i16(r);
    bool wanted = get_string_is(r, topic);
    skip(r, 1); /* is_internal */
    int32_t nparts = get_i32(r);
    bool led = err == 0 && nparts > 0;
    for (int32_t i = 0; i < nparts && !r->err; i++) {
        int16_t perr = get_i16(r);
        get_i32(r); /* partition index */
        int32_t leader = get_i32(r);
        skip(r, get_i32(r) * 4); /* replicas */
        skip(r, get_i32(r) * 4); /* isr */
        led = led && perr == 0 && leader >= 0;
    }
    if (wanted && led && !r->err)
        *nparts_out = nparts;
    return wanted && led && !r->err;
}

/* With a topic, its partition count goes to *nparts. */
static bool metadata_ok(int fd, const char *topic, int32_t *nparts)
{
    writer_t body = {.len = 0};
    if (topic) {
        put_i32(&body, 1);
        put_string(&body, topic);
    } else {
        put_i32(&body, -1); /* all topics */
    }
    size_t len;
    uint8_t *resp = exchange(fd, API_METADATA, 1, &body, &len);
    writer_free(&body);
    if (!resp)
        return false;
    reader_t r = {resp, resp + len, false};
    int32_t nbrokers = get_i32(&r);
    for (int32_t i = 0; i < nbrokers && !r.err; i++) {
        get_i32(&r);           /* node id */
        skip(&r, get_i16(&r)); /* host */
        get_i32(&r);           /* port */
        skip(&r, get_i16(&r)); /* rack, nullable */
    }
    get_i32(&r); /* controller id */
    int32_t ntopics = get_i32(&r);
    bool served = topic == NULL;
    for (int32_t i = 0; i < ntopics && !r.err && topic; i++)
        served = topic_served(&r, topic, nparts) || served;
    free(resp);
    return !r.err && nbrokers > 0 && served;
}

/* ListOffsets v1, latest (-1), for partitions 0..nparts-1 of the topic:
 * true when the answer holds that topic alone, with nparts partitions,
 * each with error 0. */
static bool list_offsets_ok(int fd, const char *topic, int32_t nparts)
{
    writer_t body = {.len = 0};
    put_i32(&body, -1); /* replica id: a consumer */
    put_i32(&body, 1);
    put_string(&body, topic);
    put_i32(&body, nparts);
    for (int32_t i = 0; i < nparts; i++) {
        put_i32(&body, i);
        put_i64(&body, -1); /* latest */
    }
    size_t len;
    uint8_t *resp = exchange(fd, API_LIST_OFFSETS, 1, &body, &len);
    writer_free(&body);
    if (!resp)
        return false;
    reader_t r = {resp, resp + len, false};
    int32_t ntopics = get_i32(&r), answered = 0;
    bool ok = ntopics == 1 && get_string_is(&r, topic);
    int32_t n = get_i32(&r);
    for (int32_t i = 0; ok && i < n && !r.err; i++) {
        get_i32(&r); /* partition index */
        answered += get_i16(&r) == 0;
        skip(&r, 16); /* timestamp, offset */
    }
    free(resp);
    return ok && !r.err && n == nparts && answered == nparts;
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (errno != EINPROGRESS || !wait_io(fd, POLLOUT, now_ns() + IO_TIMEOUT_MS * 1000000ull) ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    return fd;
}

/* One probe: true when the server at bootstrap ("host:port") serves; with
 * list_offsets, every partition of the topic must answer ListOffsets, and
 * their count goes to *nparts.  *led_ns: when the Metadata answer wanted
 * arrived (0: it did not). */
static bool probe(const char *bootstrap, const char *topic, bool list_offsets, int32_t *nparts, uint64_t *led_ns)
{
    char host[256];
    snprintf(host, sizeof(host), "%s", bootstrap);
    char *colon = strrchr(host, ':');
    if (!colon)
        return false;
    *colon = '\0';
    int fd = connect_to(host, colon + 1);
    if (fd < 0)
        return false;
    bool led = api_versions_ok(fd) && metadata_ok(fd, topic, nparts);
    *led_ns = led ? now_ns() : 0;
    bool ok = led && (!list_offsets || list_offsets_ok(fd, topic, *nparts));
    close(fd);
    return ok;
}

/* ---- the server process ---------------------------------------------------- */

static volatile sig_atomic_t g_child = 0;

static void forward_signal(int sig)
{
    if (g_child > 0)
        kill((pid_t)g_child, sig);
}

/* Handlers, not SIG_IGN: exec resets them in the child, which therefore
 * starts with the default dispositions. */
static void forward_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* In the child: stderr, and stdout unless it is the pipe, to the log. */
static void redirect_to_log(const char *log, bool stdout_too)
{
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "kbstart: %s: %s\n", log, strerror(errno));
        _exit(127);
    }
    if (stdout_too)
        dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
}

/* Forks and execs argv.  With out_fd, the child's stdout is a pipe whose
 * read end is stored there.  Returns the child's pid, or -1. */
static pid_t spawn(char **argv, int *out_fd, const char *log)
{
    int p[2] = {-1, -1};
    if (out_fd && pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        if (out_fd)
            dup2(p[1], STDOUT_FILENO); /* the copy is not close-on-exec */
        if (log)
            redirect_to_log(log, !out_fd);
        execvp(argv[0], argv);
        fprintf(stderr, "kbstart: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (out_fd) {
        close(p[1]);
        if (pid < 0)
            close(p[0]);
        else
            *out_fd = p[0];
    }
    return pid;
}

/* The first entry of the bootstrap list the child prints as its first line. */
static bool read_bootstrap(int fd, char *out, size_t outlen, uint64_t deadline)
{
    size_t n = 0;
    while (n + 1 < outlen) {
        char c;
        if (!wait_io(fd, POLLIN, deadline))
            return false;
        ssize_t k = read(fd, &c, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        if (c == '\n' || c == ',')
            break;
        out[n++] = c;
    }
    out[n] = '\0';
    return n > 0;
}

static bool child_exited(pid_t pid)
{
    int status;
    return pid > 0 && waitpid(pid, &status, WNOHANG) == pid;
}

/* SIGTERM, up to 10 s, then SIGKILL. */
static void stop_child(pid_t pid)
{
    kill(pid, SIGTERM);
    for (int i = 0; i < 1000; i++) {
        if (child_exited(pid))
            return;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Drops the child's further output, then waits for it; its exit status,
 * or 128 + the signal that killed it. */
static int supervise(pid_t pid, int out_fd)
{
    char buf[4096];
    while (out_fd >= 0) {
        ssize_t k = read(out_fd, buf, sizeof(buf));
        if (k == 0 || (k < 0 && errno != EINTR))
            break;
    }
    if (out_fd >= 0)
        close(out_fd);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

typedef struct {
    char bootstrap[256]; /* empty: read from the child */
    const char *topic;
    bool list_offsets; /* -l */
    int timeout_s;
    const char *log; /* NULL: the child shares kbstart's stderr */
    char **command; /* NULL: only wait for bootstrap to serve */
} start_opts_t;

/* Probes every PROBE_INTERVAL_MS until serving; false when the deadline
 * passes or the child has exited (it then cannot start serving).  *led_ns:
 * when the serving probe had its Metadata answer; *unserved: probes before
 * it whose Metadata was as wanted but not their ListOffsets. */
static bool wait_serving(const start_opts_t *o, pid_t child, uint64_t deadline, int *probes, int32_t *nparts,
                         uint64_t *led_ns, int *unserved)
{
    for (*probes = 1;; ++*probes) {
        if (probe(o->bootstrap, o->topic, o->list_offsets, nparts, led_ns))
            return true;
        *unserved += *led_ns != 0;
        if (now_ns() >= deadline || child_exited(child))
            return false;
        sleep_ms(PROBE_INTERVAL_MS);
    }
}

static void parse_args(start_opts_t *o, int argc, char **argv)
{
    int opt;
    /* "+": stop at the command, whose own options are not ours. */
    while ((opt = getopt(argc, argv, "+b:t:lT:o:")) != -1) {
        switch (opt) {
        case 'b': snprintf(o->bootstrap, sizeof(o->bootstrap), "%s", optarg); break;
        case 't': o->topic = optarg; break;
        case 'l': o->list_offsets = true; break;
        case 'T': o->timeout_s = atoi(optarg); break;
        case 'o': o->log = optarg; break;
        default: o->timeout_s = 0;
        }
    }
    o->command = optind < argc ? argv + optind : NULL;
    if (o->timeout_s <= 0 || (!o->command && !o->bootstrap[0]) || (o->list_offsets && !o->topic)) {
        fprintf(stderr, "usage: kbstart [-b HOST:PORT] [-t TOPIC [-l]] [-T SECONDS] [-o LOG] [-- COMMAND [ARG...]]\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    start_opts_t o = {.timeout_s = 60};
    parse_args(&o, argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    forward_stop_signals();
    int out_fd = -1, probes = 0, unserved = 0;
    int32_t nparts = 0;
    uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)o.timeout_s * 1000000000u, led_ns = 0;
    pid_t child = o.command ? spawn(o.command, o.bootstrap[0] ? NULL : &out_fd, o.log) : 0;
    g_child = child;
    bool ok = child >= 0;
    if (ok && !o.bootstrap[0])
        ok = read_bootstrap(out_fd, o.bootstrap, sizeof(o.bootstrap), deadline);
    ok = ok && wait_serving(&o, child, deadline, &probes, &nparts, &led_ns, &unserved);
    double ms = (double)(now_ns() - t0) / 1e6;
    if (!ok) {
        printf("SERVING status=FAILED pid=%d probes=%d bootstrap=%s after_ms=%.1f\n", (int)child, probes,
               o.bootstrap[0] ? o.bootstrap : "unknown", ms);
        if (child > 0)
            stop_child(child);
        return 1;
    }
    char listed[96] = "";
    if (o.list_offsets)
        snprintf(listed, sizeof(listed), " partitions=%d led_ms=%.1f unserved=%d", (int)nparts,
                 (double)(led_ns - t0) / 1e6, unserved);
    if (child > 0)
        printf("SERVING pid=%d ms=%.1f probes=%d bootstrap=%s%s\n", (int)child, ms, probes, o.bootstrap, listed);
    else
        printf("SERVING ms=%.1f probes=%d bootstrap=%s%s\n", ms, probes, o.bootstrap, listed);
    return child > 0 ? supervise(child, out_fd) : 0;
}
