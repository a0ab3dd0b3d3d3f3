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
npx vitest run "$@"
