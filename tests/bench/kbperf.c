/*
 * kbperf.c - the load tool of tests/bench: drives any Kafka-protocol
 * endpoint (kbroker, librdkafka's in-memory mock cluster, Apache Kafka)
 * through librdkafka, in the spirit of Kafka's kafka-producer-perf-test and
 * kafka-consumer-perf-test, and prints one machine-readable RESULT line.
 *
 *   produce  COUNT records of SIZE bytes, as fast as the client goes or at
 *            RATE records/s.  The clock runs from the first produce call
 *            (after the client has fetched metadata, so connecting is not
 *            counted) to the last delivery report.
 *   group    the same COUNT records with the group consumer (subscribe() in
 *            group GROUP, auto.offset.reset=earliest): FindCoordinator,
 *            JoinGroup, SyncGroup and OffsetFetch before the first record,
 *            offsets committed as it goes (librdkafka's auto-commit) and
 *            once more, synchronously, at the end.  Reports the same rate,
 *            plus the time from subscribe() to the first record (joining
 *            the group) and of the final commit.
 *   consume  COUNT records from the beginning of every partition with the
 *            legacy, group-less consumer (a broker needs only Metadata,
 *            ListOffsets and Fetch).  The clock runs from the first record
 *            received to the last one counted.  With -w a partition that
 *            reaches its end is rewound to its beginning, so an endpoint
 *            that keeps fewer records (the mock keeps ~5 MiB a partition)
 *            still serves COUNT of them; the rewinds are reported, and the
 *            gap each one causes (the client finding the beginning again)
 *            is left out of the time, which wall_secs still shows whole.
 *   latency  a producer at a fixed RATE for SECONDS and a consumer tailing
 *            the topic, both in this process.  Each value starts with its
 *            send time on CLOCK_MONOTONIC, so receive time minus send time
 *            is the end-to-end latency on one clock.  The produce call to
 *            delivery report ("ack") latency is reported as well.
 *   times    ListOffsets by timestamp (rd_kafka_offsets_for_times, what a
 *            consumer seeking by time sends) for every partition at once,
 *            one call after the other for SECONDS, each asking for the
 *            first offset at or after TIMESTAMP (ms).  Reports the calls
 *            made and their latency.
 *
 * Why our own tool rather than librdkafka's rdkafka_performance: it needs
 * none of librdkafka's private headers, it paces by sleeping rather than
 * busy-waiting (so at 10,000 records/s it leaves the cores to the broker),
 * and it reports p99.9.  Percentiles are nearest-rank over every record.
 * MB means 10^6 bytes of record values; keys, headers and protocol framing
 * are not counted.
 *
 * Exit status: 0 the run completed, 1 it failed (the RESULT line then says
 * status=FAILED and why), 2 bad usage.  Nothing here is on a test's
 * pass/fail path: tests/bench/compare.sh runs it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define KBPERF_MAX_PROPS 64
/* A latency record's value starts with: magic, this run's nonce, send time. */
#define STAMP_MAGIC 0x544c424bu /* "KBLT" read as little-endian bytes */
#define STAMP_LEN 16
#define NS_PER_S 1000000000.0

/* The per-record send time travels in librdkafka's per-message opaque. */
_Static_assert(sizeof(uintptr_t) >= sizeof(uint64_t), "kbperf needs 64-bit pointers");

typedef enum { MODE_PRODUCE, MODE_CONSUME, MODE_GROUP, MODE_LATENCY, MODE_TIMES } perf_mode_t;

typedef struct {
    perf_mode_t mode;
    const char *mode_name;
    const char *bootstrap;
    const char *topic;
    const char *group; /* group mode: group.id (NULL: kbperf-PID) */
    const char *acks;
    const char *codec;
    const char *linger_ms;  /* NULL: librdkafka's default */
    const char *batch_size; /* NULL: librdkafka's default */
    const char *batch_num;  /* NULL: librdkafka's default */
    long long count;
    size_t size;
    int partitions; /* 0: discover from metadata */
    double rate;    /* records/s; 0 = unlimited */
    double seconds; /* latency and times modes: how long to run */
    int64_t timestamp; /* times mode: the target, ms */
    bool rewind;
    int timeout_s; /* bound on each phase */
    const char *props[KBPERF_MAX_PROPS];
    int nprops;
} perf_opts_t;

/* ---- clock, samples, percentiles ----------------------------------------- */

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

/* Latency samples in nanoseconds; room for every record is allocated up
 * front so that recording one is a store, never an allocation. */
typedef struct {
    uint64_t *v;
    size_t n, cap;
} samples_t;

static int samples_init(samples_t *s, size_t cap)
{
    s->n = 0;
    s->cap = cap;
    s->v = calloc(cap ? cap : 1, sizeof(*s->v));
    return s->v ? 0 : -1;
}

