
/*
 * headroom: the directives of the context window. headroom_retire
 * after=N [min_tokens=M] [batch=T] | off: old tool outputs replaced by
 * markers, their originals kept in the store (the core decides which, in
 * batches: see the README).
 */


#include "ngx_http_headroom_module.h"


/* "name=VALUE": VALUE as a count (k and m allowed), or NGX_ERROR */

static ssize_t
ngx_http_headroom_context_count(ngx_str_t *arg, const char *name)
{
    size_t     len;
    ngx_str_t  s;

    len = ngx_strlen(name);

    if (arg->len <= len + 1
        || ngx_strncmp(arg->data, name, len) != 0
        || arg->data[len] != '=')
    {
        return NGX_ERROR;
    }

    s.data = arg->data + len + 1;
    s.len = arg->len - len - 1;

    return ngx_parse_size(&s);
}


char *
ngx_http_headroom_retire(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    ssize_t      n;
    ngx_str_t   *value;
    ngx_uint_t   i, after;

    if (hlcf->retire != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        hlcf->retire = 0;
        return NGX_CONF_OK;
    }

    after = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        n = ngx_http_headroom_context_count(&value[i], "after");
        if (n != NGX_ERROR && !after) {
            hlcf->retire_after = n;
            after = 1;
            continue;
        }

        n = ngx_http_headroom_context_count(&value[i], "min_tokens");
        if (n != NGX_ERROR && hlcf->retire_min_tokens == NGX_CONF_UNSET_SIZE) {
            hlcf->retire_min_tokens = n;
            continue;
        }

        n = ngx_http_headroom_context_count(&value[i], "batch");
        if (n > 0 && hlcf->retire_batch == NGX_CONF_UNSET_SIZE) {
            hlcf->retire_batch = n;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_retire\" takes after=N "
                           "[min_tokens=M] [batch=T] (each once, T above 0) "
                           "or off, not \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (!after) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_retire\" needs after=N: how many of "
                           "the most recent tool outputs stay");
        return NGX_CONF_ERROR;
    }

    hlcf->retire = 1;

    return NGX_CONF_OK;
}


/* all of headroom_retire from one level: its arguments go together */

void
ngx_http_headroom_merge_context(ngx_http_headroom_loc_conf_t *conf,
    ngx_http_headroom_loc_conf_t *prev)
{
    if (conf->retire == NGX_CONF_UNSET) {
        conf->retire = prev->retire;
        conf->retire_after = prev->retire_after;
        conf->retire_min_tokens = prev->retire_min_tokens;
        conf->retire_batch = prev->retire_batch;
    }
}


/* the merged values, where the core takes them; unset: the core's own */

void
ngx_http_headroom_context_settings(ngx_http_headroom_loc_conf_t *conf,
    headroom_settings_t *s)
{
    if (conf->retire == 1) {
        s->retire = 1;
        s->retire_after = conf->retire_after;

        if (conf->retire_min_tokens != NGX_CONF_UNSET_SIZE) {
            s->retire_min_tokens = conf->retire_min_tokens;
        }

        if (conf->retire_batch != NGX_CONF_UNSET_SIZE) {
            s->retire_batch = conf->retire_batch;
        }
    }
}
