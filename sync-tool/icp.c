/*
 * beian-sync: ICP filing and licence numbers, checked with one PCRE2
 * pattern compiled on first use.
 *
 * Filing numbers (备案号) and licence numbers (经营许可证) use different
 * abbreviations for two provinces: Sichuan files as 蜀ICP备 but is
 * licensed as 川B2-, Gansu files as 陇ICP备 but is licensed as 甘B2-.
 * The older ICP证 licence form is seen with both, so it takes either.
 */

#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdio.h>
#include <string.h>

#include <pcre2.h>

#include "icp.h"


const sync_icp_province_t  sync_icp_provinces[SYNC_ICP_NPROVINCES] = {
    { "京", "京", "Beijing" },
    { "津", "津", "Tianjin" },
    { "冀", "冀", "Hebei" },
    { "晋", "晋", "Shanxi" },
    { "蒙", "蒙", "Inner Mongolia" },
    { "辽", "辽", "Liaoning" },
    { "吉", "吉", "Jilin" },
    { "黑", "黑", "Heilongjiang" },
    { "沪", "沪", "Shanghai" },
    { "苏", "苏", "Jiangsu" },
    { "浙", "浙", "Zhejiang" },
    { "皖", "皖", "Anhui" },
    { "闽", "闽", "Fujian" },
    { "赣", "赣", "Jiangxi" },
    { "鲁", "鲁", "Shandong" },
    { "豫", "豫", "Henan" },
    { "鄂", "鄂", "Hubei" },
    { "湘", "湘", "Hunan" },
    { "粤", "粤", "Guangdong" },
    { "桂", "桂", "Guangxi" },
    { "琼", "琼", "Hainan" },
    { "渝", "渝", "Chongqing" },
    { "蜀", "川", "Sichuan" },
    { "黔", "黔", "Guizhou" },
    { "滇", "滇", "Yunnan" },
    { "藏", "藏", "Tibet" },
    { "陕", "陕", "Shaanxi" },
    { "陇", "甘", "Gansu" },
    { "青", "青", "Qinghai" },
    { "宁", "宁", "Ningxia" },
    { "新", "新", "Xinjiang" },
};


static pcre2_code        *icp_re;
static pcre2_match_data  *icp_md;


/* Every abbreviation is one code point, so a class lists them all. */
static size_t
add_class(char *out, size_t size, size_t o, int filing, int licence)
{
    size_t  i;

    o += (size_t) snprintf(out + o, size - o, "[");
    for (i = 0; i < SYNC_ICP_NPROVINCES; i++) {
        if (filing) {
            o += (size_t) snprintf(out + o, size - o, "%s",
                                   sync_icp_provinces[i].filing);
        }
        if (licence && (!filing || strcmp(sync_icp_provinces[i].filing,
                                          sync_icp_provinces[i].licence)))
        {
            o += (size_t) snprintf(out + o, size - o, "%s",
                                   sync_icp_provinces[i].licence);
        }
    }
    o += (size_t) snprintf(out + o, size - o, "]");
    return o;
}


static int
icp_init(void)
{
    int         errcode;
    size_t      o, erroff;
    char        pat[1024];

    /* \A and \z: "$" would also match before a final newline */
    o = (size_t) snprintf(pat, sizeof(pat), "\\A(?:");
    o = add_class(pat, sizeof(pat), o, 1, 0);
    o += (size_t) snprintf(pat + o, sizeof(pat) - o,
                           "ICP备(?:[0-9]{8}|[0-9]{10})号|");
    o = add_class(pat, sizeof(pat), o, 1, 1);
    o += (size_t) snprintf(pat + o, sizeof(pat) - o, "ICP证[0-9]{6,10}号|");
    o = add_class(pat, sizeof(pat), o, 0, 1);
    o += (size_t) snprintf(pat + o, sizeof(pat) - o,
                           "B[12]-[0-9]{8})(?:-[1-9][0-9]{0,2})?\\z");

    icp_re = pcre2_compile((PCRE2_SPTR) pat, PCRE2_ZERO_TERMINATED,
                           PCRE2_UTF, &errcode, &erroff, NULL);
    if (icp_re == NULL) {
        return -1;
    }

    icp_md = pcre2_match_data_create_from_pattern(icp_re, NULL);
    if (icp_md == NULL) {
        pcre2_code_free(icp_re);
        icp_re = NULL;
        return -1;
    }

    return 0;
}


void
sync_icp_cleanup(void)
{
    pcre2_match_data_free(icp_md);
    pcre2_code_free(icp_re);
    icp_md = NULL;
    icp_re = NULL;
}


static int
starts_with(const char *s, size_t len, const char *a, const char *b)
{
    size_t  al = strlen(a), bl = strlen(b);

    return len >= al + bl && memcmp(s, a, al) == 0
           && memcmp(s + al, b, bl) == 0;
}


/* Why a number failed: the likely mistakes get a precise answer. */
static const char *
diagnose(const char *s, size_t len, char *why, size_t why_len)
{
    size_t  i, n;
    int     known = 0;

    for (i = 0; i < SYNC_ICP_NPROVINCES; i++) {
        const sync_icp_province_t  *p = &sync_icp_provinces[i];

        if (strcmp(p->filing, p->licence) == 0) {
            known |= starts_with(s, len, p->filing, "");
            continue;
        }

        if (starts_with(s, len, p->licence, "ICP备")) {
            snprintf(why, why_len, "%s filing numbers start with %s, "
                     "not %s", p->name, p->filing, p->licence);
            return why;
        }

        if (starts_with(s, len, p->filing, "B1-")
            || starts_with(s, len, p->filing, "B2-"))
        {
            snprintf(why, why_len, "%s licence numbers start with %s, "
                     "not %s", p->name, p->licence, p->filing);
            return why;
        }

        known |= starts_with(s, len, p->filing, "")
                 || starts_with(s, len, p->licence, "");
    }

    if (!known) {
        /* the first code point, for the message */
        n = 1;
        if (len > 0 && ((unsigned char) s[0] & 0xc0) == 0xc0) {
            while (n < len && n < 4 && ((unsigned char) s[n] & 0xc0) == 0x80) {
                n++;
            }
        }
        snprintf(why, why_len, "does not start with a province "
                 "abbreviation (found \"%.*s\")", len ? (int) n : 0, s);
        return why;
    }

    return "malformed (expected e.g. 京ICP备12345678号-1, 京ICP证030173号 "
           "or 粤B2-20090059-5)";
}


const char *
sync_icp_check(const char *s, size_t len, char *why, size_t why_len)
{
    int  rc;

    if (icp_re == NULL && icp_init() != 0) {
        return "internal error: cannot compile the ICP number pattern";
    }

    if (len == 0) {
        return "empty";
    }

    rc = pcre2_match(icp_re, (PCRE2_SPTR) s, len, 0, 0, icp_md, NULL);
    if (rc >= 0) {
        return NULL;
    }

    if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21) {
        return "not valid UTF-8";
    }

    if (rc != PCRE2_ERROR_NOMATCH) {
        snprintf(why, why_len, "pattern match failed (PCRE2 error %d)", rc);
        return why;
    }

    return diagnose(s, len, why, why_len);
}
