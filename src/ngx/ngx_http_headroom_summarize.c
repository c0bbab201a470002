
/*
 * headroom: summaries of old turns (headroom_summarize). The core says
 * which summaries the store lacks, each with the OpenAI chat-completions
 * body to ask for it. Those the zone has already (kept by another request,
 * or late) are handed to the request as Redis's are; the others are asked
 * of the operator's internal location by background subrequests, while the
 * request waits as it does for Redis (ngx_http_headroom_wait.c). The
 * subrequests' answers never reach nginx's in-memory buffer: this module's
 * body filter takes them (a bounded copy), so that no answer, however
 * large, can fail the client's request. Each summary that comes is kept in
 * the originals' zone (and Redis) under the id the core gave, and handed to
 * the request; when all came, or past the timeout, the core runs again. A
 * summary that comes late is kept for the next turn.
 */


#include "ngx_http_headroom_ccr.h"


#define NGX_HTTP_HEADROOM_SUMMARIES_PER_REQUEST  4

/* an answer past this is not read: a summary is HEADROOM_SUMMARY_MAX */
#define NGX_HTTP_HEADROOM_SUMMARY_ANSWER_MAX     (256 * 1024)


/* per request that asked */
struct ngx_http_headroom_summarize_s {
    ngx_http_request_t             *r;        /* NULL once it is gone */
    ngx_http_headroom_ccr_ctx_t    *ccr;      /* the request's, as it was */
    ngx_uint_t                      due;      /* answers still awaited */
    ngx_event_t                     timer;
    unsigned                        done:1;   /* the request went on */
};


/* per subrequest: what it is for, and its answer as it comes */
typedef struct {
    ngx_http_headroom_summarize_t  *s;        /* NULL once answered */
    u_char                          id[NGX_HTTP_HEADROOM_ID_LEN];
    u_char                         *answer;
    size_t                          len;
    unsigned                        too_big:1;
} ngx_http_headroom_summary_ask_t;


