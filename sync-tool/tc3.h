/*
 * beian-sync: Tencent Cloud API signature v3 (TC3-HMAC-SHA256), for the
 * provider requests (sync-tool/README.md).  Only what they need: POST to "/",
 * no query string, signed headers content-type and host.
 */

#ifndef SYNC_TC3_H
#define SYNC_TC3_H

#include <stddef.h>
#include <stdint.h>


#define SYNC_TC3_ALGORITHM     "TC3-HMAC-SHA256"
#define SYNC_TC3_CONTENT_TYPE  "application/json; charset=utf-8"

/* Room for an Authorization value with an id of up to 128 bytes. */
#define SYNC_TC3_AUTH_MAX      512

typedef struct {
    const char  *secret_id;
    const char  *secret_key;
    const char  *service;           /* credential scope, e.g. "lighthouse" */
    const char  *host;              /* the Host header as sent */
    const char  *content_type;      /* the Content-Type header as sent */
    const char  *payload;
    size_t       payload_len;
    int64_t      timestamp;         /* X-TC-Timestamp, unix seconds */
} sync_tc3_t;

/*
 * The steps of the algorithm, each exposed for the tests against the
 * published example.  All return 0, or -1 when out does not fit (or the
 * timestamp has no UTC date).
 */
int sync_tc3_date(int64_t timestamp, char out[16]);
int sync_tc3_canonical_request(const sync_tc3_t *t, char *out, size_t size);
int sync_tc3_string_to_sign(const sync_tc3_t *t, char *out, size_t size);
int sync_tc3_signature(const sync_tc3_t *t, char out[65]);

/* "TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request,
 * SignedHeaders=content-type;host, Signature=HEX" */
int sync_tc3_authorization(const sync_tc3_t *t, char *out, size_t size);

/* Lowercase hex SHA-256 of a buffer. */
void sync_sha256_hex(const void *data, size_t len, char out[65]);

#endif /* SYNC_TC3_H */
