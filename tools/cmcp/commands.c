/* tools/cmcp/commands.c: the commands, each a few client calls and a
 * printer. Every command prints the exact result object with --json. */
#include "cli.h"

#include <string.h>

/* Prints a result as JSON or with printer; the exit code. */
static int show(cli_ctx *c, json_object *res, void (*printer)(json_object *)) {
  if (c->o->json)
    cli_print_json(stdout, res);
  else
    printer(res);
  fflush(stdout);
  json_object_put(res);
  return CLI_EXIT_OK;
}

/* Waits for the request armed (the arming call's status) and shows its
 * result with printer, or reports its failure as request what; the exit
 * code. */
static int finish(cli_ctx *c, const char *what, int armed,
                  void (*printer)(json_object *)) {
  json_object *res = NULL;
  int st = cli_wait(c, armed, &res), rc;

  if (st != 0) {
    rc = cli_fail(c, what, st, res);
    json_object_put(res);
    return rc;
  }
  return show(c, res, printer);
}

/* Runs a list method over every page. */
static int list_all(cli_ctx *c, const char *method,
                    void (*printer)(json_object *)) {
  return finish(c, method,
                cmcp_client_list_all(c->cli, method, 0, cli_on_result, c),
                printer);
}

static int cmd_tools_list(cli_ctx *c, const char *const *a, int n) {
  (void)a, (void)n;
  return list_all(c, "tools/list", cli_print_tools);
}

static int cmd_resources_list(cli_ctx *c, const char *const *a, int n) {
  (void)a, (void)n;
  return list_all(c, "resources/list", cli_print_resources);
}

static int cmd_resources_templates(cli_ctx *c, const char *const *a, int n) {
  (void)a, (void)n;
  return list_all(c, "resources/templates/list", cli_print_templates);
}

static int cmd_prompts_list(cli_ctx *c, const char *const *a, int n) {
  (void)a, (void)n;
  return list_all(c, "prompts/list", cli_print_prompts);
}

/* The inputSchema of tool name, from tools/list (a new reference), or NULL
 * when the tool is not listed or the list fails (values then stay
 * strings, and the server says what is wrong). */
static json_object *tool_schema(cli_ctx *c, const char *name) {
  json_object *res = NULL, *tools, *schema = NULL;
  size_t i;

  if (cli_wait(c,
               cmcp_client_list_all(c->cli, "tools/list", 0, cli_on_result, c),
               &res) != 0 ||
      !json_object_object_get_ex(res, "tools", &tools) ||
      !json_object_is_type(tools, json_type_array))
    goto out;
  for (i = 0; i < json_object_array_length(tools); i++) {
    json_object *t = json_object_array_get_idx(tools, i), *v;
    if (json_object_object_get_ex(t, "name", &v) &&
        strcmp(json_object_get_string(v), name) == 0 &&
        json_object_object_get_ex(t, "inputSchema", &v)) {
      schema = json_object_get(v);
      break;
    }
  }
out:
  json_object_put(res);
  return schema;
}

static int cmd_tools_call(cli_ctx *c, const char *const *a, int n) {
  json_object *schema = NULL, *args = NULL, *res = NULL;
  char err[256];
  int st, rc;
  unsigned flags = c->o->progress ? CMCP_REQ_PROGRESS : 0;

  if (n > 1)
    schema = tool_schema(c, a[0]);
  rc = cli_build_arguments(schema, c->o->args_json, a + 1, n - 1, &args, err,
                           sizeof(err));
  json_object_put(schema);
  if (rc != 0) {
    fprintf(stderr, "cmcp: %s\n", err);
    return rc;
  }
  c->has_req = 1;
  st = cmcp_client_call_tool(
      c->cli, a[0],
      json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN), flags,
      cli_on_result, c, &c->req);
  json_object_put(args);
  if ((st = cli_wait(c, st, &res)) != 0) {
    rc = cli_fail(c, "tools/call", st, res);
    json_object_put(res);
    return rc;
  }
  rc = cmcp_result_is_tool_error(res) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
  if (c->o->json)
    cli_print_json(stdout, res);
  else
    cli_print_tool_result(rc == CLI_EXIT_OK ? stdout : stderr, res);
  if (rc != CLI_EXIT_OK)
    fprintf(stderr, "cmcp: tool %s reported an error\n", a[0]);
  json_object_put(res);
  return rc;
}

static int cmd_resources_read(cli_ctx *c, const char *const *a, int n) {
  (void)n;
  return finish(c, "resources/read",
                cmcp_client_read_resource(c->cli, a[0], cli_on_result, c),
                cli_print_read_result);
}

