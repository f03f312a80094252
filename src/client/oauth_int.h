/* src/client/oauth_int.h: the pieces of the OAuth client that the flow
 * (oauth.c), metadata discovery (oauth_meta.c), PKCE and URL building
 * (oauth_pkce.c) and the user agents (oauth_agent.c) share. Internal.
 *
 * Strings returned are allocated with cmcp__malloc (free with cmcp__free)
 * unless said otherwise. Every parser here takes untrusted text: bounded,
 * no recursion, never reads past the length given.
 */
#ifndef CMCP_OAUTH_INT_H
#define CMCP_OAUTH_INT_H

#include "base/base.h"
#include "cmcp/auth.h"
#include <stddef.h>
#include <stdint.h>

/* Longest header, URL, metadata document and scope string accepted. */
#define CMCP__OAUTH_MAX_HEADER 8192
#define CMCP__OAUTH_MAX_URL 8192
#define CMCP__OAUTH_MAX_DOC (256 * 1024)
#define CMCP__OAUTH_MAX_SCOPE 4096

/* ---- WWW-Authenticate (RFC 9110 s11.6.1, RFC 6750 s3, RFC 9728 s5.1) --- */

/* The parameters of the Bearer challenge that matter to a client; each
 * NULL when absent. */
typedef struct cmcp__www_auth {
  char *resource_metadata;
  char *scope;
  char *error;
} cmcp__www_auth;

/* Finds the Bearer challenge in a WWW-Authenticate value (which may list
 * several challenges) and copies its parameters. 0 (out filled; a header
 * without a Bearer challenge leaves everything NULL), CMCP_EPARSE for a
 * malformed value, CMCP_ELIMIT for one longer than CMCP__OAUTH_MAX_HEADER,
 * CMCP_ENOMEM. On failure out is left cleared. */
int cmcp__www_auth_parse(const char *header, cmcp__www_auth *out);
void cmcp__www_auth_clear(cmcp__www_auth *w);

/* ---- URLs -------------------------------------------------------------- */

/* An absolute http(s) URL, split (views into the original text). */
typedef struct cmcp__url {
  const char *scheme;
  size_t scheme_len;
  const char *host; /* host[:port] as written */
  size_t host_len;
  const char *path; /* from the first '/' up to '?' or '#'; may be empty */
  size_t path_len;
  const char *query; /* after '?', up to '#'; NULL when absent */
  size_t query_len;
} cmcp__url;

/* Splits url. 0, or CMCP_EPARSE when it is not an absolute http or https
 * URL with a host (userinfo is refused too). */
int cmcp__url_split(const char *url, cmcp__url *out);

/* The well-known protected-resource metadata URLs for server_url, in the
 * order a client tries them: the path-suffixed one (when the URL has a
 * path) then the root one. *n gets 1 or 2. */
int cmcp__oauth_prm_urls(const char *server_url, char *out[2], int *n);
/* The authorization-server metadata URLs for issuer, in the spec's order:
 * with a path, RFC 8414 path insertion, OIDC path insertion, OIDC path
 * appending; without, RFC 8414 then OIDC. *n gets 2 or 3. */
int cmcp__oauth_as_urls(const char *issuer, char *out[3], int *n);
/* 1 if the resource identifier from protected-resource metadata covers
 * server_url: same scheme, host and port (scheme and host compared without
 * case) and a path that is server_url's path or a prefix of it ending at
 * a '/' boundary. 0 otherwise (and for anything that is not a URL). */
int cmcp__oauth_resource_matches(const char *resource, const char *server_url);

/* ---- metadata documents ------------------------------------------------ */

/* Protected-resource metadata (RFC 9728 s2). */
typedef struct cmcp__prm {
  char *resource;
  char *auth_server;      /* the first of authorization_servers */
  char *scopes_supported; /* space-separated, or NULL when absent */
} cmcp__prm;

/* Parses a PRM document. 0, CMCP_EPARSE (not JSON, not an object, no
 * resource or no authorization_servers, wrong types), CMCP_ELIMIT,
 * CMCP_ENOMEM. err gets a one-line reason. */
int cmcp__prm_parse(const char *text, size_t len, cmcp__prm *out, char *err,
                    size_t errlen);
void cmcp__prm_clear(cmcp__prm *p);

/* token_endpoint_auth_methods_supported, as bits. */
enum {
  CMCP__AUTH_NONE = 1u << 0,
  CMCP__AUTH_BASIC = 1u << 1,
  CMCP__AUTH_POST = 1u << 2
};

/* Authorization-server metadata (RFC 8414 s2). */
typedef struct cmcp__asmeta {
  char *issuer;
  char *authorization_endpoint;
  char *token_endpoint;
  char *registration_endpoint; /* NULL when absent */
  char *scopes_supported;      /* space-separated, or NULL when absent */
  unsigned auth_methods;       /* CMCP__AUTH_* bits; 0: the list is absent */
  int s256;                    /* code_challenge_methods_supported has S256 */
  int cimd;                    /* client_id_metadata_document_supported */
  int iss_supported; /* authorization_response_iss_parameter_supported */
} cmcp__asmeta;

