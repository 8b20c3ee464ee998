/*
 * kp_reassign.c - AlterPartitionReassignments and ListPartitionReassignments
 * request decoding and response encoding (see kp_reassign.h).  Both APIs
 * exist in version 0 only, which is flexible: compact strings and arrays,
 * a tag section after every struct.
 */
#include "proto/kp_reassign.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest elements on the wire (flexible): a topic is an empty name, an
 * empty array and a tag section; a partition an index, a null replica list
 * and a tag section; a replica id four bytes. */
#define TOPIC_MIN_SIZE 3
#define PARTITION_MIN_SIZE 6
#define ID_SIZE 4

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

/* An int32 list (nullable when n_out may be -1) into an owned array; *n
 * is set only once the array exists. */
static int32_t *decode_ids(kp_reader_t *r, bool nullable, int32_t *n_out) {
    int32_t n = nullable ? kp_read_compact_nullable_array_count(r, ID_SIZE) : kp_read_compact_array_count(r, ID_SIZE);
    int32_t *ids = n > 0 ? kp_reader_calloc(r, n, sizeof(*ids)) : NULL;
    *n_out = r->err ? 0 : n;
    if (r->err) return NULL;
    for (int32_t i = 0; i < n; i++) ids[i] = kp_read_int32(r);
    return ids;
}

/* ---- AlterPartitionReassignments ---- */

static void decode_alter_topic(kp_reader_t *r, kp_alterreassign_request_topic_t *t) {
    t->name = kp_read_compact_string(r);
    int32_t n = kp_read_compact_array_count(r, PARTITION_MIN_SIZE);
    t->partitions = kp_reader_calloc(r, n, sizeof(*t->partitions));
    if (r->err) return;
    t->n_partitions = n;
    for (int32_t i = 0; i < n && !r->err; i++) {
        kp_alterreassign_request_partition_t *p = &t->partitions[i];
        p->partition_index = kp_read_int32(r);
        p->replicas = decode_ids(r, true, &p->n_replicas);
        kp_skip_tags(r);
    }
    kp_skip_tags(r);
}

int kp_alterreassign_request_decode(kp_reader_t *r, int16_t version, kp_alterreassign_request_t *req) {
    *req = (kp_alterreassign_request_t){0};
    if (version != 0) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    req->timeout_ms = kp_read_int32(r);
    int32_t n = kp_read_compact_array_count(r, TOPIC_MIN_SIZE);
    req->topics = kp_reader_calloc(r, n, sizeof(*req->topics));
    if (!r->err) req->n_topics = n;
    for (int32_t i = 0; i < req->n_topics && !r->err; i++) decode_alter_topic(r, &req->topics[i]);
    kp_skip_tags(r);
    return kp_reader_expect_end(r);
}

void kp_alterreassign_request_clear(kp_alterreassign_request_t *req) {
    for (int32_t i = 0; i < req->n_topics; i++) {
        for (int32_t j = 0; j < req->topics[i].n_partitions; j++) free(req->topics[i].partitions[j].replicas);
        free(req->topics[i].partitions);
    }
    free(req->topics);
    *req = (kp_alterreassign_request_t){0};
}

int kp_alterreassign_response_encode(kp_writer_t *w, int16_t version, const kp_alterreassign_response_t *resp) {
    if (version != 0) return KP_BUF_INVALID;
    kp_write_int32(w, resp->throttle_time_ms);
    kp_write_int16(w, resp->error_code);
    kp_write_compact_str(w, resp->error_message);
    kp_write_compact_array_count(w, nonneg(resp->n_responses));
    for (int32_t i = 0; i < resp->n_responses; i++) {
        const kp_alterreassign_response_topic_t *t = &resp->responses[i];
        kp_write_compact_str(w, kp_str_nonnull(t->name));
        kp_write_compact_array_count(w, nonneg(t->n_partitions));
        for (int32_t j = 0; j < t->n_partitions; j++) {
            kp_write_int32(w, t->partitions[j].partition_index);
            kp_write_int16(w, t->partitions[j].error_code);
            kp_write_compact_str(w, t->partitions[j].error_message);
            kp_write_empty_tags(w);
        }
        kp_write_empty_tags(w);
    }
    kp_write_empty_tags(w);
    return w->err;
}

/* ---- ListPartitionReassignments ---- */

int kp_listreassign_request_decode(kp_reader_t *r, int16_t version, kp_listreassign_request_t *req) {
    *req = (kp_listreassign_request_t){0};
    if (version != 0) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    req->timeout_ms = kp_read_int32(r);
    int32_t n = kp_read_compact_nullable_array_count(r, TOPIC_MIN_SIZE);
    req->n_topics = n < 0 && !r->err ? -1 : 0;
    req->topics = n > 0 ? kp_reader_calloc(r, n, sizeof(*req->topics)) : NULL;
    if (n > 0 && !r->err) req->n_topics = n;
    for (int32_t i = 0; i < req->n_topics && !r->err; i++) {
        kp_listreassign_request_topic_t *t = &req->topics[i];
        t->name = kp_read_compact_string(r);
        t->partition_indexes = decode_ids(r, false, &t->n_partition_indexes);
        kp_skip_tags(r);
    }
    kp_skip_tags(r);
    return kp_reader_expect_end(r);
}

void kp_listreassign_request_clear(kp_listreassign_request_t *req) {
    for (int32_t i = 0; i < req->n_topics; i++) free(req->topics[i].partition_indexes);
    free(req->topics);
    *req = (kp_listreassign_request_t){0};
}

int kp_listreassign_response_encode(kp_writer_t *w, int16_t version, const kp_listreassign_response_t *resp) {
    if (version != 0) return KP_BUF_INVALID;
    kp_write_int32(w, resp->throttle_time_ms);
    kp_write_int16(w, resp->error_code);
    kp_write_compact_str(w, resp->error_message);
    kp_write_compact_array_count(w, nonneg(resp->n_topics));
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const kp_listreassign_response_topic_t *t = &resp->topics[i];
        kp_write_compact_str(w, kp_str_nonnull(t->name));
        kp_write_compact_array_count(w, nonneg(t->n_partitions));
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const kp_listreassign_response_partition_t *p = &t->partitions[j];
            kp_write_int32(w, p->partition_index);
            kp_write_int32_array_flex(w, true, p->replicas, nonneg(p->n_replicas));
            kp_write_int32_array_flex(w, true, p->adding, nonneg(p->n_adding));
            kp_write_int32_array_flex(w, true, p->removing, nonneg(p->n_removing));
            kp_write_empty_tags(w);
        }
        kp_write_empty_tags(w);
    }
    kp_write_empty_tags(w);
    return w->err;
}
