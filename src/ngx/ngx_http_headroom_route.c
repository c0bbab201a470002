
/*
 * headroom: model routing. headroom_route NAME [if-model=GLOB]
 * [if-tokens<N | if-tokens>N] [if-tools=yes|no] [if-text=REGEX]
 * [if-api=API] [sticky=on|off] to=MODEL; rules of a location, in order,
 * compiled by the core (which decides). headroom_route_zone NAME SIZE
 * [ttl=TIME]: the route each session began with, kept the way the results'
 * cache is kept (ngx_http_headroom_lru), so that a session's later turns
 * keep its model and its warm prompt cache. The core asks the zone through
 * a headroom_sessions_t, possibly from a thread of the pool: nothing here
 * logs or touches a request.
 */


#include "ngx_http_headroom_ccr.h"
#include "ngx_http_headroom_lru.h"


#define NGX_HTTP_HEADROOM_SESSION_LEN  32
#define NGX_HTTP_HEADROOM_ROUTE_KEY    256


/* outlives the request while Redis still owes it its reply */
typedef struct {
    ngx_http_request_t            *r;         /* NULL once it is gone */
    ngx_http_headroom_route_ctx_t *route;     /* the request's, as it was */
    ngx_uint_t                     refs;      /* the request, the reply */
    ngx_event_t                    timer;
    ngx_http_headroom_lru_zone_t  *lru;       /* for a reply that comes late */
    u_char                         session[NGX_HTTP_HEADROOM_SESSION_LEN + 1];
} ngx_http_headroom_route_wait_t;


/* a session offered to Redis after the request's run: nobody waits */
typedef struct {
    ngx_http_headroom_lru_zone_t  *lru;
    u_char                         session[NGX_HTTP_HEADROOM_SESSION_LEN + 1];
} ngx_http_headroom_route_offer_t;


/* per request: the zone, and the session the core found in it or not */
struct ngx_http_headroom_route_ctx_s {
    ngx_http_headroom_lru_zone_t  *lru;
    ngx_flag_t                     redis;     /* sessions shared there */
    u_char                         missed[NGX_HTTP_HEADROOM_SESSION_LEN + 1];
    ngx_http_headroom_route_wait_t  *wait;    /* while Redis is asked */
    ngx_str_t                      scope;     /* the server and location */
    unsigned                       asked:1;
};


static int ngx_http_headroom_sessions_get(void *data, const char *session,
    char *name);
static void ngx_http_headroom_sessions_put(void *data, const char *session,
    const char *name, size_t len);
static void ngx_http_headroom_session_key(const char *session, u_char *k);
static void ngx_http_headroom_sessions_keep(ngx_http_headroom_lru_zone_t *lru,
    u_char *session, u_char *name, size_t len, ngx_uint_t pending);
static ngx_int_t ngx_http_headroom_route_offer(ngx_http_request_t *r,
    ngx_http_headroom_lru_zone_t *lru, u_char *session,
    ngx_http_headroom_redis_got_pt handler, void *data);
static void ngx_http_headroom_route_offered(void *data, ngx_int_t rc,
    u_char *value, size_t len);
static void ngx_http_headroom_sessions_settle(
    ngx_http_headroom_lru_zone_t *lru, u_char *session, u_char *name,
    size_t len);
static size_t ngx_http_headroom_sessions_name(ngx_http_headroom_lru_node_t *ln,
    u_char *name);
static size_t ngx_http_headroom_sessions_read(ngx_http_headroom_lru_zone_t *lru,
    u_char *session, u_char *name);
static size_t ngx_http_headroom_sessions_state(
    ngx_http_headroom_lru_zone_t *lru, u_char *session, u_char *name,
    ngx_uint_t *pending);
static char *ngx_http_headroom_route_arg(ngx_conf_t *cf, ngx_str_t *arg,
    headroom_route_t *rule);
static const char *ngx_http_headroom_c_string(ngx_conf_t *cf, u_char *data,
    size_t len);
static char *ngx_http_headroom_route_value(ngx_conf_t *cf, ngx_str_t *arg,
    u_char *v, size_t n, const char **to);
static void ngx_http_headroom_free_routes(void *data);
static void ngx_http_headroom_route_got(void *data, ngx_int_t rc,
    u_char *value, size_t len);
