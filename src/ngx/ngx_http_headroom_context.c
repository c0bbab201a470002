
/*
 * headroom: the directives of the context window. headroom_retire
 * after=N [min_tokens=M] [batch=T] | off: old tool outputs replaced by
 * markers, their originals kept in the store. headroom_fit on|off with
 * headroom_context_limit PREFIX TOKENS, headroom_output_reserve,
 * headroom_fit_margin, headroom_keep_turns and headroom_fit_target: a
 * request over its model's window cut to fit. headroom_summarize LOCATION
 * [model=NAME] [timeout=TIME] | off and headroom_summarize_turns after=N
 * [batch=T] | off: what goes summarized by the location. The core decides
 * what goes, in batches (see the README); here the values are read and
 * merged.
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


/*
 * "after=N [min_tokens=M] [batch=T]" (min_tokens= where `min` is given),
 * each once, T above 0; NGX_CONF_ERROR with the directive's error logged
 */

static char *
ngx_http_headroom_context_batches(ngx_conf_t *cf, size_t *after, size_t *min,
    size_t *batch)
{
    ssize_t      n;
    ngx_str_t   *value, *name;
    ngx_uint_t   i;

    value = cf->args->elts;
    name = &value[0];

    for (i = 1; i < cf->args->nelts; i++) {

        n = ngx_http_headroom_context_count(&value[i], "after");
        if (n != NGX_ERROR && *after == NGX_CONF_UNSET_SIZE) {
            *after = n;
            continue;
        }

        n = ngx_http_headroom_context_count(&value[i], "min_tokens");
        if (min && n != NGX_ERROR && *min == NGX_CONF_UNSET_SIZE) {
            *min = n;
            continue;
        }

        n = ngx_http_headroom_context_count(&value[i], "batch");
        if (n > 0 && *batch == NGX_CONF_UNSET_SIZE) {
            *batch = n;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" takes after=N %s[batch=T] (each once, T "
                           "above 0) or off, not \"%V\"", name,
                           min ? "[min_tokens=M] " : "", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (*after == NGX_CONF_UNSET_SIZE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs after=N: how many of the most "
                           "recent %s stay", name,
                           min ? "tool outputs" : "turns");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_headroom_retire(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    ngx_str_t  *value;

    if (hlcf->retire != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        hlcf->retire = 0;
        return NGX_CONF_OK;
    }

    if (ngx_http_headroom_context_batches(cf, &hlcf->retire_after,
                                          &hlcf->retire_min_tokens,
                                          &hlcf->retire_batch)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    hlcf->retire = 1;

    return NGX_CONF_OK;
}


/* headroom_context_limit PREFIX TOKENS: before the shipped table */

char *
ngx_http_headroom_context_limit(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    ssize_t                               n;
    ngx_str_t                            *value;
    ngx_uint_t                            i;
    ngx_http_headroom_context_limit_t    *limit;

    value = cf->args->elts;

    n = ngx_parse_size(&value[2]);

    if (value[1].len == 0 || n == NGX_ERROR || n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_context_limit\" takes a model prefix "
                           "and a number of tokens above 0, not \"%V\" "
                           "\"%V\"", &value[1], &value[2]);
        return NGX_CONF_ERROR;
    }

    if (hlcf->context_limits == NGX_CONF_UNSET_PTR) {
        hlcf->context_limits = ngx_array_create(cf->pool, 4,
                                     sizeof(ngx_http_headroom_context_limit_t));
        if (hlcf->context_limits == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    limit = hlcf->context_limits->elts;

    for (i = 0; i < hlcf->context_limits->nelts; i++) {
        if (limit[i].prefix.len == value[1].len
            && ngx_strcmp(limit[i].prefix.data, value[1].data) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"headroom_context_limit\" \"%V\" is "
                               "duplicate", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    limit = ngx_array_push(hlcf->context_limits);
    if (limit == NULL) {
        return NGX_CONF_ERROR;
    }

    limit->prefix = value[1];    /* NUL-terminated */
    limit->tokens = n;

    return NGX_CONF_OK;
}


/*
 * headroom_fit_margin and headroom_fit_target: "5%" (two decimals at most)
 * or a share such as "0.05"; kept in ten-thousandths
 */

char *
ngx_http_headroom_context_share(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_int_t   n, *np;
    ngx_str_t  *value;

    np = (ngx_int_t *) (p + cmd->offset);

    if (*np != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len > 1 && value[1].data[value[1].len - 1] == '%') {
        n = ngx_atofp(value[1].data, value[1].len - 1, 2);

    } else {
        n = ngx_atofp(value[1].data, value[1].len, 4);
    }

    if (n == NGX_ERROR || n > 10000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" takes a percentage such as 5%% or a "
                           "share from 0 to 1, not \"%V\"", &cmd->name,
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    *np = n;

    return NGX_CONF_OK;
}


/* headroom_summarize LOCATION [model=NAME] [timeout=TIME] | off */

char *
ngx_http_headroom_summarize(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    ngx_str_t   *value, s;
    ngx_uint_t   i;
    ngx_msec_t   timeout;

    if (hlcf->summarize != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        hlcf->summarize = 0;
        return NGX_CONF_OK;
    }

    if (value[1].len == 0 || value[1].data[0] != '/'
        || ngx_strlchr(value[1].data, value[1].data + value[1].len, '?'))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_summarize\" takes the URI of a "
                           "location (\"/...\", no arguments), not \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    hlcf->summarize_uri = value[1];

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "model=", 6) == 0
            && value[i].len > 6 && hlcf->summarize_model.data == NULL)
        {
            hlcf->summarize_model.data = value[i].data + 6;
            hlcf->summarize_model.len = value[i].len - 6;
            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0
            && hlcf->summarize_timeout == NGX_CONF_UNSET_MSEC)
        {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            timeout = ngx_parse_time(&s, 0);

            if (timeout != (ngx_msec_t) NGX_ERROR && timeout > 0) {
                hlcf->summarize_timeout = timeout;
                continue;
            }
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_summarize\" takes a location's URI, "
                           "then [model=NAME] [timeout=TIME] (each once, the "
                           "time above 0), not \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    hlcf->summarize = 1;

    return NGX_CONF_OK;
}


/* headroom_summarize_turns after=N [batch=T] | off */

char *
ngx_http_headroom_summarize_turns(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    ngx_str_t  *value;

    if (hlcf->summarize_turns != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        hlcf->summarize_turns = 0;
        return NGX_CONF_OK;
    }

    if (ngx_http_headroom_context_batches(cf, &hlcf->summarize_after, NULL,
                                          &hlcf->summarize_batch)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    hlcf->summarize_turns = 1;

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

    if (conf->summarize == NGX_CONF_UNSET) {
        conf->summarize = prev->summarize;
        conf->summarize_uri = prev->summarize_uri;
        conf->summarize_model = prev->summarize_model;
        conf->summarize_timeout = prev->summarize_timeout;
    }

    if (conf->summarize_timeout == NGX_CONF_UNSET_MSEC) {
        conf->summarize_timeout = 10000;
    }

    if (conf->summarize_turns == NGX_CONF_UNSET) {
        conf->summarize_turns = prev->summarize_turns;
        conf->summarize_after = prev->summarize_after;
        conf->summarize_batch = prev->summarize_batch;
    }

    ngx_conf_merge_value(conf->fit, prev->fit, 0);
    ngx_conf_merge_ptr_value(conf->context_limits, prev->context_limits, NULL);
    ngx_conf_merge_size_value(conf->output_reserve, prev->output_reserve,
                              NGX_CONF_UNSET_SIZE);
    ngx_conf_merge_value(conf->fit_margin, prev->fit_margin, NGX_CONF_UNSET);
    ngx_conf_merge_value(conf->keep_turns, prev->keep_turns, NGX_CONF_UNSET);
    ngx_conf_merge_value(conf->fit_target, prev->fit_target, NGX_CONF_UNSET);
}


/* the merged values, where the core takes them; unset: the core's own */

ngx_int_t
ngx_http_headroom_context_settings(ngx_conf_t *cf,
    ngx_http_headroom_loc_conf_t *conf, headroom_settings_t *s)
{
    size_t                              *tokens;
    ngx_uint_t                           i, n;
    const char                         **prefixes;
    ngx_http_headroom_context_limit_t   *limit;

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

    s->fit = conf->fit;

    if (conf->summarize == 1) {
        s->summarize = 1;

        if (conf->summarize_model.len) {
            s->summarize_model = (const char *) conf->summarize_model.data;
        }
    }

    if (conf->summarize_turns == 1) {
        s->summarize_turns = 1;
        s->summarize_after = conf->summarize_after;

        if (conf->summarize_batch != NGX_CONF_UNSET_SIZE) {
            s->summarize_batch = conf->summarize_batch;
        }
    }

    if (conf->output_reserve != NGX_CONF_UNSET_SIZE) {
        s->output_reserve = conf->output_reserve;
    }

    if (conf->fit_margin != NGX_CONF_UNSET) {
        s->fit_margin = (double) conf->fit_margin / 10000;
    }

    if (conf->keep_turns != NGX_CONF_UNSET) {
        s->keep_turns = conf->keep_turns;
    }

    if (conf->fit_target != NGX_CONF_UNSET) {
        s->fit_target = (double) conf->fit_target / 10000;
    }

    if (conf->context_limits == NULL) {
        return NGX_OK;
    }

    n = conf->context_limits->nelts;
    limit = conf->context_limits->elts;

    prefixes = ngx_palloc(cf->pool, n * sizeof(char *));
    tokens = ngx_palloc(cf->pool, n * sizeof(size_t));
    if (prefixes == NULL || tokens == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        prefixes[i] = (const char *) limit[i].prefix.data;
        tokens[i] = limit[i].tokens;
    }

    s->context_limit_prefixes = prefixes;
    s->context_limit_tokens = tokens;
    s->ncontext_limits = n;

    return NGX_OK;
}
