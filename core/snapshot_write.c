/*
 * Snapshot writer (docs/snapshot-format.md), used by beian-sync only.
 *
 * A new snapshot is built in a temp file next to the target, synced, and
 * renamed over it; the directory is synced so the rename survives a crash.
 * Readers therefore only ever see a complete old file or a complete new one.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/evp.h>

#include "beian_write.h"
#include "index.h"


static int
entry_cmp(const void *a, const void *b)
{
    const beian_entry_t  *x = a, *y = b;
    int                   rc;

    rc = beian_domain_cmp(x->domain, x->domain_len, y->domain, y->domain_len);
    if (rc != 0) {
        return rc;
    }

    rc = strcmp(x->icp, y->icp);
    return rc ? rc : strcmp(x->website_id, y->website_id);
}


size_t
beian_entries_sort(beian_entry_t *e, size_t n)
{
    size_t  i, out;

    if (n == 0) {
        return 0;
    }

    qsort(e, n, sizeof(*e), entry_cmp);

    for (i = 1, out = 1; i < n; i++) {
        if (entry_cmp(&e[out - 1], &e[i]) != 0) {
            e[out++] = e[i];
        }
    }

    return out;
}


static void
fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}


static int
put_str(MDB_txn *txn, MDB_dbi dbi, const char *key, const char *val)
{
    MDB_val  k, v;

    k.mv_data = (void *) key;
    k.mv_size = strlen(key);
    v.mv_data = (void *) val;
    v.mv_size = strlen(val);

    return mdb_put(txn, dbi, &k, &v, 0);
}


static int
put_meta(MDB_txn *txn, MDB_dbi dbi, const beian_meta_t *m, size_t n)
{
    int   rc;
    char  num[3][32];

    snprintf(num[0], sizeof(num[0]), "%d", BEIAN_SCHEMA_VERSION);
    snprintf(num[1], sizeof(num[1]), "%" PRId64, m->generated_at);
    snprintf(num[2], sizeof(num[2]), "%zu", n);

    if ((rc = put_str(txn, dbi, "schema_version", num[0])) != 0
        || (rc = put_str(txn, dbi, "instance_id", m->instance_id)) != 0
        || (rc = put_str(txn, dbi, "generated_at", num[1])) != 0
        || (rc = put_str(txn, dbi, "source", m->source)) != 0
        || (rc = put_str(txn, dbi, "record_count", num[2])) != 0
        || (rc = put_str(txn, dbi, "digest", m->digest)) != 0)
    {
        return rc;
    }

    return 0;
}


/* Bytes the records take in leaf nodes (key, value, node header). */
static size_t
records_size(const beian_entry_t *e, size_t n)
{
    size_t  i, total;

    total = 0;
    for (i = 0; i < n; i++) {
        total += e[i].domain_len
                 + beian_rec_size(strlen(e[i].icp), strlen(e[i].website_id))
                 + 16;
    }

    return total;
}


/*
 * The hash index (layout in index.h), planned before it is written: the
 * seed, where each domain's slot is, and the sizes.
 */
typedef struct {
    uint64_t   seed;
    uint32_t   words;
    uint32_t   homes;
    uint32_t   buckets;
    size_t     keys_len;
    size_t     recs_len;
    size_t     size;                    /* 0: no index, readers use the tree */
    uint32_t  *bucket;                  /* per entry: its bucket and ... */
    uint8_t   *slot;                    /* ... its slot in that bucket */
} index_plan_t;

#define INDEX_OFFSET_MAX   0xffffffffUL
#define INDEX_SEEDS        16


/*
 * Places the entries for one seed: by home bucket, in input order within a
 * home, each in the first free slot from its home (or from where the
 * previous home's entries ended).  0, or -1 when a home would spill over
 * more than BEIAN_INDEX_SPILL_MAX buckets (only a list made to collide
 * does that).
 */
