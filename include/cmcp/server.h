/* cmcp/server.h: writing an MCP server.
 *
 * A server object holds the features (tools, resources, resource templates,
 * prompts, completion) and serves both protocol eras from them: 2026-07-28
 * (stateless, per-request _meta) and 2025-11-25 with the versions it
 * negotiates down to (initialize, sessions). The era is chosen per request.
 *
 * Handlers. Every feature has one handler type, cmcp_handler_fn. A handler
 * fills in its call's result with the cmcp_call_add_* / cmcp_call_set_*
 * functions and finishes the call exactly once with cmcp_call_done(),
 * cmcp_call_tool_error(), cmcp_call_error() or cmcp_call_need_input().
 *   - synchronous: it finishes the call before it returns;
 *   - asynchronous: it returns without finishing and finishes later, from any
 *     thread; the call handle stays valid until it is finished;
 *   - blocking: registered with CMCP_FEATURE_BLOCKING, it runs on the bounded
 *     worker pool instead of the event loop, and may sleep or do file I/O.
 * Handlers on the loop must not block. A call is never freed before it is
 * finished; after it is finished the handle must not be touched.
 *
 * Asking the client for input (one API for both eras): a handler looks for
 * the answer with cmcp_call_input(call, key); if it is absent, it asks with
 * cmcp_call_ask_*(call, key, ...) and ends the round with
 * cmcp_call_need_input(). The engine then obtains the answers (on the
 * 2026-07-28 wire as an InputRequiredResult with a sealed requestState that
 * the client sends back; on a legacy session as real server-to-client
 * requests) and invokes the handler again, from the start, with the answers
 * available. Handlers must therefore be idempotent up to their asks; state
 * they want back in the next round goes in cmcp_call_set_state().
 *
 * JSON values in this API are given as JSON text (const char *) and are
 * validated when given; values read from a call are json-c objects owned by
 * the call (valid until the call is finished).
 */
#ifndef CMCP_SERVER_H
#define CMCP_SERVER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_object; /* json-c */

typedef struct cmcp_server cmcp_server_t;
typedef struct cmcp_call cmcp_call_t;

typedef void (*cmcp_handler_fn)(cmcp_call_t *call, void *data);

/* Feature flags. */
enum {
  CMCP_FEATURE_BLOCKING = 1u << 0 /* run the handler on the worker pool */
};

/* ---- server object ----------------------------------------------------- */

/* Creates a server; name and version form serverInfo. NULL on ENOMEM or a
 * NULL/empty name. */
CMCP_EXTERN cmcp_server_t *cmcp_server_new(const char *name,
                                           const char *version);
/* Frees the server. It must not be running. */
CMCP_EXTERN void cmcp_server_free(cmcp_server_t *srv);

/* Configuration (instructions, info, limits, state key, cache hint,
 * completion provider) is read by the serving threads without locks: set it
 * before the server starts serving. Features may be added and removed at
 * any time, from any thread. */

/* The user's pointer, untouched by the library. */
CMCP_EXTERN void cmcp_server_set_data(cmcp_server_t *srv, void *data);
CMCP_EXTERN void *cmcp_server_data(const cmcp_server_t *srv);

/* Natural-language instructions sent in InitializeResult/DiscoverResult. */
CMCP_EXTERN int cmcp_server_set_instructions(cmcp_server_t *srv,
                                             const char *text);
/* Extra Implementation fields for serverInfo (title, description, icons,
 * websiteUrl), as a JSON object text merged over {name, version}. */
CMCP_EXTERN int cmcp_server_set_info_json(cmcp_server_t *srv, const char *json);

/* Limits. Each has a default; see docs/LIMITS.md. */
typedef enum {
  CMCP_LIMIT_MESSAGE_BYTES,     /* one JSON-RPC message (default 4 MiB) */
  CMCP_LIMIT_JSON_DEPTH,        /* nesting depth (default 128) */
  CMCP_LIMIT_INFLIGHT_PER_PEER, /* admitted requests per peer (default 1024) */
  CMCP_LIMIT_INFLIGHT_TOTAL,    /* admitted requests per process (65536) */
  CMCP_LIMIT_PAGE_SIZE,         /* items per list page (default 100) */
  CMCP_LIMIT_ASK_TIMEOUT_MS,    /* legacy server->client request (60000) */
  CMCP_LIMIT_STATE_TTL_MS,      /* MRTR requestState lifetime (600000) */
  CMCP_LIMIT_TASKS_PER_PEER,    /* live tasks per peer (default 64) */
  CMCP_LIMIT_TASK_TTL_MS,       /* how long a finished task is kept (60000) */
  CMCP_LIMIT_WORKERS,           /* worker threads (default 4) */
  CMCP_LIMIT_WORKER_QUEUE,      /* queued blocking calls (default 1024) */
  CMCP_LIMIT_OUTBOUND_BYTES,    /* queued output per peer (default 16 MiB) */
  CMCP_LIMIT_MEMORY_BYTES,      /* process resident set above which new
                                   requests and sessions are refused
                                   (default 75% of memory or of the cgroup
                                   limit; INT64_MAX: no budget) */
  CMCP_LIMIT_COUNT_
} cmcp_limit_t;
CMCP_EXTERN int cmcp_server_set_limit(cmcp_server_t *srv, cmcp_limit_t which,
                                      int64_t value);
