
/*
 * headroom: the originals' store. A shared-memory zone kept the way
 * ngx_http_limit_req_module keeps its states: an rbtree by key, a queue
 * with the most recently used first, expiry on the way. Keys are the
 * tenant's 32 hex digits and the original's id; the ttl slides with every
 * retrieval. A full zone makes room by dropping the least recently used;
 * an original over an eighth of the zone is not kept. With headroom_redis,
 * originals are written there too and read from there when the zone
 * misses.
 */


#include "ngx_http_headroom_ccr.h"


static ngx_str_t *ngx_http_headroom_ccr_credential(ngx_http_request_t *r,
    ngx_str_t *arg);


/* the zone's own tag: a reload never takes a headroom_zone's for it */
static ngx_uint_t  ngx_http_headroom_ccr_tag;


/* headroom_ccr_zone NAME SIZE [ttl=TIME] */

char *
ngx_http_headroom_ccr_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_main_conf_t *hmcf = conf;

    ngx_str_t                     *value, s;
    ngx_msec_t                     ttl;
    ngx_uint_t                     i;

    if (hmcf->ccr_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;
    ttl = 3600000;

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0 && i == 3) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            ttl = ngx_parse_time(&s, 0);

            if (ttl == (ngx_msec_t) NGX_ERROR || ttl == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"headroom_ccr_zone\" has an invalid "
                                   "ttl \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_ccr_zone\" takes NAME SIZE "
                           "[ttl=TIME], not \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    hmcf->ccr_zone = ngx_http_headroom_lru_zone(cf, "headroom_ccr_zone",
                         &value[1], &value[2], &ngx_http_headroom_ccr_tag,
                         sizeof(ngx_http_headroom_ccr_shctx_t), ttl);
    if (hmcf->ccr_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * After every location merged: a store and something that uses it come
 * together, or "nginx -t" says which is missing.
 */

char *
ngx_http_headroom_ccr_check(ngx_conf_t *cf,
    ngx_http_headroom_main_conf_t *hmcf)
{
    if (hmcf->ccr_used && hmcf->ccr_zone == NULL) {
        return "\"headroom_ccr on\" needs a \"headroom_ccr_zone\" in the "
               "http block to keep the originals in";
    }

    if (hmcf->ccr_ways_used && hmcf->ccr_zone == NULL) {
        return "\"headroom_ccr_endpoint\" and \"headroom_ccr_mcp\" need a "
               "\"headroom_ccr_zone\" in the http block";
    }

    if (hmcf->ccr_zone && !hmcf->ccr_used) {
        return "\"headroom_ccr_zone\" is set, but no location has "
               "\"headroom_ccr on\" to store originals in it";
    }

    if (hmcf->budget_redis && hmcf->redis == NULL) {
        return "\"headroom_budget\" with \"redis=on\" needs "
               "\"headroom_redis\" in the http block";
    }

    if (hmcf->redis && hmcf->ccr_zone == NULL && !hmcf->budget_redis
        && hmcf->route_zone == NULL)
    {
        return "\"headroom_redis\" needs a \"headroom_ccr_zone\" (the "
               "local cache in front of it) and \"headroom_ccr on\", a "
               "\"headroom_budget\" with \"redis=on\", or a "
               "\"headroom_route_zone\"";
    }

    return NGX_CONF_OK;
}


/*
 * Keeps an original under `key` (tenant, then id): NGX_OK. Kept already:
 * its ttl starts again, NGX_DECLINED. Room is made by dropping the least
 * recently used, a few at most; an original over an eighth of the zone is
 * not kept at all (it would empty the zone for one): NGX_ERROR.
 */

ngx_int_t
ngx_http_headroom_ccr_put(ngx_http_request_t *r, u_char *key, u_char *text,
    size_t len)
{
    ngx_http_headroom_lru_node_t   *ln;
    ngx_http_headroom_ccr_zone_t   *ctx;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);
    ctx = hmcf->ccr_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    ngx_http_headroom_lru_expire(ctx, 2);

    ln = ngx_http_headroom_lru_find(ctx, key);

    if (ln) {
        ngx_http_headroom_lru_touch(ctx, ln);
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_DECLINED;
    }

    ln = ngx_http_headroom_lru_add(ctx, key, len);

    if (ln == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "headroom: no room for an original of %uz bytes in "
                      "headroom_ccr_zone \"%V\": not kept there",
                      len, &hmcf->ccr_zone->shm.name);
        return NGX_ERROR;
    }

    ngx_memcpy(ln->data, text, len);

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


/*
 * The original under `key`, copied into the request's pool (the zone may
 * drop it the moment the lock is let go); its ttl starts again.
 */

