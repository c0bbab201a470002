
/*
 * headroom: control per request, and what the client is told.
 *
 * X-Headroom-Mode and X-Headroom-Bypass are honoured where
 * headroom_client_control is on, and never reach the upstream.
 * headroom_response_headers tells the client the figures; simulate mode
 * answers it with the body headroom would have sent.
 */


#include "ngx_http_headroom_module.h"


#define NGX_HTTP_HEADROOM_STATUS_LEN  (sizeof("passthrough:") + 32)
#define NGX_HTTP_HEADROOM_NAMES_LEN   ((HEADROOM_TRANSFORMS + 1) * 20)


ngx_str_t  ngx_http_headroom_mode_names[] = {
    ngx_string("optimize"),
    ngx_string("audit"),
    ngx_string("simulate"),
    ngx_null_string
};


static ngx_table_elt_t *ngx_http_headroom_find_control(ngx_http_request_t *r,
    ngx_list_part_t **part, ngx_list_part_t **prev, ngx_uint_t *i);
static void ngx_http_headroom_apply(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_table_elt_t *h);
static ngx_int_t ngx_http_headroom_remove_header(ngx_http_request_t *r,
    ngx_list_part_t *prev, ngx_list_part_t *part, ngx_uint_t i);
static ngx_int_t ngx_http_headroom_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_headroom_add_figures(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_uint_t all);
static ngx_int_t ngx_http_headroom_add_header(ngx_http_request_t *r,
    char *key, ngx_str_t *value);
static ngx_int_t ngx_http_headroom_add_number(ngx_http_request_t *r,
    char *key, size_t n);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


ngx_int_t
ngx_http_headroom_control_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_headroom_header_filter;

    return NGX_OK;
}


/*
 * Sets ctx->mode, and ctx->outcome to bypass when the client asks for it,
 * and takes the control headers out of the request.
 */

ngx_int_t
ngx_http_headroom_take_control(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    ngx_uint_t                     i;
    ngx_table_elt_t               *h;
    ngx_list_part_t               *part, *prev;
    ngx_http_headroom_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);

    ctx->mode = hlcf->mode;

    for ( ;; ) {
        h = ngx_http_headroom_find_control(r, &part, &prev, &i);

        if (h == NULL) {
            return NGX_OK;
        }

        if (hlcf->client_control) {
            ngx_http_headroom_apply(r, ctx, h);

        } else {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "headroom: \"%V: %V\" ignored: "
                           "headroom_client_control is off",
                           &h->key, &h->value);
        }

        if (ngx_http_headroom_remove_header(r, prev, part, i) != NGX_OK) {
            return NGX_ERROR;
        }
    }
}


static ngx_table_elt_t *
ngx_http_headroom_find_control(ngx_http_request_t *r, ngx_list_part_t **partp,
    ngx_list_part_t **prevp, ngx_uint_t *ip)
{
    ngx_uint_t        i;
    ngx_table_elt_t  *h;
    ngx_list_part_t  *part, *prev;

    prev = NULL;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            prev = part;
            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len >= sizeof("X-Headroom-") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "X-Headroom-",
                               sizeof("X-Headroom-") - 1) == 0)
        {
            *partp = part;
            *prevp = prev;
            *ip = i;
            return &h[i];
        }
    }
}


