
/*
 * headroom: the request body path.
 *
 * A precontent phase handler reads the whole body before the content
 * handler runs, as mirror_request_body does. The rewrite is then done
 * before proxy_pass builds its request, whatever proxy_request_buffering
 * says, and before any subrequest can share the body.
 *
 * The request body filter collects the body in its own memory. At the
 * last buffer it hands the bytes to the core and passes on one buffer:
 * the rewritten body with a new Content-Length, or the original bytes.
 */


#include "ngx_http_headroom_ccr.h"
#include "ngx_http_headroom_cache.h"


#define NGX_HTTP_HEADROOM_MIN_ALLOC 16384
#define NGX_HTTP_HEADROOM_KINDS_LEN (HEADROOM_CONTENT_KINDS * 80)
#define NGX_HTTP_HEADROOM_PREFIX_LEN 800
#define NGX_HTTP_HEADROOM_WIRE_LEN   (sizeof(", deflate, 18446744073709551615 bytes on the wire") - 1)


/* bodies over this many times headroom_thread_offload: to the pool at once */
#define NGX_HTTP_HEADROOM_OFFLOAD_AT_ONCE  16


static ngx_int_t ngx_http_headroom_read_handler(ngx_http_request_t *r);
static void ngx_http_headroom_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_headroom_keep_length(ngx_http_request_t *r);
static ngx_http_headroom_ctx_t *ngx_http_headroom_create_ctx(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_headroom_skip_reason(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
static ngx_uint_t ngx_http_headroom_is_json(ngx_http_request_t *r);
static ngx_int_t ngx_http_headroom_encoding(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
static ngx_int_t ngx_http_headroom_start_decoding(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
static void ngx_http_headroom_decoder_cleanup(void *data);
static ngx_int_t ngx_http_headroom_decode(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_buf_t *b);
static ngx_int_t ngx_http_headroom_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_headroom_collect(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_headroom_append(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_buf_t *b);
static ngx_int_t ngx_http_headroom_pass(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_chain_t *rest, headroom_reason_e reason);
static ngx_int_t ngx_http_headroom_finish(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
static ngx_int_t ngx_http_headroom_set_content_length(ngx_http_request_t *r,
    off_t n);
static ngx_str_t ngx_http_headroom_prefix(ngx_http_headroom_ctx_t *ctx,
    u_char *buf, size_t len);
static u_char *ngx_http_headroom_log_model(u_char *p, u_char *last,
    const char *model);
static ngx_str_t ngx_http_headroom_kinds(headroom_result_t *res, u_char *buf,
    size_t len);
static ngx_int_t ngx_http_headroom_run(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_http_headroom_loc_conf_t *hlcf,
    unsigned flags, const u_char *body, size_t len);
static void ngx_http_headroom_count_passed(ngx_http_headroom_ctx_t *ctx,
    ngx_chain_t *in);
static ngx_str_t ngx_http_headroom_wire(ngx_http_headroom_ctx_t *ctx,
    u_char *buf, size_t len);
static void ngx_http_headroom_result_cleanup(void *data);
static ngx_int_t ngx_http_headroom_log_handler(ngx_http_request_t *r);


static ngx_http_request_body_filter_pt   ngx_http_next_request_body_filter;


ngx_int_t
ngx_http_headroom_body_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_headroom_read_handler;

    /* budgets, where limit_req keeps its limits */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_headroom_budget_check;

    /*
     * First in the log phase, before any access log reads a variable: a
     * request that never got its body through has its outcome by then.
     */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h = cmcf->phases[NGX_HTTP_LOG_PHASE].handlers.elts;
    ngx_memmove(&h[1], &h[0], (cmcf->phases[NGX_HTTP_LOG_PHASE].handlers.nelts
                               - 1) * sizeof(ngx_http_handler_pt));
    h[0] = ngx_http_headroom_log_handler;

    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_headroom_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_headroom_read_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_http_headroom_ctx_t       *ctx;
    ngx_http_headroom_loc_conf_t  *hlcf;

    if (r != r->main || r->discard_body) {
        return NGX_DECLINED;
    }

    if (r->request_body) {
        /* read before, by us (resuming here) or by another module */

        ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);

        if (ctx && ctx->mode == NGX_HTTP_HEADROOM_SIMULATE
            && ctx->outcome != NGX_HTTP_HEADROOM_BYPASS && !ctx->answered)
        {
            ngx_http_finalize_request(r, ngx_http_headroom_simulate(r, ctx));
            return NGX_DONE;
        }

        return ngx_http_headroom_keep_length(r) == NGX_OK
               ? NGX_DECLINED : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);

    if (!hlcf->enable) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_headroom_create_ctx(r);

    if (ctx == NULL || ctx->outcome == NGX_HTTP_HEADROOM_BYPASS) {
        return NGX_DECLINED;
    }

    /* simulate mode answers every request, once its body is in */

    if (ctx->state != NGX_HTTP_HEADROOM_COLLECT
        && ctx->mode != NGX_HTTP_HEADROOM_SIMULATE)
    {
        return NGX_DECLINED;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_headroom_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


/*
 * The body is in. Phases resume at our handler, which then finds
 * r->request_body and puts the rewritten length back (keep_length).
 */

static void
ngx_http_headroom_body_read(ngx_http_request_t *r)
{
    /* keep the body across internal redirects */

    r->preserve_body = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/*
 * HTTP/2 sets content_length_n to the bytes received after the body filters
 * ran, when the client sent no content-length: the rewritten length is put
 * back once the whole body is in, before any content handler reads it. A
 * module that replaced the body since (Lua's ngx.req.set_body_data) wrote
 * a Content-Length header of its own over ours: its length stands.
 */

static ngx_int_t
ngx_http_headroom_keep_length(ngx_http_request_t *r)
{
    ngx_table_elt_t          *h;
    ngx_http_headroom_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);

    if (ctx == NULL
        || ctx->length < 0
        || ctx->length == r->headers_in.content_length_n)
    {
        return NGX_OK;
    }

    h = r->headers_in.content_length;

    if (h && ngx_atoof(h->value.data, h->value.len) != ctx->length) {
        return NGX_OK;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "headroom: content length %O reset to %O",
                   r->headers_in.content_length_n, ctx->length);

    return ngx_http_headroom_set_content_length(r, ctx->length);
}


static ngx_http_headroom_ctx_t *
ngx_http_headroom_create_ctx(ngx_http_request_t *r)
{
    ngx_int_t                 reason;
    ngx_http_headroom_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);
    if (ctx) {
        return ctx;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_headroom_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->length = -1;

    ngx_http_set_ctx(r, ctx, ngx_http_headroom_module);

    ngx_http_headroom_count_seen(r);

    if (ngx_http_headroom_take_control(r, ctx) != NGX_OK) {
        return NULL;
    }

    if (ctx->outcome == NGX_HTTP_HEADROOM_BYPASS) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "headroom: bypass: X-Headroom-Bypass");
        ctx->state = NGX_HTTP_HEADROOM_PASS;
        ngx_http_headroom_record(r, ctx);
        return ctx;
    }

    reason = (r->method != NGX_HTTP_POST)
             ? HEADROOM_REASON_NOT_POST
             : ngx_http_headroom_skip_reason(r, ctx);

    if (reason != NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "headroom: passthrough: %s",
                      headroom_reason_name(reason));
        ctx->state = NGX_HTTP_HEADROOM_PASS;
        ctx->outcome = NGX_HTTP_HEADROOM_PASSTHROUGH;
        ctx->reason = reason;
        ngx_http_headroom_record(r, ctx);
        return ctx;
    }

    ctx->state = NGX_HTTP_HEADROOM_COLLECT;

    return ctx;
}


/* a reason to leave the body alone, or NGX_DECLINED */

static ngx_int_t
ngx_http_headroom_skip_reason(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    ngx_int_t                      reason;
    ngx_http_headroom_loc_conf_t  *hlcf;

    if (!ngx_http_headroom_is_json(r)) {
        return HEADROOM_REASON_NOT_JSON;
    }

    if (!headroom_path_may_rewrite((const char *) r->uri.data, r->uri.len)) {
        return HEADROOM_REASON_UNKNOWN_SHAPE;
    }

    reason = ngx_http_headroom_encoding(r, ctx);

    if (reason != NGX_DECLINED) {
        return reason;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);

    if (r->headers_in.content_length_n > (off_t) hlcf->max_body_size) {
        return HEADROOM_REASON_TOO_LARGE;
    }

    return NGX_DECLINED;
}


/* application/json, in any case, with or without parameters */

static ngx_uint_t
ngx_http_headroom_is_json(ngx_http_request_t *r)
{
    u_char     c;
    ngx_str_t  *v;

    static const char  type[] = "application/json";

    if (r->headers_in.content_type == NULL) {
        return 0;
    }

    v = &r->headers_in.content_type->value;

    if (v->len < sizeof(type) - 1
        || ngx_strncasecmp(v->data, (u_char *) type, sizeof(type) - 1) != 0)
    {
        return 0;
    }

    if (v->len == sizeof(type) - 1) {
        return 1;
    }

    c = v->data[sizeof(type) - 1];

    return c == ';' || c == ' ' || c == '\t';
}


/*
 * The body's Content-Encoding, in ctx->encoding: one that headroom
 * decodes (identity, gzip, x-gzip, deflate, zstd), or unknown_encoding for
 * any other and for more than one ("gzip, br", or two headers).
 */

static ngx_int_t
ngx_http_headroom_encoding(ngx_http_request_t *r, ngx_http_headroom_ctx_t *ctx)
{
    ngx_uint_t            i, n;
    ngx_list_part_t      *part;
    ngx_table_elt_t      *h;
    headroom_encoding_e   e;

    ctx->encoding = HEADROOM_ENCODING_IDENTITY;
    n = 0;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0
            || h[i].key.len != sizeof("Content-Encoding") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Content-Encoding",
                               sizeof("Content-Encoding") - 1) != 0)
        {
            continue;
        }

        if (headroom_encoding_of((char *) h[i].value.data, h[i].value.len, &e)
            != 0)
        {
            return HEADROOM_REASON_UNKNOWN_ENCODING;
        }

        if (e == HEADROOM_ENCODING_IDENTITY) {
            continue;
        }

        if (n++) {
            return HEADROOM_REASON_UNKNOWN_ENCODING;
        }

        ctx->encoding = e;
    }

    ctx->coded = 1;

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_headroom_start_decoding(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    size_t                         declared;
    ngx_pool_cleanup_t            *cln;
    ngx_http_headroom_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    declared = r->headers_in.content_length_n > 0
               ? (size_t) r->headers_in.content_length_n : 0;

    ctx->decoder = headroom_decoder_create(hlcf->config, ctx->encoding,
                                           declared);
    if (ctx->decoder == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_headroom_decoder_cleanup;
    cln->data = ctx->decoder;

    return NGX_OK;
}


static void
ngx_http_headroom_decoder_cleanup(void *data)
{
    headroom_decoder_destroy(data);
}


/* the buffer's bytes to the decoder: NGX_OK, or a reason to give up */

static ngx_int_t
ngx_http_headroom_decode(ngx_http_request_t *r, ngx_http_headroom_ctx_t *ctx,
    ngx_buf_t *b)
{
    switch (headroom_decoder_feed(ctx->decoder, b->pos, b->last - b->pos,
                                  b->last_buf))
    {
    case HEADROOM_DECODE_MORE:
    case HEADROOM_DECODE_DONE:
        return NGX_OK;

    case HEADROOM_DECODE_TOO_LARGE:
        return HEADROOM_REASON_DECODED_TOO_LARGE;

    case HEADROOM_DECODE_ERROR:
        return HEADROOM_REASON_DECODE_ERROR;

    default:
        return HEADROOM_REASON_NO_MEMORY;
    }
}


static ngx_int_t
ngx_http_headroom_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_http_headroom_ctx_t       *ctx;
    ngx_http_headroom_loc_conf_t  *hlcf;

    if (r != r->main) {
        return ngx_http_next_request_body_filter(r, in);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);

    if (ctx == NULL) {
        /* the body is read by someone before our phase handler ran */

        hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);

        if (!hlcf->enable) {
            return ngx_http_next_request_body_filter(r, in);
        }

        ctx = ngx_http_headroom_create_ctx(r);

        if (ctx == NULL) {
            return ngx_http_next_request_body_filter(r, in);
        }
    }

    if (ctx->state == NGX_HTTP_HEADROOM_COLLECT) {
        return ngx_http_headroom_collect(r, ctx, in);
    }

    if (ctx->state == NGX_HTTP_HEADROOM_WAIT) {
        /*
         * The whole body is held while Redis answers; nginx calls again
         * (with nothing new) once ngx_http_headroom_resume() posted the
         * read event, and reading ends when the last buffer goes on.
         */

        if (ctx->task || (ctx->ccr && ctx->ccr->wait)
            || ngx_http_headroom_route_waiting(ctx)
            || ngx_http_headroom_summarize_waiting(ctx))
        {
            return NGX_OK;
        }

        return ngx_http_headroom_finish(r, ctx);
    }

    if (ctx->started) {
        ngx_http_headroom_count_passed(ctx, in);
    }

    return ngx_http_next_request_body_filter(r, in);
}


