#!/usr/bin/env bash
# Throw-away Redis for running Knightwatch and its integration tests on a
# machine without Docker.
#
#   bash deploy/local/redis.sh up       # install redis-server if missing, start, wait for PONG
#   bash deploy/local/redis.sh down     # stop the instance this script started
#   bash deploy/local/redis.sh status   # exit 0 if running, 3 if not
#
# Environment:
#   REDIS_PORT            port on 127.0.0.1            (default 16379)
#   REDIS_START_TIMEOUT   seconds to wait for PONG     (default 30)
#   REDIS_STOP_TIMEOUT    seconds before SIGKILL       (default 15)
#   KNIGHTWATCH_RUN_DIR   state directory              (default <repo>/.run)
#
# The instance keeps nothing on disk (no RDB snapshots, no AOF): Knightwatch
# only uses Redis for derived, rebuildable state, and tests want a clean slate
# after every restart.
set -euo pipefail

# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_DIR="${KNIGHTWATCH_RUN_DIR:-$ROOT/.run}/redis"
PIDFILE="$RUN_DIR/redis.pid"
LOG="$RUN_DIR/redis.log"

REDIS_PORT="${REDIS_PORT:-16379}"
REDIS_START_TIMEOUT="${REDIS_START_TIMEOUT:-30}"
REDIS_STOP_TIMEOUT="${REDIS_STOP_TIMEOUT:-15}"

log() { printf '[redis] %s\n' "$*"; }
die() { printf '[redis] ERROR: %s\n' "$*" >&2; exit 1; }

running_pid() { running_pid_of "$PIDFILE" 'redis-server'; }

ping_ok() {
  [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
}

# Only installs when the binary is missing, so machines that already have
# Redis (any source) are left alone. Debian's package may also enable its own
# system-wide instance on 6379; that one is independent of the instance here.
ensure_installed() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 \
    || die "redis-server not found and apt-get is unavailable; install Redis 6+ and retry"
  local sudo=()
  if [[ "$(id -u)" != "0" ]]; then
    command -v sudo >/dev/null 2>&1 || die "redis-server not found; installing it needs root (or sudo)"
    sudo=(sudo)
  fi
  log "installing redis-server with apt-get (one-time)..."
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server
  command -v redis-server >/dev/null 2>&1 || die "redis-server still not found after apt-get install"
}

cmd_up() {
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid) on 127.0.0.1:$REDIS_PORT"
    return 0
  fi
  rm -f "$PIDFILE"
  ensure_installed
  mkdir -p "$RUN_DIR"

  # A foreign server on the port would answer PONG and fool the wait below.
  port_open "$REDIS_PORT" && die "port $REDIS_PORT on 127.0.0.1 is already in use by another process (set REDIS_PORT)"

  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.prev"
  log "starting redis-server on 127.0.0.1:$REDIS_PORT"
  # Options go on the command line instead of a config file so nothing from
  # /etc/redis leaks in. With --daemonize yes redis writes its own pid file
  # after forking, which is the pid `down` must signal.
  redis-server \
    --bind 127.0.0.1 \
    --port "$REDIS_PORT" \
    --protected-mode yes \
    --daemonize yes \
    --pidfile "$PIDFILE" \
    --logfile "$LOG" \
    --dir "$RUN_DIR" \
    --save "" \
    --appendonly no \
    --databases 16 \
    </dev/null

  local start=$SECONDS elapsed next_report=5
  while true; do
    elapsed=$((SECONDS - start))
    if ping_ok && pid="$(running_pid)"; then
      log "ready on 127.0.0.1:$REDIS_PORT after ${elapsed}s (pid $pid, log ${LOG#"$ROOT"/})"
      return 0
    fi
    if (( elapsed >= REDIS_START_TIMEOUT )); then
      log "no PONG after ${REDIS_START_TIMEOUT}s; last lines of ${LOG#"$ROOT"/}:"
      tail -n 20 "$LOG" >&2 || true
      cmd_down || true
      die "Redis did not become ready in time"
    fi
    if (( elapsed >= next_report )); then
      log "waiting for redis... ${elapsed}s"
      next_report=$((elapsed + 5))
    fi
    sleep 0.2
  done
}

cmd_down() {
  stop_recorded "$REDIS_STOP_TIMEOUT" redis-server
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    log "running (pid $pid) on 127.0.0.1:$REDIS_PORT"
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
