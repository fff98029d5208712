/*
 * beian-sync: streaming reader of provider documents.
 *
 * The structure around DomainSet is walked token by token here; each key
 * and each value is decoded with json_loadb(JSON_DISABLE_EOF_CHECK), whose
 * error.position says how many bytes the value took.  jansson also bounds
 * nesting (JSON_PARSER_MAX_DEPTH), so no input recurses deeply here.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doc.h"
#include "util.h"


#define VALUE_FLAGS   (JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK \
                       | JSON_REJECT_DUPLICATES)

/* A NUL inside a record's string is a rejected record, not a broken
 * document: let it through and let the validator name the field. */
#define RECORD_FLAGS  (VALUE_FLAGS | JSON_ALLOW_NUL)

/* Reading a mapped file, give back the pages already parsed every so
 * often: they would otherwise all count as resident until the end. */
#define DROP_EVERY    (64u << 20)


typedef struct {
    const char      *buf;
    size_t           len;
    size_t           pos;
    const char      *source;
    size_t           index_base;
    size_t           line_off;      /* line_no is the line of line_off */
    size_t           line_no;
    size_t           dropped;       /* bytes before this were madvised */
    int              drop_behind;
    sync_record_pt   cb;
    void            *data;
    sync_doc_t      *doc;
    char            *err;
    size_t           err_len;
    int              have_response;
    int              have_set;
    int              have_error;
} rd_t;

typedef sync_doc_rc_t (*member_pt)(rd_t *rd, const char *key);


const char *
sync_json_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL:    return "a real number";
    case JSON_TRUE:    return "true";
    case JSON_FALSE:   return "false";
    case JSON_NULL:    return "null";
    }
    return "unknown";
}


/* Line numbers are counted incrementally: records only move forward. */
static size_t
line_at(rd_t *rd, size_t off)
{
    const char  *p, *end;

    if (off < rd->line_off) {
        rd->line_off = 0;
        rd->line_no = 1;
    }

    p = rd->buf + rd->line_off;
    end = rd->buf + off;

    while (p < end && (p = memchr(p, '\n', (size_t) (end - p))) != NULL) {
        rd->line_no++;
        p++;
    }

    rd->line_off = off;
    return rd->line_no;
}


static sync_doc_rc_t
fail(rd_t *rd, size_t off, const char *fmt, ...)
{
    int          n;
    size_t       line, col;
    const char  *nl;
    va_list      ap;
    char         msg[BEIAN_SYNC_MSG_MAX];

    if (off > rd->len) {
        off = rd->len;
    }

    line = line_at(rd, off);
    nl = off ? memrchr(rd->buf, '\n', off) : NULL;
    col = nl ? (size_t) (rd->buf + off - nl) : off + 1;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    n = snprintf(rd->err, rd->err_len, "%s:%zu:%zu: ", rd->source, line, col);
    if (n >= 0 && (size_t) n < rd->err_len) {
        sync_display(rd->err + n, rd->err_len - (size_t) n, msg, strlen(msg));
    }

    return SYNC_DOC_SYNTAX;
}


static sync_doc_rc_t
fail_expected(rd_t *rd, const char *what)
{
    unsigned char  c;

    if (rd->pos >= rd->len) {
        return fail(rd, rd->pos, "unexpected end of input, expected %s "
                    "(truncated?)", what);
    }

    c = (unsigned char) rd->buf[rd->pos];
    if (c > 0x20 && c < 0x7f) {
        return fail(rd, rd->pos, "expected %s, found '%c'", what, c);
    }
    return fail(rd, rd->pos, "expected %s, found byte 0x%02x", what, c);
}


static void
skip_ws(rd_t *rd)
{
    char  c;

    while (rd->pos < rd->len) {
        c = rd->buf[rd->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }
        rd->pos++;
    }
}


/* Moves past the byte c if it is next. */
static int
eat(rd_t *rd, char c)
{
    if (rd->pos < rd->len && rd->buf[rd->pos] == c) {
        rd->pos++;
        return 1;
    }
    return 0;
}


/* Decodes the value at rd->pos and moves past it. */
static sync_doc_rc_t
decode(rd_t *rd, size_t flags, json_t **out, const char *what)
{
    json_t        *v;
    json_error_t   e;

    v = json_loadb(rd->buf + rd->pos, rd->len - rd->pos, flags, &e);
    if (v == NULL) {
        return fail(rd, rd->pos + (e.position > 0 ? (size_t) e.position : 0),
                    "%s: %s", what, e.text);
    }

    /* error.position is an int: a value of 2 GiB cannot be measured */
    if (e.position <= 0 || (size_t) e.position > rd->len - rd->pos) {
        json_decref(v);
        return fail(rd, rd->pos, "%s: value too large", what);
    }

    rd->pos += (size_t) e.position;
    *out = v;
    return SYNC_DOC_OK;
}


