/*
 * stderrfix.h - the log lines a test provokes, counted: kc_log writes to
 * stderr, which stderrfix_capture() sends to a temporary file until
 * stderrfix_lines_with() puts it back and counts.  Used by the tests that
 * hold a module to writing few lines whatever a peer does (kc_log_limited).
 */
#ifndef KB_STDERRFIX_H
#define KB_STDERRFIX_H

/* stderr goes to a temporary file from now on. */
void stderrfix_capture(void);
/* Puts stderr back and returns how many captured lines contain both a
 * and b ("" matches every line). */
int stderrfix_lines_with(const char *a, const char *b);

#endif
