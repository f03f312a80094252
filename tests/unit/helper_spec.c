/* tests/unit/helper_spec.c: see helper_spec.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helper_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_CACHE_SLOTS 8

typedef struct spec_slot {
  char version[32];
  cmcp__schema_t *schema;
} spec_slot;

static spec_slot spec_cache[SPEC_CACHE_SLOTS];

/* Builds the path of version's schema.json into buf. */
static void spec_path(const char *version, char *buf, size_t len) {
  const char *spec = getenv("CMCP_SPEC");
  const char *src = getenv("CMCP_SRC");
  if (spec && *spec)
    snprintf(buf, len, "%s/%s/schema.json", spec, version);
  else
    snprintf(buf, len, "%s/../shared/spec/%s/schema.json",
             src && *src ? src : ".", version);
}

static cmcp__schema_t *spec_load(const char *version) {
  char path[1024], err[256];
  json_object *doc;
  cmcp__schema_t *s;
  spec_path(version, path, sizeof path);
  doc = json_object_from_file(path);
  if (doc == NULL)
    fail_msg("cannot read the schema %s", path);
  s = cmcp__schema_compile(doc, err, sizeof err);
  json_object_put(doc);
  if (s == NULL)
    fail_msg("cannot compile the schema %s: %s", path, err);
  return s;
}

const cmcp__schema_t *spec_schema(const char *version) {
  size_t i;
  for (i = 0; i < SPEC_CACHE_SLOTS && spec_cache[i].schema; i++)
    if (strcmp(spec_cache[i].version, version) == 0)
      return spec_cache[i].schema;
  if (i == SPEC_CACHE_SLOTS || strlen(version) >= sizeof spec_cache[i].version)
    fail_msg("too many schema versions or a bad version \"%s\"", version);
  spec_cache[i].schema = spec_load(version);
  snprintf(spec_cache[i].version, sizeof spec_cache[i].version, "%s", version);
  return spec_cache[i].schema;
}

static int spec_check(const char *version, const char *def,
                      json_object *instance, char *err, size_t errlen) {
  int rc =
      cmcp__schema_validate(spec_schema(version), def, instance, err, errlen);
  if (rc != 0 && rc != CMCP_EINVAL)
    fail_msg("%s %s: cannot validate: %s", version, def ? def : "(root)", err);
  return rc;
}

void spec_assert_valid(const char *version, const char *def,
                       json_object *instance) {
  char err[512];
  if (spec_check(version, def, instance, err, sizeof err) != 0) {
    print_error("instance: %s\n", json_object_to_json_string_ext(
                                      instance, JSON_C_TO_STRING_PLAIN));
    fail_msg("not a valid %s (%s): %s", def ? def : "(root)", version, err);
  }
}

void spec_assert_invalid(const char *version, const char *def,
                         json_object *instance) {
  char err[512];
  if (spec_check(version, def, instance, err, sizeof err) == 0) {
    print_error("instance: %s\n", json_object_to_json_string_ext(
                                      instance, JSON_C_TO_STRING_PLAIN));
    fail_msg("unexpectedly a valid %s (%s)", def ? def : "(root)", version);
  }
}

void spec_release(void) {
  size_t i;
  for (i = 0; i < SPEC_CACHE_SLOTS; i++) {
    cmcp__schema_free(spec_cache[i].schema);
    spec_cache[i].schema = NULL;
    spec_cache[i].version[0] = '\0';
  }
}
