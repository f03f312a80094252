/* ask.c: the tools that need input from the client: sampling, elicitation
 * (form with defaults and every enum shape, URL mode), roots, and the
 * test_input_required_result_* family of the 2026-07-28 wire.
 *
 * Every handler follows the one-API ask model of cmcp/server.h: it looks
 * for its answers with cmcp_call_input(); if one is missing it asks and
 * ends the round with cmcp_call_need_input(); the engine runs it again, from
 * the start, once the answers are in. On a legacy session the asks become
 * real server-to-client requests; on the 2026-07-28 wire they become an
 * InputRequiredResult.
 */
#include "everything.h"

#include <stdio.h>
#include <string.h>

/* Ends a round of asks: need_input if every ask was accepted, else an
 * internal error naming the failure. */
static void end_round(cmcp_call_t *call, int rc) {
  if (rc == 0)
    cmcp_call_need_input(call);
  else
    cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR, cmcp_strerror(rc), NULL);
}

/* 1 if the client answered the ask named key with an object (the only
 * shape an ElicitResult, CreateMessageResult or ListRootsResult has). */
static int answered(const cmcp_call_t *call, const char *key) {
  struct json_object *ans = cmcp_call_input(call, key);

  return ans != NULL && json_object_is_type(ans, json_type_object);
}

/* The "content" of an ElicitResult as JSON text ("{}" when absent). */
static const char *elicit_content_text(struct json_object *ans) {
  struct json_object *content;

  if (!json_object_object_get_ex(ans, "content", &content))
    return "{}";
  return ev_json_text(content);
}

/* A string field of an ElicitResult's content, or NULL. */
static const char *elicit_field(struct json_object *ans, const char *field) {
  struct json_object *content;

  if (!json_object_object_get_ex(ans, "content", &content))
    return NULL;
  return ev_json_string(content, field);
}

/* Asks for sampling with one user text message. */
static int ask_sampling_text(cmcp_call_t *call, const char *key,
                             const char *text, int max_tokens) {
  struct json_object *p = json_object_new_object();
  struct json_object *msgs = json_object_new_array();
  struct json_object *msg = json_object_new_object();
  struct json_object *content = json_object_new_object();
  int rc = CMCP_ENOMEM;

  if (p == NULL || msgs == NULL || msg == NULL || content == NULL)
    goto out;
  json_object_object_add(content, "type", json_object_new_string("text"));
  json_object_object_add(content, "text", json_object_new_string(text));
  json_object_object_add(msg, "role", json_object_new_string("user"));
  json_object_object_add(msg, "content", content);
  content = NULL;
  json_object_array_add(msgs, msg);
  msg = NULL;
  json_object_object_add(p, "messages", msgs);
  msgs = NULL;
  json_object_object_add(p, "maxTokens", json_object_new_int(max_tokens));
  rc = cmcp_call_ask_sampling(call, key, ev_json_text(p));
out:
  json_object_put(content);
  json_object_put(msg);
  json_object_put(msgs);
  json_object_put(p);
  return rc;
}

/* ---- 2025-11-25 era fixtures (they work on both wires) ---------------- */

/* test_sampling: asks the client's LLM the "prompt" argument. */
static void sampling(cmcp_call_t *call, void *data) {
  const char *prompt = "", *text;

  (void)data;
  if (!cmcp_call_client_has(call, "sampling")) {
    ev_missing_capability(call, "sampling");
    return;
  }
  if (!answered(call, "llm")) {
    cmcp_call_arg_string(call, "prompt", &prompt);
    end_round(call, ask_sampling_text(call, "llm", prompt, 100));
    return;
  }
  text = ev_sampling_text(call, "llm");
  ev_add_textf(call, "LLM response: %s", text != NULL ? text : "No response");
  cmcp_call_done(call);
}

