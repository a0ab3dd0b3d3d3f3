#!/usr/bin/env bash
# Apache Kafka 4.x for tests: one JVM in KRaft combined mode (broker + controller), loopback only,
# empty on every start. Jars come from Maven Central (no tarball), cached under $FERRY_CACHE.
#
#   scripts/services/kafka.sh start|stop|status|restart
#
#   restart stops the broker (SIGKILL: a crash, not a clean shutdown) and starts it on the same
#   data: what the synchronization tests do to prove nothing committed is lost.
#
#   FERRY_KAFKA_PORT             PLAINTEXT listener on 127.0.0.1 (default 19092)
#   FERRY_KAFKA_CONTROLLER_PORT  KRaft controller listener on 127.0.0.1 (default 19093)
#   FERRY_KAFKA_SASL_PORT        SASL_PLAINTEXT listener with SCRAM-SHA-256 on 127.0.0.1 (default 19094):
#                                user and password in $FERRY_SECRETS/kafka.env (made on first start),
#                                for the tests of SASL logins and wrong credentials
#   FERRY_KAFKA_FAULT_PORT       a second PLAINTEXT listener on 127.0.0.1 (default 19095), named PROXIED, that
#                                advertises 127.0.0.1:$FERRY_KAFKA_FAULT_PROXY_PORT instead of itself: a client
#                                bootstrapping there is sent to that port for every request, where a test's
#                                fault proxy listens and forwards here (test/e2e/network-faults-brokers.test.ts).
#                                Nothing listens on the proxy port otherwise: only such a test uses this listener.
#   FERRY_KAFKA_FAULT_PROXY_PORT the port the PROXIED listener advertises (default 40103)
#   FERRY_KAFKA_VERSION          org.apache.kafka:kafka_2.13 version (default 4.4.0)
#   FERRY_KAFKA_HEAP             JVM heap flags (default -Xms64m -Xmx320m)
#
# Logging: the kafka_* POMs bring log4j-api/core but no SLF4J binding, and Kafka 4.x still uses
# slf4j-api 1.7.36, so the binding is log4j-slf4j-impl (SLF4J 1.x), pinned to the log4j-core
# version kafka-server declares. log4j-slf4j2-impl would be ignored by slf4j-api 1.7 (NOP logger:
# no log at all, and the readiness line below would never appear).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

NAME=kafka
VERSION="${FERRY_KAFKA_VERSION:-4.4.0}"
LOG4J_VERSION="${FERRY_KAFKA_LOG4J_VERSION:-2.25.5}"
PORT="${FERRY_KAFKA_PORT:-19092}"
CTRL_PORT="${FERRY_KAFKA_CONTROLLER_PORT:-19093}"
SASL_PORT="${FERRY_KAFKA_SASL_PORT:-19094}"
FAULT_PORT="${FERRY_KAFKA_FAULT_PORT:-19095}"
FAULT_PROXY_PORT="${FERRY_KAFKA_FAULT_PROXY_PORT:-40103}"
CREDS="$FERRY_SECRETS/kafka.env"
HEAP="${FERRY_KAFKA_HEAP:--Xms64m -Xmx320m}"
HOME_DIR="$FERRY_CACHE/$NAME-$VERSION"
DATA="$FERRY_DATA/$NAME"
LOGF="$FERRY_LOGS/$NAME.log"
PIDF="$FERRY_RUN/$NAME.pid"
MARK="-Dferry.service=$NAME"
READY="Kafka Server started"   # KafkaRaftServer, once broker and controller are both up

healthy() { port_open "$PORT" && port_open "$CTRL_PORT" && port_open "$SASL_PORT" && port_open "$FAULT_PORT"; }

write_pom() {
  mkdir -p "$HOME_DIR"
  cat >"$HOME_DIR/pom.xml.new" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ferry.local</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$VERSION</version></dependency>
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
  mkdir -p "$DATA/kraft"
  cat >"$DATA/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CTRL_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CTRL_PORT,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT,PROXIED://127.0.0.1:$FAULT_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT,PROXIED://127.0.0.1:$FAULT_PROXY_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,PROXIED:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-256
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$DATA/kraft
auto.create.topics.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
group.initial.rebalance.delay.ms=0
# small footprint for a shared 2-core box
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
log.retention.hours=2
EOF
  cat >"$DATA/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.raftserver.name = kafka.server.KafkaRaftServer
logger.raftserver.level = INFO
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = ERROR
EOF
}

