/* src/client/client_ask.c: what the server asks of the client and tells
 * it — server->client requests of the legacy era, the inputRequests of a
 * 2026-07-28 InputRequiredResult (MRTR), notifications — and the
 * Mcp-Param-* headers of tools whose inputSchema uses x-mcp-header.
 *
 * One ask handler serves both eras: a legacy request becomes an ask whose
 * reply is sent as the JSON-RPC response; each inputRequest of an
 * InputRequiredResult becomes an ask whose reply goes into the retry's
 * inputResponses. When every ask of the round is answered, the original
 * request is sent again with a new id, its own params, the inputResponses
 * and the requestState exactly as the server sent it ("Clients MUST NOT
 * inspect, parse, modify ... requestState"). MRTR has no slot for an
 * error: an ask answered with cmcp_ask_reply_error ends the request with
 * CMCP_ERPC and that error object.
 */
#include "base/base64.h"
#include "client/client_eng.h"

#include <string.h>

/* ---- asks -------------------------------------------------------------- */

static void ask_link(cmcp_client_t *cli, cmcp_ask_t *a) {
  a->cli = cli;
  a->next = cli->asks;
  if (cli->asks)
    cli->asks->prev = a;
  cli->asks = a;
}

static void ask_unlink(cmcp_ask_t *a) {
  cmcp_client_t *cli = a->cli;
  if (!cli)
    return;
  if (a->prev)
    a->prev->next = a->next;
  else if (cli->asks == a)
    cli->asks = a->next;
  if (a->next)
    a->next->prev = a->prev;
  a->next = a->prev = NULL;
  a->cli = NULL;
}

static void ask_free(cmcp_ask_t *a) {
  ask_unlink(a);
  json_object_put(a->id);
  json_object_put(a->params);
  cmcp__free(a->method);
  cmcp__free(a->key);
  cmcp__free(a);
}

static cmcp_ask_t *ask_new(const char *method, json_object *params) {
  cmcp_ask_t *a = cmcp__calloc(1, sizeof(*a));
  if (!a || !(a->method = cmcp__strdup(method))) {
    cmcp__free(a);
    return NULL;
  }
  a->params = params ? json_object_get(params) : NULL;
  return a;
}

void cmcp__client_detach_asks(cmcp_client_t *cli, cmcp__creq *r) {
  cmcp_ask_t *a = cli->asks, *next;
  for (; a; a = next) {
    next = a->next;
    if (r && a->req != r)
      continue;
    /* The handler still owns the ask: its reply is accepted and dropped. */
    a->cancelled = 1;
    a->req = NULL;
    ask_unlink(a);
  }
}

const char *cmcp_ask_method(const cmcp_ask_t *ask) {
  return ask ? ask->method : NULL;
}

json_object *cmcp_ask_params(const cmcp_ask_t *ask) {
  return ask ? ask->params : NULL;
}

/* The handler for method, or NULL when none is registered. */
static cmcp_ask_fn handler_for(cmcp_client_t *cli, const char *method,
                               void **data) {
  if (strcmp(method, "sampling/createMessage") == 0) {
    *data = cli->sampling_data;
    return cli->sampling_fn;
  }
  if (strcmp(method, "elicitation/create") == 0) {
    *data = cli->elicit_data;
    return cli->elicit_fn;
  }
  if (strcmp(method, "roots/list") == 0) {
    *data = cli->roots_data;
    return cli->roots_fn;
  }
  return NULL;
}

/* ---- answering a legacy server request --------------------------------- */

static int send_response(cmcp_client_t *cli, json_object *id,
                         json_object *result, int code, const char *message) {
  cmcp__csend info = {0};
  size_t len;
  char *text = result || !message
                   ? cmcp__rpc_encode_result(id, result, &len)
                   : cmcp__rpc_encode_error(id, code, message, NULL, &len);
  int st;
  if (!text)
    return CMCP_ENOMEM;
  info.protocol = cli->protocol;
  st = cmcp__client_send_text(cli, text, len, &info);
  cmcp__free(text);
  return st;
}

