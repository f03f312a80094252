/* tools/cmcp/interact.c: answering what the server asks of the user.
 *
 * Elicitation (form and URL mode) and sampling are asked on the terminal:
 * the questions go to stderr (stdout keeps the result), answers are read
 * line by line from stdin through a libuv tty handle, so the loop keeps
 * serving the connection while the user types. One ask is on screen at a
 * time; others wait in a bounded queue. When stdin is not a terminal (or
 * reaches end of file) every ask is refused: an elicitation is declined,
 * a sampling request gets error -1, as the spec's sampling page says
 * ("User rejected sampling request"). Roots come from --root.
 */
#include "cli.h"

#include "base/base.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ASK_QUEUE_MAX 16     /* asks waiting for the one on screen */
#define LINE_MAX_BYTES 65536 /* longest answer line */
#define SAMPLING_REJECTED (-1)

typedef enum {
  STAGE_NONE,    /* nothing on screen */
  STAGE_CONFIRM, /* form elicitation: accept, decline or cancel? */
  STAGE_FIELD,   /* form elicitation: reading field number `field` */
  STAGE_URL,     /* URL elicitation: accept, decline or cancel? */
  STAGE_SAMPLING /* reading the reply text */
} ask_stage;

typedef struct ask_item {
  cmcp_ask_t *ask;
  struct ask_item *next;
} ask_item;

typedef struct cli_interact {
  cli_ctx *c;
  int tty;     /* stdin is a terminal and still open */
  int in_init; /* the tty handle exists */
  int reading;
  uv_tty_t in;
  char rbuf[4096];
  cmcp__buf line;
  ask_item *head, *tail;
  size_t queued;
  /* the ask on screen */
  cmcp_ask_t *cur;
  ask_stage stage;
  json_object *props;    /* requestedSchema.properties (borrowed) */
  json_object *required; /* requestedSchema.required (borrowed) */
  size_t field, nfields;
  json_object *content;
} cli_interact;

static void start_next(cli_interact *ia);

/* ---- small JSON helpers ------------------------------------------------ */