CMCP_EXTERN int64_t cmcp_server_limit(const cmcp_server_t *srv,
                                      cmcp_limit_t which);

/* The key that seals MRTR requestState (HMAC-SHA256). Every process of a
 * fleet must share it. Default: 32 random bytes per process. */
CMCP_EXTERN int cmcp_server_set_state_key(cmcp_server_t *srv, const void *key,
                                          size_t len);

/* Cache hints put on 2026-07-28 list and read results (ttlMs, cacheScope
 * "public" or "private"). Default 0 and "private". */
CMCP_EXTERN int cmcp_server_set_cache_hint(cmcp_server_t *srv, int64_t ttl_ms,
                                           const char *scope);

/* ---- features ---------------------------------------------------------- */

/* Adds a tool. input_schema is a JSON Schema object text (NULL means
 * {"type":"object"}). CMCP_EEXIST if the name is taken, CMCP_EINVAL if a
 * JSON text is not valid. Adding or removing a feature sends list_changed
 * to those who asked for it. */
CMCP_EXTERN int cmcp_server_add_tool(cmcp_server_t *srv, const char *name,
                                     const char *description,
                                     const char *input_schema,
                                     cmcp_handler_fn fn, void *data);
/* Adds a tool from the full Tool object of the spec (name, title,
 * description, inputSchema, outputSchema, annotations, icons, execution,
 * _meta) given as JSON text. */
CMCP_EXTERN int cmcp_server_add_tool_json(cmcp_server_t *srv,
                                          const char *tool_json, unsigned flags,
                                          cmcp_handler_fn fn, void *data);
CMCP_EXTERN int cmcp_server_remove_tool(cmcp_server_t *srv, const char *name);

/* Adds a direct resource (Resource object: uri, name, title, description,
 * mimeType, size, annotations, icons, _meta). The handler answers
 * resources/read with cmcp_call_add_text_contents / _blob_contents. */
CMCP_EXTERN int cmcp_server_add_resource(cmcp_server_t *srv, const char *uri,
                                         const char *name,
                                         const char *mime_type,
                                         cmcp_handler_fn fn, void *data);
CMCP_EXTERN int cmcp_server_add_resource_json(cmcp_server_t *srv,
                                              const char *resource_json,
                                              unsigned flags,
                                              cmcp_handler_fn fn, void *data);
CMCP_EXTERN int cmcp_server_remove_resource(cmcp_server_t *srv,
                                            const char *uri);

/* Adds a resource template (ResourceTemplate object with an RFC 6570
 * uriTemplate). A read whose URI matches no direct resource is matched
 * against the templates in order; the handler reads the variables with
 * cmcp_call_uri_var(). */
CMCP_EXTERN int cmcp_server_add_resource_template_json(
    cmcp_server_t *srv, const char *template_json, unsigned flags,
    cmcp_handler_fn fn, void *data);
CMCP_EXTERN int cmcp_server_remove_resource_template(cmcp_server_t *srv,
                                                     const char *uri_template);

/* Adds a prompt (Prompt object: name, title, description, arguments, icons,
 * _meta). Required arguments are checked before the handler runs. */
CMCP_EXTERN int cmcp_server_add_prompt_json(cmcp_server_t *srv,
                                            const char *prompt_json,
                                            unsigned flags, cmcp_handler_fn fn,
                                            void *data);
CMCP_EXTERN int cmcp_server_remove_prompt(cmcp_server_t *srv, const char *name);

/* The completion provider for completion/complete (ref/prompt and
 * ref/resource). It adds values with cmcp_call_add_completion(). */
CMCP_EXTERN int cmcp_server_set_completion(cmcp_server_t *srv,
                                           cmcp_handler_fn fn, void *data);