void cmcp__client_on_request(cmcp_client_t *cli, cmcp__msg *msg) {
  cmcp_ask_fn fn;
  cmcp_ask_t *a;
  void *data = NULL;
  /* 2026-07-28: "The server MUST NOT write JSON-RPC requests" and "The
   * client never writes JSON-RPC responses": a request is dropped. */
  if (cli->modern) {
    cmcp__log(CMCP_LOG_INFO,
              "client: ignored a %s request from the server "
              "on the 2026-07-28 wire",
              msg->method);
    return;
  }
  if (strcmp(msg->method, "ping") == 0) {
    (void)send_response(cli, msg->id, NULL, 0, NULL);
    return;
  }
  if (!(fn = handler_for(cli, msg->method, &data))) {
    (void)send_response(cli, msg->id, NULL, CMCP_JSONRPC_METHOD_NOT_FOUND,
                        "Method not found");
    return;
  }
  if (!(a = ask_new(msg->method, msg->params))) {
    (void)send_response(cli, msg->id, NULL, CMCP_JSONRPC_INTERNAL_ERROR,
                        "out of memory");
    return;
  }
  a->id = json_object_get(msg->id);
  ask_link(cli, a);
  fn(cli, a, data);
}

/* ---- MRTR -------------------------------------------------------------- */

/* Every ask of r's round is answered: retry r with a fresh id. */
static void mrtr_retry(cmcp_client_t *cli, cmcp__creq *r) {
  json_object *f = json_object_new_object();
  int st = CMCP_ENOMEM;
  if (!f)
    goto fail;
  if (r->mrtr_responses &&
      json_object_object_add(f, "inputResponses",
                             json_object_get(r->mrtr_responses)) != 0) {
    json_object_put(r->mrtr_responses);
    goto fail;
  }
  /* "If the InputRequiredResult does not contain a requestState field, the
   * client MUST NOT include one in the retry." */
  if (r->mrtr_has_state &&
      json_object_object_add(f, "requestState",
                             json_object_new_string(r->mrtr_state)) != 0)
    goto fail;
  json_object_put(r->retry_fields);
  r->retry_fields = f;
  f = NULL;
  json_object_put(r->mrtr_responses);
  r->mrtr_responses = NULL;
  if ((st = cmcp__creq_send(cli, r)) == 0)
    return;
fail:
  json_object_put(f);
  cmcp__creq_finish(r, st, NULL);
}

/* Creates the asks of one round (all of them before any handler runs, so
 * that an answer given at once cannot retry early). */
static int mrtr_asks(cmcp_client_t *cli, cmcp__creq *r, json_object *reqs,
                     cmcp_ask_t ***out, size_t *n) {
  size_t cap = (size_t)json_object_object_length(reqs), i = 0;
  cmcp_ask_t **v = cmcp__calloc(cap ? cap : 1, sizeof(*v));
  void *data;
  if (!v)
    return CMCP_ENOMEM;
  *out = v;
  json_object_object_foreach(reqs, key, ir) {
    const char *m = cmcp__json_get_string(ir, "method");
    json_object *p = json_object_object_get(ir, "params");
    if (!m || !handler_for(cli, m, &data)) {
      cmcp__client_errorf(cli,
                          "%s: the server asked for %s, which this "
                          "client did not declare",
                          r->method, m ? m : "(no method)");
      *n = i;
      return CMCP_EPROTO;
    }
    if (!(v[i] = ask_new(m, p)) || !(v[i]->key = cmcp__strdup(key))) {
      *n = i + (v[i] != NULL);
      return CMCP_ENOMEM;
    }
    v[i]->req = r;
    i++;
  }
  *n = i;
  return 0;
}

/* Keeps requestState for the retry. */
static int mrtr_keep_state(cmcp__creq *r, json_object *result) {
  json_object *s = NULL;
  cmcp__free(r->mrtr_state);
  r->mrtr_state = NULL;
  r->mrtr_has_state = 0;
  if (!json_object_object_get_ex(result, "requestState", &s))
    return 0;
  if (!json_object_is_type(s, json_type_string))
    return CMCP_EPROTO;
  if (!(r->mrtr_state = cmcp__strndup(json_object_get_string(s),
                                      (size_t)json_object_get_string_len(s))))
    return CMCP_ENOMEM;
  r->mrtr_has_state = 1;
  return 0;
}

