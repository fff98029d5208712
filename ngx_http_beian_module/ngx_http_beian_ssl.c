/*
 * The TLS gate of ngx_http_beian_module: refuses a handshake whose
 * ClientHello names an unfiled host, with a fatal unrecognized_name alert,
 * before any certificate is sent.
 *
 * nginx picks the server for a server name (SNI) in a TLS callback: the
 * servername callback up to 1.29.1, a ClientHello callback from 1.29.2 on
 * (with OpenSSL 1.1.1+).  We never replace that selection: our callback
 * runs nginx's first, then takes the verdict in the server nginx chose,
 * with that server's beian settings.
 *
 *  - ClientHello callback: nginx keeps the function it calls in the
 *    SSL_CTX's ex_data (ngx_ssl_client_hello_arg_index).  We read what is
 *    there and put ours in its place, keeping theirs to call.
 *  - servername callback: OpenSSL has no getter for it, so we install ours
 *    and call the one nginx's ssl module installs on every server's
 *    context, ngx_http_ssl_servername().  There OpenSSL's SSL_get_servername()
 *    names the resumed session's server on a TLS 1.2 resumption, not the
 *    one this ClientHello asks for: a ClientHello callback of ours (these
 *    nginx versions install none) keeps the name the client sent.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <nginx.h>

#include "beian.h"
#include "ngx_http_beian_ssl.h"


#if (NGX_HTTP_SSL && defined SSL_CTRL_SET_TLSEXT_HOSTNAME)

#if (nginx_version >= 1029002 && defined SSL_CLIENT_HELLO_SUCCESS)
#define NGX_HTTP_BEIAN_CLIENT_HELLO  1
#endif


#if (NGX_HTTP_BEIAN_CLIENT_HELLO)

/* nginx casts the ex_data to ngx_ssl_client_hello_arg: that comes first */
typedef struct {
    ngx_ssl_client_hello_arg    arg;
    ngx_ssl_client_hello_arg   *prev;
} ngx_http_beian_ssl_hello_t;

static int ngx_http_beian_ssl_hello(ngx_ssl_conn_t *ssl_conn, int *ad,
    void *arg);

#elif defined SSL_CLIENT_HELLO_SUCCESS

#define NGX_HTTP_BEIAN_KEEP_SNI  1

static int ngx_http_beian_ssl_keep_sni(ngx_ssl_conn_t *ssl_conn, int *ad,
    void *arg);

/* SSL ex_data: the ngx_str_t the ClientHello named (NULL data: none) */
static int  ngx_http_beian_ssl_sni_index = -1;

#endif

static int ngx_http_beian_ssl_servername(ngx_ssl_conn_t *ssl_conn, int *ad,
    void *arg);
static int ngx_http_beian_ssl_gate(ngx_ssl_conn_t *ssl_conn, int *ad,
    ngx_str_t *name, int rc);


ngx_int_t
ngx_http_beian_ssl_init(ngx_conf_t *cf)
{
    SSL_CTX                     *ctx;
    ngx_uint_t                   i;
    ngx_http_ssl_srv_conf_t     *sscf;
    ngx_http_core_srv_conf_t   **cscfp;
    ngx_http_core_main_conf_t   *cmcf;
#if (NGX_HTTP_BEIAN_CLIENT_HELLO)
    ngx_ssl_client_hello_arg    *prev;
    ngx_http_beian_ssl_hello_t  *hello;
#endif

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    cscfp = cmcf->servers.elts;

#if (NGX_HTTP_BEIAN_KEEP_SNI)
    if (ngx_http_beian_ssl_sni_index == -1) {
        ngx_http_beian_ssl_sni_index = SSL_get_ex_new_index(0, NULL, NULL,
                                                            NULL, NULL);
        if (ngx_http_beian_ssl_sni_index == -1) {
            ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                          "SSL_get_ex_new_index() failed");
            return NGX_ERROR;
        }
    }
#endif

    /*
     * Every server's SSL context, not only those with beian on: a
     * handshake starts on the address's default server and may end in
     * another; the verdict reads the settings of the one nginx chose.
     */
    for (i = 0; i < cmcf->servers.nelts; i++) {
        sscf = cscfp[i]->ctx->srv_conf[ngx_http_ssl_module.ctx_index];
        ctx = sscf->ssl.ctx;

        if (ctx == NULL) {
            continue;
        }

#if (NGX_HTTP_BEIAN_CLIENT_HELLO)
        prev = SSL_CTX_get_ex_data(ctx, ngx_ssl_client_hello_arg_index);

        if (prev && prev->servername != ngx_http_beian_ssl_hello) {
            hello = ngx_palloc(cf->pool, sizeof(ngx_http_beian_ssl_hello_t));
            if (hello == NULL) {
                return NGX_ERROR;
            }

            hello->arg.servername = ngx_http_beian_ssl_hello;
            hello->prev = prev;

            if (SSL_CTX_set_ex_data(ctx, ngx_ssl_client_hello_arg_index,
                                    hello)
                == 0)
            {
                ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                              "SSL_CTX_set_ex_data() failed");
                return NGX_ERROR;
            }

            continue;
        }

        if (prev) {
            continue;
        }
#endif

#if (NGX_HTTP_BEIAN_KEEP_SNI)
        SSL_CTX_set_client_hello_cb(ctx, ngx_http_beian_ssl_keep_sni, NULL);
