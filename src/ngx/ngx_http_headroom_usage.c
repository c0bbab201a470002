
/*
 * headroom: what the provider says a call used, read from its response as
 * it passes (the core's usage reader; src/core/usage.h says where each API
 * puts it). The filters only look: every buffer goes on as it came, when
 * it came. Read are 2xx answers, JSON or an event stream, plain or encoded
 * (gzip, deflate, zstd, br: decoded on the side), in memory or in the file
 * nginx wrote them to (a large answer, or one proxy_cache keeps: read
 * back from the page cache, 8 MB at most). An answer cut short counts
 * what came, when the request ends. Only where something uses the
 * figures: a usage variable, $headroom_cost_usd, headroom_zone or a
 * budget; and a routed Responses answer, for its id.
 */


#include "ngx_http_headroom_module.h"


#define NGX_HTTP_HEADROOM_USAGE_READ      16384
#define NGX_HTTP_HEADROOM_USAGE_FILE_MAX  (8 * 1024 * 1024)


static ngx_int_t ngx_http_headroom_usage_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_headroom_usage_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_headroom_usage_read_file(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_buf_t *b);
static void ngx_http_headroom_usage_cleanup(void *data);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_headroom_usage_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_headroom_usage_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_headroom_usage_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_headroom_usage_header_filter(ngx_http_request_t *r)
{
    int                       event_stream;
    const char               *api;
    ngx_str_t                *type, *coding, model;
    headroom_encoding_e       encoding;
    ngx_pool_cleanup_t             *cln;
    ngx_http_headroom_ctx_t        *ctx;
    ngx_http_headroom_main_conf_t  *hmcf;

    static ngx_str_t  json = ngx_string("application/json");
    static ngx_str_t  events = ngx_string("text/event-stream");

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    if (r != r->main || (!hmcf->usage_used && hmcf->route_zone == NULL)) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);

    /* without usage to read, a routed Responses answer for its id only */

    if (ctx && !hmcf->usage_used && !ngx_http_headroom_route_chains(ctx)) {
        return ngx_http_next_header_filter(r);
    }

    if (ctx == NULL || ctx->answered || ctx->usage_reader
        || r->headers_out.status < NGX_HTTP_OK
        || r->headers_out.status >= NGX_HTTP_SPECIAL_RESPONSE
        || r->header_only)
    {
        return ngx_http_next_header_filter(r);
    }

    /*
     * The API of the request headroom read; of one it did not (bypassed,
     * another content type, too large), the API its path speaks: its
     * answer names the model that prices it.
     */

    if (ctx->ran && ngx_strcmp(ctx->result.shape, "unknown") != 0) {
        api = ctx->result.shape;

    } else {
        api = headroom_api_of_path((const char *) r->uri.data, r->uri.len);

        if (api == NULL) {
            return ngx_http_next_header_filter(r);
        }
    }

    encoding = HEADROOM_ENCODING_IDENTITY;

    if (r->headers_out.content_encoding
        && r->headers_out.content_encoding->hash)
    {
        coding = &r->headers_out.content_encoding->value;

        if (headroom_encoding_of((char *) coding->data, coding->len,
                                 &encoding)
            != 0)
        {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "headroom usage: \"%V\" answer, not read", coding);
            return ngx_http_next_header_filter(r);
        }
    }

#if (NGX_HTTP_CACHE)

    /* an answer from proxy_cache: no call was made, nothing billed */

    if (r->upstream
        && (r->upstream->cache_status == NGX_HTTP_CACHE_HIT
            || r->upstream->cache_status == NGX_HTTP_CACHE_STALE
            || r->upstream->cache_status == NGX_HTTP_CACHE_UPDATING
            || r->upstream->cache_status == NGX_HTTP_CACHE_REVALIDATED))
    {
        return ngx_http_next_header_filter(r);
    }

