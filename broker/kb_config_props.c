/*
 * kb_config_props.c - Java's .properties file format, as
 * java.util.Properties.load reads it (Kafka reads server.properties with
 * it): comments, blank lines, continuation lines, the '=', ':' or blank
 * separator, and the escapes \t \n \r \f \uXXXX.  Each logical line goes
 * through the key table's single path (kb_config_apply) with its file and
 * line number, so a bad value names the line it came from.
 */
#include "broker/kb_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/kb_config_internal.h"

#define KB_CONFIG_MAX_FILE (16 * 1024 * 1024)

/* ------------------------------------------------------------------------
 * The Java properties file format
 * ------------------------------------------------------------------------ */

typedef struct {
    char *s;
    size_t len, cap;
} kb_sbuf_t;

static void sbuf_add(kb_sbuf_t *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown) abort();
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sbuf_add_utf8(kb_sbuf_t *b, unsigned cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) u[0] = (char)cp, n = 1;
    else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)),
        n = 3;
    else
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    sbuf_add(b, u, n);
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

/* Reads the 4 hex digits of a \uXXXX escape; -1 when malformed. */
static long hex4(const char *p, const char *end) {
    long cp = 0;
    if (end - p < 4) return -1;
    for (int i = 0; i < 4; i++) {
        int c = tolower((unsigned char)p[i]);
        if (!isxdigit(c)) return -1;
        cp = cp * 16 + (isdigit(c) ? c - '0' : c - 'a' + 10);
    }
    return cp;
}

/* Java's loadConvert: resolves \t \n \r \f \uXXXX and \c (= c). */
static int unescape(const char *p, const char *end, kb_sbuf_t *out) {
    out->len = 0;
    sbuf_add(out, "", 0);
    while (p < end) {
        char c = *p++;
        if (c != '\\') { sbuf_add(out, &c, 1); continue; }
        if (p == end) break;
        c = *p++;
        if (c == 'u') {
            long cp = hex4(p, end);
            if (cp < 0) return -1;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                long lo = hex4(p + 2, end);
                if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00), p += 6;
            }
            sbuf_add_utf8(out, (unsigned)cp);
            continue;
        }
        c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
        sbuf_add(out, &c, 1);
    }
    return 0;
}

/* Splits a logical line at the first unescaped '=', ':' or blank; the
 * separator may be surrounded by blanks (Java's Properties.load0). */
static void split_key_value(const char *line, size_t len, size_t *key_end, size_t *value_start) {
    size_t k = 0, v = len;
    bool escaped = false, has_sep = false;
    for (; k < len; k++) {
        char c = line[k];
        if ((c == '=' || c == ':') && !escaped) { v = k + 1; has_sep = true; break; }
        if (is_blank(c) && !escaped) { v = k + 1; break; }
        escaped = c == '\\' ? !escaped : false;
    }
    for (; v < len; v++) {
        char c = line[v];
        if (is_blank(c)) continue;
        if (!has_sep && (c == '=' || c == ':')) { has_sep = true; continue; }
        break;
    }
    *key_end = k;
    *value_start = v;
}

typedef struct {
    const char *p, *end;
    int line;
} kb_props_t;

/* The next natural line (without its terminator: \n, \r or \r\n). */
static bool next_natural(kb_props_t *r, const char **s, size_t *len) {
    if (r->p >= r->end) return false;
    const char *q = r->p;
    while (q < r->end && *q != '\n' && *q != '\r') q++;
    *s = r->p;
    *len = (size_t)(q - r->p);
    if (q < r->end && *q == '\r' && q + 1 < r->end && q[1] == '\n') q++;
    r->p = q < r->end ? q + 1 : q;
    r->line++;
    return true;
}

static size_t trailing_backslashes(const char *s, size_t len) {
    size_t n = 0;
    while (n < len && s[len - 1 - n] == '\\') n++;
    return n;
}

/* The next logical line: comments and blank lines skipped, lines ending in
 * an odd number of backslashes joined with the next one (whose leading
 * blanks are dropped).  *first is the line number it starts on. */
static bool next_logical(kb_props_t *r, kb_sbuf_t *out, int *first) {
    const char *s;
    size_t len;
    bool cont = false;
    out->len = 0;
    sbuf_add(out, "", 0);
    while (next_natural(r, &s, &len)) {
        while (len && is_blank(*s)) s++, len--;
        if (!cont) {
            if (!len || *s == '#' || *s == '!') continue;
            *first = r->line;
        } else if (!len) {
            return true;
        }
        cont = trailing_backslashes(s, len) % 2 == 1;
        sbuf_add(out, s, cont ? len - 1 : len);
        if (!cont) return true;
    }
    return cont;
}

static int apply_line(kb_config_t *cfg, const kb_sbuf_t *line, const char *where, char *err, size_t errlen) {
    size_t key_end, value_start;
    kb_sbuf_t key = {0}, value = {0};
    char reason[512];
    int rc = KB_CONFIG_INVALID;

    split_key_value(line->s, line->len, &key_end, &value_start);
    if (unescape(line->s, line->s + key_end, &key) != 0 ||
        unescape(line->s + value_start, line->s + line->len, &value) != 0) {
        snprintf(err, errlen, "%s: malformed \\uXXXX escape", where);
        goto out;
    }
    kb_config_copy_trimmed(key.s, key.len + 1, key.s, key.len);
    kb_config_copy_trimmed(value.s, value.len + 1, value.s, value.len);
    rc = kb_config_apply(cfg, key.s, value.s, where, reason, sizeof(reason));
    if (rc != KB_CONFIG_OK) snprintf(err, errlen, "%s: %s", where, reason);
out:
    free(key.s);
    free(value.s);
    return rc;
}

static int read_file(const char *path, kb_sbuf_t *out, char *err, size_t errlen) {
    char chunk[65536];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (!f) return snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno)), KB_CONFIG_IO;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        sbuf_add(out, chunk, n);
        if (out->len > KB_CONFIG_MAX_FILE) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) return snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno)), KB_CONFIG_IO;
    if (out->len > KB_CONFIG_MAX_FILE) return snprintf(err, errlen, "cannot read %s: larger than 16 MiB", path), KB_CONFIG_IO;
    return KB_CONFIG_OK;
}

int kb_config_read(kb_config_t *cfg, const char *path, char *err, size_t errlen) {
    kb_sbuf_t text = {0}, line = {0};
    int rc = read_file(path, &text, err, errlen), first = 0;
    kb_props_t r = {text.s, text.s ? text.s + text.len : NULL, 0}; /* an empty file has no buffer */

    while (rc == KB_CONFIG_OK && next_logical(&r, &line, &first)) {
        char where[1100];
        snprintf(where, sizeof(where), "%s:%d", path, first);
        rc = apply_line(cfg, &line, where, err, errlen);
    }
    free(text.s);
    free(line.s);
    return rc;
}

int kb_config_load(kb_config_t *cfg, const char *path, char *err, size_t errlen) {
    kb_config_defaults(cfg);
    int rc = kb_config_read(cfg, path, err, errlen);
    return rc != KB_CONFIG_OK ? rc : kb_config_finish(cfg, err, errlen);
}
