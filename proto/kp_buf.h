/*
 * kp_buf.h - the bounds-checked Kafka reader and the growable writer that
 * every codec in proto/ is built on (wire-protocol.md 1.4 and 1.5).
 *
 * Reader: a cursor over bytes the caller owns, with a sticky error.  Every
 * kp_read_* call that runs out of bytes or meets an invalid encoding sets
 * r->err, returns 0 (or a null slice) and leaves the cursor where it was;
 * once err is set every later read fails the same way.  A decoder can thus
 * read a whole struct and check err once at the end.  Strings and byte blobs
 * are returned as slices borrowed from the buffer, never copied, so reading
 * allocates nothing.  Array counts are checked against the bytes left before
 * the caller allocates anything for the elements.
 *
 * Writer: a heap buffer that grows as needed, also with a sticky error (set
 * when an allocation fails or a value cannot be encoded); the caller checks
 * w->err once before sending.  A length that is only known afterwards (the
 * frame size) is reserved with kp_write_reserve_int32() and patched later.
 *
 * The *_flex variants take the "is this version flexible" flag and pick the
 * classic or the compact encoding, so one codec serves every version.
 */
#ifndef KP_BUF_H
#define KP_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Values of kp_reader_t.err / kp_writer_t.err. */
enum {
    KP_BUF_OK = 0,
    KP_BUF_SHORT = -1,    /* fewer bytes left than the encoding needs */
    KP_BUF_INVALID = -2,  /* malformed value: negative length, overlong varint, ... */
    KP_BUF_TRAILING = -3, /* bytes left after a complete message */
    KP_BUF_NOMEM = -4,    /* writer could not grow */
};

/* A borrowed string or byte slice.  len < 0 (KP_NULL_LEN) means null, and
 * then ptr is NULL.  The bytes are not NUL-terminated. */
typedef struct {
    int32_t len;
    const char *ptr;
} kp_str_t;

typedef struct {
    int32_t len;
    const uint8_t *ptr;
} kp_bytes_t;

#define KP_NULL_LEN (-1)
#define KP_STR_NULL ((kp_str_t){KP_NULL_LEN, NULL})

typedef struct {
    uint8_t b[16]; /* most significant byte first; all zero = no id */
} kp_uuid_t;

/* ---------------------------------------------------------------- reader */

typedef struct {
    const uint8_t *p, *end;
    int err;
} kp_reader_t;

void kp_reader_init(kp_reader_t *r, const void *buf, size_t len);
size_t kp_reader_left(const kp_reader_t *r);
/* Sets KP_BUF_TRAILING unless every byte has been read (and no error yet);
 * returns r->err. */
int kp_reader_expect_end(kp_reader_t *r);
/* Marks the reader failed with err (a KP_BUF_* value) unless it already is;
 * returns r->err. */
int kp_reader_fail(kp_reader_t *r, int err);
/* n zeroed elements of size bytes for what a decoder reads, once the count
 * has been checked against the bytes left (kp_read_array_count); NULL for
 * n <= 0, and NULL with r failed (KP_BUF_NOMEM) when out of memory. */
void *kp_reader_calloc(kp_reader_t *r, int32_t n, size_t size);

int8_t kp_read_int8(kp_reader_t *r);
int16_t kp_read_int16(kp_reader_t *r);
int32_t kp_read_int32(kp_reader_t *r);
int64_t kp_read_int64(kp_reader_t *r);
uint32_t kp_read_uint32(kp_reader_t *r);
bool kp_read_bool(kp_reader_t *r);
uint32_t kp_read_uvarint(kp_reader_t *r);  /* at most 5 bytes, value < 2^32 */
uint64_t kp_read_uvarlong(kp_reader_t *r); /* at most 10 bytes */
int32_t kp_read_varint(kp_reader_t *r);    /* ZigZag */
int64_t kp_read_varlong(kp_reader_t *r);   /* ZigZag */
kp_uuid_t kp_read_uuid(kp_reader_t *r);
/* n raw bytes, borrowed; NULL (and KP_BUF_SHORT) when fewer are left. */
const uint8_t *kp_read_raw(kp_reader_t *r, size_t n);
void kp_read_skip(kp_reader_t *r, size_t n);

