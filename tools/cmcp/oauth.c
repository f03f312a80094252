/* tools/cmcp/oauth.c: --oauth, authorization for an HTTP server that asks
 * for it (cmcp/auth.h). The user signs in through a loopback redirect (the
 * authorization URL goes to stderr, and to the browser when there is a
 * desktop), or headless for servers that redirect at once. --oauth-store
 * keeps tokens and registrations in a file (mode 0600) across runs. */
#include "cli.h"

#include "base/base.h"

#include <cmcp/auth.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_MAX_BYTES (1 << 20) /* largest token store read back */

/* Reads the store file: its text, or NULL when there is none yet. The text
 * stays in c until the next load or the end. */
static const char *store_load(cmcp_oauth_t *o, void *data) {
  cli_ctx *c = data;
  cmcp__buf b;
  char chunk[4096];
  FILE *f;
  size_t n;

  (void)o;
  cmcp__free(c->oauth_state);
  c->oauth_state = NULL;
  if ((f = fopen(c->o->oauth_store, "r")) == NULL)
    return NULL;
  cmcp__buf_init(&b, STORE_MAX_BYTES);
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    if (cmcp__buf_add(&b, chunk, n) != 0) {
      fprintf(stderr, "cmcp: ignoring %s: too large\n", c->o->oauth_store);
      cmcp__buf_free(&b);
      fclose(f);
      return NULL;
    }
  fclose(f);
  if (b.len == 0)
    return NULL;
  c->oauth_state = cmcp__buf_take(&b, NULL);
  return c->oauth_state;
}

/* Writes the store atomically: a private temporary file, then rename. */
static void store_save(cmcp_oauth_t *o, const char *state, void *data) {
  cli_ctx *c = data;
  char tmp[4096];
  size_t len = strlen(state);
  int fd, n;

  (void)o;
  n = snprintf(tmp, sizeof(tmp), "%s.tmp", c->o->oauth_store);
  if (n < 0 || (size_t)n >= sizeof(tmp))
    return;
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    goto fail;
  if (write(fd, state, len) != (ssize_t)len || fsync(fd) != 0) {
    close(fd);
    unlink(tmp);
    goto fail;
  }
  close(fd);
  if (rename(tmp, c->o->oauth_store) == 0)
    return;
  unlink(tmp);
fail:
  fprintf(stderr, "cmcp: cannot save tokens to %s: %s\n", c->o->oauth_store,
          strerror(errno));
}

int cli_oauth_setup(cli_ctx *c) {
  const cli_opts *o = c->o;
  int rc;

  if (!o->oauth)
    return 0;
  if (o->url == NULL) {
    fprintf(stderr, "cmcp: --oauth needs --url\n");
    return CLI_EXIT_USAGE;
  }
  if ((c->oauth = cmcp_oauth_new()) == NULL)
    return CLI_EXIT_CONN;
  rc = cmcp_oauth_set_client_name(c->oauth, "cmcp");
  if (rc == 0 && o->client_id != NULL)
    rc = cmcp_oauth_set_client(c->oauth, o->client_id, o->client_secret, NULL);
  if (rc == 0)
    rc = o->oauth_headless
             ? cmcp_oauth_use_headless(c->oauth)
             : cmcp_oauth_use_loopback(c->oauth, o->oauth_port, !o->no_browser);
  if (rc == 0 && o->oauth_store != NULL)
    rc = cmcp_oauth_set_store(c->oauth, store_load, store_save, c);
  if (rc == 0)
    rc = cmcp_client_set_oauth(c->cli, c->oauth);
  if (rc != 0) {
    fprintf(stderr, "cmcp: --oauth: %s\n", cmcp_strerror(rc));
    return CLI_EXIT_USAGE;
  }
  return 0;
}

void cli_oauth_free(cli_ctx *c) {
  cmcp_oauth_free(c->oauth);
  c->oauth = NULL;
  cmcp__free(c->oauth_state);
  c->oauth_state = NULL;
}
