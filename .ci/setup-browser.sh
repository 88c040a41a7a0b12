#!/usr/bin/env bash
# Install Debian's chromium for the class-report tests: they open the HTML report in a real
# headless browser (no sandbox, no network, a throwaway profile) and read its DOM. Idempotent.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    echo "chromium present: $(chromium --version 2>/dev/null || true)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >/tmp/setup-browser.log 2>&1; then
    apt-get update >>/tmp/setup-browser.log 2>&1
    apt-get install -y --no-install-recommends chromium >>/tmp/setup-browser.log 2>&1
fi
chromium --version
