/* Unit tests for src/proto/uritemplate: RFC 6570 expansion (every example of
 * section 3.2), strict compilation, matching and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helper_alloc.h"

#include "proto/uritemplate.h"
#include <stdlib.h>
#include <string.h>

/* ---- RFC 6570 section 3.2 variables ------------------------------------ */

static const char *const k_count[] = {"one", "two", "three"};
static const char *const k_dom[] = {"example", "com"};
static const char *const k_list[] = {"red", "green", "blue"};
static const char *const k_keys[] = {"semi", ";", "dot", ".", "comma", ","};

static const cmcp__uritpl_value k_rfc_vars[] = {
    {"count", CMCP__URITPL_LIST, NULL, k_count, 3},
    {"dom", CMCP__URITPL_LIST, NULL, k_dom, 2},
    {"dub", CMCP__URITPL_STRING, "me/too", NULL, 0},
    {"hello", CMCP__URITPL_STRING, "Hello World!", NULL, 0},
    {"half", CMCP__URITPL_STRING, "50%", NULL, 0},
    {"var", CMCP__URITPL_STRING, "value", NULL, 0},
    {"who", CMCP__URITPL_STRING, "fred", NULL, 0},
    {"base", CMCP__URITPL_STRING, "http://example.com/home/", NULL, 0},
    {"path", CMCP__URITPL_STRING, "/foo/bar", NULL, 0},
    {"list", CMCP__URITPL_LIST, NULL, k_list, 3},
    {"keys", CMCP__URITPL_ASSOC, NULL, k_keys, 6},
    {"v", CMCP__URITPL_STRING, "6", NULL, 0},
    {"x", CMCP__URITPL_STRING, "1024", NULL, 0},
    {"y", CMCP__URITPL_STRING, "768", NULL, 0},
    {"empty", CMCP__URITPL_STRING, "", NULL, 0},
    {"empty_keys", CMCP__URITPL_ASSOC, NULL, NULL, 0},
    {"undef", CMCP__URITPL_STRING, NULL, NULL, 0},
};

/* {template, expansion}; associative arrays keep the order given above,
 * one of the orders the RFC allows. */
