
/*
 * headroom: the one Redis that gateway nodes share, reached without ever
 * blocking a worker. hiredis's async API on an nginx event adapter: each
 * worker keeps one connection, its commands pipelined on it. hiredis has
 * no timeouts of its own: a timer watches for replies that are overdue,
 * and disconnecting cancels them (their callbacks get no reply). Down,
 * slow or full, Redis costs a request nothing but the original's second
 * copy; a timer connects again.
 */


#include "ngx_http_headroom_ccr.h"

#include <hiredis/hiredis.h>
#include <hiredis/async.h>


#define NGX_HTTP_HEADROOM_REDIS_RETRY    1000    /* ms between attempts */
#define NGX_HTTP_HEADROOM_REDIS_BACKLOG  4096    /* replies due, at most */
#define NGX_HTTP_HEADROOM_REDIS_QUEUED   (64 * 1024 * 1024)  /* bytes unsent */
#define NGX_HTTP_HEADROOM_REDIS_KEY_LEN  256


struct ngx_http_headroom_redis_s {
    /* configuration */
    u_char                         *host;      /* numeric, or a path */
    int                             port;      /* 0: a unix socket */
    ngx_uint_t                      db;
    ngx_str_t                       password;
    ngx_str_t                       prefix;
    ngx_msec_t                      timeout;
    ngx_str_t                       name;      /* as written, for logs */
    ngx_shm_zone_t                 *zone;      /* the figures */

    /* this worker's connection */
    redisAsyncContext              *ac;
    ngx_connection_t               *conn;
    ngx_uint_t                      due;       /* replies */
    ngx_event_t                     retry;
    ngx_event_t                     overdue;
    ngx_log_t                      *log;
    unsigned                        connected:1;
    unsigned                        failing:1; /* said so in the log */
};


typedef struct {
    ngx_http_headroom_redis_t      *redis;
    ngx_http_headroom_redis_got_pt  handler;   /* NULL: a write */
    void                           *data;
    unsigned                        counted:1; /* in the originals' figures */
} ngx_http_headroom_redis_call_t;


/*
 * hiredis's own reply builders, wrapped: a reply nobody asked for (a
 * server out of step) is refused as a read error, and the connection
 * dropped, where hiredis itself would abort() the worker on an assertion.
 * Set once a process, from the first connection's.
 */
static redisReplyObjectFunctions   ngx_http_headroom_redis_fns;
static redisReplyObjectFunctions  *ngx_http_headroom_redis_own;


static void ngx_http_headroom_redis_connect(ngx_http_headroom_redis_t *redis);
static void ngx_http_headroom_redis_retry(ngx_event_t *ev);
static void ngx_http_headroom_redis_overdue(ngx_event_t *ev);
static void ngx_http_headroom_redis_read(ngx_event_t *ev);
static void ngx_http_headroom_redis_write(ngx_event_t *ev);
static void ngx_http_headroom_redis_add_read(void *data);
static void ngx_http_headroom_redis_del_read(void *data);
static void ngx_http_headroom_redis_add_write(void *data);
static void ngx_http_headroom_redis_del_write(void *data);
static void ngx_http_headroom_redis_cleanup(void *data);
static void ngx_http_headroom_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_http_headroom_redis_disconnected(const redisAsyncContext *ac,
    int status);
static void ngx_http_headroom_redis_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static ngx_int_t ngx_http_headroom_redis_send(
    ngx_http_headroom_redis_t *redis, ngx_http_headroom_redis_got_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen);
static ngx_int_t ngx_http_headroom_redis_sent(
    ngx_http_headroom_redis_t *redis, ngx_http_headroom_redis_got_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen,
    ngx_uint_t counted);
static size_t ngx_http_headroom_redis_key(ngx_http_headroom_redis_t *redis,
    u_char *key, u_char *buf);
static void ngx_http_headroom_redis_failed(ngx_http_headroom_redis_t *redis,
    const char *what);
