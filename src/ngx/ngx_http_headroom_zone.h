
/*
 * headroom: the shared-memory zone's layout, read by the status handler.
 */


#ifndef _NGX_HTTP_HEADROOM_ZONE_H_INCLUDED_
#define _NGX_HTTP_HEADROOM_ZONE_H_INCLUDED_


#include "ngx_http_headroom_module.h"


#define NGX_HTTP_HEADROOM_TIME_BOUNDS  11   /* and +Inf */
#define NGX_HTTP_HEADROOM_MODEL_LEN    64


/* what providers said calls used, and what that cost by headroom_prices */
typedef struct {
    uint64_t                       calls;         /* answers read */
    uint64_t                       input;         /* cached ones included */
    uint64_t                       cached;
    uint64_t                       cache_write;
    uint64_t                       output;
    uint64_t                       usd_nano;      /* of the priced calls */
    uint64_t                       unpriced;      /* calls without a price */
    uint64_t                       estimated;     /* calls headroom counted */
} ngx_http_headroom_spend_t;


/* what headroom did, or would have done, in one mode */
typedef struct {
    uint64_t                       requests;      /* bodies the core read */
    uint64_t                       bytes_before;
    uint64_t                       bytes_after;
    uint64_t                       tokens_before; /* in tool outputs */
    uint64_t                       tokens_after;
    uint64_t                       usd_nano;      /* saved, 1e-9 USD */
    uint64_t                       applied[HEADROOM_TRANSFORMS];
    uint64_t                       saved[HEADROOM_TRANSFORMS];
    ngx_http_headroom_spend_t      spend;
} ngx_http_headroom_figures_t;


/* bodies headroom read, by Content-Encoding */
typedef struct {
    uint64_t                       requests;
    uint64_t                       wire_bytes;    /* as they came */
    uint64_t                       decoded_bytes;
} ngx_http_headroom_coding_t;


typedef struct ngx_http_headroom_model_s  ngx_http_headroom_model_t;

struct ngx_http_headroom_model_s {
    ngx_http_headroom_model_t     *next;
    ngx_uint_t                     mode;
    uint64_t                       requests;
    uint64_t                       tokens_before;
    uint64_t                       tokens_after;
    uint64_t                       usd_nano;
    ngx_http_headroom_spend_t      spend;
    size_t                         len;
    u_char                         name[NGX_HTTP_HEADROOM_MODEL_LEN];
};


typedef struct {
    size_t                         layout;   /* its size, when made */
    ngx_atomic_t                   seen;
    uint64_t                       outcomes[NGX_HTTP_HEADROOM_OUTCOMES];
    uint64_t                       reasons[HEADROOM_REASONS];
    ngx_http_headroom_figures_t    figures[NGX_HTTP_HEADROOM_MODES];
    ngx_http_headroom_coding_t     codings[HEADROOM_ENCODINGS];
    uint64_t                       time_buckets[NGX_HTTP_HEADROOM_TIME_BOUNDS
                                                + 1];
    uint64_t                       time_sum_us;
    ngx_http_headroom_model_t     *models;
    ngx_http_headroom_model_t     *last_model;
    ngx_uint_t                     nmodels;
    /* models the zone had no room for, by mode */
    ngx_http_headroom_model_t      other[NGX_HTTP_HEADROOM_MODES];
    ngx_uint_t                     full;
} ngx_http_headroom_shctx_t;


extern const char  *ngx_http_headroom_outcome_names[NGX_HTTP_HEADROOM_OUTCOMES];
extern ngx_uint_t   ngx_http_headroom_time_bounds[NGX_HTTP_HEADROOM_TIME_BOUNDS];
extern const char  *ngx_http_headroom_time_les[NGX_HTTP_HEADROOM_TIME_BOUNDS];


#endif /* _NGX_HTTP_HEADROOM_ZONE_H_INCLUDED_ */