#define EV_USER_SCHEMA                                                         \
  "{\"type\":\"object\",\"properties\":{\"username\":{\"type\":\"string\","    \
  "\"description\":\"User's response\"},\"email\":{\"type\":\"string\","       \
  "\"description\":\"User's email address\"}},\"required\":[\"username\","     \
  "\"email\"]}"

/* test_elicitation: asks the user the "message" argument. */
static void elicitation(cmcp_call_t *call, void *data) {
  struct json_object *ans;
  const char *message = "Please provide your information";

  (void)data;
  if (!cmcp_call_client_has(call, "elicitation")) {
    ev_missing_capability(call, "elicitation");
    return;
  }
  ans = ev_elicit_answer(call, "user");
  if (ans == NULL) {
    cmcp_call_arg_string(call, "message", &message);
    end_round(call,
              cmcp_call_ask_elicit(call, "user", message, EV_USER_SCHEMA));
    return;
  }
  ev_add_textf(call, "User response: action=%s, content=%s",
               ev_json_string(ans, "action"), elicit_content_text(ans));
  cmcp_call_done(call);
}

/* Asks once with a fixed form, then reports the answer (the SEP-1034 and
 * SEP-1330 fixtures differ only in their form). */
static void elicit_form(cmcp_call_t *call, const char *message,
                        const char *schema) {
  struct json_object *ans;

  if (!cmcp_call_client_has(call, "elicitation")) {
    ev_missing_capability(call, "elicitation");
    return;
  }
  ans = ev_elicit_answer(call, "form");
  if (ans == NULL) {
    end_round(call, cmcp_call_ask_elicit(call, "form", message, schema));
    return;
  }
  ev_add_textf(call, "Elicitation completed: action=%s, content=%s",
               ev_json_string(ans, "action"), elicit_content_text(ans));
  cmcp_call_done(call);
}

#define EV_DEFAULTS_SCHEMA                                                     \
  "{\"type\":\"object\",\"properties\":{"                                      \
  "\"name\":{\"type\":\"string\",\"description\":\"User name\","               \
  "\"default\":\"John Doe\"},"                                                 \
  "\"age\":{\"type\":\"integer\",\"description\":\"User age\","                \
  "\"default\":30},"                                                           \
  "\"score\":{\"type\":\"number\",\"description\":\"User score\","             \
  "\"default\":95.5},"                                                         \
  "\"status\":{\"type\":\"string\",\"description\":\"User status\","           \
  "\"enum\":[\"active\",\"inactive\",\"pending\"],\"default\":\"active\"},"    \
  "\"verified\":{\"type\":\"boolean\",\"description\":"                        \
  "\"Verification status\",\"default\":true}},\"required\":[]}"

static void elicitation_defaults(cmcp_call_t *call, void *data) {
  (void)data;
  elicit_form(call, "Please review and update the form fields with defaults",
              EV_DEFAULTS_SCHEMA);
}

#define EV_ENUMS_SCHEMA                                                        \
  "{\"type\":\"object\",\"properties\":{"                                      \
  "\"untitledSingle\":{\"type\":\"string\",\"description\":"                   \
  "\"Select one option\",\"enum\":[\"option1\",\"option2\",\"option3\"]},"     \
  "\"titledSingle\":{\"type\":\"string\",\"description\":"                     \
  "\"Select one option with titles\",\"oneOf\":["                              \
  "{\"const\":\"value1\",\"title\":\"First Option\"},"                         \
  "{\"const\":\"value2\",\"title\":\"Second Option\"},"                        \
  "{\"const\":\"value3\",\"title\":\"Third Option\"}]},"                       \
  "\"legacyEnum\":{\"type\":\"string\",\"description\":"                       \
  "\"Select one option (legacy)\",\"enum\":[\"opt1\",\"opt2\",\"opt3\"],"      \
  "\"enumNames\":[\"Option One\",\"Option Two\",\"Option Three\"]},"           \
  "\"untitledMulti\":{\"type\":\"array\",\"description\":"                     \
  "\"Select multiple options\",\"minItems\":1,\"maxItems\":3,\"items\":{"      \
  "\"type\":\"string\",\"enum\":[\"option1\",\"option2\",\"option3\"]}},"      \
  "\"titledMulti\":{\"type\":\"array\",\"description\":"                       \
  "\"Select multiple options with titles\",\"minItems\":1,\"maxItems\":3,"     \
  "\"items\":{\"anyOf\":[{\"const\":\"value1\",\"title\":\"First Choice\"},"   \
  "{\"const\":\"value2\",\"title\":\"Second Choice\"},"                        \
  "{\"const\":\"value3\",\"title\":\"Third Choice\"}]}}},\"required\":[]}"

