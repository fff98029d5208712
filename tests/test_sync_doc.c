/*
 * beian-sync: the streaming document reader against both document forms
 * and hostile input.
 */

#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "doc.h"
#include "util.h"


#define DATA(f)  "tests/data/" f

typedef struct {
    json_t  *recs;              /* the records seen, in order */
    size_t   index[16];
    size_t   line[16];
    int      defect[16];
    size_t   n;
    size_t   stop_after;        /* 0: never stop */
} seen_t;


static int
collect(json_t *rec, const sync_pos_t *pos, void *data)
{
    seen_t  *s = data;

    json_array_append(s->recs, rec);
    if (s->n < 16) {
        s->index[s->n] = pos->index;
        s->line[s->n] = pos->line;
        s->defect[s->n] = pos->defect != NULL;
    }
    s->n++;
    return s->stop_after && s->n >= s->stop_after;
}


static sync_doc_rc_t
parse(const char *text, seen_t *s, sync_doc_t *doc, char *err, size_t len)
{
    memset(s, 0, sizeof(*s));
    s->recs = json_array();
    return sync_doc_parse(text, len, "mem", 0, collect, s, doc, err,
                          BEIAN_SYNC_MSG_MAX);
}


/* Parses a NUL-terminated text; returns the result code. */
static sync_doc_rc_t
run(const char *text, seen_t *s, sync_doc_t *doc, char *err)
{
    return parse(text, s, doc, err, strlen(text));
}


/* Parses a file, as run() does a text. */
static sync_doc_rc_t
parse_file(const char *path, seen_t *s, sync_doc_t *doc, char *err)
{
    memset(s, 0, sizeof(*s));
    s->recs = json_array();
    return sync_doc_parse_file(path, collect, s, doc, err,
                               BEIAN_SYNC_MSG_MAX);
}


static void
done(seen_t *s)
{
    json_decref(s->recs);
}


static void
test_envelope_file(void **state)
{
    seen_t         s;
    sync_doc_t     doc;
    sync_doc_rc_t  rc;
    char           err[BEIAN_SYNC_MSG_MAX];

    (void) state;

    rc = parse_file(DATA("sync-envelope.json"), &s, &doc, err);
    assert_int_equal(rc, SYNC_DOC_OK);
    assert_int_equal(doc.envelope, 1);
    assert_int_equal(doc.total_count, 4);
    assert_int_equal(doc.records, 4);
    assert_string_equal(doc.request_id, "req-envelope-1");
    assert_int_equal(s.n, 4);

    /* positions: index and the line of the record's first byte */
    assert_int_equal(s.index[0], 0);
    assert_int_equal(s.line[0], 5);
    assert_int_equal(s.line[1], 6);
    assert_int_equal(s.line[2], 8);             /* after a blank line */
    assert_int_equal(s.index[3], 3);
    assert_int_equal(s.line[3], 9);

    assert_string_equal(json_string_value(json_object_get(
        json_array_get(s.recs, 1), "Domain")), "例子.中国");
    done(&s);
}


static void
test_array_file(void **state)
{
    seen_t         s;
    sync_doc_t     doc;
    char           err[BEIAN_SYNC_MSG_MAX];

    (void) state;

    assert_int_equal(parse_file(DATA("sync-array.json"), &s, &doc, err),
                     SYNC_DOC_OK);
    assert_int_equal(doc.envelope, 0);
    assert_int_equal(doc.total_count, -1);
    assert_int_equal(doc.records, 2);
    assert_int_equal(s.line[0], 2);
    assert_int_equal(s.line[1], 3);
    done(&s);
}


static void
test_error_envelope(void **state)
{
    seen_t         s;
    sync_doc_t     doc;
    char           err[BEIAN_SYNC_MSG_MAX];

    (void) state;

    assert_int_equal(parse_file(DATA("sync-error.json"), &s, &doc, err),
                     SYNC_DOC_PROVIDER);
    assert_string_equal(doc.error_code, "AuthFailure.SignatureFailure");
    assert_string_equal(doc.error_message,
                        "The provided credentials could not be validated.");
    assert_string_equal(doc.request_id,
                        "b5e6c7d8-0000-4000-8000-000000000001");
    assert_non_null(strstr(err, "AuthFailure.SignatureFailure"));
    assert_non_null(strstr(err, "could not be validated"));
    assert_non_null(strstr(err, "b5e6c7d8-0000-4000-8000-000000000001"));
    done(&s);

    /* Error wins over a DomainSet next to it; control bytes are shown
     * as '?' */
    assert_int_equal(run("{\"Response\": {\"DomainSet\": [], \"Error\": "
                         "{\"Code\": \"Limit\\u001b[31m\", \"Message\": "
                         "\"x\"}}}", &s, &doc, err), SYNC_DOC_PROVIDER);
    assert_string_equal(doc.error_code, "Limit?[31m");
    done(&s);
}


