/*
 * Block pages and the redirect action (ngx_http_beian_page.h).
 *
 * A page is a list of segments: text, sent from where it lies in the
 * configuration's memory, and values, escaped into the request's pool.
 * Nothing is read from disk per request.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <idn2.h>

#include "ngx_http_beian_page.h"


typedef enum {
    NGX_HTTP_BEIAN_SEG_TEXT = 0,
    NGX_HTTP_BEIAN_SEG_HOST,
    NGX_HTTP_BEIAN_SEG_HOST_DISPLAY,
    NGX_HTTP_BEIAN_SEG_STATUS,
    NGX_HTTP_BEIAN_SEG_REQUEST_ID,
    NGX_HTTP_BEIAN_SEG_TIME,
    NGX_HTTP_BEIAN_SEG_N
} ngx_http_beian_seg_type_e;


typedef struct {
    ngx_http_beian_seg_type_e   type;
    ngx_str_t                   text;
} ngx_http_beian_seg_t;


struct ngx_http_beian_page_s {
    ngx_array_t                 segs;           /* ngx_http_beian_seg_t */
    ngx_uint_t                  used;           /* 1 << type, for values */
    ngx_int_t                   request_id;     /* variable index, or -1 */
};


static ngx_str_t  ngx_http_beian_seg_names[NGX_HTTP_BEIAN_SEG_N] = {
    ngx_null_string,
    ngx_string("host"),
    ngx_string("beian_host_display"),
    ngx_string("beian_status"),
    ngx_string("request_id"),
    ngx_string("time_iso8601"),
};


/*
 * The built-in page: the visitor's part first, then the site owner's; in
 * Chinese, then in English.  Small (a few KB), no script, nothing loaded
 * from elsewhere; readable on a phone and in dark mode.
 */
static ngx_str_t  ngx_http_beian_builtin = ngx_string(
"<!DOCTYPE html>\n"
"<html lang=\"zh-CN\">\n"
"<head>\n"
"<meta charset=\"utf-8\">\n"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
"<meta name=\"color-scheme\" content=\"light dark\">\n"
"<meta name=\"robots\" content=\"noindex\">\n"
"<title>网站暂时无法访问 / Site not available</title>\n"
"<style>\n"
":root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--fg:#1d2129;"
"--muted:#5c6370;--line:#e1e4e8;--code:#eef0f3;--link:#0b57d0}\n"
"@media (prefers-color-scheme:dark){:root{--bg:#15171a;--card:#1e2126;"
"--fg:#e4e6e9;--muted:#9ba1a9;--line:#33373d;--code:#2a2e34;"
"--link:#8ab4f8}}\n"
"*{box-sizing:border-box}\n"
"body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.65 "
"system-ui,-apple-system,\"Segoe UI\",\"PingFang SC\",\"Hiragino Sans GB\","
"\"Microsoft YaHei\",\"Noto Sans CJK SC\",\"Noto Sans SC\",\"Noto Sans\","
"sans-serif}\n"
"main{max-width:46rem;margin:0 auto;padding:2rem 1rem}\n"
"section{background:var(--card);border:1px solid var(--line);"
"border-radius:12px;padding:1.25rem 1.5rem;margin:0 0 1.25rem}\n"
"h1{font-size:1.4rem;line-height:1.3;margin:.2rem 0 .8rem}\n"
"h2{font-size:1rem;margin:1.2rem 0 .3rem}\n"
"p,ul{margin:.5rem 0}ul{padding-left:1.3rem}\n"
".host{font-family:ui-monospace,\"SFMono-Regular\",Menlo,Consolas,"
"monospace;background:var(--code);border-radius:4px;padding:0 .3em;"
"overflow-wrap:anywhere;word-break:break-all;unicode-bidi:isolate}\n"
".meta{color:var(--muted);font-size:.85rem;overflow-wrap:anywhere}\n"
"a{color:var(--link);overflow-wrap:anywhere}\n"
"</style>\n"
"</head>\n"
"<body>\n"
"<main>\n"
"<section lang=\"zh-CN\">\n"
"<h1>网站暂时无法访问</h1>\n"
"<p>域名 <span class=\"host\">$beian_host_display</span> "
"尚未在本服务器所在的云服务商完成 ICP 备案及接入备案。"
"根据中国大陆的相关规定，本服务器暂时不能提供该网站。</p>\n"
"<p>如果您是访问者：请稍后再试，或联系该网站的管理员。</p>\n"
"<h2>如果您是网站负责人</h2>\n"
"<ul>\n"
"<li>域名还没有 ICP 备案：请先办理备案。</li>\n"
"<li>已在其他服务商备案：请在本服务器所在的云服务商办理接入备案。</li>\n"
"</ul>\n"
"<p>备案信息可在工业和信息化部 ICP/IP地址/域名信息备案管理系统查询："
"<a href=\"https://beian.miit.gov.cn/\">https://beian.miit.gov.cn/</a>。"
"接入备案获批后，本服务器在下一次同步备案信息时自动放行。</p>\n"
"<p class=\"meta\">时间 $time_iso8601 · 请求编号 $request_id</p>\n"
"</section>\n"
"<section lang=\"en\">\n"
"<h1>Site not available</h1>\n"
"<p>The domain <span class=\"host\">$beian_host_display</span> has no ICP "
"filing with access registration at the cloud provider that hosts this "
"server, so under mainland China regulations this server cannot serve "
"it.</p>\n"
"<p>If you are a visitor: please try again later, or contact the site's "
"administrator.</p>\n"
"<h2>If you run this site</h2>\n"
"<ul>\n"
"<li>Never filed: apply for an ICP filing first.</li>\n"
"<li>Filed with another provider: register access (接入备案) with the "
"provider that hosts this server.</li>\n"
"</ul>\n"
"<p>Look filings up in MIIT's ICP/IP Address/Domain Name Filing "
"Management System: <a href=\"https://beian.miit.gov.cn/\">"
"https://beian.miit.gov.cn/</a>. Once an access registration is approved, "
"this server allows the domain at its next sync of filing records.</p>\n"
"<p class=\"meta\">Time $time_iso8601 · Request ID $request_id</p>\n"
"</section>\n"
"</main>\n"
"</body>\n"
"</html>\n");


