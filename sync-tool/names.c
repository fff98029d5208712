/*
 * beian-sync: candidate names for the tencent source.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "domain.h"
#include "icp.h"
#include "names.h"
#include "util.h"


extern char  **environ;

/* An `nginx -T` dump beyond this is not a configuration. */
#define NGINX_DUMP_MAX     (64u << 20)
#define NGINX_STDERR_MAX   4096
#define NGINX_SECONDS      60


/* ---- the list ------------------------------------------------------ */

int
sync_names_add(sync_names_t *l, const char *name, const char *icp,
    const char **why, char *err, size_t err_len)
{
    size_t        len, rlen, size;
    sync_name_t  *v, *e;
    char          norm[BEIAN_DOMAIN_MAX + 1], reg[BEIAN_DOMAIN_MAX + 1];
    char          buf[BEIAN_SYNC_MSG_MAX];

    switch (sync_domain_normalize(name, strlen(name), norm, &len, why, buf,
                                  sizeof(buf)))
    {
    case SYNC_DOMAIN_OK:
        break;
    case SYNC_DOMAIN_PUBLIC_SUFFIX:
        *why = "a public suffix: it would allow every site under it";
        return 1;
    case SYNC_DOMAIN_IDNA:
        *why = "not a valid internationalized domain name";
        return 1;
    default:
        /* why may point into buf: callers get a static reason */
        if (*why == buf) {
            *why = "not a domain name";
        }
        return 1;
    }

    if (sync_domain_registrable(norm, len, reg, &rlen) != 0) {
        *why = "a public suffix";
        return 1;
    }

    if (l->n == l->size) {
        size = l->size ? l->size * 2 : 64;
        v = realloc(l->v, size * sizeof(*v));
        if (v == NULL) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        l->v = v;
        l->size = size;
    }

    e = &l->v[l->n++];
    memcpy(e->domain, reg, rlen + 1);
    e->domain_len = rlen;
    snprintf(e->icp, sizeof(e->icp), "%s", icp ? icp : "");
    snprintf(e->names, sizeof(e->names), "%s", norm);
    return 0;
}


static int
name_cmp(const void *a, const void *b)
{
    const sync_name_t  *x = a, *y = b;
    int                 rc;

    rc = beian_domain_cmp(x->domain, x->domain_len, y->domain, y->domain_len);
    /* a name with a number before one without: the merge keeps it */
    return rc ? rc : -strcmp(x->icp, y->icp);
}


int
sync_names_finish(sync_names_t *l, char *err, size_t err_len)
{
    size_t        i, out, len;
    sync_name_t  *prev, *e;

    if (l->n == 0) {
        return 0;
    }

    qsort(l->v, l->n, sizeof(*l->v), name_cmp);

    for (i = 1, out = 1; i < l->n; i++) {
        prev = &l->v[out - 1];
        e = &l->v[i];

        if (beian_domain_cmp(prev->domain, prev->domain_len, e->domain,
                             e->domain_len) != 0)
        {
            l->v[out++] = *e;
            continue;
        }

        if (e->icp[0] && strcmp(prev->icp, e->icp) != 0) {
            snprintf(err, err_len, "domain %s (from %s and %s) is given two "
                     "ICP numbers, %s and %s: a registrable domain has one "
                     "filing", prev->domain, prev->names, e->names,
                     prev->icp, e->icp);
            return -1;
        }

        /* note the other names that lead here, while there is room */
        len = strlen(prev->names);
        if (strstr(prev->names, e->names) == NULL
            && len + 2 + strlen(e->names) < sizeof(prev->names))
        {
            memcpy(prev->names + len, ", ", 2);
            memcpy(prev->names + len + 2, e->names, strlen(e->names) + 1);
        }
    }

    l->n = out;
    return 0;
}


void
sync_names_free(sync_names_t *l)
{
    free(l->v);
    json_decref(l->skipped);
    memset(l, 0, sizeof(*l));
}


/* ---- server_name -------------------------------------------------- */

