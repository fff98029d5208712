/*
 * beian-sync: small helpers shared by the reader, the validator and the
 * report: a string arena, safe display of untrusted text, RFC 3339.
 */

#ifndef SYNC_UTIL_H
#define SYNC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>


/* Room for one diagnostic line. */
#define BEIAN_SYNC_MSG_MAX  1024

/*
 * Bump allocator for the admitted records' strings: a million records would
 * otherwise cost three million malloc() calls and their headers.
 */
typedef struct sync_arena_chunk_s  sync_arena_chunk_t;

typedef struct {
    sync_arena_chunk_t  *head;
} sync_arena_t;

/* Copies n bytes and a NUL; NULL when out of memory. */
char *sync_arena_strndup(sync_arena_t *a, const char *s, size_t n);
void sync_arena_free(sync_arena_t *a);


/*
 * Copies untrusted text (record fields, provider messages) for a terminal
 * or a log line: control bytes become '?', and text longer than size - 1
 * bytes is cut on a UTF-8 boundary and ends in "...".  Returns out.
 */
char *sync_display(char *out, size_t size, const char *s, size_t len);


/* Printable ASCII without blanks, at least one byte: what may go into an
 * HTTP header (a CR or LF would inject one). */
int sync_is_token(const char *s, size_t len);

/* Whether s holds a control byte (< 0x20 or DEL). */
int sync_has_control(const char *s);

/* Cuts blanks off the start and blanks, CR and LF off the end, in place. */
char *sync_trim(char *s);

/* A decimal integer min..max, digits only: 0, or -1. */
int sync_parse_uint(const char *s, unsigned min, unsigned max,
    unsigned *out);


/*
 * RFC 3339 date-time ("2024-05-01T08:00:00+08:00", "...Z", fractions):
 * 0 and the instant as unix seconds + nanoseconds, or -1 when invalid.
 */
int sync_rfc3339_parse(const char *s, size_t len, int64_t *sec,
    int32_t *nsec);

/* Formats unix seconds as "YYYY-MM-DDTHH:MM:SSZ". */
void sync_rfc3339_format(int64_t sec, char out[32]);


/*
 * Reads a small file that may hold secrets (config, credentials), checking
 * the file that was opened, not the name: a regular file, owned by root or
 * the running user, none of the mode bits in forbidden, at most max bytes,
 * no NUL byte.  On 0, *buf (NUL-terminated, max + 1 bytes: wipe it with
 * OPENSSL_cleanse before free) and *st are set.  1 when it does not exist,
 * -1 with err set ("WHAT PATH: ...").
 */
int sync_read_private(const char *what, const char *path, mode_t forbidden,
    size_t max, char **buf, size_t *len, struct stat *st, char *err,
    size_t err_len);

#endif /* SYNC_UTIL_H */
