#!/usr/bin/env bash
# Local Apache RocketMQ for development and tests, run from the published jars with plain `java`
# (no Docker): a NameServer JVM and a Proxy JVM in local mode with the broker embedded.
#
#   rocketmq/rocketmq.sh up                      start (fetch jars if needed), wait until ready, create topics
#   rocketmq/rocketmq.sh down                    stop both JVMs (SIGTERM, then SIGKILL after a bound)
#   rocketmq/rocketmq.sh status                  exit 0 if both run and the gRPC port accepts, else 3
#   rocketmq/rocketmq.sh logs [namesrv|proxy] [N] last N lines of the JVMs' output and main logs
#   rocketmq/rocketmq.sh topics                  create the topics of rocketmq/topics.txt
#   rocketmq/rocketmq.sh group NAME [orderly]    create or update a consumer group; `orderly` for FIFO
#                                                topics (updateSubGroup -o true; see docs/events.md)
#
# Environment (all optional):
#   ROCKETMQ_RUNTIME_DIR   runtime folder (configs, logs, store, pid files); default <repo>/.rocketmq
#   ROCKETMQ_START_TIMEOUT seconds `up` waits for the JVMs to be ready; default 120
#   ROCKETMQ_STOP_TIMEOUT  seconds `down` waits after SIGTERM before SIGKILL, per JVM; default 20
#   ROCKETMQ_NAMESRV_PORT  9876    ROCKETMQ_GRPC_PORT 8081    ROCKETMQ_REMOTING_PORT 18080
#   ROCKETMQ_BROKER_PORT   10911 (the broker also opens PORT-2 and PORT+1)
#   ROCKETMQ_NAMESRV_HEAP  256m    ROCKETMQ_PROXY_HEAP 1g
#   JAVA_HOME              java to use (else `java` on PATH)
# See docs/rocketmq.md.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd -P)"
CONF_SRC="$SCRIPT_DIR/conf"
TOPICS_FILE="$SCRIPT_DIR/topics.txt"
POM="$SCRIPT_DIR/pom.xml"

