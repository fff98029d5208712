/*
 * beian-sync: TC3-HMAC-SHA256 against the worked example of Tencent
 * Cloud's "Signature v3" document (签名方法 v3,
 * https://cloud.tencent.com/document/api/213/30654): DescribeInstances on
 * cvm.tencentcloudapi.com, region ap-guangzhou, version 2017-03-12,
 * timestamp 1551113065, payload
 * {"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}
 *
 * The expected values are the published ones:
 *
 * - hashed payload 35e9c5b0..., canonical request, hashed canonical
 *   request 5ffe6a04... and string to sign: the document's steps 1 and 2.
 * - The document's current revision masks the key as
 *   "Gu5t9xGARNpq86cd98joQYCN3*******" and its signature, computed with
 *   that literal string, is 2230eefd...; the same values appear in many
 *   public test suites that copy the example (e.g. a Go TestSign with
 *   wantedrequest/wantedToSign/wanted, and tests in Rust, Ruby, Python,
 *   TypeScript and C# found through code search).
 * - The earlier revision used SecretKey "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
 *   and gave Signature 72e494ea...; reproduced in
 *   woodemi/tencentcloud-sdk-flutter, test/test_sign.dart.
 *
 * Both signatures were also recomputed independently with Python's hmac
 * and hashlib before being written here; so was the second vector below
 * (our own request shape: service lighthouse, a loopback host with port).
 */

#include "unit.h"

#include <stdio.h>

#include "tc3.h"


#define DOC_ID       "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
#define DOC_KEY      "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
#define DOC_ID_MASK  "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******"
#define DOC_KEY_MASK "Gu5t9xGARNpq86cd98joQYCN3*******"

static const char  doc_payload[] =
    "{\"Limit\": 1, \"Filters\": [{\"Values\": "
    "[\"\\u672a\\u547d\\u540d\"], \"Name\": \"instance-name\"}]}";


static sync_tc3_t
doc_example(const char *id, const char *key)
{
    sync_tc3_t  t;

    t.secret_id = id;
    t.secret_key = key;
    t.service = "cvm";
    t.host = "cvm.tencentcloudapi.com";
    t.content_type = "application/json; charset=utf-8";
    t.payload = doc_payload;
    t.payload_len = sizeof(doc_payload) - 1;
    t.timestamp = 1551113065;
    return t;
}


static void
test_payload_hash(void **state)
{
    char  h[65];

    (void) state;

    sync_sha256_hex(doc_payload, sizeof(doc_payload) - 1, h);
    assert_string_equal(h, "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e8"
                           "9887f1398934f064");

    sync_sha256_hex("", 0, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
                           "a495991b7852b855");
}


