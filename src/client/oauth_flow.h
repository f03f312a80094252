/* src/client/oauth_flow.h: the OAuth object and one authorization flow,
 * shared by oauth.c (the flow), oauth_store.c (saving and loading) and
 * oauth_agent.c (the user agents). Internal. */
#ifndef CMCP_OAUTH_FLOW_H
#define CMCP_OAUTH_FLOW_H

#include "client/client_int.h"
#include "oauth_int.h"

#define CMCP__OAUTH_MAX_SERVERS 8  /* authorization servers remembered */
#define CMCP__OAUTH_MAX_WAITERS 64 /* requests waiting for one flow */
#define CMCP__OAUTH_FETCH_MS 30000 /* one metadata/token exchange */
#define CMCP__OAUTH_WINDOW_MS 60000
#define CMCP__OAUTH_PER_WINDOW 3 /* authorizations per window at most */

/* What the client holds for one authorization server: credentials are
 * never assumed portable between servers, so each has its own. */
typedef struct cmcp__oauth_as {
  char *issuer;
  char *client_id;
  char *client_secret; /* NULL: a public client */
  char *auth_method;   /* from registration; NULL: chosen from metadata */
  char *access_token;
  char *refresh_token;
  char *scope;        /* the scope last requested */
  char *resource;     /* the resource the token is for */
  int64_t expires_at; /* wall-clock ms; 0 when unknown */
} cmcp__oauth_as;

typedef struct cmcp__oauth_waiter {
  cmcp__oauth_done done;
  void *data;
} cmcp__oauth_waiter;

typedef struct cmcp__oauth_flow cmcp__oauth_flow;

struct cmcp_oauth_authz {
  cmcp__oauth_flow *flow; /* NULL once the flow is gone */
  uv_loop_t *loop;
  char *redirect_uri;
  /* Set by a built-in user agent: told when the flow is gone, so that it
   * stops waiting (it still ends the step, which then only frees it). */
  void (*on_abandon)(cmcp_oauth_authz_t *a);
  void *agent;
};

struct cmcp_oauth {
  void *data;
  char *pre_id, *pre_secret, *pre_issuer; /* pre-registered client */
  char *cimd_url;
  char *client_name;
  char *redirect_uri;
  int offline;
  int open_browser;
  cmcp_oauth_authorize_fn authorize;
  void *authorize_data;
  cmcp_oauth_load_fn load;
  cmcp_oauth_save_fn save;
  void *store_data;
  int loaded;
  cmcp__oauth_as *servers[CMCP__OAUTH_MAX_SERVERS];
  size_t nservers;
  cmcp__oauth_as *current; /* whose token is in use */
  uint64_t authz_times[CMCP__OAUTH_PER_WINDOW];
  cmcp__oauth_flow *flow; /* the flow in progress, or NULL */
  char last_error[256];
};

/* The server entry for issuer, made when missing (the oldest one without
 * the current token is dropped past CMCP__OAUTH_MAX_SERVERS). NULL on
 * ENOMEM. */
cmcp__oauth_as *cmcp__oauth_as_get(cmcp_oauth_t *o, const char *issuer);
void cmcp__oauth_as_free(cmcp__oauth_as *as);

/* Runs the load callback once (before the first token is needed). */
void cmcp__oauth_load(cmcp_oauth_t *o);
/* Hands the state to the save callback, when there is one. */
void cmcp__oauth_save(cmcp_oauth_t *o);

#endif /* CMCP_OAUTH_FLOW_H */
