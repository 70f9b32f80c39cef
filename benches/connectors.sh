#!/usr/bin/env bash
# Connector throughput of the engine binary beside plain clients doing the same work.
#
#   benches/connectors.sh [--messages N] [--runs R] [--duration 10s] [--prefetch P]
#                         [--max-in-flight M] [--rows "publish consume http cpu"] [--threads T]
#                         [--work "0 500 1000"] [--engine PATH] [--baselines DIR]
#
# Rows (each the median of R runs, engine and baseline interleaved):
#   generate → amqp_0_9   engine publishing N persistent messages with confirms
#                         (max_in_flight M) beside examples/bench_amqp_publisher; the whole
#                         process is timed (both exit by themselves once all is confirmed).
#   amqp_0_9 → drop       engine consuming N pre-filled messages (prefetch_count P) beside
#                         examples/bench_amqp_consumer; timed from launch until the engine's
#                         `output_sent` metric reaches N (the baseline exits by itself).
#   http_server → drop    requests/s under `wrk -t2 -c64 -d DURATION` posting a small JSON body,
#                         beside examples/bench_http_baseline (hyper, empty 200).
#   cpu (not by default)  where a request's CPU goes: the http row's load, R rounds, against
#                         hyper given WORK (loop iterations it spins a request, see
#                         examples/bench_http_baseline.rs) and against the engine, in a table of
#                         its own: requests/s and, in µs a request, the server's user and system
#                         time (/proc/PID/stat), wrk's (/usr/bin/time) and the machine's idle
#                         time (/proc/stat). A server whose figures match hyper's with some
#                         WORK spends that much more user time a request, and nothing else.
# Needs RabbitMQ on 127.0.0.1:5672 (guest/guest; scripts/services.sh starts it) and wrk
# (installed with apt-get when missing). All traffic stays on 127.0.0.1. Prints a markdown
# table. CARGO_TARGET_DIR is honoured. With both --engine and --baselines (a directory holding
# the three bench_* examples, built before) nothing is built: a change to the engine would
# otherwise relink every baseline, which takes minutes with the release profile's LTO.
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=100000
RUNS=3
DURATION=10s
PREFETCH=10
MAX_IN_FLIGHT=64
THREADS=2
ROWS="publish consume http"
WORK="0 500 1000"
ENGINE=
BASELINES=
AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
QUEUE=engine_bench_connectors
PROC_TIMEOUT=600 # seconds any single engine/baseline process may take
while [ $# -gt 0 ]; do
  case "$1" in
    --messages) MESSAGES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --prefetch) PREFETCH=$2; shift 2 ;;
    --max-in-flight) MAX_IN_FLIGHT=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --engine) ENGINE=$2; shift 2 ;;
    --baselines) BASELINES=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

say() { echo "[bench] $*" >&2; }

# --- build once ---------------------------------------------------------------------------
BIN=${CARGO_TARGET_DIR:-target}/release
if [ -z "$ENGINE" ] || [ -z "$BASELINES" ]; then
  say "building (release)"
  cargo build --release --quiet --features bench-baselines --bin engine \
    --example bench_amqp_publisher --example bench_amqp_consumer --example bench_http_baseline
fi
ENGINE=${ENGINE:-$BIN/engine}
BASELINES=${BASELINES:-$BIN/examples}
PUBLISHER=$BASELINES/bench_amqp_publisher
CONSUMER=$BASELINES/bench_amqp_consumer
HTTP_BASELINE=$BASELINES/bench_http_baseline

if [[ " $ROWS " == *" http "* || " $ROWS " == *" cpu "* ]] && ! command -v wrk >/dev/null; then
  say "installing wrk"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

