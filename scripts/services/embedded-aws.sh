#!/usr/bin/env bash
# The local default's AWS-compatible servers, Node only: dynalite (DynamoDB API) on
# FERRY_EMBEDDED_DYNAMODB_PORT (14567) and fauxqs (SQS API) on FERRY_EMBEDDED_SQS_PORT (14566).
# Usage: embedded-aws.sh start|stop|status
source "$(dirname "$0")/../lib.sh"

DDB_PORT="${FERRY_EMBEDDED_DYNAMODB_PORT:-14567}"
SQS_PORT="${FERRY_EMBEDDED_SQS_PORT:-14566}"
PIDFILE="$FERRY_RUN/embedded-aws.pid"
LOGFILE="$FERRY_LOGS/embedded-aws.log"
DATA="$FERRY_DATA/embedded-aws"

start() {
  if running "$PIDFILE"; then log "embedded-aws already running"; return 0; fi
  use_node24
  [[ -x "$REPO_ROOT/node_modules/.bin/tsx" ]] || die "dependencies missing: run npm ci in $REPO_ROOT first (scripts/setup.sh does)"
  port_free "$DDB_PORT" embedded-dynamodb
  port_free "$SQS_PORT" embedded-sqs
  rm -rf "$DATA"   # tests assume empty servers; local mode keeps its own data dir
  nohup "$REPO_ROOT/node_modules/.bin/tsx" "$REPO_ROOT/shared/local/embedded-aws-server.ts" "$DATA" "$DDB_PORT" "$SQS_PORT" >>"$LOGFILE" 2>&1 &
  echo $! >"$PIDFILE"
  wait_port "$DDB_PORT" 30 "$(cat "$PIDFILE")" embedded-aws "$LOGFILE"
  wait_port "$SQS_PORT" 30 "$(cat "$PIDFILE")" embedded-aws "$LOGFILE"
  log "embedded-aws ready: dynamodb 127.0.0.1:$DDB_PORT, sqs 127.0.0.1:$SQS_PORT (log $LOGFILE)"
}

case "${1:-start}" in
  start) start ;;
  stop) stop_pidfile "$PIDFILE" 10 ;;
  status) if running "$PIDFILE"; then echo "embedded-aws: running"; else echo "embedded-aws: stopped"; exit 1; fi ;;
  *) die "usage: $0 start|stop|status" ;;
esac