#endif

    type = &r->headers_out.content_type;

    if (type->len >= events.len
        && ngx_strncasecmp(type->data, events.data, events.len) == 0)
    {
        event_stream = 1;

    } else if (type->len >= json.len
               && ngx_strncasecmp(type->data, json.data, json.len) == 0)
    {
        event_stream = 0;

    } else {
        return ngx_http_next_header_filter(r);
    }

    /* without memory for the cleanup, the answer is not read: only that */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return ngx_http_next_header_filter(r);
    }

    ctx->usage_reader = headroom_usage_reader_create(api, event_stream,
                                                     encoding);

    if (ctx->usage_reader) {
        cln->handler = ngx_http_headroom_usage_cleanup;
        cln->data = ctx;

        if (ctx->result.request_tokens_whole) {
            model = ngx_http_headroom_model_sent(ctx);
            headroom_usage_reader_estimate(ctx->usage_reader, hmcf->tokenizers,
                                           (const char *) model.data,
                                           model.len,
                                           ctx->result.request_tokens);
        }
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_headroom_usage_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t                *b;
    ngx_chain_t              *cl;
    ngx_http_headroom_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_body_filter(r, in);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);

    if (ctx == NULL || ctx->usage_reader == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            headroom_usage_reader_feed(ctx->usage_reader, b->pos,
                                       b->last - b->pos);

        } else if (b->in_file && b->file && ngx_buf_size(b)
                   && ngx_http_headroom_usage_read_file(r, ctx, b) != NGX_OK)
        {
            /* not read, never guessed at */
            ngx_http_headroom_usage_cleanup(ctx);
            break;
        }

        if (b->last_buf) {
            ngx_http_headroom_usage_end(r, ctx);
            break;
        }
    }

    return ngx_http_next_body_filter(r, in);
}


/*
 * A buffer nginx wrote to a file (proxy_cache, or past proxy_buffers), read
 * back as it was just written: from the page cache.
 */

static ngx_int_t
ngx_http_headroom_usage_read_file(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_buf_t *b)
{
    off_t    pos;
    size_t   size;
    ssize_t  n;
    u_char   buf[NGX_HTTP_HEADROOM_USAGE_READ];

    for (pos = b->file_pos; pos < b->file_last; pos += n) {
        if (ctx->usage_file_read >= NGX_HTTP_HEADROOM_USAGE_FILE_MAX) {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "headroom usage: too much in the file, not read");
            return NGX_DECLINED;
        }

        size = (size_t) ngx_min(b->file_last - pos,
                                NGX_HTTP_HEADROOM_USAGE_READ);

        n = ngx_read_file(b->file, buf, size, pos);

        if (n <= 0) {
            return NGX_ERROR;
        }

        ctx->usage_file_read += n;
        headroom_usage_reader_feed(ctx->usage_reader, buf, n);
    }

    return NGX_OK;
}


/*
 * The answer has passed, or the request ends first: what came counts,
 * priced once for the zone, the budgets and $headroom_cost_usd.
 */

void
ngx_http_headroom_usage_end(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    ngx_str_t                       model;
    ngx_http_headroom_main_conf_t  *hmcf;

    if (ctx->usage_reader == NULL) {
        return;
    }

    headroom_usage_reader_finish(ctx->usage_reader, &ctx->usage);
    ngx_http_headroom_usage_cleanup(ctx);

    if (ctx->usage.response_id[0] && ngx_http_headroom_route_chains(ctx)) {
        ngx_http_headroom_route_chain(r, ctx);
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    if (!ctx->usage.found || !hmcf->usage_used) {
        return;
    }

    model = ngx_http_headroom_model_billed(ctx);

    ctx->usage_usd = headroom_cost_usd(hmcf->prices, (const char *) model.data,
                                       model.len, &ctx->usage);

    ngx_http_headroom_record_usage(r, ctx);
    ngx_http_headroom_budget_spend(r, ctx->usage_usd);
}


static void
ngx_http_headroom_usage_cleanup(void *data)
{
    ngx_http_headroom_ctx_t  *ctx = data;

    if (ctx->usage_reader) {
        headroom_usage_reader_free(ctx->usage_reader);
        ctx->usage_reader = NULL;
    }
}
