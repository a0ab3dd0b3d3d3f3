#!/usr/bin/env bash
# DynamoDB Local for tests: in-memory, shared DB (any credentials/region see the same tables),
# empty on every start, listening on 127.0.0.1 only. Jars come from Maven Central, cached
# under $FERRY_CACHE.
#
#   scripts/services/dynamodb-local.sh start|stop|status
#
#   FERRY_DYNAMODB_LOCAL_PORT     HTTP port on 127.0.0.1 (default 18000)
#   FERRY_DYNAMODB_LOCAL_VERSION  software.amazon.dynamodb:DynamoDBLocal version (default 3.3.1;
#                                 2.x lives under com.amazonaws: set FERRY_DYNAMODB_LOCAL_GROUP too)
#   FERRY_DYNAMODB_LOCAL_HEAP     JVM heap flags (default -Xms32m -Xmx256m)
#
# DynamoDB Local has no bind-address option: its Jetty Server(port) listens on every interface.
# A tiny launcher (FerryDynamoDbLocal.java, compiled once into the cache) builds the server the way
# ServerRunner.main does, moves each Jetty connector to 127.0.0.1, then starts it.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

NAME=dynamodb-local
VERSION="${FERRY_DYNAMODB_LOCAL_VERSION:-3.3.1}"
GROUP="${FERRY_DYNAMODB_LOCAL_GROUP:-software.amazon.dynamodb}"
PORT="${FERRY_DYNAMODB_LOCAL_PORT:-18000}"
HEAP="${FERRY_DYNAMODB_LOCAL_HEAP:--Xms32m -Xmx256m}"
HOME_DIR="$FERRY_CACHE/$NAME-$VERSION"
DATA="$FERRY_DATA/$NAME"
LOGF="$FERRY_LOGS/$NAME.log"
PIDF="$FERRY_RUN/$NAME.pid"
MARK="-Dferry.service=$NAME"
READY="FERRY_DYNAMODB_LOCAL_READY"   # printed by the launcher once Jetty has started

healthy() { port_open "$PORT"; }

write_pom() {
  mkdir -p "$HOME_DIR"
  cat >"$HOME_DIR/pom.xml.new" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ferry.local</groupId><artifactId>dynamodb-local-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- brings sqlite4java and its native libraries (type so/dll/dylib) at runtime scope -->
    <dependency><groupId>$GROUP</groupId><artifactId>DynamoDBLocal</artifactId><version>$VERSION</version></dependency>
    <!-- the AWS SDK inside logs through slf4j-api 1.7 without a binding: silence its warning -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
EOF
  if cmp -s "$HOME_DIR/pom.xml.new" "$HOME_DIR/pom.xml"; then rm -f "$HOME_DIR/pom.xml.new"
  else mv -f "$HOME_DIR/pom.xml.new" "$HOME_DIR/pom.xml"; fi
}

