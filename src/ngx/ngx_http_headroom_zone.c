
/*
 * headroom: figures shared by every worker, in a shared-memory zone.
 *
 * One lock per request guards them, so that a reader sees a consistent
 * whole. The counters survive a reload while the zone keeps its size.
 */


#include "ngx_http_headroom_zone.h"


const char  *ngx_http_headroom_outcome_names[NGX_HTTP_HEADROOM_OUTCOMES] = {
    "undecided", "optimized", "passthrough", "failed", "bypass",
    "client_max_body_size", "client_aborted"
};

/* time in the core, in microseconds; the upper bounds of the buckets */

ngx_uint_t  ngx_http_headroom_time_bounds[NGX_HTTP_HEADROOM_TIME_BOUNDS] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000
};

const char  *ngx_http_headroom_time_les[NGX_HTTP_HEADROOM_TIME_BOUNDS] = {
    "0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
    "0.01", "0.025", "0.05", "0.1"
};


static ngx_int_t ngx_http_headroom_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_headroom_model_t *ngx_http_headroom_model_entry(
    ngx_http_request_t *r, ngx_shm_zone_t *zone, ngx_uint_t mode,
    ngx_str_t *key);
static void ngx_http_headroom_add_spend(ngx_http_headroom_spend_t *s,
    headroom_usage_t *usage, double usd);
static void ngx_http_headroom_count_model(ngx_http_request_t *r,
    ngx_shm_zone_t *zone, ngx_uint_t mode, ngx_str_t *key, size_t before,
    size_t after, uint64_t usd_nano);
static ngx_str_t ngx_http_headroom_model_key(ngx_http_headroom_ctx_t *ctx);


/* headroom_zone NAME SIZE */

char *
ngx_http_headroom_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_main_conf_t *hmcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (hmcf->zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_zone\" takes a non-empty name");
        return NGX_CONF_ERROR;
    }

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_zone\" has an invalid size \"%V\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_zone\" \"%V\" is too small: it needs "
                           "at least %uzk", &value[1],
                           (size_t) (8 * ngx_pagesize) / 1024);
        return NGX_CONF_ERROR;
    }

    hmcf->zone = ngx_shared_memory_add(cf, &value[1], size,
                                       &ngx_http_headroom_module);
    if (hmcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (hmcf->zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_zone\" \"%V\" is already declared",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    hmcf->zone->init = ngx_http_headroom_init_zone;
    hmcf->zone->data = hmcf;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_headroom_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_headroom_shctx_t  *osh = data;

    size_t                      len;
    ngx_uint_t                  m;
    ngx_slab_pool_t            *shpool;
    ngx_http_headroom_shctx_t  *sh;

    if (osh) {
        /* a reload, the zone's size unchanged: keep counting */

        if (osh->layout != sizeof(ngx_http_headroom_shctx_t)) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "headroom_zone \"%V\" was laid out by another "
                          "version of the module: restart nginx, or give the "
                          "zone another size", &shm_zone->shm.name);
            return NGX_ERROR;
        }

        shm_zone->data = osh;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_headroom_shctx_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->layout = sizeof(ngx_http_headroom_shctx_t);

    for (m = 0; m < NGX_HTTP_HEADROOM_MODES; m++) {
        sh->other[m].mode = m;
        sh->other[m].len = sizeof("(other)") - 1;
        ngx_memcpy(sh->other[m].name, "(other)", sizeof("(other)") - 1);
    }

    shpool->data = sh;
    shm_zone->data = sh;

    len = sizeof(" in headroom_zone \"\"") + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shpool->log_ctx, " in headroom_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* running out of room for models is expected, and handled */

    shpool->log_nomem = 0;

    return NGX_OK;
}


/*
 * Counts one request, once its fate is known: what became of it, and what
 * headroom did or would have done to its body.
 */