void cmcp__client_on_input_required(cmcp_client_t *cli, cmcp__creq *r,
                                    json_object *result) {
  json_object *reqs = json_object_object_get(result, "inputRequests");
  cmcp_ask_t **asks = NULL;
  size_t n = 0;
  int st;
  if (++r->rounds > cli->limits[CMCP_CLIENT_LIMIT_MRTR_ROUNDS]) {
    cmcp__client_errorf(cli, "%s: more than %lld InputRequiredResult rounds",
                        r->method,
                        (long long)cli->limits[CMCP_CLIENT_LIMIT_MRTR_ROUNDS]);
    st = CMCP_EPROTO;
    goto fail;
  }
  if ((st = mrtr_keep_state(r, result)) != 0)
    goto fail;
  if (reqs && !json_object_is_type(reqs, json_type_object)) {
    st = CMCP_EPROTO;
    goto fail;
  }
  /* "If the InputRequiredResult does not contain the inputRequests field,
   * the client MAY retry the original request immediately." */
  if (!reqs || json_object_object_length(reqs) == 0) {
    json_object_put(r->mrtr_responses);
    r->mrtr_responses = NULL;
    mrtr_retry(cli, r);
    return;
  }
  json_object_put(r->mrtr_responses);
  if (!(r->mrtr_responses = json_object_new_object())) {
    st = CMCP_ENOMEM;
    goto fail;
  }
  if ((st = mrtr_asks(cli, r, reqs, &asks, &n)) != 0)
    goto fail;
  r->mrtr_pending = (int)n;
  for (size_t i = 0; i < n; i++)
    ask_link(cli, asks[i]);
  for (size_t i = 0; i < n; i++) {
    void *data = NULL;
    cmcp_ask_t *a = asks[i];
    cmcp_ask_fn fn = handler_for(cli, a->method, &data);
    asks[i] = NULL;
    if (r->finished || cli->state == CMCP__CLI_CLOSING) {
      ask_free(a); /* the request ended: this one was never handed out */
      continue;
    }
    fn(cli, a, data); /* the handler owns a from here */
  }
  cmcp__free(asks);
  return;
fail:
  for (size_t i = 0; i < n; i++)
    if (asks[i])
      ask_free(asks[i]);
  cmcp__free(asks);
  cmcp__creq_finish(r, st, NULL);
}

/* An ask of an MRTR round was answered with result (consumed). */
static int mrtr_answer(cmcp_ask_t *a, json_object *result) {
  cmcp__creq *r = a->req;
  cmcp_client_t *cli = a->cli;
  if (json_object_object_add(r->mrtr_responses, a->key, result) != 0) {
    json_object_put(result);
    ask_free(a);
    cmcp__creq_finish(r, CMCP_ENOMEM, NULL);
    return CMCP_ENOMEM;
  }
  ask_free(a);
  if (--r->mrtr_pending == 0)
    mrtr_retry(cli, r);
  return 0;
}

int cmcp_ask_reply(cmcp_ask_t *ask, const char *result_json) {
  json_object *res = NULL;
  int st;
  if (!ask)
    return CMCP_EINVAL;
  if ((st = cmcp__json_parse_object(result_json, &res)) != 0)
    return st; /* the ask stays: the handler may answer again */
  if (ask->cancelled || !ask->cli) {
    json_object_put(res);
    ask_free(ask);
    return 0;
  }
  if (ask->req)
    return mrtr_answer(ask, res);
  st = send_response(ask->cli, ask->id, res, 0, NULL);
  json_object_put(res);
  ask_free(ask);
  return st;
}

int cmcp_ask_reply_error(cmcp_ask_t *ask, int code, const char *message) {
  json_object *err;
  cmcp__creq *r;
  int st = 0;
  if (!ask)
    return CMCP_EINVAL;
  if (!message)
    message = "";
  if (ask->cancelled || !ask->cli) {
    ask_free(ask);
    return 0;
  }
  if (!(r = ask->req)) {
    st = send_response(ask->cli, ask->id, NULL, code, message);
    ask_free(ask);
    return st;
  }
  cmcp__client_errorf(ask->cli, "%s: the %s handler refused: %s", r->method,
                      ask->method, message);
  ask_free(ask);
  err = json_object_new_object();
  if (err) {
    json_object_object_add(err, "code", json_object_new_int(code));
    json_object_object_add(err, "message", json_object_new_string(message));
  }
  cmcp__creq_finish(r, err ? CMCP_ERPC : CMCP_ENOMEM, err);
  json_object_put(err);
  return 0;
}

/* ---- notifications ----------------------------------------------------- */

/* Drops what a change notification makes stale. */
static void invalidate(cmcp_client_t *cli, const char *method) {
  if (strcmp(method, "notifications/tools/list_changed") == 0)
    cmcp__cache_drop(cli, "tools/list");
  else if (strcmp(method, "notifications/prompts/list_changed") == 0)
    cmcp__cache_drop(cli, "prompts/list");
  else if (strcmp(method, "notifications/resources/list_changed") == 0) {
    cmcp__cache_drop(cli, "resources/list");
    cmcp__cache_drop(cli, "resources/templates/list");
  } else if (strcmp(method, "notifications/resources/updated") == 0)
    cmcp__cache_drop(cli, "resources/read");
}

