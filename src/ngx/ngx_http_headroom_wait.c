
/*
 * headroom: a request that waits inside headroom without blocking the
 * worker. The body filter holds the whole body (its last buffer not yet
 * passed on): nginx's reader then waits too, whoever started it (our phase
 * handler, or another module such as Lua's ngx.req.read_body). To resume,
 * the connection's read event is posted: nginx's reader calls the body
 * filters again, the body goes on, and reading ends as it always does.
 * HTTP/1 and HTTP/2 alike.
 *
 * The first wait: originals that only Redis may have, for retrievals.
 */


#include "ngx_http_headroom_ccr.h"


/* outlives the request while Redis still owes it replies */

typedef struct {
    ngx_http_request_t             *r;        /* NULL once it is gone */
    ngx_http_headroom_ccr_ctx_t    *ccr;      /* the request's, as it was */
    ngx_uint_t                      refs;     /* the request, each reply */
    ngx_uint_t                      due;      /* replies still awaited */
    ngx_event_t                     timer;
} ngx_http_headroom_wait_t;


typedef struct {
    ngx_http_headroom_wait_t       *wait;
    ngx_uint_t                      index;    /* in ccr->fetched */
} ngx_http_headroom_wait_for_t;


static void ngx_http_headroom_wait_got(void *data, ngx_int_t rc,
    u_char *value, size_t len);
static void ngx_http_headroom_wait_timeout(ngx_event_t *ev);
static void ngx_http_headroom_wait_done(ngx_http_headroom_wait_t *w);
static void ngx_http_headroom_wait_release(ngx_http_headroom_wait_t *w);
static void ngx_http_headroom_wait_cleanup(void *data);
static ngx_http_headroom_ctx_t *ngx_http_headroom_wait_ctx(
    ngx_http_headroom_wait_t *w);


/*
 * Asks Redis for every id the core noted; NGX_AGAIN while the request
 * waits for the replies (ngx_http_headroom_resume() ends it), NGX_DECLINED
 * when nothing could be asked: what Redis has is "not available".
 */

ngx_int_t
ngx_http_headroom_wait_for_redis(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    u_char                          key[NGX_HTTP_HEADROOM_KEY_LEN];
    ngx_uint_t                      i, first;
    ngx_msec_t                      timeout;
    ngx_pool_cleanup_t             *cln;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_headroom_fetched_t    *f, *p;
    ngx_http_headroom_wait_t       *w;
    ngx_http_headroom_ccr_ctx_t    *ccr;
    ngx_http_headroom_wait_for_t   *wf;
    ngx_http_headroom_ccr_zone_t   *zctx;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);
    zctx = hmcf->ccr_zone->data;
    ccr = ctx->ccr;

    ccr->asked = 1;

    /* the answers' places, made before any is asked: they do not move */

    first = ccr->fetched.nelts;
    p = ccr->pending.elts;

    for (i = 0; i < ccr->pending.nelts; i++) {
        f = ngx_array_push(&ccr->fetched);
        if (f == NULL) {
            return NGX_DECLINED;
        }

        *f = p[i];
        f->state = HEADROOM_STORE_UNAVAILABLE;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_DECLINED;
    }

    w = ngx_calloc(sizeof(ngx_http_headroom_wait_t), r->connection->log);
    if (w == NULL) {
        return NGX_DECLINED;
    }

    w->r = r;
    w->ccr = ccr;
    w->refs = 1;

    f = ccr->fetched.elts;

    for (i = first; i < ccr->fetched.nelts; i++) {
        wf = ngx_alloc(sizeof(ngx_http_headroom_wait_for_t),
                       r->connection->log);
        if (wf == NULL) {
            break;
        }

        wf->wait = w;
        wf->index = i;

        ngx_http_headroom_ccr_key(ccr, f[i].id, key);

        if (ngx_http_headroom_redis_get(hmcf->redis, key, zctx->ttl,
                                        ngx_http_headroom_wait_got, wf)
            != NGX_OK)
        {
            ngx_free(wf);
            break;
        }

        w->refs++;
        w->due++;
    }

    if (w->due == 0) {
        ngx_free(w);
        return NGX_DECLINED;
    }

    cln->handler = ngx_http_headroom_wait_cleanup;
    cln->data = w;

    w->timer.handler = ngx_http_headroom_wait_timeout;
    w->timer.data = w;
    w->timer.log = r->connection->log;

    /*
     * In the body filter, nginx's reader waits with client_body_timeout on
     * the connection: the wait ends well before it, or the client would
     * get a 408 for a Redis that is merely slow.
     */

    timeout = ngx_http_headroom_redis_timeout(hmcf->redis);

    if (ccr->resume == NULL) {
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
        timeout = ngx_min(timeout, clcf->client_body_timeout / 2);
    }

    ngx_add_timer(&w->timer, timeout);

    ccr->wait = w;

    return NGX_AGAIN;
}