void
ngx_http_headroom_record(ngx_http_request_t *r, ngx_http_headroom_ctx_t *ctx)
{
    double                          price;
    size_t                          before, after, decoded;
    uint64_t                        usd_nano;
    ngx_str_t                       model;
    ngx_uint_t                      i, us;
    ngx_slab_pool_t                *shpool;
    headroom_result_t              *res;
    ngx_http_headroom_shctx_t      *sh;
    ngx_http_headroom_figures_t    *f;
    ngx_http_headroom_coding_t     *c;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    if (hmcf->zone == NULL || ctx->outcome == NGX_HTTP_HEADROOM_UNDECIDED) {
        return;
    }

    decoded = ngx_http_headroom_decoded_len(ctx);

    shpool = (ngx_slab_pool_t *) hmcf->zone->shm.addr;
    sh = hmcf->zone->data;
    res = &ctx->result;

    before = 0;
    after = 0;
    usd_nano = 0;
    ngx_str_null(&model);

    if (ctx->ran) {
        ngx_http_headroom_tokens(ctx, &before, &after);

        model = ngx_http_headroom_model_key(ctx);
        price = headroom_price_per_mtok(hmcf->prices, (char *) model.data,
                                        model.len);

        if (price > 0 && after < before) {
            /* USD per million tokens is 1000 nano-USD per token */
            usd_nano = (uint64_t) ((double) (before - after) * price * 1000
                                   + 0.5);
        }
    }

    ngx_shmtx_lock(&shpool->mutex);

    sh->outcomes[ctx->outcome]++;

    if (ctx->outcome == NGX_HTTP_HEADROOM_PASSTHROUGH
        || ctx->outcome == NGX_HTTP_HEADROOM_FAILED)
    {
        if ((ngx_uint_t) ctx->reason < HEADROOM_REASONS) {
            sh->reasons[ctx->reason]++;
        }
    }

    if (ctx->started && (ngx_uint_t) ctx->encoding < HEADROOM_ENCODINGS) {
        c = &sh->codings[ctx->encoding];

        c->requests++;
        c->wire_bytes += ctx->len + ctx->passed;
        c->decoded_bytes += decoded;
        ctx->passed_counted = ctx->passed;
    }

    if (ctx->ran) {
        f = &sh->figures[ctx->mode];

        f->requests++;
        f->bytes_before += decoded;
        f->bytes_after += ctx->outcome == NGX_HTTP_HEADROOM_OPTIMIZED
                          ? res->body_len : decoded;
        f->tokens_before += before;
        f->tokens_after += after;
        f->usd_nano += usd_nano;

        if (ctx->outcome == NGX_HTTP_HEADROOM_OPTIMIZED) {
            for (i = 0; i < HEADROOM_TRANSFORMS; i++) {
                f->applied[i] += res->transforms[i].applied;
                f->saved[i] += res->transforms[i].tokens_saved;
            }
        }

        us = ctx->time_us;

        for (i = 0; i < NGX_HTTP_HEADROOM_TIME_BOUNDS; i++) {
            if (us <= ngx_http_headroom_time_bounds[i]) {
                break;
            }
        }

        sh->time_buckets[i]++;
        sh->time_sum_us += us;

        ngx_http_headroom_count_model(r, hmcf->zone, ctx->mode, &model,
                                      before, after, usd_nano);
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


/*
 * Counts what the provider said a call used, once its answer has passed:
 * by mode and by model, priced where headroom_prices has the model's five
 * prices.
 */

void
ngx_http_headroom_record_usage(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    ngx_str_t                       model;
    ngx_slab_pool_t                *shpool;
    ngx_http_headroom_shctx_t      *sh;
    ngx_http_headroom_model_t      *m;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    if (hmcf->zone == NULL || !ctx->usage.found) {
        return;
    }

    model = ngx_http_headroom_model_key(ctx);

    shpool = (ngx_slab_pool_t *) hmcf->zone->shm.addr;
    sh = hmcf->zone->data;

    ngx_shmtx_lock(&shpool->mutex);

    ngx_http_headroom_add_spend(&sh->figures[ctx->mode].spend, &ctx->usage,
                                ctx->usage_usd);

    m = ngx_http_headroom_model_entry(r, hmcf->zone, ctx->mode, &model);
    ngx_http_headroom_add_spend(&m->spend, &ctx->usage, ctx->usage_usd);

    ngx_shmtx_unlock(&shpool->mutex);
}


static void
ngx_http_headroom_add_spend(ngx_http_headroom_spend_t *s,
    headroom_usage_t *usage, double usd)
{
    s->calls++;
    s->input += usage->input;
    s->cached += usage->cached;
    s->cache_write += usage->cache_write;
    s->output += usage->output;

    if (usage->estimated) {
        s->estimated++;
    }

    if (usd >= 0) {
        s->usd_nano += (uint64_t) (usd * 1e9 + 0.5);

    } else {
        s->unpriced++;
    }
}


/* the lock is held */

static void
ngx_http_headroom_count_model(ngx_http_request_t *r, ngx_shm_zone_t *zone,
    ngx_uint_t mode, ngx_str_t *key, size_t before, size_t after,
    uint64_t usd_nano)
{
    ngx_http_headroom_model_t  *m;

    m = ngx_http_headroom_model_entry(r, zone, mode, key);

    m->requests++;
    m->tokens_before += before;
    m->tokens_after += after;
    m->usd_nano += usd_nano;
}


/* the model's entry, made when new; "(other)" when full; the lock is held */

static ngx_http_headroom_model_t *
ngx_http_headroom_model_entry(ngx_http_request_t *r, ngx_shm_zone_t *zone,
    ngx_uint_t mode, ngx_str_t *key)
{
    ngx_slab_pool_t            *shpool;
    ngx_http_headroom_shctx_t  *sh;
    ngx_http_headroom_model_t  *m;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;
    sh = zone->data;

    for (m = sh->models; m; m = m->next) {
        if (m->mode == mode && m->len == key->len
            && ngx_memcmp(m->name, key->data, key->len) == 0)
        {
            break;
        }
    }

    if (m == NULL) {
        m = ngx_slab_calloc_locked(shpool, sizeof(ngx_http_headroom_model_t));

        if (m == NULL) {
            if (!sh->full) {
                sh->full = 1;
                ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                              "headroom: zone \"%V\" is full after %ui "
                              "models: more are counted as \"(other)\"; "
                              "give headroom_zone a larger size",
                              &zone->shm.name, sh->nmodels);
            }

            m = &sh->other[mode];

        } else {
            m->mode = mode;
            m->len = key->len;
            ngx_memcpy(m->name, key->data, key->len);

            if (sh->last_model) {
                sh->last_model->next = m;

            } else {
                sh->models = m;
            }

            sh->last_model = m;
            sh->nmodels++;
        }
    }

    return m;
}


/*
 * The model as counted: names of up to 64 letters, digits and ._:/@+-
 * as sent, "(none)" when absent, "(other)" for anything else, so that no
 * client can flood the zone with odd names or break the status output.
 */

static ngx_str_t
ngx_http_headroom_model_key(ngx_http_headroom_ctx_t *ctx)
{
    u_char      c;
    size_t      i, len;
    ngx_str_t   key, sent;
    const char *model;

    sent = ngx_http_headroom_model_billed(ctx);
    model = (const char *) sent.data;
    len = sent.len;

    if (len == 0) {
        ngx_str_set(&key, "(none)");
        return key;
    }

    if (len > NGX_HTTP_HEADROOM_MODEL_LEN) {
        ngx_str_set(&key, "(other)");
        return key;
    }

    for (i = 0; i < len; i++) {
        c = (u_char) model[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':'
              || c == '/' || c == '@' || c == '+' || c == '-'))
        {
            ngx_str_set(&key, "(other)");
            return key;
        }
    }

    key.len = len;
    key.data = (u_char *) model;

    return key;
}


