
/*
 * headroom: budgets. headroom_budget zone=NAME:SIZE key=$variable
 * limit=USD per=hour|day|month: what the calls of each key cost in the
 * current UTC period (the provider's usage at headroom_prices, counted
 * when an answer has passed), kept in a zone the way limit_req keeps its
 * states (ngx_http_headroom_lru). The call during which the spend crosses
 * the limit is served; every later one of the key, until the period ends,
 * is answered 429 in its API's error shape, with Retry-After to the
 * period's end, and never reaches the upstream.
 */


#include "ngx_http_headroom_ccr.h"
#include "ngx_http_headroom_lru.h"


#define NGX_HTTP_HEADROOM_PER_HOUR   0
#define NGX_HTTP_HEADROOM_PER_DAY    1
#define NGX_HTTP_HEADROOM_PER_MONTH  2

#define NGX_HTTP_HEADROOM_BUDGET_ANSWER_LEN  512


/* Redis is asked about a key at most this often by a node (ms) */
#define NGX_HTTP_HEADROOM_BUDGET_ASK       1000
#define NGX_HTTP_HEADROOM_BUDGET_REDIS_KEY 512


/* a key's spend, in the zone */
typedef struct {
    time_t                         period;      /* its start, UTC */
    uint64_t                       usd_nano;    /* spent in it, here */
    uint64_t                       shared_nano; /* by all nodes: Redis's word */
    uint64_t                       calls;       /* answers counted in it */
    uint64_t                       refused;     /* 429s in it */
    ngx_uint_t                     per;         /* hour, day, month */
    ngx_msec_t                     asked;       /* Redis last asked, or 0 */
} ngx_http_headroom_budget_state_t;


/* the zone's shared context: the map, and how Redis has been */
typedef struct {
    ngx_http_headroom_lru_sh_t     lru;
    uint64_t                       redis_replies;
    uint64_t                       redis_errors;
    ngx_uint_t                     redis_used;   /* a budget with redis=on */
    ngx_uint_t                     redis_up;     /* its last word came */
} ngx_http_headroom_budget_sh_t;


/* a question to Redis about a key, until its answer comes */
typedef struct {
    ngx_shm_zone_t                *zone;
    u_char                         key[NGX_HTTP_HEADROOM_LRU_KEY_LEN];
    time_t                         period;
} ngx_http_headroom_budget_ask_t;


static ngx_str_t  ngx_http_headroom_pers[] = {
    ngx_string("hour"),
    ngx_string("day"),
    ngx_string("month"),
    ngx_null_string
};


static time_t ngx_http_headroom_period(ngx_uint_t per, time_t now,
    time_t *end);
static ngx_http_headroom_budget_state_t *ngx_http_headroom_budget_state(
    ngx_http_request_t *r, ngx_http_headroom_budget_t *b, ngx_uint_t make,
    u_char *key, time_t *end, ngx_int_t *rc);
static ngx_int_t ngx_http_headroom_budget_key(ngx_http_request_t *r,
    ngx_http_headroom_budget_t *b, u_char *key);
static ngx_int_t ngx_http_headroom_budget_answer(ngx_http_request_t *r,
    ngx_http_headroom_budget_t *b, time_t renews);
static void ngx_http_headroom_budget_redis(ngx_http_request_t *r,
    ngx_http_headroom_budget_t *b, u_char *key, time_t period, time_t end,
    uint64_t nano);
static void ngx_http_headroom_budget_told(void *data, ngx_int_t rc,
    u_char *value, size_t len);


static ngx_uint_t  ngx_http_headroom_budget_tag;


/* headroom_budget zone=NAME:SIZE key=$variable limit=USD per=...; */