static void elicitation_enums(cmcp_call_t *call, void *data) {
  (void)data;
  elicit_form(call, "Please select options from the enum fields",
              EV_ENUMS_SCHEMA);
}

/* test_elicitation_url: URL-mode elicitation (2025-11-25 and later). */
static void elicitation_url(cmcp_call_t *call, void *data) {
  struct json_object *ans;

  (void)data;
  if (!cmcp_call_client_has(call, "elicitation")) {
    ev_missing_capability(call, "elicitation");
    return;
  }
  ans = ev_elicit_answer(call, "consent");
  if (ans == NULL) {
    end_round(call,
              cmcp_call_ask_elicit_url(
                  call, "consent", "Please open the page to grant access.",
                  "https://example.com/cmcp-everything/consent",
                  "cmcp-everything-consent"));
    return;
  }
  ev_add_textf(call, "URL elicitation completed: action=%s",
               ev_json_string(ans, "action"));
  cmcp_call_done(call);
}

/* ---- 2026-07-28: InputRequiredResult (SEP-2322) ------------------------ */

#define EV_NAME_SCHEMA                                                         \
  "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},"      \
  "\"required\":[\"name\"]}"

/* test_input_required_result_elicitation: "user_name", then a greeting. */
static void ir_elicitation(cmcp_call_t *call, void *data) {
  struct json_object *ans;
  const char *name;

  (void)data;
  if (!cmcp_call_client_has(call, "elicitation")) {
    ev_missing_capability(call, "elicitation");
    return;
  }
  ans = ev_elicit_answer(call, "user_name");
  if (ans == NULL) {
    end_round(call, cmcp_call_ask_elicit(call, "user_name",
                                         "What is your name?", EV_NAME_SCHEMA));
    return;
  }
  name = elicit_field(ans, "name");
  if (name != NULL)
    ev_add_textf(call, "Hello, %s!", name);
  else
    ev_add_textf(call, "No name given (action=%s).",
                 ev_json_string(ans, "action"));
  cmcp_call_done(call);
}

/* test_input_required_result_sampling: "capital_question". */
static void ir_sampling(cmcp_call_t *call, void *data) {
  const char *text;

  (void)data;
  if (!cmcp_call_client_has(call, "sampling")) {
    ev_missing_capability(call, "sampling");
    return;
  }
  if (!answered(call, "capital_question")) {
    end_round(call, ask_sampling_text(call, "capital_question",
                                      "What is the capital of France?", 100));
    return;
  }
  text = ev_sampling_text(call, "capital_question");
  ev_add_textf(call, "Sampling answered: %s", text ? text : "(no text)");
  cmcp_call_done(call);
}

/* The URIs of a ListRootsResult answer, comma separated, into out. Returns
 * 0, or -1 if the answer is not a ListRootsResult. */
static int roots_text(struct json_object *ans, char *out, size_t len) {
  struct json_object *roots;
  size_t i, n, used = 0;

  out[0] = '\0';
  if (ans == NULL || !json_object_object_get_ex(ans, "roots", &roots) ||
      !json_object_is_type(roots, json_type_array))
    return -1;
  n = json_object_array_length(roots);
  for (i = 0; i < n && used < len; i++) {
    const char *uri =
        ev_json_string(json_object_array_get_idx(roots, i), "uri");
    int w = snprintf(out + used, len - used, "%s%s", i ? ", " : "",
                     uri != NULL ? uri : "?");
    if (w < 0)
      break;
    used += (size_t)w;
  }
  return 0;
}