static void samples_add(samples_t *s, uint64_t ns)
{
    if (s->n < s->cap)
        s->v[s->n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile in milliseconds; the samples must be sorted. */
static double samples_pct_ms(const samples_t *s, double pct)
{
    if (s->n == 0)
        return NAN;
    size_t rank = (size_t)ceil(pct / 100.0 * (double)s->n);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return (double)s->v[rank - 1] / 1e6;
}

static void print_latency(const char *name, samples_t *s)
{
    qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
    printf(" %s_p50_ms=%.3f %s_p99_ms=%.3f %s_p999_ms=%.3f %s_max_ms=%.3f", name, samples_pct_ms(s, 50), name,
           samples_pct_ms(s, 99), name, samples_pct_ms(s, 99.9), name, samples_pct_ms(s, 100));
}

/* ---- record values ------------------------------------------------------- */

/* Letters from a fixed xorshift sequence, like kafka-producer-perf-test's
 * random payload: compressible the way text is, the same in every run. */
static char *make_payload(size_t size)
{
    char *p = malloc(size ? size : 1);
    uint32_t x = 2463534242u;
    for (size_t i = 0; p && i < size; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (char)('a' + x % 26);
    }
    return p;
}

static void stamp_payload(char *p, uint32_t nonce, uint64_t sent_ns)
{
    uint32_t magic = STAMP_MAGIC;
    memcpy(p, &magic, 4);
    memcpy(p + 4, &nonce, 4);
    memcpy(p + 8, &sent_ns, 8);
}

/* The send time of a record stamped by this run, or false for any other
 * record (one left on the topic by an earlier run, say). */
static bool read_stamp(const void *value, size_t len, uint32_t nonce, uint64_t *sent_ns)
{
    uint32_t magic, run;
    if (!value || len < STAMP_LEN)
        return false;
    memcpy(&magic, value, 4);
    memcpy(&run, (const char *)value + 4, 4);
    if (magic != STAMP_MAGIC || run != nonce)
        return false;
    memcpy(sent_ns, (const char *)value + 8, 8);
    return true;
}

/* ---- client configuration ------------------------------------------------ */

static int conf_set(rd_kafka_conf_t *c, const char *key, const char *value)
{
    char err[256];
    if (rd_kafka_conf_set(c, key, value, err, sizeof(err)) == RD_KAFKA_CONF_OK)
        return 0;
    fprintf(stderr, "kbperf: %s=%s: %s\n", key, value, err);
    return -1;
}

/* The -X key=value properties, applied to every client of the run. */
static int conf_set_props(rd_kafka_conf_t *c, const perf_opts_t *o)
{
    for (int i = 0; i < o->nprops; i++) {
        char kv[512];
        snprintf(kv, sizeof(kv), "%s", o->props[i]);
        char *eq = strchr(kv, '=');
        if (!eq) {
            fprintf(stderr, "kbperf: -X %s: expected KEY=VALUE\n", o->props[i]);
            return -1;
        }
        *eq = '\0';
        if (conf_set(c, kv, eq + 1))
            return -1;
    }
    return 0;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    fprintf(stderr, "kbperf: %s: %s: %s\n", rd_kafka_name(rk), rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

static rd_kafka_conf_t *make_conf(const perf_opts_t *o, rd_kafka_type_t type, void *opaque)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    int rc = conf_set(c, "bootstrap.servers", o->bootstrap);
    if (type == RD_KAFKA_PRODUCER) {
        rc |= conf_set(c, "acks", o->acks);
        rc |= conf_set(c, "compression.codec", o->codec);
        if (o->linger_ms)
            rc |= conf_set(c, "linger.ms", o->linger_ms);
        if (o->batch_size)
            rc |= conf_set(c, "batch.size", o->batch_size);
        if (o->batch_num)
            rc |= conf_set(c, "batch.num.messages", o->batch_num);
        rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    } else {
        /* End-of-partition events drive -w and the latency run's start;
         * no group, so nothing may be committed anywhere. */
        rc |= conf_set(c, "enable.partition.eof", "true");
        rc |= conf_set(c, "enable.auto.commit", "false");
    }
    rc |= conf_set_props(c, o);
    rd_kafka_conf_set_error_cb(c, on_error);
    rd_kafka_conf_set_opaque(c, opaque);
    if (rc) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    return c;
}

/* A client and its handle on the topic.  Takes ownership of conf. */
typedef struct {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
} client_t;

static int client_open(client_t *cl, rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *topic)
{
    char err[512];
    cl->rkt = NULL;
    cl->rk = conf ? rd_kafka_new(type, conf, err, sizeof(err)) : NULL;
    if (!cl->rk) {
        if (conf) {
            fprintf(stderr, "kbperf: rd_kafka_new: %s\n", err);
            rd_kafka_conf_destroy(conf);
        }
        return -1;
    }
    cl->rkt = rd_kafka_topic_new(cl->rk, topic, NULL);
    if (!cl->rkt) {
        fprintf(stderr, "kbperf: topic %s: %s\n", topic, rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_destroy(cl->rk);
        cl->rk = NULL;
        return -1;
    }
    return 0;
}

static void client_close(client_t *cl)
{
    if (cl->rkt)
        rd_kafka_topic_destroy(cl->rkt);
    if (cl->rk)
        rd_kafka_destroy(cl->rk);
    cl->rkt = NULL;
    cl->rk = NULL;
}

/* The topic's partition count from the endpoint's metadata, retried until
 * the topic has partitions or timeout_s passes (-1).  Also the point at
 * which the client is known to be connected. */
static int discover_partitions(const client_t *cl, const char *topic, int timeout_s)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000u;
    do {
        const struct rd_kafka_metadata *md = NULL;
        int n = -1;
        if (rd_kafka_metadata(cl->rk, 0, cl->rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
                n = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
        }
        if (n > 0)
            return n;
        sleep_ms(100);
    } while (now_ns() < deadline);
    fprintf(stderr, "kbperf: no partitions for topic %s within %d s\n", topic, timeout_s);
    return -1;
}

static int partitions_of(const perf_opts_t *o, const client_t *cl)
{
    int found = discover_partitions(cl, o->topic, o->timeout_s);
    if (found < 0 || o->partitions == 0)
        return found;
    return o->partitions;
}

/* ---- producing ------------------------------------------------------------ */

typedef struct {
    long long delivered, failed;
    uint64_t last_report_ns;
    rd_kafka_resp_err_t first_err;
    samples_t ack; /* latency mode only (cap 0 otherwise) */
} producer_state_t;

/* Runs in whichever thread polls the producer: here always the main one. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    producer_state_t *ps = opaque;
    (void)rk;
    ps->last_report_ns = now_ns();
    if (m->err) {
        if (ps->failed++ == 0)
            ps->first_err = m->err;
        return;
    }
    ps->delivered++;
    if (ps->ack.cap)
        samples_add(&ps->ack, ps->last_report_ns - (uint64_t)(uintptr_t)m->_private);
}

/* Record k (from 0) is due at t0 + k / rate. */
typedef struct {
    uint64_t t0;
    double rate; /* 0: every record is due at once */
} pacer_t;

static long long pacer_due(const pacer_t *p, uint64_t now)
{
    if (p->rate <= 0)
        return LLONG_MAX;
    return (long long)((double)(now - p->t0) * p->rate / NS_PER_S) + 1;
}

static void pacer_wait(const pacer_t *p, long long k)
{
    uint64_t at = p->t0 + (uint64_t)((double)k * NS_PER_S / p->rate);
    struct timespec ts = {(time_t)(at / 1000000000u), (long)(at % 1000000000u)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Sends count records, paced by p, the partition left to librdkafka's
 * partitioner.  With a nonzero nonce each value is stamped with its send
 * time first (the caller's payload buffer is reused; librdkafka copies it).
 * Returns the number of records the client accepted. */
static long long produce_records(const client_t *cl, char *payload, size_t size, long long count, const pacer_t *p,
                                 uint32_t nonce)
{
    long long sent = 0;
    bool timed = p->rate > 0 || nonce;
    while (sent < count) {
        uint64_t t = timed ? now_ns() : 0;
        if (p->rate > 0 && sent >= pacer_due(p, t)) {
            rd_kafka_poll(cl->rk, 0);
            pacer_wait(p, sent);
            continue;
        }
        if (nonce)
            stamp_payload(payload, nonce, t);
        if (rd_kafka_produce(cl->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload, size, NULL, 0,
                             (void *)(uintptr_t)t) == -1) {
            rd_kafka_resp_err_t err = rd_kafka_last_error();
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "kbperf: produce: %s\n", rd_kafka_err2str(err));
                break;
            }
            rd_kafka_poll(cl->rk, 5);
            continue;
        }
        if ((++sent & 1023) == 0)
            rd_kafka_poll(cl->rk, 0);
    }
    return sent;
}

static int producer_open(const perf_opts_t *o, producer_state_t *ps, client_t *cl)
{
    return client_open(cl, RD_KAFKA_PRODUCER, make_conf(o, RD_KAFKA_PRODUCER, ps), o->topic);
}

/* Waits for every delivery report; false if some never came. */
static bool producer_drain(const client_t *cl, const producer_state_t *ps, long long sent, int timeout_s)
{
    rd_kafka_flush(cl->rk, timeout_s * 1000);
    return ps->delivered + ps->failed == sent;
}

static double mb_per_s(long long records, size_t size, double secs)
{
    return secs > 0 ? (double)records * (double)size / 1e6 / secs : 0;
}

static int run_produce(const perf_opts_t *o)
{
    producer_state_t ps = {0};
    client_t cl;
    if (producer_open(o, &ps, &cl))
        return 1;
    int nparts = partitions_of(o, &cl);
    char *payload = make_payload(o->size);
    long long sent = 0;
    pacer_t pacer = {now_ns(), o->rate};
    if (nparts > 0 && payload)
        sent = produce_records(&cl, payload, o->size, o->count, &pacer, 0);
    bool drained = producer_drain(&cl, &ps, sent, o->timeout_s);
    double secs = ps.last_report_ns > pacer.t0 ? (double)(ps.last_report_ns - pacer.t0) / NS_PER_S : 0;
    printf("RESULT mode=produce records=%lld bytes=%lld secs=%.3f rec_s=%.0f MB_s=%.2f acks=%s size=%zu codec=%s "
           "linger_ms=%s rate=%.0f partitions=%d",
           ps.delivered, ps.delivered * (long long)o->size, secs, secs > 0 ? (double)ps.delivered / secs : 0,
           mb_per_s(ps.delivered, o->size, secs), o->acks, o->size, o->codec, o->linger_ms ? o->linger_ms : "default",
           o->rate, nparts);
    int rc = 0;
    if (nparts < 0 || !drained || ps.delivered != o->count) {
        printf(" status=FAILED sent=%lld failed=%lld first_error=%s", sent, ps.failed, rd_kafka_err2name(ps.first_err));
        rc = 1;
    }
    printf("\n");
    free(payload);
    client_close(&cl);
    return rc;
}

/* ---- consuming ------------------------------------------------------------ */

typedef struct {
    rd_kafka_topic_t *rkt;
    int nparts;
    long long want; /* consume mode: records to count, then stop */
    bool rewind;
    atomic_llong got;
    long long bytes;
    uint64_t first_ns, last_ns; /* first and latest record counted */
    uint64_t active_ns;         /* time records flowed: rewind gaps left out */
    bool rewound;               /* a rewind since the latest record */
    bool done;                  /* consume mode: every partition at its end */
    long long *since_rewind;    /* per partition: records since start or rewind */
    bool *at_end;               /* per partition: at its end, not rewound */
    bool *seen_end;             /* per partition: has reported its end once */
    atomic_int partitions_seen_end;
    long long rewinds, errors, foreign;
    uint32_t nonce; /* latency mode: the stamp to look for; 0 otherwise */
    samples_t e2e;
} consumer_state_t;

static int consumer_state_init(consumer_state_t *cs, int nparts)
{
    cs->nparts = nparts;
    atomic_init(&cs->got, 0);
    atomic_init(&cs->partitions_seen_end, 0);
    cs->since_rewind = calloc((size_t)nparts, sizeof(*cs->since_rewind));
    cs->at_end = calloc((size_t)nparts, sizeof(*cs->at_end));
    cs->seen_end = calloc((size_t)nparts, sizeof(*cs->seen_end));
    return cs->since_rewind && cs->at_end && cs->seen_end ? 0 : -1;
}

static void consumer_state_free(consumer_state_t *cs)
{
    free(cs->since_rewind);
    free(cs->at_end);
    free(cs->seen_end);
    free(cs->e2e.v);
}

static bool all_at_end(const consumer_state_t *cs)
{
    for (int p = 0; p < cs->nparts; p++)
        if (!cs->at_end[p])
            return false;
    return true;
}

/* A partition reported its end.  In consume mode with -w it is rewound if
 * it gave records since its last start (an empty one would spin). */
static void on_partition_end(consumer_state_t *cs, int32_t p)
{
    if (p < 0 || p >= cs->nparts)
        return;
    if (!cs->seen_end[p]) {
        cs->seen_end[p] = true;
        atomic_fetch_add(&cs->partitions_seen_end, 1);
    }
    if (cs->nonce)
        return;
    if (cs->rewind && cs->since_rewind[p] > 0 && atomic_load(&cs->got) < cs->want) {
        cs->since_rewind[p] = 0;
        cs->rewinds++;
        cs->rewound = true;
        rd_kafka_seek(cs->rkt, p, RD_KAFKA_OFFSET_BEGINNING, 0);
        return;
    }
    cs->at_end[p] = true;
    if (all_at_end(cs))
        cs->done = true;
}

/* Counting stops at want.  The time from one record to the next counts as
 * active unless a rewind came between them: that gap is the client
 * re-positioning on an endpoint that keeps few records, not serving. */
static void on_record(consumer_state_t *cs, const rd_kafka_message_t *m)
{
    long long got = atomic_load(&cs->got);
    if (got >= cs->want)
        return;
    uint64_t t = now_ns();
    if (got == 0)
        cs->first_ns = t;
    else if (!cs->rewound)
        cs->active_ns += t - cs->last_ns;
    cs->last_ns = t;
    cs->rewound = false;
    if (m->partition >= 0 && m->partition < cs->nparts) {
        cs->since_rewind[m->partition]++;
        cs->at_end[m->partition] = false;
    }
    cs->bytes += (long long)m->len;
    atomic_store(&cs->got, got + 1);
}

static void on_latency_record(consumer_state_t *cs, const rd_kafka_message_t *m)
{
    uint64_t sent;
    if (!read_stamp(m->payload, m->len, cs->nonce, &sent)) {
        cs->foreign++;
        return;
    }
    samples_add(&cs->e2e, now_ns() - sent);
    atomic_fetch_add(&cs->got, 1);
}

static void on_message(rd_kafka_message_t *m, void *opaque)
{
    consumer_state_t *cs = opaque;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        on_partition_end(cs, m->partition);
    } else if (m->err) {
        if (cs->errors++ < 10)
            fprintf(stderr, "kbperf: consume [%" PRId32 "]: %s\n", m->partition, rd_kafka_message_errstr(m));
    } else if (cs->nonce) {
        on_latency_record(cs, m);
    } else {
        on_record(cs, m);
    }
}

/* A consumer with every partition [0, nparts) feeding one queue. */
typedef struct {
    client_t cl;
    rd_kafka_queue_t *q;
    int started; /* partitions started, to stop on close */
} consumer_t;

/* The messages' opaque is passed to each rd_kafka_consume_callback_queue
 * call, so the client itself needs none. */
static int consumer_open(const perf_opts_t *o, consumer_t *c)
{
    c->q = NULL;
    c->started = 0;
    if (client_open(&c->cl, RD_KAFKA_CONSUMER, make_conf(o, RD_KAFKA_CONSUMER, NULL), o->topic))
        return -1;
    c->q = rd_kafka_queue_new(c->cl.rk);
    return 0;
}

static int consumer_start(consumer_t *c, int nparts, int64_t offset)
{
    for (int p = 0; p < nparts; p++) {
        if (rd_kafka_consume_start_queue(c->cl.rkt, p, offset, c->q) == -1) {
            fprintf(stderr, "kbperf: start partition %d: %s\n", p, rd_kafka_err2str(rd_kafka_last_error()));
            return -1;
        }
        c->started++;
    }
    return 0;
}

static void consumer_close(consumer_t *c)
{
    for (int p = 0; p < c->started; p++)
        rd_kafka_consume_stop(c->cl.rkt, p);
    if (c->q)
        rd_kafka_queue_destroy(c->q);
    client_close(&c->cl);
}

/* Opens the consumer and the state for every partition.  Returns the
 * partition count, or -1 (what was opened is still closed by
 * consumer_close and consumer_state_free). */
static int consumer_prepare(const perf_opts_t *o, consumer_state_t *cs, consumer_t *c)
{
    memset(cs, 0, sizeof(*cs));
    if (consumer_open(o, c))
        return -1;
    int nparts = partitions_of(o, &c->cl);
    if (nparts < 0 || consumer_state_init(cs, nparts))
        return -1;
    cs->rkt = c->cl.rkt;
    return nparts;
}

static int run_consume(const perf_opts_t *o)
{
    consumer_state_t cs;
    consumer_t c;
    int nparts = consumer_prepare(o, &cs, &c);
    cs.want = o->count;
    cs.rewind = o->rewind;
    uint64_t deadline = now_ns() + (uint64_t)o->timeout_s * 1000000000u;
    if (nparts > 0 && consumer_start(&c, nparts, RD_KAFKA_OFFSET_BEGINNING) == 0)
        while (!cs.done && atomic_load(&cs.got) < cs.want && now_ns() < deadline)
            rd_kafka_consume_callback_queue(c.q, 100, on_message, &cs);
    long long got = atomic_load(&cs.got);
    double secs = (double)cs.active_ns / NS_PER_S;
    double wall = got ? (double)(cs.last_ns - cs.first_ns) / NS_PER_S : 0;
    printf("RESULT mode=consume records=%lld bytes=%lld secs=%.3f rec_s=%.0f MB_s=%.2f partitions=%d rewinds=%lld "
           "wall_secs=%.3f",
           got, cs.bytes, secs, secs > 0 ? (double)got / secs : 0, secs > 0 ? (double)cs.bytes / 1e6 / secs : 0, nparts,
           cs.rewinds, wall);
    int rc = 0;
    if (nparts < 0 || got == 0 || (got < cs.want && !cs.done)) {
        printf(" status=FAILED want=%lld errors=%lld", cs.want, cs.errors);
        rc = 1;
    }
    printf("\n");
    consumer_close(&c);
    consumer_state_free(&cs);
    return rc;
}

/* ---- latency ---------------------------------------------------------------- */

/* ---- the group consumer --------------------------------------------------- */

/* A subscribing consumer in group o->group: partition ends are reported
 * (they end the run), offsets auto-committed.  NULL on failure. */
static rd_kafka_t *group_consumer_open(const perf_opts_t *o, const char *group)
{
    rd_kafka_conf_t *conf = make_conf(o, RD_KAFKA_CONSUMER, NULL);
    char err[512];
    rd_kafka_t *rk;
    if (!conf || conf_set(conf, "group.id", group) || conf_set(conf, "auto.offset.reset", "earliest") ||
        conf_set(conf, "enable.auto.commit", "true")) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)))) {
        fprintf(stderr, "kbperf: rd_kafka_new: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

static int group_subscribe(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err)
        fprintf(stderr, "kbperf: subscribe %s: %s\n", topic, rd_kafka_err2str(err));
    return err ? -1 : 0;
}

static int run_group(const perf_opts_t *o)
{
    char group[64];
    consumer_state_t cs;
    consumer_t meta; /* only to learn the partition count */
    int nparts = consumer_prepare(o, &cs, &meta);
    rd_kafka_t *rk = NULL;
    uint64_t t_sub = 0, t_commit = 0, deadline = now_ns() + (uint64_t)o->timeout_s * 1000000000u;
    rd_kafka_resp_err_t cerr = RD_KAFKA_RESP_ERR_NO_ERROR;

    snprintf(group, sizeof(group), "%s", o->group ? o->group : "");
    if (!o->group)
        snprintf(group, sizeof(group), "kbperf-%d", (int)getpid());
    cs.want = o->count;
    if (nparts > 0 && (rk = group_consumer_open(o, group)) && group_subscribe(rk, o->topic) == 0) {
        /* Batches through the consumer queue, as the assign() run reads
         * its queue: rd_kafka_consumer_poll per record would measure the
         * client's per-call cost instead (it halves the rate). */
        rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
        t_sub = now_ns();
        while (q && !cs.done && atomic_load(&cs.got) < cs.want && now_ns() < deadline)
            rd_kafka_consume_callback_queue(q, 100, on_message, &cs);
        if (q)
            rd_kafka_queue_destroy(q);
        uint64_t t0 = now_ns();
        cerr = rd_kafka_commit(rk, NULL, 0);
        t_commit = now_ns() - t0;
        if (cerr == RD_KAFKA_RESP_ERR__NO_OFFSET)
            cerr = RD_KAFKA_RESP_ERR_NO_ERROR; /* everything was committed already */
    }
    long long got = atomic_load(&cs.got);
    double secs = got > 1 ? (double)(cs.last_ns - cs.first_ns) / NS_PER_S : 0;
    printf("RESULT mode=group records=%lld bytes=%lld secs=%.3f rec_s=%.0f MB_s=%.2f partitions=%d join_ms=%.1f "
           "commit_ms=%.1f group=%s",
           got, cs.bytes, secs, secs > 0 ? (double)got / secs : 0, secs > 0 ? (double)cs.bytes / 1e6 / secs : 0, nparts,
           got ? (double)(cs.first_ns - t_sub) / 1e6 : 0, (double)t_commit / 1e6, group);
    int rc = 0;
    if (nparts < 0 || !rk || got == 0 || (got < cs.want && !cs.done) || cerr) {
        printf(" status=FAILED want=%lld errors=%lld commit=%s", cs.want, cs.errors, rd_kafka_err2name(cerr));
        rc = 1;
    }
    printf("\n");
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    consumer_close(&meta);
    consumer_state_free(&cs);
    return rc;
}

/* One latency run: a tailing consumer on its own thread, a paced producer
 * on this one. */
typedef struct {
    const perf_opts_t *o;
    long long count;
    int nparts;
    consumer_state_t cs;
    consumer_t c;
    producer_state_t ps;
    client_t pr;
    pthread_t tid;
    bool tail_running;
    atomic_bool stop;
    long long sent;
    uint64_t t0, send_end_ns;
    const char *why; /* what failed, or NULL */
} latency_run_t;

static void *tail_loop(void *arg)
{
    latency_run_t *r = arg;
    while (!atomic_load(&r->stop))
        rd_kafka_consume_callback_queue(r->c.q, 100, on_message, &r->cs);
    return NULL;
}

/* Polls v every 10 ms until it reaches n or timeout_s passes. */
static bool wait_count(atomic_llong *v, long long n, int timeout_s)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000u;
    while (atomic_load(v) < n) {
        if (now_ns() >= deadline)
            return false;
        sleep_ms(10);
    }
    return true;
}

static bool wait_partitions_seen_end(consumer_state_t *cs, int timeout_s)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000u;
    while (atomic_load(&cs->partitions_seen_end) < cs->nparts) {
        if (now_ns() >= deadline)
            return false;
        sleep_ms(10);
    }
    return true;
}

