#!/usr/bin/env bash
# Local development stack for Reckon without Docker or systemd: Postgres 15, Redis 7, a 3-master
# Redis Cluster (ports 7001-7003) and a single-node KRaft Kafka, all on 127.0.0.1. See deploy/README.md.
#
#   stack.sh up | down | status | reset
#   stack.sh start|stop|restart postgres|redis|redis-cluster|kafka
#   stack.sh k6          # build k6 if missing, print its path
#   stack.sh env         # print the stack.env contents
#
# The services are machine-wide (fixed ports, state under $RECKON_STACK_DIR), so a second clone
# on the same machine reuses a running stack instead of fighting over the ports.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/../.." && pwd)"

export DEBIAN_FRONTEND=noninteractive CI="${CI:-true}"

HOST=127.0.0.1
PG_VERSION="${RECKON_PG_VERSION:-15}"
PG_CLUSTER=main
PG_PORT=5432
REDIS_PORT=6379
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
KAFKA_HEAP="${RECKON_KAFKA_HEAP:--Xmx768m}"

STACK_DIR="${RECKON_STACK_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/reckon/stack}"
CACHE_DIR="${RECKON_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/reckon}"
KAFKA_POM="$SCRIPT_DIR/kafka/pom.xml"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM")"
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
KAFKA_DIR="$STACK_DIR/kafka"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
REDIS_DIR="$STACK_DIR/redis"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_CLUSTER_PORTS=(7001 7002 7003)
REDIS_CLUSTER_DIR="$STACK_DIR/redis-cluster"

ENV_FILE="$REPO_DIR/.reckon/stack.env"

log() { printf '[stack] %s\n' "$*" >&2; }
die() {
  printf '[stack] ERROR: %s\n' "$*" >&2
  exit 1
}

as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}
as_postgres() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi
}

