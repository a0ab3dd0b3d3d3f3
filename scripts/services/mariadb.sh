#!/usr/bin/env bash
# Two private MariaDB instances for Ferry: a source and a destination, both with binlog ROW,
# FULL row image, FULL row metadata and GTIDs (the destination needs its binlog for reverse
# replication). The machine's own MariaDB on 3306 is left alone: tests control binlog settings.
#
# Usage: mariadb.sh start|stop|status [source|destination|scratch|scratch2|soak-source|soak-destination]
# (default: source and destination)
# Ports: FERRY_SOURCE_PORT (33401), FERRY_DESTINATION_PORT (33402), FERRY_SCRATCH_PORT (33403),
# FERRY_SCRATCH2_PORT (33404), FERRY_SOAK_SOURCE_PORT (33405), FERRY_SOAK_DESTINATION_PORT (33406).
# The scratch instances are for tests that restart a server, the soak ones for bench/soak.ts
# (which kills and restarts them while other work uses the rest).
# The test user `ferry` gets a random password on first start, kept in
# $FERRY_SECRETS/mariadb.env (outside the repo); tests and the demo read it from there.
source "$(dirname "$0")/../lib.sh"

MARIADBD="${MARIADBD:-$(command -v mariadbd || echo /usr/sbin/mariadbd)}"
CREDS="$FERRY_SECRETS/mariadb.env"

port_of() {
  case "$1" in
    source) echo "${FERRY_SOURCE_PORT:-33401}" ;;
    destination) echo "${FERRY_DESTINATION_PORT:-33402}" ;;
    scratch) echo "${FERRY_SCRATCH_PORT:-33403}" ;;
    scratch2) echo "${FERRY_SCRATCH2_PORT:-33404}" ;;
    soak-source) echo "${FERRY_SOAK_SOURCE_PORT:-33405}" ;;
    soak-destination) echo "${FERRY_SOAK_DESTINATION_PORT:-33406}" ;;
  esac
}
server_id_of() {
  case "$1" in source) echo 1 ;; destination) echo 2 ;; scratch) echo 3 ;; scratch2) echo 4 ;;
    soak-source) echo 5 ;; soak-destination) echo 6 ;; esac
}

ensure_password() {
  if [[ ! -f "$CREDS" ]]; then
    (umask 077; printf 'FERRY_DB_USER=ferry\nFERRY_DB_PASSWORD=%s\n' "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" > "$CREDS")
  fi
  # shellcheck disable=SC1090
  source "$CREDS"
}

client() { # client <name> [args...]: root over the instance's own socket
  local name="$1"; shift
  mariadb --no-defaults --socket="$FERRY_DATA/mariadb-$name/mariadb.sock" -uroot "$@"
}

start_one() {
  local name="$1" port dir pidf logf
  port="$(port_of "$name")"; dir="$FERRY_DATA/mariadb-$name"
  pidf="$FERRY_RUN/mariadb-$name.pid"; logf="$FERRY_LOGS/mariadb-$name.log"
  if running "$pidf" && client "$name" -e 'SELECT 1' >/dev/null 2>&1; then
    log "mariadb-$name already running on 127.0.0.1:$port"; return 0
  fi
  [[ -x "$MARIADBD" ]] || die "mariadbd not found: install MariaDB server binaries (apt-get install mariadb-server)"
  need mariadb-install-db "install MariaDB server binaries (apt-get install mariadb-server)"
  port_free "$port" "mariadb-$name"
  if [[ ! -d "$dir/mysql" ]]; then
    mkdir -p "$dir"
    mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$dir" \
      --auth-root-authentication-method=socket --skip-test-db >>"$logf" 2>&1 \
      || die "mariadb-install-db failed for $name (log: $logf)"
  fi
  # max_allowed_packet: multi-row statements of the full copy; the rest keeps a 2-core box fast
  nohup "$MARIADBD" --no-defaults --user="$(id -un)" --datadir="$dir" \
    --socket="$dir/mariadb.sock" --pid-file="$dir/mariadbd.pid" --log-error="$logf" \
    --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
    --server-id="$(server_id_of "$name")" --log-bin=binlog --binlog-format=ROW \
    --binlog-row-image=FULL --binlog-row-metadata=FULL --log-slave-updates \
    --gtid-domain-id="$(server_id_of "$name")" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --max-allowed-packet=256M --innodb-buffer-pool-size="${FERRY_DB_BUFFER_POOL:-512M}" \
    --innodb-log-file-size=256M --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 \
    --max-connections=500 --local-infile=1 --secure-file-priv="$FERRY_DATA" \
    >>"$logf" 2>&1 &
  echo $! >"$pidf"
  wait_port "$port" 60 "$(cat "$pidf")" "mariadb-$name" "$logf"
  ensure_password
  client "$name" <<SQL || die "could not create the ferry user on $name (log: $logf)"
SET SESSION sql_log_bin = 0; -- keep the password out of the binlog (and out of replay)
DROP USER IF EXISTS ''@'localhost';
DROP USER IF EXISTS ''@'$(hostname)';
CREATE USER IF NOT EXISTS 'ferry'@'127.0.0.1' IDENTIFIED BY '$FERRY_DB_PASSWORD';
CREATE USER IF NOT EXISTS 'ferry'@'localhost' IDENTIFIED BY '$FERRY_DB_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'ferry'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'ferry'@'localhost' WITH GRANT OPTION;
SQL
  log "mariadb-$name ready on 127.0.0.1:$port (log $logf)"
}

stop_one() {
  local name="$1"
  stop_pidfile "$FERRY_RUN/mariadb-$name.pid" 60
}

status_one() {
  local name="$1"
  if running "$FERRY_RUN/mariadb-$name.pid"; then echo "mariadb-$name: running on 127.0.0.1:$(port_of "$name")"
  else echo "mariadb-$name: stopped"; return 1; fi
}

cmd="${1:-start}"; shift || true
names=("$@")
# shellcheck disable=SC2206
[[ ${#names[@]} -gt 0 ]] || names=(${FERRY_MARIADB_INSTANCES:-source destination})
for n in "${names[@]}"; do
  [[ $n =~ ^(source|destination|scratch|scratch2|soak-source|soak-destination)$ ]] ||
    die "unknown instance '$n' (source, destination, scratch, scratch2, soak-source or soak-destination)"
  case "$cmd" in
    start) start_one "$n" ;;
    stop) stop_one "$n" ;;
    status) status_one "$n" ;;
    *) die "usage: $0 start|stop|status [source|destination|scratch|scratch2|soak-source|soak-destination]" ;;
  esac
done