/* ---- notifications from anywhere (any thread) -------------------------- */

/* notifications/resources/updated to every peer subscribed to uri. */
CMCP_EXTERN int cmcp_server_notify_resource_updated(cmcp_server_t *srv,
                                                    const char *uri);
typedef enum {
  CMCP_LIST_TOOLS = 1,
  CMCP_LIST_RESOURCES = 2,
  CMCP_LIST_PROMPTS = 4
} cmcp_list_kind_t;
/* notifications/<kind>/list_changed to every peer that asked for it. */
CMCP_EXTERN int cmcp_server_notify_list_changed(cmcp_server_t *srv,
                                                unsigned kinds);
/* notifications/message to every legacy session whose level admits it. */
CMCP_EXTERN int cmcp_server_log(cmcp_server_t *srv, cmcp_log_level_t level,
                                const char *logger, const char *text);

/* ---- inside a handler: the request ------------------------------------- */

CMCP_EXTERN cmcp_server_t *cmcp_call_server(const cmcp_call_t *call);
/* "tools/call", "resources/read", "prompts/get", "completion/complete". */
CMCP_EXTERN const char *cmcp_call_method(const cmcp_call_t *call);
/* Tool or prompt name, or the resource URI being read. */
CMCP_EXTERN const char *cmcp_call_name(const cmcp_call_t *call);
/* The negotiated (legacy) or requested (modern) protocol version. */
CMCP_EXTERN const char *cmcp_call_protocol_version(const cmcp_call_t *call);
/* 1 on the 2026-07-28 wire, 0 on a legacy session. */
CMCP_EXTERN int cmcp_call_is_modern(const cmcp_call_t *call);
/* The request's params object, and its "arguments" (tools, prompts). */
CMCP_EXTERN struct json_object *cmcp_call_params(const cmcp_call_t *call);
CMCP_EXTERN struct json_object *cmcp_call_arguments(const cmcp_call_t *call);
/* Typed argument accessors: 0 on success, CMCP_ENOENT if absent,
 * CMCP_EINVAL if of another type. Strings are owned by the call. */
CMCP_EXTERN int cmcp_call_arg_string(const cmcp_call_t *call, const char *key,
                                     const char **out);
CMCP_EXTERN int cmcp_call_arg_double(const cmcp_call_t *call, const char *key,
                                     double *out);
CMCP_EXTERN int cmcp_call_arg_int64(const cmcp_call_t *call, const char *key,
                                    int64_t *out);
CMCP_EXTERN int cmcp_call_arg_bool(const cmcp_call_t *call, const char *key,
                                   int *out);
/* A variable of the matched resource template, or NULL. */
CMCP_EXTERN const char *cmcp_call_uri_var(const cmcp_call_t *call,
                                          const char *name);
/* 1 if the client declared the capability (a top-level key of
 * ClientCapabilities: "sampling", "elicitation", "roots", ...). */
CMCP_EXTERN int cmcp_call_client_has(const cmcp_call_t *call,
                                     const char *capability);
/* The feature's registration data. */
CMCP_EXTERN void *cmcp_call_data(const cmcp_call_t *call);

/* ---- inside a handler: the result -------------------------------------- */

/* Content blocks (tools/call content, prompt message content is separate). */
CMCP_EXTERN int cmcp_call_add_text(cmcp_call_t *call, const char *text);
CMCP_EXTERN int cmcp_call_add_image(cmcp_call_t *call, const char *base64,
                                    const char *mime_type);
CMCP_EXTERN int cmcp_call_add_audio(cmcp_call_t *call, const char *base64,
                                    const char *mime_type);
/* Any ContentBlock as JSON text (resource_link, resource, annotations...). */
CMCP_EXTERN int cmcp_call_add_content_json(cmcp_call_t *call,
                                           const char *block_json);
/* structuredContent (a JSON object text). */
CMCP_EXTERN int cmcp_call_set_structured(cmcp_call_t *call, const char *json);
/* resources/read contents. */
CMCP_EXTERN int cmcp_call_add_text_contents(cmcp_call_t *call, const char *uri,
                                            const char *mime_type,
                                            const char *text);
CMCP_EXTERN int cmcp_call_add_blob_contents(cmcp_call_t *call, const char *uri,
                                            const char *mime_type,
                                            const char *base64);
/* prompts/get: description and messages (content is a ContentBlock text). */
CMCP_EXTERN int cmcp_call_set_description(cmcp_call_t *call, const char *text);
CMCP_EXTERN int cmcp_call_add_prompt_message(cmcp_call_t *call,
                                             const char *role,
                                             const char *content_json);
