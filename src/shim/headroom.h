/*
 * The C interface to the headroom core: the only thing nginx calls.
 * No C++ type and no exception crosses it.
 */

#ifndef HEADROOM_H_INCLUDED
#define HEADROOM_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif


typedef enum {
    HEADROOM_PASSTHROUGH = 0,      /* forward the original bytes */
    HEADROOM_REWRITTEN = 1,        /* forward result.body */
    HEADROOM_OFFLOAD = 2           /* over env.offload_above: run it again,
                                      off the event loop, without it */
} headroom_outcome_e;

#define HEADROOM_OUTCOMES  3


/*
 * Why a body went upstream as it came: one list for the core and the glue.
 * The glue decides the first ten before the core runs.
 */
typedef enum {
    HEADROOM_REASON_NOT_POST = 0,
    HEADROOM_REASON_NOT_JSON,
    HEADROOM_REASON_UNKNOWN_SHAPE,
    HEADROOM_REASON_UNKNOWN_ENCODING,
    HEADROOM_REASON_TOO_LARGE,
    HEADROOM_REASON_DECODED_TOO_LARGE,
    HEADROOM_REASON_DECODE_ERROR,
    HEADROOM_REASON_UNBUFFERED,
    HEADROOM_REASON_BODY_IN_FILE,
    HEADROOM_REASON_EMPTY,
    HEADROOM_REASON_INVALID_JSON,
    HEADROOM_REASON_TOO_DEEP,
    HEADROOM_REASON_LONE_SURROGATE,
    HEADROOM_REASON_NO_CHANGE,
    HEADROOM_REASON_NOT_SMALLER,
    HEADROOM_REASON_NO_MEMORY,       /* failures from here on */
    HEADROOM_REASON_OUT_OF_MEMORY,
    HEADROOM_REASON_INTERNAL_ERROR
} headroom_reason_e;

#define HEADROOM_REASONS  18

/*
 * "not_post", ...; NULL for a value out of range (taken as a number, so that
 * any value a caller has is safe to ask about)
 */
const char *headroom_reason_name(size_t reason);

/* non-zero for the reasons that say headroom ran short */
int headroom_reason_is_failure(headroom_reason_e reason);


/* Token counters, loaded once and shared read-only by every request. */
typedef struct headroom_tokenizers_s  headroom_tokenizers_t;

/* Compiled patterns of volatile values, shared read-only likewise. */
typedef struct headroom_volatile_patterns_s  headroom_volatile_patterns_t;

/* Compiled headroom_route rules, shared read-only likewise. */
typedef struct headroom_routes_s  headroom_routes_t;


/*
 * The directives' values. headroom_settings_init() fills in every default:
 * there is no other place they are written.
 */
typedef struct {
    size_t                        max_body_size;
    size_t                        max_decode_ratio;
    size_t                        max_depth;
    int                           minify_tool_json;
    const headroom_tokenizers_t  *tokenizers;   /* NULL: bytes decide */
    size_t                        min_tokens;   /* smaller outputs stay */
    int                           crush_json;
    size_t                        json_max_items;
    size_t                        json_keep_first;
    size_t                        json_keep_last;
    size_t                        json_keep_top;   /* best of ranked arrays */
    size_t                        question_max_matches;
    int                           json_tables;
    int                           crush_logs;
    double                        log_values;    /* 0 to 1: values in folds */
    int                           crush_search;
    int                           crush_diffs;
    size_t                        diff_context;  /* context lines kept */
    const char *const            *protect_tools;  /* fnmatch globs */
    size_t                        nprotect_tools;

    /* prefix stabilization: nothing unless stabilize_prefix */
    int                           stabilize_prefix;
    int                           move_volatile;
    const headroom_volatile_patterns_t  *volatile_patterns;
    int                           canonical_tools;
    int                           cache_breakpoints;
    int                           prompt_cache_key;

    /* reversible compression: markers name the way back; the tool */
    int                           ccr;
    int                           ccr_tool;
    int                           exact_counts;  /* no estimate of large outputs */
    const headroom_routes_t      *routes;       /* NULL: no routing */

    /* headroom_retire: old tool outputs replaced by markers (needs ccr) */
    int                           retire;
    size_t                        retire_after;
    size_t                        retire_min_tokens;
    size_t                        retire_batch;

    /* headroom_fit: requests over their model's window cut (needs ccr) */
    int                           fit;
    const char *const            *context_limit_prefixes;
    const size_t                 *context_limit_tokens;
    size_t                        ncontext_limits;  /* headroom_context_limit */
    size_t                        output_reserve;
    double                        fit_margin;    /* 0 to 0.5 */
    size_t                        keep_turns;    /* at least 1 */
    double                        fit_target;    /* of the budget: 0.1 to 0.95 */

    /* headroom_summarize: turns that go summarized (needs ccr) */
    int                           summarize;
    const char                   *summarize_model;  /* NULL: the default */
    int                           summarize_turns;
    size_t                        summarize_after;
    size_t                        summarize_batch;
} headroom_settings_t;

