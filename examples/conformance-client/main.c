/* cmcp-conformance-client: the client the official MCP conformance suite
 * drives. Built on the public API only.
 *
 *   cmcp-conformance-client [--verbose] SERVER_URL
 *
 * The suite sets MCP_CONFORMANCE_SCENARIO (the scenario's name),
 * MCP_CONFORMANCE_PROTOCOL_VERSION (the revision whose wire to speak) and,
 * for some scenarios, MCP_CONFORMANCE_CONTEXT (JSON: client credentials,
 * the tool calls to make). Every scenario runs the same session, which
 * exercises what any of them looks at: connect (discover or initialize),
 * list the tools and call each (with the context's arguments, else with
 * arguments made from the tool's inputSchema), then list and read
 * resources and list and get prompts when the server has them. The server
 * may ask for elicitation (answered with the schema's defaults), sampling
 * or roots on the way; auth/ scenarios authorize through OAuth first.
 *
 * Exit status: 0 when the session ran, 1 when connecting or listing tools
 * failed (which some scenarios expect: a client must refuse a bad
 * authorization server), 2 for bad usage.
 */
#include "cmcp.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CALLS 64 /* tools called at most per session */

/* The client ID metadata document URL the suite's CIMD scenarios expect. */
#define CIMD_URL "https://conformance-test.local/client-metadata.json"

typedef struct run {
  const char *url;
  const char *scenario;
  const char *version;
  json_object *context; /* or NULL */
  int verbose;
  cmcp_client_t *cli;
  cmcp_oauth_t *oauth;
} run;

static void say(const run *r, const char *fmt, const char *a, const char *b) {
  if (!r->verbose)
    return;
  fprintf(stderr, "conformance-client: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
}

/* ---- what the server may ask ------------------------------------------- */

/* A value for a property with no default: what an accepting user would
 * most plausibly give. NULL when the type is unknown. */
static json_object *sample_value(json_object *prop) {
  json_object *t = NULL, *e = NULL;
  const char *type = NULL;
  if (json_object_object_get_ex(prop, "enum", &e) &&
      json_object_is_type(e, json_type_array) &&
      json_object_array_length(e) > 0)
    return json_object_get(json_object_array_get_idx(e, 0));
  if (json_object_object_get_ex(prop, "type", &t) &&
      json_object_is_type(t, json_type_string))
    type = json_object_get_string(t);
  if (type == NULL)
    return NULL;
  if (strcmp(type, "string") == 0)
    return json_object_new_string("sample");
  if (strcmp(type, "integer") == 0)
    return json_object_new_int(1);
  if (strcmp(type, "number") == 0)
    return json_object_new_double(1.5);
  if (strcmp(type, "boolean") == 0)
    return json_object_new_boolean(1);
  if (strcmp(type, "array") == 0)
    return json_object_new_array();
  if (strcmp(type, "object") == 0)
    return json_object_new_object();
  return NULL;
}

/* An object for schema's properties: each default (SEP-1034: a client
 * applies the defaults of fields the user leaves alone), and a sample for
 * every required property without one. */
static json_object *fill_from_schema(json_object *schema) {
  json_object *out = json_object_new_object(), *props = NULL, *req = NULL;
  if (out == NULL || !json_object_object_get_ex(schema, "properties", &props) ||
      !json_object_is_type(props, json_type_object))
    return out;
  json_object_object_get_ex(schema, "required", &req);
  json_object_object_foreach(props, key, prop) {
    json_object *def = NULL, *v = NULL;
    size_t i, n = json_object_is_type(req, json_type_array)
                      ? json_object_array_length(req)
                      : 0;
    int required = 0;
    for (i = 0; i < n; i++)
      required |=
          strcmp(json_object_get_string(json_object_array_get_idx(req, i)),
                 key) == 0;
    if (json_object_object_get_ex(prop, "default", &def))
      v = json_object_get(def);
    else if (required)
      v = sample_value(prop);
    if (v != NULL)
      json_object_object_add(out, key, v);
  }
  return out;
}

static void on_elicit(cmcp_client_t *cli, cmcp_ask_t *ask, void *data) {
  json_object *params = cmcp_ask_params(ask), *schema = NULL, *res;
  json_object *m = NULL;
  const char *mode = NULL;
  (void)cli;
  (void)data;
  if (json_object_object_get_ex(params, "mode", &m))
    mode = json_object_get_string(m);
  res = json_object_new_object();
  json_object_object_add(res, "action", json_object_new_string("accept"));
  if (mode == NULL || strcmp(mode, "url") != 0) {
    json_object_object_get_ex(params, "requestedSchema", &schema);
    json_object_object_add(res, "content", fill_from_schema(schema));
  }
  cmcp_ask_reply(ask,
                 json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN));
  json_object_put(res);
}

