/*
 * kp_group_records.c - __consumer_offsets keys and values (see
 * kp_group_records.h; group-protocol.md 7.2-7.5) and the group id hash of
 * section 3.1.
 *
 * The field orders are Kafka's GroupMetadataManager schemas.  The hash has
 * to agree with Kafka's for every group id a client may send, including
 * ids that are not valid UTF-8: Kafka decodes the id to a Java String
 * first, so the UTF-8 decoding below reproduces OpenJDK's replacement rules
 * (checked against OpenJDK 17's new String(bytes, UTF_8)).
 */
#include "proto/kp_group_records.h"

#include <stdbool.h>
#include <stdlib.h>

/* Smallest member on the wire per value version: four empty strings (two
 * bytes each), the timeouts and two empty blobs; v3 adds a null
 * group_instance_id, v1 the rebalance timeout. */
#define MEMBER_MIN_SIZE_V0 (3 * 2 + 4 + 2 * 4)
#define MEMBER_MIN_SIZE_V1 (MEMBER_MIN_SIZE_V0 + 4)
#define MEMBER_MIN_SIZE_V3 (MEMBER_MIN_SIZE_V1 + 2)


/* ------------------------------------------------------------------ keys */

int kp_group_key_decode(kp_reader_t *r, kp_group_key_t *k) {
    k->type = KP_GROUP_KEY_UNKNOWN;
    k->group = k->topic = KP_STR_NULL;
    k->partition = -1;
    k->version = kp_read_int16(r);
    if (r->err) return r->err;
    if (k->version < 0 || k->version > KP_GROUP_METADATA_KEY_VERSION) return KP_GROUP_KEY_UNKNOWN_VERSION;
    k->group = kp_read_string(r);
    if (k->version == KP_GROUP_METADATA_KEY_VERSION) {
        k->type = KP_GROUP_KEY_GROUP_METADATA;
    } else {
        k->type = KP_GROUP_KEY_OFFSET_COMMIT;
        k->topic = kp_read_string(r);
        k->partition = kp_read_int32(r);
    }
    return kp_reader_expect_end(r);
}

int kp_offset_commit_key_encode(kp_writer_t *w, kp_str_t group, kp_str_t topic, int32_t partition) {
    kp_write_int16(w, KP_OFFSET_COMMIT_KEY_VERSION);
    kp_write_str(w, kp_str_nonnull(group));
    kp_write_str(w, kp_str_nonnull(topic));
    kp_write_int32(w, partition);
    return w->err;
}

int kp_group_metadata_key_encode(kp_writer_t *w, kp_str_t group) {
    kp_write_int16(w, KP_GROUP_METADATA_KEY_VERSION);
    kp_write_str(w, kp_str_nonnull(group));
    return w->err;
}

/* ------------------------------------------------- OffsetCommitValue 0-3 */

int kp_offset_commit_value_decode(kp_reader_t *r, kp_offset_commit_value_t *v) {
    v->leader_epoch = KP_GROUP_RECORD_NONE;
    v->expire_timestamp = KP_GROUP_RECORD_NONE;
    v->metadata = KP_STR_NULL;
    v->offset = v->commit_timestamp = 0;
    v->version = kp_read_int16(r);
    if (!r->err && (v->version < 0 || v->version > KP_OFFSET_COMMIT_VALUE_VERSION_MAX))
        kp_reader_fail(r, KP_BUF_INVALID);
    v->offset = kp_read_int64(r);
    if (v->version == 3) v->leader_epoch = kp_read_int32(r);
    v->metadata = kp_read_string(r);
    v->commit_timestamp = kp_read_int64(r);
    if (v->version == 1) v->expire_timestamp = kp_read_int64(r);
    return kp_reader_expect_end(r);
}

int16_t kp_offset_commit_value_version(const kp_offset_commit_value_t *v) {
    return v->expire_timestamp != KP_GROUP_RECORD_NONE ? 1 : 3;
}

