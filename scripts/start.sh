#!/usr/bin/env bash
# One gateway on its embedded defaults (memory bus, no external service), serving the admin
# API too (ADMIN_API=embedded) on an SQLite file (./data/voiceroom.db): the single-node entry,
# apps/single-node/src/server.ts, which plugs the admin API into the gateway (with ADMIN_API=off
# it is the gateway alone). Installs the npm dependencies first when they are missing.
# Configuration: docs/configuration.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v node >/dev/null || { echo "npm start: Node.js 20.19+ is needed" >&2; exit 1; }
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "npm start: installing npm dependencies (npm ci)…" >&2
  npm ci --no-audit --no-fund >&2
fi
# The embedded admin API (SQLite) is for one node: only on the memory bus unless asked for.
if [ "${BUS:-memory}" = memory ]; then export ADMIN_API="${ADMIN_API:-embedded}"; else export ADMIN_API="${ADMIN_API:-off}"; fi
if [ "$ADMIN_API" = embedded ] && [ -z "${ADMIN_BOOTSTRAP_KEY:-}" ] && [ "${NODE_ENV:-development}" = development ]; then
  export ADMIN_BOOTSTRAP_KEY=dev-admin-key-change-me-0000
  echo "npm start: admin API key for this development run: $ADMIN_BOOTSTRAP_KEY (set ADMIN_BOOTSTRAP_KEY to choose one)" >&2
fi
# The voice-room page (apps/web/dist) and the admin console (apps/web/dist-admin, served at /admin/),
# rebuilt when a source is newer than the bundle.
if [ ! -f apps/web/dist/app.js ] || [ ! -f apps/web/dist-admin/console.js ] || [ -n "$(find apps/web/src apps/web/build.mjs libs/client/src libs/protocol/src -newer apps/web/dist/app.js -print -quit)" ]; then
  echo "npm start: building the voice-room page and the admin console (apps/web)…" >&2
  node apps/web/build.mjs >&2
fi
if [ "${NODE_ENV:-development}" = development ]; then export DEV_TOKENS="${DEV_TOKENS:-true}"; fi
# Development defaults (public JWT secret, printed admin key, DEV_TOKENS) are for this machine
# only: listen on loopback unless HOST says otherwise (HOST=0.0.0.0 npm start for the LAN).
export HOST="${HOST:-127.0.0.1}"
exec node --conditions=development --import tsx apps/single-node/src/server.ts