static sync_doc_rc_t
skip_value(rd_t *rd, const char *key)
{
    json_t         *v;
    sync_doc_rc_t   rc;

    rc = decode(rd, VALUE_FLAGS, &v, key);
    if (rc == SYNC_DOC_OK) {
        json_decref(v);
    }
    return rc;
}


/* The value at rd->pos is not what key must be: say what it is. */
static sync_doc_rc_t
fail_type(rd_t *rd, const char *key, const char *expected)
{
    json_t         *v;
    size_t          off = rd->pos;
    sync_doc_rc_t   rc;

    rc = decode(rd, VALUE_FLAGS, &v, key);
    if (rc != SYNC_DOC_OK) {
        return rc;
    }

    rc = fail(rd, off, "\"%s\" is %s, expected %s", key, sync_json_type(v),
              expected);
    json_decref(v);
    return rc;
}


static void
drop_behind(rd_t *rd)
{
    size_t  page, upto;

    if (!rd->drop_behind || rd->pos - rd->dropped < DROP_EVERY) {
        return;
    }

    /* keep the last megabyte: error messages look back for a newline */
    page = (size_t) sysconf(_SC_PAGESIZE);
    upto = (rd->pos - (1u << 20)) / page * page;
    if (upto > rd->dropped) {
        (void) madvise((char *) rd->buf + rd->dropped, upto - rd->dropped,
                       MADV_DONTNEED);
        rd->dropped = upto;
    }
}


static sync_doc_rc_t
read_records(rd_t *rd, const char *array)
{
    size_t          i, off;
    json_t         *v;
    json_error_t    e;
    sync_pos_t      p;
    sync_doc_rc_t   rc;
    char            defect[160];

    rd->pos++;                                  /* '[' */
    skip_ws(rd);
    if (eat(rd, ']')) {
        return SYNC_DOC_OK;
    }

    for (i = 0; ; i++) {
        skip_ws(rd);
        off = rd->pos;

        p.defect = NULL;
        v = json_loadb(rd->buf + off, rd->len - off, RECORD_FLAGS, &e);

        if (v == NULL && json_error_code(&e) == json_error_duplicate_key) {
            /* well-formed JSON: skip just this record, say why */
            snprintf(defect, sizeof(defect), "%s", e.text);
            p.defect = defect;
            v = json_loadb(rd->buf + off, rd->len - off,
                           RECORD_FLAGS & ~(size_t) JSON_REJECT_DUPLICATES,
                           &e);
        }

        if (v == NULL) {
            return fail(rd, off + (e.position > 0 ? (size_t) e.position : 0),
                        "%s[%zu]: %s", array, rd->index_base + i, e.text);
        }

        if (e.position <= 0 || (size_t) e.position > rd->len - off) {
            json_decref(v);
            return fail(rd, off, "%s[%zu]: value too large", array,
                        rd->index_base + i);
        }

        rd->pos += (size_t) e.position;

        p.source = rd->source;
        p.array = array;
        p.index = rd->index_base + i;
        p.line = line_at(rd, off);

        rd->doc->records++;
        rc = rd->cb(v, &p, rd->data) ? SYNC_DOC_STOPPED : SYNC_DOC_OK;
        json_decref(v);
        if (rc != SYNC_DOC_OK) {
            return rc;
        }

        drop_behind(rd);

        skip_ws(rd);
        if (eat(rd, ',')) {
            continue;
        }
        if (eat(rd, ']')) {
            return SYNC_DOC_OK;
        }

        snprintf(defect, sizeof(defect), "',' or ']' after %s[%zu]", array,
                 rd->index_base + i);
        return fail_expected(rd, defect);
    }
}


/* Walks an object's members; duplicate keys are refused at this level
 * too, as jansson refuses them inside values. */
