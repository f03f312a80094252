/* tools/cmcp/args.c: typing key=value words from a tool's inputSchema, and
 * splitting the --stdio command line without a shell. */
#include "cli.h"

#include "base/base.h"
#include "json/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CLI_MAX_COMMAND 65536 /* longest --stdio command line */

/* Whether schema type (a string or an array of strings) names t. */
static int type_has(json_object *type, const char *t) {
  size_t i, n;

  if (type == NULL)
    return 0;
  if (json_object_is_type(type, json_type_string))
    return strcmp(json_object_get_string(type), t) == 0;
  if (!json_object_is_type(type, json_type_array))
    return 0;
  n = json_object_array_length(type);
  for (i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(type, i);
    if (json_object_is_type(e, json_type_string) &&
        strcmp(json_object_get_string(e), t) == 0)
      return 1;
  }
  return 0;
}

/* Whether the property schema admits type t: its "type", or the type of a
 * branch of anyOf/oneOf, or the JSON types of its enum/const values. */
static int schema_admits(json_object *schema, const char *t, int depth) {
  static const char *const combos[] = {"anyOf", "oneOf", "allOf"};
  json_object *v;
  size_t i, k;

  if (schema == NULL || depth > 8 ||
      !json_object_is_type(schema, json_type_object))
    return 0;
  if (json_object_object_get_ex(schema, "type", &v))
    return type_has(v, t);
  for (k = 0; k < CMCP__ARRAY_SIZE(combos); k++) {
    if (!json_object_object_get_ex(schema, combos[k], &v) ||
        !json_object_is_type(v, json_type_array))
      continue;
    for (i = 0; i < json_object_array_length(v); i++)
      if (schema_admits(json_object_array_get_idx(v, i), t, depth + 1))
        return 1;
  }
  if (json_object_object_get_ex(schema, "enum", &v) &&
      json_object_is_type(v, json_type_array)) {
    for (i = 0; i < json_object_array_length(v); i++) {
      json_object *e = json_object_array_get_idx(v, i);
      if ((strcmp(t, "number") == 0 &&
           json_object_is_type(e, json_type_double)) ||
          (strcmp(t, "integer") == 0 &&
           json_object_is_type(e, json_type_int)) ||
          (strcmp(t, "boolean") == 0 &&
           json_object_is_type(e, json_type_boolean)))
        return 1;
    }
  }
  return 0;
}

/* text as an integer, if all of it is one. */
static json_object *parse_integer(const char *text) {
  char *end;
  long long n;

  if (*text == '\0')
    return NULL;
  errno = 0;
  n = strtoll(text, &end, 10);
  if (errno != 0 || *end != '\0')
    return NULL;
  return json_object_new_int64((int64_t)n);
}

/* text as a JSON number (integer or not), if all of it is one. */
static json_object *parse_number(const char *text) {
  json_object *v = parse_integer(text);
  char *end;
  double d;

  if (v != NULL || *text == '\0')
    return v;
  errno = 0;
  d = strtod(text, &end);
  if (errno != 0 || *end != '\0' || d - d != 0) /* inf, nan */
    return NULL;
  return json_object_new_double(d);
}

/* text as a JSON value of the given container type, if it parses as one. */
static json_object *parse_json_of(const char *text, json_type want) {
  json_object *v = NULL;

  if (cmcp__json_parse(text, strlen(text), NULL, &v, NULL, 0) != 0)
    return NULL;
  if (v == NULL || !json_object_is_type(v, want)) {
    json_object_put(v);
    return NULL;
  }
  return v;
}

/* Typing order: the most specific reading the schema admits wins, and a
 * text no reading accepts stays a string, so that the server's own schema
 * validation reports it (as a tool error naming the field). */
json_object *cli_typed_value(json_object *prop, const char *text) {
  json_object *v = NULL;

  if (prop == NULL)
    return json_object_new_string(text);
  if (schema_admits(prop, "integer", 0) && (v = parse_integer(text)) != NULL)
    return v;
  if (schema_admits(prop, "number", 0) && (v = parse_number(text)) != NULL)
    return v;
  if (schema_admits(prop, "boolean", 0) &&
      (strcmp(text, "true") == 0 || strcmp(text, "false") == 0))
    return json_object_new_boolean(text[0] == 't');
  if (schema_admits(prop, "object", 0) &&
      (v = parse_json_of(text, json_type_object)) != NULL)
    return v;
  if (schema_admits(prop, "array", 0) &&
      (v = parse_json_of(text, json_type_array)) != NULL)
    return v;
  if (schema_admits(prop, "null", 0) && !schema_admits(prop, "string", 0) &&
      strcmp(text, "null") == 0)
    return NULL; /* json-c's null; the caller stores it as such */
  return json_object_new_string(text);
}

