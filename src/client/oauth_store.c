/* src/client/oauth_store.c: the OAuth object's per-server entries, and
 * their JSON form for the save/load callbacks:
 *   {"current":"ISSUER","servers":[{"issuer":..., "client_id":...,
 *    "client_secret":..., "token_endpoint_auth_method":...,
 *    "access_token":..., "refresh_token":..., "scope":..., "resource":...,
 *    "expires_at":MS}]}
 */
#include "oauth_flow.h"

#include "json/json.h"

#include <string.h>

void cmcp__oauth_as_free(cmcp__oauth_as *as) {
  if (as == NULL)
    return;
  cmcp__free(as->issuer);
  cmcp__free(as->client_id);
  cmcp__free(as->client_secret);
  cmcp__free(as->auth_method);
  cmcp__free(as->access_token);
  cmcp__free(as->refresh_token);
  cmcp__free(as->scope);
  cmcp__free(as->resource);
  cmcp__free(as);
}

/* Drops the oldest entry that is not the current one. */
static void drop_oldest(cmcp_oauth_t *o) {
  size_t i = o->servers[0] == o->current ? 1 : 0;
  cmcp__oauth_as_free(o->servers[i]);
  memmove(&o->servers[i], &o->servers[i + 1],
          (o->nservers - i - 1) * sizeof(o->servers[0]));
  o->nservers--;
}

cmcp__oauth_as *cmcp__oauth_as_get(cmcp_oauth_t *o, const char *issuer) {
  cmcp__oauth_as *as;
  size_t i;
  for (i = 0; i < o->nservers; i++)
    if (strcmp(o->servers[i]->issuer, issuer) == 0)
      return o->servers[i];
  as = cmcp__calloc(1, sizeof(*as));
  if (as == NULL || (as->issuer = cmcp__strdup(issuer)) == NULL) {
    cmcp__free(as);
    return NULL;
  }
  if (o->nservers == CMCP__OAUTH_MAX_SERVERS)
    drop_oldest(o);
  o->servers[o->nservers++] = as;
  return as;
}

/* Adds key: s to obj when s is not NULL. */
static int put_str(json_object *obj, const char *key, const char *s) {
  json_object *v;
  if (s == NULL)
    return 0;
  v = json_object_new_string(s);
  if (v == NULL)
    return CMCP_ENOMEM;
  if (json_object_object_add(obj, key, v) != 0) {
    json_object_put(v);
    return CMCP_ENOMEM;
  }
  return 0;
}

static json_object *as_to_json(const cmcp__oauth_as *as) {
  json_object *e = json_object_new_object();
  int rc = e != NULL ? 0 : CMCP_ENOMEM;
  if (rc == 0)
    rc = put_str(e, "issuer", as->issuer);
  if (rc == 0)
    rc = put_str(e, "client_id", as->client_id);
  if (rc == 0)
    rc = put_str(e, "client_secret", as->client_secret);
  if (rc == 0)
    rc = put_str(e, "token_endpoint_auth_method", as->auth_method);
  if (rc == 0)
    rc = put_str(e, "access_token", as->access_token);
  if (rc == 0)
    rc = put_str(e, "refresh_token", as->refresh_token);
  if (rc == 0)
    rc = put_str(e, "scope", as->scope);
  if (rc == 0)
    rc = put_str(e, "resource", as->resource);
  if (rc == 0 && as->expires_at > 0) {
    json_object *v = json_object_new_int64(as->expires_at);
    rc = v != NULL && json_object_object_add(e, "expires_at", v) == 0
             ? 0
             : CMCP_ENOMEM;
    if (rc != 0)
      json_object_put(v);
  }
  if (rc != 0) {
    json_object_put(e);
    return NULL;
  }
  return e;
}

/* The state as JSON; NULL on ENOMEM. */
static json_object *state_to_json(const cmcp_oauth_t *o) {
  json_object *root = json_object_new_object();
  json_object *arr = json_object_new_array();
  size_t i;
  if (root == NULL || arr == NULL ||
      json_object_object_add(root, "servers", arr) != 0)
    goto fail;
  for (i = 0; i < o->nservers; i++) {
    json_object *e = as_to_json(o->servers[i]);
    if (e == NULL || json_object_array_add(arr, e) != 0) {
      json_object_put(e);
      json_object_put(root);
      return NULL;
    }
  }
  if (o->current != NULL && put_str(root, "current", o->current->issuer) != 0) {
    json_object_put(root);
    return NULL;
  }
  return root;
fail:
  json_object_put(arr);
  json_object_put(root);
  return NULL;
}

void cmcp__oauth_save(cmcp_oauth_t *o) {
  json_object *root;
  const char *text;
  if (o->save == NULL)
    return;
  root = state_to_json(o);
  text = root != NULL ? cmcp__json_text(root, NULL) : NULL;
  if (text != NULL)
    o->save(o, text, o->store_data);
  else
    cmcp__log(CMCP_LOG_WARNING, "oauth: out of memory saving tokens");
  json_object_put(root);
}

/* Copies the string member key of e into *slot (kept when absent). */
static int take_str(json_object *e, const char *key, char **slot) {
  const char *s = cmcp__json_get_string(e, key);
  char *copy;
  if (s == NULL)
    return 0;
  copy = cmcp__strdup(s);
  if (copy == NULL)
    return CMCP_ENOMEM;
  cmcp__free(*slot);
  *slot = copy;
  return 0;
}

static int load_entry(cmcp_oauth_t *o, json_object *e) {
  const char *issuer = cmcp__json_get_string(e, "issuer");
  cmcp__oauth_as *as;
  json_object *exp;
  int rc = 0;
  if (issuer == NULL)
    return 0;
  as = cmcp__oauth_as_get(o, issuer);
  if (as == NULL)
    return CMCP_ENOMEM;
  rc |= take_str(e, "client_id", &as->client_id);
  rc |= take_str(e, "client_secret", &as->client_secret);
  rc |= take_str(e, "token_endpoint_auth_method", &as->auth_method);
  rc |= take_str(e, "access_token", &as->access_token);
  rc |= take_str(e, "refresh_token", &as->refresh_token);
  rc |= take_str(e, "scope", &as->scope);
  rc |= take_str(e, "resource", &as->resource);
  if (json_object_object_get_ex(e, "expires_at", &exp) &&
      json_object_is_type(exp, json_type_int))
    as->expires_at = json_object_get_int64(exp);
  return rc != 0 ? CMCP_ENOMEM : 0;
}

void cmcp__oauth_load(cmcp_oauth_t *o) {
  json_object *root = NULL, *arr;
  const char *text, *cur;
  size_t i, n;
  if (o->loaded || o->load == NULL)
    return;
  o->loaded = 1;
  text = o->load(o, o->store_data);
  if (text == NULL)
    return;
  if (cmcp__json_parse_object(text, &root) != 0) {
    cmcp__log(CMCP_LOG_WARNING, "oauth: the saved tokens are not JSON");
    return;
  }
  if (json_object_object_get_ex(root, "servers", &arr) &&
      json_object_is_type(arr, json_type_array)) {
    n = json_object_array_length(arr);
    for (i = 0; i < n && i < CMCP__OAUTH_MAX_SERVERS; i++)
      if (load_entry(o, json_object_array_get_idx(arr, i)) != 0)
        break;
  }
  cur = cmcp__json_get_string(root, "current");
  for (i = 0; cur != NULL && i < o->nservers; i++)
    if (strcmp(o->servers[i]->issuer, cur) == 0)
      o->current = o->servers[i];
  json_object_put(root);
}