RT="${ROCKETMQ_RUNTIME_DIR:-$REPO_DIR/.rocketmq}"
case "$RT" in /*) ;; *) RT="$PWD/$RT" ;; esac
RT="${RT%/}"

START_TIMEOUT="${ROCKETMQ_START_TIMEOUT:-120}"
NAMESRV_PORT="${ROCKETMQ_NAMESRV_PORT:-9876}"
GRPC_PORT="${ROCKETMQ_GRPC_PORT:-8081}"
REMOTING_PORT="${ROCKETMQ_REMOTING_PORT:-18080}"
BROKER_PORT="${ROCKETMQ_BROKER_PORT:-10911}"
NAMESRV_HEAP="${ROCKETMQ_NAMESRV_HEAP:-256m}"
PROXY_HEAP="${ROCKETMQ_PROXY_HEAP:-1g}"
STOP_TIMEOUT="${ROCKETMQ_STOP_TIMEOUT:-20}"
NS_ADDR="127.0.0.1:$NAMESRV_PORT"
CLUSTER=DefaultCluster

for v in START_TIMEOUT STOP_TIMEOUT NAMESRV_PORT GRPC_PORT REMOTING_PORT BROKER_PORT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "rocketmq: $v must be a number, got '${!v}'" >&2; exit 2; }
done

# These would otherwise leak into the JVMs' defaults.
unset ROCKETMQ_HOME NAMESRV_ADDR

VERSION="$(sed -n 's:.*<rocketmq\.version>[[:space:]]*\([^<[:space:]]*\)[[:space:]]*</rocketmq\.version>.*:\1:p' "$POM" | head -n 1)"
[[ -n "$VERSION" ]] || { echo "rocketmq: cannot read <rocketmq.version> from $POM" >&2; exit 2; }
LIB="$SCRIPT_DIR/lib/$VERSION"

JAVA="java"
[[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]] && JAVA="$JAVA_HOME/bin/java"

INSTALL_HINT="install them with: apt-get install openjdk-17-jdk-headless maven"

# ---------------------------------------------------------------------------------------------- helpers

say() { echo "rocketmq: $*" >&2; }
die() { echo "rocketmq: $*" >&2; exit 1; }

now_ms() {
  if [[ -n "${EPOCHREALTIME:-}" ]]; then local t="${EPOCHREALTIME/[.,]/}"; echo $((10#$t / 1000)); else date +%s%3N; fi
}
since() { # since START_MS -> "1.23s"
  local d=$(($(now_ms) - $1))
  printf '%d.%02ds' $((d / 1000)) $((d % 1000 / 10))
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Regex (ERE) of the marker that identifies the JVMs of THIS runtime dir on their command line.
re_escape() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'; }
marker() { echo "-Drocketmq.home.dir=$RT/$1"; }
marker_re() { echo "-Drocketmq\\.home\\.dir=$(re_escape "$RT/$1")( |\$)"; }

cmdline_of() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null || true; }

alive() { # pid -> 0 if running (zombies count as gone)
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st="$(ps -o stat= -p "$1" 2>/dev/null || true)"
  [[ -n "$st" && "$st" != Z* ]]
}

# pid of component (namesrv|proxy) of this runtime dir, or nothing.
pid_of() {
  local name="$1" pidfile="$RT/$1.pid" pid=""
  if [[ -s "$pidfile" ]]; then
    pid="$(head -n 1 "$pidfile")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && [[ " $(cmdline_of "$pid")" == *" $(marker "$name") "* ]]; then
      echo "$pid"; return 0
    fi
  fi
  pid="$(pgrep -f -- "$(marker_re "$name")" | head -n 1 || true)"
  if [[ -n "$pid" ]] && alive "$pid"; then echo "$pid" >"$pidfile"; echo "$pid"; fi
  return 0
}

# All JVMs (any component, admin tools included) started with this runtime dir.
stray_pids() { pgrep -f -- "-Drocketmq\\.home\\.dir=$(re_escape "$RT")/" || true; }

wait_gone() { # pid seconds -> 0 when gone
  local pid="$1" end=$(($(now_ms) + $2 * 1000))
  while alive "$pid"; do
    (($(now_ms) < end)) || return 1
    sleep 0.1
  done
}

# A stopped JVM stays a zombie until its parent reaps it; here PID 1 does that only every second
# or so. Wait a little (cosmetic: a zombie holds no port or memory) so `pgrep java` is clean after.
wait_reaped() { # pids...
  local pid end=$(($(now_ms) + 3000))
  for pid in "$@"; do
    while kill -0 "$pid" 2>/dev/null && (($(now_ms) < end)); do sleep 0.05; done
  done
}

stop_pid() { # pid label
  local pid="$1" label="$2" t0
  alive "$pid" || return 0
  t0=$(now_ms)
  say "stopping $label (pid $pid)…"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
    say "$label still running after ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || die "$label (pid $pid) survives SIGKILL"
  fi
  say "$label stopped in $(since "$t0")"
  STOPPED_PIDS+=("$pid")
}
STOPPED_PIDS=()

stop_component() {
  local pid
  pid="$(pid_of "$1")"
  [[ -n "$pid" ]] && stop_pid "$pid" "$1"
  rm -f "$RT/$1.pid"
}

# The JVM's stdout/stderr, then its main logs (timestamps in those are GMT+8, set by RocketMQ).
log_files() { # component
  echo "$RT/$1.out"
  case "$1" in
    namesrv) echo "$RT/namesrv/logs/rocketmqlogs/namesrv.log" ;;
    proxy) echo "$RT/proxy/logs/rocketmqlogs/proxy.log"; echo "$RT/proxy/logs/rocketmqlogs/broker.log" ;;
  esac
}

show_tail() { # component lines [this-run-only]
  local f files from
  mapfile -t files < <(log_files "$1")
  for f in "${files[@]}"; do
    [[ -f "$f" ]] || continue
    echo "==> $f <=="
    from="${LOG_FROM["$f"]:-1}"
    [[ -n "${3:-}" ]] || from=1
    (($(wc -c <"$f") + 1 >= from)) || from=1
    tail -c "+$from" "$f" | tail -n "$2"
  done
}

# Byte offsets where this run's part of each appended log file starts (<name>.out is truncated).
declare -A LOG_FROM=()
mark_logs() { # component
  local f files
  mapfile -t files < <(log_files "$1")
  for f in "${files[@]}"; do
    if [[ -f "$f" && "$f" != *.out ]]; then LOG_FROM["$f"]=$(($(wc -c <"$f") + 1)); else LOG_FROM["$f"]=1; fi
  done
}

need_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (need a JDK 17); $INSTALL_HINT"
}

ensure_jars() {
  [[ -f "$LIB/.complete" ]] && return 0
  command -v mvn >/dev/null 2>&1 || die "RocketMQ $VERSION jars missing in $LIB and mvn not found; $INSTALL_HINT"
  local t0
  t0=$(now_ms)
  say "copying RocketMQ $VERSION jars to $LIB with maven…"
  mkdir -p "$RT"
  if ! mvn -B -q -f "$POM" dependency:copy-dependencies >"$RT/mvn.out" 2>&1; then
    tail -n 30 "$RT/mvn.out" >&2
    die "mvn -f $POM dependency:copy-dependencies failed (output in $RT/mvn.out)"
  fi
  [[ -f "$LIB/rocketmq-proxy-$VERSION.jar" && -f "$LIB/rocketmq-namesrv-$VERSION.jar" && -f "$LIB/rocketmq-tools-$VERSION.jar" ]] ||
    die "jars for $VERSION not found in $LIB after mvn"
  touch "$LIB/.complete"
  say "jars ready ($(ls "$LIB" | wc -l) files) in $(since "$t0")"
}

jvm_opts() { # common options of every JVM we start
  local major
  major="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\(\.[0-9]*\)*.*/\1/p' | head -n 1)"
  [[ "$major" == 1 ]] && major=8
  JVM_COMMON=(-XX:-OmitStackTraceInFastThrow -Dfile.encoding=UTF-8 -Djava.awt.headless=true)
  if [[ -n "$major" ]] && ((major >= 9)); then
    JVM_COMMON+=(--add-opens java.base/java.nio=ALL-UNNAMED --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
      --add-opens java.base/java.util=ALL-UNNAMED --add-exports java.base/sun.nio.ch=ALL-UNNAMED)
  fi
}