static int
index_place(const beian_entry_t *e, size_t n, index_plan_t *plan,
    uint32_t *home, uint32_t *order, uint32_t *start)
{
    size_t    i, j;
    uint32_t  h, b, at;

    memset(start, 0, ((size_t) plan->homes + 1) * sizeof(uint32_t));

    /* a counting sort of the entries by home bucket */
    for (i = 0; i < n; i++) {
        home[i] = beian_index_home(beian_key_hash(plan->seed, e[i].domain,
                                                  e[i].domain_len),
                                   plan->homes);
        start[home[i] + 1]++;
    }
    for (h = 0; h < plan->homes; h++) {
        start[h + 1] += start[h];
    }
    for (i = 0; i < n; i++) {
        order[start[home[i]]++] = (uint32_t) i;
    }

    b = 0;
    at = 0;

    for (j = 0; j < n; j++) {
        i = order[j];
        h = home[i];

        if (b < h) {
            b = h;
            at = 0;
        }
        if (at == BEIAN_INDEX_SLOTS) {
            b++;
            at = 0;
        }
        if (b - h > BEIAN_INDEX_SPILL_MAX) {
            return -1;
        }

        plan->bucket[i] = b;
        plan->slot[i] = (uint8_t) at++;
    }

    plan->buckets = (n == 0 || b + 1 < plan->homes) ? plan->homes : b + 1;
    return 0;
}


/*
 * Sizes the index and picks the first seed (of a fixed list, so the same
 * input gives the same file) under which every home's entries are within
 * 255 buckets of it.  Returns -1 when out of memory; plan->size 0 when
 * there is to be no index.
 */
static int
index_plan(const beian_entry_t *e, size_t n, index_plan_t *plan)
{
    int        rc;
    size_t     i, k;
    uint32_t  *home, *order, *start;

    memset(plan, 0, sizeof(*plan));

    plan->keys_len = BEIAN_INDEX_KEYS_PAD;
    plan->recs_len = 1;

    for (i = 0; i < n; i++) {
        plan->keys_len += e[i].domain_len;
        plan->recs_len += beian_rec_size(strlen(e[i].icp),
                                         strlen(e[i].website_id));
    }

    /* 32-bit offsets and counts; buckets * 64 must not wrap either */
    if (n > (1UL << 26) || plan->keys_len > INDEX_OFFSET_MAX
        || plan->recs_len > INDEX_OFFSET_MAX)
    {
        return 0;
    }

    plan->words = (uint32_t) BEIAN_INDEX_WORDS(n);
    plan->homes = (uint32_t) BEIAN_INDEX_HOMES(n);

    plan->bucket = malloc((n ? n : 1) * sizeof(uint32_t));
    plan->slot = malloc(n ? n : 1);
    home = malloc((n ? n : 1) * sizeof(uint32_t));
    order = malloc((n ? n : 1) * sizeof(uint32_t));
    start = malloc(((size_t) plan->homes + 1) * sizeof(uint32_t));

    rc = -1;
    if (plan->bucket == NULL || plan->slot == NULL || home == NULL
        || order == NULL || start == NULL)
    {
        goto done;
    }

    rc = 0;
    for (k = 0; k < INDEX_SEEDS; k++) {
        plan->seed = k * BEIAN_INDEX_MUL;
        if (index_place(e, n, plan, home, order, start) == 0) {
            plan->size = (size_t) beian_index_size(plan->words, plan->buckets,
                                                   plan->keys_len,
                                                   plan->recs_len);
            break;
        }
    }

done:

    free(home);
    free(order);
    free(start);

    return rc;
}


static void
index_plan_free(index_plan_t *plan)
{
    free(plan->bucket);
    free(plan->slot);
    plan->bucket = NULL;
    plan->slot = NULL;
}


/*
 * The file: records, an eighth more for branches and slack; the index (a
 * copy of the keys and records, the buckets and the filter) on its
 * overflow pages plus its leaf page; 4 meta pages.
 */
#define disk_size(e, n, isz)  (records_size(e, n) * 9 / 8                \
                               + ((isz) ? (isz) + 2 * 4096 : 0) + 4 * 4096)


