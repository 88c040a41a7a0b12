#!/usr/bin/env bash
# Install and start a Docker engine for the containers lab (CI and dev machines, as root).
# Idempotent: an engine that already answers is left alone. Never blocks the terminal:
# dockerd runs in the background with its log in /tmp/dockerd.log.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

apt_install() {
    if ! apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" >/tmp/setup-docker-apt.log 2>&1; then
        apt-get -o DPkg::Lock::Timeout=600 update >/dev/null 2>&1 || true
        apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" >/tmp/setup-docker-apt.log 2>&1
    fi
}

ping_engine() {
    # The engine's own health endpoint, through the unix socket (no docker CLI needed).
    [ -S /var/run/docker.sock ] && curl -fsS --max-time 3 --unix-socket /var/run/docker.sock \
        http://localhost/_ping 2>/dev/null | grep -q OK
}

if ! command -v dockerd >/dev/null 2>&1 || [ ! -x /bin/busybox ] || ! command -v curl >/dev/null 2>&1; then
    echo "setup-docker: installing docker.io busybox-static"
    apt_install docker.io busybox-static curl ca-certificates
fi
# docker.io ships runc and containerd as dependencies; busybox-static is the lab's image content.
[ -x /bin/busybox ] || { echo "setup-docker: /bin/busybox missing after install" >&2; exit 1; }

if ping_engine; then
    echo "setup-docker: engine already running"
    exit 0
fi

# A stale socket or pid file from a killed dockerd would make a new one refuse to start.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
fi
echo "setup-docker: starting dockerd --bridge=none --iptables=false (log: /tmp/dockerd.log)"
nohup dockerd --bridge=none --iptables=false >/tmp/dockerd.log 2>&1 </dev/null &

for _ in $(seq 1 60); do
    if ping_engine; then
        echo "setup-docker: engine ready"
        exit 0
    fi
    sleep 0.5
done
echo "setup-docker: dockerd did not answer within 30 s; last log lines:" >&2
tail -n 30 /tmp/dockerd.log >&2 || true
exit 1