/* test_input_required_result_list_roots: "client_roots". */
static void ir_list_roots(cmcp_call_t *call, void *data) {
  char list[1024];

  (void)data;
  if (!cmcp_call_client_has(call, "roots")) {
    ev_missing_capability(call, "roots");
    return;
  }
  if (roots_text(cmcp_call_input(call, "client_roots"), list, sizeof(list))) {
    end_round(call, cmcp_call_ask_roots(call, "client_roots"));
    return;
  }
  ev_add_textf(call, "Client roots: %s", list[0] ? list : "(none)");
  cmcp_call_done(call);
}

#define EV_CONFIRM_SCHEMA                                                      \
  "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}},"       \
  "\"required\":[\"ok\"]}"
#define EV_STATE_CONFIRM "confirm-pending"

/* test_input_required_result_request_state: round one carries state that
 * round two must bring back unchanged ("state-ok" proves it did). */
static void ir_request_state(cmcp_call_t *call, void *data) {
  struct json_object *ans;
  const char *state;

  (void)data;
  if (!cmcp_call_client_has(call, "elicitation")) {
    ev_missing_capability(call, "elicitation");
    return;
  }
  ans = ev_elicit_answer(call, "confirm");
  state = cmcp_call_state(call);
  if (ans == NULL || state == NULL || strcmp(state, EV_STATE_CONFIRM) != 0) {
    int rc = cmcp_call_set_state(call, EV_STATE_CONFIRM);
    if (rc == 0)
      rc = cmcp_call_ask_elicit(call, "confirm", "Please confirm",
                                EV_CONFIRM_SCHEMA);
    end_round(call, rc);
    return;
  }
  ev_add_textf(call, "state-ok: action=%s, content=%s",
               ev_json_string(ans, "action"), elicit_content_text(ans));
  cmcp_call_done(call);
}

/* test_input_required_result_tampered_state: sealed state the engine must
 * refuse once tampered with; an intact round two completes. */
static void ir_tampered_state(cmcp_call_t *call, void *data) {
  (void)data;
  ir_request_state(call, data);
}

/* test_input_required_result_multiple_inputs: elicitation, sampling and
 * roots in one round; asks again for whichever is still missing. */
static void ir_multiple_inputs(cmcp_call_t *call, void *data) {
  struct json_object *name_ans = ev_elicit_answer(call, "user_name");
  const char *greeting = ev_sampling_text(call, "greeting");
  int have_greeting = answered(call, "greeting");
  char roots[512];
  int have_roots = roots_text(cmcp_call_input(call, "client_roots"), roots,
                              sizeof(roots)) == 0;
  int rc = 0;

  (void)data;
  if (name_ans != NULL && have_greeting && have_roots) {
    const char *name = elicit_field(name_ans, "name");
    ev_add_textf(call, "name=%s; greeting=%s; roots=%s",
                 name != NULL ? name : "?", greeting ? greeting : "(no text)",
                 roots);
    cmcp_call_done(call);
    return;
  }
  rc = cmcp_call_set_state(call, "multiple-inputs-pending");
  if (rc == 0 && name_ans == NULL)
    rc = cmcp_call_ask_elicit(call, "user_name", "What is your name?",
                              EV_NAME_SCHEMA);
  if (rc == 0 && !have_greeting)
    rc = ask_sampling_text(call, "greeting", "Generate a greeting", 50);
  if (rc == 0 && !have_roots)
    rc = cmcp_call_ask_roots(call, "client_roots");
  end_round(call, rc);
}

#define EV_COLOR_SCHEMA                                                        \
  "{\"type\":\"object\",\"properties\":{\"color\":{\"type\":\"string\"}},"     \
  "\"required\":[\"color\"]}"