headroom_store_e
ngx_http_headroom_ccr_get(ngx_http_request_t *r, u_char *key,
    ngx_str_t *text)
{
    headroom_store_e                state;
    ngx_http_headroom_lru_node_t   *ln;
    ngx_http_headroom_ccr_zone_t   *ctx;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);
    ctx = hmcf->ccr_zone->data;

    state = HEADROOM_STORE_MISSING;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    ln = ngx_http_headroom_lru_find(ctx, key);

    if (ln) {
        text->data = ngx_pnalloc(r->pool, ln->len ? ln->len : 1);

        if (text->data == NULL) {
            state = HEADROOM_STORE_UNAVAILABLE;

        } else {
            ngx_memcpy(text->data, ln->data, ln->len);
            text->len = ln->len;
            ngx_http_headroom_lru_touch(ctx, ln);
            state = HEADROOM_STORE_FOUND;
        }
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    if (state == HEADROOM_STORE_FOUND && hmcf->redis) {
        ngx_http_headroom_redis_renew(hmcf->redis, key, ctx->ttl);
    }

    return state;
}


void
ngx_http_headroom_ccr_count(ngx_shm_zone_t *zone, ngx_uint_t way,
    headroom_store_e state, ngx_uint_t n)
{
    ngx_http_headroom_ccr_zone_t  *ctx;

    if (n == 0) {
        return;
    }

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);
    ngx_http_headroom_ccr_sh(ctx)->retrievals[way][state] += n;
    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


void
ngx_http_headroom_ccr_count_redis(ngx_shm_zone_t *zone, ngx_uint_t figure)
{
    ngx_http_headroom_ccr_zone_t  *ctx;

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);
    ngx_http_headroom_ccr_sh(ctx)->redis[figure]++;
    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


void
ngx_http_headroom_ccr_snapshot(ngx_shm_zone_t *zone,
    ngx_http_headroom_ccr_figures_t *figures)
{
    ngx_http_headroom_ccr_zone_t  *ctx;

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);
    ngx_http_headroom_lru_expire(ctx, 100);
    figures->store = ctx->sh->figures;
    ngx_memcpy(figures->retrievals, ngx_http_headroom_ccr_sh(ctx)->retrievals,
               sizeof(figures->retrievals));
    ngx_memcpy(figures->redis, ngx_http_headroom_ccr_sh(ctx)->redis,
               sizeof(figures->redis));
    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


/*
 * The tenant: headroom_ccr_tenant's value, or the request's credential,
 * hashed either way, so that no credential is ever kept. NGX_DECLINED for
 * none (an empty value): such requests would all share one tenant, so
 * they keep nothing and get nothing back.
 */

ngx_int_t
ngx_http_headroom_ccr_tenant(ngx_http_request_t *r, u_char *tenant)
{
    char                           hex[NGX_HTTP_HEADROOM_ID_LEN + 1];
    ngx_str_t                      value, arg, *credential;
    ngx_http_headroom_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);

    if (hlcf->ccr_tenant) {
        if (ngx_http_complex_value(r, hlcf->ccr_tenant, &value) != NGX_OK) {
            return NGX_ERROR;
        }

    } else {
        credential = ngx_http_headroom_ccr_credential(r, &arg);

        if (credential) {
            value = *credential;

        } else {
            ngx_str_null(&value);
        }
    }

    if (value.len == 0) {
        return NGX_DECLINED;
    }

    headroom_tenant_of(value.data, value.len, hex);
    ngx_memcpy(tenant, hex, NGX_HTTP_HEADROOM_ID_LEN);

    return NGX_OK;
}


/* Authorization, x-api-key, x-goog-api-key, or the "key" argument */

static ngx_str_t *
ngx_http_headroom_ccr_credential(ngx_http_request_t *r, ngx_str_t *arg)
{
    ngx_uint_t        k;
    ngx_table_elt_t  *h;

    static ngx_str_t  names[] = {
        ngx_string("x-api-key"),
        ngx_string("x-goog-api-key")
    };

    if (r->headers_in.authorization) {
        return &r->headers_in.authorization->value;
    }

    for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        h = ngx_http_headroom_some_header(r, &names[k], NULL);

        if (h) {
            return &h->value;
        }
    }

    if (ngx_http_arg(r, (u_char *) "key", 3, arg) == NGX_OK) {
        return arg;
    }

    return NULL;
}


/*
 * Before the core runs where headroom_ccr is on: the tenant, and the store
 * the core asks for the originals that retrievals name.
 */