static sync_doc_rc_t
read_object(rd_t *rd, member_pt member)
{
    size_t          off;
    json_t         *seen, *k = NULL;
    const char     *key;
    sync_doc_rc_t   rc;

    seen = json_object();
    if (seen == NULL) {
        return SYNC_DOC_NOMEM;
    }

    rd->pos++;                                  /* '{' */
    skip_ws(rd);
    if (eat(rd, '}')) {
        rc = SYNC_DOC_OK;
        goto done;
    }

    for ( ;; ) {
        skip_ws(rd);
        if (rd->pos >= rd->len || rd->buf[rd->pos] != '"') {
            rc = fail_expected(rd, "a key");
            goto done;
        }

        off = rd->pos;
        rc = decode(rd, VALUE_FLAGS, &k, "key");
        if (rc != SYNC_DOC_OK) {
            goto done;
        }
        key = json_string_value(k);

        if (json_object_get(seen, key) != NULL) {
            rc = fail(rd, off, "duplicate key \"%s\"", key);
            goto done;
        }
        if (json_object_set_new(seen, key, json_true()) != 0) {
            rc = SYNC_DOC_NOMEM;
            goto done;
        }

        skip_ws(rd);
        if (!eat(rd, ':')) {
            rc = fail_expected(rd, "':' after a key");
            goto done;
        }
        skip_ws(rd);
        if (rd->pos >= rd->len) {
            rc = fail_expected(rd, "a value");
            goto done;
        }

        rc = member(rd, key);
        if (rc != SYNC_DOC_OK) {
            goto done;
        }
        json_decref(k);
        k = NULL;

        skip_ws(rd);
        if (eat(rd, ',')) {
            continue;
        }
        if (eat(rd, '}')) {
            rc = SYNC_DOC_OK;
            goto done;
        }
        rc = fail_expected(rd, "',' or '}'");
        goto done;
    }

done:

    json_decref(k);
    json_decref(seen);
    return rc;
}


static void
copy_str(char *dst, size_t size, const json_t *s)
{
    if (s == NULL) {
        dst[0] = '\0';
        return;
    }
    sync_display(dst, size, json_string_value(s), json_string_length(s));
}


static sync_doc_rc_t
read_error(rd_t *rd)
{
    size_t          off = rd->pos;
    json_t         *v, *code, *msg;
    sync_doc_rc_t   rc;

    rc = decode(rd, VALUE_FLAGS, &v, "Error");
    if (rc != SYNC_DOC_OK) {
        return rc;
    }

    code = json_object_get(v, "Code");
    msg = json_object_get(v, "Message");

    if ((code && !json_is_string(code)) || (msg && !json_is_string(msg))) {
        json_decref(v);
        return fail(rd, off, "\"Error\": Code and Message must be strings");
    }

    copy_str(rd->doc->error_code, sizeof(rd->doc->error_code), code);
    copy_str(rd->doc->error_message, sizeof(rd->doc->error_message), msg);
    if (code == NULL) {
        strcpy(rd->doc->error_code, "(no code)");
    }

    rd->have_error = 1;
    json_decref(v);
    return SYNC_DOC_OK;
}


static sync_doc_rc_t
response_member(rd_t *rd, const char *key)
{
    size_t          off = rd->pos;
    json_t         *v;
    sync_doc_rc_t   rc;

    if (strcmp(key, "DomainSet") == 0) {
        if (rd->buf[rd->pos] != '[') {
            return fail_type(rd, key, "an array");
        }
        rd->have_set = 1;
        return read_records(rd, "DomainSet");
    }

    if (strcmp(key, "Error") == 0) {
        if (rd->buf[rd->pos] != '{') {
            return fail_type(rd, key, "an object");
        }
        return read_error(rd);
    }

    if (strcmp(key, "TotalCount") == 0 || strcmp(key, "RequestId") == 0) {
        rc = decode(rd, VALUE_FLAGS, &v, key);
        if (rc != SYNC_DOC_OK) {
            return rc;
        }

        if (key[0] == 'T') {
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                rc = fail(rd, off, "\"TotalCount\" is %s, expected a "
                          "non-negative integer", json_is_integer(v)
                          ? "negative" : sync_json_type(v));
            } else {
                rd->doc->total_count = json_integer_value(v);
            }

        } else if (!json_is_string(v)) {
            rc = fail(rd, off, "\"RequestId\" is %s, expected a string",
                      sync_json_type(v));
        } else {
            copy_str(rd->doc->request_id, sizeof(rd->doc->request_id), v);
        }

        json_decref(v);
        return rc;
    }

    /* forward compatible: the provider may add fields */
    return skip_value(rd, key);
}


static sync_doc_rc_t
top_member(rd_t *rd, const char *key)
{
    if (strcmp(key, "Response") != 0) {
        return skip_value(rd, key);
    }

    rd->have_response = 1;
    if (rd->buf[rd->pos] != '{') {
        return fail_type(rd, key, "an object");
    }
    return read_object(rd, response_member);
}


