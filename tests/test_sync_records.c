/*
 * beian-sync: Domain normalization, RECORD validation (every reason),
 * admission, and the accumulator's duplicate and conflict rules.
 */

#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "domain.h"
#include "icp.h"
#include "records.h"


#define DATA(f)  "tests/data/" f
#define INST     "lhins-test0001"


/* ---- Domain ------------------------------------------------------- */

static sync_domain_rc_t
norm(const char *in, char *out, const char **why)
{
    size_t  len;
    char    buf[512];
    const char *w = NULL;
    sync_domain_rc_t  rc;

    rc = sync_domain_normalize(in, strlen(in), out, &len, &w, buf,
                               sizeof(buf));
    if (why) {
        /* buf dies here: keep a copy that outlives the call */
        static char  keep[512];
        snprintf(keep, sizeof(keep), "%s", w ? w : "");
        *why = keep;
    }
    if (rc == SYNC_DOMAIN_OK) {
        assert_int_equal(len, strlen(out));
    }
    return rc;
}


#define NORM_OK(in, want)                                                    \
    do {                                                                     \
        char  o_[BEIAN_DOMAIN_MAX + 1];                                      \
        const char *w_;                                                      \
        if (norm((in), o_, &w_) != SYNC_DOMAIN_OK) {                         \
            fail_msg("refused \"%s\": %s", (in), w_);                        \
        }                                                                    \
        assert_string_equal(o_, (want));                                     \
    } while (0)

#define NORM_BAD(in, rc)                                                     \
    do {                                                                     \
        char  o_[BEIAN_DOMAIN_MAX + 1];                                      \
        sync_domain_rc_t  r_ = norm((in), o_, NULL);                         \
        if (r_ != (rc)) {                                                    \
            fail_msg("\"%s\": rc %d, expected %d", (in), r_, (rc));          \
        }                                                                    \
    } while (0)


static void
test_domain_idn(void **state)
{
    (void) state;

    NORM_OK("例子.中国", "xn--fsqu00a.xn--fiqs8s");
    NORM_OK("例子.中国.", "xn--fsqu00a.xn--fiqs8s");
    NORM_OK("例子。中国", "xn--fsqu00a.xn--fiqs8s");   /* ideographic dot */
    NORM_OK("xn--fsqu00a.xn--fiqs8s", "xn--fsqu00a.xn--fiqs8s");
    NORM_OK("XN--FSQU00A.XN--FIQS8S", "xn--fsqu00a.xn--fiqs8s");
    NORM_OK("Bücher.Example", "xn--bcher-kva.example");
    NORM_OK("ＥＸＡＭＰＬＥ.com", "example.com");        /* full width */
    /* IDNA2008 non-transitional: ß stays ß */
    NORM_OK("faß.de", "xn--fa-hia.de");
    NORM_OK("例子.com.cn", "xn--fsqu00a.com.cn");

    /* a zero-width joiner out of context */
    NORM_BAD("a\xe2\x80\x8d.com", SYNC_DOMAIN_IDNA);

    /* A-labels must decode by IDNA2008 and encode back to themselves */
    NORM_OK("www.xn--bcher-kva.example", "www.xn--bcher-kva.example");
    NORM_OK("xn--fa-hia.de", "xn--fa-hia.de");
    NORM_BAD("xn--zz.com", SYNC_DOMAIN_IDNA);          /* bad punycode */
    NORM_BAD("xn--.com", SYNC_DOMAIN_SYNTAX);          /* ends in "-" */
    NORM_BAD("XN--ZZ.COM", SYNC_DOMAIN_IDNA);
    NORM_BAD("www.xn--zz.example.com", SYNC_DOMAIN_IDNA);
    NORM_BAD("xn--a.com", SYNC_DOMAIN_IDNA);   /* a disallowed code point */
    NORM_BAD("xn--ls8h.la", SYNC_DOMAIN_IDNA);         /* an emoji */
    NORM_BAD("例子.xn--zz.com", SYNC_DOMAIN_IDNA);     /* after a U-label */
}


