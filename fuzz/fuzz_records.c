/*
 * Fuzz target "records": a provider document (saved response, Error
 * envelope or bare array) through the streaming reader into the record
 * validator and accumulator, exactly as `beian-sync build` and `pull` feed
 * them, then merged into snapshot entries.  Beyond not crashing, whatever
 * comes out must be something the snapshot writer and the match rule can
 * take: valid domains (never a public suffix), valid ICP numbers and
 * website ids within the value limits, sorted and unique, with counts
 * that add up; and feeding the same page twice must change nothing.
 */

#include <string.h>

#include "beian_write.h"
#include "doc.h"
#include "domain.h"
#include "fuzz.h"
#include "icp.h"
#include "records.h"
#include "report.h"

#define INSTANCE  "lhins-fuzz0001"


/* Provider text is shown to people only through display-safe copies. */
static void
check_display(const char *s, size_t size)
{
    size_t  i, n = strnlen(s, size);

    FUZZ_CHECK(n < size, "not NUL-terminated");
    for (i = 0; i < n; i++) {
        FUZZ_CHECK((unsigned char) s[i] >= 0x20 && s[i] != 0x7f,
                   "control byte 0x%02x in \"%s\"", (unsigned char) s[i], s);
    }
}


static void
check_entries(const beian_entry_t *e, size_t n, const sync_report_t *rep)
{
    size_t              i, il, wl, dn;
    beian_host_class_t  cls;
    char                out[BEIAN_HOST_MAX + 1], why[256];

    FUZZ_CHECK(rep->seen == rep->valid + rep->rejected_total,
               "seen %zu != valid %zu + rejected %zu", rep->seen, rep->valid,
               rep->rejected_total);
    FUZZ_CHECK(rep->valid == rep->admitted + rep->skipped_total,
               "valid %zu != admitted %zu + skipped %zu", rep->valid,
               rep->admitted, rep->skipped_total);
    FUZZ_CHECK(n + rep->duplicates <= rep->admitted && n == rep->domains
               && rep->websites <= n && rep->conflicts <= n,
               "%zu entries from %zu admitted", n, rep->admitted);

    for (i = 0; i < n; i++) {
        il = strlen(e[i].icp);
        wl = strlen(e[i].website_id);
        dn = e[i].domain_len;

        /* what beian_snap_write() stores, and refuses beyond */
        FUZZ_CHECK(strlen(e[i].domain) == dn, "NUL in a domain");
        FUZZ_CHECK(il > 0 && il <= BEIAN_ICP_MAX, "icp length %zu", il);
        FUZZ_CHECK(wl > 0 && wl <= BEIAN_WEBSITE_ID_MAX, "id length %zu", wl);

        FUZZ_CHECK(beian_domain_check(e[i].domain, dn) == NULL,
                   "admitted bad domain \"%s\"", e[i].domain);
        FUZZ_CHECK(!sync_domain_public_suffix(e[i].domain, dn),
                   "admitted public suffix \"%s\"", e[i].domain);
        FUZZ_CHECK(sync_icp_check(e[i].icp, il, why, sizeof(why)) == NULL,
                   "admitted bad ICP number \"%s\"", e[i].icp);

        /* a request for exactly this domain is a domain that can match */
        cls = beian_host_normalize(e[i].domain, dn, out, &dn);
        FUZZ_CHECK(cls == BEIAN_HOST_DOMAIN && dn == e[i].domain_len
                   && memcmp(out, e[i].domain, dn) == 0,
                   "\"%s\" does not normalize to itself", e[i].domain);

        FUZZ_CHECK(i == 0 || beian_domain_cmp(e[i - 1].domain,
                                              e[i - 1].domain_len,
                                              e[i].domain, e[i].domain_len)
                             < 0, "entries not sorted and unique at %zu", i);
    }
}


/* Parses data pages times into one accumulator, as pull does. */
static sync_doc_rc_t
run(const uint8_t *data, size_t size, int pages, sync_report_t *rep,
    sync_acc_t **acc, beian_entry_t **e, size_t *n)
{
    int            i;
    sync_doc_rc_t  rc = SYNC_DOC_OK;
    sync_doc_t     doc;
    char           err[BEIAN_ERR_MAX];

    sync_report_init(rep, "build", NULL, 1);
    *acc = sync_acc_new(INSTANCE, rep);
    FUZZ_CHECK(*acc != NULL, "out of memory");
    *e = NULL;
    *n = 0;

    for (i = 0; i < pages && rc == SYNC_DOC_OK; i++) {
        memset(&doc, 0, sizeof(doc));
        err[0] = '\0';
        rc = sync_doc_parse((const char *) data, size, "fuzz", rep->seen,
                            sync_acc_add, *acc, &doc, err, sizeof(err));

        FUZZ_CHECK(strnlen(err, sizeof(err)) < sizeof(err), "err");
        FUZZ_CHECK(rc == SYNC_DOC_OK || rc == SYNC_DOC_SYNTAX
                   || rc == SYNC_DOC_PROVIDER, "rc %d", rc);
        FUZZ_CHECK(rc == SYNC_DOC_OK || err[0] != '\0'
                   || rc == SYNC_DOC_PROVIDER, "rc %d without a message", rc);
        check_display(doc.request_id, sizeof(doc.request_id));
        check_display(doc.error_code, sizeof(doc.error_code));
        check_display(doc.error_message, sizeof(doc.error_message));
        if (rc == SYNC_DOC_OK) {
            FUZZ_CHECK(doc.records * (size_t) (i + 1) == rep->seen,
                       "%zu records, %zu seen", doc.records, rep->seen);
        }
    }

    if (rc == SYNC_DOC_OK) {
        FUZZ_CHECK(sync_acc_finish(*acc, e, n) == 0, "finish failed");
        check_entries(*e, *n, rep);
    }

    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          i, n1, n2;
    sync_doc_rc_t   rc;
    sync_acc_t     *a1, *a2;
    beian_entry_t  *e1, *e2;
    sync_report_t   r1, r2;
    char            d1[72], d2[72];

    rc = run(data, size, 1, &r1, &a1, &e1, &n1);

    if (rc == SYNC_DOC_OK) {
        /* the same page twice: only duplicates, the same snapshot */
        FUZZ_CHECK(run(data, size, 2, &r2, &a2, &e2, &n2) == SYNC_DOC_OK,
                   "second pass failed");
        FUZZ_CHECK(n1 == n2 && r2.rejected_total == 2 * r1.rejected_total
                   && r2.duplicates == r1.duplicates + r1.admitted
                   && r2.conflicts == r1.conflicts,
                   "%zu entries once, %zu twice", n1, n2);
        for (i = 0; i < n1; i++) {
            FUZZ_CHECK(strcmp(e1[i].domain, e2[i].domain) == 0
                       && strcmp(e1[i].icp, e2[i].icp) == 0
                       && strcmp(e1[i].website_id, e2[i].website_id) == 0,
                       "entry %zu differs: %s %s / %s %s", i, e1[i].domain,
                       e1[i].icp, e2[i].domain, e2[i].icp);
        }
        beian_entries_digest(INSTANCE, e1, n1, d1);
        beian_entries_digest(INSTANCE, e2, n2, d2);
        FUZZ_CHECK(strcmp(d1, d2) == 0, "digest differs");

        sync_acc_free(a2);
        sync_report_free(&r2);
    }

    sync_acc_free(a1);
    sync_report_free(&r1);
    return 0;
}