/* Ends round one or two of the multi-round tool: state, then one ask. */
static void multi_round_ask(cmcp_call_t *call, const char *state,
                            const char *key, const char *message,
                            const char *schema) {
  int rc = cmcp_call_set_state(call, state);

  if (rc == 0)
    rc = cmcp_call_ask_elicit(call, key, message, schema);
  end_round(call, rc);
}

/* test_input_required_result_multi_round: step1 (name), then step2
 * (color), then the result. Round three brings only step2's answer, so the
 * name travels in the state ("2:<name>"). */
static void ir_multi_round(cmcp_call_t *call, void *data) {
  const char *state = cmcp_call_state(call);
  struct json_object *step1 = ev_elicit_answer(call, "step1");
  struct json_object *step2 = ev_elicit_answer(call, "step2");
  char next[512];

  (void)data;
  if (state != NULL && strncmp(state, "2:", 2) == 0 && step2 != NULL) {
    const char *color = elicit_field(step2, "color");
    ev_add_textf(call, "Hello, %s! Your favorite color is %s.", state + 2,
                 color != NULL ? color : "unknown");
    cmcp_call_done(call);
    return;
  }
  if (step1 == NULL) {
    multi_round_ask(call, "1", "step1", "Step 1: What is your name?",
                    EV_NAME_SCHEMA);
    return;
  }
  snprintf(next, sizeof(next), "2:%s",
           elicit_field(step1, "name") ? elicit_field(step1, "name") : "?");
  multi_round_ask(call, next, "step2", "Step 2: What is your favorite color?",
                  EV_COLOR_SCHEMA);
}

/* test_input_required_result_capabilities: asks only for what the client
 * declared; with nothing declared there is nothing to ask. */
static void ir_capabilities(cmcp_call_t *call, void *data) {
  int el = cmcp_call_client_has(call, "elicitation");
  int sa = cmcp_call_client_has(call, "sampling");
  int ro = cmcp_call_client_has(call, "roots");
  int missing = 0, rc = 0;

  (void)data;
  if (el && ev_elicit_answer(call, "user_name") == NULL) {
    missing = 1;
    rc = cmcp_call_ask_elicit(call, "user_name", "What is your name?",
                              EV_NAME_SCHEMA);
  }
  if (rc == 0 && sa && !answered(call, "greeting")) {
    missing = 1;
    rc = ask_sampling_text(call, "greeting", "Generate a greeting", 50);
  }
  if (rc == 0 && ro && !answered(call, "client_roots")) {
    missing = 1;
    rc = cmcp_call_ask_roots(call, "client_roots");
  }
  if (missing || rc != 0) {
    end_round(call, rc);
    return;
  }
  ev_add_textf(call, "Asked for: elicitation=%s sampling=%s roots=%s",
               el ? "yes" : "no", sa ? "yes" : "no", ro ? "yes" : "no");
  cmcp_call_done(call);
}

/* test_missing_capability: needs sampling; without it the answer is
 * -32021 MissingRequiredClientCapability naming "sampling". */
static void missing_capability(cmcp_call_t *call, void *data) {
  const char *text;

  (void)data;
  if (!cmcp_call_client_has(call, "sampling")) {
    ev_missing_capability(call, "sampling");
    return;
  }
  if (!answered(call, "probe")) {
    end_round(call, ask_sampling_text(call, "probe", "Say hello.", 20));
    return;
  }
  text = ev_sampling_text(call, "probe");
  ev_add_textf(call, "Sampling answered: %s", text ? text : "(no text)");
  cmcp_call_done(call);
}

#define EV_TEXT_SCHEMA                                                         \
  "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},"      \
  "\"required\":[\"text\"]}"

/* test_streaming_elicitation: progress on the request's own stream, then
 * an elicitation ask; the stream must carry no independent request. */
