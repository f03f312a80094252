/* prompts.c: the prompts (simple, with arguments, with an embedded
 * resource, with an image, one that needs input, one that comes and goes)
 * and the completion provider for prompt arguments and template variables.
 */
#include "everything.h"

#include <stdio.h>
#include <string.h>

/* Adds a prompt message from a content block built with json-c, and drops
 * the block. Returns the add's status. */
static int add_message(cmcp_call_t *call, struct json_object *block) {
  int rc;

  if (block == NULL)
    return CMCP_ENOMEM;
  rc = cmcp_call_add_prompt_message(call, "user", ev_json_text(block));
  json_object_put(block);
  return rc;
}

/* A text content block. */
static struct json_object *text_block(const char *text) {
  struct json_object *b = json_object_new_object();

  if (b == NULL)
    return NULL;
  json_object_object_add(b, "type", json_object_new_string("text"));
  json_object_object_add(b, "text", json_object_new_string(text));
  return b;
}

static void simple_prompt(cmcp_call_t *call, void *data) {
  (void)data;
  add_message(call, text_block("This is a simple prompt for testing."));
  cmcp_call_done(call);
}

static void prompt_with_arguments(cmcp_call_t *call, void *data) {
  const char *a1 = "", *a2 = "";
  char text[2048];

  (void)data;
  cmcp_call_arg_string(call, "arg1", &a1);
  cmcp_call_arg_string(call, "arg2", &a2);
  snprintf(text, sizeof(text), "Prompt with arguments: arg1='%s', arg2='%s'",
           a1, a2);
  add_message(call, text_block(text));
  cmcp_call_done(call);
}

/* An embedded text resource block for uri. */
static struct json_object *resource_block(const char *uri) {
  struct json_object *b = json_object_new_object();
  struct json_object *r = json_object_new_object();

  if (b == NULL || r == NULL) {
    json_object_put(b);
    json_object_put(r);
    return NULL;
  }
  json_object_object_add(r, "uri", json_object_new_string(uri));
  json_object_object_add(r, "mimeType", json_object_new_string("text/plain"));
  json_object_object_add(
      r, "text",
      json_object_new_string("Embedded resource content for testing."));
  json_object_object_add(b, "type", json_object_new_string("resource"));
  json_object_object_add(b, "resource", r);
  return b;
}

static void prompt_with_embedded_resource(cmcp_call_t *call, void *data) {
  const char *uri = "test://static-text";

  (void)data;
  cmcp_call_arg_string(call, "resourceUri", &uri);
  add_message(call, resource_block(uri));
  add_message(call, text_block("Please process the embedded resource above."));
  cmcp_call_done(call);
}

static void prompt_with_image(cmcp_call_t *call, void *data) {
  struct json_object *b = json_object_new_object();

  (void)data;
  if (b != NULL) {
    json_object_object_add(b, "type", json_object_new_string("image"));
    json_object_object_add(b, "data", json_object_new_string(ev_png_base64));
    json_object_object_add(b, "mimeType", json_object_new_string("image/png"));
  }
  add_message(call, b);
  add_message(call, text_block("Please analyze the image above."));
  cmcp_call_done(call);
}

#define EV_CONTEXT_SCHEMA                                                      \
  "{\"type\":\"object\",\"properties\":{\"context\":{\"type\":\"string\"}},"   \
  "\"required\":[\"context\"]}"

/* test_input_required_result_prompt: prompts/get that first asks the user
 * for the context (user_context), then builds the prompt from it. */
static void input_required_prompt(cmcp_call_t *call, void *data) {
  struct json_object *ans = ev_elicit_answer(call, "user_context");
  struct json_object *content;
  const char *ctx = NULL;
  char text[2048];
  int rc;

  (void)data;
  if (ans == NULL) {
    rc = cmcp_call_ask_elicit(call, "user_context",
                              "What context should the prompt use?",
                              EV_CONTEXT_SCHEMA);
    if (rc == 0)
      cmcp_call_need_input(call);
    else
      cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR, cmcp_strerror(rc),
                      NULL);
    return;
  }
  if (json_object_object_get_ex(ans, "content", &content))
    ctx = ev_json_string(content, "context");
  snprintf(text, sizeof(text), "Answer using this context: %s",
           ctx != NULL ? ctx : "(none given)");
  cmcp_call_set_description(call, "A prompt built from the user's context");
  add_message(call, text_block(text));
  cmcp_call_done(call);
}

static void dynamic_prompt(cmcp_call_t *call, void *data) {
  (void)data;
  add_message(call, text_block("This prompt was added while the server ran."));
  cmcp_call_done(call);
}

