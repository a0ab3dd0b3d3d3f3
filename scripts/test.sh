#!/usr/bin/env bash
# Sets up this machine, starts the real services the tests use, runs type check, lint and the
# whole test suite, and stops the services again. This is the README's test command and what
# CI runs. Extra arguments go to vitest (e.g. a test file).
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh
use_node24
trap 'bash scripts/services/all.sh stop' EXIT
bash scripts/services/all.sh start
# one real synth (bundles the functions with esbuild, runs cdk-nag; test/cdk/bundles.test.ts runs
# its output), beside the type check and lint: each of them leaves a core mostly idle
npm run --silent synth > "$FERRY_LOGS/synth.log" 2>&1 &
synth=$!
npm run --silent typecheck
npm run --silent lint
wait "$synth" || { cat "$FERRY_LOGS/synth.log"; echo "cdk synth failed" >&2; exit 1; }
report="$FERRY_RUN/vitest-report.json"
status=0
npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
# one plain closing line for whoever reads the log
node -e 'const r = require(process.argv[1]); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' "$report" || true
exit $status