/*
 * The bytes of a body headroom gave up on mid-way, as they go by: the zone
 * counts a body's bytes on the wire whole (the rest at the log phase).
 */

static void
ngx_http_headroom_count_passed(ngx_http_headroom_ctx_t *ctx, ngx_chain_t *in)
{
    ngx_chain_t  *cl;

    for (cl = in; cl; cl = cl->next) {
        ctx->passed += ngx_buf_size(cl->buf);
    }
}


static ngx_int_t
ngx_http_headroom_collect(ngx_http_request_t *r, ngx_http_headroom_ctx_t *ctx,
    ngx_chain_t *in)
{
    ngx_int_t                      rc;
    ngx_buf_t                     *b;
    ngx_uint_t                     last;
    ngx_chain_t                   *cl;
    ngx_http_headroom_loc_conf_t  *hlcf;

    if (!ctx->started) {
        ctx->started = 1;

        if (r->request_body_no_buffering) {
            /* the headers may be gone with the old length already */
            return ngx_http_headroom_pass(r, ctx, in,
                                          HEADROOM_REASON_UNBUFFERED);
        }

        r->request_body->filter_need_buffering = 1;

        if (ctx->encoding != HEADROOM_ENCODING_IDENTITY
            && ngx_http_headroom_start_decoding(r, ctx) != NGX_OK)
        {
            return ngx_http_headroom_pass(r, ctx, in,
                                          HEADROOM_REASON_NO_MEMORY);
        }
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);
    last = 0;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (!ngx_buf_in_memory(b) && ngx_buf_size(b) != 0) {
            return ngx_http_headroom_pass(r, ctx, cl,
                                          HEADROOM_REASON_BODY_IN_FILE);
        }

        if ((size_t) (b->last - b->pos) > hlcf->max_body_size - ctx->len) {
            return ngx_http_headroom_pass(r, ctx, cl,
                                          HEADROOM_REASON_TOO_LARGE);
        }

        if (ctx->decoder) {
            rc = ngx_http_headroom_decode(r, ctx, b);

            if (rc != NGX_OK) {
                return ngx_http_headroom_pass(r, ctx, cl,
                                              (headroom_reason_e) rc);
            }
        }

        if (ngx_http_headroom_append(r, ctx, b) != NGX_OK) {
            return ngx_http_headroom_pass(r, ctx, cl,
                                          HEADROOM_REASON_NO_MEMORY);
        }

        if (b->last_buf) {
            last = 1;
        }
    }

    if (last) {
        return ngx_http_headroom_finish(r, ctx);
    }

    if (in == NULL) {
        return ngx_http_next_request_body_filter(r, NULL);
    }

    return NGX_OK;
}


