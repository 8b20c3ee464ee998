/*
 * kp_offsets.c - OffsetCommit and OffsetFetch codecs (Kafka's
 * OffsetCommitRequest/Response schemas v0-7 and OffsetFetchRequest/Response
 * v0-5; group-protocol.md 2.6 and 2.7).  Pure byte work: what a commit or
 * a fetch means is the group coordinator's business.
 *
 * Both APIs grow fields version by version, so every field read or written
 * below sits behind the version test of the table it comes from.  The
 * minimum element sizes follow the same tests, so that an array count is
 * capped by the bytes the smallest possible elements of that very version
 * would take.
 */
#include "proto/kp_offsets.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* A topic entry at its smallest: an empty name and an empty array, i.e.
 * 2 + 4 bytes, or (compact) 1 + 1 and a tag byte. */
#define TOPIC_MIN_SIZE 6
#define TOPIC_MIN_SIZE_FLEX 3
#define INT32_SIZE 4

static bool commit_version_ok(int16_t version) {
    return version >= 0 && version <= KP_OFFSETCOMMIT_VERSION_MAX;
}

static bool fetch_version_ok(int16_t version) {
    return version >= 0 && version <= KP_OFFSETFETCH_VERSION_MAX;
}

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

static size_t topic_min_size(bool flex) { return flex ? TOPIC_MIN_SIZE_FLEX : TOPIC_MIN_SIZE; }

/* ---------------------------------------------------- OffsetCommit request */

/* Index and offset, then the version's optional fields, then the metadata
 * at 2 bytes: an empty or null string's int16 length, or (compact) its one
 * length byte and the partition's tag byte. */
static size_t commit_partition_min_size(int16_t version) {
    size_t n = INT32_SIZE + 8 + 2;

    if (version >= 6) n += INT32_SIZE;
    if (version == 1) n += 8;
    return n;
}

static void decode_commit_partition(kp_reader_t *r, int16_t version, bool flex,
                                    kp_offsetcommit_request_partition_t *p) {
    p->partition_index = kp_read_int32(r);
    p->committed_offset = kp_read_int64(r);
    p->committed_leader_epoch = version >= 6 ? kp_read_int32(r) : KP_NO_LEADER_EPOCH;
    p->commit_timestamp = version == 1 ? kp_read_int64(r) : KP_OFFSETCOMMIT_BROKER_TIME;
    p->committed_metadata = kp_read_nullable_string_flex(r, flex);
    kp_skip_tags_flex(r, flex);
}

static void decode_commit_topic(kp_reader_t *r, int16_t version, bool flex,
                                kp_offsetcommit_request_topic_t *t) {
    int32_t n;

    t->name = kp_read_string_flex(r, flex);
    n = kp_read_array_count_flex(r, flex, commit_partition_min_size(version));
    t->partitions = kp_reader_calloc(r, n, sizeof(*t->partitions));
    if (r->err) return;
    t->n_partitions = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_commit_partition(r, version, flex, &t->partitions[i]);
    kp_skip_tags_flex(r, flex);
}

/* The group fields before the topics; absent ones get their "none". */
static void decode_commit_group(kp_reader_t *r, int16_t version, bool flex, kp_offsetcommit_request_t *req) {
    req->group_id = kp_read_string_flex(r, flex);
    if (version >= 1) {
        req->generation_id = kp_read_int32(r);
        req->member_id = kp_read_string_flex(r, flex);
    }
    if (version >= 7) req->group_instance_id = kp_read_nullable_string_flex(r, flex);
    if (version >= 2 && version <= 4) req->retention_time_ms = kp_read_int64(r);
}