char *
ngx_http_headroom_budget(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_loc_conf_t *hlcf = conf;

    u_char                            *colon;
    ngx_str_t                         *value, name, size, s;
    ngx_int_t                          usd;
    ngx_uint_t                         i, k;
    ngx_shm_zone_t                   **zone;
    ngx_http_headroom_budget_t        *b;
    ngx_http_headroom_main_conf_t     *hmcf;
    ngx_http_compile_complex_value_t   ccv;

    if (hlcf->budgets == NGX_CONF_UNSET_PTR) {
        hlcf->budgets = ngx_array_create(cf->pool, 1,
                                         sizeof(ngx_http_headroom_budget_t));
        if (hlcf->budgets == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    b = ngx_array_push(hlcf->budgets);
    if (b == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(b, sizeof(ngx_http_headroom_budget_t));
    b->per = NGX_CONF_UNSET_UINT;

    value = cf->args->elts;
    ngx_str_null(&name);
    ngx_str_null(&size);

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;
            colon = (u_char *) ngx_strchr(name.data, ':');

            if (colon == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"headroom_budget\" takes "
                                   "\"zone=NAME:SIZE\", not \"%V\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            name.len = colon - name.data;
            size.data = colon + 1;
            size.len = value[i].data + value[i].len - size.data;

            /* the name goes into JSON answers and the status output */

            for (k = 0; k < name.len; k++) {
                if (!(isalnum(name.data[k]) || name.data[k] == '_'
                      || name.data[k] == '-' || name.data[k] == '.'))
                {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "\"headroom_budget\" takes a zone "
                                       "name of letters, digits, \"_\", "
                                       "\"-\" and \".\", not \"%V\"", &name);
                    return NGX_CONF_ERROR;
                }
            }

            if (name.len > 64) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"headroom_budget\" takes a zone name of "
                                   "64 characters at most");
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "key=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
            ccv.cf = cf;
            ccv.value = &s;
            ccv.complex_value = &b->key;

            if (s.len == 0 || ngx_http_compile_complex_value(&ccv) != NGX_OK) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"headroom_budget\" has an invalid "
                                   "\"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "limit=", 6) == 0) {
            usd = ngx_atofp(value[i].data + 6, value[i].len - 6, 9);

            if (usd == NGX_ERROR || usd == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"headroom_budget\" takes a limit in "
                                   "USD above 0 (up to nine decimals), not "
                                   "\"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            b->limit_nano = (uint64_t) usd;
            continue;
        }

        if (ngx_strncmp(value[i].data, "per=", 4) == 0) {
            for (k = 0; ngx_http_headroom_pers[k].len; k++) {
                if (value[i].len - 4 == ngx_http_headroom_pers[k].len
                    && ngx_strncmp(value[i].data + 4,
                                   ngx_http_headroom_pers[k].data,
                                   ngx_http_headroom_pers[k].len) == 0)
                {
                    b->per = k;
                }
            }

            if (b->per == NGX_CONF_UNSET_UINT) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"headroom_budget\" takes "
                                   "\"per=hour\", \"per=day\" or "
                                   "\"per=month\", not \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "redis=on") == 0) {
            b->redis = 1;
            hmcf = ngx_http_conf_get_module_main_conf(cf,
                                                      ngx_http_headroom_module);
            hmcf->budget_redis = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "redis=off") == 0) {
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_budget\" does not take \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.data == NULL || b->key.value.data == NULL || b->limit_nano == 0
        || b->per == NGX_CONF_UNSET_UINT)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_budget\" needs zone=NAME:SIZE, "
                           "key=$variable, limit=USD and per=hour|day|month");
        return NGX_CONF_ERROR;
    }

    /* several budgets may count in one zone: the first declares it */

    b->shm_zone = ngx_shared_memory_add(cf, &name, 0,
                                        &ngx_http_headroom_budget_tag);
    if (b->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (b->shm_zone->data == NULL) {
        b->shm_zone = ngx_http_headroom_lru_zone(cf, "headroom_budget", &name,
                                      &size, &ngx_http_headroom_budget_tag,
                                      sizeof(ngx_http_headroom_budget_sh_t), 0);
        if (b->shm_zone == NULL) {
            return NGX_CONF_ERROR;
        }

        hmcf = ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_headroom_module);

        if (hmcf->budget_zones == NULL) {
            hmcf->budget_zones = ngx_array_create(cf->pool, 1,
                                                  sizeof(ngx_shm_zone_t *));
            if (hmcf->budget_zones == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        zone = ngx_array_push(hmcf->budget_zones);
        if (zone == NULL) {
            return NGX_CONF_ERROR;
        }

        *zone = b->shm_zone;
    }

    return NGX_CONF_OK;
}


/*
 * Before access (the preaccess phase, as limit_req): a key whose spend
 * reached its limit in the current period is answered 429 here, and the
 * request goes no further.
 */

ngx_int_t
ngx_http_headroom_budget_check(ngx_http_request_t *r)
{
    time_t                             end, period;
    uint64_t                           spent;
    ngx_int_t                          rc;
    ngx_uint_t                         i, ask;
    ngx_http_headroom_budget_t        *b;
    ngx_http_headroom_lru_zone_t      *lru;
    ngx_http_headroom_loc_conf_t      *hlcf;
    ngx_http_headroom_budget_state_t  *st;
    u_char                             key[NGX_HTTP_HEADROOM_LRU_KEY_LEN];

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);

    if (r != r->main || hlcf->budgets == NULL || !hlcf->enable) {
        return NGX_DECLINED;
    }

    b = hlcf->budgets->elts;

    for (i = 0; i < hlcf->budgets->nelts; i++) {

        /* with Redis, a key this node has not served is asked about too */

        st = ngx_http_headroom_budget_state(r, &b[i], b[i].redis, key, &end,
                                            &rc);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (st == NULL) {
            continue;
        }

        lru = b[i].shm_zone->data;
        spent = ngx_max(st->usd_nano, st->shared_nano);

        /*
         * What the other nodes spent comes back from Redis while this
         * request goes on: the next one of the key reads it.
         */

        ask = b[i].redis
              && (st->asked == 0
                  || ngx_current_msec - st->asked
                     >= NGX_HTTP_HEADROOM_BUDGET_ASK);

        if (ask) {
            st->asked = ngx_current_msec;
            period = st->period;
        }

        if (spent < b[i].limit_nano) {
            ngx_shmtx_unlock(&lru->shpool->mutex);

            if (ask) {
                ngx_http_headroom_budget_redis(r, &b[i], key, period, end, 0);
            }

            continue;
        }

        st->refused++;
        ngx_shmtx_unlock(&lru->shpool->mutex);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "headroom: budget \"%V\" spent (%uL.%09uL of "
                      "%uL.%09uL USD this %V): 429",
                      &b[i].shm_zone->shm.name,
                      spent / 1000000000, spent % 1000000000,
                      b[i].limit_nano / 1000000000,
                      b[i].limit_nano % 1000000000,
                      &ngx_http_headroom_pers[b[i].per]);

        rc = ngx_http_headroom_budget_answer(r, &b[i], end - ngx_time());
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    return NGX_DECLINED;
}


