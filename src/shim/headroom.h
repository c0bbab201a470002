/*
 * The C interface to the headroom core: the only thing nginx calls.
 * No C++ type and no exception crosses it.
 */

#ifndef HEADROOM_H_INCLUDED
#define HEADROOM_H_INCLUDED

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif


typedef enum {
    HEADROOM_PASSTHROUGH = 0,      /* forward the original bytes */
    HEADROOM_REWRITTEN = 1         /* forward result.body */
} headroom_outcome_e;


typedef struct {
    size_t                max_depth;
    int                   minify_tool_json;
} headroom_options_t;


typedef struct {
    headroom_outcome_e    outcome;
    const char           *reason;        /* static, never NULL */
    const char           *detail;        /* NUL-terminated, never NULL */
    const char           *shape;         /* static, never NULL */
    const unsigned char  *body;          /* valid until headroom_result_free */
    size_t                body_len;
    size_t                tool_outputs;
    size_t                minified;
    void                 *owner;         /* internal */
} headroom_result_t;


/* Fills in the defaults. */
void headroom_options_init(headroom_options_t *options);

/*
 * Non-zero when requests to `path` (without its query string) may be
 * rewritten: bodies for other paths need not be read at all.
 */
int headroom_path_may_rewrite(const char *path, size_t path_len);

/*
 * Rewrites one request body. `path` is the request path without its query
 * string. Always fills `result`; on any failure the outcome is
 * HEADROOM_PASSTHROUGH with the reason. Call headroom_result_free() after.
 */
void headroom_process(const headroom_options_t *options,
    const char *path, size_t path_len,
    const unsigned char *body, size_t body_len,
    headroom_result_t *result);

void headroom_result_free(headroom_result_t *result);


#ifdef __cplusplus
}
#endif

#endif /* HEADROOM_H_INCLUDED */