/* copies the buffer into ctx->data and marks it consumed */

static ngx_int_t
ngx_http_headroom_append(ngx_http_request_t *r, ngx_http_headroom_ctx_t *ctx,
    ngx_buf_t *b)
{
    size_t                         n, size;
    u_char                        *data;
    ngx_http_headroom_loc_conf_t  *hlcf;

    n = b->last - b->pos;

    if (n == 0) {
        return NGX_OK;
    }

    if (ctx->size - ctx->len < n) {
        hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);

        if (ctx->size == 0 && r->headers_in.content_length_n > 0) {
            size = (size_t) r->headers_in.content_length_n;

        } else {
            size = ngx_max(ctx->size * 2, NGX_HTTP_HEADROOM_MIN_ALLOC);
        }

        size = ngx_max(size, ctx->len + n);
        size = ngx_min(size, ngx_max(hlcf->max_body_size, ctx->len + n));

        data = ngx_palloc(r->pool, size);
        if (data == NULL) {
            return NGX_ERROR;
        }

        if (ctx->len) {
            ngx_memcpy(data, ctx->data, ctx->len);
        }

        if (ctx->data) {
            ngx_pfree(r->pool, ctx->data);
        }

        ctx->data = data;
        ctx->size = size;
    }

    ngx_memcpy(ctx->data + ctx->len, b->pos, n);
    ctx->len += n;
    b->pos = b->last;

    return NGX_OK;
}


