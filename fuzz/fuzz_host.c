/*
 * Fuzz target "host": request host normalization and the match rule
 * (core/host.c) against a small real snapshot, checked against a
 * reference model written independently here: the verdict, the class, the
 * normalized host and the matched domain must all be what docs/matching.md
 * says, for any input bytes.
 *
 * The input is the raw host as a client could send it (Host header,
 * absolute URI host, :authority), port included.
 */

#include <arpa/inet.h>
#include <string.h>

#include "beian_write.h"
#include "fuzz.h"


/* The snapshot: parents, subdomains-only entries, digits, hyphens, IDN
 * A-labels, a 63-byte label and a 253-byte name. */
#define L63  "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0"
#define L57  "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstu"

static const char *const filed[] = {
    "example.com",
    "www.example.org",          /* example.org itself is not filed */
    "a.b.c.example.net",
    "filed.cn",
    "sub.filed.cn",             /* both a domain and its parent */
    "xn--fiqs8s.cn",
    "123.com",
    "x-y.example.co.uk",
    "0.cn",
    L63 ".com",
    L63 "." L63 "." L63 "." L57 ".com",
};

#define NFILED  (sizeof(filed) / sizeof(filed[0]))

static beian_snap_t  *snap;


static const char *
icp_of(size_t i, char *buf, size_t size)
{
    snprintf(buf, size, "\xe4\xba\xac" "ICP\xe5\xa4\x87%08zu\xe5\x8f\xb7-1",
             i + 1);
    return buf;
}


/* Written once per process, then opened like a worker does. */
static void
init(void)
{
    size_t         i, n;
    beian_meta_t   meta;
    beian_entry_t  e[NFILED];
    char           path[4096], err[BEIAN_ERR_MAX], icp[NFILED][64];
    char           web[NFILED][16];

    memset(&meta, 0, sizeof(meta));
    snprintf(meta.instance_id, sizeof(meta.instance_id), "lhins-fuzz0001");
    snprintf(meta.source, sizeof(meta.source), "fuzz_host");
    meta.generated_at = 1700000000;

    for (i = 0; i < NFILED; i++) {
        FUZZ_CHECK(beian_domain_check(filed[i], strlen(filed[i])) == NULL,
                   "%s", filed[i]);
        e[i].domain = (char *) filed[i];
        e[i].domain_len = strlen(filed[i]);
        e[i].icp = (char *) icp_of(i, icp[i], sizeof(icp[i]));
        snprintf(web[i], sizeof(web[i]), "web-%zu", i + 1);
        e[i].website_id = web[i];
    }

    n = beian_entries_sort(e, NFILED);
    beian_entries_digest(meta.instance_id, e, n, meta.digest);

    snprintf(path, sizeof(path), "%s/host.mdb", fuzz_tmpdir());
    FUZZ_CHECK(beian_snap_write(path, &meta, e, n, err, sizeof(err)) >= 0,
               "%s", err);

    snap = beian_snap_open(path, err, sizeof(err));
    FUZZ_CHECK(snap != NULL, "%s", err);
}


/*
 * Whether a host is in the form ngx_http_validate_host() leaves it in:
 * no upper case, no port, no trailing dot, no NUL (what
 * BEIAN_MATCH_CLEAN vouches for).
 */
static int
nginx_form(const uint8_t *p, size_t n)
{
    size_t  i;

    if (n > 0 && p[n - 1] == '.') {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if ((p[i] >= 'A' && p[i] <= 'Z') || p[i] == ':' || p[i] == '\0') {
            return 0;
        }
    }

    return 1;
}


/* ---- the reference model ---- */