/* Starts the consumer at the end of every partition and waits until each
 * has reported that end, so that no record sent afterwards is missed. */
static int latency_start_tail(latency_run_t *r)
{
    r->nparts = consumer_prepare(r->o, &r->cs, &r->c);
    if (r->nparts < 0)
        return r->why = "no-metadata", -1;
    r->cs.nonce = (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16)) | 1u;
    if (samples_init(&r->cs.e2e, (size_t)r->count))
        return r->why = "out-of-memory", -1;
    if (consumer_start(&r->c, r->nparts, RD_KAFKA_OFFSET_END))
        return r->why = "consumer-start", -1;
    if (pthread_create(&r->tid, NULL, tail_loop, r) != 0)
        return r->why = "thread", -1;
    r->tail_running = true;
    if (!wait_partitions_seen_end(&r->cs, r->o->timeout_s))
        return r->why = "consumer-never-reached-end", -1;
    return 0;
}

static int latency_send(latency_run_t *r)
{
    if (samples_init(&r->ps.ack, (size_t)r->count))
        return r->why = "out-of-memory", -1;
    if (producer_open(r->o, &r->ps, &r->pr))
        return r->why = "producer-open", -1;
    if (discover_partitions(&r->pr, r->o->topic, r->o->timeout_s) < 0)
        return r->why = "no-metadata", -1;
    char *payload = make_payload(r->o->size);
    if (!payload)
        return r->why = "out-of-memory", -1;
    pacer_t pacer = {now_ns(), r->o->rate};
    r->t0 = pacer.t0;
    r->sent = produce_records(&r->pr, payload, r->o->size, r->count, &pacer, r->cs.nonce);
    r->send_end_ns = now_ns();
    free(payload);
    if (!producer_drain(&r->pr, &r->ps, r->sent, r->o->timeout_s))
        return r->why = "delivery-reports-missing", -1;
    if (!wait_count(&r->cs.got, r->sent, r->o->timeout_s))
        return r->why = "records-not-received", -1;
    return 0;
}

