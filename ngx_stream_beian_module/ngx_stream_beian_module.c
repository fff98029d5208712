/*
 * ngx_stream_beian_module: the beian gate for stream {} servers, such as
 * TLS passthrough with ssl_preread.  In the preread phase it reads the
 * server name (SNI) from the client's ClientHello (core/hello.c) and closes
 * the connection when the name is not filed, before a byte reaches the
 * upstream.  The verdict is core/'s, the same as the http module's.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "beian.h"
#include "ngx_beian_common.h"


#define NGX_STREAM_BEIAN_ENFORCE    0
#define NGX_STREAM_BEIAN_REPORT     1

#define NGX_STREAM_BEIAN_IP_ALLOW   0
#define NGX_STREAM_BEIAN_IP_BLOCK   1


typedef struct {
    ngx_beian_snap_conf_t       snapshot;
    ngx_msec_t                  check;
    ngx_flag_t                  enabled;          /* in some server */
    ngx_shm_zone_t             *zone;
} ngx_stream_beian_main_conf_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_uint_t                  mode;
    ngx_flag_t                  subdomains;
    ngx_uint_t                  ip_host;
    ngx_beian_exempt_t          exempt;
    ngx_uint_t                  flags;            /* BEIAN_MATCH_* */
} ngx_stream_beian_srv_conf_t;


typedef struct {
    beian_status_t              status;
    ngx_str_t                   name;             /* $beian_server_name */

    /*
     * After an allowed ClientHello, the client's later bytes are watched
     * (core/hello.c, beian_tls_watch()): a TLS 1.3 HelloRetryRequest makes
     * the client send a second ClientHello, which must name an allowed
     * server too (the upstream would take its name).  The watch ends when
     * the upstream's ServerHello is not a HelloRetryRequest, or once a
     * second ClientHello passed (there is never a third); not at the
     * client's first encrypted record, which early data can be.
     */
    unsigned                    watch:1;
    unsigned                    server:1;         /* its first bytes seen */
    beian_tls_watch_t           w;
    u_char                      sh[BEIAN_SH_NEED];  /* the upstream's first */
    size_t                      sh_len;             /* bytes, gathered */
} ngx_stream_beian_ctx_t;


/* Per-process state: each worker opens its own env in init_process. */
typedef struct {
    ngx_cycle_t                *cycle;
    ngx_beian_snap_state_t      state;
    ngx_event_t                 timer;
} ngx_stream_beian_worker_t;


static ngx_int_t ngx_stream_beian_handler(ngx_stream_session_t *s);
static void ngx_stream_beian_server_hello(ngx_stream_beian_ctx_t *ctx,
    ngx_chain_t *in);
static ngx_int_t ngx_stream_beian_recount(ngx_stream_session_t *s,
    ngx_stream_beian_ctx_t *ctx, beian_status_t status, ngx_uint_t report);
static ngx_int_t ngx_stream_beian_filter(ngx_stream_session_t *s,
    ngx_chain_t *in, ngx_uint_t from_upstream);
static ngx_int_t ngx_stream_beian_preread_phase(ngx_stream_session_t *s,
    ngx_stream_phase_handler_t *ph);
static beian_status_t ngx_stream_beian_verdict(ngx_stream_session_t *s,
    ngx_stream_beian_srv_conf_t *bscf, ngx_str_t *name);
static ngx_int_t ngx_stream_beian_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_stream_beian_keep_name(ngx_stream_session_t *s,
    ngx_stream_beian_ctx_t *ctx, ngx_str_t *name);
static beian_snap_t *ngx_stream_beian_snapshot(void);
static void ngx_stream_beian_check_handler(ngx_event_t *ev);
static ngx_int_t ngx_stream_beian_init_zone(ngx_shm_zone_t *zone,
    void *data);