/* notifications/cancelled for a request the server made of us. */
static void server_cancelled(cmcp_client_t *cli, json_object *params) {
  json_object *id = json_object_object_get(params, "requestId");
  for (cmcp_ask_t *a = cli->asks; a && id; a = a->next)
    if (a->id && cmcp__rpc_id_equal(a->id, id)) {
      a->cancelled = 1;
      return;
    }
}

void cmcp__client_on_notify(cmcp_client_t *cli, cmcp__msg *msg) {
  if (strcmp(msg->method, "notifications/cancelled") == 0)
    server_cancelled(cli, msg->params);
  invalidate(cli, msg->method);
  if (cli->notify_fn)
    cli->notify_fn(cli, msg->method, msg->params, cli->notify_data);
}

/* ---- tools and x-mcp-header -------------------------------------------- */

/* An RFC 9110 token character. */
int cmcp__client_tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Checks the x-mcp-header annotations under schema's properties (only
 * chains of "properties" keys may carry them), collecting the names in
 * seen. NULL if valid, else the reason. */
static const char *check_props(json_object *schema, json_object *seen,
                               int depth) {
  json_object *props = json_object_object_get(schema, "properties");
  if (!json_object_is_type(props, json_type_object) || depth > 32)
    return NULL;
  json_object_object_foreach(props, pname, p) {
    json_object *h = json_object_object_get(p, "x-mcp-header");
    const char *why;
    CMCP__UNUSED(pname);
    if (h) {
      const char *s = json_object_get_string(h), *type;
      char low[256];
      size_t n;
      if (!json_object_is_type(h, json_type_string) || !*s)
        return "an x-mcp-header is empty or not a string";
      n = (size_t)json_object_get_string_len(h);
      if (n >= sizeof(low))
        return "an x-mcp-header is too long";
      for (size_t i = 0; i < n; i++) {
        if (!cmcp__client_tchar((unsigned char)s[i]))
          return "an x-mcp-header is not an HTTP token";
        low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
      }
      low[n] = '\0';
      if (json_object_object_get_ex(seen, low, NULL))
        return "two x-mcp-header values are equal ignoring case";
      json_object_object_add(seen, low, NULL);
      /* "MUST only be applied to parameters with primitive types (integer,
       * string, boolean). Parameters with type number are not permitted." */
      type = cmcp__json_get_string(p, "type");
      if (!type ||
          (strcmp(type, "string") != 0 && strcmp(type, "integer") != 0 &&
           strcmp(type, "boolean") != 0))
        return "an x-mcp-header is on a parameter that is not a string, "
               "integer or boolean";
    }
    if ((why = check_props(p, seen, depth + 1)) != NULL)
      return why;
  }
  return NULL;
}

/* NULL if tool's x-mcp-header annotations are valid, else the reason. */
static const char *tool_invalid(json_object *tool) {
  json_object *seen = json_object_new_object();
  const char *why;
  if (!seen)
    return NULL;
  why = check_props(json_object_object_get(tool, "inputSchema"), seen, 0);
  json_object_put(seen);
  return why;
}

void cmcp__client_take_tools(cmcp_client_t *cli, json_object *result,
                             int filter) {
  json_object *arr = json_object_object_get(result, "tools");
  size_t i = 0;
  if (!json_object_is_type(arr, json_type_array))
    return;
  if (!cli->tools && !(cli->tools = json_object_new_object()))
    return;
  while (i < json_object_array_length(arr)) {
    json_object *tool = json_object_array_get_idx(arr, i);
    const char *name = cmcp__json_get_string(tool, "name");
    const char *why = filter ? tool_invalid(tool) : NULL;
    /* "Clients using the Streamable HTTP transport MUST reject tool
     * definitions where any x-mcp-header value violates these constraints.
     * Rejection means the client MUST exclude the invalid tool from the
     * result of tools/list." */
    if (why) {
      cmcp__log(CMCP_LOG_WARNING, "client: tool %s rejected: %s",
                name ? name : "(unnamed)", why);
      json_object_array_del_idx(arr, i, 1);
      continue;
    }
    /* Bounded: past the bound the map starts afresh (a call to a tool
     * forgotten that way goes without Mcp-Param headers until its
     * definition is listed again). */
    if (name && json_object_object_length(cli->tools) >= CMCP__TOOLS_MAX &&
        !json_object_object_get_ex(cli->tools, name, NULL)) {
      json_object_put(cli->tools);
      if (!(cli->tools = json_object_new_object()))
        return;
    }
    if (name)
      json_object_object_add(cli->tools, name, json_object_get(tool));
    i++;
  }
}