static void latency_stop_tail(latency_run_t *r)
{
    if (!r->tail_running)
        return;
    atomic_store(&r->stop, true);
    pthread_join(r->tid, NULL);
    r->tail_running = false;
}

static int latency_report(latency_run_t *r)
{
    const perf_opts_t *o = r->o;
    double secs = r->send_end_ns > r->t0 ? (double)(r->send_end_ns - r->t0) / NS_PER_S : 0;
    long long got = atomic_load(&r->cs.got);
    printf("RESULT mode=latency rate=%.0f secs=%.3f sent=%lld acked=%lld received=%lld achieved_rate=%.0f acks=%s "
           "size=%zu linger_ms=%s partitions=%d",
           o->rate, secs, r->sent, r->ps.delivered, got, secs > 0 ? (double)r->sent / secs : 0, o->acks, o->size,
           o->linger_ms ? o->linger_ms : "default", r->nparts);
    print_latency("ack", &r->ps.ack);
    print_latency("e2e", &r->cs.e2e);
    if (r->cs.foreign)
        printf(" other_records=%lld", r->cs.foreign);
    bool ok = !r->why && r->sent == r->count && r->ps.delivered == r->count && got == r->count;
    if (!ok)
        printf(" status=FAILED reason=%s failed=%lld first_error=%s", r->why ? r->why : "short-count", r->ps.failed,
               rd_kafka_err2name(r->ps.first_err));
    printf("\n");
    return ok ? 0 : 1;
}

