
/*
 * headroom: reversible compression. The originals of what headroom crushes,
 * kept in shared memory (and in Redis, for several nodes) by tenant and id;
 * the ways back to them.
 */


#ifndef _NGX_HTTP_HEADROOM_CCR_H_INCLUDED_
#define _NGX_HTTP_HEADROOM_CCR_H_INCLUDED_


#include "ngx_http_headroom_module.h"
#include "ngx_http_headroom_lru.h"


#define NGX_HTTP_HEADROOM_ID_LEN    32   /* hex digits */
#define NGX_HTTP_HEADROOM_KEY_LEN   64   /* tenant, then id */

/* originals one request reads from Redis at most */
#define NGX_HTTP_HEADROOM_REDIS_PER_REQUEST  256


/* the ways back, and what each found */
#define NGX_HTTP_HEADROOM_WAY_FILL      0
#define NGX_HTTP_HEADROOM_WAY_MCP       1
#define NGX_HTTP_HEADROOM_WAY_ENDPOINT  2
#define NGX_HTTP_HEADROOM_WAYS          3


/* Redis, as the figures count it */
#define NGX_HTTP_HEADROOM_REDIS_WRITES   0
#define NGX_HTTP_HEADROOM_REDIS_READS    1
#define NGX_HTTP_HEADROOM_REDIS_HITS     2
#define NGX_HTTP_HEADROOM_REDIS_ERRORS   3
#define NGX_HTTP_HEADROOM_REDIS_FIGURES  4


typedef struct {
    ngx_http_headroom_lru_figures_t  store;
    uint64_t                       retrievals[NGX_HTTP_HEADROOM_WAYS]
                                             [HEADROOM_STORE_STATES];
    uint64_t                       redis[NGX_HTTP_HEADROOM_REDIS_FIGURES];
} ngx_http_headroom_ccr_figures_t;


typedef struct {
    ngx_http_headroom_lru_sh_t     lru;
    uint64_t                       retrievals[NGX_HTTP_HEADROOM_WAYS]
                                             [HEADROOM_STORE_STATES];
    uint64_t                       redis[NGX_HTTP_HEADROOM_REDIS_FIGURES];
} ngx_http_headroom_ccr_shctx_t;


typedef ngx_http_headroom_lru_zone_t  ngx_http_headroom_ccr_zone_t;

#define ngx_http_headroom_ccr_sh(zone)                                        \
    ((ngx_http_headroom_ccr_shctx_t *) (zone)->sh)


/* per request, where headroom_ccr is on */
struct ngx_http_headroom_ccr_ctx_s {
    u_char                          tenant[NGX_HTTP_HEADROOM_ID_LEN];
    ngx_array_t                     fetched;   /* from Redis */
    ngx_array_t                     pending;   /* ids to ask Redis for */
    ngx_str_t                       ids;       /* $headroom_ccr_ids */
    void                           *wait;      /* while Redis answers */
    void                          (*resume)(ngx_http_request_t *r);
    ngx_int_t                     (*rerun)(ngx_http_request_t *r);
    unsigned                        asked:1;   /* Redis was asked */
    unsigned                        anonymous:1;  /* no tenant */
};


/* an original Redis gave, or why not */
typedef struct {
    u_char                          id[NGX_HTTP_HEADROOM_ID_LEN + 1];
    headroom_store_e                state;
    ngx_str_t                       text;
} ngx_http_headroom_fetched_t;


/* ngx_http_headroom_ccr.c */
char *ngx_http_headroom_ccr_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_headroom_ccr_check(ngx_conf_t *cf,
    ngx_http_headroom_main_conf_t *hmcf);
ngx_int_t ngx_http_headroom_ccr_tenant(ngx_http_request_t *r,
    u_char *tenant);
void ngx_http_headroom_ccr_key(ngx_http_headroom_ccr_ctx_t *ccr,
    const u_char *id, u_char *key);
headroom_store_e ngx_http_headroom_ccr_get(ngx_http_request_t *r,
    u_char *key, ngx_str_t *text);
ngx_int_t ngx_http_headroom_ccr_put(ngx_http_request_t *r, u_char *key,
    u_char *text, size_t len);
void ngx_http_headroom_ccr_keep(ngx_http_request_t *r, u_char *key,
    u_char *text, size_t len);
ngx_http_headroom_fetched_t *ngx_http_headroom_ccr_hold(
    ngx_http_headroom_ccr_ctx_t *ccr, const char *id);
void ngx_http_headroom_ccr_count(ngx_shm_zone_t *zone, ngx_uint_t way,
    headroom_store_e state, ngx_uint_t n);
void ngx_http_headroom_ccr_count_redis(ngx_shm_zone_t *zone,
    ngx_uint_t figure);
ngx_int_t ngx_http_headroom_ccr_before(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, headroom_store_t *store);
ngx_int_t ngx_http_headroom_ccr_must_wait(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
void ngx_http_headroom_ccr_after(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
void ngx_http_headroom_ccr_snapshot(ngx_shm_zone_t *zone,
    ngx_http_headroom_ccr_figures_t *figures);
headroom_store_e ngx_http_headroom_ccr_lookup(void *data, const char *id,
    const unsigned char **text, size_t *len);
ngx_http_headroom_fetched_t *ngx_http_headroom_ccr_id_in(ngx_array_t *list,
    const char *id);
ngx_int_t ngx_http_headroom_ccr_held(ngx_http_headroom_ccr_ctx_t *ccr,
    const char *id, const unsigned char **text, size_t *len,
    headroom_store_e *state);

/* ngx_http_headroom_ccr_handlers.c */
char *ngx_http_headroom_ccr_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_headroom_ccr_mcp(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_headroom_redis.c */
typedef void (*ngx_http_headroom_redis_got_pt)(void *data, ngx_int_t rc,
    u_char *value, size_t len);

char *ngx_http_headroom_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_headroom_redis_init_process(ngx_cycle_t *cycle);
void ngx_http_headroom_redis_exit_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_headroom_redis_set(ngx_http_headroom_redis_t *redis,
    u_char *key, u_char *value, size_t len, ngx_msec_t ttl);
ngx_int_t ngx_http_headroom_redis_get(ngx_http_headroom_redis_t *redis,
    u_char *key, ngx_msec_t ttl, ngx_http_headroom_redis_got_pt handler,
    void *data);
void ngx_http_headroom_redis_renew(ngx_http_headroom_redis_t *redis,
    u_char *key, ngx_msec_t ttl);
ngx_msec_t ngx_http_headroom_redis_timeout(ngx_http_headroom_redis_t *redis);
ngx_int_t ngx_http_headroom_redis_command(ngx_http_headroom_redis_t *redis,
    ngx_http_headroom_redis_got_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);
u_char *ngx_http_headroom_redis_prefix(ngx_http_headroom_redis_t *redis,
    u_char *p, u_char *last);

/* ngx_http_headroom_wait.c */
ngx_int_t ngx_http_headroom_wait_for_redis(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
void ngx_http_headroom_resume(ngx_http_request_t *r);


#endif /* _NGX_HTTP_HEADROOM_CCR_H_INCLUDED_ */