# Configs are chosen at run time (runtime dir, ports): write the copies the JVMs read.
write_configs() {
  mkdir -p "$RT/conf" "$RT/namesrv" "$RT/proxy" "$RT/tools"
  local rt_repl
  rt_repl="$(printf '%s' "$RT" | sed 's/[&|\\]/\\&/g')"
  local subst=(-e "s|@RUNTIME_DIR@|$rt_repl|g")
  sed "${subst[@]}" -e "s|^listenPort=.*|listenPort=$NAMESRV_PORT|" \
    "$CONF_SRC/namesrv.conf" >"$RT/conf/namesrv.conf"
  sed "${subst[@]}" -e "s|^namesrvAddr=.*|namesrvAddr=$NS_ADDR|" \
    -e "s|^listenPort=.*|listenPort=$BROKER_PORT|" -e "s|^haListenPort=.*|haListenPort=$((BROKER_PORT + 1))|" \
    "$CONF_SRC/broker.conf" >"$RT/conf/broker.conf"
  sed "${subst[@]}" -e "s|\"namesrvAddr\": *\"[^\"]*\"|\"namesrvAddr\": \"$NS_ADDR\"|" \
    -e "s|\"grpcServerPort\": *[0-9]*|\"grpcServerPort\": $GRPC_PORT|" \
    -e "s|\"remotingListenPort\": *[0-9]*|\"remotingListenPort\": $REMOTING_PORT|" \
    "$CONF_SRC/rmq-proxy.json" >"$RT/conf/rmq-proxy.json"
}

