
/*
 * headroom: the status handler. The zone's figures as JSON, or in the
 * Prometheus text format for ?format=prometheus or an Accept header that
 * takes text/plain (as Prometheus sends).
 */


#include "ngx_http_headroom_zone.h"
#include "ngx_http_headroom_ccr.h"
#include "ngx_http_headroom_cache.h"


/* the JSON or the Prometheus text of the fixed part, with room to spare */
#define NGX_HTTP_HEADROOM_STATUS_LEN  40960
#define NGX_HTTP_HEADROOM_MODEL_OUT   2048


typedef struct {
    ngx_http_headroom_shctx_t      sh;
    ngx_http_headroom_model_t     *models;    /* a copy, as an array */
    ngx_uint_t                     nmodels;
    ngx_uint_t                     seen;
    ngx_str_t                     *zone;
    ngx_str_t                     *ccr_zone;  /* NULL: no headroom_ccr_zone */
    ngx_http_headroom_ccr_figures_t  ccr;
    ngx_str_t                     *cache_zone;  /* NULL: none */
    ngx_array_t                   *budget_zones;  /* NULL: none */
    ngx_http_headroom_cache_figures_t  cache;
} ngx_http_headroom_snapshot_t;


static ngx_int_t ngx_http_headroom_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_headroom_snapshot(ngx_http_request_t *r,
    ngx_http_headroom_snapshot_t *s);
static ngx_uint_t ngx_http_headroom_wants_prometheus(ngx_http_request_t *r);
static ngx_uint_t ngx_http_headroom_takes_text(ngx_str_t *value);
static u_char *ngx_http_headroom_json(u_char *p, u_char *last,
    ngx_http_headroom_snapshot_t *s);
static u_char *ngx_http_headroom_prometheus(u_char *p, u_char *last,
    ngx_http_headroom_snapshot_t *s);
static u_char *ngx_http_headroom_by_stage(u_char *p, u_char *last,
    char *name, ngx_http_headroom_snapshot_t *s, size_t before, size_t after);
static u_char *ngx_http_headroom_by_transform(u_char *p, u_char *last,
    char *name, ngx_http_headroom_snapshot_t *s, size_t offset);
static u_char *ngx_http_headroom_usd(u_char *p, u_char *last,
    uint64_t usd_nano);
static u_char *ngx_http_headroom_spend_json(u_char *p, u_char *last,
    ngx_http_headroom_spend_t *spend);
static u_char *ngx_http_headroom_spend_prometheus(u_char *p, u_char *last,
    ngx_str_t *mode, ngx_http_headroom_model_t *m,
    ngx_http_headroom_spend_t *spend);
static u_char *ngx_http_headroom_ccr_json(u_char *p, u_char *last,
    ngx_http_headroom_snapshot_t *s);
static u_char *ngx_http_headroom_ccr_prometheus(u_char *p, u_char *last,
    ngx_http_headroom_snapshot_t *s);
static u_char *ngx_http_headroom_cache_json(u_char *p, u_char *last,
    ngx_http_headroom_snapshot_t *s);
static u_char *ngx_http_headroom_cache_prometheus(u_char *p, u_char *last,
    ngx_http_headroom_snapshot_t *s);


static const char  *ngx_http_headroom_stages[2] = { "before", "after" };
static const char  *ngx_http_headroom_ways[NGX_HTTP_HEADROOM_WAYS] = {
    "fill", "mcp", "endpoint"
};
static const char  *ngx_http_headroom_store_states[HEADROOM_STORE_STATES] = {
    "found", "missing", "unavailable"
};
static const char  *ngx_http_headroom_redis_figures[
                                           NGX_HTTP_HEADROOM_REDIS_FIGURES] = {
    "writes", "reads", "hits", "errors"
};


/* headroom_status; in a location */

