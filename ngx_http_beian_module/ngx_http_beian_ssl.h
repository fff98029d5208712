/*
 * Between ngx_http_beian_module.c and the TLS gate in ngx_http_beian_ssl.c.
 */

#ifndef _NGX_HTTP_BEIAN_SSL_H_INCLUDED_
#define _NGX_HTTP_BEIAN_SSL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* ngx_http_beian_ssl.c: hooks the SSL contexts of every ssl server */
ngx_int_t ngx_http_beian_ssl_init(ngx_conf_t *cf);

/* ngx_http_beian_module.c: NGX_OK lets the handshake go on */
ngx_int_t ngx_http_beian_tls_verdict(ngx_connection_t *c,
    ngx_http_conf_ctx_t *conf_ctx, ngx_str_t *name);


#endif /* _NGX_HTTP_BEIAN_SSL_H_INCLUDED_ */
