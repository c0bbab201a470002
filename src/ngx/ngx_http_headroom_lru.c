
/*
 * headroom: a map in shared memory by a 64-byte key, least recently used
 * dropped first (see ngx_http_headroom_lru.h).
 */


#include "ngx_http_headroom_lru.h"


#define NGX_HTTP_HEADROOM_EVICT_MAX  64   /* per entry put in */


#define ngx_http_headroom_lru_node(node)                                      \
    ((ngx_http_headroom_lru_node_t *) &(node)->color)


static ngx_int_t ngx_http_headroom_lru_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_headroom_lru_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_headroom_lru_delete(ngx_http_headroom_lru_zone_t *lru,
    ngx_http_headroom_lru_node_t *ln, uint64_t *counter);


/*
 * The zone of "directive NAME SIZE ...": at least eight pages, a name of
 * its own. NULL when not, said on the configuration's log.
 */

ngx_shm_zone_t *
ngx_http_headroom_lru_zone(ngx_conf_t *cf, const char *directive,
    ngx_str_t *name, ngx_str_t *size, void *tag, size_t layout,
    ngx_msec_t ttl)
{
    ssize_t                        n;
    ngx_shm_zone_t                *shm_zone;
    ngx_http_headroom_lru_zone_t  *lru;

    if (name->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" takes a non-empty name", directive);
        return NULL;
    }

    n = ngx_parse_size(size);

    if (n == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" \"%V\" has an invalid size \"%V\"",
                           directive, name, size);
        return NULL;
    }

    if (n < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" \"%V\" needs a size of at least %uzk, "
                           "not \"%V\"", directive, name,
                           (size_t) (8 * ngx_pagesize) / 1024, size);
        return NULL;
    }

    lru = ngx_pcalloc(cf->pool, sizeof(ngx_http_headroom_lru_zone_t));
    if (lru == NULL) {
        return NULL;
    }

    lru->ttl = ttl;
    lru->layout = layout;
    lru->directive = directive;

    shm_zone = ngx_shared_memory_add(cf, name, n, tag);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" \"%V\" is already declared",
                           directive, name);
        return NULL;
    }

    shm_zone->init = ngx_http_headroom_lru_init_zone;
    shm_zone->data = lru;

    return shm_zone;
}