static void ngx_http_headroom_route_timeout(ngx_event_t *ev);
static void ngx_http_headroom_route_done(ngx_http_headroom_route_wait_t *w);
static void ngx_http_headroom_route_release(ngx_http_headroom_route_wait_t *w);
static void ngx_http_headroom_route_cleanup(void *data);
static size_t ngx_http_headroom_route_redis_key(ngx_http_headroom_redis_t *redis,
    u_char *session, u_char *buf);


/* the zone's own tag: a reload never takes another zone's for it */
static ngx_uint_t  ngx_http_headroom_route_tag;


/* headroom_route_zone NAME SIZE [ttl=TIME] */

char *
ngx_http_headroom_route_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_main_conf_t *hmcf = conf;

    ngx_str_t   *value, s;
    ngx_msec_t   ttl;

    if (hmcf->route_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* a session idle this long starts again: prompt caches live an hour */

    ttl = 3600 * 1000;

    if (cf->args->nelts == 4) {
        if (ngx_strncmp(value[3].data, "ttl=", 4) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"headroom_route_zone\" takes \"ttl=TIME\", "
                               "not \"%V\"", &value[3]);
            return NGX_CONF_ERROR;
        }

        s.data = value[3].data + 4;
        s.len = value[3].len - 4;

        ttl = ngx_parse_time(&s, 0);

        if (ttl == (ngx_msec_t) NGX_ERROR || ttl == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"headroom_route_zone\" takes a ttl above 0, "
                               "not \"%V\"", &value[3]);
            return NGX_CONF_ERROR;
        }
    }

    hmcf->route_zone = ngx_http_headroom_lru_zone(cf, "headroom_route_zone",
                           &value[1], &value[2], &ngx_http_headroom_route_tag,
                           sizeof(ngx_http_headroom_lru_sh_t), ttl);
    if (hmcf->route_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * headroom_route NAME ... to=MODEL: the rules so far are compiled with it,
 * so that a bad one (a regex, a name twice) fails "nginx -t" at its line.
 */

char *
ngx_http_headroom_route(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    u_char              error[512];
    ngx_str_t          *value;
    ngx_uint_t          i;
    headroom_route_t   *rule, *others;
    headroom_routes_t  *compiled;

    if (hlcf->routes == NGX_CONF_UNSET_PTR) {
        hlcf->routes = ngx_array_create(cf->pool, 4, sizeof(headroom_route_t));
        if (hlcf->routes == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    rule = ngx_array_push(hlcf->routes);
    if (rule == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(rule, sizeof(headroom_route_t));
    rule->sticky = 1;

    value = cf->args->elts;

    rule->name = ngx_http_headroom_c_string(cf, value[1].data, value[1].len);
    if (rule->name == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_http_headroom_route_arg(cf, &value[i], rule) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (rule->to == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_route\" %s has no \"to=MODEL\"",
                           rule->name);
        return NGX_CONF_ERROR;
    }

    others = hlcf->routes->elts;

    for (i = 0; i + 1 < hlcf->routes->nelts; i++) {
        if (ngx_strcmp(others[i].name, rule->name) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"headroom_route\" rule \"%s\": defined twice",
                               rule->name);
            return NGX_CONF_ERROR;
        }
    }

    /* the rule alone: all of them are compiled once, at merge */

    compiled = headroom_routes_compile(rule, 1, 0, (char *) error,
                                       sizeof(error));
    if (compiled == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"headroom_route\" %s",
                           error);
        return NGX_CONF_ERROR;
    }

    headroom_routes_free(compiled);

    return NGX_CONF_OK;
}


static char *
ngx_http_headroom_route_arg(ngx_conf_t *cf, ngx_str_t *arg,
    headroom_route_t *rule)
{
    u_char     *v;
    size_t      n;
    ngx_int_t   tokens;

#define ngx_http_headroom_is(prefix)                                         \
    (arg->len >= sizeof(prefix) - 1                                          \
     && ngx_strncmp(arg->data, prefix, sizeof(prefix) - 1) == 0              \
     && (v = arg->data + sizeof(prefix) - 1,                                 \
         n = arg->len - (sizeof(prefix) - 1), 1))

    if (ngx_http_headroom_is("if-model=")) {
        return ngx_http_headroom_route_value(cf, arg, v, n, &rule->model);
    }

    if (ngx_http_headroom_is("if-tokens<")
        || ngx_http_headroom_is("if-tokens>"))
    {
        tokens = ngx_atoi(v, n);

        if (tokens == NGX_ERROR || n == 0 || rule->tokens_op) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"headroom_route\" takes one \"if-tokens<N\" "
                               "or \"if-tokens>N\" (N a number), not \"%V\"",
                               arg);
            return NGX_CONF_ERROR;
        }

        rule->tokens_op = (arg->data[9] == '<') ? HEADROOM_ROUTE_TOKENS_BELOW
                                                : HEADROOM_ROUTE_TOKENS_ABOVE;
        rule->tokens = (size_t) tokens;
        return NGX_CONF_OK;
    }

    if (ngx_http_headroom_is("if-tools=")) {
        if (n == 3 && ngx_strncmp(v, "yes", 3) == 0) {
            rule->tools = HEADROOM_ROUTE_TOOLS_YES;
            return NGX_CONF_OK;
        }

        if (n == 2 && ngx_strncmp(v, "no", 2) == 0) {
            rule->tools = HEADROOM_ROUTE_TOOLS_NO;
            return NGX_CONF_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_route\" takes \"if-tools=yes\" or "
                           "\"if-tools=no\", not \"%V\"", arg);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_headroom_is("if-text=")) {
        return ngx_http_headroom_route_value(cf, arg, v, n, &rule->text);
    }

    if (ngx_http_headroom_is("if-api=")) {
        return ngx_http_headroom_route_value(cf, arg, v, n, &rule->api);
    }

    if (ngx_http_headroom_is("sticky=")) {
        if (n == 2 && ngx_strncmp(v, "on", 2) == 0) {
            rule->sticky = 1;
            return NGX_CONF_OK;
        }

        if (n == 3 && ngx_strncmp(v, "off", 3) == 0) {
            rule->sticky = 0;
            return NGX_CONF_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_route\" takes \"sticky=on\" or "
                           "\"sticky=off\", not \"%V\"", arg);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_headroom_is("to=")) {
        return ngx_http_headroom_route_value(cf, arg, v, n, &rule->to);
    }

#undef ngx_http_headroom_is

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"headroom_route\" does not take \"%V\" (if-model=, "
                       "if-tokens<, if-tokens>, if-tools=, if-text=, "
                       "if-api=, sticky=, to=)", arg);

    return NGX_CONF_ERROR;
}