/* gives up: what was collected and the rest go on untouched */

static ngx_int_t
ngx_http_headroom_pass(ngx_http_request_t *r, ngx_http_headroom_ctx_t *ctx,
    ngx_chain_t *rest, headroom_reason_e reason)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ctx->state = NGX_HTTP_HEADROOM_PASS;
    ctx->reason = reason;

    ngx_http_headroom_count_passed(ctx, rest);

    if (headroom_reason_is_failure(reason)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "headroom: passthrough: %s",
                      headroom_reason_name(reason));
        ctx->outcome = NGX_HTTP_HEADROOM_FAILED;

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "headroom: passthrough: %s",
                      headroom_reason_name(reason));
        ctx->outcome = NGX_HTTP_HEADROOM_PASSTHROUGH;
    }

    ngx_http_headroom_record(r, ctx);

    if (ctx->len == 0) {
        return ngx_http_next_request_body_filter(r, rest);
    }

    b = ngx_calloc_buf(r->pool);
    cl = ngx_alloc_chain_link(r->pool);

    if (b == NULL || cl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = ctx->data;
    b->last = ctx->data + ctx->len;
    b->memory = 1;

    cl->buf = b;
    cl->next = rest;

    return ngx_http_next_request_body_filter(r, cl);
}


static ngx_int_t
ngx_http_headroom_finish(ngx_http_request_t *r, ngx_http_headroom_ctx_t *ctx)
{
    u_char                          kinds_buf[NGX_HTTP_HEADROOM_KINDS_LEN];
    u_char                          prefix_buf[NGX_HTTP_HEADROOM_PREFIX_LEN];
    u_char                          wire_buf[NGX_HTTP_HEADROOM_WIRE_LEN];
    size_t                          len;
    unsigned                        flags;
    ngx_buf_t                      *b;
    ngx_str_t                       kinds, prefix, status, wire;
    ngx_int_t                       rc;
    ngx_uint_t                      level;
    const u_char                   *body;
    ngx_chain_t                     out;
    headroom_result_t              *res;
    ngx_pool_cleanup_t             *cln;
    ngx_http_headroom_loc_conf_t   *hlcf;
    ngx_http_headroom_main_conf_t  *hmcf;

    static ngx_str_t  content_encoding = ngx_string("Content-Encoding");

    ctx->state = NGX_HTTP_HEADROOM_DONE;

    /* the last_buf flag is ours to send now: no buffer, no body */

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last_buf = 1;

    out.buf = b;
    out.next = NULL;

    if (ctx->len == 0) {
        /* a special buffer: an empty one in memory is an [alert] */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "headroom: passthrough: empty");
        ctx->outcome = NGX_HTTP_HEADROOM_PASSTHROUGH;
        ctx->reason = HEADROOM_REASON_EMPTY;
        ngx_http_headroom_record(r, ctx);
        return ngx_http_next_request_body_filter(r, &out);
    }

    b->memory = 1;

    res = &ctx->result;

    /* once: a request that waited for Redis comes here again */

    cln = NULL;

    if (!ctx->cleanup) {
        cln = ngx_pool_cleanup_add(r->pool, 0);

        if (cln) {
            cln->handler = ngx_http_headroom_result_cleanup;
            cln->data = res;
            ctx->cleanup = 1;
        }
    }

    if (!ctx->cleanup) {
        res->outcome = HEADROOM_PASSTHROUGH;
        res->reason = HEADROOM_REASON_NO_MEMORY;
        res->detail = "";
        res->shape = "unknown";
        res->encoding = "";
        res->prefix_hash = "";
        res->answer_key = "";

    } else {
        hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);
        hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);

        body = ctx->data;
        len = ctx->len;

        if (ctx->decoder) {
            body = headroom_decoder_data(ctx->decoder, &len);
        }

        flags = (hmcf->prefix_hash || hlcf->stabilize_prefix)
                ? HEADROOM_WANT_PREFIX_HASH : 0;

        if (hmcf->cache_key) {
            /* of what goes upstream: only optimize mode sends a rewrite */
            flags |= HEADROOM_WANT_ANSWER_KEY;

            if (ctx->mode != NGX_HTTP_HEADROOM_OPTIMIZE) {
                flags |= HEADROOM_ANSWER_KEY_OF_ORIGINAL;
            }
        }

        if (hmcf->usage_used) {
            /* spend is estimated from it where an answer will not say */
            flags |= HEADROOM_WANT_REQUEST_TOKENS;
        }

        rc = ngx_http_headroom_run(r, ctx, hlcf, flags, body, len);

        if (rc == NGX_AGAIN) {
            /* Redis was asked: the body is held until it answers */
            ctx->state = NGX_HTTP_HEADROOM_WAIT;
            return NGX_OK;
        }
    }

    kinds = ngx_http_headroom_kinds(res, kinds_buf, sizeof(kinds_buf));
    prefix = ngx_http_headroom_prefix(ctx, prefix_buf, sizeof(prefix_buf));
    wire = ngx_http_headroom_wire(ctx, wire_buf, sizeof(wire_buf));

    b->pos = ctx->data;
    b->last = ctx->data + ctx->len;

    if (res->outcome == HEADROOM_REWRITTEN) {
        ctx->outcome = NGX_HTTP_HEADROOM_OPTIMIZED;

        if (ctx->mode == NGX_HTTP_HEADROOM_OPTIMIZE) {

            /* the rewritten body goes as identity: the header first */

            if (ctx->decoder == NULL
                || ngx_http_headroom_remove_headers(r, &content_encoding)
                   == NGX_OK)
            {
                rc = ngx_http_headroom_set_content_length(r, res->body_len);

            } else {
                rc = NGX_ERROR;
            }

            if (rc == NGX_OK) {
                rc = ngx_http_headroom_route_path(r, ctx);
            }

            if (rc == NGX_OK) {
                b->pos = (u_char *) res->body;
                b->last = (u_char *) res->body + res->body_len;

                ctx->length = res->body_len;

            } else {
                ctx->outcome = NGX_HTTP_HEADROOM_FAILED;
                ctx->reason = HEADROOM_REASON_NO_MEMORY;
            }
        }

    } else {
        ctx->reason = res->reason;
        ctx->outcome = headroom_reason_is_failure(res->reason)
                       ? NGX_HTTP_HEADROOM_FAILED
                       : NGX_HTTP_HEADROOM_PASSTHROUGH;
    }

    status = ngx_http_headroom_status_text(r, ctx);

    if (ctx->outcome == NGX_HTTP_HEADROOM_OPTIMIZED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "headroom: %V%s: %s, %uz -> %uz bytes%V, "
                      "tool output tokens %uz -> %uz (%s%s), "
                      "%uz of %uz tool outputs minified, "
                      "%uz crushed (%uz items or lines omitted), "
                      "kinds:%V%V, %ui us%s",
                      &status, ctx->mode == NGX_HTTP_HEADROOM_AUDIT
                               ? " (original forwarded)" : "",
                      res->shape, ngx_http_headroom_decoded_len(ctx),
                      res->body_len, &wire,
                      res->tokens_before, res->tokens_after, res->encoding,
                      res->tokens_estimated ? ", estimated" : "",
                      res->minified, res->tool_outputs, res->crushed,
                      res->omitted, &kinds, &prefix, ctx->time_us,
                      ctx->threaded ? " in a thread" : "");

    } else {
        level = (ctx->outcome == NGX_HTTP_HEADROOM_FAILED) ? NGX_LOG_ERR
                                                            : NGX_LOG_INFO;

        ngx_log_error(level, r->connection->log, 0,
                      "headroom: passthrough: %s%s%s (%s, %uz bytes%V), "
                      "kinds:%V%V, %ui us%s",
                      headroom_reason_name(ctx->reason),
                      res->detail[0] ? ": " : "", res->detail,
                      res->shape, ngx_http_headroom_decoded_len(ctx), &wire,
                      &kinds, &prefix, ctx->time_us,
                      ctx->threaded ? " in a thread" : "");
    }

    ngx_http_headroom_record(r, ctx);

    return ngx_http_next_request_body_filter(r, &out);
}


