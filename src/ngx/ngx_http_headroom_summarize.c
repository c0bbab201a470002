
/*
 * headroom: summaries of old turns (headroom_summarize). The core says
 * which summaries the store lacks, each with the OpenAI chat-completions
 * body to ask for it; each is asked of the operator's internal location by
 * a subrequest (in memory, in the background: it never holds the main
 * request's answer back), while the request waits as it does for Redis
 * (ngx_http_headroom_wait.c). Each summary that comes is kept in the
 * originals' zone (and Redis) under the id the core gave; when all came,
 * or past the timeout, the core runs again and takes what the store has.
 * A summary that comes late is kept for the next turn.
 */


#include "ngx_http_headroom_ccr.h"


#define NGX_HTTP_HEADROOM_SUMMARIES_PER_REQUEST  4


/* per request that asked */
struct ngx_http_headroom_summarize_s {
    ngx_http_request_t             *r;        /* NULL once it is gone */
    ngx_uint_t                      due;      /* answers still awaited */
    ngx_event_t                     timer;
    unsigned                        done:1;   /* the request went on */
};


typedef struct {
    ngx_http_headroom_summarize_t  *s;
    u_char                          id[NGX_HTTP_HEADROOM_ID_LEN];
} ngx_http_headroom_summary_ask_t;