static ngx_uint_t ngx_http_headroom_redis_asked(const redisReadTask *task);
static void *ngx_http_headroom_redis_string(const redisReadTask *task,
    char *str, size_t len);
static void *ngx_http_headroom_redis_array(const redisReadTask *task,
    int elements);
static void *ngx_http_headroom_redis_integer(const redisReadTask *task,
    long long value);
static void *ngx_http_headroom_redis_nil(const redisReadTask *task);


/*
 * headroom_redis ADDRESS [db=N] [password=SECRET] [prefix=TEXT]
 *     [timeout=TIME]
 */

char *
ngx_http_headroom_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_headroom_main_conf_t *hmcf = conf;

    u_char                     *p;
    ngx_str_t                  *value, s;
    ngx_int_t                   n;
    ngx_url_t                   u;
    ngx_uint_t                  i, k, len;
    ngx_http_headroom_redis_t  *redis;

    if (hmcf->redis) {
        return "is duplicate";
    }

    value = cf->args->elts;

    redis = ngx_pcalloc(cf->pool, sizeof(ngx_http_headroom_redis_t));
    if (redis == NULL) {
        return NGX_CONF_ERROR;
    }

    redis->timeout = 1000;
    ngx_str_set(&redis->prefix, "headroom:");
    redis->name = value[1];

    for (i = 2; i < cf->args->nelts; i++) {

        /* each option once */

        for (len = 0; len < value[i].len && value[i].data[len] != '='; len++)
        {
            /* void */
        }

        for (k = 2; k < i; k++) {
            if (value[k].len > len && value[k].data[len] == '='
                && ngx_strncmp(value[k].data, value[i].data, len) == 0)
            {
                goto invalid;
            }
        }

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            n = ngx_atoi(value[i].data + 3, value[i].len - 3);

            if (n == NGX_ERROR) {
                goto invalid;
            }

            redis->db = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "password=", 9) == 0) {
            redis->password.data = value[i].data + 9;
            redis->password.len = value[i].len - 9;
            continue;
        }

        if (ngx_strncmp(value[i].data, "prefix=", 7) == 0) {
            redis->prefix.data = value[i].data + 7;
            redis->prefix.len = value[i].len - 7;

            if (redis->prefix.len > 64) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            redis->timeout = ngx_parse_time(&s, 0);

            if (redis->timeout == (ngx_msec_t) NGX_ERROR
                || redis->timeout == 0)
            {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    /* resolved now: hiredis would resolve a name blocking the worker */

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];
    u.default_port = 6379;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_redis\" has an invalid address "
                           "\"%V\": %s", &value[1],
                           u.err ? u.err : "cannot be resolved");
        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"headroom_redis\" address \"%V\" has no "
                           "address", &value[1]);
        return NGX_CONF_ERROR;
    }

    redis->host = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (redis->host == NULL) {
        return NGX_CONF_ERROR;
    }

    if (u.family == AF_UNIX) {
        p = ngx_cpymem(redis->host, u.host.data, u.host.len);
        redis->port = 0;

    } else {
        p = redis->host + ngx_sock_ntop(u.addrs[0].sockaddr,
                                        u.addrs[0].socklen, redis->host,
                                        NGX_SOCKADDR_STRLEN, 0);
        redis->port = ngx_inet_get_port(u.addrs[0].sockaddr);
    }

    *p = '\0';

    hmcf->redis = redis;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"headroom_redis\" takes ADDRESS [db=N] "
                       "[password=SECRET] [prefix=TEXT] [timeout=TIME], "
                       "not \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


/* each worker connects on its own */

ngx_int_t
ngx_http_headroom_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_http_headroom_redis_t      *redis;
    ngx_http_headroom_main_conf_t  *hmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    hmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_headroom_module);

    if (hmcf == NULL || hmcf->redis == NULL) {
        return NGX_OK;
    }

    redis = hmcf->redis;
    redis->zone = hmcf->ccr_zone;
    redis->log = cycle->log;

    redis->retry.handler = ngx_http_headroom_redis_retry;
    redis->retry.data = redis;
    redis->retry.log = cycle->log;
    redis->retry.cancelable = 1;

    redis->overdue.handler = ngx_http_headroom_redis_overdue;
    redis->overdue.data = redis;
    redis->overdue.log = cycle->log;
    redis->overdue.cancelable = 1;

    ngx_http_headroom_redis_connect(redis);

    return NGX_OK;
}


