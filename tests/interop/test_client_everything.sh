#!/usr/bin/env bash
# The cmcp command-line client against the official reference server
# (@modelcontextprotocol/server-everything, pinned in package.json) over
# stdio and Streamable HTTP. The checks are in client_everything.py.
set -euo pipefail
cd "$(dirname "$0")"
exec python3 client_everything.py
