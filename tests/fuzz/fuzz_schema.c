/* libFuzzer target for the JSON Schema validator (src/proto/schema.c).
 * Input: a schema, a '\n', then an instance, both JSON. Schema text that is
 * not JSON is used as an ECMA-262 "pattern" instead (and the instance text
 * as the string to match), which exercises the regex translation. A schema
 * is either compiled or refused with a message; validation returns a known
 * status, with a message exactly when it fails. */
#include "proto/schema.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses data[0..len) as one JSON value with a nesting limit; *ok tells a
 * parse failure from JSON null. */
static json_object *parse(const uint8_t *data, size_t len, int *ok) {
  struct json_tokener *tok = json_tokener_new_ex(64);
  json_object *o;
  *ok = 0;
  if (tok == NULL)
    return NULL;
  o = json_tokener_parse_ex(tok, (const char *)data, (int)len);
  if (json_tokener_get_error(tok) == json_tokener_success &&
      json_tokener_get_parse_end(tok) == len)
    *ok = 1;
  else if (o) {
    json_object_put(o);
    o = NULL;
  }
  json_tokener_free(tok);
  return o;
}

static void check_validate(const cmcp__schema_t *s, json_object *inst) {
  char err[256];
  int rc = cmcp__schema_validate(s, NULL, inst, err, sizeof err);
  if (rc != 0 && rc != CMCP_EINVAL && rc != CMCP_ELIMIT && rc != CMCP_ENOMEM)
    abort();
  if ((rc == 0) != (err[0] == '\0'))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nl = memchr(data, '\n', size);
  size_t slen = nl ? (size_t)(nl - data) : size;
  size_t ilen = nl ? size - slen - 1 : 0;
  json_object *doc, *inst;
  cmcp__schema_t *s;
  char err[256];
  int ok;
  if (size > 1 << 16)
    return 0;
  doc = parse(data, slen, &ok);
  if (!ok) { /* the schema text as a pattern, the instance as a string */
    doc = json_object_new_object();
    json_object_object_add(
        doc, "pattern",
        json_object_new_string_len((const char *)data, (int)slen));
    inst =
        json_object_new_string_len(nl ? (const char *)nl + 1 : "", (int)ilen);
  } else {
    inst = nl ? parse(nl + 1, ilen, &ok) : NULL;
  }
  s = cmcp__schema_compile(doc, err, sizeof err);
  if (s == NULL && err[0] == '\0')
    abort();
  if (s != NULL) {
    check_validate(s, inst);
    check_validate(s, doc); /* the schema as its own instance */
    cmcp__schema_free(s);
  }
  json_object_put(inst);
  json_object_put(doc);
  return 0;
}
