#!/usr/bin/env bash
# Fetches Kafka Connect (standalone worker) and the Debezium Postgres connector from Maven Central
# into one flat directory of jars, and prints that directory. Idempotent: a complete cache is reused.
#   RECKON_CACHE_DIR  cache root (default: $XDG_CACHE_HOME/reckon or ~/.cache/reckon)
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd)"
DEBEZIUM_VERSION="3.6.1.Final"
CACHE_DIR="${RECKON_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/reckon}"
LIBS="$CACHE_DIR/debezium-$DEBEZIUM_VERSION"

die() { echo "debezium/fetch.sh: $*" >&2; exit 1; }

if [[ ! -f "$LIBS/.complete" ]]; then
  command -v mvn >/dev/null || die "mvn not found (install Maven and a JDK 17+)"
  tmp="$LIBS.tmp.$$"
  echo "debezium/fetch.sh: fetching Debezium $DEBEZIUM_VERSION and Kafka Connect into $LIBS" >&2
  rm -rf "$tmp"
  mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$SCRIPT_DIR" && mvn -B -q -Dstyle.color=never \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" </dev/null >&2)
  ls "$tmp"/debezium-connector-postgres-"$DEBEZIUM_VERSION".jar >/dev/null ||
    die "copy-dependencies did not produce debezium-connector-postgres-$DEBEZIUM_VERSION.jar"
  ls "$tmp"/connect-runtime-*.jar >/dev/null || die "copy-dependencies did not produce connect-runtime"
  touch "$tmp/.complete"
  # Atomic publish: a fetch interrupted half-way must not look like a usable cache.
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  trap - EXIT
fi
echo "$LIBS"