/* ", gzip, 5120 bytes on the wire": a compressed body's, else "" */

static ngx_str_t
ngx_http_headroom_wire(ngx_http_headroom_ctx_t *ctx, u_char *buf, size_t len)
{
    ngx_str_t  s;

    s.data = buf;
    s.len = 0;

    if (ctx->encoding != HEADROOM_ENCODING_IDENTITY) {
        s.len = ngx_snprintf(buf, len, ", %s, %uz bytes on the wire",
                             headroom_encoding_name(ctx->encoding), ctx->len)
                - buf;
    }

    return s;
}


/* the body's bytes as the core read them: decoded */

size_t
ngx_http_headroom_decoded_len(ngx_http_headroom_ctx_t *ctx)
{
    size_t  len;

    if (ctx->decoder == NULL) {
        return ctx->len;
    }

    (void) headroom_decoder_data(ctx->decoder, &len);

    return len;
}


/*
 * The core, timed. Where headroom_ccr is on, it reads the originals that
 * retrievals name from the zone; those only Redis may have are asked for
 * (NGX_AGAIN: the request waits) and the core runs again with them; so are
 * summaries, of headroom_summarize's location. With
 * headroom_thread_pool, more new tool output than headroom_thread_offload
 * goes to a thread (NGX_AGAIN: the request waits, and comes here again
 * with the thread's result).
 */