const char *
sync_server_name_domain(const char *name, char *out, const char **why)
{
    size_t           len = strlen(name);
    unsigned char    a[16];
    char             v6[64];

    *why = NULL;

    if (len == 0) {
        *why = "an empty name";
    } else if (name[0] == '~') {
        *why = "a regular expression";
    } else if (strcmp(name, "_") == 0) {
        *why = "the catch-all name";
    } else if (strchr(name, '$') != NULL) {
        *why = "a variable";
    } else if (inet_pton(AF_INET, name, a) == 1) {
        *why = "an IP address";
    } else if (name[0] == '[' && len < sizeof(v6) + 2
               && name[len - 1] == ']')
    {
        memcpy(v6, name + 1, len - 2);
        v6[len - 2] = '\0';
        *why = inet_pton(AF_INET6, v6, a) == 1 ? "an IP address"
                                                : "not a domain name";
    }
    if (*why != NULL) {
        return NULL;
    }

    /* ".example.com" and "*.example.com": the domain and its subdomains */
    if (name[0] == '.') {
        name++;
    } else if (name[0] == '*' && name[1] == '.') {
        name += 2;
    }

    if (strchr(name, '*') != NULL) {
        *why = "a wildcard that is not a leading \"*.\"";
        return NULL;
    }
    if (strchr(name, '.') == NULL
        || (strchr(name, '.') == name + strlen(name) - 1))
    {
        *why = "a single label (localhost and the like)";
        return NULL;
    }
    if (strlen(name) > BEIAN_DOMAIN_MAX + 1) {
        *why = "longer than 253 bytes";
        return NULL;
    }

    strcpy(out, name);
    return out;
}


/*
 * The next token of an nginx configuration: a word (quotes and escapes
 * resolved into tok), or one of ';' '{' '}'.  0 at the end.
 */
typedef struct {
    const char  *p;
    const char  *end;
    size_t       line;
    char         tok[BEIAN_SYNC_MSG_MAX];
    size_t       len;
    int          special;       /* ';', '{', '}' or 0 for a word */
} lexer_t;


static int
next_token(lexer_t *lx)
{
    char  q, c;

    lx->len = 0;
    lx->special = 0;

    for ( ;; ) {
        if (lx->p == lx->end) {
            return 0;
        }
        c = *lx->p;
        if (c == '\n') {
            lx->line++;
            lx->p++;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            lx->p++;
        } else if (c == '#') {
            while (lx->p < lx->end && *lx->p != '\n') {
                lx->p++;
            }
        } else {
            break;
        }
    }

    c = *lx->p;
    if (c == ';' || c == '{' || c == '}') {
        lx->special = c;
        lx->p++;
        return 1;
    }

    q = (c == '"' || c == '\'') ? c : 0;
    if (q) {
        lx->p++;
    }

    while (lx->p < lx->end) {
        c = *lx->p;
        if (q ? c == q
              : (c == ' ' || c == '\t' || c == '\r' || c == '\n'
                 || c == ';' || c == '{' || c == '}'))
        {
            break;
        }
        if (c == '\n') {
            lx->line++;                 /* a newline in quotes */
        }

        /* as nginx reads escapes: \" \' \\ \t \r \n, any other kept */
        if (c == '\\' && lx->p + 1 < lx->end) {
            switch (lx->p[1]) {
            case '"': case '\'': case '\\':
                c = lx->p[1];
                lx->p++;
                break;
            case 't': c = '\t'; lx->p++; break;
            case 'r': c = '\r'; lx->p++; break;
            case 'n': c = '\n'; lx->p++; break;
            default:
                if (lx->len < sizeof(lx->tok) - 1) {
                    lx->tok[lx->len++] = c;
                }
                lx->p++;
                c = *lx->p;
            }
        }
        if (lx->len < sizeof(lx->tok) - 1) {
            lx->tok[lx->len++] = c;
        }
        lx->p++;
    }
    if (q && lx->p < lx->end) {
        lx->p++;                        /* the closing quote */
    }

    lx->tok[lx->len] = '\0';
    return 1;
}


int
sync_nginx_server_names(const char *dump, size_t len,
    sync_server_name_pt fn, void *data)
{
    int      rc, start = 1, in_names = 0;
    lexer_t  lx;

    memset(&lx, 0, sizeof(lx));
    lx.p = dump;
    lx.end = dump + len;
    lx.line = 1;

    while (next_token(&lx)) {
        if (lx.special) {
            start = 1;
            in_names = 0;
            continue;
        }
        if (in_names) {
            rc = fn(lx.tok, lx.line, data);
            if (rc != 0) {
                return rc;
            }
        } else if (start && strcmp(lx.tok, "server_name") == 0) {
            in_names = 1;
        }
        start = 0;
    }

    return 0;
}


