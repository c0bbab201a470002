
/*
 * headroom: rewrites LLM API request bodies in flight.
 */


#ifndef _NGX_HTTP_HEADROOM_MODULE_H_INCLUDED_
#define _NGX_HTTP_HEADROOM_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "headroom.h"


typedef struct {
    ngx_str_t               tokenizers_dir;
    ngx_array_t            *model_rules;    /* ngx_str_t: prefix, encoding */
    ngx_flag_t              used;           /* some "headroom on" */
    ngx_flag_t              prefix_hash;    /* $headroom_prefix_hash used */
    headroom_tokenizers_t  *tokenizers;     /* loaded once, before fork */
} ngx_http_headroom_main_conf_t;


typedef struct {
    ngx_flag_t            enable;
    size_t                max_body_size;
    ngx_int_t             min_tokens;
    ngx_flag_t            crush_json;
    ngx_int_t             json_max_items;
    ngx_int_t             json_keep_first;
    ngx_int_t             json_keep_last;
    ngx_flag_t            json_tables;
    ngx_flag_t            crush_logs;
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
} ngx_http_headroom_loc_conf_t;


#define NGX_HTTP_HEADROOM_COLLECT   0
#define NGX_HTTP_HEADROOM_PASS      1
#define NGX_HTTP_HEADROOM_DONE      2


/* per request */
typedef struct {
    u_char                  *data;
    size_t                   len;
    size_t                   size;
    headroom_result_t        result;
    off_t                    length;       /* what we sent, or -1 */
    ngx_uint_t               state;
    unsigned                 started:1;
} ngx_http_headroom_ctx_t;


extern ngx_module_t  ngx_http_headroom_module;


ngx_int_t ngx_http_headroom_body_init(ngx_conf_t *cf);
ngx_int_t ngx_http_headroom_add_variables(ngx_conf_t *cf);
ngx_flag_t ngx_http_headroom_variable_used(ngx_conf_t *cf, char *name);


#endif /* _NGX_HTTP_HEADROOM_MODULE_H_INCLUDED_ */
