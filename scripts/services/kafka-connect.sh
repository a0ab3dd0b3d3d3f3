#!/usr/bin/env bash
# Kafka Connect (standalone worker) with Debezium's MariaDB connector, for the tests that compare
# Ferry's Debezium format with the real connector. One JVM, REST on 127.0.0.1 only, no connector
# at start (tests create theirs over REST), empty offsets on every start. Needs the Kafka of
# scripts/services/kafka.sh. Jars come from Maven Central, cached under $FERRY_CACHE.
#
#   scripts/services/kafka-connect.sh start|stop|status
#
#   FERRY_KAFKA_CONNECT_PORT     REST listener on 127.0.0.1 (default 19783)
#   FERRY_KAFKA_BROKERS          bootstrap servers (default 127.0.0.1:19092)
#   FERRY_KAFKA_CONNECT_VERSION  org.apache.kafka:connect-runtime/connect-json version (default 4.1.1)
#   FERRY_DEBEZIUM_VERSION       io.debezium:debezium-connector-mariadb version (default 3.5.0.Final)
#   FERRY_KAFKA_CONNECT_HEAP     JVM heap flags (default -Xms64m -Xmx384m)
#   FERRY_KAFKA_CONNECT_JVM      other JVM flags (default lib.sh's JVM_SMALL: serial GC, C1 only)
#   FERRY_KAFKA_CONNECT_NAME     service name: its pid file, log, lock and data directory (default
#                                kafka-connect); a second worker beside the tests' needs its own, and its own port
#   FERRY_KAFKA_CONNECT_KEEP_DATA  1: keep the offsets and files of the last run (bench/sync.ts restarts
#                                a connector from its stored offset); by default every start wipes them
#
# Versions: Debezium 3.5.0 is built against Connect 4.1.1; on Connect 4.4.0 its task dies with
# ClassNotFoundException org.apache.kafka.common.utils.Sanitizer. The MySQL connector refuses
# MariaDB 10.11, hence the MariaDB one. Logging: Connect 4.1 uses slf4j-api 1.7.36, so the binding
# is log4j-slf4j-impl (SLF4J 1.x), configured with a log4j2 *properties* file (this classpath has
# no YAML support; a YAML file leaves the JVM silent and the readiness line never comes).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

NAME="${FERRY_KAFKA_CONNECT_NAME:-kafka-connect}"
VERSION="${FERRY_KAFKA_CONNECT_VERSION:-4.1.1}"
DEBEZIUM_VERSION="${FERRY_DEBEZIUM_VERSION:-3.5.0.Final}"
LOG4J_VERSION="${FERRY_KAFKA_LOG4J_VERSION:-2.25.5}"
PORT="${FERRY_KAFKA_CONNECT_PORT:-19783}"
BROKERS="${FERRY_KAFKA_BROKERS:-127.0.0.1:19092}"
HEAP="${FERRY_KAFKA_CONNECT_HEAP:--Xms64m -Xmx384m}"
JVM="${FERRY_KAFKA_CONNECT_JVM:-$JVM_SMALL}"
HOME_DIR="$FERRY_CACHE/kafka-connect-$VERSION-debezium-$DEBEZIUM_VERSION"
DATA="$FERRY_DATA/$NAME"
LOGF="$FERRY_LOGS/$NAME.log"
PIDF="$FERRY_RUN/$NAME.pid"
MARK="-Dferry.service=$NAME"
READY="Kafka Connect started"   # org.apache.kafka.connect.runtime.Connect, after the REST server is up

healthy() { port_open "$PORT"; }

write_pom() {
  mkdir -p "$HOME_DIR"
  cat >"$HOME_DIR/pom.xml.new" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ferry.local</groupId><artifactId>kafka-connect-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-json</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>io.debezium</groupId><artifactId>debezium-connector-mariadb</artifactId><version>$DEBEZIUM_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  # only replace when changed, so fetch_classpath's checksum marker stays valid
  if cmp -s "$HOME_DIR/pom.xml.new" "$HOME_DIR/pom.xml"; then rm -f "$HOME_DIR/pom.xml.new"
  else mv -f "$HOME_DIR/pom.xml.new" "$HOME_DIR/pom.xml"; fi
}

write_config() {
  mkdir -p "$DATA"
  # Converters here are the defaults; a connector may override them in its own config.
  cat >"$DATA/worker.properties" <<EOF
bootstrap.servers=$BROKERS
listeners=http://127.0.0.1:$PORT
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$PORT
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
offset.storage.file.filename=$DATA/offsets.dat
offset.flush.interval.ms=1000
# the jars are on the classpath; no plugin isolation to scan
plugin.discovery=only_scan
EOF
  cat >"$DATA/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.connect.name = org.apache.kafka.connect.runtime.Connect
logger.connect.level = INFO
logger.debezium.name = io.debezium
logger.debezium.level = INFO
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = ERROR
EOF
}

start() {
  service_lock "$NAME"
  local pid t0=$SECONDS
  if pid="$(service_pid "$PIDF" "$MARK")"; then
    if healthy; then log "$NAME already running (pid $pid) on 127.0.0.1:$PORT"; return 0; fi
    log "$NAME (pid $pid) does not answer on 127.0.0.1:$PORT; restarting it"
    stop_pidfile "$PIDF" 20
  fi
  port_free "$PORT" "$NAME"
  port_open "${BROKERS##*:}" || die "$NAME: Kafka does not answer on $BROKERS (scripts/services/kafka.sh start)"
  need_java 17
  write_pom
  fetch_classpath "$HOME_DIR"

  # no offsets, no schema history: every start streams from "now" (unless asked to keep them)
  if [[ "${FERRY_KAFKA_CONNECT_KEEP_DATA:-}" != 1 ]]; then rm -rf "$DATA"; fi
  write_config
  rotate_log "$LOGF"
  nohup "$JAVA" $HEAP $JVM -XX:MaxMetaspaceSize=192m "$MARK" \
      -Dlog4j2.configurationFile="$DATA/log4j2.properties" \
      -cp "$HOME_DIR/lib/*" org.apache.kafka.connect.cli.ConnectStandalone "$DATA/worker.properties" \
      </dev/null >>"$LOGF" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PIDF"
  trap 'stop_pidfile "$PIDF" 5' EXIT   # do not leave a half-started JVM behind on failure
  wait_log "$LOGF" "$READY" 120 "$pid" "$NAME"
  wait_port "$PORT" 10 "$pid" "$NAME" "$LOGF"
  trap - EXIT
  log "$NAME $VERSION + Debezium MariaDB $DEBEZIUM_VERSION ready on http://127.0.0.1:$PORT (pid $pid, $((SECONDS - t0))s, log $LOGF)"
}

service_main "${1:-}" 20 "http://127.0.0.1:$PORT"