/* a condition's or the model's value: given once, not empty */

static char *
ngx_http_headroom_route_value(ngx_conf_t *cf, ngx_str_t *arg, u_char *v,
    size_t n, const char **to)
{
    if (n == 0 || *to != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_route\" takes \"%*s\" once, with a "
                           "value, not \"%V\"", (size_t) (v - arg->data),
                           arg->data, arg);
        return NGX_CONF_ERROR;
    }

    *to = ngx_http_headroom_c_string(cf, v, n);

    return *to ? NGX_CONF_OK : NGX_CONF_ERROR;
}


static const char *
ngx_http_headroom_c_string(ngx_conf_t *cf, u_char *data, size_t len)
{
    u_char  *s;

    s = ngx_pnalloc(cf->pool, len + 1);
    if (s == NULL) {
        return NULL;
    }

    ngx_memcpy(s, data, len);
    s[len] = '\0';

    return (const char *) s;
}


/*
 * A location's rules, compiled once at merge (with JIT, as
 * headroom_pcre_jit says). Sticky rules need the zone to remember them in:
 * without it each turn would be decided again, and a session whose turns
 * change model starts a cold prompt cache each time.
 */

ngx_int_t
ngx_http_headroom_compile_routes(ngx_conf_t *cf,
    ngx_http_headroom_loc_conf_t *conf, ngx_http_headroom_loc_conf_t *prev)
{
    u_char                          error[512];
    ngx_uint_t                      i;
    headroom_route_t               *rule;
    ngx_pool_cleanup_t             *cln;
    ngx_http_headroom_main_conf_t  *hmcf;

    if (conf->routes == NULL) {
        return NGX_OK;
    }

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_headroom_module);

    rule = conf->routes->elts;

    for (i = 0; i < conf->routes->nelts; i++) {
        if (rule[i].sticky && hmcf->route_zone == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"headroom_route\" %s is sticky: it needs "
                               "\"headroom_route_zone\" to remember sessions "
                               "in (or \"sticky=off\")", rule[i].name);
            return NGX_ERROR;
        }
    }

    /* the levels above are merged first: share what they compiled */

    if (prev->compiled_routes && prev->routes == conf->routes) {
        conf->compiled_routes = prev->compiled_routes;
        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    conf->compiled_routes = headroom_routes_compile(conf->routes->elts,
                                                    conf->routes->nelts,
                                                    hmcf->pcre_jit != 0,
                                                    (char *) error,
                                                    sizeof(error));
    if (conf->compiled_routes == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"headroom_route\" %s",
                           error);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_headroom_free_routes;
    cln->data = conf->compiled_routes;

    return NGX_OK;
}


