/* cmcpd.h: what cmcpd's files share. */
#ifndef CMCPD_H
#define CMCPD_H

#include <cmcp.h>
#include <stddef.h>

/* The largest bench://blob/{bytes} resource. */
#define CMCPD_BLOB_MAX 65536

/* Registers the resources bench://128 ... bench://4096, the template
 * bench://blob/{bytes} and the prompt "echo" (content.c). Returns 0 or a
 * negative cmcp status. */
int cmcpd_register_content(cmcp_server_t *srv);

/* Frees what cmcpd_register_content() made, once the server is freed. */
void cmcpd_free_content(void);

#endif
