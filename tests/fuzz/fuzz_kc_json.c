/*
 * fuzz_kc_json.c - the znode JSON decoders of coord/kc_json.c (what any
 * process with write access to ZooKeeper can feed every broker): broker
 * registration, topic assignment, partition state, /controller,
 * /cluster/id, config overrides and the producer-id block.  The first byte
 * picks the decoder; the rest is the znode's data.
 *
 * The topic selector also runs the reassignment checks and the rewrite
 * that adds partitions (kc_json_topic_add_partitions) on the same bytes.
 *
 * Where a broker writes back what it read (a partition state it updates,
 * a topic's assignment or config overrides it rewrites, the producer-id
 * block it advances), a decoded value must survive a round trip: encoding
 * it and decoding the result gives the same value.
 */
#include "coord/kc_json.h"
#include "common/kc_log.h"
#include "tests/fuzz/fuzz.h"

static bool same_str(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static bool same_ints(const int32_t *a, int na, const int32_t *b, int nb) {
    return na == nb && (na == 0 || !memcmp(a, b, (size_t)na * sizeof(*a)));
}

/* A broker only ever encodes its own registration, so no round trip is
 * promised here; what other brokers' registrations must give is endpoints
 * a client can be sent to. */
static void broker(const char *d, size_t n) {
    kc_broker_info_t b = {0};
    if (kc_json_broker_decode(d, n, 7, &b) == 0) {
        FZ_CHECK(b.id == 7);
        fz_array(b.endpoints, b.n_endpoints, sizeof(*b.endpoints));
        for (int i = 0; i < b.n_endpoints; i++) {
            const kc_endpoint_t *e = &b.endpoints[i];
            FZ_CHECK(e->listener && e->host && e->security_protocol);
            FZ_CHECK(e->port >= 0 && e->port <= 65535);
        }
        char *json = kc_json_broker_encode(&b);
        FZ_CHECK(json != NULL);
        free(json);
    }
    kc_broker_info_clear(&b);
}

/* Adding partitions rewrites the topic znode it read, keeping the rest:
 * what it writes must decode with the two partitions more. */
static void topic_grown(const char *d, size_t n, int first) {
    int32_t a[] = {1, 2}, b[] = {2};
    kc_partition_t added[2] = {{.n_replicas = 2, .replicas = a}, {.n_replicas = 1, .replicas = b}};
    kc_topic_t grown = {0};
    char *json = kc_json_topic_add_partitions(d, n, added, 2, first);
    FZ_CHECK(json != NULL);
    FZ_CHECK(kc_json_topic_decode(json, strlen(json), &grown) == 0 && grown.n_partitions == first + 2);
    FZ_CHECK(same_ints(grown.partitions[first].replicas, grown.partitions[first].n_replicas, a, 2));
    free(json);
    kc_topic_clear(&grown);
}

static void topic(const char *d, size_t n) {
    kc_topic_t t = {0}, again = {0};
    (void)kc_json_topic_reassigning(d, n);
    (void)kc_json_reassignment_names_topic(d, n, "t");
    if (kc_json_topic_decode(d, n, &t) == 0) {
        topic_grown(d, n, t.n_partitions);
        fz_array(t.partitions, t.n_partitions, sizeof(*t.partitions));
        char *json = kc_json_topic_encode(&t);
        FZ_CHECK(json != NULL);
        FZ_CHECK(kc_json_topic_decode(json, strlen(json), &again) == 0);
        FZ_CHECK(again.n_partitions == t.n_partitions);
        for (int i = 0; i < t.n_partitions; i++) {
            const kc_partition_t *p = &t.partitions[i], *q = &again.partitions[i];
            FZ_CHECK(same_ints(p->replicas, p->n_replicas, q->replicas, q->n_replicas));
            FZ_CHECK(same_ints(p->adding, p->n_adding, q->adding, q->n_adding));
            FZ_CHECK(same_ints(p->removing, p->n_removing, q->removing, q->n_removing));
            /* A reassignment's lists are replicas of the partition, apart. */
            for (int j = 0; j < p->n_adding; j++)
                FZ_CHECK(kc_int32_contains(p->replicas, p->n_replicas, p->adding[j]) &&
                         !kc_int32_contains(p->removing, p->n_removing, p->adding[j]));
            for (int j = 0; j < p->n_removing; j++)
                FZ_CHECK(kc_int32_contains(p->replicas, p->n_replicas, p->removing[j]));
        }
        free(json);
    }
    kc_topic_clear(&t);
    kc_topic_clear(&again);
}

static void state(const char *d, size_t n) {
    kc_partition_state_t s = {0}, again = {0};
    if (kc_json_state_decode(d, n, &s) == 0) {
        fz_array(s.isr, s.n_isr, sizeof(*s.isr));
        char *json = kc_json_state_encode(&s);
        FZ_CHECK(json != NULL);
        FZ_CHECK(kc_json_state_decode(json, strlen(json), &again) == 0);
        FZ_CHECK(s.leader == again.leader && s.leader_epoch == again.leader_epoch &&
                 s.controller_epoch == again.controller_epoch);
        FZ_CHECK(same_ints(s.isr, s.n_isr, again.isr, again.n_isr));
        free(json);
    }
    kc_partition_state_clear(&s);
    kc_partition_state_clear(&again);
}

static void controller(const char *d, size_t n) {
    int32_t id = -5, again = -5;
    if (kc_json_controller_decode(d, n, &id) == 0) {
        char *json = kc_json_controller_encode(id, 1700000000000);
        FZ_CHECK(json != NULL);
        FZ_CHECK(kc_json_controller_decode(json, strlen(json), &again) == 0 && again == id);
        free(json);
    }
}

static void cluster_id(const char *d, size_t n) {
    char id[64], again[64];
    if (kc_json_cluster_id_decode(d, n, id, sizeof(id)) == 0) {
        FZ_CHECK(memchr(id, '\0', sizeof(id)) != NULL);
        char *json = kc_json_cluster_id_encode(id);
        FZ_CHECK(json != NULL);
        FZ_CHECK(kc_json_cluster_id_decode(json, strlen(json), again, sizeof(again)) == 0 && !strcmp(id, again));
        free(json);
    }
}

static void config(const char *d, size_t n) {
    kc_config_entry_t *e = NULL, *again = NULL;
    int ne = 0, nagain = 0;
    if (kc_json_config_decode(d, n, &e, &ne) == 0) {
        fz_array(e, ne, sizeof(*e));
        char *json = kc_json_config_encode(e, ne);
        FZ_CHECK(json != NULL);
        FZ_CHECK(kc_json_config_decode(json, strlen(json), &again, &nagain) == 0 && nagain == ne);
        for (int i = 0; i < ne; i++) FZ_CHECK(same_str(e[i].key, again[i].key) && same_str(e[i].value, again[i].value));
        free(json);
    }
    kc_config_entries_free(e, ne);
    kc_config_entries_free(again, nagain);
}

static void producer_block(const char *d, size_t n) {
    kc_producer_id_block_t b, again;
    if (kc_json_producer_id_block_decode(d, n, &b) == 0) {
        FZ_CHECK(b.block_start >= 0 && b.block_start <= b.block_end);
        char *json = kc_json_producer_id_block_encode(&b);
        FZ_CHECK(json != NULL);
        FZ_CHECK(kc_json_producer_id_block_decode(json, strlen(json), &again) == 0);
        FZ_CHECK(again.broker == b.broker && again.block_start == b.block_start && again.block_end == b.block_end);
        free(json);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    kc_log_init("fuzz", -1, (kc_log_level_t)(KC_LOG_ERROR + 1));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static void (*const decoders[])(const char *, size_t) = {broker, topic, state, controller,
                                                             cluster_id, config, producer_block};
    if (size < 1) return 0;
    /* An exact-size copy, so a read past the znode's bytes is caught. */
    char *d = malloc(size - 1 ? size - 1 : 1);
    if (!d) return 0;
    memcpy(d, data + 1, size - 1);
    decoders[data[0] % (sizeof(decoders) / sizeof(decoders[0]))](d, size - 1);
    free(d);
    return 0;
}