static ngx_int_t
ngx_http_headroom_run(ngx_http_request_t *r, ngx_http_headroom_ctx_t *ctx,
    ngx_http_headroom_loc_conf_t *hlcf, unsigned flags, const u_char *body,
    size_t len)
{
    ngx_int_t                       rc;
    struct timespec                 start;
    headroom_env_t                  env;
    headroom_store_t               *store, s;
    headroom_cache_t                cache;
    headroom_sessions_t             sessions;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    store = NULL;

    /* audit mode sends the original: no fill to wait for, nothing to keep */

    if (hlcf->ccr && ctx->mode != NGX_HTTP_HEADROOM_AUDIT
        && ngx_http_headroom_ccr_before(r, ctx, &s) == NGX_OK)
    {
        store = &s;

        /* no tenant, no original kept: nothing may be taken away whole */

        if (ctx->ccr->anonymous) {
            flags |= HEADROOM_ORIGINALS_NOT_KEPT;
        }
    }

    if (ctx->threaded) {
        goto done;
    }

    env.store = store;
    env.cache = NULL;
    env.offload_above = hlcf->thread_pool ? hlcf->thread_offload : 0;

    if (hmcf->cache_zone) {
        ngx_http_headroom_cache_init(hmcf->cache_zone, &cache);
        env.cache = &cache;
    }

    env.sessions = NULL;
    env.session_scope = NULL;
    env.session_scope_len = 0;

    if (hmcf->route_zone && hlcf->compiled_routes) {
        (void) ngx_http_headroom_sessions_init(r, ctx, &sessions, &env);
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &start);

    /*
     * A body many times the bound goes to the pool at once: even looking
     * its outputs up would hold the worker for milliseconds. Not with
     * retrievals to fill (the tool's name in it): those are looked up
     * here first.
     */

    if (env.offload_above
        && len > NGX_HTTP_HEADROOM_OFFLOAD_AT_ONCE * env.offload_above
        && (store == NULL
            || memmem(body, len, "headroom_retrieve",
                      sizeof("headroom_retrieve") - 1) == NULL))
    {
        if (ngx_http_headroom_thread_post(r, ctx, hlcf, flags, body, len)
            == NGX_OK)
        {
            return NGX_AGAIN;
        }

        /* no thread to be had: here, then */
        env.offload_above = 0;
    }

    for ( ;; ) {
        headroom_process_in(hlcf->config, flags,
                            (const char *) r->uri.data, r->uri.len,
                            body, len, &env, &ctx->result);

        if (ngx_http_headroom_route_must_wait(r, ctx)) {
            headroom_result_free(&ctx->result);

            rc = ngx_http_headroom_route_ask(r, ctx);

            if (rc == NGX_AGAIN) {
                ctx->time_us += ngx_http_headroom_us_since(&start);
                return NGX_AGAIN;
            }

            /* Redis out of reach: this node's decision, kept, stands */
            continue;
        }

        if (store && ngx_http_headroom_ccr_must_wait(r, ctx)) {
            headroom_result_free(&ctx->result);

            rc = ngx_http_headroom_wait_for_redis(r, ctx);

            if (rc == NGX_AGAIN) {
                ctx->time_us += ngx_http_headroom_us_since(&start);
                return NGX_AGAIN;
            }

            /* Redis is out of reach: what it had is "not available" */
            continue;
        }

        if (ctx->result.outcome != HEADROOM_OFFLOAD) {
            break;
        }

        headroom_result_free(&ctx->result);

        if (ngx_http_headroom_thread_post(r, ctx, hlcf, flags, body, len)
            == NGX_OK)
        {
            ctx->time_us += ngx_http_headroom_us_since(&start);
            return NGX_AGAIN;
        }

        /* no thread to be had: here, then */
        env.offload_above = 0;
    }

    ctx->time_us += ngx_http_headroom_us_since(&start);

done:

    /*
     * Summaries the store lacks are asked for, once; the core runs again
     * when they came (here, not in a thread: its outputs are cached now).
     */

    if (ngx_http_headroom_summarize_must_ask(r, ctx, hlcf)
        && ngx_http_headroom_summarize_ask(r, ctx, hlcf) == NGX_AGAIN)
    {
        headroom_result_free(&ctx->result);
        ctx->threaded = 0;
        return NGX_AGAIN;
    }

    ctx->ran = 1;

    if (hmcf->cache_zone) {
        ngx_http_headroom_cache_count(hmcf->cache_zone, &ctx->result);
    }

    if (store) {
        ngx_http_headroom_ccr_after(r, ctx);
    }

    if (ctx->route) {
        ngx_http_headroom_route_after(r, ctx);
    }

    return NGX_OK;
}


