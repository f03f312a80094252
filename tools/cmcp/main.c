/* cmcp: the command-line MCP client.
 *
 *   cmcp [--url URL | --stdio 'CMD ARGS'] [options] COMMAND [ARGS...]
 *
 * Options may come before or after the command; "--" ends them. The
 * commands are in commands.c, their output in print.c; docs/cmcp.1 is the
 * manual. This file parses the command line, sets up the client on a loop
 * of its own, runs the command and turns its outcome into an exit code.
 */
#include "cli.h"

#include "base/base.h"

#include <cmcp/auth.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define CLI_MAX_ENV 4096 /* most variables handed to a spawned server */

enum opt_id {
  OPT_URL,
  OPT_STDIO,
  OPT_ENV,
  OPT_HEADER,
  OPT_BEARER,
  OPT_PROTOCOL,
  OPT_TIMEOUT,
  OPT_JSON,
  OPT_PROGRESS,
  OPT_ROOT,
  OPT_ARGS,
  OPT_CONTEXT,
  OPT_RESOURCE,
  OPT_COUNT,
  OPT_OAUTH,
  OPT_CLIENT_ID,
  OPT_CLIENT_SECRET,
  OPT_OAUTH_STORE,
  OPT_OAUTH_PORT,
  OPT_OAUTH_HEADLESS,
  OPT_NO_BROWSER,
  OPT_HELP,
  OPT_VERSION
};

typedef struct opt_def {
  const char *name;
  enum opt_id id;
  int takes_value;
} opt_def;

static const opt_def opt_table[] = {
    {"--url", OPT_URL, 1},
    {"--stdio", OPT_STDIO, 1},
    {"--env", OPT_ENV, 1},
    {"--header", OPT_HEADER, 1},
    {"-H", OPT_HEADER, 1},
    {"--bearer", OPT_BEARER, 1},
    {"--protocol", OPT_PROTOCOL, 1},
    {"--timeout", OPT_TIMEOUT, 1},
    {"--json", OPT_JSON, 0},
    {"--progress", OPT_PROGRESS, 0},
    {"--root", OPT_ROOT, 1},
    {"--args", OPT_ARGS, 1},
    {"--context", OPT_CONTEXT, 1},
    {"--resource", OPT_RESOURCE, 1},
    {"--count", OPT_COUNT, 1},
    {"--oauth", OPT_OAUTH, 0},
    {"--client-id", OPT_CLIENT_ID, 1},
    {"--client-secret", OPT_CLIENT_SECRET, 1},
    {"--oauth-store", OPT_OAUTH_STORE, 1},
    {"--oauth-port", OPT_OAUTH_PORT, 1},
    {"--oauth-headless", OPT_OAUTH_HEADLESS, 0},
    {"--no-browser", OPT_NO_BROWSER, 0},
    {"--help", OPT_HELP, 0},
    {"-h", OPT_HELP, 0},
    {"--version", OPT_VERSION, 0},
};

static const char usage_text[] =
    "usage: cmcp [--url URL | --stdio 'CMD ARGS'] [options] COMMAND [ARGS]\n"
    "\n"
    "commands:\n";

static const char options_text[] =
    "\n"
    "connection:\n"
    "  --url URL             a Streamable HTTP endpoint (http:// or https://)\n"
    "  --stdio 'CMD ARGS'    spawn a server and talk over its stdin/stdout\n"
    "  --env K=V             add a variable to the spawned server's "
    "environment\n"
    "  -H, --header 'K: V'   send a header with every HTTP request\n"
    "  --bearer TOKEN        send Authorization: Bearer TOKEN\n"
    "  --oauth               sign in with OAuth when the server asks: the URL\n"
    "                        goes to stderr, the redirect to a loopback port\n"
    "  --client-id ID        a pre-registered OAuth client (default: the\n"
    "  --client-secret S     server's dynamic registration)\n"
    "  --oauth-store FILE    keep OAuth tokens in FILE across runs\n"
    "  --oauth-port N        loopback redirect port (default: any free one)\n"
    "  --oauth-headless      follow the authorization redirect without a user\n"
    "  --no-browser          do not open a browser for the sign-in\n"
    "  --protocol VERSION    pin the protocol version (default: negotiate)\n"
    "  --timeout DURATION    per-request timeout: 500 or 500ms, 30s, 2m; 0 "
    "none\n"
    "                        (default 60s)\n"
    "output and interaction:\n"
    "  --json                print the exact result as one line of JSON\n"
    "  --progress            ask for progress and show it on stderr\n"
    "  --root URI|PATH       offer a root to the server (repeatable)\n"
    "  -h, --help            help; 'cmcp COMMAND --help' for one command\n"
    "  --version             print the version\n"
    "\n"
    "exit status: 0 ok, 1 the server answered with a tool error or a JSON-RPC\n"
    "error, 2 usage, 3 connection, transport, protocol failure or timeout.\n";