write_launcher() {
  mkdir -p "$HOME_DIR/launcher"
  cat >"$HOME_DIR/launcher/FerryDynamoDbLocal.java.new" <<'EOF'
import java.lang.reflect.Field;

/** Starts DynamoDB Local (3.x or 2.x) with every Jetty connector bound to 127.0.0.1. */
public final class FerryDynamoDbLocal {
  private static final String[] RUNNERS = {
    "software.amazon.dynamodb.services.local.main.ServerRunner",   // 3.x
    "com.amazonaws.services.dynamodbv2.local.main.ServerRunner",   // 1.x/2.x
  };

  public static void main(String[] args) throws Exception {
    Class<?> runner = null;
    for (String name : RUNNERS) {
      try { runner = Class.forName(name); break; } catch (ClassNotFoundException e) { /* next */ }
    }
    if (runner == null) throw new IllegalStateException("no DynamoDB Local ServerRunner on the classpath");
    Object proxy = runner.getMethod("createServerFromCommandLineArgs", String[].class).invoke(null, (Object) args);
    Object jetty = null;
    for (Class<?> c = proxy.getClass(); c != null && jetty == null; c = c.getSuperclass()) {
      for (Field f : c.getDeclaredFields()) {
        if (f.getType().getName().equals("org.eclipse.jetty.server.Server")) {
          f.setAccessible(true);
          jetty = f.get(proxy);
          break;
        }
      }
    }
    if (jetty == null) throw new IllegalStateException("no Jetty Server inside " + proxy.getClass().getName());
    Object[] connectors = (Object[]) jetty.getClass().getMethod("getConnectors").invoke(jetty);
    if (connectors.length == 0) throw new IllegalStateException("Jetty has no connectors");
    for (Object conn : connectors) {
      conn.getClass().getMethod("setHost", String.class).invoke(conn, "127.0.0.1");
    }
    proxy.getClass().getMethod("start").invoke(proxy);   // returns once Jetty accepts connections
    StringBuilder bound = new StringBuilder();
    for (Object conn : connectors) {
      Object host = conn.getClass().getMethod("getHost").invoke(conn);
      Object port = conn.getClass().getMethod("getLocalPort").invoke(conn);
      bound.append(' ').append(host).append(':').append(port);
    }
    System.out.println("FERRY_DYNAMODB_LOCAL_READY" + bound);
    System.out.flush();
    proxy.getClass().getMethod("join").invoke(proxy);
  }
}
EOF
  local src="$HOME_DIR/launcher/FerryDynamoDbLocal.java"
  if ! cmp -s "$src.new" "$src"; then
    mv -f "$src.new" "$src"
    rm -f "$HOME_DIR/launcher/FerryDynamoDbLocal.class"
  else
    rm -f "$src.new"
  fi
  # compile once when a JDK is around; a JRE falls back to the source launcher (java File.java)
  local javac
  javac="$(dirname "$(command -v "$JAVA")")/javac"
  [[ -x "$javac" ]] || javac="$(command -v javac || true)"
  if [[ ! -f "$HOME_DIR/launcher/FerryDynamoDbLocal.class" && -n "$javac" ]]; then
    "$javac" -nowarn --release 17 -d "$HOME_DIR/launcher" "$src" >&2 \
      || die "$NAME: compiling $src failed"
  fi
}

start() {
  service_lock "$NAME"
  local pid t0=$SECONDS main
  if pid="$(service_pid "$PIDF" "$MARK")"; then
    if healthy; then log "$NAME already running (pid $pid) on 127.0.0.1:$PORT"; return 0; fi
    log "$NAME (pid $pid) does not answer on 127.0.0.1:$PORT; restarting it"
    stop_pidfile "$PIDF" 10
  fi
  port_free "$PORT" "$NAME"
  need_java 17
  write_pom
  fetch_classpath "$HOME_DIR"
  ls "$HOME_DIR"/lib/libsqlite4java-linux-amd64-*.so >/dev/null 2>&1 \
    || die "$NAME: sqlite4java native library missing in $HOME_DIR/lib (delete that folder to re-fetch)"
  write_launcher

  rm -rf "$DATA"; mkdir -p "$DATA"   # in-memory: nothing is written here but the JVM's cwd
  rotate_log "$LOGF"
  if [[ -f "$HOME_DIR/launcher/FerryDynamoDbLocal.class" ]]; then
    main=(-cp "$HOME_DIR/launcher:$HOME_DIR/lib/*" FerryDynamoDbLocal)
  else
    main=(-cp "$HOME_DIR/lib/*" "$HOME_DIR/launcher/FerryDynamoDbLocal.java")
  fi
  # cwd = $DATA: ServerRunner probes ./pom.xml and /.dockerenv for its (disabled) telemetry
  (cd "$DATA" && DDB_LOCAL_TELEMETRY=0 exec nohup "$JAVA" $HEAP $JVM_SMALL "$MARK" \
      -Dsqlite4java.library.path="$HOME_DIR/lib" \
      "${main[@]}" -inMemory -sharedDb -port "$PORT" -disableTelemetry \
      </dev/null >>"$LOGF" 2>&1 9>&-) &
  pid=$!
  echo "$pid" >"$PIDF"
  trap 'stop_pidfile "$PIDF" 5' EXIT
  wait_log "$LOGF" "$READY" 60 "$pid" "$NAME"
  wait_port "$PORT" 10 "$pid" "$NAME" "$LOGF"
  trap - EXIT
  log "$NAME $VERSION ready on http://127.0.0.1:$PORT (pid $pid, $((SECONDS - t0))s, log $LOGF)"
}

service_main "${1:-}" 10 "http://127.0.0.1:$PORT"
