
/*
 * headroom: directives and configuration.
 */


#include "ngx_http_headroom_module.h"


/* Anthropic's request limit; larger bodies pass through untouched. */
#define NGX_HTTP_HEADROOM_MAX_BODY_SIZE  (32 * 1024 * 1024)


static void *ngx_http_headroom_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_headroom_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_headroom_check_size(ngx_conf_t *cf, void *post,
    void *data);


static ngx_conf_post_t  ngx_http_headroom_size_post = {
    ngx_http_headroom_check_size
};


static ngx_command_t  ngx_http_headroom_commands[] = {

    { ngx_string("headroom"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, enable),
      NULL },

    { ngx_string("headroom_max_body_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_headroom_loc_conf_t, max_body_size),
      &ngx_http_headroom_size_post },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_headroom_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_headroom_body_init,           /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

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
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


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

    return conf;
}


static char *
ngx_http_headroom_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_headroom_loc_conf_t *prev = parent;
    ngx_http_headroom_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_size_value(conf->max_body_size, prev->max_body_size,
                              NGX_HTTP_HEADROOM_MAX_BODY_SIZE);

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

    return NGX_CONF_OK;
}