/* the bounds headroom_config_compile() holds values to */
#define HEADROOM_JSON_ITEMS_LIMIT  100000   /* json_max_items, keep_* */
#define HEADROOM_DIFF_CONTEXT_MAX  100
#define HEADROOM_MAX_BODY_SIZE_LIMIT  1073741824   /* max_body_size: 1g */

void headroom_settings_init(headroom_settings_t *settings);

/*
 * Settings checked and compiled once, then shared read-only by every
 * request of a location. It keeps what it needs of the tokenizers and
 * patterns: they may be freed before it.
 */
typedef struct headroom_config_s  headroom_config_t;

/* NULL when a value is refused, with the reason (naming the directive) */
headroom_config_t *headroom_config_compile(const headroom_settings_t *settings,
    char *error, size_t error_len);

void headroom_config_free(headroom_config_t *config);

/* non-zero when fnmatch() reads `glob` as written (brackets closed) */
int headroom_glob_is_valid(const char *glob);


/*
 * headroom_route: one rule. NULL strings and HEADROOM_ROUTE_ANY: no such
 * condition. The first rule of a list that matches a request sends it to
 * `to`.
 */
#define HEADROOM_ROUTE_ANY           0
#define HEADROOM_ROUTE_TOKENS_BELOW  1   /* if-tokens<N */
#define HEADROOM_ROUTE_TOKENS_ABOVE  2   /* if-tokens>N */
#define HEADROOM_ROUTE_TOOLS_YES     1
#define HEADROOM_ROUTE_TOOLS_NO      2

typedef struct {
    const char           *name;
    const char           *model;       /* if-model: an fnmatch glob */
    int                   tokens_op;   /* HEADROOM_ROUTE_TOKENS_*, or ANY */
    size_t                tokens;
    int                   tools;       /* HEADROOM_ROUTE_TOOLS_*, or ANY */
    const char           *text;        /* if-text: PCRE2, newest user text */
    const char           *api;         /* if-api: "openai_chat", ... */
    int                   sticky;      /* kept for the session */
    const char           *to;          /* the model */
} headroom_route_t;

/* NULL when a rule is refused, with the reason (naming the rule) */
headroom_routes_t *headroom_routes_compile(const headroom_route_t *rules,
    size_t nrules, int jit, char *error, size_t error_len);

void headroom_routes_free(headroom_routes_t *routes);


/*
 * What a tool output holds: json, diff, search, listing, log, code, text.
 * Only the first four kinds have crushers; the rest are never changed.
 */
#define HEADROOM_CONTENT_KINDS  7

/* "json", "diff", ...; NULL for an index out of range */
const char *headroom_content_kind_name(size_t kind);


typedef struct {
    size_t                outputs;       /* looked at: not small, not protected */
    size_t                tokens_before;
    size_t                tokens_after;
} headroom_kind_counts_t;


/*
 * What changed a request: minify_json, crush_json, crush_logs, crush_search,
 * crush_diffs, move_volatile, canonical_tools, cache_breakpoints,
 * prompt_cache_key, retrieve_tool, retrieve_fill, route, retire, fit,
 * summarize.
 */
#define HEADROOM_TRANSFORMS  15

/* "minify_json", ...; NULL for an index out of range */
const char *headroom_transform_name(size_t transform);


typedef struct {
    size_t                applied;       /* tool outputs, or 1 (prefix) */
    size_t                tokens_saved;
} headroom_transform_counts_t;


/*
 * a summary the store does not have: the id to keep it under, and the
 * OpenAI chat-completions body to ask the summarizing location with
 */
