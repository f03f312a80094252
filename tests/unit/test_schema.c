/* Unit tests for src/proto/schema: every keyword passing and failing, the
 * messages (instance location as a JSON pointer, then the rule), schema
 * errors caught at compile time, ECMA-262 pattern translation, depth
 * limits, allocation failures, and the official MCP schemas against their
 * examples and against hand-made invalid messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helper_spec.h"
#include "proto/schema.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------- */

/* Parses JSON text that must be well-formed ("null" gives NULL). */
static json_object *parse(const char *text) {
  enum json_tokener_error jerr;
  json_object *o = json_tokener_parse_verbose(text, &jerr);
  if (jerr != json_tokener_success)
    fail_msg("bad JSON in the test itself: %s", text);
  return o;
}

static cmcp__schema_t *compile_ok(const char *schema) {
  char err[256];
  json_object *doc = parse(schema);
  cmcp__schema_t *s = cmcp__schema_compile(doc, err, sizeof err);
  json_object_put(doc);
  if (s == NULL)
    fail_msg("schema %s did not compile: %s", schema, err);
  return s;
}

/* One validation: schema text, instance text, expected status and, when
 * not NULL, the exact expected message. */
typedef struct vcase {
  const char *schema;
  const char *instance;
  int rc;
  const char *msg;
} vcase;

static void run_cases(const vcase *cases, size_t n) {
  char err[512];
  size_t i;
  for (i = 0; i < n; i++) {
    cmcp__schema_t *s = compile_ok(cases[i].schema);
    json_object *inst = parse(cases[i].instance);
    int rc = cmcp__schema_validate(s, NULL, inst, err, sizeof err);
    json_object_put(inst);
    cmcp__schema_free(s);
    if (rc != cases[i].rc)
      fail_msg("case %zu: %s against %s: rc %d, expected %d (%s)", i,
               cases[i].instance, cases[i].schema, rc, cases[i].rc, err);
    if (cases[i].msg && strcmp(err, cases[i].msg) != 0)
      fail_msg("case %zu: %s against %s:\n  got      \"%s\"\n  expected "
               "\"%s\"",
               i, cases[i].instance, cases[i].schema, err, cases[i].msg);
    if (rc == 0 && err[0] != '\0')
      fail_msg("case %zu: a message on success: %s", i, err);
  }
}

#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof((cases)[0]))
#define EINV CMCP_EINVAL

/* ---- type, const, enum ------------------------------------------------- */

static void type_keyword(void **state) {
  static const vcase cases[] = {
      {"{\"type\":\"string\"}", "\"x\"", 0, NULL},
      {"{\"type\":\"string\"}", "1", EINV, "/: expected string, got integer"},
      {"{\"type\":\"integer\"}", "3", 0, NULL},
      {"{\"type\":\"integer\"}", "1.0", 0, NULL},
      {"{\"type\":\"integer\"}", "-2e3", 0, NULL},
      {"{\"type\":\"integer\"}", "1.5", EINV,
       "/: expected integer, got number"},
      {"{\"type\":\"integer\"}", "\"1\"", EINV,
       "/: expected integer, got string"},
      {"{\"type\":\"number\"}", "7", 0, NULL},
      {"{\"type\":\"number\"}", "7.25", 0, NULL},
      {"{\"type\":\"number\"}", "true", EINV,
       "/: expected number, got boolean"},
      {"{\"type\":\"boolean\"}", "false", 0, NULL},
      {"{\"type\":\"boolean\"}", "0", EINV, "/: expected boolean, got integer"},
      {"{\"type\":\"null\"}", "null", 0, NULL},
      {"{\"type\":\"null\"}", "{}", EINV, "/: expected null, got object"},
      {"{\"type\":\"object\"}", "{}", 0, NULL},
      {"{\"type\":\"object\"}", "[]", EINV, "/: expected object, got array"},
      {"{\"type\":\"array\"}", "[1]", 0, NULL},
      {"{\"type\":\"array\"}", "null", EINV, "/: expected array, got null"},
      {"{\"type\":[\"string\",\"null\"]}", "null", 0, NULL},
      {"{\"type\":[\"string\",\"null\"]}", "\"a\"", 0, NULL},
      {"{\"type\":[\"null\",\"string\"]}", "2.5", EINV,
       "/: expected null or string, got number"},
      {"{\"type\":[\"integer\"]}", "4.0", 0, NULL},
  };
  (void)state;
  RUN(cases);
}

static void const_and_enum(void **state) {
  static const vcase cases[] = {
      {"{\"const\":\"text\"}", "\"text\"", 0, NULL},
      {"{\"const\":\"text\"}", "\"image\"", EINV,
       "/: expected the constant \"text\""},
      {"{\"const\":null}", "null", 0, NULL},
      {"{\"const\":null}", "0", EINV, "/: expected the constant null"},
      {"{\"const\":1}", "1.0", 0, NULL},
      {"{\"const\":{\"a\":[1,{\"b\":true}],\"c\":null}}",
       "{\"c\":null,\"a\":[1.0,{\"b\":true}]}", 0, NULL},
      {"{\"const\":{\"a\":[1,2]}}", "{\"a\":[2,1]}", EINV,
       "/: expected the constant {...}"},
      {"{\"const\":{\"a\":1}}", "{\"a\":1,\"b\":2}", EINV, NULL},
      {"{\"const\":\"a\\u0000b\"}", "\"a\\u0000b\"", 0, NULL},
      {"{\"const\":\"a\\u0000b\"}", "\"a\\u0000c\"", EINV, NULL},
      {"{\"const\":false}", "false", 0, NULL},
      {"{\"const\":false}", "true", EINV, "/: expected the constant false"},
      {"{\"enum\":[\"a\",2,null]}", "\"a\"", 0, NULL},
      {"{\"enum\":[\"a\",2,null]}", "2.0", 0, NULL},
      {"{\"enum\":[\"a\",2,null]}", "null", 0, NULL},
      {"{\"enum\":[\"a\",2,null]}", "\"b\"", EINV,
       "/: \"b\" is not one of the 3 enum values"},
      {"{\"enum\":[[1,2]]}", "[1,2]", 0, NULL},
      {"{\"enum\":[[1,2]]}", "[1]", EINV,
       "/: [...] is not one of the 1 enum values"},
      {"{\"enum\":[]}", "1", EINV, NULL},
  };
  (void)state;
  RUN(cases);
}

/* ---- numbers ----------------------------------------------------------- */

static void numeric_bounds(void **state) {
  static const vcase cases[] = {
      {"{\"minimum\":1}", "1", 0, NULL},
      {"{\"minimum\":1}", "0.5", EINV, "/: 0.5 is less than minimum 1"},
      {"{\"maximum\":1.5}", "1.5", 0, NULL},
      {"{\"maximum\":1.5}", "2", EINV, "/: 2 is greater than maximum 1.5"},
      {"{\"exclusiveMinimum\":0}", "0.001", 0, NULL},
      {"{\"exclusiveMinimum\":0}", "0", EINV,
       "/: 0 is not greater than exclusiveMinimum 0"},
      {"{\"exclusiveMaximum\":10}", "9", 0, NULL},
      {"{\"exclusiveMaximum\":10}", "10.0", EINV,
       "/: 10 is not less than exclusiveMaximum 10"},
      /* draft-04 boolean forms */
      {"{\"minimum\":5,\"exclusiveMinimum\":true}", "5", EINV,
       "/: 5 is not greater than minimum 5"},
      {"{\"maximum\":5,\"exclusiveMaximum\":true}", "5", EINV,
       "/: 5 is not less than maximum 5"},
      {"{\"maximum\":5,\"exclusiveMaximum\":false}", "5", 0, NULL},
      /* exact integer comparisons beyond double precision */
      {"{\"maximum\":9007199254740992}", "9007199254740993", EINV, NULL},
      {"{\"maximum\":9223372036854775807}", "9223372036854775807", 0, NULL},
      {"{\"maximum\":9223372036854775807}", "18446744073709551615", EINV, NULL},
      {"{\"minimum\":-9223372036854775808}", "-9223372036854775808", 0, NULL},
      {"{\"minimum\":0}", "\"-5\"", 0, NULL}, /* only numbers are checked */
      {"{\"multipleOf\":3}", "9", 0, NULL},
      {"{\"multipleOf\":3}", "-9", 0, NULL},
      {"{\"multipleOf\":3}", "10", EINV, "/: 10 is not a multiple of 3"},
      {"{\"multipleOf\":0.1}", "0.3", 0, NULL},
      {"{\"multipleOf\":0.01}", "19.99", 0, NULL},
      {"{\"multipleOf\":0.1}", "0.35", EINV,
       "/: 0.35 is not a multiple of 0.1"},
      {"{\"multipleOf\":2}", "4.0", 0, NULL},
      {"{\"multipleOf\":2}", "4.5", EINV, NULL},
      {"{\"multipleOf\":1e-300}", "1e300", EINV, NULL}, /* overflows */
  };
  (void)state;
  RUN(cases);
}

