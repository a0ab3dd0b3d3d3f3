#!/usr/bin/env bash
# Starts or stops Ferry's local services. Usage: all.sh start|stop|status [service ...]
# Services: mariadb embedded-aws dynamodb-local elasticmq kafka rocketmq (default: all of them).
# Started one after another to spare a 2-core machine; stopped in reverse order.
source "$(dirname "$0")/../lib.sh"
D="$(cd "$(dirname "$0")" && pwd)"
ALL=(mariadb embedded-aws dynamodb-local elasticmq kafka rocketmq)
# the tests also use the scratch instances (servers they restart)
export FERRY_MARIADB_INSTANCES="${FERRY_MARIADB_INSTANCES:-source destination scratch scratch2}"

cmd="${1:-start}"; shift || true
names=("$@"); [[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
for n in "${names[@]}"; do [[ -f "$D/$n.sh" ]] || die "unknown service '$n' (known: ${ALL[*]})"; done

case "$cmd" in
  start)
    for n in "${names[@]}"; do
      t0=$(date +%s%N)
      bash "$D/$n.sh" start
      log "$n up in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
    done ;;
  stop)
    for ((i = ${#names[@]} - 1; i >= 0; i--)); do bash "$D/${names[$i]}.sh" stop || true; done ;;
  status)
    rc=0; for n in "${names[@]}"; do bash "$D/$n.sh" status || rc=1; done; exit $rc ;;
  *) die "usage: $0 start|stop|status [service ...]" ;;
esac
