/* tools/cmcp/print.c: what cmcp writes on stdout. Tables and content
 * blocks for people; the exact result object, as one line of JSON, with
 * --json. */
#include "cli.h"

#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define NAME_COL_MAX 40 /* widest first column of a table */

void cli_print_json(FILE *f, json_object *v) {
  fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                              JSON_C_TO_STRING_NOSLASHESCAPE),
        f);
  fputc('\n', f);
  fflush(f);
}

int cli_term_width(void) {
  struct winsize ws;

  if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 ||
      ws.ws_col == 0)
    return 0;
  return ws.ws_col;
}

/* obj[key] as a string, or NULL. */
static const char *str_of(json_object *obj, const char *key) {
  json_object *v;

  if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

/* obj[key] as an array, or NULL. */
static json_object *array_of(json_object *obj, const char *key) {
  json_object *v;

  if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_array))
    return NULL;
  return v;
}

/* Writes s up to its first newline, cut to width columns (0: no cut). */
static void put_first_line(const char *s, int width) {
  size_t n = strcspn(s, "\r\n");

  if (width > 0 && n > (size_t)width)
    n = width > 3 ? (size_t)width - 3 : (size_t)width;
  fwrite(s, 1, n, stdout);
  if (width > 0 && n < strcspn(s, "\r\n"))
    fputs("...", stdout);
}

/* Width of the first column: the longest value of key among items. */
static int name_width(json_object *items, const char *key, int min) {
  size_t i, n = items ? json_object_array_length(items) : 0;
  int w = min;

  for (i = 0; i < n; i++) {
    const char *s = str_of(json_object_array_get_idx(items, i), key);
    if (s != NULL && (int)strlen(s) > w)
      w = (int)strlen(s);
  }
  return w > NAME_COL_MAX ? NAME_COL_MAX : w;
}

/* One row: the name column padded to width, then the rest cut to the
 * terminal. */
static void put_row(const char *name, int width, const char *rest) {
  int tw = cli_term_width(), left;

  printf("%-*s  ", width, name ? name : "");
  left = tw > 0 ? tw - width - 2 : 0;
  if (tw > 0 && left < 10)
    left = 10;
  put_first_line(rest ? rest : "", left);
  fputc('\n', stdout);
}

/* A two-column table of items: key and a description. */
static void print_table(json_object *items, const char *key, const char *head,
                        const char *what) {
  size_t i, n = items ? json_object_array_length(items) : 0;
  int w = name_width(items, key, (int)strlen(head));

  if (n == 0) {
    printf("(no %s)\n", what);
    return;
  }
  put_row(head, w, "DESCRIPTION");
  for (i = 0; i < n; i++) {
    json_object *it = json_object_array_get_idx(items, i);
    const char *d = str_of(it, "description");
    put_row(str_of(it, key), w, d ? d : str_of(it, "title"));
  }
}

void cli_print_tools(json_object *result) {
  print_table(array_of(result, "tools"), "name", "NAME", "tools");
}

void cli_print_prompts(json_object *result) {
  json_object *items = array_of(result, "prompts");
  size_t i, n = items ? json_object_array_length(items) : 0;
  int w = name_width(items, "name", 4);

  if (n == 0) {
    printf("(no prompts)\n");
    return;
  }
  put_row("NAME", w, "ARGUMENTS (* required)  DESCRIPTION");
  for (i = 0; i < n; i++) {
    json_object *it = json_object_array_get_idx(items, i);
    json_object *args = array_of(it, "arguments"), *req;
    char line[1024];
    size_t k, used = 0;

    line[0] = '\0';
    for (k = 0; args && k < json_object_array_length(args); k++) {
      json_object *a = json_object_array_get_idx(args, k);
      int r = json_object_object_get_ex(a, "required", &req) &&
              json_object_get_boolean(req);
      int m =
          snprintf(line + used, sizeof(line) - used, "%s%s%s", k ? "," : "",
                   str_of(a, "name") ? str_of(a, "name") : "?", r ? "*" : "");
      if (m < 0 || (size_t)m >= sizeof(line) - used)
        break;
      used += (size_t)m;
    }
    if (used == 0)
      snprintf(line, sizeof(line), "-");
    {
      const char *d = str_of(it, "description");
      char row[2048];
      snprintf(row, sizeof(row), "%-22s  %s", line, d ? d : "");
      put_row(str_of(it, "name"), w, row);
    }
  }
}

