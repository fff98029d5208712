/*
 * The answer to a blocked request: a page (the built-in one, or the
 * operator's file with a few escaped values) or a redirect.  Compiled at
 * configuration time, rendered per blocked request.
 */

#ifndef _NGX_HTTP_BEIAN_PAGE_H_INCLUDED_
#define _NGX_HTTP_BEIAN_PAGE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "beian.h"


typedef struct ngx_http_beian_page_s  ngx_http_beian_page_t;


/*
 * Compiles a page: "$host", "$beian_host_display", "$beian_status",
 * "$request_id" and "$time_iso8601" (or "${...}") are replaced, HTML-
 * escaped, per request; any other "$" is text.  NULL on error, logged.
 */
ngx_http_beian_page_t *ngx_http_beian_page_compile(ngx_conf_t *cf,
    ngx_str_t *text);

/* The built-in bilingual page, compiled once per configuration. */
ngx_http_beian_page_t *ngx_http_beian_page_builtin(ngx_conf_t *cf);

/*
 * Sends the page with the given status for the refused host (host may be
 * empty).  Returns what ngx_http_output_filter() does, or an error.
 */
ngx_int_t ngx_http_beian_page_send(ngx_http_request_t *r,
    ngx_http_beian_page_t *page, ngx_uint_t status, ngx_str_t *host,
    beian_status_t verdict);

/* 302 to the evaluated URL, Cache-Control: no-store, no body. */
ngx_int_t ngx_http_beian_redirect_send(ngx_http_request_t *r,
    ngx_http_complex_value_t *url);

/* Cache-Control: no-store on the answer being built. */
ngx_int_t ngx_http_beian_no_store(ngx_http_request_t *r);


#endif /* _NGX_HTTP_BEIAN_PAGE_H_INCLUDED_ */
