/* everything.h: the conformance fixture server, shared between its files.
 *
 * cmcp-everything registers every tool, resource, template, prompt and the
 * completion provider that the official conformance suite
 * (@modelcontextprotocol/conformance) calls by name; README.md in this
 * folder lists them with the scenarios that use them. Everything here goes
 * through the public API only (cmcp.h), plus json-c for the JSON values a
 * call hands out.
 */
#ifndef EVERYTHING_H
#define EVERYTHING_H

#include <cmcp.h>
#include <json-c/json.h>

/* A 1x1 red PNG and a minimal WAV file, base64. */
extern const char ev_png_base64[];
extern const char ev_wav_base64[];

/* Registration, one per file. Each returns 0 or a negative cmcp status. */
int ev_register_tools(cmcp_server_t *srv);
int ev_register_ask_tools(cmcp_server_t *srv);
int ev_register_task_tools(cmcp_server_t *srv);
int ev_register_resources(cmcp_server_t *srv);
int ev_register_prompts(cmcp_server_t *srv);

/* Adds test_dynamic_prompt if it is absent, removes it if present
 * (prompts.c). Returns 0 or a negative cmcp status. */
int ev_toggle_dynamic_prompt(cmcp_server_t *srv);

/* ---- helpers (main.c) -------------------------------------------------- */

/* Sleeps ms milliseconds in slices, returning early (1) once the call is
 * cancelled; 0 after the full sleep. Only for handlers registered with
 * CMCP_FEATURE_BLOCKING. */
int ev_sleep_ms(cmcp_call_t *call, long ms);

/* Serializes a json-c value compactly; the text lives as long as obj. */
const char *ev_json_text(struct json_object *obj);

/* The string member key of obj, or NULL if absent or not a string. */
const char *ev_json_string(struct json_object *obj, const char *key);

/* Adds a text content block whose text is the NUL-terminated result of
 * snprintf(fmt, ...), truncated to 4 KiB. */
int ev_add_textf(cmcp_call_t *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The answer of an elicitation ask (an ElicitResult object with a string
 * "action"), or NULL if there is none or it is malformed. */
struct json_object *ev_elicit_answer(const cmcp_call_t *call, const char *key);

/* The first text of a CreateMessageResult answer ("content" is one block or
 * an array of blocks), or NULL if there is no usable answer. */
const char *ev_sampling_text(const cmcp_call_t *call, const char *key);

/* Finishes a call that needs a client capability the client did not
 * declare: a -32021 error naming it on the 2026-07-28 wire, a tool error
 * on a legacy session. Returns the finishing call's status. */
int ev_missing_capability(cmcp_call_t *call, const char *capability);

#endif /* EVERYTHING_H */