/* Finds option arg ("--name" or "--name=value"); *inline_value gets the
 * part after '='. */
static const opt_def *find_opt(const char *arg, const char **inline_value) {
  size_t i, n = strcspn(arg, "=");

  *inline_value = arg[n] == '=' ? arg + n + 1 : NULL;
  for (i = 0; i < CMCP__ARRAY_SIZE(opt_table); i++)
    if (strlen(opt_table[i].name) == n &&
        strncmp(opt_table[i].name, arg, n) == 0)
      return &opt_table[i];
  return NULL;
}

/* Appends v to a bounded list option. */
static int push(const char **list, int *n, const char *v, const char *name) {
  if (*n >= CLI_MAX_LIST) {
    fprintf(stderr, "cmcp: too many %s options (at most %d)\n", name,
            CLI_MAX_LIST);
    return CLI_EXIT_USAGE;
  }
  list[(*n)++] = v;
  return 0;
}

/* Stores one option's value in o. */
static int apply_opt(cli_opts *o, const opt_def *d, const char *v) {
  char *end;

  switch (d->id) {
  case OPT_URL:
    o->url = v;
    return 0;
  case OPT_STDIO:
    o->stdio_cmd = v;
    return 0;
  case OPT_ENV:
    if (strchr(v, '=') == NULL || v[0] == '=') {
      fprintf(stderr, "cmcp: --env wants K=V, not '%s'\n", v);
      return CLI_EXIT_USAGE;
    }
    return push(o->env, &o->nenv, v, "--env");
  case OPT_HEADER:
    return push(o->headers, &o->nheaders, v, "--header");
  case OPT_BEARER:
    o->bearer = v;
    return 0;
  case OPT_PROTOCOL:
    o->protocol = v;
    return 0;
  case OPT_TIMEOUT:
    if (cli_parse_duration(v, &o->timeout_ms) != 0) {
      fprintf(stderr, "cmcp: bad --timeout '%s' (500, 500ms, 30s, 2m)\n", v);
      return CLI_EXIT_USAGE;
    }
    o->has_timeout = 1;
    return 0;
  case OPT_JSON:
    o->json = 1;
    return 0;
  case OPT_PROGRESS:
    o->progress = 1;
    return 0;
  case OPT_ROOT:
    return push(o->roots, &o->nroots, v, "--root");
  case OPT_ARGS:
    o->args_json = v;
    return 0;
  case OPT_CONTEXT:
    return push(o->context, &o->ncontext, v, "--context");
  case OPT_RESOURCE:
    return push(o->resources, &o->nresources, v, "--resource");
  case OPT_COUNT:
    o->count = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || o->count < 1) {
      fprintf(stderr, "cmcp: --count wants a positive number\n");
      return CLI_EXIT_USAGE;
    }
    return 0;
  case OPT_OAUTH:
    o->oauth = 1;
    return 0;
  case OPT_CLIENT_ID:
    o->client_id = v;
    o->oauth = 1;
    return 0;
  case OPT_CLIENT_SECRET:
    o->client_secret = v;
    o->oauth = 1;
    return 0;
  case OPT_OAUTH_STORE:
    o->oauth_store = v;
    o->oauth = 1;
    return 0;
  case OPT_OAUTH_PORT:
    o->oauth_port = (int)strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || o->oauth_port < 0 ||
        o->oauth_port > 65535) {
      fprintf(stderr, "cmcp: --oauth-port wants a port number\n");
      return CLI_EXIT_USAGE;
    }
    o->oauth = 1;
    return 0;
  case OPT_OAUTH_HEADLESS:
    o->oauth_headless = 1;
    o->oauth = 1;
    return 0;
  case OPT_NO_BROWSER:
    o->no_browser = 1;
    return 0;
  case OPT_HELP:
    o->help = 1;
    return 0;
  case OPT_VERSION:
    o->version = 1;
    return 0;
  }
  return CLI_EXIT_USAGE;
}

