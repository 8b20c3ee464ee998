/* stderrfix.c - see stderrfix.h. */
#include "stderrfix.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static FILE *captured;
static int saved_stderr = -1;

void stderrfix_capture(void) {
    ck_assert_ptr_null(captured);
    captured = tmpfile();
    ck_assert_ptr_nonnull(captured);
    fflush(stderr);
    saved_stderr = dup(2);
    ck_assert_int_ge(saved_stderr, 0);
    dup2(fileno(captured), 2);
}

int stderrfix_lines_with(const char *a, const char *b) {
    char line[4096];
    int n = 0;
    ck_assert_ptr_nonnull(captured);
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    saved_stderr = -1;
    rewind(captured);
    while (fgets(line, sizeof(line), captured))
        if (strstr(line, a) && strstr(line, b)) n++;
    fclose(captured);
    captured = NULL;
    return n;
}
