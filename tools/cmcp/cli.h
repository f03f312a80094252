/* tools/cmcp/cli.h: the pieces of the cmcp command-line client.
 *
 *   main.c      options, the command table, help, the loop and exit codes
 *   commands.c  one function per command, on top of the client API
 *   print.c     human-readable tables and blocks, JSON output
 *   args.c      key=value typing from a tool's inputSchema; --stdio splitting
 *   interact.c  elicitation, sampling and roots asked by the server
 *   oauth.c     --oauth: OAuth 2.1 sign-in and the token store
 */
#ifndef CMCP_CLI_H
#define CMCP_CLI_H

#include <cmcp.h>

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

/* Exit codes (documented in docs/cmcp.1). */
enum {
  CLI_EXIT_OK = 0,    /* the command succeeded */
  CLI_EXIT_FAIL = 1,  /* the server answered with a failure: a tool error
                         (isError) or a JSON-RPC error */
  CLI_EXIT_USAGE = 2, /* bad command line */
  CLI_EXIT_CONN = 3,  /* no connection, transport or protocol failure,
                         timeout */
  CLI_EXIT_INTR = 130 /* interrupted (SIGINT) before the answer came */
};

/* Most repeated options and positional words kept. */
#define CLI_MAX_LIST 64

/* The parsed command line. Strings point into argv. */
typedef struct cli_opts {
  const char *url;
  const char *stdio_cmd;
  const char *headers[CLI_MAX_LIST]; /* "Name: value" */
  int nheaders;
  const char *env[CLI_MAX_LIST]; /* "K=V" added to the server's env */
  int nenv;
  const char *roots[CLI_MAX_LIST]; /* --root URI or path */
  int nroots;
  const char *context[CLI_MAX_LIST]; /* complete --context k=v */
  int ncontext;
  const char *resources[CLI_MAX_LIST]; /* listen --resource URI */
  int nresources;
  const char *bearer;
  const char *protocol;
  const char *args_json; /* --args */
  uint64_t timeout_ms;
  int has_timeout;
  long count; /* listen --count (0: until SIGINT) */
  int json;
  int progress;
  int help;
  int version;
  int oauth;
  const char *client_id;
  const char *client_secret;
  const char *oauth_store; /* file keeping tokens across runs */
  int oauth_port;          /* loopback redirect port (0: any free one) */
  int oauth_headless;
  int no_browser;
  const char *pos[CLI_MAX_LIST]; /* command words and their arguments */
  int npos;
} cli_opts;

/* One run of the program: its loop, client and the request it waits for. */
typedef struct cli_ctx {
  const cli_opts *o;
  uv_loop_t loop;
  cmcp_client_t *cli;
  uv_signal_t sigint;
  struct cli_interact *ia;
  cmcp_oauth_t *oauth;
  char *oauth_state;           /* the token store's text, as last loaded */
  json_object *connect_result; /* DiscoverResult or InitializeResult */
  /* The request in flight (one at a time). */
  int done;
  int status;
  json_object *result; /* a reference of ours, or NULL */
  uint64_t req;        /* its handle, when it has one */
  int has_req;
  int interrupted;
  /* listen */
  int listening;
  long notified;
} cli_ctx;

/* ---- commands.c -------------------------------------------------------- */

/* A command: the words that name it, its positional arity and its run
 * function, which returns an exit code. args are the positional words after
 * the command's name. */
typedef struct cli_cmd {
  const char *group;
  const char *verb; /* NULL: a one-word command */
  int min_args;
  int max_args; /* -1: any number */
  int (*run)(cli_ctx *c, const char *const *args, int nargs);
  const char *synopsis;
  const char *help;
} cli_cmd;

extern const cli_cmd cli_commands[];
extern const size_t cli_ncommands;

/* Waits for the request armed with cli_on_result as its callback (armed:
 * the status of the arming call; when it failed the callback never runs).
 * Returns the callback's status; *result gets a reference to its result
 * (or error object), or NULL. */
int cli_wait(cli_ctx *c, int armed, json_object **result);
void cli_on_result(cmcp_client_t *cli, int status, json_object *result,
                   void *data);
/* The exit code for a failed request (status != 0), after saying why on
 * stderr (and printing the error object on stdout with --json). */
int cli_fail(cli_ctx *c, const char *what, int status, json_object *err);

/* ---- print.c ----------------------------------------------------------- */

/* Prints v as one line of compact JSON. */
void cli_print_json(FILE *f, json_object *v);
/* Width of the terminal on stdout, or 0 when it is not a terminal. */
int cli_term_width(void);
void cli_print_tools(json_object *result);
void cli_print_resources(json_object *result);
void cli_print_templates(json_object *result);
void cli_print_prompts(json_object *result);
/* Content blocks of a CallToolResult, GetPromptResult or ReadResourceResult. */
void cli_print_content(FILE *f, json_object *content);
void cli_print_tool_result(FILE *f, json_object *result);
void cli_print_prompt_result(json_object *result);
void cli_print_read_result(json_object *result);
void cli_print_completion(json_object *result);
void cli_print_discover(cmcp_client_t *cli);
/* One notification as a line (JSON Lines with --json). */
void cli_print_notification(FILE *f, int json, const char *method,
                            json_object *params);

/* ---- args.c ------------------------------------------------------------ */

/* Builds a tool's arguments object from --args (args_json, may be NULL)
 * and key=value words, each value typed by the property's schema in
 * input_schema (may be NULL: strings). A word wins over the same key in
 * --args. 0, or CLI_EXIT_USAGE with a reason in err. */
int cli_build_arguments(json_object *input_schema, const char *args_json,
                        const char *const *pairs, int npairs, json_object **out,
                        char *err, size_t errlen);
/* As cli_build_arguments but every value is a string (prompt arguments,
 * completion context); non-string --args values become their JSON text. */
int cli_build_string_map(const char *args_json, const char *const *pairs,
                         int npairs, json_object **out, char *err,
                         size_t errlen);
/* The JSON value of text typed by a property schema (NULL: a string). */
json_object *cli_typed_value(json_object *prop_schema, const char *text);
/* Splits a command line as a shell would for simple quoting ('...',
 * "...", backslash) without running a shell. *argv_out is NULL-terminated;
 * free with cli_free_argv. 0, or CLI_EXIT_USAGE with a reason in err. */
int cli_split_command(const char *cmd, char ***argv_out, char *err,
                      size_t errlen);
void cli_free_argv(char **argv);
/* Parses a duration: "1500" (ms), "1500ms", "2s", "1m". 0 or -1. */
int cli_parse_duration(const char *s, uint64_t *ms_out);

/* ---- oauth.c ----------------------------------------------------------- */

/* With --oauth, creates the OAuth object and attaches it to the client.
 * 0 or an exit code. */
int cli_oauth_setup(cli_ctx *c);
/* Frees it: after the client is freed and its loop has run. */
void cli_oauth_free(cli_ctx *c);

/* ---- interact.c -------------------------------------------------------- */

/* Registers the sampling, elicitation and (with --root) roots handlers.
 * On a terminal (stdin) they ask the user; otherwise they refuse. */
int cli_interact_init(cli_ctx *c);
/* Refuses what is still pending and closes the terminal handle. */
void cli_interact_close(cli_ctx *c);

#endif /* CMCP_CLI_H */
