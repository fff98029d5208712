/* Common includes and helpers for the cmocka unit tests. */
#ifndef BEIAN_UNIT_H
#define BEIAN_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>


/* A fresh directory from a mkdtemp template ("/tmp/beian-x-XXXXXX"), in
 * out (of size bytes); 0 or -1, as a cmocka setup returns. */
static inline int
unit_mkdtemp(char *out, size_t size, const char *tmpl)
{
    snprintf(out, size, "%s", tmpl);
    return mkdtemp(out) == NULL ? -1 : 0;
}


/* Removes a directory and all in it; 0 or -1, as a teardown returns. */
static inline int
unit_rm_rf(const char *d)
{
    char  cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    return system(cmd) == 0 ? 0 : -1;
}


/* Creates or replaces a file holding text. */
static inline void
unit_write_file(const char *file, const char *text)
{
    FILE  *f = fopen(file, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

#endif