ngx_int_t
ngx_http_headroom_ccr_before(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, headroom_store_t *store)
{
    ngx_int_t                     rc;
    ngx_http_headroom_ccr_ctx_t  *ccr;

    if (ctx->ccr == NULL) {
        ccr = ngx_pcalloc(r->pool, sizeof(ngx_http_headroom_ccr_ctx_t));
        if (ccr == NULL) {
            return NGX_ERROR;
        }

        if (ngx_array_init(&ccr->fetched, r->pool, 1,
                           sizeof(ngx_http_headroom_fetched_t))
            != NGX_OK
            || ngx_array_init(&ccr->pending, r->pool, 1,
                              sizeof(ngx_http_headroom_fetched_t))
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        rc = ngx_http_headroom_ccr_tenant(r, ccr->tenant);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DECLINED) {
            ccr->anonymous = 1;
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "headroom: no credential and no "
                          "headroom_ccr_tenant: no original is kept or "
                          "given back for this request");
        }

        ctx->ccr = ccr;
    }

    store->lookup = ngx_http_headroom_ccr_lookup;
    store->data = r;

    return NGX_OK;
}


/* the store's key of an original: the request's tenant, then its id */

void
ngx_http_headroom_ccr_key(ngx_http_headroom_ccr_ctx_t *ccr, const u_char *id,
    u_char *key)
{
    ngx_memcpy(key, ccr->tenant, NGX_HTTP_HEADROOM_ID_LEN);
    ngx_memcpy(key + NGX_HTTP_HEADROOM_ID_LEN, id, NGX_HTTP_HEADROOM_ID_LEN);
}


/* the entry of `id` in a request's list of originals asked for */

ngx_http_headroom_fetched_t *
ngx_http_headroom_ccr_id_in(ngx_array_t *list, const char *id)
{
    ngx_uint_t                    i;
    ngx_http_headroom_fetched_t  *f;

    f = list->elts;

    for (i = 0; i < list->nelts; i++) {
        if (ngx_strncmp(f[i].id, id, NGX_HTTP_HEADROOM_ID_LEN) == 0) {
            return &f[i];
        }
    }

    return NULL;
}


/*
 * The core's store: what Redis gave this request, else the zone. A miss
 * with Redis not yet asked is noted, to be asked before the core runs
 * again; that run's result is thrown away.
 */

/*
 * What the request holds for `id` already, read only: NGX_OK with *state
 * (and the text, when found) for an anonymous request (nothing) or an id
 * fetched before; NGX_DECLINED when the zone or Redis is to be asked.
 */

ngx_int_t
ngx_http_headroom_ccr_held(ngx_http_headroom_ccr_ctx_t *ccr, const char *id,
    const unsigned char **text, size_t *len, headroom_store_e *state)
{
    ngx_http_headroom_fetched_t  *f;

    if (ccr->anonymous) {
        *state = HEADROOM_STORE_MISSING;
        return NGX_OK;
    }

    f = ngx_http_headroom_ccr_id_in(&ccr->fetched, id);

    if (f == NULL) {
        return NGX_DECLINED;
    }

    *text = f->text.data;
    *len = f->text.len;
    *state = f->state;

    return NGX_OK;
}


headroom_store_e
ngx_http_headroom_ccr_lookup(void *data, const char *id,
    const unsigned char **text, size_t *len)
{
    ngx_http_request_t *r = data;

    u_char                          key[NGX_HTTP_HEADROOM_KEY_LEN];
    ngx_str_t                       s;
    headroom_store_e                state;
    ngx_http_headroom_ctx_t        *ctx;
    ngx_http_headroom_fetched_t    *f;
    ngx_http_headroom_ccr_ctx_t    *ccr;
    ngx_http_headroom_main_conf_t  *hmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);
    ccr = ctx->ccr;

    if (ngx_http_headroom_ccr_held(ccr, id, text, len, &state) == NGX_OK) {
        return state;
    }

    ngx_http_headroom_ccr_key(ccr, (const u_char *) id, key);

    state = ngx_http_headroom_ccr_get(r, key, &s);

    if (state == HEADROOM_STORE_FOUND) {
        /* once a request: the same id again is not copied again */

        f = ngx_http_headroom_ccr_hold(ccr, id);

        if (f) {
            f->state = HEADROOM_STORE_FOUND;
            f->text = s;
        }

        *text = s.data;
        *len = s.len;
        return state;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    if (state == HEADROOM_STORE_MISSING && hmcf->redis && ccr->asked
        && ccr->pending.nelts == NGX_HTTP_HEADROOM_REDIS_PER_REQUEST)
    {
        /* past the bound, Redis was not asked: not "gone" */
        return HEADROOM_STORE_UNAVAILABLE;
    }

    if (state == HEADROOM_STORE_MISSING && hmcf->redis && !ccr->asked) {

        /*
         * Redis is asked for so many ids a request at most; the rest are
         * "not available right now": the zone keeps what came, so a later
         * turn asks for the next ones.
         */

        if (ccr->pending.nelts == NGX_HTTP_HEADROOM_REDIS_PER_REQUEST
            || ngx_http_headroom_ccr_id_in(&ccr->pending, id))
        {
            return HEADROOM_STORE_UNAVAILABLE;
        }

        f = ngx_array_push(&ccr->pending);
        if (f == NULL) {
            return HEADROOM_STORE_UNAVAILABLE;
        }

        ngx_memzero(f, sizeof(ngx_http_headroom_fetched_t));
        ngx_memcpy(f->id, id, NGX_HTTP_HEADROOM_ID_LEN);
        f->state = HEADROOM_STORE_UNAVAILABLE;

        return HEADROOM_STORE_UNAVAILABLE;
    }

    return state;
}