/* Parses an AS metadata document fetched from a URL built from
 * expected_issuer. CMCP_EPROTO when its issuer is not identical to
 * expected_issuer ("If they differ, the client MUST NOT use the
 * metadata"); else as cmcp__prm_parse (authorization_endpoint and
 * token_endpoint are required). */
int cmcp__asmeta_parse(const char *text, size_t len,
                       const char *expected_issuer, cmcp__asmeta *out,
                       char *err, size_t errlen);
void cmcp__asmeta_clear(cmcp__asmeta *m);

/* ---- scopes (space-separated sets, RFC 6749 s3.3) ---------------------- */

/* 1 if scope (one token) is in set (NULL: empty). */
int cmcp__scope_has(const char *set, const char *scope);
/* 1 if every scope of a is in b. */
int cmcp__scope_subset(const char *a, const char *b);
/* a then the scopes of b not in a; NULL (*out) when both are empty.
 * 0, CMCP_ELIMIT past CMCP__OAUTH_MAX_SCOPE, CMCP_ENOMEM. */
int cmcp__scope_union(const char *a, const char *b, char **out);

/* The scope to request, as the spec's scope selection strategy says: on a
 * 403 insufficient_scope step-up, the union of what was requested before
 * and what the challenge names; otherwise the challenge's scope, else the
 * resource's scopes_supported, else none (*out NULL: omit the parameter).
 * offline_access is added when want_offline, the authorization server
 * lists it in as_scopes, and some scope is requested. */
int cmcp__oauth_select_scope(const char *challenge_scope,
                             const char *prm_scopes, const char *as_scopes,
                             const char *previous, int step_up,
                             int want_offline, char **out);

/* ---- PKCE, state, forms and queries ------------------------------------ */

/* nbytes of fresh randomness as base64url text (PKCE verifier: 32 bytes
 * give 43 characters; state). NULL on ENOMEM or a failed generator. */
char *cmcp__oauth_random_b64url(size_t nbytes);
/* The S256 code challenge of verifier: BASE64URL(SHA256(verifier)). */
char *cmcp__oauth_pkce_s256(const char *verifier);

/* Appends "name=value" (after '&' unless b is empty, or after sep when
 * sep is not 0) with value percent-encoded (RFC 3986 unreserved kept). */
int cmcp__form_add(cmcp__buf *b, char sep, const char *name,
                   const char *value);
/* Percent-decodes s[0..len) ('+' is a space, as in form encoding). NULL
 * for a bad escape, a NUL byte, or ENOMEM. */
char *cmcp__pct_decode(const char *s, size_t len);

/* The decoded value of parameter name in the query of url (the part after
 * '?', before '#'). 0 with *out set; CMCP_ENOENT when absent (*out NULL);
 * CMCP_EPARSE when it appears twice or does not decode; CMCP_ENOMEM. */
int cmcp__query_get(const char *url, const char *name, char **out);

/* The authorization request URL: endpoint plus response_type=code,
 * client_id, redirect_uri, code_challenge (S256), state, resource and
 * scope (when not NULL). NULL on ENOMEM or when too long. */
char *cmcp__oauth_authorize_url(const char *endpoint, const char *client_id,
                                const char *redirect_uri,
                                const char *challenge, const char *state,
                                const char *resource, const char *scope);

/* Checks an authorization response (the redirect URL) against what was
 * sent: error parameter, state, iss (RFC 9207: compared to issuer as plain
 * strings when present; required when iss_supported), code. 0 with *code
 * set, or CMCP_EPROTO/CMCP_EPARSE/CMCP_ENOMEM with a reason in err. */
int cmcp__oauth_check_redirect(const char *redirect_url, const char *state,
                               const char *issuer, int iss_supported,
                               char **code, char *err, size_t errlen);

/* ---- the flow's internals (oauth.c, oauth_agent.c) --------------------- */

/* The built-in user agents, as authorize callbacks. */
void cmcp__oauth_headless_authorize(cmcp_oauth_t *o, cmcp_oauth_authz_t *a,
                                    const char *url, void *data);
void cmcp__oauth_loopback_authorize(cmcp_oauth_t *o, cmcp_oauth_authz_t *a,
                                    const char *url, void *data);
/* Picks a free loopback port now (for the redirect URI). 0 on failure. */
int cmcp__oauth_free_port(void);
/* Whether loopback mode should try xdg-open (set by use_loopback). */
int cmcp__oauth_open_browser(const cmcp_oauth_t *o);

#endif /* CMCP_OAUTH_INT_H */
