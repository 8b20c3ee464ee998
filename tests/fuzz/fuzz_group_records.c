/*
 * fuzz_group_records.c - the __consumer_offsets record formats
 * (proto/kp_group_records.c), the record iterator the coordinator reads
 * them with (proto/kp_record_iter.c) and the batch builder it writes them
 * with (proto/kp_batch_build.c).
 *
 * Every input goes through every decoder: as a record key, as an
 * OffsetCommitValue, as a GroupMetadataValue and as a record batch (as
 * given, then with batch_length, magic and codec set so that the fuzzer
 * reaches the records without finding them itself).  So the seeds are
 * simply keys, values and batches (tests/fuzz/seed_fixtures.py copies the
 * unit fixtures of test_group_records.c).
 *
 * Promises checked besides memory safety: every slice lies inside the
 * input; a decoder's verdict agrees with its reader (0 exactly when every
 * byte was read); a decoded value encodes again and decodes to the same
 * fields; the iterator yields at most records_count records, exactly that
 * many when it ends well, and a batch it reads to the end also passes
 * kp_records_walk; the input cut into records builds a batch that the
 * iterator reads back unchanged.
 */
#include "proto/kp_batch.h"
#include "proto/kp_batch_build.h"
#include "proto/kp_group_records.h"
#include "proto/kp_record_iter.h"
#include "proto/kp_records.h"
#include "tests/fuzz/fuzz.h"

#define MAX_BUILT_RECORDS 16

static void fz_bytes(const fz_input_t *in, kp_bytes_t b) { fz_slice(in, b.ptr, b.len); }

