
/*
 * headroom: variables, for log_format and for routing.
 */


#include "ngx_http_headroom_ccr.h"


#define NGX_HTTP_HEADROOM_TOKENS_BEFORE  0
#define NGX_HTTP_HEADROOM_TOKENS_AFTER   1
#define NGX_HTTP_HEADROOM_TOKENS_SAVED   2
#define NGX_HTTP_HEADROOM_TIME_US        3

#define NGX_HTTP_HEADROOM_STATUS         0
#define NGX_HTTP_HEADROOM_TRANSFORMS     1
#define NGX_HTTP_HEADROOM_MODEL          2
#define NGX_HTTP_HEADROOM_ENCODING       3
#define NGX_HTTP_HEADROOM_CCR_IDS        4
#define NGX_HTTP_HEADROOM_ROUTE          5
#define NGX_HTTP_HEADROOM_ESTIMATED      6


static ngx_int_t ngx_http_headroom_prefix_hash_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_headroom_cache_key_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_headroom_number_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_headroom_usage_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_headroom_cost_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_headroom_ratio_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_headroom_text_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_http_headroom_ctx_t *ngx_http_headroom_ran(ngx_http_request_t *r);
static ngx_int_t ngx_http_headroom_value(ngx_http_variable_value_t *v,
    u_char *data, size_t len);


/* NOCACHEABLE: a log line may be written before the body is read */

static ngx_http_variable_t  ngx_http_headroom_vars[] = {

    { ngx_string("headroom_prefix_hash"), NULL,
      ngx_http_headroom_prefix_hash_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_cache_key"), NULL,
      ngx_http_headroom_cache_key_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_usage_input"), NULL,
      ngx_http_headroom_usage_variable,
      offsetof(headroom_usage_t, input),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_usage_cached"), NULL,
      ngx_http_headroom_usage_variable,
      offsetof(headroom_usage_t, cached),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_usage_cache_write"), NULL,
      ngx_http_headroom_usage_variable,
      offsetof(headroom_usage_t, cache_write),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_usage_output"), NULL,
      ngx_http_headroom_usage_variable,
      offsetof(headroom_usage_t, output),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_usage_estimated"), NULL,
      ngx_http_headroom_text_variable, NGX_HTTP_HEADROOM_ESTIMATED,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_cost_usd"), NULL,
      ngx_http_headroom_cost_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_tokens_before"), NULL,
      ngx_http_headroom_number_variable, NGX_HTTP_HEADROOM_TOKENS_BEFORE,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_tokens_after"), NULL,
      ngx_http_headroom_number_variable, NGX_HTTP_HEADROOM_TOKENS_AFTER,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_tokens_saved"), NULL,
      ngx_http_headroom_number_variable, NGX_HTTP_HEADROOM_TOKENS_SAVED,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_time_us"), NULL,
      ngx_http_headroom_number_variable, NGX_HTTP_HEADROOM_TIME_US,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_ratio"), NULL,
      ngx_http_headroom_ratio_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_ccr_ids"), NULL,
      ngx_http_headroom_text_variable, NGX_HTTP_HEADROOM_CCR_IDS,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_status"), NULL,
      ngx_http_headroom_text_variable, NGX_HTTP_HEADROOM_STATUS,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_transforms"), NULL,
      ngx_http_headroom_text_variable, NGX_HTTP_HEADROOM_TRANSFORMS,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_model"), NULL,
      ngx_http_headroom_text_variable, NGX_HTTP_HEADROOM_MODEL,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_model_out"), NULL,
      ngx_http_headroom_text_variable, NGX_HTTP_HEADROOM_MODEL,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_route"), NULL,
      ngx_http_headroom_text_variable, NGX_HTTP_HEADROOM_ROUTE,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("headroom_encoding"), NULL,
      ngx_http_headroom_text_variable, NGX_HTTP_HEADROOM_ENCODING,
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


static ngx_int_t
ngx_http_headroom_prefix_hash_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_headroom_ctx_t  *ctx;

    ctx = ngx_http_headroom_ran(r);

    if (ctx == NULL || ctx->result.prefix_hash == NULL) {
        return ngx_http_headroom_value(v, NULL, 0);
    }

    return ngx_http_headroom_value(v, (u_char *) ctx->result.prefix_hash,
                                   ngx_strlen(ctx->result.prefix_hash));
}


/* the context of a request whose body the core read, or NULL */

static ngx_http_headroom_ctx_t *
ngx_http_headroom_ran(ngx_http_request_t *r)
{
    ngx_http_headroom_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_headroom_module);

    return (ctx && ctx->ran) ? ctx : NULL;
}


