/*
 * Shared by the fuzz targets (fuzz/README.md).  Each target defines
 * LLVMFuzzerTestOneInput(); libFuzzer drives it under `make fuzz`, and
 * fuzz/replay.c drives it over the committed inputs under `make
 * fuzz-replay`.
 */

#ifndef BEIAN_FUZZ_H
#define BEIAN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An invariant that does not hold is a finding like a crash: abort() so
 * that libFuzzer saves the input and the replay fails.
 */
#define FUZZ_CHECK(cond, ...)                                                \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: invariant \"%s\" broken: ", __FILE__,    \
                    __LINE__, #cond);                                        \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            abort();                                                         \
        }                                                                    \
    } while (0)

/*
 * A private temp directory for the process, removed at exit with whatever
 * the target left in it.  Prefers /dev/shm: the snapshot target writes a
 * file per input.  Returns the path; exits on failure.
 */
const char *fuzz_tmpdir(void);

#endif /* BEIAN_FUZZ_H */
