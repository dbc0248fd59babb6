#!/usr/bin/env bash
# Idempotent: make sure promtool (Debian package `prometheus`) is installed; the metrics test validates the node's
# /metrics exposition with `promtool check metrics`. Must run as root to install.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  echo "ensure-promtool: $(promtool --version 2>&1 | head -1)"
  exit 0
fi
echo "ensure-promtool: installing prometheus (for promtool)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The package's service is not wanted: nothing here runs Prometheus except scripts/prometheus-scrape.sh, on its own port.
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then systemctl stop prometheus || true; fi
echo "ensure-promtool: $(promtool --version 2>&1 | head -1)"