static void
test_canonical_request(void **state)
{
    char        cr[1024], h[65];
    sync_tc3_t  t = doc_example(DOC_ID, DOC_KEY);

    (void) state;

    assert_int_equal(sync_tc3_canonical_request(&t, cr, sizeof(cr)), 0);
    assert_string_equal(cr,
        "POST\n"
        "/\n"
        "\n"
        "content-type:application/json; charset=utf-8\n"
        "host:cvm.tencentcloudapi.com\n"
        "\n"
        "content-type;host\n"
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");

    sync_sha256_hex(cr, strlen(cr), h);
    assert_string_equal(h, "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e274"
                           "9d62a09ca18d7031");

    /* too small a buffer is an error, not a truncated request */
    assert_int_equal(sync_tc3_canonical_request(&t, cr, 64), -1);
}


static void
test_string_to_sign(void **state)
{
    char        sts[1024];
    sync_tc3_t  t = doc_example(DOC_ID, DOC_KEY);

    (void) state;

    assert_int_equal(sync_tc3_string_to_sign(&t, sts, sizeof(sts)), 0);
    assert_string_equal(sts,
        "TC3-HMAC-SHA256\n"
        "1551113065\n"
        "2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
}


static void
test_signature_published(void **state)
{
    char        sig[65];
    sync_tc3_t  t;

    (void) state;

    t = doc_example(DOC_ID_MASK, DOC_KEY_MASK);
    assert_int_equal(sync_tc3_signature(&t, sig), 0);
    assert_string_equal(sig, "2230eefd229f582d8b1b891af7107b91597240707d778a"
                             "b3738f756258d7652c");

    t = doc_example(DOC_ID, DOC_KEY);
    assert_int_equal(sync_tc3_signature(&t, sig), 0);
    assert_string_equal(sig, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8d"
                             "a2f66e2c5a96525168");
}


static void
test_authorization(void **state)
{
    char        auth[SYNC_TC3_AUTH_MAX];
    sync_tc3_t  t;

    (void) state;

    t = doc_example(DOC_ID_MASK, DOC_KEY_MASK);
    assert_int_equal(sync_tc3_authorization(&t, auth, sizeof(auth)), 0);
    assert_string_equal(auth,
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/"
        "2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, "
        "Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258"
        "d7652c");

    t = doc_example(DOC_ID, DOC_KEY);
    assert_int_equal(sync_tc3_authorization(&t, auth, sizeof(auth)), 0);
    assert_string_equal(auth,
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/"
        "2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96"
        "525168");

    assert_int_equal(sync_tc3_authorization(&t, auth, 40), -1);
}


/* The scope date is the UTC one: 08:00 in Beijing is midnight UTC. */
static void
test_utc_date(void **state)
{
    char  d[16];

    (void) state;

    assert_int_equal(sync_tc3_date(1551113065, d), 0);
    assert_string_equal(d, "2019-02-25");      /* 2019-02-26 00:44 +08:00 */
    assert_int_equal(sync_tc3_date(1551052799, d), 0);
    assert_string_equal(d, "2019-02-24");
    assert_int_equal(sync_tc3_date(1551052800, d), 0);
    assert_string_equal(d, "2019-02-25");
    assert_int_equal(sync_tc3_date(0, d), 0);
    assert_string_equal(d, "1970-01-01");
}


/* Our own request shape, expected values from Python hmac/hashlib:
 *   payload {"InstanceId":"lhins-test0001","Offset":100,"Limit":100},
 *   host 127.0.0.1:8080, service lighthouse, timestamp 1700000000,
 *   SecretKey sk-unit-test-0001. */
static void
test_pull_request_vector(void **state)
{
    char         cr[1024], h[65], sig[65], auth[SYNC_TC3_AUTH_MAX];
    sync_tc3_t   t;

    static const char  payload[] =
        "{\"InstanceId\":\"lhins-test0001\",\"Offset\":100,\"Limit\":100}";

    (void) state;

    t.secret_id = "AKIDunittest0001";
    t.secret_key = "sk-unit-test-0001";
    t.service = "lighthouse";
    t.host = "127.0.0.1:8080";
    t.content_type = SYNC_TC3_CONTENT_TYPE;
    t.payload = payload;
    t.payload_len = sizeof(payload) - 1;
    t.timestamp = 1700000000;

    assert_int_equal(sync_tc3_canonical_request(&t, cr, sizeof(cr)), 0);
    assert_non_null(strstr(cr, "\nhost:127.0.0.1:8080\n"));
    sync_sha256_hex(cr, strlen(cr), h);
    assert_string_equal(h, "74e75876f235b77cb167197fdf063a53aaeee1f5ab681d29"
                           "ab28ae7a25d336c0");

    assert_int_equal(sync_tc3_signature(&t, sig), 0);
    assert_string_equal(sig, "62a0bdc7c26bcb2be611ad4976b6fd9999c2f8d81a810e"
                             "8b381a88e1b54d5835");

    assert_int_equal(sync_tc3_authorization(&t, auth, sizeof(auth)), 0);
    assert_non_null(strstr(auth, "Credential=AKIDunittest0001/2023-11-14/"
                                 "lighthouse/tc3_request, "));
    /* the secret key never appears in what is sent */
    assert_null(strstr(auth, t.secret_key));

    /* any change to a signed input changes the signature */
    t.timestamp++;
    assert_int_equal(sync_tc3_signature(&t, h), 0);
    assert_string_not_equal(h, sig);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_payload_hash),
        cmocka_unit_test(test_canonical_request),
        cmocka_unit_test(test_string_to_sign),
        cmocka_unit_test(test_signature_published),
        cmocka_unit_test(test_authorization),
        cmocka_unit_test(test_utc_date),
        cmocka_unit_test(test_pull_request_vector),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