/* completion/complete: values (at most 100 are sent), total and hasMore. */
CMCP_EXTERN int cmcp_call_add_completion(cmcp_call_t *call, const char *value);
CMCP_EXTERN int cmcp_call_set_completion_total(cmcp_call_t *call, int64_t total,
                                               int has_more);
/* Any other result field (key must not be one the engine owns). */
CMCP_EXTERN int cmcp_call_set_result_field(cmcp_call_t *call, const char *key,
                                           const char *json);

/* ---- inside a handler: finishing (exactly one of these, any thread) ---- */

/* Sends the result built so far. */
CMCP_EXTERN int cmcp_call_done(cmcp_call_t *call);
/* Sends a tool result with isError true and the message as text content
 * (tools/call only; elsewhere it is a JSON-RPC internal error). */
CMCP_EXTERN int cmcp_call_tool_error(cmcp_call_t *call, const char *message);
/* Sends a JSON-RPC error; data_json may be NULL. */
CMCP_EXTERN int cmcp_call_error(cmcp_call_t *call, int code,
                                const char *message, const char *data_json);
/* Ends the round after cmcp_call_ask_*; see the top of this header. */
CMCP_EXTERN int cmcp_call_need_input(cmcp_call_t *call);

/* ---- inside a handler: while running (any thread) ---------------------- */

/* notifications/progress, if the client gave a progressToken. total < 0 and
 * message NULL are omitted. Progress must increase; CMCP_EINVAL otherwise. */
CMCP_EXTERN int cmcp_call_progress(cmcp_call_t *call, double progress,
                                   double total, const char *message);
/* notifications/message related to this request, if the client's level
 * (logging/setLevel, or the request's _meta logLevel) admits it. data_json
 * is any JSON value text; NULL logs nothing. */
CMCP_EXTERN int cmcp_call_log(cmcp_call_t *call, cmcp_log_level_t level,
                              const char *logger, const char *data_json);
/* 1 once the client cancelled the request (or its stream closed). */
CMCP_EXTERN int cmcp_call_is_cancelled(const cmcp_call_t *call);

/* ---- inside a handler: asking the client ------------------------------- */

/* The client's answer to the ask named key (an ElicitResult,
 * CreateMessageResult or ListRootsResult object), or NULL. */
CMCP_EXTERN struct json_object *cmcp_call_input(const cmcp_call_t *call,
                                                const char *key);
/* Asks for form elicitation; requested_schema_json is the flat object
 * schema of the spec. */
CMCP_EXTERN int cmcp_call_ask_elicit(cmcp_call_t *call, const char *key,
                                     const char *message,
                                     const char *requested_schema_json);
/* Asks for URL-mode elicitation. */
CMCP_EXTERN int cmcp_call_ask_elicit_url(cmcp_call_t *call, const char *key,
                                         const char *message, const char *url,
                                         const char *elicitation_id);
/* Asks for sampling/createMessage; params_json is CreateMessageRequestParams
 * (messages, maxTokens, ...). */
CMCP_EXTERN int cmcp_call_ask_sampling(cmcp_call_t *call, const char *key,
                                       const char *params_json);
/* Asks for roots/list. */
CMCP_EXTERN int cmcp_call_ask_roots(cmcp_call_t *call, const char *key);
/* Opaque handler state carried to the next round (sealed on the modern
 * wire), and the state that came back, or NULL. */
CMCP_EXTERN int cmcp_call_set_state(cmcp_call_t *call, const char *state);
CMCP_EXTERN const char *cmcp_call_state(const cmcp_call_t *call);

/* ---- running ----------------------------------------------------------- */

/* Parses the common options (--stdio, --listen HOST:PORT, --threads N,
 * --max-connections N, --allowed-origin ORIGIN, --log-level LEVEL, --workers,
 * --help, ...) and serves until stdin ends (stdio) or SIGINT/SIGTERM.
 * Returns the process exit status. */
CMCP_EXTERN int cmcp_server_main(cmcp_server_t *srv, int argc, char **argv);

/* Serves newline-delimited JSON-RPC on the given descriptors until in_fd
 * ends and in-flight work finishes. 0 on a clean end. */
CMCP_EXTERN int cmcp_server_run_stdio(cmcp_server_t *srv, int in_fd,
                                      int out_fd);

#ifdef __cplusplus
}
#endif
#endif /* CMCP_SERVER_H */