int kp_offset_commit_value_encode(kp_writer_t *w, const kp_offset_commit_value_t *v) {
    int16_t version = kp_offset_commit_value_version(v);

    kp_write_int16(w, version);
    kp_write_int64(w, v->offset);
    if (version == 3) kp_write_int32(w, v->leader_epoch);
    kp_write_str(w, kp_str_nonnull(v->metadata));
    kp_write_int64(w, v->commit_timestamp);
    if (version == 1) kp_write_int64(w, v->expire_timestamp);
    return w->err;
}

/* ------------------------------------------------ GroupMetadataValue 0-3 */

static size_t member_min_size(int16_t version) {
    if (version >= 3) return MEMBER_MIN_SIZE_V3;
    return version >= 1 ? MEMBER_MIN_SIZE_V1 : MEMBER_MIN_SIZE_V0;
}

static void decode_member(kp_reader_t *r, int16_t version, kp_group_metadata_member_t *m) {
    m->member_id = kp_read_string(r);
    m->group_instance_id = version >= 3 ? kp_read_nullable_string(r) : KP_STR_NULL;
    m->client_id = kp_read_string(r);
    m->client_host = kp_read_string(r);
    m->rebalance_timeout = version >= 1 ? kp_read_int32(r) : 0;
    m->session_timeout = kp_read_int32(r);
    /* A v0 member has one timeout for both (section 7.5). */
    if (version == 0) m->rebalance_timeout = m->session_timeout;
    m->subscription = kp_read_bytes(r);
    m->assignment = kp_read_bytes(r);
}

static void decode_members(kp_reader_t *r, kp_group_metadata_value_t *v) {
    int32_t n = kp_read_array_count(r, member_min_size(v->version));

    if (r->err || n == 0) return;
    v->members = calloc((size_t)n, sizeof(*v->members));
    if (!v->members) {
        kp_reader_fail(r, KP_BUF_NOMEM);
        return;
    }
    v->n_members = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_member(r, v->version, &v->members[i]);
}

int kp_group_metadata_value_decode(kp_reader_t *r, kp_group_metadata_value_t *v) {
    v->n_members = 0;
    v->members = NULL;
    v->protocol_type = v->protocol = v->leader = KP_STR_NULL;
    v->generation = 0;
    v->current_state_timestamp = KP_GROUP_RECORD_NONE;
    v->version = kp_read_int16(r);
    if (!r->err && (v->version < 0 || v->version > KP_GROUP_METADATA_VALUE_VERSION_MAX))
        kp_reader_fail(r, KP_BUF_INVALID);
    v->protocol_type = kp_read_string(r);
    v->generation = kp_read_int32(r);
    v->protocol = kp_read_nullable_string(r);
    v->leader = kp_read_nullable_string(r);
    if (v->version >= 2) v->current_state_timestamp = kp_read_int64(r);
    decode_members(r, v);
    return kp_reader_expect_end(r);
}

void kp_group_metadata_value_clear(kp_group_metadata_value_t *v) {
    free(v->members);
    v->members = NULL;
    v->n_members = 0;
}

static void encode_member(kp_writer_t *w, const kp_group_metadata_member_t *m) {
    kp_write_str(w, kp_str_nonnull(m->member_id));
    kp_write_str(w, m->group_instance_id);
    kp_write_str(w, kp_str_nonnull(m->client_id));
    kp_write_str(w, kp_str_nonnull(m->client_host));
    kp_write_int32(w, m->rebalance_timeout);
    kp_write_int32(w, m->session_timeout);
    kp_write_bytes(w, kp_bytes_nonnull(m->subscription));
    kp_write_bytes(w, kp_bytes_nonnull(m->assignment));
}

int kp_group_metadata_value_encode(kp_writer_t *w, const kp_group_metadata_value_t *v) {
    int32_t n = v->n_members < 0 ? 0 : v->n_members;

    kp_write_int16(w, KP_GROUP_METADATA_VALUE_VERSION_MAX);
    kp_write_str(w, kp_str_nonnull(v->protocol_type));
    kp_write_int32(w, v->generation);
    kp_write_str(w, v->protocol);
    kp_write_str(w, v->leader);
    kp_write_int64(w, v->current_state_timestamp);
    kp_write_array_count(w, n);
    for (int32_t i = 0; i < n; i++) encode_member(w, &v->members[i]);
    return w->err;
}

