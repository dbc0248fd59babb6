#!/usr/bin/env bash
# Node.js 20+ and npm, which the .NET build needs for the web UI (DayTrading.Host/Web/client, built by Vite):
# installed from the Debian packages when missing (or too old).
set -euo pipefail
major=$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || true)
if [ -n "$major" ] && [ "$major" -ge 20 ] && command -v npm >/dev/null; then exit 0; fi
echo "ensure-node: installing nodejs and npm (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq nodejs npm >/dev/null
node --version