static void
test_empty_sets(void **state)
{
    seen_t      s;
    sync_doc_t  doc;
    char        err[BEIAN_SYNC_MSG_MAX];

    (void) state;

    assert_int_equal(run("[]", &s, &doc, err), SYNC_DOC_OK);
    assert_int_equal(s.n, 0);
    done(&s);

    assert_int_equal(run(" \n[ \n ] \n", &s, &doc, err), SYNC_DOC_OK);
    done(&s);

    assert_int_equal(run("{\"Response\":{\"TotalCount\":0,\"DomainSet\":[],"
                         "\"RequestId\":\"r\"}}", &s, &doc, err),
                     SYNC_DOC_OK);
    assert_int_equal(doc.total_count, 0);
    done(&s);

    /* a UTF-8 byte order mark is tolerated */
    assert_int_equal(run("\xef\xbb\xbf[]", &s, &doc, err), SYNC_DOC_OK);
    done(&s);
}


/* Every proper prefix of a document is refused, never half-accepted. */
static void
test_truncated_everywhere(void **state)
{
    size_t         i, len;
    seen_t         s;
    sync_doc_t     doc;
    sync_doc_rc_t  rc;
    char           err[BEIAN_SYNC_MSG_MAX];

    static const char  *docs[] = {
        "{\"Response\": {\"TotalCount\": 12, \"DomainSet\": [{\"Domain\": "
        "\"a.com\", \"N\": [1, 2.5, true, null]}, {\"Domain\": \"例.com\"}],"
        " \"RequestId\": \"x\"}}",
        "[{\"a\": 1}, 2, \"three\", [4]]",
        "{\"Response\": {\"Error\": {\"Code\": \"c\", \"Message\": \"m\"}, "
        "\"RequestId\": \"r\"}}",
    };

    (void) state;

    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        len = strlen(docs[d]);
        for (i = 0; i < len; i++) {
            rc = parse(docs[d], &s, &doc, err, i);
            if (rc != SYNC_DOC_SYNTAX) {
                fail_msg("doc %zu prefix %zu: rc %d", d, i, rc);
            }
            done(&s);
        }
    }

    rc = parse_file(DATA("sync-truncated.json"), &s, &doc, err);
    assert_int_equal(rc, SYNC_DOC_SYNTAX);
    assert_non_null(strstr(err, "sync-truncated.json:2:"));
    done(&s);
}


static void
test_trailing_garbage(void **state)
{
    seen_t      s;
    sync_doc_t  doc;
    char        err[BEIAN_SYNC_MSG_MAX];

    static const char  *bad[] = {
        "[] x", "[]]", "[] []", "{\"Response\":{\"DomainSet\":[]}}}",
        "{\"Response\":{\"DomainSet\":[]}} {}", "[]\n\x00", "[1,]", "[,1]",
        "[1 2]", "{\"Response\":{\"DomainSet\":[]},}",
        "{\"Response\" {\"DomainSet\":[]}}", "{Response: 1}",
    };

    (void) state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t  len = strlen(bad[i]) + (i == 5 ? 1 : 0);

        if (parse(bad[i], &s, &doc, err, len) != SYNC_DOC_SYNTAX) {
            fail_msg("accepted: %s", bad[i]);
        }
        done(&s);
    }

    assert_int_equal(run("[] x", &s, &doc, err), SYNC_DOC_SYNTAX);
    assert_string_equal(err, "mem:1:4: trailing data after the document");
    done(&s);
}