static void on_sampling(cmcp_client_t *cli, cmcp_ask_t *ask, void *data) {
  (void)cli;
  (void)data;
  cmcp_ask_reply(ask, "{\"role\":\"assistant\",\"content\":{\"type\":\"text\","
                      "\"text\":\"A sampled answer.\"},\"model\":"
                      "\"conformance-model\",\"stopReason\":\"endTurn\"}");
}

static void on_roots(cmcp_client_t *cli, cmcp_ask_t *ask, void *data) {
  (void)cli;
  (void)data;
  cmcp_ask_reply(ask, "{\"roots\":[{\"uri\":\"file:///tmp/conformance\","
                      "\"name\":\"conformance\"}]}");
}

/* ---- OAuth ------------------------------------------------------------- */

/* A string member of the context, or NULL. */
static const char *ctx_str(const run *r, const char *key) {
  json_object *v = NULL;
  if (r->context == NULL || !json_object_object_get_ex(r->context, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

/* The suite's authorization servers redirect at once: a headless user
 * agent does. Credentials come from the context when it has them; the
 * client ID metadata document URL is the one the suite expects. */
static int setup_oauth(run *r) {
  const char *id = ctx_str(r, "client_id");
  int rc;
  r->oauth = cmcp_oauth_new();
  if (r->oauth == NULL)
    return CMCP_ENOMEM;
  rc = cmcp_oauth_use_headless(r->oauth);
  if (rc == 0)
    rc =
        cmcp_oauth_set_redirect_uri(r->oauth, "http://localhost:3000/callback");
  if (rc == 0)
    rc = cmcp_oauth_set_client_name(r->oauth, "cmcp-conformance-client");
  if (rc == 0)
    rc = cmcp_oauth_set_client_metadata_url(r->oauth, CIMD_URL);
  if (rc == 0 && id != NULL)
    rc = cmcp_oauth_set_client(r->oauth, id, ctx_str(r, "client_secret"),
                               ctx_str(r, "issuer"));
  if (rc == 0)
    rc = cmcp_client_set_oauth(r->cli, r->oauth);
  return rc;
}

/* ---- the session ------------------------------------------------------- */

/* Calls name with args (JSON text); a failure is reported, not fatal. */
static void call_tool(run *r, const char *name, const char *args) {
  json_object *res = NULL;
  int rc = cmcp_client_call_tool_sync(r->cli, name, args, &res);
  say(r, "tools/call %s: %s", name,
      rc == 0 ? (cmcp_result_is_tool_error(res) ? "tool error" : "ok")
              : cmcp_strerror(rc));
  if (rc != 0 && rc != CMCP_ERPC)
    say(r, "  (%s)%s", cmcp_client_last_error(r->cli), "");
  json_object_put(res);
}

/* The context's toolCalls ([{name, arguments}]), when there are some. */
static int call_from_context(run *r) {
  json_object *calls = NULL;
  size_t i, n;
  if (r->context == NULL ||
      !json_object_object_get_ex(r->context, "toolCalls", &calls) ||
      !json_object_is_type(calls, json_type_array))
    return 0;
  n = json_object_array_length(calls);
  for (i = 0; i < n && i < MAX_CALLS; i++) {
    json_object *c = json_object_array_get_idx(calls, i), *name, *args = NULL;
    if (!json_object_object_get_ex(c, "name", &name))
      continue;
    json_object_object_get_ex(c, "arguments", &args);
    call_tool(r, json_object_get_string(name),
              args
                  ? json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN)
                  : NULL);
  }
  return 1;
}

/* Calls every listed tool with arguments made from its inputSchema. */
static void call_listed(run *r, json_object *list) {
  json_object *tools = NULL;
  size_t i, n;
  if (!json_object_object_get_ex(list, "tools", &tools) ||
      !json_object_is_type(tools, json_type_array))
    return;
  n = json_object_array_length(tools);
  for (i = 0; i < n && i < MAX_CALLS; i++) {
    json_object *t = json_object_array_get_idx(tools, i), *name, *schema = NULL;
    json_object *args;
    if (!json_object_object_get_ex(t, "name", &name))
      continue;
    json_object_object_get_ex(t, "inputSchema", &schema);
    args = fill_from_schema(schema);
    call_tool(r, json_object_get_string(name),
              json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN));
    json_object_put(args);
  }
}

/* Runs method with params and then, for the first item of the result's
 * array key, follow (with the item's field as its params key). */
static void list_then(run *r, const char *method, const char *key,
                      const char *follow, const char *field) {
  json_object *res = NULL, *arr = NULL, *first, *v;
  char params[1024];
  int rc = cmcp_client_request_sync(r->cli, method, NULL, &res);
  say(r, "%s: %s", method, cmcp_strerror(rc));
  if (rc == 0 && json_object_object_get_ex(res, key, &arr) &&
      json_object_is_type(arr, json_type_array) &&
      json_object_array_length(arr) > 0 &&
      (first = json_object_array_get_idx(arr, 0)) != NULL &&
      json_object_object_get_ex(first, field, &v)) {
    json_object *p = json_object_new_object(), *out = NULL;
    json_object_object_add(p, field, json_object_get(v));
    snprintf(params, sizeof(params), "%s",
             json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
    json_object_put(p);
    rc = cmcp_client_request_sync(r->cli, follow, params, &out);
    say(r, "%s: %s", follow, cmcp_strerror(rc));
    json_object_put(out);
  }
  json_object_put(res);
}

static void on_listen_end(cmcp_client_t *cli, int status, json_object *res,
                          void *data) {
  (void)cli;
  (void)res;
  say(data, "the standalone stream ended: %s%s", cmcp_strerror(status), "");
}

static int session(run *r) {
  json_object *res = NULL;
  int rc = cmcp_client_connect_sync(r->cli, &res);
  json_object_put(res);
  if (rc != 0) {
    fprintf(stderr, "conformance-client: connect: %s: %s\n", cmcp_strerror(rc),
            cmcp_client_last_error(r->cli));
    return 1;
  }
  say(r, "connected (%s)%s", cmcp_client_protocol_version(r->cli), "");
  /* A legacy server may ask (elicitation, sampling, roots) on the
   * session's standalone stream rather than on a request's own. */
  if (!cmcp_client_is_modern(r->cli)) {
    rc = cmcp_client_listen(r->cli, NULL, on_listen_end, r, NULL);
    say(r, "listen: %s%s", cmcp_strerror(rc), "");
  }
  res = NULL;
  rc = cmcp_client_request_sync(r->cli, "tools/list", NULL, &res);
  if (rc != 0) {
    fprintf(stderr, "conformance-client: tools/list: %s: %s\n",
            cmcp_strerror(rc), cmcp_client_last_error(r->cli));
    json_object_put(res);
    return 1;
  }
  if (!call_from_context(r))
    call_listed(r, res);
  json_object_put(res);
  if (cmcp_client_server_has(r->cli, "resources"))
    list_then(r, "resources/list", "resources", "resources/read", "uri");
  if (cmcp_client_server_has(r->cli, "prompts"))
    list_then(r, "prompts/list", "prompts", "prompts/get", "name");
  return 0;
}

static int setup(run *r) {
  int rc;
  r->cli =
      cmcp_client_new(NULL, "cmcp-conformance-client", CMCP_VERSION_STRING);
  if (r->cli == NULL)
    return CMCP_ENOMEM;
  rc = cmcp_client_set_url(r->cli, r->url);
  if (rc == 0 && r->version != NULL)
    rc = cmcp_client_set_protocol(r->cli, r->version);
  if (rc == 0)
    rc = cmcp_client_set_timeout(r->cli, 20000);
  if (rc == 0)
    rc = cmcp_client_on_elicitation(r->cli, CMCP_ELICIT_FORM | CMCP_ELICIT_URL,
                                    on_elicit, r);
  if (rc == 0)
    rc = cmcp_client_on_sampling(r->cli, on_sampling, r);
  if (rc == 0)
    rc = cmcp_client_on_roots(r->cli, 0, on_roots, r);
  if (rc == 0 && strncmp(r->scenario, "auth/", 5) == 0)
    rc = setup_oauth(r);
  return rc;
}

int main(int argc, char **argv) {
  run r;
  const char *ctx;
  int i, rc, status = 2;
  memset(&r, 0, sizeof(r));
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--verbose") == 0)
      r.verbose = 1;
    else if (strcmp(argv[i], "--help") == 0 || argv[i][0] == '-')
      goto usage;
    else
      r.url = argv[i]; /* the last one wins: the suite appends the URL */
  }
  if (r.url == NULL)
    goto usage;
  r.scenario = getenv("MCP_CONFORMANCE_SCENARIO");
  r.scenario = r.scenario != NULL ? r.scenario : "";
  r.version = getenv("MCP_CONFORMANCE_PROTOCOL_VERSION");
  ctx = getenv("MCP_CONFORMANCE_CONTEXT");
  if (ctx != NULL && (r.context = json_tokener_parse(ctx)) == NULL)
    fprintf(stderr, "conformance-client: MCP_CONFORMANCE_CONTEXT is not "
                    "JSON; ignored\n");
  rc = setup(&r);
  if (rc != 0) {
    fprintf(stderr, "conformance-client: setup: %s\n", cmcp_strerror(rc));
    status = 1;
  } else {
    status = session(&r);
  }
  if (status != 0 && r.oauth != NULL && *cmcp_oauth_last_error(r.oauth))
    fprintf(stderr, "conformance-client: oauth: %s\n",
            cmcp_oauth_last_error(r.oauth));
  cmcp_client_free(r.cli);
  cmcp_oauth_free(r.oauth);
  json_object_put(r.context);
  return status;
usage:
  fprintf(stderr, "usage: cmcp-conformance-client [--verbose] SERVER_URL\n"
                  "  (scenario in MCP_CONFORMANCE_SCENARIO, context in "
                  "MCP_CONFORMANCE_CONTEXT)\n");
  return 2;
}
