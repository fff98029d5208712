/*
 * beian-sync: the table of sources.
 */

#include <string.h>

#include "source.h"


static const sync_source_t  sources[] = {
    { "records", sync_source_records },
    { "tencent", sync_source_tencent },
};


const sync_source_t *
sync_source_find(const char *name)
{
    size_t  i;

    for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
        if (strcmp(sources[i].name, name) == 0) {
            return &sources[i];
        }
    }
    return NULL;
}
