/*
 * beian-sync info: the snapshot's meta, and proof that the file is whole:
 * the content digest recomputed, the hash index held against the tree
 * both ways.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"


static const char  usage_info[] =
    "usage: beian-sync info -s|--snapshot SNAPSHOT [-h|--help] "
    "[-V|--version]";

typedef struct {
    sync_arena_t    arena;
    beian_entry_t  *e;
    size_t          n;
    size_t          size;
    int             nomem;
} collect_t;


static int
collect(const char *domain, size_t len, const beian_rec_t *rec, void *data)
{
    size_t          size;
    beian_entry_t  *e;
    collect_t      *c = data;

    if (c->n == c->size) {
        size = c->size ? c->size * 2 : 1024;
        e = realloc(c->e, size * sizeof(*e));
        if (e == NULL) {
            c->nomem = 1;
            return 1;
        }
        c->e = e;
        c->size = size;
    }

    e = &c->e[c->n];
    e->domain = sync_arena_strndup(&c->arena, domain, len);
    e->domain_len = len;
    e->icp = sync_arena_strndup(&c->arena, rec->icp, rec->icp_len);
    e->website_id = sync_arena_strndup(&c->arena, rec->website_id,
                                       rec->website_id_len);
    if (e->domain == NULL || e->icp == NULL || e->website_id == NULL) {
        c->nomem = 1;
        return 1;
    }

    c->n++;
    return 0;
}


/* The tree's entry for a domain, by binary search, or NULL. */
static const beian_entry_t *
collect_find(const collect_t *col, const char *domain, size_t len)
{
    int     c;
    size_t  lo = 0, hi = col->n, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = beian_domain_cmp(col->e[mid].domain, col->e[mid].domain_len,
                             domain, len);
        if (c == 0) {
            return &col->e[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }

    return NULL;
}


static int
rec_equal(const beian_rec_t *rec, const beian_entry_t *e)
{
    return rec->icp_len == strlen(e->icp)
           && memcmp(rec->icp, e->icp, rec->icp_len) == 0
           && rec->website_id_len == strlen(e->website_id)
           && memcmp(rec->website_id, e->website_id, rec->website_id_len)
              == 0;
}


/* The index held against the tree, entry by entry. */
typedef struct {
    const collect_t  *col;
    unsigned char    *hit;              /* per tree entry: seen in the index */
    size_t            entries;
    char              diff[BEIAN_SYNC_MSG_MAX];
} index_walk_t;


static int
index_visit(const char *domain, size_t len, const beian_rec_t *rec,
    void *data)
{
    index_walk_t         *w = data;
    const beian_entry_t  *e;
    char                  d[BEIAN_DOMAIN_MAX + 4];

    w->entries++;
    e = collect_find(w->col, domain, len);

    if (e == NULL || !rec_equal(rec, e) || w->hit[e - w->col->e]) {
        snprintf(w->diff, sizeof(w->diff), "the hash index holds \"%s\", %s",
                 sync_display(d, sizeof(d), domain, len),
                 e == NULL ? "which the tree does not (a lookup of it would "
                             "answer filed)"
                 : w->hit[e - w->col->e] ? "twice"
                 : "with another record than the tree's");
        return 1;
    }

    w->hit[e - w->col->e] = 1;
    return 0;
}


/*
 * Whether the hash index, which nginx reads, says exactly what the tree
 * says, both ways: every domain of the tree found through it with the same
 * record; every entry it holds a domain of the tree with that record, as
 * many entries as records; and byte for byte the index the writer derives
 * from those records.  0, or -1 with the first difference reported.
 */
static int
index_check(const beian_snap_t *snap, const char *path, const collect_t *col)
{
    int                   rc;
    size_t                i, ilen, clen;
    beian_rec_t           rec;
    index_walk_t          w;
    unsigned char        *canon = NULL;
    const unsigned char  *ix;
    char                  err[BEIAN_ERR_MAX];

    if (beian_snap_index_raw(snap, &ix, &ilen) != 0) {
        printf("index: none\n");
        return 0;
    }

    memset(&w, 0, sizeof(w));
    w.col = col;

    /* tree to index */
    for (i = 0; i < col->n; i++) {
        rc = beian_snap_get(snap, col->e[i].domain, col->e[i].domain_len,
                            &rec);
        if (rc != 1 || !rec_equal(&rec, &col->e[i])) {
            snprintf(w.diff, sizeof(w.diff), "the hash index %s \"%s\"",
                     rc == 1 ? "has another record for"
                     : rc == 0 ? "does not find" : "is corrupt at",
                     col->e[i].domain);
            goto differs;
        }
    }

    /* index to tree */
    w.hit = calloc(col->n ? col->n : 1, 1);
    if (w.hit == NULL) {
        fprintf(stderr, "beian-sync: out of memory\n");
        return -1;
    }
    if (beian_snap_index_foreach(snap, index_visit, &w, err, sizeof(err))
        != 0)
    {
        snprintf(w.diff, sizeof(w.diff), "the hash index is corrupt: %s",
                 err);
        goto differs;
    }
    if (w.diff[0] != '\0') {
        goto differs;
    }
    if (w.entries != col->n) {
        snprintf(w.diff, sizeof(w.diff), "the hash index holds %zu entries, "
                 "the tree %zu records", w.entries, col->n);
        goto differs;
    }

    /* and nothing else: the bytes the records determine */
    if (beian_index_build(col->e, col->n, &canon, &clen) != 0) {
        free(w.hit);
        fprintf(stderr, "beian-sync: out of memory\n");
        return -1;
    }
    if (clen != ilen || memcmp(canon, ix, ilen) != 0) {
        for (i = 0; i < ilen && i < clen && canon[i] == ix[i]; i++) {
            /* void */
        }
        snprintf(w.diff, sizeof(w.diff), "the hash index is not the one its "
                 "records determine (%zu bytes, expected %zu; first "
                 "difference at byte %zu)", ilen, clen, i);
        goto differs;
    }

    free(canon);
    free(w.hit);
    printf("index_verified: yes\n");
    return 0;

differs:

    free(canon);
    free(w.hit);
    printf("index_verified: no\n");
    fprintf(stderr, "beian-sync: %s: %s\n", path, w.diff);
    return -1;
}


int
sync_cmd_info(int argc, char **argv)
{
    int                  c, rc = SYNC_EXIT_OK;
    const char          *path = NULL;
    beian_snap_t        *snap;
    collect_t            col;
    const beian_meta_t  *m;
    char                 t[32], src[sizeof(m->source) + 4];
    char                 digest[72], err[BEIAN_ERR_MAX];

    snap = sync_snapshot_only(argc, argv, usage_info, &path, &rc);
    if (snap == NULL) {
        return rc;
    }
    rc = SYNC_EXIT_OK;

    m = beian_snap_meta(snap);
    sync_rfc3339_format(m->generated_at, t);

    printf("snapshot: %s\n", path);
    printf("schema_version: %u\n", m->schema_version);
    printf("instance_id: %s\n", m->instance_id);
    printf("generated_at: %lld\n", (long long) m->generated_at);
    printf("generated_at_utc: %s\n", t);
    printf("source: %s\n",
           sync_display(src, sizeof(src), m->source, strlen(m->source)));
    printf("record_count: %llu\n", (unsigned long long) m->record_count);
    printf("digest: %s\n", m->digest);

    /* recompute the digest from the content: proves the file whole */
    memset(&col, 0, sizeof(col));
    if (beian_snap_foreach(snap, collect, &col, err, sizeof(err)) != 0) {
        fprintf(stderr, "beian-sync: %s: %s\n", path, err);
        rc = SYNC_EXIT_REFUSED;
    } else if (col.nomem) {
        fprintf(stderr, "beian-sync: out of memory\n");
        rc = SYNC_EXIT_IO;
    } else {
        rc = beian_snap_digest(snap, digest, err, sizeof(err));
        printf("digest_verified: %s\n",
               rc == 0 && strcmp(digest, m->digest) == 0 ? "yes" : "no");
        if (rc != 0) {
            fprintf(stderr, "beian-sync: %s: %s\n", path, err);
            rc = SYNC_EXIT_REFUSED;
        } else if (strcmp(digest, m->digest) != 0) {
            fprintf(stderr, "beian-sync: %s: the content's digest is %s, "
                    "not the recorded one\n", path, digest);
            rc = SYNC_EXIT_REFUSED;
        }

        if (index_check(snap, path, &col) != 0) {
            rc = SYNC_EXIT_REFUSED;
        }
    }

    free(col.e);
    sync_arena_free(&col.arena);
    beian_snap_close(snap);

    c = sync_flush_stdout();
    return rc != SYNC_EXIT_OK ? rc : c;
}