# One stack operation at a time per machine: two clones running `up` together must not both
# format Kafka or start a second broker. fd 9 is closed for every daemon we launch (9>&-),
# otherwise the daemon would hold the lock for its whole life.
take_lock() {
  mkdir -p "$STACK_DIR"
  exec 9>"$STACK_DIR/.lock"
  flock -w 300 9 || die "another stack.sh holds $STACK_DIR/.lock"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# pid of whatever listens on a port, for services started outside this script (e.g. by apt's init script).
# Never fails: callers run under set -e, and ss (iproute2) may be absent on minimal images.
port_pid() {
  { ss -H -ltnp "sport = :$1" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1; } || true
}

wait_port_closed() {
  local port=$1 secs=$2 i
  for ((i = 0; i < secs * 10; i++)); do
    port_open "$port" || return 0
    sleep 0.1
  done
  return 1
}

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# Installation (first run on a fresh machine only)
# ---------------------------------------------------------------------------------------------
pg_bin() { echo "/usr/lib/postgresql/$PG_VERSION/bin"; }

ensure_packages() {
  local missing=()
  [[ -x "$(pg_bin)/postgres" ]] && command -v pg_ctlcluster >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || missing+=(redis-server)
  command -v java >/dev/null || missing+=(default-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing ${missing[*]} (apt)"
  as_root apt-get update -qq </dev/null
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
  # Debian ships the distribution's own major (15 on bookworm); follow it if 15 is not there.
  if [[ ! -x "$(pg_bin)/postgres" ]]; then
    PG_VERSION="$(ls /usr/lib/postgresql | sort -n | tail -n1)"
    log "Postgres $PG_VERSION installed (not 15)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Postgres
# ---------------------------------------------------------------------------------------------
pg_conf_dir() { echo "/etc/postgresql/$PG_VERSION/$PG_CLUSTER"; }

pg_pid() {
  local f="/var/lib/postgresql/$PG_VERSION/$PG_CLUSTER/postmaster.pid" pid
  pid="$(as_root head -n1 "$f" 2>/dev/null || true)"
  if pid_alive "$pid"; then echo "$pid"; else port_pid "$PG_PORT"; fi
}

pg_app_ok() {
  PGPASSWORD=reckon PGCONNECT_TIMEOUT=2 psql -X -q -At -h "$HOST" -p "$PG_PORT" -U reckon -d reckon \
    -c 'select 1' >/dev/null 2>&1
}

start_postgres() {
  if port_open "$PG_PORT"; then
    pg_app_ok && return 0
  else
    [[ -d "$(pg_conf_dir)" ]] || {
      log "creating Postgres cluster $PG_VERSION/$PG_CLUSTER on port $PG_PORT"
      as_root pg_createcluster "$PG_VERSION" "$PG_CLUSTER" --port "$PG_PORT" 9>&- >/dev/null
    }
    log "starting Postgres $PG_VERSION on $HOST:$PG_PORT"
    as_root pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start 9>&- </dev/null
  fi
  local i
  for ((i = 0; i < 300; i++)); do
    as_postgres psql -X -q -At -p "$PG_PORT" -d postgres -c 'select 1' >/dev/null 2>&1 && break
    sleep 0.1
  done
  # A dev stack: superuser lets tests create extensions and scratch databases freely.
  as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reckon') THEN
    CREATE ROLE reckon LOGIN SUPERUSER PASSWORD 'reckon';
  ELSE
    ALTER ROLE reckon LOGIN SUPERUSER PASSWORD 'reckon';
  END IF;
END $$;
SQL
  if [[ -z "$(as_postgres psql -X -At -p "$PG_PORT" -d postgres \
    -c "select 1 from pg_database where datname = 'reckon'")" ]]; then
    as_postgres createdb -p "$PG_PORT" -O reckon reckon
  fi
  pg_app_ok || die "Postgres is up but reckon@$HOST:$PG_PORT/reckon does not accept the password (check pg_hba.conf)"
}

stop_postgres() {
  if [[ -d "$(pg_conf_dir)" ]] && port_open "$PG_PORT"; then
    log "stopping Postgres"
    as_root pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" stop -m fast 9>&- </dev/null || true
  fi
  wait_port_closed "$PG_PORT" 30 || die "Postgres still listening on $PG_PORT"
}

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------
start_redis() {
  if ! redis-cli -h "$HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    port_open "$REDIS_PORT" && die "port $REDIS_PORT is taken by something that is not Redis"
    mkdir -p "$REDIS_DIR"
    log "starting Redis on $HOST:$REDIS_PORT"
    # Append-only file, fsynced every second: a restart loses at most the last second of writes, and the
    # projectors notice that loss (stored position behind the committed one) and rebuild from the log.
    redis-server --daemonize yes --bind "$HOST" --port "$REDIS_PORT" --save '' --appendonly yes \
      --appendfsync everysec \
      --dir "$REDIS_DIR" --pidfile "$REDIS_PID" --logfile "$REDIS_DIR/redis.log" 9>&- </dev/null
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    redis-cli -h "$HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "Redis did not answer on $HOST:$REDIS_PORT (see $REDIS_DIR/redis.log)"
}

stop_redis() {
  if port_open "$REDIS_PORT"; then
    log "stopping Redis"
    redis-cli -h "$HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
  wait_port_closed "$REDIS_PORT" 30 || die "Redis still listening on $REDIS_PORT"
  rm -f "$REDIS_PID"
}

redis_pid() {
  local pid
  pid="$(cat "$REDIS_PID" 2>/dev/null || true)"
  if pid_alive "$pid"; then echo "$pid"; else port_pid "$REDIS_PORT"; fi
}

# ---------------------------------------------------------------------------------------------
# Redis Cluster: three masters, no replicas, on loopback (tests of the cluster code paths)
# ---------------------------------------------------------------------------------------------
redis_cluster_nodes() {
  local IFS=,
  echo "${REDIS_CLUSTER_PORTS[*]/#/$HOST:}"
}

redis_cluster_ok() {
  local port
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    redis-cli -h "$HOST" -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

start_redis_cluster() {
  redis_cluster_ok && return 0
  local port dir i
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    redis-cli -h "$HOST" -p "$port" ping >/dev/null 2>&1 && continue
    port_open "$port" && die "port $port is taken by something that is not Redis"
    dir="$REDIS_CLUSTER_DIR/$port"
    mkdir -p "$dir"
    log "starting Redis Cluster node on $HOST:$port"
    # nodes.conf keeps the cluster's membership and slots across restarts; the data is kept in an
    # append-only file fsynced every second, as on the single node.
    redis-server --daemonize yes --bind "$HOST" --port "$port" --cluster-enabled yes \
      --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 5000 --save '' --appendonly yes \
      --appendfsync everysec \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" 9>&- </dev/null
  done
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    for ((i = 0; i < 100; i++)); do
      redis-cli -h "$HOST" -p "$port" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    redis-cli -h "$HOST" -p "$port" ping >/dev/null 2>&1 || die "Redis Cluster node $port did not answer"
  done
  # Formed once; restarted nodes find each other again through nodes.conf.
  if [[ "$(redis-cli -h "$HOST" -p "${REDIS_CLUSTER_PORTS[0]}" cluster info | tr -d '\r' |
    sed -n 's/^cluster_slots_assigned://p')" == 0 ]]; then
    log "creating Redis Cluster $(redis_cluster_nodes)"
    redis-cli --cluster create "${REDIS_CLUSTER_PORTS[@]/#/$HOST:}" --cluster-replicas 0 --cluster-yes \
      </dev/null >"$REDIS_CLUSTER_DIR/create.log" 2>&1 ||
      die "redis-cli --cluster create failed: $(tail -n 20 "$REDIS_CLUSTER_DIR/create.log")"
  fi
  for ((i = 0; i < 300; i++)); do
    redis_cluster_ok && return 0
    sleep 0.1
  done
  die "Redis Cluster did not reach cluster_state:ok (see $REDIS_CLUSTER_DIR/*/redis.log)"
}

stop_redis_cluster() {
  local port
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    if port_open "$port"; then
      log "stopping Redis Cluster node $port"
      redis-cli -h "$HOST" -p "$port" shutdown nosave >/dev/null 2>&1 || true
    fi
    wait_port_closed "$port" 30 || die "Redis Cluster node still listening on $port"
    rm -f "$REDIS_CLUSTER_DIR/$port/redis.pid"
  done
}

redis_cluster_pids() {
  local port pid pids=()
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    pid="$(cat "$REDIS_CLUSTER_DIR/$port/redis.pid" 2>/dev/null || true)"
    pid_alive "$pid" || pid="$(port_pid "$port")"
    pids+=("${pid:--}")
  done
  local IFS=,
  echo "${pids[*]}"
}

# ---------------------------------------------------------------------------------------------
# Kafka (KRaft, one combined broker+controller node)
# ---------------------------------------------------------------------------------------------
ensure_kafka_libs() {
  [[ -f "$KAFKA_LIBS/.complete" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found"
  local tmp="$KAFKA_LIBS.tmp.$$"
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  (cd "$SCRIPT_DIR/kafka" && mvn -B -q -Dstyle.color=never \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" </dev/null >&2)
  ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null || die "copy-dependencies did not produce kafka_2.13-$KAFKA_VERSION.jar"
  touch "$tmp/.complete"
  # Atomic publish: a fetch interrupted half-way must not look like a usable cache.
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
}

write_kafka_config() {
  mkdir -p "$KAFKA_DATA"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Generated by deploy/local-stack/stack.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA

# Topics are created explicitly by the app (partition counts are part of the design).
num.partitions=3
auto.create.topics.enable=false
default.replication.factor=1
min.insync.replicas=1

# A single node cannot replicate internal topics.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests join consumer groups constantly; the default 3 s delay would slow every one of them.
group.initial.rebalance.delay.ms=0

# Replays and backfills read old events, so keep them: 30 days, no size cap.
log.retention.hours=720
log.retention.bytes=-1
offsets.retention.minutes=43200
num.recovery.threads.per.data.dir=2
EOF
}

kafka_pid() {
  local pid
  pid="$(cat "$KAFKA_PID" 2>/dev/null || true)"
  if pid_alive "$pid" && grep -q 'kafka\.Kafka' "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
  else
    port_pid "$KAFKA_PORT"
  fi
}

# Same shape as `StorageTool random-uuid` (16 random bytes, unpadded base64url, never starting
# with '-'), without paying for a JVM start.
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ $id != -* ]] && break
  done
  echo "$id"
}

# Ready = the broker answers an ApiVersions v0 request with error_code 0. A bare open port is
# not enough: the socket server accepts connections before the broker has finished starting.
kafka_ready() {
  local hex
  hex="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "\x00\x00\x00\x0b\x00\x12\x00\x00\x00\x00\x00\x07\x00\x01r" >&3
    head -c 10 <&3 | od -An -tx1' "$HOST" "$KAFKA_PORT" 2>/dev/null || true)"
  # size(4) | correlation id 7 (4) | error_code 0 (2)
  [[ "$(echo $hex | cut -d' ' -f5-10)" == "00 00 00 07 00 00" ]]
}

start_kafka() {
  if kafka_ready; then return 0; fi
  local pid
  pid="$(kafka_pid)"
  if ! pid_alive "$pid"; then
    port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by something that does not speak Kafka"
    ensure_kafka_libs
    write_kafka_config
    if [[ ! -f "$KAFKA_DATA/meta.properties" ]]; then
      local cluster_id
      cluster_id="$(new_cluster_id)"
      log "formatting Kafka storage (cluster $cluster_id) in $KAFKA_DATA"
      java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/log4j2.properties" \
        kafka.tools.StorageTool format --standalone -t "$cluster_id" \
        -c "$KAFKA_DIR/server.properties" --ignore-formatted >"$KAFKA_DIR/format.log" 2>&1 ||
        die "Kafka storage format failed: $(cat "$KAFKA_DIR/format.log")"
    fi
    [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
    log "starting Kafka $KAFKA_VERSION on $HOST:$KAFKA_PORT (log: $KAFKA_LOG)"
    # setsid: the broker must outlive the shell (and test runner) that started it. The inner
    # shell writes its own pid and then execs java, so the pid file names the JVM itself.
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PID" \
      java $KAFKA_HEAP -Xms256m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Dkafka.logs.dir="$KAFKA_DIR" \
      -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/log4j2.properties" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties" \
      >"$KAFKA_LOG" 2>&1 </dev/null 9>&- &
    disown || true
  fi
  local i
  for ((i = 0; i < 1200; i++)); do
    kafka_ready && return 0
    pid="$(kafka_pid)"
    pid_alive "$pid" || die "Kafka exited during start-up; last log lines:
$(tail -n 30 "$KAFKA_LOG" 2>/dev/null)"
    sleep 0.1
  done
  die "Kafka did not become ready on $HOST:$KAFKA_PORT within 120 s (see $KAFKA_LOG)"
}

stop_kafka() {
  local pid i
  pid="$(kafka_pid)"
  if pid_alive "$pid"; then
    log "stopping Kafka (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    # Controlled shutdown flushes logs and writes the clean-shutdown marker, so the next start
    # skips log recovery. Give it time before resorting to SIGKILL.
    for ((i = 0; i < 600; i++)); do
      pid_alive "$pid" || break
      sleep 0.1
    done
    if pid_alive "$pid"; then
      log "Kafka ignored SIGTERM for 60 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      while pid_alive "$pid"; do sleep 0.1; done
    fi
  fi
  rm -f "$KAFKA_PID"
  wait_port_closed "$KAFKA_PORT" 30 || die "something still listens on $KAFKA_PORT"
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
write_env() {
  mkdir -p "$(dirname "$ENV_FILE")"
  local tmp="$ENV_FILE.tmp.$$"
  cat >"$tmp" <<EOF
DATABASE_URL=postgres://reckon:reckon@$HOST:$PG_PORT/reckon
REDIS_URL=redis://$HOST:$REDIS_PORT
REDIS_CLUSTER_NODES=$(redis_cluster_nodes)
KAFKA_BROKERS=$HOST:$KAFKA_PORT
EOF
  mv -f "$tmp" "$ENV_FILE"
}

status_line() {
  local name=$1 addr=$2 up=$3 pid=$4
  if [[ $up == 1 ]]; then
    printf '%-13s up    %-16s pid %s\n' "$name" "$addr" "${pid:--}"
  else
    printf '%-13s down  %-16s -\n' "$name" "$addr"
  fi
}

cmd_status() {
  local up
  up=0; pg_app_ok && up=1
  status_line postgres "$HOST:$PG_PORT" $up "$([[ $up == 1 ]] && pg_pid)"
  up=0; redis-cli -h "$HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1 && up=1
  status_line redis "$HOST:$REDIS_PORT" $up "$([[ $up == 1 ]] && redis_pid)"
  up=0; redis_cluster_ok && up=1
  status_line redis-cluster "$HOST:${REDIS_CLUSTER_PORTS[0]}-${REDIS_CLUSTER_PORTS[-1]}" $up \
    "$([[ $up == 1 ]] && redis_cluster_pids)"
  up=0; kafka_ready && up=1
  status_line kafka "$HOST:$KAFKA_PORT" $up "$([[ $up == 1 ]] && kafka_pid)"
}

start_one() {
  case "$1" in
    postgres | pg) ensure_packages && start_postgres ;;
    redis) ensure_packages && start_redis ;;
    redis-cluster) ensure_packages && start_redis_cluster ;;
    kafka) start_kafka ;;
    *) die "unknown service '$1' (postgres|redis|redis-cluster|kafka)" ;;
  esac
}

stop_one() {
  case "$1" in
    postgres | pg) stop_postgres ;;
    redis) stop_redis ;;
    redis-cluster) stop_redis_cluster ;;
    kafka) stop_kafka ;;
    *) die "unknown service '$1' (postgres|redis|redis-cluster|kafka)" ;;
  esac
}

