/*
 * beian-sync: small helpers shared by the reader, the validator and the
 * report.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include <openssl/crypto.h>

#include "util.h"


#define ARENA_CHUNK  (1024 * 1024)

struct sync_arena_chunk_s {
    sync_arena_chunk_t  *next;
    size_t               used;
    size_t               size;
    char                 data[];
};


char *
sync_arena_strndup(sync_arena_t *a, const char *s, size_t n)
{
    size_t               size;
    char                *p;
    sync_arena_chunk_t  *c = a->head;

    if (c == NULL || c->size - c->used < n + 1) {
        size = n + 1 > ARENA_CHUNK ? n + 1 : ARENA_CHUNK;
        c = malloc(sizeof(*c) + size);
        if (c == NULL) {
            return NULL;
        }
        c->next = a->head;
        c->used = 0;
        c->size = size;
        a->head = c;
    }

    p = c->data + c->used;
    memcpy(p, s, n);
    p[n] = '\0';
    c->used += n + 1;
    return p;
}


void
sync_arena_free(sync_arena_t *a)
{
    sync_arena_chunk_t  *c, *next;

    for (c = a->head; c; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
}


char *
sync_display(char *out, size_t size, const char *s, size_t len)
{
    size_t          i, o, cut;
    unsigned char   c;

    if (size == 0) {
        return out;
    }

    cut = len;
    if (len > size - 1) {
        /* room for "..." and the NUL; never split a UTF-8 sequence */
        cut = size > 4 ? size - 4 : 0;
        while (cut > 0 && ((unsigned char) s[cut] & 0xc0) == 0x80) {
            cut--;
        }
    }

    for (i = 0, o = 0; i < cut; i++) {
        c = (unsigned char) s[i];
        out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char) c;
    }

    if (cut < len && size > 4) {
        memcpy(out + o, "...", 3);
        o += 3;
    }

    out[o] = '\0';
    return out;
}


int
sync_is_token(const char *s, size_t len)
{
    size_t  i;

    if (len == 0) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x21 || (unsigned char) s[i] > 0x7e) {
            return 0;
        }
    }
    return 1;
}


int
sync_has_control(const char *s)
{
    for ( ; *s; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f) {
            return 1;
        }
    }
    return 0;
}


char *
sync_trim(char *s)
{
    char  *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'
                     || e[-1] == '\n'))
    {
        *--e = '\0';
    }
    return s;
}


int
sync_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char           *end;
    unsigned long   v;

    /* strtoul() would take blanks and a sign */
    if (*s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = (unsigned) v;
    return 0;
}


/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t   era;
    unsigned  yoe, doy, doe, mp;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    mp = m > 2 ? m - 3 : m + 9;             /* March = 0 */
    doy = (153 * mp + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t) doe - 719468;
}


static int
digits(const char *s, size_t n, unsigned *out)
{
    size_t    i;
    unsigned  v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (unsigned) (s[i] - '0');
    }

    *out = v;
    return 0;
}


int
sync_rfc3339_parse(const char *s, size_t len, int64_t *sec, int32_t *nsec)
{
    size_t    i;
    unsigned  y, mo, d, h, mi, se, oh, om, mdays;
    int32_t   ns, scale;
    int64_t   off;

    static const unsigned char  dim[12] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    /* full-date "T" partial-time: 19 bytes before fractions and offset */
    if (len < 20
        || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo)
        || s[7] != '-' || digits(s + 8, 2, &d)
        || (s[10] != 'T' && s[10] != 't')
        || digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi)
        || s[16] != ':' || digits(s + 17, 2, &se))
    {
        return -1;
    }

    if (mo < 1 || mo > 12) {
        return -1;
    }

    mdays = dim[mo - 1];
    if (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) {
        mdays = 29;
    }

    /* second 60 is a leap second: it orders like :59 */
    if (d < 1 || d > mdays || h > 23 || mi > 59 || se > 60) {
        return -1;
    }

    i = 19;
    ns = 0;

    if (s[i] == '.') {
        i++;
        if (i >= len || s[i] < '0' || s[i] > '9') {
            return -1;
        }
        /* keep nanoseconds, ignore finer digits */
        for (scale = 100000000; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            ns += (s[i] - '0') * scale;
            scale /= 10;
        }
    }

    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        off = 0;

    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-')
               && digits(s + i + 1, 2, &oh) == 0 && s[i + 3] == ':'
               && digits(s + i + 4, 2, &om) == 0 && oh <= 23 && om <= 59)
    {
        off = (int64_t) (oh * 3600 + om * 60);
        if (s[i] == '-') {
            off = -off;
        }

    } else {
        return -1;
    }

    *sec = days_from_civil(y, mo, d) * 86400
           + (int64_t) (h * 3600 + mi * 60 + (se == 60 ? 59 : se)) - off;
    *nsec = ns;
    return 0;
}


void
sync_rfc3339_format(int64_t sec, char out[32])
{
    time_t     t = (time_t) sec;
    struct tm  tm;

    if (gmtime_r(&t, &tm) == NULL
        || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    {
        strcpy(out, "invalid-time");
    }
}


int
sync_read_private(const char *what, const char *path, mode_t forbidden,
    size_t max, char **buf, size_t *len, struct stat *st, char *err,
    size_t err_len)
{
    int       fd, rc = -1;
    ssize_t   r;

    *buf = NULL;
    *len = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        if (errno == ENOENT) {
            return 1;
        }
        snprintf(err, err_len, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }

    /* the checks are on the file that was opened, not on the name */
    if (fstat(fd, st) != 0) {
        snprintf(err, err_len, "%s %s: %s", what, path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st->st_mode)) {
        snprintf(err, err_len, "%s %s: not a regular file", what, path);
        goto done;
    }
    if (st->st_mode & forbidden) {
        if (forbidden & (S_IRGRP | S_IROTH)) {
            snprintf(err, err_len, "%s %s: refused, it is group- or "
                     "world-accessible (mode %03o; chmod 600 %s)", what,
                     path, (unsigned) (st->st_mode & 0777), path);
        } else {
            snprintf(err, err_len, "%s %s: refused, it is group- or "
                     "world-writable (chmod go-w %s)", what, path, path);
        }
        goto done;
    }
    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        snprintf(err, err_len, "%s %s: refused, it is owned by uid %u, "
                 "neither root nor the user running beian-sync", what, path,
                 (unsigned) st->st_uid);
        goto done;
    }
    if ((size_t) st->st_size > max) {
        snprintf(err, err_len, "%s %s: larger than %zu bytes", what, path,
                 max);
        goto done;
    }

    *buf = malloc(max + 1);
    if (*buf == NULL) {
        snprintf(err, err_len, "out of memory");
        goto done;
    }

    while (*len < max && (r = read(fd, *buf + *len, max - *len)) != 0) {
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            snprintf(err, err_len, "%s %s: %s", what, path, strerror(errno));
            goto done;
        }
        *len += (size_t) r;
    }
    (*buf)[*len] = '\0';

    if (memchr(*buf, '\0', *len) != NULL) {
        snprintf(err, err_len, "%s %s: contains a NUL byte", what, path);
        goto done;
    }

    rc = 0;

done:

    if (rc != 0 && *buf != NULL) {
        /* it may hold a secret */
        OPENSSL_cleanse(*buf, max + 1);
        free(*buf);
        *buf = NULL;
    }

    close(fd);
    return rc;
}
