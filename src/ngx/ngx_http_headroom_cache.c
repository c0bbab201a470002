
/*
 * headroom: the results' cache, a zone of ngx_http_headroom_lru.c with no
 * ttl (a result is right for as long as it is kept). The core asks it
 * through a headroom_cache_t, possibly from a thread of the pool: nothing
 * here logs or touches a request.
 */


#include "ngx_http_headroom_cache.h"


typedef struct {
    ngx_http_headroom_lru_sh_t     lru;
    uint64_t                       hits;
    uint64_t                       misses;
} ngx_http_headroom_cache_shctx_t;


static int ngx_http_headroom_cache_get(void *data, const unsigned char *key,
    headroom_cache_take_pt take, void *sink);
static void ngx_http_headroom_cache_put(void *data, const unsigned char *key,
    const unsigned char *value, size_t len);
static void ngx_http_headroom_cache_key(const unsigned char *key, u_char *k);


/* the zone's own tag: a reload never takes another zone's for it */
static ngx_uint_t  ngx_http_headroom_cache_tag;


/* headroom_cache_zone NAME SIZE */

char *
ngx_http_headroom_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_main_conf_t *hmcf = conf;

    ngx_str_t  *value;

    if (hmcf->cache_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    hmcf->cache_zone = ngx_http_headroom_lru_zone(cf, "headroom_cache_zone",
                           &value[1], &value[2], &ngx_http_headroom_cache_tag,
                           sizeof(ngx_http_headroom_cache_shctx_t), 0);
    if (hmcf->cache_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


void
ngx_http_headroom_cache_init(ngx_shm_zone_t *zone, headroom_cache_t *cache)
{
    cache->get = ngx_http_headroom_cache_get;
    cache->put = ngx_http_headroom_cache_put;
    cache->data = zone->data;
}


static int
ngx_http_headroom_cache_get(void *data, const unsigned char *key,
    headroom_cache_take_pt take, void *sink)
{
    ngx_http_headroom_lru_zone_t *lru = data;

    int                            hit;
    u_char                         k[NGX_HTTP_HEADROOM_LRU_KEY_LEN];
    ngx_http_headroom_lru_node_t  *ln;

    ngx_http_headroom_cache_key(key, k);

    ngx_shmtx_lock(&lru->shpool->mutex);

    ln = ngx_http_headroom_lru_find(lru, k);

    /* the core compares the entry with what it asks about */

    hit = (ln != NULL && take(sink, ln->data, ln->len));

    if (hit) {
        ngx_http_headroom_lru_touch(lru, ln);
    }

    ngx_shmtx_unlock(&lru->shpool->mutex);

    return hit;
}


/* a result over an eighth of the zone is not kept; the next is worked out */

static void
ngx_http_headroom_cache_put(void *data, const unsigned char *key,
    const unsigned char *value, size_t len)
{
    ngx_http_headroom_lru_zone_t *lru = data;

    u_char                         k[NGX_HTTP_HEADROOM_LRU_KEY_LEN];
    ngx_http_headroom_lru_node_t  *ln;

    ngx_http_headroom_cache_key(key, k);

    ngx_shmtx_lock(&lru->shpool->mutex);

    /*
     * Another worker may have put it in since this one missed; an entry
     * under the same key for other material (a collision) stays.
     */

    ln = ngx_http_headroom_lru_find(lru, k);

    if (ln == NULL) {
        ln = ngx_http_headroom_lru_add(lru, k, len);

        if (ln) {
            ngx_memcpy(ln->data, value, len);
        }
    }

    ngx_shmtx_unlock(&lru->shpool->mutex);
}


/* the zone's 64-byte key: the core's, in hex, then zeros */

static void
ngx_http_headroom_cache_key(const unsigned char *key, u_char *k)
{
    u_char  *p;

    p = ngx_hex_dump(k, (u_char *) key, HEADROOM_CACHE_KEY_LEN);
    ngx_memzero(p, NGX_HTTP_HEADROOM_LRU_KEY_LEN - (p - k));
}


void
ngx_http_headroom_cache_count(ngx_shm_zone_t *zone, headroom_result_t *result)
{
    ngx_http_headroom_lru_zone_t     *lru;
    ngx_http_headroom_cache_shctx_t  *sh;

    if (result->cache_hits == 0 && result->cache_misses == 0) {
        return;
    }

    lru = zone->data;
    sh = (ngx_http_headroom_cache_shctx_t *) lru->sh;

    ngx_shmtx_lock(&lru->shpool->mutex);
    sh->hits += result->cache_hits;
    sh->misses += result->cache_misses;
    ngx_shmtx_unlock(&lru->shpool->mutex);
}


void
ngx_http_headroom_cache_snapshot(ngx_shm_zone_t *zone,
    ngx_http_headroom_cache_figures_t *figures)
{
    ngx_http_headroom_lru_zone_t     *lru;
    ngx_http_headroom_cache_shctx_t  *sh;

    lru = zone->data;
    sh = (ngx_http_headroom_cache_shctx_t *) lru->sh;

    ngx_shmtx_lock(&lru->shpool->mutex);
    figures->store = sh->lru.figures;
    figures->hits = sh->hits;
    figures->misses = sh->misses;
    ngx_shmtx_unlock(&lru->shpool->mutex);
}