static int cmd_prompts_get(cli_ctx *c, const char *const *a, int n) {
  json_object *args = NULL;
  char err[256];
  int st, rc;

  if ((rc = cli_build_string_map(c->o->args_json, a + 1, n - 1, &args, err,
                                 sizeof(err))) != 0) {
    fprintf(stderr, "cmcp: %s\n", err);
    return rc;
  }
  st = cmcp_client_get_prompt(
      c->cli, a[0],
      json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN),
      cli_on_result, c);
  json_object_put(args);
  return finish(c, "prompts/get", st, cli_print_prompt_result);
}

/* complete prompt NAME ARG VALUE | complete resource URI ARG VALUE */
static int cmd_complete(cli_ctx *c, const char *const *a, int n) {
  json_object *ref = NULL, *ctx = NULL;
  int prompt = strcmp(a[0], "prompt") == 0, st, rc = CLI_EXIT_CONN;
  char err[256];

  (void)n;
  if (!prompt && strcmp(a[0], "resource") != 0) {
    fprintf(stderr, "cmcp: complete wants 'prompt' or 'resource', not '%s'\n",
            a[0]);
    return CLI_EXIT_USAGE;
  }
  if (c->o->ncontext > 0 &&
      (rc = cli_build_string_map(NULL, c->o->context, c->o->ncontext, &ctx, err,
                                 sizeof(err))) != 0) {
    fprintf(stderr, "cmcp: --context: %s\n", err);
    return rc;
  }
  if ((ref = json_object_new_object()) == NULL)
    goto out;
  json_object_object_add(
      ref, "type",
      json_object_new_string(prompt ? "ref/prompt" : "ref/resource"));
  json_object_object_add(ref, prompt ? "name" : "uri",
                         json_object_new_string(a[1]));
  st = cmcp_client_complete(
      c->cli, json_object_to_json_string_ext(ref, JSON_C_TO_STRING_PLAIN), a[2],
      a[3],
      ctx ? json_object_to_json_string_ext(ctx, JSON_C_TO_STRING_PLAIN) : NULL,
      cli_on_result, c);
  rc = finish(c, "completion/complete", st, cli_print_completion);
out:
  json_object_put(ref);
  json_object_put(ctx);
  return rc;
}

/* ping's answer is empty: says ok. */
static void print_pong(json_object *res) {
  (void)res;
  printf("ok\n");
}

static int cmd_ping(cli_ctx *c, const char *const *a, int n) {
  (void)a, (void)n;
  return finish(c, "ping", cmcp_client_ping(c->cli, cli_on_result, c),
                print_pong);
}

static int cmd_discover(cli_ctx *c, const char *const *a, int n) {
  (void)a, (void)n;
  if (c->o->json)
    cli_print_json(stdout, c->connect_result);
  else
    cli_print_discover(c->cli);
  fflush(stdout);
  return CLI_EXIT_OK;
}

/* The subscriptions/listen params for --resource URIs (NULL: the
 * library's default, every list change). */
static json_object *listen_filter(const cli_opts *o) {
  json_object *params, *filt, *uris;
  int i;

  if (o->nresources == 0)
    return NULL;
  params = json_object_new_object();
  filt = json_object_new_object();
  uris = json_object_new_array();
  if (params == NULL || filt == NULL || uris == NULL) {
    json_object_put(params);
    json_object_put(filt);
    json_object_put(uris);
    return NULL;
  }
  json_object_object_add(filt, "toolsListChanged", json_object_new_boolean(1));
  json_object_object_add(filt, "promptsListChanged",
                         json_object_new_boolean(1));
  json_object_object_add(filt, "resourcesListChanged",
                         json_object_new_boolean(1));
  for (i = 0; i < o->nresources; i++)
    json_object_array_add(uris, json_object_new_string(o->resources[i]));
  json_object_object_add(filt, "resourceSubscriptions", uris);
  json_object_object_add(params, "notifications", filt);
  return params;
}

/* On a legacy session, resources/subscribe for each --resource. */
static int subscribe_legacy(cli_ctx *c) {
  json_object *res = NULL;
  int i, st, rc;

  for (i = 0; i < c->o->nresources; i++) {
    st = cli_wait(
        c, cmcp_client_subscribe(c->cli, c->o->resources[i], cli_on_result, c),
        &res);
    if (st != 0) {
      rc = cli_fail(c, "resources/subscribe", st, res);
      json_object_put(res);
      return rc;
    }
    json_object_put(res);
  }
  return 0;
}

/* Waits until SIGINT or --count when notifications come by themselves
 * (a legacy stdio session has no stream to open). */
static int wait_for_interrupt(cli_ctx *c) {
  json_object *res = NULL;
  int st = cli_wait(c, 0, &res);

  json_object_put(res);
  if (st == CMCP_ECANCELED || st == 0)
    return CLI_EXIT_OK;
  return cli_fail(c, "listen", st, NULL);
}