/*
 * A response cache's key (proxy_cache_key): SHA-256 of the tenant (as
 * headroom_ccr_tenant names it), what the core says determines the answer
 * (the API, the path and the body as sent) and the query string (Gemini's
 * alt=sse changes the answer's form; a key there stays out of the cache's
 * files). Where the body was not understood, or there is no tenant, such
 * requests must share no answer: the value is then "-" and a number no
 * other request gets, so that a cache keyed by it alone never serves one
 * request another's answer (a map of "~^-" to proxy_no_cache keeps such
 * answers out of it).
 */

static ngx_int_t
ngx_http_headroom_cache_key_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                   *material, *p, *key;
    size_t                    len, answer_len;
    ngx_int_t                 rc;
    ngx_http_headroom_ctx_t  *ctx;
    u_char                    tenant[NGX_HTTP_HEADROOM_ID_LEN];

    ctx = ngx_http_headroom_ran(r);

    answer_len = (ctx && ctx->result.answer_key)
                 ? ngx_strlen(ctx->result.answer_key) : 0;

    rc = answer_len ? ngx_http_headroom_ccr_tenant(r->main, tenant)
                    : NGX_DECLINED;

    if (rc == NGX_DECLINED) {
        /* the connection's number is unique across workers */

        key = ngx_pnalloc(r->pool, 1 + NGX_ATOMIC_T_LEN + 1 + NGX_INT_T_LEN);
        if (key == NULL) {
            return NGX_ERROR;
        }

        return ngx_http_headroom_value(v, key,
                   ngx_sprintf(key, "-%uA.%ui", r->connection->number,
                               r->connection->requests) - key);
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    len = NGX_HTTP_HEADROOM_ID_LEN + answer_len + r->main->args.len;

    material = ngx_pnalloc(r->pool, len);
    key = ngx_pnalloc(r->pool, 65);

    if (material == NULL || key == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(material, tenant, NGX_HTTP_HEADROOM_ID_LEN);
    p = ngx_cpymem(p, ctx->result.answer_key, answer_len);
    ngx_memcpy(p, r->main->args.data, r->main->args.len);

    if (!headroom_sha256_hex(material, len, (char *) key)) {
        return NGX_ERROR;
    }

    return ngx_http_headroom_value(v, key, 64);
}


/* a figure of the provider's usage, once the answer has passed */

static ngx_int_t
ngx_http_headroom_usage_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                   *p;
    ngx_http_headroom_ctx_t  *ctx;

    /* the answer of a request headroom did not read says it too */

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_headroom_module);

    if (ctx == NULL || !ctx->usage.found) {
        return ngx_http_headroom_value(v, NULL, 0);
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_headroom_value(v, p, ngx_sprintf(p, "%uL",
                                   *(uint64_t *) ((u_char *) &ctx->usage
                                                  + data)) - p);
}


/* what the call cost by the price table, in USD */

static ngx_int_t
ngx_http_headroom_cost_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                   *p;
    ngx_http_headroom_ctx_t  *ctx;

    /* the answer of a request headroom did not read says it too */

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_headroom_module);

    if (ctx == NULL || !ctx->usage.found || ctx->usage_usd < 0) {
        return ngx_http_headroom_value(v, NULL, 0);
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN + sizeof(".000000") - 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_headroom_value(v, p,
                                   ngx_sprintf(p, "%.6f", ctx->usage_usd) - p);
}