/* ---- strings ----------------------------------------------------------- */

static void string_lengths_count_code_points(void **state) {
  static const vcase cases[] = {
      {"{\"minLength\":2}", "\"ab\"", 0, NULL},
      {"{\"minLength\":2}", "\"a\"", EINV,
       "/: string has 1 characters, fewer than minLength 2"},
      {"{\"maxLength\":2}", "\"abc\"", EINV,
       "/: string has 3 characters, more than maxLength 2"},
      /* "e-acute" is 2 bytes, the emoji 4 bytes: one character each */
      {"{\"maxLength\":1}", "\"\\u00e9\"", 0, NULL},
      {"{\"maxLength\":1}", "\"\\ud83d\\ude00\"", 0, NULL},
      {"{\"minLength\":2}", "\"\\ud83d\\ude00\"", EINV,
       "/: string has 1 characters, fewer than minLength 2"},
      {"{\"maxLength\":2.0}", "\"ab\"", 0, NULL},
      {"{\"minLength\":3}", "12", 0, NULL}, /* only strings are checked */
  };
  (void)state;
  RUN(cases);
}

/* {pattern, string, 1 if it must match}. */
typedef struct pcase {
  const char *pattern;
  const char *text;
  int match;
} pcase;

static void pattern_matching(void **state) {
  static const pcase cases[] = {
      {"^[a-z]+$", "hello", 1},
      {"^[a-z]+$", "Hello", 0},
      {"ell", "hello", 1}, /* unanchored: a search */
      {"^\\d{3}-\\d{4}$", "555-1234", 1},
      {"^\\d{3}-\\d{4}$", "555-12345", 0},
      {"^\\D+$", "abc", 1},
      {"^\\D+$", "a1c", 0},
      {"^\\w+$", "snake_case9", 1},
      {"^\\w+$", "kebab-case", 0},
      {"^\\W$", "-", 1},
      {"^\\W$", "\xc3\xa9", 1}, /* a non-word character, one code point */
      {"^a\\sb$", "a\tb", 1},
      {"^a\\Sb$", "a b", 0},
      {"^[\\d_]+$", "1_2", 1},
      {"^[\\w.-]+@[\\w.-]+$", "a.b-c@d.e", 1},
      {"^[\\w.-]+@[\\w.-]+$", "a b@c", 0},
      {"^[^\\s]+$", "nospace", 1},
      {"^[^\\s]+$", "has space", 0},
      {"^[\\]]$", "]", 1},
      {"^[a\\-z]$", "-", 1},
      {"^[a\\-z]$", "b", 0},
      {"^[-a]$", "-", 1},
      {"^[a-]$", "-", 1},
      {"^[\\^]$", "^", 1},
      {"^[\\^-]+$", "^-", 1},
      {"^[^^]$", "^", 0},
      {"^[\\\\]$", "\\", 1},
      {"^[.]$", "x", 0},
      {"^[.]$", ".", 1},
      {"^[\\[]$", "[", 1},
      {"^[^a-z]$", "\xc3\xa9", 1}, /* negation keeps code points */
      {"^[^a-z]$", "q", 0},
      {"^[^]$", "\xe2\x82\xac", 1},
      {"^.$", "\xc3\xa9", 1}, /* '.' is one code point */
      {"^..$", "\xc3\xa9", 0},
      {"^.$", "\xf0\x9f\x98\x80", 1},
      {"^a.c$", "a\nc", 0}, /* '.' excludes line terminators */
      {"^a\\.c$", "a.c", 1},
      {"^a\\.c$", "abc", 0},
      {"^\\u00e9+$", "\xc3\xa9\xc3\xa9", 1}, /* quantifier on the char */
      {"^\xc3\xa9+$", "\xc3\xa9\xc3\xa9", 1},
      {"^\\ud83d\\ude00$", "\xf0\x9f\x98\x80", 1},
      {"^\\x41\\t$", "A\t", 1},
      {"^a\\/b$", "a/b", 1},
      {"^(?:ab)+$", "abab", 1},
      {"^(?:ab)+$", "aba", 0},
      {"^a+?b*?c??$", "aab", 1}, /* lazy quantifiers */
      {"^a{2,3}?$", "aaa", 1},
      {"^a{2}$", "aaa", 0},
      {"^a{2,}$", "aaaa", 1},
      {"^a{,2}$", "a{,2}", 1}, /* not a quantifier: literal */
      {"^x{$", "x{", 1},
      {"^x}$", "x}", 1},
      {"^(cat|dog)s?$", "dogs", 1},
      {"^(cat|dog)s?$", "cow", 0},
      {"^\\$\\d+(\\.\\d\\d)?$", "$19.99", 1},
      {"^\\(\\)\\*\\+\\?\\{\\}\\|$", "()*+?{}|", 1},
      {"", "anything", 1},
      {"^[\\b]$", "\b", 1},
      {"^.{1,256}$", "abc", 1}, /* the largest accepted of their kind */
      {"^[a-z]{0,512}$", "abc", 1},
  };
  char err[256];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_object *doc = json_object_new_object(), *inst;
    cmcp__schema_t *s;
    int rc;
    json_object_object_add(doc, "pattern",
                           json_object_new_string(cases[i].pattern));
    s = cmcp__schema_compile(doc, err, sizeof err);
    json_object_put(doc);
    if (s == NULL)
      fail_msg("pattern %zu /%s/ did not compile: %s", i, cases[i].pattern,
               err);
    inst = json_object_new_string(cases[i].text);
    rc = cmcp__schema_validate(s, NULL, inst, err, sizeof err);
    json_object_put(inst);
    cmcp__schema_free(s);
    if ((rc == 0) != cases[i].match)
      fail_msg("pattern %zu /%s/ on \"%s\": rc %d (%s)", i, cases[i].pattern,
               cases[i].text, rc, err);
  }
  {
    static const vcase msg[] = {
        {"{\"pattern\":\"^a+$\"}", "\"b\"", EINV,
         "/: string does not match pattern \"^a+$\""},
        {"{\"pattern\":\"^a+$\"}", "5", 0, NULL},
        {"{\"pattern\":\"^a$\"}", "\"a\\u0000b\"", EINV, NULL},
    };
    RUN(msg);
  }
}