/* ---- nginx -T ----------------------------------------------------- */

/*
 * Runs `nginx -T [-c conf]` and returns its standard output (*out,
 * malloc()ed).  0, or -1 with err (nginx's own message when it says one).
 */
static int
nginx_dump(const char *nginx, const char *conf, char **out, size_t *out_len,
    char *err, size_t err_len)
{
    int                          rc = -1, status, po[2] = { -1, -1 };
    int                          pe[2] = { -1, -1 }, open_fds;
    char                        *buf = NULL, ebuf[NGINX_STDERR_MAX];
    char                         shown[NGINX_STDERR_MAX];
    char                        *argv[5];
    size_t                       len = 0, size = 0, elen = 0;
    pid_t                        pid;
    ssize_t                      n;
    time_t                       deadline;
    struct pollfd                pfd[2];
    posix_spawn_file_actions_t   fa;

    *out = NULL;
    *out_len = 0;

    argv[0] = (char *) nginx;
    argv[1] = (char *) "-T";
    argv[2] = conf ? (char *) "-c" : NULL;
    argv[3] = (char *) conf;
    argv[4] = NULL;

    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
        snprintf(err, err_len, "pipe: %s", strerror(errno));
        goto done;
    }

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    rc = posix_spawn(&pid, nginx, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        snprintf(err, err_len, "domains-from = nginx: cannot run %s: %s",
                 nginx, strerror(rc));
        rc = -1;
        goto done;
    }
    rc = -1;

    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;

    deadline = time(NULL) + NGINX_SECONDS;
    open_fds = 2;

    while (open_fds > 0) {
        pfd[0].fd = po[0];
        pfd[0].events = POLLIN;
        pfd[1].fd = pe[0];
        pfd[1].events = POLLIN;

        if (time(NULL) > deadline) {
            kill(pid, SIGKILL);
            snprintf(err, err_len, "domains-from = nginx: %s -T did not "
                     "finish in %d s", nginx, NGINX_SECONDS);
            goto reap;
        }
        if (poll(pfd, 2, 1000) < 0) {
            if (errno == EINTR) {
                continue;
            }
            kill(pid, SIGKILL);
            snprintf(err, err_len, "poll: %s", strerror(errno));
            goto reap;
        }

        if (po[0] != -1 && (pfd[0].revents & (POLLIN | POLLHUP))) {
            if (len + 65536 + 1 > size) {
                size = size ? size * 2 : 1 << 20;
                if (size > NGINX_DUMP_MAX + 65536 + 1) {
                    kill(pid, SIGKILL);
                    snprintf(err, err_len, "domains-from = nginx: %s -T "
                             "printed more than %u MiB", nginx,
                             NGINX_DUMP_MAX >> 20);
                    goto reap;
                }
                buf = realloc(*out ? *out : NULL, size);
                if (buf == NULL) {
                    kill(pid, SIGKILL);
                    snprintf(err, err_len, "out of memory");
                    goto reap;
                }
                *out = buf;
            }
            n = read(po[0], *out + len, size - len - 1);
            if (n > 0) {
                len += (size_t) n;
            } else if (n == 0 || errno != EINTR) {
                close(po[0]);
                po[0] = -1;
                open_fds--;
            }
        }

        if (pe[0] != -1 && (pfd[1].revents & (POLLIN | POLLHUP))) {
            n = read(pe[0], ebuf + elen, sizeof(ebuf) - elen - 1);
            if (n > 0) {
                elen += (size_t) n;
                if (elen == sizeof(ebuf) - 1) {
                    elen = sizeof(ebuf) / 2;   /* keep reading, keep some */
                }
            } else if (n == 0 || errno != EINTR) {
                close(pe[0]);
                pe[0] = -1;
                open_fds--;
            }
        }
    }

    rc = 0;

