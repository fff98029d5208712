/*
 * Unit tests for the core: host normalization, the match rule, and the
 * snapshot writer/reader on real LMDB files in a temp directory.
 */

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "unit.h"
#include "beian_write.h"
#include "index.h"


static char  tmpdir[] = "/tmp/beian-unit.XXXXXX";


static beian_host_class_t
norm(const char *in, char *out)
{
    size_t  n;

    return beian_host_normalize(in, strlen(in), out, &n);
}


/*
 * beian_host_parse(): what nginx hands over (lowercase, no port, no
 * trailing dot) is used in place, with its label starts; the class and the
 * normalized form are always beian_host_normalize()'s, whichever path a
 * host takes (the one-pass scanner takes [a-z0-9.-] hosts of up to 64
 * bytes, the rest the byte-by-byte rule).
 */
static void
test_parse(void **state)
{
    size_t               i, n;
    beian_host_t         h;
    beian_host_class_t   cls;
    char                 buf[BEIAN_HOST_MAX + 1], out[BEIAN_HOST_MAX + 1];
    char                 long64[65], long65[66], longdot[66];

    const char         *hosts[] = {
        "www.example.com", "example.com", "a.b.c.d.example.com.cn",
        "xn--fsqu00a.xn--fiqs8s", "a-b.c0", "a.1-2", "a.123", "1.2.3.4",
        "1.2.3.4.", "127.1", "1..2", "a-.com", "-a.com", "a.-com", "a.com-",
        "example.com.", "example.com..", ".example.com", "example..com",
        "com", "com.", ".", "..", "-", "a.b", "0.a", "a.0", "a.b-",
        "12345678.example", "abcdefg.hijklmn.opq", "x.y", "x.y.",
        "www.example.com:80", "WWW.example.com", "[::1]", "a_b.com",
        "\xe4.com", long64, long65, longdot
    };

    (void) state;

    memset(long64, 'a', 64);
    long64[30] = '.';
    long64[64] = '\0';
    memcpy(long65, long64, 64);
    long65[64] = 'b';
    long65[65] = '\0';
    memcpy(longdot, long64, 64);
    longdot[64] = '.';
    longdot[65] = '\0';

    for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        cls = beian_host_parse(hosts[i], strlen(hosts[i]), buf, &h);
        assert_int_equal(cls, beian_host_normalize(hosts[i], strlen(hosts[i]),
                                                   out, &n));
        assert_int_equal(h.len, n);
        assert_memory_equal(h.name, out, n);
    }

    /* in place, no copy, labels where the dots are */
    cls = beian_host_parse("m.www.example.com", 17, buf, &h);
    assert_int_equal(cls, BEIAN_HOST_DOMAIN);
    assert_ptr_not_equal(h.name, buf);
    assert_int_equal(h.nlabels, 4);
    assert_int_equal(h.label[0], 0);
    assert_int_equal(h.label[1], 2);
    assert_int_equal(h.label[2], 6);
    assert_int_equal(h.label[3], 14);

    /* rewritten: into buf */
    cls = beian_host_parse("M.Example.com:8080", 18, buf, &h);
    assert_int_equal(cls, BEIAN_HOST_DOMAIN);
    assert_ptr_equal(h.name, buf);
    assert_int_equal(h.len, 13);
    assert_int_equal(h.nlabels, 3);
    assert_int_equal(h.label[2], 10);
}