static ngx_int_t
ngx_http_beian_page_push(ngx_http_beian_page_t *page,
    ngx_http_beian_seg_type_e type, u_char *p, size_t len)
{
    ngx_http_beian_seg_t  *seg;

    if (type == NGX_HTTP_BEIAN_SEG_TEXT && len == 0) {
        return NGX_OK;
    }

    seg = ngx_array_push(&page->segs);
    if (seg == NULL) {
        return NGX_ERROR;
    }

    seg->type = type;
    seg->text.data = p;
    seg->text.len = len;

    return NGX_OK;
}


ngx_http_beian_page_t *
ngx_http_beian_page_compile(ngx_conf_t *cf, ngx_str_t *text)
{
    u_char                 *p, *end, *start, *name;
    size_t                  len;
    ngx_uint_t              t, braced;
    ngx_http_beian_page_t  *page;

    static ngx_str_t  request_id = ngx_string("request_id");

    page = ngx_pcalloc(cf->pool, sizeof(ngx_http_beian_page_t));
    if (page == NULL
        || ngx_array_init(&page->segs, cf->pool, 16,
                          sizeof(ngx_http_beian_seg_t)) != NGX_OK)
    {
        return NULL;
    }

    page->request_id = -1;

    p = text->data;
    end = p + text->len;
    start = p;

    while (p < end) {
        if (*p != '$') {
            p++;
            continue;
        }

        braced = (p + 1 < end && p[1] == '{');
        name = p + 1 + braced;

        for (len = 0; name + len < end; len++) {
            /* a name as nginx reads one: $beian_statusX is not ours */
            if (!((name[len] >= 'a' && name[len] <= 'z')
                  || (name[len] >= 'A' && name[len] <= 'Z')
                  || (name[len] >= '0' && name[len] <= '9')
                  || name[len] == '_'))
            {
                break;
            }
        }

        for (t = NGX_HTTP_BEIAN_SEG_HOST; t < NGX_HTTP_BEIAN_SEG_N; t++) {
            if (ngx_http_beian_seg_names[t].len == len
                && ngx_strncmp(ngx_http_beian_seg_names[t].data, name, len)
                   == 0)
            {
                break;
            }
        }

        if (t == NGX_HTTP_BEIAN_SEG_N
            || (braced && (name + len >= end || name[len] != '}')))
        {
            p++;                            /* not ours: text */
            continue;
        }

        if (ngx_http_beian_page_push(page, NGX_HTTP_BEIAN_SEG_TEXT, start,
                                     p - start) != NGX_OK
            || ngx_http_beian_page_push(page, t, NULL, 0) != NGX_OK)
        {
            return NULL;
        }

        page->used |= 1 << t;

        if (t == NGX_HTTP_BEIAN_SEG_REQUEST_ID && page->request_id == -1) {
            page->request_id = ngx_http_get_variable_index(cf, &request_id);
            if (page->request_id == NGX_ERROR) {
                return NULL;
            }
        }

        p = name + len + braced;
        start = p;
    }

    if (ngx_http_beian_page_push(page, NGX_HTTP_BEIAN_SEG_TEXT, start,
                                 end - start) != NGX_OK)
    {
        return NULL;
    }

    return page;
}