/* before nginx counts the sockets left open: ours goes, replies due fail */

void
ngx_http_headroom_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_headroom_redis_t      *redis;
    ngx_http_headroom_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_headroom_module);

    if (hmcf == NULL || hmcf->redis == NULL) {
        return;
    }

    redis = hmcf->redis;

    if (redis->ac) {
        redisAsyncFree(redis->ac);
    }

    /* set before, or by the cleanup hook just now */

    if (redis->retry.timer_set) {
        ngx_del_timer(&redis->retry);
    }
}


ngx_msec_t
ngx_http_headroom_redis_timeout(ngx_http_headroom_redis_t *redis)
{
    return redis->timeout;
}


static void
ngx_http_headroom_redis_connect(ngx_http_headroom_redis_t *redis)
{
    size_t              len[2];
    const char         *argv[2];
    redisAsyncContext  *ac;
    ngx_connection_t   *c;
    u_char              db[NGX_INT_T_LEN];

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ac = redis->port ? redisAsyncConnect((char *) redis->host, redis->port)
                     : redisAsyncConnectUnix((char *) redis->host);

    if (ac == NULL || ac->err) {
        ngx_http_headroom_redis_failed(redis, ac ? ac->errstr : "no memory");

        if (ac) {
            redisAsyncFree(ac);
        }

        ngx_add_timer(&redis->retry, NGX_HTTP_HEADROOM_REDIS_RETRY);
        return;
    }

    c = ngx_get_connection(ac->c.fd, redis->log);

    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_add_timer(&redis->retry, NGX_HTTP_HEADROOM_REDIS_RETRY);
        return;
    }

    if (ngx_http_headroom_redis_own == NULL) {
        ngx_http_headroom_redis_own = ac->c.reader->fn;
        ngx_http_headroom_redis_fns.createString =
                                               ngx_http_headroom_redis_string;
        ngx_http_headroom_redis_fns.createArray =
                                               ngx_http_headroom_redis_array;
        ngx_http_headroom_redis_fns.createInteger =
                                             ngx_http_headroom_redis_integer;
        ngx_http_headroom_redis_fns.createNil = ngx_http_headroom_redis_nil;
        ngx_http_headroom_redis_fns.freeObject =
                                     ngx_http_headroom_redis_own->freeObject;
    }

    ac->c.reader->fn = &ngx_http_headroom_redis_fns;
    ac->c.reader->privdata = redis;

    c->data = redis;
    c->read->handler = ngx_http_headroom_redis_read;
    c->write->handler = ngx_http_headroom_redis_write;
    c->read->log = redis->log;
    c->write->log = redis->log;

    redis->ac = ac;
    redis->conn = c;
    redis->due = 0;

    ac->data = redis;
    ac->ev.data = redis;
    ac->ev.addRead = ngx_http_headroom_redis_add_read;
    ac->ev.delRead = ngx_http_headroom_redis_del_read;
    ac->ev.addWrite = ngx_http_headroom_redis_add_write;
    ac->ev.delWrite = ngx_http_headroom_redis_del_write;
    ac->ev.cleanup = ngx_http_headroom_redis_cleanup;

    /* hooks first: setting the callback waits for the socket to be ready */

    (void) redisAsyncSetConnectCallback(ac, ngx_http_headroom_redis_connected);
    (void) redisAsyncSetDisconnectCallback(ac,
                                      ngx_http_headroom_redis_disconnected);

    /* queued until connected, then first on the wire */

    if (redis->password.len) {
        argv[0] = "AUTH";
        len[0] = 4;
        argv[1] = (const char *) redis->password.data;
        len[1] = redis->password.len;

        (void) ngx_http_headroom_redis_send(redis, NULL, NULL, 2, argv, len);
    }

    if (redis->db) {
        argv[0] = "SELECT";
        len[0] = 6;
        argv[1] = (const char *) db;
        len[1] = ngx_sprintf(db, "%ui", redis->db) - db;

        (void) ngx_http_headroom_redis_send(redis, NULL, NULL, 2, argv, len);
    }

    /* a connect that never completes is overdue too */

    if (!redis->overdue.timer_set) {
        ngx_add_timer(&redis->overdue, redis->timeout);
    }
}