/* the core asked for originals only Redis may have */

ngx_int_t
ngx_http_headroom_ccr_must_wait(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    return ctx->ccr && !ctx->ccr->asked && ctx->ccr->pending.nelts > 0;
}


/*
 * Keeps `text` under `key` in the zone and in Redis; what the zone has
 * already (every turn resends what earlier turns kept) is renewed in
 * Redis, not sent again.
 */

void
ngx_http_headroom_ccr_keep(ngx_http_request_t *r, u_char *key, u_char *text,
    size_t len)
{
    ngx_int_t                       rc;
    ngx_http_headroom_ccr_zone_t   *zctx;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    rc = ngx_http_headroom_ccr_put(r, key, text, len);

    if (hmcf->redis == NULL) {
        return;
    }

    zctx = hmcf->ccr_zone->data;

    if (rc == NGX_DECLINED) {
        ngx_http_headroom_redis_renew(hmcf->redis, key, zctx->ttl);

    } else {
        (void) ngx_http_headroom_redis_set(hmcf->redis, key, text, len,
                                           zctx->ttl);
    }
}


/*
 * The entry of `id` among what the request holds, made (empty, "not
 * available") when there is none; NULL when out of memory.
 */

ngx_http_headroom_fetched_t *
ngx_http_headroom_ccr_hold(ngx_http_headroom_ccr_ctx_t *ccr, const char *id)
{
    ngx_http_headroom_fetched_t  *f;

    f = ngx_http_headroom_ccr_id_in(&ccr->fetched, id);

    if (f) {
        return f;
    }

    f = ngx_array_push(&ccr->fetched);
    if (f == NULL) {
        return NULL;
    }

    ngx_memzero(f, sizeof(ngx_http_headroom_fetched_t));
    ngx_memcpy(f->id, id, NGX_HTTP_HEADROOM_ID_LEN);
    f->state = HEADROOM_STORE_UNAVAILABLE;

    return f;
}


/*
 * After the core's last run: the fills counted, and the originals of what
 * the markers sent name kept, in the zone and in Redis. (Not called in
 * audit mode: the original body goes, with neither markers nor fills.)
 */

void
ngx_http_headroom_ccr_after(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    u_char                          key[NGX_HTTP_HEADROOM_KEY_LEN], *p;
    size_t                          i;
    headroom_result_t              *res;
    ngx_http_headroom_ccr_ctx_t    *ccr;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);
    res = &ctx->result;
    ccr = ctx->ccr;

    ngx_http_headroom_ccr_count(hmcf->ccr_zone, NGX_HTTP_HEADROOM_WAY_FILL,
                                HEADROOM_STORE_FOUND, res->fills_found);
    ngx_http_headroom_ccr_count(hmcf->ccr_zone, NGX_HTTP_HEADROOM_WAY_FILL,
                                HEADROOM_STORE_MISSING, res->fills_missing);
    ngx_http_headroom_ccr_count(hmcf->ccr_zone, NGX_HTTP_HEADROOM_WAY_FILL,
                                HEADROOM_STORE_UNAVAILABLE,
                                res->fills_unavailable);

    if (res->outcome != HEADROOM_REWRITTEN
        || res->noriginals == 0
        || ccr->anonymous)
    {
        return;
    }

    ccr->ids.data = ngx_pnalloc(r->pool, res->noriginals
                                         * (NGX_HTTP_HEADROOM_ID_LEN + 1));
    p = ccr->ids.data;

    for (i = 0; i < res->noriginals; i++) {
        ngx_http_headroom_ccr_key(ccr, (const u_char *) res->originals[i].id,
                                  key);

        ngx_http_headroom_ccr_keep(r, key, (u_char *) res->originals[i].text,
                                   res->originals[i].len);

        if (p) {
            if (i) {
                *p++ = ' ';
            }

            p = ngx_cpymem(p, res->originals[i].id, NGX_HTTP_HEADROOM_ID_LEN);
        }
    }

    if (p) {
        ccr->ids.len = p - ccr->ids.data;
    }
}