static void
ngx_http_headroom_wait_got(void *data, ngx_int_t rc, u_char *value,
    size_t len)
{
    ngx_http_headroom_wait_for_t  *wf = data;

    u_char                        key[NGX_HTTP_HEADROOM_KEY_LEN];
    ngx_http_request_t           *r;
    ngx_http_headroom_ctx_t      *ctx;
    ngx_http_headroom_wait_t     *w;
    ngx_http_headroom_fetched_t  *f;

    w = wf->wait;
    r = w->r;
    ctx = ngx_http_headroom_wait_ctx(w);

    if (ctx && w->due) {
        f = ctx->ccr->fetched.elts;
        f = &f[wf->index];

        if (rc == NGX_OK) {
            f->text.data = ngx_pnalloc(r->pool, len ? len : 1);

            if (f->text.data) {
                ngx_memcpy(f->text.data, value, len);
                f->text.len = len;
                f->state = HEADROOM_STORE_FOUND;

                /* the zone is the local cache in front of Redis */

                ngx_http_headroom_ccr_key(ctx->ccr, f->id, key);
                (void) ngx_http_headroom_ccr_put(r, key, value, len);
            }

        } else if (rc == NGX_DECLINED) {
            f->state = HEADROOM_STORE_MISSING;
        }

        if (--w->due == 0) {
            ngx_http_headroom_wait_done(w);
        }
    }

    ngx_free(wf);
    ngx_http_headroom_wait_release(w);
}


/* past the timeout, what has not come is "not available right now" */

static void
ngx_http_headroom_wait_timeout(ngx_event_t *ev)
{
    ngx_http_headroom_wait_t  *w = ev->data;

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "headroom: %ui original(s) not read from Redis in time",
                  w->due);

    w->due = 0;
    ngx_http_headroom_wait_done(w);
}


static void
ngx_http_headroom_wait_done(ngx_http_headroom_wait_t *w)
{
    ngx_http_headroom_ctx_t  *ctx;

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }

    ctx = ngx_http_headroom_wait_ctx(w);

    if (ctx == NULL) {
        return;
    }

    ctx->ccr->wait = NULL;

    if (ctx->ccr->resume) {
        ctx->ccr->resume(w->r);

    } else {
        ngx_http_headroom_resume(w->r);
    }
}


/*
 * The request goes on: nginx's reader, woken, calls the body filters
 * again (see above).
 */

void
ngx_http_headroom_resume(ngx_http_request_t *r)
{
    ngx_post_event(r->connection->read, &ngx_posted_events);
}


static void
ngx_http_headroom_wait_release(ngx_http_headroom_wait_t *w)
{
    if (--w->refs == 0) {
        ngx_free(w);
    }
}


/*
 * The request's context, unless the request is gone or has moved on (an
 * internal redirect, such as post_action's, clears every module's).
 */

static ngx_http_headroom_ctx_t *
ngx_http_headroom_wait_ctx(ngx_http_headroom_wait_t *w)
{
    ngx_http_headroom_ctx_t  *ctx;

    if (w->r == NULL) {
        return NULL;
    }

    ctx = ngx_http_get_module_ctx(w->r, ngx_http_headroom_module);

    return (ctx && ctx->ccr == w->ccr) ? ctx : NULL;
}


/* the request is gone (a client timeout, say): replies find nobody */

static void
ngx_http_headroom_wait_cleanup(void *data)
{
    ngx_http_headroom_wait_t  *w = data;

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }

    w->r = NULL;
    ngx_http_headroom_wait_release(w);
}