static void
ngx_http_headroom_free_routes(void *data)
{
    headroom_routes_free(data);
}


/*
 * The zone's sessions for the core, in the request's scope: its server's
 * name and its location's, so that locations with rules of their own keep
 * sessions of their own (a reload that edits a rule keeps them).
 */

ngx_int_t
ngx_http_headroom_sessions_init(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, headroom_sessions_t *sessions,
    headroom_env_t *env)
{
    u_char                         *p;
    ngx_http_core_srv_conf_t       *cscf;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    if (ctx->route == NULL) {
        ctx->route = ngx_pcalloc(r->pool,
                                 sizeof(ngx_http_headroom_route_ctx_t));
        if (ctx->route == NULL) {
            return NGX_ERROR;
        }

        ctx->route->lru = hmcf->route_zone->data;
        ctx->route->redis = (hmcf->redis != NULL);
    }

    ctx->route->missed[0] = '\0';

    sessions->get = ngx_http_headroom_sessions_get;
    sessions->put = ngx_http_headroom_sessions_put;
    sessions->data = ctx->route;

    env->sessions = sessions;
    env->session_scope = NULL;
    env->session_scope_len = 0;

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    p = ngx_pnalloc(r->pool, cscf->server_name.len + 1 + clcf->name.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    env->session_scope = (const char *) p;

    p = ngx_cpymem(p, cscf->server_name.data, cscf->server_name.len);
    *p++ = ' ';
    p = ngx_cpymem(p, clcf->name.data, clcf->name.len);

    env->session_scope_len = p - (u_char *) env->session_scope;

    ctx->route->scope.data = (u_char *) env->session_scope;
    ctx->route->scope.len = env->session_scope_len;

    return NGX_OK;
}


/* a session in use keeps its route another ttl */

static int
ngx_http_headroom_sessions_get(void *data, const char *session, char *name)
{
    ngx_http_headroom_route_ctx_t *route = data;

    size_t                         len;
    ngx_http_headroom_lru_zone_t  *lru;
    u_char                         k[NGX_HTTP_HEADROOM_LRU_KEY_LEN];
    ngx_http_headroom_lru_node_t  *ln;

    lru = route->lru;

    ngx_http_headroom_session_key(session, k);

    ngx_shmtx_lock(&lru->shpool->mutex);

    ln = ngx_http_headroom_lru_find(lru, k);

    /*
     * Not kept, or kept by a request of this node still waiting for
     * Redis's word on it: Redis is asked after this run (route_must_wait).
     */

    if (ln == NULL || (route->redis && ln->data[0] == 'p')) {
        ngx_memcpy(route->missed, k, NGX_HTTP_HEADROOM_SESSION_LEN);
        route->missed[NGX_HTTP_HEADROOM_SESSION_LEN] = '\0';
        ln = NULL;

    } else {
        len = ngx_http_headroom_sessions_name(ln, (u_char *) name);
        name[len] = '\0';

        ngx_http_headroom_lru_touch(lru, ln);
    }

    ngx_shmtx_unlock(&lru->shpool->mutex);

    return ln != NULL;
}


static void
ngx_http_headroom_sessions_put(void *data, const char *session,
    const char *name, size_t len)
{
    ngx_http_headroom_route_ctx_t *route = data;

    /* with Redis, this node's decision stands once Redis had its say */

    ngx_http_headroom_sessions_keep(route->lru, (u_char *) session,
                                    (u_char *) name, len, route->redis);
}


/*
 * An entry: a state ('p' pending: decided here, Redis not heard yet; 'c'
 * confirmed), then the rule name, NUL-terminated. The name copied to
 * `name`: its length.
 */

static size_t
ngx_http_headroom_sessions_name(ngx_http_headroom_lru_node_t *ln,
    u_char *name)
{
    size_t  len;

    len = ngx_strnlen(ln->data + 1, ngx_min(ln->len - 1,
                                            HEADROOM_ROUTE_NAME_SIZE - 1));
    ngx_memcpy(name, ln->data + 1, len);

    return len;
}


/* the rule name kept for `session` (32 hex digits): its length, 0 if none */

static size_t
ngx_http_headroom_sessions_read(ngx_http_headroom_lru_zone_t *lru,
    u_char *session, u_char *name)
{
    ngx_uint_t  pending;

    return ngx_http_headroom_sessions_state(lru, session, name, &pending);
}


/* the same, and whether it is this node's, Redis not heard yet */

static size_t
ngx_http_headroom_sessions_state(ngx_http_headroom_lru_zone_t *lru,
    u_char *session, u_char *name, ngx_uint_t *pending)
{
    size_t                         len;
    u_char                         k[NGX_HTTP_HEADROOM_LRU_KEY_LEN];
    ngx_http_headroom_lru_node_t  *ln;

    ngx_http_headroom_session_key((const char *) session, k);

    len = 0;
    *pending = 0;

    ngx_shmtx_lock(&lru->shpool->mutex);

    ln = ngx_http_headroom_lru_find(lru, k);

    if (ln) {
        len = ngx_http_headroom_sessions_name(ln, name);
        *pending = (ln->data[0] == 'p');
    }

    ngx_shmtx_unlock(&lru->shpool->mutex);

    return len;
}


/* keeps `name` for `session` in the zone, replacing what was kept */

static void
ngx_http_headroom_sessions_keep(ngx_http_headroom_lru_zone_t *lru,
    u_char *session, u_char *name, size_t len, ngx_uint_t pending)
{
    u_char                         k[NGX_HTTP_HEADROOM_LRU_KEY_LEN];
    ngx_http_headroom_lru_node_t  *ln;

    if (len >= HEADROOM_ROUTE_NAME_SIZE) {
        return;
    }

    ngx_http_headroom_session_key((const char *) session, k);

    ngx_shmtx_lock(&lru->shpool->mutex);

    /* a session decided again (its rule gone) keeps the new decision */

    ln = ngx_http_headroom_lru_find(lru, k);

    if (ln) {
        ngx_http_headroom_lru_touch(lru, ln);

    } else {
        ln = ngx_http_headroom_lru_add(lru, k, 1 + HEADROOM_ROUTE_NAME_SIZE);
    }

    /* every entry has room for any name: NUL-terminated */

    if (ln) {
        ln->data[0] = pending ? 'p' : 'c';
        ngx_memcpy(ln->data + 1, name, len);
        ln->data[1 + len] = '\0';
    }

    ngx_shmtx_unlock(&lru->shpool->mutex);
}


/* the zone's 64-byte key: the session's 32 hex digits, then zeros */

static void
ngx_http_headroom_session_key(const char *session, u_char *k)
{
    size_t  len;

    len = ngx_strnlen((u_char *) session, NGX_HTTP_HEADROOM_SESSION_LEN);

    ngx_memcpy(k, session, len);
    ngx_memzero(k + len, NGX_HTTP_HEADROOM_LRU_KEY_LEN - len);
}


/*
 * The model the request goes upstream with: the routed one, except in
 * audit mode, which forwards the original (and only says what routing
 * would have done). "" when headroom did not read a model.
 */

ngx_str_t
ngx_http_headroom_model_sent(ngx_http_headroom_ctx_t *ctx)
{
    ngx_str_t  s;

    ngx_str_null(&s);

    if (!ctx->ran || ctx->result.model == NULL) {
        return s;
    }

    if (ctx->mode == NGX_HTTP_HEADROOM_AUDIT && ctx->result.model_in[0]) {
        s.data = (u_char *) ctx->result.model_in;
        s.len = ngx_strlen(s.data);
        return s;
    }

    s.data = (u_char *) ctx->result.model;
    s.len = ctx->result.model_len;

    return s;
}


/*
 * The model a call is billed as: the one sent, else (a request headroom
 * did not read) the one its answer names.
 */

ngx_str_t
ngx_http_headroom_model_billed(ngx_http_headroom_ctx_t *ctx)
{
    ngx_str_t  s;

    s = ngx_http_headroom_model_sent(ctx);

    if (s.len == 0 && ctx->usage.model[0]) {
        s.data = (u_char *) ctx->usage.model;
        s.len = ngx_strlen(s.data);
    }

    return s;
}


/*
 * Gemini names the model in the path: a routed request goes to the path
 * naming its new one (proxy_pass without a URI sends r->uri, escaped, once
 * the unparsed URI no longer stands).
 */

ngx_int_t
ngx_http_headroom_route_path(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(ctx->result.path_out);

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, ctx->result.path_out, len);

    r->uri.data = p;
    r->uri.len = len;
    r->valid_unparsed_uri = 0;

    return NGX_OK;
}