static void
ngx_http_headroom_redis_retry(ngx_event_t *ev)
{
    ngx_http_headroom_redis_t  *redis = ev->data;

    if (redis->ac == NULL) {
        ngx_http_headroom_redis_connect(redis);
    }
}


/* replies overdue, or a connect: give up on them all, connect again */

static void
ngx_http_headroom_redis_overdue(ngx_event_t *ev)
{
    ngx_http_headroom_redis_t  *redis = ev->data;

    ngx_uint_t  due;

    if (redis->ac == NULL) {
        return;
    }

    /*
     * Timers can expire before the events that came with them are handled
     * (posted events, or a worker busy in a long request): replies that
     * are there already are not late.
     */

    if (redis->connected) {
        due = redis->due;

        redisAsyncHandleRead(redis->ac);

        if (redis->ac == NULL || redis->due < due) {
            return;
        }
    }

    ngx_http_headroom_redis_failed(redis, redis->connected
                                          ? "no reply in time"
                                          : "connect timed out");

    /* the callbacks run with no reply; the cleanup hook schedules a retry */

    redisAsyncFree(redis->ac);
}


static void
ngx_http_headroom_redis_read(ngx_event_t *ev)
{
    ngx_connection_t           *c = ev->data;
    ngx_http_headroom_redis_t  *redis = c->data;

    redisReader  *reader;

    if (redis->ac == NULL) {
        return;
    }

    /*
     * hiredis keeps reading a reply until it is whole, whatever length it
     * announced: no reply headroom asks for is larger than this
     */

    reader = redis->ac->c.reader;

    if (reader && reader->len - reader->pos > NGX_HTTP_HEADROOM_REDIS_QUEUED) {
        ngx_http_headroom_redis_failed(redis, "a reply too large");
        redisAsyncFree(redis->ac);
        return;
    }

    redisAsyncHandleRead(redis->ac);
}


/* a reply (not a part of one) with no command waiting for it is refused */

static ngx_uint_t
ngx_http_headroom_redis_asked(const redisReadTask *task)
{
    ngx_http_headroom_redis_t  *redis = task->privdata;

    if (task->parent || redis == NULL || redis->due > 0) {
        return 1;
    }

    ngx_http_headroom_redis_failed(redis, "a reply nobody asked for");

    return 0;
}


static void *
ngx_http_headroom_redis_string(const redisReadTask *task, char *str,
    size_t len)
{
    return ngx_http_headroom_redis_asked(task)
           ? ngx_http_headroom_redis_own->createString(task, str, len) : NULL;
}


static void *
ngx_http_headroom_redis_array(const redisReadTask *task, int elements)
{
    return ngx_http_headroom_redis_asked(task)
           ? ngx_http_headroom_redis_own->createArray(task, elements) : NULL;
}


static void *
ngx_http_headroom_redis_integer(const redisReadTask *task, long long value)
{
    return ngx_http_headroom_redis_asked(task)
           ? ngx_http_headroom_redis_own->createInteger(task, value) : NULL;
}


static void *
ngx_http_headroom_redis_nil(const redisReadTask *task)
{
    return ngx_http_headroom_redis_asked(task)
           ? ngx_http_headroom_redis_own->createNil(task) : NULL;
}


static void
ngx_http_headroom_redis_write(ngx_event_t *ev)
{
    ngx_connection_t           *c = ev->data;
    ngx_http_headroom_redis_t  *redis = c->data;

    if (redis->ac) {
        redisAsyncHandleWrite(redis->ac);
    }
}


