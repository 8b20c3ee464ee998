/*
 * kb_checkpoint.c - Kafka's text checkpoint files
 * (recovery-point-offset-checkpoint, replication-offset-checkpoint,
 * log-start-offset-checkpoint; zk-and-replication.md 4.5):
 *
 *     0                     format version
 *     2                     number of entries
 *     orders 0 368801       topic SP partition SP offset
 *     orders 1 12
 *
 * Byte-for-byte what Kafka writes, so a data directory can move between
 * Kafka and kbroker and operators' scripts keep working.  Writes go to
 * <file>.tmp, are fsynced, then renamed over the file, so a reader sees the
 * old or the new content, never a mix.  Reading is strict like Kafka's: a
 * version other than 0, an unparsable line or a count that does not match
 * the entries is an error, reported before any entry is handed out.
 *
 * A partition's leader-epoch-checkpoint has the same header and
 * "epoch startOffset" entries (kb_log_epochs.c writes and uses it).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/log/kb_log_internal.h"

#define CHECKPOINT_VERSION 0
#define TOPIC_MAX 255 /* a topic name is at most 249 characters */

char *kb_checkpoint_format(const kb_ckpt_entry_t *e, size_t n, size_t *len) {
    char *text = NULL;
    FILE *f = open_memstream(&text, len);

    if (!f) return NULL;
    fprintf(f, "%d\n%zu\n", CHECKPOINT_VERSION, n);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s %" PRId32 " %" PRId64 "\n", e[i].topic, e[i].partition, e[i].offset);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static int write_fully(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int kb_checkpoint_write_text(const char *path, const char *text, size_t len) {
    char tmp[4096];
    int fd, rc = -1;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    if (write_fully(fd, text, len) == 0 && fsync(fd) == 0) rc = 0;
    if (close(fd) != 0) rc = -1;
    if (rc == 0) rc = rename(tmp, path);
    if (rc != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
    }
    return rc;
}

int kb_checkpoint_write(const char *path, const kb_ckpt_entry_t *e, size_t n) {
    size_t len = 0;
    char *text = kb_checkpoint_format(e, n, &len);
    int rc;

    if (!text) return -1;
    rc = kb_checkpoint_write_text(path, text, len);
    free(text);
    return rc;
}

int kb_checkpoint_touch(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0) return -1;
    return close(fd);
}

/* ------------------------------------------------------------- reading */

/* Parses a whole decimal number in [lo, hi] from the NUL-terminated s. */
static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    long long v;

    if (!*s || *s == ' ' || *s == '+') return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* "topic partition offset" with single spaces, as Kafka splits on \s+ and
 * writes single spaces. */
static bool parse_entry(char *line, char **topic, int32_t *partition, int64_t *offset) {
    char *sp1 = strchr(line, ' '), *sp2;
    int64_t p;

    if (!sp1 || sp1 == line || sp1 - line > TOPIC_MAX) return false;
    sp2 = strchr(sp1 + 1, ' ');
    if (!sp2 || strchr(sp2 + 1, ' ')) return false;
    *sp1 = *sp2 = '\0';
    if (!parse_int(sp1 + 1, 0, INT32_MAX, &p) || !parse_int(sp2 + 1, INT64_MIN, INT64_MAX, offset)) return false;
    *topic = line;
    *partition = (int32_t)p;
    return true;
}

/* Cuts the next line off *cursor (NUL-terminating it); NULL at the end. */
static char *next_line(char **cursor, char *end) {
    char *line = *cursor, *nl;

    if (line >= end) return NULL;
    nl = memchr(line, '\n', (size_t)(end - line));
    if (nl) *nl = '\0';
    *cursor = nl ? nl + 1 : end;
    return line;
}

/* How the lines after the header of one kind of file are parsed: each
 * line goes to parse(ctx, line, emit), which returns false for a malformed
 * one and hands the entry out only when emit is set. */
typedef bool (*line_parser_fn)(void *ctx, char *line, bool emit);