reap:

    while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {
        /* void */
    }

    if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        ebuf[elen] = '\0';
        /* the last line nginx said is usually the reason */
        while (elen > 0 && (ebuf[elen - 1] == '\n' || ebuf[elen - 1] == '\r'))
        {
            ebuf[--elen] = '\0';
        }
        snprintf(err, err_len, "domains-from = nginx: %s -T%s%s failed "
                 "(%s %d): %.600s", nginx, conf ? " -c " : "",
                 conf ? conf : "",
                 WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                 sync_display(shown, sizeof(shown), ebuf, elen));
        rc = -1;
    }

    if (rc == 0) {
        if (*out == NULL) {
            *out = malloc(1);
            if (*out == NULL) {
                snprintf(err, err_len, "out of memory");
                rc = -1;
                goto done;
            }
        }
        (*out)[len] = '\0';
        *out_len = len;
    }

done:

    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    if (po[0] != -1) {
        close(po[0]);
    }
    if (po[1] != -1) {
        close(po[1]);
    }
    if (pe[0] != -1) {
        close(pe[0]);
    }
    if (pe[1] != -1) {
        close(pe[1]);
    }
    return rc;
}


typedef struct {
    sync_names_t  *l;
    char          *err;
    size_t         err_len;
} nginx_ctx_t;


static int
nginx_name(const char *name, size_t line, void *data)
{
    int           rc;
    json_t       *o;
    nginx_ctx_t  *x = data;
    const char   *why;
    char          d[BEIAN_DOMAIN_MAX + 2], shown[300];

    (void) line;

    if (sync_server_name_domain(name, d, &why) != NULL) {
        rc = sync_names_add(x->l, d, NULL, &why, x->err, x->err_len);
        if (rc < 0) {
            return -1;
        }
        if (rc == 0) {
            return 0;
        }
    }

    /* listed once per name, however often nginx serves it */
    o = json_pack("{s:s, s:s}", "name",
                  sync_display(shown, sizeof(shown), name, strlen(name)),
                  "reason", why);
    if (o != NULL) {
        size_t   i;
        json_t  *v;

        json_array_foreach(x->l->skipped, i, v) {
            if (json_equal(json_object_get(v, "name"),
                           json_object_get(o, "name")))
            {
                json_decref(o);
                return 0;
            }
        }
        json_array_append_new(x->l->skipped, o);
    }
    return 0;
}


/* ---- the candidates ----------------------------------------------- */

int
sync_names_collect(const sync_pull_conf_t *c, sync_names_t *l, char *err,
    size_t err_len)
{
    int           rc;
    char         *dump, *line, *name, *icp, *sp;
    size_t        i, len;
    const char   *why;
    nginx_ctx_t   x;
    char          whybuf[BEIAN_SYNC_MSG_MAX], shown[300];

    memset(l, 0, sizeof(*l));
    l->skipped = json_array();
    if (l->skipped == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }

    for (i = 0; i < c->ndomains; i++) {
        line = strdup(c->domains[i]);
        if (line == NULL) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }

        name = sync_trim(line);
        icp = NULL;
        sp = strpbrk(name, " \t");
        if (sp != NULL) {
            *sp = '\0';
            icp = sync_trim(sp + 1);
            why = sync_icp_check(icp, strlen(icp), whybuf, sizeof(whybuf));
            if (why != NULL) {
                snprintf(err, err_len, "domain %s: ICP number \"%s\": %s",
                         sync_display(shown, sizeof(shown), name,
                                      strlen(name)), icp, why);
                free(line);
                return -1;
            }
        }

        rc = sync_names_add(l, name, icp, &why, err, err_len);
        if (rc != 0) {
            if (rc > 0) {
                snprintf(err, err_len, "domain \"%s\": %s",
                         sync_display(shown, sizeof(shown), name,
                                      strlen(name)), why);
            }
            free(line);
            return -1;
        }
        free(line);
    }

    if (c->domains_from != NULL) {
        if (nginx_dump(c->nginx, c->nginx_conf, &dump, &len, err, err_len)
            != 0)
        {
            return -1;
        }
        x.l = l;
        x.err = err;
        x.err_len = err_len;
        rc = sync_nginx_server_names(dump, len, nginx_name, &x);
        free(dump);
        if (rc != 0) {
            return -1;
        }
    }

    return sync_names_finish(l, err, err_len);
}
