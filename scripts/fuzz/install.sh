#!/usr/bin/env bash
# Installs schemathesis, pinned with all its dependencies in scripts/fuzz/requirements.txt, from PyPI into a
# Python venv in the Reckon cache (one venv per content of the requirements file), and prints the path of its
# `st` command. Idempotent; concurrent runs wait for each other; an interrupted install is redone.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd)"
REQUIREMENTS="$SCRIPT_DIR/requirements.txt"
CACHE_DIR="${RECKON_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/reckon}"
VENV="$CACHE_DIR/schemathesis-$(sha256sum "$REQUIREMENTS" | cut -c1-12)"
DONE="$VENV/.installed"

if [ ! -f "$DONE" ]; then
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/schemathesis.lock"
  flock 9
  if [ ! -f "$DONE" ]; then
    command -v python3 >/dev/null || { echo "schemathesis needs python3 (3.9 or later) on PATH" >&2; exit 1; }
    # A venv is not relocatable (its scripts name its own path), so it is built in place; the marker file
    # written last tells a finished install from one that was interrupted.
    rm -rf "$VENV"
    python3 -m venv "$VENV" >&2 || {
      echo "python3 -m venv failed: install the venv module (Debian: apt-get install python3-venv)" >&2
      exit 1
    }
    # PyPI only: no extra wheel folders or other indexes from the machine's pip settings.
    env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL \
      "$VENV/bin/pip" install --quiet --no-input --disable-pip-version-check -r "$REQUIREMENTS" >&2
    "$VENV/bin/st" --version >&2
    touch "$DONE"
  fi
fi
echo "$VENV/bin/st"