ngx_uint_t
ngx_http_headroom_us_since(struct timespec *start)
{
    struct timespec  end;

    (void) clock_gettime(CLOCK_MONOTONIC, &end);

    return (end.tv_sec - start->tv_sec) * 1000000
           + (end.tv_nsec - start->tv_nsec) / 1000;
}


/*
 * " log 1 (41210 -> 3012 tokens), json 2 (...)": the tool outputs headroom
 * looked at, by kind
 */

static ngx_str_t
ngx_http_headroom_kinds(headroom_result_t *res, u_char *buf, size_t len)
{
    u_char      *p, *last;
    size_t       k;
    ngx_str_t    s;

    p = buf;
    last = buf + len;

    for (k = 0; k < HEADROOM_CONTENT_KINDS; k++) {
        if (res->kinds[k].outputs == 0) {
            continue;
        }

        p = ngx_slprintf(p, last, "%s %s %uz", p == buf ? "" : ",",
                         headroom_content_kind_name(k),
                         res->kinds[k].outputs);

        if (res->encoding[0] != '\0') {
            p = ngx_slprintf(p, last, " (%uz -> %uz tokens)",
                             res->kinds[k].tokens_before,
                             res->kinds[k].tokens_after);
        }
    }

    if (p == buf) {
        p = ngx_slprintf(p, last, " none");
    }

    s.data = buf;
    s.len = p - buf;

    return s;
}


/*
 * A model as the client wrote it, for the error log: its first 64 bytes,
 * every byte other than a printable ASCII one as \xNN (no forged line).
 */

static u_char *
ngx_http_headroom_log_model(u_char *p, u_char *last, const char *model)
{
    u_char  c;
    size_t  i;

    for (i = 0; model[i] != '\0' && p < last; i++) {
        if (i == 64) {
            return ngx_slprintf(p, last, "...");
        }

        c = (u_char) model[i];

        if (c < 0x21 || c > 0x7e || c == '\\') {
            p = ngx_slprintf(p, last, "\\x%02xi", (ngx_int_t) c);
            continue;
        }

        *p++ = c;
    }

    return p;
}


/*
 * ", prefix 1f0c... (2 values moved, tools sorted, 3 cache breakpoints)":
 * the stable prefix's hash and what was done to keep it stable
 */

