/* tests/unit/helper_spec.h: checks JSON values against the official MCP
 * schema of a protocol version, for the unit tests.
 *
 * Schemas are read from $CMCP_SPEC/<version>/schema.json (or
 * $CMCP_SRC/../shared/spec/...), compiled on first use and cached for the
 * life of the process; the cache is allocated through the cmcp allocator in
 * effect at first use (spec_release() hands it back, e.g. before a test
 * swaps allocators). */
#ifndef CMCP_TEST_HELPER_SPEC_H
#define CMCP_TEST_HELPER_SPEC_H

#include "proto/schema.h"

#include <json-c/json.h>

/* Fails the running cmocka test, printing the validator's message and the
 * instance, unless instance is valid against "#/$defs/<def>" of the schema
 * of version (e.g. "2025-11-25"). A schema that cannot be found or
 * compiled fails the test too. */
void spec_assert_valid(const char *version, const char *def,
                       json_object *instance);

/* The same check the other way round: fails the test if instance IS valid
 * (used to prove a check can fail). */
void spec_assert_invalid(const char *version, const char *def,
                         json_object *instance);

/* The compiled schema of version, loading it if needed; fails the test
 * (and does not return) if it cannot be loaded. */
const cmcp__schema_t *spec_schema(const char *version);

/* Frees every cached schema. */
void spec_release(void);

#endif /* CMCP_TEST_HELPER_SPEC_H */