static void
test_wrong_types(void **state)
{
    seen_t      s;
    sync_doc_t  doc;
    char        err[BEIAN_SYNC_MSG_MAX];

    static const struct { const char *doc, *msg; } bad[] = {
        { "{\"Response\":{\"TotalCount\":\"3\",\"DomainSet\":[]}}",
          "\"TotalCount\" is a string, expected a non-negative integer" },
        { "{\"Response\":{\"TotalCount\":-1,\"DomainSet\":[]}}",
          "\"TotalCount\" is negative" },
        { "{\"Response\":{\"TotalCount\":1.5,\"DomainSet\":[]}}",
          "is a real number" },
        { "{\"Response\":{\"TotalCount\":99999999999999999999999,"
          "\"DomainSet\":[]}}", "too big" },
        { "{\"Response\":{\"DomainSet\":{}}}",
          "\"DomainSet\" is an object, expected an array" },
        { "{\"Response\":{\"DomainSet\":null}}",
          "\"DomainSet\" is null, expected an array" },
        { "{\"Response\":[]}", "\"Response\" is an array, expected an object" },
        { "{\"Response\":\"ok\"}", "\"Response\" is a string" },
        { "{\"Response\":{\"DomainSet\":[],\"RequestId\":5}}",
          "\"RequestId\" is an integer, expected a string" },
        { "{\"Response\":{\"Error\":\"denied\"}}",
          "\"Error\" is a string, expected an object" },
        { "{\"Response\":{\"Error\":{\"Code\":5}}}",
          "Code and Message must be strings" },
        { "{\"Response\":{}}", "neither \"DomainSet\" nor \"Error\"" },
        { "{\"Result\":{\"DomainSet\":[]}}", "no \"Response\" object" },
        { "{}", "no \"Response\" object" },
        { "\"records\"", "expected {\"Response\": ...} or an array" },
        { "42", "expected {\"Response\": ...} or an array" },
        { "", "empty document" },
        { " \n\t ", "empty document" },
    };

    (void) state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (run(bad[i].doc, &s, &doc, err) != SYNC_DOC_SYNTAX) {
            fail_msg("accepted: %s", bad[i].doc);
        }
        if (strstr(err, bad[i].msg) == NULL) {
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].doc, err,
                     bad[i].msg);
        }
        done(&s);
    }
}


/* Records of any JSON type reach the callback: the validator rejects. */
static void
test_records_any_type(void **state)
{
    seen_t      s;
    sync_doc_t  doc;
    char        err[BEIAN_SYNC_MSG_MAX];

    (void) state;

    assert_int_equal(run("[1, \"x\", null, [], {}, 2.5, true]", &s, &doc,
                         err), SYNC_DOC_OK);
    assert_int_equal(s.n, 7);
    assert_true(json_is_integer(json_array_get(s.recs, 0)));
    assert_true(json_is_array(json_array_get(s.recs, 3)));
    assert_true(json_is_true(json_array_get(s.recs, 6)));
    done(&s);
}


static char *
nested(size_t depth, const char *prefix, const char *suffix)
{
    size_t  i, pl = strlen(prefix);
    char   *p = malloc(pl + 2 * depth + strlen(suffix) + 1);

    memcpy(p, prefix, pl);
    for (i = 0; i < depth; i++) {
        p[pl + i] = '[';
        p[pl + depth + i] = ']';
    }
    strcpy(p + pl + 2 * depth, suffix);
    return p;
}


static void
test_deep_nesting(void **state)
{
    char       *d;
    seen_t      s;
    sync_doc_t  doc;
    char        err[BEIAN_SYNC_MSG_MAX];

    (void) state;

    /* inside a record */
    d = nested(100000, "[", "]");
    assert_int_equal(run(d, &s, &doc, err), SYNC_DOC_SYNTAX);
    assert_non_null(strstr(err, "depth"));
    done(&s);
    free(d);

    /* inside an ignored member */
    d = nested(100000, "{\"Other\": ", ", \"Response\": {\"DomainSet\": []}}");
    assert_int_equal(run(d, &s, &doc, err), SYNC_DOC_SYNTAX);
    done(&s);
    free(d);

    /* moderate nesting is fine */
    d = nested(100, "[", "]");
    assert_int_equal(run(d, &s, &doc, err), SYNC_DOC_OK);
    assert_int_equal(s.n, 1);
    done(&s);
    free(d);
}


