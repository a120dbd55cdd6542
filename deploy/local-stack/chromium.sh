#!/usr/bin/env bash
# Headless Chromium for the dashboard end-to-end test (driven by playwright-core, which downloads no
# browser itself). Idempotent: installs Debian's chromium only when /usr/bin/chromium is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