static ngx_int_t
ngx_http_headroom_number_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                   *p;
    size_t                    before, after, n;
    ngx_http_headroom_ctx_t  *ctx;

    ctx = ngx_http_headroom_ran(r);

    if (ctx == NULL) {
        return ngx_http_headroom_value(v, NULL, 0);
    }

    ngx_http_headroom_tokens(ctx, &before, &after);

    switch (data) {

    case NGX_HTTP_HEADROOM_TOKENS_BEFORE:
        n = before;
        break;

    case NGX_HTTP_HEADROOM_TOKENS_AFTER:
        n = after;
        break;

    case NGX_HTTP_HEADROOM_TOKENS_SAVED:
        n = before - after;
        break;

    default: /* NGX_HTTP_HEADROOM_TIME_US */
        n = ctx->time_us;
    }

    p = ngx_pnalloc(r->pool, NGX_SIZE_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_headroom_value(v, p, ngx_sprintf(p, "%uz", n) - p);
}


/* tokens after over tokens before, "0.0190"; not found with none before */

static ngx_int_t
ngx_http_headroom_ratio_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                   *p;
    size_t                    before, after;
    uint64_t                  ratio;
    ngx_http_headroom_ctx_t  *ctx;

    ctx = ngx_http_headroom_ran(r);

    if (ctx == NULL) {
        return ngx_http_headroom_value(v, NULL, 0);
    }

    ngx_http_headroom_tokens(ctx, &before, &after);

    if (before == 0) {
        return ngx_http_headroom_value(v, NULL, 0);
    }

    p = ngx_pnalloc(r->pool, sizeof("1.0000") - 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    /* in ten-thousandths, rounded; after <= before */

    ratio = ((uint64_t) after * 10000 + before / 2) / before;

    return ngx_http_headroom_value(v, p, ngx_sprintf(p, "%uL.%04uL",
                                                     ratio / 10000,
                                                     ratio % 10000) - p);
}


static ngx_int_t
ngx_http_headroom_text_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                 s;
    ngx_http_headroom_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_headroom_module);

    ngx_str_null(&s);

    if (ctx == NULL && data == NGX_HTTP_HEADROOM_ROUTE) {
        ngx_str_set(&s, "-");    /* none matched: a value map can read */
    }

    if (ctx) {
        switch (data) {

        case NGX_HTTP_HEADROOM_STATUS:
            s = ngx_http_headroom_status_text(r, ctx);
            break;

        case NGX_HTTP_HEADROOM_TRANSFORMS:
            s = ngx_http_headroom_transforms_text(r, ctx);
            break;

        case NGX_HTTP_HEADROOM_CCR_IDS:
            if (ctx->ccr) {
                s = ctx->ccr->ids;
            }
            break;

        case NGX_HTTP_HEADROOM_ENCODING:
            if (ctx->coded) {
                s.data = (u_char *) headroom_encoding_name(ctx->encoding);
                s.len = ngx_strlen(s.data);
            }
            break;

        case NGX_HTTP_HEADROOM_ESTIMATED:
            if (ctx->usage.found) {
                ngx_str_set(&s, "0");

                if (ctx->usage.estimated) {
                    ngx_str_set(&s, "1");
                }
            }
            break;

        case NGX_HTTP_HEADROOM_ROUTE:
            if (ctx->ran && ctx->result.route && ctx->result.route[0]) {
                s.data = (u_char *) ctx->result.route;
                s.len = ngx_strlen(s.data);

            } else {
                ngx_str_set(&s, "-");
            }
            break;

        default: /* NGX_HTTP_HEADROOM_MODEL */
            s = ngx_http_headroom_model_sent(ctx);
        }
    }

    return ngx_http_headroom_value(v, s.data, s.len);
}


/* an empty value is not found: "-" in a log */

static ngx_int_t
ngx_http_headroom_value(ngx_http_variable_value_t *v, u_char *data,
    size_t len)
{
    if (len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = len;
    v->data = data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