/* Parses argv into o. 0 or CLI_EXIT_USAGE (after saying why). */
static int parse_opts(int argc, char **argv, cli_opts *o) {
  int i, rc, only_words = 0;

  for (i = 1; i < argc; i++) {
    const char *arg = argv[i], *v;
    const opt_def *d;

    if (only_words || arg[0] != '-' || arg[1] == '\0') {
      if ((rc = push(o->pos, &o->npos, arg, "positional")) != 0)
        return rc;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      only_words = 1;
      continue;
    }
    if ((d = find_opt(arg, &v)) == NULL) {
      fprintf(stderr, "cmcp: unknown option '%s' (see cmcp --help)\n", arg);
      return CLI_EXIT_USAGE;
    }
    if (d->takes_value && v == NULL) {
      if (i + 1 >= argc) {
        fprintf(stderr, "cmcp: option %s needs a value\n", d->name);
        return CLI_EXIT_USAGE;
      }
      v = argv[++i];
    } else if (!d->takes_value && v != NULL) {
      fprintf(stderr, "cmcp: option %s takes no value\n", d->name);
      return CLI_EXIT_USAGE;
    }
    if ((rc = apply_opt(o, d, v)) != 0)
      return rc;
  }
  return 0;
}

/* The command named by the first positional words; *nwords gets how many
 * words name it. NULL when none matches. */
static const cli_cmd *find_command(const char *const *pos, int npos,
                                   int *nwords) {
  size_t i;

  for (i = 0; npos > 0 && i < cli_ncommands; i++) {
    const cli_cmd *cmd = &cli_commands[i];
    if (strcmp(cmd->group, pos[0]) != 0)
      continue;
    if (cmd->verb == NULL) {
      *nwords = 1;
      return cmd;
    }
    if (npos > 1 && strcmp(cmd->verb, pos[1]) == 0) {
      *nwords = 2;
      return cmd;
    }
  }
  return NULL;
}

/* Whether some command belongs to group. */
static int is_group(const char *group) {
  size_t i;

  for (i = 0; i < cli_ncommands; i++)
    if (strcmp(cli_commands[i].group, group) == 0)
      return 1;
  return 0;
}

static void print_usage(FILE *f) {
  size_t i;

  fputs(usage_text, f);
  for (i = 0; i < cli_ncommands; i++)
    fprintf(f, "  %s\n", cli_commands[i].synopsis);
  fputs(options_text, f);
}

/* Help for the command named by words (all commands of a group when only
 * the group is named). 0, or CLI_EXIT_USAGE for an unknown name. */
static int print_help(const char *const *words, int nwords) {
  const cli_cmd *cmd;
  size_t i;
  int n = 0, shown = 0;

  if (nwords == 0) {
    print_usage(stdout);
    return 0;
  }
  if ((cmd = find_command(words, nwords, &n)) != NULL) {
    printf("usage: cmcp [connection options] %s\n\n%s", cmd->synopsis,
           cmd->help);
    return 0;
  }
  for (i = 0; i < cli_ncommands; i++) {
    if (strcmp(cli_commands[i].group, words[0]) != 0)
      continue;
    printf("%scmcp %s\n\n%s", shown ? "\n" : "", cli_commands[i].synopsis,
           cli_commands[i].help);
    shown = 1;
  }
  if (shown)
    return 0;
  fprintf(stderr, "cmcp: unknown command '%s' (see cmcp --help)\n", words[0]);
  return CLI_EXIT_USAGE;
}

/* The spawned server's environment: ours plus --env (which wins). NULL
 * when there is no --env (the library then passes ours along). */
static char **build_env(const cli_opts *o) {
  size_t n = 0, i, k = 0;
  char **env;
  int j;

  if (o->nenv == 0)
    return NULL;
  while (environ[n] != NULL && n < CLI_MAX_ENV)
    n++;
  if ((env = cmcp__calloc(n + (size_t)o->nenv + 1, sizeof(*env))) == NULL)
    return NULL;
  for (i = 0; i < n; i++) {
    size_t klen = strcspn(environ[i], "=");
    int overridden = 0;
    for (j = 0; j < o->nenv; j++)
      if (strncmp(o->env[j], environ[i], klen + 1) == 0)
        overridden = 1;
    if (!overridden)
      env[k++] = environ[i];
  }
  for (j = 0; j < o->nenv; j++)
    env[k++] = (char *)o->env[j];
  env[k] = NULL;
  return env;
}

