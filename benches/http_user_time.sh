#!/usr/bin/env bash
# Where the CPU of a `http_server → drop` request goes, beside the hyper baseline given known
# extra work: is the engine's gap its own user-space time, or something it makes the kernel do?
#
#   benches/http_user_time.sh [--rounds R] [--duration 5s] [--work "0 500 1000"]
#                             [--engine PATH] [--baselines DIR]
#
# Each round runs `wrk -t2 -c64` (the body of benches/connectors.sh) against the hyper
# baseline once for each WORK (loop iterations it spins per request, see
# examples/bench_http_baseline.rs) and against the engine, one after the other. For each run it
# prints requests/s and, in µs a request: the server's user and system time (/proc/PID/stat),
# wrk's (/usr/bin/time) and the machine's idle time (/proc/stat). A server whose figures match
# hyper's with some WORK spends that much more user time a request and nothing else.
# Needs wrk; with --engine and --baselines nothing is built.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=2
DURATION=5s
WORK="0 500 1000"
ENGINE=
BASELINES=
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --engine) ENGINE=$2; shift 2 ;;
    --baselines) BASELINES=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
BIN=${CARGO_TARGET_DIR:-target}/release
if [ -z "$ENGINE" ] || [ -z "$BASELINES" ]; then
  cargo build --release --quiet --features bench-baselines --bin engine --example bench_http_baseline
fi
ENGINE=${ENGINE:-$BIN/engine}
BASELINE=${BASELINES:-$BIN/examples}/bench_http_baseline
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
PORT=18612
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

cat > "$work/http.yaml" <<YAML
http: { enabled: false }
logger: { level: WARN }
input:
  http_server:
    address: 127.0.0.1:$PORT
    path: /post
output: { drop: {} }
YAML
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"id":1,"prompt":"hello world"}'
wrk.headers["Content-Type"] = "application/json"
LUA

# The user and system ticks of a process, and the machine's idle ticks.
ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
idle() { awk '/^cpu / {print $5}' /proc/stat; }

run() { # name command...
  local name=$1 i u0 s0 u1 s1 i0 i1
  shift
  "$@" > "$work/server.log" 2>&1 &
  server=$!
  for i in $(seq 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    sleep 0.1
  done
  read -r u0 s0 < <(ticks "$server")
  i0=$(idle)
  /usr/bin/time -f "%U %S" -o "$work/wrk.time" \
    wrk -t2 -c64 -d"$DURATION" -s "$work/post.lua" "http://127.0.0.1:$PORT/post" > "$work/wrk.out"
  read -r u1 s1 < <(ticks "$server")
  i1=$(idle)
  kill "$server"
  wait "$server" 2>/dev/null || true
  python3 - "$name" "$u0" "$s0" "$u1" "$s1" "$i0" "$i1" "$(getconf CLK_TCK)" \
    "$work/wrk.out" "$work/wrk.time" <<'PY'
import re, sys
name, u0, s0, u1, s1, i0, i1, hz = sys.argv[1], *map(float, sys.argv[2:9])
out = open(sys.argv[9]).read()
n = int(re.search(r"(\d+) requests in", out).group(1))
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
wu, ws = map(float, open(sys.argv[10]).read().split()[-2:])
us = lambda ticks: ticks / hz * 1e6 / n
print(f"| {name} | {rate:,.0f} | {us(u1 - u0):.2f} | {us(s1 - s0):.2f} | "
      f"{wu * 1e6 / n:.2f} | {ws * 1e6 / n:.2f} | {us(i1 - i0):.2f} |")
PY
}

echo "| server (wrk -t2 -c64 -d$DURATION) | requests/s | server user µs | server system µs | wrk user µs | wrk system µs | idle µs |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for _ in $(seq "$ROUNDS"); do
  for w in $WORK; do
    run "hyper + $w iterations" "$BASELINE" "127.0.0.1:$PORT" "$w"
  done
  run "engine http_server → drop" "$ENGINE" run -c "$work/http.yaml"
done
