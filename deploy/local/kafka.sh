#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, broker+controller in one JVM) for running
# Knightwatch and its integration tests on a machine without Docker.
#
#   bash deploy/local/kafka.sh up       # resolve jars, format once, start, wait until ready
#   bash deploy/local/kafka.sh down     # stop the broker this script started
#   bash deploy/local/kafka.sh status   # exit 0 if running, 3 if not
#
# Environment:
#   KAFKA_PORT              client listener port            (default 19092)
#   KAFKA_CONTROLLER_PORT   KRaft controller listener port  (default 19093)
#   KAFKA_HEAP_OPTS         JVM heap flags                  (default -Xms256m -Xmx768m)
#   KAFKA_CLEAN=1           on `up`: wipe the data dir and start an empty cluster
#   KAFKA_START_TIMEOUT     seconds to wait for readiness   (default 90)
#   KAFKA_STOP_TIMEOUT      seconds before SIGKILL on down  (default 30)
#   KNIGHTWATCH_RUN_DIR     state directory                 (default <repo>/.run)
#   PYTHON                  interpreter used for the readiness probe
#                           (default <repo>/.venv/bin/python)
#
# Everything lives under .run/kafka: libs/ (jars from Maven Central, see
# deploy/pom.xml), data/ (the KRaft metadata and topic logs), server.properties,
# kafka.log and kafka.pid.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
POM="$ROOT/deploy/pom.xml"
RUN_DIR="${KNIGHTWATCH_RUN_DIR:-$ROOT/.run}/kafka"
LIBS="$RUN_DIR/libs"
STAMP="$LIBS/.pom.sha256"
DATA="$RUN_DIR/data"
CONF="$RUN_DIR/server.properties"
LOG4J_CONF="$RUN_DIR/log4j2.properties"
LOG="$RUN_DIR/kafka.log"
PIDFILE="$RUN_DIR/kafka.pid"

KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
BOOTSTRAP="127.0.0.1:$KAFKA_PORT"

log() { printf '[kafka] %s\n' "$*"; }
die() { printf '[kafka] ERROR: %s\n' "$*" >&2; exit 1; }

# A pid file can outlive its process (reboot, kill -9, container restart) and
# the number can be recycled by an unrelated program, so "alive" also requires
# that the process is actually our broker.
running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(<"$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    grep -qa 'kafka\.Kafka' "/proc/$pid/cmdline" || return 1
  fi
  printf '%s\n' "$pid"
}

# kill -0 also succeeds for a zombie, and in containers whose PID 1 does not
# reap orphans an exited server can stay a zombie forever; count it as gone.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state=""
  if [[ -r "/proc/$1/stat" ]]; then
    state="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
  fi
  [[ "$state" != "Z" ]]
}

port_open() {
  # bash's /dev/tcp avoids depending on nc/ss being installed.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

java_cmd() {
  # The classpath wildcard must reach java unexpanded: java expands it itself.
  java -cp "$LIBS/*" -Dlog4j2.configurationFile="$LOG4J_CONF" "$@"
}

require_tools() {
  command -v java >/dev/null 2>&1 || die "java not found; Kafka 4.x needs a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null 2>&1 || die "mvn not found; it is used once to fetch the broker jars (Debian: apt-get install maven)"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')"
  major="${major#1.}"
  if [[ "$major" =~ ^[0-9]+$ ]] && (( major < 17 )); then
    die "java $major found; the Kafka 4.x broker requires Java 17 or newer"
  fi
}

# Maven is slow to start and needs the network, so the jars are resolved only
# when deploy/pom.xml changed since the last successful copy. The stamp is
# written last: an interrupted download never looks complete.
resolve_jars() {
  local want have=""
  want="$(sha256sum "$POM" | cut -d' ' -f1)"
  [[ -f "$STAMP" ]] && have="$(<"$STAMP")"
  if [[ "$want" == "$have" ]] && compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
    log "broker jars already resolved ($(find "$LIBS" -name '*.jar' | wc -l) jars in ${LIBS#"$ROOT"/})"
    return 0
  fi
  log "resolving Kafka broker jars from Maven Central (first run only, ~45 MB)..."
  local tmp="$RUN_DIR/libs.partial" mvn_log="$RUN_DIR/mvn.log"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # Maven's output goes to a file and is shown only on failure: even in batch
  # mode some Maven versions emit stray colour codes into the terminal.
  if ! mvn -B -f "$POM" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" >"$mvn_log" 2>&1; then
    rm -rf "$tmp"
    tail -n 40 "$mvn_log" >&2 || true
    die "mvn could not resolve the Kafka jars (full output: ${mvn_log#"$ROOT"/})"
  fi
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  printf '%s\n' "$want" >"$STAMP"
  log "resolved $(find "$LIBS" -name '*.jar' | wc -l) jars into ${LIBS#"$ROOT"/}"
}

write_config() {
  mkdir -p "$DATA"
  # Regenerated on every start so that port/env changes take effect. The
  # controller quorum is declared statically (controller.quorum.voters): the
  # whole single-node topology then lives in this one file, and `format` needs
  # none of the --standalone / --initial-controllers flags that a dynamic
  # KRaft quorum requires (a fixed one-node quorum gains nothing from it).
  cat >"$CONF" <<EOF
# Generated by deploy/local/kafka.sh -- edits are overwritten on the next 'up'.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=${DATA}

# One broker: every internal topic must accept a single replica, otherwise
# consumer groups, transactions (Faust exactly-once) and share groups fail to
# initialise their state topics.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1

# The broker defaults (50 partitions each) make the first group join and the
# first transaction noticeably slow on a small machine; 5 is plenty locally.
offsets.topic.num.partitions=5
transaction.state.log.num.partitions=5

# Tests and workers join groups constantly; the default 3 s delay would be
# paid on every rebalance.
group.initial.rebalance.delay.ms=0

num.partitions=1
auto.create.topics.enable=true
num.network.threads=2
num.io.threads=4
log.retention.hours=24
EOF

  # The level is a system property so the short-lived StorageTool runs stay
  # quiet while the broker logs at INFO. log4j's own shutdown hook is disabled
  # because it would stop logging before the broker's hook has finished, hiding
  # the end of a shutdown from kafka.log.
  cat >"$LOG4J_CONF" <<'EOF'
# Generated by deploy/local/kafka.sh
status = warn
shutdownHook = disable
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${sys:knightwatch.kafka.loglevel:-INFO}
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
EOF
}

# KRaft refuses to start on an unformatted log dir. meta.properties is the
# marker that format already ran, so existing topics survive restarts.
format_storage() {
  if [[ -f "$DATA/meta.properties" ]]; then
    return 0
  fi
  local cluster_id
  cluster_id="$(java_cmd -Dknightwatch.kafka.loglevel=WARN kafka.tools.StorageTool random-uuid)"
  log "formatting KRaft storage (cluster id $cluster_id)"
  java_cmd -Dknightwatch.kafka.loglevel=WARN kafka.tools.StorageTool \
    format --cluster-id "$cluster_id" --config "$CONF" --ignore-formatted
}

# The "Kafka Server started" log line only means the JVM finished booting; a
# real client round-trip (metadata + topic listing) proves the listener and
# the controller quorum work. Fall back to the log line plus a TCP probe when
# the project venv (kafka-python) is not installed yet.
broker_ready() {
  grep -q 'Kafka Server started' "$LOG" 2>/dev/null || return 1
  port_open "$KAFKA_PORT" || return 1
  if [[ -x "$PYTHON" ]] && "$PYTHON" -c 'import kafka' 2>/dev/null; then
    "$PYTHON" - "$BOOTSTRAP" <<'EOF' >/dev/null 2>&1 || return 1
import sys
from kafka import KafkaAdminClient
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=5000,
                         client_id="knightwatch-local-probe")
try:
    admin.list_topics()
finally:
    admin.close()
EOF
  fi
  return 0
}