/* Sets up the transport: --url or --stdio. 0 or an exit code. */
static int set_transport(cli_ctx *c) {
  const cli_opts *o = c->o;
  char err[160], **argv = NULL, **env = NULL;
  int rc;

  if (o->url != NULL) {
    if ((rc = cmcp_client_set_url(c->cli, o->url)) != 0) {
      fprintf(stderr, "cmcp: bad --url '%s': %s\n", o->url, cmcp_strerror(rc));
      return CLI_EXIT_USAGE;
    }
    return 0;
  }
  if ((rc = cli_split_command(o->stdio_cmd, &argv, err, sizeof(err))) != 0) {
    fprintf(stderr, "cmcp: %s\n", err);
    return rc;
  }
  env = build_env(o);
  if (o->nenv > 0 && env == NULL)
    rc = CMCP_ENOMEM;
  else
    rc = cmcp_client_set_stdio(c->cli, (const char *const *)argv,
                               (const char *const *)env, NULL);
  cmcp__free(env);
  cli_free_argv(argv);
  if (rc != 0) {
    fprintf(stderr, "cmcp: cannot use --stdio: %s\n", cmcp_strerror(rc));
    return CLI_EXIT_USAGE;
  }
  return 0;
}

/* Adds one --header "Name: value" (or "Name:value"). */
static int add_header(cli_ctx *c, const char *h) {
  const char *colon = strchr(h, ':'), *v;
  char name[256];
  size_t n;

  if (colon == NULL || colon == h || (size_t)(colon - h) >= sizeof(name)) {
    fprintf(stderr, "cmcp: --header wants 'Name: value', not '%s'\n", h);
    return CLI_EXIT_USAGE;
  }
  n = (size_t)(colon - h);
  while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
    n--;
  memcpy(name, h, n);
  name[n] = '\0';
  for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
    ;
  if (cmcp_client_add_header(c->cli, name, v) != 0) {
    fprintf(stderr, "cmcp: bad header '%s'\n", h);
    return CLI_EXIT_USAGE;
  }
  return 0;
}

/* Applies the connection options to the client. 0 or an exit code. */
static int configure(cli_ctx *c) {
  const cli_opts *o = c->o;
  int i, rc;

  if ((rc = set_transport(c)) != 0)
    return rc;
  for (i = 0; i < o->nheaders; i++)
    if ((rc = add_header(c, o->headers[i])) != 0)
      return rc;
  if (o->bearer != NULL && cmcp_client_set_bearer(c->cli, o->bearer) != 0) {
    fprintf(stderr, "cmcp: bad --bearer token\n");
    return CLI_EXIT_USAGE;
  }
  if (o->protocol != NULL &&
      (rc = cmcp_client_set_protocol(c->cli, o->protocol)) != 0) {
    fprintf(stderr, "cmcp: --protocol %s: %s\n", o->protocol,
            rc == CMCP_EUNSUPPORTED ? "not a version cmcp speaks"
                                    : cmcp_strerror(rc));
    return CLI_EXIT_USAGE;
  }
  if (o->has_timeout && cmcp_client_set_timeout(c->cli, o->timeout_ms) != 0)
    return CLI_EXIT_USAGE;
  if (o->client_secret != NULL && o->client_id == NULL) {
    fprintf(stderr, "cmcp: --client-secret needs --client-id\n");
    return CLI_EXIT_USAGE;
  }
  return cli_oauth_setup(c);
}

/* A log message or progress notification as one line on stderr:
 * "[level] logger: data" or "progress P/T: message". */
static void print_side_note(const char *method, json_object *params) {
  json_object *v;
  const char *s;

  if (strcmp(method, "notifications/message") == 0) {
    fprintf(stderr, "[%s] ",
            json_object_object_get_ex(params, "level", &v)
                ? json_object_get_string(v)
                : "log");
    if (json_object_object_get_ex(params, "logger", &v))
      fprintf(stderr, "%s: ", json_object_get_string(v));
    v = NULL;
    json_object_object_get_ex(params, "data", &v);
    s = json_object_is_type(v, json_type_string)
            ? json_object_get_string(v)
            : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    fprintf(stderr, "%s\n", s);
    return;
  }
  fprintf(stderr, "progress %g",
          json_object_object_get_ex(params, "progress", &v)
              ? json_object_get_double(v)
              : 0.0);
  if (json_object_object_get_ex(params, "total", &v))
    fprintf(stderr, "/%g", json_object_get_double(v));
  if (json_object_object_get_ex(params, "message", &v))
    fprintf(stderr, ": %s", json_object_get_string(v));
  fputc('\n', stderr);
}

