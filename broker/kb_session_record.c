/*
 * kb_session_record.c - the ZooKeeper sessions of this broker's processes,
 * kept in its log dirs (see kb_session_record.h for why that proves a
 * registration stale).
 */
#include "broker/kb_session_record.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/kc_log.h"

#define PATH_LEN 4096

static bool record_has(const kb_session_record_t *rec, int64_t id) {
    for (int i = 0; i < rec->n; i++)
        if (rec->ids[i] == id) return true;
    return false;
}

static void record_push(kb_session_record_t *rec, int64_t id) {
    if (id == 0 || record_has(rec, id)) return;
    if (rec->n == KB_SESSION_RECORD_MAX) {
        memmove(rec->ids, rec->ids + 1, (KB_SESSION_RECORD_MAX - 1) * sizeof(rec->ids[0]));
        rec->n--;
    }
    rec->ids[rec->n++] = id;
}

static void load_dir(kb_session_record_t *rec, const char *dir) {
    char path[PATH_LEN], line[64];
    if ((size_t)snprintf(path, sizeof(path), "%s/" KB_SESSION_RECORD_FILE, dir) >= sizeof(path)) return;
    FILE *f = fopen(path, "re");
    if (!f) return;
    while (fgets(line, sizeof(line), f)) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(line, &end, 16);
        /* Anything else than a hex id per line (a torn write) is skipped. */
        if (errno == 0 && end != line && (*end == '\n' || *end == '\0')) record_push(rec, (int64_t)v);
    }
    fclose(f);
}

void kb_session_record_load(kb_session_record_t *rec, const kb_config_t *cfg) {
    rec->n = 0;
    for (int i = 0; i < cfg->n_log_dirs; i++) load_dir(rec, cfg->log_dirs[i]);
}

static int write_dir(const kb_session_record_t *rec, const char *dir) {
    char path[PATH_LEN], tmp[PATH_LEN + 8], text[KB_SESSION_RECORD_MAX * 20];
    size_t len = 0;
    for (int i = 0; i < rec->n; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%" PRIx64 "\n", (uint64_t)rec->ids[i]);
    if ((size_t)snprintf(path, sizeof(path), "%s/" KB_SESSION_RECORD_FILE, dir) >= sizeof(path)) return -1;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    bool ok = write(fd, text, len) == (ssize_t)len;
    if (close(fd) != 0) ok = false;
    if (ok && rename(tmp, path) == 0) return 0;
    int saved = errno;
    unlink(tmp);
    errno = saved;
    return -1;
}

int kb_session_record_add(kb_session_record_t *rec, const kb_config_t *cfg, int64_t id) {
    int rc = 0;
    record_push(rec, id);
    for (int i = 0; i < cfg->n_log_dirs; i++) {
        if (write_dir(rec, cfg->log_dirs[i]) == 0) continue;
        /* Only the fast restart after kill -9 depends on it: such a restart
         * then waits for the old session to expire instead. */
        kc_warn("registration", "cannot record ZooKeeper session 0x%" PRIx64 " in %s/" KB_SESSION_RECORD_FILE ": %s",
                (uint64_t)id, cfg->log_dirs[i], strerror(errno));
        rc = -1;
    }
    return rc;
}
