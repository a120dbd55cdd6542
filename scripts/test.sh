#!/usr/bin/env bash
# The one test command (`npm test`, and what .ci/run calls):
#   static checks (lint, format, types), then every *.spec.ts on the real local stack,
#   which it brings up first when it is not already running.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== static checks"
npx eslint . --max-warnings=0
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
npx tsc --noEmit

echo "== local stack"
bash deploy/local-stack/stack.sh up
# Headless Chromium for the dashboard's end-to-end test (Debian package; installed only when missing).
bash deploy/local-stack/chromium.sh
# The deployment validators (hadolint, compose-go, helm v4, kubernetes-validate), cached after the first run.
bash deploy/tools/install.sh >/dev/null
set -a
# shellcheck disable=SC1091
source .reckon/stack.env
set +a

echo "== tests"
# Unit, integration and end-to-end specs. One file at a time: integration specs share the stack.
mapfile -t specs < <(git ls-files --cached --others --exclude-standard -- '*.spec.ts' | sort)
node --import tsx --test --test-concurrency=1 --test-timeout=600000 "${specs[@]}"
