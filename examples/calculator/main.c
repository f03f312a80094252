/* A complete MCP server with one tool; the README shows this file. */
#include <cmcp.h>
#include <stdio.h>

static void add(cmcp_call_t *call, void *data) {
  double a, b;
  char text[64];
  (void)data;
  cmcp_call_arg_double(call, "a", &a); /* the input schema made both required */
  cmcp_call_arg_double(call, "b", &b);
  snprintf(text, sizeof text, "%g", a + b);
  cmcp_call_add_text(call, text);
  cmcp_call_done(call);
}

int main(int argc, char **argv) {
  cmcp_server_t *srv = cmcp_server_new("calculator", "1.0.0");
  cmcp_server_add_tool(srv, "add", "Adds two numbers",
                       "{\"type\":\"object\",\"properties\":{"
                       "\"a\":{\"type\":\"number\"},\"b\":{\"type\":\"number\"}},"
                       "\"required\":[\"a\",\"b\"]}",
                       add, NULL);
  int rc = cmcp_server_main(srv, argc, argv); /* --stdio or --listen HOST:PORT */
  cmcp_server_free(srv);
  return rc;
}