char *
ngx_http_headroom_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_headroom_main_conf_t  *hmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_headroom_status_handler;

    /* a "headroom on" above is not for this location's own requests */

    if (hlcf->enable == NGX_CONF_UNSET) {
        hlcf->enable = 0;
    }

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_headroom_module);
    hmcf->status_used = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_headroom_status_handler(ngx_http_request_t *r)
{
    size_t                         len;
    ngx_int_t                      rc;
    ngx_buf_t                     *b;
    ngx_uint_t                     prometheus;
    ngx_http_headroom_snapshot_t   s;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_headroom_snapshot(r, &s) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    prometheus = ngx_http_headroom_wants_prometheus(r);

    len = NGX_HTTP_HEADROOM_STATUS_LEN
          + (s.nmodels + NGX_HTTP_HEADROOM_MODES) * NGX_HTTP_HEADROOM_MODEL_OUT
          + ngx_http_headroom_budget_json_len(s.budget_zones);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (prometheus) {
        b->last = ngx_http_headroom_prometheus(b->pos, b->end, &s);
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");

    } else {
        b->last = ngx_http_headroom_json(b->pos, b->end, &s);
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    return ngx_http_headroom_send(r, b);
}


/* a consistent copy, taken under the lock and read without it */

static ngx_int_t
ngx_http_headroom_snapshot(ngx_http_request_t *r,
    ngx_http_headroom_snapshot_t *s)
{
    ngx_uint_t                      n;
    ngx_slab_pool_t                *shpool;
    ngx_http_headroom_shctx_t      *sh;
    ngx_http_headroom_model_t      *m;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    /* "nginx -t" makes sure of a zone */

    shpool = (ngx_slab_pool_t *) hmcf->zone->shm.addr;
    sh = hmcf->zone->data;

    s->zone = &hmcf->zone->shm.name;

    for ( ;; ) {
        n = sh->nmodels;

        s->models = ngx_palloc(r->pool, (n + NGX_HTTP_HEADROOM_MODES)
                                        * sizeof(ngx_http_headroom_model_t));
        if (s->models == NULL) {
            return NGX_ERROR;
        }

        ngx_shmtx_lock(&shpool->mutex);

        if (sh->nmodels == n) {
            break;
        }

        /* a model came in meanwhile: make room for it */

        ngx_shmtx_unlock(&shpool->mutex);
    }

    s->sh = *sh;
    s->seen = sh->seen;
    s->nmodels = 0;

    for (m = sh->models; m; m = m->next) {
        s->models[s->nmodels++] = *m;
    }

    for (n = 0; n < NGX_HTTP_HEADROOM_MODES; n++) {
        if (sh->other[n].requests) {
            s->models[s->nmodels++] = sh->other[n];
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    s->ccr_zone = NULL;

    if (hmcf->ccr_zone) {
        s->ccr_zone = &hmcf->ccr_zone->shm.name;
        ngx_http_headroom_ccr_snapshot(hmcf->ccr_zone, &s->ccr);
    }

    s->budget_zones = hmcf->budget_zones;

    s->cache_zone = NULL;

    if (hmcf->cache_zone) {
        s->cache_zone = &hmcf->cache_zone->shm.name;
        ngx_http_headroom_cache_snapshot(hmcf->cache_zone, &s->cache);
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_headroom_wants_prometheus(ngx_http_request_t *r)
{
    ngx_str_t  format;

    static ngx_str_t  accept = ngx_string("Accept");

    if (ngx_http_arg(r, (u_char *) "format", 6, &format) == NGX_OK) {
        return format.len == 10
               && ngx_strncasecmp(format.data, (u_char *) "prometheus", 10)
                  == 0;
    }

    return ngx_http_headroom_some_header(r, &accept,
                                         ngx_http_headroom_takes_text)
           != NULL;
}


static ngx_uint_t
ngx_http_headroom_takes_text(ngx_str_t *value)
{
    return ngx_strlcasestrn(value->data, value->data + value->len,
                            (u_char *) "text/plain",
                            sizeof("text/plain") - 2)
           != NULL;
}


static u_char *
ngx_http_headroom_json(u_char *p, u_char *last, ngx_http_headroom_snapshot_t *s)
{
    uint64_t                      cumulative;
    ngx_uint_t                    i, k;
    ngx_http_headroom_figures_t  *f;
    ngx_http_headroom_model_t    *m;

    p = ngx_slprintf(p, last, "{\"zone\":\"%V\",\"requests\":{\"seen\":%ui",
                     s->zone, s->seen);

    for (i = 1; i < NGX_HTTP_HEADROOM_OUTCOMES; i++) {
        p = ngx_slprintf(p, last, ",\"%s\":%uL",
                         ngx_http_headroom_outcome_names[i],
                         s->sh.outcomes[i]);
    }

    p = ngx_slprintf(p, last, "},\"passthrough_reasons\":{");

    for (i = 0; i < HEADROOM_REASONS; i++) {
        p = ngx_slprintf(p, last, "%s\"%s\":%uL", i ? "," : "",
                         headroom_reason_name(i), s->sh.reasons[i]);
    }

    p = ngx_slprintf(p, last, "},\"encodings\":{");

    for (i = 0; i < HEADROOM_ENCODINGS; i++) {
        p = ngx_slprintf(p, last, "%s\"%s\":{\"requests\":%uL,"
                         "\"wire_bytes\":%uL,\"decoded_bytes\":%uL}",
                         i ? "," : "", headroom_encoding_name(i),
                         s->sh.codings[i].requests,
                         s->sh.codings[i].wire_bytes,
                         s->sh.codings[i].decoded_bytes);
    }

    p = ngx_slprintf(p, last, "},\"modes\":{");

    for (k = 0; k < NGX_HTTP_HEADROOM_MODES; k++) {
        f = &s->sh.figures[k];

        p = ngx_slprintf(p, last,
                         "%s\"%V\":{\"requests\":%uL,\"bytes_before\":%uL,"
                         "\"bytes_after\":%uL,\"tokens_before\":%uL,"
                         "\"tokens_after\":%uL,\"tokens_saved\":%uL,"
                         "\"saved_usd\":",
                         k ? "," : "", &ngx_http_headroom_mode_names[k],
                         f->requests, f->bytes_before, f->bytes_after,
                         f->tokens_before, f->tokens_after,
                         f->tokens_before - f->tokens_after);
        p = ngx_http_headroom_usd(p, last, f->usd_nano);
        p = ngx_http_headroom_spend_json(p, last, &f->spend);
        p = ngx_slprintf(p, last, ",\"transforms\":{");

        for (i = 0; i < HEADROOM_TRANSFORMS; i++) {
            p = ngx_slprintf(p, last,
                             "%s\"%s\":{\"applied\":%uL,\"tokens_saved\":%uL}",
                             i ? "," : "", headroom_transform_name(i),
                             f->applied[i], f->saved[i]);
        }

        p = ngx_slprintf(p, last, "}}");
    }

    p = ngx_slprintf(p, last, "},\"models\":[");

    for (i = 0; i < s->nmodels; i++) {
        m = &s->models[i];

        p = ngx_slprintf(p, last,
                         "%s{\"model\":\"%*s\",\"mode\":\"%V\","
                         "\"requests\":%uL,\"tokens_before\":%uL,"
                         "\"tokens_after\":%uL,\"tokens_saved\":%uL,"
                         "\"saved_usd\":",
                         i ? "," : "", m->len, m->name,
                         &ngx_http_headroom_mode_names[m->mode], m->requests,
                         m->tokens_before, m->tokens_after,
                         m->tokens_before - m->tokens_after);
        p = ngx_http_headroom_usd(p, last, m->usd_nano);
        p = ngx_http_headroom_spend_json(p, last, &m->spend);
        p = ngx_slprintf(p, last, "}");
    }

    p = ngx_slprintf(p, last, "],\"zone_full\":%s,\"time_us\":{\"buckets\":[",
                     s->sh.full ? "true" : "false");

    cumulative = 0;

    for (i = 0; i <= NGX_HTTP_HEADROOM_TIME_BOUNDS; i++) {
        cumulative += s->sh.time_buckets[i];

        if (i < NGX_HTTP_HEADROOM_TIME_BOUNDS) {
            p = ngx_slprintf(p, last, "%s{\"le\":%ui,\"count\":%uL}",
                             i ? "," : "", ngx_http_headroom_time_bounds[i],
                             cumulative);

        } else {
            p = ngx_slprintf(p, last, ",{\"le\":\"+Inf\",\"count\":%uL}",
                             cumulative);
        }
    }

    p = ngx_slprintf(p, last, "],\"count\":%uL,\"sum\":%uL}",
                     cumulative, s->sh.time_sum_us);

    p = ngx_http_headroom_ccr_json(p, last, s);
    p = ngx_http_headroom_cache_json(p, last, s);
    p = ngx_http_headroom_budget_json(p, last, s->budget_zones);

    return ngx_slprintf(p, last, "}\n");
}


/* ,"ccr":{...}: the originals' store, when there is one */

static u_char *
ngx_http_headroom_ccr_json(u_char *p, u_char *last,
    ngx_http_headroom_snapshot_t *s)
{
    ngx_uint_t                        w, k;
    ngx_http_headroom_ccr_figures_t  *f;

    if (s->ccr_zone == NULL) {
        return p;
    }

    f = &s->ccr;

    p = ngx_slprintf(p, last, ",\"ccr\":{\"zone\":\"%V\",\"stored\":%uL,"
                     "\"stored_bytes\":%uL,\"kept\":%uL,\"kept_bytes\":%uL,"
                     "\"evicted\":%uL,\"expired\":%uL,\"too_large\":%uL,"
                     "\"retrievals\":{", s->ccr_zone, f->store.stored,
                     f->store.stored_bytes, f->store.kept,
                     f->store.kept_bytes, f->store.evicted, f->store.expired,
                     f->store.too_large);

    for (w = 0; w < NGX_HTTP_HEADROOM_WAYS; w++) {
        p = ngx_slprintf(p, last, "%s\"%s\":{", w ? "," : "",
                         ngx_http_headroom_ways[w]);

        for (k = 0; k < HEADROOM_STORE_STATES; k++) {
            p = ngx_slprintf(p, last, "%s\"%s\":%uL", k ? "," : "",
                             ngx_http_headroom_store_states[k],
                             f->retrievals[w][k]);
        }

        p = ngx_slprintf(p, last, "}");
    }

    p = ngx_slprintf(p, last, "},\"redis\":{");

    for (k = 0; k < NGX_HTTP_HEADROOM_REDIS_FIGURES; k++) {
        p = ngx_slprintf(p, last, "%s\"%s\":%uL", k ? "," : "",
                         ngx_http_headroom_redis_figures[k], f->redis[k]);
    }

    return ngx_slprintf(p, last, "}}");
}


#define ngx_http_headroom_family(p, last, name, type, help)                   \
    ngx_slprintf(p, last, "# HELP " name " " help "\n# TYPE " name " " type   \
                 "\n")


static u_char *
ngx_http_headroom_prometheus(u_char *p, u_char *last,
    ngx_http_headroom_snapshot_t *s)
{
    uint64_t                      cumulative, v;
    ngx_str_t                    *mode;
    ngx_uint_t                    i, k;
    ngx_http_headroom_figures_t  *f;
    ngx_http_headroom_model_t    *m;

    p = ngx_http_headroom_family(p, last, "headroom_requests_seen_total",
            "counter", "Requests in locations where headroom is on.");
    p = ngx_slprintf(p, last, "headroom_requests_seen_total %ui\n", s->seen);

    p = ngx_http_headroom_family(p, last, "headroom_requests_total",
            "counter", "Requests by what became of them: optimized "
            "(rewritten, in any mode), passthrough, failed (passed through "
            "for want of memory), bypass (X-Headroom-Bypass).");

    for (i = 1; i < NGX_HTTP_HEADROOM_OUTCOMES; i++) {
        p = ngx_slprintf(p, last, "headroom_requests_total{outcome=\"%s\"} "
                         "%uL\n", ngx_http_headroom_outcome_names[i],
                         s->sh.outcomes[i]);
    }

    p = ngx_http_headroom_family(p, last, "headroom_passthrough_total",
            "counter", "Requests forwarded as received, by reason.");

    for (i = 0; i < HEADROOM_REASONS; i++) {
        p = ngx_slprintf(p, last, "headroom_passthrough_total{reason=\"%s\"} "
                         "%uL\n", headroom_reason_name(i),
                         s->sh.reasons[i]);
    }

    p = ngx_http_headroom_family(p, last, "headroom_encoded_bodies_total",
            "counter", "Request bodies headroom read, by Content-Encoding "
            "(identity when none).");

    for (i = 0; i < HEADROOM_ENCODINGS; i++) {
        p = ngx_slprintf(p, last, "headroom_encoded_bodies_total{"
                         "encoding=\"%s\"} %uL\n", headroom_encoding_name(i),
                         s->sh.codings[i].requests);
    }

    p = ngx_http_headroom_family(p, last, "headroom_encoded_bytes_total",
            "counter", "Bytes of those bodies on the wire and decoded.");

    for (i = 0; i < HEADROOM_ENCODINGS; i++) {
        p = ngx_slprintf(p, last, "headroom_encoded_bytes_total{"
                         "encoding=\"%s\",stage=\"wire\"} %uL\n"
                         "headroom_encoded_bytes_total{"
                         "encoding=\"%s\",stage=\"decoded\"} %uL\n",
                         headroom_encoding_name(i),
                         s->sh.codings[i].wire_bytes,
                         headroom_encoding_name(i),
                         s->sh.codings[i].decoded_bytes);
    }

    p = ngx_http_headroom_family(p, last, "headroom_bodies_total", "counter",
            "Request bodies headroom read and ran through its core, by mode.");

    for (k = 0; k < NGX_HTTP_HEADROOM_MODES; k++) {
        p = ngx_slprintf(p, last, "headroom_bodies_total{mode=\"%V\"} %uL\n",
                         &ngx_http_headroom_mode_names[k],
                         s->sh.figures[k].requests);
    }

    p = ngx_http_headroom_family(p, last, "headroom_body_bytes_total",
            "counter", "Bytes of those bodies as received, decoded (before), "
            "and as sent, or as they would have been sent in audit and "
            "simulate mode (after).");

    p = ngx_http_headroom_by_stage(p, last, "headroom_body_bytes_total", s,
            offsetof(ngx_http_headroom_figures_t, bytes_before),
            offsetof(ngx_http_headroom_figures_t, bytes_after));

    p = ngx_http_headroom_family(p, last, "headroom_tool_output_tokens_total",
            "counter", "Tokens of the tool outputs in those bodies, before "
            "and after headroom.");

    p = ngx_http_headroom_by_stage(p, last,
            "headroom_tool_output_tokens_total", s,
            offsetof(ngx_http_headroom_figures_t, tokens_before),
            offsetof(ngx_http_headroom_figures_t, tokens_after));

    p = ngx_http_headroom_family(p, last, "headroom_tokens_saved_total",
            "counter", "Tokens headroom took out of requests.");

    for (k = 0; k < NGX_HTTP_HEADROOM_MODES; k++) {
        f = &s->sh.figures[k];
        p = ngx_slprintf(p, last, "headroom_tokens_saved_total{mode=\"%V\"} "
                         "%uL\n", &ngx_http_headroom_mode_names[k],
                         f->tokens_before - f->tokens_after);
    }

    p = ngx_http_headroom_family(p, last, "headroom_saved_usd_total",
            "counter", "Estimated US dollars saved: tokens saved at the "
            "model's input price (headroom_prices).");

    for (k = 0; k < NGX_HTTP_HEADROOM_MODES; k++) {
        p = ngx_slprintf(p, last, "headroom_saved_usd_total{mode=\"%V\"} ",
                         &ngx_http_headroom_mode_names[k]);
        p = ngx_http_headroom_usd(p, last, s->sh.figures[k].usd_nano);
        p = ngx_slprintf(p, last, "\n");
    }

    p = ngx_http_headroom_family(p, last, "headroom_spend_calls_total",
            "counter", "Answers whose usage headroom read, and of them "
            "those of a model without the five prices (unpriced), and those "
            "whose usage headroom estimated (the answer said none).");

    for (k = 0; k < NGX_HTTP_HEADROOM_MODES; k++) {
        f = &s->sh.figures[k];
        p = ngx_slprintf(p, last,
                         "headroom_spend_calls_total{mode=\"%V\"} %uL\n"
                         "headroom_spend_calls_total{mode=\"%V\","
                         "priced=\"no\"} %uL\n"
                         "headroom_spend_calls_total{mode=\"%V\","
                         "estimated=\"yes\"} %uL\n",
                         &ngx_http_headroom_mode_names[k], f->spend.calls,
                         &ngx_http_headroom_mode_names[k], f->spend.unpriced,
                         &ngx_http_headroom_mode_names[k],
                         f->spend.estimated);
    }

    p = ngx_http_headroom_family(p, last, "headroom_usage_tokens_total",
            "counter", "Tokens providers said calls used: input (cached "
            "included), cached, cache_write, output.");

    for (k = 0; k < NGX_HTTP_HEADROOM_MODES; k++) {
        p = ngx_http_headroom_spend_prometheus(p, last,
                                               &ngx_http_headroom_mode_names[k],
                                               NULL, &s->sh.figures[k].spend);
    }

    p = ngx_http_headroom_family(p, last, "headroom_spend_usd_total",
            "counter", "US dollars the calls cost: their usage at the "
            "model's prices (headroom_prices).");

    for (k = 0; k < NGX_HTTP_HEADROOM_MODES; k++) {
        p = ngx_slprintf(p, last, "headroom_spend_usd_total{mode=\"%V\"} ",
                         &ngx_http_headroom_mode_names[k]);
        p = ngx_http_headroom_usd(p, last, s->sh.figures[k].spend.usd_nano);
        p = ngx_slprintf(p, last, "\n");
    }

    p = ngx_http_headroom_family(p, last, "headroom_transform_applied_total",
            "counter", "Times each transform changed a request: tool "
            "outputs for the crushers, requests for the prefix parts.");

    p = ngx_http_headroom_by_transform(p, last,
            "headroom_transform_applied_total", s,
            offsetof(ngx_http_headroom_figures_t, applied));

    p = ngx_http_headroom_family(p, last,
            "headroom_transform_tokens_saved_total", "counter",
            "Tokens each transform took out of tool outputs.");

    p = ngx_http_headroom_by_transform(p, last,
            "headroom_transform_tokens_saved_total", s,
            offsetof(ngx_http_headroom_figures_t, saved));

    p = ngx_http_headroom_family(p, last, "headroom_model_requests_total",
            "counter", "Bodies read, by model.");

    for (i = 0; i < s->nmodels; i++) {
        m = &s->models[i];
        mode = &ngx_http_headroom_mode_names[m->mode];
        p = ngx_slprintf(p, last, "headroom_model_requests_total{mode=\"%V\","
                         "model=\"%*s\"} %uL\n", mode, m->len, m->name,
                         m->requests);
    }

    p = ngx_http_headroom_family(p, last, "headroom_model_tokens_saved_total",
            "counter", "Tokens saved, by model.");

    for (i = 0; i < s->nmodels; i++) {
        m = &s->models[i];
        mode = &ngx_http_headroom_mode_names[m->mode];
        p = ngx_slprintf(p, last, "headroom_model_tokens_saved_total{"
                         "mode=\"%V\",model=\"%*s\"} %uL\n", mode, m->len,
                         m->name, m->tokens_before - m->tokens_after);
    }

    p = ngx_http_headroom_family(p, last, "headroom_model_saved_usd_total",
            "counter", "Estimated US dollars saved, by model.");

    for (i = 0; i < s->nmodels; i++) {
        m = &s->models[i];
        mode = &ngx_http_headroom_mode_names[m->mode];
        p = ngx_slprintf(p, last, "headroom_model_saved_usd_total{mode=\"%V\","
                         "model=\"%*s\"} ", mode, m->len, m->name);
        p = ngx_http_headroom_usd(p, last, m->usd_nano);
        p = ngx_slprintf(p, last, "\n");
    }

    p = ngx_http_headroom_family(p, last, "headroom_model_usage_tokens_total",
            "counter", "Tokens providers said calls used, by model.");

    for (i = 0; i < s->nmodels; i++) {
        m = &s->models[i];
        p = ngx_http_headroom_spend_prometheus(p, last,
                                               &ngx_http_headroom_mode_names[m->mode],
                                               m, &m->spend);
    }

    p = ngx_http_headroom_family(p, last, "headroom_model_spend_usd_total",
            "counter", "US dollars the calls cost, by model.");

    for (i = 0; i < s->nmodels; i++) {
        m = &s->models[i];
        mode = &ngx_http_headroom_mode_names[m->mode];
        p = ngx_slprintf(p, last, "headroom_model_spend_usd_total{mode=\"%V\","
                         "model=\"%*s\"} ", mode, m->len, m->name);
        p = ngx_http_headroom_usd(p, last, m->spend.usd_nano);
        p = ngx_slprintf(p, last, "\n");
    }

    p = ngx_http_headroom_family(p, last, "headroom_zone_full", "gauge",
            "1 once the zone had no room for another model; later models "
            "are counted as (other).");
    p = ngx_slprintf(p, last, "headroom_zone_full %ui\n", s->sh.full);

    p = ngx_http_headroom_family(p, last, "headroom_core_duration_seconds",
            "histogram", "Time headroom's core took over a request body.");

    cumulative = 0;

    for (i = 0; i < NGX_HTTP_HEADROOM_TIME_BOUNDS; i++) {
        cumulative += s->sh.time_buckets[i];
        p = ngx_slprintf(p, last, "headroom_core_duration_seconds_bucket{"
                         "le=\"%s\"} %uL\n", ngx_http_headroom_time_les[i],
                         cumulative);
    }

    cumulative += s->sh.time_buckets[NGX_HTTP_HEADROOM_TIME_BOUNDS];
    v = s->sh.time_sum_us;

    p = ngx_slprintf(p, last, "headroom_core_duration_seconds_bucket{"
                     "le=\"+Inf\"} %uL\n"
                     "headroom_core_duration_seconds_sum %uL.%06uL\n"
                     "headroom_core_duration_seconds_count %uL\n",
                     cumulative, v / 1000000, v % 1000000, cumulative);

    p = ngx_http_headroom_ccr_prometheus(p, last, s);

    return ngx_http_headroom_cache_prometheus(p, last, s);
}


static u_char *
ngx_http_headroom_ccr_prometheus(u_char *p, u_char *last,
    ngx_http_headroom_snapshot_t *s)
{
    ngx_uint_t                        w, k;
    ngx_http_headroom_ccr_figures_t  *f;

    if (s->ccr_zone == NULL) {
        return p;
    }

    f = &s->ccr;

    p = ngx_http_headroom_family(p, last, "headroom_ccr_stored_total",
            "counter", "Originals put in headroom_ccr_zone.");
    p = ngx_slprintf(p, last, "headroom_ccr_stored_total %uL\n",
                     f->store.stored);
    p = ngx_http_headroom_family(p, last, "headroom_ccr_stored_bytes_total",
            "counter", "Bytes of the originals put in headroom_ccr_zone.");
    p = ngx_slprintf(p, last, "headroom_ccr_stored_bytes_total %uL\n",
                     f->store.stored_bytes);
    p = ngx_http_headroom_family(p, last, "headroom_ccr_kept", "gauge",
            "Originals in headroom_ccr_zone now.");
    p = ngx_slprintf(p, last, "headroom_ccr_kept %uL\n", f->store.kept);
    p = ngx_http_headroom_family(p, last, "headroom_ccr_kept_bytes", "gauge",
            "Bytes of the originals in headroom_ccr_zone now.");
    p = ngx_slprintf(p, last, "headroom_ccr_kept_bytes %uL\n",
                     f->store.kept_bytes);
    p = ngx_http_headroom_family(p, last, "headroom_ccr_dropped_total",
            "counter", "Originals dropped from headroom_ccr_zone: evicted "
            "for room, expired, or too large to keep.");
    p = ngx_slprintf(p, last, "headroom_ccr_dropped_total{why=\"evicted\"} "
                     "%uL\nheadroom_ccr_dropped_total{why=\"expired\"} %uL\n"
                     "headroom_ccr_dropped_total{why=\"too_large\"} %uL\n",
                     f->store.evicted, f->store.expired, f->store.too_large);
    p = ngx_http_headroom_family(p, last, "headroom_ccr_retrievals_total",
            "counter", "Retrievals by way (fill, mcp, endpoint) and result.");

    for (w = 0; w < NGX_HTTP_HEADROOM_WAYS; w++) {
        for (k = 0; k < HEADROOM_STORE_STATES; k++) {
            p = ngx_slprintf(p, last, "headroom_ccr_retrievals_total{"
                             "way=\"%s\",result=\"%s\"} %uL\n",
                             ngx_http_headroom_ways[w],
                             ngx_http_headroom_store_states[k],
                             f->retrievals[w][k]);
        }
    }

    p = ngx_http_headroom_family(p, last, "headroom_ccr_redis_total",
            "counter", "headroom_redis: writes, reads, hits, errors.");

    for (k = 0; k < NGX_HTTP_HEADROOM_REDIS_FIGURES; k++) {
        p = ngx_slprintf(p, last, "headroom_ccr_redis_total{op=\"%s\"} %uL\n",
                         ngx_http_headroom_redis_figures[k], f->redis[k]);
    }

    return p;
}


/* ,"cache":{...}: the results' cache, when there is one */

static u_char *
ngx_http_headroom_cache_json(u_char *p, u_char *last,
    ngx_http_headroom_snapshot_t *s)
{
    ngx_http_headroom_cache_figures_t  *f;

    if (s->cache_zone == NULL) {
        return p;
    }

    f = &s->cache;

    return ngx_slprintf(p, last, ",\"cache\":{\"zone\":\"%V\",\"hits\":%uL,"
                        "\"misses\":%uL,\"stored\":%uL,\"kept\":%uL,"
                        "\"kept_bytes\":%uL,\"evicted\":%uL,"
                        "\"too_large\":%uL}", s->cache_zone, f->hits,
                        f->misses, f->store.stored, f->store.kept,
                        f->store.kept_bytes, f->store.evicted,
                        f->store.too_large);
}


static u_char *
ngx_http_headroom_cache_prometheus(u_char *p, u_char *last,
    ngx_http_headroom_snapshot_t *s)
{
    ngx_http_headroom_cache_figures_t  *f;

    if (s->cache_zone == NULL) {
        return p;
    }

    f = &s->cache;

    p = ngx_http_headroom_family(p, last, "headroom_cache_lookups_total",
            "counter", "Tool outputs looked up in headroom_cache_zone, by "
            "result.");
    p = ngx_slprintf(p, last, "headroom_cache_lookups_total{result=\"hit\"} "
                     "%uL\nheadroom_cache_lookups_total{result=\"miss\"} "
                     "%uL\n", f->hits, f->misses);
    p = ngx_http_headroom_family(p, last, "headroom_cache_kept", "gauge",
            "Results in headroom_cache_zone now.");
    p = ngx_slprintf(p, last, "headroom_cache_kept %uL\n", f->store.kept);
    p = ngx_http_headroom_family(p, last, "headroom_cache_kept_bytes",
            "gauge", "Bytes of the results in headroom_cache_zone now.");
    p = ngx_slprintf(p, last, "headroom_cache_kept_bytes %uL\n",
                     f->store.kept_bytes);
    p = ngx_http_headroom_family(p, last, "headroom_cache_dropped_total",
            "counter", "Results dropped from headroom_cache_zone (evicted "
            "for room) or not kept (too large).");

    return ngx_slprintf(p, last,
                        "headroom_cache_dropped_total{why=\"evicted\"} %uL\n"
                        "headroom_cache_dropped_total{why=\"too_large\"} %uL\n",
                        f->store.evicted, f->store.too_large);
}


/* a figure's series by mode and stage: its fields at `before` and `after` */

static u_char *
ngx_http_headroom_by_stage(u_char *p, u_char *last, char *name,
    ngx_http_headroom_snapshot_t *s, size_t before, size_t after)
{
    u_char      *f;
    ngx_uint_t   k, st;

    for (k = 0; k < NGX_HTTP_HEADROOM_MODES; k++) {
        f = (u_char *) &s->sh.figures[k];

        for (st = 0; st < 2; st++) {
            p = ngx_slprintf(p, last, "%s{mode=\"%V\",stage=\"%s\"} %uL\n",
                             name, &ngx_http_headroom_mode_names[k],
                             ngx_http_headroom_stages[st],
                             *(uint64_t *) (f + (st ? after : before)));
        }
    }

    return p;
}


/* a figure's series by mode and transform: its array at `offset` */

static u_char *
ngx_http_headroom_by_transform(u_char *p, u_char *last, char *name,
    ngx_http_headroom_snapshot_t *s, size_t offset)
{
    uint64_t    *v;
    ngx_uint_t   k, t;

    for (k = 0; k < NGX_HTTP_HEADROOM_MODES; k++) {
        v = (uint64_t *) ((u_char *) &s->sh.figures[k] + offset);

        for (t = 0; t < HEADROOM_TRANSFORMS; t++) {
            p = ngx_slprintf(p, last, "%s{mode=\"%V\",transform=\"%s\"} "
                             "%uL\n", name, &ngx_http_headroom_mode_names[k],
                             headroom_transform_name(t), v[t]);
        }
    }

    return p;
}


static u_char *
ngx_http_headroom_usd(u_char *p, u_char *last, uint64_t usd_nano)
{
    return ngx_slprintf(p, last, "%uL.%09uL", usd_nano / 1000000000,
                        usd_nano % 1000000000);
}


/* ,"spend":{...}: what providers said, beside what headroom saved */

static u_char *
ngx_http_headroom_spend_json(u_char *p, u_char *last,
    ngx_http_headroom_spend_t *spend)
{
    p = ngx_slprintf(p, last,
                     ",\"spend\":{\"calls\":%uL,\"input_tokens\":%uL,"
                     "\"cached_tokens\":%uL,\"cache_write_tokens\":%uL,"
                     "\"output_tokens\":%uL,\"unpriced_calls\":%uL,"
                     "\"estimated_calls\":%uL,\"usd\":",
                     spend->calls, spend->input, spend->cached,
                     spend->cache_write, spend->output, spend->unpriced,
                     spend->estimated);
    p = ngx_http_headroom_usd(p, last, spend->usd_nano);

    return ngx_slprintf(p, last, "}");
}


/* one line per kind of token, of a mode, or of a model (m) in a mode */

static u_char *
ngx_http_headroom_spend_prometheus(u_char *p, u_char *last, ngx_str_t *mode,
    ngx_http_headroom_model_t *m, ngx_http_headroom_spend_t *spend)
{
    ngx_uint_t  i;
    uint64_t    n[4];

    static const char  *kinds[4] = {
        "input", "cached", "cache_write", "output"
    };

    n[0] = spend->input;
    n[1] = spend->cached;
    n[2] = spend->cache_write;
    n[3] = spend->output;

    for (i = 0; i < 4; i++) {
        if (m) {
            p = ngx_slprintf(p, last, "headroom_model_usage_tokens_total{"
                             "mode=\"%V\",model=\"%*s\",kind=\"%s\"} %uL\n",
                             mode, m->len, m->name, kinds[i], n[i]);

        } else {
            p = ngx_slprintf(p, last, "headroom_usage_tokens_total{"
                             "mode=\"%V\",kind=\"%s\"} %uL\n",
                             mode, kinds[i], n[i]);
        }
    }

    return p;
}
