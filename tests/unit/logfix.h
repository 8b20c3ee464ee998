/*
 * logfix.h - fixtures shared by the suites that exercise broker/log on real
 * files: producer batches built byte by byte (wire-protocol.md 5.1, 5.4) and
 * a temporary log dir with a broker configuration around it.
 *
 * Check runs each test in its own process, so one fixture per process is
 * enough: logfix_setup() in a tcase's setup, logfix_teardown() in its
 * teardown.
 */
#ifndef KB_LOGFIX_H
#define KB_LOGFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/kb_config.h"
#include "broker/log/kb_log.h"

typedef struct logfix {
    char dir[64];
    struct event_base *base;
    kb_config_t cfg;
    char err[512];
} logfix_t;

extern logfix_t lf;

/* A valid uncompressed producer batch: n records with key "k<i>" (or null
 * keys), value_len bytes of 'v', timestamps ts, ts+1, ...; base offset 0,
 * CreateTime, no producer id, correct CRC.  buf must hold
 * 61 + n * (value_len + 24) bytes; returns the batch size. */
size_t logfix_batch(uint8_t *buf, int n, size_t value_len, bool keys, int64_t ts);

/* Creates /tmp/kb-test-<tag>-XXXXXX, an event base and a configuration with
 * log.dir there; logfix_set() adds keys before logfix_open(). */
void logfix_setup(const char *tag);
void logfix_teardown(void);
void logfix_set(const char *key, const char *value);
kb_logmgr_t *logfix_open(void);

#endif