/* A three-column table for resources and templates. */
static void print_resource_rows(json_object *items, const char *key,
                                const char *head, const char *what) {
  size_t i, n = items ? json_object_array_length(items) : 0;
  int w = name_width(items, key, (int)strlen(head));

  if (n == 0) {
    printf("(no %s)\n", what);
    return;
  }
  put_row(head, w, "MIME TYPE             NAME");
  for (i = 0; i < n; i++) {
    json_object *it = json_object_array_get_idx(items, i);
    const char *mime = str_of(it, "mimeType"), *name = str_of(it, "name");
    char row[1024];
    snprintf(row, sizeof(row), "%-20s  %s", mime ? mime : "-",
             name ? name : "");
    put_row(str_of(it, key), w, row);
  }
}

void cli_print_resources(json_object *result) {
  print_resource_rows(array_of(result, "resources"), "uri", "URI", "resources");
}

void cli_print_templates(json_object *result) {
  print_resource_rows(array_of(result, "resourceTemplates"), "uriTemplate",
                      "URI TEMPLATE", "resource templates");
}

/* Pretty JSON, indented by two spaces. */
static void put_pretty(FILE *f, json_object *v) {
  fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PRETTY |
                                              JSON_C_TO_STRING_SPACED |
                                              JSON_C_TO_STRING_NOSLASHESCAPE),
        f);
  fputc('\n', f);
}

/* Text, or a one-line summary of binary data, of a resource's contents. */
static void put_resource_contents(FILE *f, json_object *r) {
  const char *text = str_of(r, "text"), *blob = str_of(r, "blob");
  const char *mime = str_of(r, "mimeType");

  if (text != NULL) {
    fputs(text, f);
    if (*text && text[strlen(text) - 1] != '\n')
      fputc('\n', f);
  } else if (blob != NULL) {
    fprintf(f, "[binary %s, %zu bytes]\n", mime ? mime : "data",
            strlen(blob) / 4 * 3);
  }
}

/* One content block. */
static void put_block(FILE *f, json_object *b) {
  const char *type = str_of(b, "type"), *text = str_of(b, "text");
  const char *mime = str_of(b, "mimeType"), *data = str_of(b, "data");
  json_object *res;

  if (type == NULL) {
    put_pretty(f, b);
  } else if (strcmp(type, "text") == 0 && text != NULL) {
    fputs(text, f);
    if (*text && text[strlen(text) - 1] != '\n')
      fputc('\n', f);
  } else if ((strcmp(type, "image") == 0 || strcmp(type, "audio") == 0) &&
             data != NULL) {
    fprintf(f, "[%s %s, %zu bytes]\n", type, mime ? mime : "?",
            strlen(data) / 4 * 3);
  } else if (strcmp(type, "resource") == 0 &&
             json_object_object_get_ex(b, "resource", &res)) {
    fprintf(f, "[resource %s]\n",
            str_of(res, "uri") ? str_of(res, "uri") : "?");
    put_resource_contents(f, res);
  } else if (strcmp(type, "resource_link") == 0) {
    fprintf(f, "[link %s%s%s]\n", str_of(b, "uri") ? str_of(b, "uri") : "?",
            str_of(b, "name") ? " " : "",
            str_of(b, "name") ? str_of(b, "name") : "");
  } else {
    put_pretty(f, b);
  }
}

void cli_print_content(FILE *f, json_object *content) {
  size_t i, n;

  if (content == NULL)
    return;
  if (!json_object_is_type(content, json_type_array)) {
    put_block(f, content);
    return;
  }
  n = json_object_array_length(content);
  for (i = 0; i < n; i++)
    put_block(f, json_object_array_get_idx(content, i));
}

void cli_print_tool_result(FILE *f, json_object *result) {
  json_object *sc;

  cli_print_content(f, array_of(result, "content"));
  if (json_object_object_get_ex(result, "structuredContent", &sc)) {
    fputs("structuredContent: ", f);
    put_pretty(f, sc);
  }
  fflush(f);
}