/* Writes the planned hash index of the sorted entries into its value. */
static int
fill_index(unsigned char *out, const index_plan_t *plan,
    const beian_entry_t *e, size_t n)
{
    size_t          i, il, wl, len, roff, koff;
    uint32_t        home, u;
    uint64_t        h, w;
    beian_index_hdr_t  hdr;
    unsigned char  *filter, *buckets, *keys, *recs, *p, *b;

    filter = out + BEIAN_INDEX_HDR;
    buckets = filter + (size_t) plan->words * 8;
    keys = buckets + (size_t) plan->buckets * BEIAN_INDEX_LINE;
    recs = keys + plan->keys_len;

    /* MDB_RESERVE hands out whatever the page held */
    memset(filter, 0, (size_t) plan->words * 8
                      + (size_t) plan->buckets * BEIAN_INDEX_LINE
                      + BEIAN_INDEX_KEYS_PAD);

    /* offset 0 is never a record's: a zeroed slot reads as corrupt */
    recs[0] = 0;
    roff = 1;
    koff = BEIAN_INDEX_KEYS_PAD;

    for (i = 0; i < n; i++) {
        len = e[i].domain_len;
        il = strlen(e[i].icp);
        wl = strlen(e[i].website_id);

        h = beian_key_hash(plan->seed, e[i].domain, len);

        p = filter + (size_t) beian_index_word(h, plan->words) * 8;
        memcpy(&w, p, 8);
        w |= beian_index_pattern(beian_index_mask_of(h));
        memcpy(p, &w, 8);

        /* the home bucket's spill: how far its keys reach */
        home = beian_index_home(h, plan->homes);
        p = buckets + (size_t) home * BEIAN_INDEX_LINE;
        if (plan->bucket[i] - home > p[offsetof(beian_index_bucket_t,
                                                spill)])
        {
            p[offsetof(beian_index_bucket_t, spill)] =
                (unsigned char) (plan->bucket[i] - home);
        }

        b = buckets + (size_t) plan->bucket[i] * BEIAN_INDEX_LINE;
        u = beian_index_check(h);
        memcpy(b + offsetof(beian_index_bucket_t, check)
               + 4 * plan->slot[i], &u, 4);
        u = (uint32_t) koff;
        memcpy(b + offsetof(beian_index_bucket_t, koff)
               + 4 * plan->slot[i], &u, 4);
        u = (uint32_t) roff;
        memcpy(b + offsetof(beian_index_bucket_t, roff)
               + 4 * plan->slot[i], &u, 4);
        b[offsetof(beian_index_bucket_t, len) + plan->slot[i]] =
            (unsigned char) len;

        memcpy(keys + koff, e[i].domain, len);
        koff += len;

        roff += beian_rec_put(recs + roff, e[i].icp, il, e[i].website_id, wl);
    }

    memset(&hdr, 0, sizeof(hdr));
    hdr.magic = BEIAN_INDEX_MAGIC;
    hdr.seed = plan->seed;
    hdr.count = n;
    hdr.words = plan->words;
    hdr.homes = plan->homes;
    hdr.buckets = plan->buckets;
    hdr.keys_len = (uint32_t) plan->keys_len;
    hdr.recs_len = (uint32_t) plan->recs_len;
    memcpy(out, &hdr, sizeof(hdr));

    return koff == plan->keys_len && roff == plan->recs_len ? 0 : -1;
}


int
beian_index_build(const beian_entry_t *e, size_t n, unsigned char **buf,
    size_t *len)
{
    index_plan_t  plan;

    *buf = NULL;
    *len = 0;

    if (index_plan(e, n, &plan) != 0) {
        index_plan_free(&plan);
        return -1;
    }

    if (plan.size != 0) {
        *buf = malloc(plan.size);
        if (*buf == NULL || fill_index(*buf, &plan, e, n) != 0) {
            free(*buf);
            *buf = NULL;
            index_plan_free(&plan);
            return -1;
        }
        *len = plan.size;
    }

    index_plan_free(&plan);
    return 0;
}