/*
 * With headroom_redis, every node agrees on a session's route: a session
 * this node did not know (the core decided it and kept it here) is offered
 * to Redis, SET ... NX GET, before the request goes on; when another node
 * decided it first, its route is kept here instead and the core runs again
 * with it. Not for a run in a thread (it decided there; Redis hears of it
 * on the next request). Down or slow, Redis costs a request its timeout
 * at most, and this node's decision stands.
 */

ngx_uint_t
ngx_http_headroom_route_must_wait(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    return hmcf->redis && ctx->route && !ctx->route->asked
           && ctx->route->missed[0] && !ctx->threaded
           && ctx->result.session && ctx->result.session[0];
}


ngx_uint_t
ngx_http_headroom_route_waiting(ngx_http_headroom_ctx_t *ctx)
{
    return ctx->route && ctx->route->wait;
}


ngx_int_t
ngx_http_headroom_route_ask(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    ngx_int_t                        rc;
    ngx_msec_t                       timeout;
    ngx_pool_cleanup_t              *cln;
    ngx_http_core_loc_conf_t        *clcf;
    ngx_http_headroom_route_ctx_t   *route;
    ngx_http_headroom_route_wait_t  *w;
    ngx_http_headroom_main_conf_t   *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);
    route = ctx->route;

    route->asked = 1;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    w = ngx_calloc(sizeof(ngx_http_headroom_route_wait_t), r->connection->log);

    if (cln == NULL || w == NULL) {
        rc = NGX_ERROR;
        goto declined;
    }

    w->r = r;
    w->route = route;
    w->refs = 2;
    w->lru = route->lru;
    ngx_memcpy(w->session, route->missed, sizeof(w->session));

    /* what this node decided, kept (pending) by the run that missed it */

    rc = ngx_http_headroom_route_offer(r, route->lru, route->missed,
                                       ngx_http_headroom_route_got, w);
    if (rc != NGX_OK) {
        goto declined;
    }

    cln->handler = ngx_http_headroom_route_cleanup;
    cln->data = w;

    w->timer.handler = ngx_http_headroom_route_timeout;
    w->timer.data = w;
    w->timer.log = r->connection->log;

    /* well before client_body_timeout: nginx's reader waits meanwhile */

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    timeout = ngx_min(ngx_http_headroom_redis_timeout(hmcf->redis),
                      clcf->client_body_timeout / 2);

    ngx_add_timer(&w->timer, timeout);

    route->wait = w;

    return NGX_AGAIN;