static void
test_domain_ascii(void **state)
{
    (void) state;

    NORM_OK("Example.COM", "example.com");
    NORM_OK("example.com.", "example.com");
    NORM_OK("www.example.com", "www.example.com");
    NORM_OK("a-b.c-d.example.com.cn", "a-b.c-d.example.com.cn");
    NORM_OK("example.bj.cn", "example.bj.cn");
    NORM_OK("123.com", "123.com");

    NORM_BAD("", SYNC_DOMAIN_SYNTAX);
    NORM_BAD(".", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("example.com..", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("a..b.com", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("-a.com", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("a-.com", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("a_b.com", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("a b.com", SYNC_DOMAIN_SYNTAX);
    NORM_BAD(" example.com", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("http://example.com", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("example.com:80", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("1.2.3.4", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("example.123", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("_dmarc.example.com", SYNC_DOMAIN_SYNTAX);

    /* "--" in positions 3 and 4: reserved by IDNA2008 but for "xn--" */
    NORM_BAD("ex--ample.com", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("www.ab--c.example.com", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("xa--b.com", SYNC_DOMAIN_SYNTAX);
    NORM_BAD("EX--AMPLE.COM", SYNC_DOMAIN_SYNTAX);
    NORM_OK("e--xample.com", "e--xample.com");
    NORM_OK("exa--mple.com", "exa--mple.com");
    NORM_OK("ab-c.com", "ab-c.com");
    NORM_OK("xn.com", "xn.com");
}


static void
test_domain_lengths(void **state)
{
    char   d[2048];
    char   label[70];

    (void) state;

    memset(label, 'a', 63);
    strcpy(label + 63, ".com");
    NORM_OK(label, label);

    memset(label, 'a', 64);
    strcpy(label + 64, ".com");
    NORM_BAD(label, SYNC_DOMAIN_SYNTAX);

    /* 253 bytes exactly, then 254 */
    memset(d, 0, sizeof(d));
    for (int i = 0; i < 4; i++) {
        memset(d + i * 64, 'a', 63);
        d[i * 64 + 63] = '.';
    }
    strcpy(d + 253 - 3, "com");             /* 250 + 3 */
    assert_int_equal(strlen(d), 253);
    NORM_OK(d, d);
    d[252] = '\0';
    strcat(d, "mm");
    NORM_BAD(d, SYNC_DOMAIN_SYNTAX);

    /* far too long: refused before libidn2 sees it */
    memset(d, 'a', sizeof(d) - 1);
    d[sizeof(d) - 1] = '\0';
    NORM_BAD(d, SYNC_DOMAIN_SYNTAX);
    memcpy(d, "例", 3);
    NORM_BAD(d, SYNC_DOMAIN_SYNTAX);
}


static void
test_domain_wildcard(void **state)
{
    const char  *why;
    char         o[BEIAN_DOMAIN_MAX + 1];

    (void) state;

    assert_int_equal(norm("*.example.com", o, &why), SYNC_DOMAIN_WILDCARD);
    assert_non_null(strstr(why, "wildcard"));
    NORM_BAD("*", SYNC_DOMAIN_WILDCARD);
    NORM_BAD("www.*.com", SYNC_DOMAIN_WILDCARD);
    NORM_BAD("*例子.中国", SYNC_DOMAIN_WILDCARD);
}


static void
test_domain_public_suffix(void **state)
{
    size_t       i;
    const char  *why;
    char         o[BEIAN_DOMAIN_MAX + 1];

    static const char *const  ps[] = {
        "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "ac.cn", "mil.cn",
        "bj.cn", "sh.cn", "tj.cn", "cq.cn", "he.cn", "sx.cn", "nm.cn",
        "ln.cn", "jl.cn", "hl.cn", "js.cn", "zj.cn", "ah.cn", "fj.cn",
        "jx.cn", "sd.cn", "ha.cn", "hb.cn", "hn.cn", "gd.cn", "gx.cn",
        "hi.cn", "sc.cn", "gz.cn", "yn.cn", "xz.cn", "sn.cn", "gs.cn",
        "qh.cn", "nx.cn", "xj.cn", "hk.cn", "mo.cn", "tw.cn",
        "COM.CN.", "公司.cn", "网络.cn", "網絡.cn",
        "cn", "com", "中国", "中國",
    };

    (void) state;

    for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        NORM_BAD(ps[i], SYNC_DOMAIN_PUBLIC_SUFFIX);
    }

    assert_int_equal(norm("cn", o, &why), SYNC_DOMAIN_PUBLIC_SUFFIX);
    assert_non_null(strstr(why, "top-level"));
    assert_int_equal(norm("com.cn", o, &why), SYNC_DOMAIN_PUBLIC_SUFFIX);
    assert_non_null(strstr(why, "\"com.cn\" is a public suffix"));

    /* names under them, and look-alikes, are ordinary */
    NORM_OK("example.com.cn", "example.com.cn");
    NORM_OK("gov.cn.example.com", "gov.cn.example.com");
    NORM_OK("xx.cn", "xx.cn");
    NORM_OK("comm.cn", "comm.cn");
    NORM_OK("com.com", "com.com");
    assert_int_equal(sync_domain_public_suffix("com.cn", 6), 1);
    assert_int_equal(sync_domain_public_suffix("com.cnn", 7), 0);

    /* the private section too: a user's site is under github.io, the
     * suffix itself is nobody's filing */
    NORM_BAD("github.io", SYNC_DOMAIN_PUBLIC_SUFFIX);
    NORM_BAD("GitHub.IO.", SYNC_DOMAIN_PUBLIC_SUFFIX);
    NORM_BAD("blogspot.com", SYNC_DOMAIN_PUBLIC_SUFFIX);
    assert_int_equal(norm("github.io", o, &why), SYNC_DOMAIN_PUBLIC_SUFFIX);
    assert_non_null(strstr(why, "\"github.io\" is a public suffix"));
    assert_int_equal(sync_domain_public_suffix("github.io", 9), 1);
    NORM_OK("foo.github.io", "foo.github.io");
    NORM_OK("github.com", "github.com");
}


/* ---- RECORD ------------------------------------------------------- */

static json_t *
record(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s], s:s}",
                     "Domain", "example.com",
                     "IcpNumber", "京ICP备12345678号-1",
                     "WebsiteId", "web-a",
                     "FilingStatus", "FILED",
                     "AccessStatus", "ACCESSED",
                     "InstanceIds", INST,
                     "UpdatedAt", "2024-05-01T08:00:00+08:00");
}


/* The default record with key set to v (stolen), or removed if v NULL. */
static json_t *
record_with(const char *key, json_t *v)
{
    json_t  *r = record();

    if (v) {
        json_object_set_new(r, key, v);
    } else {
        json_object_del(r, key);
    }
    return r;
}


static int
validate(json_t *rec, sync_record_t *r, sync_reject_t *reason, char *why)
{
    int  rc = sync_record_validate(rec, r, reason, why, BEIAN_SYNC_MSG_MAX);

    json_decref(rec);
    return rc;
}


#define REJECT(rec, want, text)                                              \
    do {                                                                     \
        sync_record_t  r_;                                                   \
        sync_reject_t  re_ = SYNC_REJ_N;                                     \
        char           w_[BEIAN_SYNC_MSG_MAX];                               \
        if (validate((rec), &r_, &re_, w_) == 0) {                           \
            fail_msg("accepted, expected %s", sync_reject_names[want]);      \
        }                                                                    \
        if (re_ != (want)) {                                                 \
            fail_msg("reason %s (%s), expected %s", sync_reject_names[re_],  \
                     w_, sync_reject_names[want]);                           \
        }                                                                    \
        if (strstr(w_, (text)) == NULL) {                                    \
            fail_msg("message \"%s\" lacks \"%s\"", w_, (text));             \
        }                                                                    \
    } while (0)


static void
test_record_valid(void **state)
{
    json_t         *rec;
    sync_record_t   r;
    sync_reject_t   reason;
    char            why[BEIAN_SYNC_MSG_MAX];

    (void) state;

    rec = record_with("Domain", json_string("例子.中国"));
    assert_int_equal(sync_record_validate(rec, &r, &reason, why,
                                          sizeof(why)), 0);
    assert_string_equal(r.domain, "xn--fsqu00a.xn--fiqs8s");
    assert_int_equal(r.filing, SYNC_FILING_FILED);
    assert_int_equal(r.access, SYNC_ACCESS_ACCESSED);
    assert_int_equal(r.has_updated_at, 1);
    assert_int_equal(r.updated_at, 1714521600);     /* 2024-05-01T00:00Z */
    assert_int_equal(r.icp_len, strlen("京ICP备12345678号-1"));
    json_decref(rec);

    /* UpdatedAt is optional, null counts as absent; unknown keys pass */
    assert_int_equal(validate(record_with("UpdatedAt", NULL), &r, &reason,
                              why), 0);
    assert_int_equal(r.has_updated_at, 0);
    assert_int_equal(validate(record_with("UpdatedAt", json_null()), &r,
                              &reason, why), 0);
    assert_int_equal(validate(record_with("Remark", json_pack("{s:[i]}",
                              "x", 1)), &r, &reason, why), 0);

    /* a first filing in progress has no number yet */
    rec = record_with("FilingStatus", json_string("PENDING"));
    json_object_set_new(rec, "IcpNumber", json_string(""));
    assert_int_equal(validate(rec, &r, &reason, why), 0);
    assert_int_equal(r.icp_len, 0);
    rec = record_with("FilingStatus", json_string("PENDING"));
    json_object_del(rec, "IcpNumber");
    assert_int_equal(validate(rec, &r, &reason, why), 0);
    /* ... but one given must be valid */
    rec = record_with("FilingStatus", json_string("PENDING"));
    json_object_set_new(rec, "IcpNumber", json_string("京ICP备1号"));
    REJECT(rec, SYNC_REJ_ICP_NUMBER, "IcpNumber \"京ICP备1号\"");
}


static void
test_record_reasons(void **state)
{
    size_t  i;
    char    huge[200];

    static const char *const  required[] = {
        "Domain", "IcpNumber", "WebsiteId", "FilingStatus", "AccessStatus",
        "InstanceIds",
    };

    (void) state;

    REJECT(json_string("example.com"), SYNC_REJ_NOT_OBJECT,
           "record is a string, expected an object");
    REJECT(json_pack("[s]", "example.com"), SYNC_REJ_NOT_OBJECT,
           "is an array");
    REJECT(json_null(), SYNC_REJ_NOT_OBJECT, "is null");

    for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        char  want[64];

        snprintf(want, sizeof(want), "missing \"%s\"", required[i]);
        REJECT(record_with(required[i], NULL), SYNC_REJ_MISSING_FIELD, want);
    }

    REJECT(record_with("Domain", json_integer(42)), SYNC_REJ_WRONG_TYPE,
           "\"Domain\" is an integer, expected a string");
    REJECT(record_with("Domain", json_null()), SYNC_REJ_WRONG_TYPE,
           "\"Domain\" is null");
    REJECT(record_with("IcpNumber", json_pack("[s]", "x")),
           SYNC_REJ_WRONG_TYPE, "\"IcpNumber\" is an array");
    REJECT(record_with("WebsiteId", json_integer(7)), SYNC_REJ_WRONG_TYPE,
           "\"WebsiteId\" is an integer");
    REJECT(record_with("FilingStatus", json_true()), SYNC_REJ_WRONG_TYPE,
           "\"FilingStatus\" is true");
    REJECT(record_with("AccessStatus", json_real(1.5)), SYNC_REJ_WRONG_TYPE,
           "\"AccessStatus\" is a real number");
    REJECT(record_with("InstanceIds", json_string(INST)),
           SYNC_REJ_WRONG_TYPE, "\"InstanceIds\" is a string, expected an "
           "array");
    REJECT(record_with("InstanceIds", json_pack("[s,i]", INST, 5)),
           SYNC_REJ_WRONG_TYPE, "InstanceIds[1] is an integer");
    REJECT(record_with("UpdatedAt", json_integer(1714521600)),
           SYNC_REJ_WRONG_TYPE, "\"UpdatedAt\" is an integer");

    REJECT(record_with("Domain", json_stringn("a\0.com", 6)),
           SYNC_REJ_NUL_BYTE, "\"Domain\" contains a NUL byte");
    REJECT(record_with("IcpNumber", json_stringn("京ICP备12345678号\0", 21)),
           SYNC_REJ_NUL_BYTE, "\"IcpNumber\" contains a NUL byte");
    REJECT(record_with("InstanceIds", json_pack("[o]", json_stringn(
           INST "\0x", sizeof(INST) + 1))), SYNC_REJ_NUL_BYTE,
           "InstanceIds[0] contains a NUL byte");

    REJECT(record_with("Domain", json_string("*.example.com")),
           SYNC_REJ_DOMAIN_WILDCARD, "Domain \"*.example.com\": wildcards");
    REJECT(record_with("Domain", json_string("a\xe2\x80\x8d.com")),
           SYNC_REJ_DOMAIN_IDNA, "IDNA conversion failed");
    REJECT(record_with("Domain", json_string("exa mple.com")),
           SYNC_REJ_DOMAIN_SYNTAX, "invalid character");
    REJECT(record_with("Domain", json_string("")), SYNC_REJ_DOMAIN_SYNTAX,
           "empty");
    REJECT(record_with("Domain", json_string("com.cn")),
           SYNC_REJ_DOMAIN_PUBLIC_SUFFIX, "public suffix");

    REJECT(record_with("IcpNumber", json_string("川ICP备12345678号-1")),
           SYNC_REJ_ICP_NUMBER, "Sichuan filing numbers start with 蜀");
    REJECT(record_with("IcpNumber", json_string("")), SYNC_REJ_ICP_NUMBER,
           "empty");

    REJECT(record_with("WebsiteId", json_string("")), SYNC_REJ_WEBSITE_ID,
           "WebsiteId \"\"");
    REJECT(record_with("WebsiteId", json_string("web a")),
           SYNC_REJ_WEBSITE_ID, "printable ASCII");
    REJECT(record_with("WebsiteId", json_string("网站1")),
           SYNC_REJ_WEBSITE_ID, "printable ASCII");
    REJECT(record_with("WebsiteId", json_string("web\x7f")),
           SYNC_REJ_WEBSITE_ID, "printable ASCII");
    memset(huge, 'w', 129);
    huge[129] = '\0';
    REJECT(record_with("WebsiteId", json_string(huge)), SYNC_REJ_WEBSITE_ID,
           "1 to 128");
    huge[128] = '\0';
    {
        sync_record_t  r;
        sync_reject_t  re;
        char           w[BEIAN_SYNC_MSG_MAX];

        assert_int_equal(validate(record_with("WebsiteId", json_string(huge)),
                                  &r, &re, w), 0);
    }

    REJECT(record_with("FilingStatus", json_string("filed")),
           SYNC_REJ_FILING_STATUS, "FilingStatus \"filed\": expected FILED");
    REJECT(record_with("FilingStatus", json_string("REVOKED")),
           SYNC_REJ_FILING_STATUS, "REVOKED");
    REJECT(record_with("FilingStatus", json_string("FILED ")),
           SYNC_REJ_FILING_STATUS, "FILED");
    REJECT(record_with("AccessStatus", json_string("ACCESS")),
           SYNC_REJ_ACCESS_STATUS, "AccessStatus \"ACCESS\": expected");

    REJECT(record_with("UpdatedAt", json_string("2024-05-01")),
           SYNC_REJ_UPDATED_AT, "not an RFC 3339 date-time");
    REJECT(record_with("UpdatedAt", json_string("2024-02-30T00:00:00Z")),
           SYNC_REJ_UPDATED_AT, "2024-02-30");
    REJECT(record_with("UpdatedAt", json_string("yesterday")),
           SYNC_REJ_UPDATED_AT, "yesterday");
}


/* Control bytes in a hostile value never reach the terminal. */
static void
test_record_message_safe(void **state)
{
    sync_record_t  r;
    sync_reject_t  re;
    char           w[BEIAN_SYNC_MSG_MAX];
    char           big[5000];

    (void) state;

    assert_int_equal(validate(record_with("FilingStatus",
                              json_string("\x1b[2J")), &r, &re, w), -1);
    assert_null(strchr(w, '\x1b'));

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(validate(record_with("AccessStatus", json_string(big)),
                              &r, &re, w), -1);
    assert_true(strlen(w) < 200);
    assert_non_null(strstr(w, "..."));
}


/* ---- admission ---------------------------------------------------- */

static int
admit(json_t *rec, const char *instance)
{
    int            rc;
    sync_record_t  r;
    sync_reject_t  re;
    char           w[BEIAN_SYNC_MSG_MAX];

    rc = sync_record_validate(rec, &r, &re, w, sizeof(w));
    assert_int_equal(rc, 0);
    rc = sync_record_admit(&r, instance);
    json_decref(rec);
    return rc;
}


static void
test_admission(void **state)
{
    json_t  *rec;

    (void) state;

    assert_int_equal(admit(record(), INST), -1);

    assert_int_equal(admit(record_with("FilingStatus", json_string(
                     "CANCELLED")), INST), SYNC_SKIP_FILING_CANCELLED);
    assert_int_equal(admit(record_with("AccessStatus", json_string(
                     "PENDING")), INST), SYNC_SKIP_ACCESS_PENDING);
    assert_int_equal(admit(record_with("AccessStatus", json_string(
                     "CANCELLED")), INST), SYNC_SKIP_ACCESS_CANCELLED);
    assert_int_equal(admit(record_with("InstanceIds", json_pack("[s]",
                     "lhins-other001")), INST), SYNC_SKIP_NOT_BOUND_HERE);
    assert_int_equal(admit(record_with("InstanceIds", json_array()), INST),
                     SYNC_SKIP_NOT_BOUND_HERE);

    /* exact id match only: no prefixes, no case folding */
    assert_int_equal(admit(record_with("InstanceIds", json_pack("[s]",
                     INST "1")), INST), SYNC_SKIP_NOT_BOUND_HERE);
    assert_int_equal(admit(record_with("InstanceIds", json_pack("[s]",
                     "LHINS-TEST0001")), INST), SYNC_SKIP_NOT_BOUND_HERE);
    assert_int_equal(admit(record(), "lhins-test000"),
                     SYNC_SKIP_NOT_BOUND_HERE);
    assert_int_equal(admit(record_with("InstanceIds", json_pack("[s,s]",
                     "lhins-other001", INST)), INST), -1);

    /* the filing decides first, then access, then the binding */
    rec = record_with("FilingStatus", json_string("PENDING"));
    json_object_set_new(rec, "AccessStatus", json_string("CANCELLED"));
    json_object_set_new(rec, "InstanceIds", json_array());
    assert_int_equal(admit(rec, INST), SYNC_SKIP_FILING_PENDING);
    rec = record_with("AccessStatus", json_string("PENDING"));
    json_object_set_new(rec, "InstanceIds", json_array());
    assert_int_equal(admit(rec, INST), SYNC_SKIP_ACCESS_PENDING);
}


static void
test_instance_id(void **state)
{
    (void) state;

    assert_null(sync_instance_id_check("lhins-demo0001"));
    assert_null(sync_instance_id_check("lhins-abcd1234"));
    assert_null(sync_instance_id_check("lhins-abcd12345678"));
    assert_null(sync_instance_id_check("ins-1a2b3c4d"));

    assert_non_null(sync_instance_id_check(""));
    assert_non_null(sync_instance_id_check("lhins-"));
    assert_non_null(sync_instance_id_check("lhins-abc123"));
    assert_non_null(sync_instance_id_check("lhins-ABCD1234"));
    assert_non_null(sync_instance_id_check("lhins-abcd_123"));
    assert_non_null(sync_instance_id_check("lhins-abcd1234 "));
    assert_non_null(sync_instance_id_check("LHINS-abcd1234"));
    assert_non_null(sync_instance_id_check("i-abcd1234"));
    assert_non_null(sync_instance_id_check("abcd1234"));
    /* 63 bytes fit the snapshot's meta, 64 do not */
    assert_null(sync_instance_id_check("lhins-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    assert_non_null(sync_instance_id_check("lhins-aaaaaaaaaaaaaaaaaaaaaaaaa"
                                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                           "a"));
    assert_string_equal(sync_instance_id_check("x"), sync_instance_id_check(
                        "lhins-abc"));
}


/* ---- the accumulator ---------------------------------------------- */

typedef struct {
    sync_report_t   rep;
    sync_acc_t     *acc;
    beian_entry_t  *e;
    size_t          n;
} run_t;


static void
run_start(run_t *t)
{
    sync_report_init(&t->rep, "test", NULL, 1);
    t->acc = sync_acc_new(INST, &t->rep);
    assert_non_null(t->acc);
}


static sync_doc_rc_t
run_file(run_t *t, const char *path)
{
    sync_doc_t     doc;
    sync_doc_rc_t  rc;
    char           err[BEIAN_SYNC_MSG_MAX];

    run_start(t);
    rc = sync_doc_parse_file(path, sync_acc_add, t->acc, &doc, err,
                             sizeof(err));
    if (rc == SYNC_DOC_OK) {
        assert_int_equal(sync_acc_finish(t->acc, &t->e, &t->n), 0);
    }
    return rc;
}


static sync_doc_rc_t
run_text(run_t *t, const char *text)
{
    sync_doc_t     doc;
    sync_doc_rc_t  rc;
    char           err[BEIAN_SYNC_MSG_MAX];

    run_start(t);
    rc = sync_doc_parse(text, strlen(text), "mem", 0, sync_acc_add, t->acc,
                        &doc, err, sizeof(err));
    assert_int_equal(rc, SYNC_DOC_OK);
    assert_int_equal(sync_acc_finish(t->acc, &t->e, &t->n), 0);
    return rc;
}


static void
run_done(run_t *t)
{
    sync_acc_free(t->acc);
    sync_report_free(&t->rep);
}


static const char *
warning(run_t *t, size_t i)
{
    return json_string_value(json_array_get(t->rep.warnings, i));
}


static void
test_acc_envelope(void **state)
{
    run_t  t;

    (void) state;

    assert_int_equal(run_file(&t, DATA("sync-envelope.json")), SYNC_DOC_OK);
    assert_int_equal(t.rep.seen, 4);
    assert_int_equal(t.rep.valid, 3);
    assert_int_equal(t.rep.admitted, 2);
    assert_int_equal(t.rep.rejected_total, 1);
    assert_int_equal(t.rep.rejected[SYNC_REJ_DOMAIN_PUBLIC_SUFFIX], 1);
    assert_int_equal(t.rep.skipped_total, 1);
    assert_int_equal(t.rep.skipped[SYNC_SKIP_ACCESS_PENDING], 1);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.e[0].domain, "example.com");
    assert_string_equal(t.e[0].icp, "京ICP备12345678号-1");
    assert_string_equal(t.e[0].website_id, "web-a");
    assert_string_equal(t.e[1].domain, "xn--fsqu00a.xn--fiqs8s");
    assert_int_equal(t.rep.websites, 2);
    assert_int_equal(t.rep.nwarnings, 0);

    /* the rejected record is reported with its place */
    assert_int_equal(json_array_size(t.rep.rejects), 1);
    assert_int_equal(json_integer_value(json_object_get(
        json_array_get(t.rep.rejects, 0), "line")), 9);
    assert_int_equal(json_integer_value(json_object_get(
        json_array_get(t.rep.rejects, 0), "index")), 3);
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(t.rep.rejects, 0), "domain")), "com.cn");
    run_done(&t);
}


static void
test_acc_array(void **state)
{
    run_t  t;

    (void) state;

    assert_int_equal(run_file(&t, DATA("sync-array.json")), SYNC_DOC_OK);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.e[0].domain, "example.com");
    assert_int_equal(t.rep.skipped[SYNC_SKIP_FILING_CANCELLED], 1);
    run_done(&t);
}


static void
test_acc_duplicates_conflicts(void **state)
{
    run_t  t;

    (void) state;

    assert_int_equal(run_file(&t, DATA("sync-conflicts.json")), SYNC_DOC_OK);
    assert_int_equal(t.rep.admitted, 7);
    assert_int_equal(t.n, 4);

    /* same ICP number and website: one entry */
    assert_string_equal(t.e[0].domain, "dup.example.com");
    assert_int_equal(t.rep.duplicates, 1);

    /* different filings: the latest UpdatedAt wins */
    assert_string_equal(t.e[1].domain, "moved.example.com");
    assert_string_equal(t.e[1].icp, "粤ICP备87654321号-4");
    assert_string_equal(t.e[1].website_id, "web-b");

    assert_string_equal(t.e[2].domain, "nodate.example.com");

    /* the same instant in two zones: the smallest ICP number wins */
    assert_string_equal(t.e[3].domain, "tie.example.com");
    assert_string_equal(t.e[3].icp, "京ICP备12345678号-1");

    assert_int_equal(t.rep.conflicts, 2);
    assert_int_equal(t.rep.nwarnings, 2);
    assert_non_null(strstr(warning(&t, 0), "conflicting filings for "
                           "moved.example.com: kept 粤ICP备87654321号-4 "
                           "(website web-b, DomainSet[3]"));
    assert_non_null(strstr(warning(&t, 0), "over 京ICP备12345678号-1"));
    assert_non_null(strstr(warning(&t, 1), "tie.example.com"));
    assert_int_equal(t.rep.websites, 2);
    run_done(&t);
}


/* A filed and accessed record bound to one instance, without its closing
 * brace: UpdatedAt may follow. */
#define REC_FILED(domain, icp, website, instance)                            \
    "{\"Domain\": \"" domain "\", \"IcpNumber\": \"" icp "\", "              \
    "\"WebsiteId\": \"" website "\", \"FilingStatus\": \"FILED\", "           \
    "\"AccessStatus\": \"ACCESSED\", \"InstanceIds\": [\"" instance "\"]"


/* A record without UpdatedAt loses to one with it, whatever the order. */
static void
test_acc_missing_date_loses(void **state)
{
    run_t  t;

    (void) state;

    run_text(&t, "["
        REC_FILED("a.com", "京ICP备11111111号", "w1", INST) "},"
        REC_FILED("a.com", "沪ICP备22222222号", "w2", INST)
        ", \"UpdatedAt\": \"1999-01-01T00:00:00Z\"}]");
    assert_int_equal(t.n, 1);
    assert_string_equal(t.e[0].icp, "沪ICP备22222222号");
    assert_int_equal(t.rep.conflicts, 1);
    assert_non_null(strstr(warning(&t, 0), "no UpdatedAt"));
    run_done(&t);

    /* fractions of a second count */
    run_text(&t, "["
        REC_FILED("a.com", "京ICP备11111111号", "w1", INST)
        ", \"UpdatedAt\": \"2024-01-01T00:00:00.5Z\"},"
        REC_FILED("a.com", "沪ICP备22222222号", "w2", INST)
        ", \"UpdatedAt\": \"2024-01-01T00:00:00.25Z\"}]");
    assert_string_equal(t.e[0].icp, "京ICP备11111111号");
    run_done(&t);
}


static void
test_acc_websites(void **state)
{
    run_t  t;

    (void) state;

    assert_int_equal(run_file(&t, DATA("sync-websites6.json")), SYNC_DOC_OK);
    assert_int_equal(t.n, 6);
    assert_int_equal(t.rep.websites, 6);
    assert_int_equal(t.rep.nwarnings, 1);
    assert_non_null(strstr(warning(&t, 0), "6 websites are bound to "
                           "instance " INST));
    run_done(&t);

    /* five is the limit, not a warning; several domains per website */
    run_text(&t, "["
        REC_FILED("a1.com", "京ICP备11111111号-1", "w1", INST) "},"
        REC_FILED("a2.com", "京ICP备11111111号-1", "w1", INST) "},"
        REC_FILED("b.com", "京ICP备11111111号-2", "w2", INST) "},"
        REC_FILED("c.com", "京ICP备11111111号-3", "w3", INST) "},"
        REC_FILED("d.com", "京ICP备11111111号-4", "w4", INST) "},"
        REC_FILED("e.com", "京ICP备11111111号-5", "w5", INST) "},"
        REC_FILED("f.com", "京ICP备11111111号-6", "w6", "lhins-x0000000") "}"
        "]");
    assert_int_equal(t.n, 6);
    assert_int_equal(t.rep.websites, 5);
    assert_int_equal(t.rep.nwarnings, 0);
    run_done(&t);
}


/* Each reason is counted once per record; the rest of the file goes on. */
static void
test_acc_counts_every_reason(void **state)
{
    run_t  t;

    (void) state;

    run_text(&t, "["
        "1,"
        "{\"Domain\": \"a.com\", \"Domain\": \"b.com\"},"
        "{\"IcpNumber\": \"京ICP备11111111号\"},"
        "{\"Domain\": 5},"
        "{\"Domain\": \"a\\u0000.com\"},"
        "{\"Domain\": \"*.a.com\"},"
        "{\"Domain\": \"a\\u200d.com\"},"
        "{\"Domain\": \"a_b.com\"},"
        "{\"Domain\": \"net.cn\"},"
        "{\"Domain\": \"a.com\", \"FilingStatus\": \"FILED\", "
        "\"AccessStatus\": \"ACCESSED\", \"IcpNumber\": \"京ICP备1号\"},"
        "{\"Domain\": \"a.com\", \"FilingStatus\": \"FILED\", "
        "\"AccessStatus\": \"ACCESSED\", \"IcpNumber\": \"京ICP备11111111号\","
        " \"WebsiteId\": \"\"},"
        "{\"Domain\": \"a.com\", \"FilingStatus\": \"DONE\"},"
        "{\"Domain\": \"a.com\", \"FilingStatus\": \"FILED\", "
        "\"AccessStatus\": \"OK\"},"
        "{\"Domain\": \"a.com\", \"FilingStatus\": \"FILED\", "
        "\"AccessStatus\": \"ACCESSED\", \"IcpNumber\": \"京ICP备11111111号\","
        " \"WebsiteId\": \"w\", \"InstanceIds\": [], \"UpdatedAt\": \"now\"},"
        "{\"Domain\": \"ok.com\", \"FilingStatus\": \"FILED\", "
        "\"AccessStatus\": \"ACCESSED\", \"IcpNumber\": \"京ICP备11111111号\","
        " \"WebsiteId\": \"w\", \"InstanceIds\": [\"" INST "\"]}"
        "]");

    for (int i = 0; i < SYNC_REJ_N; i++) {
        if (t.rep.rejected[i] != 1) {
            fail_msg("%s counted %zu times", sync_reject_names[i],
                     t.rep.rejected[i]);
        }
    }
    assert_int_equal(t.rep.rejected_total, SYNC_REJ_N);
    assert_int_equal(t.rep.seen, SYNC_REJ_N + 1);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.e[0].domain, "ok.com");

    /* the duplicate-key record shows the first Domain it could read */
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(t.rep.rejects, 1), "reason")), "duplicate_key");
    run_done(&t);
}


int
main(void)
{
    int  rc;

    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_domain_idn),
        cmocka_unit_test(test_domain_ascii),
        cmocka_unit_test(test_domain_lengths),
        cmocka_unit_test(test_domain_wildcard),
        cmocka_unit_test(test_domain_public_suffix),
        cmocka_unit_test(test_record_valid),
        cmocka_unit_test(test_record_reasons),
        cmocka_unit_test(test_record_message_safe),
        cmocka_unit_test(test_admission),
        cmocka_unit_test(test_instance_id),
        cmocka_unit_test(test_acc_envelope),
        cmocka_unit_test(test_acc_array),
        cmocka_unit_test(test_acc_duplicates_conflicts),
        cmocka_unit_test(test_acc_missing_date_loses),
        cmocka_unit_test(test_acc_websites),
        cmocka_unit_test(test_acc_counts_every_reason),
    };

    rc = cmocka_run_group_tests(tests, NULL, NULL);
    sync_icp_cleanup();
    return rc;
}
