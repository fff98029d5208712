/*
 * ngx_http_beian_module: serve only hosts whose domain is ICP-filed and
 * access-registered for this instance, as listed in an LMDB snapshot
 * written by beian-sync.  The matching rule lives in core/ (beian.h).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "beian.h"
#include "topk.h"
#include "ngx_http_beian_page.h"
#include "version.h"
#include "ngx_beian_common.h"
#include "ngx_http_beian_ssl.h"


#define NGX_HTTP_BEIAN_ENFORCE    0
#define NGX_HTTP_BEIAN_REPORT     1

#define NGX_HTTP_BEIAN_IP_ALLOW   0
#define NGX_HTTP_BEIAN_IP_BLOCK   1

#define NGX_HTTP_BEIAN_PAGE_MAX   (1024 * 1024)
#define NGX_HTTP_BEIAN_TOP_DEFAULT 64


/* Shared by all workers (and kept across reloads): the metrics. */
typedef struct {
    ngx_atomic_t                requests[BEIAN_NSTATUS];
    ngx_atomic_t                blocked;
    ngx_atomic_t                would_block;
    ngx_beian_snap_stats_t      snap;
    ngx_atomic_t                tls_rejected;
    ngx_atomic_t                tls_would_reject;
} ngx_http_beian_shm_t;


typedef struct {
    ngx_beian_snap_conf_t       snapshot;         /* and the master's copy */
    ngx_msec_t                  check;
    ngx_flag_t                  metrics;
    ngx_flag_t                  enabled;          /* in some server */
    ngx_shm_zone_t             *zone;
    ngx_uint_t                  top;              /* beian_top_blocked */
    ngx_shm_zone_t             *top_zone;
    ngx_http_beian_page_t      *builtin;
    ngx_int_t                   slot;             /* the verdict's variable */
} ngx_http_beian_main_conf_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_uint_t                  mode;
    ngx_uint_t                  status;
    ngx_flag_t                  subdomains;
    ngx_uint_t                  ip_host;
    ngx_beian_exempt_t          exempt;
    ngx_http_beian_page_t      *page;             /* NULL: the built-in */
    ngx_http_complex_value_t   *redirect;
    ngx_uint_t                  flags;            /* BEIAN_MATCH_* */
    ngx_flag_t                  tls;
    unsigned                    allow;            /* beian_allow_mask() */
    ngx_int_t                   slot;             /* the main conf's, at
                                                     hand */
} ngx_http_beian_srv_conf_t;


/* Whether the server lets a verdict through (core/beian.h's rule). */
#define ngx_http_beian_allows(bscf, status)                                  \
    (((bscf)->allow >> (status)) & 1)


/*
 * The verdict on a main request, kept for its life.  Internal redirects
 * clear module ctxs but not the request's variables, so it is kept in the
 * value of a hidden indexed variable (ngx_http_beian_get_ctx()): no
 * allocation, one load to find it again.
 */
typedef struct {
    beian_status_t              status;
    ngx_str_t                   host;             /* the name refused, if
                                                     not the one resolved */
    ngx_str_t                   domain;           /* filed: read on first */
    ngx_str_t                   icp;              /* use of a variable */
} ngx_http_beian_ctx_t;


/*
 * A verdict's ctx while it holds nothing but the status: one per status,
 * shared and never written, so that a verdict allocates nothing.  A filed
 * one gives way to a ctx of its own (ngx_http_beian_matched()) only when
 * a variable asks for the domain or the ICP number.
 */
static ngx_http_beian_ctx_t  ngx_http_beian_verdicts[BEIAN_NSTATUS] = {
    { BEIAN_FILED, ngx_null_string, ngx_null_string, ngx_null_string },
    { BEIAN_UNFILED, ngx_null_string, ngx_null_string, ngx_null_string },
    { BEIAN_EXEMPT, ngx_null_string, ngx_null_string, ngx_null_string },
    { BEIAN_IP, ngx_null_string, ngx_null_string, ngx_null_string },
    { BEIAN_NOHOST, ngx_null_string, ngx_null_string, ngx_null_string },
    { BEIAN_OFF, ngx_null_string, ngx_null_string, ngx_null_string }
};


/*
 * Per-process state.  LMDB forbids carrying an env across fork(), so each
 * worker opens its own in init_process; the master only validates.
 */
typedef struct {
    ngx_cycle_t                *cycle;
    ngx_beian_snap_state_t      state;
    ngx_event_t                 timer;
    ngx_http_beian_shm_t       *shm;              /* the metrics, if any */
    ngx_shm_zone_t             *top;              /* the top-K table, if any */
} ngx_http_beian_worker_t;


static ngx_beian_hot ngx_int_t ngx_http_beian_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_beian_checker(ngx_http_request_t *r,
    ngx_http_phase_handler_t *ph);
