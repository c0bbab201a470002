
/*
 * headroom: rewrites LLM API request bodies in flight.
 */


#ifndef _NGX_HTTP_HEADROOM_MODULE_H_INCLUDED_
#define _NGX_HTTP_HEADROOM_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "headroom.h"


typedef struct ngx_http_headroom_ccr_ctx_s  ngx_http_headroom_ccr_ctx_t;
typedef struct ngx_http_headroom_redis_s    ngx_http_headroom_redis_t;
typedef struct ngx_http_headroom_route_ctx_s  ngx_http_headroom_route_ctx_t;
typedef struct ngx_http_headroom_summarize_s  ngx_http_headroom_summarize_t;


typedef struct {
    ngx_str_t               tokenizers_dir;
    ngx_array_t            *model_rules;    /* ngx_str_t: prefix, encoding */
    ngx_flag_t              used;           /* some "headroom on" */
    ngx_flag_t              prefix_hash;    /* $headroom_prefix_hash used */
    ngx_flag_t              cache_key;      /* $headroom_cache_key used */
    ngx_flag_t              cost;           /* $headroom_cost_usd used */
    ngx_array_t            *budget_zones;   /* ngx_shm_zone_t *, or NULL */
    ngx_flag_t              budget_redis;   /* a budget with redis=on */
    ngx_flag_t              usage_used;     /* answers' usage is read */
    headroom_tokenizers_t  *tokenizers;     /* loaded once, before fork */
    ngx_shm_zone_t         *zone;           /* headroom_zone, or NULL */
    ngx_str_t               prices_file;    /* headroom_prices */
    headroom_prices_t      *prices;         /* loaded with the zone */
    ngx_flag_t              status_used;    /* some "headroom_status" */
    ngx_flag_t              pcre_jit;       /* headroom_pcre_jit */
    ngx_shm_zone_t         *ccr_zone;       /* headroom_ccr_zone, or NULL */
    ngx_flag_t              ccr_used;       /* some "headroom_ccr on" */
    ngx_flag_t              ccr_ways_used;  /* an endpoint or MCP */
    ngx_http_headroom_redis_t  *redis;      /* headroom_redis, or NULL */
    ngx_shm_zone_t         *cache_zone;     /* headroom_cache_zone, or NULL */
    ngx_shm_zone_t         *route_zone;     /* headroom_route_zone, or NULL */
} ngx_http_headroom_main_conf_t;


/* headroom_mode, and X-Headroom-Mode */
#define NGX_HTTP_HEADROOM_OPTIMIZE  0   /* forward the rewritten body */
#define NGX_HTTP_HEADROOM_AUDIT     1   /* count it, forward the original */
#define NGX_HTTP_HEADROOM_SIMULATE  2   /* answer with it, call no upstream */
#define NGX_HTTP_HEADROOM_MODES     3


/* headroom_context_limit */
typedef struct {
    ngx_str_t             prefix;
    size_t                tokens;
} ngx_http_headroom_context_limit_t;


typedef struct {
    ngx_flag_t            enable;
    size_t                max_body_size;
    ngx_int_t             max_decode_ratio;
    ngx_int_t             min_tokens;
    ngx_flag_t            crush_json;
    ngx_int_t             json_max_items;
    ngx_int_t             json_keep_first;
    ngx_int_t             json_keep_last;
    ngx_int_t             json_keep_top;
    ngx_int_t             question_max_matches;
    ngx_flag_t            json_tables;
    ngx_flag_t            crush_logs;
    ngx_int_t             log_values;       /* thousandths, 0 to 1000 */
    ngx_flag_t            crush_search;
    ngx_flag_t            crush_diffs;
    ngx_int_t             diff_context;
    ngx_array_t          *protect_tools;    /* const char *, NUL-terminated */
    ngx_flag_t            stabilize_prefix;
    ngx_flag_t            move_volatile;
    ngx_array_t          *volatile_patterns; /* ngx_str_t: label, regex */
    ngx_flag_t            canonical_tools;
    ngx_flag_t            cache_breakpoints;
    ngx_flag_t            prompt_cache_key;
    headroom_volatile_patterns_t  *compiled_patterns;
    headroom_config_t    *config;           /* compiled where enabled */
    ngx_uint_t            mode;
    ngx_flag_t            client_control;
    ngx_flag_t            response_headers;
    ngx_flag_t            ccr;
    ngx_flag_t            ccr_tool;
    ngx_http_complex_value_t  *ccr_tenant;  /* NULL: the credential */
    ngx_uint_t            ccr_way;          /* headroom_ccr_endpoint, _mcp */
    ngx_flag_t            exact_counts;
    void                 *thread_pool;      /* ngx_thread_pool_t, or NULL */
    size_t                thread_offload;   /* new tool output, bytes */
    ngx_array_t          *budgets;          /* ngx_http_headroom_budget_t */
    ngx_array_t          *routes;           /* headroom_route_t */
    headroom_routes_t    *compiled_routes;
    ngx_flag_t            retire;           /* headroom_retire */
    size_t                retire_after;
    size_t                retire_min_tokens;
    size_t                retire_batch;
    ngx_flag_t            fit;              /* headroom_fit */
    ngx_array_t          *context_limits;   /* ..._context_limit_t */
    size_t                output_reserve;
    ngx_int_t             fit_margin;       /* ten-thousandths */
    ngx_int_t             keep_turns;
    ngx_int_t             fit_target;       /* ten-thousandths */
    ngx_flag_t            summarize;        /* headroom_summarize */
    ngx_str_t             summarize_uri;
    ngx_str_t             summarize_model;  /* NUL-terminated; empty: default */
    ngx_msec_t            summarize_timeout;
    ngx_flag_t            summarize_turns;  /* headroom_summarize_turns */
    size_t                summarize_after;
    size_t                summarize_batch;
} ngx_http_headroom_loc_conf_t;