/* STRING: a null (-1) length is invalid.  NULLABLE_STRING: -1 is null. */
kp_str_t kp_read_string(kp_reader_t *r);
kp_str_t kp_read_nullable_string(kp_reader_t *r);
/* COMPACT_STRING: 0 is invalid.  COMPACT_NULLABLE_STRING: 0 is null. */
kp_str_t kp_read_compact_string(kp_reader_t *r);
kp_str_t kp_read_compact_nullable_string(kp_reader_t *r);
kp_str_t kp_read_string_flex(kp_reader_t *r, bool flex);
kp_str_t kp_read_nullable_string_flex(kp_reader_t *r, bool flex);

kp_bytes_t kp_read_bytes(kp_reader_t *r);
kp_bytes_t kp_read_nullable_bytes(kp_reader_t *r);
kp_bytes_t kp_read_compact_bytes(kp_reader_t *r);
kp_bytes_t kp_read_compact_nullable_bytes(kp_reader_t *r);
kp_bytes_t kp_read_bytes_flex(kp_reader_t *r, bool flex);
kp_bytes_t kp_read_nullable_bytes_flex(kp_reader_t *r, bool flex);

/* Array counts.  min_elem_size is the smallest number of bytes one element
 * can take on the wire (at least 1 is assumed); a count whose elements
 * cannot fit in the bytes left is rejected (KP_BUF_SHORT) before the caller
 * allocates for it.  The nullable forms return -1 for null; the others treat
 * null as KP_BUF_INVALID.  Any other negative count is KP_BUF_INVALID.  On
 * error they return 0, so a loop over the result is always safe. */
int32_t kp_read_array_count(kp_reader_t *r, size_t min_elem_size);
int32_t kp_read_nullable_array_count(kp_reader_t *r, size_t min_elem_size);
int32_t kp_read_compact_array_count(kp_reader_t *r, size_t min_elem_size);
int32_t kp_read_compact_nullable_array_count(kp_reader_t *r, size_t min_elem_size);
int32_t kp_read_array_count_flex(kp_reader_t *r, bool flex, size_t min_elem_size);
int32_t kp_read_nullable_array_count_flex(kp_reader_t *r, bool flex, size_t min_elem_size);

/* Skips a tagged-field section (every tag is unknown to this reader). */
void kp_skip_tags(kp_reader_t *r);
/* kp_skip_tags() when flex, nothing otherwise. */
void kp_skip_tags_flex(kp_reader_t *r, bool flex);

/* A slice helper: a C string (NULL gives a null slice). */
kp_str_t kp_str_c(const char *s);
/* True when s is not null and equals the C string c. */
bool kp_str_eq(kp_str_t s, const char *c);
/* What a field that cannot be null is written as when the caller holds a
 * null slice: "" and empty bytes. */
static inline kp_str_t kp_str_nonnull(kp_str_t s) { return s.len < 0 ? kp_str_c("") : s; }
static inline kp_bytes_t kp_bytes_nonnull(kp_bytes_t b) { return b.len < 0 ? (kp_bytes_t){0, NULL} : b; }

/* ---------------------------------------------------------------- writer */

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int err;
} kp_writer_t;

/* Starts empty (no allocation until the first write). */
void kp_writer_init(kp_writer_t *w);
/* Releases the buffer; the writer may be initialised again. */
void kp_writer_free(kp_writer_t *w);
/* Forgets the contents and the error but keeps the buffer for reuse. */
void kp_writer_reset(kp_writer_t *w);
/* Marks the writer failed with err (a KP_BUF_* value) unless it already is;
 * returns w->err. */