static void pattern_unsupported_is_refused(void **state) {
  static const struct {
    const char *pattern;
    const char *why;
  } cases[] = {
      {"(?=a)", "lookahead is not supported"},
      {"(?!a)", "lookahead is not supported"},
      {"(?<=a)b", "lookbehind is not supported"},
      {"(?<!a)b", "lookbehind is not supported"},
      {"(?<n>a)", "named groups are not supported"},
      {"(?i)a", "unknown group syntax"},
      {"(a)\\1", "backreferences are not supported"},
      {"\\k<n>", "backreferences are not supported"},
      {"\\bword\\b", "word boundaries (\\b, \\B) are not supported"},
      {"\\Bx", "word boundaries (\\b, \\B) are not supported"},
      {"\\p{L}", "Unicode property escapes are not supported"},
      {"\\q", "unsupported escape sequence"},
      {"\\cJ", "unsupported escape sequence"},
      {"[\xc3\xa9]", "non-ASCII characters inside [...] are not supported"},
      {"[\\u00e9]", "non-ASCII characters inside [...] are not supported"},
      {"[]", "a character class that matches nothing is not supported"},
      {"[abc", "unterminated character class"},
      {"[z-a]", "character class range out of order"},
      {"\\x4", "malformed \\x escape"},
      {"\\u12", "malformed \\u escape"},
      {"\\ud83d", "malformed \\u escape"},
      {"\\ude00", "malformed \\u escape"},
      {"\\u0000", "NUL in a pattern is not supported"},
      {"abc\\", "pattern ends with a backslash"},
      {"(ab", NULL}, /* regcomp's own complaint */
      {"a{3,1}", "numbers out of order in {} quantifier"},
      {"a{1001}", "repetition count above 1000"},
      {"^.{0,300}$", "pattern is too complex"},
      {"^[a-z]{0,513}$", "pattern is too complex"},
      {"^(ab|cd){1,300}$", "pattern is too complex"},
      {"a{2,99999999999}", "repetition count above 1000"},
      {"(a{1,100}){1,100}", "pattern is too complex"},
      {"((a{1,20}){1,20}){1,20}", "pattern is too complex"},
      {"a**", "nothing to repeat"},
      {"a+*", "nothing to repeat"},
      {"a{2}{3}", "nothing to repeat"},
      {"*a", "nothing to repeat"},
      {"^*", "nothing to repeat"},
      {"a|+", "nothing to repeat"},
      {"(*)", "nothing to repeat"},
      {"{2}", "nothing to repeat"},
      {"a)", "unmatched ')'"},
      {"((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))"
       ")",
       "groups nest too deep"},
  };
  char err[256], want[256];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_object *doc = json_object_new_object();
    cmcp__schema_t *s;
    json_object_object_add(doc, "pattern",
                           json_object_new_string(cases[i].pattern));
    s = cmcp__schema_compile(doc, err, sizeof err);
    json_object_put(doc);
    if (s != NULL)
      fail_msg("pattern %zu /%s/ compiled", i, cases[i].pattern);
    /* the pattern is quoted in full up to 60 bytes, then shortened */
    snprintf(want, sizeof want, "schema /pattern: bad pattern %.57s",
             cases[i].pattern);
    if (strncmp(err, want, strlen(want)) != 0 ||
        (cases[i].why && strstr(err, cases[i].why) == NULL))
      fail_msg("pattern %zu: got \"%s\", expected \"%s...: %s\"", i, err, want,
               cases[i].why ? cases[i].why : "");
  }
}

static void pattern_too_long_is_refused(void **state) {
  char err[256], *big = malloc(9000);
  json_object *doc = json_object_new_object();
  (void)state;
  assert_non_null(big);
  memset(big, 'a', 8999);
  big[8999] = '\0';
  json_object_object_add(doc, "pattern", json_object_new_string(big));
  assert_null(cmcp__schema_compile(doc, err, sizeof err));
  assert_non_null(strstr(err, "pattern is longer than 8192 bytes"));
  json_object_put(doc);
  free(big);
}

static void format_is_an_annotation(void **state) {
  static const vcase cases[] = {
      {"{\"format\":\"uri\"}", "\"not a uri\"", 0, NULL},
      {"{\"format\":\"date-time\",\"type\":\"string\"}", "\"yesterday\"", 0,
       NULL},
      {"{\"format\":\"email\"}", "42", 0, NULL},
      {"{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
       "\"$id\":\"urn:x\",\"title\":\"T\",\"description\":\"D\",\"default\":1,"
       "\"examples\":[1],\"x-vendor\":{\"type\":5},\"deprecated\":true}",
       "\"anything\"", 0, NULL},
  };
  (void)state;
  RUN(cases);
}

/* ---- arrays ------------------------------------------------------------ */

static void array_keywords(void **state) {
  static const vcase cases[] = {
      {"{\"items\":{\"type\":\"integer\"}}", "[1,2,3]", 0, NULL},
      {"{\"items\":{\"type\":\"integer\"}}", "[1,\"x\",3]", EINV,
       "/1: expected integer, got string"},
      {"{\"items\":{\"type\":\"integer\"}}", "{\"0\":\"x\"}", 0, NULL},
      {"{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}",
       "[\"a\",1,null]", 0, NULL},
      {"{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}",
       "[\"a\",\"b\"]", EINV, "/1: expected integer, got string"},
      {"{\"prefixItems\":[{\"type\":\"string\"}],\"items\":false}", "[\"a\",2]",
       EINV, "/1: no value is allowed here (false schema)"},
      {"{\"prefixItems\":[{\"type\":\"string\"}],\"items\":false}", "[\"a\"]",
       0, NULL},
      {"{\"prefixItems\":[{\"type\":\"string\"}]}", "[]", 0, NULL},
      /* draft-07: items as an array, additionalItems for the rest */
      {"{\"items\":[{\"type\":\"string\"}],\"additionalItems\":"
       "{\"type\":\"boolean\"}}",
       "[\"a\",true,false]", 0, NULL},
      {"{\"items\":[{\"type\":\"string\"}],\"additionalItems\":"
       "{\"type\":\"boolean\"}}",
       "[\"a\",true,0]", EINV, "/2: expected boolean, got integer"},
      {"{\"additionalItems\":false}", "[1,2]", 0, NULL}, /* no items array */
      {"{\"minItems\":2}", "[1,2]", 0, NULL},
      {"{\"minItems\":2}", "[1]", EINV,
       "/: array has 1 items, fewer than minItems 2"},
      {"{\"maxItems\":1}", "[1,2]", EINV,
       "/: array has 2 items, more than maxItems 1"},
      {"{\"maxItems\":1e300}", "[1,2]", 0, NULL}, /* clamped, not refused */
      {"{\"minItems\":18446744073709551615}", "[1]", EINV, NULL},
      {"{\"uniqueItems\":true}", "[1,\"1\",[1],{\"a\":1},true,null]", 0, NULL},
      {"{\"uniqueItems\":true}", "[1,2,1.0]", EINV,
       "/: items 0 and 2 are equal (uniqueItems)"},
      {"{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1}]", EINV,
       NULL},
      {"{\"uniqueItems\":false}", "[1,1]", 0, NULL},
      {"{\"contains\":{\"const\":3}}", "[1,3]", 0, NULL},
      {"{\"contains\":{\"const\":3}}", "[1,2]", EINV,
       "/: 0 items match \"contains\", fewer than 1"},
      {"{\"contains\":{\"const\":3},\"minContains\":2}", "[3,1,3]", 0, NULL},
      {"{\"contains\":{\"const\":3},\"minContains\":2}", "[3,1]", EINV,
       "/: 1 items match \"contains\", fewer than 2"},
      {"{\"contains\":{\"const\":3},\"maxContains\":1}", "[3,3]", EINV,
       "/: 2 items match \"contains\", more than maxContains 1"},
      {"{\"contains\":{\"const\":3},\"minContains\":0}", "[]", 0, NULL},
  };
  (void)state;
  RUN(cases);
}

/* ---- objects ----------------------------------------------------------- */