typedef struct {
    const char           *id;            /* 32 hex digits, NUL-terminated */
    const unsigned char  *body;
    size_t                len;
} headroom_summary_wanted_t;


/* a tool output a crusher left something out of, as it came */
typedef struct {
    const char           *id;            /* 32 hex digits, NUL-terminated */
    const unsigned char  *text;
    size_t                len;
} headroom_original_t;


typedef struct {
    headroom_outcome_e    outcome;
    headroom_reason_e     reason;        /* when passed through */
    const char           *detail;        /* NUL-terminated, never NULL */
    const char           *shape;         /* NUL-terminated, never NULL */
    const unsigned char  *body;          /* valid until headroom_result_free */
    size_t                body_len;
    size_t                tool_outputs;
    size_t                minified;      /* lossless rewrites */
    size_t                crushed;       /* outputs with items or lines left out */
    size_t                omitted;       /* items and lines left out */
    size_t                tokens_before; /* in tool outputs, as received */
    size_t                tokens_after;  /* in tool outputs, as sent */
    const char           *encoding;      /* "" when tokens were not counted */
    int                   tokens_estimated;
    headroom_kind_counts_t  kinds[HEADROOM_CONTENT_KINDS];
    headroom_transform_counts_t  transforms[HEADROOM_TRANSFORMS];
    const char           *model;         /* as sent, "" if none */
    size_t                model_len;
    const char           *prefix_hash;   /* 32 hex digits, "" if unknown */
    const char           *answer_key;    /* 64 hex digits: API, path and body
                                            as sent; "" if not understood */
    size_t                volatile_moved;
    int                   tools_sorted;
    size_t                breakpoints_added;
    int                   cache_key_set;
    const headroom_original_t  *originals;  /* what the markers' ids name */
    size_t                noriginals;
    int                   retrieve_tool_added;
    size_t                fills_found;   /* headroom_retrieve results filled */
    size_t                fills_missing;
    size_t                fills_unavailable;
    size_t                cache_hits;    /* outputs whose result was cached */
    size_t                cache_misses;  /* looked up in vain */
    const char           *route;         /* the rule's name, "" if none */
    int                   route_remembered;  /* by the session's memory */
    const char           *model_in;      /* as received when routed, else "" */
    const char           *path_out;      /* the path naming the routed
                                            model (Gemini), else "" */
    const char           *session;       /* 32 hex digits, "" if unasked */
    size_t                request_tokens;  /* counted by a rule, else 0 */
    int                   request_tokens_whole;  /* all of the request */
    int                   fit;           /* HEADROOM_FIT_* */
    size_t                fit_limit;     /* the model's window, 0: unknown */
    size_t                fit_budget;    /* less the output reserve, margin */
    size_t                fit_tokens_before;
    size_t                fit_tokens_after;
    size_t                fit_turns_dropped;
    size_t                fit_outputs_retired;
    size_t                summaries_used;    /* from the store */
    size_t                turns_summarized;  /* headroom_summarize_turns */
    const headroom_summary_wanted_t  *summaries_wanted;
    size_t                nsummaries_wanted;
    void                 *owner;         /* internal */
} headroom_result_t;

#define HEADROOM_FIT_NONE    0   /* within its window, or window unknown */
#define HEADROOM_FIT_FITTED  1   /* cut to fit */
#define HEADROOM_FIT_FAILED  2   /* could not be cut enough: sent as it was */


/* the longest summary kept, in bytes */
#define HEADROOM_SUMMARY_MAX  16384

/*
 * The summary in a summarizing location's answer (an OpenAI
 * chat-completions body: choices[0].message.content), copied to `out` (at
 * least HEADROOM_SUMMARY_MAX bytes, not NUL-terminated); its length, or 0
 * when the answer holds none.
 */
size_t headroom_summary_of_answer(const unsigned char *answer, size_t len,
    unsigned char *out);


/*
 * Where originals are kept (reversible compression): the caller's store,
 * asked by id for the request's tenant.
 */
typedef enum {
    HEADROOM_STORE_FOUND = 0,
    HEADROOM_STORE_MISSING,          /* expired, or another tenant's */
    HEADROOM_STORE_UNAVAILABLE       /* the store did not answer in time */
} headroom_store_e;