/* Parses --args: must be a JSON object. */
static int parse_args_object(const char *args_json, json_object **out,
                             char *err, size_t errlen) {
  char why[128] = "";
  json_object *v = NULL;

  if (args_json == NULL) {
    *out = json_object_new_object();
    return *out != NULL ? 0 : CLI_EXIT_CONN;
  }
  if (cmcp__json_parse(args_json, strlen(args_json), NULL, &v, why,
                       sizeof(why)) != 0 ||
      !json_object_is_type(v, json_type_object)) {
    json_object_put(v);
    snprintf(err, errlen, "--args must be a JSON object%s%s",
             why[0] ? ": " : "", why);
    return CLI_EXIT_USAGE;
  }
  *out = v;
  return 0;
}

/* Splits "key=value" into a key copy (in keybuf) and the value. */
static int split_pair(const char *pair, char *keybuf, size_t keylen,
                      const char **value, char *err, size_t errlen) {
  const char *eq = strchr(pair, '=');
  size_t n;

  if (eq == NULL || eq == pair) {
    snprintf(err, errlen, "'%s' is not key=value", pair);
    return CLI_EXIT_USAGE;
  }
  n = (size_t)(eq - pair);
  if (n >= keylen) {
    snprintf(err, errlen, "argument name too long in '%.40s...'", pair);
    return CLI_EXIT_USAGE;
  }
  memcpy(keybuf, pair, n);
  keybuf[n] = '\0';
  *value = eq + 1;
  return 0;
}

/* Follows a local "$ref" ("#/$defs/NAME" or "#/definitions/NAME") of prop
 * into root, a few levels deep; prop itself when there is none. */
static json_object *resolve_ref(json_object *root, json_object *prop) {
  static const char *const bases[] = {"#/$defs/", "#/definitions/"};
  int depth;
  size_t k;

  for (depth = 0; depth < 8 && prop != NULL; depth++) {
    json_object *ref, *defs, *target = NULL;
    const char *r;

    if (!json_object_object_get_ex(prop, "$ref", &ref) ||
        !json_object_is_type(ref, json_type_string))
      return prop;
    r = json_object_get_string(ref);
    for (k = 0; k < CMCP__ARRAY_SIZE(bases) && target == NULL; k++) {
      size_t n = strlen(bases[k]);
      if (strncmp(r, bases[k], n) == 0 &&
          json_object_object_get_ex(root, k == 0 ? "$defs" : "definitions",
                                    &defs))
        json_object_object_get_ex(defs, r + n, &target);
    }
    if (target == NULL)
      return prop;
    prop = target;
  }
  return prop;
}

int cli_build_arguments(json_object *input_schema, const char *args_json,
                        const char *const *pairs, int npairs, json_object **out,
                        char *err, size_t errlen) {
  json_object *obj = NULL, *props = NULL;
  char key[256];
  int i, rc;

  if ((rc = parse_args_object(args_json, &obj, err, errlen)) != 0)
    return rc;
  if (input_schema != NULL)
    json_object_object_get_ex(input_schema, "properties", &props);
  for (i = 0; i < npairs; i++) {
    json_object *prop = NULL;
    const char *value;

    if ((rc = split_pair(pairs[i], key, sizeof(key), &value, err, errlen)) != 0)
      goto fail;
    if (props != NULL && json_object_object_get_ex(props, key, &prop))
      prop = resolve_ref(input_schema, prop);
    json_object_object_add(obj, key, cli_typed_value(prop, value));
  }
  *out = obj;
  return 0;
fail:
  json_object_put(obj);
  return rc;
}

int cli_build_string_map(const char *args_json, const char *const *pairs,
                         int npairs, json_object **out, char *err,
                         size_t errlen) {
  json_object *obj = NULL, *strs = NULL;
  char key[256];
  int i, rc;

  if ((rc = parse_args_object(args_json, &obj, err, errlen)) != 0)
    return rc;
  rc = CLI_EXIT_CONN;
  if ((strs = json_object_new_object()) == NULL)
    goto fail;
  {
    json_object_object_foreach(obj, k, v) {
      const char *s =
          json_object_is_type(v, json_type_string)
              ? json_object_get_string(v)
              : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
      json_object_object_add(strs, k, json_object_new_string(s));
    }
  }
  for (i = 0; i < npairs; i++) {
    const char *value;

    if ((rc = split_pair(pairs[i], key, sizeof(key), &value, err, errlen)) != 0)
      goto fail;
    json_object_object_add(strs, key, json_object_new_string(value));
  }
  json_object_put(obj);
  *out = strs;
  return 0;
fail:
  json_object_put(obj);
  json_object_put(strs);
  return rc;
}

/* ---- --stdio 'CMD ARGS' ------------------------------------------------ */

