/* src/proto/registry.c: the feature registry.
 *
 * Every tool, resource, template and prompt lives in an immutable snapshot.
 * Adding or removing a feature builds a new snapshot (the features
 * themselves are shared, reference counted) and publishes it with one
 * atomic pointer swap, so a request never takes a lock to find its
 * feature. A request keeps the snapshot it started with until it is
 * answered, so a feature removed meanwhile stays alive for it.
 */
#include "engine.h"

#include <sched.h>
#include <string.h>

/* FNV-1a over a NUL-terminated key. */
static uint32_t key_hash(const char *s) {
  uint32_t h = 2166136261u;
  while (*s != '\0') {
    h ^= (unsigned char)*s++;
    h *= 16777619u;
  }
  return h;
}

static void feature_free(cmcp__feature *f) {
  cmcp__schema_free(f->input);
  cmcp__schema_free(f->output);
  cmcp__uritpl_free(f->tpl);
  if (f->def != NULL)
    json_object_put(f->def);
  cmcp__free(f->key);
  cmcp__free(f);
}

void cmcp__feature_unref(cmcp__feature *f) {
  if (f != NULL && atomic_fetch_sub(&f->refs, 1) == 1)
    feature_free(f);
}

/* Compiles the schema at def[field] into *out. A missing field is fine
 * (NULL) unless required; an invalid one is CMCP_EINVAL. */
static int compile_field(json_object *def, const char *field, int required,
                         cmcp__schema_t **out, char *err, size_t errlen) {
  json_object *s = NULL;
  if (!json_object_object_get_ex(def, field, &s)) {
    if (required) {
      snprintf(err, errlen, "missing %s", field);
      return CMCP_EINVAL;
    }
    return 0;
  }
  if (!json_object_is_type(s, json_type_object)) {
    snprintf(err, errlen, "%s must be an object", field);
    return CMCP_EINVAL;
  }
  *out = cmcp__schema_compile(s, err, errlen);
  if (*out == NULL)
    return strcmp(err, "out of memory") == 0 ? CMCP_ENOMEM : CMCP_EINVAL;
  return 0;
}

/* The key field of each kind and whether the kind needs one. */
static const char *const key_field[CMCP__KIND_COUNT] = {"name", "uri",
                                                        "uriTemplate", "name"};

/* Compiles what a feature of its kind needs from its definition. */
static int feature_compile(cmcp__feature *f, char *err, size_t errlen) {
  int rc = 0;
  if (f->kind == CMCP__TOOL) {
    rc = compile_field(f->def, "inputSchema", 1, &f->input, err, errlen);
    if (rc == 0)
      rc = compile_field(f->def, "outputSchema", 0, &f->output, err, errlen);
  } else if (f->kind == CMCP__TEMPLATE) {
    f->tpl = cmcp__uritpl_compile(f->key, err, errlen);
    if (f->tpl == NULL)
      rc = strcmp(err, "out of memory") == 0 ? CMCP_ENOMEM : CMCP_EINVAL;
  }
  return rc;
}

cmcp__feature *cmcp__feature_new(cmcp__kind kind, json_object *def,
                                 unsigned flags, cmcp_handler_fn fn, void *data,
                                 int *status) {
  char err[256] = "";
  const char *key = cmcp__json_get_string(def, key_field[kind]);
  cmcp__feature *f;
  *status = CMCP_EINVAL;
  if (key == NULL || *key == '\0' || fn == NULL)
    return NULL;
  *status = CMCP_ENOMEM;
  f = cmcp__calloc(1, sizeof(*f));
  if (f == NULL)
    return NULL;
  atomic_init(&f->refs, 1);
  f->kind = kind;
  f->flags = flags;
  f->fn = fn;
  f->data = data;
  f->def = json_object_get(def);
  f->key = cmcp__strdup(key);
  if (f->key == NULL)
    goto fail;
  *status = feature_compile(f, err, sizeof(err));
  if (*status != 0) {
    if (*status == CMCP_EINVAL)
      cmcp__log(CMCP_LOG_WARNING, "feature %s rejected: %s", key, err);
    goto fail;
  }
  return f;
fail:
  feature_free(f);
  return NULL;
}

/* ---- snapshots ----------------------------------------------------------- */

