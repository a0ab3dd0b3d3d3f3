#!/usr/bin/env bash
# ElasticMQ (SQS-compatible, JSON and Query protocols) for tests: in-memory, no predefined queues,
# no stats server, listening on 127.0.0.1 only, empty on every start. Jars come from Maven Central,
# cached under $FERRY_CACHE.
#
#   scripts/services/elasticmq.sh start|stop|status
#
#   FERRY_ELASTICMQ_PORT     SQS port on 127.0.0.1 (default 19324)
#   FERRY_ELASTICMQ_VERSION  org.elasticmq:elasticmq-server_2.13 version (default 1.6.16)
#   FERRY_ELASTICMQ_REGION   region in queue ARNs (default us-east-1); account id 000000000000
#   FERRY_ELASTICMQ_HEAP     JVM heap flags (default -Xms32m -Xmx256m)
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

NAME=elasticmq
VERSION="${FERRY_ELASTICMQ_VERSION:-1.6.16}"
SCALA_VERSION=2.13.18   # what elasticmq 1.6.16 is built with (its scala-library dependency)
PORT="${FERRY_ELASTICMQ_PORT:-19324}"
REGION="${FERRY_ELASTICMQ_REGION:-us-east-1}"
HEAP="${FERRY_ELASTICMQ_HEAP:--Xms32m -Xmx256m}"
HOME_DIR="$FERRY_CACHE/$NAME-$VERSION"
DATA="$FERRY_DATA/$NAME"
LOGF="$FERRY_LOGS/$NAME.log"
PIDF="$FERRY_RUN/$NAME.pid"
MARK="-Dferry.service=$NAME"
READY="=== ElasticMQ server ("   # "=== ElasticMQ server (1.6.16) started in N ms ==="

healthy() { port_open "$PORT"; }

write_pom() {
  mkdir -p "$HOME_DIR"
  cat >"$HOME_DIR/pom.xml.new" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ferry.local</groupId><artifactId>elasticmq-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.elasticmq</groupId><artifactId>elasticmq-server_2.13</artifactId><version>$VERSION</version></dependency>
    <!-- Maven's nearest-wins picks older versions than sbt did: scala-reflect 2.13.16 (must match
         scala-library) and slf4j-api 2.0.7 (logback 1.3.16 is built against 2.0.x latest) -->
    <dependency><groupId>org.scala-lang</groupId><artifactId>scala-library</artifactId><version>$SCALA_VERSION</version></dependency>
    <dependency><groupId>org.scala-lang</groupId><artifactId>scala-reflect</artifactId><version>$SCALA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.17</version></dependency>
  </dependencies>
</project>
EOF
  if cmp -s "$HOME_DIR/pom.xml.new" "$HOME_DIR/pom.xml"; then rm -f "$HOME_DIR/pom.xml.new"
  else mv -f "$HOME_DIR/pom.xml.new" "$HOME_DIR/pom.xml"; fi
}

write_config() {
  mkdir -p "$DATA"
  # -Dconfig.file replaces application.conf, so include it first (pekko logging/timeouts)
  cat >"$DATA/elasticmq.conf" <<EOF
include classpath("application.conf")

node-address {
  protocol = http
  host = "127.0.0.1"
  port = $PORT
  context-path = ""
}
rest-sqs {
  enabled = true
  bind-port = $PORT
  bind-hostname = "127.0.0.1"
  sqs-limits = strict
}
rest-stats {
  enabled = false
}
generate-node-address = false
queues-storage { enabled = false }
messages-storage { enabled = false }
aws {
  region = "$REGION"
  accountId = "000000000000"
}
queues {}
EOF
}

start() {
  service_lock "$NAME"
  local pid t0=$SECONDS
  if pid="$(service_pid "$PIDF" "$MARK")"; then
    if healthy; then log "$NAME already running (pid $pid) on 127.0.0.1:$PORT"; return 0; fi
    log "$NAME (pid $pid) does not answer on 127.0.0.1:$PORT; restarting it"
    stop_pidfile "$PIDF" 10
  fi
  port_free "$PORT" "$NAME"
  need_java 17
  write_pom
  fetch_classpath "$HOME_DIR"

  rm -rf "$DATA"
  write_config
  rotate_log "$LOGF"
  (cd "$DATA" && exec nohup "$JAVA" $HEAP $JVM_SMALL "$MARK" \
      -Dconfig.file="$DATA/elasticmq.conf" \
      -cp "$HOME_DIR/lib/*" org.elasticmq.server.Main </dev/null >>"$LOGF" 2>&1 9>&-) &
  pid=$!
  echo "$pid" >"$PIDF"
  trap 'stop_pidfile "$PIDF" 5' EXIT
  wait_log "$LOGF" "$READY" 60 "$pid" "$NAME"
  wait_port "$PORT" 10 "$pid" "$NAME" "$LOGF"
  trap - EXIT
  log "$NAME $VERSION ready on http://127.0.0.1:$PORT (pid $pid, $((SECONDS - t0))s, log $LOGF)"
}

service_main "${1:-}" 10 "http://127.0.0.1:$PORT"
