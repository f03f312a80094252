#!/usr/bin/env bash
# The official conformance suite 0.2.0-alpha.12 with --requirements
# 2026-07-28 against cmcp-conformance-client: exactly the client scenarios that
# revision requires, each against the suite's own scenario server (and
# authorization servers for auth/), on the 2026-07-28 wire. Every scenario must
# pass; there is no baseline.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client_lib.sh"

conf_setup client_2026_07_28
conf_client_run 2026-07-28