static int run_latency(const perf_opts_t *o)
{
    latency_run_t r;
    memset(&r, 0, sizeof(r));
    r.o = o;
    r.count = llround(o->rate * o->seconds);
    atomic_init(&r.stop, false);
    if (latency_start_tail(&r) == 0)
        latency_send(&r);
    latency_stop_tail(&r);
    int rc = latency_report(&r);
    client_close(&r.pr);
    free(r.ps.ack.v);
    consumer_close(&r.c);
    consumer_state_free(&r.cs);
    return rc;
}

/* ---- ListOffsets by timestamp ---------------------------------------------- */

#define TIMES_MAX_CALLS (1u << 20)

/* One offsets_for_times call for every partition; false on any error. */
static bool times_call(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts, int64_t ts, int timeout_ms,
                       rd_kafka_resp_err_t *err)
{
    for (int i = 0; i < parts->cnt; i++)
        parts->elems[i].offset = ts;
    *err = rd_kafka_offsets_for_times(rk, parts, timeout_ms);
    for (int i = 0; i < parts->cnt && !*err; i++)
        *err = parts->elems[i].err;
    return *err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

static int run_times(const perf_opts_t *o)
{
    client_t cl;
    samples_t lat = {0};
    long long calls = 0, errors = 0;
    rd_kafka_resp_err_t err, first_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (client_open(&cl, RD_KAFKA_CONSUMER, make_conf(o, RD_KAFKA_CONSUMER, NULL), o->topic))
        return 1;
    int nparts = partitions_of(o, &cl);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts > 0 ? nparts : 1);
    for (int p = 0; p < nparts; p++)
        rd_kafka_topic_partition_list_add(parts, o->topic, p);
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(o->seconds * NS_PER_S);
    if (nparts > 0 && samples_init(&lat, TIMES_MAX_CALLS) == 0)
        while (now_ns() < end) {
            uint64_t t = now_ns();
            if (!times_call(cl.rk, parts, o->timestamp, o->timeout_s * 1000, &err) && errors++ == 0)
                first_err = err;
            samples_add(&lat, now_ns() - t);
            calls++;
        }
    double secs = (double)(now_ns() - t0) / NS_PER_S;
    printf("RESULT mode=times calls=%lld secs=%.3f calls_s=%.1f partitions=%d timestamp=%lld errors=%lld", calls,
           secs, secs > 0 ? (double)calls / secs : 0, nparts, (long long)o->timestamp, errors);
    print_latency("call", &lat);
    int rc = nparts > 0 && calls > 0 && errors == 0 ? 0 : 1;
    if (rc)
        printf(" status=FAILED first_error=%s", rd_kafka_err2name(first_err));
    printf("\n");
    free(lat.v);
    rd_kafka_topic_partition_list_destroy(parts);
    client_close(&cl);
    return rc;
}