#define HEADROOM_STORE_STATES  3

/*
 * Looks up `id` (32 hex digits, NUL-terminated). FOUND sets *text and
 * *len, which stay valid until the call that asked returns.
 */
typedef headroom_store_e (*headroom_lookup_pt)(void *data, const char *id,
    const unsigned char **text, size_t *len);

typedef struct {
    headroom_lookup_pt    lookup;
    void                 *data;
} headroom_store_t;

/* Text the core made for the caller: free with headroom_text_free(). */
typedef struct {
    unsigned char        *data;
    size_t                len;
} headroom_text_t;

void headroom_text_free(headroom_text_t *text);

/*
 * The operator endpoint's answer: the part of `original` the query asks
 * for (`lines`, `items`, `grep`: decoded, len 0 when absent). 0 with the
 * text; -1 with the reason in `out` when it asks for what is not there.
 */
int headroom_retrieve_select(const unsigned char *original, size_t len,
    const char *lines, size_t lines_len, const char *items, size_t items_len,
    const char *grep, size_t grep_len, headroom_text_t *out);

/* SHA-256 of `data` as 64 hex digits and a NUL; 0 on failure */
int headroom_sha256_hex(const unsigned char *data, size_t len, char out[65]);

/* 32 hex digits naming a tenant by its credential; never the credential */
void headroom_tenant_of(const unsigned char *credential, size_t len,
    char out[33]);

/* retrievals over MCP, counted */
typedef struct {
    size_t                found;
    size_t                missing;
    size_t                unavailable;
} headroom_mcp_counts_t;

/*
 * Answers one MCP Streamable HTTP POST body (JSON-RPC 2.0), its tools/call
 * answers holding `max_bytes` of originals at most. Returns the HTTP
 * status: 200 with `out`, 202 (nothing in `out`) when only notifications
 * came, 400 with `out`; -1 when memory ran short.
 */
int headroom_mcp_respond(const unsigned char *body, size_t len,
    const headroom_store_t *store, size_t max_bytes, headroom_text_t *out,
    headroom_mcp_counts_t *counts);


/*
 * Loads DIR/o200k_base.tok and DIR/cl100k_base.tok. `rules` holds `nrules`
 * pairs of strings (model prefix, encoding) tried before the built-in
 * ones. `jit` non-zero: PCRE2's JIT compiles the pre-tokenizers (zero only
 * to prove valgrind's reports about JIT code false). NULL on failure, with
 * the reason in `error`.
 */
headroom_tokenizers_t *headroom_tokenizers_load(const char *dir,
    const char *const *rules, size_t nrules, int jit, char *error,
    size_t error_len);

void headroom_tokenizers_free(headroom_tokenizers_t *tokenizers);

/*
 * Compiles the built-in patterns of volatile values after `npairs` pairs of
 * strings in `pairs` (label, PCRE2 pattern) of the operator's. NULL on
 * failure, with the pattern and PCRE2's reason in `error`. `jit` as above.
 */
headroom_volatile_patterns_t *headroom_volatile_patterns_compile(
    const char *const *pairs, size_t npairs, int jit, char *error,
    size_t error_len);

void headroom_volatile_patterns_free(headroom_volatile_patterns_t *patterns);

/*
 * What the provider says a call used (see src/core/usage.h for where each
 * API puts it): input counts every input token, cached ones included.
 */
#define HEADROOM_USAGE_MODEL_SIZE  129

typedef struct {
    uint64_t  input;
    uint64_t  cached;
    uint64_t  cache_write;
    uint64_t  output;
    int       found;
    int       estimated;     /* headroom's count, not the provider's */
    char      model[HEADROOM_USAGE_MODEL_SIZE];  /* the answer's, NUL-
                                                    terminated; "" if none */
    char      response_id[HEADROOM_USAGE_MODEL_SIZE];  /* a Responses
                                                    answer's id, or "" */
} headroom_usage_t;

/* Token prices by model: see conf-examples/headroom-prices.conf. */
typedef struct headroom_prices_s  headroom_prices_t;

/*
 * Reads a price table from `path`, or takes the built-in one when `path` is
 * NULL. NULL on failure, with the reason in `error`.
 */
headroom_prices_t *headroom_prices_load(const char *path, char *error,
    size_t error_len);

void headroom_prices_free(headroom_prices_t *prices);

