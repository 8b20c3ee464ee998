/*
 * fuzz_recompress.c - the leader's rebuild of a produced batch with its
 * topic's codec (proto/kp_recompress.c, on kp_compress.c and the record
 * walk): arbitrary bytes as a batch, rebuilt with each of the five codecs,
 * under an inflation cap and two output caps.
 *
 * As in fuzz_batch, each input is fixed up first (batch_length set to its
 * size, the CRC recomputed) so the fuzzer reaches the codecs.  Promises
 * checked: the answer is one of 0, 2, 10, -1 and agrees with
 * kp_batch_validate_records (with room enough for any output, a rebuild
 * fails exactly when the record check does, with the same error); nothing
 * is inflated past the cap nor returned past the output cap; a rebuilt
 * batch scans as a stored batch, carries the target codec, passes the
 * record check, and its records are the original's byte for byte.
 */
#include "proto/kp_batch.h"
#include "proto/kp_codec.h"
#include "proto/kp_recompress.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

#define MAX_INFLATE (1u << 20)
#define ROOMY_OUT (4u << 20) /* more than any codec makes of MAX_INFLATE bytes */
#define TIGHT_OUT 4096

/* The decompressed payload of a whole, valid batch; NULL when it cannot be
 * read within the cap. */
static uint8_t *payload_of(const uint8_t *b, size_t size, size_t *len) {
    kp_batch_header_t h;
    kp_inflate_t *z;
    const uint8_t *piece;
    size_t n;
    uint8_t *out = malloc(MAX_INFLATE + 1);
    int rc;

    *len = 0;
    kp_batch_header_decode(b, size, &h);
    if (!out || kp_inflate_new(&z, kp_batch_codec(&h), b + KP_BATCH_HEADER_SIZE, size - KP_BATCH_HEADER_SIZE,
                               MAX_INFLATE) != 0) {
        free(out);
        return NULL;
    }
    while ((rc = kp_inflate_next(z, &piece, &n)) == KP_INFLATE_PIECE && *len + n <= MAX_INFLATE) {
        memcpy(out + *len, piece, n);
        *len += n;
    }
    kp_inflate_free(z);
    if (rc != KP_INFLATE_END) {
        free(out);
        return NULL;
    }
    return out;
}

static void check_rebuilt(const uint8_t *orig, size_t size, const kp_rebuilt_t *r, int codec, size_t max_out) {
    kp_batch_header_t h;
    size_t scanned, a_len, b_len;

    FZ_CHECK(r->batch && r->size <= max_out);
    /* Whole and with a valid CRC (kp_batch_scan would also judge the
     * original's offsets, which a rebuild copies as they are). */
    FZ_CHECK(kp_batch_header_decode(r->batch, r->size, &h) == 0 && kp_batch_size(&h) == r->size);
    FZ_CHECK(h.magic == KP_BATCH_MAGIC && kp_batch_crc_ok(r->batch, &h));
    if (kp_batch_scan(orig, size, size, &h, &scanned) == KP_SCAN_OK)
        FZ_CHECK(kp_batch_scan(r->batch, r->size, r->size, &h, &scanned) == KP_SCAN_OK && scanned == r->size);
    kp_batch_header_decode(r->batch, r->size, &h);
    FZ_CHECK(kp_batch_codec(&h) == codec);
    FZ_CHECK(memcmp(r->batch + KP_BATCH_OFF_LAST_OFFSET_DELTA, orig + KP_BATCH_OFF_LAST_OFFSET_DELTA,
                    KP_BATCH_HEADER_SIZE - KP_BATCH_OFF_LAST_OFFSET_DELTA) == 0);
    FZ_CHECK(kp_batch_validate_records(r->batch, r->size, MAX_INFLATE, NULL) == 0);
    uint8_t *a = payload_of(orig, size, &a_len), *b = payload_of(r->batch, r->size, &b_len);
    if (a && b) FZ_CHECK(a_len == b_len && memcmp(a, b, a_len) == 0);
    free(a);
    free(b);
}

static void rebuild(const uint8_t *p, size_t n, int codec, size_t max_out, int16_t checked) {
    kp_rebuilt_t r;
    int16_t err = kp_batch_recompress(p, n, codec, MAX_INFLATE, max_out, &r);

    FZ_CHECK(err == 0 || err == 2 || err == 10 || err == -1);
    FZ_CHECK(r.inflated <= MAX_INFLATE);
    if (err != 0) FZ_CHECK(r.batch == NULL);
    if (err == -1 || checked == -1) {
        /* out of memory: no promise about the other answer */
    } else if (max_out == ROOMY_OUT) {
        FZ_CHECK(err == checked);
    } else {
        /* The output cap may stop a rebuild (10) before the walk finds a defect; good records never get 2. */
        FZ_CHECK(checked == 0 ? err != 2 : err == checked || err == 10);
    }
    if (err == 0) check_rebuilt(p, n, &r, codec, max_out);
    free(r.batch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < KP_BATCH_HEADER_SIZE || size - KP_LOG_OVERHEAD > INT32_MAX) return 0;
    uint8_t *p = malloc(size);
    if (!p) return 0;
    memcpy(p, data, size);
    kp_put_be(p + KP_BATCH_OFF_LENGTH, size - KP_LOG_OVERHEAD, 4);
    p[KP_BATCH_OFF_MAGIC] = KP_BATCH_MAGIC;
    kp_put_be(p + KP_BATCH_OFF_CRC, kp_crc32c(0, p + KP_BATCH_OFF_ATTRIBUTES, size - KP_BATCH_OFF_ATTRIBUTES), 4);
    int16_t checked = kp_batch_validate_records(p, size, MAX_INFLATE, NULL);
    for (int codec = KP_CODEC_NONE; codec <= KP_CODEC_ZSTD; codec++) {
        rebuild(p, size, codec, ROOMY_OUT, checked);
        rebuild(p, size, codec, TIGHT_OUT, checked);
    }
    free(p);
    return 0;
}
