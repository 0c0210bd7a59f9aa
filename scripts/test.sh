#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, starts the real RocketMQ
# (and MariaDB if it is installed but stopped), type-checks, lints, runs every jest test, stops what
# it started. Usage: npm test [-- <jest args>]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
started_rocketmq=0
say() { printf '\n== %s\n' "$*"; }
die() { printf '\nnpm test: %s\n' "$*" >&2; exit 1; }

cleanup() {
  if [ "$started_rocketmq" = 1 ] && [ -z "${KEEP_ROCKETMQ:-}" ]; then
    say "stopping the RocketMQ this run started (KEEP_ROCKETMQ=1 keeps it)"
    bash rocketmq/rocketmq.sh down || true
  fi
}
trap cleanup EXIT

# --- Node and npm dependencies -----------------------------------------------------------
command -v node >/dev/null || die "Node.js is missing: install Node 20.19+ (e.g. apt-get install nodejs npm) and retry."
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node $(node --version) is too old: this project needs Node 20.19 or newer."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund || die "npm ci failed: check access to the npm registry."
fi

# --- kubectl (deploy/test renders the Kubernetes manifests with `kubectl kustomize`) --------
command -v "${KUBECTL:-kubectl}" >/dev/null \
  || die "kubectl is missing: deploy/test/manifests.test.ts renders the manifests with 'kubectl kustomize'. Install kubectl (https://kubernetes.io/docs/tasks/tools/) or set KUBECTL=/path/to/kubectl."

# --- Java and Maven for RocketMQ ---------------------------------------------------------
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing a JDK and Maven for RocketMQ (apt-get)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless maven) \
      || die "could not install Java/Maven: run 'apt-get install openjdk-17-jdk-headless maven' and retry."
  else
    die "Java 17 and Maven are needed to run RocketMQ: install them (Debian: apt-get install openjdk-17-jdk-headless maven)."
  fi
fi

# --- MariaDB (used by the persistence tests) ----------------------------------------------
if command -v mariadb-admin >/dev/null && ! mariadb-admin -h127.0.0.1 -uroot ping >/dev/null 2>&1; then
  if command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ]; then
    say "starting the installed MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
    for _ in $(seq 1 30); do mariadb-admin -h127.0.0.1 -uroot ping >/dev/null 2>&1 && break; sleep 1; done
  fi
fi

if [ -z "${TEST_MYSQL_URL:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; then
  die "MariaDB/MySQL is not reachable at 127.0.0.1:3306 (the persistence and admin tests need it): install it (Debian: apt-get install mariadb-server; this script starts an installed one), or set TEST_MYSQL_URL=mysql://user:password@host:port."
fi

# --- Chromium (the page's browser tests) ----------------------------------------------------
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian's chromium for the browser tests (apt-get)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
      || die "could not install chromium: run 'apt-get install chromium' (or set CHROMIUM_PATH) and retry."
  else
    die "Chromium is needed for the browser tests: install Debian's package (apt-get install chromium) or set CHROMIUM_PATH. No browser is downloaded."
  fi
fi

# --- promtool (the metrics and alert rule checks) -------------------------------------------
if ! command -v promtool >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian's prometheus package for promtool (apt-get)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) \
      || die "could not install prometheus: run 'apt-get install prometheus' (it provides promtool) and retry."
  else
    die "promtool is needed for the metrics and alert rule tests: install Debian's package (apt-get install prometheus)."
  fi
fi

# --- Type check -------------------------------------------------------------------------
say "type-checking (tsc -b)"
npx tsc -b || die "type errors (above)."
say "linting (eslint, prettier --check)"
npx eslint . || die "lint errors (above): fix them (npx eslint --fix . fixes some), or see eslint.config.mjs for why a rule is on."
npx prettier --check . || die "files not formatted as Prettier would (listed above): run 'npm run format' and commit the result."
say "building the voice-room page (apps/web)"
node apps/web/build.mjs || die "the page did not build (above)."

# --- RocketMQ ---------------------------------------------------------------------------
if ! bash rocketmq/rocketmq.sh status >/dev/null 2>&1; then
  say "starting RocketMQ (NameServer + Proxy with embedded broker; first run downloads jars from Maven Central)"
  started_rocketmq=1
  bash rocketmq/rocketmq.sh up || die "RocketMQ did not start (see above; 'bash rocketmq/rocketmq.sh logs' shows more)."
else
  say "RocketMQ already running; using it"
  bash rocketmq/rocketmq.sh topics >/dev/null || die "could not create the RocketMQ topics."
fi

# --- Tests ------------------------------------------------------------------------------
say "running the test suite (jest)"
mkdir -p artifacts
status=0
# --forceExit: a rocketmq-client-nodejs 1.0.8 client whose startup hung keeps timers alive after
# shutdown (docs/rocketmq.md); every test file closes what it opened, the rest is the client's.
npx jest --ci --runInBand --forceExit --json --outputFile=artifacts/jest-results.json "$@" || status=$?
node -e '
  const r = require(process.argv[1]);
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  if (r.numTotalTests === 0) { console.error("npm test: no test ran"); process.exit(1); }
' "$ROOT/artifacts/jest-results.json" || status=1
exit "$status"
