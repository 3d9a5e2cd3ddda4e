#!/usr/bin/env bash
# Installs Debian's redis-server when absent: the fleet tests (server/tests/fleet.rs) start a
# real one of their own on a free loopback port. Needs root for apt-get, as the browser steps do.
set -euo pipefail
if command -v redis-server >/dev/null; then
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
# The package starts a system service on port 6379; the tests never use it.
command -v redis-server >/dev/null