static void object_keywords(void **state) {
  static const vcase cases[] = {
      {"{\"properties\":{\"a\":{\"type\":\"string\"}}}",
       "{\"a\":\"x\",\"b\":1}", 0, NULL},
      {"{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"a\":1}", EINV,
       "/a: expected string, got integer"},
      {"{\"properties\":{\"a/b~c\":{\"type\":\"string\"}}}", "{\"a/b~c\":1}",
       EINV, "/a~1b~0c: expected string, got integer"},
      {"{\"properties\":{\"a\":{\"type\":\"string\"}}}", "[1]", 0, NULL},
      {"{\"required\":[\"name\"]}", "{\"name\":null}", 0, NULL},
      {"{\"required\":[\"name\"]}", "{\"nom\":1}", EINV,
       "/: missing required property \"name\""},
      {"{\"required\":[\"name\"]}", "\"name\"", 0, NULL},
      {"{\"properties\":{\"a\":{}},\"additionalProperties\":false}",
       "{\"a\":1}", 0, NULL},
      {"{\"properties\":{\"a\":{}},\"additionalProperties\":false}",
       "{\"a\":1,\"b\":2}", EINV,
       "/: property \"b\" is not allowed (additionalProperties)"},
      {"{\"additionalProperties\":{\"type\":\"integer\"}}", "{\"x\":1,\"y\":2}",
       0, NULL},
      {"{\"additionalProperties\":{\"type\":\"integer\"}}",
       "{\"x\":1,\"y\":\"2\"}", EINV, "/y: expected integer, got string"},
      {"{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},"
       "\"additionalProperties\":false}",
       "{\"x-a\":\"1\",\"x-b\":\"2\"}", 0, NULL},
      {"{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},"
       "\"additionalProperties\":false}",
       "{\"x-a\":1}", EINV, "/x-a: expected string, got integer"},
      {"{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},"
       "\"additionalProperties\":false}",
       "{\"y\":\"1\"}", EINV,
       "/: property \"y\" is not allowed (additionalProperties)"},
      {"{\"patternProperties\":{\"^\\\\d+$\":{\"minimum\":0}}}", "{\"12\":-1}",
       EINV, "/12: -1 is less than minimum 0"},
      {"{\"propertyNames\":{\"pattern\":\"^[a-z]+$\"}}", "{\"ab\":1}", 0, NULL},
      {"{\"propertyNames\":{\"pattern\":\"^[a-z]+$\"}}", "{\"aB\":1}", EINV,
       "/: property name \"aB\": string does not match pattern "
       "\"^[a-z]+$\""},
      {"{\"propertyNames\":{\"maxLength\":2}}", "{\"abc\":1}", EINV,
       "/: property name \"abc\": string has 3 characters, more than "
       "maxLength 2"},
      {"{\"propertyNames\":false}", "{}", 0, NULL},
      {"{\"minProperties\":1}", "{\"a\":1}", 0, NULL},
      {"{\"minProperties\":1}", "{}", EINV,
       "/: object has 0 properties, fewer than minProperties 1"},
      {"{\"maxProperties\":1}", "{\"a\":1,\"b\":2}", EINV,
       "/: object has 2 properties, more than maxProperties 1"},
      {"{\"dependentRequired\":{\"card\":[\"cvv\",\"exp\"]}}",
       "{\"card\":1,\"cvv\":2,\"exp\":3}", 0, NULL},
      {"{\"dependentRequired\":{\"card\":[\"cvv\",\"exp\"]}}", "{\"cvv\":2}", 0,
       NULL},
      {"{\"dependentRequired\":{\"card\":[\"cvv\",\"exp\"]}}",
       "{\"card\":1,\"cvv\":2}", EINV,
       "/: property \"card\" requires property \"exp\""},
      {"{\"dependentSchemas\":{\"a\":{\"required\":[\"b\"]}}}",
       "{\"a\":1,\"b\":2}", 0, NULL},
      /* draft-07 dependencies: both forms */
      {"{\"dependencies\":{\"a\":[\"b\"],\"c\":{\"maxProperties\":1}}}",
       "{\"a\":1,\"b\":2}", 0, NULL},
      {"{\"dependencies\":{\"a\":[\"b\"],\"c\":{\"maxProperties\":1}}}",
       "{\"a\":1}", EINV, "/: property \"a\" requires property \"b\""},
      {"{\"dependencies\":{\"a\":[\"b\"],\"c\":{\"maxProperties\":1}}}",
       "{\"c\":1}", 0, NULL},
      {"{\"dependencies\":{\"a\":[\"b\"],\"c\":{\"maxProperties\":1}}}",
       "{\"c\":1,\"d\":2}", EINV,
       "/: object has 2 properties, more than maxProperties 1"},
      {"{\"dependencies\":{\"a\":false}}", "{\"a\":1}", EINV,
       "/: no value is allowed here (false schema)"},
      {"{\"dependentSchemas\":{\"a\":{\"required\":[\"b\"]}}}", "{\"a\":1}",
       EINV, "/: missing required property \"b\""},
      {"{\"properties\":{\"arguments\":{\"properties\":{\"count\":{\"type\":"
       "\"integer\"}}}}}",
       "{\"arguments\":{\"count\":\"three\"}}", EINV,
       "/arguments/count: expected integer, got string"},
      {"{\"properties\":{\"list\":{\"items\":{\"required\":[\"id\"]}}}}",
       "{\"list\":[{\"id\":1},{}]}", EINV,
       "/list/1: missing required property \"id\""},
  };
  (void)state;
  RUN(cases);
}

/* ---- applicators ------------------------------------------------------- */

static void combinators(void **state) {
  static const vcase cases[] = {
      {"{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "3", 0, NULL},
      {"{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "1", EINV,
       "/: 1 is less than minimum 2"},
      {"{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "1", 0,
       NULL},
      {"{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "1.5",
       EINV,
       "/: matches none of the 2 anyOf alternatives; closest (#0): /: "
       "expected string, got number"},
      {"{\"anyOf\":[{\"type\":\"string\"}]}", "1", EINV,
       "/: expected string, got integer"},
      {"{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":10}]}", "5", 0, NULL},
      {"{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":10}]}", "12", EINV,
       "/: matches oneOf alternatives #0 and #1; exactly one must match"},
      {"{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":10}]}", "2.5", EINV,
       "/: matches none of the 2 oneOf alternatives; closest (#1): /: 2.5 "
       "is less than minimum 10"},
      {"{\"not\":{\"type\":\"string\"}}", "1", 0, NULL},
      {"{\"not\":{\"type\":\"string\"}}", "\"s\"", EINV,
       "/: must not match the \"not\" schema"},
      {"{\"if\":{\"properties\":{\"kind\":{\"const\":\"a\"}}},"
       "\"then\":{\"required\":[\"x\"]},\"else\":{\"required\":[\"y\"]}}",
       "{\"kind\":\"a\",\"x\":1}", 0, NULL},
      {"{\"if\":{\"properties\":{\"kind\":{\"const\":\"a\"}}},"
       "\"then\":{\"required\":[\"x\"]},\"else\":{\"required\":[\"y\"]}}",
       "{\"kind\":\"a\",\"y\":1}", EINV, "/: missing required property \"x\""},
      {"{\"if\":{\"properties\":{\"kind\":{\"const\":\"a\"}}},"
       "\"then\":{\"required\":[\"x\"]},\"else\":{\"required\":[\"y\"]}}",
       "{\"kind\":\"b\",\"x\":1}", EINV, "/: missing required property \"y\""},
      {"{\"if\":{\"type\":\"string\"}}", "1", 0, NULL},
      {"{\"then\":false}", "1", 0, NULL}, /* then without if: ignored */
      {"{\"if\":{\"type\":\"string\"},\"then\":{\"minLength\":2}}", "7", 0,
       NULL},
      {"{\"if\":{\"type\":\"string\"},\"else\":{\"minimum\":9}}", "\"s\"", 0,
       NULL},
      {"true", "{\"anything\":[1]}", 0, NULL},
      {"false", "null", EINV, "/: no value is allowed here (false schema)"},
      {"{}", "[]", 0, NULL},
      {"{\"properties\":{\"a\":true,\"b\":false}}", "{\"a\":1}", 0, NULL},
      {"{\"properties\":{\"a\":true,\"b\":false}}", "{\"b\":1}", EINV,
       "/b: no value is allowed here (false schema)"},
  };
  (void)state;
  RUN(cases);
}

/* The anyOf message quotes the alternative that got furthest: for a text
 * block whose "text" has the wrong type, that is the text alternative, not
 * the image one that failed on "type" at once. */