# Start a JVM in its own session (setsid), immune to the caller's SIGHUP (nohup), detached from the
# caller's terminal and pipes, with fd 9 (our lock) closed so the lock dies with this script.
launch() { # name heap logback main-class args...
  local name="$1" heap="$2" logback="$3" main="$4" pid
  shift 4
  mark_logs "$name"
  : >"$RT/$name.out"
  (
    cd "$RT/$name"
    # rocketmq.serialize.type=ROCKETMQ: remoting responses in the binary header format instead of
    # JSON (fastjson was the largest part of the broker's per-request cost; docs/benchmarks.md).
    exec setsid nohup "$JAVA" -server "-Xms$heap" "-Xmx$heap" -XX:+UseG1GC "${JVM_COMMON[@]}" \
      -Drocketmq.serialize.type=ROCKETMQ \
      "-Duser.home=$RT/$name" "$(marker "$name")" "-Drmq.logback.configurationFile=$logback" \
      -cp "$LIB/*" "$main" "$@" </dev/null >>"$RT/$name.out" 2>&1 9>&-
  ) &
  pid=$!
  # setsid does not fork when it is not a process-group leader (the case here), so $! is the JVM.
  sleep 0.05
  if ! [[ " $(cmdline_of "$pid")" == *" $(marker "$name") "* ]]; then
    local found
    found="$(pgrep -f -- "$(marker_re "$name")" | head -n 1 || true)"
    [[ -n "$found" ]] && pid="$found"
  fi
  echo "$pid" >"$RT/$name.pid"
  LAUNCHED_PID="$pid"
}

fail_start() { # component pid reason
  echo "rocketmq: $1 $3" >&2
  echo "---- last lines of the $1 logs (this run) ----" >&2
  show_tail "$1" 30 this-run >&2
  echo "----" >&2
  if [[ -n "$2" ]] && alive "$2"; then
    STOP_TIMEOUT=5
    stop_pid "$2" "$1"
    rm -f "$RT/$1.pid"
  fi
  exit 1
}

wait_ready() { # component pid pattern port deadline_ms
  local name="$1" pid="$2" pattern="$3" port="$4" deadline="$5" rc
  while :; do
    if grep -q -- "$pattern" "$RT/$name.out" 2>/dev/null && port_open "$port"; then return 0; fi
    if ! alive "$pid"; then
      rc=""
      if wait "$pid" 2>/dev/null; then rc=0; else rc=$?; fi
      fail_start "$name" "" "exited during startup (exit status $rc)"
    fi
    if (($(now_ms) >= deadline)); then
      fail_start "$name" "$pid" "not ready after ${START_TIMEOUT}s (waiting for '$pattern' and port $port)"
    fi
    sleep 0.2
  done
}

check_port_free() { # port label
  if port_open "$1"; then
    local who
    who="$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 || true)"
    die "port $1 ($2) is already in use${who:+ by $who}; stop that process or set the ROCKETMQ_*_PORT variables"
  fi
}

start_namesrv() {
  local t0 deadline="$1"
  check_port_free "$NAMESRV_PORT" namesrv
  t0=$(now_ms)
  say "starting namesrv (port $NAMESRV_PORT, heap $NAMESRV_HEAP)…"
  launch namesrv "$NAMESRV_HEAP" rmq.namesrv.logback.xml org.apache.rocketmq.namesrv.NamesrvStartup \
    -c "$RT/conf/namesrv.conf"
  wait_ready namesrv "$LAUNCHED_PID" "The Name Server boot success" "$NAMESRV_PORT" "$deadline"
  say "namesrv ready in $(since "$t0") (pid $LAUNCHED_PID)"
}

