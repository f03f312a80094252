/* src/transport/mcp_params.h: the Mcp-Param-{Name} headers of a modern
 * tools/call checked against its arguments (2026-07-28 Streamable HTTP,
 * "Custom Headers from Tool Parameters", SEP-2243). Pure: no I/O and no
 * registry; the caller gives the tool's inputSchema, the call's arguments
 * and a way to read the request's headers. Internal to src/transport/.
 */
#ifndef CMCP_TRANSPORT_MCP_PARAMS_H
#define CMCP_TRANSPORT_MCP_PARAMS_H

#include <json-c/json.h>
#include <stddef.h>

/* The nth (0-based) value of the request header name, compared
 * case-insensitively ("Clients and servers MUST use case-insensitive
 * comparisons for header names"), or NULL when there is no such value. */
typedef const char *(*cmcp__mcp_header_fn)(void *ctx, const char *name,
                                           size_t nth);

/* A message buffer of this size holds every message in full. */
#define CMCP__MCP_PARAMS_MSG_MAX 256

/* Checks every parameter of input_schema marked "x-mcp-header": NAME and
 * reachable from the root through "properties" alone against its header
 * Mcp-Param-NAME (looked up with header(ctx, ...)):
 * - a value in arguments (neither absent nor null) needs exactly one header
 *   whose value, plain or "=?base64?...?=" (strict base64 with padding),
 *   mirrors it: a string byte for byte, a boolean as "true"/"false", an
 *   integer numerically ("42.0" equals 42; decimal text only);
 * - an absent or null value needs no header, and one that comes anyway
 *   does not match the body;
 * - a plain value may hold visible ASCII, space and tab only.
 * arguments may be NULL (no arguments). Returns 0 when every header agrees;
 * otherwise CMCP_MCP_HEADER_MISMATCH (-32020) with a message naming the
 * header written to msg (msgsz bytes, truncated if need be; msg may be NULL
 * when msgsz is 0). Allocates nothing. */
int cmcp__mcp_params_check(json_object *input_schema, json_object *arguments,
                           cmcp__mcp_header_fn header, void *ctx, char *msg,
                           size_t msgsz);

#endif /* CMCP_TRANSPORT_MCP_PARAMS_H */