/* Progress and log messages go to stderr; during listen everything goes to
 * stdout. */
static void on_notification(cmcp_client_t *cli, const char *method,
                            json_object *params, void *data) {
  cli_ctx *c = data;

  (void)cli;
  if (c->listening) {
    cli_print_notification(stdout, c->o->json, method, params);
    if (strcmp(method, "notifications/subscriptions/acknowledged") != 0)
      c->notified++;
    if (c->o->count > 0 && c->notified >= c->o->count) {
      if (c->has_req)
        cmcp_client_cancel(c->cli, c->req, "enough notifications");
      else
        c->done = 1;
    }
    return;
  }
  if (params != NULL &&
      (strcmp(method, "notifications/message") == 0 ||
       (c->o->progress && strcmp(method, "notifications/progress") == 0)))
    print_side_note(method, params);
}

/* SIGINT: cancels what is pending; a second one exits at once. */
static void on_sigint(uv_signal_t *h, int signum) {
  cli_ctx *c = h->data;

  (void)signum;
  if (c->interrupted)
    _exit(CLI_EXIT_INTR);
  c->interrupted = 1;
  if (c->has_req && cmcp_client_cancel(c->cli, c->req, "interrupted") == 0)
    return;
  c->status = CMCP_ECANCELED;
  c->done = 1;
}

void cli_on_result(cmcp_client_t *cli, int status, json_object *result,
                   void *data) {
  cli_ctx *c = data;

  (void)cli;
  if (c->done) /* answered after SIGINT gave up on it */
    return;
  c->status = status;
  c->result = result != NULL ? json_object_get(result) : NULL;
  c->done = 1;
}

int cli_wait(cli_ctx *c, int armed, json_object **result) {
  int status;

  *result = NULL;
  if (armed != 0) {
    c->has_req = 0;
    return armed;
  }
  while (!c->done) {
    if (uv_run(&c->loop, UV_RUN_ONCE) == 0 && !c->done) {
      c->status = CMCP_ECLOSED; /* nothing left that could answer */
      break;
    }
  }
  status = c->status;
  *result = c->result;
  c->result = NULL;
  c->done = 0;
  c->has_req = 0;
  c->status = 0;
  return status;
}

int cli_fail(cli_ctx *c, const char *what, int status, json_object *err) {
  json_object *code = NULL, *msg = NULL, *edata = NULL;

  if (c->interrupted && status == CMCP_ECANCELED) {
    fprintf(stderr, "cmcp: interrupted\n");
    return CLI_EXIT_INTR;
  }
  if (status == CMCP_ERPC && err != NULL) {
    json_object_object_get_ex(err, "code", &code);
    json_object_object_get_ex(err, "message", &msg);
    json_object_object_get_ex(err, "data", &edata);
    if (c->o->json)
      cli_print_json(stdout, err);
    fprintf(stderr, "cmcp: %s: error %d: %s%s%s\n", what,
            json_object_get_int(code), msg ? json_object_get_string(msg) : "",
            edata ? " " : "",
            edata ? json_object_to_json_string_ext(edata, 0) : "");
    return CLI_EXIT_FAIL;
  }
  if (status == CMCP_ETIMEDOUT) {
    fprintf(stderr, "cmcp: %s: timed out\n", what);
    return CLI_EXIT_CONN;
  }
  fprintf(stderr, "cmcp: %s: %s%s%s\n", what, cmcp_strerror(status),
          c->cli && *cmcp_client_last_error(c->cli) ? ": " : "",
          c->cli ? cmcp_client_last_error(c->cli) : "");
  return CLI_EXIT_CONN;
}

/* Connects; the exit code of a failure (always 3: even a JSON-RPC error
 * here means there is no usable connection). */
