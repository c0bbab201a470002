
/*
 * headroom: the results' cache. What the core made of each tool output,
 * kept in shared memory by a key naming everything the result depends on,
 * so that an agent's next turn, which resends every earlier output, pays
 * only for its new ones.
 */


#ifndef _NGX_HTTP_HEADROOM_CACHE_H_INCLUDED_
#define _NGX_HTTP_HEADROOM_CACHE_H_INCLUDED_


#include "ngx_http_headroom_module.h"
#include "ngx_http_headroom_lru.h"


typedef struct {
    ngx_http_headroom_lru_figures_t  store;
    uint64_t                       hits;          /* tool outputs */
    uint64_t                       misses;
} ngx_http_headroom_cache_figures_t;


char *ngx_http_headroom_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_headroom_cache_init(ngx_shm_zone_t *zone,
    headroom_cache_t *cache);
void ngx_http_headroom_cache_count(ngx_shm_zone_t *zone,
    headroom_result_t *result);
void ngx_http_headroom_cache_snapshot(ngx_shm_zone_t *zone,
    ngx_http_headroom_cache_figures_t *figures);


#endif /* _NGX_HTTP_HEADROOM_CACHE_H_INCLUDED_ */