/*
 * The content digest: the instance id, each record (domain, ICP number,
 * website id, each NUL-terminated) in key order, then, for a snapshot with
 * a hash index, its key (of whichever version: a file an older writer made
 * still verifies), its length and its bytes.  The index is a pure
 * function of the records, so a file as written hashes the same as the
 * records it was written from; a file whose index was changed does not.
 */
static EVP_MD_CTX *
digest_begin(const char *instance_id)
{
    EVP_MD_CTX  *ctx;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }

    EVP_DigestUpdate(ctx, instance_id, strlen(instance_id) + 1);
    return ctx;
}


static void
digest_record(EVP_MD_CTX *ctx, const char *domain, size_t len,
    const char *icp, size_t icp_len, const char *wid, size_t wid_len)
{
    EVP_DigestUpdate(ctx, domain, len);
    EVP_DigestUpdate(ctx, "", 1);
    EVP_DigestUpdate(ctx, icp, icp_len);
    EVP_DigestUpdate(ctx, "", 1);
    EVP_DigestUpdate(ctx, wid, wid_len);
    EVP_DigestUpdate(ctx, "", 1);
}


static void
digest_end(EVP_MD_CTX *ctx, const char *key, size_t key_len,
    const unsigned char *index, size_t index_len, char out[72])
{
    size_t         i;
    uint64_t       n64;
    unsigned int   len;
    unsigned char  md[EVP_MAX_MD_SIZE];

    static const char  hex[] = "0123456789abcdef";

    if (key != NULL) {
        n64 = index_len;
        EVP_DigestUpdate(ctx, key, key_len);
        EVP_DigestUpdate(ctx, "", 1);
        EVP_DigestUpdate(ctx, &n64, sizeof(n64));
        EVP_DigestUpdate(ctx, index, index_len);
    }

    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);

    memcpy(out, "sha256:", 7);
    for (i = 0; i < len; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 0xf];
    }
    out[7 + 2 * len] = '\0';
}


int
beian_entries_digest(const char *instance_id, const beian_entry_t *e,
    size_t n, char out[72])
{
    size_t          i, ilen;
    EVP_MD_CTX     *ctx;
    unsigned char  *index;

    out[0] = '\0';

    if (beian_index_build(e, n, &index, &ilen) != 0) {
        return -1;
    }

    ctx = digest_begin(instance_id);
    if (ctx == NULL) {
        free(index);
        return -1;
    }

    for (i = 0; i < n; i++) {
        digest_record(ctx, e[i].domain, e[i].domain_len, e[i].icp,
                      strlen(e[i].icp), e[i].website_id,
                      strlen(e[i].website_id));
    }

    digest_end(ctx, ilen != 0 ? BEIAN_INDEX_KEY : NULL,
               sizeof(BEIAN_INDEX_KEY) - 1, index, ilen, out);
    free(index);
    return 0;
}


static int
digest_visit(const char *domain, size_t len, const beian_rec_t *rec,
    void *data)
{
    digest_record(data, domain, len, rec->icp, rec->icp_len,
                  rec->website_id, rec->website_id_len);
    return 0;
}


int
beian_snap_digest(const beian_snap_t *snap, char out[72], char *err,
    size_t err_len)
{
    size_t                ilen = 0, klen = 0;
    EVP_MD_CTX           *ctx;
    const char           *key = NULL;
    const unsigned char  *index = NULL;

    out[0] = '\0';

    ctx = digest_begin(beian_snap_meta(snap)->instance_id);
    if (ctx == NULL) {
        fail(err, err_len, "out of memory");
        return -1;
    }

    if (beian_snap_foreach(snap, digest_visit, ctx, err, err_len) != 0) {
        EVP_MD_CTX_free(ctx);
        return -1;
    }

    /* the index entry as stored, of whichever version */
    if (beian_snap_index_entry(snap, &key, &klen, &index, &ilen) != 0) {
        key = NULL;
    }
    digest_end(ctx, key, klen, index, ilen, out);
    return 0;
}


