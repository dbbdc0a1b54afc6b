#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, lints, and runs every test
# (unit + integration against real redis-server, the real engine and sipp).
# Writes vitest's JSON report to .vitest-results.json.
set -euo pipefail
cd "$(dirname "$0")/../../.."
bash packages/cli/scripts/ensure-deps.sh --with-sipp
npx tsc -b
npm run -s build:web -w @kumo/console
npx eslint . --max-warnings=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.vitest-results.json "$@"