/* Whether s[0..len) can go into a header as it is: visible ASCII and
 * inner spaces only, no leading or trailing whitespace, and not looking
 * like the base64 sentinel. The empty string is sent encoded too: HTTP
 * stacks drop an empty header (libcurl does), and a server MUST reject a
 * call whose annotated value is in the body but not in a header. */
static int header_plain(const char *s, size_t len) {
  if (len == 0)
    return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c > 0x7e)
      return 0;
  }
  if (len > 0 && (s[0] == ' ' || s[len - 1] == ' '))
    return 0;
  if (len >= 11 && memcmp(s, "=?base64?", 9) == 0 &&
      memcmp(s + len - 2, "?=", 2) == 0)
    return 0;
  return 1;
}

int cmcp__client_header_value(const char *s, size_t len, cmcp__buf *out) {
  int st;
  if (header_plain(s, len))
    return cmcp__buf_add(out, s, len);
  if ((st = cmcp__buf_adds(out, "=?base64?")) != 0 ||
      (st = cmcp__base64_encode(s, len, CMCP__B64_STD, out)) != 0)
    return st;
  return cmcp__buf_adds(out, "?=");
}

/* Appends one "Mcp-Param-Name: value" line for value v to lines. */
static int add_param_line(const char *hname, json_object *v, char ***lines,
                          size_t *n) {
  cmcp__buf b;
  char num[32], **nl;
  const char *s;
  size_t len;
  int st;
  switch (json_object_get_type(v)) {
  case json_type_string:
    s = json_object_get_string(v);
    len = (size_t)json_object_get_string_len(v);
    break;
  case json_type_boolean:
    s = json_object_get_boolean(v) ? "true" : "false";
    len = strlen(s);
    break;
  case json_type_int:
    len = (size_t)snprintf(num, sizeof(num), "%lld",
                           (long long)json_object_get_int64(v));
    s = num;
    break;
  default:
    return 0; /* null, absent or not a primitive: "the header is omitted" */
  }
  cmcp__buf_init(&b, (size_t)1 << 20);
  if ((st = cmcp__buf_printf(&b, "Mcp-Param-%s: ", hname)) != 0 ||
      (st = cmcp__client_header_value(s, len, &b)) != 0)
    goto fail;
  if (!(nl = cmcp__realloc(*lines, (*n + 2) * sizeof(*nl)))) {
    st = CMCP_ENOMEM;
    goto fail;
  }
  *lines = nl;
  nl[(*n)++] = cmcp__buf_take(&b, NULL);
  nl[*n] = NULL;
  return 0;
fail:
  cmcp__buf_free(&b);
  return st;
}

/* Walks schema's properties alongside args (the instance at that path). */
static int collect(json_object *schema, json_object *args, char ***lines,
                   size_t *n, int depth) {
  json_object *props = json_object_object_get(schema, "properties");
  int st;
  if (!json_object_is_type(props, json_type_object) ||
      !json_object_is_type(args, json_type_object) || depth > 32)
    return 0;
  json_object_object_foreach(props, pname, p) {
    json_object *v = NULL, *h = json_object_object_get(p, "x-mcp-header");
    if (!json_object_object_get_ex(args, pname, &v))
      continue;
    if (h && (st = add_param_line(json_object_get_string(h), v, lines, n)) != 0)
      return st;
    if ((st = collect(p, v, lines, n, depth + 1)) != 0)
      return st;
  }
  return 0;
}

char **cmcp__client_tool_headers(cmcp_client_t *cli, const char *name,
                                 json_object *arguments, int *status) {
  json_object *tool = NULL;
  char **lines = NULL;
  size_t n = 0;
  *status = 0;
  if (!cli->url || !cli->tools ||
      !json_object_object_get_ex(cli->tools, name, &tool))
    return NULL;
  *status = collect(json_object_object_get(tool, "inputSchema"), arguments,
                    &lines, &n, 0);
  if (*status != 0) {
    cmcp__strv_free(lines);
    return NULL;
  }
  return lines;
}