static ngx_int_t ngx_http_headroom_summary_got(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static void ngx_http_headroom_summary_keep(ngx_http_request_t *r,
    ngx_http_headroom_summary_ask_t *ask, u_char *text, size_t len);
static void ngx_http_headroom_summarize_timeout(ngx_event_t *ev);
static void ngx_http_headroom_summarize_done(
    ngx_http_headroom_summarize_t *s);
static void ngx_http_headroom_summarize_cleanup(void *data);
static ngx_int_t ngx_http_headroom_summary_body(ngx_http_request_t *sr,
    const u_char *body, size_t len);


/* the core asked for summaries this request has not asked for yet */

ngx_uint_t
ngx_http_headroom_summarize_must_ask(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_http_headroom_loc_conf_t *hlcf)
{
    return hlcf->summarize == 1
           && ctx->summarize == NULL
           && ctx->mode == NGX_HTTP_HEADROOM_OPTIMIZE
           && ctx->ccr && !ctx->ccr->anonymous
           && ctx->result.outcome != HEADROOM_OFFLOAD
           && ctx->result.nsummaries_wanted > 0;
}


ngx_uint_t
ngx_http_headroom_summarize_waiting(ngx_http_headroom_ctx_t *ctx)
{
    return ctx->summarize && !ctx->summarize->done;
}


/*
 * Asks the location for each summary the core wants (a few a request);
 * NGX_AGAIN while the request waits for them, NGX_DECLINED when none could
 * be asked. The result is the caller's to free.
 */

ngx_int_t
ngx_http_headroom_summarize_ask(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_http_headroom_loc_conf_t *hlcf)
{
    size_t                            i, n;
    ngx_msec_t                        timeout;
    ngx_pool_cleanup_t               *cln;
    ngx_http_request_t               *sr;
    ngx_http_core_loc_conf_t         *clcf;
    ngx_http_post_subrequest_t       *ps;
    ngx_http_headroom_summarize_t    *s;
    const headroom_summary_wanted_t  *w;
    ngx_http_headroom_summary_ask_t  *ask;

    s = ngx_pcalloc(r->pool, sizeof(ngx_http_headroom_summarize_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (s == NULL || cln == NULL) {
        return NGX_DECLINED;
    }

    s->r = r;
    cln->handler = ngx_http_headroom_summarize_cleanup;
    cln->data = s;

    /* asked once a request, whatever comes of it */

    ctx->summarize = s;
    s->done = 1;

    w = ctx->result.summaries_wanted;
    n = ngx_min(ctx->result.nsummaries_wanted,
                NGX_HTTP_HEADROOM_SUMMARIES_PER_REQUEST);

    for (i = 0; i < n; i++) {
        ask = ngx_palloc(r->pool, sizeof(ngx_http_headroom_summary_ask_t));
        ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));

        if (ask == NULL || ps == NULL) {
            break;
        }

        ask->s = s;
        ngx_memcpy(ask->id, w[i].id, NGX_HTTP_HEADROOM_ID_LEN);

        ps->handler = ngx_http_headroom_summary_got;
        ps->data = ask;

        if (ngx_http_subrequest(r, &hlcf->summarize_uri, NULL, &sr, ps,
                                NGX_HTTP_SUBREQUEST_IN_MEMORY
                                |NGX_HTTP_SUBREQUEST_BACKGROUND)
            != NGX_OK)
        {
            break;
        }

        if (ngx_http_headroom_summary_body(sr, w[i].body, w[i].len)
            != NGX_OK)
        {
            /* it runs, and is told nothing: its answer is not read */
            ask->s = NULL;
            break;
        }

        s->due++;
    }

    if (s->due == 0) {
        return NGX_DECLINED;
    }

    s->done = 0;

    s->timer.handler = ngx_http_headroom_summarize_timeout;
    s->timer.data = s;
    s->timer.log = r->connection->log;

    /* nginx's reader waits with client_body_timeout meanwhile: well within */

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    timeout = ngx_min(hlcf->summarize_timeout, clcf->client_body_timeout / 2);

    ngx_add_timer(&s->timer, timeout);

    return NGX_AGAIN;
}


/*
 * The subrequest's request: a POST of the body as JSON, with no header of
 * the client's (the location sets its own credentials).
 */

static ngx_int_t
ngx_http_headroom_summary_body(ngx_http_request_t *sr, const u_char *body,
    size_t len)
{
    ngx_buf_t                 *b;
    ngx_chain_t               *cl;
    ngx_table_elt_t           *h;
    ngx_http_request_body_t   *rb;

    static ngx_str_t  post = ngx_string("POST");

    b = ngx_create_temp_buf(sr->pool, len);
    cl = ngx_alloc_chain_link(sr->pool);
    rb = ngx_pcalloc(sr->pool, sizeof(ngx_http_request_body_t));

    if (b == NULL || cl == NULL || rb == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->last, body, len);
    b->last_buf = 1;

    cl->buf = b;
    cl->next = NULL;

    rb->bufs = cl;
    rb->rest = 0;

    sr->request_body = rb;
    sr->method = NGX_HTTP_POST;
    sr->method_name = post;

    if (ngx_list_init(&sr->headers_in.headers, sr->pool, 2,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    h = ngx_list_push(&sr->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Content-Type");
    ngx_str_set(&h->value, "application/json");
    h->lowcase_key = (u_char *) "content-type";

    sr->headers_in.content_type = h;
    sr->headers_in.content_length = NULL;
    sr->headers_in.content_length_n = len;
    sr->headers_in.transfer_encoding = NULL;
    sr->headers_in.chunked = 0;

    return NGX_OK;
}


/* the location answered (or failed): its summary kept, if it gave one */

static ngx_int_t
ngx_http_headroom_summary_got(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_headroom_summary_ask_t  *ask = data;

    u_char                          *text;
    size_t                           len;
    ngx_buf_t                       *b;
    ngx_http_headroom_summarize_t   *s;

    s = ask->s;

    if (s == NULL) {
        return rc;
    }

    ask->s = NULL;   /* a subrequest may be finalized more than once */

    len = 0;
    b = sr->out ? sr->out->buf : NULL;

    if (rc == NGX_OK && sr->headers_out.status == NGX_HTTP_OK && b
        && s->r)
    {
        text = ngx_pnalloc(sr->pool, HEADROOM_SUMMARY_MAX);

        if (text) {
            len = headroom_summary_of_answer(b->pos, b->last - b->pos, text);
        }

        if (len) {
            ngx_http_headroom_summary_keep(s->r, ask, text, len);
        }
    }

    if (len == 0) {
        ngx_log_error(NGX_LOG_WARN, sr->connection->log, 0,
                      "headroom: the summarizer at \"%V\" gave no summary "
                      "(status %ui)", &sr->uri, sr->headers_out.status);
    }

    if (!s->done && --s->due == 0) {
        ngx_http_headroom_summarize_done(s);
    }

    return rc;
}


/* kept as an original is: in the zone, and in Redis */

static void
ngx_http_headroom_summary_keep(ngx_http_request_t *r,
    ngx_http_headroom_summary_ask_t *ask, u_char *text, size_t len)
{
    u_char                          key[NGX_HTTP_HEADROOM_KEY_LEN];
    ngx_http_headroom_ctx_t        *ctx;
    ngx_http_headroom_ccr_zone_t   *zctx;
    ngx_http_headroom_main_conf_t  *hmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);

    if (ctx == NULL || ctx->ccr == NULL) {
        return;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    ngx_http_headroom_ccr_key(ctx->ccr, ask->id, key);

    (void) ngx_http_headroom_ccr_put(r, key, text, len);

    if (hmcf->redis) {
        zctx = hmcf->ccr_zone->data;
        (void) ngx_http_headroom_redis_set(hmcf->redis, key, text, len,
                                           zctx->ttl);
    }
}


/* past the timeout, the request goes on: what has not come is not sent */

static void
ngx_http_headroom_summarize_timeout(ngx_event_t *ev)
{
    ngx_http_headroom_summarize_t  *s = ev->data;

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "headroom: %ui summar%s not in time: sent without",
                  s->due, s->due == 1 ? "y" : "ies");

    ngx_http_headroom_summarize_done(s);
}


static void
ngx_http_headroom_summarize_done(ngx_http_headroom_summarize_t *s)
{
    s->done = 1;

    if (s->timer.timer_set) {
        ngx_del_timer(&s->timer);
    }

    if (s->r) {
        ngx_http_headroom_resume(s->r);
    }
}


static void
ngx_http_headroom_summarize_cleanup(void *data)
{
    ngx_http_headroom_summarize_t  *s = data;

    if (s->timer.timer_set) {
        ngx_del_timer(&s->timer);
    }

    s->r = NULL;
}
