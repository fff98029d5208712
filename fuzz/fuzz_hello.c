/*
 * Fuzz target "hello": the ClientHello parse of the stream gate
 * (beian_tls_client_hello() in core/hello.c) on the first bytes a client
 * sends, checked against a reference model written independently here:
 * whole input first (records joined, then the message walked), for the
 * same outcome and name.  And as the stream gate calls it, on every prefix
 * of the input: a prefix either asks for more bytes or already has the
 * whole input's answer, so reading on never changes a verdict.
 */

#include <string.h>

#include "beian.h"
#include "fuzz.h"


static unsigned char  scratch[BEIAN_HELLO_MAX];
static unsigned char  joined[BEIAN_HELLO_MAX + 65536];


/* big-endian integer of n bytes at p, or -1 past end */
static long
be(const unsigned char *p, size_t at, size_t n, size_t end)
{
    long  v = 0;

    if (at + n > end) {
        return -1;
    }
    while (n--) {
        v = v << 8 | p[at++];
    }
    return v;
}


/*
 * The model.  Records: type 22, major 3, length 1 .. 18432, each whole
 * before it counts; their payloads joined until the handshake message
 * (type 1, at most BEIAN_HELLO_MAX bytes with its header) is complete.
 * Not TLS: a first byte that is no TLS record type (20 .. 26); any other
 * start that is not such records is malformed, and so is a PROXY protocol
 * header in front of them.
 */
static beian_sni_t
model(const unsigned char *in, size_t len, size_t *name_at, size_t *name_len)
{
    size_t  at, have, need, n, end, i, seen;
    long    rlen, l, t, el;

    if (len == 0) {
        return BEIAN_SNI_AGAIN;
    }
    for (i = 0; i < 2; i++) {
        /* a PROXY protocol header, v1 and v2: malformed; its start: more */
        const char  *sig = i ? "\r\n\r\n\0\r\nQUIT\n" : "PROXY ";
        size_t       sl = i ? 12 : 6, k;

        for (k = 0; k < len && k < sl && in[k] == (unsigned char) sig[k];
             k++)
        {
            /* void */
        }
        if (k == sl) {
            return BEIAN_SNI_BAD;
        }
        if (k == len) {
            return BEIAN_SNI_AGAIN;
        }
    }
    if (in[0] != 22) {
        return (in[0] >= 20 && in[0] <= 26) ? BEIAN_SNI_BAD
                                             : BEIAN_SNI_NOT_TLS;
    }

    at = 0;
    have = 0;
    need = 0;

    for ( ;; ) {
        if (len - at < 5) {
            return BEIAN_SNI_AGAIN;
        }
        if (in[at] != 22 || in[at + 1] != 3) {
            return BEIAN_SNI_BAD;
        }
        rlen = be(in, at + 3, 2, len);
        if (rlen == 0 || rlen > 16384 + 2048) {
            return BEIAN_SNI_BAD;
        }
        if (len - at - 5 < (size_t) rlen) {
            return BEIAN_SNI_AGAIN;
        }
        memcpy(joined + have, in + at + 5, (size_t) rlen);
        have += (size_t) rlen;
        at += 5 + (size_t) rlen;

        if (have >= 4) {
            if (joined[0] != 1) {
                return BEIAN_SNI_BAD;
            }
            need = 4 + (size_t) be(joined, 1, 3, have);
            if (need > BEIAN_HELLO_MAX) {
                return BEIAN_SNI_BAD;
            }
            if (have >= need) {
                break;
            }
        }
    }

    /* the body: version, random, session id, suites, compression */
    end = need;
    i = 4 + 34;
    l = be(joined, i, 1, end);
    if (l < 0 || l > 32) {
        return BEIAN_SNI_BAD;
    }
    i += 1 + (size_t) l;
    l = be(joined, i, 2, end);
    if (l <= 0 || l % 2 || i + 2 + (size_t) l > end) {
        return BEIAN_SNI_BAD;
    }
    i += 2 + (size_t) l;
    l = be(joined, i, 1, end);
    if (l <= 0 || i + 1 + (size_t) l > end) {
        return BEIAN_SNI_BAD;
    }
    i += 1 + (size_t) l;

    if (i == end) {
        return BEIAN_SNI_NONE;
    }
    el = be(joined, i, 2, end);
    if (el < 0 || i + 2 + (size_t) el != end) {
        return BEIAN_SNI_BAD;
    }
    i += 2;

    seen = 0;
    while (i < end) {
        t = be(joined, i, 2, end);
        l = be(joined, i + 2, 2, end);
        if (t < 0 || l < 0 || i + 4 + (size_t) l > end) {
            return BEIAN_SNI_BAD;
        }
        if (t == 0) {
            /* list(2) = type(1) 0 + name(2) + name: one entry exactly */
            if (seen++
                || l < 5
                || be(joined, i + 4, 2, end) != l - 2
                || joined[i + 6] != 0
                || be(joined, i + 7, 2, end) != l - 5)
            {
                return BEIAN_SNI_BAD;
            }
            n = (size_t) l - 5;
            if (n == 0 || n > BEIAN_SNI_MAX
                || memchr(joined + i + 9, 0, n) != NULL)
            {
                return BEIAN_SNI_BAD;
            }
            *name_at = i + 9;
            *name_len = n;
        }
        i += 4 + (size_t) l;
    }

    return seen ? BEIAN_SNI_FOUND : BEIAN_SNI_NONE;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                at, mlen, nlen, plen, cut;
    beian_sni_t           rc, want, prc;
    const unsigned char  *name, *pname;

    if (size > sizeof(joined) - BEIAN_HELLO_MAX) {
        return 0;
    }

    rc = beian_tls_client_hello(data, size, scratch, sizeof(scratch), &name,
                                &nlen);
    want = model(data, size, &at, &mlen);

    FUZZ_CHECK(rc == want, "parse says %d, model %d", (int) rc, (int) want);

    if (rc == BEIAN_SNI_FOUND) {
        FUZZ_CHECK(name >= scratch && name + nlen <= scratch + sizeof(scratch),
                   "name outside the scratch buffer");
        FUZZ_CHECK(nlen == mlen && memcmp(name, joined + at, nlen) == 0,
                   "names differ (%zu / %zu bytes)", nlen, mlen);
        FUZZ_CHECK(nlen >= 1 && nlen <= BEIAN_SNI_MAX
                   && memchr(name, 0, nlen) == NULL, "bad name accepted");
    }

    /* the prefixes the stream gate may see as the bytes arrive: a few
     * cuts, each record boundary among them */
    for (cut = 0; cut < size; cut += (cut < 16 ? 1 : 1 + cut / 4)) {
        prc = beian_tls_client_hello(data, cut, scratch, sizeof(scratch),
                                     &pname, &plen);
        FUZZ_CHECK(prc == BEIAN_SNI_AGAIN || prc == rc,
                   "prefix of %zu bytes says %d, whole input %d", cut,
                   (int) prc, (int) rc);
    }

    /* the extension parser alone on the raw bytes: never past them */
    if (beian_tls_sni_ext(data, size, &pname, &plen) == BEIAN_SNI_FOUND) {
        FUZZ_CHECK(pname >= data && pname + plen <= data + size
                   && plen >= 1 && plen <= BEIAN_SNI_MAX,
                   "extension name out of bounds");
    }

    return 0;
}