cmd_up() {
  # Fast path: everything already answers, nothing to install or start.
  if pg_app_ok && redis-cli -h "$HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1 && redis_cluster_ok &&
    kafka_ready; then
    write_env
    return 0
  fi
  ensure_packages
  start_postgres
  start_redis
  start_redis_cluster
  start_kafka
  write_env
  log "stack up; env in $ENV_FILE"
}

cmd_down() {
  stop_kafka
  stop_redis_cluster
  stop_redis
  stop_postgres
}

cmd_reset() {
  # Postgres is the machine's shared cluster, so reset drops only the reckon database.
  if pg_app_ok || { ensure_packages && start_postgres; }; then
    log "dropping database reckon"
    as_postgres psql -X -q -p "$PG_PORT" -d postgres -c 'DROP DATABASE IF EXISTS reckon WITH (FORCE)' >/dev/null
  fi
  cmd_down
  log "wiping $KAFKA_DIR, $REDIS_DIR and $REDIS_CLUSTER_DIR"
  rm -rf "$KAFKA_DIR" "$REDIS_DIR" "$REDIS_CLUSTER_DIR"
  rm -f "$ENV_FILE"
}

cmd_k6() {
  local gobin k6
  if command -v k6 >/dev/null; then
    command -v k6
    return 0
  fi
  command -v go >/dev/null || die "go not found (needed to build k6)"
  gobin="$(go env GOBIN)"
  [[ -n "$gobin" ]] || gobin="$(go env GOPATH)/bin"
  k6="$gobin/k6"
  if [[ ! -x "$k6" ]]; then
    log "building k6 v1.8.1 with go install (a few minutes the first time)"
    CGO_ENABLED=0 go install go.k6.io/k6@v1.8.1 </dev/null ||
      CGO_ENABLED=0 GOSUMDB=off go install go.k6.io/k6@v1.8.1 </dev/null
  fi
  [[ -x "$k6" ]] || die "k6 build failed"
  echo "$k6"
}

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

main() {
  local cmd="${1:-}"
  case "$cmd" in
    up) take_lock && cmd_up ;;
    down) take_lock && cmd_down ;;
    status) cmd_status ;;
    reset) take_lock && cmd_reset ;;
    start) [[ -n "${2:-}" ]] || usage; take_lock && start_one "$2" ;;
    stop) [[ -n "${2:-}" ]] || usage; take_lock && stop_one "$2" ;;
    restart) [[ -n "${2:-}" ]] || usage; take_lock && stop_one "$2" && start_one "$2" ;;
    env) cat "$ENV_FILE" ;;
    k6) cmd_k6 ;;
    *) usage ;;
  esac
}

main "$@"