/* USD per million input tokens of `model`; negative when unknown. */
double headroom_price_per_mtok(const headroom_prices_t *prices,
    const char *model, size_t model_len);

/*
 * What a call of `model` cost in USD, from the provider's usage (input:
 * all input tokens, `cached` and `cache_write` among them); negative when
 * no rule matches or its line gives the input price only.
 */
double headroom_cost_usd(const headroom_prices_t *prices, const char *model,
    size_t model_len, const headroom_usage_t *usage);


/*
 * Compressed request bodies (Content-Encoding), decoded as they arrive.
 */
typedef enum {
    HEADROOM_ENCODING_IDENTITY = 0,
    HEADROOM_ENCODING_GZIP,          /* gzip and x-gzip, every member */
    HEADROOM_ENCODING_DEFLATE,       /* zlib-wrapped or raw */
    HEADROOM_ENCODING_ZSTD,          /* every frame */
    HEADROOM_ENCODING_BROTLI         /* "br" */
} headroom_encoding_e;

#define HEADROOM_ENCODINGS  5

/*
 * A reader of one response's usage, fed its bytes as they pass (encoded as
 * the response's Content-Encoding says: decoded on the side, 8 MB at most).
 * `api`: the request's shape; `event_stream`: text/event-stream, else JSON.
 */
typedef struct headroom_usage_reader_s  headroom_usage_reader_t;

headroom_usage_reader_t *headroom_usage_reader_create(const char *api,
    int event_stream, headroom_encoding_e encoding);
/*
 * An answer that will carry no usage (an OpenAI stream without
 * include_usage): the figures are then `input` (the request's tokens as
 * sent, result.request_tokens) and its streamed text counted in the
 * encoding of `model`, marked estimated.
 */
void headroom_usage_reader_estimate(headroom_usage_reader_t *reader,
    const headroom_tokenizers_t *tokenizers, const char *model,
    size_t model_len, uint64_t input);
void headroom_usage_reader_feed(headroom_usage_reader_t *reader,
    const unsigned char *data, size_t len);
/* the response is whole: the figures, found or not */
void headroom_usage_reader_finish(headroom_usage_reader_t *reader,
    headroom_usage_t *usage);
void headroom_usage_reader_free(headroom_usage_reader_t *reader);

/* "identity", "gzip", "deflate", "zstd", "br"; NULL for a value out of range */
const char *headroom_encoding_name(size_t encoding);

/*
 * The encoding one Content-Encoding value names, in *encoding; -1 for a
 * value headroom does not decode (br, compress, a list of encodings).
 */
int headroom_encoding_of(const char *value, size_t len,
    headroom_encoding_e *encoding);

typedef enum {
    HEADROOM_DECODE_MORE = 0,        /* feed the next bytes */
    HEADROOM_DECODE_DONE,            /* the stream ended whole at the last */
    HEADROOM_DECODE_TOO_LARGE,       /* over max_body_size or the ratio */
    HEADROOM_DECODE_ERROR,           /* not that encoding, or cut short */
    HEADROOM_DECODE_OUT_OF_MEMORY
} headroom_decode_e;

typedef struct headroom_decoder_s  headroom_decoder_t;

/*
 * A decoder bounded by the config's max_body_size and max_decode_ratio;
 * `declared` is the compressed length when the client sent one, else 0.
 * NULL when memory ran short.
 */
headroom_decoder_t *headroom_decoder_create(const headroom_config_t *config,
    headroom_encoding_e encoding, size_t declared);

/* `last` non-zero with the last bytes; once not MORE, it stays so */
headroom_decode_e headroom_decoder_feed(headroom_decoder_t *decoder,
    const unsigned char *data, size_t len, int last);

/* the bytes decoded so far, valid until the next feed or the destroy */
const unsigned char *headroom_decoder_data(const headroom_decoder_t *decoder,
    size_t *len);

void headroom_decoder_destroy(headroom_decoder_t *decoder);


/* The directory `make` put the rank files in. */
const char *headroom_default_tokenizer_dir(void);


/*
 * Non-zero when requests to `path` (without its query string) may be
 * rewritten: bodies for other paths need not be read at all.
 */
int headroom_path_may_rewrite(const char *path, size_t path_len);

