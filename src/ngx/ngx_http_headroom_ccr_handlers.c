
/*
 * headroom: two ways back to an original besides the model's tool. The
 * operator endpoint (headroom_ccr_endpoint): GET .../<id>[?lines=|items=|
 * grep=] answers the original, or the part asked for, as text/plain. MCP
 * (headroom_ccr_mcp): Streamable HTTP, JSON-RPC on POST, one tool. Both
 * take the tenant as the body filter does, so that a credential reaches
 * only what was stored under it; both read the zone, and Redis when the
 * zone misses (the request waits for it without blocking the worker).
 */


#include "ngx_http_headroom_ccr.h"


static ngx_int_t ngx_http_headroom_endpoint_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_headroom_endpoint_run(ngx_http_request_t *r);
static ngx_int_t ngx_http_headroom_mcp_handler(ngx_http_request_t *r);
static void ngx_http_headroom_mcp_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_headroom_mcp_run(ngx_http_request_t *r);
static void ngx_http_headroom_way_resume(ngx_http_request_t *r);
static void ngx_http_headroom_way_resumed(ngx_http_request_t *r);
static ngx_http_headroom_ctx_t *ngx_http_headroom_way_ctx(
    ngx_http_request_t *r, headroom_store_t *store);
static ngx_int_t ngx_http_headroom_not_allowed(ngx_http_request_t *r,
    char *methods);
static ngx_int_t ngx_http_headroom_reply(ngx_http_request_t *r,
    ngx_uint_t status, char *type, u_char *data, size_t len);
static ngx_int_t ngx_http_headroom_query(ngx_http_request_t *r, char *name,
    ngx_str_t *value);
static char *ngx_http_headroom_way(ngx_conf_t *cf,
    ngx_http_handler_pt handler);


char *
ngx_http_headroom_ccr_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    return ngx_http_headroom_way(cf, ngx_http_headroom_endpoint_handler);
}


char *
ngx_http_headroom_ccr_mcp(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_headroom_way(cf, ngx_http_headroom_mcp_handler);
}


static char *
ngx_http_headroom_way(ngx_conf_t *cf, ngx_http_handler_pt handler)
{
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_headroom_loc_conf_t   *hlcf;
    ngx_http_headroom_main_conf_t  *hmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = handler;

    hlcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_headroom_module);

    if (hlcf->enable == 1) {
        return "cannot go with \"headroom on\" in one location: "
               "headroom would read the requests meant for it";
    }

    /* a "headroom on" above is not for this location (see the merge) */

    hlcf->ccr_way = 1;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_headroom_module);
    hmcf->ccr_ways_used = 1;

    return NGX_CONF_OK;
}


/* the request's tenant and the store, as the body filter has them */

static ngx_http_headroom_ctx_t *
ngx_http_headroom_way_ctx(ngx_http_request_t *r, headroom_store_t *store)
{
    ngx_http_headroom_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_headroom_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ctx->length = -1;
        ctx->state = NGX_HTTP_HEADROOM_PASS;

        ngx_http_set_ctx(r, ctx, ngx_http_headroom_module);
    }

    if (ngx_http_headroom_ccr_before(r, ctx, store) != NGX_OK) {
        return NULL;
    }

    return ctx;
}


/*
 * Not for subrequests: a wait resumes through the connection's events,
 * which reach the main request only.
 */

static ngx_int_t
ngx_http_headroom_endpoint_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (r != r->main) {
        return NGX_HTTP_FORBIDDEN;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_headroom_not_allowed(r, "GET, HEAD");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_headroom_endpoint_run(r);

    if (rc == NGX_BUSY) {
        r->main->count++;
        return NGX_DONE;
    }

    return rc;
}


/*
 * NGX_BUSY: Redis was asked, and the request waits; anything else is for
 * ngx_http_finalize_request() (NGX_AGAIN included: the answer is being
 * sent)
 */