static ngx_beian_hot ngx_int_t ngx_http_beian_answered(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_beian_hot ngx_int_t ngx_http_beian_next(ngx_http_request_t *r,
    ngx_http_phase_handler_t *ph);
static ngx_beian_hot void ngx_http_beian_count_off(void);
static ngx_beian_hot ngx_int_t ngx_http_beian_gate(ngx_http_request_t *r,
    ngx_http_beian_srv_conf_t *bscf);
static ngx_int_t ngx_http_beian_gate_host(ngx_http_request_t *r,
    ngx_http_beian_srv_conf_t *bscf, beian_verdict_t v);
static ngx_int_t ngx_http_beian_late_server(ngx_http_request_t *r,
    ngx_http_phase_handler_t *ph);
static ngx_int_t ngx_http_beian_late_location(ngx_http_request_t *r,
    ngx_http_phase_handler_t *ph);
static ngx_int_t ngx_http_beian_late(ngx_http_request_t *r);
static ngx_beian_hot ngx_int_t ngx_http_beian_enforce(ngx_http_request_t *r,
    ngx_http_beian_srv_conf_t *bscf, ngx_http_beian_ctx_t *ctx,
    const char *norm, size_t norm_len);
static void ngx_http_beian_refused(ngx_http_request_t *r,
    ngx_http_beian_srv_conf_t *bscf, ngx_http_beian_ctx_t *ctx,
    const char *norm, size_t norm_len);
static ngx_beian_hot ngx_int_t ngx_http_beian_account(ngx_http_request_t *r,
    ngx_http_beian_srv_conf_t *bscf, ngx_http_beian_ctx_t *ctx,
    const char *norm, size_t norm_len);
static ngx_int_t ngx_http_beian_header_filter(ngx_http_request_t *r);
static ngx_inline ngx_http_beian_ctx_t *ngx_http_beian_get_ctx(
    ngx_http_request_t *r, ngx_http_beian_srv_conf_t *bscf);
static ngx_beian_hot ngx_http_beian_ctx_t *ngx_http_beian_set_ctx(
    ngx_http_request_t *r, ngx_http_beian_srv_conf_t *bscf,
    ngx_http_beian_ctx_t *ctx);
static ngx_str_t *ngx_http_beian_ctx_host(ngx_http_request_t *r,
    ngx_http_beian_ctx_t *ctx);
static ngx_int_t ngx_http_beian_finish(ngx_http_request_t *r,
    ngx_http_beian_srv_conf_t *bscf, ngx_http_beian_ctx_t *ctx);
static ngx_http_beian_ctx_t *ngx_http_beian_verdict(ngx_http_request_t *r);
static ngx_http_beian_ctx_t *ngx_http_beian_late_verdict(
    ngx_http_request_t *r);
static ngx_http_beian_ctx_t *ngx_http_beian_refuse_host(
    ngx_http_request_t *mr, ngx_http_beian_srv_conf_t *bscf,
    beian_status_t hs, ngx_str_t *value);
static ngx_http_beian_ctx_t *ngx_http_beian_decided(ngx_http_request_t *mr,
    ngx_http_beian_srv_conf_t *bscf, beian_verdict_t v);
static ngx_http_beian_ctx_t *ngx_http_beian_host_verdict(
    ngx_http_request_t *mr, ngx_http_beian_srv_conf_t *bscf,
    beian_verdict_t v);
static ngx_http_beian_ctx_t *ngx_http_beian_matched(ngx_http_request_t *r);
static beian_status_t ngx_http_beian_judge(ngx_http_beian_srv_conf_t *bscf,
    beian_host_class_t cls, beian_host_t *h);
static ngx_beian_hot beian_verdict_t ngx_http_beian_judge_server(
    ngx_http_beian_srv_conf_t *bscf, u_char *host, size_t len, char *buf);
static beian_verdict_t ngx_http_beian_judge_exempt(
    ngx_http_beian_srv_conf_t *bscf, u_char *host, size_t len, char *buf);
static ngx_int_t ngx_http_beian_block(ngx_http_request_t *r,
    ngx_http_beian_srv_conf_t *bscf, ngx_http_beian_ctx_t *ctx);
static void ngx_http_beian_top_add(ngx_http_request_t *r,
    ngx_shm_zone_t *zone, ngx_http_beian_ctx_t *ctx, const char *norm,
    size_t norm_len);
static ngx_int_t ngx_http_beian_metrics_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_beian_slot_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_beian_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_beian_hot beian_snap_t *ngx_http_beian_snapshot(void);
static void ngx_http_beian_new_cycle(void);
static void ngx_http_beian_load(ngx_cycle_t *cycle,
    ngx_http_beian_main_conf_t *bmcf);
static void ngx_http_beian_check_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_beian_init_zone(ngx_shm_zone_t *zone, void *data);

static char *ngx_http_beian_snapshot_cmd(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_beian_check_cmd(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_beian_status_cmd(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_beian_page_cmd(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_beian_redirect_cmd(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_beian_top_cmd(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_beian_exempt_cmd(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_beian_metrics_cmd(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

static ngx_int_t ngx_http_beian_add_variables(ngx_conf_t *cf);
static void *ngx_http_beian_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_beian_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_beian_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_beian_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_beian_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_beian_init_process(ngx_cycle_t *cycle);
static void ngx_http_beian_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_beian_modes[] = {
    { ngx_string("enforce"), NGX_HTTP_BEIAN_ENFORCE },
    { ngx_string("report"), NGX_HTTP_BEIAN_REPORT },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_beian_ip_hosts[] = {
    { ngx_string("allow"), NGX_HTTP_BEIAN_IP_ALLOW },
    { ngx_string("block"), NGX_HTTP_BEIAN_IP_BLOCK },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_beian_commands[] = {

    { ngx_string("beian"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_beian_srv_conf_t, enable),
      NULL },

    { ngx_string("beian_snapshot"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_beian_snapshot_cmd,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("beian_snapshot_check"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_beian_check_cmd,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("beian_mode"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_beian_srv_conf_t, mode),
      &ngx_http_beian_modes },

    { ngx_string("beian_block_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_http_beian_status_cmd,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("beian_block_page"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_http_beian_page_cmd,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("beian_block_redirect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_http_beian_redirect_cmd,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("beian_top_blocked"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_beian_top_cmd,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("beian_subdomains"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_beian_srv_conf_t, subdomains),
      NULL },

    { ngx_string("beian_ip_host"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_beian_srv_conf_t, ip_host),
      &ngx_http_beian_ip_hosts },

    { ngx_string("beian_exempt_host"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_1MORE,
      ngx_http_beian_exempt_cmd,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("beian_tls"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_beian_srv_conf_t, tls),
      NULL },

    { ngx_string("beian_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_beian_metrics_cmd,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_beian_module_ctx = {
    ngx_http_beian_add_variables,          /* preconfiguration */
    ngx_http_beian_init,                   /* postconfiguration */

    ngx_http_beian_create_main_conf,       /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_http_beian_create_srv_conf,        /* create server configuration */
    ngx_http_beian_merge_srv_conf,         /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_beian_module = {
    NGX_MODULE_V1,
    &ngx_http_beian_module_ctx,            /* module context */
    ngx_http_beian_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_beian_init_module,            /* init module */
    ngx_http_beian_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_beian_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_beian_vars[] = {

    { ngx_string("beian_status"), NULL, ngx_http_beian_variable,
      0, 0, 0 },

    { ngx_string("beian_icp"), NULL, ngx_http_beian_variable,
      1, 0, 0 },

    { ngx_string("beian_domain"), NULL, ngx_http_beian_variable,
      2, 0, 0 },

    { ngx_string("beian_blocked"), NULL, ngx_http_beian_variable,
      3, 0, 0 },

    { ngx_string("beian_host_arg"), NULL, ngx_http_beian_variable,
      4, 0, 0 },

    /* where the verdict is kept; reads as nothing */
    { ngx_string("beian_verdict_slot"), NULL, ngx_http_beian_slot_variable,
      0, NGX_HTTP_VAR_NOHASH, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_beian_zone_name = ngx_string("beian_metrics");
static ngx_str_t  ngx_http_beian_slot_name = ngx_string("beian_verdict_slot");

static ngx_http_beian_worker_t  ngx_http_beian_worker;

/* The POST_READ check's room for a host it must rewrite (a worker runs
 * one request's check at a time). */
static char  ngx_http_beian_buf[BEIAN_HOST_MAX + 1];

static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;

/* The checkers ngx_http_beian_late_server() and _location() wrap: nginx's
 * own for those entries, the same in every cycle of a binary. */
static ngx_http_phase_handler_pt  ngx_http_beian_server_entry;
static ngx_http_phase_handler_pt  ngx_http_beian_location_entry;

/* timer events log their data as a connection: give them a harmless one */
static ngx_connection_t  ngx_http_beian_timer_conn = {
    .fd = (ngx_socket_t) -1
};


/*
 * POST_READ: every request, before any rewrite, return or content; it
 * runs once, for the main request, so it judges without looking for an
 * earlier verdict.  The entry's checker is ngx_http_beian_checker() once
 * the phase engine is built; this is the handler should it keep nginx's.
 */
static ngx_beian_hot ngx_int_t
ngx_http_beian_handler(ngx_http_request_t *r)
{
    ngx_http_beian_srv_conf_t  *bscf;

    bscf = ngx_http_get_module_srv_conf(r, ngx_http_beian_module);

    if (!bscf->enable) {
        ngx_http_beian_count_off();
        return NGX_DECLINED;
    }

    return ngx_http_beian_gate(r, bscf);
}


/*
 * The checker of the handler's POST_READ entry (ngx_http_beian_init_module())
 * with the handler in it: what nginx's generic checker does with what the
 * handler returns, without the call through the entry; a request that goes
 * on goes straight to the next entry's checker.
 */
static ngx_int_t
ngx_http_beian_checker(ngx_http_request_t *r, ngx_http_phase_handler_t *ph)
{
    if (ngx_http_beian_answered(r, ngx_http_beian_handler(r))) {
        return NGX_OK;
    }

    return ngx_http_beian_next(r, ph);
}


/*
 * What a checker does with a handler's rc: NGX_DECLINED goes on (0);
 * anything else answered the request (1), finalized here unless the
 * handler did (NGX_DONE).
 */
static ngx_beian_hot ngx_int_t
ngx_http_beian_answered(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc == NGX_DECLINED) {
        return 0;
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }

    return 1;
}


/* A request in a server with the gate off, in the metrics as "off". */
static ngx_beian_hot void
ngx_http_beian_count_off(void)
{
    if (ngx_http_beian_worker.shm) {
        ngx_atomic_fetch_add(&ngx_http_beian_worker.shm->requests[BEIAN_OFF],
                             1);
    }
}


/*
 * On to the entry after ph, as the engine would go after NGX_AGAIN, but
 * without going back to its loop.  The engine's last entry is followed
 * by a NULL checker.
 */
static ngx_beian_hot ngx_int_t
ngx_http_beian_next(ngx_http_request_t *r, ngx_http_phase_handler_t *ph)
{
    r->phase_handler++;
    ph++;

    return ph->checker ? ph->checker(r, ph) : NGX_AGAIN;
}


/*
 * The verdict on a main request as it arrives, kept, counted and acted
 * on; what every request pays is here, inline.  The host nginx resolved
 * (the absolute-URI host wins over Host, :authority likewise; nginx has
 * normalized it) is judged in place.  A request allowed whose Host header
 * names something else takes ngx_http_beian_gate_host().  NGX_DECLINED:
 * go on; else as a handler's return.
 */
static ngx_beian_hot ngx_int_t
ngx_http_beian_gate(ngx_http_request_t *r, ngx_http_beian_srv_conf_t *bscf)
{
    ngx_str_t             *server;
    beian_verdict_t        v;
    ngx_table_elt_t       *host;
    ngx_http_beian_ctx_t  *ctx;

    server = &r->headers_in.server;
    v = ngx_http_beian_judge_server(bscf, server->data, server->len,
                                  ngx_http_beian_buf);
    host = r->headers_in.host;

    if (host != NULL
        && (host->value.data != server->data
            || host->value.len != server->len)
        && ngx_http_beian_allows(bscf, v.status))
    {
        return ngx_http_beian_gate_host(r, bscf, v);
    }

    ctx = ngx_http_beian_set_ctx(r, bscf, &ngx_http_beian_verdicts[v.status]);

    return ngx_http_beian_enforce(r, bscf, ctx, v.name, v.len);
}


/* ngx_http_beian_gate() for a Host header of its own: judged too. */
static ngx_beian_noinline ngx_int_t
ngx_http_beian_gate_host(ngx_http_request_t *r,
    ngx_http_beian_srv_conf_t *bscf, beian_verdict_t v)
{
    ngx_http_beian_ctx_t  *ctx;

    ctx = ngx_http_beian_decided(r, bscf, v);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the name judged, for the top-K table: none if the Host header's */
    return ngx_http_beian_enforce(r, bscf, ctx,
                                  ctx->host.data ? NULL : v.name, v.len);
}


/*
 * A request nginx finalized itself before POST_READ (a bad request line
 * or Host, headers too large, a timeout) and then sent through error_page
 * to a URI or a named location never passed the check above.  Internal
 * redirects start at the engine's server_rewrite_index, named locations
 * at its location_rewrite_index; the checkers of those two entries,
 * whatever they are, are wrapped (ngx_http_beian_init_module()) so that
 * such a request is judged there, once (ngx_http_beian_late_verdict()).
 * Every other request goes on to the entry's own checker at the cost of a
 * test: no entry of the gate's own for it to pass.
 */
static ngx_int_t
ngx_http_beian_late_server(ngx_http_request_t *r, ngx_http_phase_handler_t *ph)
{
    if (r->internal && ngx_http_beian_late(r) == NGX_OK) {
        return NGX_OK;
    }

    return ngx_http_beian_server_entry(r, ph);
}


static ngx_int_t
ngx_http_beian_late_location(ngx_http_request_t *r,
    ngx_http_phase_handler_t *ph)
{
    if (r->internal && ngx_http_beian_late(r) == NGX_OK) {
        return NGX_OK;
    }

    return ngx_http_beian_location_entry(r, ph);
}


/* The late check of an internal request: NGX_DECLINED to go on, NGX_OK
 * when it was answered here. */
static ngx_beian_noinline ngx_int_t
ngx_http_beian_late(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_http_beian_ctx_t       *ctx;
    ngx_http_beian_srv_conf_t  *bscf;

    bscf = ngx_http_get_module_srv_conf(r, ngx_http_beian_module);

    if (r != r->main || !bscf->enable) {
        return NGX_DECLINED;
    }

    /* a main request's first pass was judged in POST_READ */
    ctx = ngx_http_beian_get_ctx(r, bscf);

    if (ctx != NULL) {

        /*
         * post_action runs after the response, whatever it was: for a
         * request answered with the block it ends here, as after a
         * "return 403", and the site's backend never hears of it
         */
        if (r->post_action && !ngx_http_beian_allows(bscf, ctx->status)
            && bscf->mode == NGX_HTTP_BEIAN_ENFORCE)
        {
            ngx_http_finalize_request(r, NGX_HTTP_FORBIDDEN);
            return NGX_OK;
        }

        return NGX_DECLINED;
    }

    ctx = ngx_http_beian_late_verdict(r);

    rc = (ctx == NULL) ? NGX_HTTP_INTERNAL_SERVER_ERROR
                       : ngx_http_beian_enforce(r, bscf, ctx, NULL, 0);

    return ngx_http_beian_answered(r, rc) ? NGX_OK : NGX_DECLINED;
}


/*
 * Counts the verdict and blocks, logs or lets the request go on.  norm:
 * the name judged as normalized, if the caller has it (NULL: the top-K
 * table normalizes it again).
 */
static ngx_beian_hot ngx_int_t
ngx_http_beian_enforce(ngx_http_request_t *r, ngx_http_beian_srv_conf_t *bscf,
    ngx_http_beian_ctx_t *ctx, const char *norm, size_t norm_len)
{
    if (ngx_http_beian_account(r, bscf, ctx, norm, norm_len) != NGX_OK) {
        return NGX_DECLINED;
    }

    return ngx_http_beian_finish(r, bscf, ctx);
}


/*
 * We answer here and finish the request ourselves: returning the status
 * would run error_page, which could serve the site's own content.
 */
static ngx_beian_noinline ngx_int_t
ngx_http_beian_finish(ngx_http_request_t *r, ngx_http_beian_srv_conf_t *bscf,
    ngx_http_beian_ctx_t *ctx)
{
    ngx_http_finalize_request(r, ngx_http_beian_block(r, bscf, ctx));

    return NGX_DONE;
}


/*
 * Counts a verdict, feeds the top-K table and logs what is not allowed.
 * NGX_OK: block the request; NGX_DECLINED: let it go on (allowed, or
 * report mode).  The counters are inline; the table and the log line,
 * when there are any, are not.
 */
static ngx_beian_hot ngx_int_t
ngx_http_beian_account(ngx_http_request_t *r, ngx_http_beian_srv_conf_t *bscf,
    ngx_http_beian_ctx_t *ctx, const char *norm, size_t norm_len)
{
    beian_status_t         status;
    ngx_http_beian_shm_t  *shm;

    status = ctx->status;
    shm = ngx_http_beian_worker.shm;

    if (shm) {
        ngx_atomic_fetch_add(&shm->requests[status], 1);
    }

    if (ngx_http_beian_allows(bscf, status)) {
        return NGX_DECLINED;
    }

    if (ngx_http_beian_worker.top != NULL
        || r->connection->log->log_level >= NGX_LOG_INFO)
    {
        ngx_http_beian_refused(r, bscf, ctx, norm, norm_len);
    }

    if (bscf->mode == NGX_HTTP_BEIAN_REPORT) {
        if (shm) {
            ngx_atomic_fetch_add(&shm->would_block, 1);
        }

        return NGX_DECLINED;
    }

    if (shm) {
        ngx_atomic_fetch_add(&shm->blocked, 1);
    }

    return NGX_OK;
}


/* A name not allowed: into the top-K table, and the log. */
static ngx_beian_noinline void
ngx_http_beian_refused(ngx_http_request_t *r, ngx_http_beian_srv_conf_t *bscf,
    ngx_http_beian_ctx_t *ctx, const char *norm, size_t norm_len)
{
    if (ngx_http_beian_worker.top != NULL) {
        ngx_http_beian_top_add(r, ngx_http_beian_worker.top, ctx, norm,
                               norm_len);
    }

    if (bscf->mode == NGX_HTTP_BEIAN_REPORT) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "beian: would block %s host \"%V\" (report mode)",
                      beian_status_names[ctx->status],
                      ngx_http_beian_ctx_host(r, ctx));
        return;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "beian: blocked %s host \"%V\"",
                  beian_status_names[ctx->status],
                  ngx_http_beian_ctx_host(r, ctx));
}


/*
 * A redirect nginx sends itself, for a request it finalized before the
 * gate ran: error_page 400 (414, 494, ...) with an absolute URL never
 * reaches a phase handler.  Such a response is judged here, and for a
 * name that is not allowed it loses its Location and body: the block
 * status, no-store, nothing else.
 */
static ngx_int_t
ngx_http_beian_header_filter(ngx_http_request_t *r)
{
    ngx_http_beian_ctx_t       *ctx;
    ngx_http_beian_srv_conf_t  *bscf;

    if (r != r->main || r->headers_out.location == NULL) {
        return ngx_http_next_header_filter(r);
    }

    bscf = ngx_http_get_module_srv_conf(r, ngx_http_beian_module);

    if (!bscf->enable || ngx_http_beian_get_ctx(r, bscf) != NULL) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_beian_late_verdict(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_beian_account(r, bscf, ctx, NULL, 0) != NGX_OK) {
        return ngx_http_next_header_filter(r);
    }

    r->headers_out.location->hash = 0;
    r->headers_out.location = NULL;

    r->headers_out.status = (bscf->status == NGX_HTTP_CLOSE)
                            ? NGX_HTTP_FORBIDDEN : bscf->status;
    r->headers_out.status_line.len = 0;
    r->headers_out.content_length_n = 0;
    r->headers_out.content_type.len = 0;
    r->header_only = 1;
    r->keepalive = 0;

    if (ngx_http_beian_no_store(r) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


/* The verdict on the main request so far, or NULL.  bscf: any server's
 * of the request's http block (they share the slot). */
static ngx_inline ngx_http_beian_ctx_t *
ngx_http_beian_get_ctx(ngx_http_request_t *r, ngx_http_beian_srv_conf_t *bscf)
{
    return (ngx_http_beian_ctx_t *) r->main->variables[bscf->slot].data;
}


/*
 * Keeps ctx as the verdict: the slot's value, valid and cacheable so that
 * nginx never asks its handler again; its length 0, so that the variable,
 * should a configuration name it, reads as an empty string.
 */
static ngx_beian_hot ngx_http_beian_ctx_t *
ngx_http_beian_set_ctx(ngx_http_request_t *r, ngx_http_beian_srv_conf_t *bscf,
    ngx_http_beian_ctx_t *ctx)
{
    ngx_http_variable_value_t  *v;

    v = &r->main->variables[bscf->slot];

    v->data = (u_char *) ctx;
    v->len = 0;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->escape = 0;

    return ctx;
}


/* The slot asked for before a verdict: nothing yet. */
static ngx_int_t
ngx_http_beian_slot_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    v->data = NULL;
    v->len = 0;
    v->not_found = 1;

    return NGX_OK;
}


/*
 * One host against the snapshot, as the server's settings say: exempt
 * names and regexes first, then the match, the verdict only (the record is
 * looked up again if a variable ever asks for it).
 */
static beian_status_t
ngx_http_beian_judge(ngx_http_beian_srv_conf_t *bscf, beian_host_class_t cls,
    beian_host_t *h)
{
    beian_match_t  m;

    if (ngx_beian_exempt_match(&bscf->exempt, (char *) h->name, h->len)) {
        return BEIAN_EXEMPT;
    }

    return beian_match_host(ngx_http_beian_snapshot(), cls, h,
                            bscf->flags | BEIAN_MATCH_NO_RECORD, &m);
}


/*
 * The same for the host nginx resolved (headers_in.server, in the form
 * ngx_http_validate_host() leaves it: BEIAN_MATCH_CLEAN), with the name
 * judged: in one call to the core (beian_host_verdict()) when the server
 * exempts nothing.  buf: BEIAN_HOST_MAX + 1 bytes, should the host need
 * rewriting.
 */
static ngx_beian_hot beian_verdict_t
ngx_http_beian_judge_server(ngx_http_beian_srv_conf_t *bscf, u_char *host,
    size_t len, char *buf)
{
    if (bscf->exempt.names != NULL
#if (NGX_PCRE)
        || bscf->exempt.regex != NULL
#endif
       )
    {
        return ngx_http_beian_judge_exempt(bscf, host, len, buf);
    }

    return beian_host_verdict(ngx_http_beian_snapshot(), (char *) host, len,
                              bscf->flags | BEIAN_MATCH_CLEAN, buf);
}


static ngx_beian_noinline beian_verdict_t
ngx_http_beian_judge_exempt(ngx_http_beian_srv_conf_t *bscf, u_char *host,
    size_t len, char *buf)
{
    beian_host_t        h;
    beian_verdict_t     v;
    beian_host_class_t  cls;

    cls = beian_host_parse((char *) host, len, buf, &h);

    v.status = ngx_http_beian_judge(bscf, cls, &h);
    v.name = (cls == BEIAN_HOST_INVALID) ? NULL : h.name;
    v.len = (uint32_t) h.len;

    return v;
}


/*
 * The verdict for the main request, computed once and kept for its life
 * (ngx_http_beian_gate() and ngx_http_beian_decided() for the rule).  A
 * verdict about the resolved host is one of the shared, read-only ctxs:
 * nothing is allocated.
 */
static ngx_http_beian_ctx_t *
ngx_http_beian_verdict(ngx_http_request_t *r)
{
    ngx_str_t                  *server;
    ngx_http_request_t         *mr;
    ngx_http_beian_ctx_t       *ctx;
    ngx_http_beian_srv_conf_t  *bscf;
    char                        buf[BEIAN_HOST_MAX + 1];

    mr = r->main;

    bscf = ngx_http_get_module_srv_conf(mr, ngx_http_beian_module);

    ctx = ngx_http_beian_get_ctx(mr, bscf);
    if (ctx) {
        return ctx;
    }

    if (!bscf->enable) {
        return ngx_http_beian_set_ctx(mr, bscf,
                                      &ngx_http_beian_verdicts[BEIAN_OFF]);
    }

    server = &mr->headers_in.server;

    return ngx_http_beian_decided(mr, bscf,
                                  ngx_http_beian_judge_server(bscf,
                                      server->data, server->len, buf));
}


/*
 * The verdict on a request nginx finalized before POST_READ: its host may
 * be unknown (nginx gave up before reading it), and then it is blocked,
 * whatever beian_ip_host says, for no name can be shown to be filed; and
 * every Host header it sent is judged, not only the one nginx kept.
 */
static ngx_http_beian_ctx_t *
ngx_http_beian_late_verdict(ngx_http_request_t *r)
{
    ngx_uint_t                  i;
    beian_host_t                h;
    beian_status_t              hs;
    ngx_list_part_t            *part;
    ngx_table_elt_t            *e;
    beian_host_class_t          cls;
    ngx_http_request_t         *mr;
    ngx_http_beian_ctx_t       *ctx;
    ngx_http_beian_srv_conf_t  *bscf;
    char                        buf[BEIAN_HOST_MAX + 1];

    mr = r->main;

    ctx = ngx_http_beian_verdict(mr);
    if (ctx == NULL) {
        return NULL;
    }

    bscf = ngx_http_get_module_srv_conf(mr, ngx_http_beian_module);

    if (ctx->status == BEIAN_NOHOST) {
        return ngx_http_beian_set_ctx(mr, bscf,
                                  &ngx_http_beian_verdicts[BEIAN_UNFILED]);
    }

    if (!ngx_http_beian_allows(bscf, ctx->status)) {
        return ctx;
    }

    /*
     * nginx refuses a second Host header (400) and keeps the first: every
     * one sent is judged here, so that a filed first one does not carry
     * the others through error_page
     */
    part = &mr->headers_in.headers.part;
    e = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            e = part->elts;
            i = 0;
        }

        if (e[i].key.len != 4
            || ngx_strncasecmp(e[i].key.data, (u_char *) "host", 4) != 0)
        {
            continue;
        }

        cls = beian_host_parse((char *) e[i].value.data, e[i].value.len, buf,
                               &h);
        hs = ngx_http_beian_judge(bscf, cls, &h);

        if (!ngx_http_beian_allows(bscf, hs)) {
            return ngx_http_beian_refuse_host(mr, bscf, hs, &e[i].value);
        }
    }

    return ctx;
}


/*
 * The verdict on a main request whose resolved host's verdict is v.
 * Every name the request carries is judged: the host nginx resolved and,
 * when it names something else, the Host header itself, which
 * "proxy_set_header Host $http_host" would pass on.  The first name not
 * allowed decides.
 */
static ngx_http_beian_ctx_t *
ngx_http_beian_decided(ngx_http_request_t *mr, ngx_http_beian_srv_conf_t *bscf,
    beian_verdict_t v)
{
    ngx_str_t        *server;
    ngx_table_elt_t  *host;

    server = &mr->headers_in.server;
    host = mr->headers_in.host;

    /* the Host header as nginx resolved it: nothing else to judge */
    if (host == NULL || !ngx_http_beian_allows(bscf, v.status)
        || (host->value.len == server->len
            && (host->value.data == server->data
                || ngx_memcmp(host->value.data, server->data, server->len)
                   == 0)))
    {
        return ngx_http_beian_set_ctx(mr, bscf,
                                      &ngx_http_beian_verdicts[v.status]);
    }

    return ngx_http_beian_host_verdict(mr, bscf, v);
}


/*
 * The verdict on a Host header that names something else than the host
 * nginx resolved (whose verdict v allows): the first name not allowed
 * decides.
 */
static ngx_beian_noinline ngx_http_beian_ctx_t *
ngx_http_beian_host_verdict(ngx_http_request_t *mr,
    ngx_http_beian_srv_conf_t *bscf, beian_verdict_t v)
{
    beian_host_t        hh;
    beian_status_t      hs;
    ngx_table_elt_t    *host;
    beian_host_class_t  cls;
    char                hbuf[BEIAN_HOST_MAX + 1];

    host = mr->headers_in.host;

    /* by the same rule: "Example.COM:80" is the same name */
    cls = beian_host_parse((char *) host->value.data, host->value.len, hbuf,
                           &hh);

    if (v.name != NULL && hh.len == v.len
        && ngx_memcmp(hh.name, v.name, v.len) == 0)
    {
        return ngx_http_beian_set_ctx(mr, bscf,
                                      &ngx_http_beian_verdicts[v.status]);
    }

    hs = ngx_http_beian_judge(bscf, cls, &hh);

    if (ngx_http_beian_allows(bscf, hs)) {
        return ngx_http_beian_set_ctx(mr, bscf,
                                      &ngx_http_beian_verdicts[v.status]);
    }

    return ngx_http_beian_refuse_host(mr, bscf, hs, &host->value);
}


/* The verdict hs, not allowed, about a Host header value, kept. */
static ngx_http_beian_ctx_t *
ngx_http_beian_refuse_host(ngx_http_request_t *mr,
    ngx_http_beian_srv_conf_t *bscf, beian_status_t hs, ngx_str_t *value)
{
    ngx_http_beian_ctx_t  *ctx;

    ctx = ngx_pcalloc(mr->pool, sizeof(ngx_http_beian_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->status = hs;
    ctx->host = *value;

    return ngx_http_beian_set_ctx(mr, bscf, ctx);
}


/*
 * The TLS gate (ngx_http_beian_ssl.c): the verdict for a ClientHello's
 * server name (NULL data: none sent) in the server nginx chose for it.
 * NGX_OK lets the handshake go on, NGX_DECLINED refuses it.
 */
ngx_int_t
ngx_http_beian_tls_verdict(ngx_connection_t *c, ngx_http_conf_ctx_t *conf_ctx,
    ngx_str_t *name)
{
    u_char                      *p;
    beian_host_t                 h;
    beian_status_t               status;
    beian_host_class_t           cls;
    ngx_http_beian_shm_t        *shm;
    ngx_http_beian_srv_conf_t   *bscf;
    ngx_http_beian_main_conf_t  *bmcf;
    char                         buf[BEIAN_HOST_MAX + 1];
    u_char                       shown[NGX_BEIAN_SHOWN_MAX];

    bscf = conf_ctx->srv_conf[ngx_http_beian_module.ctx_index];

    if (!bscf->enable || !bscf->tls) {
        return NGX_OK;
    }

    cls = beian_sni_parse((char *) name->data, name->len, buf, &h);
    status = ngx_http_beian_judge(bscf, cls, &h);

    if (ngx_http_beian_allows(bscf, status)) {
        return NGX_OK;
    }

    bmcf = conf_ctx->main_conf[ngx_http_beian_module.ctx_index];
    shm = bmcf->zone ? bmcf->zone->data : NULL;

    /* any bytes but NUL may come: shown escaped, and bounded */
    p = ngx_beian_shown(shown, name);

    if (bscf->mode == NGX_HTTP_BEIAN_REPORT) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "beian: would reject TLS handshake for %s server name "
                      "\"%*s\" (report mode)", beian_status_names[status],
                      p - shown, shown);
        if (shm) {
            ngx_atomic_fetch_add(&shm->tls_would_reject, 1);
        }
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "beian: rejected TLS handshake for %s server name \"%*s\"",
                  beian_status_names[status], p - shown, shown);

    if (shm) {
        ngx_atomic_fetch_add(&shm->tls_rejected, 1);
    }

    return NGX_DECLINED;
}


/* The name a verdict is about: the one refused, or the one resolved. */
static ngx_str_t *
ngx_http_beian_ctx_host(ngx_http_request_t *r, ngx_http_beian_ctx_t *ctx)
{
    return ctx->host.data ? &ctx->host : &r->main->headers_in.server;
}


/*
 * A filed verdict's own ctx, with the matched domain and its ICP number,
 * for $beian_domain and $beian_icp: the match again, now with the record.
 * Copied: a snapshot swap may unmap them before the request ends.  Should
 * a swap land between the check and this, they are the new snapshot's, or
 * none; the verdict stays.
 */
static ngx_http_beian_ctx_t *
ngx_http_beian_matched(ngx_http_request_t *r)
{
    beian_host_t                h;
    beian_match_t               m;
    beian_host_class_t          cls;
    ngx_http_request_t         *mr;
    ngx_http_beian_ctx_t       *ctx;
    ngx_http_beian_srv_conf_t  *bscf;
    char                        buf[BEIAN_HOST_MAX + 1];

    mr = r->main;
    bscf = ngx_http_get_module_srv_conf(mr, ngx_http_beian_module);

    ctx = ngx_pcalloc(mr->pool, sizeof(ngx_http_beian_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->status = BEIAN_FILED;

    cls = beian_host_parse((char *) mr->headers_in.server.data,
                           mr->headers_in.server.len, buf, &h);

    if (beian_match_host(ngx_http_beian_snapshot(), cls, &h, bscf->flags, &m)
        == BEIAN_FILED)
    {
        ctx->domain.data = ngx_pnalloc(mr->pool,
                                       m.domain_len + m.rec.icp_len);
        if (ctx->domain.data == NULL) {
            return NULL;
        }

        ctx->domain.len = m.domain_len;
        ngx_memcpy(ctx->domain.data, m.domain, m.domain_len);

        ctx->icp.data = ctx->domain.data + m.domain_len;
        ctx->icp.len = m.rec.icp_len;
        ngx_memcpy(ctx->icp.data, m.rec.icp, m.rec.icp_len);
    }

    return ngx_http_beian_set_ctx(r, bscf, ctx);
}


static ngx_int_t
ngx_http_beian_block(ngx_http_request_t *r, ngx_http_beian_srv_conf_t *bscf,
    ngx_http_beian_ctx_t *ctx)
{
    ngx_http_core_srv_conf_t    *cscf;
    ngx_http_beian_main_conf_t  *bmcf;

    if (bscf->status == NGX_HTTP_CLOSE) {
        return NGX_HTTP_CLOSE;
    }

    /*
     * Answered under the server's configuration, wherever the request is:
     * after an early error sent to a named location it is in that
     * location, whose add_header, sub_filter and the like would put the
     * site's headers and bytes on the block.  At POST_READ this is where
     * the request is already.
     */
    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
    r->loc_conf = cscf->ctx->loc_conf;
    ngx_http_update_location_config(r);

    /* no error_page: it could redirect to the site's own content */
    r->error_page = 1;

    /* an error_page after an early error set a status of its own */
    r->err_status = 0;

    if (r->headers_in.expect != NULL
        && r->http_version == NGX_HTTP_VERSION_11)
    {
        /*
         * A client that waits for "100 Continue" is not invited to send
         * its body to a blocked name: the block is the final answer, and
         * the connection closes after it, as HTTP allows.
         */
        r->expect_tested = 1;
        r->keepalive = 0;

    } else if (ngx_http_discard_request_body(r) != NGX_OK) {
        /* else any body is read and dropped: the connection stays */
        return NGX_HTTP_CLOSE;
    }

    if (bscf->redirect) {
        return ngx_http_beian_redirect_send(r, bscf->redirect);
    }

    bmcf = ngx_http_get_module_main_conf(r, ngx_http_beian_module);

    return ngx_http_beian_page_send(r, bscf->page ? bscf->page
                                                  : bmcf->builtin,
                                    bscf->status,
                                    ngx_http_beian_ctx_host(r, ctx),
                                    ctx->status);
}


/*
 * One more blocked (or would-be blocked) request for the top-K table, by
 * its host in normalized form (bytes outside printable ASCII as %HH, for
 * names that do not normalize), cut to a bounded length.
 */
static void
ngx_http_beian_top_add(ngx_http_request_t *r, ngx_shm_zone_t *zone,
    ngx_http_beian_ctx_t *ctx, const char *norm, size_t norm_len)
{
    char                *p;
    size_t               n, i;
    u_char               c, *src;
    ngx_str_t           *host;
    ngx_slab_pool_t     *shpool;
    beian_host_class_t   cls;
    char                 buf[BEIAN_HOST_MAX + 1];

    static const char  hex[] = "0123456789ABCDEF";

    host = ngx_http_beian_ctx_host(r, ctx);

    if (norm != NULL && beian_host_plain(norm, norm_len)) {
        /* normalized by the verdict already, and plain to show (an
         * unfiled name the verdict did not check may not be) */
        p = (char *) norm;
        n = norm_len;
        goto add;
    }

    p = buf;
    cls = beian_host_normalize((char *) host->data, host->len, buf, &n);

    if (cls == BEIAN_HOST_INVALID) {
        src = host->data;
        n = 0;

        for (i = 0; i < host->len && n + 3 <= BEIAN_TOP_HOST_MAX; i++) {
            c = src[i];
            if (c <= 0x20 || c >= 0x7f || c == '%') {
                buf[n++] = '%';
                buf[n++] = hex[c >> 4];
                buf[n++] = hex[c & 0xf];
            } else {
                buf[n++] = (char) c;
            }
        }
    }

add:

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

#if (NGX_HAVE_ATOMIC_OPS)
    /* the lock's fast path inline; nginx's own when it is held */
    if (!(*shpool->mutex.lock == 0
          && ngx_atomic_cmp_set(shpool->mutex.lock, 0, ngx_pid)))
#endif
    {
        ngx_shmtx_lock(&shpool->mutex);
    }

    beian_top_add(zone->data, p, n,
                  (char *) r->connection->addr_text.data,
                  r->connection->addr_text.len, ngx_time());

    ngx_shmtx_unlock(&shpool->mutex);
}


static ngx_int_t
ngx_http_beian_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    uintptr_t                   n;
    ngx_str_t                  *s;
    ngx_http_beian_ctx_t       *ctx;
    ngx_http_beian_srv_conf_t  *bscf;

    ctx = ngx_http_beian_verdict(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    switch (data) {

    case 0:
        v->data = (u_char *) beian_status_names[ctx->status];
        v->len = ngx_strlen(v->data);
        return NGX_OK;

    case 3:
        /* "1" for blocked or would-be blocked: access_log ... if= */
        bscf = ngx_http_get_module_srv_conf(r->main, ngx_http_beian_module);
        v->len = !ngx_http_beian_allows(bscf, ctx->status);
        v->data = (u_char *) "1";
        return NGX_OK;

    case 4:
        /* the name judged, safe in a URL argument (redirects) */
        s = ngx_http_beian_ctx_host(r, ctx);
        n = ngx_escape_uri(NULL, s->data, s->len, NGX_ESCAPE_ARGS);
        v->len = s->len + 2 * n;
        v->data = ngx_pnalloc(r->pool, v->len + 1);
        if (v->data == NULL) {
            return NGX_ERROR;
        }
        (void) ngx_escape_uri(v->data, s->data, s->len, NGX_ESCAPE_ARGS);
        return NGX_OK;
    }

    /* $beian_icp, $beian_domain */

    if (ctx == &ngx_http_beian_verdicts[BEIAN_FILED]) {
        ctx = ngx_http_beian_matched(r);
        if (ctx == NULL) {
            return NGX_ERROR;
        }
    }

    s = (data == 1) ? &ctx->icp : &ctx->domain;

    if (s->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = s->data;
    v->len = s->len;

    return NGX_OK;
}


/* Escaped for a Prometheus label value (esc '"') or a JSON string. */
static u_char *
ngx_http_beian_quote(u_char *p, u_char *src, size_t len, ngx_uint_t json)
{
    size_t   i;
    u_char   c;

    for (i = 0; i < len; i++) {
        c = src[i];

        if (c == '\\' || c == '"') {
            *p++ = '\\';
            *p++ = c;

        } else if (c == '\n') {
            *p++ = '\\';
            *p++ = 'n';

        } else if (c < 0x20 || c == 0x7f) {
            /* Prometheus has no escape for these: percent-encoded */
            p = json ? ngx_sprintf(p, "\\u%04xd", (ngx_uint_t) c)
                     : ngx_sprintf(p, "%%%02Xd", (ngx_uint_t) c);

        } else {
            *p++ = c;
        }
    }

    return p;
}


static u_char *
ngx_http_beian_iso8601(u_char *p, int64_t t)
{
    ngx_tm_t  tm;

    ngx_gmtime((time_t) t, &tm);

    return ngx_sprintf(p, "%4d-%02d-%02dT%02d:%02d:%02dZ",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);
}


/*
 * A copy of the top-K table's entries, most frequent first, taken under
 * its lock.  NULL with *n 0 when there is none.
 */
static beian_top_entry_t *
ngx_http_beian_top_copy(ngx_http_request_t *r,
    ngx_http_beian_main_conf_t *bmcf, uint32_t *n, uint64_t *total)
{
    uint32_t            i, *idx;
    beian_top_t        *t;
    ngx_slab_pool_t    *shpool;
    beian_top_entry_t  *e;

    *n = 0;
    *total = 0;

    if (bmcf->top_zone == NULL || bmcf->top_zone->data == NULL) {
        return NULL;
    }

    t = bmcf->top_zone->data;

    idx = ngx_palloc(r->pool, sizeof(uint32_t) * t->n);
    e = ngx_palloc(r->pool, sizeof(beian_top_entry_t) * t->n);
    if (idx == NULL || e == NULL) {
        return NULL;
    }

    shpool = (ngx_slab_pool_t *) bmcf->top_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    *n = beian_top_sorted(t, idx);
    *total = t->total;

    for (i = 0; i < *n; i++) {
        e[i] = *beian_top_entry(t, idx[i]);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return e;
}


static ngx_int_t
ngx_http_beian_metrics_handler(ngx_http_request_t *r)
{
    size_t                       len;
    u_char                      *p;
    uint32_t                     ntop;
    uint64_t                     observed;
    ngx_int_t                    rc;
    ngx_str_t                    format;
    ngx_uint_t                   i, json;
    ngx_buf_t                   *b;
    ngx_chain_t                  out;
    beian_top_entry_t           *top;
    ngx_http_beian_shm_t        *shm, zero;
    ngx_http_beian_main_conf_t  *bmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    json = (ngx_http_arg(r, (u_char *) "format", 6, &format) == NGX_OK
            && format.len == 4 && ngx_strncmp(format.data, "json", 4) == 0);

    bmcf = ngx_http_get_module_main_conf(r, ngx_http_beian_module);

    shm = bmcf->zone ? bmcf->zone->data : NULL;
    if (shm == NULL) {
        ngx_memzero(&zero, sizeof(zero));
        shm = &zero;
    }

    top = ngx_http_beian_top_copy(r, bmcf, &ntop, &observed);

    /* per entry: a host escaped at worst 2x, an address, numbers, times */
    len = 4096 + 512 + BEIAN_NSTATUS * (64 + NGX_ATOMIC_T_LEN)
          + NGX_BEIAN_STREAM_METRICS_MAX
          + (size_t) ntop * (2 * BEIAN_TOP_HOST_MAX + 2 * BEIAN_TOP_ADDR_MAX
                             + 256);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;

    if (json) {
        p = ngx_sprintf(p, "{\"requests\":{");
        for (i = 0; i < BEIAN_NSTATUS; i++) {
            p = ngx_sprintf(p, "%s\"%s\":%uA", i ? "," : "",
                            beian_status_names[i], shm->requests[i]);
        }

        /* the text format's numbers, under names of their own */
        p = ngx_sprintf(p, "},\"blocked\":%uA,\"would_block\":%uA,"
                        "\"snapshot_records\":%uA,"
                        "\"snapshot_generated_at\":%uA,"
                        "\"snapshot_loaded_at\":%uA,"
                        "\"snapshot_reload_failures\":%uA,"
                        "\"tls_rejected\":%uA,\"tls_would_reject\":%uA",
                        shm->blocked, shm->would_block, shm->snap.records,
                        shm->snap.generated_at, shm->snap.loaded_at,
                        shm->snap.reload_failures, shm->tls_rejected,
                        shm->tls_would_reject);

        p = ngx_beian_stream_metrics_json(p);

        p = ngx_sprintf(p, ",\"top_blocked\":{\"capacity\":%ui,"
                        "\"observed\":%uL,\"hosts\":[",
                        bmcf->top_zone ? bmcf->top : 0, observed);

        for (i = 0; i < ntop; i++) {
            p = ngx_sprintf(p, "%s{\"host\":\"", i ? "," : "");
            p = ngx_http_beian_quote(p, (u_char *) top[i].host,
                                     top[i].host_len, 1);
            p = ngx_sprintf(p, "\",\"count\":%uL,\"error\":%uL,"
                            "\"first_seen\":\"", top[i].count, top[i].error);
            p = ngx_http_beian_iso8601(p, top[i].first_seen);
            p = ngx_cpymem(p, "\",\"last_seen\":\"", 15);
            p = ngx_http_beian_iso8601(p, top[i].last_seen);
            p = ngx_cpymem(p, "\",\"last_client\":\"", 17);
            p = ngx_http_beian_quote(p, (u_char *) top[i].addr,
                                     top[i].addr_len, 1);
            p = ngx_cpymem(p, "\"}", 2);
        }

        p = ngx_cpymem(p, "]}}\n", 4);

        goto send;
    }

    p = ngx_cpymem(p, "# HELP beian_requests_total Requests checked by the "
                   "beian gate, by verdict.\n"
                   "# TYPE beian_requests_total counter\n",
                   sizeof("# HELP beian_requests_total Requests checked by "
                          "the beian gate, by verdict.\n"
                          "# TYPE beian_requests_total counter\n") - 1);

    for (i = 0; i < BEIAN_NSTATUS; i++) {
        p = ngx_sprintf(p, "beian_requests_total{status=\"%s\"} %uA\n",
                        beian_status_names[i], shm->requests[i]);
    }

    p = ngx_sprintf(p,
        "# HELP beian_blocked_total Requests answered with the block page.\n"
        "# TYPE beian_blocked_total counter\n"
        "beian_blocked_total %uA\n"
        "# HELP beian_would_block_total Requests let through by report "
        "mode that enforce mode would block.\n"
        "# TYPE beian_would_block_total counter\n"
        "beian_would_block_total %uA\n"
        "# HELP beian_snapshot_records Domains in the last loaded snapshot.\n"
        "# TYPE beian_snapshot_records gauge\n"
        "beian_snapshot_records %uA\n"
        "# HELP beian_snapshot_generated_timestamp_seconds When beian-sync "
        "wrote the last loaded snapshot.\n"
        "# TYPE beian_snapshot_generated_timestamp_seconds gauge\n"
        "beian_snapshot_generated_timestamp_seconds %uA\n"
        "# HELP beian_snapshot_loaded_timestamp_seconds When a worker last "
        "loaded a snapshot.\n"
        "# TYPE beian_snapshot_loaded_timestamp_seconds gauge\n"
        "beian_snapshot_loaded_timestamp_seconds %uA\n"
        "# HELP beian_snapshot_reload_failures_total Snapshots refused at "
        "reload or by the periodic check.\n"
        "# TYPE beian_snapshot_reload_failures_total counter\n"
        "beian_snapshot_reload_failures_total %uA\n",
        shm->blocked, shm->would_block, shm->snap.records, shm->snap.generated_at,
        shm->snap.loaded_at, shm->snap.reload_failures);

    p = ngx_sprintf(p,
        "# HELP beian_tls_rejected_total TLS handshakes refused for the "
        "server name.\n"
        "# TYPE beian_tls_rejected_total counter\n"
        "beian_tls_rejected_total %uA\n"
        "# HELP beian_tls_would_reject_total TLS handshakes let through by "
        "report mode that enforce mode would refuse.\n"
        "# TYPE beian_tls_would_reject_total counter\n"
        "beian_tls_would_reject_total %uA\n",
        shm->tls_rejected, shm->tls_would_reject);

    /* the stream gate's, when it runs in this nginx */
    p = ngx_beian_stream_metrics(p);

    if (bmcf->top_zone) {
        p = ngx_sprintf(p,
            "# HELP beian_blocked_host_requests_total Blocked and would-be "
            "blocked requests of the most frequent hosts (space-saving: a "
            "count exceeds the true one by at most the host's error).\n"
            "# TYPE beian_blocked_host_requests_total counter\n");

        for (i = 0; i < ntop; i++) {
            p = ngx_cpymem(p, "beian_blocked_host_requests_total{host=\"",
                           sizeof("beian_blocked_host_requests_total{host=\"")
                           - 1);
            p = ngx_http_beian_quote(p, (u_char *) top[i].host,
                                     top[i].host_len, 0);
            p = ngx_sprintf(p, "\"} %uL\n", top[i].count);
        }
    }

send:

    b->last = p;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    if (json) {
        ngx_str_set(&r->headers_out.content_type,
                    "application/json; charset=utf-8");
    } else {
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");
    }

    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * The worker's snapshot.  Reopened when the cycle changed under us, which
 * happens only in single-process mode (no new workers on reload).
 */
static ngx_beian_hot beian_snap_t *
ngx_http_beian_snapshot(void)
{
    if (ngx_http_beian_worker.cycle != ngx_cycle) {
        ngx_http_beian_new_cycle();
    }

    return ngx_http_beian_worker.state.snap;
}


static ngx_beian_noinline void
ngx_http_beian_new_cycle(void)
{
    ngx_http_beian_main_conf_t  *bmcf;

    ngx_http_beian_worker.cycle = (ngx_cycle_t *) ngx_cycle;
    ngx_http_beian_worker.shm = NULL;
    ngx_http_beian_worker.top = NULL;

    bmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_beian_module);
    if (bmcf && bmcf->enabled) {
        ngx_http_beian_load((ngx_cycle_t *) ngx_cycle, bmcf);
    }
}


/* The worker's snapshot, loaded (or kept) by the shared glue. */
static void
ngx_http_beian_load(ngx_cycle_t *cycle, ngx_http_beian_main_conf_t *bmcf)
{
    ngx_http_beian_shm_t  *shm;

    shm = bmcf->zone ? bmcf->zone->data : NULL;
    ngx_http_beian_worker.shm = shm;
    ngx_http_beian_worker.top = bmcf->top_zone;

    ngx_beian_snap_load(cycle, &bmcf->snapshot, &ngx_http_beian_worker.state,
                        shm ? &shm->snap : NULL);
}


static void
ngx_http_beian_check_handler(ngx_event_t *ev)
{
    ngx_http_beian_main_conf_t  *bmcf;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    /* the current cycle's conf: in single-process mode a reload frees ours */
    bmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_beian_module);
    if (bmcf == NULL || !bmcf->enabled || bmcf->check == 0) {
        return;
    }

    (void) ngx_http_beian_snapshot();
    ngx_http_beian_load((ngx_cycle_t *) ngx_cycle, bmcf);

    ngx_add_timer(ev, bmcf->check);
}


static ngx_int_t
ngx_http_beian_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_slab_pool_t       *shpool;
    ngx_http_beian_shm_t  *shm;

    if (data) {
        /* reload: keep counting where the old cycle left off */
        zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    shm = ngx_slab_calloc(shpool, sizeof(ngx_http_beian_shm_t));
    if (shm == NULL) {
        return NGX_ERROR;
    }

    zone->data = shm;

    return NGX_OK;
}


/* The top-K table: its own zone, so that its size never resets the
 * counters' zone; a static tag, so that a reload keeps it. */
static ngx_uint_t  ngx_http_beian_top_tag;

static ngx_str_t  ngx_http_beian_top_name = ngx_string("beian_top_blocked");


static ngx_int_t
ngx_http_beian_init_top_zone(ngx_shm_zone_t *zone, void *data)
{
    void                        *mem;
    beian_top_t                 *old = data;
    ngx_slab_pool_t             *shpool;
    ngx_http_beian_main_conf_t  *bmcf = zone->data;

    if (old && old->n == bmcf->top) {
        zone->data = old;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    mem = ngx_slab_alloc(shpool, beian_top_size(bmcf->top));
    if (mem == NULL) {
        return NGX_ERROR;
    }

    zone->data = beian_top_init(mem, (uint32_t) bmcf->top,
                                ((uint64_t) ngx_random() << 32)
                                ^ (uint64_t) ngx_random() ^ (uint64_t) ngx_time());

    return NGX_OK;
}


static char *
ngx_http_beian_snapshot_cmd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_beian_main_conf_t  *bmcf = conf;

    return ngx_beian_snap_parse(cf, &bmcf->snapshot);
}


static char *
ngx_http_beian_check_cmd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_beian_main_conf_t  *bmcf = conf;

    return ngx_beian_check_parse(cf, cmd, &bmcf->check);
}


static char *
ngx_http_beian_status_cmd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_beian_srv_conf_t  *bscf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (bscf->status != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = ngx_atoi(value[1].data, value[1].len);

    /*
     * 444 is nginx's "close the connection without a response"; 494 to
     * 499 are nginx's own for errors it finds itself, with no status line
     * of their own (499: the client went away), so never an answer.
     */
    if (n != NGX_HTTP_CLOSE && (n < 400 || n > 599 || (n >= 494 && n <= 499)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be a 4xx or 5xx status such as 403, "
                           "451 or 444, not one of nginx's own 494 to 499",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    bscf->status = (ngx_uint_t) n;

    return NGX_CONF_OK;
}


/* The custom page is read and compiled once here, never per request. */
static char *
ngx_http_beian_page_cmd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_beian_srv_conf_t  *bscf = conf;

    ssize_t          n;
    ngx_str_t       *value, name, text;
    ngx_file_t       file;
    ngx_file_info_t  fi;

    if (bscf->page) {
        return "is duplicate";
    }

    if (bscf->redirect) {
        return "cannot be used with \"beian_block_redirect\" at one level";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = name;
    file.log = cf->log;

    file.fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &name);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR
        || !ngx_is_file(&fi)
        || ngx_file_size(&fi) == 0
        || ngx_file_size(&fi) > NGX_HTTP_BEIAN_PAGE_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "block page \"%V\" must be a regular, non-empty "
                           "file of at most 1m", &name);
        goto failed;
    }

    text.len = (size_t) ngx_file_size(&fi);
    text.data = ngx_pnalloc(cf->pool, text.len);
    if (text.data == NULL) {
        goto failed;
    }

    n = ngx_read_file(&file, text.data, text.len, 0);
    if (n != (ssize_t) text.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "short read of block page \"%V\"", &name);
        goto failed;
    }

    ngx_close_file(file.fd);

    bscf->page = ngx_http_beian_page_compile(cf, &text);
    if (bscf->page == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

failed:

    ngx_close_file(file.fd);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_beian_redirect_cmd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_beian_srv_conf_t  *bscf = conf;

    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    if (bscf->redirect) {
        return "is duplicate";
    }

    if (bscf->page) {
        return "cannot be used with \"beian_block_page\" at one level";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "requires a URL";
    }

    bscf->redirect = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (bscf->redirect == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = bscf->redirect;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_beian_top_cmd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_beian_main_conf_t  *bmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (bmcf->top != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);
    if (n == NGX_ERROR || n > BEIAN_TOP_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be a number from 0 to %d",
                           &value[1], &cmd->name, BEIAN_TOP_MAX);
        return NGX_CONF_ERROR;
    }

    bmcf->top = (ngx_uint_t) n;

    return NGX_CONF_OK;
}


static char *
ngx_http_beian_exempt_cmd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_beian_srv_conf_t  *bscf = conf;

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


static char *
ngx_http_beian_metrics_cmd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_beian_main_conf_t  *bmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_beian_metrics_handler;

    bmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_beian_module);
    bmcf->metrics = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_beian_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_beian_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_http_beian_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_beian_main_conf_t  *bmcf;

    bmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_beian_main_conf_t));
    if (bmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     bmcf->snapshot.path = { 0, NULL };
     *     bmcf->snapshot.if_missing_block = 0;
     *     bmcf->metrics = 0;
     *     bmcf->enabled = 0;
     *     bmcf->zone = NULL;
     */

    bmcf->check = NGX_CONF_UNSET_MSEC;
    bmcf->top = NGX_CONF_UNSET_UINT;
    bmcf->snapshot.copy = NGX_INVALID_FILE;

    return bmcf;
}


static void *
ngx_http_beian_create_srv_conf(ngx_conf_t *cf)
{
    ngx_http_beian_srv_conf_t  *bscf;

    bscf = ngx_pcalloc(cf->pool, sizeof(ngx_http_beian_srv_conf_t));
    if (bscf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     bscf->exempt = { NULL, NULL };
     *     bscf->page = NULL;
     *     bscf->redirect = NULL;
     *     bscf->flags = 0;
     */

    bscf->enable = NGX_CONF_UNSET;
    bscf->mode = NGX_CONF_UNSET_UINT;
    bscf->status = NGX_CONF_UNSET_UINT;
    bscf->subdomains = NGX_CONF_UNSET;
    bscf->ip_host = NGX_CONF_UNSET_UINT;
    bscf->tls = NGX_CONF_UNSET;

    return bscf;
}


static char *
ngx_http_beian_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_beian_srv_conf_t  *prev = parent;
    ngx_http_beian_srv_conf_t  *conf = child;

    ngx_http_beian_main_conf_t  *bmcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_uint_value(conf->mode, prev->mode,
                              NGX_HTTP_BEIAN_ENFORCE);
    ngx_conf_merge_uint_value(conf->status, prev->status,
                              NGX_HTTP_FORBIDDEN);
    ngx_conf_merge_value(conf->subdomains, prev->subdomains, 1);
    ngx_conf_merge_uint_value(conf->ip_host, prev->ip_host,
                              NGX_HTTP_BEIAN_IP_ALLOW);
    ngx_conf_merge_value(conf->tls, prev->tls, 1);

    /* a page or a redirect of its own replaces the inherited answer */
    if (conf->page == NULL && conf->redirect == NULL) {
        conf->page = prev->page;
        conf->redirect = prev->redirect;
    }

    if (conf->page == NULL && conf->redirect == NULL) {
        bmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_beian_module);

        if (bmcf->builtin == NULL) {
            bmcf->builtin = ngx_http_beian_page_builtin(cf);
            if (bmcf->builtin == NULL) {
                return NGX_CONF_ERROR;
            }
        }
    }

    ngx_beian_exempt_merge(&conf->exempt, &prev->exempt);

    conf->flags = (conf->subdomains ? BEIAN_MATCH_SUBDOMAINS : 0)
                  | (conf->ip_host == NGX_HTTP_BEIAN_IP_BLOCK
                     ? BEIAN_MATCH_IP_BLOCK : 0);
    conf->allow = beian_allow_mask(conf->flags);

    return NGX_CONF_OK;
}


/* Counts a refused reload in the running cycle's metrics, if any. */
static void
ngx_http_beian_count_reload_failure(void)
{
    ngx_uint_t             i;
    ngx_list_part_t       *part;
    ngx_shm_zone_t        *zone;
    ngx_http_beian_shm_t  *shm;

    part = &((ngx_cycle_t *) ngx_cycle)->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].tag == &ngx_http_beian_module && zone[i].data) {
            shm = zone[i].data;
            ngx_atomic_fetch_add(&shm->snap.reload_failures, 1);
            return;
        }
    }
}


static ngx_int_t
ngx_http_beian_init(ngx_conf_t *cf)
{
    size_t                       size;
    ngx_uint_t                   i, enabled;
    ngx_http_handler_pt         *h;
    ngx_http_core_srv_conf_t   **cscfp;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_beian_srv_conf_t   *bscf;
    ngx_http_beian_main_conf_t  *bmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    bmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_beian_module);

    ngx_conf_init_msec_value(bmcf->check, 0);

    /* the variables read the verdict, wherever the gate is on or off */
    bmcf->slot = ngx_http_get_variable_index(cf, &ngx_http_beian_slot_name);
    if (bmcf->slot == NGX_ERROR) {
        return NGX_ERROR;
    }

    enabled = 0;
    cscfp = cmcf->servers.elts;

    for (i = 0; i < cmcf->servers.nelts; i++) {
        bscf = cscfp[i]->ctx->srv_conf[ngx_http_beian_module.ctx_index];
        bscf->slot = bmcf->slot;

        if (bscf->enable) {
            enabled = 1;
        }
    }

    if (enabled || bmcf->metrics) {
        bmcf->zone = ngx_shared_memory_add(cf, &ngx_http_beian_zone_name,
                                           8 * ngx_pagesize,
                                           &ngx_http_beian_module);
        if (bmcf->zone == NULL) {
            return NGX_ERROR;
        }

        bmcf->zone->init = ngx_http_beian_init_zone;
    }

    if (!enabled) {
        /* nothing to check: no phase handler, no snapshot, no cost */
        return NGX_OK;
    }

    bmcf->enabled = 1;

    ngx_conf_init_uint_value(bmcf->top, NGX_HTTP_BEIAN_TOP_DEFAULT);

    if (bmcf->top) {
        size = beian_top_size((uint32_t) bmcf->top);
        size += size / 32 + 8 * ngx_pagesize;       /* the slab's own */

        bmcf->top_zone = ngx_shared_memory_add(cf, &ngx_http_beian_top_name,
                                               ngx_align(size, ngx_pagesize),
                                               &ngx_http_beian_top_tag);
        if (bmcf->top_zone == NULL) {
            return NGX_ERROR;
        }

        bmcf->top_zone->init = ngx_http_beian_init_top_zone;
        bmcf->top_zone->data = bmcf;
    }

    if (bmcf->snapshot.path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"beian\" is on but \"beian_snapshot\" is not set");
        return NGX_ERROR;
    }

    /*
     * Copied and checked now, so that "nginx -t" and a reload with a bad
     * snapshot fail while the running workers keep theirs.
     */
    if (ngx_beian_snap_validate(cf, &bmcf->snapshot) != NGX_OK) {
        ngx_http_beian_count_reload_failure();
        return NGX_ERROR;
    }

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_beian_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_beian_header_filter;

    if (ngx_http_beian_ssl_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The phase engine is built after every postconfiguration; once it is,
 * the gate's POST_READ entry gets a checker of its own, with the handler
 * inlined (an entry whose checker is not the one nginx gave it is left as
 * it is: unpatched, it works the same, only slower), and the entries where
 * internal redirects and named locations start get the late check
 * (ngx_http_beian_late_server()).
 */
static ngx_int_t
ngx_http_beian_init_module(ngx_cycle_t *cycle)
{
    ngx_http_phase_handler_t    *ph;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_beian_main_conf_t  *bmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_core_module);
    bmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_beian_module);

    if (cmcf == NULL || bmcf == NULL || !bmcf->enabled) {
        return NGX_OK;
    }

    for (ph = cmcf->phase_engine.handlers; ph->checker; ph++) {
        if (ph->handler == ngx_http_beian_handler
            && ph->checker == ngx_http_core_generic_phase)
        {
            ph->checker = ngx_http_beian_checker;
        }
    }

    ph = &cmcf->phase_engine.handlers[cmcf->phase_engine.server_rewrite_index];
    if (ph->checker != ngx_http_beian_late_server) {
        ngx_http_beian_server_entry = ph->checker;
        ph->checker = ngx_http_beian_late_server;
    }

    /* with no REWRITE handlers, whatever comes next; never the end */
    ph = &cmcf->phase_engine.handlers[
                                  cmcf->phase_engine.location_rewrite_index];
    if (ph->checker != NULL && ph->checker != ngx_http_beian_late_location) {
        ngx_http_beian_location_entry = ph->checker;
        ph->checker = ngx_http_beian_late_location;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_beian_init_process(ngx_cycle_t *cycle)
{
    ngx_http_beian_main_conf_t  *bmcf;
    ngx_http_beian_worker_t     *w = &ngx_http_beian_worker;

    bmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_beian_module);

    ngx_beian_snap_drop_copies(bmcf ? &bmcf->snapshot : NULL);

    if (bmcf == NULL || !bmcf->enabled) {
        return NGX_OK;
    }

    /* never fail here: that would kill the worker for good */
    w->cycle = cycle;
    ngx_http_beian_load(cycle, bmcf);

    if (bmcf->check) {
        w->timer.handler = ngx_http_beian_check_handler;
        w->timer.data = &ngx_http_beian_timer_conn;
        w->timer.log = cycle->log;
        w->timer.cancelable = 1;
        ngx_add_timer(&w->timer, bmcf->check);
    }

    return NGX_OK;
}


static void
ngx_http_beian_exit_process(ngx_cycle_t *cycle)
{
    beian_snap_close(ngx_http_beian_worker.state.snap);
    ngx_http_beian_worker.state.snap = NULL;
}
