#!/usr/bin/env bash
# Install PostgreSQL's server from Debian's packages for the counter cluster tests.
# The lab runs its own throw-away server (initdb in a temp dir, 127.0.0.1, a free port),
# so no system instance is started or needed. PostgreSQL refuses to run as root: when the
# lab runs as root it runs the server as the unprivileged user created here. Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    # policy-rc.d 101: the package's maintainer scripts start no service (no system cluster runs).
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
    fi
    if ! apt-get install -y --no-install-recommends postgresql >/tmp/setup-postgres.log 2>&1; then
        apt-get update >>/tmp/setup-postgres.log 2>&1
        apt-get install -y --no-install-recommends postgresql >>/tmp/setup-postgres.log 2>&1
    fi
    [ "$created_policy" = 1 ] && rm -f "$policy"
    # Where an init system started the package's own cluster anyway, stop it (the tests never use it).
    if command -v service >/dev/null 2>&1; then service postgresql stop >/dev/null 2>&1 || true; fi
fi
if [ "$(id -u)" = 0 ] && ! id learnbackend-pg >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin learnbackend-pg
fi
ls -d /usr/lib/postgresql/*/bin/initdb