/* headroom_budget */
typedef struct {
    ngx_shm_zone_t            *shm_zone;
    ngx_http_complex_value_t   key;
    uint64_t                   limit_nano;      /* USD, 1e-9 */
    ngx_uint_t                 per;             /* hour, day, month */
    ngx_flag_t                 redis;           /* counted in headroom_redis */
} ngx_http_headroom_budget_t;


#define NGX_HTTP_HEADROOM_COLLECT   0
#define NGX_HTTP_HEADROOM_PASS      1
#define NGX_HTTP_HEADROOM_DONE      2
#define NGX_HTTP_HEADROOM_WAIT      3   /* the body in, Redis asked */


/* what became of a request: $headroom_status, the zone's counters */
#define NGX_HTTP_HEADROOM_UNDECIDED    0
#define NGX_HTTP_HEADROOM_OPTIMIZED    1   /* rewritten, in any mode */
#define NGX_HTTP_HEADROOM_PASSTHROUGH  2   /* original bytes, see reason */
#define NGX_HTTP_HEADROOM_FAILED       3   /* likewise, for want of memory */
#define NGX_HTTP_HEADROOM_BYPASS       4   /* X-Headroom-Bypass */
#define NGX_HTTP_HEADROOM_CLIENT_MAX_BODY_SIZE  5  /* nginx answered 413 */
#define NGX_HTTP_HEADROOM_CLIENT_ABORTED        6  /* the body never came */
#define NGX_HTTP_HEADROOM_OUTCOMES     7


#define NGX_HTTP_HEADROOM_STR_(x)  #x
#define NGX_HTTP_HEADROOM_STR(x)   NGX_HTTP_HEADROOM_STR_(x)


/* per request */
typedef struct {
    u_char                  *data;
    size_t                   len;
    size_t                   size;
    headroom_result_t        result;
    off_t                    length;       /* what we sent, or -1 */
    ngx_uint_t               state;
    ngx_uint_t               mode;
    ngx_uint_t               outcome;      /* NGX_HTTP_HEADROOM_OPTIMIZED... */
    headroom_reason_e        reason;       /* why passed through */
    headroom_encoding_e      encoding;     /* the body's Content-Encoding */
    headroom_decoder_t      *decoder;      /* decodes it, unless identity */
    ngx_uint_t               time_us;      /* in the core */
    off_t                    passed;       /* on the wire after giving up */
    off_t                    passed_counted;   /* of it, in the zone */
    ngx_http_headroom_ccr_ctx_t  *ccr;     /* headroom_ccr on */
    ngx_http_headroom_route_ctx_t  *route; /* sessions asked about */
    ngx_http_headroom_summarize_t  *summarize; /* summaries asked for */
    void                    *task;         /* the core runs in a thread */
    headroom_usage_reader_t *usage_reader; /* reads the answer's usage */
    headroom_usage_t         usage;        /* the provider's word, if any */
    double                   usage_usd;    /* its cost; < 0: not priced */
    off_t                    usage_file_read;  /* of it, read from files */
    unsigned                 started:1;
    unsigned                 coded:1;      /* ctx->encoding is the body's */
    unsigned                 ran:1;        /* the core filled result */
    unsigned                 answered:1;   /* simulate: response sent */
    unsigned                 cleanup:1;    /* result freed with the pool */
    unsigned                 threaded:1;   /* a thread filled result */
} ngx_http_headroom_ctx_t;


extern ngx_module_t  ngx_http_headroom_module;


