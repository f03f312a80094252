#!/usr/bin/env bash
# The official conformance suite 0.1.16 (latest stable), its active suite of
# server scenarios (the 2025-11-25 era), against cmcp-everything over
# Streamable HTTP. Every scenario must pass; there is no baseline.
. "$(dirname "$0")/lib.sh"

conf_setup server_stable
conf_start_server
conf_suite conformance-stable suite.log
rc=$?
conf_count "$rc" --logs "$CONF_TMP/suite.log"