static int connect_client(cli_ctx *c) {
  json_object *res = NULL;
  int status = cli_wait(c, cmcp_client_connect(c->cli, cli_on_result, c), &res);

  if (status == 0) {
    c->connect_result = res;
    return 0;
  }
  if (c->interrupted)
    return cli_fail(c, "connect", status, res);
  if (status == CMCP_ERPC && res != NULL) {
    json_object *msg = NULL;
    json_object_object_get_ex(res, "message", &msg);
    fprintf(stderr, "cmcp: cannot connect: server error: %s\n",
            msg ? json_object_get_string(msg) : "?");
  } else {
    fprintf(stderr, "cmcp: cannot connect: %s%s%s\n",
            status == CMCP_ETIMEDOUT ? "timed out" : cmcp_strerror(status),
            *cmcp_client_last_error(c->cli) ? ": " : "",
            cmcp_client_last_error(c->cli));
  }
  if (c->oauth != NULL && *cmcp_oauth_last_error(c->oauth))
    fprintf(stderr, "cmcp: oauth: %s\n", cmcp_oauth_last_error(c->oauth));
  json_object_put(res);
  return CLI_EXIT_CONN;
}

/* Creates the client on our loop, configures, connects and runs cmd. */
static int run(cli_ctx *c, const cli_cmd *cmd, const char *const *args,
               int nargs) {
  int rc = CLI_EXIT_CONN;

  if (uv_loop_init(&c->loop) != 0)
    return CLI_EXIT_CONN;
  uv_signal_init(&c->loop, &c->sigint);
  c->sigint.data = c;
  uv_signal_start(&c->sigint, on_sigint, SIGINT);
  uv_unref((uv_handle_t *)&c->sigint);
  if ((c->cli = cmcp_client_new(&c->loop, "cmcp", CMCP_VERSION_STRING)) ==
      NULL) {
    fprintf(stderr, "cmcp: out of memory\n");
    goto out;
  }
  if ((rc = configure(c)) != 0)
    goto out;
  if (cmcp_client_on_notification(c->cli, on_notification, c) != 0 ||
      cli_interact_init(c) != 0) {
    rc = CLI_EXIT_CONN;
    goto out;
  }
  if ((rc = connect_client(c)) == 0)
    rc = cmd->run(c, args, nargs);
out:
  cli_interact_close(c);
  json_object_put(c->connect_result);
  cmcp_client_free(c->cli);
  uv_run(&c->loop, UV_RUN_DEFAULT);
  cli_oauth_free(c); /* after the client that uses it */
  uv_close((uv_handle_t *)&c->sigint, NULL);
  uv_run(&c->loop, UV_RUN_DEFAULT);
  uv_loop_close(&c->loop);
  return rc;
}

int main(int argc, char **argv) {
  static cli_opts o;
  static cli_ctx c;
  const cli_cmd *cmd;
  int rc, nwords = 0;

  signal(SIGPIPE, SIG_IGN); /* a dead server's pipe is an error, not death */
  if ((rc = parse_opts(argc, argv, &o)) != 0)
    return rc;
  if (o.version) {
    printf("cmcp %s (protocols %s, %s and older)\n", CMCP_VERSION_STRING,
           CMCP_PROTOCOL_MODERN, CMCP_PROTOCOL_LEGACY_LATEST);
    return 0;
  }
  if (o.npos > 0 && strcmp(o.pos[0], "help") == 0)
    return print_help(o.pos + 1, o.npos - 1);
  if (o.help)
    return print_help(o.pos, o.npos);
  if (o.npos == 0) {
    print_usage(stderr);
    return CLI_EXIT_USAGE;
  }
  if ((cmd = find_command(o.pos, o.npos, &nwords)) == NULL) {
    fprintf(stderr, "cmcp: unknown command '%s%s%s' (see cmcp --help)\n",
            o.pos[0], o.npos > 1 && is_group(o.pos[0]) ? " " : "",
            o.npos > 1 && is_group(o.pos[0]) ? o.pos[1] : "");
    return CLI_EXIT_USAGE;
  }
  if (o.npos - nwords < cmd->min_args ||
      (cmd->max_args >= 0 && o.npos - nwords > cmd->max_args)) {
    fprintf(stderr, "usage: cmcp %s\n", cmd->synopsis);
    return CLI_EXIT_USAGE;
  }
  if ((o.url == NULL) == (o.stdio_cmd == NULL)) {
    fprintf(stderr, "cmcp: give one of --url URL or --stdio 'CMD ARGS'\n");
    return CLI_EXIT_USAGE;
  }
  c.o = &o;
  return run(&c, cmd, o.pos + nwords, o.npos - nwords);
}
