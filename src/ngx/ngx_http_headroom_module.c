
/*
 * headroom: directives and configuration.
 */


#include "ngx_http_headroom_ccr.h"
#include "ngx_http_headroom_cache.h"


static ngx_int_t ngx_http_headroom_init(ngx_conf_t *cf);
static void *ngx_http_headroom_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_headroom_init_main_conf(ngx_conf_t *cf, void *conf);
static ngx_int_t ngx_http_headroom_load_tokenizers(ngx_conf_t *cf,
    ngx_http_headroom_main_conf_t *hmcf);
static ngx_int_t ngx_http_headroom_load_prices(ngx_conf_t *cf,
    ngx_http_headroom_main_conf_t *hmcf);
static void ngx_http_headroom_free_prices(void *data);
static void ngx_http_headroom_free_tokenizers(void *data);
static char *ngx_http_headroom_enable(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_headroom_model_encoding(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_headroom_mode(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_headroom_log_values(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_headroom_protect_tools(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_headroom_volatile_pattern(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static headroom_volatile_patterns_t *ngx_http_headroom_compile_patterns(
    ngx_conf_t *cf, ngx_array_t *patterns, const char *directive);
static void ngx_http_headroom_free_patterns(void *data);
static char *ngx_http_headroom_push_pair(ngx_conf_t *cf, ngx_array_t **pairs);
static const char **ngx_http_headroom_c_strings(ngx_conf_t *cf,
    ngx_array_t *strings);
static void *ngx_http_headroom_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_headroom_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_headroom_check_size(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_headroom_compile(ngx_conf_t *cf,
    ngx_http_headroom_loc_conf_t *conf);
static void ngx_http_headroom_free_config(void *data);


static char *ngx_http_headroom_check_diff_context(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_headroom_check_positive(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_headroom_ccr_used(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_headroom_init_process(ngx_cycle_t *cycle);
static void ngx_http_headroom_exit_process(ngx_cycle_t *cycle);
static char *ngx_http_headroom_check_items(ngx_conf_t *cf, void *post,
    void *data);


static ngx_conf_post_t  ngx_http_headroom_size_post = {
    ngx_http_headroom_check_size
};

static ngx_conf_post_t  ngx_http_headroom_diff_context_post = {
    ngx_http_headroom_check_diff_context
};

static ngx_conf_post_t  ngx_http_headroom_positive_post = {
    ngx_http_headroom_check_positive
};

static ngx_conf_post_t  ngx_http_headroom_ccr_post = {
    ngx_http_headroom_ccr_used
};

static ngx_conf_post_t  ngx_http_headroom_items_post = {
    ngx_http_headroom_check_items
};


static ngx_command_t  ngx_http_headroom_commands[] = {

    { ngx_string("headroom"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_headroom_enable,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, enable),
      NULL },

    { ngx_string("headroom_max_body_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, max_body_size),
      &ngx_http_headroom_size_post },

    { ngx_string("headroom_max_decode_ratio"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, max_decode_ratio),
      NULL },

    { ngx_string("headroom_min_tokens"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, min_tokens),
      NULL },

    { ngx_string("headroom_crush_json"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, crush_json),
      NULL },

    { ngx_string("headroom_crush_logs"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, crush_logs),
      NULL },

    { ngx_string("headroom_log_values"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_headroom_log_values,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, log_values),
      NULL },

    { ngx_string("headroom_crush_search"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, crush_search),
      NULL },

    { ngx_string("headroom_crush_diffs"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, crush_diffs),
      NULL },

    { ngx_string("headroom_diff_context"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, diff_context),
      &ngx_http_headroom_diff_context_post },

    { ngx_string("headroom_json_max_items"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, json_max_items),
      &ngx_http_headroom_positive_post },

    { ngx_string("headroom_json_keep_first"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, json_keep_first),
      &ngx_http_headroom_items_post },

    { ngx_string("headroom_json_keep_last"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, json_keep_last),
      &ngx_http_headroom_items_post },

    { ngx_string("headroom_json_keep_top"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, json_keep_top),
      &ngx_http_headroom_items_post },

    { ngx_string("headroom_question_max_matches"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, question_max_matches),
      &ngx_http_headroom_items_post },

    { ngx_string("headroom_json_tables"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, json_tables),
      NULL },

    { ngx_string("headroom_protect_tools"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_headroom_protect_tools,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_stabilize_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, stabilize_prefix),
      NULL },

    { ngx_string("headroom_move_volatile"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, move_volatile),
      NULL },

    { ngx_string("headroom_volatile_pattern"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_headroom_volatile_pattern,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_canonical_tools"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, canonical_tools),
      NULL },

    { ngx_string("headroom_cache_breakpoints"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, cache_breakpoints),
      NULL },

    { ngx_string("headroom_prompt_cache_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, prompt_cache_key),
      NULL },

    { ngx_string("headroom_mode"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_headroom_mode,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_client_control"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, client_control),
      NULL },

    { ngx_string("headroom_response_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, response_headers),
      NULL },

    { ngx_string("headroom_status"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_headroom_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_headroom_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_prices"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_headroom_main_conf_t, prices_file),
      NULL },

    { ngx_string("headroom_tokenizers"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_headroom_main_conf_t, tokenizers_dir),
      NULL },

    { ngx_string("headroom_pcre_jit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_headroom_main_conf_t, pcre_jit),
      NULL },

    { ngx_string("headroom_model_encoding"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_headroom_model_encoding,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_exact_counts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, exact_counts),
      NULL },

    { ngx_string("headroom_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_headroom_thread_pool,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_thread_offload"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, thread_offload),
      NULL },

    { ngx_string("headroom_budget"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_headroom_budget,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_route"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_headroom_route,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_retire"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_headroom_retire,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_fit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, fit),
      NULL },

    { ngx_string("headroom_context_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_headroom_context_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_output_reserve"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, output_reserve),
      NULL },

    { ngx_string("headroom_fit_margin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_headroom_context_share,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, fit_margin),
      NULL },

    { ngx_string("headroom_keep_turns"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, keep_turns),
      &ngx_http_headroom_positive_post },

    { ngx_string("headroom_fit_target"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_headroom_context_share,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, fit_target),
      NULL },

    { ngx_string("headroom_summarize"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_headroom_summarize,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_summarize_turns"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_headroom_summarize_turns,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_route_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE23,
      ngx_http_headroom_route_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_cache_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_headroom_cache_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_ccr_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE23,
      ngx_http_headroom_ccr_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_headroom_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_ccr"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, ccr),
      &ngx_http_headroom_ccr_post },

    { ngx_string("headroom_ccr_tool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, ccr_tool),
      NULL },

    { ngx_string("headroom_ccr_tenant"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, ccr_tenant),
      NULL },

    { ngx_string("headroom_ccr_endpoint"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_headroom_ccr_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("headroom_ccr_mcp"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_headroom_ccr_mcp,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_headroom_module_ctx = {
    ngx_http_headroom_add_variables,       /* preconfiguration */
    ngx_http_headroom_init,                /* postconfiguration */

    ngx_http_headroom_create_main_conf,    /* create main configuration */
    ngx_http_headroom_init_main_conf,      /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_headroom_create_loc_conf,     /* create location configuration */
    ngx_http_headroom_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_headroom_module = {
    NGX_MODULE_V1,
    &ngx_http_headroom_module_ctx,         /* module context */
    ngx_http_headroom_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_headroom_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_headroom_exit_process,        /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_headroom_init(ngx_conf_t *cf)
{
    char                           *rv;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_headroom_module);

    hmcf->prefix_hash = ngx_http_headroom_variable_used(cf,
                                                        "headroom_prefix_hash");
    hmcf->cache_key = ngx_http_headroom_variable_used(cf,
                                                      "headroom_cache_key");

    rv = ngx_http_headroom_ccr_check(cf, hmcf);

    if (rv != NGX_CONF_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", rv);
        return NGX_ERROR;
    }

    if (ngx_http_headroom_control_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_headroom_usage_init(cf) != NGX_OK
        || ngx_http_headroom_summarize_init(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_headroom_body_init(cf);
}


static ngx_int_t
ngx_http_headroom_init_process(ngx_cycle_t *cycle)
{
    return ngx_http_headroom_redis_init_process(cycle);
}


static void
ngx_http_headroom_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_headroom_redis_exit_process(cycle);
}


/* "nginx -t" checks that the originals have a store, and the reverse */

static char *
ngx_http_headroom_ccr_used(ngx_conf_t *cf, void *post, void *data)
{
    ngx_flag_t  *fp = data;

    ngx_http_headroom_main_conf_t  *hmcf;

    if (*fp) {
        hmcf = ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_headroom_module);
        hmcf->ccr_used = 1;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_headroom_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_headroom_main_conf_t));
    if (hmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     hmcf->tokenizers_dir = { 0, NULL };
     *     hmcf->model_rules = NULL;
     *     hmcf->used = 0;
     *     hmcf->prefix_hash = 0;
     *     hmcf->cache_key = 0;
     *     hmcf->cost = 0;
     *     hmcf->budget_zones = NULL;
     *     hmcf->usage_used = 0;
     *     hmcf->tokenizers = NULL;
     *     hmcf->zone = NULL;
     *     hmcf->prices_file = { 0, NULL };
     *     hmcf->prices = NULL;
     *     hmcf->status_used = 0;
     */

    hmcf->pcre_jit = NGX_CONF_UNSET;

    return hmcf;
}


static char *
ngx_http_headroom_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_headroom_main_conf_t *hmcf = conf;

    ngx_conf_init_value(hmcf->pcre_jit, 1);

    if (hmcf->tokenizers_dir.data == NULL) {
        hmcf->tokenizers_dir.data = (u_char *) headroom_default_tokenizer_dir();
        hmcf->tokenizers_dir.len = ngx_strlen(hmcf->tokenizers_dir.data);
    }

    /* before the locations merge: each compiles its config with them */

    if (hmcf->used && ngx_http_headroom_load_tokenizers(cf, hmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (hmcf->status_used && hmcf->zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_status\" needs a \"headroom_zone\" "
                           "in the http block");
        return NGX_CONF_ERROR;
    }

    /* the prices are read where money is counted or a call is priced */

    hmcf->cost = ngx_http_headroom_variable_used(cf, "headroom_cost_usd");

    if (hmcf->prices_file.data && hmcf->zone == NULL && !hmcf->cost
        && hmcf->budget_zones == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_prices\" needs a \"headroom_zone\" "
                           "to count the money in, or $headroom_cost_usd "
                           "to price calls with");
        return NGX_CONF_ERROR;
    }

    /* answers are read where something uses what they say */

    hmcf->usage_used = hmcf->zone || hmcf->cost || hmcf->budget_zones
                  || ngx_http_headroom_variable_used(cf, "headroom_usage_input")
                  || ngx_http_headroom_variable_used(cf, "headroom_usage_cached")
                  || ngx_http_headroom_variable_used(cf,
                                                 "headroom_usage_cache_write")
                  || ngx_http_headroom_variable_used(cf,
                                                     "headroom_usage_output");

    if ((hmcf->zone || hmcf->cost || hmcf->budget_zones)
        && ngx_http_headroom_load_prices(cf, hmcf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the shipped table unless headroom_prices names one */

static ngx_int_t
ngx_http_headroom_load_prices(ngx_conf_t *cf,
    ngx_http_headroom_main_conf_t *hmcf)
{
    u_char               error[512];
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    if (hmcf->prices_file.data
        && ngx_conf_full_name(cf->cycle, &hmcf->prices_file, 1) != NGX_OK)
    {
        return NGX_ERROR;
    }

    hmcf->prices = headroom_prices_load((const char *) hmcf->prices_file.data,
                                        (char *) error, sizeof(error));

    if (hmcf->prices == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "headroom_prices \"%V\": %s",
                           &hmcf->prices_file, error);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_headroom_free_prices;
    cln->data = hmcf->prices;

    return NGX_OK;
}


static void
ngx_http_headroom_free_prices(void *data)
{
    headroom_prices_free(data);
}


/*
 * The rank files are read once, in the master before it forks: every
 * worker shares them read-only.
 */

static ngx_int_t
ngx_http_headroom_load_tokenizers(ngx_conf_t *cf,
    ngx_http_headroom_main_conf_t *hmcf)
{
    u_char               error[512];
    ngx_uint_t           n;
    const char         **rules;
    ngx_pool_cleanup_t  *cln;

    n = hmcf->model_rules ? hmcf->model_rules->nelts : 0;

    rules = ngx_http_headroom_c_strings(cf, hmcf->model_rules);
    cln = ngx_pool_cleanup_add(cf->pool, 0);

    if (rules == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    /* a relative directory is the configuration's, as headroom_prices */

    if (ngx_conf_full_name(cf->cycle, &hmcf->tokenizers_dir, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    hmcf->tokenizers = headroom_tokenizers_load(
                           (const char *) hmcf->tokenizers_dir.data,
                           rules, n / 2, hmcf->pcre_jit != 0, (char *) error,
                           sizeof(error));

    if (hmcf->tokenizers == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "headroom_tokenizers \"%V\": %s",
                           &hmcf->tokenizers_dir, error);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_headroom_free_tokenizers;
    cln->data = hmcf->tokenizers;

    return NGX_OK;
}


static void
ngx_http_headroom_free_tokenizers(void *data)
{
    headroom_tokenizers_free(data);
}


/* "headroom on" anywhere is what makes the rank files worth loading */

static char *
ngx_http_headroom_enable(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                           *rv;
    ngx_http_headroom_loc_conf_t   *hlcf = conf;
    ngx_http_headroom_main_conf_t  *hmcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK && hlcf->enable) {
        hmcf = ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_headroom_module);
        hmcf->used = 1;
    }

    return rv;
}


static char *
ngx_http_headroom_model_encoding(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_headroom_main_conf_t *hmcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_model_encoding\" takes a non-empty "
                           "model prefix");
        return NGX_CONF_ERROR;
    }

    if (ngx_strcmp(value[2].data, "o200k_base") != 0
        && ngx_strcmp(value[2].data, "cl100k_base") != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_model_encoding\" takes o200k_base or "
                           "cl100k_base, not \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    return ngx_http_headroom_push_pair(cf, &hmcf->model_rules);
}


/* nginx's enum slot would not name the directive in its error */

static char *
ngx_http_headroom_mode(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    ngx_str_t   *value, *name;
    ngx_uint_t   m;

    if (hlcf->mode != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (m = 0; m < NGX_HTTP_HEADROOM_MODES; m++) {
        name = &ngx_http_headroom_mode_names[m];

        if (value[1].len == name->len
            && ngx_strcmp(value[1].data, name->data) == 0)
        {
            hlcf->mode = m;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"headroom_mode\" takes optimize, audit or simulate, "
                       "not \"%V\"", &value[1]);

    return NGX_CONF_ERROR;
}


/* a share from 0 to 1, up to three decimals: kept in thousandths */

static char *
ngx_http_headroom_log_values(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (hlcf->log_values != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atofp(value[1].data, value[1].len, 3);

    if (n == NGX_ERROR || n > 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_log_values\" takes a share from 0 to 1, "
                           "not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    hlcf->log_values = n;

    return NGX_CONF_OK;
}


/* glob patterns (fnmatch) of tools whose outputs are never changed */

static char *
ngx_http_headroom_protect_tools(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    ngx_str_t    *value;
    ngx_uint_t    i;
    const char  **glob;

    if (hlcf->protect_tools != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    hlcf->protect_tools = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                           sizeof(const char *));
    if (hlcf->protect_tools == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"headroom_protect_tools\" takes non-empty "
                               "patterns");
            return NGX_CONF_ERROR;
        }

        if (!headroom_glob_is_valid((const char *) value[i].data)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"headroom_protect_tools\" takes glob "
                               "patterns; \"%V\" is not one (an unclosed "
                               "'[' or a trailing '\\')", &value[i]);
            return NGX_CONF_ERROR;
        }

        glob = ngx_array_push(hlcf->protect_tools);
        if (glob == NULL) {
            return NGX_CONF_ERROR;
        }

        *glob = (const char *) value[i].data;    /* NUL-terminated */
    }

    return NGX_CONF_OK;
}


/*
 * headroom_volatile_pattern LABEL REGEX: each is compiled here, so that a
 * bad one fails "nginx -t" at its own line; the set is compiled again,
 * with the built-in patterns, for each location that stabilizes.
 */

static char *
ngx_http_headroom_volatile_pattern(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    ngx_str_t                     *value;
    ngx_array_t                    one;
    headroom_volatile_patterns_t  *compiled;

    value = cf->args->elts;

    one.elts = &value[1];
    one.nelts = 2;

    compiled = ngx_http_headroom_compile_patterns(cf, &one,
                                                  "headroom_volatile_pattern");
    if (compiled == NULL) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_headroom_push_pair(cf, &hlcf->volatile_patterns);
}


/* NULL on failure, logged as the directive's error */

static headroom_volatile_patterns_t *
ngx_http_headroom_compile_patterns(ngx_conf_t *cf, ngx_array_t *patterns,
    const char *directive)
{
    u_char                          error[512];
    ngx_uint_t                      n;
    const char                    **list;
    ngx_pool_cleanup_t             *cln;
    headroom_volatile_patterns_t   *compiled;
    ngx_http_headroom_main_conf_t  *hmcf;

    n = patterns ? patterns->nelts : 0;

    /* unset while the http block is read: a directive is checked with JIT */

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_headroom_module);

    list = ngx_http_headroom_c_strings(cf, patterns);
    cln = ngx_pool_cleanup_add(cf->pool, 0);

    if (list == NULL || cln == NULL) {
        return NULL;
    }

    compiled = headroom_volatile_patterns_compile(list, n / 2,
                                                  hmcf->pcre_jit != 0,
                                                  (char *) error,
                                                  sizeof(error));
    if (compiled == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%s\" %s",
                           directive, error);
        return NULL;
    }

    cln->handler = ngx_http_headroom_free_patterns;
    cln->data = compiled;

    return compiled;
}


static void
ngx_http_headroom_free_patterns(void *data)
{
    headroom_volatile_patterns_free(data);
}


/* appends the directive's two arguments to *pairs, made when absent */

static char *
ngx_http_headroom_push_pair(ngx_conf_t *cf, ngx_array_t **pairs)
{
    ngx_str_t  *value, *pair;

    if (*pairs == NULL || *pairs == NGX_CONF_UNSET_PTR) {
        *pairs = ngx_array_create(cf->pool, 8, sizeof(ngx_str_t));
        if (*pairs == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    pair = ngx_array_push_n(*pairs, 2);
    if (pair == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    pair[0] = value[1];
    pair[1] = value[2];

    return NGX_CONF_OK;
}


/* the strings of an array of ngx_str_t (NULL: none) as the shim takes them */

static const char **
ngx_http_headroom_c_strings(ngx_conf_t *cf, ngx_array_t *strings)
{
    ngx_str_t    *s;
    ngx_uint_t    i, n;
    const char  **list;

    n = strings ? strings->nelts : 0;

    list = ngx_palloc(cf->pool, (n + 1) * sizeof(char *));
    if (list == NULL) {
        return NULL;
    }

    s = n ? strings->elts : NULL;

    for (i = 0; i < n; i++) {
        list[i] = (const char *) s[i].data;    /* NUL-terminated */
    }

    return list;
}


static void *
ngx_http_headroom_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_headroom_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_headroom_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = NGX_CONF_UNSET;
    conf->max_body_size = NGX_CONF_UNSET_SIZE;
    conf->max_decode_ratio = NGX_CONF_UNSET;
    conf->min_tokens = NGX_CONF_UNSET;
    conf->crush_json = NGX_CONF_UNSET;
    conf->json_max_items = NGX_CONF_UNSET;
    conf->json_keep_first = NGX_CONF_UNSET;
    conf->json_keep_last = NGX_CONF_UNSET;
    conf->json_keep_top = NGX_CONF_UNSET;
    conf->question_max_matches = NGX_CONF_UNSET;
    conf->json_tables = NGX_CONF_UNSET;
    conf->crush_logs = NGX_CONF_UNSET;
    conf->log_values = NGX_CONF_UNSET;
    conf->crush_search = NGX_CONF_UNSET;
    conf->crush_diffs = NGX_CONF_UNSET;
    conf->diff_context = NGX_CONF_UNSET;
    conf->protect_tools = NGX_CONF_UNSET_PTR;
    conf->stabilize_prefix = NGX_CONF_UNSET;
    conf->move_volatile = NGX_CONF_UNSET;
    conf->volatile_patterns = NGX_CONF_UNSET_PTR;
    conf->canonical_tools = NGX_CONF_UNSET;
    conf->cache_breakpoints = NGX_CONF_UNSET;
    conf->prompt_cache_key = NGX_CONF_UNSET;
    conf->mode = NGX_CONF_UNSET_UINT;
    conf->client_control = NGX_CONF_UNSET;
    conf->response_headers = NGX_CONF_UNSET;
    conf->ccr = NGX_CONF_UNSET;
    conf->ccr_tool = NGX_CONF_UNSET;
    conf->ccr_tenant = NGX_CONF_UNSET_PTR;
    conf->exact_counts = NGX_CONF_UNSET;
    conf->thread_pool = NGX_CONF_UNSET_PTR;
    conf->thread_offload = NGX_CONF_UNSET_SIZE;
    conf->budgets = NGX_CONF_UNSET_PTR;
    conf->routes = NGX_CONF_UNSET_PTR;
    conf->retire = NGX_CONF_UNSET;
    conf->retire_after = NGX_CONF_UNSET_SIZE;
    conf->retire_min_tokens = NGX_CONF_UNSET_SIZE;
    conf->retire_batch = NGX_CONF_UNSET_SIZE;
    conf->fit = NGX_CONF_UNSET;
    conf->context_limits = NGX_CONF_UNSET_PTR;
    conf->output_reserve = NGX_CONF_UNSET_SIZE;
    conf->fit_margin = NGX_CONF_UNSET;
    conf->keep_turns = NGX_CONF_UNSET;
    conf->fit_target = NGX_CONF_UNSET;
    conf->summarize = NGX_CONF_UNSET;
    conf->summarize_timeout = NGX_CONF_UNSET_MSEC;
    conf->summarize_turns = NGX_CONF_UNSET;
    conf->summarize_after = NGX_CONF_UNSET_SIZE;
    conf->summarize_batch = NGX_CONF_UNSET_SIZE;

    /*
     * set by ngx_pcalloc():
     *
     *     conf->compiled_patterns = NULL;
     *     conf->compiled_routes = NULL;
     *     conf->summarize_uri = { 0, NULL };
     *     conf->summarize_model = { 0, NULL };
     */

    return conf;
}


/* every default comes from the core's one list of them */

static char *
ngx_http_headroom_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_headroom_loc_conf_t *prev = parent;
    ngx_http_headroom_loc_conf_t *conf = child;

    headroom_settings_t  d;

    headroom_settings_init(&d);

    if (conf->ccr_way) {
        /* the requests of the endpoint and MCP are not for headroom */

        if (conf->enable == 1) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"headroom_ccr_endpoint\" and "
                               "\"headroom_ccr_mcp\" cannot go with "
                               "\"headroom on\" in one location: headroom "
                               "would read the requests meant for them");
            return NGX_CONF_ERROR;
        }

        conf->enable = 0;
    }

    /* a budget written beside "headroom off" would count nothing */

    if (conf->budgets != NGX_CONF_UNSET_PTR && conf->enable == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_budget\" needs \"headroom on\": "
                           "only the answers headroom reads are counted");
        return NGX_CONF_ERROR;
    }

    /* likewise rules that would route nothing */

    if (conf->routes != NGX_CONF_UNSET_PTR && conf->enable == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_route\" needs \"headroom on\": "
                           "only the requests headroom reads are routed");
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_size_value(conf->max_body_size, prev->max_body_size,
                              d.max_body_size);
    ngx_conf_merge_value(conf->max_decode_ratio, prev->max_decode_ratio,
                         (ngx_int_t) d.max_decode_ratio);
    ngx_conf_merge_value(conf->min_tokens, prev->min_tokens,
                         (ngx_int_t) d.min_tokens);
    ngx_conf_merge_ptr_value(conf->protect_tools, prev->protect_tools, NULL);
    ngx_conf_merge_value(conf->crush_json, prev->crush_json, d.crush_json);
    ngx_conf_merge_value(conf->json_max_items, prev->json_max_items,
                         (ngx_int_t) d.json_max_items);
    ngx_conf_merge_value(conf->json_keep_first, prev->json_keep_first,
                         (ngx_int_t) d.json_keep_first);
    ngx_conf_merge_value(conf->json_keep_last, prev->json_keep_last,
                         (ngx_int_t) d.json_keep_last);
    ngx_conf_merge_value(conf->json_keep_top, prev->json_keep_top,
                         (ngx_int_t) d.json_keep_top);
    ngx_conf_merge_value(conf->question_max_matches,
                         prev->question_max_matches,
                         (ngx_int_t) d.question_max_matches);
    ngx_conf_merge_value(conf->json_tables, prev->json_tables, d.json_tables);
    ngx_conf_merge_value(conf->crush_logs, prev->crush_logs, d.crush_logs);
    ngx_conf_merge_value(conf->log_values, prev->log_values,
                         (ngx_int_t) (d.log_values * 1000 + 0.5));
    ngx_conf_merge_value(conf->crush_search, prev->crush_search,
                         d.crush_search);
    ngx_conf_merge_value(conf->crush_diffs, prev->crush_diffs, d.crush_diffs);
    ngx_conf_merge_value(conf->diff_context, prev->diff_context,
                         (ngx_int_t) d.diff_context);
    ngx_conf_merge_value(conf->stabilize_prefix, prev->stabilize_prefix,
                         d.stabilize_prefix);
    ngx_conf_merge_value(conf->move_volatile, prev->move_volatile,
                         d.move_volatile);
    ngx_conf_merge_ptr_value(conf->volatile_patterns, prev->volatile_patterns,
                             NULL);
    ngx_conf_merge_value(conf->canonical_tools, prev->canonical_tools,
                         d.canonical_tools);
    ngx_conf_merge_value(conf->cache_breakpoints, prev->cache_breakpoints,
                         d.cache_breakpoints);
    ngx_conf_merge_value(conf->prompt_cache_key, prev->prompt_cache_key,
                         d.prompt_cache_key);
    ngx_conf_merge_uint_value(conf->mode, prev->mode,
                              NGX_HTTP_HEADROOM_OPTIMIZE);
    ngx_conf_merge_value(conf->client_control, prev->client_control, 0);
    ngx_conf_merge_value(conf->response_headers, prev->response_headers, 0);
    ngx_conf_merge_value(conf->ccr, prev->ccr, d.ccr);
    ngx_conf_merge_value(conf->ccr_tool, prev->ccr_tool, d.ccr_tool);
    ngx_conf_merge_value(conf->exact_counts, prev->exact_counts,
                         d.exact_counts);
    ngx_conf_merge_ptr_value(conf->ccr_tenant, prev->ccr_tenant, NULL);
    ngx_conf_merge_ptr_value(conf->thread_pool, prev->thread_pool, NULL);
    ngx_conf_merge_ptr_value(conf->budgets, prev->budgets, NULL);
    ngx_conf_merge_ptr_value(conf->routes, prev->routes, NULL);
    ngx_conf_merge_size_value(conf->thread_offload, prev->thread_offload,
                              64 * 1024);
    ngx_http_headroom_merge_context(conf, prev);

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    if (conf->stabilize_prefix && conf->move_volatile) {

        /* the levels above are merged first: share what they compiled */

        if (prev->compiled_patterns
            && prev->volatile_patterns == conf->volatile_patterns)
        {
            conf->compiled_patterns = prev->compiled_patterns;

        } else {
            conf->compiled_patterns = ngx_http_headroom_compile_patterns(cf,
                                          conf->volatile_patterns,
                                          "headroom_volatile_pattern");
            if (conf->compiled_patterns == NULL) {
                return NGX_CONF_ERROR;
            }
        }
    }

    if (ngx_http_headroom_compile_routes(cf, conf, prev) != NGX_OK
        || ngx_http_headroom_compile(cf, conf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The location's values, compiled once into the core's configuration:
 * requests hand it over as it is, with nothing copied.
 */

static ngx_int_t
ngx_http_headroom_compile(ngx_conf_t *cf, ngx_http_headroom_loc_conf_t *conf)
{
    u_char                          error[512];
    ngx_pool_cleanup_t             *cln;
    headroom_settings_t             s;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_headroom_module);

    headroom_settings_init(&s);

    s.max_body_size = conf->max_body_size;
    s.max_decode_ratio = (size_t) conf->max_decode_ratio;
    s.tokenizers = hmcf->tokenizers;
    s.min_tokens = (size_t) conf->min_tokens;
    s.crush_json = conf->crush_json;
    s.json_max_items = (size_t) conf->json_max_items;
    s.json_keep_first = (size_t) conf->json_keep_first;
    s.json_keep_last = (size_t) conf->json_keep_last;
    s.json_keep_top = (size_t) conf->json_keep_top;
    s.question_max_matches = (size_t) conf->question_max_matches;
    s.json_tables = conf->json_tables;
    s.crush_logs = conf->crush_logs;
    s.log_values = (double) conf->log_values / 1000;
    s.crush_search = conf->crush_search;
    s.crush_diffs = conf->crush_diffs;
    s.diff_context = (size_t) conf->diff_context;

    if (conf->protect_tools) {
        s.protect_tools = conf->protect_tools->elts;
        s.nprotect_tools = conf->protect_tools->nelts;
    }

    s.stabilize_prefix = conf->stabilize_prefix;
    s.move_volatile = conf->move_volatile;
    s.volatile_patterns = conf->compiled_patterns;
    s.canonical_tools = conf->canonical_tools;
    s.cache_breakpoints = conf->cache_breakpoints;
    s.prompt_cache_key = conf->prompt_cache_key;
    s.ccr = conf->ccr;
    s.ccr_tool = conf->ccr_tool;
    s.exact_counts = conf->exact_counts;
    s.routes = conf->compiled_routes;

    if (ngx_http_headroom_context_settings(cf, conf, &s) != NGX_OK) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    conf->config = headroom_config_compile(&s, (char *) error, sizeof(error));

    if (conf->config == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", error);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_headroom_free_config;
    cln->data = conf->config;

    return NGX_OK;
}


static void
ngx_http_headroom_free_config(void *data)
{
    headroom_config_free(data);
}


/* nginx's own bounds check would not name the directive */

static char *
ngx_http_headroom_check_diff_context(ngx_conf_t *cf, void *post, void *data)
{
    ngx_int_t  *np = data;

    if (*np > HEADROOM_DIFF_CONTEXT_MAX) {
        return "must be between 0 and " NGX_HTTP_HEADROOM_STR(
                   HEADROOM_DIFF_CONTEXT_MAX);
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_headroom_check_items(ngx_conf_t *cf, void *post, void *data)
{
    ngx_int_t  *np = data;

    if (*np > HEADROOM_JSON_ITEMS_LIMIT) {
        return "must be between 0 and " NGX_HTTP_HEADROOM_STR(
                   HEADROOM_JSON_ITEMS_LIMIT);
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_headroom_check_positive(ngx_conf_t *cf, void *post, void *data)
{
    ngx_int_t  *np = data;

    if (*np < 1) {
        return "must be at least 1";
    }

    if (*np > HEADROOM_JSON_ITEMS_LIMIT) {
        return "must be between 1 and " NGX_HTTP_HEADROOM_STR(
                   HEADROOM_JSON_ITEMS_LIMIT);
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_headroom_check_size(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    if (*sp == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_max_body_size\" must be greater "
                           "than zero");
        return NGX_CONF_ERROR;
    }

    if (*sp > HEADROOM_MAX_BODY_SIZE_LIMIT) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_max_body_size\" must be at most 1024m");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