#endif

        /* nginx picks the server in the servername callback */
        if (SSL_CTX_set_tlsext_servername_callback(ctx,
                                          ngx_http_beian_ssl_servername)
            == 0)
        {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "beian: the OpenSSL library has no SNI support, "
                          "TLS handshakes are not checked");
        }
    }

    return NGX_OK;
}


#if (NGX_HTTP_BEIAN_CLIENT_HELLO)

/* arg: the ClientHello's server name, checked by nginx (NULL data: none) */
static int
ngx_http_beian_ssl_hello(ngx_ssl_conn_t *ssl_conn, int *ad, void *arg)
{
    int                          rc;
    ngx_str_t                    name;
    const char                  *sn;
    ngx_connection_t            *c;
    ngx_http_beian_ssl_hello_t  *hello;

    c = ngx_ssl_get_connection(ssl_conn);
    hello = SSL_CTX_get_ex_data(c->ssl->session_ctx,
                                ngx_ssl_client_hello_arg_index);

    rc = hello->prev->servername(ssl_conn, ad, arg);

    if (arg) {
        name = *(ngx_str_t *) arg;

    } else {
        /* BoringSSL calls without one: by then OpenSSL's getter works */
        sn = SSL_get_servername(ssl_conn, TLSEXT_NAMETYPE_host_name);
        name.data = (u_char *) sn;
        name.len = sn ? ngx_strlen(sn) : 0;
    }

    return ngx_http_beian_ssl_gate(ssl_conn, ad, &name, rc);
}

#endif


#if (NGX_HTTP_BEIAN_KEEP_SNI)

/*
 * Keeps the server name this ClientHello sends for the servername
 * callback.  An extension sent but empty or malformed keeps an empty
 * name: it names nothing (unfiled), where no extension is no name.
 */
static int
ngx_http_beian_ssl_keep_sni(ngx_ssl_conn_t *ssl_conn, int *ad, void *arg)
{
    size_t                len;
    ngx_str_t            *name;
    ngx_connection_t     *c;
    const unsigned char  *ext, *p;

    c = ngx_ssl_get_connection(ssl_conn);

    name = SSL_get_ex_data(ssl_conn, ngx_http_beian_ssl_sni_index);

    if (name == NULL) {
        name = ngx_pcalloc(c->pool, sizeof(ngx_str_t));
        if (name == NULL
            || SSL_set_ex_data(ssl_conn, ngx_http_beian_ssl_sni_index, name)
               == 0)
        {
            *ad = SSL_AD_INTERNAL_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
    }

    /* a second ClientHello (after HelloRetryRequest) names its own */
    ngx_str_null(name);

    if (SSL_client_hello_get0_ext(ssl_conn, TLSEXT_TYPE_server_name, &ext,
                                  &len)
        == 0)
    {
        return SSL_CLIENT_HELLO_SUCCESS;
    }

    /* sent, but empty (OpenSSL lets that by) or malformed: a name that
     * names nothing, not none at all */
    if (beian_tls_sni_ext(ext, len, &p, &len) != BEIAN_SNI_FOUND) {
        ngx_str_set(name, "");
        return SSL_CLIENT_HELLO_SUCCESS;
    }

    name->data = ngx_pnalloc(c->pool, len);
    if (name->data == NULL) {
        *ad = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }

    ngx_memcpy(name->data, p, len);
    name->len = len;

    return SSL_CLIENT_HELLO_SUCCESS;
}

#endif


static int
ngx_http_beian_ssl_servername(ngx_ssl_conn_t *ssl_conn, int *ad, void *arg)
{
    int          rc;
    ngx_str_t    name, *kept;
    const char  *sn;

    rc = ngx_http_ssl_servername(ssl_conn, ad, arg);

    kept = NULL;

#if (NGX_HTTP_BEIAN_KEEP_SNI)
    kept = SSL_get_ex_data(ssl_conn, ngx_http_beian_ssl_sni_index);
#endif

    if (kept) {
        name = *kept;

    } else {
        sn = SSL_get_servername(ssl_conn, TLSEXT_NAMETYPE_host_name);
        name.data = (u_char *) sn;
        name.len = sn ? ngx_strlen(sn) : 0;
    }

    return ngx_http_beian_ssl_gate(ssl_conn, ad, &name, rc);
}


/*
 * After nginx's callback returned rc: a refusal of its own (renegotiation,
 * ssl_reject_handshake, an error) stands; else the server nginx chose for
 * the name (hc->conf_ctx) gives the beian settings.
 */
static int
ngx_http_beian_ssl_gate(ngx_ssl_conn_t *ssl_conn, int *ad, ngx_str_t *name,
    int rc)
{
    ngx_connection_t       *c;
    ngx_http_connection_t  *hc;

    if (rc == SSL_TLSEXT_ERR_ALERT_FATAL) {
        return rc;
    }

    c = ngx_ssl_get_connection(ssl_conn);
    hc = c->data;

    if (ngx_http_beian_tls_verdict(c, hc->conf_ctx, name) != NGX_OK) {
        *ad = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }

    return rc;
}


#else


ngx_int_t
ngx_http_beian_ssl_init(ngx_conf_t *cf)
{
    return NGX_OK;
}


#endif