/* Counts what an answered call cost against each budget of its location. */

void
ngx_http_headroom_budget_spend(ngx_http_request_t *r, double usd)
{
    time_t                             end, period;
    uint64_t                           nano;
    ngx_int_t                          rc;
    u_char                             key[NGX_HTTP_HEADROOM_LRU_KEY_LEN];
    ngx_uint_t                         i, k;
    ngx_http_headroom_budget_t        *b;
    ngx_http_headroom_lru_zone_t      *lru;
    ngx_http_headroom_loc_conf_t      *hlcf;
    ngx_http_headroom_budget_state_t  *st;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_headroom_module);

    if (hlcf->budgets == NULL) {
        return;
    }

    b = hlcf->budgets->elts;

    for (i = 0; i < hlcf->budgets->nelts; i++) {

        /* two budgets of one zone and period count a call once */

        for (k = 0; k < i; k++) {
            if (b[k].shm_zone == b[i].shm_zone && b[k].per == b[i].per) {
                break;
            }
        }

        if (k < i) {
            continue;
        }

        st = ngx_http_headroom_budget_state(r, &b[i], 1, key, &end, &rc);

        if (st == NULL) {
            continue;
        }

        st->calls++;

        /* whatever an upstream says: at most a billion USD a call */

        nano = 0;

        if (usd > 0) {
            nano = (uint64_t) (ngx_min(usd, 1e9) * 1e9 + 0.5);
            st->usd_nano += nano;
        }

        period = st->period;

        lru = b[i].shm_zone->data;
        ngx_shmtx_unlock(&lru->shpool->mutex);

        /* one atomic increment a call; its reply is all nodes' spend */

        if (b[i].redis && nano) {
            ngx_http_headroom_budget_redis(r, &b[i], key, period, end, nano);
        }
    }
}