static void any_of_quotes_closest_alternative(void **state) {
  static const vcase cases[] = {
      {"{\"$defs\":{"
       "\"Img\":{\"type\":\"object\",\"properties\":{\"type\":{\"const\":"
       "\"image\"},\"data\":{\"type\":\"string\"}},\"required\":[\"type\","
       "\"data\"]},"
       "\"Txt\":{\"type\":\"object\",\"properties\":{\"type\":{\"const\":"
       "\"text\"},\"text\":{\"type\":\"string\"}},\"required\":[\"type\","
       "\"text\"]}},"
       "\"properties\":{\"content\":{\"items\":{\"anyOf\":[{\"$ref\":\"#/"
       "$defs/Img\"},{\"$ref\":\"#/$defs/Txt\"}]}}}}",
       "{\"content\":[{\"type\":\"text\",\"text\":5}]}", EINV,
       "/content/0: matches none of the 2 anyOf alternatives; closest (#1): "
       "/content/0/text: expected string, got integer"},
  };
  (void)state;
  RUN(cases);
}

/* Failures of anyOf inside anyOf are explained three levels deep, then
 * summed up, so a failing instance costs no more than branches^3 reruns. */
static void nested_any_of_explanations_are_bounded(void **state) {
  char err[1024];
  json_object *inst = parse("7");
  json_object *doc = json_object_new_object(), *cur = doc;
  cmcp__schema_t *s;
  int i;
  (void)state;
  for (i = 0; i < 40; i++) { /* anyOf:[{anyOf:[...]},{type:string}] x40 */
    json_object *list = json_object_new_array(), *next;
    next = json_object_new_object();
    json_object_array_add(list, next);
    json_object_array_add(list, parse("{\"type\":\"string\"}"));
    json_object_object_add(cur, "anyOf", list);
    cur = next;
  }
  json_object_object_add(cur, "type", json_object_new_string("null"));
  s = cmcp__schema_compile(doc, err, sizeof err);
  assert_non_null(s);
  assert_int_equal(cmcp__schema_validate(s, NULL, inst, err, sizeof err),
                   CMCP_EINVAL);
  assert_string_equal(
      err, "/: matches none of the 2 anyOf alternatives; closest (#0): /: "
           "matches none of the 2 anyOf alternatives; closest (#0): /: "
           "matches none of the 2 anyOf alternatives; closest (#0): /: "
           "matches none of the 2 anyOf alternatives");
  cmcp__schema_free(s);
  json_object_put(doc);
  json_object_put(inst);
}

/* ---- $ref -------------------------------------------------------------- */

static void refs(void **state) {
  static const char *tree =
      "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"value\":{"
      "\"type\":\"integer\"},\"next\":{\"anyOf\":[{\"type\":\"null\"},{"
      "\"$ref\":\"#/$defs/node\"}]}},\"required\":[\"value\"]}},"
      "\"$ref\":\"#/$defs/node\"}";
  static const vcase cases[] = {
      {"{\"$defs\":{\"pos\":{\"minimum\":0}},\"$ref\":\"#/$defs/pos\"}", "1", 0,
       NULL},
      {"{\"$defs\":{\"pos\":{\"minimum\":0}},\"$ref\":\"#/$defs/pos\"}", "-1",
       EINV, "/: -1 is less than minimum 0"},
      {"{\"definitions\":{\"s\":{\"type\":\"string\"}},\"items\":{\"$ref\":"
       "\"#/definitions/s\"}}",
       "[\"a\",2]", EINV, "/1: expected string, got integer"},
      /* "#": the root itself, recursively */
      {"{\"type\":[\"array\",\"integer\"],\"items\":{\"$ref\":\"#\"}}",
       "[1,[2,[3]]]", 0, NULL},
      {"{\"type\":[\"array\",\"integer\"],\"items\":{\"$ref\":\"#\"}}",
       "[1,[2,[\"x\"]]]", EINV,
       "/1/1/0: expected array or integer, got string"},
      /* pointers into other places, escaped tokens, array indices */
      {"{\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"$ref\":\"#/"
       "properties/a\"}}}",
       "{\"b\":1}", EINV, "/b: expected string, got integer"},
      {"{\"$defs\":{\"a/b\":{\"type\":\"null\"},\"c~d\":{\"type\":\"null\"},"
       "\"e f\":{\"type\":\"null\"}},\"allOf\":[{\"$ref\":\"#/$defs/a~1b\"},{"
       "\"$ref\":\"#/$defs/c~0d\"},{\"$ref\":\"#/$defs/e%20f\"}]}",
       "null", 0, NULL},
      {"{\"allOf\":[{\"type\":\"integer\"},{\"$ref\":\"#/allOf/0\"}]}", "1", 0,
       NULL},
      {"{\"$ref\":\"#/items/0\",\"items\":[{\"type\":\"integer\"}]}", "5", 0,
       NULL},
      {"{\"$ref\":\"#/items/0\",\"items\":[{\"type\":\"integer\"}]}", "\"5\"",
       EINV, "/: expected integer, got string"},
      /* 2020-12: $ref applies together with its siblings */
      {"{\"$defs\":{\"i\":{\"type\":\"integer\"}},\"$ref\":\"#/$defs/i\","
       "\"minimum\":5}",
       "3", EINV, "/: 3 is less than minimum 5"},
  };
  (void)state;
  RUN(cases);
  {
    const vcase linked[] = {
        {tree, "{\"value\":1,\"next\":{\"value\":2,\"next\":null}}", 0, NULL},
        {tree, "{\"value\":1,\"next\":{\"value\":\"2\",\"next\":null}}", EINV,
         NULL},
    };
    RUN(linked);
  }
}

static void ref_loops_hit_the_depth_limit(void **state) {
  char err[256];
  cmcp__schema_t *s = compile_ok("{\"$ref\":\"#\"}");
  json_object *inst = parse("1");
  (void)state;
  assert_int_equal(cmcp__schema_validate(s, NULL, inst, err, sizeof err),
                   CMCP_ELIMIT);
  assert_string_equal(err, "/: validation nests deeper than 256 levels");
  cmcp__schema_free(s);
  /* a loop through two definitions, and one behind anyOf and not */
  s = compile_ok("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"$ref\":"
                 "\"#/$defs/a\"}},\"anyOf\":[{\"not\":{\"$ref\":\"#/$defs/"
                 "a\"}},true]}");
  assert_int_equal(cmcp__schema_validate(s, NULL, inst, err, sizeof err),
                   CMCP_ELIMIT);
  cmcp__schema_free(s);
  json_object_put(inst);
}

/* A recursive schema with an instance nested deeper than the limit: an
 * error, not a stack overflow. */
static void deep_instance_is_an_error(void **state) {
  char err[256];
  cmcp__schema_t *s = compile_ok("{\"items\":{\"$ref\":\"#\"}}");
  json_object *root = json_object_new_array(), *cur = root;
  int i;
  (void)state;
  for (i = 0; i < 1000; i++) {
    json_object *next = json_object_new_array();
    json_object_array_add(cur, next);
    cur = next;
  }
  assert_int_equal(cmcp__schema_validate(s, NULL, root, err, sizeof err),
                   CMCP_ELIMIT);
  assert_string_equal(err, "/0/0/0/0/0/0/0/0/.../0/0/0/0/0/0/0/0/0/0/0/0: "
                           "validation nests deeper than 256 levels");
  json_object_put(root);
  cmcp__schema_free(s);
}