static void
test_nul_bytes(void **state)
{
    seen_t       s;
    sync_doc_t   doc;
    json_t      *dom;
    char         err[BEIAN_SYNC_MSG_MAX];

    static const char  raw[] = "[{\"Domain\": \"a\0.com\"}]";

    (void) state;

    /* a raw NUL byte is not JSON */
    assert_int_equal(parse(raw, &s, &doc, err, sizeof(raw) - 1),
                     SYNC_DOC_SYNTAX);
    done(&s);

    /* an escaped one reaches the validator, which names the field */
    assert_int_equal(run("[{\"Domain\": \"a\\u0000.com\"}]", &s, &doc, err),
                     SYNC_DOC_OK);
    dom = json_object_get(json_array_get(s.recs, 0), "Domain");
    assert_int_equal(json_string_length(dom), 6);
    done(&s);

    /* in keys and in the document's own fields it breaks the document */
    assert_int_equal(run("{\"Response\": {\"DomainSet\": [], \"RequestId\": "
                         "\"a\\u0000b\"}}", &s, &doc, err), SYNC_DOC_SYNTAX);
    done(&s);
    assert_int_equal(run("{\"Resp\\u0000onse\": {}}", &s, &doc, err),
                     SYNC_DOC_SYNTAX);
    done(&s);
}


static void
test_duplicate_keys(void **state)
{
    seen_t      s;
    sync_doc_t  doc;
    char        err[BEIAN_SYNC_MSG_MAX];

    (void) state;

    assert_int_equal(run("{\"Response\": {\"DomainSet\": []}, \"Response\": "
                         "{\"DomainSet\": []}}", &s, &doc, err),
                     SYNC_DOC_SYNTAX);
    assert_non_null(strstr(err, "duplicate key \"Response\""));
    done(&s);

    assert_int_equal(run("{\"Response\": {\"DomainSet\": [{}], \"DomainSet\":"
                         " []}}", &s, &doc, err), SYNC_DOC_SYNTAX);
    assert_non_null(strstr(err, "duplicate key \"DomainSet\""));
    done(&s);

    assert_int_equal(run("{\"Response\": {\"TotalCount\": 1, \"DomainSet\": "
                         "[], \"TotalCount\": 0}}", &s, &doc, err),
                     SYNC_DOC_SYNTAX);
    done(&s);

    /* inside a record: that record is flagged, the rest goes on */
    assert_int_equal(run("[{\"Domain\": \"a.com\", \"Domain\": \"b.com\"}, "
                         "{\"Domain\": \"c.com\"}]", &s, &doc, err),
                     SYNC_DOC_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.defect[0], 1);
    assert_int_equal(s.defect[1], 0);
    done(&s);

    /* also when nested deeper in the record */
    assert_int_equal(run("[{\"X\": {\"k\": 1, \"k\": 2}}]", &s, &doc, err),
                     SYNC_DOC_OK);
    assert_int_equal(s.defect[0], 1);
    done(&s);
}


static void
test_invalid_utf8(void **state)
{
    seen_t      s;
    sync_doc_t  doc;
    char        err[BEIAN_SYNC_MSG_MAX];

    (void) state;

    assert_int_equal(run("[{\"Domain\": \"\xff\xfe.com\"}]", &s, &doc, err),
                     SYNC_DOC_SYNTAX);
    done(&s);
    assert_int_equal(run("[{\"Domain\": \"\xe4\xbe\"}]", &s, &doc, err),
                     SYNC_DOC_SYNTAX);
    done(&s);
}


static void
test_huge_string(void **state)
{
    size_t      n = 8 << 20;
    char       *d;
    seen_t      s;
    sync_doc_t  doc;
    char        err[BEIAN_SYNC_MSG_MAX];

    (void) state;

    d = malloc(n + 32);
    strcpy(d, "[{\"Domain\": \"");
    memset(d + 13, 'a', n);
    strcpy(d + 13 + n, "\"}]");

    assert_int_equal(run(d, &s, &doc, err), SYNC_DOC_OK);
    assert_int_equal(json_string_length(json_object_get(
        json_array_get(s.recs, 0), "Domain")), n);
    done(&s);

    /* and cut short */
    assert_int_equal(parse(d, &s, &doc, err, 13 + n / 2), SYNC_DOC_SYNTAX);
    done(&s);
    free(d);
}