start() {
  service_lock "$NAME"
  local pid cid t0=$SECONDS
  if pid="$(service_pid "$PIDF" "$MARK")"; then
    if healthy; then log "$NAME already running (pid $pid) on 127.0.0.1:$PORT"; return 0; fi
    log "$NAME (pid $pid) does not answer on 127.0.0.1:$PORT/$CTRL_PORT; restarting it"
    stop_pidfile "$PIDF" 20
  fi
  port_free "$PORT" "$NAME"
  port_free "$CTRL_PORT" "$NAME controller"
  port_free "$SASL_PORT" "$NAME SASL"
  port_free "$FAULT_PORT" "$NAME fault-test listener"
  need_java 17
  write_pom
  fetch_classpath "$HOME_DIR"

  local jcp="$HOME_DIR/lib/*" logopts="-Dlog4j2.configurationFile=$DATA/log4j2.properties"
  rotate_log "$LOGF"
  if [[ "${KEEP_DATA:-}" == 1 && -f "$DATA/kraft/meta.properties" ]]; then
    log "$NAME: starting again on its data"
  else
  rm -rf "$DATA"            # tests expect an empty cluster
  write_config

  # kafka-storage.sh format: cluster id = base64url of 16 random bytes (what random-uuid prints);
  # avoid a leading '-', which argparse would read as an option
  cid=-
  while [[ "$cid" == -* ]]; do cid="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"; done
  if [[ ! -f "$CREDS" ]]; then
    (umask 077; printf 'FERRY_KAFKA_USER=ferry\nFERRY_KAFKA_PASSWORD=%s\n' "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" > "$CREDS")
  fi
  source "$CREDS"
  "$JAVA" $JVM_SMALL -Xmx128m $logopts -cp "$jcp" kafka.tools.StorageTool \
      format -t "$cid" -c "$DATA/server.properties" \
      --add-scram "SCRAM-SHA-256=[name=$FERRY_KAFKA_USER,password=$FERRY_KAFKA_PASSWORD]" </dev/null >>"$LOGF" 2>&1 9>&- \
    || { tail -n 20 "$LOGF" >&2; die "$NAME: storage format failed (log: $LOGF)"; }
  fi

  # kafka-server-start.sh == kafka.Kafka <server.properties>
  nohup "$JAVA" $HEAP $JVM_SMALL -XX:MaxMetaspaceSize=160m "$MARK" $logopts \
      -cp "$jcp" kafka.Kafka "$DATA/server.properties" </dev/null >>"$LOGF" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PIDF"
  trap 'stop_pidfile "$PIDF" 5' EXIT   # do not leave a half-started JVM behind on failure
  wait_log "$LOGF" "$READY" 120 "$pid" "$NAME"
  wait_port "$PORT" 10 "$pid" "$NAME" "$LOGF"
  wait_port "$CTRL_PORT" 10 "$pid" "$NAME" "$LOGF"
  wait_port "$SASL_PORT" 10 "$pid" "$NAME" "$LOGF"
  wait_port "$FAULT_PORT" 10 "$pid" "$NAME" "$LOGF"
  trap - EXIT
  log "$NAME $VERSION ready on 127.0.0.1:$PORT (controller $CTRL_PORT, pid $pid, $((SECONDS - t0))s, log $LOGF)"
}

if [[ "${1:-}" == restart ]]; then
  if pid="$(service_pid "$PIDF" "$MARK")"; then kill -9 "$pid" 2>/dev/null || true; fi
  for _ in $(seq 1 50); do port_open "$PORT" || break; sleep 0.2; done
  rm -f "$PIDF"
  KEEP_DATA=1 start
else
  service_main "${1:-}" 30 "127.0.0.1:$PORT (controller $CTRL_PORT)"
fi