static ngx_int_t ngx_http_headroom_summary_got(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_headroom_summary_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static void ngx_http_headroom_summary_keep(ngx_http_headroom_summarize_t *s,
    const u_char *id, u_char *text, size_t len);
static void ngx_http_headroom_summary_held(ngx_http_headroom_summarize_t *s,
    const u_char *id, u_char *text, size_t len);
static void ngx_http_headroom_summarize_timeout(ngx_event_t *ev);
static void ngx_http_headroom_summarize_done(
    ngx_http_headroom_summarize_t *s);
static void ngx_http_headroom_summarize_cleanup(void *data);
static ngx_int_t ngx_http_headroom_summary_request(ngx_http_request_t *r,
    const headroom_summary_wanted_t *w, ngx_http_request_body_t **body,
    ngx_table_elt_t **type);


static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_headroom_summarize_init(ngx_conf_t *cf)
{
    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_headroom_summary_body_filter;

    return NGX_OK;
}


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
 * Hands over those the zone has, asks the location for the others (a few a
 * request); NGX_AGAIN while the request waits (or, with all at hand, until
 * the core runs again), NGX_DECLINED when none was had nor asked. The
 * result is the caller's to free.
 */

ngx_int_t
ngx_http_headroom_summarize_ask(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_http_headroom_loc_conf_t *hlcf)
{
    u_char                            key[NGX_HTTP_HEADROOM_KEY_LEN];
    size_t                            i, n, held;
    ngx_str_t                         text;
    ngx_msec_t                        timeout;
    ngx_table_elt_t                  *type;
    ngx_pool_cleanup_t               *cln;
    ngx_http_request_t               *sr;
    ngx_http_request_body_t          *body;
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
    s->ccr = ctx->ccr;
    s->done = 1;
    cln->handler = ngx_http_headroom_summarize_cleanup;
    cln->data = s;

    /* asked once a request, whatever comes of it */

    ctx->summarize = s;

    w = ctx->result.summaries_wanted;
    n = ngx_min(ctx->result.nsummaries_wanted,
                NGX_HTTP_HEADROOM_SUMMARIES_PER_REQUEST);
    held = 0;

    for (i = 0; i < n; i++) {

        /* a run in a thread reads only what the request holds */

        ngx_http_headroom_ccr_key(s->ccr, (const u_char *) w[i].id, key);

        if (ngx_http_headroom_ccr_get(r, key, &text) == HEADROOM_STORE_FOUND) {
            ngx_http_headroom_summary_held(s, (const u_char *) w[i].id,
                                           text.data, text.len);
            held++;
            continue;
        }

        /* all made before the subrequest is: none of it may half go */

        ask = ngx_pcalloc(r->pool, sizeof(ngx_http_headroom_summary_ask_t));
        ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));

        if (ask == NULL || ps == NULL
            || ngx_http_headroom_summary_request(r, &w[i], &body, &type)
               != NGX_OK)
        {
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

        /* a POST of the body as JSON, and nothing of the client's */

        sr->request_body = body;
        sr->method = NGX_HTTP_POST;
        ngx_str_set(&sr->method_name, "POST");

        ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));
        sr->headers_in.headers.part.elts = type;
        sr->headers_in.headers.part.nelts = 1;
        sr->headers_in.headers.part.next = NULL;
        sr->headers_in.headers.last = &sr->headers_in.headers.part;
        sr->headers_in.headers.size = sizeof(ngx_table_elt_t);
        sr->headers_in.headers.nalloc = 1;
        sr->headers_in.headers.pool = r->pool;
        sr->headers_in.content_type = type;
        sr->headers_in.content_length_n = w[i].len;
        sr->headers_in.keep_alive_n = -1;

        s->due++;
    }

    if (s->due == 0 && held == 0) {
        return NGX_DECLINED;
    }

    if (s->due == 0) {
        /* all at hand: the core runs again at once */
        ngx_http_headroom_resume(r);
        return NGX_AGAIN;
    }

    s->done = 0;

    s->timer.handler = ngx_http_headroom_summarize_timeout;
    s->timer.data = s;
    s->timer.log = r->connection->log;

    timeout = hlcf->summarize_timeout;

    if (s->ccr->resume == NULL) {
        /* under HTTP/2 the reader still times the body out meanwhile */
        timeout = ngx_min(timeout,
                    ((ngx_http_core_loc_conf_t *) ngx_http_get_module_loc_conf(
                        r, ngx_http_core_module))->client_body_timeout / 2);
    }

    ngx_add_timer(&s->timer, timeout);

    return NGX_AGAIN;
}


/* the subrequest's body and its one header, in the request's pool */

static ngx_int_t
ngx_http_headroom_summary_request(ngx_http_request_t *r,
    const headroom_summary_wanted_t *w, ngx_http_request_body_t **body,
    ngx_table_elt_t **type)
{
    ngx_buf_t                *b;
    ngx_chain_t              *cl;
    ngx_table_elt_t          *h;
    ngx_http_request_body_t  *rb;

    b = ngx_create_temp_buf(r->pool, w->len ? w->len : 1);
    cl = ngx_alloc_chain_link(r->pool);
    rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    h = ngx_pcalloc(r->pool, sizeof(ngx_table_elt_t));

    if (b == NULL || cl == NULL || rb == NULL || h == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->last, w->body, w->len);
    b->last_buf = 1;

    cl->buf = b;
    cl->next = NULL;

    rb->bufs = cl;

    h->hash = 1;
    ngx_str_set(&h->key, "Content-Type");
    ngx_str_set(&h->value, "application/json");
    h->lowcase_key = (u_char *) "content-type";

    *body = rb;
    *type = h;

    return NGX_OK;
}


/*
 * A summarizer subrequest's answer, taken as it comes (up to a bound) and
 * not passed on: nginx's in-memory buffer, which would fail the client's
 * request on an answer too large for it, never sees it.
 */

