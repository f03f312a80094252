/* cmcp/auth.h: OAuth 2.1 for MCP clients over Streamable HTTP.
 *
 * An OAuth object holds what a client needs to obtain and keep access
 * tokens for one MCP server, as the spec's authorization pages require:
 * protected-resource metadata (RFC 9728), authorization-server metadata
 * (RFC 8414 and OpenID Connect discovery) with the issuer check, PKCE S256,
 * state, the resource parameter (RFC 8707), the authorization response's
 * iss parameter (RFC 9207), client identification (pre-registered
 * credentials, then a client ID metadata document, then dynamic client
 * registration, RFC 7591), scope selection and step-up, refresh tokens,
 * and per-authorization-server credentials.
 *
 * Attach it with cmcp_client_set_oauth(); the HTTP transport then asks it
 * for a token on every request, and hands it each 401 or 403 challenge.
 * Tokens only ever travel in "Authorization: Bearer".
 *
 * The user-agent step (the user signs in at the authorization server) is
 * the application's: an authorize callback receives the authorization URL
 * and later hands back the redirect URL that the authorization server sent
 * the browser to (with code, state and maybe iss). Two ready ones:
 * cmcp_oauth_use_headless() (for servers that redirect at once, as test
 * servers do) and cmcp_oauth_use_loopback() (for people: a loopback
 * redirect URI and the URL printed to stderr).
 *
 * Every function runs on the client's loop thread. Strings are copied.
 */
#ifndef CMCP_AUTH_H
#define CMCP_AUTH_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uv_loop_s; /* libuv */

typedef struct cmcp_oauth cmcp_oauth_t;
/* One pending user-agent step. */
typedef struct cmcp_oauth_authz cmcp_oauth_authz_t;

/* Creates an OAuth object with no client identity, no authorize callback
 * and refresh tokens wanted. NULL on ENOMEM. */
CMCP_EXTERN cmcp_oauth_t *cmcp_oauth_new(void);
/* Frees it (after the client that uses it). A step still waiting for the
 * user is abandoned: its cmcp_oauth_authz_done() then only frees it.
 * NULL is ignored. */
CMCP_EXTERN void cmcp_oauth_free(cmcp_oauth_t *o);

/* The user's pointer, untouched by the library. */
CMCP_EXTERN void cmcp_oauth_set_data(cmcp_oauth_t *o, void *data);
CMCP_EXTERN void *cmcp_oauth_data(const cmcp_oauth_t *o);

/* A human-readable reason for the last failure; never NULL. */
CMCP_EXTERN const char *cmcp_oauth_last_error(const cmcp_oauth_t *o);

/* ---- client identity (tried in this order) ----------------------------- */

/* Pre-registered credentials. client_secret NULL makes a public client;
 * issuer (may be NULL: any) binds them to one authorization server, as
 * credentials are never assumed portable between servers. */
CMCP_EXTERN int cmcp_oauth_set_client(cmcp_oauth_t *o, const char *client_id,
                                      const char *client_secret,
                                      const char *issuer);
/* The https URL of this client's metadata document (a client ID metadata
 * document), used as client_id with servers that declare
 * client_id_metadata_document_supported. */
CMCP_EXTERN int cmcp_oauth_set_client_metadata_url(cmcp_oauth_t *o,
                                                   const char *url);
/* client_name for dynamic client registration (default "cmcp"). */
CMCP_EXTERN int cmcp_oauth_set_client_name(cmcp_oauth_t *o, const char *name);

/* ---- the flow ---------------------------------------------------------- */

/* The redirect URI the authorization server sends the browser back to
 * (default http://127.0.0.1/callback; cmcp_oauth_use_loopback sets its
 * own). */
CMCP_EXTERN int cmcp_oauth_set_redirect_uri(cmcp_oauth_t *o, const char *uri);
/* Whether to ask for a refresh token (the offline_access scope, when the
 * authorization server lists it; the refresh_token grant in registration).
 * Default 1. */
CMCP_EXTERN int cmcp_oauth_set_offline(cmcp_oauth_t *o, int want);

/* The user-agent step. authorization_url is to be opened in a browser;
 * when the browser reaches the redirect URI, hand its whole URL to
 * cmcp_oauth_authz_done() (or give up with cmcp_oauth_authz_fail()), at
 * once or later, on the loop's thread. The callback never runs inside the
 * call that armed it. */
typedef void (*cmcp_oauth_authorize_fn)(cmcp_oauth_t *o,
                                        cmcp_oauth_authz_t *authz,
                                        const char *authorization_url,
                                        void *data);
CMCP_EXTERN int cmcp_oauth_on_authorize(cmcp_oauth_t *o,
                                        cmcp_oauth_authorize_fn fn, void *data);
/* The loop and the redirect URI of a pending step. */
CMCP_EXTERN struct uv_loop_s *
cmcp_oauth_authz_loop(const cmcp_oauth_authz_t *authz);
CMCP_EXTERN const char *
cmcp_oauth_authz_redirect_uri(const cmcp_oauth_authz_t *authz);
/* Ends the step with the URL the authorization server redirected to.
 * Frees authz. CMCP_EINVAL for a NULL argument. */
CMCP_EXTERN int cmcp_oauth_authz_done(cmcp_oauth_authz_t *authz,
                                      const char *redirect_url);
/* Ends the step without a redirect (the user gave up). Frees authz. */
CMCP_EXTERN int cmcp_oauth_authz_fail(cmcp_oauth_authz_t *authz,
                                      const char *reason);

/* Ready user agents. Headless: GETs the authorization URL itself and
 * takes the redirect's Location at once (servers that need no user). */
CMCP_EXTERN int cmcp_oauth_use_headless(cmcp_oauth_t *o);
/* For people: the redirect URI becomes http://127.0.0.1:PORT/callback
 * (port 0: a free port picked now), the authorization URL is printed to
 * stderr (and opened with xdg-open when open_browser is set and a desktop
 * session is there), and a small HTTP listener on that port takes the
 * redirect, for up to five minutes. */
CMCP_EXTERN int cmcp_oauth_use_loopback(cmcp_oauth_t *o, int port,
                                        int open_browser);

/* ---- token storage ----------------------------------------------------- */

/* Tokens and registrations live in memory. To keep them across runs, give
 * a pair: load returns the JSON text save last received (or NULL when
 * there is none); the text must stay valid until the next call of either.
 * load runs once, before the first token is needed; save runs after every
 * change, with text valid during the call only. The text holds secrets:
 * store it accordingly. */
typedef const char *(*cmcp_oauth_load_fn)(cmcp_oauth_t *o, void *data);
typedef void (*cmcp_oauth_save_fn)(cmcp_oauth_t *o, const char *state_json,
                                   void *data);
CMCP_EXTERN int cmcp_oauth_set_store(cmcp_oauth_t *o, cmcp_oauth_load_fn load,
                                     cmcp_oauth_save_fn save, void *data);

#ifdef __cplusplus
}
#endif
#endif /* CMCP_AUTH_H */