static void
ngx_http_headroom_apply(ngx_http_request_t *r, ngx_http_headroom_ctx_t *ctx,
    ngx_table_elt_t *h)
{
    ngx_str_t   *name, *v;
    ngx_uint_t   m;

    v = &h->value;

    if (h->key.len == sizeof("X-Headroom-Mode") - 1
        && ngx_strncasecmp(h->key.data, (u_char *) "X-Headroom-Mode",
                           h->key.len) == 0)
    {
        for (m = 0; m < NGX_HTTP_HEADROOM_MODES; m++) {
            name = &ngx_http_headroom_mode_names[m];

            if (v->len == name->len
                && ngx_strncasecmp(v->data, name->data, v->len) == 0)
            {
                ctx->mode = m;
                return;
            }
        }

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "headroom: \"X-Headroom-Mode: %V\" ignored: it takes "
                      "optimize, audit or simulate", v);
        return;
    }

    if (h->key.len == sizeof("X-Headroom-Bypass") - 1
        && ngx_strncasecmp(h->key.data, (u_char *) "X-Headroom-Bypass",
                           h->key.len) == 0)
    {
        if ((v->len == 1 && v->data[0] == '1')
            || (v->len == 4 && ngx_strncasecmp(v->data, (u_char *) "true", 4)
                               == 0)
            || (v->len == 2 && ngx_strncasecmp(v->data, (u_char *) "on", 2)
                               == 0))
        {
            ctx->outcome = NGX_HTTP_HEADROOM_BYPASS;
            return;
        }

        if ((v->len == 1 && v->data[0] == '0')
            || (v->len == 5 && ngx_strncasecmp(v->data, (u_char *) "false", 5)
                               == 0)
            || (v->len == 3 && ngx_strncasecmp(v->data, (u_char *) "off", 3)
                               == 0))
        {
            return;
        }

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "headroom: \"X-Headroom-Bypass: %V\" ignored: it takes "
                      "1, true, on, 0, false or off", v);
        return;
    }

    /* any other X-Headroom-* is ours too, and goes no further */

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "headroom: unknown header \"%V\" removed", &h->key);
}


/*
 * Takes an element out of the request's header list without moving any
 * other: headers_in points into the list. The elements after it become a
 * part of their own; an emptied part is unlinked, but the first, which
 * readers skip when empty. The last part may then start inside its
 * allocation, so nalloc is set to make the next push open a new part.
 */

static ngx_int_t
ngx_http_headroom_remove_header(ngx_http_request_t *r, ngx_list_part_t *prev,
    ngx_list_part_t *part, ngx_uint_t i)
{
    void             *fresh;
    ngx_list_t       *list;
    ngx_list_part_t  *rest;
    ngx_table_elt_t  *h;

    list = &r->headers_in.headers;
    h = part->elts;

    /* allocated first: on failure, the list is as it was */

    rest = NULL;
    fresh = NULL;

    if (i + 1 < part->nelts) {
        rest = ngx_palloc(r->pool, sizeof(ngx_list_part_t));
        if (rest == NULL) {
            return NGX_ERROR;
        }

    } else if (prev == NULL && part->nelts == 1 && list->last == part) {
        fresh = ngx_palloc(r->pool, list->nalloc * list->size);
        if (fresh == NULL) {
            return NGX_ERROR;
        }
    }

    if (rest) {
        rest->elts = &h[i + 1];
        rest->nelts = part->nelts - i - 1;
        rest->next = part->next;

        part->next = rest;

        if (list->last == part) {
            list->last = rest;
        }
    }

    part->nelts = i;

    if (part->nelts == 0 && prev) {
        prev->next = part->next;

        if (list->last == part) {
            list->last = prev;
        }
    }

    if (list->last->nelts) {
        list->nalloc = list->last->nelts;

    } else {
        /* the first part, empty: a fresh allocation, as ngx_list_init's */
        list->last->elts = fresh;
    }

    return NGX_OK;
}


/* takes every request header `name` out, as remove_header does */

ngx_int_t
ngx_http_headroom_remove_headers(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_uint_t        i;
    ngx_table_elt_t  *h;
    ngx_list_part_t  *part, *prev;

    for ( ;; ) {
        prev = NULL;
        part = &r->headers_in.headers.part;
        h = part->elts;

        for (i = 0; /* void */; i++) {

            if (i >= part->nelts) {
                if (part->next == NULL) {
                    return NGX_OK;
                }

                prev = part;
                part = part->next;
                h = part->elts;
                i = 0;
            }

            if (h[i].key.len == name->len
                && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
            {
                break;
            }
        }

        if (ngx_http_headroom_remove_header(r, prev, part, i) != NGX_OK) {
            return NGX_ERROR;
        }
    }
}


/*
 * The first request header `name` whose value `test` holds true of (any
 * value when `test` is NULL), or NULL
 */

ngx_table_elt_t *
ngx_http_headroom_some_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_http_headroom_value_test_pt test)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0
            && h[i].key.len == name->len
            && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0
            && (test == NULL || test(&h[i].value)))
        {
            return &h[i];
        }
    }
}