/* a request in a location where headroom is on; counted without the lock */

void
ngx_http_headroom_count_seen(ngx_http_request_t *r)
{
    ngx_http_headroom_shctx_t      *sh;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    if (hmcf->zone) {
        sh = hmcf->zone->data;
        (void) ngx_atomic_fetch_add(&sh->seen, 1);
    }
}


/*
 * The rest of a body headroom gave up on mid-way, once it has gone by: its
 * encoding's bytes on the wire then count the whole body.
 */

void
ngx_http_headroom_record_passed(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    ngx_slab_pool_t                *shpool;
    ngx_http_headroom_shctx_t      *sh;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    if (hmcf->zone == NULL
        || ctx->outcome == NGX_HTTP_HEADROOM_UNDECIDED
        || !ctx->started
        || (ngx_uint_t) ctx->encoding >= HEADROOM_ENCODINGS)
    {
        return;
    }

    shpool = (ngx_slab_pool_t *) hmcf->zone->shm.addr;
    sh = hmcf->zone->data;

    ngx_shmtx_lock(&shpool->mutex);
    sh->codings[ctx->encoding].wire_bytes += ctx->passed - ctx->passed_counted;
    ngx_shmtx_unlock(&shpool->mutex);

    ctx->passed_counted = ctx->passed;
}