/* ---- command line ---------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: kbperf produce|consume|group|latency|times -b BOOTSTRAP [options]\n"
            "  -b HOST:PORT,...  bootstrap servers (required)\n"
            "  -t TOPIC          topic (default perf)\n"
            "  -n RECORDS        records to produce or consume (default 1000000)\n"
            "  -s BYTES          record value size (default 100; latency needs >= %d)\n"
            "  -a ACKS           0, 1 or all (default 1)\n"
            "  -p N              partitions 0..N-1 (default: discover from metadata);\n"
            "                    the producer always leaves the choice to librdkafka\n"
            "  -z CODEC          none, gzip, snappy, lz4 or zstd (default none)\n"
            "  -r RATE           records/s, 0 = unlimited (default 0; latency 10000)\n"
            "  -d SECONDS        latency, times: how long to run (default 10)\n"
            "  -o TIMESTAMP      times: the timestamp to look up, in ms (default 0)\n"
            "  -l MS             linger.ms (default: librdkafka's, 5)\n"
            "  -B BYTES          batch.size\n"
            "  -m RECORDS        batch.num.messages\n"
            "  -w                consume: rewind a partition at its end until RECORDS\n"
            "  -g GROUP          group: the group.id (default kbperf-PID)\n"
            "  -T SECONDS        bound on each phase (default 120)\n"
            "  -X KEY=VALUE      any librdkafka property, for every client (repeatable)\n",
            STAMP_LEN);
    exit(2);
}

static double parse_number(const char *s, const char *what, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min && v <= max)) {
        fprintf(stderr, "kbperf: bad %s: %s (expected %g..%g)\n", what, s, min, max);
        exit(2);
    }
    return v;
}

/* arg itself, once it is known to be a number in [min, max]: for the
 * settings handed to librdkafka as text. */
