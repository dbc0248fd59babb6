#!/usr/bin/env bash
# Idempotent: make sure Debian's chromium is at /usr/bin/chromium for the web front end's Playwright tests
# (Playwright's own browser download is not used). Installs only when missing; must run as root then.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "ensure-chromium: installing chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
