/*
 * kc_zk_log.c - the ZooKeeper C client's log lines through kc_log, rate
 * limited per call site (see kc_zk_log.h).
 *
 * The client formats every line itself and hands the finished text either
 * to the handle's callback (zookeeper_init2) or, for lines logged without a
 * handle, to a library-wide FILE.  Both end here: the FILE is a glibc
 * fopencookie stream whose write function cuts the text into lines.  The
 * single-threaded client only logs from the thread that drives it, so the
 * call-site table needs no lock.
 */
#include "coord/kc_zk_log.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <zookeeper/zookeeper.h>

#include "common/kc_log.h"

#define MOD "zkclient"
#define MAX_SITES 32
#define SITE_LEN 96

typedef struct site {
    char name[SITE_LEN];  /* "function@line"; empty = free slot */
    kc_ratelimit_t rl;
} site_t;

static site_t sites[MAX_SITES];
/* Lines from sites beyond the table share one limit. */
static site_t overflow = {"other call sites", {0, 0}};
static char stream_line[4096];
static size_t stream_len;

static const struct {
    const char *name;
    kc_log_level_t level;
} levels[] = {
    {"ZOO_ERROR", KC_LOG_ERROR}, {"ZOO_WARN", KC_LOG_WARN}, {"ZOO_INFO", KC_LOG_INFO}, {"ZOO_DEBUG", KC_LOG_DEBUG}};

const char *kc_zk_log_parse(const char *message, int *level, char *site, size_t sitelen) {
    const char *p = strstr(message, ":ZOO_");
    *level = -1;
    snprintf(site, sitelen, "?");
    if (!p) return message;
    p++;
    size_t n = strcspn(p, "@");
    for (int i = 0; i < 4; i++)
        if (strlen(levels[i].name) == n && strncmp(p, levels[i].name, n) == 0) *level = i;
    if (*level < 0 || p[n] != '@') return message;
    const char *where = p + n + 1;
    const char *colon = strstr(where, ": ");
    if (!colon) return message;
    snprintf(site, sitelen, "%.*s", (int)(colon - where), where);
    return colon + 2;
}

static site_t *site_for(const char *name) {
    for (int i = 0; i < MAX_SITES; i++) {
        if (sites[i].name[0] == '\0') {
            snprintf(sites[i].name, sizeof(sites[i].name), "%s", name);
            return &sites[i];
        }
        if (strcmp(sites[i].name, name) == 0) return &sites[i];
    }
    return &overflow;
}

void kc_zk_log_callback(const char *message) {
    char name[SITE_LEN], text[2048];
    int level;
    uint64_t dropped = 0;
    const char *body = kc_zk_log_parse(message, &level, name, sizeof(name));

    /* The client ends some messages with a newline of its own. */
    snprintf(text, sizeof(text), "%s", body);
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = '\0';
    site_t *s = site_for(name);
    if (!kc_ratelimit_allow(&s->rl, KC_ZK_LOG_INTERVAL_MS, &dropped)) return;
    char note[80] = "";
    if (dropped)
        snprintf(note, sizeof(note), " (%llu similar lines suppressed before this one)", (unsigned long long)dropped);
    kc_log(level < 0 ? KC_LOG_WARN : levels[level].level, MOD, "%s: %s%s", name, text, note);
}

void kc_zk_log_flush(void) {
    for (int i = 0; i <= MAX_SITES; i++) {
        site_t *s = i < MAX_SITES ? &sites[i] : &overflow;
        if (s->rl.suppressed == 0) continue;
        kc_info(MOD, "%s: %llu similar lines suppressed since the last one", s->name,
                (unsigned long long)s->rl.suppressed);
        s->rl.suppressed = 0;
    }
}

/* The library-wide stream: whole lines go to the callback. */
static ssize_t stream_write(void *cookie, const char *buf, size_t size) {
    for (size_t i = 0; i < size; i++) {
        if (buf[i] != '\n' && stream_len < sizeof(stream_line) - 1) {
            stream_line[stream_len++] = buf[i];
            continue;
        }
        if (buf[i] != '\n') continue; /* an overlong line is cut short */
        stream_line[stream_len] = '\0';
        if (stream_len > 0) kc_zk_log_callback(stream_line);
        stream_len = 0;
    }
    return (ssize_t)size;
}

void kc_zk_log_install(void) {
    static FILE *stream;
    if (stream) return;
    stream = fopencookie(NULL, "w", (cookie_io_functions_t){.write = stream_write});
    if (stream) {
        setvbuf(stream, NULL, _IOLBF, 0);
        zoo_set_log_stream(stream);
    }
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
}