work=$(mktemp -d)
bg_pid=
cleanup() {
  if [ -n "$bg_pid" ]; then kill "$bg_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- helpers ------------------------------------------------------------------------------
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fmt_int() { printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

# Wait (at most 30 s) until 127.0.0.1:PORT accepts connections.
await_port() {
  local i
  for i in $(seq 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  say "port $1 never opened"; return 1
}

# Stop the background process (SIGTERM, then SIGKILL after 10 s).
stop_bg() {
  local i
  [ -n "$bg_pid" ] || return 0
  kill -TERM "$bg_pid" 2>/dev/null || true
  for i in $(seq 100); do
    kill -0 "$bg_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$bg_pid" 2>/dev/null || true
  wait "$bg_pid" 2>/dev/null || true
  bg_pid=
}

# Purge the queue (declaring it durable), then publish N messages into it (untimed).
fill_queue() { "$PUBLISHER" --url "$AMQP_URL" --queue "$QUEUE" --purge --messages "$1" --max-in-flight 256 >/dev/null; }

# Poll the engine's /metrics (one long-lived poller, bounded by PROC_TIMEOUT) until the sum of
# METRIC reaches TARGET; print the wall-clock time when it did. The poller runs beside the engine
# on the same two cores while the baseline runs alone, so it polls sparingly: it sleeps half the
# time the rate so far says is left (at most 250 ms, at least 5 ms), about 30 polls a run instead
# of one every 10 ms (some 450 polls, 0.5 s of the poller's CPU on a 5 s run); the last polls
# come 5 ms apart, so the time it prints is late by at most that.
await_metric() { # port metric target
  python3 - "$@" "$PROC_TIMEOUT" <<'PY'
import sys, time, urllib.request
port, metric, target, limit = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
start = time.time()
deadline = start + limit
url = f"http://127.0.0.1:{port}/metrics"
while time.time() < deadline:
    try:
        body = urllib.request.urlopen(url, timeout=2).read().decode()
    except OSError:
        time.sleep(0.01)
        continue
    total = sum(float(l.rsplit(" ", 1)[1]) for l in body.splitlines()
                if l.startswith(metric + "{") or l.startswith(metric + " "))
    now = time.time()
    if total >= target:
        print(f"{now:.6f}")
        sys.exit(0)
    left = (target - total) * (now - start) / total if total > 0 else 0.05
    time.sleep(min(0.25, max(0.005, left / 2)))
sys.exit(f"{metric} did not reach {target} within {limit} s")
PY
}

# Run a command under a timeout, time it; print seconds. The output goes to LOG.
time_process() { # log command...
  local log=$1 s e
  shift
  s=$(now)
  if ! timeout "$PROC_TIMEOUT" "$@" >"$log" 2>&1; then
    say "failed: $*"; tail -20 "$log" >&2; return 1
  fi
  e=$(now)
  echo "$e - $s" | bc -l
}

# --- engine configs -----------------------------------------------------------------------
cat > "$work/publish.yaml" <<YAML
http: { enabled: false }
logger: { level: WARN }
input:
  generate:
    count: $MESSAGES
    interval: ""
    mapping: 'root = {"id": counter(), "prompt": "hello world"}'
output:
  amqp_0_9:
    urls: [ "$AMQP_URL" ]
    exchange: ""
    key: $QUEUE
    persistent: true
    max_in_flight: $MAX_IN_FLIGHT
YAML

consume_config() { # metrics-port
  cat <<YAML
http: { address: 127.0.0.1:$1 }
logger: { level: WARN }
input:
  amqp_0_9:
    urls: [ "$AMQP_URL" ]
    queue: $QUEUE
    prefetch_count: $PREFETCH
pipeline: { threads: $THREADS }
output: { drop: {} }
YAML
}

http_config() { # port
  cat <<YAML
http: { enabled: false }
logger: { level: WARN }
input:
  http_server:
    address: 127.0.0.1:$1
    path: /post
pipeline: { threads: $THREADS }
output: { drop: {} }
YAML
}

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"id":1,"prompt":"hello world"}'
wrk.headers["Content-Type"] = "application/json"
LUA

# --- one measurement each: print seconds (AMQP) or requests/s (HTTP) -----------------------
engine_publish() {
  fill_queue 0
  time_process "$work/engine.log" "$ENGINE" run -c "$work/publish.yaml"
}
baseline_publish() {
  fill_queue 0
  time_process "$work/baseline.log" "$PUBLISHER" --url "$AMQP_URL" --queue "$QUEUE" \
    --messages "$MESSAGES" --max-in-flight "$MAX_IN_FLIGHT"
}
engine_consume() {
  local port s e
  fill_queue "$MESSAGES"
  port=$(free_port)
  consume_config "$port" > "$work/consume.yaml"
  s=$(now)
  "$ENGINE" run -c "$work/consume.yaml" >"$work/engine.log" 2>&1 &
  bg_pid=$!
  if ! e=$(await_metric "$port" output_sent "$MESSAGES"); then
    stop_bg; tail -20 "$work/engine.log" >&2; return 1
  fi
  stop_bg
  echo "$e - $s" | bc -l
}
baseline_consume() {
  fill_queue "$MESSAGES"
  time_process "$work/baseline.log" "$CONSUMER" --url "$AMQP_URL" --queue "$QUEUE" \
    --messages "$MESSAGES" --prefetch "$PREFETCH"
}
wrk_against() { # port log: requests/s
  local out
  await_port "$1"
  out=$(timeout 120 wrk -t2 -c64 -d"$DURATION" -s "$work/post.lua" "http://127.0.0.1:$1/post")
  echo "$out" > "$2"
  if grep -q 'Non-2xx' <<<"$out"; then say "non-2xx answers:"; echo "$out" >&2; return 1; fi
  awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}
engine_http() {
  local port r
  port=$(free_port)
  http_config "$port" > "$work/http.yaml"
  "$ENGINE" run -c "$work/http.yaml" >"$work/engine.log" 2>&1 &
  bg_pid=$!
  r=$(wrk_against "$port" "$work/wrk-engine.txt") || { stop_bg; return 1; }
  stop_bg
  echo "$r"
}
baseline_http() {
  local port r
  port=$(free_port)
  "$HTTP_BASELINE" "127.0.0.1:$port" >"$work/baseline.log" 2>&1 &
  bg_pid=$!
  r=$(wrk_against "$port" "$work/wrk-baseline.txt") || { stop_bg; return 1; }
  stop_bg
  echo "$r"
}

# One wrk run against the server COMMAND starts on PORT, with the CPU each side took: a row.
cpu_run() { # name port command...
  local name=$1 port=$2 u0 s0 u1 s1 i0 i1
  shift 2
  "$@" > "$work/cpu.log" 2>&1 &
  bg_pid=$!
  await_port "$port" || { stop_bg; return 1; }
  read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$bg_pid/stat")
  i0=$(awk '/^cpu / {print $5}' /proc/stat)
  /usr/bin/time -f "%U %S" -o "$work/wrk.time" timeout 120 \
    wrk -t2 -c64 -d"$DURATION" -s "$work/post.lua" "http://127.0.0.1:$port/post" > "$work/wrk-cpu.txt"
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$bg_pid/stat")
  i1=$(awk '/^cpu / {print $5}' /proc/stat)
  stop_bg
  python3 - "$name" "$u0" "$s0" "$u1" "$s1" "$i0" "$i1" "$(getconf CLK_TCK)" \
    "$work/wrk-cpu.txt" "$work/wrk.time" <<'PY'
import re, sys
name, (u0, s0, u1, s1, i0, i1, hz) = sys.argv[1], map(float, sys.argv[2:9])
out = open(sys.argv[9]).read()
n = int(re.search(r"(\d+) requests in", out).group(1))
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
wu, ws = map(float, open(sys.argv[10]).read().split()[-2:])
us = lambda ticks: ticks / hz * 1e6 / n
print(f"| {name} | {rate:,.0f} | {us(u1 - u0):.2f} | {us(s1 - s0):.2f} | "
      f"{wu * 1e6 / n:.2f} | {ws * 1e6 / n:.2f} | {us(i1 - i0):.2f} |")
PY
}

cpu_table() {
  local port w
  echo "| server (wrk -t2 -c64 -d$DURATION, $RUNS rounds) | requests/s | server user µs | server system µs | wrk user µs | wrk system µs | idle µs |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for _ in $(seq "$RUNS"); do
    for w in $WORK; do
      port=$(free_port)
      cpu_run "hyper + $w iterations" "$port" "$HTTP_BASELINE" "127.0.0.1:$port" "$w"
    done
    port=$(free_port)
    http_config "$port" > "$work/http.yaml"
    cpu_run "engine http_server → drop" "$port" "$ENGINE" run -c "$work/http.yaml"
  done
}

# --- rows ---------------------------------------------------------------------------------
# Runs engine and baseline R times, interleaved; prints "engine_median baseline_median".
measure() { # engine_fn baseline_fn
  local i e b
  : > "$work/e.txt"; : > "$work/b.txt"
  for i in $(seq "$RUNS"); do
    # One retry each: the broker is shared, and a test elsewhere may close every connection.
    e=$($1) || e=$($1)
    b=$($2) || b=$($2)
    say "$1 run $i: $e / $2: $b"
    echo "$e" >> "$work/e.txt"; echo "$b" >> "$work/b.txt"
  done
  echo "$(median < "$work/e.txt") $(median < "$work/b.txt")"
}

amqp_row() { # name engine_fn baseline_fn baseline_name
  local r es bs
  r=$(measure "$2" "$3")
  es=${r% *}; bs=${r#* }
  printf '| %s | %.2f | %s | %s | %.2f | %s | %.2f |\n' "$1" "$es" "$(fmt_int "$(echo "$MESSAGES / $es" | bc -l)")" \
    "$4" "$bs" "$(fmt_int "$(echo "$MESSAGES / $bs" | bc -l)")" "$(echo "$bs / $es" | bc -l)"
}

http_row() { # name baseline_name
  local r er br secs
  r=$(measure engine_http baseline_http)
  er=${r% *}; br=${r#* }
  secs=${DURATION%s}
  printf '| %s | %s | %s | %s | %s | %s | %.2f |\n' "$1" "$secs" "$(fmt_int "$er")" \
    "$2" "$secs" "$(fmt_int "$br")" "$(echo "$er / $br" | bc -l)"
}

if [ -n "$(tr -d ' ' <<<"${ROWS//cpu/}")" ]; then
  echo "| row (median of $RUNS) | engine s | engine msg/s | baseline | baseline s | baseline msg/s | engine/baseline |"
  echo "|---|---:|---:|---|---:|---:|---:|"
fi
for row in $ROWS; do
  case "$row" in
    cpu) ;;
    publish) amqp_row "generate → amqp_0_9 ($MESSAGES persistent, confirms, max_in_flight $MAX_IN_FLIGHT)" \
               engine_publish baseline_publish "lapin publisher" ;;
    consume) amqp_row "amqp_0_9 → drop ($MESSAGES, prefetch_count $PREFETCH)" \
               engine_consume baseline_consume "lapin consumer" ;;
    http) http_row "http_server → drop (wrk -t2 -c64 -d$DURATION, requests/s)" "hyper server" ;;
    *) say "unknown row $row"; exit 2 ;;
  esac
done
if [[ " $ROWS " == *" cpu "* ]]; then
  echo
  cpu_table
fi
fill_queue 0 2>/dev/null || true
