/*
 * kp_client_reassign.c - client-side AlterPartitionReassignments and
 * ListPartitionReassignments codecs (see kp_client_reassign.h), field for
 * field in the order of Kafka's message schemas: version 0 of each, which
 * is flexible (compact strings and arrays, a tag section closing every
 * struct).  Pure byte work.
 */
#include "proto/kp_client_reassign.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest elements of the answers: a topic is a one-byte name, an empty
 * array and a tag byte; an Alter partition an index, an error code, a
 * null message and a tag byte; a List partition an index, three empty
 * arrays and a tag byte; a broker id four bytes. */
#define TOPIC_MIN_SIZE 3
#define ALTER_PARTITION_MIN_SIZE 8
#define LIST_PARTITION_MIN_SIZE 8
#define ID_SIZE 4

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

/* The answer's top level: throttle, error code and message. */
static void decode_top(kp_reader_t *r, int32_t *throttle, int16_t *error_code, kp_str_t *message) {
    *throttle = kp_read_int32(r);
    *error_code = kp_read_int16(r);
    *message = kp_read_compact_nullable_string(r);
}

/* ---- AlterPartitionReassignments ---- */

int kp_client_alterreassign_request_encode(kp_writer_t *w, int16_t version, const kp_alterreassign_request_t *req) {
    if (version != 0) return kp_writer_fail(w, KP_BUF_INVALID);
    kp_write_int32(w, req->timeout_ms);
    kp_write_compact_array_count(w, nonneg(req->n_topics));
    for (int32_t i = 0; i < req->n_topics; i++) {
        const kp_alterreassign_request_topic_t *t = &req->topics[i];
        kp_write_compact_str(w, kp_str_nonnull(t->name));
        kp_write_compact_array_count(w, nonneg(t->n_partitions));
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const kp_alterreassign_request_partition_t *p = &t->partitions[j];
            kp_write_int32(w, p->partition_index);
            /* A negative count is the schema's null: cancel. */
            kp_write_compact_array_count(w, p->n_replicas < 0 ? -1 : p->n_replicas);
            for (int32_t k = 0; k < p->n_replicas; k++) kp_write_int32(w, p->replicas[k]);
            kp_write_empty_tags(w);
        }
        kp_write_empty_tags(w);
    }
    kp_write_empty_tags(w);
    return w->err;
}

static void decode_alter_topic(kp_reader_t *r, kp_client_alterreassign_topic_t *t) {
    t->name = kp_read_compact_string(r);
    int32_t n = kp_read_compact_array_count(r, ALTER_PARTITION_MIN_SIZE);
    t->partitions = kp_reader_calloc(r, n, sizeof(*t->partitions));
    if (r->err) return;
    t->n_partitions = n;
    for (int32_t i = 0; i < n && !r->err; i++) {
        kp_client_alterreassign_partition_t *p = &t->partitions[i];
        p->partition_index = kp_read_int32(r);
        p->error_code = kp_read_int16(r);
        p->error_message = kp_read_compact_nullable_string(r);
        kp_skip_tags(r);
    }
    kp_skip_tags(r);
}

int kp_client_alterreassign_response_decode(kp_reader_t *r, int16_t version,
                                            kp_client_alterreassign_response_t *resp) {
    *resp = (kp_client_alterreassign_response_t){0};
    if (version != 0) return kp_reader_fail(r, KP_BUF_INVALID);
    decode_top(r, &resp->throttle_time_ms, &resp->error_code, &resp->error_message);
    int32_t n = kp_read_compact_array_count(r, TOPIC_MIN_SIZE);
    resp->responses = kp_reader_calloc(r, n, sizeof(*resp->responses));
    if (!r->err) resp->n_responses = n;
    for (int32_t i = 0; i < resp->n_responses && !r->err; i++) decode_alter_topic(r, &resp->responses[i]);
    kp_skip_tags(r);
    return kp_reader_expect_end(r);
}

void kp_client_alterreassign_response_clear(kp_client_alterreassign_response_t *resp) {
    for (int32_t i = 0; i < resp->n_responses; i++) free(resp->responses[i].partitions);
    free(resp->responses);
    *resp = (kp_client_alterreassign_response_t){0};
}

/* ---- ListPartitionReassignments ---- */

int kp_client_listreassign_request_encode(kp_writer_t *w, int16_t version, const kp_listreassign_request_t *req) {
    if (version != 0) return kp_writer_fail(w, KP_BUF_INVALID);
    kp_write_int32(w, req->timeout_ms);
    kp_write_compact_array_count(w, req->n_topics < 0 ? -1 : req->n_topics);
    for (int32_t i = 0; i < req->n_topics; i++) {
        const kp_listreassign_request_topic_t *t = &req->topics[i];
        kp_write_compact_str(w, kp_str_nonnull(t->name));
        kp_write_int32_array_flex(w, true, t->partition_indexes, nonneg(t->n_partition_indexes));
        kp_write_empty_tags(w);
    }
    kp_write_empty_tags(w);
    return w->err;
}

/* A (non-null) int32 list into an owned array; *n is set only once the
 * array exists. */
static int32_t *decode_ids(kp_reader_t *r, int32_t *n_out) {
    int32_t n = kp_read_compact_array_count(r, ID_SIZE);
    int32_t *ids = kp_reader_calloc(r, n, sizeof(*ids));
    if (r->err) return NULL;
    *n_out = n;
    for (int32_t i = 0; i < n; i++) ids[i] = kp_read_int32(r);
    return ids;
}

static void decode_list_topic(kp_reader_t *r, kp_client_listreassign_topic_t *t) {
    t->name = kp_read_compact_string(r);
    int32_t n = kp_read_compact_array_count(r, LIST_PARTITION_MIN_SIZE);
    t->partitions = kp_reader_calloc(r, n, sizeof(*t->partitions));
    if (r->err) return;
    t->n_partitions = n;
    for (int32_t i = 0; i < n && !r->err; i++) {
        kp_client_listreassign_partition_t *p = &t->partitions[i];
        p->partition_index = kp_read_int32(r);
        p->replicas = decode_ids(r, &p->n_replicas);
        if (!r->err) p->adding = decode_ids(r, &p->n_adding);
        if (!r->err) p->removing = decode_ids(r, &p->n_removing);
        kp_skip_tags(r);
    }
    kp_skip_tags(r);
}

int kp_client_listreassign_response_decode(kp_reader_t *r, int16_t version, kp_client_listreassign_response_t *resp) {
    *resp = (kp_client_listreassign_response_t){0};
    if (version != 0) return kp_reader_fail(r, KP_BUF_INVALID);
    decode_top(r, &resp->throttle_time_ms, &resp->error_code, &resp->error_message);
    int32_t n = kp_read_compact_array_count(r, TOPIC_MIN_SIZE);
    resp->topics = kp_reader_calloc(r, n, sizeof(*resp->topics));
    if (!r->err) resp->n_topics = n;
    for (int32_t i = 0; i < resp->n_topics && !r->err; i++) decode_list_topic(r, &resp->topics[i]);
    kp_skip_tags(r);
    return kp_reader_expect_end(r);
}

void kp_client_listreassign_response_clear(kp_client_listreassign_response_t *resp) {
    for (int32_t i = 0; i < resp->n_topics; i++) {
        for (int32_t j = 0; j < resp->topics[i].n_partitions; j++) {
            kp_client_listreassign_partition_t *p = &resp->topics[i].partitions[j];
            free(p->replicas);
            free(p->adding);
            free(p->removing);
        }
        free(resp->topics[i].partitions);
    }
    free(resp->topics);
    *resp = (kp_client_listreassign_response_t){0};
}