/* One pass over a private copy of the text; without emit it only checks. */
static int parse_text(const char *text, size_t len, line_parser_fn parse, void *ctx, bool emit, char *err,
                      size_t errlen) {
    char *copy = malloc(len + 1), *cur = copy, *end = copy + len, *line;
    int64_t version = -1, count = -1, seen = 0;
    int rc = 0;

    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    if ((line = next_line(&cur, end)) == NULL || !parse_int(line, INT64_MIN, INT64_MAX, &version) ||
        version != CHECKPOINT_VERSION) {
        snprintf(err, errlen, "unrecognised version of the checkpoint file");
        rc = -1;
    } else if ((line = next_line(&cur, end)) == NULL || !parse_int(line, 0, INT32_MAX, &count)) {
        snprintf(err, errlen, "malformed entry count");
        rc = -1;
    }
    while (rc == 0 && (line = next_line(&cur, end)) != NULL) {
        if (!parse(ctx, line, emit)) {
            snprintf(err, errlen, "malformed line %" PRId64 " of the checkpoint file", seen + 3);
            rc = -1;
        }
        seen++;
    }
    if (rc == 0 && seen != count) {
        snprintf(err, errlen, "expected %" PRId64 " entries but found %" PRId64, count, seen);
        rc = -1;
    }
    free(copy);
    return rc;
}

typedef struct offset_ctx {
    kb_ckpt_fn fn;
    void *arg;
} offset_ctx_t;

static bool parse_offset_line(void *ctx, char *line, bool emit) {
    offset_ctx_t *c = ctx;
    char *topic;
    int32_t partition;
    int64_t offset;

    if (!parse_entry(line, &topic, &partition, &offset)) return false;
    if (emit) c->fn(c->arg, topic, partition, offset);
    return true;
}

/* "epoch startOffset", single space, as leader-epoch-checkpoint holds. */
typedef struct epoch_ctx {
    kb_epoch_ckpt_fn fn;
    void *arg;
} epoch_ctx_t;

static bool parse_epoch_line(void *ctx, char *line, bool emit) {
    epoch_ctx_t *c = ctx;
    char *sp = strchr(line, ' ');
    int64_t epoch, start;

    if (!sp || strchr(sp + 1, ' ')) return false;
    *sp = '\0';
    if (!parse_int(line, 0, INT32_MAX, &epoch) || !parse_int(sp + 1, 0, INT64_MAX, &start)) return false;
    if (emit) c->fn(c->arg, (int32_t)epoch, start);
    return true;
}

static char *read_file(const char *path, size_t *len, bool *missing) {
    FILE *f = fopen(path, "re");
    char *text = NULL;
    size_t cap = 0;

    *len = 0;
    *missing = !f && errno == ENOENT;
    if (!f) return NULL;
    for (;;) {
        if (*len == cap) {
            char *grown = realloc(text, cap = cap ? cap * 2 : 4096);
            if (!grown) break;
            text = grown;
        }
        size_t n = fread(text + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0) break;
    }
    if (ferror(f) || *len == cap) {
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

/* Reads the file, checks it all, then hands the entries out. */
static int read_with(const char *path, line_parser_fn parse, void *ctx, bool *missing, char *err, size_t errlen) {
    char why[256];
    size_t len;
    char *text = read_file(path, &len, missing);
    int rc = 0;

    if (!text) {
        if (*missing) return 0;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno ? errno : EIO));
        return -1;
    }
    if (len > 0 && (parse_text(text, len, parse, ctx, false, why, sizeof(why)) != 0 ||
                    parse_text(text, len, parse, ctx, true, why, sizeof(why)) != 0)) {
        snprintf(err, errlen, "%s: %s", path, why);
        rc = -1;
    }
    free(text);
    return rc;
}

int kb_checkpoint_read(const char *path, kb_ckpt_fn fn, void *arg, char *err, size_t errlen) {
    offset_ctx_t c = {fn, arg};
    bool missing;

    return read_with(path, parse_offset_line, &c, &missing, err, errlen);
}

int kb_checkpoint_read_epochs(const char *path, kb_epoch_ckpt_fn fn, void *arg, bool *missing, char *err,
                              size_t errlen) {
    epoch_ctx_t c = {fn, arg};

    return read_with(path, parse_epoch_line, &c, missing, err, errlen);
}