static void deep_const_comparison_is_an_error(void **state) {
  char err[256];
  json_object *a = json_object_new_array(), *b = json_object_new_array();
  json_object *ca = a, *cb = b, *doc = json_object_new_object();
  cmcp__schema_t *s;
  int i;
  (void)state;
  for (i = 0; i < 400; i++) {
    json_object *na = json_object_new_array(), *nb = json_object_new_array();
    json_object_array_add(ca, na);
    json_object_array_add(cb, nb);
    ca = na;
    cb = nb;
  }
  json_object_object_add(doc, "const", a);
  s = cmcp__schema_compile(doc, err, sizeof err);
  assert_non_null(s);
  assert_int_equal(cmcp__schema_validate(s, NULL, b, err, sizeof err),
                   CMCP_ELIMIT);
  assert_string_equal(err, "/: value nests too deep to compare");
  cmcp__schema_free(s);
  json_object_put(doc);
  doc = json_object_new_object();
  json_object_object_add(doc, "enum", json_object_new_array());
  json_object_array_add(json_object_object_get(doc, "enum"),
                        json_object_get(b));
  s = cmcp__schema_compile(doc, err, sizeof err);
  assert_int_equal(cmcp__schema_validate(s, NULL, b, err, sizeof err),
                   CMCP_ELIMIT);
  cmcp__schema_free(s);
  json_object_put(doc);
  doc = parse("{\"uniqueItems\":true}");
  s = cmcp__schema_compile(doc, err, sizeof err);
  {
    json_object *pair = json_object_new_array();
    json_object_array_add(pair, json_object_get(b));
    json_object_array_add(pair, json_object_get(b));
    assert_int_equal(cmcp__schema_validate(s, NULL, pair, err, sizeof err),
                     CMCP_ELIMIT);
    assert_string_equal(err, "/: items nest too deep to compare");
    json_object_put(pair);
  }
  cmcp__schema_free(s);
  json_object_put(doc);
  json_object_put(b);
}

/* ---- schema errors at compile time ------------------------------------- */

static void bad_schemas_are_refused(void **state) {
  static const struct {
    const char *schema;
    const char *msg;
  } cases[] = {
      {"5", "schema /: a schema must be an object or a boolean"},
      {"null", "schema /: a schema must be an object or a boolean"},
      {"{\"type\":5}",
       "schema /type: must be a type name or an array of type names"},
      {"{\"type\":\"float\"}",
       "schema /type: must be a type name or an array of type names"},
      {"{\"type\":[\"string\",7]}",
       "schema /type: element 1 is not a type name"},
      {"{\"type\":[]}", "schema /type: must not be an empty array"},
      {"{\"enum\":\"a\"}", "schema /enum: must be an array"},
      {"{\"minimum\":\"1\"}", "schema /minimum: must be a number"},
      {"{\"maximum\":null}", "schema /maximum: must be a number"},
      {"{\"exclusiveMinimum\":\"x\"}",
       "schema /exclusiveMinimum: must be a number"},
      {"{\"exclusiveMaximum\":[]}",
       "schema /exclusiveMaximum: must be a number"},
      {"{\"multipleOf\":0}", "schema /multipleOf: must be greater than 0"},
      {"{\"multipleOf\":-2}", "schema /multipleOf: must be greater than 0"},
      {"{\"minLength\":-1}",
       "schema /minLength: must be a non-negative integer"},
      {"{\"maxLength\":1.5}",
       "schema /maxLength: must be a non-negative integer"},
      {"{\"minItems\":\"2\"}",
       "schema /minItems: must be a non-negative integer"},
      {"{\"dependencies\":[]}", "schema /dependencies: must be an object"},
      {"{\"dependencies\":{\"a\":[2]}}",
       "schema /dependencies/a: must be an array of strings"},
      {"{\"dependencies\":{\"a\":\"b\"}}",
       "schema /dependencies/a: a schema must be an object or a boolean"},
      {"{\"minProperties\":true}",
       "schema /minProperties: must be a non-negative integer"},
      {"{\"maxProperties\":-3}",
       "schema /maxProperties: must be a non-negative integer"},
      {"{\"minContains\":-1}",
       "schema /minContains: must be a non-negative integer"},
      {"{\"maxContains\":\"1\"}",
       "schema /maxContains: must be a non-negative integer"},
      {"{\"pattern\":5}", "schema /pattern: must be a string"},
      {"{\"uniqueItems\":1}", "schema /uniqueItems: must be a boolean"},
      {"{\"required\":\"name\"}",
       "schema /required: must be an array of strings"},
      {"{\"required\":[\"a\",1]}",
       "schema /required: must be an array of strings"},
      {"{\"dependentRequired\":[]}",
       "schema /dependentRequired: must be an object of string arrays"},
      {"{\"dependentRequired\":{\"a\":[1]}}",
       "schema /dependentRequired/a: must be an array of strings"},
      {"{\"properties\":[]}",
       "schema /properties: must be an object of schemas"},
      {"{\"properties\":{\"a\":{\"type\":1}}}",
       "schema /properties/a/type: must be a type name or an array of type "
       "names"},
      {"{\"properties\":{\"a\":\"string\"}}",
       "schema /properties/a: a schema must be an object or a boolean"},
      {"{\"patternProperties\":1}",
       "schema /patternProperties: must be an object of schemas"},
      {"{\"patternProperties\":{\"(?=x)\":{}}}",
       "schema /patternProperties/(?=x): bad pattern (?=x): lookahead is not "
       "supported"},
      {"{\"patternProperties\":{\"^a\":5}}",
       "schema /patternProperties/^a: a schema must be an object or a "
       "boolean"},
      {"{\"dependentSchemas\":{\"a\":1}}",
       "schema /dependentSchemas/a: a schema must be an object or a boolean"},
      {"{\"additionalProperties\":\"no\"}",
       "schema /additionalProperties: a schema must be an object or a "
       "boolean"},
      {"{\"propertyNames\":[]}",
       "schema /propertyNames: a schema must be an object or a boolean"},
      {"{\"items\":5}", "schema /items: a schema must be an object or a "
                        "boolean"},
      {"{\"items\":[5]}",
       "schema /items/0: a schema must be an object or a boolean"},
      {"{\"prefixItems\":[{}],\"items\":[{}]}",
       "schema /items: must be a schema next to prefixItems"},
      {"{\"prefixItems\":{}}",
       "schema /prefixItems: must be a non-empty array of schemas"},
      {"{\"items\":[{}],\"additionalItems\":3}",
       "schema /additionalItems: a schema must be an object or a boolean"},
      {"{\"contains\":null}",
       "schema /contains: a schema must be an object or a boolean"},
      {"{\"allOf\":[]}", "schema /allOf: must be a non-empty array of schemas"},
      {"{\"anyOf\":{}}", "schema /anyOf: must be a non-empty array of schemas"},
      {"{\"oneOf\":[{},1]}",
       "schema /oneOf/1: a schema must be an object or a boolean"},
      {"{\"not\":1}", "schema /not: a schema must be an object or a boolean"},
      {"{\"if\":1}", "schema /if: a schema must be an object or a boolean"},
      {"{\"then\":1}", "schema /then: a schema must be an object or a "
                       "boolean"},
      {"{\"else\":1}", "schema /else: a schema must be an object or a "
                       "boolean"},
      {"{\"$ref\":1}", "schema /$ref: must be a string"},
      {"{\"$ref\":\"#/$defs/missing\"}",
       "schema /$ref: \"#/$defs/missing\" names nothing in the document"},
      {"{\"properties\":{\"a\":{\"$ref\":\"#/nope\"}}}",
       "schema /properties/a/$ref: \"#/nope\" names nothing in the document"},
      {"{\"$ref\":\"#/items/01\",\"items\":[{}]}",
       "schema /$ref: \"#/items/01\" names nothing in the document"},
      {"{\"$ref\":\"#/items/7\",\"items\":[{}]}",
       "schema /$ref: \"#/items/7\" names nothing in the document"},
      {"{\"$ref\":\"#/type/x\",\"type\":\"string\"}",
       "schema /$ref: \"#/type/x\" names nothing in the document"},
      {"{\"$ref\":\"#/$defs/a~2\",\"$defs\":{}}",
       "schema /$ref: \"#/$defs/a~2\" names nothing in the document"},
      {"{\"$ref\":\"#/%zz\"}",
       "schema /$ref: \"#/%zz\" names nothing in the document"},
      {"{\"$ref\":\"#/%00\"}",
       "schema /$ref: \"#/%00\" names nothing in the document"},
      {"{\"$ref\":\"#/type\",\"type\":\"string\"}",
       "schema /type: a schema must be an object or a boolean"},
      {"{\"$ref\":\"#/$defs/x\",\"$defs\":{\"x\":{\"$ref\":\"#/$defs/y\"},"
       "\"y\":{\"minimum\":\"0\"}}}",
       "schema /$defs/y/minimum: must be a number"},
      {"{\"$ref\":\"other.json#/a\"}",
       "schema /$ref: unsupported reference \"other.json#/a\" (only \"#\" and "
       "\"#/...\" pointers into the same document are resolved)"},
      {"{\"$ref\":\"#anchor\"}", NULL},
      {"{\"$defs\":[]}", "schema /$defs: must be an object of schemas"},
      {"{\"definitions\":{\"a\":{\"type\":\"x\"}}}",
       "schema /definitions/a/type: must be a type name or an array of type "
       "names"},
  };
  char err[512];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_object *doc = parse(cases[i].schema);
    cmcp__schema_t *s = cmcp__schema_compile(doc, err, sizeof err);
    json_object_put(doc);
    if (s != NULL)
      fail_msg("case %zu: %s compiled", i, cases[i].schema);
    if (cases[i].msg && strcmp(err, cases[i].msg) != 0)
      fail_msg("case %zu: %s:\n  got      \"%s\"\n  expected \"%s\"", i,
               cases[i].schema, err, cases[i].msg);
    if (err[0] == '\0')
      fail_msg("case %zu: no message", i);
  }
}