/* Fills err and returns 1 if dir has less than need bytes free. */
static int
no_space(const char *dir, size_t need, char *err, size_t err_len)
{
    struct statvfs  vfs;

    if (statvfs(dir, &vfs) != 0
        || (uint64_t) vfs.f_bavail * vfs.f_frsize >= need)
    {
        return 0;
    }

    fail(err, err_len, "no space left in \"%s\": about %zu bytes needed, "
         "%llu available", dir, need,
         (unsigned long long) vfs.f_bavail * vfs.f_frsize);
    return 1;
}


static int
write_env(const char *tmp, const beian_meta_t *meta, const beian_entry_t *e,
    size_t n, const index_plan_t *plan, char *err, size_t err_len)
{
    int            rc;
    size_t         i, il, wl, map, isz;
    MDB_env       *env;
    MDB_txn       *txn = NULL;
    MDB_dbi        dmeta, ddom, didx;
    MDB_val        k, v;
    unsigned char  val[BEIAN_REC_MIN + BEIAN_ICP_MAX + BEIAN_WEBSITE_ID_MAX];

    /* the map only bounds the file: being generous costs nothing */
    isz = plan->size;
    map = records_size(e, n) * 4 + isz * 2 + (8 << 20);

    rc = mdb_env_create(&env);
    if (rc != 0) {
        fail(err, err_len, "%s", mdb_strerror(rc));
        return -1;
    }

    if ((rc = mdb_env_set_maxdbs(env, 3)) != 0
        || (rc = mdb_env_set_mapsize(env, map)) != 0
        || (rc = mdb_env_open(env, tmp, MDB_NOSUBDIR | MDB_NOLOCK, 0644))
           != 0
        || (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0
        || (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &dmeta)) != 0
        || (rc = mdb_dbi_open(txn, "domains", MDB_CREATE, &ddom)) != 0
        || (isz != 0
            && (rc = mdb_dbi_open(txn, "index", MDB_CREATE, &didx)) != 0))
    {
        goto failed;
    }

    for (i = 0; i < n; i++) {
        il = strlen(e[i].icp);
        wl = strlen(e[i].website_id);

        if (il > BEIAN_ICP_MAX || wl > BEIAN_WEBSITE_ID_MAX
            || e[i].domain_len > BEIAN_DOMAIN_MAX)
        {
            rc = MDB_BAD_VALSIZE;
            goto failed;
        }

        k.mv_data = e[i].domain;
        k.mv_size = e[i].domain_len;
        v.mv_data = val;
        v.mv_size = beian_rec_put(val, e[i].icp, il, e[i].website_id, wl);

        /* sorted input: append is fast and packs pages full */
        rc = mdb_put(txn, ddom, &k, &v, MDB_APPEND);
        if (rc != 0) {
            if (rc == MDB_KEYEXIST) {
                fail(err, err_len, "duplicate or unsorted domain \"%.*s\"",
                     (int) e[i].domain_len, e[i].domain);
                mdb_txn_abort(txn);
                mdb_env_close(env);
                return -1;
            }
            goto failed;
        }
    }

    if ((rc = put_meta(txn, dmeta, meta, n)) != 0) {
        goto failed;
    }

    /* the hash index, in the same transaction: readers see both or none */
    if (isz != 0) {
        k.mv_data = (void *) BEIAN_INDEX_KEY;
        k.mv_size = sizeof(BEIAN_INDEX_KEY) - 1;
        v.mv_data = NULL;
        v.mv_size = isz;

        rc = mdb_put(txn, didx, &k, &v, MDB_RESERVE);
        if (rc != 0) {
            goto failed;
        }

        if (fill_index(v.mv_data, plan, e, n) != 0) {
            rc = ENOMEM;
            goto failed;
        }
    }

    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
        goto failed;
    }

    rc = mdb_env_sync(env, 1);
    if (rc != 0) {
        goto failed;
    }

    mdb_env_close(env);
    return 0;

failed:

    fail(err, err_len, "writing \"%s\": %s", tmp, mdb_strerror(rc));
    if (txn) {
        mdb_txn_abort(txn);
    }
    mdb_env_close(env);
    return -1;
}


/*
 * Splits path: its directory into dir ("." for none, "/" for the root),
 * and returns its last component, or NULL if dir is too small.
 */