declined:

    /* Redis out of reach: this node's decision stands */

    if (w) {
        ngx_free(w);
    }

    ngx_http_headroom_sessions_settle(route->lru, route->missed, NULL, 0);

    return NGX_DECLINED;
}


/*
 * SET PREFIX route:SESSION NAME NX GET PX ttl, then PEXPIRE: this node's
 * route for the session, unless Redis has one (its reply), and the key
 * kept another ttl either way. NGX_DECLINED: nothing kept here to offer;
 * NGX_ERROR: not sent (the handler is not called).
 */

static ngx_int_t
ngx_http_headroom_route_offer(ngx_http_request_t *r,
    ngx_http_headroom_lru_zone_t *lru, u_char *session,
    ngx_http_headroom_redis_got_pt handler, void *data)
{
    size_t                          lens[7], len;
    u_char                          key[NGX_HTTP_HEADROOM_ROUTE_KEY];
    u_char                          name[HEADROOM_ROUTE_NAME_SIZE];
    u_char                          ttl[NGX_INT_T_LEN];
    const char                     *argv[7];
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    len = ngx_http_headroom_sessions_read(lru, session, name);

    if (len == 0) {
        return NGX_DECLINED;
    }

    argv[0] = "SET";
    lens[0] = 3;
    argv[1] = (const char *) key;
    lens[1] = ngx_http_headroom_route_redis_key(hmcf->redis, session, key);
    argv[2] = (const char *) name;
    lens[2] = len;
    argv[3] = "NX";
    lens[3] = 2;
    argv[4] = "GET";
    lens[4] = 3;
    argv[5] = "PX";
    lens[5] = 2;
    argv[6] = (const char *) ttl;
    lens[6] = ngx_sprintf(ttl, "%M", lru->ttl) - ttl;

    if (ngx_http_headroom_redis_command(hmcf->redis, handler, data, 7, argv,
                                        lens)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    argv[0] = "PEXPIRE";
    lens[0] = 7;
    argv[2] = (const char *) ttl;
    lens[2] = lens[6];

    (void) ngx_http_headroom_redis_command(hmcf->redis, NULL, NULL, 3, argv,
                                           lens);

    return NGX_OK;
}


/* another node's route (a value) is this node's too; nil: ours stands */

static void
ngx_http_headroom_route_got(void *data, ngx_int_t rc, u_char *value,
    size_t len)
{
    ngx_http_headroom_route_wait_t *w = data;

    /* kept here even when the request has gone on: for its next turns */

    ngx_http_headroom_sessions_settle(w->lru, w->session,
                                      rc == NGX_OK ? value : NULL,
                                      rc == NGX_OK ? len : 0);

    if (w->r && w->route->wait == w) {
        ngx_http_headroom_route_done(w);
    }

    ngx_http_headroom_route_release(w);
}


static void
ngx_http_headroom_route_timeout(ngx_event_t *ev)
{
    ngx_http_headroom_route_wait_t *w = ev->data;

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "headroom: Redis did not say a session's route in time: "
                  "this node's decision stands");

    ngx_http_headroom_sessions_settle(w->lru, w->session, NULL, 0);

    ngx_http_headroom_route_done(w);
}