/* A schema nested deeper than the compile limit is refused, not a crash. */
static void deep_schema_is_refused(void **state) {
  char err[256];
  json_object *root = json_object_new_object(), *cur = root;
  int i;
  (void)state;
  for (i = 0; i < 2000; i++) {
    json_object *next = json_object_new_object();
    json_object_object_add(cur, "not", next);
    cur = next;
  }
  assert_null(cmcp__schema_compile(root, err, sizeof err));
  assert_non_null(strstr(err, "schema nests deeper than 512 levels"));
  json_object_put(root);
}

/* ---- the API edges ----------------------------------------------------- */

static void definitions_by_name(void **state) {
  char err[256];
  cmcp__schema_t *s = compile_ok(
      "{\"$defs\":{\"Id\":{\"type\":[\"string\",\"integer\"]}},"
      "\"definitions\":{\"Flag\":{\"type\":\"boolean\"}},\"type\":\"null\"}");
  json_object *one = parse("1"), *yes = parse("true");
  (void)state;
  assert_int_equal(cmcp__schema_validate(s, "Id", one, err, sizeof err), 0);
  assert_int_equal(cmcp__schema_validate(s, "Id", yes, err, sizeof err),
                   CMCP_EINVAL);
  assert_string_equal(err, "/: expected string or integer, got boolean");
  assert_int_equal(cmcp__schema_validate(s, "Flag", yes, err, sizeof err), 0);
  assert_int_equal(cmcp__schema_validate(s, NULL, one, err, sizeof err),
                   CMCP_EINVAL);
  assert_int_equal(cmcp__schema_validate(s, NULL, NULL, err, sizeof err), 0);
  assert_int_equal(cmcp__schema_validate(s, "Nope", one, err, sizeof err),
                   CMCP_ENOENT);
  assert_string_equal(err, "the schema has no definition \"Nope\"");
  assert_int_equal(cmcp__schema_validate(NULL, NULL, one, err, sizeof err),
                   CMCP_EINVAL);
  assert_string_equal(err, "no schema");
  cmcp__schema_free(s);
  s = compile_ok("true");
  assert_int_equal(cmcp__schema_validate(s, "Id", one, err, sizeof err),
                   CMCP_ENOENT);
  cmcp__schema_free(s);
  cmcp__schema_free(NULL);
  json_object_put(one);
  json_object_put(yes);
}

/* Messages are cut to the buffer, always terminated; no buffer is fine. */
static void messages_fit_the_buffer(void **state) {
  char err[16];
  cmcp__schema_t *s = compile_ok("{\"required\":[\"a_long_property\"]}");
  json_object *inst = parse("{}"), *bad;
  (void)state;
  memset(err, 'x', sizeof err);
  assert_int_equal(cmcp__schema_validate(s, NULL, inst, err, sizeof err),
                   CMCP_EINVAL);
  assert_int_equal(strlen(err), sizeof err - 1);
  assert_memory_equal(err, "/: missing requ", 15);
  assert_int_equal(cmcp__schema_validate(s, NULL, inst, NULL, 0), CMCP_EINVAL);
  cmcp__schema_free(s);
  bad = parse("{\"type\":9}");
  assert_null(cmcp__schema_compile(bad, NULL, 0));
  assert_null(cmcp__schema_compile(bad, err, 1));
  assert_string_equal(err, "");
  json_object_put(bad);
  json_object_put(inst);
}

/* The schema takes its own reference: the caller may drop the document. */
static void schema_keeps_its_document(void **state) {
  char err[128];
  json_object *doc = parse("{\"properties\":{\"n\":{\"enum\":[\"x\"]}}}");
  cmcp__schema_t *s = cmcp__schema_compile(doc, err, sizeof err);
  json_object *inst = parse("{\"n\":\"y\"}");
  (void)state;
  assert_non_null(s);
  json_object_put(doc);
  assert_int_equal(cmcp__schema_validate(s, NULL, inst, err, sizeof err),
                   CMCP_EINVAL);
  assert_string_equal(err, "/n: \"y\" is not one of the 1 enum values");
  json_object_put(inst);
  cmcp__schema_free(s);
}

/* ---- allocation failures ----------------------------------------------- */

static long alloc_budget = -1; /* allocations left; -1: unlimited */

static int alloc_take(void) {
  if (alloc_budget == 0)
    return 0;
  if (alloc_budget > 0)
    alloc_budget--;
  return 1;
}
static void *t_malloc(size_t n) {
  return alloc_take() ? malloc(n) : NULL;
}
static void *t_realloc(void *p, size_t n) {
  return alloc_take() ? realloc(p, n) : NULL;
}
static void *t_calloc(size_t c, size_t n) {
  return alloc_take() ? calloc(c, n) : NULL;
}

/* Fails the 1st, 2nd, ... allocation of a compile in turn: each attempt
 * returns NULL with "out of memory" (ASan proves nothing leaks) until the
 * budget suffices. */
static void compile_survives_allocation_failures(void **state) {
  static const char *text =
      "{\"$defs\":{\"n\":{\"type\":\"object\",\"properties\":{\"a\":{"
      "\"pattern\":\"^\\\\w+$\"},\"b\":{\"$ref\":\"#/$defs/n\"}},"
      "\"patternProperties\":{\"^x\":{}},\"dependentSchemas\":{\"a\":{}}}},"
      "\"allOf\":[{\"$ref\":\"#/$defs/n\"}],\"anyOf\":[{},{}],\"oneOf\":[{}],"
      "\"prefixItems\":[{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},"
      "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}]}";
  json_object *doc = parse(text), *inst = parse("{\"a\":\"w\",\"x1\":2}");
  char err[128];
  cmcp__schema_t *s = NULL;
  long n;
  (void)state;
  for (n = 0; n < 10000 && s == NULL; n++) {
    alloc_budget = n;
    assert_int_equal(cmcp_set_allocator(t_malloc, t_realloc, t_calloc, free),
                     0);
    s = cmcp__schema_compile(doc, err, sizeof err);
    alloc_budget = -1;
    if (s == NULL)
      assert_string_equal(err, "out of memory");
  }
  assert_non_null(s);
  assert_true(n > 10);
  assert_int_equal(cmcp__schema_validate(s, NULL, inst, err, sizeof err), 0);
  cmcp__schema_free(s);
  assert_int_equal(cmcp_set_allocator(malloc, realloc, calloc, free), 0);
  json_object_put(doc);
  json_object_put(inst);
}

/* Validation itself allocates nothing (regexec aside): it succeeds with
 * the cmcp allocator refusing everything. */