/*
 * The state of the request's key in budget `b`, in the current period
 * (when `end`, the period's end, is), with the zone's lock held; the key
 * it is kept under (NGX_HTTP_HEADROOM_LRU_KEY_LEN bytes) in `key`. NULL,
 * the lock not held, for an empty key (rc NGX_DECLINED), a key without a
 * state when `make` is not set or no room for it, or an error (rc
 * NGX_ERROR).
 */

static ngx_http_headroom_budget_state_t *
ngx_http_headroom_budget_state(ngx_http_request_t *r,
    ngx_http_headroom_budget_t *b, ngx_uint_t make, u_char *key, time_t *end,
    ngx_int_t *rc)
{
    time_t                             start;
    ngx_http_headroom_lru_zone_t      *lru;
    ngx_http_headroom_lru_node_t      *ln;
    ngx_http_headroom_budget_state_t  *st;

    *rc = ngx_http_headroom_budget_key(r, b, key);

    if (*rc != NGX_OK) {
        return NULL;
    }

    start = ngx_http_headroom_period(b->per, ngx_time(), end);
    lru = b->shm_zone->data;

    ngx_shmtx_lock(&lru->shpool->mutex);

    ln = ngx_http_headroom_lru_find(lru, key);

    if (ln) {
        /* a key refused, too, stays: else it would be the first to go */
        ngx_http_headroom_lru_touch(lru, ln);

    } else if (make) {
        ln = ngx_http_headroom_lru_add(lru, key,
                                   sizeof(ngx_http_headroom_budget_state_t));
        if (ln == NULL) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "headroom: budget zone \"%V\" has no room for "
                          "a key: its spend is not counted",
                          &b->shm_zone->shm.name);
        } else {
            ngx_memzero(ln->data, sizeof(ngx_http_headroom_budget_state_t));
        }
    }

    if (ln == NULL) {
        ngx_shmtx_unlock(&lru->shpool->mutex);
        return NULL;
    }

    st = (ngx_http_headroom_budget_state_t *) ln->data;

    if (st->period != start) {
        ngx_memzero(st, sizeof(ngx_http_headroom_budget_state_t));
        st->period = start;
        st->per = b->per;
    }

    return st;
}


/*
 * PREFIX "budget:" ZONE ":" KEY ":" PERIOD: INCRBY by what a call cost
 * (nano > 0), with EXPIREAT a day past the period's end, or GET; either
 * way the reply, all nodes' spend, is kept beside this node's own. Down
 * or slow, Redis changes nothing here: the local count decides.
 */

