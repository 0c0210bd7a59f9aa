#!/usr/bin/env bash
# One gateway on its embedded defaults (memory bus, no external service). Installs the npm
# dependencies first when they are missing. Configuration: docs/configuration.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v node >/dev/null || { echo "npm start: Node.js 20.19+ is needed" >&2; exit 1; }
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "npm start: installing npm dependencies (npm ci)…" >&2
  npm ci --no-audit --no-fund >&2
fi
exec node --conditions=development --import tsx apps/gateway/src/server.ts
