/*
 * test_session_record.c - the ZooKeeper sessions a broker's processes used,
 * kept in its log dirs (broker/kb_session_record.c): what one process
 * records the next one reads back from every dir, the list keeps the newest
 * KB_SESSION_RECORD_MAX, and a torn or foreign line costs only itself.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/kb_session_record.h"
#include "tests/unit/unit.h"

typedef struct dirs {
    char a[64], b[64];
    kb_config_t cfg;
} dirs_t;

static void dirs_make(dirs_t *d) {
    memset(d, 0, sizeof(*d));
    snprintf(d->a, sizeof(d->a), "/tmp/kb-unit-sessions-XXXXXX");
    snprintf(d->b, sizeof(d->b), "/tmp/kb-unit-sessions-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d->a));
    ck_assert_ptr_nonnull(mkdtemp(d->b));
    d->cfg.n_log_dirs = 2;
    d->cfg.log_dirs[0] = d->a;
    d->cfg.log_dirs[1] = d->b;
}

static void dirs_remove(dirs_t *d) {
    char path[128];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/" KB_SESSION_RECORD_FILE, d->cfg.log_dirs[i]);
        unlink(path);
        rmdir(d->cfg.log_dirs[i]);
    }
}

START_TEST(sessions_recorded_by_one_process_are_read_by_the_next) {
    dirs_t d;
    kb_session_record_t mine = {0}, next;
    dirs_make(&d);
    kb_session_record_load(&mine, &d.cfg);
    ck_assert_int_eq(mine.n, 0);
    ck_assert_int_eq(kb_session_record_add(&mine, &d.cfg, 0x10000abcdef0001LL), 0);
    ck_assert_int_eq(kb_session_record_add(&mine, &d.cfg, 0x10000abcdef0002LL), 0);
    ck_assert_int_eq(kb_session_record_add(&mine, &d.cfg, 0x10000abcdef0002LL), 0); /* no duplicate */
    kb_session_record_load(&next, &d.cfg);
    ck_assert_int_eq(next.n, 2);
    ck_assert(next.ids[0] == 0x10000abcdef0001LL && next.ids[1] == 0x10000abcdef0002LL);
    dirs_remove(&d);
}
END_TEST

START_TEST(only_the_newest_sessions_are_kept) {
    dirs_t d;
    kb_session_record_t rec = {0}, back;
    dirs_make(&d);
    for (int64_t i = 1; i <= KB_SESSION_RECORD_MAX + 3; i++) kb_session_record_add(&rec, &d.cfg, i);
    kb_session_record_load(&back, &d.cfg);
    ck_assert_int_eq(back.n, KB_SESSION_RECORD_MAX);
    ck_assert(back.ids[0] == 4 && back.ids[KB_SESSION_RECORD_MAX - 1] == KB_SESSION_RECORD_MAX + 3);
    dirs_remove(&d);
}
END_TEST

START_TEST(a_torn_line_costs_only_itself_and_dirs_are_merged) {
    dirs_t d;
    kb_session_record_t rec;
    char path[128];
    dirs_make(&d);
    snprintf(path, sizeof(path), "%s/" KB_SESSION_RECORD_FILE, d.a);
    FILE *f = fopen(path, "w");
    fputs("abc\nnot hex\n12z\n\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/" KB_SESSION_RECORD_FILE, d.b);
    f = fopen(path, "w");
    fputs("def\n", f);
    fclose(f);
    kb_session_record_load(&rec, &d.cfg);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(rec.ids[0] == 0xabc && rec.ids[1] == 0xdef);
    dirs_remove(&d);
}
END_TEST

Suite *session_record_suite(void) {
    Suite *s = suite_create("session_record");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, sessions_recorded_by_one_process_are_read_by_the_next);
    tcase_add_test(tc, only_the_newest_sessions_are_kept);
    tcase_add_test(tc, a_torn_line_costs_only_itself_and_dirs_are_merged);
    suite_add_tcase(s, tc);
    return s;
}