static ngx_int_t
ngx_http_headroom_lru_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_headroom_lru_zone_t  *olru = data;

    size_t                         len;
    ngx_http_headroom_lru_zone_t  *lru;

    lru = shm_zone->data;
    lru->max_len = shm_zone->shm.size / 8;

    if (olru) {
        /* a reload: what is kept stays */

        if (olru->sh->layout != lru->layout) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "%s \"%V\" was laid out by another version of the "
                          "module: restart nginx, or give the zone another "
                          "size", lru->directive, &shm_zone->shm.name);
            return NGX_ERROR;
        }

        lru->sh = olru->sh;
        lru->shpool = olru->shpool;

        return NGX_OK;
    }

    lru->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        lru->sh = lru->shpool->data;
        return NGX_OK;
    }

    lru->sh = ngx_slab_calloc(lru->shpool, lru->layout);
    if (lru->sh == NULL) {
        return NGX_ERROR;
    }

    lru->shpool->data = lru->sh;
    lru->sh->layout = lru->layout;

    ngx_rbtree_init(&lru->sh->rbtree, &lru->sh->sentinel,
                    ngx_http_headroom_lru_insert_value);

    ngx_queue_init(&lru->sh->queue);

    len = sizeof(" in  \"\"") + ngx_strlen(lru->directive)
          + shm_zone->shm.name.len;

    lru->shpool->log_ctx = ngx_slab_alloc(lru->shpool, len);
    if (lru->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(lru->shpool->log_ctx, " in %s \"%V\"%Z", lru->directive,
                &shm_zone->shm.name);

    /* a full zone is expected: room is made by eviction */

    lru->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_headroom_lru_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t             **p;
    ngx_http_headroom_lru_node_t   *ln, *lnt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else { /* node->key == temp->key */

            ln = ngx_http_headroom_lru_node(node);
            lnt = ngx_http_headroom_lru_node(temp);

            p = (ngx_memcmp(ln->key, lnt->key, NGX_HTTP_HEADROOM_LRU_KEY_LEN)
                 < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


/* the entry under `key`, unless gone or expired (then dropped) */

ngx_http_headroom_lru_node_t *
ngx_http_headroom_lru_find(ngx_http_headroom_lru_zone_t *lru, u_char *key)
{
    uint32_t                       hash;
    ngx_int_t                      rc;
    ngx_rbtree_node_t             *node, *sentinel;
    ngx_http_headroom_lru_node_t  *ln;

    hash = ngx_crc32_short(key, NGX_HTTP_HEADROOM_LRU_KEY_LEN);

    node = lru->sh->rbtree.root;
    sentinel = lru->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        ln = ngx_http_headroom_lru_node(node);

        rc = ngx_memcmp(key, ln->key, NGX_HTTP_HEADROOM_LRU_KEY_LEN);

        if (rc == 0) {
            if (lru->ttl
                && (ngx_msec_int_t) (ln->expire - ngx_current_msec) <= 0)
            {
                ngx_http_headroom_lru_delete(lru, ln,
                                             &lru->sh->figures.expired);
                return NULL;
            }

            return ln;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Room for an entry of `len` bytes under `key` (not there yet), made by
 * dropping the least recently used, a few at most; the caller fills
 * ln->data. NULL when no room was made, or the entry is over an eighth of
 * the zone (it would empty the zone for one).
 */

ngx_http_headroom_lru_node_t *
ngx_http_headroom_lru_add(ngx_http_headroom_lru_zone_t *lru, u_char *key,
    size_t len)
{
    size_t                         size;
    ngx_uint_t                     n;
    ngx_rbtree_node_t             *node;
    ngx_http_headroom_lru_node_t  *ln;

    size = offsetof(ngx_rbtree_node_t, color)
           + offsetof(ngx_http_headroom_lru_node_t, data) + len;

    node = NULL;

    if (size <= lru->max_len) {
        for (n = 0; /* void */ ; n++) {
            node = ngx_slab_alloc_locked(lru->shpool, size);

            if (node
                || n == NGX_HTTP_HEADROOM_EVICT_MAX
                || ngx_queue_empty(&lru->sh->queue))
            {
                break;
            }

            ln = ngx_queue_data(ngx_queue_last(&lru->sh->queue),
                                ngx_http_headroom_lru_node_t, queue);

            ngx_http_headroom_lru_delete(lru, ln, &lru->sh->figures.evicted);
        }
    }

    if (node == NULL) {
        lru->sh->figures.too_large++;
        return NULL;
    }

    node->key = ngx_crc32_short(key, NGX_HTTP_HEADROOM_LRU_KEY_LEN);
    ln = ngx_http_headroom_lru_node(node);

    ngx_memcpy(ln->key, key, NGX_HTTP_HEADROOM_LRU_KEY_LEN);
    ln->len = len;
    ln->expire = ngx_current_msec + lru->ttl;

    ngx_rbtree_insert(&lru->sh->rbtree, node);
    ngx_queue_insert_head(&lru->sh->queue, &ln->queue);

    lru->sh->figures.stored++;
    lru->sh->figures.stored_bytes += len;
    lru->sh->figures.kept++;
    lru->sh->figures.kept_bytes += len;

    return ln;
}


static void
ngx_http_headroom_lru_delete(ngx_http_headroom_lru_zone_t *lru,
    ngx_http_headroom_lru_node_t *ln, uint64_t *counter)
{
    ngx_rbtree_node_t  *node;

    node = (ngx_rbtree_node_t *)
               ((u_char *) ln - offsetof(ngx_rbtree_node_t, color));

    ngx_queue_remove(&ln->queue);
    ngx_rbtree_delete(&lru->sh->rbtree, node);

    lru->sh->figures.kept--;
    lru->sh->figures.kept_bytes -= ln->len;
    (*counter)++;

    ngx_slab_free_locked(lru->shpool, node);
}


/* used now, so kept another ttl and dropped last */

void
ngx_http_headroom_lru_touch(ngx_http_headroom_lru_zone_t *lru,
    ngx_http_headroom_lru_node_t *ln)
{
    ln->expire = ngx_current_msec + lru->ttl;
    ngx_queue_remove(&ln->queue);
    ngx_queue_insert_head(&lru->sh->queue, &ln->queue);
}


/* the oldest, while expired: at most n of them */

void
ngx_http_headroom_lru_expire(ngx_http_headroom_lru_zone_t *lru, ngx_uint_t n)
{
    ngx_queue_t                   *q;
    ngx_http_headroom_lru_node_t  *ln;

    if (lru->ttl == 0) {
        return;
    }

    while (n-- && !ngx_queue_empty(&lru->sh->queue)) {
        q = ngx_queue_last(&lru->sh->queue);
        ln = ngx_queue_data(q, ngx_http_headroom_lru_node_t, queue);

        if ((ngx_msec_int_t) (ln->expire - ngx_current_msec) > 0) {
            return;
        }

        ngx_http_headroom_lru_delete(lru, ln, &lru->sh->figures.expired);
    }
}