static ngx_int_t
ngx_http_headroom_endpoint_run(ngx_http_request_t *r)
{
    u_char                         *p, id[NGX_HTTP_HEADROOM_ID_LEN + 1];
    size_t                          len, i;
    ngx_int_t                       rc;
    ngx_str_t                       lines, items, grep;
    headroom_text_t                 out;
    headroom_store_e                state;
    headroom_store_t                store;
    const unsigned char            *text;
    ngx_http_headroom_ctx_t        *ctx;
    ngx_http_headroom_main_conf_t  *hmcf;

    static char  not_found[] = "no such original for this credential "
                               "(expired, or stored under another)\n";
    static char  unavailable[] = "the original is not available right now; "
                                 "ask again later\n";

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    /* the id is the last path segment */

    p = r->uri.data + r->uri.len;

    while (p > r->uri.data && p[-1] != '/') {
        p--;
    }

    len = r->uri.data + r->uri.len - p;

    for (i = 0; i < len && i < NGX_HTTP_HEADROOM_ID_LEN; i++) {
        id[i] = ngx_tolower(p[i]);

        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
        {
            break;
        }
    }

    if (len != NGX_HTTP_HEADROOM_ID_LEN || i != len) {
        ngx_http_headroom_ccr_count(hmcf->ccr_zone,
                                    NGX_HTTP_HEADROOM_WAY_ENDPOINT,
                                    HEADROOM_STORE_MISSING, 1);
        return ngx_http_headroom_reply(r, NGX_HTTP_NOT_FOUND, "text/plain",
                                       (u_char *) not_found,
                                       sizeof(not_found) - 1);
    }

    id[NGX_HTTP_HEADROOM_ID_LEN] = '\0';

    ctx = ngx_http_headroom_way_ctx(r, &store);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    state = ngx_http_headroom_ccr_lookup(r, (char *) id, &text, &len);

    if (ngx_http_headroom_ccr_must_wait(r, ctx)) {
        ctx->ccr->resume = ngx_http_headroom_way_resume;
        ctx->ccr->rerun = ngx_http_headroom_endpoint_run;

        if (ngx_http_headroom_wait_for_redis(r, ctx) == NGX_AGAIN) {
            return NGX_BUSY;
        }
    }

    if (ctx->ccr->asked) {
        state = ngx_http_headroom_ccr_lookup(r, (char *) id, &text, &len);
    }

    ngx_http_headroom_ccr_count(hmcf->ccr_zone,
                                NGX_HTTP_HEADROOM_WAY_ENDPOINT, state, 1);

    if (state == HEADROOM_STORE_MISSING) {
        return ngx_http_headroom_reply(r, NGX_HTTP_NOT_FOUND, "text/plain",
                                       (u_char *) not_found,
                                       sizeof(not_found) - 1);
    }

    if (state == HEADROOM_STORE_UNAVAILABLE) {
        return ngx_http_headroom_reply(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                       "text/plain", (u_char *) unavailable,
                                       sizeof(unavailable) - 1);
    }

    if (ngx_http_headroom_query(r, "lines", &lines) != NGX_OK
        || ngx_http_headroom_query(r, "items", &items) != NGX_OK
        || ngx_http_headroom_query(r, "grep", &grep) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (lines.len == 0 && items.len == 0 && grep.len == 0) {
        return ngx_http_headroom_reply(r, NGX_HTTP_OK,
                                       "text/plain",
                                       (u_char *) text, len);
    }

    rc = headroom_retrieve_select(text, len, (char *) lines.data, lines.len,
                                  (char *) items.data, items.len,
                                  (char *) grep.data, grep.len, &out);

    if (out.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* lines end with a newline; nothing found is an empty body */

    len = out.len ? out.len + 1 : 0;
    p = ngx_pnalloc(r->pool, out.len + 1);

    if (p) {
        ngx_memcpy(p, out.data, out.len);
        p[out.len] = '\n';
    }
    headroom_text_free(&out);

    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_headroom_reply(r, rc == 0 ? NGX_HTTP_OK
                                              : NGX_HTTP_BAD_REQUEST,
                                   "text/plain", p, len);
}



/* the query argument, decoded; empty when absent */

static ngx_int_t
ngx_http_headroom_query(ngx_http_request_t *r, char *name, ngx_str_t *value)
{
    u_char  *dst, *src;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), value) != NGX_OK) {
        ngx_str_null(value);
        return NGX_OK;
    }

    dst = ngx_pnalloc(r->pool, value->len + 1);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    /* form encoding, as curl -G --data-urlencode and browsers send it */

    for (src = value->data; src < value->data + value->len; src++) {
        if (*src == '+') {
            *src = ' ';
        }
    }

    src = value->data;
    value->data = dst;

    ngx_unescape_uri(&dst, &src, value->len, 0);

    value->len = dst - value->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_headroom_mcp_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (r != r->main) {
        return NGX_HTTP_FORBIDDEN;
    }

    if (r->method != NGX_HTTP_POST) {
        /* no server-sent stream of our own, and no sessions to end */
        return ngx_http_headroom_not_allowed(r, "POST");
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_headroom_mcp_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_headroom_mcp_body(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_headroom_mcp_run(r);

    if (rc != NGX_BUSY) {
        ngx_http_finalize_request(r, rc);
    }
}


static ngx_int_t
ngx_http_headroom_mcp_run(ngx_http_request_t *r)
{
    u_char                         *p;
    size_t                          len;
    ngx_int_t                       status;
    ngx_buf_t                      *b;
    ngx_chain_t                    *cl;
    headroom_text_t                 out;
    headroom_store_t                store;
    ngx_http_headroom_ctx_t        *ctx;
    headroom_mcp_counts_t           counts;
    ngx_http_headroom_loc_conf_t   *hlcf;
    ngx_http_headroom_main_conf_t  *hmcf;

    static char  too_large[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":"
                               "{\"code\":-32600,\"message\":\"the request "
                               "is larger than client_body_buffer_size\"}}";

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    ctx = ngx_http_headroom_way_ctx(r, &store);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->data == NULL && r->request_body) {
        /* the body, in one piece, once */

        len = 0;

        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            b = cl->buf;

            if (b->in_file && !ngx_buf_in_memory(b)) {
                return ngx_http_headroom_reply(r, NGX_HTTP_BAD_REQUEST,
                                               "application/json",
                                               (u_char *) too_large,
                                               sizeof(too_large) - 1);
            }

            len += b->last - b->pos;
        }

        ctx->data = ngx_pnalloc(r->pool, len ? len : 1);
        if (ctx->data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ctx->data;

        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }

        ctx->len = len;
    }

    for ( ;; ) {
        hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);

        status = headroom_mcp_respond(ctx->data, ctx->len, &store,
                                      hlcf->max_body_size, &out, &counts);

        if (!ngx_http_headroom_ccr_must_wait(r, ctx)) {
            break;
        }

        headroom_text_free(&out);

        ctx->ccr->resume = ngx_http_headroom_way_resume;
        ctx->ccr->rerun = ngx_http_headroom_mcp_run;

        if (ngx_http_headroom_wait_for_redis(r, ctx) == NGX_AGAIN) {
            return NGX_BUSY;
        }
    }

    if (status < 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_headroom_ccr_count(hmcf->ccr_zone, NGX_HTTP_HEADROOM_WAY_MCP,
                                HEADROOM_STORE_FOUND, counts.found);
    ngx_http_headroom_ccr_count(hmcf->ccr_zone, NGX_HTTP_HEADROOM_WAY_MCP,
                                HEADROOM_STORE_MISSING, counts.missing);
    ngx_http_headroom_ccr_count(hmcf->ccr_zone, NGX_HTTP_HEADROOM_WAY_MCP,
                                HEADROOM_STORE_UNAVAILABLE,
                                counts.unavailable);

    p = NULL;
    len = out.len;

    if (out.data) {
        p = ngx_pnalloc(r->pool, len ? len : 1);

        if (p) {
            ngx_memcpy(p, out.data, len);
        }

        headroom_text_free(&out);

        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_headroom_reply(r, status, "application/json", p, len);
}




/* from Redis's reply: on the request's own turn, not inside hiredis */

static void
ngx_http_headroom_way_resume(ngx_http_request_t *r)
{
    r->write_event_handler = ngx_http_headroom_way_resumed;
    ngx_post_event(r->connection->write, &ngx_posted_events);
}


static void
ngx_http_headroom_way_resumed(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_http_headroom_ctx_t  *ctx;

    r->write_event_handler = ngx_http_request_empty_handler;

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);

    rc = ctx->ccr->rerun(r);

    /* Redis was asked once: it is not asked again */

    ngx_http_finalize_request(r, rc == NGX_BUSY
                                 ? NGX_HTTP_INTERNAL_SERVER_ERROR : rc);
}