/* simulate mode: the client gets the body headroom would have sent */

ngx_int_t
ngx_http_headroom_simulate(ngx_http_request_t *r, ngx_http_headroom_ctx_t *ctx)
{
    ngx_buf_t  *b;

    ctx->answered = 1;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->ran && ctx->outcome == NGX_HTTP_HEADROOM_OPTIMIZED) {
        b->pos = (u_char *) ctx->result.body;
        b->last = b->pos + ctx->result.body_len;

    } else if (ctx->state == NGX_HTTP_HEADROOM_DONE) {
        b->pos = ctx->data;
        b->last = ctx->data + ctx->len;

        /* the original, compressed as it came: say so */

        if (ctx->encoding != HEADROOM_ENCODING_IDENTITY) {
            r->headers_out.content_encoding = ngx_list_push(
                                                  &r->headers_out.headers);
            if (r->headers_out.content_encoding == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            r->headers_out.content_encoding->hash = 1;
            ngx_str_set(&r->headers_out.content_encoding->key,
                        "Content-Encoding");
            r->headers_out.content_encoding->value.data = (u_char *)
                                   headroom_encoding_name(ctx->encoding);
            r->headers_out.content_encoding->value.len =
                         ngx_strlen(r->headers_out.content_encoding->value.data);
        }
    }

    b->memory = (b->last != b->pos);

    ngx_str_set(&r->headers_out.content_type, "application/json");

    if (ngx_http_headroom_add_figures(r, ctx, 1) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_headroom_send(r, b);
}


/* a 200 of one buffer, of the content type already set */

ngx_int_t
ngx_http_headroom_send(ngx_http_request_t *r, ngx_buf_t *b)
{
    ngx_int_t    rc;
    ngx_chain_t  out;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_headroom_header_filter(ngx_http_request_t *r)
{
    ngx_http_headroom_ctx_t       *ctx;
    ngx_http_headroom_loc_conf_t  *hlcf;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_headroom_module);

    if (ctx == NULL || ctx->answered || !ctx->ran) {
        return ngx_http_next_header_filter(r);
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);

    if (hlcf->response_headers
        && ngx_http_headroom_add_figures(r, ctx, 0) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


/* the tokens; `all` adds what simulate mode tells */

static ngx_int_t
ngx_http_headroom_add_figures(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx, ngx_uint_t all)
{
    size_t     before, after;
    ngx_str_t  s;

    if (ctx->ran) {
        ngx_http_headroom_tokens(ctx, &before, &after);

        if (ngx_http_headroom_add_number(r, "X-Headroom-Tokens-Before", before)
            != NGX_OK
            || ngx_http_headroom_add_number(r, "X-Headroom-Tokens-After",
                                            after) != NGX_OK
            || ngx_http_headroom_add_number(r, "X-Headroom-Tokens-Saved",
                                            before - after) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (!all) {
        return NGX_OK;
    }

    s = ngx_http_headroom_status_text(r, ctx);

    if (s.len && ngx_http_headroom_add_header(r, "X-Headroom-Status", &s)
                 != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!ctx->ran) {
        return NGX_OK;
    }

    s = ngx_http_headroom_transforms_text(r, ctx);

    if (s.len
        && ngx_http_headroom_add_header(r, "X-Headroom-Transforms", &s)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_headroom_add_number(r, "X-Headroom-Time-Us",
                                        ctx->time_us);
}


static ngx_int_t
ngx_http_headroom_add_header(ngx_http_request_t *r, char *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;
    h->lowcase_key = NULL;

    return NGX_OK;
}


static ngx_int_t
ngx_http_headroom_add_number(ngx_http_request_t *r, char *key, size_t n)
{
    u_char     *p;
    ngx_str_t   v;

    p = ngx_pnalloc(r->pool, NGX_SIZE_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v.data = p;
    v.len = ngx_sprintf(p, "%uz", n) - p;

    return ngx_http_headroom_add_header(r, key, &v);
}


/*
 * Tokens of the tool outputs as received, and as sent (or, in audit and
 * simulate mode, as they would have been sent).
 */

void
ngx_http_headroom_tokens(ngx_http_headroom_ctx_t *ctx, size_t *before,
    size_t *after)
{
    *before = ctx->result.tokens_before;
    *after = ctx->outcome == NGX_HTTP_HEADROOM_OPTIMIZED
             ? ctx->result.tokens_after : ctx->result.tokens_before;

    if (*after > *before) {
        *after = *before;
    }
}


/*
 * optimized, audit, simulate, bypass, passthrough:REASON,
 * client_max_body_size, client_aborted; "" undecided
 */

ngx_str_t
ngx_http_headroom_status_text(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t   s;

    ngx_str_null(&s);

    switch (ctx->outcome) {

    case NGX_HTTP_HEADROOM_OPTIMIZED:
        if (ctx->mode == NGX_HTTP_HEADROOM_OPTIMIZE) {
            ngx_str_set(&s, "optimized");

        } else {
            s = ngx_http_headroom_mode_names[ctx->mode];
        }

        break;

    case NGX_HTTP_HEADROOM_BYPASS:
        ngx_str_set(&s, "bypass");
        break;

    case NGX_HTTP_HEADROOM_PASSTHROUGH:
    case NGX_HTTP_HEADROOM_FAILED:
        p = ngx_pnalloc(r->pool, NGX_HTTP_HEADROOM_STATUS_LEN);
        if (p == NULL) {
            break;
        }

        s.data = p;
        s.len = ngx_snprintf(p, NGX_HTTP_HEADROOM_STATUS_LEN,
                             "passthrough:%s",
                             headroom_reason_name(ctx->reason))
                - p;
        break;

    case NGX_HTTP_HEADROOM_CLIENT_MAX_BODY_SIZE:
        ngx_str_set(&s, "client_max_body_size");
        break;

    case NGX_HTTP_HEADROOM_CLIENT_ABORTED:
        ngx_str_set(&s, "client_aborted");
        break;
    }

    return s;
}


/*
 * "crush_json,move_volatile": what changed the body; "" if nothing did.
 * "fit_failed" too when the request was over its model's window and could
 * not be cut enough (sent without fitting, changed or not).
 */

ngx_str_t
ngx_http_headroom_transforms_text(ngx_http_request_t *r,
    ngx_http_headroom_ctx_t *ctx)
{
    u_char      *p, *last;
    ngx_str_t    s;
    ngx_uint_t   t;

    ngx_str_null(&s);

    if (!ctx->ran) {
        return s;
    }

    p = ngx_pnalloc(r->pool, NGX_HTTP_HEADROOM_NAMES_LEN);
    if (p == NULL) {
        return s;
    }

    s.data = p;
    last = p + NGX_HTTP_HEADROOM_NAMES_LEN;

    for (t = 0;
         ctx->outcome == NGX_HTTP_HEADROOM_OPTIMIZED && t < HEADROOM_TRANSFORMS;
         t++)
    {
        if (ctx->result.transforms[t].applied) {
            p = ngx_slprintf(p, last, "%s%s", p == s.data ? "" : ",",
                             headroom_transform_name(t));
        }
    }

    if (ctx->result.fit == HEADROOM_FIT_FAILED) {
        p = ngx_slprintf(p, last, "%sfit_failed", p == s.data ? "" : ",");
    }

    s.len = p - s.data;

    return s;
}