ngx_http_beian_page_t *
ngx_http_beian_page_builtin(ngx_conf_t *cf)
{
    return ngx_http_beian_page_compile(cf, &ngx_http_beian_builtin);
}


/*
 * HTML-escaped: the five metacharacters as entities; control bytes, and
 * bytes over 0x7f unless utf8 says they are the Unicode form we made, as
 * %HH.  dst NULL: the length only.
 */
static size_t
ngx_http_beian_escape(u_char *dst, u_char *src, size_t len, ngx_uint_t utf8)
{
    u_char       c, *start;
    size_t       i, n;
    const char  *ent;

    static const char  hex[] = "0123456789ABCDEF";

    start = dst;
    n = 0;

    for (i = 0; i < len; i++) {
        c = src[i];
        ent = NULL;

        switch (c) {
        case '&':  ent = "&amp;"; break;
        case '<':  ent = "&lt;"; break;
        case '>':  ent = "&gt;"; break;
        case '"':  ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        }

        if (ent) {
            n += ngx_strlen(ent);
            if (dst) {
                dst = ngx_cpymem(dst, ent, ngx_strlen(ent));
            }

        } else if (c < 0x20 || c == 0x7f || (c > 0x7f && !utf8)) {
            n += 3;
            if (dst) {
                *dst++ = '%';
                *dst++ = hex[c >> 4];
                *dst++ = hex[c & 0xf];
            }

        } else {
            n++;
            if (dst) {
                *dst++ = c;
            }
        }
    }

    return dst ? (size_t) (dst - start) : n;
}


