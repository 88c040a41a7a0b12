#!/usr/bin/env bash
# Install redis-server from Debian's packages for the counter lab tests.
# The tests start their own redis-server on a free 127.0.0.1 port (no systemd, no
# persistence), so this script only makes sure the binary is there. Idempotent.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
    echo "redis-server present: $(redis-server --version)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends redis-server >/tmp/setup-redis.log 2>&1; then
    apt-get update >>/tmp/setup-redis.log 2>&1
    apt-get install -y --no-install-recommends redis-server >>/tmp/setup-redis.log 2>&1
fi
# Debian's package may start a system instance on 6379 where an init system runs; the
# tests never use it. Stop it when it was started by the package (best effort).
if command -v service >/dev/null 2>&1; then service redis-server stop >/dev/null 2>&1 || true; fi
redis-server --version