static const char *checked_number(const char *arg, const char *what, double min, double max)
{
    parse_number(arg, what, min, max);
    return arg;
}

static void parse_mode(perf_opts_t *o, const char *s)
{
    static const struct {
        const char *name;
        perf_mode_t mode;
    } modes[] = {{"produce", MODE_PRODUCE}, {"consume", MODE_CONSUME}, {"group", MODE_GROUP}, {"latency", MODE_LATENCY}, {"times", MODE_TIMES}};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(s, modes[i].name) == 0) {
            o->mode = modes[i].mode;
            o->mode_name = modes[i].name;
            return;
        }
    usage();
}

static const char *parse_acks(const char *s)
{
    if (strcmp(s, "all") == 0 || strcmp(s, "-1") == 0)
        return "-1";
    if (strcmp(s, "0") == 0 || strcmp(s, "1") == 0)
        return s;
    fprintf(stderr, "kbperf: bad acks: %s (expected 0, 1 or all)\n", s);
    exit(2);
}

static void parse_option(perf_opts_t *o, int opt, const char *arg, bool *rate_given)
{
    switch (opt) {
    case 'b': o->bootstrap = arg; break;
    case 't': o->topic = arg; break;
    case 'g': o->group = arg; break;
    case 'n': o->count = (long long)parse_number(arg, "record count", 1, 1e12); break;
    case 's': o->size = (size_t)parse_number(arg, "record size", 0, 100e6); break;
    case 'a': o->acks = parse_acks(arg); break;
    case 'p': o->partitions = (int)parse_number(arg, "partition count", 1, 100000); break;
    case 'z': o->codec = arg; break;
    case 'r':
        o->rate = parse_number(arg, "rate", 0, 1e9);
        *rate_given = true;
        break;
    case 'd': o->seconds = parse_number(arg, "duration", 0.001, 86400); break;
    case 'l': o->linger_ms = checked_number(arg, "linger.ms", 0, 900000); break;
    case 'B': o->batch_size = checked_number(arg, "batch.size", 1, INT_MAX); break;
    case 'm': o->batch_num = checked_number(arg, "batch.num.messages", 1, 1000000); break;
    case 'w': o->rewind = true; break;
    case 'T': o->timeout_s = (int)parse_number(arg, "timeout", 1, 86400); break;
    case 'o': o->timestamp = (int64_t)parse_number(arg, "timestamp", 0, 9e15); break;
    case 'X':
        if (o->nprops == KBPERF_MAX_PROPS) {
            fprintf(stderr, "kbperf: more than %d -X options\n", KBPERF_MAX_PROPS);
            exit(2);
        }
        o->props[o->nprops++] = arg;
        break;
    default: usage();
    }
}