static void streaming_elicitation(cmcp_call_t *call, void *data) {
  struct json_object *ans;
  const char *text;

  (void)data;
  if (!cmcp_call_client_has(call, "elicitation")) {
    ev_missing_capability(call, "elicitation");
    return;
  }
  ans = ev_elicit_answer(call, "input");
  if (ans == NULL) {
    cmcp_call_progress(call, 1, 2, "Waiting for the user");
    end_round(call, cmcp_call_ask_elicit(call, "input", "Type something.",
                                         EV_TEXT_SCHEMA));
    return;
  }
  text = elicit_field(ans, "text");
  ev_add_textf(call, "You typed: %s", text != NULL ? text : "(nothing)");
  cmcp_call_done(call);
}

#define EV_NO_ARGS "{\"type\":\"object\",\"properties\":{}}"
#define EV_TOOL(name, desc, schema)                                            \
  "{\"name\":\"" name "\",\"description\":\"" desc                             \
  "\",\"inputSchema\":" schema "}"

static const struct {
  const char *json;
  cmcp_handler_fn fn;
} tools[] = {
    {EV_TOOL("test_sampling",
             "Asks the client's LLM the given prompt (sampling) and returns "
             "its answer.",
             "{\"type\":\"object\",\"properties\":{\"prompt\":{\"type\":"
             "\"string\",\"description\":\"The prompt to send to the LLM\"}},"
             "\"required\":[\"prompt\"]}"),
     sampling},
    {EV_TOOL("test_elicitation",
             "Asks the user for a username and email (form elicitation).",
             "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":"
             "\"string\",\"description\":\"The message to show the user\"}},"
             "\"required\":[\"message\"]}"),
     elicitation},
    {EV_TOOL("test_elicitation_sep1034_defaults",
             "Form elicitation whose fields all carry default values.",
             EV_NO_ARGS),
     elicitation_defaults},
    {EV_TOOL("test_elicitation_sep1330_enums",
             "Form elicitation with all five enum shapes.", EV_NO_ARGS),
     elicitation_enums},
    {EV_TOOL("test_elicitation_url",
             "URL-mode elicitation: asks the user to open a page.", EV_NO_ARGS),
     elicitation_url},
    {EV_TOOL("test_input_required_result_elicitation",
             "Asks for the user's name (user_name), then greets them.",
             EV_NO_ARGS),
     ir_elicitation},
    {EV_TOOL("test_input_required_result_sampling",
             "Asks the client's LLM for the capital of France.", EV_NO_ARGS),
     ir_sampling},
    {EV_TOOL("test_input_required_result_list_roots",
             "Asks for the client's roots and lists them.", EV_NO_ARGS),
     ir_list_roots},
    {EV_TOOL("test_input_required_result_request_state",
             "Asks for a confirmation with requestState; answers state-ok.",
             EV_NO_ARGS),
     ir_request_state},
    {EV_TOOL("test_input_required_result_tampered_state",
             "Asks with sealed requestState; tampered state is refused.",
             EV_NO_ARGS),
     ir_tampered_state},
    {EV_TOOL("test_input_required_result_multiple_inputs",
             "Asks for elicitation, sampling and roots in one round.",
             EV_NO_ARGS),
     ir_multiple_inputs},
    {EV_TOOL("test_input_required_result_multi_round",
             "Asks for a name, then a color, in two rounds.", EV_NO_ARGS),
     ir_multi_round},
    {EV_TOOL("test_input_required_result_capabilities",
             "Asks only for what the client declared it can answer.",
             EV_NO_ARGS),
     ir_capabilities},
    {EV_TOOL("test_missing_capability",
             "Needs the sampling capability; without it fails with -32021.",
             EV_NO_ARGS),
     missing_capability},
    {EV_TOOL("test_streaming_elicitation",
             "Reports progress, then asks the user for some text.", EV_NO_ARGS),
     streaming_elicitation},
};

int ev_register_ask_tools(cmcp_server_t *srv) {
  size_t i;
  int rc;

  for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
    rc = cmcp_server_add_tool_json(srv, tools[i].json, 0, tools[i].fn, NULL);
    if (rc != 0)
      return rc;
  }
  return 0;
}
