/*
 * beian-sync: streaming reader of provider documents (sync-tool/README.md,
 * "source = records").
 *
 * A document is {"Response": {"TotalCount": N, "DomainSet": [RECORD...],
 * "RequestId": "..."}}, an Error envelope {"Response": {"Error": {"Code",
 * "Message"}, "RequestId"}}, or a bare array of RECORDs.  Only the few
 * structural tokens around DomainSet are walked here; every key and value
 * is decoded by jansson on its own, so memory stays proportional to one
 * record however long the document is.  `pull` feeds each page's body
 * through sync_doc_parse() exactly like `build` feeds a file.
 */

#ifndef SYNC_DOC_H
#define SYNC_DOC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>


/* Where a record came from, for "FILE:LINE: DomainSet[i] (domain): ...". */
typedef struct {
    const char  *source;        /* file name, or a page label for pull */
    const char  *array;         /* "DomainSet", or "" for a bare array */
    size_t       index;         /* index in DomainSet, counted over pages */
    size_t       line;          /* 1-based line of the record's first byte */
    const char  *defect;        /* NULL, or why the JSON of this record is
                                   unusable although it could be skipped
                                   (duplicate keys) */
} sync_pos_t;

/*
 * Called once per element of DomainSet with the decoded element, which is
 * borrowed for the call.  Return 0 to go on; anything else stops the parse
 * (SYNC_DOC_STOPPED).
 */
typedef int (*sync_record_pt)(json_t *rec, const sync_pos_t *pos,
    void *data);

typedef enum {
    SYNC_DOC_OK = 0,
    SYNC_DOC_SYNTAX,            /* not a provider document; err says why */
    SYNC_DOC_PROVIDER,          /* an Error envelope; doc->error_* set */
    SYNC_DOC_STOPPED,           /* the callback returned non-zero */
    SYNC_DOC_IO,                /* the file could not be read */
    SYNC_DOC_NOMEM
} sync_doc_rc_t;

typedef struct {
    int          envelope;      /* 1: {"Response": ...}; 0: bare array */
    int64_t      total_count;   /* TotalCount, -1 when absent */
    size_t       records;       /* elements of DomainSet seen */
    /* display-safe copies (control bytes replaced, long text cut) */
    char         request_id[128];
    char         error_code[128];
    char         error_message[512];
} sync_doc_t;

/*
 * Parses one document held in memory.  source names it in messages;
 * index_base is added to each record's index (a page's Offset).  Records
 * are passed to cb as they are read: on an error later in the document
 * the callback has already seen the earlier ones, so a caller discards
 * its accumulated state on anything but SYNC_DOC_OK.
 */
sync_doc_rc_t sync_doc_parse(const char *buf, size_t len, const char *source,
    size_t index_base, sync_record_pt cb, void *data, sync_doc_t *doc,
    char *err, size_t err_len);

/* The same for a file (mmap), or standard input when path is "-". */
sync_doc_rc_t sync_doc_parse_file(const char *path, sync_record_pt cb,
    void *data, sync_doc_t *doc, char *err, size_t err_len);

/* "object", "array", "string", ... for messages. */
const char *sync_json_type(const json_t *v);

#endif /* SYNC_DOC_H */