/* ------------------------------------------------------ group id -> hash */

#define REPLACEMENT 0xFFFD

static bool is_cont(uint8_t b) { return (b & 0xC0) == 0x80; }

/* The second byte a three-byte lead allows without being malformed at
 * once: any continuation, but E0 needs A0..BF (shorter forms are
 * overlong).  Encoded surrogates (ED A0..BF) pass here: OpenJDK replaces
 * them only once the whole sequence is read. */
static bool second_of_3_ok(uint8_t b1, uint8_t b2) { return is_cont(b2) && !(b1 == 0xE0 && b2 < 0xA0); }

/* The same for a four-byte lead F0..F4: F0 needs 90..BF (shorter forms are
 * overlong), F4 needs 80..8F (beyond U+10FFFF). */
static bool second_of_4_ok(uint8_t b1, uint8_t b2) {
    if (!is_cont(b2)) return false;
    if (b1 == 0xF0) return b2 >= 0x90;
    if (b1 == 0xF4) return b2 < 0x90;
    return b1 < 0xF4;
}

/* One UTF-8 sequence at p[0, n), n >= 1: its UTF-16 code units in u[]
 * (returns how many, 1 or 2) and the bytes it takes in *used.  A
 * malformed sequence yields one U+FFFD and takes its longest prefix that
 * could still have started a valid sequence (at least its lead byte); a
 * sequence cut by the end of the input takes what is left. */
static int utf8_step(const uint8_t *p, size_t n, uint16_t u[2], size_t *used) {
    uint8_t b1 = p[0];

    *used = 1;
    u[0] = REPLACEMENT;
    if (b1 < 0x80) {
        u[0] = b1;
    } else if (b1 >= 0xC2 && b1 <= 0xDF) {
        if (n >= 2 && is_cont(p[1])) {
            u[0] = (uint16_t)((b1 & 0x1F) << 6 | (p[1] & 0x3F));
            *used = 2;
        }
    } else if (b1 >= 0xE0 && b1 <= 0xEF) {
        if (n < 2 || !second_of_3_ok(b1, p[1])) return 1;
        *used = n < 3 ? n : 2;
        if (n < 3 || !is_cont(p[2])) return 1;
        *used = 3;
        uint16_t c = (uint16_t)((b1 & 0x0F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F));
        if (c < 0xD800 || c > 0xDFFF) u[0] = c;
    } else if (b1 >= 0xF0 && b1 <= 0xF4) {
        if (n < 2 || !second_of_4_ok(b1, p[1])) return 1;
        *used = n < 3 ? n : 2;
        if (n < 3 || !is_cont(p[2])) return 1;
        *used = n < 4 ? n : 3;
        if (n < 4 || !is_cont(p[3])) return 1;
        uint32_t cp = (uint32_t)(b1 & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 | (uint32_t)(p[2] & 0x3F) << 6 |
                      (p[3] & 0x3F);
        cp -= 0x10000;
        u[0] = (uint16_t)(0xD800 | cp >> 10);
        u[1] = (uint16_t)(0xDC00 | (cp & 0x3FF));
        *used = 4;
        return 2;
    }
    return 1;
}

int32_t kp_group_hash(const char *group, size_t len) {
    const uint8_t *p = (const uint8_t *)group;
    uint32_t h = 0;
    size_t used;
    uint16_t u[2];

    while (len > 0) {
        int units = utf8_step(p, len, u, &used);
        for (int i = 0; i < units; i++) h = 31u * h + u[i];
        p += used;
        len -= used;
    }
    return (int32_t)h;
}

int32_t kp_group_partition(const char *group, size_t len, int32_t n_partitions) {
    int32_t h = kp_group_hash(group, len);

    if (n_partitions <= 0) return -1;
    /* Kafka's Utils.abs maps INT32_MIN to 0 rather than overflowing. */
    if (h == INT32_MIN) return 0;
    return (h < 0 ? -h : h) % n_partitions;
}
