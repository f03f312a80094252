/* src/proto/schema.h: a JSON Schema validator over json-c objects. Internal.
 *
 * One validator serves two uses: checking tool arguments against a tool's
 * inputSchema (JSON Schema 2020-12, MCP's default dialect) and checking what
 * the engine emits against the official MCP schema.json documents (which use
 * "$ref": "#/$defs/X" and draft-07 style keywords).
 *
 * Supported keywords: type (a name or an array of names; "integer" accepts
 * 1.0), enum, const, properties, required, additionalProperties (boolean or
 * schema), patternProperties, propertyNames, minProperties, maxProperties,
 * dependentRequired, dependentSchemas, dependencies (draft-07), items
 * (schema; draft-07 array form with additionalItems too), prefixItems,
 * minItems, maxItems, uniqueItems, contains, minContains, maxContains,
 * minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum (number, and draft-04 boolean form), multipleOf,
 * minLength, maxLength (in code points), pattern, allOf, anyOf, oneOf, not,
 * if/then/else, $ref ("#", "#/$defs/<name>", "#/definitions/<name>" and
 * other local JSON pointers), $defs/definitions, and the boolean schemas
 * true and false. "format" and the annotations ($schema, $id, title,
 * description, default, examples, ...) are accepted and not checked;
 * unknown keywords are ignored.
 *
 * "pattern" and "patternProperties" are ECMA-262 regular expressions run
 * through POSIX regcomp() (see schema_re.h for what is translated and what
 * is refused); they are compiled once, with the schema.
 *
 * Not supported, and ignored like any unknown keyword (so more instances
 * pass than a full implementation would accept): unevaluatedProperties,
 * unevaluatedItems, $dynamicRef/$dynamicAnchor, $anchor and references to
 * other documents or by "$id" (a "$ref" other than "#..." is refused).
 *
 * A compiled schema is immutable: several threads may validate with it at
 * once. Validation allocates nothing through the cmcp allocator (messages
 * go straight into the caller's buffer); only propertyNames makes a json-c
 * string per name checked, and glibc's regexec allocates internally.
 */
#ifndef CMCP_SCHEMA_H
#define CMCP_SCHEMA_H

#include "cmcp/common.h"

#include <json-c/json.h>
#include <stddef.h>

typedef struct cmcp__schema cmcp__schema_t;

/* Deepest nesting of subschema applications (including $ref hops) that one
 * validation may reach; past it validation fails with CMCP_ELIMIT. This is
 * what stops "$ref" loops such as {"$ref": "#"}. */
#define CMCP__SCHEMA_MAX_DEPTH 256

/* Compiles a schema (a json-c object or boolean; a new reference to it is
 * taken, so the caller keeps its own). Returns NULL with a one-line reason
 * in err if the schema itself is invalid (unknown $ref target, bad regex,
 * wrong keyword types) or, with reason "out of memory", on ENOMEM. err may
 * be NULL when errlen is 0. */
cmcp__schema_t *cmcp__schema_compile(json_object *schema, char *err,
                                     size_t errlen);

/* Releases a compiled schema and its reference to the document. NULL is a
 * no-op. */
void cmcp__schema_free(cmcp__schema_t *s);

/* Validates instance (NULL means JSON null) against the root schema or, with
 * def != NULL, against "#/$defs/<def>" (else "#/definitions/<def>") of the
 * same document. Returns 0 if valid; CMCP_EINVAL if not, with a message
 * naming the offending location as a JSON pointer and the rule, e.g.
 * "/arguments/count: expected integer, got string" or
 * "/: missing required property \"name\""; CMCP_ENOENT if def names no
 * definition; CMCP_ELIMIT if the instance nests past
 * CMCP__SCHEMA_MAX_DEPTH. err may be NULL when errlen is 0. */
int cmcp__schema_validate(const cmcp__schema_t *s, const char *def,
                          json_object *instance, char *err, size_t errlen);

#endif /* CMCP_SCHEMA_H */
