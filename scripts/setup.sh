#!/usr/bin/env bash
# Installs what Ferry needs on a fresh Debian machine (idempotent; quick when all is there):
# MariaDB server binaries, Java and Maven (for the emulator services), Node 24 from the npm
# registry, and the npm dependencies. Usage: scripts/setup.sh [--no-java]
source "$(dirname "$0")/lib.sh"

want_java=1
[[ "${1:-}" == --no-java ]] && want_java=0

missing=()
command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]] || missing+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
if [[ $want_java == 1 ]]; then
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  # rocketmq.sh compiles a small launcher (javac) and its loopback-bind library (gcc)
  command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
  command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
fi
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# the console's browser tests drive Debian's Chromium (with its recommended fonts): nothing downloads a browser
browser=()
[[ $want_java == 1 ]] && ! command -v chromium >/dev/null 2>&1 && browser=(chromium)
if [[ ${#missing[@]} -gt 0 || ${#browser[@]} -gt 0 ]]; then
  [[ $(id -u) == 0 ]] || die "missing packages ${missing[*]}: install them with apt-get (needs root)"
  log "installing ${missing[*]} ${browser[*]} with apt-get"
  apt-get update -qq >/dev/null
  if [[ ${#missing[@]} -gt 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
  fi
  if [[ ${#browser[@]} -gt 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
  fi
fi

use_node24
cd "$REPO_ROOT"
lock_sum="$(sha256sum package-lock.json | cut -c1-16)"
if [[ ! -f node_modules/.ferry-installed-$lock_sum ]]; then
  log "installing npm dependencies"
  # npm ci refuses a lock file that lacks optional packages for other platforms (biome's), which
  # this registry does not always list; npm install then installs the same locked versions
  npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 \
    || npm install --no-audit --no-fund --loglevel=error >/dev/null \
    || die "npm install failed"
  touch "node_modules/.ferry-installed-$lock_sum"
fi
# the web console, served by `ferry local up` (and deployed to S3 by the CDK stack)
node --import tsx console/build.ts >/dev/null || die "building the console failed"
log "setup done: node $(node --version), $(mariadbd --version 2>/dev/null | awk '{print $3}' || echo mariadb)"