static const char *const k_rfc_cases[][2] = {
    /* 3.2.1 */
    {"{count}", "one,two,three"},
    {"{count*}", "one,two,three"},
    {"{/count}", "/one,two,three"},
    {"{/count*}", "/one/two/three"},
    {"{;count}", ";count=one,two,three"},
    {"{;count*}", ";count=one;count=two;count=three"},
    {"{?count}", "?count=one,two,three"},
    {"{?count*}", "?count=one&count=two&count=three"},
    {"{&count*}", "&count=one&count=two&count=three"},
    /* 3.2.2 */
    {"{var}", "value"},
    {"{hello}", "Hello%20World%21"},
    {"{half}", "50%25"},
    {"O{empty}X", "OX"},
    {"O{undef}X", "OX"},
    {"{x,y}", "1024,768"},
    {"{x,hello,y}", "1024,Hello%20World%21,768"},
    {"?{x,empty}", "?1024,"},
    {"?{x,undef}", "?1024"},
    {"?{undef,y}", "?768"},
    {"{var:3}", "val"},
    {"{var:30}", "value"},
    {"{list}", "red,green,blue"},
    {"{list*}", "red,green,blue"},
    {"{keys}", "semi,%3B,dot,.,comma,%2C"},
    {"{keys*}", "semi=%3B,dot=.,comma=%2C"},
    /* 3.2.3 */
    {"{+var}", "value"},
    {"{+hello}", "Hello%20World!"},
    {"{+half}", "50%25"},
    {"{base}index", "http%3A%2F%2Fexample.com%2Fhome%2Findex"},
    {"{+base}index", "http://example.com/home/index"},
    {"O{+empty}X", "OX"},
    {"O{+undef}X", "OX"},
    {"{+path}/here", "/foo/bar/here"},
    {"{+path:6}/here", "/foo/b/here"},
    {"here?ref={+path}", "here?ref=/foo/bar"},
    {"up{+path}{var}/here", "up/foo/barvalue/here"},
    {"{+x,hello,y}", "1024,Hello%20World!,768"},
    {"{+path,x}/here", "/foo/bar,1024/here"},
    {"{+list}", "red,green,blue"},
    {"{+list*}", "red,green,blue"},
    {"{+keys}", "semi,;,dot,.,comma,,"},
    {"{+keys*}", "semi=;,dot=.,comma=,"},
    /* 3.2.4 */
    {"{#var}", "#value"},
    {"{#hello}", "#Hello%20World!"},
    {"{#half}", "#50%25"},
    {"foo{#empty}", "foo#"},
    {"foo{#undef}", "foo"},
    {"{#x,hello,y}", "#1024,Hello%20World!,768"},
    {"{#path,x}/here", "#/foo/bar,1024/here"},
    {"{#path:6}/here", "#/foo/b/here"},
    {"{#list}", "#red,green,blue"},
    {"{#list*}", "#red,green,blue"},
    {"{#keys}", "#semi,;,dot,.,comma,,"},
    {"{#keys*}", "#semi=;,dot=.,comma=,"},
    /* 3.2.5 */
    {"{.who}", ".fred"},
    {"{.who,who}", ".fred.fred"},
    {"{.half,who}", ".50%25.fred"},
    {"www{.dom*}", "www.example.com"},
    {"X{.var}", "X.value"},
    {"X{.var:3}", "X.val"},
    {"X{.empty}", "X."},
    {"X{.undef}", "X"},
    {"X{.list}", "X.red,green,blue"},
    {"X{.list*}", "X.red.green.blue"},
    {"X{.empty_keys}", "X"},
    {"X{.empty_keys*}", "X"},
    /* 3.2.6 */
    {"{/who}", "/fred"},
    {"{/who,who}", "/fred/fred"},
    {"{/half,who}", "/50%25/fred"},
    {"{/who,dub}", "/fred/me%2Ftoo"},
    {"{/var}", "/value"},
    {"{/var,empty}", "/value/"},
    {"{/var,undef}", "/value"},
    {"{/var,x}/here", "/value/1024/here"},
    {"{/var:1,var}", "/v/value"},
    {"{/list}", "/red,green,blue"},
    {"{/list*}", "/red/green/blue"},
    {"{/list*,path:4}", "/red/green/blue/%2Ffoo"},
    {"{/keys}", "/semi,%3B,dot,.,comma,%2C"},
    {"{/keys*}", "/semi=%3B/dot=./comma=%2C"},
    /* 3.2.7 */
    {"{;who}", ";who=fred"},
    {"{;half}", ";half=50%25"},
    {"{;empty}", ";empty"},
    {"{;hello:5}", ";hello=Hello"},
    {"{;v,empty,who}", ";v=6;empty;who=fred"},
    {"{;v,bar,who}", ";v=6;who=fred"},
    {"{;x,y}", ";x=1024;y=768"},
    {"{;x,y,empty}", ";x=1024;y=768;empty"},
    {"{;x,y,undef}", ";x=1024;y=768"},
    {"{;list}", ";list=red,green,blue"},
    {"{;list*}", ";list=red;list=green;list=blue"},
    {"{;keys}", ";keys=semi,%3B,dot,.,comma,%2C"},
    {"{;keys*}", ";semi=%3B;dot=.;comma=%2C"},
    /* 3.2.8 */
    {"{?who}", "?who=fred"},
    {"{?half}", "?half=50%25"},
    {"{?x,y}", "?x=1024&y=768"},
    {"{?x,y,empty}", "?x=1024&y=768&empty="},
    {"{?x,y,undef}", "?x=1024&y=768"},
    {"{?var:3}", "?var=val"},
    {"{?list}", "?list=red,green,blue"},
    {"{?list*}", "?list=red&list=green&list=blue"},
    {"{?keys}", "?keys=semi,%3B,dot,.,comma,%2C"},
    {"{?keys*}", "?semi=%3B&dot=.&comma=%2C"},
    /* 3.2.9 */
    {"{&who}", "&who=fred"},
    {"{&half}", "&half=50%25"},
    {"?fixed=yes{&x}", "?fixed=yes&x=1024"},
    {"{&var:3}", "&var=val"},
    {"{&x,y,empty}", "&x=1024&y=768&empty="},
    {"{&x,y,undef}", "&x=1024&y=768"},
    {"{&list}", "&list=red,green,blue"},
    {"{&list*}", "&list=red&list=green&list=blue"},
    {"{&keys}", "&keys=semi,%3B,dot,.,comma,%2C"},
    {"{&keys*}", "&semi=%3B&dot=.&comma=%2C"},
};

