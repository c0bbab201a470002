
/*
 * headroom: large new work off the event loop. When a request's tool
 * outputs not in the results' cache pass headroom_thread_offload bytes,
 * the core runs in a task of nginx's thread pool (headroom_thread_pool
 * NAME, a pool that "thread_pool" declares), posted the way
 * ngx_http_copy_filter_module posts "aio threads" tasks: the request is
 * blocked meanwhile (so that nothing frees it), and the body filter holds
 * the whole body as it does while Redis answers; the task's end resumes
 * the request through the connection's read event.
 *
 * In the thread, the core reads only what the request's memory holds
 * already (the body, the originals fetched before) and the shared zones
 * under their locks; it neither logs nor allocates from the request's
 * pool. While it runs, client_body_timeout (which nginx's reader arms while
 * the body filter holds the body) starts again when it fires: a task that
 * waits for a busy pool does not cost its client a 408.
 */


#include "ngx_http_headroom_ccr.h"
#include "ngx_http_headroom_cache.h"


#if (NGX_THREADS)

typedef struct {
    ngx_http_request_t             *r;
    ngx_http_headroom_ctx_t        *ctx;      /* the request's, as it was */
    ngx_http_event_handler_pt       reading;  /* r->read_event_handler */
    const headroom_config_t        *config;
    unsigned                        flags;
    const u_char                   *body;
    size_t                          len;
    headroom_store_t                store;
    headroom_cache_t                cache;
    headroom_sessions_t             sessions;
    headroom_env_t                  env;
    headroom_result_t               result;
    ngx_uint_t                      time_us;
} ngx_http_headroom_task_t;


static void ngx_http_headroom_thread_handler(void *data, ngx_log_t *log);
static void ngx_http_headroom_thread_done(ngx_event_t *ev);
static void ngx_http_headroom_thread_reading(ngx_http_request_t *r);
static headroom_store_e ngx_http_headroom_thread_lookup(void *data,
    const char *id, const unsigned char **text, size_t *len);


/* headroom_thread_pool NAME */

char *
ngx_http_headroom_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    ngx_str_t  *value;

    if (hlcf->thread_pool != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        hlcf->thread_pool = NULL;
        return NGX_CONF_OK;
    }

    /* an undeclared pool other than "default" fails when nginx starts */

    hlcf->thread_pool = ngx_thread_pool_add(cf, &value[1]);
    if (hlcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}

#else

char *
ngx_http_headroom_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        hlcf->thread_pool = NULL;
        return NGX_CONF_OK;
    }

    return "needs an nginx built --with-threads";
}

#endif


#if (NGX_THREADS)

/*
 * Runs the core in the pool: NGX_OK when posted (the request waits for
 * ngx_http_headroom_thread_done), NGX_DECLINED when it could not be (the
 * caller runs it here).
 */

ngx_int_t
ngx_http_headroom_thread_post(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_http_headroom_loc_conf_t *hlcf,
    unsigned flags, const u_char *body, size_t len)
{
    ngx_thread_task_t              *task;
    ngx_http_headroom_task_t       *t;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    task = ngx_thread_task_alloc(r->pool, sizeof(ngx_http_headroom_task_t));
    if (task == NULL) {
        return NGX_DECLINED;
    }

    t = task->ctx;

    t->r = r;
    t->ctx = ctx;
    t->config = hlcf->config;
    t->flags = flags;
    t->body = body;
    t->len = len;

    if (ctx->ccr) {
        t->store.lookup = ngx_http_headroom_thread_lookup;
        t->store.data = ctx->ccr;
        t->env.store = &t->store;
    }

    if (hmcf->cache_zone) {
        ngx_http_headroom_cache_init(hmcf->cache_zone, &t->cache);
        t->env.cache = &t->cache;
    }

    if (hmcf->route_zone && hlcf->compiled_routes) {
        (void) ngx_http_headroom_sessions_init(r, ctx, &t->sessions,
                                               &t->env);
    }

    task->handler = ngx_http_headroom_thread_handler;
    task->event.data = t;
    task->event.handler = ngx_http_headroom_thread_done;

    if (ngx_thread_task_post(hlcf->thread_pool, task) != NGX_OK) {
        /* the pool's queue is full: said by nginx itself */
        return NGX_DECLINED;
    }

    r->main->blocked++;
    ctx->task = t;

    t->reading = r->read_event_handler;
    r->read_event_handler = ngx_http_headroom_thread_reading;

    return NGX_OK;
}