/* Appends the current word (if any) to the argv under construction. */
static int end_word(cmcp__buf *word, int in_word, char ***argv, size_t *argc,
                    size_t *cap) {
  char *w;

  if (!in_word)
    return 0;
  if (*argc + 2 > *cap) {
    size_t ncap = *cap ? *cap * 2 : 8;
    char **n = cmcp__realloc(*argv, ncap * sizeof(*n));
    if (n == NULL)
      return CMCP_ENOMEM;
    *argv = n;
    *cap = ncap;
  }
  w = cmcp__strndup(word->len ? word->data : "", word->len);
  if (w == NULL)
    return CMCP_ENOMEM;
  (*argv)[(*argc)++] = w;
  (*argv)[*argc] = NULL;
  cmcp__buf_reset(word);
  return 0;
}

/* The splitter's state between characters. */
typedef enum { SPLIT_PLAIN, SPLIT_SINGLE, SPLIT_DOUBLE } split_mode;

/* Handles one character c (next is the one after it) and returns how many
 * characters were consumed (1 or 2), or a negative status. */
static int split_char(split_mode *mode, int *in_word, cmcp__buf *word, char c,
                      char next) {
  if (*mode == SPLIT_SINGLE) {
    if (c == '\'')
      *mode = SPLIT_PLAIN;
    else if (cmcp__buf_add(word, &c, 1) != 0)
      return CMCP_ENOMEM;
    return 1;
  }
  if (*mode == SPLIT_DOUBLE) {
    if (c == '"') {
      *mode = SPLIT_PLAIN;
      return 1;
    }
    if (c == '\\' && next != '\0' && strchr("\\\"$`", next) != NULL)
      return cmcp__buf_add(word, &next, 1) != 0 ? CMCP_ENOMEM : 2;
    return cmcp__buf_add(word, &c, 1) != 0 ? CMCP_ENOMEM : 1;
  }
  *in_word = 1;
  if (c == '\'' || c == '"') {
    *mode = c == '\'' ? SPLIT_SINGLE : SPLIT_DOUBLE;
    return 1;
  }
  if (c == '\\' && next != '\0')
    return cmcp__buf_add(word, &next, 1) != 0 ? CMCP_ENOMEM : 2;
  return cmcp__buf_add(word, &c, 1) != 0 ? CMCP_ENOMEM : 1;
}

int cli_split_command(const char *cmd, char ***argv_out, char *err,
                      size_t errlen) {
  split_mode mode = SPLIT_PLAIN;
  cmcp__buf word;
  char **argv = NULL;
  size_t argc = 0, cap = 0, i = 0, len = strlen(cmd);
  int in_word = 0, rc = CLI_EXIT_USAGE;

  cmcp__buf_init(&word, CLI_MAX_COMMAND);
  if (len >= CLI_MAX_COMMAND) {
    snprintf(err, errlen, "--stdio command too long");
    goto fail;
  }
  while (i < len) {
    int n;
    if (mode == SPLIT_PLAIN && strchr(" \t\n", cmd[i]) != NULL) {
      if (end_word(&word, in_word, &argv, &argc, &cap) != 0)
        goto nomem;
      in_word = 0;
      i++;
      continue;
    }
    if ((n = split_char(&mode, &in_word, &word, cmd[i], cmd[i + 1])) < 0)
      goto nomem;
    i += (size_t)n;
  }
  if (mode != SPLIT_PLAIN) {
    snprintf(err, errlen, "unterminated %s quote in --stdio command",
             mode == SPLIT_SINGLE ? "single" : "double");
    goto fail;
  }
  if (end_word(&word, in_word, &argv, &argc, &cap) != 0)
    goto nomem;
  if (argc == 0) {
    snprintf(err, errlen, "--stdio command is empty");
    goto fail;
  }
  cmcp__buf_free(&word);
  *argv_out = argv;
  return 0;
nomem:
  snprintf(err, errlen, "out of memory");
  rc = CLI_EXIT_CONN;
fail:
  cmcp__buf_free(&word);
  cli_free_argv(argv);
  return rc;
}

void cli_free_argv(char **argv) {
  size_t i;

  if (argv == NULL)
    return;
  for (i = 0; argv[i] != NULL; i++)
    cmcp__free(argv[i]);
  cmcp__free(argv);
}

int cli_parse_duration(const char *s, uint64_t *ms_out) {
  unsigned long long n;
  uint64_t mult = 1;
  char *end;

  if (s == NULL || *s < '0' || *s > '9')
    return -1;
  errno = 0;
  n = strtoull(s, &end, 10);
  if (errno != 0)
    return -1;
  if (strcmp(end, "s") == 0)
    mult = 1000;
  else if (strcmp(end, "m") == 0)
    mult = 60000;
  else if (*end != '\0' && strcmp(end, "ms") != 0)
    return -1;
  if (n > UINT64_MAX / mult / 2)
    return -1;
  *ms_out = (uint64_t)n * mult;
  return 0;
}
