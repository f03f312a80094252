/* resources.c: resources test://static-text, test://static-binary and
 * test://watched-resource, the template test://template/{id}/data, and the
 * tool that changes the watched resource (so subscribers hear
 * notifications/resources/updated).
 */
#include "everything.h"

#include <stdatomic.h>
#include <stdio.h>

/* How many times the watched resource has changed. */
static atomic_long watched_version;

static void static_text(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_text_contents(
      call, "test://static-text", "text/plain",
      "This is the content of the static text resource.");
  cmcp_call_done(call);
}

static void static_binary(cmcp_call_t *call, void *data) {
  (void)data;
  cmcp_call_add_blob_contents(call, "test://static-binary", "image/png",
                              ev_png_base64);
  cmcp_call_done(call);
}

static void watched(cmcp_call_t *call, void *data) {
  char text[128];

  (void)data;
  snprintf(text, sizeof(text), "Watched resource content (version %ld)",
           atomic_load(&watched_version));
  cmcp_call_add_text_contents(call, "test://watched-resource", "text/plain",
                              text);
  cmcp_call_done(call);
}

/* test://template/{id}/data: a JSON document naming the id it was read
 * with. The id is put in with json-c so any text stays valid JSON. */
static void template_data(cmcp_call_t *call, void *data) {
  const char *id = cmcp_call_uri_var(call, "id");
  struct json_object *doc = json_object_new_object();
  char line[512];

  (void)data;
  if (id == NULL || doc == NULL) {
    json_object_put(doc);
    cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR,
                    "template variable id missing", NULL);
    return;
  }
  snprintf(line, sizeof(line), "Data for ID: %s", id);
  json_object_object_add(doc, "id", json_object_new_string(id));
  json_object_object_add(doc, "templateTest", json_object_new_boolean(1));
  json_object_object_add(doc, "data", json_object_new_string(line));
  cmcp_call_add_text_contents(call, cmcp_call_name(call), "application/json",
                              ev_json_text(doc));
  json_object_put(doc);
  cmcp_call_done(call);
}

/* test_update_watched_resource: changes test://watched-resource and tells
 * its subscribers. */
static void update_watched(cmcp_call_t *call, void *data) {
  long v = atomic_fetch_add(&watched_version, 1) + 1;
  int rc;

  (void)data;
  rc = cmcp_server_notify_resource_updated(cmcp_call_server(call),
                                           "test://watched-resource");
  if (rc != 0) {
    cmcp_call_error(call, CMCP_JSONRPC_INTERNAL_ERROR, cmcp_strerror(rc), NULL);
    return;
  }
  ev_add_textf(call, "test://watched-resource is now at version %ld", v);
  cmcp_call_done(call);
}

static const struct {
  const char *json;
  cmcp_handler_fn fn;
} resources[] = {
    {"{\"uri\":\"test://static-text\",\"name\":\"static-text\",\"title\":"
     "\"Static Text Resource\",\"description\":\"A static text resource for "
     "testing\",\"mimeType\":\"text/plain\"}",
     static_text},
    {"{\"uri\":\"test://static-binary\",\"name\":\"static-binary\",\"title\":"
     "\"Static Binary Resource\",\"description\":\"A static binary resource "
     "(a PNG image) for testing\",\"mimeType\":\"image/png\"}",
     static_binary},
    {"{\"uri\":\"test://watched-resource\",\"name\":\"watched-resource\","
     "\"title\":\"Watched Resource\",\"description\":\"A resource that "
     "changes each time test_update_watched_resource is called\","
     "\"mimeType\":\"text/plain\"}",
     watched},
};

int ev_register_resources(cmcp_server_t *srv) {
  size_t i;
  int rc;

  for (i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
    rc = cmcp_server_add_resource_json(srv, resources[i].json, 0,
                                       resources[i].fn, NULL);
    if (rc != 0)
      return rc;
  }
  rc = cmcp_server_add_resource_template_json(
      srv,
      "{\"uriTemplate\":\"test://template/{id}/data\",\"name\":\"template\","
      "\"title\":\"Resource Template\",\"description\":\"A resource template "
      "with parameter substitution\",\"mimeType\":\"application/json\"}",
      0, template_data, NULL);
  if (rc != 0)
    return rc;
  return cmcp_server_add_tool_json(
      srv,
      "{\"name\":\"test_update_watched_resource\",\"description\":\"Changes "
      "test://watched-resource and notifies its subscribers.\","
      "\"inputSchema\":{\"type\":\"object\",\"properties\":{}}}",
      0, update_watched, NULL);
}