int kp_writer_fail(kp_writer_t *w, int err);
/* Makes room for n more bytes; returns a pointer to them (NULL on failure,
 * with err set).  The bytes count as written. */
uint8_t *kp_write_space(kp_writer_t *w, size_t n);

void kp_write_raw(kp_writer_t *w, const void *data, size_t n);
void kp_write_int8(kp_writer_t *w, int8_t v);
void kp_write_int16(kp_writer_t *w, int16_t v);
void kp_write_int32(kp_writer_t *w, int32_t v);
void kp_write_int64(kp_writer_t *w, int64_t v);
void kp_write_uint32(kp_writer_t *w, uint32_t v);
void kp_write_bool(kp_writer_t *w, bool v);
void kp_write_uvarint(kp_writer_t *w, uint32_t v);
void kp_write_uvarlong(kp_writer_t *w, uint64_t v);
void kp_write_varint(kp_writer_t *w, int32_t v);
void kp_write_varlong(kp_writer_t *w, int64_t v);
void kp_write_uuid(kp_writer_t *w, const kp_uuid_t *u);

/* Bytes the (unsigned) varint encoding of v takes. */
size_t kp_uvarint_size(uint32_t v);
size_t kp_varint_size(int32_t v);

/* Strings from a slice; a null slice (len < 0) is written as null, so pass
 * only non-null slices for fields the schema does not make nullable. */
void kp_write_str(kp_writer_t *w, kp_str_t s);
void kp_write_compact_str(kp_writer_t *w, kp_str_t s);
void kp_write_str_flex(kp_writer_t *w, bool flex, kp_str_t s);
/* Strings from C strings.  The non-nullable forms write NULL as "" (a
 * client must never see null where the schema forbids it); the nullable
 * forms write NULL as null. */
void kp_write_string(kp_writer_t *w, const char *s);
void kp_write_nullable_string(kp_writer_t *w, const char *s);
void kp_write_compact_string(kp_writer_t *w, const char *s);
void kp_write_compact_nullable_string(kp_writer_t *w, const char *s);
void kp_write_string_flex(kp_writer_t *w, bool flex, const char *s);
void kp_write_nullable_string_flex(kp_writer_t *w, bool flex, const char *s);

/* Byte blobs; a null slice (len < 0) is written as null. */
void kp_write_bytes(kp_writer_t *w, kp_bytes_t b);
void kp_write_compact_bytes(kp_writer_t *w, kp_bytes_t b);
void kp_write_bytes_flex(kp_writer_t *w, bool flex, kp_bytes_t b);

/* Array counts; n < 0 writes null. */
void kp_write_array_count(kp_writer_t *w, int32_t n);
void kp_write_compact_array_count(kp_writer_t *w, int32_t n);
void kp_write_array_count_flex(kp_writer_t *w, bool flex, int32_t n);
/* An int32 array with its count (arrays of primitives carry no tags). */
void kp_write_int32_array_flex(kp_writer_t *w, bool flex, const int32_t *v, int32_t n);

/* An empty tagged-field section (the single byte 0); the _flex form writes
 * it only when flex. */
void kp_write_empty_tags(kp_writer_t *w);
void kp_write_empty_tags_flex(kp_writer_t *w, bool flex);

/* Reserves an int32 and returns its offset, to be filled in later with
 * kp_write_patch_int32 (for example a frame size). */
size_t kp_write_reserve_int32(kp_writer_t *w);
void kp_write_patch_int32(kp_writer_t *w, size_t offset, int32_t v);

/* Big-endian fixed-width access (n = 1..8 bytes), for code that reads or
 * rewrites header fields in place rather than through a reader/writer. */
static inline uint64_t kp_get_be(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

static inline void kp_put_be(uint8_t *p, uint64_t v, size_t n) {
    for (size_t i = n; i > 0; i--) {
        p[i - 1] = (uint8_t)v;
        v >>= 8;
    }
}

#endif
