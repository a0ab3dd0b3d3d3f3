#!/usr/bin/env bash
# Apache RocketMQ 5.x for tests: name server and proxy in LOCAL mode (the broker runs inside the
# proxy) in ONE JVM, loopback only, empty on every start. Jars come from Maven Central (no
# tarball), cached under $FERRY_CACHE.
#
#   scripts/services/rocketmq.sh start|stop|status|restart
#
#   restart kills the JVM (SIGKILL: a crash, not a clean shutdown) and starts it on the same data
#   (messages, topics, consumer groups), as kafka.sh restart does.
#
#   FERRY_ROCKETMQ_PORT           proxy gRPC port: what clients (rocketmq-client-nodejs) use (default 19681)
#   FERRY_ROCKETMQ_REMOTING_PORT  proxy remoting port (default 19680)
#   FERRY_ROCKETMQ_NAMESRV_PORT   name server (default 19676)
#   FERRY_ROCKETMQ_BROKER_PORT    broker remoting port, where admin requests (create topic) go
#                                 (default 19611); the broker also opens this -2 (fast remoting) and
#                                 +1 (HA, for slaves)
#   FERRY_ROCKETMQ_VERSION        org.apache.rocketmq version (default 5.5.0)
#   FERRY_ROCKETMQ_HEAP           JVM heap flags (default -Xms64m -Xmx384m)
#
# No topic is created: gRPC clients cannot create topics, and the proxy does not auto-create them
# (its route lookup answers TOPIC_NOT_FOUND), so tests create theirs through the broker's remoting
# port (test/support/rocketmq.ts). Ferry sends FIFO messages; a topic needs message.type=FIFO.
#
# stop: SIGTERM, then SIGKILL after 5 s; the broker's orderly shutdown takes 15-20 s and its store
# is deleted at the next start anyway.
#
# Test settings: a SimpleConsumer may long-poll for 0.5 s (the proxy's floor is 5 s by default), so
# "receive until idle" is quick.
#
# Loopback only: the name server and broker take bindAddress=127.0.0.1, but the proxy's gRPC and
# remoting servers and the broker's HA listener bind the wildcard address with no option to change
# it. A tiny LD_PRELOAD library (compiled once with gcc into the cache) rewrites a bind() to
# 0.0.0.0:<port> into 127.0.0.1:<port>; ephemeral (port 0) binds are left alone.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

NAME=rocketmq
VERSION="${FERRY_ROCKETMQ_VERSION:-5.5.0}"
PORT="${FERRY_ROCKETMQ_PORT:-19681}"
REMOTING_PORT="${FERRY_ROCKETMQ_REMOTING_PORT:-19680}"
NAMESRV_PORT="${FERRY_ROCKETMQ_NAMESRV_PORT:-19676}"
BROKER_PORT="${FERRY_ROCKETMQ_BROKER_PORT:-19611}"
HEAP="${FERRY_ROCKETMQ_HEAP:--Xms64m -Xmx384m}"
HOME_DIR="$FERRY_CACHE/$NAME-$VERSION"
DATA="$FERRY_DATA/$NAME"
LOGF="$FERRY_LOGS/$NAME.log"
PIDF="$FERRY_RUN/$NAME.pid"
MARK="-Dferry.service=$NAME"
READY="new broker registered"   # the name server, once the broker registered: routes resolve from then on
PORTS=("$NAMESRV_PORT" "$BROKER_PORT" "$((BROKER_PORT - 2))" "$((BROKER_PORT + 1))" "$REMOTING_PORT" "$PORT")

healthy() { local p; for p in "$NAMESRV_PORT" "$BROKER_PORT" "$PORT"; do port_open "$p" || return 1; done; }

write_pom() {
  mkdir -p "$HOME_DIR"
  cat >"$HOME_DIR/pom.xml.new" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ferry.local</groupId><artifactId>rocketmq-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.rocketmq</groupId><artifactId>rocketmq-namesrv</artifactId><version>$VERSION</version></dependency>
    <!-- brings rocketmq-broker: LOCAL mode runs the broker in the proxy's JVM -->
    <dependency><groupId>org.apache.rocketmq</groupId><artifactId>rocketmq-proxy</artifactId><version>$VERSION</version></dependency>
  </dependencies>
</project>
EOF
  # only replace when changed, so fetch_classpath's checksum marker stays valid
  if cmp -s "$HOME_DIR/pom.xml.new" "$HOME_DIR/pom.xml"; then rm -f "$HOME_DIR/pom.xml.new"
  else mv -f "$HOME_DIR/pom.xml.new" "$HOME_DIR/pom.xml"; fi
}

# build_once <source> <output> <command...>: writes <source> from stdin; runs the command when the
# source changed or <output> is missing
build_once() {
  local src="$1" out="$2"; shift 2
  cat >"$src.new"
  if cmp -s "$src.new" "$src" && [[ -f "$out" ]]; then rm -f "$src.new"; return 0; fi
  mv -f "$src.new" "$src"
  "$@" >&2 || die "$NAME: building $out failed"
}

