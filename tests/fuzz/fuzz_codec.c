/*
 * fuzz_codec.c - decompression of batch payloads (gzip, snappy raw and
 * xerial-framed, lz4 frames, zstd) under an output cap.  The first byte
 * picks the codec; the rest is the compressed payload.
 * Through the streaming kp_inflate_*: pieces of at most KP_INFLATE_CHUNK
 * bytes, a sticky final state, never more than the cap in total.
 */
#include "proto/kp_batch.h"
#include "proto/kp_codec.h"
#include "tests/fuzz/fuzz.h"

#define MAX_OUT (1u << 20)

static void decompress(int codec, const uint8_t *in, size_t n) {
    kp_inflate_t *z = NULL;
    const uint8_t *piece;
    size_t len;
    int rc;
    if (kp_inflate_new(&z, codec, in, n, MAX_OUT) != 0) {
        FZ_CHECK(z == NULL || codec > KP_CODEC_ZSTD);
        if (z) kp_inflate_free(z);
        return;
    }
    while ((rc = kp_inflate_next(z, &piece, &len)) == KP_INFLATE_PIECE) {
        FZ_CHECK(len > 0 && (len <= KP_INFLATE_CHUNK || codec == KP_CODEC_NONE));
        fz_sink ^= piece[0] ^ piece[len - 1];
    }
    FZ_CHECK(rc == KP_INFLATE_END || rc == KP_INFLATE_CORRUPT || rc == KP_INFLATE_TOO_LARGE);
    FZ_CHECK(kp_inflate_next(z, &piece, &len) == rc); /* sticky */
    FZ_CHECK(codec == KP_CODEC_NONE || kp_inflate_total(z) <= MAX_OUT);
    kp_inflate_free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int codec = data[0] % 6; /* 0: none; 5: unknown, refused */
    uint8_t *in = malloc(size - 1 ? size - 1 : 1);
    if (!in) return 0;
    memcpy(in, data + 1, size - 1);
    decompress(codec, in, size - 1);
    free(in);
    return 0;
}
