#!/usr/bin/env bash
# The official conformance suite 0.2.0-alpha.12 with --requirements
# 2025-11-25: exactly the server scenarios that revision requires, on its
# wire (initialize handshake, Mcp-Session-Id), against cmcp-everything over
# Streamable HTTP. Every scenario must pass; there is no baseline.
. "$(dirname "$0")/lib.sh"

conf_setup server_2025_11_25
conf_start_server
conf_suite conformance-next suite.log --requirements 2025-11-25
rc=$?
conf_count "$rc" --logs "$CONF_TMP/suite.log"