/* the reply to an offer nobody waits for: kept for the next turns */

static void
ngx_http_headroom_route_offered(void *data, ngx_int_t rc, u_char *value,
    size_t len)
{
    ngx_http_headroom_route_offer_t *o = data;

    ngx_http_headroom_sessions_settle(o->lru, o->session,
                                      rc == NGX_OK ? value : NULL,
                                      rc == NGX_OK ? len : 0);
    ngx_free(o);
}


static void
ngx_http_headroom_route_done(ngx_http_headroom_route_wait_t *w)
{
    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }

    if (w->r == NULL || w->route->wait != w) {
        return;
    }

    w->route->wait = NULL;

    ngx_http_headroom_resume(w->r);
}


static void
ngx_http_headroom_route_release(ngx_http_headroom_route_wait_t *w)
{
    if (--w->refs == 0) {
        ngx_free(w);
    }
}


/* the request is gone: the reply finds nobody */

static void
ngx_http_headroom_route_cleanup(void *data)
{
    ngx_http_headroom_route_wait_t *w = data;

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }

    w->r = NULL;
    ngx_http_headroom_route_release(w);
}


/*
 * After the last run, a session that was not asked about before it (known
 * here already, or decided in a thread) is offered to Redis again, nobody
 * waiting: so a key Redis lost is written back, its ttl renewed, and a
 * route another node set first is kept here for the session's next turns.
 */

void
ngx_http_headroom_route_after(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    ngx_http_headroom_route_offer_t  *o;
    ngx_http_headroom_main_conf_t    *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    if (hmcf->redis == NULL || ctx->route == NULL || ctx->route->asked
        || ctx->result.session == NULL
        || ngx_strlen(ctx->result.session) != NGX_HTTP_HEADROOM_SESSION_LEN)
    {
        return;
    }

    o = ngx_alloc(sizeof(ngx_http_headroom_route_offer_t), r->connection->log);
    if (o == NULL) {
        return;
    }

    o->lru = ctx->route->lru;
    ngx_memcpy(o->session, ctx->result.session, sizeof(o->session));

    switch (ngx_http_headroom_route_offer(r, o->lru, o->session,
                                          ngx_http_headroom_route_offered, o))
    {
    case NGX_OK:
        return;

    case NGX_ERROR:
        /* Redis out of reach: this node's decision stands */
        ngx_http_headroom_sessions_settle(o->lru, o->session, NULL, 0);
        break;

    default: /* nothing kept: a sticky=off rule decided */
        break;
    }

    ngx_free(o);
}