static int
ref_domain_ok(const unsigned char *d, size_t n)
{
    size_t  i, j, start, labels = 0, tld_digits = 1;

    if (n == 0 || n > 253) {
        return 0;
    }

    for (start = 0; start <= n; start = i + 1) {
        for (i = start; i < n && d[i] != '.'; i++) {
            if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= '0' && d[i] <= '9')
                  || d[i] == '-'))
            {
                return 0;
            }
        }

        /* d[start..i) is one label */
        if (i == start || i - start > 63 || d[start] == '-'
            || d[i - 1] == '-')
        {
            return 0;
        }

        labels++;
        for (tld_digits = 1, j = start; j < i; j++) {
            tld_digits &= d[j] >= '0' && d[j] <= '9';
        }
    }

    return labels >= 2 && !tld_digits;
}


/* Strict dotted quad: four 0..255 without leading zeros. */
static int
ref_ipv4(const unsigned char *s, size_t n)
{
    size_t    i = 0, part, digits;
    unsigned  v;

    for (part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i++] != '.') {
                return 0;
            }
        }

        for (v = 0, digits = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (digits > 0 && v == 0) {
                return 0;
            }
            v = v * 10 + (s[i] - '0');
            if (++digits > 3 || v > 255) {
                return 0;
            }
        }

        if (digits == 0) {
            return 0;
        }
    }

    return i == n;
}


static unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}


/* The class and the normalized form docs/matching.md asks for. */
static beian_host_class_t
ref_normalize(const unsigned char *h, size_t len, unsigned char *out,
    size_t *out_len)
{
    size_t          i, n;
    const unsigned char *end, *colon;
    unsigned char   addr[16];
    char            inner[BEIAN_HOST_MAX + 1];

    *out_len = 0;

    if (len == 0) {
        return BEIAN_HOST_NONE;
    }
    if (len > BEIAN_HOST_MAX) {
        return BEIAN_HOST_INVALID;
    }

    if (h[0] == '[') {
        end = memchr(h, ']', len);
        if (end == NULL || (end + 1 < h + len && end[1] != ':')) {
            return BEIAN_HOST_INVALID;
        }
        /* the port: digits, or none */
        for (i = (size_t) (end - h) + 2; i < len; i++) {
            if (h[i] < '0' || h[i] > '9') {
                return BEIAN_HOST_INVALID;
            }
        }

        n = (size_t) (end - h) + 1;
        for (i = 0; i < n; i++) {
            out[i] = lower(h[i]);
        }
        out[n] = '\0';
        *out_len = n;

        /* an address, and nothing else, between the brackets */
        if (memchr(h + 1, '\0', n - 2) != NULL) {
            return BEIAN_HOST_INVALID;
        }
        memcpy(inner, out + 1, n - 2);
        inner[n - 2] = '\0';
        return inet_pton(AF_INET6, inner, addr) == 1 ? BEIAN_HOST_IP
                                                     : BEIAN_HOST_INVALID;
    }

    colon = memchr(h, ':', len);
    n = colon ? (size_t) (colon - h) : len;
    for (i = n + 1; colon && i < len; i++) {
        if (h[i] < '0' || h[i] > '9') {
            return BEIAN_HOST_INVALID;
        }
    }
    for (i = 0; i < n; i++) {
        out[i] = lower(h[i]);
    }
    if (n > 0 && out[n - 1] == '.') {
        n--;
    }
    out[n] = '\0';
    *out_len = n;

    if (n == 0) {
        return BEIAN_HOST_INVALID;
    }
    if (strspn((const char *) out, "0123456789.") >= n) {
        return ref_ipv4(out, n) ? BEIAN_HOST_IP : BEIAN_HOST_INVALID;
    }
    return ref_domain_ok(out, n) ? BEIAN_HOST_DOMAIN : BEIAN_HOST_INVALID;
}


static int
ref_filed(const unsigned char *d, size_t n)
{
    size_t  i;

    for (i = 0; i < NFILED; i++) {
        if (strlen(filed[i]) == n && memcmp(filed[i], d, n) == 0) {
            return (int) i;
        }
    }
    return -1;
}


