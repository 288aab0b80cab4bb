# Shared by kafka.sh and redis.sh: process checks for the servers they start.
# shellcheck shell=bash

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

# A pid file can outlive its process (reboot, kill -9, container restart) and
# the number can be recycled by an unrelated program, so "alive" also requires
# that the process is the server we started: its command line matches $2.
running_pid_of() {
  local pidfile="$1" pattern="$2" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(<"$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    grep -qa "$pattern" "/proc/$pid/cmdline" || return 1
  fi
  printf '%s\n' "$pid"
}

port_open() {
  # bash's /dev/tcp avoids depending on nc/ss being installed.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Stop the server recorded in $PIDFILE (by that pid only): SIGTERM, then SIGKILL after
# $1 seconds. SIGTERM lets Kafka write its clean-shutdown marker (no slow log recovery on the
# next start); the pid file is removed either way (Redis keeps it after a SIGKILL).
stop_recorded() {
  local timeout="$1" what="$2" pid
  if ! pid="$(running_pid)"; then
    [[ -f "$PIDFILE" ]] && log "removing stale pid file"
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  log "stopping $what (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while alive "$pid"; do
    if (( SECONDS >= deadline )); then
      log "still alive after ${timeout}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.2
  done
  rm -f "$PIDFILE"
  log "stopped"
}