# The launcher starts the name server, then the proxy (NamesrvStartup.main0 returns once the name
# server listens). The broker's first registration at start races its client's scan for reachable
# name servers and usually goes nowhere; the next one is scheduled 10 s later. So the launcher
# registers the broker once more as soon as the name server is reachable (a speed-up only: the
# readiness check waits for the name server's "new broker registered" either way).
write_launcher() {
  local dir="$HOME_DIR/launcher" javac
  mkdir -p "$dir"
  javac="$(dirname "$(readlink -f "$(command -v "$JAVA")")")/javac"
  [[ -x "$javac" ]] || javac="$(command -v javac)" || die "$NAME: javac not found (install a JDK 17+)"
  build_once "$dir/FerryRocketMq.java" "$dir/FerryRocketMq.class" \
    "$javac" -nowarn --release 17 -cp "$HOME_DIR/lib/*" -d "$dir" "$dir/FerryRocketMq.java" <<'EOF'
import java.lang.reflect.Field;
import java.util.List;
import org.apache.rocketmq.broker.BrokerController;
import org.apache.rocketmq.common.utils.AbstractStartAndShutdown;
import org.apache.rocketmq.namesrv.NamesrvStartup;
import org.apache.rocketmq.proxy.ProxyStartup;

/** Name server and proxy (LOCAL mode) in one JVM. args: <namesrv.properties> then ProxyStartup's. */
public final class FerryRocketMq {
  public static void main(String[] args) throws Exception {
    if (NamesrvStartup.main0(new String[] {"-c", args[0]}) == null) System.exit(1);
    ProxyStartup.main(java.util.Arrays.copyOfRange(args, 1, args.length));
    BrokerController broker;
    try {
      broker = findBroker();
    } catch (ReflectiveOperationException | RuntimeException e) {
      System.out.println("FerryRocketMq: no early broker registration (" + e + ")");
      return;
    }
    for (int i = 0; i < 100 && broker.getBrokerOuterAPI().getRemotingClient().getAvailableNameSrvList().isEmpty(); i++) {
      Thread.sleep(50);
    }
    broker.registerBrokerAll(true, false, true);
  }

  /** The BrokerController ProxyStartup created: a field of one of its StartAndShutdown parts. */
  private static BrokerController findBroker() throws ReflectiveOperationException {
    Field all = ProxyStartup.class.getDeclaredField("PROXY_START_AND_SHUTDOWN");
    all.setAccessible(true);
    Field parts = AbstractStartAndShutdown.class.getDeclaredField("startAndShutdownList");
    parts.setAccessible(true);
    for (Object part : (List<?>) parts.get(all.get(null))) {
      for (Field f : part.getClass().getDeclaredFields()) {
        if (f.getType() == BrokerController.class) {
          f.setAccessible(true);
          return (BrokerController) f.get(part);
        }
      }
    }
    throw new NoSuchFieldException("BrokerController");
  }
}
EOF
  need gcc "install gcc (apt-get install gcc): it builds the loopback-bind library once"
  build_once "$HOME_DIR/loopback-bind.c" "$HOME_DIR/loopback-bind.so" \
    gcc -O2 -shared -fPIC -o "$HOME_DIR/loopback-bind.so" "$HOME_DIR/loopback-bind.c" -ldl <<'EOF'
/* LD_PRELOAD: bind(0.0.0.0:<port>) becomes bind(127.0.0.1:<port>) for listeners (port != 0). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  static int (*real)(int, const struct sockaddr *, socklen_t);
  if (!real) real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
  if (addr && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    struct sockaddr_in in;
    memcpy(&in, addr, sizeof in);
    if (in.sin_addr.s_addr == htonl(INADDR_ANY) && in.sin_port != 0) {
      in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      return real(fd, (const struct sockaddr *)&in, sizeof in);
    }
  }
  return real(fd, addr, len);
}
EOF
}

write_config() {
  mkdir -p "$DATA/conf" "$DATA/store"
  cat >"$DATA/conf/namesrv.properties" <<EOF
listenPort=$NAMESRV_PORT
bindAddress=127.0.0.1
kvConfigPath=$DATA/namesrv/kvConfig.json
serverWorkerThreads=2
serverSelectorThreads=1
# the name server's own client would probe itself at the machine's first non-loopback address
# (NetworkUtil.getLocalAddress) every 3 s; it has nothing else to do here
scanAvailableNameSrv=false
EOF
  cat >"$DATA/conf/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=ferry-broker
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
brokerIP1=127.0.0.1
brokerIP2=127.0.0.1
bindAddress=127.0.0.1
listenPort=$BROKER_PORT
namesrvAddr=127.0.0.1:$NAMESRV_PORT
storePathRootDir=$DATA/store
storePathCommitLog=$DATA/store/commitlog
# topics are created explicitly (message.type decides what a topic accepts)
autoCreateTopicEnable=false
autoCreateSubscriptionGroup=true
# small files: the defaults (1 GB commit log) are for production disks
mappedFileSizeCommitLog=67108864
mappedFileSizeTimerLog=16777216
defaultTopicQueueNums=4
serverWorkerThreads=2
serverSelectorThreads=1
sendMessageThreadPoolNums=2
pullMessageThreadPoolNums=2
EOF
  cat >"$DATA/conf/rmq-proxy.json" <<EOF
{
  "rocketMQClusterName": "DefaultCluster",
  "proxyMode": "LOCAL",
  "namesrvAddr": "127.0.0.1:$NAMESRV_PORT",
  "localServeAddr": "127.0.0.1",
  "grpcServerPort": $PORT,
  "remotingListenPort": $REMOTING_PORT,
  "grpcWorkerLoopNum": 2,
  "grpcThreadPoolNums": 8,
  "grpcClientConsumerMinLongPollingTimeoutMillis": 500,
  "enablePrintJstack": false
}
EOF
  # one console log (the jars' own configs write rolling files under ~/logs/rocketmqlogs)
  cat >"$DATA/conf/logback.xml" <<'EOF'
<configuration>
  <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %p %c{0} - %m%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="OUT"/></root>
  <logger name="RocketmqProxy" level="INFO"/>
  <logger name="RocketmqNamesrv" level="INFO"/>
  <logger name="RocketmqBroker" level="INFO"/>
  <logger name="RocketmqRemoting" level="INFO"/>
</configuration>
EOF
}

start() {
  service_lock "$NAME"
  local pid t0=$SECONDS p
  if pid="$(service_pid "$PIDF" "$MARK")"; then
    if healthy; then log "$NAME already running (pid $pid) on 127.0.0.1:$PORT"; return 0; fi
    log "$NAME (pid $pid) does not answer on 127.0.0.1:$PORT/$NAMESRV_PORT/$BROKER_PORT; restarting it"
    stop_pidfile "$PIDF" 20
  fi
  for p in "${PORTS[@]}"; do port_free "$p" "$NAME"; done
  need_java 17
  write_pom
  fetch_classpath "$HOME_DIR"
  write_launcher

  if [[ "${KEEP_DATA:-}" == 1 && -f "$DATA/conf/broker.conf" ]]; then
    log "$NAME: starting again on its data"
  else
    rm -rf "$DATA"            # tests expect an empty broker
    write_config
  fi
  rotate_log "$LOGF"

  # user.home: where the broker and its internal clients put stray files (~/logs, ~/store)
  (cd "$DATA" && ROCKETMQ_HOME="$DATA" LD_PRELOAD="$HOME_DIR/loopback-bind.so" exec nohup "$JAVA" \
      $HEAP $JVM_SMALL -XX:MaxDirectMemorySize=256m -XX:MaxMetaspaceSize=160m "$MARK" \
      -Duser.home="$DATA" -Drocketmq.home.dir="$DATA" \
      -Drmq.logback.configurationFile="$DATA/conf/logback.xml" \
      -cp "$HOME_DIR/launcher:$HOME_DIR/lib/*" FerryRocketMq "$DATA/conf/namesrv.properties" \
      -pm local -n "127.0.0.1:$NAMESRV_PORT" -bc "$DATA/conf/broker.conf" -pc "$DATA/conf/rmq-proxy.json" \
      </dev/null >>"$LOGF" 2>&1 9>&-) &
  pid=$!
  echo "$pid" >"$PIDF"
  trap 'stop_pidfile "$PIDF" 5' EXIT   # do not leave a half-started JVM behind on failure
  wait_log "$LOGF" "$READY" 120 "$pid" "$NAME"
  for p in "$NAMESRV_PORT" "$BROKER_PORT" "$PORT"; do wait_port "$p" 10 "$pid" "$NAME" "$LOGF"; done
  trap - EXIT
  log "$NAME $VERSION ready: proxy gRPC 127.0.0.1:$PORT (remoting $REMOTING_PORT), name server $NAMESRV_PORT, broker $BROKER_PORT (pid $pid, $((SECONDS - t0))s, log $LOGF)"
}

# wait_closed: until none of the ports accepts connections (a killed JVM lets go of them a moment later)
wait_closed() {
  local p open
  for _ in $(seq 1 50); do
    open=0
    for p in "${PORTS[@]}"; do port_open "$p" && open=1; done
    [[ $open == 0 ]] && return 0
    sleep 0.2
  done
}

case "${1:-}" in
  restart)
    if pid="$(service_pid "$PIDF" "$MARK")"; then kill -9 "$pid" 2>/dev/null || true; fi
    wait_closed
    rm -f "$PIDF"
    KEEP_DATA=1 start ;;
  stop) service_stop 5; wait_closed ;;
  *) service_main "${1:-}" 5 "127.0.0.1:$PORT (name server $NAMESRV_PORT, broker $BROKER_PORT)" ;;
esac