static void
test_normalize(void **state)
{
    char  out[BEIAN_HOST_MAX + 1];

    (void) state;

    assert_int_equal(norm("Example.COM", out), BEIAN_HOST_DOMAIN);
    assert_string_equal(out, "example.com");
    assert_int_equal(norm("www.example.com:8080", out), BEIAN_HOST_DOMAIN);
    assert_string_equal(out, "www.example.com");
    assert_int_equal(norm("example.com.", out), BEIAN_HOST_DOMAIN);
    assert_string_equal(out, "example.com");
    assert_int_equal(norm("example.com.:80", out), BEIAN_HOST_DOMAIN);
    assert_string_equal(out, "example.com");

    /* only one trailing dot goes */
    assert_int_equal(norm("example.com..", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm("", out), BEIAN_HOST_NONE);
    assert_int_equal(norm(".", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm(":80", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm(".example.com", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm("example..com", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm("localhost", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm("ex ample.com", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm("a<b>.com", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm("\xe4\xbe\x8b\xe5\xad\x90.cn", out),
                     BEIAN_HOST_INVALID);
    assert_int_equal(norm("under_score.example.com", out),
                     BEIAN_HOST_INVALID);

    assert_int_equal(norm("127.0.0.1", out), BEIAN_HOST_IP);
    assert_int_equal(norm("127.0.0.1:8080", out), BEIAN_HOST_IP);
    assert_int_equal(norm("[::1]", out), BEIAN_HOST_IP);
    assert_string_equal(out, "[::1]");
    assert_int_equal(norm("[2001:DB8::1]:443", out), BEIAN_HOST_IP);
    assert_string_equal(out, "[2001:db8::1]");
    assert_int_equal(norm("[fe80::1%25eth0]", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm("[::1", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm("[::1]x", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm("[example.com]", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm("127.1", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm("256.0.0.1", out), BEIAN_HOST_INVALID);
    assert_int_equal(norm("1.2.3.4.5", out), BEIAN_HOST_INVALID);
}


static void
test_normalize_lengths(void **state)
{
    char    host[400], out[BEIAN_HOST_MAX + 1];
    size_t  n;

    (void) state;

    /* 63-byte label is fine, 64 is not */
    memset(host, 'a', 63);
    strcpy(host + 63, ".com");
    assert_int_equal(norm(host, out), BEIAN_HOST_DOMAIN);
    memset(host, 'a', 64);
    strcpy(host + 64, ".com");
    assert_int_equal(norm(host, out), BEIAN_HOST_INVALID);

    /* 253 bytes total is fine, 254 is not */
    memset(host, 'a', sizeof(host));
    for (n = 63; n < 253; n += 64) {
        host[n] = '.';
    }
    host[253] = '\0';
    assert_int_equal(norm(host, out), BEIAN_HOST_DOMAIN);
    host[253] = 'a';
    host[254] = '\0';
    assert_int_equal(norm(host, out), BEIAN_HOST_INVALID);

    /* longer than anything we normalize */
    memset(host, 'a', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    assert_int_equal(beian_host_normalize(host, strlen(host), out, &n),
                     BEIAN_HOST_INVALID);
    assert_int_equal(n, 0);
}


static void
test_domain_check(void **state)
{
    (void) state;

    assert_null(beian_domain_check("example.com", 11));
    assert_null(beian_domain_check("xn--fsqu00a.xn--fiqs8s", 22));
    assert_null(beian_domain_check("a-b.c0", 6));
    assert_non_null(beian_domain_check("com", 3));
    assert_non_null(beian_domain_check("-a.com", 6));
    assert_non_null(beian_domain_check("a-.com", 6));
    assert_non_null(beian_domain_check("a.123", 5));
    assert_non_null(beian_domain_check("A.com", 5));
    assert_non_null(beian_domain_check("a.com.", 6));
    assert_non_null(beian_domain_check("", 0));
}


static uint64_t  rnd_ip_state = 0x9e3779b97f4a7c15ULL;

/* The IPv4 form a host may give an address in: inet_pton(AF_INET)'s. */
static void
test_ipv4(void **state)
{
    size_t  i;

    static const struct {
        const char  *s;
        int          ok;
    } cases[] = {
        { "1.2.3.4", 1 }, { "0.0.0.0", 1 }, { "255.255.255.255", 1 },
        { "127.0.0.1", 1 }, { "10.0.100.1", 1 },
        { "256.1.1.1", 0 }, { "1.2.3.256", 0 }, { "01.2.3.4", 0 },
        { "1.2.3.04", 0 }, { "00.1.2.3", 0 }, { "1.2.3", 0 },
        { "1.2.3.4.5", 0 }, { "1..2.3", 0 }, { ".1.2.3", 0 },
        { "1.2.3.", 0 }, { "1.2.3.4.", 0 }, { "127.1", 0 },
        { "0x7f.0.0.1", 0 }, { "1234.1.1.1", 0 }, { "9999999999.1.1.1", 0 },
        { "", 0 }, { "1.2.3.a", 0 }, { " 1.2.3.4", 0 }
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(beian_ipv4_check(cases[i].s, strlen(cases[i].s)),
                         cases[i].ok);
    }

    /* and as inet_pton() says, on 200,000 strings of digits and dots */
    for (i = 0; i < 200000; i++) {
        size_t          j, n;
        char            str[20];
        unsigned char   addr[4];
        static const char  alphabet[] = "0123456789.....12";

        n = 1 + (rnd_ip_state = rnd_ip_state * 6364136223846793005ULL
                                + 1442695040888963407ULL) % 18;
        for (j = 0; j < n; j++) {
            rnd_ip_state = rnd_ip_state * 6364136223846793005ULL
                           + 1442695040888963407ULL;
            str[j] = alphabet[(rnd_ip_state >> 33) % (sizeof(alphabet) - 1)];
        }
        str[n] = '\0';

        assert_int_equal(beian_ipv4_check(str, n),
                         inet_pton(AF_INET, str, addr) == 1);
    }
}


static void
test_allowed(void **state)
{
    (void) state;

    assert_true(beian_allowed(BEIAN_FILED, 0));
    assert_true(beian_allowed(BEIAN_EXEMPT, BEIAN_MATCH_IP_BLOCK));
    assert_true(beian_allowed(BEIAN_OFF, 0));
    assert_false(beian_allowed(BEIAN_UNFILED, 0));
    assert_true(beian_allowed(BEIAN_IP, 0));
    assert_true(beian_allowed(BEIAN_NOHOST, 0));
    assert_false(beian_allowed(BEIAN_IP, BEIAN_MATCH_IP_BLOCK));
    assert_false(beian_allowed(BEIAN_NOHOST, BEIAN_MATCH_IP_BLOCK));
}


/* Rotating buffers: callers pass two paths to one call. */
static char *
tmp_path(const char *name)
{
    static char  path[4][256];
    static int   i;

    i = (i + 1) % 4;
    snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
    return path[i];
}


static void
write_sample(const char *path)
{
    char          err[BEIAN_ERR_MAX];
    size_t        n;
    beian_meta_t  m;
    beian_entry_t e[] = {
        { "example.com", 11, "京ICP备12345678号-1", "w1" },
        { "filed.cn", 8, "粤B2-20090059-5", "w2" },
        { "example.com", 11, "京ICP备12345678号-1", "w1" },   /* dup */
        { "deep.sub.example.org", 20, "沪ICP备12345678号", "w3" },
    };

    memset(&m, 0, sizeof(m));
    strcpy(m.instance_id, "lhins-test0001");
    strcpy(m.source, "unit");
    m.generated_at = 1790000000;

    n = beian_entries_sort(e, 4);
    assert_int_equal(n, 3);
    assert_string_equal(e[0].domain, "deep.sub.example.org");

    beian_entries_digest(m.instance_id, e, n, m.digest);
    assert_int_equal(beian_snap_write(path, &m, e, n, err, sizeof(err)), 0);
}


static beian_status_t
match(const beian_snap_t *s, const char *host, unsigned flags,
    beian_match_t *m)
{
    char                out[BEIAN_HOST_MAX + 1];
    size_t              n;
    beian_host_class_t  cls;

    cls = beian_host_normalize(host, strlen(host), out, &n);
    return beian_match(s, cls, out, n, flags, m);
}


static void
test_snapshot_roundtrip(void **state)
{
    char                 err[BEIAN_ERR_MAX];
    struct stat          st;
    beian_snap_t        *s;
    beian_match_t        m;
    const beian_meta_t  *meta;

    (void) state;

    write_sample(tmp_path("a.mdb"));

    assert_int_equal(stat(tmp_path("a.mdb"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    s = beian_snap_open(tmp_path("a.mdb"), err, sizeof(err));
    assert_non_null(s);

    meta = beian_snap_meta(s);
    assert_int_equal(meta->schema_version, 1);
    assert_int_equal(meta->record_count, 3);
    assert_string_equal(meta->instance_id, "lhins-test0001");
    assert_int_equal(meta->generated_at, 1790000000);
    assert_memory_equal(meta->digest, "sha256:", 7);
    assert_int_equal(strlen(meta->digest), 71);

    assert_int_equal(match(s, "example.com", BEIAN_MATCH_SUBDOMAINS, &m),
                     BEIAN_FILED);
    assert_int_equal(m.rec.icp_len, strlen("京ICP备12345678号-1"));
    assert_memory_equal(m.rec.icp, "京ICP备12345678号-1", m.rec.icp_len);
    assert_memory_equal(m.rec.website_id, "w1", 2);

    assert_int_equal(match(s, "A.B.Example.com.", BEIAN_MATCH_SUBDOMAINS, &m),
                     BEIAN_FILED);
    assert_int_equal(m.domain_len, 11);
    assert_memory_equal(m.domain, "example.com", 11);

    /* label boundaries only */
    assert_int_equal(match(s, "notexample.com", BEIAN_MATCH_SUBDOMAINS, &m),
                     BEIAN_UNFILED);
    assert_int_equal(match(s, "example.com.evil.net", BEIAN_MATCH_SUBDOMAINS,
                           &m), BEIAN_UNFILED);
    assert_int_equal(match(s, "xexample.com", BEIAN_MATCH_SUBDOMAINS, &m),
                     BEIAN_UNFILED);
    assert_int_equal(match(s, "com", BEIAN_MATCH_SUBDOMAINS, &m),
                     BEIAN_UNFILED);

    /* a filed deeper name covers only below itself */
    assert_int_equal(match(s, "x.deep.sub.example.org",
                           BEIAN_MATCH_SUBDOMAINS, &m), BEIAN_FILED);
    assert_int_equal(match(s, "sub.example.org", BEIAN_MATCH_SUBDOMAINS, &m),
                     BEIAN_UNFILED);
    assert_int_equal(match(s, "example.org", BEIAN_MATCH_SUBDOMAINS, &m),
                     BEIAN_UNFILED);

    /* subdomains off: exact names only */
    assert_int_equal(match(s, "www.example.com", 0, &m), BEIAN_UNFILED);
    assert_int_equal(match(s, "example.com", 0, &m), BEIAN_FILED);

    assert_int_equal(match(s, "127.0.0.1", 0, &m), BEIAN_IP);
    assert_int_equal(match(s, "", 0, &m), BEIAN_NOHOST);

    /* no snapshot: every domain is unfiled */
    assert_int_equal(match(NULL, "example.com", BEIAN_MATCH_SUBDOMAINS, &m),
                     BEIAN_UNFILED);

    beian_snap_close(s);
}


static int
count_cb(const char *d, size_t len, const beian_rec_t *rec, void *data)
{
    (void) d;
    (void) len;
    (void) rec;
    (*(int *) data)++;
    return 0;
}


static void
test_snapshot_foreach(void **state)
{
    int            count = 0;
    char           err[BEIAN_ERR_MAX];
    beian_snap_t  *s;

    (void) state;

    write_sample(tmp_path("b.mdb"));
    s = beian_snap_open(tmp_path("b.mdb"), err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(beian_snap_foreach(s, count_cb, &count, err,
                                        sizeof(err)), 0);
    assert_int_equal(count, 3);
    beian_snap_close(s);
}


static void
write_bytes(const char *path, const void *p, size_t n)
{
    FILE  *f = fopen(path, "wb");

    assert_non_null(f);
    if (n) {
        assert_int_equal(fwrite(p, 1, n, f), n);
    }
    fclose(f);
}


static void
expect_refused(const char *name, const char *reason)
{
    char           err[BEIAN_ERR_MAX];
    beian_snap_t  *s;

    s = beian_snap_open(tmp_path(name), err, sizeof(err));
    assert_null(s);
    assert_non_null(strstr(err, tmp_path(name)));
    if (strstr(err, reason) == NULL) {
        fail_msg("\"%s\" does not say \"%s\"", err, reason);
    }
}


/* Opens an LMDB file and begins a transaction in it: a read-only one if
 * flags has MDB_RDONLY. */
static MDB_txn *
lmdb_begin(const char *path, unsigned flags, MDB_env **env)
{
    MDB_txn  *txn;

    assert_int_equal(mdb_env_create(env), 0);
    assert_int_equal(mdb_env_set_maxdbs(*env, 4), 0);
    if (!(flags & MDB_RDONLY)) {
        assert_int_equal(mdb_env_set_mapsize(*env, 64 << 20), 0);
    }
    assert_int_equal(mdb_env_open(*env, path, MDB_NOSUBDIR | MDB_NOLOCK
                                  | flags, 0644), 0);
    assert_int_equal(mdb_txn_begin(*env, NULL, flags & MDB_RDONLY, &txn), 0);
    return txn;
}


/* Puts one key with a binary value into a named database of an LMDB
 * file, like mdb_load. */
static void
lmdb_putv(const char *path, const char *db, const char *key, const void *val,
    size_t size)
{
    MDB_env  *env;
    MDB_txn  *txn;
    MDB_dbi   dbi;
    MDB_val   k, v;

    k.mv_data = (void *) key;
    k.mv_size = strlen(key);
    v.mv_data = (void *) val;
    v.mv_size = size;

    txn = lmdb_begin(path, 0, &env);
    assert_int_equal(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}


/* The same with a string value. */
static void
lmdb_put(const char *path, const char *db, const char *key, const char *val)
{
    lmdb_putv(path, db, key, val, strlen(val));
}


/* A malloc'ed copy of one value. */
static unsigned char *
lmdb_get_copy(const char *path, const char *db, const char *key,
    size_t *size)
{
    MDB_env        *env;
    MDB_txn        *txn;
    MDB_dbi         dbi;
    MDB_val         k, v;
    unsigned char  *p;

    k.mv_data = (void *) key;
    k.mv_size = strlen(key);

    txn = lmdb_begin(path, MDB_RDONLY, &env);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    p = malloc(v.mv_size);
    assert_non_null(p);
    memcpy(p, v.mv_data, v.mv_size);
    *size = v.mv_size;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return p;
}


/* Deletes a named database: a snapshot as older beian-sync wrote it. */
static void
lmdb_drop(const char *path, const char *db)
{
    MDB_env  *env;
    MDB_txn  *txn;
    MDB_dbi   dbi;

    txn = lmdb_begin(path, 0, &env);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}


static void
copy_file(const char *from, const char *to)
{
    char    buf[1 << 16];
    FILE   *in, *out;
    size_t  n;

    in = fopen(from, "rb");
    out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        assert_int_equal(fwrite(buf, 1, n, out), n);
    }
    fclose(in);
    fclose(out);
}


static void
test_snapshot_refused(void **state)
{
    char           buf[8192];
    struct stat    st;
    beian_rec_t    rec;
    beian_snap_t  *s;
    char           err[BEIAN_ERR_MAX];

    (void) state;

    expect_refused("missing.mdb", "No such file");

    write_bytes(tmp_path("zero.mdb"), "", 0);
    expect_refused("zero.mdb", "empty file");

    memset(buf, 0x5a, sizeof(buf));
    write_bytes(tmp_path("junk.mdb"), buf, sizeof(buf));
    expect_refused("junk.mdb", "not an LMDB file");

    assert_int_equal(mkdir(tmp_path("dir.mdb"), 0755), 0);
    expect_refused("dir.mdb", "not a regular file");

    write_sample(tmp_path("full.mdb"));
    assert_int_equal(stat(tmp_path("full.mdb"), &st), 0);
    copy_file(tmp_path("full.mdb"), tmp_path("trunc.mdb"));
    assert_int_equal(truncate(tmp_path("trunc.mdb"), st.st_size - 4096), 0);
    expect_refused("trunc.mdb", "truncated");

    copy_file(tmp_path("full.mdb"), tmp_path("schema.mdb"));
    lmdb_put(tmp_path("schema.mdb"), "meta", "schema_version", "2");
    expect_refused("schema.mdb", "unknown schema version 2");

    copy_file(tmp_path("full.mdb"), tmp_path("count.mdb"));
    lmdb_put(tmp_path("count.mdb"), "meta", "record_count", "4");
    expect_refused("count.mdb", "record count mismatch");

    copy_file(tmp_path("full.mdb"), tmp_path("nan.mdb"));
    lmdb_put(tmp_path("nan.mdb"), "meta", "generated_at", "yesterday");
    expect_refused("nan.mdb", "is not a number");

    lmdb_put(tmp_path("nometa.mdb"), "domains", "example.com", "x");
    expect_refused("nometa.mdb", "missing \"meta\"");

    lmdb_put(tmp_path("nodom.mdb"), "meta", "schema_version", "1");
    lmdb_put(tmp_path("nodom.mdb"), "meta", "instance_id", "i");
    lmdb_put(tmp_path("nodom.mdb"), "meta", "generated_at", "1");
    lmdb_put(tmp_path("nodom.mdb"), "meta", "source", "s");
    lmdb_put(tmp_path("nodom.mdb"), "meta", "record_count", "0");
    expect_refused("nodom.mdb", "missing meta key \"digest\"");
    lmdb_put(tmp_path("nodom.mdb"), "meta", "digest", "d");
    expect_refused("nodom.mdb", "missing \"domains\"");

    /* values never need overflow pages: one that does is refused */
    {
        char  big[5001];

        memset(big, 'x', 5000);
        big[5000] = '\0';
        copy_file(tmp_path("full.mdb"), tmp_path("big.mdb"));
        lmdb_put(tmp_path("big.mdb"), "domains", "big.cn", big);
        lmdb_put(tmp_path("big.mdb"), "meta", "record_count", "4");
        expect_refused("big.mdb", "over-long values");
    }

    /*
     * A value that does not decode never allows, even if the key exists:
     * in "domains" (read through the tree: a snapshot without the index)
     * and in the index's copy of it.
     */
    copy_file(tmp_path("full.mdb"), tmp_path("badval.mdb"));
    lmdb_drop(tmp_path("badval.mdb"), "index");
    lmdb_put(tmp_path("badval.mdb"), "domains", "filed.cn", "\x01\x7fshort");
    s = beian_snap_open(tmp_path("badval.mdb"), err, sizeof(err));
    assert_non_null(s);
    assert_false(beian_snap_has_index(s));
    assert_int_equal(beian_snap_get(s, "filed.cn", 8, &rec), -1);
    assert_int_equal(beian_snap_get(s, "example.com", 11, &rec), 1);
    beian_snap_close(s);

    copy_file(tmp_path("full.mdb"), tmp_path("badidxval.mdb"));
    {
        unsigned char  *p;
        size_t          size;
        const char     *e;

        p = lmdb_get_copy(tmp_path("badidxval.mdb"), "index", BEIAN_INDEX_KEY,
                          &size);
        /* the record of filed.cn: its ICP number's length past the end */
        e = memmem(p, size, "\x01\x10\xe7\xb2\xa4" "B2-", 8);
        assert_non_null(e);
        p[e - (char *) p + 1] = 0xff;
        lmdb_putv(tmp_path("badidxval.mdb"), "index", BEIAN_INDEX_KEY, p,
                  size);
        free(p);
    }
    s = beian_snap_open(tmp_path("badidxval.mdb"), err, sizeof(err));
    assert_non_null(s);
    assert_true(beian_snap_has_index(s));
    assert_int_equal(beian_snap_get(s, "filed.cn", 8, &rec), -1);
    assert_int_equal(beian_snap_get(s, "example.com", 11, &rec), 1);
    /* the verdict alone reads keys only: the key is there, intact */
    assert_int_equal(beian_snap_get(s, "filed.cn", 8, NULL), 1);
    beian_snap_close(s);
}


/* Writes the snapshot name from sorted entries, as instance. */
static void
write_entries(const char *name, const char *instance, const char *source,
    beian_entry_t *e, size_t n)
{
    char          err[BEIAN_ERR_MAX];
    beian_meta_t  m;

    memset(&m, 0, sizeof(m));
    strcpy(m.instance_id, instance);
    strcpy(m.source, source);
    beian_entries_digest(m.instance_id, e, n, m.digest);
    assert_int_equal(beian_snap_write(tmp_path(name), &m, e, n, err,
                                      sizeof(err)), 0);
}


/* Random names: a deterministic generator, reproducible failures. */
static uint64_t  rnd_state = 0x2545f4914f6cdd1dULL;

static unsigned
rnd(unsigned n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (unsigned) (rnd_state % n);
}


static size_t
rnd_name(char *out)
{
    static const char *const  tld[] = { "cn", "com", "net", "xn--fiqs8s" };
    static const char         chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned                  labels, i, j, len;
    size_t                    n = 0;

    labels = 1 + rnd(3);
    for (i = 0; i < labels; i++) {
        len = 1 + rnd(12);
        for (j = 0; j < len; j++) {
            out[n++] = chars[rnd(sizeof(chars) - 1)];
        }
        out[n++] = '.';
    }
    strcpy(out + n, tld[rnd(4)]);
    return n + strlen(out + n);
}


#define AGREE_N  3000

typedef struct {
    char           names[AGREE_N][64];
    char           icps[AGREE_N][BEIAN_ICP_MAX + 1];
    char           ids[AGREE_N][BEIAN_WEBSITE_ID_MAX + 1];
    beian_entry_t  e[AGREE_N];
} agree_t;


static int
same_rec(const beian_rec_t *a, const beian_rec_t *b)
{
    return a->icp_len == b->icp_len && a->website_id_len == b->website_id_len
           && memcmp(a->icp, b->icp, a->icp_len) == 0
           && memcmp(a->website_id, b->website_id, a->website_id_len) == 0;
}


/*
 * beian_host_verdict(), checked against the parse and the match it stands
 * for (the status, and the name for a host taken as it is).
 */
static beian_status_t
verdict_of(beian_snap_t *snap, const char *host, size_t len, unsigned flags)
{
    beian_host_t        h;
    beian_match_t       m;
    beian_verdict_t     v;
    beian_status_t      st;
    beian_host_class_t  cls;
    char                buf[BEIAN_HOST_MAX + 1], pbuf[BEIAN_HOST_MAX + 1];

    v = beian_host_verdict(snap, host, len, flags, buf);

    cls = beian_host_parse(host, len, pbuf, &h);
    st = beian_match_host(snap, cls, &h, flags | BEIAN_MATCH_NO_RECORD, &m);

    if (!(flags & BEIAN_MATCH_CLEAN)) {
        assert_int_equal(v.status, st);
        assert_int_equal(v.name == NULL, cls == BEIAN_HOST_INVALID);
    }

    if (v.status == BEIAN_FILED) {
        assert_int_equal(st, BEIAN_FILED);
        assert_int_equal(v.len, h.len);
        assert_memory_equal(v.name, h.name, h.len);
    }

    return v.status;
}


static void
test_index_agrees(void **state)
{
    char            err[BEIAN_ERR_MAX], host[BEIAN_HOST_MAX + 1];
    size_t          i, j, n, len, hits, misses;
    agree_t        *a;
    beian_rec_t     r1, r2;
    beian_match_t   m1, m2;
    beian_snap_t   *idx, *tree;
    beian_status_t  s1, s2;

    (void) state;

    a = calloc(1, sizeof(*a));
    assert_non_null(a);

    for (i = 0; i < AGREE_N; i++) {
        a->e[i].domain = a->names[i];
        a->e[i].domain_len = rnd_name(a->names[i]);

        /* one in 50 too long for an index line: kept apart (59-63) */
        if (i % 50 == 1) {
            len = 59 + rnd(5);
            for (j = 0; j < len - 3; j++) {
                a->names[i][j] = (char) ('a' + rnd(26));
            }
            memcpy(a->names[i] + len - 3, ".cn", 4);
            a->e[i].domain_len = len;
        }
        a->e[i].icp = a->icps[i];
        a->e[i].website_id = a->ids[i];

        /* a few records as long as they come: 3 + 128 + 128 bytes */
        len = i % 97 == 0 ? BEIAN_ICP_MAX : 1 + rnd(40);
        memset(a->icps[i], 'A' + (int) rnd(26), len);
        a->icps[i][len] = '\0';
        len = i % 97 == 0 ? BEIAN_WEBSITE_ID_MAX : 1 + rnd(20);
        memset(a->ids[i], '0' + (int) rnd(10), len);
        a->ids[i][len] = '\0';
    }

    /* one record per domain */
    n = beian_entries_sort(a->e, AGREE_N);
    for (i = 1, j = 1; i < n; i++) {
        if (beian_domain_cmp(a->e[j - 1].domain, a->e[j - 1].domain_len,
                             a->e[i].domain, a->e[i].domain_len) != 0)
        {
            a->e[j++] = a->e[i];
        }
    }
    n = j;
    assert_true(n > AGREE_N * 9 / 10);

    write_entries("agree.mdb", "lhins-agree", "unit", a->e, n);

    copy_file(tmp_path("agree.mdb"), tmp_path("agree-tree.mdb"));
    lmdb_drop(tmp_path("agree-tree.mdb"), "index");

    idx = beian_snap_open(tmp_path("agree.mdb"), err, sizeof(err));
    assert_non_null(idx);
    tree = beian_snap_open(tmp_path("agree-tree.mdb"), err, sizeof(err));
    if (tree == NULL) {
        fail_msg("%s", err);
    }
    assert_true(beian_snap_has_index(idx));
    assert_false(beian_snap_has_index(tree));
    assert_int_equal(beian_snap_meta(idx)->record_count, n);

    /* hits, with the same record */
    for (i = 0; i < n; i++) {
        assert_int_equal(beian_snap_get(idx, a->e[i].domain,
                                        a->e[i].domain_len, &r1), 1);
        assert_int_equal(beian_snap_get(tree, a->e[i].domain,
                                        a->e[i].domain_len, &r2), 1);
        assert_true(same_rec(&r1, &r2));
        assert_int_equal(beian_snap_get(idx, a->e[i].domain,
                                        a->e[i].domain_len, NULL), 1);
        assert_int_equal(r1.icp_len, strlen(a->e[i].icp));
        assert_memory_equal(r1.icp, a->e[i].icp, r1.icp_len);
        assert_memory_equal(r1.website_id, a->e[i].website_id,
                            r1.website_id_len);
    }

    /* subdomains of filed names, and random names: mostly misses */
    hits = misses = 0;
    for (i = 0; i < 4 * AGREE_N; i++) {
        if (i % 2 == 0) {
            j = rnd((unsigned) n);
            len = (size_t) snprintf(host, sizeof(host), "w%u.%s", rnd(9),
                                    a->e[j].domain);
        } else {
            len = rnd_name(host);
        }

        s1 = beian_match(idx, BEIAN_HOST_DOMAIN, host, len,
                         BEIAN_MATCH_SUBDOMAINS, &m1);
        s2 = beian_match(tree, BEIAN_HOST_DOMAIN, host, len,
                         BEIAN_MATCH_SUBDOMAINS, &m2);
        assert_int_equal(s1, s2);
        assert_int_equal(beian_match(idx, BEIAN_HOST_DOMAIN, host, len,
                                     BEIAN_MATCH_SUBDOMAINS
                                     | BEIAN_MATCH_NO_RECORD, &m2), s1);
        assert_null(m2.rec.icp);
        if (s1 == BEIAN_FILED) {
            (void) beian_match(tree, BEIAN_HOST_DOMAIN, host, len,
                               BEIAN_MATCH_SUBDOMAINS, &m2);
            assert_int_equal(m1.domain_len, m2.domain_len);
            assert_memory_equal(m1.domain, m2.domain, m1.domain_len);
            assert_true(same_rec(&m1.rec, &m2.rec));
            hits++;
        } else {
            misses++;
        }

        assert_int_equal(beian_snap_get(idx, host, len, &r1),
                         beian_snap_get(tree, host, len, &r2));

        /* the gate's one call, with and without the index, checked as it
         * scans or after a hit, and from the handle's memory */
        assert_int_equal(verdict_of(idx, host, len, BEIAN_MATCH_SUBDOMAINS),
                         s1);
        assert_int_equal(verdict_of(tree, host, len, BEIAN_MATCH_SUBDOMAINS),
                         s1);
        assert_int_equal(verdict_of(idx, host, len, BEIAN_MATCH_SUBDOMAINS
                                                    | BEIAN_MATCH_CLEAN), s1);
        assert_int_equal(verdict_of(idx, host, len, BEIAN_MATCH_SUBDOMAINS
                                                    | BEIAN_MATCH_CLEAN), s1);
    }
    assert_true(hits >= 2 * AGREE_N * 9 / 10);
    assert_true(misses > AGREE_N);

    /* names no domain can have, longer than a key length byte holds */
    memset(host, 'a', 300);
    assert_int_equal(beian_snap_get(idx, host, 300, &r1), 0);
    assert_int_equal(beian_snap_get(idx, "", 0, &r1), 0);

    beian_snap_close(idx);
    beian_snap_close(tree);
    free(a);
}


/*
 * beian_host_verdict(): what nginx's POST_READ check calls for the host it
 * resolved (BEIAN_MATCH_CLEAN) and the tool for any name.  Beside the
 * agreement above on random names: the promise of BEIAN_MATCH_CLEAN
 * broken never makes a name filed, the handle's memory of filed hosts
 * keeps to its subdomain rule and its snapshot, and the names returned.
 */
static void
test_host_verdict(void **state)
{
    char             err[BEIAN_ERR_MAX], buf[BEIAN_HOST_MAX + 1];
    size_t           i;
    beian_snap_t    *a, *b;
    beian_verdict_t  v;
    beian_entry_t    e[3] = {
        { (char *) "ab.cn", 5, (char *) "ICP-1", (char *) "w1" },
        { (char *) "example.com", 11, (char *) "ICP-2", (char *) "w2" },
        { (char *) "www.example.org", 15, (char *) "ICP-3", (char *) "w3" }
    }, e2[2];

    static const struct {
        const char      *host;
        unsigned         flags;
        beian_status_t   status;
    } cases[] = {
        { "www.example.com", BEIAN_MATCH_SUBDOMAINS, BEIAN_FILED },
        { "www.example.com", 0, BEIAN_UNFILED },
        { "www.example.com", BEIAN_MATCH_SUBDOMAINS, BEIAN_FILED },
        { "example.com", 0, BEIAN_FILED },
        { "ab.cn", 0, BEIAN_FILED },
        { "x.ab.cn", BEIAN_MATCH_SUBDOMAINS, BEIAN_FILED },
        { "xab.cn", BEIAN_MATCH_SUBDOMAINS, BEIAN_UNFILED },
        { "example.org", BEIAN_MATCH_SUBDOMAINS, BEIAN_UNFILED },
        { "a.www.example.org", BEIAN_MATCH_SUBDOMAINS, BEIAN_FILED },
        /* filed suffixes of names that are not domains */
        { "a_b.example.com", BEIAN_MATCH_SUBDOMAINS, BEIAN_UNFILED },
        { "-a.example.com", BEIAN_MATCH_SUBDOMAINS, BEIAN_UNFILED },
        { ".example.com", BEIAN_MATCH_SUBDOMAINS, BEIAN_UNFILED },
        { "a..example.com", BEIAN_MATCH_SUBDOMAINS, BEIAN_UNFILED },
        { "\xe4.example.com", BEIAN_MATCH_SUBDOMAINS, BEIAN_UNFILED },
        /* what takes the full rule */
        { "1.2.3.4", 0, BEIAN_IP },
        { "[::1]", 0, BEIAN_IP },
        { "", 0, BEIAN_NOHOST },
        { "example.com.", 0, BEIAN_FILED },
        { "a.very.long.name.under.a.filed.domain.example.com",
          BEIAN_MATCH_SUBDOMAINS, BEIAN_FILED },
        { "a.very.long.name.under.a.filed.domain.example.co",
          BEIAN_MATCH_SUBDOMAINS, BEIAN_UNFILED }
    };

    (void) state;

    /* b: a without example.com */
    e2[0] = e[0];
    e2[1] = e[2];
    write_entries("verdict-a.mdb", "lhins-verdict", "unit", e, 3);
    write_entries("verdict-b.mdb", "lhins-verdict", "unit", e2, 2);

    a = beian_snap_open(tmp_path("verdict-a.mdb"), err, sizeof(err));
    assert_non_null(a);

    /* twice over: the second time, filed hosts come from memory */
    for (i = 0; i < 2 * sizeof(cases) / sizeof(cases[0]); i++) {
        const char  *h = cases[i % (sizeof(cases) / sizeof(cases[0]))].host;
        unsigned     f = cases[i % (sizeof(cases) / sizeof(cases[0]))].flags;

        assert_int_equal(verdict_of(a, h, strlen(h), f),
                         cases[i % (sizeof(cases) / sizeof(cases[0]))].status);
        assert_int_equal(verdict_of(a, h, strlen(h), f | BEIAN_MATCH_CLEAN),
                         cases[i % (sizeof(cases) / sizeof(cases[0]))].status);
    }

    /* the promise broken (upper case, a port): never filed, nor wrong;
     * a host ending in a digit takes the full rule */
    v = beian_host_verdict(a, "Example.com", 11, BEIAN_MATCH_CLEAN, buf);
    assert_int_equal(v.status, BEIAN_UNFILED);
    v = beian_host_verdict(a, "example.com:", 12, BEIAN_MATCH_CLEAN, buf);
    assert_int_equal(v.status, BEIAN_UNFILED);
    v = beian_host_verdict(a, "example.com:80", 14, BEIAN_MATCH_CLEAN, buf);
    assert_int_equal(v.status, BEIAN_FILED);
    v = beian_host_verdict(a, "WWW.example.com", 15,
                           BEIAN_MATCH_SUBDOMAINS | BEIAN_MATCH_CLEAN, buf);
    assert_int_equal(v.status, BEIAN_FILED);

    /* and with it kept, or without it: the same */
    v = beian_host_verdict(a, "Example.com:80", 14, 0, buf);
    assert_int_equal(v.status, BEIAN_FILED);
    assert_ptr_equal(v.name, buf);
    assert_int_equal(v.len, 11);
    assert_memory_equal(v.name, "example.com", 11);

    /* names: the host itself, or none for an invalid one */
    v = beian_host_verdict(a, "www.example.com", 15,
                           BEIAN_MATCH_SUBDOMAINS | BEIAN_MATCH_CLEAN, buf);
    assert_string_equal(v.name, "www.example.com");
    v = beian_host_verdict(a, "a_b.example.com", 15,
                           BEIAN_MATCH_SUBDOMAINS, buf);
    assert_null(v.name);
    v = beian_host_verdict(a, "a_b.example.com", 15,
                           BEIAN_MATCH_SUBDOMAINS | BEIAN_MATCH_CLEAN, buf);
    assert_null(v.name);
    v = beian_host_verdict(a, "a_b.example.net", 15,
                           BEIAN_MATCH_SUBDOMAINS | BEIAN_MATCH_CLEAN, buf);
    assert_int_equal(v.status, BEIAN_UNFILED);
    assert_false(beian_host_plain(v.name, v.len));
    assert_true(beian_host_plain("www.example-1.com", 17));

    /* no snapshot: nothing is filed */
    v = beian_host_verdict(NULL, "example.com", 11, BEIAN_MATCH_CLEAN, buf);
    assert_int_equal(v.status, BEIAN_UNFILED);

    /* a new snapshot starts with nothing remembered */
    b = beian_snap_open(tmp_path("verdict-b.mdb"), err, sizeof(err));
    assert_non_null(b);
    assert_int_equal(verdict_of(b, "www.example.com", 15,
                                BEIAN_MATCH_SUBDOMAINS | BEIAN_MATCH_CLEAN),
                     BEIAN_UNFILED);
    assert_int_equal(verdict_of(b, "ab.cn", 5, BEIAN_MATCH_CLEAN),
                     BEIAN_FILED);

    beian_snap_close(a);
    beian_snap_close(b);
}


/* Rewrites the index value of a copy of idx.mdb through fn. */
static void
index_edit(const char *name, void (*fn)(unsigned char *p, size_t size))
{
    unsigned char  *p;
    size_t          size;

    copy_file(tmp_path("idx.mdb"), tmp_path(name));
    p = lmdb_get_copy(tmp_path(name), "index", BEIAN_INDEX_KEY, &size);
    fn(p, size);
    lmdb_putv(tmp_path(name), "index", BEIAN_INDEX_KEY, p, size);
    free(p);
}


#define HDR(p)      ((beian_index_hdr_t *) (void *) (p))
#define FILTER(p)   ((p) + 48)
#define BUCKETS(p)  ((p) + 48 + (size_t) HDR(p)->words * 8)
#define BUCKET(p, i)  ((beian_index_bucket_t *) (void *) \
                       (BUCKETS(p) + (size_t) (i) * 64))

static void ed_magic(unsigned char *p, size_t n) { (void) n; HDR(p)->magic++; }
static void ed_count(unsigned char *p, size_t n) { (void) n; HDR(p)->count--; }
static void ed_words(unsigned char *p, size_t n) { (void) n; HDR(p)->words += 8; }
static void ed_homes(unsigned char *p, size_t n) { (void) n; HDR(p)->homes++; }
static void ed_buckets(unsigned char *p, size_t n) { (void) n; HDR(p)->buckets--; }
static void ed_keys(unsigned char *p, size_t n) { (void) n; HDR(p)->keys_len++; }
static void ed_recs(unsigned char *p, size_t n) { (void) n; HDR(p)->recs_len--; }
static void ed_zero(unsigned char *p, size_t n) { (void) n; HDR(p)->zero = 1; }

static void
ed_spill(unsigned char *p, size_t n)
{
    uint32_t  i;

    /* every home spills past the last bucket, and every key passes the
     * filter: a lookup that misses its home reads the spill */
    (void) n;
    memset(FILTER(p), 0xff, (size_t) HDR(p)->words * 8);
    for (i = 0; i < HDR(p)->homes; i++) {
        BUCKET(p, i)->spill = 255;
    }
}

static void
ed_koff(unsigned char *p, size_t n)
{
    uint32_t  i, j;

    /* every key offset past the key area, or into its padding */
    (void) n;
    for (i = 0; i < HDR(p)->buckets; i++) {
        for (j = 0; j < BEIAN_INDEX_SLOTS; j++) {
            BUCKET(p, i)->koff[j] = (i + j) % 2 ? 0xfffffff0U : 3;
        }
    }
}

static void
ed_len(unsigned char *p, size_t n)
{
    uint32_t  i, j;

    /* every key as long as it can be: past the key area's end */
    (void) n;
    for (i = 0; i < HDR(p)->buckets; i++) {
        for (j = 0; j < BEIAN_INDEX_SLOTS; j++) {
            if (BUCKET(p, i)->len[j] != 0) {
                BUCKET(p, i)->koff[j] = HDR(p)->keys_len - 2;
            }
        }
    }
}

static void
ed_filter(unsigned char *p, size_t n)
{
    (void) n;
    memset(FILTER(p), 0, (size_t) HDR(p)->words * 8);
}

static void
ed_check(unsigned char *p, size_t n)
{
    uint32_t  i, j;

    /* every check wrong: keys are found by their check first */
    (void) n;
    for (i = 0; i < HDR(p)->buckets; i++) {
        for (j = 0; j < BEIAN_INDEX_SLOTS; j++) {
            BUCKET(p, i)->check[j] ^= 1;
        }
    }
}


static void
test_index_corrupt(void **state)
{
    char               err[BEIAN_ERR_MAX];
    unsigned char     *p;
    size_t             i, size;
    beian_rec_t        rec;
    char               d1[72], d2[72];
    beian_snap_t      *s;
    beian_match_t      mm;
    beian_index_hdr_t  hdr;

    static const struct {
        const char  *name;
        void       (*fn)(unsigned char *, size_t);
        const char  *reason;
    } hdr_edits[] = {
        { "ix-magic.mdb", ed_magic, "index has a bad magic" },
        { "ix-count.mdb", ed_count, "index sizes do not fit" },
        { "ix-words.mdb", ed_words, "index sizes do not fit" },
        { "ix-homes.mdb", ed_homes, "index sizes do not fit" },
        { "ix-buckets.mdb", ed_buckets, "index sizes do not fit" },
        { "ix-keys.mdb", ed_keys, "index sizes do not fit" },
        { "ix-recs.mdb", ed_recs, "index sizes do not fit" },
        { "ix-zero.mdb", ed_zero, "index sizes do not fit" },
    };

    (void) state;

    write_sample(tmp_path("idx.mdb"));
    p = lmdb_get_copy(tmp_path("idx.mdb"), "index", BEIAN_INDEX_KEY, &size);
    memcpy(&hdr, p, sizeof(hdr));
    assert_int_equal(hdr.magic, BEIAN_INDEX_MAGIC);
    assert_memory_equal(p, "beianix3", 8);
    assert_int_equal(hdr.seed, 0);
    assert_int_equal(hdr.count, 3);
    assert_int_equal(hdr.words, BEIAN_INDEX_WORDS(3));
    assert_int_equal(hdr.homes, BEIAN_INDEX_HOMES(3));
    assert_true(hdr.buckets >= hdr.homes);
    assert_int_equal(hdr.keys_len, 8 + 20 + 11 + 8);
    assert_int_equal(size, 48 + (size_t) hdr.words * 8
                           + (size_t) hdr.buckets * 64 + hdr.keys_len
                           + hdr.recs_len);
    free(p);

    /* the header: refused at open, with a message */
    for (i = 0; i < sizeof(hdr_edits) / sizeof(hdr_edits[0]); i++) {
        index_edit(hdr_edits[i].name, hdr_edits[i].fn);
        expect_refused(hdr_edits[i].name, hdr_edits[i].reason);
    }

    copy_file(tmp_path("idx.mdb"), tmp_path("ix-short.mdb"));
    lmdb_putv(tmp_path("ix-short.mdb"), "index", BEIAN_INDEX_KEY,
              "beianix3", 8);
    expect_refused("ix-short.mdb", "index value too short");

    /* two values: not what beian-sync writes */
    copy_file(tmp_path("idx.mdb"), tmp_path("ix-key.mdb"));
    lmdb_put(tmp_path("ix-key.mdb"), "index", "hash-v9", "x");
    expect_refused("ix-key.mdb", "index database is not");

    /* an index of another version alone (hash-v2, a file of an older
     * writer, or a newer one): read through the tree */
    copy_file(tmp_path("idx.mdb"), tmp_path("ix-other.mdb"));
    lmdb_drop(tmp_path("ix-other.mdb"), "index");
    lmdb_put(tmp_path("ix-other.mdb"), "index", "hash-v2", "beianix2");
    s = beian_snap_open(tmp_path("ix-other.mdb"), err, sizeof(err));
    if (s == NULL) {
        fail_msg("%s", err);
    }
    assert_false(beian_snap_has_index(s));
    assert_int_equal(beian_snap_get(s, "filed.cn", 8, &rec), 1);
    assert_int_equal(beian_snap_get(s, "other.cn", 8, &rec), 0);

    /* the digest covers that entry as it is stored: an older writer's
     * file still verifies, and a change to its index does not */
    assert_int_equal(beian_snap_digest(s, d1, err, sizeof(err)), 0);
    beian_snap_close(s);
    lmdb_put(tmp_path("ix-other.mdb"), "index", "hash-v2", "beianiy2");
    s = beian_snap_open(tmp_path("ix-other.mdb"), err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(beian_snap_digest(s, d2, err, sizeof(err)), 0);
    assert_string_not_equal(d1, d2);
    beian_snap_close(s);
    lmdb_drop(tmp_path("ix-other.mdb"), "index");
    s = beian_snap_open(tmp_path("ix-other.mdb"), err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(beian_snap_digest(s, d2, err, sizeof(err)), 0);
    assert_string_not_equal(d1, d2);
    beian_snap_close(s);

    /* spill past the last bucket: a lookup that leaves its home fails,
     * never reads there; one found at home is found */
    index_edit("ix-spill.mdb", ed_spill);
    s = beian_snap_open(tmp_path("ix-spill.mdb"), err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(beian_snap_get(s, "absent.cn", 9, &rec), -1);
    assert_int_equal(beian_snap_get(s, "www.filed.cn.evil.net", 21, NULL),
                     -1);
    assert_int_equal(beian_snap_get(s, "filed.cn", 8, NULL), 1);
    beian_snap_close(s);

    /* key offsets outside the key area, or into its padding */
    index_edit("ix-koff.mdb", ed_koff);
    s = beian_snap_open(tmp_path("ix-koff.mdb"), err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(beian_snap_get(s, "filed.cn", 8, &rec), -1);
    assert_int_equal(beian_snap_get(s, "example.com", 11, NULL), -1);
    assert_int_equal(match(s, "www.example.com", BEIAN_MATCH_SUBDOMAINS
                           | BEIAN_MATCH_NO_RECORD, &mm), BEIAN_UNFILED);
    beian_snap_close(s);

    /* keys running past the key area's end */
    index_edit("ix-len.mdb", ed_len);
    s = beian_snap_open(tmp_path("ix-len.mdb"), err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(beian_snap_get(s, "filed.cn", 8, NULL), -1);
    assert_int_equal(beian_snap_get(s, "deep.sub.example.org", 20, NULL),
                     -1);
    beian_snap_close(s);

    /* an empty filter: every lookup misses before reading a bucket */
    index_edit("ix-filter.mdb", ed_filter);
    s = beian_snap_open(tmp_path("ix-filter.mdb"), err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(beian_snap_get(s, "filed.cn", 8, &rec), 0);
    assert_int_equal(beian_snap_get(s, "example.com", 11, &rec), 0);
    assert_int_equal(match(s, "www.example.com", BEIAN_MATCH_SUBDOMAINS
                           | BEIAN_MATCH_NO_RECORD, &mm), BEIAN_UNFILED);
    beian_snap_close(s);

    /* wrong checks: keys are not found, nothing else read */
    index_edit("ix-check.mdb", ed_check);
    s = beian_snap_open(tmp_path("ix-check.mdb"), err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(beian_snap_get(s, "filed.cn", 8, &rec), 0);
    assert_int_equal(match(s, "www.example.com", BEIAN_MATCH_SUBDOMAINS
                           | BEIAN_MATCH_NO_RECORD, &mm), BEIAN_UNFILED);
    beian_snap_close(s);
}


/* A name of n labels of one letter, then "cn": 2 n + 2 bytes. */
static size_t
many_labels(char *out, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        out[2 * i] = (char) ('a' + i % 26);
        out[2 * i + 1] = '.';
    }
    memcpy(out + 2 * n, "cn", 3);
    return 2 * n + 2;
}


/*
 * The index's own cases: look-alikes, names of every length up to 253
 * bytes and 127 labels, hosts shorter than a word, each through the index
 * and through the tree.
 */
static void
test_index_names(void **state)
{
    char            err[BEIAN_ERR_MAX], host[BEIAN_HOST_MAX + 1];
    char            names[9][BEIAN_DOMAIN_MAX + 1];
    size_t          i, j, n, len;
    beian_snap_t   *idx, *tree;
    beian_match_t   m1, m2;
    beian_rec_t     rec;
    beian_entry_t   e[9];
    beian_status_t  s1, s2;

    static const char *const  lookalikes[] = {
        "xexample.com", "example.com.evil.net", "example.co", "xample.com",
        "example.comm", "eexample.com", "example.org", "ab.c", "b.cn",
        "www.b.cn", "x.ab.c", "cn", "a.cn", "exampl.com", "examplf.com",
        "longest-label-0123456789.example.net.evil",
    };

    (void) state;

    strcpy(names[0], "example.com");
    strcpy(names[1], "ab.cn");                          /* < 8 bytes */
    strcpy(names[2], "abcdefgh.cn");                    /* a whole word */
    strcpy(names[3], "longest-label-0123456789.example.net");
    /* 253 bytes: four labels of 63, the last "com" cut to fit */
    memset(names[4], 'x', 253);
    names[4][63] = names[4][127] = names[4][191] = '.';
    memcpy(names[4] + 250, "com", 4);
    names[4][253] = '\0';
    /* 127 labels, 253 bytes: 126 of one letter, then "c" */
    n = many_labels(names[5], 125);
    assert_int_equal(n, 252);
    memcpy(names[5] + n - 2, "z.c", 4);
    assert_int_equal(strlen(names[5]), 253);
    /* 64 bytes: one whole word more than a label */
    memset(names[6], 'q', 60);
    memcpy(names[6] + 60, ".com", 5);
    strcpy(names[7], "a1.b2.c3.d4.e5.f6.g7.h8.i9.net");
    strcpy(names[8], "xn--fiqs8s.xn--fiqs8s");

    for (i = 0; i < 9; i++) {
        e[i].domain = names[i];
        e[i].domain_len = strlen(names[i]);
        assert_null(beian_domain_check(names[i], e[i].domain_len));
        e[i].icp = "京ICP备12345678号-1";
        e[i].website_id = "w";
    }
    n = beian_entries_sort(e, 9);
    assert_int_equal(n, 9);
    write_entries("names.mdb", "lhins-names", "unit", e, n);
    copy_file(tmp_path("names.mdb"), tmp_path("names-tree.mdb"));
    lmdb_drop(tmp_path("names-tree.mdb"), "index");

    idx = beian_snap_open(tmp_path("names.mdb"), err, sizeof(err));
    tree = beian_snap_open(tmp_path("names-tree.mdb"), err, sizeof(err));
    assert_non_null(idx);
    assert_non_null(tree);
    assert_true(beian_snap_has_index(idx));

    for (i = 0; i < 9; i++) {
        len = strlen(names[i]);

        /* exact, with and without the record */
        assert_int_equal(beian_snap_get(idx, names[i], len, &rec), 1);
        assert_int_equal(beian_snap_get(idx, names[i], len, NULL), 1);

        /* every suffix of the name, then of subdomains of it, through
         * the match: what the tree says, the same domain */
        for (j = 0; j < 3; j++) {
            len = (size_t) snprintf(host, sizeof(host), "%s%s",
                                    j == 0 ? "" : j == 1 ? "w." : "www.",
                                    names[i]);
            if (len > BEIAN_DOMAIN_MAX) {
                continue;
            }
            s1 = match(idx, host, BEIAN_MATCH_SUBDOMAINS
                                  | BEIAN_MATCH_NO_RECORD, &m1);
            s2 = match(tree, host, BEIAN_MATCH_SUBDOMAINS, &m2);
            assert_int_equal(s1, BEIAN_FILED);
            assert_int_equal(s2, BEIAN_FILED);
            /* the status alone names no domain */
            assert_null(m1.domain);
            assert_int_equal(m1.domain_len, 0);
            assert_int_equal(match(idx, host, BEIAN_MATCH_SUBDOMAINS, &m1),
                             BEIAN_FILED);
            assert_int_equal(m1.domain_len, m2.domain_len);
            assert_int_equal(m1.domain_len, strlen(names[i]));
            assert_int_equal(m1.rec.website_id_len, 1);
        }

        /* the name without its first byte, and with one more */
        len = strlen(names[i]);
        assert_int_equal(beian_snap_get(idx, names[i] + 1, len - 1, NULL),
                         beian_snap_get(tree, names[i] + 1, len - 1, NULL));
        host[0] = 'z';
        memcpy(host + 1, names[i], len);
        assert_int_equal(beian_snap_get(idx, host, len + 1, NULL), 0);
    }

    for (i = 0; i < sizeof(lookalikes) / sizeof(lookalikes[0]); i++) {
        s1 = match(idx, lookalikes[i], BEIAN_MATCH_SUBDOMAINS
                                       | BEIAN_MATCH_NO_RECORD, &m1);
        s2 = match(tree, lookalikes[i], BEIAN_MATCH_SUBDOMAINS, &m2);
        assert_int_equal(s1, s2);
        assert_int_equal(m1.domain_len, m2.domain_len);
        assert_int_equal(beian_snap_get(idx, lookalikes[i],
                                        strlen(lookalikes[i]), NULL), 0);
    }
    assert_int_equal(match(idx, "www.b.cn", BEIAN_MATCH_SUBDOMAINS, &m1),
                     BEIAN_UNFILED);
    assert_int_equal(match(idx, "x.y.ab.cn", BEIAN_MATCH_SUBDOMAINS, &m1),
                     BEIAN_FILED);
    assert_int_equal(m1.domain_len, 5);

    /* the whole key area: every key, no more (what beian-sync info holds
     * against the tree) */
    {
        int  count = 0;

        assert_int_equal(beian_snap_index_foreach(idx, count_cb, &count, err,
                                                  sizeof(err)), 0);
        assert_int_equal(count, 9);
    }

    beian_snap_close(idx);
    beian_snap_close(tree);
}


/*
 * In a copy of from: finds the leaf page (not a branch page, not the index)
 * that holds key anchor and rewrites its first (which 0) or last (which 1)
 * key, or anchor itself (which 2), with key, of the same length.
 */
static void
leaf_key_edit(const char *from, const char *to, const char *anchor,
    int which, const char *key)
{
    FILE           *f;
    long            size;
    size_t          i, n = strlen(anchor), nkeys, off;
    unsigned char  *p, *page = NULL;

    f = fopen(tmp_path(from), "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    rewind(f);
    p = malloc((size_t) size);
    assert_int_equal(fread(p, 1, (size_t) size, f), (size_t) size);
    fclose(f);

    /* page header: flags at 10 (0x02 leaf), lower at 12; node pointers
     * from 16; a node: sizes, flags, u16 key size at 6, the key at 8 */
    for (i = 4096; i + n <= (size_t) size && page == NULL; i++) {
        if (memcmp(p + i, anchor, n) == 0 && p[i - i % 4096 + 10] == 0x02) {
            page = p + (i - i % 4096);
            if (which == 2) {
                memcpy(p + i, key, n);
            }
        }
    }
    assert_non_null(page);

    nkeys = (size_t) ((page[12] | page[13] << 8) - 16) / 2;
    assert_true(nkeys > 2);
    if (which != 2) {
        i = which == 0 ? 0 : nkeys - 1;
        off = (size_t) (page[16 + 2 * i] | page[17 + 2 * i] << 8);
        assert_int_equal(page[off + 6] | page[off + 7] << 8, strlen(key));
        memcpy(page + off + 8, key, strlen(key));
    }

    write_bytes(tmp_path(to), p, (size_t) size);
    free(p);
}


static void
test_key_order(void **state)
{
    char            err[BEIAN_ERR_MAX];
    char            names[3000][16], icp[] = "x", id[] = "w";
    size_t          i, n;
    beian_entry_t   e[3000];
    beian_snap_t   *s;

    (void) state;

    /* enough keys for branch pages: leaves are bounded by separators */
    for (i = 0; i < 3000; i++) {
        snprintf(names[i], sizeof(names[i]), "k%05zu.cn", i);
        e[i].domain = names[i];
        e[i].domain_len = strlen(names[i]);
        e[i].icp = icp;
        e[i].website_id = id;
    }
    n = beian_entries_sort(e, 3000);
    write_entries("order.mdb", "lhins-order", "", e, n);
    s = beian_snap_open(tmp_path("order.mdb"), err, sizeof(err));
    assert_non_null(s);
    beian_snap_close(s);

    /* within a leaf: k01500 now sorts after its successor */
    leaf_key_edit("order.mdb", "order-leaf.mdb", "k01500.cn", 2,
                  "k01599.cn");
    expect_refused("order-leaf.mdb", "keys out of order");

    /* in order within a middle leaf, but below the separator that leads
     * to it, or at or above the next one */
    leaf_key_edit("order.mdb", "order-lo.mdb", "k01500.cn", 0, "k00000.cn");
    expect_refused("order-lo.mdb", "keys out of order");
    leaf_key_edit("order.mdb", "order-hi.mdb", "k01500.cn", 1, "k09999.cn");
    expect_refused("order-hi.mdb", "keys out of order");

    /* and the edit itself is harmless when the order holds */
    leaf_key_edit("order.mdb", "order-ok.mdb", "k01500.cn", 2, "k01500.cn");
    s = beian_snap_open(tmp_path("order-ok.mdb"), err, sizeof(err));
    assert_non_null(s);
    beian_snap_close(s);
}


static void
test_digest(void **state)
{
    char           a[72], b[72], c[72];
    beian_entry_t  e1[] = { { "a.cn", 4, "x", "w" }, { "b.cn", 4, "y", "w" } };
    beian_entry_t  e2[] = { { "a.cn", 4, "x", "w" }, { "b.cn", 4, "z", "w" } };

    (void) state;

    beian_entries_digest("i", e1, 2, a);
    beian_entries_digest("i", e1, 2, b);
    beian_entries_digest("i", e2, 2, c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    beian_entries_digest("j", e1, 2, c);
    assert_string_not_equal(a, c);
}


static void
test_write_refuses_unsorted(void **state)
{
    char           err[BEIAN_ERR_MAX];
    struct stat    st;
    beian_meta_t   m;
    beian_entry_t  e[] = { { "b.cn", 4, "x", "w" }, { "a.cn", 4, "y", "w" } };

    (void) state;

    memset(&m, 0, sizeof(m));
    write_sample(tmp_path("keep.mdb"));
    assert_int_equal(stat(tmp_path("keep.mdb"), &st), 0);

    assert_int_equal(beian_snap_write(tmp_path("keep.mdb"), &m, e, 2, err,
                                      sizeof(err)), -1);
    assert_non_null(strstr(err, "unsorted"));

    /* the old file is untouched and no temp file is left behind */
    {
        struct stat  st2;

        assert_int_equal(stat(tmp_path("keep.mdb"), &st2), 0);
        assert_int_equal(st.st_ino, st2.st_ino);
        assert_int_equal(system("test -z \"$(ls -A /tmp/beian-unit.*/"
                                ".keep.mdb.tmp.* 2>/dev/null)\""), 0);
    }

    assert_int_equal(beian_snap_write("/nonexistent-dir/x.mdb", &m, e, 0,
                                      err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent-dir"));
}


static int
setup(void **state)
{
    (void) state;
    return mkdtemp(tmpdir) ? 0 : -1;
}


static int
teardown(void **state)
{
    (void) state;
    return unit_rm_rf(tmpdir);
}


static size_t read_hello(const char *name, unsigned char *buf, size_t size);


/*
 * ClientHellos as real clients send them (captured from openssl s_client
 * and curl, fuzz/corpus/hello) and broken ones, whole and cut short.
 */
static void
test_client_hello(void **state)
{
    static const struct {
        const char   *file;
        beian_sni_t   rc;
        const char   *name;
    } cases[] = {
        { "openssl-tls13", BEIAN_SNI_FOUND, "www.example.com" },
        { "openssl-tls12", BEIAN_SNI_FOUND, "example.com" },
        { "openssl-ip", BEIAN_SNI_FOUND, "127.0.0.1" },
        { "curl-h2", BEIAN_SNI_FOUND, "xn--fsqu00a.xn--fiqs8s" },
        { "fragmented", BEIAN_SNI_FOUND, "www.example.com" },
        { "openssl-nosni", BEIAN_SNI_NONE, NULL },
        { "truncated", BEIAN_SNI_AGAIN, NULL },
        { "not-tls-http", BEIAN_SNI_NOT_TLS, NULL },
        { "sslv2", BEIAN_SNI_NOT_TLS, NULL },
        { "alert-record", BEIAN_SNI_BAD, NULL },
        { "dup-sni", BEIAN_SNI_BAD, NULL },
    };

    size_t                i, len, n, cut;
    FILE                 *f;
    char                  path[256];
    const unsigned char  *name;
    static unsigned char  buf[65536], scratch[BEIAN_HELLO_MAX];

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(path, sizeof(path), "fuzz/corpus/hello/%s", cases[i].file);
        f = fopen(path, "rb");
        assert_non_null(f);
        len = fread(buf, 1, sizeof(buf), f);
        fclose(f);

        assert_int_equal(beian_tls_client_hello(buf, len, scratch,
                                                sizeof(scratch), &name, &n),
                         cases[i].rc);
        if (cases[i].name) {
            assert_int_equal(n, strlen(cases[i].name));
            assert_memory_equal(name, cases[i].name, n);
        }

        /* one byte short of a whole ClientHello is never a verdict */
        if (cases[i].rc == BEIAN_SNI_FOUND || cases[i].rc == BEIAN_SNI_NONE) {
            for (cut = 0; cut < len; cut++) {
                assert_int_equal(beian_tls_client_hello(buf, cut, scratch,
                                     sizeof(scratch), &name, &n),
                                 BEIAN_SNI_AGAIN);
            }
        }
    }

    /*
     * A ClientHello a lenient server (Go) would take, that is not a clean
     * one: a record version that is not 3.x, a warning alert first.  Both
     * are malformed, never "not TLS" (no name); a lone byte of a TLS
     * record type other than handshake, too.
     */
    len = read_hello("openssl-tls13", buf, sizeof(buf));
    buf[1] = 0;
    buf[2] = 0;
    assert_int_equal(beian_tls_client_hello(buf, len, scratch,
                         sizeof(scratch), &name, &n), BEIAN_SNI_BAD);

    memcpy(buf, "\x15\x03\x01\x00\x02\x01\x5a", 7);
    len = 7 + read_hello("openssl-tls13", buf + 7, sizeof(buf) - 7);
    assert_int_equal(beian_tls_client_hello(buf, len, scratch,
                         sizeof(scratch), &name, &n), BEIAN_SNI_BAD);

    for (i = 0; i < 256; i++) {
        buf[0] = (unsigned char) i;
        assert_int_equal(beian_tls_client_hello(buf, 1, scratch,
                             sizeof(scratch), &name, &n),
                         (i == 22 || i == 'P' || i == '\r')
                         ? BEIAN_SNI_AGAIN
                         : (i >= 20 && i <= 26) ? BEIAN_SNI_BAD
                         : BEIAN_SNI_NOT_TLS);
    }

    /*
     * A PROXY protocol header of the client's own in front of a
     * ClientHello (a backend that takes an optional one reads the name
     * after it): malformed; the start of one: more bytes; another
     * protocol that starts alike: not TLS.
     */
    memcpy(buf, "PROXY TCP4 1.2.3.4 5.6.7.8 1 443\r\n", 34);
    len = 34 + read_hello("openssl-tls13", buf + 34, sizeof(buf) - 34);
    assert_int_equal(beian_tls_client_hello(buf, len, scratch,
                         sizeof(scratch), &name, &n), BEIAN_SNI_BAD);

    memcpy(buf, "\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c", 16);
    len = 16 + read_hello("openssl-tls13", buf + 16, sizeof(buf) - 16);
    assert_int_equal(beian_tls_client_hello(buf, len, scratch,
                         sizeof(scratch), &name, &n), BEIAN_SNI_BAD);

    assert_int_equal(beian_tls_client_hello((const unsigned char *) "PROX",
                         4, scratch, sizeof(scratch), &name, &n),
                     BEIAN_SNI_AGAIN);
    assert_int_equal(beian_tls_client_hello((const unsigned char *)
                         "POST / HTTP/1.1\r\n", 17, scratch,
                         sizeof(scratch), &name, &n), BEIAN_SNI_NOT_TLS);
    assert_int_equal(beian_tls_client_hello((const unsigned char *)
                         "\r\n\r\nhello", 9, scratch, sizeof(scratch),
                         &name, &n), BEIAN_SNI_NOT_TLS);

    /* a message longer than the scratch buffer is refused, not cut */
    assert_int_equal(beian_tls_client_hello((const unsigned char *)
                         "\x16\x03\x01\x00\x04\x01\x00\x40\x01", 9,
                         scratch, 64, &name, &n), BEIAN_SNI_BAD);
}


/* fuzz/corpus/hello/NAME, read whole into buf; its length */
static size_t
read_hello(const char *name, unsigned char *buf, size_t size)
{
    char    path[256];
    size_t  len;
    FILE   *f;

    snprintf(path, sizeof(path), "fuzz/corpus/hello/%s", name);
    f = fopen(path, "rb");
    assert_non_null(f);
    len = fread(buf, 1, size, f);
    fclose(f);

    return len;
}


/*
 * After the first ClientHello, the client's bytes: early data, a change
 * cipher spec, then a second ClientHello cut into handshake records of k
 * bytes, fed in reads of c bytes.  Whatever k and c, the second one comes
 * out whole, once, with its name; and bytes that are no TLS records are
 * refused.
 */
static void
test_watch(void **state)
{
    size_t                 i, k, c, len1, len2, mlen, at, used, n, hellos;
    beian_watch_t          rc;
    const unsigned char   *name;
    beian_tls_watch_t      w;
    static unsigned char   first[4096], second[4096], msg[4096];
    static unsigned char   stream[65536], buf[BEIAN_WATCH_BUF];
    static unsigned char   scratch[BEIAN_HELLO_MAX];

    static const size_t    ks[] = { 1, 2, 3, 5, 7, 64, 16384 };
    static const size_t    cs[] = { 1, 3, 5, 17, 1448, 65536 };

    (void) state;

    len1 = read_hello("openssl-tls12", first, sizeof(first));
    len2 = read_hello("openssl-tls13", second, sizeof(second));

    /* the second's message, out of its one record */
    assert_true(len2 > 5);
    mlen = len2 - 5;
    memcpy(msg, second + 5, mlen);

    for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
        k = ks[i];

        n = 0;
        memcpy(stream, first, len1);
        n += len1;
        memcpy(stream + n, "\x17\x03\x03\x00\x04" "abcd", 9);
        n += 9;
        memcpy(stream + n, "\x14\x03\x03\x00\x01\x01", 6);
        n += 6;
        for (at = 0; at < mlen; at += k) {
            size_t  part = mlen - at < k ? mlen - at : k;

            stream[n++] = 0x16;
            stream[n++] = 3;
            stream[n++] = 1;
            stream[n++] = (unsigned char) (part >> 8);
            stream[n++] = (unsigned char) part;
            memcpy(stream + n, msg + at, part);
            n += part;
        }

        for (c = 0; c < sizeof(cs) / sizeof(cs[0]); c++) {
            memset(&w, 0, sizeof(w));
            hellos = 0;

            for (at = 0; at < n; at += used) {
                size_t  take = n - at < cs[c] ? n - at : cs[c];

                rc = beian_tls_watch(&w, stream + at, take, &used);
                assert_true(used <= take);

                if (rc == BEIAN_WATCH_BUFFER) {
                    assert_null(w.buf);
                    w.buf = buf;

                } else if (rc == BEIAN_WATCH_HELLO) {
                    hellos++;
                    assert_int_equal(w.buf_len, 5 + mlen);
                    assert_memory_equal(w.buf + 5, msg, mlen);
                    assert_int_equal(beian_tls_client_hello(w.buf,
                                         w.buf_len, scratch,
                                         sizeof(scratch), &name, &len2),
                                     BEIAN_SNI_FOUND);
                    assert_int_equal(len2, strlen("www.example.com"));
                    assert_memory_equal(name, "www.example.com", len2);

                } else {
                    assert_int_equal(rc, BEIAN_WATCH_MORE);
                    assert_int_equal(used, take);
                }
            }

            assert_int_equal(hellos, 1);
        }
    }

    /* not a TLS record: refused */
    memset(&w, 0, sizeof(w));
    assert_int_equal(beian_tls_watch(&w, (const unsigned char *)
                                     "GET / HTTP/1.1\r\n", 16, &used),
                     BEIAN_WATCH_BAD);

    /* a later ClientHello longer than any gathered: refused */
    memset(&w, 0, sizeof(w));
    w.hellos = 1;
    assert_int_equal(beian_tls_watch(&w, (const unsigned char *)
                                     "\x16\x03\x03\x00\x04\x01\x01\x00\x00",
                                     9, &used), BEIAN_WATCH_BAD);
}


/* The upstream's first bytes: whether a second ClientHello may follow. */
static void
test_server_hello(void **state)
{
    size_t         i;
    unsigned char  sh[64];

    static const unsigned char  retry[32] = {
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
        0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
        0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
        0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c
    };

    (void) state;

    /* a ServerHello record of 58 bytes: header, version, random, ... */
    memset(sh, 0x42, sizeof(sh));
    memcpy(sh, "\x16\x03\x03\x00\x3a\x02\x00\x00\x36\x03\x03", 11);

    assert_int_equal(beian_tls_server_hello(sh, sizeof(sh)), BEIAN_SH_FINAL);

    /* fewer bytes than the random's end: ask for more, whatever they are */
    for (i = 0; i < BEIAN_SH_NEED; i++) {
        assert_int_equal(beian_tls_server_hello(sh, i), BEIAN_SH_AGAIN);
    }
    assert_int_equal(beian_tls_server_hello(sh, BEIAN_SH_NEED),
                     BEIAN_SH_FINAL);

    /* RFC 8446's HelloRetryRequest random */
    memcpy(sh + 11, retry, sizeof(retry));
    assert_int_equal(beian_tls_server_hello(sh, sizeof(sh)), BEIAN_SH_RETRY);

    /* one byte off it is an ordinary ServerHello */
    sh[42] ^= 1;
    assert_int_equal(beian_tls_server_hello(sh, sizeof(sh)), BEIAN_SH_FINAL);

    /* an alert, another handshake message, not TLS, a ServerHello in
     * pieces (record or message shorter than its random): never FINAL */
    sh[0] = 0x15;
    assert_int_equal(beian_tls_server_hello(sh, sizeof(sh)), BEIAN_SH_OTHER);
    sh[0] = 0x16;
    sh[5] = 0x0b;
    assert_int_equal(beian_tls_server_hello(sh, sizeof(sh)), BEIAN_SH_OTHER);
    sh[5] = 0x02;
    sh[1] = 0x48;
    assert_int_equal(beian_tls_server_hello(sh, sizeof(sh)), BEIAN_SH_OTHER);
    sh[1] = 0x03;
    sh[4] = 0x20;
    assert_int_equal(beian_tls_server_hello(sh, sizeof(sh)), BEIAN_SH_OTHER);
    sh[4] = 0x3a;
    sh[8] = 0x10;
    assert_int_equal(beian_tls_server_hello(sh, sizeof(sh)), BEIAN_SH_OTHER);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_normalize_lengths),
        cmocka_unit_test(test_domain_check),
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_snapshot_roundtrip),
        cmocka_unit_test(test_snapshot_foreach),
        cmocka_unit_test(test_snapshot_refused),
        cmocka_unit_test(test_index_agrees),
        cmocka_unit_test(test_host_verdict),
        cmocka_unit_test(test_index_corrupt),
        cmocka_unit_test(test_index_names),
        cmocka_unit_test(test_key_order),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_write_refuses_unsorted),
        cmocka_unit_test(test_client_hello),
        cmocka_unit_test(test_server_hello),
        cmocka_unit_test(test_watch),
    };

    return cmocka_run_group_tests_name("core", tests, setup, teardown);
}
