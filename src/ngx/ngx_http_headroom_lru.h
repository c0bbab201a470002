
/*
 * headroom: a map in shared memory by a 64-byte key, kept the way
 * ngx_http_limit_req_module keeps its states: an rbtree by key, a queue
 * with the most recently used first, expiry on the way, the least recently
 * used dropped to make room. The originals' store (headroom_ccr_zone) and
 * the results' cache (headroom_cache_zone) are each one.
 */


#ifndef _NGX_HTTP_HEADROOM_LRU_H_INCLUDED_
#define _NGX_HTTP_HEADROOM_LRU_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_HEADROOM_LRU_KEY_LEN  64


typedef struct {
    uint64_t                       stored;        /* entries put in */
    uint64_t                       stored_bytes;
    uint64_t                       kept;          /* in the zone now */
    uint64_t                       kept_bytes;
    uint64_t                       evicted;       /* for room */
    uint64_t                       expired;
    uint64_t                       too_large;     /* no room made */
} ngx_http_headroom_lru_figures_t;


/* the first member of a zone's shared context */
typedef struct {
    ngx_rbtree_t                   rbtree;
    ngx_rbtree_node_t              sentinel;
    ngx_queue_t                    queue;        /* most recent first */
    size_t                         layout;       /* the context's size */
    ngx_http_headroom_lru_figures_t  figures;
} ngx_http_headroom_lru_sh_t;


typedef struct {
    u_char                         color;
    u_char                         key[NGX_HTTP_HEADROOM_LRU_KEY_LEN];
    ngx_queue_t                    queue;
    ngx_msec_t                     expire;
    size_t                         len;
    u_char                         data[1];
} ngx_http_headroom_lru_node_t;


typedef struct {
    ngx_http_headroom_lru_sh_t    *sh;
    ngx_slab_pool_t               *shpool;
    ngx_msec_t                     ttl;          /* 0: until evicted */
    size_t                         layout;       /* the context's size */
    size_t                         max_len;      /* an eighth of the zone */
    const char                    *directive;
} ngx_http_headroom_lru_zone_t;


ngx_shm_zone_t *ngx_http_headroom_lru_zone(ngx_conf_t *cf,
    const char *directive, ngx_str_t *name, ngx_str_t *size, void *tag,
    size_t layout, ngx_msec_t ttl);

/* the rest under the zone's lock */
ngx_http_headroom_lru_node_t *ngx_http_headroom_lru_find(
    ngx_http_headroom_lru_zone_t *lru, u_char *key);
ngx_http_headroom_lru_node_t *ngx_http_headroom_lru_add(
    ngx_http_headroom_lru_zone_t *lru, u_char *key, size_t len);
void ngx_http_headroom_lru_touch(ngx_http_headroom_lru_zone_t *lru,
    ngx_http_headroom_lru_node_t *ln);
void ngx_http_headroom_lru_expire(ngx_http_headroom_lru_zone_t *lru,
    ngx_uint_t n);


#endif /* _NGX_HTTP_HEADROOM_LRU_H_INCLUDED_ */
