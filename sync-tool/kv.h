/*
 * beian-sync: the one reader of key = value files: the config file of
 * pull and status, and the credentials file (INI, ~/.tencentcloud/
 * credentials).
 *
 * A line is blank, a comment, `key = value` (blanks around either side
 * ignored), or, where sections are allowed, `[section]`.  A '#' starts a
 * comment at the start of a line or after a blank (so `a#b` is a value);
 * where SYNC_KV_SEMICOLON is set, so does a ';' at the start of a line.  A
 * value may be "double-quoted" to keep a " #" in it; the quotes go.
 */

#ifndef SYNC_KV_H
#define SYNC_KV_H

#include <stddef.h>


#define SYNC_KV_SECTIONS    0x01        /* [section] lines are allowed */
#define SYNC_KV_SEMICOLON   0x02        /* ';' comment lines too */

typedef struct {
    size_t       line;
    const char  *section;               /* "" before any [section] */
    const char  *key;
    const char  *value;
} sync_kv_t;

/* Called per entry; non-zero stops the reading (err set by it). */
typedef int (*sync_kv_pt)(const sync_kv_t *kv, void *data, char *err,
    size_t err_len);

/*
 * Splits buf, a whole file of len bytes (NUL-terminated, modified in
 * place), into entries for fn.  what and path name the file in messages
 * ("WHAT PATH:LINE: expected \"key = value\"").  0, or -1 with err.
 */
int sync_kv_parse(const char *what, const char *path, char *buf, size_t len,
    unsigned flags, sync_kv_pt fn, void *data, char *err, size_t err_len);

#endif /* SYNC_KV_H */
