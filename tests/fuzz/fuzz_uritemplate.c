/* libFuzzer target for RFC 6570 templates (src/proto/uritemplate.c).
 * Input: a template, a '\n', then a URI to match against it. A compiled
 * template must expand without error; a successful match must list only the
 * template's variables, each with a value, and freeing must be clean. */
#include "proto/uritemplate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks the invariants of a successful match m of t. */
static void check_match(const cmcp__uritpl_t *t, const cmcp__uritpl_match *m) {
  size_t i, j;
  if (m->count > cmcp__uritpl_var_count(t))
    abort();
  for (i = 0; i < m->count; i++) {
    for (j = 0; j < cmcp__uritpl_var_count(t); j++)
      if (strcmp(cmcp__uritpl_var_name(t, j), m->names[i]) == 0)
        break;
    if (j == cmcp__uritpl_var_count(t) || m->values[i] == NULL ||
        cmcp__uritpl_match_get(m, m->names[i]) != m->values[i])
      abort();
  }
}

/* Expands t giving every variable the value v; must succeed. */
static void check_expand(const cmcp__uritpl_t *t, const char *v) {
  const char *names[CMCP__URITPL_MAX_VARS], *values[CMCP__URITPL_MAX_VARS];
  size_t i, n = cmcp__uritpl_var_count(t);
  cmcp__buf out;
  for (i = 0; i < n; i++) {
    names[i] = cmcp__uritpl_var_name(t, i);
    values[i] = v;
  }
  cmcp__buf_init(&out, 1 << 20);
  if (cmcp__uritpl_expand(t, names, values, n, &out) != 0)
    abort();
  cmcp__buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nl = memchr(data, '\n', size);
  size_t tlen = nl ? (size_t)(nl - data) : size;
  char *tpl, *uri;
  char err[128];
  cmcp__uritpl_t *t;
  cmcp__uritpl_match m;
  tpl = cmcp__strndup((const char *)data, tlen);
  uri = cmcp__strndup(nl ? (const char *)nl + 1 : "", nl ? size - tlen - 1 : 0);
  if (tpl == NULL || uri == NULL)
    goto out;
  t = cmcp__uritpl_compile(tpl, err, sizeof(err));
  if (t == NULL) {
    if (err[0] == '\0')
      abort();
    goto out;
  }
  check_expand(t, "a b/c%");
  check_expand(t, uri);
  if (cmcp__uritpl_match_uri(t, uri, &m) == 0)
    check_match(t, &m);
  cmcp__uritpl_match_free(&m);
  cmcp__uritpl_free(t);
out:
  cmcp__free(tpl);
  cmcp__free(uri);
  return 0;
}