static const char *
path_split(const char *path, char *dir, size_t size)
{
    size_t       dlen;
    const char  *slash;

    slash = strrchr(path, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
        return path;
    }

    dlen = (size_t) (slash - path);
    if (dlen >= size) {
        return NULL;
    }

    memcpy(dir, path, dlen ? dlen : 1);
    dir[dlen ? dlen : 1] = '\0';

    return slash + 1;
}


int
beian_snap_clean_temps(const char *path)
{
    int             removed;
    DIR            *d;
    size_t          plen;
    const char     *base;
    struct dirent  *de;
    char            dir[4096], prefix[512], victim[4096 + 512];

    base = path_split(path, dir, sizeof(dir));
    if (base == NULL) {
        return -1;
    }

    if (snprintf(prefix, sizeof(prefix), ".%s.tmp.", base)
        >= (int) sizeof(prefix))
    {
        return -1;
    }
    plen = strlen(prefix);

    d = opendir(dir);
    if (d == NULL) {
        return -1;
    }

    removed = 0;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, plen) == 0
            && strlen(de->d_name) == plen + 6
            && snprintf(victim, sizeof(victim), "%s/%s", dir, de->d_name)
               < (int) sizeof(victim)
            && unlink(victim) == 0)
        {
            removed++;
        }
    }

    closedir(d);
    return removed;
}


int
beian_snap_write(const char *path, const beian_meta_t *meta,
    const beian_entry_t *e, size_t n, char *err, size_t err_len)
{
    int           fd, dfd, rc;
    size_t        need;
    const char   *base;
    index_plan_t  plan;
    char          dir[4096], tmp[4096 + 32];

    base = path_split(path, dir, sizeof(dir));

    if (base == NULL
        || snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.XXXXXX", dir, base)
           >= (int) sizeof(tmp))
    {
        fail(err, err_len, "path too long: \"%s\"", path);
        return -1;
    }

    if (index_plan(e, n, &plan) != 0) {
        index_plan_free(&plan);
        fail(err, err_len, "out of memory sizing the index");
        return -1;
    }

    /* same directory as the target: rename() is atomic only there */
    fd = mkstemp(tmp);
    if (fd == -1) {
        index_plan_free(&plan);
        fail(err, err_len, "cannot create a temp file in \"%s\": %s",
             dir, strerror(errno));
        return -1;
    }

    /* the nginx workers run as an unprivileged user and only read it */
    if (fchmod(fd, 0644) != 0) {
        fail(err, err_len, "chmod \"%s\": %s", tmp, strerror(errno));
        goto failed;
    }

    /*
     * LMDB reports a full disk as a bare EIO from a short write, which
     * tells an operator nothing: check the space before and after.
     */
    need = disk_size(e, n, plan.size);
    if (no_space(dir, need, err, err_len)) {
        goto failed;
    }

    rc = write_env(tmp, meta, e, n, &plan, err, err_len);
    index_plan_free(&plan);
    if (rc != 0) {
        (void) no_space(dir, need, err, err_len);
        goto failed;
    }

    if (fsync(fd) != 0) {
        fail(err, err_len, "fsync \"%s\": %s", tmp, strerror(errno));
        goto failed;
    }

    if (close(fd) != 0) {
        fd = -1;
        fail(err, err_len, "close \"%s\": %s", tmp, strerror(errno));
        goto failed;
    }
    fd = -1;

    if (rename(tmp, path) != 0) {
        fail(err, err_len, "rename \"%s\" to \"%s\": %s", tmp, path,
             strerror(errno));
        goto failed;
    }

    dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd == -1 || fsync(dfd) != 0) {
        /* the new file is in place; only its durability is in doubt */
        fail(err, err_len, "fsync directory \"%s\": %s", dir,
             strerror(errno));
        if (dfd != -1) {
            close(dfd);
        }
        return 1;
    }
    close(dfd);

    return 0;

failed:

    index_plan_free(&plan);

    if (fd != -1) {
        close(fd);
    }
    unlink(tmp);
    return -1;
}
