/*
 * kp_buf.c - Kafka's primitive encodings (wire-protocol.md 1.4, 1.5) over a
 * sticky-error reader and a growable writer.
 *
 * The reader never allocates and never reads past `end`: each function
 * checks the bytes left first and, on failure, sets the error and returns a
 * zero value without moving the cursor.  Failed string and byte reads return
 * an empty (not null) slice so a caller that forgets to check err still
 * sees a harmless value.  Varints are bounded (5 bytes for 32 bits, 10 for
 * 64) and bits beyond the width are rejected rather than dropped.
 */
#include "proto/kp_buf.h"

#include <stdlib.h>
#include <string.h>

#define KP_WRITER_MIN_CAP 256

static const kp_str_t kp_str_empty = {0, ""};
static const kp_bytes_t kp_bytes_empty = {0, (const uint8_t *)""};

/* ---------------------------------------------------------------- reader */

void kp_reader_init(kp_reader_t *r, const void *buf, size_t len) {
    r->p = buf;
    r->end = r->p + len;
    r->err = KP_BUF_OK;
}

size_t kp_reader_left(const kp_reader_t *r) { return (size_t)(r->end - r->p); }

int kp_reader_fail(kp_reader_t *r, int err) {
    if (!r->err) r->err = err;
    return r->err;
}

void *kp_reader_calloc(kp_reader_t *r, int32_t n, size_t size) {
    void *p = n > 0 ? calloc((size_t)n, size) : NULL;

    if (n > 0 && !p) kp_reader_fail(r, KP_BUF_NOMEM);
    return p;
}

int kp_reader_expect_end(kp_reader_t *r) {
    if (!r->err && r->p != r->end) r->err = KP_BUF_TRAILING;
    return r->err;
}

/* Returns the next n bytes and advances, or NULL when they are not there. */
static const uint8_t *take(kp_reader_t *r, size_t n) {
    const uint8_t *p = r->p;

    if (r->err) return NULL;
    if (n > kp_reader_left(r)) {
        r->err = KP_BUF_SHORT;
        return NULL;
    }
    r->p += n;
    return p;
}