/* The entry the match rule must find: -1 if none; *off where it starts. */
static int
ref_match(const unsigned char *h, size_t n, unsigned flags, size_t *off)
{
    int     hit;
    size_t  i;

    for (i = 0; ; ) {
        hit = ref_filed(h + i, n - i);
        if (hit >= 0) {
            *off = i;
            return hit;
        }
        if (!(flags & BEIAN_MATCH_SUBDOMAINS)) {
            return -1;
        }

        /* next parent: after the next dot, while two labels remain */
        while (i < n && h[i] != '.') {
            i++;
        }
        if (i == n || memchr(h + i + 1, '.', n - i - 1) == NULL) {
            return -1;
        }
        i++;
    }
}


static void
check_match(const uint8_t *data, size_t size, beian_host_class_t cls,
    const char *out, size_t n, unsigned flags)
{
    int              hit;
    size_t           i, off = 0;
    beian_status_t   st, want;
    beian_match_t    m;
    char             icp[64], web[16];

    st = beian_match(snap, cls, out, n, flags, &m);
    FUZZ_CHECK(st == m.status, "%d != %d", st, m.status);

    switch (cls) {
    case BEIAN_HOST_NONE:
        want = BEIAN_NOHOST;
        break;
    case BEIAN_HOST_IP:
        want = BEIAN_IP;
        break;
    case BEIAN_HOST_INVALID:
        want = BEIAN_UNFILED;
        break;
    default:
        hit = ref_match((const unsigned char *) out, n, flags, &off);
        want = hit >= 0 ? BEIAN_FILED : BEIAN_UNFILED;
    }

    FUZZ_CHECK(st == want, "status %s, expected %s for \"%.*s\" flags %u",
               beian_status_names[st], beian_status_names[want], (int) n,
               out, flags);

    /* only an empty host is nohost, only an address literal is ip */
    FUZZ_CHECK(st != BEIAN_NOHOST || size == 0, "nohost for %zu bytes", size);
    FUZZ_CHECK(st != BEIAN_IP || data[0] == '['
               || strspn(out, "0123456789.") == n, "ip: \"%.*s\"", (int) n,
               out);

    if (st != BEIAN_FILED) {
        FUZZ_CHECK(m.domain == NULL && m.rec.icp == NULL, "leftover match");
        return;
    }

    /* filed: a label-boundary suffix of the host, in the snapshot, with
     * the snapshot's record, and made of [a-z0-9.-] only */
    hit = ref_match((const unsigned char *) out, n, flags, &off);
    FUZZ_CHECK(m.domain == out + off && m.domain_len == n - off,
               "matched \"%.*s\" in \"%.*s\"", (int) m.domain_len, m.domain,
               (int) n, out);
    FUZZ_CHECK(off == 0 || out[off - 1] == '.', "not on a label boundary");
    FUZZ_CHECK(memchr(m.domain, '.', m.domain_len) != NULL, "one label");
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(strchr("abcdefghijklmnopqrstuvwxyz0123456789.-", out[i])
                   && out[i] != '\0', "byte 0x%02x in a filed host",
                   (unsigned char) out[i]);
    }
    icp_of((size_t) hit, icp, sizeof(icp));
    snprintf(web, sizeof(web), "web-%d", hit + 1);
    FUZZ_CHECK(m.rec.icp_len == strlen(icp)
               && memcmp(m.rec.icp, icp, m.rec.icp_len) == 0, "icp");
    FUZZ_CHECK(m.rec.website_id_len == strlen(web)
               && memcmp(m.rec.website_id, web, m.rec.website_id_len) == 0,
               "website id");
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t               n, rn, n2, i;
    unsigned             flags;
    beian_verdict_t      fv;
    beian_host_t         ph;
    beian_status_t       st, pst;
    beian_match_t        m, pm;
    beian_host_class_t   cls, rcls, cls2, pcls;
    char                 out[BEIAN_HOST_MAX + 1], out2[BEIAN_HOST_MAX + 1];
    char                 pbuf[BEIAN_HOST_MAX + 1];
    unsigned char        ref[BEIAN_HOST_MAX + 1];

    if (snap == NULL) {
        init();
    }

    /* the syntax rule alone, on raw bytes */
    FUZZ_CHECK((beian_domain_check((const char *) data, size) == NULL)
               == ref_domain_ok(data, size), "domain check disagrees");

    cls = beian_host_normalize((const char *) data, size, out, &n);
    rcls = ref_normalize(data, size, ref, &rn);

    FUZZ_CHECK(cls == rcls, "class %d, expected %d", cls, rcls);
    FUZZ_CHECK(n <= BEIAN_HOST_MAX && out[n] == '\0', "length %zu", n);
    if (cls == BEIAN_HOST_DOMAIN || cls == BEIAN_HOST_IP) {
        FUZZ_CHECK(n == rn && memcmp(out, ref, n) == 0,
                   "normalized \"%.*s\", expected \"%.*s\"", (int) n, out,
                   (int) rn, ref);

        /* normalizing twice changes nothing */
        cls2 = beian_host_normalize(out, n, out2, &n2);
        FUZZ_CHECK(cls2 == cls && n2 == n && memcmp(out, out2, n) == 0,
                   "not idempotent");
    }

    for (flags = 0; flags < 4; flags++) {
        check_match(data, size, cls, out, n, flags);

        /* no snapshot loaded: never filed */
        st = beian_match(NULL, cls, out, n, flags, &m);
        FUZZ_CHECK(st != BEIAN_FILED, "filed without a snapshot");

        /* what nginx and beian-sync check call: the same verdict and
         * domain, in the input itself when it needed no rewriting */
        st = beian_match(snap, cls, out, n, flags, &m);
        pcls = beian_host_parse((const char *) data, size, pbuf, &ph);
        pst = beian_match_host(snap, pcls, &ph, flags, &pm);
        FUZZ_CHECK(pcls == cls && ph.len == n && memcmp(ph.name, out, n) == 0
                   && pst == st && pm.domain_len == m.domain_len
                   && (m.domain == NULL
                       || memcmp(pm.domain, m.domain, m.domain_len) == 0),
                   "parse + match_host disagree");

        /* the gate's one call: the same verdict and name, for any bytes */
        fv = beian_host_verdict(snap, (const char *) data, size, flags,
                                pbuf);
        FUZZ_CHECK(fv.status == pst
                   && (fv.name == NULL) == (pcls == BEIAN_HOST_INVALID)
                   && (fv.name == NULL
                       || (fv.len == ph.len
                           && memcmp(fv.name, ph.name, ph.len) == 0)),
                   "host_verdict: %s, parse + match_host: %s",
                   beian_status_names[fv.status], beian_status_names[pst]);

        /*
         * Under BEIAN_MATCH_CLEAN (the host nginx resolved): never filed
         * where the rule says otherwise; for a host in nginx's form the
         * same verdict, twice (the second from the handle's memory of
         * filed hosts, when it was filed).
         */
        for (i = 0; i < 2; i++) {
            fv = beian_host_verdict(snap, (const char *) data, size,
                                    flags | BEIAN_MATCH_CLEAN, pbuf);
            FUZZ_CHECK(fv.status != BEIAN_FILED || pst == BEIAN_FILED,
                       "clean: filed, the rule says %s",
                       beian_status_names[pst]);
            FUZZ_CHECK(!nginx_form(data, size) || fv.status == pst,
                       "clean: %s, the rule says %s",
                       beian_status_names[fv.status],
                       beian_status_names[pst]);
        }

        /* the allow decision in one place */
        FUZZ_CHECK(beian_allowed(st, flags)
                   == (st == BEIAN_FILED
                       || ((st == BEIAN_IP || st == BEIAN_NOHOST)
                           && !(flags & BEIAN_MATCH_IP_BLOCK))),
                   "allowed(%s, %u)", beian_status_names[st], flags);
    }

    return 0;
}
