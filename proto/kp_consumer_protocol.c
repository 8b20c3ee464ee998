/*
 * kp_consumer_protocol.c - ConsumerProtocolSubscription and
 * ConsumerProtocolAssignment prefixes (Kafka's ConsumerProtocol; the layouts
 * of group-protocol.md 5.1 and 5.2).  These blobs are never flexible: they
 * use the classic int16 strings and int32 counts whatever their version.
 */
#include "proto/kp_consumer_protocol.h"

#include <stdlib.h>

/* Smallest elements: a topic name is an empty string (2 bytes), an
 * assignment entry an empty name and an empty partition array (6). */
#define TOPIC_NAME_MIN_SIZE 2
#define ASSIGNED_TOPIC_MIN_SIZE 6
#define PARTITION_SIZE 4

/* The version prefix; Kafka refuses a negative one as unsupported. */
static int16_t read_version(kp_reader_t *r) {
    int16_t v = kp_read_int16(r);

    if (v < 0) kp_reader_fail(r, KP_BUF_INVALID);
    return v;
}

int kp_consumer_subscription_decode(kp_bytes_t b, kp_consumer_subscription_t *sub) {
    kp_reader_t r;
    int32_t n;

    *sub = (kp_consumer_subscription_t){0};
    kp_reader_init(&r, b.ptr, b.len > 0 ? (size_t)b.len : 0);
    sub->version = read_version(&r);
    n = kp_read_array_count(&r, TOPIC_NAME_MIN_SIZE);
    sub->topics = kp_reader_calloc(&r, n, sizeof(*sub->topics));
    if (!r.err) sub->n_topics = n;
    for (int32_t i = 0; i < sub->n_topics; i++) sub->topics[i] = kp_read_string(&r);
    return r.err;
}

void kp_consumer_subscription_clear(kp_consumer_subscription_t *sub) {
    free(sub->topics);
    *sub = (kp_consumer_subscription_t){0};
}

static void decode_assigned_topic(kp_reader_t *r, kp_consumer_assignment_topic_t *t) {
    int32_t n;

    t->topic = kp_read_string(r);
    n = kp_read_array_count(r, PARTITION_SIZE);
    t->partitions = kp_reader_calloc(r, n, sizeof(*t->partitions));
    if (r->err) return;
    t->n_partitions = n;
    for (int32_t i = 0; i < n; i++) t->partitions[i] = kp_read_int32(r);
}

int kp_consumer_assignment_decode(kp_bytes_t b, kp_consumer_assignment_t *a) {
    kp_reader_t r;
    int32_t n;

    *a = (kp_consumer_assignment_t){.user_data = {KP_NULL_LEN, NULL}};
    if (b.len <= 0) return KP_BUF_OK;
    kp_reader_init(&r, b.ptr, (size_t)b.len);
    a->version = read_version(&r);
    n = kp_read_array_count(&r, ASSIGNED_TOPIC_MIN_SIZE);
    a->assigned_partitions = kp_reader_calloc(&r, n, sizeof(*a->assigned_partitions));
    if (!r.err) a->n_assigned_partitions = n;
    for (int32_t i = 0; i < a->n_assigned_partitions && !r.err; i++)
        decode_assigned_topic(&r, &a->assigned_partitions[i]);
    return r.err;
}

void kp_consumer_assignment_clear(kp_consumer_assignment_t *a) {
    for (int32_t i = 0; i < a->n_assigned_partitions; i++) free(a->assigned_partitions[i].partitions);
    free(a->assigned_partitions);
    *a = (kp_consumer_assignment_t){.user_data = {KP_NULL_LEN, NULL}};
}

int kp_consumer_assignment_encode(kp_writer_t *w, const kp_consumer_assignment_t *a) {
    int32_t n = a->n_assigned_partitions > 0 ? a->n_assigned_partitions : 0;

    if (a->version < 0) return KP_BUF_INVALID;
    kp_write_int16(w, a->version);
    kp_write_array_count(w, n);
    for (int32_t i = 0; i < n; i++) {
        const kp_consumer_assignment_topic_t *t = &a->assigned_partitions[i];
        kp_write_str(w, t->topic.len < 0 ? kp_str_c("") : t->topic);
        kp_write_int32_array_flex(w, false, t->partitions, t->n_partitions > 0 ? t->n_partitions : 0);
    }
    kp_write_bytes(w, a->user_data);
    return w->err;
}