static char *ngx_stream_beian_snapshot_cmd(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_stream_beian_check_cmd(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_stream_beian_exempt_cmd(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

static ngx_int_t ngx_stream_beian_add_variables(ngx_conf_t *cf);
static void *ngx_stream_beian_create_main_conf(ngx_conf_t *cf);
static void *ngx_stream_beian_create_srv_conf(ngx_conf_t *cf);
static char *ngx_stream_beian_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_stream_beian_init(ngx_conf_t *cf);
static ngx_int_t ngx_stream_beian_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_stream_beian_init_process(ngx_cycle_t *cycle);
static void ngx_stream_beian_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_stream_beian_modes[] = {
    { ngx_string("enforce"), NGX_STREAM_BEIAN_ENFORCE },
    { ngx_string("report"), NGX_STREAM_BEIAN_REPORT },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_stream_beian_ip_hosts[] = {
    { ngx_string("allow"), NGX_STREAM_BEIAN_IP_ALLOW },
    { ngx_string("block"), NGX_STREAM_BEIAN_IP_BLOCK },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_stream_beian_commands[] = {

    { ngx_string("beian"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_beian_srv_conf_t, enable),
      NULL },

    { ngx_string("beian_snapshot"),
      NGX_STREAM_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_stream_beian_snapshot_cmd,
      NGX_STREAM_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("beian_snapshot_check"),
      NGX_STREAM_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_stream_beian_check_cmd,
      NGX_STREAM_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("beian_mode"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_beian_srv_conf_t, mode),
      &ngx_stream_beian_modes },

    { ngx_string("beian_subdomains"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_beian_srv_conf_t, subdomains),
      NULL },

    { ngx_string("beian_ip_host"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_beian_srv_conf_t, ip_host),
      &ngx_stream_beian_ip_hosts },

    { ngx_string("beian_exempt_host"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_1MORE,
      ngx_stream_beian_exempt_cmd,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_beian_module_ctx = {
    ngx_stream_beian_add_variables,        /* preconfiguration */
    ngx_stream_beian_init,                 /* postconfiguration */

    ngx_stream_beian_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_stream_beian_create_srv_conf,      /* create server configuration */
    ngx_stream_beian_merge_srv_conf        /* merge server configuration */
};


ngx_module_t  ngx_stream_beian_module = {
    NGX_MODULE_V1,
    &ngx_stream_beian_module_ctx,          /* module context */
    ngx_stream_beian_commands,             /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
    NULL,                                  /* init master */
    ngx_stream_beian_init_module,          /* init module */
    ngx_stream_beian_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_stream_beian_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* $beian_status (0) and $beian_server_name, one handler */
#define NGX_STREAM_BEIAN_VAR_NAME  1

static ngx_stream_variable_t  ngx_stream_beian_vars[] = {

    { ngx_string("beian_status"), NULL, ngx_stream_beian_variable, 0, 0, 0 },

    { ngx_string("beian_server_name"), NULL, ngx_stream_beian_variable,
      NGX_STREAM_BEIAN_VAR_NAME, 0, 0 },

      ngx_stream_null_variable
};


static ngx_str_t  ngx_stream_beian_zone_name =
    ngx_string(NGX_BEIAN_STREAM_ZONE);

static ngx_stream_beian_worker_t  ngx_stream_beian_worker;

/* timer events log their data as a connection: give them a harmless one */
static ngx_connection_t  ngx_stream_beian_timer_conn = {
    .fd = (ngx_socket_t) -1
};

static ngx_stream_filter_pt  ngx_stream_next_filter;

/* the ClientHello is gathered here: workers are single-threaded */
static u_char  ngx_stream_beian_hello[BEIAN_HELLO_MAX];


static ngx_int_t
ngx_stream_beian_handler(ngx_stream_session_t *s)
{
    size_t                         len;
    u_char                        *p;
    ngx_str_t                      name;
    beian_sni_t                    rc;
    ngx_connection_t              *c;
    ngx_beian_stream_shm_t        *shm;
    ngx_stream_beian_ctx_t        *ctx;
    ngx_stream_beian_srv_conf_t   *bscf;
    ngx_stream_beian_main_conf_t  *bmcf;
    u_char                         shown[NGX_BEIAN_SHOWN_MAX];

    bscf = ngx_stream_get_module_srv_conf(s, ngx_stream_beian_module);
    c = s->connection;

    if (!bscf->enable || c->type != SOCK_STREAM) {
        return NGX_DECLINED;
    }

#if (NGX_STREAM_SSL)
    if (c->ssl) {
        /*
         * nginx ended TLS itself (listen ... ssl): the handshake is over,
         * the client's bytes are decrypted; the name is OpenSSL's
         */
        name.data = (u_char *) SSL_get_servername(c->ssl->connection,
                                                  TLSEXT_NAMETYPE_host_name);
        len = name.data ? ngx_strlen(name.data) : 0;
        rc = name.data ? BEIAN_SNI_FOUND : BEIAN_SNI_NONE;

    } else
#endif
    {
        if (c->buffer == NULL) {
            return NGX_AGAIN;
        }

        rc = beian_tls_client_hello(c->buffer->pos,
                                    c->buffer->last - c->buffer->pos,
                                    ngx_stream_beian_hello,
                                    sizeof(ngx_stream_beian_hello),
                                    (const unsigned char **) &name.data,
                                    &len);
        if (rc == BEIAN_SNI_AGAIN) {
            return NGX_AGAIN;
        }
    }

    ctx = ngx_pcalloc(c->pool, sizeof(ngx_stream_beian_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_stream_set_ctx(s, ctx, ngx_stream_beian_module);

    /*
     * No name (a ClientHello without SNI, or a client that does not speak
     * TLS at all) is like a client connecting by IP; a malformed
     * ClientHello names nothing that could be filed.
     */
    if (rc == BEIAN_SNI_FOUND) {
        name.len = len;

    } else {
        ngx_str_null(&name);
    }

    if (rc == BEIAN_SNI_BAD) {
        ctx->status = BEIAN_UNFILED;
        ngx_str_set(&name, "(malformed ClientHello)");

    } else {
        ctx->status = ngx_stream_beian_verdict(s, bscf, &name);

        if (ngx_stream_beian_keep_name(s, ctx, &name) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    bmcf = ngx_stream_get_module_main_conf(s, ngx_stream_beian_module);
    shm = bmcf->zone ? bmcf->zone->data : NULL;

    /* a ClientHello nginx did not end itself: its later ones, watched */
    ctx->watch = (rc == BEIAN_SNI_FOUND || rc == BEIAN_SNI_NONE)
#if (NGX_STREAM_SSL)
                 && c->ssl == NULL
#endif
                 ;

    if (beian_allowed(ctx->status, bscf->flags)) {
        if (shm) {
            ngx_atomic_fetch_add(&shm->accepted[ctx->status], 1);
        }
        return NGX_DECLINED;
    }

    p = ngx_beian_shown(shown, &name);

    if (bscf->mode == NGX_STREAM_BEIAN_REPORT) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "beian: would close connection for %s server name "
                      "\"%*s\" (report mode)",
                      beian_status_names[ctx->status], p - shown, shown);
        if (shm) {
            ngx_atomic_fetch_add(&shm->accepted[ctx->status], 1);
            ngx_atomic_fetch_add(&shm->would_close, 1);
        }
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "beian: closed connection for %s server name \"%*s\"",
                  beian_status_names[ctx->status], p - shown, shown);

    if (shm) {
        ngx_atomic_fetch_add(&shm->closed[ctx->status], 1);
    }

    return NGX_STREAM_FORBIDDEN;
}


/*
 * The upstream's first bytes, gathered over reads: after a ServerHello
 * that is not a HelloRetryRequest, the client sends no plaintext
 * ClientHello any more, and its next handshake records (a TLS 1.2
 * Finished is one) are encrypted: the watch ends.  Anything else keeps it.
 */
static void
ngx_stream_beian_server_hello(ngx_stream_beian_ctx_t *ctx, ngx_chain_t *in)
{
    size_t        n;
    ngx_chain_t  *cl;

    for (cl = in; cl && ctx->sh_len < BEIAN_SH_NEED; cl = cl->next) {
        if (!ngx_buf_in_memory(cl->buf)) {
            continue;
        }

        n = ngx_min((size_t) (cl->buf->last - cl->buf->pos),
                    BEIAN_SH_NEED - ctx->sh_len);
        ngx_memcpy(ctx->sh + ctx->sh_len, cl->buf->pos, n);
        ctx->sh_len += n;
    }

    switch (beian_tls_server_hello(ctx->sh, ctx->sh_len)) {

    case BEIAN_SH_AGAIN:
        return;

    case BEIAN_SH_FINAL:
        ctx->watch = 0;
        break;

    default:
        break;
    }

    ctx->server = 1;
}


/*
 * The client's bytes on their way upstream, while watched: a later
 * ClientHello, gathered over records and reads, is judged like the first
 * before the read that completes it goes on; one not allowed, one that
 * does not parse or bytes that are no TLS records end the connection.
 */
static ngx_int_t
ngx_stream_beian_filter(ngx_stream_session_t *s, ngx_chain_t *in,
    ngx_uint_t from_upstream)
{
    u_char                       *p, *q, *last;
    size_t                        n, used;
    ngx_str_t                     name;
    ngx_uint_t                    report;
    ngx_chain_t                  *cl;
    beian_sni_t                   rc;
    beian_watch_t                 wrc;
    beian_status_t                status;
    ngx_stream_beian_ctx_t       *ctx;
    ngx_stream_beian_srv_conf_t  *bscf;
    u_char                        shown[NGX_BEIAN_SHOWN_MAX];

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_beian_module);

    if (ctx == NULL || !ctx->watch) {
        return ngx_stream_next_filter(s, in, from_upstream);
    }

    if (from_upstream) {
        if (!ctx->server) {
            ngx_stream_beian_server_hello(ctx, in);
        }

        return ngx_stream_next_filter(s, in, from_upstream);
    }

    for (cl = in; cl && ctx->watch; cl = cl->next) {

        if (!ngx_buf_in_memory(cl->buf)) {
            continue;
        }

        p = cl->buf->pos;
        last = cl->buf->last;

        while (p < last && ctx->watch) {

            wrc = beian_tls_watch(&ctx->w, p, last - p, &used);
            p += used;

            if (wrc == BEIAN_WATCH_MORE) {
                break;
            }

            if (wrc == BEIAN_WATCH_BAD) {
                goto refuse;
            }

            if (wrc == BEIAN_WATCH_BUFFER) {
                /* only for a second ClientHello: not every connection */
                ctx->w.buf = ngx_palloc(s->connection->pool,
                                        BEIAN_WATCH_BUF);
                if (ctx->w.buf == NULL) {
                    return NGX_ERROR;
                }
                continue;
            }

            /* a later ClientHello, whole */
            rc = beian_tls_client_hello(ctx->w.buf, ctx->w.buf_len,
                                        ngx_stream_beian_hello,
                                        sizeof(ngx_stream_beian_hello),
                                        (const unsigned char **) &name.data,
                                        &n);
            if (rc != BEIAN_SNI_FOUND && rc != BEIAN_SNI_NONE) {
                goto refuse;
            }

            name.len = (rc == BEIAN_SNI_FOUND) ? n : 0;
            if (rc == BEIAN_SNI_NONE) {
                name.data = NULL;
            }

            bscf = ngx_stream_get_module_srv_conf(s, ngx_stream_beian_module);
            status = ngx_stream_beian_verdict(s, bscf, &name);

            if (!beian_allowed(status, bscf->flags)) {
                q = ngx_beian_shown(shown, &name);
                report = (bscf->mode == NGX_STREAM_BEIAN_REPORT);

                if (ngx_stream_beian_keep_name(s, ctx, &name) != NGX_OK) {
                    return NGX_ERROR;
                }

                ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                              "beian: %s connection for %s server name "
                              "\"%*s\" in a second ClientHello%s",
                              report ? "would close" : "closed",
                              beian_status_names[status], q - shown, shown,
                              report ? " (report mode)" : "");

                if (ngx_stream_beian_recount(s, ctx, status, report)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }
            }

            /* one HelloRetryRequest at most: no third ClientHello */
            ctx->watch = 0;
        }
    }

    return ngx_stream_next_filter(s, in, from_upstream);

refuse:

    bscf = ngx_stream_get_module_srv_conf(s, ngx_stream_beian_module);
    report = (bscf->mode == NGX_STREAM_BEIAN_REPORT);

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "beian: %s connection: a later ClientHello that cannot "
                  "be judged%s", report ? "would close" : "closed",
                  report ? " (report mode)" : "");

    if (ngx_stream_beian_recount(s, ctx, BEIAN_UNFILED, report) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the bytes go on, unwatched */
    ctx->watch = 0;

    return ngx_stream_next_filter(s, in, from_upstream);
}


/*
 * A later ClientHello not allowed decides the connection's verdict: it is
 * what $beian_status says from now on, and the counters move the
 * connection from what the first one had it as (accepted) to closed, or
 * in report mode to would-close, once.  NGX_ERROR: close it; NGX_OK:
 * report mode, it goes on.
 */
static ngx_int_t
ngx_stream_beian_recount(ngx_stream_session_t *s,
    ngx_stream_beian_ctx_t *ctx, beian_status_t status, ngx_uint_t report)
{
    ngx_beian_stream_shm_t        *shm;
    ngx_stream_beian_srv_conf_t   *bscf;
    ngx_stream_beian_main_conf_t  *bmcf;

    bscf = ngx_stream_get_module_srv_conf(s, ngx_stream_beian_module);
    bmcf = ngx_stream_get_module_main_conf(s, ngx_stream_beian_module);
    shm = bmcf->zone ? bmcf->zone->data : NULL;

    if (shm) {
        ngx_atomic_fetch_add(&shm->accepted[ctx->status],
                             (ngx_atomic_int_t) -1);

        if (!report) {
            ngx_atomic_fetch_add(&shm->closed[status], 1);

        } else {
            ngx_atomic_fetch_add(&shm->accepted[status], 1);

            if (beian_allowed(ctx->status, bscf->flags)) {
                ngx_atomic_fetch_add(&shm->would_close, 1);
            }
        }
    }

    ctx->status = status;

    return report ? NGX_OK : NGX_ERROR;
}


/*
 * The checker of every preread handler: nginx's, except that on
 * preread_timeout, where nginx ends the session itself with status 200
 * and no word, a session the gate has no verdict for yet is ended here
 * with 400 and a line in the log that says why (in report mode too: the
 * session ends either way).
 */
static ngx_int_t
ngx_stream_beian_preread_phase(ngx_stream_session_t *s,
    ngx_stream_phase_handler_t *ph)
{
    ngx_connection_t             *c;
    ngx_stream_beian_srv_conf_t  *bscf;

    c = s->connection;

    if (c->read->timedout && c->type == SOCK_STREAM
#if (NGX_STREAM_SSL)
        && c->ssl == NULL
#endif
        && ngx_stream_get_module_ctx(s, ngx_stream_beian_module) == NULL)
    {
        bscf = ngx_stream_get_module_srv_conf(s, ngx_stream_beian_module);

        if (bscf->enable) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "beian: closed connection: no complete "
                          "ClientHello within preread_timeout");
            ngx_stream_finalize_session(s, NGX_STREAM_BAD_REQUEST);
            return NGX_OK;
        }
    }

    return ngx_stream_core_preread_phase(s, ph);
}


static beian_status_t
ngx_stream_beian_verdict(ngx_stream_session_t *s,
    ngx_stream_beian_srv_conf_t *bscf, ngx_str_t *name)
{
    beian_host_t         h;
    beian_match_t        m;
    beian_host_class_t   cls;
    char                 buf[BEIAN_HOST_MAX + 1];

    /* the same rule for a server name as the http TLS gate */
    cls = beian_sni_parse((char *) name->data, name->len, buf, &h);

    if (ngx_beian_exempt_match(&bscf->exempt, (char *) h.name, h.len)) {
        return BEIAN_EXEMPT;
    }

    return beian_match_host(ngx_stream_beian_snapshot(), cls, &h,
                            bscf->flags | BEIAN_MATCH_NO_RECORD, &m);
}


static ngx_int_t
ngx_stream_beian_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data)
{
    ngx_stream_beian_ctx_t       *ctx;
    ngx_stream_beian_srv_conf_t  *bscf;

    bscf = ngx_stream_get_module_srv_conf(s, ngx_stream_beian_module);
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_beian_module);

    if (data == NGX_STREAM_BEIAN_VAR_NAME) {
        /* the server name of the ClientHello that decided the status (the
         * first, or a later one refused), as sent; none, or a malformed
         * one: not found ($ssl_preread_server_name is empty for every
         * connection the gate closed) */
        if (ctx == NULL || ctx->name.len == 0) {
            v->not_found = 1;
            return NGX_OK;
        }

        v->data = ctx->name.data;
        v->len = ctx->name.len;

    } else if (bscf->enable && ctx == NULL) {
        /* no verdict (yet): the client sent no complete ClientHello */
        v->not_found = 1;
        return NGX_OK;

    } else {
        v->data = (u_char *) beian_status_names[ctx ? ctx->status
                                                    : BEIAN_OFF];
        v->len = ngx_strlen(v->data);
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* The name judged, for $beian_server_name: a copy, as the ClientHello's
 * bytes are the worker's scratch. */
static ngx_int_t
ngx_stream_beian_keep_name(ngx_stream_session_t *s,
    ngx_stream_beian_ctx_t *ctx, ngx_str_t *name)
{
    if (name->len == 0) {
        ngx_str_null(&ctx->name);
        return NGX_OK;
    }

    ctx->name.len = ngx_min(name->len, BEIAN_SNI_MAX);
    ctx->name.data = ngx_pnalloc(s->connection->pool, ctx->name.len);
    if (ctx->name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ctx->name.data, name->data, ctx->name.len);

    return NGX_OK;
}


/*
 * The worker's snapshot.  Reopened when the cycle changed under us, which
 * happens only in single-process mode (no new workers on reload).
 */
static beian_snap_t *
ngx_stream_beian_snapshot(void)
{
    ngx_beian_stream_shm_t        *shm;
    ngx_stream_beian_main_conf_t  *bmcf;
    ngx_stream_beian_worker_t     *w = &ngx_stream_beian_worker;

    if (w->cycle != ngx_cycle) {
        w->cycle = (ngx_cycle_t *) ngx_cycle;

        bmcf = ngx_stream_cycle_get_module_main_conf(ngx_cycle,
                                                     ngx_stream_beian_module);
        if (bmcf && bmcf->enabled) {
            shm = bmcf->zone ? bmcf->zone->data : NULL;
            ngx_beian_snap_load((ngx_cycle_t *) ngx_cycle, &bmcf->snapshot,
                                &w->state,
                                shm ? &shm->snap : NULL);
        }
    }

    return w->state.snap;
}


static void
ngx_stream_beian_check_handler(ngx_event_t *ev)
{
    ngx_beian_stream_shm_t        *shm;
    ngx_stream_beian_main_conf_t  *bmcf;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    /* the current cycle's conf: in single-process mode a reload frees ours */
    bmcf = ngx_stream_cycle_get_module_main_conf(ngx_cycle,
                                                 ngx_stream_beian_module);
    if (bmcf == NULL || !bmcf->enabled || bmcf->check == 0) {
        return;
    }

    (void) ngx_stream_beian_snapshot();

    shm = bmcf->zone ? bmcf->zone->data : NULL;
    ngx_beian_snap_load((ngx_cycle_t *) ngx_cycle, &bmcf->snapshot,
                        &ngx_stream_beian_worker.state,
                        shm ? &shm->snap : NULL);

    ngx_add_timer(ev, bmcf->check);
}


static ngx_int_t
ngx_stream_beian_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_slab_pool_t         *shpool;
    ngx_beian_stream_shm_t  *shm;

    if (data) {
        /* reload: keep counting where the old cycle left off */
        zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    shm = ngx_slab_calloc(shpool, sizeof(ngx_beian_stream_shm_t));
    if (shm == NULL) {
        return NGX_ERROR;
    }

    shm->magic = NGX_BEIAN_STREAM_MAGIC;
    zone->data = shm;

    return NGX_OK;
}


static char *
ngx_stream_beian_snapshot_cmd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_beian_main_conf_t  *bmcf = conf;

    return ngx_beian_snap_parse(cf, &bmcf->snapshot);
}


static char *
ngx_stream_beian_check_cmd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_beian_main_conf_t  *bmcf = conf;

    return ngx_beian_check_parse(cf, cmd, &bmcf->check);
}


static char *
ngx_stream_beian_exempt_cmd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_beian_srv_conf_t  *bscf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_beian_exempt_add(cf, &bscf->exempt, &value[i], &cmd->name)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_stream_beian_add_variables(ngx_conf_t *cf)
{
    ngx_stream_variable_t  *var, *v;

    for (v = ngx_stream_beian_vars; v->name.len; v++) {
        var = ngx_stream_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_stream_beian_create_main_conf(ngx_conf_t *cf)
{
    ngx_stream_beian_main_conf_t  *bmcf;

    bmcf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_beian_main_conf_t));
    if (bmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     bmcf->snapshot.path = { 0, NULL };
     *     bmcf->snapshot.if_missing_block = 0;
     *     bmcf->enabled = 0;
     *     bmcf->zone = NULL;
     */

    bmcf->check = NGX_CONF_UNSET_MSEC;
    bmcf->snapshot.copy = NGX_INVALID_FILE;

    return bmcf;
}


static void *
ngx_stream_beian_create_srv_conf(ngx_conf_t *cf)
{
    ngx_stream_beian_srv_conf_t  *bscf;

    bscf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_beian_srv_conf_t));
    if (bscf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     bscf->exempt = { NULL, NULL };
     *     bscf->flags = 0;
     */

    bscf->enable = NGX_CONF_UNSET;
    bscf->mode = NGX_CONF_UNSET_UINT;
    bscf->subdomains = NGX_CONF_UNSET;
    bscf->ip_host = NGX_CONF_UNSET_UINT;

    return bscf;
}


static char *
ngx_stream_beian_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_stream_beian_srv_conf_t  *prev = parent;
    ngx_stream_beian_srv_conf_t  *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_uint_value(conf->mode, prev->mode,
                              NGX_STREAM_BEIAN_ENFORCE);
    ngx_conf_merge_value(conf->subdomains, prev->subdomains, 1);
    ngx_conf_merge_uint_value(conf->ip_host, prev->ip_host,
                              NGX_STREAM_BEIAN_IP_ALLOW);

    ngx_beian_exempt_merge(&conf->exempt, &prev->exempt);

    conf->flags = (conf->subdomains ? BEIAN_MATCH_SUBDOMAINS : 0)
                  | (conf->ip_host == NGX_STREAM_BEIAN_IP_BLOCK
                     ? BEIAN_MATCH_IP_BLOCK : 0);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_stream_beian_init(ngx_conf_t *cf)
{
    ngx_uint_t                      i, enabled;
    ngx_stream_handler_pt          *h;
    ngx_beian_stream_shm_t         *running;
    ngx_stream_core_srv_conf_t    **cscfp;
    ngx_stream_core_main_conf_t    *cmcf;
    ngx_stream_beian_srv_conf_t    *bscf;
    ngx_stream_beian_main_conf_t   *bmcf;

    cmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_core_module);
    bmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_beian_module);

    ngx_conf_init_msec_value(bmcf->check, 0);

    enabled = 0;
    cscfp = cmcf->servers.elts;

    for (i = 0; i < cmcf->servers.nelts; i++) {
        bscf = cscfp[i]->ctx->srv_conf[ngx_stream_beian_module.ctx_index];
        if (bscf->enable) {
            enabled = 1;
            break;
        }
    }

    if (!enabled) {
        /* nothing to check: no phase handler, no snapshot, no cost */
        return NGX_OK;
    }

    bmcf->enabled = 1;

    bmcf->zone = ngx_shared_memory_add(cf, &ngx_stream_beian_zone_name,
                                       8 * ngx_pagesize,
                                       &ngx_stream_beian_module);
    if (bmcf->zone == NULL) {
        return NGX_ERROR;
    }

    bmcf->zone->init = ngx_stream_beian_init_zone;

    if (bmcf->snapshot.path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"beian\" is on but \"beian_snapshot\" is not set "
                           "in \"stream\"");
        return NGX_ERROR;
    }

    /* a bad snapshot fails nginx -t and the reload; workers keep theirs */
    if (ngx_beian_snap_validate(cf, &bmcf->snapshot) != NGX_OK) {
        running = ngx_beian_stream_zone();
        if (running) {
            ngx_atomic_fetch_add(&running->snap.reload_failures, 1);
        }
        return NGX_ERROR;
    }

    h = ngx_array_push(&cmcf->phases[NGX_STREAM_PREREAD_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_stream_beian_handler;

    ngx_stream_next_filter = ngx_stream_top_filter;
    ngx_stream_top_filter = ngx_stream_beian_filter;

    return NGX_OK;
}


/* The phase engine exists now: give every preread handler our checker. */
static ngx_int_t
ngx_stream_beian_init_module(ngx_cycle_t *cycle)
{
    ngx_stream_phase_handler_t    *ph;
    ngx_stream_core_main_conf_t   *cmcf;
    ngx_stream_beian_main_conf_t  *bmcf;

    if (cycle->conf_ctx[ngx_stream_module.index] == NULL) {
        return NGX_OK;
    }

    bmcf = ngx_stream_cycle_get_module_main_conf(cycle,
                                                 ngx_stream_beian_module);
    cmcf = ngx_stream_cycle_get_module_main_conf(cycle, ngx_stream_core_module);

    if (bmcf == NULL || !bmcf->enabled || cmcf == NULL) {
        return NGX_OK;
    }

    for (ph = cmcf->phase_engine.handlers; ph->checker; ph++) {
        if (ph->checker == ngx_stream_core_preread_phase) {
            ph->checker = ngx_stream_beian_preread_phase;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_stream_beian_init_process(ngx_cycle_t *cycle)
{
    ngx_beian_stream_shm_t        *shm;
    ngx_stream_beian_main_conf_t  *bmcf;
    ngx_stream_beian_worker_t     *w = &ngx_stream_beian_worker;

    if (cycle->conf_ctx[ngx_stream_module.index] == NULL) {
        return NGX_OK;
    }

    bmcf = ngx_stream_cycle_get_module_main_conf(cycle,
                                                 ngx_stream_beian_module);

    ngx_beian_snap_drop_copies(bmcf ? &bmcf->snapshot : NULL);

    if (bmcf == NULL || !bmcf->enabled) {
        return NGX_OK;
    }

    /* never fail here: that would kill the worker for good */
    w->cycle = cycle;
    shm = bmcf->zone ? bmcf->zone->data : NULL;
    ngx_beian_snap_load(cycle, &bmcf->snapshot, &w->state,
                        shm ? &shm->snap : NULL);

    if (bmcf->check) {
        w->timer.handler = ngx_stream_beian_check_handler;
        w->timer.data = &ngx_stream_beian_timer_conn;
        w->timer.log = cycle->log;
        w->timer.cancelable = 1;
        ngx_add_timer(&w->timer, bmcf->check);
    }

    return NGX_OK;
}


static void
ngx_stream_beian_exit_process(ngx_cycle_t *cycle)
{
    beian_snap_close(ngx_stream_beian_worker.state.snap);
    ngx_stream_beian_worker.state.snap = NULL;
}