static bool same_str(kp_str_t a, kp_str_t b) {
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

/* A decoder's verdict: 0 exactly when its reader consumed everything. */
static void verdict(const kp_reader_t *r, int rc) {
    FZ_CHECK(rc <= 0);
    FZ_CHECK((rc == 0) == (r->err == KP_BUF_OK));
    if (rc == 0) FZ_CHECK(kp_reader_left(r) == 0);
}

static void key(const fz_input_t *in) {
    kp_reader_t r;
    kp_group_key_t k;

    kp_reader_init(&r, in->p, in->n);
    int rc = kp_group_key_decode(&r, &k);
    if (rc == KP_GROUP_KEY_UNKNOWN_VERSION) {
        FZ_CHECK(k.type == KP_GROUP_KEY_UNKNOWN && (k.version < 0 || k.version > 2));
        return;
    }
    verdict(&r, rc);
    if (rc != 0) return;
    FZ_CHECK(k.type == (k.version == 2 ? KP_GROUP_KEY_GROUP_METADATA : KP_GROUP_KEY_OFFSET_COMMIT));
    fz_str(in, k.group);
    fz_str(in, k.topic);
}

static void offset_value(const fz_input_t *in) {
    kp_reader_t r;
    kp_offset_commit_value_t v, again;
    kp_writer_t w;

    kp_reader_init(&r, in->p, in->n);
    int rc = kp_offset_commit_value_decode(&r, &v);
    verdict(&r, rc);
    if (rc != 0) return;
    FZ_CHECK(v.version >= 0 && v.version <= 3);
    fz_str(in, v.metadata);
    kp_writer_init(&w);
    FZ_CHECK(kp_offset_commit_value_encode(&w, &v) == 0);
    kp_reader_init(&r, w.buf, w.len);
    FZ_CHECK(kp_offset_commit_value_decode(&r, &again) == 0);
    FZ_CHECK(again.version == kp_offset_commit_value_version(&v));
    FZ_CHECK(again.offset == v.offset && again.commit_timestamp == v.commit_timestamp);
    FZ_CHECK(again.expire_timestamp == v.expire_timestamp);
    FZ_CHECK(again.version == 1 || again.leader_epoch == v.leader_epoch);
    FZ_CHECK(same_str(again.metadata, v.metadata));
    kp_writer_free(&w);
}

static void same_members(const kp_group_metadata_member_t *a, const kp_group_metadata_member_t *b) {
    FZ_CHECK(same_str(a->member_id, b->member_id) && same_str(a->group_instance_id, b->group_instance_id));
    FZ_CHECK(same_str(a->client_id, b->client_id) && same_str(a->client_host, b->client_host));
    FZ_CHECK(a->rebalance_timeout == b->rebalance_timeout && a->session_timeout == b->session_timeout);
    FZ_CHECK(a->subscription.len == b->subscription.len && a->assignment.len == b->assignment.len);
}

static void group_again(const kp_group_metadata_value_t *v) {
    kp_group_metadata_value_t again;
    kp_writer_t w;
    kp_reader_t r;

    kp_writer_init(&w);
    FZ_CHECK(kp_group_metadata_value_encode(&w, v) == 0);
    kp_reader_init(&r, w.buf, w.len);
    FZ_CHECK(kp_group_metadata_value_decode(&r, &again) == 0);
    FZ_CHECK(again.version == 3 && again.n_members == v->n_members && again.generation == v->generation);
    FZ_CHECK(same_str(again.protocol_type, v->protocol_type) && same_str(again.protocol, v->protocol));
    FZ_CHECK(same_str(again.leader, v->leader));
    FZ_CHECK(again.current_state_timestamp == v->current_state_timestamp);
    for (int32_t i = 0; i < v->n_members; i++) same_members(&again.members[i], &v->members[i]);
    kp_group_metadata_value_clear(&again);
    kp_writer_free(&w);
}

static void group_value(const fz_input_t *in) {
    kp_reader_t r;
    kp_group_metadata_value_t v;

    kp_reader_init(&r, in->p, in->n);
    int rc = kp_group_metadata_value_decode(&r, &v);
    verdict(&r, rc);
    if (rc == 0) {
        fz_array(v.members, v.n_members, sizeof(*v.members));
        fz_str(in, v.protocol_type);
        fz_str(in, v.protocol);
        fz_str(in, v.leader);
        for (int32_t i = 0; i < v.n_members; i++) {
            const kp_group_metadata_member_t *m = &v.members[i];
            fz_str(in, m->member_id);
            fz_str(in, m->group_instance_id);
            fz_str(in, m->client_id);
            fz_str(in, m->client_host);
            fz_bytes(in, m->subscription);
            fz_bytes(in, m->assignment);
        }
        group_again(&v);
    }
    kp_group_metadata_value_clear(&v);
}

/* Iterates the batch at p; every record's slices lie inside it. */
static void records(const uint8_t *p, size_t n) {
    const fz_input_t in = {p, n};
    kp_record_iter_t it;
    kp_record_t rec;
    int64_t seen = 0;
    int rc = kp_record_iter_init(&it, p, n);

    FZ_CHECK(rc == KP_ITER_END || rc == KP_ITER_CORRUPT || rc == KP_ITER_COMPRESSED);
    while ((rc = kp_record_iter_next(&it, &rec)) == KP_ITER_RECORD) {
        fz_bytes(&in, rec.key);
        fz_bytes(&in, rec.value);
        FZ_CHECK(++seen <= it.header.records_count);
    }
    FZ_CHECK(kp_record_iter_next(&it, &rec) == rc);
    if (rc != KP_ITER_END) return;
    FZ_CHECK(seen == it.header.records_count);
    FZ_CHECK(kp_records_walk(p, n, 0, NULL, NULL, NULL) == KP_WALK_END);
}

/* batch_length := n - 12, magic 2, no codec: the records are reached. */
static void records_fixed(uint8_t *p, size_t n) {
    if (n < KP_BATCH_HEADER_SIZE || n - KP_LOG_OVERHEAD > INT32_MAX) return;
    kp_put_be(p + KP_BATCH_OFF_LENGTH, n - KP_LOG_OVERHEAD, 4);
    p[KP_BATCH_OFF_MAGIC] = KP_BATCH_MAGIC;
    p[KP_BATCH_OFF_ATTRIBUTES + 1] &= (uint8_t)~KP_ATTR_CODEC_MASK;
    records(p, n);
}

/* Cuts the input into records: each takes a length byte (bit 7: null
 * value, bit 6: null key), then a key and a value of up to 63 bytes. */
static int32_t cut_records(const uint8_t *p, size_t n, kp_batch_record_t *out) {
    int32_t count = 0;

    while (n > 0 && count < MAX_BUILT_RECORDS) {
        uint8_t b = *p++;
        size_t len = b & 0x3f;
        n--;
        len = len < n ? len : n;
        size_t half = len / 2;
        out[count].key = b & 0x40 ? (kp_bytes_t){KP_NULL_LEN, NULL} : (kp_bytes_t){(int32_t)half, p};
        out[count].value = b & 0x80 ? (kp_bytes_t){KP_NULL_LEN, NULL} : (kp_bytes_t){(int32_t)(len - half), p + half};
        count++;
        p += len;
        n -= len;
    }
    return count;
}

static bool same_bytes(kp_bytes_t a, kp_bytes_t b) {
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static void build_and_read_back(const uint8_t *p, size_t n) {
    kp_batch_record_t in[MAX_BUILT_RECORDS];
    int32_t count = cut_records(p, n, in);
    kp_record_iter_t it;
    kp_record_t rec;
    kp_batch_header_t h;
    kp_writer_t w;

    if (count == 0) return;
    kp_writer_init(&w);
    FZ_CHECK(kp_batch_build(&w, in, count, 1700000000000) == 0);
    FZ_CHECK(kp_batch_header_decode(w.buf, w.len, &h) == 0 && kp_batch_crc_ok(w.buf, &h));
    FZ_CHECK(kp_record_iter_init(&it, w.buf, w.len) == KP_ITER_END);
    for (int32_t i = 0; i < count; i++) {
        FZ_CHECK(kp_record_iter_next(&it, &rec) == KP_ITER_RECORD && rec.offset == i);
        FZ_CHECK(same_bytes(rec.key, in[i].key) && same_bytes(rec.value, in[i].value));
    }
    FZ_CHECK(kp_record_iter_next(&it, &rec) == KP_ITER_END);
    kp_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A copy of exactly size bytes so ASan knows where the input ends. */
    uint8_t *p = malloc(size ? size : 1);
    if (!p) return 0;
    memcpy(p, data, size);
    const fz_input_t in = {p, size};
    key(&in);
    offset_value(&in);
    group_value(&in);
    records(p, size);
    build_and_read_back(p, size);
    records_fixed(p, size);
    free(p);
    return 0;
}