static void
test_positions_and_pages(void **state)
{
    seen_t      s;
    sync_doc_t  doc;
    char        err[BEIAN_SYNC_MSG_MAX];

    static const char  page[] =
        "{\"Response\": {\"DomainSet\": [\n{\"a\": 1},\n\n  {\"a\": 2}, "
        "{\"a\": 3}\n]}}";

    (void) state;

    memset(&s, 0, sizeof(s));
    s.recs = json_array();
    /* a later page of pull: indexes continue from its Offset */
    assert_int_equal(sync_doc_parse(page, sizeof(page) - 1, "page 3", 200,
                                     collect, &s, &doc, err, sizeof(err)),
                     SYNC_DOC_OK);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.index[0], 200);
    assert_int_equal(s.index[2], 202);
    assert_int_equal(s.line[0], 2);
    assert_int_equal(s.line[1], 4);
    assert_int_equal(s.line[2], 4);
    done(&s);

    /* messages give FILE:LINE:COL of the fault */
    assert_int_equal(run("[\n{\"a\": 1},\n  {\"a\": }\n]", &s, &doc, err),
                     SYNC_DOC_SYNTAX);
    assert_true(strncmp(err, "mem:3:", 6) == 0);
    assert_non_null(strstr(err, "[1]"));
    done(&s);

    assert_int_equal(run("{\"Response\": {\"DomainSet\": [{} {}]}}", &s,
                         &doc, err), SYNC_DOC_SYNTAX);
    assert_string_equal(err, "mem:1:32: expected ',' or ']' after "
                        "DomainSet[0], found '{'");
    done(&s);
}


static void
test_unknown_members_skipped(void **state)
{
    seen_t      s;
    sync_doc_t  doc;
    char        err[BEIAN_SYNC_MSG_MAX];

    (void) state;

    assert_int_equal(run("{\"Meta\": {\"DomainSet\": [1, 2]}, \"Response\": "
                         "{\"Extra\": [{\"DomainSet\": 5}], \"DomainSet\": "
                         "[{}], \"Note\": \"x\"}, \"Tail\": null}", &s, &doc,
                         err), SYNC_DOC_OK);
    assert_int_equal(s.n, 1);
    done(&s);
}


static void
test_callback_stop(void **state)
{
    seen_t      s = { 0 };
    sync_doc_t  doc;
    char        err[BEIAN_SYNC_MSG_MAX];

    (void) state;

    s.recs = json_array();
    s.stop_after = 2;
    assert_int_equal(sync_doc_parse("[1, 2, 3]", 9, "mem", 0, collect, &s,
                                    &doc, err, sizeof(err)),
                     SYNC_DOC_STOPPED);
    assert_int_equal(s.n, 2);
    done(&s);
}


static void
test_file_errors(void **state)
{
    seen_t      s;
    sync_doc_t  doc;
    FILE       *f;
    char        err[BEIAN_SYNC_MSG_MAX], path[] = "/tmp/beian-doc-XXXXXX";
    int         fd;

    (void) state;

    assert_int_equal(parse_file(DATA("no-such-file.json"), &s, &doc, err),
                     SYNC_DOC_IO);
    assert_non_null(strstr(err, "No such file"));
    /* the document summary is defined even then */
    assert_int_equal(doc.total_count, -1);
    assert_int_equal(doc.records, 0);
    assert_string_equal(doc.request_id, "");

    assert_int_equal(sync_doc_parse_file("tests/data", collect, &s, &doc,
                                         err, sizeof(err)), SYNC_DOC_IO);

    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fclose(f);
    assert_int_equal(sync_doc_parse_file(path, collect, &s, &doc, err,
                                         sizeof(err)), SYNC_DOC_SYNTAX);
    assert_non_null(strstr(err, "empty document"));
    unlink(path);
    done(&s);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_envelope_file),
        cmocka_unit_test(test_array_file),
        cmocka_unit_test(test_error_envelope),
        cmocka_unit_test(test_empty_sets),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_records_any_type),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_huge_string),
        cmocka_unit_test(test_positions_and_pages),
        cmocka_unit_test(test_unknown_members_skipped),
        cmocka_unit_test(test_callback_stop),
        cmocka_unit_test(test_file_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