static void parse_args(perf_opts_t *o, int argc, char **argv)
{
    bool rate_given = false;
    int opt;
    if (argc < 2)
        usage();
    parse_mode(o, argv[1]);
    optind = 2;
    while ((opt = getopt(argc, argv, "b:t:g:n:s:a:p:z:r:d:l:B:m:wT:X:o:")) != -1)
        parse_option(o, opt, optarg, &rate_given);
    if (optind != argc || !o->bootstrap)
        usage();
    if (o->mode == MODE_LATENCY) {
        if (!rate_given)
            o->rate = 10000;
        if (o->rate <= 0 || o->size < STAMP_LEN) {
            fprintf(stderr, "kbperf: latency needs -r > 0 and -s >= %d\n", STAMP_LEN);
            exit(2);
        }
    }
}

int main(int argc, char **argv)
{
    perf_opts_t o = {
        .topic = "perf",
        .acks = "1",
        .codec = "none",
        .count = 1000000,
        .size = 100,
        .seconds = 10,
        .timeout_s = 120,
    };
    parse_args(&o, argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    switch (o.mode) {
    case MODE_PRODUCE: return run_produce(&o);
    case MODE_CONSUME: return run_consume(&o);
    case MODE_GROUP: return run_group(&o);
    case MODE_LATENCY: return run_latency(&o);
    case MODE_TIMES: return run_times(&o);
    }
    return 2;
}
