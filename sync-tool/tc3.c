/*
 * beian-sync: TC3-HMAC-SHA256, as Tencent Cloud's "Signature v3" document
 * (cloud.tencent.com/document/api/213/30654) specifies:
 *
 *   CanonicalRequest = "POST\n/\n\n" CanonicalHeaders "\n" SignedHeaders "\n"
 *                      hex(SHA256(payload))
 *   StringToSign     = "TC3-HMAC-SHA256\n" Timestamp "\n"
 *                      Date "/" Service "/tc3_request\n" hex(SHA256(CR))
 *   SecretSigning    = HMAC(HMAC(HMAC("TC3" SecretKey, Date), Service),
 *                      "tc3_request")
 *   Signature        = hex(HMAC(SecretSigning, StringToSign))
 *
 * Date is the UTC date of the timestamp: a request signed just after
 * midnight UTC (08:00 in China) must use the new date.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tc3.h"


#define SIGNED_HEADERS  "content-type;host"
#define TERMINATOR      "tc3_request"


static void
hex(const unsigned char *in, size_t n, char *out)
{
    size_t  i;

    static const char  digits[] = "0123456789abcdef";

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}


void
sync_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned int   n = 0;
    unsigned char  md[EVP_MAX_MD_SIZE];

    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
        /* cannot happen with the built-in provider; never sign garbage */
        memset(out, '0', 64);
        out[64] = '\0';
        return;
    }
    hex(md, 32, out);
}


static int
hmac(const void *key, size_t key_len, const char *msg, size_t msg_len,
    unsigned char out[32])
{
    unsigned int  n = 0;

    if (HMAC(EVP_sha256(), key, (int) key_len, (const unsigned char *) msg,
             msg_len, out, &n) == NULL || n != 32)
    {
        return -1;
    }
    return 0;
}


int
sync_tc3_date(int64_t timestamp, char out[16])
{
    time_t     t = (time_t) timestamp;
    struct tm  tm;

    if (gmtime_r(&t, &tm) == NULL
        || strftime(out, 16, "%Y-%m-%d", &tm) != 10)
    {
        return -1;
    }
    return 0;
}


int
sync_tc3_canonical_request(const sync_tc3_t *t, char *out, size_t size)
{
    int   n;
    char  payload_hash[65];

    sync_sha256_hex(t->payload, t->payload_len, payload_hash);

    /* header names lowercase, values trimmed; both headers are ours and
     * already in that form */
    n = snprintf(out, size, "POST\n/\n\ncontent-type:%s\nhost:%s\n\n%s\n%s",
                 t->content_type, t->host, SIGNED_HEADERS, payload_hash);

    return (n < 0 || (size_t) n >= size) ? -1 : 0;
}


int
sync_tc3_string_to_sign(const sync_tc3_t *t, char *out, size_t size)
{
    int   n;
    char  cr[1024], cr_hash[65], date[16];

    if (sync_tc3_date(t->timestamp, date) != 0
        || sync_tc3_canonical_request(t, cr, sizeof(cr)) != 0)
    {
        return -1;
    }

    sync_sha256_hex(cr, strlen(cr), cr_hash);

    n = snprintf(out, size, "%s\n%lld\n%s/%s/%s\n%s", SYNC_TC3_ALGORITHM,
                 (long long) t->timestamp, date, t->service, TERMINATOR,
                 cr_hash);

    return (n < 0 || (size_t) n >= size) ? -1 : 0;
}


int
sync_tc3_signature(const sync_tc3_t *t, char out[65])
{
    int            rc = -1;
    size_t         n;
    unsigned char  k_date[32], k_service[32], k_signing[32], sig[32];
    char           sts[1024], date[16], key[300];

    if (sync_tc3_date(t->timestamp, date) != 0
        || sync_tc3_string_to_sign(t, sts, sizeof(sts)) != 0)
    {
        return -1;
    }

    n = (size_t) snprintf(key, sizeof(key), "TC3%s", t->secret_key);
    if (n >= sizeof(key)) {
        goto done;
    }

    if (hmac(key, n, date, strlen(date), k_date) != 0
        || hmac(k_date, 32, t->service, strlen(t->service), k_service) != 0
        || hmac(k_service, 32, TERMINATOR, sizeof(TERMINATOR) - 1,
                k_signing) != 0
        || hmac(k_signing, 32, sts, strlen(sts), sig) != 0)
    {
        goto done;
    }

    hex(sig, 32, out);
    rc = 0;

done:

    /* the derived keys are as good as the secret for a day */
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(k_date, sizeof(k_date));
    OPENSSL_cleanse(k_service, sizeof(k_service));
    OPENSSL_cleanse(k_signing, sizeof(k_signing));
    return rc;
}


int
sync_tc3_authorization(const sync_tc3_t *t, char *out, size_t size)
{
    int   n;
    char  sig[65], date[16];

    if (sync_tc3_date(t->timestamp, date) != 0
        || sync_tc3_signature(t, sig) != 0)
    {
        return -1;
    }

    n = snprintf(out, size, "%s Credential=%s/%s/%s/%s, SignedHeaders=%s, "
                 "Signature=%s", SYNC_TC3_ALGORITHM, t->secret_id, date,
                 t->service, TERMINATOR, SIGNED_HEADERS, sig);

    return (n < 0 || (size_t) n >= size) ? -1 : 0;
}
