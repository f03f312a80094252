#!/usr/bin/env bash
# The official conformance suite 0.2.0-alpha.12 with --requirements
# 2026-07-28: exactly the server scenarios that revision requires, on its
# stateless wire (_meta protocolVersion, server/discover, Mcp-Method and
# Mcp-Param headers, InputRequiredResult), against cmcp-everything over
# Streamable HTTP. Every scenario must pass; there is no baseline.
. "$(dirname "$0")/lib.sh"

conf_setup server_2026_07_28
conf_start_server
conf_suite conformance-next suite.log --requirements 2026-07-28
rc=$?
conf_count "$rc" --logs "$CONF_TMP/suite.log"