ngx_int_t ngx_http_headroom_body_init(ngx_conf_t *cf);
ngx_int_t ngx_http_headroom_usage_init(ngx_conf_t *cf);
void ngx_http_headroom_record_usage(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
void ngx_http_headroom_usage_end(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
char *ngx_http_headroom_budget(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_headroom_budget_check(ngx_http_request_t *r);
void ngx_http_headroom_budget_spend(ngx_http_request_t *r, double usd);
size_t ngx_http_headroom_budget_json_len(ngx_array_t *zones);
u_char *ngx_http_headroom_budget_json(u_char *p, u_char *last,
    ngx_array_t *zones);
ngx_int_t ngx_http_headroom_add_variables(ngx_conf_t *cf);
ngx_flag_t ngx_http_headroom_variable_used(ngx_conf_t *cf, char *name);

/* ngx_http_headroom_control.c */
typedef ngx_uint_t (*ngx_http_headroom_value_test_pt)(ngx_str_t *value);

ngx_table_elt_t *ngx_http_headroom_some_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_http_headroom_value_test_pt test);
ngx_int_t ngx_http_headroom_remove_headers(ngx_http_request_t *r,
    ngx_str_t *name);
ngx_int_t ngx_http_headroom_control_init(ngx_conf_t *cf);
ngx_int_t ngx_http_headroom_take_control(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
ngx_int_t ngx_http_headroom_simulate(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
ngx_int_t ngx_http_headroom_send(ngx_http_request_t *r, ngx_buf_t *b);
ngx_str_t ngx_http_headroom_status_text(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
ngx_str_t ngx_http_headroom_transforms_text(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
void ngx_http_headroom_tokens(ngx_http_headroom_ctx_t *ctx, size_t *before,
    size_t *after);
extern ngx_str_t  ngx_http_headroom_mode_names[];

/* ngx_http_headroom_body_filter.c */
void ngx_http_headroom_settle(ngx_http_request_t *r);
size_t ngx_http_headroom_decoded_len(ngx_http_headroom_ctx_t *ctx);

/* microseconds since `start` (CLOCK_MONOTONIC) */
ngx_uint_t ngx_http_headroom_us_since(struct timespec *start);

/* ngx_http_headroom_thread.c */
char *ngx_http_headroom_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_headroom_thread_post(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_http_headroom_loc_conf_t *hlcf,
    unsigned flags, const u_char *body, size_t len);

/* ngx_http_headroom_zone.c */
char *ngx_http_headroom_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_http_headroom_record(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
void ngx_http_headroom_count_seen(ngx_http_request_t *r);
void ngx_http_headroom_record_passed(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);

/* ngx_http_headroom_context.c */
char *ngx_http_headroom_retire(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_http_headroom_merge_context(ngx_http_headroom_loc_conf_t *conf,
    ngx_http_headroom_loc_conf_t *prev);
char *ngx_http_headroom_context_limit(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_headroom_context_share(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_headroom_context_settings(ngx_conf_t *cf,
    ngx_http_headroom_loc_conf_t *conf, headroom_settings_t *s);
char *ngx_http_headroom_summarize(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_headroom_summarize_turns(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_headroom_summarize.c */
ngx_int_t ngx_http_headroom_summarize_init(ngx_conf_t *cf);
ngx_uint_t ngx_http_headroom_summarize_must_ask(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_http_headroom_loc_conf_t *hlcf);
ngx_uint_t ngx_http_headroom_summarize_waiting(ngx_http_headroom_ctx_t *ctx);
ngx_int_t ngx_http_headroom_summarize_ask(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_http_headroom_loc_conf_t *hlcf);

/* ngx_http_headroom_route.c */
char *ngx_http_headroom_route(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_headroom_route_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_headroom_compile_routes(ngx_conf_t *cf,
    ngx_http_headroom_loc_conf_t *conf, ngx_http_headroom_loc_conf_t *prev);
ngx_int_t ngx_http_headroom_sessions_init(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, headroom_sessions_t *sessions,
    headroom_env_t *env);
ngx_uint_t ngx_http_headroom_route_must_wait(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
ngx_int_t ngx_http_headroom_route_ask(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
ngx_uint_t ngx_http_headroom_route_waiting(ngx_http_headroom_ctx_t *ctx);
void ngx_http_headroom_route_after(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
ngx_str_t ngx_http_headroom_model_sent(ngx_http_headroom_ctx_t *ctx);
ngx_str_t ngx_http_headroom_model_billed(ngx_http_headroom_ctx_t *ctx);
ngx_uint_t ngx_http_headroom_route_chains(ngx_http_headroom_ctx_t *ctx);
void ngx_http_headroom_route_chain(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);
ngx_int_t ngx_http_headroom_route_path(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx);

/* ngx_http_headroom_status.c */
char *ngx_http_headroom_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_HEADROOM_MODULE_H_INCLUDED_ */
