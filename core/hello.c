/*
 * The server name (SNI) of a TLS ClientHello, read from the raw bytes a
 * client sends first (RFC 8446 4.1.2 and 5.1, RFC 6066 3).  Bounded: the
 * handshake message is gathered from its records into the caller's buffer,
 * never longer than that, and every length is checked against what is left.
 */

#include <string.h>

#include "beian.h"


#define TLS_RECORD_HEADER       5
#define TLS_HANDSHAKE_HEADER    4
#define TLS_CONTENT_HANDSHAKE   22
#define TLS_CLIENT_HELLO        1
#define TLS_SERVER_HELLO        2
#define TLS_EXT_SERVER_NAME     0
#define TLS_SNI_HOST_NAME       0
/* a record's payload: 2^14 bytes, and a little more for old peers */
#define TLS_RECORD_MAX          (16384 + 2048)


/* A cursor over bytes: every read checks what is left. */
typedef struct {
    const unsigned char  *p;
    size_t                left;
} cur_t;


static int
get_n(cur_t *c, size_t n, const unsigned char **out)
{
    if (c->left < n) {
        return -1;
    }
    *out = c->p;
    c->p += n;
    c->left -= n;
    return 0;
}


static int
get_u8(cur_t *c, size_t *v)
{
    const unsigned char  *p;

    if (get_n(c, 1, &p) != 0) {
        return -1;
    }
    *v = p[0];
    return 0;
}


static int
get_u16(cur_t *c, size_t *v)
{
    const unsigned char  *p;

    if (get_n(c, 2, &p) != 0) {
        return -1;
    }
    *v = (size_t) p[0] << 8 | p[1];
    return 0;
}


/* A vector with a length prefix of 1 or 2 bytes, as a cursor of its own. */
static int
get_vec(cur_t *c, int prefix, cur_t *vec)
{
    size_t  n;

    if ((prefix == 1 ? get_u8(c, &n) : get_u16(c, &n)) != 0) {
        return -1;
    }
    vec->left = n;
    return get_n(c, n, &vec->p);
}


beian_sni_t
beian_tls_sni_ext(const unsigned char *ext, size_t len,
    const unsigned char **name, size_t *name_len)
{
    size_t  type;
    cur_t   c, list, host;

    /* exactly one entry, of type host_name, as OpenSSL accepts it */
    c.p = ext;
    c.left = len;

    if (get_vec(&c, 2, &list) != 0 || c.left != 0
        || get_u8(&list, &type) != 0 || type != TLS_SNI_HOST_NAME
        || get_vec(&list, 2, &host) != 0 || list.left != 0
        || host.left == 0 || host.left > BEIAN_SNI_MAX
        || memchr(host.p, '\0', host.left) != NULL)
    {
        return BEIAN_SNI_BAD;
    }

    *name = host.p;
    *name_len = host.left;
    return BEIAN_SNI_FOUND;
}


/* The ClientHello body: skip to the extensions, find server_name. */
static beian_sni_t
client_hello_sni(cur_t *c, const unsigned char **name, size_t *name_len)
{
    size_t                type, seen;
    cur_t                 v, exts, ext;
    const unsigned char  *skip;
    beian_sni_t           rc;

    if (get_n(c, 2 + 32, &skip) != 0            /* version, random */
        || get_vec(c, 1, &v) != 0 || v.left > 32 /* session id */
        || get_vec(c, 2, &v) != 0 || v.left == 0 || v.left % 2 != 0
        || get_vec(c, 1, &v) != 0 || v.left == 0) /* compression */
    {
        return BEIAN_SNI_BAD;
    }

    if (c->left == 0) {
        /* no extensions at all (SSL 3.0 style) */
        return BEIAN_SNI_NONE;
    }

    if (get_vec(c, 2, &exts) != 0 || c->left != 0) {
        return BEIAN_SNI_BAD;
    }

    rc = BEIAN_SNI_NONE;
    seen = 0;

    while (exts.left) {
        if (get_u16(&exts, &type) != 0 || get_vec(&exts, 2, &ext) != 0) {
            return BEIAN_SNI_BAD;
        }

        if (type != TLS_EXT_SERVER_NAME) {
            continue;
        }

        /* a repeated extension is a decode error in TLS */
        if (seen++) {
            return BEIAN_SNI_BAD;
        }

        rc = beian_tls_sni_ext(ext.p, ext.left, name, name_len);
        if (rc != BEIAN_SNI_FOUND) {
            return rc;
        }
    }

    return rc;
}