/* The API requests to `path` speak ("openai_chat", ...), or NULL. */
const char *headroom_api_of_path(const char *path, size_t path_len);

/*
 * The session (32 hex digits and a NUL in `out`) that a request asking for
 * `model` and continuing the Responses answer `response_id`
 * (previous_response_id) has in `scope` (env's session_scope): the
 * answer's session's route is kept under it too. 0 on failure.
 */
int headroom_session_of_response(const char *scope, size_t scope_len,
    const char *model, size_t model_len, const char *response_id, size_t len,
    char out[33]);

/* headroom_process() flags */
#define HEADROOM_WANT_PREFIX_HASH  1     /* fill result.prefix_hash */
#define HEADROOM_WANT_ANSWER_KEY   2     /* fill result.answer_key */
#define HEADROOM_ANSWER_KEY_OF_ORIGINAL  4  /* ... of the body as received */
#define HEADROOM_WANT_REQUEST_TOKENS  8  /* result.request_tokens, whole,
                                            when the answer will not say */
#define HEADROOM_ORIGINALS_NOT_KEPT   16  /* the store keeps nothing for this
                                           request (no tenant): nothing is
                                           retired, fitted or summarized */

/*
 * Rewrites one request body. `path` is the request path without its query
 * string. Always fills `result`; on any failure the outcome is
 * HEADROOM_PASSTHROUGH with the reason. Call headroom_result_free() after.
 */
void headroom_process(const headroom_config_t *config, unsigned flags,
    const char *path, size_t path_len,
    const unsigned char *body, size_t body_len,
    headroom_result_t *result);

/*
 * The same, with originals kept in `store` (NULL: none): the results of
 * headroom_retrieve calls are filled from it.
 */
void headroom_process_with_store(const headroom_config_t *config,
    unsigned flags, const char *path, size_t path_len,
    const unsigned char *body, size_t body_len,
    const headroom_store_t *store, headroom_result_t *result);

/*
 * A cache of tool outputs' results between requests (the caller's), under
 * keys of HEADROOM_CACHE_KEY_LEN bytes (an XXH3-128). get: hands the entry
 * under `key`, if any, to take(sink, ...), which checks that it answers
 * this output and copies what it needs, and returns take's answer
 * (non-zero: a hit). put: keeps a copy of the entry. Both may be called
 * from a thread of the caller's own; an entry is opaque to the caller.
 */
#define HEADROOM_CACHE_KEY_LEN  16

typedef int (*headroom_cache_take_pt)(void *sink, const unsigned char *entry,
    size_t len);

typedef struct {
    int                 (*get)(void *data, const unsigned char *key,
                               headroom_cache_take_pt take, void *sink);
    void                (*put)(void *data, const unsigned char *key,
                               const unsigned char *entry, size_t len);
    void                 *data;
} headroom_cache_t;

/*
 * Where the routes of sessions are remembered (headroom_route_zone). get:
 * copies the rule name kept for `session` (32 hex digits, NUL-terminated)
 * into `name` (HEADROOM_ROUTE_NAME_SIZE bytes, NUL-terminated; "-" for
 * "none matched") and returns non-zero; 0 when none is kept. put: keeps
 * `name` for it. Both may be called from a thread of the caller's own.
 */
#define HEADROOM_ROUTE_NAME_SIZE  72

typedef struct {
    int                 (*get)(void *data, const char *session, char *name);
    void                (*put)(void *data, const char *session,
                               const char *name, size_t len);
    void                 *data;
} headroom_sessions_t;

/* What a request runs with besides its bytes; NULL members: none. */
typedef struct {
    const headroom_store_t  *store;
    const headroom_cache_t  *cache;
    size_t                   offload_above;  /* new tool output bytes; 0 */
    const headroom_sessions_t  *sessions;
    const char              *session_scope;  /* the rules' place; NULL */
    size_t                   session_scope_len;
} headroom_env_t;

/* The same as headroom_process_with_store, in `env` (NULL: none). */
void headroom_process_in(const headroom_config_t *config, unsigned flags,
    const char *path, size_t path_len,
    const unsigned char *body, size_t body_len,
    const headroom_env_t *env, headroom_result_t *result);

void headroom_result_free(headroom_result_t *result);


#ifdef __cplusplus
}
#endif

#endif /* HEADROOM_H_INCLUDED */