/*
 * Redis's word on a session: another node's route (`name`) is kept here
 * too; none (`name` NULL: ours was set, or Redis did not answer) confirms
 * this node's own.
 */

static void
ngx_http_headroom_sessions_settle(ngx_http_headroom_lru_zone_t *lru,
    u_char *session, u_char *name, size_t len)
{
    u_char                         k[NGX_HTTP_HEADROOM_LRU_KEY_LEN];
    ngx_http_headroom_lru_node_t  *ln;

    if (name && len > 0 && len < HEADROOM_ROUTE_NAME_SIZE) {
        ngx_http_headroom_sessions_keep(lru, session, name, len, 0);
        return;
    }

    ngx_http_headroom_session_key((const char *) session, k);

    ngx_shmtx_lock(&lru->shpool->mutex);

    ln = ngx_http_headroom_lru_find(lru, k);

    if (ln) {
        ln->data[0] = 'c';
    }

    ngx_shmtx_unlock(&lru->shpool->mutex);
}


/* PREFIX "route:" SESSION */

static size_t
ngx_http_headroom_route_redis_key(ngx_http_headroom_redis_t *redis,
    u_char *session, u_char *buf)
{
    u_char  *p;

    p = ngx_http_headroom_redis_prefix(redis, buf,
                                       buf + NGX_HTTP_HEADROOM_ROUTE_KEY
                                       - sizeof("route:") - 1
                                       - NGX_HTTP_HEADROOM_SESSION_LEN);
    p = ngx_cpymem(p, "route:", sizeof("route:") - 1);
    p = ngx_cpymem(p, session, NGX_HTTP_HEADROOM_SESSION_LEN);

    return p - buf;
}


/*
 * A Responses conversation the provider keeps (previous_response_id)
 * resends no first message: each answer's id carries its session's route
 * to the request that continues it. Only for a routed Responses request
 * whose session keeps a route.
 */

ngx_uint_t
ngx_http_headroom_route_chains(ngx_http_headroom_ctx_t *ctx)
{
    return ctx->route && ctx->route->scope.len && ctx->ran
           && ctx->result.session && ctx->result.session[0]
           && ngx_strcmp(ctx->result.shape, "openai_responses") == 0;
}


void
ngx_http_headroom_route_chain(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    size_t                            len;
    u_char                            name[HEADROOM_ROUTE_NAME_SIZE];
    char                              next[NGX_HTTP_HEADROOM_SESSION_LEN + 1];
    const char                       *asked;
    ngx_uint_t                        pending;
    ngx_http_headroom_route_ctx_t    *route;
    ngx_http_headroom_route_offer_t  *o;
    ngx_http_headroom_main_conf_t    *hmcf;

    route = ctx->route;

    len = ngx_http_headroom_sessions_state(route->lru,
                                           (u_char *) ctx->result.session,
                                           name, &pending);

    /* the model the client asked for: the next request asks for it too */

    asked = ctx->result.model_in[0] ? ctx->result.model_in
                                    : ctx->result.model;

    if (len == 0
        || !headroom_session_of_response((const char *) route->scope.data,
                                         route->scope.len, asked,
                                         ngx_strlen(asked),
                                         ctx->usage.response_id,
                                         ngx_strlen(ctx->usage.response_id),
                                         next))
    {
        return;
    }

    ngx_http_headroom_sessions_keep(route->lru, (u_char *) next, name, len,
                                    pending);

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    if (hmcf->redis == NULL) {
        return;
    }

    /* other nodes may get the next turn: Redis hears of it, nobody waits */

    o = ngx_alloc(sizeof(ngx_http_headroom_route_offer_t), r->connection->log);
    if (o == NULL) {
        return;
    }

    o->lru = route->lru;
    ngx_memcpy(o->session, next, sizeof(o->session));

    if (ngx_http_headroom_route_offer(r, o->lru, o->session,
                                      ngx_http_headroom_route_offered, o)
        != NGX_OK)
    {
        ngx_free(o);
    }
}