static void
ngx_http_headroom_budget_redis(ngx_http_request_t *r,
    ngx_http_headroom_budget_t *b, u_char *key, time_t period, time_t end,
    uint64_t nano)
{
    u_char                          *p, *last;
    u_char                           k[NGX_HTTP_HEADROOM_BUDGET_REDIS_KEY];
    u_char                           n[NGX_INT64_LEN], t[NGX_TIME_T_LEN];
    size_t                           lens[3];
    ngx_int_t                        rc;
    const char                      *argv[3];
    ngx_http_headroom_budget_sh_t   *sh;
    ngx_http_headroom_lru_zone_t    *lru;
    ngx_http_headroom_budget_ask_t  *ask;
    ngx_http_headroom_main_conf_t   *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_headroom_module);

    if (hmcf->redis == NULL) {
        return;
    }

    lru = b->shm_zone->data;
    sh = (ngx_http_headroom_budget_sh_t *) lru->sh;

    last = k + sizeof(k);
    p = ngx_http_headroom_redis_prefix(hmcf->redis, k, last);
    p = ngx_slprintf(p, last, "budget:%V:%*s:%T", &b->shm_zone->shm.name,
                     (size_t) NGX_HTTP_HEADROOM_LRU_KEY_LEN, key, period);

    ask = ngx_alloc(sizeof(ngx_http_headroom_budget_ask_t),
                    r->connection->log);

    if (ask) {
        ask->zone = b->shm_zone;
        ask->period = period;
        ngx_memcpy(ask->key, key, NGX_HTTP_HEADROOM_LRU_KEY_LEN);
    }

    argv[1] = (const char *) k;
    lens[1] = p - k;

    if (nano) {
        argv[0] = "INCRBY";
        lens[0] = 6;
        argv[2] = (const char *) n;
        lens[2] = ngx_sprintf(n, "%uL", nano) - n;

    } else {
        argv[0] = "GET";
        lens[0] = 3;
    }

    rc = NGX_ERROR;

    if (ask) {
        rc = ngx_http_headroom_redis_command(hmcf->redis,
                                             ngx_http_headroom_budget_told,
                                             ask, nano ? 3 : 2, argv, lens);
    }

    if (rc != NGX_OK) {
        ngx_free(ask);

        ngx_shmtx_lock(&lru->shpool->mutex);
        sh->redis_used = 1;
        sh->redis_errors++;
        sh->redis_up = 0;
        ngx_shmtx_unlock(&lru->shpool->mutex);

        return;
    }

    if (nano) {
        argv[0] = "EXPIREAT";
        lens[0] = 8;
        argv[2] = (const char *) t;
        lens[2] = ngx_sprintf(t, "%T", end + 86400) - t;

        (void) ngx_http_headroom_redis_command(hmcf->redis, NULL, NULL, 3,
                                               argv, lens);
    }
}


/* Redis's word on a key: all nodes' spend in the period asked about */

static void
ngx_http_headroom_budget_told(void *data, ngx_int_t rc, u_char *value,
    size_t len)
{
    ngx_http_headroom_budget_ask_t *ask = data;

    int64_t                            n;
    ngx_http_headroom_lru_zone_t      *lru;
    ngx_http_headroom_lru_node_t      *ln;
    ngx_http_headroom_budget_sh_t     *sh;
    ngx_http_headroom_budget_state_t  *st;

    lru = ask->zone->data;
    sh = (ngx_http_headroom_budget_sh_t *) lru->sh;

    n = -1;

    if (rc == NGX_OK) {
        n = (int64_t) ngx_atoof(value, len);
    }

    ngx_shmtx_lock(&lru->shpool->mutex);

    sh->redis_used = 1;

    if (rc == NGX_ERROR) {
        sh->redis_errors++;
        sh->redis_up = 0;

    } else {
        sh->redis_replies++;
        sh->redis_up = 1;
    }

    ln = (n > 0) ? ngx_http_headroom_lru_find(lru, ask->key) : NULL;

    if (ln) {
        st = (ngx_http_headroom_budget_state_t *) ln->data;

        if (st->period == ask->period && (uint64_t) n > st->shared_nano) {
            st->shared_nano = (uint64_t) n;
        }
    }

    ngx_shmtx_unlock(&lru->shpool->mutex);

    ngx_free(ask);
}


/* the zone's key of the request: SHA-256 of the key's value, as hex */