static int cmd_listen(cli_ctx *c, const char *const *a, int n) {
  json_object *filter = NULL, *res = NULL;
  int st, rc, modern = cmcp_client_is_modern(c->cli);

  (void)a, (void)n;
  if (!modern && (rc = subscribe_legacy(c)) != 0)
    return rc;
  if (modern)
    filter = listen_filter(c->o);
  /* The stream lasts until SIGINT: --timeout is for requests, not for it
   * (the library would apply the default to subscriptions/listen). */
  cmcp_client_set_timeout(c->cli, 0);
  c->listening = 1;
  c->has_req = 1;
  st = cmcp_client_listen(
      c->cli,
      filter ? json_object_to_json_string_ext(filter, JSON_C_TO_STRING_PLAIN)
             : NULL,
      cli_on_result, c, &c->req);
  json_object_put(filter);
  if (st == CMCP_EUNSUPPORTED && !modern && c->o->stdio_cmd != NULL) {
    c->has_req = 0;
    return wait_for_interrupt(c);
  }
  st = cli_wait(c, st, &res);
  if (st == 0 ||
      (st == CMCP_ECANCELED &&
       (c->interrupted || (c->o->count > 0 && c->notified >= c->o->count)))) {
    json_object_put(res);
    return CLI_EXIT_OK;
  }
  c->interrupted = 0; /* a failure, not the user's interrupt */
  rc = cli_fail(c, "listen", st, res);
  json_object_put(res);
  return rc;
}

const cli_cmd cli_commands[] = {
    {"tools", "list", 0, 0, cmd_tools_list, "tools list",
     "Lists every tool (all pages): name and description.\n"},
    {"tools", "call", 1, -1, cmd_tools_call,
     "tools call NAME [KEY=VALUE...] [--args JSON] [--progress]",
     "Calls tool NAME. Each KEY=VALUE is typed by the tool's inputSchema: a\n"
     "number or integer property gets a number, a boolean property true or\n"
     "false, an object or array property parsed JSON; anything else, and\n"
     "keys the schema does not name, are strings. A value that does not read\n"
     "as the schema's type is sent as a string, for the server to refuse.\n"
     "--args JSON gives an arguments object; KEY=VALUE words override its\n"
     "keys. Exit status 1 when the tool reports an error (isError); its\n"
     "content then goes to stderr.\n"},
    {"resources", "list", 0, 0, cmd_resources_list, "resources list",
     "Lists every resource (all pages): URI, MIME type and name.\n"},
    {"resources", "read", 1, 1, cmd_resources_read, "resources read URI",
     "Reads resource URI: text is printed, binary contents summarized\n"
     "(--json gives the base64 blob).\n"},
    {"resources", "templates", 0, 0, cmd_resources_templates,
     "resources templates", "Lists every resource template (all pages).\n"},
    {"prompts", "list", 0, 0, cmd_prompts_list, "prompts list",
     "Lists every prompt with its arguments (* marks a required one).\n"},
    {"prompts", "get", 1, -1, cmd_prompts_get,
     "prompts get NAME [KEY=VALUE...] [--args JSON]",
     "Gets prompt NAME with string arguments and prints its messages.\n"},
    {"complete", NULL, 4, 4, cmd_complete,
     "complete prompt NAME|resource URI ARG VALUE [--context K=V...]",
     "Asks for completions of argument ARG starting with VALUE, of prompt\n"
     "NAME or of resource template URI. --context K=V (repeatable) gives\n"
     "arguments already chosen. Prints one value a line; the total (when\n"
     "the server gives it) goes to stderr.\n"},
    {"ping", NULL, 0, 0, cmd_ping, "ping", "Pings the server; prints ok.\n"},
    {"listen", NULL, 0, 0, cmd_listen, "listen [--resource URI...] [--count N]",
     "Prints notifications as they come, one a line (JSON Lines with --json:\n"
     "{\"method\":...,\"params\":...}), until SIGINT, or until N of them have\n"
     "come with --count (notifications/subscriptions/acknowledged is not\n"
     "counted). 2026-07-28: a subscriptions/listen stream for list changes\n"
     "and the --resource URIs. Legacy HTTP: the session's GET stream, after\n"
     "resources/subscribe for each --resource. A dropped stream is resumed.\n"},
    {"discover", NULL, 0, 0, cmd_discover, "discover",
     "Prints the server's name and version, the protocol version, its\n"
     "capabilities and instructions (--json: the DiscoverResult or the\n"
     "InitializeResult).\n"},
};

const size_t cli_ncommands = sizeof(cli_commands) / sizeof(cli_commands[0]);