/*
 * hiredis reads once per event: level-triggered events call again while
 * bytes are waiting (nginx's own edge-triggered ones would not).
 */

static void
ngx_http_headroom_redis_add_read(void *data)
{
    ngx_http_headroom_redis_t  *redis = data;

    if (redis->conn && !redis->conn->read->active) {
        (void) ngx_add_event(redis->conn->read, NGX_READ_EVENT,
                             NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_headroom_redis_del_read(void *data)
{
    ngx_http_headroom_redis_t  *redis = data;

    if (redis->conn && redis->conn->read->active) {
        (void) ngx_del_event(redis->conn->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_headroom_redis_add_write(void *data)
{
    ngx_http_headroom_redis_t  *redis = data;

    if (redis->conn && !redis->conn->write->active) {
        (void) ngx_add_event(redis->conn->write, NGX_WRITE_EVENT,
                             NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_headroom_redis_del_write(void *data)
{
    ngx_http_headroom_redis_t  *redis = data;

    if (redis->conn && redis->conn->write->active) {
        (void) ngx_del_event(redis->conn->write, NGX_WRITE_EVENT, 0);
    }
}


/* hiredis lets go of the context (and closes the socket after this) */

static void
ngx_http_headroom_redis_cleanup(void *data)
{
    ngx_http_headroom_redis_t  *redis = data;

    ngx_connection_t  *c;

    c = redis->conn;

    if (c) {
        /* hiredis closes the socket next: that takes it out of epoll */

        if (c->read->active) {
            (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
        }

        if (c->write->active) {
            (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
        }

        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        /* as ngx_close_connection(): freed while its fd is still known */

        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
    }

    redis->conn = NULL;
    redis->ac = NULL;
    redis->connected = 0;
    redis->due = 0;

    if (redis->overdue.timer_set) {
        ngx_del_timer(&redis->overdue);
    }

    if (!redis->retry.timer_set && !ngx_exiting) {
        ngx_add_timer(&redis->retry, NGX_HTTP_HEADROOM_REDIS_RETRY);
    }
}


static void
ngx_http_headroom_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_http_headroom_redis_t  *redis = ac->data;

    if (status != REDIS_OK) {
        ngx_http_headroom_redis_failed(redis, ac->errstr);
        return;
    }

    redis->connected = 1;

    if (redis->failing) {
        redis->failing = 0;
        ngx_log_error(NGX_LOG_NOTICE, redis->log, 0,
                      "headroom_redis %V: connected again", &redis->name);
    }

    if (redis->due == 0 && redis->overdue.timer_set) {
        ngx_del_timer(&redis->overdue);
    }
}


static void
ngx_http_headroom_redis_disconnected(const redisAsyncContext *ac, int status)
{
    ngx_http_headroom_redis_t  *redis = ac->data;

    if (status != REDIS_OK) {
        ngx_http_headroom_redis_failed(redis, ac->errstr);
    }
}


/* said once until it works again; counted every time */

static void
ngx_http_headroom_redis_failed(ngx_http_headroom_redis_t *redis,
    const char *what)
{
    if (!redis->failing) {
        redis->failing = 1;
        ngx_log_error(NGX_LOG_WARN, redis->log, 0,
                      "headroom_redis %V: %s; until it comes back, "
                      "originals are kept in the zone only and budgets "
                      "count this node's spend", &redis->name,
                      what ? what : "error");
    }
}


static void
ngx_http_headroom_redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply                      *reply = r;
    ngx_http_headroom_redis_call_t  *call = privdata;

    u_char                      digits[NGX_INT64_LEN];
    ngx_str_t                   number;
    ngx_int_t                   rc;
    ngx_http_headroom_redis_t  *redis;

    redis = call->redis;

    ngx_str_null(&number);

    if (redis->due) {
        redis->due--;
    }

    if (redis->overdue.timer_set) {
        ngx_del_timer(&redis->overdue);
    }

    if (redis->due && redis->ac) {
        ngx_add_timer(&redis->overdue, redis->timeout);
    }

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (redis->zone && call->counted) {
            ngx_http_headroom_ccr_count_redis(redis->zone,
                                              NGX_HTTP_HEADROOM_REDIS_ERRORS);
        }

        if (reply) {
            ngx_log_error(NGX_LOG_WARN, redis->log, 0,
                          "headroom_redis %V: %*s", &redis->name,
                          (size_t) reply->len, reply->str);
        }

        rc = NGX_ERROR;

    } else if (reply->type == REDIS_REPLY_STRING) {
        rc = NGX_OK;

        if (call->handler && redis->zone && call->counted) {
            ngx_http_headroom_ccr_count_redis(redis->zone,
                                              NGX_HTTP_HEADROOM_REDIS_HITS);
        }

    } else if (reply->type == REDIS_REPLY_INTEGER) {
        /* INCRBY's total, as the text a GET would give */
        rc = NGX_OK;
        number.data = digits;
        number.len = ngx_sprintf(digits, "%L", (int64_t) reply->integer)
                     - digits;

    } else {
        rc = NGX_DECLINED;
    }

    if (call->handler) {
        if (reply && reply->type == REDIS_REPLY_INTEGER) {
            call->handler(call->data, rc, number.data, number.len);

        } else {
            call->handler(call->data, rc,
                          rc == NGX_OK ? (u_char *) reply->str : NULL,
                          rc == NGX_OK ? (size_t) reply->len : 0);
        }
    }

    ngx_free(call);
}


static ngx_int_t
ngx_http_headroom_redis_send(ngx_http_headroom_redis_t *redis,
    ngx_http_headroom_redis_got_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    return ngx_http_headroom_redis_sent(redis, handler, data, argc, argv,
                                        argvlen, 1);
}


/*
 * Any command, for other users than the originals' store (budgets): not
 * in its figures. `handler` gets NGX_OK and the value (an integer reply
 * as its digits), NGX_DECLINED (nil), or NGX_ERROR (an error, no reply in
 * time, or the connection gone). NGX_ERROR here: not sent, and the
 * handler is not called.
 */

ngx_int_t
ngx_http_headroom_redis_command(ngx_http_headroom_redis_t *redis,
    ngx_http_headroom_redis_got_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    return ngx_http_headroom_redis_sent(redis, handler, data, argc, argv,
                                        argvlen, 0);
}


/* the configured prefix of every key, copied to p */

u_char *
ngx_http_headroom_redis_prefix(ngx_http_headroom_redis_t *redis, u_char *p,
    u_char *last)
{
    size_t  n;

    n = ngx_min(redis->prefix.len, (size_t) (last - p));

    return ngx_cpymem(p, redis->prefix.data, n);
}


static ngx_int_t
ngx_http_headroom_redis_sent(ngx_http_headroom_redis_t *redis,
    ngx_http_headroom_redis_got_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen, ngx_uint_t counted)
{
    ngx_http_headroom_redis_call_t  *call;

    /* a slow Redis costs a bounded backlog, in commands and in bytes */

    if (redis->ac == NULL
        || redis->due >= NGX_HTTP_HEADROOM_REDIS_BACKLOG
        || (redis->ac->c.obuf
            && sdslen(redis->ac->c.obuf) > NGX_HTTP_HEADROOM_REDIS_QUEUED))
    {
        goto failed;
    }

    call = ngx_alloc(sizeof(ngx_http_headroom_redis_call_t), redis->log);
    if (call == NULL) {
        goto failed;
    }

    call->redis = redis;
    call->handler = handler;
    call->data = data;
    call->counted = counted;

    if (redisAsyncCommandArgv(redis->ac, ngx_http_headroom_redis_reply, call,
                              argc, argv, argvlen)
        != REDIS_OK)
    {
        ngx_free(call);
        goto failed;
    }

    redis->due++;

    if (!redis->overdue.timer_set) {
        ngx_add_timer(&redis->overdue, redis->timeout);
    }

    return NGX_OK;

failed:

    if (redis->zone && counted) {
        ngx_http_headroom_ccr_count_redis(redis->zone,
                                          NGX_HTTP_HEADROOM_REDIS_ERRORS);
    }

    return NGX_ERROR;
}


/* PREFIX "ccr:" TENANT ":" ID */

static size_t
ngx_http_headroom_redis_key(ngx_http_headroom_redis_t *redis, u_char *key,
    u_char *buf)
{
    u_char  *p;

    p = ngx_cpymem(buf, redis->prefix.data, redis->prefix.len);
    p = ngx_cpymem(p, "ccr:", 4);
    p = ngx_cpymem(p, key, NGX_HTTP_HEADROOM_ID_LEN);
    *p++ = ':';
    p = ngx_cpymem(p, key + NGX_HTTP_HEADROOM_ID_LEN,
                   NGX_HTTP_HEADROOM_ID_LEN);

    return p - buf;
}


/* SET key value PX ttl, pipelined; nobody waits for it */

ngx_int_t
ngx_http_headroom_redis_set(ngx_http_headroom_redis_t *redis, u_char *key,
    u_char *value, size_t len, ngx_msec_t ttl)
{
    u_char       k[NGX_HTTP_HEADROOM_REDIS_KEY_LEN], t[NGX_INT_T_LEN];
    size_t       lens[5];
    const char  *argv[5];

    argv[0] = "SET";
    lens[0] = 3;
    argv[1] = (const char *) k;
    lens[1] = ngx_http_headroom_redis_key(redis, key, k);
    argv[2] = (const char *) value;
    lens[2] = len;
    argv[3] = "PX";
    lens[3] = 2;
    argv[4] = (const char *) t;
    lens[4] = ngx_sprintf(t, "%M", ttl) - t;

    if (redis->zone) {
        ngx_http_headroom_ccr_count_redis(redis->zone,
                                          NGX_HTTP_HEADROOM_REDIS_WRITES);
    }

    return ngx_http_headroom_redis_send(redis, NULL, NULL, 5, argv, lens);
}


/*
 * GET key, then PEXPIRE key ttl (sliding, as the zone's): `handler` gets
 * NGX_OK and the value, NGX_DECLINED (none), or NGX_ERROR. NGX_ERROR
 * here: not asked, and the handler is not called.
 */

ngx_int_t
ngx_http_headroom_redis_get(ngx_http_headroom_redis_t *redis, u_char *key,
    ngx_msec_t ttl, ngx_http_headroom_redis_got_pt handler, void *data)
{
    u_char       k[NGX_HTTP_HEADROOM_REDIS_KEY_LEN];
    size_t       lens[2];
    const char  *argv[2];

    argv[0] = "GET";
    lens[0] = 3;
    argv[1] = (const char *) k;
    lens[1] = ngx_http_headroom_redis_key(redis, key, k);

    if (redis->zone) {
        ngx_http_headroom_ccr_count_redis(redis->zone,
                                          NGX_HTTP_HEADROOM_REDIS_READS);
    }

    if (ngx_http_headroom_redis_send(redis, handler, data, 2, argv, lens)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_headroom_redis_renew(redis, key, ttl);

    return NGX_OK;
}


/* PEXPIRE key ttl: a retrieval from the zone renews the shared copy too */

void
ngx_http_headroom_redis_renew(ngx_http_headroom_redis_t *redis, u_char *key,
    ngx_msec_t ttl)
{
    u_char       k[NGX_HTTP_HEADROOM_REDIS_KEY_LEN], t[NGX_INT_T_LEN];
    size_t       lens[3];
    const char  *argv[3];

    if (redis->ac == NULL) {
        return;
    }

    argv[0] = "PEXPIRE";
    lens[0] = 7;
    argv[1] = (const char *) k;
    lens[1] = ngx_http_headroom_redis_key(redis, key, k);
    argv[2] = (const char *) t;
    lens[2] = ngx_sprintf(t, "%M", ttl) - t;

    (void) ngx_http_headroom_redis_send(redis, NULL, NULL, 3, argv, lens);
}