/*
 * Whether a first byte is a TLS record's content type (20 to 26: change
 * cipher spec, alert, handshake, application data, heartbeat, and the
 * later ones), whatever its version: such bytes are no other protocol's,
 * and a lenient TLS server takes some of them as a client's start (Go's
 * crypto/tls: an alert or a handshake record of any version below 0x1000,
 * a warning alert dropped before the ClientHello).  Not a clean
 * ClientHello in a handshake record of version 3.x, then: malformed, not
 * "not TLS", so that no name reaches such a server unjudged.
 */
static int
tls_record_type(size_t type)
{
    return type >= 20 && type <= 26;
}


/*
 * A PROXY protocol header (v1 "PROXY ", v2 its 12-byte signature) from
 * the client itself: a server that wants one strips it before the gate
 * (listen ... proxy_protocol), so here it is a client's, and a backend
 * that takes an optional header would read the ClientHello after it,
 * unjudged.  Malformed (BAD); AGAIN while the bytes could still begin
 * one; NOT_TLS: none.
 */
static beian_sni_t
proxy_header(const unsigned char *buf, size_t len)
{
    size_t  k, n;

    static const struct {
        const char  *sig;
        size_t       len;
    } v[] = {
        { "PROXY ", 6 },
        { "\r\n\r\n\0\r\nQUIT\n", 12 }
    };

    for (k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
        n = len < v[k].len ? len : v[k].len;

        if (n > 0 && memcmp(buf, v[k].sig, n) == 0) {
            return n == v[k].len ? BEIAN_SNI_BAD : BEIAN_SNI_AGAIN;
        }
    }

    return BEIAN_SNI_NOT_TLS;
}


beian_sni_t
beian_tls_client_hello(const unsigned char *buf, size_t len,
    unsigned char *scratch, size_t size, const unsigned char **name,
    size_t *name_len)
{
    size_t                type, major, rlen, have, need;
    cur_t                 in, msg;
    beian_sni_t           rc;
    const unsigned char  *frag;

    rc = proxy_header(buf, len);
    if (rc != BEIAN_SNI_NOT_TLS) {
        return rc;
    }

    in.p = buf;
    in.left = len;
    have = 0;
    need = TLS_HANDSHAKE_HEADER;

    /* gather the handshake message from as many records as it spans */
    while (have < need) {

        if (in.left < TLS_RECORD_HEADER) {
            /* the first byte alone tells a TLS client from others */
            if (have == 0 && in.left > 0 && buf[0] != TLS_CONTENT_HANDSHAKE) {
                return tls_record_type(buf[0]) ? BEIAN_SNI_BAD
                                               : BEIAN_SNI_NOT_TLS;
            }
            return BEIAN_SNI_AGAIN;
        }

        (void) get_u8(&in, &type);
        (void) get_u8(&in, &major);
        (void) get_n(&in, 1, &frag);            /* minor: any */
        (void) get_u16(&in, &rlen);

        if (type != TLS_CONTENT_HANDSHAKE || major != 3) {
            return (have == 0 && !tls_record_type(type)) ? BEIAN_SNI_NOT_TLS
                                                         : BEIAN_SNI_BAD;
        }

        if (rlen == 0 || rlen > TLS_RECORD_MAX) {
            return BEIAN_SNI_BAD;
        }

        if (in.left < rlen) {
            /* a record arrives whole before we read it */
            return BEIAN_SNI_AGAIN;
        }

        (void) get_n(&in, rlen, &frag);

        if (rlen > size - have) {
            rlen = size - have;
        }
        memcpy(scratch + have, frag, rlen);
        have += rlen;

        if (need == TLS_HANDSHAKE_HEADER && have >= TLS_HANDSHAKE_HEADER) {
            if (scratch[0] != TLS_CLIENT_HELLO) {
                return BEIAN_SNI_BAD;
            }

            need += (size_t) scratch[1] << 16 | (size_t) scratch[2] << 8
                    | scratch[3];

            if (need > size) {
                return BEIAN_SNI_BAD;
            }
        }
    }

    /* the message; bytes past it (a next message) are not ours */
    msg.p = scratch + TLS_HANDSHAKE_HEADER;
    msg.left = need - TLS_HANDSHAKE_HEADER;

    return client_hello_sni(&msg, name, name_len);
}


/*
 * RFC 8446 4.1.3: a HelloRetryRequest is a ServerHello whose random is
 * SHA-256("HelloRetryRequest").  Only after one may a client send another
 * plaintext ClientHello; after any other ServerHello (TLS 1.3 or 1.2) its
 * plaintext handshake is over, and a TLS 1.2 client's Finished travels in
 * a handshake record whose encrypted first byte may well read as a
 * ClientHello's type.
 */