static uint64_t take_be(kp_reader_t *r, size_t n) {
    const uint8_t *p = take(r, n);
    uint64_t v = 0;

    if (!p) return 0;
    for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

int8_t kp_read_int8(kp_reader_t *r) { return (int8_t)take_be(r, 1); }
int16_t kp_read_int16(kp_reader_t *r) { return (int16_t)take_be(r, 2); }
int32_t kp_read_int32(kp_reader_t *r) { return (int32_t)take_be(r, 4); }
int64_t kp_read_int64(kp_reader_t *r) { return (int64_t)take_be(r, 8); }
uint32_t kp_read_uint32(kp_reader_t *r) { return (uint32_t)take_be(r, 4); }
bool kp_read_bool(kp_reader_t *r) { return take_be(r, 1) != 0; }

const uint8_t *kp_read_raw(kp_reader_t *r, size_t n) { return take(r, n); }

void kp_read_skip(kp_reader_t *r, size_t n) { (void)take(r, n); }

/* Base-128 little-endian groups, at most `bits` bits of value: the last
 * possible byte may carry only the bits still missing and no continuation. */
static uint64_t read_uvar(kp_reader_t *r, int bits) {
    const uint8_t *p = r->p;
    uint64_t v = 0;

    if (r->err) return 0;
    for (int shift = 0;; shift += 7) {
        if (p >= r->end) {
            r->err = KP_BUF_SHORT;
            return 0;
        }
        uint8_t b = *p++;
        if (shift + 7 > bits && (b >> (bits - shift)) != 0) {
            r->err = KP_BUF_INVALID;
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
    }
    r->p = p;
    return v;
}

uint32_t kp_read_uvarint(kp_reader_t *r) { return (uint32_t)read_uvar(r, 32); }
uint64_t kp_read_uvarlong(kp_reader_t *r) { return read_uvar(r, 64); }

int32_t kp_read_varint(kp_reader_t *r) {
    uint32_t u = kp_read_uvarint(r);
    return (int32_t)((u >> 1) ^ (0u - (u & 1)));
}

int64_t kp_read_varlong(kp_reader_t *r) {
    uint64_t u = kp_read_uvarlong(r);
    return (int64_t)((u >> 1) ^ (0u - (u & 1)));
}

kp_uuid_t kp_read_uuid(kp_reader_t *r) {
    kp_uuid_t u = {{0}};
    const uint8_t *p = take(r, sizeof(u.b));

    if (p) memcpy(u.b, p, sizeof(u.b));
    return u;
}

/* Turns a decoded length into a slice: len -1 is null when nullable, any
 * other negative length (or a null that is not allowed) is invalid. */
static kp_bytes_t take_blob(kp_reader_t *r, int64_t len, bool nullable) {
    const uint8_t *p;

    if (r->err) return kp_bytes_empty;
    if (len == KP_NULL_LEN && nullable) return (kp_bytes_t){KP_NULL_LEN, NULL};
    if (len < 0 || len > INT32_MAX) {
        r->err = KP_BUF_INVALID;
        return kp_bytes_empty;
    }
    p = take(r, (size_t)len);
    return p ? (kp_bytes_t){(int32_t)len, p} : kp_bytes_empty;
}

static kp_str_t blob_to_str(kp_bytes_t b) { return (kp_str_t){b.len, (const char *)b.ptr}; }

/* A compact length is N+1 with 0 = null. */
static int64_t read_compact_len(kp_reader_t *r) { return (int64_t)kp_read_uvarint(r) - 1; }

kp_str_t kp_read_string(kp_reader_t *r) {
    return blob_to_str(take_blob(r, kp_read_int16(r), false));
}

kp_str_t kp_read_nullable_string(kp_reader_t *r) {
    return blob_to_str(take_blob(r, kp_read_int16(r), true));
}

kp_str_t kp_read_compact_string(kp_reader_t *r) {
    return blob_to_str(take_blob(r, read_compact_len(r), false));
}

kp_str_t kp_read_compact_nullable_string(kp_reader_t *r) {
    return blob_to_str(take_blob(r, read_compact_len(r), true));
}

kp_str_t kp_read_string_flex(kp_reader_t *r, bool flex) {
    return flex ? kp_read_compact_string(r) : kp_read_string(r);
}

kp_str_t kp_read_nullable_string_flex(kp_reader_t *r, bool flex) {
    return flex ? kp_read_compact_nullable_string(r) : kp_read_nullable_string(r);
}

kp_bytes_t kp_read_bytes(kp_reader_t *r) { return take_blob(r, kp_read_int32(r), false); }
kp_bytes_t kp_read_nullable_bytes(kp_reader_t *r) { return take_blob(r, kp_read_int32(r), true); }
kp_bytes_t kp_read_compact_bytes(kp_reader_t *r) {
    return take_blob(r, read_compact_len(r), false);
}

kp_bytes_t kp_read_compact_nullable_bytes(kp_reader_t *r) {
    return take_blob(r, read_compact_len(r), true);
}

kp_bytes_t kp_read_bytes_flex(kp_reader_t *r, bool flex) {
    return flex ? kp_read_compact_bytes(r) : kp_read_bytes(r);
}

kp_bytes_t kp_read_nullable_bytes_flex(kp_reader_t *r, bool flex) {
    return flex ? kp_read_compact_nullable_bytes(r) : kp_read_nullable_bytes(r);
}

/* Validates a decoded element count against the bytes left. */
static int32_t check_count(kp_reader_t *r, int64_t n, bool nullable, size_t min_elem_size) {
    if (r->err) return 0;
    if (n == -1 && nullable) return -1;
    if (n < 0 || n > INT32_MAX) {
        r->err = KP_BUF_INVALID;
        return 0;
    }
    if (min_elem_size == 0) min_elem_size = 1;
    if ((uint64_t)n > kp_reader_left(r) / min_elem_size) {
        r->err = KP_BUF_SHORT;
        return 0;
    }
    return (int32_t)n;
}

int32_t kp_read_array_count(kp_reader_t *r, size_t min_elem_size) {
    return check_count(r, kp_read_int32(r), false, min_elem_size);
}

int32_t kp_read_nullable_array_count(kp_reader_t *r, size_t min_elem_size) {
    return check_count(r, kp_read_int32(r), true, min_elem_size);
}

int32_t kp_read_compact_array_count(kp_reader_t *r, size_t min_elem_size) {
    return check_count(r, read_compact_len(r), false, min_elem_size);
}

int32_t kp_read_compact_nullable_array_count(kp_reader_t *r, size_t min_elem_size) {
    return check_count(r, read_compact_len(r), true, min_elem_size);
}

int32_t kp_read_array_count_flex(kp_reader_t *r, bool flex, size_t min_elem_size) {
    return flex ? kp_read_compact_array_count(r, min_elem_size)
                : kp_read_array_count(r, min_elem_size);
}

int32_t kp_read_nullable_array_count_flex(kp_reader_t *r, bool flex, size_t min_elem_size) {
    return flex ? kp_read_compact_nullable_array_count(r, min_elem_size)
                : kp_read_nullable_array_count(r, min_elem_size);
}

/* Each tagged field is at least two bytes (tag and size varints). */
void kp_skip_tags(kp_reader_t *r) {
    uint32_t n = kp_read_uvarint(r);

    if (!r->err && n > kp_reader_left(r) / 2) r->err = KP_BUF_SHORT;
    for (uint32_t i = 0; i < n && !r->err; i++) {
        (void)kp_read_uvarint(r);
        kp_read_skip(r, kp_read_uvarint(r));
    }
}

void kp_skip_tags_flex(kp_reader_t *r, bool flex) {
    if (flex) kp_skip_tags(r);
}

kp_str_t kp_str_c(const char *s) {
    return s ? (kp_str_t){(int32_t)strlen(s), s} : KP_STR_NULL;
}

bool kp_str_eq(kp_str_t s, const char *c) {
    return s.len >= 0 && c && strlen(c) == (size_t)s.len && memcmp(s.ptr, c, (size_t)s.len) == 0;
}

/* ---------------------------------------------------------------- writer */

void kp_writer_init(kp_writer_t *w) {
    w->buf = NULL;
    w->len = w->cap = 0;
    w->err = KP_BUF_OK;
}

void kp_writer_free(kp_writer_t *w) {
    free(w->buf);
    kp_writer_init(w);
}

void kp_writer_reset(kp_writer_t *w) {
    w->len = 0;
    w->err = KP_BUF_OK;
}

int kp_writer_fail(kp_writer_t *w, int err) {
    if (!w->err) w->err = err;
    return w->err;
}

/* Doubles the capacity until n more bytes fit. */
static int writer_grow(kp_writer_t *w, size_t n) {
    size_t cap = w->cap ? w->cap : KP_WRITER_MIN_CAP;
    uint8_t *nb;

    if (n > SIZE_MAX / 2 - w->len) return KP_BUF_NOMEM;
    while (cap - w->len < n) cap *= 2;
    nb = realloc(w->buf, cap);
    if (!nb) return KP_BUF_NOMEM;
    w->buf = nb;
    w->cap = cap;
    return KP_BUF_OK;
}

uint8_t *kp_write_space(kp_writer_t *w, size_t n) {
    uint8_t *p;

    if (w->err) return NULL;
    if ((!w->buf || w->cap - w->len < n) && writer_grow(w, n) != KP_BUF_OK) {
        kp_writer_fail(w, KP_BUF_NOMEM);
        return NULL;
    }
    p = w->buf + w->len;
    w->len += n;
    return p;
}

void kp_write_raw(kp_writer_t *w, const void *data, size_t n) {
    uint8_t *p = kp_write_space(w, n);

    if (p && n) memcpy(p, data, n);
}

static void write_be(kp_writer_t *w, uint64_t v, size_t n) {
    uint8_t *p = kp_write_space(w, n);

    if (p) kp_put_be(p, v, n);
}

void kp_write_int8(kp_writer_t *w, int8_t v) { write_be(w, (uint8_t)v, 1); }
void kp_write_int16(kp_writer_t *w, int16_t v) { write_be(w, (uint16_t)v, 2); }
void kp_write_int32(kp_writer_t *w, int32_t v) { write_be(w, (uint32_t)v, 4); }
void kp_write_int64(kp_writer_t *w, int64_t v) { write_be(w, (uint64_t)v, 8); }
void kp_write_uint32(kp_writer_t *w, uint32_t v) { write_be(w, v, 4); }
void kp_write_bool(kp_writer_t *w, bool v) { write_be(w, v ? 1 : 0, 1); }

void kp_write_uvarlong(kp_writer_t *w, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;

    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    kp_write_raw(w, tmp, n);
}

void kp_write_uvarint(kp_writer_t *w, uint32_t v) { kp_write_uvarlong(w, v); }

static uint32_t zigzag32(int32_t v) { return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31); }
static uint64_t zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

void kp_write_varint(kp_writer_t *w, int32_t v) { kp_write_uvarlong(w, zigzag32(v)); }
void kp_write_varlong(kp_writer_t *w, int64_t v) { kp_write_uvarlong(w, zigzag64(v)); }

void kp_write_uuid(kp_writer_t *w, const kp_uuid_t *u) { kp_write_raw(w, u->b, sizeof(u->b)); }

size_t kp_uvarint_size(uint32_t v) {
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t kp_varint_size(int32_t v) { return kp_uvarint_size(zigzag32(v)); }

/* Classic blob: int16 or int32 length (-1 = null), then the bytes. */
static void write_blob(kp_writer_t *w, const void *p, int64_t len, int64_t max, bool wide) {
    if (len > max) {
        kp_writer_fail(w, KP_BUF_INVALID);
        return;
    }
    if (len < 0) len = KP_NULL_LEN;
    if (wide)
        kp_write_int32(w, (int32_t)len);
    else
        kp_write_int16(w, (int16_t)len);
    if (len > 0) kp_write_raw(w, p, (size_t)len);
}

/* Compact blob: unsigned varint N+1 (0 = null), then the bytes. */
static void write_compact_blob(kp_writer_t *w, const void *p, int64_t len) {
    if (len > INT32_MAX - 1) {
        kp_writer_fail(w, KP_BUF_INVALID);
        return;
    }
    kp_write_uvarint(w, len < 0 ? 0 : (uint32_t)len + 1);
    if (len > 0) kp_write_raw(w, p, (size_t)len);
}

void kp_write_str(kp_writer_t *w, kp_str_t s) { write_blob(w, s.ptr, s.len, INT16_MAX, false); }
void kp_write_compact_str(kp_writer_t *w, kp_str_t s) { write_compact_blob(w, s.ptr, s.len); }

void kp_write_str_flex(kp_writer_t *w, bool flex, kp_str_t s) {
    if (flex)
        kp_write_compact_str(w, s);
    else
        kp_write_str(w, s);
}

static kp_str_t str_or_empty(const char *s) { return s ? kp_str_c(s) : kp_str_empty; }

void kp_write_string(kp_writer_t *w, const char *s) { kp_write_str(w, str_or_empty(s)); }
void kp_write_nullable_string(kp_writer_t *w, const char *s) { kp_write_str(w, kp_str_c(s)); }
void kp_write_compact_string(kp_writer_t *w, const char *s) {
    kp_write_compact_str(w, str_or_empty(s));
}

void kp_write_compact_nullable_string(kp_writer_t *w, const char *s) {
    kp_write_compact_str(w, kp_str_c(s));
}

void kp_write_string_flex(kp_writer_t *w, bool flex, const char *s) {
    kp_write_str_flex(w, flex, str_or_empty(s));
}

void kp_write_nullable_string_flex(kp_writer_t *w, bool flex, const char *s) {
    kp_write_str_flex(w, flex, kp_str_c(s));
}

void kp_write_bytes(kp_writer_t *w, kp_bytes_t b) { write_blob(w, b.ptr, b.len, INT32_MAX, true); }
void kp_write_compact_bytes(kp_writer_t *w, kp_bytes_t b) { write_compact_blob(w, b.ptr, b.len); }

void kp_write_bytes_flex(kp_writer_t *w, bool flex, kp_bytes_t b) {
    if (flex)
        kp_write_compact_bytes(w, b);
    else
        kp_write_bytes(w, b);
}

void kp_write_array_count(kp_writer_t *w, int32_t n) { kp_write_int32(w, n < 0 ? -1 : n); }

void kp_write_compact_array_count(kp_writer_t *w, int32_t n) {
    kp_write_uvarint(w, n < 0 ? 0 : (uint32_t)n + 1);
}

void kp_write_array_count_flex(kp_writer_t *w, bool flex, int32_t n) {
    if (flex)
        kp_write_compact_array_count(w, n);
    else
        kp_write_array_count(w, n);
}

void kp_write_int32_array_flex(kp_writer_t *w, bool flex, const int32_t *v, int32_t n) {
    kp_write_array_count_flex(w, flex, n);
    for (int32_t i = 0; i < n; i++) kp_write_int32(w, v[i]);
}

void kp_write_empty_tags(kp_writer_t *w) { kp_write_uvarint(w, 0); }

void kp_write_empty_tags_flex(kp_writer_t *w, bool flex) {
    if (flex) kp_write_empty_tags(w);
}

size_t kp_write_reserve_int32(kp_writer_t *w) {
    size_t off = w->len;

    kp_write_int32(w, 0);
    return off;
}

void kp_write_patch_int32(kp_writer_t *w, size_t offset, int32_t v) {
    if (w->err) return;
    if (offset > w->len || w->len - offset < 4) {
        w->err = KP_BUF_INVALID;
        return;
    }
    kp_put_be(w->buf + offset, (uint32_t)v, 4);
}