/* 405, saying what is allowed */

static ngx_int_t
ngx_http_headroom_not_allowed(ngx_http_request_t *r, char *methods)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *allow;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    allow = ngx_list_push(&r->headers_out.headers);
    if (allow == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    allow->hash = 1;
    ngx_str_set(&allow->key, "Allow");
    allow->value.data = (u_char *) methods;
    allow->value.len = ngx_strlen(methods);

    return ngx_http_headroom_reply(r, NGX_HTTP_NOT_ALLOWED, NULL, NULL, 0);
}


/* a whole answer, sized exactly; no body for a NULL `data` */

static ngx_int_t
ngx_http_headroom_reply(ngx_http_request_t *r, ngx_uint_t status, char *type,
    u_char *data, size_t len)
{
    ngx_int_t    rc;
    ngx_buf_t   *b;
    ngx_chain_t  out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = data ? (off_t) len : 0;

    if (type) {
        r->headers_out.content_type.data = (u_char *) type;
        r->headers_out.content_type.len = ngx_strlen(type);
        r->headers_out.content_type_len = r->headers_out.content_type.len;
        r->headers_out.content_type_lowcase = NULL;

        if (ngx_strcmp(type, "text/plain") == 0) {
            ngx_str_set(&r->headers_out.charset, "utf-8");
        }
    }

    if (data == NULL || len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
