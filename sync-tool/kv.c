/*
 * beian-sync: the key = value reader of config and credentials files.
 */

#include <stdio.h>
#include <string.h>

#include "kv.h"
#include "util.h"


/* Cuts a comment: '#' at the start or after a blank; quotes protect it. */
static void
cut_comment(char *s)
{
    int    quoted = 0;
    char  *p;

    for (p = s; *p; p++) {
        if (*p == '"') {
            quoted = !quoted;
        } else if (*p == '#' && !quoted
                   && (p == s || p[-1] == ' ' || p[-1] == '\t'))
        {
            *p = '\0';
            return;
        }
    }
}


int
sync_kv_parse(const char *what, const char *path, char *buf, size_t len,
    unsigned flags, sync_kv_pt fn, void *data, char *err, size_t err_len)
{
    char       *line, *next, *eq, *key, *val, *end;
    size_t      vlen;
    sync_kv_t   kv;

    kv.line = 0;
    kv.section = "";

    for (line = buf; line < buf + len; line = next) {
        next = memchr(line, '\n', (size_t) (buf + len - line));
        if (next) {
            *next++ = '\0';
        } else {
            next = buf + len;
        }
        kv.line++;

        key = sync_trim(line);
        if ((flags & SYNC_KV_SEMICOLON) && *key == ';') {
            continue;
        }
        cut_comment(key);
        key = sync_trim(key);
        if (*key == '\0') {
            continue;
        }

        if (*key == '[' && (flags & SYNC_KV_SECTIONS)) {
            end = strchr(key, ']');
            if (end == NULL || end[1] != '\0') {
                snprintf(err, err_len, "%s %s:%zu: expected \"[section]\"",
                         what, path, kv.line);
                return -1;
            }
            *end = '\0';
            kv.section = sync_trim(key + 1);
            continue;
        }

        eq = strchr(key, '=');
        if (eq == NULL) {
            snprintf(err, err_len, "%s %s:%zu: expected \"key = value\"",
                     what, path, kv.line);
            return -1;
        }
        *eq = '\0';
        key = sync_trim(key);
        val = sync_trim(eq + 1);

        vlen = strlen(val);
        if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
            val[vlen - 1] = '\0';
            val++;
        }

        kv.key = key;
        kv.value = val;
        if (fn(&kv, data, err, err_len) != 0) {
            return -1;
        }
    }

    return 0;
}