static ngx_int_t
ngx_http_headroom_budget_key(ngx_http_request_t *r,
    ngx_http_headroom_budget_t *b, u_char *key)
{
    u_char     *material;
    ngx_str_t   value, *per;
    char        hex[65];

    if (ngx_http_complex_value(r, &b->key, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    /* an empty key is not counted, as limit_req does */

    if (value.len == 0) {
        return NGX_DECLINED;
    }

    /* budgets of one period in one zone share a key's spend; of others not */

    per = &ngx_http_headroom_pers[b->per];

    material = ngx_pnalloc(r->pool, per->len + 1 + value.len);
    if (material == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(material, per->data, per->len), ":", 1);
    ngx_memcpy(material + per->len + 1, value.data, value.len);

    if (!headroom_sha256_hex(material, per->len + 1 + value.len, hex)) {
        return NGX_ERROR;
    }

    ngx_memcpy(key, hex, NGX_HTTP_HEADROOM_LRU_KEY_LEN);

    return NGX_OK;
}


/* the period `now` is in: its start, and in `end` the next one's */

static time_t
ngx_http_headroom_period(ngx_uint_t per, time_t now, time_t *end)
{
    time_t      day;
    ngx_tm_t    tm;
    ngx_uint_t  days, year, leap;

    static ngx_uint_t  month_days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (per == NGX_HTTP_HEADROOM_PER_HOUR) {
        *end = now - now % 3600 + 3600;
        return *end - 3600;
    }

    day = now - now % 86400;

    if (per == NGX_HTTP_HEADROOM_PER_DAY) {
        *end = day + 86400;
        return day;
    }

    ngx_gmtime(now, &tm);    /* ngx_tm_mon 1..12, ngx_tm_mday 1..31 */

    year = tm.ngx_tm_year;
    leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    days = month_days[tm.ngx_tm_mon - 1] + (tm.ngx_tm_mon == 2 && leap);

    day -= (time_t) (tm.ngx_tm_mday - 1) * 86400;
    *end = day + (time_t) days * 86400;

    return day;
}


/*
 * 429 in the error shape of the request's API, so that each official SDK
 * raises its rate-limit error; Retry-After to the period's end, and
 * x-should-retry: false (the SDKs would otherwise retry at once).
 */

static ngx_int_t
ngx_http_headroom_budget_answer(ngx_http_request_t *r,
    ngx_http_headroom_budget_t *b, time_t renews)
{
    u_char            *msg, *p;
    size_t             len;
    ngx_int_t          rc;
    ngx_buf_t         *buf;
    ngx_chain_t        out;
    const char        *api;
    ngx_table_elt_t   *h;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    msg = ngx_pnalloc(r->pool, NGX_HTTP_HEADROOM_BUDGET_ANSWER_LEN);
    buf = ngx_create_temp_buf(r->pool, 2 * NGX_HTTP_HEADROOM_BUDGET_ANSWER_LEN);

    if (msg == NULL || buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the zone's name is the operator's, checked by nginx -t: no quotes */

    p = ngx_snprintf(msg, NGX_HTTP_HEADROOM_BUDGET_ANSWER_LEN,
                     "headroom: the budget %V of this key is spent for "
                     "this %V (%uL.%09uL USD); it renews in %T seconds",
                     &b->shm_zone->shm.name, &ngx_http_headroom_pers[b->per],
                     b->limit_nano / 1000000000, b->limit_nano % 1000000000,
                     renews);
    len = p - msg;

    api = headroom_api_of_path((char *) r->uri.data, r->uri.len);

    if (api && ngx_strcmp(api, "anthropic_messages") == 0) {
        buf->last = ngx_sprintf(buf->last, "{\"type\":\"error\",\"error\":"
                                "{\"type\":\"rate_limit_error\","
                                "\"message\":\"%*s\"}}", len, msg);

    } else if (api && ngx_strcmp(api, "gemini") == 0) {
        buf->last = ngx_sprintf(buf->last, "{\"error\":{\"code\":429,"
                                "\"message\":\"%*s\","
                                "\"status\":\"RESOURCE_EXHAUSTED\"}}",
                                len, msg);

    } else {
        buf->last = ngx_sprintf(buf->last, "{\"error\":{\"message\":"
                                "\"%*s\",\"type\":\"requests\","
                                "\"param\":null,"
                                "\"code\":\"rate_limit_exceeded\"}}",
                                len, msg);
    }

    buf->last_buf = (r == r->main) ? 1 : 0;
    buf->last_in_chain = 1;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (h->value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    h->value.len = ngx_sprintf(h->value.data, "%T", renews) - h->value.data;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "x-should-retry");
    ngx_str_set(&h->value, "false");

    r->headers_out.status = NGX_HTTP_TOO_MANY_REQUESTS;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = buf->last - buf->pos;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = buf;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


#define NGX_HTTP_HEADROOM_BUDGET_TOP      10
#define NGX_HTTP_HEADROOM_BUDGET_KEY_OUT  192


size_t
ngx_http_headroom_budget_json_len(ngx_array_t *zones)
{
    return zones ? 32 + zones->nelts * (256 + NGX_HTTP_HEADROOM_BUDGET_TOP
                                        * NGX_HTTP_HEADROOM_BUDGET_KEY_OUT)
                 : 0;
}


/*
 * ,"budgets":[...]: each zone's keys in their current period, and the ten
 * that spent most (a key shows as the first 16 hex digits of the SHA-256
 * of its period and value: a budget keyed by a credential never shows it).
 */

u_char *
ngx_http_headroom_budget_json(u_char *p, u_char *last, ngx_array_t *zones)
{
    time_t                             now, end;
    uint64_t                           replies, errors, spent;
    ngx_uint_t                         i, k, n, nkeys, redis_used, redis_up;
    ngx_http_headroom_budget_sh_t     *sh;
    ngx_queue_t                       *q;
    ngx_shm_zone_t                   **zone;
    ngx_http_headroom_lru_zone_t      *lru;
    ngx_http_headroom_lru_node_t      *ln;
    ngx_http_headroom_budget_state_t  *st;

    struct {
        u_char                             key[16];
        ngx_http_headroom_budget_state_t   state;
    } top[NGX_HTTP_HEADROOM_BUDGET_TOP];

    if (zones == NULL) {
        return p;
    }

    p = ngx_slprintf(p, last, ",\"budgets\":[");
    zone = zones->elts;
    now = ngx_time();

    for (i = 0; i < zones->nelts; i++) {
        lru = zone[i]->data;
        n = 0;
        nkeys = 0;

        ngx_shmtx_lock(&lru->shpool->mutex);

        for (q = ngx_queue_head(&lru->sh->queue);
             q != ngx_queue_sentinel(&lru->sh->queue);
             q = ngx_queue_next(q))
        {
            ln = ngx_queue_data(q, ngx_http_headroom_lru_node_t, queue);
            st = (ngx_http_headroom_budget_state_t *) ln->data;

            /* a key of a period past is no figure of this one */

            if (st->period != ngx_http_headroom_period(st->per, now, &end)) {
                continue;
            }

            nkeys++;

            /* with Redis, the spend of all nodes as far as it is known */

            spent = ngx_max(st->usd_nano, st->shared_nano);

            /* into the top ten, kept by spend, most first */

            for (k = n; k > 0 && top[k - 1].state.usd_nano < spent; k--)
            {
                if (k < NGX_HTTP_HEADROOM_BUDGET_TOP) {
                    top[k] = top[k - 1];
                }
            }

            if (k < NGX_HTTP_HEADROOM_BUDGET_TOP) {
                ngx_memcpy(top[k].key, ln->key, 16);
                top[k].state = *st;
                top[k].state.usd_nano = spent;

                if (n < NGX_HTTP_HEADROOM_BUDGET_TOP) {
                    n++;
                }
            }
        }

        sh = (ngx_http_headroom_budget_sh_t *) lru->sh;
        redis_used = sh->redis_used;
        redis_up = sh->redis_up;
        replies = sh->redis_replies;
        errors = sh->redis_errors;

        ngx_shmtx_unlock(&lru->shpool->mutex);

        p = ngx_slprintf(p, last, "%s{\"zone\":\"%V\",\"keys\":%ui,",
                         i ? "," : "", &zone[i]->shm.name, nkeys);

        /* Redis down: the local count decides, and this says so */

        if (redis_used) {
            p = ngx_slprintf(p, last, "\"redis\":{\"up\":%s,"
                             "\"replies\":%uL,\"errors\":%uL},",
                             redis_up ? "true" : "false", replies, errors);
        }

        p = ngx_slprintf(p, last, "\"top\":[");

        for (k = 0; k < n; k++) {
            p = ngx_slprintf(p, last, "%s{\"key_sha256\":\"%*s\","
                             "\"per\":\"%V\",\"period_start\":%T,"
                             "\"usd\":%uL.%09uL,"
                             "\"calls\":%uL,\"refused\":%uL}",
                             k ? "," : "", (size_t) 16, top[k].key,
                             &ngx_http_headroom_pers[top[k].state.per],
                             top[k].state.period,
                             top[k].state.usd_nano / 1000000000,
                             top[k].state.usd_nano % 1000000000,
                             top[k].state.calls, top[k].state.refused);
        }

        p = ngx_slprintf(p, last, "]}");
    }

    return ngx_slprintf(p, last, "]");
}
