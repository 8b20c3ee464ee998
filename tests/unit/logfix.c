/*
 * logfix.c - shared fixtures of the log suites (see logfix.h).
 */
#include "tests/unit/logfix.h"

#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/kc_log.h"
#include "proto/kp_batch.h"
#include "proto/kp_buf.h"

logfix_t lf;

static uint8_t *put_varint(uint8_t *p, int64_t v) {
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    for (; u >= 0x80; u >>= 7) *p++ = (uint8_t)(u | 0x80);
    *p++ = (uint8_t)u;
    return p;
}

/* One record at p (its length prefix included); returns the end. */
static uint8_t *put_record(uint8_t *p, int i, size_t value_len, bool keys) {
    uint8_t rec[32], *r = rec;
    *r++ = 0;              /* attributes */
    r = put_varint(r, i);  /* timestamp delta */
    r = put_varint(r, i);  /* offset delta */
    if (keys) {
        r = put_varint(r, 2);
        *r++ = 'k';
        *r++ = (uint8_t)('0' + i % 10);
    } else {
        r = put_varint(r, -1);
    }
    r = put_varint(r, (int64_t)value_len);
    size_t head = (size_t)(r - rec), len = head + value_len + 1; /* + header count */
    p = put_varint(p, (int64_t)len);
    memcpy(p, rec, head);
    memset(p + head, 'v', value_len);
    p += head + value_len;
    return put_varint(p, 0); /* no headers */
}

size_t logfix_batch(uint8_t *buf, int n, size_t value_len, bool keys, int64_t ts) {
    uint8_t *p = buf + KP_BATCH_HEADER_SIZE;
    for (int i = 0; i < n; i++) p = put_record(p, i, value_len, keys);
    size_t size = (size_t)(p - buf);
    memset(buf, 0, KP_BATCH_HEADER_SIZE);
    kp_put_be(buf + KP_BATCH_OFF_LENGTH, size - KP_LOG_OVERHEAD, 4);
    kp_put_be(buf + KP_BATCH_OFF_LEADER_EPOCH, (uint64_t)-1, 4);
    buf[KP_BATCH_OFF_MAGIC] = KP_BATCH_MAGIC;
    kp_put_be(buf + KP_BATCH_OFF_LAST_OFFSET_DELTA, (uint64_t)(n - 1), 4);
    kp_put_be(buf + KP_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)ts, 8);
    kp_put_be(buf + KP_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)(ts + n - 1), 8);
    memset(buf + KP_BATCH_OFF_PRODUCER_ID, 0xff, 8 + 2 + 4);
    kp_put_be(buf + KP_BATCH_OFF_RECORDS_COUNT, (uint64_t)n, 4);
    kp_put_be(buf + KP_BATCH_OFF_CRC, kp_crc32c(0, buf + KP_BATCH_OFF_ATTRIBUTES, size - KP_BATCH_OFF_ATTRIBUTES), 4);
    return size;
}

void logfix_set(const char *key, const char *value) {
    ck_assert_msg(kb_config_set(&lf.cfg, key, value, lf.err, sizeof(lf.err)) == KB_CONFIG_OK, "%s", lf.err);
}

void logfix_setup(const char *tag) {
    kc_log_init("kbroker", -1, KC_LOG_ERROR);
    evthread_use_pthreads();
    lf.base = event_base_new();
    ck_assert_ptr_nonnull(lf.base);
    snprintf(lf.dir, sizeof(lf.dir), "/tmp/kb-test-%s-XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(lf.dir));
    kb_config_defaults(&lf.cfg);
    logfix_set("zookeeper.connect", "localhost:2181");
    logfix_set("log.dir", lf.dir);
}

void logfix_teardown(void) {
    char cmd[128];
    kb_config_free(&lf.cfg);
    event_base_free(lf.base);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", lf.dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", lf.dir);
}

kb_logmgr_t *logfix_open(void) {
    ck_assert_msg(kb_config_finish(&lf.cfg, lf.err, sizeof(lf.err)) == KB_CONFIG_OK, "%s", lf.err);
    kb_logmgr_t *m = kb_logmgr_open(lf.base, &lf.cfg, lf.err, sizeof(lf.err));
    ck_assert_msg(m != NULL, "%s", lf.err);
    return m;
}