static sync_doc_rc_t
doc_parse(rd_t *rd)
{
    sync_doc_rc_t  rc;
    sync_doc_t    *doc = rd->doc;

    memset(doc, 0, sizeof(*doc));
    doc->total_count = -1;
    rd->line_no = 1;

    /* a UTF-8 byte order mark, as some editors save it (RFC 8259 §8.1) */
    if (rd->len >= 3 && memcmp(rd->buf, "\xef\xbb\xbf", 3) == 0) {
        rd->pos = 3;
    }

    skip_ws(rd);
    if (rd->pos >= rd->len) {
        return fail(rd, rd->pos, "empty document");
    }

    if (rd->buf[rd->pos] == '[') {
        rc = read_records(rd, "");

    } else if (rd->buf[rd->pos] == '{') {
        doc->envelope = 1;
        rc = read_object(rd, top_member);
        if (rc == SYNC_DOC_OK && !rd->have_response) {
            rc = fail(rd, 0, "no \"Response\" object: not a provider "
                      "response document");
        }

    } else {
        rc = fail_expected(rd, "{\"Response\": ...} or an array of records");
    }

    if (rc != SYNC_DOC_OK) {
        return rc;
    }

    skip_ws(rd);
    if (rd->pos < rd->len) {
        return fail(rd, rd->pos, "trailing data after the document");
    }

    if (rd->have_error) {
        snprintf(rd->err, rd->err_len, "%s: provider error %s: %s "
                 "(RequestId %s)", rd->source, doc->error_code,
                 doc->error_message[0] ? doc->error_message : "(no message)",
                 doc->request_id[0] ? doc->request_id : "none");
        return SYNC_DOC_PROVIDER;
    }

    if (doc->envelope && !rd->have_set) {
        return fail(rd, 0, "\"Response\" has neither \"DomainSet\" nor "
                    "\"Error\"");
    }

    return SYNC_DOC_OK;
}


sync_doc_rc_t
sync_doc_parse(const char *buf, size_t len, const char *source,
    size_t index_base, sync_record_pt cb, void *data, sync_doc_t *doc,
    char *err, size_t err_len)
{
    rd_t  rd;

    memset(&rd, 0, sizeof(rd));
    rd.buf = buf;
    rd.len = len;
    rd.source = source;
    rd.index_base = index_base;
    rd.cb = cb;
    rd.data = data;
    rd.doc = doc;
    rd.err = err;
    rd.err_len = err_len;

    return doc_parse(&rd);
}


/* Pipes and standard input cannot be mapped: read them whole. */
static sync_doc_rc_t
read_all(int fd, const char *path, char **out, size_t *out_len, char *err,
    size_t err_len)
{
    char     *buf = NULL, *nbuf;
    size_t    len = 0, size = 0;
    ssize_t   n;

    for ( ;; ) {
        if (len == size) {
            size = size ? size * 2 : 1 << 16;
            nbuf = realloc(buf, size);
            if (nbuf == NULL) {
                free(buf);
                snprintf(err, err_len, "%s: out of memory", path);
                return SYNC_DOC_NOMEM;
            }
            buf = nbuf;
        }

        n = read(fd, buf + len, size - len);
        if (n == 0) {
            break;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            snprintf(err, err_len, "%s: read: %s", path, strerror(errno));
            free(buf);
            return SYNC_DOC_IO;
        }
        len += (size_t) n;
    }

    *out = buf;
    *out_len = len;
    return SYNC_DOC_OK;
}


sync_doc_rc_t
sync_doc_parse_file(const char *path, sync_record_pt cb, void *data,
    sync_doc_t *doc, char *err, size_t err_len)
{
    int             fd;
    char           *buf = NULL, *map = NULL;
    size_t          len = 0;
    rd_t            rd;
    struct stat     st;
    sync_doc_rc_t   rc;

    memset(&rd, 0, sizeof(rd));
    memset(doc, 0, sizeof(*doc));
    doc->total_count = -1;

    if (strcmp(path, "-") == 0) {
        fd = STDIN_FILENO;
        path = "<stdin>";
    } else {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd == -1) {
            snprintf(err, err_len, "%s: %s", path, strerror(errno));
            return SYNC_DOC_IO;
        }
    }

    if (fstat(fd, &st) != 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        rc = SYNC_DOC_IO;
        goto done;
    }

    if (S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "%s: is a directory", path);
        rc = SYNC_DOC_IO;
        goto done;
    }

    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        len = (size_t) st.st_size;
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            map = NULL;
            snprintf(err, err_len, "%s: mmap: %s", path, strerror(errno));
            rc = SYNC_DOC_IO;
            goto done;
        }
        (void) madvise(map, len, MADV_SEQUENTIAL);
        rd.buf = map;
        rd.drop_behind = 1;

    } else if (!S_ISREG(st.st_mode)) {
        rc = read_all(fd, path, &buf, &len, err, err_len);
        if (rc != SYNC_DOC_OK) {
            goto done;
        }
        rd.buf = buf;

    } else {
        rd.buf = "";
    }

    rd.len = len;
    rd.source = path;
    rd.cb = cb;
    rd.data = data;
    rd.doc = doc;
    rd.err = err;
    rd.err_len = err_len;

    rc = doc_parse(&rd);

done:

    if (map) {
        munmap(map, len);
    }
    free(buf);
    if (fd != STDIN_FILENO) {
        close(fd);
    }
    return rc;
}