static const char *sget(json_object *o, const char *k) {
  json_object *v;

  if (o == NULL || !json_object_object_get_ex(o, k, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

static json_object *oget(json_object *o, const char *k) {
  json_object *v;

  return o != NULL && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* The name of property number i of props. */
static const char *prop_name(json_object *props, size_t i) {
  size_t k = 0;

  json_object_object_foreach(props, name, val) {
    (void)val;
    if (k++ == i)
      return name;
  }
  return NULL;
}

static int is_required(json_object *required, const char *name) {
  size_t i, n = required && json_object_is_type(required, json_type_array)
                    ? json_object_array_length(required)
                    : 0;

  for (i = 0; i < n; i++)
    if (strcmp(json_object_get_string(json_object_array_get_idx(required, i)),
               name) == 0)
      return 1;
  return 0;
}

/* ---- answering --------------------------------------------------------- */

/* Answers the ask on screen (or ask) with result JSON text. */
static void reply_json(cmcp_ask_t *ask, json_object *res) {
  const char *text =
      res ? json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN) : NULL;

  if (text == NULL || cmcp_ask_reply(ask, text) != 0)
    cmcp_ask_reply_error(ask, CMCP_JSONRPC_INTERNAL_ERROR, "out of memory");
}

/* An ElicitResult with action (and content when accepting a form). */
static void reply_action(cmcp_ask_t *ask, const char *action,
                         json_object *content) {
  json_object *res = json_object_new_object();

  if (res != NULL) {
    json_object_object_add(res, "action", json_object_new_string(action));
    if (content != NULL)
      json_object_object_add(res, "content", json_object_get(content));
  }
  reply_json(ask, res);
  json_object_put(res);
}

/* Refuses ask: decline an elicitation, reject sampling, fail anything
 * else. why goes to stderr. */
static void refuse(cmcp_ask_t *ask, const char *action, const char *why) {
  const char *m = cmcp_ask_method(ask);

  fprintf(stderr, "cmcp: refused %s (%s)\n", m, why);
  if (strcmp(m, "elicitation/create") == 0)
    reply_action(ask, action, NULL);
  else if (strcmp(m, "sampling/createMessage") == 0)
    cmcp_ask_reply_error(ask, SAMPLING_REJECTED,
                         "User rejected sampling request");
  else
    cmcp_ask_reply_error(ask, CMCP_JSONRPC_METHOD_NOT_FOUND,
                         "not supported by cmcp");
}

/* The ask on screen was answered: clear it and show the next. */
static void finish(cli_interact *ia) {
  ia->cur = NULL;
  ia->stage = STAGE_NONE;
  json_object_put(ia->content);
  ia->content = NULL;
  start_next(ia);
}

/* ---- form fields ------------------------------------------------------- */

/* The choices of a property: its enum (with enumNames as titles), or the
 * const/title pairs of its oneOf/anyOf; for an array, of its items. */
static json_object *choices_of(json_object *prop, json_object **titles,
                               int *multi) {
  json_object *items = oget(prop, "items"), *v;

  *titles = NULL;
  *multi = 0;
  if (items != NULL &&
      strcmp(sget(prop, "type") ? sget(prop, "type") : "", "array") == 0) {
    *multi = 1;
    prop = items;
  }
  if ((v = oget(prop, "enum")) != NULL) {
    *titles = oget(prop, "enumNames");
    return v;
  }
  if ((v = oget(prop, "oneOf")) != NULL || (v = oget(prop, "anyOf")) != NULL)
    return v; /* [{const, title}] */
  return NULL;
}

/* The value of choice i (an enum string or a const). */
static json_object *choice_value(json_object *choices, size_t i) {
  json_object *e = json_object_array_get_idx(choices, i);

  return json_object_is_type(e, json_type_object) ? oget(e, "const") : e;
}

/* Prints the question for the current field. */
static void ask_field(cli_interact *ia) {
  const char *name = prop_name(ia->props, ia->field);
  json_object *prop = oget(ia->props, name), *choices, *titles, *def;
  const char *title = sget(prop, "title"), *desc = sget(prop, "description");
  const char *type = sget(prop, "type");
  int multi;
  size_t i;

  fprintf(stderr, "%s%s%s (%s%s)", name, title ? " - " : "", title ? title : "",
          type ? type : "value",
          is_required(ia->required, name) ? ", required" : "");
  if (desc != NULL)
    fprintf(stderr, "\n  %s", desc);
  if ((choices = choices_of(prop, &titles, &multi)) != NULL) {
    for (i = 0; i < json_object_array_length(choices); i++) {
      json_object *e = json_object_array_get_idx(choices, i);
      const char *t = json_object_is_type(e, json_type_object)
                          ? sget(e, "title")
                          : (titles ? json_object_get_string(
                                          json_object_array_get_idx(titles, i))
                                    : NULL);
      fprintf(stderr, "\n  %zu) %s%s%s%s", i + 1,
              json_object_get_string(choice_value(choices, i)), t ? " (" : "",
              t ? t : "", t ? ")" : "");
    }
    fprintf(stderr, "\n  %s",
            multi ? "numbers or values, comma-separated"
                  : "a number or a value");
  }
  if ((def = oget(prop, "default")) != NULL)
    fprintf(stderr, " [default %s]",
            json_object_to_json_string_ext(def, JSON_C_TO_STRING_PLAIN));
  fputs(": ", stderr);
  fflush(stderr);
}

/* One choice from text: its 1-based number or its value. */
static json_object *pick_choice(json_object *choices, const char *text) {
  size_t i, n = json_object_array_length(choices);
  char *end;
  long k;

  errno = 0;
  k = strtol(text, &end, 10);
  if (errno == 0 && *text && *end == '\0' && k >= 1 && (size_t)k <= n)
    return json_object_get(choice_value(choices, (size_t)k - 1));
  for (i = 0; i < n; i++)
    if (strcmp(json_object_get_string(choice_value(choices, i)), text) == 0)
      return json_object_get(choice_value(choices, i));
  return NULL;
}

/* Comma-separated choices for a multi-select property. */
static json_object *pick_many(json_object *choices, const char *text) {
  json_object *arr = json_object_new_array();
  char part[512];

  while (arr != NULL && *text) {
    size_t n = strcspn(text, ",");
    size_t s = 0, e = n;
    json_object *v;
    while (s < e && text[s] == ' ')
      s++;
    while (e > s && text[e - 1] == ' ')
      e--;
    if (e - s >= sizeof(part))
      goto bad;
    memcpy(part, text + s, e - s);
    part[e - s] = '\0';
    if ((v = pick_choice(choices, part)) == NULL)
      goto bad;
    json_object_array_add(arr, v);
    text += n + (text[n] == ',');
  }
  return arr;
bad:
  json_object_put(arr);
  return NULL;
}

/* Reads text as a value of prop; NULL with a reason when it is not one. */
static json_object *field_value(json_object *prop, const char *text,
                                const char **why) {
  const char *type = sget(prop, "type");
  json_object *choices, *titles, *v;
  int multi;

  *why = NULL;
  if ((choices = choices_of(prop, &titles, &multi)) != NULL) {
    v = multi ? pick_many(choices, text) : pick_choice(choices, text);
    if (v == NULL)
      *why = "not one of the choices";
    return v;
  }
  if (type != NULL && strcmp(type, "boolean") == 0) {
    if (strcmp(text, "y") == 0 || strcmp(text, "yes") == 0 ||
        strcmp(text, "true") == 0)
      return json_object_new_boolean(1);
    if (strcmp(text, "n") == 0 || strcmp(text, "no") == 0 ||
        strcmp(text, "false") == 0)
      return json_object_new_boolean(0);
    *why = "answer y or n";
    return NULL;
  }
  if (type != NULL &&
      (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0)) {
    v = cli_typed_value(prop, text);
    if (v == NULL || json_object_is_type(v, json_type_string)) {
      json_object_put(v);
      *why = strcmp(type, "integer") == 0 ? "not an integer" : "not a number";
      return NULL;
    }
    return v;
  }
  return json_object_new_string(text);
}

/* Takes the answer for the current field; moves on or asks again. */
static void on_field_line(cli_interact *ia, const char *text) {
  const char *name = prop_name(ia->props, ia->field), *why = NULL;
  json_object *prop = oget(ia->props, name), *v = NULL, *def;

  if (*text == '\0') {
    if ((def = oget(prop, "default")) != NULL)
      v = json_object_get(def);
    else if (is_required(ia->required, name))
      why = "required";
  } else {
    v = field_value(prop, text, &why);
  }
  if (why != NULL) {
    fprintf(stderr, "  (%s)\n", why);
    ask_field(ia);
    return;
  }
  if (v != NULL)
    json_object_object_add(ia->content, name, v);
  if (++ia->field < ia->nfields) {
    ask_field(ia);
    return;
  }
  reply_action(ia->cur, "accept", ia->content);
  finish(ia);
}

/* ---- the ask on screen ------------------------------------------------- */

/* accept / decline / cancel from a line; NULL when unclear. */
static const char *action_of(const char *t) {
  if (*t == '\0' || strcmp(t, "a") == 0 || strcmp(t, "accept") == 0 ||
      strcmp(t, "y") == 0 || strcmp(t, "yes") == 0)
    return "accept";
  if (strcmp(t, "d") == 0 || strcmp(t, "decline") == 0 || strcmp(t, "n") == 0 ||
      strcmp(t, "no") == 0)
    return "decline";
  if (strcmp(t, "c") == 0 || strcmp(t, "cancel") == 0)
    return "cancel";
  return NULL;
}

static void prompt_action(void) {
  fputs("[A]ccept, [d]ecline or [c]ancel? ", stderr);
  fflush(stderr);
}

/* A sampling reply: the line as the assistant's text. */
static void reply_sampling(cli_interact *ia, const char *text) {
  json_object *res = json_object_new_object(), *content;

  if (*text == '\0') {
    cmcp_ask_reply_error(ia->cur, SAMPLING_REJECTED,
                         "User rejected sampling request");
    json_object_put(res);
    return;
  }
  content = json_object_new_object();
  if (res != NULL && content != NULL) {
    json_object_object_add(content, "type", json_object_new_string("text"));
    json_object_object_add(content, "text", json_object_new_string(text));
    json_object_object_add(res, "role", json_object_new_string("assistant"));
    json_object_object_add(res, "content", content);
    content = NULL;
    json_object_object_add(res, "model", json_object_new_string("cmcp-user"));
    json_object_object_add(res, "stopReason",
                           json_object_new_string("endTurn"));
  }
  json_object_put(content);
  reply_json(ia->cur, res);
  json_object_put(res);
}

/* One line typed by the user, for the ask on screen. */
static void on_line(cli_interact *ia, const char *text) {
  const char *act;

  switch (ia->stage) {
  case STAGE_NONE:
    return;
  case STAGE_SAMPLING:
    reply_sampling(ia, text);
    finish(ia);
    return;
  case STAGE_FIELD:
    on_field_line(ia, text);
    return;
  case STAGE_CONFIRM:
  case STAGE_URL:
    if ((act = action_of(text)) == NULL) {
      prompt_action();
      return;
    }
    if (ia->stage == STAGE_URL || strcmp(act, "accept") != 0 ||
        ia->nfields == 0) {
      json_object *content =
          ia->stage == STAGE_CONFIRM && strcmp(act, "accept") == 0 ? ia->content
                                                                   : NULL;
      reply_action(ia->cur, act, content);
      finish(ia);
      return;
    }
    ia->stage = STAGE_FIELD;
    ia->field = 0;
    ask_field(ia);
    return;
  }
}

/* Shows a form or URL elicitation. */
static void show_elicitation(cli_interact *ia, json_object *p) {
  const char *mode = sget(p, "mode"), *url = sget(p, "url");
  json_object *schema = oget(p, "requestedSchema");

  fprintf(stderr, "\nThe server asks: %s\n",
          sget(p, "message") ? sget(p, "message") : "");
  if (mode != NULL && strcmp(mode, "url") == 0) {
    fprintf(stderr, "Open this URL: %s\n", url ? url : "(none given)");
    ia->stage = STAGE_URL;
    prompt_action();
    return;
  }
  ia->props = oget(schema, "properties");
  ia->required = oget(schema, "required");
  ia->nfields = ia->props && json_object_is_type(ia->props, json_type_object)
                    ? (size_t)json_object_object_length(ia->props)
                    : 0;
  ia->content = json_object_new_object();
  ia->stage = STAGE_CONFIRM;
  prompt_action();
}

/* Shows a sampling request's messages. */
static void show_sampling(cli_interact *ia, json_object *p) {
  json_object *msgs = oget(p, "messages"), *mt = oget(p, "maxTokens");
  size_t i, n = msgs && json_object_is_type(msgs, json_type_array)
                    ? json_object_array_length(msgs)
                    : 0;

  fprintf(stderr, "\nThe server asks for a model reply");
  if (mt != NULL)
    fprintf(stderr, " (at most %lld tokens)",
            (long long)json_object_get_int64(mt));
  fputs(".\n", stderr);
  if (sget(p, "systemPrompt") != NULL)
    fprintf(stderr, "system: %s\n", sget(p, "systemPrompt"));
  for (i = 0; i < n; i++) {
    json_object *m = json_object_array_get_idx(msgs, i);
    fprintf(stderr, "%s: ", sget(m, "role") ? sget(m, "role") : "?");
    cli_print_content(stderr, oget(m, "content"));
  }
  fputs("Reply (an empty line refuses): ", stderr);
  fflush(stderr);
  ia->stage = STAGE_SAMPLING;
}

/* ---- reading the terminal ---------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  cli_interact *ia = h->data;

  (void)suggested;
  *buf = uv_buf_init(ia->rbuf, sizeof(ia->rbuf));
}

/* Refuses everything pending and queued (end of input, or exit). */
static void refuse_all(cli_interact *ia, const char *why) {
  if (ia->cur != NULL) {
    refuse(ia->cur, "cancel", why);
    ia->cur = NULL;
    ia->stage = STAGE_NONE;
    json_object_put(ia->content);
    ia->content = NULL;
  }
  while (ia->head != NULL) {
    ask_item *it = ia->head;
    ia->head = it->next;
    refuse(it->ask, "cancel", why);
    cmcp__free(it);
  }
  ia->tail = NULL;
  ia->queued = 0;
}

/* Splits what was read into lines and hands each to on_line. */
static void feed(cli_interact *ia, const char *p, size_t n) {
  size_t i;

  for (i = 0; i < n; i++) {
    if (p[i] == '\r')
      continue;
    if (p[i] != '\n') {
      if (cmcp__buf_add(&ia->line, &p[i], 1) != 0)
        cmcp__buf_reset(&ia->line); /* an absurd line: drop it */
      continue;
    }
    if (cmcp__buf_add(&ia->line, "", 1) == 0) {
      ia->line.len--;
      on_line(ia, ia->line.data);
    }
    cmcp__buf_reset(&ia->line);
  }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  cli_interact *ia = s->data;

  if (n > 0) {
    feed(ia, buf->base, (size_t)n);
    return;
  }
  if (n < 0) { /* end of input: nobody left to answer */
    uv_read_stop(s);
    ia->reading = 0;
    ia->tty = 0;
    fputc('\n', stderr);
    refuse_all(ia, "end of input");
  }
}

/* Starts or stops reading stdin: only while an ask is on screen. */
static void set_reading(cli_interact *ia, int on) {
  if (!ia->in_init || ia->reading == on)
    return;
  if (on && uv_read_start((uv_stream_t *)&ia->in, on_alloc, on_read) != 0) {
    ia->tty = 0;
    refuse_all(ia, "cannot read the terminal");
    return;
  }
  if (!on)
    uv_read_stop((uv_stream_t *)&ia->in);
  ia->reading = on;
}

/* Puts the next queued ask on screen, or stops reading. */
static void start_next(cli_interact *ia) {
  ask_item *it = ia->head;
  json_object *p;

  if (ia->cur != NULL)
    return;
  if (it == NULL) {
    set_reading(ia, 0);
    return;
  }
  ia->head = it->next;
  if (ia->head == NULL)
    ia->tail = NULL;
  ia->queued--;
  ia->cur = it->ask;
  cmcp__free(it);
  p = cmcp_ask_params(ia->cur);
  if (strcmp(cmcp_ask_method(ia->cur), "sampling/createMessage") == 0)
    show_sampling(ia, p);
  else
    show_elicitation(ia, p);
  set_reading(ia, 1);
}

/* The sampling and elicitation handler. */
static void on_ask(cmcp_client_t *cli, cmcp_ask_t *ask, void *data) {
  cli_interact *ia = data;
  ask_item *it;

  (void)cli;
  if (!ia->tty) {
    refuse(ask, "decline", "stdin is not a terminal");
    return;
  }
  if (ia->queued >= ASK_QUEUE_MAX ||
      (it = cmcp__calloc(1, sizeof(*it))) == NULL) {
    refuse(ask, "cancel", "too many questions at once");
    return;
  }
  it->ask = ask;
  if (ia->tail != NULL)
    ia->tail->next = it;
  else
    ia->head = it;
  ia->tail = it;
  ia->queued++;
  start_next(ia);
}

/* ---- roots ------------------------------------------------------------- */

/* root as a URI: kept when it has a scheme, else a file:// URI of the
 * absolute path, percent-encoded. */
static int root_uri(const char *root, cmcp__buf *out) {
  char abs[PATH_MAX];
  const char *p;

  if (strstr(root, "://") != NULL)
    return cmcp__buf_adds(out, root);
  if (realpath(root, abs) == NULL) {
    if (strlen(root) >= sizeof(abs))
      return CMCP_ELIMIT;
    memcpy(abs, root, strlen(root) + 1);
  }
  if (cmcp__buf_adds(out, "file://") != 0)
    return CMCP_ENOMEM;
  for (p = abs; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    int rc = strchr("-._~/", ch) || (ch >= '0' && ch <= '9') ||
                     (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
                 ? cmcp__buf_add(out, p, 1)
                 : cmcp__buf_printf(out, "%%%02X", ch);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* roots/list: the --root values. */
static void on_roots(cmcp_client_t *cli, cmcp_ask_t *ask, void *data) {
  cli_interact *ia = data;
  json_object *res = json_object_new_object(), *arr = json_object_new_array();
  cmcp__buf uri;
  int i;

  (void)cli;
  cmcp__buf_init(&uri, 3 * PATH_MAX + 16);
  for (i = 0; arr != NULL && i < ia->c->o->nroots; i++) {
    json_object *r = json_object_new_object();
    cmcp__buf_reset(&uri);
    if (r == NULL || root_uri(ia->c->o->roots[i], &uri) != 0) {
      json_object_put(r);
      continue;
    }
    json_object_object_add(r, "uri", json_object_new_string(uri.data));
    json_object_array_add(arr, r);
  }
  cmcp__buf_free(&uri);
  if (res != NULL && arr != NULL) {
    json_object_object_add(res, "roots", arr);
    arr = NULL;
  }
  json_object_put(arr);
  reply_json(ask, res);
  json_object_put(res);
}

/* ---- setup ------------------------------------------------------------- */

int cli_interact_init(cli_ctx *c) {
  cli_interact *ia = cmcp__calloc(1, sizeof(*ia));

  if (ia == NULL)
    return CMCP_ENOMEM;
  ia->c = c;
  c->ia = ia;
  cmcp__buf_init(&ia->line, LINE_MAX_BYTES);
  ia->tty = isatty(STDIN_FILENO);
  if (ia->tty && uv_tty_init(&c->loop, &ia->in, STDIN_FILENO, 1) == 0) {
    ia->in_init = 1;
    ia->in.data = ia;
  } else {
    ia->tty = 0;
  }
  if (cmcp_client_on_sampling(c->cli, on_ask, ia) != 0 ||
      cmcp_client_on_elicitation(c->cli, CMCP_ELICIT_FORM | CMCP_ELICIT_URL,
                                 on_ask, ia) != 0)
    return CMCP_ENOMEM;
  if (c->o->nroots > 0 && cmcp_client_on_roots(c->cli, 0, on_roots, ia) != 0)
    return CMCP_ENOMEM;
  return 0;
}

/* The tty handle is closed: the state can go. */
static void on_closed(uv_handle_t *h) {
  cmcp__free(h->data);
}

void cli_interact_close(cli_ctx *c) {
  cli_interact *ia = c->ia;

  if (ia == NULL)
    return;
  c->ia = NULL;
  refuse_all(ia, "cmcp is exiting");
  cmcp__buf_free(&ia->line);
  if (!ia->in_init) {
    cmcp__free(ia);
    return;
  }
  uv_read_stop((uv_stream_t *)&ia->in);
  uv_tty_reset_mode();
  uv_close((uv_handle_t *)&ia->in, on_closed);
}