static cmcp__uritpl_t *compile_ok(const char *tpl) {
  char err[128];
  cmcp__uritpl_t *t = cmcp__uritpl_compile(tpl, err, sizeof(err));
  if (t == NULL)
    fail_msg("compile \"%s\": %s", tpl, err);
  return t;
}

static void expand_rfc_examples(void **state) {
  size_t i;
  (void)state;
  for (i = 0; i < CMCP__ARRAY_SIZE(k_rfc_cases); i++) {
    cmcp__uritpl_t *t = compile_ok(k_rfc_cases[i][0]);
    cmcp__buf out;
    cmcp__buf_init(&out, 1024);
    assert_int_equal(cmcp__uritpl_expand_values(
                         t, k_rfc_vars, CMCP__ARRAY_SIZE(k_rfc_vars), &out),
                     0);
    if (strcmp(out.data, k_rfc_cases[i][1]) != 0)
      fail_msg("%s gave \"%s\", want \"%s\"", k_rfc_cases[i][0], out.data,
               k_rfc_cases[i][1]);
    cmcp__buf_free(&out);
    cmcp__uritpl_free(t);
  }
}

/* The level examples of RFC 6570 section 1.2 through the string API. */
static void expand_string_api(void **state) {
  static const char *const names[] = {"var", "hello", "path", "unused"};
  static const char *const values[] = {"value", "Hello World!", "/foo/bar",
                                       NULL};
  static const char *const cases[][2] = {
      {"{var}", "value"},
      {"{hello}", "Hello%20World%21"},
      {"{+hello}", "Hello%20World!"},
      {"{+path}/here", "/foo/bar/here"},
      {"here?ref={+path}", "here?ref=/foo/bar"},
      {"X{#var}", "X#value"},
      {"map?{x,y}", "map?"},
      {"{?unused,var}", "?var=value"},
      {"caf\xc3\xa9/{var:2}", "caf%C3%A9/va"},
      {"{hello:3}", "Hel"},
      {"{var}%2F", "value%2F"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < CMCP__ARRAY_SIZE(cases); i++) {
    cmcp__uritpl_t *t = compile_ok(cases[i][0]);
    cmcp__buf out;
    cmcp__buf_init(&out, 256);
    assert_int_equal(cmcp__uritpl_expand(t, names, values, 4, &out), 0);
    assert_string_equal(out.data, cases[i][1]);
    cmcp__buf_free(&out);
    cmcp__uritpl_free(t);
  }
}

static void expand_prefix_counts_code_points(void **state) {
  static const char *const names[] = {"w"};
  static const char *const values[] = {"\xc3\xa9t\xc3\xa9"}; /* été */
  cmcp__uritpl_t *t = compile_ok("{w:2}");
  cmcp__buf out;
  (void)state;
  cmcp__buf_init(&out, 64);
  assert_int_equal(cmcp__uritpl_expand(t, names, values, 1, &out), 0);
  assert_string_equal(out.data, "%C3%A9t");
  cmcp__buf_free(&out);
  cmcp__uritpl_free(t);
}

static void expand_errors_keep_buffer(void **state) {
  static const char *const names[] = {"id"};
  static const char *const values[] = {"0123456789"};
  cmcp__uritpl_t *t = compile_ok("test://x/{id}");
  cmcp__buf out;
  (void)state;
  cmcp__buf_init(&out, 12);
  assert_int_equal(cmcp__buf_adds(&out, "pre:"), 0);
  assert_int_equal(cmcp__uritpl_expand(t, names, values, 1, &out), CMCP_ELIMIT);
  assert_string_equal(out.data, "pre:");
  assert_int_equal(out.len, 4);
  assert_int_equal(cmcp__uritpl_expand(NULL, names, values, 1, &out),
                   CMCP_EINVAL);
  assert_int_equal(cmcp__uritpl_expand(t, NULL, values, 1, &out), CMCP_EINVAL);
  assert_int_equal(cmcp__uritpl_expand(t, names, values, 1, NULL), CMCP_EINVAL);
  assert_int_equal(cmcp__uritpl_expand_values(t, NULL, 1, &out), CMCP_EINVAL);
  /* No variables at all: an empty expression vanishes. */
  cmcp__buf_reset(&out);
  assert_int_equal(cmcp__uritpl_expand(t, NULL, NULL, 0, &out), 0);
  assert_string_equal(out.data, "test://x/");
  cmcp__buf_free(&out);
  cmcp__uritpl_free(t);
}

/* ---- compile ----------------------------------------------------------- */

static void compile_rejects_malformed(void **state) {
  static const char *const cases[][2] = {
      {"test://{id", "unclosed '{'"},
      {"test://id}", "unmatched '}'"},
      {"{a}}", "unmatched '}'"},
      {"{}", "empty expression"},
      {"{=a}", "reserved operator"},
      {"{!a}", "reserved operator"},
      {"{|a}", "reserved operator"},
      {"{,a}", "reserved operator"},
      {"{a,}", "empty or invalid variable name"},
      {"{-a}", "empty or invalid variable name"},
      {"{a.}", "variable name ends with '.'"},
      {"{.a..b}", "'..' in variable name"},
      {"{.a}", NULL},
      {"{a:0}", "prefix length"},
      {"{a:10000}", "prefix length"},
      {"{a:}", "prefix length"},
      {"{a:1*}", "invalid character in expression"},
      {"{a*b}", "invalid character in expression"},
      {"{a b}", "invalid character in expression"},
      {"{a{b}}", "nested '{'"},
      {"{%zz}", "empty or invalid variable name"},
      {"a b", "character not allowed in a literal"},
      {"a<b>", "character not allowed in a literal"},
      {"a\"b", "character not allowed in a literal"},
      {"50%", "bad percent-encoding"},
      {"a%zz", "bad percent-encoding"},
  };
  char err[128];
  size_t i;
  (void)state;
  for (i = 0; i < CMCP__ARRAY_SIZE(cases); i++) {
    cmcp__uritpl_t *t = cmcp__uritpl_compile(cases[i][0], err, sizeof(err));
    if (cases[i][1] == NULL) {
      assert_non_null(t);
      cmcp__uritpl_free(t);
      continue;
    }
    if (t != NULL)
      fail_msg("\"%s\" compiled", cases[i][0]);
    if (strstr(err, cases[i][1]) == NULL)
      fail_msg("\"%s\": \"%s\" lacks \"%s\"", cases[i][0], err, cases[i][1]);
  }
}

static void compile_error_names_offset(void **state) {
  char err[64], tiny[8];
  (void)state;
  assert_null(cmcp__uritpl_compile("abc{de", err, sizeof(err)));
  assert_string_equal(err, "unclosed '{' at offset 6");
  assert_null(cmcp__uritpl_compile("{a:0}", err, sizeof(err)));
  assert_string_equal(err, "prefix length must be 1 to 9999 at offset 3");
  /* A short buffer is truncated, never overrun; NULL err is allowed. */
  assert_null(cmcp__uritpl_compile("}", tiny, sizeof(tiny)));
  assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
  assert_null(cmcp__uritpl_compile("}", NULL, 0));
  assert_null(cmcp__uritpl_compile(NULL, err, sizeof(err)));
  assert_string_equal(err, "no template at offset 0");
}

static void compile_enforces_limits(void **state) {
  char big[CMCP__URITPL_MAX_LEN + 2], err[64];
  char many[CMCP__URITPL_MAX_VARS * 5 + 8];
  size_t i, n = 0;
  cmcp__uritpl_t *t;
  (void)state;
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  assert_null(cmcp__uritpl_compile(big, err, sizeof(err)));
  assert_non_null(strstr(err, "too long"));
  big[CMCP__URITPL_MAX_LEN] = '\0';
  t = compile_ok(big);
  cmcp__uritpl_free(t);
  /* One more variable than allowed: {v0}{v1}... */
  for (i = 0; i <= CMCP__URITPL_MAX_VARS; i++) {
    many[n++] = '{';
    many[n++] = 'v';
    many[n++] = (char)('a' + i / 26);
    many[n++] = (char)('a' + i % 26);
    many[n++] = '}';
  }
  many[n] = '\0';
  assert_null(cmcp__uritpl_compile(many, err, sizeof(err)));
  assert_non_null(strstr(err, "too many variables"));
  many[n - 5] = '\0';
  t = compile_ok(many);
  assert_int_equal(cmcp__uritpl_var_count(t), CMCP__URITPL_MAX_VARS);
  cmcp__uritpl_free(t);
}

static void var_names_are_distinct_in_order(void **state) {
  cmcp__uritpl_t *t = compile_ok("x{/b,a}{?b,c*}{d:3}{e.f%20}");
  (void)state;
  assert_string_equal(cmcp__uritpl_text(t), "x{/b,a}{?b,c*}{d:3}{e.f%20}");
  assert_int_equal(cmcp__uritpl_var_count(t), 5);
  assert_string_equal(cmcp__uritpl_var_name(t, 0), "b");
  assert_string_equal(cmcp__uritpl_var_name(t, 1), "a");
  assert_string_equal(cmcp__uritpl_var_name(t, 2), "c");
  assert_string_equal(cmcp__uritpl_var_name(t, 3), "d");
  assert_string_equal(cmcp__uritpl_var_name(t, 4), "e.f%20");
  assert_null(cmcp__uritpl_var_name(t, 5));
  cmcp__uritpl_free(t);
  cmcp__uritpl_free(NULL);
}

/* ---- match ------------------------------------------------------------- */

/* Matches uri against tpl and checks the listed name=value pairs (a NULL
 * value means "absent"); want is NULL when the match must fail. */
static void check_match(const char *tpl, const char *uri,
                        const char *const *want, size_t nwant) {
  cmcp__uritpl_t *t = compile_ok(tpl);
  cmcp__uritpl_match m;
  size_t i, defined = 0;
  int rc = cmcp__uritpl_match_uri(t, uri, &m);
  if (want == NULL) {
    if (rc != CMCP_ENOENT)
      fail_msg("%s matched %s (rc %d)", tpl, uri, rc);
    assert_int_equal(m.count, 0);
    assert_null(m.arena);
    cmcp__uritpl_free(t);
    return;
  }
  if (rc != 0)
    fail_msg("%s did not match %s (rc %d)", tpl, uri, rc);
  for (i = 0; i < nwant; i += 2) {
    const char *got = cmcp__uritpl_match_get(&m, want[i]);
    defined += want[i + 1] != NULL;
    if (want[i + 1] == NULL ? got != NULL
                            : got == NULL || strcmp(got, want[i + 1]) != 0)
      fail_msg("%s on %s: %s = \"%s\", want \"%s\"", tpl, uri, want[i],
               got ? got : "(absent)", want[i + 1] ? want[i + 1] : "(absent)");
  }
  assert_int_equal(m.count, defined);
  cmcp__uritpl_match_free(&m);
  assert_int_equal(m.count, 0);
  cmcp__uritpl_free(t);
}

#define MATCH(tpl, uri, ...)                                                   \
  do {                                                                         \
    static const char *const w_[] = {__VA_ARGS__};                             \
    check_match(tpl, uri, w_, CMCP__ARRAY_SIZE(w_));                           \
  } while (0)
#define NO_MATCH(tpl, uri) check_match(tpl, uri, NULL, 0)

static void match_simple_variables(void **state) {
  (void)state;
  MATCH("test://template/{id}/data", "test://template/123/data", "id", "123");
  MATCH("file:///{name}.txt", "file:///notes.txt", "name", "notes");
  MATCH("users://{uid}", "users://a%20b%2Fc", "uid", "a b/c");
  MATCH("x://{a}-{b}", "x://p-q-r", "a", "p", "b", "q-r");
  MATCH("x://{a}{b}", "x://pq", "a", "p", "b", "q");
  MATCH("x://{a,b}", "x://1,2", "a", "1", "b", "2");
  MATCH("x://{a,b}", "x://1", "a", "1", "b", NULL);
  MATCH("x://{a,b}", "x://1,", "a", "1", "b", "");
  MATCH("x://{a}", "x://r,g,b", "a", "r,g,b");
  MATCH("x://{list*}", "x://r,g,b", "list", "r,g,b");
  MATCH("x://{a:3}/y", "x://abc/y", "a", "abc");
  MATCH("x://{a:2}/y", "x://%C3%A9t/y", "a", "\xc3\xa9t");
  MATCH("x://{a}/{a}", "x://same/same", "a", "same");
  MATCH("x://caf%C3%A9/{id}", "x://caf%C3%A9/7", "id", "7");
  NO_MATCH("test://template/{id}/data", "test://template//data");
  NO_MATCH("test://template/{id}/data", "test://template/1/2/data");
  NO_MATCH("test://template/{id}/data", "test://template/1/data/");
  NO_MATCH("test://template/{id}/data", "test://other/1/data");
  NO_MATCH("test://template/{id}", "test://template/a?b");
  NO_MATCH("test://template/{id}", "test://template/a#b");
  NO_MATCH("test://template/{id}", "test://template/a b");
  NO_MATCH("test://template/{id}", "test://template/a%2");
  NO_MATCH("test://template/{id}", "test://template/a%zz");
  NO_MATCH("test://template/{id}", "test://template/a%00");
  NO_MATCH("x://{a:3}/y", "x://abcd/y");
  NO_MATCH("x://{a}/{a}", "x://one/two");
  NO_MATCH("x://{a,b}", "x://1,2,3");
  NO_MATCH("x://{a}", "x://");
}

static void match_reserved_and_fragment(void **state) {
  (void)state;
  MATCH("file:///{+path}", "file:///a/b/c.txt", "path", "a/b/c.txt");
  MATCH("file:///{+path}/meta", "file:///a/b/meta", "path", "a/b");
  MATCH("{+base}{name}", "http://h/x/y", "base", "http://h/x/", "name", "y");
  MATCH("r://{+a}/{b}", "r://x/y/z", "a", "x/y", "b", "z");
  MATCH("r://{+path}", "r://a/b?q=1", "path", "a/b?q=1");
  MATCH("r://{+p}", "r://100%25", "p", "100%");
  MATCH("r://doc{#frag}", "r://doc#sec-2", "frag", "sec-2");
  MATCH("r://doc{#frag}", "r://doc", "frag", NULL);
  MATCH("r://doc{#frag}", "r://doc#", "frag", "");
  NO_MATCH("r://{+path}", "r://a#b");
  NO_MATCH("r://{+path}", "r://");
  NO_MATCH("r://doc{#frag}", "r://doc#a#b");
}

static void match_prefixed_operators(void **state) {
  (void)state;
  MATCH("git://repo{/path*}", "git://repo/a/b/c", "path", "a,b,c");
  MATCH("git://repo{/path*}", "git://repo", "path", NULL);
  MATCH("git://repo{/path*}", "git://repo/", "path", "");
  MATCH("git://repo{/a,b}", "git://repo/x/y", "a", "x", "b", "y");
  MATCH("git://repo{/a,b}", "git://repo/x", "a", "x", "b", NULL);
  MATCH("git://repo{/a,rest*}", "git://repo/x/y/z", "a", "x", "rest", "y,z");
  MATCH("git://repo{/rest*,last}", "git://repo/x/y/z", "rest", "x,y", "last",
        "z");
  MATCH("d://www{.dom*}", "d://www.example.com", "dom", "example,com");
  MATCH("d://file{.ext}", "d://file.json", "ext", "json");
  MATCH("m://x{;a,b}", "m://x;b=2;a=1", "a", "1", "b", "2");
  MATCH("m://x{;a,b}", "m://x;a", "a", "", "b", NULL);
  NO_MATCH("git://repo{/a}", "git://repo/x/y");
  NO_MATCH("git://repo{/a*,b*}", "git://repo/x/y/z");
  NO_MATCH("d://file{.ext}", "d://file.a.b");
  NO_MATCH("m://x{;a}", "m://x;c=1");
  NO_MATCH("m://x{;a}", "m://x?a=1");
}

static void match_query(void **state) {
  (void)state;
  MATCH("s://find{?q,lang}", "s://find?q=cats&lang=en", "q", "cats", "lang",
        "en");
  MATCH("s://find{?q,lang}", "s://find?lang=en&q=cats", "q", "cats", "lang",
        "en");
  MATCH("s://find{?q,lang}", "s://find?q=cats", "q", "cats", "lang", NULL);
  MATCH("s://find{?q,lang}", "s://find", "q", NULL, "lang", NULL);
  MATCH("s://find{?q,lang}", "s://find?q=", "q", "");
  MATCH("s://find{?q}", "s://find?q=a/b%26c?d", "q", "a/b&c?d");
  MATCH("s://find{?q}", "s://find?q=r,g,b", "q", "r,g,b");
  MATCH("s://find{?tag*}", "s://find?tag=a&tag=b", "tag", "a,b");
  MATCH("s://find?fixed=1{&x,y}", "s://find?fixed=1&y=2", "x", NULL, "y", "2");
  MATCH("s://{id}{?v}", "s://42?v=3", "id", "42", "v", "3");
  MATCH("s://{id}{?v}", "s://42", "id", "42", "v", NULL);
  MATCH("s://{id}{?v}#top", "s://42?v=3#top", "id", "42", "v", "3");
  NO_MATCH("s://find{?q}", "s://find?other=1");
  NO_MATCH("s://find{?q}", "s://find?q=1&q=2");
  NO_MATCH("s://find{?q}", "s://find?");
  NO_MATCH("s://find{?q,lang}", "s://find?q=1&&lang=2");
  NO_MATCH("s://find{?q}", "s://find?q=1#frag");
}

/* Expanding and matching back gives the same values. */
static void match_inverts_expand(void **state) {
  static const char *const tpls[] = {
      "test://template/{id}/data",
      "file:///{+path}{?rev}",
      "x://{a}.{b}{/c,d}",
      "x://{a}{;p,q}{#f}",
  };
  static const char *const names[] = {"id", "path", "rev", "a", "b",
                                      "c",  "d",    "p",   "q", "f"};
  static const char *const values[] = {
      "1 2", "dir/sub/x y.txt", "v1&2", "aa", "b/b", "c", "d=d", "P", "", "F"};
  size_t i, j;
  (void)state;
  for (i = 0; i < CMCP__ARRAY_SIZE(tpls); i++) {
    cmcp__uritpl_t *t = compile_ok(tpls[i]);
    cmcp__uritpl_match m;
    cmcp__buf out;
    cmcp__buf_init(&out, 512);
    assert_int_equal(cmcp__uritpl_expand(t, names, values, 10, &out), 0);
    assert_int_equal(cmcp__uritpl_match_uri(t, out.data, &m), 0);
    assert_int_equal(m.count, cmcp__uritpl_var_count(t));
    for (j = 0; j < m.count; j++) {
      size_t k;
      for (k = 0; strcmp(names[k], m.names[j]) != 0; k++)
        ;
      if (strcmp(m.values[j], values[k]) != 0)
        fail_msg("%s via %s: %s=%s", tpls[i], out.data, names[k], m.values[j]);
    }
    cmcp__uritpl_match_free(&m);
    cmcp__buf_free(&out);
    cmcp__uritpl_free(t);
  }
}

static void match_outlives_template(void **state) {
  cmcp__uritpl_t *t = compile_ok("test://template/{id}/data");
  cmcp__uritpl_match m;
  (void)state;
  assert_int_equal(cmcp__uritpl_match_uri(t, "test://template/9/data", &m), 0);
  cmcp__uritpl_free(t);
  assert_string_equal(m.names[0], "id");
  assert_string_equal(cmcp__uritpl_match_get(&m, "id"), "9");
  assert_null(cmcp__uritpl_match_get(&m, "other"));
  assert_null(cmcp__uritpl_match_get(NULL, "id"));
  assert_null(cmcp__uritpl_match_get(&m, NULL));
  cmcp__uritpl_match_free(&m);
  cmcp__uritpl_match_free(&m); /* twice is harmless */
  cmcp__uritpl_match_free(NULL);
}

static void match_rejects_bad_arguments(void **state) {
  cmcp__uritpl_t *t = compile_ok("x://{a}");
  cmcp__uritpl_match m;
  (void)state;
  assert_int_equal(cmcp__uritpl_match_uri(NULL, "x://1", &m), CMCP_EINVAL);
  assert_int_equal(m.count, 0);
  assert_int_equal(cmcp__uritpl_match_uri(t, NULL, &m), CMCP_EINVAL);
  assert_int_equal(cmcp__uritpl_match_uri(t, "x://1", NULL), CMCP_EINVAL);
  cmcp__uritpl_free(t);
}

/* Many adjacent expressions and a URI that almost matches: the search must
 * end (by exhausting or by its budget) quickly, and an over-long URI is
 * refused outright. */
static void match_is_bounded(void **state) {
  cmcp__uritpl_t *t =
      compile_ok("x://{+a}{+b}{+c}{+d}{+e}{+f}{+g}{+h}{+i}{+j}!");
  cmcp__uritpl_match m;
  char uri[9000];
  (void)state;
  memset(uri, 'a', sizeof(uri) - 1);
  memcpy(uri, "x://", 4);
  uri[400] = '\0';
  assert_int_equal(cmcp__uritpl_match_uri(t, uri, &m), CMCP_ENOENT);
  uri[400] = '!';
  uri[401] = '\0';
  assert_int_equal(cmcp__uritpl_match_uri(t, uri, &m), 0);
  cmcp__uritpl_match_free(&m);
  cmcp__uritpl_free(t);
  t = compile_ok("x://{+a}");
  memset(uri + 4, 'a', sizeof(uri) - 5);
  uri[sizeof(uri) - 1] = '\0';
  assert_int_equal(cmcp__uritpl_match_uri(t, uri, &m), CMCP_ENOENT);
  uri[8192] = '\0';
  assert_int_equal(cmcp__uritpl_match_uri(t, uri, &m), 0);
  cmcp__uritpl_match_free(&m);
  cmcp__uritpl_free(t);
}

/* ---- allocation failure ------------------------------------------------ */


/* Runs one compile + expand + match with the Nth allocation failing; returns
 * 1 once a run needs fewer than N allocations (every failure point seen). */
static int run_with_failure(int n) {
  static const char *const names[] = {"id", "q"};
  static const char *const values[] = {"a b", "z"};
  char err[64];
  cmcp__uritpl_t *t;
  cmcp__uritpl_match m;
  cmcp__buf out;
  int rc;
  alloc_fail_arm(n);
  t = cmcp__uritpl_compile("test://{a}/{id}{?q,r}", err, sizeof(err));
  if (t == NULL) {
    assert_string_equal(err, "out of memory");
    return 0;
  }
  cmcp__buf_init(&out, 256);
  rc = cmcp__uritpl_expand(t, names, values, 2, &out);
  assert_true(rc == 0 || rc == CMCP_ENOMEM);
  rc = cmcp__uritpl_match_uri(t, "test://x/y%20z?r=1&q=2", &m);
  assert_true(rc == 0 || rc == CMCP_ENOMEM);
  if (rc == 0)
    assert_string_equal(cmcp__uritpl_match_get(&m, "id"), "y z");
  else
    assert_int_equal(m.count, 0);
  cmcp__uritpl_match_free(&m);
  cmcp__buf_free(&out);
  cmcp__uritpl_free(t);
  return alloc_fail_count() < n;
}

static void survives_every_allocation_failure(void **state) {
  int n;
  (void)state;
  alloc_fail_install();
  for (n = 1; n < 200 && !run_with_failure(n); n++)
    ;
  alloc_fail_uninstall();
  assert_true(n < 200);
  assert_true(n > 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(expand_rfc_examples),
      cmocka_unit_test(expand_string_api),
      cmocka_unit_test(expand_prefix_counts_code_points),
      cmocka_unit_test(expand_errors_keep_buffer),
      cmocka_unit_test(compile_rejects_malformed),
      cmocka_unit_test(compile_error_names_offset),
      cmocka_unit_test(compile_enforces_limits),
      cmocka_unit_test(var_names_are_distinct_in_order),
      cmocka_unit_test(match_simple_variables),
      cmocka_unit_test(match_reserved_and_fragment),
      cmocka_unit_test(match_prefixed_operators),
      cmocka_unit_test(match_query),
      cmocka_unit_test(match_inverts_expand),
      cmocka_unit_test(match_outlives_template),
      cmocka_unit_test(match_rejects_bad_arguments),
      cmocka_unit_test(match_is_bounded),
      cmocka_unit_test(survives_every_allocation_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