int kp_offsetcommit_request_decode(kp_reader_t *r, int16_t version, kp_offsetcommit_request_t *req) {
    bool flex = kp_is_flexible(version, KP_OFFSETCOMMIT_FLEX_FROM);
    int32_t n;

    *req = (kp_offsetcommit_request_t){0};
    req->generation_id = KP_NO_GENERATION;
    req->member_id = kp_str_c("");
    req->group_instance_id = KP_STR_NULL;
    req->retention_time_ms = KP_OFFSETCOMMIT_DEFAULT_RETENTION;
    if (!commit_version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    decode_commit_group(r, version, flex, req);
    n = kp_read_array_count_flex(r, flex, topic_min_size(flex));
    req->topics = kp_reader_calloc(r, n, sizeof(*req->topics));
    if (!r->err) req->n_topics = n;
    for (int32_t i = 0; i < req->n_topics && !r->err; i++) decode_commit_topic(r, version, flex, &req->topics[i]);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_offsetcommit_request_clear(kp_offsetcommit_request_t *req) {
    for (int32_t i = 0; i < req->n_topics; i++) free(req->topics[i].partitions);
    free(req->topics);
    req->topics = NULL;
    req->n_topics = 0;
}

/* --------------------------------------------------- OffsetCommit response */

static void encode_commit_topic(kp_writer_t *w, bool flex, const kp_offsetcommit_response_topic_t *t) {
    int32_t n = nonneg(t->n_partitions);

    kp_write_str_flex(w, flex, kp_str_nonnull(t->name));
    kp_write_array_count_flex(w, flex, n);
    for (int32_t i = 0; i < n; i++) {
        kp_write_int32(w, t->partitions[i].partition_index);
        kp_write_int16(w, t->partitions[i].error_code);
        kp_write_empty_tags_flex(w, flex);
    }
    kp_write_empty_tags_flex(w, flex);
}

int kp_offsetcommit_response_encode(kp_writer_t *w, int16_t version, const kp_offsetcommit_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_OFFSETCOMMIT_FLEX_FROM);
    int32_t n = nonneg(resp->n_topics);

    if (!commit_version_ok(version)) return KP_BUF_INVALID;
    if (version >= 3) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_array_count_flex(w, flex, n);
    for (int32_t i = 0; i < n; i++) encode_commit_topic(w, flex, &resp->topics[i]);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

/* ----------------------------------------------------- OffsetFetch request */

static void decode_fetch_request_topic(kp_reader_t *r, bool flex, kp_offsetfetch_request_topic_t *t) {
    int32_t n;

    t->name = kp_read_string_flex(r, flex);
    n = kp_read_array_count_flex(r, flex, INT32_SIZE);
    t->partition_indexes = kp_reader_calloc(r, n, sizeof(*t->partition_indexes));
    if (r->err) return;
    t->n_partition_indexes = n;
    for (int32_t i = 0; i < n; i++) t->partition_indexes[i] = kp_read_int32(r);
    kp_skip_tags_flex(r, flex);
}

int kp_offsetfetch_request_decode(kp_reader_t *r, int16_t version, kp_offsetfetch_request_t *req) {
    bool flex = kp_is_flexible(version, KP_OFFSETFETCH_FLEX_FROM);
    int32_t n;

    *req = (kp_offsetfetch_request_t){0};
    if (!fetch_version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    req->group_id = kp_read_string_flex(r, flex);
    /* Null only from v2 on: the plain count refuses -1 below that. */
    if (version >= 2)
        n = kp_read_nullable_array_count_flex(r, flex, topic_min_size(flex));
    else
        n = kp_read_array_count_flex(r, flex, topic_min_size(flex));
    req->topics_null = n < 0;
    req->topics = kp_reader_calloc(r, n, sizeof(*req->topics));
    if (!r->err) req->n_topics = nonneg(n);
    for (int32_t i = 0; i < req->n_topics && !r->err; i++) decode_fetch_request_topic(r, flex, &req->topics[i]);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_offsetfetch_request_clear(kp_offsetfetch_request_t *req) {
    for (int32_t i = 0; i < req->n_topics; i++) free(req->topics[i].partition_indexes);
    free(req->topics);
    *req = (kp_offsetfetch_request_t){0};
}

int kp_offsetfetch_request_encode(kp_writer_t *w, int16_t version, const kp_offsetfetch_request_t *req) {
    bool flex = kp_is_flexible(version, KP_OFFSETFETCH_FLEX_FROM);
    int32_t n = nonneg(req->n_topics);

    if (!fetch_version_ok(version) || (req->topics_null && version < 2)) return KP_BUF_INVALID;
    kp_write_str_flex(w, flex, kp_str_nonnull(req->group_id));
    if (req->topics_null) n = 0;
    kp_write_array_count_flex(w, flex, req->topics_null ? -1 : n);
    for (int32_t i = 0; i < n; i++) {
        const kp_offsetfetch_request_topic_t *t = &req->topics[i];
        kp_write_str_flex(w, flex, kp_str_nonnull(t->name));
        kp_write_int32_array_flex(w, flex, t->partition_indexes, nonneg(t->n_partition_indexes));
        kp_write_empty_tags_flex(w, flex);
    }
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

/* ---------------------------------------------------- OffsetFetch response */

/* Index, offset, the v5 leader epoch, an error code and the metadata at
 * 2 bytes (as for a commit partition above). */
static size_t fetch_partition_min_size(int16_t version) {
    size_t n = INT32_SIZE + 8 + 2 + 2;

    if (version >= 5) n += INT32_SIZE;
    return n;
}

static void encode_fetch_topic(kp_writer_t *w, int16_t version, bool flex, const kp_offsetfetch_response_topic_t *t) {
    int32_t n = nonneg(t->n_partitions);

    kp_write_str_flex(w, flex, kp_str_nonnull(t->name));
    kp_write_array_count_flex(w, flex, n);
    for (int32_t i = 0; i < n; i++) {
        const kp_offsetfetch_response_partition_t *p = &t->partitions[i];
        kp_write_int32(w, p->partition_index);
        kp_write_int64(w, p->committed_offset);
        if (version >= 5) kp_write_int32(w, p->committed_leader_epoch);
        kp_write_str_flex(w, flex, p->metadata);
        kp_write_int16(w, p->error_code);
        kp_write_empty_tags_flex(w, flex);
    }
    kp_write_empty_tags_flex(w, flex);
}

int kp_offsetfetch_response_encode(kp_writer_t *w, int16_t version, const kp_offsetfetch_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_OFFSETFETCH_FLEX_FROM);
    int32_t n = nonneg(resp->n_topics);

    if (!fetch_version_ok(version)) return KP_BUF_INVALID;
    if (version >= 3) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_array_count_flex(w, flex, n);
    for (int32_t i = 0; i < n; i++) encode_fetch_topic(w, version, flex, &resp->topics[i]);
    if (version >= 2) kp_write_int16(w, resp->error_code);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

static void decode_fetch_partition(kp_reader_t *r, int16_t version, bool flex,
                                   kp_offsetfetch_response_partition_t *p) {
    p->partition_index = kp_read_int32(r);
    p->committed_offset = kp_read_int64(r);
    p->committed_leader_epoch = version >= 5 ? kp_read_int32(r) : KP_NO_LEADER_EPOCH;
    p->metadata = kp_read_nullable_string_flex(r, flex);
    p->error_code = kp_read_int16(r);
    kp_skip_tags_flex(r, flex);
}

static void decode_fetch_response_topic(kp_reader_t *r, int16_t version, bool flex,
                                        kp_offsetfetch_response_topic_t *t) {
    int32_t n;

    t->name = kp_read_string_flex(r, flex);
    n = kp_read_array_count_flex(r, flex, fetch_partition_min_size(version));
    t->partitions = kp_reader_calloc(r, n, sizeof(*t->partitions));
    if (r->err) return;
    t->n_partitions = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_fetch_partition(r, version, flex, &t->partitions[i]);
    kp_skip_tags_flex(r, flex);
}

int kp_offsetfetch_response_decode(kp_reader_t *r, int16_t version, kp_offsetfetch_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_OFFSETFETCH_FLEX_FROM);
    int32_t n;

    *resp = (kp_offsetfetch_response_t){0};
    if (!fetch_version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    if (version >= 3) resp->throttle_time_ms = kp_read_int32(r);
    n = kp_read_array_count_flex(r, flex, topic_min_size(flex));
    resp->topics = kp_reader_calloc(r, n, sizeof(*resp->topics));
    if (!r->err) resp->n_topics = n;
    for (int32_t i = 0; i < resp->n_topics && !r->err; i++)
        decode_fetch_response_topic(r, version, flex, &resp->topics[i]);
    if (version >= 2) resp->error_code = kp_read_int16(r);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_offsetfetch_response_clear(kp_offsetfetch_response_t *resp) {
    for (int32_t i = 0; i < resp->n_topics; i++) free(resp->topics[i].partitions);
    free(resp->topics);
    *resp = (kp_offsetfetch_response_t){0};
}