static ngx_str_t
ngx_http_headroom_prefix(ngx_http_headroom_ctx_t *ctx, u_char *buf,
    size_t len)
{
    u_char             *p, *last, *open;
    ngx_str_t           s;
    headroom_result_t  *res;

    res = &ctx->result;
    p = buf;
    last = buf + len;

    if (res->prefix_hash != NULL && res->prefix_hash[0] != '\0') {
        p = ngx_slprintf(p, last, ", prefix %s", res->prefix_hash);
        open = p;

        if (res->volatile_moved) {
            p = ngx_slprintf(p, last, "%s%uz values moved",
                             p == open ? " (" : ", ", res->volatile_moved);
        }

        if (res->tools_sorted) {
            p = ngx_slprintf(p, last, "%stools sorted",
                             p == open ? " (" : ", ");
        }

        if (res->breakpoints_added) {
            p = ngx_slprintf(p, last, "%s%uz cache breakpoints",
                             p == open ? " (" : ", ", res->breakpoints_added);
        }

        if (res->cache_key_set) {
            p = ngx_slprintf(p, last, "%sprompt_cache_key set",
                             p == open ? " (" : ", ");
        }

        if (p != open) {
            p = ngx_slprintf(p, last, ")");
        }
    }

    /* ", route cheap (session): gpt-4o -> gpt-4o-mini" */

    if (res->route != NULL && res->route[0] != '\0') {
        p = ngx_slprintf(p, last, ", route %s%s: ", res->route,
                         res->route_remembered ? " (session)" : "");
        p = ngx_http_headroom_log_model(p, last,
                                        res->model_in[0] ? res->model_in
                                                         : res->model);
        p = ngx_slprintf(p, last, " %s ", ctx->mode == NGX_HTTP_HEADROOM_AUDIT
                                          ? "would go to" : "->");
        p = ngx_http_headroom_log_model(p, last, res->model);
    }

    /* ", fit: 12 turns dropped, 5 outputs retired, 190000 -> 90000 tokens" */

    if (res->fit == HEADROOM_FIT_FITTED) {
        p = ngx_slprintf(p, last, ", fit: %uz turns dropped, %uz outputs "
                         "retired, %uz -> %uz tokens (window %uz, budget %uz)",
                         res->fit_turns_dropped, res->fit_outputs_retired,
                         res->fit_tokens_before, res->fit_tokens_after,
                         res->fit_limit, res->fit_budget);

    } else if (res->fit == HEADROOM_FIT_FAILED) {
        p = ngx_slprintf(p, last, ", fit failed: %uz tokens, budget %uz "
                         "(window %uz): sent without fitting",
                         res->fit_tokens_before, res->fit_budget,
                         res->fit_limit);
    }

    s.data = buf;
    s.len = p - buf;

    return s;
}


/* both the number proxy_pass reads and the header $content_length reads */

static ngx_int_t
ngx_http_headroom_set_content_length(ngx_http_request_t *r, off_t n)
{
    u_char           *p;
    ngx_table_elt_t  *h;

    h = r->headers_in.content_length;

    if (h) {
        p = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        h->value.len = ngx_sprintf(p, "%O", n) - p;
        h->value.data = p;
    }

    r->headers_in.content_length_n = n;

    return NGX_OK;
}


static void
ngx_http_headroom_result_cleanup(void *data)
{
    headroom_result_free(data);
}


/*
 * The outcome of a request whose body never got through: nginx answered
 * 413 for client_max_body_size (before our phase, or while reading), or
 * the client went away or stalled mid-body. Counted once, so that the
 * zone's "seen" is the sum of its outcomes.
 */

void
ngx_http_headroom_settle(ngx_http_request_t *r)
{
    ngx_uint_t                     outcome;
    ngx_http_headroom_ctx_t       *ctx;
    ngx_http_headroom_loc_conf_t  *hlcf;

    if (r != r->main) {
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);

    if (ctx && (ctx->outcome != NGX_HTTP_HEADROOM_UNDECIDED
                || (ctx->state != NGX_HTTP_HEADROOM_COLLECT
                    && ctx->state != NGX_HTTP_HEADROOM_WAIT)))
    {
        return;
    }

    outcome = (r->headers_out.status == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE)
              ? NGX_HTTP_HEADROOM_CLIENT_MAX_BODY_SIZE
              : NGX_HTTP_HEADROOM_CLIENT_ABORTED;

    if (ctx == NULL) {
        /* only nginx's own 413 ends a request before our phase for us */

        hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);

        if (!hlcf->enable
            || outcome != NGX_HTTP_HEADROOM_CLIENT_MAX_BODY_SIZE)
        {
            return;
        }

        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_headroom_ctx_t));
        if (ctx == NULL) {
            return;
        }

        ctx->length = -1;
        ctx->state = NGX_HTTP_HEADROOM_PASS;
        ctx->mode = hlcf->mode;

        ngx_http_set_ctx(r, ctx, ngx_http_headroom_module);

        ngx_http_headroom_count_seen(r);
    }

    ctx->state = NGX_HTTP_HEADROOM_PASS;
    ctx->outcome = outcome;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "headroom: %s",
                  outcome == NGX_HTTP_HEADROOM_CLIENT_ABORTED
                  ? "client_aborted" : "client_max_body_size");

    ngx_http_headroom_record(r, ctx);
}


static ngx_int_t
ngx_http_headroom_log_handler(ngx_http_request_t *r)
{
    ngx_http_headroom_ctx_t  *ctx;

    ngx_http_headroom_settle(r);

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);

    if (ctx && ctx->passed > ctx->passed_counted) {
        ngx_http_headroom_record_passed(r, ctx);
    }

    /* an answer cut short (the client left, the upstream failed) */

    if (ctx && ctx->usage_reader) {
        ngx_http_headroom_usage_end(r, ctx);
    }

    return NGX_OK;
}
