/*
 * beian-sync: where pull's credentials and identity come from
 * (sync-tool/README.md, "Credentials"), first found wins:
 *
 *   flags / config file   secret-id, secret-key, session-token
 *   environment           TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY,
 *                         TENCENTCLOUD_SESSION_TOKEN
 *   credentials file      ~/.tencentcloud/credentials, [default]
 *                         secret_id, secret_key (not group/world-readable)
 *   metadata service      METADATA/latest/meta-data/cam/security-credentials/
 *                         ROLE: temporary credentials, fetched again when
 *                         fewer than 5 minutes remain
 *
 * Every secret found is registered with sync_secret_add() at once, so no
 * message can show it.
 */

#ifndef SYNC_CREDS_H
#define SYNC_CREDS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "http.h"


/* Temporary credentials are refreshed with fewer than this many seconds
 * left. */
#define SYNC_CREDS_REFRESH  300

#define SYNC_CREDS_ID_MAX     129
#define SYNC_CREDS_KEY_MAX    129
#define SYNC_CREDS_TOKEN_MAX  4097

typedef struct {
    char         id[SYNC_CREDS_ID_MAX];
    char         key[SYNC_CREDS_KEY_MAX];
    char         token[SYNC_CREDS_TOKEN_MAX];   /* "" when none */
    const char  *source;        /* "flags", "config", "env", "file",
                                   "metadata" */
    int64_t      expires;       /* unix seconds; 0: does not expire */
    char         role[128];     /* metadata: the CAM role */
} sync_creds_t;

/* What a metadata lookup needs, shared by credentials and instance id. */
typedef struct {
    sync_http_t           *http;
    const char            *base;        /* no trailing '/' */
    unsigned               retries;
    const sync_backoff_t  *backoff;
} sync_metadata_t;

/*
 * Resolves credentials in the order above.  home is where the
 * credentials file is looked for (NULL: $HOME); md may be NULL (no
 * metadata service: tests).  Returns an exit code: 0; 1 when the
 * configuration is wrong (a half-set pair, an unsafe or malformed
 * credentials file, nothing found anywhere); 2 when the metadata
 * service failed.  err says which, never with a secret.
 */
int sync_creds_resolve(sync_creds_t *cr, const sync_pull_conf_t *c,
    const char *home, const sync_metadata_t *md, char *err, size_t err_len);

/*
 * Metadata credentials with fewer than SYNC_CREDS_REFRESH seconds left
 * are fetched again; anything else is left as it is.  Exit code as above.
 */
int sync_creds_refresh(sync_creds_t *cr, const sync_metadata_t *md,
    int64_t now, char *err, size_t err_len);

/* Parses a credentials file (permissions checked): 0 found, 1 no such
 * file, -1 refused or malformed (err). */
int sync_creds_file(sync_creds_t *cr, const char *path, char *err,
    size_t err_len);

/* Parses the metadata service's JSON for a role: 0, or -1 with err. */
int sync_creds_metadata_json(sync_creds_t *cr, const char *body, size_t len,
    char *err, size_t err_len);

/* --instance-id auto: METADATA/latest/meta-data/instance-id, checked.
 * Exit code, as above. */
int sync_metadata_instance_id(const sync_metadata_t *md, char *out,
    size_t size, char *err, size_t err_len);

/* Wipes the secrets. */
void sync_creds_clear(sync_creds_t *cr);

#endif /* SYNC_CREDS_H */
