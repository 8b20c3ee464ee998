/*
 * fuzz_file.h - for targets whose parser reads a path (server.properties,
 * checkpoint files): the input is written to one memory file per process
 * and the parser is given its /proc/self/fd path, so no disk is touched.
 */
#ifndef KB_FUZZ_FILE_H
#define KB_FUZZ_FILE_H

#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"

/* The path of a memory file holding exactly data[0..size). */
static inline const char *fz_file(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("kbroker-fuzz", MFD_CLOEXEC);
        FZ_CHECK(fd >= 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    FZ_CHECK(ftruncate(fd, 0) == 0);
    FZ_CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
    return path;
}

#endif