void cli_print_prompt_result(json_object *result) {
  json_object *msgs = array_of(result, "messages"), *content;
  const char *d = str_of(result, "description");
  size_t i, n = msgs ? json_object_array_length(msgs) : 0;

  if (d != NULL)
    printf("# %s\n", d);
  for (i = 0; i < n; i++) {
    json_object *m = json_object_array_get_idx(msgs, i);
    const char *role = str_of(m, "role");
    printf("%s: ", role ? role : "?");
    if (json_object_object_get_ex(m, "content", &content))
      cli_print_content(stdout, content);
    else
      fputc('\n', stdout);
  }
}

void cli_print_read_result(json_object *result) {
  json_object *items = array_of(result, "contents");
  size_t i, n = items ? json_object_array_length(items) : 0;

  for (i = 0; i < n; i++) {
    json_object *r = json_object_array_get_idx(items, i);
    if (n > 1)
      printf("[%s]\n", str_of(r, "uri") ? str_of(r, "uri") : "?");
    put_resource_contents(stdout, r);
  }
}

void cli_print_completion(json_object *result) {
  json_object *comp = NULL, *values, *v;
  size_t i, n = 0;

  json_object_object_get_ex(result, "completion", &comp);
  values = array_of(comp, "values");
  if (values != NULL)
    n = json_object_array_length(values);
  for (i = 0; i < n; i++)
    printf("%s\n",
           json_object_get_string(json_object_array_get_idx(values, i)));
  if (json_object_object_get_ex(comp, "total", &v))
    fprintf(stderr, "(%zu of %lld%s)\n", n, (long long)json_object_get_int64(v),
            json_object_object_get_ex(comp, "hasMore", &v) &&
                    json_object_get_boolean(v)
                ? ", more"
                : "");
  else if (n == 0)
    fprintf(stderr, "(no completions)\n");
}

/* The capabilities as "name(sub, sub)" words on one line. */
static void put_capabilities(json_object *caps) {
  int first = 1;

  if (caps == NULL || !json_object_is_type(caps, json_type_object)) {
    printf("(none)\n");
    return;
  }
  json_object_object_foreach(caps, name, val) {
    int sub = 0;
    printf("%s%s", first ? "" : " ", name);
    first = 0;
    if (json_object_is_type(val, json_type_object)) {
      json_object_object_foreach(val, k, kv) {
        if (json_object_is_type(kv, json_type_boolean) &&
            !json_object_get_boolean(kv))
          continue;
        printf("%s%s", sub ? ", " : "(", k);
        sub = 1;
      }
    }
    if (sub)
      putchar(')');
  }
  printf("%s\n", first ? "(none)" : "");
}

void cli_print_discover(cmcp_client_t *cli) {
  json_object *info = cmcp_client_server_info(cli);
  const char *ins = cmcp_client_instructions(cli);
  const char *name = str_of(info, "name"), *ver = str_of(info, "version");
  const char *title = str_of(info, "title");

  printf("server:       %s %s%s%s%s\n", name ? name : "(unnamed)",
         ver ? ver : "", title ? " (" : "", title ? title : "",
         title ? ")" : "");
  printf("protocol:     %s (%s)\n", cmcp_client_protocol_version(cli),
         cmcp_client_is_modern(cli) ? "stateless" : "session");
  printf("capabilities: ");
  put_capabilities(cmcp_client_server_capabilities(cli));
  if (ins != NULL && *ins != '\0') {
    printf("instructions:\n");
    fputs(ins, stdout);
    if (ins[strlen(ins) - 1] != '\n')
      putchar('\n');
  }
}

void cli_print_notification(FILE *f, int json, const char *method,
                            json_object *params) {
  if (json) {
    json_object *line = json_object_new_object();
    if (line == NULL)
      return;
    json_object_object_add(line, "method", json_object_new_string(method));
    if (params != NULL)
      json_object_object_add(line, "params", json_object_get(params));
    cli_print_json(f, line);
    json_object_put(line);
    return;
  }
  fputs(method, f);
  if (params != NULL) {
    fputc(' ', f);
    fputs(json_object_to_json_string_ext(
              params, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
          f);
  }
  fputc('\n', f);
  fflush(f);
}
