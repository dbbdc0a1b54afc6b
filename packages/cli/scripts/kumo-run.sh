#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and starts Kumo all-in-one with the demo tenant.
set -euo pipefail
cd "$(dirname "$0")/../../.."
bash packages/cli/scripts/ensure-deps.sh
npx tsc -b
npm run -s build:web -w @kumo/console
exec node packages/cli/dist/main.js up --demo "$@"
