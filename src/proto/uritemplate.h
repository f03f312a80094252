/* src/proto/uritemplate.h: RFC 6570 URI templates. Internal.
 *
 * A template is compiled once and then used to expand variables into a URI
 * (levels 1-4) or to match a concrete URI and pull the variables back out
 * (levels 1-3, plus exploded lists such as {/path*} and query lists such as
 * {?a,b}). MCP resource templates (ResourceTemplate.uriTemplate) use this to
 * route resources/read. */
#ifndef CMCP_PROTO_URITEMPLATE_H
#define CMCP_PROTO_URITEMPLATE_H

#include "base/base.h"

#include <stddef.h>

/* Most distinct variables one template may hold (compile refuses more). */
#define CMCP__URITPL_MAX_VARS 32
/* Longest template accepted by cmcp__uritpl_compile, in bytes. */
#define CMCP__URITPL_MAX_LEN 4096

typedef struct cmcp__uritpl cmcp__uritpl_t;

/* The variables extracted by cmcp__uritpl_match_uri. names[i] and values[i] are
 * NUL-terminated and live in one arena owned by the struct (they stay valid
 * after the template is freed), until cmcp__uritpl_match_free. A variable the
 * URI left undefined (e.g. a missing query parameter) is not listed. */
typedef struct cmcp__uritpl_match {
  size_t count;                              /* pairs filled */
  const char *names[CMCP__URITPL_MAX_VARS];  /* variable names */
  const char *values[CMCP__URITPL_MAX_VARS]; /* percent-decoded values */
  char *arena;                               /* backing store; internal */
} cmcp__uritpl_match;

/* Value kinds for cmcp__uritpl_expand_values. */
typedef enum {
  CMCP__URITPL_STRING = 0, /* str */
  CMCP__URITPL_LIST = 1,   /* items[0..n) */
  CMCP__URITPL_ASSOC = 2   /* items[0..n): key, value, key, value, ... */
} cmcp__uritpl_kind;

/* One variable for expansion. A variable not given is undefined; so is a
 * list or assoc with n == 0 (RFC 6570 section 2.3). */
typedef struct cmcp__uritpl_value {
  const char *name;
  cmcp__uritpl_kind kind;
  const char *str;
  const char *const *items;
  size_t n;
} cmcp__uritpl_value;

/* Compiles tpl. Returns NULL when tpl is malformed (unbalanced braces, empty
 * or reserved operator, bad variable name, bad prefix length, bad literal
 * character, too long, too many variables) and, if err is not NULL, writes a
 * one-line NUL-terminated reason into err[0..errlen) naming the byte offset.
 * Also NULL on ENOMEM (reason "out of memory"). */
cmcp__uritpl_t *cmcp__uritpl_compile(const char *tpl, char *err, size_t errlen);
void cmcp__uritpl_free(cmcp__uritpl_t *t);

/* The template text as given to compile. */
const char *cmcp__uritpl_text(const cmcp__uritpl_t *t);
/* Number of distinct variable names, and the i-th in template order
 * (NULL when i is out of range). */
size_t cmcp__uritpl_var_count(const cmcp__uritpl_t *t);
const char *cmcp__uritpl_var_name(const cmcp__uritpl_t *t, size_t i);

/* (Named _uri because C gives the type cmcp__uritpl_match and functions one
 * namespace.) Matches the whole of uri against t. On success returns 0 and
 * fills *m, which the caller releases with cmcp__uritpl_match_free. Otherwise
 * *m is left empty (count 0, nothing to free, though freeing is harmless) and
 * the result is CMCP_ENOENT when uri is not an expansion of t (including when
 * the search exceeds its internal step budget), CMCP_EINVAL on a NULL argument,
 * CMCP_ENOMEM.
 *
 * Rules: a simple {var} matches a non-empty run without '/', '?' or '#';
 * {+var} a non-empty run without '#' (so it may hold '/'); {#var} a '#' and
 * then anything; {.x}, {/x}, {;x}, {?x}, {&x} their prefix character and
 * separated items as the RFC expands them, and nothing at all when every
 * variable is undefined. Query and parameter items ({;x}, {?x}, {&x}) are
 * matched by name in any order; an unknown name fails the match. Where
 * several splits are possible the earliest variable takes the shortest run.
 * Percent-encoded triplets must be well formed and must not decode to NUL.
 * An exploded list ({/path*} on "/a/b/c") and a multi-value item yield the
 * items joined by ',' ("a,b,c"), each item decoded. A {var:N} value must be
 * at most N characters. A variable used twice must match the same value. */
int cmcp__uritpl_match_uri(const cmcp__uritpl_t *t, const char *uri,
                           cmcp__uritpl_match *m);
void cmcp__uritpl_match_free(cmcp__uritpl_match *m);
/* The value of variable name in m, or NULL when it is not there. */
const char *cmcp__uritpl_match_get(const cmcp__uritpl_match *m,
                                   const char *name);

/* Expands t with string variables names[i] = values[i] (a NULL value is
 * undefined), appending the URI to out. Returns 0, CMCP_ELIMIT past out's
 * limit, CMCP_ENOMEM, CMCP_EINVAL on NULL arguments. On error out keeps its
 * previous contents. */
int cmcp__uritpl_expand(const cmcp__uritpl_t *t, const char *const *names,
                        const char *const *values, size_t n, cmcp__buf *out);
/* As cmcp__uritpl_expand, with string, list and associative values (the
 * whole of RFC 6570 level 4). */
int cmcp__uritpl_expand_values(const cmcp__uritpl_t *t,
                               const cmcp__uritpl_value *vars, size_t n,
                               cmcp__buf *out);

#endif /* CMCP_PROTO_URITEMPLATE_H */
