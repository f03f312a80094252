/* cmcp.h: the Model Context Protocol in C. One include for the whole API. */
#ifndef CMCP_H
#define CMCP_H

#include "cmcp/common.h"
#include "cmcp/server.h"
#include "cmcp/client.h"
#include "cmcp/auth.h"

#endif /* CMCP_H */