start_proxy() {
  local t0 deadline="$1"
  check_port_free "$GRPC_PORT" "proxy gRPC"
  check_port_free "$REMOTING_PORT" "proxy remoting"
  check_port_free "$BROKER_PORT" broker
  check_port_free "$((BROKER_PORT - 2))" "broker fast remoting"
  check_port_free "$((BROKER_PORT + 1))" "broker HA"
  local blog="$RT/proxy/logs/rocketmqlogs/broker.log" from
  t0=$(now_ms)
  say "starting proxy with embedded broker (gRPC $GRPC_PORT, heap $PROXY_HEAP)…"
  launch proxy "$PROXY_HEAP" rmq.proxy.logback.xml org.apache.rocketmq.proxy.ProxyStartup \
    -pm local -pc "$RT/conf/rmq-proxy.json" -bc "$RT/conf/broker.conf" -n "$NS_ADDR"
  wait_ready proxy "$LAUNCHED_PID" "rocketmq-proxy startup successfully" "$GRPC_PORT" "$deadline"
  say "proxy ready in $(since "$t0") (pid $LAUNCHED_PID)"
  # The startup line can come before the broker has registered with the NameServer: its first,
  # immediate registration races with the client's check of which NameServers are reachable and is
  # then skipped; the periodic one runs 10 s after start. Until then updateTopic -c finds no broker
  # and clients get no route. Wait for the line in this run's part of the log.
  local said=""
  from="${LOG_FROM["$blog"]:-1}"
  while :; do
    if [[ -f "$blog" ]]; then
      (($(wc -c <"$blog") + 1 >= from)) || from=1
      if tail -c "+$from" "$blog" | grep "Registering current broker to name server completed" >/dev/null; then
        say "broker registered with the NameServer ($(since "$t0") after the proxy start)"
        break
      fi
    fi
    if [[ -z "$said" ]]; then
      said=1
      say "waiting for the broker to register with the NameServer (up to ~10 s)…"
    fi
    alive "$LAUNCHED_PID" || fail_start proxy "" "exited before its broker registered with the NameServer"
    if (($(now_ms) >= deadline)); then
      say "broker not seen registering with the NameServer after ${START_TIMEOUT}s; trying the topics anyway"
      break
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------- topics

# Start the admin tool (MQAdminStartup) in the background: ADMIN_PID, output in the given file.
# It prints its result after ~1 s but then spends 2-5 s more in client shutdown: callers read the
# output and kill it once the result is there.
admin_bg() { # out-file args...
  local out="$1"
  shift
  (
    exec "$JAVA" -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "${JVM_COMMON[@]}" \
      "-Duser.home=$RT/tools" "$(marker tools)" -Drmq.logback.configurationFile=rmq.tools.logback.xml \
      -cp "$LIB/*" org.apache.rocketmq.tools.command.MQAdminStartup "$@" </dev/null >"$out" 2>&1 9>&-
  ) &
  ADMIN_PID=$!
}

read_topics() { # -> TOPIC_NAMES TOPIC_TYPES TOPIC_QUEUES
  TOPIC_NAMES=()
  TOPIC_TYPES=()
  TOPIC_QUEUES=()
  [[ -f "$TOPICS_FILE" ]] || return 0
  local line name type queues extra
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%%#*}"
    read -r name type queues extra <<<"$line" || true
    [[ -n "${name:-}" ]] || continue
    [[ "$name" =~ ^[A-Za-z0-9%|_-]{1,127}$ ]] || die "bad topic name '$name' in $TOPICS_FILE"
    type="${type:-NORMAL}"
    [[ "$type" =~ ^[A-Z]+$ ]] || die "bad type '$type' for topic $name in $TOPICS_FILE"
    queues="${queues:-8}"
    [[ "$queues" =~ ^[1-9][0-9]{0,2}$ ]] || die "bad queue count '$queues' for topic $name in $TOPICS_FILE"
    TOPIC_NAMES+=("$name")
    TOPIC_TYPES+=("$type")
    TOPIC_QUEUES+=("$queues")
  done <"$TOPICS_FILE"
}

# updateTopic for every topic of topics.txt, in parallel. updateTopic is idempotent and, with the
# early kill below, about as cheap as one topicList call, so existing topics are simply updated again.
ensure_topics() {
  read_topics
  if ((${#TOPIC_NAMES[@]} == 0)); then
    say "no topics in $TOPICS_FILE"
    return 0
  fi
  local t0 i attempt deadline pending=() waiting=() next=() failed=() pids=() out ok='create topic to .* success'
  t0=$(now_ms)
  mkdir -p "$RT/tools"
  pending=("${!TOPIC_NAMES[@]}")
  say "creating topics: $(for i in "${pending[@]}"; do printf '%s(%s) ' "${TOPIC_NAMES[$i]}" "${TOPIC_TYPES[$i]}"; done)…"
  for attempt in 1 2 3 4 5; do
    for i in "${pending[@]}"; do
      admin_bg "$RT/tools/updateTopic-${TOPIC_NAMES[$i]}.out" updateTopic -n "$NS_ADDR" -c "$CLUSTER" \
        -t "${TOPIC_NAMES[$i]}" -a "+message.type=${TOPIC_TYPES[$i]}" -r "${TOPIC_QUEUES[$i]}" -w "${TOPIC_QUEUES[$i]}"
      pids[i]=$ADMIN_PID
    done
    deadline=$(($(now_ms) + 60000))
    waiting=("${pending[@]}")
    failed=()
    while ((${#waiting[@]} > 0)); do
      sleep 0.1
      next=()
      for i in "${waiting[@]}"; do
        out="$RT/tools/updateTopic-${TOPIC_NAMES[$i]}.out"
        if grep -q -- "$ok" "$out" 2>/dev/null; then
          kill -KILL "${pids[i]}" 2>/dev/null || true
          wait "${pids[i]}" 2>/dev/null || true
        elif grep -q -- "clusterName exists" "$out" 2>/dev/null; then
          # "[error] Make sure the specified clusterName exists ...": broker not registered yet.
          kill -KILL "${pids[i]}" 2>/dev/null || true
          wait "${pids[i]}" 2>/dev/null || true
          failed+=("$i")
        elif ! alive "${pids[i]}"; then
          wait "${pids[i]}" 2>/dev/null || true
          grep -q -- "$ok" "$out" 2>/dev/null || failed+=("$i")
        elif (($(now_ms) >= deadline)); then
          kill -KILL "${pids[i]}" 2>/dev/null || true
          wait "${pids[i]}" 2>/dev/null || true
          failed+=("$i")
        else
          next+=("$i")
        fi
      done
      waiting=("${next[@]+"${next[@]}"}")
    done
    pending=("${failed[@]+"${failed[@]}"}")
    ((${#pending[@]} == 0)) && break
    for i in "${pending[@]}"; do
      cp "$RT/tools/updateTopic-${TOPIC_NAMES[$i]}.out" "$RT/tools/updateTopic-${TOPIC_NAMES[$i]}.attempt$attempt.out"
    done
    if ((attempt < 5)); then
      say "not created yet (broker not registered?): $(for i in "${pending[@]}"; do printf '%s ' "${TOPIC_NAMES[$i]}"; done)- retry $attempt/4 in 1s"
      sleep 1
    fi
  done
  if ((${#pending[@]} > 0)); then
    for i in "${pending[@]}"; do
      echo "---- updateTopic ${TOPIC_NAMES[$i]} ($RT/tools/updateTopic-${TOPIC_NAMES[$i]}.out) ----" >&2
      tail -n 30 "$RT/tools/updateTopic-${TOPIC_NAMES[$i]}.out" >&2
    done
    die "could not create topics: $(for i in "${pending[@]}"; do printf '%s ' "${TOPIC_NAMES[$i]}"; done)"
  fi
  cp "$TOPICS_FILE" "$RT/topics.applied"
  say "topics ready in $(since "$t0"): ${TOPIC_NAMES[*]}"
}

# ---------------------------------------------------------------------------------------------- commands

healthy() { # -> 0 if namesrv and proxy run and accept
  local n p
  n="$(pid_of namesrv)"
  p="$(pid_of proxy)"
  [[ -n "$n" && -n "$p" ]] && port_open "$NAMESRV_PORT" && port_open "$GRPC_PORT"
}

lock() {
  mkdir -p "$RT"
  exec 9>"$RT/.lock"
  if ! flock -n 9; then
    say "another rocketmq.sh is working on $RT; waiting…"
    flock 9
  fi
}

cmd_up() {
  local t0 deadline npid ppid
  t0=$(now_ms)
  lock
  if healthy; then
    if [[ -f "$RT/topics.applied" ]] && cmp -s "$TOPICS_FILE" "$RT/topics.applied"; then
      say "already running and healthy (namesrv pid $(pid_of namesrv), proxy pid $(pid_of proxy)); nothing to do"
      return 0
    fi
    need_java
    ensure_jars
    jvm_opts
    say "already running; $TOPICS_FILE changed since the last creation"
    ensure_topics
    return 0
  fi
  need_java
  ensure_jars
  jvm_opts
  write_configs
  deadline=$(($(now_ms) + START_TIMEOUT * 1000))

  npid="$(pid_of namesrv)"
  if [[ -n "$npid" ]] && ! port_open "$NAMESRV_PORT"; then
    say "namesrv (pid $npid) does not accept on port $NAMESRV_PORT: restarting it"
    stop_component proxy
    stop_component namesrv
    npid=""
  fi
  if [[ -z "$npid" ]]; then
    # A proxy whose NameServer went away keeps stale registrations: restart it too.
    stop_component proxy
    start_namesrv "$deadline"
  else
    say "namesrv already running (pid $npid)"
  fi

  ppid="$(pid_of proxy)"
  if [[ -n "$ppid" ]]; then
    say "proxy (pid $ppid) does not accept on port $GRPC_PORT: restarting it"
    stop_component proxy
  fi
  start_proxy "$deadline"
  ensure_topics
  say "up in $(since "$t0"): namesrv $NS_ADDR, proxy gRPC 127.0.0.1:$GRPC_PORT (runtime dir $RT)"
}

cmd_down() {
  local t0 pid left
  t0=$(now_ms)
  lock
  stop_component proxy
  stop_component namesrv
  # Anything else started with this runtime dir (lost pid files, admin tools).
  for pid in $(stray_pids); do
    [[ "$pid" == "$$" ]] && continue
    stop_pid "$pid" "stray JVM ($(cmdline_of "$pid" | grep -o 'org\.apache\.rocketmq\.[A-Za-z.]*' | head -n 1))"
  done
  left="$(stray_pids)"
  [[ -z "$left" ]] || die "still running: $left"
  wait_reaped "${STOPPED_PIDS[@]+"${STOPPED_PIDS[@]}"}"
  say "down in $(since "$t0")"
}

cmd_status() {
  local n p rc=0 acc
  n="$(pid_of namesrv)"
  p="$(pid_of proxy)"
  if [[ -n "$n" ]]; then
    port_open "$NAMESRV_PORT" && acc=accepting || acc="NOT accepting"
    echo "namesrv  running  pid $n  port $NAMESRV_PORT ($acc)"
  else
    echo "namesrv  stopped"
    rc=3
  fi
  if [[ -n "$p" ]]; then
    port_open "$GRPC_PORT" && acc=accepting || { acc="NOT accepting"; rc=3; }
    echo "proxy    running  pid $p  gRPC $GRPC_PORT ($acc), remoting $REMOTING_PORT, broker $BROKER_PORT/$((BROKER_PORT - 2))/$((BROKER_PORT + 1))"
  else
    echo "proxy    stopped"
    rc=3
  fi
  echo "runtime  $RT (RocketMQ $VERSION)"
  return "$rc"
}

cmd_logs() {
  local which=(namesrv proxy) n=40 a
  for a in "$@"; do
    case "$a" in
      namesrv | proxy) which=("$a") ;;
      *[!0-9]* | "") die "usage: rocketmq.sh logs [namesrv|proxy] [N]" ;;
      *) n="$a" ;;
    esac
  done
  for a in "${which[@]}"; do show_tail "$a" "$n"; done
}

cmd_topics() {
  healthy || die "not running (run: rocketmq/rocketmq.sh up)"
  need_java
  ensure_jars
  jvm_opts
  lock
  ensure_topics
}

# A consumer group made before its first consumer. Groups are auto-created, but never orderly:
# only a group with consumeMessageOrderly=true gets a FIFO topic's messages one message group at
# a time, in order (the proxy then tells the client to consume FIFO).
cmd_group() {
  local name="${1:-}" orderly="${2:-}" out t0 i
  [[ "$name" =~ ^[A-Za-z0-9%|_-]{1,255}$ ]] || die "usage: rocketmq.sh group NAME [orderly]"
  [[ -z "$orderly" || "$orderly" == orderly ]] || die "usage: rocketmq.sh group NAME [orderly]"
  healthy || die "not running (run: rocketmq/rocketmq.sh up)"
  need_java
  ensure_jars
  jvm_opts
  mkdir -p "$RT/tools"
  t0=$(now_ms)
  out="$RT/tools/updateSubGroup-$name.out"
  for i in 1 2 3; do
    admin_bg "$out" updateSubGroup -n "$NS_ADDR" -c "$CLUSTER" -g "$name" ${orderly:+-o true}
    while alive "$ADMIN_PID" && ! grep -q -- 'success' "$out" 2>/dev/null; do sleep 0.1; done
    kill -KILL "$ADMIN_PID" 2>/dev/null || true
    wait "$ADMIN_PID" 2>/dev/null || true
    if grep -q -- 'success' "$out"; then
      say "consumer group $name ${orderly:+(orderly) }ready in $(since "$t0")"
      return 0
    fi
    sleep 1
  done
  tail -n 30 "$out" >&2
  die "could not create consumer group $name"
}

usage() {
  sed -n '2,/^# See docs/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  topics) cmd_topics ;;
  group) shift; cmd_group "$@" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