beian_sh_t
beian_tls_server_hello(const unsigned char *buf, size_t len)
{
    size_t  rlen, mlen;

    static const unsigned char  retry[32] = {
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
        0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
        0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
        0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c
    };

    if (len < BEIAN_SH_NEED) {
        return BEIAN_SH_AGAIN;
    }

    if (buf[0] != TLS_CONTENT_HANDSHAKE || buf[1] != 3
        || buf[TLS_RECORD_HEADER] != TLS_SERVER_HELLO)
    {
        return BEIAN_SH_OTHER;
    }

    /* the version, random and all in this record, as servers send it */
    rlen = (size_t) buf[3] << 8 | buf[4];
    mlen = (size_t) buf[6] << 16 | (size_t) buf[7] << 8 | buf[8];

    if (rlen < BEIAN_SH_NEED - TLS_RECORD_HEADER
        || mlen < BEIAN_SH_NEED - TLS_RECORD_HEADER - TLS_HANDSHAKE_HEADER)
    {
        return BEIAN_SH_OTHER;
    }

    return memcmp(buf + TLS_RECORD_HEADER + TLS_HANDSHAKE_HEADER + 2, retry,
                  sizeof(retry)) == 0 ? BEIAN_SH_RETRY : BEIAN_SH_FINAL;
}


beian_watch_t
beian_tls_watch(beian_tls_watch_t *w, const unsigned char *p, size_t len,
    size_t *used)
{
    size_t                n, mlen;
    const unsigned char  *start = p, *end = p + len;

    while (p < end) {

        if (w->rec_left == 0) {
            w->rec[w->rec_len++] = *p++;
            if (w->rec_len < TLS_RECORD_HEADER) {
                continue;
            }

            w->rec_len = 0;
            w->rec_left = (size_t) w->rec[3] << 8 | w->rec[4];

            if (w->rec[1] != 3 || w->rec_left > TLS_RECORD_MAX) {
                *used = (size_t) (p - start);
                return BEIAN_WATCH_BAD;
            }

            continue;
        }

        n = (size_t) (end - p);
        if (n > w->rec_left) {
            n = w->rec_left;
        }

        /* not a handshake record: passed over */
        if (w->rec[0] != TLS_CONTENT_HANDSHAKE) {
            p += n;
            w->rec_left -= n;
            continue;
        }

        /* a handshake message's header, over records if need be */
        if (w->msg_left == 0 && !w->gather) {
            w->hs[w->hs_len++] = *p++;
            w->rec_left--;
            if (w->hs_len < TLS_HANDSHAKE_HEADER) {
                continue;
            }

            w->hs_len = 0;
            mlen = (size_t) w->hs[1] << 16 | (size_t) w->hs[2] << 8
                   | w->hs[3];

            /* the first ClientHello was judged before; later ones here */
            if (w->hs[0] == TLS_CLIENT_HELLO && w->hellos++ > 0) {
                if (mlen > BEIAN_HELLO_MAX - TLS_HANDSHAKE_HEADER) {
                    *used = (size_t) (p - start);
                    return BEIAN_WATCH_BAD;
                }

                w->gather = 1;
                w->buf_len = 0;
                w->msg_left = mlen;

                if (w->buf == NULL) {
                    *used = (size_t) (p - start);
                    return BEIAN_WATCH_BUFFER;
                }

            } else {
                w->msg_left = mlen;
                continue;
            }
        }

        /* the message's bytes in this record: gathered, or passed over */
        n = (size_t) (end - p);
        if (n > w->rec_left) {
            n = w->rec_left;
        }
        if (n > w->msg_left) {
            n = w->msg_left;
        }

        if (w->gather) {
            if (w->buf_len == 0) {
                /* as one record: the header, then the message's */
                w->buf[0] = TLS_CONTENT_HANDSHAKE;
                w->buf[1] = 3;
                w->buf[2] = 3;
                w->buf[3] = (unsigned char) ((w->msg_left + 4) >> 8);
                w->buf[4] = (unsigned char) (w->msg_left + 4);
                memcpy(w->buf + TLS_RECORD_HEADER, w->hs,
                       TLS_HANDSHAKE_HEADER);
                w->buf_len = TLS_RECORD_HEADER + TLS_HANDSHAKE_HEADER;
            }

            memcpy(w->buf + w->buf_len, p, n);
            w->buf_len += n;
        }

        p += n;
        w->rec_left -= n;
        w->msg_left -= n;

        if (w->gather && w->msg_left == 0) {
            w->gather = 0;
            *used = (size_t) (p - start);
            return BEIAN_WATCH_HELLO;
        }
    }

    *used = len;
    return BEIAN_WATCH_MORE;
}