int ev_toggle_dynamic_prompt(cmcp_server_t *srv) {
  int rc = cmcp_server_remove_prompt(srv, "test_dynamic_prompt");

  if (rc == CMCP_ENOENT)
    rc = cmcp_server_add_prompt_json(
        srv,
        "{\"name\":\"test_dynamic_prompt\",\"description\":\"Appears and "
        "disappears each time test_trigger_prompt_change is called.\"}",
        0, dynamic_prompt, NULL);
  return rc;
}

/* ---- completion -------------------------------------------------------- */

/* Candidate values per (reference, argument). */
static const struct {
  const char *ref; /* prompt name or template URI */
  const char *arg;
  const char *values[8];
} candidates[] = {
    {"test_prompt_with_arguments",
     "arg1",
     {"paris", "park", "party", "test", "testing", "tester", NULL}},
    {"test_prompt_with_arguments",
     "arg2",
     {"hello", "help", "world", "worlds", NULL}},
    {"test_prompt_with_embedded_resource",
     "resourceUri",
     {"test://static-text", "test://static-binary", "test://watched-resource",
      NULL}},
    {"test://template/{id}/data", "id", {"1", "2", "3", "42", "123", NULL}},
};

/* The name or URI the completion request refers to, or NULL. */
static const char *completion_ref(struct json_object *params) {
  struct json_object *ref;
  const char *type;

  if (!json_object_object_get_ex(params, "ref", &ref))
    return NULL;
  type = ev_json_string(ref, "type");
  if (type != NULL && strcmp(type, "ref/prompt") == 0)
    return ev_json_string(ref, "name");
  if (type != NULL && strcmp(type, "ref/resource") == 0)
    return ev_json_string(ref, "uri");
  return NULL;
}

/* completion/complete: the candidates of the argument that start with the
 * typed value. An unknown reference or argument has no candidates. */
static void complete(cmcp_call_t *call, void *data) {
  struct json_object *params = cmcp_call_params(call), *arg;
  const char *ref = completion_ref(params), *name = NULL, *value = NULL;
  size_t i, j, n = 0;

  (void)data;
  if (json_object_object_get_ex(params, "argument", &arg)) {
    name = ev_json_string(arg, "name");
    value = ev_json_string(arg, "value");
  }
  for (i = 0; ref && name && i < sizeof(candidates) / sizeof(candidates[0]);
       i++) {
    if (strcmp(candidates[i].ref, ref) != 0 ||
        strcmp(candidates[i].arg, name) != 0)
      continue;
    for (j = 0; candidates[i].values[j] != NULL; j++) {
      const char *v = candidates[i].values[j];
      if (value == NULL || strncmp(v, value, strlen(value)) == 0) {
        cmcp_call_add_completion(call, v);
        n++;
      }
    }
  }
  cmcp_call_set_completion_total(call, (int64_t)n, 0);
  cmcp_call_done(call);
}

static const struct {
  const char *json;
  cmcp_handler_fn fn;
} prompts[] = {
    {"{\"name\":\"test_simple_prompt\",\"title\":\"Simple Test Prompt\","
     "\"description\":\"A simple prompt without arguments\"}",
     simple_prompt},
    {"{\"name\":\"test_prompt_with_arguments\",\"title\":\"Prompt With "
     "Arguments\",\"description\":\"A prompt with required arguments\","
     "\"arguments\":[{\"name\":\"arg1\",\"description\":\"First test "
     "argument\",\"required\":true},{\"name\":\"arg2\",\"description\":"
     "\"Second test argument\",\"required\":true}]}",
     prompt_with_arguments},
    {"{\"name\":\"test_prompt_with_embedded_resource\",\"title\":\"Prompt With "
     "Embedded Resource\",\"description\":\"A prompt that includes an "
     "embedded resource\",\"arguments\":[{\"name\":\"resourceUri\","
     "\"description\":\"URI of the resource to embed\",\"required\":true}]}",
     prompt_with_embedded_resource},
    {"{\"name\":\"test_prompt_with_image\",\"title\":\"Prompt With Image\","
     "\"description\":\"A prompt that includes image content\"}",
     prompt_with_image},
    {"{\"name\":\"test_input_required_result_prompt\",\"title\":\"Prompt "
     "Needing Input\",\"description\":\"Asks the user for context before it "
     "is built\"}",
     input_required_prompt},
};

int ev_register_prompts(cmcp_server_t *srv) {
  size_t i;
  int rc;

  for (i = 0; i < sizeof(prompts) / sizeof(prompts[0]); i++) {
    rc = cmcp_server_add_prompt_json(srv, prompts[i].json, 0, prompts[i].fn,
                                     NULL);
    if (rc != 0)
      return rc;
  }
  return cmcp_server_set_completion(srv, complete, NULL);
}