cmcp__registry *cmcp__registry_empty(void) {
  cmcp__registry *r = cmcp__calloc(1, sizeof(*r));
  if (r != NULL)
    atomic_init(&r->refs, 1);
  return r;
}

void cmcp__registry_unref(cmcp__registry *reg) {
  int k;
  size_t i;
  if (reg == NULL || atomic_fetch_sub(&reg->refs, 1) != 1)
    return;
  for (k = 0; k < CMCP__KIND_COUNT; k++) {
    for (i = 0; i < reg->count[k]; i++)
      cmcp__feature_unref(reg->items[k][i]);
    cmcp__free(reg->items[k]);
    cmcp__free(reg->index[k]);
  }
  cmcp__free(reg);
}

/* Builds the hash index of one kind (load factor <= 1/2). */
static int index_build(cmcp__registry *r, int k) {
  size_t size = 8, i;
  while (size < r->count[k] * 2)
    size *= 2;
  r->index[k] = cmcp__calloc(size, sizeof(uint32_t));
  if (r->index[k] == NULL)
    return CMCP_ENOMEM;
  r->mask[k] = size - 1;
  for (i = 0; i < r->count[k]; i++) {
    size_t slot = key_hash(r->items[k][i]->key) & r->mask[k];
    while (r->index[k][slot] != 0)
      slot = (slot + 1) & r->mask[k];
    r->index[k][slot] = (uint32_t)(i + 1);
  }
  return 0;
}

/* Copies kind k of src into r, skipping remove_key and appending add. */
static int kind_copy(cmcp__registry *r, const cmcp__registry *src, int k,
                     cmcp__feature *add, const char *remove_key) {
  size_t i, n = src->count[k] + (add != NULL);
  if (n == 0)
    return 0;
  r->items[k] = cmcp__malloc(n * sizeof(cmcp__feature *));
  if (r->items[k] == NULL)
    return CMCP_ENOMEM;
  for (i = 0; i < src->count[k]; i++) {
    cmcp__feature *f = src->items[k][i];
    if (remove_key != NULL && strcmp(f->key, remove_key) == 0)
      continue;
    atomic_fetch_add(&f->refs, 1);
    r->items[k][r->count[k]++] = f;
  }
  if (add != NULL) {
    atomic_fetch_add(&add->refs, 1);
    r->items[k][r->count[k]++] = add;
  }
  return index_build(r, k);
}

cmcp__registry *cmcp__registry_derive(const cmcp__registry *reg,
                                      cmcp__feature *add, cmcp__kind kind,
                                      const char *remove_key) {
  cmcp__registry *r = cmcp__registry_empty();
  int k;
  if (r == NULL)
    return NULL;
  for (k = 0; k < CMCP__KIND_COUNT; k++) {
    int mine = (int)kind == k;
    if (kind_copy(r, reg, k, mine ? add : NULL, mine ? remove_key : NULL) != 0)
      goto fail;
  }
  return r;
fail:
  cmcp__registry_unref(r);
  return NULL;
}

cmcp__feature *cmcp__registry_find(const cmcp__registry *reg, cmcp__kind kind,
                                   const char *key) {
  size_t slot;
  if (reg->count[kind] == 0 || key == NULL)
    return NULL;
  slot = key_hash(key) & reg->mask[kind];
  while (reg->index[kind][slot] != 0) {
    cmcp__feature *f = reg->items[kind][reg->index[kind][slot] - 1];
    if (strcmp(f->key, key) == 0)
      return f;
    slot = (slot + 1) & reg->mask[kind];
  }
  return NULL;
}

/* Readers announce themselves in srv->acquiring around the load and the
 * increment, so a writer that swapped the pointer knows when every reader
 * that could still hold the old pointer has counted its reference. */
cmcp__registry *cmcp__registry_acquire(cmcp_server_t *srv) {
  cmcp__registry *r;
  atomic_fetch_add(&srv->acquiring, 1);
  r = atomic_load(&srv->reg);
  atomic_fetch_add(&r->refs, 1);
  atomic_fetch_sub(&srv->acquiring, 1);
  return r;
}

void cmcp__registry_publish(cmcp_server_t *srv, cmcp__registry *next) {
  cmcp__registry *old = atomic_exchange(&srv->reg, next);
  /* The window is a load and an increment: a few nanoseconds. */
  while (atomic_load(&srv->acquiring) != 0)
    sched_yield();
  cmcp__registry_unref(old);
}