cmd_up() {
  local pid
  if pid="$(running_pid)"; then
    if [[ "${KAFKA_CLEAN:-0}" == "1" ]]; then
      log "KAFKA_CLEAN=1: stopping the running broker (pid $pid) to wipe its data"
      cmd_down
    else
      log "already running (pid $pid) on $BOOTSTRAP"
      return 0
    fi
  fi
  rm -f "$PIDFILE"

  require_tools
  mkdir -p "$RUN_DIR"
  resolve_jars

  if [[ "${KAFKA_CLEAN:-0}" == "1" ]]; then
    log "KAFKA_CLEAN=1: wiping ${DATA#"$ROOT"/}"
    rm -rf "$DATA"
  fi

  # Someone else on the port would make the readiness probe succeed against
  # the wrong server, so refuse early with a clear message.
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "port $p on 127.0.0.1 is already in use by another process (set KAFKA_PORT/KAFKA_CONTROLLER_PORT)"
  done

  write_config
  format_storage

  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.prev"
  log "starting broker on $BOOTSTRAP (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT, heap: $KAFKA_HEAP_OPTS)"
  # setsid + nohup detach the JVM from the caller's session so it keeps
  # running after `make up` returns and ignores the terminal's Ctrl-C.
  # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM flags
  setsid nohup java $KAFKA_HEAP_OPTS \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_CONF" \
    -cp "$LIBS/*" kafka.Kafka "$CONF" \
    </dev/null >"$LOG" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$PIDFILE"

  local start=$SECONDS elapsed next_report=5
  while true; do
    elapsed=$((SECONDS - start))
    if ! alive "$pid"; then
      rm -f "$PIDFILE"
      log "broker exited during startup; last lines of ${LOG#"$ROOT"/}:"
      tail -n 40 "$LOG" >&2 || true
      die "Kafka failed to start"
    fi
    if broker_ready; then
      log "ready on $BOOTSTRAP after ${elapsed}s (pid $pid, log ${LOG#"$ROOT"/})"
      return 0
    fi
    if (( elapsed >= KAFKA_START_TIMEOUT )); then
      log "not ready after ${KAFKA_START_TIMEOUT}s; last lines of ${LOG#"$ROOT"/}:"
      tail -n 40 "$LOG" >&2 || true
      cmd_down || true
      die "Kafka did not become ready in time"
    fi
    if (( elapsed >= next_report )); then
      log "waiting for broker... ${elapsed}s"
      next_report=$((elapsed + 5))
    fi
    sleep 1
  done
}

cmd_down() {
  local pid
  if ! pid="$(running_pid)"; then
    [[ -f "$PIDFILE" ]] && log "removing stale pid file"
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  log "stopping broker (pid $pid)"
  # SIGTERM lets the broker flush logs and write a clean-shutdown marker, which
  # avoids a slow log recovery on the next start.
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while alive "$pid"; do
    if (( waited >= KAFKA_STOP_TIMEOUT )); then
      log "still alive after ${KAFKA_STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 1
    waited=$((waited + 1))
  done
  rm -f "$PIDFILE"
  log "stopped"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    log "running (pid $pid) on $BOOTSTRAP"
    return 0
  fi
  log "not running"
  # 3 is the LSB "program is not running" status.
  return 3
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 {up|down|status}" >&2
    exit 2
    ;;
esac