static ngx_int_t
ngx_http_beian_escaped(ngx_pool_t *pool, ngx_str_t *src, ngx_uint_t utf8,
    ngx_str_t *out)
{
    out->len = ngx_http_beian_escape(NULL, src->data, src->len, utf8);
    out->data = ngx_pnalloc(pool, out->len ? out->len : 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_http_beian_escape(out->data, src->data, src->len, utf8);

    return NGX_OK;
}


/*
 * The host as a person reads it: for a name with A-labels ("xn--"), its
 * Unicode form, decoded by the IDNA rules beian-sync encodes with
 * (libidn2), with the A-label form beside it.  Otherwise, and for names
 * that do not decode, the name as sent.  Escaped either way.
 */
static ngx_int_t
ngx_http_beian_host_display(ngx_http_request_t *r, ngx_str_t *host,
    ngx_str_t *out)
{
    u_char     *p, *z;
    char       *u, *b;
    size_t      n;
    ngx_str_t   uni, a, ae, ue;

    if (host->len == 0) {
        /* a request without a host */
        ngx_str_set(out, "\xe2\x80\x94");        /* an em dash */
        return NGX_OK;
    }

    if (host->len < 4 || host->len > BEIAN_DOMAIN_MAX
        || ngx_strlcasestrn(host->data, host->data + host->len,
                            (u_char *) "xn--", 4 - 1) == NULL)
    {
        return ngx_http_beian_escaped(r->pool, host, 0, out);
    }

    z = ngx_pnalloc(r->pool, host->len + 1);
    if (z == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow(z, host->data, host->len);
    z[host->len] = '\0';

    u = NULL;
    b = NULL;

    /*
     * Shown in Unicode only when it is an IDN: a label punycode decodes
     * to any code points ("xn--zvg": U+202E, which turns text around),
     * so the Unicode form must encode back to the very A-labels sent.
     */
    if (idn2_to_unicode_8z8z((char *) z, &u, 0) != IDN2_OK || u == NULL
        || ngx_strcmp(u, z) == 0
        || idn2_to_ascii_8z(u, &b, IDN2_NONTRANSITIONAL) != IDN2_OK
        || b == NULL || ngx_strcmp(b, z) != 0)
    {
        idn2_free(u);
        idn2_free(b);
        return ngx_http_beian_escaped(r->pool, host, 0, out);
    }

    idn2_free(b);

    uni.data = (u_char *) u;
    uni.len = ngx_strlen(u);

    if (ngx_http_beian_escaped(r->pool, &uni, 1, &ue) != NGX_OK) {
        idn2_free(u);
        return NGX_ERROR;
    }

    idn2_free(u);

    a.data = z;
    a.len = host->len;

    if (ngx_http_beian_escaped(r->pool, &a, 0, &ae) != NGX_OK) {
        return NGX_ERROR;
    }

    n = ue.len + sizeof(" (") - 1 + ae.len + 1;

    p = ngx_pnalloc(r->pool, n);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    p = ngx_cpymem(p, ue.data, ue.len);
    p = ngx_cpymem(p, " (", 2);
    p = ngx_cpymem(p, ae.data, ae.len);
    *p++ = ')';
    out->len = p - out->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_beian_page_send(ngx_http_request_t *r, ngx_http_beian_page_t *page,
    ngx_uint_t status, ngx_str_t *host, beian_status_t verdict)
{
    u_char                     *p;
    size_t                      len;
    ngx_int_t                   rc;
    ngx_str_t                   val[NGX_HTTP_BEIAN_SEG_N], id;
    ngx_uint_t                  i, t;
    ngx_buf_t                  *b;
    ngx_chain_t                 out;
    ngx_http_beian_seg_t       *seg;
    ngx_http_variable_value_t  *vv;

    seg = page->segs.elts;

    /* each value is made once, however often the page shows it */
    for (t = NGX_HTTP_BEIAN_SEG_HOST; t < NGX_HTTP_BEIAN_SEG_N; t++) {
        if (!(page->used & (1 << t))) {
            continue;
        }

        ngx_str_null(&val[t]);
        rc = NGX_OK;

        switch (t) {

        case NGX_HTTP_BEIAN_SEG_HOST:
            rc = ngx_http_beian_escaped(r->pool, host, 0, &val[t]);
            break;

        case NGX_HTTP_BEIAN_SEG_HOST_DISPLAY:
            rc = ngx_http_beian_host_display(r, host, &val[t]);
            break;

        case NGX_HTTP_BEIAN_SEG_STATUS:
            val[t].data = (u_char *) beian_status_names[verdict];
            val[t].len = ngx_strlen(val[t].data);
            break;

        case NGX_HTTP_BEIAN_SEG_REQUEST_ID:
            vv = ngx_http_get_indexed_variable(r, page->request_id);
            if (vv && !vv->not_found) {
                id.data = vv->data;
                id.len = vv->len;
                rc = ngx_http_beian_escaped(r->pool, &id, 0, &val[t]);
            }
            break;

        default: /* NGX_HTTP_BEIAN_SEG_TIME */
            val[t] = ngx_cached_http_log_iso8601;
            break;
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /* one buffer: one copy of a few KB costs less than a long chain */
    len = 0;

    for (i = 0; i < page->segs.nelts; i++) {
        len += (seg[i].type == NGX_HTTP_BEIAN_SEG_TEXT) ? seg[i].text.len
                                                      : val[seg[i].type].len;
    }

    if (len == 0) {
        /* nginx refuses an empty buffer */
        r->header_only = 1;
        b = NULL;

    } else {
        b = ngx_create_temp_buf(r->pool, len);
        if (b == NULL) {
            return NGX_ERROR;
        }

        p = b->last;

        for (i = 0; i < page->segs.nelts; i++) {
            p = (seg[i].type == NGX_HTTP_BEIAN_SEG_TEXT)
                ? ngx_cpymem(p, seg[i].text.data, seg[i].text.len)
                : ngx_cpymem(p, val[seg[i].type].data,
                             val[seg[i].type].len);
        }

        b->last = p;
        b->last_buf = (r == r->main) ? 1 : 0;
        b->last_in_chain = 1;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (status == 451) {
        /* nginx has no reason phrase of its own for 451 */
        ngx_str_set(&r->headers_out.status_line,
                    "451 Unavailable For Legal Reasons");
    }

    ngx_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/html") - 1;
    r->headers_out.content_type_lowcase = NULL;

    if (ngx_http_beian_no_store(r) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_beian_redirect_send(ngx_http_request_t *r,
    ngx_http_complex_value_t *url)
{
    ngx_str_t         location;
    ngx_table_elt_t  *h;

    if (ngx_http_complex_value(r, url, &location) != NGX_OK) {
        return NGX_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value = location;
    r->headers_out.location = h;

    if (ngx_http_beian_no_store(r) != NGX_OK) {
        return NGX_ERROR;
    }

    r->headers_out.status = NGX_HTTP_MOVED_TEMPORARILY;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/* Cache-Control: no-store, on every answer the gate gives instead of the
 * site's: no cache may keep it for a name filed later. */
ngx_int_t
ngx_http_beian_no_store(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    return NGX_OK;
}
