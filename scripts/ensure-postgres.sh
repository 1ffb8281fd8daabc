#!/bin/sh
# The state contract tests run against a real PostgreSQL as well as SQLite, and never skip: install
# Debian's postgresql package when its binaries are missing (the tests start their own cluster).
set -e
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
exec sh "$(dirname "$0")/ensure-tool.sh" pg_lsclusters postgresql
