#!/usr/bin/env bash
# Debian's Chromium for the workspace's browser tests (Playwright drives it; it cannot
# download its own browsers here). Installs only when absent.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "error: chromium is missing and this user cannot install it (apt-get install chromium)" >&2
  exit 1
fi
echo "installing Debian's chromium (for the workspace's browser tests)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