/*
 * While the task runs: client_body_timeout starts again; anything else
 * (the client gone, an HTTP/2 reset) goes to nginx's reader as it would.
 */

static void
ngx_http_headroom_thread_reading(ngx_http_request_t *r)
{
    ngx_event_t                   *rev;
    ngx_http_headroom_ctx_t       *ctx;
    ngx_http_headroom_task_t      *t;
    ngx_http_core_loc_conf_t      *clcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);
    t = ctx ? ctx->task : NULL;

    if (t == NULL) {
        return;
    }

    rev = r->connection->read;

    if (rev->timedout && !r->connection->error) {
        rev->timedout = 0;
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
        ngx_add_timer(rev, clcf->client_body_timeout);
        return;
    }

    t->reading(r);
}


/* in a thread of the pool */

static void
ngx_http_headroom_thread_handler(void *data, ngx_log_t *log)
{
    ngx_http_headroom_task_t *t = data;

    struct timespec  start;

    (void) clock_gettime(CLOCK_MONOTONIC, &start);

    headroom_process_in(t->config, t->flags,
                        (const char *) t->r->uri.data, t->r->uri.len,
                        t->body, t->len, &t->env, &t->result);

    t->time_us = ngx_http_headroom_us_since(&start);
}


/* back in the event loop */

static void
ngx_http_headroom_thread_done(ngx_event_t *ev)
{
    ngx_http_headroom_task_t *t = ev->data;

    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_http_headroom_ctx_t  *ctx;

    r = t->r;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    r->main->blocked--;

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);

    if (ctx != t->ctx) {
        /* moved on meanwhile (post_action's redirect): the result is ours */
        headroom_result_free(&t->result);
        r->write_event_handler(r);
        ngx_http_run_posted_requests(c);
        return;
    }

    /* the result is the request's now: freed with its pool */

    ctx->result = t->result;
    ctx->time_us += t->time_us;
    ctx->task = NULL;
    ctx->threaded = 1;

    if (r->read_event_handler == ngx_http_headroom_thread_reading) {
        r->read_event_handler = t->reading;
    }

    if (c->error) {
        /* the request ended meanwhile: nginx finishes it now */
        r->write_event_handler(r);
        ngx_http_run_posted_requests(c);
        return;
    }

    ngx_http_headroom_resume(r);
}


/*
 * The originals as the request holds them already: the run in the event
 * loop asked for every one its retrievals name (see Wants::offload_above),
 * and Redis, if asked, has answered.
 */

static headroom_store_e
ngx_http_headroom_thread_lookup(void *data, const char *id,
    const unsigned char **text, size_t *len)
{
    ngx_http_headroom_ccr_ctx_t *ccr = data;

    headroom_store_e  state;

    if (ngx_http_headroom_ccr_held(ccr, id, text, len, &state) == NGX_OK) {
        return state;
    }

    /* Redis was asked for these; past its bound, the rest were not */

    if (ngx_http_headroom_ccr_id_in(&ccr->pending, id)
        || ccr->pending.nelts == NGX_HTTP_HEADROOM_REDIS_PER_REQUEST)
    {
        return HEADROOM_STORE_UNAVAILABLE;
    }

    return HEADROOM_STORE_MISSING;
}

#else

ngx_int_t
ngx_http_headroom_thread_post(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_http_headroom_loc_conf_t *hlcf,
    unsigned flags, const u_char *body, size_t len)
{
    return NGX_DECLINED;
}

#endif
