/*
 * kbmock.c - librdkafka's in-memory mock cluster as a process of its own,
 * the peer that tests/bench/compare.sh measures kbroker against.
 *
 *   kbmock [-b BROKERS] [-t TOPIC] [-p PARTITIONS] [-r RF]
 *
 * Creates a cluster of BROKERS (default 1) mock brokers on 127.0.0.1 with
 * the topic TOPIC (default perf, PARTITIONS default 1, RF default 1), writes
 * the bootstrap list ("127.0.0.1:PORT,...") as the only line on stdout, and
 * serves until SIGINT or SIGTERM.  Exit status 0 after a signal, 1 if the
 * cluster could not be made, 2 on bad usage.
 *
 * Only the public API of <librdkafka/rdkafka_mock.h> is used.  What the
 * mock is, and is not, matters when reading the figures: every mock broker
 * runs on one librdkafka thread, data lives in memory (about 5 MiB a
 * partition is kept, older batches are dropped), acks and replication cost
 * nothing (RF shapes only the metadata), and an empty Fetch is held for the
 * client's whole fetch.wait.max.ms.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

typedef struct {
    int brokers, partitions, rf;
    const char *topic;
} mock_opts_t;

static int parse_count(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 10000) {
        fprintf(stderr, "kbmock: bad %s: %s\n", what, s);
        exit(2);
    }
    return (int)v;
}

static void parse_args(mock_opts_t *o, int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "b:t:p:r:")) != -1) {
        switch (opt) {
        case 'b': o->brokers = parse_count(optarg, "broker count"); break;
        case 't': o->topic = optarg; break;
        case 'p': o->partitions = parse_count(optarg, "partition count"); break;
        case 'r': o->rf = parse_count(optarg, "replication factor"); break;
        default:
            fprintf(stderr, "usage: kbmock [-b BROKERS] [-t TOPIC] [-p PARTITIONS] [-r RF]\n");
            exit(2);
        }
    }
    if (optind != argc || o->rf > o->brokers) {
        fprintf(stderr, "kbmock: extra arguments, or RF %d above %d brokers\n", o->rf, o->brokers);
        exit(2);
    }
}

/* The mock cluster needs a client handle to live on; this producer has no
 * bootstrap servers, so it never connects anywhere itself. */
static rd_kafka_t *host_client(void)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kbmock: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        fprintf(stderr, "kbmock: rd_kafka_new: %s\n", err);
    return rk;
}

int main(int argc, char **argv)
{
    mock_opts_t o = {.brokers = 1, .partitions = 1, .rf = 1, .topic = "perf"};
    parse_args(&o, argc, argv);

    /* Block the stop signals before librdkafka starts threads: they inherit
     * the mask, so the signals stay pending for sigwait() here. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    rd_kafka_t *rk = host_client();
    rd_kafka_mock_cluster_t *mc = rk ? rd_kafka_mock_cluster_new(rk, o.brokers) : NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__FAIL;
    if (mc)
        err = rd_kafka_mock_topic_create(mc, o.topic, o.partitions, o.rf);
    if (err) {
        fprintf(stderr, "kbmock: could not create the cluster or topic %s: %s\n", o.topic, rd_kafka_err2str(err));
        if (mc)
            rd_kafka_mock_cluster_destroy(mc);
        if (rk)
            rd_kafka_destroy(rk);
        return 1;
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