static ngx_int_t
ngx_http_headroom_summary_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t                            n;
    ngx_buf_t                        *b;
    ngx_chain_t                      *cl;
    ngx_http_headroom_summary_ask_t  *ask;

    if (r == r->main || r->post_subrequest == NULL
        || r->post_subrequest->handler != ngx_http_headroom_summary_got)
    {
        return ngx_http_next_body_filter(r, in);
    }

    ask = r->post_subrequest->data;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_special(b)) {
            continue;
        }

        /*
         * Before the copy filter, a large answer may still be in proxy's
         * temporary file: read as that filter would read it.
         */

        n = ngx_buf_in_memory(b) ? (size_t) (b->last - b->pos)
                                 : (size_t) (b->file_last - b->file_pos);

        if (ask->too_big || ask->len + n > NGX_HTTP_HEADROOM_SUMMARY_ANSWER_MAX)
        {
            ask->too_big = 1;

        } else if (n) {
            if (ask->answer == NULL) {
                ask->answer = ngx_pnalloc(r->pool,
                                          NGX_HTTP_HEADROOM_SUMMARY_ANSWER_MAX);
            }

            if (ask->answer == NULL) {
                ask->too_big = 1;

            } else if (ngx_buf_in_memory(b)) {
                ngx_memcpy(ask->answer + ask->len, b->pos, n);
                ask->len += n;

            } else if (ngx_read_file(b->file, ask->answer + ask->len, n,
                                     b->file_pos)
                       == (ssize_t) n)
            {
                ask->len += n;

            } else {
                ask->too_big = 1;
            }
        }

        b->pos = b->last;
        b->file_pos = b->file_last;
    }

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
    ngx_http_headroom_summarize_t   *s;

    s = ask->s;

    if (s == NULL) {
        return rc;
    }

    ask->s = NULL;   /* a subrequest may be finalized more than once */

    len = 0;

    if (sr->headers_out.status == NGX_HTTP_OK && !ask->too_big && ask->len
        && s->r)
    {
        text = ngx_pnalloc(sr->pool, HEADROOM_SUMMARY_MAX);

        if (text) {
            len = headroom_summary_of_answer(ask->answer, ask->len, text);
        }

        if (len) {
            ngx_http_headroom_summary_keep(s, ask->id, text, len);
        }
    }

    if (len == 0) {
        ngx_log_error(NGX_LOG_WARN, sr->connection->log, 0,
                      "headroom: the summarizer at \"%V\" gave no summary "
                      "(status %ui, rc %i%s)", &sr->uri,
                      sr->headers_out.status, rc,
                      ask->too_big ? ", answer too large" : "");
    }

    if (!s->done && --s->due == 0) {
        ngx_http_headroom_summarize_done(s);
    }

    return rc;
}


/* kept as an original is, in the zone and Redis, and handed to the request */

static void
ngx_http_headroom_summary_keep(ngx_http_headroom_summarize_t *s,
    const u_char *id, u_char *text, size_t len)
{
    u_char  key[NGX_HTTP_HEADROOM_KEY_LEN];

    ngx_http_headroom_ccr_key(s->ccr, id, key);
    ngx_http_headroom_ccr_keep(s->r, key, text, len);

    ngx_http_headroom_summary_held(s, id, text, len);
}


/*
 * The request holds it from now on: what the core reads first, Redis's
 * "missing" and a thread's run included
 */

static void
ngx_http_headroom_summary_held(ngx_http_headroom_summarize_t *s,
    const u_char *id, u_char *text, size_t len)
{
    u_char                       *copy;
    ngx_http_headroom_fetched_t  *f;

    if (s->r == NULL) {
        return;
    }

    copy = ngx_pnalloc(s->r->pool, len ? len : 1);
    f = ngx_http_headroom_ccr_hold(s->ccr, (const char *) id);

    if (copy == NULL || f == NULL) {
        return;
    }

    ngx_memcpy(copy, text, len);

    f->state = HEADROOM_STORE_FOUND;
    f->text.data = copy;
    f->text.len = len;
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

    if (s->r == NULL) {
        return;
    }

    /* a subrequest still running holds the connection: not kept alive */

    if (s->due) {
        s->r->keepalive = 0;
    }

    ngx_http_headroom_resume(s->r);
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
