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
npm run --silent typecheck
npm run --silent lint
# one real synth: bundles the Lambda functions with esbuild, runs cdk-nag and CloudFormation validation
npm run --silent synth
report="$FERRY_RUN/vitest-report.json"
status=0
npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
# one plain closing line for whoever reads the log
node -e 'const r = require(process.argv[1]); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' "$report" || true
exit $status