static void validation_does_not_allocate(void **state) {
  char err[256];
  cmcp__schema_t *s = compile_ok(
      "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"},"
      "\"tags\":{\"items\":{\"enum\":[\"a\",\"b\"]},\"uniqueItems\":true}},"
      "\"required\":[\"n\"],\"anyOf\":[{\"required\":[\"x\"]},{\"required\":"
      "[\"tags\"]}]}");
  json_object *ok = parse("{\"n\":1,\"tags\":[\"a\",\"b\"]}");
  json_object *bad = parse("{\"n\":1,\"tags\":[\"a\",\"a\"]}");
  (void)state;
  alloc_budget = 0;
  assert_int_equal(cmcp_set_allocator(t_malloc, t_realloc, t_calloc, free), 0);
  assert_int_equal(cmcp__schema_validate(s, NULL, ok, err, sizeof err), 0);
  assert_int_equal(cmcp__schema_validate(s, NULL, bad, err, sizeof err),
                   CMCP_EINVAL);
  assert_string_equal(err, "/tags: items 0 and 1 are equal (uniqueItems)");
  alloc_budget = -1;
  assert_int_equal(cmcp_set_allocator(malloc, realloc, calloc, free), 0);
  json_object_put(ok);
  json_object_put(bad);
  cmcp__schema_free(s);
}

/* ---- the official MCP schemas ------------------------------------------ */

static const char *spec_dir(char *buf, size_t len) {
  const char *spec = getenv("CMCP_SPEC"), *src = getenv("CMCP_SRC");
  if (spec && *spec)
    snprintf(buf, len, "%s", spec);
  else
    snprintf(buf, len, "%s/../shared/spec", src && *src ? src : ".");
  return buf;
}

static void official_schemas_compile(void **state) {
  static const char *versions[] = {"2024-11-05", "2025-03-26", "2025-06-18",
                                   "2025-11-25", "2026-07-28"};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof versions / sizeof versions[0]; i++)
    assert_non_null(spec_schema(versions[i]));
}

/* Validates every file of one examples/<Def>/ folder; returns how many. */
static int check_example_dir(const char *dir, const char *def) {
  char path[2048], err[512];
  struct dirent *f;
  DIR *d = opendir(dir);
  int count = 0;
  assert_non_null(d);
  while ((f = readdir(d)) != NULL) {
    size_t len = strlen(f->d_name);
    json_object *inst;
    if (len < 5 || strcmp(f->d_name + len - 5, ".json") != 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, f->d_name);
    inst = json_object_from_file(path);
    if (inst == NULL)
      fail_msg("cannot read %s", path);
    if (cmcp__schema_validate(spec_schema("2026-07-28"), def, inst, err,
                              sizeof err) != 0)
      fail_msg("%s is not a valid %s: %s", path, def, err);
    json_object_put(inst);
    count++;
  }
  closedir(d);
  return count;
}

static void official_examples_are_valid(void **state) {
  char base[512], dir[1024];
  struct dirent *e;
  DIR *d;
  int files = 0, defs = 0;
  (void)state;
  snprintf(dir, sizeof dir, "%s/2026-07-28/examples",
           spec_dir(base, sizeof base));
  d = opendir(dir);
  assert_non_null(d);
  while ((e = readdir(d)) != NULL) {
    char sub[1536];
    if (e->d_name[0] == '.')
      continue;
    snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
    files += check_example_dir(sub, e->d_name);
    defs++;
  }
  closedir(d);
  assert_true(defs >= 80);
  assert_true(files >= 120);
}

typedef struct icase {
  const char *def;
  const char *instance;
  const char *msg; /* a substring the message must contain */
} icase;

static void official_schemas_reject_bad_messages(void **state) {
  static const icase cases[] = {
      {"CallToolResult", "{\"isError\":false}",
       "/: missing required property \"content\""},
      {"CallToolResult", "{\"content\":{}}",
       "/content: expected array, got object"},
      {"CallToolResult", "{\"content\":[{\"type\":\"text\",\"text\":5}]}",
       "/content/0/text: expected string, got integer"},
      {"CallToolResult", "{\"content\":[{\"type\":\"video\"}]}",
       "/content/0: matches none of"},
      {"JSONRPCRequest",
       "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", "/id"},
      {"JSONRPCRequest", "{\"jsonrpc\":\"2.0\",\"id\":1}",
       "missing required property \"method\""},
      {"JSONRPCRequest", "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",
       "/jsonrpc: expected the constant \"2.0\""},
      {"JSONRPCNotification",
       "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":[]}",
       "/params: expected object, got array"},
      {"Tool", "{\"name\":\"t\"}", "missing required property \"inputSchema\""},
      {"Tool", "{\"name\":\"t\",\"inputSchema\":{\"type\":\"array\"}}",
       "/inputSchema/type: expected the constant \"object\""},
      {"Implementation", "{\"name\":\"x\"}",
       "missing required property \"version\""},
      {"TextContent",
       "{\"type\":\"text\",\"text\":\"hi\",\"annotations\":{"
       "\"priority\":2}}",
       "/annotations/priority: 2 is greater than maximum 1"},
      {"LoggingLevel", "\"verbose\"", "is not one of the 8 enum values"},
      {"ProgressToken", "1.5", "/: expected string or integer, got number"},
      {"JSONRPCResultResponse", "{\"jsonrpc\":\"2.0\",\"id\":1}",
       "/: missing required property \"result\""},
  };
  char err[512];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_object *inst = parse(cases[i].instance);
    int rc = cmcp__schema_validate(spec_schema("2025-11-25"), cases[i].def,
                                   inst, err, sizeof err);
    if (rc != CMCP_EINVAL || strstr(err, cases[i].msg) == NULL)
      fail_msg("case %zu: %s as %s: rc %d, \"%s\" (wanted \"%s\")", i,
               cases[i].instance, cases[i].def, rc, err, cases[i].msg);
    rc = cmcp__schema_validate(spec_schema("2026-07-28"), cases[i].def, inst,
                               err, sizeof err);
    if (rc != CMCP_EINVAL)
      fail_msg("case %zu: %s as %s (2026-07-28): rc %d", i, cases[i].instance,
               cases[i].def, rc);
    json_object_put(inst);
  }
}

/* The helper the engine tests use: a valid message passes, and it loads
 * the schema once. */
static void spec_helper_checks_and_caches(void **state) {
  json_object *ok = parse("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}");
  json_object *bad = parse("{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}");
  const cmcp__schema_t *first;
  (void)state;
  spec_assert_valid("2025-11-25", "JSONRPCResultResponse", ok);
  spec_assert_invalid("2025-11-25", "JSONRPCResultResponse", bad);
  first = spec_schema("2025-06-18");
  assert_ptr_equal(spec_schema("2025-06-18"), first);
  spec_assert_valid("2025-06-18", "JSONRPCResponse", ok);
  json_object_put(ok);
  json_object_put(bad);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(type_keyword),
      cmocka_unit_test(const_and_enum),
      cmocka_unit_test(numeric_bounds),
      cmocka_unit_test(string_lengths_count_code_points),
      cmocka_unit_test(pattern_matching),
      cmocka_unit_test(pattern_unsupported_is_refused),
      cmocka_unit_test(pattern_too_long_is_refused),
      cmocka_unit_test(format_is_an_annotation),
      cmocka_unit_test(array_keywords),
      cmocka_unit_test(object_keywords),
      cmocka_unit_test(combinators),
      cmocka_unit_test(any_of_quotes_closest_alternative),
      cmocka_unit_test(nested_any_of_explanations_are_bounded),
      cmocka_unit_test(refs),
      cmocka_unit_test(ref_loops_hit_the_depth_limit),
      cmocka_unit_test(deep_instance_is_an_error),
      cmocka_unit_test(deep_const_comparison_is_an_error),
      cmocka_unit_test(bad_schemas_are_refused),
      cmocka_unit_test(deep_schema_is_refused),
      cmocka_unit_test(definitions_by_name),
      cmocka_unit_test(messages_fit_the_buffer),
      cmocka_unit_test(schema_keeps_its_document),
      cmocka_unit_test(compile_survives_allocation_failures),
      cmocka_unit_test(validation_does_not_allocate),
      cmocka_unit_test(official_schemas_compile),
      cmocka_unit_test(official_examples_are_valid),
      cmocka_unit_test(official_schemas_reject_bad_messages),
      cmocka_unit_test(spec_helper_checks_and_caches),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  spec_release();
  return rc;
}
