/*
 * beian-sync: ICP filing and licence numbers.
 */

#ifndef SYNC_ICP_H
#define SYNC_ICP_H

#include <stddef.h>


/* Mainland provincial-level divisions: exactly 31. */
#define SYNC_ICP_NPROVINCES  31

typedef struct {
    const char  *filing;        /* abbreviation in ICP备 filing numbers */
    const char  *licence;       /* abbreviation in B1-/B2- licence numbers */
    const char  *name;
} sync_icp_province_t;

extern const sync_icp_province_t
    sync_icp_provinces[SYNC_ICP_NPROVINCES];

/*
 * Checks a whole string against the accepted forms:
 *   <filing>ICP备<8 or 10 digits>号[-N]      京ICP备12345678号-1
 *   <either>ICP证<6 to 10 digits>号[-N]      京ICP证030173号
 *   <licence>B1-<8 digits>[-N], B2-...       粤B2-20090059-5
 * where N is 1..999 without a leading zero.  Returns NULL if valid, else
 * a reason (static, or in why).
 */
const char *sync_icp_check(const char *s, size_t len, char *why,
    size_t why_len);

/* Frees the compiled pattern; only for leak checkers. */
void sync_icp_cleanup(void);

#endif /* SYNC_ICP_H */
