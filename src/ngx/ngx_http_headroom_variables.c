
/*
 * headroom: variables, for log_format and for routing.
 */


#include "ngx_http_headroom_module.h"


static ngx_int_t ngx_http_headroom_prefix_hash_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_headroom_vars[] = {

    { ngx_string("headroom_prefix_hash"), NULL,
      ngx_http_headroom_prefix_hash_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_headroom_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_headroom_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/*
 * Whether the configuration refers to a variable: log_format, map, set and
 * the other directives index the variables they use while the
 * configuration is read, before postconfiguration.
 */

ngx_flag_t
ngx_http_headroom_variable_used(ngx_conf_t *cf, char *name)
{
    size_t                      len;
    ngx_uint_t                  i;
    ngx_http_variable_t        *v;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    len = ngx_strlen(name);
    v = cmcf->variables.elts;

    for (i = 0; i < cmcf->variables.nelts; i++) {
        if (v[i].name.len == len
            && ngx_strncmp(v[i].name.data, name, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* the result of a body headroom has read, or NULL */

static headroom_result_t *
ngx_http_headroom_result(ngx_http_request_t *r)
{
    ngx_http_headroom_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_headroom_module);

    if (ctx == NULL || ctx->state != NGX_HTTP_HEADROOM_DONE) {
        return NULL;
    }

    return &ctx->result;
}


static ngx_int_t
ngx_http_headroom_prefix_hash_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    headroom_result_t  *res;

    res = ngx_http_headroom_result(r);

    if (res == NULL || res->prefix_hash == NULL
        || res->prefix_hash[0] == '\0')
    {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = ngx_strlen(res->prefix_hash);
    v->data = (u_char *) res->prefix_hash;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
